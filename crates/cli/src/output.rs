//! Table formatting for the CLI.

use std::fmt::Write;

use cairn_broker::console::history::Sample;
use cairn_broker::console::stats::ClusterStats;
use cairn_broker::view::{
    ClusterView, ControllerView, DecommissionView, PartitionView, ReassignmentsView,
    RebalanceLeadersView, TopicView,
};

/// Left-aligned columns sized to their widest cell.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

fn ids(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn partition_rows(partitions: &[PartitionView]) -> Vec<Vec<String>> {
    partitions
        .iter()
        .map(|p| {
            vec![
                p.topic.clone(),
                p.partition.to_string(),
                opt(p.leader),
                opt(p.leader_epoch),
                ids(&p.replicas),
                ids(&p.isr),
            ]
        })
        .collect()
}

const PARTITION_HEADER: [&str; 6] = ["TOPIC", "PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR"];

/// Samples a broker's throughput is averaged over (one a second).
const THROUGHPUT_SECONDS: usize = 10;

/// The mean of `field` over the last [`THROUGHPUT_SECONDS`] samples; `None`
/// without samples.
fn recent_mean(history: &[Sample], field: fn(&Sample) -> f64) -> Option<f64> {
    let recent = &history[history.len().saturating_sub(THROUGHPUT_SECONDS)..];
    (!recent.is_empty()).then(|| recent.iter().map(field).sum::<f64>() / recent.len() as f64)
}

/// A broker's produce and fetch throughput in record bytes per second over
/// the last seconds, from `stats`; dashes for a broker without them.
fn throughput(stats: Option<&ClusterStats>, broker: u64) -> [String; 2] {
    let history = stats
        .and_then(|s| s.brokers.iter().find(|b| b.broker == broker))
        .map(|b| b.history.as_slice())
        .unwrap_or_default();
    let rate = |field| {
        recent_mean(history, field)
            .map_or_else(|| "-".to_string(), |r| format!("{}/s", size(r as u64)))
    };
    [
        rate(|s: &Sample| s.produced_bytes_per_sec),
        rate(|s: &Sample| s.fetched_bytes_per_sec),
    ]
}

/// `cairn cluster status`: the brokers (with their produce and fetch
/// throughput when `stats` is there), the partitions, and the counts of
/// under-replicated and leaderless ones.
pub fn cluster_status(view: &ClusterView, stats: Option<&ClusterStats>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "controller: {} (term {})",
        opt(view.controller),
        view.controller_term
    );
    let _ = writeln!(out);
    let brokers: Vec<Vec<String>> = view
        .brokers
        .iter()
        .map(|b| {
            let leads = view
                .partitions
                .iter()
                .filter(|p| p.leader == Some(b.id))
                .count();
            let preferred = view
                .partitions
                .iter()
                .filter(|p| p.replicas.first() == Some(&b.id))
                .count();
            vec![
                b.id.to_string(),
                if b.live { "live" } else { "offline" }.to_string(),
                if b.controller_voter {
                    "voter"
                } else {
                    "learner"
                }
                .to_string(),
                b.kafka_addr.clone(),
                b.raft_addr.clone(),
                b.admin_addr.clone(),
                b.rack.clone().unwrap_or_else(|| "-".into()),
                format!("{leads}/{preferred}"),
            ]
            .into_iter()
            .chain(throughput(stats, b.id))
            .collect()
        })
        .collect();
    out.push_str(&table(
        &[
            "BROKER",
            "STATUS",
            "METADATA",
            "KAFKA",
            "RAFT",
            "ADMIN",
            "RACK",
            "LEADS/PREFERRED",
            "PRODUCE",
            "FETCH",
        ],
        &brokers,
    ));
    if !view.partitions.is_empty() {
        let _ = writeln!(out);
        out.push_str(&table(&PARTITION_HEADER, &partition_rows(&view.partitions)));
    }
    let under: usize = view
        .partitions
        .iter()
        .filter(|p| p.isr.len() < p.replicas.len())
        .count();
    let leaderless: usize = view
        .partitions
        .iter()
        .filter(|p| p.leader.is_none())
        .count();
    let _ = writeln!(
        out,
        "\n{} partitions, {} under-replicated, {} without leader",
        view.partitions.len(),
        under,
        leaderless
    );
    out
}

/// `cairn cluster rebalance-leaders`.
pub fn rebalance_leaders(view: &RebalanceLeadersView) -> String {
    let mut out = String::new();
    if !view.partitions.is_empty() {
        let rows: Vec<Vec<String>> = view
            .partitions
            .iter()
            .map(|p| {
                vec![
                    p.topic.clone(),
                    p.partition.to_string(),
                    opt(p.previous_leader),
                    opt(p.preferred),
                    p.outcome.clone(),
                    p.message.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["TOPIC", "PARTITION", "FROM", "PREFERRED", "OUTCOME", "WHY"],
            &rows,
        ));
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "{} moved to their preferred replica, {} led by it already, {} not moved",
        view.moved, view.already_preferred, view.not_moved
    );
    out
}

/// `cairn controller status` (and the answer to add-voter and remove-voter).
pub fn controller(view: &ControllerView) -> String {
    let mut out = format!(
        "controller: {} (term {}), metadata applied up to {}\n\n",
        view.controller, view.term, view.high_watermark
    );
    let rows: Vec<Vec<String>> = view
        .voters
        .iter()
        .map(|m| (m, "voter"))
        .chain(view.learners.iter().map(|m| (m, "learner")))
        .map(|(m, role)| {
            vec![
                m.id.to_string(),
                role.to_string(),
                m.log_end.map_or_else(|| "-".into(), |e| e.to_string()),
            ]
        })
        .collect();
    out.push_str(&table(&["BROKER", "ROLE", "LOG END"], &rows));
    out
}

/// `cairn broker decommission` and its status: one line.
pub fn decommission(view: &DecommissionView) -> String {
    let id = view.broker;
    match (view.registered, view.decommissioning) {
        (false, _) => format!("broker {id}: decommissioned (holds no replica, unregistered)"),
        (true, true) => format!(
            "broker {id}: decommissioning, {} replicas left ({} moving){}",
            view.replicas_left,
            view.moving,
            held_bytes(view)
        ),
        (true, false) => format!(
            "broker {id}: not decommissioning; holds {} replicas{}",
            view.replicas_left,
            held_bytes(view)
        ),
    }
}

/// ", 1.5 MiB held" when the broker's own answer said so.
fn held_bytes(view: &DecommissionView) -> String {
    view.bytes_held
        .map(|b| format!(", {} held", size(b)))
        .unwrap_or_default()
}

/// Bytes for people: B, KiB, MiB, GiB.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `cairn cluster reassignments`.
pub fn reassignments(view: &ReassignmentsView) -> String {
    if view.reassignments.is_empty() {
        return "no partition is moving\n".to_string();
    }
    let rows: Vec<Vec<String>> = view
        .reassignments
        .iter()
        .map(|r| {
            vec![
                r.topic.clone(),
                r.partition.to_string(),
                ids(&r.replicas),
                ids(&r.target),
                ids(&r.adding),
                ids(&r.removing),
            ]
        })
        .collect();
    table(
        &[
            "TOPIC",
            "PARTITION",
            "REPLICAS",
            "TARGET",
            "ADDING",
            "REMOVING",
        ],
        &rows,
    )
}

/// `cairn topic list`.
pub fn topic_list(topics: &[TopicView]) -> String {
    let rows: Vec<Vec<String>> = topics
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.partitions.len().to_string(),
                t.replication_factor.to_string(),
                t.id.clone(),
            ]
        })
        .collect();
    table(&["TOPIC", "PARTITIONS", "REPLICATION", "ID"], &rows)
}

/// `cairn topic describe`.
pub fn topic_describe(topic: &TopicView) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "topic {} (id {}), replication factor {}",
        topic.name, topic.id, topic.replication_factor
    );
    let _ = writeln!(out);
    out.push_str(&table(
        &PARTITION_HEADER,
        &partition_rows(&topic.partitions),
    ));
    let _ = writeln!(out);
    let configs: Vec<Vec<String>> = topic
        .configs
        .iter()
        .map(|(k, v)| {
            vec![
                k.clone(),
                v.value.clone(),
                if v.is_default { "default" } else { "topic" }.to_string(),
            ]
        })
        .collect();
    out.push_str(&table(&["CONFIG", "VALUE", "SOURCE"], &configs));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(super::size(0), "0 B");
        assert_eq!(super::size(1023), "1023 B");
        assert_eq!(super::size(1536), "1.5 KiB");
        assert_eq!(super::size(5 << 30), "5.0 GiB");
        assert_eq!(super::size(3 << 40), "3072.0 GiB");
    }

    use super::*;

    #[test]
    fn tables_align() {
        let t = table(&["A", "LONGER"], &[vec!["wide-cell".into(), "x".into()]]);
        assert_eq!(t, "A          LONGER\nwide-cell  x\n");
    }

    fn sample(produced: f64, fetched: f64) -> Sample {
        Sample {
            at_ms: 0,
            produced_bytes_per_sec: produced,
            fetched_bytes_per_sec: fetched,
            received_bytes_per_sec: 0.0,
            sent_bytes_per_sec: 0.0,
            produce_requests_per_sec: 0.0,
            fetch_requests_per_sec: 0.0,
            produce_p50_ms: None,
            produce_p99_ms: None,
        }
    }

    #[test]
    fn throughput_is_the_mean_of_the_last_ten_seconds_of_each_broker() {
        use cairn_broker::console::stats::BrokerStats;
        // Twenty seconds: the first ten at 1 MiB/s must not count.
        let mut history: Vec<Sample> = (0..10).map(|_| sample(1048576.0, 0.0)).collect();
        history.extend((0..10).map(|i| sample(2048.0 * i as f64, 512.0)));
        let stats = ClusterStats {
            served_by: 1,
            brokers: vec![
                BrokerStats {
                    broker: 1,
                    history,
                    led: Vec::new(),
                },
                BrokerStats {
                    broker: 2,
                    history: Vec::new(),
                    led: Vec::new(),
                },
            ],
            unreachable: vec![3],
        };
        // Mean of 0, 2048, ..., 18432 = 9216 B/s.
        assert_eq!(throughput(Some(&stats), 1), ["9.0 KiB/s", "512 B/s"]);
        // No samples yet, a broker that did not answer, no stats at all.
        assert_eq!(throughput(Some(&stats), 2), ["-", "-"]);
        assert_eq!(throughput(Some(&stats), 3), ["-", "-"]);
        assert_eq!(throughput(None, 1), ["-", "-"]);
    }
}
