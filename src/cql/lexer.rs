//! The CQL lexer: identifiers (quoted or not), literals, bind markers and symbols, skipping comments.

use super::source::{is_ident_char, is_ident_start, Source};
use super::CqlError;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// An unquoted identifier or keyword, as written.
    Ident(String),
    /// A double-quoted identifier, case kept.
    QuotedIdent(String),
    /// A single-quoted or `$$`-quoted string.
    Str(String),
    /// An integer literal, as written.
    Int(String),
    /// A floating-point literal, as written.
    Float(String),
    /// A `0x…` blob literal.
    Hex(String),
    /// A UUID literal.
    Uuid(String),
    /// `?`, `:name`, or a NoSQLBench `{name}` binding.
    Bind(Option<String>),
    /// Punctuation and operators.
    Sym(&'static str),
    Eof,
}

/// A token and the byte offset where it starts in the expanded text.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub offset: usize,
}

const SYMBOLS: [&str; 22] = [
    "<=", ">=", "!=", "==", "(", ")", ",", ";", ".", "=", "<", ">", "+", "-", "*", "/", "[", "]",
    "{", "}", ":", "%",
];

/// Splits the source into tokens, ending with `Eof`.
pub fn tokenize(source: &Source) -> Result<Vec<Token>, CqlError> {
    let text = source.text.as_str();
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let rest = &text[i..];
        if b.is_ascii_whitespace() {
            i += 1;
        } else if rest.starts_with("--") || rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if let Some(body) = rest.strip_prefix("/*") {
            match body.find("*/") {
                Some(p) => i += p + 4,
                None => return Err(source.error_at(i, "unterminated /* comment")),
            }
        } else if b == b'\'' {
            let (s, len) = quoted(rest, b'\'').ok_or_else(|| {
                source
                    .error_at(i, "unterminated string literal")
                    .with_hint("close the string with ' (write '' for a quote inside it)")
            })?;
            tokens.push(Token {
                kind: TokenKind::Str(s),
                offset: i,
            });
            i += len;
        } else if b == b'"' {
            let (s, len) = quoted(rest, b'"')
                .ok_or_else(|| source.error_at(i, "unterminated quoted identifier"))?;
            tokens.push(Token {
                kind: TokenKind::QuotedIdent(s),
                offset: i,
            });
            i += len;
        } else if let Some(body) = rest.strip_prefix("$$") {
            let end = body
                .find("$$")
                .ok_or_else(|| source.error_at(i, "unterminated $$ string"))?;
            let body = rest[2..2 + end].to_string();
            tokens.push(Token {
                kind: TokenKind::Str(body),
                offset: i,
            });
            i += end + 4;
        } else if let Some(len) = uuid_len(rest) {
            tokens.push(Token {
                kind: TokenKind::Uuid(rest[..len].to_string()),
                offset: i,
            });
            i += len;
        } else if rest.len() > 2 && (rest.starts_with("0x") || rest.starts_with("0X")) {
            let len = 2 + rest[2..]
                .bytes()
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            tokens.push(Token {
                kind: TokenKind::Hex(rest[..len].to_string()),
                offset: i,
            });
            i += len;
        } else if b.is_ascii_digit()
            || (b == b'.' && bytes.get(i + 1).is_some_and(|c| c.is_ascii_digit()))
        {
            let (kind, len) = number(rest);
            tokens.push(Token { kind, offset: i });
            i += len;
        } else if is_ident_start(b) {
            let len = rest.bytes().take_while(|c| is_ident_char(*c)).count();
            tokens.push(Token {
                kind: TokenKind::Ident(rest[..len].to_string()),
                offset: i,
            });
            i += len;
        } else if b == b'?' {
            tokens.push(Token {
                kind: TokenKind::Bind(None),
                offset: i,
            });
            i += 1;
        } else if b == b':' && bytes.get(i + 1).is_some_and(|c| is_ident_start(*c)) {
            let len = rest[1..].bytes().take_while(|c| is_ident_char(*c)).count();
            let name = rest[1..1 + len].to_string();
            tokens.push(Token {
                kind: TokenKind::Bind(Some(name)),
                offset: i,
            });
            i += 1 + len;
        } else if let Some(len) = nosqlbench_binding(rest) {
            let name = rest[1..len - 1].to_string();
            tokens.push(Token {
                kind: TokenKind::Bind(Some(name)),
                offset: i,
            });
            i += len;
        } else if let Some(sym) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            tokens.push(Token {
                kind: TokenKind::Sym(sym),
                offset: i,
            });
            i += sym.len();
        } else {
            let c = rest.chars().next().unwrap_or('?');
            return Err(source.error_at(i, format!("unexpected character `{c}`")));
        }
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        offset: text.len(),
    });
    Ok(tokens)
}

/// A quoted string or identifier starting at `rest[0]`; a doubled quote stands for one.
fn quoted(rest: &str, quote: u8) -> Option<(String, usize)> {
    let bytes = rest.as_bytes();
    let mut out = String::new();
    let mut i = 1;
    let mut from = 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            out.push_str(&rest[from..i]);
            if bytes.get(i + 1) == Some(&quote) {
                out.push(quote as char);
                i += 2;
                from = i;
                continue;
            }
            return Some((out, i + 1));
        }
        i += 1;
    }
    None
}

fn number(rest: &str) -> (TokenKind, usize) {
    let bytes = rest.as_bytes();
    let mut i = bytes.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut float = false;
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
        float = true;
        i += 1;
        i += bytes[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    if matches!(bytes.get(i), Some(b'e') | Some(b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+') | Some(b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(|c| c.is_ascii_digit()) {
            float = true;
            i = j + bytes[j..].iter().take_while(|c| c.is_ascii_digit()).count();
        }
    }
    let text = rest[..i].to_string();
    if float {
        (TokenKind::Float(text), i)
    } else {
        (TokenKind::Int(text), i)
    }
}

/// Length of a UUID literal (8-4-4-4-12 hex digits) at the start of `rest`, if there is one.
fn uuid_len(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    if bytes.len() < 36 {
        return None;
    }
    for (k, b) in bytes[..36].iter().enumerate() {
        let ok = match k {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        };
        if !ok {
            return None;
        }
    }
    if bytes.get(36).is_some_and(|c| is_ident_char(*c)) {
        return None;
    }
    Some(36)
}

/// A NoSQLBench binding `{name}`: braces around a bare identifier (not a CQL map or set literal,
/// whose elements are literals or bind markers).
fn nosqlbench_binding(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    if bytes.first() != Some(&b'{') || !bytes.get(1).is_some_and(|c| is_ident_start(*c)) {
        return None;
    }
    let len = rest[1..].bytes().take_while(|c| is_ident_char(*c)).count();
    if bytes.get(1 + len) == Some(&b'}') {
        Some(len + 2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(&Source::plain("t", text))
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn literals_comments_and_binds() {
        let k = kinds("a 'it''s' \"Q\" 1.5e3 42 0xFF ? :n {bind} -- gone\n/* gone */ <= $$x$$");
        assert_eq!(
            k,
            vec![
                TokenKind::Ident("a".into()),
                TokenKind::Str("it's".into()),
                TokenKind::QuotedIdent("Q".into()),
                TokenKind::Float("1.5e3".into()),
                TokenKind::Int("42".into()),
                TokenKind::Hex("0xFF".into()),
                TokenKind::Bind(None),
                TokenKind::Bind(Some("n".into())),
                TokenKind::Bind(Some("bind".into())),
                TokenKind::Sym("<="),
                TokenKind::Str("x".into()),
                TokenKind::Eof,
            ]
        );
    }

    #[test]
    fn uuid_literal() {
        let k = kinds("123e4567-e89b-12d3-a456-426614174000");
        assert_eq!(
            k[0],
            TokenKind::Uuid("123e4567-e89b-12d3-a456-426614174000".into())
        );
    }

    #[test]
    fn unterminated_string_is_located() {
        let err = tokenize(&Source::plain("f.cql", "SELECT\n 'abc")).unwrap_err();
        assert_eq!((err.line, err.col), (2, 2));
    }
}
