//! loginSec (RFC 8807) over real TLS, on SQLite and PostgreSQL: long passwords with and
//! without the extension, each security event of the login response, the failed-login
//! statistic, the maximum password age, and the new-password policy. Every answer is
//! validated against the XSDs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::Duration;
use epp_proto::ext::login_sec::{Event, EventLevel, EventType, NS as LOGIN_SEC_NS, SENTINEL};
use epp_proto::ext::ResponseExtension;
use epp_proto::Frame;
use registry_core::clock::Clock;
use registry_core::registrar::LoginOutcome;
use support::core::Frames;
use support::*;

both_backends!(
    long_passwords_need_login_sec,
    security_events,
    failed_logins_since_last_success,
    password_age,
    new_password_policy,
);

/// A password of 24 characters: too long for `<pw>`.
const LONG_PW: &str = "correct-horse-battery-24";

/// A login with the loginSec extension: `pw`/`new_pw` go in `<pw>`/`<newPW>`, `ls_pw` /
/// `ls_new_pw` in `<loginSec:pw>`/`<loginSec:newPW>`; `select` lists loginSec in
/// `<svcExtension>`.
fn login_sec_xml(
    cl_id: &str,
    pw: &str,
    new_pw: Option<&str>,
    ls_pw: Option<&str>,
    ls_new_pw: Option<&str>,
    select: bool,
) -> String {
    let mut opts = LoginOptions::default();
    if select {
        opts.ext_uris.push(LOGIN_SEC_NS);
    }
    let plain = login_xml_with(cl_id, pw, new_pw, &opts, "LS-0001");
    let ext = format!(
        "<extension><loginSec:loginSec xmlns:loginSec=\"{LOGIN_SEC_NS}\">\
         <loginSec:userAgent><loginSec:app>login-sec-test 1.0</loginSec:app>\
         <loginSec:tech>Rust</loginSec:tech></loginSec:userAgent>{}{}</loginSec:loginSec></extension>",
        ls_pw
            .map(|p| format!("<loginSec:pw>{p}</loginSec:pw>"))
            .unwrap_or_default(),
        ls_new_pw
            .map(|p| format!("<loginSec:newPW>{p}</loginSec:newPW>"))
            .unwrap_or_default(),
    );
    plain.replace("</login>", &format!("</login>{ext}"))
}

/// A login without the extension that still selects loginSec (so events come back).
fn selecting_xml(cl_id: &str, pw: &str, new_pw: Option<&str>) -> String {
    let mut opts = LoginOptions::default();
    opts.ext_uris.push(LOGIN_SEC_NS);
    login_xml_with(cl_id, pw, new_pw, &opts, "LS-0002")
}

fn events(a: &Answer) -> Vec<Event> {
    let Ok(Frame::Response(r)) = epp_wire::decode(a.xml.as_bytes()) else {
        panic!("not a response: {}", a.xml);
    };
    r.extensions
        .into_iter()
        .filter_map(|e| match e {
            ResponseExtension::LoginSec(d) => Some(d.events),
            _ => None,
        })
        .flatten()
        .collect()
}

fn kinds(a: &Answer) -> Vec<EventType> {
    events(a).into_iter().map(|e| e.kind).collect()
}

async fn ask(env: &Env, id: &Identity, xml: &str, frames: &Frames) -> Answer {
    let mut c = env.connect(LOCAL, Some(id)).await.expect("connect");
    let a = c.request(xml).await.expect("answer");
    frames.push("login", &a.xml);
    a
}

async fn long_passwords_need_login_sec(backend: Backend) {
    run(
        backend,
        |c| c.lockout.max_failures = 1000,
        |env| async move {
            let frames = Frames::default();
            let id = env.simple_registrar("reg-a", LONG_PW).await;

            // In <pw> without the extension: 2001, and the reason names loginSec.
            let a = ask(
                &env,
                &id,
                &login_xml("reg-a", LONG_PW, None, "LS-1"),
                &frames,
            )
            .await;
            assert_eq!(a.code, 2001, "{}", a.xml);
            assert!(a.msg.contains("loginSec"), "{}", a.msg);

            // With it: in.
            let ok = login_sec_xml("reg-a", SENTINEL, None, Some(LONG_PW), None, true);
            let a = ask(&env, &id, &ok, &frames).await;
            assert_eq!(a.code, 1000, "{}", a.xml);

            // The extension without selecting it at login: 2103.
            let unselected = login_sec_xml("reg-a", SENTINEL, None, Some(LONG_PW), None, false);
            let a = ask(&env, &id, &unselected, &frames).await;
            assert_eq!(a.code, 2103, "{}", a.xml);

            // Pairs that break RFC 8807 section 3.2: 2001, no login attempted.
            let before = env.audit().await.len();
            for (case, xml) in [
                (
                    "value without the sentinel",
                    login_sec_xml("reg-a", "short-pw-1", None, Some(LONG_PW), None, true),
                ),
                (
                    "sentinel without a value",
                    login_sec_xml("reg-a", SENTINEL, None, None, None, true),
                ),
                (
                    "loginSec:newPW without newPW",
                    login_sec_xml("reg-a", SENTINEL, None, Some(LONG_PW), Some(LONG_PW), true),
                ),
            ] {
                let a = ask(&env, &id, &xml, &frames).await;
                assert_eq!(a.code, 2001, "{case}: {}", a.xml);
            }
            assert_eq!(env.audit().await.len(), before, "nothing reached the audit");

            // A wrong long password is an ordinary authentication failure.
            let wrong = login_sec_xml(
                "reg-a",
                SENTINEL,
                None,
                Some("wrong-horse-battery-24ch"),
                None,
                true,
            );
            let a = ask(&env, &id, &wrong, &frames).await;
            assert_eq!(a.code, 2200, "{}", a.xml);
            assert!(events(&a).is_empty(), "a wrong password learns nothing");

            // A long new password through loginSec, then a login with it.
            let new_long = "a-new-and-even-longer-password-of-40-chr";
            let change = login_sec_xml(
                "reg-a",
                SENTINEL,
                Some(SENTINEL),
                Some(LONG_PW),
                Some(new_long),
                true,
            );
            let a = ask(&env, &id, &change, &frames).await;
            assert_eq!(a.code, 1000, "{}", a.xml);
            let row = env.audit().await.pop().expect("row");
            assert_eq!(row.reason, "password_changed");
            let again = login_sec_xml("reg-a", SENTINEL, None, Some(new_long), None, true);
            assert_eq!(ask(&env, &id, &again, &frames).await.code, 1000);
            let old = login_sec_xml("reg-a", SENTINEL, None, Some(LONG_PW), None, true);
            assert_eq!(ask(&env, &id, &old, &frames).await.code, 2200);
            frames.validate();
        },
    )
    .await;
}

async fn security_events(backend: Backend) {
    run(
        backend,
        |c| {
            // The test's TLS 1.3 connection and its suite count as weak here, and every
            // certificate as close to its end: each event kind shows.
            c.tls.weak_protocols = vec!["TLSv1.3".into()];
            c.tls.weak_cipher_suites = vec![
                "TLS_AES_128_GCM_SHA256".into(),
                "TLS_AES_256_GCM_SHA384".into(),
                "TLS_CHACHA20_POLY1305_SHA256".into(),
            ];
            // rcgen's default notAfter is 4096-01-01.
            c.certificates.expiry_warning_days = 1_000_000;
        },
        |env| async move {
            let frames = Frames::default();
            let id = env.simple_registrar("reg-a", "right-pw-16chars").await;
            let a = ask(
                &env,
                &id,
                &selecting_xml("reg-a", "right-pw-16chars", None),
                &frames,
            )
            .await;
            assert_eq!(a.code, 1000, "{}", a.xml);
            let ev = events(&a);
            let of = |k: EventType| ev.iter().find(|e| e.kind == k).cloned();
            let cert =
                of(EventType::Certificate).unwrap_or_else(|| panic!("certificate event: {ev:?}"));
            assert_eq!(cert.level, EventLevel::Warning);
            assert!(cert.ex_date.is_some(), "{cert:?}");
            let proto = of(EventType::TlsProtocol).expect("tlsProtocol event");
            assert_eq!(proto.value.as_deref(), Some("TLSv1.3"));
            let cipher = of(EventType::Cipher).expect("cipher event");
            assert!(
                cipher
                    .value
                    .as_deref()
                    .is_some_and(|v| v.starts_with("TLS_")),
                "{cipher:?}"
            );
            assert!(of(EventType::Stat).is_none(), "no failure yet");

            // Without loginSec selected: the same login, no extension.
            let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
            let a = c.login("reg-a", "right-pw-16chars").await.expect("answer");
            frames.push("plain", &a.xml);
            assert_eq!(a.code, 1000);
            assert!(!a.xml.contains("loginSec"), "{}", a.xml);
            frames.validate();
        },
    )
    .await;
}

async fn failed_logins_since_last_success(backend: Backend) {
    run(
        backend,
        |c| c.lockout.max_failures = 1000,
        |env| async move {
            let frames = Frames::default();
            let id = env.simple_registrar("reg-a", "right-pw-16chars").await;
            let other = env.simple_registrar("reg-b", "right-pw-16chars").await;
            let good = selecting_xml("reg-a", "right-pw-16chars", None);
            assert_eq!(ask(&env, &id, &good, &frames).await.code, 1000);

            // Four failures naming reg-a: three wrong passwords with its own certificate,
            // one from another registrar's certificate (an outsider trying the clID).
            for _ in 0..3 {
                let a = ask(
                    &env,
                    &id,
                    &login_xml("reg-a", "wrong-pw-1", None, "F-1"),
                    &frames,
                )
                .await;
                assert_eq!(a.code, 2200);
            }
            let a = ask(
                &env,
                &other,
                &login_xml("reg-a", "right-pw-16chars", None, "F-2"),
                &frames,
            )
            .await;
            assert_eq!(a.code, 2200);

            let a = ask(&env, &id, &good, &frames).await;
            assert_eq!(a.code, 1000, "{}", a.xml);
            let stat = events(&a)
                .into_iter()
                .find(|e| e.kind == EventType::Stat)
                .expect("stat event");
            assert_eq!(stat.name.as_deref(), Some("failedLogins"));
            assert_eq!(stat.value.as_deref(), Some("4"), "{stat:?}");
            assert!(stat.text.contains("127.0.0.1"), "{stat:?}");

            // Counted since the last success: the next login has nothing to report.
            let a = ask(&env, &id, &good, &frames).await;
            assert_eq!(a.code, 1000);
            assert!(!kinds(&a).contains(&EventType::Stat), "{}", a.xml);
            frames.validate();
        },
    )
    .await;
}

async fn password_age(backend: Backend) {
    run(
        backend,
        |c| {
            c.password.max_age_days = 90;
            c.password.expiry_warning_days = 14;
        },
        |env| async move {
            let frames = Frames::default();
            let id = env.simple_registrar("reg-a", "right-pw-16chars").await;
            let good = selecting_xml("reg-a", "right-pw-16chars", None);
            let a = ask(&env, &id, &good, &frames).await;
            assert_eq!(a.code, 1000);
            assert!(!kinds(&a).contains(&EventType::Password), "{}", a.xml);

            // In the password's last 14 days: a warning with its end.
            env.clock.advance(Duration::days(80));
            let a = ask(&env, &id, &good, &frames).await;
            assert_eq!(a.code, 1000);
            let w = events(&a)
                .into_iter()
                .find(|e| e.kind == EventType::Password)
                .expect("password warning");
            assert_eq!(w.level, EventLevel::Warning);
            let end = w.ex_date.expect("exDate");

            // Past it: 2200 with an error event, with or without loginSec; audited.
            env.clock.advance(Duration::days(11));
            assert!(env.clock.now() > end);
            let a = ask(&env, &id, &good, &frames).await;
            assert_eq!(a.code, 2200, "{}", a.xml);
            let e = events(&a);
            assert_eq!(
                (e[0].kind, e[0].level, e[0].ex_date),
                (EventType::Password, EventLevel::Error, Some(end))
            );
            let row = env.audit().await.pop().expect("row");
            assert_eq!(
                (row.outcome, row.reason.as_str()),
                (LoginOutcome::Refused, "password_expired")
            );
            let a = ask(
                &env,
                &id,
                &login_xml("reg-a", "right-pw-16chars", None, "E-1"),
                &frames,
            )
            .await;
            assert_eq!(a.code, 2200);

            // A login that sets a new password gets in, and the new one is fresh.
            let renew = selecting_xml("reg-a", "right-pw-16chars", Some("fresh-pw-16chars"));
            let a = ask(&env, &id, &renew, &frames).await;
            assert_eq!(a.code, 1000, "{}", a.xml);
            assert!(!kinds(&a).contains(&EventType::Password));
            let fresh = selecting_xml("reg-a", "fresh-pw-16chars", None);
            let a = ask(&env, &id, &fresh, &frames).await;
            assert_eq!(a.code, 1000);
            assert!(!kinds(&a).contains(&EventType::Password), "{}", a.xml);
            frames.validate();
        },
    )
    .await;
}

async fn new_password_policy(backend: Backend) {
    run(
        backend,
        |c| c.password.blacklist.push("Registry-Password-2026".into()),
        |env| async move {
            let frames = Frames::default();
            let id = env.simple_registrar("registrar-x-2026", LONG_PW).await;
            for (case, new) in [
                ("shorter than 16", "short-new-pw-1"),
                ("equals the clID", "REGISTRAR-X-2026"),
                ("denied", "registry-password-2026"),
                ("unchanged", LONG_PW),
            ] {
                let new_pw_el = if new.len() > 16 { SENTINEL } else { new };
                let ls_new = (new.len() > 16).then_some(new);
                let xml = login_sec_xml(
                    "registrar-x-2026",
                    SENTINEL,
                    Some(new_pw_el),
                    Some(LONG_PW),
                    ls_new,
                    true,
                );
                let a = ask(&env, &id, &xml, &frames).await;
                assert_eq!(a.code, 2306, "{case}: {}", a.xml);
                let e = events(&a);
                assert_eq!(
                    (e.len(), e[0].kind, e[0].level),
                    (1, EventType::NewPw, EventLevel::Error),
                    "{case}: {e:?}"
                );
                let row = env.audit().await.pop().expect("row");
                assert_eq!(row.reason, "new_password_policy", "{case}");
            }
            frames.validate();
        },
    )
    .await;
}
