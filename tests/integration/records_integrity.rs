//! Writes whose effects reach beyond the records they name: repeated ids in one request,
//! ids after deletes, and references whose targets change or disappear.

use crate::helpers::*;
use crate::on_both;
use crate::records_concurrency::{all_records, assert_counts_match};
use serde_json::{json, Value};

async fn setup(db: Db) -> (TestApp, String, String) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let companies = app.sheet_id(&space, "companies").await;
    let contacts = app.sheet_id(&space, "contacts").await;
    (app, companies, contacts)
}

async fn repeated_ids_in_one_update_apply_in_order(db: Db) {
    let (app, _, contacts) = setup(db).await;
    let path = format!("/sheets/{contacts}/records");
    let (_, body) = app
        .post_json(
            &path,
            &json!([{"email": {"value": "a@x.io"}}, {"email": {"value": "b@x.io"}}]),
        )
        .await;
    let inserted = record_ids(&body);
    let same = &inserted[0];
    // Three changes to one record: the email is emptied (an error), then the name set,
    // then the email fixed. As if applied one after another.
    let (status, body) = app
        .put_json(
            &path,
            &json!([
                {"id": same, "values": {"email": {"value": ""}}},
                {"id": same, "values": {"name": {"value": "Ada"}}},
                {"id": same, "values": {"email": {"value": "ada@x.io"}}}
            ]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["records"].as_array().unwrap().len(),
        1,
        "each record once"
    );
    let records = all_records(&app, &contacts).await;
    let r = records.iter().find(|r| &r["id"] == same).unwrap();
    assert_eq!(r["values"]["email"]["value"], "ada@x.io");
    assert_eq!(r["values"]["name"]["value"], "Ada", "earlier changes are kept");
    assert_eq!(r["valid"], true);
    assert_counts_match(&app, &contacts).await;

    // A thousand copies, the last one an error: counts stay true.
    let mut many: Vec<Value> = (0..999)
        .map(|i| json!({"id": same, "values": {"name": {"value": format!("n{i}")}}}))
        .collect();
    many.push(json!({"id": same, "values": {"email": {"value": ""}}}));
    let (status, body) = app.put_json(&path, &json!(many)).await;
    assert_eq!(status, 200, "{body}");
    let (_, counts) = app.get_json(&format!("/sheets/{contacts}/counts")).await;
    let c = &counts["data"]["counts"];
    assert_eq!(
        (c["total"].as_i64(), c["valid"].as_i64(), c["error"].as_i64()),
        (Some(2), Some(1), Some(1))
    );
    let (_, errors) = app.get_json(&format!("{path}?filter=error")).await;
    assert_eq!(
        record_ids(&errors),
        vec![same.clone()],
        "the Error filter shows the invalid record"
    );
    assert_counts_match(&app, &contacts).await;
}

async fn record_ids_are_never_reused(db: Db) {
    let (app, _, contacts) = setup(db).await;
    let path = format!("/sheets/{contacts}/records");
    let (_, body) = app
        .post_json(
            &path,
            &json!([{"email": {"value": "a@x.io"}}, {"email": {"value": "b@x.io"}}]),
        )
        .await;
    let newest = record_ids(&body)[1].clone();
    let (status, _) = app.delete(&format!("{path}?ids={newest}")).await;
    assert_eq!(status, 200);
    let (_, body) = app
        .post_json(&path, &json!([{"email": {"value": "c@x.io"}}]))
        .await;
    let next = record_ids(&body)[0].clone();
    assert_ne!(next, newest, "a deleted record's id went to a new record");
    // A stale update of the deleted record finds nothing rather than another record.
    let (status, _) = app
        .put_json(
            &path,
            &json!([{"id": newest, "values": {"name": {"value": "x"}}}]),
        )
        .await;
    assert_eq!(status, 404);
}

fn company_cell(records: &[Value], email: &str) -> Value {
    records
        .iter()
        .find(|r| r["values"]["email"]["value"] == email)
        .map(|r| r["values"]["company"].clone())
        .expect("contact")
}

fn unlinked(cell: &Value) -> bool {
    cell["messages"]
        .as_array()
        .is_some_and(|ms| ms.iter().any(|m| m["source"] == "unlinked"))
}

async fn references_follow_their_targets(db: Db) {
    let (app, companies, contacts) = setup(db).await;
    let cpath = format!("/sheets/{companies}/records");
    let path = format!("/sheets/{contacts}/records");
    let (_, body) = app
        .post_json(
            &cpath,
            &json!([{"code": {"value": "ACME"}}, {"code": {"value": "GLOBEX"}}]),
        )
        .await;
    let company_ids = record_ids(&body);
    app.post_json(
        &path,
        &json!([
            {"email": {"value": "a@x.io"}, "company": {"value": "ACME"}},
            {"email": {"value": "g@x.io"}, "company": {"value": "GLOBEX"}},
            {"email": {"value": "i@x.io"}, "company": {"value": "INITECH"}}
        ]),
    )
    .await;
    let records = all_records(&app, &contacts).await;
    assert!(!unlinked(&company_cell(&records, "a@x.io")));
    assert!(unlinked(&company_cell(&records, "i@x.io")));

    // The missing company arrives: its contacts become valid.
    app.post_json(&cpath, &json!([{"code": {"value": "INITECH"}}]))
        .await;
    let records = all_records(&app, &contacts).await;
    assert!(
        !unlinked(&company_cell(&records, "i@x.io")),
        "a new target links its referrers"
    );
    assert_counts_match(&app, &contacts).await;

    // A company deleted: its contacts no longer link.
    let (status, _) = app.delete(&format!("{cpath}?ids={}", company_ids[0])).await;
    assert_eq!(status, 200);
    let records = all_records(&app, &contacts).await;
    assert!(
        unlinked(&company_cell(&records, "a@x.io")),
        "a deleted target unlinks its referrers"
    );
    assert!(!unlinked(&company_cell(&records, "g@x.io")));
    assert_counts_match(&app, &contacts).await;

    // A company's code changed: contacts pointing at the old code no longer link.
    let (status, _) = app
        .put_json(
            &cpath,
            &json!([{"id": company_ids[1], "values": {"code": {"value": "GLOBEX2"}}}]),
        )
        .await;
    assert_eq!(status, 200);
    let records = all_records(&app, &contacts).await;
    assert!(
        unlinked(&company_cell(&records, "g@x.io")),
        "a changed target unlinks its referrers"
    );
    assert_counts_match(&app, &contacts).await;

    // The companies sheet deleted: no contact's company can link any more, and the
    // messages say why.
    let (status, _) = app.delete(&format!("/sheets/{companies}")).await;
    assert_eq!(status, 200);
    let records = all_records(&app, &contacts).await;
    let cell = company_cell(&records, "i@x.io");
    assert!(unlinked(&cell), "{cell}");
    assert!(
        cell["messages"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no longer exists"),
        "{cell}"
    );
    assert_counts_match(&app, &contacts).await;
    // New contacts cannot link to the deleted sheet either.
    let (_, body) = app
        .post_json(
            &path,
            &json!([{"email": {"value": "n@x.io"}, "company": {"value": "INITECH"}}]),
        )
        .await;
    assert_eq!(body["data"]["records"][0]["valid"], false, "{body}");
    assert_counts_match(&app, &contacts).await;
}

on_both!(
    repeated_ids_in_one_update_apply_in_order,
    record_ids_are_never_reused,
    references_follow_their_targets,
);
