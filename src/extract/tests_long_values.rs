//! Values too long to hold: a quote never closed, a row, a JSON text or a JSON Lines line
//! past 16 MiB stop or are passed over rather than held whole in memory.

use super::tests_hardening::{fail, read};
use super::ExtractError;

/// Whether the notes say a quote opened on line 3 is never closed.
fn unclosed_on_line_3(notes: &[String]) -> bool {
    notes
        .iter()
        .any(|n| n.contains("a quote opened on line 3 is never closed"))
}

#[test]
fn an_unclosed_quote_is_noted_with_its_line() {
    let text = b"name,note\nAda,fine\nBob,\"never closed\nCy,x\nDee,y\n";
    let (_, rows, _, notes) = read(text, "quote.csv");
    assert_eq!(rows.len(), 2);
    assert!(unclosed_on_line_3(&notes), "{notes:?}");
    let (_, _, _, notes) = read(b"name,note\nAda,\"two\nlines\"\nBob,5\" pipe\n", "fine.csv");
    assert!(notes.is_empty(), "{notes:?}");
    // On the last line, where it takes only the file's last line break (probe 58d F2).
    let (_, _, _, notes) = read(b"name,email\nA,a@x.com\n\"unclosed,d@x.com\n", "last.csv");
    assert!(unclosed_on_line_3(&notes), "{notes:?}");
    // A quote that swallows more than a row may hold stops the reading there, rather than
    // holding the rest of the file in memory as one value.
    let mut big = b"name,note\nAda,fine\nBob,\"never closed\n".to_vec();
    big.extend(b"Cy,ok\n".repeat(3_000_000));
    let (_, rows, rejects, notes) = read(&big, "big.csv");
    assert_eq!(rows.len(), 1, "{rejects:?}");
    assert!(
        rejects
            .iter()
            .any(|r| r.line == 3 && r.message.contains("line 3 runs past 16 MiB")),
        "{rejects:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("probably never closed")),
        "{notes:?}"
    );
    // A row past 16 MiB with no quote open is rejected, the rest of its line passed over
    // unread rather than held (a 900 MiB line held 3 GB: probe 58d F1); the rows around it
    // are read.
    let mut long = b"name,note\nAl,fine\n".to_vec();
    long.extend(b"x".repeat(17 * 1024 * 1024));
    long.extend(b",y\r\nCy,ok\n");
    let (_, rows, rejects, notes) = read(&long, "long.csv");
    assert_eq!(rows, [["Al", "fine"], ["Cy", "ok"]], "{}", rejects.len());
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].line, 3);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("the row on line 3 runs past 16 MiB")),
        "{notes:?}"
    );
    // An inch mark elsewhere (`15.6"`) does not hide it (the file's quotes are even).
    let inch = b"sku,title,price\nA1,Laptop 15.6\" screen,999\nA3,\"unclosed title,7\nA4,ok,8\nA5,ok,9\n";
    let (_, rows, _, notes) = read(inch, "inch.csv");
    assert_eq!(rows.len(), 2);
    assert!(unclosed_on_line_3(&notes), "{notes:?}");
}

/// A JSON text past 16 MiB stops the reading with a reason, rather than being held whole
/// three times over (probe 58d F1: a 300 MiB value took 0.9 GB). One up to a cell's 1 MiB
/// is read, with `\"` and `\\` inside it.
#[test]
fn a_json_text_past_sixteen_megabytes_is_refused() {
    let mut big = br#"[{"name":"A","blob":""#.to_vec();
    big.extend(b"x".repeat(17 * 1024 * 1024));
    big.extend(br#""},{"name":"B","blob":"y"}]"#);
    let e = fail(&big, "big.json");
    assert_eq!(e, ExtractError::JsonTextTooLong);
    assert!(e.to_string().contains("runs past 16 MiB"), "{e}");
    // A number as long (probe 63c D2: a 150 MB number took 636 MB and a minute).
    let mut number = br#"[{"name":"A","amount":1"#.to_vec();
    number.extend(b"0".repeat(17 * 1024 * 1024));
    number.extend(br#"},{"name":"B","amount":2}]"#);
    assert_eq!(fail(&number, "number.json"), ExtractError::JsonTextTooLong);
    let mut fine = br#"[{"name":"A","blob":"a \" quote and \\ "#.to_vec();
    fine.extend(b"x".repeat(1000));
    fine.extend(br#""},{"name":"B","blob":"y"}]"#);
    let (labels, rows, _, _) = read(&fine, "fine.json");
    assert_eq!(labels, ["name", "blob"]);
    assert_eq!(rows.len(), 2);
    assert!(rows[0][1].starts_with("a \" quote and \\ x"), "{:?}", rows[0][1]);
}

/// A JSON Lines line past 16 MiB is a reject, passed over without being held; the lines
/// after it are read (probe 58d F1).
#[test]
fn a_json_line_past_sixteen_megabytes_is_a_reject() {
    let mut text = b"{\"name\":\"A\"}\r\n{\"name\":\"".to_vec();
    text.extend(b"x".repeat(17 * 1024 * 1024));
    text.extend(b"\"}\n{\"name\":\"C\"}");
    let (labels, rows, rejects, _) = read(&text, "big.jsonl");
    assert_eq!(labels, ["name"]);
    assert_eq!(rows, [["A"], ["C"]]);
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].line, 2);
    assert!(
        rejects[0].message.contains("a line holds at most 16 MiB"),
        "{}",
        rejects[0].message
    );
}
