//! Typed public IDs. Each carries Flatfile's prefix (`us_sp_...`) so IDs of different kinds
//! cannot be mixed up, in Rust or by an API client.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use rand::distributions::{Alphanumeric, DistString};

/// Declares a text ID newtype stored as TEXT on every backend.
macro_rules! text_id {
    ($name:ident, $prefix:literal) => {
        text_id!($name, $prefix, 8);
    };
    ($name:ident, $prefix:literal, $random:literal) => {
        #[derive(
            Debug,
            Clone,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
            diesel::AsExpression,
            diesel::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = Text)]
        pub struct $name(pub String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A fresh random ID.
            pub fn generate() -> Self {
                $name(format!("{}{}", $prefix, random_suffix($random)))
            }

            /// Accepts only IDs of this kind, so a sheet ID never reaches a space query.
            pub fn parse(text: &str) -> Option<Self> {
                let rest = text.strip_prefix($prefix)?;
                (!rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
                    .then(|| $name(text.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<DB: Backend> ToSql<Text, DB> for $name
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.0.as_str().to_sql(out)
            }
        }

        impl<DB: Backend> FromSql<Text, DB> for $name
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                String::from_sql(bytes).map($name)
            }
        }
    };
}

text_id!(EnvironmentId, "us_env_");
text_id!(SpaceConfigId, "us_sc_");
text_id!(SpaceId, "us_sp_");
text_id!(WorkbookId, "us_wb_");
text_id!(SheetId, "us_sh_");
text_id!(UserId, "us_usr_");
text_id!(ApiKeyId, "us_key_");
text_id!(FileId, "us_fl_");
text_id!(JobId, "us_jb_");
text_id!(GuestId, "us_g_");
text_id!(WebhookId, "us_wh_");
text_id!(CommitId, "us_cm_", 12);
text_id!(SecretId, "us_sec_");
text_id!(DocumentId, "us_dc_");
text_id!(BulkChangeId, "us_bk_");
// A delivery's id is the receiver's idempotency key (`webhook-id`), and there are many:
// long enough that two never meet.
text_id!(WebhookDeliveryId, "us_whd_", 24);
// A submission's id is its `webhook-id` too: the receiver's idempotency key.
text_id!(SubmissionId, "us_sb_", 24);

fn random_suffix(len: usize) -> String {
    Alphanumeric
        .sample_string(&mut rand::thread_rng(), len)
        .to_lowercase()
}

/// Records are numbered by the database (insertion order); publicly `us_rc_<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub i64);

impl RecordId {
    pub const PREFIX: &'static str = "us_rc_";

    pub fn parse(text: &str) -> Option<Self> {
        numbered(text, Self::PREFIX).map(RecordId)
    }
}

impl std::fmt::Display for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.0)
    }
}

impl serde::Serialize for RecordId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The number of a numbered id (`us_rc_42`): digits only, no leading zero, above 0.
/// `us_rc_+2` or `us_rc_02` is no id (read as 2, it slipped past checks that look for ids
/// inside texts: probes 59c D4, 59d D2).
fn numbered(text: &str, prefix: &str) -> Option<i64> {
    let digits = text.strip_prefix(prefix)?;
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().filter(|n| *n > 0)
}

/// Events are numbered by the database; publicly `us_evt_<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(pub i64);

impl EventId {
    pub const PREFIX: &'static str = "us_evt_";

    pub fn parse(text: &str) -> Option<Self> {
        numbered(text, Self::PREFIX).map(EventId)
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.0)
    }
}

impl serde::Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_only_parse_their_own_kind() {
        let space = SpaceId::generate();
        assert!(space.as_str().starts_with("us_sp_"));
        assert_eq!(SpaceId::parse(space.as_str()), Some(space.clone()));
        assert_eq!(SheetId::parse(space.as_str()), None);
        assert_eq!(SpaceId::parse("us_sp_"), None);
        assert_eq!(SpaceId::parse("us_sp_a'b"), None);
        assert_eq!(RecordId::parse("us_rc_42"), Some(RecordId(42)));
        assert_eq!(RecordId::parse("us_rc_x"), None);
        assert_eq!(RecordId::parse("us_rc_+2"), None);
        assert_eq!(RecordId::parse("us_rc_02"), None);
        assert_eq!(RecordId(7).to_string(), "us_rc_7");
    }
}
