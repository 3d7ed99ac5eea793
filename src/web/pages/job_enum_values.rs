//! The mapping screen's enum value rows: each value of a column going to an enum field,
//! with the option it goes to. Shown for automap's choices with the page, and fetched
//! when a person points a column at an enum field themselves (probe 62b D3: no rows came,
//! so a value could not be mapped before the import ran).

use super::jobs::{EnumRow, SourceRow};
use super::render;
use crate::app::AppState;
use crate::auth::Viewer;
use crate::blueprint::FieldType;
use crate::jobs::plan;
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The option a value typed into a long option list's box names: an option's value as it
/// is, else the option whose label it is (case aside); anything else as typed (the plan's
/// check then says it is no option).
pub fn option_value(field_type: &FieldType, typed: &str) -> String {
    let (FieldType::Enum { options } | FieldType::EnumList { options }) = field_type else {
        return typed.to_string();
    };
    if options.iter().any(|o| o.value == typed) {
        return typed.to_string();
    }
    let lower = typed.to_lowercase();
    options
        .iter()
        .find(|o| o.label.to_lowercase() == lower)
        .map_or_else(|| typed.to_string(), |o| o.value.clone())
}

/// The rows of `details` (Flatfile's `enumDetails`) for an enum field, and its options
/// `(value, label)`; none for another.
pub fn enum_rows(field_type: &FieldType, details: &Value) -> (Vec<EnumRow>, Vec<(String, String)>) {
    let (FieldType::Enum { options } | FieldType::EnumList { options }) = field_type else {
        return Default::default();
    };
    let opts: Vec<(String, String)> = options
        .iter()
        .map(|o| (o.value.clone(), o.label.clone()))
        .collect();
    let mut values: Vec<(String, String)> = details["mapping"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                plan::text_of(&m["sourceValue"]),
                plan::text_of(&m["destinationValue"]),
            )
        })
        .collect();
    for v in details["unusedSourceValues"].as_array().into_iter().flatten() {
        values.push((plan::text_of(v), String::new()));
    }
    let rows = values
        .into_iter()
        .enumerate()
        .map(|(index, (value, selected))| EnumRow {
            index,
            value,
            selected,
        })
        .collect();
    (rows, opts)
}

#[derive(Template)]
#[template(path = "jobs/_enum_rows.html")]
struct EnumRows {
    s: SourceRow,
}

/// `GET /jobs/{id}/plan/enum-values?column=<source key>&map:<source key>=<field key>`:
/// the rows for that column going to that field (none unless it is an enum field).
pub async fn enum_values(
    user: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let j = super::jobs::load(&state, &user, &path).await?;
    if !(j.job_type == "workbook" && j.operation == "map") {
        return Err(AppError::NotFound("mapping job"));
    }
    let column = query.get("column").cloned().unwrap_or_default();
    let field = query.get(&format!("map:{column}")).cloned().unwrap_or_default();
    let env = user.environment_id().clone();
    let key = column.clone();
    let (enums, enum_options) = state
        .db(move |conn| {
            let config: Value = serde_json::from_str(&j.config).unwrap_or_else(|_| json!({}));
            let sheets = plan::sheets(conn, &env, &j.source, j.destination.as_deref(), &config)?;
            let (Some(si), Some(di)) = (
                sheets.source_config.field_index(&key),
                sheets.destination_config.field_index(&field),
            ) else {
                return Ok(Default::default());
            };
            let details = plan::enum_details_for(conn, &sheets, si, di)?;
            let field_type = &sheets.destination_config.fields[di].field_type;
            Ok::<_, crate::model::ModelError>(details.map(|d| enum_rows(field_type, &d)).unwrap_or_default())
        })
        .await?;
    render(&EnumRows {
        s: SourceRow {
            key: column,
            enums,
            enum_options,
            ..SourceRow::default()
        },
    })
}
