//! Books of several sheets (a sheet Wharf cannot read is left out with a note, and the
//! others still arrive), and a cell too long to read.

use super::tests_hardening::{fail, read, xlsx_book};
use super::MAX_COLUMNS;

fn wide_header() -> String {
    (1..=MAX_COLUMNS + 1)
        .map(|i| {
            format!(
                r#"<c r="{}1" t="inlineStr"><is><t>h{i}</t></is></c>"#,
                super::header::column_letters(i - 1)
            )
        })
        .collect()
}

pub(super) fn row(n: usize, cells: &[&str]) -> String {
    let cells: String = cells
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                r#"<c r="{}{n}" t="inlineStr"><is><t>{t}</t></is></c>"#,
                super::header::column_letters(i)
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

/// Two sheets of one name (no spreadsheet program makes them): the second was read as a
/// copy of the first, its own rows nowhere; it is left out and the notes say so (probe 58d F3).
#[test]
fn a_second_sheet_of_the_same_name_is_left_out_and_said() {
    let first = format!("{}{}", row(1, &["name", "city"]), row(2, &["Ada", "Oslo"]));
    let second = format!("{}{}", row(1, &["name", "city"]), row(2, &["Bob", "Rome"]));
    let (_, rows, _, notes) = read(
        &xlsx_book(&[("People", &first), ("People", &second)]),
        "twins.xlsx",
    );
    assert_eq!(rows, [["Ada", "Oslo"]]);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("two sheets named “People”; only the first was read")),
        "{notes:?}"
    );
}

/// A book of more sheets than are read: the first 100 arrive, and the notes say how many
/// there were (probe 63c D1: 3,000 tiny sheets held a job worker for five minutes).
#[test]
fn a_book_of_many_sheets_is_read_to_its_hundredth() {
    let rows = format!("{}{}", row(1, &["name"]), row(2, &["Ada"]));
    let names: Vec<String> = (1..=130).map(|i| format!("S{i}")).collect();
    let sheets: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), rows.as_str())).collect();
    let (_dir, path) = super::tests_hardening::file_with(&xlsx_book(&sheets), "many.xlsx");
    let ex = super::open(&path, "many.xlsx").unwrap();
    assert_eq!(ex.tables.len(), 100);
    assert_eq!(ex.tables[99].name, "S100");
    assert!(
        ex.notes
            .list()
            .iter()
            .any(|n| n == "the file holds 130 sheets; the first 100 were read"),
        "{:?}",
        ex.notes.list()
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

/// Text that zips to about half its size, as real text does (a file that unpacks to more
/// than 100 times its size is refused as a bomb before its cells are looked at).
fn incompressible(len: usize) -> String {
    let mut x: u32 = 2463534242;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            char::from(b'a' + (x % 16) as u8)
        })
        .collect()
}

/// A cell of 17 MiB is refused before any XML reader holds it whole: calamine had grown
/// to 3.3 GB on one of 1,000 MiB. A cell past 1 MiB but under the limit is still read, its
/// row refused with the cell limit.
#[test]
fn a_huge_cell_is_refused_before_it_is_read_whole() {
    let huge = incompressible(17 * 1024 * 1024);
    let book = xlsx_book(&[("S", &format!("{}{}", row(1, &["name"]), row(2, &[&huge])))]);
    let e = fail(&book, "huge.xlsx");
    assert!(matches!(e, super::ExtractError::LongValue { .. }), "{e:?}");
    assert!(e.to_string().contains("at most 1 MB"), "{e}");

    let long = incompressible(2 * 1024 * 1024);
    let book = xlsx_book(&[(
        "S",
        &format!("{}{}{}", row(1, &["name"]), row(2, &[&long]), row(3, &["Ada"])),
    )]);
    let (_, rows, rejects, _) = read(&book, "long.xlsx");
    assert_eq!(rows, vec![vec!["Ada".to_string()]]);
    assert_eq!(rejects.len(), 1);
}

/// A rich-text cell's runs add up to one value: two runs of 9 MiB are a cell of 18 MiB,
/// refused like one run of that size.
#[test]
fn a_cell_of_many_runs_counts_them_together() {
    let run = incompressible(9 * 1024 * 1024);
    let cell = format!(r#"<c r="A2" t="inlineStr"><is><r><t>{run}</t></r><r><t>{run}</t></r></is></c>"#);
    let book = xlsx_book(&[("S", &format!(r#"{}<row r="2">{cell}</row>"#, row(1, &["name"])))]);
    let e = fail(&book, "rich.xlsx");
    assert!(matches!(e, super::ExtractError::LongValue { .. }), "{e:?}");
}

/// A group label merged down over the rows it names reaches each of them, as the
/// spreadsheet shows it; a value merged across columns stays in its first column.
#[test]
fn cells_merged_down_reach_every_row_they_cover() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet().set_name("Staff").unwrap();
    let plain = rust_xlsxwriter::Format::new();
    for (col, label) in ["Region", "Name", "Note"].iter().enumerate() {
        sheet.write(0, col as u16, *label).unwrap();
    }
    sheet.merge_range(1, 0, 3, 0, "EMEA", &plain).unwrap();
    sheet.write(4, 0, "APAC").unwrap();
    for (row, name) in ["Ada", "Bob", "Cy", "Dee", "Eve"].iter().enumerate() {
        sheet.write(row as u32 + 1, 1, *name).unwrap();
    }
    sheet.merge_range(6, 1, 6, 2, "wide", &plain).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let (labels, rows, rejects, _) = read(&bytes, "staff.xlsx");
    assert_eq!(labels, ["Region", "Name", "Note"]);
    assert!(rejects.is_empty(), "{rejects:?}");
    let shown: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        shown,
        vec![
            vec!["EMEA", "Ada", ""],
            vec!["EMEA", "Bob", ""],
            vec!["EMEA", "Cy", ""],
            vec!["APAC", "Dee", ""],
            vec!["", "Eve", ""],
            vec!["", "wide", ""],
        ]
    );
}

/// A worksheet's rows followed by its merges, for [`xlsx_book`].
fn with_merges(rows: &str, refs: &[String]) -> String {
    let merges: String = refs
        .iter()
        .map(|r| format!(r#"<mergeCell ref="{r}"/>"#))
        .collect();
    // The helper closes `sheetData` after these rows: the merges go after it, as Excel
    // writes them, and an empty `sheetData` follows.
    format!(
        r#"{rows}</sheetData><mergeCells count="{}">{merges}</mergeCells><sheetData>"#,
        refs.len()
    )
}

/// Merges a file gets wrong are no reason to lose its rows: overlapping ones (Excel
/// writes none) keep the later, a reversed or unreadable reference leaves the merges out
/// with a note, and many merges cost little.
#[test]
fn bad_and_many_merges_cost_little_and_lose_nothing() {
    let mut rows = row(1, &["Group", "Name"]);
    for n in 2..=3001 {
        rows.push_str(&row(n, &[if n % 1000 == 2 { "G" } else { "" }, "x"]));
    }
    // 3,000 merges, each from one row down to the end, all over column A.
    let many: Vec<String> = (2..=3001).map(|n| format!("A{n}:A3001")).collect();
    let started = std::time::Instant::now();
    let (_, got, rejects, _) = read(&xlsx_book(&[("S", &with_merges(&rows, &many))]), "many.xlsx");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(got.len(), 3000);
    // Each later merge starts at an empty cell and ends the one before: only the rows
    // that hold G have it.
    assert_eq!(got.iter().filter(|r| r[0] == "G").count(), 3, "{:?}", &got[..3]);

    let rows = format!(
        "{}{}{}",
        row(1, &["Group", "Name"]),
        row(2, &["G", "a"]),
        row(3, &["", "b"])
    );
    let (_, got, _, _) = read(
        &xlsx_book(&[("S", &with_merges(&rows, &["A2:A3".into()]))]),
        "ok.xlsx",
    );
    assert_eq!(got, [["G", "a"], ["G", "b"]]);
    for refs in [
        vec!["A3:A2".to_string()],
        vec!["$A$2:$A$3".to_string(), "A2:A3".to_string()],
    ] {
        let (_, got, rejects, notes) = read(&xlsx_book(&[("S", &with_merges(&rows, &refs))]), "bad.xlsx");
        assert!(rejects.is_empty(), "{refs:?}: {rejects:?}");
        assert_eq!(got.len(), 2, "{refs:?}: {got:?}");
        assert_eq!(got[0], ["G", "a"], "{refs:?}");
        // A reversed reference makes calamine overflow: the merges are left out, saying so.
        // (One it cannot parse, calamine drops with the sheet's other merges, unsaid.)
        if refs[0] == "A3:A2" {
            assert!(notes.join(" ").contains("could not be read"), "{notes:?}");
        }
    }
}

/// A merge that starts on the header row or above it (a title, a header merged down) gives
/// no record its text; the merges below the header still fill (probe 48a M1).
#[test]
fn merges_of_the_header_and_above_stay_out_of_records() {
    let rows = format!(
        "{}{}{}{}{}",
        row(1, &["Region", "Name"]),
        row(2, &["", "a"]),
        row(3, &["EMEA", "b"]),
        row(4, &["", "c"]),
        row(5, &["", "d"])
    );
    let refs = ["A1:A2".to_string(), "A3:A4".to_string()];
    let (labels, got, _, _) = read(&xlsx_book(&[("S", &with_merges(&rows, &refs))]), "h.xlsx");
    assert_eq!(labels, ["Region", "Name"]);
    assert_eq!(got, [["", "a"], ["EMEA", "b"], ["EMEA", "c"], ["", "d"]]);

    // A title over the header, merged down past it.
    let mut rows = format!(
        "{}{}",
        row(1, &["Staff list"]),
        row(3, &["Region", "Name", "Age"])
    );
    for n in 4..=9 {
        rows.push_str(&row(n, &["", "a", "30"]));
    }
    let (labels, got, _, _) = read(
        &xlsx_book(&[("S", &with_merges(&rows, &["A1:A5".into()]))]),
        "t.xlsx",
    );
    assert_eq!(labels, ["Region", "Name", "Age"]);
    assert!(got.iter().all(|r| r[0].is_empty()), "{got:?}");
}

/// A long value merged down many rows fills at most 64 MiB of text, then stops with a
/// note: a file of kilobytes does not become gigabytes of records (probe 48a H1).
#[test]
fn merges_fill_a_bounded_amount_of_text() {
    let long = "x".repeat(100_000);
    let mut rows = format!("{}{}", row(1, &["Note", "Name"]), row(2, &[&long, "a"]));
    for n in 3..=1001 {
        rows.push_str(&row(n, &["", "b"]));
    }
    let (_, got, _, notes) = read(
        &xlsx_book(&[("S", &with_merges(&rows, &["A2:A1001".into()]))]),
        "big.xlsx",
    );
    assert_eq!(got.len(), 1000);
    let filled = got.iter().filter(|r| r[0] == long).count();
    assert!((600..700).contains(&filled), "{filled} rows filled");
    assert!(notes.join(" ").contains("64 MiB"), "{notes:?}");
}

/// The 64 MiB of text merges may fill are the whole book's, not each sheet's (probe 49a
/// F5: three sheets made three times as much).
#[test]
fn a_books_merges_share_one_budget() {
    let long = "y".repeat(100_000);
    let mut rows = format!("{}{}", row(1, &["Note", "Name"]), row(2, &[&long, "a"]));
    for n in 3..=301 {
        rows.push_str(&row(n, &["", "b"]));
    }
    let sheet = with_merges(&rows, &["A2:A301".into()]);
    let book = xlsx_book(&[("S1", &sheet), ("S2", &sheet), ("S3", &sheet)]);
    let (_dir, path) = super::tests_hardening::file_with(&book, "three.xlsx");
    let ex = super::open(&path, "three.xlsx").unwrap();
    let mut filled = 0;
    for table in ex.tables {
        for row in table.rows.flatten() {
            filled += usize::from(row.values[0] == long);
        }
    }
    // 900 rows could have it; 64 MiB holds 671 copies.
    assert_eq!(filled, 671);
    assert!(
        ex.notes.list().join(" ").contains("64 MiB"),
        "{:?}",
        ex.notes.list()
    );
}

/// One long shared string used by thousands of cells is refused before anything is read
/// (probe 50a F7: 27 KB became 160 MB of records); as many copies as a file of its size
/// explains are read.
#[test]
fn a_shared_string_copied_into_many_cells_is_bounded() {
    let long = "z".repeat(32_000);
    let book = |rows: u32| {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "Note").unwrap();
        for r in 1..=rows {
            sheet.write_string(r, 0, &long).unwrap();
        }
        book.save_to_buffer().unwrap()
    };
    let (_, rows, _, _) = read(&book(500), "ok.xlsx");
    assert_eq!(rows.len(), 500);
    assert!(rows.iter().all(|r| r[0] == long));
    let big = book(5_000);
    assert!(big.len() < 100_000, "{} bytes", big.len());
    let e = fail(&big, "big.xlsx");
    assert!(matches!(e, super::ExtractError::SharedTextTooLarge(_)), "{e}");
    assert!(e.to_string().contains("more than 64 MB of text"), "{e}");
}

/// However a book's parts are laid out (seven layouts got past the count made before
/// reading: probe 52a 1), its cells yield no more text than its size explains: read
/// without that count, the rows stop and the file is marked as one not to take.
#[test]
fn a_books_text_is_bounded_while_it_is_read() {
    let long = "q".repeat(32_000);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "Note").unwrap();
    for r in 1..=3000 {
        sheet.write_string(r, 0, &long).unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let (_dir, path) = super::tests_hardening::file_with(&bytes, "laid.xlsx");
    let notes = super::Notes::default();
    let mut tables = super::xlsx::tables(&path, false, &notes).expect("the first rows are read");
    let read = tables.remove(0).rows.filter(|r| r.is_ok()).count();
    assert!((1_500..2_500).contains(&read), "{read} rows read");
    let why = notes.failure().expect("marked as not to take");
    assert!(why.contains("more than 64 MB of text"), "{why}");
    // The count made before reading refuses the same book in its usual layout.
    assert!(matches!(
        fail(&bytes, "laid.xlsx"),
        super::ExtractError::SharedTextTooLarge(_)
    ));
}

/// The count made before reading finds shared strings and sheets as calamine does: names
/// regardless of case and extension, `<si/>` as a string, an index written as a character
/// reference (probe 52a 1).
#[test]
fn the_shared_text_count_reads_parts_as_calamine_does() {
    let long = "q".repeat(32_000);
    let shared = format!(
        r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si/><si><t>{long}</t></si></sst>"#
    );
    let mut rows = String::from(r#"<row r="1"><c r="A1" t="inlineStr"><is><t>Note</t></is></c></row>"#);
    for n in 2..=2300 {
        rows.push_str(&format!(
            r#"<row r="{n}"><c r="A{n}" t="s"><v>&#49;</v></c></row>"#
        ));
    }
    let sheet = format!(
        r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#
    );
    let book = r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    let rels = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/s.XML"/></Relationships>"#;
    let bytes = super::tests_hardening::zip_of(&[
        ("[Content_Types].xml", br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#),
        ("_rels/.rels", br#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#),
        ("xl/workbook.xml", book.as_bytes()),
        ("xl/_rels/workbook.xml.rels", rels.as_bytes()),
        ("xl/SharedStrings.xml", shared.as_bytes()),
        ("xl/worksheets/s.XML", sheet.as_bytes()),
    ]);
    assert!(bytes.len() < 200_000, "{}", bytes.len());
    let e = fail(&bytes, "odd.xlsx");
    assert!(matches!(e, super::ExtractError::SharedTextTooLarge(_)), "{e}");
}

/// A row of a small file made huge by a shared string (200 cells of one 30 KB string) is a
/// rejected row, its cells not kept: rows in hand at once stay bounded (probe 53a 3: ten
/// rows of 100 MB took the server past 1.9 GB).
#[test]
fn a_row_holds_at_most_a_few_megabytes() {
    let long = "r".repeat(30_000);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for c in 0..200u16 {
        sheet.write_string(0, c, format!("c{c}")).unwrap();
    }
    for r in 1..=10u32 {
        for c in 0..200u16 {
            sheet.write_string(r, c, &long).unwrap();
        }
    }
    sheet.write_string(11, 0, "small").unwrap();
    let (labels, rows, rejects, _) = read(&book.save_to_buffer().unwrap(), "wide.xlsx");
    assert_eq!(labels.len(), 200);
    assert_eq!(rows.len(), 1, "only the small row");
    assert_eq!(rejects.len(), 10);
    assert!(
        rejects[0].message.contains("more than 4 MB of text"),
        "{}",
        rejects[0].message
    );
    assert!(rejects[0].values.is_empty());
}

/// A row with a value past the last column is rejected with the start of its first values
/// only: a shared string may make each of them long (probe 53b: such rows held a server
/// past 2 GB).
#[test]
fn a_too_wide_rows_values_are_kept_short() {
    let long = "s".repeat(30_000);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "a").unwrap();
    for c in 0..100u16 {
        sheet.write_string(1, c, &long).unwrap();
    }
    sheet.write_string(1, MAX_COLUMNS as u16 + 5, "far").unwrap();
    let (_, _, rejects, _) = read(&book.save_to_buffer().unwrap(), "far.xlsx");
    assert_eq!(rejects.len(), 1);
    assert!(rejects[0].message.contains("column"), "{}", rejects[0].message);
    assert_eq!(rejects[0].values.len(), 100);
    assert!(rejects[0].values.iter().all(|v| v.chars().count() <= 4096));
}

/// A cell at `A0` (probe 58d F5: "damaged or cut off (Range is missing the expected row
/// component.)", which sends a person looking for a broken transfer): malformed contents,
/// said with what to do.
#[test]
fn a_malformed_cell_reference_says_how_to_save_the_file_again() {
    let rows = format!(
        "{}{}",
        row(1, &["name"]),
        r#"<row r="2"><c r="A0" t="inlineStr"><is><t>Ada</t></is></c></row>"#
    );
    let shown = fail(&xlsx_book(&[("People", &rows)]), "a0.xlsx").to_string();
    assert!(shown.contains("not a cell reference such as B7"), "{shown}");
    assert!(shown.contains("save it again as .xlsx"), "{shown}");
    assert!(!shown.contains("cut off"), "{shown}");
}

/// Two rows of one number (probe 58d F4: the first was lost unsaid): both are read, in the
/// file's order, and a note says so.
#[test]
fn two_rows_of_one_number_are_both_read() {
    let rows = format!(
        "{}{}{}{}",
        row(1, &["name"]),
        row(3, &["three"]),
        row(3, &["three again"]),
        row(4, &["four"])
    );
    let (_, rows, _, notes) = read(&xlsx_book(&[("People", &rows)]), "twice.xlsx");
    assert_eq!(rows, vec![vec!["three"], vec!["three again"], vec!["four"]]);
    assert!(
        notes.iter().any(|n| n.contains("numbers more than one row 3")),
        "{notes:?}"
    );
    // A repeat further down, and a second row that starts left of where the first ended
    // (probe 60c D3: its cells went into the first record).
    let later = format!(
        "{}{}{}{}",
        row(1, &["name", "city"]),
        row(3, &["", "Oslo"]),
        row(2, &["two"]),
        row(3, &["three", "Rome"])
    );
    let (_, rows, _, notes) = read(&xlsx_book(&[("People", &later)]), "later.xlsx");
    assert_eq!(
        rows,
        vec![vec!["", "Oslo"], vec!["two", ""], vec!["three", "Rome"]]
    );
    assert!(
        notes.iter().any(|n| n.contains("numbers more than one row 3")),
        "{notes:?}"
    );
}

/// A whole number under a zero-padding format reads as the spreadsheet shows it (probe 60b
/// D2: the zip code 01234, stored as 1234 under `00000`, lost its 0), in the rows read
/// first and in those streamed after them; other numbers and formats as before.
#[test]
fn zero_padded_numbers_read_as_shown() {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let zip = Format::new().set_num_format("00000");
    let money = Format::new().set_num_format("#,##0.00");
    sheet.write_string(0, 0, "zip").unwrap();
    sheet.write_string(0, 1, "amount").unwrap();
    sheet.write_string(0, 2, "plain").unwrap();
    for r in 1..=200u32 {
        sheet
            .write_number_with_format(r, 0, f64::from(r * 7), &zip)
            .unwrap();
        sheet.write_number_with_format(r, 1, 1234.5, &money).unwrap();
        sheet.write_number(r, 2, f64::from(r)).unwrap();
    }
    sheet.write_number_with_format(201, 0, 98765.0, &zip).unwrap();
    // A negative one as Excel shows it; under a code of two sections, as a number.
    let two = Format::new().set_num_format("00000;(00000)");
    sheet.write_number_with_format(202, 0, -1234.0, &zip).unwrap();
    sheet.write_number_with_format(203, 0, -1234.0, &two).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let (labels, rows, _, _) = read(&bytes, "zips.xlsx");
    assert_eq!(labels, vec!["zip", "amount", "plain"]);
    assert_eq!(rows[0], vec!["00007", "1234.5", "1"]);
    assert_eq!(
        rows[142],
        vec!["01001", "1234.5", "143"],
        "streamed after the sample"
    );
    assert_eq!(rows[200][0], "98765");
    assert_eq!(rows[201][0], "-01234");
    assert_eq!(rows[202][0], "-1234");
    assert_eq!(rows.len(), 203);
}
