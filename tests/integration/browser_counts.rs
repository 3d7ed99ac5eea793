//! A narrowed view's count in Chromium: asked once the grid shows, and once again after
//! a live update, never in a loop (probe 62c D1: each refresh brought a count that
//! superseded it, which brought another refresh, for ever), the last count shown
//! meanwhile rather than "counting…".

use crate::browser::wait_for;
use crate::browser_grid::grid_with;
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

async fn a_live_update_counts_the_view_once_more(db: Db) {
    let app = spawn_app(db).await;
    let rows: Vec<Value> = (0..30)
        .map(|i| json!({"email": format!("p{i}@x.io"), "name": if i % 3 == 0 { "alpha" } else { "beta" }}))
        .collect();
    let (driver, sheet, _) = grid_with(&app, Value::Array(rows)).await;
    let c = &driver.client;
    let search = c.find(fantoccini::Locator::Css("#grid-q")).await.unwrap();
    search.send_keys("alpha\u{E007}").await.unwrap();
    let count = "(document.querySelector('#view-count') || {}).textContent";
    wait_for(c, &format!("{count} === '10 records match'"), "the view's count").await;
    c.execute(
        "window.counts = 0; document.addEventListener('htmx:beforeSend', function (e) {
           if (e.detail.requestConfig.path.indexOf('/count') >= 0) window.counts++;
         });",
        vec![],
    )
    .await
    .unwrap();
    let (status, _) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "new@x.io", "name": "alpha"}]),
        )
        .await;
    assert_eq!(status, 200);
    wait_for(
        c,
        &format!("{count} === '11 records match'"),
        "the count after the update",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let asked = c.execute("return window.counts;", vec![]).await.unwrap();
    assert_eq!(asked, json!(1), "one count for one update");
    assert_eq!(
        c.execute(&format!("return {count};"), vec![]).await.unwrap(),
        "11 records match"
    );
}

on_both!(a_live_update_counts_the_view_once_more);
