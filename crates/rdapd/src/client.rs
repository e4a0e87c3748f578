//! A small RDAP client over one keep-alive HTTPS (or plain HTTP) connection: what the load
//! tool (`rdap-load`) and the end-to-end tests use to speak to the server as clients do.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connect: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("request: {0}")]
    Request(#[from] hyper::http::Error),
    #[error("bad server name {0:?}")]
    ServerName(String),
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One connection; requests go one after the other (HTTP/1.1 keep-alive).
#[derive(Debug)]
pub struct Client {
    send: http1::SendRequest<Empty<Bytes>>,
    host: String,
    _conn: tokio::task::JoinHandle<()>,
}

/// A TLS client configuration trusting `ca` only.
pub fn tls_config(
    ca: &[CertificateDer<'static>],
) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in ca {
        roots.add(c.clone())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

impl Client {
    /// Connects to `addr`; with `tls`, over TLS to `server_name`.
    pub async fn connect(
        addr: SocketAddr,
        tls: Option<(Arc<rustls::ClientConfig>, &str)>,
    ) -> Result<Client, ClientError> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let host = addr.to_string();
        let (send, conn) = match tls {
            Some((cfg, name)) => {
                let sn = ServerName::try_from(name.to_owned())
                    .map_err(|_| ClientError::ServerName(name.to_owned()))?;
                let stream = tokio_rustls::TlsConnector::from(cfg)
                    .connect(sn, tcp)
                    .await?;
                let (send, conn) = http1::handshake(TokioIo::new(stream)).await?;
                let task = tokio::spawn(async move {
                    let _ = conn.await;
                });
                (send, task)
            }
            None => {
                let (send, conn) = http1::handshake(TokioIo::new(tcp)).await?;
                let task = tokio::spawn(async move {
                    let _ = conn.await;
                });
                (send, task)
            }
        };
        Ok(Client {
            send,
            host,
            _conn: conn,
        })
    }

    /// `GET path` (path and query, percent-encoded as it should go on the wire).
    pub async fn get(&mut self, path: &str) -> Result<Answer, ClientError> {
        self.request(Method::GET, path, &[]).await
    }

    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Answer, ClientError> {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("accept", "application/rdap+json");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Empty::<Bytes>::new())?;
        self.send.ready().await?;
        let resp = self.send.send_request(req).await?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}
