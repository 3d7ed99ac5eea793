//! Webhook deliveries share their places fairly: a receiver that never answers, or a long
//! backlog of one webhook, delays no other webhook's deliveries.

use crate::helpers::*;
use crate::on_both;
use crate::webhooks::Receiver;
use serde_json::json;
use std::time::Duration;

/// A receiver that never answers holds a few places for its timeout, not the worker: the
/// other webhook's deliveries all arrive meanwhile (they used to wait in batches behind it,
/// 15 s each).
async fn a_silent_receiver_delays_no_other_webhook(db: Db) {
    use wharf::model::{event, webhook};
    let (settings, _dir) = test_settings(db);
    let pool = wharf::app::prepare_database(&settings).unwrap();
    let receiver = Receiver::start().await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://127.0.0.1:{}/hook", silent.local_addr().unwrap().port());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let mut conn = pool.get().unwrap();
    let env = wharf::model::environment::find_by_name(&mut conn, "development")
        .unwrap()
        .unwrap()
        .id;
    // The silent one's backlog first, longer than any one claim reads: its deliveries are
    // the older, and every other webhook's come after all of them.
    webhook::create(&mut conn, &env, &silent_url, &["space:updated".to_string()], "").unwrap();
    webhook::create(
        &mut conn,
        &env,
        &receiver.url,
        &["workbook:updated".to_string()],
        "",
    )
    .unwrap();
    let ctx = event::Context::new(&env, "test");
    for n in 0..400 {
        event::emit(&mut conn, &ctx, "space:updated", json!({"n": n})).unwrap();
    }
    for n in 0..100 {
        event::emit(&mut conn, &ctx, "workbook:updated", json!({"n": n})).unwrap();
    }
    drop(conn);
    let worker = wharf::workers::webhooks::start(wharf::workers::webhooks::Context {
        pool: pool.clone(),
        settings: settings.clone(),
        render: wharf::web::api::events::event_json,
        worker_id: "one".into(),
        mail: std::sync::Arc::new(wharf::mail::Mailer::from_settings(&settings).unwrap()),
    })
    .unwrap();
    let started = std::time::Instant::now();
    receiver.wait_for(100).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the answering receiver waited {:?} behind the silent one",
        started.elapsed()
    );
    drop(worker);
}

/// The claim leaves out webhooks at their cap, a slow one's cap being one: however long
/// a stalled receiver's backlog, the next claim holds the others' deliveries.
async fn a_claim_skips_webhooks_at_their_cap(db: Db) {
    use wharf::model::{event, webhook, webhook_delivery};
    let (settings, _dir) = test_settings(db);
    let pool = wharf::app::prepare_database(&settings).unwrap();
    let mut conn = pool.get().unwrap();
    let env = wharf::model::environment::find_by_name(&mut conn, "development")
        .unwrap()
        .unwrap()
        .id;
    let stalled = webhook::create(
        &mut conn,
        &env,
        "http://127.0.0.1:9/a",
        &["space:updated".to_string()],
        "",
    )
    .unwrap();
    let other = webhook::create(
        &mut conn,
        &env,
        "http://127.0.0.1:9/b",
        &["workbook:updated".to_string()],
        "",
    )
    .unwrap();
    let ctx = event::Context::new(&env, "test");
    for n in 0..300 {
        event::emit(&mut conn, &ctx, "space:updated", json!({"n": n})).unwrap();
    }
    event::emit(&mut conn, &ctx, "workbook:updated", json!({})).unwrap();
    let lease = chrono::TimeDelta::seconds(60);
    let cap = |hook: &wharf::ids::WebhookId| if *hook == stalled.id { 1 } else { 8 };
    let mut flying = std::collections::HashMap::new();
    let first = webhook_delivery::claim_due(&mut conn, "w", lease, 64, &cap, &flying).unwrap();
    assert_eq!(
        first.len(),
        1,
        "the slow one gets one place, and the other's is past the read"
    );
    assert_eq!(first[0].webhook_id, stalled.id);
    flying.insert(stalled.id.clone(), 1);
    let next = webhook_delivery::claim_due(&mut conn, "w", lease, 64, &cap, &flying).unwrap();
    let hooks: Vec<_> = next.iter().map(|d| d.webhook_id.clone()).collect();
    assert_eq!(
        hooks,
        vec![other.id.clone()],
        "the stalled one's backlog hides nothing"
    );
}

/// Every event is matched against each webhook of its environment inside its write, so an
/// environment holds at most 100: the 101st is refused saying why, and deleting one makes
/// room again.
async fn an_environment_holds_at_most_a_hundred_webhooks(db: Db) {
    let app = spawn_app(db).await;
    let body = |i: usize| json!({"url": format!("http://127.0.0.1:9/hook{i}"), "topics": ["**"]});
    let mut first = String::new();
    for i in 0..99 {
        let (status, made) = app.post_json("/webhooks", &body(i)).await;
        assert_eq!(status, 200, "{made}");
        if i == 0 {
            first = made["data"]["id"].as_str().unwrap().to_string();
        }
    }
    // Six at once for the last place: one gets it.
    let bodies: Vec<_> = (0..6).map(|i| body(200 + i)).collect();
    let racers = bodies.iter().map(|b| app.post_json("/webhooks", b));
    let statuses: Vec<u16> = futures_util::future::join_all(racers)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 5, "{statuses:?}");
    let (status, refused) = app.post_json("/webhooks", &body(100)).await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 100 webhooks"),
        "{refused}"
    );
    let (_, listed) = app.get_json("/webhooks").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 100);
    assert_eq!(app.delete(&format!("/webhooks/{first}")).await.0, 200);
    let (status, made) = app.post_json("/webhooks", &body(100)).await;
    assert_eq!(status, 200, "{made}");
}

/// A receiver whose answer holds a NUL (which PostgreSQL's text refuses) has its tries
/// noted like any other, and the deliveries noted beside it are not lost with them: they
/// used to be sent again and again (probe 48b 2).
async fn an_answer_with_a_nul_is_noted_and_sinks_no_other(db: Db) {
    let app = spawn_app(db).await;
    let nul_url = crate::webhooks_alert::answering(200, b"ok\x00\x01binary").await;
    let receiver = Receiver::start().await;
    let topics = Some(json!(["space:updated"]));
    let nul = crate::webhooks::create_hook(&app, &nul_url, topics.clone()).await;
    let ok = crate::webhooks::create_hook(&app, &receiver.url, topics).await;
    let space = app.bare_space("S").await;
    for n in 0..5 {
        let (status, body) = app
            .patch_json(&format!("/spaces/{space}"), &json!({"metadata": {"n": n}}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    for hook in [&nul, &ok] {
        let id = hook["id"].as_str().unwrap();
        let mut log = json!(null);
        for _ in 0..300 {
            log = app.get_json(&format!("/webhooks/{id}/deliveries")).await.1;
            let all = log["data"].as_array().unwrap();
            if all.len() == 5 && all.iter().all(|d| d["status"] == "delivered") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let all = log["data"].as_array().unwrap();
        assert!(
            all.len() == 5 && all.iter().all(|d| d["status"] == "delivered"),
            "{log}"
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.got().len(), 5, "each delivery went once");
}

on_both!(
    an_answer_with_a_nul_is_noted_and_sinks_no_other,
    an_environment_holds_at_most_a_hundred_webhooks,
    a_silent_receiver_delays_no_other_webhook,
    a_claim_skips_webhooks_at_their_cap,
);
