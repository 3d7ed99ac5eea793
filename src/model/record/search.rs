//! Search: a case-insensitive substring of what a person sees in a cell (its display
//! text), in any field or in one. Never the stored JSON around the values: `null`, `,` or
//! `"` match only cells that show them, and `%` and `_` are plain characters.
//!
//! Each backend first narrows with a cheap LIKE over the stored row text (a superset:
//! it looks only for a piece of the term that the stored text holds verbatim, whatever
//! its case), then checks the cells exactly: SQLite through a function registered on
//! each connection (`db::sqlite_functions`), PostgreSQL in SQL with ICU's case folding (independent of the
//! database's locale).

use crate::db::Backend;
use diesel::sql_types::{BigInt, Text};

// Terms fold as the SQLite functions fold cells, so both sides agree.
use crate::db::sqlite_functions::fold;

/// Candidates beyond which reading records in order finds a page sooner than the index.
const COMMON: i64 = 5000;

/// Whether the index should serve a term: not when its trigrams are so common that
/// walking the sheet in order fills a page sooner (SQLite; PostgreSQL's planner weighs
/// this itself).
pub fn index_pays(
    conn: &mut crate::db::AnyConnection,
    sheet_seq: i64,
    index_query: &str,
) -> diesel::QueryResult<bool> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let crate::db::AnyConnection::Sqlite(c) = conn else {
        return Ok(true);
    };
    let t = super::search_index::name(sheet_seq);
    let found: N = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM (SELECT rowid FROM {t} WHERE {t} MATCH ? \
         UNION ALL {} LIMIT {COMMON})",
        pending(sheet_seq)
    ))
    .bind::<Text, _>(index_query)
    .get_result(c)?;
    Ok(found.n < COMMON)
}

/// Whether a trigram index can serve a term: three characters or more.
pub fn index_serves(term: &str) -> bool {
    term.chars().count() >= 3
}

/// Trigrams the index is asked for at most: enough to be selective, few enough to be quick.
const MAX_TRIGRAMS: usize = 12;

/// The sheet's index narrowing for a term it can serve (three characters or more), around the
/// one bind: `(before, bind, after)`. Candidates only; the exact check decides.
pub fn index_condition(backend: Backend, sheet_seq: i64, term: &Term) -> Option<(String, String, String)> {
    if !index_serves(&term.folded) {
        return None;
    }
    let chars: Vec<char> = term.folded.chars().collect();
    Some(match backend {
        Backend::Sqlite => {
            // Every trigram of the term, as FTS5 strings (`"` doubled), all required.
            let mut trigrams: Vec<String> = chars
                .windows(3)
                .map(|w| format!("\"{}\"", w.iter().collect::<String>().replace('"', "\"\"")))
                .collect();
            trigrams.dedup();
            let step = trigrams.len().div_ceil(MAX_TRIGRAMS);
            let picked: Vec<String> = trigrams.into_iter().step_by(step.max(1)).collect();
            let t = super::search_index::name(sheet_seq);
            (
                format!("id IN (SELECT rowid FROM {t} WHERE {t} MATCH "),
                picked.join(" AND "),
                // Records changed since the index last saw them are candidates too.
                format!(" UNION ALL {})", pending(sheet_seq)),
            )
        }
        // The matches' ids first (an array computed once, through the index), then those
        // records by id. As a plain condition, or an IN subquery, the planner walked the
        // sheet in id order folding every record's text: seconds for a term that matches
        // nothing.
        Backend::Postgres => (
            format!(
                "id = ANY(ARRAY(SELECT id FROM records WHERE sheet_seq = {sheet_seq} \
                 AND wharf_search_text(vals) LIKE "
            ),
            // A list's items are stored apart (`["vip", "new"]`), shown joined by `, `.
            format!(
                "%{}%",
                term.folded
                    .split(", ")
                    .map(escape_like)
                    .collect::<Vec<_>>()
                    .join("%")
            ),
            " ESCAPE '\\'))".to_string(),
        ),
    })
}

/// The sheet's records waiting for its SQLite search index (`search_index::reindex`).
fn pending(sheet_seq: i64) -> String {
    format!("SELECT record_id FROM search_pending WHERE sheet_seq = {sheet_seq}")
}

/// A search term, ready for SQL.
#[derive(Debug, Clone)]
pub struct Term {
    pub folded: String,
    /// A LIKE pattern (escape `\`) that every matching row's stored text matches.
    pub prefilter: Option<String>,
}

impl Term {
    pub fn new(term: &str) -> Term {
        Term {
            folded: fold(term),
            prefilter: verbatim_piece(term).map(|p| format!("%{}%", escape_like(p))),
        }
    }
}

/// The longest piece of the term that the stored JSON text holds verbatim and that LIKE
/// compares without regard to case: ASCII, and nothing JSON escapes (`"`, `\`, controls).
/// Nor a comma with what is around it: a list cell shows `vip, new` and is stored as
/// `["vip","new"]`.
fn verbatim_piece(term: &str) -> Option<&str> {
    term.split(|c: char| !c.is_ascii() || c == '"' || c == '\\' || c == ',' || c.is_ascii_control())
        .map(|p| p.trim_matches(' '))
        .max_by_key(|p| p.len())
        .filter(|p| !p.is_empty())
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The SQL that keeps the records whose cells show the term, around the one bind of the
/// folded term: `(before, after)`.
pub fn exact_condition(backend: Backend, field: Option<usize>) -> (String, &'static str) {
    match (backend, field) {
        (Backend::Sqlite, f) => (
            format!("wharf_cells_contain(vals, {}, ", f.map_or(-1, |i| i as i64)),
            ")",
        ),
        (Backend::Postgres, Some(i)) => (
            format!(
                "strpos(lower({} COLLATE \"und-x-icu\"), ",
                pg_shown(&format!("((vals::json)->{i})"))
            ),
            ") > 0",
        ),
        (Backend::Postgres, None) => (
            format!(
                "EXISTS (SELECT 1 FROM json_array_elements(vals::json) AS cell(j) \
                 WHERE strpos(lower({} COLLATE \"und-x-icu\"), ",
                pg_shown("cell.j")
            ),
            ") > 0)",
        ),
    }
}

/// A stored cell (`json`, so a number reads as written, `1e+21`, where `jsonb` rewrites
/// it) as the grid shows it, in PostgreSQL: a list's items joined by `, ` (`vip, new`),
/// anything else as its text. `wharf_search_text` (migration 000026) reads cells the same way.
fn pg_shown(cell: &str) -> String {
    format!(
        "(CASE WHEN json_typeof({cell}) = 'array' \
         THEN (SELECT string_agg(item, ', ' ORDER BY n) FROM json_array_elements_text({cell}) WITH ORDINALITY AS items(item, n)) \
         ELSE {cell} #>> '{{}}' END)"
    )
}

/// The cheap narrowing condition: LIKE without regard to (ASCII) case.
pub fn prefilter_condition(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "vals LIKE ",
        Backend::Postgres => "vals ILIKE ",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_is_asked_for_every_trigram_of_longer_terms() {
        let (_, q, _) = index_condition(Backend::Sqlite, 1, &Term::new("Say \"hi")).unwrap();
        assert_eq!(q, r#""say" AND "ay " AND "y """ AND " ""h" AND """hi""#);
        assert!(index_condition(Backend::Sqlite, 1, &Term::new("ab")).is_none());
        let (_, q, _) = index_condition(Backend::Sqlite, 1, &Term::new(&"x".repeat(40))).unwrap();
        assert_eq!(q, r#""xxx""#, "repeated trigrams are asked once");
    }

    #[test]
    fn the_prefilter_is_a_verbatim_piece_of_the_term() {
        assert_eq!(Term::new("john_doe").prefilter.as_deref(), Some("%john\\_doe%"));
        assert_eq!(Term::new("MÜLLER").prefilter.as_deref(), Some("%LLER%"));
        assert_eq!(Term::new("東京").prefilter, None);
        assert_eq!(Term::new("a\"bc").prefilter.as_deref(), Some("%bc%"));
        assert_eq!(Term::new("100%").prefilter.as_deref(), Some("%100\\%%"));
        // A list cell shows its items joined by ", ".
        assert_eq!(Term::new("vip, news").prefilter.as_deref(), Some("%news%"));
        assert_eq!(Term::new("a, bcd").prefilter.as_deref(), Some("%bcd%"));
    }
}
