//! Units of the scenario format (DESIGN.md section 2): durations (`500ms`, `30s`, `15m`, `6h`, `10d`,
//! `2w`), sizes (`400B`, `64KiB`, `8GiB`; `KB`/`MB`/`GB` are powers of 1000), operation rates
//! (`20000/s`, `3M/day`, `50/h`) and byte rates (`64MiB/s`). Parsers return a message and a hint.

/// A parse failure: what was wrong and how to write it instead.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitError {
    pub message: String,
    pub hint: String,
}

fn err(message: String, hint: &str) -> UnitError {
    UnitError {
        message,
        hint: hint.to_string(),
    }
}

const DURATION_HINT: &str =
    "write a duration like \"500ms\", \"30s\", \"15m\", \"6h\", \"10d\" or \"2w\"";
const SIZE_HINT: &str =
    "write a size like \"400B\", \"64KiB\", \"8GiB\" or \"2TiB\" (KB/MB/GB are powers of 1000)";
const RATE_HINT: &str = "write a rate like \"20000/s\", \"3M/day\" or \"50/h\"";
const THROUGHPUT_HINT: &str = "write a byte rate like \"64MiB/s\" or \"16MB/s\"";

/// Splits "12.5KiB" into (12.5, "KiB").
fn split_number(s: &str) -> Option<(f64, &str)> {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|(i, c)| {
            !(c.is_ascii_digit() || *c == '.' || (*i == 0 && (*c == '-' || *c == '+')) || *c == '_')
        })
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let number: String = s[..end].chars().filter(|c| *c != '_').collect();
    let value: f64 = number.parse().ok()?;
    Some((value, s[end..].trim()))
}

/// Splits like [`split_number`], with errors: not a number, or a number too large for a float
/// (310 digits read as infinity).
fn split<'s>(s: &'s str, what: &str, hint: &str) -> Result<(f64, &'s str), UnitError> {
    let (value, unit) = split_number(s).ok_or_else(|| err(format!("'{s}' is not {what}"), hint))?;
    if !value.is_finite() {
        return Err(err(format!("the number in '{s}' is too large"), hint));
    }
    Ok((value, unit))
}

/// Seconds in a duration unit.
fn duration_unit(unit: &str) -> Option<f64> {
    Some(match unit {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 604_800.0,
        _ => return None,
    })
}

/// Parses a duration into seconds.
pub fn parse_duration(s: &str) -> Result<f64, UnitError> {
    let (value, unit) = split(s, "a duration", DURATION_HINT)?;
    if unit.is_empty() {
        return Err(err(format!("'{s}' has no unit"), DURATION_HINT));
    }
    let scale = duration_unit(unit).ok_or_else(|| {
        err(
            format!("unknown duration unit '{unit}' in '{s}'"),
            DURATION_HINT,
        )
    })?;
    if value < 0.0 {
        return Err(err(format!("duration '{s}' is negative"), DURATION_HINT));
    }
    Ok(value * scale)
}

/// Bytes in a size unit.
fn size_unit(unit: &str) -> Option<f64> {
    Some(match unit {
        "B" | "b" | "" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0f64.powi(4),
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        _ => return None,
    })
}

/// Parses a size into bytes (fractional bytes allowed, for distribution parameters).
pub fn parse_size(s: &str) -> Result<f64, UnitError> {
    let (value, unit) = split(s, "a size", SIZE_HINT)?;
    if unit.is_empty() {
        return Err(err(format!("'{s}' has no unit"), SIZE_HINT));
    }
    let scale = size_unit(unit)
        .ok_or_else(|| err(format!("unknown size unit '{unit}' in '{s}'"), SIZE_HINT))?;
    if value < 0.0 {
        return Err(err(format!("size '{s}' is negative"), SIZE_HINT));
    }
    Ok(value * scale)
}

/// Parses a count with an optional SI suffix (`50000`, `1.5M`, `10k`, `2B` for billions).
pub fn parse_count(s: &str) -> Result<f64, UnitError> {
    let hint = "write a count like 50000, \"10k\", \"1.5M\" or \"2B\"";
    let (value, suffix) = split(s, "a count", hint)?;
    let scale = match suffix {
        "" => 1.0,
        "k" | "K" => 1e3,
        "M" | "m" => 1e6,
        "B" | "G" | "b" => 1e9,
        _ => return Err(err(format!("unknown suffix '{suffix}' in '{s}'"), hint)),
    };
    if value < 0.0 {
        return Err(err(format!("count '{s}' is negative"), hint));
    }
    Ok(value * scale)
}

/// Parses an operation rate into operations per second.
pub fn parse_rate(s: &str) -> Result<f64, UnitError> {
    let (count, per) = s
        .split_once('/')
        .ok_or_else(|| err(format!("'{s}' is not a rate (no '/')"), RATE_HINT))?;
    let count = parse_count(count).map_err(|e| err(format!("'{s}': {}", e.message), RATE_HINT))?;
    let per = per.trim();
    let seconds = match split_number(per) {
        Some((n, unit)) if !unit.is_empty() => duration_unit(unit).map(|u| n * u),
        _ => duration_unit(per),
    }
    .ok_or_else(|| {
        err(
            format!("unknown time unit '{per}' in rate '{s}'"),
            RATE_HINT,
        )
    })?;
    if seconds <= 0.0 {
        return Err(err(format!("rate '{s}' divides by zero time"), RATE_HINT));
    }
    Ok(count / seconds)
}

/// Parses a byte rate (`64MiB/s`) into bytes per second.
pub fn parse_throughput(s: &str) -> Result<f64, UnitError> {
    let (size, per) = s.split_once('/').ok_or_else(|| {
        err(
            format!("'{s}' is not a byte rate (no '/')"),
            THROUGHPUT_HINT,
        )
    })?;
    let bytes =
        parse_size(size).map_err(|e| err(format!("'{s}': {}", e.message), THROUGHPUT_HINT))?;
    let seconds = duration_unit(per.trim()).ok_or_else(|| {
        err(
            format!("unknown time unit '{per}' in '{s}'"),
            THROUGHPUT_HINT,
        )
    })?;
    Ok(bytes / seconds)
}

/// A simulated time as findings and verdicts give it: "day 3 (2d 4h)".
pub fn format_day(s: f64) -> String {
    format!(
        "day {} ({})",
        (s / 86_400.0).floor() as u64 + 1,
        format_duration(s)
    )
}

/// Formats seconds the way a person reads a duration (`90s` → `1.5m`, `864000s` → `10d`).
pub fn format_duration(seconds: f64) -> String {
    let units = [
        (604_800.0, "w"),
        (86_400.0, "d"),
        (3600.0, "h"),
        (60.0, "m"),
        (1.0, "s"),
    ];
    for (scale, unit) in units {
        if seconds >= scale && (seconds / scale).fract() == 0.0 {
            return format!("{}{unit}", (seconds / scale) as u64);
        }
    }
    for (scale, unit) in &units[1..] {
        if seconds >= *scale {
            return format!("{:.1}{unit}", seconds / scale);
        }
    }
    if seconds >= 1e-3 {
        return format!("{:.0}ms", seconds * 1e3);
    }
    format!("{seconds}s")
}

/// Formats a measured span to one decimal in its largest unit (`16118s` → `4.5h`).
pub fn format_span(seconds: f64) -> String {
    format_duration(seconds + 1e-9)
}

/// Formats bytes with binary units (`1536` → `1.5 KiB`).
pub fn format_bytes(bytes: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes;
    let mut i = 0;
    while value.abs() >= 1024.0 && i < units.len() - 1 {
        value /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{value:.0} B")
    } else if value >= 100.0 {
        format!("{value:.0} {}", units[i])
    } else {
        format!("{value:.1} {}", units[i])
    }
}

/// Formats a count with SI suffixes (`1500000` → `1.5M`).
pub fn format_count(n: f64) -> String {
    let (value, suffix) = if n >= 1e9 {
        (n / 1e9, "B")
    } else if n >= 1e6 {
        (n / 1e6, "M")
    } else if n >= 1e4 {
        (n / 1e3, "k")
    } else {
        return format!("{}", n.round() as i64);
    };
    format!("{value:.1}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), 0.5);
        assert_eq!(parse_duration("30s").unwrap(), 30.0);
        assert_eq!(parse_duration("15m").unwrap(), 900.0);
        assert_eq!(parse_duration("6h").unwrap(), 21_600.0);
        assert_eq!(parse_duration("10d").unwrap(), 864_000.0);
        assert_eq!(parse_duration("2w").unwrap(), 1_209_600.0);
        assert!(parse_duration("10")
            .unwrap_err()
            .message
            .contains("no unit"));
        assert!(parse_duration("3 fortnights").is_err());
        let huge = format!("1{}s", "0".repeat(400));
        assert!(parse_duration(&huge)
            .unwrap_err()
            .message
            .contains("too large"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("400B").unwrap(), 400.0);
        assert_eq!(parse_size("64KiB").unwrap(), 65_536.0);
        assert_eq!(parse_size("8GiB").unwrap(), 8.0 * 1024.0 * 1024.0 * 1024.0);
        assert_eq!(parse_size("2TiB").unwrap(), 2.0 * 1024f64.powi(4));
        assert_eq!(parse_size("16MB").unwrap(), 16e6);
        assert!(parse_size("12 parsecs").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("20000/s").unwrap(), 20_000.0);
        assert!((parse_rate("3M/day").unwrap() - 3e6 / 86_400.0).abs() < 1e-9);
        assert_eq!(parse_rate("50/h").unwrap(), 50.0 / 3600.0);
        assert_eq!(parse_rate("1_000/s").unwrap(), 1000.0);
        assert!(parse_rate("20000").is_err());
        assert_eq!(parse_throughput("64MiB/s").unwrap(), 64.0 * 1024.0 * 1024.0);
    }

    #[test]
    fn formatting() {
        assert_eq!(format_duration(864_000.0), "10d");
        assert_eq!(format_duration(5400.0), "90m");
        assert_eq!(format_bytes(1536.0), "1.5 KiB");
        assert_eq!(format_count(1_500_000.0), "1.5M");
    }
}
