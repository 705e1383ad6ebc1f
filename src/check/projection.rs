//! Static projection of a table under its workload: how many rows, cells and bytes a partition
//! reaches over the scenario's duration, from write rates, key popularity, time buckets, TTL and
//! deletes. No simulation: closed-form averages and the hottest partition.

use crate::defaults::CassandraVersion;
use crate::distribution::harmonic;
use crate::scenario::Scenario;
use crate::schema::sizes::{RowShape, SizeModel};
use crate::schema::Table;
use crate::workload::{ClusteringPattern, Deletion, KeyPopularity, Operation, Target, WriteKind};

/// A table's write and read traffic, summed over the workload (cluster-wide, per second).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Traffic {
    /// New clustering rows appended per second.
    pub appended_rows_per_s: f64,
    /// Rows upserted into an existing clustering population per second.
    pub upserted_rows_per_s: f64,
    pub row_deletes_per_s: f64,
    pub range_deletes_per_s: f64,
    pub partition_deletes_per_s: f64,
    /// Deletes aimed at the oldest rows (a queue consumer).
    pub head_deletes_per_s: f64,
    /// Mean time between a row's write and its delete, rate-weighted (seconds).
    pub delete_delay_s: f64,
    pub cell_tombstones_per_s: f64,
    pub collection_overwrites_per_s: f64,
    pub reads_per_s: f64,
    /// The largest TTL written, seconds (0: none).
    pub ttl_s: f64,
    pub liveness: bool,
    /// The hottest partition's share of writes relative to the average partition.
    pub hot_factor: f64,
    /// The columns the writes set: a row's cells are these, not every column declared (10 000
    /// declared columns of which an INSERT writes 3 made a false cells_limit error).
    pub written_columns: std::collections::BTreeSet<String>,
}

/// A partition at the end of the scenario.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PartitionProjection {
    pub partitions: f64,
    pub rows_p50: f64,
    pub rows_max: f64,
    pub cells_p50: f64,
    pub cells_max: f64,
    /// Serialized (uncompressed) bytes, as Cassandra's large-partition warning measures them.
    pub bytes_p50: f64,
    pub bytes_max: f64,
    /// Bytes per day the hottest partition grows by while it takes writes.
    pub bytes_per_day_max: f64,
    /// Chebotko's St for the same rows (an upper bound, CASSANDRA.md 3.10).
    pub chebotko_bytes_max: f64,
    pub row_bytes: f64,
    pub row_bytes_on_disk: f64,
    pub compression_ratio: f64,
    /// Seconds a partition takes writes (its time bucket, or the whole run).
    pub active_s: f64,
}

pub fn traffic(scenario: &Scenario, table: &str) -> Traffic {
    let mut t = Traffic {
        hot_factor: 1.0,
        ..Traffic::default()
    };
    let entities = scenario
        .model(table)
        .and_then(|m| m.partitions.as_ref())
        .map(|p| p.entities)
        .unwrap_or(1.0);
    for op in &scenario.workload {
        if let Some(read) = &op.read {
            if read.table == table {
                t.reads_per_s += op.rate_per_s;
            }
        }
        for w in op.writes.iter().filter(|w| w.table == table) {
            let rate = op.rate_per_s * w.rows;
            t.cell_tombstones_per_s += rate * (w.null_cell_tombstones + w.element_tombstones);
            t.collection_overwrites_per_s += rate * w.collection_overwrites.len() as f64;
            if w.kind != WriteKind::Delete {
                t.written_columns.extend(w.columns.iter().cloned());
            }
            match (w.kind, w.deletion) {
                (WriteKind::Delete, Some(Deletion::Row)) => t.row_deletes_per_s += rate,
                (WriteKind::Delete, Some(Deletion::Range)) => t.range_deletes_per_s += rate,
                (WriteKind::Delete, Some(Deletion::Partition)) => t.partition_deletes_per_s += rate,
                (WriteKind::Delete, _) => {}
                _ if w.static_only => {}
                (_, _) => {
                    if op.clustering == ClusteringPattern::Random || w.kind == WriteKind::Update {
                        t.upserted_rows_per_s += rate;
                    } else {
                        t.appended_rows_per_s += rate;
                    }
                    t.ttl_s = t.ttl_s.max(op.ttl_s);
                    t.liveness |= w.liveness;
                    t.hot_factor = t.hot_factor.max(hot_factor(op, entities));
                }
            }
            if w.kind == WriteKind::Delete {
                let total = t.row_deletes_per_s + t.range_deletes_per_s;
                if let (Some(d), true) = (op.delay, total > 0.0) {
                    t.delete_delay_s += (d.mean() - t.delete_delay_s) * rate / total;
                }
            }
            if w.kind == WriteKind::Delete
                && op.target == Target::Oldest
                && matches!(w.deletion, Some(Deletion::Row | Deletion::Range))
            {
                t.head_deletes_per_s += rate;
            }
        }
    }
    t
}

/// The hottest partition's writes relative to the mean partition's.
fn hot_factor(op: &Operation, entities: f64) -> f64 {
    match op.keys {
        // zipf(s): the top key's share is 1/H(N,s); the mean partition's is 1/N.
        KeyPopularity::Zipf(s) => entities / harmonic(entities, s),
        _ => 1.0,
    }
}

pub fn size_model(
    scenario: &Scenario,
    table: &Table,
    version: CassandraVersion,
    span_s: f64,
) -> SizeModel {
    let mut m = SizeModel::new(version, span_s);
    if let Some(model) = scenario.model(&table.qualified_name()) {
        m.columns = model.column_sizes();
    }
    m
}

/// Projects partitions of `table` to the end of the scenario.
pub fn project(scenario: &Scenario, table: &Table, t: &Traffic) -> PartitionProjection {
    let key = table.qualified_name();
    let model = scenario.model(&key);
    let version = scenario.cluster.cassandra_version;
    let population = model.and_then(|m| m.partitions.as_ref());
    let entities = population.map(|p| p.entities).unwrap_or(1.0);
    let bucket = population.and_then(|p| p.bucket_s);
    let active_s = bucket
        .unwrap_or(scenario.duration_s)
        .min(scenario.duration_s);
    let partitions = match bucket {
        Some(b) => entities * (scenario.duration_s / b).ceil().max(1.0),
        None => entities,
    };
    // Live horizon: rows older than the TTL have expired (they linger as tombstones; see findings).
    let horizon = if t.ttl_s > 0.0 {
        active_s.min(t.ttl_s)
    } else {
        active_s
    };
    let per_entity = t.appended_rows_per_s / entities;
    let deleted_per_entity = (t.row_deletes_per_s + t.range_deletes_per_s) / entities;
    // Rows deleted after a delay are live for that delay: a queue holds rate × delay rows.
    let in_flight = per_entity.min(deleted_per_entity) * t.delete_delay_s;
    let appended = (per_entity - deleted_per_entity).max(0.0) * horizon + in_flight;
    let population_rows = model.and_then(|m| m.rows_per_partition);
    let upserted_p50 = match population_rows {
        Some(d) if t.upserted_rows_per_s > 0.0 => d
            .quantile(0.5)
            .min(t.upserted_rows_per_s / entities * horizon)
            .max(1.0),
        _ if t.upserted_rows_per_s > 0.0 => 1.0,
        _ => 0.0,
    };
    let upserted_max = match population_rows {
        Some(d) if t.upserted_rows_per_s > 0.0 => d.max().unwrap_or_else(|| d.quantile(0.99)),
        _ => upserted_p50,
    };
    let rows_p50 = appended + upserted_p50;
    // Hottest partition: zipf's head, or a Poisson tail (p99.9) for uniform keys.
    let rows_max = (appended * t.hot_factor + 3.1 * appended.sqrt()).max(appended) + upserted_max;
    let span = active_s
        .min(if t.ttl_s > 0.0 { t.ttl_s } else { f64::MAX })
        .max(1.0);
    let sizes = size_model(scenario, table, version, span);
    let shape = RowShape {
        liveness: t.liveness || t.appended_rows_per_s + t.upserted_rows_per_s == 0.0,
        ttl: t.ttl_s > 0.0,
        // The columns the writes set (all when nothing writes the table).
        columns: (!t.written_columns.is_empty())
            .then(|| t.written_columns.iter().cloned().collect()),
    };
    let row = sizes.row(table, &shape);
    let ratio = compression_ratio(scenario, table);
    let bytes = |rows: f64| sizes.partition_bytes(table, rows, &shape);
    PartitionProjection {
        partitions,
        rows_p50,
        rows_max,
        cells_p50: sizes.cells_per_partition(table, rows_p50, &t.written_columns),
        cells_max: sizes.cells_per_partition(table, rows_max, &t.written_columns),
        bytes_p50: bytes(rows_p50),
        bytes_max: bytes(rows_max),
        bytes_per_day_max: per_entity * t.hot_factor * 86_400.0 * row.total,
        chebotko_bytes_max: sizes.chebotko_bytes(table, rows_max),
        row_bytes: row.total,
        row_bytes_on_disk: row.total * ratio,
        compression_ratio: ratio,
        active_s,
    }
}

pub fn compression_ratio(scenario: &Scenario, table: &Table) -> f64 {
    if table
        .options
        .effective_chunk_kib(scenario.cluster.cassandra_version)
        .is_none()
    {
        return 1.0;
    }
    scenario
        .model(&table.qualified_name())
        .and_then(|m| m.compression_ratio)
        .unwrap_or(crate::defaults::DEFAULT_COMPRESSION_RATIO)
}
