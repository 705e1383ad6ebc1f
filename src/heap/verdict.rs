//! Verdicts on a node's memory (issue 5, item 4; DESIGN.md 3 "Heap"), from mechanisms with stated
//! thresholds, never from heap sizes:
//!
//! - `out_of_memory`: the old generation cannot hold the live set plus the collector's working
//!   headroom (`gc.rs`), so collections cannot free room and the JVM throws OutOfMemoryError.
//! - `gc_thrashing`: pauses take more of the time than `gc_thrashing_pause_fraction` (HotSpot
//!   G1's own throughput goal, GCTimeRatio=12, about 7.7 %).
//! - `frequent_flushes`: the memtable space (memtable_heap_space × memtable_cleanup_threshold)
//!   forces flushes, and they arrive faster than compaction absorbs them: the flushed sstables
//!   awaiting their first compaction keep growing, by more than one compaction takes (the
//!   table's max_threshold, 32 by default; the same 32 at which LCS gives up on L0, CASSANDRA.md
//!   5.1, 5.3) over `flush_growth_window` (a day, longer than a TWCS daily window's cycle).
//! - `healthy` otherwise.
//!
//! A condition becomes the node's verdict when it holds over consecutive samples spanning
//! `verdict_sustain_s` (frequent flushes: also a whole `flush_growth_window`, so growth is not
//! one window's rise), or the whole of a shorter run, the most severe first; it starts at the first of
//! those samples.

use super::gc::GcSample;
use super::LiveSet;
use crate::units::{format_bytes, format_count, format_duration};

/// A node's verdict, least severe first (the order matters: `max` is the worst).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    #[default]
    Healthy,
    FrequentFlushes,
    GcThrashing,
    OutOfMemory,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::FrequentFlushes => "frequent_flushes",
            Verdict::GcThrashing => "gc_thrashing",
            Verdict::OutOfMemory => "out_of_memory",
        }
    }
}

/// What a node's memtables and flushes did in one sample.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FlushLoad {
    /// Flushes in the sample period, and those the memtable pool's cleanup threshold forced.
    pub flushes: f64,
    pub pool_flushes: f64,
    pub flushes_per_hour: f64,
    /// memtable_heap_space × memtable_cleanup_threshold, and the heap memtables fill per second.
    pub flush_threshold_bytes: f64,
    pub memtable_fill_bytes_per_s: f64,
    /// Serialized bytes of a flushed sstable (recent mean over tables).
    pub flush_sstable_bytes: f64,
    /// The table with the most flushed sstables awaiting their first compaction.
    pub table: String,
    pub pending_flushed: f64,
    pub max_threshold: f64,
    /// The least that count was over the last `flush_growth_window` (its floor: big compactions
    /// make the count swing, the floor only rises when compaction falls behind), and the floor
    /// over the window before (`None` until the run has two windows).
    pub pending_floor: f64,
    pub pending_before: Option<f64>,
    pub growth_window_s: f64,
}

impl FlushLoad {
    /// Flushes arrive faster than compaction absorbs them: the floor of the flushed sstables
    /// awaiting their first compaction rose from one window to the next by more than one
    /// compaction takes (max_threshold).
    pub fn outruns_compaction(&self) -> bool {
        self.pool_flushes > 0.0
            && self
                .pending_before
                .is_some_and(|before| self.pending_floor - before > self.max_threshold)
    }
}

/// The conditions one sample shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Conditions {
    pub out_of_memory: bool,
    pub gc_thrashing: bool,
    pub frequent_flushes: bool,
}

impl Conditions {
    pub fn of(gc: &GcSample, flush: &FlushLoad, thrashing_fraction: f64) -> Conditions {
        Conditions {
            out_of_memory: gc.out_of_memory,
            gc_thrashing: gc.pause_fraction > thrashing_fraction,
            frequent_flushes: flush.outruns_compaction(),
        }
    }

    pub fn holds(&self, v: Verdict) -> bool {
        match v {
            Verdict::OutOfMemory => self.out_of_memory,
            Verdict::GcThrashing => self.gc_thrashing,
            Verdict::FrequentFlushes => self.frequent_flushes,
            Verdict::Healthy => true,
        }
    }

    /// The worst condition of the sample.
    pub fn worst(&self) -> Verdict {
        [
            Verdict::OutOfMemory,
            Verdict::GcThrashing,
            Verdict::FrequentFlushes,
        ]
        .into_iter()
        .find(|v| self.holds(*v))
        .unwrap_or(Verdict::Healthy)
    }
}

/// The verdict over a series of `(t_s, conditions)`: the most severe condition held over
/// `sustain_s` of consecutive samples (or to the end), with the index of the sample it starts at.
pub fn sustained(
    series: &[(f64, Conditions)],
    sample_every_s: f64,
    sustain_s: impl Fn(Verdict) -> f64,
) -> (Verdict, Option<usize>) {
    let run_span = match (series.first(), series.last()) {
        (Some(a), Some(b)) => b.0 - a.0 + sample_every_s,
        _ => 0.0,
    };
    for v in [
        Verdict::OutOfMemory,
        Verdict::GcThrashing,
        Verdict::FrequentFlushes,
    ] {
        // A run shorter than the span asked for is judged on the whole of it.
        let need = sustain_s(v).min(run_span);
        let mut start: Option<usize> = None;
        for (i, (t, c)) in series.iter().enumerate() {
            if !c.holds(v) {
                start = None;
                continue;
            }
            let s = *start.get_or_insert(i);
            let span = t - series[s].0 + sample_every_s;
            if span >= need - 1e-9 {
                return (v, Some(s));
            }
        }
    }
    (Verdict::Healthy, None)
}

/// The reason for `verdict` at a sample, with the numbers a reader can check.
pub fn reason(
    verdict: Verdict,
    gc: &GcSample,
    live: &LiveSet,
    flush: &FlushLoad,
    heap_bytes: f64,
    thrashing_fraction: f64,
) -> String {
    let pct = |x: f64| format!("{:.1} %", 100.0 * x);
    let mib_s = |x: f64| format!("{:.1} MiB/s", x / 1024.0 / 1024.0);
    let flush_every = if flush.memtable_fill_bytes_per_s > 0.0 {
        flush.flush_threshold_bytes / flush.memtable_fill_bytes_per_s
    } else {
        f64::INFINITY
    };
    match verdict {
        Verdict::OutOfMemory => format!(
            "java.lang.OutOfMemoryError: Java heap space: the old generation holds {} of the {} heap, and must hold a live set of {} ({}) plus {} of working headroom (promotions of {} while a concurrent cycle marks it, and one young collection's survivors)",
            format_bytes(gc.old_capacity_bytes),
            format_bytes(heap_bytes),
            format_bytes(gc.old_live_bytes),
            live_parts(live),
            format_bytes(gc.headroom_bytes),
            mib_s(gc.promotion_bytes_per_s),
        ),
        Verdict::GcThrashing => format!(
            "GC pauses take {} of the time, over {} (G1's GCTimeRatio=12 goal): young collections every {} of {} ms each, {} concurrent cycles and {} full collections of {} per hour; the old generation's live set is {} of {}",
            pct(gc.pause_fraction),
            pct(thrashing_fraction),
            format_duration(gc.young_gc_interval_s),
            format_count(gc.young_gc_pause_s * 1000.0),
            format_count(gc.old_cycles_per_hour),
            format_count(gc.full_gcs_per_hour),
            format_duration(gc.full_gc_pause_s),
            format_bytes(gc.old_live_bytes),
            format_bytes(gc.old_capacity_bytes),
        ),
        Verdict::FrequentFlushes => format!(
            "memtable space too small for the write rate: flushes start at {} of memtables (memtable_heap_space × memtable_cleanup_threshold), which writes fill at {} every {}: {} flushes per hour of {} sstables, and the flushed sstables of {} awaiting their first compaction never fell below {} over the last {}, up from {} the {} before, more than the {} one compaction takes (max_threshold): compaction does not keep up with them",
            format_bytes(flush.flush_threshold_bytes),
            mib_s(flush.memtable_fill_bytes_per_s),
            format_duration(flush_every),
            format_count(flush.flushes_per_hour),
            format_bytes(flush.flush_sstable_bytes),
            flush.table,
            format_count(flush.pending_floor),
            format_duration(flush.growth_window_s),
            format_count(flush.pending_before.unwrap_or(0.0)),
            format_duration(flush.growth_window_s),
            format_count(flush.max_threshold),
        ),
        Verdict::Healthy => format!(
            "the old generation's live set of {} ({}) and {} of headroom fit its {}; GC pauses take {} of the time; flushes every {} ({} per hour) are absorbed by compaction",
            format_bytes(gc.old_live_bytes),
            live_parts(live),
            format_bytes(gc.headroom_bytes),
            format_bytes(gc.old_capacity_bytes),
            pct(gc.pause_fraction),
            format_duration(flush_every),
            format_count(flush.flushes_per_hour),
        ),
    }
}

fn live_parts(l: &LiveSet) -> String {
    let parts = [
        ("baseline", l.baseline),
        ("memtables", l.memtables),
        ("key cache", l.key_cache),
        ("counter cache", l.counter_cache),
        ("sstable readers", l.sstables),
        ("reads in flight", l.reads),
        ("writes in flight", l.writes),
        ("compactions", l.compaction),
    ];
    parts
        .iter()
        .filter(|(_, b)| *b >= 1024.0 * 1024.0)
        .map(|(n, b)| format!("{n} {}", format_bytes(*b)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(oom: bool, thrash: bool, flush: bool) -> Conditions {
        Conditions {
            out_of_memory: oom,
            gc_thrashing: thrash,
            frequent_flushes: flush,
        }
    }

    #[test]
    fn a_verdict_needs_its_condition_sustained() {
        let hour = 3600.0;
        // One noisy sample of thrashing, then flushes held for three hours from the third.
        let series = vec![
            (hour, c(false, true, false)),
            (2.0 * hour, c(false, false, false)),
            (3.0 * hour, c(false, false, true)),
            (4.0 * hour, c(false, false, true)),
            (5.0 * hour, c(false, false, true)),
        ];
        assert_eq!(
            sustained(&series, hour, |_| 2.0 * hour),
            (Verdict::FrequentFlushes, Some(2))
        );
        assert_eq!(
            sustained(&series[..2], hour, |_| 2.0 * hour),
            (Verdict::Healthy, None)
        );
        // A run shorter than the span is judged on the whole of it; a condition only at the
        // end of a longer run is not a verdict.
        assert_eq!(
            sustained(&series[..1], hour, |_| 2.0 * hour),
            (Verdict::GcThrashing, Some(0))
        );
        let late = vec![
            (hour, c(false, false, false)),
            (2.0 * hour, c(false, false, false)),
            (3.0 * hour, c(false, false, true)),
        ];
        assert_eq!(
            sustained(&late, hour, |_| 2.0 * hour),
            (Verdict::Healthy, None)
        );
    }

    #[test]
    fn the_worst_condition_wins() {
        assert_eq!(c(true, true, true).worst(), Verdict::OutOfMemory);
        assert_eq!(c(false, false, true).worst(), Verdict::FrequentFlushes);
        assert!(Verdict::OutOfMemory > Verdict::Healthy);
        assert_eq!(Verdict::GcThrashing.word(), "gc_thrashing");
    }
}
