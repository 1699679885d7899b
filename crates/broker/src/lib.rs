//! The Cairn broker: storage, the metadata group, partition groups, leader
//! dissemination and heartbeats, the controller, and the admin HTTP API, wired
//! together by [`Broker`].
//!
//! Layers inside the crate, each module importing only those below it:
//!
//! | layer | modules |
//! |---|---|
//! | process | [`node`] (start and stop; owns every task) |
//! | loops and servers | [`admin`], [`kafka_view`], [`kafka_metadata`], [`kafka_admin`], [`group_coordinators`], [`txn`], [`controller`], [`leader_balance`], [`reassign`], [`transfer`], [`failover`], [`dissemination`], [`retention`], [`rpc`] |
//! | shared state | [`shared`] |
//! | components | [`metadata`], [`offsets`], [`partitions`], [`appender`], [`quiesce`], [`dissemination::knowledge`] |
//! | foundations | [`config`], [`error`], [`tasks`], [`services`], [`clock`], [`view`] |

pub mod admin;
pub mod appender;
pub mod clock;
pub mod config;
pub mod console;
pub mod controller;
pub mod dissemination;
pub mod error;
pub mod exposition;
pub mod failover;
pub mod fan_out;
pub mod group_coordinators;
pub mod group_views;
pub mod kafka_admin;
pub mod kafka_configs;
pub mod kafka_metadata;
pub mod kafka_view;
pub mod lag_metrics;
pub mod leader_balance;
pub mod metadata;
pub mod node;
pub mod offsets;
pub mod partitions;
pub mod producer_ids;
pub mod quiesce;
pub mod reassign;
pub mod retention;
pub mod rpc;
pub mod services;
pub mod shared;
pub mod tasks;
pub mod transfer;
pub mod trim;
pub mod txn;
pub mod view;

pub use crate::shared::Core;
pub use config::BrokerConfig;
pub use error::BrokerError;
pub use node::Broker;
