//! Helpers shared by the layers: Kafka record batch (magic 2) headers
//! ([`batch`]) and the Raft group vocabulary ([`group`]): group ids, the shape
//! of a Cairn openraft type config and the [`Machine`] trait; and the one
//! table of Kafka error codes ([`error_code`]); and the process's metrics
//! ([`metrics`]); the fields of `/proc/PID/stat` ([`proc_stat`]). Nothing
//! here does IO.

pub mod batch;
pub mod error_code;
pub mod group;
pub mod latency_buckets;
pub mod metrics;
pub mod proc_stat;
pub mod txn_marker;

pub use group::{GroupId, GroupTypeConfig, Machine, METADATA_GROUP};
