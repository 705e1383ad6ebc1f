//! The ring as one node sees it (DESIGN.md 3, "Nodes"): which nodes are simulated (one
//! representative per datacenter, carrying the hottest node's share, or every node of a small
//! cluster with its own token share), each one's share of the cluster's writes (requests × RF /
//! nodes) and of its reads (by consistency level), the extra share vnode token imbalance gives the
//! hottest node.

use statrs::distribution::{ContinuousCDF, Normal};

use crate::scenario::{Scenario, SimulateNodes};

/// A node the simulation runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NodeShare {
    /// `dc1` for a representative, `dc1/3` for one of all nodes.
    pub name: String,
    pub dc: usize,
    /// Multiplier on the datacenter's mean per-node load (token ownership relative to the mean).
    pub load_factor: f64,
    /// The hottest node's ownership relative to the mean, from vnode token imbalance.
    pub hottest_factor: f64,
    /// Datacenters with the same nodes and RF that this node also stands for.
    pub stands_for: Vec<usize>,
}

/// Replicas a request at `consistency` waits for in datacenter `dc`, coordinated in `local`, with
/// `rfs` the replication factor per datacenter. The one rule for consistency levels: the reads a
/// node serves (reads with digests read the data on every contacted replica) and the
/// coordinator's wait (`latency::Fanout`) both come from it.
pub fn read_replicas(consistency: &str, rfs: &[u32], dc: usize, local: usize) -> f64 {
    let rf = |i: usize| f64::from(rfs[i]);
    let total: f64 = (0..rfs.len()).map(rf).sum();
    let quorum = |n: f64| (n / 2.0).floor() + 1.0;
    match consistency.to_ascii_uppercase().as_str() {
        "ONE" | "LOCAL_ONE" | "ANY" => f64::from(u8::from(dc == local)),
        "TWO" => {
            if dc == local {
                2.0f64.min(rf(dc))
            } else {
                0.0
            }
        }
        "THREE" => {
            if dc == local {
                3.0f64.min(rf(dc))
            } else {
                0.0
            }
        }
        "LOCAL_QUORUM" | "LOCAL_SERIAL" => {
            if dc == local {
                quorum(rf(dc))
            } else {
                0.0
            }
        }
        "EACH_QUORUM" => quorum(rf(dc)),
        "ALL" => rf(dc),
        // QUORUM and SERIAL: a quorum of all replicas, the local ones first (the dynamic snitch
        // prefers the closest).
        _ => {
            let q = quorum(total);
            if dc == local {
                q.min(rf(dc))
            } else {
                let left = (q - rf(local)).max(0.0);
                let others: f64 = (0..rfs.len()).filter(|&i| i != local).map(rf).sum();
                if others > 0.0 {
                    left * rf(dc) / others
                } else {
                    0.0
                }
            }
        }
    }
}

/// Per-node replica reads per request, averaged over coordinators spread across datacenters in
/// proportion to their nodes.
pub fn read_factor(scenario: &Scenario, consistency: &str, dc: usize) -> f64 {
    let dcs: Vec<(u32, u32)> = scenario
        .cluster
        .datacenters
        .iter()
        .map(|d| (d.nodes, d.rf))
        .collect();
    let rfs: Vec<u32> = dcs.iter().map(|d| d.1).collect();
    let nodes_total: f64 = dcs.iter().map(|d| f64::from(d.0)).sum();
    let mut per_request = 0.0;
    for (local, d) in dcs.iter().enumerate() {
        let share = f64::from(d.0) / nodes_total;
        per_request += share * read_replicas(consistency, &rfs, dc, local);
    }
    per_request / f64::from(dcs[dc].0)
}

/// Write replicas per request landing on one node of `dc`: RF / nodes.
pub fn write_factor(scenario: &Scenario, dc: usize) -> f64 {
    let d = &scenario.cluster.datacenters[dc];
    f64::from(d.rf) / f64::from(d.nodes)
}

/// The hottest node's ownership relative to the mean: each node's primary share of the ring is
/// the sum of `num_tokens` random arcs, about normal with a relative sd of 1/sqrt(num_tokens); a
/// node holds replicas of about RF such shares, which divides the sd by sqrt(RF); the largest of
/// N nodes sits about z_N sd above the mean (z_N: the normal quantile 1 - 1/(N+1)). With RF equal
/// to the nodes every node holds everything.
pub fn hottest_factor(nodes: u32, rf: u32, num_tokens: u32, z_override: f64) -> f64 {
    if nodes <= 1 || rf >= nodes {
        return 1.0;
    }
    let z = if z_override > 0.0 {
        z_override
    } else {
        let n = Normal::new(0.0, 1.0).expect("standard normal");
        n.inverse_cdf(1.0 - 1.0 / (f64::from(nodes) + 1.0))
    };
    1.0 + z / (f64::from(num_tokens.max(1)) * f64::from(rf.max(1))).sqrt()
}

/// The nodes to simulate.
pub fn nodes(scenario: &Scenario) -> Vec<NodeShare> {
    let z = scenario.calibration.get("token_imbalance_z");
    let dcs = &scenario.cluster.datacenters;
    let mut out: Vec<NodeShare> = Vec::new();
    for (i, dc) in dcs.iter().enumerate() {
        let hottest = hottest_factor(dc.nodes, dc.rf, scenario.cluster.num_tokens, z);
        match scenario.cluster.simulate_nodes {
            SimulateNodes::Representative => {
                // A datacenter shaped like an earlier one (same nodes, RF and read share) is the
                // same simulation: run it once.
                let twin = out.iter_mut().find(|n| {
                    let d = &dcs[n.dc];
                    d.nodes == dc.nodes && d.rf == dc.rf && same_reads(scenario, n.dc, i)
                });
                match twin {
                    Some(n) => n.stands_for.push(i),
                    // The representative carries the hottest node's share: the node that fills
                    // first is the one to size for (DESIGN.md 3, "Nodes").
                    None => out.push(NodeShare {
                        name: dc.name.clone(),
                        dc: i,
                        load_factor: hottest,
                        hottest_factor: hottest,
                        stands_for: vec![i],
                    }),
                }
            }
            SimulateNodes::All => {
                for k in 0..dc.nodes {
                    out.push(NodeShare {
                        name: format!("{}/{}", dc.name, k + 1),
                        dc: i,
                        load_factor: ownership(
                            scenario.seed,
                            i,
                            k,
                            dc.nodes,
                            dc.rf,
                            scenario.cluster.num_tokens,
                        ),
                        hottest_factor: hottest,
                        stands_for: vec![i],
                    });
                }
            }
        }
    }
    out
}

fn same_reads(scenario: &Scenario, a: usize, b: usize) -> bool {
    scenario.workload.iter().all(|op| {
        (read_factor(scenario, &op.consistency, a) - read_factor(scenario, &op.consistency, b))
            .abs()
            < 1e-12
    })
}

/// Node k's replicated ownership relative to the mean, from its random tokens: a deterministic
/// draw from the seed, normalised so the datacenter's nodes average 1, its spread divided by
/// sqrt(RF) as in [`hottest_factor`].
fn ownership(seed: u64, dc: usize, k: u32, nodes: u32, rf: u32, num_tokens: u32) -> f64 {
    if rf >= nodes {
        return 1.0;
    }
    use rand::{RngExt, SeedableRng};
    let mut rng =
        rand_pcg::Pcg64Mcg::seed_from_u64(seed ^ 0x9E37_79B9_7F4A_7C15 ^ (dc as u64) << 32);
    let arcs: Vec<f64> = (0..nodes)
        .map(|_| {
            (0..num_tokens.max(1))
                .map(|_| -rng.random::<f64>().max(1e-12).ln())
                .sum()
        })
        .collect();
    let mean = arcs.iter().sum::<f64>() / f64::from(nodes);
    1.0 + (arcs[k as usize] / mean - 1.0) / f64::from(rf.max(1)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistency_levels_contact_their_replicas() {
        let dcs = [3, 3];
        assert_eq!(read_replicas("LOCAL_QUORUM", &dcs, 0, 0), 2.0);
        assert_eq!(read_replicas("LOCAL_QUORUM", &dcs, 1, 0), 0.0);
        assert_eq!(read_replicas("EACH_QUORUM", &dcs, 1, 0), 2.0);
        assert_eq!(read_replicas("LOCAL_ONE", &dcs, 0, 0), 1.0);
        assert_eq!(read_replicas("QUORUM", &dcs, 0, 0), 3.0);
        assert_eq!(read_replicas("QUORUM", &dcs, 1, 0), 1.0);
        assert_eq!(read_replicas("ALL", &dcs, 1, 0), 3.0);
    }

    #[test]
    fn fewer_tokens_mean_a_hotter_hottest_node() {
        assert!(hottest_factor(12, 3, 16, 0.0) > hottest_factor(12, 3, 256, 0.0));
        assert!(hottest_factor(12, 3, 256, 0.0) > 1.0);
        assert_eq!(hottest_factor(1, 1, 16, 0.0), 1.0);
        assert_eq!(hottest_factor(3, 3, 16, 0.0), 1.0);
    }
}
