//! Response and greeting codec: the RFC example frames (tests/fixtures/responses/, filed by
//! RFC and section) decode to the values the RFCs describe, re-encode to the same values, and
//! generated responses and greetings round-trip.

mod response_gen;

use epp_proto::contact::{ContactStatus, DiscloseField};
use epp_proto::domain::{ContactType, DomainStatus, NameServers};
use epp_proto::ext::rgp::RgpStatus;
use epp_proto::ext::sec_dns::DsOrKeyData;
use epp_proto::ext::ResponseExtension;
use epp_proto::greeting::{DcpAccess, DcpPurpose, DcpRecipient, DcpRetention};
use epp_proto::*;
use epp_wire::DecodeError;
use proptest::prelude::*;
use response_gen::*;

fn decode_response(xml: &str) -> Response {
    match epp_wire::decode(xml.as_bytes()) {
        Ok(Frame::Response(r)) => r,
        other => panic!("expected a response, got {other:?}"),
    }
}

fn decode_err(xml: &str) -> DecodeError {
    match epp_wire::decode(xml.as_bytes()) {
        Err(e) => e.error,
        Ok(f) => panic!("expected an error, decoded {f:?}"),
    }
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn round_trip(frame: &Frame) -> Frame {
    let xml = epp_wire::encode(frame);
    epp_wire::decode(xml.as_bytes()).unwrap_or_else(|e| panic!("re-decoding failed: {e}\n{xml}"))
}

#[test]
fn every_fixture_decodes_and_round_trips() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 30, "fixtures missing: {}", fixtures.len());
    for (name, xml) in fixtures {
        let frame = epp_wire::decode(xml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        match (&frame, name.contains("greeting")) {
            (Frame::Greeting(_), true) | (Frame::Response(_), false) => {}
            _ => panic!("{name}: decoded to the wrong kind of frame: {frame:?}"),
        }
        assert_eq!(round_trip(&frame), frame, "{name}");
    }
}

#[test]
fn rfc5730_greeting() {
    let Frame::Greeting(g) =
        epp_wire::decode(fixture("rfc5730-2.4-greeting.xml").as_bytes()).unwrap()
    else {
        panic!("not a greeting")
    };
    assert_eq!(g.sv_id, "Example EPP server epp.example.com");
    assert_eq!(g.sv_date, ts("2000-06-08T22:00:00Z"));
    assert_eq!(g.versions, ["1.0"]);
    assert_eq!(g.langs, ["en", "fr"]);
    assert_eq!(g.obj_uris.len(), 3);
    assert_eq!(g.ext_uris, ["http://custom/obj1ext-1.0"]);
    assert_eq!(g.dcp.access, DcpAccess::All);
    assert_eq!(g.dcp.statements.len(), 1);
    let s = &g.dcp.statements[0];
    assert_eq!(s.purposes, [DcpPurpose::Admin, DcpPurpose::Prov]);
    assert_eq!(
        s.recipients,
        [DcpRecipient::Ours(None), DcpRecipient::Public]
    );
    assert_eq!(s.retention, DcpRetention::Stated);
    assert_eq!(g.dcp.expiry, None);
}

#[test]
fn rfc5730_results_with_values() {
    let r = decode_response(&fixture("rfc5730-2.6-response-errors.xml"));
    assert_eq!(r.results.len(), 2);
    assert_eq!(r.code(), Some(ResultCode::ParameterValueRangeError));
    let v = &r.results[0].values[0];
    assert_eq!(
        (v.namespace.as_str(), v.name.as_str(), v.text.as_str()),
        ("urn:ietf:params:xml:ns:obj", "elem1", "2525")
    );
    let second = &r.results[1];
    assert_eq!(second.code, ResultCode::ParameterValueSyntaxError);
    assert_eq!(second.values[0].text, "ex(ample");
    assert_eq!(second.ext_values[0].value.name, "elem3");
    assert_eq!(second.ext_values[0].reason, "Invalid character found.");
    assert_eq!(r.tr_id, tr_id("ABC-12345", "54322-XYZ"));
}

#[test]
fn rfc5730_poll() {
    let r = decode_response(&fixture("rfc5730-2.9.2.3-poll-request-response.xml"));
    assert_eq!(r.code(), Some(ResultCode::SuccessAckToDequeue));
    let q = r.msg_q.as_ref().unwrap();
    assert_eq!((q.count, q.id.as_str()), (5, "12345"));
    assert_eq!(q.q_date, Some(ts("2000-06-08T22:00:00Z")));
    assert_eq!(q.msg.as_deref(), Some("Transfer requested."));
    let Some(ResponseData::DomainTransfer(t)) = &r.res_data else {
        panic!("{:?}", r.res_data)
    };
    assert_eq!(t.tr_status, TransferStatus::Pending);
    let ack = decode_response(&fixture("rfc5730-2.9.2.3-poll-ack-response.xml"));
    let q = ack.msg_q.unwrap();
    assert_eq!((q.count, q.q_date, q.msg), (4, None, None));
    let logout = decode_response(&fixture("rfc5730-2.9.1.2-logout-response.xml"));
    assert_eq!(logout.code(), Some(ResultCode::SuccessEndingSession));
    assert_eq!(
        logout.results[0].msg,
        "Command completed successfully; ending session"
    );
}

#[test]
fn rfc5731_domain_info() {
    let r = decode_response(&fixture("rfc5731-3.1.2-domain-info-response.xml"));
    let Some(ResponseData::DomainInfo(d)) = r.res_data else {
        panic!("not domain info")
    };
    assert_eq!(d.name.as_str(), "example.com");
    assert_eq!(d.roid.as_str(), "EXAMPLE1-REP");
    assert_eq!(d.statuses, [StatusEntry::new(DomainStatus::Ok)]);
    assert_eq!(d.registrant.as_ref().map(ContactId::as_str), Some("jd1234"));
    assert_eq!(
        d.contacts
            .iter()
            .map(|c| c.contact_type)
            .collect::<Vec<_>>(),
        [ContactType::Admin, ContactType::Tech]
    );
    assert_eq!(
        d.ns,
        Some(NameServers::HostObj(vec![
            host("ns1.example.com"),
            host("ns1.example.net")
        ]))
    );
    assert_eq!(d.hosts, [host("ns1.example.com"), host("ns2.example.com")]);
    assert_eq!(d.cl_id.as_str(), "ClientX");
    assert_eq!(d.cr_id.as_ref().map(ClientId::as_str), Some("ClientY"));
    assert_eq!(d.cr_date, Some(ts("1999-04-03T22:00:00Z")));
    assert_eq!(d.up_date, Some(ts("1999-12-03T09:00:00Z")));
    assert_eq!(d.ex_date, Some(ts("2005-04-03T22:00:00Z")));
    assert_eq!(d.tr_date, Some(ts("2000-04-08T09:00:00Z")));
    assert_eq!(d.auth_info.as_ref().map(AuthInfo::expose), Some("2fooBAR"));

    let r = decode_response(&fixture(
        "rfc5731-3.1.2-domain-info-response-unauthorized.xml",
    ));
    let Some(ResponseData::DomainInfo(d)) = r.res_data else {
        panic!("not domain info")
    };
    assert!(d.statuses.is_empty() && d.auth_info.is_none() && d.cr_date.is_none());
}

#[test]
fn rfc5731_check_transfer_pending() {
    let r = decode_response(&fixture("rfc5731-3.1.1-domain-check-response.xml"));
    let Some(ResponseData::DomainCheck(items)) = r.res_data else {
        panic!("not a check")
    };
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[1],
        CheckItem {
            name: "example.net".into(),
            available: false,
            reason: Some("In use".into())
        }
    );
    assert!(items[0].available && items[0].reason.is_none());

    let r = decode_response(&fixture(
        "rfc5731-3.2.4-domain-transfer-request-response.xml",
    ));
    assert_eq!(r.code(), Some(ResultCode::SuccessActionPending));
    let Some(ResponseData::DomainTransfer(t)) = r.res_data else {
        panic!("not a transfer")
    };
    assert_eq!(t.ex_date, Some(ts("2002-09-08T22:00:00Z")));
    assert_eq!((t.re_id.as_str(), t.ac_id.as_str()), ("ClientX", "ClientY"));

    let r = decode_response(&fixture("rfc5731-3.3-domain-pending-action-response.xml"));
    let Some(ResponseData::DomainPending(p)) = r.res_data else {
        panic!("not panData")
    };
    assert!(p.pa_result);
    assert_eq!(p.object, "example.com");
    assert_eq!(p.pa_cl_trid.as_ref().map(ClTrid::as_str), Some("ABC-12345"));
    assert_eq!(p.pa_sv_trid.as_str(), "54321-XYZ");
    assert_eq!(r.tr_id, tr_id("BCD-23456", "65432-WXY"));
}

#[test]
fn rfc5732_host_info() {
    let r = decode_response(&fixture("rfc5732-3.1.2-host-info-response.xml"));
    let Some(ResponseData::HostInfo(h)) = r.res_data else {
        panic!("not host info")
    };
    assert_eq!(h.roid.as_str(), "NS1_EXAMPLE1-REP");
    assert_eq!(h.statuses.len(), 2);
    let addrs: Vec<String> = h.addrs.iter().map(ToString::to_string).collect();
    assert_eq!(addrs, ["192.0.2.2", "192.0.2.29", "1080::8:800:200c:417a"]);
    assert_eq!(h.tr_date, Some(ts("2000-04-08T09:00:00Z")));
}

#[test]
fn rfc5733_contact_info() {
    let r = decode_response(&fixture("rfc5733-3.1.2-contact-info-response.xml"));
    let Some(ResponseData::ContactInfo(c)) = r.res_data else {
        panic!("not contact info")
    };
    assert_eq!(
        c.statuses.iter().map(|s| s.status).collect::<Vec<_>>(),
        [ContactStatus::Linked, ContactStatus::ClientDeleteProhibited]
    );
    let p = &c.postal_info[0];
    assert_eq!(
        (p.name.as_str(), p.org.as_deref()),
        ("John Doe", Some("Example Inc."))
    );
    assert_eq!(p.addr.street, ["123 Example Dr.", "Suite 100"]);
    assert_eq!(
        (
            p.addr.city.as_str(),
            p.addr.sp.as_deref(),
            p.addr.pc.as_deref(),
            p.addr.cc.as_str()
        ),
        ("Dulles", Some("VA"), Some("20166-6503"), "US")
    );
    let voice = c.voice.as_ref().unwrap();
    assert_eq!(
        (voice.number.as_str(), voice.ext.as_deref()),
        ("+1.7035555555", Some("1234"))
    );
    assert_eq!(c.email, "jdoe@example.com");
    let d = c.disclose.as_ref().unwrap();
    assert!(!d.flag);
    assert_eq!(d.fields, [DiscloseField::Voice, DiscloseField::Email]);

    let r = decode_response(&fixture("rfc5733-3.1.1-contact-check-response.xml"));
    let Some(ResponseData::ContactCheck(items)) = r.res_data else {
        panic!("not a check")
    };
    assert_eq!(
        items.iter().map(|i| i.available).collect::<Vec<_>>(),
        [true, false, true]
    );
    let r = decode_response(&fixture(
        "rfc5733-3.1.3-contact-transfer-query-response.xml",
    ));
    let Some(ResponseData::ContactTransfer(t)) = r.res_data else {
        panic!("not a transfer")
    };
    assert_eq!((t.object.as_str(), t.ex_date), ("sh8013", None));
}

#[test]
fn rfc5910_and_rfc3915_extensions() {
    let r = decode_response(&fixture(
        "rfc5910-5.1.2-domain-info-response-ds-maxsiglife.xml",
    ));
    let [ResponseExtension::SecDnsInfo(s)] = r.extensions.as_slice() else {
        panic!("{:?}", r.extensions)
    };
    assert_eq!(s.max_sig_life, Some(604_800));
    let DsOrKeyData::Ds(ds) = &s.data else {
        panic!("not DS")
    };
    assert_eq!(
        (
            ds[0].key_tag,
            ds[0].alg,
            ds[0].digest_type,
            ds[0].digest.as_str()
        ),
        (12345, 3, 1, "49FD46E6C4B45C55D4AC")
    );
    let r = decode_response(&fixture("rfc5910-5.1.2-domain-info-response-keydata.xml"));
    let [ResponseExtension::SecDnsInfo(s)] = r.extensions.as_slice() else {
        panic!("{:?}", r.extensions)
    };
    assert!(
        matches!(&s.data, DsOrKeyData::Key(k) if k[0].flags == 257 && k[0].pub_key == "AQPJ////4Q==")
    );

    let r = decode_response(&fixture("rfc3915-4.1.2-domain-info-response-rgp.xml"));
    assert!(
        matches!(r.extensions.as_slice(), [ResponseExtension::RgpInfo(i)] if i.statuses == [RgpStatus::RedemptionPeriod])
    );
    let r = decode_response(&fixture("rfc3915-4.2.5-domain-update-response-rgp.xml"));
    assert!(
        matches!(r.extensions.as_slice(), [ResponseExtension::RgpUpdate(u)] if u.statuses == [RgpStatus::PendingRestore])
    );
}

#[test]
fn prefixes_do_not_matter() {
    let rfc = decode_response(&fixture("rfc5731-3.1.2-domain-info-response.xml"));
    let variant = decode_response(&fixture(
        "variant-prefixed-epp-default-domain-info-response.xml",
    ));
    assert_eq!(rfc, variant);
    let g1 = epp_wire::decode(fixture("rfc5730-2.4-greeting.xml").as_bytes()).unwrap();
    let g2 = epp_wire::decode(fixture("variant-prefixed-greeting.xml").as_bytes()).unwrap();
    assert_eq!(g1, g2);
}

#[test]
fn encoder_writes_the_documented_forms() {
    let mut r = ok_response(Some(ResponseData::DomainInfo(Box::new(
        sample_domain_info(),
    ))));
    r.results[0].values.push(epp_proto::response::ValueElement {
        namespace: epp_proto::ns::DOMAIN.into(),
        name: "name".into(),
        text: "-bad.test".into(),
    });
    let xml = epp_wire::encode(&Frame::Response(r));
    assert!(
        xml.contains(r#"<result code="1000"><msg>Command completed successfully</msg>"#),
        "{xml}"
    );
    assert!(xml.contains(r#"<value><domain:name xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">-bad.test</domain:name></value>"#), "{xml}");
    assert!(xml.contains(r#"<resData><domain:infData xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.test</domain:name><domain:roid>"#), "{xml}");
    assert!(
        xml.contains("<domain:crDate>2020-01-02T03:04:05.678Z</domain:crDate>"),
        "{xml}"
    );
    assert!(xml.contains(r#"<domain:status s="serverHold" lang="en">Court order &lt;3&gt; &amp; more</domain:status>"#), "{xml}");
    assert!(
        xml.ends_with(
            "<trID><clTRID>ABC-12345</clTRID><svTRID>54321-XYZ</svTRID></trID></response></epp>"
        ),
        "{xml}"
    );
}

#[test]
fn encoder_fits_values_to_the_schema() {
    let (responses, greetings) = hand_built();
    let find = |name: &str| {
        responses
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| r.clone())
            .unwrap()
    };
    let edge = find("edge-check-and-results");
    let back = round_trip(&Frame::Response(edge));
    let Frame::Response(back) = back else {
        panic!()
    };
    let Some(ResponseData::DomainCheck(items)) = &back.res_data else {
        panic!("{:?}", back.res_data)
    };
    assert_eq!(items[0].name, "-");
    assert_eq!(items[0].reason.as_deref(), Some("x".repeat(32).as_str()));
    assert_eq!(
        items[1],
        CheckItem {
            name: "a b c".into(),
            available: true,
            reason: None
        }
    );
    assert_eq!(items[2].name.chars().count(), 255);
    assert_eq!(items[2].reason.as_ref().unwrap().chars().count(), 32);
    let result = &back.results[0];
    assert_eq!((result.msg.as_str(), result.lang.as_deref()), ("", None));
    assert_eq!(result.values[0].name, "undef");
    assert_eq!(result.values[0].namespace, "");
    assert_eq!(result.values[2].text, "\u{FFFD}\u{FFFD}");
    assert_eq!(
        back.tr_id.sv_trid.as_ref().map(SvTrid::as_str),
        Some(epp_wire_missing_sv_trid())
    );

    let Frame::Response(back) = round_trip(&Frame::Response(find("edge-no-results-empty-check")))
    else {
        panic!()
    };
    assert_eq!(back.code(), Some(ResultCode::CommandFailed));
    assert_eq!(back.res_data, None);

    let Frame::Response(back) = round_trip(&Frame::Response(find("edge-host-no-status"))) else {
        panic!()
    };
    let Some(ResponseData::HostInfo(h)) = back.res_data else {
        panic!()
    };
    assert_eq!(
        h.statuses,
        [StatusEntry::new(epp_proto::host::HostStatus::Ok)]
    );

    let Frame::Response(back) = round_trip(&Frame::Response(find("edge-contact-info"))) else {
        panic!()
    };
    let Some(ResponseData::ContactInfo(c)) = back.res_data else {
        panic!()
    };
    assert_eq!(c.postal_info.len(), 2);
    assert_eq!(c.postal_info[0].name, "-");
    assert_eq!(c.postal_info[0].addr.cc, "US");
    assert_eq!(c.postal_info[0].addr.street.len(), 3);
    assert_eq!(
        c.postal_info[0].addr.pc.as_deref(),
        Some("1234567890 12345")
    );
    assert_eq!(
        c.voice
            .as_ref()
            .map(|v| (v.number.as_str(), v.ext.as_deref())),
        Some(("", Some("12 3")))
    );
    assert_eq!(c.email, "-");
    assert_eq!(
        c.disclose.unwrap().fields,
        [
            DiscloseField::Name(epp_proto::contact::PostalInfoType::Loc),
            DiscloseField::Email
        ]
    );

    // bug_sec_dns_rem_all_with_max_sig_life: no infData without dsData/keyData.
    let alone = epp_wire::encode(&Frame::Response(find("edge-sec-dns-info-without-ds")));
    assert!(
        !alone.contains("secDNS") && !alone.contains("<extension"),
        "{alone}"
    );
    let Frame::Response(back) = round_trip(&Frame::Response(find(
        "edge-sec-dns-info-without-ds-and-rgp",
    ))) else {
        panic!()
    };
    assert!(
        matches!(back.extensions.as_slice(), [ResponseExtension::RgpInfo(_)]),
        "{:?}",
        back.extensions
    );

    let Frame::Greeting(g) = round_trip(&Frame::Greeting(greetings[1].1.clone())) else {
        panic!()
    };
    assert_eq!(g.sv_id, "x--");
    assert_eq!(
        (g.versions.as_slice(), g.langs.as_slice()),
        (&["1.0".to_owned()][..], &["en".to_owned()][..])
    );
    assert_eq!(g.obj_uris, [ns::DOMAIN, ns::HOST, ns::CONTACT]);
    assert!(g.ext_uris.is_empty());
    assert_eq!(g.dcp.statements.len(), 1);
    assert_eq!(g.dcp.expiry, None);
    let Frame::Greeting(g) = round_trip(&Frame::Greeting(greetings[2].1.clone())) else {
        panic!()
    };
    assert_eq!(g.sv_id.len(), 64);
    let s = &g.dcp.statements[0];
    assert_eq!(s.purposes, [DcpPurpose::Admin, DcpPurpose::Prov]);
    assert_eq!(
        s.recipients,
        [
            DcpRecipient::Other,
            DcpRecipient::Ours(None),
            DcpRecipient::Ours(Some("d".repeat(255))),
            DcpRecipient::Public,
            DcpRecipient::Unrelated
        ]
    );
}

fn epp_wire_missing_sv_trid() -> &'static str {
    "unassigned"
}

/// Replaces the first occurrence of `from` in a fixture, failing if it is not there.
fn edit(name: &str, from: &str, to: &str) -> String {
    let xml = fixture(name);
    assert!(xml.contains(from), "{name} has no {from:?}");
    xml.replacen(from, to, 1)
}

#[test]
fn strict_decoding_names_the_element() {
    let info = "rfc5731-3.1.2-domain-info-response.xml";
    // Out of schema order: clID before the hosts.
    let swapped = edit(
        info,
        "<domain:host>ns1.example.com</domain:host>",
        "<domain:clID>ClientX</domain:clID><domain:host>ns1.example.com</domain:host>",
    );
    assert!(
        matches!(decode_err(&swapped), DecodeError::UnexpectedElement { element, .. } if element == "domain:host")
    );
    let missing_roid = edit(info, "<domain:roid>EXAMPLE1-REP</domain:roid>", "");
    assert!(
        matches!(decode_err(&missing_roid), DecodeError::UnexpectedElement { parent, element } if parent == "domain:infData" && element == "domain:status")
    );
    let bad_date = edit(info, "1999-04-03T22:00:00.0Z", "1999-04-03");
    assert!(
        matches!(decode_err(&bad_date), DecodeError::InvalidValue { element, .. } if element == "domain:crDate")
    );
    let bad_status = edit(info, r#"s="ok""#, r#"s="fine""#);
    assert!(
        matches!(decode_err(&bad_status), DecodeError::InvalidValue { element, .. } if element == "domain:status")
    );
    let bad_code = edit(info, r#"code="1000""#, r#"code="1999""#);
    assert!(
        matches!(decode_err(&bad_code), DecodeError::InvalidValue { element, .. } if element == "result")
    );
    let no_sv = edit(info, "<svTRID>54321-XYZ</svTRID>", "");
    assert!(
        matches!(decode_err(&no_sv), DecodeError::MissingElement { parent, element } if parent == "trID" && element == "svTRID")
    );
    let short_sv = edit(info, "<svTRID>54321-XYZ</svTRID>", "<svTRID>ab</svTRID>");
    assert!(
        matches!(decode_err(&short_sv), DecodeError::InvalidValue { element, .. } if element == "svTRID")
    );
    let nested = edit(
        info,
        "<domain:clID>ClientX</domain:clID>",
        "<domain:clID><x/>ClientX</domain:clID>",
    );
    assert!(
        matches!(decode_err(&nested), DecodeError::UnexpectedElement { parent, .. } if parent == "domain:clID")
    );
    let unknown_obj = edit(
        info,
        "<resData>",
        "<resData><o:infData xmlns:o=\"urn:example:obj\"/>",
    );
    assert!(
        matches!(decode_err(&unknown_obj), DecodeError::UnimplementedObject(ns) if ns == "urn:example:obj")
    );

    let check = "rfc5731-3.1.1-domain-check-response.xml";
    let long_reason = edit(
        check,
        "<domain:reason>In use</domain:reason>",
        &format!("<domain:reason>{}</domain:reason>", "x".repeat(33)),
    );
    assert!(
        matches!(decode_err(&long_reason), DecodeError::InvalidValue { element, .. } if element == "domain:reason")
    );
    let bad_avail = edit(check, r#"avail="1""#, r#"avail="yes""#);
    assert!(
        matches!(decode_err(&bad_avail), DecodeError::InvalidValue { element, .. } if element == "domain:name")
    );
    let no_avail = edit(check, r#" avail="1""#, "");
    assert!(matches!(
        decode_err(&no_avail),
        DecodeError::MissingAttribute {
            attribute: "avail",
            ..
        }
    ));

    let host = "rfc5732-3.1.2-host-info-response.xml";
    let wrong_family = edit(
        host,
        r#"<host:addr ip="v4">192.0.2.2"#,
        r#"<host:addr ip="v6">192.0.2.2"#,
    );
    assert!(
        matches!(decode_err(&wrong_family), DecodeError::InvalidValue { element, .. } if element == "host:addr")
    );
    let no_status = edit(host, r#"<host:status s="linked"/>"#, "").replacen(
        r#"<host:status s="clientUpdateProhibited"/>"#,
        "",
        1,
    );
    assert!(
        matches!(decode_err(&no_status), DecodeError::UnexpectedElement { element, .. } if element == "host:addr")
    );

    let contact = "rfc5733-3.1.2-contact-info-response.xml";
    let bad_phone = edit(contact, "+1.7035555556", "555-1234");
    assert!(
        matches!(decode_err(&bad_phone), DecodeError::InvalidValue { element, .. } if element == "contact:fax")
    );
    let bad_cc = edit(
        contact,
        "<contact:cc>US</contact:cc>",
        "<contact:cc>USA</contact:cc>",
    );
    assert!(
        matches!(decode_err(&bad_cc), DecodeError::InvalidValue { element, .. } if element == "contact:cc")
    );

    let greeting = "rfc5730-2.4-greeting.xml";
    let v2 = edit(greeting, "<version>1.0</version>", "<version>2.0</version>");
    assert!(
        matches!(decode_err(&v2), DecodeError::InvalidValue { element, .. } if element == "version")
    );
    let bad_lang = edit(greeting, "<lang>fr</lang>", "<lang>français</lang>");
    assert!(
        matches!(decode_err(&bad_lang), DecodeError::InvalidValue { element, .. } if element == "lang")
    );
    let two_access = edit(
        greeting,
        "<access><all/></access>",
        "<access><all/><none/></access>",
    );
    assert!(
        matches!(decode_err(&two_access), DecodeError::UnexpectedElement { element, .. } if element == "none")
    );
    let bad_purpose_order = edit(
        greeting,
        "<purpose><admin/><prov/></purpose>",
        "<purpose><prov/><admin/></purpose>",
    );
    assert!(
        matches!(decode_err(&bad_purpose_order), DecodeError::UnexpectedElement { element, .. } if element == "admin")
    );
    let bad_duration = edit(
        greeting,
        "</statement>\n    </dcp>",
        "</statement><expiry><relative>1 year</relative></expiry></dcp>",
    );
    assert!(
        matches!(decode_err(&bad_duration), DecodeError::InvalidValue { element, .. } if element == "relative")
    );

    let poll = "rfc5730-2.9.2.3-poll-ack-response.xml";
    let bad_count = edit(poll, r#"count="4""#, r#"count="-4""#);
    assert!(
        matches!(decode_err(&bad_count), DecodeError::InvalidValue { element, .. } if element == "msgQ")
    );
    let errors = "rfc5730-2.6-response-errors.xml";
    let two_values = edit(
        errors,
        "<obj:elem1>2525</obj:elem1>",
        "<obj:elem1>2525</obj:elem1><obj:elem9/>",
    );
    assert!(
        matches!(decode_err(&two_values), DecodeError::UnexpectedElement { element, .. } if element.ends_with("elem9"))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn responses_round_trip(r in response()) {
        let frame = Frame::Response(r);
        let xml = epp_wire::encode(&frame);
        let back = epp_wire::decode(xml.as_bytes());
        prop_assert_eq!(back.as_ref().ok(), Some(&frame), "{:?}\n{}", back.as_ref().err(), xml);
    }

    #[test]
    fn greetings_round_trip(g in greeting()) {
        let frame = Frame::Greeting(g);
        let xml = epp_wire::encode(&frame);
        let back = epp_wire::decode(xml.as_bytes());
        prop_assert_eq!(back.as_ref().ok(), Some(&frame), "{:?}\n{}", back.as_ref().err(), xml);
    }
}
