//! `echo-baseline`: the ceiling a TLS server on this machine can reach. A bare tokio-rustls
//! server (client certificates required, same kind of keys as the EPP server's) answers each
//! RFC 5734 frame with the same bytes (or a frame of `--reply-bytes`); the clients send frames
//! of exactly the size of the EPP `<hello/>` or `domain:check` frames and are driven and
//! measured exactly like the EPP scenarios. EPP hello throughput divided by this is a ratio
//! that holds on a noisy machine.
//!
//! With `--server-process` the echo server runs in a process of its own (this binary,
//! re-executed with the hidden `echo-serve` command), like the EPP server does: an in-process
//! server shares the client's runtime threads and skips the cross-process wake-ups every EPP
//! round trip pays, so it is the ceiling of a different setup.

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

use epp_client::ClientError;

use crate::conn::{client_config_der, server_config_der, ConnError, FrameConn};
use crate::frames::{Frames, Names};
use crate::run::{Driver, Worker};
use crate::schedule::{Plan, Rate};
use crate::stats::{Outcome, Progress, Report};

/// Key algorithm of the generated certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyAlg {
    /// ECDSA P-256 with SHA-256 (rcgen's default, what `eppd demo` is expected to generate).
    P256,
    /// ECDSA P-384 with SHA-384.
    P384,
    Ed25519,
}

impl KeyAlg {
    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeyAlg::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlg::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyAlg::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

/// A CA, a server certificate for `localhost`/127.0.0.1/::1 and a client certificate.
#[derive(Debug)]
pub struct Pki {
    pub ca: CertificateDer<'static>,
    pub server_cert: CertificateDer<'static>,
    pub server_key: PrivatePkcs8KeyDer<'static>,
    pub client_cert: CertificateDer<'static>,
    pub client_key: PrivatePkcs8KeyDer<'static>,
}

impl Pki {
    pub fn generate(alg: KeyAlg) -> Result<Pki, String> {
        let err = |e: rcgen::Error| format!("certificate generation: {e}");
        let ca_key = rcgen::KeyPair::generate_for(alg.rcgen()).map_err(err)?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "epp-load test CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca = ca_params.self_signed(&ca_key).map_err(err)?;

        let leaf = |names: Vec<String>,
                    cn: &str,
                    usage: rcgen::ExtendedKeyUsagePurpose|
         -> Result<_, String> {
            let key = rcgen::KeyPair::generate_for(alg.rcgen()).map_err(err)?;
            let mut p = rcgen::CertificateParams::new(names).map_err(err)?;
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
            p.extended_key_usages = vec![usage];
            let cert = p.signed_by(&key, &ca, &ca_key).map_err(err)?;
            Ok((
                cert.der().clone(),
                PrivatePkcs8KeyDer::from(key.serialize_der()),
            ))
        };
        let (server_cert, server_key) = leaf(
            vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            "localhost",
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        let (client_cert, client_key) = leaf(
            Vec::new(),
            "epp-load client",
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        Ok(Pki {
            ca: ca.der().clone(),
            server_cert,
            server_key,
            client_cert,
            client_key,
        })
    }

    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, ConnError> {
        server_config_der(
            vec![self.server_cert.clone()],
            PrivateKeyDer::Pkcs8(self.server_key.clone_key()),
            vec![self.ca.clone()],
        )
    }

    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, ConnError> {
        client_config_der(
            vec![self.client_cert.clone()],
            PrivateKeyDer::Pkcs8(self.client_key.clone_key()),
            vec![self.ca.clone()],
        )
    }
}

/// Largest frame the echo server accepts.
const ECHO_MAX_FRAME: u32 = 64 * 1024;
/// Most connections the echo server holds.
const ECHO_MAX_CONNECTIONS: usize = 20_000;
/// A connection idle this long is closed.
const ECHO_IDLE: Duration = Duration::from_secs(60);

/// The running echo server; stops when dropped or on [`EchoServer::stop`].
#[derive(Debug)]
pub struct EchoServer {
    pub addr: SocketAddr,
    stop: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl EchoServer {
    /// Listens on `127.0.0.1:0`. `reply_len`: answer with a frame of at least this many bytes
    /// (the request padded with spaces); 0 for a plain echo.
    pub async fn start(
        config: Arc<rustls::ServerConfig>,
        reply_len: usize,
    ) -> std::io::Result<EchoServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(Notify::new());
        let stopped = Arc::clone(&stop);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let task = tokio::spawn(async move {
            let gate = Arc::new(Semaphore::new(ECHO_MAX_CONNECTIONS));
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let accepted = tokio::select! {
                    _ = stopped.notified() => break,
                    a = listener.accept() => a,
                };
                while conns.try_join_next().is_some() {}
                let Ok((tcp, _)) = accepted else { continue };
                let Ok(permit) = Arc::clone(&gate).try_acquire_owned() else {
                    continue;
                };
                let acceptor = acceptor.clone();
                conns.spawn(async move {
                    let _permit = permit;
                    let _ = tcp.set_nodelay(true);
                    let Ok(Ok(mut tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let mut buf = Vec::with_capacity(4096);
                    loop {
                        match tokio::time::timeout(
                            ECHO_IDLE,
                            epp_wire::read_frame(&mut tls, ECHO_MAX_FRAME, &mut buf),
                        )
                        .await
                        {
                            Ok(Ok(())) => {}
                            _ => break,
                        }
                        if buf.len() < reply_len {
                            buf.resize(reply_len, b' ');
                        }
                        if epp_wire::write_frame(&mut tls, &buf).await.is_err() {
                            break;
                        }
                    }
                });
            }
            conns.abort_all();
        });
        Ok(EchoServer { addr, stop, task })
    }

    pub async fn stop(self) {
        self.stop.notify_one();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.task).await;
    }
}

/// Which EPP frame's size the clients send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EchoFrame {
    Hello,
    Check,
}

/// The bytes of a typical frame of that kind.
pub fn sample_frame(kind: EchoFrame) -> Result<Vec<u8>, String> {
    let frames = Frames::new(Names::new("abc123", "test")?)?;
    Ok(match kind {
        EchoFrame::Hello => frames.hello.clone(),
        EchoFrame::Check => {
            let mut out = Vec::new();
            frames.check.render(
                &[
                    &frames.names.free_domain(1_000_000),
                    &frames.names.cl_trid(1_000_000),
                ],
                &mut out,
            );
            out
        }
    })
}

#[derive(Debug)]
struct EchoWorker {
    conn: Option<FrameConn>,
    payload: Vec<u8>,
    expect: usize,
}

impl Worker for EchoWorker {
    fn prepare(&mut self, _n: u64) -> &'static str {
        "echo"
    }

    async fn call(&mut self) -> Outcome {
        let Some(conn) = self.conn.as_mut() else {
            return Outcome::Failed("closed");
        };
        match conn.exchange(&self.payload).await {
            Ok(a) if a.len() == self.expect => Outcome::Ok,
            Ok(_) => Outcome::Failed("protocol"),
            Err(e) => {
                self.conn = None;
                Outcome::Failed(e.kind())
            }
        }
    }

    fn alive(&self) -> bool {
        self.conn.is_some()
    }

    async fn finish(mut self) {
        if let Some(c) = self.conn.take() {
            c.shutdown().await;
        }
    }
}

/// Settings of an echo-baseline run.
#[derive(Debug, Clone)]
pub struct EchoRun {
    pub frame: EchoFrame,
    pub reply_bytes: usize,
    pub key_alg: KeyAlg,
    /// Run the server in a child process instead of in this one.
    pub server_process: bool,
    pub sessions: u32,
    pub warmup: Duration,
    pub duration: Duration,
    pub rate: Rate,
    pub count: Option<u64>,
    pub request_timeout: Duration,
    pub max_time: Duration,
    pub quiet: bool,
}

/// An echo server in a child process (see the module doc); stops when its stdin closes.
#[derive(Debug)]
struct ChildEcho {
    addr: SocketAddr,
    child: std::process::Child,
    dir: PathBuf,
}

const SERVER_CERT: &str = "server.der";
const SERVER_KEY: &str = "server.key.der";
const CA_CERT: &str = "ca.der";

impl ChildEcho {
    fn start(pki: &Pki, reply_bytes: usize) -> Result<ChildEcho, String> {
        let dir = std::env::temp_dir().join(format!("epp-load-echo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let write = |name: &str, der: &[u8]| {
            std::fs::write(dir.join(name), der).map_err(|e| format!("{name}: {e}"))
        };
        write(SERVER_CERT, pki.server_cert.as_ref())?;
        write(SERVER_KEY, pki.server_key.secret_pkcs8_der())?;
        write(CA_CERT, pki.ca.as_ref())?;
        let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
        let mut child = std::process::Command::new(exe)
            .arg("echo-serve")
            .arg("--dir")
            .arg(&dir)
            .arg("--reply-bytes")
            .arg(reply_bytes.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting the echo server process: {e}"))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.as_mut() {
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        match line.trim().parse() {
            Ok(addr) => Ok(ChildEcho { addr, child, dir }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&dir);
                Err(format!("echo server process did not start: {line:?}"))
            }
        }
    }

    fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The hidden `echo-serve` command: serves with the certificates in `dir` on 127.0.0.1:0,
/// prints the address on stdout, and stops when stdin closes.
pub async fn serve_child(dir: &Path, reply_bytes: usize) -> Result<(), String> {
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let config = server_config_der(
        vec![CertificateDer::from(read(SERVER_CERT)?)],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(read(SERVER_KEY)?)),
        vec![CertificateDer::from(read(CA_CERT)?)],
    )
    .map_err(|e| e.to_string())?;
    let server = EchoServer::start(config, reply_bytes)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout();
    writeln!(out, "{}", server.addr).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    let (closed, wait) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        let _ = closed.send(());
    });
    let _ = wait.await;
    server.stop().await;
    Ok(())
}

/// Starts the echo server, connects the sessions, runs the plan, stops the server.
pub async fn run_echo(run: EchoRun) -> Result<Report, ConnError> {
    let pki = Pki::generate(run.key_alg).map_err(ConnError::Settings)?;
    let (server, child) = if run.server_process {
        let child =
            ChildEcho::start(&pki, run.reply_bytes).map_err(|reason| ClientError::Connect {
                server: "127.0.0.1:0".into(),
                reason,
            })?;
        (None, Some(child))
    } else {
        let server = EchoServer::start(pki.server_config()?, run.reply_bytes)
            .await
            .map_err(|e| ClientError::Connect {
                server: "127.0.0.1:0".into(),
                reason: e.to_string(),
            })?;
        (Some(server), None)
    };
    let server_addr = match (&server, &child) {
        (Some(s), _) => s.addr,
        (_, Some(c)) => c.addr,
        (None, None) => unreachable!("one of the two was started"),
    };
    let client = pki.client_config()?;
    let payload = sample_frame(run.frame).map_err(ConnError::Settings)?;
    let expect = payload.len().max(run.reply_bytes);
    let addr = server_addr.to_string();
    let mut workers = Vec::new();
    for _ in 0..run.sessions {
        let conn = crate::conn::connect(
            &addr,
            "localhost",
            Arc::clone(&client),
            Duration::from_secs(10),
        )
        .await?;
        workers.push(EchoWorker {
            conn: Some(conn),
            payload: payload.clone(),
            expect,
        });
    }
    let plan = Plan {
        start: Instant::now() + Duration::from_millis(20),
        warmup: run.warmup,
        duration: run.duration,
        rate: run.rate,
        sessions: run.sessions,
        count: run.count,
    };
    let progress = Arc::new(Progress::default());
    let driver = Arc::new(Driver {
        plan,
        request_timeout: run.request_timeout,
        max_time: run.max_time,
        progress: Arc::clone(&progress),
    });
    if !run.quiet {
        progress.spawn_printer("echo".into(), plan.start, plan.warmup, run.max_time);
    }
    let result = driver.run_all(workers).await;
    progress
        .stop
        .store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(server) = server {
        server.stop().await;
    }
    if let Some(child) = child {
        let _ = tokio::task::spawn_blocking(move || child.stop()).await;
    }
    let scenario = match run.frame {
        EchoFrame::Hello => "echo-baseline (hello-sized)",
        EchoFrame::Check => "echo-baseline (check-sized)",
    };
    let mut report = result.into_report(scenario, &plan);
    report
        .info
        .insert("request_bytes".into(), payload.len().into());
    report.info.insert("reply_bytes".into(), expect.into());
    report
        .info
        .insert("server_process".into(), run.server_process.into());
    report
        .info
        .insert("key_alg".into(), format!("{:?}", run.key_alg).into());
    Ok(report)
}
