//! `PATCH /v1/workbooks/{id}` with `sheets` (Flatfile's `workbooks.update(id, {sheets})`):
//! a sheet named by id or slug takes the config given (names, labels, actions), a sheet the
//! workbook lacks is added, and nothing that changes how records read goes in this way
//! (probe 57c: every such update was a 422).

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

fn people(label: &str, actions: Value) -> Value {
    json!({"name": "People", "slug": "people", "actions": actions, "fields": [
        {"key": "name", "type": "string", "label": label},
        {"key": "email", "type": "string", "constraints": [{"type": "unique"}]},
    ]})
}

async fn sheets_of(app: &TestApp, wb: &str) -> Vec<Value> {
    let (status, body) = app.get_json(&format!("/workbooks/{wb}")).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["sheets"].as_array().unwrap().clone()
}

async fn a_workbooks_sheets_change_and_grow_through_its_update(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Sheets").await;
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "CRM", "spaceId": space, "sheets": [people("Name", json!([]))]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let wb = wb["data"]["id"].as_str().unwrap().to_string();
    let sheet = sheets_of(&app, &wb).await[0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"name": "Ada", "email": "ada@x.org"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let path = format!("/workbooks/{wb}");
    let patch = |body: Value| {
        let (app, path) = (&app, &path);
        async move { app.patch_json(path, &body).await }
    };

    // Named by its id: a new label and an action; the records stay.
    let mut changed = people("Full name", json!([{"operation": "dedupe", "label": "Dedupe"}]));
    changed["id"] = json!(sheet);
    let (status, body) = patch(json!({"sheets": [changed]})).await;
    assert_eq!(status, 200, "{body}");
    let sheets = sheets_of(&app, &wb).await;
    assert_eq!(sheets.len(), 1);
    assert_eq!(
        sheets[0]["config"]["fields"][0]["label"], "Full name",
        "{}",
        sheets[0]
    );
    assert_eq!(
        sheets[0]["config"]["actions"][0]["operation"], "dedupe",
        "{}",
        sheets[0]
    );
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 1, "{counts}");

    // A slug the workbook lacks: a new sheet, whose reference to the first reads.
    let companies = json!({"name": "Companies", "slug": "companies", "fields": [
        {"key": "title", "type": "string"},
        {"key": "owner", "type": "reference", "config": {"ref": "people", "key": "email"}},
    ]});
    let (status, body) = patch(json!({"sheets": [companies]})).await;
    assert_eq!(status, 200, "{body}");
    let sheets = sheets_of(&app, &wb).await;
    assert_eq!(sheets.len(), 2, "{sheets:?}");
    assert_eq!(sheets[1]["slug"], "companies");
    let added = sheets[1]["id"].as_str().unwrap();
    let (status, body) = app
        .post_json(
            &format!("/sheets/{added}/records"),
            &json!([{"title": "Acme", "owner": "ada@x.org"}, {"title": "Nope", "owner": "who@x.org"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, counts) = app.get_json(&format!("/sheets/{added}/counts")).await;
    assert_eq!(
        counts["data"]["counts"]["error"], 1,
        "the unknown owner: {counts}"
    );
    let (_, events) = app
        .get_json("/events?topic=sheet:created&includeAcknowledged=true")
        .await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1, "{events}");

    // Refused, with nothing changed: a field added here (records would not be re-checked),
    // a reference to a sheet the workbook lacks, the slug a reference reads, an id of no
    // sheet of the workbook, the same sheet twice.
    let mut wider = people("Full name", json!([]));
    wider["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "age", "type": "number"}));
    let nowhere = json!({"name": "Deals", "slug": "deals", "fields": [
        {"key": "firm", "type": "reference", "config": {"ref": "firms", "key": "title"}}]});
    let mut moved = people("Full name", json!([]));
    moved["slug"] = json!("persons");
    moved["id"] = json!(sheet);
    let mut twice = people("Full name", json!([]));
    twice["id"] = json!(sheet);
    for (body, says) in [
        (json!({"sheets": [wider]}), "$.sheets[0].fields"),
        (json!({"sheets": [nowhere]}), "$.sheets[0].fields[0].config.ref"),
        (json!({"sheets": [moved]}), "Companies"),
        (
            json!({"sheets": [{"id": "us_sh_nothere1", "name": "X"}]}),
            "$.sheets[0].id",
        ),
        (
            json!({"sheets": [twice.clone(), people("Again", json!([]))]}),
            "named twice",
        ),
        (json!({"sheets": "people"}), "sheets"),
        // A workbook stays in its space: another one moved nothing, answered 200 (probe 65e D6).
        (json!({"spaceId": app.bare_space("Elsewhere").await}), "spaceId"),
        // Past the most sheets a workbook holds: a 500 before (probe 65c D7).
        (
            json!({"sheets": (0..101).map(|i| json!({"name": format!("S{i}"), "slug": format!("s{i}"),
                "fields": [{"key": "a", "type": "string"}]})).collect::<Vec<_>>()}),
            "at most 100",
        ),
    ] {
        let (status, answer) = patch(body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert!(answer.to_string().contains(says), "{says}: {answer}");
    }
    let sheets = sheets_of(&app, &wb).await;
    assert_eq!(sheets.len(), 2, "{sheets:?}");
    assert_eq!(sheets[0]["slug"], "people");
    assert_eq!(sheets[0]["config"]["fields"].as_array().unwrap().len(), 2);
    assert_eq!(sheets[0]["config"]["fields"][0]["label"], "Full name");
}

/// Sheet configs changed through the workbook while 4 clients insert records: every insert
/// and every change is answered 200, and the counts hold every record.
async fn sheet_changes_beside_writers_lose_nothing(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Busy").await;
    let (_, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "CRM", "spaceId": space, "sheets": [people("Name", json!([]))]}),
        )
        .await;
    let wb = wb["data"]["id"].as_str().unwrap().to_string();
    let sheet = sheets_of(&app, &wb).await[0]["id"].as_str().unwrap().to_string();
    let writers = (0..4).map(|w| {
        let (app, sheet) = (&app, &sheet);
        async move {
            for batch in 0..10 {
                let rows: Vec<Value> = (0..50)
                    .map(|i| json!({"name": "x", "email": format!("{w}-{batch}-{i}@x.org")}))
                    .collect();
                let (status, body) = app
                    .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
                    .await;
                assert_eq!(status, 200, "{body}");
            }
        }
    });
    let changes = async {
        for n in 0..10 {
            let mut config = people(&format!("Name {n}"), json!([]));
            config["id"] = json!(sheet);
            let extra = json!({"name": format!("Extra {n}"), "slug": format!("extra-{n}"),
                               "fields": [{"key": "a", "type": "string"}]});
            let (status, body) = app
                .patch_json(&format!("/workbooks/{wb}"), &json!({"sheets": [config, extra]}))
                .await;
            assert_eq!(status, 200, "{body}");
        }
    };
    futures_util::future::join(futures_util::future::join_all(writers), changes).await;
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 2000, "{counts}");
    assert_eq!(counts["data"]["counts"]["error"], 0, "{counts}");
    assert_eq!(sheets_of(&app, &wb).await.len(), 11);
}

/// Eight updates adding the same slug to a workbook with no sheet at once: one sheet
/// (probe 57d F2: PostgreSQL kept up to five, and every update after them was refused).
/// A file's workbook keeps its sheets even with its metadata changed (F4), and a sheet's
/// metadata is an object (F1).
async fn same_slug_added_at_once_makes_one_sheet(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Race").await;
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Empty", "spaceId": space, "sheets": []}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let wb = wb["data"]["id"].as_str().unwrap().to_string();
    let only = json!({"name": "Only", "slug": "only", "fields": [{"key": "a", "type": "string"}]});
    let (path, body) = (format!("/workbooks/{wb}"), json!({"sheets": [only]}));
    let updates = (0..8).map(|_| app.patch_json(&path, &body));
    for (status, body) in futures_util::future::join_all(updates).await {
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(sheets_of(&app, &wb).await.len(), 1);
    let (status, body) = app
        .patch_json(
            &format!("/workbooks/{wb}"),
            &json!({"sheets": [{"slug": "only", "name": "Only", "metadata": "x", "fields": [{"key": "a", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["key"], "$.sheets[0].metadata", "{body}");

    let file = app
        .upload_and_extract(&space, "people.csv", b"a,b\n1,2\n".to_vec())
        .await;
    let file_wb = file["workbookId"].as_str().unwrap().to_string();
    let (status, body) = app
        .patch_json(&format!("/workbooks/{file_wb}"), &json!({"metadata": {}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .patch_json(&format!("/workbooks/{file_wb}"), &json!({"sheets": [only]}))
        .await;
    assert_eq!(status, 422, "a file's workbook: {body}");
    // Nor is one of its sheets deleted alone (probe 69b D6): the file is, with them.
    let (_, wb) = app.get_json(&format!("/workbooks/{file_wb}")).await;
    let file_sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = app.delete(&format!("/sheets/{file_sheet}")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("delete the file"), "{body}");
    let (status, _) = app.get_json(&format!("/sheets/{file_sheet}")).await;
    assert_eq!(status, 200, "the sheet stays");
    // A team's workbook a file was pointed at is still the team's (probe 70a D2).
    let (status, team) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Team", "spaceId": space, "sheets": [only.clone(), {"name": "B", "slug": "b", "fields": [{"key": "x", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{team}");
    let file_id = file["id"].as_str().unwrap();
    let team_wb = team["data"]["id"].as_str().unwrap();
    let (status, body) = app
        .patch_json(&format!("/files/{file_id}"), &json!({"workbookId": team_wb}))
        .await;
    assert_eq!(status, 200, "{body}");
    let team_sheet = team["data"]["sheets"][1]["id"].as_str().unwrap();
    let (status, body) = app.delete(&format!("/sheets/{team_sheet}")).await;
    assert_eq!(status, 200, "{body}");
}

on_both!(
    same_slug_added_at_once_makes_one_sheet,
    a_workbooks_sheets_change_and_grow_through_its_update,
    sheet_changes_beside_writers_lose_nothing
);
