//! What a new job may be and who may start it: its `type`, `trigger`, `mode` and object
//! shapes (Flatfile's enums), the space its source lives in, and what a guest may start
//! (the actions its files, workbooks and sheets offer, judged again at every start).

use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, FileId, SheetId, SpaceId, WorkbookId};
use crate::model::job::{Job, JobChanges, JobInput};
use crate::model::{file, sheet, space, workbook, ModelError, ModelResult};
use crate::web::error::AppError;
use serde::Deserialize;
use serde_json::{json, Value};

pub(super) const TYPES: [&str; 9] = [
    "file",
    "workbook",
    "sheet",
    "space",
    "document",
    "app",
    "agent",
    "autobuild",
    "onboarding",
];

/// Flatfile's `Trigger` and `JobMode`.
pub(super) const TRIGGERS: [&str; 2] = ["manual", "immediate"];
pub(super) const MODES: [&str; 4] = ["foreground", "background", "toolbarBlocking", "hidden"];

pub(super) fn one_of(key: &str, given: &str, allowed: &[&str]) -> Result<(), AppError> {
    if allowed.contains(&given) {
        return Ok(());
    }
    Err(AppError::invalid(
        key,
        format!("`{given}` is not a {key}; use one of: {}", allowed.join(", ")),
    ))
}

/// A config or metadata: an object, `{}` when left out or null.
pub(super) fn object_or_empty(key: &str, given: Option<Value>) -> Result<Value, AppError> {
    match given {
        None | Some(Value::Null) => Ok(json!({})),
        Some(v) if v.is_object() => Ok(v),
        Some(other) => {
            let kind = match other {
                Value::Array(_) => "a list",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                _ => "true or false",
            };
            Err(AppError::invalid(
                key,
                format!("{key} must be an object, not {kind}"),
            ))
        }
    }
}

/// The space a job's source lives in, checking the source is in the environment.
pub(super) fn source_space(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    job_type: &str,
    source: &str,
) -> ModelResult<Option<SpaceId>> {
    let missing = |what: &str| {
        ModelError::Invalid(vec![(
            "source".into(),
            format!("no {what} `{source}` in this environment"),
        )])
    };
    let not_an_id = |what: &str| {
        ModelError::Invalid(vec![(
            "source".into(),
            format!("`{source}` is not a {what} id; a {job_type} job's source is the id of a {what}"),
        )])
    };
    Ok(match job_type {
        "file" => match FileId::parse(source) {
            Some(id) => Some(
                file::find(conn, env, &id)?
                    .ok_or_else(|| missing("file"))?
                    .space_id,
            ),
            None => return Err(not_an_id("file")),
        },
        "workbook" => match WorkbookId::parse(source) {
            Some(id) => Some(
                workbook::find(conn, env, &id)?
                    .ok_or_else(|| missing("workbook"))?
                    .space_id,
            ),
            None => return Err(not_an_id("workbook")),
        },
        "sheet" => match SheetId::parse(source) {
            Some(id) => Some(sheet::find(conn, env, &id)?.ok_or_else(|| missing("sheet"))?.1),
            None => return Err(not_an_id("sheet")),
        },
        "space" => match SpaceId::parse(source) {
            Some(id) => Some(space::find(conn, env, &id)?.ok_or_else(|| missing("space"))?.id),
            None => return Err(not_an_id("space")),
        },
        "document" => match crate::ids::DocumentId::parse(source) {
            Some(id) => {
                Some(crate::model::document::space_of(conn, env, &id)?.ok_or_else(|| missing("document"))?)
            }
            None => return Err(not_an_id("document")),
        },
        _ => None,
    })
}

/// Checks a job's `destination` and `fileId` against its space (`space`). A destination
/// naming a workbook or sheet must be one of the environment's (404), and a guest's one of
/// the job's own space: listener code answering the job with the team's key acts on it. A
/// file must be of the job's space (422): its guests would otherwise see another space's
/// file on it.
pub(super) fn check_targets(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    space: Option<&SpaceId>,
    destination: Option<&str>,
    file: Option<&file::File>,
    guest: bool,
) -> ModelResult<()> {
    if let Some(text) = destination {
        let found = if let Some(id) = WorkbookId::parse(text) {
            Some(workbook::find(conn, env, &id)?.map(|w| w.space_id))
        } else {
            SheetId::parse(text)
                .map(|id| Ok::<_, diesel::result::Error>(sheet::find(conn, env, &id)?.map(|(_, sp)| sp)))
                .transpose()?
        };
        match found {
            Some(None) => return Err(ModelError::NotFound("destination")),
            Some(Some(dest)) if guest && Some(&dest) != space => {
                return Err(ModelError::NotFound("destination"))
            }
            None if guest => {
                return Err(ModelError::Invalid(vec![(
                    "destination".into(),
                    "a guest's job names a workbook or sheet of its space as its destination".into(),
                )]))
            }
            _ => {}
        }
    }
    if let (Some(f), Some(space)) = (file, space) {
        if &f.space_id != space {
            return Err(ModelError::Invalid(vec![(
                "fileId".into(),
                format!("the file {} is in another space than the job", f.id),
            )]));
        }
    }
    Ok(())
}

/// Wharf's own jobs a guest starts from the grid or an import, beside the actions.
const GUEST_BUILT_INS: [&str; 3] = crate::model::job_once::OWN_WORKBOOK_JOBS;

/// What a job starts: enough to judge whether a guest may start it.
pub(super) struct Start<'a> {
    job_type: &'a str,
    operation: &'a str,
    source: &'a str,
    config: &'a Value,
    subject: Option<&'a Value>,
    /// The action's input (none: not judged, as for a stored job run again).
    input: Option<&'a Value>,
}

impl<'a> From<&'a JobInput> for Start<'a> {
    fn from(input: &'a JobInput) -> Self {
        Start {
            job_type: &input.job_type,
            operation: &input.operation,
            source: &input.source,
            config: &input.config,
            subject: input.subject.as_ref(),
            input: Some(input.input.as_ref().unwrap_or(&Value::Null)),
        }
    }
}

impl<'a> From<&'a Job> for Start<'a> {
    fn from(j: &'a Job) -> Self {
        Start {
            job_type: &j.job_type,
            operation: &j.operation,
            source: &j.source,
            config: &Value::Null,
            subject: None,
            input: None,
        }
    }
}

/// A guest runs the actions of its spaces, held to what holds the button back (its
/// constraints, its error messages, records still being checked), and Wharf's own jobs
/// the grid starts; not a job the team never offered it (a Submit to a webhook of its
/// choosing, a space job its listener answers). Judged at each start: create, execute,
/// retry. Answers the action's `mode` (none: one of Wharf's own jobs).
pub(super) fn guest_may_start(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    start: &Start,
) -> ModelResult<Option<String>> {
    // Each refusal is a permission (403): what the team offers guests, not the input's shape.
    let refuse = |message: String| Err(ModelError::Forbidden(message));
    if start.job_type == "file" {
        // A file's actions, as the Files tab shows them to the guest.
        let id = FileId::parse(start.source).ok_or(ModelError::NotFound("file"))?;
        let f = file::find(conn, env, &id)?.ok_or(ModelError::NotFound("file"))?;
        return match crate::web::pages::action_now::judge_file(&f.actions, start.operation) {
            Some((a, None)) => Ok(Some(a.mode)),
            Some((a, Some(why))) => Err(ModelError::Conflict(format!("{} cannot run now: {why}", a.label))),
            None => refuse(format!(
                "this file offers no action `{}` for a guest to run",
                start.operation
            )),
        };
    }
    let scope: &'static str = match start.job_type {
        "workbook" => "workbook",
        "sheet" => "sheet",
        other => {
            return refuse(format!(
                "a guest starts the actions its files, workbooks and sheets offer, not {other} jobs"
            ))
        }
    };
    if scope == "workbook" && GUEST_BUILT_INS.contains(&start.operation) {
        // As the sheet's `access` lets people: import into it, delete or change records.
        let (key, what) = match start.operation {
            "map" => ("destinationSheetId", "import"),
            "delete-records" => ("sheet", "delete"),
            _ => ("sheet", "edit"),
        };
        let named = start
            .config
            .get(key)
            .and_then(|v| v.as_str())
            .and_then(SheetId::parse);
        if let Some((sheet, _)) = named.map(|id| sheet::find(conn, env, &id)).transpose()?.flatten() {
            let config = sheet.parsed_config()?;
            config.refuse_unless(what).map_err(ModelError::Forbidden)?;
            // Read-only and computed fields are the team's to change.
            let changed = start.config["changes"].as_array().into_iter().flatten();
            for key in changed.filter_map(|c| c["field"].as_str()) {
                if let Some(f) = config.fields.iter().find(|f| f.key == key && f.fixed()) {
                    return refuse(format!(
                        "{} is read-only: a guest cannot change it",
                        f.display_name()
                    ));
                }
            }
        }
        return Ok(None);
    }
    // Where a Submit goes is the action's to say (a listener's Submit names none).
    if let Some(given) = start.config.get("deliverTo").filter(|v| !v.is_null()) {
        let offered = crate::model::submission::action_slug(conn, env, start.job_type, start.source)?;
        if offered.as_deref() != given.as_str() {
            return refuse("where a Submit goes is its action's to say, not the guest's".into());
        }
    }
    let judged = crate::web::pages::action_now::judge_job(
        conn,
        env,
        scope,
        start.source,
        start.subject,
        start.operation,
        None,
    )?;
    match judged {
        Some((action, None)) => {
            if let Some(input) = start.input {
                crate::web::pages::grid_action_jobs::check_input(&action, input)
                    .map_err(|(key, why)| ModelError::Invalid(vec![(format!("input.{key}"), why)]))?;
            }
            Ok(Some(action.mode))
        }
        Some((action, Some(why))) => Err(ModelError::Conflict(format!(
            "{} cannot run now: {why}",
            action.label
        ))),
        None => refuse(format!(
            "this {scope} offers no action `{}` for a guest to run",
            start.operation
        )),
    }
}

/// [`guest_may_start`] for a stored job being executed or retried.
pub(crate) fn guest_may_restart(conn: &mut AnyConnection, j: &Job) -> ModelResult<Option<String>> {
    let config: Value = serde_json::from_str(&j.config).unwrap_or_default();
    let subject: Option<Value> = j.subject.as_deref().and_then(|s| serde_json::from_str(s).ok());
    let start = Start {
        config: &config,
        subject: subject.as_ref(),
        ..Start::from(j)
    };
    guest_may_start(conn, &j.environment_id, &start)
}

/// Whether a guest may run a stored job (execute or retry it): only one it made, judged
/// again as at its start. A job runs as whoever made it, so a guest starting the team's
/// job would write as the team (its history, its undo, past a lock that holds guests).
pub(crate) fn guest_may_rerun(conn: &mut AnyConnection, j: &Job, actor: &str) -> ModelResult<Option<String>> {
    if j.created_by != actor {
        let whose = match crate::ids::GuestId::parse(&j.created_by) {
            Some(_) => "another guest's",
            None => "the team's",
        };
        return Err(ModelError::Forbidden(format!(
            "a guest runs only the jobs it started; this one is {whose}"
        )));
    }
    guest_may_restart(conn, j)
}

/// Whether a guest may cancel a stored job: as [`guest_may_handle`], but not one of the
/// team's that Wharf runs (an import, a delete, a bulk change: stopped, it takes back what
/// it wrote). A team's action job stays its to cancel: a listener that stopped answering
/// would otherwise hold a foreground action's overlay over the workbook.
pub(crate) fn guest_may_cancel(conn: &mut AnyConnection, j: &Job, actor: &str) -> ModelResult<()> {
    if j.created_by != actor && crate::ids::GuestId::parse(&j.created_by).is_none() && j.is_built_in() {
        return Err(ModelError::Forbidden(format!(
            "a guest cannot stop the team's {}",
            j.name()
        )));
    }
    guest_may_handle(conn, j, actor)
}

/// Whether a guest may cancel a stored job or acknowledge its outcome: one it started, or
/// one it could start (an action its workbook or sheet offers guests, an import, delete or
/// bulk change), even while that action's button is off. A team's other jobs are not its
/// to stop.
pub(crate) fn guest_may_handle(conn: &mut AnyConnection, j: &Job, actor: &str) -> ModelResult<()> {
    if j.created_by == actor {
        return Ok(());
    }
    match guest_may_restart(conn, j) {
        Err(ModelError::Conflict(_)) => Ok(()),
        other => other.map(|_| ()),
    }
}

/// What a PATCH may change of a job: what a running job says of itself is its runner's,
/// Wharf's for its own jobs (probe 48b 5: a Submit's info and progress were made up), and
/// so is their config (50a F3: a Submit's new config made it a listener's job to
/// complete), but for a delete or bulk change's, checked as a new job's is, and a map's.
pub(super) fn refuse_or_check_change(
    conn: &mut AnyConnection,
    j: &Job,
    changes: &mut JobChanges,
    actor: &str,
) -> ModelResult<()> {
    let said = [
        ("status", changes.status.is_some()),
        ("info", changes.info.is_some()),
        ("progress", changes.progress.is_some()),
        ("estimatedCompletionAt", changes.estimated_completion_at.is_some()),
    ];
    if let Some((call, _)) = said.iter().find(|(_, given)| *given) {
        j.refuse_if_built_in(call)?;
    }
    let checked =
        j.job_type == "workbook" && matches!(j.operation.as_str(), "delete-records" | "bulk-change");
    let mapped = j.job_type == "workbook" && j.operation == "map";
    if changes.config.is_some() && !checked && !mapped {
        j.refuse_if_built_in("config")?;
    }
    // Wharf reads a job's config once it runs: a change after that would be kept and not
    // done, the job then saying what it did not (probe 51a F6).
    use crate::model::job::status::{CREATED, PLANNING};
    if (checked || mapped) && changes.config.is_some() && ![CREATED, PLANNING].contains(&j.status.as_str()) {
        return Err(ModelError::Conflict(format!(
            "the job is {}: its config can change only before it is ready to run (`created` or `planning`)",
            j.status
        )));
    }
    if let (true, Some(config)) = (checked, &changes.config) {
        let config: Value = serde_json::from_str(config).unwrap_or_default();
        let (ctx, _) = crate::jobs::delete::target(conn, &j.environment_id, &j.operation, &j.source, &config)
            .map_err(|m| ModelError::Invalid(vec![("config".into(), m)]))?;
        // Checked as a new job's config is: the changes it names, or the undo it may do.
        if j.operation == "bulk-change" {
            match config.get("undo") {
                None => {
                    crate::jobs::bulk_change::changes_of(&ctx, &config)
                        .map_err(|m| ModelError::Invalid(vec![("config.changes".into(), m)]))?;
                }
                Some(undo) => {
                    crate::jobs::bulk_change::may_undo(conn, &ctx, undo.as_str().unwrap_or_default(), actor)?;
                }
            }
        }
    }
    if mapped {
        map_config_change(conn, j, changes)?;
    }
    Ok(())
}

/// A new config for a mapping job (`PATCH /v1/jobs/{id}`): its sheets are checked as a new
/// job's are, and other sheets get a new plan, as the old one maps fields they may lack.
fn map_config_change(conn: &mut AnyConnection, j: &Job, changes: &mut JobChanges) -> ModelResult<()> {
    let Some(config) = &changes.config else {
        return Ok(());
    };
    let mut config: Value = serde_json::from_str(config).unwrap_or_default();
    let sheets = crate::jobs::plan::sheets_of_job(conn, j, &config)?;
    let before: Value = serde_json::from_str(&j.config).unwrap_or_default();
    let same = before["sourceSheetId"] == json!(sheets.source.id)
        && before["destinationSheetId"] == json!(sheets.destination.id);
    config["sourceSheetId"] = json!(sheets.source.id);
    config["destinationSheetId"] = json!(sheets.destination.id);
    changes.config = Some(config.to_string());
    if !same {
        changes.plan = Some(Some(crate::jobs::plan::initial(conn, &sheets)?.to_string()));
    }
    Ok(())
}

/// `estimatedCompletionAt`, with a message that names it and the form it takes.
pub(super) fn iso_time<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    chrono::DateTime::parse_from_rfc3339(&text)
        .map(|t| Some(t.with_timezone(&chrono::Utc)))
        .map_err(|_| {
            serde::de::Error::custom(format!(
                "estimatedCompletionAt `{text}` is not an ISO 8601 time such as 2026-12-01T18:00:00Z"
            ))
        })
}

/// What a cancel says on a job (`given`, or words of Wharf's own), or why it may not be
/// canceled.
pub(crate) fn cancel_info(j: &Job, given: Option<String>) -> ModelResult<Option<String>> {
    // Stopped halfway, a re-check would leave records checked against fields they no
    // longer have, and counts that call them valid.
    if j.job_type == "sheet" && j.operation == crate::model::sheet_fields::RECHECK {
        return Err(ModelError::Conflict(
            "a re-check after a field change keeps the sheet's records and counts true; it cannot be canceled (it takes up to 5,000 records a transaction, about half a second, so saves wait for one batch at most)".into(),
        ));
    }
    // An undo stopped halfway would leave the change half undone, with nothing to take
    // back: once running, it runs to its end.
    let undoing = j.status == crate::model::job::status::EXECUTING
        && j.operation == "bulk-change"
        && serde_json::from_str::<serde_json::Value>(&j.config).is_ok_and(|c| c.get("undo").is_some());
    if undoing {
        return Err(ModelError::Conflict(
            "an undo that has started runs to its end: stopped halfway, it would leave the change half undone (it puts values back a batch at a time, about half a second each, so saves wait for one batch at most)".into(),
        ));
    }
    // A running import or bulk change takes back what it wrote once it stops: say so
    // until it has (see `jobs::say_after_end`).
    let taking_back = j.status == crate::model::job::status::EXECUTING
        && j.job_type == "workbook"
        && matches!(j.operation.as_str(), "map" | "bulk-change");
    // Otherwise what it said while it ran ("next try at 08:40") would stay its last word.
    let said = match taking_back {
        true => "Canceled: taking back what it had written",
        false => "Canceled",
    };
    Ok(Some(
        given
            .filter(|g| !g.trim().is_empty())
            .unwrap_or_else(|| said.to_string()),
    ))
}

/// Fields of Flatfile's `JobConfig` Wharf does not keep, refused when given (on create and
/// update alike): dropped, a child job would lose its parent and code waiting for its
/// children would wait forever.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Unkept {
    parent_id: Option<Value>,
    predecessor_ids: Option<Value>,
    part: Option<Value>,
    part_data: Option<Value>,
    part_execution: Option<Value>,
    outcome: Option<Value>,
    result: Option<Value>,
}

impl Unkept {
    pub fn refuse(&self) -> Result<(), AppError> {
        let fields = [
            ("parentId", &self.parent_id),
            ("predecessorIds", &self.predecessor_ids),
            ("part", &self.part),
            ("partData", &self.part_data),
            ("partExecution", &self.part_execution),
            ("outcome", &self.outcome),
            ("result", &self.result),
        ];
        let Some((key, _)) = fields
            .iter()
            .find(|(_, v)| v.as_ref().is_some_and(|v| !v.is_null()))
        else {
            return Ok(());
        };
        Err(AppError::invalid(
            key,
            match *key {
                "outcome" | "result" => format!(
                    "a job's `{key}` is given when it ends: POST /v1/jobs/{{id}}/complete (or /fail) with it"
                ),
                _ => format!(
                    "Wharf does not run jobs in parts or as children of others (`{key}`): create each job on its own and wait for it by its id"
                ),
            },
        ))
    }
}

/// Longest `info` a job keeps: a line of status, shown in pages and sent in every event of
/// the job.
pub const INFO_CHARS: usize = 10_000;

/// Most JSON a job's `input`, `metadata`, `outcome` or `subject` holds, and its `config`
/// (a delete's or bulk change's `ids`): each is sent in the job's events or answers, to
/// every webhook and listener, so bounded well below an event's 1 MiB.
const PART_BYTES: usize = 256 * 1024;
const CONFIG_BYTES: usize = 1024 * 1024;

/// Refuses (413) a job's `info` or JSON part past its bound, naming it.
pub fn refuse_oversized(info: Option<&str>, parts: &[(&str, Option<&Value>)]) -> Result<(), AppError> {
    if let Some(n) = info.map(|i| i.chars().count()).filter(|n| *n > INFO_CHARS) {
        return Err(AppError::PayloadTooLarge(format!(
            "info is {n} characters; a job's info is at most {INFO_CHARS} (keep details in its outcome or metadata)"
        )));
    }
    for (key, value) in parts {
        let Some(value) = value else { continue };
        let most = if *key == "config" {
            CONFIG_BYTES
        } else {
            PART_BYTES
        };
        let size = serde_json::to_string(value).map_or(0, |t| t.len());
        if size > most {
            return Err(AppError::PayloadTooLarge(format!(
                "{key} is {size} bytes of JSON; a job's {key} is at most {most} bytes (it is sent in the job's events and answers)"
            )));
        }
    }
    Ok(())
}

/// A job's progress as given: Flatfile's handlers pass computed percentages through
/// (`50.5`), kept as the whole percent.
#[derive(Deserialize, Clone, Copy)]
#[serde(transparent)]
pub struct Percent(f64);

impl Percent {
    pub fn whole(self) -> i32 {
        if self.0.is_finite() {
            self.0.round().clamp(0.0, 100.0) as i32
        } else {
            0
        }
    }
}
