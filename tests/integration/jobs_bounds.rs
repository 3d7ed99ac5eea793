//! A job's words and JSON are bounded (they travel in its events to every webhook and
//! listener), and its lifecycle bodies are read as every API body is: NUL refused on both
//! databases, a body too large answered in the API's error shape.

use crate::helpers::*;
use crate::on_both;
use reqwest::Method;
use serde_json::json;

async fn job_bodies_are_bounded_and_checked(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Bounds").await;
    let huge = "i".repeat(300 * 1024);
    let body = json!({"type": "space", "operation": "odd", "source": space, "input": {"x": huge}});
    let (status, answer) = app.post_json("/jobs", &body).await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["errors"][0]["message"].as_str().unwrap().contains("input"),
        "{answer}"
    );
    let (_, list) = app.get_json(&format!("/jobs?spaceId={space}")).await;
    assert_eq!(list["pagination"]["totalCount"], 0, "no job made: {list}");

    let body = json!({"type": "space", "operation": "odd", "source": space, "trigger": "immediate"});
    let (status, job) = app.post_json("/jobs", &body).await;
    assert_eq!(status, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap().to_string();
    let (status, answer) = app
        .patch_json(&format!("/jobs/{id}"), &json!({"info": "w".repeat(20_000)}))
        .await;
    assert_eq!(status, 413, "{answer}");
    let (status, answer) = app
        .patch_json(&format!("/jobs/{id}"), &json!({"metadata": {"m": huge}}))
        .await;
    assert_eq!(status, 413, "{answer}");

    // The lifecycle calls: a NUL is a 422 on both databases, a big body the API's 413.
    let (status, answer) = app
        .post_json(
            &format!("/jobs/{id}/ack"),
            &json!({"info": "a\u{0}b", "progress": 3}),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    let (status, answer) = app
        .post_json(&format!("/jobs/{id}/ack"), &json!({"info": huge}))
        .await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["errors"][0]["key"], "too_large", "{answer}");
    // A body inflating past the API's limit: 413, with advice that fits the call.
    let bomb = {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"{\"info\": \"").unwrap();
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..65 {
            enc.write_all(&zeros).unwrap();
        }
        enc.write_all(b"\"}").unwrap();
        enc.finish().unwrap()
    };
    let (status, answer) = send(
        app.api(Method::POST, &format!("/jobs/{id}/ack"))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(bomb),
    )
    .await;
    assert_eq!(status, 413, "{answer}");
    let said = answer.to_string();
    assert!(
        said.contains("send a smaller body") && !said.contains("records"),
        "{said}"
    );
    // A bodyless call, as the official client sends one, still works.
    let (status, acked) = send(app.api(Method::POST, &format!("/jobs/{id}/ack"))).await;
    assert_eq!(status, 200, "{acked}");
    let outcome = json!({"outcome": {"message": huge}});
    let (status, answer) = app.post_json(&format!("/jobs/{id}/complete"), &outcome).await;
    assert_eq!(status, 413, "{answer}");
    let (status, done) = app
        .post_json(
            &format!("/jobs/{id}/complete"),
            &json!({"outcome": {"message": "done"}}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    let (_, events) = app
        .get_json(&format!("/events?spaceId={space}&domain=job&pageSize=100"))
        .await;
    assert!(
        events.to_string().len() < 64 * 1024,
        "no event carries the refused bodies"
    );
}

/// A job names the space it is filed under only as its source's: another space is a 422
/// naming both, not a job filed where the client does not look (probe 50a L1).
async fn a_job_filed_under_another_space_is_refused(db: Db) {
    let app = spawn_app(db).await;
    let (here, there) = (app.bare_space("Here").await, app.bare_space("There").await);
    let body = |space: &str| json!({"type": "space", "operation": "odd", "source": here, "spaceId": space});
    let (status, answer) = app.post_json("/jobs", &body(&there)).await;
    assert_eq!(status, 422, "{answer}");
    let text = answer.to_string();
    assert!(
        text.contains("spaceId") && text.contains(&here) && text.contains(&there),
        "{answer}"
    );
    let (_, list) = app.get_json(&format!("/jobs?spaceId={here}")).await;
    assert_eq!(list["pagination"]["totalCount"], 0, "no job made: {list}");
    let (status, job) = app.post_json("/jobs", &body(&here)).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["data"]["spaceId"], here.as_str(), "{job}");
}

on_both!(
    job_bodies_are_bounded_and_checked,
    a_job_filed_under_another_space_is_refused
);
