//! Arbitrary bytes through sniffing and every reader: the first byte picks the file name's
//! extension (names steer only what the bytes leave open), the rest is the file. Every table
//! is read to its end (rows capped), as the extraction job reads it.
#![no_main]

#[path = "../../src/extract/mod.rs"]
#[allow(dead_code)]
mod extract;

use libfuzzer_sys::fuzz_target;
use std::io::Write;

const NAMES: [&str; 8] = [
    "f.csv", "f.xlsx", "f.xls", "f.ods", "f.json", "f.jsonl", "f.tsv", "f.txt",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let name = NAMES[pick as usize % NAMES.len()];
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(bytes))
        .expect("temp file");
    if let Ok(ex) = extract::open(&path, name) {
        for table in ex.tables {
            for row in table.rows.take(100_000) {
                let _ = row;
            }
        }
        let _ = ex.notes.list();
    }
});
