//! Which sheet a file's sheet most likely goes to when no sheet has its name: the one whose
//! fields its columns name most (probe 68b D7: a file whose headers were Orders' own opened
//! on Accounts, the space's first sheet).

use std::collections::HashSet;

/// The names a sheet's fields go by, keys and labels, folded (letters and digits, lower
/// case), from the sheet's config JSON.
pub fn field_names(config: &str) -> HashSet<String> {
    let json: serde_json::Value = serde_json::from_str(config).unwrap_or_default();
    let fields = json["fields"].as_array().cloned().unwrap_or_default();
    fields
        .iter()
        .flat_map(|f| [f["key"].as_str(), f["label"].as_str()])
        .flatten()
        .map(super::files::folded)
        .filter(|n| !n.is_empty())
        .collect()
}

/// The candidate whose names hold most of `columns`, when at least two of them (or the only
/// one) match; the first of equals.
pub fn best_match(columns: &HashSet<String>, candidates: &[HashSet<String>]) -> Option<usize> {
    let needed = columns.len().clamp(1, 2);
    let mut best: Option<(usize, usize)> = None;
    for (i, names) in candidates.iter().enumerate() {
        let n = columns.intersection(names).count();
        if n >= needed && best.is_none_or(|(_, most)| n > most) {
            best = Some((i, n));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> HashSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_sheet_whose_fields_the_columns_name_most_is_chosen() {
        let accounts = field_names(
            r#"{"fields": [{"key": "code", "label": "Account Code"}, {"key": "company", "label": "Company"}]}"#,
        );
        let orders = field_names(
            r#"{"fields": [{"key": "order_id", "label": "Order ID"}, {"key": "amount", "label": "Amount"}, {"key": "account", "label": "Account"}]}"#,
        );
        let candidates = [accounts, orders];
        assert_eq!(
            best_match(&set(&["orderid", "amount", "account"]), &candidates),
            Some(1)
        );
        assert_eq!(
            best_match(&set(&["company", "accountcode"]), &candidates),
            Some(0)
        );
        // One column in common out of several is no evidence.
        assert_eq!(best_match(&set(&["amount", "misc", "other"]), &candidates), None);
        assert_eq!(best_match(&set(&["amount"]), &candidates), Some(1));
    }
}
