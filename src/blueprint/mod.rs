//! Blueprints: Flatfile's sheet-config shape, parsed and checked.
//!
//! Parsing walks the JSON by hand so that every problem is reported, each with the JSON
//! path of the value at fault, instead of stopping at the first one.

/// Most fields a sheet may have: as many as the columns a file may have.
pub const MAX_FIELDS: usize = crate::extract::MAX_COLUMNS;

/// Largest a sheet's config may be, as JSON, when the team writes it (a blueprint, a
/// workbook, `sheets.addField`): every read and write of its records reads it (a guest's 40
/// fields of 64 KiB made a page of 10 records take 1 s, probe 56a F1). A file's sheet is
/// bounded by its columns and header cells instead (1,000 of at most 1 KiB).
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// Most workbooks a space config holds, and sheets a workbook holds (as many as a file's
/// tables): a space made from 50,000 workbooks held SQLite's write lock 12 s (probe 64e D8).
pub const MAX_WORKBOOKS: usize = 100;
pub const MAX_SHEETS: usize = crate::extract::spreadsheet::MAX_SHEETS;

pub mod actions;
mod parse;
mod problems;
mod sheet_constraints;
mod strict_json;

pub use actions::check_actions;
pub use parse::{
    inherit_settings, is_list, parse_extracted_sheets, parse_one_field, parse_sheets, parse_space_config,
    parse_stored_sheet, parse_stored_space_config,
};
pub use strict_json::StrictJson;

use serde::Serialize;

/// One thing wrong with a blueprint, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// A deployed space config: workbooks to create in every new space.
#[derive(Debug, Clone)]
pub struct SpaceConfigBlueprint {
    pub name: String,
    pub slug: String,
    pub workbooks: Vec<WorkbookBlueprint>,
}

#[derive(Debug, Clone)]
pub struct WorkbookBlueprint {
    pub name: String,
    pub labels: Vec<String>,
    pub actions: serde_json::Value,
    pub sheets: Vec<SheetConfig>,
    /// The workbook's `settings` as given (an object), if any.
    pub settings: Option<serde_json::Value>,
}

/// A sheet's fields, plus the JSON it came from (returned unchanged by the API).
#[derive(Debug, Clone)]
pub struct SheetConfig {
    pub name: String,
    pub slug: String,
    pub fields: Vec<Field>,
    /// The sheet's `unique` constraints over several fields.
    pub together: Vec<UniqueTogether>,
    pub json: serde_json::Value,
}

/// A sheet's `unique` constraint (Flatfile's composite uniqueness): no two records hold the
/// same values in all of `fields`. Values match exactly, as Flatfile's `concat` and `hash`
/// strategies compare them; a record with every one of them empty, or any of `required`
/// empty, is not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueTogether {
    pub name: String,
    /// Field indexes, in the constraint's order.
    pub fields: Vec<usize>,
    /// Field indexes of its `requiredFields`.
    pub required: Vec<usize>,
}

impl SheetConfig {
    pub fn field_index(&self, key: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.key == key)
    }

    /// Whether any rule makes a record's status depend on others' values: a unique field,
    /// or a `unique` sheet constraint.
    pub fn has_unique(&self) -> bool {
        !self.together.is_empty() || self.fields.iter().any(|f| f.unique.is_some())
    }

    /// Whether field `i` takes part in a unique rule.
    pub fn is_unique_member(&self, i: usize) -> bool {
        self.fields.get(i).is_some_and(|f| f.unique.is_some())
            || self.together.iter().any(|u| u.fields.contains(&i))
    }

    /// Flatfile's sheet `access`: whether people and guests may `add`, `edit`, `delete` or
    /// `import` records, in the dashboard and with a guest token (`*` is all of them;
    /// `readonly: true` none). Not given: all. Secret keys, and so listener code, may always.
    pub fn allows(&self, what: &str) -> bool {
        if self.json["readonly"] == serde_json::Value::Bool(true) {
            return false;
        }
        match self.json.get("access").and_then(serde_json::Value::as_array) {
            None => true,
            Some(list) => list.iter().any(|a| a == "*" || a == what),
        }
    }

    /// [`Self::allows`] as an answer: 403 saying what the sheet does not let people do.
    pub fn refuse_unless(&self, what: &str) -> Result<(), String> {
        match self.allows(what) {
            true => Ok(()),
            false => Err(format!(
                "the sheet {} does not let people {what} records (its access setting); a secret key can",
                self.name
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub key: String,
    pub label: String,
    pub field_type: FieldType,
    pub readonly: bool,
    pub required: bool,
    /// The `required` constraint's own message and level, when its config gives them.
    pub required_note: ConstraintNote,
    pub unique: Option<UniqueConfig>,
    /// The `unique` constraint's own message and level.
    pub unique_note: ConstraintNote,
    pub computed: bool,
    /// Text is kept exactly as given, spaces included (treatment `verbatim`; the fields
    /// of a workbook extracted from a file have it).
    pub verbatim: bool,
}

impl Field {
    /// Read-only or computed: the team's and its listener code's to write, shown to people
    /// and guests but not changed by them.
    pub fn fixed(&self) -> bool {
        self.readonly || self.computed
    }

    /// The name people see: the label, or the key when there is none.
    pub fn display_name(&self) -> &str {
        if self.label.is_empty() {
            &self.key
        } else {
            &self.label
        }
    }
}

/// How seriously a constraint's message counts: only `Error` makes a record invalid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Level {
    #[default]
    Error,
    Warn,
    Info,
}

/// What a constraint says when it is broken (`config.message`, `config.level` in
/// Flatfile's constraints); Wharf's own words at `error` level when not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConstraintNote {
    pub message: Option<String>,
    pub level: Level,
}

impl Field {
    /// Whether empty cells take part in the unique check: not when `ignoreEmpty`, and not
    /// when the field is required, whose own message already flags an empty cell.
    pub fn unique_keeps_empty(&self) -> bool {
        self.unique.is_some_and(|u| !u.ignore_empty) && !self.required
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UniqueConfig {
    pub case_sensitive: bool,
    pub ignore_empty: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    String,
    Number {
        decimal_places: Option<u32>,
    },
    Boolean,
    Date,
    Enum {
        options: Vec<EnumOption>,
    },
    Reference {
        sheet: String,
        key: String,
    },
    /// Several references in one cell, each a value of the target field.
    ReferenceList {
        sheet: String,
        key: String,
    },
    StringList,
    EnumList {
        options: Vec<EnumOption>,
    },
}

impl FieldType {
    /// The sheet slug and field key a reference or reference-list points at.
    pub fn reference_target(&self) -> Option<(&str, &str)> {
        match self {
            FieldType::Reference { sheet, key } | FieldType::ReferenceList { sheet, key } => {
                Some((sheet, key))
            }
            _ => None,
        }
    }

    /// The type's name in Flatfile's blueprints.
    pub fn name(&self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Number { .. } => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Enum { .. } => "enum",
            FieldType::Reference { .. } => "reference",
            FieldType::ReferenceList { .. } => "reference-list",
            FieldType::StringList => "string-list",
            FieldType::EnumList { .. } => "enum-list",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnumOption {
    pub value: String,
    pub label: String,
    pub alternative_names: Vec<String>,
}

/// The longest slug a sheet may be given.
pub const SLUG_MAX: usize = 64;

/// What is wrong with a sheet's slug as given, if anything. It names the sheet in
/// references, events, URLs and file names: 1 to 64 ASCII letters, digits, `-` and `_`,
/// starting with a letter or digit (upper case too, as blueprints written for Flatfile may
/// have it).
pub fn slug_problem(slug: &str) -> Option<String> {
    let fits = slug.len() <= SLUG_MAX
        && slug.starts_with(|c: char| c.is_ascii_alphanumeric())
        && slug
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (!fits).then(|| {
        format!(
            "a slug is 1 to {SLUG_MAX} letters (a-z, A-Z), digits, `-` and `_`, starting with a letter or digit (like `contacts` or `purchase-orders`)"
        )
    })
}

/// Lowercase letters, digits and dashes: what a slug should look like.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests;
