//! Sessions over real TLS (RFC 5730 sections 2.4, 2.9.1, 3; RFC 5734): greeting and hello,
//! command use errors, the dispatch seam, decode errors, session limit, idle and slow-frame
//! timeouts, oversized frames, garbage around frames, suspension across frontends, graceful
//! shutdown. Each test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use epp_proto::response::TrId;
use epp_proto::{ClientId, CommandFrame, Response, ResultCode};
use eppd::{CommandContext, CommandHandler, UnimplementedHandler};
use registry_core::clock::Clock;
use support::*;

both_backends!(
    greeting_and_hello,
    command_use_and_login_options,
    dispatch_and_decode_errors,
    session_limit,
    idle_and_slow_frame_timeouts,
    oversized_frame_and_garbage,
    suspension_cuts_live_sessions_on_every_frontend,
    graceful_shutdown_finishes_commands_in_flight,
);

async fn greeting_and_hello(backend: Backend) {
    run(
        backend,
        |_| {},
        |env| async move {
            let id = env.simple_registrar("reg-a", "right-pw-1").await;
            let tcp = Client::tcp(env.addr, LOCAL).await.expect("tcp");
            let mut c = Client::over(tcp, &env.pki, Some(&id))
                .await
                .expect("greeting on connect");
            let g = c.hello().await.expect("hello");
            assert!(g.is_greeting());
            assert_eq!(element_text(&g.xml, "svID").as_deref(), Some("eppd-test"));
            assert!(element_text(&g.xml, "svDate").is_some());
            assert_eq!(
                element_texts(&g.xml, "objURI"),
                vec![DOMAIN_NS, HOST_NS, CONTACT_NS]
            );
            assert_eq!(
                element_texts(&g.xml, "extURI"),
                vec![
                    SEC_DNS_NS,
                    RGP_NS,
                    epp_proto::ext::registry_lock::NS,
                    epp_proto::ns::SECURE_AUTHINFO,
                    epp_proto::ext::login_sec::NS,
                    epp_proto::ext::change_poll::NS,
                ]
            );
            assert!(g.xml.contains("dcp"), "data collection policy present");
            assert_eq!(
                c.login("reg-a", "right-pw-1").await.expect("login").code,
                1000
            );
            assert!(c.hello().await.expect("hello after login").is_greeting());
        },
    )
    .await;
}

async fn command_use_and_login_options(backend: Backend) {
    run(
        backend,
        |_| {},
        |env| async move {
            let id = env.simple_registrar("reg-a", "right-pw-1").await;
            let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
            let a = c
                .request(&domain_check_xml("example.test", "ABC-before"))
                .await
                .expect("answer");
            assert_eq!(
                (a.code, a.cl_trid.as_deref()),
                (2002, Some("ABC-before")),
                "command before login"
            );
            assert_eq!(c.logout().await.expect("logout").code, 2002);

            let cases: [(LoginOptions<'_>, u16); 4] = [
                (
                    LoginOptions {
                        lang: "fr",
                        ..Default::default()
                    },
                    2102,
                ),
                (
                    LoginOptions {
                        obj_uris: vec![DOMAIN_NS, "urn:example:params:xml:ns:widget-1.0"],
                        ..Default::default()
                    },
                    2307,
                ),
                (
                    LoginOptions {
                        ext_uris: vec!["urn:ietf:params:xml:ns:fee-0.7"],
                        ..Default::default()
                    },
                    2103,
                ),
                (
                    LoginOptions {
                        version: "2.0",
                        ..Default::default()
                    },
                    2100,
                ),
            ];
            for (opts, code) in cases {
                let a = c
                    .request(&login_xml_with("reg-a", "right-pw-1", None, &opts, "OPT-1"))
                    .await
                    .expect("answer");
                // The XSD allows only version 1.0: a decoder may answer 2001/2005 instead of 2100.
                if code == 2100 {
                    assert!([2100, 2001, 2005].contains(&a.code), "{a:?}");
                } else {
                    assert_eq!(a.code, code, "{a:?}");
                }
                assert_eq!(a.cl_trid.as_deref(), Some("OPT-1"));
            }
            assert_eq!(
                c.login("reg-a", "right-pw-1").await.expect("login").code,
                1000
            );
            let again = c.login("reg-a", "right-pw-1").await.expect("second login");
            assert_eq!(again.code, 2002, "second login");
            // svTRIDs are all distinct.
            let mut trids = Vec::new();
            for i in 0..5 {
                let a = c
                    .request(&domain_check_xml("example.test", &format!("T-{i:03}")))
                    .await
                    .expect("answer");
                trids.push(a.sv_trid.expect("svTRID"));
            }
            trids.sort();
            trids.dedup();
            assert_eq!(trids.len(), 5);
            let bye = c.logout().await.expect("logout");
            assert_eq!(bye.code, 1500);
            assert!(c.is_closed().await, "logout closes");
        },
    )
    .await;
}

/// Records what the seam was given and answers 1000.
struct EchoHandler;

impl CommandHandler for EchoHandler {
    fn handle<'a>(
        &'a self,
        ctx: &'a CommandContext,
        cmd: CommandFrame,
    ) -> Pin<Box<dyn Future<Output = Response> + Send + 'a>> {
        Box::pin(async move {
            let mut r = Response::from_code(ResultCode::Success, TrId::default());
            r.results[0].msg = format!(
                "{} {} {} {} {}",
                ctx.cl_id,
                ctx.source_ip,
                ctx.cert_fingerprint,
                cmd.command.name(),
                ctx.ext_uris.len()
            );
            r
        })
    }
}

async fn dispatch_and_decode_errors(backend: Backend) {
    run_with(backend.clone(), |_| {}, Arc::new(EchoHandler), |env| async move {
        let id = env.simple_registrar("reg-a", "right-pw-1").await;
        let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
        let opts = LoginOptions { obj_uris: vec![DOMAIN_NS], ext_uris: vec![], ..Default::default() };
        assert_eq!(c.request(&login_xml_with("reg-a", "right-pw-1", None, &opts, "L-1")).await.expect("login").code, 1000);

        let a = c.request(&domain_check_xml("example.test", "CHK-1")).await.expect("answer");
        assert_eq!(a.code, 1000);
        assert_eq!(a.msg, format!("reg-a 127.0.0.1 {} domain:check 0", id.fingerprint.to_hex()));
        assert_eq!(a.cl_trid.as_deref(), Some("CHK-1"), "session sets the trID");
        assert!(a.sv_trid.is_some());

        // host was not selected at login.
        let host = command_xml(
            &format!(r#"<info><host:info xmlns:host="{HOST_NS}"><host:name>ns1.example.test</host:name></host:info></info>"#),
            "HOST-1",
        );
        let a = c.request(&host).await.expect("answer");
        assert_eq!((a.code, a.cl_trid.as_deref()), (2307, Some("HOST-1")));

        // Not XML at all: 2001, no clTRID to echo, session goes on.
        c.send("this is not XML").await.expect("send");
        let a = c.recv().await.expect("answer");
        assert_eq!(a.code, 2001, "{a:?}");
        // Schema error with a recoverable clTRID: its code, the clTRID echoed, a reason.
        let bad = command_xml(&format!(r#"<check><domain:check xmlns:domain="{DOMAIN_NS}"><domain:bogus/></domain:check></check>"#), "BAD-1");
        let a = c.request(&bad).await.expect("answer");
        assert!(a.code >= 2000 && a.code < 2100, "{a:?}");
        assert_eq!(a.cl_trid.as_deref(), Some("BAD-1"), "{a:?}");
        assert!(a.msg.len() > "Command syntax error".len(), "reason in msg: {a:?}");
        // The session survived all of it.
        assert_eq!(c.request(&domain_check_xml("example.test", "CHK-2")).await.expect("answer").code, 1000);
    })
    .await;

    // The placeholder handler answers 2101.
    run_with(
        backend,
        |_| {},
        Arc::new(UnimplementedHandler),
        |env| async move {
            let id = env.simple_registrar("reg-a", "right-pw-1").await;
            let mut c = env.logged_in(&id, "reg-a", "right-pw-1").await;
            let a = c
                .request(&domain_check_xml("example.test", "CHK-9"))
                .await
                .expect("answer");
            assert_eq!((a.code, a.cl_trid.as_deref()), (2101, Some("CHK-9")));
            let poll = command_xml(r#"<poll op="req"/>"#, "POLL-1");
            assert_eq!(c.request(&poll).await.expect("poll").code, 2101);
        },
    )
    .await;
}

async fn session_limit(backend: Backend) {
    run(
        backend,
        |_| {},
        |env| async move {
            let id = env.pki.client("reg-a");
            env.add_registrar(RegistrarSpec {
                cl_id: "reg-a",
                password: "right-pw-1",
                certs: vec![id.fingerprint],
                networks: vec!["127.0.0.1"],
                max_sessions: 2,
            })
            .await;
            let mut first = env.logged_in(&id, "reg-a", "right-pw-1").await;
            let _second = env.logged_in(&id, "reg-a", "right-pw-1").await;
            let mut third = env.connect(LOCAL, Some(&id)).await.expect("connect");
            let a = third.login("reg-a", "right-pw-1").await.expect("answer");
            assert_eq!(a.code, 2502, "{a:?}");
            assert!(third.is_closed().await, "2502 closes");
            let row = env.audit().await.pop().expect("row");
            assert_eq!(row.reason, "session_limit");
            assert_eq!(first.logout().await.expect("logout").code, 1500);
            assert!(first.is_closed().await);
            // The slot is free again (the session unregisters as it ends).
            eventually("a free session slot", || {
                let env = &env;
                let id = &id;
                async move {
                    let mut c = env.connect(LOCAL, Some(id)).await.expect("connect");
                    c.login("reg-a", "right-pw-1").await.expect("answer").code == 1000
                }
            })
            .await;
        },
    )
    .await;
}

async fn idle_and_slow_frame_timeouts(backend: Backend) {
    run(
        backend,
        |c| {
            c.timeouts.idle_ms = 300;
            c.timeouts.frame_ms = 200;
        },
        |env| async move {
            let id = env.simple_registrar("reg-a", "right-pw-1").await;
            // Idle: no frame for 300 ms → 2500 and close.
            let mut c = env.logged_in(&id, "reg-a", "right-pw-1").await;
            let t = Instant::now();
            let a = c.recv().await.expect("idle answer");
            assert_eq!(a.code, 2500, "{a:?}");
            assert!(
                t.elapsed() >= Duration::from_millis(250),
                "not before the idle timeout"
            );
            assert!(c.is_closed().await);

            // Slow frame: the header promises 100 bytes, 10 arrive, then nothing.
            let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
            c.send_raw(&[0, 0, 0, 104]).await.expect("header");
            c.send_raw(b"<?xml vers").await.expect("part");
            let t = Instant::now();
            let a = c.recv().await.expect("frame timeout answer");
            assert_eq!(a.code, 2500, "{a:?}");
            assert!(
                t.elapsed() < Duration::from_millis(290),
                "frame timeout, not idle timeout: {:?}",
                t.elapsed()
            );
            assert!(c.is_closed().await);

            // Half a header is a started frame too.
            let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
            c.send_raw(&[0, 0]).await.expect("half header");
            assert_eq!(c.recv().await.expect("answer").code, 2500);
            assert!(c.is_closed().await);
        },
    )
    .await;
}

async fn oversized_frame_and_garbage(backend: Backend) {
    run(
        backend,
        |_| {},
        |env| async move {
            let id = env.simple_registrar("reg-a", "right-pw-1").await;
            // A header claiming 1 GiB: answered at once (nothing allocated or read), then closed.
            let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
            c.send_raw(&(1u32 << 30).to_be_bytes())
                .await
                .expect("header");
            let a = c.recv().await.expect("answer");
            assert_eq!(a.code, 2500, "{a:?}");
            assert!(a.msg.contains("1073741824"), "msg names the size: {a:?}");
            assert!(c.is_closed().await);

            // Garbage in a well-framed payload, a valid hello right behind it in the same write.
            let mut c = env.connect(LOCAL, Some(&id)).await.expect("connect");
            let mut bytes = Vec::new();
            for payload in [b"\x00\xffgarbage<<<".to_vec(), hello_xml().into_bytes()] {
                bytes.extend_from_slice(
                    &u32::try_from(payload.len() + 4).expect("len").to_be_bytes(),
                );
                bytes.extend_from_slice(&payload);
            }
            c.send_raw(&bytes).await.expect("send");
            assert_eq!(c.recv().await.expect("garbage answer").code, 2001);
            assert!(c.recv().await.expect("hello answer").is_greeting());
            // Trailing junk after the document inside a frame.
            let junk = format!("{}trailing junk", hello_xml());
            assert_eq!(c.request(&junk).await.expect("answer").code, 2001);
            // A valid frame followed by bytes that are no frame header ("GET " = 1.2 GB).
            let mut bytes = Vec::new();
            let hello = hello_xml();
            bytes.extend_from_slice(&u32::try_from(hello.len() + 4).expect("len").to_be_bytes());
            bytes.extend_from_slice(hello.as_bytes());
            bytes.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
            c.send_raw(&bytes).await.expect("send");
            assert!(c.recv().await.expect("greeting").is_greeting());
            assert_eq!(c.recv().await.expect("answer").code, 2500);
            assert!(c.is_closed().await);
        },
    )
    .await;
}

async fn suspension_cuts_live_sessions_on_every_frontend(backend: Backend) {
    run(
        backend,
        |_| {},
        |env| async move {
            let id = env.simple_registrar("reg-a", "right-pw-1").await;
            let other = env.simple_registrar("reg-b", "right-pw-2").await;
            // A second frontend on the same database.
            let second = Frontend::start(
                env.config.clone(),
                env.db.clone(),
                Arc::new(UnimplementedHandler),
                Arc::new(env.clock.clone()),
            )
            .await;
            let mut a1 = env.logged_in(&id, "reg-a", "right-pw-1").await;
            let mut a2 = Client::connect(second.addr, LOCAL, &env.pki, Some(&id))
                .await
                .expect("connect 2");
            assert_eq!(
                a2.login("reg-a", "right-pw-1").await.expect("login 2").code,
                1000
            );
            let mut b = env.logged_in(&other, "reg-b", "right-pw-2").await;

            // svTRIDs differ across frontends sharing the database.
            let s1 = a1
                .request(&domain_check_xml("x.test", "S-1"))
                .await
                .expect("a1")
                .sv_trid
                .expect("svTRID");
            let s2 = a2
                .request(&domain_check_xml("x.test", "S-1"))
                .await
                .expect("a2")
                .sv_trid
                .expect("svTRID");
            assert_ne!(
                s1.rsplit_once('-').map(|p| p.0),
                s2.rsplit_once('-').map(|p| p.0),
                "instance parts differ"
            );

            let t = Instant::now();
            env.db
                .suspend_registrar(
                    &ClientId::new("reg-a").expect("clID"),
                    "abuse",
                    env.clock.now(),
                )
                .await
                .expect("suspend");
            for c in [&mut a1, &mut a2] {
                let a = c.recv().await.expect("suspension answer");
                assert_eq!(a.code, 2500, "{a:?}");
                assert!(c.is_closed().await);
            }
            assert!(
                t.elapsed() < Duration::from_secs(1),
                "cut within 1 s: {:?}",
                t.elapsed()
            );
            // Other registrars are untouched; new logins of the suspended one are refused.
            assert_eq!(
                b.request(&domain_check_xml("x.test", "B-1"))
                    .await
                    .expect("b")
                    .code,
                2101
            );
            let mut again = env.connect(LOCAL, Some(&id)).await.expect("connect");
            assert_eq!(
                again
                    .login("reg-a", "right-pw-1")
                    .await
                    .expect("answer")
                    .code,
                2200
            );
            second.stop().await.expect("second frontend stops");
        },
    )
    .await;
}

/// Takes a while, so that shutdown arrives while the command is in flight.
struct SlowHandler;

impl CommandHandler for SlowHandler {
    fn handle<'a>(
        &'a self,
        _ctx: &'a CommandContext,
        _cmd: CommandFrame,
    ) -> Pin<Box<dyn Future<Output = Response> + Send + 'a>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Response::from_code(ResultCode::Success, TrId::default())
        })
    }
}

async fn graceful_shutdown_finishes_commands_in_flight(backend: Backend) {
    run_with(
        backend,
        |_| {},
        Arc::new(SlowHandler),
        |mut env| async move {
            let id = env.simple_registrar("reg-a", "right-pw-1").await;
            let mut busy = env.logged_in(&id, "reg-a", "right-pw-1").await;
            let mut idle = env.logged_in(&id, "reg-a", "right-pw-1").await;
            busy.send(&domain_check_xml("x.test", "SLOW-1"))
                .await
                .expect("send");
            tokio::time::sleep(Duration::from_millis(100)).await; // the command is now running
            let server = env.take_server();
            let addr = server.addr;
            server.shutdown.trigger();
            // The idle session is closed at once with 2500.
            assert_eq!(idle.recv().await.expect("idle answer").code, 2500);
            assert!(idle.is_closed().await);
            // The busy one gets its answer first, then 2500.
            let a = busy.recv().await.expect("in-flight answer");
            assert_eq!((a.code, a.cl_trid.as_deref()), (1000, Some("SLOW-1")));
            assert_eq!(busy.recv().await.expect("closing answer").code, 2500);
            assert!(busy.is_closed().await);
            let t = Instant::now();
            server.stop().await.expect("run returns Ok");
            assert!(t.elapsed() < Duration::from_secs(3));
            // No longer accepting.
            assert!(Client::connect(addr, LOCAL, &env.pki, Some(&id))
                .await
                .is_err());
        },
    )
    .await;
}
