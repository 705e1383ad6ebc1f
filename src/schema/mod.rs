//! The schema: keyspaces, tables, user types, secondary indexes and materialized views, built by
//! applying parsed CQL statements in order (CREATE, ALTER, DROP, USE), with the checks Cassandra
//! makes when it accepts DDL. `sizes` turns a table into bytes per row, cell and partition.

pub mod options;
pub mod sizes;

use std::collections::BTreeMap;

use crate::cql::ast::{
    AlterTableAction, ColumnDef, CqlType, Order, Statement, StatementKind, TableProperties,
};
use crate::cql::{CqlError, Source};
pub use options::{Compaction, Compression, Strategy, TableOptions};

/// Where a column sits in the primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    PartitionKey,
    Clustering,
    Static,
    Regular,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Column {
    pub name: String,
    #[serde(serialize_with = "serialize_type")]
    pub ty: CqlType,
    pub kind: ColumnKind,
}

fn serialize_type<S: serde::Serializer>(ty: &CqlType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ty.to_string())
}

impl Column {
    /// A non-frozen collection or UDT: each element is its own cell, and overwriting the whole
    /// value writes a complex deletion first (CASSANDRA.md 6.1).
    pub fn is_multicell(&self) -> bool {
        matches!(
            self.ty,
            CqlType::List(_) | CqlType::Set(_) | CqlType::Map(_, _)
        ) || matches!(self.ty, CqlType::Udt(_))
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Table {
    pub keyspace: String,
    pub name: String,
    /// Columns in definition order.
    pub columns: Vec<Column>,
    pub partition_key: Vec<String>,
    pub clustering: Vec<(String, ClusteringOrder)>,
    pub options: TableOptions,
    pub compact_storage: bool,
    /// For a materialized view, the base table's qualified name.
    pub view_of: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ClusteringOrder {
    #[serde(rename = "ASC")]
    Asc,
    #[serde(rename = "DESC")]
    Desc,
}

impl Table {
    /// `ks.name`, or `name` when the table's keyspace is unknown.
    pub fn qualified_name(&self) -> String {
        qualify(&self.keyspace, &self.name)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn columns_of(&self, kind: ColumnKind) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(move |c| c.kind == kind)
    }

    pub fn is_counter_table(&self) -> bool {
        self.columns
            .iter()
            .any(|c| c.ty == CqlType::Native(crate::cql::ast::NativeType::Counter))
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Keyspace {
    pub name: String,
    /// Replication class, short name.
    pub replication_class: String,
    /// Replication factors: `replication_factor` for SimpleStrategy, per DC otherwise.
    pub replication: BTreeMap<String, String>,
    pub durable_writes: bool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UserType {
    pub keyspace: String,
    pub name: String,
    pub fields: Vec<(String, String)>,
}

/// A secondary index (2i), SASI or SAI index.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Index {
    pub name: String,
    pub table: String,
    pub column: String,
    /// `values`, `keys`, `entries` or `full`.
    pub target: String,
    /// `secondary`, `sasi`, `sai` or the custom class.
    pub kind: String,
}

/// Something the reader accepted but wants the user to know (ignored statements, options kept but
/// not modelled).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Note {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Schema {
    pub keyspaces: BTreeMap<String, Keyspace>,
    pub types: BTreeMap<String, UserType>,
    /// Tables and materialized views by qualified name.
    pub tables: BTreeMap<String, Table>,
    pub indexes: Vec<Index>,
    pub notes: Vec<Note>,
    /// DML statements found in schema files (kept for `check` and stress imports).
    #[serde(skip)]
    pub dml: Vec<Statement>,
    /// The schema statements (keyspaces, types, tables, indexes, views, `USE`) as written, after
    /// template expansion and in order: `cassim drive` creates the schema on a real cluster
    /// from them, so the real tables carry every option the scenario's CQL gives.
    #[serde(skip)]
    pub ddl: Vec<String>,
}

pub fn qualify(keyspace: &str, name: &str) -> String {
    if keyspace.is_empty() {
        name.to_string()
    } else {
        format!("{keyspace}.{name}")
    }
}

impl Schema {
    /// Looks a table up by `ks.t`, or by `t` when exactly one table has that name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        if let Some(t) = self.tables.get(name) {
            return Some(t);
        }
        let mut matches = self
            .tables
            .values()
            .filter(|t| t.name == name || t.qualified_name() == name);
        let first = matches.next()?;
        if matches.next().is_some() {
            None
        } else {
            Some(first)
        }
    }

    pub fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        let key = self.table(name)?.qualified_name();
        self.tables.get_mut(&key)
    }

    /// Materialized views whose base is `table`.
    pub fn views_of<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a Table> + 'a {
        self.tables
            .values()
            .filter(move |t| t.view_of.as_deref() == Some(table))
    }

    pub fn indexes_on<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a Index> + 'a {
        self.indexes.iter().filter(move |i| i.table == table)
    }

    /// Applies the statements of one source in order. `keyspace` is the keyspace of unqualified
    /// names until a `USE` changes it (a stress profile's `keyspace:`, say).
    pub fn apply_source(
        &mut self,
        source: &Source,
        statements: Vec<Statement>,
        keyspace: Option<&str>,
    ) -> Result<(), CqlError> {
        let mut builder = Builder {
            schema: self,
            source,
            keyspace: keyspace.unwrap_or("").to_string(),
        };
        let ends: Vec<usize> = statements
            .iter()
            .skip(1)
            .map(|s| s.offset)
            .chain([source.text.len()])
            .collect();
        for (stmt, end) in statements.into_iter().zip(ends) {
            if is_schema_statement(&stmt.kind) {
                let text = source.text[stmt.offset..end].trim();
                let text = text.strip_suffix(';').unwrap_or(text).trim_end();
                builder.schema.ddl.push(text.to_string());
            }
            builder.apply(stmt)?;
        }
        Ok(())
    }

    /// Parses CQL text and builds a schema from it.
    pub fn from_cql(
        file: &str,
        text: &str,
        vars: &BTreeMap<String, String>,
        keyspace: Option<&str>,
    ) -> Result<Schema, CqlError> {
        let source = Source::new(file, text, vars)?;
        let statements = crate::cql::parse_source(&source)?;
        let mut schema = Schema::default();
        schema.apply_source(&source, statements, keyspace)?;
        Ok(schema)
    }
}

/// Statements that define the schema (what `drive` replays), as opposed to data statements and
/// the ones cassim only reports.
fn is_schema_statement(kind: &StatementKind) -> bool {
    !matches!(
        kind,
        StatementKind::Insert(_)
            | StatementKind::Update(_)
            | StatementKind::Delete(_)
            | StatementKind::Select(_)
            | StatementKind::Batch(_)
            | StatementKind::Truncate(_)
            | StatementKind::Drop(_)
            | StatementKind::Ignored { .. }
    )
}

struct Builder<'a> {
    schema: &'a mut Schema,
    source: &'a Source,
    keyspace: String,
}

impl Builder<'_> {
    fn note(&mut self, offset: usize, message: String) {
        let (line, col) = self.source.line_col(offset);
        self.schema.notes.push(Note {
            file: self.source.name.clone(),
            line,
            col,
            message,
        });
    }

    fn err(&self, offset: usize, message: String) -> CqlError {
        self.source.error_at(offset, message)
    }

    fn resolve(&self, name: &crate::cql::ast::QualifiedName) -> (String, String) {
        let ks = name
            .keyspace
            .clone()
            .unwrap_or_else(|| self.keyspace.clone());
        (ks, name.name.clone())
    }

    fn existing_table(
        &self,
        name: &crate::cql::ast::QualifiedName,
        at: usize,
    ) -> Result<String, CqlError> {
        let (ks, n) = self.resolve(name);
        let key = qualify(&ks, &n);
        if self.schema.tables.contains_key(&key) {
            return Ok(key);
        }
        Err(self
            .err(at, format!("table {key} does not exist"))
            .with_hint("create it before this statement, or qualify the name with its keyspace"))
    }

    fn apply(&mut self, stmt: Statement) -> Result<(), CqlError> {
        let at = stmt.offset;
        match stmt.kind {
            StatementKind::Use(ks) => self.keyspace = ks,
            StatementKind::CreateKeyspace(k) => {
                let ks = keyspace_from_options(&k.name, &k.options).map_err(|m| self.err(at, m))?;
                self.schema.keyspaces.insert(k.name, ks);
            }
            StatementKind::AlterKeyspace { name, options } => {
                let ks = keyspace_from_options(&name, &options).map_err(|m| self.err(at, m))?;
                self.schema.keyspaces.insert(name, ks);
            }
            StatementKind::CreateType(t) => {
                let (ks, name) = self.resolve(&t.name);
                let fields = t
                    .fields
                    .iter()
                    .map(|(f, ty)| (f.clone(), ty.to_string()))
                    .collect();
                self.schema.types.insert(
                    qualify(&ks, &name),
                    UserType {
                        keyspace: ks,
                        name,
                        fields,
                    },
                );
            }
            StatementKind::CreateTable(t) => {
                let (ks, name) = self.resolve(&t.name);
                let key = qualify(&ks, &name);
                if self.schema.tables.contains_key(&key) {
                    if t.if_not_exists {
                        return Ok(());
                    }
                    return Err(self.err(at, format!("table {key} is created twice")));
                }
                let table = self.table_from_ddl(
                    ks,
                    name,
                    &t.columns,
                    &t.primary_key.partition,
                    &t.primary_key.clustering,
                    &t.properties,
                    None,
                    at,
                )?;
                self.schema.tables.insert(key, table);
            }
            StatementKind::CreateView(v) => {
                let base_key = self.existing_table(&v.base, at)?;
                let base = self.schema.tables[&base_key].clone();
                let (ks, name) = self.resolve(&v.name);
                let selected: Vec<&Column> = if v.columns.is_empty() {
                    base.columns.iter().collect()
                } else {
                    let mut cols = Vec::new();
                    for c in &v.columns {
                        cols.push(base.column(c).ok_or_else(|| {
                            self.err(
                                at,
                                format!("view {name} selects `{c}`, which {base_key} lacks"),
                            )
                        })?);
                    }
                    // Primary-key columns of the view must be selected; Cassandra requires all base
                    // key columns in the view key, which brings them in.
                    for pk in v
                        .primary_key
                        .partition
                        .iter()
                        .chain(&v.primary_key.clustering)
                    {
                        if !cols.iter().any(|c| &c.name == pk) {
                            if let Some(c) = base.column(pk) {
                                cols.push(c);
                            }
                        }
                    }
                    cols
                };
                let defs: Vec<ColumnDef> = selected
                    .iter()
                    .map(|c| ColumnDef {
                        name: c.name.clone(),
                        ty: c.ty.clone(),
                        is_static: false,
                        offset: at,
                    })
                    .collect();
                for key_col in base
                    .partition_key
                    .iter()
                    .chain(base.clustering.iter().map(|(c, _)| c))
                {
                    let in_view = v.primary_key.partition.contains(key_col)
                        || v.primary_key.clustering.contains(key_col);
                    if !in_view {
                        return Err(self
                            .err(at, format!("view {name} must include base primary-key column `{key_col}` in its PRIMARY KEY"))
                            .with_hint("a materialized view's key holds every base key column plus at most one other"));
                    }
                }
                let table = self.table_from_ddl(
                    ks.clone(),
                    name.clone(),
                    &defs,
                    &v.primary_key.partition,
                    &v.primary_key.clustering,
                    &v.properties,
                    Some(base_key),
                    at,
                )?;
                self.schema.tables.insert(qualify(&ks, &name), table);
            }
            StatementKind::AlterTable(a) => {
                let key = self.existing_table(&a.name, at)?;
                self.alter_table(&key, a.action, at)?;
            }
            StatementKind::AlterView { name, options } => {
                let key = self.existing_table(&name, at)?;
                for o in options {
                    self.apply_option(&key, &o.name, &o.value, o.offset)?;
                }
            }
            StatementKind::CreateIndex(i) => {
                let key = self.existing_table(&i.table, at)?;
                let table = &self.schema.tables[&key];
                for target in &i.targets {
                    if table.column(&target.column).is_none() {
                        return Err(self.err(
                            at,
                            format!("index on unknown column `{}` of {key}", target.column),
                        ));
                    }
                    let kind = match &i.custom_class {
                        None => "secondary".to_string(),
                        Some(c) if c.to_ascii_lowercase().contains("sasi") => "sasi".to_string(),
                        Some(c)
                            if c.to_ascii_lowercase().contains("storageattached")
                                || c.eq_ignore_ascii_case("sai") =>
                        {
                            "sai".to_string()
                        }
                        Some(c) => c.clone(),
                    };
                    let name = i
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("{}_{}_idx", table.name, target.column));
                    self.schema.indexes.push(Index {
                        name,
                        table: key.clone(),
                        column: target.column.clone(),
                        target: target.kind.clone(),
                        kind,
                    });
                }
            }
            StatementKind::Drop(d) => {
                let (ks, name) = self.resolve(&d.name);
                let key = qualify(&ks, &name);
                match d.what.as_str() {
                    "TABLE" | "COLUMNFAMILY" | "MATERIALIZED VIEW" => {
                        self.schema.tables.remove(&key);
                        self.schema.indexes.retain(|i| i.table != key);
                    }
                    "KEYSPACE" | "SCHEMA" => {
                        self.schema.keyspaces.remove(&name);
                        self.schema.tables.retain(|_, t| t.keyspace != name);
                        self.schema.types.retain(|_, t| t.keyspace != name);
                    }
                    "TYPE" => {
                        self.schema.types.remove(&key);
                    }
                    "INDEX" => self.schema.indexes.retain(|i| i.name != name),
                    _ => {}
                }
            }
            StatementKind::AlterType { .. } | StatementKind::Truncate(_) => {}
            StatementKind::Ignored { what } => {
                self.note(
                    at,
                    format!("{what} statement skipped: it does not change storage"),
                );
            }
            StatementKind::Insert(_)
            | StatementKind::Update(_)
            | StatementKind::Delete(_)
            | StatementKind::Select(_)
            | StatementKind::Batch(_) => {
                self.schema.dml.push(Statement {
                    kind: stmt.kind,
                    offset: at,
                });
            }
        }
        Ok(())
    }

    fn check_type(&self, ty: &CqlType, ks: &str, at: usize) -> Result<(), CqlError> {
        match ty {
            CqlType::Udt(n) => {
                let key = qualify(n.keyspace.as_deref().unwrap_or(ks), &n.name);
                if !self.schema.types.contains_key(&key) {
                    return Err(self
                        .err(at, format!("unknown type `{n}`"))
                        .with_hint("define it with CREATE TYPE first, or use a native type (text, int, bigint, timestamp, uuid, …)"));
                }
                Ok(())
            }
            CqlType::List(t) | CqlType::Set(t) | CqlType::Frozen(t) | CqlType::Vector(t, _) => {
                self.check_type(t, ks, at)
            }
            CqlType::Map(k, v) => {
                self.check_type(k, ks, at)?;
                self.check_type(v, ks, at)
            }
            CqlType::Tuple(ts) => ts.iter().try_for_each(|t| self.check_type(t, ks, at)),
            CqlType::Native(_) | CqlType::Custom(_) => Ok(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn table_from_ddl(
        &mut self,
        keyspace: String,
        name: String,
        defs: &[ColumnDef],
        partition: &[String],
        clustering: &[String],
        props: &TableProperties,
        view_of: Option<String>,
        at: usize,
    ) -> Result<Table, CqlError> {
        let mut columns: Vec<Column> = Vec::new();
        for def in defs {
            if columns.iter().any(|c| c.name == def.name) {
                return Err(self.err(
                    def.offset,
                    format!("column `{}` is defined twice", def.name),
                ));
            }
            self.check_type(&def.ty, &keyspace, def.offset)?;
            let kind = if partition.contains(&def.name) {
                ColumnKind::PartitionKey
            } else if clustering.contains(&def.name) {
                ColumnKind::Clustering
            } else if def.is_static {
                ColumnKind::Static
            } else {
                ColumnKind::Regular
            };
            if def.is_static && kind != ColumnKind::Static {
                return Err(self.err(
                    def.offset,
                    format!("primary-key column `{}` cannot be static", def.name),
                ));
            }
            if def.is_static && clustering.is_empty() {
                return Err(self
                    .err(
                        def.offset,
                        format!(
                            "static column `{}` in a table without clustering columns",
                            def.name
                        ),
                    )
                    .with_hint(
                        "static columns only make sense when a partition has several rows",
                    ));
            }
            let is_key = matches!(kind, ColumnKind::PartitionKey | ColumnKind::Clustering);
            if is_key
                && matches!(
                    def.ty,
                    CqlType::List(_) | CqlType::Set(_) | CqlType::Map(_, _)
                )
            {
                return Err(self
                    .err(
                        def.offset,
                        format!(
                            "primary-key column `{}` has a non-frozen collection type",
                            def.name
                        ),
                    )
                    .with_hint("wrap it in frozen<…>"));
            }
            columns.push(Column {
                name: def.name.clone(),
                ty: def.ty.clone(),
                kind,
            });
        }
        for key in partition.iter().chain(clustering) {
            if !columns.iter().any(|c| &c.name == key) {
                return Err(self
                    .err(
                        at,
                        format!("PRIMARY KEY names `{key}`, which is not a column of {name}"),
                    )
                    .with_hint("declare the column in the table's column list"));
            }
        }
        let counters = columns
            .iter()
            .filter(|c| c.ty == CqlType::Native(crate::cql::ast::NativeType::Counter))
            .count();
        let regular = columns
            .iter()
            .filter(|c| matches!(c.kind, ColumnKind::Regular | ColumnKind::Static))
            .count();
        if counters > 0 && counters != regular {
            return Err(self
                .err(
                    at,
                    format!("table {name} mixes counter and non-counter columns"),
                )
                .with_hint("put counters in a table of their own"));
        }
        // Clustering order: defaults ASC; an explicit order must follow the clustering columns.
        let mut order: Vec<(String, ClusteringOrder)> = clustering
            .iter()
            .map(|c| (c.clone(), ClusteringOrder::Asc))
            .collect();
        for (i, (col, o)) in props.clustering_order.iter().enumerate() {
            match order.get_mut(i) {
                Some((c, slot)) if c == col => {
                    *slot = if *o == Order::Desc {
                        ClusteringOrder::Desc
                    } else {
                        ClusteringOrder::Asc
                    }
                }
                _ => {
                    return Err(self
                        .err(
                            at,
                            format!(
                            "CLUSTERING ORDER BY names `{col}` out of the clustering key's order"
                        ),
                        )
                        .with_hint(format!(
                            "list the clustering columns in key order: {}",
                            clustering.join(", ")
                        )))
                }
            }
        }
        let mut table = Table {
            keyspace,
            name,
            columns,
            partition_key: partition.to_vec(),
            clustering: order,
            options: TableOptions::default(),
            compact_storage: props.compact_storage,
            view_of,
        };
        for o in &props.options {
            match table.options.apply(&o.name, &o.value) {
                Ok(None) => {}
                Ok(Some(note)) => self.note(o.offset, note),
                Err(m) => return Err(self.err(o.offset, m)),
            }
        }
        Ok(table)
    }

    fn apply_option(
        &mut self,
        key: &str,
        name: &str,
        value: &crate::cql::ast::OptionValue,
        at: usize,
    ) -> Result<(), CqlError> {
        let table = self
            .schema
            .tables
            .get_mut(key)
            .expect("checked by existing_table");
        match table.options.apply(name, value) {
            Ok(None) => Ok(()),
            Ok(Some(note)) => {
                self.note(at, note);
                Ok(())
            }
            Err(m) => Err(self.err(at, m)),
        }
    }

    fn alter_table(
        &mut self,
        key: &str,
        action: AlterTableAction,
        at: usize,
    ) -> Result<(), CqlError> {
        match action {
            AlterTableAction::Add(defs) => {
                for def in defs {
                    let ks = self.schema.tables[key].keyspace.clone();
                    self.check_type(&def.ty, &ks, def.offset)?;
                    let table = self.schema.tables.get_mut(key).expect("exists");
                    if table.column(&def.name).is_some() {
                        return Err(self.err(
                            def.offset,
                            format!("column `{}` already exists in {key}", def.name),
                        ));
                    }
                    let kind = if def.is_static {
                        ColumnKind::Static
                    } else {
                        ColumnKind::Regular
                    };
                    table.columns.push(Column {
                        name: def.name,
                        ty: def.ty,
                        kind,
                    });
                }
            }
            AlterTableAction::Drop(cols) => {
                let table = self.schema.tables.get_mut(key).expect("exists");
                for c in cols {
                    match table.column(&c).map(|col| col.kind) {
                        None => {
                            return Err(
                                self.err(at, format!("column `{c}` does not exist in {key}"))
                            )
                        }
                        Some(ColumnKind::PartitionKey | ColumnKind::Clustering) => {
                            return Err(
                                self.err(at, format!("cannot drop primary-key column `{c}`"))
                            )
                        }
                        Some(_) => table.columns.retain(|col| col.name != c),
                    }
                }
            }
            AlterTableAction::Alter { column, ty } => {
                let table = self.schema.tables.get_mut(key).expect("exists");
                match table.columns.iter_mut().find(|c| c.name == column) {
                    Some(c) => c.ty = ty,
                    None => {
                        return Err(
                            self.err(at, format!("column `{column}` does not exist in {key}"))
                        )
                    }
                }
            }
            AlterTableAction::Rename(pairs) => {
                let table = self.schema.tables.get_mut(key).expect("exists");
                for (from, to) in pairs {
                    let Some(c) = table.columns.iter_mut().find(|c| c.name == from) else {
                        return Err(
                            self.err(at, format!("column `{from}` does not exist in {key}"))
                        );
                    };
                    c.name = to.clone();
                    for k in table.partition_key.iter_mut() {
                        if *k == from {
                            *k = to.clone();
                        }
                    }
                    for (k, _) in table.clustering.iter_mut() {
                        if *k == from {
                            *k = to.clone();
                        }
                    }
                }
            }
            AlterTableAction::With(props) => {
                for o in props.options {
                    self.apply_option(key, &o.name, &o.value, o.offset)?;
                }
            }
        }
        Ok(())
    }
}

fn keyspace_from_options(
    name: &str,
    options: &[crate::cql::ast::TableOption],
) -> Result<Keyspace, String> {
    let mut ks = Keyspace {
        name: name.to_string(),
        replication_class: "SimpleStrategy".into(),
        replication: BTreeMap::new(),
        durable_writes: true,
    };
    for o in options {
        match (o.name.as_str(), &o.value) {
            ("replication", crate::cql::ast::OptionValue::Map(m)) => {
                for (k, v) in m {
                    if k == "class" {
                        let c = v.as_text();
                        ks.replication_class = c.rsplit('.').next().unwrap_or(&c).to_string();
                    } else {
                        ks.replication.insert(k.clone(), v.as_text());
                    }
                }
            }
            ("replication", _) => {
                return Err(
                    "replication takes a map like {'class': 'NetworkTopologyStrategy', 'dc1': 3}"
                        .into(),
                )
            }
            ("durable_writes", v) => ks.durable_writes = v.as_bool().unwrap_or(true),
            (other, _) => return Err(format!("unknown keyspace option `{other}`")),
        }
    }
    Ok(ks)
}
