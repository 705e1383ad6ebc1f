//! `cassim drive`: plays a scenario's workload against a real Cassandra cluster and measures what
//! the simulation predicts, so the two can be put side by side (issue 22). The stages:
//! `plan` decides each request (pure, seeded), `values` binds it, `client` sends it and traces a
//! share of the reads, `server` samples the node through nodetool, `nodelog` reads what only
//! the node's log tells (TWCS drops), `record` keeps the measurements and `output` writes `summary.json` and `timeseries.csv` under `cassim run`'s
//! names. `node_config` turns a scenario into the real node's cassandra.yaml and heap.

mod client;
pub mod node_config;
pub mod nodelog;
mod output;
pub mod plan;
pub mod record;
pub mod server;
pub mod values;

use std::sync::Arc;

use crate::scenario::Scenario;

pub use node_config::{node_config, NodeConfig};

/// How to drive.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// Contact points (host or host:port; 9042 when no port).
    pub hosts: Vec<String>,
    /// Seconds of real time to play (the scenario's duration by default).
    pub duration_s: f64,
    pub seed: u64,
    /// A command that runs nodetool against the cluster's first node (e.g.
    /// `validation/cassandra nodetool`); without it the node's state is not sampled.
    pub nodetool: Option<Vec<String>>,
    /// The first node's `system.log`, read at the end for what only the log tells (`nodelog`).
    pub node_log: Option<std::path::PathBuf>,
}

/// Reports progress lines (elapsed time, achieved rates).
pub type Progress = dyn Fn(&str) + Sync + Send;

/// Why a drive could not run.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error("cannot reach the cluster at {0}: {1}\n  hint: is Cassandra running and listening for CQL there? (`validation/cassandra start` starts a local node)")]
    Unreachable(String, String),
    #[error("keyspace `{0}` exists on the cluster and cassim drive did not create it\n  hint: drive never drops a keyspace it did not create; drop it yourself or rename the scenario's keyspace")]
    ForeignKeyspace(String),
    #[error("`{0}` failed: {1}")]
    Cql(String, String),
    #[error("cannot start the client runtime: {0}")]
    Runtime(String),
}

/// The files a drive writes, by name.
pub struct DriveReport {
    pub files: Vec<(String, Vec<u8>)>,
    /// One line per statement: asked and achieved rates.
    pub rates: Vec<(String, f64, f64)>,
    pub kept_up: bool,
}

/// Plays `scenario` against the cluster and returns its files.
pub fn drive(
    scenario: &Scenario,
    opts: &DriveOptions,
    progress: &Progress,
) -> Result<DriveReport, DriveError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| DriveError::Runtime(e.to_string()))?;
    let shared = Arc::new(scenario.clone());
    let measured = runtime.block_on(client::run(shared, opts, progress))?;
    // A log that cannot be read leaves the log's figures out, as a failing nodetool does.
    let log = opts
        .node_log
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok());
    let tables: Vec<String> = scenario.tables.keys().cloned().collect();
    let drops = log.map(|text| {
        nodelog::first_expired_drops(
            &text,
            &tables,
            measured.start_unix_ms,
            scenario.sample_every_s,
        )
    });
    let rates = output::rates(&measured, scenario, opts.duration_s);
    let kept_up = rates.iter().all(|(_, a, b)| output::kept_up(*a, *b));
    let summary = output::summary(
        &measured,
        scenario,
        opts.seed,
        &opts.hosts,
        opts.duration_s,
        &rates,
        drops.as_ref(),
    );
    let node = opts.hosts.first().cloned().unwrap_or_default();
    let csv = output::timeseries(&measured, scenario, &node);
    let mut json = serde_json::to_string_pretty(&summary).unwrap_or_default();
    json.push('\n');
    Ok(DriveReport {
        files: vec![
            ("summary.json".into(), json.into_bytes()),
            ("timeseries.csv".into(), csv.into_bytes()),
        ],
        rates,
        kept_up,
    })
}
