//! A driver for the coordinator in tests: it numbers requests, keeps the
//! clock (plain numbers of ms), and finds the decision that answers a request.

use crate::subscription::encode_subscription;
use crate::{
    ClassicGroup, Decision, Event, GroupCoordinator, GroupCoordinatorConfig, GroupState,
    HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeavingMember,
    Millis, OffsetCommitRequest, PartitionCommit, Protocol, Record, RequestId, Response,
    SyncGroupRequest, SyncGroupResponse, TimerKey,
};

pub const GROUP: &str = "g";
pub const SESSION_MS: i32 = 10_000;
pub const REBALANCE_MS: i32 = 30_000;
pub const INITIAL_DELAY_MS: Millis = 3_000;

pub struct Harness {
    pub coordinator: GroupCoordinator,
    pub now: Millis,
    next_seq: u64,
}

/// What one event produced, with the id of the request it carried.
pub struct Applied {
    pub request: RequestId,
    pub decisions: Vec<Decision>,
}

impl Applied {
    pub fn response(&self) -> Option<&Response> {
        response_to(&self.decisions, self.request)
    }

    pub fn parked(&self) -> bool {
        parked(&self.decisions, self.request)
    }

    pub fn join(&self) -> JoinGroupResponse {
        join_response(&self.decisions, self.request)
            .unwrap_or_else(|| panic!("no JoinGroup response in {:#?}", self.decisions))
    }

    pub fn sync(&self) -> SyncGroupResponse {
        sync_response(&self.decisions, self.request)
            .unwrap_or_else(|| panic!("no SyncGroup response in {:#?}", self.decisions))
    }

    pub fn code(&self) -> i16 {
        self.response()
            .unwrap_or_else(|| panic!("no response in {:#?}", self.decisions))
            .error_code()
    }
}

/// The response to `request` among `decisions`.
pub fn response_to(decisions: &[Decision], request: RequestId) -> Option<&Response> {
    decisions.iter().find_map(|d| match d {
        Decision::Respond {
            request: r,
            response,
        } if *r == request => Some(response),
        _ => None,
    })
}

pub fn parked(decisions: &[Decision], request: RequestId) -> bool {
    decisions
        .iter()
        .any(|d| matches!(d, Decision::Park { request: r } if *r == request))
}

pub fn join_response(decisions: &[Decision], request: RequestId) -> Option<JoinGroupResponse> {
    match response_to(decisions, request)? {
        Response::JoinGroup(r) => Some(r.clone()),
        other => panic!("expected a JoinGroup response, got {other:?}"),
    }
}

pub fn sync_response(decisions: &[Decision], request: RequestId) -> Option<SyncGroupResponse> {
    match response_to(decisions, request)? {
        Response::SyncGroup(r) => Some(r.clone()),
        other => panic!("expected a SyncGroup response, got {other:?}"),
    }
}

pub fn persisted_groups(decisions: &[Decision]) -> Vec<&crate::GroupMetadataRecord> {
    decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Persist(Record::GroupMetadata(r)) => Some(r),
            _ => None,
        })
        .collect()
}

pub fn protocol(name: &str, topics: &[&str]) -> Protocol {
    Protocol {
        name: name.to_owned(),
        metadata: encode_subscription(topics),
    }
}

/// A stable group formed by [`Harness::form_group`].
pub struct Formed {
    /// Member ids in join order.
    pub members: Vec<String>,
    pub leader: String,
    pub generation: i32,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(GroupCoordinatorConfig::default())
    }

    pub fn with_config(config: GroupCoordinatorConfig) -> Self {
        Self {
            coordinator: GroupCoordinator::new(config).expect("valid config"),
            now: 0,
            next_seq: 0,
        }
    }

    pub fn group(&self) -> &ClassicGroup {
        self.coordinator.group(GROUP).expect("group exists")
    }

    pub fn state(&self) -> GroupState {
        self.group().state()
    }

    pub fn request_id(&mut self) -> RequestId {
        self.next_seq += 1;
        RequestId::new(1, self.next_seq)
    }

    /// Applies an event at the current time.
    pub fn apply(&mut self, event: Event) -> Vec<Decision> {
        self.coordinator.apply(event, self.now)
    }

    /// Moves the clock to `at` and ticks.
    pub fn tick_at(&mut self, at: Millis) -> Vec<Decision> {
        self.now = at;
        self.apply(Event::Tick)
    }

    /// Moves the clock by `ms` and ticks.
    pub fn advance(&mut self, ms: Millis) -> Vec<Decision> {
        self.tick_at(self.now + ms)
    }

    /// A JoinGroup as a pre-v4 consumer sends it (no MEMBER_ID_REQUIRED).
    pub fn join_request(&mut self, member_id: &str, client_id: &str) -> JoinGroupRequest {
        JoinGroupRequest {
            request: self.request_id(),
            group_id: GROUP.to_owned(),
            member_id: member_id.to_owned(),
            group_instance_id: None,
            client_id: client_id.to_owned(),
            client_host: "/127.0.0.1".to_owned(),
            session_timeout_ms: SESSION_MS,
            rebalance_timeout_ms: REBALANCE_MS,
            protocol_type: "consumer".to_owned(),
            protocols: vec![protocol("range", &["t"])],
            require_known_member_id: false,
            supports_skip_assignment: false,
        }
    }

    pub fn join_with(&mut self, request: JoinGroupRequest) -> Applied {
        let id = request.request;
        Applied {
            request: id,
            decisions: self.apply(Event::JoinGroup(request)),
        }
    }

    /// A new member joins (pre-v4) with `client_id`.
    pub fn join(&mut self, client_id: &str) -> Applied {
        let request = self.join_request("", client_id);
        self.join_with(request)
    }

    /// A known member rejoins with its current protocols.
    pub fn rejoin(&mut self, member_id: &str) -> Applied {
        let mut request = self.join_request(member_id, "client");
        if let Some(member) = self
            .coordinator
            .group(GROUP)
            .and_then(|g| g.member(member_id))
        {
            request.protocols = member.protocols.clone();
            request.client_id = member.client_id.clone();
            request.group_instance_id = member.group_instance_id.clone();
        }
        self.join_with(request)
    }

    pub fn sync_request(&mut self, member_id: &str, generation_id: i32) -> SyncGroupRequest {
        SyncGroupRequest {
            request: self.request_id(),
            group_id: GROUP.to_owned(),
            generation_id,
            member_id: member_id.to_owned(),
            group_instance_id: None,
            protocol_type: None,
            protocol_name: None,
            assignments: Vec::new(),
        }
    }

    pub fn sync_with(&mut self, request: SyncGroupRequest) -> Applied {
        let id = request.request;
        Applied {
            request: id,
            decisions: self.apply(Event::SyncGroup(request)),
        }
    }

    /// A follower's SyncGroup.
    pub fn sync(&mut self, member_id: &str, generation_id: i32) -> Applied {
        let mut request = self.sync_request(member_id, generation_id);
        request.group_instance_id = self.instance_of(member_id);
        self.sync_with(request)
    }

    /// The leader's SyncGroup, assigning `assign-<member id>` to every member.
    pub fn leader_sync(&mut self, leader: &str, generation_id: i32) -> Applied {
        let mut request = self.sync_request(leader, generation_id);
        request.group_instance_id = self.instance_of(leader);
        request.assignments = self
            .group()
            .members()
            .map(|m| (m.member_id.clone(), assignment_of(&m.member_id)))
            .collect();
        self.sync_with(request)
    }

    pub fn heartbeat(&mut self, member_id: &str, generation_id: i32) -> Applied {
        let request = HeartbeatRequest {
            request: self.request_id(),
            group_id: GROUP.to_owned(),
            generation_id,
            member_id: member_id.to_owned(),
            group_instance_id: self.instance_of(member_id),
        };
        let id = request.request;
        Applied {
            request: id,
            decisions: self.apply(Event::Heartbeat(request)),
        }
    }

    pub fn leave(&mut self, members: Vec<LeavingMember>) -> Applied {
        let request = LeaveGroupRequest {
            request: self.request_id(),
            group_id: GROUP.to_owned(),
            members,
        };
        let id = request.request;
        Applied {
            request: id,
            decisions: self.apply(Event::LeaveGroup(request)),
        }
    }

    pub fn commit_request(
        &mut self,
        member_id: &str,
        generation_id: i32,
        partitions: &[(&str, i32, i64)],
    ) -> OffsetCommitRequest {
        let mut topics: Vec<(String, Vec<PartitionCommit>)> = Vec::new();
        for &(topic, partition, offset) in partitions {
            let commit = PartitionCommit {
                partition,
                offset,
                leader_epoch: Some(0),
                metadata: None,
            };
            match topics.iter_mut().find(|(t, _)| t == topic) {
                Some((_, list)) => list.push(commit),
                None => topics.push((topic.to_owned(), vec![commit])),
            }
        }
        OffsetCommitRequest {
            request: self.request_id(),
            group_id: GROUP.to_owned(),
            generation_id,
            member_id: member_id.to_owned(),
            group_instance_id: None,
            topics,
            group_id_not_found_supported: true,
        }
    }

    pub fn commit_with(&mut self, request: OffsetCommitRequest) -> Applied {
        let id = request.request;
        Applied {
            request: id,
            decisions: self.apply(Event::OffsetCommit(request)),
        }
    }

    pub fn commit(
        &mut self,
        member_id: &str,
        generation_id: i32,
        partitions: &[(&str, i32, i64)],
    ) -> Applied {
        let request = self.commit_request(member_id, generation_id, partitions);
        self.commit_with(request)
    }

    fn instance_of(&self, member_id: &str) -> Option<String> {
        self.coordinator
            .group(GROUP)
            .and_then(|g| g.member(member_id))
            .and_then(|m| m.group_instance_id.clone())
    }

    /// `clients` join an Empty group together, the initial delay passes (each
    /// joiner after the first extends it once), the leader assigns and every
    /// member syncs: a Stable group.
    pub fn form_group(&mut self, clients: &[&str]) -> Formed {
        let joins: Vec<Applied> = clients.iter().map(|c| self.join(c)).collect();
        assert!(
            joins.iter().all(Applied::parked),
            "joins wait for the initial delay"
        );
        let decisions = self.run_join_phase();
        self.finish_rebalance(
            &joins.iter().map(|j| j.request).collect::<Vec<_>>(),
            &decisions,
        )
    }

    /// Ticks at each join deadline until the join phase is over; returns
    /// every decision made meanwhile.
    pub fn run_join_phase(&mut self) -> Vec<Decision> {
        let mut decisions = Vec::new();
        for round in 0.. {
            if self.state() != GroupState::PreparingRebalance {
                break;
            }
            assert!(round < 100, "the join phase never ends: {decisions:#?}");
            let deadline = self
                .coordinator
                .deadline(&TimerKey::Join {
                    group_id: GROUP.to_owned(),
                })
                .expect("a rebalancing group has a join deadline");
            decisions.extend(self.tick_at(deadline));
        }
        decisions
    }

    /// Given the parked JoinGroups of every member and the decisions that
    /// answered them, the leader and then the followers sync.
    pub fn finish_rebalance(&mut self, joins: &[RequestId], decisions: &[Decision]) -> Formed {
        let responses: Vec<JoinGroupResponse> = joins
            .iter()
            .map(|r| join_response(decisions, *r).expect("every join answered"))
            .collect();
        assert!(
            responses.iter().all(|r| r.error.is_none()),
            "{responses:#?}"
        );
        let leader = responses[0].leader.clone();
        let generation = responses[0].generation_id;
        assert_eq!(self.state(), GroupState::CompletingRebalance);
        let synced = self.leader_sync(&leader, generation);
        assert_eq!(synced.sync().error, None);
        for r in responses.iter().filter(|r| r.member_id != leader) {
            let follower = self.sync(&r.member_id, generation);
            assert_eq!(follower.sync().error, None);
        }
        assert_eq!(self.state(), GroupState::Stable);
        Formed {
            members: responses.into_iter().map(|r| r.member_id).collect(),
            leader,
            generation,
        }
    }

    pub fn heartbeat_deadline(&self, member_id: &str) -> Option<Millis> {
        self.coordinator.deadline(&TimerKey::Heartbeat {
            group_id: GROUP.to_owned(),
            member_id: member_id.to_owned(),
        })
    }
}

/// The error code of an optional error.
pub fn code(error: &Option<crate::CoordinatorError>) -> i16 {
    crate::error::code_of(error.as_ref())
}

pub fn assignment_of(member_id: &str) -> Vec<u8> {
    format!("assign-{member_id}").into_bytes()
}

pub fn leaving(member_id: &str, instance: Option<&str>) -> LeavingMember {
    LeavingMember {
        member_id: member_id.to_owned(),
        group_instance_id: instance.map(str::to_owned),
    }
}
