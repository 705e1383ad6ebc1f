//! Compaction strategies (CASSANDRA.md 5): which sstables to compact next. STCS buckets by size,
//! LCS levels with the L0 fallback to STCS, TWCS windows by max timestamp, UCS levels by density
//! with 5.0 defaults, and the single-sstable tombstone compaction they all fall back on. Each
//! returns a `Plan`; the table runs it under compaction_throughput and concurrent_compactors.

pub mod merge;
mod strategies;

pub use strategies::{plan, Input};

use crate::engine::table::TableSim;

use crate::schema::options::{Compaction, Strategy};
use crate::units;

/// A strategy's options with Cassandra's defaults (CASSANDRA.md 5.1-5.5).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub strategy: Strategy,
    pub min_threshold: f64,
    pub max_threshold: f64,
    pub bucket_low: f64,
    pub bucket_high: f64,
    /// STCS min_sstable_size: 50 MiB.
    pub min_sstable_size: f64,
    /// Whether single-sstable tombstone compactions run: off under TWCS unless the table sets
    /// tombstone_threshold or tombstone_compaction_interval (the `TimeWindowCompactionStrategy`
    /// constructor's `disableTombstoneCompactions`; CASSANDRA.md 5.4).
    pub tombstone_compactions: bool,
    pub tombstone_threshold: f64,
    pub tombstone_compaction_interval: f64,
    pub unchecked_tombstone_compaction: bool,
    /// LCS sstable_size_in_mb (160) and fanout_size (10).
    pub lcs_sstable_size: f64,
    pub fanout: f64,
    /// TWCS window in seconds.
    pub window_s: f64,
    pub expired_check_s: f64,
    /// UCS: fanout f and threshold t from the scaling parameter (default T4).
    pub ucs_fanout: f64,
    pub ucs_threshold: f64,
    pub ucs_target_size: f64,
    pub ucs_base_shards: f64,
    pub ucs_min_size: f64,
    pub ucs_growth: f64,
}

/// LCS: above this many L0 sstables, STCS runs in L0 first (CASSANDRA.md 5.3, MAX_COMPACTING_L0).
pub const MAX_COMPACTING_L0: f64 = 32.0;
/// LCS: levels beyond L0 (CASSANDRA.md 5.3, MAX_LEVEL_COUNT = 9 including L0).
pub const MAX_LEVEL: u32 = 8;

const MIB: f64 = 1024.0 * 1024.0;

impl Params {
    pub fn from(c: &Compaction) -> Params {
        let num = |k: &str, d: f64| -> f64 {
            c.options
                .get(k)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(d)
        };
        let flag = |k: &str| {
            c.options
                .get(k)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        let (ucs_fanout, ucs_threshold) = ucs_scaling(
            c.options
                .get("scaling_parameters")
                .map(String::as_str)
                .unwrap_or("T4"),
        );
        let size = |k: &str, d: f64| -> f64 {
            c.options
                .get(k)
                .and_then(|v| {
                    units::parse_size(v)
                        .ok()
                        .or_else(|| v.trim().parse::<f64>().ok().map(|m| m * MIB))
                })
                .unwrap_or(d)
        };
        Params {
            strategy: c.strategy.clone(),
            min_threshold: f64::from(c.min_threshold()),
            max_threshold: f64::from(c.max_threshold()),
            bucket_low: num("bucket_low", 0.5),
            bucket_high: num("bucket_high", 1.5),
            min_sstable_size: if c.strategy == Strategy::Ucs {
                size("min_sstable_size", 100.0 * MIB)
            } else {
                num("min_sstable_size", 50.0 * MIB)
            },
            tombstone_compactions: c.strategy != Strategy::Twcs
                || c.options.contains_key("tombstone_threshold")
                || c.options.contains_key("tombstone_compaction_interval"),
            tombstone_threshold: num("tombstone_threshold", 0.2),
            tombstone_compaction_interval: num("tombstone_compaction_interval", 86_400.0),
            unchecked_tombstone_compaction: flag("unchecked_tombstone_compaction"),
            lcs_sstable_size: c.lcs_sstable_size_mb() * MIB,
            fanout: num("fanout_size", 10.0),
            window_s: c.window_seconds().unwrap_or(86_400) as f64,
            expired_check_s: num("expired_sstable_check_frequency_seconds", 600.0),
            ucs_fanout,
            ucs_threshold,
            ucs_target_size: size("target_sstable_size", 1024.0 * MIB),
            ucs_base_shards: num("base_shard_count", 4.0),
            ucs_min_size: size("min_sstable_size", 100.0 * MIB),
            ucs_growth: num("sstable_growth", 0.333),
        }
    }

    /// LCS maxBytesForLevel (CASSANDRA.md 5.3): L0 = 4 × sstable size, Ln = fanout^n × size.
    pub fn lcs_max_bytes(&self, level: u32) -> f64 {
        if level == 0 {
            4.0 * self.lcs_sstable_size
        } else {
            self.fanout.powi(level as i32) * self.lcs_sstable_size
        }
    }

    /// UCS shard count for an output of density `d` (CASSANDRA.md 5.5).
    pub fn ucs_shards(&self, d: f64) -> f64 {
        let (b, t, m) = (
            self.ucs_base_shards,
            self.ucs_target_size,
            self.ucs_min_size,
        );
        if d < m {
            1.0
        } else if d < m * b {
            2f64.powf((d / m).log2().floor())
        } else if d < t * b {
            b
        } else {
            2f64.powf(((1.0 - self.ucs_growth) * (d / (t * b)).log2()).round()) * b
        }
    }
}

/// UCS scaling parameter: `Tn` tiered (f = t = n), `Ln` leveled (f = n, t = 2), `N` (2, 2), or a
/// number w (CASSANDRA.md 5.5). Only the first of a per-level list is used.
fn ucs_scaling(s: &str) -> (f64, f64) {
    let first = s.split(',').next().unwrap_or("T4").trim();
    let w = match first.chars().next() {
        Some('T') | Some('t') => first[1..].parse::<f64>().map(|n| n - 2.0).unwrap_or(2.0),
        Some('L') | Some('l') => first[1..].parse::<f64>().map(|n| 2.0 - n).unwrap_or(-8.0),
        Some('N') | Some('n') => 0.0,
        _ => first.parse().unwrap_or(2.0),
    };
    if w > 0.0 {
        (2.0 + w, 2.0 + w)
    } else if w < 0.0 {
        (2.0 - w, 2.0)
    } else {
        (2.0, 2.0)
    }
}

/// What the strategy of table `t` sees at `now`; `busy` lists the levels a running compaction holds.
pub fn strategies_input<'a>(
    t: &'a TableSim,
    now: f64,
    busy: &'a [u32],
    gradual: bool,
) -> Input<'a> {
    Input {
        params: &t.params,
        // Not one being compacted, nor one a flush later in the step has not yet written.
        sstables: t
            .sstables
            .iter()
            .filter(|s| !s.compacting && s.ready_s <= now + 1e-9)
            .collect(),
        now,
        gc_before: now - t.gc_grace,
        flush_bytes: t.flush_bytes,
        weights: &t.parts.weights,
        lcs_cursor: &t.lcs_cursor,
        busy_levels: busy,
        sizes: &t.sizes,
        compression_ratio: t.compression_ratio,
        gradual,
        // Compacting ones too: Cassandra keeps the newest window it has seen
        // (`highestWindowSeen`), and a compaction's inputs were seen before it began. Only
        // TWCS asks, so only TWCS pays the pass over the table's sstables.
        newest_ts: if t.params.strategy == Strategy::Twcs {
            t.sstables
                .iter()
                .filter(|s| s.ready_s <= now + 1e-9)
                .map(|s| s.stats.max_ts)
                .fold(f64::NEG_INFINITY, f64::max)
        } else {
            f64::NEG_INFINITY
        },
    }
}

/// What a strategy wants compacted next.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Records and how many of their copies to take.
    pub inputs: Vec<(u64, f64)>,
    /// Identical merges the plan stands for (the output's copies before sharding).
    pub merges: f64,
    pub output: Output,
    pub why: Why,
    /// LCS promotion: the partitions that move up (the inputs are split to them).
    pub promote: Option<Promotion>,
}

/// Where a plan's output goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Output {
    /// Overlapping sstables at level 0 (STCS, TWCS, LCS's STCS in L0).
    Tier,
    /// An LCS level: the output joins the level's record, split into sstable_size pieces.
    Level(u32),
    /// UCS: sharded output at the given level.
    Shards(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    Bucket,
    Window,
    L0ToL1,
    /// LCS L0 sstables holding less than an sstable's worth, merged and left in L0.
    WithinL0,
    Promotion,
    StcsInL0,
    Tombstone,
}

/// A partial LCS promotion: which partitions of a level move up.
#[derive(Debug, Clone, PartialEq)]
pub struct Promotion {
    pub from: u32,
    pub pidxs: Vec<u32>,
    /// The last partition moved, in token order: where the next promotion of the level starts.
    pub cursor: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucs_scaling_parameters() {
        assert_eq!(ucs_scaling("T4"), (4.0, 4.0));
        assert_eq!(ucs_scaling("L10"), (10.0, 2.0));
        assert_eq!(ucs_scaling("N"), (2.0, 2.0));
    }

    #[test]
    fn lcs_level_sizes_follow_the_fanout() {
        let p = Params::from(&Compaction::default());
        assert_eq!(p.lcs_max_bytes(1), 1600.0 * MIB);
        assert_eq!(p.lcs_max_bytes(2), 16000.0 * MIB);
        assert_eq!(p.lcs_max_bytes(0), 640.0 * MIB);
    }

    #[test]
    fn ucs_shards_grow_with_density() {
        let c = Compaction {
            strategy: Strategy::Ucs,
            ..Compaction::default()
        };
        let p = Params::from(&c);
        assert_eq!(p.ucs_shards(50.0 * MIB), 1.0);
        assert_eq!(p.ucs_shards(250.0 * MIB), 2.0);
        assert_eq!(p.ucs_shards(2048.0 * MIB), 4.0);
        assert!(p.ucs_shards(64.0 * 1024.0 * MIB) >= 8.0);
    }
}
