//! UTC datestamps: milliseconds since 1970 to and from the two OAI-PMH
//! forms, `YYYY-MM-DD` and `YYYY-MM-DDThh:mm:ssZ`, with no time-zone
//! database (UTC only, proleptic Gregorian calendar).

const MS_PER_DAY: i64 = 86_400_000;

/// A parsed OAI-PMH datestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datestamp {
    /// `YYYY-MM-DD`: the whole day; `first_ms` is its first millisecond
    /// (negative before 1970).
    Day {
        /// First millisecond of the day.
        first_ms: i64,
    },
    /// `YYYY-MM-DDThh:mm:ssZ`: the whole second.
    Second {
        /// First millisecond of the second.
        first_ms: i64,
    },
}

impl Datestamp {
    /// The first millisecond the datestamp covers.
    pub fn first_ms(self) -> i64 {
        match self {
            Datestamp::Day { first_ms } | Datestamp::Second { first_ms } => first_ms,
        }
    }

    /// The last millisecond the datestamp covers (a day ends at
    /// 23:59:59.999, a second at .999).
    pub fn last_ms(self) -> i64 {
        match self {
            Datestamp::Day { first_ms } => first_ms + MS_PER_DAY - 1,
            Datestamp::Second { first_ms } => first_ms + 999,
        }
    }

    /// True for day granularity.
    pub fn is_day(self) -> bool {
        matches!(self, Datestamp::Day { .. })
    }
}

/// Days from 1970-01-01 to `y-m-d` (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01 (`civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `n` ASCII digits at `s[at..at + n]`, as a number.
fn digits(s: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = s.get(at..at + n)?;
    part.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ssZ` (exactly these forms,
/// ASCII digits, a real calendar date, hours 00–23, minutes and seconds
/// 00–59). `None` for anything else.
pub fn parse_datestamp(s: &str) -> Option<Datestamp> {
    let b = s.as_bytes();
    if b.len() != 10 && b.len() != 20 {
        return None;
    }
    let y = digits(b, 0, 4)?;
    let m = digits(b, 5, 2)?;
    let d = digits(b, 8, 2)?;
    if b[4] != b'-' || b[7] != b'-' || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let day_ms = days_from_civil(y, m, d) * MS_PER_DAY;
    if b.len() == 10 {
        return Some(Datestamp::Day { first_ms: day_ms });
    }
    let (hh, mm, ss) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    if b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    Some(Datestamp::Second {
        first_ms: day_ms + ((hh * 60 + mm) * 60 + ss) * 1000,
    })
}

/// `YYYY-MM-DDThh:mm:ssZ` of a time in milliseconds since 1970 (the
/// milliseconds are dropped: the datestamp of a stamp is the second it
/// falls in).
pub fn format_datestamp(ms: u64) -> String {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    let days = ms.div_euclid(MS_PER_DAY);
    let secs = ms.rem_euclid(MS_PER_DAY) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Parses an ISO 8601 date or date-time as `modified_since` takes it:
/// `YYYY-MM-DD`, or `YYYY-MM-DDThh:mm[:ss[.fff…]]` followed by `Z`, a
/// `±hh:mm` offset or nothing (UTC). Returns the first millisecond it
/// names.
pub(crate) fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 {
        return None;
    }
    let day = parse_datestamp(s.get(..10)?)?;
    if b.len() == 10 {
        return Some(day.first_ms());
    }
    if b[10] != b'T' && b[10] != b' ' {
        return None;
    }
    let hh = digits(b, 11, 2)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let mm = digits(b, 14, 2)?;
    let mut at = 16;
    let mut ss = 0;
    let mut frac_ms = 0;
    if b.get(at) == Some(&b':') {
        ss = digits(b, at + 1, 2)?;
        at += 3;
        if b.get(at) == Some(&b'.') {
            at += 1;
            let start = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if at == start || at - start > 9 {
                return None;
            }
            let first3: String = s.get(start..at.min(start + 3))?.to_string();
            let scale = 10i64.pow(u32::try_from(3 - first3.len()).ok()?);
            frac_ms = first3.parse::<i64>().ok()? * scale;
        }
    }
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let offset_min = match &b[at..] {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), ..] if b.len() == at + 6 && b[at + 3] == b':' => {
            let oh = digits(b, at + 1, 2)?;
            let om = digits(b, at + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 60 + om;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    Some(day.first_ms() + ((hh * 60 + mm - offset_min) * 60 + ss) * 1000 + frac_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects() {
        assert_eq!(format_datestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_datestamp(1_700_000_000_999), "2023-11-14T22:13:20Z");
        assert_eq!(
            parse_datestamp("2023-11-14T22:13:20Z"),
            Some(Datestamp::Second {
                first_ms: 1_700_000_000_000
            })
        );
        let day = parse_datestamp("2024-02-29").unwrap();
        assert!(day.is_day());
        assert_eq!(
            format_datestamp(day.first_ms() as u64),
            "2024-02-29T00:00:00Z"
        );
        assert_eq!(
            format_datestamp(day.last_ms() as u64),
            "2024-02-29T23:59:59Z"
        );
        assert_eq!(
            parse_datestamp("1969-12-31").map(Datestamp::first_ms),
            Some(-86_400_000)
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-01-32",
            "2024-1-01",
            "2024-01-01T24:00:00Z",
            "2024-01-01T10:00:00",
            "2024-01-01T10:00:00+01:00",
            "2024-01-01t10:00:00Z",
            "२०२४-01-01",
            "",
            "2024-01-01T10:00Z",
            "+024-01-01",
        ] {
            assert_eq!(parse_datestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        for day in -400 * 366..400 * 366 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn iso8601_forms() {
        let base = 1_700_000_000_000;
        assert_eq!(parse_iso8601("2023-11-14T22:13:20Z"), Some(base));
        assert_eq!(parse_iso8601("2023-11-14T22:13:20"), Some(base));
        assert_eq!(parse_iso8601("2023-11-14T22:13:20.5Z"), Some(base + 500));
        assert_eq!(parse_iso8601("2023-11-14T23:13:20+01:00"), Some(base));
        assert_eq!(parse_iso8601("2023-11-14T22:13Z"), Some(base - 20_000));
        assert_eq!(
            parse_iso8601("2023-11-14"),
            Some(base - (22 * 3600 + 13 * 60 + 20) * 1000)
        );
        for bad in [
            "2023-11-14T",
            "2023-11-14T22",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+0100",
            "yesterday",
            "2023-11-14T22:13:20.1234567890Z",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
