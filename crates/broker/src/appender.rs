//! The write path of one partition: produce requests for a partition queue up
//! here, and the appender turns everything that queued while the previous
//! proposal was being submitted into one Raft entry (several client batches per
//! entry). Proposals are submitted in queue order, so requests keep their
//! order, and many proposals are in flight at once (replication pipelines).

use bytes::Bytes;
use openraft::error::ClientWriteError;
use openraft::Raft;
use serde_bytes::ByteBuf;
use tokio::sync::{mpsc, oneshot};

use cairn_kafka::error_code::{NOT_LEADER_OR_FOLLOWER, UNKNOWN_SERVER_ERROR};
use cairn_raft::PartitionTypeConfig;
use cairn_storage::{GroupId, PartitionRequest, PartitionResponse};

/// Most bytes of client batches merged into one Raft entry (a single larger
/// batch still makes one entry). Kept small so that an AppendEntries of
/// `RaftTiming::PARTITION.max_payload_entries` entries stays a few MiB.
const MAX_ENTRY_BYTES: usize = 256 << 10;

/// One produce request's batches for this partition.
pub struct Append {
    /// Validated batches, in order.
    pub batches: Vec<Bytes>,
    /// Gets the base offset of the first batch, or a Kafka error code.
    pub reply: oneshot::Sender<Result<i64, i16>>,
}

/// Starts the appender of `group`; it stops when every sender is dropped.
pub fn spawn(group: GroupId, raft: Raft<PartitionTypeConfig>) -> mpsc::UnboundedSender<Append> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(group, raft, rx));
    tx
}

async fn run(
    group: GroupId,
    raft: Raft<PartitionTypeConfig>,
    mut rx: mpsc::UnboundedReceiver<Append>,
) {
    while let Some(first) = rx.recv().await {
        let mut size: usize = first.batches.iter().map(Bytes::len).sum();
        let mut appends = vec![first];
        while size < MAX_ENTRY_BYTES {
            match rx.try_recv() {
                Ok(next) => {
                    size += next.batches.iter().map(Bytes::len).sum::<usize>();
                    appends.push(next);
                }
                Err(_) => break,
            }
        }
        let batches = appends
            .iter()
            .flat_map(|a| a.batches.iter().map(|b| ByteBuf::from(b.to_vec())))
            .collect();
        match raft
            .client_write_ff(PartitionRequest::Append { batches })
            .await
        {
            Ok(committed) => {
                tokio::spawn(async move {
                    let result = match committed.await {
                        Ok(Ok(written)) => match written.data {
                            PartitionResponse::Appended { base_offsets } => Ok(base_offsets),
                            PartitionResponse::None => Err(UNKNOWN_SERVER_ERROR),
                        },
                        Ok(Err(ClientWriteError::ForwardToLeader(_))) => {
                            Err(NOT_LEADER_OR_FOLLOWER)
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(group, error = %e, "partition write failed");
                            Err(UNKNOWN_SERVER_ERROR)
                        }
                        // The group stopped or lost leadership before answering.
                        Err(_) => Err(NOT_LEADER_OR_FOLLOWER),
                    };
                    reply_all(appends, result);
                });
            }
            Err(fatal) => {
                tracing::warn!(group, error = %fatal, "partition group is stopped");
                reply_all(appends, Err(NOT_LEADER_OR_FOLLOWER));
            }
        }
    }
}

/// Gives each request the base offset of its first batch.
fn reply_all(appends: Vec<Append>, result: Result<Vec<u64>, i16>) {
    let mut next = 0usize;
    for append in appends {
        let reply = match &result {
            Ok(offsets) => offsets
                .get(next)
                .map(|&o| o as i64)
                .ok_or(UNKNOWN_SERVER_ERROR),
            Err(code) => Err(*code),
        };
        next += append.batches.len();
        let _ = append.reply.send(reply);
    }
}
