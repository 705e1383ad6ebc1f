//! `cassim size`: the smallest cluster that meets every limit, found by running candidates. The
//! scenario's own run gives each datacenter's estimate (`cluster::binding`); candidates around it
//! run in parallel (rayon, each one sequential inside, so results do not depend on scheduling),
//! each checked against every limit at its own node counts; with `heap`, each candidate runs at
//! the smallest healthy heap the heap search finds for it.

use rayon::prelude::*;

use super::Sizing;
use crate::scenario::{Heap, Scenario};

/// One candidate cluster and what its run said.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Candidate {
    /// Nodes per datacenter, in the scenario's order.
    pub nodes: Vec<u32>,
    pub heap_bytes: f64,
    /// Every limit met.
    pub meets: bool,
    /// The first limit not met, or the one that sets the count when all are.
    pub binding_constraint: String,
    pub unmet: Vec<String>,
    pub disk_per_node_bytes: f64,
    pub verdict: String,
    pub sizing: Sizing,
}

/// The search: candidates in the order of their total nodes, and the recommended one.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SizeReport {
    pub scenario: String,
    pub seed: u64,
    pub datacenters: Vec<String>,
    pub estimate: Sizing,
    pub candidates: Vec<Candidate>,
    /// Index into `candidates`.
    pub recommended: Option<usize>,
}

/// Multipliers of the estimate tried in each round; a round runs only when every earlier
/// candidate failed.
const ROUNDS: [&[f64]; 3] = [
    &[0.5, 0.75, 1.0, 1.25, 1.5, 2.0],
    &[3.0, 4.0, 6.0],
    &[8.0, 12.0, 16.0],
];

/// The scenario with `nodes` per datacenter and, when given, `heap`.
pub fn variant(scenario: &Scenario, nodes: &[u32], heap: Option<f64>) -> Scenario {
    let mut s = scenario.clone();
    for (d, n) in s.cluster.datacenters.iter_mut().zip(nodes) {
        d.nodes = *n;
    }
    if let Some(h) = heap {
        s.node.heap = Heap::Bytes(h);
    }
    s
}

fn evaluate(scenario: &Scenario, seed: u64, nodes: &[u32], search_heap: bool) -> Candidate {
    let s = variant(scenario, nodes, None);
    let (_, mut summary) = crate::sim::run(&s, seed, false, &|_, _| {});
    // With the heap searched, the candidate runs at its smallest healthy heap, smaller or larger
    // than the scenario's.
    if search_heap {
        if let Some(h) = summary.node.smallest_healthy_heap_bytes {
            if h != summary.node.heap_bytes {
                let s = variant(scenario, nodes, Some(h));
                summary = crate::sim::run(&s, seed, false, &|_, _| {}).1;
            }
        }
    }
    let sizing = summary.sizing;
    let unmet: Vec<String> = super::cluster::ORDER
        .iter()
        .filter(|name| {
            sizing
                .datacenters
                .iter()
                .flat_map(|d| d.constraints.iter())
                .any(|c| c.name == **name && !c.met)
        })
        .map(|n| n.to_string())
        .collect();
    Candidate {
        nodes: nodes.to_vec(),
        heap_bytes: summary.node.heap_bytes,
        meets: unmet.is_empty(),
        binding_constraint: unmet
            .first()
            .cloned()
            .unwrap_or_else(|| sizing.binding_constraint.clone()),
        unmet,
        disk_per_node_bytes: sizing
            .datacenters
            .iter()
            .map(|d| d.node.disk.total_bytes)
            .fold(0.0, f64::max),
        verdict: summary.node.verdict.word().to_string(),
        sizing,
    }
}

/// Nodes per datacenter at `f` times the estimate, at least RF.
fn counts(scenario: &Scenario, estimate: &Sizing, f: f64) -> Vec<u32> {
    scenario
        .cluster
        .datacenters
        .iter()
        .map(|d| {
            let e = estimate
                .nodes_needed
                .get(&d.name)
                .copied()
                .unwrap_or(d.nodes);
            ((f64::from(e) * f).ceil() as u32).max(d.rf)
        })
        .collect()
}

/// Runs the search with `jobs` threads (0: all cores): rounds of candidates at multiples of the
/// estimate until one meets every limit, then candidates between the largest failing and the
/// smallest passing multiple until they are a node apart.
pub fn search(
    scenario: &Scenario,
    seed: u64,
    search_heap: bool,
    jobs: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> SizeReport {
    let (_, base) = crate::sim::run(scenario, seed, jobs != 1, &|_, _| {});
    let estimate = base.sizing;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .expect("a thread pool");
    // (multiple, candidate), every candidate's counts distinct.
    let mut tried: Vec<(f64, Candidate)> = Vec::new();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let run_round = |factors: Vec<f64>, tried: &mut Vec<(f64, Candidate)>| {
        let mut sets: Vec<(f64, Vec<u32>)> = Vec::new();
        for f in factors {
            let n = counts(scenario, &estimate, f);
            if !tried.iter().any(|(_, c)| c.nodes == n) && !sets.iter().any(|(_, m)| *m == n) {
                sets.push((f, n));
            }
        }
        let total = tried.len() + sets.len();
        let round: Vec<(f64, Candidate)> = pool.install(|| {
            sets.par_iter()
                .map(|(f, n)| {
                    let c = evaluate(scenario, seed, n, search_heap);
                    let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    progress(k, total);
                    (*f, c)
                })
                .collect()
        });
        tried.extend(round);
    };
    for factors in ROUNDS {
        run_round(factors.to_vec(), &mut tried);
        if tried.iter().any(|(_, c)| c.meets) {
            break;
        }
    }
    for _ in 0..3 {
        let pass = tried
            .iter()
            .filter(|(_, c)| c.meets)
            .map(|(f, _)| *f)
            .fold(f64::INFINITY, f64::min);
        let fail = tried
            .iter()
            .filter(|(f, c)| !c.meets && *f < pass)
            .map(|(f, _)| *f)
            .fold(0.0, f64::max);
        if !pass.is_finite() || fail <= 0.0 {
            break;
        }
        let (a, b) = (
            counts(scenario, &estimate, fail),
            counts(scenario, &estimate, pass),
        );
        if a.iter().zip(&b).all(|(x, y)| y - x <= 1) {
            break;
        }
        run_round(
            (1..=4)
                .map(|i| fail + (pass - fail) * f64::from(i) / 5.0)
                .collect(),
            &mut tried,
        );
    }
    let mut candidates: Vec<Candidate> = tried.into_iter().map(|(_, c)| c).collect();
    candidates.sort_by_key(|c| c.nodes.iter().sum::<u32>());
    let recommended = candidates.iter().position(|c| c.meets);
    SizeReport {
        scenario: scenario.name.clone(),
        seed,
        datacenters: scenario
            .cluster
            .datacenters
            .iter()
            .map(|d| d.name.clone())
            .collect(),
        estimate,
        candidates,
        recommended,
    }
}
