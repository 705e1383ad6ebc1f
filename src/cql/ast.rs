//! The syntax tree of the CQL statements cassim reads. Names are as written, with unquoted
//! identifiers folded to lower case as Cassandra does.

/// A statement and where it starts (byte offset in the expanded source).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub kind: StatementKind,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    CreateKeyspace(CreateKeyspace),
    AlterKeyspace {
        name: String,
        options: Vec<TableOption>,
    },
    CreateTable(CreateTable),
    AlterTable(AlterTable),
    CreateType(CreateType),
    AlterType {
        name: QualifiedName,
    },
    CreateIndex(CreateIndex),
    CreateView(CreateView),
    AlterView {
        name: QualifiedName,
        options: Vec<TableOption>,
    },
    Drop(Drop),
    Use(String),
    Truncate(QualifiedName),
    Insert(Insert),
    Update(Update),
    Delete(Delete),
    Select(Select),
    Batch(Batch),
    /// Statements with no bearing on storage (functions, roles, permissions, triggers): recognised,
    /// reported, and otherwise skipped.
    Ignored {
        what: String,
    },
}

impl StatementKind {
    /// The statement's name as a user would say it (`CREATE TABLE`, `SELECT`).
    pub fn label(&self) -> &'static str {
        match self {
            StatementKind::CreateKeyspace(_) => "CREATE KEYSPACE",
            StatementKind::AlterKeyspace { .. } => "ALTER KEYSPACE",
            StatementKind::CreateTable(_) => "CREATE TABLE",
            StatementKind::AlterTable(_) => "ALTER TABLE",
            StatementKind::CreateType(_) => "CREATE TYPE",
            StatementKind::AlterType { .. } => "ALTER TYPE",
            StatementKind::CreateIndex(_) => "CREATE INDEX",
            StatementKind::CreateView(_) => "CREATE MATERIALIZED VIEW",
            StatementKind::AlterView { .. } => "ALTER MATERIALIZED VIEW",
            StatementKind::Drop(_) => "DROP",
            StatementKind::Use(_) => "USE",
            StatementKind::Truncate(_) => "TRUNCATE",
            StatementKind::Insert(_) => "INSERT",
            StatementKind::Update(_) => "UPDATE",
            StatementKind::Delete(_) => "DELETE",
            StatementKind::Select(_) => "SELECT",
            StatementKind::Batch(_) => "BATCH",
            StatementKind::Ignored { .. } => "ignored statement",
        }
    }
}

/// `ks.name` or `name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QualifiedName {
    pub keyspace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.keyspace {
            Some(ks) => write!(f, "{ks}.{}", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

/// CQL native types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NativeType {
    Ascii,
    Bigint,
    Blob,
    Boolean,
    Counter,
    Date,
    Decimal,
    Double,
    Duration,
    Float,
    Inet,
    Int,
    Smallint,
    Text,
    Time,
    Timestamp,
    Timeuuid,
    Tinyint,
    Uuid,
    Varint,
}

impl NativeType {
    pub fn from_name(name: &str) -> Option<NativeType> {
        use NativeType::*;
        Some(match name.to_ascii_lowercase().as_str() {
            "ascii" => Ascii,
            "bigint" => Bigint,
            "blob" => Blob,
            "boolean" => Boolean,
            "counter" => Counter,
            "date" => Date,
            "decimal" => Decimal,
            "double" => Double,
            "duration" => Duration,
            "float" => Float,
            "inet" => Inet,
            "int" => Int,
            "smallint" => Smallint,
            "text" | "varchar" => Text,
            "time" => Time,
            "timestamp" => Timestamp,
            "timeuuid" => Timeuuid,
            "tinyint" => Tinyint,
            "uuid" => Uuid,
            "varint" => Varint,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        use NativeType::*;
        match self {
            Ascii => "ascii",
            Bigint => "bigint",
            Blob => "blob",
            Boolean => "boolean",
            Counter => "counter",
            Date => "date",
            Decimal => "decimal",
            Double => "double",
            Duration => "duration",
            Float => "float",
            Inet => "inet",
            Int => "int",
            Smallint => "smallint",
            Text => "text",
            Time => "time",
            Timestamp => "timestamp",
            Timeuuid => "timeuuid",
            Tinyint => "tinyint",
            Uuid => "uuid",
            Varint => "varint",
        }
    }
}

/// A column's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CqlType {
    Native(NativeType),
    List(Box<CqlType>),
    Set(Box<CqlType>),
    Map(Box<CqlType>, Box<CqlType>),
    Tuple(Vec<CqlType>),
    Frozen(Box<CqlType>),
    /// A user-defined type, by name.
    Udt(QualifiedName),
    Vector(Box<CqlType>, u32),
    /// A custom type given as a class-name string.
    Custom(String),
}

impl std::fmt::Display for CqlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CqlType::Native(n) => write!(f, "{}", n.name()),
            CqlType::List(t) => write!(f, "list<{t}>"),
            CqlType::Set(t) => write!(f, "set<{t}>"),
            CqlType::Map(k, v) => write!(f, "map<{k}, {v}>"),
            CqlType::Tuple(ts) => {
                let parts: Vec<String> = ts.iter().map(|t| t.to_string()).collect();
                write!(f, "tuple<{}>", parts.join(", "))
            }
            CqlType::Frozen(t) => write!(f, "frozen<{t}>"),
            CqlType::Udt(n) => write!(f, "{n}"),
            CqlType::Vector(t, n) => write!(f, "vector<{t}, {n}>"),
            CqlType::Custom(c) => write!(f, "'{c}'"),
        }
    }
}

/// An option value in a `WITH` clause.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    Str(String),
    Number(f64),
    Bool(bool),
    Ident(String),
    Map(Vec<(String, OptionValue)>),
}

impl OptionValue {
    /// The value as text, the way Cassandra stores option strings.
    pub fn as_text(&self) -> String {
        match self {
            OptionValue::Str(s) | OptionValue::Ident(s) => s.clone(),
            OptionValue::Number(n) => format_number(*n),
            OptionValue::Bool(b) => b.to_string(),
            OptionValue::Map(_) => "{…}".to_string(),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            OptionValue::Number(n) => Some(*n),
            OptionValue::Str(s) | OptionValue::Ident(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            OptionValue::Bool(b) => Some(*b),
            OptionValue::Str(s) | OptionValue::Ident(s) => match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
}

pub(crate) fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// `name = value` in a `WITH` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct TableOption {
    pub name: String,
    pub value: OptionValue,
    pub offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateKeyspace {
    pub name: String,
    pub if_not_exists: bool,
    pub options: Vec<TableOption>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: CqlType,
    pub is_static: bool,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PrimaryKey {
    pub partition: Vec<String>,
    pub clustering: Vec<String>,
}

/// What comes after `WITH` in CREATE TABLE, ALTER TABLE and CREATE MATERIALIZED VIEW.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableProperties {
    pub options: Vec<TableOption>,
    pub clustering_order: Vec<(String, Order)>,
    pub compact_storage: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    pub name: QualifiedName,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnDef>,
    pub primary_key: PrimaryKey,
    pub properties: TableProperties,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlterTableAction {
    Add(Vec<ColumnDef>),
    Drop(Vec<String>),
    Alter { column: String, ty: CqlType },
    Rename(Vec<(String, String)>),
    With(TableProperties),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlterTable {
    pub name: QualifiedName,
    pub action: AlterTableAction,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateType {
    pub name: QualifiedName,
    pub if_not_exists: bool,
    pub fields: Vec<(String, CqlType)>,
}

/// What an index is on: `col`, `KEYS(col)`, `VALUES(col)`, `ENTRIES(col)`, `FULL(col)`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexTarget {
    pub column: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateIndex {
    pub name: Option<String>,
    pub table: QualifiedName,
    pub if_not_exists: bool,
    pub targets: Vec<IndexTarget>,
    /// The class of a CUSTOM INDEX (`…SASIIndex`, `StorageAttachedIndex`, `sai`).
    pub custom_class: Option<String>,
    pub options: Vec<TableOption>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateView {
    pub name: QualifiedName,
    pub if_not_exists: bool,
    pub base: QualifiedName,
    /// Selected columns; empty for `*`.
    pub columns: Vec<String>,
    pub where_clause: Vec<Relation>,
    pub primary_key: PrimaryKey,
    pub properties: TableProperties,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Drop {
    /// `TABLE`, `KEYSPACE`, `TYPE`, `INDEX`, `MATERIALIZED VIEW`, `FUNCTION`, …
    pub what: String,
    pub name: QualifiedName,
    pub if_exists: bool,
}

/// A value in DML.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Null,
    Bind(Option<String>),
    Str(String),
    Number(String),
    Bool(bool),
    Uuid(String),
    Hex(String),
    List(Vec<Term>),
    Set(Vec<Term>),
    Map(Vec<(Term, Term)>),
    Tuple(Vec<Term>),
    /// A UDT literal `{field: value, …}`.
    Udt(Vec<(String, Term)>),
    Function {
        name: String,
        args: Vec<Term>,
    },
    /// A column reference (on the right of `SET c = c + …`, or a function argument).
    Column(String),
    /// `a + b`, `a - b` (collection and counter arithmetic, and numeric arithmetic).
    Binary {
        op: char,
        left: Box<Term>,
        right: Box<Term>,
    },
    Negative(Box<Term>),
    Cast {
        term: Box<Term>,
        ty: CqlType,
    },
}

impl Term {
    pub fn is_null(&self) -> bool {
        matches!(self, Term::Null)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Using {
    pub ttl: Option<Term>,
    pub timestamp: Option<Term>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InsertValues {
    Values {
        columns: Vec<String>,
        values: Vec<Term>,
    },
    Json {
        json: Term,
        default_unset: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    pub table: QualifiedName,
    pub values: InsertValues,
    pub if_not_exists: bool,
    pub using: Using,
}

/// The left side of an assignment: a column, an element `c[k]` or a UDT field `c.f`.
#[derive(Debug, Clone, PartialEq)]
pub enum AssignTarget {
    Column(String),
    Element(String, Term),
    Field(String, String),
}

impl AssignTarget {
    pub fn column(&self) -> &str {
        match self {
            AssignTarget::Column(c) | AssignTarget::Element(c, _) | AssignTarget::Field(c, _) => c,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub target: AssignTarget,
    /// `=`, `+=` or `-=`.
    pub op: &'static str,
    pub value: Term,
}

/// `IF EXISTS`, `IF NOT EXISTS` or `IF cond AND …` on a write: a lightweight transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Exists,
    NotExists,
    Columns(Vec<Relation>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub table: QualifiedName,
    pub using: Using,
    pub assignments: Vec<Assignment>,
    pub where_clause: Vec<Relation>,
    pub condition: Option<Condition>,
}

/// A column named in `DELETE col, m[k], u.f FROM …`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteTarget {
    pub column: String,
    pub element: Option<Term>,
    pub field: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    pub table: QualifiedName,
    pub targets: Vec<DeleteTarget>,
    pub using: Using,
    pub where_clause: Vec<Relation>,
    pub condition: Option<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Contains,
    ContainsKey,
    Like,
    IsNotNull,
}

impl RelOp {
    pub fn is_slice(self) -> bool {
        matches!(self, RelOp::Lt | RelOp::Le | RelOp::Gt | RelOp::Ge)
    }
}

/// The left side of a relation.
#[derive(Debug, Clone, PartialEq)]
pub enum RelLhs {
    Column(String),
    /// `(a, b) > (?, ?)`: a multi-column clustering relation.
    Tuple(Vec<String>),
    /// `token(a, b) > ?`.
    Token(Vec<String>),
    /// `m['k'] = ?` on a map column.
    Element(String, Term),
}

impl RelLhs {
    pub fn columns(&self) -> Vec<&str> {
        match self {
            RelLhs::Column(c) | RelLhs::Element(c, _) => vec![c.as_str()],
            RelLhs::Tuple(cs) | RelLhs::Token(cs) => cs.iter().map(|c| c.as_str()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub lhs: RelLhs,
    pub op: RelOp,
    pub rhs: Term,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// The column, or `None` for an expression (a function call, a cast).
    pub column: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub table: QualifiedName,
    pub json: bool,
    pub distinct: bool,
    /// Empty for `*`.
    pub selectors: Vec<Selector>,
    pub where_clause: Vec<Relation>,
    pub group_by: Vec<String>,
    pub order_by: Vec<(String, Order)>,
    pub per_partition_limit: Option<Term>,
    pub limit: Option<Term>,
    pub allow_filtering: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchKind {
    Logged,
    Unlogged,
    Counter,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub kind: BatchKind,
    pub using: Using,
    pub statements: Vec<Statement>,
}
