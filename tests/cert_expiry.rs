//! Certificate hygiene: the server learns a pinned certificate's expiry when the registrar logs
//! in with it, and the daily check warns a registrar once (poll message) and operators on every
//! run (log, `eppd_client_certs_expiring`) when a pinned certificate expires within 30 days.
//! Fingerprints pinned without a certificate, and never used, are skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use chrono::TimeDelta;
use epp_proto::session::Poll;
use epp_proto::{ClientId, Command, CommandFrame, ResultCode, SvTrid};
use eppd::cert_watch::{check_once, CheckReport};
use eppd::config::CertificateConfig;
use eppd::Metrics;
use registry_core::{Actor, Registry};
use registry_store::SqlStore;
use support::*;

both_backends!(expiring_pinned_certificates_are_reported_once);

async fn poll(registry: &Registry<SqlStore>, cl_id: &str) -> (ResultCode, Option<String>) {
    let actor = Actor {
        cl_id: ClientId::new(cl_id).unwrap(),
        source_ip: LOCAL,
        cert_fingerprint: None,
        cl_trid: None,
        sv_trid: SvTrid::new("TEST-1").unwrap(),
    };
    let frame = CommandFrame {
        command: Command::Poll(Poll::Request),
        extensions: Vec::new(),
        cl_trid: None,
    };
    let out = registry.execute(&actor, &frame).await.expect("poll");
    (out.code, out.msg_q.and_then(|q| q.msg))
}

async fn expiring_pinned_certificates_are_reported_once(backend: Backend) {
    run(
        backend,
        |_| {},
        |env| async move {
            let id = env.simple_registrar("reg-a", "secret-pw-a").await;
            // reg-b's fingerprint is pinned without its certificate and never used.
            let unused = env.pki.client("reg-b");
            env.add_registrar(RegistrarSpec {
                cl_id: "reg-b",
                password: "secret-pw-b",
                certs: vec![unused.fingerprint],
                networks: vec!["127.0.0.1/32"],
                max_sessions: 1,
            })
            .await;
            let far = env.clock_now() + TimeDelta::days(365 * 3000);
            assert!(env.db.pinned_certs_expiring(far).await.unwrap().is_empty());

            // A login tells the server when reg-a's certificate expires.
            let mut c = env.logged_in(&id, "reg-a", "secret-pw-a").await;
            c.logout().await.unwrap();
            let known = env.db.pinned_certs_expiring(far).await.unwrap();
            assert_eq!(known.len(), 1, "{known:?}");
            assert_eq!(known[0].cl_id, "reg-a");
            assert_eq!(known[0].fingerprint, id.fingerprint.to_hex());

            let clock = Arc::new(env.clock.clone());
            let registry = Registry::new(
                SqlStore::new(env.db.clone()),
                clock,
                registry_core::Config::default(),
            );
            let metrics = Metrics::new();
            let config = CertificateConfig::default();

            // Not within 30 days: nothing to say.
            let report = check_once(&registry, &env.db, &metrics, &config).await;
            assert_eq!(report, CheckReport::default());
            assert_eq!(
                poll(&registry, "reg-a").await.0,
                ResultCode::SuccessNoMessages
            );

            // 31 days left: still quiet; 10 days left: one poll message, once.
            let now = env.clock_now();
            env.db
                .set_cert_not_after("reg-a", &id.fingerprint, now + TimeDelta::days(31))
                .await
                .unwrap();
            let report = check_once(&registry, &env.db, &metrics, &config).await;
            assert_eq!(report.expiring, 0);
            env.clock.advance(TimeDelta::days(21));
            let report = check_once(&registry, &env.db, &metrics, &config).await;
            assert_eq!(
                report,
                CheckReport {
                    expiring: 1,
                    warned: 1
                }
            );
            assert!(metrics.render().contains("eppd_client_certs_expiring 1"));
            let report = check_once(&registry, &env.db, &metrics, &config).await;
            assert_eq!(
                report,
                CheckReport {
                    expiring: 1,
                    warned: 0
                },
                "warned twice"
            );

            let (code, msg) = poll(&registry, "reg-a").await;
            assert_eq!(code, ResultCode::SuccessAckToDequeue);
            let msg = msg.expect("message text");
            assert!(msg.contains(&id.fingerprint.to_hex()), "{msg}");
            assert!(msg.contains("expires"), "{msg}");
            assert_eq!(
                poll(&registry, "reg-b").await.0,
                ResultCode::SuccessNoMessages
            );

            // A renewed certificate (new notAfter) re-arms the warning.
            env.db
                .set_cert_not_after(
                    "reg-a",
                    &id.fingerprint,
                    env.clock_now() + TimeDelta::days(400),
                )
                .await
                .unwrap();
            let report = check_once(&registry, &env.db, &metrics, &config).await;
            assert_eq!(report, CheckReport::default());
            assert!(metrics.render().contains("eppd_client_certs_expiring 0"));
        },
    )
    .await;
}
