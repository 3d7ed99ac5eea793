//! Mapping plans of `workbook:map` jobs, in Flatfile's `JobExecutionPlan` shape: made
//! automatically when the job is created (a remembered mapping first, then automap), checked
//! when a person changes them, and read by the worker that runs the job.

use super::plan_values::{enum_details, enum_options, values_fit};
pub use super::plan_values::{enum_details_for, one_line_ending};
use crate::blueprint::{FieldType, SheetConfig};
use crate::db::AnyConnection;
use crate::ids::{EnvironmentId, WorkbookId};
use crate::mapping::{self, Certainty, SourceColumn, TargetField};
use crate::model::mapping_memory;
use crate::model::sheet::{self, Sheet};
use crate::model::{record, workbook, ModelError, ModelResult};
use crate::validate::DateOrder;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// Source values shown beside each column.
const PREVIEW: usize = 10;
/// Rows read to find the distinct values of a column mapped to an enum.
pub(super) const ENUM_SAMPLE: i64 = 1000;

/// The most values one edge of a plan translates: a plan's own are a sample's distinct
/// values; 400,000 took 14 s to store and 11 s to run over 50 records (probe 64a D4).
pub const MOST_VALUE_PAIRS: usize = 10_000;

fn invalid(key: &str, message: impl Into<String>) -> ModelError {
    ModelError::Invalid(vec![(key.into(), message.into())])
}

/// The two sheets of a mapping job, checked against its source and destination workbooks.
pub struct Sheets {
    pub source: Sheet,
    pub source_config: SheetConfig,
    pub destination: Sheet,
    pub destination_config: SheetConfig,
}

fn sheet_in(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    workbook: &str,
    given: Option<&str>,
    key: &str,
) -> ModelResult<Sheet> {
    let wb_id = WorkbookId::parse(workbook)
        .ok_or_else(|| invalid(key, format!("`{workbook}` is not a workbook id")))?;
    workbook::find(conn, env, &wb_id)?
        .ok_or_else(|| invalid(key, format!("no workbook `{workbook}` in this environment")))?;
    let sheets = sheet::list_in_workbook(conn, &wb_id)?;
    match given {
        Some(id) => sheets.into_iter().find(|s| s.id.as_str() == id).ok_or_else(|| {
            invalid(
                &format!("config.{key}"),
                format!("sheet `{id}` is not in workbook {workbook} (deleted, or never there)"),
            )
        }),
        None => {
            let count = sheets.len();
            let mut only = sheets.into_iter();
            match (only.next(), count) {
                (Some(sheet), 1) => Ok(sheet),
                _ => Err(invalid(
                    &format!("config.{key}"),
                    format!("workbook {workbook} has {count} sheets; name one in config.{key}"),
                )),
            }
        }
    }
}

/// [`sheets`] of a stored mapping job, with `config` (its own, or a new one to check).
pub fn sheets_of_job(
    conn: &mut AnyConnection,
    job: &crate::model::job::Job,
    config: &Value,
) -> ModelResult<Sheets> {
    sheets(
        conn,
        &job.environment_id,
        &job.source,
        job.destination.as_deref(),
        config,
    )
}

/// Resolves and checks the sheets named by a mapping job's source, destination and config.
pub fn sheets(
    conn: &mut AnyConnection,
    env: &EnvironmentId,
    source: &str,
    destination: Option<&str>,
    config: &Value,
) -> ModelResult<Sheets> {
    let destination =
        destination.ok_or_else(|| invalid("destination", "a mapping job needs a destination workbook"))?;
    let source_sheet = sheet_in(
        conn,
        env,
        source,
        config["sourceSheetId"].as_str(),
        "sourceSheetId",
    )?;
    let dest_sheet = sheet_in(
        conn,
        env,
        destination,
        config["destinationSheetId"].as_str(),
        "destinationSheetId",
    )?;
    // A file's records still arriving: a mapping would take the first part and call it done.
    if crate::model::file::extracting_into(conn, &source_sheet.workbook_id)? {
        return Err(crate::model::ModelError::Conflict(
            "the source is a file still being extracted; map it once its extraction is complete".into(),
        ));
    }
    // Records written into the sheet being read would be read again, without end.
    if source_sheet.id == dest_sheet.id {
        return Err(invalid(
            "destinationSheetId",
            "a sheet cannot be mapped onto itself; choose another destination sheet",
        ));
    }
    Ok(Sheets {
        source_config: source_sheet.parsed_config()?,
        source: source_sheet,
        destination_config: dest_sheet.parsed_config()?,
        destination: dest_sheet,
    })
}

pub fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A destination field in the plan: its blueprint JSON as deployed.
fn destination_json(config: &SheetConfig, i: usize) -> Value {
    config.json["fields"].get(i).cloned().unwrap_or_else(|| {
        let f = &config.fields[i];
        json!({"key": f.key, "label": f.label, "type": f.field_type.name()})
    })
}

fn source_json(config: &SheetConfig, i: usize) -> Value {
    let f = &config.fields[i];
    json!({"key": f.key, "label": f.label, "type": "string"})
}

fn alternative_names(config: &SheetConfig, i: usize) -> Vec<String> {
    let mut names: Vec<String> = config.json["fields"][i]["alternativeNames"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    // A reference holds the target's key: `Company Code` names the Company field that
    // points at companies by `code` (probe 62b D4: only a weak guess).
    let field = &config.fields[i];
    if let Some((_, key)) = field.field_type.reference_target() {
        names.push(format!("{} {key}", field.display_name()));
    }
    names
}

/// The fingerprint a mapping is remembered under: the source sheet's headers.
pub fn fingerprint(source: &SheetConfig) -> String {
    mapping::header_fingerprint(source.fields.iter().map(|f| f.display_name()))
}

/// The automatic plan for a new mapping job.
pub fn initial(conn: &mut AnyConnection, s: &Sheets) -> ModelResult<Value> {
    let src = &s.source_config;
    let dst = &s.destination_config;
    let sample: Vec<Vec<Value>> = record::after(conn, s.source.seq, 0, ENUM_SAMPLE)?
        .iter()
        .map(|r| r.checked(src).vals)
        .collect();
    let column_values = |i: usize| -> Vec<String> {
        sample
            .iter()
            .map(|vals| text_of(vals.get(i).unwrap_or(&Value::Null)))
            .collect()
    };
    // Distinct values, in the order met, blanks left out: `FR · DE · IT` says more about a
    // column than `FR · FR · FR`.
    let preview = |i: usize| -> Vec<String> {
        let mut seen = HashSet::new();
        column_values(i)
            .into_iter()
            .filter(|v| !v.trim().is_empty() && seen.insert(v.clone()))
            .take(PREVIEW)
            .collect()
    };
    let sources: Vec<SourceColumn> = src
        .fields
        .iter()
        .map(|f| SourceColumn {
            key: f.key.clone(),
            label: f.display_name().to_string(),
        })
        .collect();
    let writable: Vec<usize> = (0..dst.fields.len())
        .filter(|i| !dst.fields[*i].readonly && !dst.fields[*i].computed)
        .collect();
    let targets: Vec<TargetField> = writable
        .iter()
        .map(|&i| TargetField {
            key: dst.fields[i].key.clone(),
            label: dst.fields[i].label.clone(),
            alternative_names: alternative_names(dst, i),
        })
        .collect();
    // (source index, destination index, certainty, confidence, how)
    let mut pairs: Vec<(usize, usize, Certainty, f64, &str)> = Vec::new();
    if let Some(remembered) = mapping_memory::recall(conn, &s.destination.id, &fingerprint(src))? {
        for (key, header) in &remembered {
            let Some(si) = sources.iter().position(|s| &s.label == header) else {
                continue;
            };
            if let Some(di) = dst.field_index(key).filter(|di| writable.contains(di)) {
                pairs.push((si, di, Certainty::Absolute, 1.0, "remembered"));
            }
        }
    }
    let taken_s: HashSet<usize> = pairs.iter().map(|p| p.0).collect();
    let taken_d: HashSet<usize> = pairs.iter().map(|p| p.1).collect();
    let free_s: Vec<usize> = (0..sources.len()).filter(|i| !taken_s.contains(i)).collect();
    let free_t: Vec<usize> = (0..targets.len())
        .filter(|t| !taken_d.contains(&writable[*t]))
        .collect();
    let fits = |s: usize, t: usize| {
        values_fit(
            &dst.fields[writable[free_t[t]]].field_type,
            &column_values(free_s[s]),
        )
    };
    let auto = mapping::automap_checked(
        &free_s.iter().map(|&i| sources[i].clone()).collect::<Vec<_>>(),
        &free_t.iter().map(|&t| targets[t].clone()).collect::<Vec<_>>(),
        fits,
    );
    for m in auto {
        pairs.push((
            free_s[m.source],
            writable[free_t[m.target]],
            m.certainty,
            m.confidence,
            "automap",
        ));
    }
    pairs.sort_by_key(|p| p.0);
    let mut field_mapping = Vec::new();
    for &(si, di, certainty, confidence, how) in &pairs {
        let mut edge = json!({
            "sourceField": source_json(src, si),
            "destinationField": destination_json(dst, di),
            "preview": preview(si),
            "metadata": {"certainty": certainty, "confidence": confidence, "source": how},
        });
        if let Some(details) = enum_details(&dst.fields[di].field_type, column_values(si)) {
            edge["enumDetails"] = details;
        }
        field_mapping.push(edge);
    }
    let mapped_s: HashSet<usize> = pairs.iter().map(|p| p.0).collect();
    let mapped_d: HashSet<usize> = pairs.iter().map(|p| p.1).collect();
    Ok(json!({
        "fieldMapping": field_mapping,
        "unmappedSourceFields": (0..src.fields.len()).filter(|i| !mapped_s.contains(i)).map(|i| json!({"sourceField": source_json(src, i), "preview": preview(i)})).collect::<Vec<_>>(),
        "unmappedDestinationFields": writable.iter().filter(|i| !mapped_d.contains(i)).map(|&i| json!({"destinationField": destination_json(dst, i)})).collect::<Vec<_>>(),
    }))
}

/// What the worker needs from a plan: for each destination field, the source column it
/// takes, and how enum values translate.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// Per destination field: the source field index, if mapped.
    pub columns: Vec<Option<usize>>,
    /// Per destination field: source value → destination value (line breaks as `\n`: a
    /// page's form sends `\r\n` as `\n`, probe 62c D4).
    pub enums: Vec<HashMap<String, Value>>,
    /// Per destination field: an enum-list, whose cells are translated item by item.
    pub lists: Vec<bool>,
    /// Per enum destination field: its options, the source values the plan speaks of
    /// (translated or left as they are), and what values it never saw (the plan samples a
    /// file's first rows) translate to, found as the plan finds them.
    pub unseen: Vec<Option<UnseenValues>>,
    /// Per date destination field: the order of day and month its person chose for dates
    /// that read two ways (`dateOrder`, Wharf's own); none, the file's values decide.
    pub date_orders: Vec<Option<DateOrder>>,
    /// Source header → destination key, for remembering.
    pub remembered: mapping_memory::Remembered,
}

pub use super::plan_unseen::UnseenValues;

/// Describes a changed plan's edges as the server knows them, whatever a client sent:
/// each field as its sheet has it, the column's preview as the plan before had it, and an
/// edge's certainty as the server gave it when the edge is unchanged, else `absolute`
/// from `actor`, who chose it (probe 54b 9, 10). Keys were checked by [`resolve`].
pub fn settle_edges(plan: &mut Value, before: &Value, s: &Sheets, actor: &str) {
    let (src, dst) = (&s.source_config, &s.destination_config);
    let previews = previews_of(before);
    let earlier: HashMap<(String, String), Value> = before["fieldMapping"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let key = (
                e["sourceField"]["key"].as_str()?.to_string(),
                e["destinationField"]["key"].as_str()?.to_string(),
            );
            Some((key, e["metadata"].clone()))
        })
        .collect();
    let Some(edges) = plan["fieldMapping"].as_array_mut() else {
        return;
    };
    for edge in edges {
        let (Some(si), Some(di)) = (
            edge["sourceField"]["key"]
                .as_str()
                .and_then(|k| src.field_index(k)),
            edge["destinationField"]["key"]
                .as_str()
                .and_then(|k| dst.field_index(k)),
        ) else {
            continue;
        };
        // Sent back as it was (or without it): the server's; changed, or sent with other
        // metadata: chosen by `actor`, as certain as the client says (a plugin's AI or
        // remembered choice reads its own back), certain when it says nothing.
        let sent = &edge["metadata"];
        let metadata = earlier
            .get(&(src.fields[si].key.clone(), dst.fields[di].key.clone()))
            .filter(|m| m.is_object() && (sent.is_null() || sent == *m))
            .cloned()
            .unwrap_or_else(|| chosen_metadata(sent, actor));
        edge["sourceField"] = source_json(src, si);
        edge["destinationField"] = destination_json(dst, di);
        edge["preview"] = previews
            .get(&src.fields[si].key)
            .cloned()
            .unwrap_or_else(|| json!([]));
        edge["metadata"] = metadata;
    }
}

/// An edge's metadata as a client chose it: its `certainty` and `confidence` when they are
/// Flatfile's (absolute, strong, moderate, weak; 0 to 1), certain otherwise; the chooser is
/// always `actor`.
fn chosen_metadata(sent: &Value, actor: &str) -> Value {
    let certainty = sent["certainty"]
        .as_str()
        .filter(|c| ["absolute", "strong", "moderate", "weak"].contains(c))
        .unwrap_or("absolute");
    let confidence = sent["confidence"]
        .as_f64()
        .filter(|c| (0.0..=1.0).contains(c))
        .unwrap_or(1.0);
    json!({"certainty": certainty, "confidence": confidence, "source": actor})
}

/// The preview of each column a plan shows, by its key.
fn previews_of(plan: &Value) -> HashMap<String, Value> {
    ["fieldMapping", "unmappedSourceFields"]
        .iter()
        .flat_map(|part| plan[*part].as_array().into_iter().flatten())
        .filter_map(|e| {
            let preview = e["preview"].clone();
            Some((
                e["sourceField"]["key"].as_str()?.to_string(),
                if preview.is_array() { preview } else { json!([]) },
            ))
        })
        .collect()
}

/// Sets a changed plan's lists of what it leaves unmapped as its `fieldMapping` has them:
/// the source columns no edge reads (with the preview `before`, the plan as it was, had for
/// them) and the writable destination fields no edge fills.
pub fn set_unmapped(plan: &mut Value, before: &Value, s: &Sheets, resolved: &Resolved) {
    let (src, dst) = (&s.source_config, &s.destination_config);
    let previews = previews_of(before);
    let mapped: HashSet<usize> = resolved.columns.iter().flatten().copied().collect();
    plan["unmappedSourceFields"] = (0..src.fields.len())
        .filter(|i| !mapped.contains(i))
        .map(|i| {
            let preview = previews
                .get(&src.fields[i].key)
                .cloned()
                .unwrap_or_else(|| json!([]));
            json!({"sourceField": source_json(src, i), "preview": preview})
        })
        .collect();
    plan["unmappedDestinationFields"] = (0..dst.fields.len())
        .filter(|&i| resolved.columns[i].is_none() && !dst.fields[i].readonly && !dst.fields[i].computed)
        .map(|i| json!({"destinationField": destination_json(dst, i)}))
        .collect();
}

/// Checks a plan against the two sheets: known keys, no destination field taken twice.
pub fn resolve(plan: &Value, s: &Sheets) -> ModelResult<Resolved> {
    let src = &s.source_config;
    let dst = &s.destination_config;
    let mut out = Resolved {
        columns: vec![None; dst.fields.len()],
        enums: vec![HashMap::new(); dst.fields.len()],
        lists: dst
            .fields
            .iter()
            .map(|f| matches!(f.field_type, FieldType::EnumList { .. }))
            .collect(),
        unseen: vec![None; dst.fields.len()],
        date_orders: vec![None; dst.fields.len()],
        remembered: Default::default(),
    };
    let edges = plan["fieldMapping"]
        .as_array()
        .ok_or_else(|| invalid("fieldMapping", "fieldMapping must be an array of edges"))?;
    for (n, edge) in edges.iter().enumerate() {
        let at = |k: &str| format!("fieldMapping[{n}].{k}");
        let skey = edge["sourceField"]["key"]
            .as_str()
            .ok_or_else(|| invalid(&at("sourceField.key"), "each edge needs sourceField.key"))?;
        let dkey = edge["destinationField"]["key"].as_str().ok_or_else(|| {
            invalid(
                &at("destinationField.key"),
                "each edge needs destinationField.key",
            )
        })?;
        let si = src.field_index(skey).ok_or_else(|| {
            invalid(
                &at("sourceField.key"),
                format!("the source sheet has no field `{skey}`"),
            )
        })?;
        let di = dst.field_index(dkey).ok_or_else(|| {
            invalid(
                &at("destinationField.key"),
                format!("the destination sheet has no field `{dkey}`"),
            )
        })?;
        if dst.fields[di].readonly || dst.fields[di].computed {
            return Err(invalid(
                &at("destinationField.key"),
                format!("`{dkey}` is read-only"),
            ));
        }
        if out.columns[di].is_some() {
            return Err(invalid(
                &at("destinationField.key"),
                format!("two columns are mapped to `{dkey}`; map one"),
            ));
        }
        out.columns[di] = Some(si);
        out.date_orders[di] = date_order(
            &edge["dateOrder"],
            &dst.fields[di].field_type,
            dkey,
            &at("dateOrder"),
        )?;
        // Remembered (and proposed as `absolute` next time) only when someone chose or
        // confirmed it: an automatic guess run as proposed through the API, as
        // `@flatfile/plugin-automap` does, would come back certain (probe 54b 2).
        let guessed = edge["metadata"]["source"] == "automap" && !edge["metadata"]["confirmedBy"].is_string();
        if !guessed {
            out.remembered
                .insert(dkey.to_string(), src.fields[si].display_name().to_string());
        }
        let options = match &dst.fields[di].field_type {
            FieldType::Enum { options } | FieldType::EnumList { options } => Some(options),
            _ => None,
        };
        let pairs = match &edge["enumDetails"]["mapping"] {
            Value::Null => None,
            Value::Array(pairs) => Some(pairs),
            _ => {
                return Err(invalid(
                    &at("enumDetails.mapping"),
                    "enumDetails.mapping must be a list of {sourceValue, destinationValue}",
                ))
            }
        };
        // Only an enum's values are translated: a text field took any `destinationValue`,
        // an object as its JSON text (probe 65c D1), as did a field an enum was once.
        if options.is_none() && pairs.is_some_and(|p| !p.is_empty()) {
            return Err(invalid(
                &at("enumDetails.mapping"),
                format!("`{dkey}` is no enum field: its values are not translated; leave enumDetails out"),
            ));
        }
        if let Some(pairs) = pairs {
            if pairs.len() > MOST_VALUE_PAIRS {
                return Err(invalid(
                    &at("enumDetails.mapping"),
                    format!("at most {MOST_VALUE_PAIRS} values are translated per field"),
                ));
            }
            for (m, p) in pairs.iter().enumerate() {
                let at = |k: &str| at(&format!("enumDetails.mapping[{m}].{k}"));
                // Flatfile's enum values: text, a number or true/false.
                let from = match p.get("sourceValue") {
                    Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => v,
                    _ => {
                        return Err(invalid(
                            &at("sourceValue"),
                            "each translation needs sourceValue: text, a number or true/false",
                        ))
                    }
                };
                let Some(to) = p.get("destinationValue").filter(|to| !to.is_null()) else {
                    continue;
                };
                if options.is_some_and(|o| !o.iter().any(|o| o.value == text_of(to))) {
                    return Err(invalid(
                        &at("destinationValue"),
                        format!("{to} is not an option of `{dkey}`"),
                    ));
                }
                let from = one_line_ending(&text_of(from)).into_owned();
                // The same value sent to two options: which one was meant cannot be told
                // (the later won, unsaid: probe 64a D2).
                if let Some(before) = out.enums[di].get(&from).filter(|b| text_of(b) != text_of(to)) {
                    return Err(invalid(
                        &at("sourceValue"),
                        format!("`{from}` is translated to both {before} and {to}; keep one"),
                    ));
                }
                out.enums[di].insert(from, to.clone());
            }
        }
        if let Some(choices) = enum_options(&dst.fields[di].field_type) {
            let spoken = edge["enumDetails"]["mapping"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("sourceValue"))
                .chain(
                    edge["enumDetails"]["unusedSourceValues"]
                        .as_array()
                        .into_iter()
                        .flatten(),
                )
                .map(text_of)
                .collect();
            out.unseen[di] = Some(UnseenValues::new(choices, spoken, &out.enums[di]));
        }
    }
    Ok(out)
}

/// An edge's `dateOrder`: `dayFirst` or `monthFirst`, for a date field only (null or
/// absent: the file's values decide, as without it).
fn date_order(given: &Value, field_type: &FieldType, dkey: &str, at: &str) -> ModelResult<Option<DateOrder>> {
    let order = match given {
        Value::Null => return Ok(None),
        Value::String(s) if s == "dayFirst" => DateOrder::DayFirst,
        Value::String(s) if s == "monthFirst" => DateOrder::MonthFirst,
        _ => {
            return Err(invalid(
                at,
                "dateOrder is \"dayFirst\" or \"monthFirst\" (or left out)",
            ))
        }
    };
    match field_type {
        FieldType::Date => Ok(Some(order)),
        _ => Err(invalid(
            at,
            format!("`{dkey}` is no date field: leave dateOrder out"),
        )),
    }
}

/// Parses a stored plan.
pub fn stored(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or_else(
        || json!({"fieldMapping": [], "unmappedSourceFields": [], "unmappedDestinationFields": []}),
    )
}
