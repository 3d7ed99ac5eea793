//! SQL functions Wharf registers on each SQLite connection: the record search's exact cell
//! check and the text its index holds, and FFQL's `like`. PostgreSQL has its own `wharf_search_text` (a
//! migration) and checks cells in SQL. Both sides fold text alike ([`fold`]), so a term
//! folded in Rust compares with what these functions return.

use crate::validate::display;
use diesel::sql_types::{BigInt, Bool, Text};
use serde_json::Value;

diesel::define_sql_function! {
    /// True when a cell (field `field`, or any field when it is -1) of a stored record
    /// shows `term` (already folded).
    fn wharf_cells_contain(vals: Text, field: BigInt, term: Text) -> Bool;
}

diesel::define_sql_function! {
    /// What the search index holds for a record (see [`search_text`]).
    fn wharf_search_text(vals: Text) -> Text;
}

diesel::define_sql_function! {
    /// LIKE with `\` escapes, case-sensitive or not (SQLite's own LIKE ignores ASCII case
    /// only, and always): FFQL's `like` and `ilike`.
    fn wharf_like(text: Text, pattern: Text, case_insensitive: Bool) -> Bool;
}

/// Registers the functions on a new connection (the search index's triggers call
/// `wharf_search_text`).
pub fn register(conn: &mut diesel::SqliteConnection) -> diesel::QueryResult<()> {
    wharf_cells_contain_utils::register_impl(conn, |vals: String, field: i64, term: String| {
        cells_contain(&vals, usize::try_from(field).ok(), &term)
    })?;
    wharf_search_text_utils::register_impl(conn, |vals: String| search_text(&vals))?;
    // A read past its budget matches nothing more, so the progress handler stops it soon.
    wharf_like_utils::register_impl(conn, |text: String, pattern: String, ci: bool| {
        !super::budget::spent() && crate::ffql::like_matches(&text, &pattern, ci)
    })
}

/// The record's cells as shown, folded, separated by U+001F (so no match spans two cells).
pub fn search_text(vals: &str) -> String {
    let values: Vec<Value> = serde_json::from_str(vals).unwrap_or_default();
    values
        .iter()
        .map(|v| fold(&display(v)))
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

/// Whether two records' values give the same [`search_text`], so the search index need not
/// hear of the change (a change of case, or of messages alone).
pub fn same_search_text(old: &[Value], new: &[Value]) -> bool {
    old.len() == new.len()
        && old
            .iter()
            .zip(new)
            .all(|(a, b)| a == b || fold(&display(a)) == fold(&display(b)))
}

/// The folded form both sides are compared in.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// Whether the stored values (a JSON array in field order) show `folded_term` in one
/// field or in any.
pub fn cells_contain(vals: &str, field: Option<usize>, folded_term: &str) -> bool {
    let Ok(values) = serde_json::from_str::<Vec<Value>>(vals) else {
        return false;
    };
    let shows = |v: &Value| fold(&display(v)).contains(folded_term);
    match field {
        Some(i) => values.get(i).is_some_and(shows),
        None => values.iter().any(shows),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_what_cells_show_not_the_json() {
        let vals = r#"["Ada","john_doe@x.io",1234,true,null,"Müller 100%"]"#;
        assert!(cells_contain(vals, None, "ada"));
        assert!(cells_contain(vals, None, "john_doe"));
        assert!(!cells_contain(vals, None, "john%doe"));
        assert!(cells_contain(vals, Some(2), "123"));
        assert!(cells_contain(vals, Some(3), "true"));
        assert!(cells_contain(vals, None, &fold("MÜLLER")));
        assert!(cells_contain(vals, None, "100%"));
        assert!(!cells_contain(vals, None, "null"));
        assert!(!cells_contain(vals, None, "\",\""));
        assert!(!cells_contain(vals, Some(0), "john"));
    }

    #[test]
    fn the_same_search_text_is_what_the_index_would_hold_again() {
        use serde_json::json;
        let same = |a: Value, b: Value| {
            let (a, b) = (a.as_array().unwrap().clone(), b.as_array().unwrap().clone());
            let text = |v: &[Value]| search_text(&Value::Array(v.to_vec()).to_string());
            assert_eq!(same_search_text(&a, &b), text(&a) == text(&b), "{a:?} {b:?}");
            same_search_text(&a, &b)
        };
        assert!(same(json!(["Silver", 3]), json!(["silver", 3])));
        assert!(same(json!(["Ada", 5]), json!(["Ada", "5"])));
        assert!(same(json!(["MÜLLER", null]), json!(["müller", null])));
        assert!(!same(json!(["Ada", 5]), json!(["Ada", 6])));
        // An empty cell shows nothing, whether null or "": checked against the text above.
        same(json!(["Ada", null]), json!(["Ada", ""]));
        assert!(!same(json!(["Ada"]), json!(["Ada", null])));
        assert!(!same(json!(["Ada"]), json!(["Adam"])));
    }

    #[test]
    fn the_index_holds_each_cell_as_shown() {
        assert_eq!(
            search_text(r#"["Ada",null,12,true]"#),
            "ada\u{1f}\u{1f}12\u{1f}true"
        );
    }
}
