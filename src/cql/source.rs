//! Source text for the CQL reader: template placeholders expanded, and a map from every byte of the
//! expanded text back to the user's file so that errors point at the line and column they wrote.

use std::collections::BTreeMap;

use super::CqlError;

/// CQL text ready for lexing, with the original text kept for error messages.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file name (or `<inline>`) errors are reported against.
    pub name: String,
    /// The text as the user wrote it.
    pub original: String,
    /// The text after template expansion; the lexer reads this.
    pub text: String,
    /// For every byte of `text`, the byte offset in `original` it came from.
    origin: Vec<u32>,
}

impl Source {
    /// Expands template placeholders in `original` with `vars` (or their defaults).
    ///
    /// Placeholders found in real schema files: `${name}` (Jaeger), `$NAME$` (Newts), `$name`
    /// (Hawkular), `TEMPLATE(name,default)` and `TEMPLATE(name:default)` (NoSQLBench) and
    /// `<<name:default>>` (NoSQLBench's older form). Text inside `$$ … $$` bodies is left alone.
    pub fn new(
        name: &str,
        original: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<Source, CqlError> {
        let mut expander = Expander {
            name,
            original,
            vars,
            out: String::with_capacity(original.len()),
            origin: Vec::with_capacity(original.len()),
        };
        expander.expand_range(0, original.len(), 0, 0)?;
        Ok(Source {
            name: name.to_string(),
            original: original.to_string(),
            text: expander.out,
            origin: expander.origin,
        })
    }

    /// A source without placeholders (text used as is).
    pub fn plain(name: &str, text: &str) -> Source {
        Source {
            name: name.to_string(),
            original: text.to_string(),
            text: text.to_string(),
            origin: (0..text.len() as u32).collect(),
        }
    }

    /// Maps a byte offset of the expanded text to an offset in the original text.
    pub fn original_offset(&self, offset: usize) -> usize {
        match self.origin.get(offset) {
            Some(o) => *o as usize,
            None => self.original.len(),
        }
    }

    /// One-based line and column (in characters) of an expanded-text offset, in the original.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.original, self.original_offset(offset))
    }

    /// Builds an error located at an expanded-text offset.
    pub fn error_at(&self, offset: usize, message: impl Into<String>) -> CqlError {
        CqlError::at(
            &self.name,
            &self.original,
            self.original_offset(offset),
            message,
        )
    }
}

/// One-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}

pub(crate) fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

struct Expander<'a> {
    name: &'a str,
    original: &'a str,
    vars: &'a BTreeMap<String, String>,
    out: String,
    origin: Vec<u32>,
}

const MAX_DEPTH: usize = 8;

impl Expander<'_> {
    fn push_str(&mut self, s: &str, origin: usize) {
        self.out.push_str(s);
        self.origin
            .extend(std::iter::repeat_n(origin as u32, s.len()));
    }

    fn push_original(&mut self, start: usize, end: usize) {
        self.out.push_str(&self.original[start..end]);
        self.origin.extend(start as u32..end as u32);
    }

    fn error(&self, offset: usize, message: String) -> CqlError {
        CqlError::at(self.name, self.original, offset, message)
    }

    fn lookup(&self, name: &str, default: Option<&str>, at: usize) -> Result<String, CqlError> {
        if let Some(v) = self.vars.get(name) {
            return Ok(v.clone());
        }
        match default {
            Some(d) => Ok(d.to_string()),
            None => Err(self
                .error(at, format!("template placeholder `{name}` has no value"))
                .with_hint(format!("pass --var {name}=VALUE"))),
        }
    }

    /// Expands `original[start..end]`; text produced by a placeholder maps to `origin_override` when
    /// `depth > 0` (it came from a default value, itself part of the placeholder).
    fn expand_range(
        &mut self,
        start: usize,
        end: usize,
        depth: usize,
        origin_override: usize,
    ) -> Result<(), CqlError> {
        let src = self.original;
        let bytes = src.as_bytes();
        let mut i = start;
        let mut plain_from = start;
        let flush = |this: &mut Self, from: usize, to: usize| {
            if depth == 0 {
                this.push_original(from, to);
            } else {
                let s = &this.original[from..to];
                this.push_str(s, origin_override);
            }
        };
        let mut in_string = false;
        while i < end {
            let rest = &src[i..end];
            if bytes[i] == b'\'' {
                in_string = !in_string;
            } else if !in_string && (rest.starts_with("--") || rest.starts_with("//")) {
                // Comments are copied verbatim: they often show placeholders as examples.
                i = rest.find('\n').map(|p| i + p).unwrap_or(end);
                continue;
            } else if !in_string && rest.starts_with("/*") {
                i = rest.find("*/").map(|p| i + p + 2).unwrap_or(end);
                continue;
            }
            let placeholder = if let Some(body) = rest.strip_prefix("$$") {
                // A `$$ … $$` body: copy verbatim.
                let close = body.find("$$").map(|p| i + 2 + p + 2).unwrap_or(end);
                i = close;
                continue;
            } else if rest.starts_with("${") {
                let close = rest.find('}');
                close.map(|c| {
                    let inner = &rest[2..c];
                    let (name, default) = split_default(inner, ":-");
                    (c + 1, name.to_string(), default.map(|d| (d.to_string(), 0)))
                })
            } else if bytes[i] == b'$' && rest.len() > 1 && is_ident_start(bytes[i + 1]) {
                let len = rest[1..].bytes().take_while(|b| is_ident_char(*b)).count();
                let name = &rest[1..1 + len];
                let consumed = if rest.as_bytes().get(1 + len) == Some(&b'$') {
                    len + 2
                } else {
                    len + 1
                };
                Some((consumed, name.to_string(), None))
            } else if starts_with_ci(rest, "TEMPLATE(")
                && (i == 0 || !is_ident_char(bytes[i - 1]) || bytes[i - 1].is_ascii_digit())
            {
                match matching_paren(rest, "TEMPLATE".len()) {
                    Some(close) => {
                        let inner_start = "TEMPLATE(".len();
                        let inner = &rest[inner_start..close];
                        let sep = inner.find([',', ':']);
                        let (name, default) = match sep {
                            Some(p) => (&inner[..p], Some((p + 1, inner.len()))),
                            None => (inner, None),
                        };
                        let default =
                            default.map(|(a, b)| (inner[a..b].to_string(), i + inner_start + a));
                        Some((close + 1, name.trim().to_string(), default))
                    }
                    None => None,
                }
            } else if rest.starts_with("<<") {
                rest.find(">>").and_then(|c| {
                    let inner = &rest[2..c];
                    let (name, default) = split_default(inner, ":");
                    if name.is_empty() || !name.bytes().all(|b| is_ident_char(b) || b == b'-') {
                        return None;
                    }
                    Some((c + 2, name.to_string(), default.map(|d| (d.to_string(), 0))))
                })
            } else {
                None
            };
            match placeholder {
                Some((consumed, name, default)) => {
                    flush(self, plain_from, i);
                    let at = if depth == 0 { i } else { origin_override };
                    if depth >= MAX_DEPTH {
                        return Err(
                            self.error(at, "template placeholders nested too deeply".into())
                        );
                    }
                    if let Some(v) = self.vars.get(&name).cloned() {
                        self.push_str(&v, at);
                    } else if let Some((d, d_start)) = default {
                        // A default may itself hold placeholders (NoSQLBench nests TEMPLATE).
                        if d_start > 0 && d.contains("TEMPLATE(") {
                            self.expand_range(d_start, d_start + d.len(), depth + 1, at)?;
                        } else {
                            self.push_str(&d, at);
                        }
                    } else {
                        self.lookup(&name, None, at)?;
                    }
                    i += consumed;
                    plain_from = i;
                }
                None => {
                    i += src[i..].chars().next().map(|c| c.len_utf8()).unwrap_or(1);
                }
            }
        }
        flush(self, plain_from, end.max(plain_from));
        Ok(())
    }
}

fn split_default<'s>(inner: &'s str, sep: &str) -> (&'s str, Option<&'s str>) {
    match inner.find(sep) {
        Some(p) => (inner[..p].trim(), Some(&inner[p + sep.len()..])),
        None => (inner.trim(), None),
    }
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Offset of the parenthesis closing the one at `open` in `s`.
fn matching_paren(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, b) in s.bytes().enumerate().skip(open) {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            b'\n' | b';' => return None,
            _ => {}
        }
    }
    None
}

pub(crate) fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

pub(crate) fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(text: &str, vars: &[(&str, &str)]) -> Result<String, CqlError> {
        let vars = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Source::new("t.cql", text, &vars).map(|s| s.text)
    }

    #[test]
    fn every_placeholder_form_expands() {
        let vars = [("keyspace", "ks"), ("KEYSPACE", "KS")];
        assert_eq!(expand("USE ${keyspace};", &vars).unwrap(), "USE ks;");
        assert_eq!(expand("USE $KEYSPACE$.t;", &vars).unwrap(), "USE KS.t;");
        assert_eq!(expand("USE $keyspace;", &vars).unwrap(), "USE ks;");
        assert_eq!(expand("USE TEMPLATE(x,dflt);", &vars).unwrap(), "USE dflt;");
        assert_eq!(expand("USE TEMPLATE(rf:1);", &vars).unwrap(), "USE 1;");
        assert_eq!(
            expand("USE TEMPLATE(keyspace,b);", &vars).unwrap(),
            "USE ks;"
        );
        assert_eq!(expand("USE <<ks:base>>;", &vars).unwrap(), "USE base;");
        assert_eq!(
            expand("TEMPLATE(a,TEMPLATE(b,deep))", &vars).unwrap(),
            "deep"
        );
        assert_eq!(expand("x $$ $keep $$ y", &vars).unwrap(), "x $$ $keep $$ y");
    }

    #[test]
    fn missing_value_names_the_placeholder_and_its_position() {
        let err = expand("CREATE KEYSPACE\n  ${nope} WITH", &[]).unwrap_err();
        assert_eq!((err.line, err.col), (2, 3));
        assert!(err.message.contains("nope"), "{err}");
        assert!(err.hint.as_deref().unwrap().contains("--var nope="));
    }

    #[test]
    fn offsets_map_back_to_the_original() {
        let vars = BTreeMap::from([("k".to_string(), "a_long_keyspace".to_string())]);
        let src = Source::new("t", "USE ${k};\nBAD", &vars).unwrap();
        let bad = src.text.find("BAD").unwrap();
        assert_eq!(src.line_col(bad), (2, 1));
    }
}
