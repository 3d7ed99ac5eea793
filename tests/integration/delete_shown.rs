//! The grid's "Delete all shown" deletes the records its confirmation counted: one that
//! entered the view afterwards (its count the same, one fixed and another broken) is left.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

/// The hidden fields of the confirmation form, as the browser posts them.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let name = &rest[..rest.find('"').unwrap()];
            let at = rest.find("value=\"").unwrap() + 7;
            (
                name.to_string(),
                rest[at..at + rest[at..].find('"').unwrap()].to_string(),
            )
        })
        .collect()
}

async fn a_record_that_entered_the_view_after_the_confirmation_is_left(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows = json!([
        {"email": "a@x.io", "age": "bad"},
        {"email": "b@x.io", "age": "bad"},
        {"email": "c@x.io", "age": "bad"},
        {"email": "d@x.io", "age": 4},
    ]);
    let (status, inserted) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    assert_eq!(status, 200, "{inserted}");
    let id = |i: usize| inserted["data"]["records"][i]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let confirm = app.page(&format!("/grid/{sheet}/bulk/delete?filter=error")).await;
    assert!(
        confirm.contains("<strong id=\"delete-count\">3</strong>"),
        "{confirm}"
    );
    let mut form = hidden_fields(&confirm);
    // Meanwhile A is fixed and D broken: the Error tab still holds three records.
    let swap = json!([
        {"id": id(0), "values": {"age": {"value": 1}}},
        {"id": id(3), "values": {"age": {"value": "oops"}}},
    ]);
    let (status, body) = app.put_json(&format!("/sheets/{sheet}/records"), &swap).await;
    assert_eq!(status, 200, "{body}");
    form.retain(|(k, _)| k != "csrf_token");
    form.push(("csrf_token".into(), app.csrf("/spaces").await));
    let resp = app
        .client
        .post(app.url(&format!("/grid/{sheet}/bulk/delete")))
        .header("HX-Request", "true")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{}", resp.text().await.unwrap());
    let (_, jobs) = app.get_json("/jobs?pageSize=50").await;
    let job = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["operation"] == "delete-records")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let done = app.wait_job(&job).await;
    assert_eq!(done["status"], "complete", "{done}");
    let message = done["outcome"]["message"].as_str().unwrap();
    assert!(
        message.contains("Deleted 2 record(s)") && message.contains("left 1 changed since"),
        "{message}"
    );
    let (_, left) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let emails: Vec<&str> = left["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["email"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        vec!["a@x.io", "d@x.io"],
        "D was valid, so not shown, when Ada confirmed"
    );
}

on_both!(a_record_that_entered_the_view_after_the_confirmation_is_left);
