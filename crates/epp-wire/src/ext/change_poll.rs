//! changePoll-1.0 (RFC 8590): `<changePoll:changeData>` in a poll message's `<extension>`.

use epp_proto::ext::change_poll::{ChangeData, ChangeState, Operation, Reason, Who, NS};
use epp_proto::SvTrid;

use crate::command::values::{datetime, invalid, leaf, leaf_with, only_attrs, token};
use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{no_text, value, Children};
use crate::xml::{self, XmlWriter};

pub(crate) fn decode_change_data(el: &Element) -> Result<ChangeData, DecodeError> {
    no_text(el)?;
    only_attrs(el, &["state"])?;
    let state = match el.attr("state") {
        None => ChangeState::After,
        Some(s) => ChangeState::from_token(s.trim())
            .ok_or_else(|| invalid(el, format!("unknown state {s:?}")))?,
    };
    let mut c = Children::new(el);
    let op_el = leaf_with(c.required(NS, "operation")?, &["op"])?;
    let date_el = c.required(NS, "date")?;
    let sv_el = leaf(c.required(NS, "svTRID")?)?;
    let who_el = leaf(c.required(NS, "who")?)?;
    // The case identifier (UDRP, URS) is read and not kept: this registry has none.
    if let Some(case) = c.optional(NS, "caseId") {
        leaf_with(case, &["type", "name"])?;
    }
    let reason_el = c.optional(NS, "reason");
    c.finish()?;
    let op_text = epp_proto::value::collapse_whitespace(&op_el.text);
    let operation = Operation::from_token(&op_text)
        .ok_or_else(|| invalid(op_el, format!("unknown operation {op_text:?}")))?;
    let op = op_el.attr("op").map(|s| s.trim().to_owned());
    let sv_trid = value(sv_el, SvTrid::new(&token(sv_el)?))?;
    let who = value(who_el, Who::new(who_el.trimmed_text()))?;
    let reason = match reason_el {
        None => None,
        Some(r) => {
            only_attrs(r, &["lang"])?;
            Some(value(r, Reason::new(r.trimmed_text()))?)
        }
    };
    Ok(ChangeData {
        state,
        operation,
        op,
        date: datetime(date_el)?,
        sv_trid,
        who,
        reason,
    })
}

pub(crate) fn encode_change_data(w: &mut XmlWriter, v: &ChangeData) {
    w.open(
        "changePoll:changeData",
        &[("xmlns:changePoll", NS), ("state", v.state.as_str())],
    );
    match &v.op {
        Some(op) => w.leaf("changePoll:operation", &[("op", op)], v.operation.as_str()),
        None => w.leaf("changePoll:operation", &[], v.operation.as_str()),
    };
    w.leaf_display("changePoll:date", xml::datetime(&v.date));
    w.leaf("changePoll:svTRID", &[], v.sv_trid.as_str());
    w.leaf("changePoll:who", &[], v.who.as_str());
    if let Some(r) = &v.reason {
        w.leaf("changePoll:reason", &[], r.as_str());
    }
    w.close("changePoll:changeData");
}
