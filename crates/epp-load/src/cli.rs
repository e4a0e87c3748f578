//! The command line: one subcommand per scenario or baseline; turns arguments into run
//! settings and prints the report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use epp_proto::{ClientId, Password};

use crate::conn::{host_part, DemoFile, Target};
use crate::echo::{EchoFrame, EchoRun, KeyAlg};
use crate::frames::{Frames, Names};
use crate::scenario::{EppRun, IdleRun, Scenario};
use crate::schedule::Rate;
use crate::stats::Report;

/// Longest run we accept (`--duration`, `--warmup`, `--hold`, `--max-time`): 2 hours.
const MAX_SECONDS: f64 = 7200.0;
/// Most sessions in one run.
const MAX_SESSIONS: u32 = 20_000;

#[derive(Debug, Parser)]
#[command(
    name = "epp-load",
    version,
    about = "Open-loop load generator for EPP servers over TLS, with echo and database baselines"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// `<hello/>` in every session.
    Hello(EppArgs),
    /// One-name `domain:check` (names that exist and names that do not).
    Check(EppArgs),
    /// `domain:info` of domains the setup step created.
    Info(EppArgs),
    /// `domain:create` of unique names `load-<run>-<n>.<tld>`.
    Create(EppArgs),
    /// `domain:update` moving setup domains between two name servers.
    Update(EppArgs),
    /// `host:update` moving the glue of setup domains' in-bailiwick name servers between two
    /// addresses (each host is in use, so the delegation guard looks at every one).
    HostUpdate(EppArgs),
    /// Registrar-like mix: 80% check, 10% info, 5% create, 5% update.
    Mixed(EppArgs),
    /// Hello in established sessions while `--storm-rate` new connections log in per second;
    /// reports the hello latency of the established sessions and the login latency.
    Storm(StormArgs),
    /// Hello p50/p99 and login time of the registrar while `--junk` idle TCP connections (no
    /// TLS) from `--junk-from` and a TLS handshake storm from `--storm-from` hit the server.
    Flood(FloodArgs),
    /// Opens and logs in `--sessions` sessions and holds them (for the server's RSS per session).
    Idle(IdleArgs),
    /// TLS echo server and clients with EPP-sized frames: the ceiling on this machine.
    EchoBaseline(EchoArgs),
    /// The echo server of `echo-baseline --server-process` (started by it, not by hand).
    #[command(hide = true)]
    EchoServe(EchoServeArgs),
    /// Raw insert loop (one domain-shaped row per transaction) into SQLite or PostgreSQL.
    DbBaseline(DbArgs),
}

/// How long, how fast, how many.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Concurrent sessions.
    #[arg(long, default_value_t = 32)]
    pub sessions: u32,
    /// Measured seconds (after the warm-up).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Stop after this many requests in all (warm-up included), if earlier.
    #[arg(long)]
    pub count: Option<u64>,
    /// Target total requests per second (open loop: fixed schedule, latency from the
    /// scheduled time), or `max` (closed loop: each session as fast as it can).
    #[arg(long, default_value = "1000", value_parser = Rate::parse)]
    pub rate: Rate,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Seconds to wait for one answer before the session is counted lost.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Hard limit in seconds from the start of the load (default: warm-up + duration + 30).
    #[arg(long)]
    pub max_time: Option<f64>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// Where the server is and who we are.
#[derive(Debug, Args, Clone)]
pub struct ConnArgs {
    /// Read address, CA, client certificate and key, clID and password from DIR/demo.json
    /// (written by `eppd demo`); other options override its values.
    #[arg(long, value_name = "DIR")]
    pub demo: Option<PathBuf>,
    /// Server `host:port`.
    #[arg(long)]
    pub server: Option<String>,
    /// Name the server certificate must carry (default: the host part of --server).
    #[arg(long)]
    pub server_name: Option<String>,
    /// PEM file of the CA that issued the server certificate.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// PEM client certificate.
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// PEM client key.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Registrar clID.
    #[arg(long)]
    pub cl_id: Option<String>,
    /// File holding the password (first line).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Connect + handshake + greeting + login timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub connect_timeout: f64,
    /// Sessions logging in at the same time while connecting.
    #[arg(long, default_value_t = 16)]
    pub connect_concurrency: usize,
}

/// Names of the objects a run creates.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// TLD of the domains created (`load-<run>-<n>.<tld>`).
    #[arg(long, default_value = "test")]
    pub tld: String,
    /// Run id in every name (default: 6 characters from the clock).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Domains the setup step creates for info/update/mixed (at least one per session).
    #[arg(long, default_value_t = 64)]
    pub setup_domains: u64,
}

#[derive(Debug, Args, Clone)]
pub struct EppArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args, Clone)]
pub struct StormArgs {
    #[command(flatten)]
    pub epp: EppArgs,
    /// New TLS connections + logins per second.
    #[arg(long, default_value_t = 50.0)]
    pub storm_rate: f64,
}

#[derive(Debug, Args, Clone)]
pub struct FloodArgs {
    #[command(flatten)]
    pub epp: EppArgs,
    /// Idle TCP connections to open (and hold) before the registrar logs in.
    #[arg(long, default_value_t = 3000)]
    pub junk: u32,
    /// Their source address (a loopback alias: 127.0.0.0/8 is all local on Linux).
    #[arg(long, default_value = "127.0.0.5")]
    pub junk_from: std::net::IpAddr,
    /// TLS handshakes per second from `--storm-from`, for the whole run.
    #[arg(long, default_value_t = 200.0)]
    pub storm_rate: f64,
    #[arg(long, default_value = "127.0.0.6")]
    pub storm_from: std::net::IpAddr,
}

#[derive(Debug, Args, Clone)]
pub struct IdleArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Sessions to open and hold.
    #[arg(long, default_value_t = 1000)]
    pub sessions: u32,
    /// Seconds to hold them once all are logged in.
    #[arg(long, default_value_t = 10.0)]
    pub hold: f64,
    /// Written (with the number of sessions open) once all are logged in.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// Hard limit in seconds (default: 120 + hold).
    #[arg(long)]
    pub max_time: Option<f64>,
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args, Clone)]
pub struct EchoArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Send frames of the size of this EPP frame.
    #[arg(long, value_enum, default_value = "hello")]
    pub frame: EchoFrame,
    /// Answer with frames of at least this many bytes (0: same as the request).
    #[arg(long, default_value_t = 0)]
    pub reply_bytes: usize,
    /// Key algorithm of the generated CA, server and client certificates.
    #[arg(long, value_enum, default_value = "p256")]
    pub key_alg: KeyAlg,
    /// Run the echo server in a process of its own, as the EPP server runs (otherwise it
    /// shares this process and its runtime threads with the clients).
    #[arg(long)]
    pub server_process: bool,
}

#[derive(Debug, Args, Clone)]
pub struct EchoServeArgs {
    /// Directory holding the certificates written by `echo-baseline`.
    #[arg(long)]
    pub dir: std::path::PathBuf,
    #[arg(long, default_value_t = 0)]
    pub reply_bytes: usize,
}

#[derive(Debug, Args, Clone)]
pub struct DbArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// `sqlite:///path/file.db` or `postgres://user@host/db`.
    #[arg(long)]
    pub db: String,
    /// Connection pool size (default: 1 for SQLite, --sessions for PostgreSQL).
    #[arg(long)]
    pub db_connections: Option<u32>,
    /// Run id (names the scratch table).
    #[arg(long)]
    pub run_id: Option<String>,
}

fn seconds(what: &str, s: f64) -> Result<Duration, String> {
    if !(s.is_finite() && (0.0..=MAX_SECONDS).contains(&s)) {
        return Err(format!(
            "{what} must be between 0 and {MAX_SECONDS} seconds, got {s}"
        ));
    }
    Ok(Duration::from_secs_f64(s))
}

/// The checked timing of a run.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub sessions: u32,
    pub warmup: Duration,
    pub duration: Duration,
    pub rate: Rate,
    pub count: Option<u64>,
    pub request_timeout: Duration,
    pub max_time: Duration,
}

impl RunArgs {
    pub fn timing(&self) -> Result<Timing, String> {
        if self.sessions == 0 || self.sessions > MAX_SESSIONS {
            return Err(format!("--sessions must be 1-{MAX_SESSIONS}"));
        }
        let warmup = seconds("--warmup", self.warmup)?;
        let duration = seconds("--duration", self.duration)?;
        if duration.is_zero() {
            return Err("--duration must be positive".into());
        }
        let request_timeout = seconds("--timeout", self.timeout)?.max(Duration::from_millis(1));
        let max_time = match self.max_time {
            Some(m) => seconds("--max-time", m)?,
            None => (warmup + duration + Duration::from_secs(30))
                .min(Duration::from_secs_f64(MAX_SECONDS)),
        };
        Ok(Timing {
            sessions: self.sessions,
            warmup,
            duration,
            rate: self.rate,
            count: self.count,
            request_timeout,
            max_time,
        })
    }
}

fn read_password(path: &std::path::Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > 4096 {
        return Err(format!("{}: too large for a password file", path.display()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text.lines().next().unwrap_or("").to_owned())
}

/// Environment variable holding the password (when neither --password-file nor --demo gives it).
pub const PASSWORD_ENV: &str = "EPP_LOAD_PASSWORD";

impl ConnArgs {
    /// Combines `--demo` with explicit options (explicit ones win) and checks everything.
    pub fn target(&self) -> Result<Target, String> {
        let demo = self
            .demo
            .as_deref()
            .map(DemoFile::load)
            .transpose()
            .map_err(|e| e.to_string())?;
        let pick = |explicit: &Option<PathBuf>, from_demo: Option<&PathBuf>, what: &str| {
            explicit
                .clone()
                .or_else(|| from_demo.cloned())
                .ok_or_else(|| format!("{what} is required (or --demo DIR)"))
        };
        let server = self
            .server
            .clone()
            .or_else(|| demo.as_ref().map(|d| d.address.clone()))
            .ok_or("--server is required (or --demo DIR)")?;
        let ca = pick(&self.ca, demo.as_ref().map(|d| &d.ca), "--ca")?;
        let cert = pick(&self.cert, demo.as_ref().map(|d| &d.cert), "--cert")?;
        let key = pick(&self.key, demo.as_ref().map(|d| &d.key), "--key")?;
        let cl_id = self
            .cl_id
            .clone()
            .or_else(|| demo.as_ref().map(|d| d.cl_id.clone()))
            .ok_or("--cl-id is required (or --demo DIR)")?;
        let password = match (&self.password_file, std::env::var(PASSWORD_ENV).ok(), &demo) {
            (Some(path), _, _) => read_password(path)?,
            (None, Some(pw), _) => pw,
            (None, None, Some(d)) => d.password.clone(),
            (None, None, None) => {
                return Err(format!(
                    "a password is needed: --password-file, ${PASSWORD_ENV} or --demo DIR"
                ))
            }
        };
        Ok(Target {
            server_name: self
                .server_name
                .clone()
                .unwrap_or_else(|| host_part(&server).to_owned()),
            server,
            ca,
            cert,
            key,
            cl_id: ClientId::new(&cl_id).map_err(|e| format!("clID: {e}"))?,
            password: Password::new(&password).map_err(|e| format!("password: {e}"))?,
            timeout: seconds("--connect-timeout", self.connect_timeout)?
                .max(Duration::from_millis(1)),
        })
    }
}

fn frames(data: &DataArgs) -> Result<Arc<Frames>, String> {
    let run = data.run_id.clone().unwrap_or_else(Names::new_run_id);
    Ok(Arc::new(Frames::new(Names::new(&run, &data.tld)?)?))
}

fn epp_run(args: &EppArgs, scenario: Scenario, storm_rate: Option<f64>) -> Result<EppRun, String> {
    let t = args.run.timing()?;
    Ok(EppRun {
        target: args.conn.target()?,
        frames: frames(&args.data)?,
        scenario,
        sessions: t.sessions,
        setup_domains: args.data.setup_domains.max(u64::from(t.sessions)),
        warmup: t.warmup,
        duration: t.duration,
        rate: t.rate,
        count: t.count,
        request_timeout: t.request_timeout,
        max_time: t.max_time,
        connect_concurrency: args.conn.connect_concurrency,
        quiet: args.run.quiet,
        storm_rate,
    })
}

/// What `main` prints and how it exits.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub json: bool,
}

/// Runs the parsed command line. Errors are for the user (exit status 1).
pub async fn run(cli: Cli) -> Result<Outcome, String> {
    let (report, json) = match cli.command {
        Cmd::Hello(a) => (epp(&a, Scenario::Hello, None).await?, a.run.json),
        Cmd::Check(a) => (epp(&a, Scenario::Check, None).await?, a.run.json),
        Cmd::Info(a) => (epp(&a, Scenario::Info, None).await?, a.run.json),
        Cmd::Create(a) => (epp(&a, Scenario::Create, None).await?, a.run.json),
        Cmd::Update(a) => (epp(&a, Scenario::Update, None).await?, a.run.json),
        Cmd::HostUpdate(a) => (epp(&a, Scenario::HostUpdate, None).await?, a.run.json),
        Cmd::Mixed(a) => (epp(&a, Scenario::Mixed, None).await?, a.run.json),
        Cmd::Storm(s) => {
            if !(s.storm_rate.is_finite() && s.storm_rate > 0.0 && s.storm_rate <= 100_000.0) {
                return Err("--storm-rate must be in (0, 100000]".into());
            }
            (
                epp(&s.epp, Scenario::Hello, Some(s.storm_rate)).await?,
                s.epp.run.json,
            )
        }
        Cmd::Flood(f) => {
            if !(f.storm_rate.is_finite() && f.storm_rate > 0.0 && f.storm_rate <= 100_000.0) {
                return Err("--storm-rate must be in (0, 100000]".into());
            }
            if f.junk > 60_000 {
                return Err("--junk must be at most 60000".into());
            }
            let run = epp_run(&f.epp, Scenario::Hello, None)?;
            let flood = crate::scenario::Flood {
                junk: f.junk,
                junk_from: f.junk_from,
                storm_rate: f.storm_rate,
                storm_from: f.storm_from,
            };
            (
                crate::scenario::run_flood(run, flood)
                    .await
                    .map_err(|e| e.to_string())?,
                f.epp.run.json,
            )
        }
        Cmd::Idle(a) => {
            if a.sessions == 0 || a.sessions > MAX_SESSIONS {
                return Err(format!("--sessions must be 1-{MAX_SESSIONS}"));
            }
            let hold = seconds("--hold", a.hold)?;
            let max_time = match a.max_time {
                Some(m) => seconds("--max-time", m)?,
                None => hold + Duration::from_secs(120),
            };
            let target = a.conn.target()?;
            let idle = IdleRun {
                request_timeout: target.timeout,
                target,
                frames: frames(&DataArgs {
                    tld: "test".into(),
                    run_id: None,
                    setup_domains: 0,
                })?,
                sessions: a.sessions,
                hold,
                connect_concurrency: a.conn.connect_concurrency,
                ready_file: a.ready_file.clone(),
                max_time,
                quiet: a.quiet,
            };
            (
                crate::scenario::run_idle(idle)
                    .await
                    .map_err(|e| e.to_string())?,
                a.json,
            )
        }
        Cmd::EchoBaseline(a) => {
            let t = a.run.timing()?;
            let run = EchoRun {
                frame: a.frame,
                reply_bytes: a.reply_bytes.min(60 * 1024),
                key_alg: a.key_alg,
                server_process: a.server_process,
                sessions: t.sessions,
                warmup: t.warmup,
                duration: t.duration,
                rate: t.rate,
                count: t.count,
                request_timeout: t.request_timeout,
                max_time: t.max_time,
                quiet: a.run.quiet,
            };
            (
                crate::echo::run_echo(run)
                    .await
                    .map_err(|e| e.to_string())?,
                a.run.json,
            )
        }
        Cmd::EchoServe(_) => return Err("echo-serve is started by echo-baseline".into()),
        Cmd::DbBaseline(a) => {
            let t = a.run.timing()?;
            let run_id = a.run_id.clone().unwrap_or_else(Names::new_run_id);
            if run_id.is_empty()
                || run_id.len() > 12
                || !run_id.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return Err("--run-id must be 1-12 letters or digits".into());
            }
            let run = crate::db::DbRun {
                url: a.db.clone(),
                connections: a.db_connections,
                run_id,
                sessions: t.sessions,
                warmup: t.warmup,
                duration: t.duration,
                rate: t.rate,
                count: t.count,
                request_timeout: t.request_timeout,
                max_time: t.max_time,
                quiet: a.run.quiet,
            };
            (
                crate::db::run_db(run).await.map_err(|e| e.to_string())?,
                a.run.json,
            )
        }
    };
    Ok(Outcome { report, json })
}

async fn epp(
    args: &EppArgs,
    scenario: Scenario,
    storm_rate: Option<f64>,
) -> Result<Report, String> {
    let run = epp_run(args, scenario, storm_rate)?;
    crate::scenario::run_epp(run)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn timing_defaults_and_bounds() {
        let cli = Cli::try_parse_from([
            "epp-load",
            "echo-baseline",
            "--duration",
            "2",
            "--rate",
            "max",
        ])
        .unwrap();
        let Cmd::EchoBaseline(a) = cli.command else {
            panic!()
        };
        let t = a.run.timing().unwrap();
        assert_eq!(t.rate, Rate::Max);
        assert_eq!(t.max_time, Duration::from_secs(33));
        for bad in [
            ["--duration", "0"],
            ["--duration", "1e9"],
            ["--sessions", "0"],
            ["--warmup", "-1"],
        ] {
            let cli = Cli::try_parse_from(["epp-load", "echo-baseline", bad[0], bad[1]]);
            if let Ok(Cli {
                command: Cmd::EchoBaseline(a),
            }) = cli
            {
                assert!(a.run.timing().is_err(), "{bad:?}");
            }
        }
        assert!(Cli::try_parse_from(["epp-load", "hello", "--rate", "0"]).is_err());
    }

    #[test]
    fn target_needs_a_server_and_reads_demo() {
        let cli = Cli::try_parse_from(["epp-load", "hello"]).unwrap();
        let Cmd::Hello(a) = cli.command else { panic!() };
        assert!(a.conn.target().unwrap_err().contains("--server"));

        let dir = std::env::temp_dir().join(format!("epp-load-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("demo.json"),
            r#"{"address":"127.0.0.1:7700","ca":"ca.pem","cert":"c.pem","key":"c.key","cl_id":"demo1","password":"demo-pass1"}"#,
        )
        .unwrap();
        let d = dir.display().to_string();
        let cli =
            Cli::try_parse_from(["epp-load", "hello", "--demo", &d, "--cl-id", "other1"]).unwrap();
        let Cmd::Hello(a) = cli.command else { panic!() };
        let t = a.conn.target().unwrap();
        assert_eq!(t.server, "127.0.0.1:7700");
        assert_eq!(t.server_name, "127.0.0.1");
        assert_eq!(t.cl_id.as_str(), "other1");
        assert_eq!(t.cert, dir.join("c.pem"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
