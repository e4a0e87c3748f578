//! Human output: the result code and message first, then one block per object in the RFCs'
//! own terms (`name`, `roid`, `status`, `registrant`, contacts by type, `ns`, `ds`, dates),
//! keys aligned; lists (check, poll) as aligned tables. Colour codes are always written here;
//! the output stream drops them unless it is a terminal and `NO_COLOR` is unset (anstream).

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use epp_proto::contact::{ContactInfoData, DiscloseField, Phone};
use epp_proto::domain::{ContactType, DomainInfoData, NameServers, PendingActionData};
use epp_proto::ext::sec_dns::{DsOrKeyData, SecDnsInfoData};
use epp_proto::ext::ResponseExtension;
use epp_proto::greeting::{DcpExpiry, DcpRecipient};
use epp_proto::host::HostInfoData;
use epp_proto::response::{MsgQ, TrId};
use epp_proto::{CheckItem, Greeting, Response, ResponseData, StatusEntry, TransferData};

use crate::json::{time, Show};

const KEY: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const OK: Style = AnsiColor::Green.on_default().bold();
const FAIL: Style = AnsiColor::Red.on_default().bold();
const HEAD: Style = Style::new().bold().underline();

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// `key  value` lines with the keys padded to one width.
#[derive(Default)]
struct Block {
    rows: Vec<(String, String)>,
}

impl Block {
    fn row(&mut self, key: &str, value: impl Into<String>) {
        self.rows.push((key.to_owned(), value.into()));
    }

    fn opt(&mut self, key: &str, value: Option<impl Into<String>>) {
        if let Some(v) = value {
            self.row(key, v);
        }
    }

    /// A row only when the list is not empty, the items joined on one line.
    fn list(&mut self, key: &str, items: Vec<String>) {
        if !items.is_empty() {
            self.row(key, items.join(", "));
        }
    }

    /// A row per item (name servers, DS records: too many or too long to share a line); the
    /// key is written on the first only.
    fn each(&mut self, key: &str, items: Vec<String>) {
        for i in items {
            self.row(key, i);
        }
    }

    fn write(&self, out: &mut String) {
        let width = self
            .rows
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        let mut prev: Option<&str> = None;
        for (k, v) in &self.rows {
            if prev == Some(k.as_str()) {
                // A continuation of the same key (one DS record, name server, URI a line).
                let _ = writeln!(out, "{}  {v}", " ".repeat(width));
            } else {
                let pad = width - k.chars().count();
                let _ = writeln!(out, "{}{}  {v}", paint(KEY, k), " ".repeat(pad));
            }
            prev = Some(k);
        }
    }
}

/// An aligned table with a header row; the last column is not padded.
fn table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>, style: Option<Style>| {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let text = match style {
                Some(st) => paint(st, c),
                None => c.clone(),
            };
            s.push_str(&text);
            if i < last {
                s.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        s.trim_end().to_owned()
    };
    let _ = writeln!(
        out,
        "{}",
        line(head.iter().map(|h| (*h).to_owned()).collect(), Some(HEAD))
    );
    for r in rows {
        let _ = writeln!(out, "{}", line(r.clone(), None));
    }
}

fn statuses<S: Copy>(list: &[StatusEntry<S>], token: fn(S) -> &'static str) -> Vec<String> {
    list.iter()
        .map(|e| match &e.reason {
            Some(r) => format!("{} ({r})", token(e.status)),
            None => token(e.status).to_owned(),
        })
        .collect()
}

fn result_lines(r: &Response, out: &mut String) {
    for res in &r.results {
        let code = res.code.code();
        let style = if res.code.is_success() { OK } else { FAIL };
        let _ = writeln!(out, "{} {}", paint(style, &code.to_string()), res.msg);
        // The offending elements, indented under their result.
        for v in &res.values {
            let _ = writeln!(out, "  {}   {} = {}", paint(KEY, "value"), v.name, v.text);
        }
        for v in &res.ext_values {
            let _ = writeln!(
                out,
                "  {}  {} = {}: {}",
                paint(KEY, "reason"),
                v.value.name,
                v.value.text,
                v.reason
            );
        }
    }
}

fn msg_q(q: &MsgQ, out: &mut String) {
    table(
        out,
        &["id", "qDate", "count", "msg"],
        &[vec![
            q.id.as_str().to_owned(),
            q.q_date.as_ref().map(time).unwrap_or_default(),
            q.count.to_string(),
            q.msg.clone().unwrap_or_default(),
        ]],
    );
}

fn check(items: &[CheckItem], key: &str, out: &mut String) {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                if c.available { "yes" } else { "no" }.to_owned(),
                c.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(out, &[key, "avail", "reason"], &rows);
}

fn ns(b: &mut Block, n: &NameServers) {
    match n {
        NameServers::HostObj(v) => b.each("ns", v.iter().map(|h| h.to_string()).collect()),
        NameServers::HostAttr(v) => b.each(
            "ns",
            v.iter()
                .map(|h| {
                    let addrs: Vec<String> = h.addrs.iter().map(|a| a.to_string()).collect();
                    if addrs.is_empty() {
                        h.name.to_string()
                    } else {
                        format!("{} ({})", h.name, addrs.join(", "))
                    }
                })
                .collect(),
        ),
    }
}

/// DS and key records as in a zone file: `KEYTAG ALG DIGESTTYPE DIGEST`, `FLAGS PROTO ALG KEY`.
fn sec_dns(b: &mut Block, i: &SecDnsInfoData) {
    match &i.data {
        DsOrKeyData::Ds(v) => b.each(
            "ds",
            v.iter()
                .map(|d| format!("{} {} {} {}", d.key_tag, d.alg, d.digest_type, d.digest))
                .collect(),
        ),
        DsOrKeyData::Key(v) => b.each(
            "keyData",
            v.iter()
                .map(|k| format!("{} {} {} {}", k.flags, k.protocol, k.alg, k.pub_key))
                .collect(),
        ),
    }
    b.opt("maxSigLife", i.max_sig_life.map(|s| s.to_string()));
}

fn domain_info(d: &DomainInfoData, exts: &[ResponseExtension], show: Show) -> Block {
    let mut b = Block::default();
    b.row("name", d.name.to_string());
    b.row("roid", d.roid.to_string());
    b.list("status", statuses(&d.statuses, |s| s.as_str()));
    for e in exts {
        if let ResponseExtension::RgpInfo(r) = e {
            b.list(
                "rgpStatus",
                r.statuses.iter().map(|s| s.as_str().to_owned()).collect(),
            );
        }
    }
    b.opt("registrant", d.registrant.as_ref().map(|r| r.to_string()));
    for t in ContactType::ALL {
        b.list(
            t.as_str(),
            d.contacts
                .iter()
                .filter(|c| c.contact_type == t)
                .map(|c| c.id.to_string())
                .collect(),
        );
    }
    if let Some(n) = &d.ns {
        ns(&mut b, n);
    }
    for e in exts {
        if let ResponseExtension::SecDnsInfo(i) = e {
            sec_dns(&mut b, i);
        }
    }
    b.each("host", d.hosts.iter().map(|h| h.to_string()).collect());
    b.row("clID", d.cl_id.to_string());
    b.opt("crID", d.cr_id.as_ref().map(|v| v.to_string()));
    b.opt("crDate", d.cr_date.as_ref().map(time));
    b.opt("upID", d.up_id.as_ref().map(|v| v.to_string()));
    b.opt("upDate", d.up_date.as_ref().map(time));
    b.opt("exDate", d.ex_date.as_ref().map(time));
    b.opt("trDate", d.tr_date.as_ref().map(time));
    if show.secrets {
        b.opt(
            "authInfo",
            d.auth_info.as_ref().map(|a| a.expose().to_owned()),
        );
    }
    b
}

fn host_info(h: &HostInfoData) -> Block {
    let mut b = Block::default();
    b.row("name", h.name.to_string());
    b.row("roid", h.roid.to_string());
    b.list("status", statuses(&h.statuses, |s| s.as_str()));
    b.list("addr", h.addrs.iter().map(|a| a.to_string()).collect());
    b.row("clID", h.cl_id.to_string());
    b.row("crID", h.cr_id.to_string());
    b.row("crDate", time(&h.cr_date));
    b.opt("upID", h.up_id.as_ref().map(|v| v.to_string()));
    b.opt("upDate", h.up_date.as_ref().map(time));
    b.opt("trDate", h.tr_date.as_ref().map(time));
    b
}

fn phone(p: &Phone) -> String {
    match &p.ext {
        Some(x) => format!("{} x{x}", p.number),
        None => p.number.clone(),
    }
}

fn contact_info(c: &ContactInfoData, show: Show) -> Block {
    let mut b = Block::default();
    b.row("id", c.id.to_string());
    b.row("roid", c.roid.to_string());
    b.list("status", statuses(&c.statuses, |s| s.as_str()));
    for p in &c.postal_info {
        let t = p.info_type.as_str();
        b.row(&format!("name ({t})"), p.name.clone());
        b.opt(&format!("org ({t})"), p.org.clone());
        // Streets, the city, "sp pc", the country code.
        let mut addr: Vec<String> = p.addr.street.clone();
        addr.push(p.addr.city.clone());
        let region: Vec<&str> = [&p.addr.sp, &p.addr.pc]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !region.is_empty() {
            addr.push(region.join(" "));
        }
        addr.push(p.addr.cc.clone());
        b.row(&format!("addr ({t})"), addr.join(", "));
    }
    b.opt("voice", c.voice.as_ref().map(phone));
    b.opt("fax", c.fax.as_ref().map(phone));
    b.row("email", c.email.clone());
    b.row("clID", c.cl_id.to_string());
    b.row("crID", c.cr_id.to_string());
    b.row("crDate", time(&c.cr_date));
    b.opt("upID", c.up_id.as_ref().map(|v| v.to_string()));
    b.opt("upDate", c.up_date.as_ref().map(time));
    b.opt("trDate", c.tr_date.as_ref().map(time));
    if show.secrets {
        b.opt(
            "authInfo",
            c.auth_info.as_ref().map(|a| a.expose().to_owned()),
        );
    }
    if let Some(d) = &c.disclose {
        let fields: Vec<String> = d
            .fields
            .iter()
            .map(|f| match f {
                DiscloseField::Name(t) => format!("name ({})", t.as_str()),
                DiscloseField::Org(t) => format!("org ({})", t.as_str()),
                DiscloseField::Addr(t) => format!("addr ({})", t.as_str()),
                DiscloseField::Voice => "voice".into(),
                DiscloseField::Fax => "fax".into(),
                DiscloseField::Email => "email".into(),
            })
            .collect();
        let verb = if d.flag { "disclose" } else { "hide" };
        b.row("disclose", format!("{verb}: {}", fields.join(", ")));
    }
    b
}

fn transfer(t: &TransferData, key: &str) -> Block {
    let mut b = Block::default();
    b.row(key, t.object.clone());
    b.row("trStatus", t.tr_status.as_str());
    b.row("reID", t.re_id.to_string());
    b.row("reDate", time(&t.re_date));
    b.row("acID", t.ac_id.to_string());
    b.row("acDate", time(&t.ac_date));
    b.opt("exDate", t.ex_date.as_ref().map(time));
    b
}

fn pending(p: &PendingActionData, key: &str) -> Block {
    let mut b = Block::default();
    b.row(key, p.object.clone());
    b.row("paResult", if p.pa_result { "approved" } else { "denied" });
    b.opt("paClTRID", p.pa_cl_trid.as_ref().map(|t| t.to_string()));
    b.row("paSvTRID", p.pa_sv_trid.to_string());
    b.row("paDate", time(&p.pa_date));
    b
}

/// `<changePoll:changeData>`, in the element names of RFC 8590.
fn change_data(b: &mut Block, c: &epp_proto::ext::change_poll::ChangeData) {
    let op = match &c.op {
        Some(op) => format!("{} ({op})", c.operation.as_str()),
        None => c.operation.as_str().to_owned(),
    };
    b.row("operation", op);
    b.row("date", time(&c.date));
    b.row("svTRID", c.sv_trid.to_string());
    b.row("who", c.who.as_str());
    b.opt("reason", c.reason.as_ref().map(|r| r.as_str().to_owned()));
    b.row("state", c.state.as_str());
}

/// The readable form of a response.
pub fn response(r: &Response, show: Show) -> String {
    let mut out = String::new();
    result_lines(r, &mut out);
    if let Some(q) = &r.msg_q {
        msg_q(q, &mut out);
    }
    let mut block = Block::default();
    let mut extensions_shown = false;
    use ResponseData as R;
    match &r.res_data {
        None => {}
        Some(R::DomainCheck(v)) | Some(R::HostCheck(v)) => check(v, "name", &mut out),
        Some(R::ContactCheck(v)) => check(v, "id", &mut out),
        Some(R::DomainInfo(d)) => {
            block = domain_info(d, &r.extensions, show);
            extensions_shown = true;
        }
        Some(R::HostInfo(h)) => block = host_info(h),
        Some(R::ContactInfo(c)) => block = contact_info(c, show),
        Some(R::DomainCreate(c)) => {
            block.row("name", c.name.to_string());
            block.row("crDate", time(&c.cr_date));
            block.opt("exDate", c.ex_date.as_ref().map(time));
        }
        Some(R::HostCreate(c)) => {
            block.row("name", c.name.to_string());
            block.row("crDate", time(&c.cr_date));
        }
        Some(R::ContactCreate(c)) => {
            block.row("id", c.id.to_string());
            block.row("crDate", time(&c.cr_date));
        }
        Some(R::DomainRenew(d)) => {
            block.row("name", d.name.to_string());
            block.opt("exDate", d.ex_date.as_ref().map(time));
        }
        Some(R::DomainTransfer(t)) => block = transfer(t, "name"),
        Some(R::ContactTransfer(t)) => block = transfer(t, "id"),
        Some(R::DomainPending(p)) | Some(R::HostPending(p)) => block = pending(p, "name"),
        Some(R::ContactPending(p)) => block = pending(p, "id"),
    }
    if !extensions_shown {
        for e in &r.extensions {
            match e {
                ResponseExtension::SecDnsInfo(i) => sec_dns(&mut block, i),
                ResponseExtension::RgpInfo(i) => block.list(
                    "rgpStatus",
                    i.statuses.iter().map(|s| s.as_str().to_owned()).collect(),
                ),
                ResponseExtension::RgpUpdate(u) => block.list(
                    "rgpStatus",
                    u.statuses.iter().map(|s| s.as_str().to_owned()).collect(),
                ),
                ResponseExtension::RegistryLock(l) => {
                    block.row(
                        "lock",
                        format!("request {} to {} {}", l.id, l.op.as_str(), l.name),
                    );
                    block.row("state", l.state.as_str());
                }
                ResponseExtension::LoginSec(d) => {
                    for e in &d.events {
                        block.row("loginSec", login_event(e));
                    }
                }
                ResponseExtension::ChangePoll(_) => {}
            }
        }
    }
    // A change poll message's changeData follows the object it is about (RFC 8590).
    for e in &r.extensions {
        if let ResponseExtension::ChangePoll(c) = e {
            change_data(&mut block, c);
        }
    }
    block.write(&mut out);
    tr_id(&r.tr_id, &mut out);
    out.trim_end().to_owned()
}

/// One loginSec event on one line: `warning stat failedLogins=3: 3 failed logins …`.
pub fn login_event(e: &epp_proto::ext::login_sec::Event) -> String {
    let mut head = format!("{} {}", e.level.as_str(), e.kind.as_str());
    match (&e.name, &e.value) {
        (Some(n), Some(v)) => head.push_str(&format!(" {n}={v}")),
        (Some(n), None) => head.push_str(&format!(" {n}")),
        (None, Some(v)) => head.push_str(&format!(" {v}")),
        (None, None) => {}
    }
    if let Some(t) = e.ex_date {
        head.push_str(&format!(" exDate={}", t.format("%Y-%m-%dT%H:%M:%SZ")));
    }
    format!("{head}: {}", e.text)
}

fn tr_id(t: &TrId, out: &mut String) {
    let mut parts = Vec::new();
    if let Some(c) = &t.cl_trid {
        parts.push(format!("clTRID {c}"));
    }
    if let Some(s) = &t.sv_trid {
        parts.push(format!("svTRID {s}"));
    }
    if !parts.is_empty() {
        let _ = writeln!(out, "{}", paint(DIM, &parts.join("  ")));
    }
}

/// The greeting, as `hello` prints it.
pub fn greeting(g: &Greeting) -> String {
    let mut b = Block::default();
    b.row("svID", g.sv_id.clone());
    b.row("svDate", time(&g.sv_date));
    b.list("version", g.versions.clone());
    b.list("lang", g.langs.clone());
    b.each("objURI", g.obj_uris.clone());
    b.each("extURI", g.ext_uris.clone());
    b.row("access", g.dcp.access.as_str());
    for st in &g.dcp.statements {
        let recipients: Vec<String> = st
            .recipients
            .iter()
            .map(|r| match r {
                DcpRecipient::Other => "other".to_owned(),
                DcpRecipient::Ours(None) => "ours".to_owned(),
                DcpRecipient::Ours(Some(d)) => format!("ours ({d})"),
                DcpRecipient::Public => "public".to_owned(),
                DcpRecipient::Same => "same".to_owned(),
                DcpRecipient::Unrelated => "unrelated".to_owned(),
            })
            .collect();
        let purposes: Vec<&str> = st.purposes.iter().map(|p| p.as_str()).collect();
        b.row(
            "statement",
            format!(
                "purpose {}; recipient {}; retention {}",
                purposes.join(", "),
                recipients.join(", "),
                st.retention.as_str()
            ),
        );
    }
    match &g.dcp.expiry {
        Some(DcpExpiry::Absolute(t)) => b.row("expiry", time(t)),
        Some(DcpExpiry::Relative(d)) => b.row("expiry", d.clone()),
        None => {}
    }
    let mut out = String::new();
    b.write(&mut out);
    out.trim_end().to_owned()
}

/// The batch summary: one row per result code (and per kind of local failure).
pub fn summary(rows: &[(String, u64, String)], footer: &str) -> String {
    let mut out = String::new();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(code, n, what)| vec![code.clone(), n.to_string(), what.clone()])
        .collect();
    table(&mut out, &["code", "count", "msg"], &cells);
    let _ = writeln!(out, "{footer}");
    out.trim_end().to_owned()
}

/// Replaces the text of every `pw` and `newPW` element (any prefix: `<pw>`, `<domain:pw>`)
/// with `***`, for `--xml` output without `--show-secrets`.
pub fn mask_passwords(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        let Some(gt) = rest.find('>') else { break };
        let tag = &rest[1..gt];
        out.push_str(&rest[..=gt]);
        rest = &rest[gt + 1..];
        let name = tag.split_whitespace().next().unwrap_or("");
        let local = name.rsplit(':').next().unwrap_or(name);
        if (local == "pw" || local == "newPW") && !tag.ends_with('/') && !tag.starts_with('/') {
            if let Some(end) = rest.find('<') {
                if end > 0 {
                    out.push_str("***");
                }
                rest = &rest[end..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use epp_proto::ResultCode;

    fn plain(s: &str) -> String {
        let mut out = Vec::new();
        let mut w = anstream::StripStream::new(&mut out);
        std::io::Write::write_all(&mut w, s.as_bytes()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn passwords_are_masked_in_xml() {
        let xml = r#"<login><clID>demo</clID><pw>s3cret!x</pw><newPW>n3w-pass</newPW></login><domain:authInfo><domain:pw roid="X-1">abc</domain:pw><domain:pw/></domain:authInfo><pwd>ok</pwd>"#;
        let m = mask_passwords(xml);
        assert_eq!(
            m,
            r#"<login><clID>demo</clID><pw>***</pw><newPW>***</newPW></login><domain:authInfo><domain:pw roid="X-1">***</domain:pw><domain:pw/></domain:authInfo><pwd>ok</pwd>"#
        );
    }

    #[test]
    fn check_is_a_table_after_the_result() {
        let mut r = Response::from_code(ResultCode::Success, TrId::default());
        r.res_data = Some(ResponseData::DomainCheck(vec![
            CheckItem {
                name: "a.test".into(),
                available: true,
                reason: None,
            },
            CheckItem {
                name: "longer-name.test".into(),
                available: false,
                reason: Some("In use".into()),
            },
        ]));
        let t = plain(&response(&r, Show::default()));
        assert_eq!(
            t,
            "1000 Command completed successfully\n\
             name              avail  reason\n\
             a.test            yes\n\
             longer-name.test  no     In use"
        );
    }
}
