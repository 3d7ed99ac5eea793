//! Editing together: a stale save of a cell someone else changed (or the same person in
//! another tab) is refused, naming who and the current value; other cells still save, every
//! change is kept, and the API lists a sheet's changes since a point.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

/// The version an editor was opened with.
pub(crate) fn editor_version(html: &str) -> String {
    let needle = "name=\"version\" value=\"";
    let start = html.find(needle).expect("version field") + needle.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

pub(crate) async fn save(
    client: &reqwest::Client,
    app: &TestApp,
    csrf: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let resp = client
        .put(app.url(path))
        .header("hx-request", "true")
        .header("x-csrf-token", csrf)
        .form(fields)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn a_stale_save_is_refused_and_every_change_is_kept(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (_, inserted) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io", "name": "Ann"}]),
        )
        .await;
    let rid = inserted["data"]["records"][0]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.make_user("bob@example.com", false);
    app.sign_in("ada@example.com", PASSWORD).await;
    let bob = app.clone_with_new_client();
    bob.sign_in("bob@example.com", PASSWORD).await;
    let (ada_csrf, bob_csrf) = (app.csrf("/spaces").await, bob.csrf("/spaces").await);
    let edit = format!("/grid/{sheet}/records/{rid}/edit?field=name");
    let cell = format!("/grid/{sheet}/records/{rid}");

    // Both open the same cell.
    let ada_version = editor_version(&app.page(&edit).await);
    let bob_version = editor_version(&bob.page(&edit).await);
    assert_eq!(ada_version, bob_version);

    let (status, _) = save(
        &bob.client,
        &app,
        &bob_csrf,
        &cell,
        &[("field", "name"), ("value", "Bob"), ("version", &bob_version)],
    )
    .await;
    assert_eq!(status, 200);
    let (status, toast) = save(
        &app.client,
        &app,
        &ada_csrf,
        &cell,
        &[("field", "name"), ("value", "Carl"), ("version", &ada_version)],
    )
    .await;
    assert_eq!(status, 409, "{toast}");
    assert!(
        toast.contains("bob@example.com") && toast.contains("Bob"),
        "{toast}"
    );
    let (_, records) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(
        records["data"]["records"][0]["values"]["name"]["value"], "Bob",
        "nothing overwritten"
    );

    // Another cell of the same record is not in conflict.
    let (status, _) = save(
        &app.client,
        &app,
        &ada_csrf,
        &cell,
        &[("field", "age"), ("value", "31"), ("version", &ada_version)],
    )
    .await;
    assert_eq!(status, 200);
    // Having seen the current value, Ada saves.
    let fresh = editor_version(&app.page(&edit).await);
    let (status, _) = save(
        &app.client,
        &app,
        &ada_csrf,
        &cell,
        &[("field", "name"), ("value", "Carl"), ("version", &fresh)],
    )
    .await;
    assert_eq!(status, 200);
    // Bob saves the empty Joined cell as it is (Enter in the grid sends ""): that changes
    // nothing, so Ada's save of it on the version she had is not refused.
    let bob_joined = editor_version(
        &bob.page(&format!("/grid/{sheet}/records/{rid}/edit?field=joined"))
            .await,
    );
    let unchanged = [
        ("field", "joined"),
        ("value", ""),
        ("version", bob_joined.as_str()),
    ];
    let (status, _) = save(&bob.client, &app, &bob_csrf, &cell, &unchanged).await;
    assert_eq!(status, 200);
    let (status, toast) = save(
        &app.client,
        &app,
        &ada_csrf,
        &cell,
        &[("field", "joined"), ("value", "2024-01-02"), ("version", &fresh)],
    )
    .await;
    assert_eq!(status, 200, "{toast}");
    // The API's updates keep Flatfile's shapes and are kept in the history too.
    let (status, _) = app
        .put_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"id": rid, "values": {"name": {"value": "Dee"}}}]),
        )
        .await;
    assert_eq!(status, 200);

    let (status, changes) = app.get_json(&format!("/sheets/{sheet}/changes")).await;
    assert_eq!(status, 200, "{changes}");
    let list = changes["data"].as_array().unwrap();
    let seen: Vec<(&str, &str)> = list
        .iter()
        .map(|c| (c["field"].as_str().unwrap(), c["newValue"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("name", "Bob"),
            ("age", "31"),
            ("name", "Carl"),
            ("joined", "2024-01-02"),
            ("name", "Dee")
        ],
        "a save that changes nothing is not a change"
    );
    assert_eq!(list[0]["oldValue"], "Ann");
    assert_eq!(list[0]["recordId"], rid.as_str());
    assert!(list[0]["actorId"].as_str().unwrap().starts_with("us_usr_"));
    assert!(list[4]["actorId"].as_str().unwrap().starts_with("us_key_"));
    let first = list[0]["id"].as_i64().unwrap();
    let (_, after) = app
        .get_json(&format!("/sheets/{sheet}/changes?afterId={first}"))
        .await;
    assert_eq!(after["data"].as_array().unwrap().len(), 4);
    let (_, later) = app
        .get_json(&format!("/sheets/{sheet}/changes?since=2999-01-01T00:00:00.000Z"))
        .await;
    assert_eq!(later["data"], json!([]));
    // It pages with afterId: a page number is refused, not answered with the first page
    // again (probe 69b D4), as is any other parameter.
    for other in ["pageNumber=2", "bogus=1"] {
        let (status, body) = app.get_json(&format!("/sheets/{sheet}/changes?{other}")).await;
        assert_eq!(status, 400, "{other}: {body}");
        assert!(body.to_string().contains("afterId"), "{body}");
    }
}

/// A contacts sheet with one record named `name`, and Ada, an admin, signed in: the app,
/// the sheet, the record and Ada's CSRF token.
async fn ada_and_one_record(db: Db, name: &str) -> (TestApp, String, String, String) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (_, inserted) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io", "name": name}]),
        )
        .await;
    let rid = inserted["data"]["records"][0]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    (app, sheet, rid, csrf)
}

/// One person's two tabs: a save on the version the second tab opened with does not
/// overwrite what the first tab saved since.
async fn ones_own_other_tab_is_a_conflict_too(db: Db) {
    let (app, sheet, rid, csrf) = ada_and_one_record(db, "Ann").await;
    let edit = format!("/grid/{sheet}/records/{rid}/edit?field=name");
    let cell = format!("/grid/{sheet}/records/{rid}");
    let (first_tab, second_tab) = (
        editor_version(&app.page(&edit).await),
        editor_version(&app.page(&edit).await),
    );
    let first = [("field", "name"), ("value", "Eve"), ("version", &first_tab)];
    assert_eq!(save(&app.client, &app, &csrf, &cell, &first).await.0, 200);
    // The same save sent again (a double Enter, a retry) loses nothing: taken.
    assert_eq!(save(&app.client, &app, &csrf, &cell, &first).await.0, 200);
    let second = [("field", "name"), ("value", "Fay"), ("version", &second_tab)];
    let (status, toast) = save(&app.client, &app, &csrf, &cell, &second).await;
    assert_eq!(status, 409, "{toast}");
    assert!(
        toast.contains("you (in another tab or window)") && toast.contains("Eve"),
        "{toast}"
    );
    let (_, records) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(records["data"]["records"][0]["values"]["name"]["value"], "Eve");
    // The next editor opens on the current version and saves.
    let fresh = editor_version(&app.page(&edit).await);
    let again = [("field", "name"), ("value", "Fay"), ("version", &fresh)];
    assert_eq!(save(&app.client, &app, &csrf, &cell, &again).await.0, 200);

    // The same value spelt another way (`1.5` after `1,5`) is the same save; a different
    // one is refused, quoting the value as the grid shows it.
    let edit = format!("/grid/{sheet}/records/{rid}/edit?field=age");
    let tabs: Vec<String> = vec![
        editor_version(&app.page(&edit).await),
        editor_version(&app.page(&edit).await),
        editor_version(&app.page(&edit).await),
    ];
    let age = |value: &'static str, tab: usize| {
        [
            ("field", "age"),
            ("value", value),
            ("version", tabs[tab].as_str()),
        ]
    };
    assert_eq!(save(&app.client, &app, &csrf, &cell, &age("1,5", 0)).await.0, 200);
    assert_eq!(save(&app.client, &app, &csrf, &cell, &age("1.5", 1)).await.0, 200);
    let (status, toast) = save(&app.client, &app, &csrf, &cell, &age("2", 2)).await;
    assert_eq!(status, 409, "{toast}");
    assert!(toast.contains("it is now \u{201c}1.5\u{201d}"), "{toast}");
}

/// A change to a field removed since is history only: its undo is refused, and a later
/// field given the same key never receives the removed field's old value.
async fn a_removed_fields_change_is_not_undone(db: Db) {
    let (app, sheet, rid, csrf) = ada_and_one_record(db, "orig").await;
    let cell = format!("/grid/{sheet}/records/{rid}");
    let edit = [("field", "name"), ("value", "A3")];
    assert_eq!(save(&app.client, &app, &csrf, &cell, &edit).await.0, 200);
    let (status, body) = app.delete(&format!("/sheets/{sheet}/fields/name")).await;
    assert_eq!(status, 200, "{body}");
    let undo = || async {
        let resp = app
            .client
            .post(app.url(&format!("{cell}/undo")))
            .header("hx-request", "true")
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        resp.status().as_u16()
    };
    assert_eq!(undo().await, 409, "nothing to undo");
    let field = json!({"key": "name", "type": "number", "label": "Name"});
    let (status, body) = app.post_json(&format!("/sheets/{sheet}/fields"), &field).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(undo().await, 409, "the new field is not the removed one");
    let (_, records) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let record = &records["data"]["records"][0];
    assert_eq!(record["values"]["name"]["value"], json!(null), "{record}");
    assert_eq!(record["valid"], true, "{record}");
    // The history still says what was changed, under the removed field's name.
    let history = app.page(&format!("{cell}/history")).await;
    assert!(
        history.contains("name (removed") && history.contains("A3"),
        "{history}"
    );
    // One's latest change being to a removed field leaves the one before it to undo.
    let email = [("field", "email"), ("value", "b@x.io")];
    assert_eq!(save(&app.client, &app, &csrf, &cell, &email).await.0, 200);
    let number = [("field", "name"), ("value", "5")];
    assert_eq!(save(&app.client, &app, &csrf, &cell, &number).await.0, 200);
    let (status, body) = app.delete(&format!("/sheets/{sheet}/fields/name")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(undo().await, 200, "the email change is undone");
    let (_, records) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(
        records["data"]["records"][0]["values"]["email"]["value"],
        "a@x.io"
    );
}

async fn history_opens_from_the_grid_and_undoes_ones_own_last_change(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (_, inserted) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io", "name": "Ann"}]),
        )
        .await;
    let rid = inserted["data"]["records"][0]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.make_user("bob@example.com", false);
    app.sign_in("ada@example.com", PASSWORD).await;
    let bob = app.clone_with_new_client();
    bob.sign_in("bob@example.com", PASSWORD).await;
    let (ada_csrf, bob_csrf) = (app.csrf("/spaces").await, bob.csrf("/spaces").await);
    let cell = format!("/grid/{sheet}/records/{rid}");
    let history = format!("/grid/{sheet}/records/{rid}/history");

    let grid = app
        .page(&format!("/workbooks/{}?sheet={sheet}", {
            let (_, wbs) = app
                .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
                .await;
            wbs["data"][0]["id"].as_str().unwrap().to_string()
        }))
        .await;
    assert!(
        grid.contains(&format!("hx-get=\"{history}\"")),
        "the row opens its history"
    );

    save(
        &app.client,
        &app,
        &ada_csrf,
        &cell,
        &[("field", "name"), ("value", "Xena")],
    )
    .await;
    save(
        &bob.client,
        &app,
        &bob_csrf,
        &cell,
        &[("field", "age"), ("value", "5")],
    )
    .await;
    let panel = app.page(&history).await;
    assert!(
        panel.contains("ada@example.com") && panel.contains("bob@example.com"),
        "{panel}"
    );
    // Named by its first value, not only its id (probe 67f D3).
    assert!(panel.contains("History of “<bdi>a@x.io</bdi>”"), "{panel}");
    assert!(
        panel.contains("Undo my last change (<bdi>Name</bdi>: “<bdi>Xena</bdi>” back to “<bdi>Ann</bdi>”)"),
        "{panel}"
    );
    assert!(
        !bob.page(&history).await.contains("“<bdi>Xena</bdi>” back to"),
        "Bob cannot undo Ada's change"
    );

    let undo = format!("/grid/{sheet}/records/{rid}/undo");
    let resp = app
        .client
        .post(app.url(&undo))
        .header("hx-request", "true")
        .header("x-csrf-token", &ada_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.unwrap().contains("Undone"));
    let (_, records) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(records["data"]["records"][0]["values"]["name"]["value"], "Ann");
    assert_eq!(
        records["data"]["records"][0]["values"]["age"]["value"], 5,
        "Bob's change stays"
    );

    // Once someone else changed that cell, Ada's last change is theirs to keep.
    save(
        &bob.client,
        &app,
        &bob_csrf,
        &cell,
        &[("field", "name"), ("value", "Yann")],
    )
    .await;
    let resp = app
        .client
        .post(app.url(&undo))
        .header("hx-request", "true")
        .header("x-csrf-token", &ada_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 409);
    let (_, records) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(records["data"]["records"][0]["values"]["name"]["value"], "Yann");

    // The button undoes the change it shows: one made since in another tab is not undone
    // in its place (probe 49c 2).
    let form = [("field", "age"), ("value", "9")];
    save(&app.client, &app, &ada_csrf, &cell, &form).await;
    let panel = app.page(&history).await;
    assert!(
        panel.contains("Undo my last change (<bdi>Age</bdi>: “<bdi>9</bdi>” back to “<bdi>5</bdi>”)"),
        "{panel}"
    );
    let needle = "name=\"change\" value=\"";
    let at = panel.find(needle).expect("the change's id") + needle.len();
    let shown: String = panel[at..].chars().take_while(char::is_ascii_digit).collect();
    let form = [("field", "name"), ("value", "Zed")];
    save(&app.client, &app, &ada_csrf, &cell, &form).await;
    let resp = app
        .client
        .post(app.url(&undo))
        .header("hx-request", "true")
        .header("x-csrf-token", &ada_csrf)
        .form(&[("change", shown.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 409);
    assert!(resp.text().await.unwrap().contains("now another one (Name)"));
    let (_, records) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    assert_eq!(records["data"]["records"][0]["values"]["name"]["value"], "Zed");
    assert_eq!(records["data"]["records"][0]["values"]["age"]["value"], 9);

    // Another sheet's record has no history here.
    let companies = app.sheet_id(&space, "companies").await;
    let (_, other) = app
        .post_json(&format!("/sheets/{companies}/records"), &json!([{"code": "A"}]))
        .await;
    let other = other["data"]["records"][0]["id"].as_str().unwrap();
    let resp = app
        .client
        .get(app.url(&format!("/grid/{sheet}/records/{other}/history")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

/// Computed and read-only fields are shown in the grid, not edited there: no editor opens
/// on their cells and a save sent anyway is refused, the value kept. Other cells save.
async fn read_only_and_computed_cells_are_not_edited_in_the_grid(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Fixed").await;
    let (status, wb) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Fixed", "spaceId": space, "sheets": [{"name": "C", "slug": "c", "fields": [
                {"key": "n", "type": "string"},
                {"key": "total", "type": "string", "constraints": [{"type": "computed"}]},
                {"key": "ro", "type": "string", "readonly": true}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{wb}");
    let sheet = wb["data"]["sheets"][0]["id"].as_str().unwrap().to_string();
    let (_, inserted) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"n": "a", "total": "42", "ro": "fixed"}]),
        )
        .await;
    let rid = inserted["data"]["records"][0]["id"].as_str().unwrap().to_string();
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let csrf = app.csrf("/spaces").await;
    let grid = app
        .page(&format!(
            "/workbooks/{}?sheet={sheet}",
            wb["data"]["id"].as_str().unwrap()
        ))
        .await;
    assert!(
        grid.contains(&format!("/grid/{sheet}/records/{rid}/edit?field=n")),
        "{grid}"
    );
    assert!(!grid.contains(&format!("/grid/{sheet}/records/{rid}/edit?field=total")));
    assert!(!grid.contains(&format!("/grid/{sheet}/records/{rid}/edit?field=ro")));
    let cell = format!("/grid/{sheet}/records/{rid}");
    for field in ["total", "ro"] {
        let (status, toast) = save(
            &app.client,
            &app,
            &csrf,
            &cell,
            &[("field", field), ("value", "999")],
        )
        .await;
        assert_eq!(status, 403, "{toast}");
        assert!(toast.contains("read-only"), "{toast}");
        let editor = app
            .client
            .get(app.url(&format!("{cell}/edit?field={field}")))
            .send()
            .await
            .unwrap();
        assert_eq!(editor.status().as_u16(), 403);
    }
    let (status, _) = save(&app.client, &app, &csrf, &cell, &[("field", "n"), ("value", "b")]).await;
    assert_eq!(status, 200);
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    let values = &page["data"]["records"][0]["values"];
    assert_eq!(values["total"]["value"], "42");
    assert_eq!(values["ro"]["value"], "fixed");
    assert_eq!(values["n"]["value"], "b");
}

/// A boolean kept as typed (`yes`) opens in its editor as what it reads as, kept as typed
/// unless changed (probe 61e D4: "yes (not true or false)").
async fn a_boolean_typed_as_a_word_says_what_it_reads_as(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (_, inserted) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io", "subscribed": "yes"}, {"email": "b@x.io", "subscribed": "maybe"}]),
        )
        .await;
    let ids = record_ids(&inserted);
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let yes = app
        .page(&format!("/grid/{sheet}/records/{}/edit?field=subscribed", ids[0]))
        .await;
    assert!(yes.contains("yes (reads as true)"), "{yes}");
    let maybe = app
        .page(&format!("/grid/{sheet}/records/{}/edit?field=subscribed", ids[1]))
        .await;
    assert!(maybe.contains("maybe (not true or false)"), "{maybe}");
}

/// An option or a date held as it should opens as that, not as the text it was given
/// (probe 68b D5: "Sent (not an option)" for a valid cell); a value in error opens as given.
async fn an_option_or_a_date_opens_as_held_not_as_given(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (_, inserted) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io", "tier": "Premium", "joined": "31/12/2025"},
                    {"email": "b@x.io", "tier": "bronze", "joined": "soon"}]),
        )
        .await;
    let ids = record_ids(&inserted);
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let edit = |id: &str, field: &str| format!("/grid/{sheet}/records/{id}/edit?field={field}");
    let tier = app.page(&edit(&ids[0], "tier")).await;
    assert!(tier.contains(r#"<option value="gold" selected>"#), "{tier}");
    assert!(!tier.contains("not an option"), "{tier}");
    let joined = app.page(&edit(&ids[0], "joined")).await;
    assert!(joined.contains(r#"type="date" value="2025-12-31""#), "{joined}");
    let bronze = app.page(&edit(&ids[1], "tier")).await;
    assert!(bronze.contains("bronze (not an option)"), "{bronze}");
    // First, so ArrowDown steps on to the options (probe 78c D13: last, it stepped nowhere).
    let first_option = &bronze[bronze.find("<option").unwrap()..];
    assert!(
        first_option.starts_with(r#"<option value="bronze" selected>"#),
        "{bronze}"
    );
    let soon = app.page(&edit(&ids[1], "joined")).await;
    assert!(soon.contains(r#"type="text" value="soon""#), "{soon}");
}

on_both!(
    an_option_or_a_date_opens_as_held_not_as_given,
    a_boolean_typed_as_a_word_says_what_it_reads_as,
    read_only_and_computed_cells_are_not_edited_in_the_grid,
    a_stale_save_is_refused_and_every_change_is_kept,
    ones_own_other_tab_is_a_conflict_too,
    a_removed_fields_change_is_not_undone,
    history_opens_from_the_grid_and_undoes_ones_own_last_change,
);
