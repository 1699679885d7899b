//! `cairn txn list` and `cairn txn describe ID`: transactions through the
//! Kafka protocol, as `kafka-transactions.sh` sees them. `list` asks every
//! broker (ListTransactions: each answers for the ids it coordinates);
//! `describe` finds the id's coordinator (FindCoordinator, key type 1) and
//! asks it (DescribeTransactions).

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use kafka_protocol::messages::{
    ApiKey, DescribeTransactionsRequest, DescribeTransactionsResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, ListTransactionsRequest, ListTransactionsResponse, MetadataRequest,
    MetadataResponse, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use crate::clients::Bootstrap;
use crate::producers_cmd::call;

/// `cairn txn ...`.
#[derive(Subcommand, Debug)]
pub enum TxnCommand {
    /// Every transactional id: its coordinator, producer id and state.
    List {
        /// Only ids in this state (Empty, Ongoing, PrepareCommit,
        /// PrepareAbort, CompleteCommit, CompleteAbort); repeatable.
        #[arg(long = "state")]
        states: Vec<String>,
        /// `table` or `json`.
        #[arg(long, default_value = "table")]
        output: String,
        #[command(flatten)]
        bootstrap: Bootstrap,
    },
    /// One transactional id: producer id and epoch, state, timeout, when
    /// the open transaction began, and its partitions.
    Describe {
        /// The transactional id.
        transactional_id: String,
        /// `table` or `json`.
        #[arg(long, default_value = "table")]
        output: String,
        #[command(flatten)]
        bootstrap: Bootstrap,
    },
}

#[derive(Serialize)]
struct TxnRow {
    transactional_id: String,
    coordinator: i32,
    producer_id: i64,
    state: String,
}

#[derive(Serialize)]
struct TxnDescription {
    transactional_id: String,
    coordinator: i32,
    state: String,
    producer_id: i64,
    producer_epoch: i16,
    timeout_ms: i32,
    /// When the open transaction began (ms since the epoch), -1 if none is.
    started_ms: i64,
    partitions: Vec<(String, i32)>,
}

/// Runs a `cairn txn` command.
pub fn run(cmd: TxnCommand) -> anyhow::Result<()> {
    match cmd {
        TxnCommand::List {
            states,
            output,
            bootstrap,
        } => {
            let rows = list(&bootstrap, &states)?;
            if output == "json" {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print!("{}", list_table(&rows));
            }
        }
        TxnCommand::Describe {
            transactional_id,
            output,
            bootstrap,
        } => {
            let d = describe(&bootstrap, &transactional_id)?;
            if output == "json" {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                print!("{}", describe_table(&d));
            }
        }
    }
    Ok(())
}

/// The first bootstrap address.
fn first_server(bootstrap: &Bootstrap) -> anyhow::Result<String> {
    bootstrap
        .servers()
        .split(',')
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| anyhow!("--bootstrap-server is empty"))
}

/// Every broker's id and Kafka address.
fn brokers(bootstrap: &Bootstrap) -> anyhow::Result<Vec<(i32, String)>> {
    let addr = first_server(bootstrap)?;
    let response: MetadataResponse = call(
        &addr,
        ApiKey::Metadata,
        9,
        &MetadataRequest::default().with_topics(Some(Vec::new())),
    )
    .with_context(|| format!("cannot read the brokers from {addr}"))?;
    Ok(response
        .brokers
        .into_iter()
        .map(|b| (b.node_id.0, format!("{}:{}", b.host, b.port)))
        .collect())
}

fn list(bootstrap: &Bootstrap, states: &[String]) -> anyhow::Result<Vec<TxnRow>> {
    let mut rows = Vec::new();
    for (id, addr) in brokers(bootstrap)? {
        let request = ListTransactionsRequest::default().with_state_filters(
            states
                .iter()
                .map(|s| StrBytes::from_string(s.clone()))
                .collect(),
        );
        let response: ListTransactionsResponse = call(&addr, ApiKey::ListTransactions, 0, &request)
            .with_context(|| format!("broker {id} ({addr})"))?;
        if let Some(unknown) = response.unknown_state_filters.first() {
            bail!(
                "unknown transaction state '{unknown}' (states: Empty, Ongoing, PrepareCommit, \
                 PrepareAbort, CompleteCommit, CompleteAbort)"
            );
        }
        if response.error_code != 0 {
            bail!(
                "broker {id} cannot list its transactions: error {}",
                response.error_code
            );
        }
        rows.extend(response.transaction_states.into_iter().map(|t| TxnRow {
            transactional_id: t.transactional_id.0.to_string(),
            coordinator: id,
            producer_id: t.producer_id.0,
            state: t.transaction_state.to_string(),
        }));
    }
    rows.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
    Ok(rows)
}

fn describe(bootstrap: &Bootstrap, transactional_id: &str) -> anyhow::Result<TxnDescription> {
    let addr = first_server(bootstrap)?;
    let found: FindCoordinatorResponse = call(
        &addr,
        ApiKey::FindCoordinator,
        3,
        &FindCoordinatorRequest::default()
            .with_key(StrBytes::from_string(transactional_id.to_string()))
            .with_key_type(1),
    )?;
    if found.error_code != 0 {
        bail!(
            "no coordinator for transactional id '{transactional_id}' now: error {}{}",
            found.error_code,
            found
                .error_message
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        );
    }
    let coordinator = format!("{}:{}", found.host, found.port);
    let response: DescribeTransactionsResponse = call(
        &coordinator,
        ApiKey::DescribeTransactions,
        0,
        &DescribeTransactionsRequest::default().with_transactional_ids(vec![TransactionalId(
            StrBytes::from_string(transactional_id.to_string()),
        )]),
    )?;
    let state = response
        .transaction_states
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("broker {} answered no state", found.node_id.0))?;
    match state.error_code {
        0 => {}
        105 => bail!("no transactional id '{transactional_id}'"),
        code => bail!(
            "broker {} cannot describe '{transactional_id}': error {code}",
            found.node_id.0
        ),
    }
    Ok(TxnDescription {
        transactional_id: transactional_id.to_string(),
        coordinator: found.node_id.0,
        state: state.transaction_state.to_string(),
        producer_id: state.producer_id.0,
        producer_epoch: state.producer_epoch,
        timeout_ms: state.transaction_timeout_ms,
        started_ms: state.transaction_start_time_ms,
        partitions: state
            .topics
            .into_iter()
            .flat_map(|t| {
                let topic = t.topic.0.to_string();
                t.partitions.into_iter().map(move |p| (topic.clone(), p))
            })
            .collect(),
    })
}

fn list_table(rows: &[TxnRow]) -> String {
    let mut out = format!(
        "{:<32} {:<12} {:<14} {}\n",
        "TRANSACTIONAL_ID", "COORDINATOR", "PRODUCER_ID", "STATE"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<32} {:<12} {:<14} {}\n",
            r.transactional_id, r.coordinator, r.producer_id, r.state
        ));
    }
    if rows.is_empty() {
        out.push_str("(no transactional ids)\n");
    }
    out
}

fn describe_table(d: &TxnDescription) -> String {
    let partitions = if d.partitions.is_empty() {
        "-".to_string()
    } else {
        d.partitions
            .iter()
            .map(|(t, p)| format!("{t}-{p}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "transactional id  {}\ncoordinator       {}\nstate             {}\nproducer          {} (epoch {})\ntimeout           {} ms\nstarted           {}\npartitions        {}\n",
        d.transactional_id,
        d.coordinator,
        d.state,
        d.producer_id,
        d.producer_epoch,
        d.timeout_ms,
        if d.started_ms < 0 {
            "-".to_string()
        } else {
            d.started_ms.to_string()
        },
        partitions
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_show_every_field_and_say_when_there_is_nothing() {
        let rows = [TxnRow {
            transactional_id: "orders".into(),
            coordinator: 2,
            producer_id: 7000,
            state: "Ongoing".into(),
        }];
        let t = list_table(&rows);
        assert!(t
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .eq(["orders", "2", "7000", "Ongoing"]));
        assert!(list_table(&[]).contains("no transactional ids"));
        let d = TxnDescription {
            transactional_id: "orders".into(),
            coordinator: 2,
            state: "Ongoing".into(),
            producer_id: 7000,
            producer_epoch: 3,
            timeout_ms: 60_000,
            started_ms: 1_700_000_000_000,
            partitions: vec![("out".into(), 0), ("out".into(), 2)],
        };
        let t = describe_table(&d);
        assert!(t.contains("out-0, out-2"), "{t}");
        assert!(t.contains("7000 (epoch 3)"), "{t}");
    }
}
