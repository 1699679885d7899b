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
//! `bytes` 0): a format existing data dirs hold, which must not change.

use std::sync::Arc;

use openraft::storage::{RaftSnapshotBuilder, Snapshot};
use openraft::{ErrorVerb, LogId};

use crate::error::sm_err;
use crate::{snapshot, Engine, GroupId, GroupTypeConfig};

use super::command::{PartitionRequest, PartitionResponse};
use super::state::{index_rows, log_entry, IndexEntry, PartitionState, StorageResult};
use super::Shared;

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
    pub(super) shared: Arc<Shared>,
}

impl<C> RaftSnapshotBuilder<C> for PartitionSnapshotBuilder
where
    C: GroupTypeConfig<D = PartitionRequest, R = PartitionResponse>,
{
    /// A snapshot at [`snapshot_point`]; if there is none, the current
    /// snapshot again, which openraft ignores as not newer.
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<C>> {
        let state = self.shared.state();
        let first_kept = index_rows(&self.engine, self.group, state.log_start_offset)
            .next()
            .transpose()
            .map_err(|e| sm_err(ErrorVerb::Read, e))?;
        let point = snapshot_point(&state, first_kept.as_ref(), |index| {
            log_entry::<C>(&self.engine, self.group, index)
                .map(|entry| entry.map(|e| e.log_id))
                .map_err(|e| sm_err(ErrorVerb::Read, e))
        })?;
        let Some(point) = point else {
            return snapshot::current_or_empty(&self.engine, self.group);
        };
        let at = snapshot_state(&state, point);
        let data = bincode::serialize(&at).map_err(|e| sm_err(ErrorVerb::Read, *e))?;
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
