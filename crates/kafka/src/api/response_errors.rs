//! The error codes a response carries, wherever it carries them (the whole
//! response, each topic, partition, group, member or resource), so that
//! every answered error is counted in `cairn_kafka_errors_total` by API and
//! error, once, as the response is encoded ([`super::respond`]).
//!
//! Produce and Fetch count their partitions' errors where they decide them
//! (with the leader hints they add), so their impls here count nothing.

use kafka_protocol::messages::*;

/// A response's error codes, `NONE` (0) included; the caller skips those.
pub trait ResponseErrors {
    /// Appends every error code of this response to `out`.
    fn error_codes(&self, out: &mut Vec<i16>) {
        let _ = out;
    }
}

/// Produce and Fetch (see the module doc).
macro_rules! counted_elsewhere_or_none {
    ($($t:ty),* $(,)?) => {
        $(impl ResponseErrors for $t {})*
    };
}

counted_elsewhere_or_none!(ProduceResponse, FetchResponse);

/// Responses whose error codes sit at fixed paths: `top F` a code of the
/// response, `each L.F` one in every element of list `L`, and `nested
/// L.I.F` one in every element of every element's list `I`.
macro_rules! error_paths {
    ($t:ty { $($path:tt)* }) => {
        impl ResponseErrors for $t {
            fn error_codes(&self, out: &mut Vec<i16>) {
                collect_codes!(self, out, $($path)*);
            }
        }
    };
}

macro_rules! collect_codes {
    ($s:ident, $out:ident,) => {};
    ($s:ident, $out:ident, top $f:ident; $($rest:tt)*) => {
        $out.push($s.$f);
        collect_codes!($s, $out, $($rest)*);
    };
    ($s:ident, $out:ident, each $l:ident . $f:ident; $($rest:tt)*) => {
        $out.extend($s.$l.iter().map(|x| x.$f));
        collect_codes!($s, $out, $($rest)*);
    };
    ($s:ident, $out:ident, nested $l:ident . $i:ident . $f:ident; $($rest:tt)*) => {
        $out.extend($s.$l.iter().flat_map(|x| x.$i.iter().map(|y| y.$f)));
        collect_codes!($s, $out, $($rest)*);
    };
}

error_paths!(ApiVersionsResponse { top error_code; });
error_paths!(MetadataResponse { each topics.error_code; nested topics.partitions.error_code; });
error_paths!(ListOffsetsResponse { nested topics.partitions.error_code; });
error_paths!(OffsetCommitResponse { nested topics.partitions.error_code; });
error_paths!(FindCoordinatorResponse { top error_code; each coordinators.error_code; });
error_paths!(JoinGroupResponse { top error_code; });
error_paths!(SyncGroupResponse { top error_code; });
error_paths!(HeartbeatResponse { top error_code; });
error_paths!(LeaveGroupResponse { top error_code; each members.error_code; });
error_paths!(ListGroupsResponse { top error_code; });
error_paths!(DescribeGroupsResponse { each groups.error_code; });
error_paths!(DeleteGroupsResponse { each results.error_code; });
error_paths!(InitProducerIdResponse { top error_code; });
error_paths!(CreateTopicsResponse { each topics.error_code; });
error_paths!(DeleteTopicsResponse { each responses.error_code; });
error_paths!(CreatePartitionsResponse { each results.error_code; });
error_paths!(DeleteRecordsResponse { nested topics.partitions.error_code; });
error_paths!(OffsetForLeaderEpochResponse { nested topics.partitions.error_code; });
error_paths!(DescribeConfigsResponse { each results.error_code; });
error_paths!(AlterConfigsResponse { each responses.error_code; });
error_paths!(IncrementalAlterConfigsResponse { each responses.error_code; });
error_paths!(OffsetDeleteResponse { top error_code; nested topics.partitions.error_code; });
error_paths!(ElectLeadersResponse { top error_code; nested replica_election_results.partition_result.error_code; });
error_paths!(DescribeLogDirsResponse { top error_code; each results.error_code; });
error_paths!(DescribeProducersResponse { nested topics.partitions.error_code; });
error_paths!(DescribeQuorumResponse { top error_code; nested topics.partitions.error_code; });
error_paths!(AlterPartitionReassignmentsResponse { top error_code; nested responses.partitions.error_code; });
error_paths!(ListPartitionReassignmentsResponse { top error_code; });
error_paths!(AlterReplicaLogDirsResponse { nested results.partitions.error_code; });
error_paths!(DescribeTopicPartitionsResponse { each topics.error_code; nested topics.partitions.error_code; });
error_paths!(ConsumerGroupDescribeResponse { each groups.error_code; });
error_paths!(ConsumerGroupHeartbeatResponse { top error_code; });
error_paths!(DescribeClusterResponse { top error_code; });
error_paths!(DescribeAclsResponse { top error_code; });
error_paths!(CreateAclsResponse { each results.error_code; });
error_paths!(AddOffsetsToTxnResponse { top error_code; });
error_paths!(EndTxnResponse { top error_code; });
error_paths!(TxnOffsetCommitResponse { nested topics.partitions.error_code; });
error_paths!(DescribeTransactionsResponse { each transaction_states.error_code; });
error_paths!(ListTransactionsResponse { top error_code; });
error_paths!(DeleteAclsResponse { each filter_results.error_code; });

/// AddPartitionsToTxn has codes at the top, and per partition in two shapes
/// (one transaction before v4, many after).
impl ResponseErrors for AddPartitionsToTxnResponse {
    fn error_codes(&self, out: &mut Vec<i16>) {
        out.push(self.error_code);
        let partitions =
            |topics: &[add_partitions_to_txn_response::AddPartitionsToTxnTopicResult],
             out: &mut Vec<i16>| {
                out.extend(topics.iter().flat_map(|t| {
                    t.results_by_partition
                        .iter()
                        .map(|p| p.partition_error_code)
                }));
            };
        partitions(&self.results_by_topic_v3_and_below, out);
        for txn in &self.results_by_transaction {
            partitions(&txn.topic_results, out);
        }
    }
}

/// WriteTxnMarkers has its codes per marker, topic and partition.
impl ResponseErrors for WriteTxnMarkersResponse {
    fn error_codes(&self, out: &mut Vec<i16>) {
        out.extend(self.markers.iter().flat_map(|m| {
            m.topics
                .iter()
                .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
        }));
    }
}

/// OffsetFetch has codes at three levels, and its partitions in two shapes
/// (one group before v8, many after).
impl ResponseErrors for OffsetFetchResponse {
    fn error_codes(&self, out: &mut Vec<i16>) {
        out.push(self.error_code);
        out.extend(
            self.topics
                .iter()
                .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
        );
        for g in &self.groups {
            out.push(g.error_code);
            out.extend(
                g.topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::metadata_response::{
        MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::messages::offset_fetch_response::{
        OffsetFetchResponseGroup, OffsetFetchResponsePartitions, OffsetFetchResponseTopics,
    };

    fn codes(r: &impl ResponseErrors) -> Vec<i16> {
        let mut out = Vec::new();
        r.error_codes(&mut out);
        out
    }

    #[test]
    fn topic_and_partition_codes_are_all_collected() {
        let r = MetadataResponse::default().with_topics(vec![MetadataResponseTopic::default()
            .with_error_code(3)
            .with_partitions(vec![
                MetadataResponsePartition::default().with_error_code(0),
                MetadataResponsePartition::default().with_error_code(5),
            ])]);
        assert_eq!(codes(&r), [3, 0, 5]);
    }

    #[test]
    fn offset_fetch_codes_come_from_every_level() {
        let r = OffsetFetchResponse::default()
            .with_error_code(0)
            .with_groups(vec![OffsetFetchResponseGroup::default()
                .with_error_code(16)
                .with_topics(vec![OffsetFetchResponseTopics::default()
                    .with_partitions(vec![
                        OffsetFetchResponsePartitions::default().with_error_code(3),
                    ])])]);
        assert_eq!(codes(&r), [0, 16, 3]);
    }

    #[test]
    fn produce_and_fetch_count_their_own() {
        assert!(codes(&ProduceResponse::default()).is_empty());
        assert!(codes(&FetchResponse::default()).is_empty());
    }
}
