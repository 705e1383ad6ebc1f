//! The model's coefficients: every number the simulation uses that is not a Cassandra setting (those
//! live in `defaults` and `[settings]`), each with its source or the reason it was assumed. A
//! scenario's `[calibration]` section overrides any of them by name.

use std::collections::BTreeMap;

/// One coefficient: its name (the `[calibration]` key), default, unit and source.
#[derive(Debug, Clone, Copy)]
pub struct Coefficient {
    pub name: &'static str,
    pub default: f64,
    pub unit: &'static str,
    pub source: &'static str,
}

const fn c(
    name: &'static str,
    default: f64,
    unit: &'static str,
    source: &'static str,
) -> Coefficient {
    Coefficient {
        name,
        default,
        unit,
        source,
    }
}

/// The table of coefficients. Names are stable: scenarios refer to them.
pub const COEFFICIENTS: &[Coefficient] = &[
    // Engine: how much state is tracked and how often.
    c(
        "engine_step",
        600.0,
        "s",
        "assumed: TWCS's expired_sstable_check_frequency_seconds (CASSANDRA.md 5.4); state a reader can see changes at flushes and compactions, which this step aggregates",
    ),
    c(
        "sample_partitions",
        1024.0,
        "partitions",
        "DESIGN.md 3 ('keep the sample small (thousands)'): partitions tracked per table and node, more are a weighted sample; 1024 keeps R1 under a second (BENCHMARKS in the issue notes)",
    ),
    c(
        "max_samples",
        100_000.0,
        "samples",
        "budget: samples a run may take (duration / sample_every); each keeps a few KB per table and node, so 100 000 (11 years at hourly samples) stays within some hundreds of MB; raise it to override",
    ),
    c(
        "max_steps",
        2_000_000.0,
        "steps",
        "budget: engine steps a run may take (duration / the step); 2 000 000 is 38 years at the default 600 s step or 23 days at 1 s, some hours of a large scenario; raise it to override",
    ),
    c(
        "min_partitions_per_bucket",
        16.0,
        "partitions",
        "assumed: the least a time bucket's sample may hold so its percentiles mean something",
    ),
    c(
        "reads_per_sample",
        100.0,
        "reads",
        "assumed: reads simulated per SELECT, sample period and node; p99 of 100 draws is the 99th value, and the worst sample over a run is what summary.json reports; 100 keeps R1 under a second",
    ),
    c(
        "stats_partitions",
        128.0,
        "partitions",
        "assumed: tracked partitions whose merged view gives each sample's partition percentiles",
    ),
    c(
        "page_size",
        5000.0,
        "rows",
        "DataStax drivers' default fetch size: a read without LIMIT is paged, and the tombstone thresholds apply per page (CASSANDRA.md 6.4)",
    ),
    // Memtable heap accounting (CASSANDRA.md 8.4: derived; a live row checked on the real node).
    c(
        "memtable_row_overhead",
        200.0,
        "B",
        "CASSANDRA.md 8.4: BTreeRow, Clustering and liveness, about 200 B + the clustering bytes per row; checked on Cassandra 5.0.6 with memtable_cell_overhead: twcs-ttl's periodic flushes hold 1.585 MiB for 20 s of 200 rows/s of a 100 B value and an 8 B clustering, 415 B a row (reports/validation/twcs-ttl/measured-*/flushes.txt), where the two overheads give 404 B",
    ),
    c(
        "memtable_cell_overhead",
        96.0,
        "B",
        "CASSANDRA.md 8.4: BufferCell and its ByteBuffer, about 90-100 B + the value per cell",
    ),
    c(
        "memtable_partition_overhead",
        150.0,
        "B",
        "CASSANDRA.md 8.3/8.4: skip-list entry and AtomicBTreePartition, about 100-200 B per partition",
    ),
    c(
        "offheap_objects_heap_share",
        0.3,
        "ratio",
        "CASSANDRA.md 8.1: offheap_objects keeps only the partition and row B-tree structure on heap (assumed share of the heap_buffers size)",
    ),
    c(
        "commitlog_mutation_overhead",
        24.0,
        "B",
        "assumed: a commit log entry's header and checksums around the serialized mutation",
    ),
    // Read and write latency (issue 4). Disk figures are typical device numbers, assumed: no
    // published per-operation Cassandra constants exist (CASSANDRA.md 7.3).
    c("ssd_seek_ms", 0.1, "ms", "assumed: a SATA SSD 4 KiB random read, about 100 us"),
    c("ssd_throughput_mib_s", 500.0, "MiB/s", "assumed: SATA SSD sequential read"),
    c("nvme_seek_ms", 0.02, "ms", "assumed: an NVMe 4 KiB random read, about 20 us"),
    c("nvme_throughput_mib_s", 2000.0, "MiB/s", "assumed: NVMe sequential read"),
    c("hdd_seek_ms", 8.0, "ms", "assumed: a 7200 rpm disk's seek and rotation"),
    c("hdd_throughput_mib_s", 150.0, "MiB/s", "assumed: 7200 rpm sequential read"),
    c("network_seek_ms", 1.0, "ms", "assumed: EBS-like network block storage, about 1 ms per read"),
    c("network_throughput_mib_s", 250.0, "MiB/s", "assumed: gp2/gp3-class volume throughput"),
    c("bloom_probe_us", 1.0, "us", "assumed: a few hashes and cache misses per bloom filter probe (CASSANDRA.md 7.3: one probe per candidate sstable)"),
    c("read_base_us", 50.0, "us", "assumed: a replica read's fixed CPU (messaging, command, response); with the disk terms it gives F13's 2.8 ms p50 order on network disks"),
    c("sstable_merge_us", 10.0, "us", "assumed: opening an sstable iterator and merging it (CASSANDRA.md 7.3: per selected sstable)"),
    c("cell_cpu_us", 0.3, "us", "assumed: deserialising and merging a cell; F18's 150 us partition read at a few hundred cells"),
    c("tombstone_cpu_us", 0.5, "us", "assumed: a tombstone costs more than a cell (it is kept for the response and reconciliation)"),
    c("decompress_us_per_kib", 1.0, "us/KiB", "assumed: LZ4 decompression at about 1 GiB/s per core"),
    c("key_cache_entry_bytes", 100.0, "B", "assumed: a key cache entry's key, position and overhead on heap"),
    c("network_rtt_ms", 0.3, "ms", "assumed: a round trip within a datacenter"),
    c("replica_jitter_sigma", 0.3, "", "assumed: lognormal spread of one replica's service time around the model's, for tails and k-th fastest replicas"),
    c("offheap_reserve_bytes", 1073741824.0, "B", "assumed: memory outside the heap, the modelled off-heap structures and the page cache (OS, JVM metaspace, thread stacks)"),
    c("write_base_us", 20.0, "us", "assumed: a replica write's fixed CPU; F13 reports write p50 about 10 us on the replica"),
    c("commitlog_append_us", 5.0, "us", "assumed: appending a mutation to the commit log buffer (periodic sync)"),
    c("memtable_cell_us", 1.0, "us", "assumed: inserting a cell into the memtable"),
    c("speculative_retry_percentile", 99.0, "%", "Cassandra's default speculative_retry = 99p"),
    c("index_rows_per_value", 10.0, "rows", "assumed: base rows per indexed value of a legacy secondary index's hidden table (the rule of thumb behind defaults::HIGH_CARDINALITY_INDEX_ROWS_PER_VALUE)"),
    // Heap live set (issue 5).
    c("heap_baseline_bytes", 73127936.0, "B", "measured on Cassandra 5.0.6 (validation/cassandra heap: jcmd GC.run on an idle node 30 s after start, one keyspace): 73.1 MB live after a full collection with a 1 GiB heap, 69.6 MB with 512 MiB; the JVM, schema, system tables and internal structures. Was an assumed 256 MiB, which put a 512 MiB node in constant concurrent cycles (reports/validation/heap-burst)"),
    c("read_cell_heap_bytes", 96.0, "B", "CASSANDRA.md 8.4: a BufferCell and its ByteBuffer, about 90-100 B, for each cell a read materialises"),
    c("index_info_heap_bytes", 100.0, "B", "assumed: an IndexInfo entry (first and last clustering, offset, width) read for a wide partition (CASSANDRA.md 4.4-4.5)"),
    c("compaction_heap_bytes", 33554432.0, "B", "assumed: buffers and the partition being merged, per running compaction"),
    c("sstable_heap_bytes", 16384.0, "B", "assumed: an sstable reader's objects on heap (CASSANDRA.md 8.5 'per-sstable reader objects'): StatsMetadata's two EstimatedHistograms (150 and 114 buckets) and tombstone drop-time histogram (100 bins), min/max clustering values, the reader, file handles and the summary and filter wrappers"),
    // Allocation and garbage collection (issue 5, item 3).
    c("write_alloc_bytes", 10700.0, "B", "measured on Cassandra 5.0.6 (reports/validation/allocation: the real node's allocation from its GC log, less the drive's own 13.4 MB/s measured apart by validation/allocation --overhead, and less what this model gives the memtable's copy and the reads): 10.7 kB a row written, the least-squares slope against rows written a second over twcs-ttl, sessions-expiring, partition-deletes-stcs, wide-partitions and upserts-stcs (200 to 1 000 writes/s, 100 B to 1 KiB values: the size barely matters): the request decoded, the mutation, its commit log serialization, the partition's B-tree path copied on update; was an assumed 2 KiB, which put young collections five to ten times too far apart"),
    c("read_alloc_bytes", 4096.0, "B", "assumed: short-lived objects of a replica read besides its cells (command, iterators, response)"),
    c("read_sstable_alloc_bytes", 2048.0, "B", "assumed: per sstable a read opens (iterator, RowIndexEntry, buffers on heap)"),
    c("read_alloc_per_cell_byte", 4.4, "B/B", "measured on Cassandra 5.0.6 (reports/validation/allocation): heap-burst's 20 reads/s of 500 rows of 1 KiB allocate some 45 MB/s besides its writes, 4.4 bytes per byte of each cell a read passes beyond the 96 B it holds of it (copied from the chunk, merged, serialized into the response and the message); the queues' tombstones give 3.6 (queue-long-gc) to 7.6 (queue-short-gc, which also compacts)"),
    c("compaction_alloc_per_byte", 1.0, "B/B", "assumed: a compaction deserialises each cell into objects about as large as its serialized bytes"),
    c("node_alloc_bytes_per_s", 3900000.0, "B/s", "measured on Cassandra 5.0.6 (reports/validation/allocation): the intercept of the fit write_alloc_bytes comes from (3.9 MB/s; an idle node allocates 0.66 MB/s): work that comes with load but not in proportion to it (flushes, commit log segments, metrics, the native transport's connections), taken as constant"),
    c("monitoring_alloc_bytes_per_s", 0.0, "B/s", "assumed: none; what a node's monitoring and tracing allocate beyond the workload (JMX polling, traced requests). The validation suite sets it to cassim drive's measured share (reports/validation/allocation/overhead.json: 13.4 MB/s for nodetool through JMX every second and 6.7 traced reads a second)"),
    c("gc_copy_mib_s_per_thread", 512.0, "MiB/s", "measured on Cassandra 5.0.6 (reports/validation/heap-burst/measured-*/gc_pauses.txt): 76 G1 young pauses of 3.5 to 26 ms (median 7.7 ms), each leaving some 3 to 5 MB more in the heap (survivors and promotions) on 2 threads, about 0.5 to 1 GB/s a thread with the fixed part; was an assumed 128 MiB/s, which made each young pause 300 ms; ParallelGCThreads follow HotSpot's rule"),
    c("young_gc_base_ms", 2.0, "ms", "assumed: a young pause's safepoint and root scanning"),
    c("young_gc_ms_per_old_gib", 1.0, "ms/GiB", "assumed: the card-table scan of the old generation in each young pause"),
    c("gc_mark_mib_s_per_thread", 256.0, "MiB/s", "assumed: concurrent marking of live old-generation data per ConcGCThreads thread"),
    c("cms_sweep_mib_s", 1024.0, "MiB/s", "assumed: CMS's concurrent sweep of the old generation"),
    c("full_gc_mib_s_per_thread", 512.0, "MiB/s", "assumed: a stop-the-world mark-compact of live data per thread (CMS falls back to one thread; G1's full GC is parallel since JDK 10)"),
    c("g1_reserve_percent", 10.0, "%", "HotSpot default G1ReservePercent: heap G1 keeps free against evacuation failure"),
    c("g1_new_size_percent", 5.0, "%", "HotSpot default G1NewSizePercent: the young generation's least share of the heap"),
    c("g1_max_new_size_percent", 60.0, "%", "HotSpot default G1MaxNewSizePercent: the young generation's largest share of the heap"),
    c("g1_mixed_gc_count_target", 8.0, "collections", "HotSpot default G1MixedGCCountTarget: mixed collections after a marking cycle"),
    // Verdicts (issue 5, item 4).
    c("gc_thrashing_pause_fraction", 1.0 / 13.0, "ratio", "HotSpot G1's default throughput goal GCTimeRatio=12: at most 1/(1+12) of the time in GC; more is thrashing, for CMS too"),
    c("flush_growth_window", 86400.0, "s", "assumed: the window over which flushed sstables awaiting compaction must keep growing for frequent_flushes; a day spans a daily TWCS window's fill and close, so a window's normal rise and fall is not growth"),
    c("verdict_sustain_s", 3600.0, "s", "assumed: a condition must hold over consecutive samples spanning this long (or to the run's end) to be a verdict, so one noisy sample is not one"),
    // Sizing (issue 7).
    c("node_density_ceiling_bytes", 2e12, "B", "F20: up to 2 TB of data per node (DataStax HCD and OSS guides); more makes streaming, repair and compaction slow"),
    c("disk_utilisation_ceiling", 0.9, "ratio", "assumed: the share of the disk sstables, compaction headroom, commit log and snapshots may fill; the rest is the filesystem's reserve, logs and hints (the strategy's compaction headroom, F20's 50 % for STCS, is counted apart)"),
    c("stcs_headroom_share", 1.0, "ratio", "F20: STCS needs up to 50 % of the disk free, i.e. free space as large as its data, for a compaction of its largest tier; also DTCS and unknown strategies"),
    c("snapshot_allowance_share", 0.1, "ratio", "assumed: sstables a snapshot (auto_snapshot on truncate or drop, one before an upgrade) keeps after compaction replaced them, as a share of the data"),
    c("stage_utilisation_target", 0.7, "ratio", "assumed: the read stage and cores busy at most 70 % of the time; Erlang C waits grow steeply above it, and a node must absorb a failed peer's share"),
    c("compaction_utilisation_target", 0.8, "ratio", "assumed: compaction busy at most 80 % of the time on average, so it catches up after bursts (window closes, repairs)"),
    c("open_files_per_sstable", 8.0, "files", "CASSANDRA.md 3.9: an sstable's components (Data, Index or Partitions/Rows, Summary, Filter, CompressionInfo, Statistics, Digest, TOC); all count, as streaming, repair and snapshots open every one"),
    c("client_connections", 200.0, "connections", "assumed: application instances x driver connections per host (e.g. 100 x 2) on each node"),
    c("internode_connections_per_peer", 6.0, "connections", "Cassandra's messaging: gossip/urgent, small and large message connections to each peer, and the peer's three to it"),
    c("base_open_files", 400.0, "files", "assumed: the JVM's jars and libraries, logs, listening sockets and system files of an idle node"),
    c("stream_receive_mib_s", 100.0, "MiB/s", "assumed: what a replacing node can write while receiving streams (about a 1 Gbit/s link); the senders' stream_throughput_outbound limits each source"),
    c("wire_bytes_per_message", 900.0, "B", "F19: Netflix's fit, wire bytes = 900 + 1.42 x application bytes, per replicated mutation"),
    c("wire_bytes_per_app_byte", 1.42, "B/B", "F19: Netflix's fit, wire bytes = 900 + 1.42 x application bytes"),
    // Cluster.
    c(
        "token_imbalance_z",
        0.0,
        "sd",
        "0 = derive from the node count (the largest of N normal draws); the hottest node owns (1 + z/sqrt(num_tokens)) of the mean share",
    ),
];

/// The coefficients in force for a run: defaults overridden by `[calibration]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Calibration {
    values: BTreeMap<String, f64>,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            values: COEFFICIENTS
                .iter()
                .map(|c| (c.name.to_string(), c.default))
                .collect(),
        }
    }
}

impl Calibration {
    /// The coefficient's value. Panics on a name not in [`COEFFICIENTS`]: that is a bug in cassim,
    /// never a user error (user names are checked by [`Calibration::set`]).
    pub fn get(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(v) => *v,
            None => panic!("calibration coefficient {name} is not in COEFFICIENTS"),
        }
    }

    /// Overrides a coefficient; an unknown name is an error naming the closest known one.
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), String> {
        match self.values.get_mut(name) {
            Some(v) => {
                *v = value;
                Ok(())
            }
            None => Err(name.to_string()),
        }
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        COEFFICIENTS.iter().map(|c| c.name)
    }

    /// The values a coefficient may take, so that no override turns a figure infinite or NaN:
    /// by its unit (ratios and percentages as such, counts from 1, throughputs above 0, every
    /// other amount from 0), and a few by what the engine does with them.
    pub fn bounds(name: &str) -> Option<(f64, f64)> {
        const MAX: f64 = 1e15;
        let unit = COEFFICIENTS.iter().find(|c| c.name == name)?.unit;
        Some(match name {
            // A step of a second at least: state changes at flushes and compactions, which a
            // shorter step would only repeat (1e-9 ran for ever); a day at most, one sample.
            "engine_step" => (1.0, 86_400.0),
            "sample_partitions" | "stats_partitions" | "reads_per_sample" => (1.0, 1e6),
            "speculative_retry_percentile" => (1.0, 100.0),
            "token_imbalance_z" => (0.0, 10.0),
            "replica_jitter_sigma" => (0.0, 5.0),
            "stcs_headroom_share" => (0.0, 2.0),
            "flush_growth_window" | "verdict_sustain_s" => (1.0, MAX),
            _ => match unit {
                "ratio" => (0.0, 1.0),
                "%" => (0.0, 100.0),
                "partitions" | "reads" | "rows" | "collections" | "files" | "connections"
                | "samples" | "steps" => (1.0, 1e9),
                // Throughputs divide: 0 would be an infinite time.
                "MiB/s" => (1e-3, MAX),
                _ => (0.0, MAX),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_coefficient_has_a_source_and_a_unique_name() {
        let mut seen = std::collections::BTreeSet::new();
        for c in COEFFICIENTS {
            assert!(!c.source.is_empty(), "{} has no source", c.name);
            assert!(seen.insert(c.name), "{} appears twice", c.name);
        }
    }

    #[test]
    fn every_default_lies_within_its_bounds() {
        for c in COEFFICIENTS {
            let (min, max) = Calibration::bounds(c.name).unwrap();
            assert!(
                (min..=max).contains(&c.default),
                "{}: {}",
                c.name,
                c.default
            );
        }
    }

    #[test]
    fn set_overrides_and_rejects_unknown_names() {
        let mut cal = Calibration::default();
        cal.set("reads_per_sample", 10.0).unwrap();
        assert_eq!(cal.get("reads_per_sample"), 10.0);
        assert!(cal.set("reads_per_sampel", 1.0).is_err());
    }
}
