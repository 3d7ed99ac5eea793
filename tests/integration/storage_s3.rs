//! Uploaded files in an S3-compatible bucket (`WHARF_STORAGE_URL`), against a real S3 server
//! the test starts: `s3s-fs`, which scripts/test.sh installs with cargo.

use crate::download_ranges::get_with;
use crate::helpers::*;
use crate::on_both;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use wharf::app::Application;
use wharf::settings::BucketSettings;

const ACCESS_KEY: &str = "wharf-test";
const SECRET_KEY: &str = "wharf-test-secret";
const BUCKET: &str = "wharf-files";

/// The s3s-fs binary: `S3S_FS`, else on PATH, else in cargo's bin folder.
fn s3s_fs() -> PathBuf {
    if let Some(path) = std::env::var_os("S3S_FS") {
        return path.into();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    std::env::split_paths(&path)
        .chain(cargo_home.map(|c| c.join("bin")))
        .map(|dir| dir.join("s3s-fs"))
        .find(|p| p.is_file())
        .expect("s3s-fs is not installed: run ./scripts/test.sh, or cargo install --locked s3s-fs@0.14.1 --features binary")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// An s3s-fs server on a free port, serving one empty bucket from a temp folder.
pub struct S3Server {
    child: Option<Child>,
    pub endpoint: String,
    root: tempfile::TempDir,
}

impl S3Server {
    pub async fn start() -> S3Server {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket folder");
        let port = free_port();
        let child = serve(root.path(), port, SECRET_KEY).await;
        S3Server {
            child: Some(child),
            endpoint: format!("http://127.0.0.1:{port}"),
            root,
        }
    }

    /// The same server started again with another secret: it refuses Wharf's credentials
    /// (as when they are revoked or rotated while Wharf runs).
    pub async fn restart_with_another_secret(&mut self) {
        self.stop();
        let port: u16 = self.endpoint.rsplit(':').next().unwrap().parse().unwrap();
        self.child = Some(serve(self.root.path(), port, "another-secret-key").await);
    }

    /// The bucket under `prefix`, with this server's endpoint and credentials.
    pub fn bucket(&self, prefix: &str) -> BucketSettings {
        let mut b = BucketSettings::parse(&format!("s3://{BUCKET}/{prefix}")).expect("bucket url");
        b.options = [
            ("aws_access_key_id", ACCESS_KEY),
            ("aws_secret_access_key", SECRET_KEY),
            ("aws_endpoint", &self.endpoint),
            ("aws_allow_http", "true"),
            ("aws_region", "us-east-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        b
    }

    /// A client of the bucket, to look at objects the way any S3 tool would.
    fn client(&self) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(SECRET_KEY)
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .build()
            .expect("client")
    }

    /// The objects the bucket keeps under `prefix`, as the server's files.
    pub fn objects_under(&self, prefix: &str) -> Vec<PathBuf> {
        files_under(&self.root.path().join(BUCKET).join(prefix))
    }

    /// Multipart parts the server still keeps (of uploads neither completed nor aborted).
    pub fn pending_parts(&self) -> usize {
        std::fs::read_dir(self.root.path())
            .expect("root")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".upload_id-"))
            .count()
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An s3s-fs process serving `root` on `port`, once it listens.
async fn serve(root: &Path, port: u16, secret: &str) -> Child {
    let mut child = Command::new(s3s_fs())
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", ACCESS_KEY, "--secret-key", secret])
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting s3s-fs");
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("s3s-fs did not start");
}

/// Files of a folder and its subfolders.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() {
                files_under(&p)
            } else {
                vec![p]
            }
        })
        .collect()
}

async fn download(client: &reqwest::Client, base: &str, key: &str, path: &str) -> (u16, Vec<u8>) {
    let resp = client
        .get(format!("{base}/v1{path}"))
        .bearer_auth(key)
        .send()
        .await
        .expect("download");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("body").to_vec())
}

pub(crate) fn csv_of(rows: usize, tag: &str) -> Vec<u8> {
    let mut csv = String::from("Email,Name\n");
    for i in 0..rows {
        csv.push_str(&format!("{tag}-{i}@x.org,Person {i} of {tag}\n"));
    }
    csv.into_bytes()
}

/// Two processes on one PostgreSQL database (SQLite has one process), each with its own
/// empty data folder, sharing the bucket. The first serves requests only
/// (`WHARF_JOB_WORKERS=0`), so every file uploaded to it is extracted by the second, and
/// downloads identically through either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_bucket() {
    let s3 = S3Server::start().await;
    let first = spawn_app_with(Db::Postgres, |s| {
        s.storage = Some(s3.bucket("shared"));
        s.job_workers = 0;
    })
    .await;
    let space = first.bare_space("Two machines").await;
    let mut uploaded: Vec<(String, Vec<u8>)> = Vec::new();
    let mut jobs = Vec::new();
    for n in 0..6 {
        let bytes = csv_of(10_000, &format!("f{n}"));
        let (status, file) = first.upload(&space, &format!("f{n}.csv"), bytes.clone()).await;
        assert_eq!(status, 200, "{file}");
        let id = file["data"]["id"].as_str().unwrap().to_string();
        let (_, found) = first.get_json(&format!("/jobs?fileId={id}")).await;
        jobs.push(found["data"][0]["id"].as_str().unwrap().to_string());
        uploaded.push((id, bytes));
    }
    // No process runs jobs yet: they wait.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for id in &jobs {
        let (_, job) = first.get_json(&format!("/jobs/{id}")).await;
        assert_eq!(job["data"]["status"], "ready", "{job}");
    }
    // The second process, with workers and its own empty data folder, extracts them all.
    let second_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = first.settings.clone();
    settings.data_dir = second_dir.path().to_path_buf();
    settings.job_workers = 2;
    let second = Application::build(settings).expect("second process builds");
    let second_base = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    for id in &jobs {
        let job = first.wait_job(id).await;
        assert_eq!(job["status"], "complete", "{job}");
    }

    for (id, bytes) in &uploaded {
        let (_, file) = first.get_json(&format!("/files/{id}")).await;
        assert_eq!(file["data"]["status"], "complete", "{file}");
        for base in [&first.base, &second_base] {
            let (status, body) =
                download(&first.client, base, &first.key, &format!("/files/{id}/download")).await;
            assert_eq!(status, 200);
            assert!(
                body == *bytes,
                "the bytes downloaded through {base} differ from the upload"
            );
            let (status, rejects) =
                download(&first.client, base, &first.key, &format!("/files/{id}/rejects")).await;
            assert_eq!(status, 200);
            assert!(rejects.starts_with(b"sheet,line,problem,values"));
        }
    }
    // Every byte is in the bucket: the data folders hold no file (temp copies are gone).
    for dir in [&first.data_dir, &second_dir.path().to_path_buf()] {
        let held = files_under(&dir.join("storage"));
        assert!(held.is_empty(), "{held:?}");
    }
}

/// 30 MB that no two neighbouring parts repeat.
fn thirty_megabytes() -> Vec<u8> {
    (0..30_000_000u32).map(|i| (i % 251) as u8).collect()
}

/// Uploads `bytes` as an export file of `space`; the file as answered.
async fn upload_export(app: &TestApp, space: &str, bytes: Vec<u8>) -> Value {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("big.bin");
    let form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("spaceId", space.to_string())
        .text("mode", "export");
    let (status, file) = send(app.api(reqwest::Method::POST, "/files").multipart(form)).await;
    assert_eq!(status, 200, "{file}");
    file
}

/// A 30 MB upload goes up in 8 MiB parts while it arrives and downloads identically.
async fn a_big_upload_goes_up_in_parts(db: Db) {
    let s3 = S3Server::start().await;
    let app = spawn_app_with(db, |s| s.storage = Some(s3.bucket("big"))).await;
    let space = app.bare_space("Big").await;
    let bytes = thirty_megabytes();
    let file = upload_export(&app, &space, bytes.clone()).await;
    let id = file["data"]["id"].as_str().unwrap();
    assert_eq!(file["data"]["size"], 30_000_000);
    use sha2::Digest;
    assert_eq!(file["data"]["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));

    let meta = s3
        .client()
        .head(&format!("big/files/{id}").into())
        .await
        .expect("the object is in the bucket");
    assert_eq!(meta.size, 30_000_000);
    let etag = meta.e_tag.unwrap_or_default();
    assert!(
        etag.trim_matches('"').ends_with("-4"),
        "a multipart upload of 4 parts: {etag}"
    );
    assert_eq!(s3.pending_parts(), 0);

    let (status, body) = download(&app.client, &app.base, &app.key, &format!("/files/{id}/download")).await;
    assert_eq!(status, 200);
    assert!(body == bytes, "the download differs from the upload");

    // A span across a part's end, and the rest from there, read from the bucket.
    let path = format!("/files/{id}/download");
    let (status, headers, span) = get_with(&app, &path, &[("range", "bytes=8388000-8389999")]).await;
    assert_eq!(status, 206);
    assert_eq!(headers["content-range"], "bytes 8388000-8389999/30000000");
    assert!(span == bytes[8_388_000..8_390_000]);
    let (status, _, rest) = get_with(&app, &path, &[("range", "bytes=29999000-")]).await;
    assert_eq!(status, 206);
    assert!(rest == bytes[29_999_000..]);
    let (status, headers, _) = get_with(&app, &path, &[("range", "bytes=30000000-")]).await;
    assert_eq!(status, 416);
    assert_eq!(headers["content-range"], "bytes */30000000");
    let head = app.api(reqwest::Method::HEAD, &path).send().await.unwrap();
    assert_eq!(
        head.headers()["content-length"],
        "30000000",
        "a HEAD asks the bucket its size"
    );
}

/// A slow download reads the bucket no faster than its client: the bucket stopped once the
/// client took a first chunk, the rest of the file never comes (it was not read ahead into
/// memory). Fresh connections on both sides: one that carried a whole file before has
/// grown socket buffers that could hold this one. The file is larger than the kernel's
/// socket buffers on the way can hold together (loopback receive buffers grow to 32 MB
/// here: a 30 MB file sometimes fit in them under load, with nothing read ahead).
async fn a_slow_download_reads_no_faster_than_its_client(db: Db) {
    const SIZE: u32 = 100_000_000;
    let mut s3 = S3Server::start().await;
    let app = spawn_app_with(db, |s| s.storage = Some(s3.bucket("slow"))).await;
    let space = app.bare_space("Slow").await;
    let bytes: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let file = upload_export(&app, &space, bytes).await;
    let id = file["data"]["id"].as_str().unwrap();
    let mut slow = reqwest::Client::new()
        .get(app.url(&format!("/v1/files/{id}/download")))
        .bearer_auth(&app.key)
        .send()
        .await
        .expect("download");
    assert_eq!(slow.status(), 200);
    let mut got = slow.chunk().await.expect("a first chunk").map_or(0, |c| c.len());
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    s3.stop();
    while let Ok(Some(chunk)) = slow.chunk().await {
        got += chunk.len();
    }
    assert!(
        got < SIZE as usize,
        "the whole file was read ahead of a slow client"
    );
}

/// A download slower than the store client allows a request (a 3 s timeout here, 30 s by
/// default, covering a whole body; its own retries end 20 s after the first request)
/// arrives whole: the read goes on from where it broke off. It was cut off, so a 200 MB file
/// could not be downloaded below about 7 MB/s. The client pauses for 25 s after its first
/// chunk; the file is larger than the socket buffers on the way hold (see the test above),
/// so the bucket's read is still under way then.
async fn a_download_slower_than_the_store_timeout_arrives_whole(db: Db) {
    const SIZE: u32 = 100_000_000;
    let s3 = S3Server::start().await;
    let mut bucket = s3.bucket("paced");
    bucket.options.push(("timeout".into(), "3s".into()));
    let app = spawn_app_with(db, |s| s.storage = Some(bucket)).await;
    let space = app.bare_space("Paced").await;
    let bytes: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    // The store timeout holds for the upload's parts too, which a busy machine (the whole
    // suite beside) may take longer to send (at 1 s, three tries all failed once under a
    // load of 7): the upload, not what this test is about, is tried again then.
    let mut file = Value::Null;
    for _ in 0..5 {
        let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name("big.bin");
        let form = reqwest::multipart::Form::new()
            .part("file", part)
            .text("spaceId", space.to_string())
            .text("mode", "export");
        let (status, answer) = send(app.api(reqwest::Method::POST, "/files").multipart(form)).await;
        file = answer;
        match status {
            200 => break,
            502 => continue,
            other => panic!("{other}: {file}"),
        }
    }
    let id = file["data"]["id"].as_str().expect("uploaded within five tries");
    let mut paced = reqwest::Client::new()
        .get(app.url(&format!("/v1/files/{id}/download")))
        .bearer_auth(&app.key)
        .send()
        .await
        .expect("download");
    assert_eq!(paced.status(), 200);
    let mut got = Vec::with_capacity(SIZE as usize);
    got.extend_from_slice(&paced.chunk().await.expect("a first chunk").unwrap_or_default());
    tokio::time::sleep(Duration::from_secs(25)).await;
    while let Some(chunk) = paced.chunk().await.expect("the download went on to its end") {
        got.extend_from_slice(&chunk);
    }
    assert_eq!(got.len(), SIZE as usize);
    assert!(got == bytes, "the download differs from the upload");
}

/// An upload over the limit, cut off after parts went up, leaves nothing in the bucket.
async fn an_upload_over_the_limit_leaves_no_parts(db: Db) {
    let s3 = S3Server::start().await;
    let app = spawn_app_with(db, |s| {
        s.storage = Some(s3.bucket("limit"));
        s.max_upload_mb = 20;
    })
    .await;
    let space = app.bare_space("Limit").await;
    // Just over the limit: read (not refused by its length), with two parts sent meanwhile.
    let part =
        reqwest::multipart::Part::bytes(vec![b'x'; 20 * 1024 * 1024 + 512 * 1024]).file_name("big.csv");
    let form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("spaceId", space.clone());
    let (status, body) = send(app.api(reqwest::Method::POST, "/files").multipart(form)).await;
    assert_eq!(status, 413, "{body}");
    let (_, files) = app.get_json(&format!("/files?spaceId={space}")).await;
    assert_eq!(files["data"], Value::Array(vec![]));
    // The multipart upload is aborted in the background.
    for _ in 0..100 {
        if s3.pending_parts() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s3.pending_parts(), 0, "the aborted upload's parts are deleted");
    let listed: Vec<_> = futures_util::TryStreamExt::try_collect::<Vec<_>>(s3.client().list(None))
        .await
        .expect("list");
    assert!(listed.is_empty(), "{listed:?}");
}

/// A store that stopped answering: downloads and uploads answer 502 with a message, no
/// file is half-recorded, and an extraction fails saying why; nothing panics.
async fn a_stopped_store_gives_clear_errors(db: Db) {
    let mut s3 = S3Server::start().await;
    let app = spawn_app_with(db, |s| s.storage = Some(s3.bucket("down"))).await;
    let space = app.bare_space("Down").await;
    let file = app
        .upload_and_extract(&space, "people.csv", csv_of(50, "d"))
        .await;
    assert_eq!(file["status"], "complete", "{file}");
    let id = file["id"].as_str().unwrap().to_string();

    s3.stop();
    let (status, body) = app.get_json(&format!("/files/{id}/download")).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        "the file storage did not answer; try again shortly"
    );
    let (status, body) = app.upload(&space, "more.csv", csv_of(50, "e")).await;
    assert_eq!(status, 502, "{body}");
    let (_, files) = app.get_json(&format!("/files?spaceId={space}")).await;
    assert_eq!(files["data"].as_array().map(Vec::len), Some(1), "{files}");

    // Extracting the stored file again while the store is down.
    let body =
        serde_json::json!({"type": "file", "operation": "extract", "source": id, "trigger": "immediate"});
    let (status, job) = app.post_json("/jobs", &body).await;
    assert_eq!(status, 200, "{job}");
    let job = app.wait_job(job["data"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(
        job["outcome"]["message"],
        "the file storage did not answer; run the extraction again later"
    );
    let (_, file) = app.get_json(&format!("/files/{id}")).await;
    assert_eq!(file["data"]["status"], "failed");
    let (status, _) = app.get_json("/files").await;
    assert_eq!(status, 200, "the server still answers");

    // Deletes say the store failed and delete nothing (they answered 200 and left the
    // bytes in the bucket for good).
    let (status, body) = app.delete(&format!("/files/{id}")).await;
    assert_eq!(status, 502, "{body}");
    let (status, file) = app.get_json(&format!("/files/{id}")).await;
    assert_eq!(status, 200, "the file is still there");
    // Marked while its delete ran (probe 68d D3), it says again what it said before.
    assert_eq!(file["data"]["status"], "failed", "{file}");
    let (status, body) = app.delete(&format!("/spaces/{space}")).await;
    assert_eq!(status, 502, "{body}");
    let (status, _) = app.get_json(&format!("/spaces/{space}")).await;
    assert_eq!(status, 200, "the space is still there");
}

on_both!(
    a_big_upload_goes_up_in_parts,
    a_slow_download_reads_no_faster_than_its_client,
    a_download_slower_than_the_store_timeout_arrives_whole,
    an_upload_over_the_limit_leaves_no_parts,
    a_stopped_store_gives_clear_errors
);

/// With a bucket, what a killed process left in its scratch folder is swept: downloads in
/// it, and the files waiting to go up (an extraction's rejected rows) in its `tmp/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temp_files_a_killed_process_left_are_swept_with_a_bucket() {
    let s3 = S3Server::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let scratch = dir.path().join("scratch");
    let settings = s3.bucket("sweep");
    let storage = tokio::task::spawn_blocking(move || wharf::storage::Storage::bucket(&settings, scratch))
        .await
        .expect("join")
        .expect("bucket");
    let up = dir.path().join("scratch/tmp");
    std::fs::create_dir_all(&up).expect("tmp");
    let old = [dir.path().join("scratch/a.download"), up.join("b.part")];
    let fresh = up.join("c.part");
    let hours_ago = std::time::SystemTime::now() - Duration::from_secs(3 * 3600);
    for path in &old {
        std::fs::write(path, b"left by a killed process").expect("write");
        std::fs::File::options()
            .write(true)
            .open(path)
            .and_then(|f| f.set_modified(hours_ago))
            .expect("age");
    }
    std::fs::write(&fresh, b"rejected rows being written").expect("write");
    assert_eq!(storage.sweep_temp(Duration::from_secs(3600)), 2);
    assert!(old.iter().all(|p| !p.exists()) && fresh.exists());
}

/// A bucket that is missing, or refuses the credentials, stops the start with a message
/// naming the setting (and the real binary exits non-zero).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_bucket_or_credentials_stop_the_start() {
    let s3 = S3Server::start().await;
    let (mut settings, _dir) = test_settings(Db::Sqlite);
    let mut missing = s3.bucket("x");
    missing.bucket = "no-such-bucket".into();
    let mut refused = s3.bucket("x");
    refused.options.retain(|(k, _)| k != "aws_secret_access_key");
    refused
        .options
        .push(("aws_secret_access_key".into(), "wrong".into()));
    for bucket in [missing, refused] {
        settings.storage = Some(bucket);
        let e = Application::build(settings.clone())
            .err()
            .expect("the start fails");
        let message = format!("{e:#}");
        assert!(message.contains("WHARF_STORAGE_URL"), "{message}");
        assert!(message.contains("the bucket is not usable"), "{message}");
    }
    // A prefix object keys hold only escaped would put the objects elsewhere (probe 62a D2).
    settings.storage = Some(s3.bucket("exports/ü-2026"));
    let e = Application::build(settings.clone())
        .err()
        .expect("the start fails");
    let message = format!("{e:#}");
    assert!(
        message.contains("the prefix `exports/ü-2026` holds characters object keys keep only escaped"),
        "{message}"
    );
    settings.storage = Some(s3.bucket("team a/exports_2026-12.x"));
    Application::build(settings.clone()).expect("letters, digits, spaces and - _ . / are fine");

    // What `wharf serve` says on stderr as it fails to start on this bucket with `allow_http`.
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let refused = |allow_http: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_wharf"))
            .arg("serve")
            .env("DATABASE_URL", &settings.database_url)
            .env("WHARF_DATA_DIR", &settings.data_dir)
            .env("WHARF_BIND", "127.0.0.1:0")
            .env("WHARF_STORAGE_URL", "s3://wharf-files/x")
            .env("AWS_ENDPOINT_URL", &nobody)
            .env("AWS_ALLOW_HTTP", allow_http)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .output()
            .expect("wharf serve runs");
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let stderr = refused("true");
    assert!(
        stderr.contains("WHARF_STORAGE_URL s3://wharf-files/x: the bucket is not usable"),
        "{stderr}"
    );
    // A switch set but empty is named, with the values it takes (probe 71e D5).
    let stderr = refused("");
    assert!(
        stderr.contains("AWS_ALLOW_HTTP is ``: set it to true or false, or leave it unset"),
        "{stderr}"
    );
}
