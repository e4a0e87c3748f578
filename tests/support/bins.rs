//! The built `eppd` and `epp-cli` binaries, for the suites that run them as a user would
//! (quick start, configuration errors, interoperability), and a running `eppd demo`.
//!
//! The binaries are looked up next to the test executable (`target/debug/`); cargo builds a
//! dependency's library but not its binaries, so the first caller runs
//! `cargo build -p eppd -p epp-cli` there (a no-op when they are up to date).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

/// How long a demo may take to start (certificates, argon2, migrations).
const START: Duration = Duration::from_secs(60);

/// `target/debug` (the directory holding the test executable's `deps/`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").to_owned()
}

static BUILT: OnceLock<Result<(), String>> = OnceLock::new();

fn build() -> Result<(), String> {
    let dir = bin_dir();
    let profile = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_owned();
    let target = dir.parent().expect("target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "eppd", "-p", "epp-cli", "--bins"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile != "debug" {
        cmd.args(["--profile", &profile]);
    }
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build -p eppd -p epp-cli failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn binary(name: &str) -> PathBuf {
    if let Err(e) = BUILT.get_or_init(build) {
        panic!("{e}");
    }
    let path = bin_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} not built", path.display());
    path
}

/// A loopback port free at the time of asking (for a server started right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Waits until a spawned server accepts TCP on `addr`; panics with its log if it exits first
/// or does not listen `within`.
pub async fn wait_listening(
    child: &mut tokio::process::Child,
    addr: std::net::SocketAddr,
    log: &Path,
    within: Duration,
) {
    let until = std::time::Instant::now() + within;
    while std::time::Instant::now() < until {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!(
                "eppd exited with {st} before listening:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.start_kill();
    panic!("eppd did not listen on {addr} within {within:?}");
}

pub fn eppd() -> PathBuf {
    binary("eppd")
}

pub fn epp_cli() -> PathBuf {
    binary("epp-cli")
}

/// Runs `epp-cli ARGS` and returns what it did.
pub fn run_cli(args: &[&str]) -> Output {
    Command::new(epp_cli())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run epp-cli")
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A running `eppd demo`; killed when dropped.
pub struct Demo {
    child: Child,
    /// What it printed on standard output before it was ready.
    pub banner: String,
    pub info: serde_json::Value,
    pub dir: PathBuf,
}

impl Demo {
    /// Runs `eppd demo --data DIR --listen 127.0.0.1:0 EXTRA…` and waits until it has
    /// printed its instructions (it does so once every file is written).
    pub fn start(dir: &Path, extra: &[&str]) -> Demo {
        std::fs::create_dir_all(dir).expect("demo dir");
        let log = std::fs::File::create(dir.join("eppd.log")).expect("log file");
        let mut child = Command::new(eppd())
            .args(["demo", "--data"])
            .arg(dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn eppd demo");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut banner = String::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                banner.push_str(&line);
                banner.push('\n');
                if line.starts_with("Everything is in") {
                    let _ = tx.send(banner.clone());
                }
            }
        });
        let banner = match rx.recv_timeout(START) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let err = std::fs::read_to_string(dir.join("eppd.log")).unwrap_or_default();
                panic!("eppd demo did not start:\n{err}");
            }
        };
        let json = std::fs::read_to_string(dir.join("demo.json")).expect("demo.json");
        let info = serde_json::from_str(&json).expect("demo.json is JSON");
        Demo {
            child,
            banner,
            info,
            dir: dir.to_owned(),
        }
    }

    pub fn field(&self, name: &str) -> String {
        self.info[name]
            .as_str()
            .unwrap_or_else(|| panic!("demo.json has no string {name}"))
            .to_owned()
    }

    pub fn profile(&self) -> String {
        self.dir.join("epp-cli.toml").display().to_string()
    }

    /// Stops the demo and waits for it.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
