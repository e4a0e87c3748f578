//! Shared helpers of the frontend suites: a test PKI made with rcgen, a fresh database per test
//! (SQLite temp file, or a PostgreSQL database created through `EPP_TEST_PG_URL`), an
//! in-process server on 127.0.0.1:0 with a manual clock, and a small EPP client that speaks
//! frames over tokio-rustls from a chosen source address.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod core;
pub mod smtp;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use epp_proto::ClientId;
use eppd::config::Config;
use eppd::{CommandHandler, Server, ServerError, Shutdown, UnimplementedHandler};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use registry_core::clock::{Clock, ManualClock};
use registry_core::registrar::{
    parse_network, CertFingerprint, LoginAuditEntry, Registrar, RegistrarStatus,
};
use registry_store::Db;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

pub const DOMAIN_NS: &str = "urn:ietf:params:xml:ns:domain-1.0";
pub const HOST_NS: &str = "urn:ietf:params:xml:ns:host-1.0";
pub const CONTACT_NS: &str = "urn:ietf:params:xml:ns:contact-1.0";
pub const SEC_DNS_NS: &str = "urn:ietf:params:xml:ns:secDNS-1.1";
pub const RGP_NS: &str = "urn:ietf:params:xml:ns:rgp-1.0";

pub const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
pub const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// Generous bound on anything the server should answer.
pub const ANSWER: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Backends

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

impl Backend {
    /// PostgreSQL from `EPP_TEST_PG_URL`. Unset: skipped locally, a failure when `CI=true`.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("EPP_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres { admin_url: url }),
            _ => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("CI=true but EPP_TEST_PG_URL is not set: the PostgreSQL variant must run in CI");
                }
                eprintln!("EPP_TEST_PG_URL not set: skipping the PostgreSQL variant");
                None
            }
        }
    }
}

/// Runs one test function on SQLite and on PostgreSQL (`<name>::sqlite`, `<name>::postgres`).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(b) = $crate::support::Backend::postgres() {
                    super::$name(b).await
                }
            }
        }
    )*};
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        UNIQUE.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh, migrated database; removed by [`TestDb::remove`].
pub struct TestDb {
    pub url: String,
    pub db: Db,
    cleanup: DbCleanup,
}

enum DbCleanup {
    Sqlite(tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
        role: String,
    },
}

impl TestDb {
    pub async fn create(backend: &Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite:{}", dir.path().join("registry.db").display());
                let db = Db::connect(&url, 5).await.expect("open SQLite");
                TestDb {
                    url,
                    db,
                    cleanup: DbCleanup::Sqlite(dir),
                }
            }
            Backend::Postgres { admin_url } => {
                use sqlx::Connection;
                let name = format!("epp_t_{}", unique_suffix());
                let mut admin = sqlx::PgConnection::connect(admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("EPP_TEST_PG_URL {admin_url} unreachable: {e}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("CREATE DATABASE");
                admin.close().await.ok();
                // Migrated by the owner (the admin URL's user); the servers under test connect
                // as a login role of `epp_frontend`, as a production deployment does (README,
                // "Database roles"), so a test that needs more than that role's rights fails.
                let owner_url = with_database(admin_url, &name);
                let db = Db::connect(&owner_url, 5).await.expect("open PostgreSQL");
                let role = format!("{name}_fe");
                if let Db::Postgres(p) = &db {
                    sqlx::query(&format!("CREATE ROLE {role} LOGIN IN ROLE epp_frontend"))
                        .execute(p)
                        .await
                        .expect("CREATE ROLE");
                }
                TestDb {
                    url: with_user(&owner_url, &role),
                    db,
                    cleanup: DbCleanup::Postgres {
                        admin_url: admin_url.clone(),
                        name,
                        role,
                    },
                }
            }
        }
    }

    pub async fn remove(self) {
        self.db.close().await;
        match self.cleanup {
            DbCleanup::Sqlite(dir) => drop(dir),
            DbCleanup::Postgres {
                admin_url,
                name,
                role,
            } => {
                use sqlx::Connection;
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                    let _ = sqlx::query(&format!("DROP ROLE IF EXISTS {role}"))
                        .execute(&mut admin)
                        .await;
                    admin.close().await.ok();
                }
            }
        }
    }
}

/// Replaces the user (and password) of a PostgreSQL URL; the tests' server trusts loopback.
pub fn with_user(url: &str, user: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = match rest.split_once('/') {
                Some((auth_host, db)) => format!(
                    "{}/{db}",
                    auth_host.rsplit_once('@').map_or(auth_host, |(_, h)| h)
                ),
                None => rest.rsplit_once('@').map_or(rest, |(_, h)| h).to_owned(),
            };
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_owned(),
    }
}

/// Replaces the database name of a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

// ---------------------------------------------------------------------------------------------
// PKI

/// A certificate and its key, as a client presents them.
#[derive(Clone)]
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key_der: Vec<u8>,
    pub fingerprint: CertFingerprint,
}

impl Identity {
    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().expect("CA key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = p.self_signed(&key).expect("CA cert");
        Ca { cert, key }
    }

    fn issue(&self, cn: &str, server: bool, expired: bool) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().expect("leaf key");
        let sans = if server {
            vec!["localhost".to_owned()]
        } else {
            Vec::new()
        };
        let mut p = CertificateParams::new(sans).expect("params");
        p.distinguished_name.push(DnType::CommonName, cn);
        if server {
            p.subject_alt_names.push(SanType::IpAddress(LOCAL));
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        } else {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if expired {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = p.signed_by(&key, &self.cert, &self.key).expect("leaf cert");
        (cert, key)
    }

    fn identity(&self, cn: &str, expired: bool) -> Identity {
        let (cert, key) = self.issue(cn, false, expired);
        let der = cert.der().clone();
        let fingerprint = eppd::tls::fingerprint(&der);
        Identity {
            chain: vec![der, self.cert.der().clone()],
            key_der: key.serialize_der(),
            fingerprint,
        }
    }
}

/// The test PKI: one CA the server trusts for clients (it also signs the server's
/// certificate), and another CA nobody trusts. PEM files live in a temp dir.
pub struct Pki {
    ca: Ca,
    rogue: Ca,
    dir: tempfile::TempDir,
    pub cert_chain: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
    ca_der: CertificateDer<'static>,
}

impl Pki {
    pub fn new() -> Pki {
        let ca = Ca::new("EPP Test CA");
        let rogue = Ca::new("Rogue CA");
        let dir = tempfile::tempdir().expect("temp dir");
        let (server, server_key) = ca.issue("localhost", true, false);
        let cert_chain = dir.path().join("server-chain.pem");
        let key = dir.path().join("server-key.pem");
        let client_ca = dir.path().join("client-ca.pem");
        std::fs::write(&cert_chain, format!("{}{}", server.pem(), ca.cert.pem()))
            .expect("write chain");
        std::fs::write(&key, server_key.serialize_pem()).expect("write key");
        std::fs::write(&client_ca, ca.cert.pem()).expect("write CA");
        let ca_der = ca.cert.der().clone();
        Pki {
            ca,
            rogue,
            dir,
            cert_chain,
            key,
            client_ca,
            ca_der,
        }
    }

    /// A valid client certificate from the trusted CA.
    pub fn client(&self, cn: &str) -> Identity {
        self.ca.identity(cn, false)
    }

    /// An expired client certificate from the trusted CA.
    pub fn expired_client(&self, cn: &str) -> Identity {
        self.ca.identity(cn, true)
    }

    /// A client certificate from a CA the server does not trust.
    pub fn rogue_client(&self, cn: &str) -> Identity {
        self.rogue.identity(cn, false)
    }

    fn connector(&self, identity: Option<&Identity>) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone()).expect("root");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots);
        let config = match identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key())
                .expect("client auth"),
            None => builder.with_no_client_auth(),
        };
        TlsConnector::from(Arc::new(config))
    }
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

// ---------------------------------------------------------------------------------------------
// Server

/// Test timeouts: short enough that no test sleeps long.
pub fn test_config(pki: &Pki, db_url: &str) -> Config {
    let text = format!(
        r#"
        [server]
        listen = ["127.0.0.1:0"]
        sv_id = "eppd-test"
        [tls]
        cert_chain = "{}"
        key = "{}"
        client_ca = "{}"
        [database]
        url = "{}"
        max_connections = 5
        [timeouts]
        handshake_ms = 2000
        frame_ms = 300
        idle_ms = 5000
        shutdown_grace_ms = 3000
        suspension_poll_ms = 100
        [limits]
        max_connections = 64
        max_frame_len = 65536
        password_workers = 2
        # The clock of most tests stands still, so a bucket would never refill: rate limits
        # are off unless a test turns them on (tests/availability.rs).
        registrar_check_per_second = 0
        registrar_transform_per_second = 0
        session_check_per_second = 0
        session_transform_per_second = 0
        "#,
        pki.cert_chain.display(),
        pki.key.display(),
        pki.client_ca.display(),
        db_url
    );
    Config::from_toml(&text).expect("test config")
}

/// One running server.
pub struct Frontend {
    pub addr: SocketAddr,
    /// What the server counts into (`metrics.render()` is the text a scraper gets).
    pub metrics: Arc<eppd::Metrics>,
    pub shutdown: Shutdown,
    pub task: JoinHandle<Result<(), ServerError>>,
    /// Becomes true when `run` has returned.
    pub done: tokio::sync::watch::Receiver<bool>,
}

impl Frontend {
    pub async fn start(
        config: Config,
        db: Db,
        handler: Arc<dyn CommandHandler>,
        clock: Arc<dyn Clock>,
    ) -> Frontend {
        let metrics = Arc::new(eppd::Metrics::new());
        let server = Server::bind_with_metrics(config, db, handler, clock, Arc::clone(&metrics))
            .await
            .expect("bind server");
        let addr = server.local_addrs()[0];
        let shutdown = Shutdown::new();
        let (done_tx, done) = tokio::sync::watch::channel(false);
        let sd = shutdown.clone();
        let task = tokio::spawn(async move {
            let r = server.run(sd).await;
            done_tx.send_replace(true);
            r
        });
        Frontend {
            addr,
            metrics,
            shutdown,
            task,
            done,
        }
    }

    /// Triggers shutdown and waits (bounded) for the server to return.
    pub async fn stop(self) -> Result<(), ServerError> {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server stops within 10 s")
            .expect("server task")
    }
}

/// Everything a test needs.
pub struct Env {
    pub backend: Backend,
    pub db: Db,
    pub db_url: String,
    pub pki: Arc<Pki>,
    pub clock: ManualClock,
    pub config: Config,
    pub server: Option<Frontend>,
    pub addr: SocketAddr,
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// Creates a database and a server (configured by `tweak`, answering object commands with
/// `handler`), runs `body`, then stops the server and removes the database even when `body`
/// panics (the panic is then re-raised).
pub async fn run_with<T, F, Fut>(
    backend: Backend,
    tweak: T,
    handler: Arc<dyn CommandHandler>,
    body: F,
) where
    T: FnOnce(&mut Config),
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    init_tracing();
    let test_db = TestDb::create(&backend).await;
    let pki = Arc::new(Pki::new());
    let mut config = test_config(&pki, &test_db.url);
    tweak(&mut config);
    let clock = ManualClock::new(chrono::Utc::now());
    let server = Frontend::start(
        config.clone(),
        test_db.db.clone(),
        handler,
        Arc::new(clock.clone()),
    )
    .await;
    let shutdown = server.shutdown.clone();
    let mut done = server.done.clone();
    let env = Env {
        backend,
        db: test_db.db.clone(),
        db_url: test_db.url.clone(),
        pki,
        clock,
        config,
        addr: server.addr,
        server: Some(server),
    };
    let outcome = tokio::spawn(body(env)).await;
    shutdown.trigger();
    let _ = tokio::time::timeout(Duration::from_secs(10), done.wait_for(|d| *d)).await;
    test_db.remove().await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test body failed: {e}");
    }
}

/// [`run_with`] with the 2101 placeholder handler.
pub async fn run<T, F, Fut>(backend: Backend, tweak: T, body: F)
where
    T: FnOnce(&mut Config),
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_with(backend, tweak, Arc::new(UnimplementedHandler), body).await
}

/// What a registrar fixture looks like.
pub struct RegistrarSpec<'a> {
    pub cl_id: &'a str,
    pub password: &'a str,
    pub certs: Vec<CertFingerprint>,
    pub networks: Vec<&'a str>,
    pub max_sessions: u32,
}

impl Env {
    pub async fn add_registrar(&self, spec: RegistrarSpec<'_>) {
        let hash = eppd::password::hash_password(spec.password).expect("hash");
        let r = Registrar::new(
            ClientId::new(spec.cl_id).expect("clID"),
            &format!("Registrar {}", spec.cl_id),
            RegistrarStatus::Active,
            hash,
            spec.certs,
            spec.networks
                .iter()
                .map(|n| parse_network(n).expect("network"))
                .collect(),
            spec.max_sessions,
        )
        .expect("registrar");
        self.db
            .insert_registrar(&r, self.clock.now())
            .await
            .expect("insert registrar");
    }

    /// A registrar `cl_id` with password `pw`, one fresh pinned certificate (returned), allowed
    /// from 127.0.0.1 only, 4 sessions.
    pub async fn simple_registrar(&self, cl_id: &str, pw: &str) -> Identity {
        let id = self.pki.client(cl_id);
        self.add_registrar(RegistrarSpec {
            cl_id,
            password: pw,
            certs: vec![id.fingerprint],
            networks: vec!["127.0.0.1/32"],
            max_sessions: 4,
        })
        .await;
        id
    }

    pub async fn connect(
        &self,
        from: IpAddr,
        identity: Option<&Identity>,
    ) -> std::io::Result<Client> {
        Client::connect(self.addr, from, &self.pki, identity).await
    }

    /// Connects from 127.0.0.1, reads the greeting and logs in (asserting 1000).
    pub async fn logged_in(&self, identity: &Identity, cl_id: &str, pw: &str) -> Client {
        let mut c = self.connect(LOCAL, Some(identity)).await.expect("connect");
        let r = c.login(cl_id, pw).await.expect("login answer");
        assert_eq!(r.code, 1000, "login of {cl_id} failed: {r:?}");
        c
    }

    pub fn clock_now(&self) -> epp_proto::Timestamp {
        self.clock.now()
    }

    pub async fn audit(&self) -> Vec<LoginAuditEntry> {
        self.db.login_audit(1000).await.expect("audit")
    }

    /// The running server's metrics text (OpenMetrics).
    pub fn metrics_text(&self) -> String {
        self.server
            .as_ref()
            .expect("server still there")
            .metrics
            .render()
    }

    /// The value of one sample line of the metrics text (`name{labels}`), 0 when absent.
    pub fn metric(&self, sample: &str) -> f64 {
        self.metrics_text()
            .lines()
            .find_map(|l| {
                l.strip_prefix(sample)
                    .and_then(|rest| rest.strip_prefix(' '))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0.0)
    }

    pub fn take_server(&mut self) -> Frontend {
        self.server.take().expect("server still there")
    }
}

// ---------------------------------------------------------------------------------------------
// Client

/// A response as read off the wire (parsed textually, independent of the response decoder).
#[derive(Debug, Clone)]
pub struct Answer {
    pub xml: String,
    pub code: u16,
    pub msg: String,
    pub cl_trid: Option<String>,
    pub sv_trid: Option<String>,
}

impl Answer {
    pub fn parse(xml: String) -> Answer {
        let code = attr_of(&xml, "result", "code")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let msg = element_text(&xml, "msg").unwrap_or_default();
        let cl_trid = element_text(&xml, "clTRID");
        let sv_trid = element_text(&xml, "svTRID");
        Answer {
            xml,
            code,
            msg,
            cl_trid,
            sv_trid,
        }
    }

    pub fn is_greeting(&self) -> bool {
        find_tag(&self.xml, "greeting").is_some()
    }
}

/// Finds `<name` or `<prefix:name` and returns the index just after the name.
fn find_tag(xml: &str, local: &str) -> Option<usize> {
    let bytes = xml.as_bytes();
    let mut i = 0;
    while let Some(off) = xml[i..].find('<') {
        let start = i + off + 1;
        let end = xml[start..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .map_or(xml.len(), |e| start + e);
        let name = &xml[start..end];
        let name = name.rsplit_once(':').map_or(name, |(_, n)| n);
        if name == local && bytes.get(start).is_some_and(|b| *b != b'/') {
            return Some(end);
        }
        i = start;
    }
    None
}

/// The text of the first element named `local` (any prefix), entities of the five basics
/// decoded.
pub fn element_text(xml: &str, local: &str) -> Option<String> {
    let after = find_tag(xml, local)?;
    let open_end = after + xml[after..].find('>')?;
    if xml[..open_end].ends_with('/') {
        return Some(String::new());
    }
    let text_start = open_end + 1;
    let text_end = text_start + xml[text_start..].find('<')?;
    Some(
        xml[text_start..text_end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// All texts of elements named `local`.
pub fn element_texts(xml: &str, local: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(t) = element_text(rest, local) {
        out.push(t);
        let Some(at) = find_tag(rest, local) else {
            break;
        };
        rest = &rest[at..];
    }
    out
}

fn attr_of(xml: &str, element: &str, attr: &str) -> Option<String> {
    let after = find_tag(xml, element)?;
    let tag_end = after + xml[after..].find('>')?;
    let tag = &xml[after..tag_end];
    let key = format!("{attr}=");
    let at = tag.find(&key)? + key.len();
    let quote = tag[at..].chars().next()?;
    let rest = &tag[at + 1..];
    Some(rest[..rest.find(quote)?].to_owned())
}

pub struct Client {
    pub stream: TlsStream<TcpStream>,
    buf: Vec<u8>,
    trid: u32,
}

impl Client {
    /// Connects from `from` (bound before connecting), completes the TLS handshake and reads
    /// the greeting. With TLS 1.3 a refused client certificate shows up as a failed read of
    /// the greeting, so both are one step here.
    pub async fn connect(
        addr: SocketAddr,
        from: IpAddr,
        pki: &Pki,
        identity: Option<&Identity>,
    ) -> std::io::Result<Client> {
        let tcp = Self::tcp(addr, from).await?;
        Self::over(tcp, pki, identity).await
    }

    pub async fn tcp(addr: SocketAddr, from: IpAddr) -> std::io::Result<TcpStream> {
        let sock = TcpSocket::new_v4()?;
        sock.bind(SocketAddr::new(from, 0))?;
        sock.connect(addr).await
    }

    pub async fn over(
        tcp: TcpStream,
        pki: &Pki,
        identity: Option<&Identity>,
    ) -> std::io::Result<Client> {
        let name = ServerName::try_from("localhost").expect("server name");
        let stream = tokio::time::timeout(ANSWER, pki.connector(identity).connect(name, tcp))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "handshake timeout")
            })??;
        let mut c = Client {
            stream,
            buf: Vec::new(),
            trid: 0,
        };
        let greeting = c.recv().await?;
        if !greeting.is_greeting() {
            return Err(std::io::Error::other(format!(
                "expected a greeting, got {}",
                greeting.xml
            )));
        }
        Ok(c)
    }

    pub fn next_cl_trid(&mut self) -> String {
        self.trid += 1;
        format!("TEST-{:04}", self.trid)
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    pub async fn send(&mut self, xml: &str) -> std::io::Result<()> {
        let mut frame = Vec::with_capacity(xml.len() + 4);
        frame.extend_from_slice(&u32::try_from(xml.len() + 4).expect("len").to_be_bytes());
        frame.extend_from_slice(xml.as_bytes());
        self.send_raw(&frame).await
    }

    /// Reads one frame (bounded wait).
    pub async fn recv(&mut self) -> std::io::Result<Answer> {
        let read = epp_wire::framing::read_frame(&mut self.stream, 16 * 1024 * 1024, &mut self.buf);
        match tokio::time::timeout(ANSWER, read).await {
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no answer",
            )),
            Ok(Err(e)) => Err(std::io::Error::other(e.to_string())),
            Ok(Ok(())) => Ok(Answer::parse(
                String::from_utf8_lossy(&self.buf).into_owned(),
            )),
        }
    }

    pub async fn request(&mut self, xml: &str) -> std::io::Result<Answer> {
        self.send(xml).await?;
        self.recv().await
    }

    pub async fn hello(&mut self) -> std::io::Result<Answer> {
        self.request(&hello_xml()).await
    }

    pub async fn login(&mut self, cl_id: &str, pw: &str) -> std::io::Result<Answer> {
        let t = self.next_cl_trid();
        self.request(&login_xml(cl_id, pw, None, &t)).await
    }

    pub async fn login_new_pw(
        &mut self,
        cl_id: &str,
        pw: &str,
        new_pw: &str,
    ) -> std::io::Result<Answer> {
        let t = self.next_cl_trid();
        self.request(&login_xml(cl_id, pw, Some(new_pw), &t)).await
    }

    pub async fn logout(&mut self) -> std::io::Result<Answer> {
        let t = self.next_cl_trid();
        self.request(&command_xml("<logout/>", &t)).await
    }

    /// Whether the server has closed the connection (EOF or error, within the bound).
    pub async fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(ANSWER, self.stream.read(&mut byte)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

pub fn hello_xml() -> String {
    r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#.to_owned()
}

pub fn command_xml(inner: &str, cl_trid: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>{inner}<clTRID>{cl_trid}</clTRID></command></epp>"#
    )
}

pub struct LoginOptions<'a> {
    pub version: &'a str,
    pub lang: &'a str,
    pub obj_uris: Vec<&'a str>,
    pub ext_uris: Vec<&'a str>,
}

impl Default for LoginOptions<'_> {
    fn default() -> Self {
        Self {
            version: "1.0",
            lang: "en",
            obj_uris: vec![DOMAIN_NS, HOST_NS, CONTACT_NS],
            ext_uris: vec![SEC_DNS_NS, RGP_NS],
        }
    }
}

pub fn login_xml_with(
    cl_id: &str,
    pw: &str,
    new_pw: Option<&str>,
    o: &LoginOptions<'_>,
    cl_trid: &str,
) -> String {
    let new_pw = new_pw
        .map(|p| format!("<newPW>{p}</newPW>"))
        .unwrap_or_default();
    let objs: String = o
        .obj_uris
        .iter()
        .map(|u| format!("<objURI>{u}</objURI>"))
        .collect();
    let exts: String = o
        .ext_uris
        .iter()
        .map(|u| format!("<extURI>{u}</extURI>"))
        .collect();
    let exts = if exts.is_empty() {
        String::new()
    } else {
        format!("<svcExtension>{exts}</svcExtension>")
    };
    command_xml(
        &format!(
            "<login><clID>{cl_id}</clID><pw>{pw}</pw>{new_pw}<options><version>{}</version><lang>{}</lang></options>\
             <svcs>{objs}{exts}</svcs></login>",
            o.version, o.lang
        ),
        cl_trid,
    )
}

pub fn login_xml(cl_id: &str, pw: &str, new_pw: Option<&str>, cl_trid: &str) -> String {
    login_xml_with(cl_id, pw, new_pw, &LoginOptions::default(), cl_trid)
}

pub fn domain_check_xml(name: &str, cl_trid: &str) -> String {
    command_xml(
        &format!(
            r#"<check><domain:check xmlns:domain="{DOMAIN_NS}"><domain:name>{name}</domain:name></domain:check></check>"#
        ),
        cl_trid,
    )
}

/// Waits (bounded, polling) until `cond` holds.
pub async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + ANSWER;
    while tokio::time::Instant::now() < deadline {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}
