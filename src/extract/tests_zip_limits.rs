//! A small zip-based spreadsheet that would make the reader build something huge is
//! refused, or read once, before it costs more than its size explains (probe 67a).

use super::tests_books::row;
use super::tests_hardening::{fail, read, xlsx_book_with, zip_of};

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
            .any(|n| n.contains("sheets “S1” and “S3” are one part of the file; only “S1” was read")),
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
