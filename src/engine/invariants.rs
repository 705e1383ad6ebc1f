//! Property tests of the engine's invariants over random partition contents: a merge keeps what a
//! read sees when nothing is purgeable, never grows the bytes, and never brings data back; splits
//! by time lose no rows, and the two sides of written upserts unite into the whole.

use proptest::prelude::*;

use super::compaction::merge::{merge, MergeContext};
use super::frag::{Frag, Kept, Kind, Part, TableSizes};
use super::sstable::SSTable;
use super::view;

fn sizes() -> TableSizes {
    super::fixtures::sizes(2.0, 60.0, 20.0)
}

fn frag() -> impl Strategy<Value = Frag> {
    (
        0u32..90,
        1u32..40,
        0u32..1000,
        0u32..200,
        any::<bool>(),
        0u8..4,
        prop_oneof![Just(0.0), Just(300.0)],
        0.1f64..1.0,
    )
        .prop_map(|(lo, len, t0, dt, ordered, kind, ttl, density)| {
            let kind = match kind {
                0 => Kind::Rows,
                1 => Kind::RowTombstones,
                2 => Kind::CoveredRowTombstones,
                _ => Kind::RangeTombstone,
            };
            let (lo, hi) = (f64::from(lo), f64::from(lo + len));
            let ordered = ordered && kind != Kind::RangeTombstone;
            Frag {
                lo,
                hi,
                rows: match kind {
                    Kind::RangeTombstone => 0.0,
                    _ if ordered => hi - lo,
                    _ => (hi - lo) * density,
                },
                t0: f64::from(t0),
                t1: f64::from(t0 + dt),
                ordered,
                kind,
                ttl: if kind == Kind::Rows { ttl } else { 0.0 },
                shape: 0,
                merged: false,
                kept: Kept::ALL,
            }
        })
}

fn part() -> impl Strategy<Value = Part> {
    prop::collection::vec(frag(), 1..5).prop_map(|frags| {
        let mut p = Part::new(0);
        p.writes = 10.0;
        p.frags = frags;
        p.normalize();
        p
    })
}

fn live(parts: &[&Part], now: f64, gc_before: f64) -> f64 {
    let s = sizes();
    view::build(parts, &view::Clock::at(now, gc_before), None)
        .pieces
        .iter()
        .map(|p| p.tally(&s).live)
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn a_merge_keeps_what_reads_see_and_never_grows(parts in prop::collection::vec(part(), 1..4), now in 0u32..2000) {
        let s = sizes();
        let now = f64::from(now);
        let tables: Vec<SSTable> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| SSTable::new(i as u64, vec![p.clone()], 1.0, false, 0.0, &[1.0], &s))
            .collect();
        let inputs: Vec<&SSTable> = tables.iter().collect();
        // gc_grace so long that nothing is purgeable: what a read sees must not change.
        let keep = |_| f64::NEG_INFINITY;
        let cx = MergeContext { now, gc_before: -1e12, max_purgeable: &keep, repurge_expired: true, sizes: &s };
        let out = merge(&inputs, &cx);
        let before: Vec<&Part> = parts.iter().collect();
        let after: Vec<&Part> = out.iter().collect();
        let (lb, la) = (live(&before, now, -1e12), live(&after, now, -1e12));
        prop_assert!((lb - la).abs() < 1e-6 * (1.0 + lb), "live {lb} then {la}");
        let bytes_in: f64 = parts.iter().map(|p| p.bytes(&s)).sum();
        let bytes_out: f64 = out.iter().map(|p| p.bytes(&s)).sum();
        prop_assert!(bytes_out <= bytes_in + 1e-6, "{bytes_in} then {bytes_out}");
        // With everything purgeable, a merge brings nothing back to life.
        let all = |_| f64::INFINITY;
        let cx = MergeContext { now, gc_before: now, max_purgeable: &all, repurge_expired: true, sizes: &s };
        let purged = merge(&inputs, &cx);
        let after: Vec<&Part> = purged.iter().collect();
        prop_assert!(live(&after, now, now) <= live(&before, now, now) + 1e-6);
    }

    #[test]
    fn an_indexed_window_sees_what_a_full_build_sees(parts in prop::collection::vec(part(), 1..4), a in 0u32..100, len in 1u32..60, now in 0u32..2000) {
        let s = sizes();
        let refs: Vec<&Part> = parts.iter().collect();
        let (a, b, now) = (f64::from(a), f64::from(a + len), f64::from(now));
        let tally = |v: &view::View| v.pieces.iter().map(|p| p.tally(&s)).fold((0.0, 0.0, 0.0), |acc, t| (acc.0 + t.live, acc.1 + t.counted, acc.2 + t.scanned));
        let full = view::build(&refs, &view::Clock::at(now, now - 500.0), Some((a, b)));
        let indexed = view::FragIndex::new(&refs).window(&refs, &view::Clock::at(now, now - 500.0), a, b);
        let (x, y) = (tally(&full), tally(&indexed));
        prop_assert!((x.0 - y.0).abs() < 1e-9 && (x.1 - y.1).abs() < 1e-9 && (x.2 - y.2).abs() < 1e-9, "{x:?} vs {y:?}");
    }

    #[test]
    fn splitting_by_time_loses_no_rows(p in part(), cut in 0u32..1300) {
        let (old, new) = p.split_at(f64::from(cut));
        let rows = |p: &Part| p.frags.iter().map(|f| f.rows).sum::<f64>();
        // A written union's two sides overlap (a row written on both sides is in both): their
        // sum is at least the whole, each side at most the whole; anything else adds up.
        let tolerance = 1e-6 * (1.0 + rows(&p));
        prop_assert!(rows(&old) + rows(&new) >= rows(&p) - tolerance);
        prop_assert!(rows(&old) <= rows(&p) + tolerance && rows(&new) <= rows(&p) + tolerance);
        if p.frags.iter().all(|f| !f.is_written_union()) {
            prop_assert!((rows(&old) + rows(&new) - rows(&p)).abs() < tolerance);
        }
        prop_assert!(old.frags.iter().all(|f| f.t_max() < f64::from(cut) + 1e-9));
    }

    #[test]
    fn the_two_sides_of_written_rows_unite_into_the_whole(f in frag(), cut in 0u32..1300) {
        let mut p = Part::new(0);
        p.push(f);
        let (old, new) = p.split_at(f64::from(cut));
        let rows = |p: &Part| p.frags.iter().map(|f| f.rows).sum::<f64>();
        let (a, b) = (rows(&old), rows(&new));
        let whole = if f.is_written_union() {
            // Two random subsets of the population, written independently: their union.
            let len = f.len();
            len * (1.0 - (1.0 - a / len) * (1.0 - b / len))
        } else {
            a + b
        };
        prop_assert!((whole - f.rows).abs() < 1e-6 * (1.0 + f.rows), "{a} + {b} make {whole} of {}", f.rows);
    }

    #[test]
    fn live_rows_never_exceed_the_rows_written(parts in prop::collection::vec(part(), 1..4), now in 0u32..2000) {
        let refs: Vec<&Part> = parts.iter().collect();
        let written: f64 = parts.iter().flat_map(|p| p.frags.iter()).filter(|f| f.kind == Kind::Rows).map(|f| f.rows).sum();
        prop_assert!(live(&refs, f64::from(now), -1e12) <= written + 1e-6);
    }
}
