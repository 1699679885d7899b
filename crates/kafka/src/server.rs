//! The Kafka listener: one task per connection reads frames, answers each in
//! order (pipelined requests are answered in the order they arrived), and
//! closes the connection on a frame it cannot accept. A bad client never
//! affects another connection or the broker.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use cairn_common::metrics::metrics;

use crate::api::{self, Outcome};
use crate::client::Client;
use crate::cluster::KafkaCluster;
use crate::codec::{next_frame, FrameStatus};

/// Tunables of the Kafka listener.
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    /// Largest request accepted; a bigger size field closes the connection.
    pub max_frame_bytes: usize,
}

/// The default largest request (Kafka's `socket.request.max.bytes`, 100 MiB).
pub const DEFAULT_MAX_FRAME_BYTES: usize = 100 << 20;

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        }
    }
}

/// Serves Kafka clients on `listener` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    cluster: Arc<dyn KafkaCluster>,
    config: KafkaConfig,
    mut stop: watch::Receiver<bool>,
) {
    // Every connection is owned here: on stop each one sees the same signal,
    // ends, and is joined before `serve` returns.
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let cluster = cluster.clone();
                let config = config.clone();
                let stop = stop.clone();
                connections.spawn(async move {
                    let client = Client::from_peer(peer);
                    if let Err(reason) =
                        serve_connection(stream, cluster, &client, &config, stop).await
                    {
                        tracing::info!(%peer, %reason, "closed Kafka connection");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed on Kafka listener");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    let open = connections.len();
    while connections.join_next().await.is_some() {}
    tracing::debug!(
        connections = open,
        "Kafka listener stopped; every connection closed"
    );
}

/// Requests of one connection being handled at once; more wait to be read.
const MAX_IN_FLIGHT: usize = 64;

async fn serve_connection(
    stream: TcpStream,
    cluster: Arc<dyn KafkaCluster>,
    client: &Client,
    config: &KafkaConfig,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    stream.set_nodelay(true).ok();
    let _open = OpenConnection::count();
    let (mut read, write) = stream.into_split();
    let (tx, rx) = mpsc::channel::<JoinHandle<Outcome>>(MAX_IN_FLIGHT);
    let (closed_tx, mut closed) = watch::channel(false);
    let writer = tokio::spawn(write_responses(write, rx, closed_tx, stop.clone()));
    let mut buf = BytesMut::with_capacity(64 << 10);
    let read_result: Result<(), String> = async {
        loop {
            match next_frame(&buf, config.max_frame_bytes).map_err(|e| e.to_string())? {
                FrameStatus::Complete { len } => {
                    let _size = buf.split_to(4);
                    let frame = buf.split_to(len).freeze();
                    let arrived = std::time::Instant::now();
                    let api = api::api_name(
                        frame
                            .get(..2)
                            .map_or(-1, |k| i16::from_be_bytes([k[0], k[1]])),
                    );
                    // Order-sensitive work happens here, in arrival order; the
                    // rest runs concurrently and is answered in order.
                    let pending = api::handle_request(frame, &cluster, client);
                    let timed = async move {
                        let outcome = pending.await;
                        metrics().kafka.request(api, arrived.elapsed());
                        outcome
                    };
                    if tx.send(tokio::spawn(timed)).await.is_err() {
                        return Ok(());
                    }
                }
                FrameStatus::Incomplete => {
                    let n = tokio::select! {
                        _ = stopped(&mut stop) => return Ok(()),
                        _ = stopped(&mut closed) => return Ok(()),
                        n = read.read_buf(&mut buf) => n.map_err(|e| format!("read: {e}"))?,
                    };
                    metrics().kafka.received_bytes.inc_by(n as u64);
                    if n == 0 {
                        return if buf.is_empty() {
                            Ok(())
                        } else {
                            Err(format!(
                                "client closed mid-frame ({} bytes pending)",
                                buf.len()
                            ))
                        };
                    }
                }
            }
        }
    }
    .await;
    drop(tx);
    let write_result = writer
        .await
        .map_err(|e| format!("response writer failed: {e}"))?;
    read_result.and(write_result)
}

/// Writes responses in request order; stops at the first request that closes
/// the connection. When the broker stops, requests still being handled are
/// cancelled and get no response (the client sees the connection close, as
/// when a broker dies, and retries elsewhere).
async fn write_responses(
    mut write: OwnedWriteHalf,
    mut rx: mpsc::Receiver<JoinHandle<Outcome>>,
    closed: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let result = async {
        while let Some(mut pending) = rx.recv().await {
            let outcome = tokio::select! {
                outcome = &mut pending => outcome,
                _ = stopped(&mut stop) => {
                    pending.abort();
                    while let Ok(queued) = rx.try_recv() {
                        queued.abort();
                    }
                    return Err("broker is stopping".to_string());
                }
            };
            match outcome.map_err(|e| format!("request handler failed: {e}"))? {
                Outcome::Respond(bytes) => {
                    write
                        .write_all(&bytes)
                        .await
                        .map_err(|e| format!("write: {e}"))?;
                    metrics().kafka.sent_bytes.inc_by(bytes.len() as u64);
                }
                Outcome::NoResponse => {}
                Outcome::Close(reason) => return Err(reason),
            }
        }
        Ok(())
    }
    .await;
    closed.send_replace(true);
    let _ = write.shutdown().await;
    result
}

/// Counts an open client connection in the metrics while it lives.
struct OpenConnection;

impl OpenConnection {
    fn count() -> Self {
        metrics().kafka.connections.inc();
        OpenConnection
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics().kafka.connections.dec();
    }
}

/// Waits for the stop flag without holding its borrow guard across the await.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
