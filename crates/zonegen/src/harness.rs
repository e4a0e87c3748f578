//! Test and benchmark support: Knot (hidden primary) and NSD (secondary) on loopback ports,
//! each in its own temporary directory and killed on drop; the zone checkers.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::dns::TsigKey;
use crate::name::DnsName;

/// A test server could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0} did not come up: {1}")]
    NotReady(&'static str, String),
    #[error("TSIG key: {0}")]
    Key(#[from] crate::dns::DnsError),
}

/// Whether `tool` is on the PATH.
pub fn tool_available(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// For tests: true if every tool is there. A missing tool fails the test when `CI=true`,
/// else prints a skip line and returns false.
pub fn require_tools(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| !tool_available(t))
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: missing tools {missing:?} (apt-get install -y knot knot-dnsutils \
         knot-dnssecutils nsd bind9-utils bind9-dnsutils)"
    );
    eprintln!("SKIP {test}: missing tools {missing:?}");
    false
}

/// A loopback port free for both TCP and UDP (at the time of asking).
pub fn free_port() -> std::io::Result<u16> {
    for _ in 0..50 {
        let tcp = TcpListener::bind("127.0.0.1:0")?;
        let port = tcp.local_addr()?.port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(std::io::Error::other("no free port"))
}

/// Output of a zone checker.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub ok: bool,
    pub output: String,
    pub elapsed: Duration,
}

fn run_check(cmd: &mut Command) -> std::io::Result<CheckResult> {
    let t = Instant::now();
    let out = cmd.output()?;
    Ok(CheckResult {
        ok: out.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        elapsed: t.elapsed(),
    })
}

/// `kzonecheck -o ORIGIN FILE` (fails on missing glue).
pub fn kzonecheck(path: &Path, origin: &DnsName) -> std::io::Result<CheckResult> {
    run_check(
        Command::new("kzonecheck")
            .arg("-o")
            .arg(origin.to_string())
            .arg(path),
    )
}

/// `named-checkzone -i local ORIGIN FILE`.
pub fn named_checkzone(path: &Path, origin: &DnsName) -> std::io::Result<CheckResult> {
    run_check(
        Command::new("named-checkzone")
            .arg("-i")
            .arg("local")
            .arg(origin.to_string())
            .arg(path),
    )
}

fn wait_tcp(
    what: &'static str,
    addr: SocketAddr,
    child: &mut Child,
    log: &Path,
) -> Result<(), HarnessError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            return Err(HarnessError::NotReady(
                what,
                format!("exited {status}: {log}"),
            ));
        }
        if Instant::now() > deadline {
            return Err(HarnessError::NotReady(what, "timeout".into()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The name of the TSIG key the harness's Knot and NSD share (one key for UPDATE, transfers
/// and NOTIFY, as `zonegen.toml` does when `[secondaries.tsig]` is left out).
pub const TEST_KEY_NAME: &str = "zonegen-test-key";

/// A knotd on 127.0.0.1:`port` with its own config, storage and rundir in a temp dir.
#[derive(Debug)]
pub struct Knot {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
    /// The master file knotd loads the zone from.
    pub zone_file: PathBuf,
    pub key: TsigKey,
    /// The key's base64 secret (for a config file or an environment variable).
    pub secret: crate::config::Secret,
    pub origin: DnsName,
}

impl Knot {
    /// Starts knotd for `origin`. `write_zone` may create the master file first (else the
    /// zone starts unloaded). `notify_port`: an NSD secondary to notify and allow AXFR.
    pub fn start(
        origin: &DnsName,
        write_zone: impl FnOnce(&Path) -> std::io::Result<()>,
        notify_port: Option<u16>,
    ) -> Result<Knot, HarnessError> {
        let dir = tempfile::Builder::new().prefix("zonegen-knot-").tempdir()?;
        let d = dir.path();
        for sub in ["run", "db", "zones"] {
            std::fs::create_dir_all(d.join(sub))?;
        }
        let port = free_port()?;
        let (key, secret) = TsigKey::generate(TEST_KEY_NAME)?;
        let zone_file = d.join("zones").join(format!("{}zone", origin));
        write_zone(&zone_file)?;
        // Knot's own NOTIFY to the secondary is signed too: NSD accepts only signed ones.
        let notify = match notify_port {
            Some(p) => format!(
                "remote:\n  - id: nsd\n    address: 127.0.0.1@{p}\n    key: {TEST_KEY_NAME}\n"
            ),
            None => String::new(),
        };
        let zone_notify = if notify_port.is_some() {
            "    notify: nsd\n"
        } else {
            ""
        };
        // ACL `signed`: zonegen's UPDATEs and NSD's transfers, with the key. ACL `xfr`: unsigned
        // AXFR from loopback, for the tests' own look at the served zone.
        let conf = format!(
            "server:\n    rundir: \"{run}\"\n    user: root:root\n    listen: 127.0.0.1@{port}\n    \
             background-workers: 1\n    tcp-workers: 2\n    udp-workers: 1\n\
             log:\n  - target: \"{log}\"\n    any: info\n\
             database:\n    storage: \"{db}\"\n\
             key:\n  - id: {TEST_KEY_NAME}\n    algorithm: hmac-sha256\n    secret: {secret}\n\
             {notify}\
             acl:\n  - id: signed\n    address: 127.0.0.1\n    key: {TEST_KEY_NAME}\n    action: [update, transfer]\n\
             \x20 - id: xfr\n    address: 127.0.0.1\n    action: transfer\n\
             template:\n  - id: default\n    storage: \"{zones}\"\n    zonefile-sync: -1\n    \
             zonefile-load: difference\n    journal-content: changes\n    journal-max-usage: 2G\n\
             zone:\n  - domain: \"{origin}\"\n    file: \"{file}\"\n    acl: [signed, xfr]\n{zone_notify}",
            run = d.join("run").display(),
            log = d.join("knot.log").display(),
            db = d.join("db").display(),
            zones = d.join("zones").display(),
            file = zone_file.display(),
        );
        let conf_path = d.join("knot.conf");
        std::fs::write(&conf_path, conf)?;
        let mut child = Command::new("knotd")
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if let Err(e) = wait_tcp("knotd", addr, &mut child, &d.join("knot.log")) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        Ok(Knot {
            child,
            port,
            dir,
            conf: conf_path,
            zone_file,
            key,
            secret: crate::config::Secret::new(secret),
            origin: origin.clone(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// argv that makes this knotd reload the zone from its master file.
    pub fn reload_command(&self) -> Vec<String> {
        vec![
            "knotc".into(),
            "-c".into(),
            self.conf.display().to_string(),
            "zone-reload".into(),
            self.origin.to_string(),
        ]
    }

    /// argv that makes this knotd run the zone's pending events now (`zone-notify`): the
    /// publisher's `kick_command`, see README "Knot's one-second UPDATE stall".
    pub fn kick_command(&self) -> Vec<String> {
        vec![
            "knotc".into(),
            "-c".into(),
            self.conf.display().to_string(),
            "zone-notify".into(),
            self.origin.to_string(),
        ]
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("knot.log")).unwrap_or_default()
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An NSD secondary on 127.0.0.1:`port`, transferring the zone from a primary. It accepts
/// only NOTIFYs signed with the primary's TSIG key and transfers with that key.
#[derive(Debug)]
pub struct Nsd {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Nsd {
    /// Starts nsd (foreground) as a secondary of `origin` from `primary` (its port and key).
    pub fn start(origin: &DnsName, port: u16, primary: &Knot) -> Result<Nsd, HarnessError> {
        let dir = tempfile::Builder::new().prefix("zonegen-nsd-").tempdir()?;
        let d = dir.path();
        let primary_port = primary.port;
        let secret = primary.secret.expose();
        let conf = format!(
            "server:\n    ip-address: 127.0.0.1@{port}\n    port: {port}\n    username: \"\"\n    \
             chroot: \"\"\n    zonesdir: \"{d}\"\n    database: \"\"\n    zonelistfile: \"{d}/zone.list\"\n    \
             xfrdfile: \"{d}/xfrd.state\"\n    xfrdir: \"{d}\"\n    pidfile: \"{d}/nsd.pid\"\n    \
             logfile: \"{d}/nsd.log\"\n    xfrd-reload-timeout: 0\n    server-count: 1\n    \
             verbosity: 1\n    zonefiles-write: 0\n\
             remote-control:\n    control-enable: no\n\
             key:\n    name: \"{TEST_KEY_NAME}\"\n    algorithm: hmac-sha256\n    secret: \"{secret}\"\n\
             zone:\n    name: \"{origin}\"\n    zonefile: \"{origin}zone\"\n    \
             allow-notify: 127.0.0.1 {TEST_KEY_NAME}\n    \
             request-xfr: 127.0.0.1@{primary_port} {TEST_KEY_NAME}\n",
            d = d.display(),
        );
        let conf_path = d.join("nsd.conf");
        std::fs::write(&conf_path, conf)?;
        let mut child = Command::new("nsd")
            .arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if let Err(e) = wait_tcp("nsd", addr, &mut child, &d.join("nsd.log")) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        Ok(Nsd { child, port, dir })
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nsd.log")).unwrap_or_default()
    }
}

impl Drop for Nsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
