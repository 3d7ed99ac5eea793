//! An FFQL tree as a SQL condition on `records`. The SQL text holds only what this module
//! writes (field indexes are integers from the sheet's config); every value of the query
//! is a bound parameter.
//!
//! A cell's shown text is what search and the grid show (`validate::display`): empty for
//! an empty cell, `true`/`false`, numbers as written, a list's items joined by `, `.

use super::ffql_shape::{equalities_lead, same_field_equalities};
pub use super::ffql_shape::{has_range, in_list_leads, indexed_fields};
use super::sort_index::{pg_kind, Cells};
use crate::blueprint::{FieldType, SheetConfig};
use crate::db::Backend;
use crate::ffql::{CellTest, Cmp, FieldSpec, Kind, Node, Status};
use diesel::backend::Backend as DieselBackend;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, Double, HasSqlType, Text};
use diesel::QueryResult;

/// A PostgreSQL pattern for a day a date cell may hold, `YYYY-MM-DD` in the years 1000-9999
/// (as validation reads dates): months of 31, 30 and 28 days, and the 29th of February in
/// leap years (divisible by 4, by 400 for centuries).
const PG_CALENDAR_DATE: &str = "^[1-9][0-9]{3}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))$|^([1-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[13579][26])00)-02-29$";

/// The fields of a sheet as FFQL names and compares them.
pub fn field_specs(config: &SheetConfig) -> Vec<FieldSpec> {
    config
        .fields
        .iter()
        .map(|f| FieldSpec {
            key: f.key.clone(),
            label: f.label.clone(),
            kind: match f.field_type {
                FieldType::String | FieldType::Enum { .. } | FieldType::Reference { .. } => Kind::Text,
                FieldType::Number { .. } => Kind::Number,
                FieldType::Boolean => Kind::Boolean,
                FieldType::Date => Kind::Date,
                FieldType::StringList | FieldType::EnumList { .. } | FieldType::ReferenceList { .. } => {
                    Kind::List
                }
            },
        })
        .collect()
}

/// Reads an FFQL query against the sheet's fields. An enum field compared for equality with
/// one of its options' labels (`country eq "United Kingdom"`) is compared with that option's
/// value (`GB`), which its cells hold, as the grid's column values and the mapping screen
/// show labels (probe 66h D10: nothing was found).
pub fn compile(config: &SheetConfig, text: &str) -> Result<Node, crate::ffql::Error> {
    crate::ffql::compile(text, &field_specs(config)).map(|node| labels_as_values(config, node))
}

fn labels_as_values(config: &SheetConfig, node: Node) -> Node {
    let each = |items: Vec<Node>| items.into_iter().map(|n| labels_as_values(config, n)).collect();
    match node {
        Node::And(items) => Node::And(each(items)),
        Node::Or(items) => Node::Or(each(items)),
        Node::Not(inner) => Node::Not(Box::new(labels_as_values(config, *inner))),
        Node::Cell { field, test } => {
            let options = match config.fields.get(field).map(|f| &f.field_type) {
                Some(FieldType::Enum { options } | FieldType::EnumList { options }) => options,
                _ => return Node::Cell { field, test },
            };
            let test = match test {
                CellTest::Text(Cmp::Eq, given) => CellTest::Text(Cmp::Eq, option_value(options, given)),
                // An option-list cell: an item named by its label (probe 69e D1), or a list
                // of them as the cell shows it (`Alpha, Beta`).
                CellTest::Contains(given) => CellTest::Contains(option_value(options, given)),
                CellTest::Shown(Cmp::Eq, given) => {
                    let items: Vec<String> = given
                        .split(',')
                        .map(|i| option_value(options, i.trim().to_string()))
                        .collect();
                    CellTest::Shown(Cmp::Eq, items.join(", "))
                }
                other => other,
            };
            Node::Cell { field, test }
        }
        other => other,
    }
}

/// The option `given` names: itself when it is an option's value, else the value of the
/// option it is the label of (in any case), else itself.
fn option_value(options: &[crate::blueprint::EnumOption], given: String) -> String {
    if options.iter().any(|o| o.value == given) {
        return given;
    }
    options
        .iter()
        .find(|o| o.label.to_lowercase() == given.to_lowercase())
        .map_or(given, |o| o.value.clone())
}

#[derive(Debug, Clone)]
enum Part {
    Sql(String),
    Text(String),
    Double(f64),
    /// A whole number that fits: compared exactly (as a double, 2^53 + 1 was 2^53).
    Integer(i64),
}

/// A boolean SQL condition built from an FFQL tree, usable in `.filter()`.
#[derive(Debug, Clone)]
pub struct Condition {
    parts: Vec<Part>,
}

impl Condition {
    pub fn new(cells: Cells, node: &Node) -> Condition {
        Condition::build(cells, node, false)
    }

    /// The same condition with its ranges kept from the fields' sort indexes (SQLite's
    /// unary `+`), for a read that walks the sheet in id order instead.
    pub fn scanning(cells: Cells, node: &Node) -> Condition {
        Condition::build(cells, node, true)
    }

    /// The condition a page of records is read with. SQLite's planner, without statistics,
    /// prefers a range's sort index to equalities of text (3.2 s for `(email eq a or email
    /// eq b) and age gte 30` at a million records): when the query's top level holds such
    /// equalities, its ranges stay off the sort indexes and the equalities lead.
    pub fn for_page(cells: Cells, node: &Node) -> Condition {
        Condition::build(cells, node, equalities_lead(node))
    }

    /// The records whose stored values or kept inputs hold `text` as JSON writes it. JSON
    /// escapes each character on its own, so every record with a text cell that shows
    /// `text` is among them: a find and replace reads only these, and checks each cell.
    /// In any case of ASCII letters when `any_case` (`lower()` in the C collation, which
    /// changes those only: a Turkish collation lowered `I` to `ı`, and `ID-42` was missed
    /// for `id-42`, probe 76a D1), as [`super::find_text`] finds an ASCII text.
    pub fn holds_text(backend: Backend, text: &str, any_case: bool) -> Condition {
        let json = serde_json::to_string(text).unwrap_or_default();
        let written = json[1..json.len() - 1].to_string();
        // `instr(haystack, needle) > 0` (SQLite), `strpos` (PostgreSQL); raw may be NULL.
        let (open, close) = match backend {
            Backend::Sqlite => ("instr(", ")"),
            Backend::Postgres => ("strpos(", " COLLATE \"C\")"),
        };
        let (lower, lowered) = match (any_case, backend) {
            (false, _) => ("", ""),
            (true, Backend::Sqlite) => ("lower(", ")"),
            (true, Backend::Postgres) => ("lower(", " COLLATE \"C\")"),
        };
        let text = |t: &str| match backend {
            Backend::Sqlite => vec![
                Part::Sql(lower.into()),
                Part::Text(t.to_string()),
                Part::Sql(lowered.into()),
            ],
            Backend::Postgres => vec![
                Part::Sql(format!("{lower}CAST(")),
                Part::Text(t.to_string()),
                Part::Sql(format!(" AS text){lowered}")),
            ],
        };
        let mut parts = vec![Part::Sql(format!("({open}{lower}vals{lowered}, "))];
        parts.extend(text(&written));
        parts.push(Part::Sql(format!(
            "{close} > 0 OR COALESCE({open}{lower}raw{lowered}, "
        )));
        parts.extend(text(&written));
        parts.push(Part::Sql(format!("{close}, 0) > 0)")));
        Condition { parts }
    }

    fn build(cells: Cells, node: &Node, scan: bool) -> Condition {
        let mut b = Builder {
            backend: cells.backend,
            cells,
            scan,
            parts: Vec::new(),
        };
        b.node(node);
        Condition { parts: b.parts }
    }
}

struct Builder {
    backend: Backend,
    /// How the sheet's cells are read (its sort keys' columns on SQLite).
    cells: Cells,
    /// Ranges stay off the sort indexes (see [`Condition::scanning`]).
    scan: bool,
    parts: Vec<Part>,
}

impl Builder {
    fn sql(&mut self, s: impl Into<String>) {
        self.parts.push(Part::Sql(s.into()));
    }

    fn text(&mut self, t: &str) {
        self.parts.push(Part::Text(t.to_string()));
    }

    fn node(&mut self, node: &Node) {
        if let (Backend::Sqlite, Some((field, values))) = (self.backend, same_field_equalities(node)) {
            // One `IN` the field's sort index serves (SQLite plans an `or` of them as a scan).
            self.sql(format!(
                "(json_type(vals, '$[{field}]') = 'text' AND {} IN (",
                self.cells.expression(field)
            ));
            for (n, v) in values.iter().enumerate() {
                if n > 0 {
                    self.sql(", ");
                }
                self.text(v);
            }
            self.sql("))");
            return;
        }
        match node {
            Node::And(items) | Node::Or(items) => {
                let join = if matches!(node, Node::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                self.sql("(");
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        self.sql(join);
                    }
                    self.node(item);
                }
                self.sql(")");
            }
            // A leaf may be NULL (a missing cell); "not" must still keep it.
            Node::Not(inner) => {
                self.sql("(NOT COALESCE(");
                self.node(inner);
                self.sql(", FALSE))");
            }
            Node::Cell { field, test } => self.cell(*field, test),
            Node::Record(status) => {
                let s = match (status, self.backend) {
                    (Status::Error, _) => "(NOT valid)".to_string(),
                    (Status::Valid, _) => "(valid)".to_string(),
                    (Status::Warning, backend) => any_warning(backend, &record_warning),
                };
                self.sql(s);
            }
            Node::Field { field: i, status } => {
                let s = match (status, self.backend) {
                    (Status::Error, _) => format!("(COALESCE(error_fields, '') LIKE '%,{i},%')"),
                    (Status::Valid, _) => format!("(COALESCE(error_fields, '') NOT LIKE '%,{i},%')"),
                    (Status::Warning, backend) => {
                        any_warning(backend, &|b, column| cell_warning(b, column, *i))
                    }
                };
                self.sql(s);
            }
        }
    }

    /// The cell as JSON (PostgreSQL) and its JSON type's test.
    fn cell(&mut self, i: usize, test: &CellTest) {
        let sqlite = self.backend == Backend::Sqlite;
        let typ = if sqlite {
            format!("json_type(vals, '$[{i}]')")
        } else {
            format!("jsonb_typeof((vals::jsonb)->{i})")
        };
        let range = matches!(test, CellTest::Number(c, _) | CellTest::Date(c, _) if *c != Cmp::Eq);
        let raw = if sqlite && self.scan && range {
            format!("+{}", self.cells.expression(i))
        } else if sqlite {
            self.cells.expression(i)
        } else {
            format!("((vals::jsonb)->>{i})")
        };
        match test {
            // Equality with text, in a field that is not a list: the text cells against the
            // value, the form the sheet's sort index on the field serves. (Only an enum's
            // raw input kept as a number or list could show the text otherwise, and `eq`
            // does not find it.)
            CellTest::Text(Cmp::Eq, value) if !value.is_empty() => {
                if sqlite {
                    self.sql(format!("({typ} = 'text' AND {raw} = "));
                    self.text(value);
                    self.sql(")");
                } else {
                    // Led by the cell's kind, as the sort index is.
                    self.sql(format!(
                        "({} = 2 AND {} = to_jsonb(CAST(",
                        pg_kind(i),
                        self.cells.expression(i)
                    ));
                    self.text(value);
                    self.sql(" AS text)))");
                }
            }
            CellTest::Text(cmp, value) | CellTest::Shown(cmp, value) => {
                let collate = if sqlite { "" } else { " COLLATE \"C\"" };
                let shown = shown(self.backend, i);
                if cmp.leaves_out_empty(value) {
                    self.sql(format!("({shown} <> '' AND "));
                }
                self.sql(format!("({shown}{collate} {} ", cmp.sql()));
                self.param_text(value);
                self.sql(")");
                if cmp.leaves_out_empty(value) {
                    self.sql(")");
                }
            }
            CellTest::Number(cmp, n) => {
                if sqlite {
                    self.sql(format!("({typ} IN ('integer', 'real') AND {raw} {} ", cmp.sql()));
                    self.parts.push(match n.as_i64() {
                        Some(whole) => Part::Integer(whole),
                        None => Part::Double(n.as_f64().unwrap_or(f64::NAN)),
                    });
                    self.sql(")");
                } else {
                    // jsonb orders numbers as numeric (exact, whatever their size) and
                    // places other types around them, hence the type test; the cell's kind
                    // and the bare cell are what the sort index on the field holds.
                    self.sql(format!(
                        "({typ} = 'number' AND {} = 1 AND {} {} to_jsonb(CAST(",
                        pg_kind(i),
                        self.cells.expression(i),
                        cmp.sql()
                    ));
                    self.text(&n.to_string());
                    self.sql(" AS numeric)))");
                }
            }
            CellTest::Date(cmp, day) => {
                // Cells that hold a date hold it as `YYYY-MM-DD`, which orders as text;
                // a cell whose input was not a date keeps that input and takes no part,
                // even when shaped like one (`2024-02-30`: SQLite's `date` moves it on to
                // March with a modifier; PostgreSQL's pattern knows the calendar).
                let is_date = if sqlite {
                    format!(
                        "{typ} = 'text' AND {raw} GLOB '[1-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' \
                         AND date({raw}, '+0 days') = {raw}"
                    )
                } else {
                    format!("{typ} = 'string' AND {raw} ~ '{PG_CALENDAR_DATE}'")
                };
                if sqlite {
                    self.sql(format!("({is_date} AND {raw} {} ", cmp.sql()));
                    self.text(day);
                    self.sql(")");
                } else {
                    // ISO dates order the same in any collation; the cell's kind and the bare
                    // cell are what the sort index holds.
                    let (kind, cell) = (pg_kind(i), self.cells.expression(i));
                    self.sql(format!(
                        "({is_date} AND {kind} = 2 AND {cell} {} to_jsonb(CAST(",
                        cmp.sql()
                    ));
                    self.text(day);
                    self.sql(" AS text)))");
                }
            }
            CellTest::Bool(b) => {
                self.sql(if sqlite {
                    format!("({typ} = '{b}')")
                } else {
                    format!("((vals::jsonb)->{i} = '{b}'::jsonb)")
                });
            }
            CellTest::Like {
                pattern,
                case_insensitive,
            } => {
                let shown = shown(self.backend, i);
                if sqlite {
                    self.sql(format!("wharf_like({shown}, "));
                    self.text(pattern);
                    self.sql(format!(", {})", if *case_insensitive { 1 } else { 0 }));
                } else if *case_insensitive {
                    self.sql(format!("(lower({shown} COLLATE \"und-x-icu\") LIKE lower(CAST("));
                    self.text(pattern);
                    self.sql(" AS text) COLLATE \"und-x-icu\") ESCAPE '\\')");
                } else {
                    self.sql(format!("({shown} LIKE CAST("));
                    self.text(pattern);
                    self.sql(" AS text) ESCAPE '\\')");
                }
            }
            CellTest::Contains(item) => {
                if sqlite {
                    self.sql(format!(
                        "({typ} = 'array' AND EXISTS (SELECT 1 FROM json_each(vals, '$[{i}]') AS j \
                         WHERE j.type = 'text' AND j.value = "
                    ));
                    self.text(item);
                    self.sql("))");
                } else {
                    self.sql(format!(
                        "COALESCE({typ} = 'array' AND (vals::jsonb)->{i} @> jsonb_build_array(CAST("
                    ));
                    self.text(item);
                    self.sql(" AS text)), FALSE)");
                }
            }
        }
    }

    fn param_text(&mut self, value: &str) {
        if self.backend == Backend::Sqlite {
            self.text(value);
        } else {
            self.sql("CAST(");
            self.text(value);
            self.sql(" AS text)");
        }
    }
}

/// The text cell `i` shows, never NULL, as the grid shows it (`validate::display`): a real
/// number as its JSON text (`1e20`; SQLite's own text of it is `1.0e+20`).
fn shown(backend: Backend, i: usize) -> String {
    match backend {
        Backend::Sqlite => format!(
            "COALESCE(CASE json_type(vals, '$[{i}]') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
             WHEN 'array' THEN (SELECT group_concat(CASE j.type WHEN 'true' THEN 'true' \
             WHEN 'false' THEN 'false' ELSE j.value END, ', ') FROM json_each(vals, '$[{i}]') AS j) \
             WHEN 'real' THEN vals -> '$[{i}]' \
             ELSE CAST(json_extract(vals, '$[{i}]') AS TEXT) END, '')"
        ),
        // `json`, not `jsonb`: a number shows as written (`1e20`), not as jsonb rewrites it.
        Backend::Postgres => format!(
            "COALESCE(CASE json_typeof((vals::json)->{i}) WHEN 'array' THEN \
             (SELECT string_agg(e.t, ', ' ORDER BY e.n) FROM \
             json_array_elements_text((vals::json)->{i}) WITH ORDINALITY AS e(t, n)) \
             ELSE (vals::json)->>{i} END, '')"
        ),
    }
}

impl Expression for Condition {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for Condition {}
impl<QS> SelectableExpression<QS> for Condition {}

impl ValidGrouping<()> for Condition {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for Condition {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for Condition
where
    DB: DieselBackend + HasSqlType<Text> + HasSqlType<Double> + HasSqlType<BigInt>,
    String: ToSql<Text, DB>,
    f64: ToSql<Double, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        for part in &self.parts {
            match part {
                Part::Sql(s) => out.push_sql(s),
                Part::Text(t) => out.push_bind_param::<Text, String>(t)?,
                Part::Double(d) => out.push_bind_param::<Double, f64>(d)?,
                Part::Integer(n) => out.push_bind_param::<BigInt, i64>(n)?,
            }
        }
        Ok(())
    }
}

/// A warning in Wharf's messages or in those listener code put on cells (`custom`).
fn any_warning(backend: Backend, test: &dyn Fn(Backend, &str) -> String) -> String {
    format!("({} OR {})", test(backend, "messages"), test(backend, "custom"))
}

/// Whether any cell's messages in `column` hold a warning.
fn record_warning(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            "EXISTS (SELECT 1 FROM json_each(COALESCE({column}, '{{}}')) AS f, \
             json_each(f.value) AS m WHERE json_extract(m.value, '$.type') = 'warn')"
        ),
        Backend::Postgres => format!(
            "EXISTS (SELECT 1 FROM jsonb_each(COALESCE({column}, '{{}}')::jsonb) AS f \
             WHERE f.value @> '[{{\"type\":\"warn\"}}]'::jsonb)"
        ),
    }
}

/// Whether field `i`'s messages in `column` hold a warning.
fn cell_warning(backend: Backend, column: &str, i: usize) -> String {
    match backend {
        Backend::Sqlite => format!(
            "EXISTS (SELECT 1 FROM json_each(COALESCE({column}, '{{}}'), '$.\"{i}\"') AS m \
             WHERE json_extract(m.value, '$.type') = 'warn')"
        ),
        Backend::Postgres => {
            format!("COALESCE(({column}::jsonb)->'{i}' @> '[{{\"type\":\"warn\"}}]'::jsonb, FALSE)")
        }
    }
}

#[cfg(test)]
#[path = "ffql_sql_tests.rs"]
mod tests;
