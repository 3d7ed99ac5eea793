//! Flatfile's space and workbook fields that listener code sets in `space:configure` and
//! reads back: `primaryWorkbookId`, `labels`, `access`, `settings`..., and a workbook's
//! `settings` (whose `trackChanges` a PATCH turns on for its sheets).

use crate::commits::{events_of, insert};
use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn workbook(app: &TestApp, space: &str, name: &str) -> String {
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": name, "spaceId": space,
                    "sheets": [{"name": name, "slug": "s", "fields": [{"key": "x", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    wb["data"]["id"].as_str().unwrap().to_string()
}

async fn a_space_keeps_its_flatfile_fields_and_primary_workbook(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let given = json!({"name": "Onboarding", "labels": ["pinned"], "access": ["*"],
                       "actions": [{"operation": "tour", "label": "Take the tour"}],
                       "settings": {"sidebarConfig": {"showSidebar": false}},
                       "translationsPath": "https://example.com/t.json", "displayOrder": 3});
    let (status, made) = app.post_json("/spaces", &given).await;
    assert_eq!(status, 200, "{made}");
    let space = made["data"]["id"].as_str().unwrap().to_string();
    let (_, got) = app.get_json(&format!("/spaces/{space}")).await;
    for key in [
        "labels",
        "access",
        "settings",
        "translationsPath",
        "displayOrder",
        "actions",
    ] {
        assert_eq!(got["data"][key], given[key], "{key}: {got}");
    }

    let first = workbook(&app, &space, "Alpha workbook").await;
    let second = workbook(&app, &space, "Beta workbook").await;
    let (_, got) = app.get_json(&format!("/spaces/{space}")).await;
    assert_eq!(
        got["data"]["primaryWorkbookId"],
        first.as_str(),
        "the oldest until one is set"
    );
    let (status, set) = app
        .patch_json(
            &format!("/spaces/{space}"),
            &json!({"primaryWorkbookId": second, "labels": null, "languageOverride": "fr"}),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["data"]["primaryWorkbookId"], second.as_str());
    assert_eq!(set["data"]["languageOverride"], "fr");
    assert!(
        set["data"].get("labels").is_none(),
        "null takes labels away: {set}"
    );
    assert_eq!(
        set["data"]["access"],
        json!(["*"]),
        "fields not given stay: {set}"
    );
    let page = app.page(&format!("/spaces/{space}")).await;
    let (a, b) = (
        page.find("Alpha workbook").unwrap(),
        page.find("Beta workbook").unwrap(),
    );
    assert!(b < a, "the primary workbook is listed first");

    // Another space's workbook, a bad shape, or a primary workbook for a space without any.
    let other = app.bare_space("Other").await;
    let theirs = workbook(&app, &other, "Theirs").await;
    for (body, field) in [
        (json!({"primaryWorkbookId": theirs}), "primaryWorkbookId"),
        (json!({"access": ["admin"]}), "access"),
        (json!({"displayOrder": "first"}), "displayOrder"),
    ] {
        let (status, refused) = app.patch_json(&format!("/spaces/{space}"), &body).await;
        assert_eq!(status, 422, "{body}: {refused}");
        assert!(refused.to_string().contains(field), "{refused}");
    }
    let (status, refused) = app
        .post_json("/spaces", &json!({"name": "New", "primaryWorkbookId": second}))
        .await;
    assert_eq!(status, 422, "{refused}");
    let (_, got) = app.get_json(&format!("/spaces/{space}")).await;
    assert_eq!(
        got["data"]["primaryWorkbookId"],
        second.as_str(),
        "nothing refused was kept"
    );

    // Its primary workbook deleted, the space's oldest one is primary again.
    assert_eq!(app.delete(&format!("/workbooks/{second}")).await.0, 200);
    let (_, got) = app.get_json(&format!("/spaces/{space}")).await;
    assert_eq!(got["data"]["primaryWorkbookId"], first.as_str());
}

/// The fields kept are bounded together, not per request.
async fn a_spaces_kept_fields_are_bounded_together(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Big").await;
    let half = "x".repeat(40 * 1024);
    let (status, _) = app
        .patch_json(&format!("/spaces/{space}"), &json!({"settings": {"a": half}}))
        .await;
    assert_eq!(status, 200);
    let (status, refused) = app
        .patch_json(&format!("/spaces/{space}"), &json!({"labels": [half]}))
        .await;
    assert_eq!(status, 422, "{refused}");
    let (_, got) = app.get_json(&format!("/spaces/{space}")).await;
    assert!(got["data"].get("labels").is_none(), "{}", got["data"]["labels"]);
}

/// Two updates at once of different fields both stay.
async fn concurrent_space_updates_keep_both_fields(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Busy").await;
    let updates = (0..8).map(|i| {
        let app = &app;
        let space = space.clone();
        async move {
            let body = match i % 2 {
                0 => json!({"labels": [format!("l{i}")]}),
                _ => json!({"displayOrder": i}),
            };
            app.patch_json(&format!("/spaces/{space}"), &body).await.0
        }
    });
    let statuses = futures_util::future::join_all(updates).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let (_, got) = app.get_json(&format!("/spaces/{space}")).await;
    assert!(got["data"]["labels"].is_array(), "{got}");
    assert!(got["data"]["displayOrder"].is_number(), "{got}");
}

async fn workbook_settings_are_kept_and_a_patch_tracks_changes(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Tracked").await;
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "W", "spaceId": space, "settings": {"noMappingRedirect": true},
                    "sheets": [{"name": "A", "slug": "a", "fields": [{"key": "x", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    assert_eq!(wb["data"]["settings"], json!({"noMappingRedirect": true}));
    let (status, elsewhere) = app
        .post_json(
            "/workbooks",
            &json!({"name": "X", "spaceId": space, "environmentId": "us_env_a1b2c3d4", "sheets": []}),
        )
        .await;
    assert_eq!(status, 404, "another environment's: {elsewhere}");
    let id = wb["data"]["id"].as_str().unwrap().to_string();
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let (status, bad) = app
        .patch_json(&format!("/workbooks/{id}"), &json!({"settings": "on"}))
        .await;
    assert_eq!(status, 422, "{bad}");
    let (status, patched) = app
        .patch_json(
            &format!("/workbooks/{id}"),
            &json!({"settings": {"trackChanges": true}}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let (_, got) = app.get_json(&format!("/workbooks/{id}")).await;
    assert_eq!(got["data"]["settings"], json!({"trackChanges": true}));
    let (status, bad) = app
        .patch_json(
            &format!("/workbooks/{id}"),
            &json!({"settings": {"trackChanges": "yes"}}),
        )
        .await;
    assert_eq!(status, 422, "{bad}");
    insert(&app, &sheet, json!([{"x": "1"}]), &[]).await;
    let created = events_of(&app, "commit:created").await;
    let event = created
        .iter()
        .find(|e| e["context"]["sheetId"] == sheet.as_str())
        .expect("commit:created");
    assert_eq!(event["payload"]["trackChanges"], true, "{event}");
    let (status, cleared) = app
        .patch_json(&format!("/workbooks/{id}"), &json!({"settings": null}))
        .await;
    assert_eq!(status, 200, "{cleared}");
    assert!(
        cleared["data"].get("settings").is_none(),
        "null takes them away: {cleared}"
    );
}

on_both!(
    a_spaces_kept_fields_are_bounded_together,
    a_space_keeps_its_flatfile_fields_and_primary_workbook,
    concurrent_space_updates_keep_both_fields,
    workbook_settings_are_kept_and_a_patch_tracks_changes,
);
