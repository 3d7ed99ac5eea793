//! A sheet's `unique` constraint over several fields (Flatfile's composite uniqueness):
//! two records holding the same values in all its fields are both flagged, on each of
//! those fields, and the flags follow every write: edits, deletes, bulk changes, many
//! writers at once.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

const PAIR: &str =
    "First and Last must be unique together; another record has the same values (constraint full-name)";

fn people(space: &str, constraints: Value) -> Value {
    json!({"name": "W", "spaceId": space, "sheets": [{"name": "People", "slug": "people",
        "fields": [
            {"key": "first", "type": "string", "label": "First"},
            {"key": "last", "type": "string", "label": "Last"},
            {"key": "email", "type": "string", "label": "Email", "constraints": [{"type": "unique"}]},
            {"key": "team", "type": "string"}],
        "constraints": constraints}]})
}

async fn people_sheet(app: &TestApp, constraints: Value) -> String {
    let space = app.bare_space("Pairs").await;
    let (status, wb) = app.post_json("/workbooks", &people(&space, constraints)).await;
    assert_eq!(status, 200, "{wb}");
    wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string()
}

/// Each record's id, values and the unique messages on each of its fields, in id order.
async fn read(app: &TestApp, sheet: &str) -> Vec<(String, Value, HashMap<String, Vec<String>>)> {
    let (status, got) = app
        .get_json(&format!("/sheets/{sheet}/records?pageSize=1000"))
        .await;
    assert_eq!(status, 200, "{got}");
    got["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut msgs = HashMap::new();
            for (key, cell) in r["values"].as_object().unwrap() {
                let texts: Vec<String> = cell["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|m| m["source"] == "unique-constraint")
                    .map(|m| m["message"].as_str().unwrap().to_string())
                    .collect();
                msgs.insert(key.clone(), texts);
            }
            (r["id"].as_str().unwrap().to_string(), r.clone(), msgs)
        })
        .collect()
}

fn flagged(msgs: &HashMap<String, Vec<String>>) -> bool {
    let on_first = msgs["first"].iter().any(|m| m == PAIR);
    let on_last = msgs["last"].iter().any(|m| m == PAIR);
    assert_eq!(
        on_first, on_last,
        "the message sits on both fields or neither: {msgs:?}"
    );
    on_first
}

async fn counts(app: &TestApp, sheet: &str) -> (i64, i64) {
    let (_, c) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    let c = &c["data"]["counts"];
    (c["valid"].as_i64().unwrap(), c["error"].as_i64().unwrap())
}

fn row(first: &str, last: &str, email: &str) -> Value {
    json!({"first": {"value": first}, "last": {"value": last}, "email": {"value": email}})
}

async fn a_pair_held_twice_is_flagged_on_both_records_and_fields(db: Db) {
    let app = spawn_app(db).await;
    let sheet = people_sheet(
        &app,
        json!([{"type": "unique", "name": "full-name", "fields": ["first", "last"], "strategy": "concat"}]),
    )
    .await;
    let rows = json!([
        row("Ada", "Lovelace", "a@x.org"),
        row("Ada", "Byron", "b@x.org"),
        row("ada", "Lovelace", "c@x.org"),
        row("Ada", "Lovelace", "a@x.org"),
        row("", "", "d@x.org"),
        row("", "", "e@x.org"),
        row("ab", "c", "f@x.org"),
        row("a", "bc", "g@x.org"),
    ]);
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    assert_eq!(status, 200, "{body}");
    let recs = read(&app, &sheet).await;
    let pairs: Vec<bool> = recs.iter().map(|(_, _, m)| flagged(m)).collect();
    // Values match exactly (case too); empty pairs and values run together are not alike.
    assert_eq!(pairs, [true, false, false, true, false, false, false, false]);
    let own = "Email must be unique; another record has the same value";
    assert_eq!(
        recs[0].2["email"],
        [own],
        "the field's own rule keeps its message beside the pair's"
    );
    assert_eq!(recs[3].2["email"], [own]);
    assert_eq!(counts(&app, &sheet).await, (6, 2));

    // The fourth record takes another last name: the pair is gone, the email is still shared.
    let id3 = recs[3].0.clone();
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": id3, "values": {"last": {"value": "King"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let recs = read(&app, &sheet).await;
    assert!(!flagged(&recs[0].2) && !flagged(&recs[3].2), "{:?}", recs[0].2);
    assert_eq!(recs[0].2["email"], [own]);
    assert_eq!(counts(&app, &sheet).await, (6, 2));

    // The second takes Lovelace: the first and second now share the pair.
    let id1 = recs[1].0.clone();
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": id1, "values": {"last": {"value": "Lovelace"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let recs = read(&app, &sheet).await;
    let pairs: Vec<bool> = recs.iter().map(|(_, _, m)| flagged(m)).collect();
    assert_eq!(pairs, [true, true, false, false, false, false, false, false]);
    assert_eq!(counts(&app, &sheet).await, (5, 3));

    // Deleting the first leaves the second the lone holder of the pair, and of its email
    // the fourth.
    let id0 = recs[0].0.clone();
    let (status, body) = app.delete(&format!("/sheets/{sheet}/records?ids={id0}")).await;
    assert_eq!(status, 200, "{body}");
    let recs = read(&app, &sheet).await;
    assert!(
        recs.iter().all(|(_, _, m)| !flagged(m) && m["email"].is_empty()),
        "{recs:?}"
    );
    assert_eq!(counts(&app, &sheet).await, (7, 0));

    // A bulk change that gives every record the same last name makes the three Adas one pair.
    let (status, body) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update"),
            &json!({"fieldUpdates": {"last": {"value": "Same"}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let recs = read(&app, &sheet).await;
    let firsts: Vec<(String, bool)> = recs
        .iter()
        .map(|(_, r, m)| {
            (
                r["values"]["first"]["value"].as_str().unwrap_or("").to_string(),
                flagged(m),
            )
        })
        .collect();
    for (first, is_flagged) in &firsts {
        // Ada twice (the second and fourth records); `ada` differs by case; `""` + Same is checked too.
        let expect = first == "Ada" || first.is_empty();
        assert_eq!(*is_flagged, expect, "{firsts:?}");
    }
    let flagged_count = firsts.iter().filter(|(_, f)| *f).count() as i64;
    assert_eq!(counts(&app, &sheet).await, (7 - flagged_count, flagged_count));
    let (status, body) = app.delete(&format!("/sheets/{sheet}/fields/last")).await;
    assert_eq!(status, 422, "a field the constraint names stays: {body}");
    assert!(body.to_string().contains("full-name"), "{body}");
}

on_both!(a_pair_held_twice_is_flagged_on_both_records_and_fields);

/// `requiredFields`: a record with one of them empty is not checked; a bad constraint is
/// refused at its path and nothing is made.
async fn required_fields_and_bad_constraints(db: Db) {
    let app = spawn_app(db).await;
    let sheet = people_sheet(
        &app,
        json!([{"type": "unique", "name": "full-name", "fields": ["first", "last"], "requiredFields": ["last"]}]),
    )
    .await;
    let rows = json!([
        row("Ada", "", "a@x.org"),
        row("Ada", "", "b@x.org"),
        row("", "Byron", "c@x.org"),
        row("", "Byron", "d@x.org")
    ]);
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    assert_eq!(status, 200, "{body}");
    let pairs: Vec<bool> = read(&app, &sheet)
        .await
        .iter()
        .map(|(_, _, m)| flagged(m))
        .collect();
    assert_eq!(pairs, [false, false, true, true]);

    let space = app.bare_space("Bad pairs").await;
    for (constraint, path, words) in [
        (
            json!({"type": "unique", "name": "x", "fields": ["first", "nope"]}),
            "constraints[0].fields[1]",
            "no field `nope`",
        ),
        (
            json!({"type": "unique", "name": "x", "fields": ["first"], "requiredFields": ["last"]}),
            "constraints[0].requiredFields",
            "not one of the constraint's fields",
        ),
        (
            json!({"type": "unique", "fields": ["first", "last"]}),
            "constraints[0].name",
            "has a name",
        ),
        (
            json!({"type": "unique", "name": "x", "fields": ["first", "last"], "strategy": "sha"}),
            "constraints[0].strategy",
            "hash",
        ),
        (
            json!({"type": "unique", "name": "x"}),
            "constraints[0].fields",
            "fields is required",
        ),
        (
            json!({"type": "unique", "name": "a\nb", "fields": ["first"]}),
            "constraints[0].name",
            "line break",
        ),
    ] {
        let (status, bad) = app
            .post_json("/workbooks", &people(&space, json!([constraint])))
            .await;
        assert_eq!(status, 422, "{bad}");
        let text = bad.to_string();
        assert!(
            text.contains(&format!("$.sheets[0].{path}")) && text.contains(words),
            "{text}"
        );
    }
    // Two of one name would take each other's flags away (probe 61c D2).
    let twice = json!([
        {"type": "unique", "name": "x", "fields": ["first", "last"]},
        {"type": "unique", "name": "x", "fields": ["first", "last"], "requiredFields": ["last"]}]);
    let (status, bad) = app.post_json("/workbooks", &people(&space, twice)).await;
    assert_eq!(status, 422, "{bad}");
    assert!(
        bad.to_string().contains("$.sheets[0].constraints[1].name"),
        "{bad}"
    );
    // At most 100 fields: its message sits on each (probe 61c D3).
    let fields: Vec<Value> = (0..101)
        .map(|i| json!({"key": format!("f{i}"), "type": "string"}))
        .collect();
    let keys: Vec<String> = (0..101).map(|i| format!("f{i}")).collect();
    let wide = json!({"name": "W", "spaceId": space, "sheets": [{"name": "Wide", "fields": fields,
        "constraints": [{"type": "unique", "name": "all", "fields": keys}]}]});
    let (status, bad) = app.post_json("/workbooks", &wide).await;
    assert_eq!(status, 422, "{bad}");
    assert!(bad.to_string().contains("at most 100 fields"), "{bad}");
    let (_, workbooks) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    assert_eq!(
        workbooks["data"].as_array().unwrap().len(),
        0,
        "nothing made: {workbooks}"
    );
}

/// A label changed by a workbook update changes the words of new messages; the flags
/// already on records still follow the pair (probe 61c D1: they were no longer told
/// apart from the fields' own, so an edit elsewhere in a record took its flag away).
async fn a_relabelled_field_keeps_the_pair_flags_true(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Relabel").await;
    let constraints = json!([{"type": "unique", "name": "full-name", "fields": ["first", "last"]}]);
    let (status, wb) = app
        .post_json("/workbooks", &people(&space, constraints.clone()))
        .await;
    assert_eq!(status, 200, "{wb}");
    let wb_id = wb["data"]["id"].as_str().unwrap().to_string();
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let rows = json!([
        row("a", "b", "1@x.org"),
        row("a", "b", "2@x.org"),
        row("x", "y", "3@x.org")
    ]);
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/records"), &rows).await;
    assert_eq!(status, 200, "{body}");
    let mut config = people(&space, constraints)["sheets"][0].clone();
    config["id"] = json!(sheet);
    config["fields"][0]["label"] = json!("Given");
    let (status, body) = app
        .patch_json(&format!("/workbooks/{wb_id}"), &json!({"sheets": [config]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<String> = read(&app, &sheet)
        .await
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    // An edit of another field of a flagged record keeps its flag.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": ids[0], "values": {"team": {"value": "t"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let is_flagged =
        |m: &HashMap<String, Vec<String>>| m["first"].iter().any(|t| t.ends_with("(constraint full-name)"));
    let recs = read(&app, &sheet).await;
    let flags: Vec<bool> = recs.iter().map(|(_, _, m)| is_flagged(m)).collect();
    assert_eq!(flags, [true, true, false], "{:?}", recs[0].2);
    assert_eq!(counts(&app, &sheet).await, (1, 2));
    // The second leaves the pair: the first, its lone holder now, is no longer flagged.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": ids[1], "values": {"last": {"value": "z"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let recs = read(&app, &sheet).await;
    assert!(
        recs.iter().all(|(_, r, m)| !is_flagged(m) && r["valid"] == true),
        "{:?}",
        recs[0].2
    );
    assert_eq!(counts(&app, &sheet).await, (3, 0));
    // And a new pair is flagged in the new words.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": ids[2], "values": {"first": {"value": "a"}, "last": {"value": "z"}}}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let recs = read(&app, &sheet).await;
    assert!(
        recs[1].2["first"][0].starts_with("Given and Last"),
        "{:?}",
        recs[1].2
    );
    assert_eq!(counts(&app, &sheet).await, (1, 2));
}

on_both!(a_relabelled_field_keeps_the_pair_flags_true);
on_both!(required_fields_and_bad_constraints);

/// Eight writers insert and edit records whose pairs collide across writers; afterwards
/// every record is flagged exactly when another holds its pair, and the counts say so.
async fn many_writers_keep_the_pair_flags_true(db: Db) {
    let app = Arc::new(spawn_app(db).await);
    let sheet = people_sheet(
        &app,
        json!([{"type": "unique", "name": "full-name", "fields": ["first", "last"]}]),
    )
    .await;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let app = app.clone();
        let sheet = sheet.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..6 {
                // Pairs shared across writers: (P{round % 3}, L{w % 4}).
                let rows: Vec<Value> = (0..5)
                    .map(|i| {
                        row(
                            &format!("P{}", (round + i) % 3),
                            &format!("L{}", (w + i) % 4),
                            &format!("{w}-{round}-{i}@x.org"),
                        )
                    })
                    .collect();
                let (status, body) = app
                    .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
                    .await;
                assert_eq!(status, 200, "{body}");
                // Move one just-written record to a pair of its own, then back into a shared one.
                let id = record_ids(&body)[0].clone();
                for last in [format!("own-{w}-{round}"), format!("L{}", round % 4)] {
                    let (status, body) = app
                        .put_json(
                            &format!("/sheets/{sheet}/records"),
                            &json!([{"id": id, "values": {"last": {"value": last}}}]),
                        )
                        .await;
                    assert_eq!(status, 200, "{body}");
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let recs = read(&app, &sheet).await;
    assert_eq!(recs.len(), 8 * 6 * 5);
    let pair_of = |r: &Value| {
        (
            r["values"]["first"]["value"].to_string(),
            r["values"]["last"]["value"].to_string(),
        )
    };
    let mut held: HashMap<(String, String), usize> = HashMap::new();
    for (_, r, _) in &recs {
        *held.entry(pair_of(r)).or_default() += 1;
    }
    let mut errors = 0;
    for (_, r, m) in &recs {
        assert_eq!(flagged(m), held[&pair_of(r)] > 1, "{r}");
        errors += (r["valid"] == false) as i64;
    }
    assert_eq!(counts(&app, &sheet).await, (recs.len() as i64 - errors, errors));
}

on_both!(many_writers_keep_the_pair_flags_true);
