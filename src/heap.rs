//! The JVM a node runs (CASSANDRA.md 2): the heap from the scenario or cassandra-env.sh's rule, the
//! young generation, and the version's default collector with its settings. The live set, GC and
//! verdicts build on this (issue 5).

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
