//! The raw layer: one TLS connection carrying RFC 5734 frames as bytes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::error::io_error;
use crate::ClientError;

/// Largest answer a client accepts by default: an info answer with every host of a big
/// domain stays far below, a hostile length header is refused before allocating.
pub const DEFAULT_MAX_ANSWER_LEN: u32 = 16 * epp_wire::DEFAULT_MAX_FRAME_LEN;

/// Where to connect and how.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `host:port` or `[v6]:port`.
    pub server: String,
    /// The name the server certificate must carry; default: the host part of `server`.
    pub server_name: Option<String>,
    /// Local address to connect from (tests use 127.0.0.2 to be "elsewhere"); default: the
    /// system's choice.
    pub bind: Option<IpAddr>,
    /// Bound on TCP connect plus TLS handshake; [`crate::Session`] also bounds each answer
    /// with it.
    pub timeout: Duration,
    /// Largest frame accepted from the server.
    pub max_answer_len: u32,
}

impl ConnectOptions {
    /// Defaults: name from `server`, no bind, 30 s, [`DEFAULT_MAX_ANSWER_LEN`].
    pub fn new(server: impl Into<String>) -> Self {
        ConnectOptions {
            server: server.into(),
            server_name: None,
            bind: None,
            timeout: Duration::from_secs(30),
            max_answer_len: DEFAULT_MAX_ANSWER_LEN,
        }
    }

    /// The name verified in the server certificate.
    pub fn tls_name(&self) -> &str {
        self.server_name
            .as_deref()
            .unwrap_or_else(|| host_part(&self.server))
    }
}

/// The host part of `host:port` or `[v6]:port`.
pub fn host_part(server: &str) -> &str {
    if let Some(rest) = server.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    server.rsplit_once(':').map_or(server, |(h, _)| h)
}

/// One TLS connection speaking RFC 5734 frames. Nothing here waits with a timeout: callers
/// that need one wrap the call (a load generator times requests itself).
#[derive(Debug)]
pub struct Connection {
    stream: TlsStream<TcpStream>,
    /// The last frame's payload.
    buf: Vec<u8>,
    /// The outgoing frame (header + payload), reused so that each frame is one write.
    out: Vec<u8>,
    max_answer_len: u32,
}

impl Connection {
    /// TCP connect (from `opts.bind` if set, with `TCP_NODELAY`) and TLS handshake, both
    /// within `opts.timeout`. Reads nothing: the greeting is the caller's (see
    /// [`Connection::read_greeting`] and [`crate::Session::start`]).
    pub async fn connect(
        opts: &ConnectOptions,
        config: Arc<rustls::ClientConfig>,
    ) -> Result<Connection, ClientError> {
        let work = async {
            let tcp = Self::tcp(opts).await?;
            Self::handshake(tcp, opts.tls_name(), config, opts.max_answer_len).await
        };
        tokio::time::timeout(opts.timeout, work)
            .await
            .map_err(|_| ClientError::Timeout(opts.timeout))?
    }

    /// The TCP part of [`Connection::connect`] alone (no timeout), for callers that write
    /// something before TLS (a PROXY protocol header).
    pub async fn tcp(opts: &ConnectOptions) -> Result<TcpStream, ClientError> {
        let connect_err = |reason: String| ClientError::Connect {
            server: opts.server.clone(),
            reason,
        };
        let addr: SocketAddr = tokio::net::lookup_host(&opts.server)
            .await
            .map_err(|e| connect_err(e.to_string()))?
            .next()
            .ok_or_else(|| connect_err("no address".into()))?;
        let tcp = match opts.bind {
            None => TcpStream::connect(addr).await,
            Some(bind) => {
                let socket = if addr.is_ipv4() {
                    TcpSocket::new_v4()
                } else {
                    TcpSocket::new_v6()
                }
                .map_err(|e| connect_err(e.to_string()))?;
                socket
                    .bind(SocketAddr::new(bind, 0))
                    .map_err(|e| connect_err(format!("bind {bind}: {e}")))?;
                socket.connect(addr).await
            }
        }
        .map_err(|e| connect_err(e.to_string()))?;
        tcp.set_nodelay(true)
            .map_err(|e| connect_err(e.to_string()))?;
        Ok(tcp)
    }

    /// The TLS handshake over an established TCP stream (no timeout).
    pub async fn handshake(
        tcp: TcpStream,
        server_name: &str,
        config: Arc<rustls::ClientConfig>,
        max_answer_len: u32,
    ) -> Result<Connection, ClientError> {
        let name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| ClientError::ServerName(server_name.to_owned()))?;
        let stream = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(io_error)?;
        Ok(Connection {
            stream,
            buf: Vec::with_capacity(4096),
            out: Vec::with_capacity(1024),
            max_answer_len,
        })
    }

    /// Sends one frame: header and payload in one write, then a flush.
    // Inlinable across crates: a load generator calls these in its hot loop.
    #[inline]
    pub async fn send_frame(&mut self, payload: &[u8]) -> Result<(), ClientError> {
        let total = u32::try_from(payload.len() + epp_wire::framing::HEADER_LEN)
            .map_err(|_| ClientError::Protocol("frame longer than 4 GiB".into()))?;
        self.out.clear();
        self.out.extend_from_slice(&total.to_be_bytes());
        self.out.extend_from_slice(payload);
        self.stream.write_all(&self.out).await.map_err(io_error)?;
        self.stream.flush().await.map_err(io_error)
    }

    /// Sends bytes as they are, without a frame header (for tests of a server's framing).
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.stream.write_all(bytes).await.map_err(io_error)?;
        self.stream.flush().await.map_err(io_error)
    }

    /// Reads one frame; the payload stays valid until the next call. The length header is
    /// checked against the maximum before anything is allocated.
    #[inline]
    pub async fn recv_frame(&mut self) -> Result<&[u8], ClientError> {
        epp_wire::read_frame(&mut self.stream, self.max_answer_len, &mut self.buf).await?;
        Ok(&self.buf)
    }

    /// Sends one frame and reads the answer.
    #[inline]
    pub async fn exchange(&mut self, payload: &[u8]) -> Result<&[u8], ClientError> {
        self.send_frame(payload).await?;
        self.recv_frame().await
    }

    /// Reads the first frame within `timeout` and checks that it is a greeting (a fast scan,
    /// no decoding). With TLS 1.3 a refused client certificate shows up here, as a TLS error.
    pub async fn read_greeting(&mut self, timeout: Duration) -> Result<&[u8], ClientError> {
        let greeting = tokio::time::timeout(timeout, self.recv_frame())
            .await
            .map_err(|_| ClientError::Timeout(timeout))??;
        if !crate::scan::is_greeting(greeting) {
            return Err(ClientError::Protocol(
                "the first frame is not a greeting".into(),
            ));
        }
        Ok(greeting)
    }

    /// Whether the server has closed the connection: end of stream or an error within
    /// `within`. A byte that arrives instead is lost, so call this only when nothing is due.
    pub async fn is_closed(&mut self, within: Duration) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(within, self.stream.read(&mut byte)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    /// The TLS stream, for what the methods above do not cover (peer certificates, half
    /// frames written by hand).
    pub fn stream_mut(&mut self) -> &mut TlsStream<TcpStream> {
        &mut self.stream
    }

    pub fn into_stream(self) -> TlsStream<TcpStream> {
        self.stream
    }

    /// The local address of the TCP connection.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.stream.get_ref().0.local_addr()
    }

    /// Closes the TLS session politely (best effort, at most a second).
    pub async fn shutdown(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.stream.shutdown()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_part_of_server() {
        assert_eq!(host_part("127.0.0.1:700"), "127.0.0.1");
        assert_eq!(host_part("[::1]:700"), "::1");
        assert_eq!(host_part("localhost:700"), "localhost");
        assert_eq!(host_part("localhost"), "localhost");
        let mut o = ConnectOptions::new("127.0.0.1:700");
        assert_eq!(o.tls_name(), "127.0.0.1");
        o.server_name = Some("localhost".into());
        assert_eq!(o.tls_name(), "localhost");
    }
}
