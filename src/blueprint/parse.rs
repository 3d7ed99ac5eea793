//! Hand-walked parsing that collects every problem with its JSON path.

use super::problems::Problems;
use super::*;
use serde_json::Value;
use std::collections::HashSet;

/// Parses a space config file being deployed: `{name, slug, workbooks: [{name, sheets,
/// actions?}]}`, its names and sheet slugs checked.
pub fn parse_space_config(json: &Value) -> Result<SpaceConfigBlueprint, Vec<Problem>> {
    space_config_with(json, Problems::written())
}

/// Parses a space config as stored when it was deployed (names then unchecked stay as given).
pub fn parse_stored_space_config(json: &Value) -> Result<SpaceConfigBlueprint, Vec<Problem>> {
    space_config_with(json, Problems::default())
}

fn space_config_with(json: &Value, mut p: Problems) -> Result<SpaceConfigBlueprint, Vec<Problem>> {
    let Some(obj) = json.as_object() else {
        return Err(vec![Problem {
            path: "$".into(),
            message: "a space config must be a JSON object with name, slug and workbooks".into(),
        }]);
    };
    let name = p.required_string(obj, "$", "name").unwrap_or_default();
    p.name_at("$.name", "a space config's name", &name);
    let slug = match obj.get("slug") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::String(_)) | None => slugify(&name),
        Some(_) => {
            p.push("$.slug", "slug must be a string");
            String::new()
        }
    };
    // Shown in the Space configs list and named by `wharf deploy`: a slug as a sheet's is
    // (probe 72b D1: line breaks, a text-direction override and 5,000 characters went in).
    if obj.get("slug").is_some_and(Value::is_string) {
        p.slug_at("$.slug", &slug);
    }
    let mut workbooks = Vec::new();
    match obj.get("workbooks") {
        Some(Value::Array(items)) if items.len() > super::MAX_WORKBOOKS => p.push(
            "$.workbooks",
            &format!("a space config holds at most {} workbooks", super::MAX_WORKBOOKS),
        ),
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, wb) in items.iter().enumerate() {
                let path = format!("$.workbooks[{i}]");
                if let Some(w) = parse_workbook(wb, &path, &mut p) {
                    workbooks.push(w);
                }
            }
        }
        Some(Value::Array(_)) => p.push("$.workbooks", "a space config needs at least one workbook"),
        Some(_) => p.push("$.workbooks", "workbooks must be an array"),
        None => p.push("$.workbooks", "workbooks is required"),
    }
    p.finish(SpaceConfigBlueprint {
        name,
        slug,
        workbooks,
    })
}

fn parse_workbook(json: &Value, path: &str, p: &mut Problems) -> Option<WorkbookBlueprint> {
    let Some(obj) = json.as_object() else {
        p.push(path, "a workbook must be an object with name and sheets");
        return None;
    };
    let name = p.required_string(obj, path, "name").unwrap_or_default();
    p.name_at(&format!("{path}.name"), "a workbook name", &name);
    let labels = obj
        .get("labels")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|l| l.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let actions = obj.get("actions").cloned().unwrap_or(Value::Array(vec![]));
    super::actions::check_at(&actions, &format!("{path}.actions"), p);
    let mut sheets = match obj.get("sheets") {
        Some(Value::Array(items)) => sheets_at(items, &format!("{path}.sheets"), p),
        Some(_) => {
            p.push(&format!("{path}.sheets"), "sheets must be an array");
            vec![]
        }
        None => vec![],
    };
    let settings = obj.get("settings").filter(|s| !s.is_null()).cloned();
    if settings.as_ref().is_some_and(|s| !s.is_object()) {
        p.push(&format!("{path}.settings"), "settings must be an object");
    }
    inherit_settings(settings.as_ref(), &mut sheets);
    Some(WorkbookBlueprint {
        name,
        labels,
        actions,
        sheets,
        settings,
    })
}

/// A workbook's `settings.trackChanges` holds for each of its sheets that does not say
/// otherwise (kept in the sheet's config, where the write path reads it).
pub fn inherit_settings(workbook_settings: Option<&Value>, sheets: &mut [SheetConfig]) {
    let Some(track) = workbook_settings
        .and_then(|s| s.get("trackChanges"))
        .and_then(Value::as_bool)
    else {
        return;
    };
    for sheet in sheets {
        let Some(obj) = sheet.json.as_object_mut() else {
            continue;
        };
        let settings = obj
            .entry("settings")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(s) = settings.as_object_mut() {
            s.entry("trackChanges").or_insert(Value::Bool(track));
        }
    }
}

/// Parses the `sheets` of a workbook (for example the body of `POST /v1/workbooks`), their
/// names, slugs and labels checked. `path` is where the array sits, such as `$.sheets`.
pub fn parse_sheets(items: &[Value], path: &str) -> Result<Vec<SheetConfig>, Vec<Problem>> {
    let mut p = Problems::written();
    let sheets = sheets_at(items, path, &mut p);
    p.finish(sheets)
}

/// [`parse_sheets`] for the sheets made from a file's tables: their names and labels are
/// the file's own (a header cell may hold a line break), kept so that mapping sees them.
pub fn parse_extracted_sheets(items: &[Value], path: &str) -> Result<Vec<SheetConfig>, Vec<Problem>> {
    let mut p = Problems::default();
    let sheets = sheets_at(items, path, &mut p);
    p.finish(sheets)
}

/// Parses one stored sheet config on its own (its references were checked when deployed).
pub fn parse_stored_sheet(json: &Value) -> Result<SheetConfig, Vec<Problem>> {
    let mut p = Problems::default();
    let sheet = parse_sheet(json, "$", &mut p);
    match sheet {
        Some(sheet) => p.finish(sheet),
        None => Err(p.found),
    }
}

/// Parses one field given on its own (`sheets.addField`), its problems named by their path
/// under `path` (such as `$` for a request body). References are the caller's to check
/// against the workbook.
pub fn parse_one_field(json: &Value, path: &str) -> Result<Field, Vec<Problem>> {
    let mut p = Problems::written();
    match parse_field(json, path, &mut p) {
        Some(field) => p.finish(field),
        None => Err(p.found),
    }
}

fn sheets_at(items: &[Value], path: &str, p: &mut Problems) -> Vec<SheetConfig> {
    if items.len() > super::MAX_SHEETS {
        p.push(
            path,
            &format!("a workbook holds at most {} sheets", super::MAX_SHEETS),
        );
        return Vec::new();
    }
    let given = |item: &Value| {
        item.get("slug")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty())
    };
    // Slugs given take their names first; those made from names then avoid them.
    let mut slugs: HashSet<String> = HashSet::new();
    let mut taken: HashSet<String> = items
        .iter()
        .filter(|item| given(item))
        .filter_map(|item| {
            item.get("slug")
                .and_then(Value::as_str)
                .map(|s| s.trim().to_string())
        })
        .collect();
    let mut sheets = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let spath = format!("{path}[{i}]");
        // Checked when written, not when a stored sheet is read back.
        if let Some(actions) = item.get("actions") {
            super::actions::check_at(actions, &format!("{spath}.actions"), p);
        }
        let Some(mut sheet) = parse_sheet(item, &spath, p) else {
            continue;
        };
        if let Some(constraints) = item.get("constraints").filter(|_| p.written) {
            let at = format!("{spath}.constraints");
            super::sheet_constraints::check_at(constraints, &sheet.fields, &at, p);
        }
        if given(item) {
            if !slugs.insert(sheet.slug.clone()) {
                p.push(
                    &format!("{spath}.slug"),
                    &format!("slug `{}` is used by another sheet of this workbook", sheet.slug),
                );
            }
        } else {
            // Made from the name: a name with no letter a slug keeps (`日本`) is named by
            // its place, and two names that read alike (`Orders`, `orders`) get `-2`.
            let base = match sheet.slug.is_empty() {
                true => format!("sheet-{}", i + 1),
                // Within a slug's length, with room for a `-2` (a slug is ASCII).
                false => sheet.slug[..sheet.slug.len().min(super::SLUG_MAX - 4)]
                    .trim_end_matches('-')
                    .to_string(),
            };
            let (mut slug, mut n) = (base.clone(), 2);
            while taken.contains(&slug) {
                slug = format!("{base}-{n}");
                n += 1;
            }
            taken.insert(slug.clone());
            slugs.insert(slug.clone());
            sheet.json["slug"] = Value::String(slug.clone());
            sheet.slug = slug;
        }
        sheets.push(sheet);
    }
    // References can only be checked once every sheet of the workbook is known.
    for (i, sheet) in sheets.iter().enumerate() {
        // Walk the JSON, not the parsed fields, so paths stay right when a field was refused.
        let json_fields = sheet.json["fields"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (j, json_field) in json_fields.iter().enumerate() {
            let Some(field) = json_field["key"]
                .as_str()
                .and_then(|k| sheet.fields.iter().find(|f| f.key == k))
            else {
                continue;
            };
            if let Some((target, key)) = field.field_type.reference_target() {
                let fpath = format!("{path}[{i}].fields[{j}].config");
                match sheets.iter().find(|s| s.slug == target) {
                    None => p.push(
                        &format!("{fpath}.ref"),
                        &format!("reference to sheet `{target}`, which is not in this workbook"),
                    ),
                    // A field the target's JSON has but that was refused (or a sheet of
                    // too many fields, whose fields are not read) has its own problem
                    // already (probe 58b F3).
                    Some(t) if t.field_index(key).is_none() && !given_in(t, key) => p.push(
                        &format!("{fpath}.key"),
                        &format!("sheet `{target}` has no field `{key}`"),
                    ),
                    // A target holds one value a record, which a reference matches whole
                    // (probe 61d D2: a list's items were matched as their joined text).
                    Some(t) if p.written && t.field_index(key).is_some_and(|k| is_list(&t.fields[k].field_type)) => p.push(
                        &format!("{fpath}.key"),
                        &format!("`{key}` of sheet `{target}` is a {}; a reference points at a field of one value", t.fields[t.field_index(key).unwrap_or_default()].field_type.name()),
                    ),
                    Some(_) => {}
                }
            }
        }
    }
    sheets
}

/// Whether a field holds a list a record (which no reference can point at).
pub fn is_list(t: &FieldType) -> bool {
    matches!(
        t,
        FieldType::StringList | FieldType::EnumList { .. } | FieldType::ReferenceList { .. }
    )
}

/// Whether a sheet's JSON gives a field of this key, read or not.
fn given_in(sheet: &SheetConfig, key: &str) -> bool {
    sheet.json["fields"]
        .as_array()
        .is_some_and(|fields| fields.iter().any(|f| f["key"].as_str() == Some(key)))
}

fn parse_sheet(json: &Value, path: &str, p: &mut Problems) -> Option<SheetConfig> {
    let Some(obj) = json.as_object() else {
        p.push(path, "a sheet must be an object with name, slug and fields");
        return None;
    };
    let name = p.required_string(obj, path, "name").unwrap_or_default();
    p.name_at(&format!("{path}.name"), "a sheet name", &name);
    let slug = match obj.get("slug").and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => {
            p.slug_at(&format!("{path}.slug"), s.trim());
            s.trim().to_string()
        }
        _ => slugify(&name),
    };
    let mut fields = Vec::new();
    let mut keys = HashSet::new();
    match obj.get("fields") {
        // Every read and write of a sheet's records reads all its fields.
        Some(Value::Array(items)) if p.written && items.len() > MAX_FIELDS => p.push(
            &format!("{path}.fields"),
            &format!(
                "a sheet has at most {MAX_FIELDS} fields; this one has {}",
                items.len()
            ),
        ),
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, f) in items.iter().enumerate() {
                let fpath = format!("{path}.fields[{i}]");
                if let Some(field) = parse_field(f, &fpath, p) {
                    if !keys.insert(field.key.clone()) {
                        p.push(
                            &format!("{fpath}.key"),
                            &format!("duplicate field key `{}`", field.key),
                        );
                    }
                    fields.push(field);
                }
            }
        }
        Some(Value::Array(_)) => p.push(&format!("{path}.fields"), "a sheet needs at least one field"),
        Some(_) => p.push(&format!("{path}.fields"), "fields must be an array"),
        None => p.push(&format!("{path}.fields"), "fields is required"),
    }
    let mut json = json.clone();
    json["slug"] = Value::String(slug.clone());
    if p.written {
        let bytes = json.to_string().len();
        if bytes > MAX_CONFIG_BYTES {
            p.push(
                path,
                &format!(
                    "a sheet's config is at most {} KiB of JSON; this one is {} KiB: shorten its fields' options or descriptions",
                    MAX_CONFIG_BYTES / 1024,
                    bytes.div_ceil(1024)
                ),
            );
        }
    }
    let together = super::sheet_constraints::unique_together(obj.get("constraints"), &fields);
    Some(SheetConfig {
        name,
        slug,
        fields,
        together,
        json,
    })
}

fn parse_field(json: &Value, path: &str, p: &mut Problems) -> Option<Field> {
    let Some(obj) = json.as_object() else {
        p.push(path, "a field must be an object with key and type");
        return None;
    };
    let key = p.required_string(obj, path, "key")?;
    // Records, queries and removals name a field by its key as read here (trimmed): a
    // written key must already be that, or the stored config and the records would differ.
    if p.written && obj["key"].as_str() != Some(key.as_str()) {
        p.push(
            &format!("{path}.key"),
            &format!("a field key has no spaces or line breaks around it: use `{key}`"),
        );
    }
    // Shown where a field has no label (column headers, CSV headers) and named in queries.
    p.name_at(&format!("{path}.key"), "a field key", &key);
    let label = obj
        .get("label")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // Shown as the grid's column header.
    p.name_at(&format!("{path}.label"), "a field label", &label);
    let type_name = p.required_string(obj, path, "type")?;
    let config = obj.get("config").cloned().unwrap_or(Value::Null);
    let cpath = format!("{path}.config");
    let field_type = match type_name.as_str() {
        "string" => FieldType::String,
        "number" => FieldType::Number {
            decimal_places: config
                .get("decimalPlaces")
                .and_then(Value::as_u64)
                .map(|n| n.min(20) as u32),
        },
        "boolean" => FieldType::Boolean,
        "date" => FieldType::Date,
        "enum" => FieldType::Enum {
            options: parse_options(&config, &cpath, p),
        },
        "enum-list" => FieldType::EnumList {
            options: parse_options(&config, &cpath, p),
        },
        "string-list" => FieldType::StringList,
        "reference" | "reference-list" => {
            let sheet = config.get("ref").and_then(Value::as_str);
            let target_key = config.get("key").and_then(Value::as_str);
            if sheet.is_none() {
                p.push(
                    &format!("{cpath}.ref"),
                    "a reference field needs config.ref, the slug of the sheet it points to",
                );
            }
            if target_key.is_none() {
                p.push(
                    &format!("{cpath}.key"),
                    "a reference field needs config.key, the field it matches on",
                );
            }
            let (sheet, key) = (
                sheet.unwrap_or_default().to_string(),
                target_key.unwrap_or_default().to_string(),
            );
            match type_name.as_str() {
                "reference" => FieldType::Reference { sheet, key },
                _ => FieldType::ReferenceList { sheet, key },
            }
        }
        other => {
            p.push(
                &format!("{path}.type"),
                &format!("unknown field type `{other}`; use string, number, boolean, date, enum, reference, reference-list, string-list or enum-list"),
            );
            return None;
        }
    };
    let mut field = Field {
        key,
        label,
        field_type,
        readonly: obj.get("readonly").and_then(Value::as_bool).unwrap_or(false),
        required: false,
        required_note: ConstraintNote::default(),
        unique: None,
        unique_note: ConstraintNote::default(),
        computed: false,
        verbatim: obj
            .get("treatments")
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|v| v == "verbatim")),
    };
    if let Some(constraints) = obj.get("constraints") {
        let Some(items) = constraints.as_array() else {
            p.push(&format!("{path}.constraints"), "constraints must be an array");
            return Some(field);
        };
        for (i, c) in items.iter().enumerate() {
            let cpath = format!("{path}.constraints[{i}]");
            match c.get("type").and_then(Value::as_str) {
                Some("required") => {
                    field.required = true;
                    field.required_note = constraint_note(c, &cpath, p);
                }
                Some("computed") => field.computed = true,
                Some("unique") => {
                    let cfg = c.get("config");
                    field.unique = Some(UniqueConfig {
                        case_sensitive: cfg
                            .and_then(|c| c.get("caseSensitive"))
                            .and_then(Value::as_bool)
                            .unwrap_or(true),
                        ignore_empty: cfg
                            .and_then(|c| c.get("ignoreEmpty"))
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    });
                    field.unique_note = constraint_note(c, &cpath, p);
                }
                // Checked by listener code (`@flatfile/plugin-constraints`): kept as given in
                // the sheet's config; the listener's messages are what mark cells.
                Some("external") | Some("stored") => {
                    if c.get("validator")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        p.push(
                            &format!("{cpath}.validator"),
                            "an external or stored constraint names its validator",
                        );
                    }
                }
                Some(other) => p.push(
                    &format!("{cpath}.type"),
                    &format!(
                        "unknown constraint `{other}`; use required, unique, computed, external or stored"
                    ),
                ),
                None => p.push(&format!("{cpath}.type"), "a constraint needs a type"),
            }
        }
    }
    if field.unique.is_some() && matches!(field.field_type, FieldType::ReferenceList { .. }) {
        p.push(
            &format!("{path}.constraints"),
            "a reference-list field cannot be unique; make the fields it points at unique instead",
        );
    }
    Some(field)
}

/// A constraint's `config.message` and `config.level`.
fn constraint_note(constraint: &Value, path: &str, p: &mut Problems) -> ConstraintNote {
    let config = constraint.get("config");
    let message = match config.and_then(|c| c.get("message")) {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) if !m.trim().is_empty() => Some(m.clone()),
        Some(_) => {
            p.push(
                &format!("{path}.config.message"),
                "a message must be a non-empty string",
            );
            None
        }
    };
    let level = match config.and_then(|c| c.get("level")).map(|l| l.as_str()) {
        None | Some(Some("error")) => Level::Error,
        Some(Some("warn")) => Level::Warn,
        Some(Some("info")) => Level::Info,
        Some(_) => {
            p.push(
                &format!("{path}.config.level"),
                "level is `error`, `warn` or `info`",
            );
            Level::Error
        }
    };
    ConstraintNote { message, level }
}

fn parse_options(config: &Value, path: &str, p: &mut Problems) -> Vec<EnumOption> {
    let Some(items) = config.get("options").and_then(Value::as_array) else {
        p.push(
            &format!("{path}.options"),
            "an enum field needs config.options, a list of {value, label}",
        );
        return vec![];
    };
    if items.is_empty() {
        p.push(
            &format!("{path}.options"),
            "an enum field needs at least one option",
        );
    }
    let mut seen = HashSet::new();
    let mut labels = HashSet::new();
    let mut options = Vec::new();
    for (i, o) in items.iter().enumerate() {
        let opath = format!("{path}.options[{i}]");
        let value = match o.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => {
                p.push(&format!("{opath}.value"), "an option needs a value");
                continue;
            }
        };
        if !seen.insert(value.clone()) {
            p.push(
                &format!("{opath}.value"),
                &format!("duplicate option value `{value}`"),
            );
        }
        let label = o
            .get("label")
            .and_then(Value::as_str)
            .unwrap_or(&value)
            .to_string();
        // Shown in the grid's editor, the mapping page and action dialogs, as a name is;
        // and a cell typed as a label takes that option, so two may not share one.
        p.name_at(&format!("{opath}.label"), "an option label", &label);
        if p.written && !labels.insert(label.clone()) {
            p.push(
                &format!("{opath}.label"),
                &format!("two options are labelled `{label}`; a cell typed so could not say which it means"),
            );
        }
        options.push(EnumOption {
            label,
            alternative_names: o
                .get("alternativeNames")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|n| n.as_str().map(String::from)).collect())
                .unwrap_or_default(),
            value,
        });
    }
    options
}
