//! Shared by the benchmarks: the 10-field sheet, its generated rows, timing helpers.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::time::Duration;

pub const FIELDS: [&str; 10] = [
    "first_name",
    "last_name",
    "email",
    "age",
    "salary",
    "active",
    "joined",
    "tier",
    "city",
    "notes",
];

/// The typed 10-field sheet the benchmarks fill.
pub fn blueprint() -> Value {
    json!({
        "name": "Bench", "slug": "bench",
        "workbooks": [{"name": "Bench", "sheets": [{"name": "People", "slug": "people", "fields": [
            {"key": "first_name", "type": "string", "label": "First name"},
            {"key": "last_name", "type": "string", "label": "Last name"},
            {"key": "email", "type": "string", "label": "Email", "constraints": [{"type": "required"}]},
            {"key": "age", "type": "number", "label": "Age"},
            {"key": "salary", "type": "number", "label": "Salary"},
            {"key": "active", "type": "boolean", "label": "Active"},
            {"key": "joined", "type": "date", "label": "Joined"},
            {"key": "tier", "type": "enum", "label": "Tier", "config": {"options": [
                {"value": "gold", "label": "Gold"}, {"value": "silver", "label": "Silver"}, {"value": "bronze", "label": "Bronze"}]}},
            {"key": "city", "type": "string", "label": "City"},
            {"key": "notes", "type": "string", "label": "Notes"}
        ]}]}]
    })
}

const FIRST: [&str; 8] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken",
];
const LAST: [&str; 8] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
];
const CITIES: [&str; 6] = ["Lisbon", "Oslo", "Lagos", "Lima", "Osaka", "Perth"];
const TIERS: [&str; 3] = ["gold", "Silver", "bronze"];

/// Row `i` as text cells; one row in 20 has an age that is not a number.
pub fn row(i: usize) -> [String; 10] {
    let h = i.wrapping_mul(2654435761) % 1_000_003;
    [
        FIRST[i % 8].to_string(),
        LAST[h % 8].to_string(),
        format!("user{i}@example.com"),
        if i % 20 == 7 {
            "n/a".to_string()
        } else {
            (18 + h % 60).to_string()
        },
        format!("{}.{:02}", 20_000 + h % 90_000, h % 100),
        if h.is_multiple_of(2) {
            "yes".into()
        } else {
            "no".into()
        },
        format!("20{:02}-{:02}-{:02}", 10 + h % 15, 1 + h % 12, 1 + h % 28),
        TIERS[h % 3].to_string(),
        CITIES[h % 6].to_string(),
        format!("note {h}"),
    ]
}

/// Rows `start..end` as the body of `POST /v1/sheets/{id}/records`.
pub fn batch_body(start: usize, end: usize) -> Vec<u8> {
    let records: Vec<Value> = (start..end)
        .map(|i| {
            let cells = row(i);
            let obj: serde_json::Map<String, Value> = FIELDS
                .iter()
                .zip(cells)
                .map(|(k, v)| (k.to_string(), json!({ "value": v })))
                .collect();
            Value::Object(obj)
        })
        .collect();
    serde_json::to_vec(&records).expect("serialize")
}

pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
