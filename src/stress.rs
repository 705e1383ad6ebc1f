//! cassandra-stress user profiles (YAML): reads a profile's keyspace and table DDL, columnspec
//! (size, population, cluster distributions), insert section and queries, and writes an equivalent
//! scenario in the cassim format. A profile without `table_definition` takes its schema from a `.cql`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use crate::scenario::InputError;
use crate::schema::Schema;

/// Write rate given to imported inserts: a profile holds ratios, not rates (cassim's choice; edit it).
const IMPORT_WRITE_RATE: f64 = 1000.0;

fn file_error(path: &str, message: impl Into<String>) -> InputError {
    InputError::File {
        path: path.to_string(),
        message: message.into(),
    }
}

/// A stress distribution (`uniform(1..10)`, `gaussian(5..100, 2)`, `fixed(32)`, `~exp(1..1M)`) as
/// (min, max, mean).
fn stress_distribution(s: &str) -> Option<(f64, f64, f64)> {
    let s = s.trim().trim_start_matches('~');
    let open = s.find('(')?;
    let name = s[..open].trim().to_ascii_lowercase();
    let inner = s[open + 1..].strip_suffix(')')?;
    let mut parts = inner.split(',');
    let range = parts.next()?.trim();
    let (min, max) = match range.split_once("..") {
        Some((a, b)) => (stress_number(a)?, stress_number(b)?),
        None => {
            let v = stress_number(range)?;
            (v, v)
        }
    };
    let mean = match name.as_str() {
        "fixed" => min,
        "uniform" | "gaussian" | "gauss" | "normal" | "norm" => (min + max) / 2.0,
        // Exponential and extreme-value shapes lean to the low end; the midpoint of the lower half.
        _ => min + (max - min) / 4.0,
    };
    Some((min, max, mean))
}

fn stress_number(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, scale) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1e3),
        'm' | 'M' => (&s[..s.len() - 1], 1e6),
        'b' | 'B' => (&s[..s.len() - 1], 1e9),
        _ => (s, 1.0),
    };
    num.trim().parse::<f64>().ok().map(|n| n * scale)
}

fn size_text(min: f64, max: f64) -> String {
    if (min - max).abs() < f64::EPSILON {
        format!("fixed({min}B)")
    } else {
        format!("uniform({min}B, {max}B)")
    }
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Converts a profile (its text) into scenario TOML. `schema_cql` is the `--schema` file's text.
pub fn import(
    profile_path: &str,
    text: &str,
    schema_cql: Option<(&str, &str)>,
) -> Result<String, InputError> {
    let doc: Value = serde_saphyr::from_str(text)
        .map_err(|e| file_error(profile_path, format!("invalid YAML: {e}")))?;
    let get = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
    let keyspace = get("keyspace")
        .ok_or_else(|| file_error(profile_path, "the profile has no `keyspace:`"))?;
    let table_name = get("table")
        .ok_or_else(|| file_error(profile_path, "the profile has no `table:`"))?
        .to_ascii_lowercase();
    let mut cql = String::new();
    if let Some(k) = get("keyspace_definition") {
        cql.push_str(k.trim().trim_end_matches(';'));
        cql.push_str(";\n");
    }
    match (get("table_definition"), schema_cql) {
        (Some(t), _) => {
            cql.push_str(t.trim().trim_end_matches(';'));
            cql.push_str(";\n");
        }
        (None, Some((_, text))) => cql.push_str(text),
        (None, None) => {
            return Err(file_error(
                profile_path,
                "the profile has no table_definition: give the schema with --schema FILE.cql",
            ))
        }
    }
    let schema_file = schema_cql.map(|(p, _)| p).unwrap_or(profile_path);
    let schema = Schema::from_cql(schema_file, &cql, &BTreeMap::new(), Some(&keyspace))?;
    let table = schema
        .table(&format!("{keyspace}.{table_name}"))
        .or_else(|| schema.table(&table_name))
        .ok_or_else(|| {
            file_error(
                profile_path,
                format!("table {table_name} is not defined by the profile's schema"),
            )
        })?;
    let qualified = table.qualified_name();
    validate(profile_path, &doc, table)?;

    // columnspec: sizes, populations and clustering fan-out.
    let mut sizes = BTreeMap::new();
    let mut population = BTreeMap::new();
    let mut cluster = BTreeMap::new();
    for spec in doc
        .get("columnspec")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = spec.get("name").and_then(Value::as_str) else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        let field = |k: &str| {
            spec.get(k)
                .and_then(Value::as_str)
                .and_then(stress_distribution)
        };
        if let Some(d) = field("size") {
            sizes.insert(name.clone(), d);
        }
        if let Some(d) = field("population") {
            population.insert(name.clone(), d);
        }
        if let Some(d) = field("cluster") {
            cluster.insert(name.clone(), d);
        }
    }
    // cassandra-stress defaults: population uniform(1..100B), cluster fixed(1).
    let entities: f64 = table
        .partition_key
        .iter()
        .map(|c| population.get(c).map(|d| d.1).unwrap_or(100e9))
        .product::<f64>()
        .min(1e12);
    let (rows_min, rows_max) = table
        .clustering
        .iter()
        .fold((1.0, 1.0), |(lo, hi), (c, _)| {
            let d = cluster.get(c).copied().unwrap_or((1.0, 1.0, 1.0));
            (lo * d.0.max(1.0), hi * d.1.max(1.0))
        });

    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Imported by `cassim import-stress` from {profile_path}."
    );
    let _ = writeln!(
        out,
        "# A stress profile gives ratios, not rates: the rates below are placeholders to edit."
    );
    let _ = writeln!(out, "name = {}", toml_string(&table_name));
    let _ = writeln!(out, "duration = \"7d\"\nsample_every = \"1h\"\n");
    let _ = writeln!(
        out,
        "[schema]\nkeyspace = {}\ncql = '''\n{}'''\n",
        toml_string(&keyspace),
        cql.replace("'''", "\"\"\"")
    );
    let _ = writeln!(out, "[tables.{}]", toml_string(&qualified));
    let _ = writeln!(
        out,
        "partitions = {{ entities = {} }}",
        entities.round() as u64
    );
    if rows_max > 1.0 {
        let rows = if rows_min == rows_max {
            format!("fixed({rows_min})")
        } else {
            format!("uniform({rows_min}, {rows_max})")
        };
        let _ = writeln!(out, "rows_per_partition = \"{rows}\"");
    }
    let variable: Vec<(&String, &(f64, f64, f64))> = sizes
        .iter()
        .filter(|(c, _)| {
            table
                .column(c)
                .is_some_and(|col| crate::schema::sizes::fixed_length(&col.ty).is_none())
        })
        .collect();
    if !variable.is_empty() {
        let _ = writeln!(out, "[tables.{}.columns]", toml_string(&qualified));
        for (c, d) in variable {
            let _ = writeln!(out, "{c} = \"{}\"", size_text(d.0, d.1));
        }
    }
    let _ = writeln!(out);
    write_insert(&mut out, &doc, table, rows_max > 1.0);
    for (name, q) in doc
        .get("queries")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let Some(cql) = q.get("cql").and_then(Value::as_str) else {
            continue;
        };
        let one_line = cql.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(
            out,
            "[[workload]]\nname = {}\ncql = {}\nrate = \"{}/s\"\n",
            toml_string(name),
            toml_string(&one_line),
            IMPORT_WRITE_RATE / 10.0
        );
    }
    Ok(out)
}

/// A profile's fields (cassandra-stress `StressProfile`): any other is a typo cassandra-stress
/// would reject, not a field to drop silently.
const PROFILE_FIELDS: &[&str] = &[
    "specname",
    "keyspace",
    "keyspace_definition",
    "table",
    "table_definition",
    "extra_definitions",
    "columnspec",
    "insert",
    "queries",
    "token_range_queries",
];
const COLUMNSPEC_FIELDS: &[&str] = &["name", "size", "population", "cluster"];
const INSERT_FIELDS: &[&str] = &["partitions", "select", "batchtype", "visits", "condition"];

/// Refuses what cassandra-stress refuses, each at its field path: unknown fields, columnspec of
/// columns the table lacks, distributions that do not parse, a `select` ratio that is not a
/// positive distribution over a positive number (`fixed(5)/0`, `-2`, `banana` were imported, and
/// cassim then refused the scenario it wrote).
fn validate(path: &str, doc: &Value, table: &crate::schema::Table) -> Result<(), InputError> {
    let fail = |field: String, message: String| file_error(path, format!("{field}: {message}"));
    let unknown = |field: String, known: &[&str]| {
        fail(
            field,
            format!(
                "is not a cassandra-stress profile field (known here: {})",
                known.join(", ")
            ),
        )
    };
    let Some(top) = doc.as_object() else {
        return Err(file_error(
            path,
            "is not a cassandra-stress profile (a YAML map)",
        ));
    };
    if let Some(key) = top.keys().find(|k| !PROFILE_FIELDS.contains(&k.as_str())) {
        return Err(unknown(key.clone(), PROFILE_FIELDS));
    }
    let specs = doc.get("columnspec").and_then(Value::as_array);
    for (i, spec) in specs.into_iter().flatten().enumerate() {
        let at = |k: &str| format!("columnspec[{i}].{k}");
        let Some(fields) = spec.as_object() else {
            return Err(fail(format!("columnspec[{i}]"), "must be a map".into()));
        };
        if let Some(key) = fields
            .keys()
            .find(|k| !COLUMNSPEC_FIELDS.contains(&k.as_str()))
        {
            return Err(unknown(at(key), COLUMNSPEC_FIELDS));
        }
        let name = spec.get("name").and_then(Value::as_str).unwrap_or_default();
        if table.column(&name.to_ascii_lowercase()).is_none() {
            return Err(fail(
                at("name"),
                format!(
                    "names `{name}`, which is not a column of {}",
                    table.qualified_name()
                ),
            ));
        }
        for key in ["size", "population", "cluster"] {
            if let Some(v) = spec.get(key) {
                check_distribution(v, false).map_err(|m| fail(at(key), m))?;
            }
        }
    }
    if let Some(insert) = doc.get("insert") {
        let Some(fields) = insert.as_object() else {
            return Err(fail("insert".into(), "must be a map".into()));
        };
        if let Some(key) = fields.keys().find(|k| !INSERT_FIELDS.contains(&k.as_str())) {
            return Err(unknown(format!("insert.{key}"), INSERT_FIELDS));
        }
        for key in ["partitions", "visits"] {
            if let Some(v) = insert.get(key) {
                check_distribution(v, false).map_err(|m| fail(format!("insert.{key}"), m))?;
            }
        }
        if let Some(v) = insert.get("select") {
            check_distribution(v, true).map_err(|m| fail("insert.select".into(), m))?;
        }
    }
    Ok(())
}

/// A stress distribution with positive bounds (`uniform(1..10)`), or with `ratio` a ratio of one
/// over a positive number (`fixed(1)/1000`).
fn check_distribution(v: &Value, ratio: bool) -> Result<(), String> {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    };
    let hint = if ratio {
        "write a distribution over a number, e.g. fixed(1)/10 or uniform(1..10)/10"
    } else {
        "write a cassandra-stress distribution, e.g. fixed(32) or uniform(1..100)"
    };
    let (dist, over) = match text.split_once('/') {
        Some((d, n)) if ratio => (d, Some(n)),
        _ => (text.as_str(), None),
    };
    let bounds = stress_distribution(dist).is_some_and(|(min, max, _)| min > 0.0 && min <= max);
    let divisor = over.is_none_or(|n| stress_number(n).is_some_and(|n| n > 0.0));
    if bounds && divisor {
        Ok(())
    } else {
        Err(format!("'{text}' is not valid: {hint}"))
    }
}

/// The insert operation: INSERT of every column, UPDATE for counters, or a conditional UPDATE when
/// the profile sets an LWT `condition`.
fn write_insert(out: &mut String, doc: &Value, table: &crate::schema::Table, upserts: bool) {
    let qualified = table.qualified_name();
    let insert = doc.get("insert");
    let condition = insert
        .and_then(|i| i.get("condition"))
        .and_then(Value::as_str);
    let keys: Vec<&str> = table
        .partition_key
        .iter()
        .map(String::as_str)
        .chain(table.clustering.iter().map(|(c, _)| c.as_str()))
        .collect();
    let others: Vec<&str> = table
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|c| !keys.contains(c))
        .collect();
    let where_clause = keys
        .iter()
        .map(|k| format!("{k} = ?"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let cql = if table.is_counter_table() {
        let set = others
            .iter()
            .map(|c| format!("{c} = {c} + ?"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("UPDATE {qualified} SET {set} WHERE {where_clause}")
    } else if let Some(cond) = condition.filter(|_| !others.is_empty()) {
        let set = others
            .iter()
            .map(|c| format!("{c} = ?"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("UPDATE {qualified} SET {set} WHERE {where_clause} {cond}")
    } else {
        let all: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        let marks = vec!["?"; all.len()].join(", ");
        format!(
            "INSERT INTO {qualified} ({}) VALUES ({marks})",
            all.join(", ")
        )
    };
    let _ = writeln!(
        out,
        "[[workload]]\nname = \"insert\"\ncql = {}\nrate = \"{IMPORT_WRITE_RATE}/s\"",
        toml_string(&cql)
    );
    if upserts || table.is_counter_table() {
        let _ = writeln!(out, "clustering = \"random\"");
    }
    let _ = writeln!(out);
}

/// The CQL statements of a NoSQLBench workload (`blocks.*.ops.*`), or `None` if the YAML is not one.
pub fn nosqlbench_statements(text: &str) -> Option<Vec<String>> {
    let doc: Value = serde_saphyr::from_str(text).ok()?;
    let blocks = doc.get("blocks")?.as_object()?;
    let mut out = Vec::new();
    for block in blocks.values() {
        for op in block
            .get("ops")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(_, v)| v)
        {
            match op {
                Value::String(s) if looks_like_cql(s) => out.push(s.clone()),
                Value::Object(m) => {
                    for key in ["prepared", "raw", "simple", "stmt"] {
                        if let Some(s) = m.get(key).and_then(Value::as_str) {
                            out.push(s.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Some(out)
}

/// Whether an op string is a CQL statement (NoSQLBench mixes op parameters among ops).
fn looks_like_cql(s: &str) -> bool {
    let first = s
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    [
        "CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE", "SELECT", "BEGIN", "USE",
        "TRUNCATE",
    ]
    .contains(&first.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stress_distributions() {
        assert_eq!(
            stress_distribution("uniform(1..10)"),
            Some((1.0, 10.0, 5.5))
        );
        assert_eq!(stress_distribution("fixed(32)"), Some((32.0, 32.0, 32.0)));
        assert_eq!(stress_distribution("uniform(1..1M)").unwrap().1, 1e6);
        assert_eq!(stress_distribution("gaussian(5..100, 2)").unwrap().2, 52.5);
        assert!(stress_distribution("nonsense").is_none());
    }
}
