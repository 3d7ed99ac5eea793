//! Long values in fields that keep keys (unique, reference, referenced): a cell may hold
//! 1 MiB, and PostgreSQL's index takes at most 2,704 bytes an entry (a 3,000-character
//! unique value was a 500 there).

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn long_values_are_kept_unique_and_referenced(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let companies = app.sheet_id(&space, "companies").await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let code = "C".repeat(3_000);
    let (status, body) = app
        .post_json(&format!("/sheets/{companies}/records"), &json!([{"code": code}]))
        .await;
    assert_eq!(status, 200, "{body}");
    // The same long code again is a duplicate; one character more is not.
    let longer = format!("{code}x");
    let (status, body) = app
        .post_json(
            &format!("/sheets/{companies}/records"),
            &json!([{"code": code}, {"code": longer}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let records = body["data"]["records"].as_array().unwrap();
    assert_eq!(records[0]["values"]["code"]["valid"], false, "{body}");
    assert_eq!(records[1]["values"]["code"]["valid"], true, "{body}");
    // A contact's reference to the long code links to it.
    let (status, body) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "a@x.io", "company": code}, {"email": "b@x.io", "company": "C".repeat(2_999)}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let records = body["data"]["records"].as_array().unwrap();
    assert_eq!(records[0]["values"]["company"]["valid"], true, "{body}");
    assert_eq!(records[1]["values"]["company"]["valid"], false, "{body}");
}

on_both!(long_values_are_kept_unique_and_referenced);
