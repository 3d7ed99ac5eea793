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
                dropped.push((what, std::mem::take(key)));
            }
        }
        if dropped.is_empty() {
            return String::new();
        }
        let one_field = dropped.iter().all(|(_, k)| *k == dropped[0].1);
        let named: Vec<String> = dropped
            .iter()
            .map(|(what, key)| format!("{what} “{}”", shown_key(key)))
            .collect();
        format!(
            "Dropped from this view: {} (the sheet no longer has {}).",
            named.join(", "),
            if one_field { "that field" } else { "those fields" }
        )
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

/// A key from the address as the notice shows it: at most 60 characters, without control
/// or direction-changing characters (the address may hold anything).
fn shown_key(key: &str) -> String {
    let direction =
        |c: char| matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let clean: Vec<char> = key
        .chars()
        .filter(|c| !c.is_control() && !direction(*c))
        .collect();
    match clean.len() > 60 {
        true => clean[..59].iter().collect::<String>() + "…",
        false => clean.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::shown_key;

    #[test]
    fn a_key_from_the_address_is_shown_short_and_plain() {
        assert_eq!(shown_key("city"), "city");
        assert_eq!(shown_key("ci\u{202E}ty\n"), "city");
        let long = "k".repeat(20_000);
        assert_eq!(shown_key(&long).chars().count(), 60);
        assert!(shown_key(&long).ends_with('…'));
    }
}
