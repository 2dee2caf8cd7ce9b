//! Framing: every Kafka request is a 4-byte big-endian size followed by that many bytes.
//!
//! The size is checked against `socket.request.max.bytes` before anything is allocated,
//! so a peer cannot make the broker reserve memory by claiming a large size; the buffer
//! grows only as bytes actually arrive.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::KafkaError;

/// Kafka's default `socket.request.max.bytes` (100 MiB).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 104_857_600;

/// How much of a frame is read per step (the buffer never grows ahead of the bytes).
const READ_CHUNK: usize = 64 << 10;

/// The body size a prefix announces, if it is within `0..=max`.
pub fn frame_size(prefix: [u8; 4], max: usize) -> Result<usize, KafkaError> {
    let size = i32::from_be_bytes(prefix);
    usize::try_from(size)
        .ok()
        .filter(|s| *s <= max)
        .ok_or(KafkaError::FrameSize {
            size: i64::from(size),
            max,
        })
}

/// Reads one frame's body. `Ok(None)` when the peer closed the connection cleanly
/// between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Option<Bytes>, KafkaError> {
    let mut prefix = [0u8; 4];
    match reader.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let size = frame_size(prefix, max)?;
    let mut body = BytesMut::with_capacity(size.min(READ_CHUNK));
    while body.len() < size {
        let want = (size - body.len()).min(READ_CHUNK);
        body.reserve(want);
        let n = (&mut *reader).take(want as u64).read_buf(&mut body).await?;
        if n == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
    }
    Ok(Some(body.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_outside_the_limit_are_refused_before_any_allocation() {
        assert_eq!(frame_size(10i32.to_be_bytes(), 100).unwrap(), 10);
        assert!(frame_size((-1i32).to_be_bytes(), 100).is_err());
        assert!(frame_size(101i32.to_be_bytes(), 100).is_err());
        assert!(frame_size(i32::MAX.to_be_bytes(), DEFAULT_MAX_REQUEST_BYTES).is_err());
    }

    #[tokio::test]
    async fn frames_are_read_whole_and_eof_between_frames_is_clean() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&3i32.to_be_bytes());
        wire.extend_from_slice(b"abc");
        let mut r = &wire[..];
        assert_eq!(&read_frame(&mut r, 100).await.unwrap().unwrap()[..], b"abc");
        assert!(read_frame(&mut r, 100).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_frame_cut_short_is_an_error() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&1000i32.to_be_bytes());
        wire.extend_from_slice(b"abc");
        let mut r = &wire[..];
        assert!(read_frame(&mut r, 10_000).await.is_err());
    }
}
