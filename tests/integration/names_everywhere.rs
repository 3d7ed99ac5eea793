//! Names people read are one line of at most 200 characters, without control or
//! text-direction characters, wherever they are written: workbook names, sheet names and
//! slugs and field labels (in `POST /v1/workbooks`, in blueprints, in `addField`), and a
//! sheet's `PATCH`. Each refusal names its key and stores nothing; names in any script work.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

/// A line break, a right-to-left override, and one character too many.
pub(crate) fn bad_names(max: usize) -> Vec<(&'static str, String)> {
    vec![
        ("a line break", "Ada\nLovelace".to_string()),
        ("an override", "invoice\u{202E}fdp.exe".to_string()),
        ("an invisible character", "Ac\u{200B}me".to_string()),
        ("too long", "n".repeat(max + 1)),
    ]
}

/// The answer is a 422 (or `status`) naming `key`, saying what a name may be.
pub(crate) fn refused_at(status: u16, body: &Value, want: u16, key: &str, case: &str) {
    assert_eq!(status, want, "{case}: {body}");
    assert_eq!(body["errors"][0]["key"], key, "{case}: {body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("is one line of at most"), "{case}: {body}");
}

fn one_sheet(name: &str, slug: &str, label: &str) -> Value {
    json!({"name": name, "slug": slug, "fields": [{"key": "note", "type": "string", "label": label}]})
}

async fn workbooks_of(app: &TestApp, space: &str) -> Vec<Value> {
    let (_, listed) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    listed["data"].as_array().unwrap().clone()
}

async fn workbook_names_are_checked_when_created_and_renamed(db: Db) {
    let app = spawn_app(db).await;
    let sid = app.bare_space("Names").await;
    let mut cases = bad_names(200);
    cases.push(("as long as the attack", "w".repeat(200_000)));
    for (case, name) in &cases {
        let (status, body) = app
            .post_json("/workbooks", &json!({"name": name, "spaceId": sid}))
            .await;
        refused_at(status, &body, 422, "name", case);
    }
    assert!(workbooks_of(&app, &sid).await.is_empty(), "nothing was made");

    let (status, made) = app
        .post_json("/workbooks", &json!({"name": "Søren's orders", "spaceId": sid}))
        .await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["data"]["name"], "Søren's orders");
    let wb = made["data"]["id"].as_str().unwrap();
    for (case, name) in &cases {
        let (status, body) = app
            .patch_json(&format!("/workbooks/{wb}"), &json!({"name": name}))
            .await;
        refused_at(status, &body, 422, "name", case);
    }
    let (_, got) = app.get_json(&format!("/workbooks/{wb}")).await;
    assert_eq!(got["data"]["name"], "Søren's orders", "the name stayed");
    let (status, renamed) = app
        .patch_json(&format!("/workbooks/{wb}"), &json!({"name": "طلبات محمد"}))
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["data"]["name"], "طلبات محمد");
    let (status, exactly) = app
        .patch_json(&format!("/workbooks/{wb}"), &json!({"name": "w".repeat(200)}))
        .await;
    assert_eq!(status, 200, "200 characters are fine: {exactly}");
}

async fn sheet_names_slugs_and_labels_are_checked_in_new_workbooks(db: Db) {
    let app = spawn_app(db).await;
    let sid = app.bare_space("Names").await;
    let create = |sheets: Value| json!({"name": "Orders", "spaceId": sid, "sheets": sheets});
    for (case, bad) in bad_names(200) {
        let (status, body) = app
            .post_json("/workbooks", &create(json!([one_sheet(&bad, "orders", "Note")])))
            .await;
        refused_at(status, &body, 422, "$.sheets[0].name", case);
        let sheets = json!([
            one_sheet("Orders", "orders", "Note"),
            one_sheet("Lines", "lines", &bad)
        ]);
        let (status, body) = app.post_json("/workbooks", &create(sheets)).await;
        refused_at(status, &body, 422, "$.sheets[1].fields[0].label", case);
        // An option's label is shown as a field's is (the grid's editor, the mapping page).
        let options = json!([{"name": "Orders", "slug": "orders", "fields": [{"key": "tier", "type": "enum",
            "label": "Tier", "config": {"options": [{"value": "a", "label": "A"}, {"value": "b", "label": bad}]}}]}]);
        let (status, body) = app.post_json("/workbooks", &create(options)).await;
        refused_at(
            status,
            &body,
            422,
            "$.sheets[0].fields[0].config.options[1].label",
            case,
        );
    }
    let twins = json!([{"name": "Orders", "slug": "orders", "fields": [{"key": "tier", "type": "enum",
        "label": "Tier", "config": {"options": [{"value": "a", "label": "Red"}, {"value": "b", "label": "Red"}]}}]}]);
    let (status, body) = app.post_json("/workbooks", &create(twins)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["errors"][0]["key"], "$.sheets[0].fields[0].config.options[1].label",
        "{body}"
    );
    for slug in [
        "Bad Slug!".to_string(),
        "s".repeat(65),
        "-dash".into(),
        "a\u{202E}b".into(),
    ] {
        let (status, body) = app
            .post_json("/workbooks", &create(json!([one_sheet("Orders", &slug, "Note")])))
            .await;
        assert_eq!(status, 422, "{slug:?}: {body}");
        assert_eq!(body["errors"][0]["key"], "$.sheets[0].slug", "{body}");
        assert!(body.to_string().contains("letters (a-z, A-Z), digits"), "{body}");
    }
    assert!(workbooks_of(&app, &sid).await.is_empty(), "nothing was made");

    let sheets = json!([
        one_sheet("Søren", "soren", "Prénom"),
        one_sheet("محمد", "Mohammed_2", "الاسم"),
        one_sheet("Ordres", &"s".repeat(64), "Note"),
    ]);
    let (status, made) = app.post_json("/workbooks", &create(sheets)).await;
    assert_eq!(status, 200, "{made}");
    let names: Vec<&str> = made["data"]["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Søren", "محمد", "Ordres"]);
    assert_eq!(made["data"]["sheets"][1]["config"]["fields"][0]["label"], "الاسم");
}

async fn blueprints_name_the_path_of_a_bad_name(db: Db) {
    let app = spawn_app(db).await;
    // Each path as the answer names it, and as a JSON pointer into the blueprint.
    let paths = [
        ("$.name", "/name"),
        ("$.workbooks[0].name", "/workbooks/0/name"),
        ("$.workbooks[0].sheets[1].name", "/workbooks/0/sheets/1/name"),
        (
            "$.workbooks[0].sheets[1].fields[2].label",
            "/workbooks/0/sheets/1/fields/2/label",
        ),
        (
            "$.workbooks[0].sheets[0].fields[0].label",
            "/workbooks/0/sheets/0/fields/0/label",
        ),
    ];
    for (path, pointer) in paths {
        for (case, bad) in bad_names(200) {
            let mut bp = contacts_blueprint();
            *bp.pointer_mut(pointer).unwrap() = json!(bad);
            let (status, body) = app.post_json("/space-configs", &bp).await;
            refused_at(status, &body, 422, path, &format!("{path}, {case}"));
        }
    }
    let mut bp = contacts_blueprint();
    bp["workbooks"][0]["sheets"][0]["slug"] = json!("Bad Slug!");
    // The reference to `companies` is named too: the slug no longer matches it.
    let (status, body) = app.post_json("/space-configs", &bp).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["errors"][0]["key"], "$.workbooks[0].sheets[0].slug",
        "{body}"
    );
    let (_, configs) = app.get_json("/space-configs").await;
    assert_eq!(configs["data"], json!([]), "nothing was deployed");

    let mut bp = contacts_blueprint();
    bp["name"] = json!("Onboarding für Søren");
    bp["workbooks"][0]["name"] = json!("عملاء");
    bp["workbooks"][0]["sheets"][1]["fields"][1]["label"] = json!("Имя");
    let (status, config) = app.post_json("/space-configs", &bp).await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["data"]["name"], "Onboarding für Søren");
}

/// A config deployed before the rule, its names as they were, still makes spaces; its
/// sheet's metadata can still change.
async fn names_stored_before_the_rule_stay_as_they_are(db: Db) {
    use diesel::prelude::*;
    use wharf::db::schema::space_configs;
    let app = spawn_app(db).await;
    let (_, config) = app.post_json("/space-configs", &contacts_blueprint()).await;
    let id = config["data"]["id"].as_str().unwrap().to_string();
    let mut old = contacts_blueprint();
    old["workbooks"][0]["name"] = json!("Old\nname");
    old["workbooks"][0]["sheets"][0]["name"] = json!("x\u{202E}gnp.exe");
    old["workbooks"][0]["sheets"][0]["fields"][1]["label"] = json!("l".repeat(300));
    {
        let mut conn = app.pool.get().unwrap();
        diesel::update(space_configs::table.filter(space_configs::id.eq(&id)))
            .set(space_configs::blueprint.eq(old.to_string()))
            .execute(&mut *conn)
            .unwrap();
    }
    let (status, space) = app
        .post_json("/spaces", &json!({"name": "Legacy", "spaceConfigId": id}))
        .await;
    assert_eq!(status, 200, "{space}");
    let companies = app.sheet_id(&space["data"], "companies").await;
    let (_, sheet) = app.get_json(&format!("/sheets/{companies}")).await;
    assert_eq!(sheet["data"]["name"], "x\u{202E}gnp.exe", "kept as stored");
    let (status, body) = app
        .patch_json(&format!("/sheets/{companies}"), &json!({"metadata": {"v": 2}}))
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn added_fields_have_one_line_labels(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let path = format!("/sheets/{contacts}/fields");
    for (case, bad) in bad_names(200) {
        let field = json!({"key": "nickname", "type": "string", "label": bad});
        let (status, body) = app.post_json(&path, &field).await;
        // As every problem of a posted field is (README: addField).
        refused_at(status, &body, 400, "$.label", case);
    }
    let (_, sheet) = app.get_json(&format!("/sheets/{contacts}")).await;
    let fields = sheet["data"]["config"]["fields"].as_array().unwrap();
    assert!(fields.iter().all(|f| f["key"] != "nickname"), "nothing was added");
    let field = json!({"key": "nickname", "type": "string", "label": "Прозвище"});
    let (status, body) = app.post_json(&path, &field).await;
    assert_eq!(status, 200, "{body}");
}

async fn a_sheet_patch_checks_name_slug_and_metadata(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let companies = app.sheet_id(&space, "companies").await;
    let path = format!("/sheets/{contacts}");
    let mut cases = bad_names(200);
    cases.push(("ten thousand", "n".repeat(10_000)));
    for (case, bad) in &cases {
        let (status, body) = app.patch_json(&path, &json!({"name": bad})).await;
        refused_at(status, &body, 422, "name", case);
    }
    for sheet in [&contacts, &companies] {
        // `companies` is named by a reference: still, a slug that could never be one is
        // refused for its form.
        for slug in ["Bad Slug!".to_string(), "s".repeat(300)] {
            let (status, body) = app
                .patch_json(&format!("/sheets/{sheet}"), &json!({"slug": slug}))
                .await;
            assert_eq!(status, 422, "{body}");
            assert_eq!(body["errors"][0]["key"], "slug", "{body}");
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains("letters (a-z, A-Z), digits"), "{message}");
        }
    }
    for (metadata, what) in [
        (json!("x"), "text"),
        (json!([1]), "a list"),
        (json!(7), "a number"),
    ] {
        let (status, body) = app.patch_json(&path, &json!({"metadata": metadata})).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"][0]["key"], "metadata", "{body}");
        assert_eq!(
            body["errors"][0]["message"],
            format!("metadata is an object, such as {{\"source\": \"crm\"}}, not {what}")
        );
    }
    let (_, sheet) = app.get_json(&path).await;
    assert_eq!(sheet["data"]["name"], "Contacts", "nothing changed");
    assert_eq!(sheet["data"]["slug"], "contacts");
    assert_eq!(sheet["data"]["metadata"], json!({}));

    let change = json!({"name": "Контакты Søren", "slug": "Kontakty_2", "metadata": {"a": 1}});
    let (status, body) = app.patch_json(&path, &change).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "Контакты Søren");
    assert_eq!(body["data"]["slug"], "Kontakty_2");
    assert_eq!(body["data"]["metadata"], json!({"a": 1}));
    let (status, body) = app.patch_json(&path, &json!({"metadata": null})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["metadata"], json!({}), "null empties it");
    // A well-formed slug for a referenced sheet still gets the reference's answer.
    let (status, body) = app
        .patch_json(&format!("/sheets/{companies}"), &json!({"slug": "firms"}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.to_string().contains("names this sheet by its slug"),
        "{body}"
    );
}

on_both!(
    workbook_names_are_checked_when_created_and_renamed,
    sheet_names_slugs_and_labels_are_checked_in_new_workbooks,
    blueprints_name_the_path_of_a_bad_name,
    names_stored_before_the_rule_stay_as_they_are,
    added_fields_have_one_line_labels,
    a_sheet_patch_checks_name_slug_and_metadata,
);
