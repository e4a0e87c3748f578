//! Secure authorization information for transfer (RFC 9154), for domains and contacts alike.
//!
//! * An object's authInfo is empty unless its sponsor set one (on the registrant's request to
//!   transfer). RFC 9154 asks for a random value of at least 128 bits; [`check_strength`]
//!   refuses anything that does not look like one (2202, the reason naming the weakness).
//! * It is stored only as `sha256$<salt hex>$<digest hex>`: SHA-256 over a fresh 16-byte
//!   random salt followed by the value. A fast hash is enough *because* the value itself
//!   carries ≥ 128 bits of entropy: nobody can enumerate the space, so a slow KDF would only
//!   cost CPU on every transfer. [`opens`] compares in constant time and fails closed on
//!   anything stored that is not in that format (an old plaintext value never opens; the store
//!   hashes those in place when it migrates, see `registry-store/src/secure_auth.rs`).
//! * It expires `ttl_days` after it was set (`auth_set` on the object), a completed transfer
//!   clears it, and `<info>` never returns it (RFC 9154 section 4.2).
//! * Domains cannot be transferred within `transfer_lock_after_create_days` of their creation
//!   or `transfer_lock_after_transfer_days` of their last transfer (2106).

use epp_proto::Timestamp;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `[secure_auth]` of the registry policy (eppd: `[registry.secure_auth]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecureAuthConfig {
    /// How long an authInfo opens a transfer after it was set (days). Default 14.
    pub ttl_days: u32,
    /// Fewest characters an authInfo may have. Default 16.
    pub min_length: u32,
    /// Least estimated entropy (bits): length × log2 of the alphabet of the character
    /// classes used. Default 128 (RFC 9154 section 4.1).
    pub min_entropy_bits: u32,
    /// Whether a (strong) authInfo given on create is kept (`true`), or create must carry an
    /// empty one as RFC 9154 section 4.1 asks clients to send (`false`: 2306). Default `true`.
    pub accept_on_create: bool,
    /// No transfer of a domain within this many days of its creation (2106). Default 60.
    pub transfer_lock_after_create_days: u32,
    /// No transfer of a domain within this many days of its last completed transfer (2106).
    /// Default 60.
    pub transfer_lock_after_transfer_days: u32,
}

impl Default for SecureAuthConfig {
    fn default() -> Self {
        Self {
            ttl_days: 14,
            min_length: 16,
            min_entropy_bits: 128,
            accept_on_create: true,
            transfer_lock_after_create_days: 60,
            transfer_lock_after_transfer_days: 60,
        }
    }
}

impl SecureAuthConfig {
    /// Whether an authInfo set at `set` still opens a transfer at `now`. Unknown set time:
    /// expired (fail closed).
    pub fn is_live(&self, set: Option<Timestamp>, now: Timestamp) -> bool {
        set.is_some_and(|t| now < t + chrono::TimeDelta::days(i64::from(self.ttl_days)))
    }

    /// 2106 while a domain created at `cr_date` and last transferred at `tr_date` is in a
    /// transfer lock at `now`.
    pub fn check_transfer_lock(
        &self,
        cr_date: Timestamp,
        tr_date: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), crate::CoreError> {
        let days = |d: u32| chrono::TimeDelta::days(i64::from(d));
        if now < cr_date + days(self.transfer_lock_after_create_days) {
            return Err(crate::CoreError::NotEligibleForTransfer(
                REASON_LOCK_CREATED,
            ));
        }
        if tr_date.is_some_and(|t| now < t + days(self.transfer_lock_after_transfer_days)) {
            return Err(crate::CoreError::NotEligibleForTransfer(
                REASON_LOCK_TRANSFERRED,
            ));
        }
        Ok(())
    }
}

/// 2106 reasons (≤ 32 characters: `eppcom:reasonBaseType`).
pub const REASON_LOCK_CREATED: &str = "transfer lock: created recently";
pub const REASON_LOCK_TRANSFERRED: &str = "transfer lock: recent transfer";

/// Why an authInfo is refused as too weak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Weakness {
    #[error("authInfo shorter than {min} characters")]
    TooShort { min: u32 },
    #[error("authInfo uses too few character classes")]
    TooFewClasses,
    #[error("authInfo entropy estimate {bits} bits, below {min}")]
    LowEntropy { bits: u32, min: u32 },
}

impl Weakness {
    /// The reason sent to the client (≤ 32 characters).
    pub fn reason(&self) -> &'static str {
        match self {
            Weakness::TooShort { .. } => "authInfo too short",
            Weakness::TooFewClasses => "authInfo: too few char classes",
            Weakness::LowEntropy { .. } => "authInfo: too little entropy",
        }
    }
}

/// Character classes told apart by the entropy estimate, with the size of each alphabet.
type IsInClass = fn(char) -> bool;

const CLASSES: [(IsInClass, u32); 5] = [
    (|c| c.is_ascii_lowercase(), 26),
    (|c| c.is_ascii_uppercase(), 26),
    (|c| c.is_ascii_digit(), 10),
    (|c| c.is_ascii_punctuation() || c == ' ', 33),
    // Anything else (non-ASCII letters): counted as a modest alphabet of its own, since it is
    // no proof of randomness either.
    (|c| !c.is_ascii(), 100),
];

/// Fewest character classes a value must mix: one class alone is how "aaaa…" or a long
/// dictionary word looks.
const MIN_CLASSES: usize = 2;

/// Whether `value` meets the strength policy. An empty value is not judged here: it means
/// "no authInfo".
pub fn check_strength(cfg: &SecureAuthConfig, value: &str) -> Result<(), Weakness> {
    let len = value.chars().count();
    if len < cfg.min_length as usize {
        return Err(Weakness::TooShort {
            min: cfg.min_length,
        });
    }
    let used: Vec<u32> = CLASSES
        .iter()
        .filter(|(is, _)| value.chars().any(is))
        .map(|(_, size)| *size)
        .collect();
    if used.len() < MIN_CLASSES {
        return Err(Weakness::TooFewClasses);
    }
    let alphabet: u32 = used.iter().sum();
    let bits = (len as f64 * f64::from(alphabet).log2()).floor() as u32;
    if bits < cfg.min_entropy_bits {
        return Err(Weakness::LowEntropy {
            bits,
            min: cfg.min_entropy_bits,
        });
    }
    Ok(())
}

/// No random salt could be had from the operating system.
#[derive(Debug, thiserror::Error)]
#[error("no randomness for an authInfo salt: {0}")]
pub struct NoRandom(String);

const SCHEME: &str = "sha256";
const SALT_LEN: usize = 16;

fn digest(salt: &[u8], value: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(value.as_bytes());
    h.finalize().into()
}

/// The stored form of `plaintext`: `sha256$<salt hex>$<digest hex>` with a fresh salt.
pub fn new_value(plaintext: &str) -> Result<String, NoRandom> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::getrandom(&mut salt).map_err(|e| NoRandom(e.to_string()))?;
    Ok(format!(
        "{SCHEME}${}${}",
        hex::encode(salt),
        hex::encode(digest(&salt, plaintext))
    ))
}

/// The salt and digest of a stored value, if it is in the hash format.
fn parse(stored: &str) -> Option<([u8; SALT_LEN], [u8; 32])> {
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(salt), Some(dig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let mut s = [0u8; SALT_LEN];
    let mut d = [0u8; 32];
    hex::decode_to_slice(salt, &mut s).ok()?;
    hex::decode_to_slice(dig, &mut d).ok()?;
    Some((s, d))
}

/// Whether `stored` is in the hash format (what the store's migration looks for).
pub fn is_hashed(stored: &str) -> bool {
    parse(stored).is_some()
}

/// Whether `offered` is the value `stored` was made from. Empty offers, and anything stored
/// that is not in the hash format, never open.
pub fn opens(stored: &str, offered: &str) -> bool {
    if offered.is_empty() {
        return false;
    }
    let Some((salt, want)) = parse(stored) else {
        return false;
    };
    bool::from(digest(&salt, offered).ct_eq(&want))
}

/// What an authInfo offered to be set (create, update) becomes in the store: `None` when
/// empty (`<pw/>`: no authInfo), else its hash, once it passed the strength policy (2202).
pub(crate) fn to_store(
    cfg: &SecureAuthConfig,
    offered: &str,
) -> Result<Option<String>, crate::CoreError> {
    if offered.is_empty() {
        return Ok(None);
    }
    check_strength(cfg, offered).map_err(crate::CoreError::WeakAuthInfo)?;
    new_value(offered)
        .map(Some)
        .map_err(|e| crate::CoreError::Corrupt(e.to_string()))
}

impl<S: crate::Store> crate::Registry<S> {
    /// The stored authInfo of a new domain or contact: none for an empty one (what RFC 9154
    /// section 4.1 asks clients to send); a non-empty one only with `accept_on_create` (else
    /// 2306) and when strong enough (else 2202).
    pub(crate) fn auth_on_create(&self, offered: &str) -> Result<Option<String>, crate::CoreError> {
        if !offered.is_empty() && !self.cfg.secure_auth.accept_on_create {
            return Err(crate::CoreError::Policy("authInfo must be empty"));
        }
        to_store(&self.cfg.secure_auth, offered)
    }
}

/// Whether the authInfo a non-sponsor offered opens an object whose stored authInfo is
/// `stored` (set at `set`): `Ok(false)` when none was offered; 2202 when it is wrong, when
/// the object has none, when it has expired, or when it names a contact (`roid`, not
/// supported).
pub(crate) fn judge(
    cfg: &SecureAuthConfig,
    stored: Option<&str>,
    set: Option<Timestamp>,
    offered: Option<&epp_proto::AuthInfo>,
    now: Timestamp,
) -> Result<bool, crate::CoreError> {
    let Some(a) = offered else {
        return Ok(false);
    };
    let right = opens(stored.unwrap_or(""), a.expose());
    if right && a.roid.is_none() && cfg.is_live(set, now) {
        Ok(true)
    } else {
        Err(crate::CoreError::InvalidAuthInfo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRONG: &str = "2fooBAR-Zq8#Kx3Vm9!Tr2Lw";

    #[test]
    fn hashed_values_open_only_with_their_plaintext() {
        let a = new_value(STRONG).unwrap_or_else(|e| panic!("{e}"));
        let b = new_value(STRONG).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("sha256$"));
        assert!(!a.contains("fooBAR"));
        assert!(opens(&a, STRONG) && opens(&b, STRONG));
        assert!(!opens(&a, "2fooBAR-Zq8#Kx3Vm9!Tr2Lx"));
        assert!(!opens(&a, ""));
        let empty = new_value("").unwrap_or_else(|e| panic!("{e}"));
        assert!(!opens(&empty, ""), "an empty offer never opens");
    }

    #[test]
    fn fails_closed_on_anything_not_hashed() {
        for stored in [
            STRONG,
            "",
            "sha256$",
            "sha256$00$00",
            "md5$00000000000000000000000000000000$00",
            &format!("{}$extra", new_value(STRONG).unwrap_or_default()),
        ] {
            assert!(!opens(stored, stored), "{stored:?}");
            assert!(!opens(stored, STRONG), "{stored:?}");
            assert!(!is_hashed(stored), "{stored:?}");
        }
    }

    #[test]
    fn strength_policy() {
        let cfg = SecureAuthConfig::default();
        assert_eq!(check_strength(&cfg, STRONG), Ok(()));
        assert_eq!(
            check_strength(&cfg, "x"),
            Err(Weakness::TooShort { min: 16 })
        );
        assert_eq!(
            check_strength(&cfg, "2fooBAR"),
            Err(Weakness::TooShort { min: 16 })
        );
        assert_eq!(
            check_strength(&cfg, &"a".repeat(40)),
            Err(Weakness::TooFewClasses)
        );
        assert!(matches!(
            check_strength(&cfg, "abcdefgh12345678"),
            Err(Weakness::LowEntropy { .. })
        ));
        // 32 hex digits: 128 random bits, and estimated above that.
        assert_eq!(
            check_strength(&cfg, "0f3a9c2e7b1d4f6a8c0e2b4d6f8a1c3e"),
            Ok(())
        );
        for w in [
            Weakness::TooShort { min: 16 },
            Weakness::TooFewClasses,
            Weakness::LowEntropy { bits: 1, min: 2 },
        ] {
            assert!(w.reason().chars().count() <= 32, "{}", w.reason());
        }
    }

    #[test]
    fn ttl_and_transfer_locks() {
        let cfg = SecureAuthConfig::default();
        let t0 = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let day = chrono::TimeDelta::days(1);
        assert!(cfg.is_live(Some(t0), t0 + day * 13));
        assert!(!cfg.is_live(Some(t0), t0 + day * 14));
        assert!(!cfg.is_live(None, t0));
        assert!(cfg.check_transfer_lock(t0, None, t0 + day * 59).is_err());
        assert!(cfg.check_transfer_lock(t0, None, t0 + day * 60).is_ok());
        let e = cfg
            .check_transfer_lock(t0, Some(t0 + day * 70), t0 + day * 100)
            .err();
        assert_eq!(e.map(|e| e.reason()), Some(REASON_LOCK_TRANSFERRED));
        assert!(REASON_LOCK_CREATED.len() <= 32 && REASON_LOCK_TRANSFERRED.len() <= 32);
    }

    #[test]
    fn config_defaults_and_unknown_keys() {
        let c: SecureAuthConfig = toml::from_str("ttl_days = 3").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.ttl_days, 3);
        assert_eq!(c.min_entropy_bits, 128);
        assert!(toml::from_str::<SecureAuthConfig>("ttl = 3").is_err());
    }
}
