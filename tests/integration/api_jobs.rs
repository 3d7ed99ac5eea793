//! Jobs: the lifecycle calls as a listener makes them, and the queue.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn a_custom_job_goes_through_its_lifecycle(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Jobs").await;
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "space", "operation": "submitAction", "source": space, "input": {"x": 1}, "mode": "foreground"}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let job = &job["data"];
    assert!(job["id"].as_str().unwrap().starts_with("us_jb_"));
    assert_eq!(job["status"], "created");
    assert_eq!(job["spaceId"], space.as_str());
    assert_eq!(job["input"], json!({"x": 1}));
    let id = job["id"].as_str().unwrap().to_string();

    // Bodyless POSTs, as the client sends them.
    let bodyless = |path: String| {
        app.api(reqwest::Method::POST, &path)
            .header("content-length", "0")
    };
    let (status, body) = send(bodyless(format!("/jobs/{id}/execute"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"data": {"success": true}}));
    let (_, got) = app.get_json(&format!("/jobs/{id}")).await;
    assert_eq!(got["data"]["status"], "ready");

    let (status, acked) = app
        .post_json(
            &format!("/jobs/{id}/ack"),
            &json!({"info": "started", "progress": 10}),
        )
        .await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["data"]["status"], "executing");
    assert_eq!(acked["data"]["progress"], 10);
    assert!(acked["data"]["startedAt"].is_string());
    let (status, _) = send(bodyless(format!("/jobs/{id}/ack"))).await;
    assert_eq!(status, 200);

    let (status, done) = app
        .post_json(
            &format!("/jobs/{id}/complete"),
            &json!({"info": "done", "outcome": {"message": "ok", "next": {"type": "id", "id": "us_wb_1"}}}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["data"]["status"], "complete");
    assert_eq!(done["data"]["progress"], 100);
    assert_eq!(done["data"]["outcome"]["message"], "ok");
    let (status, _) = app.post_json(&format!("/jobs/{id}/fail"), &json!({})).await;
    assert_eq!(status, 409, "a finished job stays finished");
    let (status, acked) = send(bodyless(format!("/jobs/{id}/outcome/ack"))).await;
    assert_eq!(status, 200);
    assert!(acked["data"]["outcomeAcknowledgedAt"].is_string());

    let (_, events) = app
        .get_json(&format!("/events?spaceId={space}&domain=job&pageSize=100"))
        .await;
    let topics: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["topic"].as_str().unwrap())
        .collect();
    assert_eq!(
        topics,
        vec![
            "job:created",
            "job:ready",
            "job:updated",
            "job:updated",
            "job:completed",
            "job:outcome-acknowledged"
        ]
    );
    assert_eq!(events["data"][0]["payload"]["job"], "space:submitAction");
}

async fn jobs_fail_cancel_list_and_delete(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Jobs").await;
    let mut ids = Vec::new();
    for op in ["one", "two", "three"] {
        let (_, j) = app
            .post_json(
                "/jobs",
                &json!({"type": "space", "operation": op, "source": space}),
            )
            .await;
        ids.push(j["data"]["id"].as_str().unwrap().to_string());
    }
    let (_, failed) = app
        .post_json(
            &format!("/jobs/{}/fail", ids[0]),
            &json!({"info": "bad", "outcome": {"message": "failed"}}),
        )
        .await;
    assert_eq!(failed["data"]["status"], "failed");
    let (_, canceled) = app
        .post_json(&format!("/jobs/{}/cancel", ids[1]), &json!({"info": "stop"}))
        .await;
    assert_eq!(canceled["data"]["status"], "canceled");
    assert_eq!(canceled["data"]["info"], "stop");
    // Canceled without words, a job says so, not what it said while it ran.
    let (_, other) = app
        .post_json(
            "/jobs",
            &json!({"type": "space", "operation": "x", "source": space}),
        )
        .await;
    let other = other["data"]["id"].as_str().unwrap().to_string();
    app.patch_json(
        &format!("/jobs/{other}"),
        &json!({"info": "next try at 08:40 UTC"}),
    )
    .await;
    let cancel = app.api(reqwest::Method::POST, &format!("/jobs/{other}/cancel"));
    let (_, canceled) = send(cancel.header("content-length", "0")).await;
    assert_eq!(canceled["data"]["info"], "Canceled", "{canceled}");
    app.delete(&format!("/jobs/{other}")).await;
    let (status, retried) = app
        .post_json(&format!("/jobs/{}/retry", ids[0]), &json!({}))
        .await;
    assert_eq!(status, 200, "{retried}");
    assert_eq!(retried["data"]["status"], "ready");

    let (_, list) = app
        .get_json(&format!("/jobs?spaceId={space}&pageSize=2&sortDirection=desc"))
        .await;
    assert_eq!(list["pagination"]["totalCount"], 3);
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    let (status, body) = app.delete(&format!("/jobs/{}", ids[2])).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["success"], true);
    let (status, _) = app.get_json(&format!("/jobs/{}", ids[2])).await;
    assert_eq!(status, 404);

    let (status, _) = app
        .post_json(
            "/jobs",
            &json!({"type": "file", "operation": "extract", "source": "us_fl_nothere"}),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .post_json(
            "/jobs",
            &json!({"type": "spaceship", "operation": "x", "source": space}),
        )
        .await;
    assert_eq!(status, 422);
    // Flatfile's enums and shapes, checked: a wrong one is named, and no job is made.
    for (key, value) in [
        ("trigger", json!("soon")),
        ("mode", json!("fast")),
        ("config", json!([1, 2])),
        ("config", json!("x")),
        ("input", json!("x")),
        ("metadata", json!(5)),
        // Kept nowhere, so refused rather than dropped (probe 45b M4).
        ("parentId", json!(ids[0])),
        ("predecessorIds", json!([ids[0]])),
        ("part", json!(1)),
        ("partData", json!({"a": 1})),
        ("partExecution", json!("parallel")),
        ("outcome", json!({"message": "done"})),
        ("result", json!({"y": 2})),
    ] {
        let mut body = json!({"type": "space", "operation": "odd", "source": space});
        body[key] = value.clone();
        let (status, answer) = app.post_json("/jobs", &body).await;
        assert_eq!(status, 422, "{key} {value}: {answer}");
        assert_eq!(answer["errors"][0]["key"], key, "{answer}");
    }
    let (_, list) = app.get_json(&format!("/jobs?spaceId={space}")).await;
    assert_eq!(list["pagination"]["totalCount"], 2, "{list}");
    let (status, answer) = app
        .patch_json(&format!("/jobs/{}", ids[0]), &json!({"config": [1]}))
        .await;
    assert_eq!(status, 422, "{answer}");
    let (_, kept) = app.get_json(&format!("/jobs/{}", ids[0])).await;
    assert_eq!(kept["data"]["config"], json!({}), "{kept}");
    // An update refuses them too (probe 45b); an outcome is acknowledged on its own.
    for (key, value) in [("parentId", json!(ids[1])), ("outcome", json!({"message": "x"}))] {
        let body = json!({"info": "changed", key: value});
        let (status, answer) = app.patch_json(&format!("/jobs/{}", ids[0]), &body).await;
        assert_eq!(status, 422, "{key}: {answer}");
        assert_eq!(answer["errors"][0]["key"], key, "{answer}");
    }
    let (_, kept) = app.get_json(&format!("/jobs/{}", ids[0])).await;
    assert_ne!(kept["data"]["info"], "changed", "{kept}");
    let ack = json!({"outcomeAcknowledgedAt": "2026-12-04T10:00:00.000Z", "info": "x"});
    let (status, _) = app.patch_json(&format!("/jobs/{}", ids[0]), &ack).await;
    assert_eq!(status, 422);
    let ack = json!({"outcomeAcknowledgedAt": "2026-12-04T10:00:00.000Z"});
    let (status, acked) = app.patch_json(&format!("/jobs/{}", ids[1]), &ack).await;
    assert_eq!(status, 200, "{acked}");
    assert!(acked["data"]["outcomeAcknowledgedAt"].is_string(), "{acked}");
}

/// Listener code reads `context.workbookId` of a workbook job's events.
async fn workbook_job_events_name_their_workbook(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "export", "source": wb, "trigger": "immediate"}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let (_, events) = app.get_json("/events?topic=job:ready").await;
    let ready = &events["data"][0];
    assert_eq!(ready["context"]["workbookId"], wb.as_str(), "{ready}");
    assert_eq!(ready["context"]["jobId"], job["data"]["id"]);
    assert_eq!(ready["payload"]["job"], "workbook:export");
}

/// The topics of a job's events, oldest first.
pub(crate) async fn job_topics(app: &TestApp, space: &str, id: &str) -> Vec<String> {
    let (_, events) = app
        .get_json(&format!(
            "/events?spaceId={space}&domain=job&pageSize=1000&includeAcknowledged=true"
        ))
        .await;
    let mut topics: Vec<(String, String)> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["context"]["jobId"] == id)
        .map(|e| {
            (
                e["createdAt"].as_str().unwrap_or_default().to_string(),
                e["topic"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    topics.sort();
    topics.into_iter().map(|(_, t)| t).collect()
}

/// A ready custom job of `space`; its id.
async fn race_job(app: &TestApp, space: &str) -> String {
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "space", "operation": "race", "source": space, "trigger": "immediate"}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    job["data"]["id"].as_str().unwrap().to_string()
}

/// Two calls on one job at once: the second to arrive never undoes the first. An ack racing
/// a complete cannot bring the job back to `executing`; two retries make one new run.
async fn lifecycle_calls_at_once_never_undo_each_other(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Races").await;
    for round in 0..12 {
        let id = race_job(&app, &space).await;
        let (ack_path, done_path) = (format!("/jobs/{id}/ack"), format!("/jobs/{id}/complete"));
        let (ack_body, done_body) = (json!({"progress": 5}), json!({"outcome": {"message": "ok"}}));
        let (ack, done) = tokio::join!(
            app.post_json(&ack_path, &ack_body),
            app.post_json(&done_path, &done_body),
        );
        assert_eq!(done.0, 200, "round {round}: {}", done.1);
        assert!(ack.0 == 200 || ack.0 == 409, "round {round}: {}", ack.1);
        let (_, got) = app.get_json(&format!("/jobs/{id}")).await;
        assert_eq!(got["data"]["status"], "complete", "round {round}: {got}");

        // Failed, then two retries at once: one runs it again.
        let id = race_job(&app, &space).await;
        let (status, _) = app.post_json(&format!("/jobs/{id}/fail"), &json!({})).await;
        assert_eq!(status, 200);
        let (retry, empty) = (format!("/jobs/{id}/retry"), json!({}));
        let (a, b) = tokio::join!(app.post_json(&retry, &empty), app.post_json(&retry, &empty));
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}: {} / {}", a.1, b.1);
        let topics = job_topics(&app, &space, &id).await;
        let ready = topics.iter().filter(|t| *t == "job:ready").count();
        assert_eq!(ready, 2, "the first run and one retry: {topics:?}");
    }
}

/// A retried job starts clean: the last run's acknowledged outcome does not hide the new
/// one. An outcome is acknowledged once the job has one, and once. Progress may be a
/// fraction, as Flatfile's handlers report it.
async fn a_retry_starts_clean_and_outcomes_are_acknowledged_once(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Retry").await;
    let (_, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "space", "operation": "again", "source": space, "trigger": "immediate"}),
        )
        .await;
    let id = job["data"]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .post_json(&format!("/jobs/{id}/outcome/ack"), &json!({}))
        .await;
    assert_eq!(status, 409, "no outcome yet: {body}");
    let (status, acked) = app
        .post_json(
            &format!("/jobs/{id}/ack"),
            &json!({"progress": 50.5, "info": "half"}),
        )
        .await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["data"]["progress"], 51);
    app.post_json(
        &format!("/jobs/{id}/fail"),
        &json!({"outcome": {"message": "no"}}),
    )
    .await;
    for _ in 0..2 {
        let (status, body) = app
            .post_json(&format!("/jobs/{id}/outcome/ack"), &json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let topics = job_topics(&app, &space, &id).await;
    let acks = topics.iter().filter(|t| *t == "job:outcome-acknowledged").count();
    assert_eq!(acks, 1, "{topics:?}");
    let (status, retried) = app.post_json(&format!("/jobs/{id}/retry"), &json!({})).await;
    assert_eq!(status, 200, "{retried}");
    let r = &retried["data"];
    assert_eq!(r["status"], "ready");
    for key in [
        "outcomeAcknowledgedAt",
        "outcome",
        "info",
        "startedAt",
        "finishedAt",
    ] {
        assert!(r[key].is_null(), "{key} kept from the last run: {r}");
    }
}

/// `jobs.list` takes Flatfile's filters: `parentId` (Wharf's jobs have no parts: none), a
/// `sortDirection` of `asc` or `desc` only; events' `since` may leave out the offset (UTC).
async fn list_filters_read_as_flatfiles(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Jobs").await;
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "space", "operation": "tidy", "source": space}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let (_, all) = app.get_json("/jobs").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
    let id = job["data"]["id"].as_str().unwrap();
    let (status, parts) = app.get_json(&format!("/jobs?parentId={id}")).await;
    assert_eq!(status, 200);
    assert_eq!(parts["data"], json!([]), "{parts}");
    let (status, body) = app.get_json("/jobs?sortDirection=up").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["key"], "sortDirection");
    let since = (chrono::Utc::now() - chrono::Duration::minutes(5)).format("%Y-%m-%dT%H:%M:%S%.3f");
    let (status, events) = app
        .get_json(&format!("/events?since={since}&topic=job:created"))
        .await;
    assert_eq!(status, 200, "{events}");
    assert_eq!(events["data"].as_array().unwrap().len(), 1, "{events}");
}

/// A Flatfile call Wharf does not offer answers 501 saying so and what to do instead; an
/// unknown path stays a 404.
async fn flatfile_calls_wharf_lacks_say_so(db: Db) {
    let app = spawn_app(db).await;
    for path in [
        "/actions",
        "/documents/us_dc_x",
        "/subscription",
        "/environments/subscription-token",
        "/guests/us_g_x/roles",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 501, "{path}: {body}");
        assert_eq!(body["errors"][0]["key"], "not_supported", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("Wharf"),
            "{body}"
        );
    }
    let (status, body) = app.get_json("/no-such-call").await;
    assert_eq!(status, 404, "{body}");
    // A Flatfile call on a known address keeps its explanation, whatever the method.
    let resp = app
        .client
        .post(app.url("/v1/jobs/preview-mutation"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 501);
    // Spelled with a percent-encoded character, as routing reads it.
    let resp = app
        .client
        .post(app.url("/v1/files/us_fl_x/clo%6Ee"))
        .bearer_auth(&app.key)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 501);
}

/// A known address asked with a method it does not take answers 405 with `Allow`, in the
/// API's error shape and as a page on the dashboard; the address itself still works.
async fn a_wrong_method_is_405_with_what_the_address_takes(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Methods").await;
    let resp = app
        .client
        .post(app.url(&format!("/v1/spaces/{space}")))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    let allow = |r: &reqwest::Response| r.headers().get("allow").map(|v| v.to_str().unwrap().to_string());
    assert_eq!(
        allow(&resp).as_deref(),
        Some("GET, PATCH, DELETE, HEAD"),
        "{:?}",
        resp.headers()
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["key"], "method_not_allowed", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("GET, PATCH, DELETE, HEAD"),
        "{body}"
    );
    let page = app.client.delete(app.url("/sign-in")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 405);
    assert_eq!(allow(&page).as_deref(), Some("GET, POST, HEAD"));
    assert!(page.text().await.unwrap().contains("takes GET, POST, HEAD"));
    let (status, _) = app.get_json(&format!("/spaces/{space}")).await;
    assert_eq!(status, 200);
    let head = app.client.head(app.url("/health")).send().await.unwrap();
    assert_eq!(head.status().as_u16(), 200);
    // Every GET address answers HEAD as GET, without the body, and checks the caller alike.
    let url = app.url(&format!("/v1/spaces/{space}"));
    let get = app.client.get(&url).bearer_auth(&app.key).send().await.unwrap();
    let length = get.bytes().await.unwrap().len();
    let head = app.client.head(&url).bearer_auth(&app.key).send().await.unwrap();
    assert_eq!(head.status().as_u16(), 200);
    let said = head
        .headers()
        .get("content-length")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(said, Some(length.to_string()), "{:?}", head.headers());
    assert!(head.bytes().await.unwrap().is_empty());
    let head = app.client.head(&url).send().await.unwrap();
    assert_eq!(head.status().as_u16(), 401);
    // A live stream answers HEAD with its head only, at once (the stream never ends).
    let sheet = app.sheet_id(&app.space_from_blueprint().await, "contacts").await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let live = app.client.head(app.url(&format!("/grid/{sheet}/live")));
    let live = tokio::time::timeout(std::time::Duration::from_secs(10), live.send())
        .await
        .expect("HEAD of a live stream answers at once")
        .unwrap();
    assert_eq!(live.status().as_u16(), 200);
    assert!(live.bytes().await.unwrap().is_empty());
    // ... and its connection is free for the next request (the client reuses it).
    let next = app.client.get(app.url("/health")).send();
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), next)
        .await
        .expect("the connection after a HEAD is answered")
        .unwrap();
    assert_eq!(next.status().as_u16(), 200);
    // A download is streamed: HEAD, as GET, says no length (never a length of 0).
    let csv = app
        .client
        .head(app.url(&format!("/grid/{sheet}/download.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status().as_u16(), 200);
    assert_eq!(csv.headers().get("content-length"), None, "{:?}", csv.headers());
    // A HEAD makes no guest token nobody sees.
    let (_, g) = app
        .post_json(
            "/guests",
            &serde_json::json!([{"environmentId": app.env_id.as_str(), "email": "h@x.org", "name": "H", "spaces": [{"id": space}]}]),
        )
        .await;
    let gid = g["data"][0]["id"].as_str().unwrap().to_string();
    let links = || {
        use diesel::prelude::*;
        let mut conn = app.pool.get().unwrap();
        wharf::db::schema::guest_links::table
            .count()
            .get_result::<i64>(&mut *conn)
            .unwrap()
    };
    let before = links();
    let head = app
        .client
        .head(app.url(&format!("/v1/guests/{gid}/token?spaceId={space}")))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(links(), before, "no token made by a HEAD");
    // A POST-only address does not take HEAD.
    let head = app.client.head(app.url("/sign-out")).send().await.unwrap();
    assert_eq!(head.status().as_u16(), 405);
    assert_eq!(allow(&head).as_deref(), Some("POST"));
    let post = app.client.post(app.url("/health")).send().await.unwrap();
    assert_eq!(post.status().as_u16(), 405);
    assert_eq!(allow(&post).as_deref(), Some("GET, HEAD"));
}

on_both!(
    flatfile_calls_wharf_lacks_say_so,
    a_wrong_method_is_405_with_what_the_address_takes,
    list_filters_read_as_flatfiles,
    lifecycle_calls_at_once_never_undo_each_other,
    a_retry_starts_clean_and_outcomes_are_acknowledged_once,
    a_custom_job_goes_through_its_lifecycle,
    jobs_fail_cancel_list_and_delete,
    workbook_job_events_name_their_workbook
);

/// Two Wharf processes on one PostgreSQL database share the queue: every job runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_postgres_queue() {
    use wharf::app::Application;
    let app = spawn_app(Db::Postgres).await;
    let (mut settings, _dir) = test_settings(Db::Sqlite);
    settings.database_url = app.database_url.clone();
    settings.data_dir = app.data_dir.clone();
    let second = Application::build(settings).expect("second server");
    tokio::spawn(second.run_until_stopped());

    let space = app.bare_space("Shared").await;
    let mut job_ids = Vec::new();
    for i in 0..8 {
        let (_, file) = app
            .upload(&space, &format!("f{i}.csv"), format!("n\n{i}\n").into_bytes())
            .await;
        let (_, jobs) = app
            .get_json(&format!("/jobs?fileId={}", file["data"]["id"].as_str().unwrap()))
            .await;
        job_ids.push(jobs["data"][0]["id"].as_str().unwrap().to_string());
    }
    for id in &job_ids {
        assert_eq!(app.wait_job(id).await["status"], "complete");
    }
    use diesel::prelude::*;
    use wharf::db::schema::jobs;
    let mut conn = app.pool.get().unwrap();
    let attempts: Vec<i32> = jobs::table
        .filter(jobs::id.eq_any(&job_ids))
        .select(jobs::attempts)
        .load(&mut *conn)
        .unwrap();
    assert_eq!(attempts, vec![1; 8], "each job was claimed once");
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    assert_eq!(wbs["data"].as_array().unwrap().len(), 8, "one workbook per file");
}
