//! Contact commands (RFC 5733), one module per command.
//!
//! Field rules: `int` postal info is ASCII only; at most one `int` and one `loc`; text fields
//! 1-255 characters; phone numbers in E.164a form; e-mail `local@domain`; country codes two
//! letters (stored upper-case); all refused with 2005. A non-sponsor sees a contact only with
//! its authInfo (2201 without, 2202 wrong): contact data is personal data.

mod check;
mod create;
mod delete;
pub(crate) mod info;
mod transfer;
mod update;

use epp_proto::contact::{Address, Disclose, DiscloseField, Phone, PostalInfo, PostalInfoType};
use epp_proto::AuthInfo;

use crate::error::CoreError;
use crate::model::*;
use crate::policy;

/// Whether a non-sponsor's authInfo opens the contact at `now`: 2202 when given and wrong,
/// expired, or when the contact has none ([`crate::secure_auth::judge`]).
pub(crate) fn contact_auth(
    cfg: &crate::Config,
    c: &Contact,
    auth: Option<&AuthInfo>,
    now: epp_proto::Timestamp,
) -> Result<bool, CoreError> {
    crate::secure_auth::judge(
        &cfg.secure_auth,
        Some(c.auth_pw.as_str()),
        c.auth_set,
        auth,
        now,
    )
}

pub(crate) fn postal_rec(p: &PostalInfo) -> Result<PostalRec, CoreError> {
    let ascii = p.info_type == PostalInfoType::Int;
    policy::check_text(&p.name, "invalid name", ascii)?;
    if let Some(o) = &p.org {
        policy::check_text(o, "invalid org", ascii)?;
    }
    address_check(&p.addr, ascii)?;
    Ok(PostalRec {
        kind: p.info_type.as_str().to_owned(),
        name: p.name.clone(),
        org: p.org.clone(),
        street: p.addr.street.clone(),
        city: p.addr.city.clone(),
        sp: p.addr.sp.clone(),
        pc: p.addr.pc.clone(),
        cc: policy::check_cc(&p.addr.cc)?,
    })
}

pub(crate) fn address_check(a: &Address, ascii: bool) -> Result<(), CoreError> {
    if a.street.len() > 3 {
        return Err(CoreError::Syntax("at most 3 street lines"));
    }
    for s in &a.street {
        policy::check_text(s, "invalid street", ascii)?;
    }
    policy::check_text(&a.city, "invalid city", ascii)?;
    if let Some(sp) = &a.sp {
        policy::check_text(sp, "invalid sp", ascii)?;
    }
    if let Some(pc) = &a.pc {
        if pc.chars().count() > 16 {
            return Err(CoreError::Syntax("invalid pc"));
        }
        policy::check_text(pc, "invalid pc", ascii)?;
    }
    policy::check_cc(&a.cc)?;
    Ok(())
}

pub(crate) fn phone_rec(p: &Phone) -> Result<PhoneRec, CoreError> {
    policy::check_phone(&p.number, p.ext.as_deref())?;
    Ok(PhoneRec {
        number: p.number.clone(),
        ext: p.ext.clone(),
    })
}

fn disclose_field_token(f: DiscloseField) -> String {
    match f {
        DiscloseField::Name(t) => format!("name:{}", t.as_str()),
        DiscloseField::Org(t) => format!("org:{}", t.as_str()),
        DiscloseField::Addr(t) => format!("addr:{}", t.as_str()),
        DiscloseField::Voice => "voice".into(),
        DiscloseField::Fax => "fax".into(),
        DiscloseField::Email => "email".into(),
    }
}

pub(crate) fn disclose_field_parse(s: &str) -> Option<DiscloseField> {
    let t = |x: &str| PostalInfoType::from_token(x);
    match s.split_once(':') {
        Some(("name", x)) => t(x).map(DiscloseField::Name),
        Some(("org", x)) => t(x).map(DiscloseField::Org),
        Some(("addr", x)) => t(x).map(DiscloseField::Addr),
        None if s == "voice" => Some(DiscloseField::Voice),
        None if s == "fax" => Some(DiscloseField::Fax),
        None if s == "email" => Some(DiscloseField::Email),
        _ => None,
    }
}

pub(crate) fn disclose_rec(d: &Disclose) -> DiscloseRec {
    DiscloseRec {
        flag: d.flag,
        fields: d.fields.iter().map(|f| disclose_field_token(*f)).collect(),
    }
}

pub(crate) fn check_postal_set(list: &[PostalRec]) -> Result<(), CoreError> {
    if list.is_empty() || list.len() > 2 || (list.len() == 2 && list[0].kind == list[1].kind) {
        return Err(CoreError::Syntax("one int and/or one loc postalInfo"));
    }
    Ok(())
}
