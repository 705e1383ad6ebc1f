//! The agreement suite (issue 8): the aggregated engine against the per-row reference engine
//! (`cassim::reference`) on the same scenario and seed, compaction unthrottled, compared on means
//! over the steady state (after the warm-up samples), as `cassim run --reference` prints them.
//!
//! Tolerances, and why:
//! - Live rows: 1 %. Both draw Poisson arrivals; over millions of rows the noise is below 0.1 %.
//! - Tombstones per read p50: 2 %, p99: 3 % (5 % and 7 % under STCS). Each engine simulates 100
//!   reads per sample; the p99 of 100 draws moves by a few percent from seed to seed; under STCS
//!   the counts also follow purge compactions (below).
//! - Sstables, sstables per read, tombstones stored by kind: 5 % (10 % for the queue's one to
//!   three sstables). The aggregated engine flushes and compacts once per 10-minute step where
//!   Cassandra (and the reference engine) compacts after every flush; it emulates the arrival
//!   order (each min_threshold oldest merge, the newest wait), but a window closing, or a purge
//!   compaction, can still fall a flush earlier or later, which moves the mean by a few percent.
//! - Where one seed's mean moves by more than that in either engine (a few hundred partitions
//!   deleted at random, an STCS cycle of whole sstables), a case compares means over a fixed
//!   run of seeds from the scenario's own (`compare_seeds`), and says how much one seed moves.
//!
//! What this suite found and fixed in the aggregated engine (each case below says where):
//! 1. the expired-sstable check drifted a step late with every sample;
//! 2. unthrottled compactions were planned at a step's start: closed TWCS windows compacted and
//!    tombstones purged a step late (+15 % row tombstones in the queue);
//! 3. a step's flushes were merged all at once, and concurrent compactions were planned before
//!    earlier ones' outputs existed: STCS tiers unlike Cassandra's (sstables 1.0 against 1.9,
//!    expired cells off by 30 % to 70 %); buckets now merge in arrival order;
//! 4. statements writing different columns of one row shadowed each other (a collection
//!    overwrite hid the INSERT's null-cell tombstones);
//! 5. distinct live rows of several statements were added, not united (twice the rows);
//! 6. the sampler measured every k-th partition and scaled, so the hottest partition of a zipf
//!    popularity counted k times (+19 % live rows);
//! 7. an LCS level's sstables were its bytes over sstable_size, though a wide partition is never
//!    split (+30 % sstables);
//! 8. a compaction's surviving upserts were spread from the oldest write to the newest and
//!    expired too early (sessions: -21 % live rows, expired cells x18);
//! 9. a step's range deletes were one tombstone at its end (-75 % live rows, -80 % range
//!    tombstones);
//! 10. the sampler's one stride over the partitions of every time bucket aliased with the
//!     buckets (R1 scaled down: live rows off by up to 2 %);
//! 11. a step's partition deletions left all of the step's upserts (registry: +4 % live rows);
//! 12. a step with several flushes charged each partition's memtable overhead once (flushes
//!     10 to 17 % too rare);
//! 13. a flush held every partition its step wrote, even those written less than once in it,
//!     and reads saw the expected sstable count, never a spread (sstables per read p50 +16 %);
//! 14. a compaction dropped a row deletion hidden by rows written after it, which Cassandra keeps
//!     beside them until purged (the registry's index table: 450 row tombstones stored against
//!     11 200);
//! 15. a split by time (a flush within a step, the copies a compaction takes) divided upserts
//!     pro rata, not by the rows their writes in each share hold (upserts: cell tombstones
//!     stored -26 %);
//! 16. a compaction kept or dropped a run straddling a partition deletion whole, by its middle
//!     time, and later merges and reads took the deletion's share off what it kept again
//!     (registry entries -5 %, partition-deleted appends -4.5 % live rows);
//! 17. upserts cut at their expiry time were shared pro rata, not by their last writes, and a
//!     compaction's survivors were spread evenly (sessions: expired cells x5.6);
//! 18. a step's n writes into a population of P rows hit P(1 - exp(-n/P)), a Poisson mean over
//!     an n already drawn (sessions written less than once a TTL: -32 % live rows), and a
//!     step's single write sat at its middle, so a TTL of a step and a half expired whole steps
//!     on one side of every sample (-5 %);
//! 19. a point read of a one-row partition saw the share of the row after a random position
//!     (sessions: expired cells per read p50 0.7 against 3);
//! 20. every read of a tracked partition counted its expected random deletes, never a spread
//!     (the registry index's tombstones per read p50 1.6 against 1.2, p99 4.2 against 4.6);
//! 21. a partition whose upserts and random deletes alternate step by step stored every step's
//!     deletions whole, where a memtable keeps one deletion per row (the registry index in a
//!     4 GiB memtable: 12 % too many row tombstones);
//! 22. of a step's upserts and deletes, spread over the same step, the one sorted newer by its
//!     middle time hid the other's rows wholly and the other none: which wrote a row last is a
//!     matter of when in the step each wrote it (index tombstones per read +11 % at 10-minute
//!     steps, exact at 1-minute steps);
//! 23. a compaction's surviving random deletes were the expected count, so every real partition
//!     held the same: reads' counts varied 0.76 as much as the reference's (p99 11 % low);
//! 24. an sstable's statistics expired upserts evenly over their span, where a row expires a TTL
//!     after its last write (sessions written less than once a TTL: expired cells stored
//!     -3.7 %, now -0.7 %).
//!
//! And in the reference engine: it flushed only at the memtable pool's threshold, not when the
//! commit log filled (CASSANDRA.md 8.2 item 3), so a lightly written table held its memtable for
//! a day where the aggregated engine flushed it hours earlier (the registry index in a 4 GiB
//! memtable: sstables 0.35 against 0.6).
//!
//! Both engines draw the same clustering populations (the aggregated engine's stream per table)
//! wherever it tracks every partition, so that a case compares the engines, not two draws.
use std::collections::BTreeMap;
use std::path::Path;

use cassim::reference::compare::{self, Quantity};

fn load(file: &str, sets: &[(&str, &str)]) -> cassim::scenario::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let mut all = vec![(
        "settings.compaction_throughput".to_string(),
        "\"0MiB/s\"".to_string(),
    )];
    all.extend(sets.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    cassim::scenario::Scenario::load(&path, &BTreeMap::new(), &all).expect("scenario")
}

/// Runs both engines and returns the first table's steady-state means from sample `steady` on;
/// prints them as `cassim run --reference` does.
fn compare(s: &cassim::scenario::Scenario, steady: usize) -> Vec<Quantity> {
    compare_tables(s, steady)[0].quantities.clone()
}

/// Every table's comparison, on the scenario's own seed.
fn compare_tables(s: &cassim::scenario::Scenario, steady: usize) -> Vec<compare::Comparison> {
    compare_seeds(s, 1, steady)
}

/// Every table's comparison, each quantity the mean over `seeds` consecutive seeds from the
/// scenario's own, in both engines: for cases where one seed's steady-state mean moves by more
/// than the gap the case looks for (a few hundred partitions deleted at random, or an STCS
/// cycle's sstable count), in either engine. The seeds are fixed by this rule, not picked.
fn compare_seeds(
    s: &cassim::scenario::Scenario,
    seeds: u64,
    steady: usize,
) -> Vec<compare::Comparison> {
    use rayon::prelude::*;
    // Seeds run in parallel; the means are taken in seed order, so they do not depend on it.
    let runs: Vec<Vec<compare::Comparison>> = (s.seed..s.seed + seeds)
        .into_par_iter()
        .map(|seed| {
            let runs = compare::run_both(s, seed, &|_, _| {}).expect("reference run");
            let comparisons = compare::compare(&runs, steady);
            eprintln!("{} seed {seed}\n{}", s.name, compare::text(&comparisons));
            comparisons
        })
        .collect();
    let mut mean = runs[0].clone();
    for (t, table) in mean.iter_mut().enumerate() {
        for (q, quantity) in table.quantities.iter_mut().enumerate() {
            let of = |f: fn(&Quantity) -> f64| {
                runs.iter().map(|r| f(&r[t].quantities[q])).sum::<f64>() / runs.len() as f64
            };
            quantity.reference = of(|x| x.reference);
            quantity.aggregated = of(|x| x.aggregated);
        }
    }
    if seeds > 1 {
        eprintln!(
            "{}: means over {seeds} seeds\n{}",
            s.name,
            compare::text(&mean)
        );
    }
    assert!(mean[0].samples > 4, "too few samples after the warm-up");
    mean
}

/// The comparison of table `name`.
fn table<'a>(tables: &'a [compare::Comparison], name: &str) -> &'a compare::Comparison {
    tables
        .iter()
        .find(|c| c.table == name)
        .unwrap_or_else(|| panic!("no table {name}"))
}

/// Asserts each listed quantity agrees within its relative tolerance, or within `floor` in
/// absolute terms (so that quantities near zero are not judged by their noise).
fn assert_agree(rows: &[Quantity], expected: &[(&str, f64, f64)]) {
    for (what, tolerance, floor) in expected {
        let c = rows
            .iter()
            .find(|c| c.what == *what)
            .unwrap_or_else(|| panic!("no quantity {what}"));
        let gap = (c.reference - c.aggregated).abs();
        let scale = c.reference.abs().max(c.aggregated.abs());
        assert!(
            gap <= tolerance * scale || gap <= *floor,
            "{what}: reference {} against aggregated {} (tolerance {} %, or {floor})",
            c.reference,
            c.aggregated,
            tolerance * 100.0
        );
    }
}

#[test]
fn ttl_series_under_twcs() {
    let s = load(
        "tests/data/scenarios/ttl-series.toml",
        &[("duration", "\"1d\""), ("sample_every", "\"25m\"")],
    );
    let rows = compare(&s, 8);
    assert_agree(
        &rows,
        &[
            ("live rows", 0.01, 0.0),
            ("expired cells", 0.05, 0.0),
            ("flushes", 0.02, 0.0),
            ("sstables", 0.05, 0.0),
            ("sstables per read p50", 0.05, 0.0),
            ("sstables per read p99", 0.05, 0.0),
            ("tombstones per read p50", 0.02, 0.0),
            ("tombstones per read p99", 0.03, 0.0),
        ],
    );
}

#[test]
fn ttl_series_under_stcs() {
    let s = load(
        "tests/data/scenarios/ttl-series.toml",
        &[
            ("duration", "\"1d\""),
            ("sample_every", "\"25m\""),
            (
                "tables.\"ks.events\".compaction",
                "{ class = \"SizeTieredCompactionStrategy\" }",
            ),
        ],
    );
    let rows = compare(&s, 8);
    assert_agree(
        &rows,
        &[
            ("live rows", 0.01, 0.0),
            ("expired cells", 0.05, 0.0),
            ("flushes", 0.02, 0.0),
            ("sstables", 0.05, 0.0),
            ("sstables per read p50", 0.05, 0.0),
            ("tombstones per read p50", 0.05, 0.0),
            ("tombstones per read p99", 0.07, 0.0),
        ],
    );
}

#[test]
fn queue_with_head_deletes() {
    let s = load(
        "scenarios/queue.toml",
        &[
            ("duration", "\"1d\""),
            ("sample_every", "\"25m\""),
            ("tables.\"m2m.commands\".partitions.entities", "100"),
            ("tables.\"m2m.commands\".gc_grace_seconds", "3600"),
            ("workload[0].rate", "\"50/s\""),
            ("workload[1].rate", "\"50/s\""),
            ("workload[2].rate", "\"20/s\""),
            ("settings.memtable_heap_space", "\"16MiB\""),
        ],
    );
    let rows = compare(&s, 8);
    assert_agree(
        &rows,
        &[
            ("live rows", 0.01, 0.0),
            ("row tombstones", 0.05, 0.0),
            ("flushes", 0.02, 0.0),
            ("sstables", 0.10, 0.0),
            ("sstables per read p50", 0.10, 0.0),
            ("tombstones per read p50", 0.02, 0.0),
            ("tombstones per read p99", 0.03, 0.0),
        ],
    );
}

/// The queue scaled down with its consumer replaced by `cql` at `rate`.
fn queue_deleting_by(cql: &str, rate: &str) -> cassim::scenario::Scenario {
    let cql = format!("\"{cql}\"");
    let rate = format!("\"{rate}\"");
    load(
        "scenarios/queue.toml",
        &[
            ("duration", "\"1d\""),
            ("sample_every", "\"20m\""),
            ("tables.\"m2m.commands\".partitions.entities", "100"),
            ("tables.\"m2m.commands\".gc_grace_seconds", "3600"),
            ("workload[0].rate", "\"50/s\""),
            ("workload[1].cql", &cql),
            ("workload[1].rate", &rate),
            ("workload[2].rate", "\"20/s\""),
            ("settings.memtable_heap_space", "\"16MiB\""),
        ],
    )
}

#[test]
fn range_deletes_of_what_is_older_than_the_delay() {
    // One range delete a second over 100 partitions (one per partition every 100 s). Found: the
    // aggregated engine made a step's range deletes one tombstone at the step's end, cutting every
    // partition back to the delay (-75 % live rows, -80 % range tombstones, -83 % tombstones per
    // read).
    let s = queue_deleting_by(
        "DELETE FROM m2m.commands WHERE equipment_id = ? AND ts < ?",
        "1/s",
    );
    let rows = compare(&s, 9);
    assert_agree(
        &rows,
        &[
            ("live rows", 0.03, 0.0),
            ("range tombstones", 0.10, 0.0),
            ("flushes", 0.02, 0.0),
            ("sstables", 0.10, 0.0),
            ("tombstones per read p50", 0.05, 0.0),
            ("tombstones per read p99", 0.05, 0.0),
        ],
    );
}

#[test]
fn partition_deletes() {
    // 100 partitions, each deleted every 2 000 s on average: its live rows are the appends
    // since its last deletion, so one seed's mean moves by about 4 % in either engine (seeds 1 to
    // 6: the reference 98 100 to 102 000, the aggregated engine 96 500 to 105 700). Four seeds.
    // Found: a compaction kept or dropped a run straddling the deletion whole by its middle time,
    // and what it kept was discounted again by every later read (-4.5 % live rows over those
    // six seeds; now +1.3 %).
    let s = queue_deleting_by("DELETE FROM m2m.commands WHERE equipment_id = ?", "0.05/s");
    let rows = compare_seeds(&s, 8, 9)[0].quantities.clone();
    assert_agree(
        &rows,
        &[
            ("live rows", 0.03, 0.0),
            ("partition tombstones", 0.10, 0.0),
            ("flushes", 0.02, 0.0),
            ("sstables", 0.10, 0.0),
            ("sstables per read p50", 0.10, 0.0),
        ],
    );
}

#[test]
fn upserts_into_a_small_clustering_population() {
    let s = load(
        "tests/data/scenarios/upserts.toml",
        &[("duration", "\"6h\""), ("sample_every", "\"10m\"")],
    );
    let rows = compare(&s, 8);
    // Found: cell tombstones stored were 55 000 against 74 000. Sample by sample, right after a
    // compaction both hold one sstable with some 50 000 (the population's latest rows, half with
    // a null name); then the reference gained some 3 000 every 10 minutes and the aggregated
    // engine 600: a step's flushes are one record holding the union of its writes, and a split
    // by time divided the union pro rata, where each flush of a tenth of the writes holds
    // 1 - (1 - r)^0.1 of the population. Splits now divide by that rule, and a record's copies
    // store what each holds (`Frag::stored_over_union`): 73 400 against 73 000.
    assert_agree(
        &rows,
        &[
            ("live rows", 0.01, 0.0),
            ("range tombstones", 0.08, 0.0),
            // Some 73 000, sums over 100 000 rows' null cells: within 2 %.
            ("cell tombstones", 0.02, 0.0),
            ("flushes", 0.02, 0.0),
            ("sstables", 0.05, 0.0),
            ("tombstones per read p50", 0.02, 0.0),
            ("tombstones per read p99", 0.02, 0.0),
        ],
    );
}

#[test]
fn wide_rows_scaled_down() {
    // The shipped wide-rows scenario with 20 partitions per table of 1 000 and 10 000 rows
    // upserted at random (instead of 1 000 of 100 000 and 1 000 000), and small memtables.
    let s = load(
        "scenarios/wide-rows.toml",
        &[
            ("duration", "\"4h\""),
            ("sample_every", "\"3m\""),
            ("tables.\"wide.values_100k\".partitions.entities", "20"),
            (
                "tables.\"wide.values_100k\".rows_per_partition",
                "\"fixed(1000)\"",
            ),
            ("tables.\"wide.values_1m\".partitions.entities", "20"),
            (
                "tables.\"wide.values_1m\".rows_per_partition",
                "\"fixed(10000)\"",
            ),
            ("workload[0].rate", "\"50/s\""),
            ("workload[1].rate", "\"150/s\""),
            ("settings.memtable_heap_space", "\"4MiB\""),
        ],
    );
    for c in compare_tables(&s, 20) {
        assert_agree(
            &c.quantities,
            &[
                ("live rows", 0.01, 0.0),
                // Some 500 flushes per table over the run: a Poisson count, ±4.5 %.
                ("flushes", 0.05, 0.0),
                ("sstables", 0.10, 0.0),
                ("sstables per read p50", 0.10, 0.0),
            ],
        );
    }
}

#[test]
fn sessions_scaled_down() {
    // The shipped sessions scenario (single-row partitions refreshed at random with a 30-minute
    // TTL under LCS, and a zipf-keyed cache with a 1 h TTL) with 5 000 and 2 000 partitions.
    // Found: a compaction's surviving rows were spread evenly from the oldest write to the
    // newest, so they expired too early (sessions: -21 % live rows, expired cells x18); their
    // spread now keeps their mean write time. Found next: a row's state follows its last write,
    // but a frag cut at its expiry time shared its upserts pro rata, and a compaction's
    // survivors were spread evenly over their span, where the last writes of upserts lean
    // towards the newest (a one-row partition's row was last written at the end): expired cells
    // 482 against 85, live rows -2.2 %. Cut by the rows the writes after the cut hold, 93
    // against 85 and 0.0 %; over seeds 12 to 15, 90 to 110 against 76 to 84 (not asserted: a
    // few dozen rows, and still high) and live rows within 0.3 %.
    // With a step's writes placed at drawn first and last write times (see
    // `sessions_written_less_than_once_a_ttl`), 68 expired cells against 85 on this seed, but
    // that is one seed's noise: some 25 sessions of 5 000 are expired at a time, and the
    // reference's mean moves from 76 to 85 over seeds 11 to 14, the aggregated engine's from 68
    // to 83 (it tracks 1 024 of the 5 000 partitions: a handful hold the expired rows). Over
    // the four, 80.5 against 77.7 (3.5 %; 0.2 % with every partition tracked): within 10 %.
    // The tombstones per read p99 (3 cells in the 0.5 % of reads that hit an expired session)
    // is 0 in one engine when 0.6 in the other: not asserted.
    let s = load(
        "scenarios/sessions.toml",
        &[
            ("duration", "\"8h\""),
            ("sample_every", "\"4m\""),
            ("tables.\"app.sessions\".partitions.entities", "5000"),
            ("tables.\"app.cache\".partitions.entities", "2000"),
            ("workload[0].rate", "\"15/s\""),
            ("workload[1].rate", "\"100/s\""),
            ("workload[2].rate", "\"40/s\""),
            ("workload[3].rate", "\"100/s\""),
            ("settings.memtable_heap_space", "\"16MiB\""),
        ],
    );
    // Reads by key of rows written by INSERT stop at the newest source holding the row
    // (`stops_at_newest_row`): the memtable's for a key written since the flush. The cache's
    // zipf keys are nearly all written within minutes of a flush, so its sstables per read p50
    // is 1 only in the few samples just after one: some 7 of 60 a seed, 0.0 to 0.2 over seeds
    // 11 to 22, reference 0.111 against aggregated 0.131 over those twelve, where the mean's
    // standard error is about 0.02. It is judged within two of them (0.04), a rare-event share
    // being noise at 10 %; the sessions' p50 (1 in every sample) stays at 10 %.
    let tables = compare_seeds(&s, 12, 60);
    for c in &tables {
        let p50_floor = if c.table == "app.cache" { 0.04 } else { 0.0 };
        assert_agree(
            &c.quantities,
            &[
                ("live rows", 0.01, 0.0),
                // 140 flushes of the sessions table in the run: ±8.5 %.
                ("flushes", 0.10, 0.0),
                ("sstables", 0.10, 0.0),
                ("sstables per read p50", 0.10, p50_floor),
            ],
        );
    }
    assert_agree(
        &table(&tables, "app.sessions").quantities,
        &[("expired cells", 0.10, 0.0)],
    );
}

#[test]
fn sessions_written_less_than_once_a_ttl() {
    // The shipped sessions scenario's regime: a session is refreshed every 4 000 seconds on
    // average (500/s over 2 million partitions) and lives 30 minutes, so most partitions hold
    // no live row and the rest one. Here 5 000 partitions at 1.25/s, the same rate a partition.
    // Found: a step's n writes into a population of P rows hit P(1 - exp(-n/P)) of them, the
    // mean over a Poisson count, where n is already the tracked partition's own draw: one write
    // into a one-row partition made 0.63 of a row (-32 % live rows). They now hit
    // P(1 - (1 - 1/P)^n), their first and last a (n + 1)th of the step inside its ends.
    let s = load(
        "scenarios/sessions.toml",
        &[
            ("duration", "\"8h\""),
            ("sample_every", "\"4m\""),
            ("tables.\"app.sessions\".partitions.entities", "5000"),
            ("tables.\"app.cache\".partitions.entities", "2000"),
            ("workload[0].rate", "\"1.25/s\""),
            ("workload[1].rate", "\"100/s\""),
            ("workload[2].rate", "\"40/s\""),
            ("workload[3].rate", "\"100/s\""),
            ("settings.memtable_heap_space", "\"16MiB\""),
        ],
    );
    // Found next: one write placed at its step's middle expired a whole step's rows at once, on
    // the same side of every sample when the TTL is a step and a half (240-second steps here):
    // -5 % live rows with every partition tracked, 0.3 % at 60-second steps. The first and last
    // writes are now drawn in the step. And a point read at a random position of a one-row
    // partition saw the share of the row after that position: expired cells per read p50 0.7
    // against 3. It now reads the whole row its position falls in.
    let tables = compare_seeds(&s, 4, 60);
    let sessions = table(&tables, "app.sessions");
    assert_agree(
        &sessions.quantities,
        &[
            // Some 1 800 partitions hold a live row: a sample's count moves by ±2 %.
            ("live rows", 0.02, 0.0),
            // Rows expired within gc_grace_seconds, three cells each: 11 000 (3.7 % apart, the
            // reference's own four seeds span 1.5 %; 0.7 % since an sstable's upserts reach
            // their expiry by their last writes, `Frag::expiry_bins`).
            ("expired cells", 0.05, 0.0),
            ("sstables", 0.02, 0.0),
            // A point read sees a live row or an expired one's three cells.
            ("tombstones per read p50", 0.02, 0.0),
            ("tombstones per read p99", 0.02, 0.0),
        ],
    );
}

#[test]
fn m2m_readings_scaled_down() {
    // R1, the shipped m2m-readings scenario, with a day scaled to an hour: daily buckets, TWCS
    // windows and the 30-day TTL and 10-day gc_grace_seconds become hours; 20 and 200 partitions
    // per bucket at 10 rows/s each (one node, one replica); the reading of one type without its
    // `ts >` slice, which the reference engine does not run. 60 hours: the first buckets expire
    // and their sstables are dropped whole. Found: the sampler's one stride over the partitions
    // of every bucket aliased with the buckets, whose live rows differ by age (live rows off by
    // up to 2 %); each bucket is now sampled and scaled on its own.
    let by_equipment = "tables.\"m2m.readings_by_equipment\"";
    let by_type = "tables.\"m2m.readings_by_equipment_type\"";
    let twcs = "{ class = \"TimeWindowCompactionStrategy\", compaction_window_unit = \"HOURS\", compaction_window_size = 1 }";
    let key = |table: &str, field: &str| format!("{table}.{field}");
    let sets = [
        (
            "cluster.datacenters".to_string(),
            "[{ name = \"dc1\", nodes = 1, rf = 1 }]".to_string(),
        ),
        ("duration".into(), "\"60h\"".into()),
        ("sample_every".into(), "\"1h\"".into()),
        (
            key(by_equipment, "partitions"),
            "{ entities = 20, bucket = \"1h\" }".into(),
        ),
        (
            key(by_type, "partitions"),
            "{ entities = 200, bucket = \"1h\" }".into(),
        ),
        (key(by_equipment, "compaction"), twcs.into()),
        (key(by_type, "compaction"), twcs.into()),
        (key(by_equipment, "gc_grace_seconds"), "36000".into()),
        (key(by_type, "gc_grace_seconds"), "36000".into()),
        (
            "workload[0].cql".into(),
            "\"INSERT INTO m2m.readings_by_equipment (equipment_id, day, ts, data_type, payload) VALUES (?, ?, ?, ?, ?) USING TTL 108000\"".into(),
        ),
        (
            "workload[1].cql".into(),
            "\"INSERT INTO m2m.readings_by_equipment_type (equipment_id, data_type, day, ts, payload) VALUES (?, ?, ?, ?, ?) USING TTL 108000\"".into(),
        ),
        ("workload[0].rate".into(), "\"10/s\"".into()),
        ("workload[1].rate".into(), "\"10/s\"".into()),
        (
            "workload[3].cql".into(),
            "\"SELECT ts, payload FROM m2m.readings_by_equipment_type WHERE equipment_id = ? AND data_type = ? AND day = ? LIMIT 500\"".into(),
        ),
        ("settings.memtable_heap_space".into(), "\"8MiB\"".into()),
    ];
    let sets: Vec<(&str, &str)> = sets.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let s = load("scenarios/m2m-readings.toml", &sets);
    // From 31 h: the first bucket has expired, so every sample holds 30 hours of rows. Means
    // over 24 seeds: a `LIMIT 100` read of the bucket just ended opens no sstable while the
    // memtable holds its newest 100 rows, so each sample's sstables per read p50 and p99 are 0
    // or 1 by the phase of the flushes, and one seed's mean over 30 samples moves by up to 20 %
    // in either engine (seeds 1 to 8: p50 0.60 to 0.87). Every sample falls on a window's end,
    // where TWCS merges the window only once a flush holds the next window's rows
    // (`highestWindowSeen`): whether that flush came just before the sample or just after
    // turns a sample's count by one sstable, and the engines place it on either side (one
    // seed's p50 apart by up to 0.3 either way, 0.13 standard deviation): over 8 seeds the
    // means were 7.7 % apart, over 24 (standard error some 3.5 %) 4.8 %. Over 64 (run in
    // parallel) by_equipment's p99 stays 4.9 % apart, 0.045 ± 0.007 sstables: not noise but a
    // gap whose cause is not found yet (by_type agrees within 2 %).
    for c in compare_seeds(&s, 64, 31) {
        // Live rows: the sampler measures 128 partitions of the 6 000 by type it holds, two per
        // bucket, each a Poisson count of some 180 rows an hour: about 1 % of sampling error
        // (0.1 % with every partition measured), so 2 % there.
        let live = if c.table.ends_with("_type") {
            0.02
        } else {
            0.01
        };
        assert_agree(
            &c.quantities,
            &[
                ("live rows", live, 0.0),
                ("expired cells", 0.05, 0.0),
                // About 14 flushes an hour per table, a Poisson count over the run: ±3 %.
                ("flushes", 0.03, 0.0),
                ("sstables", 0.05, 0.0),
                ("sstables per read p50", 0.05, 0.0),
                ("sstables per read p99", 0.05, 0.0),
            ],
        );
    }
}

/// The shipped registry scenario on one node: 2 000 entities of properties and 200 files, every
/// statement at a tenth to a hundredth of its rate; the file read without its `chunk >= ?` slice.
fn registry(sets: &[(&str, &str)]) -> cassim::scenario::Scenario {
    let mut all = vec![
        (
            "cluster.datacenters",
            "[{ name = \"dc1\", nodes = 1, rf = 1 }]",
        ),
        ("duration", "\"24h\""),
        ("sample_every", "\"10m\""),
        ("tables.\"registry.entries\".partitions.entities", "2000"),
        ("tables.\"registry.files\".partitions.entities", "200"),
        ("workload[0].rate", "\"30/s\""),
        ("workload[1].rate", "\"40/s\""),
        ("workload[2].rate", "\"5/s\""),
        ("workload[3].rate", "\"0.2/s\""),
        ("workload[4].rate", "\"2/s\""),
        ("workload[5].rate", "\"0.1/s\""),
        ("workload[6].rate", "\"3/s\""),
        (
            "workload[6].cql",
            "\"SELECT chunk, data FROM registry.files WHERE path = ? LIMIT 16\"",
        ),
        // Every partition measured, so that the cases compare the engines, not a sample of
        // populations of 1 to 64 rows.
        ("calibration.stats_partitions", "4096"),
    ];
    all.extend_from_slice(sets);
    load("scenarios/registry.toml", &all)
}

#[test]
fn partition_deletes_in_a_memtable_held_for_hours() {
    // The registry's entries in a 4 GiB memtable that flushes about once a day: a partition's
    // upserts of many hours are one frag, the union of their writes, and a partition deletion
    // leaves the rows written after it. Found: pro rata by time left 20 200 live entries
    // against 38 500 (-47 %); a deletion now leaves the rows written after it
    // (`Frag::share_after`).
    // Four seeds: the partition deletions a memtable holds depend on when it last flushed; one
    // seed's count moves by ±2 % in the reference (3 527 to 3 664 over seeds 3 to 6); over four,
    // 3 566 against 3 527 (1.1 %): within 3 %. Every partition tracked, as every one is measured:
    // the case compares how the engines keep deletions in a memtable held for hours. Sampled as
    // 1 024 partitions of weight 1.95, the aggregated engine holds fewer (3 475 over these four
    // seeds with Latin hypercube counts, 3 444 over eight with the strata's owed rows, 3.3 %): a
    // gap of the sample's, not yet explained, followed in the notes.
    let s = registry(&[
        ("settings.memtable_heap_space", "\"4GiB\""),
        ("calibration.sample_partitions", "4096"),
    ]);
    let tables = compare_seeds(&s, 4, 72);
    assert_agree(
        &table(&tables, "registry.entries").quantities,
        &[
            ("live rows", 0.02, 0.0),
            ("partition tombstones", 0.03, 0.0),
        ],
    );
    // The index its upserts and deletions maintain, upserted and deleted at random members in
    // alternate frags of a memtable held for hours. Found:
    // - every step's deletions stored whole: 12 930 row tombstones against 11 320 (+12 %);
    //   repeated deletions of a row now count once (`Part::kept_shares`), 0.4 % apart;
    // - the reference engine flushed the index a day late: it ignored the full commit log,
    //   which flushes the table holding the oldest write (sstables 0.35 against 0.6; now 1.9 %);
    // - its reads counted 1.5 tombstones against 1.1 (a step's upserts and deletes ordered
    //   whole, as in `registry_scaled_down`), now 4.5 % apart (p50) and 2.3 % (p99).
    // Medians of counts of one or two: one seed's moves by up to 12 %, over four within 10 %.
    // Sstables: under one on average (a flush a day), within 5 %.
    assert_agree(
        &table(&tables, "registry.entries.entries_by_value").quantities,
        &[
            ("live rows", 0.01, 0.0),
            ("row tombstones", 0.05, 0.0),
            ("sstables", 0.05, 0.0),
            ("tombstones per read p50", 0.10, 0.0),
            ("tombstones per read p99", 0.05, 0.0),
        ],
    );
    // Found: a file's static row (`UPDATE ... SET type = ...`) is a CQL row only while the
    // partition has no live rows; the aggregated engine counted none, the reference all (200
    // apart). And its chunk upserts, a frag a step beside the static row's, were stored whole
    // step by step: flushes 1.6 times the reference's bytes (477 to 737 MB against 295 to
    // 366), which STCS bucketed otherwise (sstables 2.3 against 2.0, +13 %); a flush now
    // writes one version per row (`Part::kept_shares`): sizes within 1 %, sstables 3.2 %.
    assert_agree(
        &table(&tables, "registry.files").quantities,
        &[("live rows", 0.01, 0.0), ("sstables", 0.05, 0.0)],
    );
}

#[test]
fn registry_scaled_down() {
    // The shipped registry scenario on one node: 2 000 entities of properties and 200 files,
    // every statement at a tenth to a hundredth of its rate; the file read without its
    // `chunk >= ?` slice. Its entries' upserts and partition deletions, the legacy index table
    // they maintain and its reads, the files' chunk upserts and static rows all run in both
    // engines, sharing one memtable pool. Found:
    // - a step's partition deletions fell on the middle of its upserts, whose time is their
    //   mean, and left all of them (+4 % live rows); a deletion now leaves the share written
    //   after it;
    // - a step's writes charged a partition's memtable overhead once however many memtables
    //   the step flushed (flushes of the entries 10 to 17 % too rare);
    // - a flush held every partition written in its step, even those a real partition is
    //   written 0.3 times in (the files' reads went to every flush: sstables per read p50 +16 %),
    //   and every read saw the expected count (p50 = p99).
    let s = registry(&[("settings.memtable_heap_space", "\"16MiB\"")]);
    // - a compaction dropped a row deletion hidden by rows written after it (the index table's
    //   row tombstones stored: 450 against 11 200). A base partition's deletion deletes index
    //   entries at random members of an index partition's population, which later upserts
    //   write again; Cassandra's row merge keeps a regular row deletion beside the newer data
    //   until it is purged (only a materialized view's shadowable deletion goes). Compactions
    //   now keep that share as covered row deletions, stored but not counted by reads (11 230).
    // - a compaction kept or dropped upserts straddling a partition deletion whole by their
    //   middle time, and what it kept still reached back before the deletion, so every later
    //   merge and read took the deletion's share off again; and a split by time (a flush within
    //   a step, the copies a compaction takes) divided upserts pro rata, where the writes of a
    //   share s of their span hold 1 - (1 - r)^s of a population they fill to r. With every
    //   partition measured, the entries were 4.8 to 5.9 % low on seeds 1 to 3 (1.1 % at
    //   60-second engine steps); both fixed, 0.1 % over this case's four seeds.
    // - the index table's tombstones per read p50 was 1.6 against 1.2 and p99 4.2 against 4.6:
    //   a tracked partition held the expected count of random deletes where a real one holds a
    //   random count, so every read of it counted the mean (rounded). A read now draws the
    //   count: a binomial over the rows the deletes wrote, each still visible with the share the
    //   merge left (`Tally::spread`). With the writes' first and last times drawn (the sessions
    //   case), 5.7 % and 8.6 % apart (p99 4.2 against 4.6).
    // - then the mean per read (seed 3) was 1.55 against 1.45 at 600-second steps, exact at 60:
    //   a step's upserts and deletes were ordered whole by their middle times (`Concurrent`
    //   in `view.rs` now weighs when each wrote a row); and the count's variance was 0.77 of
    //   the reference's: a compaction kept the expected survivors of random deletes as certain
    //   (`Frag::kept` now carries the share it kept, and reads draw the binomial). Seed 3 now:
    //   mean 1.46 against 1.49, variance 1.46 against 1.44; over four seeds p50 2.1 % and p99
    //   2.6 % apart.
    // Four seeds: one seed's STCS cycle moves the files' mean sstable count by ±4 % in the
    // reference (6.5 to 7.1 over seeds 1 to 7, the aggregated engine 6.6 to 6.8); over four, the
    // files hold 7.0 against 6.7 (4.3 %).
    let tables = compare_seeds(&s, 4, 72);
    // Live rows within 2 %: upserts into populations of 1 to 64 rows, so the live rows are the
    // share of each population written since its partition's last deletion, sums of small
    // counts. Flushes within 5 %: 25 an hour for the two small tables, a Poisson count over
    // 12 hours (±4 %). Sstables per read p50 of the files within 10 %: a median of whole
    // sstables between 5 and 7 moves by a whole one.
    let common = [
        ("live rows", 0.02, 0.0),
        ("flushes", 0.05, 0.0),
        ("sstables", 0.05, 0.0),
        ("sstables per read p99", 0.05, 0.0),
    ];
    let mut entries = common.to_vec();
    entries.extend([
        ("partition tombstones", 0.02, 0.0),
        ("sstables per read p50", 0.05, 0.0),
    ]);
    assert_agree(&table(&tables, "registry.entries").quantities, &entries);
    let mut index = common.to_vec();
    index.extend([
        // Some 11 000 stored, sums over thousands of small populations: within 5 %.
        ("row tombstones", 0.05, 0.0),
        ("sstables per read p50", 0.05, 0.0),
        // Medians and 99th percentiles of counts of one to five per read, each sample's a
        // whole count: one seed's mean p50 moves by up to 10 % (1.1 against 1.2 on seed 5),
        // over four within 5 %.
        ("tombstones per read p50", 0.05, 0.0),
        ("tombstones per read p99", 0.05, 0.0),
    ]);
    assert_agree(
        &table(&tables, "registry.entries.entries_by_value").quantities,
        &index,
    );
    let mut files = common.to_vec();
    files.push(("sstables per read p50", 0.10, 0.0));
    assert_agree(&table(&tables, "registry.files").quantities, &files);
}

/// The TTL series without TTL, its appends over zipf(1.2) keys: the hottest partition takes a
/// quarter of the rows.
fn skewed_appends(sets: &[(&str, &str)]) -> cassim::scenario::Scenario {
    let mut all = vec![
        ("duration", "\"4h\""),
        ("sample_every", "\"5m\""),
        ("tables.\"ks.events\".default_time_to_live", "0"),
        ("workload[0].rate", "\"100/s\""),
        ("workload[0].keys", "\"zipf(1.2)\""),
        ("settings.memtable_heap_space", "\"16MiB\""),
    ];
    all.extend_from_slice(sets);
    load("tests/data/scenarios/ttl-series.toml", &all)
}

#[test]
fn appends_over_skewed_keys() {
    // Found a sampling bias: the sampler measured every k-th partition and scaled, counting the
    // hottest partition k times (+19 % live rows).
    let rows = compare(&skewed_appends(&[]), 12);
    assert_agree(
        &rows,
        &[
            ("live rows", 0.01, 0.0),
            ("flushes", 0.02, 0.0),
            ("sstables", 0.05, 0.0),
            ("sstables per read p50", 0.05, 0.0),
        ],
    );
}

#[test]
fn lcs_with_a_wide_partition() {
    // 1 MiB sstables, so the levels fill within hours; the hottest partition (about 40 MiB) is
    // wider than an sstable. Sstables: a partition is never split, so it makes an sstable of its
    // own (the aggregated engine counted a level as bytes / sstable_size: +30 % before the fix).
    // The remaining gap (10 %) is the part-filled last sstable of each compaction's output, which
    // the aggregated engine packs as one run per level: 15 %.
    let s = skewed_appends(&[(
        "tables.\"ks.events\".compaction",
        "{ class = \"LeveledCompactionStrategy\", sstable_size_in_mb = 1 }",
    )]);
    let rows = compare(&s, 12);
    assert_agree(
        &rows,
        &[
            ("live rows", 0.01, 0.0),
            ("flushes", 0.02, 0.0),
            ("sstables", 0.15, 0.0),
            ("sstables per read p50", 0.05, 0.0),
            ("sstables per read p99", 0.05, 0.0),
        ],
    );
}

#[test]
fn the_reference_engine_refuses_what_it_cannot_run_and_says_why() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scenarios/ttl-series.toml");
    let throttled =
        cassim::scenario::Scenario::load(&path, &BTreeMap::new(), &[]).expect("scenario");
    let e = cassim::reference::supported(&throttled).unwrap_err();
    assert!(e.contains("compaction_throughput"), "{e}");
    let big = load(
        "tests/data/scenarios/ttl-series.toml",
        &[("workload[0].rate", "\"5000000/s\"")],
    );
    let e = cassim::reference::supported(&big).unwrap_err();
    assert!(e.contains("too large") && e.contains("GiB"), "{e}");
}
