//! This broker's replica of the metadata group, and the way any broker gets a
//! controller request carried out: locally on the leader, otherwise forwarded
//! over the transport to the leader (or to a seed, before this broker knows
//! who leads).

use std::collections::BTreeMap;
use std::time::Duration;

use openraft::error::{ClientWriteError, InitializeError, RaftError};
use openraft::{BasicNode, Raft};

use cairn_meta::{
    ControllerRequest, MetaCommand, MetaError, MetaErrorCode, MetaResponse, MetaState,
    MetaTypeConfig,
};
use cairn_raft::{GroupNetworkFactory, RaftTiming, Transport};
use cairn_storage::state_machine::MachineReader;
use cairn_storage::{Engine, LogStore, SnapshotStateMachine, METADATA_GROUP};

use crate::config::BrokerConfig;
use crate::BrokerError;

/// Snapshot the metadata catalogue every this many applied entries.
const METADATA_SNAPSHOT_EVERY: u64 = 1000;

/// The metadata group replica on this broker.
pub struct MetaNode {
    /// The Raft node.
    pub raft: Raft<MetaTypeConfig>,
    /// Read access to the catalogue.
    pub reader: MachineReader<MetaState>,
    id: u64,
}

impl MetaNode {
    /// Opens the metadata group from storage; a controller voter whose group is
    /// empty initializes it with every voter (safe to do on each of them).
    pub async fn start(
        config: &BrokerConfig,
        engine: &Engine,
        transport: &Transport,
    ) -> Result<Self, BrokerError> {
        let raft_err = |e: &dyn std::fmt::Display| BrokerError::Raft {
            group: METADATA_GROUP,
            message: e.to_string(),
        };
        let log = LogStore::<MetaTypeConfig>::new(engine.clone(), METADATA_GROUP);
        let sm =
            SnapshotStateMachine::<MetaTypeConfig, MetaState>::open(engine.clone(), METADATA_GROUP)
                .map_err(|e| raft_err(&e))?;
        let reader = sm.reader();
        let raft_config = RaftTiming::METADATA
            .config(&config.cluster_name, Some(METADATA_SNAPSHOT_EVERY))
            .map_err(|e| raft_err(&e))?;
        let network = GroupNetworkFactory::new(transport.clone(), METADATA_GROUP);
        let raft = Raft::new(config.id, raft_config, network, log, sm)
            .await
            .map_err(|e| raft_err(&e))?;
        let voters = config.voters();
        if voters.contains(&config.id) && !raft.is_initialized().await.map_err(|e| raft_err(&e))? {
            let seeds = config.seeds_with_self();
            let members: BTreeMap<u64, BasicNode> = voters
                .iter()
                .filter_map(|v| seeds.iter().find(|s| s.id == *v))
                .map(|s| {
                    (
                        s.id,
                        BasicNode {
                            addr: s.addr.clone(),
                        },
                    )
                })
                .collect();
            match raft.initialize(members).await {
                Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
                Err(e) => return Err(raft_err(&e)),
            }
        }
        Ok(Self {
            raft,
            reader,
            id: config.id,
        })
    }

    /// The current controller (metadata leader), if known.
    pub fn leader(&self) -> Option<u64> {
        self.raft.metrics().borrow().current_leader
    }

    /// Whether this broker is the controller.
    pub fn is_leader(&self) -> bool {
        self.leader() == Some(self.id)
    }

    /// Proposes `command` on this broker, which must be the leader.
    pub async fn propose(&self, command: MetaCommand) -> Result<MetaResponse, MetaError> {
        match self.raft.client_write(command).await {
            Ok(written) => match written.data {
                MetaResponse::Rejected(e) => Err(e),
                response => Ok(response),
            },
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => Err(MetaError::new(
                MetaErrorCode::NotController,
                format!(
                    "broker {} is not the controller (leader: {:?})",
                    self.id, f.leader_id
                ),
            )),
            Err(e) => Err(MetaError::new(
                MetaErrorCode::Unavailable,
                format!("metadata write failed: {e}"),
            )),
        }
    }
}

/// Encodes a forwarded controller request; `hops` bounds re-forwarding.
pub fn encode_forward(request: &ControllerRequest, hops: u8) -> Vec<u8> {
    bincode::serialize(&(request, hops)).expect("controller requests always encode")
}

/// Decodes a forwarded controller request.
pub fn decode_forward(body: &[u8]) -> Result<(ControllerRequest, u8), String> {
    bincode::deserialize(body).map_err(|e| format!("malformed controller request: {e}"))
}

/// Retry interval while no controller is known or it just changed.
pub const SUBMIT_RETRY: Duration = Duration::from_millis(100);
