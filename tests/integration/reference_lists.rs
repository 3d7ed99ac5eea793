//! `reference-list` fields: several references in one cell, each checked against the
//! target field when written and again when a target value appears or goes, with the
//! records of all its items as `links`.

use crate::helpers::*;
use crate::map_helpers::run_job;
use crate::on_both;
use serde_json::{json, Value};
use std::sync::Arc;

fn workbook(space: &str, tags: Value) -> Value {
    json!({"name": "W", "spaceId": space, "sheets": [
        {"name": "Tags", "slug": "tags", "fields": [
            {"key": "code", "type": "string", "label": "Code", "constraints": [{"type": "unique"}]}]},
        {"name": "Posts", "slug": "posts", "fields": [
            {"key": "title", "type": "string"},
            tags]}]})
}

fn tags_field() -> Value {
    json!({"key": "tags", "type": "reference-list", "label": "Tags", "config": {"ref": "tags", "key": "code"}})
}

async fn sheets(app: &TestApp) -> (String, String) {
    let space = app.bare_space("Lists").await;
    let (status, wb) = app.post_json("/workbooks", &workbook(&space, tags_field())).await;
    assert_eq!(status, 200, "{wb}");
    let ids: Vec<String> = wb["data"]["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    (ids[0].clone(), ids[1].clone())
}

/// Each post's title, tags value, validity and message texts on its tags cell, by title.
async fn posts(app: &TestApp, sheet: &str) -> Vec<(String, Value, bool, Vec<String>)> {
    let (status, page) = app
        .get_json(&format!("/sheets/{sheet}/records?pageSize=1000"))
        .await;
    assert_eq!(status, 200, "{page}");
    let mut out: Vec<_> = page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let cell = &r["values"]["tags"];
            let texts = cell["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["message"].as_str().unwrap().to_string())
                .collect();
            (
                r["values"]["title"]["value"].as_str().unwrap().to_string(),
                cell["value"].clone(),
                r["valid"] == true,
                texts,
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

async fn counts(app: &TestApp, sheet: &str) -> (i64, i64) {
    let (_, c) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    let c = &c["data"]["counts"];
    (c["valid"].as_i64().unwrap(), c["error"].as_i64().unwrap())
}

async fn each_item_must_name_a_target_record(db: Db) {
    let app = spawn_app(db).await;
    let (tags, posts_sheet) = sheets(&app).await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{tags}/records"),
            &json!([{"code": "rust"}, {"code": "web"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let tag_ids = record_ids(&body);
    let (status, body) = app
        .post_json(
            &format!("/sheets/{posts_sheet}/records"),
            &json!([
                {"title": "a", "tags": ["rust", "web"]},
                {"title": "b", "tags": "rust; web, rust"},
                {"title": "c", "tags": ["rust", "go", "zig"]},
                {"title": "d"}
            ]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let got = posts(&app, &posts_sheet).await;
    assert_eq!(got[0].1, json!(["rust", "web"]));
    assert_eq!(
        got[1].1,
        json!(["rust", "web"]),
        "text split at , and ;, each record once"
    );
    assert!(got[0].2 && got[1].2 && got[3].2, "{got:?}");
    assert!(!got[2].2, "{got:?}");
    assert_eq!(
        got[2].3,
        ["Tags \"go, zig\" matches no record in Tags"],
        "names those that match nothing"
    );
    assert_eq!(counts(&app, &posts_sheet).await, (3, 1));

    // A target value appearing fixes the post that names it only once all its items are there.
    let (status, body) = app
        .post_json(&format!("/sheets/{tags}/records"), &json!([{"code": "go"}]))
        .await;
    assert_eq!(status, 200, "{body}");
    let got = posts(&app, &posts_sheet).await;
    assert_eq!(got[2].3, ["Tags \"zig\" matches no record in Tags"]);
    let (status, body) = app
        .post_json(&format!("/sheets/{tags}/records"), &json!([{"code": "zig"}]))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(posts(&app, &posts_sheet).await[2].2);
    assert_eq!(counts(&app, &posts_sheet).await, (4, 0));

    // A target value going breaks every post naming it; renaming it back mends them.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{tags}/records"),
            &json!([{"id": tag_ids[1], "values": {"code": {"value": "www"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let got = posts(&app, &posts_sheet).await;
    let broken: Vec<&str> = got.iter().filter(|p| !p.2).map(|p| p.0.as_str()).collect();
    assert_eq!(broken, ["a", "b"]);
    assert_eq!(counts(&app, &posts_sheet).await, (2, 2));
    let (status, body) = app
        .delete(&format!("/sheets/{tags}/records?ids={}", tag_ids[0]))
        .await;
    assert_eq!(status, 200, "{body}");
    let got = posts(&app, &posts_sheet).await;
    assert_eq!(got[0].3, ["Tags \"rust, web\" matches no record in Tags"]);
    assert!(!got[2].2, "c names rust too: {got:?}");
    assert_eq!(counts(&app, &posts_sheet).await, (1, 3));

    // Links: the records of every item.
    let (status, body) = app
        .post_json(&format!("/sheets/{tags}/records"), &json!([{"code": "rust"}]))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, page) = app
        .get_json(&format!(
            "/sheets/{posts_sheet}/records?includeLinks=true&pageSize=10"
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    let c = page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["values"]["title"]["value"] == "c")
        .unwrap();
    let linked: Vec<&str> = c["values"]["tags"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["values"]["code"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(linked.len(), 3, "{c}");
    for code in ["rust", "go", "zig"] {
        assert!(linked.contains(&code), "{linked:?}");
    }
    assert!(posts(&app, &posts_sheet).await[2].2);
}

on_both!(each_item_must_name_a_target_record);

/// Unique reference-lists and references to one are refused where written, and through
/// `sheets.addField` too.
async fn what_a_reference_list_cannot_be(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Bad lists").await;
    let mut unique = tags_field();
    unique["constraints"] = json!([{"type": "unique"}]);
    let (status, bad) = app.post_json("/workbooks", &workbook(&space, unique)).await;
    assert_eq!(status, 422, "{bad}");
    assert!(bad.to_string().contains("cannot be unique"), "{bad}");
    let (tags, posts_sheet) = sheets(&app).await;
    let _ = tags;
    let (status, bad) = app
        .post_json(
            &format!("/sheets/{posts_sheet}/fields"),
            &json!({"key": "again", "type": "reference", "config": {"ref": "posts", "key": "tags"}}),
        )
        .await;
    assert_eq!(status, 422, "{bad}");
    assert!(bad.to_string().contains("is a reference-list"), "{bad}");
}

on_both!(what_a_reference_list_cannot_be);

/// One write touching two values that many posts name together re-checks each post once:
/// the counts stay true (probe 61d D1: counted twice, they went negative); a reference
/// cannot point at a list field either (D2: it matched the list's joined text).
async fn a_write_touching_two_named_values_counts_each_post_once(db: Db) {
    let app = spawn_app(db).await;
    let (tags, posts_sheet) = sheets(&app).await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{tags}/records"),
            &json!([{"code": "a"}, {"code": "b"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let tag_ids = record_ids(&body);
    let posts: Vec<Value> = (0..2100)
        .map(|i| json!({"title": format!("p{i}"), "tags": ["a", "b"]}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{posts_sheet}/records"), &json!(posts))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(counts(&app, &posts_sheet).await, (2100, 0));
    let renamed: Vec<Value> = tag_ids
        .iter()
        .map(|id| json!({"id": id, "values": {"code": {"value": format!("{id}-x")}}}))
        .collect();
    let (status, body) = app
        .put_json(&format!("/sheets/{tags}/records"), &json!(renamed))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(counts(&app, &posts_sheet).await, (0, 2100));
    let (status, body) = app
        .post_json(
            &format!("/sheets/{tags}/records"),
            &json!([{"code": "a"}, {"code": "b"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(counts(&app, &posts_sheet).await, (2100, 0));

    let space = app.bare_space("List targets").await;
    let wb = json!({"name": "W", "spaceId": space, "sheets": [
        {"name": "Tags", "slug": "tags", "fields": [{"key": "code", "type": "string-list"}]},
        {"name": "Posts", "slug": "posts", "fields": [tags_field()]}]});
    let (status, bad) = app.post_json("/workbooks", &wb).await;
    assert_eq!(status, 422, "{bad}");
    assert!(bad.to_string().contains("is a string-list"), "{bad}");
}

on_both!(a_write_touching_two_named_values_counts_each_post_once);

/// Eight writers add posts naming tags while others add and rename tags: afterwards each
/// post is valid exactly when every tag it names exists, and the counts say so.
async fn many_writers_keep_reference_lists_true(db: Db) {
    let app = Arc::new(spawn_app(db).await);
    let (tags, posts_sheet) = sheets(&app).await;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (app, tags, posts_sheet) = (app.clone(), tags.clone(), posts_sheet.clone());
        tasks.push(tokio::spawn(async move {
            for round in 0..5 {
                if w % 2 == 0 {
                    let (status, body) = app
                        .post_json(&format!("/sheets/{tags}/records"), &json!([{"code": format!("t{w}-{round}")}]))
                        .await;
                    assert_eq!(status, 200, "{body}");
                    if round % 2 == 1 {
                        let id = record_ids(&body)[0].clone();
                        let (status, body) = app
                            .put_json(&format!("/sheets/{tags}/records"), &json!([{"id": id, "values": {"code": {"value": format!("gone{w}-{round}")}}}]))
                            .await;
                        assert_eq!(status, 200, "{body}");
                    }
                } else {
                    let named: Vec<String> = (0..3).map(|k| format!("t{}-{}", (w + k) % 8 / 2 * 2, (round + k) % 5)).collect();
                    let (status, body) = app
                        .post_json(&format!("/sheets/{posts_sheet}/records"), &json!([{"title": format!("{w}-{round}"), "tags": named}]))
                        .await;
                    assert_eq!(status, 200, "{body}");
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (_, page) = app
        .get_json(&format!("/sheets/{tags}/records?pageSize=1000"))
        .await;
    let codes: std::collections::HashSet<String> = page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["code"]["value"].as_str().unwrap().to_string())
        .collect();
    let got = posts(&app, &posts_sheet).await;
    assert_eq!(got.len(), 20);
    let mut errors = 0;
    for (title, value, valid, _) in &got {
        let all_there = value
            .as_array()
            .unwrap()
            .iter()
            .all(|t| codes.contains(t.as_str().unwrap()));
        assert_eq!(*valid, all_there, "{title}: {value}");
        errors += (!valid) as i64;
    }
    assert_eq!(counts(&app, &posts_sheet).await, (20 - errors, errors));
}

on_both!(many_writers_keep_reference_lists_true);

/// A JSON file's lists, extracted and mapped onto a reference-list, are lists (probe 62b D1:
/// their JSON text was cut at its commas, `["rust"` matching nothing).
async fn a_json_files_lists_map_onto_a_reference_list(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Lists").await;
    let (status, wb) = app.post_json("/workbooks", &workbook(&space, tags_field())).await;
    assert_eq!(status, 200, "{wb}");
    let dest_wb = wb["data"]["id"].as_str().unwrap().to_string();
    let tags = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let posts_sheet = wb["data"]["sheets"][1]["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .post_json(
            &format!("/sheets/{tags}/records"),
            &json!([{"code": "rust"}, {"code": "web, css"}]),
        )
        .await;
    assert_eq!(status, 200);
    let file = json!([
        {"title": "a", "tags": ["rust", "web, css"]},
        {"title": "b", "tags": "rust; go"},
        {"title": "c", "tags": ["rust"]}
    ]);
    let file = app
        .upload_and_extract(&space, "posts.json", file.to_string().into_bytes())
        .await;
    assert_eq!(file["status"], "complete", "{file}");
    let src_wb = file["workbookId"].as_str().unwrap().to_string();
    let (_, src) = app.get_json(&format!("/workbooks/{src_wb}")).await;
    let src_sheet = src["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let job = crate::api_mapping::create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &posts_sheet).await;
    let done = run_job(&app, &job).await;
    assert_eq!(done["status"], "complete", "{done}");
    let got = posts(&app, &posts_sheet).await;
    assert_eq!(
        got[0].1,
        json!(["rust", "web, css"]),
        "a list stays whole, items and all"
    );
    assert!(got[0].2, "{got:?}");
    assert_eq!(got[1].1, json!(["rust", "go"]), "text is still split");
    assert!(!got[1].2, "go matches nothing: {got:?}");
    assert_eq!(got[2].1, json!(["rust"]));
    assert!(got[2].2, "{got:?}");
    assert_eq!(counts(&app, &posts_sheet).await, (2, 1));
}

on_both!(a_json_files_lists_map_onto_a_reference_list);
