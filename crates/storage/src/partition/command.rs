//! What a partition's Raft log carries: the commands a leader proposes and
//! what applying each one answers.
//!
//! Both are bincode-encoded inside openraft's log entries (commands) and
//! responses; their shape is part of the on-disk format and must not change.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// A command replicated through a partition's Raft log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionRequest {
    /// Appends validated record batches (v2), in order.
    Append {
        /// The batches, as the producers sent them.
        batches: Vec<ByteBuf>,
    },
    /// Moves the log start offset forward to this offset (never back, never
    /// past the high watermark); records below it are deleted.
    Trim {
        /// The new first kept offset.
        log_start_offset: u64,
    },
    /// Forgets the idempotent producers whose last batch's timestamp is
    /// before this time (the leader decides it from its clock and
    /// `producer_id_expiration_ms`; every replica then drops the same ones).
    /// New variants go last: the variant index is on disk.
    ExpireProducers {
        /// Milliseconds since the epoch.
        last_seen_before_ms: i64,
    },
    /// Ends a producer's transaction in this partition: `batch` is the
    /// commit or abort marker (a control batch, `cairn_common::txn_marker`)
    /// the transaction coordinator decided. `txn_seq` numbers the
    /// producer's transactions (it grows with each one the coordinator
    /// begins): a marker whose number is not above the last one applied for
    /// the producer is a late duplicate and changes nothing, so a delayed
    /// retry can never end a later transaction.
    TxnMarker {
        /// The marker batch.
        batch: ByteBuf,
        /// The coordinator's number of the transaction it ends.
        txn_seq: u64,
    },
}

/// What applying a [`PartitionRequest`] produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionResponse {
    /// Nothing to report (blank and membership entries).
    #[default]
    None,
    /// The base offset given to each appended batch, in order.
    Appended {
        /// One per batch; for a duplicate of an idempotent producer's batch,
        /// the offset it got when first written.
        base_offsets: Vec<u64>,
        /// The batches refused (by position in the entry) with their Kafka
        /// error code; they were not written.
        rejected: Vec<(u32, i16)>,
    },
    /// The log start offset after a trim.
    Trimmed {
        /// The first kept offset.
        log_start_offset: u64,
    },
    /// The producer ids an `ExpireProducers` forgot.
    ProducersExpired {
        /// In id order.
        producers: Vec<i64>,
    },
    /// What a `TxnMarker` did.
    Marker {
        /// The marker's offset; `None` for a duplicate (nothing written).
        offset: Option<u64>,
        /// The Kafka error refusing it (it was not written), or 0.
        error: i16,
    },
}
