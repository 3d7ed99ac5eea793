//! Reads whose cost the request decides have a time budget (`WHARF_READ_SECONDS`) and take at
//! most half the pool: queries made to be slow are stopped with a message, and meanwhile
//! `/health`, saves and plain pages go on.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;
use std::time::{Duration, Instant};
use wharf::db::budget::{self, Budgeted};

/// A statement that would run for long is stopped once the budget is spent, on the
/// connection it ran on, which then serves the next read as usual.
async fn a_read_past_its_budget_is_stopped(db: Db) {
    let app = spawn_app(db).await;
    let mut conn = app.pool.get().unwrap();
    let slow = match db {
        Db::Sqlite => {
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
        }
        Db::Postgres => "SELECT pg_sleep(30)",
    };
    let started = Instant::now();
    let got = budget::within(&mut conn, Duration::from_millis(300), |c| {
        diesel::RunQueryDsl::execute(diesel::sql_query(slow), c)
    });
    assert!(matches!(got, Budgeted::OverBudget), "{got:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The budget ends with the read: the same connection runs on without one.
    let fine = budget::within(&mut conn, Duration::from_secs(5), |c| {
        diesel::RunQueryDsl::execute(diesel::sql_query("SELECT 1"), c)
    });
    assert!(matches!(fine, Budgeted::Done(Ok(_))), "{fine:?}");
    let outside = diesel::RunQueryDsl::execute(
        diesel::sql_query(match db {
            Db::Sqlite => "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT count(*) FROM n",
            Db::Postgres => "SELECT pg_sleep(0.5)",
        }),
        &mut conn,
    );
    assert!(outside.is_ok(), "no budget outside a budgeted read: {outside:?}");
}

/// Three clients send a `q` of 80 `ilike` conditions made to be slow on a sheet of long
/// values: each is answered 422 saying what to do once the budget is spent, and meanwhile
/// `/health`, an insert and a plain page answer at once.
async fn slow_queries_are_stopped_and_leave_the_rest_served(db: Db) {
    let app = spawn_app_with(db, |s| s.read_budget = Duration::from_millis(500)).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let long = "a".repeat(400);
    for batch in 0..4 {
        let records: Vec<_> = (0..1000)
            .map(|i| json!({"email": format!("p{batch}-{i}@x.org"), "name": format!("{long}{i}")}))
            .collect();
        let (status, body) = app
            .post_json(&format!("/sheets/{sheet}/records"), &json!(records))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // Each condition its own, so no planner folds them into one.
    let q = (0..80)
        .map(|i| format!("name ilike \"%{}z{i}\"", "%a".repeat(14)))
        .collect::<Vec<_>>()
        .join(" or ");
    let slow = |app: &TestApp| {
        let req = app
            .api(reqwest::Method::GET, &format!("/sheets/{sheet}/records"))
            .query(&[("q", q.as_str()), ("pageSize", "5")]);
        async move {
            let started = Instant::now();
            let answer = send(req).await;
            (answer, started.elapsed())
        }
    };
    let slow_ones = futures_util::future::join_all((0..6).map(|_| slow(&app)));
    let others = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        let health = app.client.get(app.url("/health")).send().await.unwrap().status();
        let (inserted, body) = app
            .post_json(
                &format!("/sheets/{sheet}/records"),
                &json!([{"email": "late@x.org", "name": "Late"}]),
            )
            .await;
        assert_eq!(inserted, 200, "{body}");
        // A plain page and a read by ids wait for no slow query (four are queued for the
        // gate now, behind two running).
        let plain_started = Instant::now();
        let (plain, page) = app.get_json(&format!("/sheets/{sheet}/records?pageSize=5")).await;
        let id = page["data"]["records"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (by_id, _) = app.get_json(&format!("/sheets/{sheet}/records?ids={id}")).await;
        assert_eq!(by_id, 200);
        let plain_took = plain_started.elapsed();
        assert!(
            plain_took < Duration::from_millis(800),
            "plain reads waited {plain_took:?}"
        );
        (health, plain, started.elapsed())
    };
    let (slow_answers, (health, plain, others_took)) = tokio::join!(slow_ones, others);
    assert_eq!(health, 200);
    assert_eq!(plain, 200);
    assert!(
        others_took < Duration::from_secs(3),
        "others waited {others_took:?}"
    );
    for ((status, body), took) in slow_answers {
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"][0]["key"], "query", "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("stopped after 0.5 s"), "{message}");
        // Two run at once (half of the tests' pool of 4), the others after them.
        assert!(took < Duration::from_secs(8), "{took:?}");
    }
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 4001);
    // A download of the slow selection says so before it starts, rather than stopping
    // after its header row.
    let (status, body) = send(
        app.api(reqwest::Method::GET, &format!("/sheets/{sheet}/download"))
            .query(&[("q", q.as_str())]),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["key"], "query", "{body}");
    // So does the grid's "Delete all shown", which counts the whole selection, for its
    // confirmation and again at the click.
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let view = [("q", format!("filter: {q}"))];
    let started = Instant::now();
    let confirm = app
        .client
        .get(app.url(&format!("/grid/{sheet}/bulk/delete")))
        .query(&view)
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status().as_u16(), 422);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let csrf = app.csrf("/spaces").await;
    let click = app
        .client
        .post(app.url(&format!("/grid/{sheet}/bulk/delete")))
        .header("HX-Request", "true")
        .form(&[("q", format!("filter: {q}")), ("csrf_token", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(click.status().as_u16(), 422);
    let (_, after) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(after["data"]["counts"]["total"], 4001, "nothing deleted");
}

/// A page of records holds at most 64 MiB of values: one asking for more records of huge
/// cells is answered 422 saying to ask for fewer, and a smaller page is read as usual.
async fn a_page_of_huge_cells_is_bounded_in_bytes(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let huge = "n".repeat(1024 * 1024 - 16);
    for batch in 0..5 {
        let records: Vec<_> = (0..16)
            .map(|i| json!({"email": format!("h{batch}-{i}@x.org"), "name": huge}))
            .collect();
        let (status, body) = app
            .post_json(&format!("/sheets/{sheet}/records"), &json!(records))
            .await;
        assert_eq!(
            status,
            200,
            "{}",
            &body.to_string()[..200.min(body.to_string().len())]
        );
    }
    let (status, body) = app
        .get_json(&format!("/sheets/{sheet}/records?pageSize=80"))
        .await;
    assert_eq!(
        status,
        422,
        "{}",
        &body.to_string()[..300.min(body.to_string().len())]
    );
    assert_eq!(body["errors"][0]["key"], "pageSize", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("more than 64 MiB") && message.contains("fewer records"),
        "{message}"
    );
    let (status, body) = app
        .get_json(&format!("/sheets/{sheet}/records?pageSize=40"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["records"].as_array().unwrap().len(), 40);
}

/// A `like` whose every row costs long inside the matching function (cells of 200 KB, a
/// pattern of 2,000 `a_`): SQLite's handler counts only its own steps, few here, so the
/// function itself stops matching once the budget is spent, and the read is a 422, never a
/// 200 that missed the rows after the deadline.
async fn a_like_costly_in_each_cell_is_stopped_too(db: Db) {
    let app = spawn_app_with(db, |s| s.read_budget = Duration::from_millis(150)).await;
    let space = app.bare_space("Long").await;
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "W", "spaceId": space,
            "sheets": [{"name": "S", "slug": "s", "fields": [{"key": "t", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let cell = "a".repeat(200_000);
    let records: Vec<_> = (0..40).map(|_| json!({"t": {"value": cell}})).collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(records))
        .await;
    assert_eq!(status, 200, "{body}");
    let q = format!("t like \"%{}b%\"", "a_".repeat(2000));
    let started = Instant::now();
    let (status, body) = send(
        app.api(reqwest::Method::GET, &format!("/sheets/{sheet}/records"))
            .query(&[("q", q.as_str()), ("pageSize", "5")]),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

on_both!(
    a_like_costly_in_each_cell_is_stopped_too,
    a_page_of_huge_cells_is_bounded_in_bytes,
    a_read_past_its_budget_is_stopped,
    slow_queries_are_stopped_and_leave_the_rest_served,
);
