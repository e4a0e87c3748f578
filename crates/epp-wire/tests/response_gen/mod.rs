//! Shared by `responses.rs` and `xmllint.rs`: the RFC fixtures, proptest strategies that
//! generate valid responses and greetings, and a broad set of hand-built values.
#![allow(dead_code)]

use std::net::IpAddr;
use std::path::PathBuf;

use chrono::DateTime;
use epp_proto::contact::{
    Address, ContactCreateData, ContactInfoData, ContactStatus, Disclose, DiscloseField, Phone,
    PostalInfo, PostalInfoType,
};
use epp_proto::domain::{
    ContactType, DomainContact, DomainCreateData, DomainInfoData, DomainRenewData, DomainStatus,
    HostAttr, NameServers, PendingActionData,
};
use epp_proto::ext::rgp::{RgpInfoData, RgpStatus, RgpUpdData};
use epp_proto::ext::sec_dns::{DsData, DsOrKeyData, KeyData, SecDnsInfoData, MAX_SIG_LIFE_MAX};
use epp_proto::ext::ResponseExtension;
use epp_proto::greeting::{
    Dcp, DcpAccess, DcpExpiry, DcpPurpose, DcpRecipient, DcpRetention, DcpStatement,
};
use epp_proto::host::{HostCreateData, HostInfoData, HostStatus};
use epp_proto::response::{EppResult, ExtValue, MsgQ, TrId, ValueElement};
use epp_proto::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/responses")
}

/// Every fixture, as (file name, contents), sorted by name.
pub fn fixtures() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .map(|p| {
            let name = p
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&p).expect("fixture is UTF-8"))
        })
        .collect();
    out.sort();
    out
}

pub fn ts(s: &str) -> Timestamp {
    DateTime::parse_from_rfc3339(s)
        .expect("test timestamp")
        .to_utc()
}

pub fn host(s: &str) -> HostName {
    HostName::new(s).expect("test host name")
}

pub fn cl(s: &str) -> ClientId {
    ClientId::new(s).expect("test client id")
}

pub fn tr_id(cl: &str, sv: &str) -> TrId {
    TrId {
        cl_trid: Some(ClTrid::new(cl).expect("clTRID")),
        sv_trid: Some(SvTrid::new(sv).expect("svTRID")),
    }
}

// ------------------------------------------------------------------------------------------
// Strategies

pub fn timestamp() -> impl Strategy<Value = Timestamp> {
    // Years 1970-9999 (xs:dateTime as we write it), any sub-second precision.
    (0i64..=253_402_300_799, 0u32..1_000_000_000)
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).expect("in range"))
}

/// Free text with characters that need escaping and some beyond ASCII.
pub fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[ -~éü€中\t\n<>&\"']{{0,{max}}}")).expect("regex")
}

/// Text of at least one character.
pub fn text1(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!(
        "[ -~éü€中<>&\"'][ -~éü€中\t\n<>&\"']{{0,{}}}",
        max - 1
    ))
    .expect("regex")
}

/// An `xs:token` as a validator sees it: words separated by single spaces.
pub fn token(max_words: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!(
        "[A-Za-z0-9<&é.]{{1,8}}( [A-Za-z0-9<&é.]{{1,8}}){{0,{}}}",
        max_words - 1
    ))
    .expect("regex")
}

pub fn lang() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z]{2}(-[A-Z]{2})?").expect("regex")
}

pub fn host_name() -> impl Strategy<Value = HostName> {
    proptest::string::string_regex("[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z0-9]{1,10}){1,3}")
        .expect("regex")
        .prop_map(|s| HostName::new(&s).expect("generated host name"))
}

pub fn client_id() -> impl Strategy<Value = ClientId> {
    "[A-Za-z0-9]{3,16}".prop_map(|s| ClientId::new(&s).expect("generated clID"))
}

pub fn contact_id() -> impl Strategy<Value = ContactId> {
    "[a-z0-9]{3,16}".prop_map(|s| ContactId::new(&s).expect("generated contact id"))
}

pub fn roid() -> impl Strategy<Value = Roid> {
    "[A-Z0-9_]{1,20}-[A-Z0-9]{1,8}".prop_map(|s| Roid::new(&s).expect("generated roid"))
}

pub fn cl_trid() -> impl Strategy<Value = ClTrid> {
    "[A-Za-z0-9-]{3,64}".prop_map(|s| ClTrid::new(&s).expect("generated clTRID"))
}

pub fn sv_trid() -> impl Strategy<Value = SvTrid> {
    "[A-Za-z0-9-]{3,64}".prop_map(|s| SvTrid::new(&s).expect("generated svTRID"))
}

pub fn auth_info() -> impl Strategy<Value = AuthInfo> {
    (text1(20), option::of(roid()))
        .prop_map(|(pw, r)| AuthInfo::new(&pw, r).expect("generated authInfo"))
}

pub fn status_entry<S: Clone + std::fmt::Debug + 'static>(
    all: &'static [S],
) -> impl Strategy<Value = StatusEntry<S>> {
    (
        proptest::sample::select(all),
        option::of(lang()),
        option::of(text1(20)),
    )
        .prop_map(|(status, lang, reason)| StatusEntry {
            status,
            lang,
            reason,
        })
}

pub fn ip_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<IpAddr>(),
        Just("::".parse().expect("ip")),
        Just("::1".parse().expect("ip"))
    ]
}

pub fn check_items(contact: bool) -> impl Strategy<Value = Vec<CheckItem>> {
    let name = if contact {
        "[a-z0-9]{3,16}"
    } else {
        "[a-zA-Z0-9.-]{1,40}"
    };
    vec(
        (
            name,
            any::<bool>(),
            option::of(token(3).prop_map(|r| r.chars().take(32).collect::<String>())),
        ),
        1..4,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(name, available, reason)| CheckItem {
                name,
                available,
                // A reason cut at 32 characters may end in a space; a token has none there.
                reason: reason.map(|r| r.trim_end().to_owned()),
            })
            .collect()
    })
}

pub fn name_servers() -> impl Strategy<Value = NameServers> {
    prop_oneof![
        vec(host_name(), 1..5).prop_map(NameServers::HostObj),
        vec(
            (host_name(), vec(ip_addr(), 0..3)).prop_map(|(name, addrs)| HostAttr { name, addrs }),
            1..4
        )
        .prop_map(NameServers::HostAttr),
    ]
}

pub fn domain_info() -> impl Strategy<Value = DomainInfoData> {
    (
        (
            host_name(),
            roid(),
            vec(status_entry(DomainStatus::ALL), 0..=11),
            option::of(contact_id()),
        ),
        (
            vec(
                (
                    proptest::sample::select(ContactType::ALL.to_vec()),
                    contact_id(),
                )
                    .prop_map(|(contact_type, id)| DomainContact { contact_type, id }),
                0..4,
            ),
            option::of(name_servers()),
            vec(host_name(), 0..3),
        ),
        (
            client_id(),
            option::of(client_id()),
            option::of(timestamp()),
            option::of(client_id()),
        ),
        (
            option::of(timestamp()),
            option::of(timestamp()),
            option::of(timestamp()),
            option::of(auth_info()),
        ),
    )
        .prop_map(
            |(
                (name, roid, statuses, registrant),
                (contacts, ns, hosts),
                (cl_id, cr_id, cr_date, up_id),
                (up_date, ex_date, tr_date, auth_info),
            )| {
                DomainInfoData {
                    name,
                    roid,
                    statuses,
                    registrant,
                    contacts,
                    ns,
                    hosts,
                    cl_id,
                    cr_id,
                    cr_date,
                    up_id,
                    up_date,
                    ex_date,
                    tr_date,
                    auth_info,
                }
            },
        )
}

pub fn host_info() -> impl Strategy<Value = HostInfoData> {
    (
        (
            host_name(),
            roid(),
            vec(status_entry(HostStatus::ALL), 1..=7),
            vec(ip_addr(), 0..4),
        ),
        (
            client_id(),
            client_id(),
            timestamp(),
            option::of(client_id()),
            option::of(timestamp()),
            option::of(timestamp()),
        ),
    )
        .prop_map(
            |((name, roid, statuses, addrs), (cl_id, cr_id, cr_date, up_id, up_date, tr_date))| {
                HostInfoData {
                    name,
                    roid,
                    statuses,
                    addrs,
                    cl_id,
                    cr_id,
                    cr_date,
                    up_id,
                    up_date,
                    tr_date,
                }
            },
        )
}

pub fn postal_info() -> impl Strategy<Value = PostalInfo> {
    (
        prop_oneof![Just(PostalInfoType::Int), Just(PostalInfoType::Loc)],
        text1(30),
        option::of(text(30)),
        vec(text(30), 0..=3),
        text1(20),
        option::of(text(20)),
        option::of("[A-Z0-9]{1,6}( [A-Z0-9]{1,6})?"),
        "[A-Z]{2}",
    )
        .prop_map(
            |(info_type, name, org, street, city, sp, pc, cc)| PostalInfo {
                info_type,
                name,
                org,
                addr: Address {
                    street,
                    city,
                    sp,
                    pc,
                    cc,
                },
            },
        )
}

pub fn phone() -> impl Strategy<Value = Phone> {
    ("\\+[0-9]{1,3}\\.[0-9]{1,14}", option::of("[0-9]{1,5}"))
        .prop_map(|(number, ext)| Phone { number, ext })
}

pub fn disclose() -> impl Strategy<Value = Disclose> {
    let all = vec![
        DiscloseField::Name(PostalInfoType::Int),
        DiscloseField::Name(PostalInfoType::Loc),
        DiscloseField::Org(PostalInfoType::Int),
        DiscloseField::Org(PostalInfoType::Loc),
        DiscloseField::Addr(PostalInfoType::Int),
        DiscloseField::Addr(PostalInfoType::Loc),
        DiscloseField::Voice,
        DiscloseField::Fax,
        DiscloseField::Email,
    ];
    (any::<bool>(), proptest::sample::subsequence(all, 0..=9))
        .prop_map(|(flag, fields)| Disclose { flag, fields })
}

pub fn contact_info() -> impl Strategy<Value = ContactInfoData> {
    (
        (
            contact_id(),
            roid(),
            vec(status_entry(ContactStatus::ALL), 1..=7),
            vec(postal_info(), 1..=2),
        ),
        (
            option::of(phone()),
            option::of(phone()),
            "[a-z0-9.]{1,10}@[a-z]{1,10}\\.test",
            client_id(),
            client_id(),
        ),
        (
            timestamp(),
            option::of(client_id()),
            option::of(timestamp()),
            option::of(timestamp()),
        ),
        (option::of(auth_info()), option::of(disclose())),
    )
        .prop_map(
            |(
                (id, roid, statuses, postal_info),
                (voice, fax, email, cl_id, cr_id),
                (cr_date, up_id, up_date, tr_date),
                (auth_info, disclose),
            )| {
                ContactInfoData {
                    id,
                    roid,
                    statuses,
                    postal_info,
                    voice,
                    fax,
                    email,
                    cl_id,
                    cr_id,
                    cr_date,
                    up_id,
                    up_date,
                    tr_date,
                    auth_info,
                    disclose,
                }
            },
        )
}

pub fn transfer(domain: bool) -> impl Strategy<Value = TransferData> {
    let object = if domain {
        "[a-z0-9]{1,10}\\.[a-z]{2,5}"
    } else {
        "[a-z0-9]{3,16}"
    };
    (
        object,
        proptest::sample::select(TransferStatus::ALL.to_vec()),
        client_id(),
        timestamp(),
        client_id(),
        timestamp(),
        option::of(timestamp()),
    )
        .prop_map(
            move |(object, tr_status, re_id, re_date, ac_id, ac_date, ex_date)| TransferData {
                object,
                tr_status,
                re_id,
                re_date,
                ac_id,
                ac_date,
                ex_date: if domain { ex_date } else { None },
            },
        )
}

pub fn pending(contact: bool) -> impl Strategy<Value = PendingActionData> {
    let object = if contact {
        "[a-z0-9]{3,16}"
    } else {
        "[a-z0-9]{1,10}\\.[a-z]{2,5}"
    };
    (
        object,
        any::<bool>(),
        option::of(cl_trid()),
        sv_trid(),
        timestamp(),
    )
        .prop_map(
            |(object, pa_result, pa_cl_trid, pa_sv_trid, pa_date)| PendingActionData {
                object,
                pa_result,
                pa_cl_trid,
                pa_sv_trid,
                pa_date,
            },
        )
}

pub fn response_data() -> impl Strategy<Value = ResponseData> {
    prop_oneof![
        check_items(false).prop_map(ResponseData::DomainCheck),
        domain_info().prop_map(|d| ResponseData::DomainInfo(Box::new(d))),
        (host_name(), timestamp(), option::of(timestamp())).prop_map(|(name, cr_date, ex_date)| {
            ResponseData::DomainCreate(DomainCreateData {
                name,
                cr_date,
                ex_date,
            })
        }),
        (host_name(), option::of(timestamp())).prop_map(|(name, ex_date)| {
            ResponseData::DomainRenew(DomainRenewData { name, ex_date })
        }),
        transfer(true).prop_map(ResponseData::DomainTransfer),
        pending(false).prop_map(ResponseData::DomainPending),
        check_items(false).prop_map(ResponseData::HostCheck),
        host_info().prop_map(|h| ResponseData::HostInfo(Box::new(h))),
        (host_name(), timestamp())
            .prop_map(|(name, cr_date)| ResponseData::HostCreate(HostCreateData { name, cr_date })),
        pending(false).prop_map(ResponseData::HostPending),
        check_items(true).prop_map(ResponseData::ContactCheck),
        contact_info().prop_map(|c| ResponseData::ContactInfo(Box::new(c))),
        (contact_id(), timestamp()).prop_map(|(id, cr_date)| ResponseData::ContactCreate(
            ContactCreateData { id, cr_date }
        )),
        transfer(false).prop_map(ResponseData::ContactTransfer),
        pending(true).prop_map(ResponseData::ContactPending),
    ]
}

pub fn value_element() -> impl Strategy<Value = ValueElement> {
    (
        prop_oneof![
            Just(epp_proto::ns::DOMAIN.to_owned()),
            Just(epp_proto::ns::CONTACT.to_owned()),
            Just(epp_proto::ns::EPP.to_owned()),
            Just("urn:ietf:params:xml:ns:obj".to_owned()),
            Just(String::new()),
        ],
        "[a-zA-Z_][a-zA-Z0-9_.-]{0,10}",
        text(30),
    )
        .prop_map(|(namespace, name, text)| ValueElement {
            namespace,
            name,
            text,
        })
}

pub fn epp_result() -> impl Strategy<Value = EppResult> {
    (
        proptest::sample::select(ResultCode::ALL),
        text(40),
        option::of(lang()),
        vec(value_element(), 0..3),
        vec(
            (value_element(), text(40), option::of(lang())).prop_map(|(value, reason, lang)| {
                ExtValue {
                    value,
                    reason,
                    lang,
                }
            }),
            0..3,
        ),
    )
        .prop_map(|(code, msg, lang, values, ext_values)| EppResult {
            code,
            msg,
            lang,
            values,
            ext_values,
        })
}

pub fn msg_q() -> impl Strategy<Value = MsgQ> {
    (
        any::<u64>(),
        "[0-9A-Za-z-]{1,20}",
        option::of(timestamp()),
        option::of((text(40), option::of(lang()))),
    )
        .prop_map(|(count, id, q_date, msg)| MsgQ {
            count,
            id: MsgId::new(&id).expect("generated msgID"),
            q_date,
            lang: msg.as_ref().and_then(|m| m.1.clone()),
            msg: msg.map(|m| m.0),
        })
}

pub fn ds_data() -> impl Strategy<Value = DsData> {
    (
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        "([0-9A-F]{2}){1,32}",
        option::of(key_data()),
    )
        .prop_map(|(key_tag, alg, digest_type, digest, key_data)| DsData {
            key_tag,
            alg,
            digest_type,
            digest,
            key_data,
        })
}

pub fn key_data() -> impl Strategy<Value = KeyData> {
    (
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        "([A-Za-z0-9+/]{4}){1,10}",
    )
        .prop_map(|(flags, protocol, alg, pub_key)| KeyData {
            flags,
            protocol,
            alg,
            pub_key,
        })
}

pub fn response_extension() -> impl Strategy<Value = ResponseExtension> {
    let rgp = || vec(proptest::sample::select(RgpStatus::ALL.to_vec()), 1..4);
    prop_oneof![
        (
            option::of(1..=MAX_SIG_LIFE_MAX),
            prop_oneof![
                vec(ds_data(), 1..4).prop_map(DsOrKeyData::Ds),
                vec(key_data(), 1..4).prop_map(DsOrKeyData::Key)
            ]
        )
            .prop_map(|(max_sig_life, data)| ResponseExtension::SecDnsInfo(
                SecDnsInfoData { max_sig_life, data }
            )),
        rgp().prop_map(|statuses| ResponseExtension::RgpInfo(RgpInfoData { statuses })),
        rgp().prop_map(|statuses| ResponseExtension::RgpUpdate(RgpUpdData { statuses })),
    ]
}

pub fn response() -> impl Strategy<Value = Response> {
    (
        vec(epp_result(), 1..3),
        option::of(msg_q()),
        option::of(response_data()),
        vec(response_extension(), 0..3),
        option::of(cl_trid()),
        sv_trid(),
    )
        .prop_map(
            |(results, msg_q, res_data, extensions, cl_trid, sv_trid)| Response {
                results,
                msg_q,
                res_data,
                extensions,
                tr_id: TrId {
                    cl_trid,
                    sv_trid: Some(sv_trid),
                },
            },
        )
}

pub fn dcp_statement() -> impl Strategy<Value = DcpStatement> {
    (
        proptest::sample::subsequence(DcpPurpose::ALL.to_vec(), 0..=4),
        any::<bool>(),
        vec(option::of(token(4)), 0..3),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        proptest::sample::select(DcpRetention::ALL.to_vec()),
    )
        .prop_map(
            |(purposes, other, ours, (public, same, unrelated), retention)| {
                let mut recipients = Vec::new();
                if other {
                    recipients.push(DcpRecipient::Other);
                }
                recipients.extend(ours.into_iter().map(DcpRecipient::Ours));
                for (on, r) in [
                    (public, DcpRecipient::Public),
                    (same, DcpRecipient::Same),
                    (unrelated, DcpRecipient::Unrelated),
                ] {
                    if on {
                        recipients.push(r);
                    }
                }
                DcpStatement {
                    purposes,
                    recipients,
                    retention,
                }
            },
        )
}

pub fn greeting() -> impl Strategy<Value = Greeting> {
    (
        "[A-Za-z0-9 .&<-]{3,64}",
        timestamp(),
        1usize..3,
        vec(lang(), 1..3),
        vec("urn:ietf:params:xml:ns:[a-z]{1,8}-1\\.0", 1..4),
        vec("urn:ietf:params:xml:ns:[a-zA-Z]{1,8}-1\\.[01]", 0..3),
        proptest::sample::select(DcpAccess::ALL.to_vec()),
        vec(dcp_statement(), 1..3),
        option::of(prop_oneof![
            timestamp().prop_map(DcpExpiry::Absolute),
            proptest::sample::select(vec!["P1Y", "PT1H", "P1Y2M3DT4H5M6.5S", "-P3D", "P0D"])
                .prop_map(|d| DcpExpiry::Relative(d.to_owned())),
        ]),
    )
        .prop_map(
            |(sv_id, sv_date, versions, langs, obj_uris, ext_uris, access, statements, expiry)| {
                Greeting {
                    sv_id,
                    sv_date,
                    versions: vec!["1.0".to_owned(); versions],
                    langs,
                    obj_uris,
                    ext_uris,
                    dcp: Dcp {
                        access,
                        statements,
                        expiry,
                    },
                }
            },
        )
}

// ------------------------------------------------------------------------------------------
// Hand-built values, including edge values the encoder must fit to the schema.

pub fn sample_domain_info() -> DomainInfoData {
    DomainInfoData {
        name: host("example.test"),
        roid: Roid::new("D1234-TEST").expect("roid"),
        statuses: vec![
            StatusEntry::new(DomainStatus::ClientTransferProhibited),
            StatusEntry {
                status: DomainStatus::ServerHold,
                lang: Some("en".into()),
                reason: Some("Court order <3> & more".into()),
            },
        ],
        registrant: Some(ContactId::new("reg-0001").expect("id")),
        contacts: vec![
            DomainContact {
                contact_type: ContactType::Admin,
                id: ContactId::new("adm-0001").expect("id"),
            },
            DomainContact {
                contact_type: ContactType::Billing,
                id: ContactId::new("bil-0001").expect("id"),
            },
            DomainContact {
                contact_type: ContactType::Tech,
                id: ContactId::new("tec-0001").expect("id"),
            },
        ],
        ns: Some(NameServers::HostObj(vec![
            host("ns1.example.test"),
            host("ns2.example.test"),
            host("ns1.example.net"),
            host("ns2.example.net"),
        ])),
        hosts: vec![host("ns1.example.test"), host("ns2.example.test")],
        cl_id: cl("registrar-a"),
        cr_id: Some(cl("registrar-a")),
        cr_date: Some(ts("2020-01-02T03:04:05.678Z")),
        up_id: Some(cl("registrar-b")),
        up_date: Some(ts("2021-01-02T03:04:05Z")),
        ex_date: Some(ts("2030-01-02T03:04:05Z")),
        tr_date: Some(ts("2021-06-02T03:04:05Z")),
        auth_info: Some(AuthInfo::new("2fooBAR", None).expect("authInfo")),
    }
}

pub fn sample_contact_info() -> ContactInfoData {
    ContactInfoData {
        id: ContactId::new("sh8013").expect("id"),
        roid: Roid::new("SH8013-REP").expect("roid"),
        statuses: vec![StatusEntry::new(ContactStatus::Linked)],
        postal_info: vec![
            PostalInfo {
                info_type: PostalInfoType::Int,
                name: "John Doe".into(),
                org: Some("Example & Sons <Ltd>".into()),
                addr: Address {
                    street: vec!["123 Example Dr.".into(), "Suite 100".into()],
                    city: "Dulles".into(),
                    sp: Some("VA".into()),
                    pc: Some("20166-6503".into()),
                    cc: "US".into(),
                },
            },
            PostalInfo {
                info_type: PostalInfoType::Loc,
                name: "Jöhn Dœ".into(),
                org: None,
                addr: Address {
                    street: vec![],
                    city: "Zürich".into(),
                    sp: None,
                    pc: None,
                    cc: "CH".into(),
                },
            },
        ],
        voice: Some(Phone {
            number: "+1.7035555555".into(),
            ext: Some("1234".into()),
        }),
        fax: Some(Phone {
            number: "+1.7035555556".into(),
            ext: None,
        }),
        email: "jdoe@example.com".into(),
        cl_id: cl("ClientY"),
        cr_id: cl("ClientX"),
        cr_date: ts("1999-04-03T22:00:00Z"),
        up_id: Some(cl("ClientX")),
        up_date: Some(ts("1999-12-03T09:00:00Z")),
        tr_date: None,
        auth_info: Some(
            AuthInfo::new("2fooBAR", Some(Roid::new("SH8013-REP").expect("roid")))
                .expect("authInfo"),
        ),
        disclose: Some(Disclose {
            flag: false,
            fields: vec![DiscloseField::Voice, DiscloseField::Email],
        }),
    }
}

pub fn sample_extensions() -> Vec<ResponseExtension> {
    vec![
        ResponseExtension::SecDnsInfo(SecDnsInfoData {
            max_sig_life: Some(604_800),
            data: DsOrKeyData::Ds(vec![
                DsData {
                    key_tag: 12345,
                    alg: 13,
                    digest_type: 2,
                    digest: "49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC1234"
                        .into(),
                    key_data: None,
                },
                DsData {
                    key_tag: 54321,
                    alg: 8,
                    digest_type: 2,
                    digest: "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
                        .into(),
                    key_data: None,
                },
            ]),
        }),
        ResponseExtension::RgpInfo(RgpInfoData {
            statuses: vec![RgpStatus::AddPeriod],
        }),
    ]
}

pub fn ok_response(res_data: Option<ResponseData>) -> Response {
    Response {
        results: vec![EppResult::new(ResultCode::Success)],
        msg_q: None,
        res_data,
        extensions: Vec::new(),
        tr_id: tr_id("ABC-12345", "54321-XYZ"),
    }
}

/// Responses and greetings built by hand: every variant, plus values at and beyond the
/// schema's limits that the encoder must fit (see `src/response/fit.rs`).
pub type Named<T> = Vec<(&'static str, T)>;

pub fn hand_built() -> (Named<Response>, Named<Greeting>) {
    let mut r = Vec::new();
    let t = ts("2024-02-29T23:59:59.999999999Z");
    r.push(("plain", ok_response(None)));
    let mut full = ok_response(Some(ResponseData::DomainInfo(Box::new(
        sample_domain_info(),
    ))));
    full.extensions = sample_extensions();
    r.push(("domain-info-full", full));
    r.push((
        "contact-info",
        ok_response(Some(ResponseData::ContactInfo(Box::new(
            sample_contact_info(),
        )))),
    ));
    r.push((
        "host-info-v6",
        ok_response(Some(ResponseData::HostInfo(Box::new(HostInfoData {
            name: host("ns1.example.test"),
            roid: Roid::new("H1-TEST").expect("roid"),
            statuses: vec![StatusEntry::new(HostStatus::Linked)],
            addrs: vec![
                "::".parse().expect("ip"),
                "::ffff:192.0.2.1".parse().expect("ip"),
                "192.0.2.1".parse().expect("ip"),
            ],
            cl_id: cl("ClientX"),
            cr_id: cl("ClientX"),
            cr_date: t,
            up_id: None,
            up_date: None,
            tr_date: Some(t),
        })))),
    ));
    // Edge values the encoder must fit.
    let mut edge = ok_response(Some(ResponseData::DomainCheck(vec![
        CheckItem {
            name: "".into(),
            available: false,
            reason: Some("x".repeat(100)),
        },
        CheckItem {
            name: "a  b\tc".into(),
            available: true,
            reason: Some("   ".into()),
        },
        CheckItem {
            name: "é".repeat(300),
            available: false,
            reason: Some("ü".repeat(40)),
        },
    ])));
    edge.results = vec![EppResult {
        code: ResultCode::ParameterValueSyntaxError,
        msg: String::new(),
        lang: Some("not a language".into()),
        values: vec![
            ValueElement {
                namespace: String::new(),
                name: "1bad name".into(),
                text: "<&>".into(),
            },
            ValueElement {
                namespace: "http://www.w3.org/2000/xmlns/".into(),
                name: "x".into(),
                text: String::new(),
            },
            ValueElement {
                namespace: "urn:x".into(),
                name: "a:b".into(),
                text: "\u{1}\u{FFFE}".into(),
            },
        ],
        ext_values: vec![ExtValue {
            value: ValueElement {
                namespace: epp_proto::ns::DOMAIN.into(),
                name: "name".into(),
                text: "-bad.test".into(),
            },
            reason: String::new(),
            lang: Some(String::new()),
        }],
    }];
    edge.tr_id = TrId {
        cl_trid: None,
        sv_trid: None,
    };
    r.push(("edge-check-and-results", edge));
    let mut no_results = ok_response(Some(ResponseData::HostCheck(Vec::new())));
    no_results.results.clear();
    r.push(("edge-no-results-empty-check", no_results));
    let mut contact = sample_contact_info();
    contact.statuses.clear();
    contact.postal_info[0].name = String::new();
    contact.postal_info[0].addr.city = "c".repeat(300);
    contact.postal_info[0].addr.cc = "USA".into();
    contact.postal_info[0].addr.pc = Some("1234567890 1234567890".into());
    contact.postal_info[0].addr.street = vec!["s".into(); 5];
    contact.postal_info.push(contact.postal_info[1].clone());
    contact.voice = Some(Phone {
        number: "not a number".into(),
        ext: Some(" 12  3 ".into()),
    });
    contact.email = "  ".into();
    contact.disclose = Some(Disclose {
        flag: true,
        fields: vec![
            DiscloseField::Email,
            DiscloseField::Name(PostalInfoType::Loc),
            DiscloseField::Email,
        ],
    });
    r.push((
        "edge-contact-info",
        ok_response(Some(ResponseData::ContactInfo(Box::new(contact)))),
    ));
    let mut no_postal = sample_contact_info();
    no_postal.postal_info.clear();
    r.push((
        "edge-contact-without-postal-info",
        ok_response(Some(ResponseData::ContactInfo(Box::new(no_postal)))),
    ));
    let mut domain = sample_domain_info();
    domain.statuses = DomainStatus::ALL
        .iter()
        .map(|&s| StatusEntry {
            status: s,
            lang: Some("".into()),
            reason: Some(String::new()),
        })
        .collect();
    domain.ns = Some(NameServers::HostObj(Vec::new()));
    r.push((
        "edge-domain-info",
        ok_response(Some(ResponseData::DomainInfo(Box::new(domain)))),
    ));
    let mut host_info = HostInfoData {
        name: host("ns1.example.test"),
        roid: Roid::new("H1-TEST").expect("roid"),
        statuses: Vec::new(),
        addrs: Vec::new(),
        cl_id: cl("ClientX"),
        cr_id: cl("ClientX"),
        cr_date: t,
        up_id: None,
        up_date: None,
        tr_date: None,
    };
    r.push((
        "edge-host-no-status",
        ok_response(Some(ResponseData::HostInfo(Box::new(host_info.clone())))),
    ));
    host_info.statuses = HostStatus::ALL
        .iter()
        .map(|&s| StatusEntry::new(s))
        .collect();
    r.push((
        "edge-host-all-statuses",
        ok_response(Some(ResponseData::HostInfo(Box::new(host_info)))),
    ));
    r.push((
        "edge-transfer-short-ids",
        ok_response(Some(ResponseData::ContactTransfer(TransferData {
            object: "x".into(),
            tr_status: TransferStatus::ServerCancelled,
            re_id: cl("ClientX"),
            re_date: t,
            ac_id: cl("ClientY"),
            ac_date: t,
            ex_date: Some(t),
        }))),
    ));
    r.push((
        "edge-pending-long-name",
        ok_response(Some(ResponseData::DomainPending(PendingActionData {
            object: "n ".repeat(200),
            pa_result: false,
            pa_cl_trid: None,
            pa_sv_trid: SvTrid::new("sv-1").expect("svTRID"),
            pa_date: t,
        }))),
    ));
    let mut poll = ok_response(Some(ResponseData::DomainTransfer(TransferData {
        object: "example.test".into(),
        tr_status: TransferStatus::Pending,
        re_id: cl("ClientX"),
        re_date: t,
        ac_id: cl("ClientY"),
        ac_date: t,
        ex_date: None,
    })));
    poll.msg_q = Some(MsgQ {
        count: u64::MAX,
        id: MsgId::new("12345").expect("msgID"),
        q_date: Some(t),
        msg: Some(String::new()),
        lang: Some("x".repeat(9)),
    });
    r.push(("edge-poll", poll));
    // bug_sec_dns_rem_all_with_max_sig_life: a secDNS infData with maxSigLife and no DS cannot
    // be valid; the encoder leaves it out (alone: no `<extension>`; with rgp: rgp only).
    let empty_sec_dns = || {
        ResponseExtension::SecDnsInfo(SecDnsInfoData {
            max_sig_life: Some(604_800),
            data: DsOrKeyData::Ds(vec![]),
        })
    };
    let mut alone = ok_response(Some(ResponseData::DomainInfo(Box::new(
        sample_domain_info(),
    ))));
    alone.extensions = vec![empty_sec_dns()];
    r.push(("edge-sec-dns-info-without-ds", alone));
    let mut with_rgp = ok_response(Some(ResponseData::DomainInfo(Box::new(
        sample_domain_info(),
    ))));
    with_rgp.extensions = vec![
        empty_sec_dns(),
        ResponseExtension::RgpInfo(RgpInfoData {
            statuses: vec![RgpStatus::RedemptionPeriod],
        }),
    ];
    r.push(("edge-sec-dns-info-without-ds-and-rgp", with_rgp));

    let mut g = Vec::new();
    let base = Greeting {
        sv_id: "Example EPP server".into(),
        sv_date: t,
        versions: vec!["1.0".into()],
        langs: vec!["en".into(), "fr".into()],
        obj_uris: vec![
            epp_proto::ns::DOMAIN.into(),
            epp_proto::ns::HOST.into(),
            epp_proto::ns::CONTACT.into(),
        ],
        ext_uris: vec![epp_proto::ns::SEC_DNS.into(), epp_proto::ns::RGP.into()],
        dcp: Dcp {
            access: DcpAccess::PersonalAndOther,
            statements: vec![DcpStatement {
                purposes: vec![DcpPurpose::Admin, DcpPurpose::Prov],
                recipients: vec![
                    DcpRecipient::Ours(Some("Registry & registrars".into())),
                    DcpRecipient::Public,
                ],
                retention: DcpRetention::Stated,
            }],
            expiry: Some(DcpExpiry::Relative("P1Y".into())),
        },
    };
    g.push(("greeting", base.clone()));
    let edge_greeting = Greeting {
        sv_id: "x".into(),
        versions: vec!["2.0".into()],
        langs: vec!["english please".into()],
        obj_uris: vec!["  ".into()],
        ext_uris: vec![String::new()],
        dcp: Dcp {
            access: DcpAccess::Null,
            statements: Vec::new(),
            expiry: Some(DcpExpiry::Relative("one year".into())),
        },
        ..base.clone()
    };
    g.push(("edge-greeting", edge_greeting));
    let mut unsorted = base.clone();
    unsorted.sv_id = "s".repeat(100);
    unsorted.dcp.statements[0] = DcpStatement {
        purposes: vec![DcpPurpose::Prov, DcpPurpose::Admin, DcpPurpose::Prov],
        recipients: vec![
            DcpRecipient::Unrelated,
            DcpRecipient::Ours(Some(String::new())),
            DcpRecipient::Public,
            DcpRecipient::Ours(Some("d".repeat(300))),
            DcpRecipient::Other,
            DcpRecipient::Public,
        ],
        retention: DcpRetention::None,
    };
    unsorted.dcp.expiry = Some(DcpExpiry::Absolute(t));
    g.push(("edge-greeting-unsorted", unsorted));
    (r, g)
}
