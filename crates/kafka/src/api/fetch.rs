//! Fetch (key 1), v4-v12, sessionless. Only the partition leader serves; data
//! is returned up to the high watermark, whole batches as stored with their
//! assigned base offsets. If fewer than `min_bytes` are available the request
//! long-polls: it wakes as soon as any requested partition's high watermark
//! moves, or at `max_wait_ms`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse, RequestHeader, TopicName};

use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

struct Wanted {
    topic: TopicName,
    partitions: Vec<(i32, i64, usize)>,
}

fn read_all(
    cluster: &dyn KafkaCluster,
    wanted: &[Wanted],
    max_bytes: usize,
) -> (Vec<FetchableTopicResponse>, usize) {
    let mut total = 0usize;
    let mut topics = Vec::new();
    for w in wanted {
        let name = w.topic.0.to_string();
        let mut partitions = Vec::new();
        for &(index, offset, partition_max) in &w.partitions {
            let budget = partition_max.min(max_bytes.saturating_sub(total));
            let data = PartitionData::default().with_partition_index(index);
            let data = match cluster.read(&name, index, offset, budget.max(1)) {
                Ok(read) => {
                    // Over the request budget, return only what fits (at least one batch overall).
                    let records = if total > 0 && read.records.len() > budget {
                        Bytes::new()
                    } else {
                        read.records
                    };
                    total += records.len();
                    data.with_error_code(error_code::NONE)
                        .with_high_watermark(read.high_watermark)
                        .with_last_stable_offset(read.high_watermark)
                        .with_log_start_offset(read.log_start_offset)
                        .with_records(Some(records))
                }
                Err(e) => data
                    .with_error_code(e.code)
                    .with_high_watermark(-1)
                    .with_records(Some(Bytes::new())),
            };
            partitions.push(data);
        }
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(w.topic.clone())
                .with_partitions(partitions),
        );
    }
    (topics, total)
}

/// Handles Fetch; the read (and any long-poll) happens in the returned future.
pub fn handle_fetch(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(ApiKey::Fetch, header, body, |request| {
        fetch(cluster, request)
    })
}

async fn fetch(cluster: Arc<dyn KafkaCluster>, request: FetchRequest) -> FetchResponse {
    let wanted: Vec<Wanted> = request
        .topics
        .into_iter()
        .map(|t| Wanted {
            topic: t.topic,
            partitions: t
                .partitions
                .iter()
                .map(|p| {
                    (
                        p.partition,
                        p.fetch_offset,
                        p.partition_max_bytes.max(0) as usize,
                    )
                })
                .collect(),
        })
        .collect();
    let max_bytes = if request.max_bytes <= 0 {
        usize::MAX
    } else {
        request.max_bytes as usize
    };
    let min_bytes = request.min_bytes.max(0) as usize;
    let max_wait = Duration::from_millis(request.max_wait_ms.max(0) as u64);
    let deadline = tokio::time::Instant::now() + max_wait;
    let mut watches: Vec<_> = wanted
        .iter()
        .flat_map(|w| w.partitions.iter().map(|p| (w.topic.0.to_string(), p.0)))
        .filter_map(|(t, p)| cluster.high_watermark_changes(&t, p))
        .collect();
    for w in &mut watches {
        w.borrow_and_update();
    }
    loop {
        let (topics, total) = read_all(cluster.as_ref(), &wanted, max_bytes);
        if total >= min_bytes.max(1)
            || tokio::time::Instant::now() >= deadline
            || watches.is_empty()
        {
            return FetchResponse::default()
                .with_error_code(error_code::NONE)
                .with_session_id(0)
                .with_responses(topics);
        }
        let changed =
            futures::future::select_all(watches.iter_mut().map(|w| Box::pin(w.changed())));
        if tokio::time::timeout_at(deadline, changed).await.is_err() {
            continue; // deadline: read once more and answer
        }
    }
}
