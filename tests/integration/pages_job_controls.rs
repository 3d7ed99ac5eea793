//! The job page's Cancel and Run again: a person stops an import without the API (it
//! takes back what it wrote) and runs a stopped one again.

use crate::api_mapping::{create_map_job, setup};
use crate::helpers::*;
use crate::on_both;

async fn an_import_is_canceled_and_run_again_from_its_page(db: Db) {
    let app = spawn_app(db).await;
    let mut csv = String::from("Email,Name\n");
    for i in 0..30 {
        csv.push_str(&format!("p{i}@x.org,Person {i}\n"));
    }
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(&app, &csv).await;
    let job = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    // A guest of the space sees the team's import, with no Cancel it would be refused.
    let space = setup_space_of(&app, &dest_wb).await;
    let (_, token) = crate::live_access::guest_with_token(&app, "gus@example.com", "Gus", &[&space]).await;
    let guest = crate::live_access::guest_browser(&app, &token).await;
    let seen = guest.get(app.url(&format!("/jobs/{job}"))).send().await.unwrap();
    assert_eq!(seen.status().as_u16(), 200);
    let seen = seen.text().await.unwrap();
    assert!(!seen.contains("id=\"job-cancel\""), "{seen}");
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let page = app.page(&format!("/jobs/{job}")).await;
    assert!(
        page.contains("id=\"job-cancel\"") && !page.contains("id=\"job-retry\""),
        "{page}"
    );

    // Without the page's token: refused, nothing changes.
    let post = |job: &str, what: &'static str, token: String| {
        let url = app.url(&format!("/jobs/{job}/{what}"));
        let client = app.client.clone();
        async move {
            client
                .post(url)
                .form(&[("csrf_token", token)])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(post(&job, "cancel", "forged".into()).await.status().as_u16(), 403);
    let (_, still) = app.get_json(&format!("/jobs/{job}")).await;
    assert_eq!(still["data"]["status"], "planning", "{still}");

    // Canceled on its planning screen, it never ran: nothing to run again from here.
    let token = meta_csrf(&page);
    assert_eq!(post(&job, "cancel", token.clone()).await.status().as_u16(), 303);
    let (_, canceled) = app.get_json(&format!("/jobs/{job}")).await;
    assert_eq!(canceled["data"]["status"], "canceled", "{canceled}");
    let page = app.page(&format!("/jobs/{job}")).await;
    assert!(
        !page.contains("id=\"job-cancel\"") && !page.contains("id=\"job-retry\""),
        "{page}"
    );
    // It leads back to the files, to start the import again (probe 66h D7: no way on).
    assert!(
        page.contains(&format!("href=\"/spaces/{space}?tab=files\"")) && page.contains("Back to the files"),
        "{page}"
    );
    assert_eq!(post(&job, "retry", token.clone()).await.status().as_u16(), 409);
    assert_eq!(post(&job, "cancel", token.clone()).await.status().as_u16(), 409);

    // A job that ran and failed is run again from its page; then stopped from it.
    let (_, wbs) = app.get_json(&format!("/workbooks/{dest_wb}")).await;
    assert_eq!(wbs["data"]["id"], dest_wb.as_str());
    let (status, custom) = app
        .post_json(
            "/jobs",
            &serde_json::json!({"type": "workbook", "operation": "export-crm", "source": dest_wb}),
        )
        .await;
    assert_eq!(status, 200, "{custom}");
    let custom = custom["data"]["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .post_json(&format!("/jobs/{custom}/execute"), &serde_json::json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post_json(
            &format!("/jobs/{custom}/fail"),
            &serde_json::json!({"outcome": {"message": "CRM down"}}),
        )
        .await;
    assert_eq!(status, 200);
    let page = app.page(&format!("/jobs/{custom}")).await;
    assert!(
        page.contains("id=\"job-retry\"") && !page.contains("id=\"job-cancel\""),
        "{page}"
    );
    assert_eq!(post(&custom, "retry", token.clone()).await.status().as_u16(), 303);
    let (_, again) = app.get_json(&format!("/jobs/{custom}")).await;
    assert_eq!(again["data"]["status"], "ready", "{again}");
    let page = app.page(&format!("/jobs/{custom}")).await;
    assert!(page.contains("id=\"job-cancel\""), "{page}");
    assert_eq!(
        post(&custom, "cancel", token.clone()).await.status().as_u16(),
        303
    );
    let (_, stopped) = app.get_json(&format!("/jobs/{custom}")).await;
    assert_eq!(stopped["data"]["status"], "canceled", "{stopped}");
}

/// The import page says where a file went before, and asks before it goes again (an
/// import run twice doubled the records without a word).
async fn the_import_page_says_where_the_file_went_before(db: Db) {
    let app = spawn_app(db).await;
    let (space, src_wb, src_sheet, dest_wb, contacts) =
        setup(&app, "Email,Name\na@x.org,Ann\nb@x.org,Bo\n").await;
    let (_, files) = app.get_json(&format!("/files?spaceId={space}")).await;
    let file = files["data"][0]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", false);
    app.sign_in("ada@example.com", PASSWORD).await;
    let page = app.page(&format!("/files/{file}/import")).await;
    assert!(
        !page.contains("imported-before") && !page.contains("data-confirm"),
        "{page}"
    );

    // "Map columns" pressed twice (a second tab, Back): one import, opened twice (probe 57a).
    let csrf = app.csrf(&format!("/files/{file}/import")).await;
    let mut planned = Vec::new();
    for _ in 0..2 {
        let made = app
            .client
            .post(app.url(&format!("/files/{file}/import")))
            .form(&[("csrf_token", csrf.as_str()), ("sheet", contacts.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(made.status().as_u16(), 303);
        planned.push(made.headers()["location"].to_str().unwrap().to_string());
    }
    assert_eq!(planned[0], planned[1]);
    // Four at the same instant: the same one still (probe 57e: four jobs).
    let at_once = (0..4).map(|_| {
        app.client
            .post(app.url(&format!("/files/{file}/import")))
            .form(&[("csrf_token", csrf.as_str()), ("sheet", contacts.as_str())])
            .send()
    });
    for made in futures_util::future::join_all(at_once).await {
        let made = made.unwrap();
        assert_eq!(made.status().as_u16(), 303);
        assert_eq!(made.headers()["location"].to_str().unwrap(), planned[0]);
    }
    let page = app.page(&planned[0]).await;
    assert!(!page.contains("imported-before"), "{page}");

    let job = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    let (status, _) = app
        .post_json(&format!("/jobs/{job}/execute"), &serde_json::json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.wait_job(&job).await["status"], "complete");
    // The plan made before the other import ran now says so, and asks before it runs.
    let page = app.page(&planned[0]).await;
    assert!(
        page.contains("id=\"imported-before\"")
            && page.contains("hx-confirm=\"This file was imported before."),
        "{page}"
    );
    // Run from a tab opened before that import (it saw none): said first, not run (probe
    // 57e); pressed again, with the count the answer gave, it runs.
    let token = meta_csrf(&page);
    let run = |seen: &'static str| {
        app.client
            .post(app.url(&format!("{}/plan", planned[0])))
            .header("hx-request", "true")
            .form(&[
                ("csrf_token", token.as_str()),
                ("map:email", "email"),
                ("map:name", "name"),
                ("imports_seen", seen),
            ])
            .send()
    };
    let stale = run("0").await.unwrap();
    assert_eq!(stale.status().as_u16(), 200);
    assert!(stale.headers().get("hx-redirect").is_none());
    let said = stale.text().await.unwrap();
    assert!(
        said.contains("imported meanwhile") && said.contains("value=\"1\""),
        "{said}"
    );
    let job_id = planned[0].trim_start_matches("/jobs/");
    let (_, still) = app.get_json(&format!("/jobs/{job_id}")).await;
    assert_eq!(still["data"]["status"], "planning", "{still}");
    let ran = run("1").await.unwrap();
    assert!(ran.headers().get("hx-redirect").is_some(), "{:?}", ran.headers());
    let page = app.page(&format!("/files/{file}/import")).await;
    assert!(
        page.contains("id=\"imported-before\"") && page.contains("/ Contacts, <time"),
        "{page}"
    );
    assert!(
        page.contains("data-confirm=\"This file was imported before."),
        "{page}"
    );
}

/// An import waiting on its planning screen is canceled when the workbook it reads from
/// or writes into is deleted, and its page still opens (it was a 422, Cancel out of reach).
async fn a_waiting_import_goes_with_its_workbook(db: Db) {
    let app = spawn_app(db).await;
    let (_, src_wb, src_sheet, dest_wb, contacts) = setup(&app, "Email\na@x.org\n").await;
    let job = create_map_job(&app, &src_wb, &src_sheet, &dest_wb, &contacts).await;
    let (status, _) = app.delete(&format!("/workbooks/{dest_wb}")).await;
    assert_eq!(status, 200);
    let (_, after) = app.get_json(&format!("/jobs/{job}")).await;
    assert_eq!(after["data"]["status"], "canceled", "{after}");
    assert!(
        after["data"]["info"]
            .as_str()
            .unwrap_or_default()
            .contains("was deleted"),
        "{after}"
    );
    app.make_user("ada@example.com", false);
    app.sign_in("ada@example.com", PASSWORD).await;
    let page = app
        .client
        .get(app.url(&format!("/jobs/{job}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
}

/// An import that failed because its destination was deleted offers no Run again, and one
/// sent anyway is refused saying what to do, its failure left as it was (probe 57a: it ran,
/// failed again and said `destinationSheetId: no workbook ...`).
async fn an_import_whose_sheet_went_is_not_run_again(db: Db) {
    use crate::job_helpers::*;
    let app = spawn_app(db).await;
    let space = app.bare_space("Gone").await;
    let (src_wb, src_sheet) = extracted(&app, &space, 60_000).await;
    let (dst_wb, dst_sheet) = destination(&app, &space).await;
    let job = start_mapping(
        &app,
        map_body(&src_wb, &src_sheet, &dst_wb, &dst_sheet, "immediate"),
    )
    .await;
    wait_writing(&app, &job, &dst_sheet).await;
    let (status, body) = app.delete(&format!("/workbooks/{dst_wb}")).await;
    assert_eq!(status, 200, "{body}");
    let failed = wait_status(&app, &job, &["complete", "failed"]).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let page = app.page(&format!("/jobs/{job}")).await;
    assert!(!page.contains("id=\"job-retry\""), "{page}");
    let token = meta_csrf(&page);
    let retried = app
        .client
        .post(app.url(&format!("/jobs/{job}/retry")))
        .header("hx-request", "true")
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status().as_u16(), 409);
    assert!(retried.text().await.unwrap().contains("Import into"));
    let (_, after) = app.get_json(&format!("/jobs/{job}")).await;
    assert_eq!(after["data"]["status"], "failed", "{after}");
    assert_eq!(after["data"]["outcome"], failed["outcome"], "{after}");
}

/// The space a workbook is in.
async fn setup_space_of(app: &TestApp, wb: &str) -> String {
    let (_, w) = app.get_json(&format!("/workbooks/{wb}")).await;
    w["data"]["spaceId"].as_str().unwrap().to_string()
}

on_both!(
    an_import_whose_sheet_went_is_not_run_again,
    a_waiting_import_goes_with_its_workbook,
    an_import_is_canceled_and_run_again_from_its_page,
    the_import_page_says_where_the_file_went_before
);
