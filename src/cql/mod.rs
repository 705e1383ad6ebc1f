//! The CQL reader: template expansion, a lexer and a recursive-descent parser for the DDL and DML that
//! schemas and workloads use. It owns the syntax only; `schema` gives the statements meaning.
//!
//! No crate parses CQL DDL faithfully (see ARCHITECTURE.md), so this reader is ours. It never panics
//! on any input (property-tested) and reports errors as `file:line:col: message` with the source line
//! and a caret.

pub mod ast;
mod lexer;
mod parser;
mod source;

use std::collections::BTreeMap;
use std::fmt;

pub use lexer::{Token, TokenKind};
pub use parser::parse_source;
pub use source::{line_col, Source};

/// A CQL syntax error, located in the user's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CqlError {
    pub file: String,
    /// One-based line.
    pub line: usize,
    /// One-based column, in characters.
    pub col: usize,
    pub message: String,
    /// The offending source line, for the caret display.
    pub source_line: String,
    pub hint: Option<String>,
}

impl CqlError {
    /// An error at a byte offset of `text`.
    pub fn at(file: &str, text: &str, offset: usize, message: impl Into<String>) -> CqlError {
        let (line, col) = line_col(text, offset);
        let source_line = text.lines().nth(line - 1).unwrap_or("").to_string();
        CqlError {
            file: file.to_string(),
            line,
            col,
            message: message.into(),
            source_line,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> CqlError {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for CqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )?;
        let (shown, caret) = snippet(&self.source_line, self.col);
        writeln!(f, "  | {shown}")?;
        write!(f, "  | {}^", " ".repeat(caret))?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  = hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CqlError {}

/// At most this many characters of a source line are shown, around the error's column.
const SNIPPET_CHARS: usize = 100;

/// The part of a line an error shows, and the caret's offset in it: at most [`SNIPPET_CHARS`]
/// characters around column `col` (one-based), cut ends marked `…`, control characters shown as
/// `�` so that none reaches the terminal (a 40 000-character line was printed whole).
fn snippet(line: &str, col: usize) -> (String, usize) {
    let chars: Vec<char> = line
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect();
    let at = col.saturating_sub(1).min(chars.len());
    // The whole line when it fits; else a window around the column, kept within the line.
    let start = at
        .saturating_sub(SNIPPET_CHARS / 2)
        .min(chars.len().saturating_sub(SNIPPET_CHARS));
    let end = (start + SNIPPET_CHARS).min(chars.len());
    let mut shown: String = chars[start..end].iter().collect();
    let mut caret = at - start;
    if start > 0 {
        shown.insert(0, '…');
        caret += 1;
    }
    if end < chars.len() {
        shown.push('…');
    }
    (shown, caret)
}

/// Parses CQL text (a file's content or an inline string) after expanding template placeholders.
pub fn parse(
    file: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
) -> Result<Vec<ast::Statement>, CqlError> {
    let source = Source::new(file, text, vars)?;
    parse_source(&source)
}

/// Parses a single statement (a workload's `cql`), with an optional trailing semicolon.
pub fn parse_one(file: &str, text: &str) -> Result<ast::Statement, CqlError> {
    let source = Source::new(file, text, &BTreeMap::new())?;
    let mut statements = parse_source(&source)?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(source.error_at(0, "expected a CQL statement, found nothing")),
        _ => Err(source
            .error_at(
                statements[1].offset,
                "expected one CQL statement, found several",
            )
            .with_hint("give each statement its own [[workload]] entry")),
    }
}
