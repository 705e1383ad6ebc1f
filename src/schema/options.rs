//! Table options from the CQL `WITH` clause (and from a scenario's `[tables."ks.t"]`, which wins):
//! gc_grace_seconds, default_time_to_live, compaction, compression, bloom_filter_fp_chance, caching.
//! Values not given stay `None` here and take the version's default through `effective_*`.

use std::collections::BTreeMap;

use crate::cql::ast::OptionValue;
use crate::defaults::{self, CassandraVersion};

/// Compaction strategies, by the names Cassandra users use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Strategy {
    /// SizeTieredCompactionStrategy.
    Stcs,
    /// LeveledCompactionStrategy.
    Lcs,
    /// TimeWindowCompactionStrategy.
    Twcs,
    /// UnifiedCompactionStrategy (5.0+).
    Ucs,
    /// DateTieredCompactionStrategy (deprecated in 3.8, removed in 4.0).
    Dtcs,
    /// A strategy class cassim does not know.
    Other(String),
}

impl Strategy {
    /// Parses a class name, short (`LeveledCompactionStrategy`, `LCS`) or fully qualified.
    pub fn from_class(class: &str) -> Strategy {
        let short = class.rsplit('.').next().unwrap_or(class);
        match short.to_ascii_lowercase().as_str() {
            "sizetieredcompactionstrategy" | "stcs" => Strategy::Stcs,
            "leveledcompactionstrategy" | "lcs" => Strategy::Lcs,
            "timewindowcompactionstrategy" | "twcs" => Strategy::Twcs,
            "unifiedcompactionstrategy" | "ucs" => Strategy::Ucs,
            "datetieredcompactionstrategy" | "dtcs" => Strategy::Dtcs,
            _ => Strategy::Other(class.to_string()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Strategy::Stcs => "SizeTieredCompactionStrategy",
            Strategy::Lcs => "LeveledCompactionStrategy",
            Strategy::Twcs => "TimeWindowCompactionStrategy",
            Strategy::Ucs => "UnifiedCompactionStrategy",
            Strategy::Dtcs => "DateTieredCompactionStrategy",
            Strategy::Other(c) => c,
        }
    }

    /// Sub-options the strategy accepts (CASSANDRA.md 5.1 to 5.5), beyond the common ones.
    fn known_options(&self) -> &'static [&'static str] {
        match self {
            Strategy::Stcs => &[
                "bucket_low",
                "bucket_high",
                "min_sstable_size",
                "cold_reads_to_omit",
            ],
            Strategy::Lcs => &[
                "sstable_size_in_mb",
                "fanout_size",
                "single_sstable_uplevel",
            ],
            Strategy::Twcs => &[
                "compaction_window_unit",
                "compaction_window_size",
                "timestamp_resolution",
                "expired_sstable_check_frequency_seconds",
                "unsafe_aggressive_sstable_expiration",
                "split_during_flush",
                "bucket_low",
                "bucket_high",
                "min_sstable_size",
            ],
            Strategy::Ucs => &[
                "scaling_parameters",
                "target_sstable_size",
                "base_shard_count",
                "sstable_growth",
                "min_sstable_size",
                "max_space_overhead",
                "expired_sstable_check_frequency_seconds",
                "unsafe_aggressive_sstable_expiration",
                "overlap_inclusion_method",
                "reserved_threads",
                "num_shards",
                "flush_size_override",
            ],
            Strategy::Dtcs => &[
                "base_time_seconds",
                "max_sstable_age_days",
                "max_window_size_seconds",
                "timestamp_resolution",
                "min_sstable_size",
            ],
            Strategy::Other(_) => &[],
        }
    }
}

/// Options every strategy accepts (CASSANDRA.md 5.1).
const COMMON_COMPACTION_OPTIONS: [&str; 11] = [
    "class",
    "enabled",
    "min_threshold",
    "max_threshold",
    "tombstone_threshold",
    "tombstone_compaction_interval",
    "unchecked_tombstone_compaction",
    "only_purge_repaired_tombstones",
    "log_all",
    "provide_overlapping_tombstones",
    "max_sstable_size",
];

/// The `compaction` map.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Compaction {
    pub strategy: Strategy,
    /// Every sub-option as given (strings), `class` excluded.
    pub options: BTreeMap<String, String>,
}

impl Default for Compaction {
    fn default() -> Self {
        Compaction {
            strategy: Strategy::Stcs,
            options: BTreeMap::new(),
        }
    }
}

impl Compaction {
    /// Reads a `compaction = {…}` map; problems are returned as notes (Cassandra rejects unknown
    /// sub-options, but schemas from older versions carry some).
    pub fn from_map(
        entries: &[(String, OptionValue)],
    ) -> Result<(Compaction, Vec<String>), String> {
        let class = entries
            .iter()
            .find(|(k, _)| k == "class")
            .map(|(_, v)| v.as_text())
            .ok_or_else(|| "the compaction map has no 'class'".to_string())?;
        let strategy = Strategy::from_class(&class);
        let mut notes = Vec::new();
        if let Strategy::Other(c) = &strategy {
            notes.push(format!(
                "compaction class `{c}` is not one cassim models; STCS rules apply"
            ));
        }
        let mut options = BTreeMap::new();
        for (k, v) in entries.iter().filter(|(k, _)| k != "class") {
            let known = COMMON_COMPACTION_OPTIONS.contains(&k.as_str())
                || strategy.known_options().contains(&k.as_str());
            if !known {
                notes.push(format!(
                    "compaction option `{k}` is not understood by {}; it is kept but has no effect",
                    strategy.name()
                ));
            }
            options.insert(k.clone(), v.as_text());
        }
        let compaction = Compaction { strategy, options };
        compaction.validate()?;
        Ok((compaction, notes))
    }

    fn validate(&self) -> Result<(), String> {
        let numeric = [
            "min_threshold",
            "max_threshold",
            "tombstone_threshold",
            "tombstone_compaction_interval",
            "bucket_low",
            "bucket_high",
            "min_sstable_size",
            "sstable_size_in_mb",
            "fanout_size",
            "compaction_window_size",
            "expired_sstable_check_frequency_seconds",
            "base_shard_count",
            "sstable_growth",
            "max_space_overhead",
        ];
        for key in numeric {
            if let Some(v) = self.options.get(key) {
                if key == "min_sstable_size" && self.strategy == Strategy::Ucs {
                    continue; // UCS takes a size with a unit ("100MiB")
                }
                if v.trim().parse::<f64>().is_err() {
                    return Err(format!(
                        "compaction option `{key}` must be a number, found '{v}'"
                    ));
                }
            }
        }
        // TimeWindowCompactionStrategyOptions.validateOptions: a whole number of at least 1 (0 was
        // accepted and shown as an hour).
        if let Some(size) = self.options.get("compaction_window_size") {
            if !size.trim().parse::<i32>().is_ok_and(|n| n >= 1) {
                return Err(format!(
                    "compaction_window_size must be a whole number of at least 1, found '{size}'"
                ));
            }
        }
        if let Some(unit) = self.options.get("compaction_window_unit") {
            if window_unit_seconds(unit).is_none() {
                return Err(format!(
                    "compaction_window_unit must be MINUTES, HOURS or DAYS, found '{unit}'"
                ));
            }
        }
        let (min, max) = (self.min_threshold(), self.max_threshold());
        if min < 2 || max < min {
            return Err(format!(
                "compaction thresholds need 2 <= min_threshold <= max_threshold, found {min} and {max}"
            ));
        }
        Ok(())
    }

    fn number(&self, key: &str) -> Option<f64> {
        self.options.get(key).and_then(|v| v.trim().parse().ok())
    }

    /// min_threshold, default 4 (CASSANDRA.md 1.1).
    pub fn min_threshold(&self) -> u32 {
        self.number("min_threshold").map(|v| v as u32).unwrap_or(4)
    }

    /// max_threshold, default 32 (CASSANDRA.md 1.1).
    pub fn max_threshold(&self) -> u32 {
        self.number("max_threshold").map(|v| v as u32).unwrap_or(32)
    }

    /// TWCS window in seconds: compaction_window_size × unit, default 1 DAYS (CASSANDRA.md 5.4).
    pub fn window_seconds(&self) -> Option<u64> {
        if self.strategy != Strategy::Twcs {
            return None;
        }
        let size = self
            .number("compaction_window_size")
            .unwrap_or(1.0)
            .max(1.0) as u64;
        let unit = self
            .options
            .get("compaction_window_unit")
            .map(String::as_str)
            .unwrap_or("DAYS");
        Some(size * window_unit_seconds(unit).unwrap_or(86_400))
    }

    /// LCS sstable_size_in_mb, default 160 (CASSANDRA.md 5.3).
    pub fn lcs_sstable_size_mb(&self) -> f64 {
        self.number("sstable_size_in_mb").unwrap_or(160.0)
    }

    /// A one-line description, as `check` prints it.
    pub fn describe(&self) -> String {
        let mut s = self.strategy.name().to_string();
        if let Some(w) = self.window_seconds() {
            s.push_str(&format!(
                " (window {})",
                crate::units::format_duration(w as f64)
            ));
        }
        let shown: Vec<String> = self
            .options
            .iter()
            .filter(|(k, _)| !k.starts_with("compaction_window"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !shown.is_empty() {
            s.push_str(&format!(" [{}]", shown.join(", ")));
        }
        s
    }
}

fn window_unit_seconds(unit: &str) -> Option<u64> {
    match unit.to_ascii_uppercase().as_str() {
        "MINUTES" => Some(60),
        "HOURS" => Some(3600),
        "DAYS" => Some(86_400),
        _ => None,
    }
}

/// The `compression` map.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Compression {
    /// The compressor's class, `None` when compression is disabled.
    pub class: Option<String>,
    /// chunk_length_in_kb when given; the version's default otherwise.
    pub chunk_length_kib: Option<u32>,
}

impl Compression {
    pub fn from_map(entries: &[(String, OptionValue)]) -> Result<Compression, String> {
        let mut class = Some("LZ4Compressor".to_string());
        let mut chunk = None;
        for (k, v) in entries {
            match k.as_str() {
                "class" | "sstable_compression" => {
                    let c = v.as_text();
                    class = if c.is_empty() {
                        None
                    } else {
                        Some(c.rsplit('.').next().unwrap_or(&c).to_string())
                    };
                }
                "enabled" if v.as_bool() == Some(false) => class = None,
                "chunk_length_in_kb" | "chunk_length_kb" => {
                    let n = v
                        .as_f64()
                        .filter(|n| *n >= 1.0 && (*n as u32).is_power_of_two())
                        .ok_or_else(|| {
                            format!(
                                "chunk_length_in_kb must be a power of two, found '{}'",
                                v.as_text()
                            )
                        })?;
                    chunk = Some(n as u32);
                }
                _ => {}
            }
        }
        Ok(Compression {
            class,
            chunk_length_kib: chunk,
        })
    }
}

/// The table options cassim models; `None` means "not given: the version's default".
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct TableOptions {
    pub gc_grace_seconds: Option<u64>,
    pub default_time_to_live: Option<u64>,
    pub compaction: Compaction,
    pub compression: Option<Compression>,
    pub bloom_filter_fp_chance: Option<f64>,
    pub memtable_flush_period_in_ms: Option<u64>,
    /// `caching = {'keys': …, 'rows_per_partition': …}`.
    pub caching: BTreeMap<String, String>,
    /// Options recognised but not modelled (comment, speculative_retry, …), kept for display.
    pub other: BTreeMap<String, String>,
}

/// Options Cassandra knows that cassim keeps without modelling them.
const KEPT_OPTIONS: [&str; 20] = [
    "comment",
    "crc_check_chance",
    "min_index_interval",
    "max_index_interval",
    "index_interval",
    "speculative_retry",
    "additional_write_policy",
    "read_repair_chance",
    "dclocal_read_repair_chance",
    "read_repair",
    "cdc",
    "extensions",
    "memtable",
    "populate_io_cache_on_flush",
    "replicate_on_write",
    "id",
    "incremental_backups",
    "allow_auto_snapshot",
    "transactional_mode",
    "transactional_migration_from",
];

impl TableOptions {
    /// Applies one `WITH` option. Returns a note for an option cassim does not know.
    pub fn apply(&mut self, name: &str, value: &OptionValue) -> Result<Option<String>, String> {
        let whole = |v: &OptionValue, what: &str| -> Result<u64, String> {
            v.as_f64()
                .filter(|n| *n >= 0.0 && n.fract() == 0.0)
                .map(|n| n as u64)
                .ok_or_else(|| {
                    format!(
                        "{what} must be a whole number of seconds, found '{}'",
                        v.as_text()
                    )
                })
        };
        let map = |v: &OptionValue, what: &str| -> Result<Vec<(String, OptionValue)>, String> {
            match v {
                OptionValue::Map(m) => Ok(m.clone()),
                _ => Err(format!("{what} takes a map, like {{'class': '…'}}")),
            }
        };
        match name {
            "gc_grace_seconds" => self.gc_grace_seconds = Some(whole(value, name)?),
            "default_time_to_live" => {
                let ttl = whole(value, name)?;
                if ttl > defaults::MAX_TTL_SECONDS {
                    return Err(format!(
                        "default_time_to_live {ttl} exceeds the maximum TTL of {} s (20 years)",
                        defaults::MAX_TTL_SECONDS
                    ));
                }
                self.default_time_to_live = Some(ttl);
            }
            "memtable_flush_period_in_ms" => {
                self.memtable_flush_period_in_ms = Some(whole(value, name)?)
            }
            "bloom_filter_fp_chance" => {
                let p = value
                    .as_f64()
                    .filter(|p| *p > 0.0 && *p <= 1.0)
                    .ok_or_else(|| {
                        format!(
                            "bloom_filter_fp_chance must be in (0, 1], found '{}'",
                            value.as_text()
                        )
                    })?;
                self.bloom_filter_fp_chance = Some(p);
            }
            "compaction" => {
                let (c, notes) = Compaction::from_map(&map(value, name)?)?;
                self.compaction = c;
                return Ok(if notes.is_empty() {
                    None
                } else {
                    Some(notes.join("; "))
                });
            }
            "compression" => self.compression = Some(Compression::from_map(&map(value, name)?)?),
            "caching" => {
                self.caching = map(value, name)?
                    .into_iter()
                    .map(|(k, v)| (k, v.as_text()))
                    .collect();
            }
            _ if KEPT_OPTIONS.contains(&name) => {
                self.other.insert(name.to_string(), value.as_text());
            }
            _ => {
                self.other.insert(name.to_string(), value.as_text());
                return Ok(Some(format!(
                    "table option `{name}` is not known to cassim; it is kept but has no effect"
                )));
            }
        }
        Ok(None)
    }

    /// gc_grace_seconds in force (CASSANDRA.md 1.1: 864000 by default).
    pub fn effective_gc_grace_seconds(&self) -> u64 {
        self.gc_grace_seconds.unwrap_or(defaults::GC_GRACE_SECONDS)
    }

    pub fn effective_default_ttl(&self) -> u64 {
        self.default_time_to_live.unwrap_or(0)
    }

    /// bloom_filter_fp_chance in force: 0.01, or 0.1 under LCS (CASSANDRA.md 1.1).
    pub fn effective_bloom_filter_fp_chance(&self) -> f64 {
        self.bloom_filter_fp_chance
            .unwrap_or(match self.compaction.strategy {
                Strategy::Lcs => 0.1,
                _ => 0.01,
            })
    }

    /// Compression chunk length in KiB, `None` when compression is off (CASSANDRA.md 1.1).
    pub fn effective_chunk_kib(&self, version: CassandraVersion) -> Option<u32> {
        let default = version.default_chunk_length_kib();
        match &self.compression {
            None => Some(default),
            Some(c) if c.class.is_none() => None,
            Some(c) => Some(c.chunk_length_kib.unwrap_or(default)),
        }
    }
}
