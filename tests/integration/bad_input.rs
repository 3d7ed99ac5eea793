//! Input that once broke a backend: NUL characters, page numbers past i64, and conflicts
//! whose messages named tables. Both databases answer alike.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn nul_characters_are_refused_alike(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{contacts}/records");
    app.post_json(
        &path,
        &json!([{"email": {"value": "a@x.io"}, "name": {"value": "Ada"}}]),
    )
    .await;

    let (status, body) = app
        .post_json(
            &path,
            &json!([{"email": {"value": "b@x.io"}, "name": {"value": "x\u{0}y"}}]),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["errors"][0]["message"].as_str().unwrap().contains("NUL"),
        "{body}"
    );
    let (status, body) = app.post_json("/spaces", &json!({"name": "bad\u{0}name"})).await;
    assert_eq!(status, 422, "{body}");

    // Nothing was stored, and reads that once failed still answer.
    let (_, counts) = app.get_json(&format!("/sheets/{contacts}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 1);
    for query in [
        "sortField=name",
        "searchValue=Ada&searchField=name",
        "searchValue=Ad",
    ] {
        let (status, body) = app.get_json(&format!("{path}?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["data"]["records"].as_array().unwrap().len(), 1, "{query}");
    }
    let (status, body) = app.get_json(&format!("{path}?searchValue=a%00b")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"][0]["key"], "searchValue",
        "the parameter is named: {body}"
    );
    let (status, body) = app.get_json(&format!("{path}?q=name%20eq%20%22a%00%22")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["key"], "q", "as any bad q: {body}");
    let (status, _) = app.get_json("/spaces?search=a%00").await;
    assert_eq!(status, 400);
}

async fn huge_page_numbers_give_empty_pages(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    app.post_json(
        &format!("/sheets/{contacts}/records"),
        &json!([{"email": {"value": "a@x.io"}}]),
    )
    .await;
    let max = i64::MAX;
    let (status, body) = app
        .get_json(&format!("/sheets/{contacts}/records?pageNumber={max}"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["records"], json!([]));
    let (status, body) = app
        .get_json(&format!(
            "/sheets/{contacts}/records?pageNumber={max}&sortField=email"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["records"], json!([]));
    let (status, body) = app
        .get_json(&format!("/spaces?environmentId={}&pageNumber={max}", app.env_id))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!([]));
    // Every other list, and a commit's records (a hook's dataUrl), the same way.
    let space = space["id"].as_str().unwrap();
    let lists = [
        format!(
            "/events?environmentId={}&spaceId={space}&pageNumber={max}",
            app.env_id
        ),
        format!(
            "/jobs?environmentId={}&pageNumber={max}&pageSize=1000",
            app.env_id
        ),
        format!("/files?spaceId={space}&pageNumber={max}&pageSize=1000"),
        format!("/environments?pageNumber={max}&pageSize=1000"),
    ];
    for path in lists {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["data"], json!([]), "{path}");
    }
    let (_, events) = app
        .get_json("/events?topic=commit:created&includeAcknowledged=true")
        .await;
    let commit = events["data"][0]["context"]["commitId"]
        .as_str()
        .expect("a commit");
    for size in ["", "&pageSize=1000"] {
        let path = format!("/sheets/{contacts}/records?commitId={commit}&pageNumber={max}{size}");
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["data"]["records"], json!([]), "{path}");
    }
}

async fn conflicts_speak_of_things_not_tables(db: Db) {
    let app = std::sync::Arc::new(spawn_app(db).await);
    // Parallel creations of one name: one wins, the others are told why.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.post_json("/environments", &json!({"name": "staging"})).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        let (status, body) = t.await.expect("task");
        match status {
            200 => created += 1,
            409 => {
                let message = body["errors"][0]["message"].as_str().unwrap().to_lowercase();
                assert!(message.contains("environment"), "{message}");
                for internal in ["constraint", "duplicate key", "environments.", "unique"] {
                    assert!(!message.contains(internal), "{message}");
                }
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1);
}

/// A cell holds at most what a file's cell may (1 MiB), by API as by file: a bigger
/// value is 422 naming it, and nothing is stored.
async fn a_cell_bigger_than_a_files_is_refused(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{contacts}/records");
    let huge = "x".repeat((1 << 20) + 1);
    let (status, body) = app
        .post_json(&path, &json!([{"email": "a@x.io", "name": huge}]))
        .await;
    assert_eq!(
        status,
        422,
        "{}",
        &body.to_string()[..200.min(body.to_string().len())]
    );
    assert_eq!(body["errors"][0]["key"], "$[0].name", "{}", body["errors"][0]);
    let (status, body) = app.post_json(&path, &json!([{"email": "a@x.io"}])).await;
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .put_json(&path, &json!([{"id": id, "values": {"name": {"value": huge}}}]))
        .await;
    assert_eq!(status, 422, "{}", body["errors"][0]);
    // A cell object with neither value nor messages says nothing: refused, not cleared.
    let (status, body) = app
        .put_json(&path, &json!([{"id": id, "values": {"email": {"valid": true}}}]))
        .await;
    assert_eq!(status, 400, "{body}");
    // Bulk changes alike: a value too big is refused; a replacement that would make a
    // cell too big leaves it as it is.
    let (status, body) = app
        .patch_json(
            &format!("{path}/bulk-update"),
            &json!({"fieldUpdates": {"name": huge}}),
        )
        .await;
    assert_eq!(status, 422, "{}", body["errors"][0]);
    let (status, body) = app
        .put_json(
            &format!("/sheets/{contacts}/find-replace"),
            &json!({"find": "a", "replace": huge, "fieldKey": "email"}),
        )
        .await;
    assert_eq!(status, 422, "{}", body["errors"][0]);
    // Within the limit itself, too big once put in the cell ("a@" + it + ".io"): the
    // change is refused whole, naming the cell.
    let grows = "y".repeat((1 << 20) - 2);
    let (status, body) = app
        .put_json(
            &format!("/sheets/{contacts}/find-replace"),
            &json!({"find": "x", "replace": grows, "fieldKey": "email"}),
        )
        .await;
    assert_eq!(status, 422, "{}", body["errors"][0]);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Email cell of record"),
        "{}",
        body["errors"][0]
    );
    let (_, page) = app.get_json(&path).await;
    assert_eq!(page["data"]["records"].as_array().unwrap().len(), 1);
    assert!(page["data"]["records"][0]["values"]["name"]["value"].is_null());
    let email = page["data"]["records"][0]["values"]["email"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(email == "a@x.io", "the cell grew to {} bytes", email.len());
}

/// Bodies and parameters the API cannot honour are refused, not quietly ignored: a
/// workbook update taking a sheet's fields away, metadata that is not an object, shared
/// links, environment namespaces, space configs of another environment.
async fn what_cannot_be_honoured_is_refused(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Refusals").await;
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "W", "spaceId": space, "sheets": [{"name": "S", "slug": "s",
                    "fields": [{"key": "a", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let wb_id = wb["data"]["id"].as_str().unwrap();
    let (status, body) = app
        .patch_json(
            &format!("/workbooks/{wb_id}"),
            &json!({"name": "W2", "sheets": [{"name": "Renamed", "slug": "s", "fields": []}]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["key"], "$.sheets[0].fields", "{body}");
    let (_, got) = app.get_json(&format!("/workbooks/{wb_id}")).await;
    assert_eq!(got["data"]["name"], "W", "nothing changed: {got}");
    assert_eq!(got["data"]["sheets"][0]["name"], "S", "nothing changed: {got}");

    let (status, body) = app
        .post_json(
            "/environments",
            &json!({"name": "meta", "metadata": "not an object"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["key"], "metadata");
    let (status, body) = app
        .patch_json(
            &format!("/environments/{}", app.env_id),
            &json!({"metadata": [1]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // Shared links and environment namespaces Wharf does not have: refused, nothing made.
    let (status, body) = app
        .post_json(
            "/environments",
            &json!({"name": "shared", "guestAuthentication": ["magic_link", "shared_link"]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["key"], "guestAuthentication", "{body}");
    let (status, body) = app
        .patch_json(
            &format!("/environments/{}", app.env_id),
            &json!({"namespaces": ["portal"]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (_, envs) = app.get_json("/environments").await;
    let names: Vec<&str> = envs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"shared"), "{envs}");
    let (status, body) = app
        .post_json(
            "/spaces",
            &json!({"name": "Linked", "guestAuthentication": ["shared_link"]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("POST /v1/guests"),
        "{body}"
    );
    let (status, body) = app
        .patch_json(
            &format!("/spaces/{space}"),
            &json!({"guestAuthentication": ["shared_link"]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = app
        .post_json(
            "/environments",
            &json!({"name": "mailed", "guestAuthentication": ["magic_link"], "namespaces": []}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let other = {
        let mut conn = app.pool.get().unwrap();
        wharf::model::environment::create(&mut conn, "elsewhere", false, "{}", None)
            .unwrap()
            .id
    };
    let (status, body) = app
        .get_json(&format!("/space-configs?environmentId={other}"))
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = app
        .get_json(&format!("/space-configs?environmentId={}", app.env_id))
        .await;
    assert_eq!(status, 200);
}

on_both!(
    what_cannot_be_honoured_is_refused,
    nul_characters_are_refused_alike,
    huge_page_numbers_give_empty_pages,
    conflicts_speak_of_things_not_tables,
    a_cell_bigger_than_a_files_is_refused,
);
