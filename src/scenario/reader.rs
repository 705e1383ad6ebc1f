//! A path-aware reader over a TOML tree: every value read knows its field path
//! (`workload[2].rate`), and keys nobody read are errors with a "did you mean" hint, so a typo never
//! silently falls back to a default.

use std::cell::RefCell;
use std::collections::BTreeSet;

use toml::Value;

use super::ScenarioError;
use crate::distribution::{Distribution, Quantity};
use crate::units::UnitError;

/// A TOML table being read, with its path and the keys read so far.
pub struct Obj<'a> {
    pub path: String,
    pub table: &'a toml::Table,
    used: RefCell<BTreeSet<String>>,
}

pub type Result<T> = std::result::Result<T, ScenarioError>;

pub fn join(path: &str, key: &str) -> String {
    let simple = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let key = if simple {
        key.to_string()
    } else {
        format!("\"{key}\"")
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

/// A value as an error quotes it, control characters escaped so none reaches the terminal.
pub fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{}\"", s.escape_debug()),
        other => other.to_string(),
    }
}

impl<'a> Obj<'a> {
    pub fn new(path: &str, table: &'a toml::Table) -> Obj<'a> {
        Obj {
            path: path.to_string(),
            table,
            used: RefCell::new(BTreeSet::new()),
        }
    }

    pub fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.used.borrow_mut().insert(key.to_string());
        self.table.get(key)
    }

    pub fn error(
        &self,
        key: &str,
        value: Option<&Value>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::new(self.field(key), value.map(describe), message, hint)
    }

    /// `key` is missing: when an unread key here looks like a typo of it, the error names that
    /// key instead (`rat` for `rate`), for it is the cause.
    pub fn missing(&self, key: &str, hint: impl Into<String>) -> ScenarioError {
        let used = self.used.borrow();
        // Stricter than `closest`: `name` is two edits from `rate` but no typo of it.
        let near = 1.max(key.len() / 3);
        let typo = self
            .table
            .keys()
            .filter(|k| !used.contains(*k))
            .map(|k| (edit_distance(&k.to_ascii_lowercase(), key), k))
            .filter(|(d, _)| *d <= near)
            .min()
            .map(|(_, k)| k);
        match typo {
            Some(k) => ScenarioError::new(
                self.field(k),
                self.table.get(k).map(describe),
                format!("unknown key, and `{}` is missing", self.field(key)),
                format!("did you mean `{key}`?"),
            ),
            None => self.error(key, None, "is missing", hint),
        }
    }

    pub fn required(&self, key: &str, hint: &str) -> Result<&'a Value> {
        self.get(key).ok_or_else(|| self.missing(key, hint))
    }

    pub fn str(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.error(
                key,
                Some(v),
                "must be a string",
                "put the value in double quotes",
            )),
        }
    }

    pub fn req_str(&self, key: &str, hint: &str) -> Result<&'a str> {
        self.str(key)?.ok_or_else(|| self.missing(key, hint))
    }

    pub fn int(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Integer(i)) if (min..=max).contains(i) => Ok(Some(*i)),
            Some(v @ Value::Integer(_)) => Err(self.error(
                key,
                Some(v),
                format!("must be between {min} and {max}"),
                "pick a value in range",
            )),
            Some(v) => Err(self.error(
                key,
                Some(v),
                "must be a whole number",
                format!("write a number between {min} and {max}, without quotes"),
            )),
        }
    }

    pub fn float(&self, key: &str, min: f64, max: f64) -> Result<Option<f64>> {
        let v = match self.get(key) {
            None => return Ok(None),
            Some(v) => v,
        };
        let x = match v {
            Value::Integer(i) => *i as f64,
            Value::Float(f) => *f,
            _ => {
                return Err(self.error(
                    key,
                    Some(v),
                    "must be a number",
                    format!("write a number {}, without quotes", float_range(min, max)),
                ))
            }
        };
        if !(min..=max).contains(&x) {
            return Err(self.error(
                key,
                Some(v),
                format!("must be {}", float_range(min, max)),
                "pick a value in range",
            ));
        }
        Ok(Some(x))
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b)),
            Some(v) => Err(self.error(
                key,
                Some(v),
                "must be true or false",
                "write true or false, without quotes",
            )),
        }
    }

    /// A string parsed by a unit parser (durations, sizes, rates).
    pub fn unit(
        &self,
        key: &str,
        parse: fn(&str) -> std::result::Result<f64, UnitError>,
    ) -> Result<Option<f64>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let Value::String(s) = v else {
            let hint = parse("?").err().map(|e| e.hint).unwrap_or_default();
            return Err(self.error(key, Some(v), "must be a string with a unit", hint));
        };
        parse(s)
            .map(Some)
            .map_err(|e| self.error(key, Some(v), e.message, e.hint))
    }

    /// A unit value within `[min, max]`, the range shown by `format` in the error.
    pub fn unit_in(
        &self,
        key: &str,
        parse: fn(&str) -> std::result::Result<f64, UnitError>,
        (min, max): (f64, f64),
        format: fn(f64) -> String,
    ) -> Result<Option<f64>> {
        let value = self.unit(key, parse)?;
        match value {
            Some(x) if !(min..=max).contains(&x) => Err(self.error(
                key,
                self.table.get(key),
                format!("must be between {} and {}", format(min), format(max)),
                "pick a value in range",
            )),
            _ => Ok(value),
        }
    }

    pub fn distribution(&self, key: &str, quantity: Quantity) -> Result<Option<Distribution>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let Value::String(s) = v else {
            return Err(self.error(
                key,
                Some(v),
                "must be a distribution in quotes",
                "write e.g. \"lognormal(300B, 0.6)\" or \"fixed(1)\"",
            ));
        };
        Distribution::parse(s, quantity)
            .map(Some)
            .map_err(|e| self.error(key, Some(v), e.message, e.hint))
    }

    pub fn table(&self, key: &str) -> Result<Option<Obj<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(Obj::new(&self.field(key), t))),
            Some(v) => Err(self.error(
                key,
                Some(v),
                "must be a table",
                format!("write [{}] or {{ … }}", self.field(key)),
            )),
        }
    }

    /// Fails on keys that were never read, naming the closest known key.
    pub fn finish(&self, known: &[&str]) -> Result<()> {
        let used = self.used.borrow();
        for (key, value) in self.table {
            if used.contains(key) {
                continue;
            }
            let candidates: Vec<&str> = if known.is_empty() {
                used.iter().map(String::as_str).collect()
            } else {
                known.to_vec()
            };
            let hint = match closest(key, &candidates) {
                Some(c) => format!(
                    "did you mean `{c}`? Known keys here: {}",
                    candidates.join(", ")
                ),
                None => format!("known keys here: {}", candidates.join(", ")),
            };
            return Err(ScenarioError::new(
                self.field(key),
                Some(describe(value)),
                "unknown key",
                hint,
            ));
        }
        Ok(())
    }
}

/// The candidate nearest to `word` by edit distance, if it is close enough to be a typo.
pub fn closest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|c| {
            (
                edit_distance(&word.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                *c,
            )
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A range in words, "at least 0" when unbounded above (f64::MAX has 309 digits).
fn float_range(min: f64, max: f64) -> String {
    if max >= f64::MAX {
        format!("at least {}", readable(min))
    } else {
        format!("between {} and {}", readable(min), readable(max))
    }
}

/// A number as a person reads it: large and tiny ones in scientific notation (`1e15`).
pub fn readable(x: f64) -> String {
    if x != 0.0 && !(1e-3..1e7).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}
