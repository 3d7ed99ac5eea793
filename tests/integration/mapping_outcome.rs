//! What an import's result says: how many records need fixing, and, for a sheet whose
//! changes the team's record hook checks (`trackChanges`), that the hook checks them next
//! (probe 62d D4: "all valid", then 40% in error once the hook ran).

use crate::helpers::*;
use crate::map_helpers::{map_job_for, run_job};
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
    let job = map_job_for(
        &app,
        &space,
        "people.csv",
        b"Name\nAda\nBob\n".to_vec(),
        &dest_wb,
        &dest,
    )
    .await;
    let done = run_job(&app, &job).await;
    assert_eq!(
        done["outcome"]["message"],
        "Mapped 2 records into People, all valid (as Wharf checks them; your team's record hook checks them next)",
        "{done}"
    );
}

on_both!(an_import_into_a_hooked_sheet_says_the_hook_checks_next);
