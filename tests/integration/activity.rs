//! The space's Activity in words: names and links instead of topics and ids, a job's
//! events as one line, times as people read them, 50 lines a page.

use crate::helpers::*;
use crate::on_both;
use diesel::prelude::*;
use serde_json::json;
use wharf::db::schema::users;

const CSV: &str = "name,email\nGrace,grace@example.com\nAlan,alan@example.com\nEdsger,\n";

/// Gives a team member a display name.
fn rename_user(app: &TestApp, email: &str, name: &str) {
    let mut conn = app.pool.get().unwrap();
    diesel::update(users::table.filter(users::email.eq(email)))
        .set(users::name.eq(name))
        .execute(&mut conn)
        .unwrap();
}

/// The lines of the Activity tab's `<ol>`, each as its HTML.
fn lines(html: &str) -> Vec<String> {
    let start = html.find("<ol class=\"activity\"").expect("activity list");
    let end = start + html[start..].find("</ol>").expect("end of list");
    html[start..end]
        .split("<li class=\"activity-line\"")
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Uploads a file from the Files tab as the signed-in person; returns its id once extracted.
async fn upload_from_page(app: &TestApp, space: &str, name: &str, body: &str) -> String {
    let csrf = app.csrf(&format!("/spaces/{space}")).await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(body.as_bytes().to_vec()).file_name(name.to_string()),
    );
    let resp = app
        .client
        .post(app.url(&format!("/spaces/{space}/files")))
        .header("X-CSRF-Token", &csrf)
        .header("HX-Request", "true")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (_, files) = app.get_json(&format!("/files?spaceId={space}")).await;
    let file = files["data"][0]["id"].as_str().unwrap().to_string();
    let (_, jobs) = app.get_json(&format!("/jobs?fileId={file}")).await;
    let job = app.wait_job(jobs["data"][0]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "complete", "{job}");
    file
}

async fn an_import_reads_as_one_sentence_with_names_and_links(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    rename_user(&app, "ada@example.com", "Ada Lovelace");
    app.sign_in("ada@example.com", PASSWORD).await;
    let space = app.bare_space("Leads").await;
    let file = upload_from_page(&app, &space, "leads.csv", CSV).await;
    let (_, file_json) = app.get_json(&format!("/files/{file}")).await;
    let workbook = file_json["data"]["workbookId"].as_str().unwrap().to_string();

    let html = app.page(&format!("/spaces/{space}?tab=activity")).await;
    let lines = lines(&html);
    let import = format!(
        "<strong title=\"ada@example.com\">Ada Lovelace</strong> imported \
         <a href=\"/spaces/{space}?tab=files#file-{file}\">leads.csv</a> into \
         <a href=\"/workbooks/{workbook}\">[file] leads.csv</a>: 3 records, 3 valid"
    );
    let found: Vec<&String> = lines.iter().filter(|l| l.contains(&import)).collect();
    assert_eq!(found.len(), 1, "one line tells the import: {lines:#?}");
    assert!(found[0].contains("data-state=\"complete\""), "{}", found[0]);
    // Its steps (created, ready, executing, complete), its upload, its workbook and
    // records are that one line.
    assert_eq!(lines.len(), 2, "the import and the space's creation: {lines:#?}");
    assert!(
        lines[1].contains("An API key</strong> created this space"),
        "{lines:#?}"
    );
    for raw in ["job:", "records:created", "file:", "us_usr_", "us_key_"] {
        assert!(!lines.concat().contains(raw), "no raw {raw}: {lines:#?}");
    }
    // Times as people read them, the exact time on hover.
    assert!(found[0].contains("<time datetime=\""), "{}", found[0]);
    let said = found[0]
        .split(" UTC\">")
        .nth(1)
        .and_then(|t| t.split("</time>").next());
    assert!(
        matches!(said, Some("just now" | "1 minute ago" | "2 minutes ago")),
        "{}",
        found[0]
    );
}

async fn a_listener_job_is_one_line_with_its_label_and_outcome(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Sync").await;
    let action = json!({"label": "Sync", "operation": "sync", "deliverTo": "crm"});
    let body = json!({"name": "Leads", "spaceId": space, "actions": [action],
        "sheets": [{"name": "People", "slug": "people", "fields": [{"key": "name", "type": "string"}]}]});
    let (status, wb) = app.post_json("/workbooks", &body).await;
    assert_eq!(status, 200, "{wb}");
    let wb = wb["data"]["id"].as_str().unwrap().to_string();
    let job = json!({"type": "workbook", "operation": "sync", "source": wb, "trigger": "immediate"});
    let (status, job) = app.post_json("/jobs", &job).await;
    assert_eq!(status, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .post_json(&format!("/jobs/{id}/ack"), &json!({"progress": 10}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post_json(
            &format!("/jobs/{id}/ack"),
            &json!({"progress": 60, "info": "Sending"}),
        )
        .await;
    assert_eq!(status, 200);
    let browser = app.clone_with_new_client();
    app.make_user("ada@example.com", true);
    browser.sign_in("ada@example.com", PASSWORD).await;
    let running = lines(&browser.page(&format!("/spaces/{space}?tab=activity")).await);
    assert!(
        running[0].contains("Sync to crm: running, 60% (Sending) — by <strong>an API key</strong>"),
        "{running:#?}"
    );

    let outcome = json!({"outcome": {"message": "4,980 sent, 20 rejected"}});
    let (status, _) = app.post_json(&format!("/jobs/{id}/complete"), &outcome).await;
    assert_eq!(status, 200);
    let done = lines(&browser.page(&format!("/spaces/{space}?tab=activity")).await);
    let expected = format!(
        "Sync to crm: 4,980 sent, 20 rejected — by <strong>an API key</strong> on <a href=\"/workbooks/{wb}\">Leads</a>"
    );
    let jobs: Vec<&String> = done.iter().filter(|l| l.contains("data-state=")).collect();
    assert_eq!(
        jobs.len(),
        1,
        "created, ready, executing twice, complete: one line: {done:#?}"
    );
    assert!(jobs[0].contains(&expected), "{done:#?}");
    assert!(jobs[0].contains(&format!("href=\"/jobs/{id}\"")), "{}", jobs[0]);
}

async fn names_people_chose_show_as_text(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Guests").await;
    let guest = json!({"environmentId": app.env_id, "email": "m@example.com",
        "name": "<script>alert(1)</script> Mallory", "spaces": [{"id": space}]});
    let (status, created) = app.post_json("/guests", &json!([guest])).await;
    assert_eq!(status, 200, "{created}");
    // A team member whose name has a line break and markup adds a workbook from the page.
    app.make_user("eve@example.com", true);
    rename_user(&app, "eve@example.com", "Eve\n<i>Adams</i>");
    app.sign_in("eve@example.com", PASSWORD).await;
    let csrf = app.csrf(&format!("/spaces/{space}")).await;
    let sheets = r#"[{"name": "A", "fields": [{"key": "x", "type": "string"}]}]"#;
    let resp = app
        .client
        .post(app.url(&format!("/spaces/{space}/workbooks")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "<img src=x onerror=alert(2)>"),
            ("sheets", sheets),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let html = app.page(&format!("/spaces/{space}?tab=activity")).await;
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(!html.contains("<i>Adams"), "{html}");
    let lines = lines(&html);
    assert!(
        lines.iter().any(|l| l.contains(
            "invited <strong title=\"m@example.com\">&#60;script&#62;alert(1)&#60;/script&#62; Mallory (guest)</strong> to this space"
        )),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains(
            "<strong title=\"eve@example.com\">Eve &#60;i&#62;Adams&#60;/i&#62;</strong> added the workbook <a href=\"/workbooks/"
        ) && l.contains("&#60;img src=x onerror=alert(2)&#62;</a>")),
        "{lines:#?}"
    );
}

/// Whether a page shows a time in words with the exact time on hover.
fn shows_times(html: &str) -> bool {
    html.split("<time datetime=\"").skip(1).any(|t| {
        let words = t.split(" UTC\">").nth(1).and_then(|w| w.split("</time>").next());
        t.contains("title=\"") && matches!(words, Some("just now" | "1 minute ago" | "2 minutes ago"))
    })
}

async fn every_page_with_a_time_says_it_in_words(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let space = app.bare_space("Times").await;
    let file = app
        .upload_and_extract(&space, "leads.csv", CSV.as_bytes().to_vec())
        .await;
    let (_, jobs) = app
        .get_json(&format!("/jobs?fileId={}", file["id"].as_str().unwrap()))
        .await;
    let job = jobs["data"][0]["id"].as_str().unwrap().to_string();
    let guest = json!({"environmentId": app.env_id, "email": "g@example.com", "name": "Grace",
        "spaces": [{"id": space}]});
    let (status, guests) = app.post_json("/guests", &json!([guest])).await;
    assert_eq!(status, 200, "{guests}");
    let invite = json!([{"guestId": guests["data"][0]["id"], "spaceId": space}]);
    assert_eq!(app.post_json("/invitations", &invite).await.0, 200);
    for page in [
        "/people".to_string(),
        "/spaces".to_string(),
        format!("/spaces/{space}/files"),
        format!("/spaces/{space}?tab=guests"),
        format!("/jobs/{job}"),
        "/outbox".to_string(),
    ] {
        let html = app.page(&page).await;
        assert!(shows_times(&html), "{page}: {html}");
    }
}

async fn record_changes_fold_into_one_line_per_run(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Runs").await;
    let body = json!({"name": "W", "spaceId": space,
        "sheets": [{"name": "People", "slug": "people", "fields": [{"key": "name", "type": "string"}]}]});
    let (_, wb) = app.post_json("/workbooks", &body).await;
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/sheets/{sheet}/records");
    let (_, first) = app.post_json(&path, &json!([{"name": "A"}, {"name": "B"}])).await;
    app.post_json(&path, &json!([{"name": "C"}, {"name": "D"}, {"name": "E"}]))
        .await;
    let a = first["data"]["records"][0]["id"].as_str().unwrap().to_string();
    for name in ["A1", "A2", "A3"] {
        let (status, _) = app
            .put_json(&path, &json!([{"id": a, "values": {"name": {"value": name}}}]))
            .await;
        assert_eq!(status, 200);
    }
    let (status, _) = app.delete(&format!("{path}?ids={a}")).await;
    assert_eq!(status, 200);
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let lines = lines(&app.page(&format!("/spaces/{space}?tab=activity")).await);
    let wb = wb["data"]["id"].as_str().unwrap();
    let people = format!("<a href=\"/workbooks/{wb}?sheet={sheet}\">People</a>");
    let said: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split("An API key</strong> ").nth(1))
        .map(|l| l.split("</span>").next().unwrap())
        .collect();
    assert_eq!(
        said,
        vec![
            format!("deleted 1 record from {people}"),
            format!("made 3 record changes in {people}"),
            format!("added 5 records to {people}"),
            format!("added the workbook <a href=\"/workbooks/{wb}\">W</a>"),
            "created this space".to_string(),
        ],
        "{lines:#?}"
    );
}

/// A job made but never run (a mapping left on its planning screen) writes nothing: the
/// edits its author makes afterwards are lines of their own (they were hidden for good).
async fn a_job_that_never_ran_hides_no_edits(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Planned").await;
    let body = json!({"name": "W", "spaceId": space,
        "sheets": [{"name": "People", "slug": "people", "fields": [{"key": "name", "type": "string"}]}]});
    let (_, wb) = app.post_json("/workbooks", &body).await;
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let wb = wb["data"]["id"].as_str().unwrap().to_string();
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "planned-import", "source": wb, "destination": wb}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let (status, _) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"name": "A"}, {"name": "B"}]),
        )
        .await;
    assert_eq!(status, 200);
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let lines = lines(&app.page(&format!("/spaces/{space}?tab=activity")).await);
    assert!(
        lines.iter().any(|l| l.contains("added 2 records to")),
        "{lines:#?}"
    );
}

/// A delete-records job is one line: the deletes it made are its line's, not a second
/// line saying the same (a guest's "Delete all shown" was listed twice).
async fn a_delete_job_is_one_line(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Deletes").await;
    let body = json!({"name": "W", "spaceId": space,
        "sheets": [{"name": "People", "slug": "people", "fields": [{"key": "name", "type": "string"}]}]});
    let (_, wb) = app.post_json("/workbooks", &body).await;
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let wb = wb["data"]["id"].as_str().unwrap().to_string();
    app.post_json(
        &format!("/sheets/{sheet}/records"),
        &json!([{"name": "A"}, {"name": "B"}, {"name": "C"}]),
    )
    .await;
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "delete-records", "source": wb,
                    "trigger": "immediate", "config": {"sheet": sheet, "q": "name eq \"B\""}}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let done = app.wait_job(job["data"]["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "complete", "{done}");
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let lines = lines(&app.page(&format!("/spaces/{space}?tab=activity")).await);
    let deleting: Vec<&String> = lines
        .iter()
        .filter(|l| l.to_lowercase().contains("delete"))
        .collect();
    assert_eq!(deleting.len(), 1, "{lines:#?}");
}

async fn the_activity_pages_fifty_lines_at_a_time(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Busy").await;
    for i in 0..120 {
        let (status, _) = app
            .patch_json(&format!("/spaces/{space}"), &json!({"name": format!("Busy {i}")}))
            .await;
        assert_eq!(status, 200);
    }
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let mut path = format!("/spaces/{space}?tab=activity");
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    for _ in 0..4 {
        let html = app.page(&path).await;
        let page = lines(&html);
        sizes.push(page.len());
        seen.extend(page);
        let Some(at) = html.find(">Older</a>") else {
            break;
        };
        let href_start = html[..at].rfind("href=\"").unwrap() + 6;
        path = html[href_start..at - 1].replace("&amp;", "&");
    }
    assert_eq!(sizes, vec![50, 50, 21], "121 lines, 50 a page");
    let changed = seen.iter().filter(|l| l.contains("changed this space")).count();
    assert_eq!(changed, 120, "every change once, none twice");
    assert!(seen.last().unwrap().contains("created this space"));
}

/// Probe 72b D8: documents and secrets read as their raw topics (": document:created").
async fn documents_and_secrets_read_as_words(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Papers").await;
    let (status, doc) = app
        .post_json(
            &format!("/spaces/{space}/documents"),
            &json!({"title": "Welcome", "body": "x"}),
        )
        .await;
    assert_eq!(status, 200, "{doc}");
    let (status, body) = app
        .post_json(
            "/secrets",
            &json!({"name": "CRM_TOKEN", "value": "t", "spaceId": space}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let lines = lines(&app.page(&format!("/spaces/{space}?tab=activity")).await);
    let all = lines.join("\n");
    assert!(!all.contains("document:") && !all.contains("secret:"), "{all}");
    assert!(all.contains("An API key</strong> added a document"), "{all}");
    assert!(all.contains("added the secret <code>CRM_TOKEN</code>"), "{all}");
}

on_both!(
    documents_and_secrets_read_as_words,
    a_delete_job_is_one_line,
    a_job_that_never_ran_hides_no_edits,
    an_import_reads_as_one_sentence_with_names_and_links,
    a_listener_job_is_one_line_with_its_label_and_outcome,
    names_people_chose_show_as_text,
    the_activity_pages_fifty_lines_at_a_time,
    every_page_with_a_time_says_it_in_words,
    record_changes_fold_into_one_line_per_run,
);
