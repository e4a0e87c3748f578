//! Pieces shared by the object mappings: authInfo, status entries, periods, IP addresses,
//! names, each read from and written to the object's own namespace.

use std::net::IpAddr;

use epp_proto::common::{AuthInfo, Period, PeriodUnit, Roid, StatusEntry};
use epp_proto::value::{HostName, Label};

use super::values::{container, invalid, language, leaf_with, out_of_range, unsigned, WS};
use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{attr, value, Children};
use crate::xml::XmlWriter;

/// Most names (or ids) in one `<check>`. The schemas set no bound; RFC 5730 lets a server
/// set one. 100 is well above what registrars send (typically 5-50) and bounds the work and
/// the size of the answer.
pub const MAX_CHECK: usize = 100;

/// Most addresses per host (`host:addr`, `domain:hostAddr`): the schema has no bound.
pub const MAX_ADDRS: usize = 16;

/// Most domain contacts in one create or add/rem: the schema has no bound.
pub const MAX_CONTACTS: usize = 16;

/// Longest status reason we take, in characters (the schema's is unbounded).
pub const MAX_STATUS_REASON: usize = 255;

/// A name as `eppcom:labelType` (1-255 characters, token), unchecked otherwise.
pub(crate) fn label(el: &Element) -> Result<Label, DecodeError> {
    let el = leaf_with(el, &[])?;
    value(el, Label::new(&el.text))
}

/// A host or domain name in DNS syntax.
pub(crate) fn host_name(el: &Element, attrs: &[&str]) -> Result<HostName, DecodeError> {
    let el = leaf_with(el, attrs)?;
    value(el, HostName::new(&el.text))
}

/// `<X:authInfo><X:pw roid="…">…</X:pw></X:authInfo>`. `<X:ext>` (extAuthInfoType) is not
/// implemented and is refused as an unexpected element. The password is a normalizedString;
/// we trim its ends (a pretty-printed `<pw>` would otherwise never match).
pub(crate) fn auth_info(el: &Element, ns: &str) -> Result<AuthInfo, DecodeError> {
    container(el, &[])?;
    let mut c = Children::new(el);
    let pw = c.required(ns, "pw")?;
    c.finish()?;
    pw_value(pw)
}

/// The `<X:pw>` element of an authInfo.
pub(crate) fn pw_value(pw: &Element) -> Result<AuthInfo, DecodeError> {
    let pw = leaf_with(pw, &["roid"])?;
    let roid = pw
        .attr("roid")
        .map(|r| value(pw, Roid::new(r)))
        .transpose()?;
    let text: String = pw
        .text
        .chars()
        .map(|c| if WS.contains(&c) { ' ' } else { c })
        .collect();
    value(pw, AuthInfo::new(text.trim_matches(' '), roid))
}

pub(crate) fn encode_auth_info(w: &mut XmlWriter, prefix: &str, a: &AuthInfo) {
    let ai = format!("{prefix}:authInfo");
    w.open(&ai, &[]);
    encode_pw(w, prefix, a);
    w.close(&ai);
}

pub(crate) fn encode_pw(w: &mut XmlWriter, prefix: &str, a: &AuthInfo) {
    let pw = format!("{prefix}:pw");
    match &a.roid {
        Some(r) => w.leaf(&pw, &[("roid", r.as_str())], a.expose()),
        None => w.leaf(&pw, &[], a.expose()),
    };
}

/// `<X:status s="…" lang="…">reason</X:status>`.
pub(crate) fn status<S>(
    el: &Element,
    from_token: impl Fn(&str) -> Option<S>,
) -> Result<StatusEntry<S>, DecodeError> {
    let el = leaf_with(el, &["s", "lang"])?;
    let s = attr(el, "s")?.trim_matches(WS);
    let status = from_token(s).ok_or_else(|| invalid(el, format!("unknown status {s:?}")))?;
    let lang = el.attr("lang").map(|l| language(el, l)).transpose()?;
    let reason = el.text.trim_matches(WS);
    if reason.chars().count() > MAX_STATUS_REASON {
        return Err(invalid(
            el,
            format!("status reason longer than {MAX_STATUS_REASON} characters"),
        ));
    }
    let reason = (!reason.is_empty()).then(|| reason.to_owned());
    Ok(StatusEntry {
        status,
        lang,
        reason,
    })
}

pub(crate) fn encode_status(
    w: &mut XmlWriter,
    name: &str,
    token: &str,
    e: &StatusEntry<impl Sized>,
) {
    let mut attrs = vec![("s", token)];
    if let Some(l) = &e.lang {
        attrs.push(("lang", l.as_str()));
    }
    match &e.reason {
        Some(r) => w.leaf(name, &attrs, r),
        None => w.empty(name, &attrs),
    };
}

/// `<X:period unit="y|m">1-99</X:period>`.
pub(crate) fn period(el: &Element) -> Result<Period, DecodeError> {
    let el = leaf_with(el, &["unit"])?;
    let n: u64 = unsigned(el, &el.text, "unsignedShort")?;
    if !(1..=99).contains(&n) {
        return Err(out_of_range(el, format!("period must be 1-99, got {n}")));
    }
    let unit = match attr(el, "unit")?.trim_matches(WS) {
        "y" => PeriodUnit::Years,
        "m" => PeriodUnit::Months,
        other => {
            return Err(invalid(
                el,
                format!("period unit {other:?} is neither y nor m"),
            ))
        }
    };
    let n = u8::try_from(n).map_err(|_| out_of_range(el, "period must be 1-99"))?;
    value(el, Period::new(n, unit))
}

pub(crate) fn encode_period(w: &mut XmlWriter, prefix: &str, p: Period) {
    let name = format!("{prefix}:period");
    w.open(&name, &[("unit", p.unit().as_str())]);
    w.text(&p.value().to_string());
    w.close(&name);
}

/// `<X:addr ip="v4|v6">…</X:addr>` (`host:addrType`): 3-45 characters; the `ip` attribute
/// (default `v4`) must match the address's family, or the value is invalid (2005).
pub(crate) fn ip_addr(el: &Element) -> Result<IpAddr, DecodeError> {
    let el = leaf_with(el, &["ip"])?;
    let t = el.text.trim_matches(WS);
    let len = t.chars().count();
    if !(3..=45).contains(&len) {
        return Err(invalid(
            el,
            format!("an address is 3-45 characters long, got {len}"),
        ));
    }
    let want_v6 = match el.attr("ip").map(|v| v.trim_matches(WS)) {
        None | Some("v4") => false,
        Some("v6") => true,
        Some(other) => return Err(invalid(el, format!("ip must be v4 or v6, got {other:?}"))),
    };
    let addr: IpAddr = t
        .parse()
        .map_err(|_| invalid(el, format!("{t:?} is not an IP address")))?;
    if addr.is_ipv6() != want_v6 {
        let declared = if want_v6 { "v6" } else { "v4" };
        return Err(invalid(el, format!("{t} is not an IP{declared} address")));
    }
    Ok(addr)
}

/// Writes a `host:addrType` leaf. `::` is written `0::`: it is the only address shorter than
/// the schema's 3 characters, and `0::` is the same address.
pub(crate) fn encode_ip(w: &mut XmlWriter, name: &str, a: &IpAddr) {
    let ip = if a.is_ipv6() { "v6" } else { "v4" };
    let text = a.to_string();
    let text = if text.len() < 3 { "0::" } else { text.as_str() };
    w.leaf(name, &[("ip", ip)], text);
}

/// The object element inside `<check>`, `<info>`, …: it must be named like the command
/// (`<check><domain:create>` is an unexpected element).
pub(crate) fn expect_name(el: &Element, command: &str) -> Result<(), DecodeError> {
    if el.name == command {
        Ok(())
    } else {
        Err(DecodeError::UnexpectedElement {
            parent: command.to_owned(),
            element: el.label(),
        })
    }
}
