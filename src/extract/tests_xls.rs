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

/// A formula's cached text (STRING) goes where calamine puts it, at A1 before any formula:
/// a stray one beside a far cell is a sheet as wide as that, refused before calamine
/// would build it (probe 49d 1: a 5 KB file took 24 GB).
#[test]
fn a_stray_formula_text_counts_where_calamine_puts_it() {
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
    let far = |row: u16, col: u16| {
        let mut d = row.to_le_bytes().to_vec();
        d.extend(col.to_le_bytes());
        d.extend([0, 0]);
        d.extend(1.0f64.to_le_bytes());
        record(0x0203, &d)
    };
    let sheet = |with_string: bool| {
        let mut stream = bof(5);
        stream.extend(record(0x000A, &[]));
        stream.extend(bof(0x10));
        if with_string {
            stream.extend(record(0x0207, &[1, 0, 0, b'a']));
        }
        stream.extend(far(65535, 255));
        stream.extend(record(0x000A, &[]));
        stream
    };
    assert!(
        super::xls::measure(&mut sheet(false)).is_ok(),
        "one far cell is one cell"
    );
    let e = super::xls::measure(&mut sheet(true)).unwrap_err();
    assert!(matches!(e, super::ExtractError::SheetTooLarge { .. }), "{e:?}");
}
