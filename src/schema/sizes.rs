//! Bytes on disk per partition header, static row, row, cell, tombstone and range marker in the
//! 3.0+ sstable format (CASSANDRA.md section 3), for versions 3.11 to 5.0, and the Chebotko cell
//! count Nv and byte estimate St beside it for comparison (CASSANDRA.md 3.10).

use std::collections::BTreeMap;

use super::{ColumnKind, Table};
use crate::cql::ast::{CqlType, NativeType};
use crate::defaults::{self, CassandraVersion};

/// Bytes of an unsigned vint holding `value` (CASSANDRA.md 3.7): 7 bits per byte, at most 9.
pub fn vint_size(value: f64) -> f64 {
    let v = value.max(0.0);
    for n in 1..=8u32 {
        if v < 2f64.powi(7 * n as i32) {
            return n as f64;
        }
    }
    9.0
}

/// The declared size of one column's values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnSize {
    /// Mean serialized bytes of the whole value (for a collection, all its elements).
    pub bytes: f64,
    /// Mean elements, for collections.
    pub elements: f64,
}

/// How a row was written: what decides which timestamps, TTLs and flags each cell carries.
#[derive(Debug, Clone, PartialEq)]
pub struct RowShape {
    /// INSERT writes primary-key liveness (a row marker); UPDATE does not (CASSANDRA.md 3.8).
    pub liveness: bool,
    /// The write carries a TTL (USING TTL or default_time_to_live).
    pub ttl: bool,
    /// Columns written, `None` for all regular columns.
    pub columns: Option<Vec<String>>,
}

impl RowShape {
    pub fn insert_all() -> RowShape {
        RowShape {
            liveness: true,
            ttl: false,
            columns: None,
        }
    }
}

/// Bytes of one row, split the way a reviewer reads them.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct RowBytes {
    /// Everything: flags, clustering, size fields, timestamps, cells.
    pub total: f64,
    pub clustering: f64,
    /// Bytes of the values themselves (the payload).
    pub values: f64,
    /// Cells in the row.
    pub cells: f64,
}

/// The size model for one table at one version.
#[derive(Debug, Clone)]
pub struct SizeModel {
    pub version: CassandraVersion,
    /// Time span of the data in one sstable, which sets the timestamp delta widths (3.6, 3.7).
    pub span_seconds: f64,
    /// Declared value sizes by column; others take type defaults.
    pub columns: BTreeMap<String, ColumnSize>,
}

impl SizeModel {
    pub fn new(version: CassandraVersion, span_seconds: f64) -> SizeModel {
        SizeModel {
            version,
            span_seconds,
            columns: BTreeMap::new(),
        }
    }

    /// Timestamp delta bytes: microseconds across the span (CASSANDRA.md 3.7).
    pub fn ts_delta(&self) -> f64 {
        vint_size(self.span_seconds * 1e6)
    }

    /// Local-deletion-time delta bytes: seconds across the span.
    pub fn ldt_delta(&self) -> f64 {
        vint_size(self.span_seconds)
    }

    /// Payload bytes of a column's value, without the length prefix.
    pub fn value_bytes(&self, table: &Table, column: &str) -> f64 {
        let Some(col) = table.column(column) else {
            return 0.0;
        };
        if let Some(size) = self.columns.get(column) {
            return size.bytes;
        }
        type_bytes(&col.ty, defaults::DEFAULT_COLLECTION_ELEMENTS)
    }

    fn elements(&self, column: &str) -> f64 {
        self.columns
            .get(column)
            .map(|c| c.elements)
            .unwrap_or(defaults::DEFAULT_COLLECTION_ELEMENTS)
    }

    /// A value as stored in a cell or clustering: raw if fixed-length, else vint length + bytes.
    fn stored_value(&self, table: &Table, column: &str) -> f64 {
        let bytes = self.value_bytes(table, column);
        match table.column(column).map(|c| fixed_length(&c.ty)) {
            Some(Some(n)) => n,
            _ => vint_size(bytes) + bytes,
        }
    }

    /// Bytes of the partition key in the Data file: u16 length + the key; a composite key stores
    /// each component as u16 length + bytes + an end-of-component byte.
    pub fn partition_key_bytes(&self, table: &Table) -> f64 {
        let parts: Vec<f64> = table
            .partition_key
            .iter()
            .map(|c| self.value_bytes(table, c))
            .collect();
        let key = if parts.len() == 1 {
            parts[0]
        } else {
            parts.iter().map(|p| 2.0 + p + 1.0).sum()
        };
        2.0 + key
    }

    /// Clustering prefix bytes (CASSANDRA.md 3.3).
    pub fn clustering_bytes(&self, table: &Table) -> f64 {
        if table.clustering.is_empty() {
            return 0.0;
        }
        let header = (table.clustering.len() as f64 / 32.0).ceil();
        header
            + table
                .clustering
                .iter()
                .map(|(c, _)| self.stored_value(table, c))
                .sum::<f64>()
    }

    /// Bytes of one column's cell(s) and the number of cells (CASSANDRA.md 3.5, 3.8).
    fn column_cells(&self, table: &Table, column: &str, shape: &RowShape) -> (f64, f64, f64) {
        let Some(col) = table.column(column) else {
            return (0.0, 0.0, 0.0);
        };
        // A cell without row liveness carries its own timestamp; an expiring cell without the row's
        // TTL carries its ldt and ttl deltas (TTL deltas are 1 byte with a uniform TTL).
        let ts = if shape.liveness { 0.0 } else { self.ts_delta() };
        let ttl = if shape.ttl && !shape.liveness {
            self.ldt_delta() + 1.0
        } else {
            0.0
        };
        let per_cell = 1.0 + ts + ttl;
        if col.is_multicell() {
            let n = self.elements(column).max(0.0);
            let total = self.value_bytes(table, column);
            let per_element = if n > 0.0 { total / n } else { 0.0 };
            let (path, value) = match &col.ty {
                CqlType::List(_) => (16.0, per_element), // path: a timeuuid
                CqlType::Set(_) => (per_element, 0.0),   // path: the element, no value
                CqlType::Map(k, _) => {
                    let key = fixed_length(k).unwrap_or(per_element / 2.0);
                    (key, (per_element - key).max(0.0))
                }
                _ => (4.0, per_element), // non-frozen UDT: field index
            };
            let cell = per_cell + vint_size(path) + path + vint_size(value) + value;
            // The complex column's element count (and a complex deletion, when overwritten).
            (1.0 + n * cell, n, total)
        } else {
            let value = self.stored_value(table, column);
            (per_cell + value, 1.0, self.value_bytes(table, column))
        }
    }

    /// Bytes of one row written with `shape` (CASSANDRA.md 3.2, 3.8).
    pub fn row(&self, table: &Table, shape: &RowShape) -> RowBytes {
        let regular: Vec<&str> = table
            .columns_of(ColumnKind::Regular)
            .map(|c| c.name.as_str())
            .collect();
        let written: Vec<&str> = match &shape.columns {
            None => regular.clone(),
            Some(cols) => regular
                .iter()
                .copied()
                .filter(|c| cols.iter().any(|w| w == c))
                .collect(),
        };
        let mut body = 0.0;
        let mut cells = 0.0;
        let mut values = 0.0;
        for c in &written {
            let (bytes, n, v) = self.column_cells(table, c, shape);
            body += bytes;
            cells += n;
            values += v;
        }
        let clustering = self.clustering_bytes(table);
        let mut fixed = 1.0 + clustering;
        if shape.liveness {
            fixed += self.ts_delta();
            if shape.ttl {
                fixed += 1.0 + self.ldt_delta();
            }
        }
        if written.len() < regular.len() {
            fixed += vint_size(2f64.powi(regular.len().min(63) as i32)); // subset bitmap
        }
        let unsized_row = fixed + body;
        // Row size and previous-unfiltered size vints, written in sstables only.
        let total = unsized_row + 2.0 * vint_size(unsized_row);
        RowBytes {
            total,
            clustering,
            values,
            cells,
        }
    }

    /// Bytes of the static row of a partition, when the table has static columns (CASSANDRA.md 3.1).
    pub fn static_row(&self, table: &Table, shape: &RowShape) -> f64 {
        let statics: Vec<&str> = table
            .columns_of(ColumnKind::Static)
            .map(|c| c.name.as_str())
            .collect();
        if statics.is_empty() {
            return 0.0;
        }
        let cells: f64 = statics
            .iter()
            .map(|c| self.column_cells(table, c, shape).0)
            .sum();
        let unsized_row = 2.0 + cells; // flags + IS_STATIC extension flag
        unsized_row + 2.0 * vint_size(unsized_row)
    }

    /// Bytes of a partition of `rows` rows (CASSANDRA.md 3.8).
    pub fn partition_bytes(&self, table: &Table, rows: f64, shape: &RowShape) -> f64 {
        self.partition_key_bytes(table)
            + self.version.live_partition_deletion_bytes()
            + self.static_row(table, shape)
            + rows * self.row(table, shape).total
            + 1.0
    }

    /// A cell tombstone: flags + timestamp + ldt, no value (CASSANDRA.md 3.5, 3.8).
    pub fn cell_tombstone_bytes(&self) -> f64 {
        1.0 + self.ts_delta() + self.ldt_delta()
    }

    /// A row deletion: flags, clustering, sizes, deletion time, and the empty column subset.
    pub fn row_tombstone_bytes(&self, table: &Table) -> f64 {
        let unsized_row =
            1.0 + self.clustering_bytes(table) + self.ts_delta() + self.ldt_delta() + 1.0;
        unsized_row + 2.0 * vint_size(unsized_row)
    }

    /// A range tombstone: two bound markers (CASSANDRA.md 3.4), each with one deletion time.
    pub fn range_tombstone_bytes(&self, table: &Table) -> f64 {
        let marker = 1.0
            + 1.0
            + 2.0
            + self.clustering_bytes(table)
            + 2.0
            + self.ts_delta()
            + self.ldt_delta();
        2.0 * marker
    }

    /// A partition deletion: the 12-byte deletion time replaces the live marker (CASSANDRA.md 3.1).
    pub fn partition_tombstone_bytes(&self, table: &Table) -> f64 {
        self.partition_key_bytes(table) + 12.0 + 1.0
    }

    /// Nv = Nr × (Nc − Npk − Ns) + Ns (CASSANDRA.md 3.10), counting each collection element as a cell.
    /// Cells of a partition of `rows` rows whose writes set the columns `written` (every column
    /// when none is named).
    pub fn cells_per_partition(
        &self,
        table: &Table,
        rows: f64,
        written: &std::collections::BTreeSet<String>,
    ) -> f64 {
        let cells_in = |kind: ColumnKind| -> f64 {
            table
                .columns_of(kind)
                .filter(|c| written.is_empty() || written.contains(&c.name))
                .map(|c| {
                    if c.is_multicell() {
                        self.elements(&c.name)
                    } else {
                        1.0
                    }
                })
                .sum()
        };
        rows * cells_in(ColumnKind::Regular) + cells_in(ColumnKind::Static)
    }

    /// Chebotko's St with 8 bytes of metadata per cell (CASSANDRA.md 3.10), an upper bound.
    pub fn chebotko_bytes(&self, table: &Table, rows: f64) -> f64 {
        let sum = |kind: ColumnKind| -> f64 {
            table
                .columns_of(kind)
                .map(|c| self.value_bytes(table, &c.name))
                .sum()
        };
        sum(ColumnKind::PartitionKey)
            + sum(ColumnKind::Static)
            + rows * (sum(ColumnKind::Regular) + sum(ColumnKind::Clustering))
            + self.cells_per_partition(table, rows, &Default::default()) * 8.0
    }
}

/// Length of a fixed-length type's value, `None` for variable-length types (CASSANDRA.md 3.3).
/// smallint and tinyint are treated as variable-length (unverified there; Cassandra's ShortType and
/// ByteType do not declare a fixed length).
pub fn fixed_length(ty: &CqlType) -> Option<f64> {
    use NativeType::*;
    match ty {
        CqlType::Native(n) => match n {
            Boolean => Some(1.0),
            Int | Float | Date => Some(4.0),
            Bigint | Double | Timestamp | Time => Some(8.0),
            Uuid | Timeuuid => Some(16.0),
            _ => None,
        },
        _ => None,
    }
}

/// Default payload bytes of a type (without a length prefix).
pub fn type_bytes(ty: &CqlType, elements: f64) -> f64 {
    use NativeType::*;
    if let Some(n) = fixed_length(ty) {
        return n;
    }
    match ty {
        CqlType::Native(n) => match n {
            Tinyint => 1.0,
            Smallint => 2.0,
            Inet => 4.0,
            Varint => 8.0,
            Decimal => 12.0,
            Duration => 6.0,
            // A counter's context: a 2-byte header plus one 32-byte shard (id, clock, count).
            Counter => 34.0,
            _ => defaults::DEFAULT_VARIABLE_VALUE_BYTES,
        },
        // Frozen values and collections: 4-byte count, then 4-byte length + bytes per element.
        CqlType::List(t) | CqlType::Set(t) => 4.0 + elements * (4.0 + type_bytes(t, elements)),
        CqlType::Map(k, v) => {
            4.0 + elements * (8.0 + type_bytes(k, elements) + type_bytes(v, elements))
        }
        CqlType::Tuple(ts) => ts.iter().map(|t| 4.0 + type_bytes(t, elements)).sum(),
        CqlType::Frozen(t) => type_bytes(t, elements),
        CqlType::Vector(t, n) => *n as f64 * type_bytes(t, elements),
        CqlType::Udt(_) | CqlType::Custom(_) => 4.0 * defaults::DEFAULT_VARIABLE_VALUE_BYTES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;
    use std::collections::BTreeMap;

    fn table(ddl: &str) -> Table {
        let s = Schema::from_cql("t.cql", ddl, &BTreeMap::new(), Some("ks")).unwrap();
        s.tables.values().next().unwrap().clone()
    }

    #[test]
    fn vint_sizes_follow_seven_bits_per_byte() {
        assert_eq!(vint_size(0.0), 1.0);
        assert_eq!(vint_size(127.0), 1.0);
        assert_eq!(vint_size(128.0), 2.0);
        assert_eq!(vint_size(16_383.0), 2.0);
        assert_eq!(vint_size(16_384.0), 3.0);
        assert_eq!(vint_size(2f64.powi(56)), 9.0);
    }

    #[test]
    fn timestamp_delta_widths_match_the_table_of_section_3_7() {
        let widths = |span: f64| {
            let m = SizeModel::new(CassandraVersion::V4_1, span);
            (m.ts_delta(), m.ldt_delta())
        };
        assert_eq!(widths(1.0), (3.0, 1.0));
        assert_eq!(widths(60.0), (4.0, 1.0));
        assert_eq!(widths(600.0), (5.0, 2.0));
        assert_eq!(widths(3600.0), (5.0, 2.0));
        assert_eq!(widths(86_400.0), (6.0, 3.0));
        assert_eq!(widths(30.0 * 86_400.0), (6.0, 4.0));
        assert_eq!(widths(365.0 * 86_400.0), (7.0, 4.0));
    }

    /// CASSANDRA.md 3.8's worked example: (pk text, ck timestamp, v1 text, v2 int) by INSERT, 10
    /// minutes of writes: about 20 bytes plus the values (v1's bytes + 4 for v2).
    #[test]
    fn worked_example_of_section_3_8() {
        let t =
            table("CREATE TABLE t (pk text, ck timestamp, v1 text, v2 int, PRIMARY KEY (pk, ck));");
        let mut m = SizeModel::new(CassandraVersion::V4_1, 600.0);
        m.columns.insert(
            "v1".into(),
            ColumnSize {
                bytes: 10.0,
                elements: 1.0,
            },
        );
        let row = m.row(&t, &RowShape::insert_all());
        // flags 1 + clustering 1+8 + sizes 2 + row timestamp 5 + v1 (1 flag + 1 len) + v2 (1 flag)
        assert_eq!(row.total - 10.0 - 4.0, 20.0);
        assert_eq!(row.cells, 2.0);
        // After compaction merges a year of data, the row timestamp delta grows to 7 bytes.
        let year = SizeModel {
            span_seconds: 365.0 * 86_400.0,
            ..m.clone()
        };
        assert_eq!(year.row(&t, &RowShape::insert_all()).total - 34.0, 2.0);
    }

    #[test]
    fn update_cells_carry_their_own_timestamps() {
        let t = table("CREATE TABLE t (pk int, ck int, a int, b int, PRIMARY KEY (pk, ck));");
        let m = SizeModel::new(CassandraVersion::V4_1, 600.0);
        let insert = m.row(&t, &RowShape::insert_all()).total;
        let update = m
            .row(
                &t,
                &RowShape {
                    liveness: false,
                    ttl: false,
                    columns: None,
                },
            )
            .total;
        // INSERT: +5 row timestamp; UPDATE: +5 per cell (two cells).
        assert_eq!(update - insert, 5.0);
    }

    #[test]
    fn partition_header_shrinks_in_5_0() {
        let t = table("CREATE TABLE t (pk int PRIMARY KEY, v int);");
        let shape = RowShape::insert_all();
        let v4 = SizeModel::new(CassandraVersion::V4_1, 600.0).partition_bytes(&t, 1.0, &shape);
        let v5 = SizeModel::new(CassandraVersion::V5_0, 600.0).partition_bytes(&t, 1.0, &shape);
        assert_eq!(v4 - v5, 11.0);
        // 2 + 4 (key) + 12 + row (1 flag + 0 clustering + 5 ts + cell 1+4, sizes 2) + 1 end = 32
        assert_eq!(v4, 2.0 + 4.0 + 12.0 + 13.0 + 1.0);
    }

    #[test]
    fn every_version_sizes_rows_alike_and_differs_in_headers_and_chunks() {
        let t = table("CREATE TABLE t (pk text, ck timestamp, v text, PRIMARY KEY (pk, ck));");
        let shape = RowShape::insert_all();
        let bytes: Vec<f64> = CassandraVersion::ALL
            .iter()
            .map(|v| SizeModel::new(*v, 600.0).partition_bytes(&t, 10.0, &shape))
            .collect();
        // 3.11, 4.0 and 4.1 share the `m*`/`n*` layout; 5.0 saves 11 bytes per live partition.
        assert_eq!(bytes[0], bytes[1]);
        assert_eq!(bytes[1], bytes[2]);
        assert_eq!(bytes[2] - bytes[3], 11.0);
        let chunks: Vec<u32> = CassandraVersion::ALL
            .iter()
            .map(|v| v.default_chunk_length_kib())
            .collect();
        assert_eq!(chunks, vec![64, 16, 16, 16]);
    }

    #[test]
    fn tombstones_cost_what_section_3_says() {
        let t = table("CREATE TABLE t (pk int, ck int, v int, PRIMARY KEY (pk, ck));");
        let m = SizeModel::new(CassandraVersion::V4_1, 600.0);
        // A cell tombstone: flags 1 + timestamp 5 + ldt 2, no value.
        assert_eq!(m.cell_tombstone_bytes(), 8.0);
        // A range tombstone is two markers, each with the clustering (1 + 4) and one deletion time.
        assert_eq!(
            m.range_tombstone_bytes(&t),
            2.0 * (1.0 + 1.0 + 2.0 + 5.0 + 2.0 + 5.0 + 2.0)
        );
        assert!(m.row_tombstone_bytes(&t) > m.cell_tombstone_bytes());
    }

    #[test]
    fn chebotko_counts_cells_and_overestimates_narrow_rows() {
        let t = table("CREATE TABLE t (pk text, ck timestamp, s int static, v1 text, v2 int, PRIMARY KEY (pk, ck));");
        let m = SizeModel::new(CassandraVersion::V4_1, 600.0);
        // Nv = Nr × (Nc − Npk − Ns) + Ns = 100 × (5 − 2 − 1) + 1
        assert_eq!(m.cells_per_partition(&t, 100.0, &Default::default()), 201.0);
        // Writes that set only v1: a cell a row, and the static's.
        let v1 = ["v1".to_string()].into_iter().collect();
        assert_eq!(m.cells_per_partition(&t, 100.0, &v1), 100.0);
        let modern = m.partition_bytes(&t, 100.0, &RowShape::insert_all());
        assert!(m.chebotko_bytes(&t, 100.0) > modern);
    }
}
