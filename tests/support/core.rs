//! The registry core behind the real TLS frontend: [`run_core`] starts a server whose
//! [`CoreHandler`] runs a `Registry<SqlStore>` on the test database, with a [`ManualClock`]
//! shared by the server and the core. Sessions send typed commands (epp-proto types encoded
//! with epp-wire) and get typed answers back (decoded with epp-wire); every response frame a
//! session receives is kept and validated with xmllint against `schemas/all.xsd` when the
//! test body has finished (one xmllint call per test).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use epp_proto::contact::{Address, ContactCreate, PostalInfo, PostalInfoType};
use epp_proto::domain::{
    ContactType, DomainContact, DomainCreate, DomainInfo, DomainUpdate, HostsFilter, NameServers,
};
use epp_proto::ext::CommandExtension;
use epp_proto::host::HostCreate;
use epp_proto::response::Response;
use epp_proto::{
    AuthInfo, ClTrid, Command, CommandFrame, ContactId, Frame, HostName, ResponseData, Timestamp,
};
use eppd::core_handler::CoreHandler;
use eppd::Config;
use registry_core::clock::{Clock, ManualClock};
use registry_core::Registry;
use registry_store::SqlStore;

use super::{
    init_tracing, test_config, Backend, Client, Env, Frontend, Identity, LoginOptions, Pki,
    RegistrarSpec, TestDb, LOCAL,
};

/// The password of every registrar made by [`CoreEnv::registrar`].
pub const PW: &str = "core-test-pw";

/// The response frames received in one test, kept for the schema check.
#[derive(Debug, Clone, Default)]
pub struct Frames(Arc<Mutex<Vec<(String, String)>>>);

impl Frames {
    pub fn push(&self, label: &str, xml: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((label.to_owned(), xml.to_owned()));
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Validates every kept frame with one xmllint call; panics naming the invalid ones.
    /// Without xmllint: a failure when `CI=true`, otherwise a skip line.
    pub fn validate(&self) {
        let frames = self.take();
        if frames.is_empty() {
            return;
        }
        if !xmllint_available() {
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let mut paths = Vec::with_capacity(frames.len());
        for (i, (label, xml)) in frames.iter().enumerate() {
            let safe: String = label
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .take(40)
                .collect();
            let p = dir.path().join(format!("{i:05}-{safe}.xml"));
            std::fs::write(&p, xml).expect("write frame");
            paths.push(p);
        }
        let out = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(schema_path())
            .args(&paths)
            .output()
            .expect("run xmllint");
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let bad: Vec<&str> = stderr
                .lines()
                .filter(|l| l.ends_with("fails to validate"))
                .collect();
            let mut report = String::new();
            for (p, (_, xml)) in paths.iter().zip(&frames) {
                let name = p.display().to_string();
                if bad.iter().any(|l| l.starts_with(&name)) {
                    report.push_str(&format!("--- {name}\n{xml}\n"));
                }
            }
            panic!(
                "{} of {} response frames do not validate against schemas/all.xsd:\n{stderr}\n{report}",
                bad.len(),
                frames.len()
            );
        }
    }
}

pub fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("schemas")
        .join("all.xsd")
}

/// True when xmllint can run; panics under `CI=true` without it.
pub fn xmllint_available() -> bool {
    let ok = std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("xmllint is not installed and CI=true: response frames cannot be validated");
        }
        println!("SKIPPED: xmllint is not installed; response frames not schema-validated");
    }
    ok
}

/// A registrar fixture: its clID and the pinned client certificate.
#[derive(Clone)]
pub struct Reg {
    pub cl_id: String,
    pub identity: Arc<Identity>,
}

/// What a test body gets: the plain [`Env`] (database, PKI, clock, server address) plus the
/// registry itself, for `run_due` after moving the clock and for looking at history.
pub struct CoreEnv {
    pub env: Env,
    pub registry: Arc<Registry<SqlStore>>,
    pub frames: Frames,
}

impl std::ops::Deref for CoreEnv {
    type Target = Env;
    fn deref(&self) -> &Env {
        &self.env
    }
}

/// Builds the registry core on `db` with `clock`.
pub fn registry_on(
    db: &registry_store::Db,
    clock: Arc<dyn Clock>,
    cfg: registry_core::Config,
) -> Arc<Registry<SqlStore>> {
    Arc::new(Registry::new(SqlStore::new(db.clone()), clock, cfg))
}

/// Creates the database, a manual clock, the registry on the same database and a server
/// answering object commands with it; runs `body`; validates the frames the body's sessions
/// received; stops the server and removes the database even when `body` panics.
pub async fn run_core<T, F, Fut>(backend: Backend, tweak: T, body: F)
where
    T: FnOnce(&mut Config, &mut registry_core::Config),
    F: FnOnce(CoreEnv) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    init_tracing();
    let test_db = TestDb::create(&backend).await;
    let pki = Arc::new(Pki::new());
    let mut config = test_config(&pki, &test_db.url);
    let mut core_cfg = registry_core::Config::default();
    // The transfer locks (RFC 9154 tests turn them back on) would keep every transfer test
    // from transferring a domain it just created.
    core_cfg.secure_auth.transfer_lock_after_create_days = 0;
    core_cfg.secure_auth.transfer_lock_after_transfer_days = 0;
    tweak(&mut config, &mut core_cfg);
    let clock = ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2025-03-01T12:00:00Z")
            .expect("start time")
            .to_utc(),
    );
    let registry = registry_on(&test_db.db, Arc::new(clock.clone()), core_cfg);
    let server = Frontend::start(
        config.clone(),
        test_db.db.clone(),
        Arc::new(CoreHandler::new(registry.clone())),
        Arc::new(clock.clone()),
    )
    .await;
    let shutdown = server.shutdown.clone();
    let mut done = server.done.clone();
    let frames = Frames::default();
    let env = CoreEnv {
        env: Env {
            backend,
            db: test_db.db.clone(),
            db_url: test_db.url.clone(),
            pki,
            clock,
            config,
            addr: server.addr,
            server: Some(server),
        },
        registry,
        frames: frames.clone(),
    };
    let outcome = tokio::spawn(body(env)).await;
    shutdown.trigger();
    let _ = tokio::time::timeout(Duration::from_secs(10), done.wait_for(|d| *d)).await;
    test_db.remove().await;
    match outcome {
        Ok(()) => frames.validate(),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("test body failed: {e}"),
    }
}

impl CoreEnv {
    /// A registrar `cl_id` (password [`PW`], a fresh pinned certificate, 127.0.0.1 only, up to
    /// 25 sessions).
    pub async fn registrar(&self, cl_id: &str) -> Reg {
        let id = self.pki.client(cl_id);
        self.add_registrar(RegistrarSpec {
            cl_id,
            password: PW,
            certs: vec![id.fingerprint],
            networks: vec!["127.0.0.1/32"],
            max_sessions: 25,
        })
        .await;
        Reg {
            cl_id: cl_id.to_owned(),
            identity: Arc::new(id),
        }
    }

    /// A session of `reg` logged in with every object and both extensions.
    pub async fn login(&self, reg: &Reg) -> Session {
        self.login_with(reg, &[super::SEC_DNS_NS, super::RGP_NS])
            .await
    }

    /// A session of `reg` logged in with every object and the extensions `ext_uris`.
    pub async fn login_with(&self, reg: &Reg, ext_uris: &[&str]) -> Session {
        let client = Client::connect(self.addr, LOCAL, &self.pki, Some(&reg.identity))
            .await
            .expect("connect");
        Session::login(client, reg, ext_uris, self.frames.clone()).await
    }

    /// A new registrar and one session of it.
    pub async fn new_session(&self, cl_id: &str) -> (Reg, Session) {
        let reg = self.registrar(cl_id).await;
        let s = self.login(&reg).await;
        (reg, s)
    }

    /// Moves the shared clock and runs the scheduler at the new time.
    pub async fn advance_days(&self, days: i64) -> usize {
        self.clock.advance(chrono::Duration::days(days));
        self.registry
            .run_due(self.clock.now())
            .await
            .expect("run_due")
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A domain as the store keeps it (its authInfo hashed).
    pub async fn stored_domain(&self, name: &str) -> registry_core::model::Domain {
        use registry_core::{Store, StoreTx};
        let mut tx = self.registry.store().begin(false).await.expect("begin");
        tx.domain_get(name, false)
            .await
            .expect("domain_get")
            .unwrap_or_else(|| panic!("no domain {name}"))
    }

    /// A contact as the store keeps it.
    pub async fn stored_contact(&self, id: &str) -> registry_core::model::Contact {
        use registry_core::{Store, StoreTx};
        let mut tx = self.registry.store().begin(false).await.expect("begin");
        tx.contact_get(id, false)
            .await
            .expect("contact_get")
            .unwrap_or_else(|| panic!("no contact {id}"))
    }

    /// The history ops of one object, oldest first.
    pub async fn history_ops(&self, object: registry_core::ObjectRef) -> Vec<String> {
        self.registry
            .history(&object)
            .await
            .expect("history")
            .into_iter()
            .map(|h| h.op)
            .collect()
    }

    /// The delegation journal entries (kind, name), oldest first.
    pub async fn journal(&self) -> Vec<(String, String)> {
        use registry_core::Store;
        let mut out = Vec::new();
        let mut after = 0;
        for _ in 0..1000 {
            let page = self
                .registry
                .store()
                .journal_since(after, 500)
                .await
                .expect("journal");
            let Some(last) = page.last() else { break };
            after = last.position;
            out.extend(page.into_iter().map(|j| {
                let kind = match &j.change {
                    registry_core::model::ZoneChange::Domain { .. } => "domain",
                    registry_core::model::ZoneChange::Host { .. } => "host",
                };
                (kind.to_owned(), j.change.name().to_owned())
            }));
        }
        out
    }
}

/// One logged-in session.
pub struct Session {
    pub client: Client,
    pub cl_id: String,
    frames: Frames,
    seq: u32,
}

/// A response: its code, the XML as received, and the decoded frame.
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    pub xml: String,
    pub response: Response,
}

impl Reply {
    fn from_xml(xml: String, what: &str) -> Reply {
        let frame = epp_wire::decode(xml.as_bytes())
            .unwrap_or_else(|e| panic!("{what}: the response does not decode ({e}):\n{xml}"));
        let Frame::Response(response) = frame else {
            panic!("{what}: expected a response, got:\n{xml}");
        };
        let code = response.code().map_or(0, |c| c.code());
        Reply {
            code,
            xml,
            response,
        }
    }

    /// Asserts the result code, showing the frame when it differs.
    #[track_caller]
    pub fn expect(self, code: u16) -> Reply {
        assert_eq!(
            self.code, code,
            "expected {code}, got {}:\n{}",
            self.code, self.xml
        );
        self
    }

    pub fn ok(self) -> Reply {
        self.expect(1000)
    }

    pub fn res_data(&self) -> &ResponseData {
        self.response
            .res_data
            .as_ref()
            .unwrap_or_else(|| panic!("no resData in:\n{}", self.xml))
    }

    pub fn domain_info(&self) -> &epp_proto::domain::DomainInfoData {
        match self.res_data() {
            ResponseData::DomainInfo(d) => d,
            other => panic!("expected domain infData, got {other:?}"),
        }
    }

    pub fn host_info(&self) -> &epp_proto::host::HostInfoData {
        match self.res_data() {
            ResponseData::HostInfo(d) => d,
            other => panic!("expected host infData, got {other:?}"),
        }
    }

    pub fn contact_info(&self) -> &epp_proto::contact::ContactInfoData {
        match self.res_data() {
            ResponseData::ContactInfo(d) => d,
            other => panic!("expected contact infData, got {other:?}"),
        }
    }

    pub fn transfer(&self) -> &epp_proto::TransferData {
        match self.res_data() {
            ResponseData::DomainTransfer(t) | ResponseData::ContactTransfer(t) => t,
            other => panic!("expected trnData, got {other:?}"),
        }
    }

    pub fn check(&self) -> &[epp_proto::CheckItem] {
        match self.res_data() {
            ResponseData::DomainCheck(v)
            | ResponseData::HostCheck(v)
            | ResponseData::ContactCheck(v) => v,
            other => panic!("expected chkData, got {other:?}"),
        }
    }

    /// Whether the response carries an extension element of namespace `ns`.
    pub fn has_extension(&self, ns: &str) -> bool {
        self.response.extensions.iter().any(|e| e.namespace() == ns)
    }
}

impl Session {
    /// Logs `client` in as `reg` with every object and `ext_uris`; its frames go to `frames`.
    pub async fn login(
        mut client: Client,
        reg: &Reg,
        ext_uris: &[&str],
        frames: Frames,
    ) -> Session {
        let opts = LoginOptions {
            ext_uris: ext_uris.to_vec(),
            ..LoginOptions::default()
        };
        let xml = super::login_xml_with(&reg.cl_id, PW, None, &opts, "LOGIN-0001");
        let a = client.request(&xml).await.expect("login answer");
        frames.push("login", &a.xml);
        assert_eq!(a.code, 1000, "login of {} failed:\n{}", reg.cl_id, a.xml);
        Session {
            client,
            cl_id: reg.cl_id.clone(),
            frames,
            seq: 0,
        }
    }

    fn next_trid(&mut self) -> ClTrid {
        self.seq += 1;
        ClTrid::new(&format!("{}-{:05}", self.cl_id, self.seq)).expect("clTRID")
    }

    /// Sends a typed command without extensions.
    pub async fn cmd(&mut self, command: Command) -> Reply {
        self.cmd_ext(command, Vec::new()).await
    }

    /// Sends a typed command with extensions.
    pub async fn cmd_ext(&mut self, command: Command, extensions: Vec<CommandExtension>) -> Reply {
        let what = command.name();
        let frame = Frame::Command(CommandFrame {
            command,
            extensions,
            cl_trid: Some(self.next_trid()),
        });
        let xml = epp_wire::encode(&frame);
        self.doc(&xml, what).await
    }

    /// Sends `inner` (the content of `<command>`, without clTRID) as written.
    pub async fn raw(&mut self, inner: &str) -> Reply {
        let trid = self.next_trid();
        let xml = super::command_xml(inner, trid.as_str());
        self.doc(&xml, "raw").await
    }

    /// Sends a whole document and reads its answer (kept for the schema check).
    pub async fn doc(&mut self, xml: &str, what: &str) -> Reply {
        let a = self
            .client
            .request(xml)
            .await
            .unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
        self.frames.push(what, &a.xml);
        Reply::from_xml(a.xml, what)
    }

    pub async fn logout(mut self) {
        let a = self.client.logout().await.expect("logout answer");
        self.frames.push("logout", &a.xml);
        assert_eq!(a.code, 1500, "logout:\n{}", a.xml);
    }
}

// ---------------------------------------------------------------------------------------------
// Typed command builders

pub fn host_name(s: &str) -> HostName {
    HostName::new(s).unwrap_or_else(|e| panic!("host name {s:?}: {e}"))
}

pub fn contact_id(s: &str) -> ContactId {
    ContactId::new(s).unwrap_or_else(|e| panic!("contact id {s:?}: {e}"))
}

/// What tests append to their short authInfo values so that they pass the registry's strength
/// policy (registry-core `secure_auth`: 16+ characters, mixed classes, an estimated 128 bits).
pub const STRONG_SUFFIX: &str = "-Zq8#Kx3Vm9!Tr2Lw4$";

/// `pw` made strong: `pw` + [`STRONG_SUFFIX`]; empty stays empty ("no authInfo").
pub fn strong(pw: &str) -> String {
    if pw.is_empty() {
        String::new()
    } else {
        format!("{pw}{STRONG_SUFFIX}")
    }
}

/// The authInfo `pw`, made strong ([`strong`]): the same short name always gives the same
/// value, so tests can keep naming them `"dom-pw-1"`.
pub fn auth(pw: &str) -> AuthInfo {
    raw_auth(&strong(pw))
}

/// The authInfo exactly `pw`, for tests that need a weak one.
pub fn raw_auth(pw: &str) -> AuthInfo {
    AuthInfo::new(pw, None).expect("authInfo")
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("address {s:?}: {e}"))
}

/// A valid contact create: `int` postal info, voice, e-mail, authInfo `pw`.
pub fn contact_create(id: &str, pw: &str) -> Command {
    Command::Contact(epp_proto::contact::ContactCommand::Create(ContactCreate {
        id: contact_id(id),
        postal_info: vec![PostalInfo {
            info_type: PostalInfoType::Int,
            name: format!("Holder {id}"),
            org: Some("Example Org".into()),
            addr: Address {
                street: vec!["1 Main Street".into()],
                city: "Springfield".into(),
                sp: Some("IL".into()),
                pc: Some("62701".into()),
                cc: "US".into(),
            },
        }],
        voice: Some(epp_proto::contact::Phone {
            number: "+1.2175550100".into(),
            ext: None,
        }),
        fax: None,
        email: format!("{id}@example.net"),
        auth_info: auth(pw),
        disclose: None,
    }))
}

/// A domain create with registrant `registrant`, admin and tech `registrant` too, the
/// given host objects as name servers, period 1 year, authInfo `pw`.
pub fn domain_create(name: &str, registrant: &str, ns: &[&str], pw: &str) -> Command {
    Command::Domain(epp_proto::domain::DomainCommand::Create(DomainCreate {
        name: host_name(name),
        period: Some(epp_proto::Period::years(1).expect("period")),
        ns: (!ns.is_empty())
            .then(|| NameServers::HostObj(ns.iter().map(|n| host_name(n)).collect())),
        registrant: Some(contact_id(registrant)),
        contacts: vec![
            DomainContact {
                contact_type: ContactType::Admin,
                id: contact_id(registrant),
            },
            DomainContact {
                contact_type: ContactType::Tech,
                id: contact_id(registrant),
            },
        ],
        auth_info: auth(pw),
    }))
}

pub fn domain_info(name: &str, auth_info: Option<&str>) -> Command {
    Command::Domain(epp_proto::domain::DomainCommand::Info(DomainInfo {
        name: host_name(name),
        hosts: HostsFilter::All,
        auth_info: auth_info.map(auth),
    }))
}

/// An empty domain update of `name`, to fill in.
pub fn domain_update(name: &str) -> DomainUpdate {
    DomainUpdate {
        name: host_name(name),
        add: Default::default(),
        rem: Default::default(),
        chg: None,
    }
}

pub fn host_create(name: &str, addrs: &[&str]) -> Command {
    Command::Host(epp_proto::host::HostCommand::Create(HostCreate {
        name: host_name(name),
        addrs: addrs.iter().map(|a| ip(a)).collect(),
    }))
}

pub fn host_info(name: &str) -> Command {
    Command::Host(epp_proto::host::HostCommand::Info(host_name(name)))
}

pub fn host_delete(name: &str) -> Command {
    Command::Host(epp_proto::host::HostCommand::Delete(host_name(name)))
}

pub fn domain_delete(name: &str) -> Command {
    Command::Domain(epp_proto::domain::DomainCommand::Delete(host_name(name)))
}
