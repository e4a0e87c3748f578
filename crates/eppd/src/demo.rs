//! `eppd demo`: a complete registry on the loopback interface in one command, for a first look
//! and for the quick-start tests.
//!
//! Under the data directory it creates (and on later runs reuses): a development CA, a server
//! certificate for `localhost`/127.0.0.1/::1, a registrar `demo` with its own client
//! certificate pinned, a random password and the loopback networks allowed, an SQLite
//! database, the configuration file the server runs with, an epp-cli profile, a contact
//! `demo-contact` so that `domain create` works at once, and `demo.json` describing it all.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, TimeDelta, Utc};
use epp_proto::contact::{Address, ContactCommand, ContactCreate, PostalInfo, PostalInfoType};
use epp_proto::{AuthInfo, ClientId, Command, CommandFrame, ContactId, SvTrid};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use registry_core::clock::SystemClock;
use registry_core::registrar::{parse_network, Registrar, RegistrarStatus};
use registry_core::Actor;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Serialize;

use crate::app::{self, App, AppError};
use crate::config::{Config, ConfigError};
use crate::server::Shutdown;

/// The demo registrar.
pub const CL_ID: &str = "demo";
/// The contact the demo creates for `domain create --registrant`.
pub const CONTACT_ID: &str = "demo-contact";
/// The default `--listen`.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7700);
/// The default `--data`.
pub const DEFAULT_DATA: &str = "eppd-demo";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("certificate generation: {0}")]
    Cert(#[from] rcgen::Error),
    #[error("{path} is not a usable PEM file: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    App(#[from] AppError),
    #[error("demo registrar: {0}")]
    Registrar(String),
    #[error("demo contact: {0}")]
    Contact(String),
    #[error("randomness unavailable: {0}")]
    Random(String),
    #[error("demo zone file: {0}")]
    Zone(#[from] zonegen::ZoneFileError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What `eppd demo` was asked for.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub metrics: Option<SocketAddr>,
    /// Another database than DIR/registry.db (e.g. a PostgreSQL URL, for benchmarks).
    pub db: Option<String>,
    /// Concurrent sessions the demo registrar may hold (the benchmark opens 1,000).
    pub max_sessions: u32,
}

/// The files of a demo, all under its data directory.
#[derive(Debug, Clone)]
pub struct DemoFiles {
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub password: PathBuf,
    pub database: PathBuf,
    pub config: PathBuf,
    pub profile: PathBuf,
    pub info: PathBuf,
    /// The TLD zone as an RFC 1035 master file, kept current while the demo runs.
    pub zone: PathBuf,
}

impl DemoFiles {
    pub fn new(dir: &Path) -> Self {
        let f = |n: &str| dir.join(n);
        Self {
            dir: dir.to_owned(),
            ca_cert: f("ca.crt"),
            ca_key: f("ca.key"),
            server_cert: f("server.crt"),
            server_key: f("server.key"),
            client_cert: f("demo.crt"),
            client_key: f("demo.key"),
            password: f("password"),
            database: f("registry.db"),
            config: f("eppd.toml"),
            profile: f("epp-cli.toml"),
            info: f("demo.json"),
            zone: f("test.zone"),
        }
    }
}

/// `demo.json`: what a script needs to talk to the demo.
#[derive(Debug, Clone, Serialize)]
pub struct DemoInfo {
    /// `host:port` of the EPP listener.
    pub address: String,
    /// The development CA (issues the server's and the registrar's certificates).
    pub ca: PathBuf,
    /// The demo registrar's client certificate and key.
    pub cert: PathBuf,
    pub key: PathBuf,
    pub cl_id: String,
    pub password: String,
    /// The epp-cli profile.
    pub profile: PathBuf,
    /// The SQLite database file.
    pub database: PathBuf,
    /// The configuration file the server runs with.
    pub config: PathBuf,
    /// The metrics address, when `--metrics` was given.
    pub metrics: Option<String>,
    /// The zone file, once a zone generator is part of the demo.
    pub zone_file: Option<PathBuf>,
    /// The base URL of the demo's RDAP service (crates/rdapd), when it could start.
    pub rdap: Option<String>,
}

fn write_file(path: &Path, contents: &str, secret: bool) -> Result<(), DemoError> {
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(if secret { 0o600 } else { 0o644 });
        }
        #[cfg(not(unix))]
        let _ = secret;
        let mut f = opts.open(&tmp).map_err(io_err(&tmp))?;
        f.write_all(contents.as_bytes()).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

fn read(path: &Path) -> Result<String, DemoError> {
    std::fs::read_to_string(path).map_err(io_err(path))
}

/// Sets a certificate's validity to whole days from `from` to `to`.
fn set_validity(p: &mut CertificateParams, from: chrono::DateTime<Utc>, to: chrono::DateTime<Utc>) {
    let day = |t: chrono::DateTime<Utc>| {
        rcgen::date_time_ymd(
            t.year(),
            u8::try_from(t.month()).unwrap_or(1),
            u8::try_from(t.day()).unwrap_or(1),
        )
    };
    p.not_before = day(from);
    p.not_after = day(to);
}

/// The CA's parameters: the same on every run, so a CA loaded from its key can sign again.
fn ca_params() -> Result<CertificateParams, DemoError> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name
        .push(DnType::CommonName, "eppd demo CA (development only)");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = Utc::now();
    set_validity(
        &mut p,
        now - TimeDelta::days(1),
        now + TimeDelta::days(3650),
    );
    Ok(p)
}

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn load_or_create_ca(files: &DemoFiles) -> Result<Ca, DemoError> {
    if files.ca_key.exists() && files.ca_cert.exists() {
        let pem = read(&files.ca_key)?;
        let key = KeyPair::from_pem(&pem).map_err(|e| DemoError::Pem {
            path: files.ca_key.clone(),
            reason: e.to_string(),
        })?;
        // Only used to sign: the issuer name and key identifier are those of the file.
        let cert = ca_params()?.self_signed(&key)?;
        return Ok(Ca { cert, key });
    }
    let key = KeyPair::generate()?;
    let cert = ca_params()?.self_signed(&key)?;
    write_file(&files.ca_key, &key.serialize_pem(), true)?;
    write_file(&files.ca_cert, &cert.pem(), false)?;
    Ok(Ca { cert, key })
}

/// Issues a leaf unless both files exist.
fn ensure_leaf(
    ca: &mut Option<Ca>,
    files: &DemoFiles,
    cert_path: &Path,
    key_path: &Path,
    server: bool,
) -> Result<(), DemoError> {
    if cert_path.exists() && key_path.exists() {
        return Ok(());
    }
    if ca.is_none() {
        *ca = Some(load_or_create_ca(files)?);
    }
    let Some(ca) = ca.as_ref() else {
        return Ok(());
    };
    let key = KeyPair::generate()?;
    let mut p = if server {
        // Strings that parse as addresses become IP SANs.
        CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ])?
    } else {
        CertificateParams::new(Vec::<String>::new())?
    };
    if server {
        p.distinguished_name.push(DnType::CommonName, "localhost");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    } else {
        p.distinguished_name.push(DnType::CommonName, CL_ID);
        p.distinguished_name
            .push(DnType::OrganizationName, "Demo Registrar");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    }
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let now = Utc::now();
    set_validity(&mut p, now - TimeDelta::days(1), now + TimeDelta::days(397));
    let cert = p.signed_by(&key, &ca.cert, &ca.key)?;
    write_file(key_path, &key.serialize_pem(), true)?;
    write_file(cert_path, &cert.pem(), false)?;
    Ok(())
}

/// The development PKI: created once, reused afterwards.
pub fn ensure_pki(files: &DemoFiles) -> Result<(), DemoError> {
    let mut ca = None;
    if !files.ca_cert.exists() || !files.ca_key.exists() {
        ca = Some(load_or_create_ca(files)?);
    }
    ensure_leaf(&mut ca, files, &files.server_cert, &files.server_key, true)?;
    ensure_leaf(&mut ca, files, &files.client_cert, &files.client_key, false)?;
    Ok(())
}

/// 16 random characters from an alphabet without look-alikes.
pub fn random_password() -> Result<String, DemoError> {
    random_string(16)
}

/// A random authInfo of 24 characters that passes the default strength policy (drawn again in
/// the one-in-a-few-hundred-thousand case of a value that mixes too few character classes for
/// the estimate).
fn strong_auth_info() -> Result<String, DemoError> {
    let policy = registry_core::secure_auth::SecureAuthConfig::default();
    loop {
        let s = random_string(24)?;
        if registry_core::secure_auth::check_strength(&policy, &s).is_ok() {
            return Ok(s);
        }
    }
}

/// `len` characters drawn uniformly from letters and digits (no look-alikes).
fn random_string(len: usize) -> Result<String, DemoError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::getrandom(&mut buf).map_err(|e| DemoError::Random(e.to_string()))?;
        // Rejection sampling keeps the choice uniform.
        let limit = 256 - 256 % ALPHABET.len();
        for b in buf {
            if usize::from(b) < limit && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

fn ensure_password(files: &DemoFiles) -> Result<String, DemoError> {
    if files.password.exists() {
        let pw = read(&files.password)?.trim_end().to_owned();
        if (6..=16).contains(&pw.chars().count()) {
            return Ok(pw);
        }
    }
    let pw = random_password()?;
    write_file(&files.password, &format!("{pw}\n"), true)?;
    Ok(pw)
}

fn toml_str(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn absolute(p: &Path) -> Result<PathBuf, DemoError> {
    std::path::absolute(p).map_err(io_err(p))
}

/// The configuration file the demo runs with.
fn config_text(opts: &DemoOptions, files: &DemoFiles) -> Result<String, DemoError> {
    let p = |path: &Path| -> Result<String, DemoError> {
        Ok(toml_str(&absolute(path)?.display().to_string()))
    };
    let metrics = match opts.metrics {
        Some(a) => format!("\n[metrics]\nlisten = {}\n", toml_str(&a.to_string())),
        None => String::new(),
    };
    Ok(format!(
        "# Written by `eppd demo` on every start; edit the command line, not this file.\n\
         [server]\n\
         listen = [{listen}]\n\
         sv_id = \"eppd-demo\"\n\
         sv_trid_prefix = \"DEMO\"\n\
         instance_label = \"demo\"\n\
         \n\
         [tls]\n\
         cert_chain = {cert}\n\
         key = {key}\n\
         client_ca = {ca}\n\
         \n\
         [database]\n\
         url = {db}\n\
         max_connections = 8\n\
         \n\
         [registry]\n\
         tlds = [\"test\"]\n\
         \n\
         [scheduler]\n\
         interval_ms = 10000\n\
         {metrics}",
        listen = toml_str(&opts.listen.to_string()),
        cert = p(&files.server_cert)?,
        key = p(&files.server_key)?,
        ca = p(&files.ca_cert)?,
        db = toml_str(&match &opts.db {
            Some(url) => url.clone(),
            None => format!("sqlite:{}", absolute(&files.database)?.display()),
        }),
    ))
}

fn pem_cert(path: &Path) -> Result<CertificateDer<'static>, DemoError> {
    CertificateDer::from_pem_file(path).map_err(|e| DemoError::Pem {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Creates the demo registrar, or brings it in line with the files (certificate pinned,
/// password); leaves everything else of an existing one alone.
async fn ensure_registrar(
    db: &registry_store::Db,
    files: &DemoFiles,
    password: &str,
    max_sessions: u32,
) -> Result<(), DemoError> {
    let reg_err = |e: &dyn std::fmt::Display| DemoError::Registrar(e.to_string());
    let cert = pem_cert(&files.client_cert)?;
    let fingerprint = crate::tls::fingerprint(&cert);
    let cl_id = ClientId::new(CL_ID).map_err(|e| reg_err(&e))?;
    let now = Utc::now();
    let hash = || crate::password::hash_password(password).map_err(|e| reg_err(&e));
    match db.registrar(&cl_id).await.map_err(|e| reg_err(&e))? {
        None => {
            let nets = ["127.0.0.1/32", "::1/128"]
                .iter()
                .map(|n| parse_network(n))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| reg_err(&e))?;
            let r = Registrar::new(
                cl_id.clone(),
                "Demo Registrar",
                RegistrarStatus::Active,
                hash()?,
                vec![fingerprint],
                nets,
                max_sessions,
            )
            .map_err(|e| reg_err(&e))?;
            db.insert_registrar(&r, now)
                .await
                .map_err(|e| reg_err(&e))?;
        }
        Some(r) => {
            if !r.pins(&fingerprint) {
                db.add_registrar_cert(&cl_id, &fingerprint, now)
                    .await
                    .map_err(|e| reg_err(&e))?;
            }
            if !crate::password::verify_password(&r.password_hash, password) {
                db.set_registrar_password(&cl_id, &hash()?, now)
                    .await
                    .map_err(|e| reg_err(&e))?;
            }
        }
    }
    if let Some(t) = crate::cert_info::not_after(cert.as_ref()) {
        db.set_cert_not_after(CL_ID, &fingerprint, t)
            .await
            .map_err(|e| reg_err(&e))?;
    }
    Ok(())
}

/// Creates `demo-contact`, sponsored by the demo registrar, unless it exists.
async fn ensure_contact(app: &App) -> Result<(), DemoError> {
    let bad = |e: &dyn std::fmt::Display| DemoError::Contact(e.to_string());
    let actor = Actor {
        cl_id: ClientId::new(CL_ID).map_err(|e| bad(&e))?,
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        cert_fingerprint: None,
        cl_trid: None,
        sv_trid: SvTrid::new("DEMO-SETUP").map_err(|e| bad(&e))?,
    };
    let create = ContactCreate {
        id: ContactId::new(CONTACT_ID).map_err(|e| bad(&e))?,
        postal_info: vec![PostalInfo {
            info_type: PostalInfoType::Int,
            name: "Demo Registrant".into(),
            org: Some("Demo Registrar".into()),
            addr: Address {
                street: vec!["1 Example Street".into()],
                city: "Exampleville".into(),
                sp: None,
                pc: Some("12345".into()),
                cc: "US".into(),
            },
        }],
        voice: None,
        fax: None,
        email: "demo@example.test".into(),
        // 24 random characters of 57 (140 bits); nobody needs to know it (the demo registrar
        // sponsors the contact).
        auth_info: AuthInfo::new(&strong_auth_info()?, None).map_err(|e| bad(&e))?,
        disclose: None,
    };
    let frame = CommandFrame {
        command: Command::Contact(ContactCommand::Create(create)),
        extensions: Vec::new(),
        cl_trid: None,
    };
    match app.registry().execute(&actor, &frame).await {
        Ok(_) => Ok(()),
        Err(e) if e.result_code().code() == 2302 => Ok(()),
        Err(e) => Err(bad(&e)),
    }
}

/// The address clients should use for a bound address (loopback for a wildcard).
fn client_address(bound: SocketAddr) -> SocketAddr {
    let ip = match bound.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bound.port())
}

fn profile_text(address: SocketAddr) -> String {
    format!(
        "# epp-cli profile of the eppd demo (written by `eppd demo`). Paths are relative to this file.\n\
         server = {}\n\
         server_name = \"localhost\"\n\
         cert = \"demo.crt\"\n\
         key = \"demo.key\"\n\
         ca = \"ca.crt\"\n\
         cl_id = \"{CL_ID}\"\n\
         password_file = \"password\"\n",
        toml_str(&address.to_string())
    )
}

/// A started demo: files written, server bound, not yet serving.
#[derive(Debug)]
pub struct Demo {
    pub app: App,
    pub files: DemoFiles,
    pub info: DemoInfo,
    pub rdap: Option<rdapd::Running>,
}

/// RDAP next to EPP: on the EPP address's port + 80 (7780), or a free port when EPP's is 0;
/// the same server certificate, a read-only pool on the same database. The demo goes on
/// without it if it cannot start (the port is taken).
async fn start_rdap(bound: SocketAddr, db_url: &str, files: &DemoFiles) -> Option<rdapd::Running> {
    let port = match bound.port() {
        0 => 0,
        p => p.checked_add(80).unwrap_or(0),
    };
    let listen = SocketAddr::new(bound.ip(), port);
    match rdapd::server::start_demo(
        listen,
        db_url,
        &files.server_cert,
        &files.server_key,
        Arc::new(SystemClock),
    )
    .await
    {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(error = %e, "the demo's RDAP service did not start");
            None
        }
    }
}

/// Creates or reuses everything under the data directory and binds the server.
pub async fn prepare(opts: &DemoOptions) -> Result<Demo, DemoError> {
    std::fs::create_dir_all(&opts.data).map_err(io_err(&opts.data))?;
    let files = DemoFiles::new(&opts.data);
    ensure_pki(&files)?;
    let password = ensure_password(&files)?;
    write_file(&files.config, &config_text(opts, &files)?, false)?;
    let config = Config::load(&files.config)?;
    // A second demo on the same data directory would share its SQLite file: refused here,
    // before anything touches the database.
    let lock =
        crate::instance_lock::acquire(&config.database.url).map_err(crate::app::AppError::from)?;
    let db = app::connect_db(&config).await?;
    ensure_registrar(&db, &files, &password, opts.max_sessions).await?;
    let mut app = App::start_with(config, db, Arc::new(SystemClock)).await?;
    app.hold(lock);
    ensure_contact(&app).await?;
    let bound = app
        .epp_addrs()
        .first()
        .copied()
        .map(client_address)
        .unwrap_or(opts.listen);
    write_file(&files.profile, &profile_text(bound), false)?;
    let db_url = match &opts.db {
        Some(url) => url.clone(),
        None => format!("sqlite:{}", absolute(&files.database)?.display()),
    };
    let rdap = start_rdap(bound, &db_url, &files).await;
    let info = DemoInfo {
        address: bound.to_string(),
        ca: absolute(&files.ca_cert)?,
        cert: absolute(&files.client_cert)?,
        key: absolute(&files.client_key)?,
        cl_id: CL_ID.into(),
        password,
        profile: absolute(&files.profile)?,
        database: absolute(&files.database)?,
        config: absolute(&files.config)?,
        metrics: app.metrics_addr().map(|a| client_address(a).to_string()),
        zone_file: Some(absolute(&files.zone)?),
        rdap: rdap.as_ref().and_then(|r| r.local_url()),
    };
    zonegen::write_zone_file(app.db(), &demo_apex(), &files.zone).await?;
    let json = serde_json::to_string_pretty(&info).map_err(|e| DemoError::Io {
        path: files.info.clone(),
        source: std::io::Error::other(e),
    })?;
    write_file(&files.info, &format!("{json}\n"), true)?;
    Ok(Demo {
        app,
        files,
        info,
        rdap,
    })
}

/// What to type next, as `eppd demo` prints it.
pub fn instructions(data: &Path, info: &DemoInfo) -> String {
    let profile = data.join("epp-cli.toml");
    let cli = format!(
        "cargo run --release -p epp-cli -- --profile {}",
        profile.display()
    );
    // The public view over RDAP, when it runs.
    let rdap = info.rdap.as_ref().map_or(String::new(), |r| {
        format!(
            "\x20 curl --cacert {} {r}domain/example.test\n",
            data.join("ca.crt").display()
        )
    });
    let mut s = format!(
        "eppd demo listening on {address} (registrar {CL_ID}, password in {pw})\n\
         \n\
         Try, in another terminal:\n\
         \n\
         \x20 {cli} domain check example.test\n\
         \x20 {cli} domain create example.test --registrant {CONTACT_ID}\n\
         \x20 {cli} domain info example.test\n\
         \x20 {cli} --json poll req\n\
         {rdap}\
         \n\
         Everything is in {data} (demo.json describes it); stop with Ctrl-C, start again to reuse it.\n",
        address = info.address,
        pw = data.join("password").display(),
        data = data.display(),
    );
    if let Some(m) = &info.metrics {
        s.push_str(&format!("Metrics: http://{m}/metrics\n"));
    }
    s
}

/// The apex of the demo's `test` zone. A real registry configures this in the zone
/// publisher's file (crates/zonegen/zonegen.example.toml).
fn demo_apex() -> zonegen::ApexConfig {
    let dns = |n: &str| zonegen::DnsName::new(n).expect("the demo's apex names are valid");
    zonegen::ApexConfig {
        origin: dns("test"),
        mname: dns("ns1.nic.test"),
        rname: dns("hostmaster.nic.test"),
        refresh: 3_600,
        retry: 900,
        expire: 1_209_600,
        minimum: 3_600,
        ttl: 3_600,
        apex_ns: vec![dns("ns1.nic.test")],
        apex_glue: [(
            dns("ns1.nic.test"),
            vec![std::net::IpAddr::from([127, 0, 0, 1])],
        )]
        .into(),
    }
}

/// How often the demo rewrites its zone file (unchanged zones are not rewritten).
const ZONE_REFRESH: std::time::Duration = std::time::Duration::from_secs(2);

/// `eppd demo`: prepares, prints what to type next, serves until `shutdown`.
pub async fn run(opts: DemoOptions, shutdown: Shutdown) -> Result<(), DemoError> {
    let demo = prepare(&opts).await?;
    // Stdout, in full, once everything is written: the quick-start tests wait for it.
    print!("{}", instructions(&opts.data, &demo.info));
    {
        use std::io::Write;
        let _ = std::io::stdout().flush();
    }
    // The demo is the zone generator's single writer too: it keeps the master file current, so
    // `cat DIR/test.zone` shows every delegation created over EPP.
    let db = demo.app.db().clone();
    let zone = demo.files.zone.clone();
    let zone_task = tokio::spawn(async move {
        let apex = demo_apex();
        loop {
            tokio::time::sleep(ZONE_REFRESH).await;
            if let Err(e) = zonegen::write_zone_file(&db, &apex, &zone).await {
                tracing::warn!(error = %e, path = %zone.display(), "demo zone file not written");
            }
        }
    });
    let result = demo.app.run(shutdown).await;
    zone_task.abort();
    if let Some(r) = demo.rdap {
        r.shutdown(std::time::Duration::from_secs(2)).await;
    }
    result?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_16_plain_characters() {
        let a = random_password().expect("pw");
        let b = random_password().expect("pw");
        assert_eq!(a.chars().count(), 16);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn wildcard_addresses_are_reached_over_loopback() {
        assert_eq!(
            client_address("0.0.0.0:7700".parse().expect("addr")),
            "127.0.0.1:7700".parse::<SocketAddr>().expect("addr")
        );
        assert_eq!(
            client_address("[::]:7".parse().expect("addr")),
            "[::1]:7".parse::<SocketAddr>().expect("addr")
        );
        let specific: SocketAddr = "127.0.0.2:9".parse().expect("addr");
        assert_eq!(client_address(specific), specific);
    }
}
