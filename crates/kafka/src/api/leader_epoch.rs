//! KIP-320 fencing: a Fetch (v9+), ListOffsets (v4+) or OffsetForLeaderEpoch
//! (v2+) partition carries the leader epoch the client believes current.
//! -1 skips the check; an older epoch is FENCED_LEADER_EPOCH (the client's
//! metadata is stale: refresh it), a newer one UNKNOWN_LEADER_EPOCH (this
//! leader has not heard of it: retry). Leader epochs are Raft terms.

use crate::cluster::KafkaCluster;
use crate::error::KafkaError;
use crate::error_code;

/// The answer for a client that believes `requested` is the epoch of a
/// leader whose epoch is `current`.
pub fn compare(requested: i32, current: i32) -> Result<(), KafkaError> {
    match requested {
        r if r < 0 || r == current => Ok(()),
        r if r < current => Err(KafkaError::new(
            error_code::FENCED_LEADER_EPOCH,
            format!("leader epoch {r} is older than the leader's {current}"),
        )),
        r => Err(KafkaError::new(
            error_code::UNKNOWN_LEADER_EPOCH,
            format!("leader epoch {r} is newer than the leader's {current}"),
        )),
    }
}

/// Checks `requested` against this broker's leadership of the partition;
/// -1 passes without asking.
pub fn check(
    cluster: &dyn KafkaCluster,
    topic: &str,
    partition: i32,
    requested: i32,
) -> Result<(), KafkaError> {
    if requested < 0 {
        return Ok(());
    }
    compare(requested, cluster.leader_epoch(topic, partition)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_is_fenced_newer_is_unknown_and_none_passes() {
        assert!(compare(-1, 7).is_ok());
        assert!(compare(7, 7).is_ok());
        assert_eq!(
            compare(6, 7).unwrap_err().code,
            error_code::FENCED_LEADER_EPOCH
        );
        assert_eq!(
            compare(8, 7).unwrap_err().code,
            error_code::UNKNOWN_LEADER_EPOCH
        );
    }
}
