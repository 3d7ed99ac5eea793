//! Files: what was uploaded into a space. The bytes are in storage under `storage_key`;
//! this row tracks the file through Flatfile's statuses (partial, analyzing, complete,
//! failed, archived) and points at the `[file]` workbook extracted from it.

use super::event::{self, Context};
use super::{job, now, ModelError, ModelResult};
use crate::db::schema::files;
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, FileId, SpaceId, WorkbookId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

// Where files' bytes are held, and deletes handed over to their holder.
pub use super::file_holders::*;

/// Flatfile's file statuses that Wharf uses.
pub mod status {
    pub const PARTIAL: &str = "partial";
    pub const ANALYZING: &str = "analyzing";
    pub const COMPLETE: &str = "complete";
    pub const FAILED: &str = "failed";
    pub const ARCHIVED: &str = "archived";
    /// Its bytes are gone (a delete that stopped half-way).
    pub const PURGED: &str = "purged";
    /// Every status a client may set.
    pub const ALL: [&str; 7] = [PARTIAL, ANALYZING, "analyzed", COMPLETE, ARCHIVED, PURGED, FAILED];
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = files)]
pub struct File {
    pub id: FileId,
    pub environment_id: EnvironmentId,
    pub space_id: SpaceId,
    pub workbook_id: Option<WorkbookId>,
    pub name: String,
    pub ext: String,
    pub mimetype: String,
    pub encoding: String,
    pub status: String,
    pub mode: String,
    pub size: i64,
    pub bytes_received: i64,
    pub sha256: String,
    pub storage_key: String,
    pub actions: String,
    pub origin: Option<String>,
    /// Why extraction failed, in words for the uploader.
    pub message: Option<String>,
    pub reject_count: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Without a bucket, the data folder holding the bytes ([`crate::storage::Storage::holder`]).
    pub held_by: Option<String>,
    /// Who uploaded it (a user, key or guest id).
    pub created_by: Option<String>,
}

impl File {
    /// Whether the bytes are in another process's data folder than `here`'s.
    pub fn held_elsewhere(&self, here: Option<&str>) -> bool {
        self.held_by.as_deref().is_some_and(|h| Some(h) != here)
    }

    /// Where the rows that could not be read are kept, as CSV.
    pub fn rejects_key(&self) -> String {
        format!("{}.rejects.csv", self.storage_key)
    }
}

/// The storage key of a file's bytes.
pub fn storage_key(id: &FileId) -> String {
    format!("files/{id}")
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = files)]
pub struct NewFile {
    pub id: FileId,
    pub environment_id: EnvironmentId,
    pub space_id: SpaceId,
    pub workbook_id: Option<WorkbookId>,
    pub name: String,
    pub ext: String,
    pub mimetype: String,
    pub encoding: String,
    pub status: String,
    pub mode: String,
    pub size: i64,
    pub bytes_received: i64,
    pub sha256: String,
    pub storage_key: String,
    pub actions: String,
    pub origin: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub held_by: Option<String>,
    pub created_by: Option<String>,
}

#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = files)]
pub struct FileChanges {
    pub name: Option<String>,
    /// Follows the name (lower case, without the dot).
    pub ext: Option<String>,
    pub workbook_id: Option<Option<WorkbookId>>,
    pub status: Option<String>,
    pub mode: Option<String>,
    pub actions: Option<String>,
    pub message: Option<Option<String>>,
    pub reject_count: Option<i64>,
    pub updated_at: Option<NaiveDateTime>,
}

fn context(f: &File, actor: &str) -> Context {
    Context::new(&f.environment_id, actor)
        .space(&f.space_id)
        .file(&f.id)
}

/// Records an uploaded file and, for an import Wharf extracts itself (`extract`), the
/// extract job that runs at once; one transaction, so there is never a file without its job.
pub fn create(
    conn: &mut AnyConnection,
    new: NewFile,
    extract: bool,
    actor: &str,
) -> ModelResult<(File, Option<job::Job>)> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        super::space::hold_to_add(conn, std::slice::from_ref(&new.space_id))?;
        diesel::insert_into(files::table).values(&new).execute(conn)?;
        let f = get(conn, &new.id)?;
        event::emit(
            conn,
            &context(&f, actor),
            "file:created",
            json!({"fileId": f.id, "status": f.status, "name": f.name}),
        )?;
        let job = if f.mode == "import" && extract {
            let input = job::JobInput {
                job_type: "file".into(),
                operation: "extract".into(),
                source: f.id.to_string(),
                file_id: Some(f.id.clone()),
                status: job::status::READY.into(),
                trigger: "immediate".into(),
                managed: true,
                ..job::JobInput::new(&f.environment_id, Some(&f.space_id))
            };
            Some(job::create(conn, input, actor)?)
        } else {
            None
        };
        Ok((f, job))
    })
}

/// Whether `actor` uploaded the file: a guest deletes only its own uploads, not the
/// team's files of its space.
pub fn uploaded_by(conn: &mut AnyConnection, id: &FileId, actor: &str) -> QueryResult<bool> {
    Ok(!uploaded_among(conn, std::slice::from_ref(id), actor)?.is_empty())
}

/// The newest extraction of each of some files (an import into a sheet is a job of the
/// file too, shown on its own page).
pub fn latest_extractions(
    conn: &mut AnyConnection,
    files: &[FileId],
) -> QueryResult<std::collections::HashMap<FileId, crate::model::job::Job>> {
    use crate::db::schema::jobs;
    use crate::model::job::Job;
    let rows: Vec<Job> = jobs::table
        .filter(jobs::file_id.eq_any(files))
        .filter(jobs::job_type.eq("file"))
        .filter(jobs::operation.eq("extract"))
        .order((jobs::created_at.asc(), jobs::id.asc()))
        .select(Job::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|j| j.file_id.clone().map(|f| (f, j)))
        .collect())
}

/// A guest deletes only the files it uploaded: the team's uploads and exports in its space,
/// and the workbooks made from them, are the team's.
pub fn refuse_guest_delete(conn: &mut AnyConnection, f: &File, guest: bool, actor: &str) -> ModelResult<()> {
    match !guest || uploaded_by(conn, &f.id, actor)? {
        true => Ok(()),
        false => Err(ModelError::Forbidden(
            "a guest deletes only the files it uploaded: ask the team that invited you".into(),
        )),
    }
}

/// Which of the files `ids` `actor` uploaded (see [`uploaded_by`]).
pub fn uploaded_among(conn: &mut AnyConnection, ids: &[FileId], actor: &str) -> QueryResult<Vec<FileId>> {
    files::table
        .filter(files::id.eq_any(ids))
        .filter(files::created_by.eq(actor))
        .select(files::id)
        .load(conn)
}

/// Whether a file's extraction is still writing into `workbook`.
pub fn extracting_into(conn: &mut AnyConnection, workbook: &WorkbookId) -> QueryResult<bool> {
    use crate::db::schema::jobs;
    if let AnyConnection::Postgres(pg) = conn {
        // Waits for a new extraction claiming the file right now (it holds the file's row
        // from its check of running mappings to its claim), so one of the two sees the
        // other (probe 66g D4: started at one moment, both ran, and the mapping lost its
        // records when the extraction replaced its workbook).
        files::table
            .filter(files::workbook_id.eq(workbook))
            .select(files::id)
            .for_no_key_update()
            .load::<String>(pg)?;
    }
    let claimed = jobs::table
        .filter(jobs::id.nullable().eq(files::extracting_job))
        .filter(jobs::status.eq_any([super::job::status::READY, super::job::status::EXECUTING]));
    diesel::select(diesel::dsl::exists(
        files::table.filter(files::workbook_id.eq(workbook)).filter(
            files::status
                .eq(status::ANALYZING)
                .or(diesel::dsl::exists(claimed)),
        ),
    ))
    .get_result(conn)
}

pub fn get(conn: &mut AnyConnection, id: &FileId) -> QueryResult<File> {
    files::table.find(id).select(File::as_select()).first(conn)
}

/// A file whose extraction was canceled before it started says so, as one canceled while
/// running does (`failed`, "the extraction was canceled"), instead of reading `partial`
/// for good. A file extracted before keeps what it says.
pub fn extraction_canceled(conn: &mut AnyConnection, id: &FileId, actor: &str) -> ModelResult<()> {
    match get(conn, id).optional()? {
        Some(f) if f.status == status::PARTIAL => {
            let changes = FileChanges {
                status: Some(status::FAILED.into()),
                message: Some(Some("the extraction was canceled".into())),
                ..Default::default()
            };
            update(conn, id, changes, actor).map(|_| ())
        }
        _ => Ok(()),
    }
}

pub fn find(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    id: &FileId,
) -> QueryResult<Option<File>> {
    files::table
        .filter(files::environment_id.eq(environment_id))
        .filter(files::id.eq(id))
        .select(File::as_select())
        .first(conn)
        .optional()
}

/// Which files to list, oldest first.
#[derive(Debug, Default)]
pub struct Filter {
    pub space_id: Option<SpaceId>,
    /// A guest's spaces: files of other spaces are left out.
    pub only_spaces: Option<Vec<SpaceId>>,
    pub mode: Option<String>,
    /// Newest first (the Files tab), else oldest first (the API, as Flatfile's).
    pub newest_first: bool,
    pub page_size: i64,
    pub page_number: i64,
}

/// A page of files and the total.
pub fn list(
    conn: &mut AnyConnection,
    environment_id: &EnvironmentId,
    f: &Filter,
) -> QueryResult<(Vec<File>, i64)> {
    let base = || {
        let mut q = files::table
            .filter(files::environment_id.eq(environment_id.clone()))
            .into_boxed();
        if let Some(space) = &f.space_id {
            q = q.filter(files::space_id.eq(space.clone()));
        }
        if let Some(spaces) = &f.only_spaces {
            q = q.filter(files::space_id.eq_any(spaces.clone()));
        }
        if let Some(mode) = &f.mode {
            q = q.filter(files::mode.eq(mode.clone()));
        }
        q
    };
    let total: i64 = base().count().get_result(conn)?;
    let q = base();
    let q = if f.newest_first {
        q.order((files::created_at.desc(), files::id.desc()))
    } else {
        q.order((files::created_at.asc(), files::id.asc()))
    };
    let items = q
        .limit(f.page_size)
        .offset((f.page_number - 1).saturating_mul(f.page_size))
        .select(File::as_select())
        .load(conn)?;
    Ok((items, total))
}

/// Applies changes and writes `file:updated` with the status and workbook.
pub fn update(
    conn: &mut AnyConnection,
    id: &FileId,
    mut changes: FileChanges,
    actor: &str,
) -> ModelResult<File> {
    if let Some(s) = &changes.status {
        if !status::ALL.contains(&s.as_str()) {
            return Err(ModelError::Invalid(vec![(
                "status".into(),
                format!(
                    "`{s}` is not a file status; use one of {}",
                    status::ALL.join(", ")
                ),
            )]));
        }
    }
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        // Its space first, as the space's deletion takes them (see `space::hold`).
        hold_space_of(conn, id)?;
        changes.updated_at = Some(now());
        diesel::update(files::table.find(id))
            .set(&changes)
            .execute(conn)?;
        let f = get(conn, id)?;
        event::emit(
            conn,
            &context(&f, actor),
            "file:updated",
            json!({"fileId": f.id, "status": f.status, "workbookId": f.workbook_id}),
        )?;
        Ok(f)
    })
}

/// What a file says while a delete takes its bytes, and after, if the delete was cut off
/// before its rows went.
pub const DELETING: &str =
    "Deleted in part: a delete of this file (or its space) was cut off after its bytes went; delete it again to finish";

/// Marks a file whose bytes a delete is about to take as `purged`, saying why, so a stop
/// between the bytes and the rows (kill -9) leaves a file that tells the truth, not one
/// listed `complete` without bytes (probe 68d D3). Returns its status and message before,
/// for [`unmark_deleting`] when its bytes stayed. No event: the delete's comes next.
pub fn mark_deleting(conn: &mut AnyConnection, id: &FileId) -> QueryResult<Option<(String, Option<String>)>> {
    crate::db::write_tx(conn, |conn| {
        hold_space_of(conn, id)?;
        let before: Option<(String, Option<String>)> = files::table
            .find(id)
            .select((files::status, files::message))
            .first(conn)
            .optional()?;
        if before.is_some() {
            diesel::update(files::table.find(id))
                .set((files::status.eq(status::PURGED), files::message.eq(DELETING)))
                .execute(conn)?;
        }
        Ok(before)
    })
}

/// Puts back what a file said before [`mark_deleting`]: its bytes stayed.
pub fn unmark_deleting(
    conn: &mut AnyConnection,
    id: &FileId,
    before: (String, Option<String>),
) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        diesel::update(files::table.find(id).filter(files::message.eq(DELETING)))
            .set((files::status.eq(before.0), files::message.eq(before.1)))
            .execute(conn)
    })?;
    Ok(())
}

/// Holds the space of a file, if the file is still there (see `space::hold`): a write that
/// then locks the file's row cannot deadlock with the space's deletion.
pub fn hold_space_of(conn: &mut AnyConnection, id: &FileId) -> QueryResult<()> {
    if crate::db::backend_of(conn) != crate::db::Backend::Postgres {
        return Ok(());
    }
    let space: Option<SpaceId> = files::table
        .find(id)
        .select(files::space_id)
        .first(conn)
        .optional()?;
    super::space::hold(conn, &space.into_iter().collect::<Vec<_>>())
}

/// Whether `wb` is a workbook the file's extraction made: labelled `file` and naming the
/// file in its metadata, as Wharf's extraction writes them; or labelled `file`, naming no
/// file, and linked by this file's `workbookId` alone, as listener extractors make them
/// (`@flatfile/util-extractor`: "so if the extraction fails and the file is deleted, the
/// workbook is also deleted"; probe 67b D1), made after the file. Not whatever
/// `workbookId` points at (a listener, or a client, may point it at any workbook of the
/// space).
fn made_by(conn: &mut AnyConnection, f: &File, wb: &crate::model::workbook::Workbook) -> QueryResult<bool> {
    let labels: Vec<String> = serde_json::from_str(&wb.labels).unwrap_or_default();
    let metadata: serde_json::Value = serde_json::from_str(&wb.metadata).unwrap_or_default();
    if !labels.iter().any(|l| l == "file") {
        return Ok(false);
    }
    match &metadata["fileId"] {
        // Made after the file, as an extractor makes it: a team's workbook that was there
        // before is not the file's, whatever it is labelled (probe 67e D3).
        serde_json::Value::Null
            if f.workbook_id.as_ref() == Some(&wb.id) && wb.created_at >= f.created_at =>
        {
            let others = files::table
                .filter(files::workbook_id.eq(&wb.id))
                .filter(files::id.ne(&f.id));
            Ok(!diesel::select(diesel::dsl::exists(others)).get_result::<bool>(conn)?)
        }
        named => Ok(named == f.id.as_str()),
    }
}

/// A person's delete of a sheet of a workbook a file's extraction made is refused: the
/// file goes with its sheets, or the whole workbook goes and the file no longer points at
/// it (probe 69b D6: the file said complete with nothing left to read; probe 70a D2: a
/// team's workbook a file was pointed at is not one).
pub fn refuse_extracted(conn: &mut AnyConnection, wb: &crate::model::workbook::Workbook) -> ModelResult<()> {
    let naming: Vec<File> = files::table
        .filter(files::workbook_id.eq(&wb.id))
        .select(File::as_select())
        .load(conn)?;
    for f in &naming {
        if made_by(conn, f, wb)? {
            return Err(ModelError::Invalid(vec![(
                "sheet".into(),
                format!(
                    "this sheet holds what the file {} was read into: delete the file, or its whole workbook, to remove it",
                    f.name
                ),
            )]));
        }
    }
    Ok(())
}

/// A person's delete of a file whose workbook has a locked sheet is refused, as a delete
/// of its records is: while a sheet is locked only secret keys change it.
pub fn refuse_locked(conn: &mut AnyConnection, f: &File, actor: &str) -> ModelResult<()> {
    for wb in crate::model::workbook::list_in_space(conn, &f.space_id)? {
        if made_by(conn, f, &wb)? {
            crate::model::workbook::refuse_locked(conn, &wb, actor)?;
        }
    }
    Ok(())
}

/// Deletes the row (the caller deletes the bytes) and the `[file]` workbook its extraction
/// made, with its records (as Flatfile does: a person deleting an upload expects its rows
/// gone, not a copy left in the space linked to nothing), and writes `file:deleted`.
///
/// `here` is the deleting process's data folder ([`crate::storage::Storage::holder`]): bytes
/// held in another's are handed over to it ([`hand_over`]) with the row's delete.
pub fn delete(conn: &mut AnyConnection, f: &File, actor: &str, here: Option<&str>) -> ModelResult<()> {
    crate::db::write_tx::<_, ModelError, _>(conn, |conn| {
        // Its space first, as the space's deletion takes them (see `space::hold`).
        super::space::hold(conn, std::slice::from_ref(&f.space_id))?;
        // Again here, in the delete's own transaction: a lock taken since the check
        // before the bytes went still keeps its sheet.
        refuse_locked(conn, f, actor)?;
        // The row first: of two deletes at once, the second waits for it and then finds
        // nothing to delete (and says nothing: `file:deleted` went out once).
        if diesel::delete(files::table.find(&f.id)).execute(conn)? == 0 {
            return Ok(());
        }
        hand_over(conn, std::slice::from_ref(f), here)?;
        for wb in crate::model::workbook::list_in_space(conn, &f.space_id)? {
            if made_by(conn, f, &wb)? {
                crate::model::workbook::delete(conn, &wb, actor)?;
            }
        }
        event::emit(conn, &context(f, actor), "file:deleted", json!({"fileId": f.id}))?;
        Ok(())
    })
}

/// How many files each of some spaces holds.
pub fn count_by_space(
    conn: &mut AnyConnection,
    spaces: &[SpaceId],
) -> QueryResult<std::collections::HashMap<SpaceId, i64>> {
    let rows: Vec<(SpaceId, i64)> = files::table
        .filter(files::space_id.eq_any(spaces))
        .group_by(files::space_id)
        .select((files::space_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// The files of a space, oldest first.
pub fn in_space(conn: &mut AnyConnection, space_id: &SpaceId) -> QueryResult<Vec<File>> {
    files::table
        .filter(files::space_id.eq(space_id))
        .order((files::created_at, files::id))
        .select(File::as_select())
        .load(conn)
}
