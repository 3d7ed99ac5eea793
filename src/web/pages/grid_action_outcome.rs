//! Where an action job's outcome leads (`next`): a place in the space, a sheet's view, a
//! web address, a download, files, a retry. Only what the viewer may reach becomes a link.

use crate::ids::{SheetId, WorkbookId};
use serde_json::Value;
use std::collections::HashMap;

/// Only web addresses become links (never `javascript:`), and a path only of this site: a
/// browser reads `/\host` and `/<tab>/host` as `//host`, another site (probe 58c F2).
pub(super) fn web_address(url: &str) -> Option<String> {
    let absolute = url.starts_with("https://") || url.starts_with("http://");
    let path =
        url.starts_with('/') && !url.chars().any(|c| c == '\\' || c.is_control()) && !url.starts_with("//");
    (absolute || path).then(|| url.to_string())
}

/// `next: view`: the sheet, with the filter, search and query it names, as grid parameters.
pub(super) fn view_href(next: &Value, sheets: &HashMap<SheetId, WorkbookId>) -> Option<String> {
    let sheet = SheetId::parse(next["sheetId"].as_str()?)?;
    let wb = sheets.get(&sheet)?;
    let mut params: Vec<(&str, String)> = vec![("sheet", sheet.to_string())];
    let given = |key: &str| next[key].as_str().filter(|v| !v.is_empty()).map(str::to_string);
    // `filterField` beside `filter=valid` or `all` is not the grid's "errors in" a field:
    // the grid shows the valid records, or all of them.
    let field_is_errors = !matches!(next["filter"].as_str(), Some("valid" | "all" | "none"));
    for (grid, flatfile) in [
        ("filter", "filter"),
        ("field", if field_is_errors { "filterField" } else { "" }),
        ("q", "searchValue"),
        ("qf", "searchField"),
    ] {
        if let Some(v) = given(flatfile) {
            params.push((grid, v));
        }
    }
    // An FFQL query goes in the search box the way a person types one.
    if let (Some(q), None) = (given("q"), given("searchValue")) {
        params.push(("q", format!("filter: {q}")));
    }
    let mut href = format!("/workbooks/{wb}?{}", serde_urlencoded::to_string(&params).ok()?);
    if let Some(extra) = given("query") {
        href.push('&');
        href.push_str(&extra);
    }
    Some(href)
}

/// Where `next` leads: a place in the space (`id`), a sheet's view, a web address, a download.
pub fn next_link(next: &Value, targets: &Targets) -> Option<(String, String, String)> {
    let label = |default: &str| next["label"].as_str().unwrap_or(default).to_string();
    match next["type"].as_str()? {
        "id" => {
            let id = next["id"].as_str()?;
            let query = next["query"].as_str().unwrap_or_default();
            let href = if let Some(place) = targets.places.get(id) {
                place.clone()
            } else if let Some(wb) = WorkbookId::parse(id) {
                // Only one the viewer reaches (probe 83b D2: a guest got a button to another
                // space's workbook, leading to a 404).
                if !targets.workbooks.contains(&wb) {
                    return None;
                }
                format!(
                    "/workbooks/{wb}{}",
                    if query.is_empty() {
                        String::new()
                    } else {
                        format!("?{query}")
                    }
                )
            } else {
                let sheet = SheetId::parse(id)?;
                let wb = targets.sheets.get(&sheet)?;
                let extra = if query.is_empty() {
                    String::new()
                } else {
                    format!("&{query}")
                };
                format!("/workbooks/{wb}?sheet={sheet}{extra}")
            };
            Some((href, label("Open"), String::new()))
        }
        "view" => Some((
            view_href(next, &targets.sheets)?,
            label("Open the sheet"),
            String::new(),
        )),
        "url" => Some((web_address(next["url"].as_str()?)?, label("Open"), String::new())),
        "download" => {
            let name = next["fileName"].as_str().unwrap_or("download").to_string();
            Some((web_address(next["url"].as_str()?)?, label("Download"), name))
        }
        _ => None,
    }
}

/// What an outcome's links point at, looked up for the viewer: the sheets of `id` and
/// `view`, the files of `files` (by id: name), and a space or a document `id` names (by
/// id: the space's page, at the document; probe 71b D1: the link was dropped).
#[derive(Default)]
pub struct Targets {
    pub sheets: HashMap<SheetId, WorkbookId>,
    pub files: HashMap<String, String>,
    pub places: HashMap<String, String>,
    pub workbooks: std::collections::HashSet<WorkbookId>,
    /// When a job a listener took last moved, once it has been quiet a while (see
    /// `grid_action_panel::quiet_since`).
    pub quiet_since: Option<crate::web::when::When>,
}

/// `next: files`: a download link for each file the viewer reaches, with its label or name.
pub fn file_links(next: &Value, files: &HashMap<String, String>) -> Vec<(String, String)> {
    if next["type"] != "files" {
        return Vec::new();
    }
    next["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let id = f["fileId"].as_str()?;
            let name = files.get(id)?;
            let label = f["label"].as_str().unwrap_or(name);
            Some((format!("/files/{id}/download"), label.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_web_addresses_become_outcome_links() {
        assert_eq!(web_address("https://x.io/r").as_deref(), Some("https://x.io/r"));
        assert_eq!(
            web_address("/workbooks/us_wb_1").as_deref(),
            Some("/workbooks/us_wb_1")
        );
        for bad in [
            "javascript:alert(1)",
            "//evil.example/",
            "data:text/html,x",
            "JAVASCRIPT:x",
            // Read by browsers as `//evil.example` (probe 58c F2).
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
        ] {
            assert_eq!(web_address(bad), None, "{bad}");
        }
    }

    #[test]
    fn next_id_leads_into_the_space() {
        let wb = WorkbookId::generate();
        let next = json!({"type": "id", "id": wb.to_string(), "query": "filter=error", "label": "Fix"});
        let targets = Targets {
            workbooks: [wb.clone()].into(),
            ..Targets::default()
        };
        let (href, label, file) = next_link(&next, &targets).unwrap();
        assert_eq!(href, format!("/workbooks/{wb}?filter=error"));
        // One the viewer does not reach leads nowhere.
        assert!(next_link(&next, &Targets::default()).is_none());
        assert_eq!((label.as_str(), file.as_str()), ("Fix", ""));
        let download = json!({"type": "download", "url": "https://x.io/f.csv", "fileName": "f.csv"});
        assert_eq!(next_link(&download, &Targets::default()).unwrap().2, "f.csv");
        assert!(next_link(
            &json!({"type": "url", "url": "javascript:x"}),
            &Targets::default()
        )
        .is_none());
    }

    #[test]
    fn next_view_opens_the_sheet_with_its_filter_and_query() {
        let (wb, sheet) = (WorkbookId::generate(), SheetId::generate());
        let targets = Targets {
            sheets: HashMap::from([(sheet.clone(), wb.clone())]),
            ..Targets::default()
        };
        let next = json!({"type": "view", "sheetId": sheet.to_string(), "hiddenColumns": [],
            "filter": "error", "q": "age > 30 and name like \"A%\""});
        let (href, label, _) = next_link(&next, &targets).unwrap();
        assert_eq!(label, "Open the sheet");
        assert_eq!(
            href,
            format!(
                "/workbooks/{wb}?sheet={sheet}&filter=error&q=filter%3A+age+%3E+30+and+name+like+%22A%25%22"
            )
        );
        // A sheet the viewer does not reach leads nowhere.
        assert!(next_link(&next, &Targets::default()).is_none());
    }

    #[test]
    fn next_files_links_each_file_the_viewer_reaches() {
        let next = json!({"type": "files", "files": [{"fileId": "us_fl_a"}, {"fileId": "us_fl_b", "label": "Errors"}, {"fileId": "us_fl_gone"}]});
        let files = HashMap::from([
            ("us_fl_a".to_string(), "leads.csv".to_string()),
            ("us_fl_b".to_string(), "errors.csv".to_string()),
        ]);
        assert_eq!(
            file_links(&next, &files),
            vec![
                ("/files/us_fl_a/download".to_string(), "leads.csv".to_string()),
                ("/files/us_fl_b/download".to_string(), "Errors".to_string()),
            ]
        );
    }
}
