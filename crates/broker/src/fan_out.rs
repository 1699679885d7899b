//! Asking every live peer the same question over the node-to-node
//! transport, at once, for the admin API's cluster-wide views (groups,
//! stats): the answers that came, and the peers that did not answer.

use std::time::Duration;

use cairn_storage::METADATA_GROUP;
use serde::de::DeserializeOwned;

use crate::shared::Core;

/// The peers' answers, and the live peers that did not give one.
pub struct Answers<T> {
    /// (peer, its answer), by peer id.
    pub answered: Vec<(u64, T)>,
    /// Live peers that failed, timed out or answered something unreadable.
    pub unreachable: Vec<u64>,
}

/// Sends `body` to `service` on every live peer and waits up to `timeout`
/// for each (concurrently).
pub async fn ask_live_peers<T: DeserializeOwned>(
    core: &Core,
    service: u8,
    body: Vec<u8>,
    timeout: Duration,
) -> Answers<T> {
    let asks = core.live_peers().into_iter().map(|peer| {
        let body = body.clone();
        async move {
            let answer = core
                .transport()
                .call(peer, service, METADATA_GROUP, body, timeout)
                .await
                .map_err(|e| e.to_string())
                .and_then(|bytes| bincode::deserialize::<T>(&bytes).map_err(|e| e.to_string()));
            (peer, answer)
        }
    });
    let mut answers = Answers {
        answered: Vec::new(),
        unreachable: Vec::new(),
    };
    for (peer, answer) in futures::future::join_all(asks).await {
        match answer {
            Ok(a) => answers.answered.push((peer, a)),
            Err(e) => {
                tracing::debug!(peer, service, error = %e, "no answer from peer");
                answers.unreachable.push(peer);
            }
        }
    }
    answers
}
