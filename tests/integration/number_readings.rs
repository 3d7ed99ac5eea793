//! Numbers written with decimal commas and booleans in other languages, as European exports
//! write them: `1,5` is one and a half anywhere; `1,234` reads as the rest of its batch
//! shows (an insert's, an import's), English when nothing says otherwise.

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
    // A German batch: `1,5` says the commas are decimal, so `1,234` is 1.234 and `2.500` 2500.
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
}

on_both!(european_numbers_and_booleans_are_read_as_meant);
