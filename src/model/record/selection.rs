//! Flatfile's record selection and paging parameters (`filter`, `filterField`,
//! `searchValue`, `searchField`, `sortField`, `sortDirection`, `ids`, `q`, `pageSize`,
//! `pageNumber`, `includeCounts`) read into a [`RecordQuery`], for the API, the grid's
//! bulk changes and jobs alike. As in Flatfile, `ids` beside a filter, a search or a `q`
//! are the records left out, and alone the records picked.

use super::{Filter, RecordQuery};
use crate::blueprint::SheetConfig;
use crate::ids::RecordId;

/// The largest page one read may ask for.
pub const MAX_PAGE: usize = 50_000;

/// The longest search: SQLite refuses a longer pattern (probe 62c D2: a 500 at 50,000
/// characters), and both databases answer alike.
pub const MAX_SEARCH_CHARS: usize = 10_000;

pub fn too_long_search() -> String {
    format!("a search is at most {MAX_SEARCH_CHARS} characters; search for a part of the value, or use `q` with `eq`")
}

/// A parameter the caller must fix: which, and why.
#[derive(Debug, Clone)]
pub struct Mistake {
    pub key: String,
    pub message: String,
}

impl Mistake {
    fn new(key: &str, message: impl Into<String>) -> Self {
        Mistake {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

fn field_index(config: &SheetConfig, param: &str, key: &str) -> Result<usize, Mistake> {
    config
        .field_index(key)
        .ok_or_else(|| Mistake::new(param, format!("this sheet has no field `{key}`")))
}

/// Reads an FFQL `q` against the sheet's fields; a malformed query or an unknown field is
/// the caller's to fix (400, with where and why).
pub fn ffql_of(config: &SheetConfig, text: &str) -> Result<crate::ffql::Node, Mistake> {
    super::ffql_sql::compile(config, text).map_err(|e| Mistake::new("q", e.message))
}

/// Whether a selection parameter filters the records (as it is applied: a search for
/// spaces is a search), which makes `ids` beside it the records left out.
pub fn filters(key: &str, value: &str) -> bool {
    match key {
        "filter" => value != "none",
        "filterField" => true,
        "searchValue" => !value.is_empty(),
        "q" => !value.trim().is_empty(),
        _ => false,
    }
}

/// Reads Flatfile's record query parameters (`ids` may repeat).
/// A write's selection that names a query or search with nothing in it: read as none, it
/// would select every record (probe 63a D1: a `delete-records` job with `"q": ""` emptied a
/// sheet), so it is refused as an empty `ids` is. (A read may say so: it changes nothing.)
pub fn blank_search(params: &[(String, String)]) -> Option<String> {
    params
        .iter()
        .find(|(k, v)| matches!(k.as_str(), "q" | "searchValue") && v.trim().is_empty())
        .map(|(k, _)| {
            format!("{k} is empty, which selects nothing to narrow by; leave it out to select every record")
        })
}

pub fn parse(config: &SheetConfig, params: &[(String, String)]) -> Result<(RecordQuery, bool), Mistake> {
    let mut q = RecordQuery {
        page_size: 10_000,
        page_number: 1,
        ..Default::default()
    };
    let mut include_counts = false;
    let mut sort_field = None;
    let mut descending = false;
    let number = |k: &str, v: &str| {
        v.parse::<i64>().map_err(|e| {
            use std::num::IntErrorKind::{NegOverflow, PosOverflow};
            let why = match e.kind() {
                PosOverflow | NegOverflow => format!("{k} `{v}` is past the largest, {}", i64::MAX),
                _ => format!("{k} must be a whole number, not `{v}`"),
            };
            Mistake::new(k, why)
        })
    };
    // A parameter given twice took its last value unsaid: `filter=error&filter=all`, a
    // default and the user's choice appended, changed every record (probe 65e D2).
    // Lists (`ids`, `fields`) add up; anything else is said.
    let mut seen = std::collections::HashSet::new();
    let list = |k: &str| matches!(k, "ids" | "fields");
    if let Some((k, _)) = params.iter().find(|(k, _)| !list(k) && !seen.insert(k.as_str())) {
        return Err(Mistake::new(k, format!("`{k}` is given twice; give it once")));
    }
    for (k, v) in params {
        match k.as_str() {
            "pageSize" => q.page_size = number(k, v)?,
            "pageNumber" => q.page_number = number(k, v)?,
            "filter" => {
                q.filter = match v.as_str() {
                    "valid" => Filter::Valid,
                    "error" => Filter::Error,
                    "all" | "none" => Filter::All,
                    other => {
                        return Err(Mistake::new(
                            "filter",
                            format!("filter `{other}` is not one of valid, error, all, none (none: every record, as all)"),
                        ))
                    }
                }
            }
            "filterField" => q.filter_field = Some(field_index(config, k, v)?),
            "searchValue" if v.chars().count() > MAX_SEARCH_CHARS => {
                return Err(Mistake::new("searchValue", too_long_search()));
            }
            "searchValue" => q.search_value = Some(v.clone()),
            "searchField" => q.search_field = Some(field_index(config, k, v)?),
            "sortField" => sort_field = Some(field_index(config, k, v)?),
            "sortDirection" => {
                descending = match v.as_str() {
                    "asc" => false,
                    "desc" => true,
                    other => {
                        return Err(Mistake::new(
                            "sortDirection",
                            format!("sortDirection `{other}` is not asc or desc"),
                        ))
                    }
                }
            }
            "includeCounts" => {
                include_counts = match v.as_str() {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(Mistake::new(
                            "includeCounts",
                            format!("includeCounts `{other}` is not true or false"),
                        ))
                    }
                }
            }
            "q" if !v.trim().is_empty() => q.ffql = Some(ffql_of(config, v)?),
            // Repeated (`ids=a&ids=b`) or comma-separated (`ids=a,b`), as a delete takes them.
            // An empty one is refused: selecting nothing must not read as selecting all.
            "ids" => {
                if v.split(',').all(|p| p.is_empty()) {
                    return Err(Mistake::new("ids", "ids is empty; name records as ids=us_rc_..."));
                }
                for part in v.split(',').filter(|p| !p.is_empty()) {
                    let id = RecordId::parse(part)
                        .ok_or_else(|| Mistake::new("ids", format!("`{part}` is not a record id")))?;
                    q.ids.get_or_insert_with(Vec::new).push(id.0);
                }
            }
            // Flatfile's reads of what changed since a version: Wharf keeps no versions of
            // records, and reading every record instead would hand back the whole sheet as
            // if all of it had changed.
            "sinceVersionId" | "sinceCommitId" | "for" => {
                return Err(Mistake::new(
                    k,
                    format!("Wharf does not read records changed since a version (`{k}`); read a commit's records with `commitId` (a `commit:created` event's `dataUrl` names it), or the sheet's changes with GET /v1/sheets/{{id}}/changes"),
                ))
            }
            _ => {}
        }
    }
    if !(1..=MAX_PAGE as i64).contains(&q.page_size) {
        return Err(Mistake::new(
            "pageSize",
            format!("pageSize must be between 1 and {MAX_PAGE}"),
        ));
    }
    if q.page_number < 1 {
        return Err(Mistake::new("pageNumber", "pageNumber starts at 1"));
    }
    q.sort = sort_field.map(|f| (f, descending));
    // `filterField` names the field `filter` looks at: its errors (`filter=error`, or no
    // `filter`, as the grid's "errors in" does), the records valid there (`filter=valid`),
    // or every record (`filter=all`).
    if q.filter_field.is_some() {
        match params
            .iter()
            .rev()
            .find(|(k, _)| k == "filter")
            .map(|(_, v)| v.as_str())
        {
            Some("valid") => {
                q.filter = Filter::All;
                q.field_valid = true;
            }
            Some("all" | "none") => q.filter_field = None,
            _ => {}
        }
    }
    // Flatfile's rule for `ids`: with a query that filters the records (a `filter` of
    // valid, error or all, a search, FFQL), the ids are the records it leaves out ("all
    // these but those"); otherwise they are the records it picks.
    if params.iter().any(|(k, v)| filters(k, v)) {
        q.except = q.ids.take();
    }
    Ok((q, include_counts))
}
