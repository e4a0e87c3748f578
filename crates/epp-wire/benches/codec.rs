//! Codec throughput: (a) decoding a typical domain:create with DNSSEC, (b) encoding a full
//! domain:info response with secDNS and rgp extensions. Targets on one core: parse <= 10 us,
//! write <= 5 us. Run: `cargo bench -j2 -p epp-wire --bench codec`.

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use epp_proto::domain::{ContactType, DomainContact, DomainInfoData, DomainStatus, NameServers};
use epp_proto::ext::rgp::{RgpInfoData, RgpStatus};
use epp_proto::ext::sec_dns::{DsData, DsOrKeyData, SecDnsInfoData};
use epp_proto::ext::ResponseExtension;
use epp_proto::response::{EppResult, TrId};
use epp_proto::*;

const CREATE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
  <command>
    <create>
      <domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">
        <domain:name>example.com</domain:name>
        <domain:period unit="y">2</domain:period>
        <domain:ns>
          <domain:hostObj>ns1.example.net</domain:hostObj>
          <domain:hostObj>ns2.example.net</domain:hostObj>
          <domain:hostObj>ns3.example.org</domain:hostObj>
          <domain:hostObj>ns4.example.org</domain:hostObj>
        </domain:ns>
        <domain:registrant>jd1234</domain:registrant>
        <domain:contact type="admin">sh8013</domain:contact>
        <domain:contact type="tech">sh8013</domain:contact>
        <domain:contact type="billing">bl0001</domain:contact>
        <domain:authInfo>
          <domain:pw>2fooBAR</domain:pw>
        </domain:authInfo>
      </domain:create>
    </create>
    <extension>
      <secDNS:create xmlns:secDNS="urn:ietf:params:xml:ns:secDNS-1.1">
        <secDNS:dsData>
          <secDNS:keyTag>12345</secDNS:keyTag>
          <secDNS:alg>13</secDNS:alg>
          <secDNS:digestType>2</secDNS:digestType>
          <secDNS:digest>49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC1234</secDNS:digest>
        </secDNS:dsData>
        <secDNS:dsData>
          <secDNS:keyTag>54321</secDNS:keyTag>
          <secDNS:alg>8</secDNS:alg>
          <secDNS:digestType>2</secDNS:digestType>
          <secDNS:digest>0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF</secDNS:digest>
        </secDNS:dsData>
      </secDNS:create>
    </extension>
    <clTRID>ABC-12345</clTRID>
  </command>
</epp>
"#;

fn ts(s: &str) -> Timestamp {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn info_response() -> Option<Response> {
    let host = |s: &str| HostName::new(s).ok();
    let cl = |s: &str| ClientId::new(s).ok();
    let contact = |t, s: &str| {
        Some(DomainContact {
            contact_type: t,
            id: ContactId::new(s).ok()?,
        })
    };
    let info = DomainInfoData {
        name: host("example.com")?,
        roid: Roid::new("EXAMPLE1-REP").ok()?,
        statuses: vec![
            StatusEntry::new(DomainStatus::ClientTransferProhibited),
            StatusEntry::new(DomainStatus::ClientDeleteProhibited),
            StatusEntry::new(DomainStatus::ServerUpdateProhibited),
        ],
        registrant: ContactId::new("jd1234").ok(),
        contacts: vec![
            contact(ContactType::Admin, "sh8013")?,
            contact(ContactType::Tech, "sh8013")?,
            contact(ContactType::Billing, "bl0001")?,
        ],
        ns: Some(NameServers::HostObj(vec![
            host("ns1.example.com")?,
            host("ns2.example.com")?,
            host("ns1.example.net")?,
            host("ns2.example.net")?,
        ])),
        hosts: vec![host("ns1.example.com")?, host("ns2.example.com")?],
        cl_id: cl("ClientX")?,
        cr_id: cl("ClientY"),
        cr_date: Some(ts("1999-04-03T22:00:00Z")),
        up_id: cl("ClientX"),
        up_date: Some(ts("1999-12-03T09:00:00Z")),
        ex_date: Some(ts("2005-04-03T22:00:00Z")),
        tr_date: Some(ts("2000-04-08T09:00:00Z")),
        auth_info: AuthInfo::new("2fooBAR", None).ok(),
    };
    let ds = |key_tag, alg, digest: &str| DsData {
        key_tag,
        alg,
        digest_type: 2,
        digest: digest.into(),
        key_data: None,
    };
    Some(Response {
        results: vec![EppResult::new(ResultCode::Success)],
        msg_q: None,
        res_data: Some(ResponseData::DomainInfo(Box::new(info))),
        extensions: vec![
            ResponseExtension::SecDnsInfo(SecDnsInfoData {
                max_sig_life: None,
                data: DsOrKeyData::Ds(vec![
                    ds(
                        12345,
                        13,
                        "49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC1234",
                    ),
                    ds(
                        54321,
                        8,
                        "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
                    ),
                ]),
            }),
            ResponseExtension::RgpInfo(RgpInfoData {
                statuses: vec![RgpStatus::AddPeriod],
            }),
        ],
        tr_id: TrId {
            cl_trid: ClTrid::new("ABC-12345").ok(),
            sv_trid: SvTrid::new("54321-XYZ").ok(),
        },
    })
}

fn codec(c: &mut Criterion) {
    // Check once that the decode bench measures a successful decode, not an error path.
    match epp_wire::decode(CREATE.as_bytes()) {
        Ok(Frame::Command(_)) => {}
        other => {
            eprintln!("warning: the domain:create frame does not decode to a command: {other:?}")
        }
    }
    c.bench_function(
        "decode domain:create (4 ns, 3 contacts, secDNS 2 DS)",
        |b| b.iter(|| epp_wire::decode(black_box(CREATE.as_bytes()))),
    );

    // The first stage alone (bytes → bounded element tree), to see where decode time goes.
    c.bench_function("decode stage 1: element tree of the same frame", |b| {
        b.iter(|| {
            epp_wire::dom::parse(
                black_box(CREATE.as_bytes()),
                &epp_wire::dom::Limits::default(),
            )
        })
    });

    let Some(response) = info_response() else {
        eprintln!("error: the domain:info response could not be built");
        return;
    };
    let frame = Frame::Response(response);
    c.bench_function("encode domain:info response (secDNS 2 DS, rgp)", |b| {
        b.iter(|| epp_wire::encode(black_box(&frame)))
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
