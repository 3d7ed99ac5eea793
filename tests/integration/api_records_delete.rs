//! `DELETE /v1/sheets/{id}/records`: the records its ids name, and nothing else.

use crate::api_records::setup;
use crate::helpers::*;
use crate::on_both;

on_both!(a_delete_takes_ids_only);

/// `DELETE .../records` deletes the ids it names and takes nothing else: ids beside a
/// selection are the records left out, so a selection it ignored deleted the records the
/// client meant to keep (probe 64b D1).
async fn a_delete_takes_ids_only(db: Db) {
    let (app, companies, _) = setup(db).await;
    let path = format!("/sheets/{companies}/records");
    let (_, page) = app.get_json(&path).await;
    let ids = record_ids(&page);
    assert_eq!(ids.len(), 2, "{page}");
    for extra in ["filter=all", "q=code%20eq%20ACME", "searchValue=AC", "bogus=1"] {
        let (status, body) = app.delete(&format!("{path}?ids={}&{extra}", ids[0])).await;
        assert_eq!(status, 400, "{extra}: {body}");
        let said = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(said.contains("delete-records"), "{extra}: {body}");
    }
    // A selection in a body was as silently ignored (probe 65c N1).
    let with_body = app
        .api(reqwest::Method::DELETE, &format!("{path}?ids={}", ids[0]))
        .json(&serde_json::json!({"filter": "all", "exclude": [ids[0]]}));
    let (status, body) = send(with_body).await;
    assert_eq!(status, 400, "{body}");
    let (_, page) = app.get_json(&path).await;
    assert_eq!(record_ids(&page), ids, "nothing deleted");
    // An empty object, as some clients send with every call, is no selection.
    let empty = app
        .api(reqwest::Method::DELETE, &format!("{path}?ids={}", ids[0]))
        .header("content-type", "application/json")
        .body("{ \n }");
    let (status, body) = send(empty).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.delete(&format!("{path}?ids={}", ids[1])).await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = app.get_json(&path).await;
    assert_eq!(record_ids(&page), Vec::<String>::new());
}
