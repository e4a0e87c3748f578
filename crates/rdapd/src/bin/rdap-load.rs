//! `rdap-load`: the RDAP benchmark's load tool.
//!
//! * `rdap-load setup --dir DIR --db URL --domains N --port P` makes a data set through the
//!   real registry (`registry_core::Registry::execute`, as EPP commands would: a registrar,
//!   a registrant and tech contact, N domains `load-<i>.test` with two name servers and a DS
//!   record each), a self-signed certificate and `DIR/rdapd.toml` (HTTPS on 127.0.0.1:P,
//!   loopback exempt from the rate limit).
//! * `rdap-load run --url https://127.0.0.1:P --ca DIR/rdap.crt --domains N` sends
//!   `/domain/load-<random i>.test` over `--connections` keep-alive HTTPS connections, closed
//!   loop (`--rate max`) or open loop (`--rate R`, latency counted from the scheduled send
//!   time), and prints throughput and latency percentiles (`--json` for the report).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use epp_proto::contact::{Address, ContactCommand, ContactCreate, PostalInfo, PostalInfoType};
use epp_proto::domain::{ContactType, DomainCommand, DomainContact, DomainCreate, NameServers};
use epp_proto::ext::sec_dns::{DsData, DsOrKeyData, SecDnsCreate};
use epp_proto::ext::CommandExtension;
use epp_proto::host::{HostCommand, HostCreate};
use epp_proto::{AuthInfo, ClientId, Command, CommandFrame, ContactId, HostName, Period, SvTrid};
use hdrhistogram::Histogram;
use rdapd::client::{tls_config, Client};
use registry_core::clock::SystemClock;
use registry_core::registrar::{
    parse_network, CertFingerprint, PasswordHash, Registrar, RegistrarStatus,
};
use registry_core::{Actor, Registry};
use registry_store::{Db, SqlStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

#[derive(Debug, Parser)]
#[command(name = "rdap-load", about = "Load tool of the RDAP benchmark")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Make the data set, a certificate and an rdapd configuration.
    Setup {
        #[arg(long)]
        dir: PathBuf,
        /// The registry database (migrated here).
        #[arg(long)]
        db: String,
        #[arg(long, default_value_t = 10_000)]
        domains: u32,
        #[arg(long, default_value_t = 17780)]
        port: u16,
    },
    /// Send `/domain` lookups and report.
    Run {
        /// `https://HOST:PORT` of the server.
        #[arg(long)]
        url: String,
        /// The server's certificate (or its CA), PEM.
        #[arg(long)]
        ca: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        domains: u32,
        #[arg(long, default_value_t = 32)]
        connections: u32,
        /// `max` (closed loop) or queries per second in all (open loop).
        #[arg(long, default_value = "max")]
        rate: String,
        #[arg(long, default_value_t = 8)]
        duration: u64,
        #[arg(long, default_value_t = 2)]
        warmup: u64,
        /// Worker threads of the load generator.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long)]
        json: bool,
    },
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Setup {
            dir,
            db,
            domains,
            port,
        } => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(setup(dir, db, domains, port)),
        Cmd::Run {
            url,
            ca,
            domains,
            connections,
            rate,
            duration,
            warmup,
            threads,
            json,
        } => {
            let rate = if rate == "max" {
                None
            } else {
                Some(
                    rate.parse::<f64>()
                        .map_err(|_| format!("--rate {rate:?}: max or a number"))?,
                )
            };
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads.max(1))
                .enable_all()
                .build()?
                .block_on(run(RunOpts {
                    url,
                    ca,
                    domains,
                    connections,
                    rate,
                    duration: Duration::from_secs(duration),
                    warmup: Duration::from_secs(warmup),
                    json,
                }))
        }
    }
}

// ---- setup ------------------------------------------------------------------------------

const CL_ID: &str = "load";

fn actor(n: u64) -> Result<Actor, BoxError> {
    Ok(Actor {
        cl_id: ClientId::new(CL_ID)?,
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        cert_fingerprint: None,
        cl_trid: None,
        sv_trid: SvTrid::new(&format!("LOAD-{n}"))?,
    })
}

async fn exec(
    reg: &Registry<SqlStore>,
    n: u64,
    command: Command,
    extensions: Vec<CommandExtension>,
) -> Result<(), BoxError> {
    let frame = CommandFrame {
        command,
        extensions,
        cl_trid: None,
    };
    match reg.execute(&actor(n)?, &frame).await {
        Ok(_) => Ok(()),
        // Reruns reuse what exists.
        Err(e) if e.result_code().code() == 2302 => Ok(()),
        Err(e) => Err(format!("command {n}: {e}").into()),
    }
}

fn contact(id: &str) -> Result<Command, BoxError> {
    Ok(Command::Contact(ContactCommand::Create(ContactCreate {
        id: ContactId::new(id)?,
        postal_info: vec![PostalInfo {
            info_type: PostalInfoType::Int,
            name: format!("Load {id}"),
            org: Some("Load Testing Ltd".into()),
            addr: Address {
                street: vec!["1 Benchmark Road".into()],
                city: "Loadville".into(),
                sp: None,
                pc: Some("12345".into()),
                cc: "US".into(),
            },
        }],
        voice: Some(epp_proto::contact::Phone {
            number: "+1.5555550100".into(),
            ext: None,
        }),
        fax: None,
        email: format!("{id}@load.example"),
        // No authInfo (RFC 9154: none until a transfer needs one).
        auth_info: AuthInfo::new("", None)?,
        disclose: None,
    })))
}

async fn setup(dir: PathBuf, url: String, domains: u32, port: u16) -> Result<(), BoxError> {
    std::fs::create_dir_all(&dir)?;
    let db = Db::connect(&url, 8).await?;
    // A registrar the load data belongs to (it never logs in: its certificate pin and
    // password are random).
    let cl_id = ClientId::new(CL_ID)?;
    if db.registrar(&cl_id).await?.is_none() {
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut salt).map_err(|e| format!("random: {e}"))?;
        let pw = hex_string(&salt);
        let hash = {
            use argon2::password_hash::{PasswordHasher, SaltString};
            let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
            argon2::Argon2::default()
                .hash_password(pw.as_bytes(), &salt)
                .map_err(|e| e.to_string())?
                .to_string()
        };
        let mut fp = [0u8; 32];
        getrandom::getrandom(&mut fp).map_err(|e| format!("random: {e}"))?;
        let r = Registrar::new(
            cl_id,
            "Load Test Registrar",
            RegistrarStatus::Active,
            PasswordHash::new(&hash)?,
            vec![CertFingerprint::from_bytes(fp)],
            vec![parse_network("127.0.0.1/32")?],
            1,
        )?;
        db.insert_registrar(&r, chrono::Utc::now()).await?;
    }
    let reg = Arc::new(Registry::new(
        SqlStore::new(db.clone()),
        Arc::new(SystemClock),
        registry_core::Config::default(),
    ));
    exec(&reg, 1, contact("load-holder")?, Vec::new()).await?;
    exec(&reg, 2, contact("load-tech")?, Vec::new()).await?;
    for (i, ns) in ["ns1.dns-load.example", "ns2.dns-load.example"]
        .iter()
        .enumerate()
    {
        let c = Command::Host(HostCommand::Create(HostCreate {
            name: HostName::new(ns)?,
            addrs: Vec::new(),
        }));
        exec(&reg, 3 + i as u64, c, Vec::new()).await?;
    }
    let started = Instant::now();
    // Creates in parallel: SQLite commits them in groups.
    let mut tasks = tokio::task::JoinSet::new();
    let workers = 32u32;
    for w in 0..workers {
        let reg = reg.clone();
        tasks.spawn(async move {
            let mut i = w;
            while i < domains {
                let create = DomainCreate {
                    name: HostName::new(&format!("load-{i}.test"))?,
                    period: Some(Period::years(1)?),
                    ns: Some(NameServers::HostObj(vec![
                        HostName::new("ns1.dns-load.example")?,
                        HostName::new("ns2.dns-load.example")?,
                    ])),
                    registrant: Some(ContactId::new("load-holder")?),
                    contacts: vec![
                        DomainContact {
                            contact_type: ContactType::Admin,
                            id: ContactId::new("load-tech")?,
                        },
                        DomainContact {
                            contact_type: ContactType::Tech,
                            id: ContactId::new("load-tech")?,
                        },
                    ],
                    auth_info: AuthInfo::new("", None)?,
                };
                let ds = SecDnsCreate {
                    max_sig_life: None,
                    data: DsOrKeyData::Ds(vec![DsData {
                        key_tag: (i % 65_536) as u16,
                        alg: 13,
                        digest_type: 2,
                        digest: format!("{:064X}", u64::from(i) * 2_654_435_761),
                        key_data: None,
                    }]),
                };
                exec(
                    &reg,
                    10 + u64::from(i),
                    Command::Domain(DomainCommand::Create(create)),
                    vec![CommandExtension::SecDnsCreate(ds)],
                )
                .await?;
                i += workers;
            }
            Ok::<(), BoxError>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    eprintln!(
        "{domains} domains in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    db.close().await;

    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?
        .self_signed(&key)?;
    let (crt, keyp) = (dir.join("rdap.crt"), dir.join("rdap.key"));
    std::fs::write(&crt, cert.pem())?;
    std::fs::write(&keyp, key.serialize_pem())?;
    let cfg = format!(
        "# Written by `rdap-load setup`.\n\
         [server]\nlisten = [\"127.0.0.1:{port}\"]\nbase_url = \"https://127.0.0.1:{port}/\"\n\
         [tls]\ncert_chain = {crt:?}\nkey = {keyp:?}\n\
         [database]\nurl = {url:?}\nmax_connections = 4\n\
         [rate_limit]\nexempt = [\"127.0.0.0/8\"]\n\
         [log]\nfilter = \"warn\"\n",
        crt = crt.display().to_string(),
        keyp = keyp.display().to_string(),
    );
    std::fs::write(dir.join("rdapd.toml"), cfg)?;
    rdapd::Config::load(&dir.join("rdapd.toml"))?;
    Ok(())
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---- run --------------------------------------------------------------------------------

struct RunOpts {
    url: String,
    ca: PathBuf,
    domains: u32,
    connections: u32,
    rate: Option<f64>,
    duration: Duration,
    warmup: Duration,
    json: bool,
}

/// What one connection measured.
struct Tally {
    hist: Histogram<u64>,
    ok: u64,
    other: std::collections::BTreeMap<u16, u64>,
    errors: u64,
    bytes: u64,
}

async fn run(o: RunOpts) -> Result<(), BoxError> {
    let hostport = o
        .url
        .strip_prefix("https://")
        .ok_or("--url must be https://HOST:PORT")?
        .trim_end_matches('/');
    let addr: SocketAddr = tokio::net::lookup_host(hostport)
        .await?
        .next()
        .ok_or("--url: no address")?;
    let host = hostport.rsplit_once(':').map_or(hostport, |(h, _)| h);
    let ca: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(&o.ca)?.collect::<Result<_, _>>()?;
    let tls = tls_config(&ca)?;
    let start = Instant::now() + Duration::from_millis(200);
    let measure_from = start + o.warmup;
    let end = measure_from + o.duration;
    let stop = Arc::new(AtomicBool::new(false));
    let per_conn_interval = o
        .rate
        .map(|r| Duration::from_secs_f64(f64::from(o.connections) / r.max(1.0)));
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..o.connections {
        let tls = tls.clone();
        let host = host.to_owned();
        let stop = stop.clone();
        let domains = o.domains.max(1);
        let conns = o.connections.max(1);
        tasks.spawn(async move {
            let mut client = Client::connect(addr, Some((tls.clone(), &host))).await?;
            let mut t = Tally {
                hist: Histogram::new_with_bounds(1, 60_000_000, 3)?,
                ok: 0,
                other: Default::default(),
                errors: 0,
                bytes: 0,
            };
            let mut x: u64 =
                0x9E37_79B9_7F4A_7C15 ^ (u64::from(c) + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            // Spread the open-loop schedules of the connections over one interval.
            let mut next = start
                + per_conn_interval
                    .map(|i| i.mul_f64(f64::from(c) / f64::from(conns)))
                    .unwrap_or_default();
            tokio::time::sleep_until(start.into()).await;
            loop {
                let now = Instant::now();
                if now >= end || stop.load(Ordering::Relaxed) {
                    break;
                }
                let scheduled = match per_conn_interval {
                    Some(i) => {
                        if next > now {
                            tokio::time::sleep_until(next.into()).await;
                        }
                        let s = next;
                        next += i;
                        s
                    }
                    None => now,
                };
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = x % u64::from(domains);
                let path = format!("/domain/load-{i}.test");
                let r = client.get(&path).await;
                let done = Instant::now();
                if scheduled < measure_from {
                    continue;
                }
                if done > end {
                    break;
                }
                match r {
                    Ok(a) => {
                        t.bytes += a.body.len() as u64;
                        if a.status == 200 {
                            t.ok += 1;
                        } else {
                            *t.other.entry(a.status.as_u16()).or_default() += 1;
                        }
                        let us = done.duration_since(scheduled).as_micros().max(1);
                        let _ = t.hist.record(u64::try_from(us).unwrap_or(u64::MAX));
                    }
                    Err(e) => {
                        t.errors += 1;
                        eprintln!("connection {c}: {e}");
                        client = Client::connect(addr, Some((tls.clone(), &host))).await?;
                    }
                }
            }
            Ok::<Tally, BoxError>(t)
        });
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut ok, mut errors, mut bytes) = (0u64, 0u64, 0u64);
    let mut other = std::collections::BTreeMap::<u16, u64>::new();
    while let Some(r) = tasks.join_next().await {
        match r? {
            Ok(t) => {
                hist.add(&t.hist)?;
                ok += t.ok;
                errors += t.errors;
                bytes += t.bytes;
                for (k, v) in t.other {
                    *other.entry(k).or_default() += v;
                }
            }
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
    }
    let secs = o.duration.as_secs_f64();
    let answered = ok + other.values().sum::<u64>();
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let mut codes = serde_json::Map::new();
    codes.insert("200".into(), ok.into());
    for (k, v) in &other {
        codes.insert(k.to_string(), (*v).into());
    }
    let report = serde_json::json!({
        "scenario": "rdap-domain",
        "target_rate": o.rate,
        "connections": o.connections,
        "duration_s": secs,
        "total": {
            "throughput": answered as f64 / secs,
            "errors": errors + other.values().sum::<u64>(),
            "codes": codes,
            "latency": {
                "p50_ms": ms(0.50),
                "p90_ms": ms(0.90),
                "p99_ms": ms(0.99),
                "max_ms": hist.max() as f64 / 1000.0,
            },
        },
        "info": { "domains": o.domains, "mean_answer_bytes": bytes.checked_div(answered).unwrap_or(0) },
    });
    eprintln!(
        "rdap-domain{}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, errors {}",
        o.rate
            .map(|r| format!(" (open loop {r:.0}/s)"))
            .unwrap_or_default(),
        answered as f64 / secs,
        ms(0.5),
        ms(0.99),
        hist.max() as f64 / 1000.0,
        errors + other.values().sum::<u64>()
    );
    if o.json {
        println!("{report}");
    }
    Ok(())
}
