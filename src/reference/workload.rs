//! The reference engine's writes: each statement's rows one by one, at Poisson-distributed times,
//! into partitions drawn by the statement's key popularity, as the entries they store
//! (appended rows, upserts into a clustering population, row, cell, range and partition
//! deletions aimed at the oldest, newest or random rows written at least the delay ago).

use rand::RngExt;
use rand_distr::{Distribution, Poisson};
use rand_pcg::Pcg64Mcg;

use super::data::{EKind, Entry, RefPart};
use crate::engine::table::Writer;
use crate::workload::{ClusteringPattern, Deletion, KeyPopularity, Target, WriteKind};

/// The static row's clustering position: before every row (the aggregated engine's too).
pub const STATIC_ROW: f64 = -1.0;

/// What one statement does to a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// INSERT or UPDATE of new rows: appended after the partition's last, or upserted into its
    /// clustering population.
    Write,
    /// A delete of rows (`kind` is `RowDel` or `CellDel`), or an UPDATE (`Row`) of rows written
    /// at least the delay ago.
    Targeted(EKind),
    /// A range delete of the rows written at least the delay ago, not yet range-deleted.
    Range,
    Partition,
    /// An INSERT or UPDATE of static columns only: the partition's static row, which is
    /// clustered before every row.
    Static,
}

/// One statement as it writes this table on the reference node.
#[derive(Debug, Clone)]
pub struct RefWriter {
    pub action: Action,
    /// Rows (or deletes) per second on the node.
    pub rate: f64,
    pub ttl: f64,
    pub shape: u16,
    pub heap_per_row: f64,
    /// Commit log bytes per mutation.
    pub commitlog_per_row: f64,
    pub append: bool,
    pub target: Target,
    pub delay_s: f64,
    /// A consumer of the oldest rows as fast as their producers: every row is deleted the
    /// delay after its write.
    pub keeps_up: bool,
    /// Cumulative key popularity over the table's partitions (empty: uniform).
    pub cumulative: Vec<f64>,
}

impl RefWriter {
    pub fn from(w: &Writer, entities: u32) -> RefWriter {
        let action = match (w.kind, w.deletion) {
            (WriteKind::Delete, Some(Deletion::Partition)) => Action::Partition,
            (WriteKind::Delete, Some(Deletion::Range)) => Action::Range,
            (WriteKind::Delete, Some(Deletion::Row)) => Action::Targeted(EKind::RowDel),
            (WriteKind::Delete, _) => Action::Targeted(EKind::CellDel),
            _ if w.static_only => Action::Static,
            _ if w.targets_existing_rows() => Action::Targeted(EKind::Row),
            _ => Action::Write,
        };
        RefWriter {
            action,
            rate: w.rate,
            ttl: w.ttl,
            shape: w.shape,
            heap_per_row: w.heap_per_row,
            commitlog_per_row: w.commitlog_per_row,
            append: w.pattern == ClusteringPattern::Increasing,
            target: w.target,
            delay_s: w.delay_s,
            keeps_up: w.keeps_up,
            cumulative: popularity(w.keys, entities),
        }
    }
}

/// Cumulative shares of a key popularity over `n` partitions, partition k of rank k + 1.
pub fn popularity(keys: KeyPopularity, n: u32) -> Vec<f64> {
    let KeyPopularity::Zipf(s) = keys else {
        return Vec::new();
    };
    let mut acc = 0.0;
    (1..=n)
        .map(|k| {
            acc += (k as f64).powf(-s);
            acc
        })
        .collect()
}

/// A partition drawn from a popularity (`cumulative` empty: uniform over `n`).
pub fn pick(cumulative: &[f64], n: u32, rng: &mut Pcg64Mcg) -> u32 {
    match cumulative.last() {
        None => rng.random_range(0..n),
        Some(total) => {
            let u = rng.random::<f64>() * total;
            cumulative.partition_point(|c| *c < u).min(n as usize - 1) as u32
        }
    }
}

/// What the reference engine remembers of a partition's writes, to aim deletes and upserts.
#[derive(Debug, Clone, Default)]
pub struct PartState {
    /// Write time of each appended row, by clustering position.
    pub appended: Vec<f64>,
    /// Rows before this were deleted by a consumer of the oldest rows (or a range delete).
    pub head: usize,
    /// Clustering population for upserts.
    pub population: u32,
    /// Positions deleted by deletes aimed at the newest rows.
    pub deleted: std::collections::HashSet<u32>,
}

impl PartState {
    /// Appended rows written at or before `t`.
    fn ready(&self, t: f64) -> usize {
        self.appended.partition_point(|w| *w <= t)
    }
}

/// Poisson-many operation times over `[t0, t1)`.
pub fn arrivals(
    rate: f64,
    t0: f64,
    t1: f64,
    rng: &mut Pcg64Mcg,
) -> impl Iterator<Item = f64> + use<'_> {
    let lambda = rate * (t1 - t0);
    let n = if lambda > 0.0 {
        Poisson::new(lambda).map(|p| p.sample(rng)).unwrap_or(0.0) as usize
    } else {
        0
    };
    (0..n).map(move |_| t0 + rng.random::<f64>() * (t1 - t0))
}

/// The entry one operation at `ts` writes into partition `pk` (none when a targeted write
/// finds no row due yet). Partition deletions come back as `Err(ts)`.
pub fn operation(
    w: &RefWriter,
    st: &mut PartState,
    ts: f64,
    rng: &mut Pcg64Mcg,
) -> Option<Result<Entry, f64>> {
    let entry = |ck: f64, kind: EKind| Entry {
        ck,
        hi: ck,
        ts,
        ttl: if kind == EKind::Row { w.ttl } else { 0.0 },
        kind,
        shape: w.shape,
    };
    let random_member =
        |st: &PartState, rng: &mut Pcg64Mcg| f64::from(rng.random_range(0..st.population.max(1)));
    match w.action {
        Action::Partition => Some(Err(ts)),
        Action::Static => Some(Ok(entry(STATIC_ROW, EKind::Row))),
        Action::Write if w.append => {
            st.appended.push(ts);
            Some(Ok(entry((st.appended.len() - 1) as f64, EKind::Row)))
        }
        Action::Write => Some(Ok(entry(random_member(st, rng), EKind::Row))),
        Action::Range => {
            let ready = st.ready(ts - w.delay_s).max(st.head);
            let lo = st.head;
            st.head = ready;
            Some(Ok(Entry {
                hi: ready as f64,
                ..entry(lo as f64, EKind::Range)
            }))
        }
        Action::Targeted(kind) if st.appended.is_empty() => {
            // Upserted populations have no age order: targeted writes hit random members.
            Some(Ok(entry(random_member(st, rng), kind)))
        }
        Action::Targeted(kind) => {
            let ready = st.ready(ts - w.delay_s);
            let ck = match w.target {
                Target::Oldest => {
                    while st.head < ready && st.deleted.contains(&(st.head as u32)) {
                        st.head += 1;
                    }
                    if st.head >= ready {
                        return None;
                    }
                    st.head += 1;
                    st.head - 1
                }
                Target::Newest => {
                    let k = (st.head..ready)
                        .rev()
                        .find(|k| !st.deleted.contains(&(*k as u32)))?;
                    st.deleted.insert(k as u32);
                    k
                }
                Target::Random => {
                    if ready <= st.head {
                        return None;
                    }
                    rng.random_range(st.head..ready)
                }
            };
            Some(Ok(entry(ck as f64, kind)))
        }
    }
}

/// Adds an entry (or a partition deletion) to a memtable partition in clustering order.
pub fn add(part: &mut RefPart, e: Result<Entry, f64>) {
    match e {
        Err(ts) => part.pdel = Some(part.pdel.map_or(ts, |d| d.max(ts))),
        Ok(e) => {
            let at = part.entries.partition_point(|x| x.ck <= e.ck);
            part.entries.insert(at, e);
        }
    }
}
