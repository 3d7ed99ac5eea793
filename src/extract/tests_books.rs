//! Books of several sheets: a sheet Wharf cannot read is left out with a note, and the
//! others still arrive.

use super::tests_hardening::{fail, read, xlsx_book};
use super::MAX_COLUMNS;

fn wide_header() -> String {
    (1..=MAX_COLUMNS + 1)
        .map(|i| {
            format!(
                r#"<c r="{}1" t="inlineStr"><is><t>h{i}</t></is></c>"#,
                column_letters(i)
            )
        })
        .collect()
}

fn row(n: usize, cells: &[&str]) -> String {
    let cells: String = cells
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                r#"<c r="{}{n}" t="inlineStr"><is><t>{t}</t></is></c>"#,
                column_letters(i + 1)
            )
        })
        .collect();
    format!(r#"<row r="{n}">{cells}</row>"#)
}

/// A spreadsheet whose header row reaches past the columns Wharf reads says so; it is not
/// called damaged.
#[test]
fn a_spreadsheet_too_wide_to_read_says_why() {
    let header = wide_header();
    let e = fail(
        &xlsx_book(&[("S", &format!(r#"<row r="1">{header}</row>"#))]),
        "wide.xlsx",
    );
    let message = e.to_string();
    assert!(
        message.contains("column 1001") && message.contains("at most 1000"),
        "{message}"
    );
    assert!(!message.contains("damaged"), "{message}");
}

/// One over-wide tab in a book does not cost the person the other tabs: it is left out,
/// and the notes say which and why.
#[test]
fn an_over_wide_sheet_is_left_out_and_the_others_arrive() {
    let wide = format!(r#"<row r="1">{}</row>"#, wide_header());
    let good = format!("{}{}", row(1, &["name", "city"]), row(2, &["Ada", "Oslo"]));
    let (labels, rows, _, notes) = read(&xlsx_book(&[("Wide", &wide), ("People", &good)]), "book.xlsx");
    assert_eq!(labels, ["name", "city"]);
    assert_eq!(rows, [["Ada", "Oslo"]]);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("sheet Wide was not extracted") && n.contains("column 1001")),
        "{notes:?}"
    );
}

#[test]
fn a_book_of_over_wide_sheets_names_the_sheet() {
    let wide = format!(r#"<row r="1">{}</row>"#, wide_header());
    let bytes = xlsx_book(&[("Blank", ""), ("Wide", &wide)]);
    let message = fail(&bytes, "wide.xlsx").to_string();
    assert!(
        message.starts_with("no sheet could be extracted; sheet Wide: "),
        "{message}"
    );
    assert!(message.contains("column 1001"), "{message}");
}

/// 1 -> A, 27 -> AA.
fn column_letters(mut n: usize) -> String {
    let mut out = Vec::new();
    while n > 0 {
        n -= 1;
        out.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}
