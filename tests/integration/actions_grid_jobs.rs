//! An action's job after the click: a big selection's short `dataUrl`, a running job
//! canceled from its card, and the ack deadline of a job whose `job:ready` is still on its
//! way to a webhook.

use crate::actions_grid::{click, jobs_of, ready_event_of, signed_in, workbook_with_report};
use crate::helpers::*;
use crate::listener::workbook_with_records;
use crate::on_both;
use serde_json::{json, Value};
use std::time::Duration;

/// A sheet action on many selected records: its `dataUrl` names the job rather than every
/// id (6,000 ids made an address the HTTP layer refuses), and reads just those records.
async fn a_big_selection_has_a_short_data_url(db: Db) {
    let app = spawn_app(db).await;
    let sheet = app.sheet_id(&app.space_from_blueprint().await, "companies").await;
    let rows: Vec<Value> = (0..600).map(|i| json!({"code": format!("C{i}")})).collect();
    let (status, made) = app
        .post_json(&format!("/sheets/{sheet}/records"), &Value::Array(rows))
        .await;
    assert_eq!(status, 200);
    let ids: Vec<String> = record_ids(&made).into_iter().step_by(2).collect();
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "sheet", "operation": "export-selected", "source": sheet, "trigger": "immediate",
                    "subject": {"type": "collection", "resource": "records", "query": {"ids": ids}}}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let job = job["data"]["id"].as_str().unwrap().to_string();
    let event = ready_event_of(&app, &job).await;
    let url = event["dataUrl"].as_str().unwrap().to_string();
    assert_eq!(url, format!("v1/sheets/{sheet}/records?subjectOf={job}"));
    let read = |extra: &'static str| {
        let url = format!("/{url}{extra}");
        let app = &app;
        async move { send(app.client.get(app.url(&url)).bearer_auth(&app.key)).await }
    };
    let (status, all) = read("&pageSize=1000").await;
    assert_eq!(status, 200, "{all}");
    let got: Vec<String> = all["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, ids);
    let (_, page) = read("&pageSize=100&pageNumber=3").await;
    assert_eq!(page["data"]["records"].as_array().unwrap().len(), 100);
    assert_eq!(page["data"]["records"][0]["id"], ids[200].as_str());
}

/// A foreground action's job a listener took and then dropped: the team cancels it from
/// the running card, which the overlay otherwise keeps up for good.
async fn a_running_action_is_canceled_from_its_card(db: Db) {
    let app = spawn_app(db).await;
    let (wb, contacts, _) = workbook_with_report(&app).await;
    let token = signed_in(&app, &wb).await;
    let (status, body) = click(
        &app,
        &contacts,
        &[
            ("csrf_token", token.as_str()),
            ("scope", "workbook"),
            ("operation", "send-report"),
            ("input:note", "x"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let job = jobs_of(&app).await[0]["id"].as_str().unwrap().to_string();
    // Not yet taken by any code: the card says it waits for it, not that it runs (probe
    // 66h D6: "Running… 0%" for up to five minutes).
    let card = app.page(&format!("/grid/jobs/{job}")).await;
    assert!(
        card.contains("Waiting for your team's code to take this action") && !card.contains("Running…"),
        "{card}"
    );
    assert_eq!(
        app.post_json(&format!("/jobs/{job}/ack"), &json!({"progress": 40}))
            .await
            .0,
        200
    );
    let card = app.page(&format!("/grid/jobs/{job}")).await;
    assert!(
        card.contains("read-only until this ends") && card.contains("action-job-cancel"),
        "{card}"
    );
    assert!(card.contains("Running…"), "taken, it runs: {card}");
    assert!(!card.contains("Last moved"), "it just moved: {card}");
    // Its code went quiet: the card says since when (probe 74c D5).
    {
        use diesel::prelude::*;
        use wharf::db::schema::jobs;
        let five_ago = chrono::Utc::now().naive_utc() - chrono::TimeDelta::minutes(5);
        let mut conn = app.pool.get().unwrap();
        diesel::update(jobs::table.find(&job))
            .set(jobs::updated_at.eq(five_ago))
            .execute(&mut conn)
            .unwrap();
    }
    let card = app.page(&format!("/grid/jobs/{job}")).await;
    assert!(card.contains("Last moved <time"), "{card}");
    assert!(card.contains(">5 minutes ago</time>; Cancel stops it"), "{card}");
    let resp = app
        .client
        .post(app.url(&format!("/grid/jobs/{job}/cancel")))
        .header("HX-Request", "true")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (_, got) = app.get_json(&format!("/jobs/{job}")).await;
    assert_eq!(got["data"]["status"], "canceled", "{got}");
    let card = app.page(&format!("/grid/jobs/{job}")).await;
    assert!(!card.contains("read-only until this ends"), "{card}");
    // Without the form's token: refused.
    let forged = app
        .client
        .post(app.url(&format!("/grid/jobs/{job}/cancel")))
        .form(&[("csrf_token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
}

/// A `job:ready` a webhook is still trying to deliver (its listener restarting) gives the
/// job twice the time to be taken before it fails "No listener took this job".
async fn a_job_whose_ready_event_is_on_its_way_waits_longer(db: Db) {
    let app = spawn_app_with(db, |s| {
        s.job_ack_seconds = 2;
        s.webhook_private = true;
    })
    .await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let (status, hook) = app
        .post_json(
            "/webhooks",
            &json!({"environmentId": app.env_id, "url": url, "topics": ["job:ready"]}),
        )
        .await;
    assert_eq!(status, 200, "{hook}");
    let (wb, _) = workbook_with_records(&app).await;
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "send-report", "source": wb, "trigger": "immediate"}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    let mut ended = None;
    while started.elapsed() < Duration::from_secs(15) {
        let (_, job) = app.get_json(&format!("/jobs/{id}")).await;
        if job["data"]["status"] != "ready" {
            ended = Some((started.elapsed(), job["data"]["info"].clone()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (after, info) = ended.expect("the job fails in the end");
    assert_eq!(info, "No listener took this job");
    assert!(
        after >= Duration::from_millis(3_500),
        "failed after {after:?}, its delivery still pending"
    );
}

on_both!(
    a_big_selection_has_a_short_data_url,
    a_running_action_is_canceled_from_its_card,
    a_job_whose_ready_event_is_on_its_way_waits_longer,
);
