//! Text encodings: byte-order marks, UTF-16 without one, legacy encodings judged on the
//! whole file, and UTF-8 with bytes of another encoding pasted in.

use super::tests::{read, strings};
use super::*;

#[test]
fn utf16_without_a_byte_order_mark_is_read_as_text() {
    let text = "email,name\nä@b.com,Äpfel\nbob@b.com,Bob\n";
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    for (bytes, name) in [(le, "le.csv"), (be, "be.csv")] {
        let (labels, rows, _, _) = read(&bytes, name);
        assert_eq!(labels, strings(&["email", "name"]), "{name}");
        assert_eq!(rows[0], strings(&["ä@b.com", "Äpfel"]), "{name}");
    }
}

/// A Windows-1252 export whose first 64 KB are plain ASCII keeps the accents that come
/// after them (probe 49d 7: every one became U+FFFD).
#[test]
fn an_encoding_shown_only_past_the_head_is_read_right() {
    let mut text = String::from("id,name\r\n");
    for i in 0..5000 {
        text.push_str(&format!("{i},plain{i}\r\n"));
    }
    text.push_str("5000,Café Müller\r\n5001,Zoë\r\n");
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(bytes.len() > 70_000);
    let (_, rows, _, ex) = read(&bytes, "late.csv");
    assert_eq!(rows[5000], strings(&["5000", "Café Müller"]));
    assert_eq!(rows[5001], strings(&["5001", "Zoë"]));
    assert!(
        ex.notes.list().iter().all(|n| !n.contains("replaced")),
        "{:?}",
        ex.notes.list()
    );
}

/// UTF-8 text with a few Windows-1252 bytes pasted in keeps its UTF-8 and reads the stray
/// bytes as Windows-1252, with a note, past the head or within it (probe 51a F5: the whole
/// file read as Windows-1252 turned every good accent into mojibake).
#[test]
fn utf8_with_stray_windows_1252_bytes_keeps_both() {
    let mut bytes = b"id,name\r\n1,Zo\xc3\xab\r\n2,K\xc3\xb6ln\r\n3,Jos\xc3\xa9\r\n".to_vec();
    for i in 4..5000 {
        bytes.extend(format!("{i},plain{i}\r\n").as_bytes());
    }
    for i in 0..8 {
        bytes.extend(format!("late{i},Caf").as_bytes());
        bytes.extend(b"\xe9\xa0\r\n");
    }
    assert!(bytes.len() > 70_000);
    let (_, rows, _, ex) = read(&bytes, "mixed.csv");
    assert_eq!(rows[0], strings(&["1", "Zoë"]));
    assert_eq!(rows[2], strings(&["3", "José"]));
    assert_eq!(rows[4999], strings(&["late0", "Caf\u{e9}\u{a0}"]));
    assert!(
        ex.notes
            .list()
            .iter()
            .any(|n| n.contains("16 bytes of windows-1252")),
        "{:?}",
        ex.notes.list()
    );
    let (_, rows, _, _) = read(b"id,name\n1,Zo\xc3\xab\n2,Caf\xe9\n", "small.csv");
    assert_eq!(rows, [strings(&["1", "Zoë"]), strings(&["2", "Café"])]);
}

/// A big UTF-8 file is told UTF-8 at the speed of validation, a character cut by the end
/// of a chunk read included; one stray byte past the head still sends it the slow way.
#[test]
fn a_character_across_a_chunk_boundary_is_utf8() {
    let mut bytes = b"id,name\n".to_vec();
    while bytes.len() < (1 << 20) - 1 {
        bytes.extend(b"1,plain\n");
    }
    bytes.truncate((1 << 20) - 1);
    bytes.extend("é,Zoë\n".as_bytes());
    bytes.extend(b"2,end\n");
    let (_dir, path) = super::tests_hardening::file_with(&bytes, "big.csv");
    let head = bytes[..64 * 1024].to_vec();
    assert!(matches!(
        encoding::beyond_utf8(&path, &head, false).unwrap(),
        encoding::BeyondUtf8::Nothing
    ));
    bytes.extend(b"3,Caf\xe9\n");
    let (_dir, path) = super::tests_hardening::file_with(&bytes, "big2.csv");
    assert!(matches!(
        encoding::beyond_utf8(&path, &head, false).unwrap(),
        encoding::BeyondUtf8::Mixed { stray: 1, .. }
    ));
}

/// Legacy encodings written in high bytes throughout form well-formed UTF-8 sequences by
/// chance far more often than Latin ones: they are read in their own encoding, not refused
/// as binary (probe 52a 2, a regression of the stray-byte rule).
#[test]
fn legacy_multibyte_and_thai_files_read_in_their_encoding() {
    let cases: [(&'static encoding_rs::Encoding, &str); 4] = [
        (
            encoding_rs::SHIFT_JIS,
            "氏名,フリガナ,住所\n山田太郎,ﾔﾏﾀﾞ ﾀﾛｳ,東京都千代田区\n鈴木花子,ｽｽﾞｷ ﾊﾅｺ,大阪府大阪市\n",
        ),
        (
            encoding_rs::GBK,
            "姓名,城市,备注\n张伟,北京,经理\n王芳,上海,会计\n李娜,广州,销售\n",
        ),
        (
            encoding_rs::EUC_KR,
            "이름,도시\n김민수,서울\n이영희,부산\n박지훈,인천\n",
        ),
        (
            encoding_rs::WINDOWS_874,
            "ชื่อ,เมือง\nสมชาย ใจดี,กรุงเทพมหานคร\nสมหญิง รักดี,เชียงใหม่\n",
        ),
    ];
    for (enc, text) in cases {
        let (bytes, _, unmappable) = enc.encode(text);
        assert!(!unmappable, "{}", enc.name());
        let name = format!("{}.csv", enc.name());
        let (labels, rows, _, ex) = read(&bytes, &name);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            labels.join(","),
            lines[0],
            "{}: {:?}",
            enc.name(),
            ex.notes.list()
        );
        assert_eq!(rows[0].join(","), lines[1], "{}", enc.name());
    }
}

/// UTF-8 with many pasted Windows-1252 lines imports, its sample read as the file will be
/// (probe 52a 3: read as plain UTF-8, it looked binary).
#[test]
fn utf8_with_many_pasted_lines_is_not_binary() {
    let mut bytes = "id,name\n1,Zoë\n2,Köln\n3,José\n4,Málaga\n5,Ærø\n6,Øster\n"
        .as_bytes()
        .to_vec();
    for i in 0..30 {
        bytes.extend(format!("p{i},").as_bytes());
        bytes.extend(b"\xe9\xe8\xe0\xf6\xfc\n");
    }
    let (_, rows, _, ex) = read(&bytes, "pasted.csv");
    assert_eq!(rows[0], strings(&["1", "Zoë"]));
    assert_eq!(rows[6], strings(&["p0", "éèàöü"]));
    assert!(
        ex.notes.list().iter().any(|n| n.contains("150 bytes")),
        "{:?}",
        ex.notes.list()
    );
}

/// A Latin-script legacy file whose accented capital happens to stand before a symbol (a
/// well-formed UTF-8 sequence of another script) is read in its own encoding, not as UTF-8
/// with that pair turned into `ӣ` (probe 53a 6).
#[test]
fn a_chance_sequence_in_a_legacy_file_is_no_utf8() {
    let cases: [(&'static encoding_rs::Encoding, &str); 3] = [
        (
            encoding_rs::WINDOWS_1250,
            "firma,miasto\nSPÓŁKA AKCYJNA,Łódź\nKowalski i Syn,Kraków\n",
        ),
        (encoding_rs::WINDOWS_1252, "name,note\nMaß…,Straße\nMüller,Köln\n"),
        (
            encoding_rs::WINDOWS_1252,
            "name,note\n«CAFÉ»,Crème brûlée\nZoë,ça va\n",
        ),
    ];
    for (enc, text) in cases {
        let (bytes, _, _) = enc.encode(text);
        let (labels, rows, _, ex) = read(&bytes, "legacy.csv");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(labels.join(","), lines[0]);
        assert_eq!(
            rows[0].join(","),
            lines[1],
            "{}: {:?}",
            enc.name(),
            ex.notes.list()
        );
        assert_eq!(rows[1].join(","), lines[2]);
    }
}

/// A Mac Roman file (Excel for Mac's "CSV (Macintosh)") holds bytes Windows-1252 has no
/// letter for: read as Mac Roman (probe 60b D4: `Hélène` read `HŽl\u{8f}ne`, unsaid), in
/// the head and past it; a Windows-1252 file stays Windows-1252.
#[test]
fn a_mac_roman_file_is_read_as_mac_roman() {
    let text = "Nom;Ville\r\nHélène;Besançon\r\nJérôme;Orléans\r\n";
    let (bytes, _, lossy) = encoding_rs::MACINTOSH.encode(text);
    assert!(!lossy);
    let (_, rows, _, _) = read(&bytes, "fr_mac.csv");
    assert_eq!(rows[0], strings(&["Hélène", "Besançon"]));
    assert_eq!(rows[1], strings(&["Jérôme", "Orléans"]));
    let mut long = String::from("Nom;Ville\r\n");
    for i in 0..5000 {
        long.push_str(&format!("plain{i};town\r\n"));
    }
    long.push_str("Françoise;Besançon\r\n");
    let (bytes, _, _) = encoding_rs::MACINTOSH.encode(&long);
    let (_, rows, _, _) = read(&bytes, "late_mac.csv");
    assert_eq!(rows[5000], strings(&["Françoise", "Besançon"]));
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(text);
    let (_, rows, _, _) = read(&bytes, "fr_win.csv");
    assert_eq!(rows[0], strings(&["Hélène", "Besançon"]));
    // A Windows-1252 text with one stray byte it has no letter for keeps its reading.
    let mut stray = bytes.to_vec();
    stray.extend_from_slice(b"Zo\xEB;x\x81y\r\n");
    let (_, rows, _, _) = read(&stray, "stray.csv");
    assert_eq!(rows[0], strings(&["Hélène", "Besançon"]));
    assert_eq!(rows[2][0], "Zoë");
}

/// German and Spanish Mac Roman text holds none of the bytes Windows-1252 leaves unused:
/// its small letters inside words tell it (probe 69d D4: `JŸrgen GrŠ§er`, `MŸnchen`,
/// unsaid). Windows-1252 text with its own in-word bytes (’ š œ) keeps its reading.
#[test]
fn mac_roman_without_unused_bytes_is_told_by_its_words() {
    for text in [
        "Name;Straße;Ort\r\nJürgen Größer;Hauptstraße 5;München\r\nÄnne Öztürk;Bäckergasse 1;Düsseldorf\r\n",
        "name,city\rCafé Müller,Köln\rAnn,Bonn\r",
        "nombre,ciudad\nMaría,Málaga\nJosé,Cádiz\n",
        // No á: é after a small letter tells it (probe 70a D6).
        "nombre,apellido\nJosé,Peña\nInés,Gómez\n",
    ] {
        let (bytes, _, lossy) = encoding_rs::MACINTOSH.encode(text);
        assert!(!lossy);
        let (labels, rows, _, _) = read(&bytes, "mac.csv");
        let lines: Vec<&str> = text.split(['\r', '\n']).filter(|l| !l.is_empty()).collect();
        let first: Vec<&str> = lines[0].split([';', ',']).collect();
        assert_eq!(labels, strings(&first), "{text}");
        let second: Vec<&str> = lines[1].split([';', ',']).collect();
        assert_eq!(rows[0], strings(&second), "{text}");
    }
    // (™ before a small letter is English, probe 70a D5: `Acme™s` read `Acmeôs`.)
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode("name,note\nAcme,Acme™s range – “new”\n");
    let (_, rows, _, _) = read(&bytes, "tm.csv");
    assert_eq!(rows[0], strings(&["Acme", "Acme™s range – “new”"]));
    let text = "name,note\nDušan,don’t\nFrançois,cœur et sœur\nZoë,naïve\n";
    let (bytes, _, lossy) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!lossy);
    let (_, rows, _, _) = read(&bytes, "win.csv");
    assert_eq!(rows[0], strings(&["Dušan", "don’t"]));
    assert_eq!(rows[1], strings(&["François", "cœur et sœur"]));
}
