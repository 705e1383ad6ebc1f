//! The storage engine of a node (DESIGN.md 3, "Storage engine"; CASSANDRA.md 5, 6, 8): memtables
//! and flushes, sstables, the four compaction strategies, tombstones, TTL and purging, and reads
//! through the fragment layout. This file builds a node's tables from the scenario: which tables
//! take writes (base tables, their materialized views and legacy secondary-index tables), what
//! each statement stores per row, and each statement's share of the node's traffic.
//!
//! The engine does no IO and draws all randomness from the node's seeded generator.

mod arrivals;
pub mod compaction;
mod compactor;
pub mod frag;
pub mod node;
pub mod partitions;
pub mod read;
mod sampler;
pub mod sstable;
pub mod table;
pub mod view;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod invariants;

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use crate::check::projection::{compression_ratio, size_model};
use crate::cluster::{self, NodeShare};
use crate::scenario::Scenario;
use crate::schema::sizes::RowShape;
use crate::schema::{Column, ColumnKind, Table};
use crate::workload::{ClusteringPattern, Deletion, Operation, WriteEffect, WriteKind};
use compaction::Params;
use frag::{Shape, TableSizes};
use node::{NodeConfig, NodeSim};
use partitions::{Layout, Partitions};
use read::ReadLimits;
use table::{Counters, Memtable, Reader, TableSim, Writer};

/// Partitions assumed for a table the scenario gives no `partitions` for (assumed: a mid-size
/// key population; give `[tables."ks.t"] partitions` to say).
pub const DEFAULT_ENTITIES: f64 = 100_000.0;

/// A derived write: a statement's effect as it lands on a view or index table.
struct Landing {
    table: Table,
    effect: WriteEffect,
}

/// The seed of node `k`'s generator, derived from the run's seed.
pub fn node_seed(seed: u64, k: usize) -> u64 {
    // SplitMix64 of (seed, k): well-spread streams for neighbouring indices.
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(k as u64 + 1));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Builds the simulation of one node.
pub fn build_node(scenario: &Scenario, share: &NodeShare, seed: u64, index: usize) -> NodeSim {
    let cal = &scenario.calibration;
    let heap = crate::heap::Jvm::of(scenario).heap_bytes;
    let settings = &scenario.settings;
    let memtable_space = settings.number("memtable_heap_space").unwrap_or(heap / 4.0);
    let flush_writers = settings.number("memtable_flush_writers").unwrap_or(2.0);
    let cleanup = settings
        .number("memtable_cleanup_threshold")
        .unwrap_or(1.0 / (1.0 + flush_writers));
    let commitlog = settings
        .number("commitlog_total_space")
        .unwrap_or_else(|| crate::defaults::commitlog_total_space(scenario.node.disk.size_bytes));
    let compactors = settings
        .number("concurrent_compactors")
        .unwrap_or_else(|| f64::from(scenario.node.cores.clamp(2, 8)).min(2.0));
    let config = NodeConfig {
        name: share.name.clone(),
        flush_threshold: memtable_space * cleanup,
        commitlog_total_space: commitlog,
        compaction_throughput: settings.number("compaction_throughput").unwrap_or_else(|| {
            scenario
                .cluster
                .cassandra_version
                .default_compaction_throughput()
        }),
        concurrent_compactors: compactors.max(1.0) as usize,
        step_s: crate::scenario::engine_step_s(cal, scenario.sample_every_s),
        reads_per_sample: cal.get("reads_per_sample").max(1.0) as usize,
        stats_partitions: cal.get("stats_partitions").max(1.0) as usize,
        limits: ReadLimits {
            warn: settings
                .number("tombstone_warn_threshold")
                .unwrap_or(crate::defaults::TOMBSTONE_WARN_THRESHOLD as f64),
            fail: settings
                .number("tombstone_failure_threshold")
                .unwrap_or(crate::defaults::TOMBSTONE_FAILURE_THRESHOLD as f64),
            page_size: cal.get("page_size"),
        },
        sample_every_s: scenario.sample_every_s,
        latency: crate::latency::Model::new(
            cal,
            scenario.node.disk.kind,
            scenario.cluster.inter_dc_rtt_s,
        ),
        ram_for_offheap_and_page_cache: (scenario.node.ram_bytes
            - heap
            - cal.get("offheap_reserve_bytes"))
        .max(0.0),
        fixed_offheap: crate::heap::fixed_offheap(heap),
        memtable_offheap: matches!(
            settings.text("memtable_allocation_type"),
            Some("offheap_buffers") | Some("offheap_objects")
        ),
        // key_cache_size: min(5 % of heap, 100 MiB) by default (CASSANDRA.md 1.2).
        key_cache_bytes: settings
            .number("key_cache_size")
            .unwrap_or((heap * 0.05).min(100.0 * 1024.0 * 1024.0)),
        key_cache_entry_bytes: cal.get("key_cache_entry_bytes").max(1.0),
        counter_cache_bytes: if scenario
            .workload
            .iter()
            .any(|o| o.writes.iter().any(|w| w.counter))
        {
            settings
                .number("counter_cache_size")
                .unwrap_or((heap * 0.025).min(50.0 * 1024.0 * 1024.0))
        } else {
            0.0
        },
        heap_baseline_bytes: cal.get("heap_baseline_bytes"),
        read_cell_heap_bytes: cal.get("read_cell_heap_bytes"),
        index_info_heap_bytes: cal.get("index_info_heap_bytes"),
        compaction_heap_bytes: cal.get("compaction_heap_bytes"),
        sstable_heap_bytes: cal.get("sstable_heap_bytes"),
        write_alloc_bytes: cal.get("write_alloc_bytes"),
        read_alloc_bytes: cal.get("read_alloc_bytes"),
        read_sstable_alloc_bytes: cal.get("read_sstable_alloc_bytes"),
        read_alloc_per_cell_byte: cal.get("read_alloc_per_cell_byte"),
        compaction_alloc_per_byte: cal.get("compaction_alloc_per_byte"),
        node_alloc_bytes_per_s: cal.get("node_alloc_bytes_per_s"),
        monitoring_alloc_bytes_per_s: cal.get("monitoring_alloc_bytes_per_s"),
        jvm: crate::heap::Jvm::of(scenario),
        gc_costs: crate::heap::gc::GcCosts::from(cal),
        gc_thrashing_fraction: cal.get("gc_thrashing_pause_fraction"),
        flush_growth_window_s: cal.get("flush_growth_window").max(1.0),
        concurrent_reads: settings.number("concurrent_reads").unwrap_or(32.0),
        concurrent_writes: settings.number("concurrent_writes").unwrap_or(32.0),
        cores: f64::from(scenario.node.cores.max(1)),
        commitlog_sync_on_write: matches!(
            settings.text("commitlog_sync"),
            Some("batch") | Some("group")
        ),
    };
    let mut tables = build_tables(scenario, share);
    for (i, t) in tables.iter_mut().enumerate() {
        t.population_rng =
            Pcg64Mcg::seed_from_u64(node_seed(node_seed(seed, index), i) ^ 0x706F_7075);
    }
    let rng = Pcg64Mcg::seed_from_u64(node_seed(seed, index));
    let latency_rng = Pcg64Mcg::seed_from_u64(node_seed(seed, index) ^ 0x6C61_7465_6E63_7921);
    NodeSim::new(config, tables, rng, latency_rng)
}

/// Whether a read by names (a point read of no non-frozen collection) stops at the newest
/// source holding its row: Cassandra reads the memtable and then the sstables newest first, and
/// stops once the row it holds has a primary-key liveness and every queried cell newer than the
/// next sstable (`SinglePartitionReadCommand.queryMemtableAndSSTablesInTimestampOrder`,
/// `canRemoveRow`; CASSANDRA.md 7.1 step 6). Sure only when every write to the table is an
/// INSERT of every queried column (an UPDATE has no liveness, a delete leaves none): then the
/// newest source holding the row holds it whole. Found by the real node: expiring sessions read
/// 1 sstable where cassim merged 3.
fn stops_at_newest_row(scenario: &Scenario, shape: &crate::workload::ReadShape) -> bool {
    let mut writes = scenario
        .workload
        .iter()
        .flat_map(|op| op.writes.iter())
        .filter(|w| w.table == shape.table)
        .peekable();
    shape.names
        && writes.peek().is_some()
        && writes.all(|w| {
            w.kind == WriteKind::Insert
                && w.liveness
                && w.deletion.is_none()
                && !w.counter
                && shape.queried.iter().all(|c| w.columns.contains(c))
        })
}

fn build_tables(scenario: &Scenario, share: &NodeShare) -> Vec<TableSim> {
    let mut tables: BTreeMap<String, TableSim> = BTreeMap::new();
    let write_factor = cluster::write_factor(scenario, share.dc) * share.load_factor;
    for (op_idx, op) in scenario.workload.iter().enumerate() {
        for w in &op.writes {
            for landing in landings(scenario, w) {
                let name = landing.table.qualified_name();
                let t = tables
                    .entry(name.clone())
                    .or_insert_with(|| new_table(scenario, &landing.table, share));
                let writer = writer(
                    scenario,
                    t,
                    &landing.table,
                    &landing.effect,
                    op,
                    op_idx,
                    write_factor,
                    share.dc,
                );
                t.writers.push(writer);
            }
        }
        if let Some(read) = &op.read {
            let Some(base) = scenario.schema.table(&read.table) else {
                continue;
            };
            // A read through a legacy secondary index reads the index table's partition for the
            // value (the base rows it names are point reads, not modelled here).
            let index = read
                .uses_index
                .then(|| {
                    scenario
                        .schema
                        .indexes_on(&base.qualified_name())
                        .find(|i| i.kind == "secondary")
                        .and_then(|i| index_table(base, &i.name, &i.column))
                })
                .flatten();
            let schema_table = index.as_ref().unwrap_or(base);
            let name = schema_table.qualified_name();
            let t = tables
                .entry(name)
                .or_insert_with(|| new_table(scenario, schema_table, share));
            let zipf_norm = t.parts.zipf_norm(op.keys);
            // Positions grow with write time; a DESC clustering order reads them newest first.
            let descending = schema_table
                .clustering
                .first()
                .is_some_and(|c| c.1 == crate::schema::ClusteringOrder::Desc);
            let mut shape = read.clone();
            shape.reversed ^= descending;
            let names_stop = index.is_none() && stops_at_newest_row(scenario, &shape);
            t.readers.push(Reader {
                names_stop,
                op: op_idx,
                fanout: fanout(scenario, &op.consistency, share.dc),
                lwt: op.lwt || op.consistency.to_ascii_uppercase().ends_with("SERIAL"),
                shape,
                keys: op.keys,
                zipf_norm,
                rate: op.rate_per_s
                    * cluster::read_factor(scenario, &op.consistency, share.dc)
                    * share.load_factor,
                requests: op.rate_per_s,
            });
        }
    }
    for t in tables.values_mut() {
        let appends: f64 = t
            .writers
            .iter()
            .filter(|w| !w.targets_existing_rows() && w.pattern == ClusteringPattern::Increasing)
            .map(|w| w.rate)
            .sum();
        for w in t.writers.iter_mut() {
            w.keeps_up = w.targets_existing_rows()
                && w.target == crate::workload::Target::Oldest
                && w.rate >= appends * 0.999;
        }
        t.parts.layout.zipf = t
            .writers
            .iter()
            .map(|w| w.keys)
            .chain(t.readers.iter().map(|r| r.keys))
            .any(|k| matches!(k, crate::workload::KeyPopularity::Zipf(_)));
        // The strata are known now: the zipf normalisers are their samples'.
        for w in t.writers.iter_mut() {
            w.zipf_norm = t.parts.zipf_norm(w.keys);
        }
        for r in t.readers.iter_mut() {
            r.zipf_norm = t.parts.zipf_norm(r.keys);
        }
    }
    tables.into_values().collect()
}

/// Where a base-table write lands: the table itself, its materialized views (with a view row
/// tombstone when the write changes a column of the view's key), and its legacy secondary indexes.
fn landings(scenario: &Scenario, w: &WriteEffect) -> Vec<Landing> {
    let Some(base) = scenario.schema.table(&w.table) else {
        return Vec::new();
    };
    let mut out = vec![Landing {
        table: base.clone(),
        effect: w.clone(),
    }];
    let base_name = base.qualified_name();
    for view in scenario
        .schema
        .tables
        .values()
        .filter(|t| t.view_of.as_deref() == Some(base_name.as_str()))
    {
        out.push(Landing {
            table: view.clone(),
            effect: w.clone(),
        });
        // A write that changes a view key column of an existing row moves the view row: the old
        // one gets a row tombstone. New rows (appends) have no old view row.
        let changes_existing = w.kind == WriteKind::Update;
        let rekeys = changes_existing
            && w.columns.iter().any(|c| {
                view.column(c).is_some_and(|vc| {
                    matches!(vc.kind, ColumnKind::PartitionKey | ColumnKind::Clustering)
                })
            });
        if rekeys {
            out.push(Landing {
                table: view.clone(),
                effect: WriteEffect {
                    kind: WriteKind::Delete,
                    deletion: Some(Deletion::Row),
                    columns: Vec::new(),
                    ..w.clone()
                },
            });
        }
    }
    for index in scenario
        .schema
        .indexes_on(&base_name)
        .filter(|i| i.kind == "secondary")
    {
        let Some(table) = index_table(base, &index.name, &index.column) else {
            continue;
        };
        let writes_indexed = w.kind == WriteKind::Delete || w.columns.contains(&index.column);
        if !writes_indexed {
            continue;
        }
        let effect = WriteEffect {
            table: table.qualified_name(),
            columns: Vec::new(),
            null_cell_tombstones: 0.0,
            null_cell_variance: 0.0,
            collection_overwrites: Vec::new(),
            element_tombstones: 0.0,
            deletion: if w.kind == WriteKind::Delete {
                Some(Deletion::Row)
            } else {
                None
            },
            ..w.clone()
        };
        out.push(Landing { table, effect });
    }
    out
}

/// The hidden table of a legacy secondary index: partitioned by the indexed value, clustered by
/// the base table's primary key.
fn index_table(base: &Table, index: &str, column: &str) -> Option<Table> {
    let indexed = base.column(column)?;
    let mut columns = vec![Column {
        name: indexed.name.clone(),
        ty: indexed.ty.clone(),
        kind: ColumnKind::PartitionKey,
    }];
    let mut clustering = Vec::new();
    for c in base
        .columns
        .iter()
        .filter(|c| matches!(c.kind, ColumnKind::PartitionKey | ColumnKind::Clustering))
    {
        columns.push(Column {
            kind: ColumnKind::Clustering,
            ..c.clone()
        });
        clustering.push((c.name.clone(), crate::schema::ClusteringOrder::Asc));
    }
    Some(Table {
        keyspace: base.keyspace.clone(),
        name: format!("{}.{index}", base.name),
        columns,
        partition_key: vec![indexed.name.clone()],
        clustering,
        options: base.options.clone(),
        compact_storage: false,
        view_of: None,
    })
}

fn new_table(scenario: &Scenario, table: &Table, share: &NodeShare) -> TableSim {
    let name = table.qualified_name();
    let model = scenario.model(&name);
    let dc = &scenario.cluster.datacenters[share.dc];
    let replica_share = f64::from(dc.rf) / f64::from(dc.nodes) * share.load_factor;
    let is_index = scenario.schema.table(&name).is_none();
    // A view's or an index's base table: its key population and rows.
    let index_base = format!(
        "{}.{}",
        table.keyspace,
        table.name.split('.').next().unwrap_or("")
    );
    let base_model = match &table.view_of {
        Some(b) => scenario.model(b),
        None if is_index => scenario.model(&index_base),
        None => model,
    };
    let base_entities = base_model
        .or(model)
        .and_then(|m| m.partitions.as_ref())
        .map(|p| p.entities);
    let entities = match model.and_then(|m| m.partitions.as_ref()) {
        Some(p) => p.entities,
        None if is_index => {
            base_entities.unwrap_or(DEFAULT_ENTITIES)
                / scenario.calibration.get("index_rows_per_value")
        }
        None => base_entities.unwrap_or(DEFAULT_ENTITIES),
    };
    let bucket_s = model
        .and_then(|m| m.partitions.as_ref())
        .and_then(|p| p.bucket_s);
    let cal = &scenario.calibration;
    let budget = cal.get("sample_partitions").max(1.0);
    let ttl = table.options.effective_default_ttl() as f64;
    let gc_grace = table.options.effective_gc_grace_seconds() as f64;
    let per_generation = match bucket_s {
        Some(b) => {
            let horizon = if ttl > 0.0 {
                ttl + gc_grace + b
            } else {
                scenario.duration_s
            };
            let generations = (horizon.min(scenario.duration_s) / b).ceil().max(1.0);
            (budget / generations).max(cal.get("min_partitions_per_bucket"))
        }
        None => budget,
    } as usize;
    let version = scenario.cluster.cassandra_version;
    let span = if ttl > 0.0 {
        ttl.min(scenario.duration_s)
    } else {
        scenario.duration_s
    };
    let sm = size_model(scenario, table, version, span.max(1.0));
    let sizes = TableSizes {
        shapes: Vec::new(),
        row_tombstone: sm.row_tombstone_bytes(table),
        range_tombstone: sm.range_tombstone_bytes(table),
        cell_tombstone: sm.cell_tombstone_bytes(),
        partition_tombstone: sm.partition_tombstone_bytes(table),
        partition_overhead: sm.partition_key_bytes(table)
            + version.live_partition_deletion_bytes()
            + 1.0,
    };
    let bloom_fp = table.options.effective_bloom_filter_fp_chance();
    let has_clustering = !table.clustering.is_empty();
    let population = if is_index {
        // An indexed value's entries: the base rows holding it.
        let base_rows = base_model
            .and_then(|m| m.rows_per_partition)
            .map(|d| d.mean())
            .unwrap_or(1.0);
        Some(crate::distribution::Distribution::Fixed {
            value: (scenario.calibration.get("index_rows_per_value") * base_rows).round(),
        })
    } else if has_clustering {
        model.and_then(|m| m.rows_per_partition)
    } else {
        Some(crate::distribution::Distribution::Fixed { value: 1.0 })
    };
    TableSim {
        name,
        parts: Partitions::new(Layout {
            entities: (entities * replica_share).max(1.0),
            bucket_s,
            per_generation,
            zipf: false,
        }),
        sizes,
        writers: Vec::new(),
        readers: Vec::new(),
        gc_grace,
        params: Params::from(&table.options.compaction),
        compression_ratio: compression_ratio(scenario, table),
        bloom_fp,
        flush_period_s: table
            .options
            .memtable_flush_period_in_ms
            .filter(|ms| *ms > 0)
            .map(|ms| ms as f64 / 1000.0),
        repurge_expired: version >= crate::defaults::CassandraVersion::V4_1,
        heap_per_partition: cal.get("memtable_partition_overhead") + sm.partition_key_bytes(table),
        population,
        memtable: Memtable::new(),
        sstables: Vec::new(),
        next_id: 0,
        lcs_cursor: vec![0; 16],
        next_expired_check: 0.0,
        flush_bytes: 0.0,
        since_sample: Counters::default(),
        total: Counters::default(),
        max_sstable_partition: 0.0,
        first_large_partition_s: None,
        pversion: Vec::new(),
        // Seeded per node and table in `build_node`.
        population_rng: Pcg64Mcg::seed_from_u64(0),
        end_s: scenario.duration_s,
        chunk_bytes: table
            .options
            .effective_chunk_kib(version)
            .map(|k| f64::from(k) * 1024.0)
            .unwrap_or(4096.0),
        stats_cache: std::collections::HashMap::new(),
        owed: Vec::new(),
        // Two clusterings, vint offset (about 4 B) and width (1 B), the flag, the 4-byte offset.
        column_index_entry_bytes: 2.0 * sm.clustering_bytes(table) + 10.0,
    }
}

/// The replicas a request at `consistency` waits for, coordinated in datacenter `dc`.
fn fanout(scenario: &Scenario, consistency: &str, dc: usize) -> crate::latency::Fanout {
    let rfs: Vec<u32> = scenario.cluster.datacenters.iter().map(|d| d.rf).collect();
    crate::latency::Fanout::of(consistency, &rfs, dc)
}

#[allow(clippy::too_many_arguments)]
fn writer(
    scenario: &Scenario,
    t: &mut TableSim,
    table: &Table,
    w: &WriteEffect,
    op: &Operation,
    op_idx: usize,
    write_factor: f64,
    dc: usize,
) -> Writer {
    let cal = &scenario.calibration;
    let version = scenario.cluster.cassandra_version;
    let ttl = if w.kind == WriteKind::Delete {
        0.0
    } else {
        op.ttl_s
    };
    let span = if ttl > 0.0 {
        ttl.min(scenario.duration_s)
    } else {
        scenario.duration_s
    };
    let sm = size_model(scenario, table, version, span.max(1.0));
    let shape = if w.kind == WriteKind::Delete {
        let cells = match w.deletion {
            Some(Deletion::Cells) => w.columns.len() as f64,
            Some(Deletion::Elements) => w.element_tombstones,
            _ => 0.0,
        };
        Shape {
            cells: 0.0,
            null_cells: cells,
            null_var: 0.0,
            complex_deletions: 0.0,
            liveness: false,
            bytes: 0.0,
            expired_bytes: 0.0,
        }
    } else {
        let row_shape = RowShape {
            liveness: w.liveness,
            ttl: ttl > 0.0,
            columns: Some(w.columns.clone()),
        };
        let rb = sm.row(table, &row_shape);
        let null_cells = w.null_cell_tombstones + w.element_tombstones;
        let complex = w.collection_overwrites.len() as f64;
        let bytes = if w.static_only {
            sm.static_row(table, &row_shape)
        } else {
            rb.total
                + null_cells * sm.cell_tombstone_bytes()
                + complex * (sm.ts_delta() + sm.ldt_delta())
        };
        Shape {
            cells: rb.cells,
            null_cells,
            null_var: w.null_cell_variance,
            complex_deletions: complex,
            liveness: w.liveness,
            bytes,
            expired_bytes: (bytes - rb.values).max(1.0),
        }
    };
    t.sizes.shapes.push(shape);
    let shape_idx = (t.sizes.shapes.len() - 1) as u16;
    let serialized = if w.kind == WriteKind::Delete {
        t.sizes.row_tombstone
    } else {
        shape.bytes
    };
    let allocation = scenario
        .settings
        .text("memtable_allocation_type")
        .unwrap_or("heap_buffers");
    let on_heap = match allocation {
        "offheap_objects" => cal.get("offheap_objects_heap_share"),
        _ => 1.0,
    };
    let values_on_heap = allocation != "offheap_buffers" && allocation != "offheap_objects";
    let value_bytes = if values_on_heap {
        serialized
    } else {
        serialized * 0.3
    };
    let heap_per_row = on_heap
        * (cal.get("memtable_row_overhead")
            + value_bytes
            + (shape.cells + shape.null_cells) * cal.get("memtable_cell_overhead"));
    let has_clustering = !table.clustering.is_empty();
    let pattern = if has_clustering {
        op.clustering
    } else {
        ClusteringPattern::Random
    };
    let zipf_norm = t.parts.zipf_norm(op.keys);
    Writer {
        op: op_idx,
        kind: w.kind,
        deletion: w.deletion,
        rate: op.rate_per_s * w.rows * write_factor,
        keys: op.keys,
        zipf_norm,
        pattern,
        target: op.target,
        delay_s: op.delay.map(|d| d.mean()).unwrap_or(0.0),
        ttl,
        shape: shape_idx,
        static_only: w.static_only,
        heap_per_row,
        commitlog_per_row: serialized + cal.get("commitlog_mutation_overhead"),
        keeps_up: false,
        // An LWT's Paxos rounds wait for a quorum at its serial consistency (SERIAL by default).
        fanout: if op.lwt {
            fanout(scenario, "SERIAL", dc)
        } else {
            fanout(scenario, &op.consistency, dc)
        },
        cells: shape.cells + shape.null_cells,
        lwt: op.lwt,
    }
}
