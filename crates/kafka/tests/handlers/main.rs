//! The Kafka handlers against an in-memory cluster: real requests, encoded as
//! a client encodes them, go through the public dispatch entry point
//! (`cairn_kafka::api::handle_request`), and the decoded responses are checked
//! field by field. These pin what the handlers answer today; the end-to-end
//! tests in the root package check the same APIs against real brokers.

mod admin;
mod consumer_groups;
mod fetch;
mod group_offsets;
mod group_versions;
mod groups;
mod memory_cluster;
mod memory_groups;
mod metadata;
mod produce;
mod wire;
