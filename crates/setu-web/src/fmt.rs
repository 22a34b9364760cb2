//! How codes, dates and numbers read on a page.

use setu_core::codes;

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's
/// civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

const MS_PER_DAY: u64 = 86_400_000;

/// A time in ms since 1970 as `YYYY-MM-DD` (UTC).
pub fn date(ts_ms: u64) -> String {
    let (y, m, d) = civil((ts_ms / MS_PER_DAY) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The year (UTC) of a time in ms since 1970.
pub fn year(ts_ms: u64) -> i64 {
    civil((ts_ms / MS_PER_DAY) as i64).0
}

/// A change in basis points as a signed percentage with a real minus
/// sign: `−78.1 %`.
pub fn percent(bp: i64) -> String {
    let s = format!("{:.1}", bp.unsigned_abs() as f64 / 100.0);
    match bp.signum() {
        -1 => format!("\u{2212}{s}\u{a0}%"),
        1 => format!("+{s}\u{a0}%"),
        _ => format!("{s}\u{a0}%"),
    }
}

/// A count with thousands separators: `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size in bytes as a reader reads it: `900 bytes`, `2.5 MB`, `1.2 GB`
/// (powers of 1,000, as file managers show them).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if n < 1_000 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1_000.0;
    let mut unit = 0;
    while v >= 1_000.0 && unit + 1 < UNITS.len() {
        v /= 1_000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// A country's English short name, else its code.
pub fn country(iso3: &str) -> String {
    codes::country(iso3).map_or_else(|| iso3.to_string(), |c| c.name.to_string())
}

/// A sector (`dac5:15110` or `cofog:01.3`, or the two parts) by name.
pub fn sector(vocabulary: &str, code: &str) -> String {
    let name = match vocabulary {
        "dac5" => codes::dac5_name(code),
        "cofog" => codes::cofog_name(code),
        _ => None,
    };
    match name {
        Some(n) => format!("{n} ({} {code})", vocabulary.to_ascii_uppercase()),
        None => format!("{vocabulary}:{code}"),
    }
}

/// A sector facet value (`dac5:15110`) by name.
pub fn sector_value(value: &str) -> String {
    match value.split_once(':') {
        Some((v, c)) => sector(v, c),
        None => sector("dac5", value),
    }
}

/// An IATI activity status by name.
pub fn status(code: u64) -> String {
    codes::activity_status_name(code).map_or_else(|| format!("status {code}"), str::to_string)
}

/// An SDG goal (`"16"`) with its name.
pub fn sdg_goal(goal: &str) -> String {
    match goal.parse::<u8>().ok().and_then(codes::sdg_goal_name) {
        Some(n) => format!("{goal}. {n}"),
        None => format!("Goal {goal}"),
    }
}

/// A word such as `self_reported` for a person: `self reported`, first
/// letter upper case.
pub fn word(code: &str) -> String {
    let s = code.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => s,
    }
}

/// An amount in minor units of a currency (2 decimals assumed) as
/// `BDT 12.50`.
pub fn money(minor: u64, currency: &str) -> String {
    format!(
        "{currency}\u{a0}{}.{:02}",
        thousands(minor / 100),
        minor % 100
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_a_file_manager_shows_them() {
        assert_eq!(bytes(999), "999 bytes");
        assert_eq!(bytes(1_000), "1.0 kB");
        assert_eq!(bytes(2_500_000), "2.5 MB");
        assert_eq!(bytes(1_073_741_824), "1.1 GB");
    }

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_767_225_600_000), "2026-01-01");
        assert_eq!(date(1_767_225_599_999), "2025-12-31");
        assert_eq!(year(1_767_225_600_000), 2026);
        assert_eq!(date(951_782_400_000), "2000-02-29");
    }

    #[test]
    fn numbers() {
        assert_eq!(percent(-7814), "\u{2212}78.1\u{a0}%");
        assert_eq!(percent(250), "+2.5\u{a0}%");
        assert_eq!(percent(0), "0.0\u{a0}%");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(money(123_456, "BDT"), "BDT\u{a0}1,234.56");
    }

    #[test]
    fn names() {
        assert_eq!(country("BGD"), "Bangladesh");
        assert_eq!(country("ZZZ"), "ZZZ");
        assert_eq!(status(2), "Implementation");
        assert!(sdg_goal("16").starts_with("16. "));
        assert_eq!(word("self_reported"), "Self reported");
    }
}
