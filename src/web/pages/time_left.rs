//! How long a running job says it still needs, in words.

use crate::model::job::Job;
use crate::model::now;

pub fn of(j: &Job) -> String {
    let Some(eta) = j.estimated_completion_at else {
        return String::new();
    };
    let seconds = (eta - now()).num_seconds();
    words(seconds)
}

/// How long a job says it still needs, in words; past two days, days (a listener's
/// estimate of the year 9999 read "about 69890581 hours left").
fn words(seconds: i64) -> String {
    match seconds {
        s if s <= 60 => "less than a minute left".into(),
        s if s < 3600 => format!("about {} minutes left", (s + 59) / 60),
        s if s < 48 * 3600 => format!("about {} hours left", (s + 1799) / 3600),
        s if s < 30 * 86_400 => format!("about {} days left", (s + 43_199) / 86_400),
        _ => "more than a month left".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_left_reads_as_a_person_would_say_it() {
        use super::words;
        assert_eq!(words(30), "less than a minute left");
        assert_eq!(words(600), "about 10 minutes left");
        assert_eq!(words(5 * 3600), "about 5 hours left");
        assert_eq!(words(3 * 86_400), "about 3 days left");
        assert_eq!(words(250_000_000_000), "more than a month left");
    }
}
