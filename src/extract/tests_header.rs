//! Which row is a file's header (title rows, blank labels, a stray wide row), and the
//! column names made from it.

use super::header;
use super::tests::{read, strings};

#[test]
fn a_stray_wide_row_in_a_small_file_is_not_its_header() {
    // Each row fills a different number of cells: the one wide row was taken as the
    // header, and every real row rejected (probe 45a D1).
    let small = vec![
        strings(&["name", "email", "phone", "city"]),
        strings(&["Al", "al@x.com", "", "Paris"]),
        strings(&["Be", "", "", "Rome"]),
        strings(&["Cy", "cy@x.com", "3", "Rome", "note"]),
    ];
    assert_eq!(header::header_index(&small), Some(0));
    let titled = vec![
        strings(&["Vendor export 2024"]),
        strings(&[]),
        strings(&["name", "email", "", "email", "phone", "phone"]),
        strings(&["Al", "al@x.com", "zz", "al2@x.com", "1", "2"]),
        strings(&["Be", "be@x.com"]),
        strings(&["Cy", "cy@x.com", "a", "b", "c", "d", "EXTRA1", "EXTRA2"]),
    ];
    assert_eq!(header::header_index(&titled), Some(2));
    // A header with a repeated, a blank and a numeric label over a wider row of addresses:
    // the addresses were the header, and their row in no record nor reject (probe 57a 16).
    let ragged = vec![
        strings(&["Email", "Email", "", "Name", "123"]),
        strings(&[
            "a@r.com",
            "b@r.com",
            "blankhdr",
            "Ragged One",
            "n1",
            "EXTRA1",
            "EXTRA2",
        ]),
        strings(&["c@r.com"]),
        strings(&["d@r.com", "e@r.com", "x", "Ragged Two", "n2"]),
    ];
    assert_eq!(header::header_index(&ragged), Some(0));
    // A title above the header stays a title, whatever the rows below fill (probe 45c D4).
    for (rows, header) in [
        (
            vec![
                strings(&["Contacts export"]),
                strings(&["name", "email", "phone", "city"]),
                strings(&["Al", "al@x.com", "1", "Paris"]),
                strings(&["Be", "be@x.com", "2", "Rome"]),
                strings(&["Cy"]),
                strings(&["Di"]),
                strings(&["Ed", "ed@x.com"]),
            ],
            1,
        ),
        (
            vec![
                strings(&["Report", "Q3", "2024"]),
                strings(&["name", "email", "phone", "city", "zip"]),
                strings(&["Al", "al@x.com"]),
            ],
            1,
        ),
        (
            vec![
                strings(&["Exported", "2024-12-01"]),
                strings(&["name", "email", "phone"]),
                strings(&["Al", "", ""]),
            ],
            1,
        ),
    ] {
        assert_eq!(header::header_index(&rows), Some(header), "{rows:?}");
    }
}

#[test]
fn a_header_with_a_repeated_and_a_blank_label_is_the_header() {
    let sample = vec![
        strings(&["Name", "Name", "", "Phone"]),
        strings(&["Ada", "Lovelace", "x", "555 0100"]),
        strings(&["Grace", "Hopper", "y", "555 0101"]),
    ];
    assert_eq!(header::header_index(&sample), Some(0));
}

#[test]
fn a_header_with_a_gap_over_rows_of_text_is_the_header() {
    // Every data row reads as labels too: the first is not the header, nothing is lost.
    let (labels, rows, _, _) = read(
        b"Name,,City\nAnn,Smith,Paris\nBob,Jones,Rome\nCid,Lee,Oslo\n",
        "t.csv",
    );
    assert_eq!(labels, strings(&["Name", "Column 2", "City"]));
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0], strings(&["Ann", "Smith", "Paris"]));
    let (labels, rows, _, _) = read(b"email,email,,name,\na,b,c,d,e\n", "one.csv");
    assert_eq!(labels[..2], strings(&["email", "email (2)"]));
    assert_eq!(rows, vec![strings(&["a", "b", "c", "d", "e"])]);
}

#[test]
fn a_form_export_whose_header_asks_a_long_question_over_an_unnamed_column_is_the_header() {
    // Rows fill one cell more than the header (a column without a name), and one header
    // is a whole question: still the header, not a title over the first person.
    let question = format!(
        "{}?",
        "What would you like us to know before your first visit ".repeat(7)
    );
    let sample = vec![
        strings(&["Name", "Email Address", &question, ""]),
        strings(&["Ann Lee", "ann@lee.com", "Nothing", "x"]),
        strings(&["Bo Li", "bo@li.com", "Parking", "y"]),
    ];
    assert!(question.len() > 300);
    assert_eq!(header::header_index(&sample), Some(0));
}

#[test]
fn a_group_title_over_the_header_is_left_out() {
    // Over rows with numbers and addresses, the full row of labels is the header.
    let sample = vec![
        strings(&["Contact", "", "Address"]),
        strings(&["Name", "Email", "City"]),
        strings(&["Ada", "ada@x.org", "London"]),
        strings(&["Bob", "bob@x.org", "Oslo"]),
    ];
    assert_eq!(header::header_index(&sample), Some(1));
}

#[test]
fn blank_and_duplicate_headers_get_unique_names() {
    let cols = header::columns(&strings(&["Name", "", "name", "Name", "E-mail"]), 6);
    let labels: Vec<&str> = cols.iter().map(|c| c.label.as_str()).collect();
    let keys: Vec<&str> = cols.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        labels,
        vec!["Name", "Column 2", "name (2)", "Name (3)", "E-mail", "Column 6"]
    );
    assert_eq!(
        keys,
        vec!["name", "column_2", "name_2", "name_3", "e_mail", "column_6"]
    );
}

/// Headers that differ only by the spaces around them are one name: the second is
/// numbered, as one differing by case is (probe 65c N2).
#[test]
fn spaces_around_a_header_do_not_make_another_name() {
    let cols = header::columns(&strings(&["Email", " Email", "Email ", "EMAIL", "  "]), 5);
    let labels: Vec<&str> = cols.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(
        labels,
        vec!["Email", "Email (2)", "Email (3)", "EMAIL (4)", "Column 5"]
    );
}

/// The names made up for a repeated or blank header never take a header the file has: the
/// column the file calls `Email (2)` keeps that name (probe 64a D3).
#[test]
fn made_up_names_leave_the_files_own_headers_alone() {
    let header = strings(&[
        "Email",
        "Email",
        "Email (2)",
        "",
        "Column 4",
        "column_4",
        "email_2",
    ]);
    let cols = header::columns(&header, 7);
    let labels: Vec<&str> = cols.iter().map(|c| c.label.as_str()).collect();
    let keys: Vec<&str> = cols.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        labels,
        vec![
            "Email",
            "Email (3)",
            "Email (2)",
            "Column 4 (2)",
            "Column 4",
            "column_4",
            "email_2"
        ]
    );
    assert_eq!(
        keys,
        vec![
            "email",
            "email_3",
            "email_2",
            "column_4_2",
            "column_4",
            "column_4_3",
            "email_2_2"
        ]
    );
}

/// Blank rows (`,` as Excel saves an empty row) are no rows of the table: a title over 59
/// of them leaves the header below to be found (probe 49d 5).
#[test]
fn a_header_below_many_blank_rows_is_found() {
    let mut text = String::from("Quarterly report\n");
    text.push_str(&",\n".repeat(59));
    text.push_str("id,name\n0,a\n1,b\n2,c\n");
    let (labels, rows, _, _) = read(text.as_bytes(), "late.csv");
    assert_eq!(labels, strings(&["id", "name"]));
    assert_eq!(rows.len(), 3);
}

/// pandas' `to_csv` of a table by year: a blank index header over the index, the other
/// columns named by years (probe 49d 2).
#[test]
fn a_pandas_header_with_years_is_the_header() {
    let sample = vec![
        strings(&["", "name", "2020", "2021"]),
        strings(&["0", "Ann", "100", "200"]),
        strings(&["1", "Bob", "150", "250"]),
        strings(&["2", "Cy", "1", "2"]),
    ];
    assert_eq!(header::header_index(&sample), Some(0));
    // A first data row without its first value is still data.
    let sample = vec![
        strings(&["", "Ann", "30", "40"]),
        strings(&["1", "Bob", "50", "60"]),
        strings(&["2", "Cy", "70", "80"]),
    ];
    assert_eq!(header::header_index(&sample), Some(1));
}

#[test]
fn a_row_of_far_too_many_values_stops_the_reading() {
    use super::tests_hardening::read;
    // Read whole, a 4 MB line of `x,` held about 250 MB: the reading stops at it.
    let mut wide = b"a,b\n1,2\n".to_vec();
    wide.extend(b"x,".repeat(2_000_000));
    wide.extend(b"\n3,4\n");
    let (_, rows, rejects, _) = read(&wide, "wide.csv");
    assert_eq!(rows, vec![strings(&["1", "2"])]);
    assert!(
        rejects
            .iter()
            .any(|r| r.line == 3 && r.message.contains("line 3 has more than 10000 values")),
        "{rejects:?}"
    );
    // A row a few values too wide is still rejected whole, and the rows after it are read;
    // delimiters inside quotes are text.
    let mut few = b"a,b\n".to_vec();
    few.extend(b"y,".repeat(1_005));
    few.extend(b"\n\"");
    few.extend(b",".repeat(20_000));
    few.extend(b"\",5\n3,4\n");
    let (_, rows, rejects, _) = read(&few, "few.csv");
    assert_eq!(
        rows.len(),
        2,
        "{:?}",
        rejects.iter().map(|r| &r.message).collect::<Vec<_>>()
    );
    assert_eq!(rows[0][0].len(), 20_000);
    assert_eq!(rows[1], strings(&["3", "4"]));
    assert_eq!(rejects.len(), 1);
    assert!(
        rejects[0].message.contains("1005 values"),
        "{}",
        rejects[0].message
    );
}

#[test]
fn quotes_count_as_the_csv_reader_reads_them() {
    use super::tests_hardening::read;
    // An inch mark is text, not a quote: the commas inside the quoted values after it are
    // text too, and every row is read (probe 56c D1: 9,874 of 12,001 were).
    let mut text = b"id,size,city\n1,15.6\" laptop,x\n".to_vec();
    for i in 0..12_000 {
        text.extend(format!("{i},\"Springfield, IL\",y\r\n").bytes());
    }
    let (_, rows, rejects, notes) = read(&text, "inch.csv");
    assert_eq!(rows.len(), 12_001, "{rejects:?} {notes:?}");
    assert_eq!(rows[0][1], "15.6\" laptop");
    assert_eq!(rows[12_000][1], "Springfield, IL");
    // Nor does a stray quote hide a far too wide row (probe 56c D2), which stops the
    // reading on its own line, the rows before it read; exactly 10,001 values are enough.
    let mut text = b"a,b\n1,2\"\n3,4\n".to_vec();
    text.extend(b"x,".repeat(10_000));
    text.extend(b"\n5,6\n");
    let (_, rows, rejects, _) = read(&text, "stray.csv");
    assert_eq!(rows, vec![strings(&["1", "2\""]), strings(&["3", "4"])]);
    assert!(
        rejects
            .iter()
            .any(|r| r.line == 4 && r.message.contains("line 4 has more than 10000 values")),
        "{rejects:?}"
    );
    // `""` in a quoted value is a quote; its commas stay text.
    let (_, rows, _, _) = read(b"a,b\n\"say \"\"hi, there\"\"\",2\n", "escaped.csv");
    assert_eq!(rows, vec![strings(&["say \"hi, there\"", "2"])]);
}

/// JSON keys are kept as labels exactly, but for one that reads as an earlier one but for
/// case: it is numbered, as a CSV header is (probe 64d D2).
#[test]
fn json_keys_differing_by_case_get_labels_that_differ() {
    let text = r#"[{"email": "a@x.io", "Email": "b@x.io", "Name ": "Ann", "name": "Bo"}]"#;
    let (labels, rows, _, _) = read(text.as_bytes(), "case.json");
    assert_eq!(labels, strings(&["email", "Email (2)", "Name ", "name (2)"]));
    assert_eq!(rows[0], strings(&["a@x.io", "b@x.io", "Ann", "Bo"]));
}

/// A header row with a stray value far right is not passed over for the first record
/// (probe 71c D4: the records' first row became the header, its record gone).
#[test]
fn a_header_too_wide_to_read_is_not_replaced_by_a_record() {
    let stray = r#"<c r="BER1" t="inlineStr"><is><t>note</t></is></c>"#;
    let header = super::tests_books::row(1, &["name", "email"]).replace("</row>", &format!("{stray}</row>"));
    let rows = format!(
        "{header}{}{}",
        super::tests_books::row(2, &["n0", "e0@x.com"]),
        super::tests_books::row(3, &["n1", "e1@x.com"])
    );
    let shown =
        super::tests_hardening::fail(&super::tests_hardening::xlsx_book(&[("S", &rows)]), "stray.xlsx")
            .to_string();
    assert!(
        shown.contains("the first row (line 1), the header, could not be read"),
        "{shown}"
    );
    assert!(shown.contains("column 1500"), "{shown}");
    // A title above the header with a stray value far right is left out, as before (probe
    // 72a D5: it was taken for the header and the file refused).
    let title = super::tests_books::row(1, &["Contacts 2024"]).replace("</row>", &format!("{stray}</row>"));
    let rows = format!(
        "{title}{}{}",
        super::tests_books::row(2, &["name", "email"]),
        super::tests_books::row(3, &["n0", "e0@x.com"])
    );
    let (labels, records, rejects, _) =
        read(&super::tests_hardening::xlsx_book(&[("S", &rows)]), "title.xlsx");
    assert_eq!(
        (labels, records.len(), rejects.len()),
        (vec!["name".to_string(), "email".into()], 1, 1)
    );
}
