//! The Kafka listener: one task per connection reads frames, answers each in
//! order (pipelined requests are answered in the order they arrived), and
//! closes the connection on a frame it cannot accept. A bad client never
//! affects another connection or the broker.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::api::{self, Outcome};
use crate::cluster::KafkaCluster;
use crate::codec::{next_frame, FrameStatus};

/// Tunables of the Kafka listener.
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    /// Largest request accepted; a bigger size field closes the connection.
    pub max_frame_bytes: usize,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: 100 << 20,
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
    loop {
        let accepted = tokio::select! {
            _ = stopped(&mut stop) => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let cluster = cluster.clone();
                let config = config.clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    if let Err(reason) =
                        serve_connection(stream, cluster.as_ref(), &config, stop).await
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
}

async fn serve_connection(
    mut stream: TcpStream,
    cluster: &dyn KafkaCluster,
    config: &KafkaConfig,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    stream.set_nodelay(true).ok();
    let mut buf = BytesMut::with_capacity(64 << 10);
    loop {
        match next_frame(&buf, config.max_frame_bytes).map_err(|e| e.to_string())? {
            FrameStatus::Complete { len } => {
                let _size = buf.split_to(4);
                let frame = buf.split_to(len).freeze();
                match api::handle(frame, cluster) {
                    Outcome::Respond(bytes) => stream
                        .write_all(&bytes)
                        .await
                        .map_err(|e| format!("write: {e}"))?,
                    Outcome::Close(reason) => return Err(reason),
                }
            }
            FrameStatus::Incomplete => {
                let read = tokio::select! {
                    _ = stopped(&mut stop) => return Ok(()),
                    read = stream.read_buf(&mut buf) => read.map_err(|e| format!("read: {e}"))?,
                };
                if read == 0 {
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

/// Waits for the stop flag without holding its borrow guard across the await.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
