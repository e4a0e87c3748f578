//! Registry lock (issue #5) end to end over real TLS: the registrar asks over EPP (an empty
//! `<domain:update>` with `<rl:lock/>` / `<rl:unlock/>`, answered 1001 with `<rl:reqData>`),
//! the registry's mail worker sends the confirmation code to the registrar's lock contact
//! through an SMTP listener on 127.0.0.1, and the operator enters the code with
//! `registry-admin lock verify` (the library API, on the same database and clock; releasing a
//! lock is a two-person action: operator alice proposes, bob approves). While the
//! domain is locked, every command the lock prohibits is refused over EPP with 2304 and the
//! others still work. Every response frame is validated against the XSDs. Each test runs on
//! SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use epp_proto::domain::{DomainCommand as D, DomainRenew, DomainTransfer, NameServers};
use epp_proto::ext::registry_lock::{self as rl, LockOp, LockRequestState, RegistryLockCommand};
use epp_proto::ext::{CommandExtension as X, ResponseExtension};
use epp_proto::host::{HostAddRem, HostCommand, HostUpdate};
use epp_proto::{Command, TransferOp};
use registry_admin::operators::OperatorCmd;
use registry_admin::proposals::{ProposalCmd, ProposeCmd};
use registry_admin::{AdminError, Cli as AdminCli, Cmd as AdminCmd, LockCmd, RegistrarCmd};
use registry_mail::Mailer;
use support::core::*;
use support::smtp::SmtpSink;
use support::*;

both_backends!(
    lock_enforce_unlock_over_epp,
    wrong_code_leaves_domain_unlocked,
    only_the_sponsor_may_ask,
);

/// The extensions every session here selects at login.
const EXTS: [&str; 3] = [SEC_DNS_NS, RGP_NS, rl::NS];
const LOCK_EMAIL: &str = "lock-keeper@reg-a.example";
const SERVER_LOCK: [&str; 3] = [
    "serverUpdateProhibited",
    "serverDeleteProhibited",
    "serverTransferProhibited",
];

/// Runs `body` with the registry's `[registry.mail]` pointing at a fresh SMTP listener.
async fn run_lock<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(CoreEnv, SmtpSink) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let sink = SmtpSink::start().await;
    let mail = sink.mail_config();
    run_core(
        backend,
        move |_, core| core.mail = mail,
        move |env| body(env, sink),
    )
    .await;
}

/// The mail worker as eppd runs it (`eppd::workers::spawn_mail_worker` with a mailer built from
/// the registry's `[registry.mail]`), every 50 ms; stopped when dropped.
struct MailWorker(tokio::task::JoinHandle<()>);

impl MailWorker {
    fn start(env: &CoreEnv) -> MailWorker {
        let mailer = Mailer::from_config(&env.registry.config().mail).expect("mailer");
        MailWorker(eppd::workers::spawn_mail_worker(
            Arc::clone(&env.registry),
            mailer,
            Duration::from_millis(50),
        ))
    }
}

impl Drop for MailWorker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The operators' key files (alice: security, bob: operator), made once per test process.
fn key(who: &str) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("key dir");
        for who in ["alice", "bob"] {
            let (pkcs8, _) = registry_core::operator::SigningKey::generate().expect("key");
            std::fs::write(dir.path().join(who), pkcs8).expect("key file");
        }
        dir
    });
    dir.path().join(who)
}

fn public_key(who: &str) -> String {
    let bytes = std::fs::read(key(who)).expect("key file");
    registry_core::operator::SigningKey::from_bytes(&bytes)
        .expect("key")
        .public_key()
}

/// `registry-admin --operator WHO --key WHO's COMMAND` through the library, on the test
/// database and clock.
async fn admin_as(
    env: &CoreEnv,
    who: &str,
    command: AdminCmd,
) -> Result<registry_admin::Output, AdminError> {
    let cli = AdminCli {
        db: None,
        config: None,
        json: true,
        operator: who.into(),
        key: Some(key(who)),
        command,
    };
    registry_admin::run_on(
        &cli,
        &env.db,
        Arc::new(env.clock.clone()),
        env.registry.config().clone(),
    )
    .await
}

/// The two operator accounts, on a database that has none yet: alice first, then bob's
/// enrolment approved by alice.
async fn ensure_operators(env: &CoreEnv) {
    if !env.db.operators().await.expect("operators").is_empty() {
        return;
    }
    let add = |who: &str, role: &str| {
        AdminCmd::Operator(OperatorCmd::Add {
            name: who.into(),
            role: role.into(),
            public_key: public_key(who),
        })
    };
    admin_as(env, "alice", add("alice", "security"))
        .await
        .expect("first operator");
    let p = admin_as(env, "bob", add("bob", "operator"))
        .await
        .expect("enrolment");
    let id = p.json["id"].as_i64().expect("proposal id");
    admin_as(
        env,
        "alice",
        AdminCmd::Proposal(ProposalCmd::Approve { id }),
    )
    .await
    .expect("approve bob");
}

/// `registry-admin COMMAND` as alice.
async fn admin(env: &CoreEnv, command: AdminCmd) -> Result<registry_admin::Output, AdminError> {
    ensure_operators(env).await;
    admin_as(env, "alice", command).await
}

/// A two-person action: alice proposes, bob approves; the approval's output.
async fn two_person(
    env: &CoreEnv,
    propose: ProposeCmd,
) -> Result<registry_admin::Output, AdminError> {
    ensure_operators(env).await;
    let p = admin_as(env, "alice", AdminCmd::Propose(propose)).await?;
    let id = p.json["id"].as_i64().expect("proposal id");
    let out = admin_as(env, "bob", AdminCmd::Proposal(ProposalCmd::Approve { id })).await?;
    assert_eq!(out.json["proposed_by"], "alice");
    assert_eq!(out.json["approved_by"], "bob");
    Ok(out)
}

/// `registry-admin lock verify ID CODE`.
async fn verify(env: &CoreEnv, id: i64, code: &str) -> Result<registry_admin::Output, AdminError> {
    admin(
        env,
        AdminCmd::Lock(LockCmd::Verify {
            id,
            code: code.to_owned(),
        }),
    )
    .await
}

/// `registry-admin propose lock verify ID CODE` and its approval: releasing a lock.
async fn release(env: &CoreEnv, id: i64, code: &str) -> Result<registry_admin::Output, AdminError> {
    two_person(
        env,
        ProposeCmd::Lock(LockCmd::Verify {
            id,
            code: code.to_owned(),
        }),
    )
    .await
}

/// A registrar logged in with the registry lock extension.
async fn session(env: &CoreEnv, cl_id: &str) -> Session {
    let reg = env.registrar(cl_id).await;
    env.login_with(&reg, &EXTS).await
}

/// reg-a with its lock contact (set with `registry-admin propose registrar set-lock-contact`), a
/// contact, and `name` delegated to its subordinate host `ns1.NAME` (with a second one,
/// `ns2.NAME`, linked to nothing) and to an external host.
async fn setup(env: &CoreEnv, name: &str) -> Session {
    let mut a = session(env, "reg-a").await;
    let out = two_person(
        env,
        ProposeCmd::Registrar(RegistrarCmd::SetLockContact {
            cl_id: "reg-a".into(),
            name: "Lock Keeper".into(),
            phone: "+1.5555550100".into(),
            email: LOCK_EMAIL.into(),
        }),
    )
    .await
    .expect("set-lock-contact");
    assert_eq!(out.json["result"]["email"], LOCK_EMAIL, "{:?}", out.json);
    a.cmd(contact_create("reg-a-c1", "contact-pw")).await.ok();
    a.cmd(host_create("ns.other.example", &[])).await.ok();
    a.cmd(domain_create(
        name,
        "reg-a-c1",
        &["ns.other.example"],
        "dom-pw-1",
    ))
    .await
    .ok();
    a.cmd(host_create(&format!("ns1.{name}"), &["192.0.2.1"]))
        .await
        .ok();
    a.cmd(host_create(&format!("ns2.{name}"), &["192.0.2.2"]))
        .await
        .ok();
    a.cmd(ns_update(name, true, &format!("ns1.{name}")))
        .await
        .ok();
    a
}

/// `<domain:update>` adding (or removing) one name server.
fn ns_update(name: &str, add: bool, ns: &str) -> Command {
    let mut u = domain_update(name);
    let list = Some(NameServers::HostObj(vec![host_name(ns)]));
    if add {
        u.add.ns = list;
    } else {
        u.rem.ns = list;
    }
    Command::Domain(D::Update(u))
}

fn host_addr_add(name: &str, addr: &str) -> Command {
    Command::Host(HostCommand::Update(HostUpdate {
        name: host_name(name),
        add: HostAddRem {
            addrs: vec![ip(addr)],
            statuses: Vec::new(),
        },
        rem: HostAddRem::default(),
        new_name: None,
    }))
}

fn transfer_request(name: &str) -> Command {
    Command::Domain(D::Transfer(DomainTransfer {
        op: TransferOp::Request,
        name: host_name(name),
        period: None,
        auth_info: Some(auth("dom-pw-1")),
    }))
}

/// Files a lock or unlock request over EPP: 1001 with `<rl:reqData>`; returns its id.
async fn request(s: &mut Session, name: &str, cmd: RegistryLockCommand) -> i64 {
    let op = match cmd {
        RegistryLockCommand::Lock => LockOp::Lock,
        RegistryLockCommand::Unlock { .. } => LockOp::Unlock,
    };
    let r = s
        .cmd_ext(
            Command::Domain(D::Update(domain_update(name))),
            vec![X::RegistryLock(cmd)],
        )
        .await
        .expect(1001);
    assert!(r.xml.contains("reqData"), "{}", r.xml);
    match r.response.extensions.as_slice() {
        [ResponseExtension::RegistryLock(d)] => {
            assert_eq!(d.name.as_str(), name);
            assert_eq!(d.op, op);
            assert_eq!(d.state, LockRequestState::CodeNotSent);
            i64::try_from(d.id).unwrap()
        }
        other => panic!("expected <rl:reqData>, got {other:?}:\n{}", r.xml),
    }
}

/// Waits for the code mail of request `id` at the SMTP listener (it goes to the lock
/// contact) and for the worker to have recorded it; returns the code.
async fn code_of(env: &CoreEnv, sink: &mut SmtpSink, id: i64) -> String {
    let (rcpt, code) = sink.code_mail(id).await;
    assert_eq!(rcpt, [LOCK_EMAIL]);
    eventually("the request to await verification", || async {
        let (req, _) = env.registry.lock_request(id).await.expect("lock request");
        req.state == LockRequestState::PendingVerification.as_str()
    })
    .await;
    code
}

/// The server statuses among a domain's (or host's) statuses, sorted.
fn server_statuses(tokens: Vec<&'static str>) -> Vec<&'static str> {
    let mut v: Vec<_> = tokens
        .into_iter()
        .filter(|t| t.starts_with("server"))
        .collect();
    v.sort_unstable();
    v
}

async fn domain_server_statuses(s: &mut Session, name: &str) -> Vec<&'static str> {
    let r = s.cmd(domain_info(name, None)).await.ok();
    server_statuses(
        r.domain_info()
            .statuses
            .iter()
            .map(|st| st.status.as_str())
            .collect(),
    )
}

async fn host_server_statuses(s: &mut Session, name: &str) -> Vec<&'static str> {
    let r = s.cmd(host_info(name)).await.ok();
    server_statuses(
        r.host_info()
            .statuses
            .iter()
            .map(|st| st.status.as_str())
            .collect(),
    )
}

fn sorted<const N: usize>(v: [&'static str; N]) -> Vec<&'static str> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v
}

async fn lock_enforce_unlock_over_epp(backend: Backend) {
    run_lock(backend, |env, mut sink| async move {
        let _worker = MailWorker::start(&env);
        let mut a = setup(&env, "locked.test").await;
        let mut b = session(&env, "reg-b").await;
        assert!(domain_server_statuses(&mut a, "locked.test")
            .await
            .is_empty());

        // Lock: request over EPP, the code by mail, the operator enters it.
        let id = request(&mut a, "locked.test", RegistryLockCommand::Lock).await;
        // Nothing changes before verification.
        assert!(domain_server_statuses(&mut a, "locked.test")
            .await
            .is_empty());
        let code = code_of(&env, &mut sink, id).await;
        let out = verify(&env, id, &code).await.expect("lock verify");
        assert_eq!(out.json["result"], "applied", "{:?}", out.json);

        assert_eq!(
            domain_server_statuses(&mut a, "locked.test").await,
            sorted(SERVER_LOCK)
        );
        let host_lock = sorted(["serverUpdateProhibited", "serverDeleteProhibited"]);
        assert_eq!(
            host_server_statuses(&mut a, "ns1.locked.test").await,
            host_lock
        );
        assert_eq!(
            host_server_statuses(&mut a, "ns2.locked.test").await,
            host_lock
        );

        // Every prohibited command is refused over EPP.
        a.cmd(ns_update("locked.test", true, "ns2.locked.test"))
            .await
            .expect(2304);
        a.cmd(ns_update("locked.test", false, "ns.other.example"))
            .await
            .expect(2304);
        a.cmd(domain_delete("locked.test")).await.expect(2304);
        b.cmd(transfer_request("locked.test")).await.expect(2304);
        a.cmd(host_addr_add("ns1.locked.test", "192.0.2.11"))
            .await
            .expect(2304);
        a.cmd(host_delete("ns2.locked.test")).await.expect(2304);
        // A second lock request for a locked domain is refused too.
        a.cmd_ext(
            Command::Domain(D::Update(domain_update("locked.test"))),
            vec![X::RegistryLock(RegistryLockCommand::Lock)],
        )
        .await
        .expect(2304);

        // Info and renew still work.
        let r = a.cmd(domain_info("locked.test", None)).await.ok();
        let ex = r.domain_info().ex_date.expect("exDate");
        a.cmd(Command::Domain(D::Renew(DomainRenew {
            name: host_name("locked.test"),
            cur_exp_date: ex.date_naive(),
            period: None,
        })))
        .await
        .ok();
        a.cmd(host_info("ns1.locked.test")).await.ok();
        // Nothing of the refused commands happened.
        let r = a.cmd(domain_info("locked.test", None)).await.ok();
        let d = r.domain_info();
        assert_eq!(d.cl_id.as_str(), "reg-a");
        let mut ns: Vec<String> = match &d.ns {
            Some(NameServers::HostObj(v)) => v.iter().map(|h| h.as_str().to_owned()).collect(),
            other => panic!("name servers {other:?}"),
        };
        ns.sort();
        assert_eq!(ns, ["ns.other.example", "ns1.locked.test"]);

        // Unlock: same path.
        let id = request(
            &mut a,
            "locked.test",
            RegistryLockCommand::Unlock { duration: None },
        )
        .await;
        // Still locked until verified.
        a.cmd(ns_update("locked.test", true, "ns2.locked.test"))
            .await
            .expect(2304);
        let code = code_of(&env, &mut sink, id).await;
        // Releasing is a two-person action: one operator alone is refused.
        match verify(&env, id, &code).await {
            Err(e @ AdminError::NotPermitted(_)) => assert_eq!(e.exit_code(), 9),
            other => panic!("one operator released a lock: {other:?}"),
        }
        let out = release(&env, id, &code).await.expect("unlock verify");
        assert_eq!(out.json["result"]["result"], "released", "{:?}", out.json);

        assert!(domain_server_statuses(&mut a, "locked.test")
            .await
            .is_empty());
        assert!(host_server_statuses(&mut a, "ns1.locked.test")
            .await
            .is_empty());
        a.cmd(ns_update("locked.test", true, "ns2.locked.test"))
            .await
            .ok();
        a.cmd(host_addr_add("ns1.locked.test", "192.0.2.11"))
            .await
            .ok();
        b.cmd(transfer_request("locked.test")).await.expect(1001);

        // The code is single use.
        assert!(matches!(
            release(&env, id, &code).await,
            Err(AdminError::Refused(_) | AdminError::Verification(_))
        ));
        let ops = env
            .history_ops(registry_core::ObjectRef::Domain("locked.test".into()))
            .await;
        for op in [
            "lock:requested",
            "lock:codeSent",
            "lock:applied",
            "lock:released",
        ] {
            assert!(ops.iter().any(|o| o == op), "{op} missing from {ops:?}");
        }
    })
    .await;
}

async fn wrong_code_leaves_domain_unlocked(backend: Backend) {
    run_lock(backend, |env, mut sink| async move {
        let _worker = MailWorker::start(&env);
        let mut a = setup(&env, "wrong.test").await;
        let id = request(&mut a, "wrong.test", RegistryLockCommand::Lock).await;
        let code = code_of(&env, &mut sink, id).await;
        let wrong = if code == "AAAAA-AAAAA" {
            "BBBBB-BBBBB"
        } else {
            "AAAAA-AAAAA"
        };
        match verify(&env, id, wrong).await {
            Err(e @ AdminError::Verification(_)) => assert_eq!(e.exit_code(), 5),
            other => panic!("wrong code: {other:?}"),
        }
        assert!(domain_server_statuses(&mut a, "wrong.test")
            .await
            .is_empty());
        assert!(host_server_statuses(&mut a, "ns1.wrong.test")
            .await
            .is_empty());
        a.cmd(ns_update("wrong.test", true, "ns2.wrong.test"))
            .await
            .ok();
        a.cmd(host_delete("ns2.wrong.test")).await.expect(2305);
        a.cmd(ns_update("wrong.test", false, "ns2.wrong.test"))
            .await
            .ok();
        a.cmd(host_delete("ns2.wrong.test")).await.ok();
        // The request is still open: the right code still locks.
        let (req, _) = env.registry.lock_request(id).await.expect("request");
        assert_eq!(req.state, LockRequestState::PendingVerification.as_str());
        let out = verify(&env, id, &code).await.expect("right code");
        assert_eq!(out.json["result"], "applied", "{:?}", out.json);
        assert_eq!(
            domain_server_statuses(&mut a, "wrong.test").await,
            sorted(SERVER_LOCK)
        );
    })
    .await;
}

async fn only_the_sponsor_may_ask(backend: Backend) {
    run_lock(backend, |env, sink| async move {
        let mut a = setup(&env, "theirs.test").await;
        let mut b = session(&env, "reg-b").await;
        for cmd in [
            RegistryLockCommand::Lock,
            RegistryLockCommand::Unlock { duration: None },
        ] {
            b.cmd_ext(
                Command::Domain(D::Update(domain_update("theirs.test"))),
                vec![X::RegistryLock(cmd)],
            )
            .await
            .expect(2201);
        }
        // A session that did not select the extension at login cannot use it.
        let reg = env.registrar("reg-c").await;
        let mut c = env.login_with(&reg, &[SEC_DNS_NS, RGP_NS]).await;
        c.cmd_ext(
            Command::Domain(D::Update(domain_update("theirs.test"))),
            vec![X::RegistryLock(RegistryLockCommand::Lock)],
        )
        .await
        .expect(2103);
        // No request was filed, so no mail is queued.
        let open = env.registry.lock_requests(false, 100).await.expect("list");
        assert!(open.is_empty(), "{open:?}");
        assert_eq!(
            env.registry
                .send_mail(&Mailer::from_config(&env.registry.config().mail).expect("mailer"))
                .await
                .expect("mail pass"),
            0
        );
        drop(sink);
        assert!(domain_server_statuses(&mut a, "theirs.test")
            .await
            .is_empty());
    })
    .await;
}
