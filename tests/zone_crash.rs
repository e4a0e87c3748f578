//! Issue #6 crash safety with a real process kill: the `zonegen publish` program runs as a
//! child process against Knot and the registry database; it is SIGKILLed in the middle of a
//! batch (after it has sent a few of the batch's UPDATEs), restarted, and the zone Knot then
//! serves must equal a fresh full generation from the database (nothing lost, nothing
//! applied twice), with the stored journal position at the journal's head.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::core::*;
use support::*;
use zonegen::dns::DnsClient;
use zonegen::harness::{free_port, require_tools, Knot};
use zonegen::source::DelegationSource;
use zonegen::source_db::DbSource;
use zonegen::store::{PublisherStore, SqlStore};
use zonegen::zone::diff_nodes;
use zonegen::{zone_contents, ApexConfig, DnsName};

/// Domains created while the publisher is stopped: one batch of that many UPDATEs.
const BATCH: usize = 120;
/// UPDATEs of the batch Knot must have applied before the kill.
const KILL_AFTER: usize = 5;

fn n(s: &str) -> DnsName {
    DnsName::new(s).expect("name")
}

fn apex() -> ApexConfig {
    ApexConfig {
        origin: n("test"),
        mname: n("ns1.nic.example"),
        rname: n("hostmaster.nic.example"),
        refresh: 1800,
        retry: 900,
        expire: 604_800,
        minimum: 3600,
        ttl: 3600,
        apex_ns: vec![n("ns1.nic.example")],
        apex_glue: Default::default(),
    }
}

/// The zonegen program as a child process; SIGKILLed on drop.
struct Publisher {
    child: Child,
}

impl Publisher {
    fn spawn(config: &Path, secret: &str, log: &Path) -> Publisher {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_zonegen-under-test"))
            .arg("publish")
            .arg("--config")
            .arg(config)
            .env("ZONEGEN_TEST_TSIG_SECRET", secret)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn zonegen");
        Publisher { child }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    fn sigkill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    fn assert_running(&mut self, log: &Path) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "zonegen exited with {status}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        // A stopped process must be continued to die promptly on some systems.
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `zonegen_journal_position` from the child's metrics endpoint.
async fn metrics_position(addr: std::net::SocketAddr) -> Option<i64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .ok()?;
    let mut page = String::new();
    s.read_to_string(&mut page).await.ok()?;
    page.lines()
        .find(|l| l.starts_with("zonegen_journal_position{"))?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

async fn journal_head(db: &registry_store::Db) -> i64 {
    DbSource::from_db(db)
        .snapshot()
        .await
        .expect("snapshot")
        .position
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_killed_mid_batch_then_restarted() {
    if !require_tools(
        "publisher_killed_mid_batch_then_restarted",
        &["knotd", "knotc"],
    ) {
        return;
    }
    run_core(
        Backend::Sqlite,
        |_, _| {},
        |env| async move {
            let knot = Knot::start(&n("test"), |_| Ok(()), None).expect("knot");
            let dir = tempfile::tempdir().expect("dir");
            let metrics = std::net::SocketAddr::from(([127, 0, 0, 1], free_port().expect("port")));
            let config = dir.path().join("zonegen.toml");
            let reload: Vec<String> = knot
                .reload_command()
                .iter()
                .map(|a| format!("{a:?}"))
                .collect();
            // max_update_bytes = 1: every delegation is an UPDATE of its own, so one batch of
            // BATCH domains is BATCH UPDATEs.
            std::fs::write(
                &config,
                format!(
                    "[database]\nurl = {url:?}\nmax_connections = 2\n\
                 [apex]\norigin = \"test\"\nmname = \"ns1.nic.example\"\n\
                 rname = \"hostmaster.nic.example\"\nttl = 3600\nminimum = 3600\n\
                 apex_ns = [\"ns1.nic.example\"]\n\
                 [primary]\naddress = \"{addr}\"\nzone_file = {file:?}\n\
                 reload_command = [{reload}]\n\
                 [primary.tsig]\nname = \"zonegen-test-key\"\n\
                 secret_env = \"ZONEGEN_TEST_TSIG_SECRET\"\n\
                 [publish]\npoll_interval_ms = 20\nmax_update_bytes = 1\n\
                 reconcile_interval_secs = 0\ndns_timeout_secs = 5\nreload_timeout_secs = 20\n\
                 [metrics]\nlisten = \"{metrics}\"\n",
                    url = env.db_url,
                    addr = knot.addr(),
                    file = knot.zone_file.display().to_string(),
                    reload = reload.join(", "),
                ),
            )
            .expect("config");
            let log = dir.path().join("zonegen.log");
            let secret = knot.secret.expose().to_owned();
            let mut publisher = Publisher::spawn(&config, &secret, &log);
            let dns = DnsClient::new(knot.addr(), None, Duration::from_secs(5));

            let (_, mut s) = env.new_session("crash-reg").await;
            s.cmd(contact_create("crash-c1", "contact-pw")).await.ok();
            s.cmd(host_create("ns.provider.example", &[])).await.ok();
            s.cmd(domain_create(
                "first.test",
                "crash-c1",
                &["ns.provider.example"],
                "dom-pw-1",
            ))
            .await
            .ok();
            // Wait until the child published everything (so it is idle, writing nothing).
            let head = journal_head(&env.db).await;
            let deadline = Instant::now() + Duration::from_secs(30);
            while metrics_position(metrics).await != Some(head) {
                publisher.assert_running(&log);
                assert!(Instant::now() < deadline, "zonegen never caught up");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(!dns
                .referral(&n("first.test"))
                .await
                .expect("q")
                .ns
                .is_empty());

            // Stop it, queue one big batch, let it go, and kill it after KILL_AFTER UPDATEs.
            publisher.signal("STOP");
            for i in 0..BATCH {
                s.cmd(domain_create(
                    &format!("d{i:03}.test"),
                    "crash-c1",
                    &["ns.provider.example"],
                    "dom-pw-1",
                ))
                .await
                .ok();
            }
            let serial0 = dns
                .soa_serial(&n("test"))
                .await
                .expect("soa")
                .expect("served");
            publisher.signal("CONT");
            let mut seen = vec![serial0];
            let deadline = Instant::now() + Duration::from_secs(30);
            while seen.len() <= KILL_AFTER {
                let s = dns
                    .soa_serial(&n("test"))
                    .await
                    .expect("soa")
                    .expect("served");
                if seen.last() != Some(&s) {
                    seen.push(s);
                }
                assert!(
                    Instant::now() < deadline,
                    "the batch never started: {seen:?}"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            publisher.sigkill();
            let served = dns.axfr(&n("test"), 100_000).await.expect("axfr");
            let delegated = served.nodes.values().filter(|v| !v.ns.is_empty()).count();
            assert!(
                delegated > 1 && delegated < BATCH + 1,
                "not killed mid-batch: {delegated} of {} delegations served",
                BATCH + 1
            );

            // Restart: the served zone must become exactly a fresh generation from the DB.
            let mut publisher = Publisher::spawn(&config, &secret, &log);
            let snap = DbSource::from_db(&env.db)
                .snapshot()
                .await
                .expect("snapshot");
            let (fresh, warnings) = zone_contents(&apex(), &snap.domains, &snap.hosts);
            assert!(warnings.is_empty(), "{warnings:?}");
            assert_eq!(fresh.delegation_count(), BATCH + 1);
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                publisher.assert_running(&log);
                let served = dns.axfr(&n("test"), 100_000).await.expect("axfr");
                let diff = diff_nodes(&served.nodes, &fresh.nodes);
                if diff.is_empty() && served.unexpected.is_empty() {
                    assert_eq!(served.apex_ns, vec![n("ns1.nic.example")]);
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "served zone never matched the database: {} owners differ, e.g. {:?}\n{}",
                    diff.len(),
                    diff.first(),
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let state = SqlStore::from_db(&env.db)
                    .load("test")
                    .await
                    .expect("state");
                if state.map(|st| st.position) == Some(snap.position) {
                    let served = dns.soa_serial(&n("test")).await.expect("soa");
                    assert_eq!(served, state.map(|st| st.serial), "stored serial is served");
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "stored position never reached the head"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // No full reload was needed after the kill: UPDATEs only, all conditional.
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            assert_eq!(
                log_text.matches("full reload done").count(),
                1,
                "only the first start reloads:\n{log_text}"
            );
            s.logout().await;
            drop(publisher);
            drop(knot);
        },
    )
    .await;
}
