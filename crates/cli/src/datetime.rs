//! RFC 3339 date-times to milliseconds since the epoch, for `--to-datetime` (no time
//! crate in the workspace for one parse). Accepted, as Kafka's tool does:
//! `YYYY-MM-DDTHH:MM:SS`, optional fraction (`.sss`, extra digits ignored), and a zone
//! `Z`, `+HH:MM` or `-HH:MM`; without a zone the time is UTC.

/// A point in time given on the command line: milliseconds since the epoch (what
/// Kafka's tools and ListOffsets take) or an RFC 3339 date-time. For clap's
/// `value_parser`, so a bad value is a usage error (exit 2) naming what was wrong.
pub fn parse_instant(text: &str) -> Result<i64, String> {
    if !text.is_empty() && text.bytes().all(|c| c.is_ascii_digit()) {
        return text
            .parse::<i64>()
            .map_err(|_| format!("{text:?} is too large for milliseconds since the epoch"));
    }
    parse_rfc3339(text).map_err(|e| format!("{e}, or milliseconds since the epoch"))
}

/// The milliseconds since the epoch of `text`, or what is wrong with it.
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    let bad = |why: &str| {
        format!("{text:?} is not an RFC 3339 date-time ({why}), e.g. 2026-12-03T13:00:00Z")
    };
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad("expected YYYY-MM-DDTHH:MM:SS"));
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(bad("expected HH:MM:SS"));
    }
    let num = |from: usize, to: usize| -> Result<i64, String> {
        let s = &text[from..to];
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad("a field is not a number"));
        }
        s.parse::<i64>().map_err(|_| bad("a field is not a number"))
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(bad("no such date"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(bad("no such time"));
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad("empty fraction"));
        }
        let ms: String = frac[..digits]
            .chars()
            .chain("000".chars())
            .take(3)
            .collect();
        millis = ms.parse::<i64>().map_err(|_| bad("fraction"))?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "" | "Z" | "z" => 0,
        zone if zone.len() == 6 && matches!(&zone[..1], "+" | "-") && &zone[3..4] == ":" => {
            let h = num(text.len() - 5, text.len() - 3)?;
            let m = num(text.len() - 2, text.len())?;
            if h > 23 || m > 59 {
                return Err(bad("no such zone offset"));
            }
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            sign * (h * 60 + m)
        }
        _ => return Err(bad("the zone is Z, +HH:MM or -HH:MM")),
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_min * 60;
    Ok(secs * 1_000 + millis)
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

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Ok(951_868_800_000));
        assert_eq!(
            parse_rfc3339("2024-02-29T12:30:15.250Z"),
            Ok(1_709_209_815_250)
        );
        // Zone offsets: 14:00+02:00 is 12:00Z.
        assert_eq!(
            parse_rfc3339("2024-02-29T14:30:15.25+02:00"),
            parse_rfc3339("2024-02-29T12:30:15.250Z")
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T12:30:15"),
            parse_rfc3339("2024-02-29T12:30:15Z")
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Ok(-1_000));
    }

    #[test]
    fn an_instant_is_milliseconds_or_a_date_time() {
        assert_eq!(parse_instant("1709209815250"), Ok(1_709_209_815_250));
        assert_eq!(
            parse_instant("2024-02-29T12:30:15.250Z"),
            Ok(1_709_209_815_250)
        );
        assert_eq!(parse_instant("0"), Ok(0));
        for bad in ["", "-5", "99999999999999999999", "12ms", "yesterday"] {
            let err = parse_instant(bad).expect_err(bad);
            assert!(err.contains(bad), "{bad:?}: {err}");
        }
    }

    #[test]
    fn malformed_or_impossible_times_are_refused() {
        for bad in [
            "",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01 25:00:00Z",
            "2024-01-01T00:00:00+5",
            "2024-01-01T00:00:00.Z",
            "yesterday",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?}");
        }
    }
}
