//! The malformed-input suite (issue 24): hostile or mistaken input as a new user writes it. Every
//! case must exit 2 with an error that names where (the field path, or file:line:col) and what;
//! none may panic, hang, or pass. Scenario cases edit one small valid scenario; the others give
//! CQL files, stress profiles, files that are not text and command lines.

use super::util::{cassim, path_str, temp_file, Run};

/// The valid scenario every scenario case edits.
const BASE: &str = r#"
name = "t"
duration = "10d"
[cluster]
cassandra_version = "4.1"
datacenters = [{ name = "dc1", nodes = 3, rf = 3 }]
[node]
ram = "32GiB"
heap = "8GiB"
[schema]
cql = """
CREATE TABLE ks.t (pk int, ck timestamp, v text, m map<text, text>, PRIMARY KEY (pk, ck));
"""
[tables."ks.t"]
partitions = { entities = 100 }
[[workload]]
cql = "INSERT INTO ks.t (pk, ck, v) VALUES (?, ?, ?) USING TTL 86400"
rate = "100/s"
"#;

/// `(case, text replaced, replacement, where, what)`: an empty text replaced appends. `where` is
/// a field path (the error reads `s.toml: PATH: `) or a location (`#schema.cql:1:80`, `:3:12`).
const SCENARIO_CASES: &[(&str, &str, &str, &str, &str)] = &[
    ("duration beyond the step budget", "duration = \"10d\"", "duration = \"100000d\"\nsample_every = \"1d\"", "duration", "engine steps of 10m, above the budget"),
    ("samples beyond the budget", "duration = \"10d\"", "duration = \"10d\"\nsample_every = \"1ms\"", "sample_every", "samples over the duration, above"),
    ("duration zero", "duration = \"10d\"", "duration = \"0s\"", "duration", "must be at least"),
    ("duration unit", "duration = \"10d\"", "duration = \"10 fortnights\"", "duration", "unknown duration unit 'fortnights'"),
    ("duration negative", "duration = \"10d\"", "duration = \"-5d\"", "duration", "duration '-5d' is negative"),
    ("duration number", "duration = \"10d\"", "duration = 10", "duration", "must be a string"),
    ("duration huge digits", "duration = \"10d\"", "duration = \"1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000d\"", "duration", "the number in"),
    ("sample above duration", "duration = \"10d\"", "duration = \"10d\"\nsample_every = \"20d\"", "sample_every", "must be positive and"),
    ("sample zero", "duration = \"10d\"", "duration = \"10d\"\nsample_every = \"0s\"", "sample_every", "must be positive and"),
    ("seed negative", "duration = \"10d\"", "duration = \"10d\"\nseed = -1", "seed", "must be between 0"),
    ("seed string", "duration = \"10d\"", "duration = \"10d\"\nseed = \"x\"", "seed", "must be a whole"),
    ("name number", "name = \"t\"", "name = 5", "name", "must be a string"),
    ("unknown top key", "duration = \"10d\"", "duration = \"10d\"\ndurration = \"1d\"", "durration", "unknown key"),
    ("name control", "name = \"t\"", "name = \"a\\u001b[31m\"", "name", "holds control characters or"),
    ("name long", "name = \"t\"", "name = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"", "name", "holds control characters or"),
    ("version unknown", "cassandra_version = \"4.1\"", "cassandra_version = \"2.0\"", "cluster.cassandra_version", "is not a version"),
    ("version number", "cassandra_version = \"4.1\"", "cassandra_version = 4.1", "cluster.cassandra_version", "must be a string"),
    ("nodes zero", "nodes = 3, rf = 3", "nodes = 0, rf = 3", "cluster.datacenters[0].nodes", "must be between 1"),
    ("nodes huge", "nodes = 3, rf = 3", "nodes = 100000, rf = 3", "cluster.datacenters[0].nodes", "must be between 1"),
    ("rf zero", "nodes = 3, rf = 3", "nodes = 3, rf = 0", "cluster.datacenters[0].rf", "must be between 1"),
    ("rf above nodes", "nodes = 3, rf = 3", "nodes = 3, rf = 5", "cluster.datacenters[0].rf", "replication factor 5 is"),
    ("no datacenters", "datacenters = [{ name = \"dc1\", nodes = 3, rf = 3 }]", "datacenters = []", "cluster.datacenters", "must be a non-empty"),
    ("dc unknown key", "nodes = 3, rf = 3", "nodes = 3, rf = 3, racks = 2", "cluster.datacenters[0].racks", "unknown key"),
    ("num_tokens zero", "cassandra_version = \"4.1\"", "cassandra_version = \"4.1\"\nnum_tokens = 0", "cluster.num_tokens", "must be between 1"),
    ("num_tokens huge", "cassandra_version = \"4.1\"", "cassandra_version = \"4.1\"\nnum_tokens = 100000", "cluster.num_tokens", "must be between 1"),
    ("rtt words", "cassandra_version = \"4.1\"", "cassandra_version = \"4.1\"\ninter_dc_rtt = \"fast\"", "cluster.inter_dc_rtt", "'fast' is not a"),
    ("cluster unknown key", "cassandra_version = \"4.1\"", "cassandra_version = \"4.1\"\nnode = 3", "cluster.node", "unknown key"),
    ("datacenters string", "datacenters = [{ name = \"dc1\", nodes = 3, rf = 3 }]", "datacenters = \"dc1\"", "cluster.datacenters", "must be a non-empty"),
    ("two dcs one name", "datacenters = [{ name = \"dc1\", nodes = 3, rf = 3 }]", "datacenters = [{ name = \"dc1\", nodes = 3, rf = 3 }, { name = \"dc1\", nodes = 3, rf = 3 }]", "cluster.datacenters[1].name", "names a datacenter twice"),
    ("ram zero", "ram = \"32GiB\"", "ram = \"0B\"", "node.ram", "must be between 1.0"),
    ("ram unit", "ram = \"32GiB\"", "ram = \"32EiB\"", "node.ram", "unknown size unit 'EiB'"),
    ("heap above ram", "heap = \"8GiB\"", "heap = \"48GiB\"", "node.heap", "heap 48.0 GiB is"),
    ("heap tiny", "heap = \"8GiB\"", "heap = \"100MiB\"", "node.heap", "is below 256MiB, too"),
    ("heap words", "heap = \"8GiB\"", "heap = \"lots\"", "node.heap", "'lots' is not a"),
    ("cores zero", "heap = \"8GiB\"", "heap = \"8GiB\"\ncores = 0", "node.cores", "must be between 1"),
    ("cores huge", "heap = \"8GiB\"", "heap = \"8GiB\"\ncores = 5000", "node.cores", "must be between 1"),
    ("disk zero", "heap = \"8GiB\"", "heap = \"8GiB\"\ndisk = { kind = \"ssd\", size = \"0B\" }", "node.disk.size", "must be between 1.0"),
    ("disk huge", "heap = \"8GiB\"", "heap = \"8GiB\"\ndisk = { kind = \"ssd\", size = \"2000TiB\" }", "node.disk.size", "must be between 1.0"),
    ("disk kind", "heap = \"8GiB\"", "heap = \"8GiB\"\ndisk = { kind = \"floppy\", size = \"1TiB\" }", "node.disk.kind", "is not a disk"),
    ("disk unknown key", "heap = \"8GiB\"", "heap = \"8GiB\"\ndisk = { kind = \"ssd\", speed = 1 }", "node.disk.speed", "unknown key"),
    ("nofile zero", "heap = \"8GiB\"", "heap = \"8GiB\"\nnofile = 0", "node.nofile", "must be between 1"),
    ("node unknown key", "heap = \"8GiB\"", "heap = \"8GiB\"\nrams = \"1GiB\"", "node.rams", "unknown key"),
    ("memtable 0B", "", "[settings]\nmemtable_heap_space = \"0B\"", "settings.memtable_heap_space", "must be between 1.0"),
    ("memtable 1B", "", "[settings]\nmemtable_heap_space = \"1B\"", "settings.memtable_heap_space", "must be between 1.0"),
    ("compactors zero", "", "[settings]\nconcurrent_compactors = 0", "settings.concurrent_compactors", "must be between 1"),
    ("compactors negative", "", "[settings]\nconcurrent_compactors = -1", "settings.concurrent_compactors", "must be between 1"),
    ("concurrent_reads one", "", "[settings]\nconcurrent_reads = 1", "settings.concurrent_reads", "must be between 2"),
    ("cleanup zero", "", "[settings]\nmemtable_cleanup_threshold = 0", "settings.memtable_cleanup_threshold", "must be between 0.01"),
    ("cleanup above one", "", "[settings]\nmemtable_cleanup_threshold = 1.5", "settings.memtable_cleanup_threshold", "must be between 0.01"),
    ("segment 4GiB", "", "[settings]\ncommitlog_segment_size = \"4GiB\"", "settings.commitlog_segment_size", "must be between 1.0"),
    ("throughput words", "", "[settings]\ncompaction_throughput = \"fast\"", "settings.compaction_throughput", "'fast' is not a"),
    ("throughput no per", "", "[settings]\ncompaction_throughput = \"16MiB\"", "settings.compaction_throughput", "'16MiB' is not a"),
    ("timeout zero", "", "[settings]\nread_request_timeout = \"0s\"", "settings.read_request_timeout", "must be between 1ms"),
    ("allocation type", "", "[settings]\nmemtable_allocation_type = \"magic\"", "settings.memtable_allocation_type", "is not one of"),
    ("old setting name", "", "[settings]\nmemtable_heap_space_in_mb = 512", "settings.memtable_heap_space_in_mb", "unknown setting"),
    ("setting typo", "", "[settings]\nconcurent_compactors = 2", "settings.concurent_compactors", "unknown setting"),
    ("failure threshold negative", "", "[settings]\ntombstone_failure_threshold = -5", "settings.tombstone_failure_threshold", "must be between 0"),
    ("column index 0B", "", "[settings]\ncolumn_index_size = \"0B\"", "settings.column_index_size", "must be between 1.0"),
    ("commitlog total 0B", "", "[settings]\ncommitlog_total_space = \"0B\"", "settings.commitlog_total_space", "must be between 1.0"),
    ("flush writers zero", "", "[settings]\nmemtable_flush_writers = 0", "settings.memtable_flush_writers", "must be between 1"),
    ("engine_step zero", "", "[calibration]\nengine_step = 0", "calibration.engine_step", "must be between 1"),
    ("engine_step tiny", "", "[calibration]\nengine_step = 1e-9", "calibration.engine_step", "must be between 1"),
    ("coefficient typo", "", "[calibration]\nengine_stepp = 600", "calibration.engine_stepp", "is not a calibration"),
    ("sample_partitions zero", "", "[calibration]\nsample_partitions = 0", "calibration.sample_partitions", "must be between 1"),
    ("ceiling above one", "", "[calibration]\ndisk_utilisation_ceiling = 2", "calibration.disk_utilisation_ceiling", "must be between 0"),
    ("ssd throughput zero", "", "[calibration]\nssd_throughput_mib_s = 0", "calibration.ssd_throughput_mib_s", "must be between 0.001"),
    ("coefficient string", "", "[calibration]\nengine_step = \"10m\"", "calibration.engine_step", "must be a number"),
    ("coefficient nan", "", "[calibration]\nengine_step = nan", "calibration.engine_step", "must be between 1"),
    ("coefficient inf", "", "[calibration]\nreads_per_sample = inf", "calibration.reads_per_sample", "must be between 1"),
    ("table not in schema", "[tables.\"ks.t\"]", "[tables.\"ks.nope\"]", "tables.\"ks.nope\"", "names table ks.nope, which"),
    ("entities zero", "entities = 100", "entities = 0", "tables.\"ks.t\".partitions.entities", "must be a positive"),
    ("entities negative", "entities = 100", "entities = -5", "tables.\"ks.t\".partitions.entities", "must be a positive"),
    ("entities above 2^63", "entities = 100", "entities = \"100000000000000000000000\"", "tables.\"ks.t\".partitions.entities", "must be between 1"),
    ("entities missing", "partitions = { entities = 100 }", "partitions = { bucket = \"1d\" }", "tables.\"ks.t\".partitions.entities", "is missing"),
    ("entities typo", "partitions = { entities = 100 }", "partitions = { entites = 100 }", "tables.\"ks.t\".partitions.entites", "unknown key, and"),
    ("bucket zero", "partitions = { entities = 100 }", "partitions = { entities = 100, bucket = \"0s\" }", "tables.\"ks.t\".partitions.bucket", "must be between 1s"),
    ("bucket words", "partitions = { entities = 100 }", "partitions = { entities = 100, bucket = \"daily\" }", "tables.\"ks.t\".partitions.bucket", "'daily' is not a"),
    ("compression zero", "partitions = { entities = 100 }", "partitions = { entities = 100 }\ncompression_ratio = 0", "tables.\"ks.t\".compression_ratio", "must be between 0.01"),
    ("compression two", "partitions = { entities = 100 }", "partitions = { entities = 100 }\ncompression_ratio = 2", "tables.\"ks.t\".compression_ratio", "must be between 0.01"),
    ("rows lognormal wild", "partitions = { entities = 100 }", "partitions = { entities = 100 }\nrows_per_partition = \"lognormal(10, 50)\"", "tables.\"ks.t\".rows_per_partition", "'lognormal(10, 50)' puts its"),
    ("column lognormal wild", "partitions = { entities = 100 }", "partitions = { entities = 100 }\ncolumns = { v = \"lognormal(300B, 50)\" }", "tables.\"ks.t\".columns.v", "'lognormal(300B, 50)' puts its"),
    ("column uniform reversed", "partitions = { entities = 100 }", "partitions = { entities = 100 }\ncolumns = { v = \"uniform(10B, 5B)\" }", "tables.\"ks.t\".columns.v", "uniform(10B, 5B) has min"),
    ("column unknown distribution", "partitions = { entities = 100 }", "partitions = { entities = 100 }\ncolumns = { v = \"poisson(3)\" }", "tables.\"ks.t\".columns.v", "unknown distribution 'poisson'"),
    ("column unit", "partitions = { entities = 100 }", "partitions = { entities = 100 }\ncolumns = { v = \"fixed(3 parsecs)\" }", "tables.\"ks.t\".columns.v", "unknown size unit 'parsecs'"),
    ("column arity", "partitions = { entities = 100 }", "partitions = { entities = 100 }\ncolumns = { v = \"normal(100B)\" }", "tables.\"ks.t\".columns.v", "normal() takes 2 argument(s),"),
    ("column sigma negative", "partitions = { entities = 100 }", "partitions = { entities = 100 }\ncolumns = { v = \"lognormal(300B, -1)\" }", "tables.\"ks.t\".columns.v", "lognormal sigma must not"),
    ("column unknown", "partitions = { entities = 100 }", "partitions = { entities = 100 }\ncolumns = { w = \"fixed(1B)\" }", "tables.\"ks.t\".columns.w", "names column w, which"),
    ("column number", "partitions = { entities = 100 }", "partitions = { entities = 100 }\ncolumns = { v = 5 }", "tables.\"ks.t\".columns.v", "must be a size"),
    ("column 3GiB", "partitions = { entities = 100 }", "partitions = { entities = 100 }\ncolumns = { v = \"fixed(3GiB)\" }", "tables.\"ks.t\".columns.v", "'fixed(3GiB)' puts its p99.9"),
    ("column unclosed", "partitions = { entities = 100 }", "partitions = { entities = 100 }\ncolumns = { v = \"fixed(3B\" }", "tables.\"ks.t\".columns.v", "'fixed(3B' is missing its"),
    ("table unknown key", "partitions = { entities = 100 }", "partitions = { entities = 100 }\nrows = 5", "tables.\"ks.t\".rows", "unknown key"),
    ("rate missing", "rate = \"100/s\"", "", "workload[0].rate", "is missing"),
    ("rate typo", "rate = \"100/s\"", "rat = \"100/s\"", "workload[0].rat", "unknown key, and `workload[0].rate`"),
    ("rate no per", "rate = \"100/s\"", "rate = \"100\"", "workload[0].rate", "'100' is not a"),
    ("rate unit", "rate = \"100/s\"", "rate = \"100/fortnight\"", "workload[0].rate", "unknown time unit 'fortnight'"),
    ("rate exponent", "rate = \"100/s\"", "rate = \"1e40/s\"", "workload[0].rate", "unknown suffix 'e40'"),
    ("rate negative", "rate = \"100/s\"", "rate = \"-5/s\"", "workload[0].rate", "'-5/s': count '-5' is"),
    ("rate huge", "rate = \"100/s\"", "rate = \"100000000000000000000/s\"", "workload[0].rate", "must be between 0/s"),
    ("rate zero time", "rate = \"100/s\"", "rate = \"5/0s\"", "workload[0].rate", "rate '5/0s' divides by"),
    ("rate number", "rate = \"100/s\"", "rate = 100", "workload[0].rate", "must be a string"),
    ("zipf zero", "rate = \"100/s\"", "rate = \"100/s\"\nkeys = \"zipf(0)\"", "workload[0].keys", "zipf exponent must be"),
    ("zipf negative", "rate = \"100/s\"", "rate = \"100/s\"\nkeys = \"zipf(-1)\"", "workload[0].keys", "zipf exponent must be"),
    ("zipf words", "rate = \"100/s\"", "rate = \"100/s\"\nkeys = \"zipf(abc)\"", "workload[0].keys", "'abc' in 'zipf(abc)' is"),
    ("keys unknown", "rate = \"100/s\"", "rate = \"100/s\"\nkeys = \"pareto\"", "workload[0].keys", "is not a key"),
    ("clustering unknown", "rate = \"100/s\"", "rate = \"100/s\"\nclustering = \"sorted\"", "workload[0].clustering", "is not a clustering"),
    ("target unknown", "rate = \"100/s\"", "rate = \"100/s\"\ntarget = \"middle\"", "workload[0].target", "is not a target"),
    ("consistency unknown", "rate = \"100/s\"", "rate = \"100/s\"\nconsistency = \"MOST\"", "workload[0].consistency", "is not a consistency"),
    ("cql missing", "cql = \"INSERT INTO ks.t (pk, ck, v) VALUES (?, ?, ?) USING TTL 86400\"", "", "workload[0].cql", "is missing"),
    ("cql syntax", "INSERT INTO ks.t", "INSRT INTO ks.t", "workload[0].cql", "1:1: expected a CQL"),
    ("cql unknown table", "INSERT INTO ks.t", "INSERT INTO ks.nope", "workload[0].cql", "table ks.nope is not"),
    ("cql unknown column", "(pk, ck, v) VALUES", "(pk, ck, nope) VALUES", "workload[0].cql", "ks.t has no column"),
    ("ttl words", "rate = \"100/s\"", "rate = \"100/s\"\nttl = \"forever\"", "workload[0].ttl", "'forever' is not a"),
    ("delay words", "rate = \"100/s\"", "rate = \"100/s\"\ndelay = \"soon\"", "workload[0].delay", "'soon' is not a"),
    ("workload not a list", "[[workload]]", "[[workloads]]", "workloads", "unknown key"),
    ("workload unknown key", "rate = \"100/s\"", "rate = \"100/s\"\nratio = 2", "workload[0].ratio", "unknown key"),
    ("limit zero", "", "[[workload]]\ncql = \"SELECT * FROM ks.t WHERE pk = ? LIMIT 0\"\nrate = \"1/s\"", "workload[1].cql", "LIMIT must be a"),
    ("limit huge", "", "[[workload]]\ncql = \"SELECT * FROM ks.t WHERE pk = ? LIMIT 100000000000000000000\"\nrate = \"1/s\"", "workload[1].cql", "LIMIT must be a"),
    ("schema missing", "[schema]\ncql = \"\"\"\nCREATE TABLE ks.t (pk int, ck timestamp, v text, m map<text, text>, PRIMARY KEY (pk, ck));\n\"\"\"", "", "schema", "is missing"),
    ("schema file missing", "cql = \"\"\"\nCREATE", "file = \"nope.cql\"\nxcql = \"\"\"\nCREATE", "schema.file", "cannot read"),
    ("schema syntax", "PRIMARY KEY (pk, ck))", "PRIMRY KEY (pk, ck))", "#schema.cql:1:80", "expected `)`, found `(`"),
    ("schema no key", ", PRIMARY KEY (pk, ck))", ")", "#schema.cql:1:68", "table ks.t has no"),
    ("schema type", "v text,", "v strin,", "#schema.cql:1:42", "unknown type `strin`"),
    ("schema duplicate column", "v text,", "v text, v int,", "#schema.cql:1:50", "column `v` is defined"),
    ("schema key not declared", "PRIMARY KEY (pk, ck)", "PRIMARY KEY (pk, nope)", "#schema.cql:1:1", "PRIMARY KEY names `nope`,"),
    ("schema unterminated string", "PRIMARY KEY (pk, ck));", "PRIMARY KEY (pk, ck)) WITH comment = 'oops;", "#schema.cql:1:106", "unterminated string literal"),
    ("schema unterminated comment", "PRIMARY KEY (pk, ck));", "PRIMARY KEY (pk, ck)); /* oops", "#schema.cql:1:92", "unterminated /* comment"),
    ("twcs window zero", "PRIMARY KEY (pk, ck));", "PRIMARY KEY (pk, ck)) WITH compaction = {'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'HOURS', 'compaction_window_size': 0};", "#schema.cql:1:96", "compaction_window_size must be a"),
    ("gc_grace negative", "PRIMARY KEY (pk, ck));", "PRIMARY KEY (pk, ck)) WITH gc_grace_seconds = -1;", "#schema.cql:1:96", "gc_grace_seconds must be a"),
    ("ttl negative", "PRIMARY KEY (pk, ck));", "PRIMARY KEY (pk, ck)) WITH default_time_to_live = -5;", "#schema.cql:1:96", "default_time_to_live must be a"),
    ("bloom above one", "PRIMARY KEY (pk, ck));", "PRIMARY KEY (pk, ck)) WITH bloom_filter_fp_chance = 2;", "#schema.cql:1:96", "bloom_filter_fp_chance must be in"),
    ("reserved word column", "v text,", "select text,", "#schema.cql:1:42", "`select` is a reserved"),
    ("empty schema", "CREATE TABLE ks.t (pk int, ck timestamp, v text, m map<text, text>, PRIMARY KEY (pk, ck));", "", "schema.cql", "defines no table"),
    ("sweep not list", "", "[sweep]\n\"node.heap\" = \"8GiB\"", "sweep.\"node.heap\"", "must be a list"),
    ("sweep unknown path", "", "[sweep]\n\"node.heapp\" = [\"8GiB\"]", "sweep.\"node.heapp\"", "unknown key"),
    ("sweep bad value", "", "[sweep]\n\"node.heap\" = [\"8GiB\", \"lots\"]", "sweep.\"node.heap\"", "'lots' is not a"),
    ("sweep replicas zero", "", "[sweep]\nreplicas = 0\n\"node.heap\" = [\"8GiB\"]", "sweep.replicas", "must be between 1"),
    ("toml syntax", "duration = \"10d\"", "duration = ", ":3:12", "invalid TOML: string values"),
    ("settings not a table", "duration = \"10d\"", "duration = \"10d\"\nsettings = 5", "settings", "must be a table"),
    ("cluster not a table", "duration = \"10d\"", "duration = \"10d\"\ncluster = 5", ":5:2", "invalid TOML: duplicate key"),
    ("node not a table", "duration = \"10d\"", "duration = \"10d\"\nnode = \"big\"", ":8:2", "invalid TOML: duplicate key"),
    ("tables not a table", "duration = \"10d\"", "duration = \"10d\"\ntables = []", ":15:2", "invalid TOML: cannot extend"),
    ("limit field zero", "rate = \"100/s\"", "rate = \"100/s\"\nlimit = 0", "workload[0].limit", "must be between 1"),
    ("limit field huge", "rate = \"100/s\"", "rate = \"100/s\"\nlimit = 3000000000", "workload[0].limit", "must be between 1"),
    ("nulls share above one", "rate = \"100/s\"", "rate = \"100/s\"\nnulls = { v = 2.0 }", "workload[0].nulls.v", "must be between 0"),
    ("nulls not a table", "rate = \"100/s\"", "rate = \"100/s\"\nnulls = 0.5", "workload[0].nulls", "must be a table"),
    ("ttl field negative", "rate = \"100/s\"", "rate = \"100/s\"\nttl = \"-1d\"", "workload[0].ttl", "duration '-1d' is negative"),
    ("entities words", "entities = 100", "entities = \"many\"", "tables.\"ks.t\".partitions.entities", "'many' is not a"),
    ("entities float", "entities = 100", "entities = 1.5", "tables.\"ks.t\".partitions.entities", "must be a positive"),
    ("schema both", "cql = \"\"\"\nCREATE", "file = \"x.cql\"\ncql = \"\"\"\nCREATE", "schema.cql", "is given together with"),
    ("schema keyspace option", "[schema]", "[schema]\nkeyspaces = \"ks\"", "schema.keyspaces", "unknown key"),
    ("heap number", "heap = \"8GiB\"", "heap = 8", "node.heap", "must be a string"),
    ("simulate_nodes unknown", "cassandra_version = \"4.1\"", "cassandra_version = \"4.1\"\nsimulate_nodes = \"some\"", "cluster.simulate_nodes", "must be \"representative\" or"),
    ("cql two statements", "INSERT INTO ks.t (pk, ck, v) VALUES (?, ?, ?) USING TTL 86400", "INSERT INTO ks.t (pk, ck, v) VALUES (?, ?, ?); SELECT * FROM ks.t", "workload[0].cql", "1:48: expected one CQL"),
    ("cql select without key", "", "[[workload]]\ncql = \"SELECT * FROM ks.t WHERE v = ?\"\nrate = \"1/s\"", "workload[1].cql", "the SELECT does not"),
    ("cql update without key", "", "[[workload]]\ncql = \"UPDATE ks.t SET v = ? WHERE ck = ?\"\nrate = \"1/s\"", "workload[1].cql", "UPDATE must restrict partition"),
    ("cql delete unknown table", "", "[[workload]]\ncql = \"DELETE FROM ks.zz WHERE pk = ?\"\nrate = \"1/s\"", "workload[1].cql", "table ks.zz is not"),
    ("cql create in workload", "", "[[workload]]\ncql = \"CREATE TABLE ks.u (a int PRIMARY KEY)\"\nrate = \"1/s\"", "workload[1].cql", "CREATE TABLE is not"),
    ("cql limit words", "", "[[workload]]\ncql = \"SELECT * FROM ks.t WHERE pk = ? LIMIT lots\"\nrate = \"1/s\"", "workload[1].cql", "LIMIT must be a"),
    ("cql limit bind without value", "", "[[workload]]\ncql = \"SELECT * FROM ks.t WHERE pk = ? LIMIT ?\"\nrate = \"1/s\"", "workload[1].cql", "LIMIT ? needs a"),
    ("cql unterminated string", "", "[[workload]]\ncql = \"SELECT * FROM ks.t WHERE pk = 'a\"\nrate = \"1/s\"", "workload[1].cql", "1:31: unterminated string literal"),
    ("cql deep term", "", "[[workload]]\ncql = \"SELECT * FROM ks.t WHERE pk = ----------------------------------------------------------------------------------------------------1\"\nrate = \"1/s\"", "workload[1].cql", "1:132: expected a value"),
    ("schema deep type", "v text,", "v frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<frozen<list<int>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>,", "#schema.cql:1:428", "nests deeper than 64"),
    ("schema clustering order unknown", "PRIMARY KEY (pk, ck));", "PRIMARY KEY (pk, ck)) WITH CLUSTERING ORDER BY (nope DESC);", "#schema.cql:1:1", "CLUSTERING ORDER BY names"),
    ("schema window unit", "PRIMARY KEY (pk, ck));", "PRIMARY KEY (pk, ck)) WITH compaction = {'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'YEARS'};", "#schema.cql:1:96", "compaction_window_unit must be MINUTES,"),
    ("schema min threshold", "PRIMARY KEY (pk, ck));", "PRIMARY KEY (pk, ck)) WITH compaction = {'class': 'SizeTieredCompactionStrategy', 'min_threshold': 1};", "#schema.cql:1:96", "compaction thresholds need 2"),
    ("schema compaction no class", "PRIMARY KEY (pk, ck));", "PRIMARY KEY (pk, ck)) WITH compaction = {'min_threshold': 4};", "#schema.cql:1:96", "the compaction map has"),
    ("schema window size words", "PRIMARY KEY (pk, ck));", "PRIMARY KEY (pk, ck)) WITH compaction = {'class': 'TimeWindowCompactionStrategy', 'compaction_window_size': 'two'};", "#schema.cql:1:96", "compaction option"),
    ("schema reserved from", "v text,", "from text,", "#schema.cql:1:42", "`from` is a reserved"),
    ("schema reserved where", "v text,", "where text,", "#schema.cql:1:42", "`where` is a reserved"),
    ("schema two primary keys", "v text,", "v text PRIMARY KEY,", "#schema.cql:1:81", "the table has two"),
    ("calibration not a table", "duration = \"10d\"", "duration = \"10d\"\ncalibration = 1", "calibration", "must be a table"),
    ("sweep values empty", "", "[sweep]\n\"node.heap\" = []", "sweep.\"node.heap\"", "is an empty list"),
    ("sweep replicas words", "", "[sweep]\nreplicas = \"two\"", "sweep.replicas", "must be a whole"),
];

/// Whether `run` exits 2 naming `where` and `what` on stderr; else why not.
fn judge(case: &str, run: &Run, place: &str, what: &str) -> Option<String> {
    let ok = run.code == 2 && run.stderr.contains(place) && run.stderr.contains(what);
    let panicked = run.stderr.contains("panicked");
    (!ok || panicked).then(|| {
        format!(
            "{case}: exit {}, wanted 2 naming `{place}` and `{what}`:\n{}",
            run.code, run.stderr
        )
    })
}

/// Runs every case, then fails listing each that did not hold (so one run shows them all).
fn assert_all(failures: Vec<String>, count: usize) {
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn malformed_scenarios_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (case, old, new, place, what) in SCENARIO_CASES {
        let text = if old.is_empty() {
            format!("{BASE}\n{new}\n")
        } else {
            assert!(BASE.contains(old), "{case}: the base lacks {old}");
            BASE.replacen(old, new, 1)
        };
        let p = temp_file(&dir, "s.toml", &text);
        let place = if place.starts_with(['#', ':']) {
            format!("s.toml{place}: ")
        } else {
            format!("s.toml: {place}: ")
        };
        failures.extend(judge(case, &cassim(&["check", path_str(&p)]), &place, what));
    }
    assert_all(failures, SCENARIO_CASES.len());
}

/// `(case, file content, where, what)` for a schema file `f.cql`.
const CQL_CASES: &[(&str, &str, &str, &str)] = &[
    ("empty file", "", "f.cql: ", "holds no CQL statement"),
    ("only a comment", "-- a schema\n", "f.cql: ", "holds no CQL statement"),
    ("misspelt keyword", "CREAT TABLE ks.t (a int PRIMARY KEY);", "f.cql:1:1: ", "expected a CQL statement"),
    ("missing parenthesis", "CREATE TABLE ks.t (a int PRIMARY KEY;", "f.cql:1:37: ", "expected"),
    ("unknown type", "CREATE TABLE ks.t (a int PRIMARY KEY, b strng);", "f.cql:1:39: ", "unknown type `strng`"),
    ("no primary key", "CREATE TABLE ks.t (a int, b text);", "f.cql:1:", "has no PRIMARY KEY"),
    ("two primary keys", "CREATE TABLE ks.t (a int PRIMARY KEY, b int PRIMARY KEY);", "f.cql:1:", "two PRIMARY KEY"),
    ("reserved column name", "CREATE TABLE ks.t (a int PRIMARY KEY, from text);", "f.cql:1:39: ", "`from` is a reserved word"),
    ("reserved select", "CREATE TABLE ks.t (select int PRIMARY KEY);", "f.cql:1:20: ", "`select` is a reserved word"),
    ("type nested 5 000 deep", "", "f.cql:1:", "nests deeper than 64 levels"),
    ("type nested 20 000 deep", "", "f.cql:1:", "nests deeper than 64 levels"),
    ("collection nested deep", "", "f.cql:2:", "nests deeper than 64 levels"),
    ("unterminated string", "CREATE TABLE ks.t (a int PRIMARY KEY) WITH comment = 'x;", "f.cql:1:", "unterminated string"),
    ("unterminated comment", "CREATE TABLE ks.t (a int PRIMARY KEY); /* x", "f.cql:1:", "unterminated /* comment"),
    ("twcs window 0", "CREATE TABLE ks.t (a int PRIMARY KEY) WITH compaction = {'class': 'TimeWindowCompactionStrategy', 'compaction_window_size': 0};", "f.cql:1:", "compaction_window_size must be"),
    ("twcs window unit", "CREATE TABLE ks.t (a int PRIMARY KEY) WITH compaction = {'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'WEEKS'};", "f.cql:1:", "compaction_window_unit must be"),
    ("negative gc_grace", "CREATE TABLE ks.t (a int PRIMARY KEY) WITH gc_grace_seconds = -1;", "f.cql:1:", "gc_grace_seconds must be"),
    ("bloom chance 0", "CREATE TABLE ks.t (a int PRIMARY KEY) WITH bloom_filter_fp_chance = 0;", "f.cql:1:", "bloom_filter_fp_chance must be"),
    ("template without value", "CREATE TABLE ${ks}.t (a int PRIMARY KEY);", "f.cql:1:", "--var ks=VALUE"),
    ("primary key names nothing", "CREATE TABLE ks.t (a int, PRIMARY KEY (b));", "f.cql:1:", "PRIMARY KEY names `b`"),
    ("column twice", "CREATE TABLE ks.t (a int PRIMARY KEY, a text);", "f.cql:1:", "column `a` is defined twice"),
    ("control characters", "CREATE TABLE ks.t (a int PRIMARY KEY)\u{1b}[31m;", "f.cql:1:", "\\u{1b}"),
];

#[test]
fn malformed_schemas_are_refused_at_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (case, text, place, what) in CQL_CASES {
        let deep = |n: usize| {
            format!(
                "CREATE TABLE ks.t (a int PRIMARY KEY, b {}int{});",
                "frozen<list<".repeat(n),
                ">>".repeat(n)
            )
        };
        let text = match *case {
            "type nested 5 000 deep" => deep(5_000),
            "type nested 20 000 deep" => deep(20_000),
            "collection nested deep" => format!(
                "CREATE TABLE ks.t (a int PRIMARY KEY, b list<int>);\nINSERT INTO ks.t (a, b) VALUES (1, {}1{});",
                "[".repeat(20_000),
                "]".repeat(20_000)
            ),
            _ => text.to_string(),
        };
        let p = temp_file(&dir, "f.cql", &text);
        failures.extend(judge(case, &cassim(&["check", path_str(&p)]), place, what));
    }
    assert_all(failures, CQL_CASES.len());
}

/// `(case, text replaced in the corpus's cqlstress-example.yaml, replacement, what)`.
const PROFILE_CASES: &[(&str, &str, &str, &str)] = &[
    (
        "select over zero",
        "select: uniform(1..10)/10",
        "select: fixed(5)/0",
        "insert.select: 'fixed(5)/0' is not valid",
    ),
    (
        "select negative",
        "select: uniform(1..10)/10",
        "select: -2",
        "insert.select: '-2' is not valid",
    ),
    (
        "select words",
        "select: uniform(1..10)/10",
        "select: banana",
        "insert.select: 'banana' is not valid",
    ),
    (
        "partitions words",
        "partitions: uniform(1..50)",
        "partitions: many",
        "insert.partitions: 'many' is not valid",
    ),
    (
        "unknown insert field",
        "partitions: uniform(1..50)",
        "partitons: uniform(1..50)",
        "insert.partitons: is not a cassandra-stress profile field",
    ),
    (
        "unknown top field",
        "table: typestest",
        "table: typestest\ntabel: x",
        "tabel: is not a cassandra-stress profile field",
    ),
    (
        "unknown columnspec column",
        "  - name: name",
        "  - name: nosuchcol",
        "columnspec[0].name: names `nosuchcol`",
    ),
    (
        "unknown columnspec field",
        "  - name: name",
        "  - name: name\n    sise: fixed(4)",
        "columnspec[0].sise: is not a cassandra-stress profile field",
    ),
    (
        "columnspec size words",
        "size: uniform(1..10)",
        "size: huge",
        "columnspec[0].size: 'huge' is not valid",
    ),
    (
        "no table",
        "table: typestest",
        "",
        "the profile has no `table:`",
    ),
    (
        "not yaml",
        "table: typestest",
        "table: [typestest",
        "invalid YAML",
    ),
];

#[test]
fn malformed_stress_profiles_are_refused_naming_the_field() {
    let profile = std::fs::read_to_string(
        super::util::root().join("tests/data/corpus/cassandra/cqlstress-example.yaml"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (case, old, new, what) in PROFILE_CASES {
        assert!(profile.contains(old), "{case}: the profile lacks {old}");
        let p = temp_file(&dir, "p.yaml", profile.replacen(old, new, 1));
        for command in ["import-stress", "check"] {
            let run = cassim(&[command, path_str(&p)]);
            failures.extend(judge(
                &format!("{case} ({command})"),
                &run,
                "p.yaml: ",
                what,
            ));
        }
    }
    assert_all(failures, PROFILE_CASES.len() * 2);
}

#[test]
fn files_that_are_not_inputs_are_refused_without_reading_them_whole() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.cql");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(17 * 1024 * 1024).unwrap(); // sparse: 17 MiB of zeros
    let fifo = dir.path().join("fifo.toml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "a directory",
            path_str(dir.path()).to_string(),
            "is a directory",
        ),
        ("/dev/zero", "/dev/zero".into(), "is not a regular file"),
        (
            "a file over 16 MiB",
            path_str(&big).to_string(),
            "is larger than 16 MiB",
        ),
        (
            "no such file",
            path_str(&dir.path().join("nope.toml")).to_string(),
            "No such file",
        ),
        (
            "a .txt file",
            path_str(&temp_file(
                &dir,
                "s.txt",
                "CREATE TABLE ks.t (a int PRIMARY KEY);",
            ))
            .to_string(),
            "is of no kind cassim reads",
        ),
        (
            "not UTF-8",
            path_str(&temp_file(&dir, "s.toml", b"name = \"a\xff\"\n")).to_string(),
            "is not UTF-8: line 1, byte 10",
        ),
        (
            "not UTF-8, line 3",
            path_str(&temp_file(&dir, "f.cql", b"-- a\n-- b\nCREATE \xc3\x28")).to_string(),
            "is not UTF-8: line 3, byte 8",
        ),
    ];
    let mut failures = Vec::new();
    for (case, path, what) in &cases {
        failures.extend(judge(case, &cassim(&["check", path]), path, what));
    }
    if made.is_ok_and(|s| s.success()) {
        let run = cassim(&["check", path_str(&fifo)]);
        failures.extend(judge(
            "a FIFO",
            &run,
            "fifo.toml: ",
            "is not a regular file",
        ));
    }
    assert_all(failures, cases.len() + 1);
}

#[test]
fn command_lines_that_cannot_work_are_refused_before_simulating() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = temp_file(&dir, "s.toml", BASE);
    let s = path_str(&scenario);
    let taken = dir.path().join("taken");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("notes.txt"), "mine").unwrap();
    let a_file = temp_file(&dir, "a-file", "x");
    let under_a_file = format!("{}/x", path_str(&a_file));
    let cases: Vec<(&str, Vec<&str>, &str, &str)> = vec![
        (
            "--set with no name",
            vec!["check", s, "--set", "=5"],
            "--set =5",
            "the name before '=' is empty",
        ),
        (
            "--set without =",
            vec!["check", s, "--set", "nodeheap"],
            "--set nodeheap",
            "expected name=value",
        ),
        (
            "--set unknown path",
            vec!["check", s, "--set", "node.heapp=8GiB"],
            "node.heapp: ",
            "unknown key",
        ),
        (
            "--set bad value",
            vec!["check", s, "--set", "node.heap=lots"],
            "node.heap: ",
            "'lots' is not a size",
        ),
        (
            "--set rate typo",
            vec!["check", s, "--set", "workload[0].rate=5/fortnight"],
            "workload[0].rate: ",
            "unknown time unit",
        ),
        (
            "--out holds other files",
            vec!["run", s, "--out", path_str(&taken)],
            "--out ",
            "holds files that are not a cassim report",
        ),
        (
            "--out is a file",
            vec!["run", s, "--out", path_str(&a_file)],
            "--out ",
            "is a file, not a folder",
        ),
        (
            "--out under a file",
            vec!["run", s, "--out", &under_a_file],
            "--out ",
            "cannot create its parent",
        ),
    ];
    let mut failures = Vec::new();
    for (case, args, place, what) in &cases {
        failures.extend(judge(case, &cassim(args), place, what));
    }
    assert_all(failures, cases.len());
    assert!(
        taken.join("notes.txt").is_file(),
        "--out must leave other files alone"
    );
}
