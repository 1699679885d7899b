//! The controller loop: while this broker leads the metadata group, it fences
//! silent brokers, unfences returning ones and adds newly registered brokers as
//! metadata learners. The decisions themselves are the pure functions of
//! `cairn_meta::controller`; controller *requests* (create topic, ...) are
//! carried out by [`crate::metadata::MetaNode::submit`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::BasicNode;
use tokio::sync::watch;

use cairn_meta::controller::{learners_to_add, liveness_changes};

use crate::clock::now_ms;
use crate::shared::Core;

/// The controller loop; acts only while this broker leads the metadata group.
pub async fn run(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(
        core.config().heartbeat_interval_ms.max(100),
    ));
    let mut leader_since: Option<u64> = None;
    // Learners being added, with when the attempt started (retried after a while).
    let mut adding: BTreeMap<u64, u64> = BTreeMap::new();
    loop {
        tokio::select! {
            _ = cairn_raft::until_true(&mut stop) => return,
            _ = ticker.tick() => {}
        }
        if !core.meta().is_leader() {
            leader_since = None;
            continue;
        }
        let now = now_ms();
        let since = *leader_since.get_or_insert(now);
        let state = core.meta().reader.read(Clone::clone);
        // Heartbeat ages, converted to wall-clock times for the pure decision.
        let instant_now = Instant::now();
        let last_heard: BTreeMap<u64, u64> = state
            .brokers
            .keys()
            .filter_map(|&id| {
                let at = if id == core.id() {
                    Some(instant_now)
                } else {
                    core.knowledge().last_heard(id)
                };
                at.map(|at| {
                    (
                        id,
                        now.saturating_sub(
                            instant_now.saturating_duration_since(at).as_millis() as u64
                        ),
                    )
                })
            })
            .collect();
        for command in liveness_changes(
            &state,
            &last_heard,
            now,
            core.config().session_timeout_ms,
            since,
        ) {
            tracing::info!(?command, "controller changes broker liveness");
            if let Err(e) = core.meta().propose(command).await {
                tracing::warn!(error = %e, "liveness change not applied");
            }
        }
        let members: BTreeSet<u64> = core
            .meta()
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .nodes()
            .map(|(id, _)| *id)
            .collect();
        // One membership change at a time (openraft refuses a second while
        // one is uncommitted); an attempt that has not made the broker a
        // member within a second is retried.
        adding.retain(|id, started| !members.contains(id) && now.saturating_sub(*started) < 1_000);
        if let Some((id, addr)) = learners_to_add(&state, &members)
            .into_iter()
            .next()
            .filter(|_| adding.is_empty())
        {
            adding.insert(id, now);
            let raft = core.meta().raft.clone();
            core.tasks().spawn("add metadata learner", async move {
                tracing::info!(id, %addr, "adding broker to the metadata group as a learner");
                if let Err(e) = raft.add_learner(id, BasicNode { addr }, false).await {
                    tracing::warn!(id, error = %e, "cannot add metadata learner");
                }
            });
        }
    }
}
