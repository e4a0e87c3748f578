//! Conformance against the inputs of ICANN's Registry System Tests (RST v2.0) for EPP,
//! filed by RST case (epp-07, epp-09, epp-11, epp-13, epp-14, epp-16).
//!
//! The tables are the repository's copies in `tests/fixtures/rst/` (byte-for-byte copies of
//! `../shared/rst-epp-data/`, tag v2026.05). Each data row is expanded the way ICANN's rules say
//! (empty cell = the cell above, `{EMPTY}`, `{AUTO}`, `{PREVIOUS}`, `RANDCHARS(n)`, `&`), built
//! into the command the RST would send, and decoded:
//!
//! * every `pass` row must decode;
//! * every `fail` row must be listed in the case's table below, either as [`Expect::Refuse`]
//!   (the parser refuses it, with that result code, naming that element) or as
//!   [`Expect::Policy`] — the skip list: the frame is valid syntax, the parser accepts it (this
//!   is asserted, so the list cannot go stale), and a later layer must refuse it; the reason
//!   says which and why.
//!
//! A row added to a CSV without an entry here fails the test.

// Test code: helpers outside #[test] fns unwrap on fixtures and generated values.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;

use epp_proto::ResultCode;
use epp_wire::decode;

use Expect::*;

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The parser refuses: result code and the element (label) the error names.
    Refuse(ResultCode, &'static str),
    /// Valid syntax; the named layer must refuse. The parser must accept it.
    Policy(&'static str),
}

const SYNTAX: ResultCode = ResultCode::ParameterValueSyntaxError; // 2005
const RANGE: ResultCode = ResultCode::ParameterValueRangeError; // 2004

// ---------------------------------------------------------------------------------------------
// Reading the tables.

/// The tables are RFC 4180 CSV (quoted fields hold commas, doubled quotes and line breaks);
/// rows may have fewer fields than the header.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| {
            r.expect("well-formed CSV")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

/// One expanded data row: column name -> computed value.
#[derive(Debug, Clone)]
struct Row {
    /// 1-based number among the data rows.
    n: usize,
    raw: String,
    values: HashMap<String, String>,
    pass: bool,
    error_code: String,
}

impl Row {
    fn get(&self, col: &str) -> &str {
        self.values
            .get(col)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("row {}: no column {col}", self.n))
    }
}

/// Deterministic "random" characters, different for every call.
struct Rand(u64);

impl Rand {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn from(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789ABCDEF";

/// A syntactically valid value for `{AUTO}` in a column.
fn auto(col: &str, rand: &mut Rand) -> String {
    match col {
        "id" => format!("auto{}", rand.from(LOWER_ALNUM, 8)),
        "postalInfoType" => "int".into(),
        "name" => "Jane Doe".into(),
        "org" => "Example Inc.".into(),
        "street1" | "street2" | "street3" => "123 Example Dr.".into(),
        "city" => "Dulles".into(),
        "sp" => "VA".into(),
        "pc" => "20166-6503".into(),
        "cc" => "US".into(),
        "voice" => "+1.7035555555".into(),
        "fax" => "+1.7035555556".into(),
        "voiceExt" | "faxExt" => "1234".into(),
        "email" => "jdoe@example.com".into(),
        "authInfo" => "2fooBAR".into(),
        "registrant" => "jd1234".into(),
        "keyTag" => (rand.next() % 65536).to_string(),
        other => panic!("no {{AUTO}} value for column {other}"),
    }
}

/// Evaluates `{"a" & RANDCHARS(3) & $TLD}` style expressions.
fn evaluate(
    expr: &str,
    col: &str,
    prev: &HashMap<String, String>,
    row: &HashMap<String, String>,
    rand: &mut Rand,
) -> String {
    let Some(inner) = expr.strip_prefix('{').and_then(|e| e.strip_suffix('}')) else {
        return expr.to_owned();
    };
    match inner {
        "EMPTY" => return String::new(),
        "AUTO" => return auto(col, rand),
        "PREVIOUS" => return prev.get(col).cloned().unwrap_or_default(),
        _ => {}
    }
    let mut out = String::new();
    for part in inner.split('&').map(str::trim) {
        let count = |p: &str, f: &str| p.strip_prefix(f)?.strip_suffix(')')?.parse::<usize>().ok();
        if let Some(s) = part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
            out.push_str(s);
        } else if let Some(n) = count(part, "RANDCHARS(").or_else(|| count(part, "RANDASCII(")) {
            out.push_str(&rand.from(ALNUM, n));
        } else if let Some(n) = count(part, "RANDHEX(") {
            out.push_str(&rand.from(HEX, n));
        } else {
            out.push_str(match part {
                "$TLD" => "example",
                "$PREFIX" => "rst-epp-14-",
                "$DOMAIN" => "rst-epp-16.example",
                "$name" => row
                    .get("name")
                    .map(String::as_str)
                    .unwrap_or_else(|| panic!("$name before name")),
                other => panic!("unknown term {other:?} in {expr}"),
            });
        }
    }
    out
}

fn load(file: &str) -> Vec<Row> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/rst")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows = parse_csv(&text);
    let header_at = rows
        .iter()
        .position(|r| r.iter().any(|c| c == "passOrFail"))
        .expect("header row");
    let header: Vec<String> = rows[header_at].clone();
    // The header is followed by a description row and a type row.
    let data = rows[header_at + 3..]
        .iter()
        .filter(|r| r.iter().any(|c| !c.trim().is_empty()));
    let mut rand = Rand(0x5eed);
    let mut above: Vec<String> = vec![String::new(); header.len()];
    let mut prev: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for (i, r) in data.enumerate() {
        let mut values = HashMap::new();
        let mut raw = Vec::new();
        for (c, name) in header.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            let cell = r.get(c).map(String::as_str).unwrap_or("");
            if !cell.is_empty() {
                above[c] = cell.to_owned();
                if name != "passOrFail" && name != "errorCode" {
                    raw.push(format!("{name}={cell}"));
                }
            }
            let v = evaluate(&above[c], name, &prev, &values, &mut rand);
            values.insert(name.clone(), v);
        }
        let pass = values["passOrFail"] == "pass";
        let error_code = values["errorCode"].clone();
        prev = values.clone();
        out.push(Row {
            n: i + 1,
            raw: raw.join(" "),
            values,
            pass,
            error_code,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Building the commands.

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn frame(body: &str, ext: &str) -> String {
    let ext = if ext.is_empty() {
        String::new()
    } else {
        format!("<extension>{ext}</extension>")
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>{body}{ext}<clTRID>RST-12345</clTRID></command></epp>"#
    )
}

const CONTACT: &str = r#"xmlns:contact="urn:ietf:params:xml:ns:contact-1.0""#;
const DOMAIN: &str = r#"xmlns:domain="urn:ietf:params:xml:ns:domain-1.0""#;
const HOST: &str = r#"xmlns:host="urn:ietf:params:xml:ns:host-1.0""#;
const SECDNS: &str = r#"xmlns:secDNS="urn:ietf:params:xml:ns:secDNS-1.1""#;

fn leaf(name: &str, v: &str) -> String {
    format!("<{name}>{}</{name}>", esc(v))
}

fn phone(name: &str, number: &str, ext: &str) -> String {
    let x = if ext.is_empty() {
        String::new()
    } else {
        format!(r#" x="{}""#, esc(ext))
    };
    format!("<{name}{x}>{}</{name}>", esc(number))
}

fn postal_info(r: &Row) -> String {
    let streets: String = ["street1", "street2", "street3"]
        .iter()
        .map(|s| leaf("contact:street", r.get(s)))
        .collect();
    format!(
        r#"<contact:postalInfo type="{}">{}{}<contact:addr>{streets}{}{}{}{}</contact:addr></contact:postalInfo>"#,
        esc(r.get("postalInfoType")),
        leaf("contact:name", r.get("name")),
        leaf("contact:org", r.get("org")),
        leaf("contact:city", r.get("city")),
        leaf("contact:sp", r.get("sp")),
        leaf("contact:pc", r.get("pc")),
        leaf("contact:cc", r.get("cc")),
    )
}

fn contact_create(r: &Row) -> String {
    frame(
        &format!(
            r#"<create><contact:create {CONTACT}>{}{}{}{}{}<contact:authInfo>{}</contact:authInfo></contact:create></create>"#,
            leaf("contact:id", r.get("id")),
            postal_info(r),
            phone("contact:voice", r.get("voice"), r.get("voiceExt")),
            phone("contact:fax", r.get("fax"), r.get("faxExt")),
            leaf("contact:email", r.get("email")),
            leaf("contact:pw", r.get("authInfo")),
        ),
        "",
    )
}

fn contact_update(chg: &str) -> String {
    frame(
        &format!(
            r#"<update><contact:update {CONTACT}><contact:id>rst09c1</contact:id><contact:chg>{chg}</contact:chg></contact:update></update>"#
        ),
        "",
    )
}

fn host_addr(name: &str, ip: &str, addr: &str) -> String {
    if ip.is_empty() && addr.is_empty() {
        return String::new();
    }
    let attr = if ip.is_empty() {
        String::new()
    } else {
        format!(r#" ip="{}""#, esc(ip))
    };
    format!("<{name}{attr}>{}</{name}>", esc(addr))
}

fn host_create(r: &Row) -> String {
    frame(
        &format!(
            r#"<create><host:create {HOST}>{}{}</host:create></create>"#,
            leaf("host:name", r.get("name")),
            host_addr("host:addr", r.get("ip"), r.get("addr"))
        ),
        "",
    )
}

fn host_update(r: &Row) -> String {
    let action = r.get("action");
    frame(
        &format!(
            r#"<update><host:update {HOST}><host:name>ns1.rst-epp-13.example</host:name><host:{action}>{}</host:{action}></host:update></update>"#,
            host_addr("host:addr", r.get("ip"), r.get("addr"))
        ),
        "",
    )
}

fn ds_data(r: &Row) -> String {
    format!(
        "<secDNS:dsData>{}{}{}{}</secDNS:dsData>",
        leaf("secDNS:keyTag", r.get("keyTag")),
        leaf("secDNS:alg", r.get("dsDataAlg")),
        leaf("secDNS:digestType", r.get("digestType")),
        leaf("secDNS:digest", r.get("digest")),
    )
}

fn key_data(r: &Row) -> String {
    format!(
        "<secDNS:keyData>{}{}{}{}</secDNS:keyData>",
        leaf("secDNS:flags", r.get("flags")),
        leaf("secDNS:protocol", r.get("protocol")),
        leaf("secDNS:alg", r.get("keyDataAlg")),
        leaf("secDNS:pubKey", r.get("pubKey")),
    )
}

fn dnssec_records(r: &Row) -> String {
    match r.get("secDNSInterface") {
        "keyData" => key_data(r),
        _ => ds_data(r), // "dsData" or "either"
    }
}

fn domain_create(r: &Row) -> String {
    let period = match r.get("period") {
        "" => String::new(),
        p => format!(
            r#"<domain:period unit="{}">{}</domain:period>"#,
            esc(r.get("periodUnit")),
            esc(p)
        ),
    };
    let attrs = r.get("hostModel") == "attributes";
    let ns: String = ["ns1", "ns2"]
        .iter()
        .filter(|n| !r.get(n).is_empty())
        .map(|n| {
            if attrs {
                format!(
                    "<domain:hostAttr>{}{}{}</domain:hostAttr>",
                    leaf("domain:hostName", r.get(n)),
                    host_addr(
                        "domain:hostAddr",
                        if r.get(&format!("{n}ipv4")).is_empty() {
                            ""
                        } else {
                            "v4"
                        },
                        r.get(&format!("{n}ipv4"))
                    ),
                    host_addr(
                        "domain:hostAddr",
                        if r.get(&format!("{n}ipv6")).is_empty() {
                            ""
                        } else {
                            "v6"
                        },
                        r.get(&format!("{n}ipv6"))
                    ),
                )
            } else {
                leaf("domain:hostObj", r.get(n))
            }
        })
        .collect();
    let ns = if ns.is_empty() {
        ns
    } else {
        format!("<domain:ns>{ns}</domain:ns>")
    };
    let registrant = match r.get("registrant") {
        "" => String::new(),
        id => leaf("domain:registrant", id),
    };
    frame(
        &format!(
            r#"<create><domain:create {DOMAIN}>{}{period}{ns}{registrant}<domain:contact type="admin">sh8013</domain:contact><domain:contact type="tech">sh8013</domain:contact><domain:authInfo><domain:pw>2fooBAR</domain:pw></domain:authInfo></domain:create></create>"#,
            leaf("domain:name", r.get("name")),
        ),
        &format!(
            "<secDNS:create {SECDNS}>{}</secDNS:create>",
            dnssec_records(r)
        ),
    )
}

fn domain_update(inner: &str, ext: &str) -> String {
    frame(
        &format!(
            r#"<update><domain:update {DOMAIN}><domain:name>rst-epp-16.example</domain:name>{inner}</domain:update></update>"#
        ),
        ext,
    )
}

fn domain_update_dnssec(r: &Row) -> String {
    let action = r.get("action");
    domain_update(
        "",
        &format!(
            "<secDNS:update {SECDNS}><secDNS:{action}>{}</secDNS:{action}></secDNS:update>",
            dnssec_records(r)
        ),
    )
}

fn domain_update_ns(r: &Row) -> String {
    let action = r.get("action");
    let ns = if r.get("hostModel") == "attributes" {
        format!(
            "<domain:hostAttr>{}{}</domain:hostAttr>",
            leaf("domain:hostName", r.get("hostname")),
            host_addr("domain:hostAddr", r.get("ipType"), r.get("ip"))
        )
    } else {
        leaf("domain:hostObj", r.get("hostname"))
    };
    domain_update(
        &format!("<domain:{action}><domain:ns>{ns}</domain:ns></domain:{action}>"),
        "",
    )
}

// ---------------------------------------------------------------------------------------------
// The check.

fn check(file: &str, build: fn(&Row) -> String, expected: &[(usize, Expect)]) {
    let rows = load(file);
    let mut problems = Vec::new();
    for (n, _) in expected {
        match rows.iter().find(|r| r.n == *n) {
            Some(r) if r.pass => {
                problems.push(format!("row {n} is a pass row; remove it from the table"))
            }
            Some(_) => {}
            None => problems.push(format!("row {n} does not exist")),
        }
    }
    for r in &rows {
        let xml = build(r);
        let got = decode(xml.as_bytes());
        let ctx = format!("{file} row {} [{}] ({})", r.n, r.raw, r.error_code);
        let expect = expected.iter().find(|(n, _)| *n == r.n).map(|(_, e)| *e);
        match (r.pass, expect, got) {
            (true, _, Ok(_)) => {}
            (true, _, Err(e)) => problems.push(format!("{ctx}: pass row refused: {e}\n{xml}")),
            (false, None, _) => {
                problems.push(format!("{ctx}: fail row with no expectation in the table"))
            }
            (false, Some(Policy(_)), Ok(_)) => {}
            (false, Some(Policy(why)), Err(e)) => problems.push(format!(
                "{ctx}: listed as policy ({why}) but the parser refuses it: {e}; move it to Refuse"
            )),
            (false, Some(Refuse(code, element)), Err(e)) => {
                if e.error.result_code() != code || !e.error.to_string().contains(element) {
                    problems.push(format!(
                        "{ctx}: expected {code:?} naming {element}, got {:?}: {}",
                        e.error.result_code(),
                        e.error
                    ));
                }
                if e.cl_trid.as_ref().map(|t| t.as_str()) != Some("RST-12345") {
                    problems.push(format!("{ctx}: clTRID not recovered"));
                }
            }
            (false, Some(Refuse(..)), Ok(f)) => {
                problems.push(format!("{ctx}: the parser accepted it: {f:?}"))
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn epp_07_contact_create() {
    check(
        "epp-07-data.csv",
        contact_create,
        &[
            (2, Refuse(SYNTAX, "contact:id")),  // empty id
            (3, Refuse(SYNTAX, "contact:id")),  // 17 characters
            (4, Refuse(SYNTAX, "contact:postalInfo")), // type="tni"
            (5, Refuse(SYNTAX, "contact:postalInfo")), // type=""
            (6, Refuse(SYNTAX, "contact:name")), // empty name
            (7, Refuse(SYNTAX, "contact:org")),  // 256 characters
            (8, Refuse(SYNTAX, "contact:city")), // empty city
            (9, Refuse(SYNTAX, "contact:cc")),   // empty cc
            (10, Refuse(SYNTAX, "contact:voice")), // empty voice in a create
            (11, Refuse(SYNTAX, "contact:email")), // empty email
            (12, Refuse(SYNTAX, "contact:org")),
            (13, Refuse(SYNTAX, "contact:street")),
            (14, Refuse(SYNTAX, "contact:city")),
            (15, Policy("cc XX: two letters, not an assigned ISO 3166 code; policy, registry-core")),
            (16, Refuse(SYNTAX, "contact:cc")), // U
            (17, Refuse(SYNTAX, "contact:cc")), // USA
            (18, Refuse(SYNTAX, "contact:voice")),
            (19, Refuse(SYNTAX, "contact:voice")),
            (20, Refuse(SYNTAX, "contact:voice")),
            (21, Refuse(SYNTAX, "contact:voice")),
            (22, Refuse(SYNTAX, "contact:voice")),
            (23, Refuse(SYNTAX, "contact:voice")),
            (24, Refuse(SYNTAX, "contact:voice")),
            (25, Refuse(SYNTAX, "contact:fax")),
            (26, Refuse(SYNTAX, "contact:fax")),
            (27, Refuse(SYNTAX, "contact:fax")),
            (28, Refuse(SYNTAX, "contact:fax")),
            (29, Refuse(SYNTAX, "contact:fax")),
            (30, Refuse(SYNTAX, "contact:fax")),
            (31, Refuse(SYNTAX, "contact:fax")),
            (32, Policy("email syntax (RFC 5322) is not in the XSD (minTokenType); policy, registry-core")),
            (33, Policy("email syntax; policy, registry-core")),
            (34, Policy("email syntax; policy, registry-core")),
            (35, Policy("email syntax; policy, registry-core")),
            (36, Policy("email local part > 64 octets (RFC 5321); policy, registry-core")),
        ],
    );
}

#[test]
fn epp_09_contact_update_postal_info() {
    check(
        "epp-09-postalinfo-data.csv",
        |r| contact_update(&postal_info(r)),
        &[
            (2, Refuse(SYNTAX, "contact:postalInfo")),
            (3, Refuse(SYNTAX, "contact:postalInfo")),
            (4, Refuse(SYNTAX, "contact:name")),
            (5, Refuse(SYNTAX, "contact:org")),
            (6, Refuse(SYNTAX, "contact:city")),
            (7, Refuse(SYNTAX, "contact:cc")),
            (8, Refuse(SYNTAX, "contact:name")), // a 256-character name (the RST files it as ORG)
            (9, Refuse(SYNTAX, "contact:street")),
            (10, Refuse(SYNTAX, "contact:city")),
            (
                11,
                Policy("cc XX: not an assigned ISO 3166 code; policy, registry-core"),
            ),
            (12, Refuse(SYNTAX, "contact:cc")),
            (13, Refuse(SYNTAX, "contact:cc")),
        ],
    );
}

#[test]
fn epp_09_contact_update_other() {
    check(
        "epp-09-other-data.csv",
        |r| {
            contact_update(&format!(
                "{}{}{}",
                phone("contact:voice", r.get("voice"), r.get("voiceExt")),
                phone("contact:fax", r.get("fax"), r.get("faxExt")),
                leaf("contact:email", r.get("email"))
            ))
        },
        &[
            (2, Refuse(SYNTAX, "contact:voice")),
            (3, Refuse(SYNTAX, "contact:voice")),
            (4, Refuse(SYNTAX, "contact:voice")),
            (5, Refuse(SYNTAX, "contact:voice")),
            (6, Refuse(SYNTAX, "contact:voice")),
            (7, Refuse(SYNTAX, "contact:voice")),
            (8, Refuse(SYNTAX, "contact:voice")),
            (9, Refuse(SYNTAX, "contact:fax")),
            (10, Refuse(SYNTAX, "contact:fax")),
            (11, Refuse(SYNTAX, "contact:fax")),
            (12, Refuse(SYNTAX, "contact:fax")),
            (13, Refuse(SYNTAX, "contact:fax")),
            (14, Refuse(SYNTAX, "contact:fax")),
            (15, Refuse(SYNTAX, "contact:fax")),
            (
                16,
                Policy("email syntax (RFC 5322) is not in the XSD; policy, registry-core"),
            ),
            (17, Policy("email syntax; policy, registry-core")),
            (18, Policy("email syntax; policy, registry-core")),
            (19, Policy("email syntax; policy, registry-core")),
            (
                20,
                Policy("email local part > 64 octets; policy, registry-core"),
            ),
        ],
    );
}

#[test]
fn epp_11_host_create() {
    check(
        "epp-11-data.csv",
        host_create,
        &[
            (2, Refuse(SYNTAX, "host:name")), // "!" in a label
            (
                3,
                Policy("in-zone host whose parent domain does not exist; policy, registry-core"),
            ),
            (5, Refuse(SYNTAX, "host:addr")),  // empty v4
            (6, Refuse(SYNTAX, "host:addr")),  // v6 given as v4
            (7, Refuse(SYNTAX, "host:addr")),  // 208.77.190
            (8, Refuse(SYNTAX, "host:addr")),  // a.b.c.d
            (9, Refuse(SYNTAX, "host:addr")),  // 256.1.1.1
            (10, Refuse(SYNTAX, "host:addr")), // 1.2.3.4.5
            (
                11,
                Policy("127.0.0.1: valid IPv4, not a routable glue address; policy, registry-core"),
            ),
            (12, Refuse(SYNTAX, "host:addr")), // ip="v5"
            (14, Refuse(SYNTAX, "host:addr")), // empty v6
            (15, Refuse(SYNTAX, "host:addr")), // v4 given as v6
            (16, Refuse(SYNTAX, "host:addr")), // "::" is 2 characters: below addrStringType's minLength 3
            (
                17,
                Policy("::1 (loopback): valid IPv6, not a glue address; policy, registry-core"),
            ),
            (18, Refuse(SYNTAX, "host:addr")), // ::X
            (19, Refuse(SYNTAX, "host:addr")), // NOT::HEX::
        ],
    );
}

#[test]
fn epp_13_host_update_addresses() {
    check(
        "epp-13-addr-data.csv",
        host_update,
        &[
            (2, Refuse(SYNTAX, "host:addr")),
            (3, Refuse(SYNTAX, "host:addr")),
            (4, Refuse(SYNTAX, "host:addr")),
            (5, Refuse(SYNTAX, "host:addr")),
            (6, Refuse(SYNTAX, "host:addr")),
            (7, Refuse(SYNTAX, "host:addr")),
            (8, Refuse(SYNTAX, "host:addr")), // ip="v5"
            (10, Refuse(SYNTAX, "host:addr")),
            (11, Refuse(SYNTAX, "host:addr")), // "::": below minLength 3
            (
                12,
                Policy("::1 is valid IPv6 syntax, not a glue address; policy, registry-core"),
            ),
            (13, Refuse(SYNTAX, "host:addr")),
            (14, Refuse(SYNTAX, "host:addr")),
            (
                15,
                Policy("removing an address the host does not have; state, registry-core"),
            ),
            (
                16,
                Policy("removing an address the host does not have; state, registry-core"),
            ),
        ],
    );
}

#[test]
fn epp_14_domain_create() {
    check(
        "epp-14-data.csv",
        domain_create,
        &[
            (2, Refuse(SYNTAX, "domain:name")), // a 75-character label
            (3, Policy("xn-- label that is not a valid A-label (IDNA2008); policy, registry-core")),
            (4, Policy("hyphens in positions 3-4 without xn-- (RFC 5891 4.2.3.1); policy, registry-core")),
            (6, Policy("period 11 years: valid 1-99, above the registry's 10-year maximum; policy, registry-core")),
            (7, Refuse(RANGE, "domain:period")),  // -1
            (8, Refuse(SYNTAX, "domain:period")), // 1.5
            (9, Refuse(SYNTAX, "domain:period")), // unit x
            (10, Policy("registrant that does not exist; state, registry-core")),
            (11, Policy("missing registrant (optional in the XSD, required by thick-registry policy); registry-core")),
            (12, Policy("in-bailiwick host attribute without glue; policy, registry-core")),
            (14, Refuse(SYNTAX, "domain:hostAddr")), // v6 as v4
            (15, Refuse(SYNTAX, "domain:hostAddr")),
            (16, Refuse(SYNTAX, "domain:hostAddr")),
            (17, Refuse(SYNTAX, "domain:hostAddr")),
            (18, Refuse(SYNTAX, "domain:hostAddr")),
            (20, Refuse(SYNTAX, "domain:hostAddr")), // v4 as v6
            (21, Refuse(SYNTAX, "domain:hostAddr")), // "::": below minLength 3
            (22, Policy("::1 is valid IPv6 syntax, not a glue address; policy, registry-core")),
            (23, Refuse(SYNTAX, "domain:hostAddr")),
            (24, Refuse(SYNTAX, "domain:hostAddr")),
            (25, Refuse(SYNTAX, "secDNS:keyTag")), // empty
            (26, Refuse(SYNTAX, "secDNS:alg")),    // empty
            (27, Refuse(RANGE, "secDNS:alg")),     // -1
            (28, Refuse(SYNTAX, "secDNS:alg")),    // A
            (29, Policy("DS algorithm 123 is unassigned (IANA); policy, registry-core")),
            (30, Refuse(SYNTAX, "secDNS:digestType")),
            (31, Refuse(RANGE, "secDNS:digestType")),
            (32, Refuse(SYNTAX, "secDNS:digestType")),
            (33, Policy("digest type 255 is unassigned (IANA); policy, registry-core")),
            (34, Refuse(SYNTAX, "secDNS:digest")), // empty
            (35, Refuse(SYNTAX, "secDNS:flags")),  // empty
            (36, Policy("DNSKEY flags 1: valid unsignedShort, not a zone key; policy, registry-core")),
            (37, Policy("DNSKEY flags 256: valid unsignedShort, refused by RST (no SEP bit); policy, registry-core")),
            (38, Refuse(RANGE, "secDNS:flags")),
            (39, Refuse(SYNTAX, "secDNS:flags")),
            (40, Refuse(SYNTAX, "secDNS:protocol")),
            (41, Policy("DNSKEY protocol 1: valid unsignedByte, must be 3 (RFC 4034); policy, registry-core")),
            (42, Refuse(RANGE, "secDNS:protocol")), // 256 does not fit unsignedByte
            (43, Refuse(RANGE, "secDNS:protocol")),
            (44, Refuse(SYNTAX, "secDNS:protocol")),
            (45, Refuse(SYNTAX, "secDNS:alg")),
            (46, Refuse(RANGE, "secDNS:alg")),
            (47, Refuse(SYNTAX, "secDNS:alg")),
            (48, Policy("DNSKEY algorithm 123 is unassigned (IANA); policy, registry-core")),
            (49, Refuse(SYNTAX, "secDNS:pubKey")), // empty
            (50, Refuse(SYNTAX, "secDNS:pubKey")), // not base64
        ],
    );
}

#[test]
fn epp_16_domain_update_dnssec() {
    check(
        "epp-16-dnssec-data.csv",
        domain_update_dnssec,
        &[
            (1, Refuse(SYNTAX, "secDNS:keyTag")),
            (2, Refuse(SYNTAX, "secDNS:alg")),
            (3, Refuse(RANGE, "secDNS:alg")),
            (4, Refuse(SYNTAX, "secDNS:alg")),
            (
                5,
                Policy("DS algorithm 123 is unassigned; policy, registry-core"),
            ),
            (6, Refuse(SYNTAX, "secDNS:digestType")),
            (7, Refuse(RANGE, "secDNS:digestType")),
            (8, Refuse(SYNTAX, "secDNS:digestType")),
            (
                9,
                Policy("digest type 255 is unassigned; policy, registry-core"),
            ),
            (10, Refuse(SYNTAX, "secDNS:digest")),
            (11, Refuse(SYNTAX, "secDNS:flags")),
            (12, Policy("DNSKEY flags 1; policy, registry-core")),
            (13, Policy("DNSKEY flags 256; policy, registry-core")),
            (14, Refuse(RANGE, "secDNS:flags")),
            (15, Refuse(SYNTAX, "secDNS:flags")),
            (16, Refuse(SYNTAX, "secDNS:protocol")),
            (
                17,
                Policy("DNSKEY protocol 1, must be 3; policy, registry-core"),
            ),
            (18, Refuse(RANGE, "secDNS:protocol")),
            (19, Refuse(RANGE, "secDNS:protocol")),
            (20, Refuse(SYNTAX, "secDNS:protocol")),
            (21, Refuse(SYNTAX, "secDNS:alg")),
            (22, Refuse(RANGE, "secDNS:alg")),
            (23, Refuse(SYNTAX, "secDNS:alg")),
            (
                24,
                Policy("DNSKEY algorithm 123 is unassigned; policy, registry-core"),
            ),
            (25, Refuse(SYNTAX, "secDNS:pubKey")),
            (26, Refuse(SYNTAX, "secDNS:pubKey")),
            (
                29,
                Policy("removing a DS record the domain no longer has; state, registry-core"),
            ),
            (
                30,
                Policy("removing a key the domain does not have; state, registry-core"),
            ),
        ],
    );
}

#[test]
fn epp_16_domain_update_name_servers() {
    check(
        "epp-16-ns-data.csv",
        domain_update_ns,
        &[
            (
                1,
                Policy("host object that does not exist; state, registry-core"),
            ),
            (
                3,
                Policy("adding a name server the domain already has; state, registry-core"),
            ),
            (
                5,
                Policy("removing a name server the domain does not have; state, registry-core"),
            ),
            (
                7,
                Policy("adding a host attribute the domain already has; state, registry-core"),
            ),
            (
                9,
                Policy("removing a host attribute the domain does not have; state, registry-core"),
            ),
            (
                10,
                Policy("in-bailiwick host attribute without glue; policy, registry-core"),
            ),
            (
                12,
                Policy("in-bailiwick host attribute without glue; policy, registry-core"),
            ),
            (13, Refuse(SYNTAX, "domain:hostAddr")), // empty v4
            (14, Refuse(SYNTAX, "domain:hostAddr")),
            (15, Refuse(SYNTAX, "domain:hostAddr")),
            (16, Refuse(SYNTAX, "domain:hostAddr")),
            (17, Refuse(SYNTAX, "domain:hostAddr")),
            (18, Refuse(SYNTAX, "domain:hostAddr")),
            (19, Policy("127.0.0.1 glue; policy, registry-core")),
            (20, Refuse(SYNTAX, "domain:hostAddr")), // ip="v5"
            (22, Refuse(SYNTAX, "domain:hostAddr")),
            (23, Refuse(SYNTAX, "domain:hostAddr")),
            (24, Refuse(SYNTAX, "domain:hostAddr")), // "::": below minLength 3
            (25, Policy("::1 glue; policy, registry-core")),
            (26, Refuse(SYNTAX, "domain:hostAddr")),
            (27, Refuse(SYNTAX, "domain:hostAddr")),
        ],
    );
}

#[test]
fn policy_reasons_name_their_layer() {
    // Every skip names the layer that must refuse (keeps the skip list honest when read alone).
    let src = include_str!("rst_parser.rs");
    for line in src.lines().filter(|l| l.contains("Policy(\"")) {
        if line.contains("fn ") || line.contains("contains(") {
            continue;
        }
        assert!(
            line.contains("registry-core"),
            "a Policy entry without its layer: {line}"
        );
    }
}
