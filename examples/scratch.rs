use std::collections::BTreeMap;
fn main() {
    let vars: BTreeMap<String,String> = [("keyspace","jaeger"),("replication","{'class': 'SimpleStrategy', 'replication_factor': '1'}"),("trace_ttl","172800"),("dependencies_ttl","0"),("compaction_window_size","1"),("compaction_window_unit","HOURS"),("replicationFactor","1"),("KEYSPACE","newts"),("REPLICATION_FACTOR","1")].iter().map(|(a,b)|(a.to_string(),b.to_string())).collect();
    for f in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&f).unwrap();
        match cassim::schema::Schema::from_cql(&f, &text, &vars, None) {
            Ok(s) => println!("OK {f}: {} tables, {} dml, {} notes", s.tables.len(), s.dml.len(), s.notes.len()),
            Err(e) => println!("ERR {e}"),
        }
    }
}
