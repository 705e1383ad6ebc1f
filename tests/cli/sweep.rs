//! Batch runs (issue 6, items 5, 6 and 8): a sweep's rows are the separate runs of its variants,
//! its outputs do not depend on how many threads ran it, and `--resume` keeps what an
//! interrupted sweep finished.

use std::path::Path;

use super::util::{cassim, path_str, temp_file};

/// The TTL series with a sweep of two gc_grace_seconds and two seeds each.
fn scenario(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let text = std::fs::read_to_string(super::util::root().join(super::util::TTL_SERIES))
        .unwrap()
        .replace("duration = \"2d\"", "duration = \"12h\"")
        + "\n[sweep]\n\"tables.\\\"ks.events\\\".gc_grace_seconds\" = [600, 7200]\nreplicas = 2\n";
    temp_file(dir, "sweep.toml", &text)
}

fn sweep(file: &Path, out: &Path, extra: &[&str]) -> super::util::Run {
    let mut args = vec!["sweep", path_str(file), "--out", path_str(out)];
    args.extend_from_slice(extra);
    let r = cassim(&args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    r
}

fn csv_rows(out: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(out.join("sweep.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

/// Every file under `dir`, relative path to bytes.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_sweeps_rows_are_the_separate_runs_of_its_variants() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(&dir);
    let out = dir.path().join("sweep");
    let r = sweep(&file, &out, &["--jobs", "2"]);
    assert!(r.stdout.contains("cassim sweep: 4 runs"), "{}", r.stdout);
    let rows = csv_rows(&out);
    assert_eq!(rows.len(), 5, "a header and 2 variants × 2 seeds");
    let head = &rows[0];
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let seeds: std::collections::BTreeSet<&String> =
        rows[1..].iter().map(|r| &r[col("seed")]).collect();
    assert_eq!(seeds.len(), 4, "each run its own seed");
    for row in &rows[1..] {
        // The same variant run on its own with the seed the sweep gave it.
        let gc = &row[4];
        let seed = &row[col("seed")];
        let alone = dir.path().join(format!("alone-{seed}"));
        let set = format!("tables.\"ks.events\".gc_grace_seconds={gc}");
        let a = cassim(&[
            "run",
            path_str(&file),
            "--set",
            &set,
            "--seed",
            seed,
            "--out",
            path_str(&alone),
        ]);
        assert!(a.code <= 1, "{}", a.stderr);
        let folder = out.join(&row[col("dir")]);
        assert_eq!(
            std::fs::read(alone.join("summary.json")).unwrap(),
            std::fs::read(folder.join("summary.json")).unwrap(),
            "variant gc_grace_seconds={gc} seed {seed}"
        );
        assert_eq!(
            std::fs::read(alone.join("timeseries.csv")).unwrap(),
            std::fs::read(folder.join("timeseries.csv")).unwrap()
        );
    }
    // The first seed of each variant has its full report; the comparison charts exist.
    assert!(out.join(&rows[1][col("dir")]).join("report.html").exists());
    for key in [
        "p99-read-latency-ms",
        "p99-tombstones-per-read",
        "peak-heap-live-bytes",
        "disk-per-node-bytes",
        "max-partition-bytes",
    ] {
        assert!(
            out.join(format!("charts/ttl-series/sweep-{key}.png"))
                .exists(),
            "{key}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 4);
}

#[test]
fn a_sweep_gives_the_same_bytes_on_one_thread_and_on_two() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(&dir);
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    sweep(&file, &one, &["--jobs", "1"]);
    sweep(&file, &two, &["--jobs", "2"]);
    let (a, b) = (tree(&one), tree(&two));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{k} differs between --jobs 1 and --jobs 2");
    }
    assert!(a.len() > 40, "{} files", a.len());
}

#[test]
fn an_interrupted_sweep_resumes_without_rerunning_finished_variants() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(&dir);
    let out = dir.path().join("sweep");
    sweep(&file, &out, &["--jobs", "2"]);
    let full = tree(&out);
    let rows = csv_rows(&out);
    let dir_col = rows[0].iter().position(|h| h == "dir").unwrap();
    // An interruption: the last run never finished and the sweep's own files were never written.
    let unfinished = out.join(&rows[4][dir_col]);
    std::fs::remove_dir_all(&unfinished).unwrap();
    std::fs::remove_file(out.join("sweep.csv")).unwrap();
    // Mark the finished runs so a rerun of them would show.
    let kept = out.join(&rows[1][dir_col]).join("timeseries.csv");
    let stamp = std::fs::metadata(&kept).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let r = sweep(&file, &out, &["--jobs", "2", "--resume"]);
    assert!(
        r.stdout.contains("3 finished by an earlier sweep"),
        "{}",
        r.stdout
    );
    assert_eq!(std::fs::metadata(&kept).unwrap().modified().unwrap(), stamp);
    assert!(unfinished.join("summary.json").exists());
    // The resumed sweep's outputs are those of the uninterrupted one.
    let resumed = tree(&out);
    assert_eq!(
        full.keys().collect::<Vec<_>>(),
        resumed.keys().collect::<Vec<_>>()
    );
    for (k, v) in &full {
        assert!(v == &resumed[k], "{k} differs after --resume");
    }
}

#[test]
fn a_bad_swept_value_is_an_error_naming_the_variant_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(super::util::root().join(super::util::TTL_SERIES)).unwrap()
        + "\n[sweep]\n\"node.heap\" = [\"4GiB\", \"lots\"]\n";
    let file = temp_file(&dir, "bad.toml", &text);
    let out = dir.path().join("out");
    let r = cassim(&["sweep", path_str(&file), "--out", path_str(&out)]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("node.heap = lots"), "{}", r.stderr);
    assert!(r.stderr.contains("node.heap"), "{}", r.stderr);
    assert!(!out.exists(), "nothing written");
}

#[test]
fn sharded_runs_merged_equal_a_single_machine_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(&dir);
    let single = dir.path().join("single");
    sweep(&file, &single, &["--jobs", "2"]);
    // Three shards (as on three machines sharing a folder), then the merge.
    let merged = dir.path().join("merged");
    for shard in ["1/3", "2/3", "3/3"] {
        let r = sweep(&file, &merged, &["--shard", shard]);
        assert!(r.stdout.contains(&format!("shard {shard}")), "{}", r.stdout);
    }
    assert!(
        !merged.join("sweep.csv").exists(),
        "shards leave the sweep's files to the merge"
    );
    let r = cassim(&["merge", path_str(&file), "--out", path_str(&merged)]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let (a, b) = (tree(&single), tree(&merged));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(
            v == &b[k],
            "{k} differs between one machine and merged shards"
        );
    }
    // A merge with a shard missing names the run it lacks.
    let partial = dir.path().join("partial");
    sweep(&file, &partial, &["--shard", "1/2"]);
    let r = cassim(&["merge", path_str(&file), "--out", path_str(&partial)]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is not finished"), "{}", r.stderr);
}
