//! A foreground action runs once at a time: presses from several tabs, or a guest's job
//! starts through the API, made together while it runs, are refused (409) but the first
//! (probe 83b D1: each made a job, the listener got the same submission several times, and
//! the grid showed only the newest). Once the job ends, the action may run again.

use crate::actions_grid::{click, jobs_of, report_action, signed_in, workbook_with_report};
use crate::helpers::*;
use crate::live_access::guest_with_token;
use crate::on_both;
use futures_util::future::join_all;
use serde_json::{json, Value};

/// How many of `statuses` are each of 200 and 409, and that there is nothing else.
fn made_and_refused(statuses: &[u16]) -> (usize, usize) {
    let made = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!(made + refused, statuses.len(), "{statuses:?}");
    (made, refused)
}

/// The form of a press of the workbook action `operation` (its input filled in).
fn press<'a>(token: &'a str, operation: &'a str) -> [(&'static str, &'a str); 4] {
    [
        ("csrf_token", token),
        ("scope", "workbook"),
        ("operation", operation),
        ("input:note", "x"),
    ]
}

async fn presses_together_make_one_job(db: Db) {
    let app = spawn_app(db).await;
    let (wb, contacts, _) = workbook_with_report(&app).await;
    let token = signed_in(&app, &wb).await;
    let fields = press(&token, "send-report");
    let answers = join_all((0..6).map(|_| click(&app, &contacts, &fields))).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(made_and_refused(&statuses), (1, 5), "{answers:?}");
    let refusal = &answers.iter().find(|(s, _)| *s == 409).unwrap().1;
    assert!(refusal.contains("already running"), "{refusal}");
    let jobs = jobs_of(&app).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");

    // Ended, it may run again.
    let id = jobs[0]["id"].as_str().unwrap();
    let (status, body) = app.post_json(&format!("/jobs/{id}/ack"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(
            &format!("/jobs/{id}/complete"),
            &json!({"outcome": {"message": "done"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = click(&app, &contacts, &fields).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(jobs_of(&app).await.len(), 2);

    // A background action may run beside itself.
    let mut background = report_action();
    background["mode"] = json!("background");
    background["operation"] = json!("in-background");
    app.patch_json(&format!("/workbooks/{wb}"), &json!({"actions": [background]}))
        .await;
    let fields = press(&token, "in-background");
    let answers = join_all((0..2).map(|_| click(&app, &contacts, &fields))).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [200, 200], "{answers:?}");
}

async fn a_guests_starts_together_make_one_job(db: Db) {
    let app = spawn_app(db).await;
    let (wb, _, space) = workbook_with_report(&app).await;
    let (_, token) = guest_with_token(&app, "h@partner.com", "Hal", &[&space]).await;
    let guest_call = |path: String, body: Value| {
        send(
            app.client
                .post(app.url(&format!("/v1{path}")))
                .bearer_auth(&token)
                .json(&body),
        )
    };
    let body = json!({"type": "workbook", "operation": "send-report", "source": wb,
                      "trigger": "immediate", "input": {"note": "x"}});
    let answers: Vec<(u16, Value)> = join_all((0..4).map(|_| guest_call("/jobs".into(), body.clone()))).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(made_and_refused(&statuses), (1, 3), "{answers:?}");
    assert_eq!(jobs_of(&app).await.len(), 1);
    let running = answers.iter().find(|(s, _)| *s == 200).unwrap().1["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Jobs made to start later may be made; only one of them starts while it runs.
    let mut later = body.clone();
    later["trigger"] = json!("manual");
    let mut made = Vec::new();
    for _ in 0..3 {
        let (status, job) = guest_call("/jobs".into(), later.clone()).await;
        assert_eq!(
            (status, job["data"]["status"].as_str()),
            (200, Some("created")),
            "{job}"
        );
        made.push(job["data"]["id"].as_str().unwrap().to_string());
    }
    let (status, _) = guest_call(format!("/jobs/{}/execute", made[0]), json!({})).await;
    assert_eq!(status, 409, "the first still runs");
    let (status, canceled) = guest_call(format!("/jobs/{running}/cancel"), json!({})).await;
    assert_eq!(status, 200, "{canceled}");
    let executes = made
        .iter()
        .map(|id| guest_call(format!("/jobs/{id}/execute"), json!({})));
    let answers: Vec<(u16, Value)> = join_all(executes).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(made_and_refused(&statuses), (1, 2), "{answers:?}");

    // The team's own code (a secret key) is not held to it.
    let (status, made) = app.post_json("/jobs", &body).await;
    assert_eq!(status, 200, "{made}");
}

/// A guest cannot run the action twice another way: made `background` (the action's mode
/// counts, not the one given) or made executing at once (probe 84b D2, D3); its own jobs
/// of Wharf's (deletes, bulk changes) are not held (D5: a second was refused).
async fn a_guest_cannot_start_it_twice_another_way(db: Db) {
    let app = spawn_app(db).await;
    let (wb, contacts, space) = workbook_with_report(&app).await;
    let (_, token) = guest_with_token(&app, "h@partner.com", "Hal", &[&space]).await;
    let guest_call = |body: Value| {
        send(
            app.client
                .post(app.url("/v1/jobs"))
                .bearer_auth(&token)
                .json(&body),
        )
    };
    let report = json!({"type": "workbook", "operation": "send-report", "source": wb,
                        "trigger": "immediate", "input": {"note": "x"}});
    let (status, first) = guest_call(report.clone()).await;
    assert_eq!(status, 200, "{first}");
    let mut background = report.clone();
    background["mode"] = json!("background");
    let (status, body) = guest_call(background).await;
    assert_eq!(status, 409, "{body}");
    let mut executing = report.clone();
    executing["status"] = json!("executing");
    let (status, body) = guest_call(executing.clone()).await;
    assert_eq!(status, 409, "{body}");
    let id = first["data"]["id"].as_str().unwrap();
    let (status, body) = app.post_json(&format!("/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    // Made executing, it runs: the next is refused.
    let (status, body) = guest_call(executing).await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (200, Some("executing")),
        "{body}"
    );
    let (status, body) = guest_call(report).await;
    assert_eq!(status, 409, "{body}");

    // Two deletes of Wharf's, one after the other: both made.
    for _ in 0..2 {
        let delete = json!({"type": "workbook", "operation": "delete-records", "source": wb,
                            "trigger": "immediate", "config": {"sheet": contacts, "q": "email eq \"nobody@x.io\""}});
        let (status, body) = guest_call(delete).await;
        assert_eq!(status, 200, "{body}");
    }
}

/// A person's Run again on a job's page is held too (probe 84b D1: it started a second).
async fn run_again_on_the_jobs_page_waits_its_turn(db: Db) {
    let app = spawn_app(db).await;
    let (wb, contacts, _) = workbook_with_report(&app).await;
    let token = signed_in(&app, &wb).await;
    let fields = press(&token, "send-report");
    let (status, body) = click(&app, &contacts, &fields).await;
    assert_eq!(status, 200, "{body}");
    let failed = jobs_of(&app).await[0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .post_json(
            &format!("/jobs/{failed}/fail"),
            &json!({"outcome": {"message": "no"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = click(&app, &contacts, &fields).await;
    assert_eq!(status, 200, "{body}");
    let again = app
        .client
        .post(app.url(&format!("/jobs/{failed}/retry")))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 409);
    let text = again.text().await.unwrap();
    assert!(text.contains("already running"), "{text}");
    let (_, job) = app.get_json(&format!("/jobs/{failed}")).await;
    assert_eq!(job["data"]["status"], "failed", "{job}");
}

on_both!(
    presses_together_make_one_job,
    a_guests_starts_together_make_one_job,
    a_guest_cannot_start_it_twice_another_way,
    run_again_on_the_jobs_page_waits_its_turn,
);
