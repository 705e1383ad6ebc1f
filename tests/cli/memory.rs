//! Memory outside the heap (issue 5, item 5, CASSANDRA.md 4.1, 8.5): bloom filters per sstable
//! key, index summaries, compression offsets, the fixed caches, and the page cache RAM leaves.

use super::util::{run_scenario, RunOutput, TTL_SERIES as TTL};

fn node(out: &RunOutput, pointer: &str) -> f64 {
    out.number(&format!("/nodes/0{pointer}"))
}

#[test]
fn overlapping_sstables_multiply_bloom_filter_memory_and_the_page_cache_is_what_ram_leaves() {
    let base = [
        "duration=12h",
        "workload[0].rate=5000/s",
        "tables.\"ks.events\".partitions.entities=20000",
        "tables.\"ks.events\".default_time_to_live=0",
        "tables.\"ks.events\".compaction={class=\"SizeTieredCompactionStrategy\"}",
    ];
    let keeping_up = run_scenario(TTL, &base);
    let mut slow = base.to_vec();
    slow.push("settings.compaction_throughput=\"1MiB/s\"");
    let behind = run_scenario(TTL, &slow);
    // Every partition is in every sstable here: bloom memory follows the sstables holding it.
    let (a, b) = (
        node(&keeping_up, "/offheap_bytes/bloom_filter"),
        node(&behind, "/offheap_bytes/bloom_filter"),
    );
    assert!(b > 2.0 * a, "bloom filters {a} then {b} bytes");
    // 10 bits per key at fp 0.01: about 20 000 keys per sstable holding them all.
    assert!(a >= 20_000.0 * 10.0 / 8.0, "{a}");
    // chunk cache min(heap/4, 512 MiB) and networking cache min(heap/16, 128 MiB) for 8 GiB.
    assert_eq!(
        node(&keeping_up, "/offheap_bytes/chunk_cache"),
        512.0 * 1024.0 * 1024.0
    );
    assert_eq!(
        node(&keeping_up, "/offheap_bytes/networking_cache"),
        128.0 * 1024.0 * 1024.0
    );
    // Page cache = RAM − heap − the OS reserve − every off-heap structure.
    let gib = 1024.0 * 1024.0 * 1024.0;
    let offheap: f64 = [
        "bloom_filter",
        "index_summary",
        "compression_metadata",
        "memtable",
        "chunk_cache",
        "networking_cache",
    ]
    .iter()
    .map(|k| node(&keeping_up, &format!("/offheap_bytes/{k}")))
    .sum();
    let page_cache = node(&keeping_up, "/page_cache_bytes");
    assert!(
        (page_cache - (32.0 * gib - 8.0 * gib - gib - offheap)).abs() < 1e4,
        "{page_cache}"
    );
    // A bigger heap leaves less page cache.
    let big_heap = run_scenario(TTL, &["duration=1h", "node.heap=\"16GiB\""]);
    let small_heap = run_scenario(TTL, &["duration=1h", "node.heap=\"4GiB\""]);
    assert!(
        node(&big_heap, "/page_cache_bytes") < node(&small_heap, "/page_cache_bytes") - 11.0 * gib
    );
}

#[test]
fn the_live_set_holds_memtables_below_their_space_and_tombstone_scans_in_flight() {
    let out = run_scenario("scenarios/queue.toml", &["duration=1d"]);
    let mib = 1024.0 * 1024.0;
    // memtable_heap_space = heap/4 = 2 GiB; flushes start at a third of it.
    let memtables = node(&out, "/peak_live_set/memtables");
    assert!(memtables > 0.0 && memtables <= 2048.0 * mib, "{memtables}");
    // Head reads scanning up to 100 000 tombstones fill every read thread with cells: about
    // 32 × 100 001 × 96 B ≈ 293 MiB (CASSANDRA.md 8.4, 8.5).
    let reads = node(&out, "/peak_live_set/reads");
    assert!(
        reads > 200.0 * mib && reads < 400.0 * mib,
        "{}",
        reads / mib
    );
    let total = node(&out, "/peak_live_bytes");
    let parts: f64 = [
        "baseline",
        "memtables",
        "key_cache",
        "counter_cache",
        "reads",
        "writes",
        "compaction",
        "sstables",
    ]
    .iter()
    .map(|k| node(&out, &format!("/peak_live_set/{k}")))
    .sum();
    assert!((total - parts).abs() < 16.0, "{total} vs {parts}");
    assert!(out
        .timeseries_text
        .lines()
        .next()
        .unwrap()
        .contains("heap_live_bytes"));
}
