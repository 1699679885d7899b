//! Retention's decision: how far the log start may move.
//!
//! The leader asks [`retention_point`] over its index rows, then replicates
//! the answer as a [`PartitionRequest::Trim`](super::PartitionRequest::Trim);
//! applying the trim (see [`super::apply`]) deletes on every replica alike.
//! Retention removes whole log entries (an entry is kept while any record in
//! it is due to stay), so the point is always just past an entry's last
//! offset, or the current log start.

use super::state::IndexEntry;

/// What retention keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionLimits {
    /// Entries whose largest timestamp is below this (ms) expire.
    pub expire_before_ms: Option<i64>,
    /// The kept bytes must not exceed this.
    pub max_bytes: Option<u64>,
}

/// Where retention would move the log start: past every leading entry whose
/// largest timestamp is below `expire_before_ms` (entries without timestamps,
/// i.e. negative ones, never expire by time), and past as many leading
/// entries as needed to bring the kept bytes to `max_bytes` or below.
///
/// `rows` are the index rows from the one holding `log_start` on, in order;
/// `kept_bytes` is what they hold together. The answer never lies beyond the
/// last row (so never beyond the high watermark) and is `log_start` if
/// nothing is due. Rows are read only as far as needed.
pub fn retention_point<E>(
    log_start: u64,
    kept_bytes: u64,
    rows: impl IntoIterator<Item = Result<IndexEntry, E>>,
    limits: RetentionLimits,
) -> Result<u64, E> {
    let (mut point, mut kept) = (log_start, kept_bytes);
    for entry in rows {
        let entry = entry?;
        let by_time = limits
            .expire_before_ms
            .is_some_and(|t| entry.max_timestamp >= 0 && entry.max_timestamp < t);
        let by_size = limits.max_bytes.is_some_and(|m| kept > m);
        if !(by_time || by_size) {
            break;
        }
        point = point.max(entry.last_offset + 1);
        kept = kept.saturating_sub(entry.bytes);
    }
    Ok(point)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    /// Entries of 100 bytes holding offsets [0,5), [5,10), [10,15) with
    /// largest timestamps 100, 200, 300.
    fn rows() -> Vec<IndexEntry> {
        (0..3)
            .map(|i| IndexEntry {
                log_index: i + 1,
                base_offset: i * 5,
                last_offset: i * 5 + 4,
                max_timestamp: (i as i64 + 1) * 100,
                bytes: 100,
            })
            .collect()
    }

    fn point(log_start: u64, rows: Vec<IndexEntry>, limits: RetentionLimits) -> u64 {
        let kept = rows.iter().map(|r| r.bytes).sum();
        retention_point(
            log_start,
            kept,
            rows.into_iter().map(Ok::<_, Infallible>),
            limits,
        )
        .unwrap()
    }

    #[test]
    fn retention_points() {
        let limits = |expire_before_ms, max_bytes| RetentionLimits {
            expire_before_ms,
            max_bytes,
        };
        // (limits, expected point)
        let cases = [
            (limits(None, None), 0),
            // By time: every leading entry older than the bound.
            (limits(Some(100), None), 0),
            (limits(Some(101), None), 5),
            (limits(Some(250), None), 10),
            (limits(Some(1000), None), 15),
            // By size: as few leading entries as bring the total within the bound.
            (limits(None, Some(300)), 0),
            (limits(None, Some(250)), 5),
            (limits(None, Some(200)), 5),
            (limits(None, Some(0)), 15),
            // Either reason removes an entry; the first kept entry stops both.
            (limits(Some(150), Some(150)), 10),
            (limits(Some(250), Some(1000)), 10),
        ];
        for (limits, want) in cases {
            assert_eq!(point(0, rows(), limits), want, "{limits:?}");
        }
    }

    #[test]
    fn entries_without_timestamps_never_expire_by_time() {
        let mut rows = rows();
        rows[0].max_timestamp = -1;
        let limits = RetentionLimits {
            expire_before_ms: Some(1000),
            max_bytes: None,
        };
        assert_eq!(point(0, rows, limits), 0);
    }

    #[test]
    fn the_point_never_moves_back() {
        // Rows wholly below the log start (storage never keeps any) cannot
        // pull it back: removing [0,5) leaves the start at 7.
        let limits = RetentionLimits {
            expire_before_ms: Some(101),
            max_bytes: None,
        };
        assert_eq!(point(7, rows(), limits), 7);
        assert_eq!(point(7, rows(), RetentionLimits::default()), 7);
    }

    #[test]
    fn rows_are_read_only_as_far_as_needed() {
        let limits = RetentionLimits {
            expire_before_ms: Some(150),
            max_bytes: None,
        };
        let rows = rows()
            .into_iter()
            .map(Ok)
            .chain(std::iter::once(Err("read past the first kept entry")));
        assert_eq!(retention_point(0, 300, rows, limits), Ok(5));
    }
}
