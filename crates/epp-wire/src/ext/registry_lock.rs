//! registryLock-1.0, this project's extension (`schemas/registryLock-1.0.xsd`):
//! `<rl:lock/>` and `<rl:unlock duration="…"/>` in a `<domain:update>`'s `<extension>`,
//! `<rl:reqData>` (request id, domain, op, state) in the 1001 answer.
//!
//! The `duration` attribute is the subset of `xs:duration` the registry accepts
//! (`P[nD][T[nH][nM][nS]]`, at most 30 days); anything else is a syntax error (2001).

use epp_proto::ext::registry_lock::{
    LockOp, LockRequestState, RegistryLockCommand, RegistryLockData, UnlockDuration, NS,
};
use epp_proto::HostName;

use crate::command::values::{invalid, leaf, only_attrs, token, WS};
use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{no_text, value, Children};
use crate::xml::XmlWriter;

pub(crate) fn decode_lock(el: &Element) -> Result<RegistryLockCommand, DecodeError> {
    no_text(el)?;
    only_attrs(el, &[])?;
    Children::new(el).finish()?;
    Ok(RegistryLockCommand::Lock)
}

pub(crate) fn decode_unlock(el: &Element) -> Result<RegistryLockCommand, DecodeError> {
    no_text(el)?;
    only_attrs(el, &["duration"])?;
    Children::new(el).finish()?;
    let duration = match el.attr("duration") {
        None => None,
        Some(d) => {
            let d = d.trim_matches(WS);
            Some(UnlockDuration::parse(d).ok_or_else(|| {
                invalid(
                    el,
                    format!("duration {d:?} is not P[nD][T[nH][nM][nS]] of at most 30 days"),
                )
            })?)
        }
    };
    Ok(RegistryLockCommand::Unlock { duration })
}

pub(crate) fn decode_req_data(el: &Element) -> Result<RegistryLockData, DecodeError> {
    no_text(el)?;
    only_attrs(el, &[])?;
    let mut c = Children::new(el);
    let id_el = leaf(c.required(NS, "id")?)?;
    let name_el = leaf(c.required(NS, "name")?)?;
    let op_el = leaf(c.required(NS, "op")?)?;
    let state_el = leaf(c.required(NS, "state")?)?;
    c.finish()?;
    let id_text = token(id_el)?;
    let id = id_text
        .parse::<u64>()
        .map_err(|_| invalid(id_el, format!("id {id_text:?} is not a number")))?;
    let name = value(name_el, HostName::new(&token(name_el)?))?;
    let op_text = token(op_el)?;
    let op = LockOp::from_token(&op_text)
        .ok_or_else(|| invalid(op_el, format!("unknown op {op_text:?}")))?;
    let st_text = token(state_el)?;
    let state = LockRequestState::from_token(&st_text)
        .ok_or_else(|| invalid(state_el, format!("unknown state {st_text:?}")))?;
    Ok(RegistryLockData {
        id,
        name,
        op,
        state,
    })
}

pub(crate) fn encode_command(w: &mut XmlWriter, v: &RegistryLockCommand) {
    match v {
        RegistryLockCommand::Lock => {
            w.empty("rl:lock", &[("xmlns:rl", NS)]);
        }
        RegistryLockCommand::Unlock { duration: None } => {
            w.empty("rl:unlock", &[("xmlns:rl", NS)]);
        }
        RegistryLockCommand::Unlock { duration: Some(d) } => {
            w.empty(
                "rl:unlock",
                &[("xmlns:rl", NS), ("duration", &d.to_xs_duration())],
            );
        }
    }
}

pub(crate) fn encode_req_data(w: &mut XmlWriter, v: &RegistryLockData) {
    w.open("rl:reqData", &[("xmlns:rl", NS)]);
    w.leaf_display("rl:id", v.id);
    w.leaf("rl:name", &[], v.name.as_ref());
    w.leaf("rl:op", &[], v.op.as_str());
    w.leaf("rl:state", &[], v.state.as_str());
    w.close("rl:reqData");
}
