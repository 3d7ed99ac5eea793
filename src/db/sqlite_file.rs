//! The SQLite file itself: made private to Wharf's user wherever it lives.

use anyhow::anyhow;
use std::path::{Path, PathBuf};

/// What a SQLite target names: the file (a `file:` URI's path, percent-decoded, as SQLite
/// reads it), or `None` for a database in memory, new and empty for each connection
/// (`:memory:`, `mode=memory`, `vfs=memdb` in any spelling: probe 65c D6, 65d D3).
pub fn file_of(target: &str) -> Option<PathBuf> {
    let decode = |t: &str| {
        percent_encoding::percent_decode_str(t)
            .decode_utf8_lossy()
            .into_owned()
    };
    let Some(uri) = target.strip_prefix("file:") else {
        return (target != ":memory:").then(|| PathBuf::from(target));
    };
    // SQLite ends a URI's path at `?` or `#` (probe 65f D4: `f.db#x` was made private
    // while SQLite opened `f.db`).
    let uri = uri.split_once('#').map_or(uri, |(before, _)| before);
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    // `file:///abs` and `file://localhost/abs` name `/abs`.
    let path = match path.strip_prefix("//") {
        Some(rest) => rest.find('/').map_or("", |at| &rest[at..]),
        None => path,
    };
    let path = decode(path);
    let in_memory = path.is_empty()
        || path == ":memory:"
        || url::form_urlencoded::parse(query.as_bytes()).any(|(k, v)| {
            (k == "mode" && v.eq_ignore_ascii_case("memory"))
                || (k == "vfs" && v.eq_ignore_ascii_case("memdb"))
        });
    (!in_memory).then(|| PathBuf::from(path))
}

/// A SQLite file outside the data folder holds the same secrets as one inside it: missing
/// folders are made for Wharf's user only, and a new file readable by it alone (SQLite
/// gives its `-wal` and `-shm` files the database's mode). A file that cannot be opened to
/// write is named with the reason: "unable to open database file" named neither (probe
/// 64e D4, D6).
pub fn prepare(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut folders = std::fs::DirBuilder::new();
        folders.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut folders, 0o700);
        folders.create(dir).map_err(|e| {
            anyhow!(
                "cannot create the folder {} for the SQLite database: {e}",
                dir.display()
            )
        })?;
    }
    let mut file = std::fs::OpenOptions::new();
    file.read(true).write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    file.open(path)
        .map_err(|e| anyhow!("cannot open the SQLite database {} to write: {e}", path.display()))?;
    let beside = |end: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(end);
        PathBuf::from(name)
    };
    #[cfg(unix)]
    for file in [path.to_path_buf(), beside("-wal"), beside("-shm")] {
        // A file an earlier version made readable by all is made private too (probe 65d
        // D11); one of another owner is left as it is, and said.
        use std::os::unix::fs::PermissionsExt;
        let Ok(mode) = std::fs::metadata(&file).map(|m| m.permissions().mode()) else {
            continue;
        };
        if mode & 0o077 != 0 {
            if let Err(e) = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700)) {
                tracing::warn!(file = %file.display(), error = %e, "the database file could not be made private");
            }
        }
    }
    // SQLite writes its log beside the file: a folder it cannot write in read as "attempt
    // to write a readonly database", naming neither (probe 65d D4).
    let folder = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !beside("-wal").exists() || !beside("-shm").exists() {
        let probe = folder.join(format!(".wharf-write-check-{}", std::process::id()));
        std::fs::File::create(&probe).map_err(|e| {
            anyhow!(
                "cannot write in {}, the folder of the SQLite database {} (SQLite keeps its log files there): {e}",
                folder.display(),
                path.display()
            )
        })?;
        let _ = std::fs::remove_file(&probe);
    }
    Ok(())
}

#[cfg(test)]
mod target_tests {
    use super::file_of;
    use std::path::PathBuf;

    #[test]
    fn a_uri_names_its_file_and_memory_names_none() {
        assert_eq!(file_of("./data/w.db"), Some(PathBuf::from("./data/w.db")));
        assert_eq!(
            file_of("file:/abs/w%20x.db?mode=rwc"),
            Some(PathBuf::from("/abs/w x.db"))
        );
        assert_eq!(file_of("file:///abs/w.db"), Some(PathBuf::from("/abs/w.db")));
        assert_eq!(
            file_of("file://localhost/abs/w.db"),
            Some(PathBuf::from("/abs/w.db"))
        );
        assert_eq!(file_of("file:rel.db"), Some(PathBuf::from("rel.db")));
        assert_eq!(file_of("file:/abs/f.db#x"), Some(PathBuf::from("/abs/f.db")));
        for memory in [
            ":memory:",
            "file::memory:",
            "file::memory:?cache=shared",
            "file:/abs/w.db?mode=memor%79",
            "file:w.db?vfs=memdb",
            "file:",
        ] {
            assert_eq!(file_of(memory), None, "{memory}");
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_database_and_its_folders_are_private() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("a/b/w.db");
        super::prepare(&file).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&root.path().join("a/b")), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
    }

    #[test]
    fn a_database_readable_by_all_is_made_private() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("w.db");
        std::fs::write(&file, b"").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        super::prepare(&file).unwrap();
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_database_that_cannot_be_written_is_named() {
        let root = tempfile::tempdir().unwrap();
        // A folder where the file should be: opening it to write fails, as a read-only one does.
        let file = root.path().join("w.db");
        std::fs::create_dir(&file).unwrap();
        let message = super::prepare(&file).unwrap_err().to_string();
        assert!(message.contains(&file.display().to_string()), "{message}");
        assert!(message.contains("to write"), "{message}");
    }
}
