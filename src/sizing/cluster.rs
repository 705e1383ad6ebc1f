//! What a datacenter needs: the nodes each limit asks for, scaled from one run (data, reads and
//! writes per node go as 1/nodes with RF fixed), the largest of them and which one binds; the
//! bytes writes send across datacenters; the writes views and indexes add.

use std::collections::BTreeMap;

use super::node::{self, NodeNeed};
use crate::scenario::Scenario;
use crate::sim::{NodeRun, RunResult};
use crate::units::{format_bytes, format_count};

/// One limit and the nodes per datacenter it needs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Constraint {
    /// `replication`, `storage_density`, `disk_space`, `compaction_headroom`, `throughput`,
    /// `compaction`, `ram` or `memory`.
    pub name: &'static str,
    /// Nodes this limit needs in the datacenter; `null` when one run cannot tell (`cassim size`
    /// runs candidates).
    pub nodes: Option<u32>,
    /// Whether the scenario's cluster meets it.
    pub met: bool,
    pub reason: String,
}

/// A datacenter's sizing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DcSizing {
    pub name: String,
    pub nodes: u32,
    pub rf: u32,
    pub nodes_needed: u32,
    pub binding_constraint: String,
    pub constraints: Vec<Constraint>,
    /// The simulated node that stands for the datacenter's busiest.
    pub node: NodeNeed,
}

/// The order constraints are listed and ties broken: hard limits first.
pub const ORDER: [&str; 8] = [
    "replication",
    "memory",
    "storage_density",
    "disk_space",
    "compaction_headroom",
    "ram",
    "throughput",
    "compaction",
];

/// Largest node count searched when scaling; beyond it a limit is called unreachable.
const MAX_NODES: u32 = 10_000;

/// The smallest node count from `floor` whose need fits, if any up to [`MAX_NODES`].
fn smallest(floor: u32, fits: impl Fn(u32) -> bool) -> Option<u32> {
    if !fits(MAX_NODES) {
        return None;
    }
    let (mut lo, mut hi) = (floor.max(1), MAX_NODES);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fits(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

/// The busiest node's data and load at `k` nodes in datacenter `d` against the run's: the mean
/// goes as 1/k, and the hottest node's token imbalance grows with k (a larger largest draw).
pub fn scale(scenario: &Scenario, d: usize, k: u32) -> f64 {
    let dc = &scenario.cluster.datacenters[d];
    let z = scenario.calibration.get("token_imbalance_z");
    let hottest = |k: u32| crate::cluster::hottest_factor(k, dc.rf, scenario.cluster.num_tokens, z);
    f64::from(dc.nodes) / f64::from(k.max(1)) * hottest(k) / hottest(dc.nodes)
}

/// The limits of datacenter `d`, from the node `n` simulated for it and the run's heap.
pub fn constraints(
    scenario: &Scenario,
    n: &NodeRun,
    need: &NodeNeed,
    d: usize,
    heap: super::HeapState,
) -> Vec<Constraint> {
    let cal = &scenario.calibration;
    let dc = &scenario.cluster.datacenters[d];
    let nodes = dc.nodes;
    let scale = |k: u32| scale(scenario, d, k);
    let fits = |value: f64, limit: f64| smallest(dc.rf, |k| value * scale(k) <= limit);
    let mut out = Vec::new();
    out.push(Constraint {
        name: "replication",
        nodes: Some(dc.rf),
        met: nodes >= dc.rf,
        reason: format!("RF {} needs at least {} nodes", dc.rf, dc.rf),
    });
    out.push(match heap.smallest_healthy {
        _ if heap.healthy => Constraint {
            name: "memory",
            nodes: Some(dc.rf),
            met: true,
            reason: format!("the {} heap is healthy", format_bytes(heap.heap_bytes)),
        },
        // A bigger heap is the fix, not more nodes.
        Some(h) => Constraint {
            name: "memory",
            nodes: Some(dc.rf),
            met: false,
            reason: format!(
                "the {} heap is not healthy at this load; {} is",
                format_bytes(heap.heap_bytes),
                format_bytes(h)
            ),
        },
        None => Constraint {
            name: "memory",
            nodes: None,
            met: false,
            reason: "no heap up to half the RAM is healthy at this load per node: more nodes (less write rate each) or more RAM".into(),
        },
    });
    let density = cal.get("node_density_ceiling_bytes");
    let data = need.disk.sstables_bytes;
    out.push(Constraint {
        name: "storage_density",
        nodes: fits(data, density),
        met: data <= density,
        reason: format!(
            "{} of sstables on the busiest node against {} per node (F20)",
            format_bytes(data),
            format_bytes(density)
        ),
    });
    let usable = need.disk.usable_bytes;
    let disk = node::DiskBasis::of(n);
    let without_headroom = |k: u32| {
        let d = disk.at(scenario, scale(k));
        d.sstables_bytes + d.snapshot_bytes + d.commitlog_bytes <= usable
    };
    out.push(Constraint {
        name: "disk_space",
        nodes: smallest(dc.rf, without_headroom),
        met: without_headroom(nodes),
        reason: format!(
            "{} of sstables, {} of snapshots and {} of commit log against {} ({} of the {} disk)",
            format_bytes(data),
            format_bytes(need.disk.snapshot_bytes),
            format_bytes(need.disk.commitlog_bytes),
            format_bytes(usable),
            pct(need.disk.utilisation_ceiling),
            format_bytes(need.disk.disk_bytes)
        ),
    });
    let with_headroom = |k: u32| disk.at(scenario, scale(k)).total_bytes <= usable;
    out.push(Constraint {
        name: "compaction_headroom",
        nodes: smallest(dc.rf, with_headroom),
        met: with_headroom(nodes),
        reason: format!(
            "plus {} free for compaction (strategies {}, simulated peak {}): {} in all against {}",
            format_bytes(need.disk.compaction_headroom_bytes),
            format_bytes(need.disk.strategy_headroom_bytes),
            format_bytes(need.disk.simulated_peak_compacting_bytes),
            format_bytes(need.disk.total_bytes),
            format_bytes(usable)
        ),
    });
    // The heap, off-heap structures and reserve must fit the RAM; the page cache takes what they
    // leave, and a page cache smaller than the hot data costs reads disk accesses, which the
    // latency (the throughput limit) already carries.
    let ram = &need.ram;
    let hard = ram.hard_bytes();
    let cache = (ram.ram_bytes - hard).max(0.0);
    out.push(Constraint {
        name: "ram",
        nodes: fits(ram.offheap_data_bytes, ram.ram_bytes - ram.fixed_bytes()),
        met: hard <= ram.ram_bytes,
        reason: format!(
            "heap {}, off-heap {} and reserve {}: {} against {} of RAM; the page cache left ({}) holds {} of the {} of data reads keep hot",
            format_bytes(ram.heap_bytes),
            format_bytes(ram.offheap_bytes),
            format_bytes(ram.reserve_bytes),
            format_bytes(hard),
            format_bytes(ram.ram_bytes),
            format_bytes(cache),
            pct(if ram.page_cache_wanted_bytes > 0.0 {
                (cache / ram.page_cache_wanted_bytes).min(1.0)
            } else {
                1.0
            }),
            format_bytes(ram.page_cache_wanted_bytes)
        ),
    });
    let target = cal.get("stage_utilisation_target");
    let u = need.stage_utilisation;
    out.push(Constraint {
        name: "throughput",
        nodes: fits(u, target),
        met: u <= target && !need.overloaded,
        reason: format!(
            "read stage or cores busy {} at the peak{} against a {} target",
            pct(u),
            if need.overloaded {
                " (a stage queue grew without bound)"
            } else {
                ""
            },
            pct(target)
        ),
    });
    let ctarget = cal.get("compaction_utilisation_target");
    let c = need.compaction_utilisation;
    out.push(Constraint {
        name: "compaction",
        nodes: fits(c, ctarget),
        met: c <= ctarget,
        reason: format!(
            "compaction used {} of compaction_throughput on average{} against a {} target",
            pct(c),
            if c > 0.97 {
                " (saturated: the need is at least this)"
            } else {
                ""
            },
            pct(ctarget)
        ),
    });
    out
}

fn pct(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

/// The nodes needed (the largest any limit asks for) and the limit that asks for them; a limit
/// one run cannot size (`nodes: null`) and that is not met binds.
pub fn binding(constraints: &[Constraint], floor: u32) -> (u32, String) {
    if let Some(c) = constraints.iter().find(|c| c.nodes.is_none() && !c.met) {
        let n = constraints
            .iter()
            .filter_map(|c| c.nodes)
            .max()
            .unwrap_or(floor);
        return (n.max(floor), c.name.to_string());
    }
    let mut best: Option<(&Constraint, u32)> = None;
    for name in ORDER {
        for c in constraints.iter().filter(|c| c.name == name) {
            let Some(n) = c.nodes else { continue };
            if best.is_none_or(|(_, b)| n > b) {
                best = Some((c, n));
            }
        }
    }
    match best {
        Some((c, n)) => (n.max(floor), c.name.to_string()),
        None => (floor, "replication".into()),
    }
}

/// The run's node standing for datacenter `d`: the one with the most data among those simulated
/// for it.
pub fn node_for(run: &RunResult, d: usize) -> Option<&NodeRun> {
    run.nodes
        .iter()
        .filter(|n| n.share.stands_for.contains(&d))
        .max_by(|a, b| {
            let bytes = |n: &NodeRun| n.samples.iter().map(|s| s.disk_bytes).sum::<f64>();
            bytes(a).total_cmp(&bytes(b))
        })
}

/// Bytes per second writes send from one datacenter to the others: a coordinator sends each
/// mutation once to every other datacenter, where one replica forwards it (F19's wire bytes).
pub fn cross_dc_bytes_per_s(scenario: &Scenario, run: &RunResult) -> f64 {
    let dcs = scenario.cluster.datacenters.len();
    if dcs < 2 {
        return 0.0;
    }
    let Some(n) = run.nodes.first() else {
        return 0.0;
    };
    let cal = &scenario.calibration;
    let (per_msg, per_byte) = (
        cal.get("wire_bytes_per_message"),
        cal.get("wire_bytes_per_app_byte"),
    );
    let dc = &scenario.cluster.datacenters[n.share.dc];
    // This node's share of the cluster's rows: RF / nodes of its datacenter, times its ownership.
    let share = f64::from(dc.rf) / f64::from(dc.nodes) * n.share.load_factor;
    let mut total = 0.0;
    for (k, op) in scenario.workload.iter().enumerate() {
        let app: f64 = n
            .tables
            .iter()
            .filter(|t| t.table == op.table)
            .flat_map(|t| t.writes.iter())
            .filter(|w| w.op == k)
            .map(|w| w.rows_per_s * w.commitlog_bytes_per_row)
            .sum::<f64>()
            / share.max(1e-12);
        if app <= 0.0 {
            continue;
        }
        total += (dcs - 1) as f64 * (op.rate_per_s * per_msg + app * per_byte);
    }
    total
}

/// Rows written into a base table's views and indexes (and the table) per row written into it.
pub fn write_amplification(scenario: &Scenario, run: &RunResult) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let Some(n) = run.nodes.first() else {
        return BTreeMap::new();
    };
    for (k, op) in scenario.workload.iter().enumerate() {
        let rows = |own: bool| -> f64 {
            n.tables
                .iter()
                .filter(|t| (t.table == op.table) == own)
                .flat_map(|t| t.writes.iter())
                .filter(|w| w.op == k)
                .map(|w| w.rows_per_s)
                .sum()
        };
        let base = rows(true);
        if base <= 0.0 {
            continue;
        }
        let derived = rows(false);
        let e = out.entry(op.table.clone()).or_insert((0.0, 0.0));
        e.0 += base;
        e.1 += derived;
    }
    out.into_iter()
        .map(|(t, (base, derived))| (t, crate::metrics::round_json((base + derived) / base)))
        .collect()
}

/// One line per constraint, for the terminal.
pub fn describe(c: &Constraint) -> String {
    format!(
        "{:<20} {:>6}  {}  {}",
        c.name,
        c.nodes
            .map(|n| format_count(f64::from(n)))
            .unwrap_or_else(|| "?".into()),
        if c.met { "ok  " } else { "FAIL" },
        c.reason
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &'static str, nodes: Option<u32>, met: bool) -> Constraint {
        Constraint {
            name,
            nodes,
            met,
            reason: String::new(),
        }
    }

    #[test]
    fn the_largest_need_binds_and_hard_limits_win_ties() {
        let cs = [
            c("replication", Some(3), true),
            c("throughput", Some(9), false),
            c("disk_space", Some(9), false),
            c("compaction", Some(4), true),
        ];
        assert_eq!(binding(&cs, 3), (9, "disk_space".into()));
    }

    #[test]
    fn an_unsizable_unmet_limit_binds() {
        let cs = [c("replication", Some(3), true), c("memory", None, false)];
        assert_eq!(binding(&cs, 3).1, "memory");
    }

    #[test]
    fn smallest_finds_the_first_fitting_count() {
        assert_eq!(smallest(3, |k| k >= 17), Some(17));
        assert_eq!(smallest(3, |_| true), Some(3));
        assert_eq!(smallest(3, |_| false), None);
    }
}
