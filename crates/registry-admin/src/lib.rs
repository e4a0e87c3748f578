//! `registry-admin`: the registry operator's tool. It talks to the same database as the
//! frontends (through `registry-store`) and owns nothing of its own: registrar accounts
//! (create, list, show, password, certificate pins, allowed networks, designated lock contact,
//! emergency suspension), registry lock requests (list, show, file, verify, reject), the history
//! of an object, the login audit log, and one pass of the mail outbox.
//!
//! Operators are accounts with Ed25519 keys ([`operators`]): changes are signed with
//! `--operator NAME --key FILE` and checked by the store before anything happens, and the
//! security-relevant ones follow the two-person rule ([`proposals`]: `propose`, then another
//! operator's `proposal approve`).
//!
//! Callable as a library ([`run`] / [`run_args`], which the tests use) and as the binary.
//!
//! Exit codes of the binary (also [`AdminError::exit_code`]):
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | done |
//! | 2 | usage error (bad arguments or values) |
//! | 3 | not found (registrar, request, object) |
//! | 4 | refused by the registry's rules (state, policy, already exists) |
//! | 5 | lock verification did not succeed (wrong, expired or exhausted code) |
//! | 6 | configuration error (config file, database URL, mail settings) |
//! | 7 | database error |
//! | 8 | not authenticated (no or unreadable `--key`, unknown or disabled operator, bad, stale or replayed signature) |
//! | 9 | not permitted (a two-person action run directly, approving one's own proposal, a role too low) |
//! | 10 | the history chain, a checkpoint or the zone reconciliation does not verify (`history verify`): tampering |

mod history;
pub mod operators;
pub mod proposals;

pub use history::HistoryCmd;

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use clap::{Args, Parser, Subcommand};
use epp_proto::ext::registry_lock::{LockRequestState, RegistryLockCommand, UnlockDuration};
use epp_proto::ClientId;
use registry_core::clock::{Clock, SystemClock};
use registry_core::model::{LockContact, LockRequest};
use registry_core::registrar::{
    parse_network, CertFingerprint, RateLimitOverrides, Registrar, RegistrarStatus,
};
use registry_core::{CoreError, Registry, VerifyOutcome};
use registry_mail::Mailer;
use registry_store::registrars::RegistrarStoreError;
use registry_store::{Db, SqlStore};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// What went wrong, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("usage: {0}")]
    Usage(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("verification failed: {0}")]
    Verification(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(String),
    #[error("not authenticated: {0}")]
    Unauthenticated(String),
    #[error("not permitted: {0}")]
    NotPermitted(String),
    #[error("history does not verify: {0}")]
    Tampered(String),
}

impl AdminError {
    pub fn exit_code(&self) -> i32 {
        match self {
            AdminError::Usage(_) => 2,
            AdminError::NotFound(_) => 3,
            AdminError::Refused(_) => 4,
            AdminError::Verification(_) => 5,
            AdminError::Config(_) => 6,
            AdminError::Database(_) => 7,
            AdminError::Unauthenticated(_) => 8,
            AdminError::NotPermitted(_) => 9,
            AdminError::Tampered(_) => 10,
        }
    }
}

impl From<CoreError> for AdminError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::NotFound(what) => AdminError::NotFound(what.to_owned()),
            CoreError::Store(_) | CoreError::Corrupt(_) => AdminError::Database(e.to_string()),
            other => AdminError::Refused(other.to_string()),
        }
    }
}

impl From<RegistrarStoreError> for AdminError {
    fn from(e: RegistrarStoreError) -> Self {
        match e {
            RegistrarStoreError::NotFound(c) => AdminError::NotFound(format!("registrar {c}")),
            RegistrarStoreError::Exists(c) => {
                AdminError::Refused(format!("registrar {c} already exists"))
            }
            RegistrarStoreError::Invalid(m) => AdminError::Usage(m),
            RegistrarStoreError::Sqlx(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                AdminError::Refused("already exists".into())
            }
            RegistrarStoreError::Sqlx(e) => AdminError::Database(e.to_string()),
        }
    }
}

impl From<registry_core::StoreError> for AdminError {
    fn from(e: registry_core::StoreError) -> Self {
        AdminError::Database(e.to_string())
    }
}

/// A command's result: a human-readable text and the same as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub text: String,
    pub json: Value,
}

impl Output {
    fn new(text: impl Into<String>, json: Value) -> Self {
        Self {
            text: text.into(),
            json,
        }
    }

    /// What the binary prints.
    pub fn render(&self, as_json: bool) -> String {
        if as_json {
            serde_json::to_string_pretty(&self.json).unwrap_or_default()
        } else {
            self.text.clone()
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "registry-admin",
    version,
    about = "The registry operator's tool"
)]
pub struct Cli {
    /// Database URL (sqlite:… or postgres://…).
    #[arg(long, env = "REGISTRY_DB", global = true, conflicts_with = "config")]
    pub db: Option<String>,
    /// The frontend's config file: its [database] url and [registry] policy are used.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Operator account that signs the action and is recorded in the history (default: $USER).
    #[arg(long, env = "USER", global = true, default_value = "operator")]
    pub operator: String,
    /// The operator's private key file (`operator keygen`); signs security-relevant actions.
    #[arg(long, env = "REGISTRY_ADMIN_KEY", global = true)]
    pub key: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Registrar accounts.
    #[command(subcommand)]
    Registrar(RegistrarCmd),
    /// Registry lock requests.
    #[command(subcommand)]
    Lock(LockCmd),
    /// The history of an object, and the checks of the history chain.
    #[command(subcommand)]
    History(history::HistoryCmd),
    /// Brings the database schema up to date (as the database owner) and lists the migrations
    /// applied; the frontends' least-privilege roles cannot migrate.
    Migrate,
    /// The login audit log, oldest first.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only this registrar's logins.
        #[arg(long)]
        registrar: Option<String>,
    },
    /// Sends the mail that is due (one pass of the mail worker) and exits.
    SendMail,
    /// Operator accounts and keys.
    #[command(subcommand)]
    Operator(operators::OperatorCmd),
    /// Files a two-person action, signed, for another operator to approve.
    #[command(subcommand)]
    Propose(proposals::ProposeCmd),
    /// Two-person proposals: list, show, approve.
    #[command(subcommand)]
    Proposal(proposals::ProposalCmd),
    /// Zone batches held by the publisher.
    #[command(subcommand)]
    Zone(proposals::ZoneCmd),
}

#[derive(Debug, Args)]
pub struct PasswordArg {
    /// The new password (visible in the shell history: prefer --password-stdin).
    #[arg(long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum RegistrarCmd {
    /// Creates a registrar account.
    Create {
        cl_id: String,
        #[arg(long)]
        name: String,
        /// Pinned client certificate: a PEM file or a hex SHA-256 fingerprint (repeatable).
        #[arg(long = "cert", required = true)]
        certs: Vec<String>,
        /// Allowed source network, CIDR (repeatable; at least one).
        #[arg(long = "network", required = true)]
        networks: Vec<String>,
        #[arg(long, default_value_t = 4)]
        max_sessions: u32,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Lists registrars.
    List,
    /// Shows one registrar.
    Show { cl_id: String },
    /// Sets a registrar's password (argon2id, as the frontend hashes).
    SetPassword {
        cl_id: String,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Pins a client certificate (PEM file or hex SHA-256).
    AddCert { cl_id: String, cert: String },
    /// Unpins a client certificate (the last one cannot be removed).
    RemoveCert { cl_id: String, cert: String },
    /// Allows a source network (CIDR).
    AddNetwork { cl_id: String, cidr: String },
    /// Withdraws an allowed source network.
    RemoveNetwork { cl_id: String, cidr: String },
    /// Sets the designated lock contact (who receives lock confirmation codes).
    SetLockContact {
        cl_id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: String,
        #[arg(long)]
        email: String,
    },
    /// Emergency suspension: logins refused, live sessions ended by the frontends within 1 s.
    Suspend {
        cl_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Lifts a suspension.
    Resume { cl_id: String },
    /// Sets the registrar's own command rate limits, which replace the frontends' `[limits]`
    /// defaults of the same names (rates in commands per second, 0: no limit; bursts in
    /// commands). Only the ones given change; `--clear` first removes them all. Live sessions
    /// follow within `limits.rate_limit_refresh_ms`, new logins at once.
    SetLimits {
        cl_id: String,
        #[command(flatten)]
        limits: RateLimitArgs,
        /// Remove the registrar's own limits (before setting the ones given, if any).
        #[arg(long)]
        clear: bool,
    },
}

/// The eight rate limits of `registrar set-limits`, named as in `[limits]`.
#[derive(Debug, Args)]
pub struct RateLimitArgs {
    /// Check commands (check, info, transfer query) per second over all the registrar's sessions.
    #[arg(long)]
    pub registrar_check_per_second: Option<u32>,
    /// The registrar's check bucket size.
    #[arg(long)]
    pub registrar_check_burst: Option<u32>,
    /// Transform commands (create, delete, renew, transfer, update) per second over all sessions.
    #[arg(long)]
    pub registrar_transform_per_second: Option<u32>,
    /// The registrar's transform bucket size.
    #[arg(long)]
    pub registrar_transform_burst: Option<u32>,
    /// Check commands per second in one session.
    #[arg(long)]
    pub session_check_per_second: Option<u32>,
    /// A session's check bucket size.
    #[arg(long)]
    pub session_check_burst: Option<u32>,
    /// Transform commands per second in one session.
    #[arg(long)]
    pub session_transform_per_second: Option<u32>,
    /// A session's transform bucket size.
    #[arg(long)]
    pub session_transform_burst: Option<u32>,
}

impl RateLimitArgs {
    fn overrides(&self) -> RateLimitOverrides {
        RateLimitOverrides {
            registrar_check_per_second: self.registrar_check_per_second,
            registrar_check_burst: self.registrar_check_burst,
            registrar_transform_per_second: self.registrar_transform_per_second,
            registrar_transform_burst: self.registrar_transform_burst,
            session_check_per_second: self.session_check_per_second,
            session_check_burst: self.session_check_burst,
            session_transform_per_second: self.session_transform_per_second,
            session_transform_burst: self.session_transform_burst,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum LockCmd {
    /// Lists lock requests (open ones; --all for every one), newest first.
    List {
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Shows one request with its mail.
    Show { id: i64 },
    /// Files a lock (or --unlock) request on the sponsoring registrar's behalf.
    Request {
        domain: String,
        #[arg(long)]
        unlock: bool,
        /// With --unlock: relock after this long (xs:duration, e.g. PT1H, P1DT12H).
        #[arg(long, requires = "unlock")]
        duration: Option<String>,
    },
    /// Enters the code the lock contact read out on the call-back.
    Verify { id: i64, code: String },
    /// Turns a request down.
    Reject {
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

/// Parses `args` (with the program name first) and runs the command.
pub async fn run_args<I, T>(args: I) -> Result<Output, AdminError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(|e| AdminError::Usage(e.to_string()))?;
    run(&cli).await
}

/// Where the database is, and the registry policy.
fn settings(cli: &Cli) -> Result<(String, registry_core::Config), AdminError> {
    if let Some(url) = &cli.db {
        return Ok((url.clone(), registry_core::Config::default()));
    }
    let Some(path) = &cli.config else {
        return Err(AdminError::Usage(
            "give --db URL (or REGISTRY_DB) or --config FILE".into(),
        ));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| AdminError::Config(format!("{}: {e}", path.display())))?;
    let v: toml::Value = toml::from_str(&text)
        .map_err(|e| AdminError::Config(format!("{}: {e}", path.display())))?;
    let url = v
        .get("database")
        .and_then(|d| d.get("url"))
        .and_then(toml::Value::as_str)
        .ok_or_else(|| AdminError::Config(format!("{}: no [database] url", path.display())))?
        .to_owned();
    let reg = match v.get("registry") {
        None => registry_core::Config::default(),
        Some(r) => r
            .clone()
            .try_into()
            .map_err(|e| AdminError::Config(format!("{}: [registry]: {e}", path.display())))?,
    };
    Ok((url, reg))
}

/// The frontend's `[password]` policy (its defaults without `--config`): a password set here
/// meets the same rules as one set with `<newPW>`.
fn password_policy(cli: &Cli) -> Result<registry_core::registrar::PasswordPolicy, AdminError> {
    let Some(path) = cli.config.as_ref().filter(|_| cli.db.is_none()) else {
        return Ok(eppd::config::PasswordConfig::default().policy());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| AdminError::Config(format!("{}: {e}", path.display())))?;
    let v: toml::Value = toml::from_str(&text)
        .map_err(|e| AdminError::Config(format!("{}: {e}", path.display())))?;
    let cfg: eppd::config::PasswordConfig = match v.get("password") {
        None => eppd::config::PasswordConfig::default(),
        Some(p) => p
            .clone()
            .try_into()
            .map_err(|e| AdminError::Config(format!("{}: [password]: {e}", path.display())))?,
    };
    Ok(cfg.policy())
}

/// Runs one parsed command.
pub async fn run(cli: &Cli) -> Result<Output, AdminError> {
    let (url, cfg) = settings(cli)?;
    let db = Db::connect(&url, 2)
        .await
        .map_err(|e| AdminError::Config(format!("database {url:?}: {e}")))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let out = run_on(cli, &db, clock, cfg).await;
    db.close().await;
    out
}

/// Runs one parsed command on an open database with a given clock (tests move the clock).
pub async fn run_on(
    cli: &Cli,
    db: &Db,
    clock: Arc<dyn Clock>,
    cfg: registry_core::Config,
) -> Result<Output, AdminError> {
    let reg = Registry::new(SqlStore::new(db.clone()), Arc::clone(&clock), cfg);
    proposals::gate(&cli.command, &reg).await?;
    if let Some((action, args, (kind, key))) = proposals::direct(&cli.command) {
        let target = registry_store::operators::Target { kind, key: &key };
        operators::authorize(cli, db, reg.config(), reg.now(), action, args, target).await?;
    }
    match &cli.command {
        Cmd::Operator(c) => operators::operator_cmd(cli, db, reg.config(), reg.now(), c).await,
        Cmd::Propose(c) => proposals::propose_cmd(cli, db, &reg, c).await,
        Cmd::Proposal(c) => proposals::proposal_cmd(cli, db, &reg, c).await,
        Cmd::Zone(c) => proposals::zone_cmd(db, c).await,
        Cmd::Registrar(RegistrarCmd::SetPassword {
            cl_id: id,
            password: p,
        }) => {
            let id = cl_id(id)?;
            let h = hash(new_password(cli, &id, p)?).await?;
            set_password(db, &id, &h, reg.now()).await
        }
        Cmd::Registrar(c) => registrar_cmd(db, &reg, c).await,
        Cmd::Lock(c) => lock_cmd(&reg, &cli.operator, c).await,
        Cmd::History(c) => history::run(db, &reg, clock.as_ref(), c).await,
        Cmd::Migrate => migrate(db).await,
        Cmd::Audit { limit, registrar } => audit(db, *limit, registrar.as_deref()).await,
        Cmd::SendMail => {
            let mailer = Mailer::from_config(&reg.config().mail)
                .map_err(|e| AdminError::Config(e.to_string()))?;
            let n = reg.send_mail(&mailer).await?;
            Ok(Output::new(
                format!("{n} mail(s) sent"),
                json!({ "sent": n }),
            ))
        }
    }
}

// ---- helpers -------------------------------------------------------------------------------

fn cl_id(s: &str) -> Result<ClientId, AdminError> {
    ClientId::new(s).map_err(|e| AdminError::Usage(format!("clID {s:?}: {e}")))
}

/// A certificate argument: a PEM file (the SHA-256 of its first certificate's DER) or a hex
/// fingerprint (64 digits, colons allowed).
pub fn fingerprint(arg: &str) -> Result<CertFingerprint, AdminError> {
    if let Ok(fp) = arg.parse::<CertFingerprint>() {
        return Ok(fp);
    }
    let text = std::fs::read_to_string(arg).map_err(|e| {
        AdminError::Usage(format!(
            "{arg:?} is neither a hex SHA-256 fingerprint nor a readable PEM file: {e}"
        ))
    })?;
    let begin = "-----BEGIN CERTIFICATE-----";
    let end = "-----END CERTIFICATE-----";
    let body = text
        .split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(b, _)| b)
        .ok_or_else(|| AdminError::Usage(format!("{arg}: no PEM certificate in it")))?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| AdminError::Usage(format!("{arg}: bad PEM: {e}")))?;
    let digest: [u8; 32] = Sha256::digest(&der).into();
    Ok(CertFingerprint::from_bytes(digest))
}

fn password(p: &PasswordArg) -> Result<String, AdminError> {
    let pw = match (&p.password, p.password_stdin) {
        (Some(pw), _) => pw.clone(),
        (None, true) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| AdminError::Usage(format!("reading the password: {e}")))?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
        (None, false) => {
            return Err(AdminError::Usage(
                "give --password or --password-stdin".into(),
            ))
        }
    };
    // Up to 128 characters: longer than 16 logs in with loginSec (RFC 8807).
    epp_proto::Password::new_login_sec(&pw)
        .map_err(|e| AdminError::Usage(format!("password: {e}")))?;
    Ok(pw)
}

/// A new password for `cl_id`, read as [`password`] does and checked against the
/// frontend's `[password]` policy: the rules `<newPW>` meets, applied to operators too.
pub(crate) fn new_password(
    cli: &Cli,
    cl_id: &ClientId,
    p: &PasswordArg,
) -> Result<String, AdminError> {
    let pw = password(p)?;
    password_policy(cli)?
        .check(
            cl_id.as_str(),
            &pw,
            None,
            epp_proto::Password::MAX_LOGIN_SEC_LEN,
        )
        .map_err(|why| AdminError::Usage(format!("password: {why}")))?;
    Ok(pw)
}

async fn hash(pw: String) -> Result<registry_core::registrar::PasswordHash, AdminError> {
    tokio::task::spawn_blocking(move || eppd::password::hash_password(&pw))
        .await
        .map_err(|e| AdminError::Config(format!("hashing: {e}")))?
        .map_err(|e| AdminError::Config(e.to_string()))
}

/// A plain text table: headers, then rows, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < w.len() {
                w[i] = w[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![line(headers.to_vec())];
    out.push(line(
        w.iter()
            .map(|n| "-".repeat(*n))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    for r in rows {
        out.push(line(r.iter().map(String::as_str).collect()));
    }
    out.join("\n")
}

pub(crate) fn fmt_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// How a lock state reads in a table ("code not sent", …).
pub fn state_words(token: &str) -> String {
    match LockRequestState::from_token(token) {
        Some(LockRequestState::CodeNotSent) => "code not sent".into(),
        Some(LockRequestState::PendingVerification) => "pending verification".into(),
        _ => token.to_owned(),
    }
}

fn registrar_json(r: &Registrar, contact: Option<&LockContact>) -> Value {
    let (status, reason) = match &r.status {
        RegistrarStatus::Active => ("active", None),
        RegistrarStatus::Suspended { reason } => ("suspended", Some(reason.clone())),
    };
    json!({
        "cl_id": r.cl_id.as_str(),
        "name": r.name,
        "status": status,
        "suspend_reason": reason,
        "max_sessions": r.max_sessions,
        "cert_fingerprints": r.cert_fingerprints.iter().map(|f| f.to_hex()).collect::<Vec<_>>(),
        "allowed_networks": r.allowed_networks.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        "lock_contact": contact,
        "rate_limits": rate_limits_json(&r.rate_limits),
    })
}

/// A registrar's own rate limits by name (null: the frontend's default applies).
fn rate_limits_json(o: &RateLimitOverrides) -> Value {
    Value::Object(
        RateLimitOverrides::NAMES
            .iter()
            .zip(o.values())
            .map(|(n, v)| ((*n).to_owned(), json!(v)))
            .collect(),
    )
}

/// `name=value …` of the limits a registrar sets, or `(defaults)`.
fn rate_limits_text(o: &RateLimitOverrides) -> String {
    let set: Vec<String> = RateLimitOverrides::NAMES
        .iter()
        .zip(o.values())
        .filter_map(|(n, v)| v.map(|v| format!("{n}={v}")))
        .collect();
    if set.is_empty() {
        "(the frontends' [limits] defaults)".into()
    } else {
        set.join(" ")
    }
}

// ---- registrars ----------------------------------------------------------------------------

async fn load_registrar(db: &Db, id: &ClientId) -> Result<Registrar, AdminError> {
    db.registrar(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("registrar {id}")))
}

async fn registrar_cmd(
    db: &Db,
    reg: &Registry<SqlStore>,
    c: &RegistrarCmd,
) -> Result<Output, AdminError> {
    let now = reg.now();
    match c {
        RegistrarCmd::Create {
            cl_id: id,
            name,
            certs,
            networks,
            max_sessions,
            password: p,
        } => {
            let id = cl_id(id)?;
            let certs = certs
                .iter()
                .map(|c| fingerprint(c))
                .collect::<Result<Vec<_>, _>>()?;
            let nets = networks
                .iter()
                .map(|n| parse_network(n).map_err(|e| AdminError::Usage(format!("{n}: {e}"))))
                .collect::<Result<Vec<_>, _>>()?;
            if db.registrar(&id).await?.is_some() {
                return Err(AdminError::Refused(format!(
                    "registrar {id} already exists"
                )));
            }
            let h = hash(password(p)?).await?;
            let r = Registrar::new(
                id.clone(),
                name,
                RegistrarStatus::Active,
                h,
                certs,
                nets,
                *max_sessions,
            )
            .map_err(|e| AdminError::Usage(e.to_string()))?;
            db.insert_registrar(&r, now).await?;
            Ok(Output::new(
                format!("registrar {id} created"),
                registrar_json(&r, None),
            ))
        }
        RegistrarCmd::List => {
            let mut rows = Vec::new();
            let mut js = Vec::new();
            for id in db.registrar_ids().await? {
                let r = load_registrar(db, &cl_id(&id)?).await?;
                let contact = reg.store().lock_contact(&id).await?;
                let (status, reason) = match &r.status {
                    RegistrarStatus::Active => ("active".to_owned(), String::new()),
                    RegistrarStatus::Suspended { reason } => {
                        ("suspended".to_owned(), reason.clone())
                    }
                };
                rows.push(vec![
                    id.clone(),
                    r.name.clone(),
                    status,
                    reason,
                    r.cert_fingerprints.len().to_string(),
                    r.allowed_networks.len().to_string(),
                    contact
                        .as_ref()
                        .map(|c| c.email.clone())
                        .unwrap_or_else(|| "-".into()),
                ]);
                js.push(registrar_json(&r, contact.as_ref()));
            }
            Ok(Output::new(
                table(
                    &[
                        "CLID",
                        "NAME",
                        "STATUS",
                        "REASON",
                        "CERTS",
                        "NETWORKS",
                        "LOCK CONTACT",
                    ],
                    &rows,
                ),
                Value::Array(js),
            ))
        }
        RegistrarCmd::Show { cl_id: id } => {
            let r = load_registrar(db, &cl_id(id)?).await?;
            let contact = reg.store().lock_contact(id).await?;
            let j = registrar_json(&r, contact.as_ref());
            let mut t = vec![
                format!("clID:          {}", r.cl_id),
                format!("name:          {}", r.name),
                format!(
                    "status:        {}{}",
                    j["status"].as_str().unwrap_or(""),
                    j["suspend_reason"]
                        .as_str()
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default()
                ),
                format!("max sessions:  {}", r.max_sessions),
                format!("rate limits:   {}", rate_limits_text(&r.rate_limits)),
            ];
            for f in &r.cert_fingerprints {
                t.push(format!("certificate:   {}", f.to_hex()));
            }
            for n in &r.allowed_networks {
                t.push(format!("network:       {n}"));
            }
            match &contact {
                Some(c) => t.push(format!(
                    "lock contact:  {} <{}> {}",
                    c.name, c.email, c.phone
                )),
                None => t.push("lock contact:  (none: lock requests are refused)".into()),
            }
            Ok(Output::new(t.join("\n"), j))
        }
        // Run by `run_on` (it needs the `[password]` policy) or as a proposal.
        RegistrarCmd::SetPassword { .. } => Err(AdminError::Usage(
            "registrar set-password is not an action of its own here".into(),
        )),
        RegistrarCmd::AddCert { cl_id: id, cert } => {
            let id = cl_id(id)?;
            load_registrar(db, &id).await?;
            let fp = fingerprint(cert)?;
            db.add_registrar_cert(&id, &fp, now)
                .await
                .map_err(|e| match e {
                    RegistrarStoreError::Sqlx(sqlx_err)
                        if sqlx_err
                            .as_database_error()
                            .is_some_and(|d| d.is_unique_violation()) =>
                    {
                        AdminError::Refused("certificate already pinned".into())
                    }
                    other => other.into(),
                })?;
            Ok(Output::new(
                format!("certificate {} pinned for {id}", fp.to_hex()),
                json!({ "cl_id": id.as_str(), "added": fp.to_hex() }),
            ))
        }
        RegistrarCmd::RemoveCert { cl_id: id, cert } => {
            let id = cl_id(id)?;
            load_registrar(db, &id).await?;
            let fp = fingerprint(cert)?;
            if !db.remove_registrar_cert(&id, &fp).await? {
                return Err(AdminError::Refused(
                    "not pinned, or the registrar's last certificate".into(),
                ));
            }
            Ok(Output::new(
                format!("certificate {} unpinned for {id}", fp.to_hex()),
                json!({ "cl_id": id.as_str(), "removed": fp.to_hex() }),
            ))
        }
        RegistrarCmd::AddNetwork { cl_id: id, cidr } => {
            let id = cl_id(id)?;
            let net = parse_network(cidr).map_err(|e| AdminError::Usage(format!("{cidr}: {e}")))?;
            if !db.add_registrar_network(&id, net).await? {
                return Err(AdminError::Refused(format!("{net} already allowed")));
            }
            Ok(Output::new(
                format!("{net} allowed for {id}"),
                json!({ "cl_id": id.as_str(), "added": net.to_string() }),
            ))
        }
        RegistrarCmd::RemoveNetwork { cl_id: id, cidr } => {
            let id = cl_id(id)?;
            load_registrar(db, &id).await?;
            let net = parse_network(cidr).map_err(|e| AdminError::Usage(format!("{cidr}: {e}")))?;
            if !db.remove_registrar_network(&id, net).await? {
                return Err(AdminError::Refused(format!("{net} was not allowed")));
            }
            Ok(Output::new(
                format!("{net} withdrawn for {id}"),
                json!({ "cl_id": id.as_str(), "removed": net.to_string() }),
            ))
        }
        RegistrarCmd::SetLockContact {
            cl_id: id,
            name,
            phone,
            email,
        } => {
            load_registrar(db, &cl_id(id)?).await?;
            let c = lock_contact(id, name, phone, email)?;
            reg.store().set_lock_contact(&c, now).await?;
            Ok(Output::new(
                format!("lock contact of {id}: {} <{}> {}", c.name, c.email, c.phone),
                json!(c),
            ))
        }
        RegistrarCmd::Suspend { cl_id: id, reason } => {
            let id = cl_id(id)?;
            if reason.trim().is_empty() {
                return Err(AdminError::Usage("a reason is required".into()));
            }
            db.suspend_registrar(&id, reason, now).await?;
            Ok(Output::new(
                format!("registrar {id} suspended: logins refused, live sessions end within 1 s"),
                json!({ "cl_id": id.as_str(), "status": "suspended", "reason": reason }),
            ))
        }
        RegistrarCmd::SetLimits {
            cl_id: id,
            limits,
            clear,
        } => {
            let id = cl_id(id)?;
            let given = limits.overrides();
            if given.is_empty() && !clear {
                return Err(AdminError::Usage(
                    "give at least one limit (--registrar-check-per-second N, …) or --clear".into(),
                ));
            }
            for (name, v) in RateLimitOverrides::NAMES.iter().zip(given.values()) {
                if name.ends_with("_burst") && v == Some(0) {
                    return Err(AdminError::Usage(format!(
                        "--{} must be at least 1",
                        name.replace('_', "-")
                    )));
                }
            }
            let r = load_registrar(db, &id).await?;
            let base = if *clear {
                RateLimitOverrides::default()
            } else {
                r.rate_limits
            };
            let new = base.merged(&given);
            db.set_registrar_rate_limits(&id, &new, now).await?;
            Ok(Output::new(
                format!("rate limits of {id}: {}", rate_limits_text(&new)),
                json!({ "cl_id": id.as_str(), "rate_limits": rate_limits_json(&new) }),
            ))
        }
        RegistrarCmd::Resume { cl_id: id } => {
            let id = cl_id(id)?;
            db.reactivate_registrar(&id, now).await?;
            Ok(Output::new(
                format!("registrar {id} active"),
                json!({ "cl_id": id.as_str(), "status": "active" }),
            ))
        }
    }
}

async fn set_password(
    db: &Db,
    id: &ClientId,
    h: &registry_core::registrar::PasswordHash,
    now: epp_proto::Timestamp,
) -> Result<Output, AdminError> {
    db.set_registrar_password(id, h, now).await?;
    Ok(Output::new(
        format!("password of {id} set"),
        json!({ "cl_id": id.as_str(), "password": "set" }),
    ))
}

/// A lock contact as given on the command line, checked.
fn lock_contact(id: &str, name: &str, phone: &str, email: &str) -> Result<LockContact, AdminError> {
    let id = cl_id(id)?;
    if name.trim().is_empty() || phone.trim().is_empty() {
        return Err(AdminError::Usage("name and phone must not be empty".into()));
    }
    if email.parse::<lettre_free::Address>().is_err() {
        return Err(AdminError::Usage(format!(
            "{email:?} is not an e-mail address"
        )));
    }
    Ok(LockContact {
        cl_id: id.as_str().to_owned(),
        name: name.trim().to_owned(),
        phone: phone.trim().to_owned(),
        email: email.trim().to_owned(),
    })
}

/// A minimal e-mail address check (local@domain, no spaces), enough to catch typos.
mod lettre_free {
    #[derive(Debug)]
    pub struct Address;

    impl std::str::FromStr for Address {
        type Err = ();

        fn from_str(s: &str) -> Result<Self, ()> {
            let s = s.trim();
            match s.split_once('@') {
                Some((l, d))
                    if !l.is_empty()
                        && d.contains('.')
                        && !d.starts_with('.')
                        && !d.ends_with('.')
                        && !s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>') =>
                {
                    Ok(Address)
                }
                _ => Err(()),
            }
        }
    }
}

// ---- lock requests -------------------------------------------------------------------------

fn request_json(r: &LockRequest, mail: Option<&[registry_core::model::OutboxMail]>) -> Value {
    let mut v = r.summary();
    if let (Some(m), Some(obj)) = (mail, v.as_object_mut()) {
        obj.insert(
            "mail".into(),
            Value::Array(
                m.iter()
                    .map(|m| {
                        json!({
                            "id": m.id,
                            "kind": m.kind,
                            "to": m.recipient,
                            "attempts": m.attempts,
                            "last_error": m.last_error,
                            "next_attempt": m.next_attempt,
                            "sent": m.sent,
                        })
                    })
                    .collect(),
            ),
        );
    }
    v
}

async fn lock_cmd(
    reg: &Registry<SqlStore>,
    operator: &str,
    c: &LockCmd,
) -> Result<Output, AdminError> {
    match c {
        LockCmd::List { all, limit } => {
            let list = reg.lock_requests(!*all, *limit).await?;
            let mut rows = Vec::new();
            let mut js = Vec::new();
            for r in &list {
                let (_, mail) = reg.lock_request(r.id).await?;
                let code_mail = mail.iter().find(|m| m.kind == "lockCode");
                let mail_note = match code_mail {
                    Some(m) if m.sent.is_none() => format!(
                        "{} attempt(s){}",
                        m.attempts,
                        m.last_error
                            .as_ref()
                            .map(|e| format!(", last error: {e}"))
                            .unwrap_or_default()
                    ),
                    Some(_) => "sent".into(),
                    None => "-".into(),
                };
                rows.push(vec![
                    r.id.to_string(),
                    r.domain.clone(),
                    r.cl_id.clone(),
                    r.op.clone(),
                    state_words(&r.state),
                    r.attempts.to_string(),
                    fmt_time(r.expires),
                    mail_note,
                ]);
                js.push(request_json(r, Some(&mail)));
            }
            Ok(Output::new(
                table(
                    &[
                        "ID",
                        "DOMAIN",
                        "REGISTRAR",
                        "OP",
                        "STATE",
                        "TRIES",
                        "EXPIRES (UTC)",
                        "CODE MAIL",
                    ],
                    &rows,
                ),
                Value::Array(js),
            ))
        }
        LockCmd::Show { id } => {
            let (r, mail) = reg.lock_request(*id).await?;
            let mut t = vec![
                format!("request:      {}", r.id),
                format!("domain:       {}", r.domain),
                format!("registrar:    {}", r.cl_id),
                format!(
                    "op:           {}{}",
                    r.op,
                    r.unlock_secs
                        .map(|s| format!(" for {s} s"))
                        .unwrap_or_default()
                ),
                format!("state:        {}", state_words(&r.state)),
                format!(
                    "requested by: {} at {}",
                    r.requested_by,
                    fmt_time(r.created)
                ),
                format!("expires:      {}", fmt_time(r.expires)),
                format!("attempts:     {}", r.attempts),
            ];
            if let Some(n) = &r.outcome_note {
                t.push(format!("note:         {n}"));
            }
            for m in &mail {
                t.push(format!(
                    "mail {}:      {} to {}: {}",
                    m.id,
                    m.kind,
                    m.recipient,
                    match (&m.sent, &m.last_error) {
                        (Some(s), _) => format!("sent {}", fmt_time(*s)),
                        (None, Some(e)) => format!(
                            "not sent after {} attempt(s), next {}: {e}",
                            m.attempts,
                            fmt_time(m.next_attempt)
                        ),
                        (None, None) => "queued".into(),
                    }
                ));
            }
            Ok(Output::new(t.join("\n"), request_json(&r, Some(&mail))))
        }
        LockCmd::Request {
            domain,
            unlock,
            duration,
        } => {
            let cmd = if *unlock {
                let duration = duration
                    .as_deref()
                    .map(|d| {
                        UnlockDuration::parse(d).ok_or_else(|| {
                            AdminError::Usage(format!(
                                "duration {d:?}: expected P[nD][T[nH][nM][nS]], at most 30 days"
                            ))
                        })
                    })
                    .transpose()?;
                RegistryLockCommand::Unlock { duration }
            } else {
                RegistryLockCommand::Lock
            };
            let r = reg
                .request_lock(operator, &domain.to_ascii_lowercase(), &cmd)
                .await?;
            Ok(Output::new(
                format!(
                    "request {} filed: {} {} for {}; the code goes to the lock contact",
                    r.id, r.op, r.domain, r.cl_id
                ),
                request_json(&r, None),
            ))
        }
        LockCmd::Verify { id, code } => {
            let out = reg.lock_verify(operator, *id, code).await?;
            let j = serde_json::to_value(&out).unwrap_or(Value::Null);
            match out {
                VerifyOutcome::Applied => Ok(Output::new(
                    format!("request {id}: code correct; the domain is locked"),
                    j,
                )),
                VerifyOutcome::Released { relock_at } => Ok(Output::new(
                    format!(
                        "request {id}: code correct; the domain is unlocked{}",
                        relock_at
                            .map(|t| format!(" until {} UTC", fmt_time(t)))
                            .unwrap_or_default()
                    ),
                    j,
                )),
                VerifyOutcome::WrongCode { attempts_left } => Err(AdminError::Verification(
                    format!("request {id}: wrong code; {attempts_left} attempt(s) left"),
                )),
                VerifyOutcome::Failed => Err(AdminError::Verification(format!(
                    "request {id}: wrong code; no attempts left, the request failed"
                ))),
                VerifyOutcome::Expired => Err(AdminError::Verification(format!(
                    "request {id}: the code expired; the request is closed"
                ))),
            }
        }
        LockCmd::Reject { id, reason } => {
            let r = reg.lock_reject(operator, *id, reason).await?;
            Ok(Output::new(
                format!("request {id} rejected"),
                request_json(&r, None),
            ))
        }
    }
}

// ---- history and audit ---------------------------------------------------------------------

async fn migrate(db: &Db) -> Result<Output, AdminError> {
    // Db::connect has already brought the schema up to date (as this URL's role); here we
    // only show where it stands.
    let applied = db
        .applied_migrations()
        .await
        .map_err(|e| AdminError::Database(e.to_string()))?;
    let t = applied
        .iter()
        .map(|(v, d)| vec![v.to_string(), d.clone()])
        .collect::<Vec<_>>();
    let js = applied
        .iter()
        .map(|(v, d)| json!({ "version": v, "description": d }))
        .collect();
    Ok(Output::new(
        format!(
            "schema up to date ({} migrations)\n{}",
            applied.len(),
            table(&["VERSION", "DESCRIPTION"], &t)
        ),
        Value::Array(js),
    ))
}

async fn audit(db: &Db, limit: u32, registrar: Option<&str>) -> Result<Output, AdminError> {
    // Filtering happens after the fetch: read more rows when filtering.
    let fetch = if registrar.is_some() {
        limit.saturating_mul(20)
    } else {
        limit
    };
    let mut rows = db.login_audit(fetch).await?;
    if let Some(r) = registrar {
        rows.retain(|e| e.cl_id == r);
    }
    let skip = rows.len().saturating_sub(limit as usize);
    let rows = &rows[skip..];
    let t = rows
        .iter()
        .map(|e| {
            vec![
                fmt_time(e.at),
                e.cl_id.clone(),
                e.source_ip.to_string(),
                e.outcome.as_str().to_owned(),
                e.reason.clone(),
            ]
        })
        .collect::<Vec<_>>();
    let js = rows
        .iter()
        .map(|e| {
            json!({
                "at": e.at,
                "cl_id": e.cl_id,
                "source_ip": e.source_ip.to_string(),
                "cert_fingerprint": e.cert_fingerprint.map(|f| f.to_hex()),
                "outcome": e.outcome.as_str(),
                "reason": e.reason,
            })
        })
        .collect();
    Ok(Output::new(
        table(&["AT (UTC)", "CLID", "SOURCE", "OUTCOME", "REASON"], &t),
        Value::Array(js),
    ))
}
