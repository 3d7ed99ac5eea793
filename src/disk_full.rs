//! A full disk, told apart from other failures: a person is told the server is out of
//! space (a 507, or a job's message) instead of "something went wrong", and what a job
//! wrote before it ran out is taken back once there is room again.

use std::io;

/// What a request that ran out of space answers (507).
pub const REQUEST: &str =
    "the server is out of disk space, so this was not saved; ask an admin to free some space, then try again";

/// What a job that ran out of space says.
pub const JOB: &str = "the server ran out of disk space; ask an admin to free some space, then run it again";

/// Whether a file operation failed for want of space (`ENOSPC`, or a disk quota).
pub fn is_io(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

/// Whether a database statement failed for want of space: SQLite's `SQLITE_FULL`
/// ("database or disk is full"), PostgreSQL's `could not extend file ...: No space left on
/// device` (and the same for its temporary and log files).
pub fn is_db(e: &diesel::result::Error) -> bool {
    match e {
        diesel::result::Error::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("database or disk is full") || m.contains("No space left on device")
        }
        _ => false,
    }
}

/// Whether any error in a chain is one of the above.
pub fn in_chain(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().is_some_and(is_io)
            || cause.downcast_ref::<diesel::result::Error>().is_some_and(is_db)
            || cause
                .downcast_ref::<crate::model::ModelError>()
                .is_some_and(|m| matches!(m, crate::model::ModelError::Db(db) if is_db(db)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn db_error(message: &str) -> Error {
        Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_string()))
    }

    #[test]
    fn the_words_each_database_uses_for_a_full_disk_are_known() {
        assert!(is_db(&db_error("database or disk is full")));
        assert!(is_db(&db_error(
            "could not extend file \"base/16384/16397\": No space left on device"
        )));
        assert!(!is_db(&db_error("database is locked")));
        assert!(!is_db(&Error::NotFound));
    }

    #[test]
    fn a_full_disk_is_found_however_deep_it_is_wrapped() {
        let io = io::Error::from_raw_os_error(28); // ENOSPC
        assert!(is_io(&io));
        assert!(in_chain(&anyhow::Error::new(io).context("writing an upload")));
        let db = anyhow::Error::new(db_error("database or disk is full")).context("a batch");
        assert!(in_chain(&db));
        let other = io::Error::from_raw_os_error(13); // EACCES
        assert!(!in_chain(&anyhow::Error::new(other)));
    }
}
