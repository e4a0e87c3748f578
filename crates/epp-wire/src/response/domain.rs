//! `<domain:infData>`, `<domain:creData>`, `<domain:renData>` (RFC 5731 section 3).

use epp_proto::domain::{
    ContactType, DomainContact, DomainCreateData, DomainInfoData, DomainRenewData, DomainStatus,
    HostAttr, NameServers,
};
use epp_proto::ns::DOMAIN;
use epp_proto::{ClientId, ContactId, HostName, Roid};

use super::parse::{self, invalid, UNBOUNDED};
use super::{decode_auth_info, decode_status, encode_auth_info, encode_status};
use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{attr, no_text, Children};
use crate::xml::{datetime, XmlWriter};

/// `domain:infDataType` allows at most 11 statuses.
const MAX_STATUS: usize = 11;

pub(super) fn decode_info(el: &Element) -> Result<DomainInfoData, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let name = parse::value(c.required(DOMAIN, "name")?, HostName::new)?;
    let roid = parse::value(c.required(DOMAIN, "roid")?, Roid::new)?;
    let statuses = c
        .many(DOMAIN, "status", MAX_STATUS)?
        .into_iter()
        .map(|s| decode_status(s, DomainStatus::from_token))
        .collect::<Result<_, _>>()?;
    let registrant = c
        .optional(DOMAIN, "registrant")
        .map(|e| parse::value(e, ContactId::new))
        .transpose()?;
    let contacts = c
        .many(DOMAIN, "contact", UNBOUNDED)?
        .into_iter()
        .map(decode_contact)
        .collect::<Result<_, _>>()?;
    let ns = c.optional(DOMAIN, "ns").map(decode_ns).transpose()?;
    let hosts = c
        .many(DOMAIN, "host", UNBOUNDED)?
        .into_iter()
        .map(|h| parse::value(h, HostName::new))
        .collect::<Result<_, _>>()?;
    let cl_id = parse::value(c.required(DOMAIN, "clID")?, ClientId::new)?;
    let cr_id = c
        .optional(DOMAIN, "crID")
        .map(|e| parse::value(e, ClientId::new))
        .transpose()?;
    let cr_date = c
        .optional(DOMAIN, "crDate")
        .map(parse::datetime)
        .transpose()?;
    let up_id = c
        .optional(DOMAIN, "upID")
        .map(|e| parse::value(e, ClientId::new))
        .transpose()?;
    let up_date = c
        .optional(DOMAIN, "upDate")
        .map(parse::datetime)
        .transpose()?;
    let ex_date = c
        .optional(DOMAIN, "exDate")
        .map(parse::datetime)
        .transpose()?;
    let tr_date = c
        .optional(DOMAIN, "trDate")
        .map(parse::datetime)
        .transpose()?;
    let auth_info = c
        .optional(DOMAIN, "authInfo")
        .map(|a| decode_auth_info(a, DOMAIN))
        .transpose()?;
    c.finish()?;
    Ok(DomainInfoData {
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
    })
}

fn decode_contact(el: &Element) -> Result<DomainContact, DecodeError> {
    let t = attr(el, "type")?.trim_matches([' ', '\t', '\n', '\r']);
    let contact_type = ContactType::from_token(t)
        .ok_or_else(|| invalid(el, format!("type={t:?} is not a contact type")))?;
    Ok(DomainContact {
        contact_type,
        id: parse::value(el, ContactId::new)?,
    })
}

fn decode_ns(el: &Element) -> Result<NameServers, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let objs = c.many(DOMAIN, "hostObj", UNBOUNDED)?;
    let ns = if objs.is_empty() {
        let attrs = parse::one_or_more(&mut c, DOMAIN, "hostAttr", UNBOUNDED)?;
        NameServers::HostAttr(
            attrs
                .into_iter()
                .map(decode_host_attr)
                .collect::<Result<_, _>>()?,
        )
    } else {
        NameServers::HostObj(
            objs.into_iter()
                .map(|h| parse::value(h, HostName::new))
                .collect::<Result<_, _>>()?,
        )
    };
    c.finish()?;
    Ok(ns)
}

fn decode_host_attr(el: &Element) -> Result<HostAttr, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let name = parse::value(c.required(DOMAIN, "hostName")?, HostName::new)?;
    let addrs = c
        .many(DOMAIN, "hostAddr", UNBOUNDED)?
        .into_iter()
        .map(crate::command::common::ip_addr)
        .collect::<Result<_, _>>()?;
    c.finish()?;
    Ok(HostAttr { name, addrs })
}

pub(super) fn encode_info(w: &mut XmlWriter, d: &DomainInfoData) {
    w.open("domain:infData", &[("xmlns:domain", DOMAIN)]);
    w.leaf("domain:name", &[], d.name.as_ref());
    w.leaf("domain:roid", &[], d.roid.as_str());
    for s in d.statuses.iter().take(MAX_STATUS) {
        encode_status(w, "domain:status", s.status.as_str(), &s.lang, &s.reason);
    }
    if let Some(r) = &d.registrant {
        w.leaf("domain:registrant", &[], r.as_str());
    }
    for c in &d.contacts {
        w.leaf(
            "domain:contact",
            &[("type", c.contact_type.as_str())],
            c.id.as_str(),
        );
    }
    if let Some(ns) = d.ns.as_ref().filter(|ns| !ns.is_empty()) {
        encode_ns(w, ns);
    }
    for h in &d.hosts {
        w.leaf("domain:host", &[], h.as_str());
    }
    w.leaf("domain:clID", &[], d.cl_id.as_str());
    if let Some(id) = &d.cr_id {
        w.leaf("domain:crID", &[], id.as_str());
    }
    if let Some(t) = &d.cr_date {
        w.leaf_display("domain:crDate", datetime(t));
    }
    if let Some(id) = &d.up_id {
        w.leaf("domain:upID", &[], id.as_str());
    }
    if let Some(t) = &d.up_date {
        w.leaf_display("domain:upDate", datetime(t));
    }
    if let Some(t) = &d.ex_date {
        w.leaf_display("domain:exDate", datetime(t));
    }
    if let Some(t) = &d.tr_date {
        w.leaf_display("domain:trDate", datetime(t));
    }
    if let Some(a) = &d.auth_info {
        encode_auth_info(w, "domain:authInfo", "domain:pw", a);
    }
    w.close("domain:infData");
}

fn encode_ns(w: &mut XmlWriter, ns: &NameServers) {
    w.open("domain:ns", &[]);
    match ns {
        NameServers::HostObj(hosts) => {
            for h in hosts {
                w.leaf("domain:hostObj", &[], h.as_str());
            }
        }
        NameServers::HostAttr(hosts) => {
            for h in hosts {
                w.open("domain:hostAttr", &[]);
                w.leaf("domain:hostName", &[], h.name.as_ref());
                for a in &h.addrs {
                    crate::command::common::encode_ip(w, "domain:hostAddr", a);
                }
                w.close("domain:hostAttr");
            }
        }
    }
    w.close("domain:ns");
}

pub(super) fn decode_create(el: &Element) -> Result<DomainCreateData, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let name = parse::value(c.required(DOMAIN, "name")?, HostName::new)?;
    let cr_date = parse::datetime(c.required(DOMAIN, "crDate")?)?;
    let ex_date = c
        .optional(DOMAIN, "exDate")
        .map(parse::datetime)
        .transpose()?;
    c.finish()?;
    Ok(DomainCreateData {
        name,
        cr_date,
        ex_date,
    })
}

pub(super) fn encode_create(w: &mut XmlWriter, d: &DomainCreateData) {
    w.open("domain:creData", &[("xmlns:domain", DOMAIN)]);
    w.leaf("domain:name", &[], d.name.as_ref());
    w.leaf_display("domain:crDate", datetime(&d.cr_date));
    if let Some(t) = &d.ex_date {
        w.leaf_display("domain:exDate", datetime(t));
    }
    w.close("domain:creData");
}

pub(super) fn decode_renew(el: &Element) -> Result<DomainRenewData, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let name = parse::value(c.required(DOMAIN, "name")?, HostName::new)?;
    let ex_date = c
        .optional(DOMAIN, "exDate")
        .map(parse::datetime)
        .transpose()?;
    c.finish()?;
    Ok(DomainRenewData { name, ex_date })
}

pub(super) fn encode_renew(w: &mut XmlWriter, d: &DomainRenewData) {
    w.open("domain:renData", &[("xmlns:domain", DOMAIN)]);
    w.leaf("domain:name", &[], d.name.as_ref());
    if let Some(t) = &d.ex_date {
        w.leaf_display("domain:exDate", datetime(t));
    }
    w.close("domain:renData");
}
