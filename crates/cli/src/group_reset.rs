//! `cairn group reset-offsets` and `cairn group delete`: moving a group's
//! committed offsets and deleting a group, as Kafka's
//! `kafka-consumer-groups.sh --reset-offsets` and `--delete` do. Both need
//! the group to have no members (Kafka refuses to move the offsets of an
//! active group; Cairn's coordinator refuses a standalone commit into one
//! and DeleteGroups answers NON_EMPTY_GROUP).
//!
//! The plan (which offset each partition moves to) is pure: [`target`]
//! clamps every new offset into the partition's kept range, and
//! [`parse_time`] reads `--to-datetime`.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use crate::clients::Bootstrap;

const TIMEOUT: Duration = Duration::from_secs(15);

/// Where `--to-*` / `--shift-by` moves each partition's committed offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetTo {
    /// The log start offset.
    Earliest,
    /// The high watermark.
    Latest,
    /// This offset.
    Offset(i64),
    /// The committed offset plus this (negative: back).
    ShiftBy(i64),
    /// The first offset with a timestamp at or after this (ms since the epoch).
    Datetime(i64),
}

impl ResetTo {
    /// The one target the flags name; an error unless exactly one is given.
    pub fn from_flags(
        earliest: bool,
        latest: bool,
        offset: Option<i64>,
        shift_by: Option<i64>,
        datetime: Option<&str>,
    ) -> anyhow::Result<Self> {
        let mut chosen = Vec::new();
        if earliest {
            chosen.push(Self::Earliest);
        }
        if latest {
            chosen.push(Self::Latest);
        }
        if let Some(o) = offset {
            chosen.push(Self::Offset(o));
        }
        if let Some(s) = shift_by {
            chosen.push(Self::ShiftBy(s));
        }
        if let Some(t) = datetime {
            chosen.push(Self::Datetime(parse_time(t)?));
        }
        match chosen.as_slice() {
            [one] => Ok(*one),
            [] => bail!("say where to reset: --to-earliest, --to-latest, --to-offset N, --to-datetime T or --shift-by N"),
            _ => bail!("give only one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by"),
        }
    }
}

/// The offset a partition moves to: the target, kept within
/// `[log_start, high_watermark]` (Kafka's clamping). `committed` is the
/// group's current offset there, if any (`--shift-by` starts from it, else
/// from the log start); `by_time` the offset `--to-datetime` found (`None`:
/// no record that late, so the high watermark).
pub fn target(
    to: ResetTo,
    committed: Option<i64>,
    log_start: i64,
    high_watermark: i64,
    by_time: Option<i64>,
) -> i64 {
    let wanted = match to {
        ResetTo::Earliest => log_start,
        ResetTo::Latest => high_watermark,
        ResetTo::Offset(o) => o,
        ResetTo::ShiftBy(n) => committed.unwrap_or(log_start).saturating_add(n),
        ResetTo::Datetime(_) => by_time.unwrap_or(high_watermark),
    };
    wanted.clamp(log_start, high_watermark.max(log_start))
}

/// Milliseconds since the epoch from `--to-datetime`: an integer (already
/// milliseconds) or an RFC 3339 time, `YYYY-MM-DDTHH:MM:SS[.fff]` followed by
/// `Z` or `±HH:MM`.
pub fn parse_time(text: &str) -> anyhow::Result<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || {
        anyhow!("--to-datetime '{text}' is neither milliseconds since the epoch nor a time like 2026-11-24T10:00:00Z")
    };
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| -> anyhow::Result<i64> {
        text.get(range)
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(bad)
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = padded.parse::<i64>().map_err(|_| bad())?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        zone if zone.len() == 6
            && (zone.starts_with('+') || zone.starts_with('-'))
            && &zone[3..4] == ":" =>
        {
            let h: i64 = zone[1..3].parse().map_err(|_| bad())?;
            let m: i64 = zone[4..6].parse().map_err(|_| bad())?;
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            sign * (h * 60 + m)
        }
        _ => return Err(bad()),
    };
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Ok(seconds * 1_000 + millis)
}

/// One partition of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedReset {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The committed offset now (none: the group never committed here).
    pub current: Option<i64>,
    /// The offset it moves to.
    pub new: i64,
}

/// Fails unless `group` has no members (Kafka's rule for resetting offsets).
fn require_no_members(consumer: &BaseConsumer, group: &str) -> anyhow::Result<()> {
    let list = consumer
        .fetch_group_list(Some(group), TIMEOUT)
        .with_context(|| format!("cannot describe group '{group}'"))?;
    if let Some(info) = list.groups().first() {
        let members = info.members().len();
        if members > 0 {
            bail!(
                "group '{group}' has {members} active member(s) (state {}): stop its consumers first; offsets of an active group cannot be reset",
                info.state()
            );
        }
    }
    Ok(())
}

/// The partitions to reset: `topics` entries are `TOPIC` (every partition)
/// or `TOPIC:P,P,...`; with `all_topics`, every partition the group has a
/// committed offset on.
fn partitions_to_reset(
    consumer: &BaseConsumer,
    topics: &[String],
    all_topics: bool,
) -> anyhow::Result<Vec<(String, i32)>> {
    let metadata = consumer
        .fetch_metadata(None, TIMEOUT)
        .context("cannot read the cluster's topics")?;
    let partitions_of = |topic: &str| -> anyhow::Result<Vec<i32>> {
        let t = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && !t.partitions().is_empty())
            .ok_or_else(|| anyhow!("topic '{topic}' does not exist"))?;
        Ok(t.partitions().iter().map(|p| p.id()).collect())
    };
    let mut out = Vec::new();
    if all_topics {
        let mut every = TopicPartitionList::new();
        for t in metadata
            .topics()
            .iter()
            .filter(|t| !t.name().starts_with("__"))
        {
            for p in t.partitions() {
                every.add_partition(t.name(), p.id());
            }
        }
        let committed = consumer
            .committed_offsets(every, TIMEOUT)
            .context("cannot read the group's committed offsets")?;
        for e in committed.elements() {
            if matches!(e.offset(), Offset::Offset(_)) {
                out.push((e.topic().to_string(), e.partition()));
            }
        }
        if out.is_empty() {
            bail!("the group has no committed offsets: name the topics with --topic");
        }
        return Ok(out);
    }
    if topics.is_empty() {
        bail!("name the partitions to reset: --topic TOPIC[:P,P...] (repeatable) or --all-topics");
    }
    for spec in topics {
        let (topic, wanted) = match spec.split_once(':') {
            Some((t, ps)) => (t, Some(ps)),
            None => (spec.as_str(), None),
        };
        let existing = partitions_of(topic)?;
        match wanted {
            None => out.extend(existing.into_iter().map(|p| (topic.to_string(), p))),
            Some(list) => {
                for p in list.split(',') {
                    let p: i32 = p.trim().parse().map_err(|_| {
                        anyhow!("--topic '{spec}': '{p}' is not a partition number")
                    })?;
                    if !existing.contains(&p) {
                        bail!(
                            "--topic '{spec}': topic '{topic}' has no partition {p} (it has {})",
                            existing.len()
                        );
                    }
                    out.push((topic.to_string(), p));
                }
            }
        }
    }
    Ok(out)
}

/// Computes the reset of `group`'s offsets and, with `execute`, commits it.
pub fn reset_offsets(
    bootstrap: &Bootstrap,
    group: &str,
    topics: &[String],
    all_topics: bool,
    to: ResetTo,
    execute: bool,
) -> anyhow::Result<Vec<PlannedReset>> {
    let consumer = crate::group_cmd::client(bootstrap, group)?;
    require_no_members(&consumer, group)?;
    let partitions = partitions_to_reset(&consumer, topics, all_topics)?;
    let mut list = TopicPartitionList::new();
    for (t, p) in &partitions {
        list.add_partition(t, *p);
    }
    let committed = consumer
        .committed_offsets(list, TIMEOUT)
        .with_context(|| format!("cannot read group '{group}''s committed offsets"))?;
    let by_time = match to {
        ResetTo::Datetime(ms) => {
            let mut query = TopicPartitionList::new();
            for (t, p) in &partitions {
                query.add_partition_offset(t, *p, Offset::Offset(ms))?;
            }
            Some(
                consumer
                    .offsets_for_times(query, TIMEOUT)
                    .context("cannot look offsets up by time")?,
            )
        }
        _ => None,
    };
    let mut plan = Vec::new();
    for (topic, partition) in partitions {
        let (low, high) = consumer
            .fetch_watermarks(&topic, partition, TIMEOUT)
            .with_context(|| format!("cannot read {topic}/{partition}'s offsets"))?;
        let current = committed
            .find_partition(&topic, partition)
            .and_then(|e| match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            });
        let found = by_time.as_ref().and_then(|l| {
            l.find_partition(&topic, partition)
                .and_then(|e| match e.offset() {
                    Offset::Offset(o) if o >= 0 => Some(o),
                    _ => None,
                })
        });
        let new = target(to, current, low, high, found);
        plan.push(PlannedReset {
            topic,
            partition,
            current,
            new,
        });
    }
    if execute {
        let mut commit = TopicPartitionList::new();
        for r in &plan {
            commit.add_partition_offset(&r.topic, r.partition, Offset::Offset(r.new))?;
        }
        // Members may have joined since the check: the coordinator refuses
        // a standalone commit into an active group, and says so here.
        consumer
            .commit(&commit, CommitMode::Sync)
            .with_context(|| format!("cannot commit the new offsets of group '{group}'"))?;
    }
    Ok(plan)
}

/// Deletes `group` (DeleteGroups): its committed offsets go with it.
pub fn delete(bootstrap: &Bootstrap, group: &str) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap.servers())
        .create()
        .context("cannot create a Kafka admin client")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let results = runtime
        .block_on(admin.delete_groups(
            &[group],
            &AdminOptions::new().request_timeout(Some(TIMEOUT)),
        ))
        .with_context(|| format!("cannot delete group '{group}'"))?;
    for result in results {
        if let Err((name, code)) = result {
            let why = match code {
                rdkafka::types::RDKafkaErrorCode::NonEmptyGroup => {
                    "it still has members: stop its consumers first".to_string()
                }
                rdkafka::types::RDKafkaErrorCode::GroupIdNotFound => {
                    "it does not exist".to_string()
                }
                other => other.to_string(),
            };
            bail!("cannot delete group '{name}': {why}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_clamped_into_the_kept_records() {
        // (target, committed, log start, high watermark, by time) -> new offset
        let cases = [
            (ResetTo::Earliest, Some(50), 10, 100, None, 10),
            (ResetTo::Latest, Some(50), 10, 100, None, 100),
            (ResetTo::Offset(70), Some(50), 10, 100, None, 70),
            (ResetTo::Offset(5), Some(50), 10, 100, None, 10),
            (ResetTo::Offset(500), Some(50), 10, 100, None, 100),
            (ResetTo::ShiftBy(-20), Some(50), 10, 100, None, 30),
            (ResetTo::ShiftBy(-80), Some(50), 10, 100, None, 10),
            (ResetTo::ShiftBy(80), Some(50), 10, 100, None, 100),
            (ResetTo::ShiftBy(5), None, 10, 100, None, 15),
            (ResetTo::ShiftBy(i64::MAX), Some(50), 10, 100, None, 100),
            (ResetTo::Datetime(0), Some(50), 10, 100, Some(42), 42),
            (ResetTo::Datetime(0), Some(50), 10, 100, None, 100),
            // An empty partition.
            (ResetTo::Latest, None, 0, 0, None, 0),
        ];
        for (to, committed, low, high, by_time, want) in cases {
            assert_eq!(
                target(to, committed, low, high, by_time),
                want,
                "{to:?} {committed:?}"
            );
        }
    }

    #[test]
    fn exactly_one_target_is_accepted() {
        assert_eq!(
            ResetTo::from_flags(true, false, None, None, None).unwrap(),
            ResetTo::Earliest
        );
        assert_eq!(
            ResetTo::from_flags(false, false, None, Some(-3), None).unwrap(),
            ResetTo::ShiftBy(-3)
        );
        let none = ResetTo::from_flags(false, false, None, None, None).unwrap_err();
        assert!(none.to_string().contains("--to-earliest"), "{none}");
        let two = ResetTo::from_flags(true, true, None, None, None).unwrap_err();
        assert!(two.to_string().contains("only one"), "{two}");
    }

    #[test]
    fn times_parse_as_utc_milliseconds() {
        let cases = [
            ("1700000000000", 1_700_000_000_000),
            ("1970-01-01T00:00:00Z", 0),
            ("2023-11-14T22:13:20Z", 1_700_000_000_000),
            ("2023-11-14T22:13:20.5Z", 1_700_000_000_500),
            ("2023-11-14T23:13:20+01:00", 1_700_000_000_000),
            ("2023-11-14T21:13:20.123-01:00", 1_700_000_000_123),
            ("2000-02-29T00:00:00Z", 951_782_400_000),
        ];
        for (text, want) in cases {
            assert_eq!(parse_time(text).unwrap(), want, "{text}");
        }
        for bad in [
            "yesterday",
            "2023-11-14",
            "2023-13-14T00:00:00Z",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20.Z",
        ] {
            let e = parse_time(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{bad}: {e}");
        }
    }
}
