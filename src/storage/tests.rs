//! The storage's unit tests: a folder and its objects.

use super::*;
use futures_util::TryStreamExt;

#[test]
fn a_folder_keeps_its_id_and_an_empty_one_is_written_again() {
    let dir = tempfile::tempdir().unwrap();
    let id = Storage::local(dir.path()).holder().expect("an id");
    assert!(id.starts_with("folder_"), "{id}");
    // Another process on the same folder reads the same id.
    assert_eq!(Storage::local(dir.path()).holder(), Some(id.clone()));
    std::fs::write(dir.path().join("holder-id"), "").unwrap();
    let again = Storage::local(dir.path()).holder().expect("an id");
    assert!(!again.is_empty() && again != id);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("holder-id")).unwrap(),
        again
    );
    // A folder whose id cannot be read has none.
    std::fs::remove_file(dir.path().join("holder-id")).unwrap();
    std::fs::create_dir(dir.path().join("holder-id")).unwrap();
    assert_eq!(Storage::local(dir.path()).holder(), None);
}

async fn read_all(storage: &Storage, key: &str) -> Vec<u8> {
    read_span(storage, key, None).await
}

async fn read_span(storage: &Storage, key: &str, span: Option<Span>) -> Vec<u8> {
    let asked = Asked {
        span,
        if_version: None,
    };
    let opened = storage.open(key, asked).await.unwrap();
    let chunks: Vec<Bytes> = opened.chunks.try_collect().await.unwrap();
    chunks.concat()
}

#[tokio::test]
async fn spans_read_the_bytes_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::local(dir.path());
    let mut up = storage.begin("files/s").await.unwrap();
    up.write(b"0123456789").await.unwrap();
    up.commit().await.unwrap();
    let cases = [
        (Span::Between(2, 4), &b"234"[..]),
        (Span::Between(8, 100), b"89"),
        (Span::From(7), b"789"),
        (Span::Last(3), b"789"),
        (Span::Last(50), b"0123456789"),
    ];
    for (span, bytes) in cases {
        assert_eq!(
            read_span(&storage, "files/s", Some(span)).await,
            bytes,
            "{span:?}"
        );
    }
    for span in [Span::From(10), Span::Between(5, 4), Span::Last(0)] {
        let asked = Asked {
            span: Some(span),
            if_version: None,
        };
        let e = storage.open("files/s", asked).await.err().unwrap();
        assert_eq!(unsatisfiable(&e), Some(10), "{span:?}");
    }
    let span = Some(Span::Between(2, 4));
    let opened = storage
        .open(
            "files/s",
            Asked {
                span,
                if_version: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((opened.size, opened.range, opened.spanned), (10, 2..5, true));
    let (_, version) = storage.stat("files/s").await.unwrap();
    assert_eq!(opened.version, version);
    let other = Asked {
        span,
        if_version: Some("another"),
    };
    let whole = storage.open("files/s", other).await.unwrap();
    assert_eq!(
        (whole.range, whole.spanned),
        (0..10, false),
        "another version is read whole"
    );
}

#[tokio::test]
async fn objects_appear_only_when_committed() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::local(dir.path());
    let mut up = storage.begin("files/a").await.unwrap();
    up.write(b"hello ").await.unwrap();
    up.write(b"world").await.unwrap();
    assert!(!storage.exists("files/a"));
    let stored = up.commit().await.unwrap();
    assert_eq!(stored.size, 11);
    assert_eq!(
        stored.sha256,
        "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
    );
    assert_eq!(read_all(&storage, "files/a").await, b"hello world");
    let copy = storage.local_copy("files/a").unwrap();
    assert_eq!(std::fs::read(copy.path()).unwrap(), b"hello world");
    drop(copy);
    assert!(
        storage.exists("files/a"),
        "a folder's own file is not a temp copy"
    );

    let mut dropped = storage.begin("files/b").await.unwrap();
    dropped.write(b"partial").await.unwrap();
    drop(dropped);
    assert!(!storage.exists("files/b"));
    let leftovers = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "no temp file is left behind");

    storage.delete("files/a").await.unwrap();
    storage.delete("files/a").await.unwrap();
    assert_eq!(
        storage
            .open("files/a", Asked::default())
            .await
            .err()
            .map(|e| e.kind()),
        Some(io::ErrorKind::NotFound)
    );
    assert!(storage.local_copy("../etc/passwd").is_err());
}

#[test]
fn blocking_writes_appear_only_when_committed() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::local(dir.path());
    let mut up = storage.begin_blocking("files/r").unwrap();
    up.write_all(b"a,b\n").unwrap();
    assert!(!storage.exists("files/r"));
    up.commit().unwrap();
    assert!(storage.exists("files/r"));
    let mut dropped = storage.begin_blocking("files/s").unwrap();
    dropped.write_all(b"x").unwrap();
    drop(dropped);
    assert!(!storage.exists("files/s"));
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
}

#[test]
fn temp_files_left_behind_are_swept_fresh_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::local(dir.path());
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let (old, fresh) = (tmp.join("a.download"), tmp.join("b.part"));
    std::fs::write(&old, b"left by a killed process").unwrap();
    std::fs::write(&fresh, b"an upload in progress").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    assert_eq!(storage.sweep_temp(std::time::Duration::from_secs(3600)), 1);
    assert!(!old.exists() && fresh.exists());
}

#[test]
fn store_errors_name_no_credentials() {
    use super::redact::without_userinfo;
    let said = "Error performing GET http://me:s3cret@127.0.0.1:19499/wharf-files?list in 1ms, \
                after 2 retries: connect to https://k:v@s3.example.com refused";
    let clean = without_userinfo(said);
    assert!(!clean.contains("s3cret") && !clean.contains("k:v@"), "{clean}");
    assert!(
        clean.contains("http://127.0.0.1:19499/wharf-files?list") && clean.contains("https://s3.example.com")
    );
    assert_eq!(without_userinfo("no url at all"), "no url at all");
    assert_eq!(
        without_userinfo("mail a@b.org at http://h/x"),
        "mail a@b.org at http://h/x"
    );
}
