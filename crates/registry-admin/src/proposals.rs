//! The two-person rule (issue 13): `registry-admin propose …`, `proposal list|show|approve`.
//!
//! Security-relevant actions are not run directly: releasing a registry lock (`lock verify`
//! of an unlock request), lifting a suspension (`registrar resume`), pinning or unpinning a
//! certificate, adding or withdrawing a network, setting a password or the lock contact,
//! approving a held zone batch, and adding an operator. [`gate`] refuses them when run
//! directly (exit 9). `propose` resolves the command's arguments into an [`Action`] (a PEM
//! file into its fingerprint, a password into its argon2id hash, so what the approver sees
//! is what runs) and files it signed by the proposer; `proposal approve ID`, signed by a
//! different operator within `[operators] proposal_window_hours`, executes it through the
//! same code as the direct command. Each step is a history row of the object concerned with
//! both operators (`proposal:proposed`, `proposal:approved`, `proposal:done|failed`).

use chrono::TimeDelta;
use clap::Subcommand;
use epp_proto::Timestamp;
use registry_core::operator::Role;
use registry_core::registrar::{parse_network, PasswordHash};
use registry_core::Registry;
use registry_store::operators::{Approved, Proposal, Target};
use registry_store::{Db, SqlStore};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::operators::{check, sign};
use crate::{fmt_time, table, AdminError, Cli, Cmd, LockCmd, Output, RegistrarCmd};

#[derive(Debug, Subcommand)]
pub enum ProposeCmd {
    /// A registrar change: resume, set-password, add-cert, remove-cert, add-network,
    /// remove-network, set-lock-contact.
    #[command(subcommand)]
    Registrar(RegistrarCmd),
    /// `lock verify ID CODE` of an unlock request (releasing a registry lock).
    #[command(subcommand)]
    Lock(LockCmd),
    /// `zone approve ID`: publishing a held zone batch.
    #[command(subcommand)]
    Zone(ZoneCmd),
}

#[derive(Debug, Subcommand)]
pub enum ProposalCmd {
    /// Lists proposals (pending ones; --all for every one), oldest first.
    List {
        #[arg(long)]
        all: bool,
    },
    /// Shows one proposal.
    Show { id: i64 },
    /// Approves (and so executes) another operator's proposal.
    Approve { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum ZoneCmd {
    /// Lists the zone batches held by the publisher (safety valve or registry lock check).
    Held,
    /// Approves a held batch (a two-person action: `propose zone approve ID`).
    Approve { id: i64 },
}

/// A two-person action, resolved and ready to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    Resume {
        cl_id: String,
    },
    SetPassword {
        cl_id: String,
        password_hash: String,
    },
    AddCert {
        cl_id: String,
        fingerprint: String,
    },
    RemoveCert {
        cl_id: String,
        fingerprint: String,
    },
    AddNetwork {
        cl_id: String,
        cidr: String,
    },
    RemoveNetwork {
        cl_id: String,
        cidr: String,
    },
    SetLockContact {
        cl_id: String,
        name: String,
        phone: String,
        email: String,
    },
    ReleaseLock {
        request_id: i64,
        domain: String,
        code: String,
    },
    ApproveHeldBatch {
        batch_id: i64,
    },
    AddOperator {
        name: String,
        role: String,
        public_key: String,
    },
}

impl Action {
    /// The signed action name.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Resume { .. } => "registrar.resume",
            Action::SetPassword { .. } => "registrar.set-password",
            Action::AddCert { .. } => "registrar.add-cert",
            Action::RemoveCert { .. } => "registrar.remove-cert",
            Action::AddNetwork { .. } => "registrar.add-network",
            Action::RemoveNetwork { .. } => "registrar.remove-network",
            Action::SetLockContact { .. } => "registrar.set-lock-contact",
            Action::ReleaseLock { .. } => "lock.release",
            Action::ApproveHeldBatch { .. } => "zone.approve-held",
            Action::AddOperator { .. } => "operator.add",
        }
    }

    /// Whose history records it.
    fn target(&self) -> (&'static str, String) {
        match self {
            Action::Resume { cl_id }
            | Action::SetPassword { cl_id, .. }
            | Action::AddCert { cl_id, .. }
            | Action::RemoveCert { cl_id, .. }
            | Action::AddNetwork { cl_id, .. }
            | Action::RemoveNetwork { cl_id, .. }
            | Action::SetLockContact { cl_id, .. } => ("registrar", cl_id.clone()),
            Action::ReleaseLock { domain, .. } => ("domain", domain.clone()),
            Action::ApproveHeldBatch { batch_id } => ("zone", batch_id.to_string()),
            Action::AddOperator { name, .. } => ("operator", name.clone()),
        }
    }

    /// What the approver reads.
    fn summary(&self) -> String {
        match self {
            Action::Resume { cl_id } => format!("lift the suspension of {cl_id}"),
            Action::SetPassword { cl_id, .. } => format!("set a new password for {cl_id}"),
            Action::AddCert { cl_id, fingerprint } => {
                format!("pin certificate {fingerprint} for {cl_id}")
            }
            Action::RemoveCert { cl_id, fingerprint } => {
                format!("unpin certificate {fingerprint} of {cl_id}")
            }
            Action::AddNetwork { cl_id, cidr } => format!("allow {cidr} for {cl_id}"),
            Action::RemoveNetwork { cl_id, cidr } => format!("withdraw {cidr} from {cl_id}"),
            Action::SetLockContact {
                cl_id,
                name,
                phone,
                email,
            } => format!("lock contact of {cl_id}: {name} <{email}> {phone}"),
            Action::ReleaseLock {
                request_id, domain, ..
            } => format!(
                "release the registry lock of {domain} (request {request_id}, code as read out)"
            ),
            Action::ApproveHeldBatch { batch_id } => format!("publish held zone batch {batch_id}"),
            Action::AddOperator {
                name,
                role,
                public_key,
            } => format!("add operator {name} ({role}, key {public_key})"),
        }
    }
}

/// Refuses a two-person action run directly (exit 9, with what to run instead).
pub(crate) async fn gate(cmd: &Cmd, reg: &Registry<SqlStore>) -> Result<(), AdminError> {
    let refuse = |what: &str| {
        Err(AdminError::NotPermitted(format!(
            "{what} is a two-person action: `registry-admin propose {what} …`, then another operator runs `registry-admin proposal approve ID`"
        )))
    };
    match cmd {
        Cmd::Registrar(c) => match c {
            RegistrarCmd::Resume { .. } => refuse("registrar resume"),
            RegistrarCmd::SetPassword { .. } => refuse("registrar set-password"),
            RegistrarCmd::AddCert { .. } => refuse("registrar add-cert"),
            RegistrarCmd::RemoveCert { .. } => refuse("registrar remove-cert"),
            RegistrarCmd::AddNetwork { .. } => refuse("registrar add-network"),
            RegistrarCmd::RemoveNetwork { .. } => refuse("registrar remove-network"),
            RegistrarCmd::SetLockContact { .. } => refuse("registrar set-lock-contact"),
            RegistrarCmd::Create { .. }
            | RegistrarCmd::List
            | RegistrarCmd::Show { .. }
            | RegistrarCmd::Suspend { .. }
            | RegistrarCmd::SetLimits { .. } => Ok(()),
        },
        Cmd::Lock(LockCmd::Verify { id, .. }) => {
            let (r, _) = reg.lock_request(*id).await?;
            if r.op == "unlock" {
                return refuse("lock verify");
            }
            Ok(())
        }
        Cmd::Zone(ZoneCmd::Approve { .. }) => refuse("zone approve"),
        _ => Ok(()),
    }
}

/// A directly run command that changes something, signed once operator accounts exist:
/// (action, arguments, history target). The arguments never carry secrets (they are
/// recorded).
pub(crate) fn direct(cmd: &Cmd) -> Option<(&'static str, Value, (&'static str, String))> {
    match cmd {
        Cmd::Registrar(RegistrarCmd::Create { cl_id, name, .. }) => Some((
            "registrar.create",
            json!({ "cl_id": cl_id, "name": name }),
            ("registrar", cl_id.clone()),
        )),
        // Throttling a registrar is an operational action, like suspending it: one operator.
        Cmd::Registrar(RegistrarCmd::SetLimits {
            cl_id,
            limits,
            clear,
        }) => Some((
            "registrar.set-limits",
            json!({ "cl_id": cl_id, "clear": clear, "limits": crate::rate_limits_json(&limits.overrides()) }),
            ("registrar", cl_id.clone()),
        )),
        Cmd::Registrar(RegistrarCmd::Suspend { cl_id, reason }) => Some((
            "registrar.suspend",
            json!({ "cl_id": cl_id, "reason": reason }),
            ("registrar", cl_id.clone()),
        )),
        Cmd::Lock(LockCmd::Request {
            domain,
            unlock,
            duration,
        }) => Some((
            "lock.request",
            json!({ "domain": domain, "unlock": unlock, "duration": duration }),
            ("domain", domain.to_ascii_lowercase()),
        )),
        Cmd::Lock(LockCmd::Verify { id, .. }) => Some((
            "lock.verify",
            json!({ "id": id }),
            ("lock-request", id.to_string()),
        )),
        Cmd::Lock(LockCmd::Reject { id, reason }) => Some((
            "lock.reject",
            json!({ "id": id, "reason": reason }),
            ("lock-request", id.to_string()),
        )),
        _ => None,
    }
}

/// Resolves a proposed command into the action that will run.
async fn resolve(
    cli: &Cli,
    db: &Db,
    reg: &Registry<SqlStore>,
    c: &ProposeCmd,
) -> Result<Action, AdminError> {
    let not_two = |what: &str| {
        Err(AdminError::Usage(format!(
            "{what} is not a two-person action: run it directly"
        )))
    };
    match c {
        ProposeCmd::Registrar(r) => {
            let (id, action) = match r {
                RegistrarCmd::Resume { cl_id } => (
                    cl_id,
                    Action::Resume {
                        cl_id: cl_id.clone(),
                    },
                ),
                RegistrarCmd::SetPassword { cl_id, password } => {
                    let id = crate::cl_id(cl_id)?;
                    let h = crate::hash(crate::new_password(cli, &id, password)?).await?;
                    (
                        cl_id,
                        Action::SetPassword {
                            cl_id: cl_id.clone(),
                            password_hash: h.as_phc().to_owned(),
                        },
                    )
                }
                RegistrarCmd::AddCert { cl_id, cert } => (
                    cl_id,
                    Action::AddCert {
                        cl_id: cl_id.clone(),
                        fingerprint: crate::fingerprint(cert)?.to_hex(),
                    },
                ),
                RegistrarCmd::RemoveCert { cl_id, cert } => (
                    cl_id,
                    Action::RemoveCert {
                        cl_id: cl_id.clone(),
                        fingerprint: crate::fingerprint(cert)?.to_hex(),
                    },
                ),
                RegistrarCmd::AddNetwork { cl_id, cidr }
                | RegistrarCmd::RemoveNetwork { cl_id, cidr } => {
                    let net = parse_network(cidr)
                        .map_err(|e| AdminError::Usage(format!("{cidr}: {e}")))?
                        .to_string();
                    let a = if matches!(r, RegistrarCmd::AddNetwork { .. }) {
                        Action::AddNetwork {
                            cl_id: cl_id.clone(),
                            cidr: net,
                        }
                    } else {
                        Action::RemoveNetwork {
                            cl_id: cl_id.clone(),
                            cidr: net,
                        }
                    };
                    (cl_id, a)
                }
                RegistrarCmd::SetLockContact {
                    cl_id,
                    name,
                    phone,
                    email,
                } => {
                    let c = crate::lock_contact(cl_id, name, phone, email)?;
                    (
                        cl_id,
                        Action::SetLockContact {
                            cl_id: c.cl_id,
                            name: c.name,
                            phone: c.phone,
                            email: c.email,
                        },
                    )
                }
                RegistrarCmd::Create { .. } => return not_two("registrar create"),
                RegistrarCmd::Suspend { .. } => return not_two("registrar suspend"),
                RegistrarCmd::SetLimits { .. } => return not_two("registrar set-limits"),
                RegistrarCmd::List | RegistrarCmd::Show { .. } => return not_two("reading"),
            };
            crate::load_registrar(db, &crate::cl_id(id)?).await?;
            Ok(action)
        }
        ProposeCmd::Lock(LockCmd::Verify { id, code }) => {
            let (r, _) = reg.lock_request(*id).await?;
            if r.op != "unlock" {
                return not_two("lock verify of a lock (not unlock) request");
            }
            Ok(Action::ReleaseLock {
                request_id: *id,
                domain: r.domain,
                code: code.trim().to_owned(),
            })
        }
        ProposeCmd::Lock(_) => not_two("that lock command"),
        ProposeCmd::Zone(ZoneCmd::Approve { id }) => {
            let pending = zonegen::pending_held_batches(db, None)
                .await
                .map_err(|e| AdminError::Database(e.to_string()))?;
            if !pending.iter().any(|h| h.id == *id) {
                return Err(AdminError::NotFound(format!("pending held batch {id}")));
            }
            Ok(Action::ApproveHeldBatch { batch_id: *id })
        }
        ProposeCmd::Zone(ZoneCmd::Held) => not_two("zone held"),
    }
}

fn window(cfg: &registry_core::Config) -> TimeDelta {
    TimeDelta::hours(i64::from(cfg.operators.proposal_window_hours.clamp(1, 720)))
}

/// Files `action` as a proposal signed by `--operator`/`--key`.
pub(crate) async fn file(
    cli: &Cli,
    db: &Db,
    cfg: &registry_core::Config,
    now: Timestamp,
    action: Action,
) -> Result<Output, AdminError> {
    let name = action.name();
    let args = serde_json::to_value(&action).map_err(|e| AdminError::Usage(e.to_string()))?;
    let signed = sign(cli, name, &args, now)?;
    let (kind, key) = action.target();
    let p = db
        .propose(
            &signed,
            check(cfg, name, Role::Operator, now),
            Target { kind, key: &key },
            &action.summary(),
            window(cfg),
        )
        .await?;
    Ok(Output::new(
        format!(
            "proposal {} filed by {}: {}\nanother operator approves it with `registry-admin proposal approve {}` before {} UTC",
            p.id,
            p.proposed_by,
            p.summary,
            p.id,
            fmt_time(p.expires)
        ),
        proposal_json(&p, now),
    ))
}

fn state(p: &Proposal, now: Timestamp) -> String {
    if p.is_expired(now) {
        "expired".into()
    } else {
        p.state.clone()
    }
}

fn proposal_json(p: &Proposal, now: Timestamp) -> Value {
    let mut args: Value = p.args().unwrap_or(Value::Null);
    // The lock code is a secret of the call-back; the proposal keeps it, lists do not.
    if let Some(c) = args.get_mut("code") {
        *c = Value::String("*****".into());
    }
    if let Some(c) = args.get_mut("password_hash") {
        *c = Value::String("*****".into());
    }
    json!({
        "id": p.id,
        "action": p.action,
        "target": format!("{} {}", p.target_type, p.target_key),
        "summary": p.summary,
        "args": args,
        "proposed_by": p.proposed_by,
        "proposed_at": p.proposed_at,
        "expires": p.expires,
        "state": state(p, now),
        "approved_by": p.approved_by,
        "approved_at": p.approved_at,
        "outcome": p.outcome,
    })
}

pub(crate) async fn propose_cmd(
    cli: &Cli,
    db: &Db,
    reg: &Registry<SqlStore>,
    c: &ProposeCmd,
) -> Result<Output, AdminError> {
    let action = resolve(cli, db, reg, c).await?;
    file(cli, db, reg.config(), reg.now(), action).await
}

pub(crate) async fn proposal_cmd(
    cli: &Cli,
    db: &Db,
    reg: &Registry<SqlStore>,
    c: &ProposalCmd,
) -> Result<Output, AdminError> {
    let now = reg.now();
    match c {
        ProposalCmd::List { all } => {
            let list = db.proposals(!*all).await?;
            let rows = list
                .iter()
                .map(|p| {
                    vec![
                        p.id.to_string(),
                        p.action.clone(),
                        p.summary.clone(),
                        p.proposed_by.clone(),
                        state(p, now),
                        fmt_time(p.expires),
                        p.approved_by.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect::<Vec<_>>();
            Ok(Output::new(
                table(
                    &[
                        "ID",
                        "ACTION",
                        "SUMMARY",
                        "PROPOSED BY",
                        "STATE",
                        "EXPIRES (UTC)",
                        "APPROVED BY",
                    ],
                    &rows,
                ),
                Value::Array(list.iter().map(|p| proposal_json(p, now)).collect()),
            ))
        }
        ProposalCmd::Show { id } => {
            let p = db
                .proposal(*id)
                .await?
                .ok_or_else(|| AdminError::NotFound(format!("proposal {id}")))?;
            let mut t = vec![
                format!("proposal:    {}", p.id),
                format!("action:      {}", p.action),
                format!("summary:     {}", p.summary),
                format!("target:      {} {}", p.target_type, p.target_key),
                format!(
                    "proposed by: {} at {}",
                    p.proposed_by,
                    fmt_time(p.proposed_at)
                ),
                format!("expires:     {}", fmt_time(p.expires)),
                format!("state:       {}", state(&p, now)),
            ];
            if let (Some(b), Some(at)) = (&p.approved_by, p.approved_at) {
                t.push(format!("approved by: {b} at {}", fmt_time(at)));
            }
            if let Some(o) = &p.outcome {
                t.push(format!("outcome:     {o}"));
            }
            Ok(Output::new(t.join("\n"), proposal_json(&p, now)))
        }
        ProposalCmd::Approve { id } => {
            let p = db
                .proposal(*id)
                .await?
                .ok_or_else(|| AdminError::NotFound(format!("proposal {id}")))?;
            let action = "proposal.approve";
            let signed = sign(
                cli,
                action,
                &json!({ "id": id, "digest": p.signed.digest() }),
                now,
            )?;
            let approved = db
                .approve_proposal(&signed, check(reg.config(), action, Role::Operator, now))
                .await?;
            let result = execute(db, reg, &approved, now).await;
            let outcome = match &result {
                Ok(o) => Ok(o.text.clone()),
                Err(e) => Err(e.to_string()),
            };
            let p = db.finish_proposal(&approved, &outcome, now).await?;
            let out = result.map_err(|e| {
                let msg = format!(
                    "proposal {id} approved by {}, but it failed: {e}",
                    approved.approver().name
                );
                match e {
                    AdminError::Usage(_) => AdminError::Usage(msg),
                    AdminError::NotFound(_) => AdminError::NotFound(msg),
                    AdminError::Verification(_) => AdminError::Verification(msg),
                    AdminError::Database(_) => AdminError::Database(msg),
                    _ => AdminError::Refused(msg),
                }
            })?;
            let mut j = proposal_json(&p, now);
            if let Some(o) = j.as_object_mut() {
                o.insert("result".into(), out.json);
            }
            Ok(Output::new(
                format!(
                    "proposal {id} ({} by {}) approved by {}: {}",
                    p.action,
                    p.proposed_by,
                    approved.approver().name,
                    out.text
                ),
                j,
            ))
        }
    }
}

/// Runs an approved proposal through the code of the direct command.
async fn execute(
    db: &Db,
    reg: &Registry<SqlStore>,
    approved: &Approved,
    now: Timestamp,
) -> Result<Output, AdminError> {
    let p = approved.proposal();
    let action: Action = serde_json::from_value(p.args()?)
        .map_err(|e| AdminError::Database(format!("proposal {}: {e}", p.id)))?;
    let approver = &approved.approver().name;
    let reg_cmd = |c: RegistrarCmd| async move { crate::registrar_cmd(db, reg, &c).await };
    match action {
        Action::Resume { cl_id } => reg_cmd(RegistrarCmd::Resume { cl_id }).await,
        Action::SetPassword {
            cl_id,
            password_hash,
        } => {
            let h = PasswordHash::new(&password_hash)
                .map_err(|e| AdminError::Database(format!("proposal {}: {e}", p.id)))?;
            crate::set_password(db, &crate::cl_id(&cl_id)?, &h, now).await
        }
        Action::AddCert { cl_id, fingerprint } => {
            reg_cmd(RegistrarCmd::AddCert {
                cl_id,
                cert: fingerprint,
            })
            .await
        }
        Action::RemoveCert { cl_id, fingerprint } => {
            reg_cmd(RegistrarCmd::RemoveCert {
                cl_id,
                cert: fingerprint,
            })
            .await
        }
        Action::AddNetwork { cl_id, cidr } => {
            reg_cmd(RegistrarCmd::AddNetwork { cl_id, cidr }).await
        }
        Action::RemoveNetwork { cl_id, cidr } => {
            reg_cmd(RegistrarCmd::RemoveNetwork { cl_id, cidr }).await
        }
        Action::SetLockContact {
            cl_id,
            name,
            phone,
            email,
        } => {
            reg_cmd(RegistrarCmd::SetLockContact {
                cl_id,
                name,
                phone,
                email,
            })
            .await
        }
        Action::ReleaseLock {
            request_id, code, ..
        } => {
            crate::lock_cmd(
                reg,
                approver,
                &LockCmd::Verify {
                    id: request_id,
                    code,
                },
            )
            .await
        }
        Action::ApproveHeldBatch { batch_id } => {
            let h = zonegen::approve_held_batch(db, batch_id, approver)
                .await
                .map_err(|e| AdminError::Refused(e.to_string()))?;
            Ok(Output::new(
                format!(
                    "held batch {} (zone {}) approved for publication",
                    h.id, h.zone
                ),
                json!({ "batch": h.id, "zone": h.zone, "approved_by": h.approved_by }),
            ))
        }
        Action::AddOperator { .. } => {
            let o = db.add_operator(approved, now).await?;
            Ok(Output::new(
                format!("operator {} added ({})", o.name, o.role.as_str()),
                json!({ "name": o.name, "role": o.role, "public_key": o.public_key, "created_by": o.created_by }),
            ))
        }
    }
}

/// `zone held`: the held batches.
pub(crate) async fn zone_cmd(db: &Db, c: &ZoneCmd) -> Result<Output, AdminError> {
    match c {
        ZoneCmd::Held => {
            let held = zonegen::pending_held_batches(db, None)
                .await
                .map_err(|e| AdminError::Database(e.to_string()))?;
            let rows = held
                .iter()
                .map(|h| {
                    vec![
                        h.id.to_string(),
                        h.zone.clone(),
                        h.reason.clone(),
                        format!("{}..={}", h.from_position, h.to_position),
                        h.removed.to_string(),
                        h.repointed.to_string(),
                    ]
                })
                .collect::<Vec<_>>();
            let js = held
                .iter()
                .map(|h| {
                    json!({
                        "id": h.id,
                        "zone": h.zone,
                        "reason": h.reason,
                        "from_position": h.from_position,
                        "to_position": h.to_position,
                        "removed": h.removed,
                        "repointed": h.repointed,
                    })
                })
                .collect();
            Ok(Output::new(
                table(
                    &["ID", "ZONE", "REASON", "POSITIONS", "REMOVED", "REPOINTED"],
                    &rows,
                ),
                Value::Array(js),
            ))
        }
        // Refused by `gate` before it gets here.
        ZoneCmd::Approve { .. } => Err(AdminError::NotPermitted(
            "zone approve is a two-person action".into(),
        )),
    }
}
