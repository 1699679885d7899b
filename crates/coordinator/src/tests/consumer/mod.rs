//! Unit tests of consumer (KIP-848) groups, one file per concept, driven
//! through [`harness::Harness`] with plain numbers for time.

mod assignors;
mod determinism;
mod harness;
mod membership;
mod reconciliation;
mod shared;
mod static_member;
mod timeouts;
