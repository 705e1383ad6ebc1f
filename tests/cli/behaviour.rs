//! Behaviour tests: the simulator reproduces known Cassandra behaviour (issue 3, item 8), each test
//! named after the behaviour it shows, on the shipped queue scenario and small scenarios in
//! `tests/data/scenarios/`.

use super::util::{run_scenario, RunOutput};

const QUEUE: &str = "scenarios/queue.toml";
const TTL: &str = super::util::TTL_SERIES;
const UPSERTS: &str = "tests/data/scenarios/upserts.toml";
const QUEUE_TABLE: &str = "m2m.commands";
const NULLS: &str = "validation/scenarios/collections-nulls.toml";
const SESSIONS: &str = "validation/scenarios/sessions-expiring.toml";
const BURST: &str = "validation/scenarios/heap-burst.toml";
const TWCS_BUCKETS: &str = "tests/data/scenarios/twcs-buckets.toml";

/// The value of `column` at the sample nearest `t_s`.
fn at(out: &RunOutput, table: &str, column: &str, t_s: f64) -> f64 {
    out.column(table, column)
        .into_iter()
        .min_by(|a, b| (a.0 - t_s).abs().total_cmp(&(b.0 - t_s).abs()))
        .map(|p| p.1)
        .unwrap()
}

fn last(out: &RunOutput, table: &str, column: &str) -> f64 {
    out.column(table, column).last().unwrap().1
}

#[test]
fn queue_head_reads_count_tombstones_until_gc_grace_then_compaction_purges_them() {
    // 2 rows/s per partition consumed 30 s later; gc_grace_seconds 6 h; LCS compacts every flush
    // with the rest of the data, so nothing outside a compaction holds older data.
    let out = run_scenario(
        QUEUE,
        &[
            "duration=2d",
            "tables.\"m2m.commands\".gc_grace_seconds=21600",
            "tables.\"m2m.commands\".compaction={class=\"LeveledCompactionStrategy\"}",
            "settings.tombstone_failure_threshold=100000000",
        ],
    );
    let counted = |t: f64| at(&out, QUEUE_TABLE, "tombstones_per_read_p50", t);
    let scanned = |t: f64| at(&out, QUEUE_TABLE, "cells_scanned_per_read_p50", t);
    // Growing while younger than gc_grace: about 2 per second of age.
    assert!(counted(2.0 * 3600.0) < counted(5.0 * 3600.0));
    assert!((counted(5.0 * 3600.0) / (2.0 * 5.0 * 3600.0) - 1.0).abs() < 0.1);
    // Past gc_grace the read drops the older ones before counting: the count holds at 6 h of
    // deletes, far below the 2 days written.
    let plateau = 2.0 * 21_600.0;
    for t in [12.0, 24.0, 47.0] {
        let c = counted(t * 3600.0);
        assert!((c / plateau - 1.0).abs() < 0.1, "at {t} h: {c}");
    }
    // Compaction purges what gc_grace allows: the head scan stays near the counted tombstones.
    assert!(
        scanned(47.0 * 3600.0) < 1.3 * plateau,
        "{}",
        scanned(47.0 * 3600.0)
    );
    assert!(last(&out, QUEUE_TABLE, "tombstones_row") < 1.5 * plateau * 1000.0);
}

#[test]
fn stcs_keeps_queue_tombstones_while_older_data_sits_in_other_sstables() {
    // The same queue under STCS: tombstones past gc_grace stay on disk because sstables outside
    // each compaction hold older data for the same partitions (CASSANDRA.md 6.3, 9.2).
    let out = run_scenario(
        QUEUE,
        &[
            "duration=2d",
            "tables.\"m2m.commands\".gc_grace_seconds=21600",
            "settings.tombstone_failure_threshold=100000000",
        ],
    );
    let scanned_end = last(&out, QUEUE_TABLE, "cells_scanned_per_read_p50");
    let counted_end = last(&out, QUEUE_TABLE, "tombstones_per_read_p50");
    assert!(
        scanned_end > 2.0 * counted_end,
        "scanned {scanned_end} counted {counted_end}"
    );
}

#[test]
fn gc_grace_seconds_zero_against_ten_days() {
    let zero = run_scenario(
        QUEUE,
        &["duration=1d", "tables.\"m2m.commands\".gc_grace_seconds=0"],
    );
    let ten_days = run_scenario(QUEUE, &["duration=1d"]);
    let t = |o: &RunOutput, k: &str| o.table(QUEUE_TABLE, k);
    // With 0 every tombstone is purgeable at once: reads count none and nothing warns.
    assert!(t(&zero, "/tombstones_per_read/max") < 10.0);
    assert_eq!(t(&zero, "/warned_reads"), 0.0);
    // With 10 days a day of deletes is counted: over tombstone_failure_threshold (100 000) within
    // the day (2 per second per partition: 100 000 in under 14 h).
    assert_eq!(t(&ten_days, "/tombstones_per_read/max"), 100_001.0);
    let first = ten_days.summary["tables"][QUEUE_TABLE]["first_failure_s"]
        .as_f64()
        .unwrap();
    assert!(first > 12.0 * 3600.0 && first <= 15.0 * 3600.0, "{first}");
    assert!(t(&ten_days, "/failed_reads") > 0.0);
}

#[test]
fn deleting_and_creating_many_columns_at_once_hurts_reads() {
    // FIELD-REPORT.md item 5 on queue.toml as shipped: the findings say so in Cassandra's words.
    let out = run_scenario(QUEUE, &["duration=1d"]);
    let codes: Vec<&str> = out.summary["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"tombstone_warn_threshold"), "{codes:?}");
    assert!(codes.contains(&"tombstone_failure_threshold"), "{codes:?}");
    let warn_at = out.table(QUEUE_TABLE, "/first_warning_s");
    assert!(
        warn_at <= 3600.0,
        "the warning comes within the first hour: {warn_at}"
    );
    assert!(
        out.stdout.contains("TombstoneOverwhelmingException"),
        "{}",
        out.stdout
    );
}

#[test]
fn twcs_with_ttl_keeps_disk_flat_and_drops_whole_expired_sstables_while_stcs_keeps_more() {
    let twcs = run_scenario(TTL, &[]);
    let stcs = run_scenario(
        TTL,
        &["tables.\"ks.events\".compaction={class=\"SizeTieredCompactionStrategy\"}"],
    );
    let disk = |o: &RunOutput, t: f64| at(o, "ks.events", "disk_bytes", t);
    // Data lives TTL (2 h) + gc_grace (1 h) + a window: disk flat from then on.
    let (day1, day2) = (disk(&twcs, 24.0 * 3600.0), disk(&twcs, 47.0 * 3600.0));
    assert!((day2 / day1 - 1.0).abs() < 0.2, "TWCS {day1} then {day2}");
    let dropped: f64 = twcs
        .column("ks.events", "expired_sstables_dropped")
        .iter()
        .map(|p| p.1)
        .sum();
    assert!(
        dropped >= 24.0,
        "about one window an hour dropped whole: {dropped}"
    );
    assert!(
        disk(&stcs, 47.0 * 3600.0) > 1.5 * day2,
        "STCS {} TWCS {day2}",
        disk(&stcs, 47.0 * 3600.0)
    );
    assert!(
        stcs.table("ks.events", "/tombstones/expired")
            > 3.0 * twcs.table("ks.events", "/tombstones/expired")
    );
}

#[test]
fn an_expired_twcs_sstable_blocked_by_an_overlapping_older_one_stays() {
    // One write a second without TTL among 500 with: every window holds data that never expires,
    // so each newer expired window overlaps an older sstable and cannot be dropped
    // (CASSANDRA.md 5.4 condition 2).
    let blocked = run_scenario(TTL, &["workload[2].rate=1/s"]);
    let clean = run_scenario(TTL, &[]);
    let dropped: f64 = blocked
        .column("ks.events", "expired_sstables_dropped")
        .iter()
        .map(|p| p.1)
        .sum();
    assert_eq!(dropped, 0.0);
    let (b, c) = (
        last(&blocked, "ks.events", "disk_bytes"),
        last(&clean, "ks.events", "disk_bytes"),
    );
    assert!(b > 5.0 * c, "blocked {b} clean {c}");
    let mid = at(&blocked, "ks.events", "disk_bytes", 24.0 * 3600.0);
    assert!(
        b > 1.6 * mid,
        "disk keeps growing when drops are blocked: {mid} then {b}"
    );
}

#[test]
fn lcs_bounds_sstables_per_read_by_its_level_count() {
    // 24 GiB a day per node: L1 (1.6 GB), L2 (16 GB) and L3 fill; a partition is in at most one
    // sstable per level from L1 up, plus the L0 sstables not yet compacted. Reads of the whole
    // partition: a LIMIT read of time-ordered rows opens only the sstables its rows lie in
    // (`UnfilteredRowIteratorWithLowerBound`), whatever the strategy.
    let sets = |strategy: &str| {
        vec![
            "duration=1d".to_string(),
            "workload[1].cql=\"SELECT * FROM ks.events WHERE id = ?\"".to_string(),
            "workload[0].rate=5000/s".to_string(),
            "tables.\"ks.events\".partitions.entities=20000".to_string(),
            "tables.\"ks.events\".default_time_to_live=0".to_string(),
            format!("tables.\"ks.events\".compaction={{class=\"{strategy}\"}}"),
        ]
    };
    let run = |strategy: &str| {
        let s = sets(strategy);
        let refs: Vec<&str> = s.iter().map(String::as_str).collect();
        run_scenario(TTL, &refs)
    };
    let lcs = run("LeveledCompactionStrategy");
    let stcs = run("SizeTieredCompactionStrategy");
    let worst = |o: &RunOutput| {
        o.column("ks.events", "sstables_per_read_max")
            .iter()
            .map(|p| p.1)
            .fold(0.0, f64::max)
    };
    // Sstables in the thousands of 160 MB pieces, yet a read touches a level each.
    assert!(last(&lcs, "ks.events", "sstables") > 100.0);
    assert!(worst(&lcs) <= 4.0, "LCS {}", worst(&lcs));
    assert!(
        worst(&stcs) > worst(&lcs),
        "STCS {} LCS {}",
        worst(&stcs),
        worst(&lcs)
    );
}

#[test]
fn a_limit_read_of_time_ordered_rows_opens_only_the_sstables_its_rows_lie_in() {
    // STCS throttled far behind flushes every 10 s: a partition's rows (0.25 a second) lie in
    // dozens to hundreds of sstables. The merge opens an sstable only when it reaches the
    // sstable's first clustering (`UnfilteredRowIteratorWithLowerBound`): the newest 10 rows,
    // some 40 s of the partition's writes, come from the memtable and the four or five newest
    // sstables, whatever the backlog, while reads of the whole partition (3 600 rows, one page)
    // open them all. The real node agrees (reports/validation/twcs-ttl, wide-partitions).
    let run = |read: &str| {
        let read = format!("workload[1].cql=\"{read}\"");
        run_scenario(
            TTL,
            &[
                "duration=4h",
                "workload[0].rate=5000/s",
                "tables.\"ks.events\".partitions.entities=20000",
                "tables.\"ks.events\".default_time_to_live=0",
                "tables.\"ks.events\".compaction={class=\"SizeTieredCompactionStrategy\"}",
                "settings.compaction_throughput=\"512KiB/s\"",
                &read,
            ],
        )
    };
    let limited = run("SELECT * FROM ks.events WHERE id = ? ORDER BY ts DESC LIMIT 10");
    let whole = run("SELECT * FROM ks.events WHERE id = ?");
    let p99 = |o: &RunOutput| o.column("ks.events", "sstables_per_read_p99");
    let sstables = whole.column("ks.events", "sstables");
    for ((t, w), (_, n)) in p99(&whole).iter().zip(&sstables) {
        assert!(
            *w >= 0.9 * n,
            "at {t} s whole partitions read {w} of {n} sstables"
        );
    }
    assert!(sstables.iter().any(|p| p.1 > 100.0), "{sstables:?}");
    for (t, l) in p99(&limited) {
        assert!(
            (2.0..=8.0).contains(&l),
            "at {t} s the newest 10 rows read {l} sstables"
        );
    }
}

#[test]
fn stcs_sstable_count_grows_about_logarithmically_with_data() {
    let out = run_scenario(
        TTL,
        &[
            "duration=4d",
            "tables.\"ks.events\".compaction={class=\"SizeTieredCompactionStrategy\"}",
            "tables.\"ks.events\".default_time_to_live=0",
        ],
    );
    let sstables = |t: f64| at(&out, "ks.events", "sstables", t);
    let disk = |t: f64| at(&out, "ks.events", "disk_bytes", t);
    // Data grows 8× from 12 h to 4 days; tiers of 4 add about log4(8) = 1.5 levels of sstables,
    // each level holding fewer than min_threshold.
    let (s0, s1) = (sstables(12.0 * 3600.0), sstables(95.0 * 3600.0));
    assert!(disk(95.0 * 3600.0) > 6.0 * disk(12.0 * 3600.0));
    assert!(s1 <= s0 + 8.0, "{s0} then {s1} sstables");
}

#[test]
fn null_inserts_and_collection_overwrites_create_tombstones() {
    let out = run_scenario(UPSERTS, &["duration=6h"]);
    // Half the inserts bind a null name: a cell tombstone each. Every tags overwrite deletes the
    // old list first: a range (complex) deletion each.
    assert!(out.table("ks.profiles", "/tombstones/cell") > 0.0);
    assert!(out.table("ks.profiles", "/tombstones/range") > 0.0);
    let none = run_scenario(
        UPSERTS,
        &[
            "duration=6h",
            "workload[0].nulls={}",
            "workload[1].rate=0/s",
        ],
    );
    assert_eq!(none.table("ks.profiles", "/tombstones/cell"), 0.0);
    assert_eq!(none.table("ks.profiles", "/tombstones/range"), 0.0);
}

#[test]
fn a_column_bound_null_in_a_third_of_the_writes_is_a_tombstone_in_a_third_of_the_reads() {
    // Point reads of one-row profiles, the nickname bound null in a third of the updates: the
    // row read holds its last write's nickname, a tombstone or not, so a read counts 0 or 1
    // (the real node: p50 0, p99 1), never the share.
    let out = run_scenario(NULLS, &[]);
    let t = "cassim_v.profiles";
    assert_eq!(out.table(t, "/tombstones_per_read/p50"), 0.0);
    assert_eq!(out.table(t, "/tombstones_per_read/p99"), 1.0);
    let always = run_scenario(NULLS, &["workload[0].nulls={nickname=1.0}"]);
    assert_eq!(always.table(t, "/tombstones_per_read/p50"), 1.0);
}

#[test]
fn an_expired_row_counts_one_tombstone_for_its_liveness_from_4_1_one_per_cell_before() {
    // Sessions of two cells, TTL 60 s, gc_grace_seconds 30 s. From 4.1 the purge that rewrites
    // an expired cell as a tombstone dated from its write drops it in the same pass, and the
    // write is older than gc_grace: the cells are never counted; the INSERT's liveness stays
    // until expiry + gc_grace, one tombstone (the real node: p99 1). 4.0 counts the two cells.
    // (The maximum: a few reads in a hundred hit a session expired less than gc_grace ago.)
    let t = "cassim_v.sessions";
    let v5 = run_scenario(SESSIONS, &[]);
    assert_eq!(v5.table(t, "/tombstones_per_read/max"), 1.0);
    let v4 = run_scenario(SESSIONS, &["cluster.cassandra_version=\"4.0\""]);
    assert_eq!(v4.table(t, "/tombstones_per_read/max"), 2.0);
    // An UPDATE writes no liveness: from 4.1 its expired row leaves nothing a read counts.
    let update =
        "UPDATE cassim_v.sessions USING TTL 60 SET user_id = ?, data = ? WHERE session_id = ?";
    let v5_update = run_scenario(SESSIONS, &[&format!("workload[0].cql=\"{update}\"")]);
    assert_eq!(v5_update.table(t, "/tombstones_per_read/max"), 0.0);
}

#[test]
fn a_point_read_of_inserted_rows_stops_at_the_newest_sstable_holding_the_row() {
    // Sessions written by INSERT and read by key: Cassandra reads by names, newest source
    // first, and stops at the first row with a liveness and every queried cell (the real node:
    // 1 sstable per read, p99 and max, with up to 3 sstables on disk).
    let t = "cassim_v.sessions";
    let most = |out: &RunOutput, column: &str| {
        out.column(t, column)
            .iter()
            .map(|p| p.1)
            .fold(0.0, f64::max)
    };
    let insert = run_scenario(SESSIONS, &[]);
    assert!(most(&insert, "sstables") >= 3.0);
    assert_eq!(most(&insert, "sstables_per_read_max"), 1.0);
    // Written by UPDATE the row has no liveness: the read goes on to every sstable holding it.
    let update =
        "UPDATE cassim_v.sessions USING TTL 60 SET user_id = ?, data = ? WHERE session_id = ?";
    let merged = run_scenario(SESSIONS, &[&format!("workload[0].cql=\"{update}\"")]);
    assert!(most(&merged, "sstables_per_read_max") >= 3.0);
}

#[test]
fn expired_cells_count_on_reads_until_purgeable() {
    // Reads from the oldest row pass the expired ones: rows written 2 h (TTL) to 3 h (TTL +
    // gc_grace) ago are counted (their cells already purgeable, 4.1 measuring gc_grace from the
    // write, their liveness not), older ones are purgeable and dropped before counting.
    let out = run_scenario(TTL, &["duration=12h"]);
    let per_partition_per_s = 500.0 / 200.0;
    let expected = per_partition_per_s * 3600.0;
    let c = last(&out, "ks.events", "tombstones_per_read_p50");
    assert!((c / expected - 1.0).abs() < 0.15, "{c} vs {expected}");
    // Before the TTL nothing has expired.
    assert_eq!(
        at(&out, "ks.events", "tombstones_per_read_max", 3600.0),
        0.0
    );
    // With gc_grace_seconds 0 an expired cell is purgeable as soon as it expires: none counted.
    let zero = run_scenario(
        TTL,
        &["duration=12h", "tables.\"ks.events\".gc_grace_seconds=0"],
    );
    assert!(last(&zero, "ks.events", "tombstones_per_read_max") < 10.0);
}

#[test]
fn ucs_tiers_flushes_into_sharded_sstables_with_5_0_defaults() {
    let out = run_scenario(
        TTL,
        &[
            "duration=1d",
            "cluster.cassandra_version=\"5.0\"",
            "workload[0].rate=5000/s",
            "tables.\"ks.events\".partitions.entities=20000",
            "tables.\"ks.events\".default_time_to_live=0",
            "tables.\"ks.events\".compaction={class=\"UnifiedCompactionStrategy\"}",
        ],
    );
    // T4: a level compacts once it holds 4 overlapping sstables; outputs are split into shards
    // (base_shard_count 4, target 1 GiB), so there are more sstables than a read touches.
    let worst = out
        .column("ks.events", "sstables_per_read_max")
        .iter()
        .map(|p| p.1)
        .fold(0.0, f64::max);
    let sstables = last(&out, "ks.events", "sstables");
    assert!(worst <= 12.0, "{worst}");
    assert!(sstables > worst, "{sstables} sstables, {worst} per read");
    assert!(out.table("ks.events", "/compactions") > 0.0);
}

/// Two tables, one busy and one quiet, for the flush triggers.
const TWO_TABLES: &str = r#"
name = "flush-triggers"
duration = "1d"
sample_every = "1h"
[cluster]
cassandra_version = "4.1"
datacenters = [{ name = "dc1", nodes = 3, rf = 3 }]
[node]
ram = "32GiB"
heap = "8GiB"
disk = { kind = "ssd", size = "1TiB" }
[schema]
cql = """
CREATE TABLE ks.busy (id int, ts timestamp, v text, PRIMARY KEY (id, ts));
CREATE TABLE ks.quiet (id int, ts timestamp, v text, PRIMARY KEY (id, ts));
"""
[tables."ks.busy"]
partitions = { entities = 1000 }
[tables."ks.busy".columns]
v = "fixed(200B)"
[tables."ks.quiet"]
partitions = { entities = 10 }
[[workload]]
cql = "INSERT INTO ks.busy (id, ts, v) VALUES (?, ?, ?)"
rate = "5000/s"
[[workload]]
cql = "INSERT INTO ks.quiet (id, ts, v) VALUES (?, ?, ?)"
rate = "1/s"
"#;

fn flushes(out: &RunOutput, table: &str) -> f64 {
    out.table(table, "/flushes")
}

#[test]
fn memtables_flush_the_largest_at_the_cleanup_threshold_and_quiet_ones_when_the_commit_log_fills() {
    let dir = tempfile::tempdir().unwrap();
    let path = super::util::temp_file(&dir, "two.toml", TWO_TABLES);
    let path = path.to_str().unwrap();
    // The quiet table's few rows never reach the cleanup threshold (memtable_heap_space × 1/3 =
    // 683 MiB); the busy one flushes every few minutes.
    let roomy = run_scenario(path, &["settings.commitlog_total_space=8GiB"]);
    assert!(
        flushes(&roomy, "ks.busy") > 50.0,
        "{}",
        flushes(&roomy, "ks.busy")
    );
    // But the commit log holds everything written since the quiet table's oldest unflushed row:
    // at about 1.3 MB/s of mutations, 8 GiB fill in about 2 h, and the quiet table is flushed
    // to free the segments (CASSANDRA.md 8.2 item 3): about 12 small flushes a day.
    let quiet = flushes(&roomy, "ks.quiet");
    assert!((8.0..=16.0).contains(&quiet), "{quiet}");
    // A 32 times smaller commit log flushes it about 32 times as often.
    let tight = run_scenario(path, &["settings.commitlog_total_space=256MiB"]);
    let ratio = flushes(&tight, "ks.quiet") / quiet;
    assert!((20.0..=40.0).contains(&ratio), "{ratio}");
    // memtable_flush_period_in_ms flushes on a clock: every 10 minutes here.
    let periodic = run_scenario(
        path,
        &["tables.\"ks.quiet\".memtable_flush_period_in_ms=600000"],
    );
    let n = flushes(&periodic, "ks.quiet");
    assert!((n - 144.0).abs() <= 2.0, "{n}");
}

#[test]
fn a_flush_late_in_a_step_is_compacted_only_once_it_is_on_disk() {
    // heap-burst's fourth flush comes some two seconds before the end, and its four-way STCS
    // compaction of 132 MB at 64 MiB/s needs two more: the real node ended with 4 sstables.
    // Compacting from the step's start with the whole step's budget left 1.
    let t = "cassim_v.feed";
    let out = run_scenario(BURST, &[]);
    assert_eq!(last(&out, t, "sstables"), 4.0);
    // Unthrottled, compaction keeps up with each flush as it lands.
    let fast = run_scenario(BURST, &["settings.compaction_throughput=\"0MiB/s\""]);
    assert_eq!(last(&fast, t, "sstables"), 1.0);
}

#[test]
fn twcs_runs_no_single_sstable_tombstone_compaction_unless_its_options_ask_for_one() {
    // Hourly buckets and windows, rows with a 2 h TTL and one a second without: no window ever
    // expires whole. TWCS disables the tombstone compaction unless the table's options name
    // tombstone_threshold or tombstone_compaction_interval (`TimeWindowCompactionStrategy`'s
    // constructor; CASSANDRA.md 5.4), whatever unchecked_tombstone_compaction says: the expired
    // rows stay until their windows go. Naming the threshold turns it on, and each window's
    // sstable, a day old, is compacted alone and sheds them.
    let twcs = "tables.\"ks.readings\".compaction={class=\"TimeWindowCompactionStrategy\", \
                compaction_window_unit=\"HOURS\", compaction_window_size=1, \
                unchecked_tombstone_compaction=\"true\"";
    let off = run_scenario(TWCS_BUCKETS, &[&format!("{twcs}}}")]);
    let on = run_scenario(
        TWCS_BUCKETS,
        &[&format!("{twcs}, tombstone_threshold=0.2}}")],
    );
    let disk = |o: &RunOutput, t: f64| at(o, "ks.readings", "disk_bytes", t);
    let (day, end) = (24.0 * 3600.0, 72.0 * 3600.0);
    // Off: every row written is still on disk, three days of them against one.
    assert!(
        disk(&off, end) > 2.7 * disk(&off, day),
        "{} {}",
        disk(&off, day),
        disk(&off, end)
    );
    // On: from the second day each day-old window is rewritten without its expired rows.
    assert!(
        disk(&off, end) > 2.5 * disk(&on, end),
        "off {} on {}",
        disk(&off, end),
        disk(&on, end)
    );
    let expired = |o: &RunOutput| o.table("ks.readings", "/tombstones/expired");
    assert!(expired(&off) > 2.5 * expired(&on));
}
