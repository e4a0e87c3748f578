//! The host mapping (RFC 5732) commands. There is no host renew or transfer.

use epp_proto::host::*;
use epp_proto::ns::HOST;

use super::common::*;
use super::values::container;
use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::Children;
use crate::xml::XmlWriter;

/// Decodes `<host:{command}>`.
pub(crate) fn decode(command: &str, el: &Element) -> Result<HostCommand, DecodeError> {
    expect_name(el, command)?;
    container(el, &[])?;
    let mut c = Children::new(el);
    let out = match command {
        "check" => {
            let names = c.many(HOST, "name", MAX_CHECK)?;
            if names.is_empty() {
                c.required(HOST, "name")?;
            }
            HostCommand::Check(names.into_iter().map(label).collect::<Result<_, _>>()?)
        }
        "info" => HostCommand::Info(host_name(c.required(HOST, "name")?, &[])?),
        "create" => {
            let name = host_name(c.required(HOST, "name")?, &[])?;
            let addrs = c
                .many(HOST, "addr", MAX_ADDRS)?
                .into_iter()
                .map(ip_addr)
                .collect::<Result<_, _>>()?;
            HostCommand::Create(HostCreate { name, addrs })
        }
        "delete" => HostCommand::Delete(host_name(c.required(HOST, "name")?, &[])?),
        "update" => {
            let name = host_name(c.required(HOST, "name")?, &[])?;
            let add = c
                .optional(HOST, "add")
                .map(add_rem)
                .transpose()?
                .unwrap_or_default();
            let rem = c
                .optional(HOST, "rem")
                .map(add_rem)
                .transpose()?
                .unwrap_or_default();
            let new_name = match c.optional(HOST, "chg") {
                Some(chg) => {
                    container(chg, &[])?;
                    let mut cc = Children::new(chg);
                    let new = host_name(cc.required(HOST, "name")?, &[])?;
                    cc.finish()?;
                    Some(new)
                }
                None => None,
            };
            HostCommand::Update(HostUpdate {
                name,
                add,
                rem,
                new_name,
            })
        }
        other => return Err(DecodeError::UnknownCommand(format!("host:{other}"))),
    };
    c.finish()?;
    Ok(out)
}

fn add_rem(el: &Element) -> Result<HostAddRem, DecodeError> {
    container(el, &[])?;
    let mut c = Children::new(el);
    let addrs = c
        .many(HOST, "addr", MAX_ADDRS)?
        .into_iter()
        .map(ip_addr)
        .collect::<Result<_, _>>()?;
    let statuses = c
        .many(HOST, "status", 7)?
        .into_iter()
        .map(|s| status(s, HostStatus::from_token))
        .collect::<Result<_, _>>()?;
    c.finish()?;
    Ok(HostAddRem { addrs, statuses })
}

/// The `<command>` child a host command sits in.
pub(crate) fn cmd_name(cmd: &HostCommand) -> &'static str {
    match cmd {
        HostCommand::Check(_) => "check",
        HostCommand::Info(_) => "info",
        HostCommand::Create(_) => "create",
        HostCommand::Delete(_) => "delete",
        HostCommand::Update(_) => "update",
    }
}

pub(crate) fn encode(w: &mut XmlWriter, cmd: &HostCommand) {
    let root = format!("host:{}", cmd_name(cmd));
    w.open(&root, &[("xmlns:host", HOST)]);
    match cmd {
        HostCommand::Check(names) => {
            for name in names {
                w.leaf("host:name", &[], name.as_str());
            }
        }
        HostCommand::Info(name) | HostCommand::Delete(name) => {
            w.leaf("host:name", &[], name.as_str());
        }
        HostCommand::Create(c) => {
            w.leaf("host:name", &[], c.name.as_ref());
            for a in &c.addrs {
                encode_ip(w, "host:addr", a);
            }
        }
        HostCommand::Update(u) => {
            w.leaf("host:name", &[], u.name.as_ref());
            for (name, v) in [("host:add", &u.add), ("host:rem", &u.rem)] {
                if v.is_empty() {
                    continue;
                }
                w.open(name, &[]);
                for a in &v.addrs {
                    encode_ip(w, "host:addr", a);
                }
                for s in &v.statuses {
                    encode_status(w, "host:status", s.status.as_str(), s);
                }
                w.close(name);
            }
            if let Some(new) = &u.new_name {
                w.open("host:chg", &[])
                    .leaf("host:name", &[], new.as_str())
                    .close("host:chg");
            }
        }
    }
    w.close(&root);
}
