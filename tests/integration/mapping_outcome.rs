//! What an import's result says: how many records need fixing, and, for a sheet whose
//! changes the team's record hook checks (`trackChanges`), that the hook checks them next
//! (probe 62d D4: "all valid", then 40% in error once the hook ran).

use crate::api_mapping::create_map_job;
use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn an_import_into_a_hooked_sheet_says_the_hook_checks_next(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Hooked").await;
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Dest", "spaceId": space, "sheets": [{"name": "People", "slug": "people",
                "settings": {"trackChanges": true},
                "fields": [{"key": "name", "type": "string", "label": "Name"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let dest_wb = wb["data"]["id"].as_str().unwrap().to_string();
    let dest = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let file = app
        .upload_and_extract(&space, "people.csv", b"Name\nAda\nBob\n".to_vec())
        .await;
    let src_wb = file["workbookId"].as_str().unwrap().to_string();
    let (_, src) = app.get_json(&format!("/workbooks/{src_wb}")).await;
    let src_sheet = src["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let job = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &dest).await;
    let (status, _) = send(
        app.api(reqwest::Method::POST, &format!("/jobs/{job}/execute"))
            .header("content-length", "0"),
    )
    .await;
    assert_eq!(status, 200);
    let done = app.wait_job(&job).await;
    assert_eq!(
        done["outcome"]["message"],
        "Mapped 2 record(s) into People, all valid (as Wharf checks them; your team's record hook checks them next)",
        "{done}"
    );
}

on_both!(an_import_into_a_hooked_sheet_says_the_hook_checks_next);
