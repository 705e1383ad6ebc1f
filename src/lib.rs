//! cassim: predicts what a Cassandra schema and workload do to a cluster over weeks.
pub mod calibration;
pub mod check;
pub mod cluster;
pub mod commands;
pub mod cql;
pub mod defaults;
pub mod distribution;
pub mod engine;
pub mod latency;
pub mod metrics;
pub mod report;
pub mod scenario;
pub mod schema;
pub mod sim;
pub mod stress;
pub mod units;
pub mod workload;
