//! Hostile and awkward files: each reader bounded, values as written, clear messages.

use super::*;
use std::io::Write;

pub(super) fn file_with(bytes: &[u8], name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
    (dir, path)
}

/// Labels, rows, rejects and notes of the first table of a file.
pub(super) fn read(bytes: &[u8], name: &str) -> (Vec<String>, Vec<Vec<String>>, Vec<Reject>, Vec<String>) {
    let (_dir, path) = file_with(bytes, name);
    let mut ex = open(&path, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let table = ex.tables.remove(0);
    let labels = table.columns.iter().map(|c| c.label.clone()).collect();
    let (mut rows, mut rejects) = (vec![], vec![]);
    for r in table.rows {
        match r {
            Ok(row) => rows.push(row.values),
            Err(rej) => rejects.push(rej),
        }
    }
    (labels, rows, rejects, ex.notes.list())
}

pub(super) fn fail(bytes: &[u8], name: &str) -> ExtractError {
    let (_dir, path) = file_with(bytes, name);
    match open(&path, name) {
        Ok(_) => panic!("{name} should fail"),
        Err(e) => e,
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A zip of the given (name, bytes) parts, deflated.
pub fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for (name, bytes) in parts {
        zip.start_file(*name, opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    buf.into_inner()
}

/// Rewrites the uncompressed size every header of the zip's first part declares.
pub fn lie_about_size(zip: &mut [u8], claimed: u32) {
    zip[22..26].copy_from_slice(&claimed.to_le_bytes());
    let central = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    zip[central + 24..central + 28].copy_from_slice(&claimed.to_le_bytes());
}

#[test]
fn a_sparse_sheet_is_read_cell_by_cell() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write(0, 0, "name").unwrap();
    sheet.write(1, 0, "Ada").unwrap();
    sheet.write(1_048_575, 16_383, "far").unwrap();
    let (labels, rows, rejects, _) = read(&book.save_to_buffer().unwrap(), "sparse.xlsx");
    assert_eq!(labels, strings(&["name"]));
    assert_eq!(rows, vec![strings(&["Ada"])]);
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].line, 1_048_576);
    assert!(
        rejects[0].message.contains("column 16384"),
        "{}",
        rejects[0].message
    );
}

#[test]
fn a_zip_that_lies_about_its_sizes_is_measured_as_it_inflates() {
    let zeros = vec![b'<'; 64 * 1024 * 1024];
    let mut zip = zip_of(&[
        ("xl/worksheets/sheet1.xml", &zeros),
        ("[Content_Types].xml", b"<Types/>"),
    ]);
    lie_about_size(&mut zip, 1000);
    assert!(matches!(fail(&zip, "liar.xlsx"), ExtractError::Bomb(_)));
}

#[test]
fn many_honest_parts_count_together() {
    let part = vec![b'x'; 3 * 1024 * 1024];
    let names: Vec<String> = (0..20).map(|i| format!("xl/media/image{i}.bin")).collect();
    let parts: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), part.as_slice())).collect();
    let zip = zip_of(&parts);
    assert!(zip.len() < 1024 * 1024);
    assert!(matches!(fail(&zip, "parts.xlsx"), ExtractError::Bomb(_)));
}

#[test]
fn an_ods_that_repeats_a_cell_without_end_is_refused() {
    let content = br#"<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="Big"><table:table-row table:number-rows-repeated="1000000"><table:table-cell office:value-type="string" table:number-columns-repeated="16384"><text:p>x</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#;
    let zip = zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        ("content.xml", content),
    ]);
    let e = fail(&zip, "big.ods");
    assert!(
        e.to_string()
            .starts_with("sheet Big claims 1,000,000 rows by 16,384 columns"),
        "{e}"
    );
}

/// 6,001 rows by 1,000 columns of a long text: far under the cell limit, over the text
/// limit, and the refusal names the limit that was met.
#[test]
fn an_ods_repeating_long_text_names_the_text_limit() {
    let text = "y".repeat(200);
    let content = format!(
        r#"<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="Wide"><table:table-row table:number-rows-repeated="6001"><table:table-cell office:value-type="string" table:number-columns-repeated="1000"><text:p>{text}</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let zip = zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        ("content.xml", content.as_bytes()),
    ]);
    let e = fail(&zip, "wide.ods");
    assert!(
        e.to_string()
            .starts_with("sheet Wide repeats its cells into more than 64 MB"),
        "{e}"
    );
}

#[test]
fn an_xls_claiming_a_huge_sheet_is_refused() {
    // A BIFF8 stream: globals, then a sheet with cells at A1 and IV65536.
    let record = |typ: u16, data: &[u8]| {
        let mut r = typ.to_le_bytes().to_vec();
        r.extend((data.len() as u16).to_le_bytes());
        r.extend(data);
        r
    };
    let bof = record(0x0809, &[0, 6, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let number = |row: u16, col: u16| {
        let mut d = row.to_le_bytes().to_vec();
        d.extend(col.to_le_bytes());
        d.extend([0, 0]);
        d.extend(1.0f64.to_le_bytes());
        record(0x0203, &d)
    };
    // The globals name the sheet that follows them (BOUNDSHEET: its offset).
    let globals_len = bof.len() + 4 + 10 + 4;
    let mut boundsheet = (globals_len as u32).to_le_bytes().to_vec();
    boundsheet.extend([0, 0, 2, 0, b'H', b'S']);
    let mut stream = Vec::new();
    stream.extend(&bof);
    stream.extend(record(0x0085, &boundsheet));
    stream.extend(record(0x000A, &[]));
    stream.extend(&bof);
    stream.extend(record(
        0x0200,
        &[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0xFF, 0, 0, 0],
    ));
    stream.extend(number(0, 0));
    stream.extend(number(65535, 255));
    stream.extend(record(0x000A, &[]));
    let mut compound = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    compound
        .create_stream("/Workbook")
        .unwrap()
        .write_all(&stream)
        .unwrap();
    compound.flush().unwrap();
    let bytes = compound.into_inner().into_inner();
    let e = fail(&bytes, "huge.xls");
    assert!(e.to_string().contains("65,536 rows by 256 columns"), "{e}");
}

#[test]
fn nul_characters_become_replacement_characters_and_are_noted() {
    let mut text = String::from("name,note\n");
    while text.len() < 70 * 1024 {
        text.push_str("Ada,fine\n");
    }
    text.push_str("Bob,a\0b\n");
    let (_, rows, _, notes) = read(text.as_bytes(), "nul.csv");
    assert_eq!(rows.last().unwrap(), &strings(&["Bob", "a\u{FFFD}b"]));
    assert!(notes.iter().any(|n| n.contains("1 NUL character")), "{notes:?}");
    let (labels, rows, _, notes) = read(br#"[{"na\u0000me": "x\u0000y"}]"#, "nul.json");
    assert_eq!(labels, strings(&["na\u{FFFD}me"]));
    assert_eq!(rows, vec![strings(&["x\u{FFFD}y"])]);
    assert!(notes.iter().any(|n| n.contains("2 NUL character")), "{notes:?}");
    // A remark quoting a name with NUL in it is stored like any value.
    let remarks = Notes::default();
    remarks.add("sheet a\0b is hidden".into());
    assert_eq!(remarks.list(), vec!["sheet a\u{FFFD}b is hidden".to_string()]);
}

#[test]
fn a_header_with_fewer_cells_than_the_data_is_still_the_header() {
    let (labels, rows, _, notes) = read(b",name,age\n0,Ada,36\n1,Bob,41\n", "pandas.csv");
    assert_eq!(labels, strings(&["Column 1", "name", "age"]));
    assert_eq!(
        rows,
        vec![strings(&["0", "Ada", "36"]), strings(&["1", "Bob", "41"])]
    );
    assert!(notes.is_empty(), "{notes:?}");
    let (labels, rows, _, _) = read(b"name,,email\nAda,36,ada@x.org\nBob,41,bob@x.org\n", "gap.csv");
    assert_eq!(labels, strings(&["name", "Column 2", "email"]));
    assert_eq!(rows.len(), 2);
    let (labels, rows, _, _) = read(b"name,email,\nAda,ada@x.org,1\nBob,bob@x.org,2\n", "tail.csv");
    assert_eq!(labels, strings(&["name", "email", "Column 3"]));
    assert_eq!(rows.len(), 2);
    let text = b"Exported:,2024-01-05\nname,,email\nAda,36,ada@x.org\nBob,41,bob@x.org\n";
    let (labels, rows, _, notes) = read(text, "titled.csv");
    assert_eq!(labels, strings(&["name", "Column 2", "email"]));
    assert_eq!(rows[0], strings(&["Ada", "36", "ada@x.org"]));
    assert!(
        notes.iter().any(|n| n.contains("row 2 was taken as the header")),
        "{notes:?}"
    );
}

#[test]
fn formats_are_told_by_their_bytes_not_their_names() {
    let (labels, rows, _, _) = read(b"a,b\n1,2\n", "really-a.xlsx");
    assert_eq!((labels, rows), (strings(&["a", "b"]), vec![strings(&["1", "2"])]));
    let (labels, rows, _, _) = read(br#"[{"name":"Ada"}]"#, "really-json.csv");
    assert_eq!((labels, rows), (strings(&["name"]), vec![strings(&["Ada"])]));
    let (labels, _, _, _) = read(b"{\"a\":1}\n{\"a\":2}\n", "lines.csv");
    assert_eq!(labels, strings(&["a"]));
    let (labels, _, _, _) = read(b"a;b\n1;2\n", "really-csv.xls");
    assert_eq!(labels, strings(&["a", "b"]));
    let mut sealed = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    sealed
        .create_stream("/EncryptedPackage")
        .unwrap()
        .write_all(b"...")
        .unwrap();
    sealed.flush().unwrap();
    assert_eq!(
        fail(&sealed.into_inner().into_inner(), "secret.xlsx"),
        ExtractError::Encrypted
    );
    let html = b"<!DOCTYPE html><html><body><table><tr><td>a</td></tr></table></body></html>";
    assert_eq!(fail(html, "export.xls"), ExtractError::WebPage);
    assert!(fail(html, "export.xls").to_string().contains("web page"));
    let docx = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", b"<w/>"),
    ]);
    assert!(fail(&docx, "letter.xlsx").to_string().contains("a Word document"));
    assert!(fail(b"%PDF-1.4 ...", "scan.csv").to_string().contains("PDF"));
    // An ODS saved with a password: its manifest ciphers content.xml (probe 71c D2).
    let sealed_ods = zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        (
            "META-INF/manifest.xml",
            b"<manifest:manifest><manifest:file-entry manifest:full-path=\"content.xml\"><manifest:encryption-data/></manifest:file-entry></manifest:manifest>",
        ),
        ("content.xml", b"\x8f\x01&#\xfe not xml"),
    ]);
    assert_eq!(fail(&sealed_ods, "secret.ods"), ExtractError::Encrypted);
}

/// Text that only starts like another format is read as the CSV it is: a header in angle
/// brackets, a first header starting `[2020]`, a short file with one stray NUL or two
/// control characters. XML, JSON rows and binary data are still told apart.
#[test]
fn csv_that_starts_like_another_format_is_read_as_csv() {
    for (bytes, name, first, rows_read) in [
        (&b"<Customer ID>,Name\n1,Bob\n"[..], "lt.csv", "<Customer ID>", 1),
        (b"<=50K,income\n1,2\n", "census.csv", "<=50K", 1),
        (b"[2020] Revenue,Cost\n1,2\n", "yr.csv", "[2020] Revenue", 1),
        (b"[1],b\n1,2\n", "ids.txt", "[1]", 1),
        (b"name,city\nAda,Lon\x00don\nBob,Paris\n", "x.csv", "name", 2),
        (b"name,city\nAda,Lon\x01\x02don\nBob,Paris\n", "y.csv", "name", 2),
    ] {
        let (labels, rows, _, _) = read(bytes, name);
        assert_eq!(labels[0], first, "{name}");
        assert_eq!(rows.len(), rows_read, "{name}");
    }
    assert!(fail(b"<?xml version=\"1.0\"?><a/>", "data.csv")
        .to_string()
        .contains("XML"));
    assert!(fail(b"<root>\n  <row>1</row>\n</root>", "data.csv")
        .to_string()
        .contains("XML"));
    assert_eq!(fail(&[0u8; 64], "zeros.csv"), ExtractError::NotText);
    // UTF-32 is said to be so, not binary (probe 71c D7).
    let mut utf32 = vec![0xFF, 0xFE, 0, 0];
    utf32.extend(
        "name,city\nZoë,Köln\n"
            .chars()
            .flat_map(|c| (c as u32).to_le_bytes()),
    );
    assert_eq!(fail(&utf32, "u32.csv"), ExtractError::Utf32);
}

#[test]
fn an_ods_named_xlsx_is_read_as_ods() {
    let content = br#"<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="T"><table:table-row><table:table-cell office:value-type="string"><text:p>City</text:p></table:table-cell></table:table-row><table:table-row><table:table-cell office:value-type="time" office:time-value="PT12H30M00S"><text:p>12:30</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#;
    let manifest = br#"<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>"#;
    let zip = zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        ("META-INF/manifest.xml", manifest),
        ("content.xml", content),
    ]);
    let (labels, rows, _, _) = read(&zip, "book.xlsx");
    assert_eq!(labels, strings(&["City"]));
    assert_eq!(rows, vec![strings(&["12:30:00"])]);
}

#[test]
fn json_without_fields_says_so() {
    for text in ["[1,2,3]", "[{},{}]", "[null]", "{}\n{}\n"] {
        let name = if text.starts_with('{') {
            "e.jsonl"
        } else {
            "e.json"
        };
        assert_eq!(fail(text.as_bytes(), name), ExtractError::NoFields, "{text}");
    }
    assert!(ExtractError::NoFields.to_string().contains("{\"name\": \"Ada\"}"));
}

#[test]
fn json_is_decoded_like_delimited_text() {
    let (labels, rows, _, _) = read("\u{FEFF}[{\"name\":\"José\"}]".as_bytes(), "bom.json");
    assert_eq!((labels, rows), (strings(&["name"]), vec![strings(&["José"])]));
    let mut utf16 = vec![0xFF, 0xFE];
    for u in "[{\"name\":\"José\"}]".encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    let (_, rows, _, _) = read(&utf16, "u16.json");
    assert_eq!(rows, vec![strings(&["José"])]);
    let (_, rows, rejects, _) = read("\u{FEFF}{\"a\":1}\n{\"a\":2}\n".as_bytes(), "bom.jsonl");
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(rows, vec![strings(&["1"]), strings(&["2"])]);
    let (_, rows, rejects, _) = read(b"{\"city\":\"Z\xFCrich\"}\n{\"city\":\"Oslo\"}\n", "latin.jsonl");
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(rows[0], strings(&["Zürich"]));
}

#[test]
fn json_values_are_kept_as_written_within_the_same_limits() {
    let text = r#"[{"a": 1.50, "b": 1e2, "c": 12345678901234567890123, "d": {"x": [1, 2.0]}, "e": true}]"#;
    let (labels, rows, _, _) = read(text.as_bytes(), "n.json");
    assert_eq!(labels, strings(&["a", "b", "c", "d.x", "e"]));
    assert_eq!(
        rows,
        vec![strings(&[
            "1.50",
            "1e2",
            "12345678901234567890123",
            "[1,2.0]",
            "true"
        ])]
    );
    let big = format!(
        r#"[{{"a": "{}"}}, {{"a": "ok"}}]"#,
        "x".repeat(MAX_CELL_BYTES + 1)
    );
    let (_, rows, rejects, _) = read(big.as_bytes(), "big.json");
    assert_eq!(rows, vec![strings(&["ok"])]);
    assert!(
        rejects[0].message.contains("a cell holds at most"),
        "{}",
        rejects[0].message
    );
    let long_key = format!(r#"[{{"{}": 1}}, {{"a": 2}}]"#, "k".repeat(5000));
    assert_eq!(
        fail(long_key.as_bytes(), "k.json"),
        ExtractError::KeyTooLong(5000)
    );
}

#[test]
fn lines_are_counted_in_files_with_cr_line_endings() {
    let (_, rows, rejects, _) = read(b"a,b\r1,2\r3,4,5\r6,7\r8,9,10,11\r", "mac.csv");
    assert_eq!(rows.len(), 2);
    let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![3, 5]);
    let (_, _, rejects, _) = read(b"a,b\r\n\"x\ry\",2\r\n3,4,5\n", "mixed.csv");
    assert_eq!(rejects[0].line, 4);
}

/// A one-sheet XLSX whose sheetData is `rows` (cells with inline strings, values, formulas).
fn xlsx_with(rows: &str) -> Vec<u8> {
    xlsx_book(&[("S", rows)])
}

/// An XLSX book of these sheets (name, rows' XML), in order.
pub(super) fn xlsx_book(sheets: &[(&str, &str)]) -> Vec<u8> {
    xlsx_book_with(sheets, &[], |i| format!("worksheets/sheet{i}.xml"))
}

/// A book of these sheets whose `i`th sheet (from 1) is the part `target(i)` names (under
/// `xl/`), with `extra` parts beside.
pub(super) fn xlsx_book_with(
    sheets: &[(&str, &str)],
    extra: &[(&str, &[u8])],
    target: impl Fn(usize) -> String,
) -> Vec<u8> {
    let entries: String = (1..=sheets.len())
        .map(|i| {
            format!(
                r#"<sheet name="{}" sheetId="{i}" r:id="rId{i}"/>"#,
                sheets[i - 1].0
            )
        })
        .collect();
    let rels: String = (1..=sheets.len())
        .map(|i| format!(r#"<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="{}"/>"#, target(i)))
        .collect();
    let book = format!(
        r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{entries}</sheets></workbook>"#
    );
    let book_rels = format!(
        r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
    );
    let names: Vec<String> = (1..=sheets.len())
        .map(|i| format!("xl/worksheets/sheet{i}.xml"))
        .collect();
    let xml: Vec<String> = sheets
        .iter()
        .map(|(_, rows)| format!(r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#))
        .collect();
    let mut parts: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#),
        ("_rels/.rels", br#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#),
        ("xl/workbook.xml", book.as_bytes()),
        ("xl/_rels/workbook.xml.rels", book_rels.as_bytes()),
    ];
    parts.extend(
        names
            .iter()
            .map(String::as_str)
            .zip(xml.iter().map(String::as_bytes)),
    );
    parts.extend_from_slice(extra);
    zip_of(&parts)
}

#[test]
fn spreadsheet_values_read_as_the_spreadsheet_shows_them() {
    let cells = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>ratio</t></is></c><c r="B1" t="inlineStr"><is><t>sum</t></is></c></row><row r="2"><c r="A2" t="e"><v>#DIV/0!</v></c><c r="B2"><f>SUM(C1:C9)</f></c></row><row r="3"><c r="A3"><v>1</v></c><c r="B3"><f>A3*2</f><v>2</v></c></row>"#;
    let (_, rows, _, notes) = read(&xlsx_with(cells), "values.xlsx");
    assert_eq!(rows, vec![strings(&["#DIV/0!", ""]), strings(&["1", "2"])]);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("1 formula had no saved value")),
        "{notes:?}"
    );
    let mut book = rust_xlsxwriter::Workbook::new();
    let time = rust_xlsxwriter::Format::new().set_num_format("hh:mm:ss");
    let hours = rust_xlsxwriter::Format::new().set_num_format("[h]:mm");
    let sheet = book.add_worksheet();
    sheet.write(0, 0, "time").unwrap();
    sheet.write(0, 1, "hours").unwrap();
    sheet.write_number_with_format(1, 0, 0.5, &time).unwrap();
    sheet.write_number_with_format(1, 1, 1.5, &hours).unwrap();
    let (_, rows, _, _) = read(&book.save_to_buffer().unwrap(), "times.xlsx");
    assert_eq!(rows, vec![strings(&["12:00:00", "36:00:00"])]);
}

#[test]
fn hidden_sheets_are_extracted_and_said_so_and_leading_blank_columns_dropped() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let shown = book.add_worksheet().set_name("Shown").unwrap();
    shown.write(3, 2, "name").unwrap();
    shown.write(4, 2, "Ada").unwrap();
    let hidden = book.add_worksheet().set_name("Secret").unwrap();
    hidden.write(0, 0, "x").unwrap();
    hidden.write(1, 0, "1").unwrap();
    hidden.set_hidden(true);
    let bytes = book.save_to_buffer().unwrap();
    let (_dir, path) = file_with(&bytes, "book.xlsx");
    let ex = open(&path, "book.xlsx").unwrap();
    assert_eq!(ex.tables.len(), 2);
    let labels: Vec<&str> = ex.tables[0].columns.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, vec!["name"]);
    let notes = ex.notes.list();
    assert!(
        notes.contains(&"sheet Secret is hidden in the file; it was extracted too".to_string()),
        "{notes:?}"
    );
}

#[test]
fn json_and_spreadsheets_tell_how_far_they_have_read() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write(0, 0, "n").unwrap();
    for r in 1..=4000u32 {
        sheet.write(r, 0, r).unwrap();
    }
    let (_dir, path) = file_with(&book.save_to_buffer().unwrap(), "long.xlsx");
    let mut ex = open(&path, "long.xlsx").unwrap();
    let table = ex.tables.remove(0);
    let done = table.done.clone();
    let mut rows = table.rows;
    rows.by_ref().take(1000).for_each(drop);
    let part = done.load(Ordering::Relaxed) as f64 / 1e6;
    assert!(part > 0.2 && part < 0.6, "{part}");
    rows.for_each(drop);
    assert!(done.load(Ordering::Relaxed) > 990_000);

    let items: Vec<String> = (0..20_000).map(|i| format!("{{\"n\":{i}}}")).collect();
    let text = format!("[{}]", items.join(","));
    let (_dir, path) = file_with(text.as_bytes(), "long.json");
    let mut ex = open(&path, "long.json").unwrap();
    let mut rows = ex.tables.remove(0).rows;
    rows.by_ref().take(5000).for_each(drop);
    let part = fraction_read(&ex.bytes_read, text.len() as u64);
    assert!(part > 0.1 && part < 0.7, "{part}");
}

#[test]
fn a_tiny_file_of_endlessly_repeated_rows_is_refused() {
    let rows = "<row><c><v>1</v></c></row>".repeat(200_000);
    let bytes = xlsx_with(&rows);
    assert!(bytes.len() < 64 * 1024, "{}", bytes.len());
    assert!(matches!(fail(&bytes, "rows.xlsx"), ExtractError::Bomb(_)));
}

#[test]
fn rows_that_cannot_be_read_are_not_gathered_while_the_header_is_looked_for() {
    let gathered = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = gathered.clone();
    let rows = (0..100_000u64).map(move |line| {
        counter.fetch_add(1, Ordering::Relaxed);
        Err(Reject {
            line,
            message: "bad".into(),
            values: vec![],
        })
    });
    let _ = header::tabulate("t".into(), Box::new(rows), &Notes::default());
    assert!(gathered.load(Ordering::Relaxed) <= 1001, "{gathered:?}");
}

#[test]
fn formulas_are_defused_but_numbers_are_not() {
    use super::safe_cell;
    assert_eq!(safe_cell("=SUM(A1)"), "'=SUM(A1)");
    assert_eq!(safe_cell("@cmd"), "'@cmd");
    assert_eq!(safe_cell("-5"), "-5");
    assert_eq!(safe_cell("+1.5e3"), "+1.5e3");
    assert_eq!(safe_cell("plain"), "plain");
    // Words Rust reads as numbers are formulas to a spreadsheet (probe 49b 4).
    for word in ["-inf", "-Infinity", "+NaN"] {
        assert_eq!(safe_cell(word), format!("'{word}"));
    }
}

/// A Ctrl-Z alone on the last line (the end-of-file mark of DOS tools) is no record
/// (probe 49d 9); one inside a value stays.
#[test]
fn a_dos_end_of_file_mark_is_no_record() {
    let (labels, rows, rejects, _) = read(b"\xef\xbb\xbfname,city\r\nAnn,Paris\r\n\x1a", "eof.csv");
    assert_eq!(labels, ["name", "city"]);
    assert_eq!(rows, [strings(&["Ann", "Paris"])]);
    assert!(rejects.is_empty());
    let (_, rows, _, _) = read(b"name,city\nAnn,a\x1ab\n", "inside.csv");
    assert_eq!(rows, [strings(&["Ann", "a\u{1a}b"])]);
}

/// `NaN` and `Infinity`, as Python's `json.dumps` writes them, are read as the texts they
/// spell, in a JSON file and in JSON Lines (probe 58d F6: "damaged or cut off", and the
/// whole line rejected).
#[test]
fn python_nan_and_infinity_are_read_as_text() {
    let (labels, rows, rejects, _) = read(br#"[{"a":NaN,"b":-Infinity},{"a":1,"b":2}]"#, "py.json");
    assert_eq!(labels, ["a", "b"]);
    assert_eq!(rows, [["NaN", "-Infinity"], ["1", "2"]]);
    assert!(rejects.is_empty(), "{rejects:?}");
    let (_, rows, rejects, _) = read(b"{\"a\":1,\"b\":NaN}\n{\"a\":2,\"b\":3}\n", "py.jsonl");
    assert_eq!(rows, [["1", "NaN"], ["2", "3"]]);
    assert!(rejects.is_empty(), "{rejects:?}");
}
