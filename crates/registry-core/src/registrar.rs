//! Registrars: the accounts that may log in over EPP.
//!
//! A registrar exists only in a valid state ("parse, don't validate"): its clID is a
//! [`ClientId`], its password is an argon2id PHC string (never printed), its pinned client
//! certificates are SHA-256 fingerprints, its allowed source networks are CIDR blocks.
//! The login rules that combine these live in the frontend (`eppd`); the pure checks that
//! only need a registrar and a peer live here so that they can be tested without a network.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use epp_proto::{ClientId, Timestamp};
use ipnet::IpNet;

/// The rules a new registrar password must meet, wherever it is set: `<newPW>` and
/// `<loginSec:newPW>` at login, `registry-admin registrar set-password`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Shortest password taken (characters). `<newPW>` without loginSec is capped at 16
    /// characters by RFC 5730's schema, so for it the bound is `min(min_length, 16)`.
    pub min_length: usize,
    /// Refused values, lower-cased: a new password equal to one of them, ignoring case, is
    /// refused.
    deny: std::collections::HashSet<String>,
}

/// Why a new password was refused (the reason goes to the registrar: it names no secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRefusal {
    #[error("new password is shorter than {0} characters")]
    TooShort(usize),
    #[error("new password equals the clID")]
    EqualsClientId,
    #[error("new password is on the list of refused passwords")]
    Denied,
    #[error("new password equals the current one")]
    Unchanged,
}

impl PasswordPolicy {
    pub fn new(min_length: usize, deny: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        PasswordPolicy {
            min_length,
            deny: deny
                .into_iter()
                .map(|d| d.as_ref().to_lowercase())
                .collect(),
        }
    }

    /// Checks `new` for `cl_id`; `current` is the password it replaces, when known.
    /// `max_len` is the longest the carrier allows (16 for `<newPW>`), which caps the minimum.
    pub fn check(
        &self,
        cl_id: &str,
        new: &str,
        current: Option<&str>,
        max_len: usize,
    ) -> Result<(), PasswordRefusal> {
        let min = self.min_length.min(max_len);
        if new.chars().count() < min {
            return Err(PasswordRefusal::TooShort(min));
        }
        let lower = new.to_lowercase();
        if lower == cl_id.to_lowercase() {
            return Err(PasswordRefusal::EqualsClientId);
        }
        if self.deny.contains(&lower) {
            return Err(PasswordRefusal::Denied);
        }
        if current == Some(new) {
            return Err(PasswordRefusal::Unchanged);
        }
        Ok(())
    }
}

/// The logins naming a clID that did not succeed since its last successful one (loginSec's
/// `failedLogins` statistic: the registrar sees an attack on its account at its next login).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailedLogins {
    pub count: u64,
    /// Where the newest of them came from, and when.
    pub last_source: Option<IpAddr>,
    pub last_at: Option<Timestamp>,
}

/// Why a registrar value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrarError {
    #[error("certificate fingerprint must be 64 hexadecimal digits (SHA-256)")]
    Fingerprint,
    #[error("password hash must be an argon2id PHC string")]
    PasswordHash,
    #[error("a registrar needs at least one pinned client certificate")]
    NoCertificate,
    #[error("a registrar needs at least one allowed source network")]
    NoNetwork,
    #[error("invalid network {0:?}")]
    Network(String),
    #[error("maximum sessions must be at least 1")]
    MaxSessions,
    #[error("unknown registrar status {0:?}")]
    Status(String),
    #[error("registrar name must be 1-255 characters")]
    Name,
}

/// The SHA-256 fingerprint of a DER certificate, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertFingerprint([u8; 32]);

impl CertFingerprint {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, as stored and logged.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        s
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl FromStr for CertFingerprint {
    type Err = RegistrarError;

    /// Accepts 64 hex digits, optionally separated by colons (`AB:CD:…`), any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: Vec<u8> = s.bytes().filter(|&b| b != b':').collect();
        if digits.len() != 64 {
            return Err(RegistrarError::Fingerprint);
        }
        let mut out = [0u8; 32];
        for (i, pair) in digits.chunks_exact(2).enumerate() {
            let hi = hex_val(pair[0]).ok_or(RegistrarError::Fingerprint)?;
            let lo = hex_val(pair[1]).ok_or(RegistrarError::Fingerprint)?;
            out[i] = (hi << 4) | lo;
        }
        Ok(Self(out))
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertFingerprint({})", self.to_hex())
    }
}

/// An argon2id password hash in PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
/// Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Checks the PHC prefix only; the verifier parses the rest.
    pub fn new(phc: &str) -> Result<Self, RegistrarError> {
        if !phc.starts_with("$argon2id$") || phc.len() > 512 {
            return Err(RegistrarError::PasswordHash);
        }
        Ok(Self(phc.to_owned()))
    }

    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

/// Whether a registrar may log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrarStatus {
    Active,
    /// Refuses new logins and ends live sessions; the reason is for operators, never sent.
    Suspended {
        reason: String,
    },
}

impl RegistrarStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RegistrarStatus::Active => "active",
            RegistrarStatus::Suspended { .. } => "suspended",
        }
    }

    pub fn is_active(&self) -> bool {
        matches!(self, RegistrarStatus::Active)
    }

    /// Rebuilds a status from its stored token and reason.
    pub fn from_parts(token: &str, reason: Option<String>) -> Result<Self, RegistrarError> {
        match token {
            "active" => Ok(RegistrarStatus::Active),
            "suspended" => Ok(RegistrarStatus::Suspended {
                reason: reason.unwrap_or_default(),
            }),
            other => Err(RegistrarError::Status(other.to_owned())),
        }
    }
}

/// A registrar account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registrar {
    pub cl_id: ClientId,
    pub name: String,
    pub status: RegistrarStatus,
    pub password_hash: PasswordHash,
    /// Pinned client certificates: two or more may be active during a rotation.
    pub cert_fingerprints: Vec<CertFingerprint>,
    /// Source networks a login may come from; addresses are compared normalised.
    pub allowed_networks: Vec<IpNet>,
    /// Concurrent sessions allowed (per frontend).
    pub max_sessions: u32,
    /// Command rate limits set for this registrar; unset ones are the frontend's `[limits]`.
    pub rate_limits: RateLimitOverrides,
    /// When the password was last set (`None`: before the registry recorded it).
    pub password_changed_at: Option<Timestamp>,
}

/// The command rate limits of one registrar that differ from the frontend's `[limits]`
/// defaults (`registry-admin registrar set-limits`). Each is a rate in commands per second
/// (0: no limit) or a burst (the bucket's size, in commands); `None`: the default applies.
/// The names are those of the `[limits]` keys and of the registrar table's columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitOverrides {
    pub registrar_check_per_second: Option<u32>,
    pub registrar_check_burst: Option<u32>,
    pub registrar_transform_per_second: Option<u32>,
    pub registrar_transform_burst: Option<u32>,
    pub session_check_per_second: Option<u32>,
    pub session_check_burst: Option<u32>,
    pub session_transform_per_second: Option<u32>,
    pub session_transform_burst: Option<u32>,
}

impl RateLimitOverrides {
    /// The names of the eight settings, in the order of [`RateLimitOverrides::values`].
    pub const NAMES: [&'static str; 8] = [
        "registrar_check_per_second",
        "registrar_check_burst",
        "registrar_transform_per_second",
        "registrar_transform_burst",
        "session_check_per_second",
        "session_check_burst",
        "session_transform_per_second",
        "session_transform_burst",
    ];

    /// The settings in the order of [`RateLimitOverrides::NAMES`].
    pub fn values(&self) -> [Option<u32>; 8] {
        [
            self.registrar_check_per_second,
            self.registrar_check_burst,
            self.registrar_transform_per_second,
            self.registrar_transform_burst,
            self.session_check_per_second,
            self.session_check_burst,
            self.session_transform_per_second,
            self.session_transform_burst,
        ]
    }

    /// The settings from values in the order of [`RateLimitOverrides::NAMES`].
    pub fn from_values(v: [Option<u32>; 8]) -> Self {
        Self {
            registrar_check_per_second: v[0],
            registrar_check_burst: v[1],
            registrar_transform_per_second: v[2],
            registrar_transform_burst: v[3],
            session_check_per_second: v[4],
            session_check_burst: v[5],
            session_transform_per_second: v[6],
            session_transform_burst: v[7],
        }
    }

    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.values().iter().all(Option::is_none)
    }

    /// These settings, with each one `other` sets replacing this one's.
    pub fn merged(&self, other: &RateLimitOverrides) -> Self {
        let (mut a, b) = (self.values(), other.values());
        for (x, y) in a.iter_mut().zip(b) {
            if y.is_some() {
                *x = y;
            }
        }
        Self::from_values(a)
    }
}

impl Registrar {
    /// Checks the invariants a stored registrar must hold.
    pub fn new(
        cl_id: ClientId,
        name: &str,
        status: RegistrarStatus,
        password_hash: PasswordHash,
        cert_fingerprints: Vec<CertFingerprint>,
        allowed_networks: Vec<IpNet>,
        max_sessions: u32,
    ) -> Result<Self, RegistrarError> {
        if name.is_empty() || name.chars().count() > 255 {
            return Err(RegistrarError::Name);
        }
        if cert_fingerprints.is_empty() {
            return Err(RegistrarError::NoCertificate);
        }
        if allowed_networks.is_empty() {
            return Err(RegistrarError::NoNetwork);
        }
        if max_sessions == 0 {
            return Err(RegistrarError::MaxSessions);
        }
        let allowed_networks = allowed_networks.into_iter().map(normalise_net).collect();
        Ok(Self {
            cl_id,
            name: name.to_owned(),
            status,
            password_hash,
            cert_fingerprints,
            allowed_networks,
            max_sessions,
            rate_limits: RateLimitOverrides::default(),
            password_changed_at: None,
        })
    }

    /// The same registrar with the time its password was last set.
    pub fn with_password_changed_at(mut self, at: Option<Timestamp>) -> Self {
        self.password_changed_at = at;
        self
    }

    /// When the password expires under a maximum age of `max_age_days` (0: never). Stored
    /// registrars always know when their password was set (migration 0024 dated the older
    /// ones); one that does not never expires.
    pub fn password_expires(&self, max_age_days: u32) -> Option<Timestamp> {
        if max_age_days == 0 {
            return None;
        }
        self.password_changed_at?
            .checked_add_signed(chrono::Duration::days(i64::from(max_age_days)))
    }

    /// The same registrar with these rate limit overrides.
    pub fn with_rate_limits(mut self, rate_limits: RateLimitOverrides) -> Self {
        self.rate_limits = rate_limits;
        self
    }

    /// Whether `fingerprint` is one of this registrar's pinned certificates.
    pub fn pins(&self, fingerprint: &CertFingerprint) -> bool {
        self.cert_fingerprints.iter().any(|f| f == fingerprint)
    }

    /// Whether a login from `addr` is inside one of the allowed networks.
    pub fn allows_source(&self, addr: IpAddr) -> bool {
        let addr = normalise_ip(addr);
        self.allowed_networks.iter().any(|n| n.contains(&addr))
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) becomes the IPv4 address it carries, so
/// an allow-list of IPv4 networks works on a dual-stack listener.
pub fn normalise_ip(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// A network given as IPv4-mapped IPv6 (`::ffff:192.0.2.0/120`) becomes its IPv4 form.
pub fn normalise_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(net),
            None => net,
        },
        other => other.trunc(),
    }
}

/// Parses a CIDR block; a bare address is a host route (/32 or /128).
pub fn parse_network(s: &str) -> Result<IpNet, RegistrarError> {
    let s = s.trim();
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(normalise_net(net));
    }
    s.parse::<IpAddr>()
        .map(|a| normalise_net(IpNet::from(a)))
        .map_err(|_| RegistrarError::Network(s.to_owned()))
}

/// How a login attempt ended, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginOutcome {
    Success,
    /// Credentials or policy refused the login; counts towards lock-out.
    Failure,
    /// Refused without judging credentials (lock-out, session limit, new password policy);
    /// does not count towards lock-out.
    Refused,
}

impl LoginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginOutcome::Success => "success",
            LoginOutcome::Failure => "failure",
            LoginOutcome::Refused => "refused",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        [
            LoginOutcome::Success,
            LoginOutcome::Failure,
            LoginOutcome::Refused,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// The true reason a login was refused (never sent to the client: the wire says 2200).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthFailure {
    UnknownClient,
    CertNotPinned,
    SourceNotAllowed,
    BadPassword,
    Suspended,
    LockedOut,
    SessionLimit,
    NewPasswordPolicy,
    /// Right credentials, but the password is older than the maximum age and the login did
    /// not set a new one.
    PasswordExpired,
}

impl AuthFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::UnknownClient => "unknown_client",
            AuthFailure::CertNotPinned => "cert_not_pinned",
            AuthFailure::SourceNotAllowed => "source_not_allowed",
            AuthFailure::BadPassword => "bad_password",
            AuthFailure::Suspended => "suspended",
            AuthFailure::LockedOut => "locked_out",
            AuthFailure::SessionLimit => "session_limit",
            AuthFailure::NewPasswordPolicy => "new_password_policy",
            AuthFailure::PasswordExpired => "password_expired",
        }
    }
}

/// The checks of a login that depend only on the registrar and the peer: every failing
/// check, in a fixed order (the password is verified separately, off the async threads).
pub fn check_peer(
    registrar: &Registrar,
    fingerprint: &CertFingerprint,
    source: IpAddr,
) -> Vec<AuthFailure> {
    let mut failures = Vec::new();
    if !registrar.pins(fingerprint) {
        failures.push(AuthFailure::CertNotPinned);
    }
    if !registrar.allows_source(source) {
        failures.push(AuthFailure::SourceNotAllowed);
    }
    if !registrar.status.is_active() {
        failures.push(AuthFailure::Suspended);
    }
    failures
}

/// One row of the login audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAuditEntry {
    pub at: Timestamp,
    /// As the client sent it (may name no registrar).
    pub cl_id: String,
    pub source_ip: IpAddr,
    pub cert_fingerprint: Option<CertFingerprint>,
    pub outcome: LoginOutcome,
    /// Comma-separated [`AuthFailure`] tokens, or a note on success (`password_changed`).
    pub reason: String,
    /// A failure that counts against the clID's lock-out: only one from a certificate pinned
    /// to that clID and an address in its networks (see [`is_clid_strike`]). clIDs are
    /// public, so any other failure counts against the source address and certificate only.
    pub clid_strike: bool,
}

/// Whether a failed login with these failures counts against the clID: a wrong password while
/// the factors an outsider cannot fake held (the certificate is pinned to the clID and the
/// address is in its networks), i.e. a guess from the registrar's own side.
pub fn is_clid_strike(failures: &[AuthFailure]) -> bool {
    failures.contains(&AuthFailure::BadPassword)
        && !failures.iter().any(|f| {
            matches!(
                f,
                AuthFailure::UnknownClient
                    | AuthFailure::CertNotPinned
                    | AuthFailure::SourceNotAllowed
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registrar() -> Registrar {
        Registrar::new(
            ClientId::new("reg-a").expect("clid"),
            "Registrar A",
            RegistrarStatus::Active,
            PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA").expect("hash"),
            vec![CertFingerprint::from_bytes([7; 32])],
            vec![
                parse_network("192.0.2.0/24").expect("net"),
                parse_network("2001:db8::/32").expect("net"),
            ],
            2,
        )
        .expect("registrar")
    }

    #[test]
    fn password_policy() {
        let p = PasswordPolicy::new(16, ["Password123456789", "letmein"]);
        let ok = "correct-horse-battery";
        assert_eq!(p.check("reg-a", ok, Some("old-secret-1"), 128), Ok(()));
        assert_eq!(
            p.check("reg-a", "short-but-ok", None, 128),
            Err(PasswordRefusal::TooShort(16))
        );
        // `<newPW>` carries 16 at most: the minimum cannot exceed that.
        let p24 = PasswordPolicy::new(24, Vec::<String>::new());
        assert_eq!(p24.check("reg-a", "sixteen-chars-ab", None, 16), Ok(()));
        assert_eq!(
            p24.check("reg-a", "sixteen-chars-ab", None, 128),
            Err(PasswordRefusal::TooShort(24))
        );
        assert_eq!(
            p.check("registrar-long-1", "REGISTRAR-LONG-1", None, 128),
            Err(PasswordRefusal::EqualsClientId)
        );
        assert_eq!(
            p.check("reg-a", "password123456789", None, 128),
            Err(PasswordRefusal::Denied)
        );
        assert_eq!(
            p.check("reg-a", ok, Some(ok), 128),
            Err(PasswordRefusal::Unchanged)
        );
    }

    #[test]
    fn password_expiry() {
        let t0 = Timestamp::from_timestamp(1_700_000_000, 0).expect("time");
        let r = registrar();
        assert_eq!(r.password_expires(90), None);
        let r = r.with_password_changed_at(Some(t0));
        assert_eq!(r.password_expires(0), None);
        assert_eq!(
            r.password_expires(90),
            Some(t0 + chrono::Duration::days(90))
        );
    }

    #[test]
    fn fingerprint_round_trip() {
        let f = CertFingerprint::from_bytes([0xab; 32]);
        assert_eq!(f.to_hex().parse::<CertFingerprint>(), Ok(f));
        let colons = f
            .to_hex()
            .to_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(colons.parse::<CertFingerprint>(), Ok(f));
        assert!("abc".parse::<CertFingerprint>().is_err());
        assert!("zz".repeat(32).parse::<CertFingerprint>().is_err());
    }

    #[test]
    fn mapped_addresses_are_normalised() {
        let r = registrar();
        assert!(r.allows_source("192.0.2.7".parse().expect("ip")));
        assert!(r.allows_source("::ffff:192.0.2.7".parse().expect("ip")));
        assert!(!r.allows_source("::ffff:198.51.100.1".parse().expect("ip")));
        assert!(r.allows_source("2001:db8::1".parse().expect("ip")));
        assert_eq!(
            parse_network("::ffff:10.0.0.0/104"),
            Ok("10.0.0.0/8".parse().expect("net"))
        );
        assert_eq!(
            parse_network("10.1.2.3"),
            Ok("10.1.2.3/32".parse().expect("net"))
        );
        assert!(parse_network("nope").is_err());
    }

    #[test]
    fn peer_checks_list_every_failure() {
        let mut r = registrar();
        let pinned = CertFingerprint::from_bytes([7; 32]);
        let other = CertFingerprint::from_bytes([8; 32]);
        assert!(check_peer(&r, &pinned, "192.0.2.1".parse().expect("ip")).is_empty());
        r.status = RegistrarStatus::Suspended {
            reason: "unpaid".into(),
        };
        assert_eq!(
            check_peer(&r, &other, "203.0.113.1".parse().expect("ip")),
            vec![
                AuthFailure::CertNotPinned,
                AuthFailure::SourceNotAllowed,
                AuthFailure::Suspended
            ]
        );
    }

    #[test]
    fn only_insider_failures_strike_the_clid() {
        use AuthFailure::*;
        assert!(is_clid_strike(&[BadPassword]));
        assert!(is_clid_strike(&[BadPassword, Suspended]));
        assert!(!is_clid_strike(&[]));
        assert!(!is_clid_strike(&[Suspended]));
        assert!(!is_clid_strike(&[UnknownClient]));
        assert!(!is_clid_strike(&[CertNotPinned, BadPassword]));
        assert!(!is_clid_strike(&[SourceNotAllowed, BadPassword]));
        assert!(!is_clid_strike(&[CertNotPinned, SourceNotAllowed]));
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(
            format!("{:?}", registrar().password_hash),
            "PasswordHash(***)"
        );
        assert!(PasswordHash::new("$2y$10$bcrypt").is_err());
    }
}
