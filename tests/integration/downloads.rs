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
    // A line separator and an invisible space are dropped too (a rename refuses them), and
    // a quote a browser sent as `%22` is a quote.
    let (status, other) = app
        .upload(&space, "quote%22name\u{2028}x\u{200B}y.csv", b"A\n1\n".to_vec())
        .await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(other["data"]["name"], "quote\"namexy.csv", "{other}");
    // A line break a browser sent as `%0A` is a space (probe 57a: shown as `%0A`).
    let (status, broken) = app
        .upload(&space, "my%0Afile%0D%0Aname.csv", b"A\n1\n".to_vec())
        .await;
    assert_eq!(status, 200, "{broken}");
    assert_eq!(broken["data"]["name"], "my file name.csv", "{broken}");
    // A Windows path, as old browsers and some tools send it, backslashes unescaped: its
    // file name (probe 58d: kept as `C:UsersbobMy Datalist.csv`).
    let body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"spaceId\"\r\n\r\n{space}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; \
         filename=\"C:\\Users\\bob\\My Data\\list.csv\"\r\n\r\nA\n1\n\r\n--XyZ--\r\n"
    );
    let (status, from_path) = send(
        app.api(reqwest::Method::POST, "/files")
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .body(body),
    )
    .await;
    assert_eq!(status, 200, "{from_path}");
    assert_eq!(from_path["data"]["name"], "list.csv", "{from_path}");
    // With accents in the path (probe 60c D10), and a name given only as RFC 5987's
    // `filename*` (it was `blob`).
    for (disposition, name) in [
        (
            "filename=\"C:\\Users\\José\\Kunden Müller.csv\"",
            "Kunden Müller.csv",
        ),
        ("filename*=UTF-8''M%C3%BCller%20list.csv", "Müller list.csv"),
    ] {
        let body = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"spaceId\"\r\n\r\n{space}\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"file\"; {disposition}\r\n\r\nA\n1\n\r\n--XyZ--\r\n"
        );
        let (status, file) = send(
            app.api(reqwest::Method::POST, "/files")
                .header("content-type", "multipart/form-data; boundary=XyZ")
                .body(body),
        )
        .await;
        assert_eq!(status, 200, "{file}");
        assert_eq!(file["data"]["name"], name, "{file}");
    }

    let (status, body) = app
        .patch_json(
            &format!("/files/{id}"),
            // (A backslash is refused in a file name, which is never a path.)
            &json!({"name": "Übersicht \"Q1\" évil"}),
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
        header.contains("filename=\"_bersicht _Q1_ _vil\""),
        "ASCII fallback without quotes: {header}"
    );
    assert!(
        header.contains("filename*=UTF-8''%C3%9Cbersicht%20%22Q1%22%20%C3%A9vil"),
        "the exact name, percent-encoded: {header}"
    );
}

/// The grid's Download CSV holds what the grid shows: its Error tab, a plain search, and
/// its sort.
async fn the_grid_download_holds_what_is_shown(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    app.post_json(
        &format!("/sheets/{sheet}/records"),
        &json!([
            {"email": "b@x.io", "name": "Bo", "age": "old"},
            {"email": "a@x.io", "name": "Ada", "age": 36},
            {"email": "c@x.io", "name": "Cy", "age": "older"},
        ]),
    )
    .await;
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let emails = |csv: &str| -> Vec<String> {
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap_or_default().to_string())
            .collect()
    };
    for (view, expected) in [
        ("", vec!["b@x.io", "a@x.io", "c@x.io"]),
        ("&filter=error", vec!["b@x.io", "c@x.io"]),
        ("&filter=error&sort=email&dir=desc", vec!["c@x.io", "b@x.io"]),
        ("&q=Ada", vec!["a@x.io"]),
    ] {
        let html = app.page(&format!("/workbooks/{wb}?sheet={sheet}{view}")).await;
        let start = html
            .find(&format!("/grid/{sheet}/download.csv"))
            .expect("a download link");
        let href = html[start..start + html[start..].find('"').unwrap()]
            .replace("&amp;", "&")
            .replace("&#38;", "&");
        let resp = app.client.get(app.url(&href)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{href}");
        // UTF-8's byte order mark first, so Excel reads accents as written.
        let body = resp.bytes().await.unwrap();
        assert!(body.starts_with("\u{FEFF}".as_bytes()), "{href}");
        let text = String::from_utf8(body[3..].to_vec()).unwrap();
        assert_eq!(emails(&text), expected, "{view}: {href}");
    }
    // The API's download, read by programs, has none.
    let csv = app.get_text(&format!("/sheets/{sheet}/download")).await;
    assert!(!csv.starts_with('\u{FEFF}') && csv.starts_with("Email"), "{csv}");
}

/// Records of very different sizes download in batches sized by what they hold (2,000
/// records of 2 MiB each were read at once: probe 65e D5), every record once, in order,
/// whole, for the whole sheet and for a sorted selection.
async fn big_and_small_records_download_whole_and_once(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let name = |i: usize| match i % 4 {
        0 => format!("n{i:03}{}", "x".repeat(400_000)),
        _ => format!("n{i:03}"),
    };
    for part in 0..3 {
        let rows: Vec<_> = (part * 30..part * 30 + 30)
            .map(|i| json!({"email": format!("p{i:03}@x.io"), "name": name(i)}))
            .collect();
        let (status, body) = app
            .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    for (query, descending) in [("", false), ("?sortField=email&sortDirection=desc", true)] {
        let csv = app.get_text(&format!("/sheets/{sheet}/download{query}")).await;
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let names: Vec<String> = reader.records().map(|r| r.unwrap()[1].to_string()).collect();
        let mut expected: Vec<String> = (0..90).map(name).collect();
        if descending {
            expected.reverse();
        }
        assert_eq!(names.len(), 90, "{query}");
        assert!(names == expected, "{query}: every record once, in order, whole");
    }
}

/// A parameter a download does not read, or one given twice to any records call, is a
/// 400 naming it: the whole sheet was sent for a commit's records or an XLSX, and
/// `filter=error&filter=all` changed every record (probe 65e D2, D6, D7).
async fn parameters_not_read_or_given_twice_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    // Sent after a byte-order mark, as a file a Windows tool saved (probe 65f D5).
    let records =
        "\u{feff}[{\"email\": \"a@x.io\", \"name\": \"Ada\"}, {\"email\": \"b@x.io\", \"name\": \"Bo\"}]";
    let (status, body) = send(
        app.api(reqwest::Method::POST, &format!("/sheets/{sheet}/records"))
            .header("content-type", "application/json")
            .body(records),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for (query, named) in [
        ("commitId=us_cm_x", "commitId"),
        ("format=xlsx", "format"),
        ("filter=valid&filter=all", "filter"),
    ] {
        let (status, body) = app.get_json(&format!("/sheets/{sheet}/download?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["errors"][0]["key"], named, "{query}: {body}");
    }
    let (status, body) = app
        .get_json(&format!("/sheets/{sheet}/records?pageSize=1&pageSize=5"))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update?filter=error&filter=all"),
            &json!({"fieldUpdates": {"name": {"value": "CLOBBERED"}}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let csv = app.get_text(&format!("/sheets/{sheet}/download")).await;
    assert!(
        csv.contains("Ada") && !csv.contains("CLOBBERED"),
        "nothing changed: {csv}"
    );
    // Lists add up: two ids are two records.
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let ids = record_ids(&page);
    let (status, page) = app
        .get_json(&format!("/sheets/{sheet}/records?ids={}&ids={}", ids[0], ids[1]))
        .await;
    assert_eq!((status, record_ids(&page).len()), (200, 2), "{page}");
}

on_both!(
    parameters_not_read_or_given_twice_are_refused,
    download_names_are_exact_and_safe,
    the_grid_download_holds_what_is_shown,
    big_and_small_records_download_whole_and_once
);

/// A sheet's and a workbook's downloads are named after them, letters of any script kept
/// (probe 69b D1: `名前` downloaded as `.xlsx`, a hidden file, and `Ünïcödé 名前` as
/// `n-c-d.csv`); what a file name cannot hold becomes `-`.
async fn downloads_are_named_after_their_sheet_and_workbook(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Names").await;
    let wb = json!({"name": "名前", "spaceId": space, "sheets": [{"name": "Ünïcödé 名前 a/b", "slug": "sheet-1",
        "fields": [{"key": "a", "type": "string"}]}]});
    let (status, wb) = app.post_json("/workbooks", &wb).await;
    assert_eq!(status, 200, "{wb}");
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let resp = app
        .api(reqwest::Method::GET, &format!("/sheets/{sheet}/download"))
        .send()
        .await
        .unwrap();
    let header = disposition(&resp);
    assert!(
        header.contains("filename*=UTF-8''%C3%9Cn%C3%AFc%C3%B6d%C3%A9%20%E5%90%8D%E5%89%8D%20a%2Db.csv"),
        "{header}"
    );
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let id = wb["data"]["id"].as_str().unwrap();
    let resp = app
        .client
        .get(app.url(&format!("/workbooks/{id}/download.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let header = disposition(&resp);
    assert!(
        header.contains("filename*=UTF-8''%E5%90%8D%E5%89%8D.xlsx"),
        "{header}"
    );
}

on_both!(downloads_are_named_after_their_sheet_and_workbook);
