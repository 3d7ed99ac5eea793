//! What the grid shows (tab, filter, search, sort, page), kept in its links and address.

use crate::blueprint::SheetConfig;
use serde::Deserialize;

/// Everything that selects what the grid shows; links keep it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct View {
    #[serde(default)]
    pub sheet: String,
    #[serde(default)]
    pub filter: String,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub qf: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub dir: String,
    pub after: Option<i64>,
    pub before: Option<i64>,
    #[serde(default)]
    pub last: bool,
    pub page: Option<i64>,
}

impl View {
    fn base_pairs(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![("sheet", self.sheet.clone())];
        for (k, v) in [
            ("filter", &self.filter),
            ("field", &self.field),
            ("q", &self.q),
            ("qf", &self.qf),
            ("sort", &self.sort),
            ("dir", &self.dir),
        ] {
            if !v.is_empty() {
                p.push((k, v.clone()));
            }
        }
        p
    }

    /// This view with one setting changed (and paging reset).
    pub fn with(&self, key: &'static str, value: &str) -> String {
        let mut pairs: Vec<(&str, String)> =
            self.base_pairs().into_iter().filter(|(k, _)| *k != key).collect();
        if !value.is_empty() {
            pairs.push((key, value.to_string()));
        }
        if key == "filter" {
            pairs.retain(|(k, _)| *k != "field");
        }
        encode(&pairs)
    }

    /// This view at another page position.
    pub fn at(&self, key: &'static str, value: &str) -> String {
        let mut pairs = self.base_pairs();
        pairs.push((key, value.to_string()));
        encode(&pairs)
    }

    pub fn sort_link(&self, key: &str) -> String {
        let dir = if self.sort == key && self.dir != "desc" {
            "desc"
        } else {
            "asc"
        };
        let mut pairs: Vec<(&str, String)> = self
            .base_pairs()
            .into_iter()
            .filter(|(k, _)| *k != "sort" && *k != "dir")
            .collect();
        pairs.push(("sort", key.to_string()));
        pairs.push(("dir", dir.to_string()));
        encode(&pairs)
    }

    /// The CSV download's query: the view's tab, search, `filter:` query and sort, so the
    /// file holds what is shown, in its order.
    pub fn download_query(&self) -> String {
        let pairs: Vec<(&str, String)> = self
            .base_pairs()
            .into_iter()
            .filter(|(k, _)| *k != "sheet")
            .collect();
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", encode(&pairs))
        }
    }

    /// Drops the sort, search field and "errors in" field that name a field the sheet no
    /// longer has (removed while the grid was open: its refreshes, tabs and Back ask for
    /// that view), so the sheet shows without them rather than a 400; says what went.
    pub fn forget_removed(&mut self, config: &SheetConfig) -> String {
        let mut dropped = Vec::new();
        for (key, what) in [
            (&mut self.sort, "sort by"),
            (&mut self.qf, "search in"),
            (&mut self.field, "errors in"),
        ] {
            if !key.is_empty() && config.field_index(key).is_none() {
                dropped.push(format!("{what} “{key}”"));
                key.clear();
            }
        }
        match dropped.is_empty() {
            true => String::new(),
            false => format!(
                "Dropped from this view: {} (the sheet no longer has that field).",
                dropped.join(", ")
            ),
        }
    }

    pub fn current(&self) -> String {
        let mut pairs = self.base_pairs();
        if let Some(a) = self.after {
            pairs.push(("after", a.to_string()));
        }
        if let Some(b) = self.before {
            pairs.push(("before", b.to_string()));
        }
        if self.last {
            pairs.push(("last", "true".into()));
        }
        if let Some(p) = self.page {
            pairs.push(("page", p.to_string()));
        }
        encode(&pairs)
    }
}

/// A query string; serde_urlencoded does the escaping.
pub(crate) fn encode(pairs: &[(&str, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}
