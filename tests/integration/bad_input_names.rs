//! Mistakes in a request get an answer that names what was wrong: an unknown record id,
//! a parameter out of range, another environment's space, a body that is not JSON.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn an_unknown_record_is_named(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{contacts}/records");
    let (_, body) = app
        .post_json(&path, &json!([{"email": {"value": "a@x.io"}}]))
        .await;
    let known = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let unknown = "us_rc_987654321";
    let (status, body) = app
        .put_json(
            &path,
            &json!([
                {"id": known, "values": {"name": {"value": "Ada"}}},
                {"id": unknown, "values": {"name": {"value": "Bob"}}},
            ]),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        format!("record {unknown} not found"),
        "{body}"
    );
    let (status, body) = app.delete(&format!("{path}?ids={known}&ids={unknown}")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        format!("record {unknown} not found"),
        "{body}"
    );
    // All or nothing: the known record kept its value and is still there.
    let (_, page) = app.get_json(&path).await;
    assert_eq!(page["data"]["records"].as_array().unwrap().len(), 1, "{page}");
    assert!(page["data"]["records"][0]["values"]["name"]["value"].is_null());
}

async fn parameters_out_of_range_are_named(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let (status, body) = app
        .get_json(&format!(
            "/sheets/{contacts}/changes?afterId=99999999999999999999"
        ))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["key"], "afterId", "{body}");
    for (query, key) in [
        ("includeCounts=maybe", "includeCounts"),
        ("sortField=name", "sortField"),
        ("sortField=nope", "sortField"),
        ("sortField=email&sortDirection=up", "sortDirection"),
    ] {
        let (status, body) = app
            .get_json(&format!("/sheets/{contacts}/cells?fieldKey=email&{query}"))
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["errors"][0]["key"], key, "{query}: {body}");
    }
    let (status, body) = app
        .get_json(&format!("/sheets/{contacts}/records?includeCounts=yes"))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app
        .get_json(&format!(
            "/sheets/{contacts}/cells?fieldKey=email&sortField=email&sortDirection=desc&includeCounts=false"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn another_environments_space_is_not_found(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap();
    let production = app.production_key();
    for list in ["files", "jobs", "workbooks"] {
        let (status, body) = send(
            app.client
                .get(app.url(&format!("/v1/{list}?spaceId={space_id}")))
                .bearer_auth(&production),
        )
        .await;
        assert_eq!(status, 404, "{list}: {body}");
        // The space's own environment lists it (empty so far, but found).
        let (status, body) = app.get_json(&format!("/{list}?spaceId={space_id}")).await;
        assert_eq!(status, 200, "{list}: {body}");
    }
    let (status, _) = app.get_json("/files?spaceId=us_sp_nothere1").await;
    assert_eq!(status, 404);
}

async fn only_json_bodies_are_read_as_json(db: Db) {
    let app = spawn_app(db).await;
    let body = json!({"name": "Typed right"}).to_string();
    for (content_type, expected) in [
        ("application/jsonfoo", 400),
        ("text/json", 400),
        ("application/x-www-form-urlencoded", 400),
        ("application/json", 200),
        ("Application/JSON; charset=utf-8", 200),
        ("application/merge-patch+json", 200),
    ] {
        let (status, answer) = send(
            app.api(reqwest::Method::POST, "/spaces")
                .header("content-type", content_type)
                .body(body.clone()),
        )
        .await;
        assert_eq!(status, expected, "{content_type}: {answer}");
    }
    let (_, spaces) = app
        .get_json(&format!("/spaces?environmentId={}", app.env_id))
        .await;
    assert_eq!(spaces["data"].as_array().unwrap().len(), 3, "{spaces}");
}

/// What is no cell is refused instead of stored as nothing; ids may be listed with commas
/// in every selection, and an empty list selects nothing rather than everything.
async fn cells_and_id_lists_read_one_way(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{contacts}/records");
    let (status, body) = app
        .post_json(&path, &json!([{"email": "a@x.io", "name": {"nested": [1]}}]))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("`nested` is not a member of a cell"),
        "{body}"
    );
    // A cell read back and sent again (value, valid, messages) is a cell.
    let (status, body) = app
        .post_json(
            &path,
            &json!([{"email": {"value": "a@x.io", "valid": true, "messages": []}}, {"email": "b@x.io"}, {"email": "c@x.io"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<String> = body["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let (status, body) = app
        .patch_json(
            &format!("{path}/bulk-update"),
            &json!({"fieldUpdates": {"name": {"foo": 1}}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["key"], "fieldUpdates.name", "{body}");

    let both = format!("{},{}", ids[0], ids[2]);
    let (status, page) = app.get_json(&format!("{path}?ids={both}")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"]["records"].as_array().unwrap().len(), 2, "{page}");
    let (status, body) = app
        .patch_json(
            &format!("{path}/bulk-update?ids={both}"),
            &json!({"fieldUpdates": {"name": "Picked"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, picked) = app
        .get_json(&format!("{path}?searchValue=Picked&searchField=name"))
        .await;
    assert_eq!(picked["data"]["records"].as_array().unwrap().len(), 2, "{picked}");
    for empty in ["", ",", ",,"] {
        let (status, body) = app
            .patch_json(
                &format!("{path}/bulk-update?ids={empty}"),
                &json!({"fieldUpdates": {"name": "All"}}),
            )
            .await;
        assert_eq!(status, 400, "ids={empty}: {body}");
    }
    let (_, all) = app
        .get_json(&format!("{path}?searchValue=All&searchField=name"))
        .await;
    assert_eq!(all["data"]["records"].as_array().unwrap().len(), 0, "{all}");
    let (status, body) = app
        .get_json(&format!("{path}?pageNumber=9223372036854775808"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("past the largest"), "{body}");
}

/// An update naming another space, environment or source for a space, file or job is 422
/// naming the member, not a 200 that changed nothing (probe 66f D3); its own value is fine.
async fn an_update_cannot_move_a_space_file_or_job(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Here").await;
    let elsewhere = app.bare_space("Elsewhere").await;
    let prod = app.production_key();
    let (_, prod_env) = send(
        app.client
            .get(app.url("/v1/environments?pageSize=100"))
            .bearer_auth(&prod),
    )
    .await;
    let other_env = prod_env["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .find(|id| *id != app.env_id.as_str())
        .unwrap();
    let file = app
        .upload_and_extract(&space, "here.csv", b"Name\nAda\n".to_vec())
        .await;
    let file_id = file["id"].as_str().unwrap();
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "space", "operation": "sync", "source": space}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let job_id = job["data"]["id"].as_str().unwrap();
    for (path, body, key) in [
        (
            format!("/spaces/{space}"),
            json!({"environmentId": other_env}),
            "environmentId",
        ),
        (
            format!("/files/{file_id}"),
            json!({"spaceId": elsewhere}),
            "spaceId",
        ),
        (format!("/jobs/{job_id}"), json!({"source": elsewhere}), "source"),
        (
            format!("/jobs/{job_id}"),
            json!({"operation": "other"}),
            "operation",
        ),
    ] {
        let (status, got) = app.patch_json(&path, &body).await;
        assert_eq!(status, 422, "{path} {body}: {got}");
        assert_eq!(got["errors"][0]["key"], key, "{got}");
    }
    let (status, got) = app
        .patch_json(
            &format!("/spaces/{space}"),
            &json!({"environmentId": app.env_id, "name": "Still here"}),
        )
        .await;
    assert_eq!(status, 200, "its own environment: {got}");
    let (status, got) = app
        .patch_json(
            &format!("/files/{file_id}"),
            &json!({"spaceId": space, "name": "kept.csv"}),
        )
        .await;
    assert_eq!(status, 200, "its own space: {got}");
    let (_, now) = app.get_json(&format!("/jobs/{job_id}")).await;
    assert_eq!(now["data"]["source"], space.as_str(), "{now}");
}

on_both!(
    an_update_cannot_move_a_space_file_or_job,
    cells_and_id_lists_read_one_way,
    an_unknown_record_is_named,
    parameters_out_of_range_are_named,
    another_environments_space_is_not_found,
    only_json_bodies_are_read_as_json,
);
