//! Applying committed entries to a partition: the offset-assignment decision,
//! and the thin IO that writes it.
//!
//! [`ApplyPlan`] is pure: given the applied state and the entries, it decides
//! each batch's base offset, the new next offset (the high watermark), the
//! index rows to write or delete and where the log start moves. It reads
//! nothing but the byte counts of stored index rows, passed in as a function
//! (rows the plan itself puts or deletes are not stored yet; the plan
//! accounts for them).
//! `write_index` then turns the plan into RocksDB writes, in the order
//! decided.
//!
//! Invariants the plan keeps (and its tests check):
//! - offsets are dense and assigned once: an Append's batches take
//!   consecutive offsets from `next_offset`, each spanning
//!   [`batch::offset_count`] offsets, and `next_offset` only grows;
//! - the decision depends only on the state and the entries, so every replica
//!   assigns the same offsets;
//! - the log start only moves forward, never past `next_offset`;
//! - an entry whose batches span no offsets gets no index row;
//! - `bytes` is the size of the index rows at or above the log start, however
//!   the entries were grouped into `apply` calls (a trim counts the rows this
//!   plan put, and never counts a row an earlier trim already removed);
//! - a batch of an idempotent producer is written at most once: the
//!   [`Producers`] verdict decides, and a duplicate or refused batch takes no
//!   offset; its position in the entry goes into the index row's `skipped`
//!   list, so reads pass over its bytes, which stay in the Raft log entry;
//! - a transaction marker takes one offset, unless it is a late duplicate
//!   (see [`TxnIndex::is_new_marker`]) or of a fenced epoch; a producer's
//!   transactional batches open its transaction in the [`TxnIndex`] and
//!   its marker closes it.

use std::collections::BTreeSet;

use openraft::{BasicNode, EntryPayload, LogId, Membership, StoredMembership};
use rocksdb::WriteBatch;

use cairn_common::error_code::{INVALID_PRODUCER_EPOCH, INVALID_RECORD};
use cairn_common::{batch, txn_marker};

use crate::{Engine, GroupId, GroupTypeConfig};

use super::command::{PartitionRequest, PartitionResponse};
use super::producers::{ProducerBatch, Producers, Verdict};
use super::state::{encode_index_row, index_key, IndexEntry, PartitionState};
use super::txn_index::TxnIndex;

/// The offsets one Append's batches take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The base offset of each batch, in order. A batch that spans no offsets
    /// gets the offset the next batch starts at.
    pub base_offsets: Vec<u64>,
    /// The offset after the last record: the next Append starts here.
    pub next_offset: u64,
    /// The largest timestamp of the spanning batches; `i64::MIN` if none.
    pub max_timestamp: i64,
}

/// Assigns consecutive offsets from `next_offset` to `batches`, in order.
pub fn assign_offsets<B: AsRef<[u8]>>(next_offset: u64, batches: &[B]) -> Assignment {
    let mut out = Assignment {
        base_offsets: Vec::with_capacity(batches.len()),
        next_offset,
        max_timestamp: i64::MIN,
    };
    for b in batches {
        out.base_offsets.push(out.next_offset);
        if let Some(span) = batch::span(b.as_ref()) {
            out.next_offset += span.offsets;
            out.max_timestamp = out.max_timestamp.max(span.max_timestamp);
        }
    }
    out
}

/// Where a trim to `requested` moves the log start: at most to `next_offset`
/// (records not yet written cannot be deleted), and only forward. `None`
/// if it does not move.
pub fn trim_target(state: &PartitionState, requested: u64) -> Option<u64> {
    let to = requested.min(state.next_offset);
    (to > state.log_start_offset).then_some(to)
}

/// One change to the `index` column family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexWrite {
    /// Store this row (keyed by its last offset), with the positions of the
    /// entry's batches that were not written (duplicates, refused batches).
    Put(IndexEntry, Vec<u32>),
    /// Delete every row whose last offset is below this offset.
    DeleteBelow(u64),
}

/// The decisions of one `apply` call, made entry by entry and written at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyPlan {
    /// The state after the entries decided so far.
    pub state: PartitionState,
    /// Index changes, in the order they must be written.
    pub index: Vec<IndexWrite>,
    /// One response per entry.
    pub responses: Vec<PartitionResponse>,
    /// The producers' state after the entries decided so far.
    pub producers: Producers,
    /// The producer ids whose state changed (or went) in this plan.
    pub touched_producers: BTreeSet<i64>,
    /// The transactions after the entries decided so far.
    pub txns: TxnIndex,
    /// Whether `txns` changed in this plan.
    pub txns_touched: bool,
}

impl ApplyPlan {
    /// A plan starting from the applied `state`, with no producer known.
    pub fn new(state: PartitionState) -> Self {
        Self::resume(state, Producers::default(), TxnIndex::default())
    }

    /// A plan starting from the applied `state`, `producers` and `txns`.
    pub fn resume(state: PartitionState, producers: Producers, txns: TxnIndex) -> Self {
        Self {
            state,
            index: Vec::new(),
            responses: Vec::new(),
            producers,
            touched_producers: BTreeSet::new(),
            txns,
            txns_touched: false,
        }
    }

    /// Decides one committed entry. `stored_bytes_between(from, to)` gives
    /// the bytes of the stored index rows whose last offset is in `from..to`.
    pub fn apply_entry<C, E>(
        &mut self,
        log_id: LogId<u64>,
        payload: &EntryPayload<C>,
        stored_bytes_between: impl FnOnce(u64, u64) -> Result<u64, E>,
    ) -> Result<(), E>
    where
        C: GroupTypeConfig<D = PartitionRequest, R = PartitionResponse>,
    {
        self.state.last_applied = Some(log_id);
        let response = match payload {
            EntryPayload::Blank => PartitionResponse::None,
            EntryPayload::Membership(m) => self.membership(log_id, m.clone()),
            EntryPayload::Normal(PartitionRequest::Append { batches }) => {
                self.append(log_id.index, batches)
            }
            EntryPayload::Normal(PartitionRequest::Trim { log_start_offset }) => {
                self.trim(*log_start_offset, stored_bytes_between)?
            }
            EntryPayload::Normal(PartitionRequest::ExpireProducers {
                last_seen_before_ms,
            }) => self.expire_producers(*last_seen_before_ms),
            EntryPayload::Normal(PartitionRequest::TxnMarker { batch, txn_seq }) => {
                self.txn_marker(log_id.index, batch, *txn_seq)
            }
        };
        self.responses.push(response);
        Ok(())
    }

    fn membership(
        &mut self,
        log_id: LogId<u64>,
        membership: Membership<u64, BasicNode>,
    ) -> PartitionResponse {
        self.state.membership = StoredMembership::new(Some(log_id), membership);
        PartitionResponse::None
    }

    /// Assigns the batches of the entry at `log_index` their offsets and
    /// indexes the entry if it holds any. A producer's batch is first checked
    /// against its state ([`Producers::check`]): a duplicate answers its
    /// original offset, a refused batch its error code, and neither takes an
    /// offset.
    pub fn append<B: AsRef<[u8]>>(&mut self, log_index: u64, batches: &[B]) -> PartitionResponse {
        let first = self.state.next_offset;
        let mut next = first;
        let mut max_timestamp = i64::MIN;
        let mut base_offsets = Vec::with_capacity(batches.len());
        let mut rejected = Vec::new();
        let mut skipped = Vec::new();
        for (position, b) in batches.iter().enumerate() {
            // One header read serves both the producer check and the span
            // (what `batch::span` reads).
            let header = batch::parse_header(b.as_ref()).ok();
            if let Some(producer) = header.as_ref().and_then(ProducerBatch::of) {
                match self.producers.check(&producer) {
                    Verdict::Append => {
                        self.producers.record(&producer, next);
                        self.touched_producers.insert(producer.producer_id);
                        // Only a transaction's first batch here changes the
                        // index (and so its stored row and readers' copy).
                        if header.as_ref().is_some_and(|h| h.is_transactional)
                            && self.txns.on_data(producer.producer_id, next)
                        {
                            self.txns_touched = true;
                        }
                    }
                    Verdict::Duplicate { base_offset } => {
                        base_offsets.push(base_offset);
                        skipped.push(position as u32);
                        continue;
                    }
                    Verdict::Reject(code) => {
                        base_offsets.push(next);
                        rejected.push((position as u32, code));
                        skipped.push(position as u32);
                        continue;
                    }
                }
            }
            base_offsets.push(next);
            if let Some((h, offsets)) = header
                .as_ref()
                .and_then(|h| batch::offset_count(h).map(|n| (h, n)))
            {
                next += offsets;
                max_timestamp = max_timestamp.max(h.max_timestamp);
            }
        }
        self.state.next_offset = next;
        if next > first {
            let bytes: u64 = batches.iter().map(|b| b.as_ref().len() as u64).sum();
            self.state.bytes += bytes;
            self.index.push(IndexWrite::Put(
                IndexEntry {
                    log_index,
                    base_offset: first,
                    last_offset: next - 1,
                    max_timestamp,
                    bytes,
                },
                skipped,
            ));
        }
        PartitionResponse::Appended {
            base_offsets,
            rejected,
        }
    }

    /// Forgets the producers last seen before `last_seen_before_ms`, but
    /// not those with a transaction open here.
    pub fn expire_producers(&mut self, last_seen_before_ms: i64) -> PartitionResponse {
        let txns = &self.txns;
        let producers = self
            .producers
            .expire(last_seen_before_ms, |id| txns.is_open(id));
        self.touched_producers.extend(producers.iter().copied());
        if !producers.is_empty() {
            self.txns.forget(&producers);
            self.txns_touched = true;
        }
        PartitionResponse::ProducersExpired { producers }
    }

    /// Writes the transaction marker `batch` (of the coordinator's
    /// transaction `txn_seq`) at the next offset, ending its producer's
    /// transaction here. Refused (nothing written) if it is not a marker
    /// or its epoch is older than the producer's here; a late duplicate
    /// writes nothing and answers no offset.
    pub fn txn_marker(&mut self, log_index: u64, batch: &[u8], txn_seq: u64) -> PartitionResponse {
        let refuse = |error| PartitionResponse::Marker {
            offset: None,
            error,
        };
        let (Some(marker), Ok(header)) = (txn_marker::decode(batch), batch::parse_header(batch))
        else {
            return refuse(INVALID_RECORD);
        };
        let pid = marker.producer_id;
        if self
            .producers
            .get(pid)
            .is_some_and(|p| marker.producer_epoch < p.epoch)
        {
            return refuse(INVALID_PRODUCER_EPOCH);
        }
        if !self.txns.is_new_marker(pid, txn_seq) {
            return refuse(0);
        }
        let offset = self.state.next_offset;
        self.producers
            .on_marker(pid, marker.producer_epoch, header.max_timestamp);
        self.touched_producers.insert(pid);
        self.txns.on_new_marker(pid, txn_seq, offset, marker.commit);
        self.txns_touched = true;
        let bytes = batch.len() as u64;
        self.state.next_offset = offset + 1;
        self.state.bytes += bytes;
        self.index.push(IndexWrite::Put(
            IndexEntry {
                log_index,
                base_offset: offset,
                last_offset: offset,
                max_timestamp: header.max_timestamp,
                bytes,
            },
            Vec::new(),
        ));
        PartitionResponse::Marker {
            offset: Some(offset),
            error: 0,
        }
    }

    /// Moves the log start to `requested` if [`trim_target`] allows, dropping
    /// the index rows (and their bytes) that then hold only deleted records.
    pub fn trim<E>(
        &mut self,
        requested: u64,
        stored_bytes_between: impl FnOnce(u64, u64) -> Result<u64, E>,
    ) -> Result<PartitionResponse, E> {
        if let Some(to) = trim_target(&self.state, requested) {
            // The rows that go are those from the current log start (rows
            // below it are gone already, or go in this plan) to `to`: some
            // stored, some put earlier in this plan.
            let from = self.state.log_start_offset;
            let pending: u64 = self
                .index
                .iter()
                .filter_map(|change| match change {
                    IndexWrite::Put(row, _) if (from..to).contains(&row.last_offset) => {
                        Some(row.bytes)
                    }
                    _ => None,
                })
                .sum();
            let removed = stored_bytes_between(from, to)? + pending;
            self.state.bytes = self.state.bytes.saturating_sub(removed);
            // Index rows are keyed by last offset: those below `to` hold
            // only deleted records.
            self.index.push(IndexWrite::DeleteBelow(to));
            self.state.log_start_offset = to;
            if !self.txns.is_empty() {
                self.txns.trim(to);
                self.txns_touched = true;
            }
        }
        Ok(PartitionResponse::Trimmed {
            log_start_offset: self.state.log_start_offset,
        })
    }
}

/// Adds the plan's index changes to `write`, in order.
pub(super) fn write_index(
    engine: &Engine,
    group: GroupId,
    write: &mut WriteBatch,
    index: &[IndexWrite],
) -> Result<(), bincode::Error> {
    for change in index {
        match change {
            IndexWrite::Put(row, skipped) => {
                let value = encode_index_row(row, skipped)?;
                write.put_cf(engine.cf_index(), index_key(group, row.last_offset), value);
            }
            IndexWrite::DeleteBelow(to) => write.delete_range_cf(
                engine.cf_index(),
                index_key(group, 0),
                index_key(group, *to),
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    #[allow(unused_imports)]
    use std::io::Cursor; // named by declare_raft_types!

    use openraft::CommittedLeaderId;

    use super::*;

    openraft::declare_raft_types!(
        pub TestConfig: D = PartitionRequest, R = PartitionResponse
    );

    fn records(n: usize, timestamp: i64) -> Vec<u8> {
        let values: Vec<&[u8]> = (0..n).map(|_| &b"v"[..]).collect();
        batch::build(&values, timestamp)
    }

    /// A batch whose lastOffsetDelta is negative: it spans no offsets.
    fn spanless() -> Vec<u8> {
        let mut b = records(1, 0);
        b[23..27].copy_from_slice(&(-1i32).to_be_bytes());
        b
    }

    fn log_id(index: u64) -> LogId<u64> {
        LogId::new(CommittedLeaderId::new(1, 1), index)
    }

    fn state(next_offset: u64, log_start_offset: u64, bytes: u64) -> PartitionState {
        PartitionState {
            next_offset,
            log_start_offset,
            bytes,
            ..PartitionState::default()
        }
    }

    fn no_stored_rows(_: u64, _: u64) -> Result<u64, Infallible> {
        Ok(0)
    }

    #[test]
    fn offsets_are_assigned_consecutively_from_next_offset() {
        // (next offset, record counts per batch, expected base offsets, expected next offset)
        let cases: [(u64, &[usize], &[u64], u64); 5] = [
            (0, &[1], &[0], 1),
            (0, &[2, 1, 3], &[0, 2, 3], 6),
            (41, &[5], &[41], 46),
            (7, &[], &[], 7),
            (
                u64::from(u32::MAX),
                &[1, 1],
                &[4294967295, 4294967296],
                4294967297,
            ),
        ];
        for (next, counts, bases, end) in cases {
            let batches: Vec<Vec<u8>> = counts.iter().map(|&n| records(n, 10)).collect();
            let got = assign_offsets(next, &batches);
            assert_eq!(got.base_offsets, bases, "next {next}, counts {counts:?}");
            assert_eq!(got.next_offset, end, "next {next}, counts {counts:?}");
        }
    }

    #[test]
    fn a_batch_that_spans_nothing_takes_no_offset() {
        let batches = vec![records(2, 1), spanless(), vec![1, 2, 3], records(1, 2)];
        let got = assign_offsets(10, &batches);
        assert_eq!(got.base_offsets, vec![10, 12, 12, 12]);
        assert_eq!(got.next_offset, 13);
        assert_eq!(got.max_timestamp, 2);
        let none = assign_offsets(10, &[spanless()]);
        assert_eq!((none.next_offset, none.max_timestamp), (10, i64::MIN));
    }

    #[test]
    fn max_timestamp_is_the_largest_of_the_batches() {
        let batches = vec![records(1, 300), records(1, 100), records(1, 200)];
        assert_eq!(assign_offsets(0, &batches).max_timestamp, 300);
    }

    #[test]
    fn appends_assign_each_offset_once_and_densely() {
        let mut plan = ApplyPlan::new(PartitionState::default());
        let mut seen = Vec::new();
        for (i, counts) in [vec![1], vec![3, 2], vec![1, 1, 1], vec![4]]
            .iter()
            .enumerate()
        {
            let batches: Vec<Vec<u8>> = counts.iter().map(|&n| records(n, 0)).collect();
            let PartitionResponse::Appended { base_offsets, .. } =
                plan.append(i as u64 + 1, &batches)
            else {
                panic!("append answers Appended");
            };
            for (base, n) in base_offsets.iter().zip(counts) {
                seen.extend(*base..*base + *n as u64);
            }
        }
        assert_eq!(seen, (0..13).collect::<Vec<u64>>());
        assert_eq!(plan.state.next_offset, 13);
    }

    #[test]
    fn an_append_indexes_its_entry_once() {
        let batches = vec![records(2, 50), records(3, 70)];
        let bytes: u64 = batches.iter().map(|b| b.len() as u64).sum();
        let mut plan = ApplyPlan::new(state(5, 0, 100));
        plan.append(9, &batches);
        assert_eq!(
            plan.index,
            vec![IndexWrite::Put(
                IndexEntry {
                    log_index: 9,
                    base_offset: 5,
                    last_offset: 9,
                    max_timestamp: 70,
                    bytes,
                },
                vec![]
            )]
        );
        assert_eq!(plan.state.bytes, 100 + bytes);
    }

    #[test]
    fn an_append_without_records_is_not_indexed() {
        let mut plan = ApplyPlan::new(state(5, 0, 100));
        let empty: [Vec<u8>; 0] = [];
        assert_eq!(
            plan.append(3, &empty),
            PartitionResponse::Appended {
                base_offsets: vec![],
                rejected: vec![]
            }
        );
        assert_eq!(
            plan.append(4, &[spanless()]),
            PartitionResponse::Appended {
                base_offsets: vec![5],
                rejected: vec![]
            }
        );
        assert!(plan.index.is_empty());
        assert_eq!(plan.state, state(5, 0, 100));
    }

    #[test]
    fn trims_move_the_log_start_only_forward_and_never_past_next_offset() {
        // (log start, next offset, requested, expected target)
        let cases = [
            (0, 10, 4, Some(4)),
            (0, 10, 10, Some(10)),
            (0, 10, 15, Some(10)),
            (4, 10, 4, None),
            (4, 10, 2, None),
            (10, 10, 12, None),
            (0, 0, 0, None),
            (0, 0, 5, None),
        ];
        for (start, next, requested, want) in cases {
            let s = state(next, start, 0);
            assert_eq!(
                trim_target(&s, requested),
                want,
                "{start} {next} {requested}"
            );
            let mut plan = ApplyPlan::new(s);
            let answer = plan.trim(requested, no_stored_rows).unwrap();
            let after = want.unwrap_or(start);
            assert_eq!(
                answer,
                PartitionResponse::Trimmed {
                    log_start_offset: after
                }
            );
            assert_eq!(plan.state.log_start_offset, after);
            assert_eq!(
                plan.index,
                want.map(IndexWrite::DeleteBelow)
                    .into_iter()
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn a_trim_subtracts_the_bytes_of_the_rows_it_deletes() {
        let mut plan = ApplyPlan::new(state(10, 0, 1000));
        let mut asked = None;
        plan.trim(6, |from, to| {
            asked = Some((from, to));
            Ok::<_, Infallible>(300)
        })
        .unwrap();
        assert_eq!(asked, Some((0, 6)));
        assert_eq!(plan.state.bytes, 700);
        // A count larger than what is kept never wraps.
        let mut plan = ApplyPlan::new(state(10, 0, 100));
        plan.trim(6, |_, _| Ok::<_, Infallible>(300)).unwrap();
        assert_eq!(plan.state.bytes, 0);
    }

    #[test]
    fn a_trim_that_does_not_move_reads_nothing() {
        let mut plan = ApplyPlan::new(state(10, 8, 100));
        plan.trim(5, |_, _| -> Result<u64, &str> { Err("must not be asked") })
            .unwrap();
        assert_eq!(plan.state, state(10, 8, 100));
    }

    #[test]
    fn entries_are_decided_in_order_with_one_response_each() {
        let mut plan = ApplyPlan::new(PartitionState::default());
        let append = EntryPayload::<TestConfig>::Normal(PartitionRequest::Append {
            batches: vec![serde_bytes::ByteBuf::from(records(3, 5))],
        });
        let trim = EntryPayload::<TestConfig>::Normal(PartitionRequest::Trim {
            log_start_offset: 2,
        });
        let membership = Membership::new(vec![[1u64].into()], ());
        plan.apply_entry(
            log_id(1),
            &EntryPayload::<TestConfig>::Blank,
            no_stored_rows,
        )
        .unwrap();
        plan.apply_entry(
            log_id(2),
            &EntryPayload::<TestConfig>::Membership(membership.clone()),
            no_stored_rows,
        )
        .unwrap();
        plan.apply_entry(log_id(3), &append, no_stored_rows)
            .unwrap();
        plan.apply_entry(log_id(4), &trim, no_stored_rows).unwrap();
        assert_eq!(
            plan.responses,
            vec![
                PartitionResponse::None,
                PartitionResponse::None,
                PartitionResponse::Appended {
                    base_offsets: vec![0],
                    rejected: vec![]
                },
                PartitionResponse::Trimmed {
                    log_start_offset: 2
                },
            ]
        );
        assert_eq!(plan.state.last_applied, Some(log_id(4)));
        assert_eq!(
            plan.state.membership,
            StoredMembership::new(Some(log_id(2)), membership)
        );
        assert_eq!(
            (plan.state.next_offset, plan.state.log_start_offset),
            (3, 2)
        );
        assert!(matches!(
            plan.index.as_slice(),
            [IndexWrite::Put(row, _), IndexWrite::DeleteBelow(2)] if row.log_index == 3
        ));
    }

    #[test]
    fn replicas_that_apply_the_same_entries_decide_the_same() {
        let entries: Vec<Vec<Vec<u8>>> = vec![
            vec![records(2, 1)],
            vec![records(1, 2), records(4, 3)],
            vec![spanless(), records(1, 4)],
        ];
        let run = || {
            let mut plan = ApplyPlan::new(state(100, 90, 7));
            for (i, batches) in entries.iter().enumerate() {
                plan.append(i as u64 + 20, batches);
            }
            plan
        };
        assert_eq!(run(), run());
    }

    /// A batch of `n` records from producer `id`, epoch `epoch`, first sequence `seq`.
    fn produced(id: i64, epoch: i16, seq: i32, n: usize) -> Vec<u8> {
        batch::with_producer(records(n, 5), id, epoch, seq)
    }

    #[test]
    fn a_retried_batch_in_the_same_entry_or_a_later_one_is_written_once() {
        let mut plan = ApplyPlan::new(state(10, 0, 0));
        // One entry holding a batch and its retry (the appender merged both),
        // then a later entry retrying it again next to a new batch.
        let first = plan.append(1, &[produced(9, 0, 0, 3), produced(9, 0, 0, 3)]);
        assert_eq!(
            first,
            PartitionResponse::Appended {
                base_offsets: vec![10, 10],
                rejected: vec![]
            }
        );
        let second = plan.append(2, &[produced(9, 0, 0, 3), produced(9, 0, 3, 2)]);
        assert_eq!(
            second,
            PartitionResponse::Appended {
                base_offsets: vec![10, 13],
                rejected: vec![]
            }
        );
        assert_eq!(plan.state.next_offset, 15);
        let skipped: Vec<(u64, Vec<u32>)> = plan
            .index
            .iter()
            .map(|w| match w {
                IndexWrite::Put(row, skipped) => (row.base_offset, skipped.clone()),
                IndexWrite::DeleteBelow(_) => panic!("no trim here"),
            })
            .collect();
        assert_eq!(skipped, vec![(10, vec![1]), (13, vec![0])]);
        assert_eq!(
            plan.touched_producers.iter().copied().collect::<Vec<_>>(),
            vec![9]
        );
    }

    #[test]
    fn refused_batches_take_no_offset_and_say_why() {
        let mut plan = ApplyPlan::new(state(0, 0, 0));
        plan.append(1, &[produced(1, 2, 0, 1)]);
        let answer = plan.append(
            2,
            &[
                records(1, 5),        // not idempotent: written
                produced(1, 1, 1, 1), // fenced epoch
                produced(1, 2, 5, 1), // gap
                produced(2, 0, 7, 1), // unknown producer mid-stream
                produced(1, 2, 1, 2), // next in sequence: written
            ],
        );
        assert_eq!(
            answer,
            PartitionResponse::Appended {
                base_offsets: vec![1, 2, 2, 2, 2],
                rejected: vec![
                    (1, cairn_common::error_code::INVALID_PRODUCER_EPOCH),
                    (2, cairn_common::error_code::OUT_OF_ORDER_SEQUENCE_NUMBER),
                    (3, cairn_common::error_code::UNKNOWN_PRODUCER_ID),
                ]
            }
        );
        assert_eq!(plan.state.next_offset, 4);
        assert!(plan.producers.get(2).is_none());
    }

    #[test]
    fn an_entry_of_duplicates_only_is_not_indexed() {
        let mut plan = ApplyPlan::new(state(0, 0, 0));
        plan.append(1, &[produced(1, 0, 0, 2)]);
        let index_rows = plan.index.len();
        let answer = plan.append(2, &[produced(1, 0, 0, 2)]);
        assert_eq!(
            answer,
            PartitionResponse::Appended {
                base_offsets: vec![0],
                rejected: vec![]
            }
        );
        assert_eq!(plan.index.len(), index_rows);
        assert_eq!(plan.state.next_offset, 2);
    }

    #[test]
    fn expiry_is_an_entry_and_touches_what_it_drops() {
        let mut plan = ApplyPlan::new(state(0, 0, 0));
        plan.append(1, &[produced(1, 0, 0, 1)]);
        plan.touched_producers.clear();
        let expire = EntryPayload::<TestConfig>::Normal(PartitionRequest::ExpireProducers {
            last_seen_before_ms: 6,
        });
        plan.apply_entry(log_id(2), &expire, no_stored_rows)
            .unwrap();
        assert_eq!(
            plan.responses,
            vec![PartitionResponse::ProducersExpired { producers: vec![1] }]
        );
        assert!(plan.producers.is_empty());
        assert_eq!(
            plan.touched_producers.iter().copied().collect::<Vec<_>>(),
            vec![1]
        );
    }

    fn txn_data(id: i64, epoch: i16, seq: i32, n: usize) -> Vec<u8> {
        batch::transactional(records(n, 5), id, epoch, seq)
    }

    fn marker(id: i64, epoch: i16, commit: bool) -> Vec<u8> {
        txn_marker::encode(
            &txn_marker::TxnMarker {
                producer_id: id,
                producer_epoch: epoch,
                commit,
                coordinator_epoch: 1,
            },
            7,
        )
    }

    #[test]
    fn a_transaction_holds_the_lso_until_its_marker_which_takes_one_offset() {
        let mut plan = ApplyPlan::new(state(0, 0, 0));
        plan.append(1, &[records(2, 1)]);
        plan.append(2, &[txn_data(9, 0, 0, 3)]);
        plan.append(3, &[records(1, 1)]);
        assert_eq!(plan.txns.last_stable_offset(plan.state.next_offset), 2);
        let answer = plan.txn_marker(4, &marker(9, 0, false), 1);
        assert_eq!(
            answer,
            PartitionResponse::Marker {
                offset: Some(6),
                error: 0
            }
        );
        assert_eq!(plan.state.next_offset, 7);
        assert_eq!(plan.txns.last_stable_offset(7), 7);
        let aborted = plan.txns.aborted_between(0, 7);
        assert_eq!(
            (
                aborted.len(),
                aborted[0].first_offset,
                aborted[0].marker_offset
            ),
            (1, 2, 6)
        );
        assert!(matches!(plan.index.last(),
            Some(IndexWrite::Put(row, _)) if row.log_index == 4 && row.base_offset == 6 && row.last_offset == 6));
        assert!(plan.txns_touched);
    }

    #[test]
    fn only_a_transactions_first_batch_changes_the_index() {
        let mut plan = ApplyPlan::new(state(0, 0, 0));
        plan.append(1, &[txn_data(9, 0, 0, 1)]);
        assert!(plan.txns_touched);
        plan.txns_touched = false;
        plan.append(2, &[txn_data(9, 0, 1, 1)]);
        assert!(!plan.txns_touched, "nothing to write again");
        assert_eq!(plan.txns.last_stable_offset(plan.state.next_offset), 0);
    }

    #[test]
    fn a_late_duplicate_marker_does_not_end_the_next_transaction() {
        let mut plan = ApplyPlan::new(state(0, 0, 0));
        plan.append(1, &[txn_data(9, 0, 0, 1)]);
        plan.txn_marker(2, &marker(9, 0, true), 1);
        plan.append(3, &[txn_data(9, 0, 1, 1)]);
        let next = plan.state.next_offset;
        assert_eq!(
            plan.txn_marker(4, &marker(9, 0, true), 1),
            PartitionResponse::Marker {
                offset: None,
                error: 0
            }
        );
        assert_eq!(plan.state.next_offset, next);
        assert_eq!(plan.txns.last_stable_offset(next), 2);
    }

    #[test]
    fn markers_of_a_fenced_epoch_or_that_are_no_marker_are_refused() {
        let mut plan = ApplyPlan::new(state(0, 0, 0));
        plan.append(1, &[txn_data(9, 2, 0, 1)]);
        let refused = |error| PartitionResponse::Marker {
            offset: None,
            error,
        };
        assert_eq!(
            plan.txn_marker(2, &marker(9, 1, false), 1),
            refused(INVALID_PRODUCER_EPOCH)
        );
        assert_eq!(
            plan.txn_marker(3, &records(1, 1), 1),
            refused(INVALID_RECORD)
        );
        assert_eq!(plan.state.next_offset, 1);
        // An abort at a bumped epoch (a new producer fenced the old one)
        // fences the old epoch's batches here.
        plan.txn_marker(4, &marker(9, 3, false), 1);
        let PartitionResponse::Appended { rejected, .. } = plan.append(5, &[txn_data(9, 2, 1, 1)])
        else {
            panic!("append answers Appended");
        };
        assert_eq!(rejected, vec![(0, INVALID_PRODUCER_EPOCH)]);
    }

    #[test]
    fn producers_with_an_open_transaction_do_not_expire() {
        let mut plan = ApplyPlan::new(state(0, 0, 0));
        plan.append(1, &[txn_data(9, 0, 0, 1), produced(8, 0, 0, 1)]);
        assert_eq!(
            plan.expire_producers(i64::MAX),
            PartitionResponse::ProducersExpired { producers: vec![8] }
        );
        plan.txn_marker(2, &marker(9, 0, true), 1);
        assert_eq!(
            plan.expire_producers(i64::MAX),
            PartitionResponse::ProducersExpired { producers: vec![9] }
        );
        // Its marker numbers went with it.
        assert!(plan.txns.is_new_marker(9, 1));
    }

    /// The `index` column family of one partition, as a test double: what
    /// the IO layer would have stored after writing each plan.
    #[derive(Default)]
    struct StoredIndex(std::collections::BTreeMap<u64, IndexEntry>);

    impl StoredIndex {
        fn bytes_between(&self, from: u64, to: u64) -> Result<u64, Infallible> {
            Ok(self.0.range(from..to).map(|(_, row)| row.bytes).sum())
        }

        fn write(&mut self, plan: &ApplyPlan) {
            for change in &plan.index {
                match change {
                    IndexWrite::Put(row, _) => {
                        self.0.insert(row.last_offset, *row);
                    }
                    &IndexWrite::DeleteBelow(to) => self.0.retain(|&last, _| last >= to),
                }
            }
        }

        fn kept_bytes(&self) -> u64 {
            self.0.values().map(|row| row.bytes).sum()
        }
    }

    /// Applies `entries`, `per_call` at a time, writing each plan before the
    /// next starts; returns the final state and what the index holds.
    fn apply_in_calls(
        entries: &[EntryPayload<TestConfig>],
        per_call: usize,
    ) -> (PartitionState, StoredIndex) {
        let mut stored = StoredIndex::default();
        let mut state = PartitionState::default();
        for (call, chunk) in entries.chunks(per_call).enumerate() {
            let mut plan = ApplyPlan::new(state);
            for (i, payload) in chunk.iter().enumerate() {
                let index = (call * per_call + i) as u64 + 1;
                plan.apply_entry(log_id(index), payload, |from, to| {
                    stored.bytes_between(from, to)
                })
                .unwrap();
            }
            stored.write(&plan);
            state = plan.state;
        }
        (state, stored)
    }

    #[test]
    fn kept_bytes_do_not_depend_on_how_entries_are_grouped_into_apply_calls() {
        let append = |counts: &[usize]| {
            EntryPayload::<TestConfig>::Normal(PartitionRequest::Append {
                batches: counts
                    .iter()
                    .map(|&n| serde_bytes::ByteBuf::from(records(n, 0)))
                    .collect(),
            })
        };
        let trim = |to| {
            EntryPayload::<TestConfig>::Normal(PartitionRequest::Trim {
                log_start_offset: to,
            })
        };
        // Trims that cover rows appended in the same call, repeated trims,
        // a trim inside an entry (kept) and one past the end (clamped).
        let entries = vec![
            append(&[2]),
            append(&[3, 1]),
            trim(2),
            append(&[4]),
            trim(2),
            trim(7),
            append(&[1]),
            trim(8),
            append(&[5]),
            trim(100),
            append(&[2]),
        ];
        let (one_by_one, stored) = apply_in_calls(&entries, 1);
        assert_eq!(one_by_one.bytes, stored.kept_bytes());
        assert_eq!(
            (one_by_one.log_start_offset, one_by_one.next_offset),
            (16, 18)
        );
        for per_call in 2..=entries.len() {
            let (grouped, stored) = apply_in_calls(&entries, per_call);
            assert_eq!(grouped, one_by_one, "{per_call} entries per apply call");
            assert_eq!(grouped.bytes, stored.kept_bytes(), "{per_call} per call");
        }
    }
}
