//! Requests from other brokers on the node-to-node transport, routed by
//! service id: heartbeats to the dissemination knowledge and quiescence,
//! forwarded controller requests to the metadata replica, group views to
//! [`crate::group_views`], Raft RPCs to the
//! metadata group or the addressed partition group.

use std::sync::{Arc, Weak};
use std::time::Instant;

use cairn_raft::{serve_raft_rpc, service, HandlerFuture, RpcHandler};
use cairn_storage::METADATA_GROUP;

use crate::dissemination::knowledge::Heartbeat;
use crate::services;
use crate::shared::Core;

/// Routes transport requests to the broker; holds it weakly so that the
/// transport does not keep a stopped broker alive.
pub struct RpcRouter(Weak<Core>);

impl RpcRouter {
    /// A router for `core`.
    pub fn new(core: &Arc<Core>) -> Arc<Self> {
        Arc::new(Self(Arc::downgrade(core)))
    }
}

impl RpcHandler for RpcRouter {
    fn handle(&self, from: u64, service_id: u8, group: u64, body: Vec<u8>) -> HandlerFuture {
        let core = self.0.upgrade();
        Box::pin(async move {
            match core {
                Some(core) => serve_rpc(&core, from, service_id, group, body).await,
                None => Err("broker is shutting down".into()),
            }
        })
    }
}

/// Serves one request from broker `from`.
async fn serve_rpc(
    core: &Arc<Core>,
    from: u64,
    service_id: u8,
    group: u64,
    body: Vec<u8>,
) -> Result<Vec<u8>, String> {
    match service_id {
        services::HEARTBEAT => {
            let heartbeat: Heartbeat =
                bincode::deserialize(&body).map_err(|e| format!("malformed heartbeat: {e}"))?;
            if heartbeat.from != from {
                return Err(format!(
                    "heartbeat claims broker {} on broker {from}'s connection",
                    heartbeat.from
                ));
            }
            let now = Instant::now();
            core.knowledge().record(&heartbeat, now);
            core.quiet().request_wake(&heartbeat.wake, now);
            Ok(Vec::new())
        }
        services::CONTROLLER => core.meta().serve_forwarded(&body).await,
        services::GROUPS => crate::group_views::serve(core, &body),
        services::ELECT => crate::transfer::serve_elect(core, from, group).await,
        services::TRANSFER => crate::transfer::serve_transfer(core, from, group, &body).await,
        services::MOVE => crate::reassign::serve_move(core, group, &body).await,
        services::STATS => crate::console::stats::serve(core),
        services::TRIM => crate::trim::serve(core, group, &body).await,
        services::TXN_MARKER => crate::txn::markers::serve(core, group, &body).await,
        service::APPEND | service::VOTE | service::SNAPSHOT if group == METADATA_GROUP => {
            serve_raft_rpc(&core.meta().raft, service_id, &body).await
        }
        service::APPEND | service::VOTE | service::SNAPSHOT => {
            let partitions = core.partitions();
            if let Some(raft) = partitions.registry.raft(group) {
                serve_raft_rpc(&raft, service_id, &body).await
            } else if let Some(raft) = partitions.offsets.raft(group) {
                serve_raft_rpc(&raft, service_id, &body).await
            } else {
                Err(format!(
                    "group {group} does not run on broker {}",
                    core.id()
                ))
            }
        }
        other => Err(format!("unknown service {other}")),
    }
}
