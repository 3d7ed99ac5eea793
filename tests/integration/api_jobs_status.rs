//! Job statuses as listener code sets them through Flatfile's calls: made `executing`,
//! ended by an update (probe 57c).

use crate::api_jobs::job_topics;
use crate::helpers::*;
use crate::on_both;
use serde_json::json;

/// Listener code tracking its own work sets a job's status as Flatfile's types allow: made
/// `executing` (acknowledged at once, no `job:ready` for a handler), and ended by an update
/// to `complete`, `failed` or `canceled` as the calls would (probe 57c: 422 before).
async fn a_listener_sets_its_jobs_status_as_flatfiles(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Own work").await;
    let make = |status: &'static str| {
        let app = &app;
        let space = space.clone();
        async move {
            let (code, job) = app
                .post_json(
                    "/jobs",
                    &json!({"type": "space", "operation": "sync", "source": space, "status": status}),
                )
                .await;
            assert_eq!(code, 200, "{job}");
            job["data"].clone()
        }
    };
    let job = make("executing").await;
    assert_eq!(job["status"], "executing", "{job}");
    assert!(job["startedAt"].is_string(), "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    assert!(!job_topics(&app, &space, &id)
        .await
        .contains(&"job:ready".to_string()));
    let (code, body) = app
        .patch_json(
            &format!("/jobs/{id}"),
            &json!({"status": "complete", "info": "synced"}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["data"]["status"], "complete", "{body}");
    assert_eq!(body["data"]["info"], "synced", "{body}");
    assert!(job_topics(&app, &space, &id)
        .await
        .contains(&"job:completed".to_string()));
    let (code, body) = app
        .patch_json(&format!("/jobs/{id}"), &json!({"status": "failed"}))
        .await;
    assert_eq!(code, 409, "already complete: {body}");
    let other = make("ready").await;
    let other = other["id"].as_str().unwrap();
    for (status, want) in [("failed", "failed")] {
        let (code, body) = app
            .patch_json(&format!("/jobs/{other}"), &json!({"status": status}))
            .await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["data"]["status"], want, "{body}");
    }
    let third = make("created").await;
    let third = third["id"].as_str().unwrap();
    let (code, body) = app
        .patch_json(
            &format!("/jobs/{third}"),
            &json!({"status": "canceled", "config": {"a": 1}}),
        )
        .await;
    assert_eq!(code, 422, "a final status takes info only: {body}");
    let (code, body) = app
        .patch_json(&format!("/jobs/{third}"), &json!({"status": "canceled"}))
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["data"]["status"], "canceled", "{body}");
    // Nor a Submit the workbook's action delivers, Wharf's to run (probe 57d F5).
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Sub", "spaceId": space, "actions": [crate::submit::submit_action("crm")],
                    "sheets": [{"name": "S", "slug": "s", "fields": [{"key": "a", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let (code, body) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "submit", "source": wb["data"]["id"], "status": "executing"}),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    assert!(body.to_string().contains("Wharf runs this job itself"), "{body}");
    // Nor is a job made already ended.
    let (code, body) = app
        .post_json(
            "/jobs",
            &json!({"type": "space", "operation": "sync", "source": space, "status": "complete"}),
        )
        .await;
    assert_eq!(code, 422, "{body}");
}

on_both!(a_listener_sets_its_jobs_status_as_flatfiles);

/// Executes of one job at once (a listener retrying, two processes) all hear the job
/// started, on both databases, and it is made ready once (probe 61b D2: on PostgreSQL the
/// later ones heard 409 "it is now ready").
async fn executes_at_once_all_hear_the_job_started(db: Db) {
    let app = std::sync::Arc::new(spawn_app(db).await);
    let space = app.bare_space("Executes").await;
    let (code, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "space", "operation": "sync", "source": space}),
        )
        .await;
    assert_eq!(code, 200, "{job}");
    assert_eq!(job["data"]["status"], "created", "{job}");
    let id = job["data"]["id"].as_str().unwrap().to_string();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move { app.post_json(&format!("/jobs/{id}/execute"), &json!({})).await })
        })
        .collect();
    for call in calls {
        let (code, body) = call.await.unwrap();
        assert_eq!(code, 200, "{body}");
    }
    let topics = job_topics(&app, &space, &id).await;
    let ready = topics.iter().filter(|t| *t == "job:ready").count();
    assert_eq!(ready, 1, "{topics:?}");
}

on_both!(executes_at_once_all_hear_the_job_started);

/// First acks of one ready job at once (a listener's progress ticks, two handlers) are all
/// taken, on both databases: the job is executing, with one of their progress values
/// (probe 66a D1: the losers heard 409 "the job changed meanwhile", and Flatfile's job
/// handler fails a job whose tick throws).
async fn acks_at_once_of_a_ready_job_are_all_taken(db: Db) {
    let app = std::sync::Arc::new(spawn_app(db).await);
    let space = app.bare_space("Acks").await;
    for round in 0..4 {
        let (code, job) = app
            .post_json(
                "/jobs",
                &json!({"type": "space", "operation": "sync", "source": space, "status": "ready"}),
            )
            .await;
        assert_eq!(code, 200, "{job}");
        let id = job["data"]["id"].as_str().unwrap().to_string();
        let calls: Vec<_> = (0..6)
            .map(|i| {
                let (app, id) = (app.clone(), id.clone());
                let body = json!({"progress": 10 + i, "info": format!("tick {i}")});
                tokio::spawn(async move { app.post_json(&format!("/jobs/{id}/ack"), &body).await })
            })
            .collect();
        for call in calls {
            let (code, body) = call.await.unwrap();
            assert_eq!(code, 200, "round {round}: {body}");
            assert_eq!(body["data"]["status"], "executing", "{body}");
        }
        let (_, now) = app.get_json(&format!("/jobs/{id}")).await;
        let progress = now["data"]["progress"].as_i64().unwrap();
        assert!((10..16).contains(&progress), "{now}");
    }
}

on_both!(acks_at_once_of_a_ready_job_are_all_taken);
