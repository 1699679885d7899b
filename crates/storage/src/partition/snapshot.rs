//! A partition's snapshots, which carry its small state, never its records.
//!
//! The snapshot is cut not at the last applied entry but just *before the
//! first entry still holding kept records*: everything it covers is deleted
//! data, so openraft may purge those entries, and a follower that installs it
//! receives every kept record as ordinary log entries afterwards.
//! [`snapshot_point`] decides where that is (pure); [`PartitionSnapshotBuilder`]
//! reads its inputs and stores the result in the group's snapshot slot, the
//! one every kind of group uses (`crate::snapshot`).
//!
//! The snapshot's bytes are a bincode [`PartitionState`] at that point (with
//! `bytes` 0): a format existing data dirs hold, which must not change;
//! followed, when any idempotent producer is known there, by the bincode
//! [`Producers`] at that point, and when any transaction is known there, by
//! the bincode [`TxnIndex`] ([`encode`], [`decode`]).
//!
//! The producers' state at the point is not the applied one (the point lies
//! behind the last applied entry), so the builder replays the log from the
//! previous snapshot to the point through the same [`ApplyPlan`] that apply
//! uses: the entries it reads are exactly those retention deleted since the
//! last snapshot, and it decides what apply decided then.

use std::convert::Infallible;

use openraft::storage::{RaftSnapshotBuilder, Snapshot};
use openraft::{ErrorVerb, LogId};

use crate::error::sm_err;
use crate::{snapshot, Engine, GroupId, GroupTypeConfig, StorageError};

use super::apply::ApplyPlan;
use super::command::{PartitionRequest, PartitionResponse};
use super::producers::Producers;
use super::state::{log_entry, read_consistent, IndexEntry, PartitionState, StorageResult};
use super::txn_index::TxnIndex;

/// What a snapshot carries besides the state: the producers and the
/// transactions at its point.
pub type SnapshotTail = (Producers, TxnIndex);

/// A snapshot's bytes: `state`, then `producers` unless there are none and
/// no transaction is known, then `txns` unless empty.
pub fn encode(
    state: &PartitionState,
    producers: &Producers,
    txns: &TxnIndex,
) -> Result<Vec<u8>, bincode::Error> {
    let mut bytes = bincode::serialize(state)?;
    if !producers.is_empty() || !txns.is_empty() {
        bincode::serialize_into(&mut bytes, producers)?;
    }
    if !txns.is_empty() {
        bincode::serialize_into(&mut bytes, txns)?;
    }
    Ok(bytes)
}

/// The state, producers and transactions of a snapshot's bytes (snapshots
/// written before idempotent producers or transactions carry none).
pub fn decode(bytes: &[u8]) -> Result<(PartitionState, Producers, TxnIndex), bincode::Error> {
    let mut rest = bytes;
    let state: PartitionState = bincode::deserialize_from(&mut rest)?;
    let producers = if rest.is_empty() {
        Producers::default()
    } else {
        bincode::deserialize_from(&mut rest)?
    };
    let txns = if rest.is_empty() {
        TxnIndex::default()
    } else {
        bincode::deserialize(rest)?
    };
    Ok((state, producers, txns))
}

/// The producers' and transactions' state after the entry at `to`: the
/// stored snapshot's, then every entry after it up to `to` replayed. `None`
/// if an entry in between is no longer stored, or the replay does not
/// reach `next_offset` (then no snapshot can be cut there).
fn tail_at<C>(
    engine: &Engine,
    group: GroupId,
    to: u64,
    next_offset: u64,
) -> StorageResult<Option<SnapshotTail>>
where
    C: GroupTypeConfig<D = PartitionRequest, R = PartitionResponse>,
{
    let read = |e: StorageError| sm_err(ErrorVerb::Read, e);
    let (state, producers, txns, after) = match snapshot::read_stored(engine, group)? {
        Some(stored) => {
            let (state, producers, txns) =
                decode(&stored.data).map_err(|e| sm_err(ErrorVerb::Read, *e))?;
            let after = stored.meta.last_log_id.map_or(0, |id| id.index);
            (state, producers, txns, after)
        }
        None => (
            PartitionState::default(),
            Producers::default(),
            TxnIndex::default(),
            0,
        ),
    };
    if after > to {
        return Ok(None);
    }
    let mut plan = ApplyPlan::resume(state, producers, txns);
    for index in after + 1..=to {
        let Some(entry) = log_entry::<C>(engine, group, index).map_err(read)? else {
            return Ok(None);
        };
        // Only offsets and producers matter here: kept bytes are not asked.
        let decided = plan.apply_entry(entry.log_id, &entry.payload, |_, _| {
            Ok::<u64, Infallible>(0)
        });
        match decided {
            Ok(()) => {}
            Err(never) => match never {},
        }
        plan.index.clear();
        plan.responses.clear();
    }
    if plan.state.next_offset != next_offset {
        tracing::warn!(
            group,
            replayed = plan.state.next_offset,
            expected = next_offset,
            "snapshot replay does not reach the point's offset; no snapshot cut"
        );
        return Ok(None);
    }
    Ok(Some((plan.producers, plan.txns)))
}

/// Where a snapshot can end: its last log id, and the next offset there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotPoint {
    /// The last log id the snapshot covers.
    pub last_log_id: Option<LogId<u64>>,
    /// The offset the first record after it gets.
    pub next_offset: u64,
}

/// Where a snapshot of `state` can end, given the first index row holding
/// kept records (`first_kept`) and a lookup of the stored log id at an index
/// (asked only for the entry just before `first_kept`).
///
/// - nothing kept: at the last applied entry;
/// - otherwise just before the first kept entry, if that entry is still in
///   the log and the applied membership is not newer than it (a snapshot
///   carries the current membership, so it cannot end before the entry that
///   set it);
/// - `None` if no such point can be expressed.
pub fn snapshot_point<E>(
    state: &PartitionState,
    first_kept: Option<&IndexEntry>,
    log_id_at: impl FnOnce(u64) -> Result<Option<LogId<u64>>, E>,
) -> Result<Option<SnapshotPoint>, E> {
    let Some(kept) = first_kept else {
        return Ok(Some(SnapshotPoint {
            last_log_id: state.last_applied,
            next_offset: state.next_offset,
        }));
    };
    if kept.log_index <= 1 {
        return Ok(None);
    }
    let before = kept.log_index - 1;
    let membership_at = state.membership.log_id().map_or(0, |id| id.index);
    Ok(match log_id_at(before)? {
        Some(id) if membership_at <= before => Some(SnapshotPoint {
            last_log_id: Some(id),
            next_offset: kept.base_offset,
        }),
        _ => None,
    })
}

/// The state a snapshot ending at `point` carries.
pub fn snapshot_state(state: &PartitionState, point: SnapshotPoint) -> PartitionState {
    PartitionState {
        last_applied: point.last_log_id,
        membership: state.membership.clone(),
        next_offset: point.next_offset,
        log_start_offset: state.log_start_offset.min(point.next_offset),
        bytes: 0,
    }
}

/// Builds snapshots of a partition's applied state (not its records).
pub struct PartitionSnapshotBuilder {
    pub(super) engine: Engine,
    pub(super) group: GroupId,
}

impl<C> RaftSnapshotBuilder<C> for PartitionSnapshotBuilder
where
    C: GroupTypeConfig<D = PartitionRequest, R = PartitionResponse>,
{
    /// A snapshot at [`snapshot_point`]; if there is none, the current
    /// snapshot again, which openraft ignores as not newer.
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<C>> {
        let (state, applied_producers, applied_txns, first_kept) =
            read_consistent(&self.engine, self.group)?;
        let point = snapshot_point(&state, first_kept.as_ref(), |index| {
            log_entry::<C>(&self.engine, self.group, index)
                .map(|entry| entry.map(|e| e.log_id))
                .map_err(|e| sm_err(ErrorVerb::Read, e))
        })?;
        let Some(point) = point else {
            return snapshot::current_or_empty(&self.engine, self.group);
        };
        // At the last applied entry the producers and transactions are the
        // applied ones; before it, they are what the log says they were there.
        let (producers, txns) = if point.last_log_id == state.last_applied {
            (applied_producers, applied_txns)
        } else {
            let to = point.last_log_id.map_or(0, |id| id.index);
            match tail_at::<C>(&self.engine, self.group, to, point.next_offset)? {
                Some(tail) => tail,
                None => return snapshot::current_or_empty(&self.engine, self.group),
            }
        };
        let at = snapshot_state(&state, point);
        let data = encode(&at, &producers, &txns).map_err(|e| sm_err(ErrorVerb::Read, *e))?;
        snapshot::store_new(
            &self.engine,
            self.group,
            at.last_applied,
            at.membership,
            data,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use openraft::{CommittedLeaderId, Membership, StoredMembership};

    use super::*;

    fn log_id(index: u64) -> LogId<u64> {
        LogId::new(CommittedLeaderId::new(2, 1), index)
    }

    fn row(log_index: u64, base_offset: u64, last_offset: u64) -> IndexEntry {
        IndexEntry {
            log_index,
            base_offset,
            last_offset,
            max_timestamp: 0,
            bytes: 10,
        }
    }

    /// Applied through log index 20 (next offset 50, log start 30), with the
    /// membership set at `membership_at`.
    fn applied(membership_at: u64) -> PartitionState {
        PartitionState {
            last_applied: Some(log_id(20)),
            membership: StoredMembership::new(
                Some(log_id(membership_at)),
                Membership::new(vec![[1u64].into()], ()),
            ),
            next_offset: 50,
            log_start_offset: 30,
            bytes: 500,
        }
    }

    fn every_entry_stored(index: u64) -> Result<Option<LogId<u64>>, Infallible> {
        Ok(Some(log_id(index)))
    }

    #[test]
    fn snapshot_points() {
        let at = |index, next_offset| {
            Some(SnapshotPoint {
                last_log_id: Some(log_id(index)),
                next_offset,
            })
        };
        // (membership index, first kept row, expected point)
        let cases = [
            // Nothing kept: the whole applied state.
            (1, None, at(20, 50)),
            // Just before the first entry holding kept records.
            (1, Some(row(12, 28, 33)), at(11, 28)),
            (11, Some(row(12, 28, 33)), at(11, 28)),
            // The membership is newer than that point.
            (12, Some(row(12, 28, 33)), None),
            // The first kept entry is the first entry: nothing to cover.
            (0, Some(row(1, 0, 33)), None),
            (0, Some(row(0, 0, 33)), None),
        ];
        for (membership_at, kept, want) in cases {
            let got = snapshot_point(&applied(membership_at), kept.as_ref(), every_entry_stored);
            assert_eq!(
                got.unwrap(),
                want,
                "membership {membership_at}, kept {kept:?}"
            );
        }
    }

    #[test]
    fn no_point_before_an_entry_that_is_gone() {
        let mut asked = None;
        let got = snapshot_point(&applied(1), Some(&row(12, 28, 33)), |index| {
            asked = Some(index);
            Ok::<_, Infallible>(None)
        });
        assert_eq!(got.unwrap(), None);
        assert_eq!(asked, Some(11));
    }

    #[test]
    fn snapshot_bytes_without_producers_keep_the_original_format() {
        let state = applied(1);
        let old = bincode::serialize(&state).unwrap();
        assert_eq!(
            encode(&state, &Producers::default(), &TxnIndex::default()).unwrap(),
            old
        );
        let (decoded, producers, txns) = decode(&old).unwrap();
        assert_eq!(decoded, state);
        assert!(producers.is_empty() && txns.is_empty());
    }

    #[test]
    fn snapshot_bytes_carry_the_producers_and_transactions() {
        let mut producers = Producers::default();
        let header = cairn_common::batch::parse_header(&cairn_common::batch::with_producer(
            cairn_common::batch::build(&[b"a"], 9),
            42,
            1,
            0,
        ))
        .unwrap();
        let batch = super::super::producers::ProducerBatch::of(&header).unwrap();
        producers.record(&batch, 7);
        let bytes = encode(&applied(1), &producers, &TxnIndex::default()).unwrap();
        // The format before transactions: state, then producers.
        let mut before = bincode::serialize(&applied(1)).unwrap();
        bincode::serialize_into(&mut before, &producers).unwrap();
        assert_eq!(bytes, before);
        assert_eq!(
            decode(&bytes).unwrap(),
            (applied(1), producers.clone(), TxnIndex::default())
        );
        // Transactions follow the producers, even when there are none.
        let mut txns = TxnIndex::default();
        txns.on_data(42, 3);
        for producers in [producers, Producers::default()] {
            let bytes = encode(&applied(1), &producers, &txns).unwrap();
            assert_eq!(
                decode(&bytes).unwrap(),
                (applied(1), producers, txns.clone())
            );
        }
    }

    #[test]
    fn a_snapshot_carries_the_state_at_its_point() {
        let state = applied(1);
        let point = SnapshotPoint {
            last_log_id: Some(log_id(11)),
            next_offset: 28,
        };
        let at = snapshot_state(&state, point);
        assert_eq!(at.last_applied, Some(log_id(11)));
        assert_eq!(at.next_offset, 28);
        // The log start never lies beyond the snapshot's next offset.
        assert_eq!(at.log_start_offset, 28);
        assert_eq!(at.bytes, 0);
        assert_eq!(at.membership, state.membership);
        let whole = snapshot_state(
            &state,
            SnapshotPoint {
                last_log_id: state.last_applied,
                next_offset: 50,
            },
        );
        assert_eq!(whole.log_start_offset, 30);
    }
}
