//! The values a reference cell may take, offered under its editor as the person types: the
//! referenced field's values in the sheet it names (probe 78c D14: a person had to open the
//! other sheet to learn its exact names).

use super::grid_edit::context;
use super::render;
use crate::app::AppState;
use crate::auth::Viewer;
use crate::model::record::{self, RecordQuery};
use crate::model::sheet::{self, SheetContext};
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

#[derive(Template)]
#[template(path = "grid/_choices.html")]
struct Choices {
    choices: Vec<String>,
}

/// Records read for the choices: a page, so a long sheet costs what a page costs.
const CHOICES_READ: i64 = 50;

/// Text longer than this lists nothing: no reference value is that long, and each
/// character costs the search (probe 84b D6: 60,000 took 6 s a request on PostgreSQL).
const TYPED_MOST: usize = 200;

#[derive(Deserialize)]
pub struct ChoicesQuery {
    field: String,
    /// What the editor holds so far (the input's own name).
    #[serde(default)]
    value: String,
}

/// `GET /grid/{sheet}/choices?field=KEY&value=TEXT`: the options of a reference cell's list.
pub async fn choices(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ChoicesQuery>,
) -> Result<HttpResponse, AppError> {
    let ctx = context(&state, &viewer, &path).await?;
    let index = ctx
        .config
        .field_index(&query.field)
        .ok_or(AppError::NotFound("field"))?;
    render(&Choices {
        choices: reference_choices(&state, &ctx, index, &query.value).await?,
    })
}

/// The values of the field a reference field points at that hold `typed` (in any case),
/// those starting with it first, each once (those of the first records holding it); none
/// for another field or a missing target.
pub(super) async fn reference_choices(
    state: &AppState,
    ctx: &SheetContext,
    index: usize,
    typed: &str,
) -> Result<Vec<String>, AppError> {
    let Some(Some(target)) = ctx.refs.get(index) else {
        return Ok(Vec::new());
    };
    let Some(target_id) = target.sheet_id.clone() else {
        return Ok(Vec::new());
    };
    let field = target.field_index;
    let env = ctx.environment_id.clone();
    let typed = typed.trim().to_string();
    if typed.chars().count() > TYPED_MOST {
        return Ok(Vec::new());
    }
    let search = (!typed.is_empty()).then(|| typed.clone());
    // Unsearched, a first page: cheap, so an editor opening never waits on costly reads.
    let rows = state
        .read_db_if(search.is_some(), move |conn| {
            // The target is a sheet of the same workbook, so of a space the viewer reaches.
            let target = sheet::load_context(conn, &env, &target_id)?;
            let query = RecordQuery {
                search_value: search,
                search_field: Some(field),
                page_size: CHOICES_READ,
                page_number: 1,
                ..Default::default()
            };
            Ok::<_, crate::model::ModelError>(record::query(conn, &target, &query)?)
        })
        .await?;
    let mut values: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            let vals: Vec<Value> = serde_json::from_str(&row.vals).ok()?;
            let shown = crate::validate::display(vals.get(field)?);
            (!shown.is_empty()).then_some(shown)
        })
        .collect();
    let lower = typed.to_lowercase();
    // (The value itself last, so one spelt alike is next to its twin: probe 84b D7.)
    values.sort_by_cached_key(|v| (!v.to_lowercase().starts_with(&lower), v.to_lowercase(), v.clone()));
    values.dedup();
    Ok(values)
}
