//! Flatfile's extractor plugins, unchanged, in the example listener: with `WHARF_EXTRACT`
//! leaving JSON to them, `@flatfile/plugin-json-extractor` extracts an upload and
//! `@flatfile/plugin-automap` maps it, once.

use crate::helpers::*;
use crate::listener::{start_node, wharf_env};
use crate::on_both;
use serde_json::Value;
use std::time::Duration;

async fn a_listeners_json_extractor_has_the_file_to_itself(db: Db) {
    let app = spawn_app_with(db, |s| s.extract = Some(vec!["csv".into()])).await;
    let mut env = wharf_env(&app);
    env.push(("WHARF_ENVIRONMENT_ID", app.env_id.to_string()));
    env.push(("AUTOMAP_SHEET", "contacts".to_string()));
    env.push(("JSON_EXTRACTOR", "1".to_string()));
    let (listener, _) = start_node("poll.mjs", &env, "polling ");
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let json = r#"[{"Email": "ada@acme.com", "Name": "Ada"},
                   {"Email": "grace@acme.com", "Name": "Grace"},
                   {"Email": "alan@acme.com", "Name": "Alan"}]"#;
    let (status, file) = app
        .upload(
            space["id"].as_str().unwrap(),
            "people.json",
            json.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{file}");
    let counts = format!("/sheets/{contacts}/counts");
    let mut mapped = Value::Null;
    for _ in 0..400 {
        mapped = app.get_json(&counts).await.1["data"]["counts"]["total"].clone();
        if mapped == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mapped, 3, "listener output:\n{}", listener.output());
    // Once the plugin's extraction is done and every mapping has ended, nothing mapped it
    // a second time (without `WHARF_EXTRACT`, Wharf's extraction and the plugin's each
    // start one).
    let file_id = file["data"]["id"].as_str().unwrap();
    let mut jobs = Value::Null;
    for _ in 0..300 {
        jobs = app.get_json("/jobs?pageSize=100").await.1;
        let list = jobs["data"].as_array().unwrap();
        let extracted = list
            .iter()
            .any(|j| j["operation"] == "extract-plugin-json" && j["status"] == "complete");
        let settled = list
            .iter()
            .filter(|j| j["operation"] == "map")
            .all(|j| ["complete", "failed", "canceled"].contains(&j["status"].as_str().unwrap()));
        if extracted && settled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let maps = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["operation"] == "map")
        .count();
    assert_eq!(maps, 1, "{jobs}\nlistener output:\n{}", listener.output());
    let (_, after) = app.get_json(&counts).await;
    assert_eq!(
        after["data"]["counts"]["total"],
        3,
        "listener output:\n{}",
        listener.output()
    );
    let extractions: Vec<&str> = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["source"] == file_id)
        .filter_map(|j| j["operation"].as_str())
        .collect();
    assert_eq!(extractions, ["extract-plugin-json"], "{jobs}");
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let of_file = wbs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| {
            w["labels"]
                .as_array()
                .is_some_and(|l| l.contains(&Value::from("file")))
        })
        .count();
    assert_eq!(of_file, 1, "{wbs}");
}

on_both!(a_listeners_json_extractor_has_the_file_to_itself);
