//! What a DML statement does, by Cassandra's rules: INSERT writes row liveness and cells, UPDATE
//! writes cells without liveness, a bound null writes a cell tombstone, overwriting a non-frozen
//! collection writes a complex (range) deletion first, DELETE writes a partition, row, range or cell
//! tombstone (CASSANDRA.md 6.1). SELECT yields a read shape. Restrictions are validated as Cassandra
//! validates them.

use std::collections::BTreeMap;

use crate::cql::ast::*;
use crate::schema::{ColumnKind, Schema, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteKind {
    Insert,
    Update,
    Delete,
}

/// The tombstone a DELETE writes (CASSANDRA.md 6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Deletion {
    /// `DELETE FROM t WHERE pk = ?`: a partition deletion.
    Partition,
    /// Full primary key: a row deletion.
    Row,
    /// A clustering prefix or slice: a range tombstone (two markers).
    Range,
    /// Named columns: cell tombstones (or complex deletions for collections).
    Cells,
    /// `DELETE m[k]`: collection element tombstones.
    Elements,
}

/// What one write statement puts into the memtable.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WriteEffect {
    pub table: String,
    pub kind: WriteKind,
    /// Primary-key liveness (INSERT only).
    pub liveness: bool,
    /// Regular and static columns written with a value.
    pub columns: Vec<String>,
    /// Cell tombstones per statement from bound nulls (share-weighted).
    pub null_cell_tombstones: f64,
    /// Their variance per row: a column bound null with share `s` is a cell tombstone in a
    /// share `s` of the rows, `s (1 - s)` each (a literal NULL is one in every row).
    pub null_cell_variance: f64,
    /// Non-frozen collections overwritten whole: a complex deletion each, per statement.
    pub collection_overwrites: Vec<String>,
    /// Collection elements removed (`m = m - {…}`, `DELETE m[k]`): cell tombstones per statement.
    pub element_tombstones: f64,
    pub deletion: Option<Deletion>,
    /// Rows touched (IN lists multiply).
    pub rows: f64,
    pub counter: bool,
    /// Writes only static columns (no clustering row).
    pub static_only: bool,
}

/// How a SELECT reads.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReadShape {
    pub table: String,
    pub limit: Option<f64>,
    pub per_partition_limit: Option<f64>,
    /// Reads in reverse clustering order (ORDER BY opposite to the table's).
    pub reversed: bool,
    /// Restricts the clustering key with a slice.
    pub slice: bool,
    /// Names a full primary key (a point read).
    pub point: bool,
    /// The regular and static columns it reads (every one for `*` or an expression).
    pub queried: Vec<String>,
    /// A point read of no non-frozen collection: Cassandra reads it by names, newest source
    /// first (`SinglePartitionReadCommand.queryMemtableAndSSTablesInTimestampOrder`).
    pub names: bool,
    /// Partitions per request (IN on the partition key).
    pub partitions: f64,
    /// Scans without a partition key (ALLOW FILTERING or an index).
    pub scan: bool,
    pub allow_filtering: bool,
    pub uses_index: bool,
}

/// The analysis of one workload statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub table: String,
    pub ttl_s: f64,
    pub writes: Vec<WriteEffect>,
    pub read: Option<ReadShape>,
    pub lwt: bool,
}

type Fail = (String, String);

fn fail(message: impl Into<String>, hint: impl Into<String>) -> Fail {
    (message.into(), hint.into())
}

/// Analyzes a statement against the schema. `nulls` gives, per column, the share of writes binding
/// null; `bound_ttl` and `bound_limit` give values for `USING TTL ?` and `LIMIT ?`.
pub fn analyze_statement(
    stmt: &Statement,
    schema: &Schema,
    nulls: &BTreeMap<String, f64>,
    bound_ttl: Option<f64>,
    bound_limit: Option<f64>,
) -> Result<Analysis, Fail> {
    match &stmt.kind {
        StatementKind::Insert(i) => {
            let table = lookup(schema, &i.table)?;
            let ttl_s = ttl(&i.using, table, bound_ttl)?;
            let write = insert(i, table, nulls)?;
            Ok(Analysis {
                table: table.qualified_name(),
                ttl_s,
                writes: vec![write],
                read: None,
                lwt: i.if_not_exists,
            })
        }
        StatementKind::Update(u) => {
            let table = lookup(schema, &u.table)?;
            let ttl_s = ttl(&u.using, table, bound_ttl)?;
            let write = update(u, table, nulls)?;
            Ok(Analysis {
                table: table.qualified_name(),
                ttl_s,
                writes: vec![write],
                read: None,
                lwt: u.condition.is_some(),
            })
        }
        StatementKind::Delete(d) => {
            let table = lookup(schema, &d.table)?;
            let write = delete(d, table)?;
            Ok(Analysis {
                table: table.qualified_name(),
                ttl_s: 0.0,
                writes: vec![write],
                read: None,
                lwt: d.condition.is_some(),
            })
        }
        StatementKind::Select(s) => {
            let table = lookup(schema, &s.table)?;
            let read = select(s, table, schema, bound_limit)?;
            Ok(Analysis {
                table: table.qualified_name(),
                ttl_s: 0.0,
                writes: vec![],
                read: Some(read),
                lwt: false,
            })
        }
        StatementKind::Batch(b) => {
            let mut writes = Vec::new();
            let mut first = None;
            let mut ttl_s = 0.0;
            let mut lwt = false;
            for inner in &b.statements {
                let a = analyze_statement(inner, schema, nulls, bound_ttl, bound_limit)?;
                first.get_or_insert(a.table.clone());
                ttl_s = f64::max(ttl_s, a.ttl_s);
                lwt |= a.lwt;
                writes.extend(a.writes);
            }
            let table = first.ok_or_else(|| {
                fail(
                    "the batch is empty",
                    "put INSERT, UPDATE or DELETE statements in it",
                )
            })?;
            Ok(Analysis {
                table,
                ttl_s,
                writes,
                read: None,
                lwt,
            })
        }
        other => Err(fail(
            format!("{} is not a workload statement", other.label()),
            "a workload runs INSERT, UPDATE, DELETE, SELECT or BATCH; put DDL in the schema",
        )),
    }
}

fn lookup<'s>(schema: &'s Schema, name: &QualifiedName) -> Result<&'s Table, Fail> {
    let key = name.to_string();
    schema.table(&key).ok_or_else(|| {
        let names: Vec<&str> = schema.tables.keys().map(String::as_str).collect();
        fail(
            format!("table {key} is not in the schema"),
            format!("tables in the schema: {}", names.join(", ")),
        )
    })
}

fn column<'t>(table: &'t Table, name: &str) -> Result<&'t crate::schema::Column, Fail> {
    table.column(name).ok_or_else(|| {
        let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        fail(
            format!("{} has no column `{name}`", table.qualified_name()),
            format!("columns: {}", names.join(", ")),
        )
    })
}

fn ttl(using: &Using, table: &Table, bound: Option<f64>) -> Result<f64, Fail> {
    let ttl = match &using.ttl {
        None => table.options.effective_default_ttl() as f64,
        Some(Term::Number(n)) => n
            .parse::<f64>()
            .map_err(|_| fail(format!("TTL {n} is not a number"), "write USING TTL 86400"))?,
        Some(Term::Bind(_)) => bound.ok_or_else(|| {
            fail(
                "USING TTL ? needs a value to simulate",
                "add ttl = \"30d\" to this [[workload]] entry",
            )
        })?,
        Some(other) => {
            return Err(fail(
                format!("unsupported TTL value {other:?}"),
                "write USING TTL with a number or ?",
            ))
        }
    };
    if ttl > crate::defaults::MAX_TTL_SECONDS as f64 {
        return Err(fail(
            format!("TTL {ttl} s exceeds the maximum of 630720000 s (20 years)"),
            "Cassandra rejects it: \"ttl is too large\"",
        ));
    }
    Ok(ttl)
}

fn is_multicell(table: &Table, col: &str) -> bool {
    table.column(col).is_some_and(|c| c.is_multicell())
}

fn insert(i: &Insert, table: &Table, nulls: &BTreeMap<String, f64>) -> Result<WriteEffect, Fail> {
    if table.is_counter_table() {
        return Err(fail(
            "INSERT is not allowed on a counter table",
            "use UPDATE … SET c = c + ? instead",
        ));
    }
    let (columns, values): (Vec<String>, Vec<Term>) = match &i.values {
        InsertValues::Values { columns, values } => (columns.clone(), values.clone()),
        // INSERT JSON binds every column (absent ones are null unless DEFAULT UNSET; the `nulls`
        // share says how often).
        InsertValues::Json { .. } => {
            let cols: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
            let vals = cols.iter().map(|_| Term::Bind(None)).collect();
            (cols, vals)
        }
    };
    for c in &columns {
        column(table, c)?;
    }
    for key in table
        .partition_key
        .iter()
        .chain(table.clustering.iter().map(|(c, _)| c))
    {
        if !columns.contains(key) {
            return Err(fail(
                format!("INSERT must give primary-key column `{key}`"),
                "an INSERT names every partition and clustering column",
            ));
        }
    }
    let mut effect = write_base(table, WriteKind::Insert);
    effect.liveness = true;
    for (c, v) in columns.iter().zip(&values) {
        let kind = table.column(c).map(|col| col.kind);
        if matches!(
            kind,
            Some(ColumnKind::PartitionKey | ColumnKind::Clustering)
        ) {
            continue;
        }
        let null_share = if v.is_null() {
            1.0
        } else {
            nulls.get(c).copied().unwrap_or(0.0)
        };
        effect.null_cell_tombstones += null_share;
        effect.null_cell_variance += null_share * (1.0 - null_share);
        if null_share < 1.0 {
            effect.columns.push(c.clone());
        }
        // An INSERT of a non-frozen collection replaces it: a complex deletion, then the elements.
        if is_multicell(table, c) {
            effect.collection_overwrites.push(c.clone());
        }
    }
    check_nulls(nulls, &columns)?;
    Ok(effect)
}

fn check_nulls(nulls: &BTreeMap<String, f64>, columns: &[String]) -> Result<(), Fail> {
    for c in nulls.keys() {
        if !columns.contains(c) {
            return Err(fail(
                format!("nulls names `{c}`, which the statement does not write"),
                "list only columns the statement binds",
            ));
        }
    }
    Ok(())
}

fn write_base(table: &Table, kind: WriteKind) -> WriteEffect {
    WriteEffect {
        table: table.qualified_name(),
        kind,
        liveness: false,
        columns: Vec::new(),
        null_cell_tombstones: 0.0,
        null_cell_variance: 0.0,
        collection_overwrites: Vec::new(),
        element_tombstones: 0.0,
        deletion: None,
        rows: 1.0,
        counter: table.is_counter_table(),
        static_only: false,
    }
}

/// Checks that WHERE restricts the partition key fully and returns (rows touched, clustering
/// columns restricted by equality, whether the last restriction is a slice).
fn key_restrictions(
    table: &Table,
    rels: &[Relation],
    what: &str,
) -> Result<(f64, usize, bool), Fail> {
    let mut rows = 1.0;
    for rel in rels {
        for c in rel.lhs.columns() {
            column(table, c)?;
        }
    }
    for pk in &table.partition_key {
        let rel = rels.iter().find(|r| r.lhs.columns().contains(&pk.as_str()));
        match rel {
            Some(r) if r.op == RelOp::Eq => {}
            Some(r) if r.op == RelOp::In => rows *= in_count(&r.rhs),
            _ => {
                return Err(fail(
                    format!("{what} must restrict partition key column `{pk}` with = or IN"),
                    format!(
                        "the partition key of {} is ({})",
                        table.qualified_name(),
                        table.partition_key.join(", ")
                    ),
                ))
            }
        }
    }
    let mut eq = 0;
    let mut slice = false;
    for (i, (ck, _)) in table.clustering.iter().enumerate() {
        let rs: Vec<&Relation> = rels
            .iter()
            .filter(|r| r.lhs.columns().contains(&ck.as_str()))
            .collect();
        if rs.is_empty() {
            if let Some(later) = table.clustering[i + 1..]
                .iter()
                .find(|(c, _)| rels.iter().any(|r| r.lhs.columns().contains(&c.as_str())))
            {
                return Err(fail(
                    format!("clustering column `{}` cannot be restricted: preceding column `{ck}` is not", later.0),
                    "restrict clustering columns in key order",
                ));
            }
            break;
        }
        if slice {
            return Err(fail(
                format!("clustering column `{ck}` follows a slice"),
                "only the last restricted clustering column may be a range",
            ));
        }
        if rs.iter().all(|r| r.op == RelOp::Eq || r.op == RelOp::In) {
            eq += 1;
            for r in rs {
                if r.op == RelOp::In {
                    rows *= in_count(&r.rhs);
                }
            }
        } else if rs.iter().all(|r| r.op.is_slice()) {
            slice = true;
        } else {
            return Err(fail(
                format!("unsupported restriction on clustering column `{ck}`"),
                "use =, IN, <, <=, > or >=",
            ));
        }
    }
    for rel in rels {
        for c in rel.lhs.columns() {
            let kind = table.column(c).map(|col| col.kind);
            if matches!(kind, Some(ColumnKind::Regular | ColumnKind::Static)) {
                return Err(fail(
                    format!("{what} cannot restrict non-key column `{c}` in WHERE"),
                    "conditions on regular columns go in IF (a lightweight transaction)",
                ));
            }
        }
    }
    Ok((rows, eq, slice))
}

fn in_count(term: &Term) -> f64 {
    match term {
        Term::Tuple(items) | Term::List(items) => items.len().max(1) as f64,
        _ => 1.0,
    }
}

fn update(u: &Update, table: &Table, nulls: &BTreeMap<String, f64>) -> Result<WriteEffect, Fail> {
    let mut effect = write_base(table, WriteKind::Update);
    let mut statics_only = true;
    let mut written = Vec::new();
    for a in &u.assignments {
        let col = column(table, a.target.column())?;
        if matches!(col.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
            return Err(fail(
                format!("UPDATE cannot SET primary-key column `{}`", col.name),
                "primary-key columns go in WHERE",
            ));
        }
        if col.kind != ColumnKind::Static {
            statics_only = false;
        }
        written.push(col.name.clone());
        let removes = a.op == "-="
            || matches!(&a.value, Term::Binary { op: '-', left, .. } if matches!(&**left, Term::Column(c) if *c == col.name));
        let appends = a.op == "+=" || matches!(&a.value, Term::Binary { op: '+', .. });
        if a.value.is_null() {
            effect.null_cell_tombstones += 1.0;
        } else if col.is_multicell() && removes {
            effect.element_tombstones += term_elements(&a.value);
        } else {
            let null_share = nulls.get(&col.name).copied().unwrap_or(0.0);
            effect.null_cell_tombstones += null_share;
            effect.null_cell_variance += null_share * (1.0 - null_share);
            effect.columns.push(col.name.clone());
            let whole = matches!(a.target, AssignTarget::Column(_));
            if col.is_multicell() && whole && !appends && !effect.counter {
                effect.collection_overwrites.push(col.name.clone());
            }
        }
    }
    check_nulls(nulls, &written)?;
    let (rows, eq, slice) = key_restrictions(table, &u.where_clause, "UPDATE")?;
    if !statics_only && (eq < table.clustering.len() || slice) {
        return Err(fail(
            "UPDATE must name the full primary key",
            "restrict every clustering column with = or IN",
        ));
    }
    effect.rows = rows;
    effect.static_only = statics_only && !table.clustering.is_empty();
    Ok(effect)
}

fn term_elements(t: &Term) -> f64 {
    match t {
        Term::Set(items) | Term::List(items) => items.len() as f64,
        Term::Map(items) => items.len() as f64,
        Term::Binary { right, .. } => term_elements(right),
        _ => 1.0,
    }
}

fn delete(d: &Delete, table: &Table) -> Result<WriteEffect, Fail> {
    let mut effect = write_base(table, WriteKind::Delete);
    let (rows, eq, slice) = key_restrictions(table, &d.where_clause, "DELETE")?;
    effect.rows = rows;
    let full_key = eq == table.clustering.len() && !slice;
    effect.deletion = Some(if !d.targets.is_empty() {
        let mut elements = 0.0;
        for t in &d.targets {
            let col = column(table, &t.column)?;
            if matches!(col.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
                return Err(fail(
                    format!("DELETE cannot name primary-key column `{}`", col.name),
                    "to delete the row, name no columns",
                ));
            }
            if t.element.is_some() {
                elements += 1.0;
            }
            effect.columns.push(col.name.clone());
        }
        if !full_key
            && !d.targets.iter().all(|t| {
                table
                    .column(&t.column)
                    .is_some_and(|c| c.kind == ColumnKind::Static)
            })
        {
            return Err(fail(
                "deleting columns needs the full primary key",
                "restrict every clustering column with =",
            ));
        }
        if elements > 0.0 {
            effect.element_tombstones = elements;
            Deletion::Elements
        } else {
            Deletion::Cells
        }
    } else if eq == 0 && !slice {
        Deletion::Partition
    } else if full_key {
        Deletion::Row
    } else {
        Deletion::Range
    });
    Ok(effect)
}

fn literal_number(t: &Term) -> Option<f64> {
    match t {
        Term::Number(n) => n.parse().ok(),
        _ => None,
    }
}

fn select(
    s: &Select,
    table: &Table,
    schema: &Schema,
    bound_limit: Option<f64>,
) -> Result<ReadShape, Fail> {
    for sel in &s.selectors {
        if let Some(c) = &sel.column {
            column(table, c)?;
        }
    }
    let key = table.qualified_name();
    let indexed: Vec<&str> = schema.indexes_on(&key).map(|i| i.column.as_str()).collect();
    let mut needs_filtering = Vec::new();
    let mut uses_index = false;
    for rel in &s.where_clause {
        for c in rel.lhs.columns() {
            let col = column(table, c)?;
            if matches!(col.kind, ColumnKind::Regular | ColumnKind::Static) {
                if indexed.contains(&c) {
                    uses_index = true;
                } else {
                    needs_filtering.push(c.to_string());
                }
            }
        }
    }
    let token = s
        .where_clause
        .iter()
        .any(|r| matches!(r.lhs, RelLhs::Token(_)));
    let key_rels: Vec<Relation> = s
        .where_clause
        .iter()
        .filter(|r| !matches!(r.lhs, RelLhs::Token(_)))
        .filter(|r| {
            r.lhs.columns().iter().all(|c| {
                table.column(c).is_some_and(|col| {
                    matches!(col.kind, ColumnKind::PartitionKey | ColumnKind::Clustering)
                })
            })
        })
        .cloned()
        .collect();
    let restricts_partition = table.partition_key.iter().all(|pk| {
        key_rels.iter().any(|r| {
            r.lhs.columns().contains(&pk.as_str()) && matches!(r.op, RelOp::Eq | RelOp::In)
        })
    });
    let (partitions, eq, slice) = if restricts_partition {
        match key_restrictions(table, &key_rels, "SELECT") {
            Ok(r) => r,
            Err(e) if !s.allow_filtering => return Err(e),
            Err(_) => (1.0, 0, false),
        }
    } else {
        if !s.allow_filtering && !uses_index && !token && !s.where_clause.is_empty() {
            return Err(fail(
                format!("the SELECT does not restrict the whole partition key ({}) and has no ALLOW FILTERING", table.partition_key.join(", ")),
                "restrict every partition key column with = or IN, or add ALLOW FILTERING (a scan of every node)",
            ));
        }
        (1.0, 0, false)
    };
    if !needs_filtering.is_empty() && !s.allow_filtering {
        return Err(fail(
            format!("the SELECT restricts non-key column(s) {} without ALLOW FILTERING", needs_filtering.join(", ")),
            "Cassandra refuses it: add ALLOW FILTERING (and expect a scan), index the column, or model a table keyed by it",
        ));
    }
    let mut reversed = false;
    for (i, (c, order)) in s.order_by.iter().enumerate() {
        let Some((ck, table_order)) = table.clustering.get(i) else {
            return Err(fail(
                format!("ORDER BY `{c}`: only clustering columns can order results"),
                "order by the clustering columns, in key order",
            ));
        };
        if ck != c {
            return Err(fail(
                format!("ORDER BY `{c}` is out of the clustering key's order"),
                format!("order by {} first", ck),
            ));
        }
        let asc = *order == Order::Asc;
        let table_asc = *table_order == crate::schema::ClusteringOrder::Asc;
        if i == 0 {
            reversed = asc != table_asc;
        }
    }
    let bound = |t: &Option<Term>| -> Result<Option<f64>, Fail> {
        match t {
            None => Ok(None),
            Some(Term::Bind(_)) => Ok(Some(bound_limit.ok_or_else(|| {
                fail(
                    "LIMIT ? needs a value to simulate",
                    "add limit = 100 to this [[workload]] entry",
                )
            })?)),
            // SelectStatement: a LIMIT is an int, strictly positive.
            Some(t) => match literal_number(t) {
                Some(n) if n >= 1.0 && n <= i32::MAX as f64 && n.fract() == 0.0 => Ok(Some(n)),
                Some(_) => Err(fail(
                    "LIMIT must be a whole number from 1 to 2147483647, as Cassandra requires",
                    "write LIMIT 100",
                )),
                None => Err(fail("LIMIT must be a number", "write LIMIT 100")),
            },
        }
    };
    let every = s.selectors.is_empty() || s.selectors.iter().any(|x| x.column.is_none());
    let queried: Vec<String> = table
        .columns
        .iter()
        .filter(|c| matches!(c.kind, ColumnKind::Regular | ColumnKind::Static))
        .filter(|c| {
            every
                || s.selectors
                    .iter()
                    .any(|x| x.column.as_deref() == Some(&c.name))
        })
        .map(|c| c.name.clone())
        .collect();
    let point = restricts_partition && eq == table.clustering.len() && !slice;
    let names = point && !queried.iter().any(|c| is_multicell(table, c));
    Ok(ReadShape {
        table: key,
        limit: bound(&s.limit)?,
        per_partition_limit: bound(&s.per_partition_limit)?,
        reversed,
        slice,
        point,
        queried,
        names,
        partitions,
        scan: !restricts_partition,
        allow_filtering: s.allow_filtering,
        uses_index,
    })
}
