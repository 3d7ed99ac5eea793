//! How many records a narrowed grid view holds, counted after its page, and the last page
//! of a view numbered by the hundred (a sort, a search).

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};

fn row_ids(html: &str) -> Vec<String> {
    html.split("<tr id=\"row-")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

/// The address of the element `attr="..."` whose text or attribute ends at `marker`.
fn attr_before(html: &str, marker: &str, attr: &str) -> Option<String> {
    let end = html.find(marker)?;
    let start = html[..end].rfind(&format!("{attr}=\""))? + attr.len() + 2;
    Some(
        html[start..start + html[start..].find('"')?]
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

fn link(html: &str, label: &str) -> Option<String> {
    attr_before(html, &format!(">{label}</a>"), "href")
}

/// The companies sheet with 250 records, 130 of them named "acme"; the workbook's id.
async fn companies(app: &TestApp) -> (String, String, Vec<String>) {
    app.make_user("ada@example.com", true);
    app.sign_in("ada@example.com", PASSWORD).await;
    let space = app.space_from_blueprint().await;
    let sheet = app.sheet_id(&space, "companies").await;
    let rows: Vec<Value> = (1..=250)
        .map(|i| json!({"code": format!("C{i:03}"), "name": if i <= 130 { "acme" } else { "other" }}))
        .collect();
    let (status, inserted) = app
        .post_json(&format!("/sheets/{sheet}/records"), &Value::Array(rows))
        .await;
    assert_eq!(status, 200, "{inserted}");
    let (_, wbs) = app
        .get_json(&format!("/workbooks?spaceId={}", space["id"].as_str().unwrap()))
        .await;
    let wb = wbs["data"][0]["id"].as_str().unwrap().to_string();
    (wb, sheet, record_ids(&inserted))
}

async fn a_sorted_view_says_its_pages_and_links_its_last(db: Db) {
    let app = spawn_app(db).await;
    let (wb, sheet, ids) = companies(&app).await;
    let first = app
        .page(&format!("/workbooks/{wb}?sheet={sheet}&sort=code&dir=desc"))
        .await;
    assert!(first.contains(">of 3</span>"), "page 1 of 3");
    assert!(
        !first.contains("id=\"view-count\""),
        "the tab's count is known: nothing to count"
    );
    let last = app.page(&link(&first, "Last").expect("a Last link")).await;
    let oldest: Vec<String> = ids[..50].iter().rev().cloned().collect();
    assert_eq!(
        row_ids(&last),
        oldest,
        "the last sorted page holds the 50 smallest codes"
    );
    assert!(link(&last, "Last").is_none() && link(&last, "Next").is_none());
    assert!(link(&last, "Previous").is_some());
    // A page past the end (an old link, a sheet emptied since) links the last one.
    let past = app
        .page(&format!(
            "/workbooks/{wb}?sheet={sheet}&sort=code&dir=desc&page=99"
        ))
        .await;
    let back = link(&past, "Last").expect("a Last link from past the end");
    assert!(back.ends_with("page=3"), "{back}");
    // And says so, rather than "No records" under the sheet's count (probe 69b D8).
    assert!(
        past.contains("No records on this page: it is past the last one. Last, below"),
        "{past}"
    );
}

async fn a_search_counts_its_matches_after_the_page(db: Db) {
    let app = spawn_app(db).await;
    let (wb, sheet, ids) = companies(&app).await;
    let page = app.page(&format!("/workbooks/{wb}?sheet={sheet}&q=acme")).await;
    assert_eq!(row_ids(&page).len(), 100);
    assert!(page.contains("counting…"), "the count comes after the page");
    let count_url = attr_before(&page, ">counting…", "hx-get").expect("the count's address");
    let counted = app.page(&count_url).await;
    assert!(counted.contains("130 records match"), "{counted}");
    assert!(counted.contains(">of 2</span>"), "{counted}");
    let last = app.page(&link(&counted, "Last").expect("a Last link")).await;
    assert_eq!(row_ids(&last), ids[100..130].to_vec());

    // A `filter:` query and errors in a field are counted too; nothing matching says so.
    let ffql = app
        .page(&format!("/grid/{sheet}/count?q=filter%3A%20code%20lt%20C011"))
        .await;
    assert!(ffql.contains("10 records match"), "{ffql}");
    assert!(
        !ffql.contains("pager-of"),
        "a page in id order has its own Last link"
    );
    let none = app.page(&format!("/grid/{sheet}/count?q=zzz")).await;
    assert!(none.contains("no record matches"), "{none}");
    let one = app.page(&format!("/grid/{sheet}/count?q=C007")).await;
    assert!(one.contains("1 record matches"), "{one}");
    // A query the grid cannot read shows its own error; the count adds nothing to it.
    let bad = app
        .page(&format!("/grid/{sheet}/count?q=filter%3A%20code%20eq"))
        .await;
    assert!(!bad.contains("match"), "{bad}");
    let unknown = app
        .client
        .get(app.url("/grid/us_sh_00000000/count?q=acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}

/// A search longer than 10,000 characters is a mistake said alike on both databases, never
/// a 500 (probe 62c D2: SQLite refused the pattern at 50,000).
async fn a_search_too_long_is_said_so(db: Db) {
    let app = spawn_app(db).await;
    let (wb, sheet, _) = companies(&app).await;
    let long = "a".repeat(60_000);
    let resp = app
        .api(
            reqwest::Method::GET,
            &format!("/sheets/{sheet}/records?searchValue={long}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("a search is at most 10000 characters"));
    let page = app.page(&format!("/workbooks/{wb}?sheet={sheet}&q={long}")).await;
    assert!(page.contains("id=\"grid-q-error\""), "said under the box");
    assert!(page.contains("a search is at most 10000 characters"));
    let fine = "a".repeat(10_000);
    let resp = app
        .api(
            reqwest::Method::GET,
            &format!("/sheets/{sheet}/records?searchValue={fine}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

on_both!(
    a_search_too_long_is_said_so,
    a_sorted_view_says_its_pages_and_links_its_last,
    a_search_counts_its_matches_after_the_page,
);
