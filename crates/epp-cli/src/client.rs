//! A minimal EPP client over TLS with a client certificate: connect, read the greeting, send
//! commands, read responses. The CLI, the load tool and the end-to-end tests share it.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use epp_proto::ext::CommandExtension;
use epp_proto::session::Login;
use epp_proto::{ClTrid, ClientId, Command, CommandFrame, Frame, Greeting, Password, Response};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `host:port` or `[v6]:port`.
    pub server: String,
    /// The name the server certificate must carry; defaults to the host part of `server`.
    pub server_name: Option<String>,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
    /// Local address to bind before connecting (tests use 127.0.0.2 to be "elsewhere").
    pub bind: Option<IpAddr>,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read {path}: {reason}")]
    Files { path: String, reason: String },
    #[error("cannot connect to {server}: {reason}")]
    Connect { server: String, reason: String },
    #[error("TLS failed: {0}")]
    Tls(String),
    #[error("connection lost: {0}")]
    Io(String),
    #[error("server did not answer within {0:?}")]
    Timeout(Duration),
    #[error("server sent something that is not valid EPP: {0}")]
    Protocol(String),
}

impl ClientError {
    /// True for failures of the TLS layer (certificates), as opposed to the network.
    pub fn is_tls(&self) -> bool {
        matches!(self, ClientError::Tls(_))
    }
}

/// Puts a TLS failure into words an operator can act on.
pub fn explain_tls(err: &rustls::Error) -> String {
    use rustls::{AlertDescription as A, CertificateError as C};
    match err {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "the server's certificate is not issued by the CA in the --ca file (unknown CA)".into()
        }
        rustls::Error::InvalidCertificate(C::Expired) | rustls::Error::InvalidCertificate(C::ExpiredContext { .. }) => {
            "the server's certificate has expired".into()
        }
        rustls::Error::InvalidCertificate(C::NotValidForName)
        | rustls::Error::InvalidCertificate(C::NotValidForNameContext { .. }) => {
            "the server's certificate does not carry the name we connected to (use --server-name)".into()
        }
        rustls::Error::InvalidCertificate(other) => format!("the server's certificate is not acceptable: {other:?}"),
        rustls::Error::AlertReceived(
            A::BadCertificate | A::UnknownCA | A::CertificateUnknown | A::CertificateExpired | A::CertificateRevoked,
        )
        | rustls::Error::AlertReceived(A::CertificateRequired | A::AccessDenied | A::DecryptError) => format!(
            "the server did not accept our client certificate ({err}); is it issued by the registry's CA, unexpired and not revoked?"
        ),
        other => other.to_string(),
    }
}

fn io_to_client_error(e: std::io::Error) -> ClientError {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return ClientError::Tls(explain_tls(inner));
    }
    ClientError::Io(e.to_string())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let files = |reason: String| ClientError::Files {
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

/// Builds the TLS client configuration: trust only the given CA, present the client cert.
pub fn tls_config(
    cert: &Path,
    key: &Path,
    ca: &Path,
) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in read_certs(ca)? {
        roots.add(c).map_err(|e| ClientError::Files {
            path: ca.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    let chain = read_certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| ClientError::Files {
        path: key.display().to_string(),
        reason: e.to_string(),
    })?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
    .map_err(|e| ClientError::Tls(e.to_string()))?
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .map_err(|e| ClientError::Files {
        path: cert.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(Arc::new(config))
}

/// One EPP session.
#[derive(Debug)]
pub struct Client {
    stream: TlsStream<TcpStream>,
    buf: Vec<u8>,
    timeout: Duration,
    /// The greeting the server sent on connect.
    pub greeting: Greeting,
    /// The last frames exchanged, for `--xml`.
    pub last_request: String,
    pub last_response: String,
    counter: u64,
}

fn host_part(server: &str) -> &str {
    if let Some(rest) = server.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    server.rsplit_once(':').map(|(h, _)| h).unwrap_or(server)
}

impl Client {
    pub async fn connect(opts: &ConnectOptions) -> Result<Self, ClientError> {
        let config = tls_config(&opts.cert, &opts.key, &opts.ca)?;
        Self::connect_with(opts, config).await
    }

    /// Connects with a prepared TLS configuration (load tools reuse one for many sessions).
    pub async fn connect_with(
        opts: &ConnectOptions,
        config: Arc<rustls::ClientConfig>,
    ) -> Result<Self, ClientError> {
        let connect_err = |reason: String| ClientError::Connect {
            server: opts.server.clone(),
            reason,
        };
        let addr: SocketAddr = tokio::net::lookup_host(&opts.server)
            .await
            .map_err(|e| connect_err(e.to_string()))?
            .next()
            .ok_or_else(|| connect_err("no address".into()))?;
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(|e| connect_err(e.to_string()))?;
        if let Some(bind) = opts.bind {
            socket
                .bind(SocketAddr::new(bind, 0))
                .map_err(|e| connect_err(format!("bind {bind}: {e}")))?;
        }
        let tcp = tokio::time::timeout(opts.timeout, socket.connect(addr))
            .await
            .map_err(|_| ClientError::Timeout(opts.timeout))?
            .map_err(|e| connect_err(e.to_string()))?;
        tcp.set_nodelay(true)
            .map_err(|e| connect_err(e.to_string()))?;
        let name = opts
            .server_name
            .clone()
            .unwrap_or_else(|| host_part(&opts.server).to_owned());
        let server_name = ServerName::try_from(name.clone())
            .map_err(|_| ClientError::Tls(format!("{name:?} is not a valid server name")))?;
        let stream = tokio::time::timeout(
            opts.timeout,
            TlsConnector::from(config).connect(server_name, tcp),
        )
        .await
        .map_err(|_| ClientError::Timeout(opts.timeout))?
        .map_err(io_to_client_error)?;
        let mut client = Client {
            stream,
            buf: Vec::with_capacity(4096),
            timeout: opts.timeout,
            greeting: placeholder_greeting(),
            last_request: String::new(),
            last_response: String::new(),
            counter: 0,
        };
        let xml = client.read().await?;
        match epp_wire::decode(xml.as_bytes()) {
            Ok(Frame::Greeting(g)) => client.greeting = g,
            Ok(other) => {
                return Err(ClientError::Protocol(format!(
                    "expected a greeting, got {other:?}"
                )))
            }
            Err(e) => return Err(ClientError::Protocol(e.to_string())),
        }
        Ok(client)
    }

    async fn read(&mut self) -> Result<String, ClientError> {
        let read = epp_wire::read_frame(
            &mut self.stream,
            epp_wire::DEFAULT_MAX_FRAME_LEN * 16,
            &mut self.buf,
        );
        match tokio::time::timeout(self.timeout, read).await {
            Err(_) => Err(ClientError::Timeout(self.timeout)),
            Ok(Err(epp_wire::FrameError::Io(e))) => Err(io_to_client_error(e)),
            Ok(Err(e)) => Err(ClientError::Io(e.to_string())),
            Ok(Ok(())) => {
                let s = String::from_utf8(std::mem::take(&mut self.buf))
                    .map_err(|_| ClientError::Protocol("response is not UTF-8".into()))?;
                Ok(s)
            }
        }
    }

    /// Sends any document and returns the raw answer.
    pub async fn send_raw(&mut self, xml: &str) -> Result<String, ClientError> {
        self.last_request = xml.to_owned();
        epp_wire::write_frame(&mut self.stream, xml.as_bytes())
            .await
            .map_err(io_to_client_error)?;
        let answer = self.read().await?;
        self.last_response.clone_from(&answer);
        Ok(answer)
    }

    /// Sends a frame and decodes the answer.
    pub async fn send(&mut self, frame: &Frame) -> Result<Frame, ClientError> {
        let xml = epp_wire::encode(frame);
        let answer = self.send_raw(&xml).await?;
        epp_wire::decode(answer.as_bytes()).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// A fresh clTRID for the next command.
    pub fn next_cl_trid(&mut self) -> ClTrid {
        self.counter += 1;
        let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
        ClTrid::new(&format!(
            "CLI-{stamp}-{}-{}",
            std::process::id(),
            self.counter
        ))
        .expect("a CLI clTRID is at most 4+14+1+10+1+20 characters")
    }

    /// Runs a command with a generated clTRID.
    pub async fn command(
        &mut self,
        command: Command,
        extensions: Vec<CommandExtension>,
    ) -> Result<Response, ClientError> {
        let cl_trid = Some(self.next_cl_trid());
        match self
            .send(&Frame::Command(CommandFrame {
                command,
                extensions,
                cl_trid,
            }))
            .await?
        {
            Frame::Response(r) => Ok(r),
            other => Err(ClientError::Protocol(format!(
                "expected a response, got {other:?}"
            ))),
        }
    }

    pub async fn hello(&mut self) -> Result<Greeting, ClientError> {
        match self.send(&Frame::Hello).await? {
            Frame::Greeting(g) => Ok(g),
            other => Err(ClientError::Protocol(format!(
                "expected a greeting, got {other:?}"
            ))),
        }
    }

    /// Logs in with every object and extension the greeting offers.
    pub async fn login(
        &mut self,
        cl_id: ClientId,
        pw: Password,
        new_pw: Option<Password>,
    ) -> Result<Response, ClientError> {
        let login = Login {
            cl_id,
            pw,
            new_pw,
            version: "1.0".into(),
            lang: "en".into(),
            obj_uris: self.greeting.obj_uris.clone(),
            ext_uris: self.greeting.ext_uris.clone(),
        };
        self.command(Command::Login(login), Vec::new()).await
    }

    pub async fn logout(&mut self) -> Result<Response, ClientError> {
        self.command(Command::Logout, Vec::new()).await
    }
}

fn placeholder_greeting() -> Greeting {
    Greeting {
        sv_id: String::new(),
        sv_date: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        versions: Vec::new(),
        langs: Vec::new(),
        obj_uris: Vec::new(),
        ext_uris: Vec::new(),
        dcp: epp_proto::greeting::Dcp {
            access: epp_proto::greeting::DcpAccess::None,
            statements: Vec::new(),
            expiry: None,
        },
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
    }
}
