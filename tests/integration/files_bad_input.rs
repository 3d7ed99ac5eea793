//! Bad input, one test each: every file ends failed with a message a person understands,
//! or extracted with its problems flagged; a failed extraction leaves no workbook; the
//! server keeps serving.

use crate::api_files::stored_files;
use crate::helpers::*;
use crate::on_both;
use serde_json::Value;
use std::io::Write;

/// Uploads into a fresh bare space and waits for extraction; returns the space and file.
async fn extract(app: &TestApp, name: &str, bytes: Vec<u8>) -> (String, Value) {
    let space = app.bare_space("Bad input").await;
    let file = app.upload_and_extract(&space, name, bytes).await;
    let resp = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "the server keeps serving");
    (space, file)
}

/// The file failed with a message containing `words`, and left no workbook.
async fn assert_failed(app: &TestApp, space: &str, file: &Value, words: &str) {
    assert_eq!(file["status"], "failed", "{file}");
    let message = file["message"].as_str().unwrap_or_default();
    assert!(message.contains(words), "`{message}` should say `{words}`");
    assert!(file["workbookId"].is_null(), "{file}");
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    assert_eq!(wbs["data"].as_array().unwrap().len(), 0, "no partial workbook");
    let (_, jobs) = app
        .get_json(&format!("/jobs?fileId={}", file["id"].as_str().unwrap()))
        .await;
    assert_eq!(jobs["data"][0]["status"], "failed");
    assert_eq!(jobs["data"][0]["outcome"]["message"], message);
}

async fn rows_of(app: &TestApp, file: &Value) -> Vec<Vec<String>> {
    let (_, wb) = app
        .get_json(&format!("/workbooks/{}", file["workbookId"].as_str().unwrap()))
        .await;
    app.sheet_rows(wb["data"]["sheets"][0]["id"].as_str().unwrap())
        .await
}

async fn an_empty_file_fails(db: Db) {
    let app = spawn_app(db).await;
    let (space, file) = extract(&app, "empty.csv", Vec::new()).await;
    assert_failed(&app, &space, &file, "the file is empty").await;
}

async fn a_header_only_file_extracts_no_records(db: Db) {
    let app = spawn_app(db).await;
    let (_, file) = extract(&app, "header.csv", b"Name,Email\n".to_vec()).await;
    assert_eq!(file["status"], "complete", "{file}");
    assert!(rows_of(&app, &file).await.is_empty());
}

async fn binary_junk_named_csv_fails(db: Db) {
    let app = spawn_app(db).await;
    let junk: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    let (space, file) = extract(&app, "junk.csv", junk).await;
    assert_failed(&app, &space, &file, "does not look like text").await;
}

fn small_xlsx() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let s = book.add_worksheet();
    for r in 0..200u32 {
        s.write(r, 0, format!("value {r}")).unwrap();
    }
    book.save_to_buffer().unwrap()
}

async fn a_truncated_xlsx_fails(db: Db) {
    let app = spawn_app(db).await;
    let mut bytes = small_xlsx();
    bytes.truncate(bytes.len() / 2);
    let (space, file) = extract(&app, "cut.xlsx", bytes).await;
    assert_failed(&app, &space, &file, "damaged or cut off").await;
}

async fn a_zip_bomb_fails_unopened(db: Db) {
    let app = spawn_app(db).await;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..200 {
            zip.write_all(&zeros).unwrap();
        }
        zip.finish().unwrap();
    }
    let (space, file) = extract(&app, "bomb.xlsx", buf.into_inner()).await;
    assert_failed(&app, &space, &file, "would unpack to").await;
}

/// Bytes that break UTF-8 in UTF-8 text are read as Windows-1252 (text pasted from
/// another program), and the file's message says so (probe 51a F5).
async fn invalid_utf8_is_extracted_and_flagged(db: Db) {
    let app = spawn_app(db).await;
    let mut bytes = "Name,Note\nJosé,ok\nRenée,fine\n".as_bytes().to_vec();
    bytes.extend(b"Bad,Caf\xE9 here\n");
    let (_, file) = extract(&app, "utf8.csv", bytes).await;
    assert_eq!(file["status"], "complete", "{file}");
    assert!(
        file["message"]
            .as_str()
            .unwrap()
            .contains("1 byte of windows-1252"),
        "{file}"
    );
    let rows = rows_of(&app, &file).await;
    assert_eq!(rows[0], vec!["José", "ok"]);
    assert_eq!(rows[2], vec!["Bad", "Café here"]);
}

async fn mixed_line_endings_are_rows(db: Db) {
    let app = spawn_app(db).await;
    let (_, file) = extract(&app, "mixed.csv", b"a,b\r\n1,2\n3,4\r5,6\r\n".to_vec()).await;
    assert_eq!(file["status"], "complete", "{file}");
    assert_eq!(
        rows_of(&app, &file).await,
        vec![vec!["1", "2"], vec!["3", "4"], vec!["5", "6"]]
    );
}

async fn a_100_mb_field_is_a_reject_with_its_line(db: Db) {
    let app = spawn_app(db).await;
    let mut bytes = b"a,b\n1,".to_vec();
    bytes.resize(bytes.len() + 100 * 1024 * 1024, b'x');
    bytes.extend(b"\n2,3\n");
    let (_, file) = extract(&app, "long.csv", bytes).await;
    assert_eq!(file["status"], "complete", "{file}");
    assert_eq!(file["rejectCount"], 1);
    assert!(
        file["message"]
            .as_str()
            .unwrap()
            .contains("left out of the sheet"),
        "{file}"
    );
    assert_eq!(rows_of(&app, &file).await, vec![vec!["2", "3"]]);
    let rejects = app
        .api(
            reqwest::Method::GET,
            &format!("/files/{}/rejects", file["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let second = rejects.lines().nth(1).unwrap();
    assert!(second.starts_with("long,2,"), "{second}");
    assert!(rejects.len() < 10_000, "the reject keeps a sample, not 100 MB");
}

async fn ten_thousand_columns_fail_clearly(db: Db) {
    let app = spawn_app(db).await;
    let header: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
    let row: Vec<String> = (0..10_000).map(|i| i.to_string()).collect();
    let text = format!("{}\n{}\n", header.join(","), row.join(","));
    let (space, file) = extract(&app, "wide.csv", text.into_bytes()).await;
    assert_failed(&app, &space, &file, "more than 1000 columns (10,000 counted").await;
}

async fn an_upload_cut_off_halfway_leaves_nothing(db: Db) {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app(db).await;
    let space = app.bare_space("Cut").await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/files HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 10000000\r\n\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"spaceId\"\r\n\r\n{space}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"half.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n",
        app.key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..50 {
        stream.write_all(&[b'a'; 10_000]).await.unwrap();
    }
    stream.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    drop(stream);
    let mut left = usize::MAX;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = stored_files(&app);
        if left == 0 {
            break;
        }
    }
    assert_eq!(left, 0, "no bytes are kept");
    let (_, list) = app.get_json("/files").await;
    assert_eq!(list["pagination"]["totalCount"], 0);
    let resp = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

/// A compressed upload is refused with words on what to do (it was "cut off or
/// malformed"), and nothing is kept.
async fn a_compressed_upload_is_refused_clearly(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Gzip").await;
    let form = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"spaceId\"\r\n\r\n{space}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\
         Content-Type: text/csv\r\n\r\nA\n1\n\r\n--XyZ--\r\n"
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, form.as_bytes()).unwrap();
    let (status, body) = send(
        app.api(reqwest::Method::POST, "/files")
            .header("Content-Type", "multipart/form-data; boundary=XyZ")
            .header("Content-Encoding", "gzip")
            .body(gz.finish().unwrap()),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("Content-Encoding `gzip`"), "{body}");
    assert_eq!(stored_files(&app), 0);
}

/// A summary row under the table is kept as a record (it may be data), and the file's
/// message points at it (probes 58d, 60b: a "Total" row imported unsaid).
async fn a_total_row_under_the_table_is_pointed_out(db: Db) {
    let app = spawn_app(db).await;
    let csv = b"name,amount\nAda,10\nBob,20\nTotal:,30\n".to_vec();
    let (_, file) = extract(&app, "sums.csv", csv).await;
    assert_eq!(file["status"], "complete", "{file}");
    let message = file["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("(line 4) starts with “Total:” and was kept as a record"),
        "{file}"
    );
    // A row that only starts with the word, with no number beside it, is no total.
    let (_, file) = extract(&app, "notes.csv", b"name,note\nAda,x\nTotal,none\n".to_vec()).await;
    assert!(
        !file["message"].to_string().contains("kept as a record"),
        "{file}"
    );
}

on_both!(
    a_total_row_under_the_table_is_pointed_out,
    a_compressed_upload_is_refused_clearly,
    an_empty_file_fails,
    a_header_only_file_extracts_no_records,
    binary_junk_named_csv_fails,
    a_truncated_xlsx_fails,
    a_zip_bomb_fails_unopened,
    invalid_utf8_is_extracted_and_flagged,
    mixed_line_endings_are_rows,
    a_100_mb_field_is_a_reject_with_its_line,
    ten_thousand_columns_fail_clearly,
    an_upload_cut_off_halfway_leaves_nothing,
);
