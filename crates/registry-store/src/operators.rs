//! Operator accounts, signed admin actions and two-person proposals (migration
//! `0012_operators.sql`, issue 13).
//!
//! [`Db::authenticate`] is the one check every signed admin action passes, and the proposal
//! functions ([`Db::propose`], [`Db::approve_proposal`], [`Db::disable_operator`]) run the
//! same check inside their own transaction: the operator exists and is enabled, has the role
//! the action needs, the signature over the canonical text verifies with the stored public
//! key ([`SignedAction::verify`]), the action is the one being run, the signature is fresh and
//! its nonce was never used before. Each accepted step writes a row in `object_history` under
//! the object it concerns, naming the operator (`operator:NAME`), in the same transaction. A
//! signed action refused for who signed it (not authenticated, or a role too low) writes one
//! too, in a transaction of its own, under the operator it claims (`admin:unauthenticated`,
//! `admin:not-permitted`): the history chain keeps failed attempts as it keeps failed logins.
//!
//! An approved proposal is handed back as [`Approved`], which only
//! [`Db::approve_proposal`] makes: whatever executes two-person actions takes one, so it
//! cannot run without a second operator's signature.

use chrono::{DateTime, TimeDelta, Utc};
use epp_proto::Timestamp;
use registry_core::operator::{check_name, Operator, Role, SignatureError, SignedAction};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::Row;

use crate::Db;

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("not authenticated: no operator account {0:?}")]
    UnknownOperator(String),
    #[error("not authenticated: operator {0} is disabled")]
    Disabled(String),
    #[error("not authenticated: {0}")]
    Signature(#[from] SignatureError),
    #[error("not authenticated: signed at {signed} (unix), the registry's clock says {now}; at most {max_age} s apart")]
    Stale { signed: i64, now: i64, max_age: u32 },
    #[error("not authenticated: this signed action was used before (replay)")]
    Replay,
    #[error("not authenticated: the signature is for {signed:?}, not {expected:?}")]
    WrongAction { signed: String, expected: String },
    #[error("not permitted: operator {name} has role {role}; this needs {need}")]
    Role {
        name: String,
        role: &'static str,
        need: &'static str,
    },
    #[error("{0}")]
    Refused(String),
    /// The two-person rule: the proposer cannot approve.
    #[error("{0}")]
    SameOperator(String),
    #[error("{0}")]
    Expired(String),
    #[error("{0}")]
    NotFound(String),
    #[error("bad arguments: {0}")]
    BadArgs(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl OperatorError {
    /// The caller could not show who they are (as opposed to: known, but not allowed).
    pub fn is_authentication(&self) -> bool {
        matches!(
            self,
            OperatorError::UnknownOperator(_)
                | OperatorError::Disabled(_)
                | OperatorError::Signature(_)
                | OperatorError::Stale { .. }
                | OperatorError::Replay
                | OperatorError::WrongAction { .. }
        )
    }
}

/// What a signed action must be to be accepted.
#[derive(Debug, Clone, Copy)]
pub struct Check<'a> {
    /// The action being run (`registrar.suspend`, `proposal.approve`, …).
    pub action: &'a str,
    /// The least role it needs.
    pub need: Role,
    /// The registry's clock.
    pub now: Timestamp,
    /// `[operators] signature_max_age_secs`.
    pub max_age_secs: u32,
}

/// The object whose history records a step: (`registrar`, clID), (`domain`, name),
/// (`zone`, held batch id), (`operator`, name).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub kind: &'a str,
    pub key: &'a str,
}

/// A two-person action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    pub id: i64,
    pub action: String,
    pub target_type: String,
    pub target_key: String,
    /// What it does, in words (what the approver reads).
    pub summary: String,
    /// The proposer's signed action; its `args` are what will be executed.
    pub signed: SignedAction,
    pub proposed_by: String,
    pub proposed_at: Timestamp,
    pub expires: Timestamp,
    /// `pending`, `approved` (being executed), `done` or `failed`.
    pub state: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<Timestamp>,
    /// What the execution said (`done`), or why it failed.
    pub outcome: Option<String>,
}

impl Proposal {
    /// The arguments as signed.
    pub fn args(&self) -> Result<Value, OperatorError> {
        serde_json::from_str(&self.signed.args)
            .map_err(|e| OperatorError::BadArgs(format!("proposal {}: {e}", self.id)))
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.state == "pending" && now >= self.expires
    }
}

/// A proposal a second operator approved, to be executed now: made only by
/// [`Db::approve_proposal`], consumed by [`Db::finish_proposal`].
#[derive(Debug)]
pub struct Approved {
    proposal: Proposal,
    approver: Operator,
}

impl Approved {
    pub fn proposal(&self) -> &Proposal {
        &self.proposal
    }

    pub fn approver(&self) -> &Operator {
        &self.approver
    }
}

fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

fn from_micros(us: i64) -> Result<Timestamp, OperatorError> {
    DateTime::<Utc>::from_timestamp_micros(us)
        .ok_or_else(|| OperatorError::Refused(format!("timestamp {us} out of range")))
}

fn role_of(s: &str) -> Result<Role, OperatorError> {
    Role::parse(s).ok_or_else(|| OperatorError::Refused(format!("stored role {s:?} unknown")))
}

/// The arguments of an `operator.add` proposal.
fn enrolment(signed: &SignedAction) -> Result<(String, Role, String), OperatorError> {
    let v: Value =
        serde_json::from_str(&signed.args).map_err(|e| OperatorError::BadArgs(e.to_string()))?;
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| OperatorError::BadArgs(format!("operator.add: no {k:?}")))
    };
    let name = s("name")?;
    check_name(&name)?;
    let role = Role::parse(&s("role")?)
        .ok_or_else(|| OperatorError::BadArgs("operator.add: role".into()))?;
    let key = registry_core::operator::parse_public_key(&s("public_key")?)?;
    Ok((name, role, key))
}

/// A caller-chosen string (operator name, nonce, action) as the history keeps it when the
/// action was refused: at most 64 characters.
fn bounded(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

const OP_COLS: &str = "name, role, public_key, created, created_by, disabled";
const P_COLS: &str = "id, action, target_type, target_key, summary, signed, proposed_by, proposed_at, expires, state, approved_by, approved_at, outcome";

macro_rules! operators_backend {
    ($m:ident, $db:ty) => {
        pub(crate) mod $m {
            use super::*;
            type Conn = <$db as sqlx::Database>::Connection;
            type DbRow = <$db as sqlx::Database>::Row;

            fn operator_row(r: &DbRow) -> Result<Operator, OperatorError> {
                let role: String = r.try_get("role")?;
                let disabled: Option<i64> = r.try_get("disabled")?;
                Ok(Operator {
                    name: r.try_get("name")?,
                    role: role_of(&role)?,
                    public_key: r.try_get("public_key")?,
                    created: from_micros(r.try_get("created")?)?,
                    created_by: r.try_get("created_by")?,
                    disabled: disabled.map(from_micros).transpose()?,
                })
            }

            fn proposal_row(r: &DbRow) -> Result<Proposal, OperatorError> {
                let signed: String = r.try_get("signed")?;
                let approved_at: Option<i64> = r.try_get("approved_at")?;
                Ok(Proposal {
                    id: r.try_get("id")?,
                    action: r.try_get("action")?,
                    target_type: r.try_get("target_type")?,
                    target_key: r.try_get("target_key")?,
                    summary: r.try_get("summary")?,
                    signed: serde_json::from_str(&signed)
                        .map_err(|e| OperatorError::Refused(format!("corrupt proposal: {e}")))?,
                    proposed_by: r.try_get("proposed_by")?,
                    proposed_at: from_micros(r.try_get("proposed_at")?)?,
                    expires: from_micros(r.try_get("expires")?)?,
                    state: r.try_get("state")?,
                    approved_by: r.try_get("approved_by")?,
                    approved_at: approved_at.map(from_micros).transpose()?,
                    outcome: r.try_get("outcome")?,
                })
            }

            pub async fn operator(c: &mut Conn, name: &str) -> Result<Option<Operator>, OperatorError> {
                let q = format!("SELECT {OP_COLS} FROM operators WHERE name = $1");
                let row = sqlx::query(&q).bind(name).fetch_optional(&mut *c).await?;
                row.as_ref().map(operator_row).transpose()
            }

            pub async fn operators(c: &mut Conn) -> Result<Vec<Operator>, OperatorError> {
                let q = format!("SELECT {OP_COLS} FROM operators ORDER BY name");
                let rows = sqlx::query(&q).fetch_all(&mut *c).await?;
                rows.iter().map(operator_row).collect()
            }

            async fn insert_operator(c: &mut Conn, o: &Operator) -> Result<(), OperatorError> {
                let r = sqlx::query(
                    "INSERT INTO operators (name, role, public_key, created, created_by) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&o.name)
                .bind(o.role.as_str())
                .bind(&o.public_key)
                .bind(micros(o.created))
                .bind(&o.created_by)
                .execute(&mut *c)
                .await;
                match r {
                    Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Err(
                        OperatorError::Refused(format!(
                            "an operator named {} or with that public key exists",
                            o.name
                        )),
                    ),
                    Err(e) => Err(e.into()),
                    Ok(_) => Ok(()),
                }
            }

            /// A history row under `t` naming `operator`.
            async fn history(
                c: &mut Conn,
                t: Target<'_>,
                op: &str,
                operator: &str,
                detail: &Value,
                at: Timestamp,
                sv_trid: &str,
            ) -> Result<(), OperatorError> {
                sqlx::query(
                    "INSERT INTO object_history (object_type, object_key, roid, op, cl_id, source_ip, cert_fingerprint, cl_trid, sv_trid, at, before_state, after_state) \
                     VALUES ($1, $2, '', $3, $4, NULL, NULL, NULL, $5, $6, NULL, $7)",
                )
                .bind(t.kind)
                .bind(t.key)
                .bind(op)
                .bind(format!("operator:{operator}"))
                .bind(sv_trid)
                .bind(at)
                .bind(detail.to_string())
                .execute(&mut *c)
                .await?;
                Ok(())
            }

            /// The one check of a signed action (see the module's documentation).
            /// `enrol_key`: for an `operator.add` proposal made by the new operator, the
            /// public key being enrolled, which the signature must then verify with.
            pub async fn authenticate(
                c: &mut Conn,
                signed: &SignedAction,
                check: Check<'_>,
                enrol_key: Option<&str>,
            ) -> Result<Operator, OperatorError> {
                if signed.action != check.action {
                    return Err(OperatorError::WrongAction {
                        signed: signed.action.clone(),
                        expected: check.action.to_owned(),
                    });
                }
                let op = match (operator(c, &signed.operator).await?, enrol_key) {
                    (Some(op), _) => {
                        if op.disabled.is_some() {
                            return Err(OperatorError::Disabled(op.name));
                        }
                        signed.verify(&op.public_key)?;
                        if op.role < check.need {
                            return Err(OperatorError::Role {
                                name: op.name,
                                role: op.role.as_str(),
                                need: check.need.as_str(),
                            });
                        }
                        op
                    }
                    (None, Some(key)) => {
                        signed.verify(key)?;
                        Operator {
                            name: signed.operator.clone(),
                            role: Role::Viewer,
                            public_key: key.to_owned(),
                            created: check.now,
                            created_by: None,
                            disabled: None,
                        }
                    }
                    (None, None) => return Err(OperatorError::UnknownOperator(signed.operator.clone())),
                };
                let now = check.now.timestamp();
                if (now - signed.at).abs() > i64::from(check.max_age_secs) {
                    return Err(OperatorError::Stale {
                        signed: signed.at,
                        now,
                        max_age: check.max_age_secs,
                    });
                }
                let r = sqlx::query("INSERT INTO operator_nonces (nonce, operator, at) VALUES ($1, $2, $3)")
                    .bind(&signed.nonce)
                    .bind(&signed.operator)
                    .bind(micros(check.now))
                    .execute(&mut *c)
                    .await;
                match r {
                    Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Err(OperatorError::Replay),
                    Err(e) => Err(e.into()),
                    Ok(_) => Ok(op),
                }
            }

            pub async fn bootstrap(c: &mut Conn, o: &Operator) -> Result<(), OperatorError> {
                let n: i64 = sqlx::query_scalar("SELECT count(*) FROM operators").fetch_one(&mut *c).await?;
                if n > 0 {
                    return Err(OperatorError::Refused(
                        "operator accounts exist: a new one is proposed (signed) and approved by a security operator".into(),
                    ));
                }
                insert_operator(c, o).await?;
                history(
                    c,
                    Target { kind: "operator", key: &o.name },
                    "operator:bootstrap",
                    &o.name,
                    &json!({ "name": o.name, "role": o.role, "public_key": o.public_key }),
                    o.created,
                    &format!("ADM-bootstrap-{}", micros(o.created)),
                )
                .await
            }

            pub async fn authenticated(
                c: &mut Conn,
                signed: &SignedAction,
                check: Check<'_>,
                target: Target<'_>,
            ) -> Result<Operator, OperatorError> {
                let op = authenticate(c, signed, check, None).await?;
                let args: Value = serde_json::from_str(&signed.args).unwrap_or(Value::Null);
                history(
                    c,
                    target,
                    &format!("admin:{}", signed.action),
                    &op.name,
                    &json!({ "action": signed.action, "args": args, "nonce": signed.nonce }),
                    check.now,
                    &format!("ADM-{}", signed.nonce),
                )
                .await?;
                Ok(op)
            }

            pub async fn propose(
                c: &mut Conn,
                signed: &SignedAction,
                check: Check<'_>,
                target: Target<'_>,
                summary: &str,
                window: TimeDelta,
            ) -> Result<Proposal, OperatorError> {
                let enrol = if signed.action == "operator.add" {
                    let (name, _, key) = enrolment(signed)?;
                    (name == signed.operator).then_some(key)
                } else {
                    None
                };
                let op = authenticate(c, signed, check, enrol.as_deref()).await?;
                let expires = check.now + window;
                let q = format!(
                    "INSERT INTO proposals (action, target_type, target_key, summary, signed, proposed_by, proposed_at, expires) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {P_COLS}"
                );
                let row = sqlx::query(&q)
                    .bind(&signed.action)
                    .bind(target.kind)
                    .bind(target.key)
                    .bind(summary)
                    .bind(serde_json::to_string(signed).map_err(|e| OperatorError::BadArgs(e.to_string()))?)
                    .bind(&op.name)
                    .bind(micros(check.now))
                    .bind(micros(expires))
                    .fetch_one(&mut *c)
                    .await?;
                let p = proposal_row(&row)?;
                history(
                    c,
                    target,
                    "proposal:proposed",
                    &op.name,
                    &json!({
                        "proposal": p.id,
                        "action": p.action,
                        "summary": p.summary,
                        "proposed_by": p.proposed_by,
                        "expires": p.expires,
                    }),
                    check.now,
                    &format!("ADM-P{}-proposed", p.id),
                )
                .await?;
                Ok(p)
            }

            pub async fn proposal(c: &mut Conn, id: i64) -> Result<Option<Proposal>, OperatorError> {
                let q = format!("SELECT {P_COLS} FROM proposals WHERE id = $1");
                let row = sqlx::query(&q).bind(id).fetch_optional(&mut *c).await?;
                row.as_ref().map(proposal_row).transpose()
            }

            pub async fn proposals(c: &mut Conn, open_only: bool) -> Result<Vec<Proposal>, OperatorError> {
                let q = if open_only {
                    format!("SELECT {P_COLS} FROM proposals WHERE state = 'pending' ORDER BY id")
                } else {
                    format!("SELECT {P_COLS} FROM proposals ORDER BY id")
                };
                let rows = sqlx::query(&q).fetch_all(&mut *c).await?;
                rows.iter().map(proposal_row).collect()
            }

            pub async fn approve(
                c: &mut Conn,
                signed: &SignedAction,
                check: Check<'_>,
            ) -> Result<Approved, OperatorError> {
                let args: Value = serde_json::from_str(&signed.args)
                    .map_err(|e| OperatorError::BadArgs(e.to_string()))?;
                let id = args
                    .get("id")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| OperatorError::BadArgs("proposal.approve: no id".into()))?;
                let digest = args.get("digest").and_then(Value::as_str).unwrap_or("");
                let p = proposal(c, id)
                    .await?
                    .ok_or_else(|| OperatorError::NotFound(format!("proposal {id}")))?;
                // Changes to operator accounts need a security operator's approval.
                let need = if p.action.starts_with("operator.") {
                    Role::Security
                } else {
                    check.need
                };
                let op = authenticate(c, signed, Check { need, ..check }, None).await?;
                let target = Target { kind: &p.target_type, key: &p.target_key };
                let refuse = |why: String| OperatorError::Refused(format!("proposal {id}: {why}"));
                if p.state != "pending" {
                    return Err(refuse(format!("{}, not pending", p.state)));
                }
                if op.name == p.proposed_by {
                    return Err(OperatorError::SameOperator(format!(
                        "proposal {id}: {} proposed it; another operator must approve",
                        op.name
                    )));
                }
                if check.now >= p.expires {
                    return Err(OperatorError::Expired(format!(
                        "proposal {id}: expired at {} (the window is [operators] proposal_window_hours)",
                        p.expires.format("%Y-%m-%d %H:%M:%S UTC")
                    )));
                }
                if digest != p.signed.digest() {
                    return Err(refuse("the approval names another version of it (digest)".into()));
                }
                let approval = serde_json::to_string(signed).map_err(|e| OperatorError::BadArgs(e.to_string()))?;
                let n = sqlx::query(
                    "UPDATE proposals SET state = 'approved', approval = $2, approved_by = $3, approved_at = $4 \
                     WHERE id = $1 AND state = 'pending'",
                )
                .bind(id)
                .bind(approval)
                .bind(&op.name)
                .bind(micros(check.now))
                .execute(&mut *c)
                .await?
                .rows_affected();
                if n != 1 {
                    return Err(refuse("approved by somebody else meanwhile".into()));
                }
                history(
                    c,
                    target,
                    "proposal:approved",
                    &op.name,
                    &json!({
                        "proposal": id,
                        "action": p.action,
                        "summary": p.summary,
                        "proposed_by": p.proposed_by,
                        "approved_by": op.name,
                    }),
                    check.now,
                    &format!("ADM-P{id}-approved"),
                )
                .await?;
                let p = proposal(c, id)
                    .await?
                    .ok_or_else(|| OperatorError::NotFound(format!("proposal {id}")))?;
                Ok(Approved { proposal: p, approver: op })
            }

            pub async fn finish(
                c: &mut Conn,
                a: &Approved,
                outcome: &Result<String, String>,
                now: Timestamp,
            ) -> Result<Proposal, OperatorError> {
                let p = &a.proposal;
                let (state, text) = match outcome {
                    Ok(t) => ("done", t.as_str()),
                    Err(t) => ("failed", t.as_str()),
                };
                sqlx::query("UPDATE proposals SET state = $2, outcome = $3 WHERE id = $1 AND state = 'approved'")
                    .bind(p.id)
                    .bind(state)
                    .bind(text)
                    .execute(&mut *c)
                    .await?;
                history(
                    c,
                    Target { kind: &p.target_type, key: &p.target_key },
                    &format!("proposal:{state}"),
                    &a.approver.name,
                    &json!({
                        "proposal": p.id,
                        "action": p.action,
                        "proposed_by": p.proposed_by,
                        "approved_by": a.approver.name,
                        "outcome": text,
                    }),
                    now,
                    &format!("ADM-P{}-{state}", p.id),
                )
                .await?;
                proposal(c, p.id)
                    .await?
                    .ok_or_else(|| OperatorError::NotFound(format!("proposal {}", p.id)))
            }

            /// Records a refused approval (the proposer's own, or too late) by an
            /// authenticated operator.
            pub async fn refused(
                c: &mut Conn,
                id: i64,
                operator: &str,
                reason: &str,
                now: Timestamp,
            ) -> Result<(), OperatorError> {
                let Some(p) = proposal(c, id).await? else {
                    return Ok(());
                };
                history(
                    c,
                    Target { kind: &p.target_type, key: &p.target_key },
                    "proposal:refused",
                    operator,
                    &json!({
                        "proposal": id,
                        "action": p.action,
                        "proposed_by": p.proposed_by,
                        "refused_approval_by": operator,
                        "reason": reason,
                    }),
                    now,
                    &format!("ADM-P{id}-refused-{}", micros(now)),
                )
                .await
            }

            /// Records a signed action that was refused before it did anything: not
            /// authenticated (unknown operator, bad signature, stale, replayed, disabled) or
            /// not permitted (role). Under the history of the operator it claims to be.
            pub async fn refused_action(
                c: &mut Conn,
                signed: &SignedAction,
                error: &OperatorError,
                now: Timestamp,
            ) -> Result<(), OperatorError> {
                let claimed = bounded(&signed.operator);
                // Only a signature that verified names its operator; otherwise the name is a
                // claim.
                let actor = if error.is_authentication() { "unauthenticated" } else { claimed };
                sqlx::query(
                    "INSERT INTO object_history (object_type, object_key, roid, op, cl_id, source_ip, cert_fingerprint, cl_trid, sv_trid, at, before_state, after_state) \
                     VALUES ('operator', $1, '', $2, $3, NULL, NULL, NULL, $4, $5, NULL, $6)",
                )
                .bind(claimed)
                .bind(if error.is_authentication() { "admin:unauthenticated" } else { "admin:not-permitted" })
                .bind(format!("operator:{actor}"))
                .bind(format!("ADM-refused-{}", bounded(&signed.nonce)))
                .bind(now)
                .bind(
                    json!({
                        "claimed_operator": claimed,
                        "action": bounded(&signed.action),
                        "signed_at": signed.at,
                        "nonce": bounded(&signed.nonce),
                        "reason": error.to_string(),
                    })
                    .to_string(),
                )
                .execute(&mut *c)
                .await?;
                Ok(())
            }

            pub async fn add_operator(c: &mut Conn, a: &Approved, now: Timestamp) -> Result<Operator, OperatorError> {
                if a.proposal.action != "operator.add" {
                    return Err(OperatorError::Refused(format!(
                        "proposal {} is {}, not operator.add",
                        a.proposal.id, a.proposal.action
                    )));
                }
                let (name, role, public_key) = enrolment(&a.proposal.signed)?;
                let o = Operator {
                    name,
                    role,
                    public_key,
                    created: now,
                    created_by: Some(a.approver.name.clone()),
                    disabled: None,
                };
                insert_operator(c, &o).await?;
                Ok(o)
            }

            pub async fn disable(
                c: &mut Conn,
                signed: &SignedAction,
                check: Check<'_>,
                name: &str,
            ) -> Result<Operator, OperatorError> {
                let by = authenticated(c, signed, check, Target { kind: "operator", key: name }).await?;
                let o = operator(c, name)
                    .await?
                    .ok_or_else(|| OperatorError::NotFound(format!("operator {name}")))?;
                if o.disabled.is_some() {
                    return Err(OperatorError::Refused(format!("operator {name} is already disabled")));
                }
                if o.role == Role::Security {
                    let left: i64 = sqlx::query_scalar(
                        "SELECT count(*) FROM operators WHERE role = 'security' AND disabled IS NULL AND name <> $1",
                    )
                    .bind(name)
                    .fetch_one(&mut *c)
                    .await?;
                    if left == 0 {
                        return Err(OperatorError::Refused(format!(
                            "{name} is the last enabled security operator"
                        )));
                    }
                }
                sqlx::query("UPDATE operators SET disabled = $2, disabled_by = $3 WHERE name = $1")
                    .bind(name)
                    .bind(micros(check.now))
                    .bind(&by.name)
                    .execute(&mut *c)
                    .await?;
                operator(c, name)
                    .await?
                    .ok_or_else(|| OperatorError::NotFound(format!("operator {name}")))
            }
        }
    };
}

operators_backend!(sq, sqlx::Sqlite);
operators_backend!(pg, sqlx::Postgres);

/// Runs `f(args)` of the backend module in one transaction (SQLite: `BEGIN IMMEDIATE`, so the
/// read-then-write does not fail with SQLITE_BUSY half-way).
macro_rules! in_tx {
    ($self:ident, $f:ident ( $($a:expr),* )) => {
        match $self {
            Db::Sqlite(pool) => {
                let mut c = pool.acquire().await?;
                let mut tx = sqlx::Connection::begin_with(&mut *c, "BEGIN IMMEDIATE").await?;
                let r = sq::$f(&mut tx, $($a),*).await?;
                tx.commit().await?;
                Ok(r)
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let r = pg::$f(&mut tx, $($a),*).await?;
                tx.commit().await?;
                Ok(r)
            }
        }
    };
}

impl Db {
    /// Keeps a refused signed action in the history (its own transaction: the one that refused
    /// it rolled back) when the refusal is about who signed it; hands the refusal back.
    async fn audited<T>(
        &self,
        signed: &SignedAction,
        now: Timestamp,
        r: Result<T, OperatorError>,
    ) -> Result<T, OperatorError> {
        if let Err(e) = &r {
            if e.is_authentication() || matches!(e, OperatorError::Role { .. }) {
                let w: Result<(), OperatorError> =
                    async { in_tx!(self, refused_action(signed, e, now)) }.await;
                if let Err(w) = w {
                    tracing::error!(error = %w, refused = %e, "a refused admin action could not be recorded");
                }
            }
        }
        r
    }

    /// All operator accounts, by name.
    pub async fn operators(&self) -> Result<Vec<Operator>, OperatorError> {
        in_tx!(self, operators())
    }

    pub async fn operator(&self, name: &str) -> Result<Option<Operator>, OperatorError> {
        in_tx!(self, operator(name))
    }

    /// The first operator account, added without a signature; refused once any exists. It
    /// must be a security operator (somebody has to be able to approve the next ones).
    pub async fn bootstrap_operator(
        &self,
        name: &str,
        role: Role,
        public_key: &str,
        now: Timestamp,
    ) -> Result<Operator, OperatorError> {
        check_name(name)?;
        if role != Role::Security {
            return Err(OperatorError::Refused(
                "the first operator must have role security (it approves the next ones)".into(),
            ));
        }
        let o = Operator {
            name: name.to_owned(),
            role,
            public_key: registry_core::operator::parse_public_key(public_key)?,
            created: now,
            created_by: None,
            disabled: None,
        };
        let ob = &o;
        let r: Result<(), OperatorError> = in_tx!(self, bootstrap(ob));
        r?;
        Ok(o)
    }

    /// Accepts a signed action run directly (not a two-person one) and records it in the
    /// history of `target` (`admin:ACTION`, `operator:NAME`). Returns the operator.
    pub async fn authenticate(
        &self,
        signed: &SignedAction,
        check: Check<'_>,
        target: Target<'_>,
    ) -> Result<Operator, OperatorError> {
        let r = async { in_tx!(self, authenticated(signed, check, target)) }.await;
        self.audited(signed, check.now, r).await
    }

    /// Records a proposal signed by its proposer, open for `window`.
    pub async fn propose(
        &self,
        signed: &SignedAction,
        check: Check<'_>,
        target: Target<'_>,
        summary: &str,
        window: TimeDelta,
    ) -> Result<Proposal, OperatorError> {
        let r = async { in_tx!(self, propose(signed, check, target, summary, window)) }.await;
        self.audited(signed, check.now, r).await
    }

    /// The second operator's signed approval (`proposal.approve` with the proposal's id and
    /// digest): refused for the proposer, after the window, and unless pending.
    pub async fn approve_proposal(
        &self,
        signed: &SignedAction,
        check: Check<'_>,
    ) -> Result<Approved, OperatorError> {
        // In a block of its own: `in_tx!` returns early on errors.
        let r: Result<Approved, OperatorError> =
            async { in_tx!(self, approve(signed, check)) }.await;
        // An authenticated operator's refused approval is kept too (the transaction that
        // refused it rolled back): who tried to approve their own or an expired proposal.
        if let Err(OperatorError::SameOperator(why) | OperatorError::Expired(why)) = &r {
            let id = serde_json::from_str::<Value>(&signed.args)
                .ok()
                .and_then(|v| v.get("id").and_then(Value::as_i64));
            if let Some(id) = id {
                let (op, now) = (signed.operator.as_str(), check.now);
                let w: Result<(), OperatorError> = in_tx!(self, refused(id, op, why, now));
                w?;
            }
        }
        self.audited(signed, check.now, r).await
    }

    /// Records how the execution of an approved proposal ended.
    pub async fn finish_proposal(
        &self,
        approved: &Approved,
        outcome: &Result<String, String>,
        now: Timestamp,
    ) -> Result<Proposal, OperatorError> {
        in_tx!(self, finish(approved, outcome, now))
    }

    pub async fn proposal(&self, id: i64) -> Result<Option<Proposal>, OperatorError> {
        in_tx!(self, proposal(id))
    }

    /// Proposals, oldest first (pending ones only with `open_only`).
    pub async fn proposals(&self, open_only: bool) -> Result<Vec<Proposal>, OperatorError> {
        in_tx!(self, proposals(open_only))
    }

    /// Executes an approved `operator.add` proposal.
    pub async fn add_operator(
        &self,
        approved: &Approved,
        now: Timestamp,
    ) -> Result<Operator, OperatorError> {
        in_tx!(self, add_operator(approved, now))
    }

    /// Disables an account (signed by a security operator); the last enabled security
    /// operator stays.
    pub async fn disable_operator(
        &self,
        signed: &SignedAction,
        check: Check<'_>,
        name: &str,
    ) -> Result<Operator, OperatorError> {
        let r = async { in_tx!(self, disable(signed, check, name)) }.await;
        self.audited(signed, check.now, r).await
    }
}
