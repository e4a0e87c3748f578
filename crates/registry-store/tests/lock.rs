//! Registry lock (issue #5) at the core level, on SQLite and (with `EPP_TEST_PG_URL`)
//! PostgreSQL: requests over EPP and by the operator, codes mailed through a real SMTP
//! exchange with a listener on 127.0.0.1 written here, verification rules, enforcement while
//! locked (one check per row of the table), timed unlock, an unreachable relay.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::IpAddr;
use std::time::Duration as StdDuration;

use chrono::Duration;
use common::*;
use epp_proto::domain::*;
use epp_proto::ext::registry_lock::{LockRequestState, RegistryLockCommand, UnlockDuration};
use epp_proto::ext::sec_dns::*;
use epp_proto::ext::{CommandExtension, ResponseExtension};
use epp_proto::host::*;
use epp_proto::*;
use registry_core::config::{MailChannel, MailConfig};
use registry_core::model::LockContact;
use registry_core::{ObjectRef, VerifyOutcome};
use registry_mail::Mailer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

macro_rules! battery {
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

battery!(
    lock_flow_over_smtp,
    lock_enforcement,
    wrong_expired_reused_codes,
    request_rules,
    unreachable_relay_never_applies,
    operator_request_and_reject,
);

const A: &str = "registrarA";
const B: &str = "registrarB";
const OP: &str = "alice";

/// A minimal SMTP server on 127.0.0.1:0: accepts every message and hands its DATA on.
struct SmtpSink {
    addr: String,
    rx: mpsc::UnboundedReceiver<String>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    w.write_all(b"220 sink.test ESMTP\r\n").await.unwrap();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let cmd = line.trim_end().to_ascii_uppercase();
                        if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                            w.write_all(b"250 sink.test\r\n").await.unwrap();
                        } else if cmd == "DATA" {
                            w.write_all(b"354 go ahead\r\n").await.unwrap();
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    break;
                                }
                                data.push_str(&line);
                            }
                            let _ = tx.send(data);
                            w.write_all(b"250 queued\r\n").await.unwrap();
                        } else if cmd == "QUIT" {
                            w.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        } else {
                            w.write_all(b"250 ok\r\n").await.unwrap();
                        }
                    }
                });
            }
        });
        Self { addr, rx, task }
    }

    fn mailer(&self) -> Mailer {
        mailer_to(&self.addr)
    }

    /// The next message received (waits at most 10 s).
    async fn next(&mut self) -> String {
        tokio::time::timeout(StdDuration::from_secs(10), self.rx.recv())
            .await
            .expect("no mail within 10 s")
            .expect("sink closed")
    }

    /// Messages already received, without waiting.
    fn drain(&mut self) -> Vec<String> {
        let mut v = Vec::new();
        while let Ok(m) = self.rx.try_recv() {
            v.push(m);
        }
        v
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn mailer_to(addr: &str) -> Mailer {
    Mailer::from_config(&MailConfig {
        channel: MailChannel::Smtp,
        smtp_relay: addr.to_owned(),
        from: "registry-lock@nic.test".into(),
        timeout_secs: 5,
        ..MailConfig::default()
    })
    .unwrap()
}

/// The confirmation code in a mail: `XXXXX-XXXXX` from the code alphabet.
fn code_in(mail: &str) -> String {
    let ok = |c: u8| c.is_ascii_uppercase() && c != b'I' && c != b'O' || (b'2'..=b'9').contains(&c);
    for line in mail.lines() {
        let t = line.trim().as_bytes();
        if t.len() == 11 && t[5] == b'-' && t.iter().enumerate().all(|(i, c)| i == 5 || ok(*c)) {
            return String::from_utf8(t.to_vec()).unwrap();
        }
    }
    panic!("no code in mail:\n{mail}")
}

fn lock_ext(cmd: RegistryLockCommand) -> Vec<CommandExtension> {
    vec![CommandExtension::RegistryLock(cmd)]
}

const UNLOCK: RegistryLockCommand = RegistryLockCommand::Unlock { duration: None };

async fn set_contact(env: &Env, cl: &str) {
    env.reg
        .store()
        .set_lock_contact(
            &LockContact {
                cl_id: cl.into(),
                name: "Lock Keeper".into(),
                phone: "+1.5555550100".into(),
                email: format!("lock@{}.example", cl.to_lowercase()),
            },
            env.reg.now(),
        )
        .await
        .unwrap();
}

/// Files a request over EPP; returns its id (asserting 1001 and state codeNotSent).
async fn request(env: &Env, cl: &str, name: &str, cmd: RegistryLockCommand) -> i64 {
    let out = env
        .run_ext(cl, upd(domain_update(name)), lock_ext(cmd))
        .await
        .unwrap();
    assert_eq!(out.code.code(), 1001);
    match out.extensions.as_slice() {
        [ResponseExtension::RegistryLock(d)] => {
            assert_eq!(d.state, LockRequestState::CodeNotSent);
            assert_eq!(d.name.as_str(), name);
            i64::try_from(d.id).unwrap()
        }
        other => panic!("unexpected extensions {other:?}"),
    }
}

/// Request, mail, verify: the full path to a locked (or unlocked) domain.
async fn confirm(env: &Env, sink: &mut SmtpSink, id: i64) -> VerifyOutcome {
    assert!(env.reg.send_mail(&sink.mailer()).await.unwrap() >= 1);
    let code = code_mail(sink, id).await;
    env.reg.lock_verify(OP, id, &code).await.unwrap()
}

/// The code from the code mail of request `id` (other mail received meanwhile is skipped).
async fn code_mail(sink: &mut SmtpSink, id: i64) -> String {
    loop {
        let m = sink.next().await;
        if m.contains(&format!("request {id} for")) && m.contains("confirmation code") {
            return code_in(&m);
        }
    }
}

async fn lock(env: &Env, sink: &mut SmtpSink, name: &str) {
    let id = request(env, A, name, RegistryLockCommand::Lock).await;
    assert_eq!(confirm(env, sink, id).await, VerifyOutcome::Applied);
}

async fn statuses(env: &Env, name: &str) -> Vec<String> {
    let (d, _) = env.domain_info(A, name).await;
    let mut v: Vec<String> = d
        .statuses
        .iter()
        .map(|s| s.status.as_str().to_owned())
        .collect();
    v.sort();
    v
}

async fn host_statuses(env: &Env, name: &str) -> Vec<String> {
    let out = env
        .run(A, Command::Host(HostCommand::Info(hn(name))))
        .await
        .unwrap();
    let Some(ResponseData::HostInfo(h)) = out.res_data else {
        panic!("no host info")
    };
    let mut v: Vec<String> = h
        .statuses
        .iter()
        .map(|s| s.status.as_str().to_owned())
        .collect();
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

async fn state(env: &Env, id: i64) -> String {
    env.reg.lock_request(id).await.unwrap().0.state
}

async fn history_ops(env: &Env, name: &str) -> Vec<(String, String)> {
    env.reg
        .history(&ObjectRef::Domain(name.into()))
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.op.starts_with("lock:"))
        .map(|h| (h.op, h.cl_id))
        .collect()
}

/// A domain with one subordinate host and one external name server.
async fn setup(env: &Env, name: &str) {
    env.setup_domain(A, name).await;
    let ns1 = format!("ns1.{name}");
    assert_eq!(env.code(A, create_host(&ns1, &["192.0.2.1"])).await, 1000);
    assert_eq!(
        env.code(A, create_host("ns.other.example", &[])).await,
        1000
    );
    let mut u = domain_update(name);
    u.add.ns = Some(NameServers::HostObj(vec![hn(&ns1)]));
    assert_eq!(env.code(A, upd(u)).await, 1000);
}

async fn lock_flow_over_smtp(env: &Env) {
    set_contact(env, A).await;
    setup(env, "locked.test").await;
    // A server status set by other means before the lock: the lock must not take it away.
    env.reg
        .set_server_statuses(
            &ObjectRef::Domain("locked.test".into()),
            &["serverTransferProhibited"],
            &[],
        )
        .await
        .unwrap();
    let mut sink = SmtpSink::start().await;
    let id = request(env, A, "locked.test", RegistryLockCommand::Lock).await;
    // No code has gone out yet: nothing to verify.
    assert_eq!(rc(env.reg.lock_verify(OP, id, "AAAAA-AAAAA").await), 2304);
    assert_eq!(state(env, id).await, "codeNotSent");
    assert_eq!(env.reg.send_mail(&sink.mailer()).await.unwrap(), 1);
    let mail = sink.next().await;
    assert!(mail.contains("lock@registrara.example"), "{mail}");
    assert!(mail.contains("locked.test"), "{mail}");
    let code = code_in(&mail);
    assert_eq!(state(env, id).await, "pendingVerification");
    // The stored request and the outbox no longer hold the code.
    let (req, mails) = env.reg.lock_request(id).await.unwrap();
    assert!(!serde_json::to_string(&req.summary())
        .unwrap()
        .contains(&code));
    assert!(mails
        .iter()
        .all(|m| !m.body.contains(&code) && m.sent.is_some()));
    // One wrong code, then the right one.
    assert_eq!(
        env.reg.lock_verify(OP, id, "AAAAA-AAAAA").await.unwrap(),
        VerifyOutcome::WrongCode { attempts_left: 2 }
    );
    assert_eq!(
        env.reg
            .lock_verify(OP, id, &code.to_lowercase())
            .await
            .unwrap(),
        VerifyOutcome::Applied
    );
    assert_eq!(state(env, id).await, "applied");
    assert_eq!(
        statuses(env, "locked.test").await,
        strs(&[
            "serverUpdateProhibited",
            "serverDeleteProhibited",
            "serverTransferProhibited"
        ])
    );
    assert_eq!(
        host_statuses(env, "ns1.locked.test").await,
        strs(&["linked", "serverUpdateProhibited", "serverDeleteProhibited"])
    );
    // The registrar was told: a poll message, and a mail to its lock contact.
    let polls = poll_texts(env, A).await;
    assert!(
        polls
            .iter()
            .any(|m| m.contains("verified; the domain is locked")),
        "{polls:?}"
    );
    env.reg.send_mail(&sink.mailer()).await.unwrap();
    assert!(sink.next().await.contains("the domain is locked"));
    // The code is single use.
    assert_eq!(rc(env.reg.lock_verify(OP, id, &code).await), 2304);

    // Timed unlock for an hour, then the scheduler relocks.
    let d = UnlockDuration::from_secs(3600);
    let id2 = request(
        env,
        A,
        "locked.test",
        RegistryLockCommand::Unlock { duration: d },
    )
    .await;
    let out = confirm(env, &mut sink, id2).await;
    assert!(
        matches!(out, VerifyOutcome::Released { relock_at: Some(_) }),
        "{out:?}"
    );
    // Exactly what the lock added is gone; serverTransferProhibited (set before) stays.
    assert_eq!(
        statuses(env, "locked.test").await,
        strs(&["serverTransferProhibited"])
    );
    assert_eq!(
        host_statuses(env, "ns1.locked.test").await,
        strs(&["linked"])
    );
    let mut u = domain_update("locked.test");
    u.add
        .statuses
        .push(StatusEntry::new(DomainStatus::ClientHold));
    assert_eq!(env.code(A, upd(u)).await, 1000, "unlocked: updates work");
    env.clock.advance(Duration::minutes(61));
    assert!(env.reg.run_due(env.reg.now()).await.unwrap() >= 1);
    assert_eq!(
        statuses(env, "locked.test").await,
        strs(&[
            "clientHold",
            "serverUpdateProhibited",
            "serverDeleteProhibited",
            "serverTransferProhibited"
        ])
    );
    assert_eq!(
        host_statuses(env, "ns1.locked.test").await,
        strs(&["linked", "serverUpdateProhibited", "serverDeleteProhibited"])
    );
    // Untimed unlock: released for good, pre-existing status still there.
    let id3 = request(env, A, "locked.test", UNLOCK).await;
    assert!(matches!(
        confirm(env, &mut sink, id3).await,
        VerifyOutcome::Released { relock_at: None }
    ));
    assert_eq!(
        statuses(env, "locked.test").await,
        strs(&["clientHold", "serverTransferProhibited"])
    );
    // Every step is in the domain's history, with its actor.
    let ops = history_ops(env, "locked.test").await;
    let has = |op: &str, actor: &str| ops.iter().any(|(o, a)| o == op && a == actor);
    assert!(has("lock:requested", A), "{ops:?}");
    assert!(has("lock:codeSent", "registry"), "{ops:?}");
    assert!(has("lock:verifyAttempt:wrong", "operator:alice"), "{ops:?}");
    assert!(has("lock:verifyAttempt:right", "operator:alice"), "{ops:?}");
    assert!(has("lock:applied", "operator:alice"), "{ops:?}");
    assert!(has("lock:released", "operator:alice"), "{ops:?}");
    assert!(has("lock:relocked", "registry"), "{ops:?}");
}

/// Reads and acknowledges every poll message of `cl`.
async fn poll_texts(env: &Env, cl: &str) -> Vec<String> {
    let mut v = Vec::new();
    while let Some(q) = env.run(cl, poll_req()).await.unwrap().msg_q {
        v.push(q.msg.unwrap_or_default());
        assert_eq!(env.code(cl, poll_ack(q.id.as_str())).await, 1000);
    }
    v
}

/// The result code of a core call that is not an EPP command.
fn rc<T>(r: Result<T, registry_core::CoreError>) -> u16 {
    match r {
        Ok(_) => 1000,
        Err(e) => e.result_code().code(),
    }
}

async fn lock_enforcement(env: &Env) {
    set_contact(env, A).await;
    setup(env, "enf.test").await;
    assert_eq!(env.code(A, create_contact("lk2")).await, 1000);
    let mut sink = SmtpSink::start().await;
    lock(env, &mut sink, "enf.test").await;
    let n = "enf.test";
    let sec = |s: SecDnsUpdate| vec![CommandExtension::SecDnsUpdate(s)];
    let ds = || {
        DsOrKeyData::Ds(vec![DsData {
            key_tag: 1,
            alg: 13,
            digest_type: 2,
            digest: "A1".repeat(32),
            key_data: None,
        }])
    };
    let plain = |f: &dyn Fn(&mut DomainUpdate)| {
        let mut u = domain_update(n);
        f(&mut u);
        upd(u)
    };
    let rows: Vec<(&str, Command, Vec<CommandExtension>)> = vec![
        (
            "ns add",
            plain(&|u| u.add.ns = Some(NameServers::HostObj(vec![hn("ns.other.example")]))),
            vec![],
        ),
        (
            "ns rem",
            plain(&|u| u.rem.ns = Some(NameServers::HostObj(vec![hn("ns1.enf.test")]))),
            vec![],
        ),
        (
            "contact add",
            plain(&|u| {
                u.add.contacts.push(DomainContact {
                    contact_type: ContactType::Tech,
                    id: ContactId::new("lk2").unwrap(),
                })
            }),
            vec![],
        ),
        (
            "registrant",
            plain(&|u| {
                u.chg = Some(DomainChg {
                    registrant: Some(Some(ContactId::new("lk2").unwrap())),
                    auth_info: None,
                })
            }),
            vec![],
        ),
        (
            "authInfo",
            plain(&|u| {
                u.chg = Some(DomainChg {
                    registrant: None,
                    auth_info: Some(AuthInfoChange::Set(auth("newpw123"))),
                })
            }),
            vec![],
        ),
        (
            "client status",
            plain(&|u| {
                u.add
                    .statuses
                    .push(StatusEntry::new(DomainStatus::ClientHold))
            }),
            vec![],
        ),
        (
            "secDNS add",
            plain(&|_| {}),
            sec(SecDnsUpdate {
                urgent: false,
                rem: None,
                add: Some(ds()),
                chg_max_sig_life: None,
            }),
        ),
        (
            "secDNS rem",
            plain(&|_| {}),
            sec(SecDnsUpdate {
                urgent: false,
                rem: Some(SecDnsRem::Data(ds())),
                add: None,
                chg_max_sig_life: None,
            }),
        ),
        (
            "secDNS chg",
            plain(&|_| {}),
            sec(SecDnsUpdate {
                urgent: false,
                rem: None,
                add: None,
                chg_max_sig_life: Some(86_400),
            }),
        ),
        (
            "secDNS rem all",
            plain(&|_| {}),
            sec(SecDnsUpdate {
                urgent: false,
                rem: Some(SecDnsRem::All),
                add: None,
                chg_max_sig_life: None,
            }),
        ),
        ("delete", delete_domain(n), vec![]),
        (
            "host addr add",
            Command::Host(HostCommand::Update(HostUpdate {
                name: hn("ns1.enf.test"),
                add: HostAddRem {
                    addrs: vec!["192.0.2.2".parse::<IpAddr>().unwrap()],
                    statuses: vec![],
                },
                rem: HostAddRem::default(),
                new_name: None,
            })),
            vec![],
        ),
        (
            "host rename",
            Command::Host(HostCommand::Update(HostUpdate {
                name: hn("ns1.enf.test"),
                add: HostAddRem::default(),
                rem: HostAddRem::default(),
                new_name: Some(hn("ns9.enf.test")),
            })),
            vec![],
        ),
        (
            "host status",
            Command::Host(HostCommand::Update(HostUpdate {
                name: hn("ns1.enf.test"),
                add: HostAddRem {
                    addrs: vec![],
                    statuses: vec![StatusEntry::new(HostStatus::ClientDeleteProhibited)],
                },
                rem: HostAddRem::default(),
                new_name: None,
            })),
            vec![],
        ),
        (
            "host delete",
            Command::Host(HostCommand::Delete(hn("ns1.enf.test"))),
            vec![],
        ),
        (
            "new subordinate host",
            create_host("ns2.enf.test", &["192.0.2.3"]),
            vec![],
        ),
    ];
    for (label, cmd, ext) in rows {
        assert_eq!(env.code_ext(A, cmd, ext).await, 2304, "{label}");
    }
    // A host renamed from elsewhere into the locked domain is new glue too.
    env.setup_domain(A, "other.test").await;
    assert_eq!(
        env.code(A, create_host("ns1.other.test", &["192.0.2.9"]))
            .await,
        1000
    );
    let rename_in = Command::Host(HostCommand::Update(HostUpdate {
        name: hn("ns1.other.test"),
        add: HostAddRem::default(),
        rem: HostAddRem::default(),
        new_name: Some(hn("ns3.enf.test")),
    }));
    assert_eq!(env.code(A, rename_in).await, 2304, "rename into");
    // Transfer request by another registrar.
    assert_eq!(
        env.code(B, transfer(n, TransferOp::Request, Some("domainpw1")))
            .await,
        2304,
        "transfer"
    );
    // Renew and info still work.
    let (d, _) = env.domain_info(A, n).await;
    assert_eq!(
        env.code(A, renew(n, d.ex_date.unwrap().date_naive(), 1))
            .await,
        1000,
        "renew"
    );
    // The operator cannot delete it either while the lock holds.
    assert_eq!(
        rc(env
            .reg
            .registry_delete_domain(OP, n, "court order", false)
            .await),
        2304
    );
    // Nothing changed.
    assert_eq!(
        statuses(env, n).await,
        strs(&[
            "serverUpdateProhibited",
            "serverDeleteProhibited",
            "serverTransferProhibited"
        ])
    );
    let (d, _) = env.domain_info(A, n).await;
    assert_eq!(d.hosts.len(), 1);
    // The way out is still open: an unlock request is accepted while locked.
    request(env, A, n, UNLOCK).await;
}

async fn wrong_expired_reused_codes(env: &Env) {
    set_contact(env, A).await;
    setup(env, "codes.test").await;
    let mut sink = SmtpSink::start().await;
    // Three wrong codes: the third fails the request; the fourth attempt, even with the
    // right code, is refused; the domain is as it was.
    let id = request(env, A, "codes.test", RegistryLockCommand::Lock).await;
    env.reg.send_mail(&sink.mailer()).await.unwrap();
    let code = code_in(&sink.next().await);
    for left in [2, 1] {
        assert_eq!(
            env.reg.lock_verify(OP, id, "ZZZZZ-ZZZZZ").await.unwrap(),
            VerifyOutcome::WrongCode {
                attempts_left: left
            }
        );
    }
    assert_eq!(
        env.reg.lock_verify(OP, id, "ZZZZZ-ZZZZZ").await.unwrap(),
        VerifyOutcome::Failed
    );
    assert_eq!(state(env, id).await, "failed");
    assert_eq!(
        rc(env.reg.lock_verify(OP, id, &code).await),
        2304,
        "4th attempt"
    );
    assert_eq!(statuses(env, "codes.test").await, strs(&["ok"]));
    // Expired: the clock moves past 24 h; the right code then closes the request unapplied.
    let id = request(env, A, "codes.test", RegistryLockCommand::Lock).await;
    env.reg.send_mail(&sink.mailer()).await.unwrap();
    let code = code_mail(&mut sink, id).await;
    env.clock
        .advance(Duration::hours(24) + Duration::seconds(1));
    assert_eq!(
        env.reg.lock_verify(OP, id, &code).await.unwrap(),
        VerifyOutcome::Expired
    );
    assert_eq!(state(env, id).await, "expired");
    assert_eq!(statuses(env, "codes.test").await, strs(&["ok"]));
    assert_eq!(
        rc(env.reg.lock_verify(OP, id, &code).await),
        2304,
        "reused after expiry"
    );
    // Expiry by the scheduler, without anyone entering a code.
    let id = request(env, A, "codes.test", RegistryLockCommand::Lock).await;
    env.clock.advance(Duration::hours(25));
    env.reg.run_due(env.reg.now()).await.unwrap();
    assert_eq!(state(env, id).await, "expired");
    // Its code mail was never sent, and never will be.
    let (_, mails) = env.reg.lock_request(id).await.unwrap();
    assert!(mails.iter().all(|m| m.kind != "lockCode"), "{mails:?}");
    let ops = history_ops(env, "codes.test").await;
    assert!(ops.iter().any(|(o, _)| o == "lock:failed"));
    assert_eq!(
        ops.iter().filter(|(o, _)| o == "lock:expired").count(),
        2,
        "{ops:?}"
    );
    assert_eq!(
        ops.iter()
            .filter(|(o, _)| o == "lock:verifyAttempt:wrong")
            .count(),
        3
    );
    // An unknown request id.
    assert_eq!(rc(env.reg.lock_verify(OP, 999_999, &code).await), 2303);
}

async fn request_rules(env: &Env) {
    set_contact(env, A).await;
    setup(env, "rules.test").await;
    let mut sink = SmtpSink::start().await;
    // Not the sponsor.
    assert_eq!(
        env.code_ext(
            B,
            upd(domain_update("rules.test")),
            lock_ext(RegistryLockCommand::Lock)
        )
        .await,
        2201
    );
    // Unlock of a domain that is not locked.
    assert_eq!(
        env.code_ext(A, upd(domain_update("rules.test")), lock_ext(UNLOCK))
            .await,
        2304
    );
    // Not alone in the update.
    let mut u = domain_update("rules.test");
    u.add
        .statuses
        .push(StatusEntry::new(DomainStatus::ClientHold));
    assert_eq!(
        env.code_ext(A, upd(u), lock_ext(RegistryLockCommand::Lock))
            .await,
        2306
    );
    // Not on a create.
    assert_eq!(
        env.code_ext(
            A,
            create_domain("new.test", "c-rules-test", &[]),
            lock_ext(RegistryLockCommand::Lock)
        )
        .await,
        2002
    );
    // One open request per domain.
    request(env, A, "rules.test", RegistryLockCommand::Lock).await;
    assert_eq!(
        env.code_ext(
            A,
            upd(domain_update("rules.test")),
            lock_ext(RegistryLockCommand::Lock)
        )
        .await,
        2304
    );
    let open = env.reg.lock_requests(true, 10).await.unwrap();
    let id = open[0].id;
    assert_eq!(confirm(env, &mut sink, id).await, VerifyOutcome::Applied);
    // Already locked: refused (2304), not a silent no-op.
    assert_eq!(
        env.code_ext(
            A,
            upd(domain_update("rules.test")),
            lock_ext(RegistryLockCommand::Lock)
        )
        .await,
        2304
    );
    // A registrar with no designated lock contact cannot file requests.
    env.setup_domain(B, "nocontact.test").await;
    assert_eq!(
        env.code_ext(
            B,
            upd(domain_update("nocontact.test")),
            lock_ext(RegistryLockCommand::Lock)
        )
        .await,
        2306
    );
}

async fn unreachable_relay_never_applies(env: &Env) {
    set_contact(env, A).await;
    setup(env, "relay.test").await;
    // A port nobody listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mailer = mailer_to(&dead);
    let id = request(env, A, "relay.test", RegistryLockCommand::Lock).await;
    assert_eq!(env.reg.send_mail(&mailer).await.unwrap(), 0);
    // Visible: still "code not sent", with the attempt and its error.
    let open = env.reg.lock_requests(true, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].state, "codeNotSent");
    let (_, mails) = env.reg.lock_request(id).await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].attempts, 1);
    assert!(mails[0].last_error.is_some());
    assert!(mails[0].sent.is_none());
    // Not due again before the back-off; due after it, and it fails again.
    assert_eq!(env.reg.send_mail(&mailer).await.unwrap(), 0);
    assert_eq!(env.reg.lock_request(id).await.unwrap().1[0].attempts, 1);
    env.clock.advance(Duration::seconds(61));
    assert_eq!(env.reg.send_mail(&mailer).await.unwrap(), 0);
    assert_eq!(env.reg.lock_request(id).await.unwrap().1[0].attempts, 2);
    // Nothing can be verified, and the domain is not locked.
    assert_eq!(rc(env.reg.lock_verify(OP, id, "AAAAA-AAAAA").await), 2304);
    assert_eq!(statuses(env, "relay.test").await, strs(&["ok"]));
    let ops = history_ops(env, "relay.test").await;
    assert_eq!(
        ops.iter().filter(|(o, _)| o == "lock:codeNotSent").count(),
        2,
        "{ops:?}"
    );
    // When the relay is back, the retry goes out and verification works.
    let mut sink = SmtpSink::start().await;
    env.clock.advance(Duration::seconds(121));
    assert_eq!(env.reg.send_mail(&sink.mailer()).await.unwrap(), 1);
    let code = code_in(&sink.next().await);
    assert_eq!(
        env.reg.lock_verify(OP, id, &code).await.unwrap(),
        VerifyOutcome::Applied
    );
    assert!(sink.drain().is_empty());
}

async fn operator_request_and_reject(env: &Env) {
    set_contact(env, A).await;
    setup(env, "oper.test").await;
    let mut sink = SmtpSink::start().await;
    // The operator files on the registrar's behalf; the same code path follows.
    let req = env
        .reg
        .request_lock(OP, "oper.test", &RegistryLockCommand::Lock)
        .await
        .unwrap();
    assert_eq!(req.cl_id, A);
    assert_eq!(req.requested_by, "operator:alice");
    env.reg.send_mail(&sink.mailer()).await.unwrap();
    let mail = sink.next().await;
    assert!(mail.contains("operator:alice"), "{mail}");
    // Rejected: closed, registrar told, domain unchanged, code unusable.
    let code = code_in(&mail);
    env.reg
        .lock_reject(OP, req.id, "contact did not confirm")
        .await
        .unwrap();
    assert_eq!(state(env, req.id).await, "rejected");
    assert_eq!(rc(env.reg.lock_verify(OP, req.id, &code).await), 2304);
    assert_eq!(statuses(env, "oper.test").await, strs(&["ok"]));
    let polls = poll_texts(env, A).await;
    assert!(polls.iter().any(|m| m.contains("rejected")), "{polls:?}");
    assert!(history_ops(env, "oper.test")
        .await
        .iter()
        .any(|(o, a)| o == "lock:rejected" && a == "operator:alice"));
    // An operator's request for a domain that does not exist.
    assert_eq!(
        rc(env
            .reg
            .request_lock(OP, "nosuch.test", &RegistryLockCommand::Lock)
            .await),
        2303
    );
}
