//! Hostile and awkward uploads end to end: the server keeps serving, every file ends
//! extracted with its problems noted or failed with a message a person can act on, and what
//! was extracted can be searched and sorted on both databases.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use std::io::Write;

async fn extract(app: &TestApp, name: &str, bytes: Vec<u8>) -> Value {
    let space = app.bare_space("Hardening").await;
    let file = app.upload_and_extract(&space, name, bytes).await;
    let resp = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "the server keeps serving");
    file
}

fn message(file: &Value) -> &str {
    file["message"].as_str().unwrap_or_default()
}

async fn first_sheet(app: &TestApp, file: &Value) -> (String, Vec<String>) {
    let wb = file["workbookId"].as_str().unwrap_or_else(|| panic!("{file}"));
    let (_, wb) = app.get_json(&format!("/workbooks/{wb}")).await;
    let sheet = &wb["data"]["sheets"][0];
    let labels = sheet["config"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap().to_string())
        .collect();
    (sheet["id"].as_str().unwrap().to_string(), labels)
}

fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in parts {
        zip.start_file(*name, opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    buf.into_inner()
}

/// Issue item 1: A1 and XFD1048576 made calamine reserve every cell between them (abort).
async fn an_xlsx_spanning_the_whole_grid_extracts_its_cells(db: Db) {
    let app = spawn_app(db).await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write(0, 0, "name").unwrap();
    sheet.write(1_048_575, 16_382, "far away").unwrap();
    sheet.write(1_048_575, 16_383, "=cmd|x").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    assert!(bytes.len() < 10_000);
    let file = extract(&app, "corners.xlsx", bytes).await;
    assert_eq!(file["status"], "complete", "{file}");
    assert_eq!(file["rejectCount"], 1, "{file}");
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
    assert!(
        rejects.contains("column 1638") && rejects.contains("far away"),
        "{rejects}"
    );
    // An admin opens the rejects in a spreadsheet: formulas defused (CSV injection).
    assert!(
        rejects.contains("'=cmd|x") && !rejects.contains(",=cmd"),
        "{rejects}"
    );
    let (_, labels) = first_sheet(&app, &file).await;
    assert_eq!(labels, vec!["name"]);
}

/// Issue item 2: the sheet's headers claim 1,000 bytes; it inflates to 200 MB.
async fn a_zip_lying_about_its_sizes_is_refused(db: Db) {
    let app = spawn_app(db).await;
    let mut bytes = zip_of(&[
        ("xl/worksheets/sheet1.xml", &vec![b'<'; 200 * 1024 * 1024]),
        ("[Content_Types].xml", b"<Types/>"),
    ]);
    bytes[22..26].copy_from_slice(&1000u32.to_le_bytes());
    let central = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    bytes[central + 24..central + 28].copy_from_slice(&1000u32.to_le_bytes());
    let file = extract(&app, "liar.xlsx", bytes).await;
    assert_eq!(file["status"], "failed", "{file}");
    assert!(message(&file).contains("would unpack to more than"), "{file}");
}

/// Issue item 6: a NUL after the sniffed head (CSV) and `\u0000` (JSON) are stored as
/// U+FFFD; search and sort answer 200.
async fn nul_characters_in_files_are_replaced_and_the_sheet_still_searches(db: Db) {
    let app = spawn_app(db).await;
    let mut csv = String::from("name,note\n");
    while csv.len() < 70 * 1024 {
        csv.push_str("Ada,fine\n");
    }
    csv.push_str("Bob,nul\0here\n");
    let json = br#"[{"name": "Cy\u0000d", "note": "x"}]"#.to_vec();
    for (name, bytes) in [("nul.csv", csv.into_bytes()), ("nul.json", json)] {
        let file = extract(&app, name, bytes).await;
        assert_eq!(file["status"], "complete", "{file}");
        assert!(message(&file).contains("NUL character"), "{file}");
        let (sheet, _) = first_sheet(&app, &file).await;
        let rows = app.sheet_rows(&sheet).await;
        assert!(rows.iter().flatten().any(|v| v.contains('\u{FFFD}')), "{rows:?}");
        for query in [
            "searchValue=here",
            "searchValue=Cy",
            "sortField=note",
            "sortField=name&sortDirection=desc",
        ] {
            let (status, body) = app.get_json(&format!("/sheets/{sheet}/records?{query}")).await;
            assert_eq!(status, 200, "{query}: {body}");
        }
    }
}

/// Issue item 5: pandas' `df.to_csv()` and a title row above a header with a blank cell.
async fn the_header_row_is_found_when_it_fills_fewer_cells(db: Db) {
    let app = spawn_app(db).await;
    let file = extract(&app, "pandas.csv", b",name,age\n0,Ada,36\n1,Bob,41\n".to_vec()).await;
    let (sheet, labels) = first_sheet(&app, &file).await;
    assert_eq!(labels, vec!["Column 1", "name", "age"]);
    assert_eq!(
        app.sheet_rows(&sheet).await,
        vec![vec!["0", "Ada", "36"], vec!["1", "Bob", "41"]]
    );
    let text = b"Exported:,2024-01-05\nname,,email\nAda,36,ada@x.org\nBob,41,bob@x.org\n";
    let file = extract(&app, "titled.csv", text.to_vec()).await;
    let (sheet, labels) = first_sheet(&app, &file).await;
    assert_eq!(labels, vec!["name", "Column 2", "email"]);
    assert_eq!(app.sheet_rows(&sheet).await.len(), 2);
    assert!(message(&file).contains("row 2 was taken as the header"), "{file}");
}

/// Issue items 11 and 12: formats told by their bytes, failures in words.
async fn misnamed_and_unreadable_files_are_told_apart(db: Db) {
    let app = spawn_app(db).await;
    let file = extract(&app, "export.xlsx", b"a,b\n1,2\n".to_vec()).await;
    let (sheet, labels) = first_sheet(&app, &file).await;
    assert_eq!(
        (labels, app.sheet_rows(&sheet).await),
        (
            vec!["a".to_string(), "b".into()],
            vec![vec!["1".to_string(), "2".into()]]
        )
    );
    let file = extract(&app, "people.csv", br#"[{"name": "Ada", "age": 36}]"#.to_vec()).await;
    let (_, labels) = first_sheet(&app, &file).await;
    assert_eq!(labels, vec!["name", "age"]);
    let html = b"<html><body><table><tr><td>a</td></tr></table></body></html>".to_vec();
    let file = extract(&app, "report.xls", html).await;
    assert_eq!(file["status"], "failed");
    assert!(
        message(&file).contains("this is a web page, not a spreadsheet"),
        "{file}"
    );
    let file = extract(&app, "numbers.json", b"[1,2,3]".to_vec()).await;
    assert_eq!(file["status"], "failed");
    assert!(message(&file).contains("no objects with fields"), "{file}");
}

/// Issue items 9 and 10: JSON with a BOM, numbers as written.
async fn json_with_a_bom_keeps_numbers_as_written(db: Db) {
    let app = spawn_app(db).await;
    let text = "\u{FEFF}[{\"price\": 1.50, \"big\": 12345678901234567890123, \"e\": 1e2}]";
    let file = extract(&app, "prices.json", text.as_bytes().to_vec()).await;
    assert_eq!(file["status"], "complete", "{file}");
    let (sheet, _) = first_sheet(&app, &file).await;
    assert_eq!(
        app.sheet_rows(&sheet).await,
        vec![vec!["1.50", "12345678901234567890123", "1e2"]]
    );
}

/// A file extracted again keeps one workbook: the new one, the earlier one dropped.
async fn a_file_extracted_again_keeps_one_workbook(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Again").await;
    let file = app
        .upload_and_extract(&space, "again.csv", b"Name\nAda\nBo\n".to_vec())
        .await;
    let id = file["id"].as_str().unwrap().to_string();
    let first = file["workbookId"].as_str().unwrap().to_string();
    let body = json!({"type": "file", "operation": "extract", "source": id, "trigger": "immediate"});
    let (status, job) = app.post_json("/jobs", &body).await;
    assert_eq!(status, 200, "{job}");
    let job = app.wait_job(job["data"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "complete", "{job}");
    let (_, file) = app.get_json(&format!("/files/{id}")).await;
    let second = file["data"]["workbookId"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    let (_, workbooks) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    let ids: Vec<&str> = workbooks["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.as_str()], "{workbooks}");
}

/// No new extraction of a file while a mapping reads its records: it would replace the
/// workbook being read (probe 66b D3, SQLite: the running import failed and took back
/// 600,000 records). Once the mapping has ended, the file is extracted again.
async fn a_file_is_not_extracted_again_while_its_records_are_mapped(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Mapped").await;
    let file = app
        .upload_and_extract(&space, "mapped.csv", b"Name\nAda\nBo\n".to_vec())
        .await;
    let id = file["id"].as_str().unwrap().to_string();
    let source = file["workbookId"].as_str().unwrap().to_string();
    let (_, sheets) = app.get_json(&format!("/sheets?workbookId={source}")).await;
    let source_sheet = sheets["data"][0]["id"].as_str().unwrap().to_string();
    let (wb, sheet) = crate::job_helpers::destination(&app, &space).await;
    let body = crate::job_helpers::map_body(&source, &source_sheet, &wb, &sheet, "manual");
    let mapping = crate::job_helpers::start_mapping(&app, body).await;
    // Taken by another process, which is running it now.
    {
        use diesel::prelude::*;
        use wharf::db::schema::jobs;
        let mut conn = app.pool.get().unwrap();
        let now = chrono::Utc::now().naive_utc();
        diesel::update(jobs::table.find(&mapping))
            .set((
                jobs::status.eq("executing"),
                jobs::claimed_by.eq(Some("another-process")),
                jobs::heartbeat_at.eq(Some(now)),
            ))
            .execute(&mut *conn)
            .unwrap();
    }
    let again = json!({"type": "file", "operation": "extract", "source": id, "trigger": "immediate"});
    let (status, job) = app.post_json("/jobs", &again).await;
    assert_eq!(status, 200, "{job}");
    let job = app.wait_job(job["data"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["info"].as_str().unwrap().contains(&mapping), "{job}");
    let (_, now) = app.get_json(&format!("/files/{id}")).await;
    assert_eq!(now["data"]["workbookId"], source.as_str(), "{now}");
    assert_eq!(now["data"]["status"], "complete", "{now}");
    let (status, body) = app
        .post_json(&format!("/jobs/{mapping}/cancel"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, job) = app.post_json("/jobs", &again).await;
    assert_eq!(status, 200, "{job}");
    let job = app.wait_job(job["data"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "complete", "{job}");
}

/// A file is served with the type it was uploaded with only when that is a data type: a
/// part sent as a script or a page comes back as plain bytes, so an upload can never be
/// a script or page of Wharf's own origin.
async fn uploads_are_served_as_data_never_as_scripts_or_pages(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Types").await;
    for (name, sent, served) in [
        ("x.js", "application/javascript", "application/octet-stream"),
        ("x.html", "text/html", "application/octet-stream"),
        ("x.svg", "image/svg+xml", "application/octet-stream"),
        ("people.csv", "text/csv", "text/csv"),
    ] {
        let part = reqwest::multipart::Part::bytes(b"a,b\n1,2\n".to_vec())
            .file_name(name)
            .mime_str(sent)
            .unwrap();
        let form = reqwest::multipart::Form::new()
            .text("spaceId", space.clone())
            .part("file", part);
        let (status, file) = send(app.api(reqwest::Method::POST, "/files").multipart(form)).await;
        assert_eq!(status, 200, "{file}");
        assert_eq!(
            file["data"]["mimetype"], sent,
            "the file says what it was sent as"
        );
        let id = file["data"]["id"].as_str().unwrap();
        let resp = app
            .api(reqwest::Method::GET, &format!("/files/{id}/download"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let headers = resp.headers();
        assert_eq!(headers["content-type"], served, "{name}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
    }
}

/// The upload form's other parts are held to the rules of JSON bodies: no NUL, actions shaped
/// as a workbook's (a list in one part is a list, not one action), bounded; a file's name is
/// one line of at most 255 characters. Nothing of a refused upload is kept.
async fn an_uploads_form_fields_are_checked_like_a_body(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Fields").await;
    let upload = |fields: Vec<(&'static str, String)>, name: String| {
        let part = reqwest::multipart::Part::bytes(b"a,b\n1,2\n".to_vec()).file_name(name);
        let mut form = reqwest::multipart::Form::new().text("spaceId", space.clone());
        for (k, v) in fields {
            form = form.text(k, v);
        }
        send(
            app.api(reqwest::Method::POST, "/files")
                .multipart(form.part("file", part)),
        )
    };
    let refused = [
        (
            vec![("origin", "a\0b".to_string())],
            "x.csv".to_string(),
            422,
            "origin",
        ),
        (
            vec![("actions", r#"{"operation":"x","label":"a\u0000b"}"#.to_string())],
            "x.csv".into(),
            422,
            "actions",
        ),
        (
            vec![("actions", r#"{"label":"no operation"}"#.to_string())],
            "x.csv".into(),
            400,
            "$.actions[0].operation",
        ),
        (vec![], format!("{}.csv", "L".repeat(300)), 422, "file"),
    ];
    for (fields, name, status, key) in refused {
        let (got, body) = upload(fields, name).await;
        assert_eq!(got, status, "{body}");
        assert_eq!(body["errors"][0]["key"], key, "{body}");
    }
    let (_, files) = app.get_json(&format!("/files?spaceId={space}")).await;
    assert_eq!(files["data"], json!([]), "nothing of a refused upload is kept");
    let many = json!([{"operation": "a", "label": "A"}, {"operation": "b", "label": "B"}]).to_string();
    let (status, file) = upload(vec![("actions", many)], "ok.csv".into()).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["data"]["actions"].as_array().unwrap().len(), 2, "{file}");
    let id = file["data"]["id"].as_str().unwrap();
    for (change, key) in [
        (json!({"name": "evil\nname.csv"}), "name"),
        (json!({"name": "x".repeat(256)}), "name"),
        (json!({"status": "weird"}), "status"),
        // A name, not a path, as an upload keeps only a path's last part.
        (json!({"name": "../../x.csv"}), "name"),
        (json!({"name": ".."}), "name"),
    ] {
        let (status, body) = app.patch_json(&format!("/files/{id}"), &change).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"][0]["key"], key, "{body}");
    }
    let (_, kept) = app.get_json(&format!("/files/{id}")).await;
    assert_eq!(kept["data"]["name"], "ok.csv");
    let (status, renamed) = app
        .patch_json(&format!("/files/{id}"), &json!({"name": "Report.XLSX"}))
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["data"]["ext"], "xlsx", "the extension follows the name");
    // A name ending in words, as the automap plugin renames files, keeps it (probe 68g D2).
    let (status, renamed) = app
        .patch_json(
            &format!("/files/{id}"),
            &json!({"name": "Report.xlsx 🔁 contacts"}),
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["data"]["ext"], "xlsx", "{renamed}");
}

/// Two extractions of one file run at once: the file ends with one workbook, its own, and no
/// other `[file]` workbook of it is left behind.
async fn two_extractions_of_a_file_leave_one_workbook(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Twice").await;
    let mut csv = String::from("email,name\n");
    for i in 0..20_000 {
        csv.push_str(&format!("p{i}@x.org,Person {i}\n"));
    }
    let file = app
        .upload_and_extract(&space, "twice.csv", csv.into_bytes())
        .await;
    let file_id = file["id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, job) = app
            .post_json(
                "/jobs",
                &json!({"type": "file", "operation": "extract", "source": file_id}),
            )
            .await;
        assert_eq!(status, 200, "{job}");
        ids.push(job["data"]["id"].as_str().unwrap().to_string());
    }
    let (paths, empty) = (
        ids.iter()
            .map(|id| format!("/jobs/{id}/execute"))
            .collect::<Vec<_>>(),
        json!({}),
    );
    let (a, b) = tokio::join!(app.post_json(&paths[0], &empty), app.post_json(&paths[1], &empty));
    assert_eq!((a.0, b.0), (200, 200));
    let mut ended = Vec::new();
    for id in &ids {
        ended.push(app.wait_job(id).await);
    }
    let (_, f) = app.get_json(&format!("/files/{file_id}")).await;
    assert_eq!(f["data"]["status"], "complete", "{f}");
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    let of_file: Vec<&Value> = wbs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["name"] == "[file] twice.csv")
        .collect();
    assert_eq!(
        of_file.len(),
        1,
        "first {}\n{wbs}\njobs: {ended:?}",
        file["workbookId"]
    );
    assert_eq!(of_file[0]["id"], f["data"]["workbookId"]);
    let sheet = of_file[0]["sheets"][0]["id"].as_str().unwrap();
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 20_000);
}

/// A file Wharf cannot read (a PDF) that a listener's extractor then completes no longer
/// says why Wharf could not read it.
async fn a_file_a_listener_completes_drops_wharfs_failure(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Pdf").await;
    let file = app
        .upload_and_extract(&space, "doc.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n".to_vec())
        .await;
    assert_eq!(file["status"], "failed", "{file}");
    assert!(
        file["message"].as_str().is_some_and(|m| m.contains("PDF")),
        "{file}"
    );
    let id = file["id"].as_str().unwrap();
    let (status, done) = app
        .patch_json(&format!("/files/{id}"), &json!({"status": "complete"}))
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["data"]["status"], "complete");
    assert!(done["data"].get("message").is_none_or(Value::is_null), "{done}");
}

/// An extraction run again that fails leaves the file with the workbook of the one before,
/// whole, and says so; before, the file lost it (still in the space, linked to nothing).
async fn a_failed_extraction_again_keeps_the_earlier_workbook(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Again").await;
    let file = app
        .upload_and_extract(
            &space,
            "again.csv",
            b"email,name\na@x.org,Ann\nb@x.org,Bo\nc@x.org,Cy,one too many\n".to_vec(),
        )
        .await;
    let (file_id, first) = (file["id"].as_str().unwrap(), file["workbookId"].clone());
    assert!(first.is_string(), "{file}");
    assert_eq!(file["rejectCount"], 1, "{file}");
    // The stored bytes are damaged since: the next extraction cannot read them.
    std::fs::write(
        app.data_dir.join("storage/files").join(file_id),
        b"\0\x01\x02PK\0\0",
    )
    .unwrap();
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "file", "operation": "extract", "source": file_id}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let id = job["data"]["id"].as_str().unwrap();
    let (status, _) = app.post_json(&format!("/jobs/{id}/execute"), &json!({})).await;
    assert_eq!(status, 200);
    let ended = app.wait_job(id).await;
    assert_eq!(ended["status"], "failed", "{ended}");
    let (_, f) = app.get_json(&format!("/files/{file_id}")).await;
    assert_eq!(f["data"]["workbookId"], first, "{f}");
    assert_eq!(f["data"]["status"], "failed", "{f}");
    let message = f["data"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("earlier extraction is kept"), "{message}");
    let (status, wb) = app
        .get_json(&format!("/workbooks/{}", first.as_str().unwrap()))
        .await;
    assert_eq!(status, 200, "{wb}");
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap();
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 2, "{counts}");
    // The kept workbook keeps its rejected rows.
    assert_eq!(f["data"]["rejectCount"], 1, "{f}");
    let rejects = app
        .api(reqwest::Method::GET, &format!("/files/{file_id}/rejects"))
        .send()
        .await
        .unwrap();
    assert_eq!(rejects.status(), 200);
    assert!(rejects.text().await.unwrap().contains("c@x.org"));
}

/// With `WHARF_EXTRACT=csv`, a JSON upload is left `partial` for a listener's extractor
/// (no job of Wharf's, no `[file]` workbook), while a CSV is extracted as always.
async fn uploads_of_types_left_to_listeners_are_not_extracted(db: Db) {
    let app = spawn_app_with(db, |s| s.extract = Some(vec!["csv".into()])).await;
    let space = app.bare_space("Plugins").await;
    let (status, up) = app
        .upload(&space, "people.json", br#"[{"email": "a@x.org"}]"#.to_vec())
        .await;
    assert_eq!(status, 200, "{up}");
    let json_file = up["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(up["data"]["status"], "partial", "{up}");
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let list = app.page(&format!("/spaces/{space}/files")).await;
    assert!(list.contains("Waiting for a listener to extract it"), "{list}");
    // A listener's extractor takes it, as Flatfile's plugins do.
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "file", "operation": "extract-plugin-json", "source": json_file, "status": "ready"}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let csv = app
        .upload_and_extract(&space, "people.csv", b"email\nb@x.org\n".to_vec())
        .await;
    assert_eq!(csv["status"], "complete", "{csv}");
    let (_, jobs) = app.get_json(&format!("/jobs?fileId={json_file}")).await;
    let operations: Vec<&str> = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["operation"].as_str().unwrap())
        .collect();
    assert_eq!(operations, ["extract-plugin-json"], "{jobs}");
    let (_, f) = app.get_json(&format!("/files/{json_file}")).await;
    assert_eq!(f["data"]["status"], "partial", "{f}");
    assert!(f["data"]["workbookId"].is_null(), "{f}");
    // Not extracted by Wharf: no rejected rows, said as such (its bytes are there).
    let (status, body) = app.get_json(&format!("/files/{json_file}/rejects")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["errors"][0]["message"], "rejected rows not found", "{body}");
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    let names: Vec<&str> = wbs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["[file] people.csv"], "{wbs}");
    // What Flatfile's extractor plugins ask before they extract: Wharf has no entitlements.
    let (status, entitled) = app.get_json(&format!("/entitlements?resourceId={space}")).await;
    assert_eq!((status, entitled), (200, json!({"data": []})));
}

on_both!(
    uploads_of_types_left_to_listeners_are_not_extracted,
    a_failed_extraction_again_keeps_the_earlier_workbook,
    a_file_a_listener_completes_drops_wharfs_failure,
    two_extractions_of_a_file_leave_one_workbook,
    an_uploads_form_fields_are_checked_like_a_body,
    uploads_are_served_as_data_never_as_scripts_or_pages,
    a_file_extracted_again_keeps_one_workbook,
    a_file_is_not_extracted_again_while_its_records_are_mapped,
    an_xlsx_spanning_the_whole_grid_extracts_its_cells,
    a_zip_lying_about_its_sizes_is_refused,
    nul_characters_in_files_are_replaced_and_the_sheet_still_searches,
    the_header_row_is_found_when_it_fills_fewer_cells,
    misnamed_and_unreadable_files_are_told_apart,
    json_with_a_bom_keeps_numbers_as_written,
);
