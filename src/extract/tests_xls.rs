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
    let v3 = std::io::Cursor::new(Vec::new());
    let mut compound = cfb::CompoundFile::create_with_version(cfb::Version::V3, v3).unwrap();
    compound
        .create_stream("/Workbook")
        .unwrap()
        .write_all(&stream)
        .unwrap();
    compound.flush().unwrap();
    let bytes = compound.into_inner().into_inner();
    let (labels, rows, _, _) = read(&bytes, "p.xls");
    assert_eq!(labels, strings(&["name", "age"]));
    assert_eq!(rows.len(), 400);
    assert_eq!(rows[..2], [strings(&["P0", "0.5"]), strings(&["P1", "1.5"])]);
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
    let boundsheet = |pos: u32| {
        let mut d = pos.to_le_bytes().to_vec();
        d.extend([0, 0, 1, 0]);
        d.extend(b"S");
        record(0x0085, &d)
    };
    let globals_len = bof(5).len() + named.len() * boundsheet(0).len() + record(0x000A, &[]).len();
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
        super::xls::measure(&mut book(&[(far.clone(), true)], &[0])).is_ok(),
        "one far cell is one cell"
    );
    let with_string = [record(0x0207, &[1, 0, 0, b'a']), far].concat();
    let e = super::xls::measure(&mut book(&[(with_string, true)], &[0])).unwrap_err();
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
        super::xls::measure(&mut book(&two, &[0, 1])).is_ok(),
        "two sheets of one cell each"
    );
    let open_ended = [(corner.clone(), false), (far.clone(), true)];
    let e = super::xls::measure(&mut book(&open_ended, &[0, 1])).unwrap_err();
    assert!(matches!(e, super::ExtractError::SheetTooLarge { .. }), "{e:?}");
    // 5,000,000 cells named once is within the limit; named three times it is not.
    let big = [corner, number_at(49_999, 99)].concat();
    assert!(super::xls::measure(&mut book(&[(big.clone(), true)], &[0])).is_ok());
    let e = super::xls::measure(&mut book(&[(big, true)], &[0, 0, 0])).unwrap_err();
    assert!(matches!(e, super::ExtractError::SheetTooLarge { .. }), "{e:?}");
}
