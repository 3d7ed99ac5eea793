//! Flatfile's sheet `access` (and the older `readonly: true`): what people and guests may
//! do to a sheet's records in the dashboard and with a guest token. Secret keys, and so
//! listener code, may always.

use crate::helpers::*;
use crate::live_access::guest_with_token;
use crate::on_both;
use serde_json::{json, Value};

async fn a_sheets_access_holds_people_and_guests_not_keys(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Access").await;
    let sheet = |slug: &str, extra: Value| {
        let mut s = json!({"name": slug, "slug": slug, "fields": [{"key": "name", "type": "string"}]});
        s.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        s
    };
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Access", "spaceId": space, "sheets": [
                sheet("closed", json!({"access": []})),
                sheet("adding", json!({"access": ["add"]})),
                sheet("frozen", json!({"readonly": true})),
                sheet("open", json!({})),
                {"name": "fixed", "slug": "fixed", "fields": [{"key": "name", "type": "string"},
                    {"key": "ro", "type": "string", "readonly": true}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let wb_id = wb["data"]["id"].as_str().unwrap().to_string();
    let id = |i: usize| wb["data"]["sheets"][i]["id"].as_str().unwrap().to_string();
    let (closed, adding, frozen, open) = (id(0), id(1), id(2), id(3));
    let mut first = Vec::new();
    for s in [&closed, &adding, &frozen, &open] {
        let (status, body) = app
            .post_json(&format!("/sheets/{s}/records"), &json!([{"name": "Kept"}]))
            .await;
        assert_eq!(status, 200, "a secret key writes any sheet: {body}");
        first.push(record_ids(&body)[0].clone());
    }
    let (_, token) = guest_with_token(&app, "g@x.org", "G", &[&space]).await;
    let guest = |method: reqwest::Method, path: String, body: Value| {
        let req = app
            .client
            .request(method, app.url(&format!("/v1{path}")))
            .bearer_auth(&token)
            .json(&body);
        send(req)
    };
    use reqwest::Method;
    for (s, rid) in [(&closed, &first[0]), (&frozen, &first[2])] {
        let (status, body) = guest(
            Method::POST,
            format!("/sheets/{s}/records"),
            json!([{"name": "New"}]),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert!(
            body.to_string().contains("does not let people add records"),
            "{body}"
        );
        let edit = json!([{"id": rid, "values": {"name": {"value": "Changed"}}}]);
        let (status, _) = guest(Method::PUT, format!("/sheets/{s}/records"), edit).await;
        assert_eq!(status, 403);
        let (status, _) = guest(
            Method::DELETE,
            format!("/sheets/{s}/records?ids={rid}"),
            json!(null),
        )
        .await;
        assert_eq!(status, 403);
        let (status, _) = guest(
            Method::PUT,
            format!("/sheets/{s}/find-replace"),
            json!({"find": "Kept", "replace": "X", "fieldKey": "name"}),
        )
        .await;
        assert_eq!(status, 403);
        let job = json!({"type": "workbook", "operation": "delete-records", "source": wb_id, "config": {"sheet": s}});
        let (status, body) = guest(Method::POST, "/jobs".into(), job).await;
        assert_eq!(status, 403, "{body}");
    }
    // `add` only: adds, does not edit.
    let (status, body) = guest(
        Method::POST,
        format!("/sheets/{adding}/records"),
        json!([{"name": "New"}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let edit = json!([{"id": first[1], "values": {"name": {"value": "Changed"}}}]);
    let (status, _) = guest(Method::PUT, format!("/sheets/{adding}/records"), edit).await;
    assert_eq!(status, 403);
    // No `access`: everything.
    let edit = json!([{"id": first[3], "values": {"name": {"value": "Changed"}}}]);
    let (status, body) = guest(Method::PUT, format!("/sheets/{open}/records"), edit).await;
    assert_eq!(status, 200, "{body}");
    // A read-only field is the team's, through a guest token too (the grid refuses it).
    let fixed = id(4);
    let (status, body) = app
        .post_json(
            &format!("/sheets/{fixed}/records"),
            &json!([{"name": "n", "ro": "team"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rid = record_ids(&body)[0].clone();
    let edit = json!([{"id": rid, "values": {"ro": {"value": "guest"}}}]);
    let (status, body) = guest(Method::PUT, format!("/sheets/{fixed}/records"), edit).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = guest(
        Method::PATCH,
        format!("/sheets/{fixed}/records/bulk-update?ids={rid}"),
        json!({"fieldUpdates": {"ro": {"value": "guest"}}}),
    )
    .await;
    assert_eq!(status, 403);
    let edit = json!([{"id": rid, "values": {"name": {"value": "fine"}}}]);
    let (status, body) = guest(Method::PUT, format!("/sheets/{fixed}/records"), edit).await;
    assert_eq!(status, 200, "{body}");
    // The key still may.
    let edit = json!([{"id": first[0], "values": {"name": {"value": "By key"}}}]);
    let (status, body) = app.put_json(&format!("/sheets/{closed}/records"), &edit).await;
    assert_eq!(status, 200, "{body}");

    // People in the grid: no editor on a closed sheet's cells, and a save sent anyway is refused.
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let grid = app.page(&format!("/workbooks/{wb_id}?sheet={closed}")).await;
    assert!(
        !grid.contains(&format!("/grid/{closed}/records/{}/edit", first[0])),
        "{grid}"
    );
    assert!(
        !grid.contains(">Add row<") && !grid.contains("id=\"delete-button\""),
        "{grid}"
    );
    let adding_grid = app.page(&format!("/workbooks/{wb_id}?sheet={adding}")).await;
    assert!(adding_grid.contains(">Add row<") && !adding_grid.contains("id=\"delete-button\""));
    let open_grid = app.page(&format!("/workbooks/{wb_id}?sheet={open}")).await;
    assert!(open_grid.contains(">Add row<") && open_grid.contains("id=\"delete-button\""));
    let saved = app
        .client
        .put(app.url(&format!("/grid/{closed}/records/{}", first[0])))
        .header("hx-request", "true")
        .header("x-csrf-token", &csrf)
        .form(&[("field", "name"), ("value", "Grid")])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status().as_u16(), 403);
    let (_, page) = app.get_json(&format!("/sheets/{closed}/records")).await;
    assert_eq!(page["data"]["records"][0]["values"]["name"]["value"], "By key");
}

on_both!(a_sheets_access_holds_people_and_guests_not_keys);
