//! The Cairn broker: storage, the metadata group, partition groups, leader
//! dissemination and heartbeats, the controller, and the admin HTTP API, wired
//! together by [`Broker`].

pub mod admin;
pub mod appender;
pub mod config;
pub mod controller;
pub mod error;
pub mod kafka_view;
pub mod leaders;
pub mod metadata;
pub mod node;
pub mod partitions;
pub mod quiesce;
pub mod retention;
pub mod view;

pub use config::BrokerConfig;
pub use error::BrokerError;
pub use node::{Broker, Core};
