//! The recursive-descent CQL parser: tokens in, statements out. Each `parse_*` function reads one
//! grammar rule of the CQL reference and leaves the cursor after it.

use super::ast::*;
use super::lexer::{tokenize, Token, TokenKind};
use super::source::Source;
use super::CqlError;

type Result<T> = std::result::Result<T, CqlError>;

/// How deep types and terms may nest: far beyond any schema in the corpus (three levels), and
/// far below what overflows the stack (a type nested 5 000 deep aborted the process).
const MAX_NESTING: usize = 64;

/// Parses every statement of a source.
pub fn parse_source(source: &Source) -> Result<Vec<Statement>> {
    let tokens = tokenize(source)?;
    let mut p = Parser {
        source,
        tokens,
        pos: 0,
        depth: 0,
    };
    let mut statements = Vec::new();
    loop {
        while p.eat_sym(";") {}
        if p.at_eof() {
            break;
        }
        let stmt = p.statement()?;
        statements.push(stmt);
        if !p.at_eof() && !p.eat_sym(";") {
            return Err(p.unexpected("`;` after the statement"));
        }
    }
    Ok(statements)
}

struct Parser<'s> {
    source: &'s Source,
    tokens: Vec<Token>,
    pos: usize,
    /// Types or terms being parsed inside one another.
    depth: usize,
}

/// CQL's reserved words (Cassandra's `cql3/reserved_keywords.txt`, 4.0 to 5.0): a name only when
/// quoted.
const RESERVED: &[&str] = &[
    "ADD",
    "ALLOW",
    "ALTER",
    "AND",
    "APPLY",
    "ASC",
    "AUTHORIZE",
    "BATCH",
    "BEGIN",
    "BY",
    "COLUMNFAMILY",
    "CREATE",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DROP",
    "ENTRIES",
    "EXECUTE",
    "FROM",
    "FULL",
    "GRANT",
    "IF",
    "IN",
    "INDEX",
    "INFINITY",
    "INSERT",
    "INTO",
    "IS",
    "KEYSPACE",
    "LIMIT",
    "MATERIALIZED",
    "MODIFY",
    "NAN",
    "NORECURSIVE",
    "NOT",
    "NULL",
    "OF",
    "ON",
    "OR",
    "ORDER",
    "PRIMARY",
    "RENAME",
    "REVOKE",
    "SCHEMA",
    "SELECT",
    "SET",
    "TABLE",
    "TO",
    "TOKEN",
    "TRUNCATE",
    "UNLOGGED",
    "UPDATE",
    "USE",
    "USING",
    "VIEW",
    "WHERE",
    "WITH",
];

/// Statement keywords with no bearing on storage; they are skipped with a note.
const IGNORED_CREATE: [&str; 5] = ["FUNCTION", "AGGREGATE", "ROLE", "USER", "TRIGGER"];

impl<'s> Parser<'s> {
    // ---- cursor helpers -------------------------------------------------------------------

    fn peek(&self) -> &TokenKind {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &TokenKind {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.pos + n).min(last)].kind
    }

    fn offset(&self) -> usize {
        let last = self.tokens.len() - 1;
        self.tokens[self.pos.min(last)].offset
    }

    fn advance(&mut self) -> TokenKind {
        let kind = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        kind
    }

    fn at_eof(&self) -> bool {
        matches!(self.peek(), TokenKind::Eof)
    }

    fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        matches!(self.peek_at(n), TokenKind::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn is_kw(&self, kw: &str) -> bool {
        self.is_kw_at(0, kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{kw}`")))
        }
    }

    fn eat_kws(&mut self, kws: &[&str]) -> bool {
        if kws.iter().enumerate().all(|(i, k)| self.is_kw_at(i, k)) {
            for _ in kws {
                self.advance();
            }
            true
        } else {
            false
        }
    }

    fn is_sym(&self, sym: &str) -> bool {
        matches!(self.peek(), TokenKind::Sym(s) if *s == sym)
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        if self.is_sym(sym) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, sym: &str) -> Result<()> {
        if self.eat_sym(sym) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{sym}`")))
        }
    }

    fn describe(kind: &TokenKind) -> String {
        match kind {
            TokenKind::Ident(s) => format!("`{s}`"),
            TokenKind::QuotedIdent(s) => format!("\"{s}\""),
            TokenKind::Str(s) => format!("string '{s}'"),
            TokenKind::Int(s) | TokenKind::Float(s) | TokenKind::Hex(s) | TokenKind::Uuid(s) => {
                format!("`{s}`")
            }
            TokenKind::Bind(None) => "`?`".to_string(),
            TokenKind::Bind(Some(n)) => format!("bind marker `{n}`"),
            TokenKind::Sym(s) => format!("`{s}`"),
            TokenKind::Eof => "the end of the input".to_string(),
        }
    }

    fn unexpected(&self, expected: &str) -> CqlError {
        self.source.error_at(
            self.offset(),
            format!("expected {expected}, found {}", Self::describe(self.peek())),
        )
    }

    fn error_here(&self, message: impl Into<String>) -> CqlError {
        self.source.error_at(self.offset(), message)
    }

    /// An identifier: unquoted ones fold to lower case, quoted ones keep their case.
    fn ident(&mut self) -> Result<String> {
        match self.peek().clone() {
            TokenKind::Ident(s) => {
                self.advance();
                Ok(s.to_ascii_lowercase())
            }
            TokenKind::QuotedIdent(s) => {
                self.advance();
                Ok(s)
            }
            _ => Err(self.unexpected("a name")),
        }
    }

    /// A column's name where a table defines it: a reserved word only quoted, as Cassandra's
    /// grammar wants (`select text` was accepted).
    fn column_name(&mut self) -> Result<String> {
        if let TokenKind::Ident(s) = self.peek() {
            if RESERVED.contains(&s.to_ascii_uppercase().as_str()) {
                let word = s.to_ascii_lowercase();
                return Err(self
                    .source
                    .error_at(self.offset(), format!("`{word}` is a reserved word of CQL"))
                    .with_hint(format!("quote it (\"{word}\") or choose another name")));
            }
        }
        self.ident()
    }

    fn qualified_name(&mut self) -> Result<QualifiedName> {
        let first = self.ident()?;
        if self.eat_sym(".") {
            let name = self.ident()?;
            Ok(QualifiedName {
                keyspace: Some(first),
                name,
            })
        } else {
            Ok(QualifiedName {
                keyspace: None,
                name: first,
            })
        }
    }

    fn ident_list_in_parens(&mut self) -> Result<Vec<String>> {
        self.expect_sym("(")?;
        let mut names = vec![self.ident()?];
        while self.eat_sym(",") {
            names.push(self.ident()?);
        }
        self.expect_sym(")")?;
        Ok(names)
    }

    /// Skips to the end of the statement (for statements cassim does not model).
    fn skip_statement(&mut self) {
        let mut depth = 0i32;
        while !self.at_eof() {
            match self.peek() {
                TokenKind::Sym("(") | TokenKind::Sym("{") | TokenKind::Sym("[") => depth += 1,
                TokenKind::Sym(")") | TokenKind::Sym("}") | TokenKind::Sym("]") => depth -= 1,
                TokenKind::Sym(";") if depth <= 0 => return,
                _ => {}
            }
            self.advance();
        }
    }

    // ---- statements -----------------------------------------------------------------------

    fn statement(&mut self) -> Result<Statement> {
        let offset = self.offset();
        let kind = if self.eat_kw("CREATE") {
            self.create()?
        } else if self.eat_kw("ALTER") {
            self.alter()?
        } else if self.eat_kw("DROP") {
            self.drop()?
        } else if self.eat_kw("USE") {
            StatementKind::Use(self.ident()?)
        } else if self.eat_kw("TRUNCATE") {
            if !self.eat_kw("TABLE") {
                self.eat_kw("COLUMNFAMILY");
            }
            StatementKind::Truncate(self.qualified_name()?)
        } else if self.eat_kw("INSERT") {
            StatementKind::Insert(self.insert()?)
        } else if self.eat_kw("UPDATE") {
            StatementKind::Update(self.update()?)
        } else if self.eat_kw("DELETE") {
            StatementKind::Delete(self.delete()?)
        } else if self.eat_kw("SELECT") {
            StatementKind::Select(self.select()?)
        } else if self.eat_kw("BEGIN") {
            StatementKind::Batch(self.batch()?)
        } else if ["GRANT", "REVOKE", "LIST", "DESCRIBE", "DESC"]
            .iter()
            .any(|k| self.is_kw(k))
        {
            let what = Self::describe(self.peek())
                .trim_matches('`')
                .to_ascii_uppercase();
            self.skip_statement();
            StatementKind::Ignored { what }
        } else {
            return Err(self
                .unexpected("a CQL statement (CREATE, ALTER, DROP, INSERT, UPDATE, DELETE, SELECT, BEGIN BATCH, USE)"));
        };
        Ok(Statement { kind, offset })
    }

    fn if_not_exists(&mut self) -> bool {
        self.eat_kws(&["IF", "NOT", "EXISTS"])
    }

    fn if_exists(&mut self) -> bool {
        self.eat_kws(&["IF", "EXISTS"])
    }

    fn create(&mut self) -> Result<StatementKind> {
        self.eat_kws(&["OR", "REPLACE"]);
        if self.eat_kw("KEYSPACE") || self.eat_kw("SCHEMA") {
            let if_not_exists = self.if_not_exists();
            let name = self.ident()?;
            self.expect_kw("WITH")?;
            let options = self.option_list()?;
            return Ok(StatementKind::CreateKeyspace(CreateKeyspace {
                name,
                if_not_exists,
                options,
            }));
        }
        if self.eat_kw("TABLE") || self.eat_kw("COLUMNFAMILY") {
            return Ok(StatementKind::CreateTable(self.create_table()?));
        }
        if self.eat_kw("TYPE") {
            return Ok(StatementKind::CreateType(self.create_type()?));
        }
        if self.eat_kws(&["CUSTOM", "INDEX"]) {
            return Ok(StatementKind::CreateIndex(self.create_index(true)?));
        }
        if self.eat_kw("INDEX") {
            return Ok(StatementKind::CreateIndex(self.create_index(false)?));
        }
        if self.eat_kws(&["MATERIALIZED", "VIEW"]) {
            return Ok(StatementKind::CreateView(self.create_view()?));
        }
        if let Some(k) = IGNORED_CREATE.iter().find(|k| self.is_kw(k)) {
            let what = format!("CREATE {k}");
            self.skip_statement();
            return Ok(StatementKind::Ignored { what });
        }
        Err(self.unexpected(
            "KEYSPACE, TABLE, TYPE, INDEX, CUSTOM INDEX or MATERIALIZED VIEW after CREATE",
        ))
    }

    fn create_table(&mut self) -> Result<CreateTable> {
        let if_not_exists = self.if_not_exists();
        let name = self.qualified_name()?;
        self.expect_sym("(")?;
        let mut columns = Vec::new();
        let mut primary_key: Option<PrimaryKey> = None;
        let mut inline_pk: Option<String> = None;
        loop {
            if self.is_kw("PRIMARY") && self.is_kw_at(1, "KEY") {
                let at = self.offset();
                self.advance();
                self.advance();
                if primary_key.is_some() || inline_pk.is_some() {
                    return Err(self
                        .source
                        .error_at(at, "the table has two PRIMARY KEY clauses"));
                }
                primary_key = Some(self.primary_key()?);
            } else {
                let offset = self.offset();
                let col_name = self.column_name()?;
                let ty = self.cql_type()?;
                let is_static = self.eat_kw("STATIC");
                if self.is_kw("PRIMARY") {
                    self.advance();
                    self.expect_kw("KEY")?;
                    if primary_key.is_some() || inline_pk.is_some() {
                        return Err(self
                            .source
                            .error_at(offset, "the table has two PRIMARY KEY clauses"));
                    }
                    inline_pk = Some(col_name.clone());
                }
                columns.push(ColumnDef {
                    name: col_name,
                    ty,
                    is_static,
                    offset,
                });
            }
            if self.eat_sym(",") {
                if self.is_sym(")") {
                    break; // a trailing comma, as some generated schemas have
                }
                continue;
            }
            break;
        }
        self.expect_sym(")")?;
        let primary_key = match (primary_key, inline_pk) {
            (Some(pk), _) => pk,
            (None, Some(col)) => PrimaryKey {
                partition: vec![col],
                clustering: vec![],
            },
            (None, None) => {
                return Err(self
                    .error_here(format!("table {name} has no PRIMARY KEY"))
                    .with_hint("add PRIMARY KEY ((partition columns), clustering columns)"))
            }
        };
        let properties = if self.eat_kw("WITH") {
            self.table_properties()?
        } else {
            TableProperties::default()
        };
        Ok(CreateTable {
            name,
            if_not_exists,
            columns,
            primary_key,
            properties,
        })
    }

    /// `( pk [, ck…] )` where pk is a column or a parenthesised list of columns.
    fn primary_key(&mut self) -> Result<PrimaryKey> {
        self.expect_sym("(")?;
        let partition = if self.is_sym("(") {
            self.ident_list_in_parens()?
        } else {
            vec![self.ident()?]
        };
        let mut clustering = Vec::new();
        while self.eat_sym(",") {
            clustering.push(self.ident()?);
        }
        self.expect_sym(")")?;
        Ok(PrimaryKey {
            partition,
            clustering,
        })
    }

    fn cql_type(&mut self) -> Result<CqlType> {
        self.nested(Self::cql_type_within)
    }

    /// Runs a rule one nesting level down, refusing to go past [`MAX_NESTING`].
    fn nested<T>(&mut self, rule: fn(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= MAX_NESTING {
            return Err(self.source.error_at(
                self.offset(),
                format!("nests deeper than {MAX_NESTING} levels"),
            ));
        }
        self.depth += 1;
        let out = rule(self);
        self.depth -= 1;
        out
    }

    fn cql_type_within(&mut self) -> Result<CqlType> {
        if let TokenKind::Str(s) = self.peek().clone() {
            self.advance();
            return Ok(CqlType::Custom(s));
        }
        let at = self.offset();
        let name = self.qualified_name()?;
        if name.keyspace.is_some() {
            return Ok(CqlType::Udt(name));
        }
        let lower = name.name.as_str();
        let generic = |p: &mut Self, n: usize| -> Result<Vec<CqlType>> {
            p.expect_sym("<")?;
            let mut args = vec![p.cql_type()?];
            while p.eat_sym(",") {
                args.push(p.cql_type()?);
            }
            p.expect_sym(">")?;
            if n > 0 && args.len() != n {
                return Err(p.source.error_at(
                    at,
                    format!("`{lower}` takes {n} type argument(s), found {}", args.len()),
                ));
            }
            Ok(args)
        };
        let ty = match lower {
            "frozen" => CqlType::Frozen(Box::new(generic(self, 1)?.remove(0))),
            "list" => CqlType::List(Box::new(generic(self, 1)?.remove(0))),
            "set" => CqlType::Set(Box::new(generic(self, 1)?.remove(0))),
            "map" => {
                let mut a = generic(self, 2)?;
                let v = a.remove(1);
                CqlType::Map(Box::new(a.remove(0)), Box::new(v))
            }
            "tuple" => CqlType::Tuple(generic(self, 0)?),
            "vector" => {
                self.expect_sym("<")?;
                let elem = self.cql_type()?;
                self.expect_sym(",")?;
                let n = match self.advance() {
                    TokenKind::Int(n) => n.parse().unwrap_or(0),
                    _ => {
                        return Err(self
                            .source
                            .error_at(at, "vector<type, N> needs a dimension"))
                    }
                };
                self.expect_sym(">")?;
                CqlType::Vector(Box::new(elem), n)
            }
            _ => match NativeType::from_name(lower) {
                Some(n) => CqlType::Native(n),
                None => CqlType::Udt(name),
            },
        };
        Ok(ty)
    }

    /// Options after `WITH`, separated by `AND`.
    fn option_list(&mut self) -> Result<Vec<TableOption>> {
        let mut options = vec![self.option()?];
        while self.eat_kw("AND") {
            options.push(self.option()?);
        }
        Ok(options)
    }

    fn option(&mut self) -> Result<TableOption> {
        let offset = self.offset();
        let name = self.ident()?;
        self.expect_sym("=")?;
        let value = self.option_value()?;
        Ok(TableOption {
            name,
            value,
            offset,
        })
    }

    fn option_value(&mut self) -> Result<OptionValue> {
        let negative = self.eat_sym("-");
        let value = match self.peek().clone() {
            TokenKind::Str(s) => OptionValue::Str(s),
            TokenKind::Int(n) | TokenKind::Float(n) => {
                let v: f64 = n.parse().map_err(|_| self.error_here("bad number"))?;
                OptionValue::Number(if negative { -v } else { v })
            }
            TokenKind::Ident(s) if s.eq_ignore_ascii_case("true") => OptionValue::Bool(true),
            TokenKind::Ident(s) if s.eq_ignore_ascii_case("false") => OptionValue::Bool(false),
            TokenKind::Ident(s) | TokenKind::QuotedIdent(s) => OptionValue::Ident(s),
            TokenKind::Sym("{") => {
                self.advance();
                let mut entries = Vec::new();
                if !self.eat_sym("}") {
                    loop {
                        let key = match self.peek().clone() {
                            TokenKind::Str(s) | TokenKind::Ident(s) | TokenKind::QuotedIdent(s) => {
                                s
                            }
                            TokenKind::Int(s) | TokenKind::Float(s) => s,
                            _ => return Err(self.unexpected("an option name in quotes")),
                        };
                        self.advance();
                        self.expect_sym(":")?;
                        let v = self.option_value()?;
                        entries.push((key, v));
                        if self.eat_sym(",") {
                            continue;
                        }
                        self.expect_sym("}")?;
                        break;
                    }
                }
                return Ok(OptionValue::Map(entries));
            }
            _ => return Err(self.unexpected("an option value (a string, number, boolean or map)")),
        };
        self.advance();
        Ok(value)
    }

    fn table_properties(&mut self) -> Result<TableProperties> {
        let mut props = TableProperties::default();
        loop {
            if self.eat_kws(&["CLUSTERING", "ORDER", "BY"]) {
                self.expect_sym("(")?;
                loop {
                    let col = self.ident()?;
                    let order = if self.eat_kw("DESC") {
                        Order::Desc
                    } else {
                        self.eat_kw("ASC");
                        Order::Asc
                    };
                    props.clustering_order.push((col, order));
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                self.expect_sym(")")?;
            } else if self.eat_kws(&["COMPACT", "STORAGE"]) {
                props.compact_storage = true;
            } else {
                props.options.push(self.option()?);
            }
            if !self.eat_kw("AND") {
                break;
            }
        }
        Ok(props)
    }

    fn create_type(&mut self) -> Result<CreateType> {
        let if_not_exists = self.if_not_exists();
        let name = self.qualified_name()?;
        self.expect_sym("(")?;
        let mut fields = Vec::new();
        loop {
            let field = self.ident()?;
            let ty = self.cql_type()?;
            fields.push((field, ty));
            if !self.eat_sym(",") || self.is_sym(")") {
                break;
            }
        }
        self.expect_sym(")")?;
        Ok(CreateType {
            name,
            if_not_exists,
            fields,
        })
    }

    fn create_index(&mut self, custom: bool) -> Result<CreateIndex> {
        let if_not_exists = self.if_not_exists();
        let name = if self.is_kw("ON") {
            None
        } else {
            Some(self.ident()?)
        };
        self.expect_kw("ON")?;
        let table = self.qualified_name()?;
        self.expect_sym("(")?;
        let mut targets = Vec::new();
        loop {
            let kinds = ["KEYS", "VALUES", "ENTRIES", "FULL"];
            let kind = kinds
                .iter()
                .find(|k| self.is_kw(k) && matches!(self.peek_at(1), TokenKind::Sym("(")));
            if let Some(k) = kind {
                let kind = k.to_ascii_lowercase();
                self.advance();
                self.expect_sym("(")?;
                let column = self.ident()?;
                self.expect_sym(")")?;
                targets.push(IndexTarget { column, kind });
            } else {
                targets.push(IndexTarget {
                    column: self.ident()?,
                    kind: "values".into(),
                });
            }
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        let mut custom_class = None;
        if self.eat_kw("USING") {
            match self.advance() {
                TokenKind::Str(s) => custom_class = Some(s),
                _ => return Err(self.error_here("USING takes the index class as a string")),
            }
        } else if custom {
            return Err(self.unexpected("USING 'class' for a CUSTOM INDEX"));
        }
        let mut options = Vec::new();
        if self.eat_kw("WITH") {
            options = self.option_list()?;
        }
        Ok(CreateIndex {
            name,
            table,
            if_not_exists,
            targets,
            custom_class,
            options,
        })
    }

    fn create_view(&mut self) -> Result<CreateView> {
        let if_not_exists = self.if_not_exists();
        let name = self.qualified_name()?;
        self.expect_kw("AS")?;
        self.expect_kw("SELECT")?;
        let mut columns = Vec::new();
        if !self.eat_sym("*") {
            loop {
                columns.push(self.ident()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.expect_kw("FROM")?;
        let base = self.qualified_name()?;
        let where_clause = if self.eat_kw("WHERE") {
            self.relations()?
        } else {
            Vec::new()
        };
        self.expect_kw("PRIMARY")?;
        self.expect_kw("KEY")?;
        let primary_key = self.primary_key()?;
        let properties = if self.eat_kw("WITH") {
            self.table_properties()?
        } else {
            TableProperties::default()
        };
        Ok(CreateView {
            name,
            if_not_exists,
            base,
            columns,
            where_clause,
            primary_key,
            properties,
        })
    }

    fn alter(&mut self) -> Result<StatementKind> {
        if self.eat_kw("KEYSPACE") || self.eat_kw("SCHEMA") {
            self.if_exists();
            let name = self.ident()?;
            self.expect_kw("WITH")?;
            let options = self.option_list()?;
            return Ok(StatementKind::AlterKeyspace { name, options });
        }
        if self.eat_kw("TABLE") || self.eat_kw("COLUMNFAMILY") {
            self.if_exists();
            let name = self.qualified_name()?;
            let action = self.alter_table_action()?;
            return Ok(StatementKind::AlterTable(AlterTable { name, action }));
        }
        if self.eat_kws(&["MATERIALIZED", "VIEW"]) {
            self.if_exists();
            let name = self.qualified_name()?;
            self.expect_kw("WITH")?;
            let options = self.table_properties()?.options;
            return Ok(StatementKind::AlterView { name, options });
        }
        if self.eat_kw("TYPE") {
            self.if_exists();
            let name = self.qualified_name()?;
            self.skip_statement();
            return Ok(StatementKind::AlterType { name });
        }
        if self.is_kw("ROLE") || self.is_kw("USER") {
            self.skip_statement();
            return Ok(StatementKind::Ignored {
                what: "ALTER ROLE".into(),
            });
        }
        Err(self.unexpected("KEYSPACE, TABLE, MATERIALIZED VIEW or TYPE after ALTER"))
    }

    fn alter_table_action(&mut self) -> Result<AlterTableAction> {
        if self.eat_kw("ADD") {
            self.if_not_exists();
            let parens = self.eat_sym("(");
            let mut cols = Vec::new();
            loop {
                let offset = self.offset();
                let name = self.ident()?;
                let ty = self.cql_type()?;
                let is_static = self.eat_kw("STATIC");
                cols.push(ColumnDef {
                    name,
                    ty,
                    is_static,
                    offset,
                });
                if !self.eat_sym(",") {
                    break;
                }
            }
            if parens {
                self.expect_sym(")")?;
            }
            return Ok(AlterTableAction::Add(cols));
        }
        if self.eat_kw("DROP") {
            self.if_exists();
            let cols = if self.is_sym("(") {
                self.ident_list_in_parens()?
            } else {
                vec![self.ident()?]
            };
            if self.eat_kw("USING") {
                self.expect_kw("TIMESTAMP")?;
                self.term()?;
            }
            return Ok(AlterTableAction::Drop(cols));
        }
        if self.eat_kw("ALTER") {
            let column = self.ident()?;
            self.expect_kw("TYPE")?;
            let ty = self.cql_type()?;
            return Ok(AlterTableAction::Alter { column, ty });
        }
        if self.eat_kw("RENAME") {
            self.if_exists();
            let mut pairs = Vec::new();
            loop {
                let from = self.ident()?;
                self.expect_kw("TO")?;
                pairs.push((from, self.ident()?));
                if !self.eat_kw("AND") {
                    break;
                }
            }
            return Ok(AlterTableAction::Rename(pairs));
        }
        if self.eat_kw("WITH") {
            return Ok(AlterTableAction::With(self.table_properties()?));
        }
        Err(self.unexpected("ADD, DROP, ALTER, RENAME or WITH after ALTER TABLE name"))
    }

    fn drop(&mut self) -> Result<StatementKind> {
        let what = if self.eat_kws(&["MATERIALIZED", "VIEW"]) {
            "MATERIALIZED VIEW".to_string()
        } else {
            let kinds = [
                "TABLE",
                "COLUMNFAMILY",
                "KEYSPACE",
                "SCHEMA",
                "TYPE",
                "INDEX",
                "FUNCTION",
                "AGGREGATE",
                "TRIGGER",
                "ROLE",
                "USER",
            ];
            match kinds.iter().find(|k| self.is_kw(k)) {
                Some(k) => {
                    self.advance();
                    k.to_string()
                }
                None => {
                    return Err(self.unexpected(
                        "TABLE, KEYSPACE, TYPE, INDEX or MATERIALIZED VIEW after DROP",
                    ))
                }
            }
        };
        let if_exists = self.if_exists();
        let name = self.qualified_name()?;
        // DROP TRIGGER t ON tbl, DROP FUNCTION f(int): the rest does not matter here.
        self.skip_statement();
        Ok(StatementKind::Drop(Drop {
            what,
            name,
            if_exists,
        }))
    }

    // ---- DML ------------------------------------------------------------------------------

    fn using(&mut self) -> Result<Using> {
        let mut using = Using::default();
        loop {
            if self.eat_kw("TTL") {
                using.ttl = Some(self.term()?);
            } else if self.eat_kw("TIMESTAMP") {
                using.timestamp = Some(self.term()?);
            } else if self.eat_kw("TIMEOUT") {
                self.term()?;
            } else {
                return Err(self.unexpected("TTL or TIMESTAMP after USING"));
            }
            if !self.eat_kw("AND") {
                return Ok(using);
            }
        }
    }

    fn insert(&mut self) -> Result<Insert> {
        self.expect_kw("INTO")?;
        let table = self.qualified_name()?;
        let values = if self.eat_kw("JSON") {
            let json = self.term()?;
            let mut default_unset = false;
            if self.eat_kw("DEFAULT") {
                if self.eat_kw("UNSET") {
                    default_unset = true;
                } else {
                    self.expect_kw("NULL")?;
                }
            }
            InsertValues::Json {
                json,
                default_unset,
            }
        } else {
            let columns = self.ident_list_in_parens()?;
            self.expect_kw("VALUES")?;
            self.expect_sym("(")?;
            let mut values = vec![self.term()?];
            while self.eat_sym(",") {
                values.push(self.term()?);
            }
            self.expect_sym(")")?;
            if values.len() != columns.len() {
                return Err(self.error_here(format!(
                    "INSERT names {} column(s) but gives {} value(s)",
                    columns.len(),
                    values.len()
                )));
            }
            InsertValues::Values { columns, values }
        };
        let mut if_not_exists = false;
        let mut using = Using::default();
        loop {
            if self.if_not_exists() {
                if_not_exists = true;
            } else if self.eat_kw("USING") {
                using = self.using()?;
            } else {
                break;
            }
        }
        Ok(Insert {
            table,
            values,
            if_not_exists,
            using,
        })
    }

    fn update(&mut self) -> Result<Update> {
        let table = self.qualified_name()?;
        let using = if self.eat_kw("USING") {
            self.using()?
        } else {
            Using::default()
        };
        self.expect_kw("SET")?;
        let mut assignments = vec![self.assignment()?];
        while self.eat_sym(",") {
            assignments.push(self.assignment()?);
        }
        self.expect_kw("WHERE")?;
        let where_clause = self.relations()?;
        let condition = self.condition()?;
        Ok(Update {
            table,
            using,
            assignments,
            where_clause,
            condition,
        })
    }

    fn assignment(&mut self) -> Result<Assignment> {
        let column = self.ident()?;
        let target = if self.eat_sym("[") {
            let key = self.term()?;
            self.expect_sym("]")?;
            AssignTarget::Element(column, key)
        } else if self.eat_sym(".") {
            AssignTarget::Field(column, self.ident()?)
        } else {
            AssignTarget::Column(column)
        };
        let op = if self.eat_sym("+") {
            self.expect_sym("=")?;
            "+="
        } else if self.eat_sym("-") {
            self.expect_sym("=")?;
            "-="
        } else {
            self.expect_sym("=")?;
            "="
        };
        let value = self.term()?;
        Ok(Assignment { target, op, value })
    }

    fn condition(&mut self) -> Result<Option<Condition>> {
        if !self.eat_kw("IF") {
            return Ok(None);
        }
        if self.eat_kw("EXISTS") {
            return Ok(Some(Condition::Exists));
        }
        if self.eat_kws(&["NOT", "EXISTS"]) {
            return Ok(Some(Condition::NotExists));
        }
        Ok(Some(Condition::Columns(self.relations()?)))
    }

    fn delete(&mut self) -> Result<Delete> {
        let mut targets = Vec::new();
        if !self.is_kw("FROM") {
            loop {
                let column = self.ident()?;
                let mut target = DeleteTarget {
                    column,
                    element: None,
                    field: None,
                };
                if self.eat_sym("[") {
                    target.element = Some(self.term()?);
                    self.expect_sym("]")?;
                } else if self.eat_sym(".") {
                    target.field = Some(self.ident()?);
                }
                targets.push(target);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.expect_kw("FROM")?;
        let table = self.qualified_name()?;
        let using = if self.eat_kw("USING") {
            self.using()?
        } else {
            Using::default()
        };
        self.expect_kw("WHERE")?;
        let where_clause = self.relations()?;
        let condition = self.condition()?;
        Ok(Delete {
            table,
            targets,
            using,
            where_clause,
            condition,
        })
    }

    fn select(&mut self) -> Result<Select> {
        let json = self.eat_kw("JSON");
        let distinct = self.eat_kw("DISTINCT");
        let mut selectors = Vec::new();
        if !self.eat_sym("*") {
            loop {
                selectors.push(self.selector()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.expect_kw("FROM")?;
        let table = self.qualified_name()?;
        let where_clause = if self.eat_kw("WHERE") {
            self.relations()?
        } else {
            Vec::new()
        };
        let mut select = Select {
            table,
            json,
            distinct,
            selectors,
            where_clause,
            group_by: Vec::new(),
            order_by: Vec::new(),
            per_partition_limit: None,
            limit: None,
            allow_filtering: false,
        };
        if self.eat_kws(&["GROUP", "BY"]) {
            loop {
                select.group_by.push(self.ident()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        if self.eat_kws(&["ORDER", "BY"]) {
            loop {
                let col = self.ident()?;
                let order = if self.eat_kw("DESC") {
                    Order::Desc
                } else {
                    self.eat_kw("ASC");
                    Order::Asc
                };
                select.order_by.push((col, order));
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        if self.eat_kws(&["PER", "PARTITION", "LIMIT"]) {
            select.per_partition_limit = Some(self.term()?);
        }
        if self.eat_kw("LIMIT") {
            select.limit = Some(self.term()?);
        }
        if self.eat_kws(&["ALLOW", "FILTERING"]) {
            select.allow_filtering = true;
        }
        Ok(select)
    }

    /// A selector: a column, or an expression (function call, cast, `TTL(c)`), with an optional alias.
    fn selector(&mut self) -> Result<Selector> {
        let start = self.pos;
        let simple = matches!(self.peek(), TokenKind::Ident(_) | TokenKind::QuotedIdent(_))
            && matches!(self.peek_at(1), TokenKind::Sym(","))
                | self.is_kw_at(1, "FROM")
                | self.is_kw_at(1, "AS");
        let column = if simple { Some(self.ident()?) } else { None };
        if column.is_none() {
            let mut depth = 0i32;
            loop {
                match self.peek() {
                    TokenKind::Eof => return Err(self.unexpected("FROM")),
                    TokenKind::Sym("(") => depth += 1,
                    TokenKind::Sym(")") => depth -= 1,
                    TokenKind::Sym(",") if depth == 0 => break,
                    TokenKind::Ident(s)
                        if depth == 0
                            && (s.eq_ignore_ascii_case("FROM") || s.eq_ignore_ascii_case("AS")) =>
                    {
                        break
                    }
                    _ => {}
                }
                self.advance();
            }
            if self.pos == start {
                return Err(self.unexpected("a column or an expression to select"));
            }
        }
        let text = self.tokens[start..self.pos]
            .iter()
            .map(|t| Self::describe(&t.kind).trim_matches('`').to_string())
            .collect::<Vec<_>>()
            .join(" ");
        if self.eat_kw("AS") {
            self.ident()?;
        }
        Ok(Selector { column, text })
    }

    fn relations(&mut self) -> Result<Vec<Relation>> {
        let mut rels = vec![self.relation()?];
        while self.eat_kw("AND") {
            rels.push(self.relation()?);
        }
        Ok(rels)
    }

    fn relation(&mut self) -> Result<Relation> {
        let offset = self.offset();
        let lhs = if self.is_kw("TOKEN") && matches!(self.peek_at(1), TokenKind::Sym("(")) {
            self.advance();
            RelLhs::Token(self.ident_list_in_parens()?)
        } else if self.is_sym("(") {
            RelLhs::Tuple(self.ident_list_in_parens()?)
        } else {
            let col = self.ident()?;
            if self.eat_sym("[") {
                let key = self.term()?;
                self.expect_sym("]")?;
                RelLhs::Element(col, key)
            } else {
                RelLhs::Column(col)
            }
        };
        if self.eat_kw("IS") {
            self.expect_kw("NOT")?;
            self.expect_kw("NULL")?;
            return Ok(Relation {
                lhs,
                op: RelOp::IsNotNull,
                rhs: Term::Null,
                offset,
            });
        }
        let op = match self.peek().clone() {
            TokenKind::Sym("=") | TokenKind::Sym("==") => RelOp::Eq,
            TokenKind::Sym("!=") => RelOp::Ne,
            TokenKind::Sym("<") => RelOp::Lt,
            TokenKind::Sym("<=") => RelOp::Le,
            TokenKind::Sym(">") => RelOp::Gt,
            TokenKind::Sym(">=") => RelOp::Ge,
            TokenKind::Ident(s) if s.eq_ignore_ascii_case("IN") => RelOp::In,
            TokenKind::Ident(s) if s.eq_ignore_ascii_case("LIKE") => RelOp::Like,
            TokenKind::Ident(s) if s.eq_ignore_ascii_case("CONTAINS") => {
                if self.is_kw_at(1, "KEY") {
                    self.advance();
                    RelOp::ContainsKey
                } else {
                    RelOp::Contains
                }
            }
            _ => {
                return Err(
                    self.unexpected("a comparison (=, <, <=, >, >=, !=, IN, CONTAINS, LIKE)")
                )
            }
        };
        self.advance();
        let rhs = self.term()?;
        Ok(Relation {
            lhs,
            op,
            rhs,
            offset,
        })
    }

    // ---- terms ----------------------------------------------------------------------------

    fn term(&mut self) -> Result<Term> {
        let mut left = self.primary_term()?;
        loop {
            let op = if self.is_sym("+") {
                '+'
            } else if self.is_sym("-") {
                '-'
            } else {
                return Ok(left);
            };
            self.advance();
            let right = self.primary_term()?;
            left = Term::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
    }

    fn term_list(&mut self, close: &str) -> Result<Vec<Term>> {
        let mut items = Vec::new();
        if self.eat_sym(close) {
            return Ok(items);
        }
        loop {
            items.push(self.term()?);
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(close)?;
        Ok(items)
    }

    fn primary_term(&mut self) -> Result<Term> {
        self.nested(Self::primary_term_within)
    }

    fn primary_term_within(&mut self) -> Result<Term> {
        let token = self.peek().clone();
        let term = match token {
            TokenKind::Str(s) => Term::Str(s),
            TokenKind::Int(n) | TokenKind::Float(n) => Term::Number(n),
            TokenKind::Hex(h) => Term::Hex(h),
            TokenKind::Uuid(u) => Term::Uuid(u),
            TokenKind::Bind(b) => Term::Bind(b),
            TokenKind::Sym("-") => {
                self.advance();
                return Ok(Term::Negative(Box::new(self.primary_term()?)));
            }
            TokenKind::Sym("[") => {
                self.advance();
                return Ok(Term::List(self.term_list("]")?));
            }
            TokenKind::Sym("(") => {
                self.advance();
                return Ok(Term::Tuple(self.term_list(")")?));
            }
            TokenKind::Sym("{") => {
                self.advance();
                return self.brace_term();
            }
            TokenKind::Ident(s) => {
                let lower = s.to_ascii_lowercase();
                match lower.as_str() {
                    "null" => Term::Null,
                    "true" => Term::Bool(true),
                    "false" => Term::Bool(false),
                    "nan" | "infinity" => Term::Number(s.clone()),
                    "cast" if matches!(self.peek_at(1), TokenKind::Sym("(")) => {
                        self.advance();
                        self.advance();
                        let term = self.term()?;
                        self.expect_kw("AS")?;
                        let ty = self.cql_type()?;
                        self.expect_sym(")")?;
                        return Ok(Term::Cast {
                            term: Box::new(term),
                            ty,
                        });
                    }
                    _ => {
                        // A function call (`now()`, `maxTimeuuid(?)`, `ks.fn(…)`) or a column.
                        let name = self.qualified_name()?.to_string();
                        if self.eat_sym("(") {
                            let args = if self.eat_sym("*") {
                                self.expect_sym(")")?;
                                Vec::new()
                            } else {
                                self.term_list(")")?
                            };
                            return Ok(Term::Function { name, args });
                        }
                        return Ok(Term::Column(name));
                    }
                }
            }
            TokenKind::QuotedIdent(_) => return Ok(Term::Column(self.ident()?)),
            _ => return Err(self.unexpected("a value (literal, ?, or function call)")),
        };
        self.advance();
        Ok(term)
    }

    /// After `{`: a map `{k: v}`, a set `{a, b}` or a UDT literal `{field: v}`.
    fn brace_term(&mut self) -> Result<Term> {
        if self.eat_sym("}") {
            return Ok(Term::Map(Vec::new()));
        }
        let first = self.term()?;
        if self.eat_sym(":") {
            let value = self.term()?;
            let udt = matches!(first, Term::Column(_));
            let mut pairs = vec![(first, value)];
            while self.eat_sym(",") {
                let k = self.term()?;
                self.expect_sym(":")?;
                pairs.push((k, self.term()?));
            }
            self.expect_sym("}")?;
            if udt {
                let fields = pairs
                    .into_iter()
                    .map(|(k, v)| match k {
                        Term::Column(c) => (c, v),
                        other => (format!("{other:?}"), v),
                    })
                    .collect();
                return Ok(Term::Udt(fields));
            }
            return Ok(Term::Map(pairs));
        }
        let mut items = vec![first];
        while self.eat_sym(",") {
            items.push(self.term()?);
        }
        self.expect_sym("}")?;
        Ok(Term::Set(items))
    }

    fn batch(&mut self) -> Result<Batch> {
        let kind = if self.eat_kw("UNLOGGED") {
            BatchKind::Unlogged
        } else if self.eat_kw("COUNTER") {
            BatchKind::Counter
        } else {
            self.eat_kw("LOGGED");
            BatchKind::Logged
        };
        self.expect_kw("BATCH")?;
        let using = if self.eat_kw("USING") {
            self.using()?
        } else {
            Using::default()
        };
        let mut statements = Vec::new();
        loop {
            while self.eat_sym(";") {}
            if self.eat_kws(&["APPLY", "BATCH"]) {
                break;
            }
            if self.at_eof() {
                return Err(self.unexpected("APPLY BATCH"));
            }
            let offset = self.offset();
            let kind = if self.eat_kw("INSERT") {
                StatementKind::Insert(self.insert()?)
            } else if self.eat_kw("UPDATE") {
                StatementKind::Update(self.update()?)
            } else if self.eat_kw("DELETE") {
                StatementKind::Delete(self.delete()?)
            } else {
                return Err(self.unexpected("INSERT, UPDATE, DELETE or APPLY BATCH inside a batch"));
            };
            statements.push(Statement { kind, offset });
        }
        Ok(Batch {
            kind,
            using,
            statements,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<StatementKind> {
        let source = Source::plain("t.cql", text);
        parse_source(&source)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|s| s.kind)
            .collect()
    }

    fn one(text: &str) -> StatementKind {
        parse(text).remove(0)
    }

    #[test]
    fn create_table_with_every_key_form_and_option_kind() {
        let StatementKind::CreateTable(t) = one(
            "CREATE TABLE IF NOT EXISTS \"Ks\".t (a int, b text, \"Quoted\" blob, s int static, \
             l list<frozen<tuple<int, text>>>, m map<text, frozen<udt>>, c counter, \
             PRIMARY KEY ((a, b), \"Quoted\")) WITH CLUSTERING ORDER BY (\"Quoted\" DESC) \
             AND COMPACT STORAGE AND gc_grace_seconds = 0 AND bloom_filter_fp_chance = 0.1 \
             AND caching = {'keys': 'ALL'} AND compaction = {'class': 'LCS', 'enabled': true}",
        ) else {
            panic!()
        };
        assert_eq!(t.name.keyspace.as_deref(), Some("Ks"));
        assert!(t.if_not_exists);
        assert_eq!(t.primary_key.partition, vec!["a", "b"]);
        assert_eq!(t.primary_key.clustering, vec!["Quoted"]);
        assert!(t.columns[3].is_static);
        assert_eq!(
            t.columns[4].ty.to_string(),
            "list<frozen<tuple<int, text>>>"
        );
        assert!(t.properties.compact_storage);
        assert_eq!(
            t.properties.clustering_order,
            vec![("Quoted".to_string(), Order::Desc)]
        );
        assert_eq!(t.properties.options.len(), 4);
    }

    #[test]
    fn inline_and_single_primary_keys() {
        let StatementKind::CreateTable(t) =
            one("create table t (id uuid primary key, v vector<float, 3>)")
        else {
            panic!()
        };
        assert_eq!(t.primary_key.partition, vec!["id"]);
        assert_eq!(t.columns[1].ty.to_string(), "vector<float, 3>");
    }

    #[test]
    fn indexes_views_alter_and_drop() {
        let k = parse(
            "CREATE INDEX ON t (KEYS(m)); CREATE CUSTOM INDEX i ON ks.t (v) USING 'StorageAttachedIndex' WITH OPTIONS = {'case_sensitive': 'false'};\
             CREATE MATERIALIZED VIEW v AS SELECT * FROM t WHERE a IS NOT NULL AND b IS NOT NULL PRIMARY KEY (b, a) WITH CLUSTERING ORDER BY (a DESC);\
             ALTER TABLE t ADD (x int, y text); ALTER TABLE t DROP x; ALTER TABLE t RENAME a TO z; ALTER TABLE t WITH gc_grace_seconds = 1;\
             DROP MATERIALIZED VIEW IF EXISTS v; DROP TYPE ks.u; CREATE TYPE u (f int); CREATE FUNCTION f() RETURNS int LANGUAGE java AS $$ return 1; $$;",
        );
        let StatementKind::CreateIndex(i) = &k[0] else {
            panic!()
        };
        assert_eq!(i.targets[0].kind, "keys");
        let StatementKind::CreateIndex(i) = &k[1] else {
            panic!()
        };
        assert_eq!(i.custom_class.as_deref(), Some("StorageAttachedIndex"));
        assert!(
            matches!(&k[2], StatementKind::CreateView(v) if v.primary_key.partition == vec!["b"])
        );
        assert!(
            matches!(&k[3], StatementKind::AlterTable(AlterTable { action: AlterTableAction::Add(c), .. }) if c.len() == 2)
        );
        assert!(
            matches!(&k[7], StatementKind::Drop(d) if d.what == "MATERIALIZED VIEW" && d.if_exists)
        );
        assert!(matches!(&k[10], StatementKind::Ignored { what } if what == "CREATE FUNCTION"));
    }

    #[test]
    fn dml_as_workloads_use_it() {
        let k = parse(
            "INSERT INTO t JSON '{\"a\": 1}' DEFAULT UNSET; INSERT INTO t (a, b) VALUES (?, :b) IF NOT EXISTS USING TTL 10 AND TIMESTAMP 5;\
             UPDATE t USING TTL ? SET s = s + {'x'}, l = [1] + l, m['k'] = 'v', c = c - 1, u.f = 2 WHERE a = ? IF c > 3 AND b != null;\
             DELETE m['k'], x FROM t USING TIMESTAMP 9 WHERE a = ? AND b IN (1, 2) IF EXISTS; DELETE FROM t WHERE a = 1 AND (b, c) > (1, 2);\
             SELECT DISTINCT a, count(*) AS n, TTL(v), CAST(x AS text) FROM t WHERE a IN ? AND b >= -1.5e3 AND token(a) > 0 GROUP BY a ORDER BY b DESC PER PARTITION LIMIT 2 LIMIT 10 ALLOW FILTERING;\
             BEGIN UNLOGGED BATCH USING TIMESTAMP 1 INSERT INTO t (a) VALUES (1); DELETE FROM t WHERE a = 2; APPLY BATCH;",
        );
        assert!(matches!(
            &k[0],
            StatementKind::Insert(Insert {
                values: InsertValues::Json {
                    default_unset: true,
                    ..
                },
                ..
            })
        ));
        let StatementKind::Insert(i) = &k[1] else {
            panic!()
        };
        assert!(i.if_not_exists && i.using.ttl.is_some() && i.using.timestamp.is_some());
        let StatementKind::Update(u) = &k[2] else {
            panic!()
        };
        assert_eq!(u.assignments.len(), 5);
        assert!(matches!(u.condition, Some(Condition::Columns(ref c)) if c.len() == 2));
        let StatementKind::Delete(d) = &k[3] else {
            panic!()
        };
        assert!(d.targets[0].element.is_some() && d.condition == Some(Condition::Exists));
        let StatementKind::Select(s) = &k[5] else {
            panic!()
        };
        assert!(s.distinct && s.allow_filtering && s.per_partition_limit.is_some());
        assert_eq!(s.selectors.len(), 4);
        assert_eq!(s.order_by, vec![("b".to_string(), Order::Desc)]);
        let StatementKind::Batch(b) = &k[6] else {
            panic!()
        };
        assert_eq!((b.kind, b.statements.len()), (BatchKind::Unlogged, 2));
    }

    #[test]
    fn errors_point_at_the_offending_token() {
        let err = parse_source(&Source::plain(
            "f.cql",
            "SELECT * FROM t WHERE a = ? LIMT 1",
        ))
        .unwrap_err();
        assert_eq!((err.line, err.col), (1, 29));
        assert!(err.message.contains("`;`"), "{err}");
        let err = parse_source(&Source::plain("f.cql", "CREATE TABLE t (a int)")).unwrap_err();
        assert!(err.message.contains("no PRIMARY KEY"), "{err}");
    }
}
