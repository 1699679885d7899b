//! Kafka framing: a 4-byte big-endian signed size, then the request. Parsing is
//! pure: [`next_frame`] says whether a buffer holds a whole frame, needs more
//! bytes, or is invalid (and the connection must be closed).

/// What the front of a read buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameStatus {
    /// A whole frame: its body is `buf[4..4 + len]`.
    Complete { len: usize },
    /// Not enough bytes yet.
    Incomplete,
}

/// Why the bytes cannot be a Kafka frame; the connection is closed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The size field is negative.
    #[error("negative frame size {0}")]
    Negative(i32),
    /// The size field exceeds the configured maximum.
    #[error("frame of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge { size: usize, max: usize },
    /// Smaller than the smallest request header (api key, version, correlation id).
    #[error("frame of {0} bytes is too short for a request header")]
    TooShort(usize),
}

/// The smallest request: api key (2), api version (2), correlation id (4).
pub const MIN_REQUEST: usize = 8;

/// Inspects the front of `buf`.
pub fn next_frame(buf: &[u8], max: usize) -> Result<FrameStatus, FrameError> {
    let Some(size) = buf.get(..4) else {
        return Ok(FrameStatus::Incomplete);
    };
    let size = i32::from_be_bytes(size.try_into().expect("4 bytes"));
    if size < 0 {
        return Err(FrameError::Negative(size));
    }
    let len = size as usize;
    if len > max {
        return Err(FrameError::TooLarge { size: len, max });
    }
    if len < MIN_REQUEST {
        return Err(FrameError::TooShort(len));
    }
    if buf.len() < 4 + len {
        return Ok(FrameStatus::Incomplete);
    }
    Ok(FrameStatus::Complete { len })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as i32).to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn whole_and_partial_frames() {
        let f = framed(&[0u8; 12]);
        assert_eq!(next_frame(&f, 100), Ok(FrameStatus::Complete { len: 12 }));
        for cut in 0..f.len() {
            assert_eq!(
                next_frame(&f[..cut], 100),
                Ok(FrameStatus::Incomplete),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert_eq!(
            next_frame(&(-5i32).to_be_bytes(), 100),
            Err(FrameError::Negative(-5))
        );
        assert_eq!(
            next_frame(&framed(&[0; 200]), 100),
            Err(FrameError::TooLarge {
                size: 200,
                max: 100
            })
        );
        assert_eq!(
            next_frame(&framed(&[0; 3]), 100),
            Err(FrameError::TooShort(3))
        );
        // The size alone decides; no body is needed to reject it.
        assert_eq!(
            next_frame(&i32::MAX.to_be_bytes(), 100),
            Err(FrameError::TooLarge {
                size: i32::MAX as usize,
                max: 100
            })
        );
    }
}
