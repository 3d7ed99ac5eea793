//! A job's page: its live status and progress, and for a mapping job not yet run, the
//! mapping screen (each source column with sample values and the field it goes to, the
//! required fields left unmapped, enum value mapping) that runs it.

use super::{is_htmx, render, see_other, Layout};
use crate::app::AppState;
use crate::auth::{SpaceScope, Viewer};
use crate::ids::{JobId, WorkbookId};
use crate::jobs::plan;
use crate::model::job::{self, status, Job, JobChanges};
use crate::model::ModelError;
use crate::web::error::AppError;
use crate::web::when::When;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde_json::{json, Value};
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "jobs/_status.html")]
pub struct StatusPartial {
    pub id: String,
    pub status: String,
    pub progress: i32,
    pub info: String,
    pub message: String,
    pub link: String,
    pub link_label: String,
    /// The grid showing the records an import wrote with a warning, if any.
    pub warned_link: String,
    pub updated: crate::web::when::When,
    /// Cancel and Retry (`job_controls`), with the form's token.
    pub may_cancel: bool,
    pub may_retry: bool,
    pub csrf: String,
}

impl SourceRow {
    /// `column=<key>`, escaped: the enum rows' address names the column.
    pub fn column_query(&self) -> String {
        super::grid_view::encode(&[("column", self.key.clone())])
    }

    /// Past this many options, each value gets a text box over one list of the options
    /// rather than a select of them all (probe 62c D8: 1,000 values by 1,000 options made a
    /// 48 MB page).
    pub fn long_options(&self) -> bool {
        self.enum_options.len() > 30
    }

    /// The id of the column's option list (its key may hold anything an id may not).
    pub fn options_id(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.key.hash(&mut h);
        format!("enum-options-{:x}", h.finish())
    }
}

impl StatusPartial {
    /// The status as a person reads it: a mapping in `planning` waits for them (probe 61e
    /// D9: "Status: planning 0%" read as work under way).
    pub fn status_words(&self) -> &str {
        match self.status.as_str() {
            "planning" => "planned: check the mapping, then run the import",
            other => other,
        }
    }
}

#[derive(Default)]
pub struct EnumRow {
    pub index: usize,
    pub value: String,
    pub selected: String,
}

#[derive(Default)]
pub struct SourceRow {
    pub key: String,
    pub label: String,
    pub samples: String,
    pub selected: String,
    pub certainty: String,
    /// A weak guess's field, named but not selected: the person picks it if it is right.
    pub guess: String,
    pub enums: Vec<EnumRow>,
    /// The options of the enum field its values go to, `(value, label)`, listed once.
    pub enum_options: Vec<(String, String)>,
    /// Going to a date field whose dates read two ways: the order of day and month.
    pub dates: Option<super::job_enum_values::DateChoice>,
}

#[derive(Template)]
#[template(path = "jobs/show.html")]
struct JobPage {
    layout: Layout,
    name: String,
    status: StatusPartial,
    editable: bool,
    /// A guest looking at the team's import: shown, not run (a guest runs only its own).
    teams_import: bool,
    sources: Vec<SourceRow>,
    destinations: Vec<(String, String)>,
    required_unmapped: Vec<String>,
    /// The destination's required fields, `[[key, label], ...]`: Run import asks before
    /// leaving one without a column (static/app.js).
    required_fields: String,
    /// The file's rows were imported already: running this adds them again.
    imported_before: bool,
    /// How many imports of the file had completed when the page was shown: Run import
    /// sends it, and one completed since (another tab's) is said before this one runs.
    imports_seen: usize,
}

pub(super) fn status_of(j: &Job, user: &Viewer) -> StatusPartial {
    let outcome: Value = j
        .outcome
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    let next_id = outcome["next"]["id"].as_str().unwrap_or_default();
    // An import opens on the sheet it wrote to (probe 66h D1: the workbook's first sheet,
    // not the one with the errors to fix).
    let config: Value = serde_json::from_str(&j.config).unwrap_or(Value::Null);
    let sheet = match j.operation.as_str() {
        "map" => config["destinationSheetId"]
            .as_str()
            .and_then(crate::ids::SheetId::parse),
        _ => None,
    };
    let to_sheet = sheet.is_some();
    let (link, link_label) = match (WorkbookId::parse(next_id), sheet) {
        (Some(wb), Some(sheet)) if j.status == status::COMPLETE => (
            format!("/workbooks/{wb}?sheet={sheet}"),
            "Open workbook".to_string(),
        ),
        (Some(wb), None) if j.status == status::COMPLETE => {
            (format!("/workbooks/{wb}"), "Open workbook".to_string())
        }
        // An import canceled or failed leads back to the files, to start it again (probe
        // 66h D7: a canceled mapping's page had no way on).
        _ if j.operation == "map" && [status::CANCELED, status::FAILED].contains(&j.status.as_str()) => {
            match (&j.space_id, user) {
                (Some(space), Viewer::Guest(_)) => {
                    (format!("/guest/spaces/{space}"), "Back to the files".into())
                }
                (Some(space), _) => (format!("/spaces/{space}?tab=files"), "Back to the files".into()),
                (None, _) => (String::new(), String::new()),
            }
        }
        _ => (String::new(), String::new()),
    };
    // Records written with a warning are found by the grid's query (probe 66h D9), with
    // those the sheet held before: the link says so (probe 67e D6).
    let warned_link = match (outcome["warnedRecords"].as_i64(), link.is_empty()) {
        (Some(n), false) if n > 0 && to_sheet => format!("{link}&q=filter%3A%20is%20warning"),
        _ => String::new(),
    };
    StatusPartial {
        id: j.id.to_string(),
        status: j.status.clone(),
        progress: j.progress,
        info: super::job_words::readable(j.info.as_deref().unwrap_or_default()),
        message: super::job_words::readable(outcome["message"].as_str().unwrap_or_default()),
        link,
        link_label,
        warned_link,
        updated: When::new(&j.updated_at),
        may_cancel: super::job_controls::offers_cancel(j, user),
        may_retry: super::job_controls::offers_retry(j, user),
        csrf: user.csrf().to_string(),
    }
}

/// A job of a space the viewer may reach (a guest: never one of no space), at both ends
/// of a mapping.
pub(super) async fn load(state: &AppState, user: &Viewer, raw_id: &str) -> Result<Job, AppError> {
    let id = JobId::parse(raw_id).ok_or(AppError::NotFound("job"))?;
    let env = user.environment_id().clone();
    let found = state
        .db(move |conn| {
            let Some(j) = job::find(conn, &env, &id)? else {
                return Ok(None);
            };
            let spaces = job::spaces_touched(conn, &j)?;
            Ok::<_, ModelError>(Some((j, spaces)))
        })
        .await?;
    let (j, spaces) = found.ok_or(AppError::NotFound("job"))?;
    for space in &spaces {
        match space {
            // A guest's own space archived: 403 saying so (probe 61a D1).
            Some(space) => user.check_reach_as(space, "job")?,
            None if !user.reaches_object_of(None) => return Err(AppError::NotFound("job")),
            None => {}
        }
    }
    Ok(j)
}

fn joined(preview: &Value) -> String {
    preview
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
                .take(3)
                .collect::<Vec<_>>()
                .join(" · ")
        })
        .unwrap_or_default()
}

pub async fn show(
    req: HttpRequest,
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let j = match (load(&state, &user, &path).await, super::elsewhere::member(&user)) {
        (Err(e), Some(member)) if !is_htmx(&req) => {
            let next = req.uri().to_string();
            let kind = super::elsewhere::Kind::Job;
            return super::elsewhere::or_elsewhere(&state, member, kind, &path, &next, Err(e)).await;
        }
        (j, _) => j?,
    };
    if is_htmx(&req) {
        let mut partial = status_of(&j, &user);
        partial.may_retry &= !retry_gone(&state, &j).await?;
        return render(&partial);
    }
    let is_map = j.job_type == "workbook" && j.operation == "map";
    let teams_import = is_map && matches!(user, Viewer::Guest(_)) && j.created_by != user.actor();
    let mut editable = is_map
        && !teams_import
        && (j.status == status::PLANNING
            || j.status == status::CREATED
            || j.status == status::READY && j.started_at.is_none());
    let (mut sources, mut destinations, mut required_unmapped) = (Vec::new(), Vec::new(), Vec::new());
    let mut required_fields = String::from("[]");
    // The sheets it maps between; gone (a file or workbook deleted since), the page still
    // shows the job, its state and what may be done with it, without the mapping screen.
    let sheets = match is_map {
        true => {
            let job = j.clone();
            let env = user.environment_id().clone();
            state
                .db(move |conn| {
                    let config: Value = serde_json::from_str(&job.config).unwrap_or_else(|_| json!({}));
                    plan::sheets(conn, &env, &job.source, job.destination.as_deref(), &config)
                })
                .await
                .ok()
        }
        false => None,
    };
    editable &= sheets.is_some();
    // Its sheets gone, Run again could only fail (read here once, for the screen too).
    let sheets_gone = is_map && sheets.is_none();
    if let Some(sheets) = sheets {
        let the_plan = plan::stored(j.plan.as_deref());
        let edges: HashMap<String, &Value> = the_plan["fieldMapping"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| Some((e["sourceField"]["key"].as_str()?.to_string(), e)))
                    .collect()
            })
            .unwrap_or_default();
        let previews: HashMap<String, String> = the_plan["unmappedSourceFields"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| {
                        Some((
                            e["sourceField"]["key"].as_str()?.to_string(),
                            joined(&e["preview"]),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let dst = &sheets.destination_config;
        destinations = dst
            .fields
            .iter()
            .filter(|f| !f.fixed())
            .map(|f| (f.key.clone(), f.display_name().to_string()))
            .collect();
        let mut mapped = Vec::new();
        for f in &sheets.source_config.fields {
            let edge = edges.get(&f.key);
            let certainty = edge
                .and_then(|e| e["metadata"]["certainty"].as_str())
                .unwrap_or_default()
                .to_string();
            let proposed = edge
                .and_then(|e| e["destinationField"]["key"].as_str())
                .unwrap_or_default()
                .to_string();
            // A weak guess is as likely wrong as right: shown, not preselected, so an
            // import run as proposed imports no column into a field it only might be.
            let (selected, guess) = if certainty == "weak" {
                let named = dst
                    .field_index(&proposed)
                    .map(|i| dst.fields[i].display_name().to_string());
                (String::new(), named.unwrap_or_default())
            } else {
                (proposed, String::new())
            };
            mapped.push(selected.clone());
            let (enums, enum_options) = match (edge, dst.field_index(&selected)) {
                (Some(e), Some(di)) => {
                    super::job_enum_values::enum_rows(&dst.fields[di].field_type, &e["enumDetails"])
                }
                _ => Default::default(),
            };
            let dates = match (edge, dst.field_index(&selected)) {
                (Some(e), Some(di)) => super::job_enum_values::date_choice(
                    &dst.fields[di].field_type,
                    &e["preview"],
                    e["dateOrder"].as_str().unwrap_or_default(),
                ),
                _ => None,
            };
            sources.push(SourceRow {
                key: f.key.clone(),
                label: f.display_name().to_string(),
                samples: edge
                    .map(|e| joined(&e["preview"]))
                    .or_else(|| previews.get(&f.key).cloned())
                    .unwrap_or_default(),
                certainty,
                guess,
                selected,
                enums,
                enum_options,
                dates,
            });
        }
        required_unmapped = dst
            .fields
            .iter()
            .filter(|f| f.required && !mapped.contains(&f.key))
            .map(|f| f.display_name().to_string())
            .collect();
        let required: Vec<(&str, &str)> = dst
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| (f.key.as_str(), f.display_name()))
            .collect();
        required_fields = serde_json::to_string(&required).unwrap_or_default();
    }
    // Imported since this plan was made (another tab's import of the same file): running it
    // adds the records again, so the page says so and Run import asks (probe 57a).
    let imports_seen = match editable {
        true => imports_of(&state, &user, &j).await?,
        false => 0,
    };
    let imported_before = imports_seen > 0;
    let mut status = status_of(&j, &user);
    status.may_retry &= !sheets_gone;
    render(&JobPage {
        layout: user.layout(j.name(), "spaces"),
        name: j.name(),
        status,
        editable,
        teams_import,
        sources,
        destinations,
        required_unmapped,
        required_fields,
        imported_before,
        imports_seen,
    })
}

/// What Run import answers when the file was imported since the page was shown: the
/// notice, and the count the next press sends (out of band; the form swaps nothing).
#[derive(Template)]
#[template(path = "jobs/_imported_meanwhile.html")]
struct ImportedMeanwhile {
    now: usize,
}

/// How many imports of `source` (a file's workbook) completed.
async fn imports_of(state: &AppState, user: &Viewer, job: &Job) -> Result<usize, AppError> {
    let (env, source) = (user.environment_id().clone(), job.source.clone());
    // Of the same sheet of the file: another sheet's import adds none of these records
    // (probe 66h D3).
    let config: Value = serde_json::from_str(&job.config).unwrap_or_default();
    let sheet = config["sourceSheetId"].clone();
    let done = state
        .db(move |conn| crate::model::job::completed_imports_of(conn, &env, &source))
        .await?;
    Ok(done
        .iter()
        .filter(|d| {
            let theirs: Value = serde_json::from_str(&d.config).unwrap_or_default();
            sheet.is_null() || theirs["sourceSheetId"].is_null() || theirs["sourceSheetId"] == sheet
        })
        .count())
}

/// Whether Run again could only fail: an ended import whose sheets are gone.
async fn retry_gone(state: &AppState, j: &Job) -> Result<bool, AppError> {
    if !super::job_controls::may_retry(j) {
        return Ok(false);
    }
    let job = j.clone();
    state
        .db(move |conn| Ok::<_, ModelError>(super::job_controls::import_gone(conn, &job)))
        .await
}

/// `changed` whenever this job moves.
pub async fn live(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let j = load(&state, &user, &path).await?;
    let id = j.id.clone();
    let opener = crate::web::live_access::Opener::of(&user, j.space_id.clone());
    let admission = match state.live.admit(&opener, None).await {
        Ok(a) => a,
        Err(refused) => return Ok(refused.response()),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(state.live.job_stream(move |job, _| job == &id, admission)))
}

/// The mapping screen's form: `map:<source key>` = destination key (or empty), for enum
/// values `enumsrc:<source key>:<n>` = source value, `enum:<source key>:<n>` = option, and
/// for a date field `dateorder:<source key>` = `dayFirst`, `monthFirst` or empty.
/// Saves the plan and runs the job.
pub async fn run_plan(
    req: HttpRequest,
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: crate::web::input::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let fields: HashMap<String, String> = form.into_inner().into_iter().collect();
    user.check_csrf(fields.get("csrf_token").map(String::as_str).unwrap_or_default())?;
    let j = load(&state, &user, &path).await?;
    // The file imported since this page was shown (from another tab, by someone else): said
    // first; pressed again, it runs (probe 57e: it ran without a word).
    if let Some(seen) = fields.get("imports_seen").and_then(|n| n.parse::<usize>().ok()) {
        let now = imports_of(&state, &user, &j).await?;
        if now > seen {
            if !is_htmx(&req) {
                return Ok(see_other(&format!("/jobs/{}", j.id)));
            }
            return render(&ImportedMeanwhile { now });
        }
    }
    let actor = user.actor();
    let env = user.environment_id().clone();
    let guest = matches!(user, Viewer::Guest(_));
    let j = state
        .db(move |conn| {
            // Running the plan runs the job, as whoever made it: a guest only its own.
            if guest {
                crate::web::api::job_starts::guest_may_rerun(conn, &j, &actor)?;
            }
            if ![status::CREATED, status::PLANNING, status::READY].contains(&j.status.as_str()) {
                return Err(ModelError::Conflict(format!("the job is {}; it has already run", j.status)));
            }
            let config: Value = serde_json::from_str(&j.config).unwrap_or_else(|_| json!({}));
            let sheets = plan::sheets(conn, &env, &j.source, j.destination.as_deref(), &config)?;
            let old = plan::stored(j.plan.as_deref());
            let old_edges: HashMap<String, Value> = old["fieldMapping"]
                .as_array()
                .map(|a| a.iter().filter_map(|e| Some((e["sourceField"]["key"].as_str()?.to_string(), e.clone()))).collect())
                .unwrap_or_default();
            let dst = &sheets.destination_config;
            let mut edges = Vec::new();
            let mut unmapped_sources = Vec::new();
            let mut taken: HashMap<usize, String> = HashMap::new();
            for f in &sheets.source_config.fields {
                let chosen = fields.get(&format!("map:{}", f.key)).map(String::as_str).unwrap_or_default();
                let source_field = json!({"key": f.key, "label": f.display_name(), "type": "string"});
                let Some(di) = dst.field_index(chosen) else {
                    unmapped_sources.push(json!({"sourceField": source_field}));
                    continue;
                };
                // In the words of the screen: the field's label and both columns.
                if let Some(first) = taken.insert(di, f.display_name().to_string()) {
                    return Err(ModelError::Invalid(vec![(
                        "fieldMapping".into(),
                        format!(
                            "{} is chosen for two columns, {first} and {}: choose one",
                            dst.fields[di].display_name(),
                            f.display_name()
                        ),
                    )]));
                }
                let old_edge = old_edges.get(&f.key);
                let same = old_edge.is_some_and(|e| e["destinationField"]["key"] == chosen);
                // A proposal kept on the screen is confirmed by whoever runs it (and then
                // remembered as theirs).
                let metadata = match old_edge {
                    Some(e) if same => {
                        let mut kept = e["metadata"].clone();
                        if kept.is_object() {
                            kept["confirmedBy"] = json!(actor);
                        }
                        kept
                    }
                    _ => json!({"certainty": "absolute", "confidence": 1.0, "source": actor}),
                };
                let mut edge = json!({
                    "sourceField": source_field,
                    "destinationField": dst.json["fields"].get(di).cloned().unwrap_or_else(|| json!({"key": chosen})),
                    "preview": old_edge.map(|e| e["preview"].clone()).unwrap_or(json!([])),
                    "metadata": metadata,
                });
                let mut mapping = Vec::new();
                // Every row the form sent, in order (a row missing stops none after it).
                let prefix = format!("enumsrc:{}:", f.key);
                let mut rows: Vec<(usize, &String)> = fields
                    .iter()
                    .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.parse().ok()?, v)))
                    .collect();
                rows.sort();
                for (n, value) in rows {
                    let to = fields.get(&format!("enum:{}:{n}", f.key)).cloned().unwrap_or_default();
                    // A long option list's box takes a label typed as well as a value.
                    let to = super::job_enum_values::option_value(&dst.fields[di].field_type, to.trim());
                    if !to.is_empty() {
                        mapping.push(json!({"sourceValue": value, "destinationValue": to}));
                    }
                }
                if !mapping.is_empty() {
                    edge["enumDetails"] = json!({"mapping": mapping});
                }
                let order = fields.get(&format!("dateorder:{}", f.key)).map(String::as_str);
                if let (Some(order @ ("dayFirst" | "monthFirst")), crate::blueprint::FieldType::Date) =
                    (order, &dst.fields[di].field_type)
                {
                    edge["dateOrder"] = json!(order);
                }
                edges.push(edge);
            }
            let mapped: Vec<&str> = edges.iter().filter_map(|e| e["destinationField"]["key"].as_str()).collect();
            let unmapped_destinations: Vec<Value> = dst
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| !mapped.contains(&f.key.as_str()))
                .map(|(i, _)| json!({"destinationField": dst.json["fields"][i]}))
                .collect();
            let new_plan = json!({
                "fieldMapping": edges,
                "unmappedSourceFields": unmapped_sources,
                "unmappedDestinationFields": unmapped_destinations,
            });
            // Refused here, where it can be fixed, rather than as a failed job.
            if plan::resolve(&new_plan, &sheets)?.columns.iter().all(Option::is_none) {
                return Err(ModelError::Invalid(vec![(
                    "fieldMapping".into(),
                    "no column is mapped to a field: choose a field for at least one column".into(),
                )]));
            }
            let changes = JobChanges {
                plan: Some(Some(new_plan.to_string())),
                ..Default::default()
            };
            let j = job::change_from(conn, &j, changes, Some("job:updated"), &actor)?;
            crate::jobs::guard::refuse_locked_job(conn, &j, &actor)?;
            job::execute(conn, &j, &actor)
        })
        .await?;
    state.jobs.wake();
    state.live.publish_job(&j.id, j.space_id.as_ref());
    // At the job's status: the page puts the focus there (probe 69c D2: at the top).
    let page = format!("/jobs/{}#job-status", j.id);
    if is_htmx(&req) {
        return Ok(HttpResponse::Ok().insert_header(("HX-Redirect", page)).finish());
    }
    Ok(see_other(&page))
}
