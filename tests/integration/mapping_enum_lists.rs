//! Enum-list fields in a mapping: the plan's values are the cells' items, and a choice
//! translates that item inside every cell holding it (probe 62c D3: whole cells were
//! offered, and a choice put one option in place of several); a value holding a line
//! break maps as the page's form sends it back (D4: `\r\n` came back as `\n`).

use crate::helpers::*;
use crate::map_helpers::{map_job_for, run_job};
use crate::on_both;
use serde_json::{json, Value};

async fn a_list_column_maps_item_by_item(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Lists").await;
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Dest", "spaceId": space, "sheets": [{"name": "Things", "slug": "things", "fields": [
                {"key": "name", "type": "string", "label": "Nom"},
                {"key": "colors", "type": "enum-list", "label": "Colors", "config": {"options": [
                    {"value": "red", "label": "Red"}, {"value": "blue", "label": "Blue"}]}},
                {"key": "size", "type": "enum", "label": "Size", "config": {"options": [
                    {"value": "s", "label": "Small"}, {"value": "l", "label": "Large"}]}}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let dest_wb = wb["data"]["id"].as_str().unwrap().to_string();
    let dest = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let csv =
        "Nom,Couleurs,Taille\na,Rouge;Bleu,\"p\r\nt\"\nb,Rouge,grand\nc,Bleu,\nd,\"Bleu, Rouge\",\ne,,\n";
    let job = map_job_for(
        &app,
        &space,
        "things.csv",
        csv.as_bytes().to_vec(),
        &dest_wb,
        &dest,
    )
    .await;

    // The mapping screen, pointed at Colors, lists the column's items, not its cells.
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let rows = app
        .page(&format!(
            "/jobs/{job}/plan/enum-values?column=couleurs&map%3Acouleurs=colors"
        ))
        .await;
    let mut values: Vec<String> = rows
        .split("name=\"enumsrc:couleurs:")
        .skip(1)
        .map(|r| {
            let v = &r[r.find("value=\"").unwrap() + 7..];
            v[..v.find('"').unwrap()].to_string()
        })
        .collect();
    values.sort();
    assert_eq!(values, ["Bleu", "Rouge"], "{rows}");

    // Rouge is red and Bleu blue, inside every cell; "p\nt", as a form sends it back, is Small.
    let edges = json!([
        {"sourceField": {"key": "nom"}, "destinationField": {"key": "name"}},
        {"sourceField": {"key": "couleurs"}, "destinationField": {"key": "colors"},
         "enumDetails": {"mapping": [{"sourceValue": "Rouge", "destinationValue": "red"},
                                      {"sourceValue": "Bleu", "destinationValue": "blue"}]}},
        {"sourceField": {"key": "taille"}, "destinationField": {"key": "size"},
         "enumDetails": {"mapping": [{"sourceValue": "p\nt", "destinationValue": "s"}]}}
    ]);
    let (status, planned) = app
        .put_json(&format!("/jobs/{job}/plan"), &json!({"fieldMapping": edges}))
        .await;
    assert_eq!(status, 200, "{planned}");
    let done = run_job(&app, &job).await;
    assert_eq!(done["status"], "complete", "{done}");
    let (_, page) = app.get_json(&format!("/sheets/{dest}/records")).await;
    let got: Vec<(String, Value, Value)> = page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["values"]["name"]["value"].as_str().unwrap().to_string(),
                r["values"]["colors"]["value"].clone(),
                r["values"]["size"]["value"].clone(),
            )
        })
        .collect();
    assert_eq!(got[0], ("a".into(), json!(["red", "blue"]), json!("s")));
    assert_eq!(got[1].1, json!(["red"]));
    assert_eq!(got[2].1, json!(["blue"]));
    assert_eq!(got[3].1, json!(["blue", "red"]), "each item, the others kept");
    assert!(
        got[4].1.is_null() || got[4].1 == json!([]),
        "an empty cell stays empty: {:?}",
        got[4]
    );
    let (_, counts) = app.get_json(&format!("/sheets/{dest}/counts")).await;
    assert_eq!(
        counts["data"]["counts"]["error"], 1,
        "only grand, no option: {page}"
    );
}

/// An enum of many options lists them once, each value getting a box over that list
/// (probe 62c D8: every value repeated every option, 48 MB for 1,000 by 1,000); a label
/// typed there reads as its option.
async fn many_options_are_listed_once(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Options").await;
    let options: Vec<Value> = (0..40)
        .map(|i| json!({"value": format!("o{i}"), "label": format!("Option {i}")}))
        .collect();
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Dest", "spaceId": space, "sheets": [{"name": "Things", "slug": "things", "fields": [
                {"key": "name", "type": "string", "label": "Nom"},
                {"key": "size", "type": "enum", "label": "Size", "config": {"options": options}}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let dest_wb = wb["data"]["id"].as_str().unwrap().to_string();
    let dest = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let csv = "Nom,Taille\na,x1\nb,x2\nc,x3\n";
    let job = map_job_for(
        &app,
        &space,
        "things.csv",
        csv.as_bytes().to_vec(),
        &dest_wb,
        &dest,
    )
    .await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let rows = app
        .page(&format!(
            "/jobs/{job}/plan/enum-values?column=taille&map%3Ataille=size"
        ))
        .await;
    assert_eq!(rows.matches("<datalist").count(), 1, "{rows}");
    assert_eq!(rows.matches("<option").count(), 40, "each option once");
    assert_eq!(
        rows.matches("list=\"enum-options-").count(),
        3,
        "a box for each value"
    );
    assert!(!rows.contains("<select"), "{rows}");

    let csrf = app.csrf(&format!("/jobs/{job}")).await;
    let resp = app
        .client
        .post(app.url(&format!("/jobs/{job}/plan")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("map:nom", "name"),
            ("map:taille", "size"),
            ("enumsrc:taille:0", "x1"),
            ("enum:taille:0", "option 7"),
            // A row missing (a hand-made post) stops none after it.
            ("enumsrc:taille:2", "x3"),
            ("enum:taille:2", "o9"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let done = app.wait_job(&job).await;
    assert_eq!(done["status"], "complete", "{done}");
    let (_, page) = app.get_json(&format!("/sheets/{dest}/records")).await;
    let sizes: Vec<Value> = page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["size"]["value"].clone())
        .collect();
    assert_eq!(sizes, [json!("o7"), json!("x2"), json!("o9")]);
}

on_both!(a_list_column_maps_item_by_item, many_options_are_listed_once);
