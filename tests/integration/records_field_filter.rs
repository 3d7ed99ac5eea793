//! `filterField` names the field `filter` looks at, in reads, counts, cell values and the
//! bulk changes they select: its errors (`filter=error`, or no `filter`), the records valid
//! there (`filter=valid`, whatever their other fields hold), or every record (`filter=all`).

use crate::api_records::setup;
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

/// A contacts sheet of three records: valid; an error in age; an error in email only
/// (required and missing). The app, the sheet's id and its records' path.
async fn three_records(db: Db) -> (TestApp, String, String) {
    let (app, _, contacts) = setup(db).await;
    let path = format!("/sheets/{contacts}/records");
    let rows = json!([
        {"email": {"value": "ok@x.io"}, "age": {"value": 30}},
        {"email": {"value": "age@x.io"}, "age": {"value": "n/a"}},
        {"age": {"value": 41}, "name": {"value": "No email"}},
    ]);
    let (status, body) = app.post_json(&path, &rows).await;
    assert_eq!(status, 200, "{body}");
    (app, contacts, path)
}

async fn filter_field_reads_with_the_filter_beside_it(db: Db) {
    let (app, contacts, path) = three_records(db).await;
    let ages = |v: &Value| -> Vec<String> {
        let mut got: Vec<String> = v["data"]["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["values"]["age"]["value"].to_string())
            .collect();
        got.sort();
        got
    };
    let read = |query: &'static str| {
        let (app, path) = (&app, &path);
        async move {
            let (status, body) = app.get_json(&format!("{path}?{query}")).await;
            assert_eq!(status, 200, "{query}: {body}");
            ages(&body)
        }
    };
    assert_eq!(read("filterField=age").await, ["\"n/a\""]);
    assert_eq!(read("filterField=age&filter=error").await, ["\"n/a\""]);
    // Valid in age: the record in error in email only is one of them (it read nothing).
    assert_eq!(read("filterField=age&filter=valid").await, ["30", "41"]);
    assert_eq!(read("filterField=email&filter=valid").await, ["\"n/a\"", "30"]);
    assert_eq!(read("filterField=age&filter=all").await, ["\"n/a\"", "30", "41"]);

    // Counts and a field's values read the same records.
    let (_, counts) = app
        .get_json(&format!("/sheets/{contacts}/counts?filterField=age&filter=valid"))
        .await;
    assert_eq!(counts["data"]["counts"]["total"], 2, "{counts}");
    let (_, cells) = app
        .get_json(&format!(
            "/sheets/{contacts}/cells?fieldKey=age&distinct=true&filterField=age&filter=valid"
        ))
        .await;
    assert_eq!(cells["data"]["age"].as_array().map(Vec::len), Some(2), "{cells}");

    // A bulk update over the records valid in age touches those two, not the error one.
    let (status, body) = app
        .patch_json(
            &format!("{path}/bulk-update?filterField=age&filter=valid"),
            &json!({"fieldUpdates": {"name": {"value": "Checked"}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["changed"], 2, "{body}");
    let (_, all) = app.get_json(&path).await;
    let checked = all["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["values"]["name"]["value"] == "Checked")
        .count();
    assert_eq!(checked, 2, "{all}");
}

/// The grid and the bulk changes over its view select the same records: "errors in" a
/// field narrows the All and Error tabs, never the Valid one (the Valid tab with a field
/// showed nothing, while its "Delete all shown" deleted the records valid in that field).
async fn the_grid_and_its_bulk_changes_read_one_view(db: Db) {
    let (app, contacts, _) = three_records(db).await;
    let (_, sheet) = app.get_json(&format!("/sheets/{contacts}")).await;
    let wb = sheet["data"]["workbookId"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", false);
    app.sign_in("ada@example.com", PASSWORD).await;
    for (view, shown) in [
        ("filter=valid&field=age", 1),
        ("filter=error&field=age", 1),
        ("field=age", 1),
        ("filter=valid", 1),
        ("filter=error", 2),
    ] {
        let page = app
            .page(&format!("/workbooks/{wb}?sheet={contacts}&{view}"))
            .await;
        assert_eq!(page.matches("data-record=").count(), shown, "{view}");
        let confirm = app.page(&format!("/grid/{contacts}/bulk/delete?{view}")).await;
        assert!(
            confirm.contains(&format!("<strong id=\"delete-count\">{shown}</strong>")),
            "{view}: {confirm}"
        );
    }
}

on_both!(
    filter_field_reads_with_the_filter_beside_it,
    the_grid_and_its_bulk_changes_read_one_view
);
