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

async fn a_view_whose_records_changed_is_not_deleted(db: Db) {
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
    let form = hidden_fields(&confirm);
    // Meanwhile A is fixed and D broken: the Error tab still holds three records.
    let swap = json!([
        {"id": id(0), "values": {"age": {"value": 1}}},
        {"id": id(3), "values": {"age": {"value": "oops"}}},
    ]);
    let (status, body) = app.put_json(&format!("/sheets/{sheet}/records"), &swap).await;
    assert_eq!(status, 200, "{body}");
    let post = |form: Vec<(String, String)>| async {
        let mut form = form;
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
    };
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
    let (_, left) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let emails: Vec<&str> = left["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["email"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        vec!["a@x.io", "b@x.io"],
        "the error records C, D and E went"
    );
    // The run kept the ids it confirmed, for a resume after a crash.
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

/// A delete cut off by a crash after its first batch, resumed: it deletes only the counted
/// records the view still shows. One broken while the server was down (D) was never
/// counted and stays, and the outcome says so.
async fn a_resumed_delete_deletes_only_what_was_counted(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows = json!([
        {"email": "a@x.io", "age": "bad"},
        {"email": "b@x.io", "age": "bad"},
        {"email": "c@x.io", "age": "bad"},
        {"email": "d@x.io", "age": 4},
    ]);
    let (_, inserted) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    let id = |i: usize| inserted["data"]["records"][i]["id"].as_str().unwrap().to_string();
    let number = |i: usize| wharf::ids::RecordId::parse(&id(i)).unwrap().0;
    let (_, workbook) = app.get_json(&format!("/sheets/{sheet}")).await;
    let workbook = workbook["data"]["workbookId"].as_str().unwrap().to_string();
    let job_body = |selection: &str| {
        json!({"type": "workbook", "operation": "delete-records", "source": workbook,
               "trigger": "immediate",
               "config": {"sheet": sheet, "filter": "error", "selection": selection}})
    };
    // A digest must look like one: a made-up one is refused before any job.
    let (status, said) = app.post_json("/jobs", &job_body("deadbeef")).await;
    assert_eq!(status, 422, "{said}");
    assert!(said.to_string().contains("32 hexadecimal"), "{said}");
    let digest = wharf::jobs::delete::selection_digest(&[number(0), number(1), number(2)]);
    let (status, made) = app.post_json("/jobs", &job_body(&digest)).await;
    assert_eq!(status, 200, "{made}");
    let job = made["data"]["id"].as_str().unwrap().to_string();

    // The first run confirmed A, B and C, deleted A, and the server was killed.
    let (status, _) = app
        .delete(&format!("/sheets/{sheet}/records?ids={}", id(0)))
        .await;
    assert_eq!(status, 200);
    {
        use diesel::prelude::*;
        use wharf::db::schema::jobs;
        let checkpoint =
            wharf::jobs::delete::confirmed_checkpoint(Some(number(3)), &[number(0), number(1), number(2)]);
        let mut conn = app.pool.get().unwrap();
        diesel::update(jobs::table.find(&job))
            .set((
                jobs::status.eq("ready"),
                jobs::crashes.eq(1),
                jobs::progress.eq(33),
                jobs::checkpoint.eq(Some(checkpoint)),
            ))
            .execute(&mut *conn)
            .unwrap();
    }
    // While the server was down, D was broken.
    let broken = json!([{"id": id(3), "values": {"age": {"value": "oops"}}}]);
    let (status, body) = app.put_json(&format!("/sheets/{sheet}/records"), &broken).await;
    assert_eq!(status, 200, "{body}");

    let mut working = app.settings.clone();
    working.job_workers = 2;
    let sibling = wharf::app::Application::build(working).expect("a process with workers");
    tokio::spawn(sibling.run_until_stopped());
    let done = app.wait_job(&job).await;
    assert_eq!(done["status"], "complete", "{done}");
    let message = done["outcome"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Deleted 2 more record(s)"), "{message}");
    assert!(message.contains("1 record(s) the view came to show"), "{message}");
    let (_, left) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let emails: Vec<&str> = left["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["email"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(emails, vec!["d@x.io"], "D was never counted: {left}");
}

on_both!(
    a_view_whose_records_changed_is_not_deleted,
    a_resumed_delete_deletes_only_what_was_counted
);
