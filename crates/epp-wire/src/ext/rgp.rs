//! rgp-1.0 (RFC 3915): `<rgp:update>` (restore request and report) in commands,
//! `<rgp:infData>` and `<rgp:upData>` in responses.
//!
//! The schema lets `preData`, `postData` and `other` hold mixed content with any elements; the
//! model keeps text, so child elements there are refused (`UnexpectedElement`). The `lang`
//! attributes of `resReason`/`statement` and of `rgpStatus`, and the text of `rgpStatus`, are
//! accepted and not kept. Report texts are trimmed of surrounding white space; `resReason` and
//! the statements must not be empty, and every text is bounded by [`MAX_REPORT_TEXT`].

use epp_proto::ext::rgp::{RgpInfoData, RgpReport, RgpStatus, RgpUpdData, RgpUpdate};
use epp_proto::ns::RGP;

use crate::command::values::{datetime, invalid, leaf_with, only_attrs, WS};
use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{attr, no_text, Children};
use crate::xml::{self, XmlWriter};

/// Longest report text we keep, in characters.
pub const MAX_REPORT_TEXT: usize = 8192;

pub(crate) fn decode_update(el: &Element) -> Result<RgpUpdate, DecodeError> {
    no_text(el)?;
    only_attrs(el, &[])?;
    let mut c = Children::new(el);
    let restore = c.required(RGP, "restore")?;
    c.finish()?;
    no_text(restore)?;
    only_attrs(restore, &["op"])?;
    let op = attr(restore, "op")?.trim_matches(WS);
    let mut c = Children::new(restore);
    let out = match op {
        "request" => RgpUpdate::Request,
        "report" => {
            let report = c.required(RGP, "report")?;
            RgpUpdate::Report(Box::new(decode_report(report)?))
        }
        other => {
            return Err(invalid(
                restore,
                format!("op {other:?} is neither request nor report"),
            ))
        }
    };
    c.finish()?;
    Ok(out)
}

fn decode_report(el: &Element) -> Result<RgpReport, DecodeError> {
    no_text(el)?;
    only_attrs(el, &[])?;
    let mut c = Children::new(el);
    let pre_data = text(c.required(RGP, "preData")?, false)?;
    let post_data = text(c.required(RGP, "postData")?, false)?;
    let del_time = datetime(c.required(RGP, "delTime")?)?;
    let res_time = datetime(c.required(RGP, "resTime")?)?;
    let res_reason = text(c.required(RGP, "resReason")?, true)?;
    let s1 = text(c.required(RGP, "statement")?, true)?;
    let s2 = text(c.required(RGP, "statement")?, true)?;
    let other = c
        .optional(RGP, "other")
        .map(|o| text(o, false))
        .transpose()?;
    c.finish()?;
    Ok(RgpReport {
        pre_data,
        post_data,
        del_time,
        res_time,
        res_reason,
        statements: [s1, s2],
        other,
    })
}

/// Report text: simple content only, trimmed, bounded; `lang` allowed on the text types.
fn text(el: &Element, report_text: bool) -> Result<String, DecodeError> {
    let t = leaf_with(el, if report_text { &["lang"] } else { &[] })?
        .text
        .trim_matches(WS);
    if report_text && t.is_empty() {
        return Err(invalid(el, "must not be empty"));
    }
    let got = t.chars().count();
    if got > MAX_REPORT_TEXT {
        return Err(invalid(
            el,
            format!("longer than {MAX_REPORT_TEXT} characters"),
        ));
    }
    Ok(t.to_owned())
}

/// `respDataType`: one or more `<rgp:rgpStatus s="…"/>`.
fn decode_statuses(el: &Element) -> Result<Vec<RgpStatus>, DecodeError> {
    no_text(el)?;
    only_attrs(el, &[])?;
    let mut c = Children::new(el);
    let list = c.many(RGP, "rgpStatus", RgpStatus::ALL.len())?;
    c.finish()?;
    if list.is_empty() {
        return Err(DecodeError::MissingElement {
            parent: el.label(),
            element: "rgp:rgpStatus".into(),
        });
    }
    list.into_iter()
        .map(|s| {
            leaf_with(s, &["s", "lang"])?;
            let v = attr(s, "s")?.trim_matches(WS);
            RgpStatus::from_token(v).ok_or_else(|| invalid(s, format!("unknown rgp status {v:?}")))
        })
        .collect()
}

pub(crate) fn decode_info(el: &Element) -> Result<RgpInfoData, DecodeError> {
    Ok(RgpInfoData {
        statuses: decode_statuses(el)?,
    })
}

pub(crate) fn decode_upd(el: &Element) -> Result<RgpUpdData, DecodeError> {
    Ok(RgpUpdData {
        statuses: decode_statuses(el)?,
    })
}

pub(crate) fn encode_update(w: &mut XmlWriter, v: &RgpUpdate) {
    w.open("rgp:update", &[("xmlns:rgp", RGP)]);
    match v {
        RgpUpdate::Request => {
            w.empty("rgp:restore", &[("op", "request")]);
        }
        RgpUpdate::Report(r) => {
            w.open("rgp:restore", &[("op", "report")]);
            w.open("rgp:report", &[]);
            w.leaf("rgp:preData", &[], &r.pre_data);
            w.leaf("rgp:postData", &[], &r.post_data);
            w.leaf_display("rgp:delTime", xml::datetime(&r.del_time));
            w.leaf_display("rgp:resTime", xml::datetime(&r.res_time));
            w.leaf("rgp:resReason", &[], &r.res_reason);
            for s in &r.statements {
                w.leaf("rgp:statement", &[], s);
            }
            if let Some(o) = &r.other {
                w.leaf("rgp:other", &[], o);
            }
            w.close("rgp:report");
            w.close("rgp:restore");
        }
    }
    w.close("rgp:update");
}

fn encode_statuses(w: &mut XmlWriter, name: &str, statuses: &[RgpStatus]) {
    w.open(name, &[("xmlns:rgp", RGP)]);
    for s in statuses {
        w.empty("rgp:rgpStatus", &[("s", s.as_str())]);
    }
    w.close(name);
}

pub(crate) fn encode_info(w: &mut XmlWriter, v: &RgpInfoData) {
    encode_statuses(w, "rgp:infData", &v.statuses);
}

pub(crate) fn encode_upd(w: &mut XmlWriter, v: &RgpUpdData) {
    encode_statuses(w, "rgp:upData", &v.statuses);
}
