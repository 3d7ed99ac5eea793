//! A bulk change run as a job reads its selection when it starts, and checks each batch
//! against it again when the batch is written: a record someone changed meanwhile so that
//! the selection no longer picks it keeps their change.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;
use wharf::db::write_tx;
use wharf::ids::{RecordId, SheetId};
use wharf::model::record::bulk::{self, Change};
use wharf::model::record::bulk_history;
use wharf::model::{sheet, ModelError};

async fn a_batch_changes_only_what_the_selection_still_picks(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let rows = json!([{"code": "C1", "name": "Fix me"}, {"code": "C2", "name": "Fix me"}]);
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<i64> = record_ids(&body)
        .iter()
        .map(|id| RecordId::parse(id).unwrap().0)
        .collect();
    let sheet_id = SheetId::parse(&sheet).unwrap();
    let mut conn = app.pool.get().expect("conn");
    // The job's view, taken when it started: both records picked.
    let ctx = sheet::load_context(&mut conn, &app.env_id, &sheet_id).expect("context");
    let code = ctx.config.field_index("code").unwrap();
    // Meanwhile a person fixes the second record by hand.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": record_ids(&body)[1], "values": {"name": {"value": "Fixed by hand"}, "code": {"value": "MINE"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let entry = bulk_history::create(&mut conn, &sheet_id, "tester", "Set Code", None).expect("entry");
    let params = [("q".to_string(), r#"name eq "Fix me""#.to_string())];
    let written = write_tx::<_, ModelError, _>(&mut conn, |conn| {
        bulk::apply_batch(
            conn,
            &ctx,
            &ids,
            &params,
            &[(code, Change::Set(json!("BULK")))],
            "tester",
            &entry,
        )
    })
    .expect("the batch");
    assert_eq!(written.0.rows, vec![ids[0]], "only the record still picked");
    assert_eq!(written.1, 1, "one cell");
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let codes: Vec<_> = page["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["code"]["value"].clone())
        .collect();
    assert_eq!(codes, vec![json!("BULK"), json!("MINE")]);
}

on_both!(a_batch_changes_only_what_the_selection_still_picks);
