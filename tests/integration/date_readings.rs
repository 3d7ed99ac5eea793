//! Dates that read two ways (`01/02/2024`): read in the order the rest of their batch shows
//! (an import's, an insert's), else month first with a warning on the cell, never silently;
//! and never read again the other way when the record is saved later.

use crate::api_mapping::{create_map_job, setup};
use crate::bulk_hardening::count;
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

fn joined(record: &Value) -> &Value {
    &record["values"]["joined"]
}

async fn records(app: &TestApp, sheet: &str) -> Vec<Value> {
    let (_, got) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    got["data"]["records"].as_array().unwrap().clone()
}

async fn an_insert_reads_its_dates_in_the_order_they_show_and_warns_when_they_do_not(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let row = |email: &str, date: &str| json!({"email": {"value": email}, "joined": {"value": date}});
    let (status, body) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([row("a@x.io", "01/02/2024"), row("b@x.io", "25/12/2024")]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([row("c@x.io", "03/04/2024")]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let got = records(&app, &contacts).await;
    assert_eq!(
        joined(&got[0])["value"],
        "2024-02-01",
        "day first, as 25/12/2024 shows: {got:?}"
    );
    assert_eq!(joined(&got[0])["raw"], "01/02/2024");
    assert_eq!(joined(&got[0])["messages"], json!([]));
    assert_eq!(joined(&got[1])["value"], "2024-12-25");
    let alone = joined(&got[2]);
    assert_eq!(alone["value"], "2024-03-04", "alone: month first");
    assert_eq!(alone["messages"][0]["type"], "warn", "{alone}");
    assert!(
        alone["messages"][0]["message"]
            .as_str()
            .unwrap()
            .contains("if it is 3 April 2024, write 2024-04-03"),
        "{alone}"
    );
    assert_eq!(got[2]["valid"], true, "a warning is not an error");
    let (_, warned) = app
        .get_json(&format!("/sheets/{contacts}/records?q=joined%20is%20warning"))
        .await;
    assert_eq!(warned["data"]["records"].as_array().unwrap().len(), 1, "{warned}");

    // Saving other cells, or a record as a listener sends it back (every value as read),
    // reads no date again: the day-first one stays 1 February, the warning stays.
    let update: Vec<Value> = got
        .iter()
        .map(|r| {
            let mut values = r["values"].clone();
            values["name"] = json!({"value": "Changed"});
            json!({"id": r["id"], "values": values})
        })
        .collect();
    let (status, body) = app
        .put_json(&format!("/sheets/{contacts}/records"), &json!(update))
        .await;
    assert_eq!(status, 200, "{body}");
    let after = records(&app, &contacts).await;
    assert_eq!(joined(&after[0])["value"], "2024-02-01", "{after:?}");
    assert_eq!(joined(&after[0])["raw"], "01/02/2024");
    assert_eq!(after[0]["values"]["name"]["value"], "Changed");
    assert_eq!(joined(&after[2])["value"], "2024-03-04");
    assert_eq!(joined(&after[2])["messages"][0]["type"], "warn", "{after:?}");
    // An update reads its dates as an insert does: by the order its own dates show.
    let both = json!([
        {"id": after[1]["id"], "values": {"joined": {"value": "26/12/2024"}}},
        {"id": after[0]["id"], "values": {"joined": {"value": "03/04/2024"}}},
    ]);
    let (status, body) = app.put_json(&format!("/sheets/{contacts}/records"), &both).await;
    assert_eq!(status, 200, "{body}");
    let after = records(&app, &contacts).await;
    assert_eq!(joined(&after[0])["value"], "2024-04-03", "{after:?}");
    assert_eq!(joined(&after[0])["messages"], json!([]));
    // Writing the day as meant ends the question.
    let fix = json!([{"id": after[2]["id"], "values": {"joined": {"value": "2024-04-03"}}}]);
    let (status, body) = app.put_json(&format!("/sheets/{contacts}/records"), &fix).await;
    assert_eq!(status, 200, "{body}");
    let fixed = records(&app, &contacts).await;
    assert_eq!(joined(&fixed[2])["value"], "2024-04-03");
    assert_eq!(joined(&fixed[2])["messages"], json!([]));
}

async fn an_import_of_day_first_dates_reads_them_day_first(db: Db) {
    let app = spawn_app(db).await;
    let csv = "E-mail,Joined\nada@x.org,01/02/2024\nbob@x.org,13/02/2024\ncy@x.org,05/06/2024\n";
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(&app, csv).await;
    let job_id = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    let (_, plan) = app.get_json(&format!("/jobs/{job_id}/plan")).await;
    let mapped = plan["data"]["plan"]["fieldMapping"].as_array().unwrap();
    assert!(
        mapped.iter().any(|e| e["destinationField"]["key"] == "joined"),
        "{plan}"
    );
    execute(&app, &job_id).await;
    let got = records(&app, &contacts).await;
    let dates: Vec<&Value> = got.iter().map(|r| &joined(r)["value"]).collect();
    assert_eq!(dates, vec!["2024-02-01", "2024-02-13", "2024-06-05"], "{got:?}");
    assert!(got.iter().all(|r| joined(r)["messages"] == json!([])), "{got:?}");
}

/// One insert or import reads a field's dates one way however it is cut up: a big body
/// is checked in parts on every core, an import reads its rows in parts on every core
/// before it maps them in batches of 5,000, and only the first (or last) rows say the
/// dates are day first.
async fn a_big_insert_and_import_read_their_dates_one_way(db: Db) {
    const ROWS: usize = 6_000;
    let app = spawn_app(db).await;
    let date = |i: usize| if i == 0 { "25/12/2024" } else { "01/02/2024" };
    let rows: Vec<Value> = (0..ROWS)
        .map(
            |i| json!({"email": format!("person{i}@example.org"), "joined": date(i), "name": "x".repeat(40)}),
        )
        .collect();
    // A sheet without references: its big bodies are checked in parts.
    let space = app.bare_space("Parts").await;
    let (status, made) = app
        .post_json(
            "/workbooks",
            &json!({"name": "People", "spaceId": space, "sheets": [{"name": "People", "slug": "people",
                "fields": [{"key": "email", "type": "string"}, {"key": "joined", "type": "date"},
                           {"key": "name", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let people = made["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .post_json(&format!("/sheets/{people}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        count(&app, &people, "joined eq 2024-02-01").await,
        ROWS as i64 - 1
    );
    assert_eq!(count(&app, &people, "joined is warning").await, 0);

    // An import whose only day-first date is its last row, then one whose last row says
    // month first against its first: every batch reads alike (day first; then month first,
    // each such date warned).
    let last = ROWS - 1;
    let day_first_at_the_end = |i: usize| if i == last { "25/12/2024" } else { "01/02/2024" };
    let both = |i: usize| match i {
        0 => "25/12/2024",
        i if i == last => "12/25/2024",
        _ => "01/02/2024",
    };
    let contacts = import(&app, day_first_at_the_end, ROWS).await;
    assert_eq!(
        count(&app, &contacts, "joined eq 2024-02-01").await,
        ROWS as i64 - 1
    );
    assert_eq!(count(&app, &contacts, "joined is warning").await, 0);
    let contacts = import(&app, both, ROWS).await;
    assert_eq!(
        count(&app, &contacts, "joined eq 2024-01-02").await,
        ROWS as i64 - 2
    );
    assert_eq!(count(&app, &contacts, "joined is warning").await, ROWS as i64 - 2);
}

/// A workbook of one sheet `People` (a date `joined`, a text `name`) in `space`: (it, its sheet).
async fn people(app: &TestApp, space: &str) -> (String, String) {
    let (status, made) = app
        .post_json(
            "/workbooks",
            &json!({"name": "People", "spaceId": space, "sheets": [{"name": "People", "slug": "people",
                "fields": [{"key": "joined", "type": "date"}, {"key": "name", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let id = |v: &Value| v.as_str().unwrap().to_string();
    (id(&made["data"]["id"]), id(&made["data"]["sheets"][0]["id"]))
}

/// A mapping of a typed sheet maps its stored dates, read when they were written, not
/// their input read again by the other rows; and a mapping resumed after its destination
/// gained a field in front reads each field as it did before (its readings are by key).
async fn a_mapping_keeps_how_its_dates_were_read(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let space = app.bare_space("Typed").await;
    let (src_wb, src) = people(&app, &space).await;
    let (dst_wb, dst) = people(&app, &space).await;
    let rows = |dates: &[&str]| json!(dates.iter().map(|d| json!({"joined": d})).collect::<Vec<_>>());
    for batch in [rows(&["01/02/2024", "25/12/2024"]), rows(&["12/25/2024"])] {
        let (status, body) = app.post_json(&format!("/sheets/{src}/records"), &batch).await;
        assert_eq!(status, 200, "{body}");
    }
    let map = json!({"type": "workbook", "operation": "map", "source": src_wb, "destination": dst_wb,
                     "trigger": "immediate", "config": {"sourceSheetId": src, "destinationSheetId": dst}});
    let (status, job) = app.post_json("/jobs", &map).await;
    assert_eq!(status, 200, "{job}");
    let job = job["data"]["id"].as_str().unwrap().to_string();
    // As a first attempt stopped before its first batch leaves it: readings kept by key,
    // then a field put in front of the destination's while the server was down.
    {
        use diesel::prelude::*;
        use wharf::db::schema::jobs;
        let checkpoint = json!({"after": 0, "processed": 0, "written": [], "upto": null,
                                "readingsByKey": {"joined": {"Dates": "MonthFirst"}}});
        let mut conn = app.pool.get().unwrap();
        diesel::update(jobs::table.find(&job))
            .set(jobs::checkpoint.eq(Some(checkpoint.to_string())))
            .execute(&mut *conn)
            .unwrap();
    }
    let (status, body) = app
        .post_json(
            &format!("/sheets/{dst}/fields?insertAtIndex=0"),
            &json!({"key": "first", "type": "number"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.start_workers();
    let done = app.wait_job(&job).await;
    assert_eq!(done["status"], "complete", "{done}");
    let got = records(&app, &dst).await;
    let dates: Vec<&Value> = got.iter().map(|r| &joined(r)["value"]).collect();
    assert_eq!(dates, vec!["2024-02-01", "2024-12-25", "2024-12-25"], "{got:?}");
}

/// Runs a mapping job as the client does (`execute` without a body) and waits for it.
async fn execute(app: &TestApp, job_id: &str) {
    let (status, _) = send(
        app.api(reqwest::Method::POST, &format!("/jobs/{job_id}/execute"))
            .header("content-length", "0"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app.wait_job(job_id).await["status"], "complete");
}

/// `rows` rows of an email and `date(i)` imported into a new space's contacts: the sheet.
async fn import(app: &TestApp, date: impl Fn(usize) -> &'static str, rows: usize) -> String {
    let mut csv = String::from("E-mail,Joined\n");
    for i in 0..rows {
        csv.push_str(&format!("p{i}@x.org,{}\n", date(i)));
    }
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(app, &csv).await;
    let job_id = create_map_job(app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    execute(app, &job_id).await;
    contacts
}

on_both!(
    an_insert_reads_its_dates_in_the_order_they_show_and_warns_when_they_do_not,
    an_import_of_day_first_dates_reads_them_day_first,
    a_big_insert_and_import_read_their_dates_one_way,
    a_mapping_keeps_how_its_dates_were_read,
);
