//! Helpers shared by the layers: Kafka record batch (magic 2) headers.

pub mod batch;
