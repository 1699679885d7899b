//! Transactions on the broker (KIP-98). The transaction coordinator of a
//! transactional id is the leader of the [`TXN_STATE_TOPIC`] partition the
//! id hashes to; those partitions are coordinator groups like
//! `__consumer_offsets`' (see [`crate::offsets`]): Raft groups whose state
//! machine holds a `cairn_coordinator::txn::TransactionCoordinator`, so
//! every replica knows every transaction and a new leader finishes what the
//! old one decided. Requests reach the coordinator here ([`request`]); the
//! markers its commits and aborts call for are written by [`markers`].

pub mod markers;

use std::sync::Arc;

use cairn_coordinator::txn::{TxnAnswer, TxnEvent, TxnMetadata};
use cairn_kafka::KafkaError;

use crate::group_coordinators::{local_coordinator_of, CoordinatorKind};
use crate::shared::Core;

pub use crate::offsets::TXN_STATE_TOPIC;

/// Carries `event` to this broker's coordinator of `transactional_id`.
/// Errors: NOT_COORDINATOR unless this broker leads the id's partition,
/// COORDINATOR_LOAD_IN_PROGRESS while it catches up.
pub async fn request(
    core: &Arc<Core>,
    transactional_id: &str,
    event: TxnEvent,
) -> Result<TxnAnswer, KafkaError> {
    let handle = local_coordinator_of(core, CoordinatorKind::Txn, transactional_id)?;
    handle.host.txn_request(event).await
}

/// The state of `transactional_id` at this broker's coordinator of it.
pub fn describe(core: &Core, transactional_id: &str) -> Result<Option<TxnMetadata>, KafkaError> {
    let handle = local_coordinator_of(core, CoordinatorKind::Txn, transactional_id)?;
    handle.host.ready()?;
    Ok(handle
        .reader
        .read(|m| m.1.describe(transactional_id).cloned()))
}

/// Every transactional id of the coordinator partitions this broker leads.
pub fn list(core: &Core) -> Vec<(String, TxnMetadata)> {
    core.partitions()
        .offsets
        .all()
        .into_iter()
        .filter(|(_, _, handle)| handle.host.ready().is_ok())
        .flat_map(|(_, _, handle)| {
            handle.reader.read(|m| {
                m.1.list()
                    .map(|(id, meta)| (id.clone(), meta.clone()))
                    .collect::<Vec<_>>()
            })
        })
        .collect()
}
