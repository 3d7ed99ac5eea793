//! Download names: any characters a file was named with reach the browser intact
//! (`filename*`), old clients get a safe ASCII `filename`, and characters that reorder how
//! a name shows (a right-to-left override disguising `.exe`) are dropped.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

fn disposition(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("content-disposition")
        .expect("a content-disposition header")
        .to_str()
        .expect("the header is ASCII")
        .to_string()
}

async fn download_names_are_exact_and_safe(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Names").await;
    let (status, file) = app
        .upload(&space, "invoice\u{202E}fdp.exe", b"A\n1\n".to_vec())
        .await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["data"]["name"], "invoicefdp.exe", "the override is dropped");
    let id = file["data"]["id"].as_str().unwrap();

    let (status, body) = app
        .patch_json(
            &format!("/files/{id}"),
            &json!({"name": "Übersicht \"Q1\" évil\\"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let resp = app
        .api(reqwest::Method::GET, &format!("/files/{id}/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let header = disposition(&resp);
    assert!(header.starts_with("attachment"), "{header}");
    assert!(
        header.contains("filename=\"_bersicht _Q1_ _vil_\""),
        "ASCII fallback without quotes or backslashes: {header}"
    );
    assert!(
        header.contains("filename*=UTF-8''%C3%9Cbersicht%20%22Q1%22%20%C3%A9vil%5C"),
        "the exact name, percent-encoded: {header}"
    );
}

on_both!(download_names_are_exact_and_safe);
