//! What every list sends whole is bounded: the `metadata` of a space, workbook, sheet or
//! environment (256 KiB of JSON, an object), and the secrets of an environment or a space
//! (100). A 60 MB space metadata made each `GET /v1/spaces` 63 MB (probe 65e D1).

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

on_both!(metadata_and_secrets_are_bounded);

async fn metadata_and_secrets_are_bounded(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Bounded").await;
    let env = app.env_id.to_string();
    let big = json!({"metadata": {"k": "v".repeat(300 * 1024)}});
    let (status, body) = app.patch_json(&format!("/spaces/{space}"), &big).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["key"], "metadata", "{body}");
    let (status, body) = app
        .patch_json(&format!("/spaces/{space}"), &json!({"metadata": "a string"}))
        .await;
    assert_eq!(status, 422, "an object only: {body}");
    let (status, body) = app.patch_json(&format!("/environments/{env}"), &big).await;
    assert_eq!(status, 422, "{body}");
    let sheet = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&sheet, "contacts").await;
    let (status, body) = app.patch_json(&format!("/sheets/{sheet}"), &big).await;
    assert_eq!(status, 422, "a sheet's too (probe 65f D6): {body}");
    let mut workbook = json!({"name": "W", "spaceId": space, "sheets": []});
    workbook["metadata"] = big["metadata"].clone();
    let (status, body) = app.post_json("/workbooks", &workbook).await;
    assert_eq!(status, 422, "{body}");
    let (_, spaces) = app.get_json("/spaces").await;
    assert!(spaces.to_string().len() < 100_000, "nothing big was kept");
    // Up to the limit is kept.
    let fits = json!({"metadata": {"k": "v".repeat(200 * 1024)}});
    let (status, body) = app.patch_json(&format!("/spaces/{space}"), &fits).await;
    assert_eq!(status, 200, "{body}");

    // Made at once, past the cap: exactly 100 are kept (102 on PostgreSQL: probe 65f D3).
    let made = futures_util::future::join_all((0..110).map(|i| {
        let body = json!({"name": format!("S{i}"), "value": "x", "spaceId": space});
        let app = &app;
        async move { app.post_json("/secrets", &body).await }
    }))
    .await;
    let refused: Vec<_> = made.iter().filter(|(status, _)| *status != 200).collect();
    assert_eq!(made.len() - refused.len(), 100, "{refused:?}");
    let said = |(status, body): &&(u16, serde_json::Value)| {
        *status == 422 && body.to_string().contains("at most 100 secrets")
    };
    assert!(refused.iter().all(said), "{refused:?}");
    let (_, listed) = app.get_json(&format!("/secrets?spaceId={space}")).await;
    let own: Vec<&serde_json::Value> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["spaceId"] == json!(space))
        .collect();
    assert_eq!(own.len(), 100, "{listed}");
    // Replacing one, or another scope's, is no new secret of this one.
    let (status, body) = app
        .post_json(
            "/secrets",
            &json!({"name": own[0]["name"], "value": "new", "spaceId": space}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(
            "/secrets",
            &json!({"name": "S200", "value": "x", "environmentId": env}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // A name that reorders or hides text could pass for another's (probe 76a D6).
    for name in [
        "TOKEN\u{202E}NEKOT",
        "AP\u{200B}I_KEY",
        "TWO\nLINES",
        "API\u{200D}_KEY",
        "API_KEY\u{FE0F}",
    ] {
        let (status, body) = app
            .post_json(
                "/secrets",
                &json!({"name": name, "value": "x", "environmentId": env}),
            )
            .await;
        assert_eq!(status, 422, "{name:?}: {body}");
        assert!(body.to_string().contains("reorder or hide text"), "{body}");
    }
}
