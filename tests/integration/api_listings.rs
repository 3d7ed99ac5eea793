//! What Flatfile's client asks of lists and counts, answered as asked: workbooks found by
//! name, namespace, label or treatment; spaces sorted; a commit's counts; archiving's own
//! events; and 501 for calls Wharf does not offer, rather than a 404 the client reads as
//! "not found".

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

fn names(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {body}"))
        .iter()
        .map(|w| w["name"].as_str().unwrap().to_string())
        .collect()
}

async fn workbooks_are_found_by_name_namespace_label_and_treatment(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Lists").await;
    for (name, namespace, labels) in [
        ("CRM", None, json!([])),
        ("Staging WB", Some("staging"), json!(["pinned"])),
        ("Extra", None, json!(["pinned", "other"])),
    ] {
        let mut body = json!({"name": name, "spaceId": space, "labels": labels,
                              "sheets": [{"name": "S", "slug": "s", "fields": [{"key": "a", "type": "string"}]}]});
        if let Some(ns) = namespace {
            body["namespace"] = json!(ns);
        }
        let (status, wb) = app.post_json("/workbooks", &body).await;
        assert_eq!(status, 200, "{wb}");
    }
    let file = app
        .upload_and_extract(&space, "people.csv", b"a,b\n1,2\n".to_vec())
        .await;
    assert_eq!(file["status"], "complete", "{file}");
    let list = |query: &str| {
        let app = &app;
        let url = format!("/workbooks?spaceId={space}&{query}");
        async move {
            let (status, body) = app.get_json(&url).await;
            assert_eq!(status, 200, "{url}: {body}");
            let mut names = names(&body);
            names.sort();
            names
        }
    };
    assert_eq!(list("name=Staging%20WB").await, ["Staging WB"]);
    assert_eq!(list("name=nothing").await, Vec::<String>::new());
    assert_eq!(list("namespace=staging").await, ["Staging WB"]);
    assert_eq!(list("label=pinned").await, ["Extra", "Staging WB"]);
    assert_eq!(
        list("label=-pinned").await.len(),
        2,
        "CRM and the file's workbook"
    );
    assert!(!list("label=-pinned").await.contains(&"Extra".to_string()));
    // Treatments given are kept and answered back (probe 57c: dropped).
    let (status, treated) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Treated", "spaceId": space, "treatments": ["SMALL_DATA"], "metadata": {"a": 1},
                    "sheets": [{"name": "S", "slug": "s", "fields": [{"key": "a", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{treated}");
    assert_eq!(treated["data"]["treatments"], json!(["SMALL_DATA"]), "{treated}");
    assert_eq!(treated["data"]["metadata"]["a"], 1, "{treated}");
    assert_eq!(list("treatment=SMALL_DATA").await, ["Treated"]);
    let (status, body) = app
        .post_json(
            "/workbooks",
            &json!({"name": "Bad", "spaceId": space, "treatments": [""],
                    "sheets": [{"name": "S", "slug": "s", "fields": [{"key": "a", "type": "string"}]}]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["key"], "treatments", "{body}");
    let extracted = list("treatment=EXTRACTED_FROM_SOURCE").await;
    assert_eq!(extracted.len(), 1, "{extracted:?}");
    assert!(extracted[0].contains("people.csv"), "{extracted:?}");
    // Without its sheets when asked; a malformed flag is refused.
    let (_, body) = app
        .get_json(&format!(
            "/workbooks?spaceId={space}&name=CRM&includeSheets=false"
        ))
        .await;
    assert!(body["data"][0].get("sheets").is_none(), "{body}");
    let (status, body) = app
        .get_json(&format!("/workbooks?spaceId={space}&includeSheets=maybe"))
        .await;
    assert_eq!(status, 400, "{body}");
}

async fn spaces_are_sorted_as_asked(db: Db) {
    let app = spawn_app(db).await;
    let mut ids = Vec::new();
    for name in ["Bravo", "alpha", "Charlie"] {
        ids.push(app.bare_space(name).await);
    }
    let sorted = |query: &str| {
        let app = &app;
        let url = format!("/spaces?{query}");
        async move {
            let (status, body) = app.get_json(&url).await;
            assert_eq!(status, 200, "{url}: {body}");
            names(&body)
        }
    };
    // Newest first without a sort.
    assert_eq!(sorted("").await, ["Charlie", "alpha", "Bravo"]);
    // A trailing slash, as hand-written clients send it, is the same address (probe 60a 5).
    let (status, body) = app.get_json("/spaces/?sortField=name").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body).len(), 3);
    let (status, body) = app.get_json(&format!("/spaces/{}/", ids[0])).await;
    assert_eq!(
        (status, body["data"]["name"].as_str()),
        (200, Some("Bravo")),
        "{body}"
    );
    let by_name = sorted("sortField=name").await;
    assert_eq!(by_name.len(), 3);
    let mut desc = sorted("sortField=name&sortDirection=desc").await;
    desc.reverse();
    assert_eq!(by_name, desc);
    assert_eq!(sorted("sortField=createdAt").await, ["Bravo", "alpha", "Charlie"]);
    let (status, body) = app.get_json("/spaces?sortField=zzz").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("sortField"), "{body}");
    let (status, body) = app.get_json("/spaces?sortField=name&sortDirection=up").await;
    assert_eq!(status, 400, "{body}");
    // By the counts the list shows, and the creator's name (probe 57c: Flatfile's sort fields).
    for (space, workbooks) in [(&ids[1], 2), (&ids[2], 1)] {
        for i in 0..workbooks {
            let (status, body) = app
                .post_json(
                    "/workbooks",
                    &json!({"name": format!("W{i}"), "spaceId": space,
                            "sheets": [{"name": "S", "slug": "s", "fields": [{"key": "a", "type": "string"}]}]}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
    }
    assert_eq!(
        sorted("sortField=workbooksCount").await,
        ["Bravo", "Charlie", "alpha"]
    );
    assert_eq!(
        sorted("sortField=workbooksCount&sortDirection=desc").await,
        ["alpha", "Charlie", "Bravo"]
    );
    let (status, body) = app.upload(&ids[0], "a.csv", b"a\n1\n".to_vec()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sorted("sortField=filesCount&sortDirection=desc").await[0],
        "Bravo"
    );
    assert_eq!(sorted("sortField=createdByUserName").await.len(), 3);
    // A search for `%` or `_` is for those characters, not every space.
    app.bare_space("100% done").await;
    assert_eq!(sorted("search=%25").await, ["100% done"]);
    assert_eq!(sorted("search=_").await, Vec::<String>::new());
}

async fn a_commits_counts_are_of_its_records(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io"}, {"name": "no email"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!([{"email": "b@x.io"}]))
        .await;
    assert_eq!(status, 200, "{body}");
    // The first commit of the sheet: two records, one without its required email.
    let mut first = None;
    for _ in 0..300 {
        let (_, events) = app
            .get_json("/events?topic=commit:created&includeAcknowledged=true&pageSize=100")
            .await;
        let ids: Vec<String> = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["payload"]["count"] == 2)
            .filter_map(|e| e["context"]["commitId"].as_str().map(str::to_string))
            .collect();
        if let Some(id) = ids.first() {
            first = Some(id.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let commit = first.expect("the first insert's commit");
    for key in ["commitId", "versionId"] {
        let (status, body) = app
            .get_json(&format!("/sheets/{sheet}/counts?{key}={commit}"))
            .await;
        assert_eq!(status, 200, "{body}");
        let counts = &body["data"]["counts"];
        assert_eq!(
            (counts["total"].as_i64(), counts["error"].as_i64()),
            (Some(2), Some(1)),
            "{body}"
        );
    }
    let (_, page) = app
        .get_json(&format!(
            "/sheets/{sheet}/records?commitId={commit}&includeCounts=true&pageSize=1"
        ))
        .await;
    assert_eq!(page["data"]["records"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(
        page["data"]["counts"]["total"], 2,
        "the commit's, not the sheet's 3: {page}"
    );
    let (_, whole) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert_eq!(whole["data"]["counts"]["total"], 3, "{whole}");
    // A commit that is not there, or a read Wharf cannot answer, is said so.
    let (status, body) = app
        .get_json(&format!("/sheets/{sheet}/counts?commitId=us_cm_zzzzzzzz"))
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = app
        .get_json(&format!("/sheets/{sheet}/counts?sinceVersionId={commit}"))
        .await;
    assert_eq!(status, 400, "{body}");
}

/// A commit's records are paged after the read's filter and past records deleted since:
/// every page but the last is full (probe 51b 2: a page of 100 errors held 10, and a
/// reader stopping at a short page missed the rest).
async fn a_commits_pages_are_full_after_filters_and_deletes(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    // 30 records, every third without its required email.
    let rows: Vec<Value> = (0..30)
        .map(|i| match i % 3 {
            0 => json!({"name": format!("n{i}")}),
            _ => json!({"email": format!("p{i}@x.io")}),
        })
        .collect();
    let (status, body) = app
        .post_json(&format!("/sheets/{sheet}/records"), &json!(rows))
        .await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<String> = body["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let mut commit = None;
    for _ in 0..300 {
        let (_, events) = app
            .get_json("/events?topic=commit:created&includeAcknowledged=true&pageSize=100")
            .await;
        commit = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["payload"]["count"] == 30)
            .and_then(|e| e["context"]["commitId"].as_str().map(str::to_string));
        if commit.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let commit = commit.expect("the insert's commit");
    // The write says which commit it made, as its version too (probe 51b 3).
    assert_eq!(
        body["data"]["commitId"],
        commit.as_str(),
        "{}",
        body["data"]["commitId"]
    );
    assert_eq!(body["data"]["versionId"], commit.as_str());
    let change = json!([{"id": ids[0], "values": {"name": "changed"}}]);
    let (status, updated) = app.put_json(&format!("/sheets/{sheet}/records"), &change).await;
    assert_eq!(status, 200, "{updated}");
    let made = updated["data"]["commitId"].as_str().expect("the update's commit");
    assert_ne!(made, commit);
    assert_eq!(updated["data"]["versionId"], made);
    let (status, read) = app
        .get_json(&format!("/sheets/{sheet}/records?versionId={made}"))
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["data"]["records"].as_array().unwrap().len(), 1, "{read}");
    // Five valid records go.
    let gone: Vec<&str> = [1, 2, 4, 5, 7].iter().map(|i| ids[*i].as_str()).collect();
    let (status, body) = app
        .delete(&format!("/sheets/{sheet}/records?ids={}", gone.join(",")))
        .await;
    assert_eq!(status, 200, "{body}");
    let sizes = |filter: &'static str, size: usize| {
        let app = &app;
        let (sheet, commit) = (sheet.clone(), commit.clone());
        async move {
            let mut sizes = Vec::new();
            for n in 1..=5 {
                let (status, page) = app
                    .get_json(&format!(
                        "/sheets/{sheet}/records?commitId={commit}&filter={filter}&pageSize={size}&pageNumber={n}"
                    ))
                    .await;
                assert_eq!(status, 200, "{page}");
                sizes.push(page["data"]["records"].as_array().unwrap().len());
            }
            sizes
        }
    };
    assert_eq!(sizes("error", 4).await, [4, 4, 2, 0, 0]);
    assert_eq!(sizes("all", 10).await, [10, 10, 5, 0, 0]);
    assert_eq!(sizes("valid", 6).await, [6, 6, 3, 0, 0]);
}

/// `byField`: each field's records in error, valid there, and empty.
async fn counts_by_field_say_errors_and_empties(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io", "name": "Ann", "age": 5}, {"name": "No email", "age": "x"}, {"email": "c@x.io"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .get_json(&format!("/sheets/{sheet}/counts?byField=true"))
        .await;
    assert_eq!(status, 200, "{body}");
    let by = &body["data"]["counts"]["byField"];
    assert_eq!(
        by["email"],
        json!({"total": 3, "valid": 2, "error": 1, "empty": 1}),
        "{body}"
    );
    assert_eq!(
        by["age"],
        json!({"total": 3, "valid": 2, "error": 1, "empty": 1}),
        "{body}"
    );
    assert_eq!(by["name"]["empty"], 1, "{body}");
    assert_eq!(by["tier"]["empty"], 3, "{body}");
    // Over a selection too; without the flag, no byField; a malformed flag is refused.
    let (_, body) = app
        .get_json(&format!("/sheets/{sheet}/counts?byField=true&filter=valid"))
        .await;
    assert_eq!(
        body["data"]["counts"]["byField"]["name"],
        json!({"total": 2, "valid": 2, "error": 0, "empty": 1}),
        "{body}"
    );
    let (_, body) = app.get_json(&format!("/sheets/{sheet}/counts")).await;
    assert!(body["data"]["counts"].get("byField").is_none(), "{body}");
    let (status, _) = app.get_json(&format!("/sheets/{sheet}/counts?byField=1")).await;
    assert_eq!(status, 400);
}

async fn archiving_a_space_has_its_own_events(db: Db) {
    let app = spawn_app(db).await;
    let space = app.bare_space("Archive me").await;
    let (status, body) = app
        .post_json(&format!("/spaces/{space}/archive"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_json(&format!("/spaces/{space}/unarchive"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut topics = Vec::new();
    for _ in 0..300 {
        let (_, events) = app
            .get_json(&format!("/events?spaceId={space}&includeAcknowledged=true"))
            .await;
        topics = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["topic"].as_str().unwrap().to_string())
            .collect();
        if topics.contains(&"space:unarchived".to_string()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(topics.contains(&"space:archived".to_string()), "{topics:?}");
    assert!(topics.contains(&"space:unarchived".to_string()), "{topics:?}");
    assert!(!topics.contains(&"space:updated".to_string()), "{topics:?}");
}

async fn calls_wharf_lacks_answer_501_not_404(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    for path in [
        format!("/sheets/{sheet}/commits"),
        format!("/workbooks/{wb}/commits"),
        format!("/sheets/{sheet}/calculations"),
        format!("/sheets/{sheet}/records/indices"),
    ] {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, 501, "{path}: {body}");
        assert_eq!(body["errors"][0]["key"], "not_supported", "{path}: {body}");
    }
    let (status, body) = app
        .delete(&format!("/spaces?spaceIds={}", space["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, 501, "{body}");
    assert!(body.to_string().contains("DELETE /v1/spaces/{id}"), "{body}");
}

/// Flatfile's rule for `ids`: beside a filter (`filter` valid, error or all, a search, a
/// `q`) they are the records left out; alone, the records picked. Code written for Flatfile
/// that means "all but these" must not write exactly the records it meant to spare.
async fn ids_beside_a_filter_are_left_out(db: Db) {
    let app = spawn_app(db).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "contacts").await;
    let (status, body) = app
        .post_json(
            &format!("/sheets/{sheet}/records"),
            &json!([{"email": "a@x.io", "name": "n"}, {"email": "b@x.io", "name": "n"},
                    {"email": "c@x.io", "name": "n"}, {"email": "d@y.io", "name": "n"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let ids = record_ids(&body);
    let emails = |query: String| {
        let app = &app;
        let sheet = &sheet;
        async move {
            let (status, page) = app.get_json(&format!("/sheets/{sheet}/records?{query}")).await;
            assert_eq!(status, 200, "{query}: {page}");
            let mut got: Vec<String> = page["data"]["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["values"]["email"]["value"].as_str().unwrap().to_string())
                .collect();
            got.sort();
            got
        }
    };
    let a = &ids[0];
    assert_eq!(emails(format!("ids={a}")).await, ["a@x.io"]);
    assert_eq!(
        emails(format!("filter=all&ids={a}")).await,
        ["b@x.io", "c@x.io", "d@y.io"]
    );
    assert_eq!(
        emails(format!("filter=valid&ids={a}&ids={}", ids[1])).await,
        ["c@x.io", "d@y.io"]
    );
    assert_eq!(
        emails(format!("searchValue=x.io&ids={a}")).await,
        ["b@x.io", "c@x.io"]
    );
    assert_eq!(
        emails(format!("q=name%20eq%20n&ids={a}")).await,
        ["b@x.io", "c@x.io", "d@y.io"]
    );
    let (_, counts) = app
        .get_json(&format!("/sheets/{sheet}/counts?filter=all&ids={a}"))
        .await;
    assert_eq!(counts["data"]["counts"]["total"], 3, "{counts}");
    // A bulk update of all but one leaves that one as it was.
    let (status, body) = app
        .patch_json(
            &format!("/sheets/{sheet}/records/bulk-update?filter=all&ids={a}"),
            &json!({"fieldUpdates": {"name": {"value": "changed"}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app.get_json(&format!("/sheets/{sheet}/records")).await;
    for r in page["data"]["records"].as_array().unwrap() {
        let spared = r["id"] == a.as_str();
        let name = r["values"]["name"]["value"].as_str().unwrap();
        assert_eq!(name, if spared { "n" } else { "changed" }, "{r}");
    }
    // So does a find and replace, and a delete-records job deletes all but them.
    let (status, body) = app
        .put_json(
            &format!("/sheets/{sheet}/find-replace?filter=all&ids={a}"),
            &json!({"find": "x.io", "replace": "z.io", "fieldKey": "email"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        emails(String::new()).await,
        ["a@x.io", "b@z.io", "c@z.io", "d@y.io"]
    );
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let wb = wbs["data"][0]["id"].as_str().unwrap();
    let (status, job) = app
        .post_json(
            "/jobs",
            &json!({"type": "workbook", "operation": "delete-records", "source": wb, "trigger": "immediate",
                    "config": {"sheet": sheet, "filter": "all", "ids": [a]}}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let job = app.wait_job(job["data"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "complete", "{job}");
    assert_eq!(emails(String::new()).await, ["a@x.io"]);
}

on_both!(
    a_commits_pages_are_full_after_filters_and_deletes,
    ids_beside_a_filter_are_left_out,
    workbooks_are_found_by_name_namespace_label_and_treatment,
    spaces_are_sorted_as_asked,
    a_commits_counts_are_of_its_records,
    archiving_a_space_has_its_own_events,
    counts_by_field_say_errors_and_empties,
    calls_wharf_lacks_answer_501_not_404,
);
