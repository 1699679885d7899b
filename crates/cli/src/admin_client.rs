//! `cairn topic ...` and `cairn cluster ...`: clients of a broker's admin API.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use reqwest::blocking::{Client, Response};

use cairn_broker::view::{
    AlterTopicConfigs, ClusterView, ControllerView, CreateTopic, DecommissionView, ErrorBody,
    Reassign, ReassignmentPlan, ReassignmentsView, RebalanceLeaders, RebalanceLeadersView,
    TopicView,
};

use crate::output;

/// Where the admin API is.
#[derive(Args, Debug, Clone)]
pub struct AdminArgs {
    /// Admin API address of any broker, HOST:PORT or URL.
    #[arg(
        long,
        env = "CAIRN_ADMIN",
        default_value = "127.0.0.1:9644",
        global = true
    )]
    pub(crate) admin: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table, global = true)]
    output: Format,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable tables.
    Table,
    /// JSON for scripts.
    Json,
}

#[derive(Subcommand, Debug)]
pub enum TopicCommand {
    /// Create a topic.
    Create {
        /// Topic name.
        name: String,
        /// Number of partitions.
        #[arg(long, short = 'p', default_value_t = 1)]
        partitions: u32,
        /// Replicas per partition.
        #[arg(long, short = 'r', default_value_t = 1)]
        replication_factor: u32,
        /// Topic config, KEY=VALUE (repeatable), e.g. retention.ms=86400000.
        #[arg(long = "config", short = 'c')]
        configs: Vec<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// List topics.
    List {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Show a topic's partitions, leaders, ISR and configs.
    Describe {
        /// Topic name.
        name: String,
        /// List each partition's idempotent producers instead (asked of the
        /// partition leaders with Kafka's DescribeProducers).
        #[arg(long)]
        producers: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Delete a topic and its data.
    Delete {
        /// Topic name.
        name: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Change a topic's configs, e.g. --config retention.ms=3600000.
    Alter {
        /// Topic name.
        name: String,
        /// Config to set, KEY=VALUE (repeatable).
        #[arg(long = "config", short = 'c')]
        configs: Vec<String>,
        /// Config to reset to its default (repeatable).
        #[arg(long = "delete-config")]
        delete: Vec<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Delete a partition's records below an offset (moves its log start;
    /// Kafka's DeleteRecords).
    Trim {
        /// Topic name.
        name: String,
        /// Partition index.
        #[arg(long, short = 'p')]
        partition: i32,
        /// First offset to keep; `end` deletes every record now in the partition.
        #[arg(long)]
        before: String,
        #[command(flatten)]
        bootstrap: crate::clients::Bootstrap,
    },
    /// Move a partition to other brokers (Raft membership changes: the new
    /// replicas catch up as learners, then the voters switch), or cancel a
    /// move in progress.
    Reassign {
        /// Topic name.
        name: String,
        /// Partition index.
        #[arg(long, short = 'p')]
        partition: u32,
        /// The brokers to move to, e.g. 2,3,4 (the first is the preferred leader).
        #[arg(long, value_delimiter = ',', required_unless_present = "cancel")]
        replicas: Vec<u64>,
        /// Cancel the move in progress: the partition moves back.
        #[arg(long, conflicts_with = "replicas")]
        cancel: bool,
        /// Wait until the move has completed.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// `cairn controller ...`: the metadata group's voters.
#[derive(Subcommand, Debug)]
pub enum ControllerCommand {
    /// The controller, its term, and each voter's and learner's progress.
    Status {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Make broker ID (a caught-up metadata learner) a voter of the metadata
    /// group, by joint consensus.
    AddVoter {
        /// Broker id.
        id: u64,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Make broker ID a learner of the metadata group (it keeps a copy of
    /// the metadata); at least one voter stays.
    RemoveVoter {
        /// Broker id.
        id: u64,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// Runs a `cairn controller` command.
pub fn run_controller(command: ControllerCommand) -> anyhow::Result<()> {
    let (admin, view): (AdminArgs, ControllerView) = match command {
        ControllerCommand::Status { admin } => {
            let client = AdminClient::new(&admin.admin)?;
            let view = client.get("/v1/controller")?;
            (admin, view)
        }
        ControllerCommand::AddVoter { id, admin } => {
            let client = AdminClient::new(&admin.admin)?;
            let view = client
                .send(
                    client
                        .http
                        .post(format!("{}/v1/controller/voters/{id}", client.base)),
                )?
                .json()
                .context("malformed answer to add-voter")?;
            (admin, view)
        }
        ControllerCommand::RemoveVoter { id, admin } => {
            let client = AdminClient::new(&admin.admin)?;
            let view = client
                .send(
                    client
                        .http
                        .delete(format!("{}/v1/controller/voters/{id}", client.base)),
                )?
                .json()
                .context("malformed answer to remove-voter")?;
            (admin, view)
        }
    };
    match admin.output {
        Format::Json => print_json(&view),
        Format::Table => {
            print!("{}", output::controller(&view));
            Ok(())
        }
    }
}

/// `cairn broker decommission|recommission|decommission-status ID`.
#[derive(Subcommand, Debug)]
pub enum BrokerAction {
    /// Move every replica off broker ID (placement picks the targets,
    /// racks respected; a few moves at a time), then unregister it. New
    /// topics avoid it meanwhile.
    Decommission {
        /// Broker id.
        id: u64,
        /// Wait until it is drained and unregistered, showing progress.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Stop decommissioning broker ID; moves of its replicas in progress move back.
    Recommission {
        /// Broker id.
        id: u64,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// How far decommissioning broker ID has got.
    DecommissionStatus {
        /// Broker id.
        id: u64,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Brokers, controller, partition leaders and ISR.
    Status {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Start the moves of a Kafka reassignment plan
    /// (`kafka-reassign-partitions.sh`'s JSON: {"version":1,"partitions":[{"topic","partition","replicas"}]}).
    Reassign {
        /// The plan file.
        #[arg(long)]
        plan: std::path::PathBuf,
        /// Wait until every move has completed.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Spread replicas evenly over the live brokers (e.g. onto a new one):
    /// prints the plan (Kafka's reassignment JSON, for `cairn cluster
    /// reassign --plan`); `--execute` starts it.
    RebalanceReplicas {
        /// Start the moves instead of printing them.
        #[arg(long)]
        execute: bool,
        /// With --execute: wait until every move has completed.
        #[arg(long, requires = "execute")]
        wait: bool,
        /// At most this many replica moves.
        #[arg(long, default_value_t = 1000)]
        max_moves: usize,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// The replica moves in progress.
    Reassignments {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Move partition leaderships back to their preferred replicas (the
    /// first of each partition's replicas) where those are live and in sync:
    /// Kafka's preferred leader election.
    RebalanceLeaders {
        /// Only this topic's partitions (repeatable); every topic by default.
        #[arg(long = "topic", short = 't')]
        topics: Vec<String>,
        /// How long each leadership transfer may take, in milliseconds.
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

pub(crate) struct AdminClient {
    base: String,
    http: Client,
}

impl AdminClient {
    pub(crate) fn new(admin: &str) -> anyhow::Result<Self> {
        let base = if admin.starts_with("http://") || admin.starts_with("https://") {
            admin.trim_end_matches('/').to_string()
        } else {
            format!("http://{}", admin.trim_end_matches('/'))
        };
        let http = Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Self { base, http })
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> anyhow::Result<Response> {
        let response = request.send().map_err(|e| {
            anyhow!(
                "broker unreachable: cannot reach the admin API at {} ({}); is a broker running there? Set --admin or CAIRN_ADMIN",
                self.base,
                root_cause(&e)
            )
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let text = response.text().unwrap_or_default();
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => bail!("{} ({})", body.error.message, body.error.code),
            Err(_) => bail!("admin API at {} answered {status}: {text}", self.base),
        }
    }

    pub(crate) fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let response = self.send(self.http.get(format!("{}{path}", self.base)))?;
        response
            .json()
            .with_context(|| format!("malformed answer from {}{path}", self.base))
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn parse_configs(configs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    configs
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| anyhow!("--config '{kv}' is not of the form KEY=VALUE"))
        })
        .collect()
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Runs a `cairn topic` command.
pub fn run_topic(command: TopicCommand) -> anyhow::Result<()> {
    match command {
        TopicCommand::Create {
            name,
            partitions,
            replication_factor,
            configs,
            admin,
        } => {
            let client = AdminClient::new(&admin.admin)?;
            let body = CreateTopic {
                name,
                partitions,
                replication_factor,
                configs: parse_configs(&configs)?,
            };
            let response = client.send(
                client
                    .http
                    .post(format!("{}/v1/topics", client.base))
                    .json(&body),
            )?;
            let topic: TopicView = response
                .json()
                .context("malformed answer to topic create")?;
            match admin.output {
                Format::Json => print_json(&topic),
                Format::Table => {
                    println!(
                        "created topic {} with {} partitions, replication factor {}",
                        topic.name,
                        topic.partitions.len(),
                        topic.replication_factor
                    );
                    Ok(())
                }
            }
        }
        TopicCommand::List { admin } => {
            let client = AdminClient::new(&admin.admin)?;
            let topics: Vec<TopicView> = client.get("/v1/topics")?;
            match admin.output {
                Format::Json => print_json(&topics),
                Format::Table => {
                    print!("{}", output::topic_list(&topics));
                    Ok(())
                }
            }
        }
        TopicCommand::Describe {
            name,
            producers,
            admin,
        } => {
            let client = AdminClient::new(&admin.admin)?;
            let topic: TopicView = client.get(&format!("/v1/topics/{name}"))?;
            if producers {
                let cluster: ClusterView = client.get("/v1/cluster")?;
                let rows = crate::producers_cmd::describe(&cluster, &topic)?;
                return match admin.output {
                    Format::Json => print_json(&rows),
                    Format::Table => {
                        print!("{}", crate::producers_cmd::table(&rows));
                        Ok(())
                    }
                };
            }
            match admin.output {
                Format::Json => print_json(&topic),
                Format::Table => {
                    print!("{}", output::topic_describe(&topic));
                    Ok(())
                }
            }
        }
        TopicCommand::Delete { name, admin } => {
            let client = AdminClient::new(&admin.admin)?;
            client.send(
                client
                    .http
                    .delete(format!("{}/v1/topics/{name}", client.base)),
            )?;
            if admin.output == Format::Table {
                println!("deleted topic {name}");
            }
            Ok(())
        }
        TopicCommand::Alter {
            name,
            configs,
            delete,
            admin,
        } => {
            if configs.is_empty() && delete.is_empty() {
                bail!("nothing to change: give --config KEY=VALUE or --delete-config KEY");
            }
            let client = AdminClient::new(&admin.admin)?;
            let body = AlterTopicConfigs {
                set: parse_configs(&configs)?,
                delete,
            };
            client.send(
                client
                    .http
                    .post(format!("{}/v1/topics/{name}/configs", client.base))
                    .json(&body),
            )?;
            if admin.output == Format::Table {
                for (k, v) in &body.set {
                    println!("topic {name}: {k}={v}");
                }
                for k in &body.delete {
                    println!("topic {name}: {k} reset to its default");
                }
            }
            Ok(())
        }
        TopicCommand::Reassign {
            name,
            partition,
            replicas,
            cancel,
            wait,
            admin,
        } => {
            let client = AdminClient::new(&admin.admin)?;
            let body = Reassign {
                partition,
                replicas: (!cancel).then_some(replicas),
            };
            client.send(
                client
                    .http
                    .post(format!("{}/v1/topics/{name}/reassign", client.base))
                    .json(&body),
            )?;
            let what = if cancel { "moving back" } else { "moving" };
            if wait {
                wait_for_moves(&client, &[(name.clone(), partition)])?;
                println!(
                    "topic {name} partition {partition}: {} done",
                    if cancel { "cancel" } else { "move" }
                );
            } else {
                println!("topic {name} partition {partition}: {what}; `cairn cluster reassignments` shows progress");
            }
            Ok(())
        }
        TopicCommand::Trim {
            name,
            partition,
            before,
            bootstrap,
        } => {
            let offset = match before.as_str() {
                "end" => rdkafka::Offset::End,
                n => {
                    rdkafka::Offset::Offset(n.parse::<i64>().ok().filter(|o| *o >= 0).ok_or_else(
                        || anyhow!("--before '{before}' must be an offset (0 or more) or 'end'"),
                    )?)
                }
            };
            let start = crate::clients::delete_records(&bootstrap, &name, partition, offset)?;
            println!("topic {name} partition {partition}: log start offset is now {start}");
            Ok(())
        }
    }
}

/// Runs a `cairn broker` admin action.
pub fn run_broker_action(action: BrokerAction) -> anyhow::Result<()> {
    match action {
        BrokerAction::Decommission { id, wait, admin } => {
            let client = AdminClient::new(&admin.admin)?;
            let view: DecommissionView = client
                .send(
                    client
                        .http
                        .post(format!("{}/v1/brokers/{id}/decommission", client.base)),
                )?
                .json()
                .context("malformed answer to decommission")?;
            if admin.output == Format::Json && !wait {
                return print_json(&view);
            }
            let view = with_bytes_held(&client, view);
            println!("{}", output::decommission(&view));
            if wait {
                let mut last = String::new();
                loop {
                    let view = decommission_status(&client, id)?;
                    let line = output::decommission(&view);
                    if line != last {
                        println!("{line}");
                        last = line;
                    }
                    if !view.registered {
                        return Ok(());
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
            Ok(())
        }
        BrokerAction::Recommission { id, admin } => {
            let client = AdminClient::new(&admin.admin)?;
            let view: DecommissionView = client
                .send(
                    client
                        .http
                        .post(format!("{}/v1/brokers/{id}/recommission", client.base)),
                )?
                .json()
                .context("malformed answer to recommission")?;
            match admin.output {
                Format::Json => print_json(&view),
                Format::Table => {
                    println!("{}", output::decommission(&view));
                    Ok(())
                }
            }
        }
        BrokerAction::DecommissionStatus { id, admin } => {
            let client = AdminClient::new(&admin.admin)?;
            let view = decommission_status(&client, id)?;
            match admin.output {
                Format::Json => print_json(&view),
                Format::Table => {
                    println!("{}", output::decommission(&view));
                    Ok(())
                }
            }
        }
    }
}

/// Broker `id`'s decommission view, with the bytes it holds.
fn decommission_status(client: &AdminClient, id: u64) -> anyhow::Result<DecommissionView> {
    let view: DecommissionView = client.get(&format!("/v1/brokers/{id}/decommission"))?;
    Ok(with_bytes_held(client, view))
}

/// Only the broker itself knows the bytes it holds: when another broker
/// answered, asks it at its admin address (best effort: left out if it does
/// not answer).
fn with_bytes_held(client: &AdminClient, mut view: DecommissionView) -> DecommissionView {
    if view.bytes_held.is_some() || !view.registered {
        return view;
    }
    let own = client
        .get::<ClusterView>("/v1/cluster")
        .ok()
        .and_then(|c| c.brokers.into_iter().find(|b| b.id == view.broker))
        .and_then(|b| AdminClient::new(&b.admin_addr).ok())
        .and_then(|c| {
            c.get::<DecommissionView>(&format!("/v1/brokers/{}/decommission", view.broker))
                .ok()
        });
    view.bytes_held = own.and_then(|v| v.bytes_held);
    view
}

/// Starts the moves of `plan` and, with `wait`, waits until they are done.
fn start_plan(client: &AdminClient, plan: &ReassignmentPlan, wait: bool) -> anyhow::Result<()> {
    client.send(
        client
            .http
            .post(format!("{}/v1/reassignments", client.base))
            .json(plan),
    )?;
    let partitions: Vec<(String, u32)> = plan
        .partitions
        .iter()
        .map(|p| (p.topic.clone(), p.partition))
        .collect();
    if wait {
        wait_for_moves(client, &partitions)?;
        println!("{} partitions moved", partitions.len());
    } else {
        println!(
            "{} partitions moving; `cairn cluster reassignments` shows progress",
            partitions.len()
        );
    }
    Ok(())
}

/// Waits until none of `partitions` is moving any more.
fn wait_for_moves(client: &AdminClient, partitions: &[(String, u32)]) -> anyhow::Result<()> {
    loop {
        let view: ReassignmentsView = client.get("/v1/reassignments")?;
        let moving = view
            .reassignments
            .iter()
            .filter(|r| partitions.contains(&(r.topic.clone(), r.partition)))
            .count();
        if moving == 0 {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Runs a `cairn cluster` command.
pub fn run_cluster(command: ClusterCommand) -> anyhow::Result<()> {
    match command {
        ClusterCommand::Status { admin } => {
            let client = AdminClient::new(&admin.admin)?;
            let view: ClusterView = client.get("/v1/cluster")?;
            match admin.output {
                Format::Json => print_json(&view),
                Format::Table => {
                    // Throughput is extra: a broker that cannot gather it
                    // still gets its status printed.
                    let stats = client.get("/v1/stats").ok();
                    print!("{}", output::cluster_status(&view, stats.as_ref()));
                    Ok(())
                }
            }
        }
        ClusterCommand::Reassign { plan, wait, admin } => {
            let text = std::fs::read_to_string(&plan)
                .with_context(|| format!("cannot read plan {}", plan.display()))?;
            let parsed: ReassignmentPlan = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a reassignment plan", plan.display()))?;
            let client = AdminClient::new(&admin.admin)?;
            start_plan(&client, &parsed, wait)
        }
        ClusterCommand::RebalanceReplicas {
            execute,
            wait,
            max_moves,
            admin,
        } => {
            let client = AdminClient::new(&admin.admin)?;
            let plan: ReassignmentPlan =
                client.get(&format!("/v1/cluster/replica-plan?max_moves={max_moves}"))?;
            if !execute {
                if plan.partitions.is_empty() {
                    eprintln!("replicas are spread evenly already: nothing to move");
                } else {
                    eprintln!(
                        "{} partitions would move; run again with --execute to start (or save this plan for `cairn cluster reassign --plan`)",
                        plan.partitions.len()
                    );
                }
                return print_json(&plan);
            }
            if plan.partitions.is_empty() {
                println!("replicas are spread evenly already: nothing to move");
                return Ok(());
            }
            start_plan(&client, &plan, wait)
        }
        ClusterCommand::Reassignments { admin } => {
            let client = AdminClient::new(&admin.admin)?;
            let view: ReassignmentsView = client.get("/v1/reassignments")?;
            match admin.output {
                Format::Json => print_json(&view),
                Format::Table => {
                    print!("{}", output::reassignments(&view));
                    Ok(())
                }
            }
        }
        ClusterCommand::RebalanceLeaders {
            topics,
            timeout_ms,
            admin,
        } => {
            let client = AdminClient::new(&admin.admin)?;
            let body = RebalanceLeaders {
                topics,
                timeout_ms: Some(timeout_ms),
            };
            let response = client.send(
                client
                    .http
                    .post(format!("{}/v1/cluster/rebalance-leaders", client.base))
                    // Every transfer, 16 at a time.
                    .timeout(Duration::from_secs(600))
                    .json(&body),
            )?;
            let view: RebalanceLeadersView = response
                .json()
                .context("malformed answer to rebalance-leaders")?;
            match admin.output {
                Format::Json => print_json(&view),
                Format::Table => {
                    print!("{}", output::rebalance_leaders(&view));
                    Ok(())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_parse_and_bad_ones_are_named() {
        let c =
            parse_configs(&["retention.ms=1000".into(), "cleanup.policy = delete".into()]).unwrap();
        assert_eq!(c["retention.ms"], "1000");
        assert_eq!(c["cleanup.policy"], "delete");
        let e = parse_configs(&["retention.ms".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("'retention.ms'"), "{e}");
        assert!(parse_configs(&["=1".into()]).is_err());
    }
}
