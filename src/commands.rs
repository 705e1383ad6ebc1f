//! The commands behind the CLI, as library functions that return what to print and the exit code,
//! so that `main.rs` only parses arguments.

use std::collections::BTreeMap;
use std::path::Path;

use crate::check::{self, CheckReport};
use crate::defaults::CassandraVersion;
use crate::out_dir;
use crate::scenario::{InputError, Scenario};
use crate::schema::Schema;
use crate::{report, stress};

/// What a command prints and how it exits: 0 fine, 1 error-level findings, 2 invalid input.
pub struct Outcome {
    pub stdout: String,
    pub code: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

fn read(path: &Path) -> Result<String, InputError> {
    crate::scenario::input::read_text(path).map_err(|message| InputError::File {
        path: path.display().to_string(),
        message,
    })
}

/// Every variant of a scenario's `[sweep]` loads, as `cassim sweep` will load them: a bad value
/// or field path is an error of `check` too (it passed lists `sweep` then refused).
fn check_sweep_variants(
    path: &Path,
    scenario: &Scenario,
    vars: &BTreeMap<String, String>,
    sets: &[(String, String)],
) -> Result<(), InputError> {
    let Some(sweep) = &scenario.sweep else {
        return Ok(());
    };
    for values in crate::sweep::variants(sweep) {
        let mut all = sets.to_vec();
        all.extend(values.iter().cloned());
        match Scenario::load(path, vars, &all) {
            // The swept value or path: named where it is written, in [sweep].
            Err(InputError::Scenario(mut e)) if values.iter().any(|(p, _)| *p == e.path) => {
                e.path = format!("sweep.\"{}\"", e.path);
                return Err(e.into());
            }
            Err(e) => {
                let variant: Vec<String> =
                    values.iter().map(|(p, v)| format!("{p} = {v}")).collect();
                return Err(crate::scenario::ScenarioError::new(
                    "sweep".to_string(),
                    None,
                    format!("its variant {} fails: {e}", variant.join(", ")),
                    "fix the values in [sweep]".to_string(),
                )
                .into());
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Loads any input `check` accepts and reviews it.
pub fn check_file(
    path: &Path,
    schema_file: Option<&Path>,
    vars: &BTreeMap<String, String>,
    sets: &[(String, String)],
    version: CassandraVersion,
) -> Result<CheckReport, InputError> {
    check_file_in(path, schema_file, vars, sets, version, None)
}

/// [`check_file`], a bare schema's unqualified tables in `keyspace` (a migration written to run
/// inside one, as `USE ks;` would).
pub fn check_file_in(
    path: &Path,
    schema_file: Option<&Path>,
    vars: &BTreeMap<String, String>,
    sets: &[(String, String)],
    version: CassandraVersion,
    keyspace: Option<&str>,
) -> Result<CheckReport, InputError> {
    let name = path.display().to_string();
    crate::scenario::input::regular_file(path).map_err(|message| InputError::File {
        path: name.clone(),
        message,
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "toml" => {
            let scenario = Scenario::load(path, vars, sets)?;
            check_sweep_variants(path, &scenario, vars, sets)?;
            Ok(check::check_scenario(&name, &scenario))
        }
        "yaml" | "yml" => {
            let text = read(path)?;
            if let Some(statements) = stress::nosqlbench_statements(&text) {
                let mut schema = Schema::default();
                for (i, stmt) in statements.iter().enumerate() {
                    let src = crate::cql::Source::new(&format!("{name}#op{}", i + 1), stmt, vars)?;
                    let parsed = crate::cql::parse_source(&src)?;
                    schema.apply_source(&src, parsed, None)?;
                }
                let mut report = check::check_schema(&name, &schema, version);
                report.kind = "NoSQLBench workload".into();
                return Ok(report);
            }
            let schema_text = match schema_file {
                Some(p) => Some((p.display().to_string(), read(p)?)),
                None => None,
            };
            let schema_ref = schema_text.as_ref().map(|(p, t)| (p.as_str(), t.as_str()));
            let scenario_text = stress::import(&name, &text, schema_ref)?;
            let scenario = Scenario::from_str(&scenario_text, path, vars, sets)?;
            let mut report = check::check_scenario(&name, &scenario);
            report.kind = "cassandra-stress profile".into();
            Ok(report)
        }
        // `.cql.tmpl`: a schema template with placeholders (`--var`).
        "cql" | "tmpl" => {
            let text = read(path)?;
            let source = crate::cql::Source::new(&name, &text, vars)?;
            if crate::cql::parse_source(&source)?.is_empty() {
                return Err(InputError::File {
                    path: name,
                    message: "holds no CQL statement: give the schema's CREATE statements".into(),
                });
            }
            let schema = Schema::from_cql(&name, &text, vars, keyspace)?;
            Ok(check::check_schema(&name, &schema, version))
        }
        _ => Err(InputError::File {
            path: name,
            message: "is of no kind cassim reads: give a scenario (.toml), a schema (.cql, \
                      .cql.tmpl) or a stress profile (.yaml, .yml)"
                .into(),
        }),
    }
}

/// `cassim check FILE`.
pub fn check(
    path: &Path,
    schema_file: Option<&Path>,
    vars: &BTreeMap<String, String>,
    sets: &[(String, String)],
    (version, keyspace): (CassandraVersion, Option<&str>),
    format: Format,
) -> Outcome {
    match check_file_in(path, schema_file, vars, sets, version, keyspace) {
        Ok(report) => {
            let code = if report.has_errors() { 1 } else { 0 };
            let stdout = match format {
                Format::Text => report::render_check(&report),
                Format::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
            };
            Outcome { stdout, code }
        }
        Err(e) => invalid(e, format),
    }
}

fn invalid(e: InputError, format: Format) -> Outcome {
    let message = format!("error: {e}");
    match format {
        Format::Text => Outcome {
            stdout: String::new(),
            code: 2,
        }
        .with_stderr(&message),
        Format::Json => {
            let json = serde_json::json!({ "error": e.to_string() });
            Outcome {
                stdout: json.to_string() + "\n",
                code: 2,
            }
            .with_stderr(&message)
        }
    }
}

impl Outcome {
    fn with_stderr(self, message: &str) -> Outcome {
        eprintln!("{}", terminal_safe(message));
        self
    }
}

/// Text for the terminal: control characters other than line breaks and tabs escaped (`\u{1b}`),
/// so an input's escape codes are shown, never obeyed.
pub fn terminal_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `cassim import-stress PROFILE [--schema FILE]`.
pub fn import_stress(profile: &Path, schema: Option<&Path>) -> Outcome {
    let run = || -> Result<String, InputError> {
        let text = read(profile)?;
        let schema_text = match schema {
            Some(p) => Some((p.display().to_string(), read(p)?)),
            None => None,
        };
        stress::import(
            &profile.display().to_string(),
            &text,
            schema_text.as_ref().map(|(p, t)| (p.as_str(), t.as_str())),
        )
    };
    match run() {
        Ok(stdout) => Outcome { stdout, code: 0 },
        Err(e) => invalid(e, Format::Text),
    }
}

/// The scenario a command simulates: its file, the schema of a stress profile without
/// `table_definition`, template values, `--set` overrides and the seed.
pub struct ScenarioInput<'a> {
    pub scenario: &'a Path,
    pub schema: Option<&'a Path>,
    pub seed: Option<u64>,
    pub vars: BTreeMap<String, String>,
    pub sets: Vec<(String, String)>,
}

impl ScenarioInput<'_> {
    /// The scenario and the seed to run it with, or the outcome of invalid input.
    fn load(&self) -> Result<(Scenario, u64), Outcome> {
        match load_scenario(self.scenario, self.schema, &self.vars, &self.sets) {
            Ok(s) => {
                let seed = self.seed.unwrap_or(s.seed);
                Ok((s, seed))
            }
            Err(e) => Err(invalid(e, Format::Text)),
        }
    }
}

/// Options of `cassim run`.
pub struct RunOptions<'a> {
    pub input: ScenarioInput<'a>,
    pub out: Option<&'a Path>,
    pub parallel: bool,
    /// Run the per-row reference engine beside the aggregated one and compare them.
    pub reference: bool,
}

/// Loads a scenario: TOML, or a cassandra-stress profile imported on the fly.
fn load_scenario(
    path: &Path,
    schema: Option<&Path>,
    vars: &BTreeMap<String, String>,
    sets: &[(String, String)],
) -> Result<Scenario, InputError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "yaml" || ext == "yml" {
        let text = read(path)?;
        let schema_text = match schema {
            Some(p) => Some((p.display().to_string(), read(p)?)),
            None => None,
        };
        let schema_ref = schema_text.as_ref().map(|(p, t)| (p.as_str(), t.as_str()));
        let scenario_text = stress::import(&path.display().to_string(), &text, schema_ref)?;
        return Scenario::from_str(&scenario_text, path, vars, sets);
    }
    Scenario::load(path, vars, sets)
}

/// `cassim run SCENARIO [--out DIR] [--seed N] [--set path=value]...`: simulates and writes
/// `summary.json`, `timeseries.csv` and `queries.csv` into DIR (default `out/<scenario name>`). Every file is
/// written beside its final name first and renamed once all are ready, so a failure never leaves
/// a half-written report.
pub fn run(options: &RunOptions, progress: crate::sim::Progress) -> Outcome {
    let (scenario, seed) = match options.input.load() {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    if options.reference {
        return run_reference(&scenario, seed, options.out, progress);
    }
    let dir = options
        .out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir::default_dir(&scenario.name, ""));
    let staged = match out_dir::prepare(&dir) {
        Ok(s) => s,
        Err(e) => return out_error(options.out.is_some(), &dir, &e),
    };
    let (result, summary) = crate::sim::run(&scenario, seed, options.parallel, progress);
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "summary.json".into(),
            report::summary_json(&summary).into_bytes(),
        ),
        (
            "timeseries.csv".into(),
            report::timeseries_csv(&result).into_bytes(),
        ),
        (
            "queries.csv".into(),
            report::queries_csv(&result, &scenario).into_bytes(),
        ),
    ];
    match report::report_files(&scenario, &result, &summary) {
        Ok(more) => files.extend(more),
        Err(e) => {
            staged.abandon();
            return Outcome {
                stdout: String::new(),
                code: 2,
            }
            .with_stderr(&format!("error: drawing the charts: {e}"));
        }
    }
    if let Some(where_) = out_dir::non_finite(&files) {
        staged.abandon();
        return Outcome {
            stdout: String::new(),
            code: 2,
        }
        .with_stderr(&format!(
            "error: {where_} is not a finite number; no report was written\n  = hint: this is a bug in cassim: please report the scenario"
        ));
    }
    match staged.commit(&files) {
        Ok(written) => {
            let code = i32::from(
                summary
                    .findings
                    .iter()
                    .any(|f| f.severity == check::Severity::Error),
            );
            Outcome {
                stdout: report::render_run(&summary, &written),
                code,
            }
        }
        Err(e) => Outcome {
            stdout: String::new(),
            code: 2,
        }
        .with_stderr(&format!("error: {}: {e}", dir.display())),
    }
}

/// A report folder that cannot be written, named as the user gave it.
fn out_error(given: bool, dir: &Path, message: &str) -> Outcome {
    let what = if given { "--out " } else { "" };
    Outcome {
        stdout: String::new(),
        code: 2,
    }
    .with_stderr(&format!(
        "error: {what}{}: {message}\n  = hint: give --out a new or empty folder, or an earlier report's",
        dir.display()
    ))
}

/// `cassim run --reference`: the reference engine and the aggregated one on the same scenario and
/// seed; prints each table's compared quantities (means over the second half of the run) and
/// writes `reference.csv` (the reference engine's samples) and `agreement.json` into DIR.
fn run_reference(
    scenario: &Scenario,
    seed: u64,
    out: Option<&Path>,
    progress: crate::sim::Progress,
) -> Outcome {
    use crate::reference::compare;
    let scale = 1000.0;
    let tick = |done: f64, total: f64| progress((done / total * scale) as u64, scale as u64);
    let runs = match compare::run_both(scenario, seed, &tick) {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                stdout: String::new(),
                code: 2,
            }
            .with_stderr(&format!(
                "error: {}: {e}\n  hint: the reference engine keeps every row; run a scaled-down copy of the scenario",
                scenario.name
            ))
        }
    };
    let first = runs.reference.first().map(|r| r.table.clone());
    let samples = runs
        .reference
        .iter()
        .filter(|r| Some(&r.table) == first.as_ref())
        .count();
    let comparisons = compare::compare(&runs, samples / 2);
    let dir = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir::default_dir(&scenario.name, "-reference"));
    let json = serde_json::json!({ "seed": seed, "tables": comparisons });
    let files: Vec<(String, Vec<u8>)> = vec![
        (
            "reference.csv".into(),
            compare::csv(&runs.reference).into_bytes(),
        ),
        (
            "agreement.json".into(),
            format!(
                "{}\n",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            )
            .into_bytes(),
        ),
    ];
    match write_all(&dir, &files) {
        Ok(written) => Outcome {
            stdout: format!(
                "{}: reference and aggregated engines, seed {seed}\n{}wrote {}\n",
                scenario.name,
                compare::text(&comparisons),
                written.join(", ")
            ),
            code: 0,
        },
        Err(e) => Outcome {
            stdout: String::new(),
            code: 2,
        }
        .with_stderr(&format!("error: {}: {e}", dir.display())),
    }
}

/// Options of `cassim sweep`.
pub struct SweepOptions<'a> {
    pub files: Vec<&'a Path>,
    pub schema: Option<&'a Path>,
    pub vars: BTreeMap<String, String>,
    pub sets: Vec<(String, String)>,
    pub out: Option<&'a Path>,
    /// Runs at once (0: all cores).
    pub jobs: usize,
    /// Keep the runs an earlier, interrupted sweep finished.
    pub resume: bool,
    /// Run only shard `i` of `n` (1-based): the runs whose position is i - 1 modulo n, written
    /// into their folders for `cassim merge` (DESIGN.md 5).
    pub shard: Option<(usize, usize)>,
    /// Run nothing: every run must be finished in the output folder (`cassim merge`).
    pub merge: bool,
}

/// `cassim sweep FILE... [--jobs N] [--out DIR] [--resume]`: every variant of each scenario's
/// `[sweep]` and its seeds, in parallel; each run's outputs under its own folder as it finishes
/// (the first seed of a variant with its charts and reports), then `sweep.csv`, `sweep.json`,
/// comparison charts and the sweep's `summary.md` and `report.html`.
pub fn sweep(options: &SweepOptions, progress: &(dyn Fn(usize, usize) + Sync)) -> Outcome {
    use rayon::prelude::*;
    let mut bases = Vec::new();
    for f in &options.files {
        match load_scenario(f, options.schema, &options.vars, &options.sets) {
            Ok(s) => bases.push(s),
            Err(e) => return invalid(e, Format::Text),
        }
    }
    let mut labels: Vec<String> = Vec::new();
    for s in &bases {
        let mut l = report::slug(&s.name);
        if labels.contains(&l) {
            l = format!("{l}-{}", labels.len() + 1);
        }
        labels.push(l);
    }
    let tasks: Vec<crate::sweep::Task> = bases
        .iter()
        .enumerate()
        .flat_map(|(i, s)| crate::sweep::tasks(i, &labels[i], s.seed, s.sweep.as_ref()))
        .collect();
    // Every variant is loaded before any runs: a bad value or field path in a [sweep] is an
    // error naming it, not a failure after the other runs. Runs use these scenarios.
    let mut variants: BTreeMap<(usize, usize), Scenario> = BTreeMap::new();
    for t in tasks.iter().filter(|t| t.replica == 0) {
        let mut sets = options.sets.clone();
        sets.extend(t.values.iter().cloned());
        match load_scenario(options.files[t.file], options.schema, &options.vars, &sets) {
            Ok(s) => {
                variants.insert((t.file, t.variant), s);
            }
            Err(e) => {
                let values: Vec<String> =
                    t.values.iter().map(|(p, v)| format!("{p} = {v}")).collect();
                return Outcome {
                    stdout: String::new(),
                    code: 2,
                }
                .with_stderr(&format!(
                    "error: [sweep] variant {}: {e}",
                    values.join(", ")
                ));
            }
        }
    }
    let dir = options.out.map(Path::to_path_buf).unwrap_or_else(|| {
        out_dir::default_dir(&labels.first().cloned().unwrap_or_default(), "-sweep")
    });
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs)
        .build()
    {
        Ok(p) => p,
        Err(e) => {
            return Outcome {
                stdout: String::new(),
                code: 2,
            }
            .with_stderr(&format!("error: {e}"))
        }
    };
    let done = std::sync::atomic::AtomicUsize::new(0);
    let skipped = std::sync::atomic::AtomicUsize::new(0);
    let tasks: Vec<crate::sweep::Task> = match options.shard {
        Some((i, n)) => tasks
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % n == i - 1)
            .map(|(_, t)| t)
            .collect(),
        None => tasks,
    };
    let results: Vec<Result<crate::sweep::Row, String>> = pool.install(|| {
        tasks
            .par_iter()
            .map(|t| {
                let resumed = (options.resume || options.merge)
                    .then(|| finished(&dir.join(&t.dir)))
                    .flatten();
                if resumed.is_some() {
                    skipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                let summary = match resumed {
                    Some(s) => s,
                    None if options.merge => {
                        return Err(format!(
                            "{}: this run is not finished; run its shard (cassim sweep --shard) into {} first",
                            t.dir,
                            dir.display()
                        ))
                    }
                    None => sweep_run(&variants[&(t.file, t.variant)], t, &dir)?,
                };
                let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(k, tasks.len());
                Ok(crate::sweep::Row {
                    scenario: bases[t.file].name.clone(),
                    task: t.clone(),
                    outcomes: crate::sweep::Outcomes::of(&summary),
                })
            })
            .collect()
    });
    let mut rows = Vec::new();
    for r in results {
        match r {
            Ok(row) => rows.push(row),
            Err(e) => {
                return Outcome {
                    stdout: String::new(),
                    code: 2,
                }
                .with_stderr(&format!("error: {e}"))
            }
        }
    }
    if let Some((i, n)) = options.shard {
        return Outcome {
            stdout: format!(
                "cassim sweep: shard {i}/{n}: {} runs finished under {} ({} kept from an earlier run); once every shard's runs are in one folder, `cassim merge` writes the sweep's files\n",
                rows.len(),
                dir.display(),
                skipped.load(std::sync::atomic::Ordering::Relaxed)
            ),
            code: 0,
        };
    }
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("sweep.csv".into(), crate::sweep::csv(&rows).into_bytes()),
        (
            "sweep.json".into(),
            (serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n").into_bytes(),
        ),
    ];
    match report::sweep_files(&bases, &labels, &rows) {
        Ok(more) => files.extend(more),
        Err(e) => {
            return Outcome {
                stdout: String::new(),
                code: 2,
            }
            .with_stderr(&format!("error: drawing the sweep charts: {e}"))
        }
    }
    match write_all(&dir, &files) {
        Ok(written) => Outcome {
            stdout: report::render_sweep(
                &rows,
                skipped.load(std::sync::atomic::Ordering::Relaxed),
                &written,
            ),
            code: 0,
        },
        Err(e) => Outcome {
            stdout: String::new(),
            code: 2,
        }
        .with_stderr(&format!("error: {}: {e}", dir.display())),
    }
}

/// The `summary.json` of a run an earlier sweep finished in `dir`, if any (a run's files are
/// renamed into place only once all are written).
fn finished(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("summary.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// One run of a sweep: the variant's scenario at the run's seed, its outputs written into its
/// folder; returns its summary.
fn sweep_run(
    scenario: &Scenario,
    t: &crate::sweep::Task,
    dir: &Path,
) -> Result<serde_json::Value, String> {
    let (result, summary) = crate::sim::run(scenario, t.seed, false, &|_, _| {});
    let json = report::summary_json(&summary);
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "timeseries.csv".into(),
            report::timeseries_csv(&result).into_bytes(),
        ),
        (
            "queries.csv".into(),
            report::queries_csv(&result, scenario).into_bytes(),
        ),
    ];
    if t.replica == 0 {
        files.extend(report::report_files(scenario, &result, &summary)?);
    }
    // Renamed into place last: its presence is what `--resume` takes as a finished run.
    files.push(("summary.json".into(), json.clone().into_bytes()));
    let out = dir.join(&t.dir);
    write_all(&out, &files).map_err(|e| format!("{}: {e}", out.display()))?;
    serde_json::from_str(&json).map_err(|e| e.to_string())
}

/// Options of `cassim size`.
pub struct SizeOptions<'a> {
    pub input: ScenarioInput<'a>,
    pub out: Option<&'a Path>,
    /// Search heap sizes too (each candidate at its smallest healthy heap).
    pub heap: bool,
    /// Candidates run at once (0: all cores).
    pub jobs: usize,
}

/// `cassim size SCENARIO [--heap] [--jobs N] [--out DIR]`: runs the scenario, then candidate
/// clusters around its estimate, and prints each candidate's binding constraint and the smallest
/// that meets every limit. With `--out`, writes `sizing.json`. Exits 1 when no candidate meets
/// every limit.
pub fn size(options: &SizeOptions, progress: &(dyn Fn(usize, usize) + Sync)) -> Outcome {
    let (scenario, seed) = match options.input.load() {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    let report =
        crate::sizing::search::search(&scenario, seed, options.heap, options.jobs, progress);
    let mut written = Vec::new();
    if let Some(dir) = options.out {
        let json = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
        match write_all(dir, &[("sizing.json".to_string(), json.into_bytes())]) {
            Ok(w) => written = w,
            Err(e) => {
                return Outcome {
                    stdout: String::new(),
                    code: 2,
                }
                .with_stderr(&format!("error: {}: {e}", dir.display()))
            }
        }
    }
    Outcome {
        stdout: report::render_size(&report, &written),
        code: i32::from(report.recommended.is_none()),
    }
}

/// Writes files (paths relative to `dir`) atomically as a set: temporary names first, then
/// renames. Returns the paths written, charts summarised as one line per folder.
fn write_all(dir: &Path, files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut staged = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        let parent = path.parent().unwrap_or(dir).to_path_buf();
        std::fs::create_dir_all(&parent)?;
        let file_name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = parent.join(format!(".{file_name}.partial"));
        if let Err(e) = std::fs::write(&tmp, bytes) {
            for (t, _) in &staged {
                let _ = std::fs::remove_file(t);
            }
            return Err(e);
        }
        staged.push((tmp, path));
    }
    for (tmp, path) in staged {
        std::fs::rename(&tmp, &path)?;
    }
    Ok(out_dir::listing(dir, files))
}

/// Parses `name=value` pairs given to `--var` and `--set`.
pub fn parse_pairs(items: &[String], flag: &str) -> Result<Vec<(String, String)>, String> {
    items
        .iter()
        .map(|s| match s.split_once('=') {
            Some((k, _)) if k.trim().is_empty() => Err(format!(
                "{flag} {s}: the name before '=' is empty (write name=value)"
            )),
            Some((k, v)) => Ok((k.trim().to_string(), v.trim().to_string())),
            None => Err(format!("{flag} {s}: expected name=value")),
        })
        .collect()
}

/// Options of `cassim drive`.
pub struct DriveOptions<'a> {
    pub input: ScenarioInput<'a>,
    pub hosts: Vec<String>,
    /// Real seconds to play (default: the scenario's duration).
    pub duration_s: Option<f64>,
    pub out: Option<&'a Path>,
    /// The command that runs nodetool, split on spaces.
    pub nodetool: Option<String>,
    /// The first node's system.log.
    pub node_log: Option<&'a Path>,
}

/// `cassim drive SCENARIO --hosts H[,H...] [--duration D] [--out DIR]`: plays the workload on a
/// real cluster and writes what it measured (`summary.json`, `timeseries.csv`), all or none.
pub fn drive(options: &DriveOptions, progress: &crate::drive::Progress) -> Outcome {
    let (scenario, seed) = match options.input.load() {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    let opts = crate::drive::DriveOptions {
        hosts: options.hosts.clone(),
        duration_s: options.duration_s.unwrap_or(scenario.duration_s),
        seed,
        nodetool: options
            .nodetool
            .as_ref()
            .map(|c| c.split_whitespace().map(str::to_string).collect()),
        node_log: options.node_log.map(Path::to_path_buf),
    };
    let report = match crate::drive::drive(&scenario, &opts, progress) {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                stdout: format!("error: {e}\n"),
                code: 2,
            }
        }
    };
    let dir = options
        .out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir::default_dir(&scenario.name, "-drive"));
    let mut stdout = String::from("Asked and achieved rates:\n");
    for (name, asked, achieved) in &report.rates {
        stdout.push_str(&format!(
            "  {name:<30} asked {asked:>10.1}/s  achieved {achieved:>10.1}/s\n"
        ));
    }
    if !report.kept_up {
        stdout.push_str("warning: the cluster could not keep up with the asked rates (see summary.json's notes)\n");
    }
    match write_all(&dir, &report.files) {
        Ok(written) => {
            stdout.push_str("\nWritten:\n");
            for w in written {
                stdout.push_str(&format!("  {w}\n"));
            }
            Outcome { stdout, code: 0 }
        }
        Err(e) => Outcome {
            stdout: format!("error: cannot write into {}: {e}\n", dir.display()),
            code: 2,
        },
    }
}

/// `cassim node-config SCENARIO`: the real node's heap and cassandra.yaml entries for the
/// scenario, as JSON (read by `validation/cassandra start --scenario`).
pub fn node_config(input: &ScenarioInput) -> Outcome {
    match input.load() {
        Ok((scenario, _)) => {
            let config = crate::drive::node_config(&scenario);
            let mut stdout = serde_json::to_string_pretty(&config).unwrap_or_default();
            stdout.push('\n');
            Outcome { stdout, code: 0 }
        }
        Err(outcome) => outcome,
    }
}

/// `cassim compare SCENARIO --predicted DIR --measured DIR... --out DIR`: a prediction against
/// real runs, written as `comparison.json`, `comparison.md`, `comparison.html` and charts.
pub fn compare(
    input: &ScenarioInput,
    predicted: &Path,
    measured: &[std::path::PathBuf],
    out: &Path,
) -> Outcome {
    let (scenario, _) = match input.load() {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    let load = |dir: &Path| -> Result<crate::compare::RunFiles, String> {
        let s = read(&dir.join("summary.json")).map_err(|e| e.to_string())?;
        let summary = serde_json::from_str(&s)
            .map_err(|e| format!("{}: not JSON: {e}", dir.join("summary.json").display()))?;
        let timeseries = read(&dir.join("timeseries.csv")).map_err(|e| e.to_string())?;
        Ok(crate::compare::RunFiles {
            summary,
            timeseries,
        })
    };
    let fail = |e: String| Outcome {
        stdout: format!("error: {e}\n"),
        code: 2,
    };
    let predicted = match load(predicted) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let measured = match measured
        .iter()
        .map(|d| load(d))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let thresholds = crate::compare::thresholds(&scenario.settings);
    let files = match crate::compare::files(&scenario.name, &predicted, &measured, &thresholds) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let figures = crate::compare::compare(&predicted, &measured);
    let mut stdout = String::new();
    for f in &figures {
        stdout.push_str(&format!(
            "{:<24} {:<44} {:>8}  {}\n",
            f.table,
            f.label,
            f.relative_error
                .map_or("–".into(), |e| format!("{:+.0} %", e * 100.0)),
            f.verdict
        ));
    }
    match write_all(out, &files) {
        Ok(_) => {
            stdout.push_str(&format!("\nWritten: {}\n", out.display()));
            Outcome { stdout, code: 0 }
        }
        Err(e) => fail(format!("cannot write into {}: {e}", out.display())),
    }
}
