//! JSON keys met twice in a record, and keys only ever `null` beside an object of the
//! same name: values kept, no empty columns.

use super::tests::{read, strings};

/// A key written twice in one record keeps both values, as a CSV's repeated header keeps
/// both columns (probe 58d F7: `{"a":1,"a":2}` read as `a=2`, the 1 dropped unsaid).
#[test]
fn a_json_key_written_twice_keeps_both_values() {
    let text = r#"[{"a": 1, "a": 2, "A": 3}, {"a": 4}]"#;
    let (labels, rows, _, _) = read(text.as_bytes(), "twice.json");
    assert_eq!(labels[..2], strings(&["a", "a (2)"]));
    assert_eq!(rows[0][..2], strings(&["1", "2"]));
    assert_eq!(rows[1][..2], strings(&["4", ""]));
}

/// A key only ever `null` where other records hold an object under it is no column of its
/// own (probe 60b D7: an `address` column empty in every row beside `address.city`); one
/// only ever `null` and nothing else stays, as an empty column.
#[test]
fn a_null_beside_an_object_makes_no_empty_column() {
    let text =
        r#"[{"id": 1, "address": {"city": "Oslo"}, "note": null}, {"id": 2, "address": null, "note": null}]"#;
    let (labels, rows, _, _) = read(text.as_bytes(), "nulls.json");
    assert_eq!(labels, strings(&["id", "address.city", "note"]));
    assert_eq!(rows, [strings(&["1", "Oslo", ""]), strings(&["2", "", ""])]);
    let lines = "{\"id\": 1, \"address\": null}\n{\"id\": 2, \"address\": {\"city\": \"Rome\"}}\n";
    let (labels, _, _, _) = read(lines.as_bytes(), "nulls.jsonl");
    assert_eq!(labels, strings(&["id", "address.city"]));
}

/// A repeated key's numbered column never takes a name a record of the file uses: the
/// file's own `a (2)` keeps its column (probe 66b D1: the second `a` of the first record
/// and the `a (2)` of the second went into one column, and within one record the file's
/// `a (2)` was renamed `a (2) (2)`).
#[test]
fn a_repeated_keys_column_passes_over_names_the_file_uses() {
    let text = r#"[{"a": 1, "a": 2}, {"a (2)": "x"}]"#;
    let (labels, rows, _, _) = read(text.as_bytes(), "later.json");
    assert_eq!(labels, strings(&["a", "a (3)", "a (2)"]));
    assert_eq!(rows, [strings(&["1", "2", ""]), strings(&["", "", "x"])]);
    let text = r#"[{"a": 1, "a": 2, "a": 3, "a (2)": "x"}]"#;
    let (labels, rows, _, _) = read(text.as_bytes(), "same.json");
    assert_eq!(labels, strings(&["a", "a (3)", "a (4)", "a (2)"]));
    assert_eq!(rows, [strings(&["1", "2", "3", "x"])]);
    // In any case, as a CSV header's (probe 66g D2).
    let text = r#"[{"a": 1, "a": 2, "A (2)": "x"}]"#;
    let (labels, _, _, _) = read(text.as_bytes(), "case.json");
    assert_eq!(labels, strings(&["a", "a (3)", "A (2)"]));
    let lines = "{\"a\": 1, \"a\": 2}\n{\"a (2)\": \"x\"}\n";
    let (labels, rows, _, _) = read(lines.as_bytes(), "later.jsonl");
    assert_eq!(labels, strings(&["a", "a (3)", "a (2)"]));
    assert_eq!(rows[1], strings(&["", "", "x"]));
}

/// Delimited text named .json or .jsonl is read as what it is, with a note (probe 66b D2:
/// it failed as "damaged or cut off" JSON, where a CSV named .xlsx was read as CSV).
#[test]
fn a_csv_named_json_is_read_as_csv() {
    for name in ["r1.json", "r3.jsonl"] {
        let (labels, rows, _, ex) = read(b"id,email\n1,e@x.org\n", name);
        assert_eq!(labels, strings(&["id", "email"]), "{name}");
        assert_eq!(rows, [strings(&["1", "e@x.org"])], "{name}");
        // Nor when its first header starts as JSON could (probe 66g D3).
        let (labels, _, _, _) = read(b"[Name],[Email]\nAda,a@x.org\n", name);
        assert_eq!(labels, strings(&["[Name]", "[Email]"]), "{name}");
        let notes = ex.notes.list();
        assert!(
            notes.iter().any(|n| n.contains("holds no JSON")),
            "{name}: {notes:?}"
        );
    }
}

/// A JSON file holding one value is no list of records (probe 71c D6: `42` was read as a CSV
/// whose header was `42`).
#[test]
fn a_json_file_of_one_value_is_refused_as_json() {
    for (bytes, shown) in [
        (&b"42\n"[..], "42"),
        (b"\"hello\"", "\"hello\""),
        (b" true ", "true"),
    ] {
        let said = super::tests_hardening::fail(bytes, "one.json").to_string();
        assert!(said.starts_with("the JSON is not a list of records"), "{said}");
        assert!(said.contains(&format!("it holds one value, {shown}")), "{said}");
    }
}

/// Keys of the top-level object that hold no list of records are named in a note, not
/// dropped unsaid (probe 71c D6).
#[test]
fn keys_holding_no_records_are_named() {
    let json =
        br#"{"contacts":[{"name":"Ann"}],"meta":{"v":1},"count":3,"ids":[1,2],"companies":[{"co":"X"}]}"#;
    let (_, _, _, ex) = read(json, "two.json");
    let notes = ex.notes.list();
    assert!(
        notes
            .iter()
            .any(|n| n == "the JSON's keys “meta”, “count”, “ids” hold no list of records and were not read"),
        "{notes:?}"
    );
    let (_, _, _, ex) = read(br#"{"contacts":[{"name":"Ann"}]}"#, "one.json");
    assert!(ex.notes.list().is_empty(), "{:?}", ex.notes.list());
}

/// An API export's records one or two levels down (`{"data": {"contacts": [...]}}`) are
/// read, the sheet named by the path; an object holding no list is one key passed over
/// (probe 78c D5: refused as holding no list).
#[test]
fn lists_a_level_or_two_down_are_read() {
    let json = br#"{"exportedAt":"2024-05-01","count":2,"data":{"contacts":[{"name":"Ann"},{"name":"Bo"}],"page":{"n":1}},"meta":{"v":1}}"#;
    let names = |bytes: &[u8]| {
        let (_dir, path) = super::tests_hardening::file_with(bytes, "export.json");
        let ex = super::open(&path, "export.json").unwrap();
        ex.tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(json), ["data.contacts"]);
    let (_, rows, _, ex) = read(json, "export.json");
    assert_eq!(rows, [strings(&["Ann"]), strings(&["Bo"])]);
    let notes = ex.notes.list();
    assert!(
        notes.iter().any(|n| n
            == "the JSON's keys “exportedAt”, “count”, “meta” hold no list of records and were not read"),
        "{notes:?}"
    );
    let deep = br#"{"a":{"b":{"people":[{"n":"x"}]}}}"#;
    assert_eq!(names(deep), ["a.b.people"]);
}

/// A name's spellings that never meet in one record (records from several sources, one
/// writing `Email`, the next `email`) are one column, the first spelling's, with a note;
/// spellings that meet in a record stay apart (probe 69d D2: three columns, of which a
/// field took one, so two records arrived empty).
#[test]
fn json_keys_differing_by_case_across_records_are_one_column() {
    let text = r#"[{"Email": "ann@x.com", "Name": "Ann"}, {"email": "bob@x.com", "name": "Bob"},
        {"EMAIL": "cy@x.com", "NAME": "Cy", "Address": {"City": "Oslo"}}, {"address": {"city": "Rome"}}]"#;
    for (bytes, name) in [
        (text.to_string(), "case.json"),
        (
            text.trim_matches(|c| c == '[' || c == ']').replace("},", "}\n"),
            "case.jsonl",
        ),
    ] {
        let (labels, rows, _, ex) = read(bytes.as_bytes(), name);
        assert_eq!(labels, strings(&["Email", "Name", "Address.City"]), "{name}");
        assert_eq!(
            rows,
            [
                strings(&["ann@x.com", "Ann", ""]),
                strings(&["bob@x.com", "Bob", ""]),
                strings(&["cy@x.com", "Cy", "Oslo"]),
                strings(&["", "", "Rome"]),
            ],
            "{name}"
        );
        let notes = ex.notes.list();
        assert!(
            notes
                .iter()
                .any(|n| n.contains(r#""EMAIL", "email" into "Email""#)),
            "{name}: {notes:?}"
        );
    }
    // Met together once, anywhere in the file: apart everywhere.
    let text = r#"[{"a": 1}, {"A": 2}, {"A": 3, "a": 4}]"#;
    let (labels, rows, _, _) = read(text.as_bytes(), "clash.json");
    assert_eq!(labels, strings(&["a", "A (2)"]));
    assert_eq!(
        rows,
        [strings(&["1", ""]), strings(&["", "2"]), strings(&["4", "3"])]
    );
}

/// A member's name with half a surrogate pair escaped alone reads with U+FFFD, as a value
/// does (probe 69e D4: its record was "not an object with fields", or the file held none).
#[test]
fn a_lone_surrogate_in_a_name_reads_as_a_replacement_character() {
    let text = r#"[{"a\ud800b": 1, "c": 2}, {"a\ud800b": 3, "c": {"d\udc00": 4}}]"#;
    let (labels, rows, rejects, _) = read(text.as_bytes(), "names.json");
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(labels, strings(&["a\u{FFFD}b", "c", "c.d\u{FFFD}"]));
    assert_eq!(rows, [strings(&["1", "2", ""]), strings(&["3", "", "4"])]);
    let lines = "{\"a\\ud800b\": 1}\n{\"a\\ud800b\": 2}\n";
    let (labels, rows, _, _) = read(lines.as_bytes(), "names.jsonl");
    assert_eq!(labels, strings(&["a\u{FFFD}b"]));
    assert_eq!(rows, [strings(&["1"]), strings(&["2"])]);
}

/// A top-level array of anything but objects is refused once its first 10,000 items held
/// none, not read to its end first (probe 71c D3: a gigabyte of numbers held a worker ten
/// minutes); a few items of another kind among records are passed over.
#[test]
fn a_long_list_of_no_records_is_refused_early() {
    let numbers = format!("[{}1]", "1,".repeat(50_000));
    let (_dir, path) = super::tests_hardening::file_with(numbers.as_bytes(), "numbers.json");
    let refused = super::open(&path, "numbers.json").err().expect("refused");
    assert!(
        refused
            .to_string()
            .contains("its first 10,000 items are not objects"),
        "{refused}"
    );
    let mixed = r#"[1, "x", {"a": 1}, null, {"a": 2}]"#;
    let (labels, rows, _, _) = read(mixed.as_bytes(), "mixed.json");
    assert_eq!((labels, rows.len()), (strings(&["a"]), 2));
}

/// A first pass stopped (its job canceled) ends at once, saying so.
#[test]
fn a_stopped_first_pass_ends_the_reading() {
    let records: String = (0..1000).map(|i| format!(r#"{{"a": {i}}},"#)).collect();
    let text = format!("[{records}{{\"a\": 0}}]");
    let (_dir, path) = super::tests_hardening::file_with(text.as_bytes(), "many.json");
    let watch = super::Watch::default();
    watch.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let stopped = super::open_watched(&path, "many.json", &watch)
        .err()
        .expect("stopped");
    assert_eq!(stopped, super::ExtractError::Stopped);
    assert!(super::open_watched(&path, "many.json", &super::Watch::default()).is_ok());
}
