//! Request dispatch: decodes the header, checks the version against the
//! supported table ([`api_versions::SUPPORTED`]) and routes by API key to one
//! module per API. Anything the broker cannot answer (an unknown API key, a
//! version outside the supported range of an API other than ApiVersions, an
//! undecodable header) closes the connection, as Kafka brokers do.
//!
//! This module only routes: what the handlers share (decoding, encoding,
//! [`Outcome`]) lives in [`respond`], and the API modules point down at it.

pub mod acls;
pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod alter_configs;
pub mod alter_partition_reassignments;
pub mod alter_replica_log_dirs;
pub mod api_versions;
pub mod config_resources;
pub mod consumer_group_describe;
pub mod consumer_group_heartbeat;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod describe_producers;
pub mod describe_quorum;
pub mod describe_topic_partitions;
pub mod describe_transactions;
pub mod elect_leaders;
pub mod end_txn;
pub mod fetch;
pub mod find_coordinator;
pub mod groups;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leader_epoch;
pub mod leader_hint;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod list_partition_reassignments;
pub mod list_transactions;
pub mod metadata;
pub mod offset_commit;
pub mod offset_commit_legacy;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod respond;
pub mod response_errors;
pub mod sync_group;
pub mod txn;
pub mod txn_offset_commit;
pub mod write_txn_markers;

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::Decodable;

use crate::client::Client;
use crate::cluster::KafkaCluster;

pub use api_versions::{supported_versions, SUPPORTED};
pub use respond::{Outcome, Pending};

/// The name of the API with key `raw_key` (`Produce`), for metric labels;
/// `unknown` for a key the protocol does not define.
pub fn api_name(raw_key: i16) -> &'static str {
    /// Above every key Kafka defines today.
    const KEYS: i16 = 256;
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        (0..KEYS)
            .map(|k| match ApiKey::try_from(k) {
                Ok(key) => &*Box::leak(format!("{key:?}").into_boxed_str()),
                Err(_) => "unknown",
            })
            .collect()
    });
    usize::try_from(raw_key)
        .ok()
        .and_then(|i| names.get(i).copied())
        .unwrap_or("unknown")
}

/// Handles one request frame body (without its size prefix) from `client`.
pub fn handle_request(frame: Bytes, cluster: &Arc<dyn KafkaCluster>, client: &Client) -> Pending {
    match route(frame, cluster, client) {
        Ok(pending) => pending,
        Err(outcome) => respond::ready(outcome),
    }
}

fn route(
    frame: Bytes,
    cluster: &Arc<dyn KafkaCluster>,
    client: &Client,
) -> Result<Pending, Outcome> {
    if frame.len() < crate::codec::MIN_REQUEST {
        return Err(Outcome::Close(format!(
            "request of {} bytes is too short",
            frame.len()
        )));
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let Ok(api_key) = ApiKey::try_from(raw_key) else {
        return Err(Outcome::Close(format!("unknown API key {raw_key}")));
    };
    if api_key == ApiKey::ApiVersions && !(0..=api_versions::MAX_VERSION).contains(&version) {
        // A newer client's header may not parse at this version; the
        // correlation id is at a fixed place, and that is all the answer needs.
        let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
        return Err(api_versions::unsupported(correlation_id));
    }
    let mut body = frame;
    let header = RequestHeader::decode(&mut body, api_key.request_header_version(version))
        .map_err(|e| {
            Outcome::Close(format!(
                "malformed {api_key:?} v{version} request header: {e}"
            ))
        })?;
    crate::guard::check(api_key, version, &body)
        .map_err(|e| Outcome::Close(format!("malformed {api_key:?} v{version} request: {e}")))?;
    if api_key == ApiKey::ApiVersions {
        return Ok(api_versions::handle_api_versions(&header, &mut body));
    }
    match supported_versions(api_key) {
        Some((min, max)) if (min..=max).contains(&version) => {}
        Some((min, max)) => {
            return Err(Outcome::Close(format!(
                "{api_key:?} v{version} is not supported (supported: v{min}-v{max})"
            )));
        }
        None => {
            return Err(Outcome::Close(format!(
                "{api_key:?} is not supported by this broker"
            )))
        }
    }
    let (header, body) = (&header, &mut body);
    Ok(match api_key {
        ApiKey::Produce => produce::handle_produce(header, body, cluster),
        ApiKey::Fetch => fetch::handle_fetch(header, body, cluster),
        ApiKey::ListOffsets => list_offsets::handle_list_offsets(header, body, cluster),
        ApiKey::Metadata => metadata::handle_metadata(header, body, cluster),
        ApiKey::CreateTopics => create_topics::handle_create_topics(header, body, cluster),
        ApiKey::DeleteTopics => delete_topics::handle_delete_topics(header, body, cluster),
        ApiKey::DescribeConfigs => describe_configs::handle_describe_configs(header, body, cluster),
        ApiKey::DescribeQuorum => describe_quorum::handle_describe_quorum(header, body, cluster),
        ApiKey::ElectLeaders => elect_leaders::handle_elect_leaders(header, body, cluster),
        ApiKey::AlterPartitionReassignments => {
            alter_partition_reassignments::handle_alter_partition_reassignments(
                header, body, cluster,
            )
        }
        ApiKey::ListPartitionReassignments => {
            list_partition_reassignments::handle_list_partition_reassignments(header, body, cluster)
        }
        ApiKey::OffsetForLeaderEpoch => {
            offset_for_leader_epoch::handle_offset_for_leader_epoch(header, body, cluster)
        }
        ApiKey::AlterReplicaLogDirs => {
            alter_replica_log_dirs::handle_alter_replica_log_dirs(header, body, cluster)
        }
        ApiKey::DescribeTopicPartitions => {
            describe_topic_partitions::handle_describe_topic_partitions(header, body, cluster)
        }
        ApiKey::DescribeCluster => describe_cluster::handle_describe_cluster(header, body, cluster),
        ApiKey::CreatePartitions => {
            create_partitions::handle_create_partitions(header, body, cluster)
        }
        ApiKey::DeleteRecords => delete_records::handle_delete_records(header, body, cluster),
        ApiKey::AlterConfigs => alter_configs::handle_alter_configs(header, body, cluster),
        ApiKey::IncrementalAlterConfigs => {
            incremental_alter_configs::handle_incremental_alter_configs(header, body, cluster)
        }
        ApiKey::FindCoordinator => find_coordinator::handle_find_coordinator(header, body, cluster),
        ApiKey::JoinGroup => join_group::handle_join_group(header, body, cluster, client),
        ApiKey::SyncGroup => sync_group::handle_sync_group(header, body, cluster),
        ApiKey::Heartbeat => heartbeat::handle_heartbeat(header, body, cluster),
        ApiKey::LeaveGroup => leave_group::handle_leave_group(header, body, cluster),
        ApiKey::OffsetCommit => offset_commit::handle_offset_commit(header, body, cluster),
        ApiKey::OffsetFetch => offset_fetch::handle_offset_fetch(header, body, cluster),
        ApiKey::ListGroups => list_groups::handle_list_groups(header, body, cluster),
        ApiKey::DescribeGroups => describe_groups::handle_describe_groups(header, body, cluster),
        ApiKey::DeleteGroups => delete_groups::handle_delete_groups(header, body, cluster),
        ApiKey::OffsetDelete => offset_delete::handle_offset_delete(header, body, cluster),
        ApiKey::ConsumerGroupHeartbeat => {
            consumer_group_heartbeat::handle_consumer_group_heartbeat(header, body, cluster, client)
        }
        ApiKey::ConsumerGroupDescribe => {
            consumer_group_describe::handle_consumer_group_describe(header, body, cluster)
        }
        ApiKey::InitProducerId => init_producer_id::handle_init_producer_id(header, body, cluster),
        ApiKey::AddPartitionsToTxn => {
            add_partitions_to_txn::handle_add_partitions_to_txn(header, body, cluster)
        }
        ApiKey::AddOffsetsToTxn => {
            add_offsets_to_txn::handle_add_offsets_to_txn(header, body, cluster)
        }
        ApiKey::EndTxn => end_txn::handle_end_txn(header, body, cluster),
        ApiKey::TxnOffsetCommit => {
            txn_offset_commit::handle_txn_offset_commit(header, body, cluster)
        }
        ApiKey::DescribeTransactions => {
            describe_transactions::handle_describe_transactions(header, body, cluster)
        }
        ApiKey::ListTransactions => {
            list_transactions::handle_list_transactions(header, body, cluster)
        }
        ApiKey::WriteTxnMarkers => write_txn_markers::handle_write_txn_markers(header, body),
        ApiKey::DescribeProducers => {
            describe_producers::handle_describe_producers(header, body, cluster)
        }
        ApiKey::DescribeAcls => acls::handle_describe_acls(header, body),
        ApiKey::CreateAcls => acls::handle_create_acls(header, body),
        ApiKey::DeleteAcls => acls::handle_delete_acls(header, body),
        ApiKey::DescribeLogDirs => {
            describe_log_dirs::handle_describe_log_dirs(header, body, cluster)
        }
        other => {
            return Err(Outcome::Close(format!(
                "{other:?} is not supported by this broker"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_names_are_the_protocol_names() {
        assert_eq!(super::api_name(0), "Produce");
        assert_eq!(super::api_name(1), "Fetch");
        assert_eq!(super::api_name(18), "ApiVersions");
        assert_eq!(super::api_name(-1), "unknown");
        assert_eq!(super::api_name(9999), "unknown");
    }
}
