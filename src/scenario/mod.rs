//! Scenario input (DESIGN.md section 2, format version 1): reads a scenario TOML file into a validated
//! `Scenario` whose units are resolved, whose schema is parsed, and whose contradictions (rf above
//! nodes, heap above RAM, a workload on an unknown table) are errors naming the field path.

pub mod input;
pub mod reader;
mod settings;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::Value;

pub use settings::{SettingValue, Settings};

use crate::calibration::Calibration;
use crate::cql::CqlError;
use crate::defaults::CassandraVersion;
use crate::distribution::{Distribution, Quantity};
use crate::schema::sizes::ColumnSize;
use crate::schema::Schema;
use crate::units;
use crate::workload::{self, Operation};
use reader::{closest, describe, Obj, Result};

/// A bad field in a scenario: its path, the value found, what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    pub file: String,
    pub path: String,
    pub value: Option<String>,
    pub message: String,
    pub hint: String,
}

impl ScenarioError {
    pub fn new(
        path: String,
        value: Option<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError {
            file: String::new(),
            path,
            value,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.file.is_empty() {
            write!(f, "{}: ", self.file)?;
        }
        write!(f, "{}: {}", self.path, self.message)?;
        if let Some(v) = &self.value {
            write!(f, " (found {v})")?;
        }
        if !self.hint.is_empty() {
            write!(f, "\n  = hint: {}", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// Anything that can go wrong loading input: a scenario field, CQL, a file, a stress profile.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    #[error("{0}")]
    Cql(#[from] CqlError),
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Datacenter {
    pub name: String,
    pub nodes: u32,
    pub rf: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SimulateNodes {
    /// One representative node per datacenter (DESIGN.md section 3).
    Representative,
    /// Every node, for small clusters.
    All,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Cluster {
    pub cassandra_version: CassandraVersion,
    pub datacenters: Vec<Datacenter>,
    pub num_tokens: u32,
    pub inter_dc_rtt_s: f64,
    pub simulate_nodes: SimulateNodes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiskKind {
    Ssd,
    Nvme,
    Hdd,
    Network,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Disk {
    pub kind: DiskKind,
    pub size_bytes: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Heap {
    /// cassandra-env.sh's rule (CASSANDRA.md 2.1).
    Auto,
    Bytes(f64),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Node {
    pub ram_bytes: f64,
    pub heap: Heap,
    pub cores: u32,
    pub disk: Disk,
    pub nofile: u64,
}

/// The partition key population of a table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Partitions {
    /// Distinct entities (key values other than the time bucket).
    pub entities: f64,
    /// Time bucket: a new partition per entity every `bucket_s`.
    pub bucket_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ColumnSpec {
    /// Serialized value size (for a collection, the whole collection).
    pub size: Distribution,
    /// Elements of a collection.
    pub elements: Option<Distribution>,
}

/// What a scenario says about a table beyond its CQL.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TableModel {
    pub partitions: Option<Partitions>,
    /// The clustering population, for upsert-style tables.
    pub rows_per_partition: Option<Distribution>,
    pub compression_ratio: Option<f64>,
    pub columns: BTreeMap<String, ColumnSpec>,
}

impl TableModel {
    /// Declared column sizes as the size model takes them.
    pub fn column_sizes(&self) -> BTreeMap<String, ColumnSize> {
        self.columns
            .iter()
            .map(|(c, spec)| {
                let elements = spec
                    .elements
                    .map(|e| e.mean())
                    .unwrap_or(crate::defaults::DEFAULT_COLLECTION_ELEMENTS);
                (
                    c.clone(),
                    ColumnSize {
                        bytes: spec.size.mean(),
                        elements,
                    },
                )
            })
            .collect()
    }
}

/// A `[sweep]`: lists of values by field path, crossed, and seeds per variant.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sweep {
    pub axes: Vec<(String, Vec<String>)>,
    pub replicas: u32,
}

/// A validated scenario.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Scenario {
    pub name: String,
    pub seed: u64,
    pub duration_s: f64,
    pub sample_every_s: f64,
    pub cluster: Cluster,
    pub node: Node,
    pub settings: Settings,
    #[serde(skip)]
    pub schema: Schema,
    pub tables: BTreeMap<String, TableModel>,
    pub workload: Vec<Operation>,
    pub sweep: Option<Sweep>,
    /// Model coefficients, defaults overridden by `[calibration]`.
    pub calibration: Calibration,
    /// Where the scenario came from, for relative paths.
    #[serde(skip)]
    pub file: PathBuf,
}

const TOP_KEYS: [&str; 12] = [
    "name",
    "seed",
    "duration",
    "sample_every",
    "cluster",
    "node",
    "settings",
    "schema",
    "tables",
    "workload",
    "sweep",
    "calibration",
];

impl Scenario {
    /// Loads a scenario file; the schema file it names is read relative to it.
    pub fn load(
        path: &Path,
        vars: &BTreeMap<String, String>,
        sets: &[(String, String)],
    ) -> std::result::Result<Scenario, InputError> {
        let text = input::read_text(path).map_err(|message| InputError::File {
            path: path.display().to_string(),
            message,
        })?;
        Scenario::from_str(&text, path, vars, sets)
    }

    /// Reads a scenario from TOML text. `sets` are `--set path=value` overrides.
    pub fn from_str(
        text: &str,
        path: &Path,
        vars: &BTreeMap<String, String>,
        sets: &[(String, String)],
    ) -> std::result::Result<Scenario, InputError> {
        let file = path.display().to_string();
        let mut root: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let (line, col) = e
                .span()
                .map(|s| crate::cql::line_col(text, s.start))
                .unwrap_or((1, 1));
            let msg = e.message().to_string();
            InputError::File {
                path: format!("{file}:{line}:{col}"),
                message: format!("invalid TOML: {msg}"),
            }
        })?;
        for (p, v) in sets {
            set_path(&mut root, p, v).map_err(|e| {
                InputError::Scenario(ScenarioError {
                    file: file.clone(),
                    ..e
                })
            })?;
        }
        read(&root, path, vars).map_err(|e| match e {
            InputError::Scenario(s) => InputError::Scenario(ScenarioError {
                file: file.clone(),
                ..s
            }),
            other => other,
        })
    }

    /// Replicas per datacenter summed: the copies of each write.
    pub fn total_rf(&self) -> u32 {
        self.cluster.datacenters.iter().map(|d| d.rf).sum()
    }

    pub fn total_nodes(&self) -> u32 {
        self.cluster.datacenters.iter().map(|d| d.nodes).sum()
    }

    pub fn model(&self, table: &str) -> Option<&TableModel> {
        self.tables.get(table)
    }
}

fn read(
    root: &toml::Table,
    path: &Path,
    vars: &BTreeMap<String, String>,
) -> std::result::Result<Scenario, InputError> {
    let top = Obj::new("", root);
    let name = top.str("name")?.map(str::to_string).unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into())
    });
    if name.chars().any(char::is_control) || name.chars().count() > 200 {
        return Err(top
            .error(
                "name",
                None,
                "holds control characters or is longer than 200 characters",
                "name the scenario in plain text; it titles the report and its folder",
            )
            .into());
    }
    let seed = top.int("seed", 0, i64::MAX)?.unwrap_or(42) as u64;
    let duration_s = top
        .unit("duration", units::parse_duration)?
        .unwrap_or(30.0 * 86_400.0);
    if duration_s < 1.0 {
        return Err(top
            .error(
                "duration",
                top.get("duration"),
                "must be at least 1s",
                "write e.g. \"60d\"",
            )
            .into());
    }
    let sample_every_s = top
        .unit("sample_every", units::parse_duration)?
        .unwrap_or(3600.0);
    if sample_every_s <= 0.0 || sample_every_s > duration_s {
        return Err(top
            .error(
                "sample_every",
                top.get("sample_every"),
                "must be positive and at most the duration",
                "write e.g. \"1h\"",
            )
            .into());
    }
    let empty = toml::Table::new();
    let cluster_obj = top
        .table("cluster")?
        .unwrap_or_else(|| Obj::new("cluster", &empty));
    let cluster = read_cluster(&cluster_obj)?;
    let node_obj = top
        .table("node")?
        .unwrap_or_else(|| Obj::new("node", &empty));
    let node = read_node(&node_obj)?;
    let settings = match top.table("settings")? {
        Some(o) => Settings::read(&o)?,
        None => Settings::default(),
    };
    let schema_obj = top.table("schema")?.ok_or_else(|| {
        top.missing(
            "schema",
            "add [schema] with file = \"schemas/x.cql\" or cql = \"\"\"CREATE TABLE …\"\"\"",
        )
    })?;
    let mut schema = read_schema(&schema_obj, path, vars)?;
    let tables = read_tables(&top, &mut schema)?;
    let workload = read_workload(&top, &schema)?;
    let sweep = match top.table("sweep")? {
        Some(o) => Some(read_sweep(&o)?),
        None => None,
    };
    let calibration = match top.table("calibration")? {
        Some(o) => read_calibration(&o)?,
        None => Calibration::default(),
    };
    check_budget(&top, duration_s, sample_every_s, &calibration)?;
    top.finish(&TOP_KEYS)?;
    Ok(Scenario {
        name,
        seed,
        duration_s,
        sample_every_s,
        cluster,
        node,
        settings,
        schema,
        tables,
        workload,
        sweep,
        calibration,
        file: path.to_path_buf(),
    })
}

fn read_cluster(o: &Obj) -> Result<Cluster> {
    let version = match o.get("cassandra_version") {
        None => CassandraVersion::V4_1,
        Some(Value::String(s)) => CassandraVersion::parse(s).ok_or_else(|| {
            o.error(
                "cassandra_version",
                o.get("cassandra_version"),
                "is not a version cassim models",
                "use \"3.11\", \"4.0\", \"4.1\" or \"5.0\"",
            )
        })?,
        Some(v) => {
            return Err(o.error(
                "cassandra_version",
                Some(v),
                "must be a string",
                "write it in quotes: \"4.1\"",
            ))
        }
    };
    let mut datacenters = Vec::new();
    match o.get("datacenters") {
        None => datacenters.push(Datacenter {
            name: "dc1".into(),
            nodes: 3,
            rf: 3,
        }),
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("{}[{i}]", o.field("datacenters"));
                let Value::Table(t) = item else {
                    return Err(ScenarioError::new(
                        path,
                        Some(describe(item)),
                        "must be a table",
                        "write { name = \"dc1\", nodes = 6, rf = 3 }",
                    ));
                };
                let dc = Obj::new(&path, t);
                let name = dc.str("name")?.unwrap_or("dc1").to_string();
                let nodes = dc.int("nodes", 1, 10_000)?.ok_or_else(|| {
                    dc.missing("nodes", "give the number of nodes, e.g. nodes = 6")
                })? as u32;
                let rf = dc.int("rf", 1, 100)?.unwrap_or(3.min(nodes as i64)) as u32;
                if rf > nodes {
                    return Err(dc.error("rf", dc.get("rf"), format!("replication factor {rf} is greater than the {nodes} node(s) of datacenter {name}"), "lower rf or add nodes: each replica needs its own node"));
                }
                if datacenters.iter().any(|d: &Datacenter| d.name == name) {
                    return Err(dc.error(
                        "name",
                        dc.get("name"),
                        "names a datacenter twice",
                        "give each datacenter its own name",
                    ));
                }
                dc.finish(&["name", "nodes", "rf"])?;
                datacenters.push(Datacenter { name, nodes, rf });
            }
        }
        Some(v) => {
            return Err(o.error(
                "datacenters",
                Some(v),
                "must be a non-empty list",
                "write datacenters = [{ name = \"dc1\", nodes = 6, rf = 3 }]",
            ))
        }
    }
    let num_tokens = o
        .int("num_tokens", 1, 1536)?
        .map(|n| n as u32)
        .unwrap_or(version.default_num_tokens());
    let inter_dc_rtt_s = o
        .unit("inter_dc_rtt", units::parse_duration)?
        .unwrap_or(0.04);
    let simulate_nodes = match o.str("simulate_nodes")? {
        None | Some("representative") => SimulateNodes::Representative,
        Some("all") => SimulateNodes::All,
        Some(_) => {
            return Err(o.error(
                "simulate_nodes",
                o.get("simulate_nodes"),
                "must be \"representative\" or \"all\"",
                "\"all\" simulates every node (small clusters)",
            ))
        }
    };
    o.finish(&[
        "cassandra_version",
        "datacenters",
        "num_tokens",
        "inter_dc_rtt",
        "simulate_nodes",
    ])?;
    Ok(Cluster {
        cassandra_version: version,
        datacenters,
        num_tokens,
        inter_dc_rtt_s,
        simulate_nodes,
    })
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn read_node(o: &Obj) -> Result<Node> {
    let ram_bytes = o
        .unit_in(
            "ram",
            units::parse_size,
            (GIB, 1024.0 * 64.0 * GIB),
            units::format_bytes,
        )?
        .unwrap_or(32.0 * (1u64 << 30) as f64);
    let heap = match o.get("heap") {
        None => Heap::Auto,
        Some(Value::String(s)) if s == "auto" => Heap::Auto,
        Some(_) => Heap::Bytes(o.unit("heap", units::parse_size)?.unwrap_or(0.0)),
    };
    if let Heap::Bytes(h) = heap {
        if h >= ram_bytes {
            return Err(o.error("heap", o.get("heap"), format!("heap {} is not smaller than ram {}", units::format_bytes(h), units::format_bytes(ram_bytes)), "the heap must leave RAM for off-heap structures and the page cache; use \"auto\" for cassandra-env.sh's rule"));
        }
        if h < 256.0 * 1024.0 * 1024.0 {
            return Err(o.error(
                "heap",
                o.get("heap"),
                "is below 256MiB, too small to start Cassandra",
                "write e.g. \"8GiB\" or \"auto\"",
            ));
        }
    }
    let cores = o.int("cores", 1, 1024)?.unwrap_or(8) as u32;
    let disk = match o.table("disk")? {
        None => Disk {
            kind: DiskKind::Ssd,
            size_bytes: 2.0 * 1024f64.powi(4),
        },
        Some(d) => {
            let kind = match d.str("kind")?.unwrap_or("ssd") {
                "ssd" => DiskKind::Ssd,
                "nvme" => DiskKind::Nvme,
                "hdd" => DiskKind::Hdd,
                "network" => DiskKind::Network,
                _ => {
                    return Err(d.error(
                        "kind",
                        d.get("kind"),
                        "is not a disk kind",
                        "use ssd, nvme, hdd or network (EBS-like)",
                    ))
                }
            };
            // A node's disk of 1 GiB to 1 PiB (0 B printed "infB sstables").
            let size_bytes = d
                .unit_in(
                    "size",
                    units::parse_size,
                    (GIB, 1024.0 * 1024.0 * GIB),
                    units::format_bytes,
                )?
                .unwrap_or(2.0 * 1024f64.powi(4));
            d.finish(&["kind", "size"])?;
            Disk { kind, size_bytes }
        }
    };
    let nofile = o.int("nofile", 1, i64::MAX)?.unwrap_or(100_000) as u64;
    o.finish(&["ram", "heap", "cores", "disk", "nofile"])?;
    Ok(Node {
        ram_bytes,
        heap,
        cores,
        disk,
        nofile,
    })
}

fn read_schema(
    o: &Obj,
    scenario_path: &Path,
    vars: &BTreeMap<String, String>,
) -> std::result::Result<Schema, InputError> {
    let keyspace = o.str("keyspace")?;
    let mut all_vars = vars.clone();
    if let Some(t) = o.table("vars")? {
        for (k, v) in t.table {
            all_vars.entry(k.clone()).or_insert_with(|| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            t.get(k);
        }
    }
    let schema = match (o.str("file")?, o.str("cql")?) {
        (Some(_), Some(_)) => {
            return Err(o
                .error(
                    "cql",
                    o.get("cql"),
                    "is given together with schema.file",
                    "give either file or cql, not both",
                )
                .into())
        }
        (Some(f), None) => {
            let base = scenario_path.parent().unwrap_or(Path::new("."));
            let p = base.join(f);
            let text = input::read_text(&p).map_err(|e| {
                o.error(
                    "file",
                    o.get("file"),
                    format!("cannot read {}: {e}", p.display()),
                    "the path is relative to the scenario file",
                )
            })?;
            Schema::from_cql(&p.display().to_string(), &text, &all_vars, keyspace)?
        }
        (None, Some(cql)) => Schema::from_cql(
            &format!("{}#schema.cql", scenario_path.display()),
            cql,
            &all_vars,
            keyspace,
        )?,
        (None, None) => {
            return Err(o
                .missing(
                    "file",
                    "give file = \"schemas/x.cql\" or cql = \"\"\"CREATE TABLE …\"\"\"",
                )
                .into())
        }
    };
    if schema.tables.is_empty() {
        let key = if o.get("cql").is_some() {
            "cql"
        } else {
            "file"
        };
        return Err(o
            .error(
                key,
                None,
                "defines no table",
                "the schema needs at least one CREATE TABLE",
            )
            .into());
    }
    o.finish(&["file", "cql", "keyspace", "vars"])?;
    Ok(schema)
}

const TABLE_KEYS: [&str; 10] = [
    "partitions",
    "rows_per_partition",
    "compression_ratio",
    "columns",
    "gc_grace_seconds",
    "default_time_to_live",
    "compaction",
    "bloom_filter_fp_chance",
    "compression",
    "memtable_flush_period_in_ms",
];

fn read_tables(top: &Obj, schema: &mut Schema) -> Result<BTreeMap<String, TableModel>> {
    let mut models = BTreeMap::new();
    let Some(tables) = top.table("tables")? else {
        return Ok(models);
    };
    for (name, value) in tables.table {
        tables.get(name);
        let path = tables.field(name);
        let Value::Table(t) = value else {
            return Err(ScenarioError::new(
                path,
                Some(describe(value)),
                "must be a table",
                format!("write [tables.\"{name}\"]"),
            ));
        };
        let o = Obj::new(&path, t);
        let Some(table) = schema.table(name) else {
            let names: Vec<&str> = schema.tables.keys().map(String::as_str).collect();
            let hint = match reader::closest(name, &names) {
                Some(c) => format!(
                    "did you mean \"{c}\"? Tables in the schema: {}",
                    names.join(", ")
                ),
                None => format!("tables in the schema: {}", names.join(", ")),
            };
            return Err(ScenarioError::new(
                path,
                None,
                format!("names table {name}, which the schema lacks"),
                hint,
            ));
        };
        let key = table.qualified_name();
        let partitions = match o.table("partitions")? {
            None => None,
            Some(p) => {
                // At most 2^63 keys (a bigint's); at least one.
                let entities =
                    match p.get("entities") {
                        Some(Value::Integer(i)) if *i > 0 => *i as f64,
                        Some(Value::String(_)) => p
                            .unit_in("entities", units::parse_count, (1.0, 2f64.powi(63)), |n| {
                                reader::readable(n)
                            })?
                            .unwrap_or(1.0),
                        Some(v) => {
                            return Err(p.error(
                                "entities",
                                Some(v),
                                "must be a positive count",
                                "write e.g. entities = 50000",
                            ))
                        }
                        None => return Err(p.missing(
                            "entities",
                            "give the number of distinct partition keys (before time bucketing)",
                        )),
                    };
                // A bucket of a second at least: a shorter one makes a generation a step.
                let bucket_s = p.unit_in(
                    "bucket",
                    units::parse_duration,
                    (1.0, 10.0 * 365.0 * 86_400.0),
                    units::format_duration,
                )?;
                p.finish(&["entities", "bucket"])?;
                Some(Partitions { entities, bucket_s })
            }
        };
        let rows_per_partition = o.distribution("rows_per_partition", Quantity::Count)?;
        let compression_ratio = o.float("compression_ratio", 0.01, 1.0)?;
        let mut columns = BTreeMap::new();
        if let Some(cols) = o.table("columns")? {
            for (col, spec) in cols.table {
                cols.get(col);
                if table.column(col).is_none() {
                    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
                    return Err(cols.error(
                        col,
                        Some(spec),
                        format!("names column {col}, which {key} lacks"),
                        format!("columns of {key}: {}", names.join(", ")),
                    ));
                }
                let spec = match spec {
                    Value::String(_) => ColumnSpec {
                        size: cols.distribution(col, Quantity::Bytes)?.expect("present"),
                        elements: None,
                    },
                    Value::Table(t) => {
                        let c = Obj::new(&cols.field(col), t);
                        let size = c.distribution("size", Quantity::Bytes)?.ok_or_else(|| {
                            c.missing("size", "write size = \"lognormal(300B, 0.6)\"")
                        })?;
                        let elements = c.distribution("elements", Quantity::Count)?;
                        c.finish(&["size", "elements"])?;
                        ColumnSpec { size, elements }
                    }
                    v => {
                        return Err(cols.error(
                            col,
                            Some(v),
                            "must be a size distribution",
                            "write e.g. payload = \"lognormal(300B, 0.6)\"",
                        ))
                    }
                };
                columns.insert(col.clone(), spec);
            }
        }
        apply_table_option_overrides(&o, schema, &key)?;
        o.finish(&TABLE_KEYS)?;
        models.insert(
            key,
            TableModel {
                partitions,
                rows_per_partition,
                compression_ratio,
                columns,
            },
        );
    }
    Ok(models)
}

/// `[tables."ks.t"]` options override the CQL `WITH` clause, so a sweep can vary them.
fn apply_table_option_overrides(o: &Obj, schema: &mut Schema, key: &str) -> Result<()> {
    let table = schema.table_mut(key).expect("looked up by the caller");
    for name in [
        "gc_grace_seconds",
        "default_time_to_live",
        "bloom_filter_fp_chance",
        "compaction",
        "compression",
        "memtable_flush_period_in_ms",
    ] {
        let Some(v) = o.get(name) else { continue };
        let value = toml_to_option(v).ok_or_else(|| {
            o.error(
                name,
                Some(v),
                "has an unsupported value",
                "use a number, or a table for compaction and compression",
            )
        })?;
        table
            .options
            .apply(name, &value)
            .map_err(|m| o.error(name, Some(v), m, "see the CQL reference for table options"))?;
    }
    Ok(())
}

fn toml_to_option(v: &Value) -> Option<crate::cql::ast::OptionValue> {
    use crate::cql::ast::OptionValue;
    Some(match v {
        Value::String(s) => OptionValue::Str(s.clone()),
        Value::Integer(i) => OptionValue::Number(*i as f64),
        Value::Float(f) => OptionValue::Number(*f),
        Value::Boolean(b) => OptionValue::Bool(*b),
        Value::Table(t) => OptionValue::Map(
            t.iter()
                .map(|(k, v)| toml_to_option(v).map(|o| (k.clone(), o)))
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}

fn read_workload(top: &Obj, schema: &Schema) -> Result<Vec<Operation>> {
    let Some(v) = top.get("workload") else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = v else {
        return Err(top.error(
            "workload",
            Some(v),
            "must be a list of [[workload]] entries",
            "write each statement as a [[workload]] table",
        ));
    };
    let mut ops = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("workload[{i}]");
        let Value::Table(t) = item else {
            return Err(ScenarioError::new(
                path,
                Some(describe(item)),
                "must be a table",
                "write [[workload]] with cql and rate",
            ));
        };
        let o = Obj::new(&path, t);
        let mut op = workload::read_operation(&o, schema)?;
        // A statement's name names its charts, its rows in queries.csv and its entry in
        // summary.json: two alike would write one chart over the other.
        if let Some(j) = ops.iter().position(|p: &Operation| p.name == op.name) {
            if t.contains_key("name") {
                return Err(o.error(
                    "name",
                    o.get("name"),
                    format!("is the name of workload[{j}] too"),
                    "give each statement a name of its own (it names its charts and its rows in the reports)",
                ));
            }
            // An unnamed statement is named after its kind and table: the second of a kind on
            // a table is "#2", and so on.
            let base = op.name.clone();
            let mut k = 2;
            while ops.iter().any(|p| p.name == op.name) {
                op.name = format!("{base} #{k}");
                k += 1;
            }
        }
        ops.push(op);
    }
    Ok(ops)
}

/// The engine's step: `calibration.engine_step`, at most a sample period.
pub fn engine_step_s(cal: &Calibration, sample_every_s: f64) -> f64 {
    cal.get("engine_step").min(sample_every_s)
}

/// Refuses a run whose samples or engine steps exceed the budget (`calibration.max_samples`,
/// `max_steps`; raise them to override), before it starts: `duration = "100000d"` ran for hours
/// and `sample_every = "1ms"` grew by 20 MB a second.
fn check_budget(top: &Obj, duration_s: f64, sample_every_s: f64, cal: &Calibration) -> Result<()> {
    let samples = (duration_s / sample_every_s).ceil();
    let max_samples = cal.get("max_samples");
    if samples > max_samples {
        return Err(top.error(
            "sample_every",
            top.get("sample_every"),
            format!(
                "makes {} samples over the duration, above the budget of {}",
                reader::readable(samples),
                reader::readable(max_samples)
            ),
            "sample less often or simulate less time; calibration.max_samples raises the budget",
        ));
    }
    let step = engine_step_s(cal, sample_every_s);
    let steps = (duration_s / step).ceil();
    let max_steps = cal.get("max_steps");
    if steps > max_steps {
        return Err(top.error(
            "duration",
            top.get("duration"),
            format!(
                "takes {} engine steps of {}, above the budget of {}",
                reader::readable(steps),
                units::format_duration(step),
                reader::readable(max_steps)
            ),
            "simulate less time or sample less often; calibration.max_steps raises the budget",
        ));
    }
    Ok(())
}

fn read_calibration(o: &Obj) -> Result<Calibration> {
    let mut cal = Calibration::default();
    let names: Vec<&str> = Calibration::names().collect();
    for key in o.table.keys() {
        let unknown = || {
            let hint = match closest(key, &names) {
                Some(near) => format!(
                    "did you mean `{near}`? (the coefficients are listed in src/calibration.rs)"
                ),
                None => "the coefficients are listed in src/calibration.rs".to_string(),
            };
            o.error(key, o.get(key), "is not a calibration coefficient", hint)
        };
        let (min, max) = Calibration::bounds(key).ok_or_else(unknown)?;
        if let Some(value) = o.float(key, min, max)? {
            cal.set(key, value).map_err(|_| unknown())?;
        }
    }
    Ok(cal)
}

fn read_sweep(o: &Obj) -> Result<Sweep> {
    let replicas = o.int("replicas", 1, 1000)?.unwrap_or(1) as u32;
    let mut axes = Vec::new();
    for (key, value) in o.table {
        if key == "replicas" {
            continue;
        }
        o.get(key);
        let Value::Array(values) = value else {
            return Err(o.error(
                key,
                Some(value),
                "must be a list of values",
                "write \"node.heap\" = [\"4GiB\", \"8GiB\"]",
            ));
        };
        if values.is_empty() {
            return Err(o.error(
                key,
                Some(value),
                "is an empty list",
                "give at least one value",
            ));
        }
        let texts = values.iter().map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        axes.push((key.clone(), texts.collect()));
    }
    Ok(Sweep { axes, replicas })
}

/// Applies `path=value` to the TOML tree (`node.heap=4GiB`, `workload[1].rate=100/s`,
/// `tables."ks.t".gc_grace_seconds=0`). The value is read as TOML if it parses, else as a string.
pub fn set_path(root: &mut toml::Table, path: &str, value: &str) -> Result<()> {
    let segments = split_path(path).ok_or_else(|| {
        ScenarioError::new(
            path.to_string(),
            None,
            "is not a field path",
            "write e.g. node.heap or workload[0].rate",
        )
    })?;
    let parsed: Value = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(value.to_string()));
    let mut cur: &mut toml::Table = root;
    for (i, (key, index)) in segments.iter().enumerate() {
        let last = i == segments.len() - 1;
        match index {
            None if last => {
                cur.insert(key.clone(), parsed);
                return Ok(());
            }
            None => {
                let entry = cur
                    .entry(key.clone())
                    .or_insert_with(|| Value::Table(toml::Table::new()));
                cur = match entry {
                    Value::Table(t) => t,
                    _ => {
                        return Err(ScenarioError::new(
                            path.to_string(),
                            None,
                            format!("`{key}` is not a table"),
                            "check the path",
                        ))
                    }
                };
            }
            Some(n) => {
                let Some(Value::Array(items)) = cur.get_mut(key) else {
                    return Err(ScenarioError::new(
                        path.to_string(),
                        None,
                        format!("`{key}` is not a list"),
                        "check the path",
                    ));
                };
                let len = items.len();
                let Some(item) = items.get_mut(*n) else {
                    return Err(ScenarioError::new(
                        path.to_string(),
                        None,
                        format!("`{key}` has {len} entries, not {}", n + 1),
                        "indexes start at 0",
                    ));
                };
                if last {
                    *item = parsed;
                    return Ok(());
                }
                cur = match item {
                    Value::Table(t) => t,
                    _ => {
                        return Err(ScenarioError::new(
                            path.to_string(),
                            None,
                            format!("`{key}[{n}]` is not a table"),
                            "check the path",
                        ))
                    }
                };
            }
        }
    }
    Ok(())
}

/// Splits `a.b[2]."c.d".e` into (key, optional index) segments.
fn split_path(path: &str) -> Option<Vec<(String, Option<usize>)>> {
    let mut out = Vec::new();
    let mut rest = path.trim();
    while !rest.is_empty() {
        let (key, after) = if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"')?;
            (r[..end].to_string(), &r[end + 1..])
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            (rest[..end].to_string(), &rest[end..])
        };
        if key.is_empty() {
            return None;
        }
        let (index, after) = if let Some(r) = after.strip_prefix('[') {
            let end = r.find(']')?;
            (Some(r[..end].parse().ok()?), &r[end + 1..])
        } else {
            (None, after)
        };
        out.push((key, index));
        rest = after.strip_prefix('.').unwrap_or(after);
        if !after.is_empty() && !after.starts_with('.') {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_paths() {
        assert_eq!(
            split_path("node.heap").unwrap(),
            vec![("node".into(), None), ("heap".into(), None)]
        );
        assert_eq!(
            split_path("workload[2].rate").unwrap(),
            vec![("workload".into(), Some(2)), ("rate".into(), None)]
        );
        assert_eq!(
            split_path("tables.\"m2m.r\".gc_grace_seconds").unwrap(),
            vec![
                ("tables".into(), None),
                ("m2m.r".into(), None),
                ("gc_grace_seconds".into(), None)
            ]
        );
        assert!(split_path("a..b").is_none());
    }
}
