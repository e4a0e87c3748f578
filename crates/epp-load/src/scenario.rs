//! The EPP scenarios: setup of the objects they need, the session workers, the login storm and
//! the idle-session hold.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::conn::{
    open_session, open_session_patiently, result_code, ConnError, FrameConn, Target,
};
use crate::frames::Frames;
use crate::run::{Driver, RunResult, Worker};
use crate::schedule::{latency, Plan, Rate};
use crate::stats::{Outcome, Progress, Recorder, Report};

/// What the established sessions send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    Hello,
    Check,
    Info,
    Create,
    Update,
    /// host:update moving the glue of in-bailiwick name servers between two addresses.
    HostUpdate,
    /// Registrar-like: 80% check, 10% info, 5% create, 5% update.
    Mixed,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Hello => "hello",
            Scenario::Check => "domain:check",
            Scenario::Info => "domain:info",
            Scenario::Create => "domain:create",
            Scenario::Update => "domain:update",
            Scenario::HostUpdate => "host:update",
            Scenario::Mixed => "mixed",
        }
    }

    /// Whether the run needs the contact and hosts.
    fn needs_objects(self) -> bool {
        matches!(
            self,
            Scenario::Create
                | Scenario::Info
                | Scenario::Update
                | Scenario::HostUpdate
                | Scenario::Mixed
        )
    }

    /// Whether the run needs existing domains.
    fn needs_domains(self) -> bool {
        matches!(
            self,
            Scenario::Info | Scenario::Update | Scenario::HostUpdate | Scenario::Mixed
        )
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The operation of request `n` in a scenario (deterministic: the same run id and `n`
/// always give the same choice).
pub fn pick(scenario: Scenario, n: u64) -> Scenario {
    match scenario {
        Scenario::Mixed => match splitmix(n ^ 0x5eed) % 100 {
            0..80 => Scenario::Check,
            80..90 => Scenario::Info,
            90..95 => Scenario::Create,
            _ => Scenario::Update,
        },
        s => s,
    }
}

/// A setup domain a session owns (only it updates it) and where its delegation points.
#[derive(Debug, Clone, Copy)]
struct Owned {
    index: u64,
    ns: usize,
}

/// An established, logged-in session.
#[derive(Debug)]
pub struct EppWorker {
    conn: Option<FrameConn>,
    frames: Arc<Frames>,
    scenario: Scenario,
    setup_domains: u64,
    owned: Vec<Owned>,
    cursor: usize,
    out: Vec<u8>,
    /// What the prepared request is: its kind and, for updates, the owned slot and new ns.
    pending: (Scenario, Option<(usize, usize)>),
    sizes: Arc<FrameSizes>,
}

/// Largest request and answer payloads seen, so that a baseline can be run with frames of
/// the same sizes (`echo-baseline --reply-bytes`).
#[derive(Debug, Default)]
struct FrameSizes {
    request: std::sync::atomic::AtomicUsize,
    reply: std::sync::atomic::AtomicUsize,
}

impl FrameSizes {
    fn record(&self, request: usize, reply: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.request.fetch_max(request, Relaxed);
        self.reply.fetch_max(reply, Relaxed);
    }
}

impl EppWorker {
    fn render(&mut self, n: u64) -> Scenario {
        let names = &self.frames.names;
        let trid = names.cl_trid(n);
        let op = pick(self.scenario, n);
        self.pending = (op, None);
        match op {
            Scenario::Hello | Scenario::Mixed => {
                self.out.clear();
                self.out.extend_from_slice(&self.frames.hello);
            }
            Scenario::Check => {
                let h = splitmix(n);
                let name = if self.setup_domains > 0 && h & 1 == 0 {
                    names.setup_domain((h >> 1) % self.setup_domains)
                } else {
                    names.free_domain(n)
                };
                self.frames.check.render(&[&name, &trid], &mut self.out);
            }
            Scenario::Info => {
                let name = names.setup_domain(splitmix(n) % self.setup_domains.max(1));
                self.frames.info.render(&[&name, &trid], &mut self.out);
            }
            Scenario::Create => {
                self.frames
                    .create
                    .render(&[&names.domain(n), &trid], &mut self.out);
            }
            Scenario::HostUpdate => {
                if self.owned.is_empty() {
                    self.out.clear();
                    self.out.extend_from_slice(&self.frames.hello);
                    self.pending = (Scenario::Hello, None);
                    return Scenario::Hello;
                }
                let slot = self.cursor % self.owned.len();
                self.cursor = self.cursor.wrapping_add(1);
                let o = self.owned[slot];
                // `ns` doubles as the glue host's current address here.
                self.frames.host_update[o.ns]
                    .render(&[&names.glue_host(o.index), &trid], &mut self.out);
                self.pending = (op, Some((slot, (o.ns + 1) % 2)));
            }
            Scenario::Update => {
                if self.owned.is_empty() {
                    // Cannot happen with the setup step; send a hello rather than nothing.
                    self.out.clear();
                    self.out.extend_from_slice(&self.frames.hello);
                    self.pending = (Scenario::Hello, None);
                    return Scenario::Hello;
                }
                let slot = self.cursor % self.owned.len();
                self.cursor = self.cursor.wrapping_add(1);
                let o = self.owned[slot];
                let (add, rem) = (names.ns(o.ns + 1), names.ns(o.ns));
                self.frames.update.render(
                    &[&names.setup_domain(o.index), &add, &rem, &trid],
                    &mut self.out,
                );
                self.pending = (op, Some((slot, (o.ns + 1) % 2)));
            }
        }
        op
    }
}

impl Worker for EppWorker {
    fn prepare(&mut self, n: u64) -> &'static str {
        self.render(n).name()
    }

    async fn call(&mut self) -> Outcome {
        let Some(conn) = self.conn.as_mut() else {
            return Outcome::Failed("closed");
        };
        let answer = match conn.exchange(&self.out).await {
            Ok(a) => {
                self.sizes.record(self.out.len(), a.len());
                a
            }
            Err(e) => {
                self.conn = None;
                return Outcome::Failed(e.kind());
            }
        };
        let outcome = match self.pending.0 {
            Scenario::Hello | Scenario::Mixed => {
                if crate::conn::is_greeting(answer) {
                    Outcome::Ok
                } else {
                    Outcome::Failed("protocol")
                }
            }
            _ => match result_code(answer) {
                Some(c) => Outcome::Code(c),
                None => Outcome::Failed("protocol"),
            },
        };
        match outcome {
            Outcome::Code(c) if c % 1000 >= 500 => self.conn = None, // the server closes
            Outcome::Failed(_) => self.conn = None,
            Outcome::Code(1000) => {
                if let (Scenario::Update | Scenario::HostUpdate, Some((slot, ns))) = self.pending {
                    if let Some(o) = self.owned.get_mut(slot) {
                        o.ns = ns;
                    }
                }
            }
            _ => {}
        }
        outcome
    }

    fn alive(&self) -> bool {
        self.conn.is_some()
    }

    async fn finish(mut self) {
        if let Some(mut conn) = self.conn.take() {
            if let Ok(logout) = Frames::logout(&self.frames.names.cl_trid(u64::MAX)) {
                let _ = conn.exchange(&logout).await;
            }
            conn.shutdown().await;
        }
    }
}

/// Settings of an EPP run.
#[derive(Debug, Clone)]
pub struct EppRun {
    pub target: Target,
    pub frames: Arc<Frames>,
    pub scenario: Scenario,
    pub sessions: u32,
    pub setup_domains: u64,
    pub warmup: Duration,
    pub duration: Duration,
    pub rate: Rate,
    pub count: Option<u64>,
    pub request_timeout: Duration,
    pub max_time: Duration,
    /// Sessions logging in at the same time during setup.
    pub connect_concurrency: usize,
    pub quiet: bool,
    /// Login storm: new connections + logins per second during the run.
    pub storm_rate: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{0}")]
    Conn(#[from] ConnError),
    #[error("setup: {0}")]
    Setup(String),
}

async fn expect_ok(
    conn: &mut FrameConn,
    frame: &[u8],
    what: &str,
    timeout: Duration,
) -> Result<(), ScenarioError> {
    let answer = tokio::time::timeout(timeout, conn.exchange(frame))
        .await
        .map_err(|_| ConnError::timeout(timeout))?
        .map_err(ConnError::from)?;
    match result_code(answer) {
        // 2302: left by an earlier run with the same id; good enough.
        Some(1000 | 2302) => Ok(()),
        Some(c) => Err(ScenarioError::Setup(format!("{what} answered {c}"))),
        None => Err(ScenarioError::Setup(format!(
            "{what}: answer without a result code"
        ))),
    }
}

fn login_frame(target: &Target, frames: &Frames, n: u64) -> Result<Vec<u8>, ScenarioError> {
    Frames::login(&target.cl_id, &target.password, &frames.names.cl_trid(n))
        .map_err(ScenarioError::Setup)
}

/// Creates the contact and the two name servers the data scenarios need.
async fn setup_objects(
    run: &EppRun,
    config: Arc<rustls::ClientConfig>,
) -> Result<(), ScenarioError> {
    let f = &run.frames;
    let mut conn =
        open_session_patiently(&run.target, config, &login_frame(&run.target, f, 0)?).await?;
    let t = run.request_timeout;
    expect_ok(
        &mut conn,
        &f.contact_create(&f.names.cl_trid(1))
            .map_err(ScenarioError::Setup)?,
        "contact:create",
        t,
    )
    .await?;
    for which in 0..2 {
        let frame = f
            .host_create(which, &f.names.cl_trid(2 + which as u64))
            .map_err(ScenarioError::Setup)?;
        expect_ok(&mut conn, &frame, "host:create", t).await?;
    }
    if let Ok(logout) = Frames::logout(&f.names.cl_trid(4)) {
        let _ = conn.exchange(&logout).await;
    }
    conn.shutdown().await;
    Ok(())
}

/// Opens one session, logs in and creates the setup domains it owns.
async fn open_worker(
    run: &EppRun,
    config: Arc<rustls::ClientConfig>,
    index: u32,
) -> Result<EppWorker, ScenarioError> {
    let f = &run.frames;
    let mut conn = open_session_patiently(
        &run.target,
        config,
        &login_frame(&run.target, f, 10 + u64::from(index))?,
    )
    .await?;
    let mut owned = Vec::new();
    if run.scenario.needs_domains() {
        let sessions = u64::from(run.sessions.max(1));
        let mut i = u64::from(index);
        while i < run.setup_domains {
            let ns = (i % 2) as usize;
            let frame = f
                .setup_domain_create(i, ns, &f.names.cl_trid(1_000_000 + i))
                .map_err(ScenarioError::Setup)?;
            expect_ok(
                &mut conn,
                &frame,
                "domain:create (setup)",
                run.request_timeout,
            )
            .await?;
            if run.scenario == Scenario::HostUpdate {
                let t = run.request_timeout;
                let frame = f
                    .glue_host_create(i, &f.names.cl_trid(2_000_000 + i))
                    .map_err(ScenarioError::Setup)?;
                expect_ok(&mut conn, &frame, "host:create (setup)", t).await?;
                let frame = f
                    .glue_host_link(i, &f.names.cl_trid(3_000_000 + i))
                    .map_err(ScenarioError::Setup)?;
                expect_ok(&mut conn, &frame, "domain:update (setup)", t).await?;
            }
            // For host:update, `ns` is the glue's address index, which starts at 0.
            let ns = if run.scenario == Scenario::HostUpdate {
                0
            } else {
                ns
            };
            owned.push(Owned { index: i, ns });
            i += sessions;
        }
    }
    Ok(EppWorker {
        conn: Some(conn),
        frames: Arc::clone(f),
        scenario: run.scenario,
        setup_domains: if run.scenario.needs_domains() {
            run.setup_domains
        } else {
            0
        },
        owned,
        cursor: 0,
        out: Vec::with_capacity(1024),
        pending: (Scenario::Hello, None),
        sizes: Arc::default(),
    })
}

/// Opens `n` sessions, at most `concurrency` at a time, within `limit`.
async fn open_workers(
    run: &EppRun,
    config: &Arc<rustls::ClientConfig>,
    n: u32,
    limit: Duration,
) -> Result<Vec<EppWorker>, ScenarioError> {
    let gate = Arc::new(Semaphore::new(run.connect_concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (run, config, gate) = (run.clone(), Arc::clone(config), Arc::clone(&gate));
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            (i, open_worker(&run, config, i).await)
        });
    }
    let deadline = Instant::now() + limit;
    let mut workers: BTreeMap<u32, EppWorker> = BTreeMap::new();
    while let Ok(Some(joined)) = tokio::time::timeout_at(deadline, tasks.join_next()).await {
        match joined {
            Ok((i, Ok(w))) => {
                workers.insert(i, w);
            }
            Ok((i, Err(e))) => {
                tasks.abort_all();
                return Err(ScenarioError::Setup(format!("session {i}: {e}")));
            }
            Err(e) => return Err(ScenarioError::Setup(format!("session task: {e}"))),
        }
    }
    if workers.len() != n as usize {
        tasks.abort_all();
        return Err(ScenarioError::Setup(format!(
            "only {} of {n} sessions logged in within {limit:?}",
            workers.len()
        )));
    }
    Ok(workers.into_values().collect())
}

/// Runs an EPP scenario (with a login storm alongside when `storm_rate` is set).
pub async fn run_epp(run: EppRun) -> Result<Report, ScenarioError> {
    let config = crate::conn::client_config(&run.target.cert, &run.target.key, &run.target.ca)?;
    let setup_limit = run.max_time;
    if run.scenario.needs_objects() {
        setup_objects(&run, Arc::clone(&config)).await?;
    }
    let mut workers = open_workers(&run, &config, run.sessions, setup_limit).await?;
    let sizes = Arc::new(FrameSizes::default());
    for w in &mut workers {
        w.sizes = Arc::clone(&sizes);
    }
    let plan = Plan {
        start: Instant::now() + Duration::from_millis(50),
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
        progress.spawn_printer(
            run.scenario.name().to_owned(),
            plan.start,
            plan.warmup,
            run.max_time,
        );
    }
    let storm = run.storm_rate.map(|rate| {
        let (run, config, driver) = (run.clone(), Arc::clone(&config), Arc::clone(&driver));
        tokio::spawn(async move { storm(&run, config, &driver, rate).await })
    });
    let mut result = driver.run_all(workers).await;
    let mut storm_info = None;
    if let Some(task) = storm {
        let fence = driver.hard_deadline() + Duration::from_secs(5);
        match tokio::time::timeout_at(fence, task).await {
            Ok(Ok((rec, unsent, connections))) => {
                result.rec.merge(&rec);
                result.unsent += unsent;
                storm_info = Some(connections);
            }
            _ => result.hit_max_time = true,
        }
    }
    progress
        .stop
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let name = if run.storm_rate.is_some() {
        "login-storm"
    } else {
        run.scenario.name()
    };
    let mut report = result.into_report(name, &plan);
    report
        .info
        .insert("run_id".into(), run.frames.names.run.clone().into());
    report
        .info
        .insert("server".into(), run.target.server.clone().into());
    if run.scenario.needs_domains() {
        report
            .info
            .insert("setup_domains".into(), run.setup_domains.into());
    }
    {
        use std::sync::atomic::Ordering::Relaxed;
        let (request, reply) = (sizes.request.load(Relaxed), sizes.reply.load(Relaxed));
        report.info.insert("request_bytes".into(), request.into());
        report.info.insert("reply_bytes".into(), reply.into());
    }
    if let (Some(rate), Some(n)) = (run.storm_rate, storm_info) {
        report.info.insert("storm_rate".into(), rate.into());
        report.info.insert("storm_connections".into(), n.into());
    }
    Ok(report)
}

/// The login storm: `rate` new connections per second, each TLS handshake + greeting + login
/// (+ logout), on an open-loop schedule of its own; at most 256 in flight (waiting for a slot
/// counts as latency). Returns the `login` statistics, unsent count and connections opened.
async fn storm(
    run: &EppRun,
    config: Arc<rustls::ClientConfig>,
    driver: &Driver,
    rate: f64,
) -> (Recorder, u64, u64) {
    let plan = Plan {
        sessions: 1,
        rate: Rate::PerSecond(rate),
        count: None,
        ..driver.plan
    };
    let schedule = plan.session(0);
    let hard = driver.hard_deadline();
    let rec = Arc::new(Mutex::new(Recorder::default()));
    let gate = Arc::new(Semaphore::new(256));
    let mut tasks = tokio::task::JoinSet::new();
    let mut unsent = 0;
    let mut k = 0;
    while let Some(slot) = schedule.slot(k) {
        let now = Instant::now();
        if now >= plan.end() || now >= hard {
            unsent = schedule.remaining_from(k);
            break;
        }
        if let Some(wake) = schedule.wake_at(&slot) {
            tokio::time::sleep_until(wake.min(hard)).await;
        }
        let Ok(permit) = tokio::time::timeout_at(hard, Arc::clone(&gate).acquire_owned()).await
        else {
            continue;
        };
        let (target, config, rec, progress) = (
            run.target.clone(),
            Arc::clone(&config),
            Arc::clone(&rec),
            Arc::clone(&driver.progress),
        );
        let frames = Arc::clone(&run.frames);
        let timeout = run
            .request_timeout
            .min(hard.saturating_duration_since(Instant::now()));
        tasks.spawn(async move {
            let _permit = permit;
            let sent = Instant::now();
            let login = Frames::login(
                &target.cl_id,
                &target.password,
                &frames.names.cl_trid(2_000_000_000 + slot.n),
            );
            let outcome = match login {
                Err(_) => Outcome::Failed("settings"),
                Ok(login) => {
                    match tokio::time::timeout(timeout, open_session(&target, config, &login)).await
                    {
                        Err(_) => Outcome::Failed("timeout"),
                        Ok(Ok(mut conn)) => {
                            if let Ok(logout) =
                                Frames::logout(&frames.names.cl_trid(3_000_000_000 + slot.n))
                            {
                                let _ = tokio::time::timeout(
                                    Duration::from_secs(2),
                                    conn.exchange(&logout),
                                )
                                .await;
                            }
                            conn.shutdown().await;
                            Outcome::Code(1000)
                        }
                        Ok(Err(ConnError::LoginRefused(c))) => Outcome::Code(c),
                        Ok(Err(e)) => Outcome::Failed(e.kind()),
                    }
                }
            };
            let received = Instant::now();
            if schedule.measured(&slot, sent) {
                if let Ok(mut r) = rec.lock() {
                    r.record("login", outcome, latency(slot.at, sent, received));
                }
            }
            progress.note(outcome, Duration::ZERO);
        });
        k += 1;
        // Reap finished connections as we go, so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    let fence = hard + Duration::from_secs(3);
    while let Ok(Some(_)) = tokio::time::timeout_at(fence, tasks.join_next()).await {}
    tasks.abort_all();
    let rec = rec.lock().map(|r| r.clone()).unwrap_or_default();
    (rec, unsent, k)
}

/// Settings of the idle-session test.
#[derive(Debug, Clone)]
pub struct IdleRun {
    pub target: Target,
    pub frames: Arc<Frames>,
    pub sessions: u32,
    pub hold: Duration,
    pub connect_concurrency: usize,
    pub ready_file: Option<PathBuf>,
    pub max_time: Duration,
    pub request_timeout: Duration,
    pub quiet: bool,
}

/// Opens and logs in `sessions` sessions, holds them for `hold` (the caller reads the server's
/// memory meanwhile; `ready_file` is written once all are logged in), then closes them.
pub async fn run_idle(idle: IdleRun) -> Result<Report, ScenarioError> {
    let config = crate::conn::client_config(&idle.target.cert, &idle.target.key, &idle.target.ca)?;
    let began = Instant::now();
    let hard = began + idle.max_time;
    let gate = Arc::new(Semaphore::new(idle.connect_concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..idle.sessions {
        let (target, config, gate, frames) = (
            idle.target.clone(),
            Arc::clone(&config),
            Arc::clone(&gate),
            Arc::clone(&idle.frames),
        );
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let sent = Instant::now();
            let login = Frames::login(
                &target.cl_id,
                &target.password,
                &frames.names.cl_trid(u64::from(i)),
            );
            let r = match login {
                Ok(login) => open_session(&target, config, &login).await,
                Err(e) => Err(ConnError::Settings(e)),
            };
            (r, sent.elapsed())
        });
    }
    let mut rec = Recorder::default();
    let mut held: Vec<FrameConn> = Vec::new();
    let mut last_note = Instant::now();
    while let Ok(Some(joined)) = tokio::time::timeout_at(hard, tasks.join_next()).await {
        match joined {
            Ok((Ok(conn), took)) => {
                rec.record("login", Outcome::Code(1000), took);
                held.push(conn);
            }
            Ok((Err(ConnError::LoginRefused(c)), took)) => {
                rec.record("login", Outcome::Code(c), took)
            }
            Ok((Err(e), _)) => rec.record("login", Outcome::Failed(e.kind()), Duration::ZERO),
            Err(_) => rec.record("login", Outcome::Failed("task"), Duration::ZERO),
        }
        if !idle.quiet && last_note.elapsed() >= Duration::from_secs(1) {
            eprintln!(
                "epp-load idle: {} of {} sessions logged in",
                held.len(),
                idle.sessions
            );
            last_note = Instant::now();
        }
    }
    tasks.abort_all();
    let logged_in = began.elapsed();
    if let Some(path) = &idle.ready_file {
        std::fs::write(path, format!("{}\n", held.len()))
            .map_err(|e| ScenarioError::Setup(format!("cannot write {}: {e}", path.display())))?;
    }
    if !idle.quiet {
        eprintln!(
            "epp-load idle: holding {} sessions for {:?}",
            held.len(),
            idle.hold
        );
    }
    tokio::time::sleep_until((Instant::now() + idle.hold).min(hard)).await;
    // Check that the held sessions are still alive: one hello on each, bounded in time.
    let mut alive = 0u64;
    let hello = idle.frames.hello.clone();
    for conn in &mut held {
        let left = hard
            .saturating_duration_since(Instant::now())
            .min(idle.request_timeout);
        if let Ok(Ok(answer)) = tokio::time::timeout(left, conn.exchange(&hello)).await {
            alive += u64::from(crate::conn::is_greeting(answer));
        }
    }
    let opened = held.len() as u64;
    drop(held);
    let plan = Plan {
        start: began,
        warmup: Duration::ZERO,
        duration: logged_in,
        rate: Rate::Max,
        sessions: idle.sessions,
        count: None,
    };
    let mut report = RunResult {
        rec,
        ..Default::default()
    }
    .into_report("idle", &plan);
    report.sessions_lost = opened.saturating_sub(alive);
    report.hit_max_time = Instant::now() >= hard;
    report.info.insert("sessions_open".into(), opened.into());
    report
        .info
        .insert("sessions_alive_after_hold".into(), alive.into());
    report
        .info
        .insert("hold_s".into(), idle.hold.as_secs_f64().into());
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_is_about_80_10_5_5() {
        let mut counts = BTreeMap::new();
        for n in 0..100_000u64 {
            *counts
                .entry(pick(Scenario::Mixed, n).name())
                .or_insert(0u64) += 1;
        }
        let share = |k: &str| counts.get(k).copied().unwrap_or(0) as f64 / 100_000.0;
        assert!((share("domain:check") - 0.80).abs() < 0.01, "{counts:?}");
        assert!((share("domain:info") - 0.10).abs() < 0.01, "{counts:?}");
        assert!((share("domain:create") - 0.05).abs() < 0.01, "{counts:?}");
        assert!((share("domain:update") - 0.05).abs() < 0.01, "{counts:?}");
        assert_eq!(pick(Scenario::Check, 7), Scenario::Check);
    }
}

/// What the flood adds to a hello run (`epp-load flood`).
#[derive(Debug, Clone)]
pub struct Flood {
    /// Plain TCP connections (no TLS) opened from `junk_from` and held for the whole run.
    pub junk: u32,
    pub junk_from: std::net::IpAddr,
    /// TLS handshakes per second (each reads the greeting and hangs up) from `storm_from`.
    pub storm_rate: f64,
    pub storm_from: std::net::IpAddr,
}

/// The flood: `junk` idle TCP connections from one address and a TLS handshake storm from
/// another, then (both still going) the registrar logs in (each login timed: `login`) and
/// runs the hello scenario. What the server does with the hostile connections is its
/// business (the per-source budget refuses most of them at accept); the report counts what
/// the flood managed to open.
pub async fn run_flood(run: EppRun, flood: Flood) -> Result<Report, ScenarioError> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
    let config = crate::conn::client_config(&run.target.cert, &run.target.key, &run.target.ca)?;
    let stop = Arc::new(AtomicBool::new(false));
    let hard = Instant::now() + run.max_time;
    let server: std::net::SocketAddr = tokio::net::lookup_host(&run.target.server)
        .await
        .map_err(|e| ScenarioError::Setup(format!("{}: {e}", run.target.server)))?
        .next()
        .ok_or_else(|| ScenarioError::Setup(format!("{}: no address", run.target.server)))?;

    // Junk: connect, never speak, hold until the end. The server closes most at once.
    let junk_open = Arc::new(AtomicU64::new(0));
    let (junk_done_tx, junk_done) = tokio::sync::oneshot::channel::<()>();
    let junk_task = {
        let (stop, junk_open) = (Arc::clone(&stop), Arc::clone(&junk_open));
        let (n, from) = (flood.junk, flood.junk_from);
        tokio::spawn(async move {
            let mut held = Vec::with_capacity(n as usize);
            for _ in 0..n {
                if stop.load(Relaxed) || Instant::now() >= hard {
                    break;
                }
                let sock = match server {
                    std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
                    std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
                };
                let Ok(sock) = sock else { continue };
                if sock.bind(std::net::SocketAddr::new(from, 0)).is_err() {
                    continue;
                }
                if let Ok(Ok(c)) =
                    tokio::time::timeout(Duration::from_secs(2), sock.connect(server)).await
                {
                    junk_open.fetch_add(1, Relaxed);
                    held.push(c);
                }
            }
            let _ = junk_done_tx.send(());
            while !stop.load(Relaxed) && Instant::now() < hard {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            drop(held);
        })
    };
    let _ = tokio::time::timeout_at(hard, junk_done).await;

    // The handshake storm, open loop at `storm_rate`, at most 256 in flight.
    let storm_ok = Arc::new(AtomicU64::new(0));
    let storm_failed = Arc::new(AtomicU64::new(0));
    let storm_task = {
        let (stop, ok, failed) = (
            Arc::clone(&stop),
            Arc::clone(&storm_ok),
            Arc::clone(&storm_failed),
        );
        let (target, config, rate, from) = (
            run.target.clone(),
            Arc::clone(&config),
            flood.storm_rate,
            flood.storm_from,
        );
        tokio::spawn(async move {
            let gate = Arc::new(Semaphore::new(256));
            let start = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            let mut k: u64 = 0;
            while !stop.load(Relaxed) && Instant::now() < hard {
                let at = start + Duration::from_secs_f64(k as f64 / rate);
                tokio::time::sleep_until(at.min(hard)).await;
                k += 1;
                let Ok(permit) = Arc::clone(&gate).try_acquire_owned() else {
                    failed.fetch_add(1, Relaxed);
                    continue;
                };
                let (target, config, ok, failed) = (
                    target.clone(),
                    Arc::clone(&config),
                    Arc::clone(&ok),
                    Arc::clone(&failed),
                );
                tasks.spawn(async move {
                    let _permit = permit;
                    let t = Duration::from_secs(2);
                    let conn = crate::conn::connect_from(
                        &target.server,
                        &target.server_name,
                        config,
                        t,
                        Some(from),
                    )
                    .await;
                    let greeted = match conn {
                        Ok(mut c) => {
                            let g = c.read_greeting(t).await.is_ok();
                            c.shutdown().await;
                            g
                        }
                        Err(_) => false,
                    };
                    if greeted {
                        ok.fetch_add(1, Relaxed);
                    } else {
                        failed.fetch_add(1, Relaxed);
                    }
                });
                while tasks.try_join_next().is_some() {}
            }
            tasks.abort_all();
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The registrar's logins, each timed, then its hello sessions.
    let mut logins = Recorder::default();
    for i in 0..run.sessions.min(8) {
        let frame = login_frame(&run.target, &run.frames, 5_000_000 + u64::from(i))?;
        let sent = Instant::now();
        let outcome = match tokio::time::timeout(
            run.request_timeout,
            open_session(&run.target, Arc::clone(&config), &frame),
        )
        .await
        {
            Ok(Ok(conn)) => {
                conn.shutdown().await;
                Outcome::Code(1000)
            }
            Ok(Err(ConnError::LoginRefused(c))) => Outcome::Code(c),
            Ok(Err(e)) => Outcome::Failed(e.kind()),
            Err(_) => Outcome::Failed("timeout"),
        };
        logins.record("login", outcome, sent.elapsed());
    }
    let workers = open_workers(&run, &config, run.sessions, run.max_time).await;
    let result = match workers {
        Ok(workers) => {
            let plan = Plan {
                start: Instant::now() + Duration::from_millis(50),
                warmup: run.warmup,
                duration: run.duration,
                rate: run.rate,
                sessions: run.sessions,
                count: run.count,
            };
            let driver = Arc::new(Driver {
                plan,
                request_timeout: run.request_timeout,
                max_time: run.max_time,
                progress: Arc::new(Progress::default()),
            });
            let mut result = driver.run_all(workers).await;
            result.rec.merge(&logins);
            Ok(result.into_report("flood", &plan))
        }
        Err(e) => Err(e),
    };
    stop.store(true, Relaxed);
    let _ = tokio::time::timeout(Duration::from_secs(5), storm_task).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), junk_task).await;
    let mut report = result?;
    report
        .info
        .insert("junk_connections_requested".into(), flood.junk.into());
    report.info.insert(
        "junk_connections_opened".into(),
        junk_open.load(Relaxed).into(),
    );
    report
        .info
        .insert("junk_from".into(), flood.junk_from.to_string().into());
    report
        .info
        .insert("storm_rate".into(), flood.storm_rate.into());
    report
        .info
        .insert("storm_from".into(), flood.storm_from.to_string().into());
    report
        .info
        .insert("storm_greeted".into(), storm_ok.load(Relaxed).into());
    report
        .info
        .insert("storm_failed".into(), storm_failed.load(Relaxed).into());
    Ok(report)
}
