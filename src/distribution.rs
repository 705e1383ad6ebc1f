//! Distributions of the scenario format: `fixed(X)`, `uniform(A,B)`, `normal(MEAN,SD)`,
//! `lognormal(MEDIAN,SIGMA)`, `exp(MEAN)` and `zipf(S)`, whose parameters carry the unit of what they
//! describe (sizes, durations or plain counts). Analytic means and quantiles serve projections.

use statrs::distribution::{ContinuousCDF, Normal};

use crate::units::{self, UnitError};

/// What a distribution's location parameters measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    Bytes,
    Seconds,
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Distribution {
    Fixed {
        value: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
    },
    /// Parameterised by its median and the sigma of the underlying normal.
    LogNormal {
        median: f64,
        sigma: f64,
    },
    Exp {
        mean: f64,
    },
    /// Key popularity only: rank k drawn with weight 1/k^s.
    Zipf {
        s: f64,
    },
}

const HINT: &str =
    "write fixed(X), uniform(A,B), normal(MEAN,SD), lognormal(MEDIAN,SIGMA) or exp(MEAN)";

impl Distribution {
    /// Parses `name(args)`; a bare value is `fixed(value)`.
    pub fn parse(s: &str, quantity: Quantity) -> Result<Distribution, UnitError> {
        let s = s.trim();
        let fail = |m: String| UnitError {
            message: m,
            hint: HINT.to_string(),
        };
        let Some(open) = s.find('(') else {
            return Ok(Distribution::Fixed {
                value: parse_value(s, quantity)?,
            });
        };
        if !s.ends_with(')') {
            return Err(fail(format!("'{s}' is missing its closing parenthesis")));
        }
        let name = s[..open].trim().to_ascii_lowercase();
        let args: Vec<&str> = s[open + 1..s.len() - 1].split(',').map(str::trim).collect();
        let want = |n: usize| -> Result<(), UnitError> {
            if args.len() == n && args.iter().all(|a| !a.is_empty()) {
                Ok(())
            } else {
                Err(fail(format!("{name}() takes {n} argument(s), found '{s}'")))
            }
        };
        let plain = |a: &str| -> Result<f64, UnitError> {
            a.parse::<f64>()
                .map_err(|_| fail(format!("'{a}' in '{s}' is not a number")))
        };
        let d = match name.as_str() {
            "fixed" => {
                want(1)?;
                Distribution::Fixed {
                    value: parse_value(args[0], quantity)?,
                }
            }
            "uniform" => {
                want(2)?;
                let (min, max) = (
                    parse_value(args[0], quantity)?,
                    parse_value(args[1], quantity)?,
                );
                if min > max {
                    return Err(fail(format!(
                        "uniform({}, {}) has min above max",
                        args[0], args[1]
                    )));
                }
                Distribution::Uniform { min, max }
            }
            "normal" | "gaussian" => {
                want(2)?;
                Distribution::Normal {
                    mean: parse_value(args[0], quantity)?,
                    sd: parse_value(args[1], quantity)?,
                }
            }
            "lognormal" => {
                want(2)?;
                let sigma = plain(args[1])?;
                if sigma < 0.0 {
                    return Err(fail(format!(
                        "lognormal sigma must not be negative, found {sigma}"
                    )));
                }
                Distribution::LogNormal {
                    median: parse_value(args[0], quantity)?,
                    sigma,
                }
            }
            "exp" | "exponential" => {
                want(1)?;
                Distribution::Exp {
                    mean: parse_value(args[0], quantity)?,
                }
            }
            "zipf" => {
                want(1)?;
                let s_param = plain(args[0])?;
                if s_param <= 0.0 {
                    return Err(fail(format!(
                        "zipf exponent must be positive, found {s_param}"
                    )));
                }
                Distribution::Zipf { s: s_param }
            }
            other => return Err(fail(format!("unknown distribution '{other}'"))),
        };
        d.check_range(s, quantity)?;
        Ok(d)
    }

    /// Refuses a distribution whose values no column, delay or count can take: its p99.9 above
    /// [`largest`] (a lognormal sigma of 50 made a mean of 10^545 bytes, and the report printed
    /// "RAM NaN B").
    fn check_range(&self, text: &str, quantity: Quantity) -> Result<(), UnitError> {
        let (limit, what) = largest(quantity);
        let p999 = self.quantile(0.999);
        if p999.is_finite() && self.mean().is_finite() && p999 <= limit {
            return Ok(());
        }
        let hint = match self {
            Distribution::LogNormal { .. } => {
                "sigma is the spread of the value's logarithm: 0.1 to 2 are usual".to_string()
            }
            _ => format!("keep its values at most {what}"),
        };
        Err(UnitError {
            message: format!("'{text}' puts its p99.9 above {what}"),
            hint,
        })
    }

    /// The mean (for zipf, which has no unit value, 1).
    pub fn mean(&self) -> f64 {
        match *self {
            Distribution::Fixed { value } => value,
            Distribution::Uniform { min, max } => (min + max) / 2.0,
            Distribution::Normal { mean, .. } => mean.max(0.0),
            Distribution::LogNormal { median, sigma } => median * (sigma * sigma / 2.0).exp(),
            Distribution::Exp { mean } => mean,
            Distribution::Zipf { .. } => 1.0,
        }
    }

    /// The p-quantile (0 < p < 1), floored at zero since sizes and durations cannot be negative.
    pub fn quantile(&self, p: f64) -> f64 {
        let p = p.clamp(1e-9, 1.0 - 1e-9);
        let z = Normal::standard().inverse_cdf(p);
        let q = match *self {
            Distribution::Fixed { value } => value,
            Distribution::Uniform { min, max } => min + p * (max - min),
            Distribution::Normal { mean, sd } => mean + sd * z,
            Distribution::LogNormal { median, sigma } => median * (sigma * z).exp(),
            Distribution::Exp { mean } => -mean * (1.0 - p).ln(),
            Distribution::Zipf { .. } => 1.0,
        };
        q.max(0.0)
    }

    /// The largest value, where the distribution is bounded.
    pub fn max(&self) -> Option<f64> {
        match *self {
            Distribution::Fixed { value } => Some(value),
            Distribution::Uniform { max, .. } => Some(max),
            _ => None,
        }
    }
}

/// The largest value of a quantity, and how to say it: a cell value of 2 GiB (Cassandra's
/// limit for a value), ten years, 2^31 (the cells of a partition).
fn largest(quantity: Quantity) -> (f64, &'static str) {
    match quantity {
        Quantity::Bytes => (2.0 * 1024f64.powi(3), "2GiB"),
        Quantity::Seconds => (10.0 * 365.0 * 86_400.0, "10 years"),
        Quantity::Count => (2f64.powi(31), "2^31"),
    }
}

fn parse_value(s: &str, quantity: Quantity) -> Result<f64, UnitError> {
    match quantity {
        Quantity::Bytes => units::parse_size(s),
        Quantity::Seconds => units::parse_duration(s),
        Quantity::Count => units::parse_count(s),
    }
}

/// Generalised harmonic number H(N,s), summed to 10^5 then integrated.
pub fn harmonic(n: f64, s: f64) -> f64 {
    let exact = n.min(100_000.0) as u64;
    let mut h: f64 = (1..=exact).map(|k| (k as f64).powf(-s)).sum();
    if n > exact as f64 {
        let a = exact as f64 + 0.5;
        let b = n + 0.5;
        h += if (s - 1.0).abs() < 1e-9 {
            (b / a).ln()
        } else {
            (b.powf(1.0 - s) - a.powf(1.0 - s)) / (1.0 - s)
        };
    }
    h.max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harmonic_numbers() {
        assert!((harmonic(1.0, 1.0) - 1.0).abs() < 1e-12);
        assert!((harmonic(3.0, 1.0) - (1.0 + 0.5 + 1.0 / 3.0)).abs() < 1e-12);
        // H(10^6, 1) ≈ ln(10^6) + γ ≈ 14.3927
        assert!((harmonic(1e6, 1.0) - 14.3927).abs() < 1e-3);
    }

    #[test]
    fn parses_every_form_with_units() {
        let d = Distribution::parse("lognormal(300B, 0.6)", Quantity::Bytes).unwrap();
        assert_eq!(
            d,
            Distribution::LogNormal {
                median: 300.0,
                sigma: 0.6
            }
        );
        assert!((d.mean() - 300.0 * (0.18f64).exp()).abs() < 1e-9);
        let e = Distribution::parse("exp(30s)", Quantity::Seconds).unwrap();
        assert!((e.quantile(0.5) - 30.0 * 2f64.ln()).abs() < 1e-9);
        assert_eq!(
            Distribution::parse("fixed(1)", Quantity::Count)
                .unwrap()
                .mean(),
            1.0
        );
        assert_eq!(
            Distribution::parse("uniform(1KiB,3KiB)", Quantity::Bytes)
                .unwrap()
                .mean(),
            2048.0
        );
        assert_eq!(
            Distribution::parse("zipf(1.1)", Quantity::Count).unwrap(),
            Distribution::Zipf { s: 1.1 }
        );
        let n = Distribution::parse("normal(100B, 10B)", Quantity::Bytes).unwrap();
        assert!((n.quantile(0.99) - 123.26).abs() < 0.01);
    }

    #[test]
    fn rejects_bad_forms() {
        assert!(Distribution::parse("lognormal(300, 0.6)", Quantity::Bytes).is_err());
        assert!(Distribution::parse("uniform(3B, 1B)", Quantity::Bytes).is_err());
        assert!(Distribution::parse("poisson(3)", Quantity::Count).is_err());
        assert!(Distribution::parse("fixed(1", Quantity::Count).is_err());
    }
}
