//! registry-core's [`PublicStore`] (the read port of RDAP) over [`SqlStore`]'s pool.
//!
//! Each lookup is one statement: a domain comes back with its name servers' and contacts'
//! documents aggregated as JSON arrays, its registrar and the time of its last history row,
//! so that a `/domain` query is one round trip to the database. Nothing here writes.
//!
//! Searches use indexes added for them (migration 0015): names are compared byte-wise
//! (`COLLATE "C"` on PostgreSQL, whose default collation may not order `-` and digits as
//! bytes; SQLite's BINARY already does), and addresses are looked up in `host_addr`, which
//! triggers keep in step with each host's document.

use std::net::IpAddr;

use epp_proto::Timestamp;
use registry_core::model::{Contact, Domain, Host};
use registry_core::public::{
    ContactRecord, DomainRecord, DomainRow, HostRecord, PublicStore, RegistrarRecord,
};
use registry_core::store::{StoreError, StoreResult};
use serde::Deserialize;
use sqlx::Row;

use crate::db::Db;
use crate::objects::{map_err, SqlStore};

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Backend(format!("corrupt object document: {e}"))
}

/// One element of an aggregated array: a row id and its document.
#[derive(Deserialize)]
struct IdDoc<T> {
    id: i64,
    data: T,
}

fn docs<T: serde::de::DeserializeOwned>(
    json: &str,
    set_id: impl Fn(&mut T, i64),
) -> StoreResult<Vec<T>> {
    let v: Vec<IdDoc<T>> = serde_json::from_str(json).map_err(corrupt)?;
    Ok(v.into_iter()
        .map(|d| {
            let mut t = d.data;
            set_id(&mut t, d.id);
            t
        })
        .collect())
}

fn doc<T: serde::de::DeserializeOwned>(data: &str) -> StoreResult<T> {
    serde_json::from_str(data).map_err(corrupt)
}

fn registrar(cl_id: &str, name: Option<String>, status: Option<String>) -> Option<RegistrarRecord> {
    name.map(|name| RegistrarRecord {
        cl_id: cl_id.to_owned(),
        name,
        active: status.as_deref() == Some("active"),
    })
}

/// The exclusive upper bound of the names starting with `prefix`: its last character
/// incremented. Names are lowercase LDH, so no character is at the top of its range.
fn prefix_end(prefix: &str) -> String {
    let mut s = prefix.to_owned();
    match s.pop() {
        Some(c) => s.push(char::from_u32(u32::from(c) + 1).unwrap_or(char::MAX)),
        None => s.push(char::MAX),
    }
    s
}

/// The statements; `{AGG}`-style differences are spelled out per backend.
mod sql {
    /// The last change recorded in the history of the object in the outer query.
    macro_rules! last_changed {
        ($t:literal, $key:literal) => {
            concat!(
                "(SELECT at FROM object_history WHERE object_type = '",
                $t,
                "' AND object_key = ",
                $key,
                " ORDER BY id DESC LIMIT 1) AS last_changed"
            )
        };
    }

    macro_rules! host_select {
        () => {
            concat!(
                "SELECT h.id, h.data, h.cl_id, EXISTS (SELECT 1 FROM domain_ns n WHERE n.host_id = h.id) AS linked, \
                 r.name AS r_name, r.status AS r_status, ",
                last_changed!("host", "h.name"),
                " FROM host h LEFT JOIN registrar r ON r.cl_id = h.cl_id "
            )
        };
    }

    pub const HOST: &str = concat!(host_select!(), "WHERE h.name = $1");
    pub const CONTACT: &str = concat!(
        "SELECT c.id, c.data, c.cl_id, EXISTS (SELECT 1 FROM domain_contact dc WHERE dc.contact_id = c.id) AS linked, \
         r.name AS r_name, r.status AS r_status, ",
        last_changed!("contact", "c.handle"),
        " FROM contact c LEFT JOIN registrar r ON r.cl_id = c.cl_id WHERE c.id = $1"
    );
    pub const REGISTRAR: &str = "SELECT cl_id, name, status FROM registrar WHERE cl_id = $1";

    pub mod sq {
        pub const DOMAIN: &str = concat!(
            "SELECT d.id, d.data, d.cl_id, \
             (SELECT json_group_array(json_object('id', h.id, 'data', json(h.data))) \
              FROM domain_ns n JOIN host h ON h.id = n.host_id WHERE n.domain_id = d.id) AS hosts, \
             (SELECT json_group_array(json_object('id', c.id, 'data', json(c.data))) FROM contact c \
              WHERE c.id IN (SELECT dc.contact_id FROM domain_contact dc WHERE dc.domain_id = d.id)) AS contacts, \
             r.name AS r_name, r.status AS r_status, ",
            last_changed!("domain", "d.name"),
            " FROM domain d LEFT JOIN registrar r ON r.cl_id = d.cl_id WHERE d.name = $1"
        );
        pub const DOMAINS_BY_PREFIX: &str = concat!(
            "SELECT d.id, d.data, ",
            last_changed!("domain", "d.name"),
            " FROM domain d WHERE d.name >= $1 AND d.name < $2 AND d.name > $3 \
             AND ($4 = '' OR substr(d.name, -length($4)) = $4) ORDER BY d.name LIMIT $5"
        );
        pub const HOSTS_BY_ADDR: &str = concat!(
            host_select!(),
            "WHERE h.id IN (SELECT a.host_id FROM host_addr a WHERE a.addr = $1) AND h.name > $2 \
             ORDER BY h.name LIMIT $3"
        );
    }

    pub mod pg {
        pub const DOMAIN: &str = concat!(
            "SELECT d.id, d.data, d.cl_id, \
             (SELECT COALESCE(json_agg(json_build_object('id', h.id, 'data', h.data::json)), '[]'::json)::text \
              FROM domain_ns n JOIN host h ON h.id = n.host_id WHERE n.domain_id = d.id) AS hosts, \
             (SELECT COALESCE(json_agg(json_build_object('id', c.id, 'data', c.data::json)), '[]'::json)::text \
              FROM contact c WHERE c.id IN (SELECT dc.contact_id FROM domain_contact dc WHERE dc.domain_id = d.id)) AS contacts, \
             r.name AS r_name, r.status AS r_status, ",
            last_changed!("domain", "d.name"),
            " FROM domain d LEFT JOIN registrar r ON r.cl_id = d.cl_id WHERE d.name = $1"
        );
        pub const DOMAINS_BY_PREFIX: &str = concat!(
            "SELECT d.id, d.data, ",
            last_changed!("domain", "d.name"),
            " FROM domain d WHERE d.name COLLATE \"C\" >= $1 AND d.name COLLATE \"C\" < $2 \
             AND d.name COLLATE \"C\" > $3 AND ($4 = '' OR right(d.name, length($4)) = $4) \
             ORDER BY d.name COLLATE \"C\" LIMIT $5"
        );
        pub const HOSTS_BY_ADDR: &str = concat!(
            host_select!(),
            "WHERE h.id IN (SELECT a.host_id FROM host_addr a WHERE a.addr = $1) \
             AND h.name COLLATE \"C\" > $2 ORDER BY h.name COLLATE \"C\" LIMIT $3"
        );
    }
}

macro_rules! backend {
    ($m:ident, $db:ty, $s:ident) => {
        mod $m {
            use super::*;
            type Conn = <$db as sqlx::Database>::Connection;
            type DbRow = <$db as sqlx::Database>::Row;

            fn host_record(row: &DbRow) -> StoreResult<HostRecord> {
                let cl_id: String = row.try_get("cl_id").map_err(map_err)?;
                let mut host: Host = doc(&row.try_get::<String, _>("data").map_err(map_err)?)?;
                host.id = row.try_get("id").map_err(map_err)?;
                Ok(HostRecord {
                    host,
                    linked: row.try_get("linked").map_err(map_err)?,
                    sponsor: registrar(
                        &cl_id,
                        row.try_get("r_name").map_err(map_err)?,
                        row.try_get("r_status").map_err(map_err)?,
                    ),
                    last_changed: row
                        .try_get::<Option<Timestamp>, _>("last_changed")
                        .map_err(map_err)?,
                })
            }

            pub async fn domain(c: &mut Conn, name: &str) -> StoreResult<Option<DomainRecord>> {
                let Some(row) = sqlx::query(sql::$s::DOMAIN)
                    .bind(name)
                    .fetch_optional(&mut *c)
                    .await
                    .map_err(map_err)?
                else {
                    return Ok(None);
                };
                let mut domain: Domain =
                    doc(&row.try_get::<String, _>("data").map_err(map_err)?)?;
                domain.id = row.try_get("id").map_err(map_err)?;
                let hosts: Vec<Host> = docs(
                    &row.try_get::<String, _>("hosts").map_err(map_err)?,
                    |h: &mut Host, id| h.id = id,
                )?;
                // The links are the truth (a host rename shows without touching the domain).
                let mut ns: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
                ns.sort();
                domain.ns = ns;
                let contacts: Vec<Contact> = docs(
                    &row.try_get::<String, _>("contacts").map_err(map_err)?,
                    |c: &mut Contact, id| c.id = id,
                )?;
                let cl_id: String = row.try_get("cl_id").map_err(map_err)?;
                Ok(Some(DomainRecord {
                    domain,
                    hosts,
                    contacts,
                    sponsor: registrar(
                        &cl_id,
                        row.try_get("r_name").map_err(map_err)?,
                        row.try_get("r_status").map_err(map_err)?,
                    ),
                    last_changed: row
                        .try_get::<Option<Timestamp>, _>("last_changed")
                        .map_err(map_err)?,
                }))
            }

            pub async fn host(c: &mut Conn, name: &str) -> StoreResult<Option<HostRecord>> {
                let row = sqlx::query(sql::HOST)
                    .bind(name)
                    .fetch_optional(&mut *c)
                    .await
                    .map_err(map_err)?;
                row.as_ref().map(host_record).transpose()
            }

            pub async fn contact(c: &mut Conn, id: i64) -> StoreResult<Option<ContactRecord>> {
                let Some(row) = sqlx::query(sql::CONTACT)
                    .bind(id)
                    .fetch_optional(&mut *c)
                    .await
                    .map_err(map_err)?
                else {
                    return Ok(None);
                };
                let cl_id: String = row.try_get("cl_id").map_err(map_err)?;
                let mut contact: Contact =
                    doc(&row.try_get::<String, _>("data").map_err(map_err)?)?;
                contact.id = row.try_get("id").map_err(map_err)?;
                Ok(Some(ContactRecord {
                    contact,
                    linked: row.try_get("linked").map_err(map_err)?,
                    sponsor: registrar(
                        &cl_id,
                        row.try_get("r_name").map_err(map_err)?,
                        row.try_get("r_status").map_err(map_err)?,
                    ),
                    last_changed: row
                        .try_get::<Option<Timestamp>, _>("last_changed")
                        .map_err(map_err)?,
                }))
            }

            pub async fn registrar_by_id(
                c: &mut Conn,
                cl_id: &str,
            ) -> StoreResult<Option<RegistrarRecord>> {
                let Some(row) = sqlx::query(sql::REGISTRAR)
                    .bind(cl_id)
                    .fetch_optional(&mut *c)
                    .await
                    .map_err(map_err)?
                else {
                    return Ok(None);
                };
                Ok(registrar(
                    &row.try_get::<String, _>("cl_id").map_err(map_err)?,
                    row.try_get("name").map_err(map_err)?,
                    row.try_get("status").map_err(map_err)?,
                ))
            }

            pub async fn domains_by_prefix(
                c: &mut Conn,
                prefix: &str,
                suffix: Option<&str>,
                after: Option<&str>,
                limit: u32,
            ) -> StoreResult<Vec<DomainRow>> {
                let rows = sqlx::query(sql::$s::DOMAINS_BY_PREFIX)
                    .bind(prefix)
                    .bind(prefix_end(prefix))
                    .bind(after.unwrap_or(""))
                    .bind(suffix.unwrap_or(""))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *c)
                    .await
                    .map_err(map_err)?;
                rows.iter()
                    .map(|row| {
                        let mut domain: Domain =
                            doc(&row.try_get::<String, _>("data").map_err(map_err)?)?;
                        domain.id = row.try_get("id").map_err(map_err)?;
                        Ok(DomainRow {
                            domain,
                            last_changed: row
                                .try_get::<Option<Timestamp>, _>("last_changed")
                                .map_err(map_err)?,
                        })
                    })
                    .collect()
            }

            pub async fn hosts_by_addr(
                c: &mut Conn,
                addr: IpAddr,
                after: Option<&str>,
                limit: u32,
            ) -> StoreResult<Vec<HostRecord>> {
                let rows = sqlx::query(sql::$s::HOSTS_BY_ADDR)
                    .bind(addr.to_string())
                    .bind(after.unwrap_or(""))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *c)
                    .await
                    .map_err(map_err)?;
                rows.iter().map(host_record).collect()
            }
        }
    };
}

backend!(sq_public, sqlx::Sqlite, sq);
backend!(pg_public, sqlx::Postgres, pg);

macro_rules! on_pool {
    ($self:ident, $f:ident ( $($a:expr),* )) => {
        match $self.db() {
            Db::Sqlite(p) => {
                let mut c = p.acquire().await.map_err(map_err)?;
                sq_public::$f(&mut c, $($a),*).await
            }
            Db::Postgres(p) => {
                let mut c = p.acquire().await.map_err(map_err)?;
                pg_public::$f(&mut c, $($a),*).await
            }
        }
    };
}

impl PublicStore for SqlStore {
    async fn public_change_stamp(&self) -> StoreResult<String> {
        match self.db() {
            // `data_version` is per connection and moves whenever another connection (of
            // this or any process) commits, so it must be read on one connection that
            // never writes: its own, kept for the purpose.
            Db::Sqlite(p) => {
                use sqlx::Connection;
                let mut slot = self.stamp_conn.lock().await;
                if slot.is_none() {
                    let conn = sqlx::SqliteConnection::connect_with(&p.connect_options())
                        .await
                        .map_err(map_err)?;
                    *slot = Some(conn);
                }
                let Some(conn) = slot.as_mut() else {
                    return Err(StoreError::Backend("no stamp connection".into()));
                };
                let r: Result<i64, _> = sqlx::query_scalar("PRAGMA data_version")
                    .fetch_one(&mut *conn)
                    .await;
                match r {
                    Ok(v) => Ok(v.to_string()),
                    Err(e) => {
                        // A broken connection is replaced on the next reading.
                        *slot = None;
                        Err(map_err(e))
                    }
                }
            }
            // The snapshot (xmin, xmax, transactions in progress) changes whenever a
            // transaction becomes visible or a writing one starts: equal snapshots see the
            // same data. (The WAL position would not do: a commit's WAL record is written
            // before the commit becomes visible, so a reading could pair an old answer with
            // the new position.) Transactions on other databases of the cluster move it too,
            // which only costs a cache refill.
            Db::Postgres(p) => sqlx::query_scalar("SELECT pg_current_snapshot()::text")
                .fetch_one(p)
                .await
                .map_err(map_err),
        }
    }

    async fn public_domain(&self, name: &str) -> StoreResult<Option<DomainRecord>> {
        on_pool!(self, domain(name))
    }

    async fn public_host(&self, name: &str) -> StoreResult<Option<HostRecord>> {
        on_pool!(self, host(name))
    }

    async fn public_contact(&self, id: i64) -> StoreResult<Option<ContactRecord>> {
        on_pool!(self, contact(id))
    }

    async fn public_registrar(&self, cl_id: &str) -> StoreResult<Option<RegistrarRecord>> {
        on_pool!(self, registrar_by_id(cl_id))
    }

    async fn public_domains_by_prefix(
        &self,
        prefix: &str,
        suffix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<DomainRow>> {
        on_pool!(self, domains_by_prefix(prefix, suffix, after, limit))
    }

    async fn public_hosts_by_addr(
        &self,
        addr: IpAddr,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<HostRecord>> {
        on_pool!(self, hosts_by_addr(addr, after, limit))
    }
}

/// Opens a database for a read-only service: no migrations are run (the service's database
/// role may be allowed to read only), and the schema must already be at the version this
/// build knows, which `eppd` or `registry-admin` bring it to. SQLite connections are
/// `query_only`;
/// PostgreSQL sessions are set to read-only transactions and get a statement timeout.
pub async fn open_read_only(
    url: &str,
    max_connections: u32,
    statement_timeout_ms: u32,
) -> Result<Db, ReadOnlyError> {
    use std::str::FromStr;
    use std::time::Duration;

    let db = if url.starts_with("sqlite:") {
        // `query_only` rather than a read-only open: a read-only connection cannot open a
        // WAL database whose -shm file is gone (no writer has it open), and it refuses
        // writes just the same.
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .map_err(ReadOnlyError::Sqlx)?
            .create_if_missing(false)
            .pragma("query_only", "ON")
            .busy_timeout(Duration::from_millis(u64::from(
                statement_timeout_ms.max(1),
            )));
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .test_before_acquire(false)
            .connect_with(opts)
            .await
            .map_err(ReadOnlyError::Sqlx)?;
        Db::Sqlite(pool)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let timeout = statement_timeout_ms;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute(
                        format!(
                            "SET default_transaction_read_only = on; SET statement_timeout = {timeout}"
                        )
                        .as_str(),
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(ReadOnlyError::Sqlx)?;
        Db::Postgres(pool)
    } else {
        return Err(ReadOnlyError::UnsupportedUrl(url.to_owned()));
    };
    let migrator = match &db {
        Db::Sqlite(_) => sqlx::migrate!("./migrations/sqlite"),
        Db::Postgres(_) => sqlx::migrate!("./migrations/postgres"),
    };
    let expected = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Option<i64> = match &db {
        Db::Sqlite(p) => {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(p)
                .await
        }
        Db::Postgres(p) => {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(p)
                .await
        }
    }
    .map_err(|_| ReadOnlyError::NotMigrated {
        applied: 0,
        expected,
    })?;
    let applied = applied.unwrap_or(0);
    if applied < expected {
        return Err(ReadOnlyError::NotMigrated { applied, expected });
    }
    Ok(db)
}

#[derive(Debug, thiserror::Error)]
pub enum ReadOnlyError {
    #[error("unsupported database URL {0:?}: expected sqlite:… or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Sqlx(sqlx::Error),
    #[error(
        "the database schema is at migration {applied}, this build needs {expected}: \
         start eppd (or run registry-admin) on it once to migrate it"
    )]
    NotMigrated { applied: i64, expected: i64 },
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_bounds_cover_exactly_the_names_with_the_prefix() {
        let end = prefix_end("exa");
        assert_eq!(end, "exb");
        for name in ["exa", "exa.test", "exaz-1.test", "exa9.test"] {
            assert!(name >= "exa" && name < end.as_str(), "{name}");
        }
        for name in ["ex.test", "exb.test", "ex-a.test"] {
            assert!(!(name >= "exa" && name < end.as_str()), "{name}");
        }
        assert_eq!(prefix_end("a-"), "a.");
    }
}
