//! `GET /v1/sheets/{id}/cells` (`sheets.getCellValues`): the distinct values of a field
//! with how many records hold each, over the records the usual selection picks (`filter`,
//! `filterField`, `searchValue`, `searchField`, `ids`, `q`).

use super::records::{context, parse_selection};
use crate::app::AppState;
use crate::auth::SpaceCaller;
use crate::model::record::cells::{self, ValueCount};
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde_json::{json, value::RawValue, Value};

/// Values per page unless `pageSize` says otherwise.
const PAGE: usize = 1000;

fn value_json(v: &ValueCount, include_counts: bool) -> Value {
    let value: Value = serde_json::from_str::<&RawValue>(&v.value)
        .ok()
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or(Value::Null);
    let mut cell = json!({"value": value, "valid": v.errors == 0, "messages": []});
    if include_counts {
        cell["counts"] = json!({"total": v.total, "valid": v.total - v.errors, "error": v.errors});
    }
    cell
}

pub async fn list(
    caller: SpaceCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let ctx = context(&state, &caller, &path).await?;
    let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let key = get("fieldKey")
        .ok_or_else(|| {
            AppError::bad_request("fieldKey", "name the field whose values to list with fieldKey")
        })?
        .to_string();
    let field = ctx
        .config
        .field_index(&key)
        .ok_or_else(|| AppError::bad_request("fieldKey", format!("this sheet has no field `{key}`")))?;
    if get("distinct").is_some_and(|d| d != "true") {
        return Err(AppError::bad_request(
            "distinct",
            "only distinct values are listed: distinct=true",
        ));
    }
    let (q, include_counts) = parse_selection(&ctx.config, &params)?;
    let number = |k: &str, default: usize| -> Result<usize, AppError> {
        match get(k) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| AppError::bad_request(k, format!("{k} must be a whole number from 1"))),
        }
    };
    let (size, page) = (number("pageSize", PAGE)?.min(10_000), number("pageNumber", 1)?);
    let by_value = get("sortField") == Some(key.as_str());
    let descending = get("sortDirection") == Some("desc");
    let seq = ctx.sheet.seq;
    let mut values = state
        .db(move |conn| cells::distinct(conn, seq, field, &q))
        .await?;
    if by_value {
        // Numbers as numbers (stored JSON text would put 10 before 9), else as text.
        // Empty cells last either way.
        values.sort_by(|a, b| {
            let order = match (a.value.parse::<f64>(), b.value.parse::<f64>()) {
                (Ok(x), Ok(y)) => x.total_cmp(&y),
                _ => a.value.cmp(&b.value),
            };
            let order = if descending { order.reverse() } else { order };
            (a.value == "null").cmp(&(b.value == "null")).then(order)
        });
    }
    let shown: Vec<Value> = values
        .iter()
        .skip((page - 1).saturating_mul(size))
        .take(size)
        .map(|v| value_json(v, include_counts))
        .collect();
    Ok(super::ok(json!({ key: shown })))
}
