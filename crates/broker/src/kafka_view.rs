//! The broker's side of the Kafka adapter: a [`ClusterMetadata`] snapshot built
//! from the metadata catalogue (brokers, topics, assignments) and the leaders
//! learned by dissemination; produce, fetch and offsets on the partitions this
//! broker leads.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cairn_kafka::error_code::{
    COORDINATOR_NOT_AVAILABLE, ELECTION_NOT_NEEDED, INVALID_PARTITIONS, INVALID_TOPIC_EXCEPTION,
    LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, OFFSET_OUT_OF_RANGE,
    PREFERRED_LEADER_NOT_AVAILABLE, REQUEST_TIMED_OUT, UNKNOWN_SERVER_ERROR,
    UNKNOWN_TOPIC_OR_PARTITION,
};
use cairn_kafka::{
    ActiveProducer, AlterConfigs, BoxFuture, BrokerEndpoint, ClusterMetadata, ConfigEntry,
    CreatedTopic, KafkaCluster, KafkaError, LogDir, LogDirReplica, MetadataQuorum, MovingPartition,
    NewTopic, PartitionOutcome, PartitionRead, QuorumMember,
};
use cairn_meta::topic_config::{effective_config, validate_topic_name};
use cairn_meta::{ConfigChange, ControllerRequest, MetaResponse};
use tokio::sync::{oneshot, watch};

use crate::appender::{Append, Write};
use crate::group_coordinators;
use crate::kafka_admin::{
    create_topic_request, default_replication_factor, meta_error_to_kafka, reassign,
};
use crate::kafka_configs;
use crate::partitions::PartitionHandle;
use crate::shared::Core;

/// How long a CreateTopics/DeleteTopics may wait for the controller.
pub(crate) const ADMIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// Answers the Kafka handlers' questions from a running broker.
pub struct KafkaView(pub Arc<Core>);

impl KafkaView {
    /// The local replica of `topic`/`partition`, if this broker leads it.
    fn leader_replica(&self, topic: &str, partition: i32) -> Result<PartitionHandle, KafkaError> {
        self.leader_replica_in_term(topic, partition)
            .map(|(handle, _, _)| handle)
    }

    /// [`KafkaView::leader_replica`] with the term it leads in, and whether
    /// it has applied an entry of that term (see
    /// [`KafkaView::caught_up_replica`]), from one read of its metrics.
    fn leader_replica_in_term(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<(PartitionHandle, u64, bool), KafkaError> {
        let core = &self.0;
        let group = u32::try_from(partition)
            .ok()
            .and_then(|p| core.partition_group(topic, p))
            .ok_or(KafkaError::from_code(UNKNOWN_TOPIC_OR_PARTITION))?;
        let (raft, handle) = core
            .partitions()
            .registry
            .get(group)
            .ok_or(KafkaError::from_code(NOT_LEADER_OR_FOLLOWER))?;
        let (leader, leading, term, applied_term) = {
            let m = raft.metrics();
            let m = m.borrow();
            (
                m.current_leader,
                m.state.is_leader(),
                m.current_term,
                m.last_applied.map(|l| l.leader_id.term),
            )
        };
        if leader != Some(core.id()) || !leading {
            return Err(KafkaError::from_code(NOT_LEADER_OR_FOLLOWER));
        }
        Ok((handle, term, applied_term == Some(term)))
    }

    /// [`KafkaView::leader_replica_in_term`] once the leader has applied an
    /// entry of its own term: only then has it applied everything its
    /// predecessors committed, so its high watermark is at least every
    /// offset a client can have read. A leader elected a moment ago may lag;
    /// a read answered from it then (OFFSET_OUT_OF_RANGE for a consumer's
    /// position above it, or an epoch ending below that position) would make
    /// the consumer reset. It answers NOT_LEADER_OR_FOLLOWER instead, which
    /// clients retry.
    fn caught_up_replica(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<(PartitionHandle, u64), KafkaError> {
        match self.leader_replica_in_term(topic, partition)? {
            (handle, term, true) => Ok((handle, term)),
            (_, _, false) => Err(KafkaError::new(
                NOT_LEADER_OR_FOLLOWER,
                format!("{topic}-{partition}: the new leader is still applying its predecessors' entries"),
            )),
        }
    }
}

/// A Raft term as a Kafka leader epoch.
pub(crate) fn epoch(term: u64) -> i32 {
    i32::try_from(term).unwrap_or(i32::MAX)
}

impl KafkaCluster for KafkaView {
    fn find_group_coordinator(
        &self,
        group_id: &str,
    ) -> BoxFuture<Result<BrokerEndpoint, KafkaError>> {
        let (core, group_id) = (self.0.clone(), group_id.to_string());
        Box::pin(async move { group_coordinators::find_coordinator(&core, &group_id).await })
    }

    fn group_request(
        &self,
        group_id: &str,
        event: Box<dyn FnOnce(cairn_coordinator::RequestId) -> cairn_coordinator::Event + Send>,
    ) -> BoxFuture<Result<cairn_coordinator::Response, KafkaError>> {
        let handle = group_coordinators::local_coordinator(&self.0, group_id);
        Box::pin(async move { handle?.host.request(event).await })
    }

    fn read_group(
        &self,
        group_id: &str,
        read: &mut dyn FnMut(&cairn_coordinator::GroupCoordinator),
    ) -> Result<(), KafkaError> {
        let handle = group_coordinators::local_coordinator(&self.0, group_id)?;
        handle.host.ready()?;
        handle.reader.read(|m| read(&m.0));
        Ok(())
    }

    fn list_groups(&self, states: &[&str]) -> Vec<cairn_coordinator::ListedGroup> {
        group_coordinators::list_groups(&self.0, states)
    }

    fn find_txn_coordinator(
        &self,
        transactional_id: &str,
    ) -> BoxFuture<Result<BrokerEndpoint, KafkaError>> {
        let (core, id) = (self.0.clone(), transactional_id.to_string());
        Box::pin(async move {
            group_coordinators::find_coordinator_of(
                &core,
                group_coordinators::CoordinatorKind::Txn,
                &id,
            )
            .await
        })
    }

    fn txn_request(
        &self,
        transactional_id: &str,
        event: cairn_coordinator::txn::TxnEvent,
    ) -> BoxFuture<Result<cairn_coordinator::txn::TxnAnswer, KafkaError>> {
        let (core, id) = (self.0.clone(), transactional_id.to_string());
        Box::pin(async move { crate::txn::request(&core, &id, event).await })
    }

    fn describe_txn(
        &self,
        transactional_id: &str,
    ) -> Result<Option<cairn_coordinator::txn::TxnMetadata>, KafkaError> {
        crate::txn::describe(&self.0, transactional_id)
    }

    fn list_txns(&self) -> Vec<(String, cairn_coordinator::txn::TxnMetadata)> {
        crate::txn::list(&self.0)
    }

    fn partition_count(&self, topic: &str) -> Option<i32> {
        self.0
            .meta()
            .reader
            .read(|s| s.topics.get(topic).map(|t| t.partitions.len() as i32))
    }

    fn create_topic(&self, request: NewTopic) -> BoxFuture<Result<CreatedTopic, KafkaError>> {
        let core = self.0.clone();
        let configs = kafka_configs::configs_with(&core, &request.configs);
        let controller_request = create_topic_request(&core, request);
        Box::pin(async move {
            let controller_request = controller_request?;
            // What a validate-only request would create.
            let (partitions, replication_factor) = match &controller_request {
                ControllerRequest::CreateTopic {
                    partitions,
                    replication_factor,
                    ..
                } => (*partitions as usize, *replication_factor as usize),
                ControllerRequest::CreateTopicAssigned { assignment, .. } => {
                    (assignment.len(), assignment.first().map_or(0, Vec::len))
                }
                _ => (0, 0),
            };
            let planned = CreatedTopic {
                id: None,
                partitions: partitions as i32,
                replication_factor: replication_factor as i16,
                configs,
            };
            match core.submit(controller_request, ADMIN_TIMEOUT).await {
                Ok(MetaResponse::TopicCreated(topic)) => Ok(CreatedTopic {
                    id: Some(topic.id),
                    partitions: topic.partitions.len() as i32,
                    replication_factor: topic.replication_factor as i16,
                    ..planned
                }),
                Ok(_) => Ok(planned),
                Err(e) => Err(meta_error_to_kafka(e)),
            }
        })
    }

    fn describe_quorum(&self) -> BoxFuture<Result<MetadataQuorum, KafkaError>> {
        let core = self.0.clone();
        Box::pin(async move {
            let offset = |end: Option<u64>| end.map_or(-1, |e| e as i64);
            let members = |list: Vec<(u64, Option<u64>)>| {
                list.into_iter()
                    .map(|(id, end)| QuorumMember {
                        id: id as i32,
                        log_end_offset: offset(end),
                    })
                    .collect()
            };
            match core
                .submit(ControllerRequest::DescribeQuorum, ADMIN_TIMEOUT)
                .await
                .map_err(meta_error_to_kafka)?
            {
                MetaResponse::Quorum(q) => Ok(MetadataQuorum {
                    leader: q.leader as i32,
                    epoch: i32::try_from(q.term).unwrap_or(i32::MAX),
                    high_watermark: q.high_watermark as i64,
                    voters: members(q.voters),
                    observers: members(q.observers),
                }),
                other => Err(KafkaError::new(
                    UNKNOWN_SERVER_ERROR,
                    format!("unexpected controller answer to DescribeQuorum: {other:?}"),
                )),
            }
        })
    }

    fn log_dir(&self) -> LogDir {
        let core = &self.0;
        let partitions = core.partitions();
        let replicas = core.meta().reader.read(|s| {
            s.topics
                .values()
                .flat_map(|t| {
                    t.partitions.iter().filter_map(|p| {
                        let (_, handle) = partitions.registry.get(p.group)?;
                        Some(LogDirReplica {
                            topic: t.name.clone(),
                            partition: p.partition as i32,
                            size_bytes: handle.reader.size_bytes() as i64,
                        })
                    })
                })
                .collect()
        });
        let data_dir = &core.config().data_dir;
        let (total_bytes, usable_bytes) = nix::sys::statvfs::statvfs(data_dir.as_path())
            .map(|fs| {
                let block = fs.fragment_size() as i64;
                (
                    fs.blocks() as i64 * block,
                    fs.blocks_available() as i64 * block,
                )
            })
            .unwrap_or((-1, -1));
        LogDir {
            path: data_dir.display().to_string(),
            replicas,
            total_bytes,
            usable_bytes,
        }
    }

    fn auto_create_topic(&self, name: &str) -> Option<i16> {
        let core = &self.0;
        // Internal topics are made by whoever needs them (the group
        // coordinator), never by a client's Metadata request.
        let internal = [
            crate::offsets::OFFSETS_TOPIC,
            crate::offsets::TXN_STATE_TOPIC,
        ];
        if !core.config().auto_create_topics_enable || internal.contains(&name) {
            return None;
        }
        if validate_topic_name(name).is_err() {
            return Some(INVALID_TOPIC_EXCEPTION);
        }
        let request = ControllerRequest::CreateTopic {
            name: name.to_string(),
            partitions: core.config().num_partitions,
            replication_factor: default_replication_factor(core),
            configs: Default::default(),
            validate_only: false,
        };
        // Clients ask again until the topic is there; a request that finds it
        // created by an earlier one is refused as TOPIC_ALREADY_EXISTS, which
        // is fine.
        let (core, name) = (core.clone(), name.to_string());
        tokio::spawn(async move {
            match core.submit(request, ADMIN_TIMEOUT).await {
                Ok(_) => tracing::info!(topic = %name, "topic auto-created"),
                Err(e) => tracing::debug!(topic = %name, error = %e, "topic not auto-created"),
            }
        });
        Some(LEADER_NOT_AVAILABLE)
    }

    fn alter_topic_configs(
        &self,
        name: &str,
        change: AlterConfigs,
    ) -> BoxFuture<Result<(), KafkaError>> {
        let core = self.0.clone();
        let name = name.to_string();
        Box::pin(async move {
            let request = ControllerRequest::AlterTopicConfigs {
                name,
                change: ConfigChange {
                    set: change.set,
                    delete: change.delete,
                    replace: change.replace,
                },
                validate_only: change.validate_only,
            };
            core.submit(request, ADMIN_TIMEOUT)
                .await
                .map(|_| ())
                .map_err(meta_error_to_kafka)
        })
    }

    fn delete_records(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> BoxFuture<Result<i64, KafkaError>> {
        use crate::trim::TrimRefusal;
        let core = self.0.clone();
        let group = u32::try_from(partition)
            .ok()
            .and_then(|p| core.partition_group(topic, p));
        Box::pin(async move {
            let group = group.ok_or(KafkaError::from_code(UNKNOWN_TOPIC_OR_PARTITION))?;
            crate::trim::trim_local(&core, group, offset)
                .await
                .map(|start| start as i64)
                .map_err(|e| match e {
                    TrimRefusal::OutOfRange { .. } => KafkaError::from_code(OFFSET_OUT_OF_RANGE),
                    TrimRefusal::UnknownPartition(_) => {
                        KafkaError::from_code(UNKNOWN_TOPIC_OR_PARTITION)
                    }
                    TrimRefusal::NotLeader(_) => KafkaError::from_code(NOT_LEADER_OR_FOLLOWER),
                    TrimRefusal::Failed(e) => {
                        tracing::warn!(error = %e, "DeleteRecords trim failed");
                        KafkaError::from_code(REQUEST_TIMED_OUT)
                    }
                })
        })
    }

    fn elect_preferred_leaders(
        &self,
        partitions: Option<Vec<(String, i32)>>,
        timeout: Duration,
    ) -> BoxFuture<Vec<PartitionOutcome>> {
        use crate::leader_balance::{elect_preferred, ElectionError};
        let core = self.0.clone();
        Box::pin(async move {
            elect_preferred(&core, partitions, timeout)
                .await
                .into_iter()
                .map(|e| {
                    let result = e.result.map(|_| ()).map_err(|why| match why {
                        ElectionError::UnknownPartition => KafkaError::new(
                            UNKNOWN_TOPIC_OR_PARTITION,
                            format!("{}-{} does not exist", e.topic, e.partition),
                        ),
                        ElectionError::NotNeeded => KafkaError::new(
                            ELECTION_NOT_NEEDED,
                            "the preferred replica leads already",
                        ),
                        ElectionError::NotAvailable(why) => {
                            KafkaError::new(PREFERRED_LEADER_NOT_AVAILABLE, why)
                        }
                        ElectionError::Failed(why) => KafkaError::new(REQUEST_TIMED_OUT, why),
                    });
                    (e.topic, e.partition, result)
                })
                .collect()
        })
    }

    fn create_partitions(
        &self,
        name: &str,
        total: i32,
        assignment: Option<Vec<Vec<u64>>>,
        validate_only: bool,
    ) -> BoxFuture<Result<(), KafkaError>> {
        let core = self.0.clone();
        let name = name.to_string();
        Box::pin(async move {
            let total = u32::try_from(total).map_err(|_| {
                KafkaError::new(
                    INVALID_PARTITIONS,
                    format!("topic '{name}': partition count {total} must be positive"),
                )
            })?;
            let request = match assignment {
                Some(assignment) => ControllerRequest::CreatePartitionsAssigned {
                    name,
                    total,
                    assignment,
                    validate_only,
                },
                None => ControllerRequest::CreatePartitions {
                    name,
                    total,
                    validate_only,
                },
            };
            core.submit(request, ADMIN_TIMEOUT)
                .await
                .map(|_| ())
                .map_err(meta_error_to_kafka)
        })
    }

    fn alter_partition_reassignments(
        &self,
        moves: Vec<(String, i32, Option<Vec<i32>>)>,
        allow_replication_factor_change: bool,
    ) -> BoxFuture<Vec<PartitionOutcome>> {
        let core = self.0.clone();
        Box::pin(async move {
            let mut outcomes = Vec::with_capacity(moves.len());
            for (topic, partition, replicas) in moves {
                let result = reassign(
                    &core,
                    &topic,
                    partition,
                    replicas,
                    allow_replication_factor_change,
                )
                .await;
                outcomes.push((topic, partition, result));
            }
            outcomes
        })
    }

    fn partition_reassignments(&self) -> Vec<MovingPartition> {
        let ids = |v: Vec<u64>| v.into_iter().map(|b| b as i32).collect();
        self.0.meta().reader.read(|state| {
            state
                .moves()
                .into_iter()
                .map(|((topic, partition), (p, m))| {
                    let view = cairn_meta::reassign::move_view(&p.replicas, &m.target);
                    MovingPartition {
                        topic,
                        partition: partition as i32,
                        replicas: ids(view.replicas),
                        adding: ids(view.adding),
                        removing: ids(view.removing),
                    }
                })
                .collect()
        })
    }

    fn delete_topic(&self, name: &str) -> BoxFuture<Result<(), KafkaError>> {
        let core = self.0.clone();
        let name = name.to_string();
        Box::pin(async move {
            core.submit(ControllerRequest::DeleteTopic { name }, ADMIN_TIMEOUT)
                .await
                .map(|_| ())
                .map_err(meta_error_to_kafka)
        })
    }

    fn topic_configs(&self, name: &str) -> Option<Vec<ConfigEntry>> {
        kafka_configs::topic_configs(&self.0, name)
    }

    fn broker_configs(&self) -> Vec<ConfigEntry> {
        kafka_configs::broker_configs(&self.0)
    }

    fn init_producer_id(&self) -> BoxFuture<Result<(i64, i16), KafkaError>> {
        let core = self.0.clone();
        Box::pin(async move {
            let id = core.producer_ids().next(&core).await.map_err(|e| {
                KafkaError::new(
                    COORDINATOR_NOT_AVAILABLE,
                    format!("no producer id block: {}", e.message),
                )
            })?;
            Ok((id, 0))
        })
    }

    fn describe_producers(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Vec<ActiveProducer>, KafkaError> {
        let (handle, _) = self.caught_up_replica(topic, partition)?;
        let producers = handle
            .reader
            .producers()
            .map_err(|e| KafkaError::new(UNKNOWN_SERVER_ERROR, e.to_string()))?;
        let open = handle.reader.open_transactions();
        Ok(producers
            .iter()
            .map(|(id, p)| ActiveProducer {
                producer_id: id,
                epoch: p.epoch,
                last_sequence: p.last_sequence().unwrap_or(-1),
                last_timestamp: p.last_timestamp,
                current_txn_start_offset: open
                    .iter()
                    .find(|(pid, _)| *pid == id)
                    .map_or(-1, |(_, first)| *first as i64),
            })
            .collect())
    }

    fn max_message_bytes(&self, topic: &str) -> Option<usize> {
        // Asked on every produce: one key, not the topic's whole description.
        let defaults = self.0.topic_defaults();
        self.0
            .meta()
            .reader
            .read(|s| {
                let topic = s.topics.get(topic)?;
                effective_config("max.message.bytes", &topic.configs, &defaults)
            })?
            .parse()
            .ok()
    }

    fn produce(
        &self,
        topic: &str,
        partition: i32,
        batches: Vec<Bytes>,
        leader_only: bool,
    ) -> BoxFuture<Result<i64, KafkaError>> {
        let handle = match self.leader_replica(topic, partition) {
            Ok(handle) => handle,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let (reply, rx) = oneshot::channel();
        if handle
            .appender
            .send(Write::Append(Append {
                batches,
                leader_only,
                reply,
            }))
            .is_err()
        {
            return Box::pin(std::future::ready(Err(KafkaError::from_code(
                NOT_LEADER_OR_FOLLOWER,
            ))));
        }
        // A dropped reply means the outcome is unknown.
        Box::pin(async move {
            rx.await
                .unwrap_or(Err(REQUEST_TIMED_OUT))
                .map_err(KafkaError::from_code)
        })
    }

    fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
    ) -> Result<PartitionRead, KafkaError> {
        self.read_isolated(topic, partition, offset, max_bytes, false)
    }

    fn read_isolated(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
        committed: bool,
    ) -> Result<PartitionRead, KafkaError> {
        let (handle, _) = self.caught_up_replica(topic, partition)?;
        let reader = &handle.reader;
        let (start, hw) = (
            reader.log_start_offset() as i64,
            reader.high_watermark() as i64,
        );
        if offset < start || offset > hw {
            return Err(KafkaError::from_code(OFFSET_OUT_OF_RANGE));
        }
        let read = reader
            .read_isolated(offset as u64, max_bytes, committed)
            .map_err(|e| {
                tracing::error!(topic, partition, offset, error = %e, "fetch read failed");
                KafkaError::from_code(UNKNOWN_SERVER_ERROR)
            })?;
        Ok(PartitionRead {
            records: Bytes::from(read.bytes),
            high_watermark: read.high_watermark as i64,
            log_start_offset: start,
            last_stable_offset: read.last_stable_offset as i64,
            aborted: read
                .aborted
                .iter()
                .map(|a| (a.producer_id, a.first_offset as i64))
                .collect(),
        })
    }

    fn high_watermark_changes(&self, topic: &str, partition: i32) -> Option<watch::Receiver<u64>> {
        self.leader_replica(topic, partition)
            .ok()
            .map(|h| h.reader.high_watermark_changes())
    }

    fn list_offset(
        &self,
        topic: &str,
        partition: i32,
        timestamp: i64,
    ) -> Result<(i64, i64), KafkaError> {
        self.list_offset_isolated(topic, partition, timestamp, false)
    }

    fn list_offset_isolated(
        &self,
        topic: &str,
        partition: i32,
        timestamp: i64,
        committed: bool,
    ) -> Result<(i64, i64), KafkaError> {
        let (handle, _) = self.caught_up_replica(topic, partition)?;
        let reader = &handle.reader;
        match timestamp {
            -2 => Ok((-1, reader.log_start_offset() as i64)),
            // -1 latest (the last stable offset for read_committed); -3
            // (max timestamp) is answered as latest too.
            -1 | -3 if committed => Ok((-1, reader.last_stable_offset() as i64)),
            -1 | -3 => Ok((-1, reader.high_watermark() as i64)),
            ts => match reader.offset_for_timestamp(ts) {
                Ok(Some((offset, found_ts))) => Ok((found_ts, offset as i64)),
                Ok(None) => Ok((-1, -1)),
                Err(e) => {
                    tracing::error!(topic, partition, error = %e, "offset lookup failed");
                    Err(KafkaError::from_code(UNKNOWN_SERVER_ERROR))
                }
            },
        }
    }

    fn broker_id(&self) -> i32 {
        self.0.config().id as i32
    }

    fn leader_epoch(&self, topic: &str, partition: i32) -> Result<i32, KafkaError> {
        self.leader_replica_in_term(topic, partition)
            .map(|(_, term, _)| epoch(term))
    }

    fn end_offset_for_epoch(
        &self,
        topic: &str,
        partition: i32,
        requested: i32,
    ) -> Result<(i32, i64), KafkaError> {
        let (handle, term) = self.caught_up_replica(topic, partition)?;
        let Ok(requested) = u64::try_from(requested) else {
            return Ok((-1, -1));
        };
        match handle.reader.epoch_end(requested, term) {
            Ok(Some((found, end))) => Ok((epoch(found), end as i64)),
            Ok(None) => Ok((-1, -1)),
            Err(e) => {
                tracing::error!(topic, partition, error = %e, "leader epoch lookup failed");
                Err(KafkaError::new(UNKNOWN_SERVER_ERROR, e.to_string()))
            }
        }
    }

    fn leaders_settled(&self, topics: Option<Vec<String>>) -> BoxFuture<()> {
        Box::pin(crate::kafka_metadata::leaders_settled(
            self.0.clone(),
            topics,
        ))
    }

    fn topic_name(&self, id: u128) -> Option<String> {
        self.0.meta().reader.read(|state| {
            state
                .topics
                .values()
                .find(|t| t.id == id)
                .map(|t| t.name.clone())
        })
    }

    fn metadata(&self) -> ClusterMetadata {
        crate::kafka_metadata::cluster_metadata(&self.0)
    }
}
