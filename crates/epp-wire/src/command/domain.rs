//! The domain mapping (RFC 5731) commands.

use epp_proto::common::{ContactId, TransferOp};
use epp_proto::domain::*;
use epp_proto::ns::DOMAIN;

use super::common::*;
use super::values::{container, date, invalid, leaf_with, token};
use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{attr, value, Children};
use crate::xml::XmlWriter;

const P: &str = "domain";

fn n(name: &str) -> String {
    format!("{P}:{name}")
}

/// Decodes `<domain:{command}>`; `op` is the `<transfer>` operation.
pub(crate) fn decode(
    command: &str,
    el: &Element,
    op: Option<TransferOp>,
) -> Result<DomainCommand, DecodeError> {
    expect_name(el, command)?;
    container(el, &[])?;
    let mut c = Children::new(el);
    let out = match (command, op) {
        ("check", _) => {
            let names = c.many(DOMAIN, "name", MAX_CHECK)?;
            if names.is_empty() {
                c.required(DOMAIN, "name")?;
            }
            DomainCommand::Check(names.into_iter().map(label).collect::<Result<_, _>>()?)
        }
        ("info", _) => {
            let name_el = c.required(DOMAIN, "name")?;
            let name = host_name(name_el, &["hosts"])?;
            let hosts = match name_el.attr("hosts") {
                None => HostsFilter::All,
                Some(h) => {
                    let h = h.trim_matches([' ', '\t', '\r', '\n']);
                    HostsFilter::from_token(h).ok_or_else(|| {
                        invalid(
                            name_el,
                            format!("hosts must be all, del, sub or none, got {h:?}"),
                        )
                    })?
                }
            };
            let auth_info = c
                .optional(DOMAIN, "authInfo")
                .map(|a| auth_info(a, DOMAIN))
                .transpose()?;
            DomainCommand::Info(DomainInfo {
                name,
                hosts,
                auth_info,
            })
        }
        ("create", _) => {
            let name = host_name(c.required(DOMAIN, "name")?, &[])?;
            let period = c.optional(DOMAIN, "period").map(period).transpose()?;
            let ns = c.optional(DOMAIN, "ns").map(name_servers).transpose()?;
            let registrant = c
                .optional(DOMAIN, "registrant")
                .map(contact_id)
                .transpose()?;
            let contacts = contacts(&mut c)?;
            let auth_info = auth_info(c.required(DOMAIN, "authInfo")?, DOMAIN)?;
            DomainCommand::Create(DomainCreate {
                name,
                period,
                ns,
                registrant,
                contacts,
                auth_info,
            })
        }
        ("delete", _) => DomainCommand::Delete(host_name(c.required(DOMAIN, "name")?, &[])?),
        ("renew", _) => {
            let name = host_name(c.required(DOMAIN, "name")?, &[])?;
            let cur = c.required(DOMAIN, "curExpDate")?;
            leaf_with(cur, &[])?;
            let cur_exp_date = date(cur)?;
            let period = c.optional(DOMAIN, "period").map(period).transpose()?;
            DomainCommand::Renew(DomainRenew {
                name,
                cur_exp_date,
                period,
            })
        }
        ("transfer", Some(op)) => {
            let name = host_name(c.required(DOMAIN, "name")?, &[])?;
            let period = c.optional(DOMAIN, "period").map(period).transpose()?;
            let auth_info = c
                .optional(DOMAIN, "authInfo")
                .map(|a| auth_info(a, DOMAIN))
                .transpose()?;
            DomainCommand::Transfer(DomainTransfer {
                op,
                name,
                period,
                auth_info,
            })
        }
        ("update", _) => {
            let name = host_name(c.required(DOMAIN, "name")?, &[])?;
            let add = c
                .optional(DOMAIN, "add")
                .map(add_rem)
                .transpose()?
                .unwrap_or_default();
            let rem = c
                .optional(DOMAIN, "rem")
                .map(add_rem)
                .transpose()?
                .unwrap_or_default();
            let chg = c.optional(DOMAIN, "chg").map(chg).transpose()?;
            DomainCommand::Update(DomainUpdate {
                name,
                add,
                rem,
                chg,
            })
        }
        _ => return Err(DecodeError::UnknownCommand(n(command))),
    };
    c.finish()?;
    Ok(out)
}

fn contact_id(el: &Element) -> Result<ContactId, DecodeError> {
    let el = leaf_with(el, &[])?;
    value(el, ContactId::new(&el.text))
}

fn contacts(c: &mut Children<'_>) -> Result<Vec<DomainContact>, DecodeError> {
    c.many(DOMAIN, "contact", MAX_CONTACTS)?
        .into_iter()
        .map(|el| {
            let el = leaf_with(el, &["type"])?;
            let t = attr(el, "type")?.trim_matches([' ', '\t', '\r', '\n']);
            let contact_type = ContactType::from_token(t).ok_or_else(|| {
                invalid(
                    el,
                    format!("contact type must be admin, billing or tech, got {t:?}"),
                )
            })?;
            let id = value(el, ContactId::new(&el.text))?;
            Ok(DomainContact { contact_type, id })
        })
        .collect()
}

/// `<domain:ns>`: `hostObj+` or `hostAttr+`, at most [`NameServers::MAX`].
fn name_servers(el: &Element) -> Result<NameServers, DecodeError> {
    container(el, &[])?;
    let mut c = Children::new(el);
    let objs = c.many(DOMAIN, "hostObj", NameServers::MAX)?;
    let out = if !objs.is_empty() {
        NameServers::HostObj(
            objs.into_iter()
                .map(|o| host_name(o, &[]))
                .collect::<Result<_, _>>()?,
        )
    } else {
        let attrs = c.many(DOMAIN, "hostAttr", NameServers::MAX)?;
        if attrs.is_empty() {
            return Err(match c.next_any() {
                Some(other) => DecodeError::UnexpectedElement {
                    parent: el.label(),
                    element: other.label(),
                },
                None => DecodeError::MissingElement {
                    parent: el.label(),
                    element: n("hostObj"),
                },
            });
        }
        NameServers::HostAttr(attrs.into_iter().map(host_attr).collect::<Result<_, _>>()?)
    };
    // A hostObj after hostAttr (or the reverse) lands here: the schema's choice forbids mixing.
    c.finish()?;
    Ok(out)
}

fn host_attr(el: &Element) -> Result<HostAttr, DecodeError> {
    container(el, &[])?;
    let mut c = Children::new(el);
    let name = host_name(c.required(DOMAIN, "hostName")?, &[])?;
    let addrs = c
        .many(DOMAIN, "hostAddr", MAX_ADDRS)?
        .into_iter()
        .map(ip_addr)
        .collect::<Result<_, _>>()?;
    c.finish()?;
    Ok(HostAttr { name, addrs })
}

fn add_rem(el: &Element) -> Result<DomainAddRem, DecodeError> {
    container(el, &[])?;
    let mut c = Children::new(el);
    let ns = c.optional(DOMAIN, "ns").map(name_servers).transpose()?;
    let contacts = contacts(&mut c)?;
    let statuses = c
        .many(DOMAIN, "status", 11)?
        .into_iter()
        .map(|s| status(s, DomainStatus::from_token))
        .collect::<Result<_, _>>()?;
    c.finish()?;
    Ok(DomainAddRem {
        ns,
        contacts,
        statuses,
    })
}

fn chg(el: &Element) -> Result<DomainChg, DecodeError> {
    container(el, &[])?;
    let mut c = Children::new(el);
    let registrant = match c.optional(DOMAIN, "registrant") {
        // `domain:clIDChgType`: the empty value removes the registrant.
        Some(r) if token(r)?.is_empty() => Some(None),
        Some(r) => Some(Some(contact_id(r)?)),
        None => None,
    };
    let auth_info = match c.optional(DOMAIN, "authInfo") {
        Some(a) => {
            container(a, &[])?;
            let mut ac = Children::new(a);
            let out = if let Some(null) = ac.optional(DOMAIN, "null") {
                leaf_with(null, &[])?;
                crate::read::no_text(null)?;
                AuthInfoChange::Remove
            } else {
                AuthInfoChange::Set(pw_value(ac.required(DOMAIN, "pw")?)?)
            };
            ac.finish()?;
            Some(out)
        }
        None => None,
    };
    c.finish()?;
    Ok(DomainChg {
        registrant,
        auth_info,
    })
}

pub(crate) fn encode(w: &mut XmlWriter, cmd: &DomainCommand) {
    let root = n(cmd_name(cmd));
    w.open(&root, &[("xmlns:domain", DOMAIN)]);
    match cmd {
        DomainCommand::Check(names) => {
            for name in names {
                w.leaf("domain:name", &[], name.as_str());
            }
        }
        DomainCommand::Info(i) => {
            w.leaf(
                "domain:name",
                &[("hosts", i.hosts.as_str())],
                i.name.as_ref(),
            );
            if let Some(a) = &i.auth_info {
                encode_auth_info(w, P, a);
            }
        }
        DomainCommand::Create(c) => {
            w.leaf("domain:name", &[], c.name.as_ref());
            if let Some(p) = c.period {
                encode_period(w, P, p);
            }
            if let Some(ns) = &c.ns {
                encode_ns(w, ns);
            }
            if let Some(r) = &c.registrant {
                w.leaf("domain:registrant", &[], r.as_str());
            }
            encode_contacts(w, &c.contacts);
            encode_auth_info(w, P, &c.auth_info);
        }
        DomainCommand::Delete(name) => {
            w.leaf("domain:name", &[], name.as_str());
        }
        DomainCommand::Renew(r) => {
            w.leaf("domain:name", &[], r.name.as_ref());
            w.leaf_display("domain:curExpDate", r.cur_exp_date.format("%Y-%m-%d"));
            if let Some(p) = r.period {
                encode_period(w, P, p);
            }
        }
        DomainCommand::Transfer(t) => {
            w.leaf("domain:name", &[], t.name.as_ref());
            if let Some(p) = t.period {
                encode_period(w, P, p);
            }
            if let Some(a) = &t.auth_info {
                encode_auth_info(w, P, a);
            }
        }
        DomainCommand::Update(u) => {
            w.leaf("domain:name", &[], u.name.as_ref());
            encode_add_rem(w, "domain:add", &u.add);
            encode_add_rem(w, "domain:rem", &u.rem);
            if let Some(chg) = &u.chg {
                w.open("domain:chg", &[]);
                match &chg.registrant {
                    Some(Some(r)) => {
                        w.leaf("domain:registrant", &[], r.as_str());
                    }
                    Some(None) => {
                        w.empty("domain:registrant", &[]);
                    }
                    None => {}
                }
                match &chg.auth_info {
                    Some(AuthInfoChange::Set(a)) => encode_auth_info(w, P, a),
                    Some(AuthInfoChange::Remove) => {
                        w.open("domain:authInfo", &[])
                            .empty("domain:null", &[])
                            .close("domain:authInfo");
                    }
                    None => {}
                }
                w.close("domain:chg");
            }
        }
    }
    w.close(&root);
}

/// The `<command>` child a domain command sits in.
pub(crate) fn cmd_name(cmd: &DomainCommand) -> &'static str {
    match cmd {
        DomainCommand::Check(_) => "check",
        DomainCommand::Info(_) => "info",
        DomainCommand::Create(_) => "create",
        DomainCommand::Delete(_) => "delete",
        DomainCommand::Renew(_) => "renew",
        DomainCommand::Transfer(_) => "transfer",
        DomainCommand::Update(_) => "update",
    }
}

fn encode_ns(w: &mut XmlWriter, ns: &NameServers) {
    w.open("domain:ns", &[]);
    match ns {
        NameServers::HostObj(v) => {
            for h in v {
                w.leaf("domain:hostObj", &[], h.as_str());
            }
        }
        NameServers::HostAttr(v) => {
            for h in v {
                w.open("domain:hostAttr", &[]);
                w.leaf("domain:hostName", &[], h.name.as_ref());
                for a in &h.addrs {
                    encode_ip(w, "domain:hostAddr", a);
                }
                w.close("domain:hostAttr");
            }
        }
    }
    w.close("domain:ns");
}

fn encode_contacts(w: &mut XmlWriter, contacts: &[DomainContact]) {
    for c in contacts {
        w.leaf(
            "domain:contact",
            &[("type", c.contact_type.as_str())],
            c.id.as_str(),
        );
    }
}

fn encode_add_rem(w: &mut XmlWriter, name: &str, v: &DomainAddRem) {
    if v.is_empty() {
        return;
    }
    w.open(name, &[]);
    if let Some(ns) = v.ns.as_ref().filter(|ns| !ns.is_empty()) {
        encode_ns(w, ns);
    }
    encode_contacts(w, &v.contacts);
    for s in &v.statuses {
        encode_status(w, "domain:status", s.status.as_str(), s);
    }
    w.close(name);
}
