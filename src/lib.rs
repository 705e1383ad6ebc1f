//! cassim: predicts what a Cassandra schema and workload do to a cluster over weeks.
pub mod cql;
pub mod defaults;
pub mod distribution;
pub mod schema;
pub mod scenario;
pub mod units;
pub mod workload;
