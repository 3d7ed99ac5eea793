//! Bulk changes bigger than one transaction run as jobs (all or nothing: a cancel takes
//! back what was changed), and a bulk change from the grid is one history entry that one
//! click undoes, keeping what others changed since.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

/// A companies sheet of `n` records named `name`, written without hooks.
pub(crate) async fn companies(app: &TestApp, n: usize, name: &str) -> String {
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    for start in (0..n).step_by(5_000) {
        let rows: Vec<Value> = (start..(start + 5_000).min(n))
            .map(|i| json!({"code": format!("C{i}"), "name": name}))
            .collect();
        let (status, body) = send(
            app.api(reqwest::Method::POST, &format!("/sheets/{sheet}/records"))
                .header("x-disable-hooks", "true")
                .json(&rows),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    sheet
}

/// The distinct values of a field with their counts.
pub(crate) async fn values(app: &TestApp, sheet: &str, field: &str) -> Vec<(Value, i64)> {
    let (status, cells) = app
        .get_json(&format!(
            "/sheets/{sheet}/cells?fieldKey={field}&distinct=true&includeCounts=true"
        ))
        .await;
    assert_eq!(status, 200, "{cells}");
    cells["data"][field]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["value"].clone(), c["counts"]["total"].as_i64().unwrap()))
        .collect()
}

/// A `bulk-change` job on `sheet` with `config` (beside the sheet), asked for through
/// `POST /v1/jobs`, executed, and waited for; the job as it ended.
pub(crate) async fn run_bulk_job(app: &TestApp, sheet: &str, config: Value) -> Value {
    let (_, sheet_json) = app.get_json(&format!("/sheets/{sheet}")).await;
    let wb = sheet_json["data"]["workbookId"].as_str().unwrap().to_string();
    let mut config = config;
    config["sheet"] = json!(sheet);
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "bulk-change", "source": wb, "config": config}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap().to_string();
    let (status, body) = app.post_json(&format!("/jobs/{id}/execute"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    app.wait_job(&id).await
}

async fn a_selection_over_the_limit_runs_as_a_job(db: Db) {
    let app = spawn_app(db).await;
    let sheet = companies(&app, 12_000, "N/A").await;
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace"),
            &json!({"find": "N/A", "replace": "Acme", "fieldKey": "name"}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let job_id = body["data"]["jobId"].as_str().expect("a job").to_string();
    assert_eq!(body["data"]["versionId"], job_id.as_str());
    let job = app.wait_job(&job_id).await;
    assert_eq!(job["status"], "complete", "{job}");
    assert!(
        job["outcome"]["message"].as_str().unwrap().contains("12,000"),
        "{job}"
    );
    assert_eq!(values(&app, &sheet, "name").await, vec![(json!("Acme"), 12_000)]);
    // One commit for listener code, holding every record.
    let (_, events) = app.get_json("/events?topic=commit:created&pageSize=100").await;
    let commits: Vec<&Value> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["context"]["sheetId"] == sheet.as_str())
        .collect();
    assert_eq!(commits.len(), 1, "{events}");
    let url = commits[0]["dataUrl"].as_str().unwrap();
    let (status, page) = app.get_json(url.trim_start_matches("v1")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"]["records"].as_array().unwrap().len(), 12_000);
    // The 202's versionId reads as that commit (probe 57c: "not a commit id"), and the
    // job's outcome names it.
    assert_eq!(
        job["outcome"]["commitId"], commits[0]["context"]["commitId"],
        "{job}"
    );
    let (status, page) = app
        .get_json(&format!(
            "/sheets/{sheet}/records?versionId={job_id}&pageSize=5&includeCounts=true"
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["data"]["counts"]["total"], 12_000,
        "{}",
        page["data"]["counts"]
    );
}

pub(crate) async fn signed_in_contacts(db: Db) -> (TestApp, String) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let rows: Vec<Value> = (0..20)
        .map(|i| {
            json!({"email": format!("p{i}@x.io"), "name": if i % 2 == 0 { "N/A" } else { "Ann Lee" },
                   "tier": if i < 5 { "premium" } else { "silver" }, "age": i})
        })
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &Value::Array(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    (app, sheet)
}

pub(crate) async fn grid_post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let token = app.csrf("/spaces").await;
    let mut fields = vec![("csrf_token", token.as_str())];
    fields.extend_from_slice(form);
    let resp = app
        .client
        .post(app.url(path))
        .header("HX-Request", "true")
        .form(&fields)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

pub(crate) fn undo_path(toast: &str) -> String {
    let start = toast.find("hx-post=\"/grid/").expect("an Undo button") + 9;
    toast[start..start + toast[start..].find('"').unwrap()].to_string()
}

async fn names(app: &TestApp, sheet: &str) -> Vec<String> {
    let (_, page) = app
        .get_json(&format!("/sheets/{sheet}/records?pageSize=100"))
        .await;
    page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["name"]["value"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Replace from a column's menu, someone edits one replaced cell, one click undoes the
/// rest and says what it kept.
async fn a_grid_bulk_change_is_undone_in_one_click(db: Db) {
    let (app, sheet) = signed_in_contacts(db).await;
    let (status, toast) = grid_post(
        &app,
        &format!("/grid/{sheet}/bulk"),
        &[
            ("op", "replace"),
            ("column", "name"),
            ("find", "N/A"),
            ("replace", "Unknown"),
            ("whole", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{toast}");
    assert!(toast.contains("Replaced 10 values."), "{toast}");
    let undo = undo_path(&toast);
    let after = names(&app, &sheet).await;
    assert_eq!(after.iter().filter(|n| *n == "Unknown").count(), 10);
    // Someone else changes one of the replaced cells.
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records?pageSize=1")).await;
    let first = page["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": first, "values": {"name": {"value": "Grace"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, toast) = grid_post(&app, &undo, &[]).await;
    assert_eq!(status, 200, "{toast}");
    assert!(toast.contains("9 values put back"), "{toast}");
    assert!(toast.contains("1 changed by someone since"), "{toast}");
    let back = names(&app, &sheet).await;
    assert_eq!(back.iter().filter(|n| *n == "N/A").count(), 9);
    assert_eq!(back[0], "Grace");
    assert_eq!(back.iter().filter(|n| *n == "Unknown").count(), 0);
    // Twice: refused, nothing changes.
    let (status, body) = grid_post(&app, &undo, &[]).await;
    assert_eq!(status, 409, "{body}");
    // Another person cannot undo it.
    let (status, toast) = grid_post(
        &app,
        &format!("/grid/{sheet}/bulk"),
        &[("op", "clear"), ("column", "tier"), ("q", "filter: age lt 3")],
    )
    .await;
    assert!(toast.contains("Cleared 3 values."), "{status} {toast}");
    // An empty Set does not go around Clear's question (probe 76a D3).
    for blank in ["", " \t\u{a0}"] {
        let (status, said) = grid_post(
            &app,
            &format!("/grid/{sheet}/bulk"),
            &[("op", "set"), ("column", "tier"), ("value", blank)],
        )
        .await;
        assert_eq!(status, 400, "{said}");
        assert!(said.contains("type the value to set"), "{said}");
    }
    let other = app.clone_with_new_client();
    app.make_user("bob@example.com", true);
    other.sign_in("bob@example.com", PASSWORD).await;
    let token = other.csrf("/spaces").await;
    let resp = other
        .client
        .post(format!("{}{}", other.base, undo_path(&toast)))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
}

/// An undo job through the API undoes its caller's own bulk change, or any with a secret
/// key (the team's own: a guest removed from its space could not undo its change).
async fn an_undo_job_takes_ones_own_change_or_any_by_key(db: Db) {
    let (app, sheet) = signed_in_contacts(db).await;
    let (_, toast) = grid_post(
        &app,
        &format!("/grid/{sheet}/bulk"),
        &[("op", "set"), ("column", "name"), ("value", "Same")],
    )
    .await;
    let bulk = undo_path(&toast).split('/').nth(4).unwrap().to_string();
    let done = run_bulk_job(&app, &sheet, json!({"undo": bulk})).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert!(names(&app, &sheet).await.iter().all(|n| n != "Same"), "undone");
}

/// The column menu lists values with counts; "Delete all shown" counts, then deletes.
async fn grid_values_and_delete_shown(db: Db) {
    let (app, sheet) = signed_in_contacts(db).await;
    let html = app.page(&format!("/grid/{sheet}/values?column=tier")).await;
    let silver = html.find("silver").expect("silver listed");
    // "premium" is stored as the option it stands for.
    let gold = html.find("gold").unwrap_or_else(|| panic!("gold listed: {html}"));
    assert!(silver < gold, "most held first: {html}");
    assert!(
        html.contains("<span class=\"count\" title=\"records\">15</span>"),
        "{html}"
    );
    // Each value links to its filter, the key quoted (a key may be `or`, or hold spaces).
    let view = "q=filter%3A%20%22tier%22%20eq%20%22gold%22";
    assert!(html.contains(view), "{html}");
    // Within a view, a value narrows it: the status filter and the `filter:` query stay.
    let within = app
        .page(&format!(
            "/grid/{sheet}/values?column=tier&filter=valid&q=filter%3A%20age%20gte%203"
        ))
        .await;
    assert!(
        within.contains(
            "q=filter%3A%20%28age%20gte%203%29%20and%20%22tier%22%20eq%20%22gold%22&amp;filter=valid"
        ),
        "{within}"
    );
    let confirm = app.page(&format!("/grid/{sheet}/bulk/delete?{view}")).await;
    assert!(
        confirm.contains("<strong id=\"delete-count\">5</strong>"),
        "{confirm}"
    );
    let field = |name: &str| {
        let at = confirm.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
        confirm[at..at + confirm[at..].find('"').unwrap()].to_string()
    };
    let (expected, upto) = (field("expected"), field("upto"));
    assert_eq!(expected, "5");
    // Someone turns a silver record gold while the confirmation is open: the delete is
    // refused, nothing is deleted, and the person looks again.
    let (_, page) = app
        .get_json(&format!(
            "/sheets/{sheet}/records?q=tier%20eq%20silver&pageSize=1"
        ))
        .await;
    let turned = page["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let tier_of = async |tier: &str| {
        let body = json!([{"id": turned, "values": {"tier": {"value": tier}}}]);
        let (status, body) = app.put_json(&format!("/sheets/{sheet}/records"), &body).await;
        assert_eq!(status, 200, "{body}");
    };
    tier_of("gold").await;
    let confirmed = [
        ("q", "filter: tier eq gold"),
        ("expected", expected.as_str()),
        ("upto", upto.as_str()),
    ];
    let (status, said) = grid_post(&app, &format!("/grid/{sheet}/bulk/delete"), &confirmed).await;
    assert_eq!(status, 409, "{said}");
    assert!(
        said.contains("The view now shows 6 records, not the 5 you confirmed"),
        "{said}"
    );
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 20, "nothing deleted: {counts}");
    // It goes back; a record added since is no change of what was confirmed (probe 78d D1:
    // a sheet fed by an integration refused every delete): the five are deleted, and only
    // they.
    tier_of("silver").await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "late@x.io", "tier": "gold"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, toast) = grid_post(&app, &format!("/grid/{sheet}/bulk/delete"), &confirmed).await;
    assert_eq!(status, 200, "{toast}");
    let (_, jobs) = app.get_json("/jobs?pageSize=50").await;
    let job = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["operation"] == "delete-records")
        .expect("a delete job")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let done = app.wait_job(&job).await;
    assert_eq!(done["status"], "complete", "{done}");
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 16, "{counts}");
    // A malformed filter is told, and no job is made.
    let (status, body) = grid_post(
        &app,
        &format!("/grid/{sheet}/bulk/delete"),
        &[("q", "filter: tier eq (")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

/// A change of two fields says how many values it changed, and in how many records.
async fn a_job_counts_values_and_records(db: Db) {
    let app = spawn_app(db).await;
    let sheet = companies(&app, 3, "N/A").await;
    let changes = json!([
        {"field": "name", "find": "N/A", "replace": "Acme"},
        {"field": "code", "find": "C", "replace": "K"},
    ]);
    let done = run_bulk_job(&app, &sheet, json!({"changes": changes})).await;
    assert_eq!(done["status"], "complete", "{done}");
    let message = done["outcome"]["message"].as_str().unwrap();
    assert!(message.starts_with("Replaced 6 values in 3 records"), "{message}");
    assert_eq!(values(&app, &sheet, "name").await, vec![(json!("Acme"), 3)]);
}

/// An undo is checked when it is asked for: a guest's undo of the team's change is refused
/// (403), as is an undo of a change the sheet never had, before any job is made.
async fn an_undo_of_another_s_change_is_refused_at_once(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap().to_string();
    let sheet = app.sheet_id(&space, "companies").await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"code": "C1", "name": "Old"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update"),
            &json!({"fieldUpdates": {"name": {"value": "Team"}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let bulk = body["data"]["bulkChangeId"].as_str().unwrap().to_string();
    let (_, sheet_json) = app.get_json(&format!("/sheets/{sheet}")).await;
    let wb = sheet_json["data"]["workbookId"].as_str().unwrap().to_string();
    let undo = |id: &str| {
        json!({"type": "workbook", "operation": "bulk-change", "source": wb,
                                 "config": {"sheet": sheet, "undo": id}})
    };
    let (_, guest) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id.as_str(), "email": "gina@example.com",
                     "name": "Gina", "spaces": [{"id": space_id}]}]),
        )
        .await;
    let gid = guest["data"][0]["id"].as_str().unwrap();
    let (_, token) = app.get_json(&format!("/guests/{gid}/token")).await;
    let token = token["data"]["token"].as_str().unwrap().to_string();
    let jobs_before = app.get_json("/jobs").await.1["data"].as_array().unwrap().len();
    let resp = app
        .client
        .post(app.url("/v1/jobs"))
        .bearer_auth(&token)
        .json(&undo(&bulk))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let said = resp.text().await.unwrap();
    assert!(said.contains("only the person who made a bulk change"), "{said}");
    let (status, body) = app.post_json("/jobs", &undo("us_bk_nosuchch")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("has no bulk change"), "{body}");
    let jobs_after = app.get_json("/jobs").await.1["data"].as_array().unwrap().len();
    assert_eq!(jobs_after, jobs_before, "no job was made");
    // The team's key may undo it, once.
    let done = run_bulk_job(&app, &sheet, json!({"undo": bulk})).await;
    assert_eq!(done["status"], "complete", "{done}");
    let (status, body) = app.post_json("/jobs", &undo(&bulk)).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("already undone"), "{body}");
}

/// A bulk-change job's changes are read as `find-replace` and `bulk-update` read theirs: a
/// number to find or put is its text, `{"value": ...}` is a cell, and what those refuse (or
/// a change that changes nothing) is refused before any job is made.
async fn a_job_reads_its_changes_as_the_api_does(db: Db) {
    let app = spawn_app(db).await;
    let sheet = companies(&app, 3, "N/A").await;
    let (_, sheet_json) = app.get_json(&format!("/sheets/{sheet}")).await;
    let wb = sheet_json["data"]["workbookId"].as_str().unwrap().to_string();
    let job = |changes: Value| {
        json!({"type": "workbook", "operation": "bulk-change", "source": wb,
                                      "config": {"sheet": sheet, "changes": changes}})
    };
    let run = async |changes: Value| {
        let done = run_bulk_job(&app, &sheet, json!({"changes": changes})).await;
        assert_eq!(done["status"], "complete", "{done}");
    };
    run(json!([{"field": "name", "find": "N/A", "replace": 3}])).await;
    assert_eq!(values(&app, &sheet, "name").await, vec![(json!("3"), 3)]);
    run(json!([{"field": "name", "find": 3, "replace": "Acme", "whole": true}])).await;
    assert_eq!(values(&app, &sheet, "name").await, vec![(json!("Acme"), 3)]);
    run(json!([{"field": "name", "set": {"value": "Cell"}}])).await;
    assert_eq!(values(&app, &sheet, "name").await, vec![(json!("Cell"), 3)]);
    for (changes, says) in [
        (
            json!([{"field": "name", "set": {"nested": [1]}}]),
            "not another object",
        ),
        (json!([]), "name at least one change"),
        (json!([{"field": "name"}]), "sets a value (set) or replaces text"),
        (json!([{"field": "name", "find": ""}]), "say what to find"),
        (
            json!([{"field": "name", "find": "a", "whole": "yes"}]),
            "whole is true or false",
        ),
        (
            json!([{"field": "name", "find": ["a"]}]),
            "find is text, a number or true/false",
        ),
        (
            json!([{"field": "name", "find": "a", "Replace": "b"}]),
            "no member `Replace`",
        ),
        (json!([{"field": "name", "find": "a", "set": "b"}]), "not both"),
    ] {
        let (status, body) = app.post_json("/jobs", &job(changes)).await;
        assert_eq!(status, 422, "{body}");
        assert!(body.to_string().contains(says), "{says}: {body}");
    }
    assert_eq!(values(&app, &sheet, "name").await, vec![(json!("Cell"), 3)]);
}

on_both!(
    a_selection_over_the_limit_runs_as_a_job,
    a_grid_bulk_change_is_undone_in_one_click,
    an_undo_job_takes_ones_own_change_or_any_by_key,
    grid_values_and_delete_shown,
    a_job_counts_values_and_records,
    an_undo_of_another_s_change_is_refused_at_once,
    a_job_reads_its_changes_as_the_api_does
);
