//! The metadata layer: the catalogue of brokers, topics and assignments that
//! the metadata Raft group replicates ([`state`]), topic configs and their
//! defaults ([`topic_config`]), replica placement ([`placement`]), leader
//! balancing ([`balance`]), replica moves ([`reassign`], [`spread`]) and the controller's
//! decisions ([`controller`]). Everything here is free of IO.

pub mod balance;
pub mod controller;
pub mod placement;
pub mod reassign;
pub mod spread;
pub mod state;
pub mod topic_config;

pub use controller::{ControllerRequest, QuorumDescription};
pub use state::{
    producer_id_block, BrokerRecord, BrokerRegistration, ConfigChange, MetaCommand, MetaError,
    MetaErrorCode, MetaResponse, MetaState, PartitionAssignment, ProducerIdBlock, Topic,
    PRODUCER_ID_BLOCK_SIZE,
};

#[allow(unused_imports)]
use std::io::Cursor; // named by declare_raft_types!

openraft::declare_raft_types!(
    /// The type config of the metadata group.
    pub MetaTypeConfig: D = MetaCommand, R = MetaResponse
);
