//! Numbers written with decimal commas and booleans in other languages, as European exports
//! write them: `1,5` is one and a half anywhere; `1,234` reads the English way, but with a
//! decimal comma, and a warning, where the rest of its batch (an insert's, an import's)
//! writes decimal commas.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

async fn values(app: &TestApp, sheet: &str, key: &str) -> Vec<Value> {
    let (_, got) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let records = got["data"]["records"].as_array().unwrap();
    records
        .iter()
        .map(|r| r["values"][key]["value"].clone())
        .collect()
}

async fn european_numbers_and_booleans_are_read_as_meant(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let row = |n: usize, age: &str, subscribed: &str| {
        json!({"email": {"value": format!("p{n}@x.io")}, "age": {"value": age},
               "subscribed": {"value": subscribed}})
    };
    // A German batch: `1,5` says the commas are decimal, so `1,234` and `2.500` are read
    // so too (1.234 and 2500), with a warning saying how else they read.
    let german = json!([
        row(1, "1,5", "ja"),
        row(2, "1,234", "nein"),
        row(3, "2.500", "Wahr"),
        row(4, "1.234,56", "falsch")
    ]);
    let (status, body) = app
        .post_json(&format!("/sheets/{contacts}/records"), &german)
        .await;
    assert_eq!(status, 200, "{body}");
    // An English batch: `1,234` is one thousand two hundred thirty-four.
    let english = json!([row(5, "1,234", "yes"), row(6, "2.5", "no")]);
    let (status, body) = app
        .post_json(&format!("/sheets/{contacts}/records"), &english)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        values(&app, &contacts, "age").await,
        vec![
            json!(1.5),
            json!(1.234),
            json!(2500),
            json!(1234.56),
            json!(1234),
            json!(2.5)
        ]
    );
    let warned = age_warnings(&app, &contacts).await;
    assert!(
        warned[1].contains("1,234 was read as 1.234") && warned[1].contains("if it is 1234, write 1234"),
        "{warned:?}"
    );
    assert!(
        warned[2].contains("2.500 was read as 2500") && warned[2].contains("if it is 2.5, write 2.5"),
        "{warned:?}"
    );
    let none = String::new();
    assert_eq!(
        (&warned[0], &warned[3], &warned[4]),
        (&none, &none, &none),
        "English batch: no word"
    );
    assert_eq!(
        values(&app, &contacts, "subscribed").await,
        vec![
            json!(true),
            json!(false),
            json!(true),
            json!(false),
            json!(true),
            json!(false)
        ]
    );
    let (_, counts) = app.get_json(&format!("/sheets/{contacts}/counts")).await;
    assert_eq!(counts["data"]["counts"]["error"], 0, "{counts}");
    // FFQL compares by the field's type, decimal commas too.
    let (_, found) = app
        .get_json(&format!("/sheets/{contacts}/records?q=age%20eq%201,5"))
        .await;
    assert_eq!(found["data"]["records"].as_array().unwrap().len(), 1, "{found}");

    // A re-check (another cell saved, the whole sheet validated) keeps the warning, as
    // the cell still holds what it warned of; a new value in the cell drops it.
    let (_, got) = app.get_json(&format!("/sheets/{contacts}/records")).await;
    let id = |i: usize| got["data"]["records"][i]["id"].clone();
    let edits = json!([
        {"id": id(2), "values": {"email": {"value": "p3-edited@x.io"}}},
        {"id": id(1), "values": {"age": {"value": "7"}}},
    ]);
    let (status, body) = app.put_json(&format!("/sheets/{contacts}/records"), &edits).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(&format!("/sheets/{contacts}/validate"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let after = age_warnings(&app, &contacts).await;
    assert_eq!(after[2], warned[2], "{after:?}");
    assert_eq!(after[1], "", "the cell now holds 7: {after:?}");
    assert_eq!(values(&app, &contacts, "age").await[2], json!(2500));
}

/// The first message of each record's `age` cell ("" for none).
async fn age_warnings(app: &TestApp, sheet: &str) -> Vec<String> {
    let (_, got) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    got["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["values"]["age"]["messages"][0]["message"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

/// A find and replace of `.` by `,` (a German user "converting" a column) writes `1,234`
/// beside `2,5`: it reads with its decimal comma, as the change writes them, and the cell
/// says how else it reads.
async fn a_bulk_change_warns_of_numbers_that_read_two_ways(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let rows = json!([{"email": "a@x.io", "age": "1.234"}, {"email": "b@x.io", "age": "2.5"}]);
    let (status, body) = app.post_json(&format!("/sheets/{contacts}/records"), &rows).await;
    assert_eq!(status, 200, "{body}");
    let replace = json!({"find": ".", "replace": ",", "fieldKey": "age"});
    let (status, body) = app
        .put_json(&format!("/sheets/{contacts}/find-replace"), &replace)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        values(&app, &contacts, "age").await,
        vec![json!(1.234), json!(2.5)]
    );
    let warned = age_warnings(&app, &contacts).await;
    assert!(
        warned[0].contains("1,234 was read as 1.234") && warned[0].contains("if it is 1234"),
        "{warned:?}"
    );
    assert_eq!(warned[1], "", "{warned:?}");

    // A bulk change run as a job decides alike in each of its batches, whatever else the
    // batch holds: one record alone, no decimal comma beside it, is warned all the same.
    let (_, more) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "c@x.io", "age": "5.678"}]),
        )
        .await;
    let c = more["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (_, sheet) = app.get_json(&format!("/sheets/{contacts}")).await;
    let workbook = sheet["data"]["workbookId"].as_str().unwrap().to_string();
    let config = json!({"sheet": contacts, "ids": [c],
                        "changes": [{"field": "age", "find": ".", "replace": ","}]});
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "bulk-change", "source": workbook,
                    "trigger": "immediate", "config": config}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let done = app.wait_job(job["data"]["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(values(&app, &contacts, "age").await[2], json!(5.678));
    let warned = age_warnings(&app, &contacts).await;
    assert!(warned[2].contains("5,678 was read as 5.678"), "{warned:?}");
    // A set writes one value, read as it reads alone: `1,234` is 1234, no word of commas.
    let (status, body) = app
        .patch_json(
            &format!("/sheets/{contacts}/records/bulk-update?ids={c}"),
            &json!({"fieldUpdates": {"age": {"value": "1,234"}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(values(&app, &contacts, "age").await[2], json!(1234));
    assert_eq!(age_warnings(&app, &contacts).await[2], "");
}

/// One record saved on its own (a grid cell) reads a number that reads two ways as its
/// column writes numbers: warned in a column of decimal commas, as an import warns for the
/// same text; unwarned in an English one (probe 67f D9: `1.000` saved as 1, unsaid).
async fn a_lone_save_is_warned_as_its_column_writes_numbers(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let row = |n: usize, age: &str| json!({"email": {"value": format!("p{n}@x.io")}, "age": {"value": age}});
    let german = json!([row(1, "1,5"), row(2, "1.234,56"), row(3, "2,75")]);
    let (status, body) = app
        .post_json(&format!("/sheets/{contacts}/records"), &german)
        .await;
    assert_eq!(status, 200, "{body}");
    let ids = record_ids(&body);
    let save = json!([{"id": ids[0], "values": {"age": {"value": "1.000"}}}]);
    let (status, body) = app.put_json(&format!("/sheets/{contacts}/records"), &save).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(values(&app, &contacts, "age").await[0], json!(1000));
    let warned = age_warnings(&app, &contacts).await;
    assert!(warned[0].contains("1.000 was read as 1000"), "{warned:?}");

    let people = app.sheet_id(&app.space_from_blueprint().await, "contacts").await;
    let english = json!([row(1, "1.5"), row(2, "1,234.56")]);
    let (status, body) = app
        .post_json(&format!("/sheets/{people}/records"), &english)
        .await;
    assert_eq!(status, 200, "{body}");
    let ids = record_ids(&body);
    let save = json!([{"id": ids[0], "values": {"age": {"value": "1.000"}}}]);
    let (status, body) = app.put_json(&format!("/sheets/{people}/records"), &save).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(age_warnings(&app, &people).await[0], "", "an English column");
}

on_both!(
    european_numbers_and_booleans_are_read_as_meant,
    a_bulk_change_warns_of_numbers_that_read_two_ways,
    a_lone_save_is_warned_as_its_column_writes_numbers,
);

/// A European export's quantities (`1.000`) beside its prices (`1.234,56`): the file writes
/// its numbers one way, so a quantity that reads two ways is read with a decimal comma too,
/// warned, in an import and an insert alike (probe 69d D1: a quantity of one thousand
/// became 1, "all valid", unsaid).
async fn a_files_decimal_commas_warn_of_its_other_number_fields(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Lager").await;
    let stock = json!({"name": "Lager", "spaceId": space, "sheets": [{"name": "Stock", "slug": "stock",
        "fields": [
            {"key": "artikel", "type": "string", "label": "Artikel"},
            {"key": "preis", "type": "number", "label": "Preis"},
            {"key": "menge", "type": "number", "label": "Menge"}]}]});
    let (status, wb) = app.post_json("/workbooks", &stock).await;
    assert_eq!(status, 200, "{wb}");
    let dest_wb = wb["data"]["id"].as_str().unwrap().to_string();
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let csv = "Artikel;Preis;Menge\r\nA;1.234,56;1.000\r\nB;0,99;2\r\nC;12,5;1.234\r\n";
    let file = app
        .upload_and_extract(&space, "lager.csv", csv.as_bytes().to_vec())
        .await;
    assert_eq!(file["status"], "complete", "{file}");
    let src_wb = file["workbookId"].as_str().unwrap().to_string();
    let (_, src) = app.get_json(&format!("/workbooks/{src_wb}")).await;
    let src_sheet = src["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let job = crate::api_mapping::create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &sheet).await;
    let (status, body) = app.post_json(&format!("/jobs/{job}/execute"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.wait_job(&job).await["status"], "complete");

    let (_, got) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let cells: Vec<(Value, String)> = got["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let menge = &r["values"]["menge"];
            (
                menge["value"].clone(),
                menge["messages"][0]["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(cells[0].0, json!(1000), "{got}");
    assert!(
        cells[0].1.contains("1.000 was read as 1000")
            && cells[0]
                .1
                .contains("other numbers of this import write decimal commas")
            && cells[0].1.contains("if it is 1, write 1"),
        "{cells:?}"
    );
    assert_eq!(cells[1], (json!(2), String::new()));
    assert_eq!(cells[2].0, json!(1234), "{cells:?}");
    assert!(cells[2].1.contains("if it is 1.234"), "{cells:?}");

    // The same rows sent to the API: warned alike. An English file's quantities are not.
    let rows = json!([{"preis": "1.234,56", "menge": "1.000"}, {"preis": "7", "menge": "2.500"}]);
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    assert_eq!(status, 200, "{body}");
    let warned = |r: &Value| {
        r["values"]["menge"]["messages"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert!(
        warned(&body["data"]["records"][0]).contains("other numbers of this import"),
        "{body}"
    );
    let rows = json!([{"preis": "1,234.56", "menge": "1.000"}]);
    let (_, body) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    assert_eq!(warned(&body["data"]["records"][0]), "", "{body}");
}

on_both!(a_files_decimal_commas_warn_of_its_other_number_fields);
