//! Objects as files in a folder. Writes land in `tmp/` and are renamed into place only when
//! complete.

use super::{local_version, temp_name, wanted, Asked, Opened};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone)]
pub(super) struct Folder {
    root: PathBuf,
    holder: std::sync::Arc<std::sync::OnceLock<Option<String>>>,
}

/// The file in a folder that names it ([`Folder::holder`]).
const HOLDER_FILE: &str = "holder-id";

impl Folder {
    pub(super) fn new(root: PathBuf) -> Self {
        Folder {
            root,
            holder: Default::default(),
        }
    }

    /// The folder's id: read from its `holder-id` file, which the first process to ask
    /// writes (created whole or not at all, so two processes starting at once on a shared
    /// folder agree). `None`, and a warning, when the folder cannot be written.
    pub(super) fn holder(&self) -> Option<String> {
        self.holder
            .get_or_init(|| match self.read_or_make_holder() {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::warn!(error = %e, folder = %self.root.display(), "the storage folder has no id");
                    None
                }
            })
            .clone()
    }

    fn read_or_make_holder(&self) -> io::Result<String> {
        let path = self.root.join(HOLDER_FILE);
        let empty = match std::fs::read_to_string(&path) {
            Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_string()),
            // A file left empty (a crash while the first process wrote it, a truncation)
            // names nothing: it is written again.
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        std::fs::create_dir_all(&self.root)?;
        let id = format!("folder_{}", temp_name());
        let tmp = self.root.join(format!("{HOLDER_FILE}.{}", temp_name()));
        std::fs::write(&tmp, &id)?;
        // A link fails when another process made the file first: its id is the folder's.
        let linked = match empty {
            true => std::fs::rename(&tmp, &path),
            false => std::fs::hard_link(&tmp, &path),
        };
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(id),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Ok(std::fs::read_to_string(&path)?.trim().to_string())
            }
            Err(e) => Err(e),
        }
    }

    /// The names of the objects directly under folder `prefix` (`files`).
    pub(super) fn names_under(&self, prefix: &str) -> Vec<String> {
        std::fs::read_dir(self.root.join(prefix))
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().is_file())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Where the object of a (checked) key lives.
    pub(super) fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn temp_path(&self) -> PathBuf {
        self.root.join("tmp").join(format!("{}.part", temp_name()))
    }

    pub(super) async fn begin(&self, key: &str) -> io::Result<Upload> {
        let tmp = self.temp_path();
        tokio::fs::create_dir_all(tmp.parent().unwrap_or(&self.root)).await?;
        let file = tokio::fs::File::create(&tmp).await?;
        Ok(Upload {
            file: Some(tokio::io::BufWriter::with_capacity(256 * 1024, file)),
            tmp: TempFile(tmp),
            dest: self.path(key),
        })
    }

    pub(super) fn begin_blocking(&self, key: &str) -> io::Result<BlockingUpload> {
        let tmp = self.temp_path();
        std::fs::create_dir_all(tmp.parent().unwrap_or(&self.root))?;
        let file = std::fs::File::create(&tmp)?;
        Ok(BlockingUpload {
            file: Some(io::BufWriter::new(file)),
            tmp: TempFile(tmp),
            dest: self.path(key),
        })
    }

    pub(super) async fn open(&self, key: &str, asked: Asked<'_>) -> io::Result<Opened> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut file = tokio::fs::File::open(self.path(key)).await?;
        // The version of the file opened, whatever is renamed into place meanwhile.
        let meta = file.metadata().await?;
        // Only a file is an object (a folder opens too).
        if !meta.is_file() {
            return Err(io::ErrorKind::NotFound.into());
        }
        let (size, version) = (meta.len(), local_version(&meta));
        let span = asked.span_for(&version);
        let range = wanted(span, size)?;
        file.seek(io::SeekFrom::Start(range.start)).await?;
        let file = file.take(range.end - range.start);
        let chunks = futures_util::stream::unfold(file, |mut file| async move {
            let mut buf = vec![0u8; 256 * 1024];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(bytes::Bytes::from(buf)), file))
                }
                Err(e) => Some((Err(e), file)),
            }
        });
        Ok(Opened {
            size,
            range,
            spanned: span.is_some(),
            version,
            chunks: Box::pin(chunks),
        })
    }

    pub(super) fn delete(&self, key: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(key)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// A temp file, removed when dropped unless it was moved into place.
#[derive(Debug)]
pub(super) struct TempFile(PathBuf);

impl TempFile {
    pub(super) fn new(path: PathBuf) -> Self {
        TempFile(path)
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }

    /// Renames it to `dest`; it is no longer a temp file then.
    fn place(self, dest: &Path) -> io::Result<()> {
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(&self.0, dest)?;
        std::mem::forget(self);
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An object being written from an async stream.
pub(super) struct Upload {
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
    tmp: TempFile,
    dest: PathBuf,
}

impl Upload {
    pub(super) async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.write_all(bytes).await,
            None => Err(io::Error::other("upload already finished")),
        }
    }

    /// Flushes to disk and puts the object under its key.
    pub(super) async fn commit(mut self) -> io::Result<()> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("upload already finished"))?;
        file.flush().await?;
        file.get_mut().sync_all().await?;
        drop(file);
        let (tmp, dest) = (self.tmp, self.dest);
        tokio::task::spawn_blocking(move || tmp.place(&dest))
            .await
            .map_err(io::Error::other)?
    }
}

/// An object being written by blocking code.
pub(super) struct BlockingUpload {
    file: Option<io::BufWriter<std::fs::File>>,
    tmp: TempFile,
    dest: PathBuf,
}

impl Write for BlockingUpload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("upload already finished")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl BlockingUpload {
    /// Flushes and closes the temp file and hands it over (removed when dropped).
    pub(super) fn finish(mut self) -> io::Result<TempFile> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("upload already finished"))?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(self.tmp)
    }

    /// Puts the object under its key.
    pub(super) fn commit(self) -> io::Result<()> {
        let dest = self.dest.clone();
        self.finish()?.place(&dest)
    }
}
