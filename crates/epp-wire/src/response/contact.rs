//! `<contact:infData>` and `<contact:creData>` (RFC 5733 section 3).

use epp_proto::contact::{
    Address, ContactCreateData, ContactInfoData, ContactStatus, Disclose, DiscloseField, Phone,
    PostalInfo, PostalInfoType,
};
use epp_proto::ns::CONTACT;
use epp_proto::{ClientId, ContactId, Roid};

use super::fit;
use super::parse::{self, invalid};
use super::{bool_str, decode_auth_info, decode_status, encode_auth_info, encode_status};
use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{attr, no_text, Children};
use crate::xml::{datetime, XmlWriter};

/// `contact:infDataType` has 1-7 statuses and 1-2 postal infos; an address 0-3 streets.
const MAX_STATUS: usize = 7;
const MAX_POSTAL_INFO: usize = 2;
const MAX_STREET: usize = 3;
/// `postalLineType` and `optPostalLineType` are at most 255 characters, `pcType` 16.
const LINE_MAX: usize = 255;
const PC_MAX: usize = 16;

pub(super) fn decode_info(el: &Element) -> Result<ContactInfoData, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let id = parse::value(c.required(CONTACT, "id")?, ContactId::new)?;
    let roid = parse::value(c.required(CONTACT, "roid")?, Roid::new)?;
    let statuses = parse::one_or_more(&mut c, CONTACT, "status", MAX_STATUS)?
        .into_iter()
        .map(|s| decode_status(s, ContactStatus::from_token))
        .collect::<Result<_, _>>()?;
    let postal_info = parse::one_or_more(&mut c, CONTACT, "postalInfo", MAX_POSTAL_INFO)?
        .into_iter()
        .map(decode_postal_info)
        .collect::<Result<_, _>>()?;
    let voice = c.optional(CONTACT, "voice").map(decode_phone).transpose()?;
    let fax = c.optional(CONTACT, "fax").map(decode_phone).transpose()?;
    let email = parse::bounded_token(c.required(CONTACT, "email")?, 1, usize::MAX)?;
    let cl_id = parse::value(c.required(CONTACT, "clID")?, ClientId::new)?;
    let cr_id = parse::value(c.required(CONTACT, "crID")?, ClientId::new)?;
    let cr_date = parse::datetime(c.required(CONTACT, "crDate")?)?;
    let up_id = c
        .optional(CONTACT, "upID")
        .map(|e| parse::value(e, ClientId::new))
        .transpose()?;
    let up_date = c
        .optional(CONTACT, "upDate")
        .map(parse::datetime)
        .transpose()?;
    let tr_date = c
        .optional(CONTACT, "trDate")
        .map(parse::datetime)
        .transpose()?;
    let auth_info = c
        .optional(CONTACT, "authInfo")
        .map(|a| decode_auth_info(a, CONTACT))
        .transpose()?;
    let disclose = c
        .optional(CONTACT, "disclose")
        .map(decode_disclose)
        .transpose()?;
    c.finish()?;
    Ok(ContactInfoData {
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
    })
}

fn postal_type(el: &Element) -> Result<PostalInfoType, DecodeError> {
    let t = attr(el, "type")?.trim_matches([' ', '\t', '\n', '\r']);
    PostalInfoType::from_token(t)
        .ok_or_else(|| invalid(el, format!("type={t:?} is neither int nor loc")))
}

fn decode_postal_info(el: &Element) -> Result<PostalInfo, DecodeError> {
    no_text(el)?;
    let info_type = postal_type(el)?;
    let mut c = Children::new(el);
    let name = parse::bounded_text(c.required(CONTACT, "name")?, 1, LINE_MAX)?;
    let org = c
        .optional(CONTACT, "org")
        .map(|o| parse::bounded_text(o, 0, LINE_MAX))
        .transpose()?;
    let addr = decode_addr(c.required(CONTACT, "addr")?)?;
    c.finish()?;
    Ok(PostalInfo {
        info_type,
        name,
        org,
        addr,
    })
}

fn decode_addr(el: &Element) -> Result<Address, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let street = c
        .many(CONTACT, "street", MAX_STREET)?
        .into_iter()
        .map(|s| parse::bounded_text(s, 0, LINE_MAX))
        .collect::<Result<_, _>>()?;
    let city = parse::bounded_text(c.required(CONTACT, "city")?, 1, LINE_MAX)?;
    let sp = c
        .optional(CONTACT, "sp")
        .map(|s| parse::bounded_text(s, 0, LINE_MAX))
        .transpose()?;
    let pc = c
        .optional(CONTACT, "pc")
        .map(|s| parse::bounded_token(s, 0, PC_MAX))
        .transpose()?;
    let cc = parse::bounded_token(c.required(CONTACT, "cc")?, 2, 2)?;
    c.finish()?;
    Ok(Address {
        street,
        city,
        sp,
        pc,
        cc,
    })
}

fn decode_phone(el: &Element) -> Result<Phone, DecodeError> {
    let number = parse::token(el)?;
    if !fit::is_e164(&number) {
        return Err(invalid(
            el,
            format!("{number:?} is not a +CC.NUMBER telephone number"),
        ));
    }
    let ext = el.attr("x").map(epp_proto::value::collapse_whitespace);
    Ok(Phone { number, ext })
}

fn decode_disclose(el: &Element) -> Result<Disclose, DecodeError> {
    no_text(el)?;
    let flag = parse::bool_attr(el, "flag")?;
    let mut c = Children::new(el);
    let mut fields = Vec::new();
    for (name, field) in [
        (
            "name",
            DiscloseField::Name as fn(PostalInfoType) -> DiscloseField,
        ),
        ("org", DiscloseField::Org),
        ("addr", DiscloseField::Addr),
    ] {
        for e in c.many(CONTACT, name, 2)? {
            parse::empty(e)?;
            fields.push(field(postal_type(e)?));
        }
    }
    for (name, field) in [
        ("voice", DiscloseField::Voice),
        ("fax", DiscloseField::Fax),
        ("email", DiscloseField::Email),
    ] {
        if let Some(e) = c.optional(CONTACT, name) {
            parse::empty(e)?;
            fields.push(field);
        }
    }
    c.finish()?;
    fields.sort();
    fields.dedup();
    Ok(Disclose { flag, fields })
}

pub(super) fn encode_info(w: &mut XmlWriter, d: &ContactInfoData) {
    w.open("contact:infData", &[("xmlns:contact", CONTACT)]);
    w.leaf("contact:id", &[], d.id.as_str());
    w.leaf("contact:roid", &[], d.roid.as_str());
    if d.statuses.is_empty() {
        w.empty("contact:status", &[("s", ContactStatus::Ok.as_str())]);
    }
    for s in d.statuses.iter().take(MAX_STATUS) {
        encode_status(w, "contact:status", s.status.as_str(), &s.lang, &s.reason);
    }
    for p in d.postal_info.iter().take(MAX_POSTAL_INFO) {
        encode_postal_info(w, p);
    }
    if let Some(p) = &d.voice {
        encode_phone(w, "contact:voice", p);
    }
    if let Some(p) = &d.fax {
        encode_phone(w, "contact:fax", p);
    }
    w.leaf("contact:email", &[], &fit::token(&d.email, 1, usize::MAX));
    w.leaf("contact:clID", &[], d.cl_id.as_str());
    w.leaf("contact:crID", &[], d.cr_id.as_str());
    w.leaf_display("contact:crDate", datetime(&d.cr_date));
    if let Some(id) = &d.up_id {
        w.leaf("contact:upID", &[], id.as_str());
    }
    if let Some(t) = &d.up_date {
        w.leaf_display("contact:upDate", datetime(t));
    }
    if let Some(t) = &d.tr_date {
        w.leaf_display("contact:trDate", datetime(t));
    }
    if let Some(a) = &d.auth_info {
        encode_auth_info(w, "contact:authInfo", "contact:pw", a);
    }
    if let Some(disclose) = &d.disclose {
        encode_disclose(w, disclose);
    }
    w.close("contact:infData");
}

fn encode_postal_info(w: &mut XmlWriter, p: &PostalInfo) {
    w.open("contact:postalInfo", &[("type", p.info_type.as_str())]);
    w.leaf("contact:name", &[], &fit::normalized(&p.name, 1, LINE_MAX));
    if let Some(org) = &p.org {
        w.leaf("contact:org", &[], &fit::normalized(org, 0, LINE_MAX));
    }
    let a = &p.addr;
    w.open("contact:addr", &[]);
    for s in a.street.iter().take(MAX_STREET) {
        w.leaf("contact:street", &[], &fit::normalized(s, 0, LINE_MAX));
    }
    w.leaf("contact:city", &[], &fit::normalized(&a.city, 1, LINE_MAX));
    if let Some(sp) = &a.sp {
        w.leaf("contact:sp", &[], &fit::normalized(sp, 0, LINE_MAX));
    }
    if let Some(pc) = &a.pc {
        w.leaf("contact:pc", &[], &fit::token(pc, 0, PC_MAX));
    }
    w.leaf("contact:cc", &[], &fit::token(&a.cc, 2, 2));
    w.close("contact:addr");
    w.close("contact:postalInfo");
}

fn encode_phone(w: &mut XmlWriter, name: &str, p: &Phone) {
    let number = fit::token(&p.number, 0, usize::MAX);
    let number = if fit::is_e164(&number) { &number } else { "" };
    match &p.ext {
        Some(x) => w.leaf(name, &[("x", &fit::token(x, 0, usize::MAX))], number),
        None => w.leaf(name, &[], number),
    };
}

fn encode_disclose(w: &mut XmlWriter, d: &Disclose) {
    let mut fields = d.fields.clone();
    fields.sort();
    fields.dedup();
    w.open("contact:disclose", &[("flag", bool_str(d.flag))]);
    for f in fields {
        match f {
            DiscloseField::Name(t) => w.empty("contact:name", &[("type", t.as_str())]),
            DiscloseField::Org(t) => w.empty("contact:org", &[("type", t.as_str())]),
            DiscloseField::Addr(t) => w.empty("contact:addr", &[("type", t.as_str())]),
            DiscloseField::Voice => w.empty("contact:voice", &[]),
            DiscloseField::Fax => w.empty("contact:fax", &[]),
            DiscloseField::Email => w.empty("contact:email", &[]),
        };
    }
    w.close("contact:disclose");
}

pub(super) fn decode_create(el: &Element) -> Result<ContactCreateData, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let id = parse::value(c.required(CONTACT, "id")?, ContactId::new)?;
    let cr_date = parse::datetime(c.required(CONTACT, "crDate")?)?;
    c.finish()?;
    Ok(ContactCreateData { id, cr_date })
}

pub(super) fn encode_create(w: &mut XmlWriter, d: &ContactCreateData) {
    w.open("contact:creData", &[("xmlns:contact", CONTACT)]);
    w.leaf("contact:id", &[], d.id.as_str());
    w.leaf_display("contact:crDate", datetime(&d.cr_date));
    w.close("contact:creData");
}
