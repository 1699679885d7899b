//! Kafka record batches, format v2 (magic 2), read without decompressing.
//!
//! ```text
//! 0  baseOffset i64          | patched by the broker (outside the CRC)
//! 8  batchLength i32         | bytes after this field
//! 12 partitionLeaderEpoch i32| patched by the broker (outside the CRC)
//! 16 magic i8                | 2
//! 17 crc u32                 | CRC-32C of bytes 21..end
//! 21 attributes i16          | bits 0-2 compression, 4 transactional, 5 control
//! 23 lastOffsetDelta i32
//! 27 baseTimestamp i64
//! 35 maxTimestamp i64
//! 43 producerId i64
//! 51 producerEpoch i16
//! 53 baseSequence i32
//! 57 recordCount i32
//! 61 records...
//! ```

/// Bytes of the batch header up to and including the record count.
pub const HEADER_LEN: usize = 61;
/// Bytes before the batch length's coverage starts (baseOffset + batchLength).
pub const LOG_OVERHEAD: usize = 12;

/// The fields of a batch header the broker uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// Whole batch size in bytes, including the first 12.
    pub size: usize,
    /// Offsets the batch spans minus one.
    pub last_offset_delta: i32,
    /// First timestamp.
    pub base_timestamp: i64,
    /// Largest timestamp.
    pub max_timestamp: i64,
    /// Producer id (-1 when not idempotent).
    pub producer_id: i64,
    /// Producer epoch (-1 when not idempotent).
    pub producer_epoch: i16,
    /// Sequence number of the first record (-1 when not idempotent).
    pub base_sequence: i32,
    /// Records in the batch.
    pub record_count: i32,
    /// Compression codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub compression: u8,
    /// Whether it is a control batch.
    pub is_control: bool,
    /// Whether it belongs to a transaction.
    pub is_transactional: bool,
}

impl BatchHeader {
    /// Whether an idempotent producer wrote it (Kafka: `producerId > -1`).
    pub fn has_producer(&self) -> bool {
        self.producer_id >= 0
    }
}

/// Why bytes are not an acceptable batch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Fewer bytes than a header, or than the batch length says.
    #[error("record batch is truncated: {have} bytes, need {need}")]
    Truncated { have: usize, need: usize },
    /// The batch length is impossible.
    #[error("record batch length {0} is invalid")]
    BadLength(i32),
    /// Not format v2.
    #[error("record batch magic {0} is not supported (only 2)")]
    BadMagic(i8),
    /// The CRC does not match.
    #[error("record batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    BadCrc { stored: u32, computed: u32 },
    /// Record count and offset delta disagree, or there are no records.
    #[error("record batch has {record_count} records but lastOffsetDelta {last_offset_delta}")]
    BadCount {
        record_count: i32,
        last_offset_delta: i32,
    },
    /// Unknown compression codec.
    #[error("record batch compression codec {0} is unknown")]
    BadCompression(u8),
    /// Larger than the topic allows.
    #[error("record batch of {size} bytes exceeds max.message.bytes {max}")]
    TooLarge { size: usize, max: usize },
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn i64_at(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Reads the header of the batch at the front of `bytes` (no CRC check).
pub fn parse_header(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
    if bytes.len() < HEADER_LEN {
        return Err(BatchError::Truncated {
            have: bytes.len(),
            need: HEADER_LEN,
        });
    }
    let length = i32_at(bytes, 8);
    if length < (HEADER_LEN - LOG_OVERHEAD) as i32 {
        return Err(BatchError::BadLength(length));
    }
    let size = LOG_OVERHEAD + length as usize;
    if bytes.len() < size {
        return Err(BatchError::Truncated {
            have: bytes.len(),
            need: size,
        });
    }
    let magic = bytes[16] as i8;
    if magic != 2 {
        return Err(BatchError::BadMagic(magic));
    }
    let attributes = i16_at(bytes, 21);
    Ok(BatchHeader {
        size,
        last_offset_delta: i32_at(bytes, 23),
        base_timestamp: i64_at(bytes, 27),
        max_timestamp: i64_at(bytes, 35),
        producer_id: i64_at(bytes, 43),
        producer_epoch: i16_at(bytes, 51),
        base_sequence: i32_at(bytes, 53),
        record_count: i32_at(bytes, 57),
        compression: (attributes & 0x7) as u8,
        is_control: attributes & 0x20 != 0,
        is_transactional: attributes & 0x10 != 0,
    })
}

/// Fully validates one batch: header, length, magic, CRC-32C, counts, codec, size.
pub fn validate(batch: &[u8], max_bytes: usize) -> Result<BatchHeader, BatchError> {
    let header = parse_header(batch)?;
    if header.size != batch.len() {
        return Err(BatchError::Truncated {
            have: batch.len(),
            need: header.size,
        });
    }
    if header.size > max_bytes {
        return Err(BatchError::TooLarge {
            size: header.size,
            max: max_bytes,
        });
    }
    let stored = u32::from_be_bytes(batch[17..21].try_into().expect("4 bytes"));
    let computed = crc32c::crc32c(&batch[21..]);
    if stored != computed {
        return Err(BatchError::BadCrc { stored, computed });
    }
    if header.record_count < 1 || header.last_offset_delta != header.record_count - 1 {
        return Err(BatchError::BadCount {
            record_count: header.record_count,
            last_offset_delta: header.last_offset_delta,
        });
    }
    if header.compression > 4 {
        return Err(BatchError::BadCompression(header.compression));
    }
    Ok(header)
}

/// Splits concatenated batches (a Produce request's records) and validates each.
pub fn split_and_validate(
    records: &[u8],
    max_bytes: usize,
) -> Result<Vec<(&[u8], BatchHeader)>, BatchError> {
    let mut out = Vec::new();
    let mut rest = records;
    while !rest.is_empty() {
        let header = parse_header(rest)?;
        let (batch, tail) = rest.split_at(header.size);
        out.push((batch, validate(batch, max_bytes)?));
        rest = tail;
    }
    Ok(out)
}

/// How many offsets a batch occupies in its partition: `lastOffsetDelta + 1`.
///
/// This is the one rule for "records in a batch"; offset assignment at apply
/// time and the leader's acks=1 offset prediction both use it, so they agree.
///
/// The span follows `lastOffsetDelta`, not `recordCount`: it is the field
/// Kafka assigns offsets from, and the one consumers use to compute the next
/// fetch offset (`baseOffset + lastOffsetDelta + 1`). A negative delta cannot
/// name a last offset, so such a batch spans no offsets (`None`): it keeps no
/// offset of its own and is never indexed or returned by a fetch. Produce
/// rejects both cases ([`validate`] requires `recordCount >= 1` and
/// `lastOffsetDelta == recordCount - 1`), so stored batches always span
/// `recordCount` offsets; the rule only has to be deterministic for inputs
/// that never pass validation, and it must never change, because the offsets
/// of batches already in a Raft log were assigned by it.
pub fn offset_count(header: &BatchHeader) -> Option<u64> {
    u64::try_from(header.last_offset_delta).ok().map(|d| d + 1)
}

/// The offsets a stored batch spans and its largest timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSpan {
    /// Offsets the batch occupies ([`offset_count`]); at least 1.
    pub offsets: u64,
    /// Its largest record timestamp.
    pub max_timestamp: i64,
}

/// The span of the batch at the front of `bytes`; `None` if its header does
/// not parse or it spans no offsets (see [`offset_count`]).
pub fn span(bytes: &[u8]) -> Option<BatchSpan> {
    let header = parse_header(bytes).ok()?;
    Some(BatchSpan {
        offsets: offset_count(&header)?,
        max_timestamp: header.max_timestamp,
    })
}

/// Offsets a sequence of batches occupies together: the sum of their spans.
pub fn offsets_in<B: AsRef<[u8]>>(batches: &[B]) -> u64 {
    batches
        .iter()
        .filter_map(|b| span(b.as_ref()))
        .map(|s| s.offsets)
        .sum()
}

/// Writes the base offset the broker assigned (bytes 0..8, outside the CRC).
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[..8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Writes `epoch` as the batch's partitionLeaderEpoch (bytes 12..16, outside
/// the CRC, which covers attributes onwards), as a Kafka leader stamps the
/// epoch it appended the batch in.
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
    batch[12..16].copy_from_slice(&epoch.to_be_bytes());
}

/// Whether any of `batches` was written by an idempotent producer.
pub fn any_with_producer<B: AsRef<[u8]>>(batches: &[B]) -> bool {
    batches
        .iter()
        .any(|b| parse_header(b.as_ref()).is_ok_and(|h| h.has_producer()))
}

/// `batch` rewritten as an idempotent producer's batch (producer id, epoch,
/// base sequence), with its CRC recomputed: used by tests and tools.
pub fn with_producer(
    mut batch: Vec<u8>,
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
) -> Vec<u8> {
    batch[43..51].copy_from_slice(&producer_id.to_be_bytes());
    batch[51..53].copy_from_slice(&epoch.to_be_bytes());
    batch[53..57].copy_from_slice(&base_sequence.to_be_bytes());
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    batch
}

/// `batch` of a transactional producer: [`with_producer`] plus the
/// transactional attribute bit, CRC recomputed; used by tests and tools.
pub fn transactional(batch: Vec<u8>, producer_id: i64, epoch: i16, base_sequence: i32) -> Vec<u8> {
    let mut batch = with_producer(batch, producer_id, epoch, base_sequence);
    let attributes = i16::from_be_bytes([batch[21], batch[22]]) | 0x10;
    batch[21..23].copy_from_slice(&attributes.to_be_bytes());
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    batch
}

/// Appends `v` as a record field's zigzag varint.
pub(crate) fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        if z < 0x80 {
            out.push(z as u8);
            return;
        }
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
}

/// Reads a record field's zigzag varint at `*at`, moving `*at` past it.
pub(crate) fn read_varint(bytes: &[u8], at: &mut usize) -> Option<i64> {
    let mut z: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        z |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some((z >> 1) as i64 ^ -((z & 1) as i64));
        }
    }
    None
}

/// Builds an uncompressed batch of `values` (no keys, no headers): used by tests and tools.
pub fn build(values: &[&[u8]], timestamp: i64) -> Vec<u8> {
    let mut records = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let mut r = vec![0u8]; // attributes
        varint(&mut r, 0); // timestamp delta
        varint(&mut r, i as i64); // offset delta
        varint(&mut r, -1); // null key
        varint(&mut r, value.len() as i64);
        r.extend_from_slice(value);
        varint(&mut r, 0); // headers
        varint(&mut records, r.len() as i64);
        records.extend_from_slice(&r);
    }
    let mut b = Vec::with_capacity(HEADER_LEN + records.len());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((HEADER_LEN - LOG_OVERHEAD + records.len()) as i32).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]); // crc, below
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&(values.len() as i32 - 1).to_be_bytes());
    b.extend_from_slice(&timestamp.to_be_bytes());
    b.extend_from_slice(&timestamp.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&(values.len() as i32).to_be_bytes());
    b.extend_from_slice(&records);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_batches_validate_and_split() {
        let a = build(&[b"one", b"two"], 1000);
        let b = build(&[b"three"], 2000);
        let both = [a.clone(), b.clone()].concat();
        let split = split_and_validate(&both, 1 << 20).unwrap();
        assert_eq!(split.len(), 2);
        assert_eq!(split[0].1.record_count, 2);
        assert_eq!(split[1].1.max_timestamp, 2000);
        assert_eq!(split[1].0, &b[..]);
    }

    #[test]
    fn base_offset_is_outside_the_crc() {
        let mut a = build(&[b"x"], 1);
        set_base_offset(&mut a, 42);
        assert_eq!(validate(&a, 1 << 20).unwrap().record_count, 1);
        assert_eq!(i64_at(&a, 0), 42);
    }

    #[test]
    fn corruption_is_detected() {
        let good = build(&[b"hello"], 5);
        let mut bad_crc = good.clone();
        *bad_crc.last_mut().unwrap() ^= 1;
        assert!(matches!(
            validate(&bad_crc, 1 << 20),
            Err(BatchError::BadCrc { .. })
        ));
        let mut bad_magic = good.clone();
        bad_magic[16] = 1;
        assert_eq!(validate(&bad_magic, 1 << 20), Err(BatchError::BadMagic(1)));
        assert!(matches!(
            validate(&good[..good.len() - 1], 1 << 20),
            Err(BatchError::Truncated { .. })
        ));
        assert!(matches!(
            validate(&good, 10),
            Err(BatchError::TooLarge { .. })
        ));
        let mut bad_len = good.clone();
        bad_len[8..12].copy_from_slice(&(-7i32).to_be_bytes());
        assert_eq!(validate(&bad_len, 1 << 20), Err(BatchError::BadLength(-7)));
        let mut bad_count = good.clone();
        bad_count[57..61].copy_from_slice(&5i32.to_be_bytes());
        let crc = crc32c::crc32c(&bad_count[21..]);
        bad_count[17..21].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            validate(&bad_count, 1 << 20),
            Err(BatchError::BadCount { .. })
        ));
        assert!(split_and_validate(&[0u8; 3], 1 << 20).is_err());
    }

    /// `batch` with its lastOffsetDelta and recordCount overwritten (no CRC fix:
    /// the span rule does not look at the CRC).
    fn with_counts(mut batch: Vec<u8>, last_offset_delta: i32, record_count: i32) -> Vec<u8> {
        batch[23..27].copy_from_slice(&last_offset_delta.to_be_bytes());
        batch[57..61].copy_from_slice(&record_count.to_be_bytes());
        batch
    }

    #[test]
    fn a_batch_spans_last_offset_delta_plus_one_offsets() {
        let three = build(&[b"a", b"b", b"c"], 7);
        // (lastOffsetDelta, recordCount) -> offsets spanned
        let cases: [(i32, i32, Option<u64>); 7] = [
            (0, 1, Some(1)),
            (2, 3, Some(3)),
            // Inconsistent counts: the delta decides, as in Kafka.
            (4, 2, Some(5)),
            (0, 0, Some(1)),
            (i32::MAX, 1, Some(i32::MAX as u64 + 1)),
            // A negative delta names no last offset: no span.
            (-1, 0, None),
            (i32::MIN, 1, None),
        ];
        for (delta, count, want) in cases {
            let b = with_counts(three.clone(), delta, count);
            let header = parse_header(&b).unwrap();
            assert_eq!(offset_count(&header), want, "delta {delta} count {count}");
            assert_eq!(
                span(&b).map(|s| s.offsets),
                want,
                "delta {delta} count {count}"
            );
        }
        assert_eq!(
            span(&three),
            Some(BatchSpan {
                offsets: 3,
                max_timestamp: 7
            })
        );
    }

    #[test]
    fn unparseable_batches_span_nothing() {
        let good = build(&[b"x"], 1);
        let mut bad_magic = good.clone();
        bad_magic[16] = 1;
        assert_eq!(span(&bad_magic), None);
        assert_eq!(span(&good[..HEADER_LEN - 1]), None);
        assert_eq!(span(&[]), None);
    }

    #[test]
    fn offsets_in_sums_the_spans_and_skips_what_spans_nothing() {
        let two = build(&[b"a", b"b"], 1);
        let one = build(&[b"c"], 2);
        let negative = with_counts(one.clone(), -1, 0);
        assert_eq!(offsets_in::<Vec<u8>>(&[]), 0);
        assert_eq!(offsets_in(&[two.clone(), one.clone()]), 3);
        assert_eq!(offsets_in(&[two, negative, one, vec![0u8; 5]]), 3);
    }

    #[test]
    fn validated_batches_span_their_record_count() {
        for n in 1..=5usize {
            let values: Vec<&[u8]> = (0..n).map(|_| &b"v"[..]).collect();
            let b = build(&values, 0);
            let header = validate(&b, 1 << 20).unwrap();
            assert_eq!(offset_count(&header), Some(header.record_count as u64));
        }
    }

    #[test]
    fn producer_fields_are_read_and_survive_validation() {
        let plain = parse_header(&build(&[b"a"], 1)).unwrap();
        assert!(!plain.has_producer());
        assert_eq!((plain.producer_epoch, plain.base_sequence), (-1, -1));
        let b = with_producer(build(&[b"a", b"b"], 1), 7, 3, 40);
        let h = validate(&b, 1 << 20).unwrap();
        assert!(h.has_producer() && !h.is_transactional);
        assert_eq!(
            (h.producer_id, h.producer_epoch, h.base_sequence),
            (7, 3, 40)
        );
        assert!(any_with_producer(&[build(&[b"x"], 1), b]));
        assert!(!any_with_producer(&[build(&[b"x"], 1)]));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x2545f4914f6cdd1du64;
        for len in 0..300usize {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut bytes: Vec<u8> = (0..len).map(|i| (seed >> (i % 8 * 8)) as u8).collect();
            if len > 17 {
                bytes[16] = 2;
            }
            let _ = split_and_validate(&bytes, 1 << 20);
        }
    }
}
