//! The real node's state each sample, through `nodetool` (any command that runs it, such as
//! `validation/cassandra nodetool`): per table the sstable count, live disk bytes, the largest
//! and mean compacted partition, the partition estimate and memtable flushes (`tablestats -F
//! json`); per node the heap in use (`info`), pending compactions (`compactionstats`) and the
//! time paused in GC (`gcstats`); and it flushes the trace tables (`sample`). A command that
//! serves (`Nodetool::open`) runs every call in one JVM. Parsing is separate from running so it
//! is tested on nodetool's own output.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// One table's state as `nodetool tablestats` reports it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TableState {
    pub sstables: f64,
    /// `Space used (live)`.
    pub disk_bytes: f64,
    /// `Compacted partition maximum bytes` (an EstimatedHistogram bucket's upper bound, so
    /// within about 20 % of the true size).
    pub max_partition_bytes: f64,
    pub mean_partition_bytes: f64,
    pub partitions: f64,
    /// `Memtable switch count`: flushes of this table since the node started.
    pub flushes: f64,
    /// `Maximum tombstones per slice (last five minutes)`.
    pub max_tombstones_per_slice: f64,
    /// `SSTable Compression Ratio`: compressed over uncompressed bytes of the live sstables
    /// (what a scenario's `compression_ratio` states for its data).
    pub compression_ratio: f64,
    /// SSTables per read at p50, p99 and max: over the sample's reads when nodetool is served
    /// (`parse_recent_histogram`), else `nodetool tablehistograms`' decaying percentiles.
    pub sstables_per_read: Option<[f64; 3]>,
}

/// The node's state in one sample.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct NodeState {
    pub tables: BTreeMap<String, TableState>,
    pub heap_used_bytes: Option<f64>,
    pub heap_max_bytes: Option<f64>,
    pub pending_compactions: Option<f64>,
    /// The share of the time since the previous `gcstats` spent in GC pauses.
    pub gc_pause_fraction: Option<f64>,
}

fn num(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Parses `nodetool tablestats -F json` for the `ks.t` names asked.
pub fn parse_tablestats(
    json: &str,
    tables: &[String],
) -> Result<BTreeMap<String, TableState>, String> {
    let root: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("tablestats output is not JSON: {e}"))?;
    let mut out = BTreeMap::new();
    for name in tables {
        let Some((ks, t)) = name.split_once('.') else {
            continue;
        };
        let Some(v) = root
            .get(ks)
            .and_then(|k| k.get("tables"))
            .and_then(|x| x.get(t))
        else {
            continue;
        };
        let f = |key: &str| v.get(key).and_then(num).unwrap_or(0.0);
        out.insert(
            name.clone(),
            TableState {
                sstables: f("sstable_count"),
                disk_bytes: f("space_used_live"),
                max_partition_bytes: f("compacted_partition_maximum_bytes"),
                mean_partition_bytes: f("compacted_partition_mean_bytes"),
                partitions: f("number_of_partitions_estimate"),
                flushes: f("memtable_switch_count"),
                max_tombstones_per_slice: f("maximum_tombstones_per_slice_last_five_minutes"),
                compression_ratio: f("sstable_compression_ratio"),
                sstables_per_read: None,
            },
        );
    }
    Ok(out)
}

/// The SSTables column of `nodetool tablehistograms` at 50 %, 99 % and Max.
pub fn parse_tablehistograms(text: &str) -> Option<[f64; 3]> {
    let at = |label: &str| -> Option<f64> {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(label))?;
        line.split_whitespace().nth(3)?.parse().ok()
    };
    Some([at("50%")?, at("99%")?, at("Max")?])
}

/// SSTables per read at p50, p99 and max over the reads since the previous call, from
/// `recent-histogram KS TABLE SSTablesPerReadHistogram` (validation/NodetoolServer.java: a line
/// "VALUE COUNT" a bucket); None when no read came. `tablehistograms` gives percentiles of a
/// reservoir that decays over minutes, so a sample's figure held reads of the samples before
/// (upserts-lcs: p99 2 with every read of the last sample touching one sstable).
pub fn parse_recent_histogram(text: &str) -> Option<[f64; 3]> {
    let pairs: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| {
            let (v, n) = l.trim().split_once(' ')?;
            Some((v.parse().ok()?, n.trim().parse().ok()?))
        })
        .filter(|&(_, n): &(f64, f64)| n > 0.0)
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let p = crate::metrics::Percentiles::weighted(&pairs);
    Some([p.p50, p.p99, p.max])
}

/// `Heap Memory (MB) : used / total` from `nodetool info`, in bytes.
pub fn parse_info_heap(text: &str) -> Option<(f64, f64)> {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Heap Memory"))?;
    let (_, v) = line.split_once(':')?;
    let (used, total) = v.split_once('/')?;
    let mib = 1024.0 * 1024.0;
    Some((
        used.trim().parse::<f64>().ok()? * mib,
        total.trim().parse::<f64>().ok()? * mib,
    ))
}

/// `pending tasks  N` from `nodetool compactionstats` (5.0 prints a table; older versions
/// `pending tasks: N`).
pub fn parse_pending(text: &str) -> Option<f64> {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("pending tasks"))?;
    let rest = line.trim_start().strip_prefix("pending tasks")?;
    rest.trim_start_matches([':', ' ', '\t'])
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The pause share from `nodetool gcstats`: total GC elapsed over the interval (both in ms, the
/// first and third numbers of its one row of figures).
pub fn parse_gcstats(text: &str) -> Option<f64> {
    let row = text.lines().rev().find(|l| {
        let t = l.trim();
        !t.is_empty()
            && t.split_whitespace()
                .all(|w| w.parse::<f64>().is_ok() || w == "NaN")
    })?;
    let nums: Vec<f64> = row
        .split_whitespace()
        .map(|w| w.parse().unwrap_or(0.0))
        .collect();
    let (interval, total) = (*nums.first()?, *nums.get(2)?);
    (interval > 0.0).then(|| (total / interval).clamp(0.0, 1.0))
}

/// How the drive runs nodetool: one JVM serving every call when the command offers `--serve`
/// (`validation/cassandra nodetool --serve`, protocol in validation/NodetoolServer.java), else a
/// process per call (any other nodetool command).
pub enum Nodetool {
    Serve(Mutex<Served>),
    Spawn(Vec<String>),
}

/// The serving JVM and its pipes.
pub struct Served {
    child: Child,
    /// Taken (closed) when dropped: the server's end of input.
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

/// How long a serving JVM may take to say it is ready (it compiles its source first).
const SERVE_START_S: u64 = 60;

impl Nodetool {
    /// Starts `prefix --serve` and waits for its `READY`; a command that does not serve (it
    /// exits, or says something else) is run once per call instead.
    pub fn open(prefix: Vec<String>) -> Result<Nodetool, String> {
        let (cmd, first) = prefix.split_first().ok_or("no nodetool command given")?;
        let spawned = Command::new(cmd)
            .args(first)
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = spawned else {
            return Ok(Nodetool::Spawn(prefix));
        };
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Nodetool::Spawn(prefix));
        };
        // The first line read on a thread, so a command that neither serves nor exits cannot
        // hold the drive.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let ok = reader.read_line(&mut line).is_ok() && line.trim() == "READY";
            let _ = tx.send(ok.then_some(reader));
        });
        match rx.recv_timeout(Duration::from_secs(SERVE_START_S)) {
            Ok(Some(stdout)) => Ok(Nodetool::Serve(Mutex::new(Served {
                child,
                stdin: Some(stdin),
                stdout,
            }))),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Ok(Nodetool::Spawn(prefix))
            }
        }
    }

    /// Whether a call costs little (a served call: tens of milliseconds, against a JVM's start).
    pub fn cheap(&self) -> bool {
        matches!(self, Nodetool::Serve(_))
    }

    /// Runs one nodetool command; its standard output, or why it failed.
    pub fn call(&self, args: &[&str]) -> Result<String, String> {
        let (status, out, err) = match self {
            Nodetool::Spawn(prefix) => spawn_call(prefix, args)?,
            Nodetool::Serve(served) => {
                let mut s = served
                    .lock()
                    .map_err(|_| "the nodetool server's lock is poisoned".to_string())?;
                s.call(args)
                    .map_err(|e| format!("nodetool {}: the server failed: {e}", args.join(" ")))?
            }
        };
        if status != 0 {
            let err = String::from_utf8_lossy(&err);
            let tail: Vec<&str> = err.lines().rev().take(3).collect();
            return Err(format!(
                "nodetool {} failed: {}",
                args.join(" "),
                tail.join(" | ")
            ));
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Runs commands, at once when each is a process (a JVM start each), in turn when served.
    pub fn calls(&self, list: &[Vec<&str>]) -> Vec<Result<String, String>> {
        if self.cheap() {
            return list.iter().map(|a| self.call(a)).collect();
        }
        std::thread::scope(|s| {
            let handles: Vec<_> = list.iter().map(|a| s.spawn(move || self.call(a))).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("a nodetool call panicked".into()))
                })
                .collect()
        })
    }
}

impl Served {
    fn call(&mut self, args: &[&str]) -> std::io::Result<(i32, Vec<u8>, Vec<u8>)> {
        use std::io::{Error, Read, Write};
        if args.iter().any(|a| a.contains(['\t', '\n'])) {
            return Err(Error::other("an argument holds a tab or a newline"));
        }
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| Error::other("the server's input is closed"))?;
        writeln!(stdin, "{}", args.join("\t"))?;
        stdin.flush()?;
        let mut header = String::new();
        self.stdout.read_line(&mut header)?;
        let nums: Vec<i64> = header
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let [status, out_len, err_len] = nums[..] else {
            return Err(Error::other(format!("unreadable answer {header:?}")));
        };
        let mut read = |n: i64| -> std::io::Result<Vec<u8>> {
            let mut buf = vec![0; usize::try_from(n).map_err(Error::other)?];
            self.stdout.read_exact(&mut buf)?;
            Ok(buf)
        };
        let out = read(out_len)?;
        let err = read(err_len)?;
        Ok((status as i32, out, err))
    }
}

impl Drop for Served {
    /// Closing its stdin ends the server; it is waited for so no process is left behind.
    fn drop(&mut self) {
        drop(self.stdin.take());
        // A second to exit, then killed.
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_call(prefix: &[String], args: &[&str]) -> Result<(i32, Vec<u8>, Vec<u8>), String> {
    let (cmd, first) = prefix.split_first().ok_or("no nodetool command given")?;
    let out = Command::new(cmd)
        .args(first)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `{cmd}`: {e}"))?;
    Ok((out.status.code().unwrap_or(-1), out.stdout, out.stderr))
}

/// Flushes `system_traces`: the traced reads' memtables share the memtable pool with the
/// scenario's tables, and left to grow they made the pool flush the scenario's tables at half
/// their size (upserts-stcs: 30 flushes where its own writes fill the pool 14 times). Flushed
/// every 15 s sample they still took up to 1 MiB of a 16 MiB pool's 5.3 MiB cleanup threshold
/// (the node's log: upserts-stcs flushed at 4.1 to 5.1 MiB, 6 flushes where cassim's 5 fill
/// it), and every 5 s up to 0.9 MiB, so the drive flushes them every second when a call is
/// cheap. The trace tables cannot be altered to flush themselves (`Cannot ALTER <table
/// system_traces.sessions>`).
pub fn flush_traces(nodetool: &Nodetool) -> Result<(), String> {
    nodetool.call(&["flush", "system_traces"]).map(|_| ())
}

/// Samples the node: every figure nodetool gives; a failing call leaves its figures out. The
/// trace tables are flushed first (`flush_traces`).
pub fn sample(nodetool: &Nodetool, tables: &[String]) -> (NodeState, Vec<String>) {
    let mut errors = Vec::new();
    let mut state = NodeState::default();
    if let Err(e) = flush_traces(nodetool) {
        errors.push(e);
    }
    let mut stats = vec!["tablestats", "-F", "json"];
    stats.extend(tables.iter().map(String::as_str));
    // Per sample when served (the reads since the last call), else nodetool's decaying
    // percentiles.
    let recent = nodetool.cheap();
    let hist_tables: Vec<(&String, Vec<&str>)> = tables
        .iter()
        .filter_map(|name| {
            let (ks, table) = name.split_once('.')?;
            let args = if recent {
                vec!["recent-histogram", ks, table, "SSTablesPerReadHistogram"]
            } else {
                vec!["tablehistograms", ks, table]
            };
            Some((name, args))
        })
        .collect();
    let mut list = vec![
        stats,
        vec!["info"],
        vec!["compactionstats"],
        vec!["gcstats"],
    ];
    list.extend(hist_tables.iter().map(|(_, a)| a.clone()));
    let mut results = nodetool.calls(&list).into_iter();
    let mut next = || {
        results
            .next()
            .unwrap_or_else(|| Err("a nodetool call gave no answer".into()))
    };
    let (stats, info, pending, gc) = (next(), next(), next(), next());
    match stats.and_then(|j| parse_tablestats(&j, tables)) {
        Ok(t) => state.tables = t,
        Err(e) => errors.push(e),
    }
    for (name, _) in &hist_tables {
        match next() {
            Ok(text) => {
                if let Some(t) = state.tables.get_mut(*name) {
                    t.sstables_per_read = if recent {
                        parse_recent_histogram(&text)
                    } else {
                        parse_tablehistograms(&text)
                    };
                }
            }
            Err(e) => errors.push(e),
        }
    }
    match info {
        Ok(t) => {
            if let Some((used, max)) = parse_info_heap(&t) {
                state.heap_used_bytes = Some(used);
                state.heap_max_bytes = Some(max);
            }
        }
        Err(e) => errors.push(e),
    }
    match pending {
        Ok(t) => state.pending_compactions = parse_pending(&t),
        Err(e) => errors.push(e),
    }
    match gc {
        Ok(t) => state.gc_pause_fraction = parse_gcstats(&t),
        Err(e) => errors.push(e),
    }
    (state, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        ["sh", "-c", script, "sh"].map(String::from).to_vec()
    }

    #[test]
    fn a_serving_command_answers_every_call_in_one_process() {
        // Echoes each request's arguments back, in the server's framing.
        let server = r#"[ "$1" = --serve ] || exit 3; echo READY
            while IFS= read -r l; do printf '0 %d 0\n%s' "${#l}" "$l"; done"#;
        let n = Nodetool::open(sh(server)).unwrap();
        assert!(n.cheap());
        assert_eq!(
            n.call(&["tablestats", "-F", "json"]).unwrap(),
            "tablestats\t-F\tjson"
        );
        let both = n.calls(&[vec!["info"], vec!["gcstats"]]);
        assert_eq!(
            both,
            vec![Ok("info".to_string()), Ok("gcstats".to_string())]
        );
        assert!(n.call(&["a\tb"]).is_err(), "a tab would split an argument");
    }

    #[test]
    fn a_command_that_does_not_serve_runs_once_a_call() {
        let n = Nodetool::open(sh(r#"echo "$@""#)).unwrap();
        assert!(!n.cheap());
        assert_eq!(n.call(&["info"]).unwrap(), "info\n");
        let failing = Nodetool::open(sh("echo no >&2; exit 1")).unwrap();
        let e = failing.call(&["info"]).unwrap_err();
        assert!(e.contains("nodetool info failed: no"), "{e}");
    }

    #[test]
    fn recent_histogram_counts_give_the_sample_reads_percentiles() {
        // 98 reads of one sstable, 1 of two, 1 of ten (the bucket ending at 10).
        let p = parse_recent_histogram("1 98\n2 1\n10 1\n").unwrap();
        assert_eq!(p, [1.0, 2.0, 10.0]);
        assert_eq!(parse_recent_histogram("0 5\n").unwrap(), [0.0, 0.0, 0.0]);
        assert_eq!(parse_recent_histogram(""), None);
    }

    #[test]
    fn tablestats_json_gives_the_tables_asked() {
        let json = r#"{"ks": {"tables": {"t": {"sstable_count": 3, "space_used_live": "6882",
            "compacted_partition_maximum_bytes": 770, "compacted_partition_mean_bytes": 700,
            "number_of_partitions_estimate": 1, "memtable_switch_count": 7,
            "maximum_tombstones_per_slice_last_five_minutes": 12}}}, "total_number_of_tables": 1}"#;
        let t = parse_tablestats(json, &["ks.t".into(), "ks.u".into()]).unwrap();
        assert_eq!(t.len(), 1);
        let s = &t["ks.t"];
        assert_eq!((s.sstables, s.disk_bytes, s.flushes), (3.0, 6882.0, 7.0));
        assert_eq!(s.max_tombstones_per_slice, 12.0);
    }

    #[test]
    fn tablehistograms_give_sstables_per_read() {
        let text = "system/local histograms\nPercentile      Read Latency     Write Latency          SSTables    Partition Size        Cell Count\n                    (micros)          (micros)                             (bytes)\n50%                  2299.00            642.00              2.00               770                42\n99%                 73457.00           9887.00              7.00               770                42\nMin                   180.00             73.00              0.00               643                36\nMax                 73457.00           9887.00              8.00               770                42\n";
        assert_eq!(parse_tablehistograms(text), Some([2.0, 7.0, 8.0]));
    }

    #[test]
    fn info_compactionstats_and_gcstats() {
        let info = "ID                     : x\nHeap Memory (MB)       : 256.50 / 1024.00\n";
        assert_eq!(
            parse_info_heap(info),
            Some((256.5 * 1048576.0, 1024.0 * 1048576.0))
        );
        assert_eq!(parse_pending("pending tasks: 4\n"), Some(4.0));
        let five = "concurrent compactors            2          \npending tasks                    3          \n";
        assert_eq!(parse_pending(five), Some(3.0));
        let gc = "       Interval (ms) Max GC Elapsed (ms)Total GC Elapsed (ms)Stdev GC Elapsed (ms)   GC Reclaimed (MB)         Collections      Direct Memory Bytes\n          10000                  20                  50                   5           100                   3                       -1\n";
        assert_eq!(parse_gcstats(gc), Some(0.005));
    }
}
