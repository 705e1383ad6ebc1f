//! The `cassim` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use cassim::commands::{self, Format};
use cassim::defaults::CassandraVersion;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The CLI's allocator (the benchmarks use it too): the engine builds and drops many small
/// vectors, and mimalloc makes R1 6 % cheaper in instructions than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cassim",
    version,
    about = "Predicts what a Cassandra schema and workload do to a cluster over weeks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

/// The scenario a simulating command reads, and how.
#[derive(Args)]
struct ScenarioArgs {
    /// The scenario (.toml), or a cassandra-stress user profile (.yaml).
    scenario: PathBuf,
    /// Seed (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Override a scenario field by its path, path=value (e.g. node.heap=4GiB).
    #[arg(long = "set")]
    sets: Vec<String>,
    /// Template values for the schema, name=value.
    #[arg(long = "var")]
    vars: Vec<String>,
    /// The schema, for a cassandra-stress profile without table_definition.
    #[arg(long)]
    schema: Option<PathBuf>,
}

impl ScenarioArgs {
    fn input(&self) -> Result<commands::ScenarioInput<'_>, String> {
        let (vars, sets) = pairs(&self.vars, &self.sets)?;
        Ok(commands::ScenarioInput {
            scenario: &self.scenario,
            schema: self.schema.as_deref(),
            seed: self.seed,
            vars,
            sets,
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Validate a scenario (.toml), schema (.cql) or stress profile (.yaml) and review it.
    Check {
        file: PathBuf,
        /// Template values, name=value (for ${name}, $NAME$, TEMPLATE(name,default), <<name:default>>).
        #[arg(long = "var")]
        vars: Vec<String>,
        /// Override a scenario field by its path, path=value (e.g. node.heap=4GiB).
        #[arg(long = "set")]
        sets: Vec<String>,
        /// The schema, for a stress profile without table_definition.
        #[arg(long)]
        schema: Option<PathBuf>,
        /// Cassandra version for a bare schema or profile: 3.11, 4.0, 4.1 or 5.0.
        #[arg(long, default_value = "4.1")]
        cassandra_version: String,
        /// The keyspace a bare schema's unqualified tables are in (a migration run inside one).
        #[arg(long)]
        keyspace: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Simulate a scenario and write its report: summary.md, report.html, charts, summary.json, CSVs.
    Run {
        #[command(flatten)]
        input: ScenarioArgs,
        /// Output directory (default: out/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Simulate nodes one after another instead of in parallel (results are identical).
        #[arg(long)]
        single_thread: bool,
        /// Also run the per-row reference engine (small scenarios, compaction_throughput = 0)
        /// and compare the two engines.
        #[arg(long)]
        reference: bool,
    },
    /// Find the smallest cluster that meets every limit: runs candidate node counts in parallel.
    Size {
        #[command(flatten)]
        input: ScenarioArgs,
        /// Also search heap sizes: each candidate runs at its smallest healthy heap.
        #[arg(long)]
        heap: bool,
        /// Candidates run at once (default: all cores).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// Write sizing.json into this directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run every variant of the scenarios' [sweep] sections and their seeds in parallel.
    Sweep {
        /// Scenarios (.toml) with a [sweep] section (one without runs once).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Runs at once (default: all cores).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// Output directory (default: out/<first scenario>-sweep).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Keep the runs an earlier, interrupted sweep into the same directory finished.
        #[arg(long)]
        resume: bool,
        /// Run only shard I of N (e.g. 2/8): a slice of the runs, for batch schedulers; then
        /// `cassim merge` over the runs of every shard.
        #[arg(long, value_parser = parse_shard)]
        shard: Option<(usize, usize)>,
        /// Override a field of every scenario, path=value.
        #[arg(long = "set")]
        sets: Vec<String>,
        /// Template values for the schema, name=value.
        #[arg(long = "var")]
        vars: Vec<String>,
        /// The schema, for a cassandra-stress profile without table_definition.
        #[arg(long)]
        schema: Option<PathBuf>,
    },
    /// Combine the runs of a sharded sweep (every shard's folders under --out) into its files.
    Merge {
        /// The same scenarios the shards ran.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The folder holding every shard's runs; the sweep's files are written there.
        #[arg(long)]
        out: PathBuf,
        /// The same overrides the shards ran with, path=value.
        #[arg(long = "set")]
        sets: Vec<String>,
        /// Template values for the schema, name=value.
        #[arg(long = "var")]
        vars: Vec<String>,
        /// The schema, for a cassandra-stress profile without table_definition.
        #[arg(long)]
        schema: Option<PathBuf>,
    },
    /// Play a scenario's workload against a real Cassandra cluster and measure it: summary.json
    /// and timeseries.csv under `cassim run`'s names, for side-by-side comparison.
    Drive {
        #[command(flatten)]
        input: ScenarioArgs,
        /// Contact points, comma-separated (host or host:port; port 9042 by default).
        #[arg(long, value_delimiter = ',', required = true)]
        hosts: Vec<String>,
        /// Real time to play (default: the scenario's duration), e.g. 5m.
        #[arg(long)]
        duration: Option<String>,
        /// Output directory (default: out/<scenario name>-drive).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Command that runs nodetool against the first host, e.g. "validation/cassandra nodetool";
        /// without it the node's state (sstables, disk, heap) is not sampled.
        #[arg(long)]
        nodetool: Option<String>,
        /// The first node's system.log, with TimeWindowCompactionStrategy logging at DEBUG
        /// (validation/cassandra's node does): when TWCS dropped fully expired sstables.
        #[arg(long)]
        node_log: Option<PathBuf>,
    },
    /// Compare a prediction (`cassim run`'s folder) with real runs (`cassim drive`'s folders).
    Compare {
        #[command(flatten)]
        input: ScenarioArgs,
        /// The folder `cassim run` wrote.
        #[arg(long)]
        predicted: PathBuf,
        /// A folder `cassim drive` wrote; give it twice for the real node's own spread.
        #[arg(long, required = true)]
        measured: Vec<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the real node's heap and cassandra.yaml settings for a scenario, as JSON.
    NodeConfig {
        #[command(flatten)]
        input: ScenarioArgs,
    },
    /// Convert a cassandra-stress user profile into a scenario, written to stdout.
    ImportStress {
        profile: PathBuf,
        /// The schema, for a profile without table_definition.
        #[arg(long)]
        schema: Option<PathBuf>,
    },
}

/// A progress bar on stderr when it is a terminal; none otherwise (pipes, CI, tests).
fn progress_bar() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(1);
    let style =
        indicatif::ProgressStyle::with_template("simulating {bar:40} {percent}% ({eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

/// Runs `f` with a progress callback that drives the bar, and clears the bar after.
fn with_progress(
    f: impl FnOnce(&(dyn Fn(u64, u64) + Sync)) -> commands::Outcome,
) -> commands::Outcome {
    let bar = progress_bar();
    let outcome = f(&|done, total| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    outcome
}

/// `I/N` with 1 ≤ I ≤ N.
fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("{s}: write the shard as I/N, e.g. 2/8"))?;
    let (i, n): (usize, usize) = (
        i.trim()
            .parse()
            .map_err(|_| format!("{s}: I is not a number"))?,
        n.trim()
            .parse()
            .map_err(|_| format!("{s}: N is not a number"))?,
    );
    if i == 0 || i > n {
        return Err(format!("{s}: shards count from 1 to N"));
    }
    Ok((i, n))
}

/// Template values and `--set` overrides.
type Pairs = (
    std::collections::BTreeMap<String, String>,
    Vec<(String, String)>,
);

/// Parses `--var` and `--set` pairs.
fn pairs(vars: &[String], sets: &[String]) -> Result<Pairs, String> {
    let vars = commands::parse_pairs(vars, "--var")?;
    let sets = commands::parse_pairs(sets, "--set")?;
    Ok((vars.into_iter().collect(), sets))
}

/// Runs a command; an error here is bad arguments (exit status 2).
fn dispatch(command: Command) -> Result<commands::Outcome, String> {
    Ok(match command {
        Command::Check {
            file,
            vars,
            sets,
            schema,
            cassandra_version,
            keyspace,
            format,
        } => {
            let (vars, sets) = pairs(&vars, &sets)?;
            let version = CassandraVersion::parse(&cassandra_version).ok_or_else(|| {
                format!("--cassandra-version {cassandra_version}: use 3.11, 4.0, 4.1 or 5.0")
            })?;
            let format = match format {
                OutputFormat::Text => Format::Text,
                OutputFormat::Json => Format::Json,
            };
            let target = (version, keyspace.as_deref());
            commands::check(&file, schema.as_deref(), &vars, &sets, target, format)
        }
        Command::Run {
            input,
            out,
            single_thread,
            reference,
        } => {
            let options = commands::RunOptions {
                input: input.input()?,
                out: out.as_deref(),
                parallel: !single_thread,
                reference,
            };
            with_progress(|p| commands::run(&options, &|done, total| p(done, total)))
        }
        Command::Size {
            input,
            heap,
            jobs,
            out,
        } => {
            let options = commands::SizeOptions {
                input: input.input()?,
                out: out.as_deref(),
                heap,
                jobs,
            };
            with_progress(|p| commands::size(&options, &|done, total| p(done as u64, total as u64)))
        }
        Command::Sweep {
            files,
            jobs,
            out,
            resume,
            shard,
            sets,
            vars,
            schema,
        } => {
            let (vars, sets) = pairs(&vars, &sets)?;
            let options = commands::SweepOptions {
                files: files.iter().map(PathBuf::as_path).collect(),
                schema: schema.as_deref(),
                vars,
                sets,
                out: out.as_deref(),
                jobs,
                resume,
                shard,
                merge: false,
            };
            with_progress(|p| {
                commands::sweep(&options, &|done, total| p(done as u64, total as u64))
            })
        }
        Command::Merge {
            files,
            out,
            sets,
            vars,
            schema,
        } => {
            let (vars, sets) = pairs(&vars, &sets)?;
            let options = commands::SweepOptions {
                files: files.iter().map(PathBuf::as_path).collect(),
                schema: schema.as_deref(),
                vars,
                sets,
                out: Some(&out),
                jobs: 0,
                resume: false,
                shard: None,
                merge: true,
            };
            commands::sweep(&options, &|_, _| {})
        }
        Command::Drive {
            input,
            hosts,
            duration,
            out,
            nodetool,
            node_log,
        } => {
            let duration_s = duration
                .map(|d| cassim::units::parse_duration(&d))
                .transpose()
                .map_err(|e| format!("--duration: {} ({})", e.message, e.hint))?;
            let options = commands::DriveOptions {
                input: input.input()?,
                hosts,
                duration_s,
                out: out.as_deref(),
                nodetool,
                node_log: node_log.as_deref(),
            };
            // Progress goes to stderr as lines, on a terminal or not (CI logs show them too).
            commands::drive(&options, &|line| eprintln!("drive: {line}"))
        }
        Command::Compare {
            input,
            predicted,
            measured,
            out,
        } => commands::compare(&input.input()?, &predicted, &measured, &out),
        Command::NodeConfig { input } => commands::node_config(&input.input()?),
        Command::ImportStress { profile, schema } => {
            commands::import_stress(&profile, schema.as_deref())
        }
    })
}

fn main() -> ExitCode {
    match dispatch(Cli::parse().command) {
        Ok(outcome) => {
            print!("{}", commands::terminal_safe(&outcome.stdout));
            ExitCode::from(outcome.code as u8)
        }
        Err(e) => {
            eprintln!("error: {}", commands::terminal_safe(&e.to_string()));
            ExitCode::from(2)
        }
    }
}
