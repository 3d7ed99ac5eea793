use super::*;
use serde_json::json;

fn contacts() -> serde_json::Value {
    json!({
        "name": "Onboarding", "slug": "onboarding",
        "workbooks": [{
            "name": "Customers",
            "sheets": [
                {"name": "Companies", "slug": "companies", "fields": [
                    {"key": "code", "type": "string", "constraints": [{"type": "unique"}]}
                ]},
                {"name": "Contacts", "slug": "contacts", "fields": [
                    {"key": "email", "type": "string", "label": "Email",
                     "constraints": [{"type": "required"}, {"type": "unique", "config": {"caseSensitive": false, "ignoreEmpty": true}}]},
                    {"key": "age", "type": "number"},
                    {"key": "status", "type": "enum", "config": {"options": [
                        {"value": "active", "label": "Active", "alternativeNames": ["on"]}]}},
                    {"key": "company", "type": "reference", "config": {"ref": "companies", "key": "code", "relationship": "has-one"}}
                ]}
            ]
        }]
    })
}

#[test]
fn a_valid_space_config_parses_with_its_constraints() {
    let bp = parse_space_config(&contacts()).unwrap();
    assert_eq!(bp.slug, "onboarding");
    let sheet = &bp.workbooks[0].sheets[1];
    assert_eq!(sheet.fields.len(), 4);
    let email = &sheet.fields[0];
    assert!(email.required);
    assert_eq!(
        email.unique,
        Some(UniqueConfig {
            case_sensitive: false,
            ignore_empty: true
        })
    );
    assert_eq!(sheet.fields[2].field_type.name(), "enum");
}

#[test]
fn every_problem_is_listed_with_its_path() {
    let mut bad = contacts();
    let fields = &mut bad["workbooks"][0]["sheets"][1]["fields"];
    fields[1]["type"] = json!("integer");
    fields[2]["config"] = json!({"options": []});
    fields[3]["config"]["ref"] = json!("nowhere");
    fields
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "email", "type": "string"}));
    let problems = parse_space_config(&bad).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "$.workbooks[0].sheets[1].fields[1].type",
            "$.workbooks[0].sheets[1].fields[2].config.options",
            "$.workbooks[0].sheets[1].fields[4].key",
            "$.workbooks[0].sheets[1].fields[3].config.ref",
        ]
    );
    assert!(problems[0].message.contains("unknown field type `integer`"));
    assert!(problems[2].message.contains("duplicate field key `email`"));
}

#[test]
fn a_reference_to_a_missing_key_is_refused() {
    let mut bad = contacts();
    bad["workbooks"][0]["sheets"][1]["fields"][3]["config"]["key"] = json!("nope");
    let problems = parse_space_config(&bad).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(problems[0].message.contains("has no field `nope`"));
}

/// A sheet refused for its number of fields is the one problem: a reference to one of its
/// fields is not said to point at nothing (probe 58b F3).
#[test]
fn a_refused_sheet_brings_no_second_problem() {
    let mut big = contacts();
    let fields = big["workbooks"][0]["sheets"][0]["fields"].as_array_mut().unwrap();
    fields.extend((0..super::MAX_FIELDS).map(|i| json!({"key": format!("extra{i}"), "type": "string"})));
    let problems = parse_space_config(&big).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["$.workbooks[0].sheets[0].fields"], "{problems:?}");
}

#[test]
fn non_objects_and_missing_parts_are_explained() {
    assert_eq!(parse_space_config(&json!([])).unwrap_err()[0].path, "$");
    let problems = parse_space_config(&json!({"name": "x"})).unwrap_err();
    assert_eq!(problems[0].path, "$.workbooks");
    let problems = parse_sheets(&[json!({"name": "S", "fields": [{"key": "a"}]})], "$.sheets").unwrap_err();
    assert_eq!(problems[0].path, "$.sheets[0].fields[0].type");
}

#[test]
fn slugs_are_derived_from_names() {
    assert_eq!(slugify("  My Contacts (2024) "), "my-contacts-2024");
    // Names with no letter a slug keeps are named by their place (they were all `""`, and
    // a second one refused the workbook for a slug nobody gave).
    let field = json!([{"key": "a", "type": "string"}]);
    let bp = parse_space_config(&json!({"name": "Intl", "workbooks": [{"name": "W", "sheets": [
        {"name": "日本", "fields": field},
        {"name": "Контакты", "fields": field},
        {"name": "sheet 1", "fields": field},
        {"name": "Orders", "fields": field},
        {"name": "orders!", "fields": field},
        {"name": "Given", "slug": "orders-2", "fields": field},
    ]}]}))
    .unwrap();
    let slugs: Vec<&str> = bp.workbooks[0].sheets.iter().map(|s| s.slug.as_str()).collect();
    assert_eq!(
        slugs,
        [
            "sheet-1",
            "sheet-2",
            "sheet-1-2",
            "orders",
            "orders-3",
            "orders-2"
        ]
    );
    assert_eq!(bp.workbooks[0].sheets[1].json["slug"], "sheet-2");
    let long = "Quarterly ".repeat(20);
    let bp = parse_space_config(&json!({"name": "L", "workbooks": [{"name": "W", "sheets": [
        {"name": long, "fields": field}, {"name": long, "fields": field},
    ]}]}))
    .unwrap();
    for sheet in &bp.workbooks[0].sheets {
        assert!(
            sheet.slug.len() <= SLUG_MAX && slug_problem(&sheet.slug).is_none(),
            "{}",
            sheet.slug
        );
    }
    // Two slugs given alike are still refused.
    let twice = json!({"name": "T", "workbooks": [{"name": "W", "sheets": [
        {"name": "A", "slug": "same", "fields": field},
        {"name": "B", "slug": "same", "fields": field},
    ]}]});
    assert_eq!(
        parse_space_config(&twice).unwrap_err()[0].path,
        "$.workbooks[0].sheets[1].slug"
    );
}

#[test]
fn actions_take_flatfile_shapes_and_name_each_bad_path() {
    let good = json!([
        {"label": "Old style", "slug": "legacy"},
        {"label": "Full", "operation": "go", "mode": "toolbarBlocking", "primary": false,
         "messages": [{"type": "error", "content": "Off"}],
         "constraints": [{"type": "hasColumnEnabled"}],
         "inputForm": {"type": "simple", "fields": [{"key": "t", "label": "T", "type": "textarea"}]},
         "anything": {"else": 1}}
    ]);
    assert_eq!(check_actions(&good, "$.actions"), Ok(()));
    let bad = json!([
        {"label": "", "operation": "x", "messages": [{"type": "warn", "content": 3}]},
        {"label": "E", "operation": "e", "inputForm": {"type": "wizard", "fields": [
            {"key": "c", "label": "C", "type": "enum"},
            {"key": "d", "label": "D", "type": "string", "constraints": [{"type": "unique"}]}]}},
        "not an object"
    ]);
    let paths: Vec<String> = check_actions(&bad, "$.actions")
        .unwrap_err()
        .into_iter()
        .map(|p| p.path)
        .collect();
    assert_eq!(
        paths,
        [
            "$.actions[0].label",
            "$.actions[0].messages[0].type",
            "$.actions[0].messages[0].content",
            "$.actions[1].inputForm.type",
            "$.actions[1].inputForm.fields[0].config.options",
            "$.actions[1].inputForm.fields[1].constraints[0].type",
            "$.actions[2]"
        ]
    );
    assert!(
        check_actions(&json!({"label": "x"}), "$.actions").is_err(),
        "not an array"
    );
}

/// Labels on buttons and in forms are one line without reordering characters, as every
/// other name (probe 71a D1).
#[test]
fn action_labels_are_one_line_without_overrides() {
    let bad = json!([
        {"label": "Approve \u{202E}devorppA", "operation": "a"},
        {"label": "line1\nline2", "operation": "b", "inputForm": {"type": "simple", "fields": [
            {"key": "k", "label": "x\u{202E}y", "type": "enum",
             "config": {"options": [{"value": "v", "label": "fine"}, {"value": "w", "label": "a\nb"}]}}]}}
    ]);
    let problems = check_actions(&bad, "$.actions").unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "$.actions[0].label",
            "$.actions[1].label",
            "$.actions[1].inputForm.fields[0].label",
            "$.actions[1].inputForm.fields[0].config.options[1].label"
        ]
    );
    assert!(
        problems[0].message.contains("text-direction"),
        "{}",
        problems[0].message
    );
    let good = json!([{"label": "Envoyer à l’équipe ✓", "operation": "send"}]);
    assert_eq!(check_actions(&good, "$.actions"), Ok(()));
}

/// A space config's slug is checked as a sheet's (probe 72b D1).
#[test]
fn a_space_configs_slug_is_a_slug() {
    for bad in ["a\nb", "on\u{202E}boarding", "with space", &"s".repeat(5000)] {
        let mut config = contacts();
        config["slug"] = json!(bad);
        let problems = parse_space_config(&config).unwrap_err();
        assert_eq!(problems[0].path, "$.slug", "{bad:?}");
    }
    let mut config = contacts();
    config["slug"] = json!("onboarding-2026");
    assert!(parse_space_config(&config).is_ok());
}

#[test]
fn names_labels_and_slugs_are_checked_when_written_not_when_read_back() {
    let mut bad = contacts();
    bad["name"] = json!("Onboarding\u{202E}");
    bad["workbooks"][0]["name"] = json!("w".repeat(201));
    bad["workbooks"][0]["sheets"][0]["name"] = json!("Companies\nBcc: x");
    bad["workbooks"][0]["sheets"][1]["slug"] = json!("Bad Slug!");
    bad["workbooks"][0]["sheets"][1]["fields"][0]["label"] = json!("E\tmail");
    let problems = parse_space_config(&bad).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "$.name",
            "$.workbooks[0].name",
            "$.workbooks[0].sheets[0].name",
            "$.workbooks[0].sheets[1].slug",
            "$.workbooks[0].sheets[1].fields[0].label",
        ]
    );
    assert!(problems[0]
        .message
        .starts_with("a space config's name is one line of at most 200"));
    assert!(problems[3].message.contains("1 to 64 letters"));
    // What was stored before the rule, and a file's own headers, are read as they are.
    assert!(parse_stored_space_config(&bad).is_ok());
    let sheet = &bad["workbooks"][0]["sheets"][0];
    assert!(parse_stored_sheet(sheet).is_ok());
    assert!(parse_extracted_sheets(std::slice::from_ref(sheet), "$.sheets").is_ok());
    let problems = parse_sheets(std::slice::from_ref(sheet), "$.sheets").unwrap_err();
    assert_eq!(problems[0].path, "$.sheets[0].name");
    let field = json!({"key": "k", "type": "string", "label": "l".repeat(201)});
    assert_eq!(parse_one_field(&field, "$").unwrap_err()[0].path, "$.label");
    let field = json!({"key": "k", "type": "string", "label": "Имя"});
    assert!(parse_one_field(&field, "$").is_ok());
    // A key is shown where the field has no label (probe 40a D13).
    for key in ["x\u{202E}gnp.exe", "a\nb", "zero\u{200B}width", &"k".repeat(201)] {
        let field = json!({"key": key, "type": "string"});
        assert_eq!(
            parse_one_field(&field, "$").unwrap_err()[0].path,
            "$.key",
            "{key:?}"
        );
    }
    assert!(parse_one_field(&json!({"key": "First Name", "type": "string"}), "$").is_ok());
}

#[test]
fn a_given_slug_is_letters_digits_dashes_and_underscores() {
    for good in ["contacts", "Purchase_Orders-2", "a", "9lives", &"s".repeat(64)] {
        assert_eq!(slug_problem(good), None, "{good}");
    }
    for bad in [
        "",
        "-x",
        "_x",
        "Bad Slug!",
        "søren",
        "a.b",
        "a\u{202E}b",
        &"s".repeat(65),
    ] {
        assert!(slug_problem(bad).is_some(), "{bad:?}");
    }
}

/// A space config of tens of thousands of workbooks, or a workbook of as many sheets, is
/// refused where it is counted (probe 64e D8).
#[test]
fn workbooks_and_sheets_are_counted() {
    let mut many = contacts();
    let one = many["workbooks"][0].clone();
    many["workbooks"] = json!(vec![one.clone(); MAX_WORKBOOKS + 1]);
    let problems = parse_space_config(&many).unwrap_err();
    assert_eq!(problems[0].path, "$.workbooks", "{problems:?}");
    let mut wide = contacts();
    let sheet = json!({"name": "S", "fields": [{"key": "a", "type": "string"}]});
    let sheets: Vec<_> = (0..=MAX_SHEETS)
        .map(|i| {
            let mut s = sheet.clone();
            s["slug"] = json!(format!("s{i}"));
            s
        })
        .collect();
    wide["workbooks"][0]["sheets"] = json!(sheets);
    let problems = parse_space_config(&wide).unwrap_err();
    assert_eq!(problems[0].path, "$.workbooks[0].sheets", "{problems:?}");
    let mut enough = contacts();
    enough["workbooks"] = json!(vec![one; MAX_WORKBOOKS]);
    assert!(parse_space_config(&enough).is_ok());
}
