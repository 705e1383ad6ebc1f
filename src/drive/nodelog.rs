//! What only the node's log tells: when TWCS dropped fully expired sstables whole. Cassandra
//! logs the decision at DEBUG in `TimeWindowCompactionStrategy.getNextBackgroundSSTables`
//! ("Including expired sstables: [...]", the sstables' paths naming keyspace and table);
//! `validation/cassandra` turns that logger on and writes the log's times in UTC.

use std::collections::BTreeMap;

/// Milliseconds since the Unix epoch of a log line's `YYYY-MM-DD HH:MM:SS,mmm` (logback's
/// ISO8601 date, read as UTC), the first such stamp in the line.
pub fn line_time_ms(line: &str) -> Option<u64> {
    let b = line.as_bytes();
    (0..b.len().saturating_sub(22)).find_map(|i| stamp_at(&b[i..i + 23]))
}

/// The stamp `b` holds exactly, if it is one.
fn stamp_at(b: &[u8]) -> Option<u64> {
    let shape = b"dddd-dd-dd dd:dd:dd,ddd";
    let fits = shape.iter().zip(b).all(|(s, c)| match s {
        b'd' => c.is_ascii_digit(),
        _ => s == c,
    });
    if !fits {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> i64 {
        b[r].iter().fold(0, |acc, c| acc * 10 + i64::from(c - b'0'))
    };
    let (y, mo, d) = (n(0..4), n(5..7), n(8..10));
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    u64::try_from(secs * 1000 + n(20..23)).ok()
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Per `ks.table` of `tables`, the end of the first sample (of `every_s`) after
/// `start_unix_ms` in which the log says TWCS dropped fully expired sstables of it: the same
/// definition as `cassim run`'s `first_expired_drop_s`.
pub fn first_expired_drops(
    log: &str,
    tables: &[String],
    start_unix_ms: u64,
    every_s: f64,
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in log
        .lines()
        .filter(|l| l.contains("Including expired sstables"))
    {
        let Some(ms) = line_time_ms(line) else {
            continue;
        };
        let Some(after) = ms.checked_sub(start_unix_ms) else {
            continue;
        };
        let t = after as f64 / 1000.0;
        let sample_end = ((t / every_s).ceil() * every_s).max(every_s);
        for name in tables {
            let Some((ks, table)) = name.split_once('.') else {
                continue;
            };
            // Data directories are `<keyspace>/<table>-<table id>/`.
            if line.contains(&format!("/{ks}/{table}-")) {
                out.entry(name.clone()).or_insert(sample_end);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_stamps_read_as_utc() {
        let line = "DEBUG [CompactionExecutor:1] 2026-12-07 06:15:06,320 TimeWindowCompactionStrategy.java:128 - x";
        // 2026-12-07T06:15:06.320Z
        assert_eq!(line_time_ms(line), Some(1_796_624_106_320));
        assert_eq!(line_time_ms("INFO no stamp here"), None);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn the_first_drop_of_each_table_rounds_up_to_its_sample() {
        let log = "\
DEBUG [CompactionExecutor:2] 2026-12-07 06:15:06,320 TimeWindowCompactionStrategy.java:128 - Including expired sstables: [BigTableReader:big(path='/n/data/cassim_v/readings-681b/nb-3-big-Data.db')]
DEBUG [CompactionExecutor:2] 2026-12-07 06:15:40,000 TimeWindowCompactionStrategy.java:128 - Including expired sstables: [BigTableReader:big(path='/n/data/cassim_v/readings-681b/nb-5-big-Data.db')]
DEBUG [CompactionExecutor:2] 2026-12-07 06:15:41,000 TimeWindowCompactionStrategy.java:128 - TWCS skipping check for fully expired SSTables
DEBUG [CompactionExecutor:2] 2026-12-07 06:10:00,000 TimeWindowCompactionStrategy.java:128 - Including expired sstables: [BigTableReader:big(path='/n/data/cassim_v/other-9/nb-1-big-Data.db')]
";
        let start = line_time_ms("2026-12-07 06:14:00,000").unwrap();
        let tables = vec![
            "cassim_v.readings".to_string(),
            "cassim_v.other".to_string(),
        ];
        let drops = first_expired_drops(log, &tables, start, 15.0);
        // 66.32 s after the start: the sample ending at 75 s. The other table's drop came
        // before this drive began.
        assert_eq!(drops.get("cassim_v.readings"), Some(&75.0));
        assert_eq!(drops.get("cassim_v.other"), None);
    }
}
