//! TxnOffsetCommit: offsets held for a transaction until its marker.

use super::harness::*;
use crate::error_code::*;
use crate::txn::{TransactionCoordinator, TxnConfig, TxnEvent};
use crate::{
    decode_shard, encode_shard, Event, GroupCoordinator, Response, TxnMarkerEvent,
    TxnOffsetCommitRequest,
};

const PID: i64 = 4000;

fn txn_commit(h: &mut Harness, member: &str, generation: i32, offset: i64) -> Vec<i16> {
    let commit = h.commit_request(member, generation, &[("t", 0, offset)]);
    let decisions = h.apply(Event::TxnOffsetCommit(TxnOffsetCommitRequest {
        commit,
        producer_id: PID,
        producer_epoch: 0,
    }));
    decisions
        .iter()
        .find_map(|d| match d {
            crate::Decision::Respond {
                response: Response::OffsetCommit(topics),
                ..
            } => Some(
                topics
                    .iter()
                    .flat_map(|(_, ps)| ps.iter().map(|(_, e)| code(e)))
                    .collect(),
            ),
            _ => None,
        })
        .expect("a TxnOffsetCommit is answered")
}

fn marker(h: &mut Harness, commit: bool, txn_seq: u64) {
    h.apply(Event::TxnMarker(TxnMarkerEvent {
        producer_id: PID,
        producer_epoch: 0,
        commit,
        txn_seq,
    }));
}

fn committed(h: &Harness) -> Option<i64> {
    h.coordinator.offsets().get(GROUP, "t", 0).map(|o| o.offset)
}

#[test]
fn transactional_offsets_are_invisible_until_the_commit_marker() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    assert_eq!(
        txn_commit(&mut h, &formed.leader, formed.generation, 42),
        [NONE]
    );
    assert_eq!(committed(&h), None);
    assert!(h.coordinator.has_pending_offsets(GROUP));
    assert!(h.coordinator.has_pending_offset(GROUP, "t", 0));
    assert!(!h.coordinator.has_pending_offset(GROUP, "t", 1));
    marker(&mut h, true, 1);
    assert_eq!(committed(&h), Some(42));
    assert!(!h.coordinator.has_pending_offsets(GROUP));
    assert!(!h.coordinator.has_pending_offset(GROUP, "t", 0));
}

#[test]
fn an_abort_marker_drops_them_and_a_late_duplicate_marker_is_ignored() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    txn_commit(&mut h, &formed.leader, formed.generation, 42);
    marker(&mut h, false, 1);
    assert_eq!(committed(&h), None);
    // The next transaction's offsets wait for their own marker.
    txn_commit(&mut h, &formed.leader, formed.generation, 50);
    marker(&mut h, true, 1);
    assert_eq!(committed(&h), None);
    marker(&mut h, true, 2);
    assert_eq!(committed(&h), Some(50));
}

#[test]
fn a_transactional_commit_from_a_stale_generation_is_refused_and_not_held() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    let codes = txn_commit(&mut h, &formed.leader, formed.generation + 7, 42);
    assert_eq!(codes, [ILLEGAL_GENERATION]);
    assert!(!h.coordinator.has_pending_offsets(GROUP));
}

#[test]
fn a_commit_without_member_or_generation_is_held_for_an_unknown_group() {
    let mut h = Harness::new();
    assert_eq!(txn_commit(&mut h, "", -1, 7), [NONE]);
    marker(&mut h, true, 1);
    assert_eq!(committed(&h), Some(7));
}

#[test]
fn held_offsets_survive_the_snapshot_encoding_and_old_snapshots_still_decode() {
    let mut h = Harness::new();
    let formed = h.form_group(&["c0"]);
    txn_commit(&mut h, &formed.leader, formed.generation, 42);
    let mut txns = TransactionCoordinator::default();
    // Without transactions or held offsets: the format before them.
    let plain = GroupCoordinator::new(Default::default()).unwrap();
    assert_eq!(
        encode_shard(&plain, &txns).unwrap(),
        bincode::serialize(&plain).unwrap()
    );
    let bytes = encode_shard(&h.coordinator, &txns).unwrap();
    let (restored, restored_txns) = decode_shard(&bytes).unwrap();
    assert_eq!(restored, h.coordinator);
    assert_eq!(restored_txns, txns);
    assert!(restored.has_pending_offsets(GROUP));
    // A transaction coordinator that holds anything follows.
    txns.apply(TxnEvent::Configure(TxnConfig::default()), 5);
    let bytes = encode_shard(&plain, &txns).unwrap();
    assert_eq!(decode_shard(&bytes).unwrap(), (plain.clone(), txns));
    // Bytes as builds before transactions wrote them: the coordinator only.
    let old = bincode::serialize(&restored).unwrap();
    let (decoded, decoded_txns) = decode_shard(&old).unwrap();
    assert!(!decoded.has_pending_offsets(GROUP));
    assert_eq!(decoded.offsets(), restored.offsets());
    assert_eq!(decoded_txns, TransactionCoordinator::default());
}
