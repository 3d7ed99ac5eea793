//! The SQLite file itself: made private to Wharf's user wherever it lives.

use anyhow::anyhow;
use std::path::Path;

/// A SQLite file outside the data folder holds the same secrets as one inside it: missing
/// folders are made for Wharf's user only, and a new file readable by it alone (SQLite
/// gives its `-wal` and `-shm` files the database's mode). A file that cannot be opened to
/// write is named with the reason: "unable to open database file" named neither (probe
/// 64e D4, D6).
pub fn prepare(path: &Path) -> anyhow::Result<()> {
    if path.as_os_str() == ":memory:" {
        return Ok(());
    }
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
    Ok(())
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
