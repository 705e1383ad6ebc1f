//! The workload: each `[[workload]]` statement read as real CQL and turned into what it does to
//! storage (rows, cells, tombstones by kind) or to reads (the read shape), with its rate, key
//! popularity, clustering pattern and targeting. Statements are checked against the schema the way
//! Cassandra checks them (key restrictions, ALLOW FILTERING, counter rules).

mod analyze;

use std::collections::BTreeMap;

pub use analyze::{analyze_statement, Deletion, ReadShape, WriteEffect, WriteKind};

use crate::cql;
use crate::distribution::{Distribution, Quantity};
use crate::scenario::reader::{Obj, Result};
use crate::scenario::ScenarioError;
use crate::schema::Schema;
use crate::units;

/// Which partitions requests go to.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyPopularity {
    Uniform,
    Zipf(f64),
    /// The newest partitions (time-bucketed tables).
    Latest,
    Sequential,
}

/// Where new rows go within a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusteringPattern {
    /// Appends in clustering order (time series).
    Increasing,
    /// Upserts into a clustering population.
    Random,
}

/// Which existing rows a delete or update hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Oldest,
    Newest,
    Random,
}

pub const CONSISTENCY_LEVELS: [&str; 11] = [
    "ANY",
    "ONE",
    "TWO",
    "THREE",
    "QUORUM",
    "LOCAL_QUORUM",
    "EACH_QUORUM",
    "ALL",
    "LOCAL_ONE",
    "SERIAL",
    "LOCAL_SERIAL",
];

/// One workload statement, validated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Operation {
    pub name: String,
    pub table: String,
    pub cql: String,
    /// Cluster-wide coordinator requests per second.
    pub rate_per_s: f64,
    pub keys: KeyPopularity,
    pub clustering: ClusteringPattern,
    pub consistency: String,
    pub target: Target,
    pub delay: Option<Distribution>,
    /// TTL in seconds of what the statement writes (USING TTL, the workload's `ttl` for a bound
    /// TTL, or the table's default_time_to_live); 0 for none.
    pub ttl_s: f64,
    /// Writes, one per statement (a BATCH has several).
    pub writes: Vec<WriteEffect>,
    pub read: Option<ReadShape>,
    /// Lightweight transaction (IF …): Paxos round trips.
    pub lwt: bool,
    /// Per column, the share of writes that bind null (`nulls = { col = 0.3 }`): what the
    /// analysis turned into cell tombstones, and what `drive` binds.
    pub nulls: BTreeMap<String, f64>,
}

impl Operation {
    pub fn is_read(&self) -> bool {
        self.read.is_some()
    }
}

const KEYS: [&str; 12] = [
    "name",
    "table",
    "cql",
    "rate",
    "keys",
    "clustering",
    "consistency",
    "target",
    "delay",
    "ttl",
    "nulls",
    "limit",
];

/// Reads and validates one `[[workload]]` entry.
pub fn read_operation(o: &Obj, schema: &Schema) -> Result<Operation> {
    let cql_text = o.req_str(
        "cql",
        "give the statement, e.g. cql = \"SELECT * FROM ks.t WHERE pk = ?\"",
    )?;
    let stmt = cql::parse_one(&o.field("cql"), cql_text).map_err(|e| {
        ScenarioError::new(
            o.field("cql"),
            None,
            format!("{}:{}: {}", e.line, e.col, e.message),
            e.hint
                .clone()
                .unwrap_or_else(|| "check the statement's syntax".into()),
        )
    })?;
    // Up to a billion a second, more than any cluster serves (10^30 gave infinite figures).
    let rate_per_s = o
        .unit_in("rate", units::parse_rate, (0.0, 1e9), |r| {
            format!("{}/s", crate::scenario::reader::readable(r))
        })?
        .ok_or_else(|| o.missing("rate", "write e.g. rate = \"500/s\""))?;
    let nulls = read_nulls(o)?;
    let bound_ttl = o.unit("ttl", units::parse_duration)?;
    let bound_limit = o.int("limit", 1, i32::MAX.into())?.map(|l| l as f64);
    let analysis = analyze_statement(&stmt, schema, &nulls, bound_ttl, bound_limit).map_err(
        |(message, hint)| {
            ScenarioError::new(
                o.field("cql"),
                Some(format!("\"{cql_text}\"")),
                message,
                hint,
            )
        },
    )?;
    let table = analysis.table.clone();
    if let Some(given) = o.str("table")? {
        let resolved = schema.table(given).map(|t| t.qualified_name());
        if resolved.as_deref() != Some(table.as_str()) {
            return Err(o.error(
                "table",
                o.get("table"),
                format!("does not match the table of the statement ({table})"),
                "drop `table` or make it name the statement's table",
            ));
        }
    }
    let keys = match o.str("keys")? {
        None | Some("uniform") => KeyPopularity::Uniform,
        Some("latest") => KeyPopularity::Latest,
        Some("sequential") => KeyPopularity::Sequential,
        Some(s) => match Distribution::parse(s, Quantity::Count) {
            Ok(Distribution::Zipf { s }) => KeyPopularity::Zipf(s),
            Err(e) if s.trim_start().to_ascii_lowercase().starts_with("zipf") => {
                return Err(o.error("keys", o.get("keys"), e.message, "write e.g. zipf(1.1)"))
            }
            _ => {
                return Err(o.error(
                    "keys",
                    o.get("keys"),
                    "is not a key popularity",
                    "use uniform, zipf(S), latest or sequential",
                ))
            }
        },
    };
    let clustering = match o.str("clustering")? {
        None | Some("increasing") => ClusteringPattern::Increasing,
        Some("random") => ClusteringPattern::Random,
        Some(_) => {
            return Err(o.error(
                "clustering",
                o.get("clustering"),
                "is not a clustering pattern",
                "use increasing (append, time series) or random (upsert into a population)",
            ))
        }
    };
    let target = match o.str("target")? {
        None | Some("oldest") => Target::Oldest,
        Some("newest") => Target::Newest,
        Some("random") => Target::Random,
        Some(_) => {
            return Err(o.error(
                "target",
                o.get("target"),
                "is not a target",
                "use oldest, newest or random",
            ))
        }
    };
    let consistency = match o.str("consistency")? {
        None => "LOCAL_ONE".to_string(),
        Some(c) if CONSISTENCY_LEVELS.contains(&c.to_ascii_uppercase().as_str()) => {
            c.to_ascii_uppercase()
        }
        Some(_) => {
            return Err(o.error(
                "consistency",
                o.get("consistency"),
                "is not a consistency level",
                format!("use one of {}", CONSISTENCY_LEVELS.join(", ")),
            ))
        }
    };
    let delay = o.distribution("delay", Quantity::Seconds)?;
    if delay.is_some() && analysis.read.is_some() {
        return Err(o.error(
            "delay",
            o.get("delay"),
            "applies to deletes and updates, not to reads",
            "remove it from the SELECT entry",
        ));
    }
    let name = o
        .str("name")?
        .map(str::to_string)
        .unwrap_or_else(|| format!("{} {}", stmt.kind.label(), table));
    o.finish(&KEYS)?;
    Ok(Operation {
        name,
        table,
        cql: cql_text.to_string(),
        rate_per_s,
        keys,
        clustering,
        consistency,
        target,
        delay,
        ttl_s: analysis.ttl_s,
        writes: analysis.writes,
        read: analysis.read,
        lwt: analysis.lwt,
        nulls,
    })
}

/// `nulls = { col = 0.3 }`: the share of writes that bind null to a column.
fn read_nulls(o: &Obj) -> Result<BTreeMap<String, f64>> {
    let mut nulls = BTreeMap::new();
    if let Some(t) = o.table("nulls")? {
        for col in t.table.keys() {
            let share = t.float(col, 0.0, 1.0)?.unwrap_or(0.0);
            nulls.insert(col.clone(), share);
        }
    }
    Ok(nulls)
}
