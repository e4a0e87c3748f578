//! [`SqlStore`]: registry-core's [`Store`] over the [`Db`] pool, for both backends.
//!
//! Both backends run the same SQL text (`$N` placeholders work in SQLite too), but for the few
//! statements that take a set of names as one JSON array (module `sql`); the functions are
//! generated once per backend by a macro. Concurrency:
//! * SQLite: write transactions of this process run one at a time on a single writer
//!   connection and commit in groups (see [`crate::group_commit`]); each batch starts with
//!   `BEGIN IMMEDIATE`, so writers of other processes are serialized too and a read-then-write
//!   never hits `SQLITE_BUSY` mid-transaction. Read transactions use the pool;
//! * PostgreSQL: rows loaded for a write are locked with `SELECT … FOR UPDATE`; unique
//!   constraints settle insert races (→ [`StoreError::Duplicate`]); journal rows are inserted
//!   without a position and numbered later, once committed, by `journal_since` (so commands
//!   never serialize on the journal; see crates/zonegen/README.md, "Journal positions");
//! * busy/serialization/deadlock errors become [`StoreError::Conflict`]; the core retries. A
//!   pool acquire time-out (the database slow or gone) is [`StoreError::Backend`]: never
//!   retried, answered 2400.

use epp_proto::Timestamp;
use registry_core::change::{Applied, Checked, LockRequestWrite, ObjectWrite};
use registry_core::model::{
    redacted_json, roid, Contact, Delegation, Domain, HistoryEntry, Host, JournalEntry,
    LockContact, LockRequest, OutboxMail, PollMessage, ZoneChange,
};
use registry_core::store::{Store, StoreError, StoreResult, StoreTx};
use sqlx::Row;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::db::Db;
use crate::group_commit::{GroupCommitStats, GroupTx, Writer};

/// Maps a sqlx error to what the core needs to know; the text stays in logs only.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Duplicate;
        }
        if db.is_foreign_key_violation() {
            return StoreError::ForeignKey;
        }
        let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
        // PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
        // SQLite: SQLITE_BUSY (5) and its extended codes, SQLITE_LOCKED (6).
        if matches!(
            code.as_str(),
            "40001" | "40P01" | "55P03" | "5" | "6" | "261" | "517" | "262"
        ) {
            return StoreError::Conflict(e.to_string());
        }
    }
    // No connection within the pool's acquire time-out means the database is slow or gone,
    // not that this transaction lost a race: retrying would only multiply the wait.
    StoreError::Backend(e.to_string())
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Backend(format!("corrupt object document: {e}"))
}

fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(corrupt)
}

/// A journal entry's `kind` and `data` columns: the JSON the journal has always held
/// (`{"in_zone":…,"ns":[…],"ds":[…]}` for domains, `{"addrs":[…]}` for hosts).
fn journal_row(z: &ZoneChange) -> StoreResult<(&'static str, String)> {
    Ok(match z {
        ZoneChange::Domain { delegation, .. } => ("domain", to_json(delegation)?),
        ZoneChange::Host { addrs, .. } => {
            ("host", serde_json::json!({ "addrs": addrs }).to_string())
        }
    })
}

fn journal_change(kind: &str, name: String, data: &str) -> StoreResult<ZoneChange> {
    #[derive(serde::Deserialize)]
    struct HostData {
        addrs: Vec<std::net::IpAddr>,
    }
    match kind {
        "domain" => Ok(ZoneChange::Domain {
            name,
            delegation: serde_json::from_str::<Delegation>(data).map_err(corrupt)?,
        }),
        "host" => Ok(ZoneChange::Host {
            name,
            addrs: serde_json::from_str::<HostData>(data)
                .map_err(corrupt)?
                .addrs,
        }),
        other => Err(StoreError::Backend(format!(
            "journal entry of unknown kind {other:?}"
        ))),
    }
}

fn micros(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.timestamp_micros())
}

/// The tables [`Store`]'s `*_taken` queries look names up in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Keyed {
    Domain,
    Host,
    Contact,
}

/// The statements that differ between the backends: a set of names is one JSON array
/// parameter, expanded by `json_each` (SQLite) or `jsonb_array_elements` (PostgreSQL). In
/// SQLite, `CROSS JOIN` fixes the loop order: the few names outside, the table's index inside.
mod sql {
    pub(super) mod sq {
        pub const LINK_NS: &str = "INSERT INTO domain_ns (domain_id, host_id) \
            SELECT $1, h.id FROM json_each($2) AS j CROSS JOIN host AS h ON h.name = j.value";
        pub const LINK_CONTACTS: &str = "INSERT INTO domain_contact (domain_id, contact_id, role) \
            SELECT $1, c.id, json_extract(j.value, '$[0]') FROM json_each($2) AS j \
            CROSS JOIN contact AS c ON c.handle = json_extract(j.value, '$[1]')";
        pub const DOMAINS_TAKEN: &str =
            "SELECT d.name FROM json_each($1) AS j CROSS JOIN domain AS d ON d.name = j.value";
        pub const HOSTS_TAKEN: &str =
            "SELECT h.name FROM json_each($1) AS j CROSS JOIN host AS h ON h.name = j.value";
        pub const CONTACTS_TAKEN: &str =
            "SELECT c.handle FROM json_each($1) AS j CROSS JOIN contact AS c ON c.handle = j.value";
        pub const UNLINK_NS: &str = "DELETE FROM domain_ns WHERE domain_id = $1 AND host_id IN \
            (SELECT h.id FROM json_each($2) AS j CROSS JOIN host AS h ON h.name = j.value)";
        pub const HOSTS_NAMED: &str =
            "SELECT h.id, h.data FROM json_each($1) AS j CROSS JOIN host AS h ON h.name = j.value";
        pub const USERS_OF_HOSTS: &str = "SELECT DISTINCT d.name FROM json_each($1) AS j \
            CROSS JOIN domain_ns AS n ON n.host_id = j.value CROSS JOIN domain AS d ON d.id = n.domain_id";
        /// From the few locked domains (partial index) to their links (primary key).
        pub const LOCKED_USERS_OF_HOSTS: &str = "SELECT DISTINCT d.name FROM domain AS d \
            JOIN domain_ns AS n ON n.domain_id = d.id \
            WHERE d.registry_locked AND n.host_id IN (SELECT j.value FROM json_each($1) AS j)";
    }
    /// PostgreSQL estimates 100 rows for any `jsonb_array_elements` call, so with a plain
    /// join a plan made while the table was small is a hash join over a sequential scan, and
    /// as the cached generic plan of sqlx's prepared statement it stayed so as the table grew
    /// (seen in the benchmark: checks scanning the whole domain table, 4x slower). Each name
    /// is therefore looked up by a `LATERAL (… OFFSET 0)` subquery, which the planner cannot
    /// flatten into a join: the choice is then one index probe against one scan per name,
    /// which the index wins for any table above a few pages.
    pub(super) mod pg {
        pub const LINK_NS: &str = "INSERT INTO domain_ns (domain_id, host_id) \
            SELECT $1, h.id FROM jsonb_array_elements_text($2::jsonb) AS j(name) \
            CROSS JOIN LATERAL (SELECT id FROM host WHERE name = j.name OFFSET 0) AS h";
        pub const LINK_CONTACTS: &str = "INSERT INTO domain_contact (domain_id, contact_id, role) \
            SELECT $1, c.id, j.e ->> 0 FROM jsonb_array_elements($2::jsonb) AS j(e) \
            CROSS JOIN LATERAL (SELECT id FROM contact WHERE handle = j.e ->> 1 OFFSET 0) AS c";
        pub const DOMAINS_TAKEN: &str =
            "SELECT d.name FROM jsonb_array_elements_text($1::jsonb) AS j(name) \
            CROSS JOIN LATERAL (SELECT name FROM domain WHERE name = j.name OFFSET 0) AS d";
        pub const HOSTS_TAKEN: &str =
            "SELECT h.name FROM jsonb_array_elements_text($1::jsonb) AS j(name) \
            CROSS JOIN LATERAL (SELECT name FROM host WHERE name = j.name OFFSET 0) AS h";
        pub const CONTACTS_TAKEN: &str =
            "SELECT c.handle FROM jsonb_array_elements_text($1::jsonb) AS j(handle) \
            CROSS JOIN LATERAL (SELECT handle FROM contact WHERE handle = j.handle OFFSET 0) AS c";
        pub const UNLINK_NS: &str = "DELETE FROM domain_ns WHERE domain_id = $1 AND host_id IN \
            (SELECT h.id FROM jsonb_array_elements_text($2::jsonb) AS j(name) \
             CROSS JOIN LATERAL (SELECT id FROM host WHERE name = j.name OFFSET 0) AS h)";
        pub const HOSTS_NAMED: &str =
            "SELECT h.id, h.data FROM jsonb_array_elements_text($1::jsonb) AS j(name) \
            CROSS JOIN LATERAL (SELECT id, data FROM host WHERE name = j.name OFFSET 0) AS h";
        pub const USERS_OF_HOSTS: &str = "SELECT DISTINCT d.name FROM jsonb_array_elements_text($1::jsonb) AS j(id) \
            CROSS JOIN LATERAL (SELECT domain_id FROM domain_ns WHERE host_id = j.id::bigint OFFSET 0) AS n \
            JOIN domain AS d ON d.id = n.domain_id";
        /// From the few locked domains (partial index) to their links (primary key).
        pub const LOCKED_USERS_OF_HOSTS: &str = "SELECT DISTINCT d.name FROM domain AS d \
            JOIN domain_ns AS n ON n.domain_id = d.id \
            WHERE d.registry_locked AND n.host_id IN (SELECT j::bigint FROM jsonb_array_elements_text($1::jsonb) AS j)";
    }
}

/// Arbitrary constant naming the journal's advisory lock.
const JOURNAL_LOCK: i64 = 0x5a6f_6e65_4a6e_6c01;

macro_rules! backend {
    ($m:ident, $db:ty, $for_update:literal, $pg:literal, $write_trail:ident) => {
        pub(crate) mod $m {
            use super::*;
            use crate::lock::$m::{lock_request_insert, lock_request_update, outbox_cancel_codes, outbox_push};
            type Conn = <$db as sqlx::Database>::Connection;

            /// Brings a domain's name server and contact links from `before` to `after` (all
            /// of them for a new domain): only the links that changed are deleted or inserted,
            /// each set with one `INSERT … SELECT`, the names passed as one JSON array. A name
            /// without a row leaves the row count short (→ [`StoreError::ForeignKey`]), a name
            /// given twice hits the primary key (→ [`StoreError::Duplicate`]).
            async fn link_domain(c: &mut Conn, before: Option<&Domain>, d: &Domain, id: i64) -> StoreResult<()> {
                let old_ns: Vec<&String> = before.map(|b| b.ns.iter().collect()).unwrap_or_default();
                let gone: Vec<&String> = old_ns.iter().copied().filter(|n| !d.ns.contains(n)).collect();
                let new: Vec<&String> = d.ns.iter().filter(|n| !old_ns.contains(n)).collect();
                if !gone.is_empty() {
                    let sql = if $pg { sql::pg::UNLINK_NS } else { sql::sq::UNLINK_NS };
                    sqlx::query(sql).bind(id).bind(to_json(&gone)?).execute(&mut *c).await.map_err(map_err)?;
                }
                if !new.is_empty() {
                    let sql = if $pg { sql::pg::LINK_NS } else { sql::sq::LINK_NS };
                    let r = sqlx::query(sql).bind(id).bind(to_json(&new)?).execute(&mut *c).await.map_err(map_err)?;
                    if r.rows_affected() != new.len() as u64 {
                        return Err(StoreError::ForeignKey);
                    }
                }
                let roles = |d: &Domain| -> Vec<(String, String)> {
                    d.registrant
                        .iter()
                        .map(|r| ("registrant".to_owned(), r.clone()))
                        .chain(d.contacts.iter().map(|l| (l.kind.clone(), l.id.clone())))
                        .collect()
                };
                let old_roles = before.map(roles).unwrap_or_default();
                let new_roles = roles(d);
                for (role, handle) in old_roles.iter().filter(|r| !new_roles.contains(r)) {
                    sqlx::query("DELETE FROM domain_contact WHERE domain_id = $1 AND role = $2 AND contact_id = (SELECT id FROM contact WHERE handle = $3)")
                        .bind(id)
                        .bind(role)
                        .bind(handle)
                        .execute(&mut *c)
                        .await
                        .map_err(map_err)?;
                }
                let added: Vec<(&str, &str)> = new_roles
                    .iter()
                    .filter(|r| !old_roles.contains(r))
                    .map(|(r, h)| (r.as_str(), h.as_str()))
                    .collect();
                if !added.is_empty() {
                    let sql = if $pg { sql::pg::LINK_CONTACTS } else { sql::sq::LINK_CONTACTS };
                    let r = sqlx::query(sql).bind(id).bind(to_json(&added)?).execute(&mut *c).await.map_err(map_err)?;
                    if r.rows_affected() != added.len() as u64 {
                        return Err(StoreError::ForeignKey);
                    }
                }
                Ok(())
            }

            /// Which of `names` have a row in `table` (`domain`, `host` or `contact`): one
            /// query on the key's index, no document decoded.
            pub async fn taken(c: &mut Conn, table: Keyed, names: &[&str]) -> StoreResult<Vec<String>> {
                let sql = match (table, $pg) {
                    (Keyed::Domain, false) => sql::sq::DOMAINS_TAKEN,
                    (Keyed::Host, false) => sql::sq::HOSTS_TAKEN,
                    (Keyed::Contact, false) => sql::sq::CONTACTS_TAKEN,
                    (Keyed::Domain, true) => sql::pg::DOMAINS_TAKEN,
                    (Keyed::Host, true) => sql::pg::HOSTS_TAKEN,
                    (Keyed::Contact, true) => sql::pg::CONTACTS_TAKEN,
                };
                sqlx::query_scalar(sql).bind(to_json(&names)?).fetch_all(&mut *c).await.map_err(map_err)
            }

            pub async fn domain_get(c: &mut Conn, name: &str, lock: bool) -> StoreResult<Option<Domain>> {
                let sql = if lock {
                    concat!("SELECT id, data FROM domain WHERE name = $1", $for_update)
                } else {
                    "SELECT id, data FROM domain WHERE name = $1"
                };
                let Some(row) = sqlx::query(sql).bind(name).fetch_optional(&mut *c).await.map_err(map_err)? else {
                    return Ok(None);
                };
                let id: i64 = row.try_get("id").map_err(map_err)?;
                let data: String = row.try_get("data").map_err(map_err)?;
                let mut d: Domain = serde_json::from_str(&data).map_err(corrupt)?;
                d.id = id;
                d.ns = sqlx::query_scalar(
                    "SELECT h.name FROM domain_ns n JOIN host h ON h.id = n.host_id WHERE n.domain_id = $1 ORDER BY h.name",
                )
                .bind(id)
                .fetch_all(&mut *c)
                .await
                .map_err(map_err)?;
                Ok(Some(d))
            }

            async fn domain_insert(c: &mut Conn, d: &Domain, next_due: Option<Timestamp>) -> StoreResult<i64> {
                let id: i64 = sqlx::query_scalar("INSERT INTO domain (name, cl_id, next_due, registry_locked, data) VALUES ($1, $2, $3, $4, $5) RETURNING id")
                    .bind(&d.name)
                    .bind(&d.cl_id)
                    .bind(micros(next_due))
                    .bind(d.registry_locked())
                    .bind(to_json(d)?)
                    .fetch_one(&mut *c)
                    .await
                    .map_err(map_err)?;
                link_domain(c, None, d, id).await?;
                Ok(id)
            }
            async fn domain_update(c: &mut Conn, before: &Domain, d: &Domain, next_due: Option<Timestamp>) -> StoreResult<()> {
                sqlx::query("UPDATE domain SET cl_id = $2, next_due = $3, registry_locked = $4, data = $5 WHERE id = $1")
                    .bind(d.id)
                    .bind(&d.cl_id)
                    .bind(micros(next_due))
                    .bind(d.registry_locked())
                    .bind(to_json(d)?)
                    .execute(&mut *c)
                    .await
                    .map_err(map_err)?;
                link_domain(c, Some(before), d, d.id).await
            }
            async fn domain_purge(c: &mut Conn, id: i64) -> StoreResult<()> {
                sqlx::query("DELETE FROM domain WHERE id = $1").bind(id).execute(&mut *c).await.map_err(map_err)?;
                Ok(())
            }

            pub async fn domains_using_host(c: &mut Conn, host_id: i64) -> StoreResult<Vec<String>> {
                sqlx::query_scalar("SELECT d.name FROM domain_ns n JOIN domain d ON d.id = n.domain_id WHERE n.host_id = $1 ORDER BY d.name")
                    .bind(host_id)
                    .fetch_all(&mut *c)
                    .await
                    .map_err(map_err)
            }

            pub async fn domains_using_hosts(c: &mut Conn, host_ids: &[i64], locked_only: bool) -> StoreResult<Vec<String>> {
                let sql = match (locked_only, $pg) {
                    (false, false) => sql::sq::USERS_OF_HOSTS,
                    (true, false) => sql::sq::LOCKED_USERS_OF_HOSTS,
                    (false, true) => sql::pg::USERS_OF_HOSTS,
                    (true, true) => sql::pg::LOCKED_USERS_OF_HOSTS,
                };
                sqlx::query_scalar(sql).bind(to_json(&host_ids)?).fetch_all(&mut *c).await.map_err(map_err)
            }

            pub async fn hosts_named(c: &mut Conn, names: &[String]) -> StoreResult<Vec<Host>> {
                let sql = if $pg { sql::pg::HOSTS_NAMED } else { sql::sq::HOSTS_NAMED };
                let rows = sqlx::query(sql).bind(to_json(&names)?).fetch_all(&mut *c).await.map_err(map_err)?;
                rows.iter().map(host_row).collect()
            }
            fn host_row(row: &<$db as sqlx::Database>::Row) -> StoreResult<Host> {
                let id: i64 = row.try_get("id").map_err(map_err)?;
                let data: String = row.try_get("data").map_err(map_err)?;
                let mut h: Host = serde_json::from_str(&data).map_err(corrupt)?;
                h.id = id;
                Ok(h)
            }

            pub async fn host_get(c: &mut Conn, name: &str, lock: bool) -> StoreResult<Option<Host>> {
                let sql = if lock {
                    concat!("SELECT id, data FROM host WHERE name = $1", $for_update)
                } else {
                    "SELECT id, data FROM host WHERE name = $1"
                };
                let row = sqlx::query(sql).bind(name).fetch_optional(&mut *c).await.map_err(map_err)?;
                row.as_ref().map(host_row).transpose()
            }

            /// A host for writing (row-locked on PostgreSQL) with its `locked_users` count
            /// (migration 0022).
            pub async fn host_get_counted(c: &mut Conn, name: &str) -> StoreResult<Option<(Host, i64)>> {
                let sql = concat!("SELECT id, data, locked_users FROM host WHERE name = $1", $for_update);
                let Some(row) = sqlx::query(sql).bind(name).fetch_optional(&mut *c).await.map_err(map_err)? else {
                    return Ok(None);
                };
                let n: i64 = row.try_get("locked_users").map_err(map_err)?;
                Ok(Some((host_row(&row)?, n)))
            }

            async fn host_insert(c: &mut Conn, h: &Host) -> StoreResult<i64> {
                sqlx::query_scalar(
                    "INSERT INTO host (name, cl_id, domain_id, data) VALUES ($1, $2, (SELECT id FROM domain WHERE name = $3), $4) RETURNING id",
                )
                .bind(&h.name)
                .bind(&h.cl_id)
                .bind(h.superordinate.as_deref())
                .bind(to_json(h)?)
                .fetch_one(&mut *c)
                .await
                .map_err(map_err)
            }

            async fn host_update(c: &mut Conn, h: &Host) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE host SET name = $2, cl_id = $3, domain_id = (SELECT id FROM domain WHERE name = $4), data = $5 WHERE id = $1",
                )
                .bind(h.id)
                .bind(&h.name)
                .bind(&h.cl_id)
                .bind(h.superordinate.as_deref())
                .bind(to_json(h)?)
                .execute(&mut *c)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn host_delete(c: &mut Conn, id: i64) -> StoreResult<()> {
                sqlx::query("DELETE FROM host WHERE id = $1").bind(id).execute(&mut *c).await.map_err(map_err)?;
                Ok(())
            }

            pub async fn hosts_under(c: &mut Conn, domain: &str) -> StoreResult<Vec<Host>> {
                let rows = sqlx::query("SELECT h.id, h.data FROM host h JOIN domain d ON d.id = h.domain_id WHERE d.name = $1 ORDER BY h.name")
                    .bind(domain)
                    .fetch_all(&mut *c)
                    .await
                    .map_err(map_err)?;
                rows.iter().map(host_row).collect()
            }

            pub async fn contact_get(c: &mut Conn, handle: &str, lock: bool) -> StoreResult<Option<Contact>> {
                let sql = if lock {
                    concat!("SELECT id, data FROM contact WHERE handle = $1", $for_update)
                } else {
                    "SELECT id, data FROM contact WHERE handle = $1"
                };
                let Some(row) = sqlx::query(sql).bind(handle).fetch_optional(&mut *c).await.map_err(map_err)? else {
                    return Ok(None);
                };
                let id: i64 = row.try_get("id").map_err(map_err)?;
                let data: String = row.try_get("data").map_err(map_err)?;
                let mut ct: Contact = serde_json::from_str(&data).map_err(corrupt)?;
                ct.id = id;
                Ok(Some(ct))
            }

            async fn contact_insert(c: &mut Conn, ct: &Contact, next_due: Option<Timestamp>) -> StoreResult<i64> {
                sqlx::query_scalar("INSERT INTO contact (handle, cl_id, next_due, data) VALUES ($1, $2, $3, $4) RETURNING id")
                    .bind(&ct.handle)
                    .bind(&ct.cl_id)
                    .bind(micros(next_due))
                    .bind(to_json(ct)?)
                    .fetch_one(&mut *c)
                    .await
                    .map_err(map_err)
            }

            async fn contact_update(c: &mut Conn, ct: &Contact, next_due: Option<Timestamp>) -> StoreResult<()> {
                sqlx::query("UPDATE contact SET cl_id = $2, next_due = $3, data = $4 WHERE id = $1")
                    .bind(ct.id)
                    .bind(&ct.cl_id)
                    .bind(micros(next_due))
                    .bind(to_json(ct)?)
                    .execute(&mut *c)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn contact_delete(c: &mut Conn, id: i64) -> StoreResult<()> {
                sqlx::query("DELETE FROM contact WHERE id = $1").bind(id).execute(&mut *c).await.map_err(map_err)?;
                Ok(())
            }

            pub async fn contact_linked(c: &mut Conn, id: i64) -> StoreResult<bool> {
                let n: Option<i64> = sqlx::query_scalar("SELECT domain_id FROM domain_contact WHERE contact_id = $1 LIMIT 1")
                    .bind(id)
                    .fetch_optional(&mut *c)
                    .await
                    .map_err(map_err)?;
                Ok(n.is_some())
            }

            async fn poll_push(c: &mut Conn, m: &PollMessage) -> StoreResult<i64> {
                let payload = m.payload.as_ref().map(to_json).transpose()?;
                sqlx::query_scalar("INSERT INTO poll_message (cl_id, q_date, msg, payload) VALUES ($1, $2, $3, $4) RETURNING id")
                    .bind(&m.cl_id)
                    .bind(m.q_date)
                    .bind(&m.msg)
                    .bind(payload)
                    .fetch_one(&mut *c)
                    .await
                    .map_err(map_err)
            }

            async fn poll_count(c: &mut Conn, cl_id: &str) -> StoreResult<u64> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM poll_message WHERE cl_id = $1")
                    .bind(cl_id)
                    .fetch_one(&mut *c)
                    .await
                    .map_err(map_err)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            pub async fn poll_head(c: &mut Conn, cl_id: &str) -> StoreResult<Option<(PollMessage, u64)>> {
                let Some(row) = sqlx::query("SELECT id, q_date, msg, payload FROM poll_message WHERE cl_id = $1 ORDER BY id LIMIT 1")
                    .bind(cl_id)
                    .fetch_optional(&mut *c)
                    .await
                    .map_err(map_err)?
                else {
                    return Ok(None);
                };
                let payload: Option<String> = row.try_get("payload").map_err(map_err)?;
                let m = PollMessage {
                    id: row.try_get("id").map_err(map_err)?,
                    cl_id: cl_id.to_owned(),
                    q_date: row.try_get("q_date").map_err(map_err)?,
                    msg: row.try_get("msg").map_err(map_err)?,
                    payload: payload.as_deref().map(serde_json::from_str).transpose().map_err(corrupt)?,
                };
                let n = poll_count(c, cl_id).await?;
                Ok(Some((m, n)))
            }

            pub async fn poll_ack(c: &mut Conn, cl_id: &str, id: i64) -> StoreResult<Option<u64>> {
                let r = sqlx::query("DELETE FROM poll_message WHERE id = $1 AND cl_id = $2")
                    .bind(id)
                    .bind(cl_id)
                    .execute(&mut *c)
                    .await
                    .map_err(map_err)?;
                if r.rows_affected() == 0 {
                    return Ok(None);
                }
                poll_count(c, cl_id).await.map(Some)
            }

            // PostgreSQL writes a change's trail in one statement (`write_trail_pg`).
            #[allow(dead_code)]
            pub(crate) async fn history_append(c: &mut Conn, h: &HistoryEntry) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO object_history (object_type, object_key, roid, op, cl_id, source_ip, cert_fingerprint, cl_trid, sv_trid, at, before_state, after_state) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&h.object_type)
                .bind(&h.object_key)
                .bind(&h.roid)
                .bind(&h.op)
                .bind(&h.cl_id)
                .bind(&h.source_ip)
                .bind(&h.cert_fingerprint)
                .bind(&h.cl_trid)
                .bind(&h.sv_trid)
                .bind(h.at)
                .bind(&h.before)
                .bind(&h.after)
                .execute(&mut *c)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            /// Appends an entry without a position (`seq` NULL) and without any lock, so
            /// zone-changing commands no longer serialize on the journal: [`journal_since`]
            /// numbers the entry once it is committed.
            // PostgreSQL writes a change's trail in one statement (`write_trail_pg`).
            #[allow(dead_code)]
            pub(crate) async fn journal_append(c: &mut Conn, at: Timestamp, z: &ZoneChange) -> StoreResult<()> {
                let (kind, data) = journal_row(z)?;
                sqlx::query("INSERT INTO zone_journal (at, kind, name, data) VALUES ($1, $2, $3, $4)")
                    .bind(at)
                    .bind(kind)
                    .bind(z.name())
                    .bind(data)
                    .execute(&mut *c)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            /// Writes a checked change (see [`StoreTx::apply`]).
            pub async fn apply(c: &mut Conn, checked: &Checked) -> StoreResult<Applied> {
                let ch = checked.change();
                let who = &ch.who;
                let history = |object_type: &str, key: &str, roid: String, op: &str, before: Option<String>, after: Option<String>| HistoryEntry {
                    id: 0,
                    object_type: object_type.to_owned(),
                    object_key: key.to_owned(),
                    roid,
                    op: op.to_owned(),
                    cl_id: who.cl_id.clone(),
                    source_ip: who.source_ip.clone(),
                    cert_fingerprint: who.cert.clone(),
                    cl_trid: who.cl_trid.clone(),
                    sv_trid: who.sv_trid.clone(),
                    at: who.now,
                    before,
                    after,
                };
                let suffix = ch.roid_suffix.as_str();
                let mut applied = Applied::default();
                // History rows and journal entries are written last, together (one statement
                // on PostgreSQL), in the order they are made here.
                let mut trail: Vec<HistoryEntry> = Vec::with_capacity(ch.objects.len() + ch.notes.len());
                for w in &ch.objects {
                    let h = match w {
                        ObjectWrite::Domain(w) => {
                            let (id, key) = match (&w.before, &w.after) {
                                (None, Some(a)) => {
                                    let id = domain_insert(c, a, w.next_due).await?;
                                    applied.inserted.push(id);
                                    (id, &a.name)
                                }
                                (Some(b), Some(a)) => {
                                    domain_update(c, b, a, w.next_due).await?;
                                    (a.id, &a.name)
                                }
                                (Some(b), None) => {
                                    domain_purge(c, b.id).await?;
                                    (b.id, &b.name)
                                }
                                (None, None) => continue,
                            };
                            history("domain", key, roid('D', id, suffix), w.op, w.before.as_ref().map(redacted_json), w.after.as_ref().map(redacted_json))
                        }
                        ObjectWrite::Host(w) => {
                            let (id, key) = match (&w.before, &w.after) {
                                (None, Some(a)) => {
                                    let id = host_insert(c, a).await?;
                                    applied.inserted.push(id);
                                    (id, &a.name)
                                }
                                (Some(_), Some(a)) => {
                                    host_update(c, a).await?;
                                    (a.id, &a.name)
                                }
                                (Some(b), None) => {
                                    host_delete(c, b.id).await?;
                                    (b.id, &b.name)
                                }
                                (None, None) => continue,
                            };
                            history("host", key, roid('H', id, suffix), w.op, w.before.as_ref().map(redacted_json), w.after.as_ref().map(redacted_json))
                        }
                        ObjectWrite::Contact(w) => {
                            let (id, key) = match (&w.before, &w.after) {
                                (None, Some(a)) => {
                                    let id = contact_insert(c, a, w.next_due).await?;
                                    applied.inserted.push(id);
                                    (id, &a.handle)
                                }
                                (Some(_), Some(a)) => {
                                    contact_update(c, a, w.next_due).await?;
                                    (a.id, &a.handle)
                                }
                                (Some(b), None) => {
                                    contact_delete(c, b.id).await?;
                                    (b.id, &b.handle)
                                }
                                (None, None) => continue,
                            };
                            history("contact", key, roid('C', id, suffix), w.op, w.before.as_ref().map(redacted_json), w.after.as_ref().map(redacted_json))
                        }
                    };
                    trail.push(h);
                }
                match &ch.lock_request {
                    Some(LockRequestWrite::Insert(r)) => applied.lock_request_id = Some(lock_request_insert(c, r).await?),
                    Some(LockRequestWrite::Update(r)) => lock_request_update(c, r).await?,
                    None => {}
                }
                for n in &ch.notes {
                    trail.push(history(n.object_type, &n.object_key, n.roid.clone(), n.op, None, n.detail.clone()));
                }
                for p in &ch.polls {
                    poll_push(c, p).await?;
                }
                if let Some(id) = ch.cancel_code_mail {
                    outbox_cancel_codes(c, id).await?;
                }
                for m in &ch.mail {
                    outbox_push(c, m).await?;
                }
                super::$write_trail(c, &trail, who.now, checked.journal()).await?;
                Ok(applied)
            }

            pub async fn due(c: &mut Conn, table_domain: bool, now: Timestamp, limit: u32) -> StoreResult<Vec<String>> {
                let sql = if table_domain {
                    "SELECT name FROM domain WHERE next_due IS NOT NULL AND next_due <= $1 ORDER BY next_due LIMIT $2"
                } else {
                    "SELECT handle FROM contact WHERE next_due IS NOT NULL AND next_due <= $1 ORDER BY next_due LIMIT $2"
                };
                sqlx::query_scalar(sql).bind(now.timestamp_micros()).bind(i64::from(limit)).fetch_all(&mut *c).await.map_err(map_err)
            }

            pub async fn history(c: &mut Conn, t: &str, k: &str) -> StoreResult<Vec<HistoryEntry>> {
                let rows = sqlx::query(
                    "SELECT id, object_type, object_key, roid, op, cl_id, source_ip, cert_fingerprint, cl_trid, sv_trid, at, before_state, after_state \
                     FROM object_history WHERE object_type = $1 AND object_key = $2 ORDER BY id",
                )
                .bind(t)
                .bind(k)
                .fetch_all(&mut *c)
                .await
                .map_err(map_err)?;
                history_entries(&rows)
            }

            /// The lock rows the publisher check folds (index object_history_lock_delegation).
            pub async fn lock_history(c: &mut Conn) -> StoreResult<Vec<HistoryEntry>> {
                let rows = sqlx::query(
                    "SELECT id, object_type, object_key, roid, op, cl_id, source_ip, cert_fingerprint, cl_trid, sv_trid, at, before_state, after_state \
                     FROM object_history WHERE object_type = 'domain' AND op IN ('lock:delegation', 'lock:released') ORDER BY id",
                )
                .fetch_all(&mut *c)
                .await
                .map_err(map_err)?;
                history_entries(&rows)
            }

            fn history_entries(rows: &[<$db as sqlx::Database>::Row]) -> StoreResult<Vec<HistoryEntry>> {
                rows.iter()
                    .map(|r| {
                        Ok(HistoryEntry {
                            id: r.try_get("id").map_err(map_err)?,
                            object_type: r.try_get("object_type").map_err(map_err)?,
                            object_key: r.try_get("object_key").map_err(map_err)?,
                            roid: r.try_get("roid").map_err(map_err)?,
                            op: r.try_get("op").map_err(map_err)?,
                            cl_id: r.try_get("cl_id").map_err(map_err)?,
                            source_ip: r.try_get("source_ip").map_err(map_err)?,
                            cert_fingerprint: r.try_get("cert_fingerprint").map_err(map_err)?,
                            cl_trid: r.try_get("cl_trid").map_err(map_err)?,
                            sv_trid: r.try_get("sv_trid").map_err(map_err)?,
                            at: r.try_get("at").map_err(map_err)?,
                            before: r.try_get("before_state").map_err(map_err)?,
                            after: r.try_get("after_state").map_err(map_err)?,
                        })
                    })
                    .collect()
            }

            /// Entries with a position above `after`, in position order, at most `limit`; an
            /// entry's `id` here is its position (`seq`), not the row id.
            ///
            /// First it runs the sequencer: up to `limit` committed entries without a position
            /// get the next ones, after MAX(seq), in id order. Under READ COMMITTED the UPDATE
            /// sees only committed rows, so an entry still being written is skipped now and
            /// numbered by a later call, above everything numbered before: a reader that has
            /// seen position P never sees a new entry at or below P. The advisory lock (held for
            /// this short transaction only; commands never take it) keeps two sequencers from
            /// handing out the same numbers; the unique index on seq would refuse that anyway.
            /// Why id order is a safe order for what is committed (crates/zonegen/README.md,
            /// "Journal positions"): two entries of one object are written under that object's
            /// row lock (or its unique key), so the later one gets its id after the earlier one
            /// committed; whenever the later one is visible, so is the earlier, with a lower id.
            /// Entries of different objects need no mutual order (each is the whole state of its
            /// object), though id order also keeps every transaction after those it had seen.
            /// SQLite serializes writers, so there ids are in commit order anyway.
            pub async fn journal_since(c: &mut Conn, after: i64, limit: u32) -> StoreResult<Vec<JournalEntry>> {
                const SEQUENCE: &str = "UPDATE zone_journal AS j SET seq = n.seq \
                    FROM (SELECT id, (SELECT COALESCE(MAX(seq), 0) FROM zone_journal) + ROW_NUMBER() OVER (ORDER BY id) AS seq \
                          FROM (SELECT id FROM zone_journal WHERE seq IS NULL ORDER BY id LIMIT $1) AS u) AS n \
                    WHERE j.id = n.id";
                let pending: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM zone_journal WHERE seq IS NULL)")
                    .fetch_one(&mut *c)
                    .await
                    .map_err(map_err)?;
                if pending && limit > 0 {
                    let mut tx = sqlx::Connection::begin(&mut *c).await.map_err(map_err)?;
                    if $pg {
                        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(JOURNAL_LOCK).execute(&mut *tx).await.map_err(map_err)?;
                    }
                    sqlx::query(SEQUENCE).bind(i64::from(limit)).execute(&mut *tx).await.map_err(map_err)?;
                    tx.commit().await.map_err(map_err)?;
                }
                let rows = sqlx::query("SELECT seq, at, kind, name, data FROM zone_journal WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *c)
                    .await
                    .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        let kind: String = r.try_get("kind").map_err(map_err)?;
                        let name: String = r.try_get("name").map_err(map_err)?;
                        let data: String = r.try_get("data").map_err(map_err)?;
                        Ok(JournalEntry {
                            position: r.try_get("seq").map_err(map_err)?,
                            at: r.try_get("at").map_err(map_err)?,
                            change: journal_change(&kind, name, &data)?,
                        })
                    })
                    .collect()
            }
        }
    };
}

backend!(sq, sqlx::Sqlite, "", false, write_trail_sqlite);
backend!(pg, sqlx::Postgres, " FOR UPDATE", true, write_trail_pg);

/// SQLite: a change's history rows, then its journal entries, one statement each (local calls
/// on the writer connection).
async fn write_trail_sqlite(
    c: &mut sqlx::SqliteConnection,
    history: &[HistoryEntry],
    at: Timestamp,
    journal: &[ZoneChange],
) -> StoreResult<()> {
    for h in history {
        sq::history_append(c, h).await?;
    }
    for z in journal {
        sq::journal_append(c, at, z).await?;
    }
    Ok(())
}

/// PostgreSQL: a change's history rows and journal entries in one statement (arrays, one
/// round trip instead of one per row: on PostgreSQL a command's cost is its round trips).
/// History ids follow the order of `history` (`WITH ORDINALITY`).
async fn write_trail_pg(
    c: &mut sqlx::PgConnection,
    history: &[HistoryEntry],
    at: Timestamp,
    journal: &[ZoneChange],
) -> StoreResult<()> {
    if history.is_empty() && journal.is_empty() {
        return Ok(());
    }
    let mut kinds = Vec::with_capacity(journal.len());
    let mut names = Vec::with_capacity(journal.len());
    let mut data = Vec::with_capacity(journal.len());
    for z in journal {
        let (k, d) = journal_row(z)?;
        kinds.push(k);
        names.push(z.name());
        data.push(d);
    }
    let col = |f: fn(&HistoryEntry) -> &str| history.iter().map(f).collect::<Vec<&str>>();
    let opt = |f: fn(&HistoryEntry) -> Option<&str>| history.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "WITH journal AS (INSERT INTO zone_journal (at, kind, name, data) \
           SELECT $13, k, n, d FROM UNNEST($14::text[], $15::text[], $16::text[]) AS j(k, n, d)) \
         INSERT INTO object_history (object_type, object_key, roid, op, cl_id, source_ip, \
           cert_fingerprint, cl_trid, sv_trid, at, before_state, after_state) \
         SELECT t, k, r, o, cl, ip, fp, ct, st, a, b, af FROM UNNEST($1::text[], $2::text[], \
           $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
           $10::timestamptz[], $11::text[], $12::text[]) WITH ORDINALITY \
           AS u(t, k, r, o, cl, ip, fp, ct, st, a, b, af, ord) ORDER BY ord",
    )
    .bind(col(|h| &h.object_type))
    .bind(col(|h| &h.object_key))
    .bind(col(|h| &h.roid))
    .bind(col(|h| &h.op))
    .bind(col(|h| &h.cl_id))
    .bind(opt(|h| h.source_ip.as_deref()))
    .bind(opt(|h| h.cert_fingerprint.as_deref()))
    .bind(opt(|h| h.cl_trid.as_deref()))
    .bind(col(|h| &h.sv_trid))
    .bind(history.iter().map(|h| h.at).collect::<Vec<_>>())
    .bind(opt(|h| h.before.as_deref()))
    .bind(opt(|h| h.after.as_deref()))
    .bind(at)
    .bind(kinds)
    .bind(names)
    .bind(data)
    .execute(&mut *c)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// The registry's object store over a [`Db`]. Clones share the SQLite writer (see
/// [`crate::group_commit`]): make one per process and clone it.
#[derive(Debug, Clone)]
pub struct SqlStore {
    db: Db,
    /// SQLite only: the one connection all write transactions of this store run on.
    writer: Option<Arc<Writer>>,
    /// SQLite only: the connection `PRAGMA data_version` is read on (see
    /// [`crate::public`]); opened on first use, so only the public services pay for it.
    pub(crate) stamp_conn: Arc<tokio::sync::Mutex<Option<sqlx::SqliteConnection>>>,
}

impl SqlStore {
    pub fn new(db: Db) -> Self {
        let writer = match &db {
            Db::Sqlite(p) => Some(Writer::new(p.connect_options())),
            Db::Postgres(_) => None,
        };
        Self {
            db,
            writer,
            stamp_conn: Arc::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Counters of SQLite's group commit; `None` on PostgreSQL.
    pub fn group_commit_stats(&self) -> Option<GroupCommitStats> {
        self.writer.as_ref().map(|w| w.stats())
    }

    /// One pass of the history chain's sequencer ([`crate::chain`]), as a write transaction of
    /// this store. On SQLite it queues for the group-commit writer like any command: on a
    /// pooled connection of its own it would take SQLite's write lock while the writer sleeps
    /// in the busy handler, the stall group commit exists to remove (measured: host:update
    /// lost about a third of its throughput to the 1 s sequencer). Keep `limit` small: the
    /// pass holds the writer while it runs.
    pub async fn sequence_history(
        &self,
        limit: u32,
        late_before: Timestamp,
    ) -> StoreResult<crate::chain::SequenceReport> {
        let mut tx = self.begin(true).await?;
        let r = match &mut tx {
            SqlTx::SqliteWrite(t, _) => {
                let r = match t.conn() {
                    Ok(c) => crate::chain::sq::pass(c, limit, late_before).await,
                    Err(e) => Err(e),
                };
                t.note(r)
            }
            SqlTx::Postgres(t, _) => crate::chain::pg::pass(t, limit, late_before).await,
            SqlTx::Sqlite(_) => Err(StoreError::Backend("write in a read transaction".into())),
        }?;
        tx.commit().await?;
        Ok(r)
    }
}

/// One transaction of a [`SqlStore`]; dropped without commit, it rolls back.
#[derive(Debug)]
pub enum SqlTx {
    /// A read-only SQLite transaction on a pooled connection.
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// A SQLite write command: a savepoint in the writer's current batch.
    SqliteWrite(GroupTx, LockedUsers),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>, LockedUsers),
}

/// For the hosts a write transaction read for writing since its last `apply`: how many
/// registry-locked domains use each (`host.locked_users`, kept by triggers). Read with the row
/// lock that the host's write holds (on SQLite, under the single writer), the count cannot
/// drop under the transaction; a zero answers the delegation guard's "which locked domains use
/// these hosts" without a query. Cleared by `apply`, whose writes may change it.
#[derive(Debug, Default)]
pub struct LockedUsers(BTreeMap<i64, i64>);

impl LockedUsers {
    /// True when every host is known to have no locked user.
    fn none_for(&self, host_ids: &[i64]) -> bool {
        host_ids.iter().all(|id| self.0.get(id) == Some(&0))
    }
}

macro_rules! on_tx {
    ($self:ident, $f:ident ( $($a:expr),* )) => {
        on_tx!($self, sq, pg, $f($($a),*))
    };
    ($self:ident, $s:ident, $p:ident, $f:ident ( $($a:expr),* )) => {
        match $self {
            SqlTx::Sqlite(t) => $s::$f(&mut **t, $($a),*).await,
            SqlTx::SqliteWrite(t, _) => {
                let r = match t.conn() {
                    Ok(c) => $s::$f(c, $($a),*).await,
                    Err(e) => Err(e),
                };
                t.note(r)
            }
            SqlTx::Postgres(t, _) => $p::$f(&mut **t, $($a),*).await,
        }
    };
}

use crate::lock::{pg as lpg, sq as lsq};

macro_rules! on_pool {
    ($self:ident, $f:ident ( $($a:expr),* )) => {
        on_pool!($self, sq, pg, $f($($a),*))
    };
    ($self:ident, $s:ident, $p:ident, $f:ident ( $($a:expr),* )) => {
        match &$self.db {
            Db::Sqlite(p) => {
                let mut c = p.acquire().await.map_err(map_err)?;
                $s::$f(&mut c, $($a),*).await
            }
            Db::Postgres(p) => {
                let mut c = p.acquire().await.map_err(map_err)?;
                $p::$f(&mut c, $($a),*).await
            }
        }
    };
}

impl Store for SqlStore {
    type Tx = SqlTx;

    async fn begin(&self, write: bool) -> StoreResult<SqlTx> {
        match &self.db {
            Db::Sqlite(p) => match (&self.writer, write) {
                (Some(w), true) => Ok(SqlTx::SqliteWrite(w.begin().await?, LockedUsers::default())),
                (None, true) => Err(StoreError::Backend("SQLite store without a writer".into())),
                (_, false) => Ok(SqlTx::Sqlite(p.begin().await.map_err(map_err)?)),
            },
            Db::Postgres(p) => Ok(SqlTx::Postgres(
                p.begin().await.map_err(map_err)?,
                LockedUsers::default(),
            )),
        }
    }

    async fn domains_taken(&self, names: &[&str]) -> StoreResult<Vec<String>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        on_pool!(self, taken(Keyed::Domain, names))
    }

    async fn hosts_taken(&self, names: &[&str]) -> StoreResult<Vec<String>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        on_pool!(self, taken(Keyed::Host, names))
    }

    async fn contacts_taken(&self, handles: &[&str]) -> StoreResult<Vec<String>> {
        if handles.is_empty() {
            return Ok(Vec::new());
        }
        on_pool!(self, taken(Keyed::Contact, handles))
    }

    async fn due_domains(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<String>> {
        on_pool!(self, due(true, now, limit))
    }

    async fn due_contacts(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<String>> {
        on_pool!(self, due(false, now, limit))
    }

    async fn history(&self, object_type: &str, object_key: &str) -> StoreResult<Vec<HistoryEntry>> {
        on_pool!(self, history(object_type, object_key))
    }

    async fn lock_history(&self) -> StoreResult<Vec<HistoryEntry>> {
        on_pool!(self, lock_history())
    }

    async fn journal_since(&self, after: i64, limit: u32) -> StoreResult<Vec<JournalEntry>> {
        on_pool!(self, journal_since(after, limit))
    }

    async fn due_lock_requests(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<i64>> {
        on_pool!(self, lsq, lpg, due_lock_requests(now, limit))
    }

    async fn lock_requests(&self, open_only: bool, limit: u32) -> StoreResult<Vec<LockRequest>> {
        on_pool!(self, lsq, lpg, lock_requests(open_only, limit))
    }

    async fn outbox_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<OutboxMail>> {
        on_pool!(self, lsq, lpg, outbox_due(now, limit))
    }

    async fn outbox_for_request(&self, request_id: i64) -> StoreResult<Vec<OutboxMail>> {
        on_pool!(self, lsq, lpg, outbox_for_request(request_id))
    }
}

impl SqlStore {
    /// Sets (or replaces) a registrar's designated lock contact.
    pub async fn set_lock_contact(&self, contact: &LockContact, now: Timestamp) -> StoreResult<()> {
        on_pool!(self, lsq, lpg, set_lock_contact(contact, now))
    }

    /// A registrar's designated lock contact.
    pub async fn lock_contact(&self, cl_id: &str) -> StoreResult<Option<LockContact>> {
        on_pool!(self, lsq, lpg, lock_contact(cl_id))
    }
}

impl StoreTx for SqlTx {
    async fn commit(self) -> StoreResult<()> {
        match self {
            SqlTx::Sqlite(t) => t.commit().await.map_err(map_err),
            SqlTx::SqliteWrite(t, _) => t.commit().await,
            SqlTx::Postgres(t, _) => t.commit().await.map_err(map_err),
        }
    }

    /// On PostgreSQL the deadline is set on the database's own clock (its now plus `within`,
    /// so no clock skew matters) and checked at COMMIT by the deferred trigger of migration
    /// 0020; a COMMIT that a stalled server only reads after it fails and rolls back. SQLite
    /// runs in this process: its commit cannot outlive the command.
    async fn commit_within(self, within: std::time::Duration) -> StoreResult<()> {
        match self {
            SqlTx::Postgres(mut t, _) => {
                sqlx::query(
                    "SELECT set_config('epp.commit_by', (clock_timestamp() + make_interval(secs => $1))::text, true)",
                )
                .bind(within.as_secs_f64())
                .execute(&mut *t)
                .await
                .map_err(map_err)?;
                t.commit().await.map_err(map_err)
            }
            other => other.commit().await,
        }
    }

    async fn apply(&mut self, change: &Checked) -> StoreResult<Applied> {
        match self {
            SqlTx::Sqlite(_) => Err(StoreError::Backend("write in a read transaction".into())),
            SqlTx::SqliteWrite(_, m) | SqlTx::Postgres(_, m) => {
                m.0.clear();
                on_tx!(self, apply(change))
            }
        }
    }

    async fn domain_get(&mut self, name: &str, lock: bool) -> StoreResult<Option<Domain>> {
        on_tx!(self, domain_get(name, lock))
    }
    async fn domains_using_host(&mut self, host_id: i64) -> StoreResult<Vec<String>> {
        on_tx!(self, domains_using_host(host_id))
    }
    async fn domains_using_hosts(
        &mut self,
        host_ids: &[i64],
        locked_only: bool,
    ) -> StoreResult<Vec<String>> {
        if locked_only {
            if let SqlTx::SqliteWrite(_, m) | SqlTx::Postgres(_, m) = &*self {
                if m.none_for(host_ids) {
                    return Ok(Vec::new());
                }
            }
        }
        on_tx!(self, domains_using_hosts(host_ids, locked_only))
    }
    async fn host_get(&mut self, name: &str, lock: bool) -> StoreResult<Option<Host>> {
        let found = match self {
            SqlTx::SqliteWrite(t, m) if lock => {
                let r = match t.conn() {
                    Ok(c) => sq::host_get_counted(c, name).await,
                    Err(e) => Err(e),
                };
                (t.note(r)?, m)
            }
            SqlTx::Postgres(t, m) if lock => (pg::host_get_counted(t, name).await?, m),
            _ => return on_tx!(self, host_get(name, lock)),
        };
        Ok(match found {
            (Some((h, n)), m) => {
                m.0.insert(h.id, n);
                Some(h)
            }
            (None, _) => None,
        })
    }
    async fn hosts_named(&mut self, names: &[String]) -> StoreResult<Vec<Host>> {
        on_tx!(self, hosts_named(names))
    }
    async fn hosts_under(&mut self, domain: &str) -> StoreResult<Vec<Host>> {
        on_tx!(self, hosts_under(domain))
    }
    async fn contact_get(&mut self, handle: &str, lock: bool) -> StoreResult<Option<Contact>> {
        on_tx!(self, contact_get(handle, lock))
    }
    async fn contact_linked(&mut self, id: i64) -> StoreResult<bool> {
        on_tx!(self, contact_linked(id))
    }
    async fn poll_head(&mut self, cl_id: &str) -> StoreResult<Option<(PollMessage, u64)>> {
        on_tx!(self, poll_head(cl_id))
    }
    async fn poll_ack(&mut self, cl_id: &str, id: i64) -> StoreResult<Option<u64>> {
        on_tx!(self, poll_ack(cl_id, id))
    }
    async fn lock_contact(&mut self, cl_id: &str) -> StoreResult<Option<LockContact>> {
        on_tx!(self, lsq, lpg, lock_contact(cl_id))
    }
    async fn lock_request_get(&mut self, id: i64, lock: bool) -> StoreResult<Option<LockRequest>> {
        on_tx!(self, lsq, lpg, lock_request_get(id, lock))
    }
    async fn lock_request_open(&mut self, domain: &str) -> StoreResult<Option<LockRequest>> {
        on_tx!(self, lsq, lpg, lock_request_open(domain))
    }
    async fn outbox_claim(
        &mut self,
        id: i64,
        expected_next: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<bool> {
        on_tx!(self, lsq, lpg, outbox_claim(id, expected_next, lease_until))
    }
    async fn outbox_result(&mut self, m: &OutboxMail) -> StoreResult<()> {
        on_tx!(self, lsq, lpg, outbox_result(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_time_out_is_not_a_conflict() {
        // A conflict is retried; a database that gave no connection in time must not be.
        assert!(matches!(
            map_err(sqlx::Error::PoolTimedOut),
            StoreError::Backend(_)
        ));
        assert!(matches!(
            map_err(sqlx::Error::PoolClosed),
            StoreError::Backend(_)
        ));
    }
}
