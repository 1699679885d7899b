//! Every Kafka protocol error code Cairn sends, in one place: the data-plane
//! and admin codes the Kafka adapter answers with and the group and offset
//! codes of the coordinator. Plain `i16`, the type of every `error_code`
//! field on the wire; `cairn_kafka::error_code` re-exports them and checks
//! each against `kafka-protocol`'s table, so a number here cannot drift from
//! the protocol.

/// The server hit an unexpected error.
pub const UNKNOWN_SERVER_ERROR: i16 = -1;
/// No error.
pub const NONE: i16 = 0;
/// The fetch offset is outside the partition's range.
pub const OFFSET_OUT_OF_RANGE: i16 = 1;
/// A record batch failed its CRC or is malformed.
pub const CORRUPT_MESSAGE: i16 = 2;
/// The topic or partition does not exist on this cluster.
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
/// No leader is known for the partition right now (retriable).
pub const LEADER_NOT_AVAILABLE: i16 = 5;
/// This broker does not lead the partition.
pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
/// The request did not complete within its timeout.
pub const REQUEST_TIMED_OUT: i16 = 7;
/// A record batch is larger than `max.message.bytes`.
pub const MESSAGE_TOO_LARGE: i16 = 10;
/// The metadata string of an offset commit is longer than `offset.metadata.max.bytes`.
pub const OFFSET_METADATA_TOO_LARGE: i16 = 12;
/// The metadata group cannot answer right now (retriable): Cairn's answer
/// when the controller is unavailable.
pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
/// The topic name breaks Kafka's naming rules.
pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
/// `acks` is not -1, 0 or 1.
pub const INVALID_REQUIRED_ACKS: i16 = 21;
/// The request's generation is not the group's current one.
pub const ILLEGAL_GENERATION: i16 = 22;
/// The member's protocol type or protocols do not match the group's.
pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
/// The group id is empty.
pub const INVALID_GROUP_ID: i16 = 24;
/// The coordinator does not know this member.
pub const UNKNOWN_MEMBER_ID: i16 = 25;
/// The session timeout is outside the broker's bounds.
pub const INVALID_SESSION_TIMEOUT: i16 = 26;
/// The group is rebalancing; the member must rejoin.
pub const REBALANCE_IN_PROGRESS: i16 = 27;
/// The version of the API is not supported.
pub const UNSUPPORTED_VERSION: i16 = 35;
/// A topic of that name exists already.
pub const TOPIC_ALREADY_EXISTS: i16 = 36;
/// The partition count is below 1 or cannot be reached (a topic never shrinks).
pub const INVALID_PARTITIONS: i16 = 37;
/// The replication factor is below 1 or above the number of live brokers.
pub const INVALID_REPLICATION_FACTOR: i16 = 38;
/// Manual replica assignment is not supported.
pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
/// A config key or value is not accepted.
pub const INVALID_CONFIG: i16 = 40;
/// The request reached a broker that is not the controller (retriable).
pub const NOT_CONTROLLER: i16 = 41;
/// The request is malformed in a way the decoder accepts (a null config
/// value, an unsupported resource type or config operation).
pub const INVALID_REQUEST: i16 = 42;
/// The batch's sequence number does not follow the producer's last one.
pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
/// The batch's producer epoch is older than the producer's current one (it
/// was fenced by a newer instance with the same producer id).
pub const INVALID_PRODUCER_EPOCH: i16 = 47;
/// The request is not allowed in the transaction's current state (EndTxn
/// without a transaction, commit after abort).
pub const INVALID_TXN_STATE: i16 = 48;
/// The producer id does not belong to the transactional id, or the
/// transactional id is unknown.
pub const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
/// The transaction timeout is larger than `transaction.max.timeout.ms` (or
/// not positive).
pub const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
/// The transaction is completing; retry (retriable).
pub const CONCURRENT_TRANSACTIONS: i16 = 51;
/// Not attempted because another part of the same request failed
/// (AddPartitionsToTxn with an unknown partition).
pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
/// The client may not do this to the cluster (WriteTxnMarkers from a
/// client: only transaction coordinators write markers).
pub const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
/// OffsetFetch with `require_stable`: a transaction holds an offset of
/// this partition until its marker arrives; retry (retriable).
pub const UNSTABLE_OFFSET_COMMIT: i16 = 88;
/// DescribeTransactions of a transactional id the coordinator does not know.
pub const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;
/// A newer producer with the same transactional id has been initialised
/// (or the transaction was aborted on timeout): this one is a zombie.
pub const PRODUCER_FENCED: i16 = 90;
/// The partition has no state for this producer id, and the batch does not
/// start a new producer (its sequence is not 0).
pub const UNKNOWN_PRODUCER_ID: i16 = 59;
/// Kafka's "log directory not found". Cairn sends it when a replica
/// assignment names a broker that is not registered.
pub const LOG_DIR_NOT_FOUND: i16 = 57;
/// Delete refused: the group still has members.
pub const NON_EMPTY_GROUP: i16 = 68;
/// The group does not exist.
pub const GROUP_ID_NOT_FOUND: i16 = 69;
/// The member must rejoin with the member id given in the response (JoinGroup v4+).
pub const MEMBER_ID_REQUIRED: i16 = 79;
/// The preferred replica cannot lead now: it is not live or not in sync
/// (ElectLeaders).
pub const PREFERRED_LEADER_NOT_AVAILABLE: i16 = 80;
/// No replica may lead: an unclean election was asked for a partition
/// without a leader, which Raft cannot do without losing data (ElectLeaders).
pub const ELIGIBLE_LEADERS_NOT_AVAILABLE: i16 = 83;
/// The partition is led by the replica the election would choose (ElectLeaders).
pub const ELECTION_NOT_NEEDED: i16 = 84;
/// A reassignment cancel for a partition that is not moving.
pub const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;
/// The group already holds `group.max.size` members.
pub const GROUP_MAX_SIZE_REACHED: i16 = 81;
/// Another member now owns this `group.instance.id`.
pub const FENCED_INSTANCE_ID: i16 = 82;
/// OffsetDelete refused: the group is subscribed to the topic.
pub const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;
/// The broker has no authorizer: ACL requests are not served.
pub const SECURITY_DISABLED: i16 = 54;
/// The record batch is invalid (count, codec, magic).
pub const INVALID_RECORD: i16 = 87;
/// No topic has this topic id (Metadata and ConsumerGroupHeartbeat name topics by id).
pub const UNKNOWN_TOPIC_ID: i16 = 100;
/// The member's epoch is not the coordinator's: it must give up its
/// partitions and rejoin with epoch 0 (KIP-848).
pub const FENCED_MEMBER_EPOCH: i16 = 110;
/// Another member still holds this `group.instance.id`; it must leave first (KIP-848).
pub const UNRELEASED_INSTANCE_ID: i16 = 111;
/// The server-side assignor the member asked for does not exist (KIP-848).
pub const UNSUPPORTED_ASSIGNOR: i16 = 112;
/// An offset commit or fetch carried a member epoch that is not the member's
/// current one; retry with the epoch of the next heartbeat (KIP-848).
pub const STALE_MEMBER_EPOCH: i16 = 113;
/// The request's current leader epoch is older than the leader's: the
/// client's metadata is stale (KIP-320).
pub const FENCED_LEADER_EPOCH: i16 = 74;
/// The request's current leader epoch is newer than this leader's: this
/// broker has not learned of a later leader yet, or the client is ahead.
pub const UNKNOWN_LEADER_EPOCH: i16 = 75;
/// DescribeCluster asked a broker for the controllers' endpoints (KIP-919);
/// Cairn's brokers answer only for brokers.
pub const UNSUPPORTED_ENDPOINT_TYPE: i16 = 115;
/// A subscribed regular expression does not compile (ConsumerGroupHeartbeat v1).
pub const INVALID_REGULAR_EXPRESSION: i16 = 128;

/// The coordinator of the group is still loading its state (retriable).
pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
/// This broker is not the coordinator of the group (find it again).
pub const NOT_COORDINATOR: i16 = 16;
