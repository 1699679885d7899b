//! The `cairn` command line: the broker process, topic and cluster admin, and
//! a local dev cluster. The root package's `cairn` binary calls [`main`].

mod admin_client;
mod bench;
mod broker_cmd;
mod chaos_cmd;
mod clients;
mod dev;
mod group_cmd;
mod group_reset;
mod output;
mod producers_cmd;
mod top;
mod txn_cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cairn",
    version,
    about = "Cairn: a Raft-replicated event log that speaks Kafka"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one broker.
    Broker(Box<broker_cmd::BrokerArgs>),
    /// Create, list, describe and delete topics.
    #[command(subcommand)]
    Topic(admin_client::TopicCommand),
    /// Cluster status.
    #[command(subcommand)]
    Cluster(admin_client::ClusterCommand),
    /// The metadata group: its controller, voters and learners.
    #[command(subcommand)]
    Controller(admin_client::ControllerCommand),
    /// Consumer groups: list them, describe one with its lag.
    #[command(subcommand)]
    Group(group_cmd::GroupCommand),
    /// Transactions: list the transactional ids, describe one.
    #[command(subcommand)]
    Txn(txn_cmd::TxnCommand),
    /// Produce one message per stdin line.
    Produce(clients::ProduceArgs),
    /// Print messages of a topic.
    Consume(clients::ConsumeArgs),
    /// Jepsen-style check: workload under broker kills and pauses, then the checker.
    Chaos(chaos_cmd::ChaosArgs),
    /// Run a local cluster of N brokers as child processes.
    Dev(dev::DevArgs),
    /// Load generator: produce and consume throughput and latency percentiles
    /// against Cairn (any Kafka cluster) or NATS JetStream.
    Bench(Box<bench::BenchArgs>),
    /// The busiest partitions and each broker's throughput, refreshed.
    Top(top::TopArgs),
}

/// Parses the command line and runs the command; exits non-zero on error.
pub fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Broker(args) => broker_cmd::run(*args),
        Command::Topic(cmd) => admin_client::run_topic(cmd),
        Command::Cluster(cmd) => admin_client::run_cluster(cmd),
        Command::Controller(cmd) => admin_client::run_controller(cmd),
        Command::Group(cmd) => group_cmd::run(cmd),
        Command::Txn(cmd) => txn_cmd::run(cmd),
        Command::Dev(args) => dev::run(args),
        Command::Chaos(args) => chaos_cmd::run(args),
        Command::Produce(args) => clients::produce(args),
        Command::Consume(args) => clients::consume(args),
        Command::Bench(args) => bench::run(*args),
        Command::Top(args) => top::run(args),
    };
    if let Err(e) = result {
        eprintln!("error: {}", one_line(&e));
        std::process::exit(1);
    }
}

/// The error and its causes on one line, skipping causes that an outer
/// message already spells out (many errors include their source's text).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    #[test]
    fn causes_are_not_repeated() {
        let io = std::io::Error::other("Address already in use");
        let e =
            anyhow::Error::new(io).context("cannot listen on 127.0.0.1:1: Address already in use");
        assert_eq!(
            super::one_line(&e),
            "cannot listen on 127.0.0.1:1: Address already in use"
        );
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(super::one_line(&e), "outer: inner");
    }
}
