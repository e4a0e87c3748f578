//! `<login>`: who may open a session, and the audit trail of every attempt.
//!
//! A login succeeds only if all of these hold: the TLS client certificate chain is valid
//! (checked by the handshake), its leaf's SHA-256 is pinned to the clID, the password is
//! right (argon2id, off the async threads), the source address is in the registrar's
//! networks, the registrar is active, and it has fewer live sessions here than its limit.
//! Every authentication failure answers the same 2200; the audit log (table + tracing) has the
//! true reason. Repeated failures lock out for a while (2501, connection closed): every failure
//! counts against its source address (and its certificate, `lockout.by_certificate`), but
//! against the clID only when the certificate was pinned to that clID and the address was in
//! its networks — clIDs are public, so any other rule would let anyone with a certificate of
//! the CA lock a competitor out. For the same reason a login with the registrar's own
//! certificate from its own networks is refused by a lock-out of its clID only, not by one of
//! an address or certificate someone else may share.

use chrono::Duration as ChronoDuration;
use epp_proto::ext::login_sec::{self, Event, EventLevel, EventType, LoginSec};
use epp_proto::ext::{registry_lock, CommandExtension};
use epp_proto::session::Login;
use epp_proto::{ns, ClientId, Password};
use registry_core::registrar::{
    check_peer, is_clid_strike, AuthFailure, LoginAuditEntry, LoginOutcome, Registrar,
};
use registry_store::registrars::LockKey;
use tracing::{error, info, warn};

use crate::error::SessionError;
use crate::live::LiveSession;
use crate::server::Shared;

/// The object services this server offers (greeting `<svcMenu>`).
pub const OBJ_URIS: [&str; 3] = [ns::DOMAIN, ns::HOST, ns::CONTACT];
/// The extensions this server offers (greeting `<svcExtension>`, in this order).
pub const EXT_URIS: [&str; 6] = [
    ns::SEC_DNS,
    ns::RGP,
    registry_lock::NS,
    ns::SECURE_AUTHINFO,
    login_sec::NS,
    epp_proto::ext::change_poll::NS,
];

/// A session after a successful login.
#[derive(Debug)]
pub(crate) struct LoggedIn {
    pub cl_id: ClientId,
    pub obj_uris: Vec<String>,
    pub ext_uris: Vec<String>,
    pub live: LiveSession,
    /// The session's command rate limits and its registrar's.
    pub limiter: crate::ratelimit::SessionLimiter,
    /// loginSec events for the login response (empty unless the client selected loginSec).
    pub events: Vec<Event>,
}

/// Checks what a login asks for, before any credential is looked at.
fn check_options(login: &Login, extensions: &[CommandExtension]) -> Result<(), SessionError> {
    if login.version != "1.0" {
        return Err(SessionError::UnsupportedVersion(login.version.clone()));
    }
    if login.lang != "en" {
        return Err(SessionError::UnsupportedLang(login.lang.clone()));
    }
    if let Some(uri) = login
        .obj_uris
        .iter()
        .find(|u| !OBJ_URIS.contains(&u.as_str()))
    {
        return Err(SessionError::ObjectNotServed(uri.clone()));
    }
    if let Some(uri) = login
        .ext_uris
        .iter()
        .find(|u| !EXT_URIS.contains(&u.as_str()))
    {
        return Err(SessionError::ExtensionNotServed(uri.clone()));
    }
    // The login's own extensions: only loginSec belongs there, and only if selected.
    for ext in extensions {
        match ext {
            CommandExtension::LoginSec(_) if selects_login_sec(login) => {}
            CommandExtension::LoginSec(_) => {
                return Err(SessionError::ExtensionNotSelected(login_sec::NS))
            }
            other => return Err(SessionError::ExtensionNotForLogin(other.namespace())),
        }
    }
    Ok(())
}

/// Whether the client listed loginSec in `<svcExtension>`: only then may the response carry
/// its events (RFC 8807 section 3).
pub(crate) fn selects_login_sec(login: &Login) -> bool {
    login.ext_uris.iter().any(|u| u == login_sec::NS)
}

/// The loginSec events that explain a refused login to a client that selected loginSec;
/// other refusals say nothing more than their result.
pub(crate) fn refusal_events(err: &SessionError) -> Vec<Event> {
    match err {
        SessionError::PasswordExpired { since } => vec![Event {
            ex_date: Some(*since),
            ..Event::new(
                EventType::Password,
                EventLevel::Error,
                "Password has expired: log in with a new password (newPW) to continue",
            )
        }],
        SessionError::NewPasswordRefused(why) => {
            vec![Event::new(
                EventType::NewPw,
                EventLevel::Error,
                why.to_string(),
            )]
        }
        _ => Vec::new(),
    }
}

fn join_reasons(reasons: &[AuthFailure]) -> String {
    reasons
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Runs one login attempt to its end, audit included.
pub(crate) async fn login(
    shared: &Shared,
    login: &Login,
    extensions: &[CommandExtension],
    peer: &crate::session::Peer,
) -> Result<LoggedIn, SessionError> {
    check_options(login, extensions)?;
    let ext: Option<&LoginSec> = extensions.iter().find_map(|e| match e {
        CommandExtension::LoginSec(l) => Some(l),
        _ => None,
    });
    let creds = login_sec::credentials(login, ext).map_err(SessionError::Credentials)?;
    let source_ip = peer.source_ip;
    let fingerprint = peer.fingerprint;
    let now = shared.clock.now();
    let cl_id = login.cl_id.as_str();
    let audit = |outcome: LoginOutcome, reason: String| LoginAuditEntry {
        at: now,
        cl_id: cl_id.to_owned(),
        source_ip,
        cert_fingerprint: Some(fingerprint),
        outcome,
        reason,
        clid_strike: false,
    };

    let registrar = match shared.db.registrar(&login.cl_id).await {
        Ok(r) => r,
        Err(e) => {
            error!(error = %e, cl_id, "cannot load registrar");
            return Err(SessionError::Internal);
        }
    };
    // The registrar's own side: what an outsider cannot fake. Only its clID's lock-out
    // applies to it, and only its failures count against the clID.
    let own_side = registrar
        .as_ref()
        .is_some_and(|r| r.pins(&fingerprint) && r.allows_source(source_ip));
    let clid_key = LockKey::ClId(cl_id.to_owned());
    let mut outsider_keys = vec![LockKey::Source(source_ip)];
    if shared.config.lockout.by_certificate {
        outsider_keys.push(LockKey::Cert(fingerprint));
    }
    let lock_keys: Vec<LockKey> = if own_side {
        vec![clid_key.clone()]
    } else {
        outsider_keys
            .iter()
            .cloned()
            .chain([clid_key.clone()])
            .collect()
    };

    match shared.db.lockout_until(&lock_keys, now).await {
        Ok(None) => {}
        Ok(Some(until)) => {
            record(
                shared,
                audit(
                    LoginOutcome::Refused,
                    AuthFailure::LockedOut.as_str().into(),
                ),
            )
            .await;
            info!(target: "eppd::audit", cl_id, %source_ip, %until, "login refused: locked out");
            return Err(SessionError::LockedOut);
        }
        Err(e) => {
            error!(error = %e, "cannot read lock-outs");
            return Err(SessionError::Internal);
        }
    }

    let pw_ok = match shared
        .passwords
        .verify(
            registrar.as_ref().map(|r| r.password_hash.clone()),
            &creds.pw,
        )
        .await
    {
        Ok(ok) => ok,
        Err(e) => {
            error!(error = %e, "password verification failed");
            return Err(SessionError::Internal);
        }
    };
    let mut failures = match &registrar {
        None => vec![AuthFailure::UnknownClient],
        Some(r) => check_peer(r, &fingerprint, source_ip),
    };
    if !pw_ok && registrar.is_some() {
        failures.push(AuthFailure::BadPassword);
    }
    failures.sort();
    let registrar: Registrar = match registrar {
        Some(r) if failures.is_empty() => r,
        _ => {
            let strike = is_clid_strike(&failures);
            let mut entry = audit(LoginOutcome::Failure, join_reasons(&failures));
            entry.clid_strike = strike;
            let mut count_keys = outsider_keys;
            if strike {
                count_keys.push(clid_key);
            }
            return Err(fail(shared, entry, &count_keys, now).await);
        }
    };

    // From here on the credentials are right: what follows may say why it refuses.
    let refuse = |failure: AuthFailure, err: SessionError| async move {
        record(
            shared,
            audit(LoginOutcome::Refused, failure.as_str().into()),
        )
        .await;
        warn!(target: "eppd::audit", cl_id, %source_ip, reason = failure.as_str(), "login refused");
        Err(err)
    };
    if let Some(new_pw) = &creds.new_pw {
        let via_login_sec = login
            .new_pw
            .as_ref()
            .is_some_and(|p| p.expose() == login_sec::SENTINEL);
        let carrier_max = if via_login_sec {
            Password::MAX_LOGIN_SEC_LEN
        } else {
            Password::MAX_LEN
        };
        if let Err(why) = shared.password_policy.check(
            cl_id,
            new_pw.expose(),
            Some(creds.pw.expose()),
            carrier_max,
        ) {
            return refuse(
                AuthFailure::NewPasswordPolicy,
                SessionError::NewPasswordRefused(why),
            )
            .await;
        }
    }
    let pw_cfg = &shared.config.password;
    let expires = registrar.password_expires(pw_cfg.max_age_days);
    if let Some(since) = expires.filter(|e| *e <= now) {
        if creds.new_pw.is_none() {
            return refuse(
                AuthFailure::PasswordExpired,
                SessionError::PasswordExpired { since },
            )
            .await;
        }
    }

    let Some(live) = shared.live.try_register(cl_id, registrar.max_sessions) else {
        return refuse(AuthFailure::SessionLimit, SessionError::SessionLimit).await;
    };

    // Read before this login's own row is written: the failures since the last success.
    let events = if selects_login_sec(login) {
        let failed = match shared.db.failed_logins_since_success(cl_id).await {
            Ok(f) => Some(f),
            Err(e) => {
                warn!(error = %e, cl_id, "cannot count failed logins for loginSec");
                None
            }
        };
        let expires = if creds.new_pw.is_some() {
            None
        } else {
            expires
        };
        success_events(shared, peer, expires, failed, now)
    } else {
        Vec::new()
    };

    let mut note = String::new();
    if let Some(new_pw) = &creds.new_pw {
        let hash = shared.passwords.hash(new_pw).await.map_err(|e| {
            error!(error = %e, "cannot hash new password");
            SessionError::Internal
        })?;
        shared
            .db
            .set_registrar_password(&registrar.cl_id, &hash, now)
            .await
            .map_err(|e| {
                error!(error = %e, cl_id, "cannot store new password");
                SessionError::Internal
            })?;
        note = "password_changed".into();
    }
    // A success that cannot be audited is not a success.
    shared
        .db
        .record_login(&audit(LoginOutcome::Success, note.clone()))
        .await
        .map_err(|e| {
            error!(error = %e, "cannot write login audit");
            SessionError::Internal
        })?;
    let user_agent = ext
        .and_then(|e| e.user_agent.as_ref())
        .map(|u| u.summary())
        .unwrap_or_default();
    info!(target: "eppd::audit", cl_id, %source_ip, %fingerprint, note, user_agent, "login");
    // The certificate expiry warnings need the pinned certificate's notAfter; a login with it
    // is when the server learns it for certificates pinned by fingerprint alone.
    if let Some(t) = peer.not_after {
        if let Err(e) = shared.db.set_cert_not_after(cl_id, &fingerprint, t).await {
            warn!(error = %e, cl_id, "cannot record the client certificate's expiry");
        }
    }
    let rates = crate::ratelimit::Rates::new(&shared.config.limits, &registrar.rate_limits);
    let limiter = shared.rate_limiter.session(cl_id, rates, now);
    Ok(LoggedIn {
        limiter,
        cl_id: registrar.cl_id,
        obj_uris: login.obj_uris.clone(),
        ext_uris: login.ext_uris.clone(),
        live,
        events,
    })
}

/// The warnings of a successful login (RFC 8807 section 3.1): the password's or the
/// certificate's end is near, the TLS protocol or cipher is one the configuration calls weak,
/// and the logins that failed since the last successful one.
fn success_events(
    shared: &Shared,
    peer: &crate::session::Peer,
    password_expires: Option<epp_proto::Timestamp>,
    failed: Option<registry_core::registrar::FailedLogins>,
    now: epp_proto::Timestamp,
) -> Vec<Event> {
    let cfg = &shared.config;
    let mut events = Vec::new();
    // A bound past chrono's range covers every date.
    let within = |t: epp_proto::Timestamp, days: u32| {
        ChronoDuration::try_days(i64::from(days))
            .and_then(|d| now.checked_add_signed(d))
            .is_none_or(|limit| t <= limit)
    };
    if let Some(t) = password_expires.filter(|t| within(*t, cfg.password.expiry_warning_days)) {
        events.push(Event {
            ex_date: Some(t),
            ..Event::new(
                EventType::Password,
                EventLevel::Warning,
                "Password expiring soon: set a new one with newPW",
            )
        });
    }
    if let Some(t) = peer
        .not_after
        .filter(|t| within(*t, cfg.certificates.expiry_warning_days))
    {
        events.push(Event {
            ex_date: Some(t),
            ..Event::new(
                EventType::Certificate,
                EventLevel::Warning,
                "Client certificate expiring soon: pin its successor and switch",
            )
        });
    }
    if let Some(p) = peer
        .tls_protocol
        .as_ref()
        .filter(|p| cfg.tls.weak_protocols.contains(p))
    {
        events.push(Event {
            value: Some(p.clone()),
            ..Event::new(
                EventType::TlsProtocol,
                EventLevel::Warning,
                format!("{p} is accepted but weak here: use TLS 1.3"),
            )
        });
    }
    if let Some(c) = peer
        .cipher_suite
        .as_ref()
        .filter(|c| cfg.tls.weak_cipher_suites.contains(c))
    {
        events.push(Event {
            value: Some(c.clone()),
            ..Event::new(
                EventType::Cipher,
                EventLevel::Warning,
                format!("Cipher suite {c} is accepted but weak here"),
            )
        });
    }
    if let Some(f) = failed.filter(|f| f.count > 0) {
        let last = match (f.last_source, f.last_at) {
            (Some(ip), Some(at)) => format!(
                "; the last from {ip} at {}",
                at.format("%Y-%m-%dT%H:%M:%SZ")
            ),
            _ => String::new(),
        };
        events.push(Event {
            name: Some("failedLogins".into()),
            value: Some(f.count.to_string()),
            ..Event::new(
                EventType::Stat,
                EventLevel::Warning,
                format!(
                    "{} failed login{} since the last successful one{last}",
                    f.count,
                    if f.count == 1 { "" } else { "s" }
                ),
            )
        });
    }
    events
}

/// Records a failed login, counts it against `keys` and decides between 2200 and a lock-out
/// (2501). A clID's lock-out is the registrar's business: it gets a poll message.
async fn fail(
    shared: &Shared,
    entry: LoginAuditEntry,
    keys: &[LockKey],
    now: epp_proto::Timestamp,
) -> SessionError {
    warn!(
        target: "eppd::audit",
        cl_id = entry.cl_id,
        source_ip = %entry.source_ip,
        fingerprint = ?entry.cert_fingerprint.map(|f| f.to_hex()),
        reason = entry.reason,
        clid_strike = entry.clid_strike,
        "login failed"
    );
    let cl_id = entry.cl_id.clone();
    let source_ip = entry.source_ip;
    record(shared, entry).await;
    let lockout = &shared.config.lockout;
    let since = now
        - ChronoDuration::milliseconds(i64::try_from(lockout.window_ms).unwrap_or(i64::MAX / 2));
    let until = now
        + ChronoDuration::milliseconds(i64::try_from(lockout.backoff_ms).unwrap_or(i64::MAX / 2));
    let mut locked = false;
    for key in keys {
        match shared.db.count_login_failures(key, since).await {
            Ok(n) if n >= u64::from(lockout.max_failures) => {
                if let Err(e) = shared.db.set_lockout(key, until).await {
                    error!(error = %e, "cannot store lock-out");
                }
                warn!(target: "eppd::audit", key = ?key, failures = n, %until, "locked out");
                shared.metrics.lockout(key.scope());
                if let LockKey::ClId(c) = key {
                    let msg = format!(
                        "Logins as {c} are locked out until {} after {n} failed logins with a \
                         wrong password from your own certificate and networks (the last from \
                         {source_ip}). If these were not yours, change your password when the \
                         lock-out ends.",
                        until.format("%Y-%m-%dT%H:%M:%SZ")
                    );
                    if !shared.handler.notify_registrar(&cl_id, msg).await {
                        warn!(cl_id, "lock-out poll message not enqueued");
                    }
                }
                locked = true;
            }
            Ok(_) => {}
            Err(e) => error!(error = %e, "cannot count failed logins"),
        }
    }
    if locked {
        SessionError::LockedOut
    } else {
        SessionError::AuthenticationFailed
    }
}

async fn record(shared: &Shared, entry: LoginAuditEntry) {
    if entry.outcome != LoginOutcome::Success {
        for reason in entry.reason.split(',').filter(|r| !r.is_empty()) {
            shared.metrics.login_failure(reason);
        }
    }
    if let Err(e) = shared.db.record_login(&entry).await {
        error!(error = %e, "cannot write login audit");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use epp_proto::value::Password;

    fn login() -> Login {
        Login {
            cl_id: ClientId::new("reg-a").expect("clid"),
            pw: Password::new("secret-pw").expect("pw"),
            new_pw: None,
            version: "1.0".into(),
            lang: "en".into(),
            obj_uris: vec![ns::DOMAIN.into()],
            ext_uris: vec![ns::SEC_DNS.into()],
        }
    }

    #[test]
    fn options() {
        assert_eq!(check_options(&login(), &[]), Ok(()));
        let mut l = login();
        l.ext_uris.push(registry_lock::NS.into());
        assert_eq!(check_options(&l, &[]), Ok(()));
        let mut l = login();
        l.version = "2.0".into();
        assert_eq!(
            check_options(&l, &[]).map_err(|e| e.result_code().code()),
            Err(2100)
        );
        let mut l = login();
        l.lang = "fr".into();
        assert_eq!(
            check_options(&l, &[]).map_err(|e| e.result_code().code()),
            Err(2102)
        );
        let mut l = login();
        l.obj_uris.push("urn:example:obj".into());
        assert_eq!(
            check_options(&l, &[]).map_err(|e| e.result_code().code()),
            Err(2307)
        );
        let mut l = login();
        l.ext_uris.push("urn:ietf:params:xml:ns:fee-0.7".into());
        assert_eq!(
            check_options(&l, &[]).map_err(|e| e.result_code().code()),
            Err(2103)
        );
        // loginSec in the login's extension needs loginSec in <svcExtension>.
        let ext = [CommandExtension::LoginSec(LoginSec::default())];
        assert_eq!(
            check_options(&login(), &ext).map_err(|e| e.result_code().code()),
            Err(2103)
        );
        let mut l = login();
        l.ext_uris.push(login_sec::NS.into());
        assert_eq!(check_options(&l, &ext), Ok(()));
        let other = [CommandExtension::RegistryLock(
            registry_lock::RegistryLockCommand::Lock,
        )];
        assert_eq!(
            check_options(&l, &other).map_err(|e| e.result_code().code()),
            Err(2001)
        );
    }
}
