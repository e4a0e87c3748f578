//! Concurrent creates through two frontends on one PostgreSQL database: two servers (each
//! with its own pool, registry core and handler), 20 sessions spread over both, 1,000 domain
//! creates over 100 names. Exactly 100 domains must exist, every other answer must be 2302,
//! and the object history and the delegation journal must agree: one create row per domain
//! (every create names a name server, so every domain is delegated).
//! PostgreSQL only (`EPP_TEST_PG_URL`; skipped locally without it, a failure when `CI=true`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use registry_core::clock::ManualClock;
use registry_store::Db;
use support::core::*;
use support::*;

const FRONTENDS: usize = 2;
const SESSIONS: usize = 20;
const CREATES: usize = 1000;
const NAMES: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_frontends_create_storm() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    init_tracing();
    let test_db = TestDb::create(&backend).await;
    let pki = Arc::new(Pki::new());
    let clock = ManualClock::new(chrono::Utc::now());
    let frames = Frames::default();

    // Two frontends, each with its own pool, registry and handler.
    let mut servers = Vec::new();
    let mut pools = Vec::new();
    for _ in 0..FRONTENDS {
        let db = Db::connect(&test_db.url, 12).await.expect("pool");
        let registry = registry_on(
            &db,
            Arc::new(clock.clone()),
            registry_core::Config::default(),
        );
        let mut config = test_config(&pki, &test_db.url);
        config.timeouts.idle_ms = 60_000;
        let server = Frontend::start(
            config,
            db.clone(),
            Arc::new(eppd::core_handler::CoreHandler::new(registry)),
            Arc::new(clock.clone()),
        )
        .await;
        servers.push(server);
        pools.push(db);
    }

    // Registrars and one contact each, made through the first frontend.
    let env = Env {
        backend: backend.clone(),
        db: test_db.db.clone(),
        db_url: test_db.url.clone(),
        pki: pki.clone(),
        clock: clock.clone(),
        config: test_config(&pki, &test_db.url),
        addr: servers[0].addr,
        server: None,
    };
    let mut regs = Vec::new();
    for i in 0..4 {
        let cl_id = format!("race-{i}");
        let id = pki.client(&cl_id);
        env.add_registrar(RegistrarSpec {
            cl_id: &cl_id,
            password: PW,
            certs: vec![id.fingerprint],
            networks: vec!["127.0.0.1/32"],
            max_sessions: 25,
        })
        .await;
        regs.push(Reg {
            cl_id,
            identity: Arc::new(id),
        });
    }

    // Open the sessions first so the storm is all creates.
    let mut sessions = Vec::new();
    for i in 0..SESSIONS {
        let reg = &regs[i % regs.len()];
        let addr = servers[i % FRONTENDS].addr;
        let client = Client::connect(addr, LOCAL, &pki, Some(&reg.identity))
            .await
            .expect("connect");
        let mut s = Session::login(client, reg, &[SEC_DNS_NS, RGP_NS], frames.clone()).await;
        if i < regs.len() {
            s.cmd(contact_create(&format!("{}-c", reg.cl_id), "contact-pw"))
                .await
                .ok();
        }
        if i == 0 {
            s.cmd(host_create("ns1.example.net", &[])).await.ok();
        }
        sessions.push(s);
    }

    let start = Arc::new(tokio::sync::Barrier::new(SESSIONS));
    let mut tasks = Vec::new();
    for (i, mut s) in sessions.into_iter().enumerate() {
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut answers = Vec::new();
            for k in 0..CREATES / SESSIONS {
                // Sessions walk the names in different orders, so every name is contended.
                let name = format!("race{:03}.test", (k * 7 + i * 13) % NAMES);
                let registrant = format!("{}-c", s.cl_id);
                let r = s
                    .cmd(domain_create(
                        &name,
                        &registrant,
                        &["ns1.example.net"],
                        "dom-pw-1",
                    ))
                    .await;
                answers.push((name, s.cl_id.clone(), r.code));
            }
            answers
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.extend(
            tokio::time::timeout(std::time::Duration::from_secs(300), t)
                .await
                .expect("storm finishes within 300 s")
                .expect("session task"),
        );
    }
    assert_eq!(answers.len(), CREATES);

    let mut won: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut codes: BTreeMap<u16, usize> = BTreeMap::new();
    for (name, cl_id, code) in &answers {
        *codes.entry(*code).or_default() += 1;
        if *code == 1000 {
            won.entry(name.clone()).or_default().push(cl_id.clone());
        }
    }
    assert_eq!(
        codes.get(&1000).copied().unwrap_or(0),
        NAMES,
        "answers: {codes:?}"
    );
    assert_eq!(
        codes.get(&2302).copied().unwrap_or(0),
        CREATES - NAMES,
        "answers: {codes:?}"
    );
    assert_eq!(won.len(), NAMES, "every name won exactly once: {won:?}");
    assert!(won.values().all(|v| v.len() == 1));

    // The database agrees: 100 rows, one create history row and one journal row each, and
    // each domain is sponsored by the registrar that was told 1000.
    let pg = match &test_db.db {
        Db::Postgres(p) => p.clone(),
        Db::Sqlite(_) => unreachable!("PostgreSQL only"),
    };
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT name, cl_id FROM domain ORDER BY name")
            .fetch_all(&pg)
            .await
            .expect("domains");
    assert_eq!(rows.len(), NAMES);
    for (name, cl_id) in &rows {
        assert_eq!(won.get(name), Some(&vec![cl_id.clone()]), "{name}");
    }
    let history: Vec<(String, i64)> = sqlx::query_as(
        "SELECT object_key, COUNT(*) FROM object_history WHERE object_type = 'domain' AND op = 'domain:create' GROUP BY object_key",
    )
    .fetch_all(&pg)
    .await
    .expect("history");
    assert_eq!(history.len(), NAMES, "history rows: {history:?}");
    assert!(history.iter().all(|(_, n)| *n == 1), "{history:?}");
    let other_history: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM object_history WHERE object_type = 'domain' AND op <> 'domain:create'",
    )
    .fetch_one(&pg)
    .await
    .expect("history");
    assert_eq!(other_history, 0);
    // The journal: one delegation row per domain, the same names as the history, ids in
    // commit order.
    let journal: Vec<(String, i64)> = sqlx::query_as(
        "SELECT name, COUNT(*) FROM zone_journal WHERE kind = 'domain' GROUP BY name ORDER BY name",
    )
    .fetch_all(&pg)
    .await
    .expect("journal");
    let mut history = history;
    history.sort();
    assert_eq!(
        journal, history,
        "journal and history agree, one row per domain"
    );
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM zone_journal")
        .fetch_one(&pg)
        .await
        .expect("journal");
    assert_eq!(total, NAMES as i64, "nothing else was journalled");

    for s in servers {
        s.stop().await.expect("server stops");
    }
    for p in pools {
        p.close().await;
    }
    test_db.remove().await;
    frames.validate();
}
