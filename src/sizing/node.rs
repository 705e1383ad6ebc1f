//! What one node needs, from its simulated run: disk (sstables, the compaction headroom, commit log
//! and snapshots against the disk and its utilisation ceiling), RAM (heap, off-heap and the page
//! cache the reads want), open files against `nofile`, the time to stream its data to a
//! replacement, and how much hotter than the mean it runs.

use crate::engine::compaction::Params;
use crate::heap::Jvm;
use crate::metrics::{sum_by_time, TableSample};
use crate::scenario::Scenario;
use crate::schema::options::Strategy;
use crate::sim::{NodeRun, TableTotals};

/// Disk per node (compressed bytes on the data volume).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DiskNeed {
    /// The most sstable bytes the node held at once: live data with its tombstones, expired
    /// cells and duplicates awaiting compaction, as simulated.
    pub sstables_bytes: f64,
    /// Free space compactions need: the larger of the simulated peak and the strategies' rule.
    pub compaction_headroom_bytes: f64,
    pub simulated_peak_compacting_bytes: f64,
    pub strategy_headroom_bytes: f64,
    /// commitlog_total_space: the commit log may grow to it before it forces flushes.
    pub commitlog_bytes: f64,
    pub snapshot_bytes: f64,
    pub total_bytes: f64,
    pub disk_bytes: f64,
    pub utilisation_ceiling: f64,
    /// disk × ceiling.
    pub usable_bytes: f64,
    /// Growth of the sstable bytes per day over the last fifth of the run (0 once TTLs hold it
    /// steady).
    pub growth_bytes_per_day: f64,
}

/// RAM per node.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RamNeed {
    pub heap_bytes: f64,
    /// Bloom filters, index summaries, compression metadata, off-heap memtables, chunk and
    /// networking caches at their peak: the caches' fixed part and the part that grows with the
    /// node's data.
    pub offheap_bytes: f64,
    pub offheap_fixed_bytes: f64,
    pub offheap_data_bytes: f64,
    /// OS, metaspace, thread stacks (calibration `offheap_reserve_bytes`).
    pub reserve_bytes: f64,
    /// The data the reads keep hot (the page cache the read model wants), at its peak.
    pub page_cache_wanted_bytes: f64,
    pub total_bytes: f64,
    pub ram_bytes: f64,
}

impl RamNeed {
    /// What does not shrink with more nodes: the heap, the fixed caches and the reserve.
    pub fn fixed_bytes(&self) -> f64 {
        self.heap_bytes + self.offheap_fixed_bytes + self.reserve_bytes
    }

    /// What must fit the RAM: everything but the page cache.
    pub fn hard_bytes(&self) -> f64 {
        self.fixed_bytes() + self.offheap_data_bytes
    }

    /// The RAM wanted at `scale` times the node's data.
    pub fn at(&self, scale: f64) -> f64 {
        self.fixed_bytes() + (self.offheap_data_bytes + self.page_cache_wanted_bytes) * scale
    }
}

/// Open files per node, by what holds them.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct OpenFiles {
    /// The most sstables the node held at once, and their component files.
    pub sstables: f64,
    pub sstable_files: f64,
    pub commitlog_segments: f64,
    pub client_connections: f64,
    pub internode_connections: f64,
    pub base: f64,
    pub total: f64,
    pub nofile: f64,
}

/// Replacing the node: its data streamed from the replicas of its ranges.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stream {
    pub bytes: f64,
    pub sources: f64,
    /// stream_throughput_outbound of one sender, bytes/s.
    pub per_source_bytes_per_s: f64,
    pub bytes_per_s: f64,
    pub time_s: f64,
}

/// The hottest node against the mean.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Hotspot {
    /// From vnode token imbalance (`cluster::hottest_factor`).
    pub token_imbalance_factor: f64,
    /// From the hottest partition of zipf keys: 1 + p1 × (replica sets − 1).
    pub hot_partition_factor: f64,
    pub hottest_partition_share: f64,
    pub factor: f64,
}

/// Everything one node needs.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NodeNeed {
    pub node: String,
    pub disk: DiskNeed,
    pub ram: RamNeed,
    pub open_files: OpenFiles,
    pub stream: Stream,
    pub hotspot: Hotspot,
    /// Peak over samples of the busier of the read stage and the cores.
    pub stage_utilisation: f64,
    /// Compaction's average share of compaction_throughput over the run.
    pub compaction_utilisation: f64,
    /// A stage's queue grew without bound in some sample.
    pub overloaded: bool,
}

/// The peak over sample times of a per-table figure summed over the node's tables.
fn peak_by_time(samples: &[TableSample], f: impl Fn(&TableSample) -> f64) -> f64 {
    sum_by_time(samples, f)
        .into_iter()
        .map(|p| p.1)
        .fold(0.0, f64::max)
}

/// Free space a table's strategy needs for its largest compaction, for `bytes` of its data.
pub fn strategy_headroom(
    p: &Params,
    bytes: f64,
    max_ttl_s: f64,
    duration_s: f64,
    share: f64,
) -> f64 {
    match p.strategy {
        // One compaction of an sstable into the next level: it and up to fanout overlapping ones.
        Strategy::Lcs => ((p.fanout + 1.0) * p.lcs_sstable_size).min(bytes),
        // A closed window compacted into one sstable: a window's share of the data kept.
        Strategy::Twcs => {
            let kept = if max_ttl_s > 0.0 {
                (max_ttl_s + p.window_s).min(duration_s)
            } else {
                duration_s
            };
            bytes * (p.window_s / kept.max(p.window_s)).min(1.0)
        }
        // Compactions run per shard.
        Strategy::Ucs => bytes / p.ucs_base_shards.max(1.0),
        Strategy::Stcs | Strategy::Dtcs | Strategy::Other(_) => bytes * share,
    }
}

/// What the disk need is made of, measured once from a node's run; [`DiskBasis::at`] scales it
/// to a cluster of another size (data per node goes as nodes / nodes').
pub struct DiskBasis {
    sstables_bytes: f64,
    peak_compacting_bytes: f64,
    growth_bytes_per_day: f64,
    /// Per table: its compaction settings, its most bytes at once, its largest TTL.
    tables: Vec<(Params, f64, f64)>,
    concurrent_compactors: usize,
}

impl DiskBasis {
    pub fn of(n: &NodeRun) -> DiskBasis {
        let series = sum_by_time(&n.samples, |s| s.disk_bytes);
        let growth = match (series.get(series.len() * 4 / 5), series.last()) {
            (Some(a), Some(b)) if b.0 > a.0 => ((b.1 - a.1) / (b.0 - a.0) * 86_400.0).max(0.0),
            _ => 0.0,
        };
        let tables = n
            .tables
            .iter()
            .map(|t: &TableTotals| {
                let bytes = n
                    .samples
                    .iter()
                    .filter(|s| s.table == t.table)
                    .map(|s| s.disk_bytes)
                    .fold(0.0, f64::max);
                (t.compaction.clone(), bytes, t.max_ttl_s)
            })
            .collect();
        DiskBasis {
            sstables_bytes: series.iter().map(|p| p.1).fold(0.0, f64::max),
            peak_compacting_bytes: n.peak_compacting_bytes,
            growth_bytes_per_day: growth,
            tables,
            concurrent_compactors: n.concurrent_compactors,
        }
    }

    /// The strategies' headroom at `scale` times the data: the largest per-table needs, as many
    /// as compactions run at once.
    fn strategies_headroom(&self, scenario: &Scenario, scale: f64) -> f64 {
        let share = scenario.calibration.get("stcs_headroom_share");
        let mut needs: Vec<f64> = self
            .tables
            .iter()
            .map(|(p, bytes, ttl)| {
                strategy_headroom(p, bytes * scale, *ttl, scenario.duration_s, share)
            })
            .collect();
        needs.sort_by(|a, b| b.total_cmp(a));
        needs.iter().take(self.concurrent_compactors.max(1)).sum()
    }

    /// The disk the node needs holding `scale` times its simulated data.
    pub fn at(&self, scenario: &Scenario, scale: f64) -> DiskNeed {
        let cal = &scenario.calibration;
        let sstables_bytes = self.sstables_bytes * scale;
        let strategy = self.strategies_headroom(scenario, scale);
        let peak = self.peak_compacting_bytes * scale;
        let headroom = strategy.max(peak);
        let disk_bytes = scenario.node.disk.size_bytes;
        let commitlog = scenario
            .settings
            .number("commitlog_total_space")
            .unwrap_or_else(|| crate::defaults::commitlog_total_space(disk_bytes));
        let snapshot = cal.get("snapshot_allowance_share") * sstables_bytes;
        let ceiling = cal.get("disk_utilisation_ceiling");
        DiskNeed {
            sstables_bytes,
            compaction_headroom_bytes: headroom,
            simulated_peak_compacting_bytes: peak,
            strategy_headroom_bytes: strategy,
            commitlog_bytes: commitlog,
            snapshot_bytes: snapshot,
            total_bytes: sstables_bytes + headroom + commitlog + snapshot,
            disk_bytes,
            utilisation_ceiling: ceiling,
            usable_bytes: disk_bytes * ceiling,
            growth_bytes_per_day: self.growth_bytes_per_day * scale,
        }
    }
}

pub fn disk(scenario: &Scenario, n: &NodeRun) -> DiskNeed {
    DiskBasis::of(n).at(scenario, 1.0)
}

pub fn ram(scenario: &Scenario, n: &NodeRun) -> RamNeed {
    let jvm = Jvm::of(scenario);
    let fixed = crate::heap::fixed_offheap(jvm.heap_bytes).total();
    let data = peak_by_time(&n.samples, |s| s.offheap.total());
    // Node-level on every table's row: the peak of one row per time.
    let wanted = n
        .samples
        .iter()
        .map(|s| s.page_cache_wanted_bytes)
        .fold(0.0, f64::max);
    let reserve = scenario.calibration.get("offheap_reserve_bytes");
    RamNeed {
        heap_bytes: jvm.heap_bytes,
        offheap_bytes: fixed + data,
        offheap_fixed_bytes: fixed,
        offheap_data_bytes: data,
        reserve_bytes: reserve,
        page_cache_wanted_bytes: wanted,
        total_bytes: jvm.heap_bytes + fixed + data + reserve + wanted,
        ram_bytes: scenario.node.ram_bytes,
    }
}

pub fn open_files(scenario: &Scenario, n: &NodeRun) -> OpenFiles {
    let cal = &scenario.calibration;
    let sstables = peak_by_time(&n.samples, |s| s.sstables);
    let sstable_files = sstables * cal.get("open_files_per_sstable");
    // The commit log holds what the memtables hold, in segments, plus the one being filled and
    // the one allocated ahead.
    let segment = scenario
        .settings
        .number("commitlog_segment_size")
        .unwrap_or(crate::defaults::COMMITLOG_SEGMENT_BYTES);
    let unflushed = peak_by_time(&n.samples, |s| s.memtable_bytes);
    let commitlog_segments = (unflushed / segment).ceil() + 2.0;
    let peers: u32 = scenario
        .cluster
        .datacenters
        .iter()
        .map(|d| d.nodes)
        .sum::<u32>()
        .saturating_sub(1);
    let internode = f64::from(peers) * cal.get("internode_connections_per_peer");
    let clients = cal.get("client_connections");
    let base = cal.get("base_open_files");
    OpenFiles {
        sstables,
        sstable_files,
        commitlog_segments,
        client_connections: clients,
        internode_connections: internode,
        base,
        total: sstable_files + commitlog_segments + clients + internode + base,
        nofile: scenario.node.nofile as f64,
    }
}

pub fn stream(scenario: &Scenario, n: &NodeRun) -> Stream {
    let dc = &scenario.cluster.datacenters[n.share.dc];
    stream_at(scenario, n, 1.0, dc.nodes)
}

/// Streaming the node's data, `scale` times what it simulated, in a datacenter of `nodes`.
pub fn stream_at(scenario: &Scenario, n: &NodeRun, scale: f64, nodes: u32) -> Stream {
    let last = n.samples.last().map(|s| s.t_s).unwrap_or(0.0);
    let bytes: f64 = n
        .samples
        .iter()
        .filter(|s| s.t_s == last)
        .map(|s| s.disk_bytes)
        .sum::<f64>()
        * scale;
    let dc = &scenario.cluster.datacenters[n.share.dc];
    // Each of the node's ranges (num_tokens of its own, RF - 1 more it replicates) comes from
    // another replica; with vnodes they are spread over most of the datacenter.
    let ranges = f64::from(scenario.cluster.num_tokens.max(1)) * f64::from(dc.rf.max(1));
    let sources = f64::from(nodes.saturating_sub(1)).min(ranges).max(1.0);
    let per_source = scenario
        .settings
        .number("stream_throughput_outbound")
        .unwrap_or_else(|| {
            scenario
                .cluster
                .cassandra_version
                .default_stream_throughput()
        });
    let receive = scenario.calibration.get("stream_receive_mib_s") * 1024.0 * 1024.0;
    let rate = (sources * per_source).min(receive);
    Stream {
        bytes,
        sources,
        per_source_bytes_per_s: per_source,
        bytes_per_s: rate,
        time_s: if rate > 0.0 { bytes / rate } else { 0.0 },
    }
}

pub fn hotspot(scenario: &Scenario, n: &NodeRun) -> Hotspot {
    let dc = &scenario.cluster.datacenters[n.share.dc];
    let sets = (f64::from(dc.nodes) / f64::from(dc.rf.max(1))).max(1.0);
    let p1 = n
        .tables
        .iter()
        .map(|t| t.hottest_key_share)
        .fold(0.0, f64::max);
    let hot = 1.0 + p1 * (sets - 1.0);
    Hotspot {
        token_imbalance_factor: n.share.hottest_factor,
        hot_partition_factor: hot,
        hottest_partition_share: p1,
        factor: n.share.hottest_factor * hot,
    }
}

pub fn need(scenario: &Scenario, n: &NodeRun) -> NodeNeed {
    let stage = n
        .samples
        .iter()
        .map(|s| s.read_stage_utilisation.max(s.cpu_utilisation))
        .filter(|u| u.is_finite())
        .fold(0.0, f64::max);
    let compacted: f64 = n.tables.iter().map(|t| t.bytes_compacted).sum();
    let throughput = scenario
        .settings
        .number("compaction_throughput")
        .unwrap_or_else(|| {
            scenario
                .cluster
                .cassandra_version
                .default_compaction_throughput()
        });
    let compaction = if throughput > 0.0 && scenario.duration_s > 0.0 {
        compacted / scenario.duration_s / throughput
    } else {
        0.0
    };
    NodeNeed {
        node: n.share.name.clone(),
        disk: disk(scenario, n),
        ram: ram(scenario, n),
        open_files: open_files(scenario, n),
        stream: stream(scenario, n),
        hotspot: hotspot(scenario, n),
        stage_utilisation: stage,
        compaction_utilisation: compaction,
        overloaded: n.samples.iter().any(|s| s.overloaded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(strategy: Strategy) -> Params {
        let mut p = Params::from(&crate::schema::options::Compaction::default());
        p.strategy = strategy;
        p
    }

    #[test]
    fn stcs_needs_as_much_free_as_its_data_and_lcs_one_level_step() {
        let gib = 1024.0 * 1024.0 * 1024.0;
        let stcs = strategy_headroom(&params(Strategy::Stcs), 100.0 * gib, 0.0, 1e7, 1.0);
        assert_eq!(stcs, 100.0 * gib);
        let mut lcs = params(Strategy::Lcs);
        lcs.lcs_sstable_size = 160.0 * 1024.0 * 1024.0;
        lcs.fanout = 10.0;
        let h = strategy_headroom(&lcs, 100.0 * gib, 0.0, 1e7, 1.0);
        assert_eq!(h, 11.0 * 160.0 * 1024.0 * 1024.0);
    }

    #[test]
    fn twcs_needs_one_window_of_what_the_ttl_keeps() {
        let mut p = params(Strategy::Twcs);
        p.window_s = 86_400.0;
        // 30-day TTL: 31 windows hold data; the largest compaction is one of them.
        let h = strategy_headroom(&p, 31.0, 30.0 * 86_400.0, 60.0 * 86_400.0, 1.0);
        assert!((h - 1.0).abs() < 1e-9);
    }
}
