use super::*;
use std::io::Write;

fn file_with(bytes: &[u8], name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
    (dir, path)
}

/// Reads a single-table file: labels, rows, rejects.
pub(super) fn read(bytes: &[u8], name: &str) -> (Vec<String>, Vec<Vec<String>>, Vec<Reject>, Extraction) {
    let (_dir, path) = file_with(bytes, name);
    let mut ex = open(&path, name).unwrap();
    let table = ex.tables.remove(0);
    let labels = table.columns.iter().map(|c| c.label.clone()).collect();
    let (mut rows, mut rejects) = (vec![], vec![]);
    for r in table.rows {
        match r {
            Ok(row) => rows.push(row.values),
            Err(rej) => rejects.push(rej),
        }
    }
    (labels, rows, rejects, ex)
}

pub(super) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn encodings_are_sniffed() {
    assert_eq!(encoding::sniff(b"\xEF\xBB\xBFa,b", true).name(), "UTF-8");
    assert_eq!(encoding::sniff(b"\xFF\xFEa\0", true).name(), "UTF-16LE");
    assert_eq!(encoding::sniff(b"\xFE\xFF\0a", true).name(), "UTF-16BE");
    assert_eq!(encoding::sniff("name\nJosé".as_bytes(), true).name(), "UTF-8");
    // A cut-off sequence at the end of a sample is not a reason to leave UTF-8.
    assert_eq!(encoding::sniff(&"é".as_bytes()[..1], false).name(), "UTF-8");
    let latin = b"name,city\nJos\xE9,Z\xFCrich\nFran\xE7ois,M\xFCnchen\n";
    assert_eq!(encoding::sniff(latin, true).name(), "windows-1252");
}

#[test]
fn utf8_with_bom_and_windows_1252_read_as_written() {
    let (labels, rows, _, ex) = read("\u{FEFF}Name,City\nJosé,Zürich\n".as_bytes(), "a.csv");
    assert_eq!(labels, strings(&["Name", "City"]));
    assert_eq!(rows, vec![strings(&["José", "Zürich"])]);
    assert_eq!(ex.encoding, Some("UTF-8"));
    let (_, rows, _, ex) = read(b"Name,City\nJos\xE9,Z\xFCrich\n", "b.csv");
    assert_eq!(rows, vec![strings(&["José", "Zürich"])]);
    assert_eq!(ex.encoding, Some("windows-1252"));
}

#[test]
fn a_downloaded_csv_uploads_back_as_it_was() {
    // Wharf's CSV downloads defuse formulas with an apostrophe: read back, it goes.
    let (_, rows, _, _) = read(
        b"Name,Phone,Note\nAl,'+44 20 1234,'=1+2\nBe,'-5,'plain\nCy,-,'@handle\n",
        "round.csv",
    );
    assert_eq!(
        rows,
        vec![
            strings(&["Al", "+44 20 1234", "=1+2"]),
            // Only what a download would have defused: `'-5` and `'plain` stay as written.
            strings(&["Be", "'-5", "'plain"]),
            strings(&["Cy", "-", "@handle"]),
        ]
    );
    for value in [
        "+44 20 1234",
        "=SUM(A1)",
        "@x",
        "-- none --",
        "-5",
        "plain",
        "'quoted'",
        "'=x",
        "''=x",
        "'+44 20",
        "'@",
        "'=",
        "'",
        "''",
        "'-5",
        "=",
        "\t=x",
        "'\t=x",
    ] {
        assert_eq!(undefused(safe_cell(value)), value, "{value:?}");
    }
    assert_eq!(safe_cell("'=x"), "''=x", "one more apostrophe than `=x` gets");
}

#[test]
fn utf16_with_bom_is_decoded() {
    let mut bytes = vec![0xFF, 0xFE];
    for u in "a\tb\n1\t2\n".encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    let (labels, rows, _, ex) = read(&bytes, "u.tsv");
    assert_eq!(labels, strings(&["a", "b"]));
    assert_eq!(rows, vec![strings(&["1", "2"])]);
    assert_eq!(ex.delimiter, Some('\t'));
}

#[test]
fn invalid_utf8_is_replaced_and_counted() {
    let (_, rows, _, ex) = read("name\nJosé\nbad \u{0}".replace('\u{0}', "").as_bytes(), "c.csv");
    assert_eq!(rows.len(), 2);
    let mut bytes = "name,note\nJosé,ok\nRenée,fine\n".as_bytes().to_vec();
    bytes.extend(b"x,\xFF\xFE broken\n");
    let (_, rows, _, ex2) = read(&bytes, "d.csv");
    assert_eq!(ex2.encoding, Some("UTF-8"));
    // Bytes that break UTF-8 in UTF-8 text are read as Windows-1252, and said so.
    assert_eq!(rows[2][1], "ÿþ broken");
    assert!(
        ex2.notes
            .list()
            .iter()
            .any(|n| n.contains("2 bytes of windows-1252")),
        "{:?}",
        ex2.notes.list()
    );
    assert_eq!(ex.replaced.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[test]
fn delimiters_are_sniffed() {
    assert_eq!(delimited::sniff_delimiter("a,b,c\n1,2,3\n"), b',');
    assert_eq!(delimited::sniff_delimiter("a\tb\n1\t2\n"), b'\t');
    assert_eq!(delimited::sniff_delimiter("a;b;c\n1,5;2,5;3\n4;5;6\n"), b';');
    assert_eq!(delimited::sniff_delimiter("a|b\n1|2\n"), b'|');
    assert_eq!(delimited::sniff_delimiter("\"x,y\";b\n\"1,2\";3\n"), b';');
    assert_eq!(delimited::sniff_delimiter("single\nvalue\n"), b',');
    // One column whose text holds a `;`, `|` or tab now and then: not a delimiter.
    let addresses = "address\n12 Main St; Apt 4\n9 Elm Rd\n3 Oak Ave\n";
    assert_eq!(delimited::sniff_delimiter(addresses), b',');
    assert_eq!(delimited::sniff_delimiter("note\na\tb\n"), b',');
    assert_eq!(delimited::sniff_delimiter("note\nx | y\n"), b',');
    // Title lines above a `;` header still leave `;` the delimiter.
    assert_eq!(delimited::sniff_delimiter("Report\nName;Email\n1;2\n"), b';');
    assert_eq!(delimited::sniff_delimiter("Report\nQ3\nName;Email\n1;2\n"), b';');
    assert_eq!(
        delimited::sniff_delimiter("Report\nQ3\nby\nName\tEmail\n1\t2\n3\t4\n"),
        b'\t'
    );
}

#[test]
fn the_header_is_found_under_title_and_blank_rows() {
    let text = "Quarterly report,,\n,,\nName,Email,Age\nAda,ada@x.org,36\nBob,,41\n";
    let (labels, rows, _, _) = read(text.as_bytes(), "r.csv");
    assert_eq!(labels, strings(&["Name", "Email", "Age"]));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1], strings(&["Bob", "", "41"]));
}

#[test]
fn values_are_kept_exactly_as_written() {
    let text = "id,amount,note\n007, 1.50 ,\"multi\nline, with comma\"\n";
    let (_, rows, _, _) = read(text.as_bytes(), "v.csv");
    assert_eq!(rows, vec![strings(&["007", " 1.50 ", "multi\nline, with comma"])]);
}

#[test]
fn short_rows_are_padded_long_rows_rejected_with_line_numbers() {
    let text = "a,b,c\r\n1,2\n3,4,5,6\r7,8,9\n\n10,11,12,,\n";
    let (_, rows, rejects, _) = read(text.as_bytes(), "m.csv");
    assert_eq!(
        rows,
        vec![
            strings(&["1", "2", ""]),
            strings(&["7", "8", "9"]),
            strings(&["10", "11", "12"])
        ]
    );
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].line, 3);
    assert!(rejects[0].message.contains("4 values"), "{}", rejects[0].message);
}

/// Rows left out above the row taken as the header are rejected rows, not lost: here the
/// guess is wrong (one column whose values hold commas), and the real header is among them.
#[test]
fn rows_above_the_header_are_rejected_rows() {
    let (_, _, rejects, ex) = read(b"name\nDoe, John\nSmith, Ann\n", "names.csv");
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(
        (rejects[0].line, rejects[0].values.clone()),
        (1, strings(&["name"]))
    );
    let notes = ex.notes.list();
    assert!(notes.iter().any(|n| n.contains("rejected rows")), "{notes:?}");
}

/// A row's line is where a person finds it in the file, blank lines above it counted.
#[test]
fn line_numbers_count_blank_lines() {
    let text = "a,b\n\n\n1,2,3\n4,5\n\"multi\nline\",6\n7,8,9\n";
    let (_, _, rejects, _) = read(text.as_bytes(), "blank.csv");
    let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, [4, 8]);
}

#[test]
fn a_huge_value_is_a_reject() {
    let mut text = String::from("a,b\n1,");
    text.push_str(&"x".repeat(MAX_CELL_BYTES + 1));
    text.push_str("\n2,3\n");
    let (_, rows, rejects, _) = read(text.as_bytes(), "big.csv");
    assert_eq!(rows, vec![strings(&["2", "3"])]);
    assert_eq!(rejects[0].line, 2);
    assert!(
        rejects[0]
            .message
            .contains(&format!("{} bytes; a cell holds at most", MAX_CELL_BYTES + 1)),
        "{}",
        rejects[0].message
    );
}

#[test]
fn bad_files_fail_with_words_a_person_understands() {
    let fail = |bytes: &[u8], name: &str| {
        let (_dir, path) = file_with(bytes, name);
        open(&path, name).err().expect("fails")
    };
    assert_eq!(fail(b"", "e.csv"), ExtractError::Empty);
    assert_eq!(fail(b"\n\n,,\n", "blank.csv"), ExtractError::NoHeader);
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    assert_eq!(fail(&junk, "junk.csv"), ExtractError::NotText);
    assert!(matches!(
        fail(b"PK\x03\x04truncated", "t.xlsx"),
        ExtractError::Corrupt(_)
    ));
    let wide = (0..MAX_COLUMNS + 5)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        fail(wide.as_bytes(), "w.csv"),
        ExtractError::TooWide(MAX_COLUMNS + 5)
    );
    let one_line = "x".repeat(2 * 1024 * 1024);
    assert_eq!(
        fail(one_line.as_bytes(), "line.txt"),
        ExtractError::HeaderTooLong(2 * 1024 * 1024, false)
    );
    // A quote opened on the header's line and never closed (probe 63c D5).
    let mut open = String::from("\"name,email\nada,a@x.com\n");
    for i in 0..10_000 {
        open.push_str(&format!("n{i},e{i}\n"));
    }
    let message = fail(open.as_bytes(), "quote.csv").to_string();
    assert!(
        message.contains("a quote opened on the header's line is likely never closed"),
        "{message}"
    );
}

#[test]
fn a_header_only_file_has_no_rows() {
    let (labels, rows, rejects, _) = read(b"a,b\n", "h.csv");
    assert_eq!(labels, strings(&["a", "b"]));
    assert!(rows.is_empty() && rejects.is_empty());
}

#[test]
fn json_arrays_and_lines_become_tables() {
    let text = r#"[{"name":"Ada","age":36},{"name":"Bob","tags":["x"],"age":null},5]"#;
    let (labels, rows, rejects, ex) = read(text.as_bytes(), "p.json");
    assert_eq!(ex.format, Format::Json);
    assert_eq!(labels, strings(&["name", "age", "tags"]));
    assert_eq!(
        rows,
        vec![strings(&["Ada", "36", ""]), strings(&["Bob", "", "[\"x\"]"])]
    );
    assert_eq!(rejects[0].line, 3);
    let lines = "{\"a\":1}\n\nnot json\n{\"b\":true,\"a\":\"x\"}\n";
    let (labels, rows, rejects, _) = read(lines.as_bytes(), "p.jsonl");
    assert_eq!(labels, strings(&["a", "b"]));
    assert_eq!(rows, vec![strings(&["1", ""]), strings(&["x", "true"])]);
    assert_eq!(rejects[0].line, 3);
}

/// A table as read: its name, labels, rows and rejects' lines.
type ReadTable = (String, Vec<String>, Vec<Vec<String>>, Vec<u64>);

/// Every table of a file, read in order, and the file's notes.
fn read_all(bytes: &[u8], name: &str) -> (Vec<ReadTable>, Vec<String>) {
    let (_dir, path) = file_with(bytes, name);
    let ex = open(&path, name).unwrap();
    let notes = ex.notes.clone();
    let tables = ex
        .tables
        .into_iter()
        .map(|t| {
            let labels = t.columns.iter().map(|c| c.label.clone()).collect();
            let (mut rows, mut rejects) = (vec![], vec![]);
            for r in t.rows {
                match r {
                    Ok(row) => rows.push(row.values),
                    Err(rej) => rejects.push(rej.line),
                }
            }
            (t.name, labels, rows, rejects)
        })
        .collect();
    (tables, notes.list())
}

#[test]
fn an_object_of_lists_is_a_sheet_per_list_and_nested_objects_are_columns() {
    let text = r#"{
        "meta": {"exported": "2026-12-01", "by": {"name": "crm"}},
        "contacts": [
            {"name": "Ada", "address": {"city": "Paris", "geo": {"lat": 48.8}}, "tags": ["a", "b"]},
            {"name": "Bob", "address": {}, "extra": null},
            "not a record"
        ],
        "count": 2,
        "ids": [1, 2, 3],
        "companies": [{"code": "A1"}],
        "contacts": [{"name": "Again"}],
        "Line\nbreak \u202e name": [{"x": 1}]
    }"#;
    let (tables, notes) = read_all(text.as_bytes(), "export.json");
    let names: Vec<&str> = tables.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(names, ["contacts", "companies", "Line break name"]);
    let (_, labels, rows, rejects) = &tables[0];
    assert_eq!(
        labels,
        &strings(&["name", "address.city", "address.geo.lat", "tags", "extra"])
    );
    assert_eq!(
        rows,
        &vec![
            strings(&["Ada", "Paris", "48.8", "[\"a\",\"b\"]", ""]),
            strings(&["Bob", "", "", "", ""])
        ]
    );
    assert_eq!(rejects, &vec![3]);
    assert_eq!(tables[1].2, vec![strings(&["A1"])]);
    assert_eq!(tables[2].2, vec![strings(&["1"])]);
    assert!(
        notes.iter().any(|n| n.contains("“contacts” more than once")),
        "{notes:?}"
    );
    // A top-level array keeps the file's name; an object of no lists says what it is.
    let (tables, _) = read_all(br#"[{"a": {"b": 1}}]"#, "people.json");
    assert_eq!(
        (tables[0].0.as_str(), &tables[0].1),
        ("people", &strings(&["a.b"]))
    );
    let none = open_failure(br#"{"email": "a@b.com", "n": {"x": 1}}"#, "one.json");
    assert!(
        none.to_string().contains("none of its keys holds a list"),
        "{none}"
    );
    assert_eq!(
        open_failure(br#"{"contacts": [], "ids": [1]}"#, "e.json"),
        ExtractError::NoFields
    );
    assert_eq!(open_failure(b"[]", "e.json"), ExtractError::Empty);
}

#[test]
fn an_object_of_many_lists_reads_the_first_hundred() {
    let lists: Vec<String> = (0..105).map(|i| format!("\"l{i}\": [{{\"n\": {i}}}]")).collect();
    let text = format!("{{{}}}", lists.join(","));
    let (tables, notes) = read_all(text.as_bytes(), "many.json");
    assert_eq!(tables.len(), 100);
    assert_eq!(
        (tables[99].0.as_str(), &tables[99].2),
        ("l99", &vec![strings(&["99"])])
    );
    assert!(notes.iter().any(|n| n.contains("105 lists")), "{notes:?}");
}

/// Hostile shapes read in bounded time and stack: nesting deeper than the flattening goes
/// (it overflowed the stack and aborted the process), thousands of repeated list names (one
/// note, not one each), and lists of no records before the real one (they do not use up
/// the cap on lists).
#[test]
fn hostile_json_shapes_stay_bounded() {
    let deep = format!("{{\"rows\": [{}1{}]}}", "{\"a\":".repeat(5000), "}".repeat(5000));
    let (tables, _) = read_all(deep.as_bytes(), "deep.json");
    let labels = &tables[0].1;
    assert_eq!(labels.len(), 1);
    assert_eq!(
        labels[0].matches('a').count(),
        17,
        "16 levels brought up: {}",
        labels[0]
    );
    assert!(
        tables[0].2[0][0].starts_with("{\"a\":{\"a\":"),
        "deeper stays JSON"
    );

    let mut many = String::from("{\"real\": [{\"x\": 1}]");
    for i in 0..20_000 {
        many.push_str(&format!(", \"k{i}\": [{{\"y\": 1}}], \"k{i}\": []"));
    }
    many.push('}');
    let started = std::time::Instant::now();
    let (_, notes) = read_all(many.as_bytes(), "repeats.json");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let repeated: Vec<&String> = notes.iter().filter(|n| n.contains("more than once")).collect();
    assert_eq!(repeated.len(), 1, "{notes:?}");
    assert!(repeated[0].contains("19,999 other lists"), "{}", repeated[0]);

    let mut past = String::from("{");
    for i in 0..150 {
        past.push_str(&format!("\"ids{i}\": [1, 2], \"e{i}\": [], "));
    }
    past.push_str("\"real\": [{\"x\": 1}]}");
    let (tables, _) = read_all(past.as_bytes(), "past.json");
    assert_eq!(tables.len(), 1);
    assert_eq!(
        (tables[0].0.as_str(), &tables[0].2),
        ("real", &vec![strings(&["1"])])
    );
}

#[test]
fn every_sheet_of_an_xlsx_is_read() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let s1 = book.add_worksheet().set_name("People").unwrap();
    s1.write(0, 0, "Report").unwrap();
    s1.write(2, 0, "Name").unwrap();
    s1.write(2, 1, "Age").unwrap();
    s1.write(3, 0, "Ada").unwrap();
    s1.write(3, 1, 36).unwrap();
    s1.write(4, 0, "Bob").unwrap();
    s1.write(4, 1, 41.5).unwrap();
    let s2 = book.add_worksheet().set_name("Cities").unwrap();
    s2.write(0, 0, "City").unwrap();
    s2.write(1, 0, "Oslo").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let (_dir, path) = file_with(&bytes, "book.xlsx");
    let ex = open(&path, "book.xlsx").unwrap();
    assert_eq!(ex.format, Format::Xlsx);
    let names: Vec<&str> = ex.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["People", "Cities"]);
    let mut tables = ex.tables;
    let people = tables.remove(0);
    assert_eq!(people.header_line, Some(3));
    let (rows, above): (Vec<_>, Vec<_>) = people.rows.partition(Result::is_ok);
    // The title above the header is left out, with the rejected rows.
    let above: Vec<Reject> = above.into_iter().map(|r| r.unwrap_err()).collect();
    assert_eq!(
        (above[0].line, above[0].values.clone()),
        (1, strings(&["Report"]))
    );
    let rows: Vec<Row> = rows.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(rows[0].values, strings(&["Ada", "36"]));
    assert_eq!(rows[1].values, strings(&["Bob", "41.5"]));
    assert_eq!(rows[1].line, 5);
}

#[test]
fn a_zip_bomb_is_refused_before_unpacking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.xlsx");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..100 {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap();
    assert!(matches!(
        open(&path, "bomb.xlsx").err(),
        Some(ExtractError::Bomb(_))
    ));
}

#[test]
fn an_ods_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.ods");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    zip.start_file("META-INF/manifest.xml", stored).unwrap();
    zip.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#).unwrap();
    zip.start_file("content.xml", stored).unwrap();
    zip.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="People"><table:table-row><table:table-cell office:value-type="string"><text:p>Name</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Age</text:p></table:table-cell></table:table-row><table:table-row><table:table-cell office:value-type="string"><text:p>Ada</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="36"><text:p>36</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#).unwrap();
    zip.finish().unwrap();
    let mut ex = open(&path, "book.ods").unwrap();
    assert_eq!(ex.format, Format::Ods);
    let table = ex.tables.remove(0);
    assert_eq!(table.name, "People");
    let labels: Vec<String> = table.columns.iter().map(|c| c.label.clone()).collect();
    assert_eq!(labels, strings(&["Name", "Age"]));
    let rows: Vec<Vec<String>> = table.rows.map(|r| r.unwrap().values).collect();
    assert_eq!(rows, vec![strings(&["Ada", "36"])]);
}

fn open_failure(bytes: &[u8], name: &str) -> ExtractError {
    let (_dir, path) = file_with(bytes, name);
    match open(&path, name) {
        Ok(_) => panic!("{name} should fail"),
        Err(e) => e,
    }
}

#[test]
fn json_of_another_shape_is_named_as_such_and_wide_json_counts_its_columns() {
    let shape = open_failure(br#"{"email": "a@b.com"}"#, "one.json");
    assert!(matches!(shape, ExtractError::JsonShape(_)), "{shape}");
    assert!(shape.to_string().contains("not a list of records"), "{shape}");
    assert!(!shape.to_string().contains("damaged"), "{shape}");
    let keys: Vec<String> = (0..5000).map(|i| format!("\"k{i}\": {i}")).collect();
    let wide = format!("[{{{}}}]", keys.join(","));
    let too_wide = open_failure(wide.as_bytes(), "wide.json");
    assert_eq!(too_wide, ExtractError::TooWide(5000), "{too_wide}");
}

/// A nested member and a dotted key of the same name keep both values (probe 49d 3: one
/// was dropped without a word).
#[test]
fn json_names_met_twice_keep_both_values() {
    let text = r#"[{"id": 1, "addr": {"city": "X"}}, {"id": 2, "addr": {"city": "Y"}, "addr.city": "dup"}]"#;
    let (labels, rows, _, _) = read(text.as_bytes(), "clash.json");
    assert_eq!(labels, strings(&["id", "addr.city", "addr.city (2)"]));
    assert_eq!(rows[1], strings(&["2", "Y", "dup"]));
    assert_eq!(rows[0], strings(&["1", "X", ""]));
}

/// The nested member keeps the plain name whichever comes first in a record, so one
/// column never mixes the two (probe 51a F4).
#[test]
fn json_clashes_settle_the_same_way_in_every_record() {
    let text = r#"[{"addr.city": "dup", "addr": {"city": "Y"}}, {"addr": {"city": "X"}, "addr.city": "d2"}]"#;
    let (labels, rows, _, _) = read(text.as_bytes(), "order.json");
    assert_eq!(labels, strings(&["addr.city (2)", "addr.city"]));
    assert_eq!(rows, [strings(&["dup", "Y"]), strings(&["d2", "X"])]);
}

/// One name met tens of thousands of times in a record is named in one pass, not by a
/// search from `(2)` each time (probe 51a F1: a 524 KB file held a worker for 11 minutes),
/// and the record is then too wide to read.
#[test]
fn a_name_met_thousands_of_times_is_named_at_once() {
    // Every way of nesting `s0.s1...s14`: 16,384 members of one flattened name.
    fn ways(from: usize, last: usize) -> String {
        let members: Vec<String> = (from..=last)
            .map(|to| {
                let key: Vec<String> = (from..=to).map(|i| format!("s{i}")).collect();
                let value = if to == last {
                    "1".to_string()
                } else {
                    ways(to + 1, last)
                };
                format!("\"{}\": {value}", key.join("."))
            })
            .collect();
        format!("{{{}}}", members.join(","))
    }
    let text = format!("[{}]", ways(0, 14));
    let started = std::time::Instant::now();
    let (_dir, path) = super::tests_hardening::file_with(text.as_bytes(), "many.json");
    let e = super::open(&path, "many.json").err().expect("too wide");
    assert!(matches!(e, ExtractError::TooWide(16_384)), "{e}");
    // And an object of 100,000 keys is read in one pass too, to its first 10,000 members.
    let members: Vec<String> = (0..100_000).map(|i| format!("\"k{i}\": {i}")).collect();
    let text = format!("[{{{}}}]", members.join(","));
    let (_dir, path) = super::tests_hardening::file_with(text.as_bytes(), "wide.json");
    let e = super::open(&path, "wide.json").err().expect("too wide");
    assert!(matches!(e, ExtractError::TooWide(10_000)), "{e}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// Sizes in messages are the sizes, not rounded down to a KB that reads as within the
/// limit (probe 49d 8: a 2,000-byte key was "1 KB long").
#[test]
fn size_messages_say_the_size() {
    let text = format!(r#"[{{"id": 1, "{}": 2}}]"#, "x".repeat(2000));
    let (_dir, path) = super::tests_hardening::file_with(text.as_bytes(), "long.json");
    let e = super::open(&path, "long.json").err().expect("refused");
    assert!(e.to_string().contains("2,000 bytes long"), "{e}");
    assert!(e.to_string().contains("limited to 1,024 bytes"), "{e}");
}
