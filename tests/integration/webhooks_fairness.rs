//! Webhook deliveries share their places fairly: a receiver that never answers, or a long
//! backlog of one webhook, delays no other webhook's deliveries.

use crate::helpers::*;
use crate::on_both;
use crate::webhooks::Receiver;
use serde_json::json;
use std::time::Duration;

/// A receiver that takes connections and never answers; its port.
async fn silent_receiver() -> u16 {
    counted_silent_receiver().await.0
}

/// [`silent_receiver`], with how many connections it took.
async fn counted_silent_receiver() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = taken.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(sock);
        }
    });
    (port, taken)
}

/// "Send again" while a try of the delivery waits for its answer is refused (409): queued
/// again, it went out a second time beside that try, and only one was noted (probe 66a D4).
async fn a_delivery_is_not_sent_again_while_a_try_is_under_way(db: Db) {
    let app = spawn_app(db).await;
    let (port, taken) = counted_silent_receiver().await;
    let url = format!("http://127.0.0.1:{port}/hook");
    let hook = crate::webhooks::create_hook(&app, &url, Some(json!(["space:created"]))).await;
    let id = hook["id"].as_str().unwrap();
    app.bare_space("Sent once").await;
    for _ in 0..100 {
        if taken.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        taken.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the try is under way"
    );
    let (_, list) = app.get_json(&format!("/webhooks/{id}/deliveries")).await;
    let did = list["data"][0]["id"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let (status, body) = app
            .post_json(&format!("/webhooks/{id}/deliveries/{did}/retry"), &json!({}))
            .await;
        assert_eq!(status, 409, "{body}");
        assert!(body.to_string().contains("under way"), "{body}");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(taken.load(std::sync::atomic::Ordering::SeqCst), 1, "sent once");
}

/// The delivery worker alone, on this pool.
fn start_worker(pool: &wharf::db::Pool, settings: &wharf::settings::Settings) -> wharf::workers::Running {
    wharf::workers::webhooks::start(wharf::workers::webhooks::Context {
        pool: pool.clone(),
        settings: settings.clone(),
        render: wharf::web::api::events::event_json,
        worker_id: "one".into(),
        mail: std::sync::Arc::new(wharf::mail::Mailer::from_settings(settings).unwrap()),
    })
    .unwrap()
}

/// A receiver that never answers holds a few places for its timeout, not the worker: the
/// other webhook's deliveries all arrive meanwhile (they used to wait in batches behind it,
/// 15 s each).
async fn a_silent_receiver_delays_no_other_webhook(db: Db) {
    use wharf::model::{event, webhook};
    let (settings, _dir) = test_settings(db);
    let pool = wharf::app::prepare_database(&settings).unwrap();
    let receiver = Receiver::start().await;
    let silent_url = format!("http://127.0.0.1:{}/hook", silent_receiver().await);
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
    let worker = start_worker(&pool, &settings);
    let started = std::time::Instant::now();
    receiver.wait_for(100).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the answering receiver waited {:?} behind the silent one",
        started.elapsed()
    );
    drop(worker);
}

/// New webhooks to receivers that never answer hold a few places each until they have
/// answered, an environment's together at most half, and the last places are kept for
/// environments with next to nothing in flight: another environment's deliveries go on
/// (probe 66a D2: sixteen new ones held all 128 places, and the other environment's waited
/// 15 s; 66g D5: two environments at half each held them all).
async fn another_environments_stalled_webhooks_delay_no_delivery(db: Db) {
    use wharf::model::{event, webhook};
    let (settings, _dir) = test_settings(db);
    let pool = wharf::app::prepare_database(&settings).unwrap();
    let receiver = Receiver::start().await;
    let silent_url = format!("http://127.0.0.1:{}/hook", silent_receiver().await);
    let mut conn = pool.get().unwrap();
    let env_of = |conn: &mut wharf::db::PooledConn, name: &str| {
        wharf::model::environment::find_by_name(conn, name)
            .unwrap()
            .unwrap()
            .id
    };
    let (dev, prod) = (env_of(&mut conn, "development"), env_of(&mut conn, "production"));
    // Two environments' stalled receivers, each at its half of the places (probe 66g D5:
    // together they held every place).
    let staging = wharf::model::environment::create(&mut conn, "staging", false, "{}", None)
        .unwrap()
        .id;
    for env in [&prod, &staging] {
        for _ in 0..40 {
            webhook::create(&mut conn, env, &silent_url, &["space:updated".to_string()], "").unwrap();
        }
    }
    webhook::create(
        &mut conn,
        &dev,
        &receiver.url,
        &["workbook:updated".to_string()],
        "",
    )
    .unwrap();
    for env in [&prod, &staging] {
        let there = event::Context::new(env, "test");
        for n in 0..3 {
            event::emit(&mut conn, &there, "space:updated", json!({"n": n})).unwrap();
        }
    }
    drop(conn);
    let worker = start_worker(&pool, &settings);
    // The stalled ones' tries are under way.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut conn = pool.get().unwrap();
    event::emit(
        &mut conn,
        &event::Context::new(&dev, "test"),
        "workbook:updated",
        json!({}),
    )
    .unwrap();
    drop(conn);
    let started = std::time::Instant::now();
    receiver.wait_for(1).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the development webhook waited {:?} behind production's stalled ones",
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
    let no_envs = std::collections::HashMap::new();
    let claim = |conn: &mut wharf::db::PooledConn, flying: &std::collections::HashMap<_, _>| {
        let places = webhook_delivery::Places {
            per_hook: &cap,
            flying,
            per_env: 64,
            env_flying: &no_envs,
            in_flight: 0,
            reserved_past: 112,
            light: 2,
        };
        webhook_delivery::claim_due(conn, "w", lease, 64, &places).unwrap()
    };
    let first = claim(&mut conn, &std::collections::HashMap::new());
    assert_eq!(
        first.len(),
        1,
        "the slow one gets one place, and the other's is past the read"
    );
    assert_eq!(first[0].webhook_id, stalled.id);
    let flying = std::collections::HashMap::from([(stalled.id.clone(), 1)]);
    let next = claim(&mut conn, &flying);
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

/// A receiver that answers only once its handler is done (Flatfile's pattern) and takes
/// longer than the 15 s a try waits: the `job:ready` of a job it acknowledged meanwhile is
/// not sent again (probe 51b 1: the handler ran twice); one it did not take up is.
async fn a_job_taken_up_during_a_slow_answer_is_not_sent_again(db: Db) {
    let app = spawn_app(db).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    // The handler runs on and answers long after the try gave up.
    let bodies = crate::webhooks_ended_jobs::raw_receiver(listener, None);
    crate::webhooks::create_hook(&app, &url, Some(json!(["job:ready"]))).await;
    // A receiver that is not there at all: its connection is refused, it ran nothing.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://127.0.0.1:{}/hook", closed.local_addr().unwrap().port());
    drop(closed);
    let gone = crate::webhooks::create_hook(&app, &closed_url, Some(json!(["job:ready"]))).await;
    // One that answers 500 at once, whatever its handler did (probe 53a 8).
    let failing = Receiver::start().await;
    failing.answer_next(&[500, 500]);
    crate::webhooks::create_hook(&app, &failing.url, Some(json!(["job:ready"]))).await;
    let jobs = crate::webhooks_ended_jobs::sync_jobs(&app, "Slow", 2).await;
    let sent = |job: &str| bodies.lock().unwrap().iter().filter(|b| b.contains(job)).count();
    for _ in 0..100 {
        if jobs.iter().all(|j| sent(j) == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The first job's handler acknowledges it while its answer is still to come.
    let (status, acked) = app.post_json(&format!("/jobs/{}/ack", jobs[0]), &json!({})).await;
    assert_eq!(status, 200, "{acked}");
    for _ in 0..300 {
        if sent(&jobs[1]) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent(&jobs[1]), 2, "the job nobody took up is sent again");
    let to_failing = |job: &str| failing.got().iter().filter(|r| r.body.contains(job)).count();
    assert_eq!(to_failing(&jobs[1]), 2, "and to the receiver that answered 500");
    assert_eq!(to_failing(&jobs[0]), 1, "not the one acknowledged after its 500");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sent(&jobs[0]), 1, "the acknowledged job's event went once");
    // The receiver that never got it is not told it was delivered (probe 52a 4).
    let (_, log) = app
        .get_json(&format!("/webhooks/{}/deliveries", gone["id"].as_str().unwrap()))
        .await;
    let statuses: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 2, "{log}");
    assert!(statuses.iter().all(|s| *s != "delivered"), "{log}");
}

/// A hundred silent receivers of one environment, each held to one place once found slow,
/// leave places for another environment's webhook: its delivery goes at once, not after
/// their 15 s timeouts (probe 63d D3: 12-14 s, for as long as the load lasted).
async fn a_hundred_slow_webhooks_leave_places_for_the_others(db: Db) {
    use wharf::model::{event, webhook};
    let (settings, _dir) = test_settings(db);
    let pool = wharf::app::prepare_database(&settings).unwrap();
    let receiver = Receiver::start().await;
    let port = silent_receiver().await;
    let mut conn = pool.get().unwrap();
    let env_named = |conn: &mut wharf::db::AnyConnection, name: &str| {
        wharf::model::environment::find_by_name(conn, name)
            .unwrap()
            .unwrap()
            .id
    };
    let (prod, dev) = (
        env_named(&mut conn, "production"),
        env_named(&mut conn, "development"),
    );
    for n in 0..100 {
        let url = format!("http://127.0.0.1:{port}/hook{n}");
        webhook::create(&mut conn, &prod, &url, &["space:updated".to_string()], "").unwrap();
    }
    webhook::create(
        &mut conn,
        &dev,
        &receiver.url,
        &["workbook:updated".to_string()],
        "",
    )
    .unwrap();
    let loud = event::Context::new(&prod, "test");
    for n in 0..3 {
        event::emit(&mut conn, &loud, "space:updated", json!({"n": n})).unwrap();
    }
    let worker = start_worker(&pool, &settings);
    // Past the first tries' 15 s timeout: every silent webhook is known slow, and holds a
    // place with its next try.
    tokio::time::sleep(Duration::from_secs(17)).await;
    event::emit(
        &mut conn,
        &event::Context::new(&dev, "test"),
        "workbook:updated",
        json!({}),
    )
    .unwrap();
    let started = std::time::Instant::now();
    receiver.wait_for(1).await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "the other environment's delivery waited {:?} behind the slow ones",
        started.elapsed()
    );
    drop(worker);
}

on_both!(
    a_hundred_slow_webhooks_leave_places_for_the_others,
    a_job_taken_up_during_a_slow_answer_is_not_sent_again,
    an_answer_with_a_nul_is_noted_and_sinks_no_other,
    an_environment_holds_at_most_a_hundred_webhooks,
    a_silent_receiver_delays_no_other_webhook,
    a_delivery_is_not_sent_again_while_a_try_is_under_way,
    another_environments_stalled_webhooks_delay_no_delivery,
    a_claim_skips_webhooks_at_their_cap,
);
