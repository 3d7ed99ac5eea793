//! The mapping screen's value rows: each value of a column going to an enum field, with
//! the option it goes to, and for a date field whose dates read two ways the order of day
//! and month. Shown for automap's choices with the page, and fetched when a person points
//! a column at a field themselves (probe 62b D3: no rows came, so a value could not be
//! mapped before the import ran).

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

/// The choice of how a column's dates that read two ways (`03/04/2024`) are read.
#[derive(Debug, Default)]
pub struct DateChoice {
    /// A date of the column's sample that reads two ways (or a made-up one).
    pub example: String,
    /// The example read month first and day first, as words (`4 March 2024`).
    pub month_first: String,
    pub day_first: String,
    /// `dayFirst`, `monthFirst`, or empty: the file's dates decide.
    pub selected: String,
    /// What the file's sample says, when it says: `day first` or `month first`.
    pub sample_says: String,
}

/// The date order choice for a column going to a field of `field_type`, by its sample
/// (`preview`), when that is a date field and its sample holds a date that reads two ways
/// or a choice was made (probe 66h D9: a UK file's dates were all read month first, with
/// no way to say otherwise but editing each cell).
pub fn date_choice(field_type: &FieldType, preview: &Value, selected: &str) -> Option<DateChoice> {
    use crate::validate::{date_order_of, date_reads_two_ways, date_swapped, parse_date, DateOrder};
    if !matches!(field_type, FieldType::Date) {
        return None;
    }
    let samples: Vec<&Value> = preview.as_array().into_iter().flatten().collect();
    let two_ways = samples
        .iter()
        .filter_map(|v| v.as_str())
        .find(|v| date_reads_two_ways(v));
    if two_ways.is_none() && selected.is_empty() {
        return None;
    }
    let example = two_ways.unwrap_or("03/04/2024").trim().to_string();
    let words = |text: &str| {
        parse_date(text)
            .and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
            .map(|d| d.format("%-d %B %Y").to_string())
            .unwrap_or_default()
    };
    let sample_says = match date_order_of(samples.into_iter()) {
        DateOrder::DayFirst => "day first",
        DateOrder::MonthFirst => "month first",
        DateOrder::Unknown => "",
    };
    Some(DateChoice {
        month_first: words(&example),
        day_first: words(&date_swapped(&example).unwrap_or_default()),
        example,
        selected: selected.to_string(),
        sample_says: sample_says.to_string(),
    })
}

/// The preview a plan shows for source column `key`, and its edge's `dateOrder`.
fn preview_in(plan: &Value, key: &str) -> (Value, String) {
    ["fieldMapping", "unmappedSourceFields"]
        .iter()
        .flat_map(|part| plan[*part].as_array().into_iter().flatten())
        .find(|e| e["sourceField"]["key"] == key)
        .map(|e| {
            let order = e["dateOrder"].as_str().unwrap_or_default().to_string();
            (e["preview"].clone(), order)
        })
        .unwrap_or((Value::Null, String::new()))
}

#[derive(Template)]
#[template(path = "jobs/_enum_rows.html")]
struct EnumRows {
    s: SourceRow,
}

/// `GET /jobs/{id}/plan/enum-values?column=<source key>&map:<source key>=<field key>`:
/// the rows for that column going to that field (none unless it is an enum field or a
/// date field whose sample has dates that read two ways).
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
    let (preview, order) = preview_in(&crate::jobs::plan::stored(j.plan.as_deref()), &column);
    let (enums, enum_options, dates, label) = state
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
            let (enums, options) = details.map(|d| enum_rows(field_type, &d)).unwrap_or_default();
            let dates = date_choice(field_type, &preview, &order);
            let label = sheets.source_config.fields[si].display_name().to_string();
            Ok::<_, crate::model::ModelError>((enums, options, dates, label))
        })
        .await?;
    render(&EnumRows {
        s: SourceRow {
            key: column,
            label,
            enums,
            enum_options,
            dates,
            ..SourceRow::default()
        },
    })
}
