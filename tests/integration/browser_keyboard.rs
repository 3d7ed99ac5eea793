//! The dashboard with the keyboard alone: choices that apply at once wait for Enter when
//! stepped to with the arrow keys.

use crate::browser::wait_for;
use fantoccini::Client;
use serde_json::json;

/// On a page with the environment switcher showing the second of two environments.
pub(crate) async fn a_stepped_environment_waits_for_enter(c: &Client) {
    // Stepped to with an arrow key, a choice waits for Enter (probe 69c D1: the first
    // ArrowDown switched the environment).
    c.execute(
        "window.stayed = true; document.querySelector('#env-switch').focus();",
        vec![],
    )
    .await
    .unwrap();
    c.active_element()
        .await
        .unwrap()
        .send_keys("\u{E013}")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let stayed = c
        .execute(
            "return window.stayed === true && document.querySelector('#env-switch').selectedIndex === 0;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(stayed, json!(true), "an arrow key alone switches nothing");
    // Nor does a letter jumping to an option (probe 70a D7); Escape-free, Tab away keeps
    // the environment in force.
    let first_letter: String = c
        .execute(
            "return document.querySelector('#env-switch').options[1].text[0];",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    c.active_element()
        .await
        .unwrap()
        .send_keys(&first_letter)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let stayed = c.execute("return window.stayed === true;", vec![]).await.unwrap();
    assert_eq!(stayed, json!(true), "a letter alone switches nothing");
    c.execute("document.querySelector('#env-switch').selectedIndex = 0;", vec![])
        .await
        .unwrap();
    c.active_element()
        .await
        .unwrap()
        .send_keys("\u{E007}")
        .await
        .unwrap();
    wait_for(
        c,
        "window.stayed === undefined && document.querySelector('#env-switch').selectedIndex === 0",
        "the environment chosen with Enter",
    )
    .await;
}
