use cassim::scenario::Scenario;
fn main() {
    let sets: Vec<(String, String)> = vec![
        ("duration", "1d"),
        ("workload[0].rate", "5000/s"),
        ("tables.\"ks.events\".default_time_to_live", "0"),
        (
            "tables.\"ks.events\".compaction",
            "{class=\"LeveledCompactionStrategy\"}",
        ),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let s = Scenario::load(
        std::path::Path::new("tests/data/scenarios/ttl-series.toml"),
        &Default::default(),
        &sets,
    )
    .unwrap();
    let shares = cassim::cluster::nodes(&s);
    let mut node = cassim::engine::build_node(&s, &shares[0], 1, 0);
    let mut t = 0.0;
    while t < 86400.0 {
        node.step(t, t + 600.0);
        t += 600.0;
    }
    let tb = &node.tables[0];
    for st in &tb.sstables {
        println!(
            "id {} level {} copies {} parts {} bytes {:.2}GB compacting {} disjoint {}",
            st.id,
            st.level,
            st.copies,
            st.parts.len(),
            st.stats.bytes / 1e9,
            st.compacting,
            st.disjoint
        );
    }
}
