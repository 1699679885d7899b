//! Unit tests of the coordinator, one file per concept, driven through
//! [`harness::Harness`] with plain numbers for time.

mod admin;
mod configure;
mod consumer;
mod determinism;
mod harness;
mod initial_delay;
mod join;
mod leave;
mod offsets;
mod rebalance_timeout;
mod session;
mod static_member;
mod sync;
mod txn_offsets;
