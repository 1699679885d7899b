//! Jepsen-style testing of Cairn: a cluster of real broker processes
//! ([`harness`]), a workload and a nemesis ([`run`]), the history they record
//! ([`history`]) and the checker that finds anomalies in it ([`checker`], pure:
//! events in, a report out); [`group`] holds the group workload's consumers. It talks to brokers only through Kafka, HTTP and
//! signals.

pub mod checker;
pub mod final_read;
pub mod group;
pub mod harness;
pub mod history;
pub mod net;
pub mod run;
pub mod txn;

pub use checker::{check, Anomaly, Report};
pub use history::{Event, History, Outcome, Poll, Send};
