//! This broker's replica of the metadata group, and the way any broker gets a
//! controller request carried out ([`MetaNode::submit`]): on the controller
//! (the metadata leader) it is planned with `cairn_meta::controller`'s pure
//! functions and proposed; elsewhere it is forwarded over the transport to the
//! leader (or to a seed, before this broker knows who leads), which answers
//! with the result. Forwarding is bounded by a hop count.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use openraft::error::{ClientWriteError, InitializeError, RaftError};
use openraft::{BasicNode, ChangeMembers, Raft};
use rand::Rng;

use cairn_meta::controller::{
    plan_add_partitions, plan_add_partitions_assigned, plan_create_topic,
    plan_create_topic_assigned,
};
use cairn_meta::{
    ControllerRequest, MetaCommand, MetaError, MetaErrorCode, MetaResponse, MetaState,
    MetaTypeConfig, QuorumDescription,
};
use cairn_raft::{GroupNetworkFactory, RaftTiming, Transport};
use cairn_storage::state_machine::MachineReader;
use cairn_storage::{Engine, LogStore, SnapshotStateMachine, METADATA_GROUP};

use crate::clock::now_ms;
use crate::config::BrokerConfig;
use crate::services;
use crate::BrokerError;

/// How long a forwarded request may take on the broker it was sent to.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// Snapshot the metadata catalogue every this many applied entries.
const METADATA_SNAPSHOT_EVERY: u64 = 1000;

/// The metadata group replica on this broker.
pub struct MetaNode {
    /// The Raft node.
    pub raft: Raft<MetaTypeConfig>,
    /// Read access to the catalogue.
    pub reader: MachineReader<MetaState>,
    id: u64,
    /// Where forwarded requests go.
    transport: Transport,
    /// Other seed brokers, asked in turn while no controller is known.
    seeds: Vec<u64>,
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
        let log =
            LogStore::<MetaTypeConfig>::new(engine.clone(), METADATA_GROUP).of_node(config.id);
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
            transport: transport.clone(),
            seeds: config
                .seeds
                .iter()
                .map(|s| s.id)
                .filter(|&s| s != config.id)
                .collect(),
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

impl MetaNode {
    /// Gets a controller request carried out by the controller, wherever it is,
    /// retrying while the controller is unknown or moving, up to `timeout`.
    pub async fn submit(
        &self,
        request: ControllerRequest,
        timeout: Duration,
    ) -> Result<MetaResponse, MetaError> {
        let deadline = Instant::now() + timeout;
        let mut seed_turn = 0usize;
        loop {
            let result = match self.leader() {
                Some(leader) if leader == self.id => self.carry_out(request.clone()).await,
                Some(leader) => self.forward(leader, &request, 1).await,
                // Not yet a member (or no election yet): ask the seeds in turn.
                None => match self.seeds.get(seed_turn % self.seeds.len().max(1)) {
                    Some(&seed) => {
                        seed_turn += 1;
                        self.forward(seed, &request, 1).await
                    }
                    None => Err(MetaError::new(
                        MetaErrorCode::Unavailable,
                        "no controller elected yet",
                    )),
                },
            };
            match result {
                Err(e)
                    if matches!(
                        e.code,
                        MetaErrorCode::NotController | MetaErrorCode::Unavailable
                    ) =>
                {
                    if Instant::now() + SUBMIT_RETRY >= deadline {
                        return Err(MetaError::new(
                            e.code,
                            format!("{} (gave up after {timeout:?})", e.message),
                        ));
                    }
                    tokio::time::sleep(SUBMIT_RETRY).await;
                }
                other => return other,
            }
        }
    }

    async fn forward(
        &self,
        to: u64,
        request: &ControllerRequest,
        hops: u8,
    ) -> Result<MetaResponse, MetaError> {
        let body = encode_forward(request, hops);
        let reply = self
            .transport
            .call(
                to,
                services::CONTROLLER,
                METADATA_GROUP,
                body,
                FORWARD_TIMEOUT,
            )
            .await
            .map_err(|e| MetaError::new(MetaErrorCode::Unavailable, e.to_string()))?;
        bincode::deserialize::<Result<MetaResponse, MetaError>>(&reply).map_err(|e| {
            MetaError::new(
                MetaErrorCode::Unavailable,
                format!("malformed controller reply from {to}: {e}"),
            )
        })?
    }

    /// Answers a request another broker forwarded here: carries it out if
    /// this broker is the controller, forwards it on while hops remain.
    pub async fn serve_forwarded(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        let (request, hops) = decode_forward(body)?;
        let result = match self.leader() {
            Some(leader) if leader == self.id => self.carry_out(request).await,
            Some(leader) if hops > 0 => self.forward(leader, &request, hops - 1).await,
            _ => Err(MetaError::new(
                MetaErrorCode::NotController,
                format!("broker {} does not know the controller", self.id),
            )),
        };
        bincode::serialize(&result).map_err(|e| e.to_string())
    }

    /// The metadata group as this broker, its leader, sees it.
    fn describe_quorum(&self) -> Result<QuorumDescription, MetaError> {
        let m = self.raft.metrics().borrow().clone();
        let Some(replication) = m
            .replication
            .as_ref()
            .filter(|_| m.current_leader == Some(self.id))
        else {
            return Err(MetaError::new(
                MetaErrorCode::NotController,
                format!("broker {} is no longer the controller", self.id),
            ));
        };
        let progress = |id: u64| {
            if id == self.id {
                m.last_log_index.map(|i| i + 1)
            } else {
                replication.get(&id).cloned().flatten().map(|l| l.index + 1)
            }
        };
        let membership = m.membership_config.membership();
        Ok(QuorumDescription {
            leader: self.id,
            term: m.current_term,
            high_watermark: m.last_applied.map_or(0, |l| l.index + 1),
            voters: membership
                .voter_ids()
                .map(|id| (id, progress(id)))
                .collect(),
            observers: membership
                .learner_ids()
                .map(|id| (id, progress(id)))
                .collect(),
        })
    }

    /// Makes `broker`, a caught-up learner of the metadata group, a voter
    /// (joint consensus: openraft's `change_membership`).
    async fn add_voter(&self, broker: u64) -> Result<(), MetaError> {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        if membership.voter_ids().any(|v| v == broker) {
            return Ok(());
        }
        if !membership.learner_ids().any(|l| l == broker) {
            return Err(MetaError::new(
                MetaErrorCode::InvalidRequest,
                format!("broker {broker} is not a metadata learner: a registered broker becomes one within a second of registering"),
            ));
        }
        let matched = m
            .replication
            .as_ref()
            .and_then(|r| r.get(&broker).cloned().flatten())
            .map(|l| l.index);
        let last = m.last_log_index.unwrap_or(0);
        if matched.is_none_or(|i| i.saturating_add(VOTER_MAX_LAG) < last) {
            return Err(MetaError::new(
                MetaErrorCode::Unavailable,
                format!(
                    "broker {broker} is still catching up with the metadata log ({} of {last} entries); try again",
                    matched.unwrap_or(0)
                ),
            ));
        }
        tracing::info!(broker, "adding a metadata voter");
        self.raft
            .change_membership(ChangeMembers::AddVoterIds([broker].into()), false)
            .await
            .map_err(|e| {
                MetaError::new(
                    MetaErrorCode::Unavailable,
                    format!("voters not changed: {e}"),
                )
            })?;
        Ok(())
    }

    /// Makes `broker`, a voter of the metadata group, a learner; at least
    /// one voter stays, and the controller does not remove itself.
    async fn remove_voter(&self, broker: u64) -> Result<(), MetaError> {
        let voters: Vec<u64> = self
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .collect();
        if !voters.contains(&broker) {
            return Err(MetaError::new(
                MetaErrorCode::InvalidRequest,
                format!("broker {broker} is not a metadata voter (voters: {voters:?})"),
            ));
        }
        if voters.len() == 1 {
            return Err(MetaError::new(
                MetaErrorCode::InvalidRequest,
                format!("broker {broker} is the only metadata voter; add another first"),
            ));
        }
        // openraft lets a leader that removed itself go on leading as a
        // learner, with the voters' leases holding off an election; the
        // controller's role moves first (see `admin::remove_voter`).
        if broker == self.id {
            return Err(MetaError::new(
                MetaErrorCode::Unavailable,
                format!("broker {broker} is the controller: it hands its role to another voter before it is removed; try again"),
            ));
        }
        tracing::info!(broker, "removing a metadata voter");
        self.raft
            .change_membership(ChangeMembers::RemoveVoters([broker].into()), true)
            .await
            .map_err(|e| {
                MetaError::new(
                    MetaErrorCode::Unavailable,
                    format!("voters not changed: {e}"),
                )
            })?;
        Ok(())
    }

    /// Carries out `request` on this broker, which must be the controller:
    /// plans the metadata command from the current catalogue and proposes it.
    async fn carry_out(&self, request: ControllerRequest) -> Result<MetaResponse, MetaError> {
        let now = now_ms();
        let command = match request {
            ControllerRequest::Register(registration) => MetaCommand::RegisterBroker {
                registration,
                now_ms: now,
            },
            ControllerRequest::CreateTopic {
                name,
                partitions,
                replication_factor,
                configs,
                validate_only,
            } => {
                let start = rand::thread_rng().gen::<u32>() as usize;
                let command = self.reader.read(|state| {
                    plan_create_topic(
                        state,
                        &name,
                        partitions,
                        replication_factor,
                        &configs,
                        start,
                        now,
                    )
                })?;
                if validate_only {
                    return Ok(MetaResponse::Ok);
                }
                command
            }
            ControllerRequest::DeleteTopic { name } => MetaCommand::DeleteTopic { name },
            ControllerRequest::AlterTopicConfigs {
                name,
                change,
                validate_only,
            } => {
                let current = self
                    .reader
                    .read(|state| state.topics.get(&name).map(|t| t.configs.clone()))
                    .ok_or_else(|| {
                        MetaError::new(
                            MetaErrorCode::UnknownTopic,
                            format!("topic '{name}' does not exist"),
                        )
                    })?;
                change.apply_to(&current)?;
                if validate_only {
                    return Ok(MetaResponse::Ok);
                }
                MetaCommand::AlterTopicConfigs { name, change }
            }
            ControllerRequest::CreatePartitions {
                name,
                total,
                validate_only,
            } => {
                let start = rand::thread_rng().gen::<u32>() as usize;
                let command = self
                    .reader
                    .read(|state| plan_add_partitions(state, &name, total, start))?;
                if validate_only {
                    return Ok(MetaResponse::Ok);
                }
                command
            }
            ControllerRequest::AllocateProducerIds { broker } => {
                MetaCommand::AllocateProducerIds { broker }
            }
            ControllerRequest::DescribeQuorum => {
                return Ok(MetaResponse::Quorum(self.describe_quorum()?));
            }
            ControllerRequest::AddVoter { broker } => {
                self.add_voter(broker).await?;
                return Ok(MetaResponse::Ok);
            }
            ControllerRequest::RemoveVoter { broker } => {
                self.remove_voter(broker).await?;
                return Ok(MetaResponse::Ok);
            }
            ControllerRequest::Decommission { broker } => {
                let voters: std::collections::BTreeSet<u64> = self
                    .raft
                    .metrics()
                    .borrow()
                    .membership_config
                    .membership()
                    .voter_ids()
                    .collect();
                self.reader.read(|state| {
                    cairn_meta::controller::plan_decommission(state, broker, &voters)
                })?
            }
            ControllerRequest::Recommission { broker } => {
                let known = self
                    .reader
                    .read(|state| state.brokers.contains_key(&broker));
                if !known {
                    return Err(MetaError::new(
                        MetaErrorCode::UnknownBroker,
                        format!("broker {broker} is not registered"),
                    ));
                }
                MetaCommand::Recommission { broker }
            }
            ControllerRequest::Reassign {
                topic,
                partition,
                replicas,
                validate_only,
            } => {
                let command = self.reader.read(|state| {
                    cairn_meta::controller::plan_reassign(state, &topic, partition, replicas, now)
                })?;
                if validate_only {
                    return Ok(MetaResponse::Ok);
                }
                command
            }
            ControllerRequest::CreateTopicAssigned {
                name,
                assignment,
                configs,
                validate_only,
            } => {
                let command = self.reader.read(|state| {
                    plan_create_topic_assigned(state, &name, &assignment, &configs, now)
                })?;
                if validate_only {
                    return Ok(MetaResponse::Ok);
                }
                command
            }
            ControllerRequest::CreatePartitionsAssigned {
                name,
                total,
                assignment,
                validate_only,
            } => {
                let command = self
                    .reader
                    .read(|state| plan_add_partitions_assigned(state, &name, total, &assignment))?;
                if validate_only {
                    return Ok(MetaResponse::Ok);
                }
                command
            }
        };
        self.propose(command).await
    }
}

/// Encodes a forwarded controller request; `hops` bounds re-forwarding.
fn encode_forward(request: &ControllerRequest, hops: u8) -> Vec<u8> {
    bincode::serialize(&(request, hops)).expect("controller requests always encode")
}

/// Decodes a forwarded controller request.
fn decode_forward(body: &[u8]) -> Result<(ControllerRequest, u8), String> {
    bincode::deserialize(body).map_err(|e| format!("malformed controller request: {e}"))
}

/// A metadata learner within this many entries of the controller's log may
/// become a voter.
const VOTER_MAX_LAG: u64 = 100;

/// Retry interval while no controller is known or it just changed.
const SUBMIT_RETRY: Duration = Duration::from_millis(100);
