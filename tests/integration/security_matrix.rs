//! The access matrix, generated from the route table (src/web/routes.rs is read and every
//! `.route(...)` in it is called), so a new route without a check fails here:
//!
//! - a guest of space A (browser session and Bearer guest token) for every object of space B,
//! - an API key of one environment for every object of another,
//! - a signed-out browser for everything,
//!
//! each gets 401, 403, 404, 410, 422 or a redirect to the sign-in page, never a 2xx that
//! shows or changes the other side (the few routes open to everyone are listed below).
//! Afterwards the other side is checked unchanged.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use std::collections::HashMap;

const ROUTES: &str = include_str!("../../src/web/routes.rs");

/// Every `(method, path)` of the route table (`web::resource(path).get(..).post(..)`), `/v1`
/// routes with their prefix.
fn routes() -> Vec<(String, String)> {
    let v1_start = ROUTES.find("web::scope(\"/v1\")").expect("the /v1 scope");
    let pages_start = ROUTES.find("web::scope(\"\")").expect("the pages scope");
    let starts: Vec<usize> = ROUTES.match_indices("web::resource(\"").map(|(i, _)| i).collect();
    let mut out = Vec::new();
    for (n, &at) in starts.iter().enumerate() {
        let tail = &ROUTES[at + "web::resource(\"".len()..];
        let path = &tail[..tail.find('"').expect("path end")];
        // The resource's methods: up to the next resource, the scope's end or the table's.
        let until = starts.get(n + 1).copied().unwrap_or(ROUTES.len());
        let own = &ROUTES[at..until];
        let own = &own[..own.find(".default_service").unwrap_or(own.len())];
        let full = if at > v1_start && at < pages_start {
            format!("/v1{path}")
        } else {
            path.to_string()
        };
        for method in ["get", "post", "put", "patch", "delete", "head"] {
            if own.contains(&format!(".{method}(")) {
                out.push((method.to_uppercase(), full.clone()));
            }
        }
    }
    assert!(out.len() > 50, "the route table was read: {out:?}");
    out
}

/// Routes anyone may call with a 2xx answer (they hold no one's data).
fn open_to_all(method: &str, path: &str) -> bool {
    matches!(
        (method, path),
        ("GET" | "HEAD", "/health")
            | ("GET", "/v1/health")
            | ("GET", "/sign-in")
            | ("GET", "/guest/signed-out")
            | ("GET", "/setup")
            | ("GET", "/assets/htmx.min.js")
            | ("GET", "/assets/sse.min.js")
            | ("GET", "/assets/app.css")
            | ("GET", "/assets/app.js")
            | ("GET", "/assets/live-streams.js")
            | ("GET", "/assets/grid-clipboard.js")
    )
}

/// Routes a guest may call with a 2xx answer: its own home and its spaces' lists of
/// workbooks, files and jobs (checked to hold nothing of the other side).
fn open_to_guest(method: &str, path: &str) -> bool {
    open_to_all(method, path)
        || matches!(
            (method, path),
            ("GET", "/guest") | ("GET", "/v1/spaces" | "/v1/workbooks" | "/v1/files" | "/v1/jobs")
        )
}

/// Routes a key of another environment may answer with a 2xx: its own lists (checked to
/// hold nothing of the other side), environments, which are account-level (any key reads
/// them; see api/environments.rs), and entitlements, an empty list for every key.
fn open_to_other_key(method: &str, path: &str) -> bool {
    open_to_all(method, path)
        || matches!(
            (method, path),
            (
                "GET",
                "/v1/spaces"
                    | "/v1/workbooks"
                    | "/v1/space-configs"
                    | "/v1/events"
                    | "/v1/guests"
                    | "/v1/files"
                    | "/v1/jobs"
                    | "/v1/environments"
                    | "/v1/environments/{id}"
                    | "/v1/webhooks"
                    | "/v1/secrets"
                    | "/v1/entitlements"
            ) | ("POST", "/v1/environments")
        )
}

/// Objects of "the other side", by the names the route table uses for parameters.
struct Other {
    ids: HashMap<&'static str, String>,
}

impl Other {
    fn fill(&self, path: &str) -> String {
        let first = path
            .trim_start_matches("/v1")
            .split('/')
            .nth(1)
            .unwrap_or_default();
        let mut out = String::new();
        for seg in path.split('/').skip(1) {
            out.push('/');
            let value = match seg {
                "{id}" => match first {
                    "spaces" => &self.ids["space"],
                    "workbooks" => &self.ids["workbook"],
                    "sheets" => &self.ids["sheet"],
                    "environments" => &self.ids["environment"],
                    "space-configs" => &self.ids["config"],
                    "events" => &self.ids["event"],
                    "guests" => &self.ids["guest"],
                    "keys" => &self.ids["key"],
                    "people" => &self.ids["user"],
                    "files" => &self.ids["file"],
                    "jobs" => &self.ids["job"],
                    "guest" => &self.ids["space"],
                    "webhooks" => &self.ids["webhook"],
                    "commits" => &self.ids["commit"],
                    "secrets" => &self.ids["secret"],
                    "submissions" => &self.ids["submission"],
                    other => panic!("no object for {{id}} under /{other}: add one to the matrix"),
                },
                "{sheet}" => &self.ids["sheet"],
                "{record}" => &self.ids["record"],
                "{job}" => &self.ids["job"],
                "{bulk}" => &self.ids["bulk"],
                "{submission}" => &self.ids["submission"],
                "{document}" => &self.ids["document"],
                "{guest}" => &self.ids["guest"],
                "{delivery}" => &self.ids["delivery"],
                "{name}" => &self.ids["mail"],
                "{field}" | "{key}" => "name",
                "{token}" => &self.ids["token"],
                s if s.starts_with('{') => panic!("unknown parameter {s} in {path}: add it to the matrix"),
                s => s,
            };
            out.push_str(value);
        }
        out
    }

    /// Texts that must not appear in an answer to the caller.
    fn secrets(&self) -> Vec<&str> {
        [
            "space",
            "workbook",
            "sheet",
            "guest",
            "file",
            "job",
            "webhook",
            "commit",
            "secret_value",
            "document",
        ]
        .iter()
        .map(|k| self.ids[k].as_str())
        .collect()
    }
}

/// A space with a record, a guest, an uploaded file with its job, and an event, in the
/// environment of `key`.
async fn make_other(app: &TestApp, key: &str, env: &str) -> Other {
    let api = |m: reqwest::Method, p: &str| {
        app.client
            .request(m, app.url(&format!("/v1{p}")))
            .bearer_auth(key)
    };
    let (_, config) = send(api(reqwest::Method::POST, "/space-configs").json(&contacts_blueprint())).await;
    let (_, space) = send(
        api(reqwest::Method::POST, "/spaces")
            .json(&json!({"name": "Other side", "spaceConfigId": config["data"]["id"]})),
    )
    .await;
    let sid = space["data"]["id"].as_str().expect("space").to_string();
    let (_, wbs) = send(api(reqwest::Method::GET, &format!("/workbooks?spaceId={sid}"))).await;
    let wid = wbs["data"][0]["id"].as_str().unwrap().to_string();
    let sheet = wbs["data"][0]["sheets"][1]["id"].as_str().unwrap().to_string();
    let (_, rec) = send(
        api(reqwest::Method::POST, &format!("/sheets/{sheet}/records"))
            .json(&json!([{"email": "other@x.io", "name": "Other"}])),
    )
    .await;
    let record = rec["data"]["records"][0]["id"].as_str().unwrap().to_string();
    let (_, g) = send(api(reqwest::Method::POST, "/guests").json(
        &json!([{"environmentId": env, "email": "other-guest@x.io", "name": "Other guest", "spaces": [{"id": sid}]}]),
    ))
    .await;
    let guest = g["data"][0]["id"].as_str().unwrap().to_string();
    let form = reqwest::multipart::Form::new()
        .text("spaceId", sid.clone())
        .text("environmentId", env.to_string())
        .part(
            "file",
            reqwest::multipart::Part::text("email\nother@x.io\n").file_name("other.csv"),
        );
    let (_, f) = send(api(reqwest::Method::POST, "/files").multipart(form)).await;
    let file = f["data"]["id"].as_str().expect("file").to_string();
    let (_, jobs) = send(api(reqwest::Method::GET, &format!("/jobs?fileId={file}"))).await;
    let job = jobs["data"][0]["id"].as_str().expect("job").to_string();
    // Settled, so the snapshots before and after the sweeps compare like with like.
    app.wait_job(&job).await;
    let (_, events) = send(api(reqwest::Method::GET, &format!("/events?spaceId={sid}"))).await;
    let event = events["data"][0]["id"].as_str().unwrap().to_string();
    // A webhook with one delivery (a test ping; port 9 answers nothing, so it stays pending).
    let (_, hook) = send(
        api(reqwest::Method::POST, "/webhooks")
            .json(&json!({"url": "http://127.0.0.1:9/other", "topics": ["layer:created"]})),
    )
    .await;
    let webhook = hook["data"]["id"].as_str().expect("webhook").to_string();
    send(api(reqwest::Method::POST, &format!("/webhooks/{webhook}/test"))).await;
    let (_, log) = send(api(
        reqwest::Method::GET,
        &format!("/webhooks/{webhook}/deliveries"),
    ))
    .await;
    let delivery = log["data"][0]["id"].as_str().expect("delivery").to_string();
    let (_, commits) = send(api(reqwest::Method::GET, "/events?topic=commit:created")).await;
    let commit = commits["data"][0]["context"]["commitId"]
        .as_str()
        .expect("commit")
        .to_string();
    let (_, secrets) = send(
        api(reqwest::Method::POST, "/secrets")
            .json(&json!({"name": "CRM", "value": "other-secret-value", "spaceId": sid})),
    )
    .await;
    let secret = secrets["data"][0]["id"].as_str().expect("secret").to_string();
    let (_, document) = send(
        api(reqwest::Method::POST, &format!("/spaces/{sid}/documents"))
            .json(&json!({"title": "Other's page", "body": "other-document-body"})),
    )
    .await;
    let document = document["data"]["id"].as_str().expect("document").to_string();
    let (_, bulk) = send(
        api(
            reqwest::Method::PATCH,
            &format!("/sheets/{sheet}/records/bulk-update"),
        )
        .json(&json!({"fieldUpdates": {"name": "Other again"}})),
    )
    .await;
    let bulk = bulk["data"]["bulkChangeId"]
        .as_str()
        .expect("bulk change")
        .to_string();
    // A Submit delivered from that space (its receiver answers 200, so the job settles).
    let receiver = crate::submit_receiver::Receiver::start();
    send(api(reqwest::Method::POST, "/webhooks").json(&json!({"url": receiver.url, "slug": "other-crm"})))
        .await;
    send(
        api(reqwest::Method::PATCH, &format!("/workbooks/{wid}")).json(
            &json!({"actions": [{"label": "Submit", "operation": "submit", "deliverTo": "other-crm"}]}),
        ),
    )
    .await;
    let (_, submit) = send(
        api(reqwest::Method::POST, "/jobs")
            .json(&json!({"type": "workbook", "operation": "submit", "source": wid, "trigger": "immediate"})),
    )
    .await;
    let submit_job = submit["data"]["id"].as_str().expect("a submit job").to_string();
    assert_eq!(app.wait_job(&submit_job).await["status"], "complete");
    let submission = receiver.wait_for(1, 30).await[0].webhook_id.clone();
    let mut ids = HashMap::new();
    ids.insert("submission", submission);
    ids.insert("bulk", bulk);
    ids.insert("commit", commit);
    ids.insert("secret", secret);
    ids.insert("document", document);
    ids.insert("secret_value", "other-secret-value".to_string());
    ids.insert("webhook", webhook);
    ids.insert("delivery", delivery);
    ids.insert("space", sid);
    ids.insert("workbook", wid);
    ids.insert("sheet", sheet);
    ids.insert("record", record);
    ids.insert("guest", guest);
    ids.insert("event", event);
    ids.insert("file", file);
    ids.insert("job", job);
    ids.insert("environment", env.to_string());
    ids.insert("config", config["data"]["id"].as_str().unwrap().to_string());
    ids.insert("mail", "20260101T000000000000Z-abcdefgh.eml".to_string());
    ids.insert(
        "token",
        "gt_NotARealTokenNotARealTokenNotARealToken00".to_string(),
    );
    Other { ids }
}

/// What the other side looks like; compared before and after the matrix.
async fn snapshot(app: &TestApp, key: &str, other: &Other) -> Value {
    let get = |p: String| send(app.client.get(app.url(&format!("/v1{p}"))).bearer_auth(key));
    let (_, space) = get(format!("/spaces/{}", other.ids["space"])).await;
    let (_, records) = get(format!("/sheets/{}/records", other.ids["sheet"])).await;
    let (_, guest) = get(format!("/guests/{}", other.ids["guest"])).await;
    let (_, files) = get(format!("/files?spaceId={}", other.ids["space"])).await;
    let (_, jobs) = get(format!("/jobs?spaceId={}", other.ids["space"])).await;
    let (_, hook) = get(format!("/webhooks/{}", other.ids["webhook"])).await;
    let (_, commit) = get(format!("/commits/{}", other.ids["commit"])).await;
    let (_, secrets) = get(format!("/secrets?spaceId={}", other.ids["space"])).await;
    json!({
        "commit": commit["data"], "secrets": secrets["data"],
        "webhook": [&hook["data"]["url"], &hook["data"]["topics"], &hook["data"]["enabled"], &hook["data"]["description"]],
        "name": space["data"]["name"], "archived": space["data"]["archivedAt"],
        "records": records["data"]["records"], "guest": guest["data"],
        "files": files["data"], "jobs": jobs["data"],
    })
}

/// A JSON body the route would take from a caller allowed to use it, so that refusing it
/// can only be the access check (a body it cannot read would be refused anyway, 400/422).
/// `None`: the matrix's generic body (record updates), where 400/422 still counts.
fn valid_body(method: &str, path: &str, other: &Other) -> Option<Value> {
    let id = |k: &str| other.ids[k].clone();
    Some(match (method, path) {
        ("PATCH", "/v1/spaces/{id}" | "/v1/workbooks/{id}" | "/v1/files/{id}" | "/v1/environments/{id}") => {
            json!({"name": "hacked"})
        }
        ("PATCH", "/v1/guests/{id}") => json!({"name": "hacked"}),
        ("PATCH", "/v1/webhooks/{id}") => json!({"description": "hacked", "enabled": false}),
        ("POST", "/v1/webhooks") => {
            json!({"environmentId": id("environment"), "url": "http://127.0.0.1:9/hacked"})
        }
        ("PATCH", "/v1/jobs/{id}") => json!({"info": "hacked"}),
        ("PUT" | "PATCH", "/v1/jobs/{id}/plan") => {
            json!({"fieldMapping": [], "unmappedSourceFields": [], "unmappedDestinationFields": []})
        }
        ("POST", "/v1/workbooks") => json!({"name": "hacked", "spaceId": id("space")}),
        ("POST", "/v1/jobs") => json!({"type": "file", "operation": "extract", "source": id("file")}),
        ("POST", "/v1/invitations") => json!([{"guestId": id("guest"), "spaceId": id("space")}]),
        ("PUT", "/v1/sheets/{id}/records") => {
            json!([{"id": id("record"), "values": {"name": {"value": "hacked"}}}])
        }
        ("POST", "/v1/sheets/{id}/records") => json!([{"email": "x@x.io", "name": "hacked"}]),
        ("POST", "/v1/events") => json!({
            "topic": "space:updated", "domain": "space", "payload": {"hacked": true},
            "context": {"environmentId": id("environment"), "spaceId": id("space")},
        }),
        _ => return None,
    })
}

/// Calls every route with the other side's IDs; `auth` adds the caller's credentials.
async fn sweep(
    app: &TestApp,
    client: &reqwest::Client,
    other: &Other,
    only_v1: bool,
    may_answer: fn(&str, &str) -> bool,
    auth: &(dyn Fn(reqwest::RequestBuilder, bool) -> reqwest::RequestBuilder + Sync),
    who: &str,
) {
    let mut failures = Vec::new();
    for (method, path) in routes() {
        let v1 = path.starts_with("/v1");
        if only_v1 && !v1 {
            continue;
        }
        let url = app.url(&other.fill(&path));
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = client.request(m.clone(), &url);
        let sent = if v1 {
            valid_body(&method, &path, other)
        } else {
            None
        };
        if m != reqwest::Method::GET {
            req = if let Some(body) = &sent {
                req.json(body)
            } else if v1 {
                req.json(&json!([{"id": other.ids["record"], "email": "x@x.io", "values": {"name": {"value": "hacked"}}}]))
            } else {
                req.form(&[
                    ("field", "name"),
                    ("value", "hacked"),
                    ("email", "x@x.io"),
                    ("name", "hacked"),
                    ("role", "admin"),
                    ("ids", other.ids["record"].as_str()),
                    ("password", "hacked password!"),
                    ("confirm", "hacked password!"),
                ])
            };
        }
        let req = auth(req, v1).timeout(std::time::Duration::from_secs(5));
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{method} {path}: no answer ({e})"));
                continue;
            }
        };
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = match tokio::time::timeout(std::time::Duration::from_secs(5), resp.text()).await {
            Ok(Ok(b)) => b,
            _ => {
                failures.push(format!(
                    "{method} {path}: {status} with a body that never ends (a stream?)"
                ));
                continue;
            }
        };
        // The home page only sends people on to the Spaces page or a guest's home, both
        // checked here.
        let home = method == "GET" && path == "/" && (location == "/spaces" || location == "/guest");
        // A job's source out of reach gets the answer a source that does not exist gets
        // (422, naming the id the caller sent; api_jobs.rs asserts it).
        let as_missing = method == "POST" && path == "/v1/jobs" && status == 422;
        let unreadable = (sent.is_none() || as_missing) && matches!(status, 400 | 422);
        let refused = matches!(status, 401 | 403 | 404 | 405 | 410)
            || unreadable
            || (status == 303 && (location == "/sign-in" || location == "/guest/signed-out" || home));
        // What the caller sent itself may come back in a message: that shows it nothing.
        let echoed = |secret: &str| sent.as_ref().is_some_and(|b| b.to_string().contains(secret));
        let leaked: Vec<&str> = other
            .secrets()
            .into_iter()
            .filter(|s| body.contains(s) && !echoed(s))
            .collect();
        if !leaked.is_empty() {
            failures.push(format!("{method} {path}: {status} shows {leaked:?}"));
        } else if !(refused || ((200..300).contains(&status) && may_answer(&method, &path))) {
            failures.push(format!("{method} {path}: {status} {location}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{who} reached the other side:\n{}",
        failures.join("\n")
    );
}

async fn every_route_refuses_callers_outside_its_scope(db: Db) {
    let app = spawn_app(db).await;
    // Space A with a guest; space B (the other side) in the same environment.
    let a = app.space_from_blueprint().await;
    let sa = a["id"].as_str().unwrap();
    let env = app.env_id.as_str().to_string();
    let b = make_other(&app, &app.key, &env).await;
    // A team member and a key of the environment, for /people/{id} and /keys/{id}.
    let b = {
        let mut conn = app.pool.get().unwrap();
        let hash = wharf::auth::password::hash(PASSWORD).unwrap();
        // A member, not the only admin: removing the last admin is refused whoever asks.
        let u = wharf::model::user::create(&mut conn, "member@example.com", &hash, false).unwrap();
        let (k, _) = wharf::model::api_key::create(&mut conn, &app.env_id).unwrap();
        let mut ids = b.ids;
        ids.insert("user", u.id.to_string());
        ids.insert("key", k.id.to_string());
        Other { ids }
    };
    let before = snapshot(&app, &app.key, &b).await;

    // The guest of A: a browser session (from its link) and a Bearer guest token.
    let (_, g) = app
        .post_json(
            "/guests",
            &json!([{"environmentId": env, "email": "g@x.io", "name": "G", "spaces": [{"id": sa}]}]),
        )
        .await;
    let gid = g["data"][0]["id"].as_str().unwrap();
    let (_, token) = app.get_json(&format!("/guests/{gid}/token?spaceId={sa}")).await;
    let token = token["data"]["token"].as_str().unwrap().to_string();
    let guest = new_client();
    let opened = open_link(&guest, &app.url(&format!("/guest-links/{token}")), &[]).await;
    assert_eq!(opened.status().as_u16(), 303);
    let home = guest
        .get(app.url("/guest"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = meta_csrf(&home);
    let guest_auth = move |req: reqwest::RequestBuilder, v1: bool| {
        if v1 {
            req.bearer_auth(&token)
        } else {
            req.header("x-csrf-token", &csrf)
        }
    };
    sweep(
        &app,
        &guest,
        &b,
        false,
        open_to_guest,
        &guest_auth,
        "a guest of another space",
    )
    .await;

    // A signed-out browser.
    sweep(
        &app,
        &new_client(),
        &b,
        false,
        open_to_all,
        &|req, _| req,
        "a signed-out browser",
    )
    .await;

    // A key of another environment, for every object of this one's other side.
    let prod_key = app.production_key();
    let key_auth = move |req: reqwest::RequestBuilder, _: bool| req.bearer_auth(&prod_key);
    sweep(
        &app,
        &new_client(),
        &b,
        true,
        open_to_other_key,
        &key_auth,
        "a key of another environment",
    )
    .await;

    assert_eq!(
        snapshot(&app, &app.key, &b).await,
        before,
        "the other side is unchanged"
    );
}

on_both!(every_route_refuses_callers_outside_its_scope);
