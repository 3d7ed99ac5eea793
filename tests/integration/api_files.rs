//! Files: upload, extraction into a `[file]` workbook, and the other /v1/files calls.

use crate::helpers::*;
use crate::on_both;
use serde_json::Value;
use sha2::{Digest, Sha256};

const PEOPLE: &str = "People export,,\n,,\nName,Email,Age\nAda Lovelace, ada@x.org ,036\n\"Bob, Jr.\",bob@x.org,4.50\nCléo,\"multi\nline\",\n";

async fn first_sheet(app: &TestApp, workbook_id: &str) -> (Value, String) {
    let (status, wb) = app.get_json(&format!("/workbooks/{workbook_id}")).await;
    assert_eq!(status, 200, "{wb}");
    let sheet_id = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    (wb["data"].clone(), sheet_id)
}

async fn a_csv_upload_is_extracted_into_a_file_workbook(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Imports").await;
    let (status, file) = app.upload(&space, "people.csv", PEOPLE.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{file}");
    let f = &file["data"];
    assert!(f["id"].as_str().unwrap().starts_with("us_fl_"));
    assert_eq!(f["name"], "people.csv");
    assert_eq!(f["ext"], "csv");
    assert_eq!(f["mimetype"], "text/csv");
    assert_eq!(f["mode"], "import");
    assert_eq!(f["size"], PEOPLE.len());
    assert_eq!(f["spaceId"], space.as_str());
    assert_eq!(f["sha256"], hex::encode(Sha256::digest(PEOPLE.as_bytes())));
    let file_id = f["id"].as_str().unwrap().to_string();

    let (_, jobs) = app.get_json(&format!("/jobs?fileId={file_id}")).await;
    let job = &jobs["data"][0];
    assert_eq!(job["type"], "file");
    assert_eq!(job["operation"], "extract");
    assert_eq!(job["source"], file_id.as_str());
    let job = app.wait_job(job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "complete", "{job}");
    assert_eq!(job["progress"], 100);
    // The title and blank rows above the header are left out, and the file says so.
    assert_eq!(
        job["outcome"]["message"],
        format!(
            "Extracted file; 1 row was left out of the sheet: the file's \"Rejected rows\" say which and why; \
             row 3 was taken as the header of people; the rows above it were left out (they are with the rejected rows)"
        )
    );

    let (_, file) = app.get_json(&format!("/files/{file_id}")).await;
    assert_eq!(file["data"]["status"], "complete");
    let wb_id = file["data"]["workbookId"]
        .as_str()
        .expect("workbookId")
        .to_string();
    let (wb, sheet_id) = first_sheet(&app, &wb_id).await;
    assert_eq!(wb["name"], "[file] people.csv");
    assert_eq!(wb["labels"], serde_json::json!(["file"]));
    assert_eq!(wb["spaceId"], space.as_str());
    let labels: Vec<&str> = wb["sheets"][0]["config"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["type"], "string");
            f["label"].as_str().unwrap()
        })
        .collect();
    assert_eq!(labels, vec!["Name", "Email", "Age"]);
    assert_eq!(
        app.sheet_rows(&sheet_id).await,
        vec![
            vec!["Ada Lovelace", " ada@x.org ", "036"],
            vec!["Bob, Jr.", "bob@x.org", "4.50"],
            vec!["Cléo", "multi\nline", ""],
        ]
    );

    let bytes = app
        .api(reqwest::Method::GET, &format!("/files/{file_id}/download"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], PEOPLE.as_bytes());

    let (_, events) = app
        .get_json(&format!("/events?spaceId={space}&pageSize=100"))
        .await;
    let topics: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["topic"].as_str().unwrap())
        .collect();
    for topic in [
        "file:created",
        "job:created",
        "job:ready",
        "job:updated",
        "workbook:created",
        "records:created",
        "file:updated",
        "job:completed",
    ] {
        assert!(topics.contains(&topic), "{topic} missing from {topics:?}");
    }
    let created = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["topic"] == "file:created")
        .unwrap();
    assert_eq!(created["context"]["fileId"], file_id.as_str());
    let completed = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["topic"] == "job:completed")
        .unwrap();
    assert_eq!(completed["payload"]["job"], "file:extract");
    assert!(completed["context"]["jobId"]
        .as_str()
        .unwrap()
        .starts_with("us_jb_"));
    let (_, got_space) = app.get_json(&format!("/spaces/{space}")).await;
    assert_eq!(got_space["data"]["filesCount"], 1);
}

fn two_sheet_xlsx() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let s = book.add_worksheet().set_name("Orders").unwrap();
    for (c, h) in ["Order", "Total"].iter().enumerate() {
        s.write(0, c as u16, *h).unwrap();
    }
    s.write(1, 0, "A-1").unwrap();
    s.write(1, 1, 12.5).unwrap();
    s.write(2, 0, "A-2").unwrap();
    s.write(2, 1, 7).unwrap();
    let s = book.add_worksheet().set_name("Notes").unwrap();
    s.write(0, 0, "Note").unwrap();
    s.write(1, 0, "hello").unwrap();
    book.save_to_buffer().unwrap()
}

async fn every_sheet_of_an_xlsx_becomes_a_sheet(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Imports").await;
    let file = app
        .upload_and_extract(&space, "orders.xlsx", two_sheet_xlsx())
        .await;
    assert_eq!(file["status"], "complete", "{file}");
    assert_eq!(
        file["mimetype"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let (wb, _) = first_sheet(&app, file["workbookId"].as_str().unwrap()).await;
    let sheets = wb["sheets"].as_array().unwrap();
    assert_eq!(sheets.len(), 2);
    assert_eq!(sheets[0]["name"], "Orders");
    assert_eq!(sheets[1]["name"], "Notes");
    let orders = app.sheet_rows(sheets[0]["id"].as_str().unwrap()).await;
    assert_eq!(orders, vec![vec!["A-1", "12.5"], vec!["A-2", "7"]]);
}

async fn files_are_listed_updated_and_deleted(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Imports").await;
    let other = app.bare_space("Other").await;
    let mut ids = Vec::new();
    for (s, name) in [(&space, "a.csv"), (&space, "b.csv"), (&other, "c.csv")] {
        let (_, f) = app.upload(s, name, b"x\n1\n".to_vec()).await;
        ids.push(f["data"]["id"].as_str().unwrap().to_string());
    }
    let (status, list) = app
        .get_json(&format!("/files?spaceId={space}&pageSize=1&pageNumber=2"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["pagination"]["totalCount"], 2);
    assert_eq!(list["pagination"]["pageCount"], 2);
    let (_, first) = app
        .get_json(&format!("/files?spaceId={space}&pageSize=1&pageNumber=1"))
        .await;
    let mut names = vec![
        first["data"][0]["name"].as_str().unwrap(),
        list["data"][0]["name"].as_str().unwrap(),
    ];
    names.sort();
    assert_eq!(names, vec!["a.csv", "b.csv"], "two pages, one file each");

    let (status, f) = app
        .patch_json(
            &format!("/files/{}", ids[0]),
            &serde_json::json!({"name": "renamed.csv", "status": "archived"}),
        )
        .await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["data"]["name"], "renamed.csv");
    assert_eq!(f["data"]["status"], "archived");
    let (status, _) = app
        .patch_json(
            &format!("/files/{}", ids[0]),
            &serde_json::json!({"status": "shiny"}),
        )
        .await;
    assert_eq!(status, 422);
    // `purged` is Wharf's to say when a file's bytes go: set by a client on a whole file,
    // it could not be taken back (probe 59d D5).
    let (status, body) = app
        .patch_json(
            &format!("/files/{}", ids[0]),
            &serde_json::json!({"status": "purged"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // (Not `archived` for sure: the file's extraction may end meanwhile and say so.)
    let (_, f) = app.get_json(&format!("/files/{}", ids[0])).await;
    assert_ne!(f["data"]["status"], "purged", "{f}");

    let (status, body) = app.delete(&format!("/files/{}", ids[1])).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"data": {"success": true}}));
    let (status, _) = app.get_json(&format!("/files/{}", ids[1])).await;
    assert_eq!(status, 404);
    let (status, _) = app.get_json("/files/us_fl_nothere").await;
    assert_eq!(status, 404);

    // Deleting a space deletes its files' bytes too.
    let (_, jobs) = app.get_json("/jobs").await;
    for j in jobs["data"].as_array().unwrap() {
        app.wait_job(j["id"].as_str().unwrap()).await;
    }
    assert!(stored_files(&app) > 0);
    for s in [&space, &other] {
        let (status, _) = app.delete(&format!("/spaces/{s}")).await;
        assert_eq!(status, 200);
    }
    let left: Vec<_> = walkdir(&app.data_dir.join("storage"));
    assert_eq!(stored_files(&app), 0, "{left:?}");
}

fn walkdir(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .flat_map(|e| {
                    if e.path().is_dir() {
                        walkdir(&e.path())
                    } else {
                        vec![e.path().display().to_string()]
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Files in the data directory's storage, temp files included (not the file naming the
/// folder, `holder-id`).
pub fn stored_files(app: &TestApp) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| match e.path() {
                        p if p.is_dir() => count(&p),
                        p if p.ends_with("holder-id") => 0,
                        _ => 1,
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    count(&app.data_dir.join("storage"))
}

async fn an_upload_over_the_limit_is_refused_and_leaves_nothing(db: Db) {
    let app = spawn_app_with(db, |s| s.max_upload_mb = 1).await;
    let space = app.bare_space("Imports").await;
    let big = vec![b'a'; 1024 * 1024 + 10];
    let (status, body) = app.upload(&space, "big.csv", big).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["errors"][0]["message"].as_str().unwrap().contains("1 MB"),
        "{body}"
    );
    let (_, list) = app.get_json("/files").await;
    assert_eq!(list["pagination"]["totalCount"], 0);
    assert_eq!(stored_files(&app), 0);

    // A body that declares 2 GB is refused before it is read.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/files HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 2147483648\r\n\r\n--XyZ\r\n",
        app.key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("answered at once")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

async fn an_upload_into_another_environments_space_is_not_found(db: Db) {
    let app = spawn_app(db).await;
    let (status, env) = app
        .post_json("/environments", &serde_json::json!({"name": "other"}))
        .await;
    assert_eq!(status, 200, "{env}");
    // A space of another environment, made directly in the database.
    let foreign_space = {
        let mut conn = app.pool.get().unwrap();
        let env_id = wharf::ids::EnvironmentId::parse(env["data"]["id"].as_str().unwrap()).unwrap();
        let input = wharf::model::space::SpaceInput {
            name: Some("Theirs"),
            space_config_id: None,
            metadata: "{}",
            namespace: None,
            auto_configure: false,
            extras: "{}",
        };
        wharf::model::space::create(&mut conn, &env_id, input, "test")
            .unwrap()
            .id
    };
    let (status, body) = app
        .upload(foreign_space.as_str(), "a.csv", b"x\n1\n".to_vec())
        .await;
    assert_eq!(status, 404, "{body}");
    let (_, list) = app.get_json("/files").await;
    assert_eq!(list["pagination"]["totalCount"], 0);
    assert_eq!(stored_files(&app), 0);
    let (status, _) = app.upload("us_sp_nothere", "a.csv", b"x\n1\n".to_vec()).await;
    assert_eq!(status, 404);
}

async fn json_lines_and_legacy_encodings_are_extracted(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Formats").await;
    type Case = (&'static str, Vec<u8>, Vec<Vec<&'static str>>);
    let cases: [Case; 4] = [
        (
            "people.json",
            br#"[{"name": "Ada", "age": 36}, {"name": "Bob", "tags": ["x"]}]"#.to_vec(),
            vec![vec!["Ada", "36", ""], vec!["Bob", "", "[\"x\"]"]],
        ),
        (
            "people.jsonl",
            b"{\"name\": \"Ada\"}\n{\"name\": \"Bob\", \"ok\": true}\n".to_vec(),
            vec![vec!["Ada", ""], vec!["Bob", "true"]],
        ),
        (
            "latin1.csv",
            b"Name;City\nJos\xE9;Z\xFCrich\nFran\xE7ois;M\xFCnchen\n".to_vec(),
            vec![vec!["José", "Zürich"], vec!["François", "München"]],
        ),
        (
            "utf16.tsv",
            {
                let mut b = vec![0xFF, 0xFE];
                for u in "a\tb\n1\t2\n".encode_utf16() {
                    b.extend(u.to_le_bytes());
                }
                b
            },
            vec![vec!["1", "2"]],
        ),
    ];
    for (name, bytes, expected) in cases {
        let file = app.upload_and_extract(&space, name, bytes).await;
        assert_eq!(file["status"], "complete", "{name}: {file}");
        let (_, sheet) = first_sheet(&app, file["workbookId"].as_str().unwrap()).await;
        assert_eq!(app.sheet_rows(&sheet).await, expected, "{name}");
    }
}

/// `{"contacts": [...], "companies": [...]}`, as APIs and CRMs export: a sheet per list,
/// nested objects as `address.city` columns, every row in its own sheet.
async fn a_json_object_of_lists_is_a_sheet_per_list(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Export").await;
    let contacts: Vec<Value> = (0..6_000)
        .map(|i| serde_json::json!({"name": format!("P{i}"), "address": {"city": format!("C{i}")}}))
        .collect();
    let companies: Vec<Value> = (0..1_500).map(|i| serde_json::json!({"code": i})).collect();
    let body = serde_json::json!({"exported": "today", "contacts": contacts, "companies": companies});
    let file = app
        .upload_and_extract(&space, "crm.json", body.to_string().into_bytes())
        .await;
    assert_eq!(file["status"], "complete", "{file}");
    let (_, wb) = app
        .get_json(&format!("/workbooks/{}", file["workbookId"].as_str().unwrap()))
        .await;
    let sheets = wb["data"]["sheets"].as_array().unwrap();
    let names: Vec<&str> = sheets.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["contacts", "companies"]);
    let labels: Vec<&str> = sheets[0]["config"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["name", "address.city"]);
    for (sheet, total, last) in [
        (&sheets[0], 6_000, vec!["P5999", "C5999"]),
        (&sheets[1], 1_500, vec!["1499"]),
    ] {
        let id = sheet["id"].as_str().unwrap();
        let (_, counts) = app.get_json(&format!("/sheets/{id}/counts")).await;
        assert_eq!(counts["data"]["counts"]["total"], total, "{counts}");
        let rows = app.sheet_rows(id).await;
        assert_eq!(rows.len(), total as usize);
        assert_eq!(rows.last().unwrap(), &last);
    }
}

/// A listing is of uploads unless it asks for exports (`mode` defaults to `import`, as
/// Flatfile's), so listener code processing a space's uploads does not pick up its exports.
async fn a_file_listing_is_of_imports_unless_asked(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Modes").await;
    let (status, _) = app.upload(&space, "in.csv", b"a\n1\n".to_vec()).await;
    assert_eq!(status, 200);
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"a\n2\n".to_vec()).file_name("out.csv"),
        )
        .text("spaceId", space.clone())
        .text("environmentId", app.env_id.to_string())
        .text("mode", "export");
    let (status, body) = send(app.api(reqwest::Method::POST, "/files").multipart(form)).await;
    assert_eq!(status, 200, "{body}");
    let names = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, list) = app.get_json(&format!("/files?spaceId={space}")).await;
    assert_eq!(names(&list), ["in.csv"]);
    let (_, list) = app.get_json(&format!("/files?spaceId={space}&mode=export")).await;
    assert_eq!(names(&list), ["out.csv"]);
    let (status, body) = app.get_json(&format!("/files?spaceId={space}&mode=all")).await;
    assert_eq!(status, 400, "{body}");
}

/// Two deletes of one file at once: both end well, and `file:deleted` (with its workbook's
/// `workbook:deleted`) goes out once.
async fn a_file_deleted_twice_at_once_says_so_once(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Twice").await;
    let file = app
        .upload_and_extract(&space, "t.csv", b"a,b\n1,2\n".to_vec())
        .await;
    let id = file["id"].as_str().unwrap();
    let path = format!("/files/{id}");
    let (a, b) = tokio::join!(app.delete(&path), app.delete(&path));
    for (status, body) in [&a, &b] {
        assert!([200, 404].contains(status), "{body}");
    }
    assert!(a.0 == 200 || b.0 == 200);
    let (_, events) = app
        .get_json(&format!("/events?spaceId={space}&pageSize=100"))
        .await;
    let count = |topic: &str| {
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["topic"] == topic)
            .count()
    };
    assert_eq!(
        (count("file:deleted"), count("workbook:deleted")),
        (1, 1),
        "{events}"
    );
}

on_both!(
    a_file_listing_is_of_imports_unless_asked,
    a_json_object_of_lists_is_a_sheet_per_list,
    a_file_deleted_twice_at_once_says_so_once,
    json_lines_and_legacy_encodings_are_extracted,
    a_csv_upload_is_extracted_into_a_file_workbook,
    every_sheet_of_an_xlsx_becomes_a_sheet,
    files_are_listed_updated_and_deleted,
    an_upload_over_the_limit_is_refused_and_leaves_nothing,
    an_upload_into_another_environments_space_is_not_found,
);
