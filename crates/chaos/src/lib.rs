//! Jepsen-style checking of Cairn: the history of a workload run under faults
//! ([`history`]) and the checker that finds anomalies in it ([`checker`]).
//! Everything here is pure: events in, a report out.

pub mod checker;
pub mod history;

pub use checker::{check, Anomaly, Report};
pub use history::{Event, History, Outcome, Poll, Send};
