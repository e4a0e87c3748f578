//! `registry-admin operator …`: operator accounts and their keys, and the signing of admin
//! actions (issue 13).
//!
//! An operator's credential is an Ed25519 key file made by `operator keygen` (PKCS#8, mode
//! 0600); only its public half is stored (`operator add … --public-key HEX`). Every
//! security-relevant command is run with `--operator NAME --key FILE`: the tool signs the
//! action ([`SignedAction`]) and the store checks it (registry-store `operators`, the one
//! place) before anything happens.

use std::io::Write as _;
use std::path::Path;

use clap::Subcommand;
use epp_proto::Timestamp;
use registry_core::operator::{parse_public_key, Operator, Role, SignedAction, SigningKey};
use registry_store::operators::{Check, OperatorError, Target};
use registry_store::Db;
use serde_json::{json, Value};

use crate::{fmt_time, table, AdminError, Cli, Output};

#[derive(Debug, Subcommand)]
pub enum OperatorCmd {
    /// Writes a new Ed25519 key (PKCS#8, mode 0600; never overwrites) and prints its public key.
    Keygen { file: std::path::PathBuf },
    /// Adds an operator. The first one (role security) needs no signature; after that this
    /// files a proposal (signed with --operator/--key: an existing operator's, or the new
    /// operator's own key) that a security operator approves (`proposal approve`).
    Add {
        name: String,
        #[arg(long, value_parser = ["viewer", "operator", "security"])]
        role: String,
        /// The operator's Ed25519 public key, 64 hex digits (from `operator keygen`).
        #[arg(long)]
        public_key: String,
    },
    /// Lists operator accounts.
    List,
    /// Disables an account (signed by a security operator).
    Disable { name: String },
}

impl From<OperatorError> for AdminError {
    fn from(e: OperatorError) -> Self {
        if e.is_authentication() {
            return AdminError::Unauthenticated(e.to_string());
        }
        match e {
            OperatorError::Role { .. } | OperatorError::SameOperator(_) => {
                AdminError::NotPermitted(e.to_string())
            }
            OperatorError::Refused(m) | OperatorError::Expired(m) => AdminError::Refused(m),
            OperatorError::NotFound(m) => AdminError::NotFound(m),
            OperatorError::BadArgs(m) => AdminError::Usage(m),
            OperatorError::Db(e) => AdminError::Database(e.to_string()),
            other => AdminError::Unauthenticated(other.to_string()),
        }
    }
}

/// Reads an operator's key file (PKCS#8, or a 32-byte seed in binary or hex).
pub fn load_key(path: &Path) -> Result<SigningKey, AdminError> {
    let bytes = std::fs::read(path)
        .map_err(|e| AdminError::Unauthenticated(format!("key file {}: {e}", path.display())))?;
    SigningKey::from_bytes(&bytes)
        .map_err(|e| AdminError::Unauthenticated(format!("key file {}: {e}", path.display())))
}

/// Signs `action` with `args` as `--operator` with `--key`, at the registry's time.
pub fn sign(
    cli: &Cli,
    action: &str,
    args: &Value,
    now: Timestamp,
) -> Result<SignedAction, AdminError> {
    let Some(path) = &cli.key else {
        return Err(AdminError::Unauthenticated(format!(
            "{action} is signed: give --operator NAME --key FILE (or REGISTRY_ADMIN_KEY)"
        )));
    };
    let key = load_key(path)?;
    SignedAction::sign(&key, &cli.operator, action, args, now)
        .map_err(|e| AdminError::Unauthenticated(e.to_string()))
}

/// What the store checks a signed `action` against.
pub fn check<'a>(
    cfg: &registry_core::Config,
    action: &'a str,
    need: Role,
    now: Timestamp,
) -> Check<'a> {
    Check {
        action,
        need,
        now,
        max_age_secs: cfg.operators.signature_max_age_secs,
    }
}

/// Signs and authenticates a directly run action (recorded as `admin:ACTION` in the history
/// of `target`). On a database without operator accounts (before the first `operator add`),
/// and without `--key`, the action runs unsigned under the free-text `--operator` name.
pub async fn authorize(
    cli: &Cli,
    db: &Db,
    cfg: &registry_core::Config,
    now: Timestamp,
    action: &str,
    args: Value,
    target: Target<'_>,
) -> Result<Option<Operator>, AdminError> {
    if cli.key.is_none() && db.operators().await?.is_empty() {
        return Ok(None);
    }
    let signed = sign(cli, action, &args, now)?;
    let op = db
        .authenticate(&signed, check(cfg, action, Role::Operator, now), target)
        .await?;
    Ok(Some(op))
}

fn operator_json(o: &Operator) -> Value {
    json!({
        "name": o.name,
        "role": o.role,
        "public_key": o.public_key,
        "created": o.created,
        "created_by": o.created_by,
        "disabled": o.disabled,
    })
}

/// Creates `file` for writing with mode 0600, refusing an existing one.
fn create_private(file: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    o.open(file)
}

pub(crate) async fn operator_cmd(
    cli: &Cli,
    db: &Db,
    cfg: &registry_core::Config,
    now: Timestamp,
    c: &OperatorCmd,
) -> Result<Output, AdminError> {
    match c {
        OperatorCmd::Keygen { file } => {
            let (pkcs8, key) =
                SigningKey::generate().map_err(|e| AdminError::Config(e.to_string()))?;
            let mut f = create_private(file).map_err(|e| {
                AdminError::Refused(format!(
                    "{}: {e} (an existing key is never overwritten)",
                    file.display()
                ))
            })?;
            f.write_all(&pkcs8)
                .and_then(|_| f.sync_all())
                .map_err(|e| AdminError::Config(format!("{}: {e}", file.display())))?;
            let pk = key.public_key();
            Ok(Output::new(
                format!(
                    "key written to {} (keep it private)\npublic key: {pk}",
                    file.display()
                ),
                json!({ "file": file.display().to_string(), "public_key": pk }),
            ))
        }
        OperatorCmd::Add {
            name,
            role,
            public_key,
        } => {
            let role =
                Role::parse(role).ok_or_else(|| AdminError::Usage(format!("role {role:?}")))?;
            registry_core::operator::check_name(name)
                .map_err(|e| AdminError::Usage(e.to_string()))?;
            let public_key =
                parse_public_key(public_key).map_err(|e| AdminError::Usage(e.to_string()))?;
            if db.operators().await?.is_empty() {
                let o = db.bootstrap_operator(name, role, &public_key, now).await?;
                return Ok(Output::new(
                    format!(
                        "operator {} added ({}, the first account)",
                        o.name,
                        o.role.as_str()
                    ),
                    operator_json(&o),
                ));
            }
            let action = crate::proposals::Action::AddOperator {
                name: name.clone(),
                role: role.as_str().to_owned(),
                public_key,
            };
            crate::proposals::file(cli, db, cfg, now, action).await
        }
        OperatorCmd::List => {
            let ops = db.operators().await?;
            let rows = ops
                .iter()
                .map(|o| {
                    vec![
                        o.name.clone(),
                        o.role.as_str().to_owned(),
                        o.public_key.clone(),
                        fmt_time(o.created),
                        o.created_by.clone().unwrap_or_else(|| "-".into()),
                        o.disabled.map(fmt_time).unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect::<Vec<_>>();
            Ok(Output::new(
                table(
                    &[
                        "NAME",
                        "ROLE",
                        "PUBLIC KEY",
                        "CREATED (UTC)",
                        "APPROVED BY",
                        "DISABLED",
                    ],
                    &rows,
                ),
                Value::Array(ops.iter().map(operator_json).collect()),
            ))
        }
        OperatorCmd::Disable { name } => {
            let action = "operator.disable";
            let signed = sign(cli, action, &json!({ "name": name }), now)?;
            let o = db
                .disable_operator(&signed, check(cfg, action, Role::Security, now), name)
                .await?;
            Ok(Output::new(
                format!("operator {} disabled", o.name),
                operator_json(&o),
            ))
        }
    }
}
