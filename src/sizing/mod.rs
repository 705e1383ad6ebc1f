//! Cluster sizing (DESIGN.md 3, "Sizing"; issue 7): what to buy, from a run. Per node
//! (`node`): disk with the compaction headroom, commit log and snapshots, RAM, open files against
//! nofile, the time to stream a replacement, the hottest node's share. Per datacenter
//! (`cluster`): the nodes each limit needs, scaled from the run, and the one that binds; the
//! bytes writes send across datacenters; the write amplification of views and indexes.
//! `search` runs candidate clusters for `cassim size`.

pub mod cluster;
pub mod node;
pub mod search;

use std::collections::BTreeMap;

use crate::check::{finding, Finding, Severity};
use crate::metrics::round_json;
use crate::scenario::Scenario;
use crate::sim::RunResult;
use crate::units::{format_bytes, format_count, format_span};

pub use cluster::{Constraint, DcSizing};

/// The `sizing` section of `summary.json`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Sizing {
    /// Nodes per datacenter that meet every limit (scaled from this run).
    pub nodes_needed: BTreeMap<String, u32>,
    /// The limit that sets the count of the datacenter furthest from it.
    pub binding_constraint: String,
    /// Per node of the recommended cluster: sstables, compaction headroom, commit log and
    /// snapshots.
    pub disk_per_node_bytes: f64,
    /// Per node of the recommended cluster: heap, off-heap, reserve and the hot data's page cache.
    pub ram_per_node_bytes: f64,
    /// The heap to set: a step of the operators' ladder above the smallest healthy one (`null`:
    /// none up to half the RAM is healthy).
    pub heap_bytes: Option<f64>,
    pub smallest_healthy_heap_bytes: Option<f64>,
    /// As simulated: sstable components, commit log segments, connections.
    pub open_files: f64,
    pub nofile: f64,
    /// Streaming a replaced node's data, per node of the recommended cluster.
    pub stream_time_s: f64,
    pub cross_dc_bytes_per_s: f64,
    /// The busiest node's load against the mean (token imbalance and hot partitions).
    pub hottest_node_factor: f64,
    /// Per base table written: rows written into it, its views and its indexes per row.
    pub write_amplification: BTreeMap<String, f64>,
    /// The recommendation and its reasons, in order.
    pub recommendation: Vec<String>,
    pub datacenters: Vec<DcSizing>,
}

/// The run's heap: its size, whether it was healthy, and the smallest healthy one the heap search
/// found.
#[derive(Debug, Clone, Copy)]
pub struct HeapState {
    pub heap_bytes: f64,
    pub healthy: bool,
    pub smallest_healthy: Option<f64>,
}

impl HeapState {
    pub fn of(v: &crate::sim::NodeVerdict) -> HeapState {
        HeapState {
            heap_bytes: v.heap_bytes,
            healthy: v.verdict == crate::heap::verdict::Verdict::Healthy,
            smallest_healthy: v.smallest_healthy_heap_bytes,
        }
    }
}

/// Sizes the cluster from `run` and its heap.
pub fn size(scenario: &Scenario, run: &RunResult, heap: HeapState) -> Sizing {
    let healthy_heap = heap.smallest_healthy;
    let mut dcs = Vec::new();
    for (d, dc) in scenario.cluster.datacenters.iter().enumerate() {
        let Some(n) = cluster::node_for(run, d) else {
            continue;
        };
        let need = node::need(scenario, n);
        let constraints = cluster::constraints(scenario, n, &need, d, heap);
        let (needed, binding) = cluster::binding(&constraints, dc.rf);
        dcs.push(DcSizing {
            name: dc.name.clone(),
            nodes: dc.nodes,
            rf: dc.rf,
            nodes_needed: needed,
            binding_constraint: binding,
            constraints,
            node: need,
        });
    }
    let Some(worst) = dcs.iter().max_by(|a, b| {
        let r = |x: &DcSizing| f64::from(x.nodes_needed) / f64::from(x.nodes.max(1));
        r(a).total_cmp(&r(b))
    }) else {
        return Sizing::default();
    };
    let d = scenario
        .cluster
        .datacenters
        .iter()
        .position(|x| x.name == worst.name)
        .unwrap_or(0);
    let n = cluster::node_for(run, d).expect("a node for the datacenter");
    let scale = cluster::scale(scenario, d, worst.nodes_needed);
    let disk = node::DiskBasis::of(n).at(scenario, scale);
    let ram_needed = worst.node.ram.at(scale);
    let mut sizing = Sizing {
        nodes_needed: dcs
            .iter()
            .map(|x| (x.name.clone(), x.nodes_needed))
            .collect(),
        binding_constraint: worst.binding_constraint.clone(),
        disk_per_node_bytes: round_json(disk.total_bytes),
        ram_per_node_bytes: round_json(ram_needed),
        heap_bytes: healthy_heap
            .map(|h| crate::sim::heap_search::recommended(h, scenario.node.ram_bytes)),
        smallest_healthy_heap_bytes: healthy_heap,
        open_files: round_json(worst.node.open_files.total),
        nofile: worst.node.open_files.nofile,
        stream_time_s: round_json(node::stream_at(scenario, n, scale, worst.nodes_needed).time_s),
        cross_dc_bytes_per_s: round_json(cluster::cross_dc_bytes_per_s(scenario, run)),
        hottest_node_factor: round_json(worst.node.hotspot.factor),
        write_amplification: cluster::write_amplification(scenario, run),
        recommendation: Vec::new(),
        datacenters: dcs.clone(),
    };
    sizing.recommendation = recommendation(scenario, &sizing);
    sizing
}

/// The recommendation in sentences a reader can check.
fn recommendation(scenario: &Scenario, s: &Sizing) -> Vec<String> {
    let mut out = Vec::new();
    let counts: Vec<String> = s
        .datacenters
        .iter()
        .map(|d| format!("{} nodes in {} (now {})", d.nodes_needed, d.name, d.nodes))
        .collect();
    out.push(format!(
        "{}; bound by {}",
        counts.join(", "),
        s.binding_constraint
    ));
    for d in &s.datacenters {
        if let Some(c) = d
            .constraints
            .iter()
            .find(|c| c.name == d.binding_constraint)
        {
            out.push(format!("{}: {}: {}", d.name, c.name, c.reason));
        }
    }
    if let Some(d) = s.datacenters.first() {
        let ram = &d.node.ram;
        out.push(format!(
            "per node at that count: {} of disk (of {}), RAM {} for heap, off-heap and reserve and {} with the hot data cached (of {}), streaming a replacement takes {}",
            format_bytes(s.disk_per_node_bytes),
            format_bytes(scenario.node.disk.size_bytes),
            format_bytes(ram.total_bytes - ram.page_cache_wanted_bytes),
            format_bytes(s.ram_per_node_bytes),
            format_bytes(scenario.node.ram_bytes),
            format_span(s.stream_time_s)
        ));
    }
    match (s.heap_bytes, s.smallest_healthy_heap_bytes) {
        (Some(h), Some(smallest)) => {
            let cms_note = if h > 14.0 * 1024.0 * 1024.0 * 1024.0
                && scenario.cluster.cassandra_version.default_collector() == "CMS"
            {
                " (above 14 GB use G1, F9)"
            } else {
                ""
            };
            out.push(format!(
                "heap: {}{cms_note}, a step above the smallest healthy {} at the scenario's node count (`cassim size --heap` searches it per candidate)",
                format_bytes(h),
                format_bytes(smallest)
            ));
        }
        _ => out.push("heap: none up to half the RAM is healthy at this load".into()),
    }
    if s.open_files > s.nofile {
        out.push(format!(
            "raise nofile: {} open files against a limit of {}",
            format_count(s.open_files),
            format_count(s.nofile)
        ));
    }
    out
}

/// Findings of the sizing: open files over nofile, a cluster smaller than its limits need.
pub fn findings(s: &Sizing) -> Vec<Finding> {
    let mut out = Vec::new();
    for d in &s.datacenters {
        let f = &d.node.open_files;
        if f.total > f.nofile {
            out.push(finding(Severity::Error, "nofile", None, None, format!(
                "{} needs about {} open files ({} sstables x {} components, {} commit log segments, {} connections) but nofile is {}: \"Too many open files\" (FIELD-REPORT.md item 10; raise the limit in limits.conf, 100000 is usual)",
                d.name,
                format_count(f.total),
                format_count(f.sstables),
                format_count(f.sstable_files / f.sstables.max(1.0)),
                format_count(f.commitlog_segments),
                format_count(f.client_connections + f.internode_connections),
                format_count(f.nofile))));
        }
        let binding = d
            .constraints
            .iter()
            .find(|c| c.name == d.binding_constraint);
        let message = match binding {
            Some(c) if c.nodes.is_none() => Some(format!(
                "{} has {} nodes and fails {} ({}); the other limits need {}",
                d.name, d.nodes, c.name, c.reason, d.nodes_needed
            )),
            _ if d.nodes_needed > d.nodes => Some(format!(
                "{} has {} nodes; {} needs {}",
                d.name, d.nodes, d.binding_constraint, d.nodes_needed
            )),
            _ => None,
        };
        if let Some(m) = message {
            out.push(finding(Severity::Warn, "undersized", None, None, m));
        }
    }
    out
}
