//! What a receiver's answer may do to the records after a Submit: only to the records that
//! went, as they went. A record edited while the delivery waited for its retries is not
//! deleted by `deleteSubmitted` (its new values were never sent), a record that did not go
//! gets no rejection, a rejection's message is cut to the length of any other message, and
//! an answer that comes after the job was canceled changes nothing.

use crate::helpers::*;
use crate::on_both;
use crate::submit::{submit_ready, wait_job_until};
use serde_json::{json, Value};
use std::time::Duration;

async fn records_of(app: &TestApp, sheet: &str) -> Vec<Value> {
    let (_, records) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    records["data"]["records"].as_array().unwrap().clone()
}

fn id_of(record: &Value) -> String {
    record["id"].as_str().unwrap().to_string()
}

async fn start_submit(app: &TestApp, wb: &str) -> String {
    let body = json!({"type": "workbook", "operation": "submit", "source": wb, "trigger": "immediate"});
    let (status, job) = app.post_json("/jobs", &body).await;
    assert_eq!(status, 200, "{job}");
    job["data"]["id"].as_str().unwrap().to_string()
}

async fn delete_submitted_spares_what_changed_or_never_went(db: Db) {
    let app = spawn_app(db).await;
    let (receiver, wb, contacts) = submit_ready(&app).await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "third@acme.com", "name": "Third"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let went = records_of(&app, &contacts).await;
    assert_eq!(went.len(), 3);
    let (rejected, edited, plain) = (id_of(&went[0]), id_of(&went[1]), id_of(&went[2]));

    // The first try fails; the second, 5 s later, asks for the records to be deleted.
    receiver.answer_next(&[(502, "")]);
    let job = start_submit(&app, &wb).await;
    receiver.wait_for(1, 30).await;
    let edit = json!([{"id": edited, "values": {"name": {"value": "Edited after it went"}}}]);
    let (status, body) = app.put_json(&format!("/sheets/{contacts}/records"), &edit).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "late@acme.com", "name": "Late"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let late = id_of(&body["data"]["records"][0]);
    let long = "x".repeat(20_000);
    let answer = json!({"rejections": {"id": "rj", "deleteSubmitted": true, "message": "y".repeat(50_000),
        "sheets": [{"sheetId": contacts, "rejectedRecords": [
            {"id": rejected, "values": [{"field": "name", "message": long}]},
            {"id": late, "values": [{"field": "name", "message": "never went"}]}]}]}});
    receiver.answer_next(&[(200, &answer.to_string())]);
    let done = wait_job_until(&app, &job, 40, |j| {
        j["status"] != "executing" && j["status"] != "ready"
    })
    .await;
    assert_eq!(done["status"], "complete", "{done}");
    let message = done["outcome"]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "1 came back rejected; 1 submitted record was deleted; 1 changed since they went and were kept"
        ),
        "{message}"
    );
    assert!(
        message.len() < 3_000,
        "the receiver's message is quoted cut: {}",
        message.len()
    );

    let left = records_of(&app, &contacts).await;
    let ids: Vec<String> = left.iter().map(id_of).collect();
    assert_eq!(
        ids,
        [rejected.clone(), edited.clone(), late.clone()],
        "{plain} went"
    );
    let shown = left[0]["values"]["name"]["messages"][0]["message"]
        .as_str()
        .unwrap();
    assert!(
        shown.starts_with(&"x".repeat(10_000)) && shown.len() < 10_100,
        "{}",
        shown.len()
    );
    assert_eq!(left[1]["values"]["name"]["value"], "Edited after it went");
    assert_eq!(left[2]["values"]["name"]["messages"], json!([]), "{}", left[2]);
}

async fn an_answer_after_a_cancel_changes_nothing(db: Db) {
    let app = spawn_app(db).await;
    let (receiver, wb, contacts) = submit_ready(&app).await;
    let answer = json!({"rejections": {"id": "rj", "deleteSubmitted": true, "sheets": []}});
    receiver.answer_next_after(Duration::from_secs(3), 200, &answer.to_string());
    let job = start_submit(&app, &wb).await;
    receiver.wait_for(1, 30).await;
    let (status, body) = app.post_json(&format!("/jobs/{job}/cancel"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let done = wait_job_until(&app, &job, 30, |j| {
        j["outcome"]["heading"] == "Canceled after delivery"
    })
    .await;
    assert_eq!(done["status"], "canceled", "{done}");
    assert!(done["outcome"]["message"]
        .as_str()
        .unwrap()
        .contains("was not applied"));
    assert_eq!(records_of(&app, &contacts).await.len(), 2, "nothing was deleted");
}

/// A receiver's words are stored as text can be (no NUL, which PostgreSQL refuses), a
/// rejection without words still says why, and `rejections` of another shape are said in
/// the outcome rather than taken for none (probe 48b 3, 4).
async fn odd_rejections_are_kept_readable(db: Db) {
    let app = spawn_app(db).await;
    let (receiver, wb, contacts) = submit_ready(&app).await;
    let went = records_of(&app, &contacts).await;
    let (first, second) = (id_of(&went[0]), id_of(&went[1]));
    let answer = json!({"rejections": {"sheets": [{"sheetId": contacts, "rejectedRecords": [
        {"id": first, "values": [{"field": "name", "message": "bad\u{0}nul"}]},
        {"id": second, "values": [{"field": "name", "message": "  "}]},
        // The same record twice is one rejected record (probe 63d D1: counted as two).
        {"id": second, "values": [{"field": "email", "message": "also this"}]}]}]}});
    receiver.answer_next(&[(200, &answer.to_string())]);
    let job = start_submit(&app, &wb).await;
    let done = wait_job_until(&app, &job, 40, |j| {
        j["status"] != "executing" && j["status"] != "ready"
    })
    .await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["outcome"]["rejected"], 2, "{done}");
    let by_id = |id: &str, records: &[Value]| {
        let r = records.iter().find(|r| r["id"] == id).unwrap().clone();
        r["values"]["name"]["messages"][0]["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let now = records_of(&app, &contacts).await;
    assert_eq!(by_id(&first, &now), "bad\u{FFFD}nul");
    assert!(by_id(&second, &now).starts_with("rejected by "), "{now:?}");

    receiver.answer_next(&[(200, r#"{"rejections": "nope"}"#)]);
    let job = start_submit(&app, &wb).await;
    let done = wait_job_until(&app, &job, 40, |j| {
        j["status"] != "executing" && j["status"] != "ready"
    })
    .await;
    assert_eq!(done["status"], "complete", "{done}");
    let message = done["outcome"]["message"].as_str().unwrap();
    assert!(message.contains("not in Flatfile's shape"), "{message}");
}

/// A Submit waiting to go is Wharf's job: a PATCH may not change its config (where it
/// goes), which made it a listener's job to complete by hand (probe 50a F3), nor its info.
async fn a_submits_config_is_wharfs(db: Db) {
    let app = spawn_app_with(db, |s| s.job_workers = 0).await;
    let (_receiver, wb, _) = submit_ready(&app).await;
    let job = start_submit(&app, &wb).await;
    for change in [json!({"config": {}}), json!({"info": "delivered, trust me"})] {
        let (status, body) = app.patch_json(&format!("/jobs/{job}"), &change).await;
        assert_eq!(status, 409, "{change}: {body}");
        assert!(body.to_string().contains("run by Wharf itself"), "{body}");
    }
    let (status, body) = app.post_json(&format!("/jobs/{job}/complete"), &json!({})).await;
    assert_eq!(status, 409, "{body}");
}

/// A receiver that answers 200 and hangs up halfway through its rejections, its answer
/// saying how long it is or (`sized` false) ending with the connection; its URL.
fn receiver_breaking_off(sized: bool) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                // The whole request is read (until it pauses), so the close is no reset.
                stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
                let mut buf = [0u8; 65536];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                let half = r#"{"rejections": {"id": "rj", "sheets": [{"sheetId": "#;
                let length = match sized {
                    true => "Content-Length: 4000",
                    false => "Connection: close",
                };
                let head =
                    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n\r\n{half}");
                let _ = stream.write_all(head.as_bytes());
            });
        }
    });
    format!("http://127.0.0.1:{port}/")
}

/// An answer that breaks off is no delivery: the rejections past the break would be lost,
/// and the job would say none came (probe 63d D6: "rejected: 0"). The job waits for its
/// next try and says why.
async fn an_answer_that_breaks_off_is_not_a_delivery(db: Db) {
    // Cut short against its length, or ending with its connection in the middle of its JSON
    // (probe 63e D2: the latter still counted as delivered).
    for (sized, says) in [(true, "broke off"), (false, "cut short or malformed")] {
        let app = spawn_app(db).await;
        let (_receiver, wb, _) = submit_ready(&app).await;
        let (_, hooks) = app.get_json("/webhooks").await;
        let hook = hooks["data"][0]["id"].as_str().unwrap();
        let url = receiver_breaking_off(sized);
        let (status, body) = app
            .patch_json(&format!("/webhooks/{hook}"), &json!({"url": url}))
            .await;
        assert_eq!(status, 200, "{body}");
        let job = start_submit(&app, &wb).await;
        let waiting = wait_job_until(&app, &job, 30, |j| {
            j["info"].as_str().is_some_and(|i| i.contains(says))
        })
        .await;
        assert_eq!(waiting["status"], "executing", "{waiting}");
        assert!(
            waiting["info"]
                .as_str()
                .unwrap()
                .contains("rejections were not applied"),
            "{waiting}"
        );
    }
}

on_both!(
    an_answer_that_breaks_off_is_not_a_delivery,
    a_submits_config_is_wharfs,
    odd_rejections_are_kept_readable,
    delete_submitted_spares_what_changed_or_never_went,
    an_answer_after_a_cancel_changes_nothing
);
