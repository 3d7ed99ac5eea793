//! Pages and partials through a cookie-keeping HTTP client.

use crate::helpers::*;
use crate::on_both;
use serde_json::json;

async fn sign_in_answers_the_same_for_unknown_email_and_wrong_password(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let wrong = app.sign_in("ada@example.com", "not the password").await;
    assert_eq!(wrong.status().as_u16(), 401);
    let wrong_text = wrong.text().await.unwrap();
    let unknown = app.sign_in("nobody@example.com", "not the password").await;
    assert_eq!(unknown.status().as_u16(), 401);
    let unknown_text = unknown.text().await.unwrap();
    assert!(wrong_text.contains("That email and password do not match an account."));
    assert_eq!(
        wrong_text.replace("ada@example.com", ""),
        unknown_text.replace("nobody@example.com", "")
    );

    let ok = app.sign_in("ADA@example.com ", PASSWORD).await;
    assert_eq!(ok.status().as_u16(), 303);
    let cookie = ok
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let page = app.client.get(app.url("/spaces")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("Create New Space"));
}

async fn pages_need_a_session_and_forms_need_the_csrf_token(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let resp = app.client.get(app.url("/spaces")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"], "/sign-in");
    app.sign_in("ada@example.com", PASSWORD).await;

    let forged = app
        .client
        .post(app.url("/spaces"))
        .form(&[("csrf_token", "forged"), ("name", "X")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let htmx_forged = app
        .client
        .put(app.url("/grid/us_sh_x/records/us_rc_1"))
        .header("hx-request", "true")
        .form(&[("field", "age"), ("value", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(htmx_forged.status().as_u16(), 403);
    assert_eq!(htmx_forged.headers()["hx-retarget"], "#toasts");
    let (_, spaces) = app.get_json("/spaces").await;
    assert_eq!(
        spaces["data"].as_array().unwrap().len(),
        0,
        "the forged form created nothing"
    );

    let token = app.csrf("/spaces").await;
    let out = app
        .client
        .post(app.url("/sign-out"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    let after = app.client.get(app.url("/spaces")).send().await.unwrap();
    assert_eq!(after.status().as_u16(), 303, "signed out");
}

async fn create_new_space_shows_problems_inline_then_opens_the_space(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", false);
    let (_, config) = app.post_json("/space-configs", &contacts_blueprint()).await;
    app.sign_in("ada@example.com", PASSWORD).await;
    let token = app.csrf("/spaces/new").await;
    let form = app.page("/spaces/new").await;
    assert!(
        form.contains(">Customer onboarding</option>"),
        "the config is offered"
    );
    // The only config is chosen already (probe 78c D22).
    let only = format!(
        "<option value=\"{}\" selected>",
        config["data"]["id"].as_str().unwrap()
    );
    assert!(form.contains(&only), "{form}");
    // A second config of the same name: each reads with its slug (probe 58b F9).
    let mut twin = contacts_blueprint();
    twin["slug"] = json!("onboarding-eu");
    let (status, body) = app.post_json("/space-configs", &twin).await;
    assert_eq!(status, 200, "{body}");
    let form = app.page("/spaces/new").await;
    assert!(
        form.contains(">Customer onboarding (onboarding-eu)</option>"),
        "{form}"
    );
    assert_eq!(form.matches(">Customer onboarding (").count(), 2, "{form}");
    // Two: the person chooses.
    assert!(!form.contains("\" selected>Customer"), "{form}");

    let bad = app
        .client
        .post(app.url("/spaces"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", " "),
            ("space_config_id", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422);
    assert!(bad.text().await.unwrap().contains("Give the space a name."));

    let config_id = config["data"]["id"].as_str().unwrap();
    let ok = app
        .client
        .post(app.url("/spaces"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", "Acme <script>alert(1)</script>"),
            ("space_config_id", config_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 303);
    let location = ok.headers()["location"].to_str().unwrap().to_string();
    let page = app.page(&location).await;
    assert!(
        page.contains("Acme &#60;script&#62;alert(1)&#60;/script&#62;")
            || page.contains("Acme &lt;script&gt;"),
        "names are escaped"
    );
    assert!(!page.contains("<script>alert(1)"));
    assert!(page.contains("Customers"), "the config's workbook was created");

    let list = app
        .client
        .get(app.url("/spaces?q=acme"))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.starts_with("<section id=\"spaces-table\">"),
        "htmx gets the partial alone"
    );
    assert!(list.contains(&location[8..]));
    let none = app.page("/spaces?q=zzz").await;
    assert!(none.contains("No space matches"));

    // Set up by the team's listener: the space gets its `space:configure` job.
    let by_listener = app
        .client
        .post(app.url("/spaces"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", "Configured"),
            ("space_config_id", "listener"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(by_listener.status().as_u16(), 303);
    let (_, jobs) = app.get_json("/jobs?pageSize=100").await;
    let configure: Vec<_> = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["type"] == "space" && j["operation"] == "configure")
        .collect();
    assert_eq!(configure.len(), 1, "{jobs}");

    // Members do not manage environments.
    let envs = app.client.get(app.url("/environments")).send().await.unwrap();
    assert_eq!(envs.status().as_u16(), 403);
    assert!(envs.text().await.unwrap().contains("Not allowed"));
}

async fn saving_a_cell_revalidates_the_row_and_updates_the_counts(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let space = app.space_from_blueprint().await;
    let contacts = app.sheet_id(&space, "contacts").await;
    let (_, inserted) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "a@x.io", "age": "old"}]),
        )
        .await;
    let rid = inserted["data"]["records"][0]["id"].as_str().unwrap().to_string();
    app.sign_in("ada@example.com", PASSWORD).await;
    let token = app.csrf("/spaces").await;

    let editor = app
        .client
        .get(app.url(&format!("/grid/{contacts}/records/{rid}/edit?field=age")))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    let editor = editor.text().await.unwrap();
    assert!(
        editor.contains("value=\"old\""),
        "the editor holds what was typed: {editor}"
    );

    let saved = app
        .client
        .put(app.url(&format!("/grid/{contacts}/records/{rid}")))
        .header("hx-request", "true")
        .header("x-csrf-token", &token)
        .form(&[("field", "age"), ("value", "1,200")])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status().as_u16(), 200);
    let html = saved.text().await.unwrap();
    assert!(html.contains(&format!("id=\"row-{rid}\"")));
    assert!(html.contains("<span class=\"value\">1200</span>"), "{html}");
    assert!(
        html.contains("id=\"count-error\" class=\"count\" hx-swap-oob=\"true\">0<"),
        "{html}"
    );

    let bad = app
        .client
        .put(app.url(&format!("/grid/{contacts}/records/{rid}")))
        .header("hx-request", "true")
        .header("x-csrf-token", &token)
        .form(&[("field", "tier"), ("value", "bronze")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        bad.contains("has-error") && bad.contains("is not one of: Gold, Silver"),
        "{bad}"
    );
    // Said once to a screen reader: as the cell's description, not again in its text
    // (probe 69c D14).
    assert!(bad.contains("aria-invalid=\"true\" aria-description="), "{bad}");
    assert!(
        bad.contains("class=\"msg\" role=\"tooltip\" aria-hidden=\"true\""),
        "{bad}"
    );
    let (_, counts) = app.get_json(&format!("/sheets/{contacts}/counts")).await;
    assert_eq!(counts["data"]["counts"]["errorsByField"]["tier"], 1);
}

async fn unknown_pages_are_real_pages(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let resp = app
        .client
        .get(app.url("/workbooks/us_wb_nothere1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(resp.text().await.unwrap().contains("Not found"));
}

async fn admins_create_and_revoke_keys_shown_once(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let token = app.csrf("/environments").await;
    let env = app.env_id.to_string();
    // The key form as the page shows it, with the newest key it saw.
    let listing = app.page("/environments").await;
    let form = &listing[listing
        .find(&format!("action=\"/environments/{env}/keys\""))
        .unwrap()..];
    let needle = "name=\"keys_shown\" value=\"";
    let at = form.find(needle).unwrap() + needle.len();
    let shown = form[at..at + form[at..].find('"').unwrap()].to_string();
    let make = || {
        app.client
            .post(app.url(&format!("/environments/{env}/keys")))
            .form(&[("csrf_token", token.as_str()), ("keys_shown", shown.as_str())])
            .send()
    };
    let page = make().await.unwrap().text().await.unwrap();
    let start = page.find("<code id=\"new-secret\">").unwrap() + 22;
    let secret = &page[start..start + page[start..].find('<').unwrap()];
    assert!(secret.starts_with("sk_"));
    // The same form sent again (a reload of that page) makes no second key (probe 57a).
    let keys_now = |html: &str| html.matches("<code>sk_…").count();
    let before = keys_now(&app.page("/environments").await);
    let again = make().await.unwrap().text().await.unwrap();
    assert!(
        again.contains("A key was made since this page was shown"),
        "{again}"
    );
    assert!(!again.contains("new-secret"), "{again}");
    assert_eq!(keys_now(&app.page("/environments").await), before);
    let works = app
        .client
        .get(app.url("/v1/spaces"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(works.status().as_u16(), 200);
    let again = app.page("/environments").await;
    assert!(!again.contains(secret), "a secret is shown once");

    let renamed = app
        .client
        .post(app.url(&format!("/environments/{env}")))
        .form(&[("csrf_token", token.as_str()), ("name", "dev"), ("is_prod", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status().as_u16(), 303);
    let (_, got) = app.get_json(&format!("/environments/{env}")).await;
    assert_eq!(got["data"]["name"], "dev");
    assert_eq!(got["data"]["isProd"], true);

    // Two admins' pages, both opened on `dev`, production (probe 58b F6): one takes
    // production away, then the other renames from its older page. The rename is saved and
    // production stays away; a second rename from that old page is refused, saying the name now.
    let save = |fields: Vec<(&'static str, &'static str)>| {
        let mut form = vec![("csrf_token", token.clone())];
        form.extend(fields.into_iter().map(|(k, v)| (k, v.to_string())));
        app.client
            .post(app.url(&format!("/environments/{env}")))
            .form(&form)
            .send()
    };
    let shown = vec![("was_name", "dev"), ("was_prod", "on")];
    let untick = save([shown.clone(), vec![("name", "dev")]].concat())
        .await
        .unwrap();
    assert_eq!(untick.status().as_u16(), 303);
    let rename = save([shown.clone(), vec![("name", "dev eu"), ("is_prod", "on")]].concat())
        .await
        .unwrap();
    assert_eq!(rename.status().as_u16(), 303);
    let (_, got) = app.get_json(&format!("/environments/{env}")).await;
    assert_eq!(
        (&got["data"]["name"], &got["data"]["isProd"]),
        (&json!("dev eu"), &json!(false))
    );
    let stale = save([shown, vec![("name", "dev us"), ("is_prod", "on")]].concat())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        stale.contains("it is now named `dev eu`, not production; nothing was saved"),
        "{stale}"
    );
    let (_, got) = app.get_json(&format!("/environments/{env}")).await;
    assert_eq!(
        (&got["data"]["name"], &got["data"]["isProd"]),
        (&json!("dev eu"), &json!(false))
    );
}

on_both!(
    sign_in_answers_the_same_for_unknown_email_and_wrong_password,
    pages_need_a_session_and_forms_need_the_csrf_token,
    create_new_space_shows_problems_inline_then_opens_the_space,
    saving_a_cell_revalidates_the_row_and_updates_the_counts,
    unknown_pages_are_real_pages,
    admins_create_and_revoke_keys_shown_once,
);

async fn a_workbook_downloads_as_xlsx_with_formulas_defused(db: Db) {
    use calamine::{Data, Reader, Xlsx};
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let space = app.space_from_blueprint().await;
    let companies = app.sheet_id(&space, "companies").await;
    app.post_json(
        &format!("/sheets/{companies}/records"),
        &json!([{"code": "=1+2", "name": "Evil"}, {"code": "ACME", "name": "Acme"}]),
    )
    .await;
    // A whole number past 2^53 goes as its digits: an Excel number would be a neighbour.
    let contacts = app.sheet_id(&space, "contacts").await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([
                {"email": "big@x.io", "age": "18446744073709551615"},
                {"email": "n@x.io", "age": 42},
                {"email": "d@x.io", "joined": "2024-05-03"},
                {"email": "e@x.io", "joined": "soon"},
            ]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.sign_in("ada@example.com", PASSWORD).await;
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let wb = wbs["data"][0]["id"].as_str().unwrap();
    let xlsx = || async {
        let url = app.url(&format!("/workbooks/{wb}/download.xlsx"));
        app.client.get(url).send().await.unwrap()
    };
    let resp = xlsx().await;
    assert_eq!(resp.status().as_u16(), 200);
    let bytes = resp.bytes().await.unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec!["Companies".to_string(), "Contacts".to_string()]
    );
    let range = book.worksheet_range("Companies").unwrap();
    assert_eq!(range.get((0, 0)), Some(&Data::String("Code".into())));
    // The value as stored, marked as text by Excel's quote prefix (a style), not by an
    // apostrophe in the text.
    assert_eq!(range.get((1, 0)), Some(&Data::String("=1+2".into())));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut styles = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/styles.xml").unwrap(), &mut styles).unwrap();
    assert!(styles.contains("quotePrefix=\"1\""), "{styles}");
    assert_eq!(range.get((2, 1)), Some(&Data::String("Acme".into())));
    let range = book.worksheet_range("Contacts").unwrap();
    assert_eq!(
        range.get((1, 2)),
        Some(&Data::String("18446744073709551615".into()))
    );
    assert_eq!(range.get((2, 2)), Some(&Data::Float(42.0)));
    // A date field's dates are Excel dates (probe 60b D6: text); a value that is no date
    // stays as typed.
    let Some(Data::DateTime(joined)) = range.get((3, 4)) else {
        panic!("a date: {:?}", range.get((3, 4)));
    };
    assert_eq!(
        joined.as_datetime().map(|t| t.date()),
        chrono::NaiveDate::from_ymd_opt(2024, 5, 3),
        "{joined:?}"
    );
    assert_eq!(range.get((4, 4)), Some(&Data::String("soon".into())));

    // A cell past Excel's 32,767 characters: a 422 saying where and what to do, not a 500
    // (probe 65f D2).
    let (status, body) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([{"email": "long@x.io", "name": "n".repeat(40_000)}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let resp = xlsx().await;
    assert_eq!(resp.status().as_u16(), 422);
    let said = resp.text().await.unwrap();
    assert!(said.contains("32767") || said.contains("32,767"), "{said}");
    assert!(said.contains("as CSV"), "{said}");
}

on_both!(a_workbook_downloads_as_xlsx_with_formulas_defused);

async fn a_space_config_is_deployed_by_upload_with_problems_by_path(db: Db) {
    use reqwest::multipart::{Form, Part};
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let token = app.csrf("/space-configs").await;
    let deploy = |form: Form| {
        let request = app.client.post(app.url("/space-configs")).multipart(form);
        async move {
            let resp = request.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    let mut bad = contacts_blueprint();
    bad["workbooks"][0]["sheets"][0]["fields"][0]["type"] = json!("text");
    let form = Form::new().text("csrf_token", token.clone()).part(
        "file",
        Part::bytes(bad.to_string().into_bytes()).file_name("blueprint.json"),
    );
    let (status, html) = deploy(form).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("<code>$.workbooks[0].sheets[0].fields[0].type</code> unknown field type `text`"),
        "{html}"
    );
    assert!(html.contains("The blueprint has a problem:"), "{html}");
    // Nothing chosen or pasted is said so (probe 72b D7), not as JSON cut off at its start.
    let form = Form::new()
        .text("csrf_token", token.clone())
        .part("file", Part::bytes(Vec::new()).file_name(""))
        .text("blueprint", "  ");
    let (status, html) = deploy(form).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("choose a blueprint file or paste its JSON"),
        "{html}"
    );

    let form = Form::new()
        .text("csrf_token", token.clone())
        .part("file", Part::bytes(Vec::new()).file_name(""))
        .text("blueprint", contacts_blueprint().to_string());
    let (status, html) = deploy(form).await;
    assert_eq!(status, 303, "{html}");
    let list = app.page("/space-configs").await;
    assert!(list.contains("Customer onboarding"));

    // Past the page's 2 MB: said on the form, not blamed on its encoding (probe 58b F7).
    let form = Form::new()
        .text("csrf_token", token.clone())
        .part("file", Part::bytes(vec![b' '; 2_100_000]).file_name("huge.json"));
    let (status, html) = deploy(form).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("larger than the 2 MB this page takes"), "{html}");
    // A file and pasted text: neither is deployed, and the text is kept (probe 58b F10).
    let mut pasted = contacts_blueprint();
    pasted["name"] = json!("Pasted one");
    let form = Form::new()
        .text("csrf_token", token.clone())
        .text("blueprint", pasted.to_string())
        .part(
            "file",
            Part::bytes(contacts_blueprint().to_string().into_bytes()).file_name("b.json"),
        );
    let (status, html) = deploy(form).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("a file was chosen and JSON pasted too; nothing was deployed"),
        "{html}"
    );
    assert!(html.contains("Pasted one"), "the pasted text is kept: {html}");
    // A file saved with a byte-order mark (probe 58b F2).
    let form = Form::new().text("csrf_token", token).part(
        "file",
        Part::bytes(format!("\u{feff}{}", contacts_blueprint()).into_bytes()).file_name("bom.json"),
    );
    let (status, html) = deploy(form).await;
    assert_eq!(status, 303, "{html}");
}

on_both!(a_space_config_is_deployed_by_upload_with_problems_by_path);
