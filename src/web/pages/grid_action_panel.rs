//! An action job's panel on the grid: live progress, the foreground overlay, and the
//! outcome (a toast, or a dialog whose button acknowledges it), with the links its `next`
//! names that the viewer reaches.

use super::grid_action_outcome::{file_links, next_link, Targets};
use super::render;
use crate::app::AppState;
use crate::auth::{SpaceScope, Viewer};
use crate::ids::{DocumentId, FileId, SheetId, SpaceId, WorkbookId};
use crate::model::job::{status, Job};
use crate::model::{document, file, sheet, space, ModelError};
use crate::web::error::AppError;
use actix_web::HttpResponse;
use askama::Template;
use serde_json::Value;

/// Files an outcome's `next: files` may list.
const MAX_FILES: usize = 20;

#[derive(Template)]
#[template(path = "grid/_action_job.html")]
pub struct JobPanel {
    pub id: String,
    pub csrf: String,
    pub running: bool,
    /// Running but not yet taken by the team's code (`ready`): said so, not "Running" at
    /// 0% for minutes (probe 66h D6).
    pub queued: bool,
    pub foreground: bool,
    pub blocks_toolbar: bool,
    pub progress: i32,
    pub info: String,
    pub time_left: String,
    /// When a job taken and running last moved, once that is over a minute ago (probe
    /// 74c D5: a listener that died mid-job looked as busy as a slow one).
    pub quiet_since: Option<crate::web::when::When>,
    pub failed: bool,
    /// Outcome shown as a dialog (else a toast), until acknowledged.
    pub dialog: bool,
    pub toast: bool,
    pub heading: String,
    pub message: String,
    pub button_text: String,
    /// Where `next` leads (empty: nowhere), its label, and a download's file name.
    pub next_href: String,
    pub next_label: String,
    pub next_file: String,
    /// `next: files`: a link for each file (href, label).
    pub next_files: Vec<(String, String)>,
    /// `next: wait`: the dialog stays up, without its OK button, until a follow-up job shows;
    /// `fade` and `confetti` as Flatfile's options.
    pub waiting: bool,
    pub fade: bool,
    pub confetti: bool,
    pub retry: String,
    /// The whole panel (with its live connection), else only what changes in it.
    pub whole: bool,
}

pub fn panel(j: &Job, csrf: &str, targets: &Targets, whole: bool) -> JobPanel {
    let outcome: Value = j
        .outcome
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    let running = !j.is_final();
    let failed = j.status == status::FAILED;
    let acknowledged = j.outcome_acknowledged_at.is_some();
    // A failure always asks to be read; otherwise `acknowledge: true` makes a dialog.
    let dialog = !running
        && !acknowledged
        && (failed || outcome["acknowledge"] == true || outcome["next"]["type"] == "wait");
    let next = &outcome["next"];
    let (next_href, next_label, next_file) = next_link(next, targets).unwrap_or_default();
    let waiting = !running && next["type"] == "wait";
    let default_heading = match j.status.as_str() {
        status::FAILED => "The action failed",
        status::CANCELED => "The action was canceled",
        _ => "Done",
    };
    JobPanel {
        id: j.id.to_string(),
        csrf: csrf.to_string(),
        running,
        queued: running && j.status == status::READY && j.started_at.is_none(),
        foreground: running && j.mode == "foreground",
        blocks_toolbar: running && j.mode == "toolbarBlocking",
        progress: j.progress,
        info: j.info.clone().unwrap_or_default(),
        time_left: if running {
            super::time_left::of(j)
        } else {
            String::new()
        },
        quiet_since: targets.quiet_since.clone(),
        failed,
        dialog,
        toast: !running && !dialog && !acknowledged,
        heading: outcome["heading"].as_str().unwrap_or(default_heading).to_string(),
        message: outcome["message"]
            .as_str()
            .map(str::to_string)
            .or_else(|| (failed || !running).then(|| j.info.clone().unwrap_or_default()))
            .unwrap_or_default(),
        button_text: outcome["buttonText"].as_str().unwrap_or("OK").to_string(),
        next_href,
        next_label,
        next_file,
        next_files: file_links(next, &targets.files),
        waiting,
        fade: waiting && next["fade"] == true,
        confetti: waiting && next["confetti"] == true,
        whole,
        retry: if next["type"] == "retry" {
            next["label"].as_str().unwrap_or("Try again").to_string()
        } else {
            String::new()
        },
    }
}

/// When a running job taken by a listener last changed (its progress, its info), if that
/// is over a minute ago. Not a Submit's: Wharf runs those, waiting for its receiver's next
/// try (probe 76b D5: it told the person to cancel a healthy submission).
fn quiet_since(j: &Job) -> Option<crate::web::when::When> {
    let now = crate::model::now();
    // Claimed by one of Wharf's own workers: its job, not a listener's (an import, a bulk
    // change), which moves as it runs or is taken over when its process dies.
    let taken = j.status == status::EXECUTING && j.claimed_by.is_none();
    (taken && now - j.updated_at > chrono::TimeDelta::seconds(60))
        .then(|| crate::web::when::When::relative_to(&j.updated_at, &now))
}

/// The panel for a job the viewer reaches.
pub(super) async fn render_panel(
    state: &AppState,
    user: &Viewer,
    j: Job,
    whole: bool,
) -> Result<HttpResponse, AppError> {
    let env = user.environment_id().clone();
    let next = j
        .outcome
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .map(|o| o["next"].clone())
        .unwrap_or(Value::Null);
    let next_sheet = next["id"]
        .as_str()
        .or(next["sheetId"].as_str())
        .and_then(SheetId::parse);
    let file_ids: Vec<FileId> = next["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["fileId"].as_str().and_then(FileId::parse))
        .take(MAX_FILES)
        .collect();
    let next_place = next["id"].as_str().unwrap_or_default().to_string();
    let job_id = j.id.clone();
    let (sheet_found, files, place, submitting, workbook) = state
        .db(move |conn| {
            let sheet_found = match next_sheet {
                Some(sid) => sheet::find(conn, &env, &sid)?,
                None => None,
            };
            let mut files = Vec::new();
            for id in &file_ids {
                files.extend(file::find(conn, &env, id)?);
            }
            // A space or a document: the space it is in.
            let place = match (SpaceId::parse(&next_place), DocumentId::parse(&next_place)) {
                (Some(space), _) => space::find(conn, &env, &space)?.map(|s| (s.id, None)),
                (_, Some(doc)) => document::space_of(conn, &env, &doc)?.map(|s| (s, Some(doc))),
                _ => None,
            };
            let workbook = match WorkbookId::parse(&next_place) {
                Some(wb) => crate::model::workbook::find(conn, &env, &wb)?.map(|w| (w.id, w.space_id)),
                None => None,
            };
            let submitting = crate::model::submission::of_job(conn, &job_id)?.is_some();
            Ok::<_, ModelError>((sheet_found, files, place, submitting, workbook))
        })
        .await?;
    let mut targets = Targets {
        quiet_since: quiet_since(&j).filter(|_| !submitting),
        ..Targets::default()
    };
    if let Some((space, doc)) = place.filter(|(space, _)| user.reaches_object_of(Some(space))) {
        let at = doc.map(|d| format!("#doc-{d}")).unwrap_or_default();
        let href = format!("{}{at}", user.space_href(&space));
        targets
            .places
            .insert(next["id"].as_str().unwrap_or_default().to_string(), href);
    }
    if let Some((wb, _)) = workbook.filter(|(_, space)| user.reaches_object_of(Some(space))) {
        targets.workbooks.insert(wb);
    }
    if let Some((s, space)) = sheet_found {
        if user.reaches_object_of(Some(&space)) {
            targets.sheets.insert(s.id.clone(), s.workbook_id.clone());
        }
    }
    // Only files the viewer may open become links.
    for f in files {
        if user.reaches_object_of(Some(&f.space_id)) {
            targets.files.insert(f.id.to_string(), f.name);
        }
    }
    render(&panel(&j, user.csrf(), &targets, whole))
}

/// The panel a grid page opens with: the viewer's action job still running, or its outcome
/// dialog not yet acknowledged (a reload shows them again); else an empty panel. Its links
/// may lead to the page's own workbook and sheets, which the viewer reaches.
pub fn page_panel(
    job: Option<Job>,
    csrf: &str,
    workbook: &WorkbookId,
    sheets: &[SheetId],
) -> Result<String, AppError> {
    let empty = || "<div id=\"action-job\"></div>".to_string();
    let Some(j) = job else { return Ok(empty()) };
    let targets = Targets {
        workbooks: [workbook.clone()].into(),
        sheets: sheets.iter().map(|s| (s.clone(), workbook.clone())).collect(),
        ..Targets::default()
    };
    let p = panel(&j, csrf, &targets, true);
    if !p.running && !p.dialog {
        return Ok(empty());
    }
    p.render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template failed: {e}")))
}
