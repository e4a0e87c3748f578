//! Responses and the greeting (RFC 5730 sections 2.4 and 2.6), decoded and encoded, with the
//! `<resData>` of the domain, host and contact mappings (RFC 5731-5733). Extension elements go
//! through [`crate::ext`].
//!
//! Decoding is strict: elements must come in the order the XSDs give, each leaf is checked
//! against its schema type, and every error names the element at fault. A few things the
//! schema allows cannot be represented and are refused: a `<value>` whose element has child
//! elements, a `<msgQ><msg>` with child elements, an `<authInfo><ext>`, a `<domain:contact>`
//! without `type`, more than one `<resData>` child. Text next to the element in `<value>`
//! (mixed content) is ignored.
//!
//! Encoding follows the XSDs' element order and writes dates with [`crate::xml::datetime`],
//! result codes as four digits, and each `<resData>` child and extension element with its own
//! namespace declaration. The encoder never writes an invalid document: values that are plain
//! strings in `epp-proto` are fitted to their schema type (see `fit`), and structures that
//! cannot be valid as given are written by these rules:
//!
//! - a response without results gets one `2400 Command failed` result;
//! - a response without svTRID is written with the svTRID `unassigned` (the schema requires
//!   one; the server always sets it);
//! - a check answer with no items, or a contact info without postal info, is written without
//!   `<resData>`;
//! - a `<secDNS:infData>` without `dsData`/`keyData` is left out, and `<extension>` with it
//!   when nothing else is in it;
//! - a check `<reason>` is cut to 32 characters at a character boundary (the core composes
//!   reasons; a cut reason beats an invalid frame) and left out when empty;
//! - an empty `<msg>` is written empty: `epp:msgType` is a `normalizedString` with no minimum
//!   length, so it is valid (xmllint-checked in the suite);
//! - more statuses than the schema allows (11 domain, 7 host or contact) are cut to the first
//!   ones; a host or contact without status is written with status `ok` (RFC 5732/5733: `ok`
//!   is the status of an object without other statuses);
//! - more than 2 postal infos or 3 streets are cut; an empty `<domain:ns>` is left out; `::`
//!   is written `0::` (`host:addrStringType` needs 3 characters);
//! - status and disclose lists are written in schema order without duplicates;
//! - the greeting rules are in the `greeting` module.

mod contact;
mod domain;
mod fit;
mod greeting;
mod host;
mod parse;

use epp_proto::ext::ResponseExtension;
use epp_proto::ns::{CONTACT, DOMAIN, EPP, HOST};
use epp_proto::response::{EppResult, ExtValue, MsgQ, TrId, ValueElement};
use epp_proto::{
    CheckItem, ClTrid, ContactId, Label, MsgId, Response, ResponseData, ResultCode, SvTrid,
    TransferData, TransferStatus,
};

use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{no_text, Children};
use crate::xml::{datetime, XmlWriter};
use parse::{invalid, leaf, UNBOUNDED};

pub(crate) use greeting::{decode_greeting, encode_greeting};

/// The svTRID written when a response has none (see the module docs).
pub const MISSING_SV_TRID: &str = "unassigned";

// ---------------------------------------------------------------------------------------------
// Decoding

pub(crate) fn decode_response(el: &Element) -> Result<Response, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let results = parse::one_or_more(&mut c, EPP, "result", UNBOUNDED)?
        .into_iter()
        .map(decode_result)
        .collect::<Result<_, _>>()?;
    let msg_q = c.optional(EPP, "msgQ").map(decode_msg_q).transpose()?;
    let res_data = c
        .optional(EPP, "resData")
        .map(decode_res_data)
        .transpose()?;
    let extensions = match c.optional(EPP, "extension") {
        Some(ext) => decode_extensions(ext)?,
        None => Vec::new(),
    };
    let tr_id = decode_tr_id(c.required(EPP, "trID")?)?;
    c.finish()?;
    Ok(Response {
        results,
        msg_q,
        res_data,
        extensions,
        tr_id,
    })
}

fn decode_result(el: &Element) -> Result<EppResult, DecodeError> {
    no_text(el)?;
    let raw = crate::read::attr(el, "code")?.trim_matches([' ', '\t', '\n', '\r']);
    let code = raw
        .parse::<u16>()
        .ok()
        .and_then(ResultCode::from_code)
        .ok_or_else(|| invalid(el, format!("code={raw:?} is not an EPP result code")))?;
    let mut c = Children::new(el);
    let msg_el = c.required(EPP, "msg")?;
    let msg = leaf(msg_el)?.to_owned();
    let lang = parse::lang(msg_el)?;
    let mut values = Vec::new();
    let mut ext_values = Vec::new();
    while let Some(child) = c.next_any() {
        if child.is(EPP, "value") {
            values.push(decode_value(child)?);
        } else if child.is(EPP, "extValue") {
            ext_values.push(decode_ext_value(child)?);
        } else {
            return Err(DecodeError::UnexpectedElement {
                parent: el.label(),
                element: child.label(),
            });
        }
    }
    Ok(EppResult {
        code,
        msg,
        lang,
        values,
        ext_values,
    })
}

/// `<value>`: exactly one element, whose namespace, name and text we keep.
fn decode_value(el: &Element) -> Result<ValueElement, DecodeError> {
    let child = match el.children.as_slice() {
        [child] => child,
        [] => {
            return Err(DecodeError::MissingElement {
                parent: el.label(),
                element: "an element".into(),
            })
        }
        [_, extra, ..] => {
            return Err(DecodeError::UnexpectedElement {
                parent: el.label(),
                element: extra.label(),
            })
        }
    };
    let text = leaf(child)?.to_owned();
    Ok(ValueElement {
        namespace: child.ns.to_string(),
        name: child.name.to_string(),
        text,
    })
}

fn decode_ext_value(el: &Element) -> Result<ExtValue, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let value = decode_value(c.required(EPP, "value")?)?;
    let reason_el = c.required(EPP, "reason")?;
    c.finish()?;
    Ok(ExtValue {
        value,
        reason: leaf(reason_el)?.to_owned(),
        lang: parse::lang(reason_el)?,
    })
}

fn decode_msg_q(el: &Element) -> Result<MsgQ, DecodeError> {
    no_text(el)?;
    let raw = crate::read::attr(el, "count")?.trim_matches([' ', '\t', '\n', '\r']);
    let count = raw
        .parse::<u64>()
        .map_err(|_| invalid(el, format!("count={raw:?} is not an unsignedLong")))?;
    let id = crate::read::value(el, MsgId::new(crate::read::attr(el, "id")?))?;
    let mut c = Children::new(el);
    let q_date = c.optional(EPP, "qDate").map(parse::datetime).transpose()?;
    let (msg, lang) = match c.optional(EPP, "msg") {
        Some(m) => (Some(leaf(m)?.to_owned()), parse::lang(m)?),
        None => (None, None),
    };
    c.finish()?;
    Ok(MsgQ {
        count,
        id,
        q_date,
        msg,
        lang,
    })
}

fn decode_res_data(el: &Element) -> Result<ResponseData, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let Some(child) = c.next_any() else {
        return Err(DecodeError::MissingElement {
            parent: el.label(),
            element: "an object's data".into(),
        });
    };
    let unexpected = || DecodeError::UnexpectedElement {
        parent: el.label(),
        element: child.label(),
    };
    let data = match (child.ns.as_ref(), child.name.as_ref()) {
        (DOMAIN, "chkData") => ResponseData::DomainCheck(decode_check(child, &DOMAIN_NAMES)?),
        (DOMAIN, "infData") => ResponseData::DomainInfo(Box::new(domain::decode_info(child)?)),
        (DOMAIN, "creData") => ResponseData::DomainCreate(domain::decode_create(child)?),
        (DOMAIN, "renData") => ResponseData::DomainRenew(domain::decode_renew(child)?),
        (DOMAIN, "trnData") => ResponseData::DomainTransfer(decode_transfer(child, &DOMAIN_NAMES)?),
        (DOMAIN, "panData") => ResponseData::DomainPending(decode_pending(child, &DOMAIN_NAMES)?),
        (HOST, "chkData") => ResponseData::HostCheck(decode_check(child, &HOST_NAMES)?),
        (HOST, "infData") => ResponseData::HostInfo(Box::new(host::decode_info(child)?)),
        (HOST, "creData") => ResponseData::HostCreate(host::decode_create(child)?),
        (HOST, "panData") => ResponseData::HostPending(decode_pending(child, &HOST_NAMES)?),
        (CONTACT, "chkData") => ResponseData::ContactCheck(decode_check(child, &CONTACT_NAMES)?),
        (CONTACT, "infData") => ResponseData::ContactInfo(Box::new(contact::decode_info(child)?)),
        (CONTACT, "creData") => ResponseData::ContactCreate(contact::decode_create(child)?),
        (CONTACT, "trnData") => {
            ResponseData::ContactTransfer(decode_transfer(child, &CONTACT_NAMES)?)
        }
        (CONTACT, "panData") => {
            ResponseData::ContactPending(decode_pending(child, &CONTACT_NAMES)?)
        }
        (DOMAIN | HOST | CONTACT | EPP, _) => return Err(unexpected()),
        (ns, _) => return Err(DecodeError::UnimplementedObject(ns.to_owned())),
    };
    c.finish()?;
    Ok(data)
}

fn decode_extensions(el: &Element) -> Result<Vec<ResponseExtension>, DecodeError> {
    no_text(el)?;
    if el.children.is_empty() {
        return Err(DecodeError::MissingElement {
            parent: el.label(),
            element: "an extension element".into(),
        });
    }
    el.children
        .iter()
        .map(crate::ext::decode_response_extension)
        .collect()
}

fn decode_tr_id(el: &Element) -> Result<TrId, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let cl_trid = c
        .optional(EPP, "clTRID")
        .map(|e| parse::value(e, ClTrid::new))
        .transpose()?;
    let sv_trid = Some(parse::value(c.required(EPP, "svTRID")?, SvTrid::new)?);
    c.finish()?;
    Ok(TrId { cl_trid, sv_trid })
}

// ---------------------------------------------------------------------------------------------
// Encoding

pub(crate) fn encode_response(w: &mut XmlWriter, r: &Response) {
    w.open("response", &[]);
    if r.results.is_empty() {
        encode_result(w, &EppResult::new(ResultCode::CommandFailed));
    }
    for result in &r.results {
        encode_result(w, result);
    }
    if let Some(q) = &r.msg_q {
        encode_msg_q(w, q);
    }
    if let Some(data) = r.res_data.as_ref().filter(|d| writable(d)) {
        w.open("resData", &[]);
        encode_res_data(w, data);
        w.close("resData");
    }
    let mut extensions = r
        .extensions
        .iter()
        .filter(|e| crate::ext::response_extension_writable(e))
        .peekable();
    if extensions.peek().is_some() {
        w.open("extension", &[]);
        for ext in extensions {
            crate::ext::encode_response_extension(w, ext);
        }
        w.close("extension");
    }
    encode_tr_id(w, &r.tr_id);
    w.close("response");
}

fn encode_result(w: &mut XmlWriter, r: &EppResult) {
    let n = r.code.code();
    let digits = [
        b'0' + (n / 1000 % 10) as u8,
        b'0' + (n / 100 % 10) as u8,
        b'0' + (n / 10 % 10) as u8,
        b'0' + (n % 10) as u8,
    ];
    // Four ASCII digits are always UTF-8.
    let code = std::str::from_utf8(&digits).unwrap_or("2400");
    w.open("result", &[("code", code)]);
    match fit::lang(&r.lang) {
        Some(lang) => w.leaf("msg", &[("lang", lang)], &r.msg),
        None => w.leaf("msg", &[], &r.msg),
    };
    for v in &r.values {
        encode_value(w, v);
    }
    for ev in &r.ext_values {
        w.open("extValue", &[]);
        encode_value(w, &ev.value);
        match fit::lang(&ev.lang) {
            Some(lang) => w.leaf("reason", &[("lang", lang)], &ev.reason),
            None => w.leaf("reason", &[], &ev.reason),
        };
        w.close("extValue");
    }
    w.close("result");
}

/// The conventional prefix for a namespace in `<value>`.
fn value_prefix(ns: &str) -> &'static str {
    match ns {
        EPP => "epp",
        DOMAIN => "domain",
        HOST => "host",
        CONTACT => "contact",
        epp_proto::ns::SEC_DNS => "secDNS",
        epp_proto::ns::RGP => "rgp",
        epp_proto::ns::EPPCOM => "eppcom",
        _ => "v",
    }
}

/// `<value><domain:name xmlns:domain="…">text</domain:name></value>`. A name that is not an
/// NCName is written `undef`; an empty or reserved namespace is written as no namespace.
fn encode_value(w: &mut XmlWriter, v: &ValueElement) {
    const RESERVED: [&str; 2] = [
        "http://www.w3.org/XML/1998/namespace",
        "http://www.w3.org/2000/xmlns/",
    ];
    let local = if fit::is_ncname(&v.name) {
        v.name.as_ref()
    } else {
        "undef"
    };
    w.open("value", &[]);
    if v.namespace.is_empty() || RESERVED.contains(&v.namespace.as_str()) {
        w.leaf(local, &[("xmlns", "")], &v.text);
    } else {
        let prefix = value_prefix(&v.namespace);
        let tag = format!("{prefix}:{local}");
        let decl = format!("xmlns:{prefix}");
        w.leaf(&tag, &[(&decl, &v.namespace)], &v.text);
    }
    w.close("value");
}

fn encode_msg_q(w: &mut XmlWriter, q: &MsgQ) {
    let count = q.count.to_string();
    w.open("msgQ", &[("count", &count), ("id", q.id.as_str())]);
    if let Some(d) = &q.q_date {
        w.leaf_display("qDate", datetime(d));
    }
    if let Some(msg) = &q.msg {
        match fit::lang(&q.lang) {
            Some(lang) => w.leaf("msg", &[("lang", lang)], msg),
            None => w.leaf("msg", &[], msg),
        };
    }
    w.close("msgQ");
}

/// False for data that cannot be written validly (see the module docs).
fn writable(d: &ResponseData) -> bool {
    match d {
        ResponseData::DomainCheck(v)
        | ResponseData::HostCheck(v)
        | ResponseData::ContactCheck(v) => !v.is_empty(),
        ResponseData::ContactInfo(c) => !c.postal_info.is_empty(),
        _ => true,
    }
}

fn encode_res_data(w: &mut XmlWriter, d: &ResponseData) {
    match d {
        ResponseData::DomainCheck(v) => encode_check(w, &DOMAIN_NAMES, v),
        ResponseData::DomainInfo(v) => domain::encode_info(w, v),
        ResponseData::DomainCreate(v) => domain::encode_create(w, v),
        ResponseData::DomainRenew(v) => domain::encode_renew(w, v),
        ResponseData::DomainTransfer(v) => encode_transfer(w, &DOMAIN_NAMES, v),
        ResponseData::DomainPending(v) => encode_pending(w, &DOMAIN_NAMES, v),
        ResponseData::HostCheck(v) => encode_check(w, &HOST_NAMES, v),
        ResponseData::HostInfo(v) => host::encode_info(w, v),
        ResponseData::HostCreate(v) => host::encode_create(w, v),
        ResponseData::HostPending(v) => encode_pending(w, &HOST_NAMES, v),
        ResponseData::ContactCheck(v) => encode_check(w, &CONTACT_NAMES, v),
        ResponseData::ContactInfo(v) => contact::encode_info(w, v),
        ResponseData::ContactCreate(v) => contact::encode_create(w, v),
        ResponseData::ContactTransfer(v) => encode_transfer(w, &CONTACT_NAMES, v),
        ResponseData::ContactPending(v) => encode_pending(w, &CONTACT_NAMES, v),
    }
}

fn encode_tr_id(w: &mut XmlWriter, t: &TrId) {
    w.open("trID", &[]);
    if let Some(cl) = &t.cl_trid {
        w.leaf("clTRID", &[], cl.as_str());
    }
    w.leaf(
        "svTRID",
        &[],
        t.sv_trid.as_ref().map_or(MISSING_SV_TRID, SvTrid::as_str),
    );
    w.close("trID");
}

// ---------------------------------------------------------------------------------------------
// Check, transfer and pending-action data: the same shape in the three object mappings.

/// The qualified names one object mapping uses for its shared structures.
struct ObjNames {
    ns: &'static str,
    xmlns: &'static str,
    /// `name` for domains and hosts, `id` for contacts.
    id: &'static str,
    id_local: &'static str,
    /// `eppcom:labelType` (1-255) or `eppcom:clIDType` (3-16).
    id_min: usize,
    id_max: usize,
    chk_data: &'static str,
    cd: &'static str,
    reason: &'static str,
    trn_data: &'static str,
    tr_status: &'static str,
    re_id: &'static str,
    re_date: &'static str,
    ac_id: &'static str,
    ac_date: &'static str,
    ex_date: &'static str,
    pan_data: &'static str,
    pa_trid: &'static str,
    pa_date: &'static str,
}

macro_rules! obj_names {
    ($name:ident, $ns:expr, $p:literal, $id:literal, $min:literal, $max:literal) => {
        const $name: ObjNames = ObjNames {
            ns: $ns,
            xmlns: concat!("xmlns:", $p),
            id: concat!($p, ":", $id),
            id_local: $id,
            id_min: $min,
            id_max: $max,
            chk_data: concat!($p, ":chkData"),
            cd: concat!($p, ":cd"),
            reason: concat!($p, ":reason"),
            trn_data: concat!($p, ":trnData"),
            tr_status: concat!($p, ":trStatus"),
            re_id: concat!($p, ":reID"),
            re_date: concat!($p, ":reDate"),
            ac_id: concat!($p, ":acID"),
            ac_date: concat!($p, ":acDate"),
            ex_date: concat!($p, ":exDate"),
            pan_data: concat!($p, ":panData"),
            pa_trid: concat!($p, ":paTRID"),
            pa_date: concat!($p, ":paDate"),
        };
    };
}

obj_names!(DOMAIN_NAMES, DOMAIN, "domain", "name", 1, 255);
obj_names!(HOST_NAMES, HOST, "host", "name", 1, 255);
obj_names!(CONTACT_NAMES, CONTACT, "contact", "id", 3, 16);

/// `eppcom:reasonBaseType` is 1-32 characters.
const REASON_MAX: usize = 32;

fn bool_str(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        "0"
    }
}

/// A name or id of a check, transfer or pending-action answer, checked against its type.
fn decode_object_id(el: &Element, o: &ObjNames) -> Result<String, DecodeError> {
    if o.ns == CONTACT {
        parse::value(el, ContactId::new).map(|id| id.as_str().to_owned())
    } else {
        parse::value(el, Label::new).map(|l| l.as_str().to_owned())
    }
}

fn decode_check(el: &Element, o: &ObjNames) -> Result<Vec<CheckItem>, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let cds = parse::one_or_more(&mut c, o.ns, "cd", UNBOUNDED)?;
    c.finish()?;
    cds.into_iter()
        .map(|cd| {
            no_text(cd)?;
            let mut c = Children::new(cd);
            let id_el = c.required(o.ns, o.id_local)?;
            let available = parse::bool_attr(id_el, "avail")?;
            let name = decode_object_id(id_el, o)?;
            let reason = c
                .optional(o.ns, "reason")
                .map(|r| parse::bounded_token(r, 1, REASON_MAX))
                .transpose()?;
            c.finish()?;
            Ok(CheckItem {
                name,
                available,
                reason,
            })
        })
        .collect()
}

fn encode_check(w: &mut XmlWriter, o: &ObjNames, items: &[CheckItem]) {
    w.open(o.chk_data, &[(o.xmlns, o.ns)]);
    for item in items {
        w.open(o.cd, &[]);
        w.leaf(
            o.id,
            &[("avail", bool_str(item.available))],
            &fit::token(&item.name, o.id_min, o.id_max),
        );
        if let Some(reason) = &item.reason {
            let reason = fit::token(reason, 0, REASON_MAX);
            if !reason.is_empty() {
                w.leaf(o.reason, &[], &reason);
            }
        }
        w.close(o.cd);
    }
    w.close(o.chk_data);
}

fn decode_transfer(el: &Element, o: &ObjNames) -> Result<TransferData, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let object = decode_object_id(c.required(o.ns, o.id_local)?, o)?;
    let st_el = c.required(o.ns, "trStatus")?;
    let st = parse::token(st_el)?;
    let tr_status = TransferStatus::from_token(&st)
        .ok_or_else(|| invalid(st_el, format!("{st:?} is not a transfer status")))?;
    let re_id = parse::value(c.required(o.ns, "reID")?, epp_proto::ClientId::new)?;
    let re_date = parse::datetime(c.required(o.ns, "reDate")?)?;
    let ac_id = parse::value(c.required(o.ns, "acID")?, epp_proto::ClientId::new)?;
    let ac_date = parse::datetime(c.required(o.ns, "acDate")?)?;
    // Only the domain mapping has exDate; for contacts it is an unexpected element.
    let ex_date = if o.ns == DOMAIN {
        c.optional(o.ns, "exDate")
            .map(parse::datetime)
            .transpose()?
    } else {
        None
    };
    c.finish()?;
    Ok(TransferData {
        object,
        tr_status,
        re_id,
        re_date,
        ac_id,
        ac_date,
        ex_date,
    })
}

fn encode_transfer(w: &mut XmlWriter, o: &ObjNames, t: &TransferData) {
    w.open(o.trn_data, &[(o.xmlns, o.ns)]);
    w.leaf(o.id, &[], &fit::token(&t.object, o.id_min, o.id_max));
    w.leaf(o.tr_status, &[], t.tr_status.as_str());
    w.leaf(o.re_id, &[], t.re_id.as_str());
    w.leaf_display(o.re_date, datetime(&t.re_date));
    w.leaf(o.ac_id, &[], t.ac_id.as_str());
    w.leaf_display(o.ac_date, datetime(&t.ac_date));
    if o.ns == DOMAIN {
        if let Some(d) = &t.ex_date {
            w.leaf_display(o.ex_date, datetime(d));
        }
    }
    w.close(o.trn_data);
}

fn decode_pending(
    el: &Element,
    o: &ObjNames,
) -> Result<epp_proto::domain::PendingActionData, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let id_el = c.required(o.ns, o.id_local)?;
    let pa_result = parse::bool_attr(id_el, "paResult")?;
    let object = decode_object_id(id_el, o)?;
    let tr = c.required(o.ns, "paTRID")?;
    let pa_date = parse::datetime(c.required(o.ns, "paDate")?)?;
    c.finish()?;
    let TrId { cl_trid, sv_trid } = decode_tr_id(tr)?;
    let pa_sv_trid = sv_trid.ok_or_else(|| DecodeError::MissingElement {
        parent: tr.label(),
        element: "svTRID".into(),
    })?;
    Ok(epp_proto::domain::PendingActionData {
        object,
        pa_result,
        pa_cl_trid: cl_trid,
        pa_sv_trid,
        pa_date,
    })
}

fn encode_pending(w: &mut XmlWriter, o: &ObjNames, p: &epp_proto::domain::PendingActionData) {
    w.open(o.pan_data, &[(o.xmlns, o.ns)]);
    w.leaf(
        o.id,
        &[("paResult", bool_str(p.pa_result))],
        &fit::token(&p.object, o.id_min, o.id_max),
    );
    // paTRID is an epp:trIDType: its children are in the EPP namespace (the default here).
    w.open(o.pa_trid, &[]);
    if let Some(cl) = &p.pa_cl_trid {
        w.leaf("clTRID", &[], cl.as_str());
    }
    w.leaf("svTRID", &[], p.pa_sv_trid.as_str());
    w.close(o.pa_trid);
    w.leaf_display(o.pa_date, datetime(&p.pa_date));
    w.close(o.pan_data);
}

// ---------------------------------------------------------------------------------------------
// Shared by the object modules.

/// `<x:status s="…" lang="…">reason</x:status>`; an empty reason is written as no text.
fn encode_status(
    w: &mut XmlWriter,
    name: &str,
    s: &str,
    lang: &Option<String>,
    reason: &Option<String>,
) {
    let attrs_buf;
    let attrs: &[(&str, &str)] = match fit::lang(lang) {
        Some(l) => {
            attrs_buf = [("s", s), ("lang", l)];
            &attrs_buf
        }
        None => {
            attrs_buf = [("s", s), ("", "")];
            &attrs_buf[..1]
        }
    };
    match reason.as_deref() {
        Some(r) if !r.is_empty() => w.leaf(name, attrs, r),
        _ => w.empty(name, attrs),
    };
}

/// A status entry: `s` from the object's token list, optional `lang`, text as the reason.
fn decode_status<S>(
    el: &Element,
    from_token: fn(&str) -> Option<S>,
) -> Result<epp_proto::StatusEntry<S>, DecodeError> {
    let s = crate::read::attr(el, "s")?.trim_matches([' ', '\t', '\n', '\r']);
    let status = from_token(s)
        .ok_or_else(|| invalid(el, format!("s={s:?} is not a status of this object")))?;
    let lang = parse::lang(el)?;
    let text = leaf(el)?;
    let reason = if text.is_empty() {
        None
    } else {
        Some(text.to_owned())
    };
    Ok(epp_proto::StatusEntry {
        status,
        lang,
        reason,
    })
}

/// `<x:authInfo><x:pw roid="…">…</x:pw></x:authInfo>`.
fn decode_auth_info(el: &Element, ns: &str) -> Result<epp_proto::AuthInfo, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let pw = c.required(ns, "pw")?;
    c.finish()?;
    let roid = pw
        .attr("roid")
        .map(|r| crate::read::value(pw, epp_proto::Roid::new(r)))
        .transpose()?;
    crate::read::value(pw, epp_proto::AuthInfo::new(leaf(pw)?, roid))
}

fn encode_auth_info(w: &mut XmlWriter, auth_info: &str, pw: &str, a: &epp_proto::AuthInfo) {
    w.open(auth_info, &[]);
    match &a.roid {
        Some(roid) => w.leaf(pw, &[("roid", roid.as_str())], a.expose()),
        None => w.leaf(pw, &[], a.expose()),
    };
    w.close(auth_info);
}
