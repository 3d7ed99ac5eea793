//! A guest's slow write of any kind, not only a record's, keeps nothing when the guest
//! loses a space while its body arrives (probe 80b D4-D6: a bulk update, a job and a field
//! landed in a space archived meanwhile, or one the guest was removed from while its token,
//! asked for another of its spaces, stayed live).

use crate::access_mid_body::{sent_in_two, session_of, sign_out};
use crate::helpers::*;
use crate::live_access::guest_with_token;
use crate::on_both;
use serde_json::{json, Value};

/// A space with ten records in its contacts sheet: its id and the sheet's.
async fn space_with_records(app: &TestApp) -> (String, String) {
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows: Vec<Value> = (0..10)
        .map(|i| json!({"email": format!("p{i}@x.io"), "age": 1}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    (space["id"].as_str().unwrap().to_string(), sheet)
}

async fn ages(app: &TestApp, sheet: &str) -> Vec<Value> {
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["age"]["value"].clone())
        .collect()
}

fn head(method: &str, path: &str, token: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: wharf\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    )
}

async fn a_guest_losing_a_space_mid_body_keeps_nothing(db: Db) {
    let app = spawn_app(db).await;
    let (space, sheet) = space_with_records(&app).await;
    let (other, other_sheet) = space_with_records(&app).await;
    let (gid, _) = guest_with_token(&app, "g@x.org", "Gus", &[&space, &other]).await;
    // Its token asked for the other space: the removal below does not revoke it.
    let (_, token) = app
        .get_json(&format!("/guests/{gid}/token?spaceId={other}"))
        .await;
    let token = token["data"]["token"].as_str().unwrap().to_string();
    let archive = |id: String| {
        let app = &app;
        async move {
            let (status, body) = app.post_json(&format!("/spaces/{id}/archive"), &json!({})).await;
            assert_eq!(status, 200, "{body}");
        }
    };
    // Removed from the space while a bulk update arrives, its token asked for the other.
    let update = serde_json::to_vec(&json!({"fieldUpdates": {"age": {"value": 444}}})).unwrap();
    let remove = async {
        let (status, body) = app.delete(&format!("/guests/{gid}?spaceId={space}")).await;
        assert_eq!(status, 200, "{body}");
    };
    let path = format!("/v1/sheets/{sheet}/records/bulk-update");
    let (status, said) = sent_in_two(&app, &head("PATCH", &path, &token), &update, remove).await;
    assert_eq!(status, 403, "{said}");
    assert!(
        ages(&app, &sheet).await.iter().all(|a| *a == 1),
        "nothing changed"
    );

    // A job into a space archived while it arrives.
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={other}")).await;
    let workbook = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let job = json!({"type": "workbook", "operation": "delete-records", "source": workbook, "status": "ready",
                     "config": {"sheet": other_sheet}});
    let (status, said) = sent_in_two(
        &app,
        &head("POST", "/v1/jobs", &token),
        &serde_json::to_vec(&job).unwrap(),
        archive(other.clone()),
    )
    .await;
    assert_eq!(status, 403, "{said}");
    let (_, jobs) = app.get_json(&format!("/jobs?spaceId={other}")).await;
    let deletes = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["operation"] == "delete-records")
        .count();
    assert_eq!(deletes, 0, "no job kept: {jobs}");
    let (_, counts) = app.get_json(&format!("/sheets/{other_sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 10, "{counts}");

    // Still reaching its space, a guest's slow bulk update lands.
    let (_, token) = guest_with_token(&app, "h@x.org", "Hal", &[&space]).await;
    let (status, said) = sent_in_two(&app, &head("PATCH", &path, &token), &update, async {}).await;
    assert_eq!(status, 200, "{said}");
    assert!(ages(&app, &sheet).await.iter().all(|a| *a == 444));
}

/// The dashboard's blueprint form from a person signed out while it arrived deploys
/// nothing (probe 80b D7: it deployed; the form is read outside the page's form reader).
async fn a_blueprint_from_a_session_ended_meanwhile_is_not_deployed(db: Db) {
    let app = spawn_app(db).await;
    let (token, csrf) = session_of(&app, "ada@example.com");
    let boundary = "wharfboundary9";
    let blueprint = contacts_blueprint().to_string();
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"blueprint\"\r\n\r\n{blueprint}\r\n--{boundary}--\r\n"
    );
    let head = format!(
        "POST /space-configs HTTP/1.1\r\nHost: wharf\r\nCookie: wharf_session={token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
    );
    let (status, said) = sent_in_two(&app, &head, body.as_bytes(), sign_out(&app, token)).await;
    assert!(matches!(status, 303 | 401 | 403), "{status} {said}");
    let (_, configs) = app.get_json("/space-configs").await;
    assert_eq!(
        configs["data"].as_array().unwrap().len(),
        0,
        "nothing deployed: {configs}"
    );
}

on_both!(
    a_guest_losing_a_space_mid_body_keeps_nothing,
    a_blueprint_from_a_session_ended_meanwhile_is_not_deployed
);
