//! `registry-admin history`: an object's history, and the checks of the history chain
//! (issue 13): `verify` walks the chain of every history and audit row and, with a checkpoint
//! file and the trusted public key, checks it against the heads signed outside the database;
//! `keygen` makes a checkpoint signing key; `checkpoint` signs the current head by hand (the
//! frontends do it at an interval with `[history] checkpoint_key`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use registry_core::clock::Clock;
use registry_core::history::Checkpoint;
use registry_core::{ObjectRef, Registry};
use registry_store::{chain, Db, SqlStore};
use serde_json::{json, Value};

use crate::{fmt_time, table, AdminError, Output};

#[derive(Debug, Subcommand)]
pub enum HistoryCmd {
    /// The history of one domain, oldest first.
    Domain { name: String },
    /// The history of one host, oldest first.
    Host { name: String },
    /// The history of one contact, oldest first.
    Contact { id: String },
    /// A registrar account's history (two-person actions, signed admin actions).
    Registrar { cl_id: String },
    /// An operator account's history.
    Operator { name: String },
    /// A held zone batch's history (by id).
    Zone { id: String },
    /// Walks the chain of every history and audit row (chaining pending rows first) and reports
    /// the first row that does not fit. Exit code 10 when the chain or a checkpoint is broken.
    Verify {
        /// A checkpoint file (one JSON line per checkpoint, as the frontends write it): every
        /// line's signature is checked, and the chain must still hold what each one signed.
        #[arg(long, requires = "public_key")]
        checkpoint: Option<PathBuf>,
        /// The trusted public key of the checkpoint signer: hex, or a file holding the hex.
        #[arg(long)]
        public_key: Option<String>,
        /// Also reconcile the zone with the history: every delegation and glue record the
        /// delegation journal publishes must be the one the history's rows explain, and each
        /// object's history must be continuous (no change between two rows without a row).
        #[arg(long)]
        zone: bool,
    },
    /// Makes a new checkpoint signing key (PKCS#8, mode 0600; refuses to overwrite a file) and
    /// prints its public key. Keep the key off the database host.
    Keygen { file: PathBuf },
    /// Signs the chain's current head with the checkpoint key and appends it to FILE.
    Checkpoint {
        /// The checkpoint signing key (`history keygen`), not an operator's `--key`.
        #[arg(long)]
        signing_key: PathBuf,
        #[arg(long)]
        file: PathBuf,
    },
}

pub async fn run(
    db: &Db,
    reg: &Registry<SqlStore>,
    clock: &dyn Clock,
    cmd: &HistoryCmd,
) -> Result<Output, AdminError> {
    match cmd {
        HistoryCmd::Domain { name } => {
            object(reg, ObjectRef::Domain(name.to_ascii_lowercase())).await
        }
        HistoryCmd::Host { name } => object(reg, ObjectRef::Host(name.to_ascii_lowercase())).await,
        HistoryCmd::Contact { id } => {
            object(reg, ObjectRef::Contact(id.to_ascii_lowercase())).await
        }
        // Registrar clIDs and operator names are case-sensitive as stored.
        HistoryCmd::Registrar { cl_id } => rows(
            registry_core::Store::history(reg.store(), "registrar", cl_id).await?,
            cl_id,
        ),
        HistoryCmd::Operator { name } => rows(
            registry_core::Store::history(reg.store(), "operator", name).await?,
            name,
        ),
        HistoryCmd::Zone { id } => rows(
            registry_core::Store::history(reg.store(), "zone", id).await?,
            id,
        ),
        HistoryCmd::Verify {
            checkpoint,
            public_key,
            zone,
        } => {
            let mut out = verify(db, clock, checkpoint.as_deref(), public_key.as_deref()).await?;
            if *zone {
                let r = reconcile(db).await?;
                out.json["zone"] = json!({
                    "history_rows": r.history_rows,
                    "delegations": r.delegations,
                    "unexplained": r.unexplained.iter().map(ToString::to_string).collect::<Vec<_>>(),
                });
                if let Some(first) = r.unexplained.first() {
                    return Err(AdminError::Tampered(format!(
                        "{} unexplained by the history; the first: {first}",
                        r.unexplained.len()
                    )));
                }
                out.text.push_str(&format!(
                    "\nzone ok: {} published delegations, each explained by the history ({} rows)",
                    r.delegations, r.history_rows
                ));
            }
            Ok(out)
        }
        HistoryCmd::Keygen { file } => keygen(file),
        HistoryCmd::Checkpoint { signing_key, file } => {
            checkpoint_now(db, clock, signing_key, file).await
        }
    }
}

async fn object(reg: &Registry<SqlStore>, obj: ObjectRef) -> Result<Output, AdminError> {
    let key = match &obj {
        ObjectRef::Domain(k) | ObjectRef::Host(k) | ObjectRef::Contact(k) => k.clone(),
    };
    rows(reg.history(&obj).await?, &key)
}

fn rows(rows: Vec<registry_core::model::HistoryEntry>, key: &str) -> Result<Output, AdminError> {
    if rows.is_empty() {
        return Err(AdminError::NotFound(format!("no history for {key}")));
    }
    let t = rows
        .iter()
        .map(|h| {
            vec![
                fmt_time(h.at),
                h.op.clone(),
                h.cl_id.clone(),
                h.source_ip.clone().unwrap_or_else(|| "-".into()),
                h.cl_trid.clone().unwrap_or_else(|| "-".into()),
                h.sv_trid.clone(),
            ]
        })
        .collect::<Vec<_>>();
    let js = rows
        .iter()
        .map(|h| {
            json!({
                "id": h.id,
                "at": h.at,
                "op": h.op,
                "actor": h.cl_id,
                "source_ip": h.source_ip,
                "cert_fingerprint": h.cert_fingerprint,
                "cl_trid": h.cl_trid,
                "sv_trid": h.sv_trid,
                "roid": h.roid,
                "before": h.before.as_deref().and_then(|s| serde_json::from_str::<Value>(s).ok()),
                "after": h.after.as_deref().and_then(|s| serde_json::from_str::<Value>(s).ok()),
            })
        })
        .collect();
    Ok(Output::new(
        table(&["AT (UTC)", "OP", "ACTOR", "FROM", "CLTRID", "SVTRID"], &t),
        Value::Array(js),
    ))
}

/// A public key argument: hex, or a file whose content is the hex.
fn public_key(arg: &str) -> Result<String, AdminError> {
    let hex_like = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if hex_like(arg.trim()) {
        return Ok(arg.trim().to_ascii_lowercase());
    }
    let text = std::fs::read_to_string(arg)
        .map_err(|e| AdminError::Usage(format!("public key {arg:?}: not hex, and {e}")))?;
    let t = text.trim();
    if hex_like(t) {
        Ok(t.to_ascii_lowercase())
    } else {
        Err(AdminError::Usage(format!(
            "public key file {arg}: expected 64 hex digits"
        )))
    }
}

/// Every checkpoint in FILE, each with its signature checked against the trusted key.
fn checkpoints(file: &Path, key: &str) -> Result<Vec<Checkpoint>, AdminError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| AdminError::Usage(format!("checkpoint file {}: {e}", file.display())))?;
    let mut out: Vec<Checkpoint> = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let n = i + 1;
        let cp: Checkpoint = serde_json::from_str(line).map_err(|e| {
            AdminError::Tampered(format!(
                "{} line {n} is not a checkpoint: {e}",
                file.display()
            ))
        })?;
        cp.verify(key)
            .map_err(|e| AdminError::Tampered(format!("{} line {n}: {e}", file.display())))?;
        // Heads only move forward: a signed line with a lower position than an earlier one
        // was not written by the frontends (or the chain was rewritten behind them).
        if let Some(prev) = out.last() {
            if cp.position < prev.position {
                return Err(AdminError::Tampered(format!(
                    "{} line {n}: position {} after position {}",
                    file.display(),
                    cp.position,
                    prev.position
                )));
            }
        }
        out.push(cp);
    }
    if out.is_empty() {
        return Err(AdminError::Usage(format!(
            "checkpoint file {} holds no checkpoint",
            file.display()
        )));
    }
    Ok(out)
}

async fn verify(
    db: &Db,
    clock: &dyn Clock,
    checkpoint: Option<&Path>,
    key: Option<&str>,
) -> Result<Output, AdminError> {
    let cps = match (checkpoint, key) {
        (Some(f), Some(k)) => checkpoints(f, &public_key(k)?)?,
        (None, Some(_)) => return Err(AdminError::Usage("--public-key needs --checkpoint".into())),
        _ => Vec::new(),
    };
    // Chain what the frontends have not chained yet, so that the walk covers every row; rows
    // older than a minute that were still unchained are reported as late (written around the
    // registry).
    let late_before = clock.now() - chrono::Duration::seconds(60);
    let mut late = Vec::new();
    loop {
        let r = chain::sequence(db, 10_000, late_before).await?;
        late.extend(r.late);
        if r.chained == 0 {
            break;
        }
    }
    // Each checkpoint is checked on its own walk only for the last one: the walk checks that
    // the chain holds the signed hash at the signed position, and the chain is append-only, so
    // the last checkpoint covers every earlier position.
    let last = cps.last();
    let report = chain::verify(db, last).await?;
    let (pos, hash) = report.head;
    let mut js = json!({
        "rows": report.rows,
        "head": { "position": pos, "hash": hex::encode(hash) },
        "unchained": report.unchained,
        "late_rows": late.iter().map(|r| json!({ "table": r.table.table(), "id": r.id })).collect::<Vec<_>>(),
        "checkpoints": cps.len(),
        "checkpoint": last.map(|c| json!({ "position": c.position, "hash": c.hash, "at": c.at })),
    });
    if let Some(b) = report.problem {
        js["problem"] = json!(b.to_string());
        return Err(AdminError::Tampered(b.to_string()));
    }
    let mut text = format!(
        "history chain ok: {} rows, head at position {pos} ({})",
        report.rows,
        hex::encode(hash)
    );
    if let Some(c) = last {
        text.push_str(&format!(
            "\ncheckpoint ok: {} signed checkpoint(s), the last at position {} ({})",
            cps.len(),
            c.position,
            fmt_time(c.at)
        ));
    }
    if !late.is_empty() {
        text.push_str(&format!(
            "\nwarning: {} row(s) were chained late, written around the registry? {}",
            late.len(),
            late.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(Output::new(text, js))
}

/// Replays the history and folds the delegation journal, then compares them.
async fn reconcile(db: &Db) -> Result<registry_core::reconcile::Reconciliation, AdminError> {
    use registry_core::reconcile::{HistoryReplay, JournalFold};
    use registry_core::store::Store as _;
    const PAGE: u32 = 10_000;
    let mut replay = HistoryReplay::new();
    let mut after = 0;
    loop {
        let rows = chain::entries(db, after, PAGE).await?;
        for e in &rows {
            replay.push(e);
        }
        match rows.last() {
            Some(e) if rows.len() == PAGE as usize => after = e.id,
            _ => break,
        }
    }
    let store = SqlStore::new(db.clone());
    let mut fold = JournalFold::default();
    let mut pos = 0;
    loop {
        let entries = store.journal_since(pos, PAGE).await?;
        for e in &entries {
            fold.push(e);
        }
        match entries.last() {
            Some(e) if entries.len() == PAGE as usize => pos = e.position,
            _ => break,
        }
    }
    Ok(registry_core::reconcile::reconcile(replay, fold))
}

fn keygen(file: &Path) -> Result<Output, AdminError> {
    let (pkcs8, public) = registry_core::history::new_signing_key().map_err(AdminError::Config)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(file).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            AdminError::Refused(format!("{} exists: not overwritten", file.display()))
        } else {
            AdminError::Config(format!("{}: {e}", file.display()))
        }
    })?;
    f.write_all(&pkcs8)
        .and_then(|()| f.sync_all())
        .map_err(|e| AdminError::Config(format!("{}: {e}", file.display())))?;
    Ok(Output::new(
        format!(
            "checkpoint key written to {} (mode 0600)\npublic key: {public}",
            file.display()
        ),
        json!({ "file": file, "public_key": public }),
    ))
}

async fn checkpoint_now(
    db: &Db,
    clock: &dyn Clock,
    key: &Path,
    file: &Path,
) -> Result<Output, AdminError> {
    let pkcs8 = std::fs::read(key)
        .map_err(|e| AdminError::Config(format!("checkpoint key {}: {e}", key.display())))?;
    let cp = eppd::history::checkpoint_once(db, clock, &pkcs8, file)
        .await
        .map_err(AdminError::Database)?;
    Ok(Output::new(
        format!(
            "checkpoint at position {} ({}) appended to {}",
            cp.position,
            cp.hash,
            file.display()
        ),
        serde_json::to_value(&cp).unwrap_or_default(),
    ))
}
