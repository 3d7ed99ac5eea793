//! Times as people read them: "3 minutes ago", "yesterday at 14:05", with the exact time
//! on hover. Every page shows a time through [`When`], which renders itself as
//! `<time datetime="ISO" title="exact">words</time>`.
//!
//! Times are in UTC (Wharf does not know the reader's zone); the title says so.

use chrono::{Datelike, Duration, NaiveDateTime};
use std::fmt;

/// A moment, ready for a template: `{{ row.created }}` renders the whole `<time>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    pub iso: String,
    pub exact: String,
    pub words: String,
}

impl When {
    /// `t` as read at `now`.
    pub fn relative_to(t: &NaiveDateTime, now: &NaiveDateTime) -> Self {
        When {
            iso: crate::model::iso(t),
            exact: exact(t),
            words: words(t, now),
        }
    }

    /// `t` as read now.
    pub fn new(t: &NaiveDateTime) -> Self {
        Self::relative_to(t, &chrono::Utc::now().naive_utc())
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // All three parts are made above from a timestamp (digits, month and day names,
        // English words), never from anyone's input: nothing to escape.
        write!(
            f,
            r#"<time datetime="{}" title="{}">{}</time>"#,
            self.iso, self.exact, self.words
        )
    }
}

/// Safe to write unescaped: see the note in `fmt` above.
impl askama::filters::HtmlSafe for When {}

/// The exact time, for the tooltip: "Mon 30 Nov 2026, 14:05:12 UTC".
pub fn exact(t: &NaiveDateTime) -> String {
    t.format("%a %-d %b %Y, %H:%M:%S UTC").to_string()
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// `t` in words, read at `now`: "just now", "3 minutes ago", "2 hours ago", "today at
/// 09:10", "yesterday at 14:05", "3 Nov at 08:00", "3 Nov 2025"; ahead of `now` (a next
/// retry): "in 4 minutes", "tomorrow at 06:00".
pub fn words(t: &NaiveDateTime, now: &NaiveDateTime) -> String {
    let ahead = *t - *now;
    let clock = t.format("%H:%M");
    let day_diff = (now.date() - t.date()).num_days();
    if ahead > Duration::seconds(30) {
        if ahead < Duration::minutes(60) {
            // Rounded up: a retry due in 90 s is "in 2 minutes", never "in 1 minute" late.
            return format!("in {}", plural((ahead.num_seconds() + 59) / 60, "minute"));
        }
        return match -day_diff {
            0 if ahead < Duration::hours(6) => format!("in {}", plural(ahead.num_hours(), "hour")),
            0 => format!("today at {clock}"),
            1 => format!("tomorrow at {clock}"),
            _ => on_day(t, now, &clock.to_string()),
        };
    }
    let ago = -ahead;
    if ago < Duration::seconds(45) {
        return "just now".into();
    }
    if ago < Duration::minutes(60) {
        // 45 s to 89 s read as "1 minute ago".
        return format!("{} ago", plural(((ago.num_seconds() + 30) / 60).max(1), "minute"));
    }
    match day_diff {
        0 if ago < Duration::hours(6) => format!("{} ago", plural(ago.num_hours(), "hour")),
        0 => format!("today at {clock}"),
        1 => format!("yesterday at {clock}"),
        _ => on_day(t, now, &clock.to_string()),
    }
}

/// A day further away: the time of day this year, the year otherwise.
fn on_day(t: &NaiveDateTime, now: &NaiveDateTime, clock: &str) -> String {
    if t.year() == now.year() {
        format!("{} at {clock}", t.format("%-d %b"))
    } else {
        t.format("%-d %b %Y").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn the_past_reads_as_people_say_it() {
        let now = at("2026-11-30 14:30:00");
        let cases = [
            ("2026-11-30 14:30:00", "just now"),
            ("2026-11-30 14:29:20", "just now"),
            ("2026-11-30 14:29:10", "1 minute ago"),
            ("2026-11-30 14:27:00", "3 minutes ago"),
            ("2026-11-30 13:31:00", "59 minutes ago"),
            ("2026-11-30 13:30:00", "1 hour ago"),
            ("2026-11-30 09:00:00", "5 hours ago"),
            ("2026-11-30 08:05:00", "today at 08:05"),
            ("2026-11-29 14:05:00", "yesterday at 14:05"),
            ("2026-11-03 08:00:00", "3 Nov at 08:00"),
            ("2025-12-24 18:00:00", "24 Dec 2025"),
        ];
        for (t, want) in cases {
            assert_eq!(words(&at(t), &now), want, "{t}");
        }
    }

    #[test]
    fn shortly_after_midnight_yesterday_is_hours_ago() {
        let now = at("2026-11-30 00:30:00");
        assert_eq!(words(&at("2026-11-29 22:00:00"), &now), "yesterday at 22:00");
        assert_eq!(words(&at("2026-11-29 23:40:00"), &now), "50 minutes ago");
    }

    #[test]
    fn the_future_reads_ahead() {
        let now = at("2026-11-30 14:30:00");
        assert_eq!(words(&at("2026-11-30 14:30:20"), &now), "just now");
        assert_eq!(words(&at("2026-11-30 14:31:30"), &now), "in 2 minutes");
        assert_eq!(words(&at("2026-11-30 16:45:00"), &now), "in 2 hours");
        assert_eq!(words(&at("2026-11-30 22:00:00"), &now), "today at 22:00");
        assert_eq!(words(&at("2026-12-01 06:00:00"), &now), "tomorrow at 06:00");
        assert_eq!(words(&at("2026-12-05 06:00:00"), &now), "5 Dec at 06:00");
    }

    #[test]
    fn renders_a_time_element_with_the_exact_time_on_hover() {
        let now = at("2026-11-30 14:30:00");
        let w = When::relative_to(&at("2026-11-29 14:05:09"), &now);
        assert_eq!(
            w.to_string(),
            r#"<time datetime="2026-11-29T14:05:09.000Z" title="Sun 29 Nov 2026, 14:05:09 UTC">yesterday at 14:05</time>"#
        );
    }
}
