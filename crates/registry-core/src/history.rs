//! The tamper-evident history: every history and audit row is chained (issue 13).
//!
//! A row's *content hash* is SHA-256 over a canonical encoding of everything it says (its
//! table and id, who, from where, with which certificate, when, what, before and after). Rows
//! of every chained table ([`ChainedTable`]: the object history and the login audit) are put
//! in **one** chain by the store's sequencer once committed (in the order it finds them; a
//! row's position never changes once given): the *chain hash* at position `n` is
//! `SHA-256(chain hash at n-1 ‖ content hash of the row at n)`, starting from 32 zero bytes.
//! The table's name is part of the content hash, so a row cannot be moved to another table.
//! [`ChainWalk`] checks a chain read back in position order and names the first row that does
//! not fit (table and id): edited (its content no longer gives its hash), deleted (a position
//! missing), inserted or reordered (a hash that does not follow from the previous one, or a
//! position held twice).
//!
//! Somebody with write access to the database can rewrite the whole chain consistently; a
//! [`Checkpoint`] of the head, signed with a key the database never holds (Ed25519) and kept
//! outside it, catches that: the chain must still have the checkpoint's hash at its position.

use epp_proto::Timestamp;
use ring::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::HistoryEntry;

/// The chain hash before the first row.
pub const GENESIS: [u8; 32] = [0; 32];

/// Which table a chained row lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainedTable {
    /// `object_history`: what changed on domains, hosts and contacts, lock steps, and every
    /// operator action (signed, proposed, approved, refused).
    Object,
    /// `login_audit`: every registrar login, succeeded or failed.
    LoginAudit,
}

impl ChainedTable {
    /// The name hashed into a row's content hash (part of the chain format: never changed).
    pub fn as_str(self) -> &'static str {
        match self {
            ChainedTable::Object => "object",
            ChainedTable::LoginAudit => "login_audit",
        }
    }

    /// The SQL table, as reports name it.
    pub fn table(self) -> &'static str {
        match self {
            ChainedTable::Object => "object_history",
            ChainedTable::LoginAudit => "login_audit",
        }
    }
}

impl std::fmt::Display for ChainedTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.table())
    }
}

/// Appends one length-prefixed field (so that no two different rows encode alike).
fn field(h: &mut Sha256, v: Option<&str>) {
    match v {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
    }
}

fn time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// [`time`] without chrono's formatter (the verifier formats one date per row): the same
/// text, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, for years 0..=9999; others fall back to [`time`].
fn time_fast(t: Timestamp, out: &mut [u8; 27]) -> std::borrow::Cow<'_, str> {
    use chrono::{Datelike, Timelike};
    let (y, mo, d) = (t.year(), t.month(), t.day());
    if !(0..=9999).contains(&y) {
        return std::borrow::Cow::Owned(time(t));
    }
    // Leap seconds show as nanosecond values above 1e9; chrono prints them as ".1000000"
    // (7 digits), which the fixed layout cannot hold.
    let micros = t.nanosecond() / 1000;
    if micros >= 1_000_000 {
        return std::borrow::Cow::Owned(time(t));
    }
    let put = |out: &mut [u8; 27], at: usize, v: u32, width: usize| {
        let mut v = v;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(out, 0, y as u32, 4);
    out[4] = b'-';
    put(out, 5, mo, 2);
    out[7] = b'-';
    put(out, 8, d, 2);
    out[10] = b'T';
    put(out, 11, t.hour(), 2);
    out[13] = b':';
    put(out, 14, t.minute(), 2);
    out[16] = b':';
    put(out, 17, t.second(), 2);
    out[19] = b'.';
    put(out, 20, micros, 6);
    out[26] = b'Z';
    // Only ASCII digits and separators were written.
    std::borrow::Cow::Borrowed(std::str::from_utf8(out).unwrap_or(""))
}

/// An `object_history` row's content, borrowed (the verifier hashes rows as read, without
/// copying them).
#[derive(Debug, Clone, Copy)]
pub struct ObjectRowRef<'a> {
    pub id: i64,
    pub object_type: &'a str,
    pub object_key: &'a str,
    pub roid: &'a str,
    pub op: &'a str,
    pub cl_id: &'a str,
    pub source_ip: Option<&'a str>,
    pub cert_fingerprint: Option<&'a str>,
    pub cl_trid: Option<&'a str>,
    pub sv_trid: &'a str,
    pub at: Timestamp,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

impl<'a> From<&'a HistoryEntry> for ObjectRowRef<'a> {
    fn from(e: &'a HistoryEntry) -> Self {
        ObjectRowRef {
            id: e.id,
            object_type: &e.object_type,
            object_key: &e.object_key,
            roid: &e.roid,
            op: &e.op,
            cl_id: &e.cl_id,
            source_ip: e.source_ip.as_deref(),
            cert_fingerprint: e.cert_fingerprint.as_deref(),
            cl_trid: e.cl_trid.as_deref(),
            sv_trid: &e.sv_trid,
            at: e.at,
            before: e.before.as_deref(),
            after: e.after.as_deref(),
        }
    }
}

/// The content hash of an `object_history` row.
pub fn object_row_hash(e: &HistoryEntry) -> [u8; 32] {
    object_row_ref_hash(&ObjectRowRef::from(e))
}

/// The content hash of an `object_history` row given by reference.
pub fn object_row_ref_hash(e: &ObjectRowRef<'_>) -> [u8; 32] {
    let mut buf = [0u8; 27];
    let at = time_fast(e.at, &mut buf);
    row_hash(
        ChainedTable::Object,
        e.id,
        &[
            Some(e.object_type),
            Some(e.object_key),
            Some(e.roid),
            Some(e.op),
            Some(e.cl_id),
            e.source_ip,
            e.cert_fingerprint,
            e.cl_trid,
            Some(e.sv_trid),
            Some(&at),
            e.before,
            e.after,
        ],
    )
}

/// A `login_audit` row's content, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct AuditRowRef<'a> {
    pub id: i64,
    pub at: Timestamp,
    pub cl_id: &'a str,
    pub source_ip: &'a str,
    pub fingerprint: Option<&'a str>,
    /// `success`, `failure` or `refused`.
    pub outcome: &'a str,
    pub reason: &'a str,
    /// The failure counted against the clID (lock-out).
    pub clid_strike: bool,
}

/// The content hash of a `login_audit` row.
pub fn audit_row_hash(e: &AuditRowRef<'_>) -> [u8; 32] {
    let mut buf = [0u8; 27];
    let at = time_fast(e.at, &mut buf);
    row_hash(
        ChainedTable::LoginAudit,
        e.id,
        &[
            Some(&at),
            Some(e.cl_id),
            Some(e.source_ip),
            e.fingerprint,
            Some(e.outcome),
            Some(e.reason),
            Some(if e.clid_strike { "1" } else { "0" }),
        ],
    )
}

/// The content hash of any chained row given as its table, id and fields in column order.
pub fn row_hash(table: ChainedTable, id: i64, fields: &[Option<&str>]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"epp-registry history row v1\0");
    h.update(table.as_str().as_bytes());
    h.update([0u8]);
    h.update(id.to_be_bytes());
    for v in fields {
        field(&mut h, *v);
    }
    h.finalize().into()
}

/// The chain hash after `row` follows `prev`.
pub fn chain_hash(prev: &[u8; 32], row: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(row);
    h.finalize().into()
}

/// One chained row as read back for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedRow {
    pub table: ChainedTable,
    pub id: i64,
    pub position: i64,
    /// The hash the row's content gives now.
    pub content_hash: [u8; 32],
    /// The chain hash stored with the row.
    pub stored_chain_hash: [u8; 32],
}

/// What is wrong with a chain, at the first row that does not fit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "camelCase")]
pub enum ChainBreak {
    /// The row's content no longer gives the chain hash stored with it: edited in place (or
    /// inserted with a made-up hash).
    Edited {
        table: ChainedTable,
        id: i64,
        position: i64,
    },
    /// The chain skips from `after` to `position`, where row `id` of `table` is: the rows in
    /// between were deleted.
    Deleted {
        after: i64,
        position: i64,
        table: ChainedTable,
        id: i64,
    },
    /// Two rows hold position `position`: this one (`table`, `id`) came second in the walk.
    /// A row was inserted with a position already taken.
    Repeated {
        table: ChainedTable,
        id: i64,
        position: i64,
    },
    /// The checkpoint's position is past the end of the chain: its rows were deleted.
    Truncated { checkpoint: i64, head: i64 },
    /// The chain at the checkpoint's position is not what was signed: rewritten.
    CheckpointMismatch { position: i64 },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::Edited {
                table,
                id,
                position,
            } => write!(
                f,
                "{table} row {id} (chain position {position}) was edited, inserted or moved: its content does not give its chain hash"
            ),
            ChainBreak::Deleted {
                after,
                position,
                table,
                id,
            } => write!(
                f,
                "chain positions {}..{} are missing: rows were deleted after position {after} (the next row is {table} row {id}, at position {position})",
                after + 1,
                position - 1
            ),
            ChainBreak::Repeated {
                table,
                id,
                position,
            } => write!(
                f,
                "{table} row {id} claims chain position {position}, which another row holds: it was inserted"
            ),
            ChainBreak::Truncated { checkpoint, head } => write!(
                f,
                "the checkpoint is at position {checkpoint} but the chain ends at {head}: rows were deleted"
            ),
            ChainBreak::CheckpointMismatch { position } => write!(
                f,
                "the chain at position {position} is not the one the checkpoint signed: the history was rewritten"
            ),
        }
    }
}

/// Checks a chain row by row, in position order.
#[derive(Debug, Clone)]
pub struct ChainWalk {
    prev: [u8; 32],
    position: i64,
    /// Where the walk must find the checkpointed hash, if a checkpoint is checked.
    checkpoint: Option<(i64, [u8; 32])>,
    checkpoint_seen: bool,
    rows: u64,
}

impl Default for ChainWalk {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainWalk {
    pub fn new() -> Self {
        ChainWalk {
            prev: GENESIS,
            position: 0,
            checkpoint: None,
            checkpoint_seen: false,
            rows: 0,
        }
    }

    /// Also checks the chain against a (verified) checkpoint.
    pub fn with_checkpoint(mut self, c: &Checkpoint) -> Result<Self, String> {
        let hash = hex_32(&c.hash)?;
        self.checkpoint = Some((c.position, hash));
        Ok(self)
    }

    /// The next row; the first break found ends the walk.
    pub fn push(&mut self, r: &ChainedRow) -> Result<(), ChainBreak> {
        if r.position <= self.position {
            return Err(ChainBreak::Repeated {
                table: r.table,
                id: r.id,
                position: r.position,
            });
        }
        if r.position != self.position + 1 {
            return Err(ChainBreak::Deleted {
                after: self.position,
                position: r.position,
                table: r.table,
                id: r.id,
            });
        }
        let h = chain_hash(&self.prev, &r.content_hash);
        if h != r.stored_chain_hash {
            return Err(ChainBreak::Edited {
                table: r.table,
                id: r.id,
                position: r.position,
            });
        }
        if let Some((pos, hash)) = self.checkpoint {
            if pos == r.position {
                if hash != h {
                    return Err(ChainBreak::CheckpointMismatch { position: pos });
                }
                self.checkpoint_seen = true;
            }
        }
        self.prev = h;
        self.position = r.position;
        self.rows += 1;
        Ok(())
    }

    /// After the last row: the chain's head, or the break a checkpoint shows.
    pub fn finish(&self) -> Result<(i64, [u8; 32]), ChainBreak> {
        if let Some((pos, _)) = self.checkpoint {
            if pos > 0 && !self.checkpoint_seen {
                return Err(ChainBreak::Truncated {
                    checkpoint: pos,
                    head: self.position,
                });
            }
        }
        Ok((self.position, self.prev))
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The last row that fitted: position and chain hash.
    pub fn head(&self) -> (i64, [u8; 32]) {
        (self.position, self.prev)
    }
}

fn hex_32(s: &str) -> Result<[u8; 32], String> {
    let v = hex::decode(s).map_err(|e| format!("hash {s:?}: {e}"))?;
    v.try_into()
        .map_err(|_| format!("hash {s:?}: not 32 bytes"))
}

/// A signed statement of the chain's head: "at `at`, position `position` had hash `hash`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub position: i64,
    /// Hex.
    pub hash: String,
    pub at: Timestamp,
    /// The signer's public key, hex (which key signed; verification uses a trusted copy).
    pub key: String,
    /// Ed25519 signature over [`Checkpoint::message`], hex.
    pub sig: String,
}

impl Checkpoint {
    fn message(position: i64, hash: &str, at: Timestamp) -> String {
        format!(
            "epp-registry history checkpoint v1\n{position}\n{hash}\n{}\n",
            time(at)
        )
    }

    /// Signs the head `(position, hash)` at `at` with an Ed25519 key (PKCS#8).
    pub fn sign(
        position: i64,
        hash: &[u8; 32],
        at: Timestamp,
        pkcs8: &[u8],
    ) -> Result<Checkpoint, String> {
        let key = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|e| format!("signing key: {e}"))?;
        let hash = hex::encode(hash);
        let sig = key.sign(Self::message(position, &hash, at).as_bytes());
        Ok(Checkpoint {
            position,
            hash,
            at,
            key: hex::encode(key.public_key().as_ref()),
            sig: hex::encode(sig.as_ref()),
        })
    }

    /// Checks the signature with a trusted public key (hex, 32 bytes).
    pub fn verify(&self, public_key_hex: &str) -> Result<(), String> {
        let pk = hex::decode(public_key_hex.trim()).map_err(|e| format!("public key: {e}"))?;
        let sig = hex::decode(&self.sig).map_err(|e| format!("signature: {e}"))?;
        UnparsedPublicKey::new(&signature::ED25519, pk)
            .verify(
                Self::message(self.position, &self.hash, self.at).as_bytes(),
                &sig,
            )
            .map_err(|_| "the checkpoint's signature does not verify with that key".to_owned())
    }
}

/// A new Ed25519 signing key (PKCS#8) and its public key (hex).
pub fn new_signing_key() -> Result<(Vec<u8>, String), String> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| format!("key generation: {e}"))?;
    let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|e| format!("{e}"))?;
    Ok((
        pkcs8.as_ref().to_vec(),
        hex::encode(key.public_key().as_ref()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, op: &str) -> HistoryEntry {
        HistoryEntry {
            id,
            object_type: "domain".into(),
            object_key: "a.test".into(),
            roid: "D1-EPP".into(),
            op: op.into(),
            cl_id: "r1".into(),
            source_ip: Some("192.0.2.1".into()),
            cert_fingerprint: None,
            cl_trid: None,
            sv_trid: "SV-1".into(),
            at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            before: None,
            after: Some("{}".into()),
        }
    }

    fn chain(entries: &[HistoryEntry]) -> Vec<ChainedRow> {
        let mut prev = GENESIS;
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let content_hash = object_row_hash(e);
                prev = chain_hash(&prev, &content_hash);
                ChainedRow {
                    table: ChainedTable::Object,
                    id: e.id,
                    position: i as i64 + 1,
                    content_hash,
                    stored_chain_hash: prev,
                }
            })
            .collect()
    }

    fn walk(rows: &[ChainedRow]) -> Result<(i64, [u8; 32]), ChainBreak> {
        let mut w = ChainWalk::new();
        for r in rows {
            w.push(r)?;
        }
        w.finish()
    }

    #[test]
    fn every_kind_of_tampering_is_named() {
        let es: Vec<_> = (1..=5).map(|i| entry(i, "domain:update")).collect();
        let rows = chain(&es);
        assert_eq!(walk(&rows).map(|h| h.0), Ok(5));
        // Edited.
        let mut edited = rows.clone();
        edited[2].content_hash = object_row_hash(&entry(3, "domain:delete"));
        assert_eq!(
            walk(&edited),
            Err(ChainBreak::Edited {
                table: ChainedTable::Object,
                id: 3,
                position: 3
            })
        );
        // Deleted.
        let mut deleted = rows.clone();
        deleted.remove(1);
        assert_eq!(
            walk(&deleted),
            Err(ChainBreak::Deleted {
                after: 1,
                position: 3,
                table: ChainedTable::Object,
                id: 3,
            })
        );
        // Inserted at a position already held.
        let mut repeated = rows.clone();
        let mut extra = rows[1].clone();
        extra.id = 99;
        repeated.insert(2, extra);
        assert_eq!(
            walk(&repeated),
            Err(ChainBreak::Repeated {
                table: ChainedTable::Object,
                id: 99,
                position: 2,
            })
        );
        // Reordered.
        let mut swapped = rows.clone();
        swapped.swap(1, 2);
        let (a, b) = (swapped[1].position, swapped[2].position);
        swapped[1].position = b;
        swapped[2].position = a;
        assert!(matches!(
            walk(&swapped),
            Err(ChainBreak::Edited { id: 3, .. })
        ));
    }

    #[test]
    fn the_fast_date_is_the_canonical_one() {
        for (secs, nanos) in [
            (0, 0),
            (1_700_000_000, 123_456_789),
            (951_782_400, 999_999_000),
            (253_402_300_799, 1_000),
            (-62_135_596_800, 0),
        ] {
            let t = chrono::DateTime::from_timestamp(secs, nanos).unwrap_or_default();
            let mut buf = [0u8; 27];
            assert_eq!(time_fast(t, &mut buf), time(t), "{secs}.{nanos}");
        }
    }

    #[test]
    fn tables_hash_apart() {
        let a = AuditRowRef {
            id: 1,
            at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            cl_id: "r1",
            source_ip: "192.0.2.1",
            fingerprint: None,
            outcome: "failure",
            reason: "bad_password",
            clid_strike: true,
        };
        let h = audit_row_hash(&a);
        assert_ne!(
            h,
            audit_row_hash(&AuditRowRef {
                clid_strike: false,
                ..a
            })
        );
        assert_ne!(
            h,
            audit_row_hash(&AuditRowRef {
                outcome: "success",
                ..a
            })
        );
        assert_ne!(h, object_row_hash(&entry(1, "domain:update")));
    }

    #[test]
    fn a_consistent_rewrite_is_caught_by_the_checkpoint() {
        let (pkcs8, public) = new_signing_key().unwrap_or_default();
        let es: Vec<_> = (1..=4).map(|i| entry(i, "domain:update")).collect();
        let rows = chain(&es);
        let (pos, head) = walk(&rows).unwrap_or((0, GENESIS));
        let at = es[0].at;
        let cp = Checkpoint::sign(pos, &head, at, &pkcs8).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cp.verify(&public), Ok(()));
        let (_, other) = new_signing_key().unwrap_or_default();
        assert!(cp.verify(&other).is_err());
        let mut forged = cp.clone();
        forged.position = 3;
        assert!(forged.verify(&public).is_err());
        // Rewritten consistently: every hash recomputed over an edited row 2.
        let mut es2 = es.clone();
        es2[1].op = "domain:delete".into();
        let rewritten = chain(&es2);
        assert!(walk(&rewritten).is_ok(), "the chain alone cannot tell");
        let mut w = ChainWalk::new().with_checkpoint(&cp).unwrap_or_default();
        let r = rewritten.iter().try_for_each(|r| w.push(r));
        assert_eq!(r, Err(ChainBreak::CheckpointMismatch { position: 4 }));
        // Truncated.
        let mut w = ChainWalk::new().with_checkpoint(&cp).unwrap_or_default();
        rows[..2].iter().for_each(|r| {
            let _ = w.push(r);
        });
        assert_eq!(
            w.finish(),
            Err(ChainBreak::Truncated {
                checkpoint: 4,
                head: 2
            })
        );
    }
}
