//! What `cassim drive` sends, decided without IO: each statement's open-loop Poisson arrivals at
//! its rate, the partition each request goes to (the key popularity and time buckets the
//! simulation uses), the clustering position it writes, deletes or reads, and which rows exist on
//! the client's side so that deletes aimed at the oldest, newest or random rows find them a delay
//! after they were written. Same scenario and seed, same requests in the same order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use rand::RngExt;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use crate::engine::table::sample_distribution;
use crate::scenario::Scenario;
use crate::workload::{ClusteringPattern, Deletion, KeyPopularity, Operation, Target, WriteKind};

/// A partition: the entity and, for time-bucketed tables, the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionId {
    pub table: usize,
    pub entity: u64,
    pub bucket: u64,
}

/// One request to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Index into the scenario's workload.
    pub op: usize,
    /// Seconds since the drive started, when it is due (latency is measured from here, so a
    /// cluster that falls behind shows it: no coordinated omission).
    pub at_s: f64,
    pub partition: PartitionId,
    /// The clustering position written, deleted or read (an ordinal: the time-like column's
    /// value, a sequence, or a population member); None for partition-wide statements.
    pub clustering: Option<u64>,
    /// Seeds the request's payload values.
    pub payload_seed: u64,
}

/// Why a request was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A delete or targeted update found no row written at least its delay ago.
    NoTarget,
}

/// How the first clustering column's ordinal advances for appends, strictly increasing per
/// partition: the wall clock in milliseconds for `timestamp` and in microseconds for time-based
/// UUIDs (so they mean real times), a sequence from 1 for every other type (so an `int` keeps
/// its order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    Millis,
    Micros,
    Seq,
}

struct TablePlan {
    entities: u64,
    bucket_s: Option<f64>,
    rows_per_partition: Option<crate::distribution::Distribution>,
    tick: Tick,
    /// Whether some statement targets existing rows (then the client keeps them).
    tracks_rows: bool,
}

#[derive(Default)]
struct PartState {
    /// Rows appended and not yet deleted, oldest first: (seconds since start, ordinal).
    rows: VecDeque<(f64, u64)>,
    last_ordinal: u64,
    population: Option<u64>,
}

/// A cumulative distribution over ranks for zipf key popularity.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: u64, s: f64) -> Zipf {
        let mut acc = 0.0;
        let cdf = (1..=n.max(1))
            .map(|k| {
                acc += (k as f64).powf(-s);
                acc
            })
            .collect();
        Zipf { cdf }
    }

    fn draw(&self, u: f64) -> u64 {
        let total = *self.cdf.last().unwrap_or(&1.0);
        let x = u * total;
        self.cdf.partition_point(|&c| c < x) as u64
    }
}

/// Events in time order: (due time in ns, sequence, what).
type Queue = BinaryHeap<Reverse<(u64, u64, Event)>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// The next Poisson arrival of statement `op`.
    Arrival(usize),
    /// A consumer's delete of the oldest row of a partition, a delay after that row's write.
    Consume(usize, PartitionId),
}

/// The request generator of a drive.
pub struct Plan {
    ops: Vec<Operation>,
    tables: Vec<TablePlan>,
    op_table: Vec<usize>,
    zipf: HashMap<usize, Zipf>,
    /// Deletes that consume every appended row (a queue consumer at least as fast as its
    /// producers, as the simulation's `keeps_up`): scheduled per row instead of by rate.
    consumer_of: HashMap<usize, usize>,
    parts: HashMap<PartitionId, PartState>,
    queue: Queue,
    seq: u64,
    rng: Pcg64Mcg,
    sequential: Vec<u64>,
    start_unix_ms: u64,
    /// Requests the plan made due, by statement (sent or skipped).
    pub planned: Vec<u64>,
    pub skipped: Vec<u64>,
}

fn ns(s: f64) -> u64 {
    (s * 1e9).round() as u64
}

/// The tick of a table's first clustering column.
pub fn tick_of(table: &crate::schema::Table) -> Tick {
    let first = table.clustering.first().and_then(|(c, _)| table.column(c));
    match first.map(|c| c.ty.to_string()).as_deref() {
        Some("timestamp") => Tick::Millis,
        Some("timeuuid") => Tick::Micros,
        _ => Tick::Seq,
    }
}

impl Plan {
    /// A plan for the scenario's workload; `start_unix_ms` is the wall clock at the start (the
    /// first ordinal of time-ordered clustering columns and of bucket values).
    pub fn new(scenario: &Scenario, seed: u64, start_unix_ms: u64) -> Plan {
        let ops = scenario.workload.clone();
        let mut names: Vec<String> = Vec::new();
        let op_table: Vec<usize> = ops
            .iter()
            .map(|op| match names.iter().position(|n| *n == op.table) {
                Some(i) => i,
                None => {
                    names.push(op.table.clone());
                    names.len() - 1
                }
            })
            .collect();
        let tables: Vec<TablePlan> = names
            .iter()
            .map(|name| {
                let model = scenario.tables.get(name);
                let parts = model.and_then(|m| m.partitions.clone());
                let table = scenario.schema.table(name);
                TablePlan {
                    entities: parts
                        .as_ref()
                        .map_or(1, |p| p.entities.round().max(1.0) as u64),
                    bucket_s: parts.and_then(|p| p.bucket_s),
                    rows_per_partition: model.and_then(|m| m.rows_per_partition),
                    tick: table.map_or(Tick::Micros, tick_of),
                    tracks_rows: ops.iter().any(|o| o.table == *name && targets_rows(o)),
                }
            })
            .collect();
        let mut zipf = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            if let KeyPopularity::Zipf(s) = op.keys {
                zipf.insert(i, Zipf::new(tables[op_table[i]].entities, s));
            }
        }
        let consumer_of = consumers(&ops, &op_table);
        let mut plan = Plan {
            skipped: vec![0; ops.len()],
            planned: vec![0; ops.len()],
            sequential: vec![0; ops.len()],
            ops,
            tables,
            op_table,
            zipf,
            consumer_of,
            parts: HashMap::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            rng: Pcg64Mcg::seed_from_u64(crate::engine::node_seed(seed, 0x6472_6976)),
            start_unix_ms,
        };
        for i in 0..plan.ops.len() {
            if plan.ops[i].rate_per_s > 0.0 && !plan.consumer_of.values().any(|&c| c == i) {
                let first = plan.interarrival(i);
                plan.push(first, Event::Arrival(i));
            }
        }
        plan
    }

    pub fn ops(&self) -> &[Operation] {
        &self.ops
    }

    /// The wall clock at the start, in ms since the epoch.
    pub fn start_unix_ms(&self) -> u64 {
        self.start_unix_ms
    }

    fn push(&mut self, at_s: f64, e: Event) {
        self.seq += 1;
        self.queue.push(Reverse((ns(at_s), self.seq, e)));
    }

    fn interarrival(&mut self, op: usize) -> f64 {
        let u: f64 = self.rng.random::<f64>().clamp(1e-12, 1.0);
        -u.ln() / self.ops[op].rate_per_s
    }

    /// The next request due before `until_s`, or None when there is none: requests come out in
    /// time order; skipped ones are counted in `skipped`.
    pub fn next(&mut self, until_s: f64) -> Option<Request> {
        loop {
            let Reverse((t_ns, _, event)) = *self.queue.peek()?;
            let at_s = t_ns as f64 / 1e9;
            if at_s >= until_s {
                return None;
            }
            self.queue.pop();
            let req = match event {
                Event::Arrival(op) => {
                    let next = at_s + self.interarrival(op);
                    self.push(next, Event::Arrival(op));
                    self.request(op, at_s)
                }
                Event::Consume(op, p) => self.consume(op, p, at_s),
            };
            let (Event::Arrival(op) | Event::Consume(op, _)) = event;
            self.planned[op] += 1;
            match req {
                Ok(r) => return Some(r),
                Err(Skip::NoTarget) => self.skipped[op] += 1,
            }
        }
    }

    fn bucket_now(&self, table: usize, at_s: f64) -> u64 {
        self.tables[table]
            .bucket_s
            .map_or(0, |b| (at_s / b).floor() as u64)
    }

    fn pick_partition(&mut self, op: usize, at_s: f64) -> PartitionId {
        let table = self.op_table[op];
        let entities = self.tables[table].entities;
        let now_bucket = self.bucket_now(table, at_s);
        let u: f64 = self.rng.random();
        let entity = match self.ops[op].keys {
            KeyPopularity::Zipf(_) => self.zipf[&op].draw(u).min(entities - 1),
            KeyPopularity::Sequential => {
                self.sequential[op] += 1;
                (self.sequential[op] - 1) % entities
            }
            KeyPopularity::Uniform | KeyPopularity::Latest => {
                ((u * entities as f64) as u64).min(entities - 1)
            }
        };
        // Writes go to the current bucket; reads of older buckets only when keys are not
        // `latest` (then uniformly over the buckets so far).
        let bucket = if self.ops[op].is_read() && self.ops[op].keys != KeyPopularity::Latest {
            ((self.rng.random::<f64>() * (now_bucket + 1) as f64) as u64).min(now_bucket)
        } else {
            now_bucket
        };
        PartitionId {
            table,
            entity,
            bucket,
        }
    }

    fn population(&mut self, p: PartitionId) -> u64 {
        let dist = self.tables[p.table].rows_per_partition;
        let state = self.parts.entry(p).or_default();
        if let Some(n) = state.population {
            return n;
        }
        // Each partition's population is a draw of its own, seeded by its identity, so it does
        // not depend on the order partitions are first met.
        let mut rng = Pcg64Mcg::seed_from_u64(
            crate::engine::node_seed(p.entity ^ (p.bucket << 40), p.table) ^ 0x0070_6F70,
        );
        let n = dist.map_or(1.0, |d| sample_distribution(&d, &mut rng).round().max(1.0)) as u64;
        state.population = Some(n);
        n
    }

    fn request(&mut self, op: usize, at_s: f64) -> Result<Request, Skip> {
        let p = self.pick_partition(op, at_s);
        let payload_seed = self.rng.random();
        let o = &self.ops[op];
        let random = o.clustering == ClusteringPattern::Random;
        let clustering = if o.is_read() {
            let point = o.read.as_ref().is_some_and(|r| r.point);
            if !point {
                None
            } else if random {
                let n = self.population(p);
                Some(self.rng.random_range(0..n))
            } else {
                let rows = self.parts.get(&p).map(|s| &s.rows);
                match rows.filter(|r| !r.is_empty()) {
                    Some(r) => Some(r[self.rng.random_range(0..r.len())].1),
                    None => Some(0),
                }
            }
        } else if targets_rows(o) {
            self.target(op, p, at_s)?
        } else if random {
            let n = self.population(p);
            Some(self.rng.random_range(0..n))
        } else {
            Some(self.append(op, p, at_s))
        };
        Ok(Request {
            op,
            at_s,
            partition: p,
            clustering,
            payload_seed,
        })
    }

    /// A new row at the end of partition `p`: its ordinal, kept if deletes will look for it, and
    /// the consumer's delete scheduled a delay later.
    fn append(&mut self, op: usize, p: PartitionId, at_s: f64) -> u64 {
        let table = &self.tables[p.table];
        let wall = self.start_unix_ms as f64 + at_s * 1000.0;
        let now = match table.tick {
            Tick::Millis => wall as u64,
            Tick::Micros => (wall * 1000.0) as u64,
            Tick::Seq => 0,
        };
        let tracks = table.tracks_rows;
        let state = self.parts.entry(p).or_default();
        let ordinal = now.max(state.last_ordinal + 1);
        state.last_ordinal = ordinal;
        if tracks {
            state.rows.push_back((at_s, ordinal));
        }
        if let Some(&consumer) = self.consumer_of.get(&self.op_table[op]) {
            let delay = self.ops[consumer]
                .delay
                .map_or(0.0, |d| sample_distribution(&d, &mut self.rng).max(0.0));
            self.push(at_s + delay, Event::Consume(consumer, p));
        }
        ordinal
    }

    fn consume(&mut self, op: usize, p: PartitionId, at_s: f64) -> Result<Request, Skip> {
        let payload_seed = self.rng.random();
        let state = self.parts.get_mut(&p).ok_or(Skip::NoTarget)?;
        let (_, ordinal) = state.rows.pop_front().ok_or(Skip::NoTarget)?;
        Ok(Request {
            op,
            at_s,
            partition: p,
            clustering: Some(ordinal),
            payload_seed,
        })
    }

    /// The row a delete (or targeted update) hits: among rows written at least the mean delay
    /// ago, the oldest, the newest or a random one (the simulation's rule, DESIGN.md 2).
    fn target(&mut self, op: usize, p: PartitionId, at_s: f64) -> Result<Option<u64>, Skip> {
        let o = &self.ops[op];
        let deletion = o.writes.first().and_then(|w| w.deletion);
        if deletion == Some(Deletion::Partition) {
            if let Some(s) = self.parts.get_mut(&p) {
                s.rows.clear();
            }
            return Ok(None);
        }
        if o.clustering == ClusteringPattern::Random {
            let n = self.population(p);
            return Ok(Some(self.rng.random_range(0..n)));
        }
        let due = at_s - o.delay.map_or(0.0, |d| d.mean());
        let target = o.target;
        let range = deletion == Some(Deletion::Range);
        let u: f64 = self.rng.random();
        let state = self.parts.get_mut(&p).ok_or(Skip::NoTarget)?;
        let ready = state.rows.partition_point(|&(t, _)| t <= due);
        if ready == 0 {
            return Err(Skip::NoTarget);
        }
        if range {
            // A range delete of everything written at least the delay ago: its bound is the
            // newest such row, and every row up to it goes.
            let bound = state.rows[ready - 1].1;
            state.rows.drain(..ready);
            return Ok(Some(bound));
        }
        let at = match target {
            Target::Oldest => 0,
            Target::Newest => ready - 1,
            Target::Random => ((u * ready as f64) as usize).min(ready - 1),
        };
        Ok(state.rows.remove(at).map(|(_, o)| o))
    }
}

/// Whether a statement aims at rows that exist already (deletes, and updates with a delay).
fn targets_rows(op: &Operation) -> bool {
    op.writes
        .iter()
        .any(|w| w.kind == WriteKind::Delete || (w.kind == WriteKind::Update && op.delay.is_some()))
}

/// Row deletes aimed at the oldest rows whose rate keeps up with the appends into their table
/// (the simulation's `keeps_up`): each appended row gets its delete a delay later.
fn consumers(ops: &[Operation], op_table: &[usize]) -> HashMap<usize, usize> {
    let mut out = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        let row_delete = op
            .writes
            .iter()
            .any(|w| w.kind == WriteKind::Delete && w.deletion == Some(Deletion::Row));
        if !row_delete
            || op.target != Target::Oldest
            || op.clustering != ClusteringPattern::Increasing
        {
            continue;
        }
        let appends: f64 = ops
            .iter()
            .enumerate()
            .filter(|(j, o)| {
                op_table[*j] == op_table[i]
                    && !o.is_read()
                    && !targets_rows(o)
                    && o.clustering == ClusteringPattern::Increasing
            })
            .map(|(_, o)| o.rate_per_s)
            .sum();
        if appends > 0.0 && op.rate_per_s >= appends * 0.999 {
            out.insert(op_table[i], i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::Path;

    fn queue_scenario(delete_rate: &str) -> Scenario {
        let text = format!(
            r#"
name = "q"
duration = "10m"
sample_every = "10s"
[cluster]
cassandra_version = "5.0"
datacenters = [{{ name = "dc1", nodes = 1, rf = 1 }}]
[node]
ram = "8GiB"
heap = "1GiB"
cores = 2
disk = {{ kind = "ssd", size = "10GiB" }}
[schema]
cql = """
CREATE KEYSPACE k WITH replication = {{'class': 'NetworkTopologyStrategy', 'dc1': 1}};
CREATE TABLE k.q (id int, ts timeuuid, v text, PRIMARY KEY (id, ts));
"""
[tables."k.q"]
partitions = {{ entities = 10 }}
[[workload]]
cql = "INSERT INTO k.q (id, ts, v) VALUES (?, ?, ?)"
rate = "100/s"
[[workload]]
cql = "DELETE FROM k.q WHERE id = ? AND ts = ?"
rate = "{delete_rate}"
target = "oldest"
delay = "fixed(5s)"
[[workload]]
cql = "SELECT * FROM k.q WHERE id = ? LIMIT 1"
rate = "10/s"
"#
        );
        Scenario::from_str(&text, Path::new("q.toml"), &BTreeMap::new(), &[]).unwrap()
    }

    fn drain(plan: &mut Plan, until: f64) -> Vec<Request> {
        std::iter::from_fn(|| plan.next(until)).collect()
    }

    #[test]
    fn arrivals_follow_the_rates_in_time_order() {
        let s = queue_scenario("10/s");
        let mut plan = Plan::new(&s, 1, 0);
        let reqs = drain(&mut plan, 100.0);
        assert!(reqs.windows(2).all(|w| w[0].at_s <= w[1].at_s));
        let inserts = reqs.iter().filter(|r| r.op == 0).count() as f64;
        assert!((inserts - 10_000.0).abs() < 400.0, "{inserts}");
        let reads = reqs.iter().filter(|r| r.op == 2).count() as f64;
        assert!((reads - 1_000.0).abs() < 130.0, "{reads}");
    }

    #[test]
    fn a_consumer_that_keeps_up_deletes_each_row_a_delay_after_its_write() {
        let s = queue_scenario("100/s");
        let mut plan = Plan::new(&s, 1, 1_000);
        let reqs = drain(&mut plan, 60.0);
        let mut written = HashMap::new();
        for r in reqs.iter().filter(|r| r.op == 0) {
            written.insert((r.partition, r.clustering.unwrap()), r.at_s);
        }
        let deletes: Vec<&Request> = reqs.iter().filter(|r| r.op == 1).collect();
        // Every row written more than the delay before the end is deleted, once.
        let due = written.values().filter(|&&t| t < 55.0).count();
        assert!(deletes.len() >= due && deletes.len() <= written.len());
        for d in deletes {
            let w = written[&(d.partition, d.clustering.unwrap())];
            assert!(d.at_s >= w + 5.0 - 1e-9, "deleted before its delay");
        }
    }

    #[test]
    fn same_seed_same_requests() {
        let s = queue_scenario("30/s");
        let a = drain(&mut Plan::new(&s, 7, 0), 30.0);
        let b = drain(&mut Plan::new(&s, 7, 0), 30.0);
        assert_eq!(a, b);
        let c = drain(&mut Plan::new(&s, 8, 0), 30.0);
        assert_ne!(a, c);
    }

    #[test]
    fn zipf_ranks_favour_the_first() {
        let z = Zipf::new(100, 1.0);
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let firsts = (0..10_000).filter(|_| z.draw(rng.random()) == 0).count();
        // P(rank 1) = 1 / H(100) = 0.193.
        assert!((firsts as f64 / 10_000.0 - 0.193).abs() < 0.02, "{firsts}");
    }
}
