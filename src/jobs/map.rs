//! `workbook:map`: writes the source sheet's records into the destination sheet through the
//! plan's field mapping, batch by batch through the record write path. Each batch commits
//! with the job's checkpoint (the last source record done and the records written), so a
//! job cut off resumes where it stopped; a job that fails or is canceled takes back the
//! records it wrote.

use super::map_row::map_row;
use super::plan;
use super::{JobError, Progress, BATCH};
use crate::db::AnyConnection;
use crate::ids::RecordId;
use crate::model::commit::Hooks;
use crate::model::job::{self, Job, JobChanges};
use crate::model::sheet::{self, SheetContext};
use crate::model::{mapping_memory, record};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How far a mapping job got, saved with every batch.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
struct Checkpoint {
    /// The last source record mapped.
    after: i64,
    /// Source records done.
    processed: i64,
    /// Destination records written, as inclusive id ranges.
    written: Vec<(i64, i64)>,
    /// The attempt stopped (canceled or failed): `written` are the records still to take
    /// back (see `take_back`).
    #[serde(default, rename = "takingBack")]
    taking_back: bool,
    /// The last source record when the mapping was asked to run (`job_queue::
    /// fix_map_ceiling`), or else when it started: it maps those, not records written into
    /// the source meanwhile (two sheets mapped into each other would feed each other).
    upto: Option<i64>,
    /// How the destination's fields read values that read two ways, by field key, by all
    /// the rows to map, gathered before the first batch ([`import_readings`]): every batch,
    /// and a run resumed after a stop (the fields moved meanwhile, too), read `01/02/2024`
    /// the same way.
    #[serde(rename = "readingsByKey")]
    readings: Option<std::collections::BTreeMap<String, crate::validate::Reading>>,
    /// Records written with a warning, and cells with one by field key: the result says
    /// them beside the errors (probe 66h D9: "all valid" over dates all read month first).
    #[serde(default, rename = "warnedRecords")]
    warned_records: i64,
    #[serde(default, rename = "warnedByKey")]
    warned: std::collections::BTreeMap<String, i64>,
}

impl Checkpoint {
    fn add_written(&mut self, ids: impl IntoIterator<Item = i64>) {
        for id in ids {
            match self.written.last_mut() {
                Some((_, hi)) if *hi + 1 == id => *hi = id,
                _ => self.written.push((id, id)),
            }
        }
    }

    fn add_warned(&mut self, (records, by_field): &Warned, fields: &crate::blueprint::SheetConfig) {
        self.warned_records += records;
        for (&i, n) in by_field {
            if let Some(f) = fields.fields.get(i) {
                *self.warned.entry(f.key.clone()).or_insert(0) += n;
            }
        }
    }

    fn written_ids(&self) -> Vec<RecordId> {
        self.written
            .iter()
            .flat_map(|(lo, hi)| (*lo..=*hi).map(RecordId))
            .collect()
    }
}

pub fn run(cx: &super::Context, worker: &str, job: &Job, conn: &mut AnyConnection) -> Result<(), JobError> {
    let config: Value = serde_json::from_str(&job.config).unwrap_or_else(|_| json!({}));
    let mut cp = checkpoint_of(job);
    let (mut sheets, mut resolved, mut dest) = match prepare(conn, job, &config) {
        Ok(prepared) => prepared,
        Err(e) => {
            // A resumed attempt whose plan no longer holds (a mapped field removed while
            // the job was stopped): what the earlier attempt wrote goes back, as after a
            // failure mid-way, so running the import again makes no duplicates.
            if !cp.written.is_empty() {
                let marked = Checkpoint {
                    taking_back: true,
                    ..cp
                };
                let text = serde_json::to_string(&marked).unwrap_or_default();
                if job::release_checkpoint(conn, job, |_| Some(text))?.is_some() {
                    take_back(cx, conn, job, &marked)?;
                }
            }
            return Err(e);
        }
    };
    if cp.taking_back {
        // A retry of a stopped attempt whose take-back did not finish: finish it, then map
        // from the start.
        take_back(cx, conn, job, &cp)?;
        cp = Checkpoint::default();
    }
    if cp.upto.is_none() {
        cp.upto = Some(record::last_id(conn, sheets.source.seq)?);
    }
    if cp.readings.is_none() {
        let (upto, started) = (cp.upto.unwrap_or(i64::MAX), std::time::Instant::now());
        let readings = super::map_readings::import_readings(conn, &cx.pool, &sheets, upto, &resolved, &dest)?;
        let keys = dest.config.fields.iter().map(|f| f.key.clone());
        cp.readings = Some(keys.zip(readings).collect());
        tracing::debug!(job = %job.id, took = ?started.elapsed(), "read how the source's dates and numbers read");
    }
    let mut progress = Progress::new(cx, job, worker);
    let result = super::refuse_crash_loop(job)
        .and_then(|()| loop {
            if map_batches(cx, conn, job, &sheets, &resolved, &dest, &mut cp, &mut progress)? {
                break Ok(());
            }
            // The destination's fields changed: on from the checkpoint with the plan
            // resolved on them again, if the fields it maps are as they were.
            let now = sheet::load_context(conn, &job.environment_id, &dest.sheet.id)?;
            super::map_fields::check(&dest, &now.config, &resolved.columns)?;
            (sheets, resolved, dest) = prepare(conn, job, &config)?;
        })
        .and_then(|()| {
            let hooked = crate::model::commit::tracks_changes(&dest);
            complete(conn, job, worker, &sheets, &resolved, &cp, hooked)
        });
    if let Err(e) = result {
        // Take back what this attempt wrote, unless a newer attempt has the job (retried
        // at once, or taken over): that one resumes after the same checkpoint instead.
        // The batches were fenced, so `cp` is exactly what this attempt committed; it stays
        // in the checkpoint, marked, until taken back, so a stop meanwhile loses nothing.
        let dest_kept = sheet::exists(conn, dest.sheet.seq)?;
        let marked = Checkpoint {
            taking_back: true,
            ..cp.clone()
        };
        let marked_text =
            (dest_kept && !cp.written.is_empty()).then(|| serde_json::to_string(&marked).unwrap_or_default());
        if job::release_checkpoint(conn, job, |_| marked_text)?.is_some() && dest_kept {
            take_back(cx, conn, job, &marked)?;
            if matches!(e, JobError::Lost) {
                super::say_after_end(cx, conn, job, &taken_back_words(&cp));
            }
        }
        // A write into a sheet deleted meanwhile fails as a database error: say what happened.
        if !dest_kept && !matches!(e, JobError::Lost) {
            return Err(destination_gone(&sheets));
        }
        return Err(e);
    }
    // Its first searches and sorts should not wait for indexes.
    cx.indexer
        .after_load(&cx.pool, dest.sheet.seq, dest.config.fields.len(), cp.processed);
    Ok(())
}

/// The job's sheets, its plan resolved on them, and the destination's context.
fn prepare(
    conn: &mut AnyConnection,
    job: &Job,
    config: &Value,
) -> Result<(plan::Sheets, plan::Resolved, SheetContext), JobError> {
    let sheets = plan::sheets_of_job(conn, job, config)?;
    let resolved = plan::resolve(&plan::stored(job.plan.as_deref()), &sheets)?;
    if resolved.columns.iter().all(Option::is_none) {
        return Err(JobError::Failed(
            "the plan maps no column to a field; map at least one".into(),
        ));
    }
    let dest = sheet::load_context(conn, &job.environment_id, &sheets.destination.id)?;
    Ok((sheets, resolved, dest))
}

/// Completes the job and remembers the mapping; one canceled meanwhile (after the last
/// batch) is lost, so what it wrote is taken back like during a batch.
fn complete(
    conn: &mut AnyConnection,
    job: &Job,
    worker: &str,
    sheets: &plan::Sheets,
    resolved: &plan::Resolved,
    cp: &Checkpoint,
    hooked: bool,
) -> Result<(), JobError> {
    // What the person does next depends on how many need fixing.
    let errors = record::count_invalid_in_ranges(conn, sheets.destination.seq, &cp.written)?;
    let how = match errors {
        _ if cp.processed == 0 => String::new(),
        0 => ", all valid".to_string(),
        1 => ": 1 has errors to fix".to_string(),
        n => format!(": {} have errors to fix", crate::extract::thousands(n as u64)),
    };
    // A sheet whose changes the team's record hook checks: its word comes after this one
    // (probe 62d D4: "all valid", then 40% in error).
    let hook = match hooked && cp.processed > 0 {
        true => " (as Wharf checks them; your team's record hook checks them next)",
        false => "",
    };
    let message = format!(
        "Mapped {} into {}{how}{}{hook}",
        match cp.processed {
            1 => "1 record".to_string(),
            n => format!("{} records", crate::extract::thousands(n as u64)),
        },
        sheets.destination.name,
        warned_words(cp, &sheets.destination_config)
    );
    let outcome = json!({
        "message": message,
        "next": {"type": "id", "id": sheets.destination.workbook_id, "label": "Open sheet"},
        "warnedRecords": cp.warned_records,
    });
    super::complete(conn, job, worker, outcome, "Mapping complete")?;
    // Only a mapping that went through is remembered.
    mapping_memory::remember(
        conn,
        &sheets.destination.id,
        &plan::fingerprint(&sheets.source_config),
        &resolved.remembered,
    )?;
    Ok(())
}

/// What the result says of the records written with a warning: `; 4 have warnings to
/// check: Signup Date (4)`, fields in the sheet's order.
fn warned_words(cp: &Checkpoint, config: &crate::blueprint::SheetConfig) -> String {
    let fields: Vec<String> = config
        .fields
        .iter()
        .filter_map(|f| Some(format!("{} ({})", f.display_name(), cp.warned.get(&f.key)?)))
        .collect();
    match cp.warned_records {
        0 => String::new(),
        1 => format!("; 1 has a warning to check: {}", fields.join(", ")),
        n => format!("; {n} have warnings to check: {}", fields.join(", ")),
    }
}

/// Maps the source's records in three steps running at once, each on a thread of its own:
/// a reader reads and maps the next batch, a checker checks the one before, and this
/// thread writes the one before that. Each hands on one batch at a time, so at most three
/// are in memory. The reader takes a pooled connection for each batch only, so a mapping
/// holds one connection for long, as other jobs do.
#[allow(clippy::too_many_arguments)]
fn map_batches(
    cx: &super::Context,
    conn: &mut AnyConnection,
    job: &Job,
    sheets: &plan::Sheets,
    resolved: &plan::Resolved,
    dest: &SheetContext,
    cp: &mut Checkpoint,
    progress: &mut Progress,
) -> Result<bool, JobError> {
    progress.report(conn, 1, "Mapping records")?;
    let (source, start, upto) = (sheets.source.seq, cp.after, cp.upto.unwrap_or(i64::MAX));
    let stored = &stored_dates(sheets);
    // Set once writing stops: a reader waiting for a connection gives up at once.
    let stopped = &std::sync::atomic::AtomicBool::new(false);
    // The source columns the plan reads, for the writer to see them move.
    let columns = resolved.columns.clone();
    // The reader's own copy: its translations of unseen enum values are a cache.
    let resolved = resolved.clone();
    let finished = std::thread::scope(|scope| {
        let (read_tx, read_rx) = std::sync::mpsc::sync_channel::<Result<Batch, JobError>>(0);
        let (checked_tx, checked_rx) = std::sync::mpsc::sync_channel(0);
        let reading = scope.spawn(move || {
            let mut after = start;
            loop {
                let next = match read_connection(&cx.pool, stopped)
                    .and_then(|mut conn| next_batch(&mut conn, (source, stored), (after, upto), &resolved))
                {
                    Ok(Some(b)) => b,
                    // The end: dropping the sender tells the checker, and it the writer.
                    Ok(None) => return,
                    Err(e) => {
                        let _ = read_tx.send(Err(e));
                        return;
                    }
                };
                after = next.last;
                // The writer gone (it stopped or failed) ends the reader too.
                if read_tx.send(Ok(next)).is_err() {
                    return;
                }
            }
        });
        let kept = cp.readings.clone().unwrap_or_default();
        let readings: Vec<crate::validate::Reading> = dest
            .config
            .fields
            .iter()
            .map(|f| kept.get(&f.key).copied().unwrap_or_default())
            .collect();
        let checking = scope.spawn(move || {
            for batch in read_rx {
                let checked = batch.map(|mut b| {
                    let inputs = std::mem::take(&mut b.inputs);
                    let mut prepared = record::prepare_read(dest, inputs, &readings);
                    prepared.keep_uploaded(std::mem::take(&mut b.uploaded));
                    b.warned = prepared.warnings();
                    (b, prepared)
                });
                if checked_tx.send(checked).is_err() {
                    return;
                }
            }
        });
        // `checked_rx` is moved in: once writing stops, for whatever reason, the checker's
        // and then the reader's next hand-over fails and they end.
        let written = write_batches(cx, conn, job, (sheets, &columns), dest, cp, progress, checked_rx);
        stopped.store(true, std::sync::atomic::Ordering::Relaxed);
        // A reader or checker that panicked closed its channel as the end would: the
        // mapping is then not complete.
        if reading.join().is_err() || checking.join().is_err() {
            return Err(JobError::Internal(anyhow::anyhow!(
                "reading or checking a batch panicked"
            )));
        }
        written
    })?;
    // A deleted source reads as one with no more records: say so rather than complete.
    if finished && !sheet::exists(conn, sheets.source.seq)? {
        return Err(source_gone(sheets));
    }
    Ok(finished)
}

/// A pooled connection for the reader: a busy pool delays the mapping (a minute at most)
/// rather than failing it, unless writing has stopped meanwhile.
fn read_connection(
    pool: &crate::db::Pool,
    stopped: &std::sync::atomic::AtomicBool,
) -> Result<crate::db::PooledConn, JobError> {
    let started = std::time::Instant::now();
    loop {
        match pool.get_timeout(std::time::Duration::from_secs(1)) {
            Ok(conn) => return Ok(conn),
            Err(_) if stopped.load(std::sync::atomic::Ordering::Relaxed) => return Err(JobError::Lost),
            Err(e) if started.elapsed() > std::time::Duration::from_secs(60) => {
                return Err(JobError::Internal(anyhow::anyhow!(
                    "no connection to read the source: {e}"
                )))
            }
            Err(_) => {}
        }
    }
}

/// Writes the checked batches as they come, each in a transaction with the job's
/// checkpoint, until the checker's channel closes.
#[allow(clippy::too_many_arguments)]
fn write_batches(
    cx: &super::Context,
    conn: &mut AnyConnection,
    job: &Job,
    (sheets, columns): (&plan::Sheets, &[Option<usize>]),
    dest: &SheetContext,
    cp: &mut Checkpoint,
    progress: &mut Progress,
    checked: std::sync::mpsc::Receiver<Result<(Batch, record::Prepared), JobError>>,
) -> Result<bool, JobError> {
    let actor = job.created_by.as_str();
    let total = sheets.source.total_count.max(1);
    let read_keys = keys_read(&sheets.source.config, columns);
    for item in checked {
        let (batch, prepared) = item?;
        let mut next = cp.clone();
        let wrote = progress.fenced(conn, |conn| {
            // A lock taken meanwhile stops a person's or guest's import.
            let fresh = sheet::relock_fresh(conn, dest)?;
            super::delete::stop_if_refused(conn, &fresh, actor, || "and took back the records it had mapped".into())?;
            // The batch was checked against the destination's fields: changed since, it is
            // not written, and the attempt goes on from here with the fields as they are
            // (probe 74b D1: a field added failed a running import). (Another sheet of the
            // workbook changing changes nothing here.)
            if fresh.config.json["fields"] != dest.config.json["fields"] {
                return Ok(None);
            }
            // The source is read by column position: a field added or removed before a
            // column the plan reads, or in its place, since this attempt started moves
            // values to other columns. (The change commits before the reader reads on
            // under it, so this write sees it.)
            let source_now = sheet::config_of(conn, sheets.source.seq)?;
            if source_now.is_some_and(|now| keys_read(&now, columns) != read_keys) {
                return Err(JobError::Failed(format!(
                    "the fields of the source sheet {} changed while it was being mapped; the records mapped were taken back: start the import again",
                    sheets.source.name
                )));
            }
            let written = record::insert_prepared(conn, &fresh, prepared, actor, &Hooks::Run)?;
            next.after = batch.last;
            next.processed += batch.count;
            next.add_warned(&batch.warned, &dest.config);
            next.add_written(written.rows.iter().map(|r| r.id));
            record::drop_elsewhere(written.rows);
            let changes = JobChanges {
                checkpoint: Some(Some(serde_json::to_string(&next).unwrap_or_default())),
                ..Default::default()
            };
            job::change(conn, &job.id, changes, None, actor)?;
            Ok(Some(written.also_changed))
        })?;
        let Some(also_changed) = wrote else {
            return Ok(false);
        };
        *cp = next;
        cx.announce.sheet_changed(&dest.sheet.id);
        for sheet in &also_changed {
            cx.announce.sheet_changed(sheet);
        }
        let percent = 1 + (cp.processed * 98 / total).min(98) as i32;
        progress.report(conn, percent, "Mapping records")?;
    }
    Ok(true)
}

/// The keys a stored source config has at the columns the plan reads: a field added after
/// them moves no value; one added or removed before them, or in their place, does.
fn keys_read(config: &str, columns: &[Option<usize>]) -> Vec<Value> {
    let config: Value = serde_json::from_str(config).unwrap_or_default();
    columns
        .iter()
        .flatten()
        .map(|&c| config["fields"][c]["key"].clone())
        .collect()
}

fn source_gone(sheets: &plan::Sheets) -> JobError {
    JobError::Failed(format!(
        "the source sheet {} was deleted while it was being mapped; the records mapped from it were taken back",
        sheets.source.name
    ))
}

fn destination_gone(sheets: &plan::Sheets) -> JobError {
    JobError::Failed(format!(
        "the destination sheet {} was deleted while records were being mapped into it",
        sheets.destination.name
    ))
}

/// Source records mapped onto the destination's fields: the last source id, how many.
struct Batch {
    last: i64,
    count: i64,
    inputs: Vec<Vec<Value>>,
    /// Per record, the uploads of the cells whose enum values the plan translated.
    uploaded: Vec<Vec<(usize, Value)>>,
    /// Set once checked: see [`record::Prepared::warnings`].
    warned: Warned,
}

/// Records with a warning, and cells with one by field index.
type Warned = (i64, std::collections::BTreeMap<usize, i64>);

/// The source's date fields: their stored dates are mapped, not the input they were read
/// from, which a mapping would read again by other rows (a typed sheet's `01/02/2024`,
/// read as 1 February beside `25/12/2024`, became 2 January).
pub(super) fn stored_dates(sheets: &plan::Sheets) -> Vec<usize> {
    let fields = &sheets.source_config.fields;
    (0..fields.len())
        .filter(|&i| matches!(fields[i].field_type, crate::blueprint::FieldType::Date))
        .collect()
}

/// The next [`BATCH`] source records after `after` up to `upto`, mapped; `None` at the end.
fn next_batch(
    conn: &mut AnyConnection,
    (source_seq, stored): (i64, &[usize]),
    after_upto: (i64, i64),
    resolved: &plan::Resolved,
) -> Result<Option<Batch>, JobError> {
    let rows = record::inputs_after(conn, source_seq, after_upto, BATCH as i64, stored)?;
    let Some(last) = rows.last().map(|(id, _)| *id) else {
        return Ok(None);
    };
    // Per destination field: whether it is its source column's last use (then moved).
    let columns = &resolved.columns;
    let moves: Vec<bool> = (0..columns.len())
        .map(|di| !columns[di + 1..].contains(&columns[di]))
        .collect();
    let count = rows.len() as i64;
    let (inputs, uploaded) = rows
        .into_iter()
        .map(|(_, inputs)| map_row(inputs, resolved, &moves))
        .unzip();
    Ok(Some(Batch {
        last,
        count,
        inputs,
        uploaded,
        warned: Default::default(),
    }))
}

fn checkpoint_of(job: &Job) -> Checkpoint {
    job.checkpoint
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

/// Deletes the records a stopped attempt wrote (`cp`, marked `takingBack` in the job's
/// checkpoint), keeping the checkpoint to what is left after each batch and clearing it at
/// the end.
fn take_back(
    cx: &super::Context,
    conn: &mut AnyConnection,
    job: &Job,
    cp: &Checkpoint,
) -> Result<(), JobError> {
    let config: Value = serde_json::from_str(&job.config).unwrap_or_default();
    let Some(dest) = config["destinationSheetId"]
        .as_str()
        .and_then(crate::ids::SheetId::parse)
    else {
        return Ok(());
    };
    let left_in = |conn: &mut AnyConnection, left: &[RecordId]| {
        let mut rest = Checkpoint {
            taking_back: true,
            ..Checkpoint::default()
        };
        rest.add_written(left.iter().map(|r| r.0));
        super::take_back::set_checkpoint(conn, job, Some(serde_json::to_string(&rest).unwrap_or_default()))
    };
    super::take_back::delete_records(
        conn,
        &job.environment_id,
        &dest,
        &cp.written_ids(),
        &job.created_by,
        left_in,
    )?;
    super::take_back::set_checkpoint(conn, job, None)?;
    cx.announce.sheet_changed(&dest);
    Ok(())
}

/// A job found stopped, its checkpoint marked for taking back (in one statement that a
/// retry meanwhile makes miss: the retry then takes back itself); `None` when it was not
/// this caller's to mark.
pub(super) fn marked_for_take_back(conn: &mut AnyConnection, job: Job) -> Result<Option<Job>, JobError> {
    let cp = checkpoint_of(&job);
    if cp.taking_back {
        return Ok(Some(job));
    }
    use crate::db::schema::jobs;
    use diesel::prelude::*;
    let marked = serde_json::to_string(&Checkpoint {
        taking_back: true,
        ..cp
    })
    .unwrap_or_default();
    let changed = crate::db::write(conn, |conn| {
        diesel::update(
            jobs::table
                .find(&job.id)
                .filter(jobs::attempts.eq(job.attempts))
                .filter(jobs::status.eq(&job.status))
                .filter(jobs::checkpoint.eq(&job.checkpoint)),
        )
        .set(jobs::checkpoint.eq(Some(&marked)))
        .execute(conn)
    })?;
    Ok((changed == 1).then_some(Job {
        checkpoint: Some(marked),
        ..job
    }))
}

/// [`take_back`] of a job found stopped with records still to take back (its process
/// stopped first), and it says so.
pub(super) fn finish_take_back(
    cx: &super::Context,
    conn: &mut AnyConnection,
    job: &Job,
) -> Result<(), JobError> {
    let cp = checkpoint_of(job);
    take_back(cx, conn, job, &cp)?;
    super::say_after_end(cx, conn, job, &taken_back_words(&cp));
    Ok(())
}

/// What a stopped mapping's job says once the records it wrote are gone.
fn taken_back_words(cp: &Checkpoint) -> String {
    let n = cp.written_ids().len() as u64;
    format!(
        "Stopped: took back the {} it had mapped",
        crate::words::records(n)
    )
}
