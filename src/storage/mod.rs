//! File bytes, kept apart from the database: a folder under the data directory today.
//!
//! Everything goes through these few calls (write a stream under a key, read it back, get a
//! local path for readers that must seek, delete), so an S3-compatible bucket can serve
//! them later (for example with the `object_store` crate, downloading to a temp file for
//! `local_path`). Writes land in a temp file and are renamed into place only when
//! complete: an aborted upload leaves nothing behind.

use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
}

/// What a finished write stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
}

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
        Storage { root: root.into() }
    }

    /// Where the object of `key` lives on disk, for readers that need a file (spreadsheet
    /// readers seek). A bucket-backed storage would download into a temp file here.
    pub fn local_path(&self, key: &str) -> io::Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    fn temp_path(&self) -> PathBuf {
        self.root.join("tmp").join(format!("{}.part", temp_name()))
    }

    /// Starts an asynchronous write of `key`; nothing is visible under the key until
    /// [`Upload::commit`], and a dropped upload deletes its temp file.
    pub async fn begin(&self, key: &str) -> io::Result<Upload> {
        let dest = self.local_path(key)?;
        let tmp = self.temp_path();
        tokio::fs::create_dir_all(tmp.parent().unwrap_or(&self.root)).await?;
        let file = tokio::fs::File::create(&tmp).await?;
        Ok(Upload {
            file: Some(tokio::io::BufWriter::with_capacity(256 * 1024, file)),
            tmp,
            dest,
            size: 0,
            hasher: Sha256::new(),
            committed: false,
        })
    }

    /// A blocking write of `key`, for workers on their own threads.
    pub fn begin_blocking(&self, key: &str) -> io::Result<BlockingUpload> {
        let dest = self.local_path(key)?;
        let tmp = self.temp_path();
        std::fs::create_dir_all(tmp.parent().unwrap_or(&self.root))?;
        let file = std::fs::File::create(&tmp)?;
        Ok(BlockingUpload {
            file: Some(io::BufWriter::new(file)),
            tmp,
            dest,
            committed: false,
        })
    }

    /// Opens an object for reading.
    pub async fn open(&self, key: &str) -> io::Result<tokio::fs::File> {
        tokio::fs::File::open(self.local_path(key)?).await
    }

    pub fn exists(&self, key: &str) -> bool {
        self.local_path(key).map(|p| p.is_file()).unwrap_or(false)
    }

    /// Deletes an object; one that is not there is already deleted.
    pub fn delete(&self, key: &str) -> io::Result<()> {
        match std::fs::remove_file(self.local_path(key)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn place(tmp: &Path, dest: &Path) -> io::Result<()> {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::rename(tmp, dest)
}

/// An object being written from an async stream; counts bytes and hashes as they pass.
pub struct Upload {
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
    tmp: PathBuf,
    dest: PathBuf,
    size: u64,
    hasher: Sha256,
    committed: bool,
}

impl Upload {
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        match self.file.as_mut() {
            Some(f) => f.write_all(bytes).await,
            None => Err(io::Error::other("upload already finished")),
        }
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Flushes to disk and puts the object under its key.
    pub async fn commit(mut self) -> io::Result<Stored> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("upload already finished"))?;
        file.flush().await?;
        file.get_mut().sync_all().await?;
        drop(file);
        let (tmp, dest) = (self.tmp.clone(), self.dest.clone());
        tokio::task::spawn_blocking(move || place(&tmp, &dest))
            .await
            .map_err(io::Error::other)??;
        self.committed = true;
        Ok(Stored {
            size: self.size,
            sha256: hex::encode(std::mem::take(&mut self.hasher).finalize()),
        })
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// An object being written by blocking code.
pub struct BlockingUpload {
    file: Option<io::BufWriter<std::fs::File>>,
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
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
    pub fn commit(mut self) -> io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("upload already finished"))?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        place(&self.tmp, &self.dest)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for BlockingUpload {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            std::fs::read(storage.local_path("files/a").unwrap()).unwrap(),
            b"hello world"
        );

        let mut dropped = storage.begin("files/b").await.unwrap();
        dropped.write(b"partial").await.unwrap();
        drop(dropped);
        assert!(!storage.exists("files/b"));
        let leftovers = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
        assert_eq!(leftovers, 0, "no temp file is left behind");

        storage.delete("files/a").unwrap();
        storage.delete("files/a").unwrap();
        assert!(storage.local_path("../etc/passwd").is_err());
    }
}
