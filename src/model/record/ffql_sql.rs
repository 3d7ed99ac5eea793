//! An FFQL tree as a SQL condition on `records`. The SQL text holds only what this module
//! writes (field indexes are integers from the sheet's config); every value of the query
//! is a bound parameter.
//!
//! A cell's shown text is what search and the grid show (`validate::display`): empty for
//! an empty cell, `true`/`false`, numbers as written, a list's items joined by `, `.

use crate::blueprint::{FieldType, SheetConfig};
use crate::db::Backend;
use crate::ffql::{CellTest, FieldSpec, Kind, Node, Status};
use diesel::backend::Backend as DieselBackend;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, Double, HasSqlType, Text};
use diesel::QueryResult;

diesel::define_sql_function! {
    /// LIKE with `\` escapes, case-sensitive or not (SQLite's own LIKE ignores ASCII case
    /// only, and always).
    fn wharf_like(text: Text, pattern: Text, case_insensitive: Bool) -> Bool;
}

/// Registers `wharf_like` on a new SQLite connection.
pub fn register_sqlite_functions(conn: &mut diesel::SqliteConnection) -> QueryResult<()> {
    wharf_like_utils::register_impl(conn, |text: String, pattern: String, ci: bool| {
        crate::ffql::like_matches(&text, &pattern, ci)
    })
}

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
                FieldType::StringList | FieldType::EnumList { .. } => Kind::List,
            },
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Part {
    Sql(String),
    Text(String),
    Double(f64),
}

/// A boolean SQL condition built from an FFQL tree, usable in `.filter()`.
#[derive(Debug, Clone)]
pub struct Condition {
    parts: Vec<Part>,
}

impl Condition {
    pub fn new(backend: Backend, node: &Node) -> Condition {
        let mut b = Builder {
            backend,
            parts: Vec::new(),
        };
        b.node(node);
        Condition { parts: b.parts }
    }
}

struct Builder {
    backend: Backend,
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
                    (Status::Error, _) => "(NOT valid)",
                    (Status::Valid, _) => "(valid)",
                    (Status::Warning, Backend::Sqlite) => {
                        "EXISTS (SELECT 1 FROM json_each(COALESCE(messages, '{}')) AS f, \
                         json_each(f.value) AS m WHERE json_extract(m.value, '$.type') = 'warn')"
                    }
                    (Status::Warning, Backend::Postgres) => {
                        "EXISTS (SELECT 1 FROM jsonb_each(COALESCE(messages, '{}')::jsonb) AS f \
                         WHERE f.value @> '[{\"type\":\"warn\"}]'::jsonb)"
                    }
                };
                self.sql(s);
            }
            Node::Field { field: i, status } => {
                let s = match (status, self.backend) {
                    (Status::Error, _) => format!("(COALESCE(error_fields, '') LIKE '%,{i},%')"),
                    (Status::Valid, _) => format!("(COALESCE(error_fields, '') NOT LIKE '%,{i},%')"),
                    (Status::Warning, Backend::Sqlite) => format!(
                        "EXISTS (SELECT 1 FROM json_each(COALESCE(messages, '{{}}'), '$.\"{i}\"') AS m \
                         WHERE json_extract(m.value, '$.type') = 'warn')"
                    ),
                    (Status::Warning, Backend::Postgres) => format!(
                        "COALESCE((messages::jsonb)->'{i}' @> '[{{\"type\":\"warn\"}}]'::jsonb, FALSE)"
                    ),
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
        let raw = if sqlite {
            format!("json_extract(vals, '$[{i}]')")
        } else {
            format!("((vals::jsonb)->>{i})")
        };
        match test {
            CellTest::Text(cmp, value) => {
                let collate = if sqlite { "" } else { " COLLATE \"C\"" };
                self.sql(format!("({}{collate} {} ", shown(self.backend, i), cmp.sql()));
                self.param_text(value);
                self.sql(")");
            }
            CellTest::Number(cmp, n) => {
                if sqlite {
                    self.sql(format!("({typ} IN ('integer', 'real') AND {raw} {} ", cmp.sql()));
                    self.parts.push(Part::Double(n.as_f64().unwrap_or(f64::NAN)));
                    self.sql(")");
                } else {
                    // numeric on both sides: exact, whatever the number's size.
                    self.sql(format!(
                        "(CASE WHEN {typ} = 'number' THEN {raw}::numeric END {} CAST(",
                        cmp.sql()
                    ));
                    self.text(&n.to_string());
                    self.sql(" AS numeric))");
                }
            }
            CellTest::Date(cmp, day) => {
                // Cells that hold a date hold it as `YYYY-MM-DD`, which orders as text;
                // a cell whose input was not a date keeps that input and takes no part.
                let is_date = if sqlite {
                    format!("{typ} = 'text' AND {raw} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'")
                } else {
                    format!("{typ} = 'string' AND {raw} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$'")
                };
                let collate = if sqlite { "" } else { " COLLATE \"C\"" };
                self.sql(format!("({is_date} AND {raw}{collate} {} ", cmp.sql()));
                self.param_text(day);
                self.sql(")");
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

/// The text cell `i` shows, never NULL.
fn shown(backend: Backend, i: usize) -> String {
    match backend {
        Backend::Sqlite => format!(
            "COALESCE(CASE json_type(vals, '$[{i}]') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
             WHEN 'array' THEN (SELECT group_concat(CASE j.type WHEN 'true' THEN 'true' \
             WHEN 'false' THEN 'false' ELSE j.value END, ', ') FROM json_each(vals, '$[{i}]') AS j) \
             ELSE CAST(json_extract(vals, '$[{i}]') AS TEXT) END, '')"
        ),
        Backend::Postgres => format!(
            "COALESCE(CASE jsonb_typeof((vals::jsonb)->{i}) WHEN 'array' THEN \
             (SELECT string_agg(e.t, ', ' ORDER BY e.n) FROM \
             jsonb_array_elements_text((vals::jsonb)->{i}) WITH ORDINALITY AS e(t, n)) \
             ELSE (vals::jsonb)->>{i} END, '')"
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
    DB: DieselBackend + HasSqlType<Text> + HasSqlType<Double>,
    String: ToSql<Text, DB>,
    f64: ToSql<Double, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        for part in &self.parts {
            match part {
                Part::Sql(s) => out.push_sql(s),
                Part::Text(t) => out.push_bind_param::<Text, String>(t)?,
                Part::Double(d) => out.push_bind_param::<Double, f64>(d)?,
            }
        }
        Ok(())
    }
}
