//! The dashboard's deletes, each asking first: a file with the workbook its extraction
//! made, a workbook, an archived space. The team's; a guest has no button and is refused.

use crate::helpers::*;
use crate::live_access::{guest_browser, guest_with_token};
use crate::on_both;

async fn the_team_deletes_files_workbooks_and_spaces_from_the_dashboard(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap().to_string();
    let (status, file) = app
        .upload(
            &space_id,
            "wrong customer.csv",
            b"Email,Name\na@x.org,Ann\n".to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{file}");
    let file_id = file["data"]["id"].as_str().unwrap().to_string();
    let (_, jobs) = app.get_json(&format!("/jobs?fileId={file_id}")).await;
    let extraction = app.wait_job(jobs["data"][0]["id"].as_str().unwrap()).await;
    assert_eq!(extraction["status"], "complete", "{extraction}");
    assert_eq!(
        workbooks(&app, &space_id).await.len(),
        2,
        "the space's and the file's"
    );

    // A guest of the space sees no Delete, and a forged post is refused.
    let (_, token) = guest_with_token(&app, "gus@example.com", "Gus", &[&space_id]).await;
    let guest = guest_browser(&app, &token).await;
    let listed = text_of(&guest, app.url(&format!("/spaces/{space_id}/files"))).await;
    assert!(
        listed.contains("wrong customer.csv") && !listed.contains("/delete"),
        "{listed}"
    );
    let guest_page = text_of(&guest, app.url(&format!("/guest/spaces/{space_id}"))).await;
    let refused = guest
        .post(app.url(&format!("/files/{file_id}/delete")))
        .form(&[("csrf_token", meta_csrf(&guest_page))])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);

    app.make_user("ada@example.com", false);
    app.sign_in("ada@example.com", PASSWORD).await;
    let tab = app.page(&format!("/spaces/{space_id}?tab=files")).await;
    let token = meta_csrf(&tab);
    let rows = app.page(&format!("/spaces/{space_id}/files")).await;
    assert!(rows.contains(&format!("id=\"delete-{file_id}\"")), "{rows}");
    let post = |path: String, token: String| {
        let (client, url) = (app.client.clone(), app.url(&path));
        async move {
            client
                .post(url)
                .form(&[("csrf_token", token)])
                .send()
                .await
                .unwrap()
        }
    };
    let forged = post(format!("/files/{file_id}/delete"), "forged".into()).await;
    assert_eq!(forged.status().as_u16(), 403);
    let (status, _) = app.get_json(&format!("/files/{file_id}")).await;
    assert_eq!(status, 200, "kept");

    // The file goes, with its workbook; the space's own workbook stays.
    let gone = post(format!("/files/{file_id}/delete"), token.clone()).await;
    assert_eq!(gone.status().as_u16(), 303);
    let (status, _) = app.get_json(&format!("/files/{file_id}")).await;
    assert_eq!(status, 404);
    let left = workbooks(&app, &space_id).await;
    assert_eq!(left.len(), 1, "{left:?}");

    // A workbook goes from its card.
    let page = app.page(&format!("/spaces/{space_id}")).await;
    let wb = &left[0].0;
    assert!(page.contains(&format!("id=\"delete-workbook-{wb}\"")), "{page}");
    assert_eq!(
        post(format!("/workbooks/{wb}/delete"), token.clone())
            .await
            .status()
            .as_u16(),
        303
    );
    assert!(workbooks(&app, &space_id).await.is_empty());
    assert_eq!(
        post(format!("/workbooks/{wb}/delete"), token.clone())
            .await
            .status()
            .as_u16(),
        404
    );

    // A file whose extracted workbook is deleted no longer points at it.
    let (_, again) = app
        .upload(&space_id, "again.csv", b"Email\nb@x.org\n".to_vec())
        .await;
    let again = again["data"]["id"].as_str().unwrap().to_string();
    let (_, jobs) = app.get_json(&format!("/jobs?fileId={again}")).await;
    app.wait_job(jobs["data"][0]["id"].as_str().unwrap()).await;
    let (_, file) = app.get_json(&format!("/files/{again}")).await;
    let its_wb = file["data"]["workbookId"].as_str().unwrap().to_string();
    assert_eq!(
        post(format!("/workbooks/{its_wb}/delete"), token.clone())
            .await
            .status()
            .as_u16(),
        303
    );
    let (_, file) = app.get_json(&format!("/files/{again}")).await;
    assert!(file["data"]["workbookId"].is_null(), "{file}");

    // A space is deleted once archived: the list offers it then.
    let list = app.page("/spaces").await;
    assert!(!list.contains(&format!("delete-space-{space_id}")), "{list}");
    assert_eq!(
        post(format!("/spaces/{space_id}/delete"), token.clone())
            .await
            .status()
            .as_u16(),
        409
    );
    let archived = post(format!("/spaces/{space_id}/archive"), token.clone()).await;
    assert_eq!(archived.status().as_u16(), 303);
    // Said where it went, once (probe 58b F11: it only vanished).
    let went = archived.headers()["location"].to_str().unwrap().to_string();
    let said = app.page(&went).await;
    assert!(
        said.contains("Archived “") && said.contains("where Unarchive brings it back"),
        "{went}: {said}"
    );
    // Sent again (a second tab): nothing happens, and no event says it did (probe 72b D14).
    let topics = async || {
        let (_, events) = app
            .get_json(&format!("/events?spaceId={space_id}&pageSize=100"))
            .await;
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["topic"].to_string())
            .collect::<Vec<_>>()
    };
    let before = topics().await;
    let again = post(format!("/spaces/{space_id}/archive"), token.clone()).await;
    assert_eq!(again.status().as_u16(), 303);
    assert_eq!(topics().await, before);
    let list = app.page("/spaces?archived=true").await;
    assert!(list.contains(&format!("delete-space-{space_id}")), "{list}");
    let deleted = post(format!("/spaces/{space_id}/delete"), token.clone()).await;
    assert_eq!(deleted.status().as_u16(), 303);
    // Said, on the list it was deleted from (probe 72b D2).
    let went = deleted.headers()["location"].to_str().unwrap().to_string();
    let said = app.page(&went).await;
    assert!(said.contains("The space was deleted"), "{went}: {said}");
    let (status, _) = app.get_json(&format!("/spaces/{space_id}")).await;
    assert_eq!(status, 404);
}

/// A page's HTML, as `client` gets it.
async fn text_of(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// The space's workbooks, (id, name).
async fn workbooks(app: &TestApp, space_id: &str) -> Vec<(String, String)> {
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space_id}")).await;
    wbs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["id"].as_str().unwrap().to_string(),
                w["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

on_both!(the_team_deletes_files_workbooks_and_spaces_from_the_dashboard);
