//! Read and write latency from the work the engine counts (DESIGN.md 3 "Read path", CASSANDRA.md
//! 7): a replica's service time from the sstables it touches (bloom probe, partition index through
//! the key cache or the disk, data chunks through the page cache or the disk, the column index of a
//! wide partition), its CPU per cell and tombstone, the coordinator's wait for the consistency
//! level's k fastest replicas with speculative retry, network round trips, and queueing at the
//! node's stage (M/M/c). Times are service plus coordinator and network times, not a client's
//! response times: no coordinated omission correction applies. GC pauses come from the heap model
//! (`heap::gc`): a request that meets a pause waits for the rest of it ([`gc_delay`]).

use rand::RngExt;
use rand_pcg::Pcg64Mcg;

use crate::calibration::Calibration;
use crate::engine::read::ReadWork;
use crate::scenario::DiskKind;

/// Device figures: a random read's latency and the sequential throughput.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Device {
    pub seek_s: f64,
    pub bytes_per_s: f64,
}

impl Device {
    pub fn of(kind: DiskKind, cal: &Calibration) -> Device {
        let (seek, mib) = match kind {
            DiskKind::Ssd => ("ssd_seek_ms", "ssd_throughput_mib_s"),
            DiskKind::Nvme => ("nvme_seek_ms", "nvme_throughput_mib_s"),
            DiskKind::Hdd => ("hdd_seek_ms", "hdd_throughput_mib_s"),
            DiskKind::Network => ("network_seek_ms", "network_throughput_mib_s"),
        };
        Device {
            seek_s: cal.get(seek) / 1000.0,
            bytes_per_s: cal.get(mib) * 1024.0 * 1024.0,
        }
    }
}

/// The coefficients of the cost model, read once from the calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub device: Device,
    pub bloom_probe_s: f64,
    pub read_base_s: f64,
    pub sstable_merge_s: f64,
    pub cell_s: f64,
    pub tombstone_s: f64,
    pub decompress_s_per_byte: f64,
    pub rtt_s: f64,
    pub inter_dc_rtt_s: f64,
    pub jitter_sigma: f64,
    pub write_base_s: f64,
    pub commitlog_append_s: f64,
    pub memtable_cell_s: f64,
    pub speculative_percentile: f64,
    /// The standard normal quantile of that percentile: where the jitter's tail starts.
    pub speculative_z: f64,
}

impl Model {
    pub fn new(cal: &Calibration, disk: DiskKind, inter_dc_rtt_s: f64) -> Model {
        let us = |k: &str| cal.get(k) / 1e6;
        Model {
            device: Device::of(disk, cal),
            bloom_probe_s: us("bloom_probe_us"),
            read_base_s: us("read_base_us"),
            sstable_merge_s: us("sstable_merge_us"),
            cell_s: us("cell_cpu_us"),
            tombstone_s: us("tombstone_cpu_us"),
            decompress_s_per_byte: us("decompress_us_per_kib") / 1024.0,
            rtt_s: cal.get("network_rtt_ms") / 1000.0,
            inter_dc_rtt_s,
            jitter_sigma: cal.get("replica_jitter_sigma"),
            write_base_s: us("write_base_us"),
            commitlog_append_s: us("commitlog_append_us"),
            memtable_cell_s: us("memtable_cell_us"),
            speculative_percentile: cal.get("speculative_retry_percentile") / 100.0,
            speculative_z: {
                use statrs::distribution::{ContinuousCDF, Normal};
                let p = (cal.get("speculative_retry_percentile") / 100.0).clamp(0.5, 0.9999);
                Normal::new(0.0, 1.0)
                    .map(|n| n.inverse_cdf(p))
                    .unwrap_or(2.33)
            },
        }
    }
}

/// What a table's reads see of the node's caches and format.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableIo {
    /// Compression chunk in bytes (a read decompresses whole chunks); 4 KiB pages uncompressed.
    pub chunk_bytes: f64,
    /// On-disk bytes per uncompressed byte.
    pub compression_ratio: f64,
    /// Serialized bytes per cell scanned.
    pub bytes_per_cell: f64,
    /// Share of partition-index lookups the key cache answers.
    pub key_cache_hit: f64,
    /// Share of disk reads the page cache answers.
    pub page_cache_hit: f64,
    /// A serialized column index above this (column_index_cache_size) is read from disk.
    pub column_index_cache_bytes: f64,
    /// Partitions above this (column_index_size) have a column index, an `IndexInfo` per block
    /// of this size.
    pub column_index_bytes: f64,
    /// Serialized bytes of one `IndexInfo` and its offset in the index entry.
    pub column_index_entry_bytes: f64,
}

/// Whether a partition of `bytes` in one sstable has a column index too large for the key cache.
pub fn column_index_from_disk(io: &TableIo, bytes: f64) -> bool {
    if bytes <= io.column_index_bytes {
        return false;
    }
    let blocks = (bytes / io.column_index_bytes.max(1.0)).ceil();
    blocks * io.column_index_entry_bytes > io.column_index_cache_bytes
}

/// A replica's service time for one read, in seconds, before queueing and jitter.
pub fn replica_read_s(m: &Model, io: &TableIo, w: &ReadWork) -> f64 {
    let (cpu, disk) = replica_read_parts(m, io, w);
    cpu + disk
}

/// A replica read's CPU time and disk wait, in seconds.
pub fn replica_read_parts(m: &Model, io: &TableIo, w: &ReadWork) -> (f64, f64) {
    let sstables = w.sstables.max(0.0);
    let disk_read =
        |bytes: f64| (1.0 - io.page_cache_hit) * (m.device.seek_s + bytes / m.device.bytes_per_s);
    // Partition index: the key cache, else an Index.db read (CASSANDRA.md 7.1 step 5).
    let index = sstables * (1.0 - io.key_cache_hit) * disk_read(4096.0);
    // A wide partition's column index: an `IndexInfo` per column_index_size of the partition in
    // an sstable, kept in the key cache unless their serialized size passes
    // column_index_cache_size, else read from disk at each access (CASSANDRA.md 4.4, 4.5:
    // `BigTableRowIndexEntry.create` keeps a shallow entry past `getColumnIndexCacheSize`). The
    // partition's size alone was the test, so every partition over 64 KiB paid a disk read
    // where Cassandra pays it from a few MiB.
    let per_sstable_bytes = if sstables > 0.0 {
        w.partition_bytes / sstables
    } else {
        0.0
    };
    let column_index = if column_index_from_disk(io, per_sstable_bytes) {
        sstables * disk_read(4096.0)
    } else {
        0.0
    };
    // Data: whole compression chunks, at least one per sstable read (CASSANDRA.md 9.9).
    let bytes = w.request_cells * io.bytes_per_cell * io.compression_ratio;
    let chunks = (bytes / io.chunk_bytes).ceil().max(sstables);
    let data = chunks * disk_read(io.chunk_bytes);
    // A bloom-filter false positive costs an index read and no data (CASSANDRA.md 7.1).
    let false_positives = w.bloom_false_positives * disk_read(4096.0);
    let cpu = m.read_base_s
        + (sstables + w.bloom_false_positives) * m.bloom_probe_s
        + sstables * m.sstable_merge_s
        + w.request_cells * m.cell_s
        + w.request_tombstones * m.tombstone_s
        + chunks * io.chunk_bytes * m.decompress_s_per_byte;
    (cpu, index + column_index + data + false_positives)
}

/// A replica's service time for one write of `cells` cells, in seconds.
pub fn replica_write_s(m: &Model, cells: f64, sync_on_write: bool) -> f64 {
    let sync = if sync_on_write { m.device.seek_s } else { 0.0 };
    m.write_base_s + m.commitlog_append_s + cells.max(1.0) * m.memtable_cell_s + sync
}

/// A multiplicative lognormal draw with median 1.
pub fn jitter(m: &Model, rng: &mut Pcg64Mcg) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    (m.jitter_sigma * z).exp()
}

/// How a consistency level's replicas answer one request coordinated in the local datacenter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fanout {
    /// Replicas that must answer in the local datacenter, and how many it holds.
    pub local_needed: u32,
    pub local_replicas: u32,
    /// Replicas that must answer from other datacenters (EACH_QUORUM, a QUORUM beyond the local
    /// replicas), and how many they hold.
    pub remote_needed: u32,
    pub remote_replicas: u32,
}

impl Fanout {
    /// The replicas `consistency` waits for, coordinated in datacenter `local` of a cluster with
    /// `rfs` replicas per datacenter: `cluster::read_replicas`, split into the local datacenter
    /// and the others.
    pub fn of(consistency: &str, rfs: &[u32], local: usize) -> Fanout {
        let needed =
            |dc: usize| crate::cluster::read_replicas(consistency, rfs, dc, local).round() as u32;
        let others = (0..rfs.len()).filter(|&dc| dc != local);
        Fanout {
            local_needed: needed(local).clamp(1, rfs[local].max(1)),
            local_replicas: rfs[local].max(1),
            remote_needed: others.clone().map(needed).sum(),
            remote_replicas: others.map(|dc| rfs[dc]).sum(),
        }
    }
}

/// The coordinator's wait: the k-th fastest of the contacted replicas' times, a speculative retry to
/// a further replica when the wait passes `retry_after_s`, and the round trips. `draw` gives one
/// replica's service time.
pub fn coordinate(
    m: &Model,
    fanout: &Fanout,
    retry_after_s: f64,
    rng: &mut Pcg64Mcg,
    mut draw: impl FnMut(&mut Pcg64Mcg) -> f64,
) -> f64 {
    let mut kth = |needed: u32, replicas: u32, rng: &mut Pcg64Mcg| -> f64 {
        if needed == 0 {
            return 0.0;
        }
        // The k-th fastest of k replicas is the slowest of them.
        let mut slowest = 0.0f64;
        let mut second = 0.0f64;
        for _ in 0..needed {
            let t = draw(rng);
            if t > slowest {
                second = slowest;
                slowest = t;
            } else if t > second {
                second = t;
            }
        }
        if slowest > retry_after_s && replicas > needed {
            // speculative_retry: one more replica is asked once the wait passes the threshold;
            // the answer needed last is then the better of the slowest and that replica.
            let extra = retry_after_s + draw(rng);
            slowest = second.max(extra.min(slowest));
        }
        slowest
    };
    let local = kth(fanout.local_needed, fanout.local_replicas, rng) + m.rtt_s;
    let remote = if fanout.remote_needed > 0 {
        kth(fanout.remote_needed, fanout.remote_replicas, rng) + m.inter_dc_rtt_s
    } else {
        0.0
    };
    local.max(remote)
}

/// Mean waiting time in an M/M/c queue (Erlang C) with arrival rate `lambda`, mean service time
/// `service_s` and `servers`; `None` when utilisation reaches 1 (the queue grows without bound).
pub fn mmc_wait_s(lambda: f64, service_s: f64, servers: f64) -> Option<f64> {
    if lambda <= 0.0 || service_s <= 0.0 {
        return Some(0.0);
    }
    let c = servers.max(1.0).round() as usize;
    let a = lambda * service_s;
    let rho = a / c as f64;
    if rho >= 1.0 {
        return None;
    }
    // Erlang C by the stable recurrence on the Erlang B formula.
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    let erlang_c = b / (1.0 - rho * (1.0 - b));
    Some(erlang_c * service_s / (c as f64 * (1.0 - rho)))
}

/// Latency percentiles of one query in one sample, in milliseconds, as `summary.json` and
/// `timeseries.csv` give them (nodetool's p50, p75, p95, p98, p99, max).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct LatencyMs {
    pub min: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
    pub p98: f64,
    pub p99: f64,
    pub max: f64,
}

impl LatencyMs {
    /// Microseconds at [`crate::metrics::LEVELS`], as `nodetool tablehistograms` prints them.
    pub fn micros_at_levels(&self) -> [f64; 7] {
        [
            self.p50, self.p75, self.p95, self.p98, self.p99, self.min, self.max,
        ]
        .map(|ms| ms * 1000.0)
    }
}

/// Latencies (seconds) as an HdrHistogram of microseconds reports them: each percentile is the
/// highest value equivalent to the recorded one at its rank, as `value_at_quantile` gives it.
///
/// Two significant digits (1 % resolution, as nodetool's decaying histograms roughly give) from
/// 1 µs to 1000 s. The values are sorted rather than recorded: a sample holds a few hundred, and
/// clearing and walking the histogram's buckets for each query and sample cost R1 5 % of its run.
pub fn percentiles(latencies_s: &[f64]) -> Option<LatencyMs> {
    if latencies_s.is_empty() {
        return None;
    }
    thread_local! {
        /// Never recorded into: it only says which values are equivalent at its resolution.
        static RESOLUTION: Option<hdrhistogram::Histogram<u64>> =
            hdrhistogram::Histogram::<u64>::new_with_bounds(1, 1_000_000_000, 2).ok();
    }
    let mut us: Vec<u64> = latencies_s
        .iter()
        .map(|l| (l * 1e6).round().clamp(1.0, 1e9) as u64)
        .collect();
    us.sort_unstable();
    RESOLUTION.with(|h| {
        let h = h.as_ref()?;
        let n = us.len();
        // value_at_quantile's rank: the count reached once `q` of the values are counted.
        let at = |q: f64| {
            let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
            h.highest_equivalent(us[rank - 1])
        };
        let ms = |us: u64| us as f64 / 1000.0;
        Some(LatencyMs {
            min: ms(h.lowest_equivalent(us[0])),
            p50: ms(at(0.5)),
            p75: ms(at(0.75)),
            p95: ms(at(0.95)),
            p98: ms(at(0.98)),
            p99: ms(at(0.99)),
            max: ms(h.highest_equivalent(us[n - 1])),
        })
    })
}

/// The wait a request adds when it meets a GC pause: with probability `share` (the time the JVM
/// is paused) it arrives during a pause of mean length `pause_s` and waits for the rest of it.
pub fn gc_delay(share: f64, pause_s: f64, rng: &mut Pcg64Mcg) -> f64 {
    if share <= 0.0 || pause_s <= 0.0 {
        return 0.0;
    }
    if rng.random::<f64>() < share {
        rng.random::<f64>() * pause_s
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn model() -> Model {
        Model::new(&Calibration::default(), DiskKind::Ssd, 0.04)
    }

    fn io(hit: f64) -> TableIo {
        TableIo {
            chunk_bytes: 16.0 * 1024.0,
            compression_ratio: 0.5,
            bytes_per_cell: 50.0,
            key_cache_hit: 0.9,
            page_cache_hit: hit,
            column_index_cache_bytes: 2048.0,
            column_index_bytes: 65536.0,
            column_index_entry_bytes: 28.0,
        }
    }

    #[test]
    fn a_column_index_is_read_from_disk_only_past_column_index_cache_size() {
        // 28 B an IndexInfo (an 8-byte clustering twice, offsets): 73 blocks of 64 KiB fit in
        // 2 KiB, so a partition is read from disk from about 4.6 MiB in one sstable.
        let io = io(0.0);
        let mib = 1024.0 * 1024.0;
        assert!(!column_index_from_disk(&io, 32.0 * 1024.0));
        assert!(!column_index_from_disk(&io, 1.0 * mib));
        assert!(!column_index_from_disk(&io, 4.5 * mib));
        assert!(column_index_from_disk(&io, 4.7 * mib));
        let m = model();
        let read = |bytes: f64| {
            let w = ReadWork {
                partition_bytes: bytes,
                ..work(1.0, 100.0)
            };
            replica_read_s(&m, &io, &w)
        };
        assert_eq!(read(1.0 * mib), read(100.0 * 1024.0));
        assert!(read(8.0 * mib) > read(1.0 * mib));
    }

    fn work(sstables: f64, cells: f64) -> ReadWork {
        ReadWork {
            live_rows: cells / 2.0,
            tombstones: 0.0,
            cells_scanned: cells,
            sstables,
            bloom_false_positives: 0.0,
            warned: false,
            failed: false,
            partition_bytes: cells * 50.0,
            request_cells: cells,
            request_tombstones: 0.0,
        }
    }

    #[test]
    fn more_sstables_and_cells_cost_more_and_the_page_cache_saves_disk_reads() {
        let m = model();
        assert!(
            replica_read_s(&m, &io(0.0), &work(8.0, 200.0))
                > replica_read_s(&m, &io(0.0), &work(1.0, 200.0))
        );
        assert!(
            replica_read_s(&m, &io(0.0), &work(1.0, 1e6))
                > 100.0 * replica_read_s(&m, &io(0.0), &work(1.0, 100.0))
        );
        assert!(
            replica_read_s(&m, &io(1.0), &work(4.0, 200.0))
                < replica_read_s(&m, &io(0.0), &work(4.0, 200.0))
        );
    }

    #[test]
    fn erlang_c_grows_without_bound_near_saturation() {
        assert_eq!(mmc_wait_s(0.0, 0.001, 32.0), Some(0.0));
        let low = mmc_wait_s(1000.0, 0.001, 32.0).unwrap();
        let high = mmc_wait_s(31_000.0, 0.001, 32.0).unwrap();
        assert!(low < 1e-6 && high > 100.0 * low.max(1e-9));
        assert_eq!(mmc_wait_s(40_000.0, 0.001, 32.0), None);
        // M/M/1: W = rho / (mu - lambda).
        let w = mmc_wait_s(500.0, 0.001, 1.0).unwrap();
        assert!((w - 0.5 / 500.0).abs() < 1e-12);
    }

    #[test]
    fn consistency_levels_wait_for_their_replicas() {
        assert_eq!(
            Fanout::of("LOCAL_QUORUM", &[3, 3], 0),
            Fanout {
                local_needed: 2,
                local_replicas: 3,
                remote_needed: 0,
                remote_replicas: 3
            }
        );
        assert_eq!(Fanout::of("EACH_QUORUM", &[3, 3], 0).remote_needed, 2);
        assert_eq!(Fanout::of("QUORUM", &[3, 3], 0).remote_needed, 1);
        assert_eq!(Fanout::of("ONE", &[3, 3], 0).local_needed, 1);
        let m = model();
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let one = coordinate(&m, &Fanout::of("ONE", &[3, 3], 0), 1.0, &mut rng, |_| 0.001);
        let each = coordinate(
            &m,
            &Fanout::of("EACH_QUORUM", &[3, 3], 0),
            1.0,
            &mut rng,
            |_| 0.001,
        );
        assert!((one - 0.0013).abs() < 1e-9);
        assert!((each - 0.041).abs() < 1e-9);
    }

    #[test]
    fn percentiles_come_from_an_hdr_histogram_in_milliseconds() {
        let v: Vec<f64> = (1..=1000).map(|i| f64::from(i) / 1e6).collect();
        let p = percentiles(&v).unwrap();
        assert!(
            (p.p50 - 0.5).abs() < 0.01 && (p.p99 - 0.99).abs() < 0.01 && (p.max - 1.0).abs() < 0.01
        );
        assert!(percentiles(&[]).is_none());
        // The 95th value of a hundred, not a coarser quantile step's (the quantile iterator
        // reported 0.971 ms here).
        assert!((p.p95 - 0.95).abs() < 0.005, "{p:?}");
    }

    #[test]
    fn percentiles_match_the_histograms_own_value_at_quantile() {
        let mut rng = Pcg64Mcg::seed_from_u64(7);
        for n in [1, 2, 7, 100, 999, 2000] {
            let v: Vec<f64> = (0..n)
                .map(|_| 0.0002 * (3.0 * rng.random::<f64>()).exp())
                .collect();
            let mut h =
                hdrhistogram::Histogram::<u64>::new_with_bounds(1, 1_000_000_000, 2).unwrap();
            for l in &v {
                h.record((l * 1e6).round() as u64).unwrap();
            }
            let p = percentiles(&v).unwrap();
            let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
            assert_eq!(
                [p.p50, p.p75, p.p95, p.p98, p.p99],
                [ms(0.5), ms(0.75), ms(0.95), ms(0.98), ms(0.99)],
                "{n} values"
            );
            assert_eq!(p.min, h.min() as f64 / 1000.0);
            assert_eq!(p.max, h.max() as f64 / 1000.0);
        }
    }
}
