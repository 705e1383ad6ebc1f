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

/// Writes `text` to a file named `name` in a fresh temporary directory and returns its path.
pub fn temp_file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
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
