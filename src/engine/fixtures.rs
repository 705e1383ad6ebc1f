//! Test fixtures shared by the engine's unit tests: a table's sizes and dense runs of rows.

use super::frag::{Frag, Kept, Kind, Shape, TableSizes};

/// One row shape of `cells` cells and `row_bytes` bytes, Cassandra-like tombstone sizes, and
/// `partition_overhead` bytes per partition.
pub fn sizes(cells: f64, row_bytes: f64, partition_overhead: f64) -> TableSizes {
    TableSizes {
        shapes: vec![Shape {
            cells,
            null_cells: 0.0,
            null_var: 0.0,
            complex_deletions: 0.0,
            liveness: true,
            bytes: row_bytes,
            expired_bytes: row_bytes * 0.4,
        }],
        row_tombstone: 10.0,
        range_tombstone: 30.0,
        cell_tombstone: 5.0,
        partition_tombstone: 12.0,
        partition_overhead,
    }
}

/// A dense run of `kind` over `[lo, hi)` written from `t0` to `t1`, positions following time.
pub fn run(kind: Kind, lo: f64, hi: f64, t0: f64, t1: f64) -> Frag {
    Frag {
        lo,
        hi,
        rows: hi - lo,
        t0,
        t1,
        ordered: true,
        kind,
        ttl: 0.0,
        shape: 0,
        merged: false,
        kept: Kept::ALL,
    }
}
