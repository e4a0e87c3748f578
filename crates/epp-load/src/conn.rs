//! Connections: where the server is and how to authenticate (command line or `--demo DIR`),
//! the TLS configuration, and a lean frame loop over TLS (the hot path writes a prepared frame
//! and reads one answer, looking only at its result code).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use epp_proto::{ClientId, Password};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Largest answer we accept (RFC 5734 framing; checked before allocating).
pub const MAX_ANSWER_LEN: u32 = epp_wire::DEFAULT_MAX_FRAME_LEN;

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("cannot read {path}: {reason}")]
    Files { path: String, reason: String },
    #[error("settings: {0}")]
    Settings(String),
    #[error("cannot connect to {server}: {reason}")]
    Connect { server: String, reason: String },
    #[error("TLS failed: {0}")]
    Tls(String),
    #[error("connection lost: {0}")]
    Io(String),
    #[error("server closed the connection")]
    Closed,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("not valid EPP: {0}")]
    Protocol(String),
    #[error("login refused with result code {0}")]
    LoginRefused(u16),
}

impl ConnError {
    /// The short name failures are counted under in reports.
    pub fn kind(&self) -> &'static str {
        match self {
            ConnError::Files { .. } | ConnError::Settings(_) => "settings",
            ConnError::Connect { .. } => "connect",
            ConnError::Tls(_) => "tls",
            ConnError::Io(_) => "io",
            ConnError::Closed => "closed",
            ConnError::Timeout(_) => "timeout",
            ConnError::Protocol(_) => "protocol",
            ConnError::LoginRefused(_) => "login-refused",
        }
    }
}

impl From<epp_wire::FrameError> for ConnError {
    fn from(e: epp_wire::FrameError) -> Self {
        use epp_wire::FrameError as F;
        match e {
            F::Closed | F::Truncated => ConnError::Closed,
            F::TooShort(_) | F::TooLong { .. } => ConnError::Protocol(e.to_string()),
            F::Io(e) => io_error(e),
        }
    }
}

fn io_error(e: std::io::Error) -> ConnError {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return ConnError::Tls(inner.to_string());
    }
    ConnError::Io(e.to_string())
}

/// Everything needed to open an EPP session.
#[derive(Clone)]
pub struct Target {
    /// `host:port`.
    pub server: String,
    /// The name the server certificate must carry.
    pub server_name: String,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub cl_id: ClientId,
    pub password: Password,
    /// Connect, handshake and greeting timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("server", &self.server)
            .field("server_name", &self.server_name)
            .field("ca", &self.ca)
            .field("cert", &self.cert)
            .field("key", &self.key)
            .field("cl_id", &self.cl_id)
            .field("password", &"***")
            .finish()
    }
}

/// `DIR/demo.json`, written by `eppd demo`. Relative paths are relative to `DIR`. Fields:
/// `address` (`host:port`), `ca` (PEM of the CA that issued the server certificate), `cert` and
/// `key` (PEM client certificate and key), `cl_id`, `password`. Other fields are ignored.
#[derive(Deserialize)]
pub struct DemoFile {
    pub address: String,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub cl_id: String,
    pub password: String,
}

impl std::fmt::Debug for DemoFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoFile")
            .field("address", &self.address)
            .field("cl_id", &self.cl_id)
            .finish_non_exhaustive()
    }
}

/// Largest demo.json we read.
const MAX_DEMO_FILE: u64 = 64 * 1024;

impl DemoFile {
    pub fn load(dir: &Path) -> Result<DemoFile, ConnError> {
        let path = dir.join("demo.json");
        let files = |reason: String| ConnError::Files {
            path: path.display().to_string(),
            reason,
        };
        let meta = std::fs::metadata(&path).map_err(|e| files(e.to_string()))?;
        if meta.len() > MAX_DEMO_FILE {
            return Err(files(format!("larger than {MAX_DEMO_FILE} bytes")));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| files(e.to_string()))?;
        let mut demo: DemoFile = serde_json::from_str(&text).map_err(|e| files(e.to_string()))?;
        for p in [&mut demo.ca, &mut demo.cert, &mut demo.key] {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        Ok(demo)
    }
}

/// The host part of `host:port` or `[v6]:port`.
pub fn host_part(server: &str) -> &str {
    if let Some(rest) = server.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    server.rsplit_once(':').map_or(server, |(h, _)| h)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConnError> {
    let files = |reason: String| ConnError::Files {
        path: path.display().to_string(),
        reason,
    };
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| files(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| files(e.to_string()))?;
    if certs.is_empty() {
        return Err(files("no PEM certificate in it".into()));
    }
    Ok(certs)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// TLS client configuration from PEM files: trust only `ca`, present `cert`/`key`.
pub fn client_config(
    cert: &Path,
    key: &Path,
    ca: &Path,
) -> Result<Arc<rustls::ClientConfig>, ConnError> {
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| ConnError::Files {
        path: key.display().to_string(),
        reason: e.to_string(),
    })?;
    client_config_der(read_certs(cert)?, key_der, read_certs(ca)?)
}

/// TLS client configuration from DER values.
pub fn client_config_der(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    ca: Vec<CertificateDer<'static>>,
) -> Result<Arc<rustls::ClientConfig>, ConnError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in ca {
        roots
            .add(c)
            .map_err(|e| ConnError::Tls(format!("CA certificate: {e}")))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ConnError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| ConnError::Tls(format!("client certificate: {e}")))?;
    Ok(Arc::new(config))
}

/// TLS server configuration that requires a client certificate issued by `ca` (the echo
/// baseline's server).
pub fn server_config_der(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    ca: Vec<CertificateDer<'static>>,
) -> Result<Arc<rustls::ServerConfig>, ConnError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in ca {
        roots
            .add(c)
            .map_err(|e| ConnError::Tls(format!("CA certificate: {e}")))?;
    }
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| ConnError::Tls(e.to_string()))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ConnError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| ConnError::Tls(format!("server certificate: {e}")))?;
    Ok(Arc::new(config))
}

/// One TLS connection speaking RFC 5734 frames: one request, one answer.
#[derive(Debug)]
pub struct FrameConn {
    stream: TlsStream<TcpStream>,
    /// The last answer's payload.
    buf: Vec<u8>,
    /// The outgoing frame (header + payload), reused.
    out: Vec<u8>,
}

impl FrameConn {
    /// TCP connect (with `TCP_NODELAY`) and TLS handshake, within `timeout`.
    pub async fn connect(
        server: &str,
        server_name: &str,
        config: Arc<rustls::ClientConfig>,
        timeout: Duration,
    ) -> Result<FrameConn, ConnError> {
        let connect_err = |reason: String| ConnError::Connect {
            server: server.to_owned(),
            reason,
        };
        let work = async {
            let addr: SocketAddr = tokio::net::lookup_host(server)
                .await
                .map_err(|e| connect_err(e.to_string()))?
                .next()
                .ok_or_else(|| connect_err("no address".into()))?;
            let tcp = TcpStream::connect(addr)
                .await
                .map_err(|e| connect_err(e.to_string()))?;
            tcp.set_nodelay(true)
                .map_err(|e| connect_err(e.to_string()))?;
            let name = ServerName::try_from(server_name.to_owned()).map_err(|_| {
                ConnError::Settings(format!("{server_name:?} is not a valid server name"))
            })?;
            let stream = TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(io_error)?;
            Ok(FrameConn {
                stream,
                buf: Vec::with_capacity(4096),
                out: Vec::with_capacity(1024),
            })
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| ConnError::Timeout(timeout))?
    }

    /// Sends one frame (header and payload in one write).
    pub async fn send(&mut self, payload: &[u8]) -> Result<(), ConnError> {
        let total = u32::try_from(payload.len() + epp_wire::framing::HEADER_LEN)
            .map_err(|_| ConnError::Protocol("frame longer than 4 GiB".into()))?;
        self.out.clear();
        self.out.extend_from_slice(&total.to_be_bytes());
        self.out.extend_from_slice(payload);
        self.stream.write_all(&self.out).await.map_err(io_error)?;
        self.stream.flush().await.map_err(io_error)
    }

    /// Reads one frame; the payload stays valid until the next call.
    pub async fn recv(&mut self) -> Result<&[u8], ConnError> {
        epp_wire::read_frame(&mut self.stream, MAX_ANSWER_LEN, &mut self.buf).await?;
        Ok(&self.buf)
    }

    /// Sends one frame and reads the answer.
    pub async fn exchange(&mut self, payload: &[u8]) -> Result<&[u8], ConnError> {
        self.send(payload).await?;
        self.recv().await
    }

    /// Closes the TLS session politely (best effort).
    pub async fn shutdown(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.stream.shutdown()).await;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Position of element `name`'s start tag, whatever its namespace prefix.
fn find_element(xml: &[u8], name: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = find(&xml[from..], name) {
        let at = from + i;
        let before = at.checked_sub(1).map(|b| xml[b]);
        let after = xml.get(at + name.len()).copied();
        if matches!(before, Some(b'<' | b':'))
            && matches!(after, Some(b' ' | b'>' | b'/' | b'\t' | b'\n' | b'\r'))
        {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The first result code of an EPP response. A fast scan for `<result code="NNNN"`; anything
/// else goes through the full decoder.
pub fn result_code(xml: &[u8]) -> Option<u16> {
    if let Some(at) = find_element(xml, b"result") {
        let tail = &xml[at..xml.len().min(at + 64)];
        if let Some(c) = find(tail, b"code=") {
            let v = &tail[c + 5..];
            if let [q @ (b'"' | b'\''), d @ ..] = v {
                if d.len() >= 5 && d[..4].iter().all(u8::is_ascii_digit) && d[4] == *q {
                    return std::str::from_utf8(&d[..4]).ok()?.parse().ok();
                }
            }
        }
    }
    match epp_wire::decode(xml) {
        Ok(epp_proto::Frame::Response(r)) => r.code().map(|c| c.code()),
        _ => None,
    }
}

/// Whether a frame is a greeting.
pub fn is_greeting(xml: &[u8]) -> bool {
    find_element(xml, b"greeting").is_some()
}

/// Opens a connection and reads the greeting.
pub async fn open_epp(
    target: &Target,
    config: Arc<rustls::ClientConfig>,
) -> Result<FrameConn, ConnError> {
    let mut conn =
        FrameConn::connect(&target.server, &target.server_name, config, target.timeout).await?;
    let greeting = tokio::time::timeout(target.timeout, conn.recv())
        .await
        .map_err(|_| ConnError::Timeout(target.timeout))??;
    if !is_greeting(greeting) {
        return Err(ConnError::Protocol(
            "the first frame is not a greeting".into(),
        ));
    }
    Ok(conn)
}

/// Opens a connection and logs in; any answer but 1000 is a refusal.
pub async fn open_session(
    target: &Target,
    config: Arc<rustls::ClientConfig>,
    login_frame: &[u8],
) -> Result<FrameConn, ConnError> {
    let mut conn = open_epp(target, config).await?;
    let answer = tokio::time::timeout(target.timeout, conn.exchange(login_frame))
        .await
        .map_err(|_| ConnError::Timeout(target.timeout))??;
    match result_code(answer) {
        Some(1000) => Ok(conn),
        Some(code) => Err(ConnError::LoginRefused(code)),
        None => Err(ConnError::Protocol(
            "login answer has no result code".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_code_fast_path() {
        let xml = br#"<?xml version="1.0"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><response><result code="2302"><msg>Object exists</msg></result></response></epp>"#;
        assert_eq!(result_code(xml), Some(2302));
        let prefixed = br#"<e:epp xmlns:e="urn:ietf:params:xml:ns:epp-1.0"><e:response><e:result code='1000'><e:msg>ok</e:msg></e:result></e:response></e:epp>"#;
        assert_eq!(result_code(prefixed), Some(1000));
    }

    #[test]
    fn result_code_refuses_lookalikes_and_garbage() {
        assert_eq!(result_code(br#"<resultx code="1000"/>"#), None);
        assert_eq!(result_code(br#"<result code="10"/>"#), None);
        assert_eq!(result_code(br#"<result code="1000'/>"#), None);
        assert_eq!(result_code(b""), None);
        assert_eq!(result_code(b"<result code=\""), None);
        assert_eq!(result_code(&[0xff, 0xfe, 0x00]), None);
    }

    #[test]
    fn greeting_detection() {
        assert!(is_greeting(br#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><greeting><svID>x</svID></greeting></epp>"#));
        assert!(!is_greeting(
            br#"<epp><response><result code="1000"/></response></epp>"#
        ));
        assert!(!is_greeting(b"<epp><greetings/></epp>"));
    }

    #[test]
    fn host_part_of_server() {
        assert_eq!(host_part("127.0.0.1:700"), "127.0.0.1");
        assert_eq!(host_part("[::1]:700"), "::1");
        assert_eq!(host_part("localhost"), "localhost");
    }

    #[test]
    fn demo_file_paths_are_relative_to_its_directory() {
        let dir = std::env::temp_dir().join(format!("epp-load-demo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("demo.json"),
            r#"{"address":"127.0.0.1:7700","ca":"ca.pem","cert":"/abs/client.pem","key":"client.key","cl_id":"demo","password":"secret123","extra":1}"#,
        )
        .unwrap();
        let d = DemoFile::load(&dir).unwrap();
        assert_eq!(d.address, "127.0.0.1:7700");
        assert_eq!(d.ca, dir.join("ca.pem"));
        assert_eq!(d.cert, PathBuf::from("/abs/client.pem"));
        assert!(!format!("{d:?}").contains("secret123"));
        std::fs::write(dir.join("demo.json"), "{}").unwrap();
        assert!(DemoFile::load(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
