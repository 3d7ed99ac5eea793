//! `q` (Flatfile Query Language) on `GET /v1/sheets/{id}/records` and the counts, on both
//! databases: fields by key or label, comparisons by the field's type, `is` statuses,
//! precedence, and a 400 that says where a query went wrong.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

pub fn blueprint() -> Value {
    json!({
        "name": "People", "slug": "people",
        "workbooks": [{"name": "People", "sheets": [{"name": "People", "slug": "people", "fields": [
            {"key": "email", "type": "string", "label": "Email",
             "constraints": [{"type": "required"}, {"type": "unique"}]},
            {"key": "name", "type": "string", "label": "Full Name"},
            {"key": "age", "type": "number", "label": "Age"},
            {"key": "subscribed", "type": "boolean", "label": "Subscribed"},
            {"key": "joined", "type": "date", "label": "Joined On"},
            {"key": "tier", "type": "enum", "label": "Tier", "config": {"options": [
                {"value": "gold", "label": "Gold", "alternativeNames": ["premium"]},
                {"value": "silver", "label": "Silver"}]}},
            {"key": "tags", "type": "string-list", "label": "Tags"},
            {"key": "nickname", "type": "string", "label": "Nickname",
             "constraints": [{"type": "required", "config": {"level": "warn"}}]}
        ]}]}]
    })
}

/// A sheet of five people (one without an email, one with a bad age and date); returns
/// the records path.
pub async fn people(app: &TestApp) -> String {
    people_in_space(app).await.2
}

/// The people sheet: (space id, sheet id, records path).
pub async fn people_in_space(app: &TestApp) -> (String, String, String) {
    let (status, config) = app.post_json("/space-configs", &blueprint()).await;
    assert_eq!(status, 200, "{config}");
    let (status, space) = app
        .post_json(
            "/spaces",
            &json!({"name": "FFQL", "spaceConfigId": config["data"]["id"]}),
        )
        .await;
    assert_eq!(status, 200, "{space}");
    let sheet = app.sheet_id(&space["data"], "people").await;
    let path = format!("/sheets/{sheet}/records");
    let cell = |v: Value| json!({ "value": v });
    let rows = json!([
        {"email": cell(json!("a@x.io")), "name": cell(json!("Bender Rodriguez")), "age": cell(json!(40)),
         "subscribed": cell(json!("yes")), "joined": cell(json!("2024-01-31")), "tier": cell(json!("gold")),
         "tags": cell(json!(["vip", "new"])), "nickname": cell(json!("Ben"))},
        {"email": cell(json!("b@x.io")), "name": cell(json!("bender bending")), "age": cell(json!("9")),
         "subscribed": cell(json!(false)), "joined": cell(json!("2023/12/01")), "tier": cell(json!("Silver")),
         "tags": cell(json!("new")), "nickname": cell(json!("Bb"))},
        {"email": cell(json!("c@x.io")), "name": cell(json!("Leela")), "age": cell(json!("N/A")),
         "joined": cell(json!("someday")), "nickname": cell(json!("L"))},
        {"name": cell(json!("O'Brien \"Ob\"")), "age": cell(json!(100)), "nickname": cell(json!("O"))},
        {"email": cell(json!("d@x.io")), "name": cell(json!("100% sure")), "age": cell(json!("12.5")),
         "joined": cell(json!("2024-02-29")), "tier": cell(json!("premium")), "tags": cell(json!(["VIP"]))}
    ]);
    let (status, body) = app.post_json(&path, &rows).await;
    assert_eq!(status, 200, "{body}");
    (space["data"]["id"].as_str().unwrap().to_string(), sheet, path)
}

pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The emails of the records a query returns, sorted ("" for none).
pub async fn emails(app: &TestApp, path: &str, q: &str) -> Vec<String> {
    let (status, body) = app.get_json(&format!("{path}?q={}", urlencode(q))).await;
    assert_eq!(status, 200, "q={q}: {body}");
    crate::records_search::emails(&body)
}

async fn q_selects_records_by_typed_comparisons(db: Db) {
    let app = spawn_app(db).await;
    let path = people(&app).await;
    let all = ["", "a@x.io", "b@x.io", "c@x.io", "d@x.io"];
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("name eq \"Bender Rodriguez\"", vec!["a@x.io"]),
        ("\"Full Name\" eq \"Bender Rodriguez\"", vec!["a@x.io"]),
        ("'full name' like \"Bender%\"", vec!["a@x.io"]),
        ("name like \"bender%\"", vec!["b@x.io"]),
        ("name ilike \"BENDER%\"", vec!["a@x.io", "b@x.io"]),
        ("name like b_nder%", vec!["b@x.io"]),
        ("name like \"100\\%%\"", vec!["d@x.io"]),
        ("name like \"100%\"", vec!["d@x.io"]),
        // A pattern's last backslash escapes nothing: it stands for itself.
        ("name like \"%\\\\\"", vec![]),
        ("name eq \"O'Brien \\\"Ob\\\"\"", vec![""]),
        // Numbers as numbers: 9 is less than 10, 100 is more (as text, neither).
        ("age gt 10", vec!["", "a@x.io", "d@x.io"]),
        ("age lte 12.5", vec!["b@x.io", "d@x.io"]),
        ("age eq 40", vec!["a@x.io"]),
        ("age eq \"N/A\"", vec!["c@x.io"]),
        ("age ne 40", vec!["", "b@x.io", "c@x.io", "d@x.io"]),
        // Dates as dates, however the query spells them.
        ("joined gte 2024-01-01", vec!["a@x.io", "d@x.io"]),
        ("\"Joined On\" lt 01/01/2024", vec!["b@x.io"]),
        ("joined eq 2023-12-01", vec!["b@x.io"]),
        ("joined eq someday", vec!["c@x.io"]),
        ("subscribed eq true", vec!["a@x.io"]),
        ("subscribed eq no", vec!["b@x.io"]),
        ("tier eq gold", vec!["a@x.io", "d@x.io"]),
        ("tags contains vip", vec!["a@x.io"]),
        ("tags contains new", vec!["a@x.io", "b@x.io"]),
        ("tags eq \"vip, new\"", vec!["a@x.io"]),
        ("email eq \"\"", vec![""]),
        ("tier eq \"\"", vec!["", "c@x.io"]),
        // No field: any field.
        ("eq Leela", vec!["c@x.io"]),
        ("eq 100", vec![""]),
        ("ilike \"%SURE\"", vec!["d@x.io"]),
        ("ne Leela", vec!["", "a@x.io", "b@x.io", "d@x.io"]),
        ("is error", vec!["", "c@x.io"]),
        ("is valid", vec!["a@x.io", "b@x.io", "d@x.io"]),
        ("is warning", vec!["d@x.io"]),
        ("age is error", vec!["c@x.io"]),
        ("email is error", vec![""]),
        ("age is valid", vec!["", "a@x.io", "b@x.io", "d@x.io"]),
        ("nickname is warning", vec!["d@x.io"]),
        ("name is warning", vec![]),
        // `and` binds tighter than `or`.
        (
            "age gt 10 or subscribed eq false and is valid",
            vec!["", "a@x.io", "b@x.io", "d@x.io"],
        ),
        (
            "(age gt 10 or subscribed eq false) and is valid",
            vec!["a@x.io", "b@x.io", "d@x.io"],
        ),
        (
            "((age gte 18 and age lte 65) or name eq Leela) and is error",
            vec!["c@x.io"],
        ),
        // Query text is data, never SQL.
        ("name eq \"x' OR 1=1 --\"", vec![]),
        ("eq \"') OR 1=1 --\"", vec![]),
        ("name like \"%\"", all.to_vec()),
    ];
    for (q, want) in &cases {
        assert_eq!(&emails(&app, &path, q).await, want, "q={q}");
    }

    // With the other parameters.
    let (status, body) = app
        .get_json(&format!(
            "{path}?q={}&filter=valid&pageSize=1&pageNumber=2",
            urlencode("age gt 10")
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let records = body["data"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["values"]["email"]["value"], "d@x.io");
}

async fn counts_follow_q(db: Db) {
    let app = spawn_app(db).await;
    let path = people(&app).await;
    let (status, body) = app
        .get_json(&format!(
            "{path}?includeCounts=true&q={}",
            urlencode("age gt 10 or age eq N/A")
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["counts"],
        json!({"total": 4, "valid": 2, "error": 2, "errorsByField": {"email": 1, "age": 1, "joined": 1}})
    );
    // Without q, the sheet's counts.
    let (_, body) = app.get_json(&format!("{path}?includeCounts=true")).await;
    assert_eq!(body["data"]["counts"]["total"], 5);
    // And the sheet's counts endpoint takes q too.
    let counts_path = path.replace("/records", "/counts");
    let (status, body) = app
        .get_json(&format!("{counts_path}?q={}", urlencode("is error")))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["counts"]["total"], 2);
    assert_eq!(body["data"]["counts"]["error"], 2);
}

async fn bad_queries_answer_400_saying_where_and_why(db: Db) {
    let app = spawn_app(db).await;
    let path = people(&app).await;
    let refused = |q: String| {
        let app = &app;
        let path = &path;
        async move {
            let (status, body) = app.get_json(&format!("{path}?q={}", urlencode(&q))).await;
            assert_eq!(status, 400, "q={q}: {body}");
            assert_eq!(body["errors"][0]["key"], "q", "{body}");
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    assert_eq!(
        refused("name eq Bender and (age eq )".into()).await,
        "unexpected \")\" at 28; expected a value"
    );
    let unknown = refused("emial eq a@x.io".into()).await;
    assert!(unknown.starts_with("unknown field \"emial\" at 1;"), "{unknown}");
    assert!(unknown.contains("email, name, age"), "{unknown}");
    let typed = refused("age gt abc".into()).await;
    assert!(
        typed.contains("\"abc\" is not a number at 8; age is a number field"),
        "{typed}"
    );
    // A date that reads two ways is not guessed at (probe 69e D5).
    let two_ways = refused("\"Joined On\" eq \"05/01/2020\"".into()).await;
    assert!(
        two_ways.contains("\"05/01/2020\" reads two ways: write the date as 2020-05-01 or 2020-01-05"),
        "{two_ways}"
    );
    let quote = refused("name eq \"Bender".into()).await;
    assert!(quote.contains("never closed"), "{quote}");
    // Deep nesting and long queries end in a 400, not a crashed worker.
    let deep = format!("{}age eq 1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(refused(deep).await.contains("at most 4096"));
    let nested = format!("{}age eq 1{}", "(".repeat(100), ")".repeat(100));
    assert!(refused(nested).await.contains("deeper than 32"));
    // The server is still well.
    assert_eq!(emails(&app, &path, "age eq 40").await, vec!["a@x.io"]);
}

on_both!(
    q_selects_records_by_typed_comparisons,
    counts_follow_q,
    bad_queries_answer_400_saying_where_and_why
);

async fn the_flatfile_client_queries_with_q(db: Db) {
    let app = spawn_app(db).await;
    let report = crate::flatfile_client::run_client_suite(&app, "ffql.test.mjs").await;
    assert!(report.contains("pass 4") && report.contains("fail 0"), "{report}");
}

on_both!(the_flatfile_client_queries_with_q);

/// `is warning` finds the warnings listener code (or any API client) put on cells too.
async fn is_warning_finds_warnings_put_on_cells(db: Db) {
    let app = spawn_app(db).await;
    let path = people(&app).await;
    let (_, page) = app
        .get_json(&format!("{path}?q={}", urlencode("email eq b@x.io")))
        .await;
    let id = page["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let warned = json!([{"id": id, "values": {"name": {"value": "Bender", "messages": [{"type": "warn", "message": "hmm"}]}}}]);
    let before = emails(&app, &path, "is warning").await;
    assert!(!before.contains(&"b@x.io".to_string()), "{before:?}");
    let (status, body) = app.put_json(&path, &warned).await;
    assert_eq!(status, 200, "{body}");
    let mut after = before.clone();
    after.push("b@x.io".into());
    after.sort();
    assert_eq!(emails(&app, &path, "is warning").await, after);
    assert!(emails(&app, &path, "name is warning")
        .await
        .contains(&"b@x.io".to_string()));
    assert!(emails(&app, &path, "age is warning").await.is_empty());
}

on_both!(is_warning_finds_warnings_put_on_cells);

async fn the_grid_search_box_takes_filter_queries(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let (space, sheet, _) = people_in_space(&app).await;
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let grid = |q: &str| format!("/workbooks/{wb}?sheet={sheet}&q={}", urlencode(q));
    let shown = |html: &str| -> Vec<&str> {
        ["a@x.io", "b@x.io", "c@x.io", "d@x.io"]
            .into_iter()
            .filter(|e| html.contains(&format!(">{e}<")))
            .collect()
    };

    let html = app.page(&grid("filter: age gt 10 and is valid")).await;
    assert_eq!(shown(&html), vec!["a@x.io", "d@x.io"]);
    assert!(!html.contains("role=\"alert\""));
    let html = app.page(&grid("  FILTER:\"Full Name\" ilike bender%")).await;
    assert_eq!(shown(&html), vec!["a@x.io", "b@x.io"]);

    // A query that cannot be read shows why under the box (positions count from the box's
    // start), and no records.
    let html = app.page(&grid("filter: age eq )")).await;
    assert!(
        html.contains("id=\"grid-q-error\" class=\"field-error\" role=\"alert\""),
        "{html}"
    );
    assert!(html.contains("at 16; expected a value"), "{html}");
    assert!(html.contains("aria-invalid=\"true\""));
    assert_eq!(shown(&html), Vec::<&str>::new());
    let html = app.page(&grid("filter: emial eq x")).await;
    assert!(html.contains("unknown field &#34;emial&#34; at 9"), "{html}");

    // Without the prefix the box still searches.
    let html = app.page(&grid("leela")).await;
    assert_eq!(shown(&html), vec!["c@x.io"]);
}

on_both!(the_grid_search_box_takes_filter_queries);

/// The first column of a CSV body after its header.
fn csv_emails(body: &str) -> Vec<String> {
    body.lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap_or_default().to_string())
        .collect()
}

async fn downloads_take_q(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let (space, sheet, _) = people_in_space(&app).await;
    let api_csv = |q: &str| {
        app.api(
            reqwest::Method::GET,
            &format!("/sheets/{sheet}/download?q={}", urlencode(q)),
        )
        .send()
    };
    let resp = api_csv("age gt 10 and is valid").await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    assert!(body.starts_with("Email,Full Name,Age"), "{body}");
    assert_eq!(csv_emails(&body), vec!["a@x.io", "d@x.io"]);
    let resp = api_csv("age gt").await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["message"],
        "unexpected end of query at 7; expected a value"
    );
    // Without q, every record.
    let resp = app
        .api(reqwest::Method::GET, &format!("/sheets/{sheet}/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv_emails(&resp.text().await.unwrap()).len(), 5);
    // The records API's selection too (`filter`, `ids`...), for the file and its counts.
    let (_, in_error) = app
        .get_json(&format!("/sheets/{sheet}/records?filter=error"))
        .await;
    let want = crate::records_search::emails(&in_error);
    assert!(!want.is_empty() && want.len() < 5, "{in_error}");
    for query in ["filter=error", "q=&filter=error"] {
        let resp = app
            .api(reqwest::Method::GET, &format!("/sheets/{sheet}/download?{query}"))
            .send()
            .await
            .unwrap();
        let mut got = csv_emails(&resp.text().await.unwrap());
        got.sort();
        assert_eq!(got, want, "{query}");
    }
    let first = in_error["data"]["records"][0]["id"].as_str().unwrap();
    let resp = app
        .api(
            reqwest::Method::GET,
            &format!("/sheets/{sheet}/download?ids={first}"),
        )
        .send()
        .await
        .unwrap();
    let first_email = in_error["data"]["records"][0]["values"]["email"]["value"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(csv_emails(&resp.text().await.unwrap()), vec![first_email]);
    let (_, counts) = app
        .get_json(&format!("/sheets/{sheet}/counts?filter=error"))
        .await;
    assert_eq!(counts["data"]["counts"]["total"], want.len(), "{counts}");
    assert_eq!(counts["data"]["counts"]["valid"], 0, "{counts}");
    for bad in ["download?filter=bogus", "counts?filter=bogus"] {
        let resp = app
            .api(reqwest::Method::GET, &format!("/sheets/{sheet}/{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
    }

    // The grid's download link carries its filter, and the file holds what the grid shows.
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let html = app
        .page(&format!(
            "/workbooks/{wb}?sheet={sheet}&q={}",
            urlencode("filter: is error")
        ))
        .await;
    let start = html
        .find(&format!("/grid/{sheet}/download.csv?q="))
        .expect("a filtered download link");
    let href = html[start..start + html[start..].find('"').unwrap()].replace("&#38;", "&");
    let resp = app.client.get(app.url(&href)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(csv_emails(&resp.text().await.unwrap()), vec!["c@x.io", ""]);
}

on_both!(downloads_take_q);

/// The names of the sheets' sort indexes that exist and can be used.
fn sort_indexes(app: &TestApp, db: Db) -> Vec<String> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let sql = match db {
        Db::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'records_sort_%'",
        Db::Postgres => {
            "SELECT c.relname AS name FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid \
             WHERE c.relname LIKE 'records_sort_%' AND i.indisvalid"
        }
    };
    let mut conn = app.pool.get().expect("connection");
    let mut names: Vec<String> = diesel::sql_query(sql)
        .load::<Name>(&mut *conn)
        .expect("catalog")
        .into_iter()
        .map(|n| n.name)
        .collect();
    names.sort();
    names
}

async fn a_query_asks_for_the_sort_indexes_that_serve_it(db: Db) {
    let app = spawn_app(db).await;
    let path = people(&app).await;
    assert!(sort_indexes(&app, db).is_empty());
    // age (2) and email (0) are compared; `is error` and `like` need no index.
    let q = "(age gt 10 or email eq a@x.io) and is valid and name like B%";
    assert_eq!(emails(&app, &path, q).await, vec!["a@x.io"]);
    let mut waited = 0;
    loop {
        let names = sort_indexes(&app, db);
        if names.len() == 2 {
            assert!(names[0].ends_with("_0") && names[1].ends_with("_2"), "{names:?}");
            break;
        }
        assert!(waited < 100, "the sort indexes were never built: {names:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    // The same answer through the indexes.
    assert_eq!(emails(&app, &path, q).await, vec!["a@x.io"]);
    assert_eq!(
        emails(&app, &path, "age gt 10").await,
        vec!["", "a@x.io", "d@x.io"]
    );
}

on_both!(a_query_asks_for_the_sort_indexes_that_serve_it);

async fn the_grid_pages_through_a_filter(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let (space, sheet, path) = people_in_space(&app).await;
    let rows: Vec<Value> = (0..250)
        .map(|i| json!({"email": {"value": format!("p{i}@x.io")}, "age": {"value": i}}))
        .collect();
    let (status, body) = app.post_json(&path, &Value::Array(rows)).await;
    assert_eq!(status, 200, "{body}");
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let shown = |html: &str| -> Vec<String> {
        html.split(">p")
            .skip(1)
            .filter_map(|rest| rest.split_once("@x.io<").map(|(n, _)| format!("p{n}")))
            .collect()
    };
    let next_link = |html: &str| -> Option<String> {
        let end = html.find(">Next</a>")?;
        let start = html[..end].rfind("href=\"")? + 6;
        Some(
            html[start..start + html[start..].find('"')?]
                .replace("&#38;", "&")
                .replace("&amp;", "&"),
        )
    };
    // Ages 101 to 249 (the sheet's first five people are younger).
    let first = app
        .page(&format!(
            "/workbooks/{wb}?sheet={sheet}&q={}",
            urlencode("filter: age gte 101 and age lt 250")
        ))
        .await;
    let want: Vec<String> = (101..201).map(|i| format!("p{i}")).collect();
    assert_eq!(shown(&first), want);
    let second = app.page(&next_link(&first).expect("a next page")).await;
    let want: Vec<String> = (201..250).map(|i| format!("p{i}")).collect();
    assert_eq!(shown(&second), want);
    assert!(next_link(&second).is_none());
}

on_both!(the_grid_pages_through_a_filter);

/// A list cell is found by the text it shows (`vip, new`), in the whole row or its field,
/// as FFQL finds it.
async fn a_list_cell_is_found_by_what_it_shows(db: Db) {
    let app = spawn_app(db).await;
    let path = people(&app).await;
    for query in [
        "searchValue=vip,%20new",
        "searchValue=vip,%20new&searchField=tags",
    ] {
        let (status, page) = app.get_json(&format!("{path}?{query}")).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            crate::records_search::emails(&page),
            vec!["a@x.io".to_string()],
            "{query}"
        );
    }
    let by_ffql = emails(&app, &path, r#"tags eq "vip, new""#).await;
    assert_eq!(by_ffql, vec!["a@x.io".to_string()]);
}

on_both!(a_list_cell_is_found_by_what_it_shows);
