//! File bytes, kept apart from the database: a folder under the data directory by default,
//! or an S3-compatible bucket (`WHARF_STORAGE_URL=s3://bucket/prefix`, see [`bucket`]) that
//! several processes on several machines share.
//!
//! Everything goes through these few calls: write a stream under a key, read it back as a
//! stream, get a local file for readers that must seek, delete. Nothing is visible under a
//! key until its write is complete: an aborted upload leaves nothing behind (a temp file
//! renamed into place in the folder; a multipart upload completed only at the end in a
//! bucket).

mod bucket;
mod failures;
mod local;
mod redact;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use std::io;
use std::path::{Path, PathBuf};

/// Where file bytes live; cheap to clone.
#[derive(Debug, Clone)]
pub struct Storage(Inner);

#[derive(Debug, Clone)]
enum Inner {
    Local(local::Folder),
    Bucket(std::sync::Arc<bucket::Bucket>),
}

/// What a finished write stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
}

/// An object's bytes as they arrive.
pub type Chunks = BoxStream<'static, io::Result<Bytes>>;

/// Which bytes of an object a reader wants (the one span of an HTTP `Range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// From this offset to the end.
    From(u64),
    /// The last this many bytes.
    Last(u64),
    /// From the first offset to the second, both included.
    Between(u64, u64),
}

impl Span {
    /// The bytes `start..end` of an object of `size` bytes this span asks for; `None` when
    /// the object holds none of them.
    pub fn resolve(self, size: u64) -> Option<std::ops::Range<u64>> {
        match self {
            _ if size == 0 => None,
            Span::From(a) => (a < size).then_some(a..size),
            Span::Last(n) => (n > 0).then(|| size.saturating_sub(n)..size),
            Span::Between(a, b) => (a < size && a <= b).then(|| a..b.min(size - 1) + 1),
        }
    }
}

/// An object opened for reading: its size, and the bytes its chunks carry.
pub struct Opened {
    pub size: u64,
    pub range: std::ops::Range<u64>,
    /// Whether the range is the span asked for (else the whole object).
    pub spanned: bool,
    /// The version of the object the chunks come from (see [`Storage::stat`]).
    pub version: String,
    pub chunks: Chunks,
}

/// The span a reader asked for, if any, and the object version it holds for it (HTTP's
/// `If-Range`): of another version, the whole object is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked<'a> {
    pub span: Option<Span>,
    pub if_version: Option<&'a str>,
}

impl Asked<'_> {
    /// The span that applies to an object of this version.
    pub fn span_for(&self, version: &str) -> Option<Span> {
        self.span.filter(|_| self.if_version.is_none_or(|v| v == version))
    }
}

/// A folder object's version: written to a temp file and renamed into place, it has a new
/// inode each time.
fn local_version(m: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!("{:x}-{:x}.{:x}-{:x}", m.ino(), m.mtime(), m.mtime_nsec(), m.len())
}

/// The object holds none of the bytes asked for; carried in an `InvalidInput` error.
#[derive(Debug)]
pub struct Unsatisfiable {
    pub size: u64,
}

impl std::fmt::Display for Unsatisfiable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the object has {} bytes: none of those asked for", self.size)
    }
}

impl std::error::Error for Unsatisfiable {}

/// How a bucket's holder name begins ([`Storage::holder`]); a data folder's id never does.
pub const BUCKET_HOLDER: &str = "s3://";

/// Whether `holder` names a bucket rather than a data folder.
pub fn is_bucket(holder: &str) -> bool {
    holder.starts_with(BUCKET_HOLDER)
}

/// Where the bytes `holder` holds are, for a log: a bucket by its name, a data folder by
/// its id.
pub fn held_where(holder: &str) -> String {
    match is_bucket(holder) {
        true => format!("the bucket {holder}"),
        false => format!("the data folder whose storage/holder-id is {holder}"),
    }
}

/// The range of `size` bytes a reader asked for (all of them when it named none).
pub fn wanted(span: Option<Span>, size: u64) -> io::Result<std::ops::Range<u64>> {
    match span {
        None => Ok(0..size),
        Some(span) => span
            .resolve(size)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, Unsatisfiable { size })),
    }
}

/// The size of the object whose bytes a reader asked for were not there.
pub fn unsatisfiable(e: &io::Error) -> Option<u64> {
    e.get_ref()?.downcast_ref::<Unsatisfiable>().map(|u| u.size)
}

pub use failures::{
    crowded, is_store_failure, is_store_refusal, Crowded, StoreFailure, StoreRefused, REFUSED,
};

fn check_key(key: &str) -> io::Result<()> {
    let ok = !key.is_empty()
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\\'));
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad storage key `{key}`"),
        ))
    }
}

fn temp_name() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 12)
}

impl Storage {
    /// Objects under `root` (created as needed).
    pub fn local(root: impl Into<PathBuf>) -> Self {
        Storage(Inner::Local(local::Folder::new(root.into())))
    }

    /// Objects in a bucket; `scratch` is a local folder for temp files (the copies readers
    /// that seek need). Checks at once that the bucket can be written and deleted from,
    /// so a wrong name or credentials stop the start with a clear message.
    pub fn bucket(
        settings: &crate::settings::BucketSettings,
        scratch: impl Into<PathBuf>,
    ) -> anyhow::Result<Self> {
        let b = bucket::Bucket::connect(settings, scratch.into())?;
        Ok(Storage(Inner::Bucket(std::sync::Arc::new(b))))
    }

    /// The bucket when one is set, else the `storage/` folder of the data directory, which
    /// must have an id ([`Storage::holder`]): a folder whose `holder-id` cannot be read or
    /// written stops the start, as files could not say where their bytes are.
    pub fn from_settings(settings: &crate::settings::Settings) -> anyhow::Result<Self> {
        let folder = settings.data_dir.join("storage");
        match &settings.storage {
            Some(b) => Self::bucket(b, folder.join("tmp")),
            None => {
                let storage = Self::local(folder.clone());
                if storage.holder().is_none() {
                    anyhow::bail!(
                        "the data folder {} has no readable id: {} must be a file this process can read and write",
                        folder.display(),
                        folder.join("holder-id").display()
                    );
                }
                Ok(storage)
            }
        }
    }

    /// The ids of the files whose bytes this process's folder holds (none with a bucket).
    pub fn local_file_ids(&self) -> Vec<String> {
        match &self.0 {
            Inner::Local(f) => f
                .names_under("files")
                .into_iter()
                .filter(|n| !n.ends_with(".rejects.csv"))
                .collect(),
            Inner::Bucket(_) => Vec::new(),
        }
    }

    /// Removes temp files (uploads in progress, local copies of bucket objects) that nobody
    /// has written for `older_than`: a process killed mid-upload or mid-extraction leaves
    /// its own, as big as the file. (An open file removed stays readable to whoever has
    /// it open.) Returns how many went.
    pub fn sweep_temp(&self, older_than: std::time::Duration) -> usize {
        let dirs = match &self.0 {
            Inner::Local(f) => vec![f.path("tmp")],
            // Downloads sit in the scratch folder; files written before they go up to the
            // bucket (an extraction's rejected rows) in its own `tmp`.
            Inner::Bucket(b) => vec![b.scratch().to_path_buf(), b.scratch().join("tmp")],
        };
        dirs.iter().map(|dir| sweep_files(dir, older_than)).sum()
    }

    /// Whether every process using the same settings reads the same objects (a bucket); a
    /// folder holds only what this process (or those sharing its folder) received.
    pub fn shared(&self) -> bool {
        matches!(self.0, Inner::Bucket(_))
    }

    /// Where this process keeps objects, as files and frozen records record it: without a
    /// bucket the id of its data folder (written in it at first use, so processes sharing
    /// one folder share it), with one `s3://bucket/prefix` ([`BUCKET_HOLDER`]). A process
    /// whose holder differs from a file's cannot read its bytes: a delete through it hands
    /// them over to their holder, and a download says where they are. `None` only for a
    /// folder whose id cannot be read or written.
    pub fn holder(&self) -> Option<String> {
        match &self.0 {
            Inner::Local(f) => f.holder(),
            Inner::Bucket(b) => Some(b.name().to_string()),
        }
    }

    /// A local file with the object's bytes, for readers that need a file (spreadsheet
    /// readers seek). From a bucket it is a temp download, removed when the copy is dropped.
    /// Blocking: for worker threads.
    pub fn local_copy(&self, key: &str) -> io::Result<LocalCopy> {
        check_key(key)?;
        match &self.0 {
            Inner::Local(f) => Ok(LocalCopy {
                path: f.path(key),
                _temp: None,
            }),
            Inner::Bucket(b) => {
                let temp = b.download(key)?;
                Ok(LocalCopy {
                    path: temp.path().to_path_buf(),
                    _temp: Some(temp),
                })
            }
        }
    }

    /// Starts an asynchronous write of `key`; nothing is visible under the key until
    /// [`Upload::commit`], and a dropped upload leaves nothing behind.
    pub async fn begin(&self, key: &str) -> io::Result<Upload> {
        check_key(key)?;
        let sink = match &self.0 {
            Inner::Local(f) => Sink::Local(f.begin(key).await?),
            Inner::Bucket(b) => Sink::Bucket(b.begin(key)?),
        };
        Ok(Upload {
            sink,
            size: 0,
            hasher: Default::default(),
            kept: Vec::new(),
        })
    }

    /// A blocking write of `key`, for workers on their own threads. It goes to a local temp
    /// file first; [`BlockingUpload::commit`] puts it under its key.
    pub fn begin_blocking(&self, key: &str) -> io::Result<BlockingUpload> {
        check_key(key)?;
        let (folder, bucket) = match &self.0 {
            Inner::Local(f) => (f.clone(), None),
            Inner::Bucket(b) => (local::Folder::new(b.scratch().to_path_buf()), Some(b.clone())),
        };
        Ok(BlockingUpload {
            file: folder.begin_blocking(key)?,
            bucket,
            key: key.to_string(),
        })
    }

    /// Reads an object (or the span of it asked for) as a stream of chunks; `NotFound` when
    /// there is none, [`Unsatisfiable`] when it holds none of the span. The version it
    /// answers is that of the bytes it reads.
    pub async fn open(&self, key: &str, asked: Asked<'_>) -> io::Result<Opened> {
        check_key(key)?;
        match &self.0 {
            Inner::Local(f) => f.open(key, asked).await,
            Inner::Bucket(b) => b.open(key, asked).await,
        }
    }

    /// An object's size and version, a word that changes whenever the object under `key`
    /// is replaced (an HTTP validator for objects written again under their key);
    /// `NotFound` when there is none.
    pub async fn stat(&self, key: &str) -> io::Result<(u64, String)> {
        check_key(key)?;
        match &self.0 {
            Inner::Local(f) => match tokio::fs::metadata(f.path(key)).await? {
                m if m.is_file() => Ok((m.len(), local_version(&m))),
                _ => Err(io::ErrorKind::NotFound.into()),
            },
            Inner::Bucket(b) => b.stat(key).await,
        }
    }

    /// Whether an object is there, asked without blocking the caller's thread: `Err` when
    /// the store did not say (a bucket that is down or stalls), which is not the same as
    /// the object being held elsewhere (probe 54a M1).
    pub async fn holds(&self, key: &str) -> io::Result<bool> {
        match self.stat(key).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::InvalidInput => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether an object is there. Blocking: for worker threads.
    pub fn exists(&self, key: &str) -> bool {
        if check_key(key).is_err() {
            return false;
        }
        match &self.0 {
            Inner::Local(f) => f.path(key).is_file(),
            Inner::Bucket(b) => b.exists(key),
        }
    }

    /// Deletes an object; one that is not there is already deleted.
    pub async fn delete(&self, key: &str) -> io::Result<()> {
        check_key(key)?;
        match &self.0 {
            Inner::Local(f) => f.delete(key),
            Inner::Bucket(b) => b.delete(key).await,
        }
    }

    /// [`Storage::delete`] for worker threads.
    pub fn delete_blocking(&self, key: &str) -> io::Result<()> {
        check_key(key)?;
        match &self.0 {
            Inner::Local(f) => f.delete(key),
            Inner::Bucket(b) => b.delete_blocking(key),
        }
    }

    /// Deletes an object in the background (from code that cannot wait, a `Drop`); a
    /// failure is logged.
    pub fn delete_soon(&self, key: &str) {
        if check_key(key).is_err() {
            return;
        }
        match &self.0 {
            Inner::Local(f) => {
                if let Err(e) = f.delete(key) {
                    tracing::warn!(key, error = %e, "deleting stored bytes failed");
                }
            }
            Inner::Bucket(b) => b.delete_soon(key),
        }
    }
}

/// A local file with an object's bytes; a temp download is removed on drop.
#[derive(Debug)]
pub struct LocalCopy {
    path: PathBuf,
    _temp: Option<local::TempFile>,
}

impl LocalCopy {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

enum Sink {
    Local(local::Upload),
    Bucket(bucket::Upload),
}

/// An object being written from an async stream; counts bytes and hashes as they pass.
pub struct Upload {
    sink: Sink,
    size: u64,
    hasher: sha2::Sha256,
    kept: Vec<Box<dyn Send>>,
}

impl Upload {
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        use sha2::Digest;
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        match &mut self.sink {
            Sink::Local(u) => u.write(bytes).await,
            Sink::Bucket(u) => u.write(bytes).await,
        }
    }

    /// Holds `thing` (a caller's place) until the bytes are done with: with a bucket, until
    /// the store's commit or abort ends, even when the request has gone.
    pub fn keep(&mut self, thing: impl Send + 'static) {
        match &mut self.sink {
            Sink::Local(_) => self.kept.push(Box::new(thing)),
            Sink::Bucket(u) => u.kept.push(Box::new(thing)),
        }
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Puts the object under its key (flushed to disk, or the last part sent).
    pub async fn commit(self) -> io::Result<Stored> {
        use sha2::Digest;
        match self.sink {
            Sink::Local(u) => u.commit().await?,
            Sink::Bucket(u) => u.commit().await?,
        }
        Ok(Stored {
            size: self.size,
            sha256: hex::encode(self.hasher.finalize()),
        })
    }
}

/// An object being written by blocking code, through a local temp file.
pub struct BlockingUpload {
    file: local::BlockingUpload,
    bucket: Option<std::sync::Arc<bucket::Bucket>>,
    key: String,
}

impl io::Write for BlockingUpload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl BlockingUpload {
    pub fn commit(self) -> io::Result<()> {
        match self.bucket {
            None => self.file.commit(),
            // The temp file goes up, then away (when `file` drops, uncommitted).
            Some(b) => b.upload_file(&self.key, self.file.finish()?),
        }
    }
}

/// Removes the files (not folders) in `dir` last changed at least `older_than` ago.
fn sweep_files(dir: &std::path::Path, older_than: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age >= older_than))
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

#[cfg(test)]
mod tests;
