//! A person confirms a reading by writing the value a cell shows (probe 72a D1), an undo
//! brings a number's reading back with its warning (73a D2), and the history panel steps
//! back past one's own undone bulk change (72a D6).

use crate::bulk_jobs::{grid_post, undo_path};
use crate::editing::save;
use crate::helpers::*;
use crate::history_deleted::grid_undo;
use crate::on_both;
use crate::undo_messages::grid_save;
use serde_json::{json, Value};

/// The Contacts records as the API gives them, in order.
async fn records(app: &TestApp, sheet: &str) -> Vec<Value> {
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    page["data"]["records"].as_array().unwrap().clone()
}

fn warnings(cell: &Value) -> Vec<String> {
    cell["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["type"] == "warn")
        .map(|m| m["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A space of the contacts blueprint with `records`, ada signed in: the Contacts sheet, the
/// first record and ada's CSRF token.
async fn signed_in_with(app: &TestApp, records: &Value) -> (String, String, String) {
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/records"), records).await;
    assert_eq!(status, 200, "{body}");
    let rid = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    (sheet, rid, csrf)
}

/// A bulk change from the grid setting `column` to `value` in every record: its Undo's path.
async fn bulk_set(app: &TestApp, sheet: &str, column: &str, value: &str) -> String {
    let form = [("op", "set"), ("column", column), ("value", value)];
    let (status, toast) = grid_post(app, &format!("/grid/{sheet}/bulk"), &form).await;
    assert_eq!(status, 200, "{toast}");
    undo_path(&toast)
}

async fn a_person_confirms_a_reading_and_an_undo_brings_it_back(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    // Decimal commas in the batch: `1.000` reads as 1000, with a warning.
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io", "age": "1,5"},
                    {"email": "b@x.io", "age": "1.000", "joined": "01/05/2024"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rid = body["data"]["records"][1]["id"].as_str().unwrap().to_string();
    let age = records(&app, &sheet).await[1]["values"]["age"].clone();
    assert_eq!(
        (age["value"].clone(), age["raw"].clone()),
        (json!(1000), json!("1.000")),
        "{age}"
    );
    assert_eq!(warnings(&age).len(), 1, "{age}");

    // Listener code writing back what it read leaves the reading and its warning.
    // Its message on the date stays with the value it was said of.
    let echo = json!([{"id": rid, "values": {"age": {"value": 1000}, "joined": {"value": "2024-01-05",
        "messages": [{"type": "error", "message": "listener: check this date"}]}}}]);
    let (status, body) = app.put_json(&format!("/sheets/{sheet}/records"), &echo).await;
    assert_eq!(status, 200, "{body}");
    let record = records(&app, &sheet).await[1].clone();
    let values = &record["values"];
    assert_eq!(warnings(&values["age"]).len(), 1, "{values}");
    assert_eq!(warnings(&values["joined"]).len(), 1, "{values}");
    assert_eq!(record["valid"], false, "{record}");

    // A person in the grid: the date's editor offers to keep the reading; writing the
    // values shown confirms both, recorded as changes.
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let editor = app
        .page(&format!("/grid/{sheet}/records/{rid}/edit?field=joined"))
        .await;
    assert!(
        editor.contains("data-confirms") && editor.contains("keep this date as read"),
        "{editor}"
    );
    let plain = app
        .page(&format!("/grid/{sheet}/records/{rid}/edit?field=name"))
        .await;
    assert!(!plain.contains("data-confirms"), "{plain}");
    grid_save(&app, &sheet, &rid, &csrf, "joined", "2024-01-05").await;
    grid_save(&app, &sheet, &rid, &csrf, "age", "1000").await;
    // A new value clears what listener code said of the old one, as for any type (73a D4).
    let record = records(&app, &sheet).await[1].clone();
    assert_eq!(record["valid"], true, "{record}");
    let values = record["values"].clone();
    for key in ["age", "joined"] {
        assert!(warnings(&values[key]).is_empty(), "{key}: {values}");
        // The spelling read is gone: the cell holds what the person wrote.
        let raw = &values[key]["raw"];
        assert!(raw.is_null() || raw == "1000", "{key}: {values}");
    }
    assert_eq!(
        (values["age"]["value"].clone(), values["joined"]["value"].clone()),
        (json!(1000), json!("2024-01-05"))
    );
    let history = app.page(&format!("/grid/{sheet}/records/{rid}/history")).await;
    assert!(
        history.contains("1.000") && history.contains("01/05/2024"),
        "{history}"
    );

    // Undone: the number is back as read, with its warning, then the date too; each undo
    // is a row of the history (73a D3: one putting back a spelling only was not).
    let rows = async || {
        let history = app.page(&format!("/grid/{sheet}/records/{rid}/history")).await;
        history.matches("<tr><td>").count()
    };
    let before = rows().await;
    assert_eq!(grid_undo(&app, &sheet, &rid, &csrf).await.status().as_u16(), 200);
    assert_eq!(rows().await, before + 1);
    let age = records(&app, &sheet).await[1]["values"]["age"].clone();
    assert_eq!(
        (age["value"].clone(), age["raw"].clone()),
        (json!(1000), json!("1.000")),
        "{age}"
    );
    assert_eq!(warnings(&age).len(), 1, "{age}");
    // Its row names the spelling put back (probe 74a D3: "1000" back to "1000").
    let history = app.page(&format!("/grid/{sheet}/records/{rid}/history")).await;
    assert!(history.contains("<td>1000</td><td>1.000</td>"), "{history}");
    assert_eq!(grid_undo(&app, &sheet, &rid, &csrf).await.status().as_u16(), 200);
    let joined = records(&app, &sheet).await[1]["values"]["joined"].clone();
    assert_eq!(joined["raw"], "01/05/2024", "{joined}");
    assert_eq!(warnings(&joined).len(), 1, "{joined}");
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 2);
}

/// After a bulk change undone from its toast, the history panel's Undo steps back to the
/// change before it instead of writing the bulk value again.
async fn the_panel_steps_back_past_an_undone_bulk_change(db: Db) {
    let app = spawn_app(db).await;
    let (sheet, rid, csrf) = signed_in_with(&app, &json!([{"email": "a@x.io", "name": "T"}])).await;
    grid_save(&app, &sheet, &rid, &csrf, "name", "T2").await;
    let undo = bulk_set(&app, &sheet, "name", "BULK").await;
    let (status, said) = grid_post(&app, &undo, &[]).await;
    assert_eq!(status, 200, "{said}");
    let name = async || records(&app, &sheet).await[0]["values"]["name"]["value"].clone();
    assert_eq!(name().await, "T2");
    let history = app.page(&format!("/grid/{sheet}/records/{rid}/history")).await;
    assert!(
        history.contains("“<bdi>T2</bdi>” back to “<bdi>T</bdi>”"),
        "{history}"
    );
    assert_eq!(grid_undo(&app, &sheet, &rid, &csrf).await.status().as_u16(), 200);
    assert_eq!(name().await, "T", "the change before the bulk one is undone");
    assert_eq!(grid_undo(&app, &sheet, &rid, &csrf).await.status().as_u16(), 409);

    // A bulk change whose undo kept the cell (another bulk change wrote it since) is gone
    // from the cell's story as well: the panel steps back past it (probe 74a D4).
    grid_save(&app, &sheet, &rid, &csrf, "name", "A1").await;
    let mut undos = Vec::new();
    for value in ["B1", "B2"] {
        undos.push(bulk_set(&app, &sheet, "name", value).await);
    }
    let (status, said) = grid_post(&app, &undos[0], &[]).await;
    assert_eq!(status, 200, "{said}");
    assert!(said.contains("kept as it is"), "{said}");
    assert_eq!(grid_post(&app, &undos[1], &[]).await.0, 200);
    assert_eq!(name().await, "A1");
    let history = app.page(&format!("/grid/{sheet}/records/{rid}/history")).await;
    assert!(
        history.contains("“<bdi>A1</bdi>” back to “<bdi>T</bdi>”"),
        "{history}"
    );
    assert_eq!(grid_undo(&app, &sheet, &rid, &csrf).await.status().as_u16(), 200);
    assert_eq!(name().await, "T");
}

/// A save made on a version before someone else wrote the same date another way (one a
/// warning now says was read month first) is refused: it would confirm a reading the
/// person never saw (probe 74a D2).
async fn a_stale_save_confirms_no_reading_it_did_not_see(db: Db) {
    let app = spawn_app(db).await;
    let (sheet, rid, csrf) =
        signed_in_with(&app, &json!([{"email": "a@x.io", "joined": "2024-01-05"}])).await;
    let editor = app
        .page(&format!("/grid/{sheet}/records/{rid}/edit?field=joined"))
        .await;
    let version = crate::editing::editor_version(&editor);
    let write = json!([{"id": rid, "values": {"joined": {"value": "01/05/2024"}}}]);
    let (status, body) = app.put_json(&format!("/sheets/{sheet}/records"), &write).await;
    assert_eq!(status, 200, "{body}");
    let path = format!("/grid/{sheet}/records/{rid}");
    let fields = [
        ("field", "joined"),
        ("value", "2024-01-05"),
        ("version", version.as_str()),
    ];
    let (status, said) = save(&app.client, &app, &csrf, &path, &fields).await;
    assert_eq!(status, 409, "{said}");
    assert!(
        said.contains("01/05/2024"),
        "says what the cell holds now: {said}"
    );
    let joined = records(&app, &sheet).await[0]["values"]["joined"].clone();
    assert_eq!(
        (joined["raw"].clone(), warnings(&joined).len()),
        (json!("01/05/2024"), 1),
        "{joined}"
    );
}

/// An undo puts a date back as it was read: `01/05/2024` read month first unwarned, as the
/// other dates of its insert showed, comes back unwarned (probe 74a D5).
async fn an_undo_warns_of_no_reading_that_was_not_warned_of(db: Db) {
    let app = spawn_app(db).await;
    let dates =
        json!([{"email": "a@x.io", "joined": "01/05/2024"}, {"email": "b@x.io", "joined": "12/25/2024"}]);
    let (sheet, rid, csrf) = signed_in_with(&app, &dates).await;
    let joined = async || records(&app, &sheet).await[0]["values"]["joined"].clone();
    let before = joined().await;
    assert_eq!(before["value"], "2024-01-05", "{before}");
    assert!(warnings(&before).is_empty(), "{before}");
    grid_save(&app, &sheet, &rid, &csrf, "joined", "2024-02-02").await;
    assert_eq!(grid_undo(&app, &sheet, &rid, &csrf).await.status().as_u16(), 200);
    let after = joined().await;
    assert_eq!(
        (after["value"].clone(), after["raw"].clone()),
        (json!("2024-01-05"), json!("01/05/2024")),
        "{after}"
    );
    assert!(warnings(&after).is_empty(), "{after}");
    // A bulk change's undo alike.
    let undo = bulk_set(&app, &sheet, "joined", "2024-03-03").await;
    assert_eq!(grid_post(&app, &undo, &[]).await.0, 200);
    let after = joined().await;
    assert_eq!(after["value"], "2024-01-05", "{after}");
    assert!(warnings(&after).is_empty(), "{after}");
}

/// An undo says a number's reading warning in the words it had: read with decimal commas
/// because another field of its insert wrote them, not "this field's other values"
/// (probe 74a D6).
async fn an_undo_says_a_reading_warning_as_it_was(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let field = json!({"key": "score", "type": "number", "label": "Score"});
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/fields"), &field).await;
    assert_eq!(status, 200, "{body}");
    let rows = json!([{"email": "a@x.io", "age": "1.000"}, {"email": "b@x.io", "score": "1,5"}]);
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    assert_eq!(status, 200, "{body}");
    let rid = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let age = async || records(&app, &sheet).await[0]["values"]["age"].clone();
    let before = age().await;
    assert_eq!(before["value"], 1000, "{before}");
    let said = warnings(&before);
    assert!(
        said.len() == 1 && said[0].contains("other numbers of this import"),
        "{before}"
    );
    grid_save(&app, &sheet, &rid, &csrf, "age", "9").await;
    assert_eq!(grid_undo(&app, &sheet, &rid, &csrf).await.status().as_u16(), 200);
    let after = age().await;
    assert_eq!(
        (after["value"].clone(), warnings(&after)),
        (json!(1000), said.clone()),
        "{after}"
    );
    // A bulk change's undo alike.
    let undo = bulk_set(&app, &sheet, "age", "7").await;
    assert_eq!(grid_post(&app, &undo, &[]).await.0, 200);
    let after = age().await;
    assert_eq!(
        (after["value"].clone(), warnings(&after)),
        (json!(1000), said),
        "{after}"
    );
}

on_both!(
    an_undo_says_a_reading_warning_as_it_was,
    a_stale_save_confirms_no_reading_it_did_not_see,
    an_undo_warns_of_no_reading_that_was_not_warned_of,
    a_person_confirms_a_reading_and_an_undo_brings_it_back,
    the_panel_steps_back_past_an_undone_bulk_change
);
