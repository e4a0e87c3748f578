//! `<greeting>` (RFC 5730 section 2.4), decoded and encoded.
//!
//! The greeting's values come from the server's configuration, as plain strings. The encoder
//! writes a valid greeting whatever they hold:
//!
//! - `svID` is fitted to 3-64 characters (see `fit`);
//! - only version `1.0` exists (`epp:versionType`): other versions are left out, and `1.0` is
//!   written if none is left;
//! - languages that are not `xs:language` tags are left out, and `en` is written if none is
//!   left; object URIs that are empty are left out, and the RFC 5731-5733 object URIs are
//!   written if none is left; empty extension URIs are left out, and `<svcExtension>` with
//!   them if none is left;
//! - purposes and recipients are written in schema order without duplicates (`<ours>` may
//!   repeat); an empty `<recDesc>` is left out, a long one cut to 255 characters;
//! - a policy without statements is written with RFC 5730's example statement (admin and
//!   provisioning purposes; ours and public recipients; stated retention);
//! - a relative expiry that is not an `xs:duration` is left out.
//!
//! The decoder refuses what the schema refuses: a version other than `1.0`, an invalid
//! language tag or duration, an `svID` outside 3-64 characters.

use epp_proto::greeting::{
    Dcp, DcpAccess, DcpExpiry, DcpPurpose, DcpRecipient, DcpRetention, DcpStatement,
};
use epp_proto::ns::{CONTACT, DOMAIN, EPP, HOST};
use epp_proto::value::collapse_whitespace;
use epp_proto::Greeting;

use super::fit;
use super::parse::{self, invalid, UNBOUNDED};
use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{no_text, Children};
use crate::xml::{datetime, XmlWriter};

/// `epp:sIDType` is 3-64 characters; `epp:dcpRecDescType` 1-255.
const SV_ID_MIN: usize = 3;
const SV_ID_MAX: usize = 64;
const REC_DESC_MAX: usize = 255;
const VERSION: &str = "1.0";
const DEFAULT_LANG: &str = "en";
const DEFAULT_OBJ_URIS: [&str; 3] = [DOMAIN, HOST, CONTACT];

pub(crate) fn decode_greeting(el: &Element) -> Result<Greeting, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let sv_id = parse::bounded_text(c.required(EPP, "svID")?, SV_ID_MIN, SV_ID_MAX)?;
    let sv_date = parse::datetime(c.required(EPP, "svDate")?)?;
    let menu = c.required(EPP, "svcMenu")?;
    let dcp = decode_dcp(c.required(EPP, "dcp")?)?;
    c.finish()?;

    no_text(menu)?;
    let mut m = Children::new(menu);
    let versions = parse::one_or_more(&mut m, EPP, "version", UNBOUNDED)?
        .into_iter()
        .map(|v| {
            let t = parse::token(v)?;
            if t == VERSION {
                Ok(t)
            } else {
                Err(invalid(v, format!("version {t:?} is not {VERSION}")))
            }
        })
        .collect::<Result<_, _>>()?;
    let langs = parse::one_or_more(&mut m, EPP, "lang", UNBOUNDED)?
        .into_iter()
        .map(|l| {
            let t = parse::token(l)?;
            if fit::is_language(&t) {
                Ok(t)
            } else {
                Err(invalid(l, format!("{t:?} is not a language tag")))
            }
        })
        .collect::<Result<_, _>>()?;
    let obj_uris = parse::one_or_more(&mut m, EPP, "objURI", UNBOUNDED)?
        .into_iter()
        .map(parse::token)
        .collect::<Result<_, _>>()?;
    let ext_uris = match m.optional(EPP, "svcExtension") {
        Some(ext) => {
            no_text(ext)?;
            let mut e = Children::new(ext);
            let uris = parse::one_or_more(&mut e, EPP, "extURI", UNBOUNDED)?
                .into_iter()
                .map(parse::token)
                .collect::<Result<_, _>>()?;
            e.finish()?;
            uris
        }
        None => Vec::new(),
    };
    m.finish()?;
    Ok(Greeting {
        sv_id,
        sv_date,
        versions,
        langs,
        obj_uris,
        ext_uris,
        dcp,
    })
}

/// The single empty child of a choice of empty elements (`<access><all/></access>`).
fn choice<'a>(el: &'a Element<'a>) -> Result<&'a Element<'a>, DecodeError> {
    no_text(el)?;
    let child = match el.children.as_slice() {
        [child] => child,
        [] => {
            return Err(DecodeError::MissingElement {
                parent: el.label(),
                element: "a value".into(),
            })
        }
        [_, extra, ..] => {
            return Err(DecodeError::UnexpectedElement {
                parent: el.label(),
                element: extra.label(),
            })
        }
    };
    if child.ns != EPP {
        return Err(DecodeError::UnexpectedElement {
            parent: el.label(),
            element: child.label(),
        });
    }
    parse::empty(child)?;
    Ok(child)
}

fn decode_dcp(el: &Element) -> Result<Dcp, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let access_el = choice(c.required(EPP, "access")?)?;
    let access =
        DcpAccess::from_token(&access_el.name).ok_or_else(|| DecodeError::UnexpectedElement {
            parent: "access".into(),
            element: access_el.label(),
        })?;
    let statements = parse::one_or_more(&mut c, EPP, "statement", UNBOUNDED)?
        .into_iter()
        .map(decode_statement)
        .collect::<Result<_, _>>()?;
    let expiry = c.optional(EPP, "expiry").map(decode_expiry).transpose()?;
    c.finish()?;
    Ok(Dcp {
        access,
        statements,
        expiry,
    })
}

fn decode_statement(el: &Element) -> Result<DcpStatement, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let purpose = c.required(EPP, "purpose")?;
    let recipient = c.required(EPP, "recipient")?;
    let retention_el = choice(c.required(EPP, "retention")?)?;
    c.finish()?;

    no_text(purpose)?;
    let mut p = Children::new(purpose);
    let mut purposes = Vec::new();
    for purpose in DcpPurpose::ALL {
        if let Some(e) = p.optional(EPP, purpose.as_str()) {
            parse::empty(e)?;
            purposes.push(purpose);
        }
    }
    p.finish()?;

    no_text(recipient)?;
    let mut r = Children::new(recipient);
    let mut recipients = Vec::new();
    let mut flag =
        |r: &mut Children<'_>, name: &str, value: DcpRecipient| -> Result<(), DecodeError> {
            if let Some(e) = r.optional(EPP, name) {
                parse::empty(e)?;
                recipients.push(value);
            }
            Ok(())
        };
    flag(&mut r, "other", DcpRecipient::Other)?;
    let ours = r.many(EPP, "ours", UNBOUNDED)?;
    let mut ours_values = Vec::with_capacity(ours.len());
    for o in ours {
        no_text(o)?;
        let mut oc = Children::new(o);
        let desc = oc
            .optional(EPP, "recDesc")
            .map(|d| parse::bounded_token(d, 1, REC_DESC_MAX))
            .transpose()?;
        oc.finish()?;
        ours_values.push(DcpRecipient::Ours(desc));
    }
    let mut rest = Vec::new();
    let mut flag =
        |r: &mut Children<'_>, name: &str, value: DcpRecipient| -> Result<(), DecodeError> {
            if let Some(e) = r.optional(EPP, name) {
                parse::empty(e)?;
                rest.push(value);
            }
            Ok(())
        };
    flag(&mut r, "public", DcpRecipient::Public)?;
    flag(&mut r, "same", DcpRecipient::Same)?;
    flag(&mut r, "unrelated", DcpRecipient::Unrelated)?;
    r.finish()?;
    recipients.extend(ours_values);
    recipients.extend(rest);

    let retention = DcpRetention::from_token(&retention_el.name).ok_or_else(|| {
        DecodeError::UnexpectedElement {
            parent: "retention".into(),
            element: retention_el.label(),
        }
    })?;
    Ok(DcpStatement {
        purposes,
        recipients,
        retention,
    })
}

fn decode_expiry(el: &Element) -> Result<DcpExpiry, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let expiry = if let Some(a) = c.optional(EPP, "absolute") {
        DcpExpiry::Absolute(parse::datetime(a)?)
    } else {
        let r = c.required(EPP, "relative")?;
        let d = parse::token(r)?;
        if !fit::is_duration(&d) {
            return Err(invalid(r, format!("{d:?} is not an xs:duration")));
        }
        DcpExpiry::Relative(d)
    };
    c.finish()?;
    Ok(expiry)
}

pub(crate) fn encode_greeting(w: &mut XmlWriter, g: &Greeting) {
    w.open("greeting", &[]);
    w.leaf(
        "svID",
        &[],
        &fit::normalized(&g.sv_id, SV_ID_MIN, SV_ID_MAX),
    );
    w.leaf_display("svDate", datetime(&g.sv_date));

    w.open("svcMenu", &[]);
    let versions = g
        .versions
        .iter()
        .filter(|v| collapse_whitespace(v) == VERSION)
        .count()
        .max(1);
    for _ in 0..versions {
        w.leaf("version", &[], VERSION);
    }
    let mut langs = g
        .langs
        .iter()
        .map(|l| l.trim_matches([' ', '\t', '\n', '\r']))
        .filter(|l| fit::is_language(l))
        .peekable();
    if langs.peek().is_none() {
        w.leaf("lang", &[], DEFAULT_LANG);
    }
    for l in langs {
        w.leaf("lang", &[], l);
    }
    let obj_uris: Vec<_> = g
        .obj_uris
        .iter()
        .map(|u| fit::token(u, 0, usize::MAX))
        .filter(|u| !u.is_empty())
        .collect();
    if obj_uris.is_empty() {
        for u in DEFAULT_OBJ_URIS {
            w.leaf("objURI", &[], u);
        }
    }
    for u in &obj_uris {
        w.leaf("objURI", &[], u);
    }
    let ext_uris: Vec<_> = g
        .ext_uris
        .iter()
        .map(|u| fit::token(u, 0, usize::MAX))
        .filter(|u| !u.is_empty())
        .collect();
    if !ext_uris.is_empty() {
        w.open("svcExtension", &[]);
        for u in &ext_uris {
            w.leaf("extURI", &[], u);
        }
        w.close("svcExtension");
    }
    w.close("svcMenu");

    encode_dcp(w, &g.dcp);
    w.close("greeting");
}

fn encode_dcp(w: &mut XmlWriter, dcp: &Dcp) {
    w.open("dcp", &[]);
    w.open("access", &[]);
    w.empty(dcp.access.as_str(), &[]);
    w.close("access");
    if dcp.statements.is_empty() {
        let default = DcpStatement {
            purposes: vec![DcpPurpose::Admin, DcpPurpose::Prov],
            recipients: vec![DcpRecipient::Ours(None), DcpRecipient::Public],
            retention: DcpRetention::Stated,
        };
        encode_statement(w, &default);
    }
    for s in &dcp.statements {
        encode_statement(w, s);
    }
    match &dcp.expiry {
        Some(DcpExpiry::Absolute(t)) => {
            w.open("expiry", &[]);
            w.leaf_display("absolute", datetime(t));
            w.close("expiry");
        }
        Some(DcpExpiry::Relative(d)) => {
            let d = collapse_whitespace(d);
            if fit::is_duration(&d) {
                w.open("expiry", &[]);
                w.leaf("relative", &[], &d);
                w.close("expiry");
            }
        }
        None => {}
    }
    w.close("dcp");
}

fn recipient_rank(r: &DcpRecipient) -> u8 {
    match r {
        DcpRecipient::Other => 0,
        DcpRecipient::Ours(_) => 1,
        DcpRecipient::Public => 2,
        DcpRecipient::Same => 3,
        DcpRecipient::Unrelated => 4,
    }
}

fn encode_statement(w: &mut XmlWriter, s: &DcpStatement) {
    w.open("statement", &[]);
    w.open("purpose", &[]);
    for p in DcpPurpose::ALL {
        if s.purposes.contains(&p) {
            w.empty(p.as_str(), &[]);
        }
    }
    w.close("purpose");
    w.open("recipient", &[]);
    let mut recipients: Vec<&DcpRecipient> = s.recipients.iter().collect();
    // Stable: several <ours> keep their order.
    recipients.sort_by_key(|r| recipient_rank(r));
    recipients.dedup_by(|a, b| {
        recipient_rank(a) == recipient_rank(b) && !matches!(a, DcpRecipient::Ours(_))
    });
    for r in recipients {
        match r {
            DcpRecipient::Ours(desc) => {
                let desc = desc
                    .as_deref()
                    .map(|d| fit::token(d, 0, REC_DESC_MAX))
                    .filter(|d| !d.is_empty());
                match desc {
                    Some(d) => {
                        w.open("ours", &[]);
                        w.leaf("recDesc", &[], &d);
                        w.close("ours");
                    }
                    None => {
                        w.empty("ours", &[]);
                    }
                }
            }
            DcpRecipient::Other => {
                w.empty("other", &[]);
            }
            DcpRecipient::Public => {
                w.empty("public", &[]);
            }
            DcpRecipient::Same => {
                w.empty("same", &[]);
            }
            DcpRecipient::Unrelated => {
                w.empty("unrelated", &[]);
            }
        }
    }
    w.close("recipient");
    w.open("retention", &[]);
    w.empty(s.retention.as_str(), &[]);
    w.close("retention");
    w.close("statement");
}
