//! The state machine of a partition group: the offsets the partition has
//! handed out. Offsets are assigned here, at apply time, so every replica
//! assigns the same offsets in the same order.

use openraft::LogId;
use serde::{Deserialize, Serialize};

use crate::{GroupTypeConfig, Machine};

/// A command replicated through a partition's Raft log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionRequest {
    /// Appends `records` records; the machine assigns them consecutive offsets.
    Append {
        /// How many records the appended batch holds (at least 1).
        records: u32,
    },
}

/// What applying a [`PartitionRequest`] produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionResponse {
    /// Nothing to report (blank and membership entries).
    #[default]
    None,
    /// The offset of the first appended record.
    Appended {
        /// Offset of the first record of the append.
        base_offset: u64,
    },
}

/// Offsets of one partition: dense, starting at 0, assigned once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionMachine {
    /// The offset the next record gets; also the high watermark once applied.
    pub next_offset: u64,
    /// The first offset still kept.
    pub log_start_offset: u64,
}

impl<C> Machine<C> for PartitionMachine
where
    C: GroupTypeConfig<D = PartitionRequest, R = PartitionResponse>,
{
    fn apply(&mut self, _log_id: &LogId<u64>, request: &PartitionRequest) -> PartitionResponse {
        match request {
            PartitionRequest::Append { records } => {
                let base_offset = self.next_offset;
                self.next_offset += u64::from((*records).max(1));
                PartitionResponse::Appended { base_offset }
            }
        }
    }
}
