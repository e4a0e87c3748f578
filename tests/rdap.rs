//! RDAP (issue #16) end to end: data made through the real registry over EPP/TLS, then read
//! over HTTPS from an in-process rdapd on the same database (its own read-only pool) and the
//! same manual clock. Every answer is checked for the RDAP headers and validated against the
//! JSON schema of RFC 9083 in `crates/rdapd/schema/rdap-response.schema.json`. Each test
//! runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use epp_proto::contact::{ContactCommand, ContactUpdate, Disclose, DiscloseField, PostalInfoType};
use epp_proto::domain::{
    DomainCommand as D, DomainRenew, DomainStatus as DS, DomainTransfer, NameServers,
};
use epp_proto::ext::registry_lock::RegistryLockCommand;
use epp_proto::ext::sec_dns::{DsData, DsOrKeyData, SecDnsCreate};
use epp_proto::ext::CommandExtension as X;
use epp_proto::host::{HostAddRem, HostCommand, HostStatus as HS, HostUpdate};
use epp_proto::{Command, Period, StatusEntry, TransferOp};
use rdapd::client::{tls_config, Answer, Client};
use registry_core::ObjectRef;
use registry_mail::Mailer;
use rustls_pki_types::CertificateDer;
use serde_json::Value;
use support::core::*;
use support::smtp::SmtpSink;
use support::*;

both_backends!(
    domain_host_entity_lookups,
    every_status_the_registry_sets_is_mapped,
    redaction_policy_and_disclose,
    idn_u_label_lookup,
    bad_queries_get_error_objects,
    rate_limit_answers_429,
    searches_are_paged_and_capped,
    redemption_purge_and_registry_lock,
    answer_cache_serves_and_never_shows_a_stale_answer,
);

// ---------------------------------------------------------------------------------------------
// Harness

fn schema() -> &'static jsonschema::Validator {
    static V: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crates/rdapd/schema/rdap-response.schema.json");
        let s: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("schema"))
            .expect("schema JSON");
        jsonschema::options()
            .should_validate_formats(true)
            .build(&s)
            .expect("schema compiles")
    })
}

/// An rdapd on the test database, HTTPS on 127.0.0.1:0 with its own certificate.
struct Rdap {
    running: Option<rdapd::Running>,
    client: Client,
    tls: Arc<rustls::ClientConfig>,
    addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

impl Rdap {
    async fn start(env: &CoreEnv, extra: &str) -> Rdap {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("params");
        let cert = params.self_signed(&key).expect("cert");
        std::fs::write(dir.path().join("rdap.crt"), cert.pem()).expect("write cert");
        std::fs::write(dir.path().join("rdap.key"), key.serialize_pem()).expect("write key");
        let text = format!(
            "[server]\nlisten = [\"127.0.0.1:0\"]\nbase_url = \"https://rdap.test.example/\"\n\
             [tls]\ncert_chain = {:?}\nkey = {:?}\n[database]\nurl = {:?}\n\
             [[registrars]]\ncl_id = \"reg-a\"\niana_id = 9999\nabuse_email = \"abuse@reg-a.example\"\n\
             abuse_phone = \"+1.5555550199\"\nrdap_base_url = \"https://rdap.reg-a.example/\"\n{extra}",
            dir.path().join("rdap.crt").display().to_string(),
            dir.path().join("rdap.key").display().to_string(),
            env.db_url,
        );
        let mut cfg = rdapd::Config::from_toml(&text).expect("rdapd config");
        cfg.registry = env.registry.config().clone();
        let running = rdapd::start(cfg, Arc::new(env.clock.clone()))
            .await
            .expect("rdapd starts");
        let addr = running.https[0];
        let tls = tls_config(&[CertificateDer::from(cert.der().to_vec())]).expect("tls");
        let client = Client::connect(addr, Some((tls.clone(), "localhost")))
            .await
            .expect("connect");
        Rdap {
            running: Some(running),
            client,
            tls,
            addr,
            _dir: dir,
        }
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown(Duration::from_secs(2)).await;
        }
    }

    /// GET on the keep-alive connection; checks headers and the schema.
    async fn get(&mut self, path: &str) -> (Answer, Value) {
        let a = self.client.get(path).await.expect("answer");
        let v = check(path, &a);
        (a, v)
    }

    /// GET expecting 200.
    async fn ok(&mut self, path: &str) -> Value {
        let (a, v) = self.get(path).await;
        assert_eq!(a.status, 200, "{path}: {v:#}");
        v
    }

    /// GET expecting an error object with `status`.
    async fn err(&mut self, path: &str, status: u16) -> Value {
        let (a, v) = self.get(path).await;
        assert_eq!(a.status, status, "{path}: {v:#}");
        assert_eq!(v["errorCode"], status, "{path}: {v:#}");
        v
    }
}

/// The RDAP headers (RFC 7480 section 4.2, CORS), and the schema.
fn check(path: &str, a: &Answer) -> Value {
    let h = |n: &str| a.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert_eq!(h("content-type"), "application/rdap+json", "{path}");
    assert_eq!(h("access-control-allow-origin"), "*", "{path}");
    assert!(!h("cache-control").is_empty(), "{path}: no Cache-Control");
    let v: Value = serde_json::from_slice(&a.body)
        .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {:?}", a.body));
    let errors: Vec<String> = schema()
        .iter_errors(&v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{path}: schema errors:\n{}\n{v:#}",
        errors.join("\n")
    );
    v
}

fn statuses(v: &Value) -> Vec<String> {
    v["status"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn event(v: &Value, action: &str) -> Option<String> {
    v["events"].as_array()?.iter().find_map(|e| {
        (e["eventAction"] == action).then(|| e["eventDate"].as_str().unwrap_or("").to_owned())
    })
}

fn entity<'a>(v: &'a Value, role: &str) -> &'a Value {
    v["entities"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["roles"][0] == role))
        .unwrap_or_else(|| panic!("no {role} entity in {v:#}"))
}

fn vcard<'a>(e: &'a Value, prop: &str) -> Option<&'a Value> {
    e["vcardArray"][1].as_array()?.iter().find(|p| p[0] == prop)
}

fn redacted_names(v: &Value) -> Vec<String> {
    v["redacted"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    r["name"]["type"]
                        .as_str()
                        .or(r["name"]["description"].as_str())
                        .unwrap_or("")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn status_update(name: &str, add: &[DS], rem: &[DS]) -> Command {
    let mut u = domain_update(name);
    u.add.statuses = add.iter().map(|s| StatusEntry::new(*s)).collect();
    u.rem.statuses = rem.iter().map(|s| StatusEntry::new(*s)).collect();
    Command::Domain(D::Update(u))
}

fn ds() -> DsData {
    DsData {
        key_tag: 12345,
        alg: 13,
        digest_type: 2,
        digest: "8ED7B6A6D1E9B3B5D85D2E1D5B0B6B7C8D9E0F1A2B3C4D5E6F708192A3B4C5D6".into(),
        key_data: None,
    }
}

/// reg-a with contacts `holder` (registrant) and `techie` (admin and tech), the domain
/// `name` on its subordinate host `ns1.NAME` (IPv4 and IPv6 glue) and an external host, one DS.
async fn setup(env: &CoreEnv, s: &mut Session, name: &str) {
    s.cmd(contact_create("holder", "contact-pw")).await.ok();
    s.cmd(contact_create("techie", "contact-pw")).await.ok();
    s.cmd(host_create("ns.other.example", &[])).await.ok();
    let mut c = domain_create(name, "holder", &["ns.other.example"], "dom-secret-9");
    if let Command::Domain(D::Create(d)) = &mut c {
        for l in &mut d.contacts {
            l.id = contact_id("techie");
        }
    }
    s.cmd_ext(
        c,
        vec![X::SecDnsCreate(SecDnsCreate {
            max_sig_life: None,
            data: DsOrKeyData::Ds(vec![ds()]),
        })],
    )
    .await
    .ok();
    s.cmd(host_create(
        &format!("ns1.{name}"),
        &["192.0.2.53", "2001:db8::53"],
    ))
    .await
    .ok();
    let mut u = domain_update(name);
    u.add.ns = Some(NameServers::HostObj(vec![host_name(&format!(
        "ns1.{name}"
    ))]));
    s.cmd(Command::Domain(D::Update(u))).await.ok();
    let _ = env;
}

// ---------------------------------------------------------------------------------------------
// Tests

async fn domain_host_entity_lookups(backend: Backend) {
    run_core(backend, |_, _| {}, |env| async move {
        let (_, mut a) = env.new_session("reg-a").await;
        setup(&env, &mut a, "example.test").await;
        let info = a.cmd(domain_info("example.test", None)).await.ok();
        let roid = info.domain_info().roid.as_str().to_owned();
        env.clock.advance(chrono::Duration::hours(1));
        a.cmd(status_update("example.test", &[DS::ClientTransferProhibited], &[]))
            .await
            .ok();

        let mut r = Rdap::start(&env, "[service]\nicann_gtld_profile = true\nterms_of_service_url = \"https://nic.test.example/terms\"\n").await;
        let v = r.ok("/domain/example.test").await;
        assert_eq!(v["objectClassName"], "domain");
        assert_eq!(v["handle"], roid.as_str());
        assert_eq!(v["ldhName"], "example.test");
        let conf: Vec<&str> = v["rdapConformance"].as_array().unwrap().iter().filter_map(|c| c.as_str()).collect();
        for c in ["rdap_level_0", "icann_rdap_response_profile_1", "icann_rdap_technical_implementation_guide_1", "redacted"] {
            assert!(conf.contains(&c), "{c} missing from {conf:?}");
        }
        let st = statuses(&v);
        assert!(st.contains(&"client transfer prohibited".to_owned()), "{st:?}");
        assert!(st.contains(&"add period".to_owned()), "{st:?}");
        assert_eq!(event(&v, "registration").as_deref(), Some("2025-03-01T12:00:00Z"));
        assert_eq!(event(&v, "last changed").as_deref(), Some("2025-03-01T13:00:00Z"));
        assert_eq!(event(&v, "expiration").as_deref(), Some("2026-03-01T12:00:00Z"));
        assert_eq!(event(&v, "last update of RDAP database").as_deref(), Some("2025-03-01T13:00:00Z"));
        assert_eq!(v["secureDNS"]["delegationSigned"], true);
        assert_eq!(v["secureDNS"]["dsData"][0]["keyTag"], 12345);
        assert_eq!(v["secureDNS"]["dsData"][0]["digestType"], 2);
        let ns: Vec<&Value> = v["nameservers"].as_array().unwrap().iter().collect();
        assert_eq!(ns.len(), 2);
        let glue = ns.iter().find(|n| n["ldhName"] == "ns1.example.test").expect("ns1");
        assert_eq!(glue["ipAddresses"]["v4"][0], "192.0.2.53");
        assert_eq!(glue["ipAddresses"]["v6"][0], "2001:db8::53");
        assert!(statuses(glue).contains(&"associated".to_owned()));
        // The registrar: IANA ID as handle and publicId, abuse contact inside.
        let reg = entity(&v, "registrar");
        assert_eq!(reg["handle"], "9999");
        assert_eq!(reg["publicIds"][0]["type"], "IANA Registrar ID");
        assert_eq!(vcard(reg, "fn").unwrap()[3], "Registrar reg-a");
        let abuse = &reg["entities"][0];
        assert_eq!(abuse["roles"][0], "abuse");
        assert_eq!(vcard(abuse, "email").unwrap()[3], "abuse@reg-a.example");
        // Contacts by role, registrant redacted by the default policy.
        let registrant = entity(&v, "registrant");
        assert!(registrant.get("handle").is_none(), "{registrant:#}");
        assert_eq!(vcard(registrant, "fn").unwrap()[3], "");
        assert!(vcard(registrant, "email").is_none());
        assert!(vcard(registrant, "tel").is_none());
        assert_eq!(vcard(registrant, "org").unwrap()[3], "Example Org");
        assert_eq!(vcard(registrant, "adr").unwrap()[3][6], "US");
        for role in ["technical", "administrative"] {
            entity(&v, role);
        }
        let names = redacted_names(&v);
        for n in ["Registry Registrant ID", "Registrant Name", "Registrant Street", "Registrant City", "Registrant Postal Code", "Registrant Phone", "Registrant Email", "Tech Name", "Tech Email"] {
            assert!(names.contains(&n.to_owned()), "{n} not in {names:?}");
        }
        // Nothing secret or withheld anywhere in the answer.
        let body = v.to_string();
        for secret in ["dom-secret-9", "contact-pw", "Holder holder", "holder@example.net", "1 Main Street", "2175550100"] {
            assert!(!body.contains(secret), "{secret:?} leaked: {v:#}");
        }
        let titles: Vec<&str> = v["notices"].as_array().unwrap().iter().filter_map(|n| n["title"].as_str()).collect();
        for t in ["Terms of Use", "Status Codes", "RDDS Inaccuracy Complaint Form"] {
            assert!(titles.contains(&t), "{t} not in {titles:?}");
        }
        let rel: Vec<&str> = v["links"].as_array().unwrap().iter().filter_map(|l| l["rel"].as_str()).collect();
        assert_eq!(rel, ["self", "related"]);
        assert_eq!(v["links"][0]["href"], "https://rdap.test.example/domain/example.test");
        assert_eq!(v["links"][1]["href"], "https://rdap.reg-a.example/domain/example.test");

        // HEAD answers the same headers without a body; OPTIONS is a CORS preflight.
        let h = r.client.request(hyper::Method::HEAD, "/domain/example.test", &[]).await.unwrap();
        assert_eq!(h.status, 200);
        assert!(h.body.is_empty());
        let o = r.client.request(hyper::Method::OPTIONS, "/domain/example.test", &[]).await.unwrap();
        assert_eq!(o.status, 204);
        assert_eq!(o.headers["access-control-allow-origin"], "*");
        let c = r.client.get("/domain/example.test").await.unwrap();
        assert_eq!(c.headers["cache-control"], "public, max-age=60");

        // The name server.
        let n = r.ok("/nameserver/NS1.example.test").await;
        assert_eq!(n["objectClassName"], "nameserver");
        assert_eq!(n["ldhName"], "ns1.example.test");
        assert!(statuses(&n).contains(&"associated".to_owned()));
        assert_eq!(entity(&n, "registrar")["handle"], "9999");
        assert!(event(&n, "registration").is_some());
        let ext = r.ok("/nameserver/ns.other.example").await;
        assert!(ext.get("ipAddresses").is_none());

        // Registrars by IANA ID and by clID; a contact by its ROID (redacted as any role).
        let e = r.ok("/entity/9999").await;
        assert_eq!(e["roles"][0], "registrar");
        assert_eq!(statuses(&e), ["active"]);
        let e2 = r.ok("/entity/reg-a").await;
        assert_eq!(e2["handle"], "9999");
        let c_roid = a.cmd(Command::Contact(ContactCommand::Info { id: contact_id("techie"), auth_info: None })).await.ok();
        let c_roid = c_roid.contact_info().roid.as_str().to_owned();
        let c = r.ok(&format!("/entity/{c_roid}")).await;
        assert_eq!(c["objectClassName"], "entity");
        assert!(statuses(&c).contains(&"associated".to_owned()));
        assert!(vcard(&c, "email").is_none());
        assert!(!c.to_string().contains("techie@example.net"));
        assert!(redacted_names(&c).contains(&"Contact Email".to_owned()));
        r.err("/entity/C999999-EPP", 404).await;
        r.err("/entity/nobody", 404).await;

        let help = r.ok("/help").await;
        assert!(help["notices"][0]["description"].to_string().contains("domains?name="));
        r.stop().await;
    })
    .await;
}

async fn every_status_the_registry_sets_is_mapped(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = env.new_session("reg-a").await;
            let (_, mut b) = env.new_session("reg-b").await;
            setup(&env, &mut a, "st.test").await;
            let client = [
                DS::ClientDeleteProhibited,
                DS::ClientHold,
                DS::ClientRenewProhibited,
                DS::ClientTransferProhibited,
                DS::ClientUpdateProhibited,
            ];
            // Client statuses over EPP, then the server statuses the registry sets.
            a.cmd(status_update("st.test", &client[..4], &[]))
                .await
                .ok();
            let server = [
                "serverDeleteProhibited",
                "serverHold",
                "serverRenewProhibited",
                "serverTransferProhibited",
                "serverUpdateProhibited",
            ];
            env.registry
                .set_server_statuses(&ObjectRef::Domain("st.test".into()), &server[..4], &[])
                .await
                .expect("server statuses");
            let mut r = Rdap::start(&env, "").await;
            let v = r.ok("/domain/st.test").await;
            let st = statuses(&v);
            for s in [
                "client delete prohibited",
                "client hold",
                "client renew prohibited",
                "client transfer prohibited",
                "server delete prohibited",
                "server hold",
                "server renew prohibited",
                "server transfer prohibited",
                "add period",
            ] {
                assert!(st.contains(&s.to_owned()), "{s} not in {st:?}");
            }
            // The update prohibitions last: they forbid the changes before them.
            env.registry
                .set_server_statuses(&ObjectRef::Domain("st.test".into()), &[], &server[..4])
                .await
                .expect("remove");
            a.cmd(status_update(
                "st.test",
                &[DS::ClientUpdateProhibited],
                &client[..4],
            ))
            .await
            .ok();
            env.registry
                .set_server_statuses(&ObjectRef::Domain("st.test".into()), &server[4..], &[])
                .await
                .expect("serverUpdateProhibited");
            let st = statuses(&r.ok("/domain/st.test").await);
            assert!(
                st.contains(&"client update prohibited".to_owned()),
                "{st:?}"
            );
            assert!(
                st.contains(&"server update prohibited".to_owned()),
                "{st:?}"
            );

            // ok → active; no name servers → inactive; renew → renew period; pendingTransfer;
            // after the transfer, transfer period.
            a.cmd(domain_create(
                "plain.test",
                "holder",
                &["ns.other.example"],
                "dom-pw-22",
            ))
            .await
            .ok();
            a.cmd(domain_create("bare.test", "holder", &[], "dom-pw-23"))
                .await
                .ok();
            env.clock.advance(chrono::Duration::days(6));
            assert_eq!(statuses(&r.ok("/domain/plain.test").await), ["active"]);
            assert_eq!(statuses(&r.ok("/domain/bare.test").await), ["inactive"]);
            a.cmd(Command::Domain(D::Renew(DomainRenew {
                name: host_name("plain.test"),
                cur_exp_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                period: Some(Period::years(1).unwrap()),
            })))
            .await
            .ok();
            assert!(
                statuses(&r.ok("/domain/plain.test").await).contains(&"renew period".to_owned())
            );
            b.cmd(Command::Domain(D::Transfer(DomainTransfer {
                op: TransferOp::Request,
                name: host_name("bare.test"),
                period: None,
                auth_info: Some(auth("dom-pw-23")),
            })))
            .await
            .expect(1001);
            assert!(
                statuses(&r.ok("/domain/bare.test").await).contains(&"pending transfer".to_owned())
            );
            // The server approves it after 5 days (the view applies it even before the scheduler).
            env.clock.advance(chrono::Duration::days(6));
            let v = r.ok("/domain/bare.test").await;
            assert!(
                statuses(&v).contains(&"transfer period".to_owned()),
                "{v:#}"
            );
            assert_eq!(vcard(entity(&v, "registrar"), "fn").unwrap()[3], "reg-b");
            assert!(event(&v, "transfer").is_some());
            // Expiry with auto-renew: auto renew period.
            env.clock.advance(chrono::Duration::days(380));
            assert!(
                statuses(&r.ok("/domain/st.test").await).contains(&"auto renew period".to_owned())
            );

            // Hosts: client statuses over EPP, server ones by the registry, linked → associated,
            // ok → active.
            a.cmd(host_create("ns9.plain.test", &["192.0.2.99"]))
                .await
                .ok();
            assert_eq!(
                statuses(&r.ok("/nameserver/ns9.plain.test").await),
                ["active"]
            );
            a.cmd(Command::Host(HostCommand::Update(HostUpdate {
                name: host_name("ns9.plain.test"),
                add: HostAddRem {
                    addrs: Vec::new(),
                    statuses: vec![
                        StatusEntry::new(HS::ClientDeleteProhibited),
                        StatusEntry::new(HS::ClientUpdateProhibited),
                    ],
                },
                rem: HostAddRem::default(),
                new_name: None,
            })))
            .await
            .ok();
            env.registry
                .set_server_statuses(
                    &ObjectRef::Host("ns9.plain.test".into()),
                    &["serverDeleteProhibited", "serverUpdateProhibited"],
                    &[],
                )
                .await
                .expect("host server statuses");
            let st = statuses(&r.ok("/nameserver/ns9.plain.test").await);
            assert_eq!(
                st,
                [
                    "client delete prohibited",
                    "client update prohibited",
                    "server delete prohibited",
                    "server update prohibited"
                ]
            );

            // Contacts: client statuses, server ones, pending transfer, associated / active.
            let cinfo = |id: &str| {
                Command::Contact(ContactCommand::Info {
                    id: contact_id(id),
                    auth_info: None,
                })
            };
            a.cmd(contact_create("lonely", "contact-pw")).await.ok();
            let lonely = a
                .cmd(cinfo("lonely"))
                .await
                .ok()
                .contact_info()
                .roid
                .as_str()
                .to_owned();
            assert_eq!(
                statuses(&r.ok(&format!("/entity/{lonely}")).await),
                ["active"]
            );
            a.cmd(Command::Contact(ContactCommand::Update(ContactUpdate {
                id: contact_id("lonely"),
                add: vec![
                    StatusEntry::new(epp_proto::contact::ContactStatus::ClientDeleteProhibited),
                    StatusEntry::new(epp_proto::contact::ContactStatus::ClientTransferProhibited),
                ],
                rem: Vec::new(),
                chg: None,
            })))
            .await
            .ok();
            env.registry
                .set_server_statuses(
                    &ObjectRef::Contact("lonely".into()),
                    &["serverDeleteProhibited", "serverTransferProhibited"],
                    &[],
                )
                .await
                .expect("contact server statuses");
            let st = statuses(&r.ok(&format!("/entity/{lonely}")).await);
            assert_eq!(
                st,
                [
                    "client delete prohibited",
                    "client transfer prohibited",
                    "server delete prohibited",
                    "server transfer prohibited"
                ]
            );
            let holder = a
                .cmd(cinfo("techie"))
                .await
                .ok()
                .contact_info()
                .roid
                .as_str()
                .to_owned();
            // The clock moved a year on: the authInfo set at create has expired (RFC 9154
            // TTL); the sponsor sets a fresh one for this transfer.
            a.cmd(Command::Contact(ContactCommand::Update(
                epp_proto::contact::ContactUpdate {
                    id: contact_id("techie"),
                    add: Vec::new(),
                    rem: Vec::new(),
                    chg: Some(epp_proto::contact::ContactChg {
                        auth_info: Some(auth("contact-pw")),
                        ..Default::default()
                    }),
                },
            )))
            .await
            .ok();
            b.cmd(Command::Contact(ContactCommand::Transfer {
                op: TransferOp::Request,
                id: contact_id("techie"),
                auth_info: Some(auth("contact-pw")),
            }))
            .await
            .expect(1001);
            let st = statuses(&r.ok(&format!("/entity/{holder}")).await);
            assert!(
                st.contains(&"pending transfer".to_owned())
                    && st.contains(&"associated".to_owned()),
                "{st:?}"
            );
            r.stop().await;
        },
    )
    .await;
}

async fn redaction_policy_and_disclose(backend: Backend) {
    run_core(backend, |_, _| {}, |env| async move {
        let (_, mut a) = env.new_session("reg-a").await;
        setup(&env, &mut a, "privacy.test").await;
        // The tech contact asks for its phone to be withheld, the registrant consents to
        // publishing its name and e-mail.
        let disclose = |id: &str, flag: bool, fields: Vec<DiscloseField>| {
            Command::Contact(ContactCommand::Update(ContactUpdate {
                id: contact_id(id),
                add: Vec::new(),
                rem: Vec::new(),
                chg: Some(epp_proto::contact::ContactChg {
                    disclose: Some(Disclose { flag, fields }),
                    ..Default::default()
                }),
            }))
        };
        a.cmd(disclose("techie", false, vec![DiscloseField::Voice])).await.ok();
        a.cmd(disclose("holder", true, vec![DiscloseField::Name(PostalInfoType::Int), DiscloseField::Email]))
            .await
            .ok();
        // Policy: registrant withholds name, street and e-mail; tech withholds nothing.
        let mut r = Rdap::start(
            &env,
            "[redaction]\nregistrant = [\"name\", \"street\", \"email\"]\ntechnical = []\nadministrative = []\n\
             contact_uri = \"https://nic.test.example/contact\"\n",
        )
        .await;
        let v = r.ok("/domain/privacy.test").await;
        let reg = entity(&v, "registrant");
        // Consent wins over the policy for name and e-mail; the street stays withheld.
        assert_eq!(vcard(reg, "fn").unwrap()[3], "Holder holder");
        assert_eq!(vcard(reg, "email").unwrap()[3], "holder@example.net");
        assert_eq!(vcard(reg, "adr").unwrap()[3][2], "");
        assert_eq!(vcard(reg, "adr").unwrap()[3][3], "Springfield");
        assert!(reg["handle"].is_string());
        let tech = entity(&v, "technical");
        assert_eq!(vcard(tech, "email").unwrap()[3], "techie@example.net");
        assert!(vcard(tech, "tel").is_none(), "the contact asked for its phone to be withheld");
        let names = redacted_names(&v);
        assert!(names.contains(&"Registrant Street".to_owned()), "{names:?}");
        assert!(!names.contains(&"Registrant Name".to_owned()), "{names:?}");
        assert!(names.contains(&"Tech Phone".to_owned()), "{names:?}");
        let tech_phone = v["redacted"].as_array().unwrap().iter().find(|r| r["name"]["type"] == "Tech Phone").unwrap();
        assert_eq!(tech_phone["method"], "removal");
        assert_eq!(tech_phone["reason"]["description"], "The contact asked for it not to be disclosed");
        r.stop().await;

        // Without consent honoured, the policy wins; a withheld e-mail becomes the contact URI.
        let mut r = Rdap::start(
            &env,
            "[redaction]\nregistrant = [\"name\", \"email\"]\nhonour_disclose = false\n\
             contact_uri = \"https://nic.test.example/contact\"\n",
        )
        .await;
        let v = r.ok("/domain/privacy.test").await;
        let reg = entity(&v, "registrant");
        assert_eq!(vcard(reg, "fn").unwrap()[3], "");
        assert!(vcard(reg, "email").is_none());
        assert_eq!(vcard(reg, "contact-uri").unwrap()[3], "https://nic.test.example/contact");
        let email = v["redacted"].as_array().unwrap().iter().find(|r| r["name"]["type"] == "Registrant Email").unwrap();
        assert_eq!(email["method"], "replacementValue");
        // The default policy elsewhere: the admin contact is withheld in full.
        assert!(vcard(entity(&v, "administrative"), "email").is_none());
        r.stop().await;
    })
    .await;
}

async fn idn_u_label_lookup(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = env.new_session("reg-a").await;
            a.cmd(contact_create("holder", "contact-pw")).await.ok();
            a.cmd(domain_create(
                "xn--bcher-kva.test",
                "holder",
                &[],
                "dom-pw-31",
            ))
            .await
            .ok();
            let mut r = Rdap::start(&env, "").await;
            // bücher.test, percent-encoded UTF-8 as a client sends it, and mixed case.
            for path in [
                "/domain/b%C3%BCcher.test",
                "/domain/B%C3%BCCHER.test",
                "/domain/xn--bcher-kva.test",
                "/domain/XN--BCHER-KVA.TEST.",
            ] {
                let v = r.ok(path).await;
                assert_eq!(v["ldhName"], "xn--bcher-kva.test", "{path}");
                assert_eq!(v["unicodeName"], "bücher.test", "{path}");
            }
            r.err("/domain/b%C3%BCcher-nicht.test", 404).await;
            r.stop().await;
        },
    )
    .await;
}

async fn bad_queries_get_error_objects(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut r = Rdap::start(&env, "").await;
            r.err("/domain/exa_mple.test", 400).await;
            r.err("/domain/-bad.test", 400).await;
            r.err("/domain/a..test", 400).await;
            r.err("/domain/%FF%FE.test", 400).await;
            let v = r
                .err(&format!("/domain/{}.test", "a".repeat(64)), 400)
                .await;
            assert_eq!(v["title"], "Name Too Long");
            r.err(&format!("/domain/{}test", "abcdefghi.".repeat(26)), 400)
                .await;
            r.err(&format!("/domain/{}", "a".repeat(3000)), 414).await;
            r.err("/domain/nothing-here.test", 404).await;
            r.err("/nameserver/ns1.nothing-here.test", 404).await;
            r.err("/unknown/path", 400).await;
            r.err("/domain/", 400).await;
            r.err("/domain/a/b", 400).await;
            r.err("/ip/192.0.2.0", 501).await;
            r.err("/autnum/64496", 501).await;
            r.err("/entities?fn=x*", 501).await;
            r.err("/domains?nsLdhName=ns1.x.test", 501).await;
            r.err("/nameservers?name=ns1*", 501).await;
            r.err("/domains", 400).await;
            r.err("/domains?name=e*", 422).await;
            r.err("/domains?name=*ample", 422).await;
            r.err("/domains?name=b%C3%BC*", 422).await;
            r.err("/domains?name=exa*&cursor=garbage", 400).await;
            r.err("/nameservers?ip=192.0.2.300", 400).await;
            let v = r.err("/nameservers", 400).await;
            assert!(v["description"][0].as_str().unwrap().contains("ip="));
            // Methods other than GET, HEAD and OPTIONS.
            let p = r
                .client
                .request(hyper::Method::POST, "/domain/x.test", &[])
                .await
                .unwrap();
            assert_eq!(p.status, 405);
            let v = check("POST", &p);
            assert_eq!(v["errorCode"], 405);
            assert_eq!(p.headers["allow"], "GET, HEAD, OPTIONS");
            // The connection survived every error.
            r.err("/domain/still-nothing.test", 404).await;
            r.stop().await;
        },
    )
    .await;
}

async fn rate_limit_answers_429(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut r =
                Rdap::start(&env, "[rate_limit]\nrequests_per_second = 1\nburst = 3\n").await;
            for _ in 0..3 {
                r.err("/domain/nothing.test", 404).await;
            }
            let (a, v) = r.get("/domain/nothing.test").await;
            assert_eq!(a.status, 429, "{v:#}");
            assert_eq!(v["errorCode"], 429);
            let retry: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=2).contains(&retry), "Retry-After {retry}");
            assert_eq!(a.headers["cache-control"], "no-store");
            // Another client (a new connection from 127.0.0.1 is the same client) waits too;
            // after the wait, queries pass again.
            let mut c2 = Client::connect(r.addr, Some((r.tls.clone(), "localhost")))
                .await
                .unwrap();
            assert_eq!(c2.get("/help").await.unwrap().status, 429);
            tokio::time::sleep(Duration::from_millis(1100 * retry)).await;
            r.err("/domain/nothing.test", 404).await;
            r.stop().await;
        },
    )
    .await;
}

async fn searches_are_paged_and_capped(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = env.new_session("reg-a").await;
            a.cmd(contact_create("holder", "contact-pw")).await.ok();
            for i in 0..7 {
                a.cmd(domain_create(
                    &format!("page-{i}.test"),
                    "holder",
                    &[],
                    "dom-pw-41",
                ))
                .await
                .ok();
            }
            a.cmd(domain_create("pagoda.test", "holder", &[], "dom-pw-41"))
                .await
                .ok();
            a.cmd(domain_create("other.test", "holder", &[], "dom-pw-41"))
                .await
                .ok();
            a.cmd(host_create("ns1.page-0.test", &["192.0.2.77"]))
                .await
                .ok();
            a.cmd(host_create(
                "ns2.page-0.test",
                &["192.0.2.77", "2001:db8::77"],
            ))
            .await
            .ok();
            a.cmd(host_create("ns3.page-0.test", &["192.0.2.78"]))
                .await
                .ok();
            let mut r = Rdap::start(&env, "[search]\npage_size = 3\nmax_results = 6\n").await;
            let names = |v: &Value, key: &str| -> Vec<String> {
                v[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["ldhName"].as_str().unwrap().to_owned())
                    .collect()
            };
            let p1 = r.ok("/domains?name=page*").await;
            assert!(p1["rdapConformance"]
                .as_array()
                .unwrap()
                .contains(&Value::from("paging")));
            assert_eq!(
                names(&p1, "domainSearchResults"),
                ["page-0.test", "page-1.test", "page-2.test"]
            );
            assert_eq!(p1["paging_metadata"]["pageNumber"], 1);
            let next = p1["paging_metadata"]["links"][0]["href"].as_str().unwrap();
            let path = next
                .strip_prefix("https://rdap.test.example")
                .unwrap()
                .to_owned();
            let p2 = r.ok(&path).await;
            assert_eq!(
                names(&p2, "domainSearchResults"),
                ["page-3.test", "page-4.test", "page-5.test"]
            );
            assert_eq!(p2["paging_metadata"]["pageNumber"], 2);
            // The cap: no third page, a truncation notice instead.
            assert!(p2["paging_metadata"].get("links").is_none(), "{p2:#}");
            let kinds: Vec<&str> = p2["notices"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|n| n["type"].as_str())
                .collect();
            assert_eq!(kinds, ["result set truncated due to excessive load"]);
            // Summaries: no entities (so nothing to redact), a remark saying so.
            assert!(p1["domainSearchResults"][0].get("entities").is_none());
            assert_eq!(
                p1["domainSearchResults"][0]["remarks"][0]["type"],
                "object truncated due to unexplainable reasons"
            );
            // With a suffix, exact names, nothing.
            assert_eq!(
                names(
                    &r.ok("/domains?name=pag*.test").await,
                    "domainSearchResults"
                ),
                ["page-0.test", "page-1.test", "page-2.test"]
            );
            assert_eq!(
                names(&r.ok("/domains?name=pago*").await, "domainSearchResults"),
                ["pagoda.test"]
            );
            assert_eq!(
                names(
                    &r.ok("/domains?name=Other.test").await,
                    "domainSearchResults"
                ),
                ["other.test"]
            );
            assert!(names(&r.ok("/domains?name=zz*").await, "domainSearchResults").is_empty());
            // Name servers by address, v4 and v6.
            let ns = r.ok("/nameservers?ip=192.0.2.77").await;
            assert_eq!(
                names(&ns, "nameserverSearchResults"),
                ["ns1.page-0.test", "ns2.page-0.test"]
            );
            let ns6 = r.ok("/nameservers?ip=2001:db8:0:0::77").await;
            assert_eq!(names(&ns6, "nameserverSearchResults"), ["ns2.page-0.test"]);
            // An address change shows at once (the host_addr index follows the host).
            a.cmd(Command::Host(HostCommand::Update(HostUpdate {
                name: host_name("ns3.page-0.test"),
                add: HostAddRem {
                    addrs: vec![ip("192.0.2.77")],
                    statuses: Vec::new(),
                },
                rem: HostAddRem {
                    addrs: vec![ip("192.0.2.78")],
                    statuses: Vec::new(),
                },
                new_name: None,
            })))
            .await
            .ok();
            let ns = r.ok("/nameservers?ip=192.0.2.77").await;
            assert_eq!(
                names(&ns, "nameserverSearchResults"),
                ["ns1.page-0.test", "ns2.page-0.test", "ns3.page-0.test"]
            );
            assert!(names(
                &r.ok("/nameservers?ip=192.0.2.78").await,
                "nameserverSearchResults"
            )
            .is_empty());
            a.cmd(host_delete("ns1.page-0.test")).await.ok();
            let ns = r.ok("/nameservers?ip=192.0.2.77").await;
            assert_eq!(
                names(&ns, "nameserverSearchResults"),
                ["ns2.page-0.test", "ns3.page-0.test"]
            );
            r.stop().await;
        },
    )
    .await;
}

/// Runs `body` with the registry's mail going to a fresh SMTP listener (for lock codes).
async fn run_with_mail<F, Fut>(backend: Backend, body: F)
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

async fn redemption_purge_and_registry_lock(backend: Backend) {
    run_with_mail(backend, |env, mut sink| async move {
        let reg = env.registrar("reg-a").await;
        let mut a = env
            .login_with(
                &reg,
                &[SEC_DNS_NS, RGP_NS, epp_proto::ext::registry_lock::NS],
            )
            .await;
        setup(&env, &mut a, "locked.test").await;
        a.cmd(domain_create("gone.test", "holder", &[], "dom-pw-51"))
            .await
            .ok();
        let mut r = Rdap::start(&env, "").await;

        // Registry lock: requested over EPP, verified by the operator with the mailed code.
        env.registry
            .store()
            .set_lock_contact(
                &registry_core::model::LockContact {
                    cl_id: "reg-a".into(),
                    name: "Lock Keeper".into(),
                    phone: "+1.5555550100".into(),
                    email: "lock@reg-a.example".into(),
                },
                env.now(),
            )
            .await
            .expect("lock contact");
        let before = r.ok("/domain/locked.test").await;
        assert!(event(&before, "locked").is_none());
        env.clock.advance(chrono::Duration::days(10));
        let req = a
            .cmd_ext(
                Command::Domain(D::Update(domain_update("locked.test"))),
                vec![X::RegistryLock(RegistryLockCommand::Lock)],
            )
            .await
            .expect(1001);
        let id = match req.response.extensions.as_slice() {
            [epp_proto::ext::ResponseExtension::RegistryLock(d)] => i64::try_from(d.id).unwrap(),
            other => panic!("{other:?}"),
        };
        let mailer = Mailer::from_config(&env.registry.config().mail).expect("mailer");
        let worker = eppd::workers::spawn_mail_worker(
            Arc::clone(&env.registry),
            mailer,
            Duration::from_millis(50),
        );
        let (_, code) = sink.code_mail(id).await;
        eventually("the code to be sent", || async {
            env.registry
                .lock_request(id)
                .await
                .expect("request")
                .0
                .state
                == "pendingVerification"
        })
        .await;
        env.registry
            .lock_verify("alice", id, &code)
            .await
            .expect("verify");
        worker.abort();
        let v = r.ok("/domain/locked.test").await;
        let st = statuses(&v);
        for s in [
            "server update prohibited",
            "server delete prohibited",
            "server transfer prohibited",
        ] {
            assert!(st.contains(&s.to_owned()), "{s} not in {st:?}");
        }
        assert_eq!(event(&v, "locked").as_deref(), Some("2025-03-11T12:00:00Z"));
        assert_eq!(
            event(&v, "last changed").as_deref(),
            Some("2025-03-11T12:00:00Z")
        );
        assert_eq!(v["remarks"][0]["title"], "Registry Lock");
        let glue = r.ok("/nameserver/ns1.locked.test").await;
        let st = statuses(&glue);
        assert!(
            st.contains(&"server update prohibited".to_owned())
                && st.contains(&"server delete prohibited".to_owned()),
            "{st:?}"
        );

        // Delete → redemption period; 30 days on → pending delete; 5 more → purged: 404,
        // even before the scheduler has run.
        let del = a.cmd(domain_delete("gone.test")).await;
        assert!(matches!(del.code, 1000 | 1001), "{}", del.xml);
        let st = statuses(&r.ok("/domain/gone.test").await);
        assert!(
            st.contains(&"pending delete".to_owned())
                && st.contains(&"redemption period".to_owned()),
            "{st:?}"
        );
        env.clock.advance(chrono::Duration::days(31));
        let st = statuses(&r.ok("/domain/gone.test").await);
        assert!(
            st.contains(&"pending delete".to_owned())
                && !st.contains(&"redemption period".to_owned()),
            "{st:?}"
        );
        env.clock.advance(chrono::Duration::days(5));
        r.err("/domain/gone.test", 404).await;
        env.registry.run_due(env.now()).await.expect("run_due");
        r.err("/domain/gone.test", 404).await;
        r.stop().await;
    })
    .await;
}

/// The schema is not vacuous: what RFC 9083 does not allow fails it.
#[test]
fn the_schema_refuses_what_rfc_9083_does_not_allow() {
    let ok = serde_json::json!({
        "rdapConformance": ["rdap_level_0"],
        "objectClassName": "domain",
        "ldhName": "example.test",
        "status": ["server update prohibited"],
        "events": [{"eventAction": "registration", "eventDate": "2025-03-01T12:00:00Z"}],
        "links": [{"value": "https://r.example/domain/example.test", "rel": "self", "href": "https://r.example/domain/example.test"}]
    });
    assert!(schema().is_valid(&ok));
    let bad = |patch: &dyn Fn(&mut Value)| {
        let mut v = ok.clone();
        patch(&mut v);
        assert!(!schema().is_valid(&v), "accepted: {v:#}");
    };
    bad(&|v| {
        v.as_object_mut().unwrap().remove("rdapConformance");
    });
    bad(&|v| v["authInfo"] = "secret".into());
    bad(&|v| v["status"][0] = "serverUpdateProhibited".into());
    bad(&|v| v["events"][0]["eventAction"] = "created".into());
    bad(&|v| v["events"][0]["eventDate"] = "yesterday".into());
    bad(&|v| {
        v["links"][0].as_object_mut().unwrap().remove("value");
    });
    bad(&|v| v["ldhName"] = "exa_mple.test".into());
    bad(&|v| {
        v["entities"] = serde_json::json!([{"objectClassName": "entity", "roles": ["owner"]}])
    });
    bad(&|v| {
        v["redacted"] =
            serde_json::json!([{"name": {"type": "Registrant Name"}, "method": "removal"}])
    });
}

/// The answer cache (crates/rdapd/src/cache.rs) answers repeated lookups without the full
/// query, and never shows an answer older than the request: a change committed before the
/// request (over EPP, or straight in the database by another process) and a grace period
/// that ended with no write are both seen at once.
async fn answer_cache_serves_and_never_shows_a_stale_answer(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = env.new_session("reg-a").await;
            setup(&env, &mut a, "cached.test").await;
            let mut r = Rdap::start(&env, "").await;
            let cache = |r: &Rdap| {
                let c = &r.running.as_ref().expect("running").state.cache;
                (c.hits(), c.readings())
            };
            let first = r.ok("/domain/cached.test").await;
            assert!(
                statuses(&first).contains(&"add period".to_owned()),
                "{first:#}"
            );
            let (hits0, _) = cache(&r);
            for _ in 0..5 {
                assert_eq!(r.ok("/domain/cached.test").await, first);
            }
            let (hits1, readings1) = cache(&r);
            assert!(
                readings1 >= 6,
                "each request waits for a stamp reading of its own"
            );
            r.ok("/nameserver/ns1.cached.test").await;
            assert_eq!(
                r.ok("/nameserver/ns1.cached.test").await["ldhName"],
                "ns1.cached.test"
            );
            // On PostgreSQL the stamp is the cluster's snapshot, which the other tests' writes
            // (running at the same time, on other databases) keep moving: hits are counted on
            // SQLite only, where this test's database is its own file.
            if matches!(env.backend, Backend::Sqlite) {
                assert_eq!(
                    hits1 - hits0,
                    5,
                    "repeated lookups are served from the cache"
                );
                assert_eq!(cache(&r).0, hits1 + 1);
            }

            // A change over EPP shows in the very next lookup.
            let mut u = domain_update("cached.test");
            u.rem.ns = Some(NameServers::HostObj(vec![host_name("ns.other.example")]));
            a.cmd(Command::Domain(D::Update(u))).await.ok();
            let v = r.ok("/domain/cached.test").await;
            let ns: Vec<&str> = v["nameservers"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|n| n["ldhName"].as_str())
                .collect();
            assert_eq!(ns, ["ns1.cached.test"], "{v:#}");

            // A commit by another connection, straight in the database, likewise.
            let before = r.ok("/nameserver/ns1.cached.test").await;
            let q = "UPDATE host SET cl_id = 'reg-b' WHERE name = 'ns1.cached.test'";
            match &env.db {
                registry_store::Db::Sqlite(p) => sqlx::query(q).execute(p).await.map(drop),
                registry_store::Db::Postgres(p) => sqlx::query(q).execute(p).await.map(drop),
            }
            .expect("direct write");
            let after = r.ok("/nameserver/ns1.cached.test").await;
            assert_ne!(before, after, "a direct write is seen at once");

            // The add period ends with no write at all: the cached answer is not served past it.
            r.ok("/domain/cached.test").await;
            env.clock.advance(chrono::Duration::days(6));
            let v = r.ok("/domain/cached.test").await;
            assert!(!statuses(&v).contains(&"add period".to_owned()), "{v:#}");
            r.stop().await;
        },
    )
    .await;
}
