//! `cairn top`: a refreshing terminal view of the busiest partitions. It
//! reads `GET /v1/stats` (every broker's led partitions and traffic) twice
//! an interval apart; a partition's messages and bytes per second are the
//! growth of its leader's high watermark and size between the two. Above
//! the partitions, each broker's produce and fetch throughput.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cairn_broker::console::stats::ClusterStats;
use clap::Args;

use crate::admin_client::{AdminArgs, AdminClient};
use crate::clients::parse_duration;
use crate::output::{size, table};

/// `cairn top`.
#[derive(Args)]
pub struct TopArgs {
    /// How many partitions to show.
    #[arg(long, default_value_t = 20, env = "CAIRN_TOP_LIMIT")]
    limit: usize,
    /// Time between two readings (and screens).
    #[arg(long, default_value = "2s", value_parser = parse_duration, env = "CAIRN_TOP_INTERVAL")]
    interval: Duration,
    /// Print one view, after one interval, and exit (no screen clearing).
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    admin: AdminArgs,
}

/// One partition's traffic between two readings.
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionRate {
    pub topic: String,
    pub partition: u32,
    pub leader: u64,
    pub messages_per_sec: f64,
    pub bytes_per_sec: f64,
    pub high_watermark: u64,
    pub size_bytes: u64,
}

/// The partitions' rates between `before` and `after`, `elapsed` apart,
/// busiest first (messages, then bytes, then name). A partition led by a
/// new broker in `after` is compared with its old leader's reading; a
/// partition not in `before` has no rate yet and is left out.
pub fn busiest(
    before: &ClusterStats,
    after: &ClusterStats,
    elapsed: Duration,
) -> Vec<PartitionRate> {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let earlier: BTreeMap<u64, (u64, u64)> = before
        .brokers
        .iter()
        .flat_map(|b| b.led.iter())
        .map(|p| (p.group, (p.high_watermark, p.size_bytes)))
        .collect();
    let mut rates: Vec<PartitionRate> = after
        .brokers
        .iter()
        .flat_map(|b| b.led.iter().map(move |p| (b.broker, p)))
        .filter_map(|(leader, p)| {
            let (hw, size) = earlier.get(&p.group)?;
            Some(PartitionRate {
                topic: p.topic.clone(),
                partition: p.partition,
                leader,
                messages_per_sec: p.high_watermark.saturating_sub(*hw) as f64 / secs,
                // Retention may shrink a partition: no negative rates.
                bytes_per_sec: p.size_bytes.saturating_sub(*size) as f64 / secs,
                high_watermark: p.high_watermark,
                size_bytes: p.size_bytes,
            })
        })
        .collect();
    rates.sort_by(|a, b| {
        b.messages_per_sec
            .total_cmp(&a.messages_per_sec)
            .then(b.bytes_per_sec.total_cmp(&a.bytes_per_sec))
            .then((&a.topic, a.partition).cmp(&(&b.topic, b.partition)))
    });
    rates
}

/// The screen: brokers' throughput, then the `limit` busiest partitions.
pub fn render(stats: &ClusterStats, rates: &[PartitionRate], limit: usize) -> String {
    let per_sec = |v: f64| format!("{}/s", size(v as u64));
    let brokers: Vec<Vec<String>> = stats
        .brokers
        .iter()
        .map(|b| {
            let last = b.history.last();
            vec![
                b.broker.to_string(),
                b.led.len().to_string(),
                last.map_or("-".into(), |s| per_sec(s.produced_bytes_per_sec)),
                last.map_or("-".into(), |s| per_sec(s.fetched_bytes_per_sec)),
                last.and_then(|s| s.produce_p99_ms)
                    .map_or("-".into(), |ms| format!("{ms} ms")),
            ]
        })
        .collect();
    let mut out = table(
        &["BROKER", "LEADS", "PRODUCE", "FETCH", "PRODUCE P99"],
        &brokers,
    );
    if !stats.unreachable.is_empty() {
        let ids: Vec<String> = stats.unreachable.iter().map(u64::to_string).collect();
        out.push_str(&format!("not answering: broker {}\n", ids.join(", ")));
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = rates
        .iter()
        .take(limit)
        .map(|r| {
            vec![
                r.topic.clone(),
                r.partition.to_string(),
                r.leader.to_string(),
                format!("{:.0}", r.messages_per_sec),
                per_sec(r.bytes_per_sec),
                r.high_watermark.to_string(),
                size(r.size_bytes),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "TOPIC",
            "PARTITION",
            "LEADER",
            "MSG/S",
            "BYTES/S",
            "HIGH WATERMARK",
            "SIZE",
        ],
        &rows,
    ));
    if rates.len() > limit {
        out.push_str(&format!("… {} more partitions\n", rates.len() - limit));
    }
    out
}

/// Runs `cairn top` until interrupted (or once).
pub fn run(args: TopArgs) -> anyhow::Result<()> {
    let client = AdminClient::new(&args.admin.admin)?;
    let mut before: ClusterStats = client.get("/v1/stats")?;
    let mut at = Instant::now();
    loop {
        std::thread::sleep(args.interval);
        let after: ClusterStats = client.get("/v1/stats")?;
        let now = Instant::now();
        let screen = render(&after, &busiest(&before, &after, now - at), args.limit);
        if args.once {
            print!("{screen}");
            return Ok(());
        }
        // Clear the terminal and home the cursor, then draw.
        print!("\x1b[2J\x1b[H{screen}");
        use std::io::Write;
        std::io::stdout().flush()?;
        (before, at) = (after, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_broker::console::stats::{BrokerStats, LedPartition};

    fn led(topic: &str, partition: u32, group: u64, hw: u64, size: u64) -> LedPartition {
        LedPartition {
            topic: topic.into(),
            partition,
            group,
            log_start_offset: 0,
            high_watermark: hw,
            size_bytes: size,
        }
    }

    fn stats(brokers: Vec<(u64, Vec<LedPartition>)>) -> ClusterStats {
        ClusterStats {
            served_by: 1,
            brokers: brokers
                .into_iter()
                .map(|(broker, led)| BrokerStats {
                    broker,
                    history: Vec::new(),
                    led,
                })
                .collect(),
            unreachable: Vec::new(),
        }
    }

    #[test]
    fn the_busiest_partitions_come_first_with_rates_from_their_growth() {
        let before = stats(vec![
            (1, vec![led("a", 0, 10, 100, 1000)]),
            (2, vec![led("a", 1, 11, 0, 0), led("b", 0, 12, 50, 500)]),
        ]);
        // Two seconds later a-1 moved to broker 1 and grew most; b-0 shrank
        // (retention) and c-0 is new.
        let after = stats(vec![
            (
                1,
                vec![led("a", 0, 10, 120, 1200), led("a", 1, 11, 400, 4000)],
            ),
            (2, vec![led("b", 0, 12, 50, 100), led("c", 0, 13, 9, 90)]),
        ]);
        let rates = busiest(&before, &after, Duration::from_secs(2));
        let order: Vec<(&str, u32, u64)> = rates
            .iter()
            .map(|r| (r.topic.as_str(), r.partition, r.leader))
            .collect();
        assert_eq!(order, [("a", 1, 1), ("a", 0, 1), ("b", 0, 2)]);
        assert_eq!(rates[0].messages_per_sec, 200.0);
        assert_eq!(rates[0].bytes_per_sec, 2000.0);
        assert_eq!(rates[2].bytes_per_sec, 0.0);
    }

    #[test]
    fn the_screen_shows_brokers_then_at_most_limit_partitions() {
        let before = stats(vec![(
            1,
            vec![led("a", 0, 10, 0, 0), led("a", 1, 11, 0, 0)],
        )]);
        let mut after = stats(vec![(
            1,
            vec![led("a", 0, 10, 10, 100), led("a", 1, 11, 4, 40)],
        )]);
        after.unreachable = vec![3];
        let screen = render(&after, &busiest(&before, &after, Duration::from_secs(1)), 1);
        assert!(
            screen.starts_with("BROKER  LEADS  PRODUCE  FETCH  PRODUCE P99\n1       2      -"),
            "{screen}"
        );
        assert!(screen.contains("not answering: broker 3"), "{screen}");
        assert!(screen.contains("a      0          1       10"), "{screen}");
        assert!(!screen.contains("a      1  "), "{screen}");
        assert!(screen.ends_with("… 1 more partitions\n"), "{screen}");
    }
}
