//! Idempotent producer ids (InitProducerId): each broker hands them out from
//! a block of [`cairn_meta::PRODUCER_ID_BLOCK_SIZE`] that the controller
//! allocates in the metadata group, and asks for the next block when one runs
//! out. A block is never handed out twice (its ids follow from the metadata
//! log index that allocated it), and a block left unused when a broker stops
//! is simply skipped: ids are plentiful, reuse is what must never happen.

use std::ops::Range;
use std::time::Duration;

use tokio::sync::Mutex;

use cairn_meta::{ControllerRequest, MetaError, MetaErrorCode, MetaResponse};

use crate::shared::Core;

/// How long an InitProducerId may wait for the controller to allocate a block.
const ALLOCATE_TIMEOUT: Duration = Duration::from_secs(10);

/// The ids left of this broker's current block.
#[derive(Debug, Default)]
pub struct ProducerIds {
    left: Mutex<Range<i64>>,
}

/// The next id of `left`, taking it; `None` when the block is used up.
fn take(left: &mut Range<i64>) -> Option<i64> {
    left.next()
}

impl ProducerIds {
    /// A producer id never handed out before, by any broker.
    pub async fn next(&self, core: &Core) -> Result<i64, MetaError> {
        // Held across the allocation: concurrent callers wait for one block
        // instead of each allocating their own.
        let mut left = self.left.lock().await;
        if let Some(id) = take(&mut left) {
            return Ok(id);
        }
        let request = ControllerRequest::AllocateProducerIds { broker: core.id() };
        match core.submit(request, ALLOCATE_TIMEOUT).await? {
            MetaResponse::ProducerIds(block) => {
                tracing::info!(
                    first = block.first,
                    count = block.count,
                    "producer id block allocated"
                );
                *left = block.first..block.first + block.count;
                take(&mut left).ok_or_else(|| {
                    MetaError::new(
                        MetaErrorCode::Unavailable,
                        "the controller allocated an empty producer id block",
                    )
                })
            }
            MetaResponse::Rejected(e) => Err(e),
            other => Err(MetaError::new(
                MetaErrorCode::Unavailable,
                format!("unexpected controller answer to a producer id allocation: {other:?}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_handed_out_once_in_order() {
        let mut left = 3000..3003;
        assert_eq!(
            [
                take(&mut left),
                take(&mut left),
                take(&mut left),
                take(&mut left)
            ],
            [Some(3000), Some(3001), Some(3002), None]
        );
        assert_eq!(take(&mut left), None);
        assert_eq!(take(&mut (0..0)), None);
    }
}
