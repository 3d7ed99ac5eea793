//! Objects in an S3-compatible bucket, through the `object_store` crate.
//!
//! Uploads stream: up to one part (8 MiB) is buffered, then parts go up as a multipart
//! upload while the rest arrives (two in flight at most), completed only on commit and
//! aborted when the upload is dropped. Reads stream the object's body, a few chunks ahead
//! of the reader at most. All HTTP runs on a
//! small runtime of its own, so the web's single-threaded runtimes and the job workers'
//! plain threads can both use the store.

use super::failures::{crowd, failed};
use super::local::TempFile;
use super::redact::{without_credentials, without_userinfo};
use super::{temp_name, wanted, Asked, Opened};
use crate::settings::{BucketSettings, Crowds};
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::client::SpawnedReqwestConnector;
use object_store::path::{Path as ObjectPath, PathPart};
use object_store::{
    ClientConfigKey, ObjectStore, ObjectStoreExt, PutPayloadMut, RetryConfig, WriteMultipart,
};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

/// Bytes buffered before an upload goes multipart, and the size of each part (S3 wants
/// at least 5 MiB).
const PART: usize = 8 * 1024 * 1024;
/// Parts sent at once by one upload: bounds its memory to a few parts.
const IN_FLIGHT: usize = 2;
/// Chunks of an object read ahead of the one who reads it (a chunk is what the network
/// gave, tens of KiB): bounds a download's memory whatever the client's speed.
const READ_AHEAD: usize = 8;

#[derive(Debug)]
pub(super) struct Bucket {
    store: Arc<dyn ObjectStore>,
    /// The same bucket for reads, its HTTP driven by the task that reads (on the storage
    /// runtime): the store above hands bodies over through an unbounded channel, which
    /// read a whole object into memory ahead of a slow client.
    reader: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// `s3://bucket/prefix`, and ` at <endpoint>` when one is set: what files kept here
    /// record as their holder.
    name: String,
    scratch: PathBuf,
    io: IoRuntime,
    /// Places for uploads and downloads at once, and how long a download waits for its
    /// client to take a chunk (see [`crate::settings::Crowds`]).
    uploads: Arc<Semaphore>,
    downloads: Arc<Semaphore>,
    crowds: Crowds,
}

/// The runtime the store's HTTP runs on; shut down without waiting when dropped (it may be
/// dropped inside another runtime).
#[derive(Debug)]
struct IoRuntime(Option<tokio::runtime::Runtime>);

impl IoRuntime {
    fn handle(&self) -> Option<&tokio::runtime::Handle> {
        self.0.as_ref().map(|rt| rt.handle())
    }
}

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// An object's body read to its end, however long that takes. The store client's request
/// timeout covers a whole body, and its retries stop 20 s after the first request, so a read
/// paced by a slow client (a download at 3 MB/s of a 200 MB file) was cut off after about
/// 30 s: a body that breaks is read on from where it got to, by a ranged request of the same
/// object version (`If-Match`). A store that is down fails that request, which ends the
/// read; a few resumes in a row that bring nothing end it too.
struct Resumed {
    /// The object's version, and whether the read is the span asked for.
    version: String,
    spanned: bool,
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    body: futures_util::stream::BoxStream<'static, object_store::Result<Bytes>>,
    /// The whole object's size, and the end of the bytes read (exclusive).
    size: u64,
    end: u64,
    e_tag: Option<String>,
    /// The next byte to read, and resumes since the last bytes came.
    offset: u64,
    stalls: u32,
}

impl Resumed {
    /// Opens the object, or the span of it asked for (its size and version then come from
    /// a `HEAD` first, and the read takes only the version that answered it).
    async fn get(store: Arc<dyn ObjectStore>, path: ObjectPath, asked: Asked<'_>) -> io::Result<Resumed> {
        let (size, range, spanned, got) = match asked.span {
            None => {
                let got = store.get(&path).await.map_err(failed)?;
                (got.meta.size, 0..got.meta.size, false, got)
            }
            Some(_) => {
                let meta = store.head(&path).await.map_err(failed)?;
                let span = asked.span_for(&version_of(&meta));
                let range = wanted(span, meta.size)?;
                let options = object_store::GetOptions {
                    range: Some(range.clone().into()),
                    if_match: meta.e_tag.clone(),
                    ..Default::default()
                };
                let got = store.get_opts(&path, options).await.map_err(failed)?;
                (meta.size, range, span.is_some(), got)
            }
        };
        let e_tag = got.meta.e_tag.clone();
        Ok(Resumed {
            version: version_of(&got.meta),
            spanned,
            store,
            path,
            body: got.into_stream(),
            size,
            end: range.end,
            e_tag,
            offset: range.start,
            stalls: 0,
        })
    }

    async fn next(&mut self) -> Option<object_store::Result<Bytes>> {
        loop {
            match self.body.next().await {
                Some(Ok(bytes)) => {
                    self.offset += bytes.len() as u64;
                    self.stalls = 0;
                    return Some(Ok(bytes));
                }
                // Every byte came: a break before the body's end says nothing more.
                Some(Err(_)) if self.offset >= self.end => return None,
                Some(Err(e)) if self.stalls < 3 => {
                    self.stalls += 1;
                    let options = object_store::GetOptions {
                        range: Some((self.offset..self.end).into()),
                        if_match: self.e_tag.clone(),
                        ..Default::default()
                    };
                    match self.store.get_opts(&self.path, options).await {
                        // Not every store honours `If-Match`: another version of the object
                        // (rejected rows extracted again) is never spliced on.
                        Ok(got) if got.meta.e_tag == self.e_tag => self.body = got.into_stream(),
                        _ => return Some(Err(e)),
                    }
                }
                other => return other,
            }
        }
    }
}

/// An object's version: its ETag, else when it was written and its size.
fn version_of(meta: &object_store::ObjectMeta) -> String {
    match &meta.e_tag {
        Some(tag) => tag.trim_matches('"').to_string(),
        None => format!(
            "{}-{}",
            meta.last_modified.timestamp_nanos_opt().unwrap_or_default(),
            meta.size
        ),
    }
}

impl Bucket {
    pub(super) fn connect(settings: &BucketSettings, scratch: PathBuf) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("wharf-storage")
            .enable_all()
            .build()?;
        let connector = SpawnedReqwestConnector::new(runtime.handle().clone());
        let io = IoRuntime(Some(runtime));
        // The usual AWS_* variables, then Wharf's own (tests name them), then the bucket.
        let mut builder = AmazonS3Builder::from_env()
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout), "5s");
        for (key, value) in &settings.options {
            let key: AmazonS3ConfigKey = key
                .parse()
                .map_err(|e| anyhow::anyhow!("WHARF_STORAGE_URL: unknown S3 option `{key}`: {e}"))?;
            builder = builder.with_config(key, value);
        }
        // A store that is down answers within seconds rather than after minutes of retries.
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(20),
            ..Default::default()
        };
        let builder = builder.with_bucket_name(&settings.bucket).with_retry(retry);
        // Another S3 server with a bucket of the same name is another holder.
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .map(|e| without_credentials(&e));
        let reader = builder.clone().build().map_err(|e| {
            // A switch set to something else than true or false is named (probe 71e D5: the
            // message quoted only the value).
            if let Some(switch) = crate::settings::bucket::bad_switch() {
                return anyhow::anyhow!(
                    "{switch} is `{}`: set it to true or false, or leave it unset",
                    std::env::var(switch).unwrap_or_default()
                );
            }
            anyhow::anyhow!(
                "WHARF_STORAGE_URL {}: {}",
                settings.url,
                without_userinfo(&e.to_string())
            )
        })?;
        let store = builder.with_http_connector(connector).build().map_err(|e| {
            anyhow::anyhow!(
                "WHARF_STORAGE_URL {}: {}",
                settings.url,
                without_userinfo(&e.to_string())
            )
        })?;
        let parts: Vec<&str> = settings.prefix.split('/').filter(|p| !p.is_empty()).collect();
        let prefix = ObjectPath::from_iter(parts.iter().copied());
        // Object keys hold some characters only escaped: the objects would lie under
        // another prefix than the one set, which bucket rules and other tools name (probe
        // 62a D2: `ü#` was written `%C3%BC%23`).
        if prefix.as_ref() != parts.join("/") {
            anyhow::bail!(
                "WHARF_STORAGE_URL {}: the prefix `{}` holds characters object keys keep only escaped (as `{}`); use letters, digits, spaces and - _ . / in it",
                settings.url,
                parts.join("/"),
                prefix.as_ref()
            );
        }
        let mut name = match prefix.as_ref() {
            "" => format!("{}{}", super::BUCKET_HOLDER, settings.bucket),
            p => format!("{}{}/{p}", super::BUCKET_HOLDER, settings.bucket),
        };
        if let Some(endpoint) = endpoint.filter(|e| !e.is_empty()) {
            name.push_str(&format!(" at {endpoint}"));
        }
        let bucket = Bucket {
            store: Arc::new(store),
            reader: Arc::new(reader),
            prefix,
            name,
            scratch,
            io,
            uploads: Arc::new(Semaphore::new(settings.crowds.uploads)),
            downloads: Arc::new(Semaphore::new(settings.crowds.downloads)),
            crowds: settings.crowds,
        };
        bucket.probe().map_err(|e| {
            anyhow::anyhow!(
                "WHARF_STORAGE_URL {}: the bucket is not usable ({e}); check the bucket name, \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_REGION, and AWS_ENDPOINT_URL \
                 (with AWS_ALLOW_HTTP=true for an http:// endpoint)",
                settings.url
            )
        })?;
        Ok(bucket)
    }

    /// Lists the prefix (the bucket exists; some stores create one on a first write), then
    /// writes and deletes a small object (the credentials may write).
    fn probe(&self) -> io::Result<()> {
        let path = self.path(&format!("tmp/probe-{}", temp_name()));
        let prefix = (!self.prefix.as_ref().is_empty()).then(|| self.prefix.clone());
        let store = self.store.clone();
        self.block(async move {
            store.list_with_delimiter(prefix.as_ref()).await?;
            store.put(&path, Bytes::from_static(b"wharf").into()).await?;
            store.delete(&path).await
        })?
        .map_err(failed)
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    pub(super) fn scratch(&self) -> &Path {
        &self.scratch
    }

    fn path(&self, key: &str) -> ObjectPath {
        let parts = self.prefix.parts().chain(key.split('/').map(PathPart::from));
        ObjectPath::from_iter(parts)
    }

    /// Runs `fut` on the store's runtime and waits for it, from a plain thread (or, at start,
    /// from inside another runtime, through a thread of its own).
    fn block<T: Send>(&self, fut: impl Future<Output = T> + Send) -> io::Result<T> {
        let handle = self
            .io
            .handle()
            .ok_or_else(|| io::Error::other("the storage runtime is stopped"))?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(handle.block_on(fut));
        }
        std::thread::scope(|s| s.spawn(|| handle.block_on(fut)).join())
            .map_err(|_| io::Error::other("a storage call panicked"))
    }

    /// A request's upload, if a place is free for it.
    pub(super) fn begin(&self, key: &str) -> io::Result<Upload> {
        let place = self.uploads.clone().try_acquire_owned().map_err(|_| {
            crowd(format!(
                "{} uploads to the file storage are under way on this server, as many as it \
                 takes at once; try again in a few seconds",
                self.crowds.uploads
            ))
        })?;
        let mut upload = self.begin_unplaced(key);
        upload.kept.push(Box::new(place));
        Ok(upload)
    }

    /// A worker's upload (bounded by the workers): no place needed.
    fn begin_unplaced(&self, key: &str) -> Upload {
        Upload {
            store: self.store.clone(),
            path: self.path(key),
            state: Some(State::Buffer(PutPayloadMut::new())),
            io: self.io.handle().cloned(),
            kept: Vec::new(),
        }
    }

    /// Streams an object: a task on the storage runtime reads it, at most [`READ_AHEAD`]
    /// chunks ahead of the caller, so a slow client slows the read instead of filling memory.
    pub(super) async fn open(&self, key: &str, asked: Asked<'_>) -> io::Result<Opened> {
        let io = self
            .io
            .handle()
            .ok_or_else(|| io::Error::other("the storage runtime is stopped"))?;
        let place = self.downloads.clone().try_acquire_owned().map_err(|_| {
            crowd(format!(
                "{} downloads from the file storage are under way on this server, as many as \
                 it takes at once; try again in a few seconds",
                self.crowds.downloads
            ))
        })?;
        let idle = self.crowds.idle;
        let (reader, path) = (self.reader.clone(), self.path(key));
        let (found, opened) = tokio::sync::oneshot::channel();
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(READ_AHEAD);
        let (span, if_version) = (asked.span, asked.if_version.map(String::from));
        io.spawn(async move {
            // The place is the read's: given back when it ends.
            let _place = place;
            let asked = Asked {
                span,
                if_version: if_version.as_deref(),
            };
            let mut body = match Resumed::get(reader, path, asked).await {
                Ok(body) => body,
                Err(e) => {
                    let _ = found.send(Err(e));
                    return;
                }
            };
            let head = (
                body.size,
                body.offset..body.end,
                body.spanned,
                body.version.clone(),
            );
            if found.send(Ok(head)).is_err() {
                return;
            }
            while let Some(chunk) = body.next().await {
                let stop = chunk.is_err();
                // The reader gone (a client that left), or taking nothing for `idle`,
                // ends the read: its connection to the store and its place go back.
                match tokio::time::timeout(idle, tx.send(chunk.map_err(failed))).await {
                    Ok(Ok(())) if !stop => {}
                    _ => return,
                }
            }
        });
        let (size, range, spanned, version) = opened
            .await
            .map_err(|_| io::Error::other("reading from the bucket stopped"))??;
        let chunks =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) },
            );
        Ok(Opened {
            size,
            range,
            spanned,
            version,
            chunks: Box::pin(chunks),
        })
    }

    /// Downloads an object into a temp file in the scratch folder.
    pub(super) fn download(&self, key: &str) -> io::Result<TempFile> {
        std::fs::create_dir_all(&self.scratch)?;
        let tmp = TempFile::new(self.scratch.join(format!("{}.download", temp_name())));
        // Read by the task that writes the file: no faster than the disk takes it.
        let (store, path, dest) = (self.reader.clone(), self.path(key), tmp.path().to_path_buf());
        self.block(async move {
            let mut body = Resumed::get(store, path, Asked::default()).await?;
            let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(&dest).await?);
            while let Some(chunk) = body.next().await {
                file.write_all(&chunk.map_err(failed)?).await?;
            }
            file.flush().await
        })??;
        Ok(tmp)
    }

    /// Sends a local file up under `key`.
    pub(super) fn upload_file(&self, key: &str, file: TempFile) -> io::Result<()> {
        let mut upload = self.begin_unplaced(key);
        self.block(async move {
            let mut source = tokio::fs::File::open(file.path()).await?;
            let mut buf = vec![0u8; 1024 * 1024];
            loop {
                let n = source.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                upload.write(&buf[..n]).await?;
            }
            upload.commit().await
        })?
    }

    pub(super) fn exists(&self, key: &str) -> bool {
        let (store, path) = (self.store.clone(), self.path(key));
        matches!(self.block(async move { store.head(&path).await }), Ok(Ok(_)))
    }

    pub(super) async fn stat(&self, key: &str) -> io::Result<(u64, String)> {
        let meta = self.store.head(&self.path(key)).await.map_err(failed)?;
        Ok((meta.size, version_of(&meta)))
    }

    pub(super) async fn delete(&self, key: &str) -> io::Result<()> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }

    pub(super) fn delete_blocking(&self, key: &str) -> io::Result<()> {
        let (store, path) = (self.store.clone(), self.path(key));
        self.block(async move {
            match store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(failed(e)),
            }
        })?
    }

    pub(super) fn delete_soon(&self, key: &str) {
        let (store, path) = (self.store.clone(), self.path(key));
        if let Some(io) = self.io.handle() {
            io.spawn(async move {
                match store.delete(&path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => {
                        let e = without_userinfo(&e.to_string());
                        tracing::warn!(key = %path, error = %e, "deleting stored bytes failed")
                    }
                }
            });
        }
    }
}

/// An object being sent to the bucket: one part is buffered, then it goes up in parts.
/// Dropped uncommitted, its parts are deleted (after those in flight land, so none arrives
/// after the abort).
pub(super) struct Upload {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    state: Option<State>,
    io: Option<tokio::runtime::Handle>,
    /// What the upload holds until its bytes are done with (its place among the uploads at
    /// once, its caller's): it goes with them into the commit or abort on the store, so a
    /// client that leaves meanwhile frees no place early (probes 55a 2, 56a 1).
    pub(super) kept: Vec<Box<dyn Send>>,
}

enum State {
    Buffer(PutPayloadMut),
    Parts(WriteMultipart),
}

impl Upload {
    pub(super) async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some(State::Buffer(buf)) = &mut self.state {
            if buf.content_length() + bytes.len() < PART {
                buf.extend_from_slice(bytes);
                return Ok(());
            }
            // Past one part: the rest goes up in parts while it arrives.
            let buffered = std::mem::take(buf).freeze();
            let upload = started_multipart(self.io.clone(), self.store.clone(), self.path.clone()).await?;
            let mut parts = WriteMultipart::new_with_chunk_size(upload, PART);
            for chunk in buffered {
                parts.put(chunk);
            }
            self.state = Some(State::Parts(parts));
        }
        match &mut self.state {
            Some(State::Parts(parts)) => {
                parts.wait_for_capacity(IN_FLIGHT).await.map_err(failed)?;
                parts.write(bytes);
                Ok(())
            }
            _ => Err(io::Error::other("upload already finished")),
        }
    }

    /// Sends what is buffered and completes the upload: only now is the object there. The
    /// last step runs on the storage runtime to its end: were the request dropped inside it,
    /// the parts would stay in the bucket, neither completed nor aborted. An object completed
    /// for a request that is gone belongs to no file and is deleted.
    pub(super) async fn commit(mut self) -> io::Result<()> {
        let io = self
            .io
            .clone()
            .ok_or_else(|| io::Error::other("the storage runtime is stopped"))?;
        let (store, path) = (self.store.clone(), self.path.clone());
        let last = self.state.take();
        // The place goes with the bytes it buffers: a client that leaves during the commit
        // gave it back at once while its parts waited on a stalled store (probe 55a 2).
        let kept = std::mem::take(&mut self.kept);
        let (tx, rx) = tokio::sync::oneshot::channel();
        io.spawn(async move {
            let _kept = kept;
            let done = match last {
                Some(State::Buffer(buf)) => store.put(&path, buf.freeze()).await.map(drop),
                Some(State::Parts(parts)) => parts.finish().await.map(drop),
                None => Ok(()),
            };
            if let Err(Ok(())) = tx.send(done) {
                let _ = store.delete(&path).await;
            }
        });
        rx.await
            .map_err(|_| io::Error::other("the upload stopped"))?
            .map_err(failed)
    }
}

/// Starts the multipart upload on the storage runtime: a request dropped meanwhile (its
/// client reset) would lose the upload's handle, and its parts would stay in the bucket.
/// The task then aborts what it started.
async fn started_multipart(
    io: Option<tokio::runtime::Handle>,
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
) -> io::Result<Box<dyn object_store::MultipartUpload>> {
    let io = io.ok_or_else(|| io::Error::other("the storage runtime is stopped"))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    io.spawn(async move {
        let started = store.put_multipart(&path).await;
        if let Err(Ok(mut orphan)) = tx.send(started) {
            let _ = orphan.abort().await;
        }
    });
    rx.await
        .map_err(|_| io::Error::other("the upload stopped"))?
        .map_err(failed)
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let (Some(State::Parts(mut parts)), Some(io)) = (self.state.take(), self.io.as_ref()) {
            let kept = std::mem::take(&mut self.kept);
            io.spawn(async move {
                let _kept = kept;
                let _ = parts.wait_for_capacity(0).await;
                if let Err(e) = parts.abort().await {
                    let e = without_userinfo(&e.to_string());
                    tracing::warn!(error = %e, "aborting an unfinished upload failed");
                }
            });
        }
    }
}
