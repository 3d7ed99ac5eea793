//! Big inserts are read, checked and written as a pipeline, and their answer is written
//! ahead of the records' ids. These tests send bodies big enough for that (over 256 KB) and
//! check that the answer is the records as stored, and that a bad record anywhere in the
//! body still leaves nothing behind.

use crate::helpers::*;
use crate::on_both;
use crate::records_concurrency::{all_records, assert_counts_match};
use serde_json::{json, Value};

/// A sheet of typed fields without references, `code` unique.
async fn setup(db: Db) -> (TestApp, String) {
    let app = spawn_app(db).await;
    let blueprint = json!({
        "name": "People",
        "workbooks": [{"name": "People", "sheets": [{"name": "People", "slug": "people", "fields": [
            {"key": "code", "type": "string", "label": "Code", "constraints": [{"type": "unique"}]},
            {"key": "email", "type": "string", "label": "Email", "constraints": [{"type": "required"}]},
            {"key": "age", "type": "number", "label": "Age"},
            {"key": "active", "type": "boolean", "label": "Active"},
            {"key": "joined", "type": "date", "label": "Joined"},
            {"key": "tier", "type": "enum", "label": "Tier", "config": {"options": [
                {"value": "gold", "label": "Gold"}, {"value": "silver", "label": "Silver"}]}},
            {"key": "notes", "type": "string", "label": "Notes"}
        ]}]}]
    });
    let (status, config) = app.post_json("/space-configs", &blueprint).await;
    assert_eq!(status, 200, "{config}");
    let (status, space) = app
        .post_json("/spaces", &json!({"spaceConfigId": config["data"]["id"]}))
        .await;
    assert_eq!(status, 200, "{space}");
    let sheet = app.sheet_id(&space["data"], "people").await;
    (app, sheet)
}

/// Record `i` of a body: every 7th has an age that is no number, every 11th no email.
fn person(batch: &str, i: usize) -> Value {
    json!({
        "code": {"value": format!("{batch}-{i}")},
        "email": {"value": if i.is_multiple_of(11) { String::new() } else { format!("p{i}@example.com") }},
        "age": {"value": if i.is_multiple_of(7) { json!("n/a") } else { json!(i % 90) }},
        "active": {"value": if i.is_multiple_of(2) { "yes" } else { "no" }},
        "joined": {"value": format!("2024-{:02}-{:02}", i % 12 + 1, i % 28 + 1)},
        "tier": {"value": if i.is_multiple_of(3) { "Gold" } else { "silver" }},
        "notes": {"value": format!("line \"{i}\" with a comma, a [bracket] and \\ a backslash ✓")}
    })
}

/// The answer's records are the records as stored: same ids in order, same values,
/// messages, validity and version.
async fn assert_answer_is_stored(app: &TestApp, sheet: &str, answer: &Value) {
    let answered = answer["data"]["records"].as_array().expect("records");
    let stored = all_records(app, sheet).await;
    for r in answered {
        let s = stored
            .iter()
            .find(|s| s["id"] == r["id"])
            .unwrap_or_else(|| panic!("{} is stored", r["id"]));
        for key in ["values", "valid", "metadata", "versionId"] {
            assert_eq!(r[key], s[key], "{key} of {}", r["id"]);
        }
    }
    let ids: Vec<&Value> = answered.iter().map(|r| &r["id"]).collect();
    let mut sorted = ids.clone();
    sorted.sort_by_key(|id| {
        id.as_str()
            .unwrap()
            .trim_start_matches("us_rc_")
            .parse::<i64>()
            .unwrap()
    });
    assert_eq!(ids, sorted, "records answer in the order sent");
}

async fn a_big_insert_answers_with_the_records_as_stored(db: Db) {
    let (app, sheet) = setup(db).await;
    let path = format!("/sheets/{sheet}/records");
    let body: Vec<Value> = (0..4000).map(|i| person("a", i)).collect();
    assert!(
        serde_json::to_vec(&body).unwrap().len() > 256 * 1024,
        "a body the pipeline reads"
    );
    let (status, answer) = app.post_json(&path, &json!(body)).await;
    assert_eq!(status, 200, "{answer}");
    let records = answer["data"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 4000);
    assert_eq!(records[7]["values"]["age"]["valid"], false, "{}", records[7]);
    assert_eq!(records[8]["values"]["age"]["value"], 8);
    assert_eq!(records[8]["values"]["joined"]["value"], "2024-09-09");
    assert_eq!(records[8]["values"]["active"]["value"], true);
    assert_eq!(records[9]["values"]["tier"]["value"], "gold");
    assert_answer_is_stored(&app, &sheet, &answer).await;

    // A second body whose codes repeat the first's: the unique check changes records on
    // the way, and the answer still shows them as stored.
    let body: Vec<Value> = (0..4000)
        .map(|i: usize| person(if i.is_multiple_of(5) { "a" } else { "b" }, i))
        .collect();
    let (status, answer) = app.post_json(&path, &json!(body)).await;
    assert_eq!(status, 200, "{answer}");
    let duplicate = &answer["data"]["records"][5]["values"]["code"];
    assert_eq!(duplicate["valid"], false, "{duplicate}");
    assert_answer_is_stored(&app, &sheet, &answer).await;
    assert_eq!(assert_counts_match(&app, &sheet).await, 8000);
}

async fn a_bad_record_late_in_a_big_body_leaves_nothing(db: Db) {
    let (app, sheet) = setup(db).await;
    let path = format!("/sheets/{sheet}/records");
    // A key the sheet lacks, in the last record.
    let mut body: Vec<Value> = (0..4000).map(|i| person("a", i)).collect();
    body[3999]["nickname"] = json!({"value": "x"});
    let (status, answer) = app.post_json(&path, &json!(body)).await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer.to_string().contains("$[3999]"),
        "names the record: {answer}"
    );
    // JSON cut short near the end.
    let text = serde_json::to_string(&json!((0..4000).map(|i| person("a", i)).collect::<Vec<_>>())).unwrap();
    let cut = &text[..text.len() - 40];
    let (status, answer) = send(
        app.api(reqwest::Method::POST, &path)
            .header("content-type", "application/json")
            .body(cut.to_string()),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("could not be read"), "{answer}");
    // Half a character's escape, in a big body and in a small one: said in words (probe 58a).
    for records in [4000, 3] {
        let text = serde_json::to_string(&json!((0..records).map(|i| person("a", i)).collect::<Vec<_>>()))
            .unwrap()
            .replacen(r#""a-1""#, r#""a-1\ud800x""#, 1);
        let (status, answer) = send(
            app.api(reqwest::Method::POST, &path)
                .header("content-type", "application/json")
                .body(text),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer.to_string().contains("lone surrogate"), "{answer}");
    }
    // More records than one request may hold.
    let many: String = format!(
        "[{}]",
        (0..50_001)
            .map(|i| format!("{{\"code\":\"c{i}\"}}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let (status, answer) = send(
        app.api(reqwest::Method::POST, &path)
            .header("content-type", "application/json")
            .body(many),
    )
    .await;
    assert_eq!(status, 413, "{answer}");
    assert!(answer.to_string().contains("50001 records"), "{answer}");
    assert_eq!(assert_counts_match(&app, &sheet).await, 0, "nothing was kept");
}

/// Big inserts from several clients at once, beside small ones and a bad big one: none
/// fails because another is writing, and the counts equal the records kept.
async fn big_inserts_at_once_all_land(db: Db) {
    let (app, sheet) = setup(db).await;
    let app = std::sync::Arc::new(app);
    let path = format!("/sheets/{sheet}/records");
    let mut clients = Vec::new();
    for c in 0..4 {
        let (app, path) = (app.clone(), path.clone());
        clients.push(tokio::spawn(async move {
            for round in 0..2 {
                let batch = format!("c{c}r{round}");
                let body: Vec<Value> = (0..3000).map(|i| person(&batch, i)).collect();
                let (status, answer) = app.post_json(&path, &json!(body)).await;
                assert_eq!(status, 200, "{answer}");
                assert_eq!(answer["data"]["records"].as_array().map(Vec::len), Some(3000));
                // A small insert and a big one that is refused, between the big ones.
                let (status, answer) = app
                    .post_json(&path, &json!([person(&format!("{batch}s"), 1)]))
                    .await;
                assert_eq!(status, 200, "{answer}");
                let mut bad: Vec<Value> = (0..3000).map(|i| person(&format!("{batch}x"), i)).collect();
                bad[2000]["nickname"] = json!({"value": "x"});
                let (status, answer) = app.post_json(&path, &json!(bad)).await;
                assert_eq!(status, 422, "{answer}");
            }
        }));
    }
    for client in clients {
        client.await.expect("client");
    }
    assert_eq!(assert_counts_match(&app, &sheet).await, 4 * 2 * 3001);
}

on_both!(
    a_big_insert_answers_with_the_records_as_stored,
    a_bad_record_late_in_a_big_body_leaves_nothing,
    big_inserts_at_once_all_land,
);
