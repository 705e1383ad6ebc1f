//! What `cassim drive` measured, by sample (the scenario's `sample_every`) and statement: each
//! request's latency from when it was due, errors, tombstone warnings and failures the client
//! saw, and the live rows and tombstone cells the replica reported for traced reads. Percentiles
//! come from the same functions `cassim run` uses (`latency::percentiles`,
//! `metrics::Percentiles`), so a figure means the same on both sides.

use std::collections::BTreeMap;

use crate::latency::{percentiles, LatencyMs};
use crate::metrics::Percentiles;

/// How a request ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ok {
        /// The server's client warnings mention tombstones (tombstone_warn_threshold).
        tombstone_warning: bool,
    },
    /// A read that failed on tombstone_failure_threshold (a read failure).
    TombstoneFailure,
    /// Any other error (timeouts, unavailable), with its text.
    Error(String),
}

/// A traced read's counts, from the replica's "Read N live rows and M tombstone cells".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceCounts {
    pub live_rows: f64,
    pub tombstones: f64,
}

/// Parses a trace event's text; None for other events.
pub fn parse_trace_event(activity: &str) -> Option<TraceCounts> {
    let rest = activity.strip_prefix("Read ")?;
    let (live, rest) = rest.split_once(" live rows and ")?;
    let (tomb, _) = rest.split_once(" tombstone cells")?;
    Some(TraceCounts {
        live_rows: live.trim().parse().ok()?,
        tombstones: tomb.trim().parse().ok()?,
    })
}

/// One statement's measurements in one sample.
#[derive(Debug, Clone, Default)]
pub struct OpSample {
    pub latencies_s: Vec<f64>,
    pub sent: u64,
    pub errors: u64,
    pub warned: u64,
    pub failed: u64,
    pub traces: Vec<TraceCounts>,
}

/// Everything measured, by statement and sample index.
#[derive(Debug, Default)]
pub struct Recorder {
    pub sample_every_s: f64,
    /// `[op][sample]`.
    pub ops: Vec<Vec<OpSample>>,
    /// The first few distinct error texts, for the report.
    pub error_texts: BTreeMap<String, u64>,
}

impl Recorder {
    pub fn new(n_ops: usize, sample_every_s: f64) -> Recorder {
        Recorder {
            sample_every_s,
            ops: vec![Vec::new(); n_ops],
            error_texts: BTreeMap::new(),
        }
    }

    fn slot(&mut self, op: usize, at_s: f64) -> &mut OpSample {
        let k = (at_s / self.sample_every_s).floor().max(0.0) as usize;
        let v = &mut self.ops[op];
        if v.len() <= k {
            v.resize(k + 1, OpSample::default());
        }
        &mut v[k]
    }

    /// A request due at `at_s` that ended after `latency_s`.
    pub fn record(&mut self, op: usize, at_s: f64, latency_s: f64, outcome: Outcome) {
        let s = self.slot(op, at_s);
        s.sent += 1;
        match outcome {
            Outcome::Ok { tombstone_warning } => {
                s.latencies_s.push(latency_s);
                s.warned += u64::from(tombstone_warning);
            }
            Outcome::TombstoneFailure => s.failed += 1,
            Outcome::Error(text) => {
                s.errors += 1;
                if self.error_texts.len() < 8 || self.error_texts.contains_key(&text) {
                    *self.error_texts.entry(text).or_default() += 1;
                }
            }
        }
    }

    /// A traced read (issued at `at_s`) and its replica counts.
    pub fn trace(&mut self, op: usize, at_s: f64, counts: TraceCounts) {
        self.slot(op, at_s).traces.push(counts);
    }

    pub fn samples(&self) -> usize {
        self.ops.iter().map(Vec::len).max().unwrap_or(0)
    }
}

/// One statement's figures over the run, as `summary.json`'s `queries` gives them.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct OpTotals {
    pub sent: u64,
    pub errors: u64,
    pub warned: u64,
    pub failed: u64,
    pub traced: usize,
    pub latency_ms: Option<LatencyMs>,
    /// The worst sample's percentiles of tombstones per traced read.
    pub tombstones_per_read: Percentiles,
    pub live_rows_per_read: Percentiles,
    /// The first second of the run with a warned or failed read.
    pub first_warning_s: Option<f64>,
    pub first_failure_s: Option<f64>,
}

impl OpTotals {
    /// The figures of a statement's samples, each ending `sample_every_s` after the previous
    /// one and the last at `duration_s` (a run need not be a whole number of samples).
    pub fn of(samples: &[OpSample], sample_every_s: f64, duration_s: f64) -> OpTotals {
        let mut t = OpTotals::default();
        let mut all = Vec::new();
        for (k, s) in samples.iter().enumerate() {
            t.sent += s.sent;
            t.errors += s.errors;
            t.warned += s.warned;
            t.failed += s.failed;
            t.traced += s.traces.len();
            all.extend_from_slice(&s.latencies_s);
            let end = ((k + 1) as f64 * sample_every_s).min(duration_s);
            if s.warned > 0 && t.first_warning_s.is_none() {
                t.first_warning_s = Some(end);
            }
            if s.failed > 0 && t.first_failure_s.is_none() {
                t.first_failure_s = Some(end);
            }
            let (tomb, live) = trace_percentiles(&s.traces);
            t.tombstones_per_read = t.tombstones_per_read.worst(&tomb);
            t.live_rows_per_read = t.live_rows_per_read.worst(&live);
        }
        t.latency_ms = percentiles(&all);
        t
    }
}

/// Percentiles of tombstones and of live rows per traced read.
pub fn trace_percentiles(traces: &[TraceCounts]) -> (Percentiles, Percentiles) {
    let tomb: Vec<f64> = traces.iter().map(|c| c.tombstones).collect();
    let live: Vec<f64> = traces.iter().map(|c| c.live_rows).collect();
    (Percentiles::of(&tomb), Percentiles::of(&live))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_events_give_live_rows_and_tombstones() {
        let c = parse_trace_event("Read 1 live rows and 642 tombstone cells").unwrap();
        assert_eq!((c.live_rows, c.tombstones), (1.0, 642.0));
        let w = parse_trace_event(
            "Read 0 live rows and 1001 tombstone cells (see tombstone_warn_threshold)",
        )
        .unwrap();
        assert_eq!(w.tombstones, 1001.0);
        assert!(parse_trace_event("Executing single-partition query on commands").is_none());
    }

    #[test]
    fn totals_take_the_worst_sample_and_the_first_warning() {
        let mut r = Recorder::new(1, 10.0);
        r.record(
            0,
            1.0,
            0.001,
            Outcome::Ok {
                tombstone_warning: false,
            },
        );
        r.record(
            0,
            15.0,
            0.002,
            Outcome::Ok {
                tombstone_warning: true,
            },
        );
        r.record(0, 25.0, 0.0, Outcome::TombstoneFailure);
        r.trace(
            0,
            1.0,
            TraceCounts {
                live_rows: 1.0,
                tombstones: 10.0,
            },
        );
        r.trace(
            0,
            12.0,
            TraceCounts {
                live_rows: 1.0,
                tombstones: 900.0,
            },
        );
        let t = OpTotals::of(&r.ops[0], 10.0, 60.0);
        assert_eq!((t.sent, t.warned, t.failed), (3, 1, 1));
        assert_eq!(t.first_warning_s, Some(20.0));
        assert_eq!(t.first_failure_s, Some(30.0));
        // A run of 25 s: its last sample ends at 25 s, not 30.
        let t = OpTotals::of(&r.ops[0], 10.0, 25.0);
        assert_eq!(t.first_failure_s, Some(25.0));
        assert_eq!(t.tombstones_per_read.p50, 900.0);
        // HdrHistogram keeps two significant digits: 2 ms reads back within 1 %.
        assert!((t.latency_ms.unwrap().max - 2.0).abs() < 0.02);
    }
}
