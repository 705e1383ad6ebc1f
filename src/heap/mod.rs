//! A node's memory (CASSANDRA.md 2, 4, 8; issue 5): the JVM it runs (the heap from the scenario or
//! cassandra-env.sh's rule, the young generation, the version's default collector with its
//! settings), the live set on the heap by what holds it, and off-heap structures. `gc.rs` turns a
//! sample's load into collections and pauses, `verdict.rs` into the node's verdict.

pub mod gc;
pub mod verdict;

use crate::defaults::CassandraVersion;
use crate::scenario::{Heap, Scenario};

const MIB: f64 = 1024.0 * 1024.0;

/// The garbage collector and the settings cassandra's jvm options give it (CASSANDRA.md 2.2).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "name")]
pub enum Collector {
    /// ParNew + CMS (3.x, and 4.x on Java 8): `SurvivorRatio=8`, `MaxTenuringThreshold=1`,
    /// `CMSInitiatingOccupancyFraction=75`.
    #[serde(rename = "CMS")]
    Cms {
        survivor_ratio: f64,
        max_tenuring_threshold: u32,
        initiating_occupancy: f64,
    },
    /// G1 (5.0): `MaxGCPauseMillis=300`, `InitiatingHeapOccupancyPercent=70`,
    /// `G1HeapRegionSize=16m`, `MaxTenuringThreshold=1`.
    #[serde(rename = "G1")]
    G1 {
        max_pause_s: f64,
        initiating_occupancy: f64,
        region_bytes: f64,
        max_tenuring_threshold: u32,
    },
}

impl Collector {
    /// The name GC logs and operators use.
    pub fn name(&self) -> &'static str {
        match self {
            Collector::Cms { .. } => "CMS",
            Collector::G1 { .. } => "G1",
        }
    }

    pub fn default_for(version: CassandraVersion) -> Collector {
        match version {
            CassandraVersion::V5_0 => Collector::G1 {
                max_pause_s: 0.3,
                initiating_occupancy: 0.70,
                region_bytes: 16.0 * MIB,
                max_tenuring_threshold: 1,
            },
            _ => Collector::Cms {
                survivor_ratio: 8.0,
                max_tenuring_threshold: 1,
                initiating_occupancy: 0.75,
            },
        }
    }
}

/// A node's JVM memory layout.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Jvm {
    pub heap_bytes: f64,
    /// HEAP_NEWSIZE (`-Xmn`), applied with CMS only; G1 sizes its young generation itself.
    pub young_bytes: Option<f64>,
    pub collector: Collector,
}

/// MAX_HEAP_SIZE of cassandra-env.sh (CASSANDRA.md 2.1): max(min(RAM/2, 1024 MB), min(RAM/4,
/// 8192 MB)), in whole MB as `free -m` gives them.
pub fn auto_heap_bytes(ram_bytes: f64) -> f64 {
    let ram_mb = (ram_bytes / MIB).floor();
    let heap_mb = (ram_mb / 2.0)
        .min(1024.0)
        .max((ram_mb / 4.0).min(8192.0))
        .floor();
    heap_mb * MIB
}

/// HEAP_NEWSIZE of cassandra-env.sh (CASSANDRA.md 2.1): min(100 MB × cores, MAX_HEAP / 4).
pub fn auto_young_bytes(heap_bytes: f64, cores: u32) -> f64 {
    (100.0 * MIB * f64::from(cores.max(1))).min(heap_bytes / 4.0)
}

impl Jvm {
    pub fn of(scenario: &Scenario) -> Jvm {
        let heap_bytes = match scenario.node.heap {
            Heap::Auto => auto_heap_bytes(scenario.node.ram_bytes),
            Heap::Bytes(b) => b,
        };
        let collector = Collector::default_for(scenario.cluster.cassandra_version);
        let young_bytes = match collector {
            Collector::Cms { .. } => Some(auto_young_bytes(heap_bytes, scenario.node.cores)),
            Collector::G1 { .. } => None,
        };
        Jvm {
            heap_bytes,
            young_bytes,
            collector,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: f64 = 1024.0 * MIB;

    #[test]
    fn cassandra_env_sizes_the_heap_by_ram() {
        assert_eq!(auto_heap_bytes(4.0 * GIB), GIB);
        assert_eq!(auto_heap_bytes(16.0 * GIB), 4.0 * GIB);
        assert_eq!(auto_heap_bytes(32.0 * GIB), 8.0 * GIB);
        assert_eq!(auto_heap_bytes(64.0 * GIB), 8.0 * GIB);
        assert_eq!(auto_heap_bytes(2.0 * GIB), GIB);
        assert_eq!(auto_heap_bytes(8.0 * GIB), 2.0 * GIB);
    }

    #[test]
    fn the_young_generation_is_100_mb_a_core_up_to_a_quarter_of_the_heap() {
        assert_eq!(auto_young_bytes(8.0 * GIB, 8), 800.0 * MIB);
        assert_eq!(auto_young_bytes(GIB, 8), 256.0 * MIB);
    }

    #[test]
    fn the_collector_follows_the_version() {
        assert!(matches!(
            Collector::default_for(CassandraVersion::V3_11),
            Collector::Cms { .. }
        ));
        assert!(matches!(
            Collector::default_for(CassandraVersion::V4_1),
            Collector::Cms { .. }
        ));
        assert!(matches!(
            Collector::default_for(CassandraVersion::V5_0),
            Collector::G1 { max_pause_s, .. } if max_pause_s == 0.3
        ));
    }
}

/// The live set on the heap by what holds it (issue 5, item 2; CASSANDRA.md 8.5).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct LiveSet {
    pub baseline: f64,
    pub memtables: f64,
    pub key_cache: f64,
    pub counter_cache: f64,
    /// Reads in flight (Little's law, at most concurrent_reads) times what each materialises:
    /// cells scanned and the column index of wide partitions.
    pub reads: f64,
    pub writes: f64,
    pub compaction: f64,
    /// Sstable readers' objects (metadata, histograms, wrappers), per sstable.
    pub sstables: f64,
}

impl LiveSet {
    pub fn total(&self) -> f64 {
        self.baseline
            + self.memtables
            + self.key_cache
            + self.counter_cache
            + self.reads
            + self.writes
            + self.compaction
            + self.sstables
    }
}

/// Bits per key of a bloom filter (CASSANDRA.md 4.1, `BloomCalculations.computeBloomSpec`): the
/// smallest whole number of bits per key, up to 20, whose best hash count meets the false-positive
/// chance; 0 for a chance of 1 (an always-present filter).
pub fn bloom_bits_per_key(fp_chance: f64) -> f64 {
    if fp_chance >= 1.0 {
        return 0.0;
    }
    for bits in 1..=20u32 {
        let b = f64::from(bits);
        let best = (1..=bits)
            .map(|k| {
                let k = f64::from(k);
                (1.0 - (-k / b).exp()).powf(k)
            })
            .fold(f64::INFINITY, f64::min);
        if best <= fp_chance {
            return b;
        }
    }
    20.0
}

/// `BITSET_EXCESS`: bits every bloom filter adds (CASSANDRA.md 4.1).
pub const BLOOM_EXCESS_BITS: f64 = 20.0;

/// Bytes of one sstable's bloom filter over `keys` partitions (CASSANDRA.md 4.1): keys × bits per
/// key (from [`bloom_bits_per_key`]) + `BITSET_EXCESS`, in bits.
pub fn bloom_filter_bytes(keys: f64, bits_per_key: f64) -> f64 {
    (keys * bits_per_key + BLOOM_EXCESS_BITS) / 8.0
}
/// `min_index_interval`: one index summary entry per 128 partitions (CASSANDRA.md 4.2).
pub const INDEX_SUMMARY_INTERVAL: f64 = 128.0;
/// Bytes of an index summary entry besides its key: the position (8) and the offset (4).
pub const INDEX_SUMMARY_ENTRY_OVERHEAD: f64 = 12.0;
/// Bytes of compression metadata per chunk: `CompressionMetadata` keeps a long offset per chunk
/// (F14's 1–3 GB per TB matches small chunks).
pub const COMPRESSION_OFFSET_BYTES: f64 = 8.0;

/// Off-heap memory by kind (CASSANDRA.md 8.5), as `summary.json` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct OffHeap {
    pub bloom_filter: f64,
    pub index_summary: f64,
    pub compression_metadata: f64,
    pub memtable: f64,
    pub chunk_cache: f64,
    pub networking_cache: f64,
}

impl OffHeap {
    pub fn total(&self) -> f64 {
        self.bloom_filter
            + self.index_summary
            + self.compression_metadata
            + self.memtable
            + self.chunk_cache
            + self.networking_cache
    }

    pub fn add(&mut self, o: &OffHeap) {
        self.bloom_filter += o.bloom_filter;
        self.index_summary += o.index_summary;
        self.compression_metadata += o.compression_metadata;
        self.memtable += o.memtable;
        self.chunk_cache += o.chunk_cache;
        self.networking_cache += o.networking_cache;
    }
}

/// The chunk cache (`file_cache_size`, min(1/4 heap, 512 MiB)) and the networking cache
/// (min(1/16 heap, 128 MiB)), CASSANDRA.md 1.2.
pub fn fixed_offheap(heap_bytes: f64) -> OffHeap {
    OffHeap {
        chunk_cache: (heap_bytes / 4.0).min(512.0 * MIB),
        networking_cache: (heap_bytes / 16.0).min(128.0 * MIB),
        ..OffHeap::default()
    }
}

#[cfg(test)]
mod offheap_tests {
    use super::*;

    #[test]
    fn bloom_bits_follow_cassandra_table() {
        assert_eq!(bloom_bits_per_key(0.01), 10.0);
        assert_eq!(bloom_bits_per_key(0.1), 5.0);
        assert_eq!(bloom_bits_per_key(0.001), 15.0);
        assert_eq!(bloom_bits_per_key(1.0), 0.0);
    }

    #[test]
    fn a_bloom_filter_over_n_keys_has_cassandras_size() {
        // CASSANDRA.md 4.1: 1 000 000 keys at 0.01 → 10 bits each + 20 bits.
        let bytes = |keys, fp| bloom_filter_bytes(keys, bloom_bits_per_key(fp));
        assert_eq!(bytes(1_000_000.0, 0.01), 1_250_002.5);
        // LCS's 0.1 → 5 bits per key; 0.001 → 15.
        assert_eq!(bytes(1_000_000.0, 0.1), 625_002.5);
        assert_eq!(bytes(8.0, 0.001), (8.0 * 15.0 + 20.0) / 8.0);
        assert_eq!(bytes(1_000.0, 1.0), 2.5);
    }

    #[test]
    fn fixed_caches_are_capped() {
        let f = fixed_offheap(8.0 * 1024.0 * MIB);
        assert_eq!(f.chunk_cache, 512.0 * MIB);
        assert_eq!(f.networking_cache, 128.0 * MIB);
    }
}
