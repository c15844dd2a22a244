//! Dates and times in words, without chrono's `format` (a strftime engine
//! the bundle does not need for the few patterns the pages use).

use chrono::{DateTime, Datelike, Timelike, Utc};

/// `t` written by `pattern`: `%Y %m %d %H %M %S` (zero-padded), `%a` (Mon…),
/// every other character as it is.
pub fn fmt(t: &DateTime<Utc>, pattern: &str) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&t.year().to_string()),
            Some('m') => push2(&mut out, t.month()),
            Some('d') => push2(&mut out, t.day()),
            Some('H') => push2(&mut out, t.hour()),
            Some('M') => push2(&mut out, t.minute()),
            Some('S') => push2(&mut out, t.second()),
            Some('a') => out.push_str(DAYS[t.weekday().num_days_from_monday() as usize]),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

fn push2(out: &mut String, n: u32) {
    if n < 10 {
        out.push('0');
    }
    out.push_str(&n.to_string());
}
