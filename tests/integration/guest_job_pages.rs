//! A guest's pages stop or mark read only the jobs a guest may: a team's job that names the
//! guest's sheet in its config is not a bulk change of that sheet, nor the guest's to follow.

use crate::helpers::*;
use crate::live_access::{guest_browser, guest_with_token};
use crate::on_both;
use serde_json::{json, Value};

async fn a_guests_pages_cannot_stop_or_follow_the_teams_jobs(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let space_id = space["id"].as_str().unwrap();
    let sheet = app.sheet_id(&space, "contacts").await;
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space_id}")).await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let (status, team) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "team-only-export", "source": wb,
                    "trigger": "immediate", "config": {"sheet": sheet}}),
        )
        .await;
    assert_eq!(status, 200, "{team}");
    let job = team["data"]["id"].as_str().unwrap();
    let (_, token) = guest_with_token(&app, "g@x.org", "G", &[space_id]).await;
    let browser = guest_browser(&app, &token).await;
    let page = browser
        .get(app.url(&format!("/workbooks/{wb}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = &meta_csrf(&page);
    for path in [
        format!("/grid/{sheet}/bulk/jobs/{job}/cancel"),
        format!("/grid/jobs/{job}/follow"),
    ] {
        let resp = browser
            .post(app.url(&path))
            .form(&[("csrf_token", csrf)])
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert!(
            status == 404 || status == 403,
            "{path}: {status} {}",
            resp.text().await.unwrap()
        );
    }
    let (_, now) = app.get_json(&format!("/jobs/{job}")).await;
    assert_eq!(now["data"]["status"], "ready", "{now}");
    assert_eq!(now["data"]["outcomeAcknowledgedAt"], Value::Null, "{now}");

    // The team's import, waiting for its plan: the guest's import page does not run it
    // (a job runs as whoever made it).
    let companies = app.sheet_id(&space, "companies").await;
    let (status, import) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "map", "source": wb, "destination": wb,
                    "trigger": "manual",
                    "config": {"sourceSheetId": companies, "destinationSheetId": sheet}}),
        )
        .await;
    assert_eq!(status, 200, "{import}");
    let import = import["data"]["id"].as_str().unwrap();
    // Its page shows the import without a form the guest could not send.
    let shown = browser
        .get(app.url(&format!("/jobs/{import}")))
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status().as_u16(), 200);
    let shown = shown.text().await.unwrap();
    assert!(
        !shown.contains(&format!("action=\"/jobs/{import}/plan\"")),
        "{shown}"
    );
    assert!(shown.contains("Your team started this import"), "{shown}");
    let resp = browser
        .post(app.url(&format!("/jobs/{import}/plan")))
        .form(&[("csrf_token", csrf.as_str()), ("map:name", "name")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403, "{}", resp.text().await.unwrap());
    let (_, now) = app.get_json(&format!("/jobs/{import}")).await;
    assert_ne!(now["data"]["status"], "ready", "{now}");
    assert_ne!(now["data"]["status"], "complete", "{now}");
}

on_both!(a_guests_pages_cannot_stop_or_follow_the_teams_jobs);
