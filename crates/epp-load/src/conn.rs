//! Connections: where the server is and how to authenticate (command line or `--demo DIR`),
//! and opening logged-in sessions. The TLS client, the frame loop and the result-code scan
//! are `epp-client`'s; the hot path writes a prepared frame and reads one answer, looking only
//! at its result code.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use epp_client::conn::host_part;
pub use epp_client::scan::{is_greeting, result_code};
use epp_client::{ClientError, ConnectOptions, Connection};
use epp_proto::{ClientId, Password};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

/// Largest answer we accept (RFC 5734 framing; checked before allocating).
pub const MAX_ANSWER_LEN: u32 = epp_wire::DEFAULT_MAX_FRAME_LEN;

/// One connection of a run.
pub type FrameConn = Connection;

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("settings: {0}")]
    Settings(String),
    #[error("login refused with result code {0}")]
    LoginRefused(u16),
}

impl ConnError {
    /// The short name failures are counted under in reports.
    pub fn kind(&self) -> &'static str {
        match self {
            ConnError::Client(e) => e.kind(),
            ConnError::Settings(_) => "settings",
            ConnError::LoginRefused(_) => "login-refused",
        }
    }

    pub fn timeout(after: Duration) -> ConnError {
        ConnError::Client(ClientError::Timeout(after))
    }
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
        let files = |reason: String| {
            ConnError::Client(ClientError::Files {
                path: path.display().to_string(),
                reason,
            })
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

/// TLS client configuration from PEM files: trust only `ca`, present `cert`/`key`.
pub fn client_config(
    cert: &Path,
    key: &Path,
    ca: &Path,
) -> Result<Arc<rustls::ClientConfig>, ConnError> {
    Ok(epp_client::tls::client_config(cert, key, ca)?)
}

/// TLS client configuration from DER values.
pub fn client_config_der(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    ca: Vec<CertificateDer<'static>>,
) -> Result<Arc<rustls::ClientConfig>, ConnError> {
    Ok(epp_client::tls::client_config_der(
        Some(epp_client::tls::Identity { chain, key }),
        ca,
    )?)
}

/// TLS server configuration that requires a client certificate issued by `ca` (the echo
/// baseline's server).
pub fn server_config_der(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    ca: Vec<CertificateDer<'static>>,
) -> Result<Arc<rustls::ServerConfig>, ConnError> {
    let tls = |e: String| ConnError::Client(ClientError::Tls(e));
    let mut roots = rustls::RootCertStore::empty();
    for c in ca {
        roots
            .add(c)
            .map_err(|e| tls(format!("CA certificate: {e}")))?;
    }
    let provider = epp_client::tls::provider;
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| tls(e.to_string()))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| tls(format!("server certificate: {e}")))?;
    Ok(Arc::new(config))
}

/// Connects (TCP with `TCP_NODELAY`, TLS handshake) within `timeout`; reads nothing.
pub async fn connect(
    server: &str,
    server_name: &str,
    config: Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<FrameConn, ConnError> {
    connect_from(server, server_name, config, timeout, None).await
}

/// [`connect`] from a chosen local address (`bind`).
pub async fn connect_from(
    server: &str,
    server_name: &str,
    config: Arc<rustls::ClientConfig>,
    timeout: Duration,
    bind: Option<std::net::IpAddr>,
) -> Result<FrameConn, ConnError> {
    let opts = ConnectOptions {
        server_name: Some(server_name.to_owned()),
        timeout,
        bind,
        max_answer_len: MAX_ANSWER_LEN,
        ..ConnectOptions::new(server)
    };
    Ok(Connection::connect(&opts, config).await?)
}

/// Opens a connection and reads the greeting.
pub async fn open_epp(
    target: &Target,
    config: Arc<rustls::ClientConfig>,
) -> Result<FrameConn, ConnError> {
    let mut conn = connect(&target.server, &target.server_name, config, target.timeout).await?;
    conn.read_greeting(target.timeout).await?;
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
        .map_err(|_| ConnError::timeout(target.timeout))??;
    match result_code(answer) {
        Some(1000) => Ok(conn),
        Some(code) => Err(ConnError::LoginRefused(code)),
        None => Err(ConnError::Client(ClientError::Protocol(
            "login answer has no result code".into(),
        ))),
    }
}

/// [`open_session`] for the sessions a run sets up before measuring: a connection the server
/// drops before the login answer (its per-source handshake budget, `[limits]
/// handshakes_per_second_per_source`, refuses a burst of new connections from one address) is
/// tried again after a back-off, as registrar software reconnects; a refused login is not.
pub async fn open_session_patiently(
    target: &Target,
    config: Arc<rustls::ClientConfig>,
    login_frame: &[u8],
) -> Result<FrameConn, ConnError> {
    let mut wait = Duration::from_millis(50);
    let mut tries = 0;
    loop {
        match open_session(target, Arc::clone(&config), login_frame).await {
            Err(ConnError::LoginRefused(c)) => return Err(ConnError::LoginRefused(c)),
            Err(_) if tries < 12 => {
                tries += 1;
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(1));
            }
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
