//! A driver for consumer (KIP-848) groups in tests: a pretend cluster's
//! topics (resolved into each event as the broker does), clients that obey
//! the protocol (they use the partitions the coordinator gives them and
//! report them back), and the ownership invariant checked after every step.

use std::collections::BTreeMap;

use crate::consumer::{
    Assignment, ConsumerGroup, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse,
    TopicId, TopicInfo,
};
use crate::{
    Decision, Event, GroupCoordinator, GroupCoordinatorConfig, Millis, RequestId, Response,
};

pub const GROUP: &str = "cg";
pub const TOPIC: &str = "t";
pub const TOPIC_ID: TopicId = 0xA1;
pub const REBALANCE_MS: i32 = 60_000;

pub struct Harness {
    pub coordinator: GroupCoordinator,
    pub now: Millis,
    next_seq: u64,
    /// The pretend cluster: name → id and partition count.
    pub cluster: BTreeMap<String, TopicInfo>,
}

/// A client that follows the protocol: it sends its epoch and the partitions
/// it owns, and owns exactly what the last assignment it received gave it.
#[derive(Debug, Clone)]
pub struct Client {
    pub member_id: String,
    pub epoch: i32,
    pub owned: Assignment,
    pub topics: Vec<String>,
    pub instance_id: Option<String>,
    pub assignor: Option<String>,
}

impl Client {
    pub fn new(member_id: &str, topics: &[&str]) -> Self {
        Self {
            member_id: member_id.to_owned(),
            epoch: 0,
            owned: Assignment::new(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            instance_id: None,
            assignor: None,
        }
    }

    pub fn with_instance(mut self, instance: &str) -> Self {
        self.instance_id = Some(instance.to_owned());
        self
    }

    pub fn with_assignor(mut self, assignor: &str) -> Self {
        self.assignor = Some(assignor.to_owned());
        self
    }

    /// Takes in a successful response as the client library does.
    pub fn absorb(&mut self, response: &ConsumerGroupHeartbeatResponse) {
        assert_eq!(response.error, None, "{} got {response:?}", self.member_id);
        if let Some(id) = &response.member_id {
            self.member_id = id.clone();
        }
        self.epoch = response.member_epoch;
        if let Some(assignment) = &response.assignment {
            self.owned = assignment.clone();
        }
    }
}

/// The partitions of `TOPIC` in `partitions`.
pub fn parts(partitions: &[i32]) -> Assignment {
    Assignment::from_pairs([(TOPIC_ID, partitions.to_vec())])
}

/// The response to `request` among `decisions`.
pub fn heartbeat_response(
    decisions: &[Decision],
    request: RequestId,
) -> ConsumerGroupHeartbeatResponse {
    let found = decisions.iter().find_map(|d| match d {
        Decision::Respond {
            request: r,
            response,
        } if *r == request => Some(response),
        _ => None,
    });
    match found {
        Some(Response::ConsumerGroupHeartbeat(r)) => r.clone(),
        other => panic!("no ConsumerGroupHeartbeat response to {request:?}: {other:?}"),
    }
}

impl Harness {
    /// A coordinator and a cluster with `TOPIC` of 6 partitions.
    pub fn new() -> Self {
        Self::with_config(GroupCoordinatorConfig::default())
    }

    pub fn with_config(config: GroupCoordinatorConfig) -> Self {
        let mut cluster = BTreeMap::new();
        cluster.insert(
            TOPIC.to_owned(),
            TopicInfo {
                id: TOPIC_ID,
                partitions: 6,
            },
        );
        Self {
            coordinator: GroupCoordinator::new(config).expect("valid config"),
            now: 1_000,
            next_seq: 0,
            cluster,
        }
    }

    pub fn request_id(&mut self) -> RequestId {
        self.next_seq += 1;
        RequestId::new(1, self.next_seq)
    }

    pub fn group(&self) -> &ConsumerGroup {
        self.coordinator
            .consumer_group(GROUP)
            .expect("group exists")
    }

    /// Applies an event at the current time.
    pub fn apply(&mut self, event: Event) -> Vec<Decision> {
        let decisions = self.coordinator.apply(event, self.now);
        self.check_ownership();
        decisions
    }

    /// Moves the clock to `at` and ticks.
    pub fn tick_at(&mut self, at: Millis) -> Vec<Decision> {
        self.now = at;
        self.apply(Event::Tick)
    }

    /// A bare request: epoch, owned partitions and the client's subscription.
    pub fn request(&mut self, client: &Client) -> ConsumerGroupHeartbeatRequest {
        let topics: Vec<&str> = client.topics.iter().map(String::as_str).collect();
        let mut request = ConsumerGroupHeartbeatRequest::join(
            self.request_id(),
            GROUP,
            &client.member_id,
            &topics,
        );
        request.member_epoch = client.epoch;
        request.instance_id = client.instance_id.clone();
        request.server_assignor = client.assignor.clone();
        request.rebalance_timeout_ms = REBALANCE_MS;
        request.client_id = "client".into();
        request.client_host = "/127.0.0.1".into();
        request.owned_partitions = Some(
            client
                .owned
                .topics()
                .iter()
                .map(|(t, ps)| (*t, ps.iter().copied().collect()))
                .collect(),
        );
        request
    }

    /// Resolves the request's and the group's topic names against the
    /// cluster, as the proposing broker does, then applies it.
    pub fn send(
        &mut self,
        mut request: ConsumerGroupHeartbeatRequest,
    ) -> ConsumerGroupHeartbeatResponse {
        let mut names: Vec<String> = request.subscribed_topic_names.clone().unwrap_or_default();
        if let Some(group) = self.coordinator.consumer_group(&request.group_id) {
            names.extend(group.subscribed_topic_names());
        }
        for name in names {
            let info = self.cluster.get(&name).copied();
            request.topics.insert(name, info);
        }
        let id = request.request;
        let decisions = self.apply(Event::ConsumerGroupHeartbeat(request));
        heartbeat_response(&decisions, id)
    }

    /// One heartbeat of `client`, which then follows the response.
    pub fn poll(&mut self, client: &mut Client) -> ConsumerGroupHeartbeatResponse {
        let request = self.request(client);
        let response = self.send(request);
        client.absorb(&response);
        response
    }

    /// One heartbeat of `client`, which ignores the response.
    pub fn poll_raw(&mut self, client: &Client) -> ConsumerGroupHeartbeatResponse {
        let request = self.request(client);
        self.send(request)
    }

    /// Every client heartbeats in turn until the group is Stable and each
    /// owns its target (20 rounds at most), checking after every heartbeat
    /// that no two clients hold a partition.
    pub fn settle(&mut self, clients: &mut [Client]) {
        for _ in 0..20 {
            for i in 0..clients.len() {
                self.poll(&mut clients[i]);
                assert_clients_disjoint(clients);
            }
            let group = self.group();
            let settled = group.state() == crate::GroupState::Stable
                && clients.iter().all(|c| {
                    c.owned == group.target_of(&c.member_id) && c.epoch == group.assignment_epoch()
                });
            if settled {
                return;
            }
        }
        panic!("the group never settled: {:#?}", self.group());
    }

    /// A leave (epoch -1) of `client`.
    pub fn leave(&mut self, client: &Client) -> ConsumerGroupHeartbeatResponse {
        let mut request = self.request(client);
        request.member_epoch = -1;
        self.send(request)
    }

    /// No partition is owned by two members, and the group's owner index is
    /// exactly the members' owned partitions.
    pub fn check_ownership(&self) {
        for group in self.coordinator.consumer_groups() {
            let mut seen: BTreeMap<(TopicId, i32), &str> = BTreeMap::new();
            for member in group.members() {
                for (topic, partition) in member.owned().iter() {
                    if let Some(other) = seen.insert((topic, partition), &member.member_id) {
                        panic!(
                            "{topic}-{partition} owned by {other} and {} in {group:#?}",
                            member.member_id
                        );
                    }
                    assert_eq!(
                        group.owner_of(topic, partition),
                        Some(member.member_id.as_str())
                    );
                }
            }
            let indexed: usize = group.owners.values().map(BTreeMap::len).sum();
            assert_eq!(indexed, seen.len(), "stale owners in {group:#?}");
        }
    }
}

/// What the clients themselves hold never overlaps: a client is given a
/// partition only after the client that had it gave it up.
pub fn assert_clients_disjoint(clients: &[Client]) {
    for (i, a) in clients.iter().enumerate() {
        for b in &clients[i + 1..] {
            assert!(
                !a.owned.overlaps(&b.owned),
                "{} and {} both hold {:?}",
                a.member_id,
                b.member_id,
                a.owned.intersection(&b.owned)
            );
        }
    }
}

/// The error code of a response.
pub fn code(response: &ConsumerGroupHeartbeatResponse) -> i16 {
    crate::error::code_of(response.error.as_ref())
}
