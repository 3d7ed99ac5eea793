//! Records and cells listener code made read-only (`config.readonly`) hold against every
//! write of a person or a guest, bulk ones too: bulk updates, find and replace, deletes,
//! `delete-records` jobs and undo leave them as they are; the team's key still writes them.

use crate::helpers::*;
use crate::live_access::guest_with_token;
use crate::on_both;
use serde_json::{json, Value};

struct Locked {
    app: TestApp,
    space: Value,
    sheet: String,
    /// Locked whole, its `name` cell locked, open.
    ids: [String; 3],
    guest: String,
}

async fn locked(db: Db) -> Locked {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io", "name": "n", "age": 1},
                    {"email": "b@x.io", "name": "n", "age": 1},
                    {"email": "c@x.io", "name": "n", "age": 1}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let ids = record_ids(&body);
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": ids[0], "values": {}, "config": {"readonly": true}},
                    {"id": ids[1], "values": {}, "config": {"fields": {"name": {"readonly": true}}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let space_id = space["id"].as_str().unwrap();
    let (_, guest) = guest_with_token(&app, "g@x.io", "G", &[space_id]).await;
    Locked {
        ids: [ids[0].clone(), ids[1].clone(), ids[2].clone()],
        app,
        space,
        sheet,
        guest,
    }
}

impl Locked {
    async fn as_guest(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        send(
            self.app
                .client
                .request(method, self.app.url(&format!("/v1{path}")))
                .bearer_auth(&self.guest)
                .json(&body),
        )
        .await
    }

    /// Each record's (name, age), in the order of `ids`; `None` for a deleted one.
    async fn cells(&self) -> Vec<Option<(Value, Value)>> {
        let (_, page) = self
            .app
            .get_json(&format!("/sheets/{}/records", self.sheet))
            .await;
        let records = page["data"]["records"].as_array().unwrap().clone();
        self.ids
            .iter()
            .map(|id| {
                records.iter().find(|r| r["id"] == id.as_str()).map(|r| {
                    (
                        r["values"]["name"]["value"].clone(),
                        r["values"]["age"]["value"].clone(),
                    )
                })
            })
            .collect()
    }

    /// A job the guest asks for on the sheet's workbook (`operation`, `config`), once ended.
    async fn guest_job(&self, operation: &str, config: Value) -> Value {
        let space = self.space["id"].as_str().unwrap();
        let (_, wbs) = self.app.get_json(&format!("/workbooks?spaceId={space}")).await;
        let wb = wbs["data"][0]["id"].as_str().unwrap();
        let (status, job) = self
            .as_guest(
                reqwest::Method::POST,
                "/jobs",
                json!({"type": "workbook", "operation": operation, "source": wb,
                       "trigger": "immediate", "config": config}),
            )
            .await;
        assert_eq!(status, 200, "{job}");
        self.app.wait_job(job["data"]["id"].as_str().unwrap()).await
    }
}

fn cell(name: &str, age: i64) -> Option<(Value, Value)> {
    Some((json!(name), json!(age)))
}

async fn a_guests_bulk_changes_and_deletes_leave_locked_cells_and_records(db: Db) {
    let l = locked(db).await;
    let sheet = &l.sheet;
    let patch = reqwest::Method::PATCH;
    let (status, body) = l
        .as_guest(
            patch.clone(),
            &format!("/sheets/{sheet}/records/bulk-update?filter=all"),
            json!({"fieldUpdates": {"name": {"value": "G"}, "age": {"value": 30}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["changed"], 2, "{body}");
    assert_eq!(l.cells().await, vec![cell("n", 1), cell("n", 30), cell("G", 30)]);
    let (status, body) = l
        .as_guest(
            reqwest::Method::PUT,
            &format!("/sheets/{sheet}/find-replace"),
            json!({"find": "n", "replace": "m", "fieldKey": "name"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(l.cells().await, vec![cell("n", 1), cell("n", 30), cell("G", 30)]);

    // Deleting: a locked record named is refused; a selection leaves it.
    let (status, body) = l
        .as_guest(
            reqwest::Method::DELETE,
            &format!("/sheets/{sheet}/records?ids={}", l.ids[0]),
            json!(null),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("read-only"), "{body}");
    let done = l
        .guest_job("delete-records", json!({"sheet": sheet, "filter": "all"}))
        .await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(l.cells().await, vec![cell("n", 1), None, None]);
    let (_, counts) = l.app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 1, "{counts}");

    // Listener code (the team's key) still changes it.
    let (status, body) = l
        .app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update"),
            &json!({"fieldUpdates": {"name": {"value": "T"}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(l.cells().await, vec![cell("T", 1), None, None]);
}

/// An undo by a person or guest keeps a cell locked since its change as it is.
async fn an_undo_leaves_a_cell_locked_since(db: Db) {
    let l = locked(db).await;
    let (sheet, open) = (&l.sheet, &l.ids[2]);
    let (status, body) = l
        .as_guest(
            reqwest::Method::PATCH,
            &format!("/sheets/{sheet}/records/bulk-update?filter=all"),
            json!({"fieldUpdates": {"age": {"value": 7}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let bulk = body["data"]["bulkChangeId"].as_str().unwrap().to_string();
    assert_eq!(l.cells().await, vec![cell("n", 1), cell("n", 7), cell("n", 7)]);
    let (status, _) = l
        .app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": open, "values": {}, "config": {"fields": {"age": {"readonly": true}}}}]),
        )
        .await;
    assert_eq!(status, 200);
    let done = l
        .guest_job("bulk-change", json!({"sheet": sheet, "undo": bulk}))
        .await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(l.cells().await, vec![cell("n", 1), cell("n", 1), cell("n", 7)]);

    // The grid's undo of a person's own last change to a record locked since: 403.
    l.app.make_user("ada@acme.com", false);
    l.app.sign_in("ada@acme.com", PASSWORD).await;
    let csrf = l.app.csrf("/spaces").await;
    let target = &l.ids[1];
    let save = l
        .app
        .client
        .put(l.app.url(&format!("/grid/{sheet}/records/{target}")))
        .form(&[("csrf_token", csrf.as_str()), ("field", "age"), ("value", "9")])
        .send()
        .await
        .unwrap();
    assert_eq!(save.status().as_u16(), 200);
    let (status, _) = l
        .app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": target, "values": {}, "config": {"readonly": true}}]),
        )
        .await;
    assert_eq!(status, 200);
    let undo = l
        .app
        .client
        .post(l.app.url(&format!("/grid/{sheet}/records/{target}/undo")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(undo.status().as_u16(), 403);
    assert_eq!(l.cells().await[1], cell("n", 9));
}

on_both!(
    a_guests_bulk_changes_and_deletes_leave_locked_cells_and_records,
    an_undo_leaves_a_cell_locked_since,
);
