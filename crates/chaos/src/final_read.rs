//! The final read of a chaos run: every partition of the workload topic from
//! offset 0 to its high watermark, after the cluster healed.

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::history::Event;

/// The high watermark of partition `p`, asked again with a new client for up
/// to two minutes: a broker that just restarted or resumed may answer metadata
/// before it has caught up (unknown topic, no leader: retriable), and a
/// client keeps what it was told until its next metadata refresh.
fn high_watermark(bootstrap: &str, topic: &str, p: i32) -> Result<i64, String> {
    let asked = Instant::now();
    loop {
        let client: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .create()
            .map_err(|e| e.to_string())?;
        match client.fetch_watermarks(topic, p, Duration::from_secs(5)) {
            Ok((_, high)) => return Ok(high),
            Err(_) if asked.elapsed() < Duration::from_secs(120) => {
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => return Err(format!("watermarks of partition {p}: {e}")),
        }
    }
}

/// Reads every partition from offset 0 to its high watermark, as a consumer
/// with `isolation.level=isolation` (with `read_committed` the read waits for
/// the transactions still open to end, so that nothing before the high
/// watermark is held back).
pub fn final_read(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    isolation: &str,
) -> Result<Vec<Event>, String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "cairn-chaos-final")
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for p in 0..partitions {
        let high = high_watermark(bootstrap, topic, p)?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .map_err(|e| e.to_string())?;
        consumer.assign(&tpl).map_err(|e| e.to_string())?;
        let mut records: Vec<(i64, String)> = Vec::new();
        // Past an open transaction's timeout (the txn workload's is 10 s).
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            // The position moves past transaction markers and aborted
            // records too, which are never returned.
            let position = consumer
                .position()
                .ok()
                .and_then(|tpl| tpl.find_partition(topic, p)?.offset().to_raw())
                .unwrap_or(-1);
            let read_to = records.last().map_or(0, |(o, _)| o + 1).max(position);
            if read_to >= high {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "final read ({isolation}) of partition {p} stuck at offset {read_to} of {high}"
                ));
            }
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                records.push((
                    m.offset(),
                    String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                ));
            }
        }
        out.push(Event::FinalRead {
            partition: p,
            records,
        });
    }
    Ok(out)
}
