//! `cairn group list`, `describe`, `reset-offsets` and `delete`: consumer
//! groups through the Kafka protocol (ListGroups, DescribeGroups,
//! OffsetFetch, ListOffsets, OffsetCommit, DeleteGroups), as any Kafka tool
//! sees them, with each partition's lag. Resetting and deleting live in
//! [`crate::group_reset`].

use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::Subcommand;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use crate::clients::Bootstrap;
use crate::group_reset::ResetTo;

use cairn_broker::offsets::OFFSETS_TOPIC;

const TIMEOUT: Duration = Duration::from_secs(15);

/// `cairn group ...`.
#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// Every consumer group: state, protocol, member count.
    List {
        /// `table` or `json`.
        #[arg(long, default_value = "table")]
        output: String,
        #[command(flatten)]
        bootstrap: Bootstrap,
    },
    /// One group: state, members and their partitions, and per partition the
    /// committed offset, the high watermark and the lag.
    Describe {
        /// The group id.
        group: String,
        /// `table` or `json`.
        #[arg(long, default_value = "table")]
        output: String,
        #[command(flatten)]
        bootstrap: Bootstrap,
    },
    /// Move a group's committed offsets (the group must have no members)
    /// and print what moved; `--dry-run` only prints the plan.
    ResetOffsets {
        /// The group id.
        group: String,
        /// Partitions to reset: TOPIC (every partition) or TOPIC:P,P,...
        /// (repeatable).
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// Every partition the group has a committed offset on.
        #[arg(long, conflicts_with = "topics")]
        all_topics: bool,
        /// To the log start offset.
        #[arg(long)]
        to_earliest: bool,
        /// To the high watermark (skip everything now in the partitions).
        #[arg(long)]
        to_latest: bool,
        /// To this offset (kept within the partition's records).
        #[arg(long, allow_hyphen_values = true)]
        to_offset: Option<i64>,
        /// To the first record at or after this time: ms since the epoch or
        /// RFC 3339 (2026-11-24T10:00:00Z).
        #[arg(long)]
        to_datetime: Option<String>,
        /// Move the committed offset by N (negative: back).
        #[arg(long, allow_hyphen_values = true)]
        shift_by: Option<i64>,
        /// Only show the plan; commit nothing.
        #[arg(long)]
        dry_run: bool,
        /// Commit the new offsets: the default (accepted for the habits of
        /// `kafka-consumer-groups.sh`, whose default is a dry run).
        #[arg(long, conflicts_with = "dry_run")]
        execute: bool,
        /// `table` or `json`.
        #[arg(long, default_value = "table")]
        output: String,
        #[command(flatten)]
        bootstrap: Bootstrap,
    },
    /// Delete a group and its committed offsets (it must have no members).
    Delete {
        /// The group id.
        group: String,
        #[command(flatten)]
        bootstrap: Bootstrap,
    },
}

#[derive(Serialize)]
struct GroupRow {
    group: String,
    state: String,
    protocol_type: String,
    protocol: String,
    members: usize,
}

#[derive(Serialize)]
struct MemberRow {
    member_id: String,
    client_id: String,
    client_host: String,
    partitions: Vec<(String, i32)>,
}

#[derive(Serialize)]
struct OffsetRow {
    topic: String,
    partition: i32,
    committed: i64,
    high_watermark: i64,
    lag: i64,
}

#[derive(Serialize)]
struct GroupDescription {
    #[serde(flatten)]
    group: GroupRow,
    member_list: Vec<MemberRow>,
    offsets: Vec<OffsetRow>,
}

/// A Kafka client acting for `group` (no subscription, no auto commit).
pub(crate) fn client(bootstrap: &Bootstrap, group: &str) -> anyhow::Result<BaseConsumer> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap.servers())
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .context("cannot create a Kafka client")
}

/// Runs `cairn group ...`.
pub fn run(command: GroupCommand) -> anyhow::Result<()> {
    match command {
        GroupCommand::ResetOffsets {
            group,
            topics,
            all_topics,
            to_earliest,
            to_latest,
            to_offset,
            to_datetime,
            shift_by,
            dry_run,
            execute: _,
            output,
            bootstrap,
        } => {
            let execute = !dry_run;
            let to = ResetTo::from_flags(
                to_earliest,
                to_latest,
                to_offset,
                shift_by,
                to_datetime.as_deref(),
            )?;
            let plan = crate::group_reset::reset_offsets(
                &bootstrap, &group, &topics, all_topics, to, execute,
            )?;
            print(&output, &plan, || {
                let mut out = table(
                    &["TOPIC", "PARTITION", "CURRENT", "NEW"],
                    plan.iter()
                        .map(|r| {
                            vec![
                                r.topic.clone(),
                                r.partition.to_string(),
                                r.current.map_or("-".to_string(), |o| o.to_string()),
                                r.new.to_string(),
                            ]
                        })
                        .collect(),
                );
                out += if execute {
                    "committed\n"
                } else {
                    "(dry run: nothing committed)\n"
                };
                out
            })
        }
        GroupCommand::Delete { group, bootstrap } => {
            crate::group_reset::delete(&bootstrap, &group)?;
            println!("deleted group '{group}'");
            Ok(())
        }
        GroupCommand::List { output, bootstrap } => {
            let consumer = client(&bootstrap, "cairn-cli")?;
            let list = consumer
                .fetch_group_list(None, TIMEOUT)
                .context("cannot list groups")?;
            let rows: Vec<GroupRow> = list
                .groups()
                .iter()
                .map(|g| GroupRow {
                    group: g.name().to_string(),
                    state: g.state().to_string(),
                    protocol_type: g.protocol_type().to_string(),
                    protocol: g.protocol().to_string(),
                    members: g.members().len(),
                })
                .collect();
            print(&output, &rows, || {
                table(
                    &["GROUP", "STATE", "TYPE", "PROTOCOL", "MEMBERS"],
                    rows.iter()
                        .map(|r| {
                            vec![
                                r.group.clone(),
                                r.state.clone(),
                                r.protocol_type.clone(),
                                r.protocol.clone(),
                                r.members.to_string(),
                            ]
                        })
                        .collect(),
                )
            })
        }
        GroupCommand::Describe {
            group,
            output,
            bootstrap,
        } => {
            let description = describe(&bootstrap, &group)?;
            print(&output, &description, || {
                let g = &description.group;
                let mut out = format!(
                    "group {}: {} ({} {}), {} members\n\n",
                    g.group, g.state, g.protocol_type, g.protocol, g.members
                );
                out += &table(
                    &["MEMBER", "CLIENT", "HOST", "PARTITIONS"],
                    description
                        .member_list
                        .iter()
                        .map(|m| {
                            let parts: Vec<String> = m
                                .partitions
                                .iter()
                                .map(|(t, p)| format!("{t}/{p}"))
                                .collect();
                            vec![
                                m.member_id.clone(),
                                m.client_id.clone(),
                                m.client_host.clone(),
                                parts.join(","),
                            ]
                        })
                        .collect(),
                );
                out.push('\n');
                out += &table(
                    &["TOPIC", "PARTITION", "COMMITTED", "HIGH-WATERMARK", "LAG"],
                    description
                        .offsets
                        .iter()
                        .map(|o| {
                            vec![
                                o.topic.clone(),
                                o.partition.to_string(),
                                o.committed.to_string(),
                                o.high_watermark.to_string(),
                                o.lag.to_string(),
                            ]
                        })
                        .collect(),
                );
                out
            })
        }
    }
}

fn describe(bootstrap: &Bootstrap, group: &str) -> anyhow::Result<GroupDescription> {
    let consumer = client(bootstrap, group)?;
    let list = consumer
        .fetch_group_list(Some(group), TIMEOUT)
        .with_context(|| format!("cannot describe group '{group}'"))?;
    let info = list
        .groups()
        .first()
        .ok_or_else(|| anyhow!("group '{group}' was not described"))?;
    if info.state() == "Dead" {
        anyhow::bail!("group '{group}' does not exist");
    }
    let member_list = info
        .members()
        .iter()
        .map(|m| MemberRow {
            member_id: m.id().to_string(),
            client_id: m.client_id().to_string(),
            client_host: m.client_host().to_string(),
            partitions: m.assignment().map(parse_assignment).unwrap_or_default(),
        })
        .collect();
    // Committed offsets of every partition of every topic (OffsetFetch).
    let metadata = consumer
        .fetch_metadata(None, TIMEOUT)
        .context("cannot read the cluster's topics")?;
    let mut wanted = TopicPartitionList::new();
    for topic in metadata
        .topics()
        .iter()
        .filter(|t| t.name() != OFFSETS_TOPIC)
    {
        for p in topic.partitions() {
            wanted.add_partition(topic.name(), p.id());
        }
    }
    let committed = consumer
        .committed_offsets(wanted, TIMEOUT)
        .with_context(|| format!("cannot read group '{group}''s committed offsets"))?;
    let mut offsets = Vec::new();
    for e in committed.elements() {
        let Offset::Offset(at) = e.offset() else {
            continue;
        };
        let (_, high) = consumer
            .fetch_watermarks(e.topic(), e.partition(), TIMEOUT)
            .with_context(|| {
                format!(
                    "cannot read {}/{}'s high watermark",
                    e.topic(),
                    e.partition()
                )
            })?;
        offsets.push(OffsetRow {
            topic: e.topic().to_string(),
            partition: e.partition(),
            committed: at,
            high_watermark: high,
            lag: (high - at).max(0),
        });
    }
    Ok(GroupDescription {
        group: GroupRow {
            group: group.to_string(),
            state: info.state().to_string(),
            protocol_type: info.protocol_type().to_string(),
            protocol: info.protocol().to_string(),
            members: info.members().len(),
        },
        member_list,
        offsets,
    })
}

/// The partitions of a consumer protocol assignment (version, then
/// `[topic: string, partitions: [int32]]`, then user data); what cannot be
/// parsed is left out.
fn parse_assignment(bytes: &[u8]) -> Vec<(String, i32)> {
    fn take<const N: usize>(b: &mut &[u8]) -> Option<[u8; N]> {
        let (head, rest) = b.split_first_chunk::<N>()?;
        *b = rest;
        Some(*head)
    }
    let mut b = bytes;
    let mut out = Vec::new();
    let parse = |b: &mut &[u8], out: &mut Vec<(String, i32)>| -> Option<()> {
        take::<2>(b)?;
        let topics = i32::from_be_bytes(take::<4>(b)?);
        for _ in 0..topics.max(0) {
            let len = i16::from_be_bytes(take::<2>(b)?).max(0) as usize;
            let name = String::from_utf8_lossy(b.get(..len)?).into_owned();
            *b = &b[len..];
            let count = i32::from_be_bytes(take::<4>(b)?);
            for _ in 0..count.max(0) {
                out.push((name.clone(), i32::from_be_bytes(take::<4>(b)?)));
            }
        }
        Some(())
    };
    let _ = parse(&mut b, &mut out);
    out
}

fn print<T: Serialize>(
    output: &str,
    value: &T,
    table: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    match output {
        "json" => println!("{}", serde_json::to_string_pretty(value)?),
        "table" => print!("{}", table()),
        other => anyhow::bail!("--output '{other}' is not one of table, json"),
    }
    Ok(())
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    crate::output::table(header, &rows)
}

#[cfg(test)]
mod tests {
    use super::parse_assignment;

    #[test]
    fn assignments_parse_and_garbage_yields_nothing() {
        // version 0, one topic "t" with partitions 1 and 4, empty user data.
        let bytes = [
            0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 0,
        ];
        assert_eq!(
            parse_assignment(&bytes),
            vec![("t".to_string(), 1), ("t".to_string(), 4)]
        );
        assert!(parse_assignment(&[0, 0, 0, 0, 0, 9, 0]).is_empty());
        assert!(parse_assignment(&[]).is_empty());
    }
}
