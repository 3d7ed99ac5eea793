//! A guest's link used at the moment the team removes the guest, and pressed twice in one
//! browser: the removal always happens, no session outlives it, and a second press goes on
//! to the guest's spaces.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;
use std::time::Duration;

on_both!(
    a_link_opened_while_the_guest_is_removed_leaves_no_access,
    a_link_pressed_again_in_a_second_tab_goes_on_to_the_spaces,
);

/// A new guest of `space` and a mailed (single-use) link for it: the guest's id and the
/// link's path.
async fn guest_with_link(app: &TestApp, space: &str, email: &str) -> (String, String) {
    let (status, created) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": app.env_id.as_str(), "email": email, "name": "G", "spaces": [{"id": space}]}]),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let gid = created["data"][0]["id"].as_str().unwrap().to_string();
    let token = wharf::model::guest_link::new_token();
    let mut conn = app.pool.get().unwrap();
    let guest = wharf::ids::GuestId::parse(&gid).unwrap();
    let space = wharf::ids::SpaceId::parse(space).unwrap();
    wharf::model::guest_link::store(&mut conn, &token, &guest, &space, false, 72).unwrap();
    (gid, format!("/guest-links/{token}"))
}

/// The link's page opened in `client`: its form token.
async fn link_form(app: &TestApp, client: &reqwest::Client, link: &str) -> String {
    let page = client.get(app.url(link)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    form_csrf(&page.text().await.unwrap())
}

async fn press(app: &TestApp, client: &reqwest::Client, link: &str, token: &str) -> reqwest::Response {
    client
        .post(app.url(link))
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap()
}

async fn a_link_opened_while_the_guest_is_removed_leaves_no_access(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sid = space["id"].as_str().unwrap();
    for round in 0..12u64 {
        let (gid, link) = guest_with_link(&app, sid, &format!("g{round}@partner.example")).await;
        let browser = new_client();
        let token = link_form(&app, &browser, &link).await;
        let remove = async {
            tokio::time::sleep(Duration::from_millis(round % 4 * 2)).await;
            app.delete(&format!("/guests/{gid}?spaceId={sid}")).await
        };
        let (opened, (removed, body)) = tokio::join!(press(&app, &browser, &link, &token), remove);
        assert_eq!(
            removed, 200,
            "round {round}: the removal answered {removed} {body}"
        );
        let opened = opened.status().as_u16();
        assert!(
            opened == 303 || opened == 410,
            "round {round}: the link answered {opened}"
        );
        // Whichever came first, the guest reaches nothing now.
        let home = browser.get(app.url("/guest")).send().await.unwrap();
        assert_eq!(
            home.status(),
            303,
            "round {round}: a session outlived the removal"
        );
        let (_, guests) = app.get_json(&format!("/guests?spaceId={sid}")).await;
        assert!(!guests.to_string().contains(&gid), "round {round}: {guests}");
    }
}

async fn a_link_pressed_again_in_a_second_tab_goes_on_to_the_spaces(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sid = space["id"].as_str().unwrap();
    let (_, link) = guest_with_link(&app, sid, "twice@partner.example").await;
    let browser = new_client();
    // Two tabs showed the link's page; its button is pressed in one, then the other.
    let first_tab = link_form(&app, &browser, &link).await;
    let second_tab = link_form(&app, &browser, &link).await;
    let opened = press(&app, &browser, &link, &first_tab).await;
    assert_eq!(opened.status(), 303);
    let again = press(&app, &browser, &link, &second_tab).await;
    assert_eq!(again.status(), 303);
    assert_eq!(again.headers()["location"], "/guest");
    // Another browser pressing it is told it was used.
    let used = new_client().get(app.url(&link)).send().await.unwrap();
    assert_eq!(used.status(), 410);
}
