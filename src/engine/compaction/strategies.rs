//! The choice of the next compaction per strategy (CASSANDRA.md 5.2-5.5) and the single-sstable
//! tombstone compaction (5.1, `worthDroppingTombstones`). Records with several copies take part
//! as that many sstables of their size.

use super::{Output, Params, Plan, Promotion, Why, MAX_COMPACTING_L0, MAX_LEVEL};
use crate::engine::sstable::SSTable;
use crate::schema::options::Strategy;

/// What a strategy sees: the table's sstables not being compacted, and the clock.
pub struct Input<'a> {
    pub params: &'a Params,
    pub sstables: Vec<&'a SSTable>,
    pub now: f64,
    pub gc_before: f64,
    /// The average flush size (UCS's m).
    pub flush_bytes: f64,
    pub weights: &'a [f64],
    /// LCS: the last partition promoted from each level (round robin, as `lastCompactedKeys`).
    pub lcs_cursor: &'a [u32],
    /// Levels (LCS) that have a compaction running: neither source nor target of another.
    pub busy_levels: &'a [u32],
    pub sizes: &'a crate::engine::frag::TableSizes,
    pub compression_ratio: f64,
    /// Compactions complete as flushes arrive (compaction unthrottled): a step's flushes were
    /// compacted min_threshold at a time as they came, so the newest are still waiting.
    pub gradual: bool,
    /// The newest write time in any of the table's sstables on disk, compacting or not: TWCS's
    /// current window is the one holding it (`highestWindowSeen`), not the clock's (TWCS only;
    /// negative infinity for the other strategies).
    pub newest_ts: f64,
}

pub fn plan(input: &Input) -> Option<Plan> {
    let chosen = match input.params.strategy {
        Strategy::Lcs => lcs(input),
        Strategy::Twcs => twcs(input),
        Strategy::Ucs => ucs(input),
        _ => stcs(&input.sstables, input.params, input.gradual),
    };
    chosen.or_else(|| tombstone(input))
}

/// STCS buckets (CASSANDRA.md 5.2): sizes sorted ascending; an sstable joins the bucket whose
/// average it is within [bucket_low, bucket_high] of, or that is, like it, below min_sstable_size.
fn stcs(sstables: &[&SSTable], p: &Params, gradual: bool) -> Option<Plan> {
    let mut members: Vec<&SSTable> = sstables.to_vec();
    members.sort_by(|a, b| {
        a.bytes_per_copy()
            .total_cmp(&b.bytes_per_copy())
            .then(a.id.cmp(&b.id))
    });
    let mut buckets: Vec<(f64, f64, Vec<&SSTable>)> = Vec::new(); // (avg, copies, members)
    for s in members {
        let size = s.bytes_per_copy();
        let joins = buckets.last().is_some_and(|(avg, _, _)| {
            (size > avg * p.bucket_low && size < avg * p.bucket_high)
                || (size < p.min_sstable_size && *avg < p.min_sstable_size)
        });
        if joins {
            let (avg, n, list) = buckets.last_mut().expect("a bucket");
            *avg = (*avg * *n + size * s.copies) / (*n + s.copies);
            *n += s.copies;
            list.push(s);
        } else {
            buckets.push((size, s.copies, vec![s]));
        }
    }
    // Cassandra picks by read hotness, which is alike for alike sstables here: the smallest
    // qualifying bucket goes first (assumed; CASSANDRA.md 10 lists the hotness choice unverified).
    let (_, _, list) = buckets
        .into_iter()
        .find(|(_, n, _)| *n >= p.min_threshold - 1e-9)?;
    if gradual && list[0].copies < 2.0 * p.max_threshold {
        return Some(take_arrived(&list, p));
    }
    Some(take_tier(&list, p, Why::Bucket))
}

/// Up to max_threshold sstables of a bucket; a record with many alike copies compacts in batches
/// of max_threshold at once.
fn take_tier(list: &[&SSTable], p: &Params, why: Why) -> Plan {
    let first = list[0];
    if first.copies >= 2.0 * p.max_threshold {
        let merges = (first.copies / p.max_threshold).floor();
        return Plan {
            inputs: vec![(first.id, merges * p.max_threshold)],
            merges,
            output: Output::Tier,
            why,
            promote: None,
        };
    }
    let mut inputs = Vec::new();
    let mut taken = 0.0;
    for s in list {
        let take = s.copies.min(p.max_threshold - taken).floor();
        if take < 1.0 {
            break;
        }
        inputs.push((s.id, take));
        taken += take;
    }
    Plan {
        inputs,
        merges: 1.0,
        output: Output::Tier,
        why,
        promote: None,
    }
}

/// A bucket whose sstables arrived one flush at a time while compaction kept up: Cassandra
/// compacted each min_threshold of them as the last arrived, so the oldest min_threshold merge;
/// the output rejoins the bucket if it is still alike (or small), and the next plan takes the
/// following ones, until fewer than min_threshold, the newest, are left waiting.
fn take_arrived(list: &[&SSTable], p: &Params) -> Plan {
    let mut by_age: Vec<&SSTable> = list.to_vec();
    by_age.sort_by(|a, b| {
        a.stats
            .max_ts
            .total_cmp(&b.stats.max_ts)
            .then(a.id.cmp(&b.id))
    });
    let mut left = p.min_threshold.max(2.0);
    let mut inputs = Vec::new();
    for s in by_age {
        let take = s.copies.min(left).floor();
        if take < 1.0 {
            break;
        }
        inputs.push((s.id, take));
        left -= take;
    }
    Plan {
        inputs,
        merges: 1.0,
        output: Output::Tier,
        why: Why::Bucket,
        promote: None,
    }
}

/// TWCS (CASSANDRA.md 5.4): windows by max timestamp; the current window by STCS rules, any older
/// window with two or more sstables compacted whole (up to max_threshold).
fn twcs(input: &Input) -> Option<Plan> {
    let p = input.params;
    // TimeWindowCompactionStrategy.getCompactionCandidates: the current window is the newest
    // any sstable reached, so a window stays current (STCS within it) until a flush holds data of
    // the next (found by the real node: twcs-ttl compacted a minute's three flushes at the
    // minute's end, the real node only after the next flush).
    let current = (input.newest_ts / p.window_s).floor();
    // Sstables by window, newest window first (one sort, no map: R1 plans ten thousand times a
    // run over two hundred records).
    let window = |s: &SSTable| (s.stats.max_ts / p.window_s).floor();
    let mut by_window: Vec<(f64, &SSTable)> =
        input.sstables.iter().map(|s| (window(s), *s)).collect();
    crate::metrics::sort_stable_by_key(&mut by_window, |w| !crate::metrics::total_order_key(w.0));
    for group in by_window.chunk_by(|a, b| a.0 == b.0) {
        let w = group[0].0;
        let copies: f64 = group.iter().map(|(_, s)| s.copies).sum();
        if w >= current {
            if copies >= p.min_threshold {
                let members: Vec<&SSTable> = group.iter().map(|(_, s)| *s).collect();
                if let Some(plan) = stcs(&members, p, input.gradual) {
                    return Some(plan);
                }
            }
        } else if copies >= 2.0 {
            let mut sorted: Vec<&SSTable> = group.iter().map(|(_, s)| *s).collect();
            sorted.sort_by(|a, b| a.stats.min_ts.total_cmp(&b.stats.min_ts));
            let mut inputs = Vec::new();
            let mut taken = 0.0;
            for s in sorted {
                let take = s.copies.min(p.max_threshold - taken).floor();
                if take < 1.0 {
                    break;
                }
                inputs.push((s.id, take));
                taken += take;
            }
            return Some(Plan {
                inputs,
                merges: 1.0,
                output: Output::Tier,
                why: Why::Window,
                promote: None,
            });
        }
    }
    None
}

/// LCS (CASSANDRA.md 5.3): the highest level over its size limit promotes a share of its
/// partitions into the next (round robin); more than 32 L0 sstables first get an STCS round in
/// L0; otherwise two L0 sstables or more go into L1 when they hold more than an sstable's worth,
/// and merge within L0 when they do not.
fn lcs(input: &Input) -> Option<Plan> {
    let p = input.params;
    // Level sizes are on-disk (compressed) bytes, as sstable_size_in_mb measures them.
    let level_bytes = |l: u32| -> f64 {
        input
            .sstables
            .iter()
            .filter(|s| s.level == l)
            .map(|s| s.stats.bytes * input.compression_ratio)
            .sum()
    };
    let l0: Vec<&SSTable> = input
        .sstables
        .iter()
        .copied()
        .filter(|s| s.level == 0)
        .collect();
    let l0_count: f64 = l0.iter().map(|s| s.copies).sum();
    let busy = |l: u32| input.busy_levels.contains(&l);
    if l0_count > MAX_COMPACTING_L0 && !busy(0) {
        if let Some(plan) = stcs(&l0, p, input.gradual) {
            return Some(Plan {
                why: Why::StcsInL0,
                ..plan
            });
        }
    }
    for level in (1..MAX_LEVEL).rev() {
        let bytes = level_bytes(level);
        let limit = p.lcs_max_bytes(level);
        if bytes <= limit * 1.001 || busy(level) || busy(level + 1) {
            continue;
        }
        let excess = (bytes - limit).max(p.lcs_sstable_size);
        return promote(input, level, (excess / bytes).min(1.0));
    }
    if l0_count < 2.0 || busy(0) {
        return None;
    }
    // LeveledManifest.getCandidatesFor(0): the oldest L0 sstables (they overlap: writes spread
    // over the token range), at most max_threshold; they join L1 only when they hold more than
    // an sstable's worth, else they merge among themselves and stay in L0 (getNextLevel); fewer
    // than two candidates do nothing. Found by the real node: upserts-lcs' flushes merged in L0
    // ("Compacted 2 sstables ... to level=0") while cassim sent each flush into L1 alone, so its
    // reads met one sstable where the real ones met two or three.
    let mut inputs: Vec<(u64, f64)> = Vec::new();
    let (mut taken, mut bytes) = (0.0, 0.0);
    let mut sorted = l0.clone();
    sorted.sort_by(|a, b| a.stats.min_ts.total_cmp(&b.stats.min_ts));
    for s in sorted {
        let take = s.copies.min(p.max_threshold - taken).floor();
        if take < 1.0 {
            break;
        }
        inputs.push((s.id, take));
        taken += take;
        bytes += s.stats.bytes * input.compression_ratio * take / s.copies;
    }
    if bytes <= p.lcs_sstable_size {
        return (taken >= 2.0).then_some(Plan {
            inputs,
            merges: 1.0,
            output: Output::Tier,
            why: Why::WithinL0,
            promote: None,
        });
    }
    if busy(1) {
        return None;
    }
    for s in input.sstables.iter().filter(|s| s.level == 1) {
        inputs.push((s.id, s.copies));
    }
    Some(Plan {
        inputs,
        merges: 1.0,
        output: Output::Level(1),
        why: Why::L0ToL1,
        promote: None,
    })
}

/// Moves `share` of a level's bytes into the next: whole partitions (a partition is in one sstable
/// per level), taken in token order from where the last promotion of this level stopped
/// (`lastCompactedKeys`).
fn promote(input: &Input, level: u32, share: f64) -> Option<Plan> {
    let from: Vec<&SSTable> = input
        .sstables
        .iter()
        .copied()
        .filter(|s| s.level == level)
        .collect();
    let mut pidxs: Vec<u32> = from
        .iter()
        .flat_map(|s| s.pidxs().iter().copied())
        .collect();
    pidxs.sort_unstable();
    pidxs.dedup();
    if pidxs.is_empty() {
        return None;
    }
    let cursor = input.lcs_cursor.get(level as usize).copied().unwrap_or(0);
    let start = pidxs.partition_point(|&x| x <= cursor) % pidxs.len();
    let mut bytes = vec![0.0; input.weights.len()];
    for s in &from {
        for part in &s.parts {
            bytes[part.pidx as usize] +=
                input.weights[part.pidx as usize] * part.bytes(input.sizes);
        }
    }
    let total: f64 = pidxs.iter().map(|&i| bytes[i as usize]).sum();
    let mut moved = Vec::new();
    let mut b = 0.0;
    for k in 0..pidxs.len() {
        let i = pidxs[(start + k) % pidxs.len()];
        moved.push(i);
        b += bytes[i as usize];
        if b >= share * total {
            break;
        }
    }
    let cursor = *moved.last().expect("one partition at least");
    moved.sort_unstable();
    let mut inputs: Vec<(u64, f64)> = from.iter().map(|s| (s.id, s.copies)).collect();
    inputs.extend(
        input
            .sstables
            .iter()
            .filter(|s| s.level == level + 1)
            .map(|s| (s.id, s.copies)),
    );
    Some(Plan {
        inputs,
        merges: 1.0,
        output: Output::Level(level + 1),
        why: Why::Promotion,
        promote: Some(Promotion {
            from: level,
            pidxs: moved,
            cursor,
        }),
    })
}

/// UCS (CASSANDRA.md 5.5): level = floor(log_f(density / m)); a level with at least t overlapping
/// sstables is compacted whole into sharded output.
fn ucs(input: &Input) -> Option<Plan> {
    let p = input.params;
    let m = input.flush_bytes.max(1.0);
    let density = |s: &SSTable| {
        if s.disjoint {
            s.stats.bytes
        } else {
            s.bytes_per_copy()
        }
    };
    let level = |s: &SSTable| {
        let d = density(s);
        if d <= m {
            0
        } else {
            ((d / m).ln() / p.ucs_fanout.ln()).floor().max(0.0) as u32
        }
    };
    let overlaps = |s: &SSTable| if s.disjoint { 1.0 } else { s.copies };
    let max_level = input.sstables.iter().map(|s| level(s)).max()?;
    for l in 0..=max_level {
        let members: Vec<&SSTable> = input
            .sstables
            .iter()
            .copied()
            .filter(|s| level(s) == l)
            .collect();
        let n: f64 = members.iter().map(|s| overlaps(s)).sum();
        if n >= p.ucs_threshold {
            return Some(Plan {
                inputs: members.iter().map(|s| (s.id, s.copies)).collect(),
                merges: 1.0,
                output: Output::Shards(l),
                why: Why::Bucket,
                promote: None,
            });
        }
    }
    None
}

/// The single-sstable tombstone compaction (CASSANDRA.md 5.1): old enough, a droppable ratio above
/// tombstone_threshold, and (unless unchecked) enough of its partitions outside other sstables.
/// None where the strategy disables it (TWCS by default). TWCS takes the smallest that passes
/// (`TimeWindowCompactionStrategy.getNextNonExpiredSSTables`), the others the largest.
fn tombstone(input: &Input) -> Option<Plan> {
    let p = input.params;
    if !p.tombstone_compactions {
        return None;
    }
    // How many sstables hold each partition, counted once when first needed.
    let mut holders: Option<Vec<u32>> = None;
    let mut candidates: Vec<&SSTable> = input.sstables.clone();
    candidates.sort_by(|a, b| {
        b.bytes_per_copy()
            .total_cmp(&a.bytes_per_copy())
            .then(a.id.cmp(&b.id))
    });
    if p.strategy == Strategy::Twcs {
        candidates.reverse();
    }
    for s in candidates {
        if input.now - s.created_s < p.tombstone_compaction_interval {
            continue;
        }
        let ratio = s.stats.droppable_ratio(input.gc_before);
        if ratio <= p.tombstone_threshold {
            continue;
        }
        let worth = p.unchecked_tombstone_compaction || {
            let holders = holders.get_or_insert_with(|| {
                let mut h = vec![0u32; input.weights.len()];
                for o in &input.sstables {
                    for part in &o.parts {
                        h[part.pidx as usize] += 1;
                    }
                }
                h
            });
            let remaining = remaining_ratio(s, holders, input.weights);
            remaining * ratio > p.tombstone_threshold
        };
        if worth {
            let output = match p.strategy {
                Strategy::Lcs if s.level > 0 => Output::Level(s.level),
                _ => Output::Tier,
            };
            return Some(Plan {
                inputs: vec![(s.id, s.copies)],
                merges: s.copies,
                output,
                why: Why::Tombstone,
                promote: None,
            });
        }
    }
    None
}

/// The share of an sstable's partitions (by weight) that no other sstable holds: the overlap
/// estimate of `worthDroppingTombstones`. `holders` counts the sstables holding each partition.
fn remaining_ratio(s: &SSTable, holders: &[u32], weights: &[f64]) -> f64 {
    let mut total = 0.0;
    let mut alone = 0.0;
    for part in &s.parts {
        let w = weights[part.pidx as usize];
        total += w;
        if holders[part.pidx as usize] <= 1 {
            alone += w;
        }
    }
    if total > 0.0 {
        alone / total
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fixtures;
    use crate::engine::frag::{Frag, Kept, Kind, Part, TableSizes};
    use crate::schema::options::Compaction;

    fn sizes() -> TableSizes {
        fixtures::sizes(1.0, 1.0, 0.0)
    }

    fn sstable(id: u64, bytes: f64, copies: f64, t: f64) -> SSTable {
        let mut p = Part::new(0);
        p.writes = 1e9;
        p.push(Frag {
            lo: 0.0,
            hi: bytes * copies,
            rows: bytes * copies,
            t0: t,
            t1: t,
            // Appends: each copy holds its own rows, `bytes` of them.
            ordered: true,
            kind: Kind::Rows,
            ttl: 0.0,
            shape: 0,
            merged: false,
            kept: Kept::ALL,
        });
        SSTable::new(id, vec![p], copies, false, t, &[1.0], &sizes())
    }

    static SIZES: std::sync::LazyLock<TableSizes> = std::sync::LazyLock::new(sizes);

    fn input<'a>(params: &'a Params, list: &'a [SSTable], now: f64) -> Input<'a> {
        Input {
            params,
            sstables: list.iter().collect(),
            now,
            gc_before: now - 864_000.0,
            flush_bytes: 1e6,
            weights: &[1.0],
            lcs_cursor: &[],
            busy_levels: &[],
            sizes: &SIZES,
            compression_ratio: 1.0,
            gradual: false,
            newest_ts: list
                .iter()
                .map(|s| s.stats.max_ts)
                .fold(f64::NEG_INFINITY, f64::max),
        }
    }

    #[test]
    fn lcs_merges_l0_within_l0_until_it_holds_an_sstables_worth() {
        let c = Compaction {
            strategy: Strategy::Lcs,
            ..Compaction::default()
        };
        let params = Params::from(&c);
        let small = |id: u64| sstable(id, 1e3, 1.0, id as f64);
        let big = |id: u64| sstable(id, 1e9, 1.0, id as f64);
        let (a, b) = (small(1), small(2));
        assert!(a.stats.bytes + b.stats.bytes < params.lcs_sstable_size);
        assert!(big(1).stats.bytes > params.lcs_sstable_size);
        // One L0 sstable: LeveledManifest wants two candidates.
        assert_eq!(plan(&input(&params, &[small(1)], 10.0)), None);
        // Two holding less than an sstable's worth: merged, and the output stays in L0.
        let p = plan(&input(&params, &[a, b], 10.0)).unwrap();
        assert_eq!((p.why, p.output), (Why::WithinL0, Output::Tier));
        assert_eq!(p.inputs.len(), 2);
        // Past it: into L1.
        let p = plan(&input(&params, &[big(1), big(2)], 10.0)).unwrap();
        assert_eq!((p.why, p.output), (Why::L0ToL1, Output::Level(1)));
    }

    #[test]
    fn stcs_waits_for_min_threshold_alike_sstables() {
        let params = Params::from(&Compaction::default());
        let three = [
            sstable(1, 1e8, 1.0, 0.0),
            sstable(2, 1.1e8, 1.0, 0.0),
            sstable(3, 0.9e8, 1.0, 0.0),
        ];
        assert_eq!(plan(&input(&params, &three, 10.0)), None);
        let four = [
            sstable(1, 1e8, 3.0, 0.0),
            sstable(2, 1.1e8, 1.0, 0.0),
            sstable(3, 1e10, 1.0, 0.0),
        ];
        let plan = plan(&input(&params, &four, 10.0)).unwrap();
        assert_eq!(plan.inputs, vec![(1, 3.0), (2, 1.0)]);
    }

    #[test]
    fn stcs_batches_many_alike_flushes() {
        let params = Params::from(&Compaction::default());
        let many = [sstable(1, 1e6, 100.0, 0.0)];
        let plan = plan(&input(&params, &many, 10.0)).unwrap();
        assert_eq!(plan.merges, 3.0);
        assert_eq!(plan.inputs, vec![(1, 96.0)]);
    }

    fn tombstoned(id: u64, pidx: u32, created: f64) -> SSTable {
        let mut p = Part::new(pidx);
        p.writes = 10.0;
        p.push(Frag {
            lo: 0.0,
            hi: 100.0,
            rows: 100.0,
            t0: 0.0,
            t1: 10.0,
            ordered: true,
            kind: Kind::RowTombstones,
            ttl: 0.0,
            shape: 0,
            merged: false,
            kept: Kept::ALL,
        });
        SSTable::new(id, vec![p], 1.0, false, created, &[1.0, 1.0], &sizes())
    }

    #[test]
    fn a_single_sstable_tombstone_compaction_waits_for_its_interval_and_its_overlaps() {
        let params = Params::from(&Compaction::default());
        let day = 86_400.0;
        let gc_grace = 864_000.0;
        let at = |list: &[SSTable], now: f64| {
            let mut i = input(&params, list, now);
            i.gc_before = now - gc_grace;
            i.weights = &[1.0, 1.0];
            plan(&i)
        };
        // Every cell is a tombstone past gc_grace: the ratio is 1, above tombstone_threshold.
        let alone = [tombstoned(1, 0, 0.0)];
        assert_eq!(at(&alone, gc_grace + 100.0).unwrap().why, Why::Tombstone);
        // Written less than tombstone_compaction_interval (1 day) ago: not yet.
        let young = [tombstoned(1, 0, gc_grace + 100.0 - day / 2.0)];
        assert_eq!(at(&young, gc_grace + 100.0), None);
        // Another sstable holds the same partition: the overlap estimate says no...
        let overlapping = [tombstoned(1, 0, 0.0), tombstoned(2, 0, gc_grace)];
        assert_eq!(at(&overlapping, gc_grace + 100.0), None);
        // ...unless unchecked_tombstone_compaction is set.
        let mut c = Compaction::default();
        c.options
            .insert("unchecked_tombstone_compaction".into(), "true".into());
        let unchecked = Params::from(&c);
        let mut i = input(&unchecked, &overlapping, gc_grace + 100.0);
        i.gc_before = 100.0;
        i.weights = &[1.0, 1.0];
        assert_eq!(plan(&i).unwrap().why, Why::Tombstone);
    }

    #[test]
    fn twcs_compacts_an_old_window_whole() {
        let c = Compaction {
            strategy: Strategy::Twcs,
            ..Compaction::default()
        };
        let params = Params::from(&c);
        let list = [
            sstable(1, 1e6, 1.0, 100.0),
            sstable(2, 1e9, 1.0, 200.0),
            sstable(3, 1e6, 1.0, 90_000.0),
        ];
        let plan = plan(&input(&params, &list, 90_100.0)).unwrap();
        assert_eq!(plan.why, Why::Window);
        assert_eq!(plan.inputs, vec![(1, 1.0), (2, 1.0)]);
    }

    #[test]
    fn a_twcs_window_stays_current_until_an_sstable_holds_the_next_ones_data() {
        let c = Compaction {
            strategy: Strategy::Twcs,
            ..Compaction::default()
        };
        let params = Params::from(&c);
        // Two flushes of the first day (1-day windows by default), read a minute into the second.
        let list = [sstable(1, 1e6, 1.0, 100.0), sstable(2, 1e6, 1.0, 200.0)];
        // No sstable holds the second day's data yet: the first day is still TWCS's newest
        // window (`highestWindowSeen`), compacted by STCS's min_threshold of 4, so not yet.
        assert_eq!(plan(&input(&params, &list, 86_460.0)), None);
        // A flush of the second day's data closes the first: its two sstables are merged whole.
        let more = [
            list[0].clone(),
            list[1].clone(),
            sstable(3, 1e6, 1.0, 86_450.0),
        ];
        let p = plan(&input(&params, &more, 86_460.0)).unwrap();
        assert_eq!(p.why, Why::Window);
        assert_eq!(p.inputs, vec![(1, 1.0), (2, 1.0)]);
    }
}
