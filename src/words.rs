//! Counts in words, as people write them: "1 record", "4,210 records", never "record(s)"
//! (probes 69e D7, 71d D5).

/// `n` with its thousands marked, and the noun that agrees with it.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        crate::extract::thousands(n),
        if n == 1 { one } else { many }
    )
}

/// `counted` for "record".
pub fn records(n: u64) -> String {
    counted(n, "record", "records")
}

/// `counted` for "value".
pub fn values(n: u64) -> String {
    counted(n, "value", "values")
}

/// The verb after a count: "has" or "have".
pub fn has(n: u64) -> &'static str {
    if n == 1 {
        "has"
    } else {
        "have"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_agrees_with_its_noun() {
        assert_eq!(records(1), "1 record");
        assert_eq!(records(0), "0 records");
        assert_eq!(values(28_743), "28,743 values");
        assert_eq!(format!("{} {}", records(2), has(2)), "2 records have");
    }
}
