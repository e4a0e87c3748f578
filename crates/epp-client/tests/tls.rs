//! epp-client over real TLS against a small in-process server (rcgen certificates, client
//! certificate required): the source address, the greeting, typed and raw requests, a
//! refused client, a hostile length header, a closed connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use epp_client::tls::{client_config_der, Identity};
use epp_client::{ClientError, ConnectOptions, Connection, LoginRequest, Session};
use epp_proto::response::TrId;
use epp_proto::{ClientId, Frame, Password, Response, ResultCode};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

struct Pki {
    ca: CertificateDer<'static>,
    server: (CertificateDer<'static>, PrivatePkcs8KeyDer<'static>),
    client: (CertificateDer<'static>, PrivatePkcs8KeyDer<'static>),
}

fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).unwrap();
    let leaf = |names: Vec<String>| {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        (
            cert.der().clone(),
            PrivatePkcs8KeyDer::from(key.serialize_der()),
        )
    };
    Pki {
        ca: ca.der().clone(),
        server: leaf(vec!["localhost".into()]),
        client: leaf(Vec::new()),
    }
}

fn server_config(p: &Pki) -> Arc<rustls::ServerConfig> {
    let provider = epp_client::tls::provider();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(p.ca.clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![p.server.0.clone()],
                PrivateKeyDer::Pkcs8(p.server.1.clone_key()),
            )
            .unwrap(),
    )
}

fn client(p: &Pki, with_cert: bool) -> Arc<rustls::ClientConfig> {
    let identity = with_cert.then(|| Identity {
        chain: vec![p.client.0.clone()],
        key: PrivateKeyDer::Pkcs8(p.client.1.clone_key()),
    });
    client_config_der(identity, vec![p.ca.clone()]).unwrap()
}

fn greeting_xml() -> Vec<u8> {
    let g = epp_proto::Greeting {
        sv_id: "test server".into(),
        sv_date: chrono::DateTime::UNIX_EPOCH,
        versions: vec!["1.0".into()],
        langs: vec!["en".into()],
        obj_uris: vec![epp_proto::ns::DOMAIN.into()],
        ext_uris: vec![],
        dcp: epp_proto::greeting::Dcp {
            access: epp_proto::greeting::DcpAccess::All,
            statements: vec![],
            expiry: None,
        },
    };
    epp_wire::encode(&Frame::Greeting(g)).into_bytes()
}

/// What the server does after the greeting.
#[derive(Clone, Copy)]
enum Script {
    /// Greeting for a hello, 1000 (echoing the clTRID) for a command, and reports the peer.
    Answer,
    /// A length header of 2 GiB.
    HugeHeader,
    /// Closes the connection.
    Close,
}

/// Serves one connection; returns the address and what the server saw as the peer.
async fn serve(p: &Pki, script: Script) -> (SocketAddr, tokio::task::JoinHandle<Option<IpAddr>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config(p));
    let task = tokio::spawn(async move {
        let (tcp, peer) = listener.accept().await.unwrap();
        let Ok(mut tls) = acceptor.accept(tcp).await else {
            return None;
        };
        let _ = epp_wire::write_frame(&mut tls, &greeting_xml()).await;
        match script {
            Script::Answer => {
                let mut buf = Vec::new();
                while epp_wire::read_frame(&mut tls, 1 << 20, &mut buf)
                    .await
                    .is_ok()
                {
                    let answer = match epp_wire::decode(&buf) {
                        Ok(Frame::Hello) => greeting_xml(),
                        Ok(Frame::Command(c)) => {
                            let tr = TrId {
                                cl_trid: c.cl_trid,
                                sv_trid: epp_proto::SvTrid::new("SV-1").ok(),
                            };
                            epp_wire::encode(&Frame::Response(Response::from_code(
                                ResultCode::Success,
                                tr,
                            )))
                            .into_bytes()
                        }
                        _ => b"not EPP".to_vec(),
                    };
                    if epp_wire::write_frame(&mut tls, &answer).await.is_err() {
                        break;
                    }
                }
            }
            Script::HugeHeader => {
                let mut buf = Vec::new();
                let _ = epp_wire::read_frame(&mut tls, 1 << 20, &mut buf).await;
                let _ = tls.write_all(&0x8000_0000u32.to_be_bytes()).await;
                let _ = tls.flush().await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Script::Close => {
                let _ = tls.shutdown().await;
            }
        }
        Some(peer.ip())
    });
    (addr, task)
}

fn opts(addr: SocketAddr) -> ConnectOptions {
    ConnectOptions {
        server_name: Some("localhost".into()),
        timeout: Duration::from_secs(10),
        ..ConnectOptions::new(addr.to_string())
    }
}

#[tokio::test]
async fn a_session_from_a_chosen_address_typed_and_raw() {
    let p = pki();
    let (addr, server) = serve(&p, Script::Answer).await;
    let from: IpAddr = "127.0.0.2".parse().unwrap();
    let o = ConnectOptions {
        bind: Some(from),
        ..opts(addr)
    };
    let mut s = Session::connect(&o, client(&p, true)).await.unwrap();
    assert_eq!(s.greeting().sv_id, "test server");
    assert_eq!(s.connection_mut().local_addr().unwrap().ip(), from);
    assert_eq!(s.hello().await.unwrap().sv_id, "test server");
    let login = LoginRequest::new(
        ClientId::new("registrar").unwrap(),
        Password::new("secret-pw").unwrap(),
    );
    let r = s.login(login).await.unwrap();
    assert_eq!(r.code(), Some(ResultCode::Success));
    assert!(s.last_request().contains("<clID>registrar</clID>"));
    // The greeting's objects were offered.
    assert!(s.last_request().contains(epp_proto::ns::DOMAIN));
    let cl_trid = r.tr_id.cl_trid.expect("clTRID echoed");
    assert!(cl_trid.as_str().starts_with("CLI-"), "{cl_trid:?}");
    // Raw: any text out, the answer's text back.
    let answer = s.raw("<epp/>").await.unwrap().to_owned();
    assert_eq!(answer, "not EPP");
    // The raw layer underneath, in the middle of the session.
    let conn = s.connection_mut();
    let hello = epp_wire::encode(&Frame::Hello);
    assert!(epp_client::scan::is_greeting(
        conn.exchange(hello.as_bytes()).await.unwrap()
    ));
    s.logout().await.unwrap();
    drop(s);
    assert_eq!(server.await.unwrap(), Some(from));
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused_as_a_tls_error() {
    let p = pki();
    let (addr, _server) = serve(&p, Script::Answer).await;
    let err = Session::connect(&opts(addr), client(&p, false))
        .await
        .unwrap_err();
    // TLS 1.3: the refusal arrives with the first read (the greeting).
    assert!(
        matches!(err, ClientError::Tls(_) | ClientError::Closed),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_hostile_length_header_is_refused_before_allocating() {
    let p = pki();
    let (addr, _server) = serve(&p, Script::HugeHeader).await;
    let o = ConnectOptions {
        max_answer_len: 64 * 1024,
        ..opts(addr)
    };
    let mut c = Connection::connect(&o, client(&p, true)).await.unwrap();
    c.read_greeting(Duration::from_secs(10)).await.unwrap();
    let err = c.exchange(b"<epp/>").await.unwrap_err();
    assert!(matches!(err, ClientError::Protocol(_)), "{err:?}");
    assert_eq!(err.kind(), "protocol");
}

#[tokio::test]
async fn a_closed_connection_is_closed() {
    let p = pki();
    let (addr, _server) = serve(&p, Script::Close).await;
    let mut c = Connection::connect(&opts(addr), client(&p, true))
        .await
        .unwrap();
    c.read_greeting(Duration::from_secs(10)).await.unwrap();
    assert!(c.is_closed(Duration::from_secs(10)).await);
    let err = c.recv_frame().await.unwrap_err();
    assert_eq!(err.kind(), "closed", "{err:?}");
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let p = pki();
    let err = Connection::connect(&opts(closed), client(&p, true))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "connect", "{err:?}");
}
