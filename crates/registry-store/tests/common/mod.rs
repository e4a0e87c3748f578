//! Test harness: a fresh database per test (SQLite file; PostgreSQL database
//! `epp_t_<random>` when `EPP_TEST_PG_URL` is set), a [`ManualClock`] and command builders.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use epp_proto::contact::*;
use epp_proto::domain::*;
use epp_proto::host::*;
use epp_proto::*;
use registry_core::clock::ManualClock;
use registry_core::{Actor, Config, CoreError, Outcome, Registry};
use registry_store::{Db, SqlStore};

/// `both!(a, b)`: each async test `fn a(env: &Env)` run as `sqlite::a` and `postgres::a` (the
/// PostgreSQL variant returns early without `EPP_TEST_PG_URL`).
#[allow(unused_macros)]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let env = crate::common::sqlite_env().await;
                super::$name(&env).await;
                env.finish().await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(env) = crate::common::pg_env().await else { return };
                super::$name(&env).await;
                env.finish().await;
            })*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use both;

static SEQ: AtomicU64 = AtomicU64::new(0);

pub fn unique() -> String {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}_{}_{}", std::process::id(), t, n)
}

pub struct Env {
    pub reg: Registry<SqlStore>,
    pub clock: ManualClock,
    pub db: Db,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Pg { admin: String, name: String },
}

pub fn config() -> Config {
    let mut c = Config {
        tlds: vec!["test".into(), "co.test".into()],
        ..Config::default()
    };
    // The battery transfers domains it just created.
    c.secure_auth.transfer_lock_after_create_days = 0;
    c.secure_auth.transfer_lock_after_transfer_days = 0;
    c
}

pub async fn sqlite_env() -> Env {
    let path = std::env::temp_dir().join(format!("epp_t_{}.db", unique()));
    let url = format!("sqlite://{}", path.display());
    let db = Db::connect(&url, 4).await.unwrap();
    build(db, url, Cleanup::File(path))
}

/// `None` (skip) when `EPP_TEST_PG_URL` is unset, unless `CI=true`: then a missing or
/// unreachable server fails the test.
pub async fn pg_env() -> Option<Env> {
    let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
    let Ok(admin) = std::env::var("EPP_TEST_PG_URL") else {
        assert!(
            !ci,
            "CI=true but EPP_TEST_PG_URL is not set: PostgreSQL tests must run in CI"
        );
        eprintln!("EPP_TEST_PG_URL not set: skipping PostgreSQL variant");
        return None;
    };
    let name = format!("epp_t_{}", unique());
    let pool = sqlx::PgPool::connect(&admin)
        .await
        .expect("EPP_TEST_PG_URL unreachable");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let url = match admin.rsplit_once('/') {
        Some((base, _)) if base.contains("://") && base.len() > "postgres://".len() => {
            format!("{base}/{name}")
        }
        _ => format!("{admin}/{name}"),
    };
    let db = Db::connect(&url, 4).await.unwrap();
    Some(build(db, url, Cleanup::Pg { admin, name }))
}

fn build(db: Db, url: String, cleanup: Cleanup) -> Env {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2025, 1, 15, 12, 0, 0).unwrap());
    let reg = Registry::new(SqlStore::new(db.clone()), Arc::new(clock.clone()), config());
    Env {
        reg,
        clock,
        db,
        url,
        cleanup,
    }
}

impl Env {
    /// A second registry on the same database, as a second frontend process would have.
    pub async fn second_frontend(&self) -> Registry<SqlStore> {
        let db = Db::connect(&self.url, 4).await.unwrap();
        Registry::new(SqlStore::new(db), Arc::new(self.clock.clone()), config())
    }

    pub async fn finish(self) {
        self.db.close().await;
        match self.cleanup {
            Cleanup::File(p) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
                }
            }
            Cleanup::Pg { admin, name } => {
                let pool = sqlx::PgPool::connect(&admin).await.unwrap();
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
        }
    }

    pub async fn run(&self, cl: &str, cmd: Command) -> Result<Outcome, CoreError> {
        self.run_ext(cl, cmd, vec![]).await
    }

    pub async fn run_ext(
        &self,
        cl: &str,
        cmd: Command,
        extensions: Vec<ext::CommandExtension>,
    ) -> Result<Outcome, CoreError> {
        let frame = CommandFrame {
            command: cmd,
            extensions,
            cl_trid: Some(ClTrid::new("ABC-123").unwrap()),
        };
        self.reg.execute(&actor(cl), &frame).await
    }

    /// The result code of a command, success or failure.
    pub async fn code(&self, cl: &str, cmd: Command) -> u16 {
        code_of(self.run(cl, cmd).await)
    }

    pub async fn code_ext(&self, cl: &str, cmd: Command, ext: Vec<ext::CommandExtension>) -> u16 {
        code_of(self.run_ext(cl, cmd, ext).await)
    }

    pub fn advance_days(&self, d: i64) {
        self.clock.advance(chrono::Duration::days(d));
    }

    pub async fn domain_info(
        &self,
        cl: &str,
        name: &str,
    ) -> (Box<DomainInfoData>, Vec<ext::ResponseExtension>) {
        let out = self
            .run(
                cl,
                Command::Domain(DomainCommand::Info(DomainInfo {
                    name: hn(name),
                    hosts: HostsFilter::All,
                    auth_info: None,
                })),
            )
            .await
            .unwrap();
        match out.res_data {
            Some(ResponseData::DomainInfo(d)) => (d, out.extensions),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Contact `id`, host(s) and a domain sponsored by `cl`.
    pub async fn setup_domain(&self, cl: &str, name: &str) {
        let cid = format!("c-{}", &name.replace('.', "-")[..name.len().min(10)]);
        if self.code(cl, create_contact(&cid)).await != 1000 {
            // already there
        }
        assert_eq!(
            self.code(cl, create_domain(name, &cid, &[])).await,
            1000,
            "create {name}"
        );
    }
}

pub fn code_of(r: Result<Outcome, CoreError>) -> u16 {
    match r {
        Ok(o) => o.code.code(),
        Err(e) => e.result_code().code(),
    }
}

pub fn actor(cl: &str) -> Actor {
    Actor {
        cl_id: ClientId::new(cl).unwrap(),
        source_ip: "192.0.2.7".parse().unwrap(),
        cert_fingerprint: Some("ab".repeat(32)),
        cl_trid: Some(ClTrid::new("ABC-123").unwrap()),
        sv_trid: SvTrid::new(&format!("SV-{}", unique())).unwrap(),
    }
}

pub fn hn(s: &str) -> HostName {
    HostName::new(s).unwrap()
}

/// Appended to the battery's short authInfo names so that they pass the strength policy
/// (registry-core `secure_auth`).
pub const STRONG_SUFFIX: &str = "-Zq8#Kx3Vm9!Tr2Lw4$";

/// `pw` made strong (empty stays empty: "no authInfo").
pub fn strong(pw: &str) -> String {
    if pw.is_empty() {
        String::new()
    } else {
        format!("{pw}{STRONG_SUFFIX}")
    }
}

/// The authInfo [`strong`]`(pw)`: the same short name always gives the same value.
pub fn auth(pw: &str) -> AuthInfo {
    AuthInfo::new(&strong(pw), None).unwrap()
}

pub fn create_contact(id: &str) -> Command {
    Command::Contact(ContactCommand::Create(ContactCreate {
        id: ContactId::new(id).unwrap(),
        postal_info: vec![PostalInfo {
            info_type: PostalInfoType::Int,
            name: "John Doe".into(),
            org: Some("Example Inc.".into()),
            addr: Address {
                street: vec!["123 Example Dr.".into()],
                city: "Dulles".into(),
                sp: Some("VA".into()),
                pc: Some("20166-6503".into()),
                cc: "US".into(),
            },
        }],
        voice: Some(Phone {
            number: "+1.7035555555".into(),
            ext: None,
        }),
        fax: None,
        email: "jdoe@example.test".into(),
        auth_info: auth("2fooBAR"),
        disclose: None,
    }))
}

pub fn create_domain(name: &str, registrant: &str, ns: &[&str]) -> Command {
    Command::Domain(DomainCommand::Create(DomainCreate {
        name: hn(name),
        period: None,
        ns: if ns.is_empty() {
            None
        } else {
            Some(NameServers::HostObj(ns.iter().map(|n| hn(n)).collect()))
        },
        registrant: Some(ContactId::new(registrant).unwrap()),
        contacts: vec![],
        auth_info: auth("domainpw1"),
    }))
}

pub fn create_host(name: &str, addrs: &[&str]) -> Command {
    Command::Host(HostCommand::Create(HostCreate {
        name: hn(name),
        addrs: addrs.iter().map(|a| a.parse::<IpAddr>().unwrap()).collect(),
    }))
}

pub fn domain_update(name: &str) -> DomainUpdate {
    DomainUpdate {
        name: hn(name),
        add: DomainAddRem::default(),
        rem: DomainAddRem::default(),
        chg: None,
    }
}

pub fn upd(u: DomainUpdate) -> Command {
    Command::Domain(DomainCommand::Update(u))
}

pub fn add_status(name: &str, s: DomainStatus) -> Command {
    let mut u = domain_update(name);
    u.add.statuses.push(StatusEntry::new(s));
    upd(u)
}

pub fn rem_status(name: &str, s: DomainStatus) -> Command {
    let mut u = domain_update(name);
    u.rem.statuses.push(StatusEntry::new(s));
    upd(u)
}

pub fn delete_domain(name: &str) -> Command {
    Command::Domain(DomainCommand::Delete(hn(name)))
}

pub fn renew(name: &str, cur: chrono::NaiveDate, years: u8) -> Command {
    Command::Domain(DomainCommand::Renew(DomainRenew {
        name: hn(name),
        cur_exp_date: cur,
        period: Some(Period::years(years).unwrap()),
    }))
}

pub fn transfer(name: &str, op: TransferOp, pw: Option<&str>) -> Command {
    Command::Domain(DomainCommand::Transfer(DomainTransfer {
        op,
        name: hn(name),
        period: None,
        auth_info: pw.map(auth),
    }))
}

pub fn poll_req() -> Command {
    Command::Poll(session::Poll::Request)
}

pub fn poll_ack(id: &str) -> Command {
    Command::Poll(session::Poll::Acknowledge(MsgId::new(id).unwrap()))
}

fn test_who() -> registry_core::Who {
    registry_core::Who {
        cl_id: "test".into(),
        source_ip: None,
        cert: None,
        cl_trid: None,
        sv_trid: format!("TEST-{}", unique()),
        now: Utc::now(),
    }
}

fn store_error(e: CoreError) -> registry_core::StoreError {
    match e {
        CoreError::Store(e) => e,
        other => registry_core::StoreError::Backend(other.to_string()),
    }
}

/// Inserts a domain row the way every write goes: a change, through the delegation guard,
/// applied by the store. Returns the new row id.
pub async fn insert_domain<T: registry_core::StoreTx>(
    tx: &mut T,
    d: &registry_core::model::Domain,
) -> Result<i64, registry_core::StoreError> {
    let mut ch = registry_core::Change::new(&test_who(), "EPP");
    ch.domain("test:insert", None, Some(d.clone()));
    let checked = registry_core::guard::check(tx, ch)
        .await
        .map_err(store_error)?;
    Ok(tx.apply(&checked).await?.inserted[0])
}

/// Writes one journal entry for `name` carrying `version` (as the glue address
/// `10.v.v.v`): a glue change of an internal host whose row the test never created.
pub async fn journal_version<T: registry_core::StoreTx>(
    tx: &mut T,
    name: &str,
    version: u32,
) -> Result<(), registry_core::StoreError> {
    let t = Utc::now();
    let host = |addrs: Vec<IpAddr>| registry_core::model::Host {
        id: -1,
        name: name.to_owned(),
        superordinate: Some("journal.test".into()),
        cl_id: "test".into(),
        cr_id: "test".into(),
        cr_date: t,
        up_id: None,
        up_date: None,
        tr_date: None,
        addrs,
        statuses: Vec::new(),
    };
    let [_, b, c, d] = version.to_be_bytes();
    let addr = IpAddr::from([10, b, c, d]);
    let mut ch = registry_core::Change::new(&test_who(), "EPP");
    ch.host(
        "test:journal",
        Some(host(Vec::new())),
        Some(host(vec![addr])),
    );
    let checked = registry_core::guard::check(tx, ch)
        .await
        .map_err(store_error)?;
    tx.apply(&checked).await.map(drop)
}

/// The version [`journal_version`] wrote.
pub fn version_of(e: &registry_core::model::JournalEntry) -> u32 {
    match &e.change {
        registry_core::model::ZoneChange::Host { addrs, .. } => match addrs.first() {
            Some(IpAddr::V4(v4)) => u32::from_be_bytes(v4.octets()) & 0x00ff_ffff,
            _ => 0,
        },
        registry_core::model::ZoneChange::Domain { .. } => 0,
    }
}

/// `url` with its user replaced by `user` (no password: the tests' server trusts loopback).
pub fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}@{rest}")
}

impl Env {
    /// A registry over another connection to the same database (say, as another role).
    pub fn registry_on(&self, db: Db) -> Registry<SqlStore> {
        Registry::new(SqlStore::new(db), Arc::new(self.clock.clone()), config())
    }
}
