//! A bulk change beside eight people editing cells in the grid: every save is either kept
//! or refused with 409 (made on a value the bulk change replaced), never lost silently.

use crate::helpers::*;
use crate::on_both;
use crate::records_concurrency::{all_records, assert_counts_match};
use serde_json::{json, Value};
use std::collections::HashMap;

const RECORDS: usize = 80;
const EDITORS: usize = 8;

fn editor_version(html: &str) -> Option<String> {
    let needle = "name=\"version\" value=\"";
    let start = html.find(needle)? + needle.len();
    Some(html[start..start + html[start..].find('"')?].to_string())
}

async fn bulk_change_beside_eight_editors(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows: Vec<Value> = (0..RECORDS)
        .map(|i| json!({"email": format!("p{i}@x.io"), "name": "N/A"}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &Value::Array(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<String> = body["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();

    let mut editors = Vec::new();
    for w in 0..EDITORS {
        let email = format!("editor{w}@example.com");
        app.make_user(&email, false);
        let handle = app.clone_with_new_client();
        handle.sign_in(&email, PASSWORD).await;
        let csrf = handle.csrf("/spaces").await;
        // Each editor owns its own records: conflicts come only from the bulk change.
        let mine: Vec<String> = ids.iter().skip(w).step_by(EDITORS).cloned().collect();
        let sheet = sheet.clone();
        editors.push(tokio::spawn(async move {
            let mut kept: HashMap<String, String> = HashMap::new();
            let mut refused = 0;
            for round in 0..3 {
                for rid in &mine {
                    let edit = format!("/grid/{sheet}/records/{rid}/edit?field=name");
                    let html = handle.page(&edit).await;
                    let version = editor_version(&html).expect("an editor");
                    let value = format!("E{w}-{round}");
                    let resp = handle
                        .client
                        .put(format!("{}/grid/{sheet}/records/{rid}", handle.base))
                        .header("hx-request", "true")
                        .header("x-csrf-token", &csrf)
                        .form(&[
                            ("field", "name"),
                            ("value", value.as_str()),
                            ("version", version.as_str()),
                        ])
                        .send()
                        .await
                        .unwrap();
                    match resp.status().as_u16() {
                        200 => {
                            kept.insert(rid.clone(), value);
                        }
                        409 => refused += 1,
                        other => panic!("a save answered {other}: {}", resp.text().await.unwrap()),
                    }
                }
            }
            (kept, refused)
        }));
    }
    // Meanwhile the untouched cells flip between two values, by bulk change.
    for i in 0..10 {
        let (find, replace) = if i % 2 == 0 {
            ("N/A", "Unknown")
        } else {
            ("Unknown", "N/A")
        };
        let (status, body) = app
            .put_json(
                &format!("/sheets/{sheet}/find-replace"),
                &json!({"find": format!("\"{find}\""), "replace": replace, "fieldKey": "name"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let mut kept = HashMap::new();
    let mut refused = 0;
    for e in editors {
        let (k, r) = e.await.unwrap();
        kept.extend(k);
        refused += r;
    }
    let records = all_records(&app, &sheet).await;
    assert_eq!(records.len(), RECORDS);
    for r in &records {
        let id = r["id"].as_str().unwrap();
        let name = r["values"]["name"]["value"].as_str().unwrap_or("");
        match kept.get(id) {
            Some(saved) => assert_eq!(name, saved, "an accepted save was lost"),
            None => assert!(name == "N/A" || name == "Unknown", "{name}"),
        }
    }
    assert!(!kept.is_empty(), "no save went through ({refused} refused)");
    eprintln!("{} records saved, {refused} saves refused", kept.len());
    assert_counts_match(&app, &sheet).await;
}

on_both!(bulk_change_beside_eight_editors);
