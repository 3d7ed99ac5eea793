//! Names people choose, whatever they are: sheet names in XLSX downloads, field keys in the
//! grid's URLs.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

/// A workbook in a new space with a sheet per name (one text field `note` each); returns
/// (workbook id, sheet ids).
async fn workbook_with_sheets(app: &TestApp, sheets: Vec<Value>) -> (String, Vec<String>) {
    let (_, space) = app.post_json("/spaces", &json!({"name": "Names"})).await;
    let body = json!({"name": "Names", "spaceId": space["data"]["id"], "sheets": sheets});
    let (status, wb) = app.post_json("/workbooks", &body).await;
    assert_eq!(status, 200, "{wb}");
    let ids = wb["data"]["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    (wb["data"]["id"].as_str().unwrap().to_string(), ids)
}

async fn xlsx_downloads_make_sheet_names_excel_accepts(db: Db) {
    use calamine::{Data, Reader, Xlsx};
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let names = [
        "Data",
        "data",
        "Quarterly results, northern region 2025",
        "Quarterly results, northern region 2026",
        "a:b",
        "ab",
        "'quoted'",
        "History",
    ];
    let sheets = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"name": n, "slug": format!("s{i}"), "fields": [{"key": "note", "type": "string"}]}))
        .collect();
    let (wb, sheet_ids) = workbook_with_sheets(&app, sheets).await;
    for (i, sid) in sheet_ids.iter().enumerate() {
        let (status, _) = app
            .post_json(
                &format!("/sheets/{sid}/records"),
                &json!([{"note": format!("row of {}", names[i])}]),
            )
            .await;
        assert_eq!(status, 200);
    }
    app.sign_in("ada@example.com", PASSWORD).await;
    let resp = app
        .client
        .get(app.url(&format!("/workbooks/{wb}/download.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let bytes = resp.bytes().await.unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let expected = [
        "Data",
        "data (2)",
        "Quarterly results, northern reg",
        "Quarterly results, northern (2)",
        "ab",
        "ab (2)",
        "quoted",
        "History (2)",
    ];
    assert_eq!(book.sheet_names(), expected);
    for (i, name) in expected.iter().enumerate() {
        let range = book.worksheet_range(name).unwrap();
        assert_eq!(range.get((0, 0)), Some(&Data::String("note".into())));
        assert_eq!(
            range.get((1, 0)),
            Some(&Data::String(format!("row of {}", names[i]))),
            "each sheet's own rows under its name"
        );
    }
}

async fn any_field_key_can_be_edited_in_the_grid(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let keys = ["a/b?c#d", "..", ".", "%2F", "a b&c=d", "x"];
    let fields: Vec<Value> = keys.iter().map(|k| json!({"key": k, "type": "string"})).collect();
    let (wb, sheets) = workbook_with_sheets(
        &app,
        vec![json!({"name": "Odd", "slug": "odd", "fields": fields})],
    )
    .await;
    let sid = &sheets[0];
    let record: serde_json::Map<String, Value> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.to_string(), json!(format!("value {i}"))))
        .collect();
    let (status, inserted) = app
        .post_json(&format!("/sheets/{sid}/records"), &json!([record]))
        .await;
    assert_eq!(status, 200, "{inserted}");
    let rid = inserted["data"]["records"][0]["id"].as_str().unwrap().to_string();
    app.sign_in("ada@example.com", PASSWORD).await;
    let token = app.csrf("/spaces").await;

    // Each cell's editor link, in field order, as the grid renders it.
    let grid = app.page(&format!("/workbooks/{wb}?sheet={sid}")).await;
    let prefix = format!("hx-get=\"/grid/{sid}/records/{rid}/edit");
    let links: Vec<String> = grid
        .split(&prefix)
        .skip(1)
        .map(|rest| {
            format!(
                "/grid/{sid}/records/{rid}/edit{}",
                &rest[..rest.find('"').unwrap()]
            )
        })
        .collect();
    assert_eq!(links.len(), keys.len(), "{grid}");

    for (i, key) in keys.iter().enumerate() {
        let editor = app
            .client
            .get(app.url(&links[i]))
            .header("hx-request", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(editor.status().as_u16(), 200, "editor of `{key}` at {}", links[i]);
        let html = editor.text().await.unwrap();
        assert!(html.contains(&format!("value=\"value {i}\"")), "`{key}`: {html}");

        let saved = app
            .client
            .put(app.url(&format!("/grid/{sid}/records/{rid}")))
            .header("hx-request", "true")
            .header("x-csrf-token", &token)
            .form(&[("field", *key), ("value", &format!("changed {i}"))])
            .send()
            .await
            .unwrap();
        assert_eq!(saved.status().as_u16(), 200, "saving `{key}`");
        assert!(saved
            .text()
            .await
            .unwrap()
            .contains(&format!("<span class=\"value\">changed {i}</span>")));
    }
    let (_, got) = app.get_json(&format!("/sheets/{sid}/records")).await;
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            got["data"]["records"][0]["values"][key]["value"],
            json!(format!("changed {i}"))
        );
    }
}

/// A space is renamed from its page (probe 57a: only the API could), with the API's rules:
/// a name of two lines is refused, saying so, and the old name stays.
async fn a_space_is_renamed_from_its_page(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let space = app.bare_space("Typo <Spcae>").await;
    app.sign_in("ada@example.com", PASSWORD).await;
    let page = app.page(&format!("/spaces/{space}")).await;
    assert!(page.contains("value=\"Typo &#60;Spcae&#62;\""), "{page}");
    let token = app.csrf(&format!("/spaces/{space}")).await;
    let rename = |name: &'static str| {
        app.client
            .post(app.url(&format!("/spaces/{space}/rename")))
            .form(&[("csrf_token", token.as_str()), ("name", name)])
            .send()
    };
    let done = rename("Onboarding <Space>").await.unwrap();
    assert_eq!(done.status().as_u16(), 303);
    let (_, got) = app.get_json(&format!("/spaces/{space}")).await;
    assert_eq!(got["data"]["name"], "Onboarding <Space>");
    let refused = rename("two\nlines").await.unwrap().text().await.unwrap();
    assert!(refused.contains("role=\"alert\""), "{refused}");
    assert!(
        refused.contains("class=\"rename\" open"),
        "the typed name is kept: {refused}"
    );
    let (_, got) = app.get_json(&format!("/spaces/{space}")).await;
    assert_eq!(got["data"]["name"], "Onboarding <Space>");
    let forged = app
        .client
        .post(app.url(&format!("/spaces/{space}/rename")))
        .form(&[("csrf_token", "forged"), ("name", "Stolen")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    // Two tabs opened on "Onboarding <Space>": the second one's rename, sent after the
    // first renamed it, is refused naming the name now (probe 72b D3); sent again from
    // the refreshed page, it is saved.
    let from_tab = |was: &'static str, name: &'static str| {
        app.client
            .post(app.url(&format!("/spaces/{space}/rename")))
            .form(&[("csrf_token", token.as_str()), ("name", name), ("was_name", was)])
            .send()
    };
    let first = from_tab("Onboarding <Space>", "Beta 2").await.unwrap();
    assert_eq!(first.status().as_u16(), 303);
    let second = from_tab("Onboarding <Space>", "Beta 3").await.unwrap();
    let said = second.text().await.unwrap();
    assert!(
        said.contains("someone renamed this space to “Beta 2” since the page was opened; nothing was saved"),
        "{said}"
    );
    let (_, got) = app.get_json(&format!("/spaces/{space}")).await;
    assert_eq!(got["data"]["name"], "Beta 2");
    let again = from_tab("Beta 2", "Beta 3").await.unwrap();
    assert_eq!(again.status().as_u16(), 303);
    let (_, got) = app.get_json(&format!("/spaces/{space}")).await;
    assert_eq!(got["data"]["name"], "Beta 3");
    // Two tabs saving at the same moment: one is saved, the other told (probe 76a D5:
    // both were saved on PostgreSQL).
    let mut was = "Beta 3".to_string();
    for round in 0..5 {
        let send = |name: String| {
            let form = [
                ("csrf_token", token.clone()),
                ("name", name),
                ("was_name", was.clone()),
            ];
            app.client
                .post(app.url(&format!("/spaces/{space}/rename")))
                .form(&form)
                .send()
        };
        let (a, b) = tokio::join!(send(format!("A{round}")), send(format!("B{round}")));
        let saved = [a.unwrap(), b.unwrap()]
            .iter()
            .filter(|r| r.status().as_u16() == 303)
            .count();
        assert_eq!(saved, 1, "round {round}");
        let (_, got) = app.get_json(&format!("/spaces/{space}")).await;
        was = got["data"]["name"].as_str().unwrap().to_string();
    }
}

on_both!(
    a_space_is_renamed_from_its_page,
    xlsx_downloads_make_sheet_names_excel_accepts,
    any_field_key_can_be_edited_in_the_grid,
);
