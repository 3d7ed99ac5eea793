//! The grid's paging, rows and the first-admin link, through a cookie-keeping client.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

async fn signed_in(db: Db) -> TestApp {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    app
}

/// The record ids a grid page shows, in order.
fn row_ids(html: &str) -> Vec<String> {
    html.split("<tr id=\"row-")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

fn link(html: &str, label: &str) -> Option<String> {
    let end = html.find(&format!(">{label}</a>"))?;
    let start = html[..end].rfind("href=\"")? + 6;
    Some(
        html[start..start + html[start..].find('"')?]
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

async fn the_grid_pages_by_keyset_first_next_previous_last(db: Db) {
    let app = signed_in(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let rows: Vec<Value> = (1..=250).map(|i| json!({"code": format!("C{i:03}")})).collect();
    let (_, inserted) = app
        .post_json(&format!("/sheets/{sheet}/records"), &Value::Array(rows))
        .await;
    let ids: Vec<String> = inserted["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();

    let first = app.page(&format!("/workbooks/{wb}?sheet={sheet}")).await;
    assert_eq!(row_ids(&first), ids[..100].to_vec());
    assert!(link(&first, "Previous").is_none());
    let next = link(&first, "Next").expect("a next link");
    let second = app.page(&next).await;
    assert_eq!(row_ids(&second), ids[100..200].to_vec());
    let last = app
        .client
        .get(app.url(&link(&second, "Last").unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        row_ids(&last),
        ids[150..].to_vec(),
        "the last page holds the last 100 records"
    );
    assert!(link(&last, "Next").is_none());
    let back = app
        .client
        .get(app.url(&link(&last, "Previous").unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(row_ids(&back), ids[50..150].to_vec());
    let partial = app
        .client
        .get(app.url(&next))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        partial.starts_with("<section id=\"grid\""),
        "htmx gets the table alone"
    );
    // Back to a page htmx's history cache no longer holds: htmx asks for it again and puts
    // the answer in the whole body, so it must be the whole page.
    let restored = app
        .client
        .get(app.url(&next))
        .header("hx-request", "true")
        .header("hx-history-restore-request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        restored.contains("<nav class=\"tabs\"") && restored.contains("id=\"live-refresh\""),
        "a history restore gets the whole page: {}",
        &restored[..restored.len().min(300)]
    );
    assert_eq!(row_ids(&restored), ids[100..200].to_vec());

    // Sorted (paged by number): every record on exactly one page, none skipped between
    // pages (each page used to start 101 records after the one before).
    let mut seen = Vec::new();
    let mut url = format!("/workbooks/{wb}?sheet={sheet}&sort=code&dir=desc");
    for _ in 0..3 {
        let page = app.page(&url).await;
        seen.extend(row_ids(&page));
        match link(&page, "Next") {
            Some(next) => url = next,
            None => break,
        }
    }
    let mut want: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, want, "the sorted pages, in order");
    want.dedup();
    assert_eq!(want.len(), 250);

    // A view sorted, searched or narrowed by a field the sheet no longer has (removed while
    // the grid was open: its refreshes and tabs ask for that view) shows the sheet without it.
    let gone = app
        .client
        .get(app.url(&format!(
            "/workbooks/{wb}?sheet={sheet}&sort=removed&dir=desc&qf=removed&field=removed"
        )))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status().as_u16(), 200);
    let gone = gone.text().await.unwrap();
    assert_eq!(row_ids(&gone), ids[..100].to_vec());
    // The view forgets the field (its refreshes and links ask for the sheet without it)
    // and says what it dropped.
    let refresh = gone
        .split("data-refresh=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(!refresh.contains("removed"), "{refresh}");
    assert!(!gone.contains("=removed"), "no link keeps the field");
    assert!(
        gone.contains("Dropped from this view: sort by “removed”, search in “removed”, errors in “removed” (the sheet no longer has that field)."),
        "{gone}"
    );
}

async fn rows_are_added_and_deleted_from_the_grid(db: Db) {
    let app = signed_in(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (_, inserted) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io"}, {"email": "b@x.io"}]),
        )
        .await;
    let token = app.csrf("/spaces").await;

    let added = app
        .client
        .post(app.url(&format!("/grid/{sheet}/rows")))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(added.status().as_u16(), 303);
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 3);
    assert_eq!(
        counts["data"]["counts"]["error"], 1,
        "the new row misses its required email"
    );

    let ids = format!(
        "{},{}",
        inserted["data"]["records"][0]["id"].as_str().unwrap(),
        inserted["data"]["records"][1]["id"].as_str().unwrap()
    );
    let deleted = app
        .client
        .post(app.url(&format!("/grid/{sheet}/rows/delete")))
        .header("hx-request", "true")
        .form(&[
            ("csrf_token", token.as_str()),
            ("ids", ids.as_str()),
            // The view the rows were ticked in, and something that is no part of a view.
            (
                "view",
                "sheet=other&filter=error&sort=email&dir=desc&q=x%0Ay&evil=1",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    let back = deleted.headers()["hx-redirect"].to_str().unwrap().to_string();
    let view_at = back.find('?').expect("a query");
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(&back[view_at + 1..]).unwrap();
    pairs.sort();
    assert_eq!(
        pairs,
        vec![
            ("dir".to_string(), "desc".to_string()),
            ("filter".into(), "error".into()),
            ("q".into(), "x\ny".into()),
            ("sheet".into(), sheet.clone()),
            ("sort".into(), "email".into()),
        ],
        "back to the view the rows were deleted from, on this sheet: {back}"
    );
    let (_, counts) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(counts["data"]["counts"]["total"], 1);
    // The page it goes back to says how many went, once (probe 71d D7, 76a D4).
    let page = app.page(&back).await;
    assert!(page.contains("Deleted 2 records."), "{page}");
    assert!(!app.page(&back).await.contains("Deleted 2 records."));
    let none = app
        .client
        .post(app.url(&format!("/grid/{sheet}/rows/delete")))
        .form(&[("csrf_token", token.as_str()), ("ids", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(none.status().as_u16(), 400);
}

/// Sends the first-admin form with this link's token, the password typed twice as `again`.
async fn create_first_admin_typed(app: &TestApp, token: &str, again: &str) -> reqwest::Response {
    app.client
        .post(app.url("/setup"))
        .form(&[
            ("token", token),
            ("email", "root@example.com"),
            ("password", "a long enough password"),
            ("confirm", again),
        ])
        .send()
        .await
        .unwrap()
}

async fn create_first_admin(app: &TestApp, token: &str) -> reqwest::Response {
    create_first_admin_typed(app, token, "a long enough password").await
}

async fn the_first_admin_is_created_through_a_one_time_link(db: Db) {
    let app = spawn_app(db).await;
    let link = app.setup_link.clone().expect("no user yet, so a setup link");
    let path = &link[link.find("/setup").unwrap()..];
    let token = &path[path.find("token=").unwrap() + 6..];
    // A member made with the command line first leaves the link working while no admin
    // exists (probe 61e D8: it said the first admin was made already).
    app.make_user("member@example.com", false);
    assert_eq!(
        app.client
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        app.client
            .get(app.url("/setup?token=guess"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    // The password typed again differently: said, and no admin made (probe 57a).
    let typo = create_first_admin_typed(&app, token, "a long enough pasword").await;
    assert_eq!(typo.status().as_u16(), 200);
    assert!(typo.text().await.unwrap().contains("the two passwords differ"));
    let done = create_first_admin(&app, token).await;
    assert_eq!(done.status().as_u16(), 303);
    let envs = app.client.get(app.url("/environments")).send().await.unwrap();
    assert_eq!(envs.status().as_u16(), 200, "the new admin is signed in");
    let again = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 404, "the link works once");
    // Saying what to do now that an admin exists: not to restart (probe 48d F4).
    let said = again.text().await.unwrap();
    assert!(said.contains("the first admin was made already"), "{said}");
    assert!(!said.contains("restart"), "{said}");
}

async fn the_environment_switcher_scopes_the_pages(db: Db) {
    let app = signed_in(db).await;
    app.post_json("/spaces", &json!({"name": "Dev only"})).await;
    let html = app.page("/spaces").await;
    assert!(html.contains("Dev only"));
    // Another tab keeps the forms it showed for development.
    let new_space = app.page("/spaces/new").await;
    let webhooks = app.page("/webhooks").await;
    let shown_for = |html: &str| {
        let needle = "name=\"environment_id\" value=\"";
        let start = html.find(needle).expect("the form names its environment") + needle.len();
        html[start..start + html[start..].find('"').unwrap()].to_string()
    };
    let configs = app.page("/space-configs").await;
    let dev = shown_for(&new_space);
    assert_eq!(shown_for(&webhooks), dev);
    assert_eq!(shown_for(&configs), dev);
    let token = app.csrf("/spaces").await;
    let (_, envs) = app.get_json("/environments").await;
    let prod = envs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "production")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let switched = app
        .client
        .post(app.url("/switch-environment"))
        .form(&[("csrf_token", token.as_str()), ("environment_id", prod.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status().as_u16(), 303);
    let html = app.page("/spaces").await;
    assert!(
        !html.contains("Dev only"),
        "production does not show development's spaces"
    );
    assert!(html.contains("No spaces yet"));
    // The development tab's forms, sent now: refused, nothing made in production.
    let post = |path: &'static str, fields: Vec<(&'static str, String)>| {
        let client = app.client.clone();
        let url = app.url(path);
        async move { client.post(url).form(&fields).send().await.unwrap() }
    };
    let stale = post(
        "/spaces",
        vec![
            ("csrf_token", token.clone()),
            ("name", "Meant for dev".into()),
            ("environment_id", dev.clone()),
        ],
    )
    .await;
    assert_eq!(stale.status().as_u16(), 409);
    assert!(stale.text().await.unwrap().contains("reload the page"));
    let stale = post(
        "/webhooks",
        vec![
            ("csrf_token", token.clone()),
            ("url", "http://127.0.0.1:9/dev-receiver".into()),
            ("topics", "**".into()),
            ("environment_id", dev.clone()),
        ],
    )
    .await;
    assert_eq!(stale.status().as_u16(), 409);
    let hooks: i64 = {
        use diesel::prelude::*;
        let mut conn = app.pool.get().unwrap();
        wharf::db::schema::webhooks::table
            .count()
            .get_result(&mut *conn)
            .unwrap()
    };
    assert_eq!(hooks, 0, "no webhook in any environment");
    // The deploy form too (probe 66c D2: it deployed into production, over its config of
    // the same slug).
    let blueprint = json!({"name": "Meant for dev", "slug": "dev-config", "workbooks": [
        {"name": "W", "sheets": [{"name": "S", "slug": "s", "fields": [{"key": "a", "type": "string"}]}]}]});
    let deploy = reqwest::multipart::Form::new()
        .text("csrf_token", token.clone())
        .text("environment_id", dev.clone())
        .text("blueprint", blueprint.to_string());
    let stale = app
        .client
        .post(app.url("/space-configs"))
        .multipart(deploy)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 409);
    assert!(stale.text().await.unwrap().contains("reload the page"));
    let deployed: i64 = {
        use diesel::prelude::*;
        use wharf::db::schema::space_configs::dsl::*;
        let mut conn = app.pool.get().unwrap();
        space_configs
            .filter(slug.eq("dev-config"))
            .count()
            .get_result(&mut *conn)
            .unwrap()
    };
    assert_eq!(deployed, 0, "no space config in any environment");
    assert!(app.page("/spaces").await.contains("No spaces yet"));
    // Ticked Archived with none archived: none archived, not none at all (probe 57a).
    let archived = app.page("/spaces?archived=true").await;
    assert!(
        archived.contains("No archived spaces.") && archived.contains("0 spaces"),
        "{archived}"
    );
    // The same form shown for production goes through.
    let made = post(
        "/spaces",
        vec![
            ("csrf_token", token.clone()),
            ("name", "Prod one".into()),
            ("environment_id", prod.clone()),
        ],
    )
    .await;
    assert_eq!(made.status().as_u16(), 303);
    assert!(app.page("/spaces").await.contains("Prod one"));
}

/// A first-admin link printed more than a day ago no longer creates the admin, and says why.
async fn a_first_admin_link_is_good_for_a_day(db: Db) {
    use diesel::prelude::*;
    use wharf::db::schema::setup_tokens;
    let app = spawn_app(db).await;
    let link = app.setup_link.clone().expect("no user yet, so a setup link");
    let path = &link[link.find("/setup").unwrap()..];
    let token = &path[path.find("token=").unwrap() + 6..];
    let day_ago = chrono::Utc::now().naive_utc() - chrono::Duration::hours(25);
    let mut conn = app.pool.get().unwrap();
    diesel::update(setup_tokens::table)
        .set(setup_tokens::created_at.eq(day_ago))
        .execute(&mut *conn)
        .unwrap();
    let page = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 404);
    assert!(page.text().await.unwrap().contains("more than 24 hours old"));
    let refused = create_first_admin(&app, token).await;
    assert_eq!(refused.status().as_u16(), 404);
}

on_both!(
    a_first_admin_link_is_good_for_a_day,
    the_grid_pages_by_keyset_first_next_previous_last,
    rows_are_added_and_deleted_from_the_grid,
    the_first_admin_is_created_through_a_one_time_link,
    the_environment_switcher_scopes_the_pages,
);
