//! Registrar authentication over real TLS (RFC 5730 section 2.9.1.1, RFC 5734 section 9):
//! the certificate × password × source-address matrix, lock-out and back-off, password
//! change, suspension, PROXY protocol v2. Each test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;

use registry_core::registrar::LoginOutcome;
use support::*;

both_backends!(
    auth_matrix,
    unknown_client_and_suspended_registrar,
    lockout_and_backoff,
    new_password,
    proxy_protocol_v2,
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CertCase {
    None,
    UnknownCa,
    Expired,
    NotPinned,
    Pinned,
}

async fn auth_matrix(backend: Backend) {
    run(
        backend,
        |c| c.lockout.max_failures = 1000,
        |env| async move {
            let pinned = env.simple_registrar("reg-a", "right-pw-1").await;
            // A valid certificate of the trusted CA, pinned to another registrar.
            let other = env.simple_registrar("reg-b", "right-pw-2").await;
            let expired = env.pki.expired_client("reg-a");
            let rogue = env.pki.rogue_client("reg-a");

            let mut logged_in = Vec::new();
            let mut failure_msgs = Vec::new();
            for cert in [
                CertCase::None,
                CertCase::UnknownCa,
                CertCase::Expired,
                CertCase::NotPinned,
                CertCase::Pinned,
            ] {
                for right_pw in [true, false] {
                    for from in [LOCAL, OTHER] {
                        let case = format!(
                            "{cert:?}/{}/{from}",
                            if right_pw { "right" } else { "wrong" }
                        );
                        let identity = match cert {
                            CertCase::None => None,
                            CertCase::UnknownCa => Some(&rogue),
                            CertCase::Expired => Some(&expired),
                            CertCase::NotPinned => Some(&other),
                            CertCase::Pinned => Some(&pinned),
                        };
                        let before = env.audit().await.len();
                        let connected = env.connect(from, identity).await;
                        if matches!(
                            cert,
                            CertCase::None | CertCase::UnknownCa | CertCase::Expired
                        ) {
                            assert!(connected.is_err(), "{case}: handshake must fail");
                            assert_eq!(
                                env.audit().await.len(),
                                before,
                                "{case}: no login was attempted"
                            );
                            continue;
                        }
                        let mut client =
                            connected.unwrap_or_else(|e| panic!("{case}: connect: {e}"));
                        let pw = if right_pw { "right-pw-1" } else { "wrong-pw-1" };
                        let answer = client.login("reg-a", pw).await.expect("answer");
                        assert_eq!(
                            answer.cl_trid.as_deref(),
                            Some("TEST-0001"),
                            "{case}: clTRID echoed"
                        );
                        assert!(answer.sv_trid.is_some(), "{case}: svTRID present");
                        if answer.code == 1000 {
                            logged_in.push(case.clone());
                        } else {
                            assert_eq!(answer.code, 2200, "{case}: {answer:?}");
                            failure_msgs.push(answer.msg.clone());
                            // A failed login leaves the session open: hello still works.
                            assert!(client.hello().await.expect("hello").is_greeting(), "{case}");
                        }
                        let audit = env.audit().await;
                        assert_eq!(audit.len(), before + 1, "{case}: one audit row");
                        let row = audit.last().expect("row");
                        let expected_reason = match (cert, right_pw, from == LOCAL) {
                            (CertCase::Pinned, true, true) => "",
                            (CertCase::Pinned, false, true) => "bad_password",
                            (CertCase::Pinned, true, false) => "source_not_allowed",
                            (CertCase::Pinned, false, false) => "source_not_allowed,bad_password",
                            (CertCase::NotPinned, true, true) => "cert_not_pinned",
                            (CertCase::NotPinned, false, true) => "cert_not_pinned,bad_password",
                            (CertCase::NotPinned, true, false) => {
                                "cert_not_pinned,source_not_allowed"
                            }
                            (CertCase::NotPinned, false, false) => {
                                "cert_not_pinned,source_not_allowed,bad_password"
                            }
                            _ => unreachable!(),
                        };
                        assert_eq!(row.reason, expected_reason, "{case}");
                        let expected_outcome = if expected_reason.is_empty() {
                            LoginOutcome::Success
                        } else {
                            LoginOutcome::Failure
                        };
                        assert_eq!(row.outcome, expected_outcome, "{case}");
                        assert_eq!(row.cl_id, "reg-a", "{case}");
                        assert_eq!(row.source_ip, from, "{case}");
                        let fp = if cert == CertCase::Pinned {
                            pinned.fingerprint
                        } else {
                            other.fingerprint
                        };
                        assert_eq!(row.cert_fingerprint, Some(fp), "{case}");
                        assert!(
                            (row.at - env.clock_now()).num_seconds().abs() < 5,
                            "{case}: audit time"
                        );
                    }
                }
            }
            assert_eq!(logged_in, vec![format!("Pinned/right/{LOCAL}")]);
            assert_eq!(failure_msgs.len(), 7);
            assert!(
                failure_msgs.iter().all(|m| m == &failure_msgs[0]),
                "one message for every failure: {failure_msgs:?}"
            );
        },
    )
    .await;
}

async fn unknown_client_and_suspended_registrar(backend: Backend) {
    run(
        backend,
        |_| {},
        |env| async move {
            let id = env.simple_registrar("reg-a", "right-pw-1").await;
            let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
            let unknown = c.login("reg-nobody", "right-pw-1").await.expect("answer");
            assert_eq!(unknown.code, 2200);
            let row = env.audit().await.pop().expect("row");
            assert_eq!(
                (row.cl_id.as_str(), row.reason.as_str()),
                ("reg-nobody", "unknown_client")
            );

            let reg = epp_proto::ClientId::new("reg-a").expect("clID");
            env.db
                .suspend_registrar(&reg, "unpaid invoices", env.clock_now())
                .await
                .expect("suspend");
            let suspended = c.login("reg-a", "right-pw-1").await.expect("answer");
            assert_eq!(suspended.code, 2200);
            assert_eq!(
                suspended.msg, unknown.msg,
                "same message whatever the reason"
            );
            let row = env.audit().await.pop().expect("row");
            assert_eq!(row.reason, "suspended");

            env.db
                .reactivate_registrar(&reg, env.clock_now())
                .await
                .expect("reactivate");
            assert_eq!(
                c.login("reg-a", "right-pw-1").await.expect("answer").code,
                1000
            );
        },
    )
    .await;
}

async fn lockout_and_backoff(backend: Backend) {
    let tweak = |c: &mut eppd::Config| {
        c.lockout.max_failures = 3;
        c.lockout.window_ms = 60_000;
        c.lockout.backoff_ms = 120_000;
    };
    run(backend, tweak, |env| async move {
        let id = env.pki.client("reg-a");
        env.add_registrar(RegistrarSpec {
            cl_id: "reg-a",
            password: "right-pw-1",
            certs: vec![id.fingerprint],
            networks: vec!["127.0.0.0/8"],
            max_sessions: 4,
        })
        .await;

        // Three failures for reg-a from 127.0.0.1: the third is answered 2501 and closes.
        let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
        assert_eq!(c.login("reg-a", "wrong-pw-1").await.expect("1").code, 2200);
        assert_eq!(c.login("reg-a", "wrong-pw-2").await.expect("2").code, 2200);
        assert_eq!(c.login("reg-a", "wrong-pw-3").await.expect("3").code, 2501);
        assert!(c.is_closed().await, "2501 closes the connection");

        // The clID is locked from everywhere, even with the right password.
        let mut c = env.connect(OTHER, Some(&id)).await.expect("connect");
        assert_eq!(
            c.login("reg-a", "right-pw-1").await.expect("answer").code,
            2501
        );
        assert!(c.is_closed().await);
        let row = env.audit().await.pop().expect("row");
        assert_eq!(
            (row.outcome, row.reason.as_str()),
            (LoginOutcome::Refused, "locked_out")
        );

        // The address is locked too, whatever clID it tries.
        let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
        assert_eq!(
            c.login("reg-other", "right-pw-1")
                .await
                .expect("answer")
                .code,
            2501
        );

        // Still locked just before the back-off ends; free after it.
        env.clock.advance(chrono::Duration::seconds(119));
        let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
        assert_eq!(
            c.login("reg-a", "right-pw-1").await.expect("answer").code,
            2501
        );
        env.clock.advance(chrono::Duration::seconds(2));
        let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
        assert_eq!(
            c.login("reg-a", "right-pw-1").await.expect("answer").code,
            1000
        );

        // Refusals during the back-off did not count as failures: one more failure is 2200.
        let mut c = env.connect(OTHER, Some(&id)).await.expect("connect");
        assert_eq!(
            c.login("reg-a", "wrong-pw-4").await.expect("answer").code,
            2200
        );
    })
    .await;
}

async fn new_password(backend: Backend) {
    run(
        backend,
        |c| c.password.blacklist.push("Registry123".into()),
        |env| async move {
            let id = env.simple_registrar("reg-a", "old-secret-1").await;
            let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
            for trivial in ["password", "registry123", "old-secret-1"] {
                let a = c
                    .login_new_pw("reg-a", "old-secret-1", trivial)
                    .await
                    .expect("answer");
                assert_eq!(a.code, 2306, "{trivial}: {a:?}");
                let row = env.audit().await.pop().expect("row");
                assert_eq!(
                    (row.outcome, row.reason.as_str()),
                    (LoginOutcome::Refused, "new_password_policy")
                );
            }
            // Not logged in after a refused change.
            assert_eq!(c.logout().await.expect("answer").code, 2002);
            // Longer than the XSD's 16 characters: refused by the decoder, session goes on.
            let long = c
                .login_new_pw("reg-a", "old-secret-1", "seventeen-chars-x")
                .await
                .expect("answer");
            assert!(long.code >= 2000 && long.code != 2200, "{long:?}");

            let a = c
                .login_new_pw("reg-a", "old-secret-1", "n3w-Secret!-2026")
                .await
                .expect("answer");
            assert_eq!(a.code, 1000, "{a:?}");
            let row = env.audit().await.pop().expect("row");
            assert_eq!(
                (row.outcome, row.reason.as_str()),
                (LoginOutcome::Success, "password_changed")
            );
            assert_eq!(c.logout().await.expect("logout").code, 1500);

            let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
            assert_eq!(
                c.login("reg-a", "old-secret-1").await.expect("old").code,
                2200
            );
            assert_eq!(
                c.login("reg-a", "n3w-Secret!-2026")
                    .await
                    .expect("new")
                    .code,
                1000
            );
        },
    )
    .await;
}

async fn proxy_protocol_v2(backend: Backend) {
    run(
        backend,
        |c| c.proxy.trusted = vec!["127.0.0.1/32".parse().expect("net")],
        |env| async move {
            let id = env.pki.client("reg-p");
            env.add_registrar(RegistrarSpec {
                cl_id: "reg-p",
                password: "right-pw-1",
                certs: vec![id.fingerprint],
                networks: vec!["192.0.2.0/24"],
                max_sessions: 4,
            })
            .await;
            let real: SocketAddr = "192.0.2.55:40000".parse().expect("addr");

            // From the trusted proxy, with a header: the allow-list sees 192.0.2.55.
            let mut tcp = Client::tcp(env.addr, LOCAL).await.expect("tcp");
            tokio::io::AsyncWriteExt::write_all(&mut tcp, &eppd::proxy::encode_v2(real, env.addr))
                .await
                .expect("hdr");
            let mut c = Client::over(tcp, &env.pki, Some(&id))
                .await
                .expect("TLS after PROXY header");
            assert_eq!(
                c.login("reg-p", "right-pw-1").await.expect("answer").code,
                1000
            );
            let row = env.audit().await.pop().expect("row");
            assert_eq!(row.source_ip, real.ip());

            // From the trusted proxy without a header: refused before TLS.
            assert!(env.connect(LOCAL, Some(&id)).await.is_err());

            // From an untrusted peer, a header is not honoured (it breaks the TLS handshake).
            let mut tcp = Client::tcp(env.addr, OTHER).await.expect("tcp");
            tokio::io::AsyncWriteExt::write_all(&mut tcp, &eppd::proxy::encode_v2(real, env.addr))
                .await
                .expect("hdr");
            assert!(Client::over(tcp, &env.pki, Some(&id)).await.is_err());

            // And without one, its own address is used: not in reg-p's networks.
            let mut c = env.connect(OTHER, Some(&id)).await.expect("connect");
            assert_eq!(
                c.login("reg-p", "right-pw-1").await.expect("answer").code,
                2200
            );
            let row = env.audit().await.pop().expect("row");
            assert_eq!(
                (row.source_ip, row.reason.as_str()),
                (OTHER, "source_not_allowed")
            );
        },
    )
    .await;
}
