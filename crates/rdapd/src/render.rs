//! RFC 9083 JSON: the response types, and the functions that build them from the core's
//! views. Redaction (RFC 9537) happens here, while a contact's jCard is built: a withheld
//! field is never put in, and a `redacted` entry says what was left out and where.

use std::collections::HashMap;

use chrono::SecondsFormat;
use epp_proto::Timestamp;
use registry_core::public::{ContactRole, ContactView, DomainView, HostView, RegistrarRecord};
use serde::Serialize;
use serde_json::{json, Value};

use crate::config::{Config, Field, RegistrarInfo};
use crate::query::unicode_of;
use crate::status;

pub const MEDIA_TYPE: &str = "application/rdap+json";

// ---- response types (RFC 9083 sections 4 and 5) ----------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub value: String,
    pub rel: &'static str,
    pub href: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<&'static str>,
}

/// A notice (top level) or a remark (in an object).
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    pub description: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub event_action: &'static str,
    pub event_date: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicId {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub identifier: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    pub object_class_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcard_array: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub public_ids: Vec<PublicId>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Entity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remarks: Vec<Notice>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IpAddresses {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub v4: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub v6: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Nameserver {
    pub object_class_name: &'static str,
    pub handle: String,
    pub ldh_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicode_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_addresses: Option<IpAddresses>,
    pub status: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Entity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    pub links: Vec<Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remarks: Vec<Notice>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DsData {
    pub key_tag: u16,
    pub algorithm: u8,
    pub digest: String,
    pub digest_type: u8,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecureDns {
    pub delegation_signed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_sig_life: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ds_data: Vec<DsData>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    pub object_class_name: &'static str,
    pub handle: String,
    pub ldh_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicode_name: Option<String>,
    pub status: Vec<&'static str>,
    pub events: Vec<Event>,
    #[serde(rename = "secureDNS", skip_serializing_if = "Option::is_none")]
    pub secure_dns: Option<SecureDns>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<Nameserver>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Entity>,
    pub links: Vec<Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remarks: Vec<Notice>,
}

/// RFC 9537 section 4.2.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redacted {
    pub name: RedactedName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement_path: Option<String>,
    pub path_lang: &'static str,
    pub method: &'static str,
    pub reason: RedactedName,
}

/// A registered `type` or a free `description` (RFC 9537 `name` and `reason`).
#[derive(Debug, Clone, Serialize)]
pub struct RedactedName {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    pub page_size: u32,
    pub page_number: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainSearch {
    pub domain_search_results: Vec<Domain>,
    #[serde(rename = "paging_metadata")]
    pub paging: Paging,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NameserverSearch {
    pub nameserver_search_results: Vec<Nameserver>,
    #[serde(rename = "paging_metadata")]
    pub paging: Paging,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub error_code: u16,
    pub title: &'static str,
    pub description: Vec<String>,
}

/// `/help`: notices only.
#[derive(Debug, Clone, Serialize)]
pub struct Help {}

/// A whole response: conformance, the object, notices, redactions.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Top<T: Serialize> {
    pub rdap_conformance: Vec<&'static str>,
    #[serde(flatten)]
    pub body: T,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<Redacted>,
    pub lang: String,
}

// ---- building ---------------------------------------------------------------------------

/// What the builders need besides the object: configuration, the time of the answer and the
/// URL that was asked (the `value` of every link).
#[derive(Debug)]
pub struct Ctx<'a> {
    pub cfg: &'a Config,
    pub registrars: &'a HashMap<String, RegistrarInfo>,
    pub now: Timestamp,
    pub request_url: &'a str,
}

pub fn date(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// What a response's conformance array says, by what it contains.
#[derive(Debug, Clone, Copy, Default)]
pub struct Features {
    pub paging: bool,
}

impl Ctx<'_> {
    pub fn link(&self, rel: &'static str, path: &str) -> Link {
        Link {
            value: self.request_url.to_owned(),
            rel,
            href: format!("{}{path}", self.cfg.server.base_url),
            media_type: Some(MEDIA_TYPE),
        }
    }

    pub fn conformance(&self, f: Features, redacted: bool) -> Vec<&'static str> {
        let mut v = vec!["rdap_level_0"];
        if self.cfg.service.icann_gtld_profile {
            v.push("icann_rdap_response_profile_1");
            v.push("icann_rdap_technical_implementation_guide_1");
        }
        if redacted {
            v.push("redacted");
        }
        if f.paging {
            v.push("paging");
        }
        v
    }

    /// The notices of every answer about an object (RDAP Response Profile 2.6 and 2.11
    /// under the ICANN profile; the terms of use when configured).
    pub fn notices(&self) -> Vec<Notice> {
        let mut n = Vec::new();
        if let Some(tos) = &self.cfg.service.terms_of_service_url {
            n.push(Notice {
                title: Some("Terms of Use".into()),
                kind: None,
                description: vec![
                    "Use of this service is subject to the registry's terms of use.".into(),
                ],
                links: vec![Link {
                    value: self.request_url.to_owned(),
                    rel: "terms-of-service",
                    href: tos.clone(),
                    media_type: Some("text/html"),
                }],
            });
        }
        if self.cfg.service.icann_gtld_profile {
            n.push(Notice {
                title: Some("Status Codes".into()),
                kind: None,
                description: vec![
                    "For more information on domain status codes, please visit https://icann.org/epp".into(),
                ],
                links: vec![Link {
                    value: self.request_url.to_owned(),
                    rel: "glossary",
                    href: "https://icann.org/epp".into(),
                    media_type: Some("text/html"),
                }],
            });
            n.push(Notice {
                title: Some("RDDS Inaccuracy Complaint Form".into()),
                kind: None,
                description: vec![
                    "URL of the ICANN RDDS Inaccuracy Complaint Form: https://icann.org/wicf"
                        .into(),
                ],
                links: vec![Link {
                    value: self.request_url.to_owned(),
                    rel: "help",
                    href: "https://icann.org/wicf".into(),
                    media_type: Some("text/html"),
                }],
            });
        }
        n
    }

    fn db_update_event(&self) -> Event {
        Event {
            event_action: "last update of RDAP database",
            event_date: date(self.now),
        }
    }

    /// Events of any object: registration, last changed (the later of its last recorded
    /// change and its upDate, when later than its creation), transfer.
    fn object_events(
        &self,
        cr: Timestamp,
        up: Option<Timestamp>,
        last: Option<Timestamp>,
        tr: Option<Timestamp>,
    ) -> Vec<Event> {
        let mut e = vec![Event {
            event_action: "registration",
            event_date: date(cr),
        }];
        if let Some(changed) = last.max(up).filter(|t| *t > cr) {
            e.push(Event {
                event_action: "last changed",
                event_date: date(changed),
            });
        }
        if let Some(t) = tr {
            e.push(Event {
                event_action: "transfer",
                event_date: date(t),
            });
        }
        e
    }

    // ---- registrars ---------------------------------------------------------------------

    /// The registrar entity (RDAP Response Profile 2.4): its IANA ID as handle and publicId
    /// where configured, its name, its abuse contact.
    pub fn registrar(&self, cl_id: &str, rec: Option<&RegistrarRecord>, top: bool) -> Entity {
        let info = self.registrars.get(cl_id);
        let handle = match info.and_then(|i| i.iana_id) {
            Some(id) => id.to_string(),
            None => cl_id.to_owned(),
        };
        let name = rec.map_or(cl_id, |r| r.name.as_str());
        let mut vcard = vec![
            json!(["version", {}, "text", "4.0"]),
            json!(["fn", {}, "text", name]),
        ];
        if let Some(url) = info.and_then(|i| i.url.as_deref()) {
            vcard.push(json!(["url", {}, "uri", url]));
        }
        let mut entities = Vec::new();
        if let Some(i) = info.filter(|i| i.abuse_email.is_some() || i.abuse_phone.is_some()) {
            let mut v = vec![
                json!(["version", {}, "text", "4.0"]),
                json!(["fn", {}, "text", "Abuse contact"]),
            ];
            if let Some(p) = &i.abuse_phone {
                v.push(json!(["tel", {"type": "voice"}, "uri", tel_uri(p, None)]));
            }
            if let Some(e) = &i.abuse_email {
                v.push(json!(["email", {}, "text", e]));
            }
            entities.push(Entity {
                object_class_name: "entity",
                handle: None,
                vcard_array: Some(json!(["vcard", v])),
                roles: vec!["abuse"],
                public_ids: Vec::new(),
                entities: Vec::new(),
                status: Vec::new(),
                events: Vec::new(),
                links: Vec::new(),
                remarks: Vec::new(),
            });
        }
        Entity {
            object_class_name: "entity",
            public_ids: info
                .and_then(|i| i.iana_id)
                .map(|id| PublicId {
                    kind: "IANA Registrar ID",
                    identifier: id.to_string(),
                })
                .into_iter()
                .collect(),
            links: vec![self.link("self", &format!("entity/{handle}"))],
            handle: Some(handle),
            vcard_array: Some(json!(["vcard", vcard])),
            roles: vec!["registrar"],
            entities,
            status: match (top, rec) {
                (true, Some(r)) if r.active => vec!["active"],
                (true, Some(_)) => vec!["inactive"],
                _ => Vec::new(),
            },
            events: if top {
                vec![self.db_update_event()]
            } else {
                Vec::new()
            },
            remarks: Vec::new(),
        }
    }

    // ---- contacts -----------------------------------------------------------------------

    /// A contact entity under the redaction policy of `role` (`None`: a lookup of the
    /// contact itself, withholding what any role withholds). `path` is the JSONPath of the
    /// entity in the response, for the `redacted` entries.
    pub fn contact(
        &self,
        c: &ContactView,
        role: Option<ContactRole>,
        path: &str,
        redacted: &mut Vec<Redacted>,
    ) -> Entity {
        let policy = Policy::new(self.cfg, role, c);
        let label = role_label(role);
        let mut note = |field: Field,
                        method: &'static str,
                        pre: Option<String>,
                        post: Option<String>,
                        repl: Option<String>| {
            redacted.push(Redacted {
                name: redacted_name(role, field, label),
                pre_path: pre,
                post_path: post,
                replacement_path: repl,
                path_lang: "jsonpath",
                method,
                reason: RedactedName {
                    kind: None,
                    description: Some(if policy.withheld_by_contact(field) {
                        "The contact asked for it not to be disclosed".into()
                    } else {
                        "Server policy".into()
                    }),
                },
            });
        };
        let vc = format!("{path}.vcardArray[1]");
        let mut props = vec![json!(["version", {}, "text", "4.0"])];
        let postal = c
            .postal
            .iter()
            .find(|p| p.kind == "int")
            .or_else(|| c.postal.first());
        // fn is required in a vCard: a withheld name is an empty value.
        let name = postal.map_or("", |p| p.name.as_str());
        if policy.redacts(Field::Name) {
            props.push(json!(["fn", {}, "text", ""]));
            note(
                Field::Name,
                "emptyValue",
                None,
                Some(format!("{vc}[?(@[0]=='fn')][3]")),
                None,
            );
        } else {
            props.push(json!(["fn", {}, "text", name]));
        }
        if let Some(org) = postal.and_then(|p| p.org.as_deref()) {
            if policy.redacts(Field::Organization) {
                note(
                    Field::Organization,
                    "removal",
                    Some(format!("{vc}[?(@[0]=='org')]")),
                    None,
                    None,
                );
            } else {
                props.push(json!(["org", {}, "text", org]));
            }
        }
        if let Some(p) = postal {
            let mut part = |field: Field, value: Value, index: usize| -> Value {
                if policy.redacts(field) && !is_empty_value(&value) {
                    note(
                        field,
                        "emptyValue",
                        None,
                        Some(format!("{vc}[?(@[0]=='adr')][3][{index}]")),
                        None,
                    );
                    json!("")
                } else {
                    value
                }
            };
            let street = match p.street.len() {
                0 => json!(""),
                1 => json!(p.street[0]),
                _ => json!(p.street),
            };
            let street = part(Field::Street, street, 2);
            let city = part(Field::City, json!(p.city), 3);
            let sp = part(
                Field::StateProvince,
                json!(p.sp.as_deref().unwrap_or("")),
                4,
            );
            let pc = part(Field::PostalCode, json!(p.pc.as_deref().unwrap_or("")), 5);
            let cc = part(Field::CountryCode, json!(p.cc), 6);
            let mut params = serde_json::Map::new();
            if !policy.redacts(Field::CountryCode) {
                params.insert("cc".into(), json!(p.cc));
            }
            props.push(json!([
                "adr",
                params,
                "text",
                ["", "", street, city, sp, pc, cc]
            ]));
        }
        for (field, phone, kind) in [
            (Field::Voice, &c.voice, "voice"),
            (Field::Fax, &c.fax, "fax"),
        ] {
            if let Some(ph) = phone {
                if policy.redacts(field) {
                    note(
                        field,
                        "removal",
                        Some(format!("{vc}[?(@[1].type=='{kind}')]")),
                        None,
                        None,
                    );
                } else {
                    props.push(json!(["tel", {"type": kind}, "uri", tel_uri(&ph.number, ph.ext.as_deref())]));
                }
            }
        }
        if policy.redacts(Field::Email) {
            let pre = Some(format!("{vc}[?(@[0]=='email')]"));
            match &self.cfg.redaction.contact_uri {
                Some(uri) => {
                    props.push(json!(["contact-uri", {}, "uri", uri]));
                    note(
                        Field::Email,
                        "replacementValue",
                        pre,
                        None,
                        Some(format!("{vc}[?(@[0]=='contact-uri')][3]")),
                    );
                }
                None => note(Field::Email, "removal", pre, None, None),
            }
        } else {
            props.push(json!(["email", {}, "text", c.email]));
        }
        let handle = if policy.redacts(Field::Handle) {
            note(
                Field::Handle,
                "removal",
                Some(format!("{path}.handle")),
                None,
                None,
            );
            None
        } else {
            Some(c.roid.clone())
        };
        let top = role.is_none();
        Entity {
            object_class_name: "entity",
            links: match &handle {
                Some(h) if self.cfg.redaction.contact_lookup => {
                    vec![self.link("self", &format!("entity/{h}"))]
                }
                _ => Vec::new(),
            },
            handle,
            vcard_array: Some(json!(["vcard", props])),
            roles: role.map(|r| vec![role_value(r)]).unwrap_or_default(),
            public_ids: Vec::new(),
            entities: if top {
                vec![self.registrar(&c.cl_id, c.sponsor.as_ref(), false)]
            } else {
                Vec::new()
            },
            status: c.statuses.iter().map(|s| status::contact(*s)).collect(),
            events: if top {
                let mut e = self.object_events(c.cr_date, c.up_date, c.last_changed, c.tr_date);
                e.push(self.db_update_event());
                e
            } else {
                Vec::new()
            },
            remarks: Vec::new(),
        }
    }

    // ---- hosts --------------------------------------------------------------------------

    /// A name server; `top`: the object of a lookup (with its registrar and events).
    pub fn nameserver(&self, h: &HostView, top: bool) -> Nameserver {
        let (v4, v6): (Vec<&std::net::IpAddr>, Vec<&std::net::IpAddr>) =
            h.addrs.iter().partition(|a| a.is_ipv4());
        let ip_addresses = (!h.addrs.is_empty()).then(|| IpAddresses {
            v4: v4.iter().map(|a| a.to_string()).collect(),
            v6: v6.iter().map(|a| a.to_string()).collect(),
        });
        Nameserver {
            object_class_name: "nameserver",
            handle: h.roid.clone(),
            unicode_name: unicode_of(&h.name),
            links: vec![self.link("self", &format!("nameserver/{}", h.name))],
            ldh_name: h.name.clone(),
            ip_addresses,
            status: h.statuses.iter().map(|s| status::host(*s)).collect(),
            entities: if top {
                vec![self.registrar(&h.cl_id, h.sponsor.as_ref(), false)]
            } else {
                Vec::new()
            },
            events: if top {
                let mut e = self.object_events(h.cr_date, h.up_date, h.last_changed, h.tr_date);
                e.push(self.db_update_event());
                e
            } else {
                Vec::new()
            },
            remarks: Vec::new(),
        }
    }

    // ---- domains ------------------------------------------------------------------------

    /// A domain: the whole object for a lookup, or (`full = false`) the summary of a search
    /// result, without name servers and entities and with a remark saying so.
    pub fn domain(&self, d: &DomainView, full: bool, redacted: &mut Vec<Redacted>) -> Domain {
        let mut events = vec![Event {
            event_action: "registration",
            event_date: date(d.cr_date),
        }];
        events.push(Event {
            event_action: "expiration",
            event_date: date(d.ex_date),
        });
        let mut rest = self.object_events(d.cr_date, d.up_date, d.last_changed, d.tr_date);
        rest.remove(0);
        events.extend(rest);
        let mut remarks = Vec::new();
        if let Some(lock) = d.lock {
            if lock.in_force {
                events.push(Event {
                    event_action: "locked",
                    event_date: date(lock.since),
                });
                remarks.push(Notice {
                    title: Some("Registry Lock".into()),
                    kind: None,
                    description: vec![format!(
                        "Registry-locked since {}: changes to this domain, its name servers and \
                         DS records need the registry's out-of-band verification with the \
                         sponsoring registrar.",
                        date(lock.since)
                    )],
                    links: Vec::new(),
                });
            } else if let Some(t) = lock.relock_at {
                remarks.push(Notice {
                    title: Some("Registry Lock".into()),
                    kind: None,
                    description: vec![format!(
                        "The registry lock is released until {}, when the registry applies it again.",
                        date(t)
                    )],
                    links: Vec::new(),
                });
            }
        }
        events.push(self.db_update_event());
        let mut links = vec![self.link("self", &format!("domain/{}", d.name))];
        if let Some(base) = self
            .registrars
            .get(&d.cl_id)
            .and_then(|i| i.rdap_base_url.as_deref())
        {
            let base = base.trim_end_matches('/');
            links.push(Link {
                value: self.request_url.to_owned(),
                rel: "related",
                href: format!("{base}/domain/{}", d.name),
                media_type: Some(MEDIA_TYPE),
            });
        }
        let secure_dns = Some(SecureDns {
            delegation_signed: !d.ds.is_empty(),
            max_sig_life: d.max_sig_life.filter(|_| !d.ds.is_empty()),
            ds_data: d
                .ds
                .iter()
                .map(|r| DsData {
                    key_tag: r.key_tag,
                    algorithm: r.alg,
                    digest: r.digest.clone(),
                    digest_type: r.digest_type,
                })
                .collect(),
        });
        let (nameservers, entities) = if full {
            let mut entities = vec![self.registrar(&d.cl_id, d.sponsor.as_ref(), false)];
            for (role, c) in &d.contacts {
                let value = role_value(*role);
                // One entity per role; the first with this role is the one a path selects.
                let path = format!("$.entities[?(@.roles[0]=='{value}')]");
                entities.push(self.contact(c, Some(*role), &path, redacted));
            }
            (
                d.nameservers
                    .iter()
                    .map(|h| self.nameserver(h, false))
                    .collect(),
                entities,
            )
        } else {
            remarks.push(Notice {
                title: Some("Abbreviated".into()),
                kind: Some("object truncated due to unexplainable reasons"),
                description: vec![
                    "Search results leave out name servers and entities: look the domain up for them."
                        .into(),
                ],
                links: Vec::new(),
            });
            (Vec::new(), Vec::new())
        };
        Domain {
            object_class_name: "domain",
            handle: d.roid.clone(),
            unicode_name: unicode_of(&d.name),
            ldh_name: d.name.clone(),
            status: status::domain_list(&d.statuses, &d.rgp),
            events,
            secure_dns,
            nameservers,
            entities,
            links,
            remarks,
        }
    }
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// `tel:` URI of an E.164 EPP number (`+1.2175550100` → `tel:+1-217-5550100`-style digits
/// kept as given, the dot removed), with its extension.
fn tel_uri(number: &str, ext: Option<&str>) -> String {
    let digits: String = number.chars().filter(|c| *c != '.').collect();
    match ext {
        Some(e) => format!("tel:{digits};ext={e}"),
        None => format!("tel:{digits}"),
    }
}

fn role_value(r: ContactRole) -> &'static str {
    match r {
        ContactRole::Registrant => "registrant",
        ContactRole::Admin => "administrative",
        ContactRole::Tech => "technical",
        ContactRole::Billing => "billing",
    }
}

fn role_label(r: Option<ContactRole>) -> &'static str {
    match r {
        Some(ContactRole::Registrant) => "Registrant",
        Some(ContactRole::Admin) => "Admin",
        Some(ContactRole::Tech) => "Tech",
        Some(ContactRole::Billing) => "Billing",
        None => "Contact",
    }
}

/// The registered redacted names (IANA "RDAP JSON Values", type "redacted name", from the
/// ICANN RDAP Response Profile) where one exists, a description otherwise.
fn redacted_name(role: Option<ContactRole>, field: Field, label: &str) -> RedactedName {
    let registered = match (role, field) {
        (Some(ContactRole::Registrant), Field::Handle) => Some("Registry Registrant ID"),
        (Some(ContactRole::Registrant), Field::Name) => Some("Registrant Name"),
        (Some(ContactRole::Registrant), Field::Organization) => Some("Registrant Organization"),
        (Some(ContactRole::Registrant), Field::Street) => Some("Registrant Street"),
        (Some(ContactRole::Registrant), Field::City) => Some("Registrant City"),
        (Some(ContactRole::Registrant), Field::PostalCode) => Some("Registrant Postal Code"),
        (Some(ContactRole::Registrant), Field::Voice) => Some("Registrant Phone"),
        (Some(ContactRole::Registrant), Field::Fax) => Some("Registrant Fax"),
        (Some(ContactRole::Registrant), Field::Email) => Some("Registrant Email"),
        (Some(ContactRole::Tech), Field::Handle) => Some("Registry Tech ID"),
        (Some(ContactRole::Tech), Field::Name) => Some("Tech Name"),
        (Some(ContactRole::Tech), Field::Voice) => Some("Tech Phone"),
        (Some(ContactRole::Tech), Field::Email) => Some("Tech Email"),
        _ => None,
    };
    match registered {
        Some(t) => RedactedName {
            kind: Some(t),
            description: None,
        },
        None => {
            let f = match field {
                Field::Handle => "ID",
                Field::Name => "Name",
                Field::Organization => "Organization",
                Field::Street => "Street",
                Field::City => "City",
                Field::StateProvince => "State/Province",
                Field::PostalCode => "Postal Code",
                Field::CountryCode => "Country",
                Field::Voice => "Phone",
                Field::Fax => "Fax",
                Field::Email => "Email",
            };
            RedactedName {
                kind: None,
                description: Some(format!("{label} {f}")),
            }
        }
    }
}

/// What one contact withholds in one role: the configured policy, less what the contact
/// chose to disclose (if honoured), plus what it asked to withhold.
struct Policy {
    policy: Vec<Field>,
    disclosed: Vec<Field>,
    withheld: Vec<Field>,
}

impl Policy {
    fn new(cfg: &Config, role: Option<ContactRole>, c: &ContactView) -> Self {
        let r = &cfg.redaction;
        let policy = match role {
            Some(ContactRole::Registrant) => r.registrant.clone(),
            Some(ContactRole::Admin) => r.administrative.clone(),
            Some(ContactRole::Tech) => r.technical.clone(),
            Some(ContactRole::Billing) => r.billing.clone(),
            None => {
                let mut all: Vec<Field> =
                    [&r.registrant, &r.administrative, &r.technical, &r.billing]
                        .into_iter()
                        .flatten()
                        .copied()
                        .collect();
                all.sort();
                all.dedup();
                all
            }
        };
        let (mut disclosed, mut withheld) = (Vec::new(), Vec::new());
        if let Some(d) = &c.disclose {
            let fields: Vec<Field> = d.fields.iter().flat_map(|f| disclose_fields(f)).collect();
            if d.flag {
                if r.honour_disclose {
                    disclosed = fields;
                }
            } else {
                withheld = fields;
            }
        }
        Self {
            policy,
            disclosed,
            withheld,
        }
    }

    fn withheld_by_contact(&self, f: Field) -> bool {
        self.withheld.contains(&f)
    }

    fn redacts(&self, f: Field) -> bool {
        self.withheld.contains(&f) || (self.policy.contains(&f) && !self.disclosed.contains(&f))
    }
}

/// The fields an RFC 5733 disclose element names (`name:int`, `addr:loc`, `voice`, …).
fn disclose_fields(token: &str) -> Vec<Field> {
    let base = token.split(':').next().unwrap_or(token);
    match base {
        "name" => vec![Field::Name],
        "org" => vec![Field::Organization],
        "addr" => vec![
            Field::Street,
            Field::City,
            Field::StateProvince,
            Field::PostalCode,
            Field::CountryCode,
        ],
        "voice" => vec![Field::Voice],
        "fax" => vec![Field::Fax],
        "email" => vec![Field::Email],
        _ => Vec::new(),
    }
}
