//! Availability under hostile load and faults (issue 19), over real TLS from 127.0.0.x:
//! nobody but a registrar's own side can lock it out; each test runs on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::{IpAddr, Ipv4Addr};

use clap::Parser as _;

use epp_proto::domain::{DomainCommand, DomainTransfer};
use epp_proto::session::Poll;
use epp_proto::{Command, MsgId, TransferOp};
use registry_core::registrar::LoginOutcome;
use support::core::{
    contact_create, domain_create, domain_info, host_name, run_core, CoreEnv, Reg, Session, PW,
};
use support::*;

both_backends!(
    outsider_cannot_lock_out_a_registrar,
    guessing_from_the_registrars_side_locks_out_until_the_backoff,
    lockout_by_certificate,
    namespace_bomb_is_answered_2001,
    namespace_limits_are_configurable,
    auth_info_guessing_is_bounded,
    slow_database_gets_2400_and_nothing_applied_later,
    junk_connections_cannot_crowd_out_a_registrar,
    rate_limits_refuse_one_registrar_not_another,
    rate_limits_per_session,
    rate_limits_set_by_registry_admin,
);

fn addr(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// `n` logins as `cl_id` with password `pw`, from `from` with `id`'s certificate, on as few
/// connections as the answers allow (a 2501 closes the connection); their result codes.
async fn attempts(
    env: &Env,
    from: IpAddr,
    id: &Identity,
    cl_id: &str,
    pw: &str,
    n: usize,
) -> Vec<u16> {
    let mut codes = Vec::new();
    let mut client = None;
    while codes.len() < n {
        let c = match client.as_mut() {
            Some(c) => c,
            None => client.insert(env.connect(from, Some(id)).await.expect("connect")),
        };
        let code = c.login(cl_id, pw).await.expect("login answer").code;
        codes.push(code);
        if code != 2200 {
            client = None;
        }
    }
    codes
}

/// Logs `reg` in from 127.0.0.1 with its certificate and right password, then polls: the
/// login's code and the poll queue's first message, if any.
async fn login_and_poll(env: &support::core::CoreEnv, reg: &Reg) -> Option<String> {
    let mut s = env.login(reg).await;
    let reply = s.cmd(Command::Poll(Poll::Request)).await;
    let msg = match reply.code {
        1300 => None,
        1301 => reply.response.msg_q.as_ref().and_then(|q| q.msg.clone()),
        other => panic!("poll answered {other}:\n{}", reply.xml),
    };
    s.logout().await;
    msg
}

async fn outsider_cannot_lock_out_a_registrar(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let max = env.config.lockout.max_failures as usize;
            assert_eq!(max, 5, "the issue's case: five failures");
            let a = env.pki.client("reg-a");
            env.add_registrar(RegistrarSpec {
                cl_id: "reg-a",
                password: PW,
                certs: vec![a.fingerprint],
                networks: vec!["127.0.0.1/32"],
                max_sessions: 4,
            })
            .await;
            let b = env.pki.client("reg-b");
            env.add_registrar(RegistrarSpec {
                cl_id: "reg-b",
                password: PW,
                certs: vec![b.fingerprint],
                networks: vec!["127.0.0.2/32"],
                max_sessions: 4,
            })
            .await;
            let c = env.pki.client("reg-c");
            env.add_registrar(RegistrarSpec {
                cl_id: "reg-c",
                password: PW,
                certs: vec![c.fingerprint],
                networks: vec!["127.0.0.0/8"],
                max_sessions: 4,
            })
            .await;
            let reg_a = Reg {
                cl_id: "reg-a".into(),
                identity: std::sync::Arc::new(a.clone()),
            };

            // Another registrar's certificate from that registrar's address; another registrar's
            // certificate from reg-a's own address (a shared NAT); reg-a's own certificate from an
            // address outside its networks (a stolen certificate). Each outsider locks out only
            // its own address or certificate.
            let rounds: [(&str, IpAddr, &Identity, &str); 3] = [
                (
                    "reg-b's cert from reg-b's address",
                    addr(2),
                    &b,
                    "cert_not_pinned,source_not_allowed,bad_password",
                ),
                (
                    "reg-c's cert from reg-a's address",
                    addr(1),
                    &c,
                    "cert_not_pinned,bad_password",
                ),
                (
                    "reg-a's cert from elsewhere",
                    addr(3),
                    &a,
                    "source_not_allowed,bad_password",
                ),
            ];
            for (case, from, id, reason) in rounds {
                let codes = attempts(&env, from, id, "reg-a", "wrong-pw-1", max).await;
                let mut expected = vec![2200; max - 1];
                expected.push(2501);
                assert_eq!(codes, expected, "{case}: the outsider locks itself out");
                let audit = env.audit().await;
                let failures: Vec<_> = audit
                    .iter()
                    .rev()
                    .take(max)
                    .map(|r| (r.outcome, r.reason.as_str(), r.clid_strike, r.source_ip))
                    .collect();
                assert_eq!(
                    failures,
                    vec![(LoginOutcome::Failure, reason, false, from); max],
                    "{case}: the audit log keeps the true reason; no strike against the clID"
                );
                // Still refused for the outsider, with the right password too.
                assert_eq!(
                    attempts(&env, from, id, "reg-a", PW, 1).await,
                    [2501],
                    "{case}"
                );
                // The real registrar, with its own certificate from its own address: fine.
                assert_eq!(
                    login_and_poll(&env, &reg_a).await,
                    None,
                    "{case}: no lock-out message"
                );
            }
            assert_eq!(
                env.metric(r#"eppd_login_lockouts_total{scope="clid"}"#),
                0.0
            );
            assert!(env.metric(r#"eppd_login_lockouts_total{scope="source"}"#) >= 3.0);
            assert!(env.metric(r#"eppd_login_lockouts_total{scope="certificate"}"#) >= 3.0);
            // reg-b's own side is not locked out by what its certificate did elsewhere... but its
            // certificate is, from any address outside reg-b's networks.
            let mut s = env.connect(addr(2), Some(&b)).await.expect("connect");
            assert_eq!(s.login("reg-b", PW).await.expect("answer").code, 1000);
            assert_eq!(attempts(&env, addr(9), &b, "reg-b", PW, 1).await, [2501]);
        },
    )
    .await;
}

async fn guessing_from_the_registrars_side_locks_out_until_the_backoff(backend: Backend) {
    let tweak = |c: &mut eppd::Config, _: &mut registry_core::Config| {
        c.lockout.window_ms = 300_000;
        c.lockout.backoff_ms = 900_000;
    };
    run_core(backend, tweak, |env| async move {
        let max = env.config.lockout.max_failures as usize;
        let reg_a = env.registrar("reg-a").await;
        let id = reg_a.identity.clone();

        // Wrong passwords with the right certificate from the right address: the real
        // guessing attack. The max-th is answered 2501 and closes the connection.
        let codes = attempts(&env, LOCAL, &id, "reg-a", "wrong-pw-1", max).await;
        let mut expected = vec![2200; max - 1];
        expected.push(2501);
        assert_eq!(codes, expected);
        let last = env.audit().await.pop().expect("row");
        assert_eq!(
            (last.outcome, last.reason.as_str(), last.clid_strike),
            (LoginOutcome::Failure, "bad_password", true)
        );
        assert_eq!(
            env.metric(r#"eppd_login_lockouts_total{scope="clid"}"#),
            1.0
        );

        // Locked: even the right password, and from everywhere.
        assert_eq!(attempts(&env, LOCAL, &id, "reg-a", PW, 1).await, [2501]);
        let other = env.pki.client("reg-x");
        assert_eq!(attempts(&env, OTHER, &other, "reg-a", PW, 1).await, [2501]);
        let refused = env.audit().await.pop().expect("row");
        assert_eq!(
            (refused.outcome, refused.reason.as_str()),
            (LoginOutcome::Refused, "locked_out")
        );

        // Until the back-off ends.
        env.clock.advance(chrono::Duration::seconds(899));
        assert_eq!(attempts(&env, LOCAL, &id, "reg-a", PW, 1).await, [2501]);
        env.clock.advance(chrono::Duration::seconds(2));
        let msg = login_and_poll(&env, &reg_a)
            .await
            .expect("a lock-out poll message");
        assert!(
            msg.contains("reg-a") && msg.contains("locked out") && msg.contains("127.0.0.1"),
            "{msg}"
        );
        // Refusals did not count: one more failure is a plain 2200.
        assert_eq!(
            attempts(&env, LOCAL, &id, "reg-a", "wrong-pw-2", 1).await,
            [2200]
        );
    })
    .await;
}

/// `[lockout] by_certificate`: a certificate failing from many addresses is locked out when
/// on (the default), and not when off.
async fn lockout_by_certificate(backend: Backend) {
    for on in [true, false] {
        run(
            backend.clone(),
            |c| c.lockout.by_certificate = on,
            |env| async move {
                let max = env.config.lockout.max_failures as usize;
                env.simple_registrar("reg-a", "right-pw-1").await;
                let b = env.simple_registrar("reg-b", "right-pw-2").await;
                let mut codes = Vec::new();
                for i in 0..=max {
                    let from = addr(10 + u8::try_from(i).expect("small"));
                    codes.extend(attempts(&env, from, &b, "reg-a", "wrong-pw-1", 1).await);
                }
                let expected: Vec<u16> = if on {
                    let mut v = vec![2200; max - 1];
                    v.extend([2501, 2501]);
                    v
                } else {
                    vec![2200; max + 1]
                };
                assert_eq!(codes, expected, "by_certificate = {on}");
            },
        )
        .await;
    }
}

/// A `<hello>` whose `<epp>` declares the default namespace and `n` prefixed ones.
fn hello_declaring(n: usize, on_hello: usize) -> String {
    let decls: String = (0..n)
        .map(|i| format!(r#" xmlns:p{i}="urn:example:bomb:{i}""#))
        .collect();
    let inner: String = (0..on_hello)
        .map(|i| format!(r#" xmlns:h{i}="urn:example:hello:{i}""#))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"{decls}><hello{inner}/></epp>"#
    )
}

/// The namespace bomb of issue 19 (45,000 `xmlns:pN`, about 1 MB, under the frame limit, no
/// login needed) is answered 2001 and the session goes on. How fast is measured by the
/// adversarial decode bench (crates/epp-wire/benches/adversarial.rs), not here.
async fn namespace_bomb_is_answered_2001(backend: Backend) {
    run(
        backend,
        |c| c.limits.max_frame_len = 2 * 1024 * 1024,
        |env| async move {
            let id = env.simple_registrar("reg-a", "right-pw-1").await;
            let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
            let bomb = hello_declaring(45_000, 0);
            assert!(bomb.len() > 1_000_000, "{}", bomb.len());
            for _ in 0..3 {
                let a = c.request(&bomb).await.expect("answer to the bomb");
                assert_eq!(a.code, 2001, "{}", a.xml);
                assert!(
                    a.xml.contains("namespace"),
                    "the reason names it: {}",
                    a.xml
                );
                assert!(c.hello().await.expect("hello").is_greeting());
            }
            assert_eq!(
                c.login("reg-a", "right-pw-1").await.expect("login").code,
                1000
            );
            let a = c.request(&bomb).await.expect("answer to the bomb");
            assert_eq!(a.code, 2001, "{}", a.xml);
            assert_eq!(c.logout().await.expect("logout").code, 1500);
        },
    )
    .await;
}

/// `[limits] xml_max_namespaces_per_element` and `xml_max_namespaces`.
async fn namespace_limits_are_configurable(backend: Backend) {
    run(
        backend,
        |c| {
            c.limits.xml_max_namespaces_per_element = 3;
            c.limits.xml_max_namespaces = 4;
        },
        |env| async move {
            let id = env.simple_registrar("reg-a", "right-pw-1").await;
            let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
            // xmlns plus two prefixed on <epp>: three, the per-element bound.
            let a = c.request(&hello_declaring(2, 0)).await.expect("answer");
            assert!(a.is_greeting(), "{}", a.xml);
            let a = c.request(&hello_declaring(3, 0)).await.expect("answer");
            assert_eq!(a.code, 2001, "{}", a.xml);
            // Three on <epp> and one on <hello>: four, the per-frame bound; five is one more.
            let a = c.request(&hello_declaring(2, 1)).await.expect("answer");
            assert!(a.is_greeting(), "{}", a.xml);
            let a = c.request(&hello_declaring(2, 2)).await.expect("answer");
            assert_eq!(a.code, 2001, "{}", a.xml);
        },
    )
    .await;
}

fn transfer_request(name: &str, pw: &str) -> Command {
    Command::Domain(DomainCommand::Transfer(DomainTransfer {
        op: TransferOp::Request,
        name: host_name(name),
        period: None,
        auth_info: Some(support::core::auth(pw)),
    }))
}

/// Every message in the session's poll queue (read and acknowledged).
async fn drain(s: &mut Session) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..50 {
        let r = s.cmd(Command::Poll(Poll::Request)).await;
        if r.code == 1300 {
            return out;
        }
        assert_eq!(r.code, 1301, "{}", r.xml);
        let q = r.response.msg_q.clone().expect("msgQ");
        out.push(q.msg.clone().unwrap_or_default());
        s.cmd(Command::Poll(Poll::Acknowledge(
            MsgId::new(q.id.as_str()).expect("id"),
        )))
        .await
        .ok();
    }
    panic!("more than 50 poll messages");
}

/// The issue's attack: another registrar tries wrong authInfo values on one session, on one
/// domain and across domains. `[registry.auth_info]` bounds both; during a back-off even the
/// right value gets 2202; the sponsor is told; after the back-off the right value works.
async fn auth_info_guessing_is_bounded(backend: Backend) {
    let tweak = |_: &mut eppd::Config, core: &mut registry_core::Config| {
        core.auth_info.object_max_failures = 4;
        core.auth_info.registrar_max_failures = 6;
        core.auth_info.window_secs = 600;
        core.auth_info.backoff_secs = 1200;
    };
    run_core(backend, tweak, |env: CoreEnv| async move {
        let (_, mut a) = env.new_session("reg-a").await;
        let (_, mut b) = env.new_session("reg-b").await;
        let (_, mut c) = env.new_session("reg-c").await;
        a.cmd(contact_create("holder-1", "contact-pw-1")).await.ok();
        for name in ["target.test", "other1.test", "other2.test", "other3.test"] {
            a.cmd(domain_create(
                name,
                "holder-1",
                &[],
                &format!("{name}-RIGHT-1"),
            ))
            .await
            .ok();
        }
        // Four wrong values on target.test: 2202 each; its back-off starts with the fourth.
        for i in 0..4 {
            let r = b
                .cmd(domain_info("target.test", Some(&format!("guess-{i}"))))
                .await;
            assert_eq!(r.code, 2202, "{}", r.xml);
        }
        // Now the right value too is 2202, for reg-b and for a registrar that never guessed,
        // by info and by transfer request.
        let right = "target.test-RIGHT-1";
        let r = b
            .cmd(domain_info("target.test", Some(right)))
            .await
            .expect(2202);
        assert!(r.xml.contains("retry later"), "{}", r.xml);
        c.cmd(domain_info("target.test", Some(right)))
            .await
            .expect(2202);
        c.cmd(transfer_request("target.test", right))
            .await
            .expect(2202);
        // Other domains are not affected for reg-c; the sponsor needs no authInfo.
        c.cmd(domain_info("other1.test", Some("other1.test-RIGHT-1")))
            .await
            .ok();
        a.cmd(domain_info("target.test", None)).await.ok();
        // The sponsor was told, once.
        let msgs = drain(&mut a).await;
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert!(
            msgs[0].contains("target.test") && msgs[0].contains("reg-b"),
            "{msgs:?}"
        );

        // Per registrar: reg-b's fifth and sixth wrong values, on other domains, start its own
        // back-off: then even the right value of a domain nobody guessed at is refused.
        b.cmd(domain_info("other2.test", Some("wrong-1")))
            .await
            .expect(2202);
        b.cmd(transfer_request("other2.test", "wrong-2"))
            .await
            .expect(2202);
        b.cmd(domain_info("other3.test", Some("other3.test-RIGHT-1")))
            .await
            .expect(2202);
        c.cmd(domain_info("other3.test", Some("other3.test-RIGHT-1")))
            .await
            .ok();

        // After the back-off, the right value works for the right client.
        env.clock.advance(chrono::Duration::seconds(1201));
        b.cmd(domain_info("target.test", Some(right))).await.ok();
        b.cmd(transfer_request("target.test", right))
            .await
            .expect(1001);
        // A wrong value is a plain 2202 again and does not refuse the next right one.
        c.cmd(domain_info("other1.test", Some("wrong-3")))
            .await
            .expect(2202);
        c.cmd(domain_info("other1.test", Some("other1.test-RIGHT-1")))
            .await
            .ok();
    })
    .await;
}

/// Holds the database's write path for `hold`: SQLite's write lock (`BEGIN IMMEDIATE` on a
/// connection of its own), PostgreSQL's `contact` table (`LOCK TABLE … ACCESS EXCLUSIVE`).
async fn stall_database(url: String, hold: std::time::Duration) -> tokio::task::JoinHandle<()> {
    use sqlx::{Connection, Executor};
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        if url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
            c.execute("BEGIN IMMEDIATE").await.expect("lock");
            let _ = locked_tx.send(());
            tokio::time::sleep(hold).await;
            c.execute("ROLLBACK").await.expect("unlock");
        } else {
            let mut c = sqlx::PgConnection::connect(&url).await.expect("postgres");
            c.execute("BEGIN").await.expect("begin");
            c.execute("LOCK TABLE contact IN ACCESS EXCLUSIVE MODE")
                .await
                .expect("lock");
            let _ = locked_tx.send(());
            tokio::time::sleep(hold).await;
            c.execute("ROLLBACK").await.expect("unlock");
        }
    });
    locked_rx.await.expect("the database is stalled");
    task
}

/// `[limits] command_timeout_ms`: with the database's write path stalled for longer, a create
/// is answered 2400 within the bound (not after the stall), is not applied when the database
/// comes back, and the server serves again by itself.
async fn slow_database_gets_2400_and_nothing_applied_later(backend: Backend) {
    let tweak = |c: &mut eppd::Config, _: &mut registry_core::Config| {
        c.limits.command_timeout_ms = 1000;
    };
    run_core(backend, tweak, |env: CoreEnv| async move {
        let (_, mut a) = env.new_session("reg-a").await;
        let hold = std::time::Duration::from_secs(4);
        let stall = stall_database(env.db_url.clone(), hold).await;
        let r = a.cmd(contact_create("stalled-1", "contact-pw-1")).await;
        assert_eq!(r.code, 2400, "{}", r.xml);
        assert!(
            !stall.is_finished(),
            "answered while the database was still stalled, because of the bound"
        );
        stall.await.expect("stall task");
        // Time for a late commit to land, if one were coming.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let info = a
            .cmd(Command::Contact(epp_proto::contact::ContactCommand::Info {
                id: support::core::contact_id("stalled-1"),
                auth_info: None,
            }))
            .await;
        assert_eq!(
            info.code, 2303,
            "a command answered 2400 is not applied: {}",
            info.xml
        );
        a.cmd(contact_create("stalled-1", "contact-pw-1"))
            .await
            .ok();
    })
    .await;
}

/// `[limits] max_connections_per_source`, `handshakes_per_second_per_source` and
/// `max_prelogin_connections`: idle TCP connections (no TLS) from 127.0.0.5 beyond its budget
/// are closed at accept; a handshake storm from 127.0.0.6 is cut by its rate; the real
/// registrar from 127.0.0.1 still connects and logs in.
async fn junk_connections_cannot_crowd_out_a_registrar(backend: Backend) {
    run(
        backend,
        |c| {
            c.limits.max_connections = 64;
            c.limits.max_prelogin_connections = 40;
            c.limits.max_connections_per_source = 8;
            c.limits.handshakes_per_second_per_source = 10;
        },
        |env| async move {
            let id = env.simple_registrar("reg-a", "right-pw-1").await;
            let mut junk = Vec::new();
            for _ in 0..200 {
                if let Ok(t) = Client::tcp(env.addr, addr(5)).await {
                    junk.push(t);
                }
            }
            let storm_id = env.pki.client("storm");
            let mut storm_ok = 0;
            for _ in 0..30 {
                if env.connect(addr(6), Some(&storm_id)).await.is_ok() {
                    storm_ok += 1;
                }
            }
            assert!(storm_ok < 30, "the handshake storm is cut by the rate");
            let mut c = env
                .connect(LOCAL, Some(&id))
                .await
                .expect("the registrar connects");
            assert_eq!(
                c.login("reg-a", "right-pw-1").await.expect("login").code,
                1000
            );
            eventually("junk refused at accept", || async {
                env.metric(r#"eppd_connections_refused_total{reason="source_connections"}"#)
                    >= 100.0
            })
            .await;
            assert!(env.metric(r#"eppd_connections_refused_total{reason="source_rate"}"#) >= 1.0);
            drop(junk);
        },
    )
    .await;
}

fn check_of(name: &str) -> Command {
    Command::Domain(epp_proto::domain::DomainCommand::Check(vec![
        epp_proto::Label::new(name).expect("label"),
    ]))
}

/// The rate limiting tests' `[limits]`: small registrar budgets, no session budgets.
fn small_registrar_budgets(c: &mut eppd::Config) {
    c.limits.registrar_check_per_second = 2;
    c.limits.registrar_check_burst = 3;
    c.limits.registrar_transform_per_second = 1;
    c.limits.registrar_transform_burst = 2;
    c.limits.session_check_per_second = 0;
    c.limits.session_transform_per_second = 0;
}

/// `[limits] registrar_check_*` and `registrar_transform_*`: a registrar's budget is shared by
/// all its sessions; past it, its checks are answered 2308 with the session left open and
/// counted in the metric, while another registrar's checks and the same registrar's
/// transforms (a budget of their own) go through; moving the clock refills the bucket.
async fn rate_limits_refuse_one_registrar_not_another(backend: Backend) {
    let tweak = |c: &mut eppd::Config, _: &mut registry_core::Config| small_registrar_budgets(c);
    run_core(backend, tweak, |env: CoreEnv| async move {
        let (reg_a, mut a1) = env.new_session("reg-a").await;
        let mut a2 = env.login(&reg_a).await;
        let (_, mut b) = env.new_session("reg-b").await;
        // Three tokens for reg-a, whichever session spends them.
        a1.cmd(check_of("free-1.test")).await.ok();
        a2.cmd(check_of("free-2.test")).await.ok();
        a1.cmd(check_of("free-3.test")).await.ok();
        for s in [&mut a1, &mut a2] {
            let r = s.cmd(check_of("free-4.test")).await.expect(2308);
            assert!(
                r.response.results[0]
                    .msg
                    .contains("check rate limit of this registrar"),
                "{}",
                r.xml
            );
            assert!(
                r.response.results[0].msg.contains("retry in 500 ms"),
                "{}",
                r.xml
            );
        }
        // Info spends the check budget too (it answers 2303 for a free name).
        a1.cmd(domain_info("free-5.test", None)).await.expect(2308);
        // The session is still open and serves what needs no token.
        a1.cmd(Command::Poll(Poll::Request)).await.expect(1300);
        // Another registrar is not affected.
        for i in 0..3 {
            b.cmd(check_of(&format!("other-{i}.test"))).await.ok();
        }
        // Transforms have their own budget.
        a1.cmd(contact_create("rl-contact-1", "contact-pw-1"))
            .await
            .ok();
        a2.cmd(contact_create("rl-contact-2", "contact-pw-1"))
            .await
            .ok();
        a1.cmd(contact_create("rl-contact-3", "contact-pw-1"))
            .await
            .expect(2308);
        assert_eq!(
            env.metric(r#"eppd_commands_rate_limited_total{budget="check",scope="registrar"}"#),
            3.0
        );
        assert_eq!(
            env.metric(r#"eppd_commands_rate_limited_total{budget="transform",scope="registrar"}"#),
            1.0
        );
        assert_eq!(
            env.metric(r#"eppd_commands_total{command="domain:check",code="2308"}"#),
            2.0
        );
        // The bucket refills at its rate: one token per 500 ms, up to the burst.
        env.clock.advance(chrono::Duration::milliseconds(499));
        a2.cmd(check_of("free-6.test")).await.expect(2308);
        env.clock.advance(chrono::Duration::milliseconds(1));
        a2.cmd(check_of("free-6.test")).await.ok();
        a1.cmd(check_of("free-7.test")).await.expect(2308);
        env.clock.advance(chrono::Duration::seconds(60));
        for i in 0..3 {
            a1.cmd(check_of(&format!("refilled-{i}.test"))).await.ok();
        }
        a1.cmd(check_of("free-8.test")).await.expect(2308);
        a1.cmd(contact_create("rl-contact-3", "contact-pw-1"))
            .await
            .ok();
        a1.logout().await;
        a2.logout().await;
        b.logout().await;
    })
    .await;
}

/// `[limits] session_check_*` and `session_transform_*`: one session's budget, inside its
/// registrar's; a refused command spends neither.
async fn rate_limits_per_session(backend: Backend) {
    let tweak = |c: &mut eppd::Config, _: &mut registry_core::Config| {
        c.limits.registrar_check_per_second = 10;
        c.limits.registrar_check_burst = 3;
        c.limits.registrar_transform_per_second = 10;
        c.limits.registrar_transform_burst = 10;
        c.limits.session_check_per_second = 1;
        c.limits.session_check_burst = 2;
        c.limits.session_transform_per_second = 1;
        c.limits.session_transform_burst = 1;
    };
    run_core(backend, tweak, |env: CoreEnv| async move {
        let (reg_a, mut a1) = env.new_session("reg-a").await;
        let mut a2 = env.login(&reg_a).await;
        a1.cmd(check_of("free-1.test")).await.ok();
        a1.cmd(check_of("free-2.test")).await.ok();
        let r = a1.cmd(check_of("free-3.test")).await.expect(2308);
        assert!(
            r.response.results[0]
                .msg
                .contains("check rate limit of this session"),
            "{}",
            r.xml
        );
        // The refusal spent none of the registrar's three tokens: one is left for a2.
        a2.cmd(check_of("free-4.test")).await.ok();
        let r = a2.cmd(check_of("free-5.test")).await.expect(2308);
        assert!(
            r.response.results[0].msg.contains("of this registrar"),
            "{}",
            r.xml
        );
        a1.cmd(contact_create("rl-contact-1", "contact-pw-1"))
            .await
            .ok();
        a1.cmd(contact_create("rl-contact-2", "contact-pw-1"))
            .await
            .expect(2308);
        a2.cmd(contact_create("rl-contact-2", "contact-pw-1"))
            .await
            .ok();
        assert_eq!(
            env.metric(r#"eppd_commands_rate_limited_total{budget="check",scope="session"}"#),
            1.0
        );
        assert_eq!(
            env.metric(r#"eppd_commands_rate_limited_total{budget="transform",scope="session"}"#),
            1.0
        );
        env.clock.advance(chrono::Duration::seconds(1));
        a1.cmd(contact_create("rl-contact-3", "contact-pw-1"))
            .await
            .ok();
        a1.logout().await;
        a2.logout().await;
    })
    .await;
}

/// `registry-admin registrar set-limits` (through the library, on the test database): the
/// registrar's own limits replace the defaults at its next login and, within
/// `limits.rate_limit_refresh_ms`, in its live sessions; another registrar keeps the
/// defaults; `--clear` gives the defaults back.
async fn rate_limits_set_by_registry_admin(backend: Backend) {
    let tweak = |c: &mut eppd::Config, _: &mut registry_core::Config| {
        c.limits.registrar_check_per_second = 1;
        c.limits.registrar_check_burst = 1000;
        c.limits.session_check_per_second = 0;
        c.limits.rate_limit_refresh_ms = 50;
    };
    run_core(backend, tweak, |env: CoreEnv| async move {
        let (reg_a, mut live) = env.new_session("reg-a").await;
        let (_, mut b) = env.new_session("reg-b").await;
        let admin = |args: &'static [&'static str]| {
            let env = &env;
            async move {
                let mut v = vec!["registry-admin", "--json", "registrar"];
                v.extend_from_slice(args);
                let cli = registry_admin::Cli::try_parse_from(v).expect("arguments");
                registry_admin::run_on(
                    &cli,
                    &env.db,
                    std::sync::Arc::new(env.clock.clone()),
                    env.registry.config().clone(),
                )
                .await
            }
        };
        let out = admin(&[
            "set-limits",
            "reg-a",
            "--registrar-check-per-second",
            "1",
            "--registrar-check-burst",
            "2",
        ])
        .await
        .expect("set-limits");
        assert_eq!(out.json["rate_limits"]["registrar_check_burst"], 2);
        assert!(out.json["rate_limits"]["registrar_transform_burst"].is_null());
        let e = admin(&["set-limits", "reg-a", "--session-check-burst", "0"])
            .await
            .expect_err("a burst of 0");
        assert_eq!(e.exit_code(), 2);
        let e = admin(&["set-limits", "nobody", "--registrar-check-burst", "3"])
            .await
            .expect_err("unknown registrar");
        assert_eq!(e.exit_code(), 3);
        let shown = admin(&["show", "reg-a"]).await.expect("show");
        assert_eq!(shown.json["rate_limits"]["registrar_check_per_second"], 1);

        // A new login has them at once.
        let mut a = env.login(&reg_a).await;
        let mut refused = 0;
        for i in 0..3 {
            if a.cmd(check_of(&format!("new-{i}.test"))).await.code == 2308 {
                refused += 1;
            }
        }
        assert_eq!(refused, 1, "the burst of 2 holds");
        // The live session shares the registrar's bucket, now of 2.
        live.cmd(check_of("live-1.test")).await.expect(2308);
        for i in 0..5 {
            b.cmd(check_of(&format!("b-{i}.test"))).await.ok();
        }

        // Cleared: the defaults again (a burst of 1000), in the live sessions within the
        // refresh interval.
        let out = admin(&["set-limits", "reg-a", "--clear"])
            .await
            .expect("clear");
        assert!(out.json["rate_limits"]["registrar_check_burst"].is_null());
        let mut followed = false;
        for round in 0..250 {
            // Refills whatever the burst: three in a row pass only with the default's.
            env.clock.advance(chrono::Duration::seconds(30));
            let mut ok = true;
            for i in 0..3 {
                ok &= a
                    .cmd(check_of(&format!("cleared-{round}-{i}.test")))
                    .await
                    .code
                    == 1000;
            }
            if ok {
                followed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(followed, "the live session follows the cleared limits");

        // Set while sessions are live: they follow within the refresh interval.
        admin(&["set-limits", "reg-a", "--registrar-check-burst", "1"])
            .await
            .expect("set-limits");
        let mut followed = false;
        for round in 0..250 {
            if live.cmd(check_of(&format!("live-{round}.test"))).await.code == 2308 {
                followed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(followed, "the live session follows the new limits");
        a.logout().await;
        live.logout().await;
        b.logout().await;
    })
    .await;
}
