//! Benchmark of issues #6 and #20: full zone of N delegations (write time, kzonecheck time),
//! publisher start (cold: snapshot + generate + AXFR re-diff; resumed: the primary serves
//! the stored serial, so data at the stored position + generate, then the backlog as
//! batches), and the latency from "change available" to "answer visible" at a Knot primary
//! and an NSD secondary. Prints figures (`--json FILE`: also as one JSON object); asserts
//! nothing.
//!
//! `cargo run --release -p zonegen --bin zonegen-bench -- --domains 1000000 --changes 200`

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use zonegen::dns::DnsClient;
use zonegen::harness::{free_port, kzonecheck, named_checkzone, tool_available, Knot, Nsd};
use zonegen::master::write_master_file;
use zonegen::publisher::{Publisher, PublisherConfig, StepOutcome};
use zonegen::source::MemorySource;
use zonegen::store::MemoryStore;
use zonegen::{zone_contents, ApexConfig, Change, DnsName, DomainDelegationState, Ds, HostAddrs};

#[derive(Parser, Debug)]
struct Args {
    /// Number of delegations.
    #[arg(long, default_value_t = 1_000_000)]
    domains: usize,
    /// Number of incremental changes to time.
    #[arg(long, default_value_t = 200)]
    changes: usize,
    /// Also time named-checkzone (slow on large zones).
    #[arg(long)]
    named_checkzone: bool,
    /// Skip the DNS-server part.
    #[arg(long)]
    no_dns: bool,
    /// Journal entries written while the publisher is down, before the resumed start.
    #[arg(long, default_value_t = 100)]
    backlog: usize,
    /// Do not set the publisher's kick_command (shows Knot's one-second UPDATE stall).
    #[arg(long)]
    no_kick: bool,
    /// Sustained mode: this many changes per second (open loop, not waiting for each)...
    #[arg(long)]
    rate: Option<u32>,
    /// ... for this many seconds (with --rate).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// How often each change's watcher asks Knot and NSD for it, ms (every query is a TCP
    /// connection: at 20 changes/s, 2 ms makes a few thousand a second on the same cores).
    #[arg(long, default_value_t = 2)]
    poll_ms: u64,
    /// Also write the figures to this file as one JSON object (for bench/run).
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// The figures, for `--json`; `None` where not measured.
#[derive(Debug, Default)]
struct Figures {
    domains: usize,
    owners: usize,
    zone_mb: f64,
    zone_contents_s: f64,
    generate_write_s: f64,
    peak_rss_mb: Option<f64>,
    kzonecheck_s: Option<f64>,
    knot_load_s: Option<f64>,
    nsd_transfer_s: Option<f64>,
    start_cold_s: Option<f64>,
    start_resume_s: Option<f64>,
    backlog: usize,
    backlog_published_s: Option<f64>,
    knot_ms: Option<[f64; 3]>,
    nsd_ms: Option<[f64; 3]>,
    changes: usize,
}

impl Figures {
    fn to_json(&self) -> serde_json::Value {
        let lat = |v: Option<[f64; 3]>| {
            v.map(
                |[p50, p99, max]| serde_json::json!({"p50_ms": p50, "p99_ms": p99, "max_ms": max}),
            )
        };
        serde_json::json!({
            "domains": self.domains,
            "owners": self.owners,
            "zone_mb": self.zone_mb,
            "zone_contents_s": self.zone_contents_s,
            "generate_write_s": self.generate_write_s,
            "peak_rss_mb": self.peak_rss_mb,
            "kzonecheck_s": self.kzonecheck_s,
            "knot_load_s": self.knot_load_s,
            "nsd_transfer_s": self.nsd_transfer_s,
            "publisher_start_cold_s": self.start_cold_s,
            "publisher_start_resume_s": self.start_resume_s,
            "backlog": self.backlog,
            "backlog_published_s": self.backlog_published_s,
            "changes": self.changes,
            "latency_knot": lat(self.knot_ms),
            "latency_nsd": lat(self.nsd_ms),
        })
    }
}

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("{0}")]
    Msg(String),
}

fn err<E: std::fmt::Display>(e: E) -> BenchError {
    BenchError::Msg(e.to_string())
}

fn name(s: &str) -> Result<DnsName, BenchError> {
    DnsName::new(s).map_err(err)
}

/// xorshift64*: deterministic test data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn apex() -> Result<ApexConfig, BenchError> {
    Ok(ApexConfig {
        origin: name("tld")?,
        mname: name("ns1.nic.tld")?,
        rname: name("hostmaster.nic.tld")?,
        refresh: 1800,
        retry: 900,
        expire: 604_800,
        minimum: 3600,
        ttl: 3600,
        apex_ns: vec![name("ns1.nic.tld")?, name("ns2.nic.tld")?],
        apex_glue: [
            (name("ns1.nic.tld")?, vec![IpAddr::from([192, 0, 2, 53])]),
            (name("ns2.nic.tld")?, vec![IpAddr::from([192, 0, 2, 54])]),
        ]
        .into_iter()
        .collect(),
    })
}

/// Mixed data: 80 % on 1,000 out-of-bailiwick providers, 10 % on 500 shared in-zone hosting
/// name servers, 10 % with their own in-domain glue (v4 + v6); ~10 % signed (DS).
fn generate(count: usize) -> Result<(Vec<DomainDelegationState>, HostAddrs), BenchError> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut domains = Vec::with_capacity(count);
    let mut hosts = HostAddrs::new();
    for k in 0..500u32 {
        hosts.insert(
            name(&format!("ns1.hosting{k}.tld"))?,
            vec![IpAddr::from([198, 18, (k >> 8) as u8, k as u8])],
        );
    }
    for i in 0..count {
        let d = format!("d{i}.tld");
        let kind = rng.below(10);
        let ns = if kind < 8 {
            let p = rng.below(1000);
            vec![
                name(&format!("ns1.provider{p}.example"))?,
                name(&format!("ns2.provider{p}.example"))?,
            ]
        } else if kind == 8 {
            let k = rng.below(500);
            vec![
                name(&format!("ns1.hosting{k}.tld"))?,
                name("ns.backup.example")?,
            ]
        } else {
            let h = name(&format!("ns1.{d}"))?;
            let i32 = i as u32;
            hosts.insert(
                h.clone(),
                vec![
                    IpAddr::from([10, (i32 >> 16) as u8, (i32 >> 8) as u8, i32 as u8]),
                    IpAddr::from(std::net::Ipv6Addr::new(
                        0x2001,
                        0xdb8,
                        0,
                        0,
                        0,
                        0,
                        (i32 >> 16) as u16,
                        i32 as u16,
                    )),
                ],
            );
            vec![h, name("ns.backup.example")?]
        };
        let ds = if rng.below(10) == 0 {
            let mut digest = vec![0u8; 32];
            for b in digest.iter_mut() {
                *b = rng.next() as u8;
            }
            vec![Ds::new(rng.below(65536) as u16, 13, 2, digest).map_err(err)?]
        } else {
            Vec::new()
        };
        domains.push(DomainDelegationState {
            name: name(&d)?,
            ns,
            ds,
            on_hold: false,
            in_redemption_or_pending_delete: false,
        });
    }
    Ok((domains, hosts))
}

/// A line of `/proc/self/status` in kB (`VmHWM`: peak resident set, `VmRSS`: current).
fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Restarts the peak-RSS counter (Linux: "5" to clear_refs), so the next `VmHWM` is the
/// peak of what follows. False where that is not supported.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or_else(|| "?".into(), |kb| format!("{:.0} MB", kb as f64 / 1024.0))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Prints p50/p99/max and returns them, in ms.
fn report(label: &str, mut v: Vec<Duration>) -> [f64; 3] {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let out = [
        ms(percentile(&v, 0.5)),
        ms(percentile(&v, 0.99)),
        ms(v.last().copied().unwrap_or_default()),
    ];
    println!(
        "{label}: n={} p50={:.1} ms p99={:.1} ms max={:.1} ms",
        v.len(),
        out[0],
        out[1],
        out[2]
    );
    out
}

fn write_json(path: Option<&std::path::Path>, f: &Figures) -> Result<(), BenchError> {
    if let Some(path) = path {
        let text = serde_json::to_string_pretty(&f.to_json()).map_err(err)?;
        std::fs::write(path, text + "\n").map_err(err)?;
    }
    Ok(())
}

/// A change of `d`'s NS set to a new provider `p`; returns the sorted NS set to wait for.
fn repoint(d: &mut DomainDelegationState, p: usize) -> Result<Vec<DnsName>, BenchError> {
    d.ns = vec![
        name(&format!("ns1.newprovider{p}.example"))?,
        name(&format!("ns2.newprovider{p}.example"))?,
    ];
    let mut want = d.ns.clone();
    want.sort();
    Ok(want)
}

async fn wait_serial(
    client: &DnsClient,
    origin: &DnsName,
    serial: u32,
    limit: Duration,
) -> Result<Duration, BenchError> {
    let t = Instant::now();
    loop {
        if let Ok(Some(s)) = client.soa_serial(origin).await {
            if s == serial {
                return Ok(t.elapsed());
            }
        }
        if t.elapsed() > limit {
            return Err(BenchError::Msg(format!(
                "serial {serial} not served at {} in {limit:?}",
                client.server
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_ns(
    client: &DnsClient,
    d: &DnsName,
    want: &[DnsName],
    since: Instant,
    poll: Duration,
) -> Result<Duration, BenchError> {
    loop {
        if let Ok(r) = client.referral(d).await {
            if r.ns == want {
                return Ok(since.elapsed());
            }
        }
        if since.elapsed() > Duration::from_secs(30) {
            return Err(BenchError::Msg(format!(
                "{d} not visible at {} after 30 s",
                client.server
            )));
        }
        tokio::time::sleep(poll).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BenchError> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        ))
        .init();
    let args = Args::parse();
    let apex = apex()?;
    let mut fig = Figures {
        domains: args.domains,
        changes: args.changes,
        backlog: args.backlog,
        ..Figures::default()
    };
    println!(
        "zonegen-bench: {} delegations, {} changes",
        args.domains, args.changes
    );

    let t = Instant::now();
    let (domains, hosts) = generate(args.domains)?;
    println!("test data generated in {:.2} s", t.elapsed().as_secs_f64());

    let dir = tempfile::tempdir().map_err(err)?;
    let path = dir.path().join("tld.zone");
    let rss_input = proc_status_kb("VmRSS:");
    let peak_reset = reset_peak_rss();
    let t = Instant::now();
    let (zone, warnings) = zone_contents(&apex, &domains, &hosts);
    let t_gen = t.elapsed();
    let serial = zonegen::serial::unix_now();
    write_master_file(&zone, serial, &path).map_err(err)?;
    let t_total = t.elapsed();
    let size = std::fs::metadata(&path).map_err(err)?.len();
    fig.owners = zone.nodes.len();
    fig.zone_mb = size as f64 / 1e6;
    fig.zone_contents_s = t_gen.as_secs_f64();
    fig.generate_write_s = t_total.as_secs_f64();
    fig.peak_rss_mb = proc_status_kb("VmHWM:").map(|kb| kb as f64 / 1024.0);
    println!(
        "full zone: {} delegations, {} owners, {} warnings; zone_contents {:.2} s, \
         generate+write {:.2} s, {:.1} MB",
        zone.delegation_count(),
        zone.nodes.len(),
        warnings.len(),
        t_gen.as_secs_f64(),
        t_total.as_secs_f64(),
        size as f64 / 1e6
    );
    println!(
        "memory: RSS with the test data {}, peak during generate+write {}{}",
        mb(rss_input),
        mb(proc_status_kb("VmHWM:")),
        if peak_reset {
            ""
        } else {
            " (process peak: reset unsupported)"
        }
    );
    if tool_available("kzonecheck") {
        let k = kzonecheck(&path, &apex.origin).map_err(err)?;
        fig.kzonecheck_s = Some(k.elapsed.as_secs_f64());
        println!(
            "kzonecheck: ok={} in {:.2} s",
            k.ok,
            k.elapsed.as_secs_f64()
        );
        if !k.ok {
            println!(
                "{}",
                k.output.lines().take(20).collect::<Vec<_>>().join("\n")
            );
        }
    } else {
        println!("kzonecheck: not installed");
    }
    if args.named_checkzone && tool_available("named-checkzone") {
        let b = named_checkzone(&path, &apex.origin).map_err(err)?;
        println!(
            "named-checkzone -i local: ok={} in {:.2} s",
            b.ok,
            b.elapsed.as_secs_f64()
        );
    }
    if args.no_dns {
        return write_json(args.json.as_deref(), &fig);
    }

    // DNS part: Knot loads the file, NSD transfers it, the publisher runs its loop.
    let nsd_port = free_port().map_err(err)?;
    let t = Instant::now();
    let knot = Knot::start(
        &apex.origin,
        |p| std::fs::copy(&path, p).map(|_| ()),
        Some(nsd_port),
    )
    .map_err(err)?;
    let primary = DnsClient::new(knot.addr(), None, Duration::from_secs(10));
    let load = wait_serial(&primary, &apex.origin, serial, Duration::from_secs(300)).await?;
    println!("knot loaded the zone in {:.2} s", t.elapsed().as_secs_f64());
    fig.knot_load_s = Some(t.elapsed().as_secs_f64());
    let _ = load;
    let t = Instant::now();
    let nsd = Nsd::start(&apex.origin, nsd_port, &knot).map_err(err)?;
    let secondary = DnsClient::new(nsd.addr(), None, Duration::from_secs(10));
    wait_serial(&secondary, &apex.origin, serial, Duration::from_secs(600)).await?;
    println!(
        "nsd transferred the zone in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    fig.nsd_transfer_s = Some(t.elapsed().as_secs_f64());
    drop(zone);

    let source = Arc::new(MemorySource::new(domains.clone(), hosts));
    let mut cfg = PublisherConfig::new(apex.clone(), knot.addr(), knot.zone_file.clone());
    cfg.key = Some(knot.key.clone());
    cfg.notify_key = Some(knot.key.clone());
    cfg.reload_command = knot.reload_command();
    if !args.no_kick {
        cfg.kick_command = knot.kick_command();
    }
    cfg.notify = vec![nsd.addr()];
    cfg.reconcile_interval = None;
    cfg.dns_timeout = Duration::from_secs(60);
    let store = MemoryStore::default();
    let mut publisher = Publisher::new(cfg.clone(), source.clone(), store.clone());
    let metrics = publisher.metrics();
    let t = Instant::now();
    let outcome = publisher.start().await.map_err(err)?;
    let cold = t.elapsed();
    fig.start_cold_s = Some(cold.as_secs_f64());
    println!(
        "publisher start, cold (nothing stored: snapshot + generate + AXFR re-diff) {:.2} s, \
         full reloads {}, {outcome:?}",
        cold.as_secs_f64(),
        metrics.snapshot().full_reloads
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        publisher.run(stop_rx).await;
    });

    let poll = Duration::from_millis(args.poll_ms.max(1));
    let mut rng = Rng(42);
    let (at_primary, at_secondary) = match args.rate {
        None => {
            let mut at_primary = Vec::with_capacity(args.changes);
            let mut at_secondary = Vec::with_capacity(args.changes);
            for i in 0..args.changes {
                let idx = rng.below(domains.len() as u64) as usize;
                let mut d = domains[idx].clone();
                let want = repoint(&mut d, 1000 + i)?;
                let since = Instant::now();
                source.push(Change::Domain(d.clone()));
                at_primary.push(wait_ns(&primary, &d.name, &want, since, poll).await?);
                at_secondary.push(wait_ns(&secondary, &d.name, &want, since, poll).await?);
                tokio::time::sleep(Duration::from_millis(rng.below(100))).await;
            }
            (at_primary, at_secondary)
        }
        Some(rate) => {
            // Open loop: one change every 1/rate s, each watched by its own task.
            let total = (u64::from(rate) * args.seconds) as usize;
            fig.changes = total;
            println!(
                "sustained: {rate} changes/s for {} s ({total} changes)",
                args.seconds
            );
            let mut tick =
                tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
            let mut watchers = Vec::with_capacity(total);
            let mut used = std::collections::HashSet::new();
            for i in 0..total {
                tick.tick().await;
                let mut idx = rng.below(domains.len() as u64) as usize;
                while !used.insert(idx) {
                    idx = rng.below(domains.len() as u64) as usize;
                }
                let mut d = domains[idx].clone();
                let want = repoint(&mut d, 1000 + i)?;
                let since = Instant::now();
                source.push(Change::Domain(d.clone()));
                let (p, s) = (primary.clone(), secondary.clone());
                watchers.push(tokio::spawn(async move {
                    let (a, b) = tokio::join!(
                        wait_ns(&p, &d.name, &want, since, poll),
                        wait_ns(&s, &d.name, &want, since, poll)
                    );
                    Ok::<_, BenchError>((a?, b?))
                }));
            }
            let mut at_primary = Vec::with_capacity(total);
            let mut at_secondary = Vec::with_capacity(total);
            for w in watchers {
                let (a, b) = w.await.map_err(err)??;
                at_primary.push(a);
                at_secondary.push(b);
            }
            (at_primary, at_secondary)
        }
    };
    let _ = stop_tx.send(true);
    let _ = task.await;
    fig.knot_ms = Some(report(
        "latency change->visible at Knot primary",
        at_primary,
    ));
    fig.nsd_ms = Some(report(
        "latency change->visible at NSD secondary",
        at_secondary,
    ));
    println!("publisher metrics: {:?}", metrics.snapshot());

    // Restart: while the publisher is down, `--backlog` changes come in; the primary still
    // serves the stored serial, so the new publisher resumes from the stored position.
    let mut last = None;
    for i in 0..args.backlog {
        let idx = rng.below(domains.len() as u64) as usize;
        let mut d = domains[idx].clone();
        let want = repoint(&mut d, 1_000_000 + i)?;
        source.push(Change::Domain(d.clone()));
        last = Some((d.name, want));
    }
    let mut publisher = Publisher::new(cfg, source.clone(), store);
    let metrics = publisher.metrics();
    let t = Instant::now();
    let outcome = publisher.start().await.map_err(err)?;
    let resume = t.elapsed();
    fig.start_resume_s = Some(resume.as_secs_f64());
    println!(
        "publisher start, resumed (stored serial served: data at the stored position + \
         generate, no AXFR) {:.2} s, {outcome:?}",
        resume.as_secs_f64()
    );
    let t = Instant::now();
    loop {
        match publisher.step().await.map_err(err)? {
            StepOutcome::Idle => break,
            StepOutcome::Held(h) => return Err(BenchError::Msg(format!("backlog held: {h:?}"))),
            _ => {}
        }
    }
    if let Some((d, want)) = last {
        wait_ns(&primary, &d, &want, t, poll).await?;
    }
    fig.backlog_published_s = Some(t.elapsed().as_secs_f64());
    println!(
        "backlog of {} changes published after the resumed start in {:.2} s, full reloads {}",
        args.backlog,
        t.elapsed().as_secs_f64(),
        metrics.snapshot().full_reloads
    );
    write_json(args.json.as_deref(), &fig)
}
