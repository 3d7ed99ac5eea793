//! Flatfile's scheduled events: `cron:5-minutes`, `cron:hourly`, `cron:daily` and
//! `cron:weekly`, sent to every environment at the start of each period (UTC), for listener
//! code that runs on a schedule (`listener.on("cron:hourly", ...)`). Processes sharing a
//! database send each tick once: the one whose update moves the topic's slot sends it.

use crate::db::schema::cron_ticks;
use crate::db::{AnyConnection, Pool};
use crate::model::event::{self, Context};
use crate::model::{environment, ModelError};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;
use std::time::Duration;

/// Each topic and its period, in seconds.
pub const TOPICS: [(&str, i64); 4] = [
    ("cron:5-minutes", 300),
    ("cron:hourly", 3_600),
    ("cron:daily", 86_400),
    ("cron:weekly", 604_800),
];

/// How often the loop looks whether a period has begun.
const TICK: Duration = Duration::from_secs(5);

/// The start of the period `at` falls in (weeks start on Monday, 00:00 UTC).
fn slot(at: NaiveDateTime, period: i64) -> NaiveDateTime {
    // 1970-01-05 was a Monday.
    let offset = if period == 604_800 { 4 * 86_400 } else { 0 };
    let secs = at.and_utc().timestamp() - offset;
    let start = secs - secs.rem_euclid(period) + offset;
    chrono::DateTime::from_timestamp(start, 0).map_or(at, |t| t.naive_utc())
}

/// Sends the ticks whose period began since they were last sent, as of `now`; the topics
/// sent. A topic seen for the first time starts counting from its current period: a new
/// install sends nothing at once.
pub fn send_due(conn: &mut AnyConnection, now: NaiveDateTime) -> Result<Vec<&'static str>, ModelError> {
    let mut sent = Vec::new();
    for (topic, period) in TOPICS {
        let current = slot(now, period);
        // Looked at first without writing: most looks find nothing due, and a write
        // transaction every few seconds would queue behind people's saves on SQLite.
        let last: Option<NaiveDateTime> = cron_ticks::table
            .find(topic)
            .select(cron_ticks::last_slot)
            .first(conn)
            .optional()?;
        if last.is_some_and(|l| l >= current) {
            continue;
        }
        let due = crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
            let moved = diesel::update(
                cron_ticks::table
                    .filter(cron_ticks::topic.eq(topic))
                    .filter(cron_ticks::last_slot.lt(current)),
            )
            .set(cron_ticks::last_slot.eq(current))
            .execute(conn)?;
            if moved == 0 {
                let known = cron_ticks::table.find(topic).count().get_result::<i64>(conn)? > 0;
                if !known {
                    // Two processes starting together both find none: the second's insert
                    // is ignored, not an error (probe 62a D4: a warning each such start).
                    let row = (cron_ticks::topic.eq(topic), cron_ticks::last_slot.eq(current));
                    match conn {
                        AnyConnection::Sqlite(c) => diesel::insert_or_ignore_into(cron_ticks::table)
                            .values(row)
                            .execute(c)?,
                        AnyConnection::Postgres(c) => diesel::insert_into(cron_ticks::table)
                            .values(row)
                            .on_conflict_do_nothing()
                            .execute(c)?,
                    };
                }
                return Ok(false);
            }
            for env in environment::list(conn)? {
                event::emit(conn, &Context::new(&env.id, "wharf"), topic, json!({}))?;
            }
            Ok(true)
        })?;
        if due {
            sent.push(topic);
        }
    }
    Ok(sent)
}

/// Starts the loop on its own thread; it ends once `pool` gives `None` (the application
/// has gone).
pub fn start(pool: impl Fn() -> Option<Pool> + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("wharf-cron".into())
        .spawn(move || loop {
            let Some(pool) = pool() else { return };
            let result = pool
                .get()
                .map_err(|e| e.to_string())
                .and_then(|mut c| send_due(&mut c, crate::model::now()).map_err(|e| e.to_string()));
            if let Err(e) = result {
                tracing::warn!(error = %e, "sending scheduled (cron) events failed; trying again shortly");
            }
            drop(pool);
            std::thread::sleep(TICK);
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::slot;
    use chrono::NaiveDate;

    #[test]
    fn periods_start_on_the_hour_day_and_monday() {
        let at = NaiveDate::from_ymd_opt(2026, 12, 3)
            .unwrap()
            .and_hms_opt(11, 37, 12)
            .unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(slot(at, 300), day.and_hms_opt(11, 35, 0).unwrap());
        assert_eq!(slot(at, 3_600), day.and_hms_opt(11, 0, 0).unwrap());
        assert_eq!(slot(at, 86_400), day.and_hms_opt(0, 0, 0).unwrap());
        let monday = NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(slot(at, 604_800), monday);
    }
}
