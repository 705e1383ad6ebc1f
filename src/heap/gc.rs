//! Garbage collection over a sample (issue 5, item 3; DESIGN.md 3 "Heap"): from the allocation
//! rate, what survives a young collection, the old generation's live set and the promotion rate,
//! the collections a sample sees (young, CMS or G1 concurrent cycles with their pauses, full
//! collections when a concurrent cycle cannot finish in time), the share of time paused, and
//! whether the live set plus the collector's working headroom fits the heap at all.
//!
//! The mechanism, for both collectors: memtable data lives until its flush, far longer than a
//! young collection apart, so with `MaxTenuringThreshold=1` it is copied to a survivor space and
//! then promoted: it is the promotion rate. The old generation fills at that rate until the
//! collector's initiating occupancy starts a concurrent cycle, which must finish before the free
//! space left runs out; otherwise the JVM falls back to a stop-the-world full collection. When even
//! a full collection cannot leave room for one more cycle's promotions, the node dies with
//! `OutOfMemoryError`.

use super::{Collector, Jvm};
use crate::calibration::Calibration;

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

/// The collector's speeds and costs (all in `[calibration]`, see `calibration.rs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GcCosts {
    /// Bytes a GC thread copies per second when evacuating survivors.
    pub copy_per_thread: f64,
    /// A young pause's fixed part (roots, safepoint) and its card-table scan per GiB of old gen.
    pub young_base_s: f64,
    pub young_per_old_gib_s: f64,
    /// Bytes of live old-generation data a concurrent GC thread marks per second.
    pub mark_per_thread: f64,
    /// Bytes of old generation CMS sweeps per second.
    pub sweep: f64,
    /// Bytes of live data a full collection compacts per second and thread.
    pub full_per_thread: f64,
    /// G1: `G1ReservePercent`, `G1NewSizePercent`, `G1MaxNewSizePercent`,
    /// `G1MixedGCCountTarget` (HotSpot defaults).
    pub g1_reserve: f64,
    pub g1_new_min: f64,
    pub g1_new_max: f64,
    pub g1_mixed_count: f64,
}

impl GcCosts {
    pub fn from(cal: &Calibration) -> GcCosts {
        GcCosts {
            copy_per_thread: cal.get("gc_copy_mib_s_per_thread") * MIB,
            young_base_s: cal.get("young_gc_base_ms") / 1000.0,
            young_per_old_gib_s: cal.get("young_gc_ms_per_old_gib") / 1000.0,
            mark_per_thread: cal.get("gc_mark_mib_s_per_thread") * MIB,
            sweep: cal.get("cms_sweep_mib_s") * MIB,
            full_per_thread: cal.get("full_gc_mib_s_per_thread") * MIB,
            g1_reserve: cal.get("g1_reserve_percent") / 100.0,
            g1_new_min: cal.get("g1_new_size_percent") / 100.0,
            g1_new_max: cal.get("g1_max_new_size_percent") / 100.0,
            g1_mixed_count: cal.get("g1_mixed_gc_count_target"),
        }
    }
}

/// HotSpot's `ParallelGCThreads`: the cores up to 8, then 5/8 of each further core.
pub fn parallel_gc_threads(cores: f64) -> f64 {
    let c = cores.max(1.0).floor();
    if c <= 8.0 {
        c
    } else {
        8.0 + ((c - 8.0) * 5.0 / 8.0).floor()
    }
}

/// HotSpot's `ConcGCThreads` for CMS and G1: (ParallelGCThreads + 3) / 4.
pub fn conc_gc_threads(cores: f64) -> f64 {
    ((parallel_gc_threads(cores) + 3.0) / 4.0).floor().max(1.0)
}

/// What the heap holds and how fast it churns in one sample.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GcLoad {
    /// Long-lived data in the old generation at its peak within a flush cycle.
    pub live_old: f64,
    /// Objects of requests in flight: young when a young collection runs.
    pub live_young: f64,
    /// Bytes allocated per second (writes, reads, compaction).
    pub allocation: f64,
    /// Bytes per second that outlive two young collections: memtable data.
    pub promotion: f64,
}

/// The collections of one sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct GcSample {
    pub allocation_bytes_per_s: f64,
    pub promotion_bytes_per_s: f64,
    /// Young generation in force (CMS: `-Xmn`; G1: sized for the pause target).
    pub young_bytes: f64,
    pub young_gc_interval_s: f64,
    pub young_gc_pause_s: f64,
    /// What the old generation can hold, and what it must: the live set plus the collector's
    /// working headroom (promotions during a concurrent cycle and one young collection's
    /// survivors).
    pub old_capacity_bytes: f64,
    pub old_live_bytes: f64,
    pub headroom_bytes: f64,
    /// CMS cycles or G1 marking cycles per hour, and full (stop-the-world) collections per hour
    /// when a concurrent cycle cannot finish before the old generation is full.
    pub old_cycles_per_hour: f64,
    pub full_gcs_per_hour: f64,
    pub full_gc_pause_s: f64,
    /// Share of wall time the application threads are stopped.
    pub pause_fraction: f64,
    /// The live set plus the headroom does not fit: OutOfMemoryError.
    pub out_of_memory: bool,
}

impl GcSample {
    /// The mean length of a pause, for the latency model.
    pub fn mean_pause_s(&self) -> f64 {
        let young = if self.young_gc_interval_s > 0.0 {
            1.0 / self.young_gc_interval_s
        } else {
            0.0
        };
        let full = self.full_gcs_per_hour / 3600.0;
        let count = young + full;
        if count > 0.0 {
            (young * self.young_gc_pause_s + full * self.full_gc_pause_s) / count
        } else {
            0.0
        }
    }
}

/// The collections a node's JVM runs under `load`.
pub fn collect(jvm: &Jvm, cores: f64, load: &GcLoad, costs: &GcCosts) -> GcSample {
    let threads = parallel_gc_threads(cores);
    let copy_rate = threads * costs.copy_per_thread;
    let heap = jvm.heap_bytes;
    let alloc = load.allocation.max(1.0);
    let promotion = load.promotion.max(0.0);
    // Each survivor is copied twice: into a survivor space, then (tenuring threshold 1) into the
    // old generation.
    let survivors_of = |interval: f64| promotion * interval + load.live_young;
    let young_pause = |interval: f64, old: f64| {
        costs.young_base_s
            + costs.young_per_old_gib_s * old / GIB
            + 2.0 * survivors_of(interval) / copy_rate
    };
    let (young, eden, capacity, trigger, sweep_s, full_threads) = match jvm.collector {
        Collector::Cms {
            survivor_ratio,
            initiating_occupancy,
            ..
        } => {
            let young = jvm.young_bytes.unwrap_or(heap / 4.0).min(heap);
            let eden = young * survivor_ratio / (survivor_ratio + 2.0);
            let old = heap - young;
            // CMS falls back to a single-threaded mark-sweep-compact.
            (
                young,
                eden,
                old,
                initiating_occupancy * old,
                old / costs.sweep,
                1.0,
            )
        }
        Collector::G1 {
            max_pause_s,
            initiating_occupancy,
            ..
        } => {
            let min = costs.g1_new_min * heap;
            let max = (costs.g1_new_max * heap)
                .min(heap * (1.0 - costs.g1_reserve) - load.live_old)
                .max(min);
            let capacity = heap * (1.0 - costs.g1_reserve) - min;
            // G1 sizes eden so a young pause meets MaxGCPauseMillis.
            let budget = max_pause_s
                - costs.young_base_s
                - costs.young_per_old_gib_s * capacity / GIB
                - 2.0 * load.live_young / copy_rate;
            let eden = if promotion > 0.0 && budget > 0.0 {
                budget * copy_rate * alloc / (2.0 * promotion)
            } else {
                max
            }
            .clamp(min, max);
            // IHOP is a share of the whole heap, against old-generation occupancy.
            (
                eden,
                eden,
                capacity,
                initiating_occupancy * heap,
                0.0,
                threads,
            )
        }
    };
    let interval = eden / alloc;
    let pause = young_pause(interval, capacity);
    let survivors = survivors_of(interval);
    let conc = conc_gc_threads(cores);
    let cycle_s = load.live_old / (conc * costs.mark_per_thread) + sweep_s;
    let headroom = promotion * cycle_s + survivors;
    let out_of_memory = load.live_old + headroom > capacity;
    // Concurrent cycles: the old generation fills from its live set to the trigger, then a cycle
    // runs; it fails when the promotions during it overflow what the trigger left free.
    let (mut cycles_per_s, mut fulls_per_s, mut full_pause) = (0.0, 0.0, 0.0);
    if promotion > 0.0 {
        let fill = ((trigger - load.live_old) / promotion).max(0.0);
        cycles_per_s = 1.0 / (fill + cycle_s).max(1e-3);
        let start = trigger.max(load.live_old);
        if out_of_memory || start + promotion * cycle_s + survivors > capacity {
            full_pause = load.live_old / (full_threads * costs.full_per_thread);
            let refill = ((capacity - load.live_old) / promotion).max(0.0);
            fulls_per_s = 1.0 / (refill + full_pause).max(1e-3);
            cycles_per_s = cycles_per_s.min(fulls_per_s);
        }
    }
    // CMS: initial mark and remark (a young-sized pause each); G1: remark and cleanup, then
    // mixed collections that evacuate like young ones.
    let per_cycle = match jvm.collector {
        Collector::Cms { .. } => 2.0 * pause,
        Collector::G1 { .. } => 2.0 * costs.young_base_s + costs.g1_mixed_count * pause,
    };
    let paused = pause / interval.max(1e-3) + per_cycle * cycles_per_s + full_pause * fulls_per_s;
    GcSample {
        allocation_bytes_per_s: load.allocation,
        promotion_bytes_per_s: promotion,
        young_bytes: young,
        young_gc_interval_s: interval,
        young_gc_pause_s: pause,
        old_capacity_bytes: capacity,
        old_live_bytes: load.live_old,
        headroom_bytes: headroom,
        old_cycles_per_hour: cycles_per_s * 3600.0,
        full_gcs_per_hour: fulls_per_s * 3600.0,
        full_gc_pause_s: full_pause,
        pause_fraction: paused.min(1.0),
        out_of_memory,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::CassandraVersion;

    fn jvm(heap: f64, version: CassandraVersion) -> Jvm {
        let collector = Collector::default_for(version);
        let young_bytes = match collector {
            Collector::Cms { .. } => Some(super::super::auto_young_bytes(heap, 8)),
            Collector::G1 { .. } => None,
        };
        Jvm {
            heap_bytes: heap,
            young_bytes,
            collector,
        }
    }

    fn costs() -> GcCosts {
        GcCosts::from(&Calibration::default())
    }

    #[test]
    fn gc_threads_follow_hotspot() {
        assert_eq!(parallel_gc_threads(8.0), 8.0);
        assert_eq!(parallel_gc_threads(16.0), 13.0);
        assert_eq!(conc_gc_threads(8.0), 2.0);
        assert_eq!(conc_gc_threads(2.0), 1.0);
    }

    #[test]
    fn young_collections_come_as_often_as_eden_fills() {
        let j = jvm(8.0 * GIB, CassandraVersion::V3_11);
        let load = GcLoad {
            live_old: GIB,
            live_young: 0.0,
            allocation: 100.0 * MIB,
            promotion: 10.0 * MIB,
        };
        let g = collect(&j, 8.0, &load, &costs());
        // -Xmn 800 MiB, eden 8/10 of it: a young collection every 6.4 s.
        assert!((g.young_gc_interval_s - 6.4).abs() < 1e-9, "{g:?}");
        assert!(!g.out_of_memory);
        assert_eq!(g.full_gcs_per_hour, 0.0);
        assert!(g.pause_fraction > 0.0 && g.pause_fraction < 0.05, "{g:?}");
    }

    #[test]
    fn a_live_set_beyond_the_old_generation_is_out_of_memory() {
        let j = jvm(2.0 * GIB, CassandraVersion::V3_11);
        let load = GcLoad {
            live_old: 1.6 * GIB,
            allocation: 50.0 * MIB,
            promotion: 10.0 * MIB,
            ..GcLoad::default()
        };
        let g = collect(&j, 8.0, &load, &costs());
        assert!(g.out_of_memory, "{g:?}");
        assert!(g.full_gcs_per_hour > 0.0);
    }

    #[test]
    fn a_live_set_near_the_trigger_runs_cycles_back_to_back_and_pauses_more() {
        let j = jvm(4.0 * GIB, CassandraVersion::V3_11);
        let roomy = GcLoad {
            live_old: 0.5 * GIB,
            allocation: 200.0 * MIB,
            promotion: 20.0 * MIB,
            ..GcLoad::default()
        };
        let tight = GcLoad {
            live_old: 2.6 * GIB,
            ..roomy
        };
        let (a, b) = (
            collect(&j, 8.0, &roomy, &costs()),
            collect(&j, 8.0, &tight, &costs()),
        );
        assert!(
            b.old_cycles_per_hour > 5.0 * a.old_cycles_per_hour,
            "{a:?} {b:?}"
        );
        assert!(b.pause_fraction > a.pause_fraction);
    }

    #[test]
    fn g1_sizes_its_young_generation_for_the_pause_target() {
        let j = jvm(16.0 * GIB, CassandraVersion::V5_0);
        let load = GcLoad {
            live_old: 2.0 * GIB,
            allocation: 500.0 * MIB,
            promotion: 50.0 * MIB,
            ..GcLoad::default()
        };
        let g = collect(&j, 8.0, &load, &costs());
        assert!(g.young_gc_pause_s <= 0.3 + 1e-9, "{g:?}");
        assert!(g.young_bytes >= 0.05 * 16.0 * GIB && g.young_bytes <= 0.6 * 16.0 * GIB);
    }
}
