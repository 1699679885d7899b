//! Transaction markers: the control batches that end a transaction in each
//! partition it wrote to, as Kafka writes them (KIP-98). A marker is a v2
//! record batch with the transactional and control attribute bits, the
//! producer's id and epoch, and one control record:
//!
//! ```text
//! key:   version i16 = 0 | type i16 (0 abort, 1 commit)
//! value: version i16 = 0 | coordinator_epoch i32
//! ```
//!
//! Consumers skip control batches; a `read_committed` consumer uses them,
//! with the aborted-transaction list of a Fetch, to drop aborted records.

use crate::batch::{parse_header, read_varint, varint, HEADER_LEN, LOG_OVERHEAD};

/// Attribute bits of a marker batch: transactional (0x10) and control (0x20).
const MARKER_ATTRIBUTES: i16 = 0x30;

/// What a transaction marker says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnMarker {
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// Commit, or abort.
    pub commit: bool,
    /// The epoch of the coordinator that decided it.
    pub coordinator_epoch: i32,
}

/// The marker batch for `marker`, stamped `timestamp` (ms), base offset 0
/// (the partition assigns the real one).
pub fn encode(marker: &TxnMarker, timestamp: i64) -> Vec<u8> {
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&i16::from(marker.commit).to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&marker.coordinator_epoch.to_be_bytes());
    let mut record = vec![0u8]; // attributes
    varint(&mut record, 0); // timestamp delta
    varint(&mut record, 0); // offset delta
    varint(&mut record, key.len() as i64);
    record.extend_from_slice(&key);
    varint(&mut record, value.len() as i64);
    record.extend_from_slice(&value);
    varint(&mut record, 0); // headers
    let mut records = Vec::new();
    varint(&mut records, record.len() as i64);
    records.extend_from_slice(&record);

    let mut b = Vec::with_capacity(HEADER_LEN + records.len());
    b.extend_from_slice(&0i64.to_be_bytes()); // base offset
    b.extend_from_slice(&((HEADER_LEN - LOG_OVERHEAD + records.len()) as i32).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend_from_slice(&[0; 4]); // crc, below
    b.extend_from_slice(&MARKER_ATTRIBUTES.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
    b.extend_from_slice(&timestamp.to_be_bytes());
    b.extend_from_slice(&timestamp.to_be_bytes());
    b.extend_from_slice(&marker.producer_id.to_be_bytes());
    b.extend_from_slice(&marker.producer_epoch.to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence: none
    b.extend_from_slice(&1i32.to_be_bytes()); // one record
    b.extend_from_slice(&records);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// The marker `batch` carries; `None` if it is not a valid marker (not a
/// control batch, or a control record of another kind).
pub fn decode(batch: &[u8]) -> Option<TxnMarker> {
    let header = parse_header(batch).ok()?;
    if !header.is_control || !header.is_transactional || header.record_count != 1 {
        return None;
    }
    let mut at = HEADER_LEN;
    let _length = read_varint(batch, &mut at)?;
    at += 1; // attributes
    let _timestamp_delta = read_varint(batch, &mut at)?;
    let _offset_delta = read_varint(batch, &mut at)?;
    let key_len = usize::try_from(read_varint(batch, &mut at)?).ok()?;
    let key = batch.get(at..at + key_len)?;
    at += key_len;
    let value_len = usize::try_from(read_varint(batch, &mut at)?).ok()?;
    let value = batch.get(at..at + value_len)?;
    if key.len() < 4 || value.len() < 6 {
        return None;
    }
    let commit = match i16::from_be_bytes([key[2], key[3]]) {
        0 => false,
        1 => true,
        _ => return None,
    };
    Some(TxnMarker {
        producer_id: header.producer_id,
        producer_epoch: header.producer_epoch,
        commit,
        coordinator_epoch: i32::from_be_bytes([value[2], value[3], value[4], value[5]]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{build, validate, with_producer};

    fn marker(commit: bool) -> TxnMarker {
        TxnMarker {
            producer_id: 4242,
            producer_epoch: 7,
            commit,
            coordinator_epoch: 3,
        }
    }

    #[test]
    fn markers_round_trip_and_pass_batch_validation() {
        for commit in [true, false] {
            let batch = encode(&marker(commit), 1_700_000_000_000);
            let header = validate(&batch, 1 << 20).expect("a valid batch");
            assert!(header.is_control && header.is_transactional);
            assert_eq!((header.producer_id, header.producer_epoch), (4242, 7));
            assert_eq!(header.record_count, 1);
            assert_eq!(decode(&batch), Some(marker(commit)));
        }
    }

    #[test]
    fn kafka_protocols_decoder_reads_the_marker_as_kafka_wrote_it() {
        use kafka_protocol::records::RecordBatchDecoder;
        let mut bytes = bytes::Bytes::from(encode(&marker(false), 1_234));
        let sets = RecordBatchDecoder::decode_all(&mut bytes).expect("decodes");
        let records: Vec<_> = sets.into_iter().flat_map(|s| s.records).collect();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert!(r.control && r.transactional);
        assert_eq!(
            (r.producer_id, r.producer_epoch, r.timestamp),
            (4242, 7, 1_234)
        );
        // Abort is type 0; the value carries the coordinator epoch.
        assert_eq!(r.key.as_deref(), Some(&[0u8, 0, 0, 0][..]));
        assert_eq!(r.value.as_deref(), Some(&[0u8, 0, 0, 0, 0, 3][..]));
    }

    #[test]
    fn data_batches_are_not_markers() {
        let plain = build(&[b"x"], 1);
        assert_eq!(decode(&plain), None);
        assert_eq!(decode(&with_producer(plain, 1, 0, 0)), None);
        assert_eq!(decode(b"short"), None);
    }

    #[test]
    fn a_control_record_of_another_type_is_not_a_marker() {
        let mut batch = encode(&marker(true), 1);
        // The key's type: byte 2 of the key, after the record's length,
        // attributes, two deltas and the key length (one byte each here).
        let type_at = HEADER_LEN + 5 + 3;
        batch[type_at] = 5;
        let crc = crc32c::crc32c(&batch[21..]);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(decode(&batch), None);
    }
}
