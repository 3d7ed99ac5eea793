//! `GET /v1/sheets/{id}/cells` (`sheets.getCellValues`): the distinct values of a field
//! with how many records hold each (or, `distinct=false`, the field's cell in each record),
//! over the records the usual selection picks (`filter`, `filterField`, `searchValue`,
//! `searchField`, `ids`, `q`).

use super::records::{context, parse_selection};
use crate::app::AppState;
use crate::auth::SpaceCaller;
use crate::model::record::cells::{self, ValueCount};
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use serde_json::{json, value::RawValue, Value};

/// Values per page unless `pageSize` says otherwise.
const PAGE: usize = 1000;

/// A distinct value as Flatfile's cell: held by records in error, it carries what is
/// wrong with the value itself (its type, its options, required), or else what the first of
/// those records says of it (a duplicate, an unlinked reference, a record hook's rule). One
/// record's cell (not `distinct`) carries its own messages.
fn value_json(
    v: &ValueCount,
    field: &crate::blueprint::Field,
    include_counts: bool,
    distinct: bool,
) -> Value {
    let value: Value = serde_json::from_str::<&RawValue>(&v.value)
        .ok()
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or(Value::Null);
    let messages = match v.errors {
        _ if !distinct => v.messages.clone(),
        0 => Vec::new(),
        _ => Some(crate::validate::cast_cell(field, &value).messages)
            .filter(|own| !own.is_empty())
            .unwrap_or_else(|| v.messages.clone()),
    };
    let mut cell = json!({"value": value, "valid": v.errors == 0, "messages": messages});
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
    super::records::fresh_read(async || list_once(&caller, &state, &path, &params).await).await
}

async fn list_once(
    caller: &SpaceCaller,
    state: &web::Data<AppState>,
    path: &str,
    params: &[(String, String)],
) -> Result<HttpResponse, AppError> {
    let ctx = context(state, caller, path).await?;
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
    // `distinct=false` lists the field's cell in each record, in record order.
    let distinct = match get("distinct") {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => return Err(AppError::bad_request("distinct", "distinct is true or false")),
    };
    let (q, include_counts) = parse_selection(&ctx.config, params)?;
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
    // Values are listed most held first, or by value when sortField names this field:
    // another field has no order among one field's values.
    let by_value = match get("sortField") {
        None => false,
        Some(f) if f == key => true,
        Some(f) => {
            return Err(AppError::bad_request(
                "sortField",
                format!("values of `{key}` can be sorted by `{key}` only (not `{f}`); without sortField, the most held come first"),
            ))
        }
    };
    let descending = super::descending(get("sortDirection"))?;
    let seq = ctx.sheet.seq;
    let field_config = ctx.config.fields[field].clone();
    // Each record's cell, unsorted, is read a page at a time; sorted, all of them.
    let (skip, take) = match distinct || by_value {
        true => (0, None),
        false => ((page - 1).saturating_mul(size), Some(size)),
    };
    let mut values = state
        .read_db(move |conn| {
            crate::db::read_snapshot(conn, |conn| {
                // The field's place is the records' own (see `records::fresh_read`).
                crate::model::sheet::check_fresh(conn, &ctx)?;
                let values = match distinct {
                    true => cells::distinct(conn, seq, field, &q)?,
                    false => cells::each_value(conn, seq, field, &q, skip, take)?,
                };
                Ok::<_, crate::model::ModelError>(values)
            })
        })
        .await?;
    if by_value {
        // As a sort of the records orders them: empty cells, then numbers (and true/false
        // as 1/0) as numbers, then text by what it says (stored JSON would order `"a` by
        // its escape); descending the other way round.
        let mut keyed: Vec<(SortKey, _)> = values.into_iter().map(|v| (SortKey::of(&v.value), v)).collect();
        keyed.sort_by(|(a, _), (b, _)| {
            let order = a.cmp(b);
            if descending {
                order.reverse()
            } else {
                order
            }
        });
        values = keyed.into_iter().map(|(_, v)| v).collect();
    }
    let shown: Vec<Value> = values
        .iter()
        .skip((page - 1).saturating_mul(size) - skip)
        .take(size)
        .map(|v| value_json(v, &field_config, include_counts, distinct))
        .collect();
    Ok(super::ok(json!({ key: shown })))
}

/// A stored cell as a sort orders it.
#[derive(Debug, PartialEq)]
enum SortKey {
    Number(f64),
    Text(String),
    Empty,
}

impl SortKey {
    fn of(stored: &str) -> SortKey {
        match serde_json::from_str::<Value>(stored) {
            Ok(Value::Null) | Err(_) => SortKey::Empty,
            Ok(Value::Number(n)) => SortKey::Number(n.as_f64().unwrap_or(f64::NAN)),
            Ok(Value::Bool(b)) => SortKey::Number(f64::from(u8::from(b))),
            Ok(Value::String(text)) => SortKey::Text(text),
            Ok(other) => SortKey::Text(other.to_string()),
        }
    }

    fn cmp(&self, other: &SortKey) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (self, other) {
            (SortKey::Number(x), SortKey::Number(y)) => x.total_cmp(y),
            (SortKey::Text(x), SortKey::Text(y)) => x.cmp(y),
            (SortKey::Empty, SortKey::Empty) => Ordering::Equal,
            (SortKey::Empty, _) | (SortKey::Number(_), SortKey::Text(_)) => Ordering::Less,
            _ => Ordering::Greater,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SortKey;

    #[test]
    fn values_sort_as_records_do() {
        let mut stored = [
            r#""a\tb""#,
            r#""\"quoted""#,
            "10",
            "null",
            r##""#hash""##,
            "9",
            "true",
            r#""$dollar""#,
        ];
        stored.sort_by(|a, b| SortKey::of(a).cmp(&SortKey::of(b)));
        assert_eq!(
            stored,
            [
                "null",
                "true",
                "9",
                "10",
                r#""\"quoted""#,
                r##""#hash""##,
                r#""$dollar""#,
                r#""a\tb""#,
            ]
        );
    }
}
