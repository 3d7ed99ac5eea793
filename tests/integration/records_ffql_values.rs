//! FFQL on values at the edges of their types, on both databases: whole numbers past what
//! a double holds, numbers as the grid shows them, and date cells that only look like dates.

use crate::helpers::*;
use crate::on_both;
use crate::records_ffql::{emails, people, urlencode};
use serde_json::{json, Value};

/// Whole numbers compare exactly, past what a double holds (2^53 + 1).
async fn big_whole_numbers_compare_exactly(db: Db) {
    let app = spawn_app(db).await;
    let path = people(&app).await;
    let big = json!([{"email": {"value": "big@x.io"}, "age": {"value": 9007199254740993_i64}}]);
    let (status, body) = app.post_json(&path, &big).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(emails(&app, &path, "age eq 9007199254740993").await, ["big@x.io"]);
    assert!(emails(&app, &path, "age eq 9007199254740992").await.is_empty());
    assert_eq!(emails(&app, &path, "age gt 9007199254740992").await, ["big@x.io"]);
}

on_both!(big_whole_numbers_compare_exactly);

/// A whole number past what a cell keeps exactly, sent as a JSON number, is kept as the
/// nearest double; a query naming it in digits finds it (it found nothing, and `gt` said
/// "not a number").
async fn whole_numbers_past_exact_are_found_by_their_digits(db: Db) {
    let app = spawn_app(db).await;
    let path = people(&app).await;
    let rows = r#"[{"email": {"value": "huge@x.io"}, "age": {"value": 100000000000000000000}},
                   {"email": {"value": "small@x.io"}, "age": {"value": 5}}]"#;
    let resp = app
        .api(reqwest::Method::POST, &path)
        .header("content-type", "application/json")
        .body(rows)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        emails(&app, &path, "age eq 100000000000000000000").await,
        ["huge@x.io"]
    );
    let others = emails(&app, &path, "age ne 100000000000000000000").await;
    assert!(
        others.contains(&"small@x.io".to_string()) && !others.contains(&"huge@x.io".to_string()),
        "{others:?}"
    );
    assert_eq!(
        emails(&app, &path, "age gt 99999999999999999999").await.len(),
        0,
        "the same double"
    );
    assert_eq!(
        emails(&app, &path, "age gt 10000000000000000000").await,
        ["huge@x.io"]
    );
}

on_both!(whole_numbers_past_exact_are_found_by_their_digits);

/// A number of 17 significant digits comes back as it was given, whether typed as text or
/// sent as a JSON number: stored values are read back exactly (not 1 ulp away, which a
/// fast float parser gives for about one such number in seven).
async fn numbers_of_seventeen_digits_come_back_exactly(db: Db) {
    let app = spawn_app(db).await;
    let path = people(&app).await;
    let rows = r#"[{"email": {"value": "text@x.io"}, "age": {"value": "125225785.65342857"}},
                   {"email": {"value": "json@x.io"}, "age": {"value": 130176911.46685715}}]"#;
    let resp = app
        .api(reqwest::Method::POST, &path)
        .header("content-type", "application/json")
        .body(rows)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let page = app.get_text(&path).await;
    for spelled in ["125225785.65342857", "130176911.46685715"] {
        assert!(page.contains(spelled), "{spelled} in {page}");
    }
    let sheet = path.trim_end_matches("/records");
    let csv = app.get_text(&format!("{sheet}/download")).await;
    assert!(
        csv.contains("125225785.65342857") && csv.contains("130176911.46685715"),
        "{csv}"
    );
    assert_eq!(
        emails(&app, &path, "age eq 125225785.65342857").await,
        ["text@x.io"]
    );
}

on_both!(numbers_of_seventeen_digits_come_back_exactly);

/// `like` sees a number as the grid shows it, however large or small.
async fn like_sees_numbers_as_shown(db: Db) {
    let app = spawn_app(db).await;
    let path = people(&app).await;
    let rows = json!([
        {"email": {"value": "huge@x.io"}, "age": {"value": 1e20}},
        {"email": {"value": "tiny@x.io"}, "age": {"value": "0.0000001"}}
    ]);
    let (status, body) = app.post_json(&path, &rows).await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app
        .get_json(&format!("{path}?q={}", urlencode("email eq huge@x.io")))
        .await;
    let shown = wharf::validate::display(&page["data"]["records"][0]["values"]["age"]["value"]);
    assert_eq!(
        emails(&app, &path, &format!("age like \"{shown}\"")).await,
        ["huge@x.io"]
    );
    assert_eq!(emails(&app, &path, "age like \"%e-7\"").await, ["tiny@x.io"]);
    assert!(emails(&app, &path, "age like \"%.0e+20\"").await.is_empty());
}

on_both!(like_sees_numbers_as_shown);

/// A date cell whose input only looked like a date (`2024-02-30`, the 29th of February of
/// a year that has none, a year before 1000) keeps that input, is in error, and takes no
/// part in date ranges; real days, leap days among them, do.
async fn date_ranges_leave_out_days_the_calendar_lacks(db: Db) {
    let app = spawn_app(db).await;
    let path = people(&app).await;
    let rows: Vec<Value> = [
        "2024-02-30",
        "2023-02-29",
        "1900-02-29",
        "2024-04-31",
        "0001-01-01",
        "2000-02-29",
        "2024-12-31",
    ]
    .iter()
    .map(|day| json!({"email": {"value": format!("{day}@x.io")}, "joined": {"value": day}}))
    .collect();
    let (status, body) = app.post_json(&path, &json!(rows)).await;
    assert_eq!(status, 200, "{body}");
    let valid: Vec<bool> = body["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["joined"]["valid"].as_bool().unwrap())
        .collect();
    assert_eq!(valid, [false, false, false, false, false, true, true]);
    assert_eq!(
        emails(&app, &path, "joined gt 1000-01-01 and email like \"%-%\"").await,
        ["2000-02-29@x.io", "2024-12-31@x.io"]
    );
    assert!(emails(&app, &path, "joined lt 1000-01-02").await.is_empty());
    assert_eq!(
        emails(&app, &path, "joined lte 2024-12-31 and joined gte 2024-02-01").await,
        // d@x.io joined on 2024-02-29.
        ["2024-12-31@x.io", "d@x.io"]
    );
}

on_both!(date_ranges_leave_out_days_the_calendar_lacks);

/// `lt` and `lte` on text ask for values before it: empty cells hold none and are left out
/// (they came first, as `""` sorts before every text); `eq ""` still finds them.
async fn text_before_a_value_leaves_empty_cells_out(db: Db) {
    let app = spawn_app(db).await;
    let path = people(&app).await;
    let mut before = emails(&app, &path, "tier lt \"z\"").await;
    before.sort();
    assert_eq!(before, ["a@x.io", "b@x.io", "d@x.io"]);
    // O'Brien has no email.
    let mut upto = emails(&app, &path, "email lte \"c@x.io\"").await;
    upto.sort();
    assert_eq!(upto, ["a@x.io", "b@x.io", "c@x.io"]);
    let empty = emails(&app, &path, "tier eq \"\"").await;
    assert!(empty.contains(&"c@x.io".to_string()), "{empty:?}");
    assert_eq!(
        emails(&app, &path, "tier lt \"z\" or tier eq \"\"").await.len(),
        5,
        "every record"
    );
}

on_both!(text_before_a_value_leaves_empty_cells_out);

/// An enum field compared with an option's label finds the records holding that option,
/// as the grid's values and the mapping screen show labels (probe 66h D10: `eq "Gold"`
/// found nothing); its value still finds them, and other texts find nothing.
async fn an_option_is_found_by_its_label(db: Db) {
    let app = spawn_app(db).await;
    let path = people(&app).await;
    let mut by_value = emails(&app, &path, "tier eq gold").await;
    by_value.sort();
    assert_eq!(by_value, ["a@x.io", "d@x.io"]);
    for label in ["tier eq \"Gold\"", "tier eq GOLD", "Tier eq \"gold\""] {
        let mut found = emails(&app, &path, label).await;
        found.sort();
        assert_eq!(found, by_value, "{label}");
    }
    let mut silver = emails(&app, &path, "tier eq Silver").await;
    silver.sort();
    assert_eq!(silver, ["b@x.io"]);
    assert!(emails(&app, &path, "tier eq Bronze").await.is_empty());
    // Not equal to a label leaves out that option's records.
    let mut others = emails(&app, &path, "tier ne \"Gold\"").await;
    others.sort();
    assert!(!others.contains(&"a@x.io".to_string()), "{others:?}");
}

on_both!(an_option_is_found_by_its_label);

/// An option-list field is queried by its options' labels too: `contains` an item, `eq`
/// the list as the cell shows it (probe 69e D1: `tags contains "Alpha"` found nothing).
async fn an_option_list_is_queried_by_labels(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Lists").await;
    let options = json!([{"value": "a", "label": "Alpha"}, {"value": "b", "label": "Beta"}]);
    let wb = json!({"name": "W", "spaceId": space, "sheets": [{"name": "S", "slug": "s", "fields": [
        {"key": "email", "type": "string"},
        {"key": "tags", "type": "enum-list", "label": "Tags", "config": {"options": options}}]}]});
    let (status, wb) = app.post_json("/workbooks", &wb).await;
    assert_eq!(status, 200, "{wb}");
    let path = format!(
        "/sheets/{}/records",
        wb["data"]["sheets"][0]["id"].as_str().unwrap()
    );
    let rows = json!([{"email": "one@x.io", "tags": ["a"]}, {"email": "both@x.io", "tags": ["a", "b"]},
                      {"email": "typed@x.io", "tags": ["Alpha"]}, {"email": "none@x.io"}]);
    let (status, body) = app.post_json(&path, &rows).await;
    assert_eq!(status, 200, "{body}");
    for q in [
        "tags contains a",
        "tags contains \"Alpha\"",
        "Tags contains alpha",
    ] {
        let mut found = emails(&app, &path, q).await;
        found.sort();
        assert_eq!(found, ["both@x.io", "one@x.io", "typed@x.io"], "{q}");
    }
    assert_eq!(emails(&app, &path, "tags contains Beta").await, ["both@x.io"]);
    assert_eq!(
        emails(&app, &path, "tags eq \"Alpha, Beta\"").await,
        ["both@x.io"]
    );
    assert_eq!(emails(&app, &path, "tags eq \"a, b\"").await, ["both@x.io"]);
    assert!(emails(&app, &path, "tags contains Gamma").await.is_empty());
}

on_both!(an_option_list_is_queried_by_labels);
