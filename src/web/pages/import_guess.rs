//! Which sheet a file's sheet most likely goes to when no sheet has its name: the one whose
//! fields its columns name most (probe 68b D7: a file whose headers were Orders' own opened
//! on Accounts, the space's first sheet).

use crate::mapping::{automap, Certainty, SourceColumn, TargetField};

/// A sheet's fields as automap reads them (key, label, other names), from its config JSON.
pub fn fields_of(config: &str) -> Vec<TargetField> {
    let json: serde_json::Value = serde_json::from_str(config).unwrap_or_default();
    let fields = json["fields"].as_array().cloned().unwrap_or_default();
    fields
        .iter()
        .map(|f| TargetField {
            key: f["key"].as_str().unwrap_or_default().to_string(),
            label: f["label"].as_str().unwrap_or_default().to_string(),
            alternative_names: f["alternativeNames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect(),
        })
        .collect()
}

/// The candidate automap pairs most of `columns` with (moderate or better), when at least
/// two of them (or the only one) pair; the first of equals. Automap, not names alone:
/// `E-Mail`, `Vorname` and `Telefon` name Contacts' fields too (probe 78c D6: a German
/// contacts file opened on Companies).
pub fn best_match(columns: &[TargetField], candidates: &[Vec<TargetField>]) -> Option<usize> {
    let sources: Vec<SourceColumn> = columns
        .iter()
        .map(|c| SourceColumn {
            key: c.key.clone(),
            label: c.label.clone(),
        })
        .collect();
    let needed = sources.len().clamp(1, 2);
    let mut best: Option<(usize, usize)> = None;
    for (i, targets) in candidates.iter().enumerate() {
        let n = automap(&sources, targets)
            .iter()
            .filter(|m| m.certainty >= Certainty::Moderate)
            .count();
        if n >= needed && best.is_none_or(|(_, most)| n > most) {
            best = Some((i, n));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(names: &[&str]) -> Vec<TargetField> {
        names
            .iter()
            .map(|n| TargetField {
                key: n.to_string(),
                label: n.to_string(),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn the_sheet_whose_fields_the_columns_name_most_is_chosen() {
        let accounts = fields_of(
            r#"{"fields": [{"key": "code", "label": "Account Code"}, {"key": "company", "label": "Company"}]}"#,
        );
        let orders = fields_of(
            r#"{"fields": [{"key": "order_id", "label": "Order ID"}, {"key": "amount", "label": "Amount"}, {"key": "account", "label": "Account"}]}"#,
        );
        let candidates = [accounts, orders];
        assert_eq!(
            best_match(&columns(&["Order ID", "Amount", "Account"]), &candidates),
            Some(1)
        );
        assert_eq!(
            best_match(&columns(&["Company", "Account Code"]), &candidates),
            Some(0)
        );
        // One column in common out of several is no evidence.
        assert_eq!(
            best_match(&columns(&["Amount", "Misc", "Other"]), &candidates),
            None
        );
        assert_eq!(best_match(&columns(&["Amount"]), &candidates), Some(1));
    }

    /// Probe 78c D6: German headers of a contacts export go to Contacts, not to the first
    /// sheet, Companies, whose `Company name` a `Firma` column fills too.
    #[test]
    fn a_german_contacts_export_goes_to_contacts() {
        let companies = fields_of(
            r#"{"fields": [{"key": "name", "label": "Company name"}, {"key": "domain", "label": "Domain"}, {"key": "employees", "label": "Employees"}]}"#,
        );
        let contacts = fields_of(
            r#"{"fields": [{"key": "first_name", "label": "First name"}, {"key": "last_name", "label": "Last name"}, {"key": "email", "label": "Email"}, {"key": "phone", "label": "Phone"}, {"key": "country", "label": "Country"}, {"key": "signup", "label": "Signup date"}, {"key": "company", "label": "Company"}]}"#,
        );
        let german = columns(&[
            "Vorname",
            "Nachname",
            "E-Mail",
            "Telefon",
            "Land",
            "Anmeldedatum",
            "Firma",
        ]);
        assert_eq!(best_match(&german, &[companies, contacts]), Some(1));
    }
}
