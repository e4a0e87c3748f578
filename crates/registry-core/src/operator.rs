//! Operator accounts and signed admin actions (issue 13).
//!
//! An operator is an account with a role and an Ed25519 public key; the private half stays in
//! a key file on the operator's machine (`registry-admin operator keygen`), never in the
//! database, so that somebody who can read or write the database still cannot act as an
//! operator. Every security-relevant action travels as a [`SignedAction`]: a canonical text
//! naming the operator, the action, its arguments, the time and a random nonce, with the
//! operator's signature over exactly that text. [`SignedAction::verify`] is the only check
//! of a signature; the store's `authenticate` (registry-store `operators`) calls it with the
//! stored key and adds what needs the database (account enabled, nonce not seen before).

use epp_proto::Timestamp;
use ring::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What an operator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads only: may neither propose nor approve.
    Viewer,
    /// Runs the day-to-day commands, proposes and approves two-person actions.
    Operator,
    /// As `operator`, and approves changes to operator accounts.
    Security,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Security => "security",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "security" => Some(Role::Security),
            _ => None,
        }
    }
}

/// An operator account as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    pub name: String,
    pub role: Role,
    /// Ed25519 public key, 64 hex digits.
    pub public_key: String,
    pub created: Timestamp,
    /// Who approved the account (none for the first one).
    pub created_by: Option<String>,
    pub disabled: Option<Timestamp>,
}

/// Why a name, key or signature is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("operator name {0:?}: 1-64 characters of a-z, 0-9, '.', '_' or '-'")]
    BadName(String),
    #[error("public key: {0}")]
    BadKey(String),
    #[error("signing key: {0}")]
    BadSigningKey(String),
    #[error("the signature does not verify with operator {0}'s public key")]
    BadSignature(String),
}

/// Operator names: short, lowercase, no spaces (they appear as `operator:NAME` in history).
pub fn check_name(name: &str) -> Result<(), SignatureError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_' || b == b'-'
        });
    if ok {
        Ok(())
    } else {
        Err(SignatureError::BadName(name.to_owned()))
    }
}

/// A public key given as hex: exactly 32 bytes. Returns it normalised (lowercase).
pub fn parse_public_key(hex_key: &str) -> Result<String, SignatureError> {
    let raw = hex::decode(hex_key.trim()).map_err(|e| SignatureError::BadKey(e.to_string()))?;
    if raw.len() != 32 {
        return Err(SignatureError::BadKey(format!(
            "{} bytes, an Ed25519 public key has 32",
            raw.len()
        )));
    }
    Ok(hex::encode(raw))
}

/// A private key read from a key file: PKCS#8 (DER, as `operator keygen` writes it) or a
/// raw 32-byte seed (binary, or 64 hex digits).
#[derive(Debug)]
pub struct SigningKey(Ed25519KeyPair);

impl SigningKey {
    /// A new key: its PKCS#8 document (for the key file) and the key.
    pub fn generate() -> Result<(Vec<u8>, SigningKey), SignatureError> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|e| SignatureError::BadSigningKey(e.to_string()))?;
        let key = Self::from_bytes(pkcs8.as_ref())?;
        Ok((pkcs8.as_ref().to_vec(), key))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<SigningKey, SignatureError> {
        if let Ok(k) = Ed25519KeyPair::from_pkcs8(bytes) {
            return Ok(SigningKey(k));
        }
        let text = std::str::from_utf8(bytes).map(str::trim).unwrap_or("");
        let seed = match hex::decode(text) {
            Ok(s) if s.len() == 32 => s,
            _ if bytes.len() == 32 => bytes.to_vec(),
            _ => {
                return Err(SignatureError::BadSigningKey(
                    "neither a PKCS#8 Ed25519 key nor a 32-byte seed (binary or hex)".into(),
                ))
            }
        };
        Ed25519KeyPair::from_seed_unchecked(&seed)
            .map(SigningKey)
            .map_err(|e| SignatureError::BadSigningKey(e.to_string()))
    }

    /// The public key, hex.
    pub fn public_key(&self) -> String {
        hex::encode(self.0.public_key().as_ref())
    }

    fn sign(&self, msg: &[u8]) -> String {
        hex::encode(self.0.sign(msg).as_ref())
    }
}

/// One admin action, signed by the operator who runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedAction {
    pub operator: String,
    /// `registrar.resume`, `proposal.approve`, `operator.add`, …
    pub action: String,
    /// The arguments as the signer wrote them (JSON text); verified and stored byte for
    /// byte, so nothing depends on re-encoding them alike.
    pub args: String,
    /// Unix seconds when it was signed.
    pub at: i64,
    /// 16 random bytes, hex: the store refuses a nonce it has seen (no replay).
    pub nonce: String,
    /// Ed25519 signature over [`SignedAction::message`], hex.
    pub sig: String,
}

impl SignedAction {
    /// The canonical text that is signed.
    pub fn message(operator: &str, action: &str, args: &str, at: i64, nonce: &str) -> String {
        format!(
            "epp-registry admin action v1\noperator {operator}\naction {action}\nat {at}\nnonce {nonce}\nargs {args}\n"
        )
    }

    /// Signs `action` with `args` for `operator` at `at`, with a fresh nonce.
    pub fn sign(
        key: &SigningKey,
        operator: &str,
        action: &str,
        args: &serde_json::Value,
        at: Timestamp,
    ) -> Result<SignedAction, SignatureError> {
        let mut raw = [0u8; 16];
        getrandom::getrandom(&mut raw).map_err(|e| SignatureError::BadSigningKey(e.to_string()))?;
        let nonce = hex::encode(raw);
        let args = args.to_string();
        let at = at.timestamp();
        let sig = key.sign(Self::message(operator, action, &args, at, &nonce).as_bytes());
        Ok(SignedAction {
            operator: operator.to_owned(),
            action: action.to_owned(),
            args,
            at,
            nonce,
            sig,
        })
    }

    /// Checks the signature against `public_key_hex` (the key the store holds for
    /// [`SignedAction::operator`]).
    pub fn verify(&self, public_key_hex: &str) -> Result<(), SignatureError> {
        let pk = hex::decode(public_key_hex).map_err(|e| SignatureError::BadKey(e.to_string()))?;
        let sig = hex::decode(&self.sig)
            .map_err(|_| SignatureError::BadSignature(self.operator.clone()))?;
        let msg = Self::message(
            &self.operator,
            &self.action,
            &self.args,
            self.at,
            &self.nonce,
        );
        UnparsedPublicKey::new(&signature::ED25519, pk)
            .verify(msg.as_bytes(), &sig)
            .map_err(|_| SignatureError::BadSignature(self.operator.clone()))
    }

    /// SHA-256 of the signed text, hex: what an approval names, so that it approves exactly
    /// the proposal that was signed.
    pub fn digest(&self) -> String {
        let msg = Self::message(
            &self.operator,
            &self.action,
            &self.args,
            self.at,
            &self.nonce,
        );
        hex::encode(Sha256::digest(msg.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn signed_actions_verify_only_unchanged_and_with_the_right_key() {
        let (_, key) = SigningKey::generate().expect("key");
        let (_, other) = SigningKey::generate().expect("key");
        let args = serde_json::json!({ "cl_id": "reg-a" });
        let s = SignedAction::sign(&key, "alice", "registrar.resume", &args, at()).expect("sign");
        assert_eq!(s.verify(&key.public_key()), Ok(()));
        assert!(s.verify(&other.public_key()).is_err(), "other key");
        for tampered in [
            SignedAction {
                operator: "bob".into(),
                ..s.clone()
            },
            SignedAction {
                action: "registrar.set-password".into(),
                ..s.clone()
            },
            SignedAction {
                args: r#"{"cl_id":"reg-b"}"#.into(),
                ..s.clone()
            },
            SignedAction {
                at: s.at + 1,
                ..s.clone()
            },
            SignedAction {
                nonce: "00".repeat(16),
                ..s.clone()
            },
            SignedAction {
                sig: "zz".into(),
                ..s.clone()
            },
        ] {
            assert!(tampered.verify(&key.public_key()).is_err(), "{tampered:?}");
        }
    }

    #[test]
    fn key_files_in_both_forms() {
        let (pkcs8, key) = SigningKey::generate().expect("key");
        let again = SigningKey::from_bytes(&pkcs8).expect("pkcs8");
        assert_eq!(again.public_key(), key.public_key());
        let seed = [7u8; 32];
        let raw = SigningKey::from_bytes(&seed).expect("raw seed");
        let hexed = SigningKey::from_bytes(hex::encode(seed).as_bytes()).expect("hex seed");
        assert_eq!(raw.public_key(), hexed.public_key());
        assert!(SigningKey::from_bytes(b"not a key").is_err());
    }

    #[test]
    fn names_and_public_keys() {
        assert!(check_name("alice").is_ok());
        assert!(check_name("Alice").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(parse_public_key(&"AB".repeat(32)).is_ok());
        assert!(parse_public_key("abcd").is_err());
        assert_eq!(Role::parse("security"), Some(Role::Security));
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Security);
    }
}
