//! `q` against its meaning: a thousand seeded random queries on both databases, each
//! answered as `ffql::eval` (the in-memory meaning) says, or refused as `ffql::compile` does.

use crate::helpers::*;
use crate::on_both;
use crate::records_ffql::{blueprint, people, urlencode};
use serde_json::Value;

/// Each field of the people sheet as FFQL compares it.
fn people_specs() -> Vec<wharf::ffql::FieldSpec> {
    use wharf::ffql::Kind::*;
    blueprint()["workbooks"][0]["sheets"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| wharf::ffql::FieldSpec {
            key: f["key"].as_str().unwrap().into(),
            label: f["label"].as_str().unwrap().into(),
            kind: match f["type"].as_str().unwrap() {
                "number" => Number,
                "boolean" => Boolean,
                "date" => Date,
                "string-list" | "enum-list" => List,
                _ => Text,
            },
        })
        .collect()
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

async fn the_database_agrees_with_the_queries_meaning(db: Db) {
    use rand::{Rng, SeedableRng};
    let app = spawn_app(db).await;
    let path = people(&app).await;
    let specs = people_specs();
    let config =
        wharf::blueprint::parse_sheets(&[blueprint()["workbooks"][0]["sheets"][0].clone()], "$.sheets")
            .expect("the people sheet")
            .remove(0);
    // Every record as a query sees it.
    let (_, all) = app.get_json(&path).await;
    struct Rec {
        email: String,
        vals: Vec<Value>,
        valid: bool,
        errors: Vec<usize>,
        warns: Vec<usize>,
    }
    let recs: Vec<Rec> = all["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let cell = |i: usize| &r["values"][&specs[i].key];
            let with = |kind: &str| {
                (0..specs.len())
                    .filter(|i| {
                        cell(*i)["messages"]
                            .as_array()
                            .is_some_and(|ms| ms.iter().any(|m| m["type"] == kind))
                    })
                    .collect()
            };
            Rec {
                email: cell(0)["value"].as_str().unwrap_or_default().to_string(),
                vals: (0..specs.len()).map(|i| cell(i)["value"].clone()).collect(),
                valid: r["valid"].as_bool().unwrap(),
                errors: with("error"),
                warns: with("warn"),
            }
        })
        .collect();
    // Values to compare with: each field's own cells and a few of its type, and anything.
    let extra = |kind: wharf::ffql::Kind| -> &'static [&'static str] {
        use wharf::ffql::Kind::*;
        match kind {
            Number => &["10", "9", "-1", "12.5", "1,000", "N/A"],
            Date => &["2023-12-01", "01/01/2024", "2024-02-29", "someday", "2024-01"],
            Boolean => &["true", "no", "1"],
            List => &["vip", "VIP", "new", "vip, new"],
            Text => &["Bender%", "%e%", "b_nder%", "%", "_", "Gold", ""],
        }
    };
    let pools: Vec<Vec<String>> = (0..specs.len())
        .map(|i| {
            let mut pool: Vec<String> = recs
                .iter()
                .map(|r| wharf::validate::display(&r.vals[i]))
                .collect();
            pool.extend(extra(specs[i].kind).iter().map(|v| v.to_string()));
            pool
        })
        .collect();
    let anything: Vec<String> = pools.concat();
    let ops = ["eq", "ne", "lt", "gt", "lte", "gte", "like", "ilike", "contains"];
    let mut rng = rand::rngs::StdRng::seed_from_u64(16);
    let condition = |rng: &mut rand::rngs::StdRng| -> String {
        let field = (rng.gen_range(0..10) > 0).then(|| rng.gen_range(0..specs.len()));
        let name = match field {
            None => String::new(),
            Some(i) if rng.gen_bool(0.5) => quoted(&specs[i].label),
            Some(i) => specs[i].key.clone(),
        };
        if rng.gen_bool(0.15) {
            let status = ["error", "valid", "warning"][rng.gen_range(0..3)];
            return format!("{name} is {status}");
        }
        let pool = match field {
            Some(i) if rng.gen_bool(0.8) => &pools[i],
            _ => &anything,
        };
        let value = &pool[rng.gen_range(0..pool.len())];
        format!("{name} {} {}", ops[rng.gen_range(0..ops.len())], quoted(value))
    };
    let mut checked = 0;
    for _ in 0..1000 {
        let q = match rng.gen_range(0..4) {
            0 => condition(&mut rng),
            1 => format!("{} and {}", condition(&mut rng), condition(&mut rng)),
            2 => format!(
                "{} or {} and {}",
                condition(&mut rng),
                condition(&mut rng),
                condition(&mut rng)
            ),
            _ => format!(
                "({} or {}) and {}",
                condition(&mut rng),
                condition(&mut rng),
                condition(&mut rng)
            ),
        };
        let (status, body) = app.get_json(&format!("{path}?q={}", urlencode(&q))).await;
        // As Wharf reads it against the sheet (an option's label compares as its value).
        match wharf::model::record::ffql_sql::compile(&config, &q) {
            Err(e) => {
                assert_eq!(status, 400, "q={q}: {body}");
                assert_eq!(body["errors"][0]["message"], e.message, "q={q}");
            }
            Ok(node) => {
                assert_eq!(status, 200, "q={q}: {body}");
                let mut want: Vec<&str> = recs
                    .iter()
                    .filter(|r| {
                        let view = wharf::ffql::eval::RecordView {
                            vals: &r.vals,
                            valid: r.valid,
                            error_fields: &r.errors,
                            warn_fields: &r.warns,
                        };
                        wharf::ffql::eval::matches(&node, &view)
                    })
                    .map(|r| r.email.as_str())
                    .collect();
                want.sort();
                let mut got: Vec<&str> = body["data"]["records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["values"]["email"]["value"].as_str().unwrap_or_default())
                    .collect();
                got.sort();
                assert_eq!(got, want, "q={q}");
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "only {checked} queries were valid");
}

on_both!(the_database_agrees_with_the_queries_meaning);
