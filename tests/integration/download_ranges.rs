//! Downloads say their length and serve a span of bytes when asked (`Range`), so a client
//! whose download broke off resumes it instead of starting again.

use crate::helpers::*;
use crate::on_both;
use reqwest::header::HeaderMap;

/// A GET with extra headers: (status, headers, body).
pub(crate) async fn get_with(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, HeaderMap, Vec<u8>) {
    let mut req = app.api(reqwest::Method::GET, path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.expect("download");
    let (status, map) = (resp.status().as_u16(), resp.headers().clone());
    (status, map, resp.bytes().await.expect("body").to_vec())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn a_download_resumes_from_where_it_broke_off(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Ranges").await;
    let mut csv = String::from("email,name\n");
    for i in 0..20_000 {
        csv.push_str(&format!("p{i}@x.org,Person {i}\n"));
    }
    let file = app
        .upload_and_extract(&space, "people.csv", csv.clone().into_bytes())
        .await;
    let path = format!("/files/{}/download", file["id"].as_str().unwrap());
    let size = csv.len();

    let (status, headers, whole) = get_with(&app, &path, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-length"), size.to_string());
    assert_eq!(header(&headers, "accept-ranges"), "bytes");
    let etag = header(&headers, "etag").to_string();
    assert_eq!(etag, format!("\"{}\"", file["sha256"].as_str().unwrap()));
    assert!(whole == csv.as_bytes());

    // The first part, then the rest from where it stopped, makes the file.
    let (status, headers, head) = get_with(&app, &path, &[("range", "bytes=0-99999")]).await;
    assert_eq!(status, 206);
    assert_eq!(header(&headers, "content-range"), format!("bytes 0-99999/{size}"));
    assert_eq!(header(&headers, "content-length"), "100000");
    let (status, headers, rest) =
        get_with(&app, &path, &[("range", "bytes=100000-"), ("if-range", &etag)]).await;
    assert_eq!(status, 206);
    assert_eq!(
        header(&headers, "content-range"),
        format!("bytes 100000-{}/{size}", size - 1)
    );
    assert!(
        [head, rest].concat() == csv.as_bytes(),
        "the two parts make the file"
    );

    let (status, _, tail) = get_with(&app, &path, &[("range", "bytes=-11")]).await;
    assert_eq!(status, 206);
    assert_eq!(tail, &csv.as_bytes()[size - 11..]);

    // Another version named by If-Range, or several spans: the whole file, 200.
    for asked in [
        vec![("range", "bytes=10-20"), ("if-range", "\"another\"")],
        vec![("range", "bytes=0-1,5-6")],
        vec![("range", "lines=1-2")],
    ] {
        let (status, _, body) = get_with(&app, &path, &asked).await;
        assert_eq!(status, 200, "{asked:?}");
        assert!(body == csv.as_bytes(), "{asked:?}");
    }

    // A HEAD says the same without a body.
    let head = |range: Option<&str>| {
        let mut req = app.api(reqwest::Method::HEAD, &path);
        if let Some(range) = range {
            req = req.header("range", range);
        }
        req.send()
    };
    let resp = head(None).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], size.to_string().as_str());
    assert_eq!(resp.headers()["etag"], etag.as_str());
    assert!(resp.bytes().await.unwrap().is_empty());
    let resp = head(Some("bytes=10-19")).await.unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["content-length"], "10");

    // A span past the end: 416 with the size.
    let (status, headers, _) = get_with(&app, &path, &[("range", &format!("bytes={size}-"))]).await;
    assert_eq!(status, 416);
    assert_eq!(header(&headers, "content-range"), format!("bytes */{size}"));
}

/// Rejected rows are written again by each extraction under the same key: their `ETag` is
/// the stored object's version, so a download resumed across an extraction gets the new
/// rows whole (it spliced two versions).
async fn rejected_rows_resume_only_on_the_same_version(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Rejects").await;
    let file = app
        .upload_and_extract(&space, "r.csv", b"a,b\n1,2\n3,4,5\n6,7,8\n".to_vec())
        .await;
    let id = file["id"].as_str().unwrap().to_string();
    let path = format!("/files/{id}/rejects");
    let (status, headers, first) = get_with(&app, &path, &[]).await;
    assert_eq!(status, 200);
    let before = header(&headers, "etag").to_string();
    assert!(before.starts_with('"') && before.len() > 2, "{before}");
    let (status, _, _) = get_with(&app, &path, &[("range", "bytes=5-"), ("if-range", &before)]).await;
    assert_eq!(status, 206, "the same version resumes");

    let again = serde_json::json!({"type": "file", "operation": "extract", "source": id});
    let (_, job) = app.post_json("/jobs", &again).await;
    let job = job["data"]["id"].as_str().unwrap().to_string();
    app.post_json(&format!("/jobs/{job}/execute"), &serde_json::json!({}))
        .await;
    assert_eq!(app.wait_job(&job).await["status"], "complete");
    let (status, headers, whole) =
        get_with(&app, &path, &[("range", "bytes=5-"), ("if-range", &before)]).await;
    assert_eq!(status, 200, "another version is sent whole");
    assert_ne!(header(&headers, "etag"), before);
    assert_eq!(whole.len(), first.len());
}

on_both!(
    a_download_resumes_from_where_it_broke_off,
    rejected_rows_resume_only_on_the_same_version
);
