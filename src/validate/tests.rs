use super::*;
use crate::blueprint::{EnumOption, FieldType, SheetConfig, UniqueConfig};
use serde_json::json;

pub(super) fn field(key: &str, field_type: FieldType, required: bool) -> Field {
    Field {
        key: key.into(),
        label: String::new(),
        field_type,
        readonly: false,
        required,
        required_note: Default::default(),
        unique: None,
        unique_note: Default::default(),
        computed: false,
        verbatim: false,
    }
}

pub(super) fn cast(field_type: FieldType, given: Value) -> cast::Cell {
    cast_cell(&field("f", field_type, false), &given)
}

fn number() -> FieldType {
    FieldType::Number { decimal_places: None }
}

#[test]
fn numbers_accept_thousands_separators_and_refuse_garbage() {
    assert_eq!(cast(number(), json!("1,234,567")).value, json!(1234567));
    assert_eq!(cast(number(), json!(" -1 234.5 ")).value, json!(-1234.5));
    assert_eq!(cast(number(), json!(42)).value, json!(42));
    assert_eq!(cast(number(), json!("3.25")).value, json!(3.25));
    // A whole number in another spelling is that integer (`1000`, never `1000.0`).
    for whole in [json!("1e3"), json!("1,000.00"), json!(1000.0), json!("1E3")] {
        let value = cast(number(), whole.clone()).value;
        assert_eq!(value.to_string(), "1000", "{whole}");
    }
    assert_eq!(cast(number(), json!("2.5e1")).value.to_string(), "25");
    // A whole number that fits 64 bits is kept exactly however written, as it is written
    // plainly (probe 42a D15); past that it is a double, kept only when it holds every
    // digit written (SQLite compared bigger integers as doubles, neighbours alike).
    for big in [
        "9223372036854775807",
        "9,223,372,036,854,775,807",
        "9223372036854775807.00",
        "9007199254740993.0",
    ] {
        let cell = cast(number(), json!(big));
        assert!(cell.messages.is_empty(), "{big}: {:?}", cell.messages);
        assert_eq!(
            cell.value.to_string(),
            big.replace(',', "")
                .trim_end_matches(".00")
                .trim_end_matches(".0"),
            "{big}"
        );
    }
    for past in [
        json!("9223372036854775809"),
        json!("18446744073709551615"),
        json!("12,345,678,901,234,567,890"),
        json!("18446744073709551615.0"),
        json!(18446744073709551615u64),
    ] {
        let cell = cast(number(), past.clone());
        assert_eq!(cell.messages.len(), 1, "{past}");
        assert!(
            cell.messages[0]
                .message
                .contains("more digits than a number keeps exactly"),
            "{past}"
        );
    }
    assert!(
        cast(number(), json!("12345678901234567000")).value.is_f64(),
        "every digit kept: a double"
    );
    assert_eq!(
        cast(number(), json!("-9,007,199,254,740,993")).value.to_string(),
        "-9007199254740993"
    );
    assert!(
        cast(number(), json!("1e300")).value.is_f64(),
        "too big to be exact: kept a double"
    );
    for bad in ["12,34,567", "1,2,5", "abc", "1.2.3", "NaN", "inf"] {
        let cell = cast(number(), json!(bad));
        assert_eq!(cell.value, json!(bad), "raw kept for {bad}");
        assert_eq!(cell.messages.len(), 1, "{bad} should be refused");
        assert!(cell.messages[0].message.contains("is not a number"));
    }
}

/// A number that is not a whole number fitting 64 bits is kept only when a double holds
/// every digit it was written with, whatever the spelling; a refused one keeps its
/// input, with a message saying why.
#[test]
fn numbers_past_exact_keep_every_digit_or_are_refused() {
    for lossy in [
        "1234567890123456789012345.0",
        "1234567890123456789012345e0",
        "1.234567890123456789012345e24",
    ] {
        let cell = cast(number(), json!(lossy));
        assert_eq!(cell.value, json!(lossy), "raw kept for {lossy}");
        assert!(
            cell.messages[0]
                .message
                .contains("more digits than a number keeps exactly"),
            "{lossy}: {:?}",
            cell.messages
        );
    }
    for exact in [
        "9007199254740992.0",
        "1.5e20",
        "1e300",
        "4.5e30",
        "-12,345,678,901,234,567,000",
        // Whole numbers that fit 64 bits stay integers, however written.
        "9007199254740993.0",
        "-9,007,199,254,740,993.00",
    ] {
        let cell = cast(number(), json!(exact));
        assert!(cell.messages.is_empty(), "{exact}: {:?}", cell.messages);
    }
    // Below 2^53 too: a double keeps about 16 digits, and a value written with more would be
    // kept as another number (probe 60b D3: `999999999999999.99` read as 1e15, valid).
    for lossy in [
        "999999999999999.99",
        "12345678901234.567",
        "0.12345678901234567891",
    ] {
        let cell = cast(number(), json!(lossy));
        assert_eq!(cell.value, json!(lossy), "raw kept for {lossy}");
        assert_eq!(cell.messages.len(), 1, "{lossy} should be refused");
    }
    // What programs write (the shortest spelling of a double, or the double to 17 or more
    // places: `%.17g`, numpy's `%.18e`, `%.20f`) is always kept (probe 60c D9).
    for exact in [
        "0.30000000000000004",
        "1234567890.1234567",
        "19.99",
        "-0.000120",
        "0.10000000000000001",
        "19.989999999999998",
        "0.29999999999999999",
        "1.998999999999999844e+01",
        "0.10000000000000000555",
        "1.5E+20",
        "1e-7",
        "-0.0",
        "48.85661400000001",
    ] {
        let cell = cast(number(), json!(exact));
        assert!(cell.messages.is_empty(), "{exact}: {:?}", cell.messages);
    }
}

#[test]
fn booleans_read_the_usual_spellings() {
    for (given, want) in [
        ("yes", true),
        ("Y", true),
        ("1", true),
        ("TRUE", true),
        ("no", false),
        ("n", false),
        ("0", false),
        ("false", false),
        ("Ja", true),
        ("nein", false),
        ("WAHR", true),
        ("oui", true),
        ("Faux", false),
        ("Sí", true),
        ("NÃO", false),
        ("x", true),
    ] {
        assert_eq!(
            cast(FieldType::Boolean, json!(given)).value,
            json!(want),
            "{given}"
        );
    }
    assert_eq!(cast(FieldType::Boolean, json!(1)).value, json!(true));
    let cell = cast(FieldType::Boolean, json!("maybe"));
    assert_eq!(cell.value, json!("maybe"));
    assert_eq!(cell.messages[0].kind, MessageType::Error);
}

/// Money, shares and accountants' negatives are not read, but the message says what to
/// write (probe 69d D7).
#[test]
fn numbers_in_dress_say_how_to_write_them() {
    for (given, says) in [
        ("$1,234.50", "without its currency"),
        ("€ 12,50", "without its currency"),
        ("12.5%", "without %"),
        ("(42.00)", "minus sign"),
    ] {
        let cell = cast(number(), json!(given));
        assert_eq!(cell.value, json!(given), "kept as given");
        assert!(
            cell.messages[0].message.contains(says),
            "{given}: {:?}",
            cell.messages
        );
    }
    for plain in ["abc", "$abc", "(abc)", "%"] {
        assert_eq!(
            cast(number(), json!(plain)).messages[0].message,
            format!("\"{plain}\" is not a number")
        );
    }
}

#[test]
fn one_sign_at_most() {
    assert!(!cast(number(), json!("+-1")).messages.is_empty());
    assert_eq!(cast(number(), json!("+1")).value, json!(1));
    assert_eq!(cast(number(), json!("-1,000")).value, json!(-1000));
}

fn options() -> Vec<EnumOption> {
    vec![
        EnumOption {
            value: "active".into(),
            label: "Active".into(),
            alternative_names: vec!["on".into(), "enabled".into()],
        },
        EnumOption {
            value: "closed".into(),
            label: "Closed".into(),
            alternative_names: vec![],
        },
    ]
}

#[test]
fn enums_match_value_label_or_alternative_name() {
    let t = FieldType::Enum { options: options() };
    assert_eq!(cast(t.clone(), json!("active")).value, json!("active"));
    assert_eq!(cast(t.clone(), json!("Closed")).value, json!("closed"));
    assert_eq!(cast(t.clone(), json!("ENABLED")).value, json!("active"));
    let cell = cast(t, json!("gone"));
    assert_eq!(cell.messages[0].source, Source::InvalidOption);
    assert_eq!(cell.messages[0].message, "\"gone\" is not one of: Active, Closed");
}

/// Labels that differ only in case: each as written picks its own option, and a third
/// spelling is not taken for the first of them (probe 49b 2).
#[test]
fn enum_labels_differing_in_case_are_told_apart() {
    let option = |value: &str, label: &str| EnumOption {
        value: value.into(),
        label: label.into(),
        alternative_names: vec![],
    };
    let t = FieldType::Enum {
        options: vec![option("1", "Active"), option("2", "ACTIVE")],
    };
    assert_eq!(cast(t.clone(), json!("Active")).value, json!("1"));
    assert_eq!(cast(t.clone(), json!("ACTIVE")).value, json!("2"));
    let cell = cast(t, json!("active"));
    assert_eq!(cell.messages[0].source, Source::InvalidOption);
    assert!(
        cell.messages[0].message.contains("more than one option"),
        "{:?}",
        cell.messages
    );
}

/// A JSON array written as text is the list (a JSON file's lists arrive so); one whose
/// escapes would decode to a NUL stays text, split as text is (probe 62c D5).
#[test]
fn a_json_array_as_text_is_a_list_without_nuls() {
    assert_eq!(
        cast(FieldType::StringList, json!(r#"["a, b", "c"]"#)).value,
        json!(["a, b", "c"])
    );
    let nul = cast(FieldType::StringList, json!(r#"["x\u0000y", "z"]"#)).value;
    assert_eq!(nul, json!([r#"["x\u0000y""#, r#""z"]"#]));
    let items = nul.as_array().unwrap();
    assert!(items.iter().all(|i| !i.as_str().unwrap().contains('\0')), "{nul}");
    assert_eq!(
        cast(FieldType::StringList, json!("[a, b]")).value,
        json!(["[a", "b]"]),
        "not JSON: text"
    );
}

#[test]
fn lists_split_and_check_each_item() {
    assert_eq!(
        cast(FieldType::StringList, json!("a, b;c")).value,
        json!(["a", "b", "c"])
    );
    let t = FieldType::EnumList { options: options() };
    assert_eq!(
        cast(t.clone(), json!(["on", "Closed"])).value,
        json!(["active", "closed"])
    );
    assert_eq!(
        cast(t.clone(), json!(["on", "Closed", "active"])).value,
        json!(["active", "closed"]),
        "each option once"
    );
    assert_eq!(
        cast(t, json!("on, nope")).messages[0].source,
        Source::InvalidOption
    );
}

#[test]
fn required_fields_flag_empty_cells() {
    let f = field("email", FieldType::String, true);
    for empty in [json!(null), json!(""), json!("   ")] {
        let cell = cast_cell(&f, &empty);
        assert_eq!(cell.messages[0].source, Source::Required);
        assert_eq!(cell.messages[0].message, "email is required");
    }
    assert!(cast_cell(&f, &json!("a@b.c")).messages.is_empty());
}

#[test]
fn a_record_keeps_raw_input_where_the_typed_value_differs() {
    let sheet = SheetConfig {
        name: "S".into(),
        slug: "s".into(),
        fields: vec![
            field("n", number(), false),
            field("name", FieldType::String, true),
            field("d", FieldType::Date, false),
        ],
        together: vec![],
        json: json!({}),
    };
    let input = [
        ("n".to_string(), json!("1,000")),
        ("d".to_string(), json!("someday")),
    ]
    .into_iter()
    .collect();
    let checked = check_record(&sheet, &input);
    assert_eq!(checked.vals, vec![json!(1000), Value::Null, json!("someday")]);
    assert_eq!(checked.raw.get(&0), Some(&json!("1,000")));
    assert_eq!(
        checked.raw.get(&2),
        None,
        "a failed cast keeps the input as the value"
    );
    assert_eq!(checked.error_fields(), vec![1, 2]);
    assert!(!checked.valid());
}

#[test]
fn constraint_messages_can_be_set_and_cleared() {
    let mut checked = Checked::default();
    checked.set_constraint(0, Source::Unique, Some(Message::error(Source::Unique, "dup")));
    assert!(!checked.valid());
    checked.set_constraint(0, Source::Unique, None);
    assert!(checked.valid());
    assert!(checked.messages.is_empty());
}

#[test]
fn unique_keys_fold_case_only_when_asked() {
    let cfg = UniqueConfig {
        case_sensitive: false,
        ignore_empty: true,
    };
    assert_eq!(
        normalize_key(&json!(" Ann "), cfg.case_sensitive),
        Some("ann".into())
    );
    assert_eq!(normalize_key(&json!("Ann"), true), Some("Ann".into()));
    assert_eq!(normalize_key(&json!(""), true), None);
    assert_eq!(normalize_key(&json!(12), true), Some("12".into()));
}

#[test]
fn a_constraint_says_its_own_message_at_its_level() {
    let mut f = field("email", FieldType::String, true);
    f.required_note = crate::blueprint::ConstraintNote {
        message: Some("We need an email to reach them".into()),
        level: crate::blueprint::Level::Warn,
    };
    let cell = cast_cell(&f, &json!(""));
    assert_eq!(cell.messages[0].message, "We need an email to reach them");
    assert_eq!(cell.messages[0].kind, MessageType::Warn);
    let checked = check_values(
        &SheetConfig {
            name: "S".into(),
            slug: "s".into(),
            fields: vec![f],
            together: vec![],
            json: json!({}),
        },
        vec![json!("")],
    );
    assert!(checked.valid(), "a warning does not make a record invalid");
}

#[test]
fn numbers_are_rounded_to_their_decimal_places() {
    let money = field(
        "price",
        FieldType::Number {
            decimal_places: Some(2),
        },
        false,
    );
    for (given, want) in [
        ("12.345", json!(12.35)),
        ("-12.345", json!(-12.35)),
        ("3", json!(3)),
        ("2.999", json!(3)),
        ("1,5", json!(1.5)),
        // Small numbers print with an exponent: they round all the same.
        ("0.0000049", json!(0)),
        ("-0.0000001", json!(0)),
        ("0.000006", json!(0)),
        ("1e-7", json!(0)),
        ("0.00000000000000005551", json!(0)),
        ("0.005", json!(0.01)),
    ] {
        assert_eq!(cast_cell(&money, &json!(given)).value, want, "{given}");
    }
    let whole = field(
        "n",
        FieldType::Number {
            decimal_places: Some(0),
        },
        false,
    );
    assert_eq!(cast_cell(&whole, &json!(2.5)).value, json!(3));
    assert_eq!(cast_cell(&whole, &json!(6e-7)).value, json!(0));
    let fine = field(
        "p",
        FieldType::Number {
            decimal_places: Some(7),
        },
        false,
    );
    assert_eq!(cast_cell(&fine, &json!(4.95e-6)).value, json!(0.0000050));
    assert_eq!(cast_cell(&fine, &json!(-1.23456789e-3)).value, json!(-0.0012346));
    let free = field("x", FieldType::Number { decimal_places: None }, false);
    assert_eq!(cast_cell(&free, &json!("12.345")).value, json!(12.345));
}

#[test]
fn a_long_reference_is_quoted_short_in_its_message() {
    let owner = field("owner", FieldType::String, false);
    let value = json!(format!("{}end", "z".repeat(1_000_000)));
    let message = crate::validate::reference_message(&owner, &value, "People");
    assert!(message.chars().count() < 300, "{}", message.len());
    assert!(
        message.contains("zzz…") && message.contains("zend\" (1000003 characters)"),
        "{message}"
    );
    assert!(message.ends_with("matches no record in People"), "{message}");
    let gone = crate::validate::reference_gone_message(&owner, &value, "People");
    assert!(gone.chars().count() < 300, "{}", gone.len());
    let short = crate::validate::reference_message(&owner, &json!("Ada"), "People");
    assert!(short.contains("\"Ada\""), "{short}");
}

#[test]
fn a_long_value_is_quoted_short_in_its_message() {
    let cell = cast(FieldType::Boolean, json!("x".repeat(100_000) + "y"));
    let message = &cell.messages[0].message;
    assert!(message.chars().count() < 300, "{}", message.len());
    assert!(message.ends_with("use yes/no, true/false or 1/0"), "{message}");
    assert_eq!(
        cell.value,
        json!("x".repeat(100_000) + "y"),
        "the value stays whole"
    );
}
