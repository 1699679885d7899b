//! The node-to-node wire format: length-prefixed frames.
//!
//! ```text
//! u32 length (big-endian, bytes after this field)
//! u8  kind      1 = hello, 2 = request, 3 = response, 4 = error response
//! u64 id        request id (hello: the sender's broker id)
//! u8  service   which handler (Raft append/vote/snapshot, broker services)
//! u64 group     Raft group the frame is for (0 = metadata)
//! ..  body      service-defined bytes (bincode)
//! ```
//!
//! Decoding is pure: [`Frame::decode`] takes the bytes after the length and
//! either returns a frame or says what is wrong with them.

use bytes_free::Buf;

/// Bytes of the fixed header after the length field.
pub const HEADER_LEN: usize = 1 + 8 + 1 + 8;

/// Magic carried in a hello body so that a stray client is told apart from a broker.
pub const HELLO_MAGIC: &[u8] = b"cairn-raft/1";

/// What a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// First frame on a connection: who is calling.
    Hello,
    /// A request expecting a response with the same id.
    Request,
    /// The successful response to a request.
    Response,
    /// The failed response to a request; the body is a UTF-8 message.
    Error,
}

impl FrameKind {
    fn to_byte(self) -> u8 {
        match self {
            Self::Hello => 1,
            Self::Request => 2,
            Self::Response => 3,
            Self::Error => 4,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::Hello,
            2 => Self::Request,
            3 => Self::Response,
            4 => Self::Error,
            _ => return None,
        })
    }
}

/// One frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// What the frame is.
    pub kind: FrameKind,
    /// Request id, or the sender's broker id in a hello.
    pub id: u64,
    /// The service the request is for.
    pub service: u8,
    /// The Raft group the request is for.
    pub group: u64,
    /// Service-defined payload.
    pub body: Vec<u8>,
}

/// Why bytes are not a valid frame.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix exceeds the configured limit.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: u64, max: u64 },
    /// The frame is shorter than its fixed header.
    #[error("frame of {len} bytes is shorter than the {HEADER_LEN}-byte header")]
    TooShort { len: u64 },
    /// The kind byte is unknown.
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
}

/// Checks a length prefix before any body byte is read or allocated.
pub fn check_length(len: u32, max: u32) -> Result<usize, FrameError> {
    if len > max {
        return Err(FrameError::TooLarge {
            len: len.into(),
            max: max.into(),
        });
    }
    if (len as usize) < HEADER_LEN {
        return Err(FrameError::TooShort { len: len.into() });
    }
    Ok(len as usize)
}

impl Frame {
    /// Decodes the bytes that followed a length prefix.
    pub fn decode(mut bytes: &[u8]) -> Result<Frame, FrameError> {
        if bytes.len() < HEADER_LEN {
            return Err(FrameError::TooShort {
                len: bytes.len() as u64,
            });
        }
        let kind_byte = bytes.take_u8();
        let kind = FrameKind::from_byte(kind_byte).ok_or(FrameError::UnknownKind(kind_byte))?;
        let id = bytes.take_u64();
        let service = bytes.take_u8();
        let group = bytes.take_u64();
        Ok(Frame {
            kind,
            id,
            service,
            group,
            body: bytes.to_vec(),
        })
    }

    /// Encodes the frame with its length prefix, appending to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let len = (HEADER_LEN + self.body.len()) as u32;
        out.reserve(4 + len as usize);
        out.extend_from_slice(&len.to_be_bytes());
        out.push(self.kind.to_byte());
        out.extend_from_slice(&self.id.to_be_bytes());
        out.push(self.service);
        out.extend_from_slice(&self.group.to_be_bytes());
        out.extend_from_slice(&self.body);
    }
}

/// Tiny big-endian readers over a slice whose length was checked by the caller.
mod bytes_free {
    pub trait Buf {
        fn take_u8(&mut self) -> u8;
        fn take_u64(&mut self) -> u64;
    }

    impl Buf for &[u8] {
        fn take_u8(&mut self) -> u8 {
            let (head, rest) = self.split_at(1);
            *self = rest;
            head[0]
        }

        fn take_u64(&mut self) -> u64 {
            let (head, rest) = self.split_at(8);
            *self = rest;
            u64::from_be_bytes(head.try_into().expect("split_at(8) yields 8 bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Frame {
        Frame {
            kind: FrameKind::Request,
            id: 7,
            service: 2,
            group: 300,
            body: b"hello".to_vec(),
        }
    }

    #[test]
    fn round_trips() {
        let mut out = Vec::new();
        sample().encode(&mut out);
        let len = u32::from_be_bytes(out[..4].try_into().unwrap());
        assert_eq!(check_length(len, 1 << 20), Ok(out.len() - 4));
        assert_eq!(Frame::decode(&out[4..]), Ok(sample()));
    }

    #[test]
    fn rejects_oversized_length_before_reading() {
        assert_eq!(
            check_length(u32::MAX, 1024),
            Err(FrameError::TooLarge {
                len: u64::from(u32::MAX),
                max: 1024
            })
        );
    }

    #[test]
    fn rejects_short_frames() {
        assert_eq!(check_length(3, 1024), Err(FrameError::TooShort { len: 3 }));
        assert_eq!(
            Frame::decode(&[2, 0, 0]),
            Err(FrameError::TooShort { len: 3 })
        );
        assert_eq!(Frame::decode(&[]), Err(FrameError::TooShort { len: 0 }));
    }

    #[test]
    fn rejects_unknown_kind() {
        let mut out = Vec::new();
        sample().encode(&mut out);
        out[4] = 99;
        assert_eq!(Frame::decode(&out[4..]), Err(FrameError::UnknownKind(99)));
    }

    #[test]
    fn garbage_never_panics() {
        // Every prefix of a valid frame and a few random byte strings decode to
        // a frame or an error, never a panic.
        let mut out = Vec::new();
        sample().encode(&mut out);
        for end in 0..out.len() {
            let _ = Frame::decode(&out[4..end.max(4)]);
        }
        let mut seed = 0x9e3779b97f4a7c15u64;
        for _ in 0..1000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (seed >> (i % 8 * 8)) as u8).collect();
            let _ = Frame::decode(&bytes);
        }
    }
}
