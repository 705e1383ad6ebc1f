//! The values `cassim drive` binds: each bind marker's role (partition key, time bucket, clustering
//! position, payload, TTL, LIMIT), found from the column the server says the marker binds, and
//! its CQL value for the column's type. Keys and clustering positions map one to one onto values
//! (and keep their order for clustering), payloads have the scenario's sizes.

use rand::RngExt;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use scylla::cluster::metadata::{CollectionType, ColumnType, NativeType};
use scylla::value::{CqlDate, CqlTimestamp, CqlTimeuuid, CqlValue};

use crate::distribution::Distribution;
use crate::schema::{ColumnKind, Table};

/// What a bind marker carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// A partition key column: the entity.
    Key,
    /// The time-bucket column of a bucketed table, and the bucket's length in seconds.
    Bucket {
        bucket_s: f64,
    },
    /// The first clustering column: the request's clustering ordinal.
    Clustering,
    /// A later clustering column: a constant.
    ClusteringRest,
    /// A regular or static column's value, of this size in bytes (serialized), null in a share
    /// of the writes (the workload's `nulls`).
    Payload {
        size: Option<Distribution>,
        /// Elements of a collection (the scenario's mean, or the default).
        elements: usize,
        null_share: f64,
    },
    Ttl,
    Limit,
    /// `USING TIMESTAMP ?`: the request's wall clock in microseconds.
    Timestamp,
}

/// The role of the marker that binds column `name` (or `[ttl]`, `[limit]`, `[timestamp]`).
pub fn role_of(
    table: &Table,
    model: Option<&crate::scenario::TableModel>,
    nulls: &std::collections::BTreeMap<String, f64>,
    name: &str,
) -> Result<Role, String> {
    match name {
        "[ttl]" => return Ok(Role::Ttl),
        "[limit]" | "[per_partition_limit]" => return Ok(Role::Limit),
        "[timestamp]" => return Ok(Role::Timestamp),
        _ => {}
    }
    if let Some(i) = table.partition_key.iter().position(|c| c == name) {
        // A bucketed table's bucket is the last column of its partition key.
        let last = i + 1 == table.partition_key.len() && table.partition_key.len() > 1;
        let bucket_s = model.and_then(|m| m.partitions.as_ref()?.bucket_s);
        return Ok(match bucket_s {
            Some(bucket_s) if last => Role::Bucket { bucket_s },
            _ => Role::Key,
        });
    }
    if let Some(i) = table.clustering.iter().position(|(c, _)| c == name) {
        return Ok(if i == 0 {
            Role::Clustering
        } else {
            Role::ClusteringRest
        });
    }
    match table.column(name) {
        Some(c) if matches!(c.kind, ColumnKind::Regular | ColumnKind::Static) => {
            let spec = model.and_then(|m| m.columns.get(name));
            let elements = spec
                .and_then(|s| s.elements)
                .map_or(crate::defaults::DEFAULT_COLLECTION_ELEMENTS, |d| d.mean());
            Ok(Role::Payload {
                size: spec.map(|s| s.size),
                elements: elements.round().max(1.0) as usize,
                null_share: nulls.get(name).copied().unwrap_or(0.0),
            })
        }
        _ => Err(format!(
            "bind marker for `{name}`: cassim drive cannot tell what to bind"
        )),
    }
}

/// Offset between the UUID epoch (1582-10-15) and the Unix epoch, in 100 ns units.
const UUID_EPOCH_OFFSET: u64 = 0x01B2_1DD2_1381_4000;

/// A version 1 (time-based) UUID for a time in 100 ns units since the Unix epoch; `node` tells
/// apart UUIDs of equal times.
pub fn timeuuid(unix_100ns: u64, node: u64) -> uuid::Uuid {
    let t = unix_100ns + UUID_EPOCH_OFFSET;
    let mut b = [0u8; 16];
    b[0..4].copy_from_slice(&((t & 0xFFFF_FFFF) as u32).to_be_bytes());
    b[4..6].copy_from_slice(&(((t >> 32) & 0xFFFF) as u16).to_be_bytes());
    b[6..8].copy_from_slice(&((((t >> 48) & 0x0FFF) as u16) | 0x1000).to_be_bytes());
    b[8..10].copy_from_slice(&((((node >> 48) & 0x3FFF) as u16) | 0x8000).to_be_bytes());
    b[10..16].copy_from_slice(&node.to_be_bytes()[2..8]);
    uuid::Uuid::from_bytes(b)
}

/// A value of type `ty` standing for `n`: distinct `n` give distinct values, in the same order
/// for the orderable types.
pub fn ordinal_value(ty: &ColumnType, n: u64, micros: bool) -> Result<CqlValue, String> {
    use NativeType as N;
    let ColumnType::Native(native) = ty else {
        return Err(format!("cannot make a key of type {ty:?}"));
    };
    Ok(match native {
        N::Int => CqlValue::Int((n % (i32::MAX as u64)) as i32),
        N::BigInt | N::Counter => CqlValue::BigInt((n % (i64::MAX as u64)) as i64),
        N::SmallInt => CqlValue::SmallInt((n % (i16::MAX as u64)) as i16),
        N::TinyInt => CqlValue::TinyInt((n % (i8::MAX as u64)) as i8),
        N::Text => CqlValue::Text(format!("{n:020}")),
        N::Ascii => CqlValue::Ascii(format!("{n:020}")),
        N::Blob => CqlValue::Blob(n.to_be_bytes().to_vec()),
        N::Timestamp => CqlValue::Timestamp(CqlTimestamp(if micros {
            (n / 1000) as i64
        } else {
            n as i64
        })),
        N::Date => CqlValue::Date(CqlDate((1u32 << 31).wrapping_add(n as u32))),
        N::Timeuuid => {
            let t = if micros { n * 10 } else { n * 10_000 };
            CqlValue::Timeuuid(CqlTimeuuid::from(timeuuid(t, 0x0A11_CE00_0000 ^ n)))
        }
        N::Uuid => {
            let h = crate::engine::node_seed(n, 0x7575_6964);
            let l = crate::engine::node_seed(n, 0x6964_7575);
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&h.to_be_bytes());
            b[8..].copy_from_slice(&l.to_be_bytes());
            b[6] = (b[6] & 0x0F) | 0x40;
            b[8] = (b[8] & 0x3F) | 0x80;
            CqlValue::Uuid(uuid::Uuid::from_bytes(b))
        }
        N::Double => CqlValue::Double(n as f64),
        N::Float => CqlValue::Float(n as f32),
        N::Boolean => CqlValue::Boolean(n % 2 == 1),
        other => return Err(format!("cannot make a key of type {other:?}")),
    })
}

/// A payload of type `ty` of about `size` serialized bytes (collections: `elements` elements
/// sharing it), drawn from `rng`.
pub fn payload_value(
    ty: &ColumnType,
    size: f64,
    elements: usize,
    rng: &mut Pcg64Mcg,
) -> Result<CqlValue, String> {
    let size = size.max(1.0).round() as usize;
    match ty {
        ColumnType::Native(NativeType::Text) => Ok(CqlValue::Text(letters(size, rng))),
        ColumnType::Native(NativeType::Ascii) => Ok(CqlValue::Ascii(letters(size, rng))),
        ColumnType::Native(NativeType::Blob) => {
            Ok(CqlValue::Blob((0..size).map(|_| rng.random()).collect()))
        }
        ColumnType::Collection { typ, .. } => {
            let k = elements.max(1);
            let each = (size / k).max(1) as f64;
            let items = |t: &ColumnType, rng: &mut Pcg64Mcg| -> Result<Vec<CqlValue>, String> {
                (0..k).map(|_| payload_value(t, each, 1, rng)).collect()
            };
            match typ {
                CollectionType::List(t) => Ok(CqlValue::List(items(t, rng)?)),
                CollectionType::Set(t) => Ok(CqlValue::Set(items(t, rng)?)),
                CollectionType::Map(kt, vt) => {
                    let keys = (0..k).map(|i| ordinal_value(kt, i as u64, true));
                    let vals = items(vt, rng)?;
                    Ok(CqlValue::Map(
                        keys.zip(vals)
                            .map(|(k, v)| k.map(|k| (k, v)))
                            .collect::<Result<_, _>>()?,
                    ))
                }
                _ => Err(format!("cannot make a value of type {ty:?}")),
            }
        }
        other => ordinal_value(other, rng.random_range(0..1_000_000u64), true),
    }
}

fn letters(n: usize, rng: &mut Pcg64Mcg) -> String {
    (0..n)
        .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
        .collect()
}

/// The generator of one request's payloads.
pub fn payload_rng(seed: u64) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeuuids_are_version_1_and_keep_time_order() {
        let a = timeuuid(17_000_000_000_000_000, 1);
        let b = timeuuid(17_000_000_000_000_010, 1);
        assert_eq!(a.get_version_num(), 1);
        let ta = a.get_timestamp().unwrap().to_unix();
        let tb = b.get_timestamp().unwrap().to_unix();
        assert!(tb > ta);
        assert_eq!(ta.0, 1_700_000_000);
    }

    #[test]
    fn ordinals_keep_their_order_as_text_and_numbers() {
        let text = ColumnType::Native(NativeType::Text);
        let (CqlValue::Text(a), CqlValue::Text(b)) = (
            ordinal_value(&text, 9, false).unwrap(),
            ordinal_value(&text, 10, false).unwrap(),
        ) else {
            panic!()
        };
        assert!(a < b);
    }

    #[test]
    fn payloads_have_the_asked_size() {
        let mut rng = payload_rng(1);
        let text = ColumnType::Native(NativeType::Text);
        let CqlValue::Text(s) = payload_value(&text, 120.4, 1, &mut rng).unwrap() else {
            panic!()
        };
        assert_eq!(s.len(), 120);
    }
}
