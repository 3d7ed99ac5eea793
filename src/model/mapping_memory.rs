//! Confirmed mappings, remembered per destination sheet and set of source headers, so the
//! next file with the same headers maps itself.

use super::now;
use crate::db::schema::remembered_mappings;
use crate::db::AnyConnection;
use crate::ids::SheetId;
use diesel::prelude::*;
use std::collections::BTreeMap;

/// Destination field key → the source header (as written) it takes. Keyed by field, since
/// one column may feed several fields but a field takes one column.
pub type Remembered = BTreeMap<String, String>;

/// How a mapping is stored: versioned, since the first format was keyed by header (and so
/// could not hold one column mapped onto two fields).
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    v: u8,
    fields: Remembered,
}

pub fn remember(
    conn: &mut AnyConnection,
    sheet_id: &SheetId,
    fingerprint: &str,
    mapping: &Remembered,
) -> QueryResult<()> {
    let stored = Stored {
        v: 2,
        fields: mapping.clone(),
    };
    let text = serde_json::to_string(&stored).unwrap_or_else(|_| "{}".into());
    crate::db::write_tx(conn, |conn| {
        diesel::delete(remembered_mappings::table.find((sheet_id, fingerprint))).execute(conn)?;
        diesel::insert_into(remembered_mappings::table)
            .values((
                remembered_mappings::sheet_id.eq(sheet_id),
                remembered_mappings::fingerprint.eq(fingerprint),
                remembered_mappings::mapping.eq(text),
                remembered_mappings::updated_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(())
    })
}

pub fn recall(
    conn: &mut AnyConnection,
    sheet_id: &SheetId,
    fingerprint: &str,
) -> QueryResult<Option<Remembered>> {
    let text: Option<String> = remembered_mappings::table
        .find((sheet_id, fingerprint))
        .select(remembered_mappings::mapping)
        .first(conn)
        .optional()?;
    Ok(text.and_then(|t| parse(&t)))
}

fn parse(text: &str) -> Option<Remembered> {
    if let Ok(stored) = serde_json::from_str::<Stored>(text) {
        return Some(stored.fields);
    }
    // The first format: header → field key.
    let by_header: BTreeMap<String, String> = serde_json::from_str(text).ok()?;
    Some(by_header.into_iter().map(|(header, key)| (key, header)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_column_onto_two_fields_is_kept_and_old_mappings_still_read() {
        let mut m = Remembered::new();
        m.insert("email".into(), "E-mail".into());
        m.insert("backup_email".into(), "E-mail".into());
        let text = serde_json::to_string(&Stored {
            v: 2,
            fields: m.clone(),
        })
        .unwrap();
        assert_eq!(parse(&text), Some(m));
        let old = parse(r#"{"E-mail": "email", "Name": "name"}"#).unwrap();
        assert_eq!(old.get("email").map(String::as_str), Some("E-mail"));
        assert_eq!(old.get("name").map(String::as_str), Some("Name"));
    }
}
