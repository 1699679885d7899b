//! openraft's network traits on top of the shared [`Transport`]: every group's
//! RPCs to a broker travel on the one connection to that broker, tagged with the
//! group id. [`serve_raft_rpc`] is the receiving side.

use std::marker::PhantomData;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, Raft};
use serde::de::DeserializeOwned;
use serde::Serialize;

use cairn_common::metrics::{metrics, PeerLabel};
use cairn_storage::{GroupId, GroupTypeConfig};

use crate::transport::{NodeId, RpcError, Transport};

/// Service ids of the Raft RPCs. Broker services use ids from [`service::FIRST_BROKER_SERVICE`].
pub mod service {
    /// AppendEntries (also heartbeats).
    pub const APPEND: u8 = 1;
    /// RequestVote.
    pub const VOTE: u8 = 2;
    /// InstallSnapshot chunk.
    pub const SNAPSHOT: u8 = 3;
    /// The first id free for broker-level services.
    pub const FIRST_BROKER_SERVICE: u8 = 16;
}

/// Creates per-target clients for one group.
pub struct GroupNetworkFactory<C> {
    transport: Transport,
    group: GroupId,
    _types: PhantomData<fn() -> C>,
}

impl<C> GroupNetworkFactory<C> {
    /// The network of `group` over `transport`.
    pub fn new(transport: Transport, group: GroupId) -> Self {
        Self {
            transport,
            group,
            _types: PhantomData,
        }
    }
}

/// One group's client for one target broker.
pub struct GroupNetwork<C> {
    transport: Transport,
    group: GroupId,
    target: NodeId,
    _types: PhantomData<fn() -> C>,
}

impl<C> RaftNetworkFactory<C> for GroupNetworkFactory<C>
where
    C: GroupTypeConfig,
    C::D: Serialize + DeserializeOwned,
    C::R: Serialize + DeserializeOwned,
{
    type Network = GroupNetwork<C>;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Self::Network {
        if !node.addr.is_empty() {
            self.transport.set_address(target, &node.addr);
        }
        GroupNetwork {
            transport: self.transport.clone(),
            group: self.group,
            target,
            _types: PhantomData,
        }
    }
}

impl<C> GroupNetwork<C> {
    async fn call<Req, Resp, E>(
        &self,
        service: u8,
        request: &Req,
        ttl: Duration,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let body =
            bincode::serialize(request).map_err(|e| RPCError::Network(NetworkError::new(&*e)))?;
        if service == service::APPEND {
            metrics()
                .raft
                .sent_bytes
                .get_or_create(&PeerLabel { peer: self.target })
                .inc_by(body.len() as u64);
        }
        if service != service::VOTE {
            self.transport
                .throttle()
                .wait(self.group, self.target, body.len(), ttl / 2)
                .await;
        }
        let reply = self
            .transport
            .call(self.target, service, self.group, body, ttl)
            .await;
        let bytes = match reply {
            Ok(bytes) => bytes,
            Err(e @ RpcError::Timeout { .. }) | Err(e @ RpcError::Remote { .. }) => {
                return Err(RPCError::Network(NetworkError::new(&e)));
            }
            Err(e @ RpcError::Unreachable { .. }) => {
                return Err(RPCError::Unreachable(Unreachable::new(&e)))
            }
        };
        let result: Result<Resp, E> =
            bincode::deserialize(&bytes).map_err(|e| RPCError::Network(NetworkError::new(&*e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl<C> RaftNetwork<C> for GroupNetwork<C>
where
    C: GroupTypeConfig,
    C::D: Serialize + DeserializeOwned,
    C::R: Serialize + DeserializeOwned,
{
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<C>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        if !rpc.entries.is_empty() {
            metrics()
                .raft
                .sent_entries
                .get_or_create(&PeerLabel { peer: self.target })
                .inc_by(rpc.entries.len() as u64);
        }
        self.call(service::APPEND, &rpc, option.hard_ttl()).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<C>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(service::SNAPSHOT, &rpc, option.hard_ttl()).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call(service::VOTE, &rpc, option.hard_ttl()).await
    }
}

/// Hands a Raft RPC received from a peer to the local `raft` and encodes its answer.
pub async fn serve_raft_rpc<C>(raft: &Raft<C>, service: u8, body: &[u8]) -> Result<Vec<u8>, String>
where
    C: GroupTypeConfig,
    C::D: Serialize + DeserializeOwned,
    C::R: Serialize + DeserializeOwned,
{
    fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, String> {
        bincode::deserialize(body).map_err(|e| format!("malformed {what} request: {e}"))
    }
    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
        bincode::serialize(value).map_err(|e| format!("cannot encode response: {e}"))
    }
    match service {
        service::APPEND => encode(
            &raft
                .append_entries(decode::<AppendEntriesRequest<C>>(body, "append")?)
                .await,
        ),
        service::VOTE => encode(
            &raft
                .vote(decode::<VoteRequest<NodeId>>(body, "vote")?)
                .await,
        ),
        service::SNAPSHOT => encode(
            &raft
                .install_snapshot(decode::<InstallSnapshotRequest<C>>(body, "snapshot")?)
                .await,
        ),
        other => Err(format!("unknown raft service {other}")),
    }
}
