//! `cassim check`: validates a scenario, schema or stress profile and reviews it before any
//! simulation — per table, keys, clustering order, compaction, gc_grace_seconds, TTL, bytes per row
//! and what a partition reaches under the workload — then static findings in Cassandra's words.

mod findings;
pub mod projection;

use crate::defaults::CassandraVersion;
use crate::scenario::Scenario;
use crate::schema::sizes::RowShape;
use crate::schema::{Schema, Table};
pub(crate) use findings::finding;
pub use findings::{Finding, Severity};
use projection::{PartitionProjection, Traffic};

/// What `check` says about one table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableReport {
    pub table: String,
    pub partition_key: Vec<String>,
    pub clustering: Vec<String>,
    pub compaction: String,
    pub gc_grace_seconds: u64,
    pub default_time_to_live: u64,
    pub bloom_filter_fp_chance: f64,
    pub compression_chunk_kib: Option<u32>,
    pub view_of: Option<String>,
    /// TTL written by the workload (seconds), when a scenario gives one.
    pub ttl_written_s: Option<f64>,
    /// Uncompressed bytes per row as INSERT writes it (type defaults when no scenario says).
    pub bytes_per_row: f64,
    pub bytes_per_row_on_disk: f64,
    pub traffic: Option<Traffic>,
    pub projection: Option<PartitionProjection>,
}

/// The whole review.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    pub input: String,
    pub kind: String,
    pub cassandra_version: CassandraVersion,
    pub duration_s: Option<f64>,
    pub tables: Vec<TableReport>,
    pub findings: Vec<Finding>,
}

impl CheckReport {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

fn base_report(table: &Table, version: CassandraVersion) -> TableReport {
    let sizes = crate::schema::sizes::SizeModel::new(version, 86_400.0);
    let bytes = sizes.row(table, &RowShape::insert_all()).total;
    let compressed = table.options.effective_chunk_kib(version).is_some();
    let ratio = if compressed {
        crate::defaults::DEFAULT_COMPRESSION_RATIO
    } else {
        1.0
    };
    TableReport {
        table: table.qualified_name(),
        partition_key: table.partition_key.clone(),
        clustering: table
            .clustering
            .iter()
            .map(|(c, o)| {
                format!(
                    "{c} {}",
                    if *o == crate::schema::ClusteringOrder::Asc {
                        "ASC"
                    } else {
                        "DESC"
                    }
                )
            })
            .collect(),
        compaction: table.options.compaction.describe(),
        gc_grace_seconds: table.options.effective_gc_grace_seconds(),
        default_time_to_live: table.options.effective_default_ttl(),
        bloom_filter_fp_chance: table.options.effective_bloom_filter_fp_chance(),
        compression_chunk_kib: table.options.effective_chunk_kib(version),
        view_of: table.view_of.clone(),
        ttl_written_s: None,
        bytes_per_row: bytes,
        bytes_per_row_on_disk: bytes * ratio,
        traffic: None,
        projection: None,
    }
}

/// Reviews a schema alone (a `.cql` file): no workload, so no projections.
pub fn check_schema(input: &str, schema: &Schema, version: CassandraVersion) -> CheckReport {
    let tables: Vec<TableReport> = schema
        .tables
        .values()
        .map(|t| base_report(t, version))
        .collect();
    let findings = findings::schema_findings(schema, version);
    CheckReport {
        input: input.to_string(),
        kind: "schema".into(),
        cassandra_version: version,
        duration_s: None,
        tables,
        findings,
    }
}

/// Reviews a scenario: the schema's findings plus projections under the workload.
pub fn check_scenario(input: &str, scenario: &Scenario) -> CheckReport {
    let version = scenario.cluster.cassandra_version;
    let mut tables = Vec::new();
    let mut findings = findings::schema_findings(&scenario.schema, version);
    for table in scenario.schema.tables.values() {
        let mut report = base_report(table, version);
        let traffic = projection::traffic(scenario, &report.table);
        let writes = traffic.appended_rows_per_s + traffic.upserted_rows_per_s;
        if writes > 0.0 || traffic.reads_per_s > 0.0 {
            let p = projection::project(scenario, table, &traffic);
            report.bytes_per_row = p.row_bytes;
            report.bytes_per_row_on_disk = p.row_bytes_on_disk;
            report.ttl_written_s = Some(traffic.ttl_s);
            findings.extend(findings::table_findings(scenario, table, &traffic, &p));
            report.projection = Some(p);
        }
        report.traffic = Some(traffic);
        tables.push(report);
    }
    findings.extend(findings::scenario_findings(scenario));
    // The workload says whether writes carry a TTL; the schema-only guess no longer applies.
    findings.retain(|f| f.code != "twcs_without_default_ttl");
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.at_s.unwrap_or(0.0).total_cmp(&b.at_s.unwrap_or(0.0)))
    });
    CheckReport {
        input: input.to_string(),
        kind: "scenario".into(),
        cassandra_version: version,
        duration_s: Some(scenario.duration_s),
        tables,
        findings,
    }
}
