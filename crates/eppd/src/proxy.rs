//! PROXY protocol version 2 (the binary header HAProxy and cloud load balancers send before
//! the TLS bytes), read only from configured proxies so the allow-lists see the real address.
//!
//! The header is read exactly (never past its end, so the TLS stream is untouched) and its
//! length is bounded before anything is buffered.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::io::{AsyncRead, AsyncReadExt};

/// The 12-byte signature of a v2 header.
pub const SIGNATURE: [u8; 12] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
];

/// Longest address block + TLVs we accept.
pub const MAX_BODY_LEN: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("not a PROXY protocol v2 header")]
    Signature,
    #[error("unsupported PROXY protocol version/command byte {0:#04x}")]
    VersionCommand(u8),
    #[error("PROXY header of {0} bytes is too long")]
    TooLong(usize),
    #[error("PROXY header address block too short for its family")]
    Short,
    #[error("i/o error reading the PROXY header: {0}")]
    Io(#[from] std::io::Error),
}

/// What the header says about the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxiedSource {
    /// A `PROXY` command with a TCP over IPv4/IPv6 source.
    Address(SocketAddr),
    /// `LOCAL` (health check by the proxy itself) or an address family we do not map (UNIX,
    /// UNSPEC): the connection's own peer address stands.
    Unknown,
}

/// Reads and parses one v2 header.
pub async fn read_header<R: AsyncRead + Unpin>(r: &mut R) -> Result<ProxiedSource, ProxyError> {
    let mut head = [0u8; 16];
    r.read_exact(&mut head).await?;
    if head[..12] != SIGNATURE {
        return Err(ProxyError::Signature);
    }
    let ver_cmd = head[12];
    let fam = head[13];
    let len = usize::from(u16::from_be_bytes([head[14], head[15]]));
    if len > MAX_BODY_LEN {
        return Err(ProxyError::TooLong(len));
    }
    // Bounded above; a heap buffer keeps the connection's future small.
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    parse(ver_cmd, fam, &body)
}

/// Parses the part after the signature: version/command, family and the address block.
pub fn parse(ver_cmd: u8, fam: u8, body: &[u8]) -> Result<ProxiedSource, ProxyError> {
    match ver_cmd {
        0x20 => return Ok(ProxiedSource::Unknown), // v2 LOCAL
        0x21 => {}                                 // v2 PROXY
        other => return Err(ProxyError::VersionCommand(other)),
    }
    match fam {
        // TCP over IPv4: src addr, dst addr, src port, dst port.
        0x11 => {
            let b: &[u8; 12] = body
                .get(..12)
                .and_then(|s| s.try_into().ok())
                .ok_or(ProxyError::Short)?;
            let ip = Ipv4Addr::new(b[0], b[1], b[2], b[3]);
            let port = u16::from_be_bytes([b[8], b[9]]);
            Ok(ProxiedSource::Address(SocketAddr::new(
                IpAddr::V4(ip),
                port,
            )))
        }
        // TCP over IPv6.
        0x21 => {
            let b: &[u8; 36] = body
                .get(..36)
                .and_then(|s| s.try_into().ok())
                .ok_or(ProxyError::Short)?;
            let mut src = [0u8; 16];
            src.copy_from_slice(&b[..16]);
            let port = u16::from_be_bytes([b[32], b[33]]);
            Ok(ProxiedSource::Address(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(src)),
                port,
            )))
        }
        _ => Ok(ProxiedSource::Unknown),
    }
}

/// Builds a v2 header (for tests and tools).
pub fn encode_v2(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    out.push(0x21);
    match (src, dst) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => {
            out.push(0x11);
            out.extend_from_slice(&12u16.to_be_bytes());
            out.extend_from_slice(&s.ip().octets());
            out.extend_from_slice(&d.ip().octets());
            out.extend_from_slice(&s.port().to_be_bytes());
            out.extend_from_slice(&d.port().to_be_bytes());
        }
        (s, d) => {
            let v6 = |a: SocketAddr| match a.ip() {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            out.push(0x21);
            out.extend_from_slice(&36u16.to_be_bytes());
            out.extend_from_slice(&v6(s).octets());
            out.extend_from_slice(&v6(d).octets());
            out.extend_from_slice(&s.port().to_be_bytes());
            out.extend_from_slice(&d.port().to_be_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_exact_read() {
        let src: SocketAddr = "192.0.2.7:4711".parse().expect("addr");
        let dst: SocketAddr = "198.51.100.1:700".parse().expect("addr");
        let mut bytes = encode_v2(src, dst);
        bytes.extend_from_slice(b"\x16\x03\x01"); // the TLS ClientHello that follows
        let mut r: &[u8] = &bytes;
        assert_eq!(
            read_header(&mut r).await.expect("header"),
            ProxiedSource::Address(src)
        );
        assert_eq!(r, b"\x16\x03\x01");

        let src6: SocketAddr = "[2001:db8::1]:1234".parse().expect("addr");
        let bytes = encode_v2(src6, "[2001:db8::2]:700".parse().expect("addr"));
        let mut r: &[u8] = &bytes;
        assert_eq!(
            read_header(&mut r).await.expect("header"),
            ProxiedSource::Address(src6)
        );
    }

    #[tokio::test]
    async fn refuses_bad_headers() {
        let mut r: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert!(matches!(
            read_header(&mut r).await,
            Err(ProxyError::Signature)
        ));
        let mut long = SIGNATURE.to_vec();
        long.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
        let mut r: &[u8] = &long;
        assert!(matches!(
            read_header(&mut r).await,
            Err(ProxyError::TooLong(65535))
        ));
        let mut short = SIGNATURE.to_vec();
        short.extend_from_slice(&[0x21, 0x11, 0x00, 0x04, 1, 2, 3, 4]);
        let mut r: &[u8] = &short;
        assert!(matches!(read_header(&mut r).await, Err(ProxyError::Short)));
        assert_eq!(
            parse(0x20, 0x00, &[]).expect("local"),
            ProxiedSource::Unknown
        );
        assert!(matches!(
            parse(0x11, 0x11, &[0; 12]),
            Err(ProxyError::VersionCommand(0x11))
        ));
    }
}
