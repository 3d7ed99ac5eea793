//! XLS files (BIFF records in an OLE compound file), read through the compound file Wharf
//! repacks for calamine.

use super::tests_hardening::read;
use std::io::Write;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn an_xls_is_read_through_the_repacked_compound_file() {
    let record = |typ: u16, data: &[u8]| {
        let mut r = typ.to_le_bytes().to_vec();
        r.extend((data.len() as u16).to_le_bytes());
        r.extend(data);
        r
    };
    let bof = |dt: u16| {
        let mut d = 0x0600u16.to_le_bytes().to_vec();
        d.extend(dt.to_le_bytes());
        d.extend([0u8; 12]);
        record(0x0809, &d)
    };
    let label = |row: u16, col: u16, s: &str| {
        let mut d = row.to_le_bytes().to_vec();
        d.extend(col.to_le_bytes());
        d.extend([0, 0]);
        d.extend((s.len() as u16).to_le_bytes());
        d.push(0);
        d.extend(s.as_bytes());
        record(0x0204, &d)
    };
    let number = |row: u16, col: u16, v: f64| {
        let mut d = row.to_le_bytes().to_vec();
        d.extend(col.to_le_bytes());
        d.extend([0, 0]);
        d.extend(v.to_le_bytes());
        record(0x0203, &d)
    };
    let boundsheet = |pos: u32| {
        let mut d = pos.to_le_bytes().to_vec();
        d.extend([0, 0, 6, 0]);
        d.extend(b"People");
        record(0x0085, &d)
    };
    let globals_len = bof(5).len() + boundsheet(0).len() + record(0x000A, &[]).len();
    let mut stream = bof(5);
    stream.extend(boundsheet(globals_len as u32));
    stream.extend(record(0x000A, &[]));
    stream.extend(bof(0x10));
    stream.extend(record(0x0200, &[0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 2, 0, 0, 0]));
    stream.extend(label(0, 0, "name"));
    stream.extend(label(0, 1, "age"));
    // Past 4,096 bytes of stream, as any real workbook (calamine misread the repacked
    // file from there on: probe 40b D2).
    for i in 0..400u16 {
        stream.extend(label(i + 1, 0, &format!("P{i}")));
        stream.extend(number(i + 1, 1, f64::from(i) + 0.5));
    }
    stream.extend(record(0x000A, &[]));
    assert!(stream.len() > 8192, "{}", stream.len());
    let (labels, rows, _, _) = read(&compound(&stream), "p.xls");
    assert_eq!(labels, strings(&["name", "age"]));
    assert_eq!(rows.len(), 400);
    assert_eq!(rows[..2], [strings(&["P0", "0.5"]), strings(&["P1", "1.5"])]);
}

/// A workbook stream in a compound file (version 3, as Excel writes), as uploaded.
fn compound(stream: &[u8]) -> Vec<u8> {
    let v3 = std::io::Cursor::new(Vec::new());
    let mut out = cfb::CompoundFile::create_with_version(cfb::Version::V3, v3).unwrap();
    out.create_stream("/Workbook").unwrap().write_all(stream).unwrap();
    out.flush().unwrap();
    out.into_inner().into_inner()
}

/// BIFF records for [`measure`]'s tests.
fn record(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut r = typ.to_le_bytes().to_vec();
    r.extend((data.len() as u16).to_le_bytes());
    r.extend(data);
    r
}

fn bof(dt: u16) -> Vec<u8> {
    let mut d = 0x0600u16.to_le_bytes().to_vec();
    d.extend(dt.to_le_bytes());
    d.extend([0u8; 12]);
    record(0x0809, &d)
}

fn number_at(row: u16, col: u16) -> Vec<u8> {
    let mut d = row.to_le_bytes().to_vec();
    d.extend(col.to_le_bytes());
    d.extend([0, 0]);
    d.extend(1.0f64.to_le_bytes());
    record(0x0203, &d)
}

/// A book of these sheets (each its records, BOF and EOF added unless `eof` is false),
/// with a BOUNDSHEET for each index in `named` (several may name one sheet).
fn book(sheets: &[(Vec<u8>, bool)], named: &[usize]) -> Vec<u8> {
    book_with(&[], sheets, named)
}

/// [`book`] with more records in its globals (an SST).
fn book_with(globals: &[u8], sheets: &[(Vec<u8>, bool)], named: &[usize]) -> Vec<u8> {
    let boundsheet = |pos: u32| {
        let mut d = pos.to_le_bytes().to_vec();
        d.extend([0, 0, 1, 0]);
        d.extend(b"S");
        record(0x0085, &d)
    };
    let globals_len =
        bof(5).len() + globals.len() + named.len() * boundsheet(0).len() + record(0x000A, &[]).len();
    let mut bodies = Vec::new();
    let mut starts = Vec::new();
    for (cells, eof) in sheets {
        starts.push(globals_len + bodies.len());
        bodies.extend(bof(0x10));
        bodies.extend(cells);
        if *eof {
            bodies.extend(record(0x000A, &[]));
        }
    }
    let mut stream = bof(5);
    stream.extend(globals);
    for i in named {
        stream.extend(boundsheet(starts[*i] as u32));
    }
    stream.extend(record(0x000A, &[]));
    stream.extend(bodies);
    stream
}

/// A formula's cached text (STRING) goes where calamine puts it, at A1 before any formula:
/// a stray one beside a far cell is a sheet as wide as that, refused before calamine
/// would build it (probe 49d 1: a 5 KB file took 24 GB).
#[test]
fn a_stray_formula_text_counts_where_calamine_puts_it() {
    let far = number_at(65535, 255);
    assert!(
        measure_all(&mut book(&[(far.clone(), true)], &[0])).is_ok(),
        "one far cell is one cell"
    );
    let with_string = [record(0x0207, &[1, 0, 0, b'a']), far].concat();
    let e = measure_all(&mut book(&[(with_string, true)], &[0])).unwrap_err();
    assert!(matches!(e, super::ExtractError::SheetTooLarge { .. }), "{e:?}");
}

/// Each sheet is measured as calamine reads it, from its BOUNDSHEET's offset to its EOF: a
/// sheet without an EOF runs on into the next, and a sheet named twice counts twice
/// (probe 50a F2: both got past the limit).
#[test]
fn sheets_are_measured_as_calamine_reads_them() {
    let corner = number_at(0, 0);
    let far = number_at(65535, 255);
    let two = [(corner.clone(), true), (far.clone(), true)];
    assert!(
        measure_all(&mut book(&two, &[0, 1])).is_ok(),
        "two sheets of one cell each"
    );
    let open_ended = [(corner.clone(), false), (far.clone(), true)];
    let e = measure_all(&mut book(&open_ended, &[0, 1])).unwrap_err();
    assert!(matches!(e, super::ExtractError::SheetTooLarge { .. }), "{e:?}");
    // 5,000,000 cells named once is within the limit; named three times it is not.
    let big = [corner, number_at(49_999, 99)].concat();
    assert!(measure_all(&mut book(&[(big.clone(), true)], &[0])).is_ok());
    let e = measure_all(&mut book(&[(big, true)], &[0, 0, 0])).unwrap_err();
    assert!(matches!(e, super::ExtractError::SheetTooLarge { .. }), "{e:?}");
}

fn measure_all(stream: &mut [u8]) -> Result<(), super::ExtractError> {
    super::xls::measure(stream, u64::MAX)
}

/// An SST of a 32,000-character string (its characters going on in CONTINUE records, as
/// Excel writes them) and then `ab`.
fn sst_long_then_short() -> Vec<u8> {
    let mut strings = Vec::new();
    strings.extend(32_000u16.to_le_bytes());
    strings.push(0);
    strings.extend(vec![b'x'; 32_000]);
    strings.extend(2u16.to_le_bytes());
    strings.push(0);
    strings.extend(b"ab");
    let mut data = [2u32.to_le_bytes(), 2u32.to_le_bytes()].concat();
    // The first record holds 8,224 bytes; each CONTINUE starts the rest of the long
    // string with its encoding flag.
    let first = 8_224 - data.len();
    data.extend(&strings[..first]);
    let mut out = record(0x00FC, &data);
    let mut rest = &strings[first..];
    let long_end = 3 + 32_000 - first;
    let mut left_of_long = long_end;
    while !rest.is_empty() {
        let mut part = Vec::new();
        let take = if left_of_long > 0 {
            part.push(0);
            left_of_long.min(8_223)
        } else {
            rest.len()
        };
        part.extend(&rest[..take]);
        rest = &rest[take..];
        left_of_long -= take.min(left_of_long);
        out.extend(record(0x003C, &part));
    }
    out
}

fn label_sst(row: u16, index: u32) -> Vec<u8> {
    let mut d = row.to_le_bytes().to_vec();
    d.extend([0, 0, 0, 0]);
    d.extend(index.to_le_bytes());
    record(0x00FD, &d)
}

/// Cells of one shared string are counted by the string's length, as calamine copies it
/// into each: a 310 KB file whose 32 KB string filled 8,000 cells took 900 MB (probe 50a
/// F5). The string's characters going on in CONTINUE records are followed, so the next
/// string is known by its own length.
#[test]
fn shared_strings_count_once_per_cell_that_uses_them() {
    let sst = sst_long_then_short();
    let cells = |index: u32, n: u16| (1..=n).flat_map(|r| label_sst(r, index)).collect::<Vec<u8>>();
    // Counted as the most UTF-8 calamine may keep: up to six bytes a character.
    let measure = |cells: Vec<u8>| super::xls::measure(&mut book_with(&sst, &[(cells, true)], &[0]), 600_000);
    assert!(measure(cells(0, 3)).is_ok(), "96,000 characters");
    let e = measure(cells(0, 4)).unwrap_err();
    assert!(
        matches!(e, super::ExtractError::SharedTextTooLarge(600_000)),
        "{e:?}"
    );
    assert!(measure(cells(1, 10_000)).is_ok(), "20,000 characters");
    assert!(measure(cells(1, 60_000)).is_err(), "120,000 characters");
}

/// The whole file, too: calamine reads the long string across its CONTINUE records.
#[test]
fn an_xls_of_a_long_shared_string_reads_and_is_bounded() {
    let sst = sst_long_then_short();
    let mut cells = label_sst(0, 1);
    cells.extend(label_sst(1, 0));
    let stream = book_with(&sst, &[(cells, true)], &[0]);
    let (labels, rows, _, _) = read(&compound(&stream), "long.xls");
    assert_eq!(labels, ["ab"]);
    assert_eq!(rows, [vec!["x".repeat(32_000)]]);
}

/// A formula's parsed expression is blanked for calamine, which would write it out as text
/// Wharf never reads (probe 51a F2: 7-byte tokens each copied a 255-character sheet name);
/// its result is read as before.
#[test]
fn formulas_reach_calamine_as_their_results_only() {
    let mut formula = 1u16.to_le_bytes().to_vec();
    formula.extend([0, 0, 0, 0]);
    formula.extend(2.5f64.to_le_bytes());
    formula.extend([0, 0, 0, 0, 0, 0]);
    let tokens: Vec<u8> = (0..1000).flat_map(|_| [0x3d, 0, 0, 0, 0, 0, 0]).collect();
    formula.extend((tokens.len() as u16).to_le_bytes());
    formula.extend(&tokens);
    let header = {
        let mut d = vec![0, 0, 0, 0, 0, 0];
        d.extend(5u16.to_le_bytes());
        d.push(0);
        d.extend(b"total");
        record(0x0204, &d)
    };
    let cells = [header, record(0x0006, &formula)].concat();
    let mut stream = book(&[(cells, true)], &[0]);
    super::xls::measure(&mut stream, u64::MAX).unwrap();
    let at = stream.windows(8).position(|w| w == 2.5f64.to_le_bytes()).unwrap();
    assert_eq!(stream[at + 14..at + 16], [0, 0], "cce blanked");
    let (labels, rows, _, _) = read(&compound(&stream), "f.xls");
    assert_eq!(labels, ["total"]);
    assert_eq!(rows, [vec!["2.5".to_string()]]);
}
