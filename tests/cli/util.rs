//! Shared helpers: run the binary, write temporary scenarios.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn cassim(args: &[&str]) -> Run {
    let out = Command::cargo_bin("cassim")
        .unwrap()
        .current_dir(root())
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Writes `content` (text or bytes) to a file named `name` in a fresh temporary directory and
/// returns its path.
pub fn temp_file(dir: &tempfile::TempDir, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, content).unwrap();
    p
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small valid scenario with a placeholder for extra TOML.
pub fn scenario(extra_workload: &str) -> String {
    format!(
        r#"
name = "t"
duration = "10d"
[cluster]
cassandra_version = "4.1"
datacenters = [{{ name = "dc1", nodes = 3, rf = 3 }}]
[node]
ram = "32GiB"
heap = "8GiB"
[schema]
cql = """
CREATE TABLE ks.t (pk int, ck timestamp, v text, m map<text, text>, PRIMARY KEY (pk, ck));
"""
[tables."ks.t"]
partitions = {{ entities = 100 }}
[[workload]]
cql = "INSERT INTO ks.t (pk, ck, v) VALUES (?, ?, ?) USING TTL 86400"
rate = "100/s"
{extra_workload}
"#
    )
}

/// A small TTL time series for behaviour tests (`tests/data/scenarios/ttl-series.toml`).
pub const TTL_SERIES: &str = "tests/data/scenarios/ttl-series.toml";

/// The outputs of one `cassim run`.
pub struct RunOutput {
    pub summary: serde_json::Value,
    pub summary_text: String,
    pub timeseries_text: String,
    pub stdout: String,
}

impl RunOutput {
    /// `timeseries.csv` rows of `table`, as column name to value.
    pub fn series(&self, table: &str) -> Vec<std::collections::BTreeMap<String, String>> {
        let mut lines = self.timeseries_text.lines();
        let header: Vec<String> = lines
            .next()
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect();
        lines
            .map(|l| {
                header
                    .iter()
                    .cloned()
                    .zip(l.split(',').map(str::to_string))
                    .collect()
            })
            .filter(|r: &std::collections::BTreeMap<String, String>| r["table"] == table)
            .collect()
    }

    /// A numeric column of `table` over time: `(t_s, value)`.
    pub fn column(&self, table: &str, column: &str) -> Vec<(f64, f64)> {
        self.series(table)
            .iter()
            .map(|r| (r["t_s"].parse().unwrap(), r[column].parse().unwrap()))
            .collect()
    }

    /// A number from `summary.json`, by JSON pointer from its root.
    pub fn number(&self, pointer: &str) -> f64 {
        self.summary
            .pointer(pointer)
            .and_then(|v| v.as_f64())
            .unwrap_or_else(|| panic!("{pointer} missing in {}", self.summary_text))
    }

    /// A per-table number from `summary.json`, by JSON pointer below the table.
    pub fn table(&self, table: &str, pointer: &str) -> f64 {
        self.number(&format!(
            "/tables/{}{pointer}",
            table.replace('~', "~0").replace('/', "~1")
        ))
    }

    /// A per-query number from `summary.json`, the query found by its name.
    pub fn query(&self, name: &str, pointer: &str) -> f64 {
        let k = self.summary["queries"]
            .as_array()
            .unwrap()
            .iter()
            .position(|q| q["name"] == name)
            .unwrap_or_else(|| panic!("no query {name}"));
        self.number(&format!("/queries/{k}{pointer}"))
    }
}

/// Runs `cassim run` on `scenario` with `--set` overrides into a temporary directory.
pub fn run_scenario(scenario: &str, sets: &[&str]) -> RunOutput {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut args = vec!["run", scenario, "--out", path_str(&out)];
    for s in sets {
        args.push("--set");
        args.push(s);
    }
    let run = cassim(&args);
    assert!(
        run.code == 0 || run.code == 1,
        "{scenario}: exit {}: {}{}",
        run.code,
        run.stderr,
        run.stdout
    );
    let summary_text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let timeseries_text = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    RunOutput {
        summary: serde_json::from_str(&summary_text).unwrap(),
        summary_text,
        timeseries_text,
        stdout: run.stdout,
    }
}
