//! RFC 5734 framing: each EPP message is preceded by a 4-byte big-endian length that counts
//! itself. A length is checked against the configured maximum before anything of that size is
//! allocated, so a hostile header cannot make us reserve 4 GiB.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Size of the length header.
pub const HEADER_LEN: usize = 4;

/// Default largest total frame length we accept (1 MiB).
pub const DEFAULT_MAX_FRAME_LEN: u32 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection cleanly between frames.
    #[error("connection closed")]
    Closed,
    /// The peer closed the connection in the middle of a frame.
    #[error("connection closed mid-frame")]
    Truncated,
    /// A length below the header's own size cannot be a frame.
    #[error("frame length {0} is shorter than its header")]
    TooShort(u32),
    #[error("frame length {len} exceeds the maximum of {max}")]
    TooLong { len: u32, max: u32 },
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Checks a header's total length and returns the payload length.
pub fn payload_len(total: u32, max: u32) -> Result<usize, FrameError> {
    if total < HEADER_LEN as u32 + 1 {
        return Err(FrameError::TooShort(total));
    }
    if total > max {
        return Err(FrameError::TooLong { len: total, max });
    }
    Ok(total as usize - HEADER_LEN)
}

/// Reads a frame header. `Ok(None)` is a clean end of stream before the first byte.
/// The server times this read with its idle timeout; [`read_payload`] with its frame timeout.
pub async fn read_header<R: AsyncRead + Unpin>(r: &mut R, max: u32) -> Result<usize, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        match r.read(&mut header[got..]).await? {
            0 if got == 0 => return Err(FrameError::Closed),
            0 => return Err(FrameError::Truncated),
            n => got += n,
        }
    }
    payload_len(u32::from_be_bytes(header), max)
}

/// Reads exactly `len` payload bytes into `buf` (cleared first; capacity reused).
pub async fn read_payload<R: AsyncRead + Unpin>(
    r: &mut R,
    len: usize,
    buf: &mut Vec<u8>,
) -> Result<(), FrameError> {
    buf.clear();
    buf.resize(len, 0);
    match r.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(FrameError::Truncated),
        Err(e) => Err(e.into()),
    }
}

/// Reads one whole frame's payload into `buf`.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max: u32,
    buf: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let len = read_header(r, max).await?;
    read_payload(r, len, buf).await
}

/// Writes one frame (header + payload) and flushes.
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, payload: &[u8]) -> std::io::Result<()> {
    let total = u32::try_from(payload.len() + HEADER_LEN).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame longer than 4 GiB")
    })?;
    let mut out = Vec::with_capacity(payload.len() + HEADER_LEN);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(payload);
    w.write_all(&out).await?;
    w.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_partial_reads() {
        let (mut a, mut b) = tokio::io::duplex(3); // tiny buffer: forces partial reads
        let writer = tokio::spawn(async move {
            write_frame(&mut a, b"<epp/>").await.unwrap();
            write_frame(&mut a, b"<x/>").await.unwrap();
        });
        let mut buf = Vec::new();
        read_frame(&mut b, 1024, &mut buf).await.unwrap();
        assert_eq!(buf, b"<epp/>");
        read_frame(&mut b, 1024, &mut buf).await.unwrap();
        assert_eq!(buf, b"<x/>");
        writer.await.unwrap();
        assert!(matches!(
            read_frame(&mut b, 1024, &mut buf).await,
            Err(FrameError::Closed)
        ));
    }

    #[tokio::test]
    async fn refuses_bad_lengths_before_allocating() {
        for (len, short) in [(0u32, true), (4, true), (u32::MAX, false)] {
            let bytes = len.to_be_bytes();
            let mut r: &[u8] = &bytes;
            let mut buf = Vec::new();
            match read_frame(&mut r, 1024, &mut buf).await {
                Err(FrameError::TooShort(_)) => assert!(short),
                Err(FrameError::TooLong { .. }) => assert!(!short),
                other => panic!("unexpected {other:?}"),
            }
            assert_eq!(buf.capacity(), 0);
        }
    }

    #[tokio::test]
    async fn truncated() {
        let mut r: &[u8] = &[0, 0, 0, 20, b'<'];
        let mut buf = Vec::new();
        assert!(matches!(
            read_frame(&mut r, 1024, &mut buf).await,
            Err(FrameError::Truncated)
        ));
        let mut r: &[u8] = &[0, 0];
        assert!(matches!(
            read_frame(&mut r, 1024, &mut buf).await,
            Err(FrameError::Truncated)
        ));
    }
}
