//! `--json`: a stable, versioned output schema in the RFCs' own names.
//!
//! The schema is `schema/epp-cli-output.schema.json` (JSON Schema 2020-12) beside this crate;
//! every object printed carries `"schemaVersion": 1`. Keys are the XML element and attribute
//! names of RFC 5730-5733, 5910, 3915 and registryLock-1.0, camelCase as in the XML (`clTRID`,
//! `crDate`, `exDate`, `roid`); `resData` and `extension` hold one key per element, the
//! qualified name as the XML writes it (`domain:infData`, `secDNS:infData`). Timestamps are RFC
//! 3339 in UTC to the second. `authInfo` appears only with `--show-secrets`.
//!
//! Compatibility: within version 1, keys are only ever added, never renamed or removed, and
//! the type of a key never changes; anything else is version 2.

use epp_proto::contact::{ContactInfoData, Disclose, DiscloseField, Phone, PostalInfo};
use epp_proto::domain::{DomainInfoData, NameServers, PendingActionData};
use epp_proto::ext::sec_dns::{DsOrKeyData, KeyData};
use epp_proto::ext::ResponseExtension;
use epp_proto::greeting::{DcpExpiry, DcpRecipient};
use epp_proto::host::HostInfoData;
use epp_proto::response::{EppResult, MsgQ, TrId, ValueElement};
use epp_proto::{
    AuthInfo, CheckItem, Greeting, Response, ResponseData, StatusEntry, Timestamp, TransferData,
};
use serde_json::{json, Map, Value};

/// The version of the output schema; see the module doc for what may change within it.
pub const SCHEMA_VERSION: u64 = 1;

/// The schema itself, as shipped with the binary (`epp-cli schema` prints it).
pub const SCHEMA: &str = include_str!("../schema/epp-cli-output.schema.json");

/// What the output may show.
#[derive(Debug, Clone, Copy, Default)]
pub struct Show {
    /// Print `authInfo` passwords.
    pub secrets: bool,
}

/// RFC 3339, UTC, to the second.
pub fn time(t: &Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A map that leaves out absent values, so that optional keys are missing rather than null.
#[derive(Default)]
struct Obj(Map<String, Value>);

impl Obj {
    fn new() -> Self {
        Obj(Map::new())
    }

    fn put(mut self, key: &str, v: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), v.into());
        self
    }

    fn opt<T: Into<Value>>(mut self, key: &str, v: Option<T>) -> Self {
        if let Some(v) = v {
            self.0.insert(key.to_owned(), v.into());
        }
        self
    }

    /// Leaves out empty lists.
    fn list(mut self, key: &str, v: Vec<Value>) -> Self {
        if !v.is_empty() {
            self.0.insert(key.to_owned(), Value::Array(v));
        }
        self
    }

    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn s(v: impl AsRef<str>) -> Value {
    Value::String(v.as_ref().to_owned())
}

/// A whole response, as printed by one command.
pub fn response(r: &Response, show: Show) -> Value {
    let mut v = response_body(r, show);
    if let Value::Object(m) = &mut v {
        m.insert("schemaVersion".into(), SCHEMA_VERSION.into());
    }
    v
}

/// A response without `schemaVersion` (batch lines nest it).
pub fn response_body(r: &Response, show: Show) -> Value {
    let mut o = Obj::new().put("result", r.results.iter().map(result).collect::<Vec<_>>());
    if let Some(q) = &r.msg_q {
        o = o.put("msgQ", msg_q(q));
    }
    if let Some(d) = &r.res_data {
        let (key, v) = res_data(d, show);
        o = o.put("resData", json!({ key: v }));
    }
    if !r.extensions.is_empty() {
        let mut m = Map::new();
        for e in &r.extensions {
            let (key, v) = extension(e);
            m.insert(key.into(), v);
        }
        o = o.put("extension", Value::Object(m));
    }
    o.put("trID", tr_id(&r.tr_id)).done()
}

fn result(r: &EppResult) -> Value {
    Obj::new()
        .put("code", r.code.code())
        .put("msg", s(&r.msg))
        .opt("lang", r.lang.as_deref().map(s))
        .list("value", r.values.iter().map(value_element).collect())
        .list(
            "extValue",
            r.ext_values
                .iter()
                .map(|e| {
                    Obj::new()
                        .put("value", value_element(&e.value))
                        .put("reason", s(&e.reason))
                        .opt("lang", e.lang.as_deref().map(s))
                        .done()
                })
                .collect(),
        )
        .done()
}

fn value_element(v: &ValueElement) -> Value {
    json!({ "namespace": v.namespace, "element": v.name, "text": v.text })
}

fn msg_q(q: &MsgQ) -> Value {
    Obj::new()
        .put("count", q.count)
        .put("id", s(q.id.as_str()))
        .opt("qDate", q.q_date.as_ref().map(time))
        .opt("msg", q.msg.as_deref().map(s))
        .opt("lang", q.lang.as_deref().map(s))
        .done()
}

fn tr_id(t: &TrId) -> Value {
    Obj::new()
        .opt("clTRID", t.cl_trid.as_ref().map(|v| s(v.as_str())))
        .opt("svTRID", t.sv_trid.as_ref().map(|v| s(v.as_str())))
        .done()
}

fn statuses<S: Copy>(list: &[StatusEntry<S>], token: fn(S) -> &'static str) -> Vec<Value> {
    list.iter()
        .map(|e| {
            Obj::new()
                .put("s", token(e.status))
                .opt("lang", e.lang.as_deref().map(s))
                .opt("text", e.reason.as_deref().map(s))
                .done()
        })
        .collect()
}

fn auth_info(a: &AuthInfo, show: Show) -> Option<Value> {
    show.secrets.then(|| {
        Obj::new()
            .put("pw", s(a.expose()))
            .opt("roid", a.roid.as_ref().map(|r| s(r.as_str())))
            .done()
    })
}

fn check(items: &[CheckItem], key: &str) -> Value {
    let cd: Vec<Value> = items
        .iter()
        .map(|c| {
            Obj::new()
                .put(key, s(&c.name))
                .put("avail", c.available)
                .opt("reason", c.reason.as_deref().map(s))
                .done()
        })
        .collect();
    json!({ "cd": cd })
}

fn addr(ip: &std::net::IpAddr) -> Value {
    json!({ "ip": if ip.is_ipv4() { "v4" } else { "v6" }, "addr": ip.to_string() })
}

fn ns(n: &NameServers) -> Value {
    match n {
        NameServers::HostObj(v) => {
            json!({ "hostObj": v.iter().map(|h| h.as_str()).collect::<Vec<_>>() })
        }
        NameServers::HostAttr(v) => json!({
            "hostAttr": v.iter().map(|h| json!({
                "hostName": h.name.as_str(),
                "hostAddr": h.addrs.iter().map(addr).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()
        }),
    }
}

fn domain_info(d: &DomainInfoData, show: Show) -> Value {
    Obj::new()
        .put("name", s(d.name.as_str()))
        .put("roid", s(d.roid.as_str()))
        .list("status", statuses(&d.statuses, |v| v.as_str()))
        .opt("registrant", d.registrant.as_ref().map(|r| s(r.as_str())))
        .list(
            "contact",
            d.contacts
                .iter()
                .map(|c| json!({ "type": c.contact_type.as_str(), "id": c.id.as_str() }))
                .collect(),
        )
        .opt("ns", d.ns.as_ref().map(ns))
        .list("host", d.hosts.iter().map(|h| s(h.as_str())).collect())
        .put("clID", s(d.cl_id.as_str()))
        .opt("crID", d.cr_id.as_ref().map(|v| s(v.as_str())))
        .opt("crDate", d.cr_date.as_ref().map(time))
        .opt("upID", d.up_id.as_ref().map(|v| s(v.as_str())))
        .opt("upDate", d.up_date.as_ref().map(time))
        .opt("exDate", d.ex_date.as_ref().map(time))
        .opt("trDate", d.tr_date.as_ref().map(time))
        .opt(
            "authInfo",
            d.auth_info.as_ref().and_then(|a| auth_info(a, show)),
        )
        .done()
}

fn host_info(h: &HostInfoData) -> Value {
    Obj::new()
        .put("name", s(h.name.as_str()))
        .put("roid", s(h.roid.as_str()))
        .list("status", statuses(&h.statuses, |v| v.as_str()))
        .list("addr", h.addrs.iter().map(addr).collect())
        .put("clID", s(h.cl_id.as_str()))
        .put("crID", s(h.cr_id.as_str()))
        .put("crDate", time(&h.cr_date))
        .opt("upID", h.up_id.as_ref().map(|v| s(v.as_str())))
        .opt("upDate", h.up_date.as_ref().map(time))
        .opt("trDate", h.tr_date.as_ref().map(time))
        .done()
}

fn postal_info(p: &PostalInfo) -> Value {
    Obj::new()
        .put("type", p.info_type.as_str())
        .put("name", s(&p.name))
        .opt("org", p.org.as_deref().map(s))
        .put(
            "addr",
            Obj::new()
                .list("street", p.addr.street.iter().map(s).collect())
                .put("city", s(&p.addr.city))
                .opt("sp", p.addr.sp.as_deref().map(s))
                .opt("pc", p.addr.pc.as_deref().map(s))
                .put("cc", s(&p.addr.cc))
                .done(),
        )
        .done()
}

fn phone(p: &Phone) -> Value {
    Obj::new()
        .put("number", s(&p.number))
        .opt("x", p.ext.as_deref().map(s))
        .done()
}

fn disclose(d: &Disclose) -> Value {
    let fields: Vec<Value> = d
        .fields
        .iter()
        .map(|f| match f {
            DiscloseField::Name(t) => json!({ "element": "name", "type": t.as_str() }),
            DiscloseField::Org(t) => json!({ "element": "org", "type": t.as_str() }),
            DiscloseField::Addr(t) => json!({ "element": "addr", "type": t.as_str() }),
            DiscloseField::Voice => json!({ "element": "voice" }),
            DiscloseField::Fax => json!({ "element": "fax" }),
            DiscloseField::Email => json!({ "element": "email" }),
        })
        .collect();
    json!({ "flag": d.flag, "fields": fields })
}

fn contact_info(c: &ContactInfoData, show: Show) -> Value {
    Obj::new()
        .put("id", s(c.id.as_str()))
        .put("roid", s(c.roid.as_str()))
        .list("status", statuses(&c.statuses, |v| v.as_str()))
        .list(
            "postalInfo",
            c.postal_info.iter().map(postal_info).collect(),
        )
        .opt("voice", c.voice.as_ref().map(phone))
        .opt("fax", c.fax.as_ref().map(phone))
        .put("email", s(&c.email))
        .put("clID", s(c.cl_id.as_str()))
        .put("crID", s(c.cr_id.as_str()))
        .put("crDate", time(&c.cr_date))
        .opt("upID", c.up_id.as_ref().map(|v| s(v.as_str())))
        .opt("upDate", c.up_date.as_ref().map(time))
        .opt("trDate", c.tr_date.as_ref().map(time))
        .opt(
            "authInfo",
            c.auth_info.as_ref().and_then(|a| auth_info(a, show)),
        )
        .opt("disclose", c.disclose.as_ref().map(disclose))
        .done()
}

fn transfer(t: &TransferData, key: &str) -> Value {
    Obj::new()
        .put(key, s(&t.object))
        .put("trStatus", t.tr_status.as_str())
        .put("reID", s(t.re_id.as_str()))
        .put("reDate", time(&t.re_date))
        .put("acID", s(t.ac_id.as_str()))
        .put("acDate", time(&t.ac_date))
        .opt("exDate", t.ex_date.as_ref().map(time))
        .done()
}

fn pending(p: &PendingActionData, key: &str) -> Value {
    Obj::new()
        .put(key, s(&p.object))
        .put("paResult", p.pa_result)
        .put(
            "paTRID",
            Obj::new()
                .opt("clTRID", p.pa_cl_trid.as_ref().map(|v| s(v.as_str())))
                .put("svTRID", s(p.pa_sv_trid.as_str()))
                .done(),
        )
        .put("paDate", time(&p.pa_date))
        .done()
}

/// The qualified element name of a `<resData>` child and its content.
fn res_data(d: &ResponseData, show: Show) -> (&'static str, Value) {
    use ResponseData as R;
    match d {
        R::DomainCheck(v) => ("domain:chkData", check(v, "name")),
        R::HostCheck(v) => ("host:chkData", check(v, "name")),
        R::ContactCheck(v) => ("contact:chkData", check(v, "id")),
        R::DomainInfo(d) => ("domain:infData", domain_info(d, show)),
        R::HostInfo(h) => ("host:infData", host_info(h)),
        R::ContactInfo(c) => ("contact:infData", contact_info(c, show)),
        R::DomainCreate(c) => (
            "domain:creData",
            Obj::new()
                .put("name", s(c.name.as_str()))
                .put("crDate", time(&c.cr_date))
                .opt("exDate", c.ex_date.as_ref().map(time))
                .done(),
        ),
        R::HostCreate(c) => (
            "host:creData",
            json!({ "name": c.name.as_str(), "crDate": time(&c.cr_date) }),
        ),
        R::ContactCreate(c) => (
            "contact:creData",
            json!({ "id": c.id.as_str(), "crDate": time(&c.cr_date) }),
        ),
        R::DomainRenew(r) => (
            "domain:renData",
            Obj::new()
                .put("name", s(r.name.as_str()))
                .opt("exDate", r.ex_date.as_ref().map(time))
                .done(),
        ),
        R::DomainTransfer(t) => ("domain:trnData", transfer(t, "name")),
        R::ContactTransfer(t) => ("contact:trnData", transfer(t, "id")),
        R::DomainPending(p) => ("domain:panData", pending(p, "name")),
        R::HostPending(p) => ("host:panData", pending(p, "name")),
        R::ContactPending(p) => ("contact:panData", pending(p, "id")),
    }
}

fn key_data(k: &KeyData) -> Value {
    json!({ "flags": k.flags, "protocol": k.protocol, "alg": k.alg, "pubKey": k.pub_key })
}

fn ds_or_key(d: &DsOrKeyData) -> (&'static str, Value) {
    match d {
        DsOrKeyData::Ds(v) => (
            "dsData",
            Value::Array(
                v.iter()
                    .map(|ds| {
                        Obj::new()
                            .put("keyTag", ds.key_tag)
                            .put("alg", ds.alg)
                            .put("digestType", ds.digest_type)
                            .put("digest", s(&ds.digest))
                            .opt("keyData", ds.key_data.as_ref().map(key_data))
                            .done()
                    })
                    .collect(),
            ),
        ),
        DsOrKeyData::Key(v) => ("keyData", Value::Array(v.iter().map(key_data).collect())),
    }
}

fn rgp_statuses(list: &[epp_proto::ext::rgp::RgpStatus]) -> Value {
    Value::Array(list.iter().map(|r| json!({ "s": r.as_str() })).collect())
}

/// The qualified element name of an `<extension>` child and its content.
fn extension(e: &ResponseExtension) -> (&'static str, Value) {
    match e {
        ResponseExtension::SecDnsInfo(i) => {
            let (key, data) = ds_or_key(&i.data);
            let mut o = Obj::new().opt("maxSigLife", i.max_sig_life);
            o = o.put(key, data);
            ("secDNS:infData", o.done())
        }
        ResponseExtension::RgpInfo(i) => (
            "rgp:infData",
            json!({ "rgpStatus": rgp_statuses(&i.statuses) }),
        ),
        ResponseExtension::RgpUpdate(u) => (
            "rgp:upData",
            json!({ "rgpStatus": rgp_statuses(&u.statuses) }),
        ),
        ResponseExtension::RegistryLock(l) => (
            "rl:reqData",
            json!({ "id": l.id, "name": l.name.as_str(), "op": l.op.as_str(), "state": l.state.as_str() }),
        ),
        ResponseExtension::LoginSec(d) => (
            "loginSec:loginSecData",
            json!({ "event": d.events.iter().map(|e| {
                Obj::new()
                    .put("type", json!(e.kind.as_str()))
                    .put("level", json!(e.level.as_str()))
                    .opt("name", e.name.clone())
                    .opt("exDate", e.ex_date.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
                    .opt("value", e.value.clone())
                    .opt("duration", e.duration.clone())
                    .put("text", json!(e.text))
                    .done()
            }).collect::<Vec<_>>() }),
        ),
        ResponseExtension::ChangePoll(c) => (
            "changePoll:changeData",
            Obj::new()
                .put("state", s(c.state.as_str()))
                .put("operation", s(c.operation.as_str()))
                .opt("op", c.op.as_deref().map(s))
                .put("date", time(&c.date))
                .put("svTRID", s(c.sv_trid.as_str()))
                .put("who", s(c.who.as_str()))
                .opt("reason", c.reason.as_ref().map(|r| s(r.as_str())))
                .done(),
        ),
    }
}

/// The greeting, as `hello` prints it.
pub fn greeting(g: &Greeting) -> Value {
    let statements: Vec<Value> = g
        .dcp
        .statements
        .iter()
        .map(|st| {
            json!({
                "purpose": st.purposes.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                "recipient": st.recipients.iter().map(recipient).collect::<Vec<_>>(),
                "retention": st.retention.as_str(),
            })
        })
        .collect();
    let mut dcp = Obj::new()
        .put("access", g.dcp.access.as_str())
        .put("statement", statements);
    if let Some(e) = &g.dcp.expiry {
        dcp = dcp.put(
            "expiry",
            match e {
                DcpExpiry::Absolute(t) => json!({ "absolute": time(t) }),
                DcpExpiry::Relative(d) => json!({ "relative": d }),
            },
        );
    }
    json!({
        "schemaVersion": SCHEMA_VERSION,
        "greeting": {
            "svID": g.sv_id,
            "svDate": time(&g.sv_date),
            "svcMenu": {
                "version": g.versions,
                "lang": g.langs,
                "objURI": g.obj_uris,
                "svcExtension": { "extURI": g.ext_uris },
            },
            "dcp": dcp.done(),
        }
    })
}

fn recipient(r: &DcpRecipient) -> Value {
    match r {
        DcpRecipient::Other => json!({ "type": "other" }),
        DcpRecipient::Ours(desc) => Obj::new()
            .put("type", "ours")
            .opt("recDesc", desc.as_deref().map(s))
            .done(),
        DcpRecipient::Public => json!({ "type": "public" }),
        DcpRecipient::Same => json!({ "type": "same" }),
        DcpRecipient::Unrelated => json!({ "type": "unrelated" }),
    }
}

/// A failure that is not an EPP answer (bad arguments, lost connection), for `--json`.
pub fn error(kind: &str, message: &str) -> Value {
    json!({ "schemaVersion": SCHEMA_VERSION, "error": { "kind": kind, "message": message } })
}

/// One line of `batch --json`: where it came from and what happened.
pub fn batch_line(line: usize, input: &str, outcome: Result<Value, (&str, &str)>) -> Value {
    let mut o = Obj::new()
        .put("schemaVersion", SCHEMA_VERSION)
        .put("line", line as u64)
        .put("input", s(input));
    o = match outcome {
        Ok(response) => o.put("response", response),
        Err((kind, message)) => o.put("error", json!({ "kind": kind, "message": message })),
    };
    o.done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use epp_proto::ResultCode;

    #[test]
    fn times_are_to_the_second_and_optional_keys_are_left_out() {
        let t: Timestamp = "2025-03-04T05:06:07.123456789Z".parse().unwrap();
        assert_eq!(time(&t), "2025-03-04T05:06:07Z");
        let r = Response::from_code(ResultCode::Success, TrId::default());
        let v = response(&r, Show::default());
        assert_eq!(v["schemaVersion"], 1);
        assert_eq!(v["result"][0]["code"], 1000);
        assert!(v["result"][0].get("value").is_none(), "{v}");
        assert!(v.get("resData").is_none(), "{v}");
        assert_eq!(v["trID"], json!({}));
    }

    #[test]
    fn the_schema_is_json() {
        let v: Value = serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(v["properties"]["schemaVersion"]["const"], SCHEMA_VERSION);
    }
}
