//! `GET/POST /v1/events`, `POST /v1/events/{id}/ack`: Flatfile's envelope, filters and
//! paging, acknowledgement, polling with `since` under concurrent writes, retention.

use crate::helpers::*;
use crate::on_both;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;
use wharf::model::event_topics::TOPICS;

fn data(v: &Value) -> Vec<Value> {
    v["data"].as_array().expect("a list of events").clone()
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

/// Adds a record as listener code would (`X-Disable-Hooks`: no commit, one event).
async fn add_company(app: &TestApp, sheet: &str, code: &str) {
    let (status, body) = send(
        app.api(reqwest::Method::POST, &format!("/sheets/{sheet}/records"))
            .header("x-disable-hooks", "true")
            .json(&json!([{"code": {"value": code}}])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn lists_filter_and_page(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sid = space["id"].as_str().unwrap();
    let other = app.bare_space("Other").await;
    let sheet = app.sheet_id(&space, "companies").await;
    for i in 0..12 {
        add_company(&app, &sheet, &format!("C{i}")).await;
    }
    let (_, all) = app.get_json("/events?pageSize=1000").await;
    let all = data(&all);
    // space:created, workbook:created, 12 records:created, space:created of the other.
    assert_eq!(all.len(), 15, "{all:?}");
    let times: Vec<&str> = all.iter().map(|e| e["createdAt"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first: {times:?}");

    // Flatfile's default page is 10 events.
    let (_, first) = app.get_json("/events").await;
    assert_eq!(ids(&data(&first)), ids(&all[..10]));
    let mut paged = Vec::new();
    for page in 1..=4 {
        let (_, p) = app
            .get_json(&format!("/events?pageSize=4&pageNumber={page}"))
            .await;
        paged.extend(data(&p));
    }
    assert_eq!(ids(&paged), ids(&all));
    let (status, body) = app.get_json("/events?pageSize=1001").await;
    assert_eq!(status, 400, "{body}");

    let (_, in_space) = app.get_json(&format!("/events?spaceId={sid}&pageSize=100")).await;
    assert_eq!(data(&in_space).len(), 14);
    let (_, of_other) = app.get_json(&format!("/events?spaceId={other}")).await;
    assert_eq!(data(&of_other).len(), 1);
    assert_eq!(of_other["data"][0]["topic"], "space:created");
    let (_, by_topic) = app.get_json("/events?topic=space:created").await;
    assert_eq!(data(&by_topic).len(), 2);
    // All of one kind, as a webhook's glob names them.
    let (_, of_kind) = app.get_json("/events?topic=records:*&pageSize=100").await;
    assert_eq!(data(&of_kind).len(), 12);
    assert!(data(&of_kind).iter().all(|e| e["topic"] == "records:created"));
    // Records events are in Flatfile's workbook domain, with workbook:created.
    let (_, by_domain) = app.get_json("/events?domain=workbook&pageSize=100").await;
    assert_eq!(data(&by_domain).len(), 13);
    assert!(data(&by_domain).iter().all(|e| e["domain"] == "workbook"));
    let (_, by_env) = app
        .get_json(&format!("/events?environmentId={}&pageSize=100", app.env_id))
        .await;
    assert_eq!(data(&by_env).len(), 15);
    let (status, _) = app.get_json("/events?environmentId=us_env_nothere1").await;
    assert_eq!(status, 404);

    let since = all[5]["createdAt"].as_str().unwrap();
    let (_, later) = app.get_json(&format!("/events?since={since}&pageSize=100")).await;
    let later = data(&later);
    assert!(ids(&later).contains(&ids(&all)[5]));
    assert!(later.iter().all(|e| e["createdAt"].as_str().unwrap() >= since));
    assert_eq!(ids(&later), ids(&all[all.len() - later.len()..]));
    let (status, body) = app.get_json("/events?since=yesterday").await;
    assert_eq!(status, 400, "{body}");
    // A day alone is its start (UTC): today's events, and none of tomorrow's.
    let today = chrono::Utc::now().date_naive();
    let (status, body) = app.get_json(&format!("/events?since={today}&pageSize=100")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(data(&body).len(), all.len(), "{body}");
    let tomorrow = today + chrono::Days::new(1);
    let (_, body) = app.get_json(&format!("/events?since={tomorrow}")).await;
    assert!(data(&body).is_empty(), "{body}");
}

async fn custom_events_and_acknowledgement(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sid = space["id"].as_str().unwrap();
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={sid}")).await;
    let wid = wbs["data"][0]["id"].as_str().unwrap();
    let sheet = app.sheet_id(&space, "contacts").await;
    let body = json!({
        "topic": "job:ready",
        "domain": "workbook",
        "context": {
            "accountId": "us_acc_whatever", "environmentId": app.env_id.to_string(),
            "spaceId": sid, "workbookId": wid, "sheetId": sheet, "actionName": "submit",
            "actorId": "us_usr_pretend",
        },
        "payload": {"job": "workbook:submit", "operation": "submit"},
        "dataUrl": format!("v1/sheets/{sheet}/records?x=1"),
        "namespaces": ["workbook"],
    });
    let (status, created) = app.post_json("/events", &body).await;
    assert_eq!(status, 200, "{created}");
    let e = &created["data"];
    assert!(e["id"].as_str().unwrap().starts_with("us_evt_"));
    assert_eq!(e["topic"], "job:ready");
    assert_eq!(e["domain"], "workbook");
    assert_eq!(e["payload"]["job"], "workbook:submit");
    assert_eq!(e["dataUrl"], format!("v1/sheets/{sheet}/records?x=1"));
    assert_eq!(e["namespaces"], json!(["workbook"]));
    let c = &e["context"];
    assert_eq!(c["accountId"], "us_acc_wharf");
    assert_eq!(c["environmentId"], app.env_id.to_string());
    assert_eq!(c["spaceId"], sid);
    assert_eq!(c["workbookId"], wid);
    assert_eq!(c["sheetId"], sheet.as_str());
    assert_eq!(c["sheetSlug"], "contacts");
    assert_eq!(c["actionName"], "submit");
    // The caller is the actor, whatever the body says.
    let actor = c["actorId"].as_str().unwrap().to_string();
    assert!(actor.starts_with("us_key_"), "{actor}");
    assert!(e["acknowledgedAt"].is_null());
    let id = e["id"].as_str().unwrap().to_string();
    let (_, got) = app.get_json(&format!("/events/{id}")).await;
    assert_eq!(&got["data"], e);

    let (status, ack) = app.post_json(&format!("/events/{id}/ack"), &json!(null)).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack, json!({"data": {"success": true}}));
    let (_, listed) = app.get_json("/events?topic=job:ready").await;
    assert!(
        data(&listed).is_empty(),
        "acknowledged events are left out: {listed}"
    );
    let (_, listed) = app
        .get_json("/events?topic=job:ready&includeAcknowledged=true")
        .await;
    let listed = data(&listed);
    assert_eq!(ids(&listed), vec![id.clone()]);
    assert!(listed[0]["acknowledgedAt"].as_str().is_some());
    assert_eq!(listed[0]["acknowledgedBy"], actor.as_str());
    let (_, unacked) = app.get_json("/events?topic=space:created").await;
    assert_eq!(data(&unacked).len(), 1);
    let (status, _) = app.post_json("/events/us_evt_999999/ack", &json!(null)).await;
    assert_eq!(status, 404);

    // Refusals name what to fix, and store nothing.
    let env = app.env_id.to_string();
    for (bad, want) in [
        (
            json!({"topic": "made:up", "domain": "space", "context": {"environmentId": env}}),
            400,
        ),
        (
            json!({"topic": "space:updated", "domain": "records", "context": {"environmentId": env}}),
            400,
        ),
        (
            json!({"topic": "space:updated", "domain": "space", "context": {}}),
            400,
        ),
        (
            json!({"topic": "space:updated", "domain": "space", "context": {"environmentId": "us_env_other123"}}),
            404,
        ),
        (
            json!({"topic": "space:updated", "domain": "space", "context": {"environmentId": env, "spaceId": "us_sp_nothere1"}}),
            404,
        ),
        (
            json!({"topic": "space:updated", "domain": "space", "context": {"environmentId": env, "documentId": "us_dc_nothere1"}}),
            404,
        ),
        (
            json!({"topic": "space:updated", "domain": "space", "context": {"environmentId": env, "commitId": "us_cm_nothere123456"}}),
            404,
        ),
        (
            json!({"topic": "space:updated", "domain": "space", "context": {"environmentId": env, "versionId": "us_cm_nothere123456"}}),
            404,
        ),
        (
            json!({"topic": "space:updated", "domain": "space", "context": {"environmentId": env, "spaceId": app.bare_space("B").await, "sheetId": sheet}}),
            400,
        ),
        // Ids of another shape name nothing of the environment (probe 56c D6).
        (
            json!({"topic": "space:updated", "domain": "space", "context": {"environmentId": env, "documentId": "DOC-123"}}),
            400,
        ),
        (
            json!({"topic": "space:updated", "domain": "space", "context": {"environmentId": env, "jobId": "US_JB_1234567"}}),
            400,
        ),
        (
            json!({"topic": "space:updated", "domain": "space", "context": {"environmentId": env, "versionId": ""}}),
            400,
        ),
    ] {
        let (status, answer) = app.post_json("/events", &bad).await;
        assert_eq!(status, want, "{bad} -> {answer}");
    }
    // Bodies that are not an event get the API's JSON errors too, never plain text.
    let nul = json!({"topic": "space:updated", "domain": "space",
                     "context": {"environmentId": env}, "payload": {"note": "a\u{0}b"}});
    let big = json!({"topic": "space:updated", "domain": "space",
                     "context": {"environmentId": env}, "payload": {"note": "x".repeat(2 << 20)}});
    let big_url = json!({"topic": "space:updated", "domain": "space",
                         "context": {"environmentId": env, "sheetSlug": "s".repeat(1 << 20)},
                         "dataUrl": "u".repeat(1 << 20)});
    for (body, want) in [
        (big_url.to_string(), 413),
        (nul.to_string(), 422),
        ("{\"topic\": ".to_string(), 400),
        (json!({"domain": "space"}).to_string(), 400),
        (big.to_string(), 413),
    ] {
        let resp = app
            .api(reqwest::Method::POST, "/events")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), want, "{}", &body[..body.len().min(80)]);
        let answer: Value = resp.json().await.expect("a JSON answer");
        assert!(answer["errors"][0]["message"].as_str().is_some(), "{answer}");
    }
    let (_, updated) = app
        .get_json("/events?topic=space:updated&includeAcknowledged=true")
        .await;
    assert!(data(&updated).is_empty());
    // A record's version as Wharf gives it is a versionId too (probe 57d F7).
    let (status, body) = app
        .post_json(
            "/events",
            &json!({"topic": "space:updated", "domain": "space", "context": {"environmentId": env, "versionId": "us_vr_12"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn real_events_carry_flatfiles_envelope(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sid = space["id"].as_str().unwrap();
    let sheet = app.sheet_id(&space, "companies").await;
    add_company(&app, &sheet, "A1").await;
    let file = app
        .upload_and_extract(sid, "people.csv", b"name,email\nAda,ada@x.org\n".to_vec())
        .await;
    let file_id = file["id"].as_str().unwrap();
    let (_, all) = app.get_json("/events?pageSize=1000").await;
    let all = data(&all);
    for e in &all {
        let topic = e["topic"].as_str().unwrap();
        assert!(TOPICS.contains(&topic), "{topic} is not one of Flatfile's topics");
        assert_eq!(e["context"]["accountId"], "us_acc_wharf");
        assert_eq!(e["context"]["environmentId"], app.env_id.to_string());
        assert!(e["createdAt"].as_str().unwrap().ends_with('Z'));
        assert!(e["payload"].is_object(), "{e}");
    }
    let find = |topic: &str| all.iter().find(|e| e["topic"] == topic).expect(topic).clone();
    let created = find("space:created");
    assert_eq!(created["domain"], "space");
    assert_eq!(created["context"]["spaceId"], sid);

    let records = find("records:created");
    assert_eq!(records["domain"], "workbook");
    assert_eq!(records["context"]["sheetId"], sheet.as_str());
    assert_eq!(records["context"]["sheetSlug"], "companies");
    assert_eq!(records["context"]["slugs"]["sheet"], "companies");
    assert!(records["context"]["workbookId"].as_str().is_some());

    let jobs: Vec<&Value> = all
        .iter()
        .filter(|e| e["topic"].as_str().unwrap().starts_with("job:"))
        .collect();
    assert!(jobs.len() >= 3, "{jobs:?}");
    for e in &jobs {
        assert_eq!(e["domain"], "job");
        let p = &e["payload"];
        assert_eq!(p["job"], "file:extract", "{e}");
        assert_eq!(p["domain"], "file");
        assert_eq!(p["operation"], "extract");
        assert!(p["status"].as_str().is_some());
        assert_eq!(p["isPart"], false);
        assert!(p.as_object().unwrap().contains_key("info"));
        assert!(p.as_object().unwrap().contains_key("input"));
        assert!(e["context"]["jobId"].as_str().unwrap().starts_with("us_jb_"));
        assert_eq!(e["context"]["fileId"], file_id);
        assert_eq!(e["context"]["spaceId"], sid);
    }
    assert_eq!(find("job:completed")["payload"]["status"], "complete");
    let updated = all
        .iter()
        .rev()
        .find(|e| e["topic"] == "file:updated")
        .expect("file:updated");
    assert_eq!(updated["domain"], "file");
    assert_eq!(updated["context"]["fileId"], file_id);
    assert!(updated["payload"]["status"].as_str().is_some());
}

/// A transaction that writes an event and holds it open while others commit: the poller
/// must not move past it.
fn slow_event(app: &TestApp, space: &str, hold: Duration) -> tokio::task::JoinHandle<()> {
    let pool = app.pool.clone();
    let env = app.env_id.clone();
    let space = wharf::ids::SpaceId::parse(space).unwrap();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        wharf::db::write_tx::<_, diesel::result::Error, _>(&mut conn, |c| {
            let ctx = wharf::model::event::Context::new(&env, "slow").space(&space);
            wharf::model::event::emit(c, &ctx, "space:updated", json!({"slow": true}))?;
            std::thread::sleep(hold);
            Ok(())
        })
        .unwrap();
    })
}

async fn a_poller_sees_every_event_once_and_in_order(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sid = space["id"].as_str().unwrap().to_string();
    let sheet = app.sheet_id(&space, "companies").await;
    let done = std::sync::atomic::AtomicBool::new(false);
    let writers = async {
        let slow = slow_event(&app, &sid, Duration::from_millis(800));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let writer = |w: usize| {
            let (app, sheet) = (&app, &sheet);
            async move {
                for i in 0..15 {
                    add_company(app, sheet, &format!("W{w}-{i}")).await;
                }
            }
        };
        futures_util::future::join_all((0..4).map(writer)).await;
        slow.await.unwrap();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let poller = async {
        let mut seen: Vec<String> = Vec::new();
        let mut known = HashSet::new();
        let mut since: Option<String> = None;
        let mut after_done = 0;
        while after_done < 2 {
            if done.load(std::sync::atomic::Ordering::SeqCst) {
                after_done += 1;
            }
            let mut path = "/events?includeAcknowledged=true&pageSize=1000".to_string();
            if let Some(s) = &since {
                path.push_str(&format!("&since={s}"));
            }
            let (status, page) = app.get_json(&path).await;
            assert_eq!(status, 200, "{page}");
            for e in data(&page) {
                let id = e["id"].as_str().unwrap().to_string();
                if known.insert(id.clone()) {
                    seen.push(id);
                }
                since = Some(e["createdAt"].as_str().unwrap().to_string());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        seen
    };
    let ((), seen) = tokio::join!(writers, poller);
    let (_, all) = app
        .get_json("/events?includeAcknowledged=true&pageSize=1000")
        .await;
    let all = ids(&data(&all));
    // 2 at the start, 60 records writes, the slow one.
    assert_eq!(all.len(), 63);
    assert_eq!(seen, all, "the poller saw every event, once, in the final order");
}

async fn old_events_are_pruned(db: Db) {
    use wharf::db::schema::events;
    let app = spawn_app(db).await;
    app.bare_space("Old").await;
    let recent = app.bare_space("Recent").await;
    let (_, all) = app.get_json("/events").await;
    let old_id = all["data"][0]["id"].as_str().unwrap().to_string();
    let old = wharf::ids::EventId::parse(&old_id).unwrap().0;
    let mut conn = app.pool.get().unwrap();
    let long_ago = chrono::Utc::now().naive_utc() - chrono::Duration::days(31);
    diesel::update(events::table.find(old))
        .set(events::created_at.eq(long_ago))
        .execute(&mut conn)
        .unwrap();
    // A day inside the retention stays.
    let recent_ago = chrono::Utc::now().naive_utc() - chrono::Duration::days(29);
    diesel::update(events::table.filter(events::id.ne(old)))
        .set(events::created_at.eq(recent_ago))
        .execute(&mut conn)
        .unwrap();
    assert_eq!(wharf::workers::event_retention::prune(&mut conn, 30).unwrap(), 1);
    let (status, _) = app.get_json(&format!("/events/{old_id}")).await;
    assert_eq!(status, 404);
    let (_, left) = app.get_json("/events").await;
    assert_eq!(data(&left).len(), 1);
    assert_eq!(left["data"][0]["context"]["spaceId"], recent.as_str());
    assert_eq!(wharf::workers::event_retention::prune(&mut conn, 30).unwrap(), 0);
}

/// The space's Activity tab shows its latest events, acknowledged ones too, newest first.
async fn activity_shows_the_latest_events_acknowledged_or_not(db: Db) {
    let app = spawn_app(db).await;
    let sid = app.bare_space("Busy").await;
    let body = |topic: &str| {
        json!({"topic": topic, "domain": "space", "payload": {},
               "context": {"environmentId": app.env_id.to_string(), "spaceId": sid}})
    };
    let (_, first) = app.post_json("/events", &body("space:updated")).await;
    let id = first["data"]["id"].as_str().unwrap();
    let (status, _) = app.post_json(&format!("/events/{id}/ack"), &json!(null)).await;
    assert_eq!(status, 200);
    for _ in 0..200 {
        app.post_json("/events", &body("space:archived")).await;
    }
    app.post_json("/events", &body("space:expired")).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let html = app.page(&format!("/spaces/{sid}?tab=activity")).await;
    // In words (see activity.rs): "This space expired", "archived this space".
    let expired = html
        .find("This space expired")
        .expect("the newest event is shown");
    let archived = html.find("archived this space").expect("older events follow");
    assert!(expired < archived, "newest first");
    assert!(
        !html.contains("created this space"),
        "50 lines a page, the latest"
    );

    let sid2 = app.bare_space("Quiet").await;
    let (_, e) = app
        .post_json(
            "/events",
            &json!({"topic": "space:updated", "domain": "space", "payload": {},
            "context": {"environmentId": app.env_id.to_string(), "spaceId": sid2}}),
        )
        .await;
    let id = e["data"]["id"].as_str().unwrap();
    app.post_json(&format!("/events/{id}/ack"), &json!(null)).await;
    let html = app.page(&format!("/spaces/{sid2}?tab=activity")).await;
    assert!(
        html.contains("changed this space"),
        "acknowledged events stay in the activity"
    );
}

/// A custom event's `attributes`, `target`, `origin` and `callbackUrl` come back as sent, in
/// the answer and when read again (listener code reads `event.target` and `event.origin`).
async fn a_custom_events_whole_envelope_is_kept(db: Db) {
    let app = spawn_app(db).await;
    let sent = json!({
        "topic": "workbook:updated", "domain": "workbook",
        "context": {"environmentId": app.env_id.as_str()},
        "payload": {"a": 1},
        "attributes": {"progress": {"current": 1, "total": 2}},
        "target": "sheet:contacts",
        "origin": {"id": "us_x", "slug": "crm"},
        "callbackUrl": "https://example.com/done",
    });
    let (status, made) = app.post_json("/events", &sent).await;
    assert_eq!(status, 200, "{made}");
    let id = made["data"]["id"].as_str().unwrap();
    let (_, read) = app.get_json(&format!("/events/{id}")).await;
    for e in [&made["data"], &read["data"]] {
        for key in ["attributes", "target", "origin", "callbackUrl"] {
            assert_eq!(e[key], sent[key], "{key}: {e}");
        }
    }
}

/// A page of events near the 1 MiB limit each is sent whole and in order (read a few at a
/// time on the server, never held whole).
async fn a_page_of_big_events_comes_whole(db: Db) {
    let app = spawn_app(db).await;
    for i in 0..24 {
        let blob = format!("{i}-{}", "x".repeat(900_000));
        let (status, body) = app
            .post_json("/events", &json!({"domain": "workbook", "topic": "workbook:updated", "context": {"environmentId": app.env_id}, "payload": {"blob": blob, "n": i}}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, page) = app
        .get_json("/events?topic=workbook:updated&includeAcknowledged=true&pageSize=20&pageNumber=1")
        .await;
    assert_eq!(status, 200);
    let events = page["data"].as_array().unwrap();
    let numbers: Vec<i64> = events
        .iter()
        .map(|e| e["payload"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, (0..20).collect::<Vec<_>>());
    assert!(events
        .iter()
        .all(|e| e["payload"]["blob"].as_str().unwrap().len() > 900_000));
    let (_, rest) = app
        .get_json("/events?topic=workbook:updated&includeAcknowledged=true&pageSize=20&pageNumber=2")
        .await;
    let numbers: Vec<i64> = rest["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["payload"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, (20..24).collect::<Vec<_>>());
    // A filter that can match nothing is refused, not answered with no events, and a
    // misspelt parameter is not dropped (probe 64b D2: `topics=` listed every event).
    for (query, says) in [
        ("topic=no:such", "no:such"),
        ("topic=nothing:*", "job:*"),
        ("domain=commits", "commits"),
        ("topics=commit:created", "topics"),
    ] {
        let (status, body) = app
            .get_json(&format!("/events?{query}&includeAcknowledged=true"))
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.to_string().contains(says), "{query}: {body}");
    }
}

on_both!(
    a_page_of_big_events_comes_whole,
    a_custom_events_whole_envelope_is_kept,
    activity_shows_the_latest_events_acknowledged_or_not,
    lists_filter_and_page,
    custom_events_and_acknowledgement,
    real_events_carry_flatfiles_envelope,
    a_poller_sees_every_event_once_and_in_order,
    old_events_are_pruned,
);
