//! Cassandra's defaults by version, each with its source (CASSANDRA.md section). This is the one
//! place model constants live; a scenario's `[settings]` and table options override them.

use std::fmt;

/// gc_grace_seconds: 10 days (CASSANDRA.md 1.1, `TableParams.DEFAULT_GC_GRACE_SECONDS`).
pub const GC_GRACE_SECONDS: u64 = 864_000;
/// tombstone_warn_threshold (CASSANDRA.md 1.2).
pub const TOMBSTONE_WARN_THRESHOLD: u64 = 1_000;
/// tombstone_failure_threshold (CASSANDRA.md 1.2).
pub const TOMBSTONE_FAILURE_THRESHOLD: u64 = 100_000;
/// The "Writing large partition" warning: 100 MiB (CASSANDRA.md 1.3, FIGURES.md F3).
pub const LARGE_PARTITION_WARN_BYTES: f64 = 100.0 * 1024.0 * 1024.0;
/// Hard limit of cells per partition (CASSANDRA.md 1.3).
pub const MAX_CELLS_PER_PARTITION: f64 = 2e9;
/// Attributes.MAX_TTL: 20 years (CASSANDRA.md 1.4).
pub const MAX_TTL_SECONDS: u64 = 630_720_000;
/// column_index_size: an IndexInfo entry per 64 KiB of a partition (CASSANDRA.md 1.2, 4.4).
pub const COLUMN_INDEX_SIZE_BYTES: f64 = 64.0 * 1024.0;
/// column_index_cache_size: 2 KiB (CASSANDRA.md 1.2, 4.5).
pub const COLUMN_INDEX_CACHE_SIZE_BYTES: f64 = 2.0 * 1024.0;
/// TWCS: aim for fewer than about 50 windows within the TTL (FIGURES.md F15).
pub const TWCS_MAX_WINDOWS: f64 = 50.0;
/// Cardinality above which a secondary index is on a "high-cardinality" column: the rule of thumb is
/// that a 2i works when each indexed value has many rows (assumed; DataStax's "when not to use an
/// index" guidance names unique-ish columns).
pub const HIGH_CARDINALITY_INDEX_ROWS_PER_VALUE: f64 = 10.0;

/// The Cassandra versions cassim models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum CassandraVersion {
    #[serde(rename = "3.11")]
    V3_11,
    #[serde(rename = "4.0")]
    V4_0,
    #[serde(rename = "4.1")]
    V4_1,
    #[serde(rename = "5.0")]
    V5_0,
}

impl CassandraVersion {
    pub const ALL: [CassandraVersion; 4] = [
        CassandraVersion::V3_11,
        CassandraVersion::V4_0,
        CassandraVersion::V4_1,
        CassandraVersion::V5_0,
    ];

    pub fn parse(s: &str) -> Option<CassandraVersion> {
        match s.trim() {
            "3.11" => Some(CassandraVersion::V3_11),
            "4.0" => Some(CassandraVersion::V4_0),
            "4.1" => Some(CassandraVersion::V4_1),
            "5.0" => Some(CassandraVersion::V5_0),
            _ => None,
        }
    }

    /// Compression chunk_length_in_kb: 64 in 3.x, 16 from 4.0 (CASSANDRA.md 1.1, CASSANDRA-13241).
    pub fn default_chunk_length_kib(self) -> u32 {
        match self {
            CassandraVersion::V3_11 => 64,
            _ => 16,
        }
    }

    /// Bytes of the partition-level deletion time of a live partition: 12 before 5.0, 1 in 5.0's
    /// `oa`/`da` format (CASSANDRA.md 3.1).
    pub fn live_partition_deletion_bytes(self) -> f64 {
        match self {
            CassandraVersion::V5_0 => 1.0,
            _ => 12.0,
        }
    }

    /// num_tokens: 256 in 3.x, 16 from 4.0 (CASSANDRA.md 1.2).
    pub fn default_num_tokens(self) -> u32 {
        match self {
            CassandraVersion::V3_11 => 256,
            _ => 16,
        }
    }

    /// compaction_throughput in bytes/s: 16 MB/s in 3.x/4.0, 64 MiB/s in 5.0 (CASSANDRA.md 1.2). The
    /// 4.1 value is unverified there; 4.1's yaml moved to `compaction_throughput: 64MiB/s` (assumed).
    pub fn default_compaction_throughput(self) -> f64 {
        match self {
            CassandraVersion::V3_11 | CassandraVersion::V4_0 => 16.0 * 1024.0 * 1024.0,
            _ => 64.0 * 1024.0 * 1024.0,
        }
    }

    /// The default collector: CMS before 5.0, G1 in 5.0 (CASSANDRA.md 2.2).
    pub fn default_collector(self) -> &'static str {
        match self {
            CassandraVersion::V5_0 => "G1",
            _ => "CMS",
        }
    }

    /// stream_throughput_outbound per sending node, bytes/s: 200 Mbit/s in 3.11 and 4.0
    /// (`stream_throughput_outbound_megabits_per_sec: 200`), 24 MiB/s from 4.1
    /// (`stream_throughput_outbound: 24MiB/s`) (cassandra.yaml of each version).
    pub fn default_stream_throughput(self) -> f64 {
        match self {
            CassandraVersion::V3_11 | CassandraVersion::V4_0 => 200e6 / 8.0,
            _ => 24.0 * 1024.0 * 1024.0,
        }
    }

    /// Whether UCS exists (5.0+, CASSANDRA.md 5.5).
    pub fn has_ucs(self) -> bool {
        self == CassandraVersion::V5_0
    }
}

impl fmt::Display for CassandraVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            CassandraVersion::V3_11 => "3.11",
            CassandraVersion::V4_0 => "4.0",
            CassandraVersion::V4_1 => "4.1",
            CassandraVersion::V5_0 => "5.0",
        };
        f.write_str(s)
    }
}

/// commitlog_segment_size: 32 MiB (CASSANDRA.md 1.1).
pub const COMMITLOG_SEGMENT_BYTES: f64 = 32.0 * 1024.0 * 1024.0;

/// commitlog_total_space when unset: min(8 GiB, 1/4 of the commit log's volume) (CASSANDRA.md 1.1;
/// the commit log is taken to share the data disk).
pub fn commitlog_total_space(disk_bytes: f64) -> f64 {
    (8.0 * 1024.0 * 1024.0 * 1024.0f64).min(disk_bytes / 4.0)
}

/// Serialized size assumed for a variable-length value (text, blob, varint, …) whose size the
/// scenario does not give (assumed: short identifiers and names; set `[tables."ks.t".columns]`).
pub const DEFAULT_VARIABLE_VALUE_BYTES: f64 = 16.0;
/// Elements assumed in a collection whose element count the scenario does not give (assumed).
pub const DEFAULT_COLLECTION_ELEMENTS: f64 = 4.0;
/// Compressed/uncompressed ratio assumed when a table compresses but the scenario gives no
/// `compression_ratio` (assumed: LZ4 on mixed text and numbers; FIELD-REPORT.md item 3 says JSON
/// payloads compress well).
pub const DEFAULT_COMPRESSION_RATIO: f64 = 0.5;
