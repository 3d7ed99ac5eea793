//! Opening a file for its extraction: the first pass (a JSON file's columns, read before
//! any row) runs on a thread of its own, followed and stopped from the job's thread.

use super::{JobError, Progress};
use crate::db::AnyConnection;
use crate::extract;
use crate::model::file::File;

/// The share of the bar a first pass that reads the whole file takes (a JSON file's: about
/// as long as the rows after it). It moved from 3% to 5% before, and a 200 MB file showed
/// "3% Parsing sheets" for half a minute (probe 72a D8).
pub(super) const WHOLE_FIRST_PASS: i32 = 40;

/// Opens the file on a thread of its own while this one keeps the job alive and says how
/// far the first pass has read (a JSON file's is the whole file), stopping it on a cancel.
/// With the extraction, where the bar stands once it is open.
pub(super) fn open_followed(
    conn: &mut AnyConnection,
    progress: &mut Progress,
    path: &std::path::Path,
    f: &File,
) -> Result<(extract::Extraction, i32), JobError> {
    let watch = extract::Watch::default();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(1);
    let opened = std::thread::scope(|s| {
        let opening = s.spawn(|| extract::open_watched(path, &f.name, &watch));
        let (mut lost, mut said_at) = (None, std::time::Instant::now());
        while !opening.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(20));
            if lost.is_some() || said_at.elapsed() < std::time::Duration::from_secs(1) {
                continue;
            }
            said_at = std::time::Instant::now();
            let read = extract::fraction_read(&watch.first_pass, size);
            let percent = 3 + (read * (WHOLE_FIRST_PASS - 3) as f64) as i32;
            if let Err(e) = progress.report(conn, percent, "Parsing sheets") {
                watch.stop.store(true, std::sync::atomic::Ordering::Relaxed);
                lost = Some(e);
            }
        }
        (opening.join(), lost)
    });
    match opened {
        (_, Some(lost)) => Err(lost),
        (Err(panic), None) => std::panic::resume_unwind(panic),
        // The message may quote the file (a sheet's name): NUL cannot be stored.
        (Ok(opened), None) => {
            let opened = opened.map_err(|e| JobError::Failed(e.to_string().replace('\0', "\u{FFFD}")))?;
            // A first pass over most of the file has had its share; a short one (a CSV's
            // look at its first lines) next to none.
            let whole = extract::fraction_read(&watch.first_pass, size) > 0.5;
            Ok((opened, if whole { WHOLE_FIRST_PASS } else { 5 }))
        }
    }
}
