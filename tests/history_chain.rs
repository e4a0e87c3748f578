//! The history chain over real TLS (issue 13).
//!
//! - A failed EPP login (wrong password, unknown clID) leaves a login audit row, and the
//!   sequencer puts it in the one chain with the object history; an edit of it straight in
//!   the database is named (table and id). Both backends.
//! - Two `eppd serve` processes on one PostgreSQL database, under concurrent creates, updates
//!   and failed logins through both, each running its sequencer: the chain verifies, every
//!   history and audit row holds exactly one position, and the positions are 1..=N with no
//!   gap and no repeat (no fork).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/bins.rs"]
mod bins;
mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use epp_proto::domain::{DomainCommand, DomainStatus};
use epp_proto::StatusEntry;
use epp_proto::{ClientId, Command};
use registry_core::history::{ChainBreak, ChainedTable};
use registry_core::registrar::{parse_network, Registrar, RegistrarStatus};
use registry_store::{chain, Db};
use support::core::*;
use support::*;

both_backends!(failed_logins_are_chained);

async fn sql(db: &Db, q: &str) -> Result<(), String> {
    match db {
        Db::Sqlite(p) => sqlx::query(q).execute(p).await.map(drop),
        Db::Postgres(p) => sqlx::query(q).execute(p).await.map(drop),
    }
    .map_err(|e| e.to_string())
}

async fn ints(db: &Db, q: &str) -> Vec<i64> {
    match db {
        Db::Sqlite(p) => sqlx::query_scalar(q).fetch_all(p).await,
        Db::Postgres(p) => sqlx::query_scalar(q).fetch_all(p).await,
    }
    .unwrap_or_else(|e| panic!("{q}: {e}"))
}

async fn sequence_all(db: &Db) {
    loop {
        let r = chain::sequence(db, 1000, chrono::Utc::now() - chrono::Duration::days(1))
            .await
            .unwrap();
        if r.chained == 0 {
            return;
        }
    }
}

async fn failed_logins_are_chained(backend: Backend) {
    run(
        backend,
        |c| c.lockout.max_failures = 1000,
        |env| async move {
            let id = env.simple_registrar("reg-a", "right-pw-1").await;
            let mut c = env.connect(LOCAL, Some(&id)).await.unwrap();
            assert_eq!(c.login("reg-a", "wrong-pw-1").await.unwrap().code, 2200);
            assert_eq!(c.login("nobody", "wrong-pw-1").await.unwrap().code, 2200);
            assert_eq!(c.login("reg-a", "right-pw-1").await.unwrap().code, 1000);
            sequence_all(&env.db).await;
            let r = chain::verify(&env.db, None).await.unwrap();
            assert_eq!(r.problem, None);
            assert_eq!(r.unchained, 0);
            let failed = ints(
                &env.db,
                "SELECT chain_seq FROM login_audit WHERE outcome = 'failure' ORDER BY id",
            )
            .await;
            assert_eq!(failed.len(), 2, "both failures are in the audit");
            let ok = ints(
                &env.db,
                "SELECT chain_seq FROM login_audit WHERE outcome = 'success'",
            )
            .await;
            assert_eq!(ok.len(), 1);
            // The walls refuse the intruder's edit; once dropped, the edit is named.
            let forge =
                "UPDATE login_audit SET outcome = 'success', reason = '' WHERE outcome = 'failure'";
            assert!(sql(&env.db, forge).await.is_err(), "the trigger refuses");
            let drop_wall = match &env.db {
                Db::Sqlite(_) => "DROP TRIGGER login_audit_no_update",
                Db::Postgres(_) => "DROP TRIGGER login_audit_append_only ON login_audit",
            };
            sql(&env.db, drop_wall).await.unwrap();
            sql(&env.db, forge).await.unwrap();
            let ids = ints(&env.db, "SELECT id FROM login_audit ORDER BY chain_seq").await;
            let r = chain::verify(&env.db, None).await.unwrap();
            assert_eq!(
                r.problem,
                Some(ChainBreak::Edited {
                    table: ChainedTable::LoginAudit,
                    id: ids[0],
                    position: failed[0],
                })
            );
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Two eppd processes

const FRONTENDS: usize = 2;
/// Sessions per frontend (one per registrar).
const REGISTRARS: usize = 2;
/// Domains each session creates (and then updates twice); every tenth create is followed by
/// a failed login on a new connection.
const PER_SESSION: usize = 25;

fn write_config(dir: &Path, n: usize, pki: &Pki, db_url: &str, port: u16, metrics: u16) -> PathBuf {
    let text = format!(
        r#"
[server]
listen = ["127.0.0.1:{port}"]
sv_id = "eppd-chain-{n}"
[tls]
cert_chain = "{}"
key = "{}"
client_ca = "{}"
[database]
url = "{db_url}"
max_connections = 5
[timeouts]
handshake_ms = 10000
frame_ms = 5000
idle_ms = 60000
shutdown_grace_ms = 3000
suspension_poll_ms = 500
[limits]
max_connections = 64
max_frame_len = 65536
password_workers = 2
[lockout]
max_failures = 1000
[metrics]
listen = "127.0.0.1:{metrics}"
[history]
sequence_interval_ms = 20
"#,
        pki.cert_chain.display(),
        pki.key.display(),
        pki.client_ca.display(),
    );
    eppd::Config::from_toml(&text).expect("chain test config");
    let path = dir.join(format!("eppd-{n}.toml"));
    std::fs::write(&path, text).expect("write config");
    path
}

struct Child {
    child: tokio::process::Child,
    addr: SocketAddr,
    metrics: SocketAddr,
    log: PathBuf,
}

async fn start(bin: &Path, config: &Path, port: u16, metrics: u16, log: &Path) -> Child {
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
    let metrics: SocketAddr = format!("127.0.0.1:{metrics}").parse().unwrap();
    let mut c = Child {
        child,
        addr,
        metrics,
        log: log.to_owned(),
    };
    bins::wait_listening(&mut c.child, addr, log, Duration::from_secs(30)).await;
    c
}

/// The position of the chain's head as the frontend's sequencer last saw it (its metric).
async fn chain_position(metrics: SocketAddr) -> Option<i64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(metrics).await.ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).await.ok()?;
    body.lines()
        .find(|l| l.starts_with("eppd_history_chain_position "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as i64)
}

fn update(name: &str, add: bool) -> Command {
    let mut u = domain_update(name);
    let s = vec![StatusEntry::new(DomainStatus::ClientHold)];
    if add {
        u.add.statuses = s;
    } else {
        u.rem.statuses = s;
    }
    Command::Domain(DomainCommand::Update(u))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_eppd_processes_on_one_postgresql_never_fork_the_chain() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    init_tracing();
    let bin = bins::eppd();
    let test_db = TestDb::create(&backend).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = Pki::new();
    let frames = Frames::default();

    let mut regs = Vec::new();
    for r in 0..REGISTRARS {
        let cl_id = format!("chain-{r}");
        let identity = Arc::new(pki.client(&cl_id));
        let reg = Registrar::new(
            ClientId::new(&cl_id).unwrap(),
            &format!("Registrar {cl_id}"),
            RegistrarStatus::Active,
            eppd::password::hash_password(PW).expect("hash"),
            vec![identity.fingerprint],
            vec![parse_network("127.0.0.1/32").unwrap()],
            8,
        )
        .expect("registrar");
        test_db
            .db
            .insert_registrar(&reg, chrono::Utc::now())
            .await
            .expect("insert registrar");
        regs.push(Reg { cl_id, identity });
    }

    // Two frontends, each connected as the frontends' least-privileged role.
    let mut children = Vec::new();
    for n in 0..FRONTENDS {
        let (port, metrics) = (bins::free_port(), bins::free_port());
        let config = write_config(dir.path(), n, &pki, &test_db.url, port, metrics);
        let log = dir.path().join(format!("eppd-{n}.log"));
        children.push(start(&bin, &config, port, metrics, &log).await);
    }
    let addrs: Vec<SocketAddr> = children.iter().map(|c| c.addr).collect();

    // Each registrar's contact, through the first frontend.
    for reg in &regs {
        let client = Client::connect(addrs[0], LOCAL, &pki, Some(&reg.identity))
            .await
            .expect("connect");
        let mut s = Session::login(client, reg, &[], frames.clone()).await;
        s.cmd(contact_create(&format!("{}-c", reg.cl_id), "contact-pw"))
            .await
            .ok();
        s.logout().await;
    }

    // The load: every registrar has a session on every frontend, all at once; each creates
    // its domains, then updates each twice, with failed logins in between on new
    // connections.
    let pki = Arc::new(pki);
    let mut running = Vec::new();
    for (f, addr) in addrs.iter().copied().enumerate() {
        for reg in &regs {
            let (reg, pki, frames) = (reg.clone(), Arc::clone(&pki), frames.clone());
            let identity = reg.identity.clone();
            running.push(tokio::spawn(async move {
                let client = Client::connect(addr, LOCAL, &pki, Some(&identity))
                    .await
                    .expect("connect");
                let mut s = Session::login(client, &reg, &[], frames).await;
                let contact = format!("{}-c", reg.cl_id);
                let names: Vec<String> = (0..PER_SESSION)
                    .map(|k| format!("{}-f{f}-{k}.test", reg.cl_id))
                    .collect();
                let mut ok = 0usize;
                for (k, name) in names.iter().enumerate() {
                    s.cmd(domain_create(name, &contact, &[], "domain-pw-1"))
                        .await
                        .ok();
                    ok += 1;
                    if k % 10 == 0 {
                        let mut bad = Client::connect(addr, LOCAL, &pki, Some(&identity))
                            .await
                            .expect("connect");
                        let a = bad.login(&reg.cl_id, "wrong-pw-1").await.expect("answer");
                        assert_eq!(a.code, 2200);
                    }
                }
                for add in [true, false] {
                    for name in &names {
                        s.cmd(update(name, add)).await.ok();
                        ok += 1;
                    }
                }
                s.logout().await;
                ok
            }));
        }
    }
    let mut commands = 0;
    for t in running {
        commands += t.await.expect("session task");
    }
    assert_eq!(commands, FRONTENDS * REGISTRARS * PER_SESSION * 3);

    // Both sequencers chain what was written; wait (bounded) until nothing is left, then
    // stop both frontends.
    let mut left = u64::MAX;
    for _ in 0..600 {
        left = chain::verify(&test_db.db, None)
            .await
            .expect("verify")
            .unchained;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "the frontends' sequencers chained every row");
    let mut positions = Vec::new();
    for c in &children {
        positions.push(chain_position(c.metrics).await);
    }
    for mut c in children {
        let _ = c.child.start_kill();
        let _ = c.child.wait().await;
        let log = std::fs::read_to_string(&c.log).unwrap_or_default();
        assert!(
            !log.contains("chained twice"),
            "a sequencer saw a row chained twice:\n{log}"
        );
    }
    assert!(
        positions.iter().all(|p| p.is_some_and(|p| p > 0)),
        "both sequencers ran: {positions:?}"
    );

    // No fork: the chain verifies, and the positions of both tables are exactly 1..=N.
    let db = &test_db.db;
    let r = chain::verify(db, None).await.expect("verify");
    assert_eq!(r.problem, None);
    let mut all = ints(
        db,
        "SELECT chain_seq FROM object_history UNION ALL SELECT chain_seq FROM login_audit",
    )
    .await;
    all.sort_unstable();
    let n = all.len() as i64;
    assert_eq!(all, (1..=n).collect::<Vec<_>>(), "one position per row");
    assert_eq!(r.rows as i64, n);
    let history = ints(db, "SELECT COUNT(*) FROM object_history").await[0];
    // Contacts, then each command of the load, each one history row.
    assert_eq!(history as usize, REGISTRARS + commands);
    let failed = ints(
        db,
        "SELECT COUNT(*) FROM login_audit WHERE outcome = 'failure' AND chain_seq IS NOT NULL",
    )
    .await[0];
    let per_session = PER_SESSION.div_ceil(10);
    assert_eq!(failed as usize, FRONTENDS * REGISTRARS * per_session);
    test_db.remove().await;
}
