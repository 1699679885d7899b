//! The admin HTTP API: `GET /health`, `GET /metrics` (Prometheus; see
//! [`crate::exposition`]), `GET /v1/cluster`,
//! `POST /v1/cluster/rebalance-leaders`, topic admin under
//! `/v1/topics` (trims: [`crate::trim`]), consumer groups under
//! `/v1/groups` (see [`crate::group_views`]), and the web console at `/`
//! with its `GET /v1/stats` (see [`crate::console`]). Every error is JSON `{"error": {"code", "message"}}` with a
//! status that matches it (404 unknown topic, 409 exists, 400 invalid input,
//! 503 no controller).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;

use cairn_meta::topic_config::effective_configs;
use cairn_meta::{ControllerRequest, MetaError, MetaErrorCode, MetaResponse, MetaState, Topic};

use crate::exposition;
use crate::group_views::{self, GroupLookupError};
use crate::shared::Core;
use crate::view::{
    format_topic_id, AlterTopicConfigs, BrokerView, ClusterView, ConfigValue, ControllerView,
    CreateTopic, DecommissionView, ErrorBody, ErrorDetail, GroupDetail, GroupsView,
    LeaderElectionView, LocalReplica, PartitionView, PlanPartition, QuorumMemberView, Reassign,
    ReassignmentPlan, ReassignmentView, ReassignmentsView, RebalanceLeaders, RebalanceLeadersView,
    TopicView, TrimPartition, TrimmedPartition,
};

/// How long a topic admin request may wait for the controller.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(15);

/// Serves the admin API on `listener` until `stop`.
pub async fn serve(core: Arc<Core>, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    let app = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(exposition::serve_metrics))
        .route("/v1/cluster", get(cluster))
        .route("/v1/cluster/rebalance-leaders", post(rebalance_leaders))
        .route("/v1/cluster/replica-plan", get(replica_plan))
        .route("/v1/topics", get(list_topics).post(create_topic))
        .route(
            "/v1/topics/{name}",
            get(describe_topic).delete(delete_topic),
        )
        .route("/v1/topics/{name}/configs", post(alter_configs))
        .route("/v1/topics/{name}/trim", post(trim_partition))
        .route("/v1/topics/{name}/reassign", post(reassign_partition))
        .route(
            "/v1/reassignments",
            get(list_reassignments).post(apply_plan),
        )
        .route(
            "/v1/brokers/{id}/decommission",
            get(decommission_status).post(decommission),
        )
        .route("/v1/brokers/{id}/recommission", post(recommission))
        .route("/v1/controller", get(controller_status))
        .route(
            "/v1/controller/voters/{id}",
            post(add_voter).delete(remove_voter),
        )
        .route("/v1/groups", get(list_groups))
        .route("/v1/groups/{id}", get(describe_group))
        .merge(crate::console::routes())
        .with_state(core);
    let shutdown = async move {
        cairn_raft::until_true(&mut stop).await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "admin API stopped");
    }
}

/// An admin API error.
struct ApiError(StatusCode, ErrorDetail);

impl From<MetaError> for ApiError {
    fn from(e: MetaError) -> Self {
        let status = match e.code {
            MetaErrorCode::UnknownTopic => StatusCode::NOT_FOUND,
            MetaErrorCode::TopicAlreadyExists => StatusCode::CONFLICT,
            MetaErrorCode::NotController | MetaErrorCode::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError(
            status,
            ErrorDetail {
                code: e.code.name().to_string(),
                message: e.message,
            },
        )
    }
}

impl From<GroupLookupError> for ApiError {
    fn from(e: GroupLookupError) -> Self {
        let (status, code, message) = match e {
            GroupLookupError::NotFound(m) => (StatusCode::NOT_FOUND, "GROUP_ID_NOT_FOUND", m),
            GroupLookupError::Unavailable(m) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "COORDINATOR_NOT_AVAILABLE",
                m,
            ),
        };
        ApiError(
            status,
            ErrorDetail {
                code: code.to_string(),
                message,
            },
        )
    }
}

/// `GET /v1/groups`: every group of the cluster.
async fn list_groups(State(core): State<Arc<Core>>) -> Json<GroupsView> {
    Json(group_views::all_summaries(&core).await)
}

/// `GET /v1/groups/{id}`: one group, from its coordinator.
async fn describe_group(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> Result<Json<GroupDetail>, ApiError> {
    Ok(Json(group_views::detail(&core, &id).await?))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}

async fn health(State(core): State<Arc<Core>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "status": "ok",
        "broker_id": core.id(),
        "controller": core.meta().leader(),
        "partition_groups": core.partitions().registry.len(),
        "uptime_ms": core.uptime().as_millis() as u64,
    }))
}

fn partition_views(core: &Core, topic: &Topic, now: Instant) -> Vec<PartitionView> {
    let moving: std::collections::BTreeMap<u64, Vec<u64>> = core.meta().reader.read(|s| {
        topic
            .partitions
            .iter()
            .filter_map(|p| Some((p.group, s.reassignments.get(&p.group)?.target.clone())))
            .collect()
    });
    topic
        .partitions
        .iter()
        .map(|p| {
            let leader = crate::dissemination::leader_of(core, p.group, now);
            PartitionView {
                topic: topic.name.clone(),
                partition: p.partition,
                group: p.group,
                leader: leader.as_ref().map(|l| l.leader),
                leader_epoch: leader.as_ref().map(|l| l.term),
                replicas: p.replicas.clone(),
                isr: leader.map(|l| l.isr).unwrap_or_default(),
                local: core
                    .partitions()
                    .registry
                    .get(p.group)
                    .map(|(raft, h)| LocalReplica {
                        log_start_offset: h.reader.log_start_offset(),
                        high_watermark: h.reader.high_watermark(),
                        size_bytes: h.reader.size_bytes(),
                        quiescent: core.quiet().mode(p.group) != crate::quiesce::Mode::Awake,
                        last_log_index: raft.metrics().borrow().last_log_index,
                    })
                    .or_else(|| {
                        core.partitions()
                            .offsets
                            .get(p.group)
                            .map(|(raft, _)| offsets_replica(&raft.metrics().borrow()))
                    }),
                reassigning_to: moving.get(&p.group).cloned(),
            }
        })
        .collect()
}

/// A `__consumer_offsets` replica as a [`LocalReplica`]: its entries are
/// group events, not records, so its offsets are Raft log indexes (the next
/// after the last applied entry, the first kept one) and it has no record
/// bytes; coordinator partitions never quiesce.
fn offsets_replica(m: &openraft::RaftMetrics<u64, openraft::BasicNode>) -> LocalReplica {
    LocalReplica {
        log_start_offset: m.purged.map_or(0, |l| l.index + 1),
        high_watermark: m.last_applied.map_or(0, |l| l.index + 1),
        size_bytes: 0,
        quiescent: false,
        last_log_index: m.last_log_index,
    }
}

/// Builds the cluster view this broker answers with.
pub fn cluster_view(core: &Core) -> ClusterView {
    let state: MetaState = core.meta().reader.read(Clone::clone);
    let metrics = core.meta().raft.metrics().borrow().clone();
    let voters: Vec<u64> = metrics.membership_config.membership().voter_ids().collect();
    let now = Instant::now();
    let brokers = state
        .brokers
        .values()
        .map(|b| {
            let id = b.registration.id;
            let heard = if id == core.id() {
                Some(now)
            } else {
                core.knowledge().last_heard(id)
            };
            BrokerView {
                id,
                live: !b.fenced,
                raft_addr: b.registration.raft_addr.clone(),
                kafka_addr: b.registration.kafka_addr.clone(),
                admin_addr: b.registration.admin_addr.clone(),
                rack: b.registration.rack.clone(),
                controller_voter: voters.contains(&id),
                last_heartbeat_ms_ago: heard
                    .map(|at| now.saturating_duration_since(at).as_millis() as u64),
            }
        })
        .collect();
    let partitions = state
        .topics
        .values()
        .flat_map(|t| partition_views(core, t, now))
        .collect();
    ClusterView {
        served_by: core.id(),
        controller: metrics.current_leader,
        controller_term: metrics.current_term,
        brokers,
        partitions,
    }
}

async fn cluster(State(core): State<Arc<Core>>) -> Json<ClusterView> {
    Json(cluster_view(&core))
}

fn topic_view(core: &Core, topic: &Topic) -> TopicView {
    TopicView {
        name: topic.name.clone(),
        id: format_topic_id(topic.id),
        replication_factor: topic.replication_factor,
        configs: effective_configs(&topic.configs, &core.topic_defaults())
            .into_iter()
            .map(|(k, (value, set))| {
                (
                    k,
                    ConfigValue {
                        value,
                        is_default: !set,
                    },
                )
            })
            .collect(),
        partitions: partition_views(core, topic, Instant::now()),
    }
}

async fn list_topics(State(core): State<Arc<Core>>) -> Json<Vec<TopicView>> {
    let topics: Vec<Topic> = core
        .meta()
        .reader
        .read(|s| s.topics.values().cloned().collect());
    Json(topics.iter().map(|t| topic_view(&core, t)).collect())
}

async fn describe_topic(
    State(core): State<Arc<Core>>,
    Path(name): Path<String>,
) -> Result<Json<TopicView>, ApiError> {
    let topic = core.meta().reader.read(|s| s.topics.get(&name).cloned());
    match topic {
        Some(topic) => Ok(Json(topic_view(&core, &topic))),
        None => Err(MetaError::new(
            MetaErrorCode::UnknownTopic,
            format!("topic '{name}' does not exist"),
        )
        .into()),
    }
}

/// A request body that is not the expected JSON.
fn bad_json(e: axum::extract::rejection::JsonRejection) -> ApiError {
    ApiError(
        StatusCode::BAD_REQUEST,
        ErrorDetail {
            code: "INVALID_REQUEST".into(),
            message: e.body_text(),
        },
    )
}

async fn create_topic(
    State(core): State<Arc<Core>>,
    body: Result<Json<CreateTopic>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<TopicView>), ApiError> {
    let Json(body) = body.map_err(bad_json)?;
    let request = ControllerRequest::CreateTopic {
        name: body.name.clone(),
        partitions: body.partitions,
        replication_factor: body.replication_factor,
        configs: body.configs,
        validate_only: false,
    };
    match core.submit(request, ADMIN_TIMEOUT).await? {
        MetaResponse::TopicCreated(topic) => {
            Ok((StatusCode::CREATED, Json(topic_view(&core, &topic))))
        }
        other => Err(MetaError::new(
            MetaErrorCode::Unavailable,
            format!("unexpected controller answer {other:?}"),
        )
        .into()),
    }
}

/// `POST /v1/topics/{name}/reassign`: starts moving (or cancels the move
/// of) one partition; answers once the controller recorded it, with the
/// moves in progress.
async fn reassign_partition(
    State(core): State<Arc<Core>>,
    Path(name): Path<String>,
    body: Result<Json<Reassign>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ReassignmentsView>, ApiError> {
    let Json(body) = body.map_err(bad_json)?;
    let request = ControllerRequest::Reassign {
        topic: name,
        partition: body.partition,
        replicas: body.replicas,
        validate_only: false,
    };
    core.submit(request, ADMIN_TIMEOUT).await?;
    Ok(Json(reassignments_view(&core)))
}

/// `POST /v1/reassignments`: a Kafka reassignment plan. Every partition is
/// checked first; nothing starts unless all are valid.
async fn apply_plan(
    State(core): State<Arc<Core>>,
    body: Result<Json<ReassignmentPlan>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ReassignmentsView>, ApiError> {
    let Json(plan) = body.map_err(bad_json)?;
    if plan.version != 1 {
        return Err(MetaError::new(
            MetaErrorCode::InvalidReplicaAssignment,
            format!("plan version {} is not 1", plan.version),
        )
        .into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in &plan.partitions {
        if !seen.insert((p.topic.clone(), p.partition)) {
            return Err(MetaError::new(
                MetaErrorCode::InvalidReplicaAssignment,
                format!("the plan names {}-{} twice", p.topic, p.partition),
            )
            .into());
        }
        if let Some(dirs) = &p.log_dirs {
            if dirs.len() != p.replicas.len() || dirs.iter().any(|d| d != "any") {
                return Err(MetaError::new(
                    MetaErrorCode::InvalidReplicaAssignment,
                    format!(
                        "{}-{}: log_dirs must be \"any\" for each replica (one data dir per broker)",
                        p.topic, p.partition
                    ),
                )
                .into());
            }
        }
    }
    for validate_only in [true, false] {
        for p in &plan.partitions {
            let request = ControllerRequest::Reassign {
                topic: p.topic.clone(),
                partition: p.partition,
                replicas: Some(p.replicas.clone()),
                validate_only,
            };
            core.submit(request, ADMIN_TIMEOUT).await?;
        }
    }
    Ok(Json(reassignments_view(&core)))
}

/// `GET /v1/controller`: the metadata group, from the controller.
async fn controller_status(
    State(core): State<Arc<Core>>,
) -> Result<Json<ControllerView>, ApiError> {
    match core
        .submit(ControllerRequest::DescribeQuorum, ADMIN_TIMEOUT)
        .await?
    {
        MetaResponse::Quorum(q) => {
            let member = |(id, log_end): (u64, Option<u64>)| QuorumMemberView { id, log_end };
            Ok(Json(ControllerView {
                controller: q.leader,
                term: q.term,
                high_watermark: q.high_watermark,
                voters: q.voters.into_iter().map(member).collect(),
                learners: q.observers.into_iter().map(member).collect(),
            }))
        }
        other => Err(MetaError::new(
            MetaErrorCode::Unavailable,
            format!("unexpected controller answer {other:?}"),
        )
        .into()),
    }
}

/// `POST /v1/controller/voters/{id}`: broker `id` becomes a metadata voter.
async fn add_voter(
    State(core): State<Arc<Core>>,
    Path(id): Path<u64>,
) -> Result<Json<ControllerView>, ApiError> {
    core.submit(ControllerRequest::AddVoter { broker: id }, ADMIN_TIMEOUT)
        .await?;
    controller_status(State(core)).await
}

/// `DELETE /v1/controller/voters/{id}`: broker `id` becomes a metadata learner.
async fn remove_voter(
    State(core): State<Arc<Core>>,
    Path(id): Path<u64>,
) -> Result<Json<ControllerView>, ApiError> {
    // The controller first hands its role to another voter.
    if core.meta().leader() == Some(id) {
        let others: Vec<u64> = core
            .meta()
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .filter(|v| *v != id)
            .collect();
        for to in others {
            let moved = crate::transfer::transfer(
                &core,
                cairn_storage::METADATA_GROUP,
                id,
                to,
                Duration::from_secs(10),
            )
            .await;
            match moved {
                Ok(_) => break,
                Err(e) => tracing::info!(id, to, error = %e, "controller role not handed over"),
            }
        }
    }
    core.submit(ControllerRequest::RemoveVoter { broker: id }, ADMIN_TIMEOUT)
        .await?;
    controller_status(State(core)).await
}

/// `POST /v1/brokers/{id}/decommission`: starts draining broker `id`.
async fn decommission(
    State(core): State<Arc<Core>>,
    Path(id): Path<u64>,
) -> Result<Json<DecommissionView>, ApiError> {
    core.submit(
        ControllerRequest::Decommission { broker: id },
        ADMIN_TIMEOUT,
    )
    .await?;
    Ok(Json(applied_here(&core, id, true).await))
}

/// `POST /v1/brokers/{id}/recommission`: stops draining broker `id`.
async fn recommission(
    State(core): State<Arc<Core>>,
    Path(id): Path<u64>,
) -> Result<Json<DecommissionView>, ApiError> {
    core.submit(
        ControllerRequest::Recommission { broker: id },
        ADMIN_TIMEOUT,
    )
    .await?;
    Ok(Json(applied_here(&core, id, false).await))
}

/// `GET /v1/brokers/{id}/decommission`.
async fn decommission_status(
    State(core): State<Arc<Core>>,
    Path(id): Path<u64>,
) -> Json<DecommissionView> {
    Json(decommission_view(&core, id))
}

/// The decommission view once this broker's copy of the catalogue shows
/// the change the controller applied (`draining`), or after a second.
async fn applied_here(core: &Core, id: u64, draining: bool) -> DecommissionView {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let view = decommission_view(core, id);
        // A drained broker may be unregistered already.
        if view.decommissioning == draining || !view.registered || Instant::now() > deadline {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn decommission_view(core: &Core, id: u64) -> DecommissionView {
    core.meta().reader.read(|state| {
        let held = state.hosted_on(id);
        DecommissionView {
            broker: id,
            registered: state.brokers.contains_key(&id),
            decommissioning: state.decommissioning.contains(&id),
            replicas_left: held.len(),
            moving: held
                .iter()
                .filter(|(_, p)| state.reassignments.contains_key(&p.group))
                .count(),
            partitions: held
                .iter()
                .map(|(t, p)| format!("{}-{}", t.name, p.partition))
                .collect(),
            bytes_held: (id == core.id()).then(|| {
                held.iter()
                    .filter_map(|(_, p)| core.partitions().registry.get(p.group))
                    .map(|(_, h)| h.reader.size_bytes())
                    .sum()
            }),
        }
    })
}

/// `GET /v1/cluster/replica-plan?max_moves=N`: the replica moves that
/// would spread replicas evenly over the live brokers (onto a new broker,
/// say), as a Kafka reassignment plan; changes nothing. Partitions moving
/// now are left out.
async fn replica_plan(
    State(core): State<Arc<Core>>,
    axum::extract::Query(query): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Result<Json<ReassignmentPlan>, ApiError> {
    let max_moves = match query.get("max_moves") {
        None => 1000,
        Some(n) => n.parse::<usize>().map_err(|_| {
            ApiError(
                StatusCode::BAD_REQUEST,
                ErrorDetail {
                    code: "INVALID_REQUEST".into(),
                    message: format!("max_moves '{n}' is not a count"),
                },
            )
        })?,
    };
    Ok(Json(core.meta().reader.read(|state| {
        let partitions: Vec<(u64, Vec<u64>)> = state
            .topics
            .values()
            .flat_map(|t| t.partitions.iter())
            .filter(|p| !state.reassignments.contains_key(&p.group))
            .map(|p| (p.group, p.replicas.clone()))
            .collect();
        let candidates = cairn_meta::controller::placement_candidates(state);
        let moves = cairn_meta::spread::spread(&partitions, &candidates, max_moves);
        ReassignmentPlan {
            version: 1,
            partitions: moves
                .into_iter()
                .filter_map(|(group, replicas)| {
                    let (t, p) = state.partition_of_group(group)?;
                    Some(PlanPartition {
                        topic: t.name.clone(),
                        partition: p.partition,
                        replicas,
                        log_dirs: None,
                    })
                })
                .collect(),
        }
    })))
}

/// `GET /v1/reassignments`: the moves in progress.
async fn list_reassignments(State(core): State<Arc<Core>>) -> Json<ReassignmentsView> {
    Json(reassignments_view(&core))
}

fn reassignments_view(core: &Core) -> ReassignmentsView {
    core.meta().reader.read(|state| ReassignmentsView {
        reassignments: state
            .moves()
            .into_iter()
            .map(|((topic, partition), (p, m))| {
                let view = cairn_meta::reassign::move_view(&p.replicas, &m.target);
                ReassignmentView {
                    topic,
                    partition,
                    replicas: p.replicas.clone(),
                    target: m.target.clone(),
                    adding: view.adding,
                    removing: view.removing,
                    started_at_ms: m.started_at_ms,
                }
            })
            .collect(),
    })
}

/// `POST /v1/cluster/rebalance-leaders`: a preferred-leader election for
/// every partition (or those of the named topics); answers once every
/// transfer has ended.
async fn rebalance_leaders(
    State(core): State<Arc<Core>>,
    body: Result<Json<RebalanceLeaders>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<RebalanceLeadersView>, ApiError> {
    use crate::leader_balance::{elect_preferred, ElectionError};
    let Json(body) = body.map_err(bad_json)?;
    let partitions = if body.topics.is_empty() {
        None
    } else {
        let state = core.meta().reader.read(Clone::clone);
        let mut wanted = Vec::new();
        for name in &body.topics {
            let topic = state.topics.get(name).ok_or_else(|| {
                MetaError::new(
                    MetaErrorCode::UnknownTopic,
                    format!("topic '{name}' does not exist"),
                )
            })?;
            wanted.extend(
                topic
                    .partitions
                    .iter()
                    .map(|p| (name.clone(), p.partition as i32)),
            );
        }
        Some(wanted)
    };
    let timeout = Duration::from_millis(body.timeout_ms.unwrap_or(10_000).clamp(1, 60_000));
    let elections = elect_preferred(&core, partitions, timeout).await;
    let mut view = RebalanceLeadersView {
        moved: 0,
        already_preferred: 0,
        not_moved: 0,
        partitions: Vec::new(),
    };
    for e in elections {
        let (outcome, message) = match e.result {
            Ok(_) => {
                view.moved += 1;
                ("moved", None)
            }
            Err(ElectionError::NotNeeded) => {
                view.already_preferred += 1;
                continue;
            }
            Err(ElectionError::UnknownPartition) => {
                view.not_moved += 1;
                ("unknown_partition", None)
            }
            Err(ElectionError::NotAvailable(why)) => {
                view.not_moved += 1;
                ("not_available", Some(why))
            }
            Err(ElectionError::Failed(why)) => {
                view.not_moved += 1;
                ("failed", Some(why))
            }
        };
        view.partitions.push(LeaderElectionView {
            topic: e.topic,
            partition: e.partition,
            preferred: e.preferred,
            previous_leader: e.from,
            outcome: outcome.to_string(),
            message,
        });
    }
    Ok(Json(view))
}

async fn alter_configs(
    State(core): State<Arc<Core>>,
    Path(name): Path<String>,
    body: Result<Json<AlterTopicConfigs>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(body) = body.map_err(bad_json)?;
    let request = ControllerRequest::AlterTopicConfigs {
        name,
        change: cairn_meta::ConfigChange {
            set: body.set,
            delete: body.delete,
            replace: false,
        },
        validate_only: false,
    };
    core.submit(request, ADMIN_TIMEOUT).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn trim_partition(
    State(core): State<Arc<Core>>,
    Path(name): Path<String>,
    body: Result<Json<TrimPartition>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<TrimmedPartition>, ApiError> {
    use crate::trim::TrimRefusal;
    let Json(body) = body.map_err(bad_json)?;
    let trimmed = crate::trim::trim_partition(&core, &name, body.partition, body.offset).await;
    let log_start_offset = trimmed.map_err(|e| {
        let (status, code) = match &e {
            TrimRefusal::UnknownPartition(_) => {
                (StatusCode::NOT_FOUND, "UNKNOWN_TOPIC_OR_PARTITION")
            }
            TrimRefusal::OutOfRange { .. } => (StatusCode::BAD_REQUEST, "OFFSET_OUT_OF_RANGE"),
            TrimRefusal::NotLeader(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "NOT_LEADER_OR_FOLLOWER")
            }
            TrimRefusal::Failed(_) => (StatusCode::SERVICE_UNAVAILABLE, "REQUEST_TIMED_OUT"),
        };
        ApiError(
            status,
            ErrorDetail {
                code: code.to_string(),
                message: format!("cannot trim {name}-{}: {e}", body.partition),
            },
        )
    })?;
    Ok(Json(TrimmedPartition {
        topic: name,
        partition: body.partition,
        log_start_offset,
    }))
}

async fn delete_topic(
    State(core): State<Arc<Core>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    core.submit(ControllerRequest::DeleteTopic { name }, ADMIN_TIMEOUT)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
