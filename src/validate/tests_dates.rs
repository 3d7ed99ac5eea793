//! Dates: the spellings read, two-digit years, days that do not exist, and dates that read
//! two ways.

use super::tests::{cast, field};
use super::*;
use crate::blueprint::FieldType;
use serde_json::json;

#[test]
fn dates_are_normalised_to_iso() {
    for given in [
        "2024-03-05",
        "2024/03/05",
        "03/05/2024",
        "Mar 5, 2024",
        "5 March 2024",
        "2024-03-05T10:11:12Z",
        "2024-03-05T10:11:12.345Z",
        "2024-03-05T10:11",
        "2024-03-05T10:11:12+02:00",
        "2024-03-05T10:11:12-0500",
        "2024-03-05T10:11:12+05",
        "2024-03-05T10:11:12+01:00[Europe/Paris]",
        "2024-03-05T10:11:12Z[UTC]",
        "2024-03-05T10:11:12 UTC",
        "2024-03-05T10:11:12GMT",
        "2024-03-05T10:11:12,5Z",
        "2024-03-05T24:00:00",
        "2024-03-05 10:11:12+00",
        "2024-03-05 10:11:12.123-05:00",
        "2024-03-05 13:45:00",
        "2024-03-05 13:45",
        "20240305",
    ] {
        assert_eq!(
            cast(FieldType::Date, json!(given)).value,
            json!("2024-03-05"),
            "{given}"
        );
    }
    // Day-first only when month-first is impossible.
    assert_eq!(
        cast(FieldType::Date, json!("25/12/2024")).value,
        json!("2024-12-25")
    );
    let cell = cast(FieldType::Date, json!("2024-02-30"));
    assert_eq!(cell.value, json!("2024-02-30"));
    for bad in [
        "2024-03-05 and more",
        "2021-02-28 25:00:00",
        "2021-02-28 99:99",
        "2021-02-28 13:45:00 garbage",
        // The time after a `T` is read too (probe 56b 4).
        "2024-01-01T99:99:99",
        "2024-02-29T25:00:00",
        "2024-01-01T10:00:00+99:00",
        "2024-01-01T10:00:00+01:75",
        "2024-01-01Tnoon",
        "2024-01-01T",
    ] {
        assert!(!cast(FieldType::Date, json!(bad)).messages.is_empty(), "{bad}");
    }
    assert!(cell.messages[0].message.contains("is not a date"));
    // Two-digit years are read as Excel reads them: 00-29 this century's, 30-99 the last's
    // (probe 69d D3: `12/25/45` was 2045), never the year 24.
    for (given, want) in [
        ("1/2/24", "2024-01-02"),
        ("12/31/24", "2024-12-31"),
        ("31/12/24", "2024-12-31"),
        ("31.12.99", "1999-12-31"),
        ("12/25/45", "1945-12-25"),
        ("31.12.50", "1950-12-31"),
        ("13/01/66", "1966-01-13"),
        ("12/31/29", "2029-12-31"),
        ("1-13-30", "1930-01-13"),
        ("3/5/2024", "2024-03-05"),
    ] {
        assert_eq!(cast(FieldType::Date, json!(given)).value, json!(want), "{given}");
    }
    // A day that does not exist is named (probe 69d D6: "use a format such as 2024-01-31").
    for (bad, why) in [
        ("2024-02-30", "February 2024 has no day 30"),
        ("29.02.2023", "February 2023 has no day 29"),
        ("2024-13-01", "there is no month 13"),
        ("02/30/2024", "February 2024 has no day 30"),
        ("31/04/2024", "April 2024 has no day 31"),
        ("13/14/2024", "neither 13 nor 14 is a month"),
    ] {
        let cell = cast(FieldType::Date, json!(bad));
        assert_eq!(
            cell.messages[0].message,
            format!("\"{bad}\" is not a date: {why}")
        );
    }
    for bad in ["0-1-1", "1/2/3/4", "0024-01-02"] {
        let cell = cast(FieldType::Date, json!(bad));
        assert!(!cell.messages.is_empty(), "{bad} -> {}", cell.value);
    }
}

#[test]
fn a_date_read_against_its_fields_order_is_warned() {
    let date = field("d", FieldType::Date, false);
    let read = |given: &str, order| cast_cell_read(&date, &json!(given), Reading::Dates(order));
    let cell = read("13/02/2005", DateOrder::MonthFirst);
    assert_eq!(cell.value, json!("2005-02-13"));
    assert_eq!(cell.messages[0].kind, MessageType::Warn);
    assert!(
        cell.messages[0]
            .message
            .contains("can only be read day first, as 13 February 2005"),
        "{:?}",
        cell.messages
    );
    assert!(read("12/25/2024", DateOrder::DayFirst).messages[0]
        .message
        .contains("can only be read month first"));
    assert!(read("13/02/2005", DateOrder::DayFirst).messages.is_empty());
    assert!(read("13/02/2005", DateOrder::Unknown).messages.is_empty());
}

#[test]
fn a_date_that_reads_two_ways_is_read_month_first_with_a_warning_unless_its_batch_says() {
    let cell = cast(FieldType::Date, json!("01/02/2024"));
    assert_eq!(cell.value, json!("2024-01-02"));
    assert_eq!(cell.messages.len(), 1);
    assert_eq!(cell.messages[0].kind, MessageType::Warn);
    assert_eq!(
        cell.messages[0].message,
        "01/02/2024 was read month first, as 2 January 2024; if it is 1 February 2024, write 2024-02-01"
    );
    // One order only: no warning. The same day twice, or a day past 12: no question.
    let date = field("d", FieldType::Date, false);
    let read = |given: &str, order| cast_cell_read(&date, &json!(given), Reading::Dates(order));
    assert_eq!(read("01/02/2024", DateOrder::DayFirst).value, json!("2024-02-01"));
    assert_eq!(
        read("01-02-2024 10:00", DateOrder::DayFirst).value,
        json!("2024-02-01")
    );
    assert_eq!(
        read("01/02/2024", DateOrder::MonthFirst).value,
        json!("2024-01-02")
    );
    assert!(read("01/02/2024", DateOrder::DayFirst).messages.is_empty());
    assert!(read("01/02/2024", DateOrder::MonthFirst).messages.is_empty());
    assert!(cast(FieldType::Date, json!("05/05/2024")).messages.is_empty());
    assert!(cast(FieldType::Date, json!("25/12/2024")).messages.is_empty());
    // A batch's order never turns a date that reads one way only into another.
    assert_eq!(read("12/25/2024", DateOrder::DayFirst).value, json!("2024-12-25"));
    assert_eq!(
        read("25/12/2024", DateOrder::MonthFirst).value,
        json!("2024-12-25")
    );
    // A whole record reads each date field in its own order.
    let config = SheetConfig {
        name: "S".into(),
        slug: "s".into(),
        fields: vec![date.clone(), field("e", FieldType::Date, false)],
        together: vec![],
        json: json!({}),
    };
    let checked = check_values_read(
        &config,
        vec![json!("03/04/2024"), json!("03/04/2024")],
        &[Reading::Dates(DateOrder::DayFirst)],
    );
    assert_eq!(checked.vals, vec![json!("2024-04-03"), json!("2024-03-04")]);
    assert!(!checked.messages.contains_key(&0));
    assert_eq!(checked.messages[&1][0].kind, MessageType::Warn);
    assert!(checked.valid(), "a warning is not an error");
}
