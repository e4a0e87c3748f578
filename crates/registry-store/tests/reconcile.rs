//! Reconciliation of the zone with the history (issue 13), on both backends: a registry run
//! through commands (hosts created, renamed, re-addressed; delegations changed and removed)
//! is fully explained; a delegation change written straight into the journal, and an NS link
//! removed straight from the object tables, are each reported with the domain named.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use epp_proto::domain::DomainStatus;
use epp_proto::host::{HostAddRem, HostCommand, HostUpdate};
use epp_proto::*;
use registry_core::reconcile::{
    reconcile, HistoryReplay, JournalFold, Reconciliation, Unexplained,
};
use registry_core::store::Store as _;
use registry_store::{chain, Db, SqlStore};

both!(commands_are_explained_writes_around_are_not);

async fn check(db: &Db) -> Reconciliation {
    let mut replay = HistoryReplay::new();
    for e in chain::entries(db, 0, 1_000_000).await.unwrap() {
        replay.push(&e);
    }
    let mut fold = JournalFold::default();
    for e in SqlStore::new(db.clone())
        .journal_since(0, 1_000_000)
        .await
        .unwrap()
    {
        fold.push(&e);
    }
    reconcile(replay, fold)
}

async fn sql(db: &Db, q: &str) {
    match db {
        Db::Sqlite(p) => sqlx::query(q).execute(p).await.map(drop),
        Db::Postgres(p) => sqlx::query(q).execute(p).await.map(drop),
    }
    .unwrap_or_else(|e| panic!("{q}: {e}"));
}

fn host_update(name: &str, add: &[&str], rem: &[&str], new_name: Option<&str>) -> Command {
    let addrs = |v: &[&str]| v.iter().map(|a| a.parse().unwrap()).collect();
    Command::Host(HostCommand::Update(HostUpdate {
        name: hn(name),
        add: HostAddRem {
            addrs: addrs(add),
            statuses: vec![],
        },
        rem: HostAddRem {
            addrs: addrs(rem),
            statuses: vec![],
        },
        new_name: new_name.map(hn),
    }))
}

fn set_ns(name: &str, add: &[&str], rem: &[&str]) -> Command {
    let mut u = domain_update(name);
    let ns = |v: &[&str]| {
        (!v.is_empty()).then(|| domain::NameServers::HostObj(v.iter().map(|n| hn(n)).collect()))
    };
    u.add.ns = ns(add);
    u.rem.ns = ns(rem);
    upd(u)
}

async fn commands_are_explained_writes_around_are_not(env: &Env) {
    let r = "registrarA";
    assert_eq!(env.code(r, create_contact("rc1")).await, 1000);
    assert_eq!(
        env.code(r, create_domain("alpha.test", "rc1", &[])).await,
        1000
    );
    assert_eq!(
        env.code(r, create_domain("beta.test", "rc1", &[])).await,
        1000
    );
    assert_eq!(
        env.code(r, create_host("ns1.alpha.test", &["192.0.2.1"]))
            .await,
        1000
    );
    assert_eq!(
        env.code(r, create_host("ns2.alpha.test", &["192.0.2.2"]))
            .await,
        1000
    );
    assert_eq!(
        env.code(r, create_host("ns.other.example", &[])).await,
        1000
    );
    assert_eq!(
        env.code(
            r,
            set_ns("alpha.test", &["ns1.alpha.test", "ns.other.example"], &[])
        )
        .await,
        1000
    );
    assert_eq!(
        env.code(
            r,
            set_ns("beta.test", &["ns1.alpha.test", "ns2.alpha.test"], &[])
        )
        .await,
        1000
    );
    // Renamed after the domains' last writes: the zone follows the host, and so must the replay.
    assert_eq!(
        env.code(
            r,
            host_update(
                "ns1.alpha.test",
                &["192.0.2.11"],
                &["192.0.2.1"],
                Some("ns3.alpha.test")
            )
        )
        .await,
        1000
    );
    assert_eq!(
        env.code(r, set_ns("beta.test", &[], &["ns2.alpha.test"]))
            .await,
        1000
    );
    assert_eq!(
        env.code(r, add_status("alpha.test", DomainStatus::ClientHold))
            .await,
        1000
    );
    assert_eq!(
        env.code(r, rem_status("alpha.test", DomainStatus::ClientHold))
            .await,
        1000
    );

    let ok = check(&env.db).await;
    assert!(ok.unexplained.is_empty(), "{:#?}", ok.unexplained);
    assert_eq!(ok.delegations, 2, "{ok:?}");

    // An NS link removed straight from the object tables: the zone does not move yet, but the
    // next command's history row starts from a state no row left: a gap, named.
    sql(
        &env.db,
        "DELETE FROM domain_ns WHERE domain_id = (SELECT id FROM domain WHERE name = 'alpha.test') \
         AND host_id = (SELECT id FROM host WHERE name = 'ns.other.example')",
    )
    .await;
    assert_eq!(
        env.code(
            r,
            add_status("alpha.test", DomainStatus::ClientTransferProhibited)
        )
        .await,
        1000
    );
    let gap = check(&env.db).await;
    assert!(
        gap.unexplained
            .iter()
            .any(|u| matches!(u, Unexplained::Gap { object, .. } if object == "domain alpha.test")),
        "{:#?}",
        gap.unexplained
    );

    // A delegation written straight into the journal (what the publisher would publish).
    let q =
        "INSERT INTO zone_journal (at, kind, name, data) VALUES ($1, 'domain', 'beta.test', $2)";
    let data = r#"{"in_zone":true,"ns":["ns.evil.example"],"ds":[]}"#;
    let now = chrono::Utc::now();
    match &env.db {
        Db::Sqlite(p) => sqlx::query(q)
            .bind(now)
            .bind(data)
            .execute(p)
            .await
            .map(drop),
        Db::Postgres(p) => sqlx::query(q)
            .bind(now)
            .bind(data)
            .execute(p)
            .await
            .map(drop),
    }
    .unwrap();
    let forged = check(&env.db).await;
    let hit = forged
        .unexplained
        .iter()
        .find(|u| matches!(u, Unexplained::Delegation { domain, .. } if domain == "beta.test"))
        .unwrap_or_else(|| panic!("{:#?}", forged.unexplained));
    assert!(hit.to_string().contains("ns.evil.example"), "{hit}");
}
