//! Search finds what a person sees in the cells, case aside, on both databases.

use crate::helpers::*;
use crate::on_both;
use crate::records_concurrency::all_records;
use serde_json::{json, Value};

pub(crate) fn emails(body: &Value) -> Vec<String> {
    let mut out: Vec<String> = body["data"]["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            r["values"]["email"]["value"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    out.sort();
    out
}

async fn search_matches_cell_text_case_aside(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{contacts}/records");
    let (status, body) = app
        .post_json(
            &path,
            &json!([
                {"email": {"value": "john_doe@x.io"}, "name": {"value": "MÜLLER"}},
                {"email": {"value": "johnxdoe@x.io"}, "name": {"value": "Ångström"}, "age": {"value": "42"}},
                {"email": {"value": "c@x.io"}, "name": {"value": "100% sure"}, "subscribed": {"value": "yes"}},
                {"email": {"value": "d@x.io"}, "name": {"value": "東京"}},
                // Numbers as the grid shows them, which PostgreSQL's jsonb would rewrite.
                {"email": {"value": "e@x.io"}, "age": {"value": 1e21}},
                {"email": {"value": "f@x.io"}, "age": {"value": 1e-7}},
                {"email": {"value": "g@x.io"}, "age": {"value": -0.0}}
            ]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let search = |term: &str, field: Option<&str>| {
        let mut url = format!("{path}?searchValue={}", urlencode(term));
        if let Some(f) = field {
            url.push_str(&format!("&searchField={f}"));
        }
        url
    };
    let cases: Vec<(&str, Option<&str>, Vec<&str>)> = vec![
        ("john_doe", None, vec!["john_doe@x.io"]),
        ("JOHN", Some("email"), vec!["john_doe@x.io", "johnxdoe@x.io"]),
        ("müller", None, vec!["john_doe@x.io"]),
        ("ÅNGSTRÖM", Some("name"), vec!["johnxdoe@x.io"]),
        ("ström", None, vec!["johnxdoe@x.io"]),
        ("100%", None, vec!["c@x.io"]),
        ("0% s", Some("name"), vec!["c@x.io"]),
        ("東京", None, vec!["d@x.io"]),
        ("42", Some("age"), vec!["johnxdoe@x.io"]),
        ("true", Some("subscribed"), vec!["c@x.io"]),
        ("E+21", Some("age"), vec!["e@x.io"]),
        ("1e-7", None, vec!["f@x.io"]),
        // -0.0 is a whole number: kept as 0, as JavaScript shows it.
        ("0", Some("age"), vec!["g@x.io"]),
        ("-0", Some("age"), vec![]),
        // Stored JSON is not what a person sees.
        ("null", None, vec![]),
        (",", None, vec![]),
        ("\"", None, vec![]),
        ("müller", Some("email"), vec![]),
    ];
    // The same answers from a scan (before the sheet's search index exists) and from the
    // index (built in the background after the first search).
    assert!(
        !index_exists(&app, db, "search"),
        "no search index before a search"
    );
    for pass in ["scan", "index"] {
        for (term, field, want) in &cases {
            let (status, body) = app.get_json(&search(term, *field)).await;
            assert_eq!(status, 200, "{term}: {body}");
            assert_eq!(&emails(&body), want, "{pass}: search {term:?} in {field:?}");
        }
        wait_for_index(&app, db, "search").await;
    }

    // Pages of a search come in record order, however the page was found.
    for (page, want) in [(1, "john_doe@x.io"), (2, "johnxdoe@x.io")] {
        let (_, body) = app
            .get_json(&format!("{path}?searchValue=john&pageSize=1&pageNumber={page}"))
            .await;
        assert_eq!(emails(&body), vec![want], "page {page}");
    }

    // Changes and deletes show at once.
    let records = all_records(&app, &contacts).await;
    let muller = records
        .iter()
        .find(|r| r["values"]["name"]["value"] == "MÜLLER")
        .unwrap();
    app.put_json(
        &path,
        &json!([{"id": muller["id"], "values": {"name": {"value": "Meier"}}}]),
    )
    .await;
    let (_, body) = app.get_json(&search("müller", None)).await;
    assert_eq!(emails(&body), Vec::<String>::new());
    let (_, body) = app.get_json(&search("MEIER", Some("name"))).await;
    assert_eq!(emails(&body), vec!["john_doe@x.io"]);
    app.delete(&format!("{path}?ids={}", muller["id"].as_str().unwrap()))
        .await;
    let (_, body) = app.get_json(&search("meier", None)).await;
    assert_eq!(emails(&body), Vec::<String>::new());
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

on_both!(search_matches_cell_text_case_aside);

/// The names of a page of records, in order.
pub(crate) fn names(body: &Value) -> Vec<String> {
    body["data"]["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            r["values"]["name"]["value"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// Waits until `count` indexes of the kind ("sort" or "search") exist, built in the
/// background.
async fn wait_for_indexes(app: &TestApp, db: Db, kind: &str, count: i64) {
    let mut waited = 0;
    while index_count(app, db, kind) < count {
        assert!(waited < 100, "the {kind} index was never built");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
}

async fn wait_for_index(app: &TestApp, db: Db, kind: &str) {
    wait_for_indexes(app, db, kind, 1).await
}

fn index_exists(app: &TestApp, db: Db, kind: &str) -> bool {
    index_count(app, db, kind) > 0
}

/// How many usable sheet indexes of this kind exist.
fn index_count(app: &TestApp, db: Db, kind: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let pattern = match (kind, db) {
        ("sort", _) => "records_sort_%",
        (_, Db::Sqlite) => "record_search_%",
        (_, Db::Postgres) => "records_search_%",
    };
    let sql = match db {
        Db::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE name LIKE ?",
        // Valid only: an index being built CONCURRENTLY is listed before it can be used.
        Db::Postgres => {
            "SELECT COUNT(*) AS n FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid \
             WHERE c.relname LIKE $1 AND i.indisvalid"
        }
    };
    let mut conn = app.pool.get().expect("conn");
    let found: N = wharf::on_backend!(&mut *conn, c => diesel::sql_query(sql)
        .bind::<diesel::sql_types::Text, _>(pattern)
        .get_result(c))
    .expect("catalog");
    found.n
}

async fn sorts_answer_before_and_after_their_index(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{contacts}/records");
    let rows: Vec<Value> = ["delta", "alpha", "charlie", "bravo"]
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"email": {"value": format!("{i}@x.io")}, "name": {"value": n}}))
        .collect();
    app.post_json(&path, &json!(rows)).await;
    let asc = vec!["alpha", "bravo", "charlie", "delta"];
    // Three indexes asked for at once (on PostgreSQL, concurrent builds on one table can
    // deadlock: they are built one after another).
    let (status, body) = app.get_json(&format!("{path}?sortField=name")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body), asc, "sorted before the index exists");
    app.get_json(&format!("{path}?sortField=email")).await;
    app.get_json(&format!("{path}?searchValue=alpha")).await;
    // They are built in the background, not in those requests.
    wait_for_indexes(&app, db, "sort", 2).await;
    wait_for_index(&app, db, "search").await;
    let (_, body) = app
        .get_json(&format!("{path}?sortField=name&sortDirection=desc"))
        .await;
    let mut desc = asc.clone();
    desc.reverse();
    assert_eq!(names(&body), desc, "sorted with the index");
    app.post_json(
        &path,
        &json!([{"email": {"value": "z@x.io"}, "name": {"value": "aardvark"}}]),
    )
    .await;
    let (_, body) = app.get_json(&format!("{path}?sortField=name&pageSize=2")).await;
    assert_eq!(
        names(&body),
        vec!["aardvark", "alpha"],
        "new records are in the index"
    );
}

/// An import builds the indexes of the sheet it fills, before anyone searches or sorts it:
/// the extracted sheet's and then the destination's sort indexes, one per field, and the
/// destination's search index.
async fn an_import_builds_its_sheets_indexes(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap();
    let contacts = app.sheet_id(&space, "contacts").await;
    let csv = "Email,Name,Age\nada@x.org,Ada,36\nbob@x.org,Bob,41\n";
    let file = app
        .upload_and_extract(space_id, "people.csv", csv.as_bytes().to_vec())
        .await;
    assert_eq!(file["status"], "complete", "{file}");
    wait_for_indexes(&app, db, "sort", 3).await;
    let src_wb = file["workbookId"].as_str().unwrap();
    let (_, wb) = app.get_json(&format!("/workbooks/{src_wb}")).await;
    let src_sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap();
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space_id}")).await;
    let dest_wb = wbs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "Customers")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "map", "source": src_wb, "destination": dest_wb,
                    "trigger": "immediate", "config": {"sourceSheetId": src_sheet, "destinationSheetId": contacts}}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let done = app.wait_job(job["data"]["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "complete", "{done}");
    // Contacts has seven fields.
    wait_for_indexes(&app, db, "sort", 3 + 7).await;
    let seq: i64 = {
        use diesel::prelude::*;
        use wharf::db::schema::sheets;
        let mut conn = app.pool.get().expect("conn");
        sheets::table
            .filter(sheets::id.eq(&contacts))
            .select(sheets::seq)
            .first(&mut *conn)
            .expect("sheet")
    };
    let mut ready = false;
    for _ in 0..100 {
        let mut conn = app.pool.get().expect("conn");
        if wharf::model::record::search_index::exists(&mut conn, seq).expect("catalog") {
            ready = true;
            break;
        }
        drop(conn);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "the destination's search index was built");
}

/// A big extraction leaves its `[file]` sheet's indexes to its first search or sort (built
/// at once they held up the mapping that follows); they come when a sort asks.
async fn a_big_extraction_leaves_its_indexes_to_first_use(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap();
    let mut csv = String::from("Email,Name\n");
    for i in 0..20_000 {
        csv.push_str(&format!("p{i}@x.org,Name {}\n", i % 97));
    }
    let file = app
        .upload_and_extract(space_id, "big.csv", csv.into_bytes())
        .await;
    assert_eq!(file["status"], "complete", "{file}");
    let wb = file["workbookId"].as_str().unwrap();
    let (_, wb) = app.get_json(&format!("/workbooks/{wb}")).await;
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(index_count(&app, db, "sort"), 0, "sort indexes were built");
    assert!(!index_exists(&app, db, "search"), "the search index was built");
    let (status, body) = app
        .get_json(&format!("/sheets/{sheet}/records?sortField=name&pageSize=1"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["records"][0]["values"]["name"]["value"], "Name 0");
    wait_for_index(&app, db, "sort").await;
}

/// Indexes where they pay: a sheet smaller than `WHARF_INDEX_FROM_RECORDS` is read by
/// scans and gets none, and only a sheet's first 16 fields get sort indexes (a file of a
/// thousand columns asked for a thousand, which slowed every insert of every sheet).
async fn indexes_only_for_big_sheets_and_first_fields(db: Db) {
    let app = spawn_app_with(db, |s| s.index_from_records = 20_000).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let people =
        json!([{"email": {"value": "ada@x.io"}, "age": {"value": 36}}, {"email": {"value": "bo@x.io"}}]);
    let (status, body) = app
        .post_json(&format!("/sheets/{contacts}/records"), &people)
        .await;
    assert_eq!(status, 200, "{body}");
    for query in ["sortField=age", "searchValue=ada"] {
        let (status, body) = app.get_json(&format!("/sheets/{contacts}/records?{query}")).await;
        assert_eq!(status, 200, "{body}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        (index_count(&app, db, "sort"), index_count(&app, db, "search")),
        (0, 0)
    );

    let app = spawn_app(db).await;
    let space = app.bare_space("Wide").await;
    let fields: Vec<Value> = (0..20)
        .map(|i| json!({"key": format!("f{i}"), "type": "string"}))
        .collect();
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Wide", "spaceId": space, "sheets": [{"name": "W", "slug": "w", "fields": fields}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let rows: Vec<Value> = ["b", "c", "a"]
        .iter()
        .map(|v| json!({"f1": {"value": v}, "f18": {"value": v}}))
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    for field in ["f18", "f1"] {
        let (_, page) = app
            .get_json(&format!("/sheets/{sheet}/records?sortField={field}"))
            .await;
        let shown: Vec<&str> = page["data"]["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["values"][field]["value"].as_str().unwrap())
            .collect();
        assert_eq!(shown, ["a", "b", "c"], "sorted by {field}");
    }
    wait_for_indexes(&app, db, "sort", 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(index_count(&app, db, "sort"), 1, "f1's index only");
}

/// A number field holding text and empty cells sorts alike on both databases, before and
/// after its index, and its distinct values (`/cells`) in the same order: empty, numbers,
/// then text; descending the other way round. FFQL on the field still finds by kind.
async fn a_sort_orders_kinds_alike(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{contacts}/records");
    let ages = [json!(5), json!("abc"), json!(1), Value::Null, json!(10)];
    let rows: Vec<Value> = ages
        .iter()
        .enumerate()
        .map(|(i, age)| json!({"email": format!("{i}@x.io"), "age": age}))
        .collect();
    app.post_json(&path, &json!(rows)).await;
    let asc = vec![json!(null), json!(1), json!(5), json!(10), json!("abc")];
    let mut desc = asc.clone();
    desc.reverse();
    let ages_of = |body: &Value| -> Vec<Value> {
        body["data"]["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["values"]["age"]["value"].clone())
            .collect()
    };
    for pass in ["scan", "index"] {
        for (dir, want) in [("asc", &asc), ("desc", &desc)] {
            let (_, body) = app
                .get_json(&format!("{path}?sortField=age&sortDirection={dir}"))
                .await;
            assert_eq!(&ages_of(&body), want, "{pass} {dir}");
            let (_, cells) = app
                .get_json(&format!(
                    "/sheets/{contacts}/cells?fieldKey=age&sortField=age&sortDirection={dir}"
                ))
                .await;
            let values: Vec<Value> = cells["data"]["age"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["value"].clone())
                .collect();
            assert_eq!(&values, want, "cells {pass} {dir}");
        }
        for (q, want) in [("age gt 4", 2), ("age eq abc", 1), ("age lt 100", 3)] {
            let (_, body) = app.get_json(&format!("{path}?q={}", urlencode(q))).await;
            assert_eq!(
                body["data"]["records"].as_array().unwrap().len(),
                want,
                "{pass}: {q}"
            );
        }
        wait_for_index(&app, db, "sort").await;
    }
}

on_both!(
    a_sort_orders_kinds_alike,
    sorts_answer_before_and_after_their_index,
    an_import_builds_its_sheets_indexes,
    a_big_extraction_leaves_its_indexes_to_first_use,
    indexes_only_for_big_sheets_and_first_fields
);
