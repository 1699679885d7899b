//! The multiplexed node-to-node transport.
//!
//! One TCP connection per broker pair carries the RPCs of every Raft group and
//! every broker service, in both directions: whichever side needs the peer
//! first dials it, and the other side reuses the accepted connection for its
//! own requests. Requests and responses are matched by id, so many RPCs are in
//! flight at once; the writer task drains its queue into one buffer before each
//! write, so frames that queue up together go out in one syscall.
//!
//! Failure handling: a connect that fails sets an exponential backoff for that
//! peer (calls fail fast as `Unreachable` until it expires); every call has a
//! timeout; a frame with a bad length or header closes that one connection
//! with a logged error and fails its pending calls — the broker keeps running.
//!
//! A peer whose process is gone shows at once: its connection closes, and the
//! transport dials it again right away; when that connect is refused (nothing
//! listens at the peer's address any more) it tells [`Transport::subscribe_gone`]
//! subscribers, so that the groups the peer led need not wait out their
//! election timeouts (see the broker's `failover`). A peer that is paused or
//! cut off refuses nothing: its connects time out, and only timers notice.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use crate::frame::{check_length, Frame, FrameKind, HELLO_MAGIC};

/// A broker id.
pub type NodeId = u64;

/// The future a [`RpcHandler`] returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send>>;

/// Serves requests that peers send to this broker.
pub trait RpcHandler: Send + Sync + 'static {
    /// Handles one request from broker `from`; `Err` is sent back as an error frame.
    fn handle(&self, from: NodeId, service: u8, group: u64, body: Vec<u8>) -> HandlerFuture;
}

/// Tunables of the transport.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// How long a TCP connect may take.
    pub connect_timeout: Duration,
    /// Largest frame accepted from a peer; bigger ones close the connection.
    pub max_frame_bytes: u32,
    /// First reconnect delay after a failed connect.
    pub backoff_min: Duration,
    /// Largest reconnect delay.
    pub backoff_max: Duration,
    /// How long an accepted connection may take to say hello.
    pub hello_timeout: Duration,
    /// Source address of outgoing connections (the Raft listener's IP when it
    /// is a specific one), so that peers and firewalls see this broker at one
    /// address; `None` lets the OS choose.
    pub local_ip: Option<std::net::IpAddr>,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            max_frame_bytes: 64 << 20,
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
            hello_timeout: Duration::from_secs(5),
            local_ip: None,
        }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RpcError {
    /// No connection could be made (or it broke before the response came).
    #[error("broker {peer} unreachable: {reason}")]
    Unreachable { peer: NodeId, reason: String },
    /// The response did not arrive in time.
    #[error("broker {peer} did not answer within {after:?}")]
    Timeout { peer: NodeId, after: Duration },
    /// The peer answered with an error.
    #[error("broker {peer} answered with an error: {message}")]
    Remote { peer: NodeId, message: String },
}

/// The transport; cheap to clone.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    id: NodeId,
    config: TransportConfig,
    addresses: RwLock<HashMap<NodeId, String>>,
    peers: Mutex<HashMap<NodeId, PeerSlot>>,
    handler: OnceLock<Arc<dyn RpcHandler>>,
    next_request_id: AtomicU64,
    shutdown: watch::Sender<bool>,
    throttle: crate::throttle::Throttle,
    gone: tokio::sync::broadcast::Sender<NodeId>,
}

#[derive(Default)]
struct PeerSlot {
    connection: Option<Arc<Connection>>,
    dial_lock: Arc<tokio::sync::Mutex<()>>,
    backoff: Duration,
    retry_at: Option<Instant>,
    /// When the last connection closed, until a new one opens.
    lost_at: Option<Instant>,
}

/// What a caller needs to dial a peer: the per-peer dial lock and when the
/// backoff after the last failed connect ends.
type DialTicket = (Arc<tokio::sync::Mutex<()>>, Option<Instant>);

type Pending = Mutex<HashMap<u64, oneshot::Sender<Result<Vec<u8>, String>>>>;

struct Connection {
    tx: mpsc::UnboundedSender<Frame>,
    pending: Pending,
    closed: watch::Sender<bool>,
    /// Bytes queued for the writer and not yet written.
    queued: AtomicUsize,
}

/// Most bytes of requests queued on one connection; beyond it, calls fail at
/// once (the peer or the network is not keeping up) instead of piling up memory.
const MAX_QUEUED_BYTES: usize = 128 << 20;

impl Connection {
    /// Queues a frame for the writer; `false` if the connection is gone.
    fn enqueue(&self, frame: Frame) -> bool {
        self.queued.fetch_add(frame.body.len(), Ordering::Relaxed);
        self.tx.send(frame).is_ok()
    }

    fn is_open(&self) -> bool {
        !*self.closed.borrow()
    }

    fn close(&self) {
        self.closed.send_replace(true);
        // Dropping the senders wakes every waiting caller with an error.
        self.pending.lock().expect("pending lock").clear();
    }
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("id", &self.inner.id)
            .finish()
    }
}

impl Transport {
    /// A transport for broker `id`. Call [`Transport::serve`] to accept peers.
    pub fn new(id: NodeId, config: TransportConfig) -> Self {
        let (shutdown, _) = watch::channel(false);
        let (gone, _) = tokio::sync::broadcast::channel(64);
        Self {
            inner: Arc::new(Inner {
                id,
                config,
                addresses: RwLock::default(),
                peers: Mutex::default(),
                handler: OnceLock::new(),
                next_request_id: AtomicU64::new(1),
                shutdown,
                throttle: crate::throttle::Throttle::default(),
                gone,
            }),
        }
    }

    /// This broker's id.
    pub fn id(&self) -> NodeId {
        self.inner.id
    }

    /// Sets the handler for incoming requests; only the first call has effect.
    pub fn set_handler(&self, handler: Arc<dyn RpcHandler>) {
        let _ = self.inner.handler.set(handler);
    }

    /// Peers whose connect was refused after their connection to this
    /// process closed: their process is gone (crashed or stopped), not merely
    /// slow or cut off. Sent on every such refused connect, so a peer that
    /// stays down is reported again at each reconnect attempt; a peer never
    /// reached since this process started is not reported.
    pub fn subscribe_gone(&self) -> tokio::sync::broadcast::Receiver<NodeId> {
        self.inner.gone.subscribe()
    }

    /// The replication throttle of this broker's groups (see [`crate::throttle`]).
    pub fn throttle(&self) -> &crate::throttle::Throttle {
        &self.inner.throttle
    }

    /// Records (or changes) the Raft address of broker `peer`.
    pub fn set_address(&self, peer: NodeId, addr: &str) {
        let mut addresses = self.inner.addresses.write().expect("address lock");
        if addresses.get(&peer).map(String::as_str) != Some(addr) {
            addresses.insert(peer, addr.to_string());
        }
    }

    /// The address known for `peer`.
    pub fn address(&self, peer: NodeId) -> Option<String> {
        self.inner
            .addresses
            .read()
            .expect("address lock")
            .get(&peer)
            .cloned()
    }

    /// Whether this broker's connection to `peer` closed less than `window`
    /// ago and none has opened since: the peer may be gone, which the
    /// reconnect that follows tells at once ([`Transport::subscribe_gone`]).
    pub fn lost_within(&self, peer: NodeId, window: Duration) -> bool {
        let peers = self.inner.peers.lock().expect("peers lock");
        peers.get(&peer).is_some_and(|slot| {
            !slot.connection.as_ref().is_some_and(|c| c.is_open())
                && slot.lost_at.is_some_and(|at| at.elapsed() < window)
        })
    }

    /// How many peers this broker has an open connection to.
    pub fn open_connections(&self) -> usize {
        let peers = self.inner.peers.lock().expect("peers lock");
        peers
            .values()
            .filter(|slot| slot.connection.as_ref().is_some_and(|c| c.is_open()))
            .count()
    }

    /// Closes every connection and stops accepting.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        let peers = std::mem::take(&mut *self.inner.peers.lock().expect("peers lock"));
        for slot in peers.into_values() {
            if let Some(conn) = slot.connection {
                conn.close();
            }
        }
    }

    /// Accepts peer connections on `listener` until [`Transport::shutdown`].
    pub async fn serve(&self, listener: TcpListener) {
        let mut shutdown = self.inner.shutdown.subscribe();
        loop {
            tokio::select! {
                _ = crate::until_true(&mut shutdown) => return,
                accepted = listener.accept() => match accepted {
                    Ok((stream, remote)) => {
                        let this = self.clone();
                        tokio::spawn(async move {
                            if let Err(reason) = this.accept(stream).await {
                                tracing::warn!(%remote, %reason, "rejected inbound raft connection");
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed on raft listener");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
    }

    async fn accept(&self, stream: TcpStream) -> Result<(), String> {
        stream.set_nodelay(true).ok();
        let (read, write) = stream.into_split();
        let mut read = BufReader::new(read);
        let hello = tokio::time::timeout(
            self.inner.config.hello_timeout,
            read_frame(&mut read, self.inner.config.max_frame_bytes),
        )
        .await
        .map_err(|_| "no hello within the timeout".to_string())??;
        if hello.kind != FrameKind::Hello || hello.body != HELLO_MAGIC {
            return Err(format!(
                "first frame is {:?}, not a cairn hello",
                hello.kind
            ));
        }
        let peer = hello.id;
        let conn = self.attach(peer, read, write);
        let mut peers = self.inner.peers.lock().expect("peers lock");
        let slot = peers.entry(peer).or_default();
        if !slot.connection.as_ref().is_some_and(|c| c.is_open()) {
            slot.connection = Some(conn);
            slot.retry_at = None;
            slot.backoff = Duration::ZERO;
            slot.lost_at = None;
        }
        Ok(())
    }

    /// Sends a request to `peer` and waits up to `timeout` for its response.
    pub async fn call(
        &self,
        peer: NodeId,
        service: u8,
        group: u64,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, RpcError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let conn = tokio::time::timeout_at(deadline, self.connection(peer))
            .await
            .map_err(|_| RpcError::Timeout {
                peer,
                after: timeout,
            })??;
        let id = self.inner.next_request_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        conn.pending.lock().expect("pending lock").insert(id, tx);
        if conn.queued.load(Ordering::Relaxed) + body.len() > MAX_QUEUED_BYTES {
            conn.pending.lock().expect("pending lock").remove(&id);
            return Err(RpcError::Unreachable {
                peer,
                reason: "send queue is full".into(),
            });
        }
        let frame = Frame {
            kind: FrameKind::Request,
            id,
            service,
            group,
            body,
        };
        if !conn.enqueue(frame) || !conn.is_open() {
            conn.pending.lock().expect("pending lock").remove(&id);
            return Err(RpcError::Unreachable {
                peer,
                reason: "connection closed".into(),
            });
        }
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(Ok(body))) => Ok(body),
            Ok(Ok(Err(message))) => Err(RpcError::Remote { peer, message }),
            Ok(Err(_)) => Err(RpcError::Unreachable {
                peer,
                reason: "connection closed before the response".into(),
            }),
            Err(_) => {
                conn.pending.lock().expect("pending lock").remove(&id);
                Err(RpcError::Timeout {
                    peer,
                    after: timeout,
                })
            }
        }
    }

    /// The open connection to `peer`, or what is needed to dial it.
    fn live_connection(&self, peer: NodeId) -> Result<Arc<Connection>, DialTicket> {
        let mut peers = self.inner.peers.lock().expect("peers lock");
        let slot = peers.entry(peer).or_default();
        match &slot.connection {
            Some(conn) if conn.is_open() => Ok(conn.clone()),
            _ => Err((slot.dial_lock.clone(), slot.retry_at)),
        }
    }

    async fn connection(&self, peer: NodeId) -> Result<Arc<Connection>, RpcError> {
        if *self.inner.shutdown.borrow() {
            return Err(RpcError::Unreachable {
                peer,
                reason: "transport is shut down".into(),
            });
        }
        let dial_lock = match self.live_connection(peer) {
            Ok(conn) => return Ok(conn),
            Err((_, Some(retry_at))) if retry_at > Instant::now() => {
                return Err(RpcError::Unreachable {
                    peer,
                    reason: "reconnect backoff".into(),
                });
            }
            Err((lock, _)) => lock,
        };
        let _dialing = dial_lock.lock().await;
        if let Ok(conn) = self.live_connection(peer) {
            return Ok(conn);
        }
        let addr = self.address(peer).ok_or_else(|| RpcError::Unreachable {
            peer,
            reason: "no known address".into(),
        })?;
        match self.dial(peer, &addr).await {
            Ok(conn) => {
                let mut peers = self.inner.peers.lock().expect("peers lock");
                let slot = peers.entry(peer).or_default();
                slot.connection = Some(conn.clone());
                slot.backoff = Duration::ZERO;
                slot.retry_at = None;
                slot.lost_at = None;
                Ok(conn)
            }
            Err(DialError { refused, reason }) => {
                // Only a peer this process was connected to can be gone: one
                // never reached (it is still starting, as after a full
                // restart) may well be about to lead again.
                let was_connected = {
                    let mut peers = self.inner.peers.lock().expect("peers lock");
                    let slot = peers.entry(peer).or_default();
                    let config = &self.inner.config;
                    slot.backoff = (slot.backoff * 2).clamp(config.backoff_min, config.backoff_max);
                    slot.retry_at = Some(Instant::now() + slot.backoff);
                    tracing::debug!(peer, %addr, %reason, backoff = ?slot.backoff, "connect failed");
                    slot.lost_at.is_some()
                };
                if refused && was_connected && !*self.inner.shutdown.borrow() {
                    let _ = self.inner.gone.send(peer);
                }
                Err(RpcError::Unreachable {
                    peer,
                    reason: format!("connect to {addr}: {reason}"),
                })
            }
        }
    }

    async fn dial(&self, peer: NodeId, addr: &str) -> Result<Arc<Connection>, DialError> {
        let stream = tokio::time::timeout(
            self.inner.config.connect_timeout,
            connect(addr, self.inner.config.local_ip),
        )
        .await
        .map_err(|_| DialError::other("connect timed out"))?
        .map_err(|e| DialError {
            refused: e.kind() == std::io::ErrorKind::ConnectionRefused,
            reason: e.to_string(),
        })?;
        stream.set_nodelay(true).ok();
        let (read, mut write) = stream.into_split();
        let mut hello = Vec::new();
        Frame {
            kind: FrameKind::Hello,
            id: self.inner.id,
            service: 0,
            group: 0,
            body: HELLO_MAGIC.to_vec(),
        }
        .encode(&mut hello);
        write
            .write_all(&hello)
            .await
            .map_err(|e| DialError::other(e.to_string()))?;
        Ok(self.attach(peer, BufReader::new(read), write))
    }

    fn attach(
        &self,
        peer: NodeId,
        read: BufReader<OwnedReadHalf>,
        write: OwnedWriteHalf,
    ) -> Arc<Connection> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (closed, _) = watch::channel(false);
        let conn = Arc::new(Connection {
            tx,
            pending: Mutex::default(),
            closed,
            queued: AtomicUsize::new(0),
        });
        tokio::spawn(write_loop(
            write,
            rx,
            conn.clone(),
            self.inner.shutdown.subscribe(),
        ));
        let this = self.clone();
        let reader_conn = conn.clone();
        tokio::spawn(async move {
            let reason = this.read_loop(peer, read, &reader_conn).await;
            reader_conn.close();
            match reason {
                Ok(()) => tracing::debug!(peer, "raft connection closed"),
                Err(reason) => tracing::warn!(peer, %reason, "raft connection closed"),
            }
            {
                let mut peers = this.inner.peers.lock().expect("peers lock");
                let slot = peers.entry(peer).or_default();
                if !slot.connection.as_ref().is_some_and(|c| c.is_open()) {
                    slot.lost_at.get_or_insert_with(Instant::now);
                }
            }
            // Dial again at once: a refused connect reports the peer gone
            // now rather than at the next call.
            if !*this.inner.shutdown.borrow() {
                let _ = this.connection(peer).await;
            }
        });
        tracing::debug!(peer, "raft connection open");
        conn
    }

    async fn read_loop(
        &self,
        peer: NodeId,
        mut read: BufReader<OwnedReadHalf>,
        conn: &Arc<Connection>,
    ) -> Result<(), String> {
        let mut closed = conn.closed.subscribe();
        let mut shutdown = self.inner.shutdown.subscribe();
        loop {
            let frame = tokio::select! {
                _ = crate::until_true(&mut closed) => return Ok(()),
                _ = crate::until_true(&mut shutdown) => return Ok(()),
                frame = read_frame(&mut read, self.inner.config.max_frame_bytes) => frame?,
            };
            match frame.kind {
                FrameKind::Request => {
                    let Some(handler) = self.inner.handler.get().cloned() else {
                        let reply = Frame {
                            kind: FrameKind::Error,
                            body: b"broker is starting".to_vec(),
                            ..frame
                        };
                        conn.enqueue(reply);
                        continue;
                    };
                    let conn = conn.clone();
                    tokio::spawn(async move {
                        let (id, service, group) = (frame.id, frame.service, frame.group);
                        let (kind, body) =
                            match handler.handle(peer, service, group, frame.body).await {
                                Ok(body) => (FrameKind::Response, body),
                                Err(message) => (FrameKind::Error, message.into_bytes()),
                            };
                        conn.enqueue(Frame {
                            kind,
                            id,
                            service,
                            group,
                            body,
                        });
                    });
                }
                FrameKind::Response | FrameKind::Error => {
                    let waiter = conn.pending.lock().expect("pending lock").remove(&frame.id);
                    if let Some(waiter) = waiter {
                        let result = if frame.kind == FrameKind::Response {
                            Ok(frame.body)
                        } else {
                            Err(String::from_utf8_lossy(&frame.body).into_owned())
                        };
                        let _ = waiter.send(result);
                    }
                }
                FrameKind::Hello => return Err("unexpected second hello".into()),
            }
        }
    }
}

async fn read_frame(read: &mut BufReader<OwnedReadHalf>, max: u32) -> Result<Frame, String> {
    let len = read
        .read_u32()
        .await
        .map_err(|e| format!("read length: {e}"))?;
    let len = check_length(len, max).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; len];
    read.read_exact(&mut buf)
        .await
        .map_err(|e| format!("read {len}-byte frame: {e}"))?;
    Frame::decode(&buf).map_err(|e| e.to_string())
}

/// Why a dial failed; `refused` when nothing listens at the address.
struct DialError {
    refused: bool,
    reason: String,
}

impl DialError {
    fn other(reason: impl Into<String>) -> Self {
        Self {
            refused: false,
            reason: reason.into(),
        }
    }
}

/// Connects to `addr`, from `local_ip` (any port) when given.
async fn connect(addr: &str, local_ip: Option<std::net::IpAddr>) -> std::io::Result<TcpStream> {
    let Some(ip) = local_ip else {
        return TcpStream::connect(addr).await;
    };
    let mut last = std::io::Error::other(format!("{addr} resolves to no address"));
    for remote in tokio::net::lookup_host(addr).await? {
        if remote.is_ipv4() != ip.is_ipv4() {
            continue;
        }
        let socket = if remote.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.bind(std::net::SocketAddr::new(ip, 0))?;
        match socket.connect(remote).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Drains queued frames into one buffer per write so bursts share a syscall.
async fn write_loop(
    mut write: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Frame>,
    conn: Arc<Connection>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut closed = conn.closed.subscribe();
    const MAX_COALESCED: usize = 1 << 20;
    let mut buf = Vec::with_capacity(64 << 10);
    loop {
        let first = tokio::select! {
            _ = crate::until_true(&mut closed) => break,
            _ = crate::until_true(&mut shutdown) => break,
            frame = rx.recv() => match frame { Some(f) => f, None => break },
        };
        buf.clear();
        let mut bodies = first.body.len();
        first.encode(&mut buf);
        while buf.len() < MAX_COALESCED {
            match rx.try_recv() {
                Ok(frame) => {
                    bodies += frame.body.len();
                    frame.encode(&mut buf);
                }
                Err(_) => break,
            }
        }
        let written = write.write_all(&buf).await;
        conn.queued.fetch_sub(bodies, Ordering::Relaxed);
        if let Err(e) = written {
            tracing::debug!(error = %e, "raft connection write failed");
            conn.close();
            break;
        }
    }
    let _ = write.shutdown().await;
}
