//! `<host:infData>` and `<host:creData>` (RFC 5732 section 3).

use epp_proto::host::{HostCreateData, HostInfoData, HostStatus};
use epp_proto::ns::HOST;
use epp_proto::{ClientId, HostName, Roid};

use super::parse::{self, UNBOUNDED};
use super::{decode_status, encode_status};
use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{no_text, Children};
use crate::xml::{datetime, XmlWriter};

/// `host:infDataType` has 1-7 statuses.
const MAX_STATUS: usize = 7;

pub(super) fn decode_info(el: &Element) -> Result<HostInfoData, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let name = parse::value(c.required(HOST, "name")?, HostName::new)?;
    let roid = parse::value(c.required(HOST, "roid")?, Roid::new)?;
    let statuses = parse::one_or_more(&mut c, HOST, "status", MAX_STATUS)?
        .into_iter()
        .map(|s| decode_status(s, HostStatus::from_token))
        .collect::<Result<_, _>>()?;
    let addrs = c
        .many(HOST, "addr", UNBOUNDED)?
        .into_iter()
        .map(crate::command::common::ip_addr)
        .collect::<Result<_, _>>()?;
    let cl_id = parse::value(c.required(HOST, "clID")?, ClientId::new)?;
    let cr_id = parse::value(c.required(HOST, "crID")?, ClientId::new)?;
    let cr_date = parse::datetime(c.required(HOST, "crDate")?)?;
    let up_id = c
        .optional(HOST, "upID")
        .map(|e| parse::value(e, ClientId::new))
        .transpose()?;
    let up_date = c
        .optional(HOST, "upDate")
        .map(parse::datetime)
        .transpose()?;
    let tr_date = c
        .optional(HOST, "trDate")
        .map(parse::datetime)
        .transpose()?;
    c.finish()?;
    Ok(HostInfoData {
        name,
        roid,
        statuses,
        addrs,
        cl_id,
        cr_id,
        cr_date,
        up_id,
        up_date,
        tr_date,
    })
}

pub(super) fn encode_info(w: &mut XmlWriter, h: &HostInfoData) {
    w.open("host:infData", &[("xmlns:host", HOST)]);
    w.leaf("host:name", &[], h.name.as_ref());
    w.leaf("host:roid", &[], h.roid.as_str());
    if h.statuses.is_empty() {
        w.empty("host:status", &[("s", HostStatus::Ok.as_str())]);
    }
    for s in h.statuses.iter().take(MAX_STATUS) {
        encode_status(w, "host:status", s.status.as_str(), &s.lang, &s.reason);
    }
    for a in &h.addrs {
        crate::command::common::encode_ip(w, "host:addr", a);
    }
    w.leaf("host:clID", &[], h.cl_id.as_str());
    w.leaf("host:crID", &[], h.cr_id.as_str());
    w.leaf_display("host:crDate", datetime(&h.cr_date));
    if let Some(id) = &h.up_id {
        w.leaf("host:upID", &[], id.as_str());
    }
    if let Some(t) = &h.up_date {
        w.leaf_display("host:upDate", datetime(t));
    }
    if let Some(t) = &h.tr_date {
        w.leaf_display("host:trDate", datetime(t));
    }
    w.close("host:infData");
}

pub(super) fn decode_create(el: &Element) -> Result<HostCreateData, DecodeError> {
    no_text(el)?;
    let mut c = Children::new(el);
    let name = parse::value(c.required(HOST, "name")?, HostName::new)?;
    let cr_date = parse::datetime(c.required(HOST, "crDate")?)?;
    c.finish()?;
    Ok(HostCreateData { name, cr_date })
}

pub(super) fn encode_create(w: &mut XmlWriter, h: &HostCreateData) {
    w.open("host:creData", &[("xmlns:host", HOST)]);
    w.leaf("host:name", &[], h.name.as_ref());
    w.leaf_display("host:crDate", datetime(&h.cr_date));
    w.close("host:creData");
}
