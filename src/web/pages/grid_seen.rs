//! What a bulk form was shown: the view's records, counted (with the sheet's last record
//! id then, and a digest of them) when its dialog opened, so that a delete or a column
//! change takes those records or none, never records another person added, fixed or broke
//! into the view meanwhile (probe 60b D5: a set took in a record a colleague was fixing).

use crate::app::AppState;
use crate::extract::thousands;
use crate::model::record::{cells, RecordQuery};
use crate::model::ModelError;
use crate::web::error::AppError;

/// The view as a dialog showed it: how many records, the last record id then, and a digest
/// of their ids (see `jobs::delete::selection_digest`).
#[derive(Debug, Default)]
pub struct Seen {
    pub expected: Option<u64>,
    pub upto: Option<i64>,
    pub selection: Option<String>,
}

/// A view counted now, to be shown: `(count, last record id, digest)`.
pub fn count(
    conn: &mut crate::db::AnyConnection,
    seq: i64,
    q: &RecordQuery,
) -> Result<(u64, i64, String), ModelError> {
    crate::db::read_snapshot(conn, |conn| {
        let ids = cells::selected_ids(conn, seq, q, None, None)?;
        let upto = crate::model::record::last_id(conn, seq)?;
        Ok::<_, ModelError>((
            ids.len() as u64,
            upto,
            crate::jobs::delete::selection_digest(&ids),
        ))
    })
}

impl Seen {
    /// The view's records now up to the last id seen, when they are the ones seen;
    /// else a 409 saying what changed and that nothing was done. `words`: how the person
    /// saw them, what was not done, and what they were doing ("confirmed", "deleted",
    /// "deleting").
    pub async fn check(
        &self,
        state: &AppState,
        seq: i64,
        q: RecordQuery,
        (seen, done, doing): (&str, &str, &str),
    ) -> Result<Vec<i64>, AppError> {
        let upto = self.upto;
        let (now, ids) = state
            .read_db(move |conn| {
                let mut ids = cells::selected_ids(conn, seq, &q, None, None)?;
                // Those the dialog could count: a record added since is left as it is, not
                // a change of what was seen (probe 78d D1: a sheet an integration feeds
                // refused every change).
                ids.retain(|id| upto.is_none_or(|u| *id <= u));
                Ok::<_, ModelError>((ids.len() as u64, ids))
            })
            .await?;
        if let Some(expected) = self.expected.filter(|e| *e != now) {
            return Err(AppError::Conflict(format!(
                "The view now shows {}, not the {} you {seen}: someone changed the sheet meanwhile. Look at it again before {doing}.",
                crate::words::records(now),
                thousands(expected)
            )));
        }
        let digest = crate::jobs::delete::selection_digest(&ids);
        if self
            .selection
            .as_ref()
            .is_some_and(|s| !s.eq_ignore_ascii_case(&digest))
        {
            return Err(AppError::Conflict(format!(
                "The view shows other records than the ones you {seen} (someone fixed, broke or changed some meanwhile): nothing was {done}. Look at it again before {doing}."
            )));
        }
        Ok(ids)
    }
}
