//! The transaction coordinator's decisions, one behaviour per test.

use super::*;
use crate::error::error_code::{
    CONCURRENT_TRANSACTIONS, INVALID_PRODUCER_ID_MAPPING, INVALID_TRANSACTION_TIMEOUT,
    INVALID_TXN_STATE, PRODUCER_FENCED,
};

const TXN: &str = "orders-processor";
const TIMEOUT: i32 = 60_000;

fn coordinator() -> TransactionCoordinator {
    TransactionCoordinator::new(TxnConfig::default())
}

fn init(
    c: &mut TransactionCoordinator,
    producer: Option<(i64, i16)>,
    fresh: i64,
    now: u64,
) -> Vec<TxnDecision> {
    c.apply(
        TxnEvent::InitProducerId {
            transactional_id: TXN.into(),
            timeout_ms: TIMEOUT,
            producer,
            fresh_producer_id: fresh,
        },
        now,
    )
}

fn add(
    c: &mut TransactionCoordinator,
    pid: i64,
    epoch: i16,
    parts: &[(&str, i32)],
    now: u64,
) -> Vec<TxnDecision> {
    c.apply(
        TxnEvent::AddPartitions {
            transactional_id: TXN.into(),
            producer_id: pid,
            producer_epoch: epoch,
            partitions: parts.iter().map(|(t, p)| (t.to_string(), *p)).collect(),
        },
        now,
    )
}

fn end(
    c: &mut TransactionCoordinator,
    pid: i64,
    epoch: i16,
    commit: bool,
    now: u64,
) -> Vec<TxnDecision> {
    c.apply(
        TxnEvent::EndTxn {
            transactional_id: TXN.into(),
            producer_id: pid,
            producer_epoch: epoch,
            commit,
        },
        now,
    )
}

fn written(c: &mut TransactionCoordinator, pid: i64, epoch: i16, now: u64) -> Vec<TxnDecision> {
    c.apply(
        TxnEvent::MarkersWritten {
            transactional_id: TXN.into(),
            producer_id: pid,
            producer_epoch: epoch,
        },
        now,
    )
}

fn producer(pid: i64, epoch: i16) -> TxnDecision {
    TxnDecision::Respond(TxnAnswer::Producer {
        producer_id: pid,
        producer_epoch: epoch,
    })
}

fn done() -> TxnDecision {
    TxnDecision::Respond(TxnAnswer::Done)
}

fn error(code: i16) -> TxnDecision {
    TxnDecision::Respond(TxnAnswer::Error(code))
}

fn markers(pid: i64, epoch: i16, commit: bool, parts: &[(&str, i32)]) -> TxnDecision {
    TxnDecision::WriteMarkers {
        transactional_id: TXN.into(),
        producer_id: pid,
        producer_epoch: epoch,
        commit,
        partitions: parts.iter().map(|(t, p)| (t.to_string(), *p)).collect(),
    }
}

fn state(c: &TransactionCoordinator) -> TxnState {
    c.describe(TXN).expect("the transactional id").state
}

#[test]
fn a_new_transactional_id_gets_the_fresh_producer_id_and_each_init_bumps_the_epoch() {
    let mut c = coordinator();
    assert_eq!(init(&mut c, None, 1000, 0), [producer(1000, 0)]);
    // The next producer with the same id: same producer id, next epoch.
    assert_eq!(init(&mut c, None, 1001, 1), [producer(1000, 1)]);
    assert_eq!(state(&c), TxnState::Empty);
}

#[test]
fn a_timeout_outside_the_allowed_range_is_refused() {
    let mut c = coordinator();
    for timeout_ms in [0, -5, TxnConfig::default().max_timeout_ms + 1] {
        let decisions = c.apply(
            TxnEvent::InitProducerId {
                transactional_id: TXN.into(),
                timeout_ms,
                producer: None,
                fresh_producer_id: 7,
            },
            0,
        );
        assert_eq!(
            decisions,
            [error(INVALID_TRANSACTION_TIMEOUT)],
            "{timeout_ms}"
        );
    }
    assert!(c.describe(TXN).is_none());
}

#[test]
fn a_committed_transaction_writes_commit_markers_to_its_partitions_then_completes() {
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    assert_eq!(
        add(&mut c, 1000, 0, &[("out", 1), ("out", 0)], 10),
        [done()]
    );
    assert_eq!(
        add(
            &mut c,
            1000,
            0,
            &[("__consumer_offsets", 7), ("out", 0)],
            11
        ),
        [done()]
    );
    assert_eq!(state(&c), TxnState::Ongoing);
    assert_eq!(
        end(&mut c, 1000, 0, true, 20),
        [
            done(),
            markers(
                1000,
                0,
                true,
                &[("__consumer_offsets", 7), ("out", 0), ("out", 1)]
            )
        ]
    );
    assert_eq!(state(&c), TxnState::PrepareCommit);
    // While the markers are written, the transaction is closed to changes;
    // a retried EndTxn is told to wait.
    assert_eq!(
        add(&mut c, 1000, 0, &[("out", 2)], 21),
        [error(CONCURRENT_TRANSACTIONS)]
    );
    assert_eq!(
        end(&mut c, 1000, 0, true, 22),
        [error(CONCURRENT_TRANSACTIONS)]
    );
    assert_eq!(end(&mut c, 1000, 0, false, 22), [error(INVALID_TXN_STATE)]);
    assert_eq!(written(&mut c, 1000, 0, 30), []);
    assert_eq!(state(&c), TxnState::CompleteCommit);
    assert!(c.describe(TXN).unwrap().partitions.is_empty());
    // A retried commit gets the same answer; an abort of it is refused.
    assert_eq!(end(&mut c, 1000, 0, true, 31), [done()]);
    assert_eq!(end(&mut c, 1000, 0, false, 32), [error(INVALID_TXN_STATE)]);
    // The next transaction begins with its first partition.
    assert_eq!(add(&mut c, 1000, 0, &[("out", 3)], 40), [done()]);
    assert_eq!(state(&c), TxnState::Ongoing);
}

#[test]
fn an_aborted_transaction_writes_abort_markers() {
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    add(&mut c, 1000, 0, &[("out", 0)], 1);
    assert_eq!(
        end(&mut c, 1000, 0, false, 2),
        [done(), markers(1000, 0, false, &[("out", 0)])]
    );
    written(&mut c, 1000, 0, 3);
    assert_eq!(state(&c), TxnState::CompleteAbort);
    assert_eq!(end(&mut c, 1000, 0, false, 4), [done()]);
    assert_eq!(end(&mut c, 1000, 0, true, 4), [error(INVALID_TXN_STATE)]);
}

#[test]
fn ending_a_transaction_that_never_began_is_refused() {
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    assert_eq!(end(&mut c, 1000, 0, true, 1), [error(INVALID_TXN_STATE)]);
    assert_eq!(end(&mut c, 1000, 0, false, 1), [error(INVALID_TXN_STATE)]);
}

#[test]
fn a_zombie_with_an_old_epoch_is_fenced() {
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    // A second instance with the same transactional id takes over.
    init(&mut c, None, 1001, 1);
    assert_eq!(
        add(&mut c, 1000, 0, &[("out", 0)], 2),
        [error(PRODUCER_FENCED)]
    );
    assert_eq!(end(&mut c, 1000, 0, true, 2), [error(PRODUCER_FENCED)]);
    assert_eq!(add(&mut c, 1000, 1, &[("out", 0)], 3), [done()]);
}

#[test]
fn requests_with_a_foreign_producer_id_or_an_unknown_transactional_id_are_refused() {
    let mut c = coordinator();
    assert_eq!(
        add(&mut c, 1000, 0, &[("out", 0)], 0),
        [error(INVALID_PRODUCER_ID_MAPPING)]
    );
    assert_eq!(
        end(&mut c, 1000, 0, true, 0),
        [error(INVALID_PRODUCER_ID_MAPPING)]
    );
    init(&mut c, None, 1000, 0);
    assert_eq!(
        add(&mut c, 4242, 0, &[("out", 0)], 1),
        [error(INVALID_PRODUCER_ID_MAPPING)]
    );
    // A producer that claims an id the coordinator never gave.
    let mut fresh = coordinator();
    assert_eq!(
        init(&mut fresh, Some((1000, 3)), 1, 0),
        [error(INVALID_PRODUCER_ID_MAPPING)]
    );
}

#[test]
fn a_new_producer_aborts_the_open_transaction_of_the_old_one_and_fences_it() {
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    add(&mut c, 1000, 0, &[("out", 0), ("out", 1)], 1);
    // The new instance must wait for the abort, which runs under epoch 1.
    assert_eq!(
        init(&mut c, None, 1001, 2),
        [
            error(CONCURRENT_TRANSACTIONS),
            markers(1000, 1, false, &[("out", 0), ("out", 1)])
        ]
    );
    assert_eq!(
        init(&mut c, None, 1001, 3),
        [error(CONCURRENT_TRANSACTIONS)]
    );
    // The old producer can no longer commit what it wrote.
    assert_eq!(end(&mut c, 1000, 0, true, 4), [error(PRODUCER_FENCED)]);
    written(&mut c, 1000, 1, 5);
    assert_eq!(state(&c), TxnState::CompleteAbort);
    assert_eq!(init(&mut c, None, 1001, 6), [producer(1000, 2)]);
    // And the old one's epoch stays fenced after the new one's start.
    assert_eq!(
        init(&mut c, Some((1000, 0)), 1002, 7),
        [error(PRODUCER_FENCED)]
    );
}

#[test]
fn a_transaction_open_past_its_timeout_is_aborted_and_its_producer_fenced() {
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    add(&mut c, 1000, 0, &[("out", 0)], 100);
    assert_eq!(c.apply(TxnEvent::Tick, 100 + TIMEOUT as u64 - 1), []);
    assert_eq!(
        c.apply(TxnEvent::Tick, 100 + TIMEOUT as u64),
        [markers(1000, 1, false, &[("out", 0)])]
    );
    assert_eq!(state(&c), TxnState::PrepareAbort);
    assert_eq!(
        end(&mut c, 1000, 0, true, 100 + TIMEOUT as u64 + 1),
        [error(PRODUCER_FENCED)]
    );
    // A request that arrives after the deadline triggers the abort itself,
    // and its answer comes first.
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    add(&mut c, 1000, 0, &[("out", 0)], 0);
    assert_eq!(
        end(&mut c, 1000, 0, true, TIMEOUT as u64),
        [
            error(PRODUCER_FENCED),
            markers(1000, 1, false, &[("out", 0)])
        ]
    );
}

#[test]
fn a_producer_that_reinitialises_after_its_abort_keeps_going() {
    // KIP-360: the producer's own InitProducerId aborts its transaction;
    // retried with its old epoch, it gets the bumped one.
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    add(&mut c, 1000, 0, &[("out", 0)], 1);
    assert_eq!(
        init(&mut c, Some((1000, 0)), 1001, 2),
        [
            error(CONCURRENT_TRANSACTIONS),
            markers(1000, 1, false, &[("out", 0)])
        ]
    );
    written(&mut c, 1000, 1, 3);
    assert_eq!(init(&mut c, Some((1000, 0)), 1001, 4), [producer(1000, 1)]);
}

#[test]
fn a_retried_init_gets_the_same_epoch_not_another_bump() {
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    assert_eq!(init(&mut c, Some((1000, 0)), 1001, 1), [producer(1000, 1)]);
    assert_eq!(init(&mut c, Some((1000, 0)), 1001, 2), [producer(1000, 1)]);
    assert_eq!(init(&mut c, Some((1000, 1)), 1001, 3), [producer(1000, 2)]);
    assert_eq!(
        init(&mut c, Some((1000, 0)), 1001, 4),
        [error(PRODUCER_FENCED)]
    );
}

#[test]
fn an_exhausted_epoch_moves_to_the_fresh_producer_id() {
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    for now in 1..i16::MAX as u64 {
        init(&mut c, None, 5000, now);
    }
    assert_eq!(c.describe(TXN).unwrap().producer_epoch, i16::MAX - 1);
    assert_eq!(init(&mut c, None, 5000, 1 << 20), [producer(5000, 0)]);
}

#[test]
fn markers_reported_twice_or_for_an_old_epoch_change_nothing() {
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    add(&mut c, 1000, 0, &[("out", 0)], 1);
    end(&mut c, 1000, 0, true, 2);
    written(&mut c, 1000, 7, 3);
    assert_eq!(state(&c), TxnState::PrepareCommit);
    written(&mut c, 1000, 0, 4);
    let completed = c.clone();
    written(&mut c, 1000, 0, 4);
    assert_eq!(c, completed);
}

#[test]
fn idle_transactional_ids_expire_and_open_ones_do_not() {
    let config = TxnConfig {
        max_timeout_ms: 900_000,
        id_expiration_ms: 1_000_000,
    };
    let mut c = TransactionCoordinator::new(config);
    init(&mut c, None, 1000, 0);
    c.apply(TxnEvent::Tick, 999_999);
    assert!(c.describe(TXN).is_some());
    c.apply(TxnEvent::Tick, 1_000_000);
    assert!(c.describe(TXN).is_none());
}

#[test]
fn time_never_runs_backwards() {
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    add(&mut c, 1000, 0, &[("out", 0)], 50_000);
    // A later entry stamped earlier (a new leader's slower clock) neither
    // un-times anything nor moves the start.
    c.apply(TxnEvent::Tick, 10);
    assert_eq!(c.describe(TXN).unwrap().started_ms, Some(50_000));
    assert_eq!(
        c.apply(TxnEvent::Tick, 50_000 + TIMEOUT as u64),
        [markers(1000, 1, false, &[("out", 0)])]
    );
}

#[test]
fn the_state_survives_a_snapshot_round_trip() {
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    add(&mut c, 1000, 0, &[("out", 0)], 1);
    let bytes = bincode::serialize(&c).unwrap();
    let restored: TransactionCoordinator = bincode::deserialize(&bytes).unwrap();
    assert_eq!(restored, c);
    let listed: Vec<(&String, TxnState)> = restored.list().map(|(id, m)| (id, m.state)).collect();
    assert_eq!(listed, [(&TXN.to_string(), TxnState::Ongoing)]);
}

#[test]
fn each_transaction_gets_the_next_number_which_its_pending_markers_carry() {
    let mut c = coordinator();
    init(&mut c, None, 1000, 0);
    assert_eq!(c.describe(TXN).unwrap().txn_seq, 0);
    add(&mut c, 1000, 0, &[("orders", 0)], 1);
    // More partitions join the same transaction.
    add(&mut c, 1000, 0, &[("orders", 1)], 2);
    assert_eq!(c.describe(TXN).unwrap().txn_seq, 1);
    assert_eq!(c.next_deadline(), Some(1 + TIMEOUT as u64));
    assert!(c.pending_markers().is_empty());
    end(&mut c, 1000, 0, true, 3);
    // Completing: no deadline until the markers are written.
    assert_eq!(c.next_deadline(), None);
    let pending = c.pending_markers();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (
            pending[0].commit,
            pending[0].txn_seq,
            pending[0].partitions.len()
        ),
        (true, 1, 2)
    );
    written(&mut c, 1000, 0, 4);
    assert!(c.pending_markers().is_empty());
    // Idle: the id expires some day.
    assert_eq!(
        c.next_deadline(),
        Some(4 + TxnConfig::default().id_expiration_ms)
    );
    add(&mut c, 1000, 0, &[("orders", 0)], 5);
    assert_eq!(c.describe(TXN).unwrap().txn_seq, 2);
    // A timeout abort carries the number of the transaction it aborts.
    c.apply(TxnEvent::Tick, 5 + TIMEOUT as u64);
    let pending = c.pending_markers();
    assert_eq!((pending[0].commit, pending[0].txn_seq), (false, 2));
}

#[test]
fn the_leaders_settings_apply_to_later_requests() {
    let mut c = coordinator();
    let config = TxnConfig {
        max_timeout_ms: 1_000,
        ..TxnConfig::default()
    };
    c.apply(TxnEvent::Configure(config.clone()), 0);
    assert_eq!(c.config(), &config);
    assert_eq!(
        init(&mut c, None, 1000, 1),
        [error(INVALID_TRANSACTION_TIMEOUT)]
    );
}
