//! Domain commands over real TLS against the registry core (RFC 5731, secDNS-1.1 RFC 5910):
//! check, info (sponsor, other registrar, authInfo), create, update (ns, contacts, statuses,
//! registrant, authInfo, DS add/rem/rem-all), renew and delete, with their error paths.
//! Every response frame is validated against the XSDs. Each test runs on SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use epp_proto::domain::{
    AuthInfoChange, ContactType, DomainAddRem, DomainChg, DomainCommand as D, DomainContact,
    DomainCreate, DomainRenew, DomainStatus as DS, HostAttr, NameServers,
};
use epp_proto::ext::sec_dns::{
    DsData, DsOrKeyData, KeyData, SecDnsCreate, SecDnsRem, SecDnsUpdate,
};
use epp_proto::ext::CommandExtension as X;
use epp_proto::{Command, Label, Period, PeriodUnit, ResponseData, StatusEntry};
use registry_core::ObjectRef;
use support::core::*;
use support::*;

both_backends!(
    check_and_create,
    create_errors,
    info_by_sponsor_other_and_auth_info,
    update_ns_contacts_statuses_chg,
    update_errors_and_authorisation,
    server_statuses_refused_and_enforced,
    sec_dns_create_add_rem_rem_all,
    sec_dns_only_for_sessions_that_asked,
    renew,
    delete_in_and_after_add_grace,
);

fn check(names: &[&str]) -> Command {
    Command::Domain(D::Check(
        names
            .iter()
            .map(|n| Label::new(n).expect("label"))
            .collect(),
    ))
}

fn update(u: epp_proto::domain::DomainUpdate) -> Command {
    Command::Domain(D::Update(u))
}

fn ds(key_tag: u16, alg: u8, digest_type: u8, digest: &str) -> DsData {
    DsData {
        key_tag,
        alg,
        digest_type,
        digest: digest.to_owned(),
        key_data: None,
    }
}

fn digest(seed: char) -> String {
    std::iter::repeat_n(seed, 64).collect()
}

fn statuses(s: &[DS]) -> Vec<StatusEntry<DS>> {
    s.iter().copied().map(StatusEntry::new).collect()
}

fn status_tokens(r: &Reply) -> Vec<&'static str> {
    r.domain_info()
        .statuses
        .iter()
        .map(|s| s.status.as_str())
        .collect()
}

/// A registrar with a contact `<prefix>-c1` and a session.
async fn setup(env: &CoreEnv, cl_id: &str) -> Session {
    let (_, mut s) = env.new_session(cl_id).await;
    s.cmd(contact_create(&format!("{cl_id}-c1"), "contact-pw"))
        .await
        .ok();
    s
}

async fn check_and_create(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut s = setup(&env, "reg-a").await;
            let r = s
                .cmd(check(&["free.test", "-bad-.test", "x.other", "a.b.test"]))
                .await
                .ok();
            let items = r.check();
            assert_eq!(items.len(), 4);
            assert!(items[0].available, "{:?}", items[0]);
            for i in &items[1..] {
                assert!(!i.available, "{i:?}");
                assert!(i.reason.is_some(), "{i:?}");
            }

            s.cmd(host_create("ns1.example.net", &[])).await.ok();
            let r = s
                .cmd(domain_create(
                    "free.test",
                    "reg-a-c1",
                    &["ns1.example.net"],
                    "dom-pw-1",
                ))
                .await
                .ok();
            let ResponseData::DomainCreate(cre) = r.res_data() else {
                panic!("creData expected: {}", r.xml);
            };
            assert_eq!(cre.name.as_str(), "free.test");
            assert_eq!(cre.cr_date, env.now());
            assert_eq!(
                cre.ex_date,
                Some(
                    env.now()
                        .checked_add_months(chrono::Months::new(12))
                        .unwrap()
                )
            );

            let r = s.cmd(check(&["free.test"])).await.ok();
            assert!(!r.check()[0].available);
            assert_eq!(r.check()[0].reason.as_deref(), Some("in use"));

            s.cmd(domain_create("free.test", "reg-a-c1", &[], "dom-pw-1"))
                .await
                .expect(2302);
            // Case does not make another name.
            s.cmd(domain_create("FREE.test", "reg-a-c1", &[], "dom-pw-1"))
                .await
                .expect(2302);

            let ops = env.history_ops(ObjectRef::Domain("free.test".into())).await;
            assert_eq!(ops, ["domain:create"]);
            let journal = env.journal().await;
            assert_eq!(journal, [("domain".to_owned(), "free.test".to_owned())]);
        },
    )
    .await
}

async fn create_errors(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut s = setup(&env, "reg-a").await;
            let (_, mut b) = env.new_session("reg-b").await;
            b.cmd(contact_create("reg-b-c1", "contact-pw")).await.ok();
            s.cmd(host_create("ns1.example.net", &[])).await.ok();

            let base = |name: &str| DomainCreate {
                name: host_name(name),
                period: None,
                ns: None,
                registrant: Some(contact_id("reg-a-c1")),
                contacts: Vec::new(),
                auth_info: auth("dom-pw-1"),
            };
            let create = |c: DomainCreate| Command::Domain(D::Create(c));

            // Registrant missing, unknown; contact unknown.
            let mut c = base("e1.test");
            c.registrant = None;
            s.cmd(create(c)).await.expect(2003);
            let mut c = base("e1.test");
            c.registrant = Some(contact_id("nobody"));
            s.cmd(create(c)).await.expect(2303);
            let mut c = base("e1.test");
            c.contacts = vec![DomainContact {
                contact_type: ContactType::Tech,
                id: contact_id("nobody"),
            }];
            s.cmd(create(c)).await.expect(2303);
            // Name server that does not exist; duplicate name server; hostAttr.
            let mut c = base("e1.test");
            c.ns = Some(NameServers::HostObj(vec![host_name("ns9.example.net")]));
            s.cmd(create(c)).await.expect(2303);
            let mut c = base("e1.test");
            c.ns = Some(NameServers::HostObj(vec![
                host_name("ns1.example.net"),
                host_name("ns1.example.net"),
            ]));
            s.cmd(create(c)).await.expect(2306);
            let mut c = base("e1.test");
            c.ns = Some(NameServers::HostAttr(vec![HostAttr {
                name: host_name("ns1.e1.test"),
                addrs: vec![ip("192.0.2.1")],
            }]));
            s.cmd(create(c)).await.expect(2102);
            // Names: not served, not one label below the TLD, bad A-label.
            s.cmd(create(base("e1.example"))).await.expect(2306);
            s.cmd(create(base("a.e1.test"))).await.expect(2306);
            s.cmd(create(base("xx--abc.test"))).await.expect(2005);
            // Periods: 10 years is the most; 11 years and 121 months are refused.
            let mut c = base("e2.test");
            c.period = Some(Period::years(11).unwrap());
            s.cmd(create(c)).await.expect(2306);
            let mut c = base("e2.test");
            c.period = Some(Period::new(99, PeriodUnit::Months).unwrap());
            s.cmd(create(c)).await.ok();
            // Another registrar's contact may be used as registrant (contacts are global).
            let mut c = base("e3.test");
            c.registrant = Some(contact_id("reg-b-c1"));
            s.cmd(create(c)).await.ok();
            // An authInfo below the strength policy: 2202 (RFC 9154 section 4.1). (An empty
            // one means "none" and is accepted: tests/secure_authinfo.rs.)
            let mut c = base("e4.test");
            c.auth_info = raw_auth("2fooBAR");
            s.cmd(create(c)).await.expect(2202);

            // Nothing refused left a trace.
            for n in ["e1.test", "e4.test", "a.e1.test"] {
                assert!(
                    env.history_ops(ObjectRef::Domain(n.into()))
                        .await
                        .is_empty(),
                    "{n} has history"
                );
            }
        },
    )
    .await
}

async fn info_by_sponsor_other_and_auth_info(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut a = setup(&env, "reg-a").await;
            let (_, mut b) = env.new_session("reg-b").await;
            a.cmd(host_create("ns1.example.net", &[])).await.ok();
            a.cmd(domain_create(
                "info.test",
                "reg-a-c1",
                &["ns1.example.net"],
                "dom-pw-1",
            ))
            .await
            .ok();
            a.cmd(host_create("ns1.info.test", &["192.0.2.1"]))
                .await
                .ok();

            // Sponsor: everything.
            let r = a.cmd(domain_info("info.test", None)).await.ok();
            let d = r.domain_info();
            assert_eq!(d.cl_id.as_str(), "reg-a");
            assert_eq!(d.cr_id.as_ref().map(|c| c.as_str()), Some("reg-a"));
            assert_eq!(d.registrant.as_ref().map(|c| c.as_str()), Some("reg-a-c1"));
            assert_eq!(d.contacts.len(), 2);
            // Everything but the authInfo, which no info returns (RFC 9154 section 4.2).
            assert!(d.auth_info.is_none());
            assert_eq!(
                d.ns,
                Some(NameServers::HostObj(vec![host_name("ns1.example.net")]))
            );
            assert_eq!(d.hosts, vec![host_name("ns1.info.test")]);
            assert_eq!(status_tokens(&r), ["ok"]);
            assert!(d.roid.as_str().ends_with("-EPP"), "{:?}", d.roid);

            // Another registrar without authInfo: the public part only.
            let r = b.cmd(domain_info("info.test", None)).await.ok();
            let d = r.domain_info();
            assert_eq!(d.cl_id.as_str(), "reg-a");
            assert!(d.registrant.is_none() && d.contacts.is_empty() && d.auth_info.is_none());
            assert!(d.ns.is_none() && d.hosts.is_empty());
            // With the right authInfo: everything; with a wrong one: 2202.
            let r = b.cmd(domain_info("info.test", Some("dom-pw-1"))).await.ok();
            assert_eq!(
                r.domain_info().registrant.as_ref().map(|c| c.as_str()),
                Some("reg-a-c1")
            );
            assert!(r.domain_info().auth_info.is_none());
            b.cmd(domain_info("info.test", Some("wrong-pw")))
                .await
                .expect(2202);
            // Unknown names.
            b.cmd(domain_info("nothere.test", None)).await.expect(2303);
            // A domain without name servers is inactive.
            a.cmd(domain_create("bare.test", "reg-a-c1", &[], "dom-pw-2"))
                .await
                .ok();
            let r = a.cmd(domain_info("bare.test", None)).await.ok();
            assert_eq!(status_tokens(&r), ["inactive"]);
        },
    )
    .await
}

async fn update_ns_contacts_statuses_chg(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut a = setup(&env, "reg-a").await;
            a.cmd(contact_create("reg-a-c2", "contact-pw")).await.ok();
            for h in ["ns1.example.net", "ns2.example.net"] {
                a.cmd(host_create(h, &[])).await.ok();
            }
            a.cmd(domain_create(
                "upd.test",
                "reg-a-c1",
                &["ns1.example.net"],
                "dom-pw-1",
            ))
            .await
            .ok();
            let journal_before = env.journal().await.len();

            let mut u = domain_update("upd.test");
            u.add = DomainAddRem {
                ns: Some(NameServers::HostObj(vec![host_name("ns2.example.net")])),
                contacts: vec![DomainContact {
                    contact_type: ContactType::Billing,
                    id: contact_id("reg-a-c2"),
                }],
                statuses: statuses(&[DS::ClientHold, DS::ClientRenewProhibited]),
            };
            u.rem = DomainAddRem {
                ns: Some(NameServers::HostObj(vec![host_name("ns1.example.net")])),
                contacts: vec![DomainContact {
                    contact_type: ContactType::Tech,
                    id: contact_id("reg-a-c1"),
                }],
                statuses: Vec::new(),
            };
            u.chg = Some(DomainChg {
                registrant: Some(Some(contact_id("reg-a-c2"))),
                auth_info: Some(AuthInfoChange::Set(auth("dom-pw-new"))),
            });
            a.cmd(update(u)).await.ok();

            let r = a.cmd(domain_info("upd.test", None)).await.ok();
            let d = r.domain_info();
            assert_eq!(
                d.ns,
                Some(NameServers::HostObj(vec![host_name("ns2.example.net")]))
            );
            assert_eq!(d.registrant.as_ref().map(|c| c.as_str()), Some("reg-a-c2"));
            let mut contacts: Vec<_> = d
                .contacts
                .iter()
                .map(|c| (c.contact_type.as_str(), c.id.as_str()))
                .collect();
            contacts.sort();
            assert_eq!(contacts, [("admin", "reg-a-c1"), ("billing", "reg-a-c2")]);
            assert!(d.auth_info.is_none(), "info never returns the authInfo");
            let stored = env.stored_domain("upd.test").await;
            assert!(registry_core::secure_auth::opens(
                stored.auth_pw.as_deref().unwrap_or(""),
                &strong("dom-pw-new")
            ));
            assert_eq!(d.up_id.as_ref().map(|c| c.as_str()), Some("reg-a"));
            let mut st = status_tokens(&r);
            st.sort();
            assert_eq!(st, ["clientHold", "clientRenewProhibited"]);
            // The delegation changed (ns and clientHold): one journal entry for the update.
            assert_eq!(env.journal().await.len(), journal_before + 1);

            // Remove a status; remove authInfo.
            let mut u = domain_update("upd.test");
            u.rem.statuses = statuses(&[DS::ClientHold]);
            u.chg = Some(DomainChg {
                registrant: None,
                auth_info: Some(AuthInfoChange::Remove),
            });
            a.cmd(update(u)).await.ok();
            let r = a.cmd(domain_info("upd.test", None)).await.ok();
            assert_eq!(status_tokens(&r), ["clientRenewProhibited"]);
            assert!(r.domain_info().auth_info.is_none());
            assert_eq!(env.stored_domain("upd.test").await.auth_pw, None);

            // clientUpdateProhibited blocks updates, except the one that removes it.
            let mut u = domain_update("upd.test");
            u.add.statuses = statuses(&[DS::ClientUpdateProhibited]);
            a.cmd(update(u)).await.ok();
            let mut u = domain_update("upd.test");
            u.add.statuses = statuses(&[DS::ClientHold]);
            a.cmd(update(u)).await.expect(2304);
            let mut u = domain_update("upd.test");
            u.rem.statuses = statuses(&[DS::ClientUpdateProhibited]);
            u.add.statuses = statuses(&[DS::ClientHold]);
            a.cmd(update(u)).await.ok();

            let ops = env.history_ops(ObjectRef::Domain("upd.test".into())).await;
            assert_eq!(
                ops,
                [
                    "domain:create",
                    "domain:update",
                    "domain:update",
                    "domain:update",
                    "domain:update"
                ]
            );
        },
    )
    .await
}

async fn update_errors_and_authorisation(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut a = setup(&env, "reg-a").await;
            let (_, mut b) = env.new_session("reg-b").await;
            a.cmd(host_create("ns1.example.net", &[])).await.ok();
            a.cmd(domain_create(
                "err.test",
                "reg-a-c1",
                &["ns1.example.net"],
                "dom-pw-1",
            ))
            .await
            .ok();

            // Adding what is there, removing what is not: 2306.
            let mut u = domain_update("err.test");
            u.add.ns = Some(NameServers::HostObj(vec![host_name("ns1.example.net")]));
            a.cmd(update(u)).await.expect(2306);
            let mut u = domain_update("err.test");
            u.rem.ns = Some(NameServers::HostObj(vec![host_name("ns2.example.net")]));
            a.cmd(update(u)).await.expect(2306);
            let mut u = domain_update("err.test");
            u.rem.statuses = statuses(&[DS::ClientHold]);
            a.cmd(update(u)).await.expect(2306);
            let mut u = domain_update("err.test");
            u.add.contacts = vec![DomainContact {
                contact_type: ContactType::Admin,
                id: contact_id("reg-a-c1"),
            }];
            a.cmd(update(u)).await.expect(2306);
            // Unknown host, contact, registrant: 2303. Empty registrant: 2306.
            let mut u = domain_update("err.test");
            u.add.ns = Some(NameServers::HostObj(vec![host_name("ns9.example.net")]));
            a.cmd(update(u)).await.expect(2303);
            let mut u = domain_update("err.test");
            u.add.contacts = vec![DomainContact {
                contact_type: ContactType::Billing,
                id: contact_id("nobody"),
            }];
            a.cmd(update(u)).await.expect(2303);
            let mut u = domain_update("err.test");
            u.chg = Some(DomainChg {
                registrant: Some(Some(contact_id("nobody"))),
                auth_info: None,
            });
            a.cmd(update(u)).await.expect(2303);
            let mut u = domain_update("err.test");
            u.chg = Some(DomainChg {
                registrant: Some(None),
                auth_info: None,
            });
            a.cmd(update(u)).await.expect(2306);
            // Unknown domain.
            a.cmd(update(domain_update("nothere.test")))
                .await
                .expect(2303);

            // Another registrar: 2201 for update, renew, delete.
            let mut u = domain_update("err.test");
            u.add.statuses = statuses(&[DS::ClientHold]);
            b.cmd(update(u)).await.expect(2201);
            b.cmd(domain_delete("err.test")).await.expect(2201);
            let ex = a
                .cmd(domain_info("err.test", None))
                .await
                .ok()
                .domain_info()
                .ex_date
                .unwrap();
            b.cmd(Command::Domain(D::Renew(DomainRenew {
                name: host_name("err.test"),
                cur_exp_date: ex.date_naive(),
                period: None,
            })))
            .await
            .expect(2201);

            // None of it changed anything.
            let ops = env.history_ops(ObjectRef::Domain("err.test".into())).await;
            assert_eq!(ops, ["domain:create"]);
            let r = a.cmd(domain_info("err.test", None)).await.ok();
            assert_eq!(status_tokens(&r), ["ok"]);
        },
    )
    .await
}

async fn server_statuses_refused_and_enforced(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut a = setup(&env, "reg-a").await;
            a.cmd(domain_create("srv.test", "reg-a-c1", &[], "dom-pw-1"))
                .await
                .ok();
            // Clients may set client* statuses only.
            for s in [
                DS::ServerHold,
                DS::ServerUpdateProhibited,
                DS::ServerDeleteProhibited,
                DS::ServerRenewProhibited,
                DS::ServerTransferProhibited,
                DS::PendingDelete,
                DS::PendingTransfer,
                DS::Ok,
                DS::Inactive,
            ] {
                let mut u = domain_update("srv.test");
                u.add.statuses = statuses(&[s]);
                let r = a.cmd(update(u)).await;
                assert_eq!(r.code, 2306, "adding {s}: {}", r.xml);
            }
            // The registry sets serverUpdateProhibited and serverDeleteProhibited.
            env.registry
                .set_server_statuses(
                    &ObjectRef::Domain("srv.test".into()),
                    &["serverUpdateProhibited", "serverDeleteProhibited"],
                    &[],
                )
                .await
                .expect("set server statuses");
            let r = a.cmd(domain_info("srv.test", None)).await.ok();
            let st = status_tokens(&r);
            assert!(st.contains(&"serverUpdateProhibited"), "{st:?}");
            // The client can neither remove them nor update nor delete.
            let mut u = domain_update("srv.test");
            u.rem.statuses = statuses(&[DS::ServerUpdateProhibited]);
            a.cmd(update(u)).await.expect(2304);
            let mut u = domain_update("srv.test");
            u.add.statuses = statuses(&[DS::ClientHold]);
            a.cmd(update(u)).await.expect(2304);
            // Past the add grace period, so the delete is not a purge.
            env.advance_days(6).await;
            a.cmd(domain_delete("srv.test")).await.expect(2304);
            // The sponsor has a poll message about it.
            let r = a
                .cmd(Command::Poll(epp_proto::session::Poll::Request))
                .await
                .expect(1301);
            assert!(
                r.response
                    .msg_q
                    .as_ref()
                    .and_then(|m| m.msg.as_deref())
                    .is_some_and(|m| m.contains("srv.test")),
                "{}",
                r.xml
            );
        },
    )
    .await
}

async fn sec_dns_create_add_rem_rem_all(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut a = setup(&env, "reg-a").await;
            a.cmd(host_create("ns1.example.net", &[])).await.ok();
            let d1 = ds(12345, 13, 2, &digest('A'));
            let d2 = ds(23456, 8, 2, &digest('B'));
            let d3 = ds(34567, 8, 2, &digest('C'));
            let r = a
                .cmd_ext(
                    domain_create("sec.test", "reg-a-c1", &["ns1.example.net"], "dom-pw-1"),
                    vec![X::SecDnsCreate(SecDnsCreate {
                        max_sig_life: None,
                        data: DsOrKeyData::Ds(vec![d1.clone()]),
                    })],
                )
                .await
                .ok();
            assert!(!r.has_extension(epp_proto::ns::SEC_DNS));

            let ds_of = |r: &Reply| -> Vec<DsData> {
                r.response
                    .extensions
                    .iter()
                    .find_map(|e| match e {
                        epp_proto::ext::ResponseExtension::SecDnsInfo(i) => match &i.data {
                            DsOrKeyData::Ds(v) => Some(v.clone()),
                            DsOrKeyData::Key(_) => panic!("keyData in info"),
                        },
                        _ => None,
                    })
                    .unwrap_or_default()
            };
            let r = a.cmd(domain_info("sec.test", None)).await.ok();
            assert_eq!(ds_of(&r), std::slice::from_ref(&d1));

            let sec = |u: SecDnsUpdate| vec![X::SecDnsUpdate(u)];
            // add two
            a.cmd_ext(
                update(domain_update("sec.test")),
                sec(SecDnsUpdate {
                    add: Some(DsOrKeyData::Ds(vec![d2.clone(), d3.clone()])),
                    ..Default::default()
                }),
            )
            .await
            .ok();
            let r = a.cmd(domain_info("sec.test", None)).await.ok();
            let mut got = ds_of(&r);
            got.sort();
            let mut want = vec![d1.clone(), d2.clone(), d3.clone()];
            want.sort();
            assert_eq!(got, want);
            // add present / rem absent: 2306
            a.cmd_ext(
                update(domain_update("sec.test")),
                sec(SecDnsUpdate {
                    add: Some(DsOrKeyData::Ds(vec![d2.clone()])),
                    ..Default::default()
                }),
            )
            .await
            .expect(2306);
            a.cmd_ext(
                update(domain_update("sec.test")),
                sec(SecDnsUpdate {
                    rem: Some(SecDnsRem::Data(DsOrKeyData::Ds(vec![ds(
                        1,
                        8,
                        2,
                        &digest('D'),
                    )]))),
                    ..Default::default()
                }),
            )
            .await
            .expect(2306);
            // rem one
            a.cmd_ext(
                update(domain_update("sec.test")),
                sec(SecDnsUpdate {
                    rem: Some(SecDnsRem::Data(DsOrKeyData::Ds(vec![d1.clone()]))),
                    ..Default::default()
                }),
            )
            .await
            .ok();
            let r = a.cmd(domain_info("sec.test", None)).await.ok();
            let mut got = ds_of(&r);
            got.sort();
            let mut want = vec![d2.clone(), d3.clone()];
            want.sort();
            assert_eq!(got, want);
            // Policy: unassigned algorithm, digest type 255, wrong digest length, keyData,
            // urgent: refused.
            for (bad, code) in [
                (ds(1, 123, 2, &digest('E')), 2306),
                (ds(1, 8, 255, &digest('E')), 2306),
                (ds(1, 8, 2, "ABCD"), 2005),
            ] {
                let r = a
                    .cmd_ext(
                        update(domain_update("sec.test")),
                        sec(SecDnsUpdate {
                            add: Some(DsOrKeyData::Ds(vec![bad.clone()])),
                            ..Default::default()
                        }),
                    )
                    .await;
                assert_eq!(r.code, code, "{bad:?}: {}", r.xml);
            }
            a.cmd_ext(
                update(domain_update("sec.test")),
                sec(SecDnsUpdate {
                    add: Some(DsOrKeyData::Key(vec![KeyData {
                        flags: 257,
                        protocol: 3,
                        alg: 13,
                        pub_key: "AwEAAag=".into(),
                    }])),
                    ..Default::default()
                }),
            )
            .await
            .expect(2306);
            a.cmd_ext(
                update(domain_update("sec.test")),
                sec(SecDnsUpdate {
                    urgent: true,
                    rem: Some(SecDnsRem::All),
                    ..Default::default()
                }),
            )
            .await
            .expect(2102);
            // rem all, then replace in one command (rem all + add).
            a.cmd_ext(
                update(domain_update("sec.test")),
                sec(SecDnsUpdate {
                    rem: Some(SecDnsRem::All),
                    ..Default::default()
                }),
            )
            .await
            .ok();
            let r = a.cmd(domain_info("sec.test", None)).await.ok();
            assert!(ds_of(&r).is_empty(), "{}", r.xml);
            a.cmd_ext(
                update(domain_update("sec.test")),
                sec(SecDnsUpdate {
                    rem: Some(SecDnsRem::All),
                    add: Some(DsOrKeyData::Ds(vec![d3.clone()])),
                    ..Default::default()
                }),
            )
            .await
            .ok();
            let r = a.cmd(domain_info("sec.test", None)).await.ok();
            assert_eq!(ds_of(&r), std::slice::from_ref(&d3));
            // Every DS change moved the delegation.
            let domain_entries = env
                .journal()
                .await
                .into_iter()
                .filter(|(k, n)| k == "domain" && n == "sec.test")
                .count();
            assert_eq!(domain_entries, 5, "create, add, rem, rem all, replace");
            // secDNS on a command it does not belong to: 2002.
            a.cmd_ext(
                domain_info("sec.test", None),
                sec(SecDnsUpdate {
                    rem: Some(SecDnsRem::All),
                    ..Default::default()
                }),
            )
            .await
            .expect(2002);
        },
    )
    .await
}

async fn sec_dns_only_for_sessions_that_asked(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let reg = env.registrar("reg-a").await;
            let mut full = env.login(&reg).await;
            full.cmd(contact_create("reg-a-c1", "contact-pw"))
                .await
                .ok();
            full.cmd_ext(
                domain_create("ext.test", "reg-a-c1", &[], "dom-pw-1"),
                vec![X::SecDnsCreate(SecDnsCreate {
                    max_sig_life: None,
                    data: DsOrKeyData::Ds(vec![ds(1, 13, 2, &digest('A'))]),
                })],
            )
            .await
            .ok();
            let r = full.cmd(domain_info("ext.test", None)).await.ok();
            assert!(r.has_extension(epp_proto::ns::SEC_DNS), "{}", r.xml);
            assert!(r.has_extension(epp_proto::ns::RGP), "addPeriod: {}", r.xml);

            // No extensions at login: no extension data, and secDNS in a command is refused.
            let mut plain = env.login_with(&reg, &[]).await;
            let r = plain.cmd(domain_info("ext.test", None)).await.ok();
            assert!(r.response.extensions.is_empty(), "{}", r.xml);
            assert!(
                !r.xml.contains("secDNS") && !r.xml.contains("rgp"),
                "{}",
                r.xml
            );
            plain
                .cmd_ext(
                    update(domain_update("ext.test")),
                    vec![X::SecDnsUpdate(SecDnsUpdate {
                        rem: Some(SecDnsRem::All),
                        ..Default::default()
                    })],
                )
                .await
                .expect(2103);
            // Only rgp: rgp data without secDNS data.
            let mut rgp_only = env.login_with(&reg, &[RGP_NS]).await;
            let r = rgp_only.cmd(domain_info("ext.test", None)).await.ok();
            assert!(r.has_extension(epp_proto::ns::RGP), "{}", r.xml);
            assert!(!r.has_extension(epp_proto::ns::SEC_DNS), "{}", r.xml);
            // Only secDNS.
            let mut sec_only = env.login_with(&reg, &[SEC_DNS_NS]).await;
            let r = sec_only.cmd(domain_info("ext.test", None)).await.ok();
            assert!(!r.has_extension(epp_proto::ns::RGP), "{}", r.xml);
            assert!(r.has_extension(epp_proto::ns::SEC_DNS), "{}", r.xml);
        },
    )
    .await
}

async fn renew(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut a = setup(&env, "reg-a").await;
            a.cmd(domain_create("ren.test", "reg-a-c1", &[], "dom-pw-1"))
                .await
                .ok();
            let ex = a
                .cmd(domain_info("ren.test", None))
                .await
                .ok()
                .domain_info()
                .ex_date
                .unwrap();
            let renew = |cur: chrono::NaiveDate, years: u8| {
                Command::Domain(D::Renew(DomainRenew {
                    name: host_name("ren.test"),
                    cur_exp_date: cur,
                    period: Some(Period::years(years).unwrap()),
                }))
            };
            // Wrong current expiry date.
            a.cmd(renew(ex.date_naive() + chrono::Days::new(1), 1))
                .await
                .expect(2306);
            // Beyond ten years from now.
            a.cmd(renew(ex.date_naive(), 10)).await.expect(2306);
            let r = a.cmd(renew(ex.date_naive(), 2)).await.ok();
            let ResponseData::DomainRenew(rd) = r.res_data() else {
                panic!("renData expected: {}", r.xml);
            };
            let want = ex.checked_add_months(chrono::Months::new(24)).unwrap();
            assert_eq!(rd.ex_date, Some(want));
            let r = a.cmd(domain_info("ren.test", None)).await.ok();
            assert_eq!(r.domain_info().ex_date, Some(want));
            // The old date no longer matches.
            a.cmd(renew(ex.date_naive(), 1)).await.expect(2306);
            // clientRenewProhibited.
            let mut u = domain_update("ren.test");
            u.add.statuses = statuses(&[DS::ClientRenewProhibited]);
            a.cmd(update(u)).await.ok();
            a.cmd(renew(want.date_naive(), 1)).await.expect(2304);
            a.cmd(Command::Domain(D::Renew(DomainRenew {
                name: host_name("nothere.test"),
                cur_exp_date: want.date_naive(),
                period: None,
            })))
            .await
            .expect(2303);
            let ops = env.history_ops(ObjectRef::Domain("ren.test".into())).await;
            assert_eq!(ops, ["domain:create", "domain:renew", "domain:update"]);
        },
    )
    .await
}

async fn delete_in_and_after_add_grace(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut a = setup(&env, "reg-a").await;
            // Within the add grace period: purged at once, the name is free again.
            a.cmd(domain_create("del1.test", "reg-a-c1", &[], "dom-pw-1"))
                .await
                .ok();
            a.cmd(domain_delete("del1.test")).await.expect(1000);
            a.cmd(domain_info("del1.test", None)).await.expect(2303);
            assert!(a.cmd(check(&["del1.test"])).await.ok().check()[0].available);

            // After it: pendingDelete (1001); a second delete is refused.
            a.cmd(domain_create("del2.test", "reg-a-c1", &[], "dom-pw-1"))
                .await
                .ok();
            a.cmd(domain_create("del3.test", "reg-a-c1", &[], "dom-pw-1"))
                .await
                .ok();
            a.cmd(host_create("ns1.del3.test", &["192.0.2.10"]))
                .await
                .ok();
            env.advance_days(6).await;
            a.cmd(domain_delete("del2.test")).await.expect(1001);
            let r = a.cmd(domain_info("del2.test", None)).await.ok();
            assert!(status_tokens(&r).contains(&"pendingDelete"), "{}", r.xml);
            a.cmd(domain_delete("del2.test")).await.expect(2304);
            // Subordinate hosts: 2305.
            a.cmd(domain_delete("del3.test")).await.expect(2305);
            // clientDeleteProhibited: 2304.
            a.cmd(host_delete("ns1.del3.test")).await.ok();
            let mut u = domain_update("del3.test");
            u.add.statuses = statuses(&[DS::ClientDeleteProhibited]);
            a.cmd(update(u)).await.ok();
            a.cmd(domain_delete("del3.test")).await.expect(2304);
            a.cmd(domain_delete("nothere.test")).await.expect(2303);
            let ops = env.history_ops(ObjectRef::Domain("del1.test".into())).await;
            assert_eq!(ops, ["domain:create", "domain:delete"]);
        },
    )
    .await
}

/// Bug: after `<secDNS:rem><secDNS:all>` on a domain with a maxSigLife, domain info answers a
/// `<secDNS:infData>` with maxSigLife and no dsData, which secDNS-1.1.xsd does not allow (and
/// the client-side decoder refuses).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bug_sec_dns_rem_all_with_max_sig_life() {
    run_core(
        Backend::Sqlite,
        |_, _| {},
        |env| async move {
            let mut a = setup(&env, "reg-a").await;
            a.cmd_ext(
                domain_create("msl.test", "reg-a-c1", &[], "dom-pw-1"),
                vec![X::SecDnsCreate(SecDnsCreate {
                    max_sig_life: Some(604800),
                    data: DsOrKeyData::Ds(vec![ds(1, 13, 2, &digest('A'))]),
                })],
            )
            .await
            .ok();
            a.cmd_ext(
                update(domain_update("msl.test")),
                vec![X::SecDnsUpdate(SecDnsUpdate {
                    rem: Some(SecDnsRem::All),
                    ..Default::default()
                })],
            )
            .await
            .ok();
            // Decoding (and the schema check at the end) must succeed; with no DS left there
            // is no secDNS:infData at all (maxSigLife went with the DS set).
            let r = a.cmd(domain_info("msl.test", None)).await.ok();
            assert!(!r.xml.contains("secDNS"), "{}", r.xml);
        },
    )
    .await
}
