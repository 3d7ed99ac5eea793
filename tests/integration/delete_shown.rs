//! The grid's "Delete all shown" deletes the records its confirmation counted or none: a
//! view whose records changed meanwhile with the same count (one fixed and another broken)
//! is refused.

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

/// The emails of the records the sheet holds, in id order.
async fn emails_left(app: &TestApp, sheet: &str) -> Vec<String> {
    let (_, left) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    left["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["email"]["value"].as_str().unwrap().to_string())
        .collect()
}

/// The confirmation form posted, as the browser does: (status, body).
async fn post_delete(app: &TestApp, sheet: &str, mut form: Vec<(String, String)>) -> (u16, String) {
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
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// A contacts sheet whose records A, B and C are errors and D is valid, and Ada, an admin,
/// signed in: the sheet and the four record ids.
async fn three_errors_and_ada(app: &TestApp) -> (String, Vec<String>) {
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
    let ids = (0..4)
        .map(|i| inserted["data"]["records"][i]["id"].as_str().unwrap().to_string())
        .collect();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    (sheet, ids)
}

async fn a_view_whose_records_changed_is_not_deleted(db: Db) {
    let app = spawn_app(db).await;
    let (sheet, ids) = three_errors_and_ada(&app).await;
    let id = |i: usize| ids[i].clone();
    let confirm = app.page(&format!("/grid/{sheet}/bulk/delete?filter=error")).await;
    assert!(
        confirm.contains("<strong id=\"delete-count\">3</strong>"),
        "{confirm}"
    );
    let form = hidden_fields(&confirm);
    // Meanwhile A is fixed and D broken: the Error tab still holds three records.
    let swap = json!([
        {"id": id(0), "values": {"age": {"value": 1}}},
        {"id": id(3), "values": {"age": {"value": "oops"}}},
    ]);
    let (status, body) = app.put_json(&format!("/sheets/{sheet}/records"), &swap).await;
    assert_eq!(status, 200, "{body}");
    let post = |form: Vec<(String, String)>| post_delete(&app, &sheet, form);
    let (status, said) = post(form.clone()).await;
    assert_eq!(status, 409, "{said}");
    assert!(
        said.contains("other records than the ones you confirmed"),
        "{said}"
    );
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 4, "nothing deleted: {counts}");

    // A listener's message alone changes the view too: E is valid, then made an error.
    let (_, e) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "e@x.io", "age": 9}]),
        )
        .await;
    let e = e["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let confirm = app.page(&format!("/grid/{sheet}/bulk/delete?filter=error")).await;
    let form = hidden_fields(&confirm);
    let fixed = json!([{"id": id(1), "values": {"age": {"value": 2}}}]);
    app.put_json(&format!("/sheets/{sheet}/records"), &fixed).await;
    let flagged = json!([{"id": e, "values": {"email": {"value": "e@x.io", "messages": [
        {"message": "unknown to the CRM", "type": "error", "source": "custom-logic"}]}}}]);
    let (status, body) = app.put_json(&format!("/sheets/{sheet}/records"), &flagged).await;
    assert_eq!(status, 200, "{body}");
    let (status, said) = post(form).await;
    assert_eq!(status, 409, "{said}");

    // Looked at again, the view's records are deleted, and only they.
    let confirm = app.page(&format!("/grid/{sheet}/bulk/delete?filter=error")).await;
    assert!(
        confirm.contains("<strong id=\"delete-count\">3</strong>"),
        "{confirm}"
    );
    let (status, said) = post(hidden_fields(&confirm)).await;
    assert_eq!(status, 200, "{said}");
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
    let emails = emails_left(&app, &sheet).await;
    assert_eq!(
        emails,
        vec!["a@x.io", "b@x.io"],
        "the error records C, D and E went"
    );
    // The job keeps the ids its confirmation counted, for a resume after a crash.
    let mut conn = app.pool.get().unwrap();
    let kept = checkpoint_of(&mut conn, &job);
    let number = |id: &str| wharf::ids::RecordId::parse(id).unwrap().0;
    let counted = [number(&id(2)), number(&id(3)), number(&e)];
    assert_eq!(
        kept["confirmed"],
        wharf::jobs::delete::IdRanges::of(&counted).to_string(),
        "{kept}"
    );
}

fn checkpoint_of(conn: &mut wharf::db::AnyConnection, job: &str) -> serde_json::Value {
    use diesel::prelude::*;
    use wharf::db::schema::jobs;
    let text: Option<String> = jobs::table
        .find(job)
        .select(jobs::checkpoint)
        .first(conn)
        .unwrap();
    serde_json::from_str(&text.unwrap()).unwrap()
}

/// Between the click and the job's run, and while the server was down after a crash, the
/// view changed: the delete deletes only the counted records the view still shows. One
/// fixed meanwhile (B) stays, and so does one broken (D), never counted; the outcome says
/// so. A job made through the API with a digest that no longer matches deletes nothing.
async fn a_delete_deletes_only_counted_records_still_shown(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let (sheet, ids) = three_errors_and_ada(&app).await;
    let id = |i: usize| ids[i].clone();
    let number = |i: usize| wharf::ids::RecordId::parse(&id(i)).unwrap().0;
    let confirm = app.page(&format!("/grid/{sheet}/bulk/delete?filter=error")).await;
    let (status, said) = post_delete(&app, &sheet, hidden_fields(&confirm)).await;
    assert_eq!(status, 200, "{said}");
    let (_, jobs) = app.get_json("/jobs?pageSize=50").await;
    let job = jobs["data"][0]["id"].as_str().unwrap().to_string();

    // A first run deleted A, and the server was killed.
    let (status, _) = app
        .delete(&format!("/sheets/{sheet}/records?ids={}", id(0)))
        .await;
    assert_eq!(status, 200);
    {
        use diesel::prelude::*;
        use wharf::db::schema::jobs;
        let mut conn = app.pool.get().unwrap();
        diesel::update(jobs::table.find(&job))
            .set((jobs::crashes.eq(1), jobs::progress.eq(33)))
            .execute(&mut *conn)
            .unwrap();
    }
    // While it was down, B was fixed and D broken: the Error tab still holds two records.
    let swap = json!([
        {"id": id(1), "values": {"age": {"value": 2}}},
        {"id": id(3), "values": {"age": {"value": "oops"}}},
    ]);
    let (status, body) = app.put_json(&format!("/sheets/{sheet}/records"), &swap).await;
    assert_eq!(status, 200, "{body}");
    let (_, workbook) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = workbook["data"]["workbookId"].as_str().unwrap().to_string();
    let api_job = |selection: &str| {
        json!({"type": "workbook", "operation": "delete-records", "source": workbook,
               "trigger": "immediate",
               "config": {"sheet": sheet, "filter": "error", "selection": selection}})
    };
    // A digest must look like one: a made-up one is refused before any job.
    let (status, said) = app.post_json("/jobs", &api_job("deadbeef")).await;
    assert_eq!(status, 422, "{said}");
    assert!(said.to_string().contains("32 hexadecimal"), "{said}");
    let stale = wharf::jobs::delete::selection_digest(&[number(1), number(2)]);
    let (status, made) = app.post_json("/jobs", &api_job(&stale)).await;
    assert_eq!(status, 200, "{made}");
    let api_job = made["data"]["id"].as_str().unwrap().to_string();

    app.start_workers();
    let done = app.wait_job(&job).await;
    assert_eq!(done["status"], "complete", "{done}");
    let message = done["outcome"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Deleted 1 more record"), "{message}");
    assert!(
        message.contains("1 record the view came to show after the delete was confirmed was kept"),
        "{message}"
    );
    let failed = app.wait_job(&api_job).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let emails = emails_left(&app, &sheet).await;
    assert_eq!(emails, vec!["b@x.io", "d@x.io"], "only C went");
}

on_both!(
    a_view_whose_records_changed_is_not_deleted,
    a_delete_deletes_only_counted_records_still_shown
);
