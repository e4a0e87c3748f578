//! The contact mapping (RFC 5733) commands.
//!
//! Beyond the XSD: an `int` postalInfo must be 7-bit ASCII (RFC 5733 section 2.3); two
//! postalInfo elements must be one `int` and one `loc`; in `<create>` an empty voice or fax
//! (valid XSD, meaningless) is refused, while in `<chg>` it removes the number; empty
//! `org`/`sp`/`pc`/`street` elements are read as absent. Country codes are checked for length
//! (2) only: whether `XX` is assigned is policy.

use epp_proto::common::{ContactId, TransferOp};
use epp_proto::contact::*;
use epp_proto::ns::CONTACT;

use super::common::*;
use super::values::{boolean, container, invalid, leaf_with, line, token};
use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{attr, value, Children};
use crate::xml::XmlWriter;

const P: &str = "contact";

/// Longest email address we take (the schema sets no bound): 64 + 1 + 255.
pub const MAX_EMAIL: usize = 320;

/// Decodes `<contact:{command}>`; `op` is the `<transfer>` operation.
pub(crate) fn decode(
    command: &str,
    el: &Element,
    op: Option<TransferOp>,
) -> Result<ContactCommand, DecodeError> {
    expect_name(el, command)?;
    container(el, &[])?;
    let mut c = Children::new(el);
    let out = match (command, op) {
        ("check", _) => {
            let ids = c.many(CONTACT, "id", MAX_CHECK)?;
            if ids.is_empty() {
                c.required(CONTACT, "id")?;
            }
            ContactCommand::Check(ids.into_iter().map(contact_id).collect::<Result<_, _>>()?)
        }
        ("info", _) => {
            let id = contact_id(c.required(CONTACT, "id")?)?;
            let auth_info = c
                .optional(CONTACT, "authInfo")
                .map(|a| auth_info(a, CONTACT))
                .transpose()?;
            ContactCommand::Info { id, auth_info }
        }
        ("create", _) => {
            let id = contact_id(c.required(CONTACT, "id")?)?;
            let infos = c.many(CONTACT, "postalInfo", 2)?;
            if infos.is_empty() {
                c.required(CONTACT, "postalInfo")?;
            }
            let postal_info: Vec<PostalInfo> = infos
                .into_iter()
                .map(postal_info)
                .collect::<Result<_, _>>()?;
            if let [a, b] = postal_info.as_slice() {
                if a.info_type == b.info_type {
                    return Err(invalid(
                        el,
                        "two postalInfo elements must be one int and one loc",
                    ));
                }
            }
            let voice = c
                .optional(CONTACT, "voice")
                .map(phone)
                .transpose()?
                .map(|p| required_phone(el, p, "voice"));
            let voice = voice.transpose()?;
            let fax = c
                .optional(CONTACT, "fax")
                .map(phone)
                .transpose()?
                .map(|p| required_phone(el, p, "fax"));
            let fax = fax.transpose()?;
            let email = email(c.required(CONTACT, "email")?)?;
            let auth_info = auth_info(c.required(CONTACT, "authInfo")?, CONTACT)?;
            let disclose = c.optional(CONTACT, "disclose").map(disclose).transpose()?;
            ContactCommand::Create(ContactCreate {
                id,
                postal_info,
                voice,
                fax,
                email,
                auth_info,
                disclose,
            })
        }
        ("delete", _) => ContactCommand::Delete(contact_id(c.required(CONTACT, "id")?)?),
        ("transfer", Some(op)) => {
            let id = contact_id(c.required(CONTACT, "id")?)?;
            let auth_info = c
                .optional(CONTACT, "authInfo")
                .map(|a| auth_info(a, CONTACT))
                .transpose()?;
            ContactCommand::Transfer { op, id, auth_info }
        }
        ("update", _) => {
            let id = contact_id(c.required(CONTACT, "id")?)?;
            let add = c
                .optional(CONTACT, "add")
                .map(statuses)
                .transpose()?
                .unwrap_or_default();
            let rem = c
                .optional(CONTACT, "rem")
                .map(statuses)
                .transpose()?
                .unwrap_or_default();
            let chg = c.optional(CONTACT, "chg").map(chg).transpose()?;
            ContactCommand::Update(ContactUpdate { id, add, rem, chg })
        }
        _ => return Err(DecodeError::UnknownCommand(format!("{P}:{command}"))),
    };
    c.finish()?;
    Ok(out)
}

fn contact_id(el: &Element) -> Result<ContactId, DecodeError> {
    let el = leaf_with(el, &[])?;
    value(el, ContactId::new(&el.text))
}

fn required_phone(parent: &Element, p: Option<Phone>, what: &str) -> Result<Phone, DecodeError> {
    p.ok_or_else(|| DecodeError::InvalidValue {
        element: format!("{P}:{what}"),
        reason: format!("an empty {what} is meaningless in {}", parent.label()),
    })
}

fn postal_type(el: &Element) -> Result<PostalInfoType, DecodeError> {
    let t = attr(el, "type")?.trim_matches([' ', '\t', '\r', '\n']);
    PostalInfoType::from_token(t)
        .ok_or_else(|| invalid(el, format!("type must be int or loc, got {t:?}")))
}

fn check_script(el: &Element, t: PostalInfoType, s: &str) -> Result<(), DecodeError> {
    if t == PostalInfoType::Int && !s.is_ascii() {
        return Err(invalid(
            el,
            "int postal information must be 7-bit ASCII (RFC 5733 section 2.3)",
        ));
    }
    Ok(())
}

/// A postalLineType (1-255 characters) checked for the postalInfo's script.
fn pline(el: &Element, t: PostalInfoType) -> Result<String, DecodeError> {
    let s = line(el, 1, 255)?;
    check_script(el, t, &s)?;
    Ok(s)
}

/// An optPostalLineType (0-255 characters); empty is `None`.
fn opt_pline(el: &Element, t: PostalInfoType) -> Result<Option<String>, DecodeError> {
    let s = line(el, 0, 255)?;
    check_script(el, t, &s)?;
    Ok((!s.is_empty()).then_some(s))
}

fn postal_info(el: &Element) -> Result<PostalInfo, DecodeError> {
    container(el, &["type"])?;
    let info_type = postal_type(el)?;
    let mut c = Children::new(el);
    let name = pline(c.required(CONTACT, "name")?, info_type)?;
    let org = c
        .optional(CONTACT, "org")
        .map(|o| opt_pline(o, info_type))
        .transpose()?
        .flatten();
    let addr = address(c.required(CONTACT, "addr")?, info_type)?;
    c.finish()?;
    Ok(PostalInfo {
        info_type,
        name,
        org,
        addr,
    })
}

fn address(el: &Element, t: PostalInfoType) -> Result<Address, DecodeError> {
    container(el, &[])?;
    let mut c = Children::new(el);
    let mut street = Vec::new();
    for s in c.many(CONTACT, "street", 3)? {
        if let Some(s) = opt_pline(s, t)? {
            street.push(s);
        }
    }
    let city = pline(c.required(CONTACT, "city")?, t)?;
    let sp = c
        .optional(CONTACT, "sp")
        .map(|s| opt_pline(s, t))
        .transpose()?
        .flatten();
    let pc = match c.optional(CONTACT, "pc") {
        Some(pc) => {
            let v = token(pc)?;
            if v.chars().count() > 16 {
                return Err(invalid(pc, "a postal code is at most 16 characters"));
            }
            check_script(pc, t, &v)?;
            (!v.is_empty()).then_some(v)
        }
        None => None,
    };
    let cc_el = c.required(CONTACT, "cc")?;
    let cc = token(cc_el)?;
    if cc.chars().count() != 2 {
        return Err(invalid(
            cc_el,
            format!("a country code is 2 characters, got {cc:?}"),
        ));
    }
    c.finish()?;
    Ok(Address {
        street,
        city,
        sp,
        pc,
        cc,
    })
}

/// `e164Type`: `(\+[0-9]{1,3}\.[0-9]{1,14})?` with an optional `x` extension; empty is `None`.
fn phone(el: &Element) -> Result<Option<Phone>, DecodeError> {
    let el = leaf_with(el, &["x"])?;
    let number = epp_proto::value::collapse_whitespace(&el.text);
    let ext = el
        .attr("x")
        .map(epp_proto::value::collapse_whitespace)
        .filter(|x| !x.is_empty());
    if number.is_empty() {
        if ext.is_some() {
            return Err(invalid(el, "an extension without a number"));
        }
        return Ok(None);
    }
    if !is_e164(&number) {
        return Err(invalid(
            el,
            format!("{number:?} is not +CC.NUMBER (1-3 and 1-14 digits)"),
        ));
    }
    if ext.as_ref().is_some_and(|x| x.chars().count() > 64) {
        return Err(invalid(el, "extension longer than 64 characters"));
    }
    Ok(Some(Phone { number, ext }))
}

fn is_e164(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('+') else {
        return false;
    };
    let Some((cc, num)) = rest.split_once('.') else {
        return false;
    };
    let digits =
        |p: &str, max: usize| (1..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    digits(cc, 3) && digits(num, 14)
}

fn email(el: &Element) -> Result<String, DecodeError> {
    let v = token(el)?;
    let got = v.chars().count();
    if got == 0 || got > MAX_EMAIL {
        return Err(invalid(
            el,
            format!("an email address is 1-{MAX_EMAIL} characters long, got {got}"),
        ));
    }
    Ok(v)
}

fn disclose(el: &Element) -> Result<Disclose, DecodeError> {
    container(el, &["flag"])?;
    let flag = boolean(el, attr(el, "flag")?)?;
    let mut c = Children::new(el);
    let mut fields = Vec::new();
    for (name, make) in [
        (
            "name",
            DiscloseField::Name as fn(PostalInfoType) -> DiscloseField,
        ),
        ("org", DiscloseField::Org),
        ("addr", DiscloseField::Addr),
    ] {
        for f in c.many(CONTACT, name, 2)? {
            leaf_with(f, &["type"])?;
            crate::read::no_text(f)?;
            fields.push(make(postal_type(f)?));
        }
    }
    for (name, field) in [
        ("voice", DiscloseField::Voice),
        ("fax", DiscloseField::Fax),
        ("email", DiscloseField::Email),
    ] {
        if let Some(f) = c.optional(CONTACT, name) {
            leaf_with(f, &[])?;
            crate::read::no_text(f)?;
            fields.push(field);
        }
    }
    c.finish()?;
    Ok(Disclose { flag, fields })
}

/// `<contact:add>`/`<contact:rem>`: 1-7 statuses.
fn statuses(el: &Element) -> Result<Vec<epp_proto::StatusEntry<ContactStatus>>, DecodeError> {
    container(el, &[])?;
    let mut c = Children::new(el);
    let list = c.many(CONTACT, "status", 7)?;
    if list.is_empty() {
        c.required(CONTACT, "status")?;
    }
    c.finish()?;
    list.into_iter()
        .map(|s| status(s, ContactStatus::from_token))
        .collect()
}

fn chg(el: &Element) -> Result<ContactChg, DecodeError> {
    container(el, &[])?;
    let mut c = Children::new(el);
    let mut postal_info = Vec::new();
    for p in c.many(CONTACT, "postalInfo", 2)? {
        container(p, &["type"])?;
        let info_type = postal_type(p)?;
        if postal_info
            .iter()
            .any(|x: &PostalInfoChange| x.info_type == info_type)
        {
            return Err(invalid(
                p,
                "two postalInfo elements must be one int and one loc",
            ));
        }
        let mut pc = Children::new(p);
        let name = pc
            .optional(CONTACT, "name")
            .map(|n| pline(n, info_type))
            .transpose()?;
        let org = pc
            .optional(CONTACT, "org")
            .map(|o| opt_pline(o, info_type))
            .transpose()?;
        let addr = pc
            .optional(CONTACT, "addr")
            .map(|a| address(a, info_type))
            .transpose()?;
        pc.finish()?;
        postal_info.push(PostalInfoChange {
            info_type,
            name,
            org,
            addr,
        });
    }
    let voice = c.optional(CONTACT, "voice").map(phone).transpose()?;
    let fax = c.optional(CONTACT, "fax").map(phone).transpose()?;
    let email = c.optional(CONTACT, "email").map(email).transpose()?;
    let auth_info = c
        .optional(CONTACT, "authInfo")
        .map(|a| auth_info(a, CONTACT))
        .transpose()?;
    let disclose = c.optional(CONTACT, "disclose").map(disclose).transpose()?;
    c.finish()?;
    Ok(ContactChg {
        postal_info,
        voice,
        fax,
        email,
        auth_info,
        disclose,
    })
}

/// The `<command>` child a contact command sits in.
pub(crate) fn cmd_name(cmd: &ContactCommand) -> &'static str {
    match cmd {
        ContactCommand::Check(_) => "check",
        ContactCommand::Info { .. } => "info",
        ContactCommand::Create(_) => "create",
        ContactCommand::Delete(_) => "delete",
        ContactCommand::Transfer { .. } => "transfer",
        ContactCommand::Update(_) => "update",
    }
}

pub(crate) fn encode(w: &mut XmlWriter, cmd: &ContactCommand) {
    let root = format!("{P}:{}", cmd_name(cmd));
    w.open(&root, &[("xmlns:contact", CONTACT)]);
    match cmd {
        ContactCommand::Check(ids) => {
            for id in ids {
                w.leaf("contact:id", &[], id.as_str());
            }
        }
        ContactCommand::Info { id, auth_info } | ContactCommand::Transfer { id, auth_info, .. } => {
            w.leaf("contact:id", &[], id.as_str());
            if let Some(a) = auth_info {
                encode_auth_info(w, P, a);
            }
        }
        ContactCommand::Delete(id) => {
            w.leaf("contact:id", &[], id.as_str());
        }
        ContactCommand::Create(c) => {
            w.leaf("contact:id", &[], c.id.as_str());
            for p in &c.postal_info {
                w.open("contact:postalInfo", &[("type", p.info_type.as_str())]);
                w.leaf("contact:name", &[], &p.name);
                if let Some(o) = &p.org {
                    w.leaf("contact:org", &[], o);
                }
                encode_addr(w, &p.addr);
                w.close("contact:postalInfo");
            }
            encode_phone(w, "contact:voice", c.voice.as_ref());
            encode_phone(w, "contact:fax", c.fax.as_ref());
            w.leaf("contact:email", &[], &c.email);
            encode_auth_info(w, P, &c.auth_info);
            if let Some(d) = &c.disclose {
                encode_disclose(w, d);
            }
        }
        ContactCommand::Update(u) => {
            w.leaf("contact:id", &[], u.id.as_str());
            for (name, list) in [("contact:add", &u.add), ("contact:rem", &u.rem)] {
                if list.is_empty() {
                    continue;
                }
                w.open(name, &[]);
                for s in list {
                    encode_status(w, "contact:status", s.status.as_str(), s);
                }
                w.close(name);
            }
            if let Some(chg) = &u.chg {
                w.open("contact:chg", &[]);
                for p in &chg.postal_info {
                    w.open("contact:postalInfo", &[("type", p.info_type.as_str())]);
                    if let Some(n) = &p.name {
                        w.leaf("contact:name", &[], n);
                    }
                    match &p.org {
                        Some(Some(o)) => {
                            w.leaf("contact:org", &[], o);
                        }
                        Some(None) => {
                            w.empty("contact:org", &[]);
                        }
                        None => {}
                    }
                    if let Some(a) = &p.addr {
                        encode_addr(w, a);
                    }
                    w.close("contact:postalInfo");
                }
                for (name, v) in [("contact:voice", &chg.voice), ("contact:fax", &chg.fax)] {
                    match v {
                        Some(Some(p)) => encode_phone(w, name, Some(p)),
                        Some(None) => {
                            w.empty(name, &[]);
                        }
                        None => {}
                    }
                }
                if let Some(e) = &chg.email {
                    w.leaf("contact:email", &[], e);
                }
                if let Some(a) = &chg.auth_info {
                    encode_auth_info(w, P, a);
                }
                if let Some(d) = &chg.disclose {
                    encode_disclose(w, d);
                }
                w.close("contact:chg");
            }
        }
    }
    w.close(&root);
}

fn encode_addr(w: &mut XmlWriter, a: &Address) {
    w.open("contact:addr", &[]);
    for s in &a.street {
        w.leaf("contact:street", &[], s);
    }
    w.leaf("contact:city", &[], &a.city);
    if let Some(sp) = &a.sp {
        w.leaf("contact:sp", &[], sp);
    }
    if let Some(pc) = &a.pc {
        w.leaf("contact:pc", &[], pc);
    }
    w.leaf("contact:cc", &[], &a.cc);
    w.close("contact:addr");
}

fn encode_phone(w: &mut XmlWriter, name: &str, p: Option<&Phone>) {
    if let Some(p) = p {
        match &p.ext {
            Some(x) => w.leaf(name, &[("x", x.as_str())], &p.number),
            None => w.leaf(name, &[], &p.number),
        };
    }
}

fn encode_disclose(w: &mut XmlWriter, d: &Disclose) {
    w.open(
        "contact:disclose",
        &[("flag", if d.flag { "1" } else { "0" })],
    );
    // Schema order: name*, org*, addr*, voice?, fax?, email?.
    let rank = |f: &DiscloseField| match f {
        DiscloseField::Name(_) => 0,
        DiscloseField::Org(_) => 1,
        DiscloseField::Addr(_) => 2,
        DiscloseField::Voice => 3,
        DiscloseField::Fax => 4,
        DiscloseField::Email => 5,
    };
    let mut fields: Vec<&DiscloseField> = d.fields.iter().collect();
    fields.sort_by_key(|f| rank(f));
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
