//! Crash safety of the real binary: `eppd serve` on a SQLite file, a create storm from several
//! sessions, SIGKILL mid-storm, restart on the same file, then check that every create that
//! was answered 1000 is there, and that no name is half there: for every name tried, the
//! domain row exists ⇔ its history row exists ⇔ its delegation journal row exists.
//!
//! The binary is `target/<profile>/eppd`, next to the test executable's directory; the test
//! runs `cargo build -p eppd --bin eppd` first (through `$CARGO`) so it is never stale.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/bins.rs"]
mod bins;
mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use epp_proto::ClientId;
use registry_core::registrar::{parse_network, Registrar, RegistrarStatus};
use registry_store::Db;
use support::core::*;
use support::*;

const SESSIONS: usize = 4;
const PER_SESSION: usize = 200;
/// Kill once this many creates have been answered.
const KILL_AFTER: usize = 60;

fn write_config(dir: &Path, pki: &Pki, db_url: &str, port: u16) -> PathBuf {
    let text = format!(
        r#"
[server]
listen = ["127.0.0.1:{port}"]
sv_id = "eppd-crash"
[tls]
cert_chain = "{}"
key = "{}"
client_ca = "{}"
[database]
url = "{db_url}"
max_connections = 5
[timeouts]
handshake_ms = 5000
frame_ms = 2000
idle_ms = 30000
shutdown_grace_ms = 3000
suspension_poll_ms = 100
[limits]
max_connections = 64
max_frame_len = 65536
password_workers = 2
# The storm is about durability, not throttling.
registrar_transform_per_second = 0
session_transform_per_second = 0
"#,
        pki.cert_chain.display(),
        pki.key.display(),
        pki.client_ca.display(),
    );
    // The same text must parse as the library parses it.
    eppd::Config::from_toml(&text).expect("crash test config");
    let path = dir.join("eppd.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// A running `eppd serve` child.
struct Child {
    child: tokio::process::Child,
    addr: SocketAddr,
}

async fn start(bin: &Path, config: &Path, port: u16, log: &Path) -> Child {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = tokio::process::Command::new(bin)
        .arg("serve")
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .expect("spawn eppd");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut c = Child { child, addr };
    bins::wait_listening(&mut c.child, addr, log, Duration::from_secs(15)).await;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_storm_loses_nothing_acknowledged() {
    init_tracing();
    let bin = bins::eppd();
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!("sqlite:{}", dir.path().join("registry.db").display());
    let pki = Pki::new();
    let port = bins::free_port();
    let config = write_config(dir.path(), &pki, &db_url, port);

    // The registrar, inserted with the registrar store before the server starts.
    let identity = Arc::new(pki.client("crash-a"));
    {
        let db = Db::connect(&db_url, 1).await.expect("open SQLite");
        let r = Registrar::new(
            ClientId::new("crash-a").unwrap(),
            "Registrar crash-a",
            RegistrarStatus::Active,
            eppd::password::hash_password(PW).expect("hash"),
            vec![identity.fingerprint],
            vec![parse_network("127.0.0.1/32").unwrap()],
            SESSIONS as u32 + 2,
        )
        .expect("registrar");
        db.insert_registrar(&r, chrono::Utc::now())
            .await
            .expect("insert registrar");
        db.close().await;
    }
    let reg = Reg {
        cl_id: "crash-a".into(),
        identity: identity.clone(),
    };
    let frames = Frames::default();

    let mut server = start(&bin, &config, port, &dir.path().join("eppd-1.log")).await;
    let mut setup = Session::login(
        Client::connect(server.addr, LOCAL, &pki, Some(&identity))
            .await
            .expect("connect"),
        &reg,
        &[],
        frames.clone(),
    )
    .await;
    setup
        .cmd(contact_create("crash-c", "contact-pw"))
        .await
        .expect(1000);
    setup
        .cmd(host_create("ns1.example.net", &[]))
        .await
        .expect(1000);

    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        let client = Client::connect(server.addr, LOCAL, &pki, Some(&identity))
            .await
            .expect("connect");
        sessions.push(Session::login(client, &reg, &[], frames.clone()).await);
    }
    let answered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (i, mut s) in sessions.into_iter().enumerate() {
        let answered = answered.clone();
        tasks.push(tokio::spawn(async move {
            // (name, Some(code) when answered)
            let mut out: Vec<(String, Option<u16>)> = Vec::new();
            for k in 0..PER_SESSION {
                let name = format!("crash{i}x{k:03}.test");
                let cmd = domain_create(&name, "crash-c", &["ns1.example.net"], "dom-pw-1");
                let frame = epp_proto::Frame::Command(epp_proto::CommandFrame {
                    command: cmd,
                    extensions: Vec::new(),
                    cl_trid: Some(epp_proto::ClTrid::new(&format!("crash-{i}-{k}")).unwrap()),
                });
                let xml = epp_wire::encode(&frame);
                match s.client.request(&xml).await {
                    Ok(a) => {
                        answered.fetch_add(1, Ordering::SeqCst);
                        out.push((name, Some(a.code)));
                    }
                    Err(_) => {
                        // Killed: this one may or may not have committed; nothing after it
                        // was sent.
                        out.push((name, None));
                        break;
                    }
                }
            }
            out
        }));
    }
    // SIGKILL mid-storm.
    for _ in 0..6000 {
        if answered.load(Ordering::SeqCst) >= KILL_AFTER {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        answered.load(Ordering::SeqCst) >= KILL_AFTER,
        "the storm did not get going"
    );
    server.child.start_kill().expect("SIGKILL");
    let status = tokio::time::timeout(Duration::from_secs(10), server.child.wait())
        .await
        .expect("eppd dies")
        .expect("wait");
    assert!(!status.success(), "killed, not exited: {status}");

    let mut tried: BTreeMap<String, Option<u16>> = BTreeMap::new();
    for t in tasks {
        for (name, code) in tokio::time::timeout(Duration::from_secs(30), t)
            .await
            .expect("sessions end after the kill")
            .expect("task")
        {
            tried.insert(name, code);
        }
    }
    let acked: Vec<&String> = tried
        .iter()
        .filter(|(_, c)| **c == Some(1000))
        .map(|(n, _)| n)
        .collect();
    assert!(acked.len() >= KILL_AFTER, "{} acknowledged", acked.len());
    assert!(
        tried.values().all(|c| matches!(c, None | Some(1000))),
        "every answered create of a fresh name succeeds: {:?}",
        tried
            .iter()
            .filter(|(_, c)| !matches!(c, None | Some(1000)))
            .collect::<Vec<_>>()
    );
    assert!(
        tried.len() < SESSIONS * PER_SESSION,
        "the kill came after the storm ended; raise PER_SESSION"
    );

    // Restart on the same file.
    server = start(&bin, &config, port, &dir.path().join("eppd-2.log")).await;
    let db = Db::connect(&db_url, 1).await.expect("reopen SQLite");
    let pool = match &db {
        Db::Sqlite(p) => p.clone(),
        Db::Postgres(_) => unreachable!(),
    };
    let count = |sql: &'static str, name: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(name)
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    };
    let mut half = Vec::new();
    let mut present = 0;
    for (name, code) in &tried {
        let d = count("SELECT COUNT(*) FROM domain WHERE name = $1", name.clone()).await;
        let h = count(
            "SELECT COUNT(*) FROM object_history WHERE object_type = 'domain' AND object_key = $1",
            name.clone(),
        )
        .await;
        let j = count(
            "SELECT COUNT(*) FROM zone_journal WHERE kind = 'domain' AND name = $1",
            name.clone(),
        )
        .await;
        if *code == Some(1000) {
            assert_eq!((d, h, j), (1, 1, 1), "{name} was acknowledged");
        }
        if !(d == h && h == j && d <= 1) {
            half.push((name.clone(), d, h, j));
        }
        present += d;
    }
    assert!(
        half.is_empty(),
        "half-there names (domain, history, journal): {half:?}"
    );
    // Nothing outside the names tried.
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM domain")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(total, present);

    // The restarted server serves what survived.
    let mut s = Session::login(
        Client::connect(server.addr, LOCAL, &pki, Some(&identity))
            .await
            .expect("connect after restart"),
        &reg,
        &[],
        frames.clone(),
    )
    .await;
    let first = acked[0].clone();
    let r = s.cmd(domain_info(&first, None)).await.ok();
    assert_eq!(r.domain_info().cl_id.as_str(), "crash-a");
    s.cmd(domain_create(&first, "crash-c", &[], "dom-pw-1"))
        .await
        .expect(2302);
    s.logout().await;
    db.close().await;
    server.child.start_kill().ok();
    let _ = tokio::time::timeout(Duration::from_secs(10), server.child.wait()).await;
    frames.validate();
}
