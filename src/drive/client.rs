//! The client side of `cassim drive`: connects to the cluster (refusing an unreachable one
//! within 10 s), creates the scenario's keyspaces and tables (never touching a keyspace it did not
//! create), prepares each workload statement, then sends the plan's requests at their due times
//! (open loop: a slow cluster shows as latency measured from the due time and as achieved rates
//! below the asked ones), traces a share of the reads, and samples the node every
//! `sample_every`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;
use scylla::value::CqlValue;
use tokio::sync::Semaphore;

use super::plan::{Plan, Request, Tick};
use super::record::{parse_trace_event, Outcome, Recorder};
use super::server::{self, NodeState};
use super::values::{ordinal_value, payload_rng, payload_value, role_of, Role};
use super::{DriveError, DriveOptions, Progress};
use crate::scenario::Scenario;

/// A table created by drive carries this marker table beside it, so a later drive knows the
/// keyspace is its own to drop and recreate.
const MARKER: &str = "cassim_drive_marker";

/// Requests in flight at most; past it the client waits, and the lateness shows in latency.
const MAX_IN_FLIGHT: usize = 512;

/// A prepared statement and what each of its markers binds.
struct Prepared {
    statement: PreparedStatement,
    traced: PreparedStatement,
    roles: Vec<Role>,
    types: Vec<scylla::cluster::metadata::ColumnType<'static>>,
    tick: Tick,
    is_read: bool,
    /// The share of this statement's reads sent with tracing on.
    trace_share: f64,
}

/// What the run measured.
pub struct Measured {
    pub recorder: Recorder,
    /// `(sample end in seconds, the node's state)`.
    pub node: Vec<(f64, NodeState)>,
    pub elapsed_s: f64,
    pub skipped: Vec<u64>,
    pub planned: Vec<u64>,
    pub release_version: String,
    pub node_errors: Vec<String>,
    /// The wall clock when the workload began.
    pub start_unix_ms: u64,
}

fn consistency(name: &str) -> Consistency {
    match name {
        "ANY" => Consistency::Any,
        "ONE" => Consistency::One,
        "TWO" => Consistency::Two,
        "THREE" => Consistency::Three,
        "QUORUM" => Consistency::Quorum,
        "EACH_QUORUM" => Consistency::EachQuorum,
        "ALL" => Consistency::All,
        "LOCAL_ONE" => Consistency::LocalOne,
        "SERIAL" => Consistency::Serial,
        "LOCAL_SERIAL" => Consistency::LocalSerial,
        _ => Consistency::LocalQuorum,
    }
}

async fn connect(hosts: &[String]) -> Result<Session, DriveError> {
    let builder = SessionBuilder::new()
        .known_nodes(hosts)
        .connection_timeout(Duration::from_secs(5));
    match tokio::time::timeout(Duration::from_secs(10), builder.build()).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(DriveError::Unreachable(hosts.join(","), e.to_string())),
        Err(_) => Err(DriveError::Unreachable(
            hosts.join(","),
            "no answer within 10 s".into(),
        )),
    }
}

async fn run_cql(session: &Session, cql: &str) -> Result<(), DriveError> {
    session
        .query_unpaged(cql, ())
        .await
        .map_err(|e| DriveError::Cql(cql.to_string(), e.to_string()))?;
    Ok(())
}

/// The text values of the first column a query by keyspace returns.
async fn names_by_keyspace(
    session: &Session,
    q: &str,
    ks: &str,
) -> Result<Vec<String>, DriveError> {
    let fail = |e: String| DriveError::Cql(q.into(), e);
    let rows = session
        .query_unpaged(q, (ks,))
        .await
        .map_err(|e| fail(e.to_string()))?
        .into_rows_result()
        .map_err(|e| fail(e.to_string()))?;
    let names = rows
        .rows::<(String,)>()
        .map_err(|e| fail(e.to_string()))?
        .filter_map(|r| r.ok().map(|r| r.0))
        .collect();
    Ok(names)
}

/// Drops the scenario's keyspaces an earlier drive created (they hold cassim's marker table, and
/// are created again); a keyspace of the same name that drive did not create stops the drive.
async fn drop_own_keyspaces(session: &Session, scenario: &Scenario) -> Result<(), DriveError> {
    for ks in scenario.schema.keyspaces.keys() {
        let q = "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?";
        if !names_by_keyspace(session, q, ks).await?.is_empty() {
            let q = "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?";
            let tables = names_by_keyspace(session, q, ks).await?;
            if !tables.iter().any(|t| t == MARKER) {
                return Err(DriveError::ForeignKeyspace(ks.clone()));
            }
            run_cql(session, &format!("DROP KEYSPACE \"{ks}\"")).await?;
        }
    }
    Ok(())
}

/// Creates the scenario's keyspaces and tables, and cassim's marker table in each keyspace.
async fn create_schema(session: &Session, scenario: &Scenario) -> Result<(), DriveError> {
    for stmt in &scenario.schema.ddl {
        if let Some(ks) = stmt
            .trim_start()
            .strip_prefix("USE ")
            .or_else(|| stmt.trim_start().strip_prefix("use "))
        {
            session
                .use_keyspace(ks.trim().trim_matches('"'), true)
                .await
                .map_err(|e| DriveError::Cql(stmt.clone(), e.to_string()))?;
            continue;
        }
        run_cql(session, stmt).await?;
    }
    for ks in scenario.schema.keyspaces.keys() {
        run_cql(
            session,
            &format!("CREATE TABLE \"{ks}\".{MARKER} (k int PRIMARY KEY)"),
        )
        .await?;
    }
    session
        .await_schema_agreement()
        .await
        .map_err(|e| DriveError::Cql("schema agreement".into(), e.to_string()))?;
    Ok(())
}

/// `now()` in a statement becomes a bind marker: the client then knows the time-based UUID it
/// wrote, so deletes and reads aimed at that row can name it (the coordinator's clock and the
/// client's are the same machine's in validation).
fn with_client_now(cql: &str) -> String {
    let mut out = String::with_capacity(cql.len());
    let lower = cql.to_ascii_lowercase();
    let mut i = 0;
    while let Some(j) = lower[i..].find("now()") {
        out.push_str(&cql[i..i + j]);
        out.push('?');
        i += j + 5;
    }
    out.push_str(&cql[i..]);
    out
}

async fn prepare_all(
    session: &Session,
    scenario: &Scenario,
    sample_every_s: f64,
) -> Result<Vec<Prepared>, DriveError> {
    let mut out = Vec::new();
    for op in &scenario.workload {
        let cql = with_client_now(&op.cql);
        let mut statement = session
            .prepare(cql.as_str())
            .await
            .map_err(|e| DriveError::Cql(cql.clone(), e.to_string()))?;
        statement.set_consistency(consistency(&op.consistency));
        // A read without LIMIT is paged as the simulation pages it (the drivers' 5000 rows).
        statement.set_page_size(scenario.calibration.get("page_size") as i32);
        let table = scenario
            .schema
            .table(&op.table)
            .ok_or_else(|| DriveError::Cql(cql.clone(), "unknown table".into()))?;
        let model = scenario.tables.get(&op.table);
        let specs = statement.get_variable_col_specs();
        let roles = specs
            .iter()
            .map(|s| role_of(table, model, &op.nulls, s.name()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| DriveError::Cql(cql.clone(), e))?;
        let types = specs.iter().map(|s| s.typ().clone().into_owned()).collect();
        let tick = super::plan::tick_of(table);
        let mut traced = statement.clone();
        traced.set_tracing(true);
        // About a hundred traced reads per statement and sample, as the simulation samples
        // `reads_per_sample` reads: enough for a p99, without tracing every read.
        let per_sample = op.rate_per_s * sample_every_s;
        let wanted = scenario.calibration.get("reads_per_sample");
        out.push(Prepared {
            statement,
            traced,
            roles,
            types,
            tick,
            is_read: op.is_read(),
            trace_share: if per_sample > 0.0 {
                (wanted / per_sample).min(1.0)
            } else {
                0.0
            },
        });
    }
    Ok(out)
}

/// The values of one request, marker by marker.
fn bind(
    p: &Prepared,
    req: &Request,
    scenario: &Scenario,
    start_unix_ms: u64,
) -> Result<Vec<Option<CqlValue>>, String> {
    let op = &scenario.workload[req.op];
    let mut rng = payload_rng(req.payload_seed);
    p.roles
        .iter()
        .zip(&p.types)
        .map(|(role, ty)| {
            Ok(Some(match role {
                Role::Key => ordinal_value(ty, req.partition.entity, false)?,
                Role::Bucket { bucket_s } => {
                    let first = (start_unix_ms as f64 / 1000.0 / bucket_s).floor();
                    bucket_value(ty, first + req.partition.bucket as f64, *bucket_s)?
                }
                Role::Clustering => {
                    ordinal_value(ty, req.clustering.unwrap_or(0), p.tick == Tick::Micros)?
                }
                Role::ClusteringRest => ordinal_value(ty, 0, false)?,
                Role::Payload { null_share, .. }
                    if rand::RngExt::random::<f64>(&mut rng) < *null_share =>
                {
                    return Ok(None);
                }
                Role::Payload { size, elements, .. } => {
                    let bytes = size.map_or(16.0, |d| {
                        crate::engine::table::sample_distribution(&d, &mut rng)
                    });
                    payload_value(ty, bytes, *elements, &mut rng)?
                }
                Role::Ttl => CqlValue::Int(op.ttl_s.round().max(1.0) as i32),
                Role::Limit => CqlValue::Int(
                    op.read
                        .as_ref()
                        .and_then(|r| r.limit.or(r.per_partition_limit))
                        .unwrap_or(1.0) as i32,
                ),
                Role::Timestamp => {
                    CqlValue::BigInt(((start_unix_ms as f64 + req.at_s * 1000.0) * 1000.0) as i64)
                }
            }))
        })
        .collect()
}

/// A bucket's value: its start time for time types, its number otherwise.
fn bucket_value(
    ty: &scylla::cluster::metadata::ColumnType,
    abs_bucket: f64,
    bucket_s: f64,
) -> Result<CqlValue, String> {
    use scylla::cluster::metadata::{ColumnType, NativeType};
    let start_s = abs_bucket * bucket_s;
    match ty {
        ColumnType::Native(NativeType::Timestamp) => {
            ordinal_value(ty, (start_s * 1000.0) as u64, false)
        }
        ColumnType::Native(NativeType::Date) => Ok(CqlValue::Date(scylla::value::CqlDate(
            (1u32 << 31) + (start_s / 86_400.0) as u32,
        ))),
        _ => ordinal_value(ty, abs_bucket as u64, false),
    }
}

fn classify(result: &Result<scylla::response::query_result::QueryResult, String>) -> Outcome {
    match result {
        Ok(r) => Outcome::Ok {
            tombstone_warning: r
                .warnings()
                .any(|w| w.to_ascii_lowercase().contains("tombstone")),
        },
        Err(e) => failure(e),
    }
}

/// What a failed request's text says: a read failure on tombstone_failure_threshold, or another
/// error. The server names each replica's reason (`RequestFailureReason`, "... 1 failures:
/// READ_TOO_MANY_TOMBSTONES from /127.0.0.1:7000"); a read failure for another reason (a
/// replica that has not yet the table: found on three nodes at the start) is an error, not a
/// tombstone failure. A read failure naming no reason (before 4.0) is taken as one.
fn failure(text: &str) -> Outcome {
    let upper = text.to_ascii_uppercase();
    let tombstones = upper.contains("TOMBSTONE");
    let read_failure = text.contains("ReadFailure");
    if tombstones || (read_failure && !text.contains(" failures: ")) {
        Outcome::TombstoneFailure
    } else {
        Outcome::Error(text.to_string())
    }
}

/// Fetches a traced read's counts, one per local read a replica made (the trace is written
/// asynchronously: try a few times). Each local read counts its own tombstones against the
/// thresholds (CASSANDRA.md 6.4), as the simulation's per-read figures do: a QUORUM read of two
/// replicas is two reads of a node, and a digest mismatch makes each read again (found on three
/// nodes: summing a request's events gave p99 1 350 where each local read counted some 620).
async fn fetch_trace(session: &Session, id: uuid::Uuid) -> Vec<super::record::TraceCounts> {
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Ok(info) = session.get_tracing_info(&id).await {
            let found: Vec<_> = info
                .events
                .iter()
                .filter_map(|e| e.activity.as_deref().and_then(parse_trace_event))
                .collect();
            if !found.is_empty() {
                return found;
            }
        }
    }
    Vec::new()
}

async fn release_version(session: &Session) -> String {
    let q = "SELECT release_version FROM system.local";
    let Ok(r) = session.query_unpaged(q, ()).await else {
        return String::new();
    };
    r.into_rows_result()
        .ok()
        .and_then(|rows| rows.first_row::<(Option<String>,)>().ok())
        .and_then(|r| r.0)
        .unwrap_or_default()
}

/// The longest wait for a TWCS window to begin: longer windows are not aligned.
const WINDOW_WAIT_MAX_S: u64 = 300;

/// How long before a TWCS window begins the tables are created: time enough for the DDL and
/// the prepared statements on one node (0.57–0.59 s measured on twcs-ttl), short beside a flush period.
const SCHEMA_LEAD_S: f64 = 2.0;

/// The next boundary, in seconds since the epoch, of the shortest TWCS window (of at most 5
/// minutes) among the scenario's tables, at least [`SCHEMA_LEAD_S`] away. TWCS windows are
/// whole multiples of their size since the epoch
/// (`TimeWindowCompactionStrategy.getWindowBoundsInMillis`) and an sstable belongs to the window
/// of its newest write (`getBuckets`, by `getMaxTimestamp`), while cassim's windows start at the
/// run's start: the run starts on a boundary so both see the same windows (found on twcs-ttl:
/// started at a random second of the minute, each real run compacted its minutes at other
/// times, 4 and 5 sstables at the end).
fn next_window_boundary(scenario: &Scenario) -> Option<f64> {
    let w = scenario
        .tables
        .keys()
        .filter_map(|name| scenario.schema.table(name))
        .filter_map(|t| t.options.compaction.window_seconds())
        .filter(|&w| w <= WINDOW_WAIT_MAX_S)
        .min()? as f64;
    let now = unix_now_s();
    Some(((now + SCHEMA_LEAD_S) / w).ceil() * w)
}

fn unix_now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Sleeps until `at_s` seconds since the epoch (at once when that has passed).
async fn sleep_until_unix(at_s: f64) {
    let wait = (at_s - unix_now_s()).max(0.0);
    tokio::time::sleep(Duration::from_secs_f64(wait)).await;
}

/// Plays the scenario against the cluster.
pub async fn run(
    scenario: Arc<Scenario>,
    opts: &DriveOptions,
    progress: &Progress,
) -> Result<Measured, DriveError> {
    let session = Arc::new(connect(&opts.hosts).await?);
    let version = release_version(&session).await;
    drop_own_keyspaces(&session, &scenario).await?;
    // With TWCS, the tables are created just before a window begins and the writes start on
    // it: a memtable is born with its table and `memtable_flush_period_in_ms` counts from its
    // birth (`ColumnFamilyStore.scheduleFlush`, `Memtable.isExpired`), so the real flushes fall
    // just before cassim's, each holding the writes of the window cassim gives it (the writes
    // starting after the tables put every periodic flush a little past a boundary, in the next
    // window: twcs-ttl kept 4 sstables where cassim kept 3).
    let boundary = next_window_boundary(&scenario);
    if let Some(b) = boundary {
        sleep_until_unix(b - SCHEMA_LEAD_S).await;
    }
    create_schema(&session, &scenario).await?;
    let sample_every_s = scenario.sample_every_s;
    let prepared = Arc::new(prepare_all(&session, &scenario, sample_every_s).await?);
    if let Some(b) = boundary {
        if unix_now_s() > b {
            eprintln!(
                "cassim drive: the schema took longer than {SCHEMA_LEAD_S} s; the run starts past \
                 the TWCS window boundary and the real windows are shifted"
            );
        }
        sleep_until_unix(b).await;
    }
    let start_unix_ms = (unix_now_s() * 1000.0) as u64;
    let mut plan = Plan::new(&scenario, opts.seed, start_unix_ms);
    let recorder = Arc::new(Mutex::new(Recorder::new(
        scenario.workload.len(),
        sample_every_s,
    )));
    let duration_s = opts.duration_s;
    let start = Instant::now();
    let tokio_start = tokio::time::Instant::now();
    let tables: Vec<String> = scenario.tables.keys().cloned().collect();
    let sampler = tokio::spawn(sample_node(
        opts.nodetool.clone(),
        tables,
        sample_every_s,
        duration_s,
        tokio_start,
    ));
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut trace_rng = payload_rng(opts.seed ^ 0x0074_7261_6365);
    let mut tasks = tokio::task::JoinSet::new();
    let mut last_progress = 0.0;
    while let Some(req) = plan.next(duration_s) {
        let due = tokio_start + Duration::from_secs_f64(req.at_s);
        tokio::time::sleep_until(due).await;
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore open");
        let p = &prepared[req.op];
        let values = match bind(p, &req, &scenario, start_unix_ms) {
            Ok(v) => v,
            Err(e) => return Err(DriveError::Cql(scenario.workload[req.op].cql.clone(), e)),
        };
        let trace = p.is_read && rand::RngExt::random::<f64>(&mut trace_rng) < p.trace_share;
        let statement = if trace {
            p.traced.clone()
        } else {
            p.statement.clone()
        };
        let (session, rec) = (session.clone(), recorder.clone());
        tasks.spawn(async move {
            let result = session
                .execute_unpaged(&statement, &values)
                .await
                .map_err(|e| format!("{e:?}"));
            let latency = due.elapsed().as_secs_f64();
            let outcome = classify(&result);
            let trace_id = result.ok().and_then(|r| r.tracing_id());
            rec.lock()
                .expect("recorder")
                .record(req.op, req.at_s, latency, outcome);
            drop(permit);
            if let Some(id) = trace_id {
                for c in fetch_trace(&session, id).await {
                    rec.lock().expect("recorder").trace(req.op, req.at_s, c);
                }
            }
        });
        while tasks.try_join_next().is_some() {}
        if req.at_s - last_progress >= 5.0 {
            last_progress = req.at_s;
            let sent = recorder
                .lock()
                .expect("recorder")
                .ops
                .iter()
                .flatten()
                .map(|s| s.sent)
                .sum::<u64>();
            let asked: f64 = scenario.workload.iter().map(|o| o.rate_per_s).sum();
            let lag = start.elapsed().as_secs_f64() - req.at_s;
            progress(&format!(
                "{:>5.0}s of {:.0}s  achieved {:.0}/s of {:.0}/s asked, {} in flight, {:.1}s behind",
                req.at_s,
                duration_s,
                sent as f64 / req.at_s.max(1e-9),
                asked,
                MAX_IN_FLIGHT - permits.available_permits(),
                lag.max(0.0)
            ));
        }
    }
    while tasks.join_next().await.is_some() {}
    let elapsed_s = start.elapsed().as_secs_f64();
    let (node, node_errors) = sampler.await.unwrap_or_default();
    let recorder = Arc::try_unwrap(recorder)
        .map(|m| m.into_inner().expect("recorder"))
        .unwrap_or_else(|a| std::mem::take(&mut *a.lock().expect("recorder")));
    Ok(Measured {
        start_unix_ms,
        recorder,
        node,
        elapsed_s,
        skipped: plan.skipped.clone(),
        planned: plan.planned.clone(),
        release_version: version,
        node_errors,
    })
}

/// How often the trace tables are flushed (`server::flush_traces`) between samples: every
/// second when a nodetool call is cheap (served), every 5 s when each is a JVM start.
fn trace_flush_s(nodetool: &server::Nodetool) -> f64 {
    if nodetool.cheap() {
        1.0
    } else {
        5.0
    }
}

/// Samples the node through nodetool at each sample's end until the drive's duration.
async fn sample_node(
    nodetool: Option<Vec<String>>,
    tables: Vec<String>,
    every_s: f64,
    duration_s: f64,
    start: tokio::time::Instant,
) -> (Vec<(f64, NodeState)>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let Some(prefix) = nodetool else {
        return (out, errors);
    };
    let opened = tokio::task::spawn_blocking(move || server::Nodetool::open(prefix)).await;
    let nodetool = match opened {
        Ok(Ok(n)) => Arc::new(n),
        Ok(Err(e)) => return (out, vec![e]),
        Err(e) => return (out, vec![format!("nodetool could not start: {e}")]),
    };
    // gcstats reports the pauses since its previous call: one now, so the first sample holds
    // the drive's pauses and not the node's start (found on queue-short-gc: the first
    // sample's 1.1 % was the JVM's warm-up, 0.1 to 0.2 % after).
    let n = nodetool.clone();
    let _ = tokio::task::spawn_blocking(move || n.call(&["gcstats"])).await;
    let note = |errors: &mut Vec<String>, e: String| {
        if errors.len() < 8 {
            errors.push(e);
        }
    };
    let mut k = 1;
    // The trace tables flushed between samples as well (`server::sample` flushes them too).
    let between = (every_s / trace_flush_s(&nodetool)).ceil().max(1.0) as usize;
    loop {
        let t = (k as f64 * every_s).min(duration_s);
        let t_prev = (k - 1) as f64 * every_s;
        for j in 1..between {
            let at = t_prev + j as f64 * every_s / between as f64;
            if at >= t {
                break;
            }
            tokio::time::sleep_until(start + Duration::from_secs_f64(at)).await;
            let n = nodetool.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || server::flush_traces(&n)).await
            {
                note(&mut errors, e);
            }
        }
        tokio::time::sleep_until(start + Duration::from_secs_f64(t)).await;
        let (n, tb) = (nodetool.clone(), tables.clone());
        if let Ok((state, errs)) =
            tokio::task::spawn_blocking(move || server::sample(&n, &tb)).await
        {
            out.push((t, state));
            for e in errs {
                note(&mut errors, e);
            }
        }
        if t >= duration_s {
            break;
        }
        k += 1;
    }
    (out, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_read_failure_for_tombstones_is_a_tombstone_failure() {
        let over = "DbError(ReadFailure { consistency: One, received: 0, required: 1, numfailures: 1, data_present: false }, \"Operation failed - received 0 responses and 1 failures: READ_TOO_MANY_TOMBSTONES from /127.0.0.1:7000\")";
        assert_eq!(failure(over), Outcome::TombstoneFailure);
        let schema = over.replace("READ_TOO_MANY_TOMBSTONES", "INCOMPATIBLE_SCHEMA");
        assert!(matches!(failure(&schema), Outcome::Error(_)));
        let timeout = "DbError(ReadTimeout { consistency: Quorum, received: 1, required: 2, data_present: true }, \"Operation timed out - received only 1 responses.\")";
        assert!(matches!(failure(timeout), Outcome::Error(_)));
        let bare = "DbError(ReadFailure { consistency: One, received: 0, required: 1, numfailures: 1, data_present: false }, \"Operation failed - received 0 responses and 1 failures\")";
        assert_eq!(failure(bare), Outcome::TombstoneFailure);
    }

    #[test]
    fn now_becomes_a_marker() {
        assert_eq!(
            with_client_now("INSERT INTO k.q (id, ts, v) VALUES (?, now(), ?)"),
            "INSERT INTO k.q (id, ts, v) VALUES (?, ?, ?)"
        );
        assert_eq!(with_client_now("SELECT * FROM t"), "SELECT * FROM t");
    }
}
