//! A small zip-based spreadsheet that would make the reader build something huge is
//! refused, or read once, before it costs more than its size explains (probe 67a).

use super::tests_books::row;
use super::tests_hardening::{fail, read, xlsx_book_with, zip_of};
use super::ExtractError;

fn styles(code: &str, xfs: usize) -> String {
    let xf = r#"<xf numFmtId="164" fontId="0" applyNumberFormat="1"/>"#.repeat(xfs);
    format!(
        r#"<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="{code}"/></numFmts><cellXfs count="{xfs}"><xf numFmtId="0"/>{xf}</cellXfs></styleSheet>"#
    )
}

/// D1: one long format used by many styles (calamine reads the code once a style) is
/// refused before the book is opened, saying why.
#[test]
fn a_book_whose_styles_repeat_a_huge_format_is_refused() {
    let rows = format!("{}{}", row(1, &["zip"]), row(2, &["1"]));
    let bomb = styles(&"0".repeat(60_000), 1_000);
    let bytes = xlsx_book_with(&[("S", &rows)], &[("xl/styles.xml", bomb.as_bytes())], |i| {
        format!("worksheets/sheet{i}.xml")
    });
    let message = fail(&bytes, "styles.xlsx").to_string();
    assert!(
        message.contains("characters of number formats, far more than Excel writes"),
        "{message}"
    );
}

/// D2: a zero-padding format longer than any number is no padding: the cell reads as its
/// number, and the worker does not panic.
#[test]
fn a_padding_format_of_more_slots_than_digits_reads_the_number() {
    let sheet = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>zip</t></is></c></row><row r="2"><c r="A2" s="1"><v>1234</v></c></row>"#;
    let long = styles(&"0".repeat(70_000), 1);
    let bytes = xlsx_book_with(&[("S", sheet)], &[("xl/styles.xml", long.as_bytes())], |i| {
        format!("worksheets/sheet{i}.xml")
    });
    let (_, rows, _, _) = read(&bytes, "long.xlsx");
    assert_eq!(rows, [["1234"]]);
}

/// D4: sheets naming one part are read once, and the notes say so.
#[test]
fn sheets_of_one_part_are_read_once() {
    let rows = format!("{}{}", row(1, &["name"]), row(2, &["Ada"]));
    let sheets: Vec<(String, &str)> = (1..=5).map(|i| (format!("S{i}"), rows.as_str())).collect();
    let sheets: Vec<(&str, &str)> = sheets.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    let bytes = xlsx_book_with(&sheets, &[], |i| match i {
        1 => "worksheets/sheet1.xml".into(),
        // As calamine reads targets: under `xl/` unless written with it, in any case.
        2 => "xl/worksheets/sheet1.xml".into(),
        3 => "/xl/worksheets/SHEET1.xml".into(),
        i => format!("worksheets/sheet{i}.xml"),
    });
    let (_dir, path) = super::tests_hardening::file_with(&bytes, "shared.xlsx");
    let ex = super::open(&path, "shared.xlsx").unwrap();
    let names: Vec<&str> = ex.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["S1", "S4", "S5"]);
    let notes = ex.notes.list();
    assert!(
        notes
            .iter()
            .any(|n| n
                .contains("sheets “S2” and “S3” are the same part of the file as “S1”; only “S1” was read")),
        "{notes:?}"
    );
}

/// Relationships after the part's closing tag count for nothing, as calamine reads them
/// (probe 67h D2: ours read on, saw two parts, and calamine read one part twice).
#[test]
fn relationships_after_the_closing_tag_are_not_read() {
    let rows = format!("{}{}", row(1, &["name"]), row(2, &["Ada"]));
    let bytes = xlsx_book_with(&[("S1", &rows), ("S2", &rows)], &[], |i| match i {
        2 => {
            r#"worksheets/sheet1.xml"/></Relationships><Relationship Id="rId2" Target="worksheets/sheet2.xml"#
                .into()
        }
        i => format!("worksheets/sheet{i}.xml"),
    });
    let (_dir, path) = super::tests_hardening::file_with(&bytes, "afterrels.xlsx");
    let ex = super::open(&path, "afterrels.xlsx").unwrap();
    let names: Vec<&str> = ex.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["S1"], "{:?}", ex.notes.list());
}

/// D5: a zip of more parts than a spreadsheet holds is refused, and one whose directory
/// is bigger than any spreadsheet's is refused while it is listed, whatever its end record
/// says it holds (probe 67e D1: a file that said 5 parts listed a million).
#[test]
fn a_zip_of_too_many_parts_is_refused() {
    let names: Vec<String> = (0..super::zip_limits::MOST_PARTS + 1)
        .map(|i| format!("p/{i}"))
        .collect();
    let mut parts: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    parts.push(("[Content_Types].xml", b"<Types/>"));
    let message = fail(&zip_of(&parts), "parts.xlsx").to_string();
    assert!(
        message.contains("lists more parts than a spreadsheet does"),
        "{message}"
    );

    let names: Vec<String> = (0..100_000).map(|i| format!("{i:x}")).collect();
    let parts: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let mut lying = zip_of(&parts);
    let end = lying.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    lying[end + 10..end + 12].copy_from_slice(&5u16.to_le_bytes());
    let message = fail(&lying, "lying.xlsx").to_string();
    assert!(
        message.contains("lists more parts than a spreadsheet does"),
        "{message}"
    );
}

/// An ODS of one table whose rows are `rows` (cells of `table:table-row`s).
fn ods_of(rows: &str) -> Vec<u8> {
    let content = format!(
        r#"<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="T"><table:table-row><table:table-cell office:value-type="string"><text:p>name</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>note</text:p></table:table-cell></table:table-row>{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let manifest = br#"<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>"#;
    zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        ("META-INF/manifest.xml", manifest),
        ("content.xml", content.as_bytes()),
    ])
}

fn cell(inner: &str) -> String {
    format!(r#"<table:table-cell office:value-type="string"><text:p>{inner}</text:p></table:table-cell>"#)
}

/// Probe 78a D1: a `<text:s text:c=N/>` stands for N spaces, which calamine builds: an
/// 805-byte file took the server to 3 GB. Counted as the cell's text, it is refused first;
/// a few spaces still read.
#[test]
fn an_ods_whose_spaces_stand_for_gigabytes_is_refused() {
    let huge = ods_of(&format!(
        "<table:table-row>{}{}</table:table-row>",
        cell("ann"),
        cell(r#"x<text:s text:c="1000000000"/>y"#)
    ));
    assert!(huge.len() < 2_000);
    assert!(matches!(
        fail(&huge, "spaces.ods"),
        ExtractError::LongValue { .. }
    ));
    // Under a cell's limit each, but ten repeats of 10 MB of spaces in a tiny file.
    let repeated = ods_of(&format!(
        r#"<table:table-row>{}<table:table-cell office:value-type="string" table:number-columns-repeated="10"><text:p>x<text:s text:c="10000000"/></text:p></table:table-cell></table:table-row>"#,
        cell("ann")
    ));
    let said = fail(&repeated, "repeated.ods").to_string();
    assert!(said.contains("repeats its cells into more than 64 MB"), "{said}");
    let fine = ods_of(&format!(
        "<table:table-row>{}{}</table:table-row>",
        cell("ann"),
        cell(r#"x<text:s text:c="3"/>y"#)
    ));
    let (_, rows, _, _) = read(&fine, "fine.ods");
    assert_eq!(rows, [["ann", "x   y"]]);
}

/// Probe 78a D2: a value given in a cell's attribute (`office:string-value`) and repeated
/// across columns or rows counts too: 900 KB repeated 2,000 times took 5.4 GB, 200 rows of
/// it wrote 180 MB of records from a 1.7 KB file.
#[test]
fn an_ods_repeating_a_value_given_in_an_attribute_is_refused() {
    let long = "a".repeat(900_000);
    let across = ods_of(&format!(
        r#"<table:table-row><table:table-cell office:value-type="string" office:string-value="{long}" table:number-columns-repeated="2000"/></table:table-row>"#
    ));
    assert!(across.len() < 5_000, "{}", across.len());
    let said = fail(&across, "across.ods").to_string();
    assert!(said.contains("repeats its cells into more than"), "{said}");
    let down = ods_of(&format!(
        r#"<table:table-row table:number-rows-repeated="200">{}<table:table-cell office:value-type="string" office:string-value="{long}"/></table:table-row>"#,
        cell("x")
    ));
    let said = fail(&down, "down.ods").to_string();
    assert!(said.contains("repeats its cells into more than 64 MB"), "{said}");
}

/// Probe 78a D3: a shared-string cell whose index is no whole number (`-1`, `1.9`, `abc`)
/// is refused, not read as the first shared string; a good index still reads.
#[test]
fn a_shared_string_index_that_is_no_number_is_refused() {
    let sst = br#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>first</t></si><si><t>second</t></si></sst>"#;
    let book = |index: &str| {
        let rows = format!(
            r#"{}<row r="2"><c r="A2" t="s"><v>{index}</v></c></row>"#,
            row(1, &["name"])
        );
        xlsx_book_with(&[("S", &rows)], &[("xl/sharedStrings.xml", sst)], |i| {
            format!("worksheets/sheet{i}.xml")
        })
    };
    for index in ["-1", "1.9", "abc"] {
        let said = fail(&book(index), "odd.xlsx").to_string();
        assert!(
            said.contains("no index into the file's shared strings"),
            "{index}: {said}"
        );
    }
    let (_, rows, _, _) = read(&book("1"), "fine.xlsx");
    assert_eq!(rows, [["second"]]);
}
/// Probe 79a D1: cells calamine builds that an earlier measure missed, read as it reads
/// them: empty rows written as `<table:table-row .../>` between wide rows, a value given
/// only by an attribute without `office:value-type`, a formula alone. And D2: a template of
/// 20,000 rows of zeros (600,000 numbers, a few MB once read) is read, not refused.
#[test]
fn an_ods_is_measured_as_calamine_reads_it() {
    let wide = r#"<table:table-row><table:table-cell office:value-type="float" office:value="1" table:number-columns-repeated="1000"/></table:table-row>"#;
    let gap = ods_of(&format!(
        r#"{wide}<table:table-row table:number-rows-repeated="20000"/>{wide}"#
    ));
    assert!(matches!(
        fail(&gap, "gap.ods"),
        ExtractError::SheetTooLarge { .. }
    ));
    let long = "x".repeat(200);
    for attribute in [
        format!("office:string-value=\"{long}\""),
        format!("table:formula=\"of:={long}\""),
    ] {
        let repeated = ods_of(&format!(
            r#"<table:table-row table:number-rows-repeated="500"><table:table-cell {attribute} table:number-columns-repeated="5000"/></table:table-row>"#
        ));
        assert!(repeated.len() < 2_000);
        let said = fail(&repeated, "attr.ods").to_string();
        assert!(said.contains("repeats its cells into more than 64 MB"), "{said}");
    }
    let zeros = r#"<table:table-cell office:value-type="float" office:value="0" table:number-columns-repeated="2"><text:p>0</text:p></table:table-cell>"#;
    let template = ods_of(&format!(
        r#"<table:table-row table:number-rows-repeated="20000">{zeros}</table:table-row>"#
    ));
    let (_, rows, _, _) = read(&template, "zeros.ods");
    assert_eq!(rows.len(), 20_000);
}
