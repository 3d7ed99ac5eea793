//! Workbook and sheet `actions` keep Flatfile's `Action` shape through blueprints,
//! `POST /v1/workbooks` and `PATCH`, unknown keys included; a bad shape is refused with
//! its JSON path and nothing is stored.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

/// Every key of Flatfile's `Action`, plus one Wharf does not know.
pub fn full_action() -> Value {
    json!({
        "label": "Send to CRM", "operation": "export-crm", "primary": true, "confirm": true,
        "description": "Send the valid records to the CRM?", "icon": "send",
        "tooltip": "Sends valid records", "mode": "foreground",
        "messages": [{"type": "info", "content": "Runs in your CRM"}],
        "constraints": [{"type": "hasAllValid"}, {"type": "hasData"}],
        "inputForm": {"type": "simple", "fields": [
            {"key": "note", "label": "Note", "type": "string", "defaultValue": "hello",
             "constraints": [{"type": "required"}]},
            {"key": "tier", "label": "Tier", "type": "enum",
             "config": {"options": [{"value": "gold", "label": "Gold"}]}}
        ]},
        "customThing": {"kept": [1, 2]}
    })
}

fn sheet_action() -> Value {
    json!({"label": "Check selected", "operation": "check", "mode": "background",
           "constraints": [{"type": "hasSelection"}], "extra": "kept"})
}

fn blueprint_with_actions() -> Value {
    let mut bp = contacts_blueprint();
    bp["workbooks"][0]["actions"] = json!([full_action()]);
    bp["workbooks"][0]["sheets"][1]["actions"] = json!([sheet_action()]);
    bp
}

async fn blueprint_actions_come_back_unchanged(db: Db) {
    let app = spawn_app(db).await;
    let (status, config) = app.post_json("/space-configs", &blueprint_with_actions()).await;
    assert_eq!(status, 200, "{config}");
    let body = json!({"name": "With actions", "spaceConfigId": config["data"]["id"]});
    let (status, space) = app.post_json("/spaces", &body).await;
    assert_eq!(status, 200, "{space}");
    let (_, wbs) = app
        .get_json(&format!(
            "/workbooks?spaceId={}",
            space["data"]["id"].as_str().unwrap()
        ))
        .await;
    let wb = &wbs["data"][0];
    assert_eq!(wb["actions"], json!([full_action()]), "{wb}");
    let contacts = wb["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == "contacts")
        .unwrap();
    assert_eq!(
        contacts["config"]["actions"],
        json!([sheet_action()]),
        "{contacts}"
    );
}

async fn workbook_create_and_patch_keep_actions(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Actions").await;
    let sheet = json!({"name": "Leads", "slug": "leads", "fields": [{"key": "email", "type": "string"}],
                       "actions": [sheet_action()]});
    let body = json!({"name": "Leads", "spaceId": space, "sheets": [sheet], "actions": [full_action()]});
    let (status, wb) = app.post_json("/workbooks", &body).await;
    assert_eq!(status, 200, "{wb}");
    assert_eq!(wb["data"]["actions"], json!([full_action()]));
    assert_eq!(
        wb["data"]["sheets"][0]["config"]["actions"],
        json!([sheet_action()])
    );
    let id = wb["data"]["id"].as_str().unwrap();
    let patched = json!([{"label": "Other", "operation": "other", "newKey": true}]);
    let (status, wb) = app
        .patch_json(&format!("/workbooks/{id}"), &json!({"actions": patched}))
        .await;
    assert_eq!(status, 200, "{wb}");
    let (_, got) = app.get_json(&format!("/workbooks/{id}")).await;
    assert_eq!(got["data"]["actions"], patched, "{got}");
}

fn error_keys(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap().to_string())
        .collect()
}

async fn a_bad_action_is_400_with_its_path_and_nothing_is_stored(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Bad actions").await;
    let bad = json!([
        {"operation": "no-label"},
        {"label": "No operation"},
        {"label": "Mode", "operation": "m", "mode": "sideways"},
        {"label": "C", "operation": "c", "constraints": [{"type": "hasMagic"}]},
        {"label": "F", "operation": "f", "inputForm": {"type": "simple", "fields": [
            {"key": "x", "label": "X", "type": "date"}]}}
    ]);
    let body = json!({"name": "Bad", "spaceId": space, "actions": bad});
    let (status, err) = app.post_json("/workbooks", &body).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(
        error_keys(&err),
        [
            "$.actions[0].label",
            "$.actions[1].operation",
            "$.actions[2].mode",
            "$.actions[3].constraints[0].type",
            "$.actions[4].inputForm.fields[0].type"
        ],
        "{err}"
    );
    let (_, wbs) = app.get_json(&format!("/workbooks?spaceId={space}")).await;
    assert_eq!(wbs["data"], json!([]), "nothing stored: {wbs}");

    // A sheet's action, in a workbook and in a blueprint.
    let sheet = json!({"name": "L", "fields": [{"key": "a", "type": "string"}],
                       "actions": [{"label": "S", "operation": "s", "mode": "later"}]});
    let (status, err) = app
        .post_json(
            "/workbooks",
            &json!({"name": "B", "spaceId": space, "sheets": [sheet]}),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(error_keys(&err), ["$.sheets[0].actions[0].mode"]);
    let mut bp = contacts_blueprint();
    bp["workbooks"][0]["sheets"][1]["actions"] = json!([{"label": "No op"}]);
    let (status, err) = app.post_json("/space-configs", &bp).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(
        error_keys(&err),
        ["$.workbooks[0].sheets[1].actions[0].operation"]
    );
    let (_, configs) = app.get_json("/space-configs").await;
    assert_eq!(configs["data"], json!([]), "nothing deployed: {configs}");

    // A PATCH with a bad action leaves the old ones.
    let body = json!({"name": "Good", "spaceId": space, "actions": [full_action()]});
    let (_, wb) = app.post_json("/workbooks", &body).await;
    let id = wb["data"]["id"].as_str().unwrap();
    let (status, err) = app
        .patch_json(
            &format!("/workbooks/{id}"),
            &json!({"actions": [{"label": "x", "operation": "y", "primary": "yes"}]}),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(error_keys(&err), ["$.actions[0].primary"]);
    let (_, got) = app.get_json(&format!("/workbooks/{id}")).await;
    assert_eq!(got["data"]["actions"], json!([full_action()]));
}

/// A guest starting an action through the API gives the input its form asks for, as the
/// dialog does (probe 63d D7: `{}` and an unknown enum value started the job).
async fn a_guests_action_input_is_held_to_its_form(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Forms").await;
    let action = json!({"label": "Report", "operation": "report", "inputForm": {"type": "simple", "fields": [
        {"key": "email", "label": "Email", "type": "string", "constraints": [{"type": "required"}]},
        {"key": "kind", "label": "Kind", "type": "enum",
         "config": {"options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]}},
        {"key": "count", "label": "Count", "type": "number"},
        {"key": "urgent", "label": "Urgent", "type": "boolean"}]}});
    let body = json!({"spaceId": space, "name": "Forms", "actions": [action],
                      "sheets": [{"name": "S", "slug": "s", "fields": [{"key": "a", "type": "string"}]}]});
    let (status, wb) = app.post_json("/workbooks", &body).await;
    assert_eq!(status, 200, "{wb}");
    let wb = wb["data"]["id"].as_str().unwrap().to_string();
    let (_, guest) = crate::live_access::guest_with_token(&app, "g@x.org", "G", &[&space]).await;
    let start = |input: Option<Value>| {
        let mut body =
            json!({"type": "workbook", "operation": "report", "source": wb, "trigger": "immediate"});
        if let Some(input) = input {
            body["input"] = input;
        }
        send(
            app.client
                .post(app.url("/v1/jobs"))
                .bearer_auth(&guest)
                .json(&body),
        )
    };
    for (input, says) in [
        (None, "Email is required"),
        (Some(json!({})), "Email is required"),
        (Some(json!({"email": "  "})), "Email is required"),
        (
            Some(json!({"email": "x@y.z", "kind": "zzz"})),
            "Kind must be one of the choices",
        ),
        (
            Some(json!({"email": "x@y.z", "count": "many"})),
            "Count must be a number",
        ),
        (
            Some(json!({"email": "x@y.z", "count": "NaN"})),
            "Count must be a number",
        ),
        (
            Some(json!({"email": "x@y.z", "count": "1e400"})),
            "Count must be a number",
        ),
        (
            Some(json!({"email": "x@y.z", "urgent": "very"})),
            "Urgent must be true or false",
        ),
        (
            Some(json!({"email": "x@y.z", "extra": 1})),
            "Report asks for no `extra`",
        ),
    ] {
        let (status, body) = start(input.clone()).await;
        assert!(status == 400 || status == 422, "{input:?}: {status} {body}");
        assert!(body.to_string().contains(says), "{input:?}: {body}");
    }
    let (_, jobs) = app.get_json("/jobs").await;
    assert_eq!(
        jobs["data"].as_array().unwrap().len(),
        0,
        "no job for a refused start: {jobs}"
    );
    let fine = json!({"email": "x@y.z", "kind": "a", "count": 3, "urgent": true});
    let (status, body) = start(Some(fine.clone())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["input"], fine);
    // The team's own code (a listener, a script) starts it as it likes, as Flatfile's does.
    let (status, body) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "report", "source": wb, "trigger": "immediate"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

on_both!(
    a_guests_action_input_is_held_to_its_form,
    blueprint_actions_come_back_unchanged,
    workbook_create_and_patch_keep_actions,
    a_bad_action_is_400_with_its_path_and_nothing_is_stored,
);
