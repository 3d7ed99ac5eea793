//! Documents of a space (`documents.*`, as `space:configure` listeners write a "Getting
//! Started" page) and `files.detectHeader`, which `@flatfile/plugin-xlsx-extractor` asks
//! for every sheet it reads.

use crate::commits::events_of;
use crate::helpers::*;
use crate::live_access::{guest_browser, guest_with_token};
use crate::on_both;
use serde_json::json;

async fn documents_are_written_read_and_shown(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Onboarding").await;
    let base = format!("/spaces/{space}/documents");
    let (status, made) = app
        .post_json(
            &base,
            &json!({"title": "Getting Started", "body": "# Welcome\n<script>alert(1)</script>"}),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let id = made["data"]["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("us_dc_"), "{made}");
    assert_eq!(made["data"]["spaceId"], space.as_str());
    let (status, bad) = app.post_json(&base, &json!({"body": "no title"})).await;
    assert_eq!(status, 422, "{bad}");
    let (status, patched) = app
        .patch_json(&format!("{base}/{id}"), &json!({"title": "Start here"}))
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        patched["data"]["body"], made["data"]["body"],
        "a field not given stays"
    );
    let (_, list) = app.get_json(&base).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["data"][0]["title"], "Start here");
    for topic in ["document:created", "document:updated"] {
        let events = events_of(&app, topic).await;
        assert_eq!(events.len(), 1, "{topic}");
        assert_eq!(events[0]["context"]["documentId"], id.as_str());
    }

    // Shown on the space's page as text, never as markup; a guest reads it, but not writes.
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let page = app.page(&format!("/spaces/{space}")).await;
    assert!(page.contains("Start here"), "{page}");
    let escaped = page.contains("&lt;script&gt;") || page.contains("&#60;script&#62;");
    assert!(escaped && !page.contains("<script>alert"), "{page}");
    let (_, token) = guest_with_token(&app, "g@x.io", "G", &[&space]).await;
    let guest = guest_browser(&app, &token).await;
    let home = guest
        .get(app.url(&format!("/guest/spaces/{space}")))
        .send()
        .await
        .unwrap();
    assert!(home.text().await.unwrap().contains("Start here"));
    let as_guest = app.client.get(app.url(&format!("/v1{base}"))).bearer_auth(&token);
    let (status, read) = send(as_guest).await;
    assert_eq!(status, 200, "{read}");
    let write = app
        .client
        .post(app.url(&format!("/v1{base}")))
        .bearer_auth(&token)
        .json(&json!({"title": "Mine"}));
    assert_eq!(send(write).await.0, 403);
    let other = app.bare_space("Other").await;
    let (status, _) = app.get_json(&format!("/spaces/{other}/documents/{id}")).await;
    assert_eq!(status, 404, "another space's path does not reach it");

    // A document's action is a job of the document: of this environment, in its space,
    // its events naming it (probe 48b 6).
    let job = |source: &str| json!({"type": "document", "operation": "x", "source": source, "trigger": "immediate"});
    let (status, made) = app.post_json("/jobs", &job(&id)).await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["data"]["spaceId"], space.as_str(), "{made}");
    let ready = events_of(&app, "job:ready").await;
    assert_eq!(ready[0]["context"]["documentId"], id.as_str(), "{ready:?}");
    for elsewhere in ["us_dc_nowhere1", "not-a-document"] {
        let (status, body) = app.post_json("/jobs", &job(elsewhere)).await;
        assert_eq!(status, 422, "{elsewhere}: {body}");
    }
    let prod = app.production_key();
    let (_, prod_job) = send(
        app.client
            .post(app.url("/v1/jobs"))
            .bearer_auth(&prod)
            .json(&job(&id)),
    )
    .await;
    assert!(
        prod_job.to_string().contains("no document"),
        "another environment's key: {prod_job}"
    );

    assert_eq!(app.delete(&format!("{base}/{id}")).await.0, 200);
    let (_, list) = app.get_json(&base).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
}

async fn detect_header_finds_the_header_below_a_title(db: Db) {
    let app = spawn_app(db).await;
    let rows = json!([
        ["Customer export, March"],
        [],
        ["First Name", "Last Name", "Email"],
        ["Ada", "Lovelace", "ada@example.com"],
        ["Alan", "Turing", "alan@example.com"]
    ]);
    let (status, got) = app
        .post_json(
            "/files/detect-header",
            &json!({"options": {"algorithm": "default"}, "data": rows}),
        )
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["data"]["header"], json!(["First Name", "Last Name", "Email"]));
    assert_eq!(got["data"]["headerRow"], 3, "rows to skip, the header's included");
    assert_eq!(got["data"]["letters"], json!(["A", "B", "C"]));
    let (status, explicit) = app
        .post_json(
            "/files/detect-header",
            &json!({"options": {"algorithm": "explicitHeaders", "headers": ["a", "b"]}, "data": rows}),
        )
        .await;
    assert_eq!(status, 200, "{explicit}");
    assert_eq!(explicit["data"]["header"], json!(["a", "b"]));
    let (status, bad) = app
        .post_json(
            "/files/detect-header",
            &json!({"options": {"algorithm": "specificRows"}, "data": rows}),
        )
        .await;
    assert_eq!(status, 422, "{bad}");
    // Out-of-range numbers are answered, not a dropped connection; a skip is answered as
    // given, past the rows sent; `options: null` is the default.
    for options in [
        json!({"rowsToSearch": u64::MAX, "skip": 1}),
        json!({"algorithm": "specificRows", "rowNumbers": [u64::MAX]}),
        json!(null),
    ] {
        let (status, got) = app
            .post_json("/files/detect-header", &json!({"options": options, "data": rows}))
            .await;
        assert_eq!(status, 200, "{options}: {got}");
    }
    let (_, skipped) = app
        .post_json(
            "/files/detect-header",
            &json!({"options": {"algorithm": "explicitHeaders", "headers": ["x"], "skip": 50}, "data": rows}),
        )
        .await;
    assert_eq!(skipped["data"]["headerRow"], 50, "{skipped}");
}

on_both!(
    documents_are_written_read_and_shown,
    detect_header_finds_the_header_below_a_title,
);
