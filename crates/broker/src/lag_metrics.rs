//! Lag gauges of the `/metrics` exposition, computed at scrape time:
//!
//! - **Follower lag**, on the leader of each partition: how many Raft log
//!   entries each follower is behind its leader's log, from openraft's
//!   replication progress (`RaftMetrics::replication`). A growing lag is a
//!   follower that cannot keep up or is unreachable.
//! - **Consumer groups**, on each group's coordinator: state, members, and per
//!   committed partition the lag (high watermark minus committed offset).
//!   The high watermark is the coordinator's own replica's (a follower's may
//!   trail its leader's by the last moments of traffic); a partition with
//!   no replica on the coordinator has no lag series there.

use std::collections::BTreeMap;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::shared::Core;

/// How far one follower of a partition is behind its leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowerLag {
    pub topic: String,
    pub partition: u32,
    pub follower: u64,
    /// Entries the leader has that the follower has not acknowledged.
    pub entries: u64,
}

/// Entries a follower that acknowledged up to `matched` lacks of a log that
/// ends at `last_log_index` (`None`: nothing yet).
pub fn lag_entries(last_log_index: Option<u64>, matched: Option<u64>) -> u64 {
    let have = |i: Option<u64>| i.map_or(0, |i| i + 1);
    have(last_log_index).saturating_sub(have(matched))
}

/// The followers' lag of every partition this broker leads.
pub fn follower_lags(core: &Core) -> Vec<FollowerLag> {
    let names = core.partition_names();
    let mut lags = Vec::new();
    for (group, raft, _) in core.partitions().registry.all() {
        let Some((topic, partition)) = names.get(&group) else {
            continue;
        };
        let metrics = raft.metrics();
        let m = metrics.borrow();
        let Some(replication) = &m.replication else {
            continue;
        };
        for (&follower, matched) in replication {
            if follower == core.id() {
                continue;
            }
            lags.push(FollowerLag {
                topic: topic.clone(),
                partition: *partition,
                follower,
                entries: lag_entries(m.last_log_index, matched.map(|l| l.index)),
            });
        }
    }
    lags
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FollowerLabels {
    topic: String,
    partition: u32,
    follower: u64,
}

/// Registers the followers' lag: the largest per broker, and with
/// `per_partition` one series per partition and follower.
pub fn register_follower_lags(lags: &[FollowerLag], per_partition: bool, registry: &mut Registry) {
    let max = Gauge::<i64>::default();
    max.set(lags.iter().map(|l| l.entries).max().unwrap_or(0) as i64);
    registry.register(
        "cairn_raft_follower_lag_entries_max",
        "The largest number of Raft log entries any follower of a partition this broker leads is behind",
        max,
    );
    if per_partition {
        let family = Family::<FollowerLabels, Gauge>::default();
        for l in lags {
            family
                .get_or_create(&FollowerLabels {
                    topic: l.topic.clone(),
                    partition: l.partition,
                    follower: l.follower,
                })
                .set(l.entries as i64);
        }
        registry.register(
            "cairn_partition_follower_lag_entries",
            "Raft log entries a follower is behind this broker, its partition's leader",
            family,
        );
    }
}

/// A consumer group as its coordinator sees it, with its lag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupLag {
    pub group: String,
    /// Its state (`Stable`, `Empty`, `PreparingRebalance`, ...).
    pub state: String,
    pub members: usize,
    /// (topic, partition, lag) for each committed partition this broker
    /// has a replica of.
    pub partitions: Vec<(String, i32, u64)>,
}

/// The groups this broker coordinates, with the lag of their committed
/// offsets against this broker's replicas' high watermarks.
pub fn group_lags(core: &Core) -> Vec<GroupLag> {
    let high_watermarks: BTreeMap<(String, i32), u64> = {
        let groups: BTreeMap<u64, (String, i32)> = core.meta().reader.read(|s| {
            s.topics
                .values()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(|p| (p.group, (t.name.clone(), p.partition as i32)))
                })
                .collect()
        });
        core.partitions()
            .registry
            .all()
            .into_iter()
            .filter_map(|(group, _, h)| {
                Some((groups.get(&group)?.clone(), h.reader.high_watermark()))
            })
            .collect()
    };
    crate::group_views::local_summaries(core)
        .into_iter()
        .filter_map(|g| {
            let detail = crate::group_views::local_detail(core, &g.group_id).ok()??;
            Some(GroupLag {
                group: g.group_id,
                state: detail.state.clone(),
                members: detail.members.len(),
                partitions: detail
                    .offsets
                    .iter()
                    .filter(|o| o.committed >= 0)
                    .filter_map(|o| {
                        let hw = high_watermarks.get(&(o.topic.clone(), o.partition))?;
                        Some((
                            o.topic.clone(),
                            o.partition,
                            hw.saturating_sub(o.committed as u64),
                        ))
                    })
                    .collect(),
            })
        })
        .collect()
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupLabel {
    group: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupStateLabels {
    group: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupPartitionLabels {
    group: String,
    topic: String,
    partition: i32,
}

/// Registers each group's state, members and total lag, and with
/// `per_partition` the lag of each committed partition.
pub fn register_group_lags(groups: &[GroupLag], per_partition: bool, registry: &mut Registry) {
    let states = Family::<GroupStateLabels, Gauge>::default();
    let members = Family::<GroupLabel, Gauge>::default();
    let total = Family::<GroupLabel, Gauge>::default();
    let lag = Family::<GroupPartitionLabels, Gauge>::default();
    for g in groups {
        let label = GroupLabel {
            group: g.group.clone(),
        };
        states
            .get_or_create(&GroupStateLabels {
                group: g.group.clone(),
                state: g.state.clone(),
            })
            .set(1);
        members.get_or_create(&label).set(g.members as i64);
        total
            .get_or_create(&label)
            .set(g.partitions.iter().map(|(_, _, l)| *l as i64).sum());
        for (topic, partition, l) in g.partitions.iter().filter(|_| per_partition) {
            lag.get_or_create(&GroupPartitionLabels {
                group: g.group.clone(),
                topic: topic.clone(),
                partition: *partition,
            })
            .set(*l as i64);
        }
    }
    registry.register(
        "cairn_group_state",
        "1 for the state each consumer group this broker coordinates is in",
        states,
    );
    registry.register(
        "cairn_group_members",
        "Members of each consumer group this broker coordinates",
        members,
    );
    registry.register(
        "cairn_group_total_lag",
        "Records between a consumer group's committed offsets and the high watermarks, summed over its partitions",
        total,
    );
    if per_partition {
        registry.register(
            "cairn_group_lag",
            "Records between a consumer group's committed offset and the partition's high watermark",
            lag,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn a_follower_lags_by_the_entries_it_has_not_acknowledged() {
        assert_eq!(lag_entries(Some(9), Some(9)), 0);
        assert_eq!(lag_entries(Some(9), Some(6)), 3);
        // Nothing acknowledged yet: the whole log, entry 0 included.
        assert_eq!(lag_entries(Some(9), None), 10);
        assert_eq!(lag_entries(None, None), 0);
        // A follower ahead of what this leader reports (a stale read) is not behind.
        assert_eq!(lag_entries(Some(3), Some(5)), 0);
    }

    fn text(registry: &Registry) -> String {
        let mut out = String::new();
        encode(&mut out, registry).unwrap();
        out
    }

    #[test]
    fn follower_lag_series_are_per_partition_and_follower_with_a_broker_maximum() {
        let lags = [
            FollowerLag {
                topic: "t".into(),
                partition: 0,
                follower: 2,
                entries: 4,
            },
            FollowerLag {
                topic: "t".into(),
                partition: 0,
                follower: 3,
                entries: 40,
            },
        ];
        let mut registry = Registry::default();
        register_follower_lags(&lags, true, &mut registry);
        let out = text(&registry);
        assert!(
            out.contains("cairn_raft_follower_lag_entries_max 40"),
            "{out}"
        );
        assert!(
            out.contains(
                r#"cairn_partition_follower_lag_entries{topic="t",partition="0",follower="3"} 40"#
            ),
            "{out}"
        );
        let mut registry = Registry::default();
        register_follower_lags(&lags, false, &mut registry);
        let out = text(&registry);
        assert!(
            !out.contains("cairn_partition_follower_lag_entries{"),
            "{out}"
        );
        assert!(
            out.contains("cairn_raft_follower_lag_entries_max 40"),
            "{out}"
        );
    }

    #[test]
    fn group_series_carry_members_and_lag() {
        let groups = [GroupLag {
            group: "readers".into(),
            state: "Stable".into(),
            members: 2,
            partitions: vec![("t".into(), 1, 17)],
        }];
        let mut registry = Registry::default();
        register_group_lags(&groups, true, &mut registry);
        let out = text(&registry);
        assert!(
            out.contains(r#"cairn_group_members{group="readers"} 2"#),
            "{out}"
        );
        assert!(
            out.contains(r#"cairn_group_total_lag{group="readers"} 17"#),
            "{out}"
        );
        assert!(
            out.contains(r#"cairn_group_lag{group="readers",topic="t",partition="1"} 17"#),
            "{out}"
        );
        let mut registry = Registry::default();
        register_group_lags(&groups, false, &mut registry);
        let out = text(&registry);
        assert!(!out.contains("cairn_group_lag{"), "{out}");
        assert!(
            out.contains(r#"cairn_group_total_lag{group="readers"} 17"#),
            "{out}"
        );
    }
}
