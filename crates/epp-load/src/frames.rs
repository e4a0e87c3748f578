//! The frames a run sends. Every byte of XML comes from `epp_wire::encode`: each kind of
//! request is encoded once with marker values, then split at the markers into a [`Template`]
//! whose slots take the per-request values (clTRID, domain name, name servers). Rendering is
//! a few `memcpy`s, so the generator spends its CPU on TLS, not on XML.

use epp_proto::contact::{
    Address, ContactCommand, ContactCreate, Phone, PostalInfo, PostalInfoType,
};
use epp_proto::domain::{
    ContactType, DomainAddRem, DomainCommand, DomainContact, DomainCreate, DomainInfo,
    DomainUpdate, HostsFilter, NameServers,
};
use epp_proto::host::{HostAddRem, HostCommand, HostCreate, HostUpdate};
use epp_proto::session::Login;
use epp_proto::{
    AuthInfo, ClTrid, ClientId, Command, CommandFrame, ContactId, DomainName, Frame, HostName,
    Label, Password, Period,
};

/// The authInfo of every object the load creates: strong enough for the registry's policy
/// (RFC 9154 strength: 16+ characters, mixed classes, an estimated 128 bits or more).
pub const LOAD_AUTH_INFO: &str = "load-2fA9x-Zq8#Kx3Vm9!Tr2Lw4$";

/// The values a run's names are made of.
#[derive(Debug, Clone)]
pub struct Names {
    /// Short lowercase id of the run, part of every name it creates.
    pub run: String,
    pub tld: String,
}

impl Names {
    /// A run id: 6 base-36 characters from the clock and the process id.
    pub fn new_run_id() -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut x = nanos ^ (u64::from(std::process::id()) << 32);
        let mut s = String::new();
        for _ in 0..6 {
            let d = (x % 36) as u32;
            s.push(char::from_digit(d, 36).unwrap_or('0'));
            x /= 36;
        }
        s
    }

    /// Checks that run id and TLD make valid names.
    pub fn new(run: &str, tld: &str) -> Result<Names, String> {
        let names = Names {
            run: run.to_ascii_lowercase(),
            tld: tld.trim_matches('.').to_ascii_lowercase(),
        };
        if names.run.is_empty()
            || names.run.len() > 12
            || !names.run.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(format!(
                "run id must be 1-12 letters or digits, got {run:?}"
            ));
        }
        DomainName::new(&names.domain(u64::MAX)).map_err(|e| format!("--tld {tld:?}: {e}"))?;
        ContactId::new(&names.contact()).map_err(|e| e.to_string())?;
        Ok(names)
    }

    /// A domain created by the create scenario (`load-<run>-<n>.<tld>`).
    pub fn domain(&self, n: u64) -> String {
        format!("load-{}-{n}.{}", self.run, self.tld)
    }

    /// A domain made by the setup step for info and update.
    pub fn setup_domain(&self, i: u64) -> String {
        format!("load-{}-s{i}.{}", self.run, self.tld)
    }

    /// A name that check answers "available" for.
    pub fn free_domain(&self, n: u64) -> String {
        format!("load-{}-x{n}.{}", self.run, self.tld)
    }

    /// The contact every domain of the run uses.
    pub fn contact(&self) -> String {
        format!("ld{}", self.run)
    }

    /// The two name servers the update scenario moves domains between (external hosts).
    pub fn ns(&self, which: usize) -> String {
        format!("ns{}.load-{}.example.net", which % 2 + 1, self.run)
    }

    /// The in-bailiwick name server of setup domain `i` that host:update moves between two
    /// addresses (its glue is in the zone).
    pub fn glue_host(&self, i: u64) -> String {
        format!("ns.{}", self.setup_domain(i))
    }

    pub fn cl_trid(&self, n: u64) -> String {
        format!("L{}-{n}", self.run)
    }
}

/// An encoded frame split at marker values.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(Vec<u8>),
    Slot(usize),
}

impl Template {
    /// Splits `xml` at each occurrence of each marker; slot `i` is `markers[i]`. Every marker
    /// must occur at least once.
    pub fn new(xml: &str, markers: &[&str]) -> Result<Template, String> {
        let mut hits: Vec<(usize, usize)> = Vec::new(); // (position, marker index)
        for (i, m) in markers.iter().enumerate() {
            let found: Vec<usize> = xml.match_indices(m).map(|(p, _)| p).collect();
            if found.is_empty() {
                return Err(format!("marker {m:?} not found in the encoded frame"));
            }
            hits.extend(found.into_iter().map(|p| (p, i)));
        }
        hits.sort_unstable();
        let mut parts = Vec::new();
        let mut at = 0;
        for (p, i) in hits {
            if p < at {
                return Err(format!("marker {:?} overlaps another", markers[i]));
            }
            parts.push(Part::Text(xml.as_bytes()[at..p].to_vec()));
            parts.push(Part::Slot(i));
            at = p + markers[i].len();
        }
        parts.push(Part::Text(xml.as_bytes()[at..].to_vec()));
        parts.retain(|p| !matches!(p, Part::Text(t) if t.is_empty()));
        Ok(Template { parts })
    }

    /// Writes the frame with `values[i]` in slot `i` into `out` (cleared first). Values must
    /// need no XML escaping (the names and clTRIDs of a run are letters, digits, `-` and `.`).
    pub fn render(&self, values: &[&str], out: &mut Vec<u8>) {
        out.clear();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.extend_from_slice(t),
                Part::Slot(i) => {
                    out.extend_from_slice(values.get(*i).map_or(&b""[..], |v| v.as_bytes()))
                }
            }
        }
    }
}

const TRID_MARK: &str = "ZZTRIDMARKZZ";
const NAME_MARK: &str = "zzmarkname.zzmark";
const NS_ADD_MARK: &str = "zzmarknsadd.zzmark";
const NS_REM_MARK: &str = "zzmarknsrem.zzmark";

fn v<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

fn command(command: Command, cl_trid: &str) -> Result<String, String> {
    Ok(epp_wire::encode(&Frame::Command(CommandFrame {
        command,
        extensions: Vec::new(),
        cl_trid: Some(v(ClTrid::new(cl_trid))?),
    })))
}

/// Every frame a run sends, prepared once.
#[derive(Debug, Clone)]
pub struct Frames {
    pub names: Names,
    pub hello: Vec<u8>,
    /// Slots: name, clTRID.
    pub check: Template,
    /// Slots: name, clTRID.
    pub info: Template,
    /// Slots: name, clTRID. Registrant and admin/tech contacts: the run's contact.
    pub create: Template,
    /// Slots: name, ns to add, ns to remove, clTRID.
    pub update: Template,
    /// host:update of a glue host from address `GLUE[k]` to `GLUE[1 - k]`. Slots: name, clTRID.
    pub host_update: [Template; 2],
}

/// The two addresses the host:update scenario moves glue between.
pub const GLUE: [&str; 2] = ["192.0.2.1", "192.0.2.2"];

impl Frames {
    pub fn new(names: Names) -> Result<Frames, String> {
        let name = || v(DomainName::new(NAME_MARK));
        let contact = v(ContactId::new(&names.contact()))?;
        let auth = v(AuthInfo::new(LOAD_AUTH_INFO, None))?;
        let check = Template::new(
            &command(
                Command::Domain(DomainCommand::Check(vec![v(Label::new(NAME_MARK))?])),
                TRID_MARK,
            )?,
            &[NAME_MARK, TRID_MARK],
        )?;
        let info = Template::new(
            &command(
                Command::Domain(DomainCommand::Info(DomainInfo {
                    name: name()?,
                    hosts: HostsFilter::All,
                    auth_info: None,
                })),
                TRID_MARK,
            )?,
            &[NAME_MARK, TRID_MARK],
        )?;
        let create = Template::new(
            &command(
                Command::Domain(DomainCommand::Create(DomainCreate {
                    name: name()?,
                    period: Some(v(Period::years(1))?),
                    ns: None,
                    registrant: Some(contact.clone()),
                    contacts: vec![
                        DomainContact {
                            contact_type: ContactType::Admin,
                            id: contact.clone(),
                        },
                        DomainContact {
                            contact_type: ContactType::Tech,
                            id: contact.clone(),
                        },
                    ],
                    auth_info: auth,
                })),
                TRID_MARK,
            )?,
            &[NAME_MARK, TRID_MARK],
        )?;
        let ns = |m: &str| -> Result<DomainAddRem, String> {
            Ok(DomainAddRem {
                ns: Some(NameServers::HostObj(vec![v(HostName::new(m))?])),
                ..Default::default()
            })
        };
        let update = Template::new(
            &command(
                Command::Domain(DomainCommand::Update(DomainUpdate {
                    name: name()?,
                    add: ns(NS_ADD_MARK)?,
                    rem: ns(NS_REM_MARK)?,
                    chg: None,
                })),
                TRID_MARK,
            )?,
            &[NAME_MARK, NS_ADD_MARK, NS_REM_MARK, TRID_MARK],
        )?;
        let addr = |a: &str| -> Result<Vec<std::net::IpAddr>, String> {
            a.parse().map(|a| vec![a]).map_err(|e| format!("{a}: {e}"))
        };
        let host_update = |from: usize| -> Result<Template, String> {
            Template::new(
                &command(
                    Command::Host(HostCommand::Update(HostUpdate {
                        name: v(HostName::new(NAME_MARK))?,
                        add: HostAddRem {
                            addrs: addr(GLUE[1 - from])?,
                            statuses: Vec::new(),
                        },
                        rem: HostAddRem {
                            addrs: addr(GLUE[from])?,
                            statuses: Vec::new(),
                        },
                        new_name: None,
                    })),
                    TRID_MARK,
                )?,
                &[NAME_MARK, TRID_MARK],
            )
        };
        Ok(Frames {
            names,
            hello: epp_wire::encode(&Frame::Hello).into_bytes(),
            check,
            info,
            create,
            update,
            host_update: [host_update(0)?, host_update(1)?],
        })
    }

    /// `<login>` with the domain, host and contact services and no extension.
    pub fn login(cl_id: &ClientId, password: &Password, cl_trid: &str) -> Result<Vec<u8>, String> {
        let login = Login {
            cl_id: cl_id.clone(),
            pw: password.clone(),
            new_pw: None,
            version: "1.0".into(),
            lang: "en".into(),
            obj_uris: vec![
                epp_proto::ns::DOMAIN.into(),
                epp_proto::ns::HOST.into(),
                epp_proto::ns::CONTACT.into(),
            ],
            ext_uris: Vec::new(),
        };
        Ok(command(Command::Login(login), cl_trid)?.into_bytes())
    }

    pub fn logout(cl_trid: &str) -> Result<Vec<u8>, String> {
        Ok(command(Command::Logout, cl_trid)?.into_bytes())
    }

    /// The run's contact.
    pub fn contact_create(&self, cl_trid: &str) -> Result<Vec<u8>, String> {
        let c = ContactCreate {
            id: v(ContactId::new(&self.names.contact()))?,
            postal_info: vec![PostalInfo {
                info_type: PostalInfoType::Int,
                name: "Load Generator".into(),
                org: None,
                addr: Address {
                    street: vec!["1 Test Street".into()],
                    city: "Testville".into(),
                    sp: None,
                    pc: Some("12345".into()),
                    cc: "US".into(),
                },
            }],
            voice: Some(Phone {
                number: "+1.5555550100".into(),
                ext: None,
            }),
            fax: None,
            email: "load@example.net".into(),
            auth_info: v(AuthInfo::new(LOAD_AUTH_INFO, None))?,
            disclose: None,
        };
        Ok(command(Command::Contact(ContactCommand::Create(c)), cl_trid)?.into_bytes())
    }

    /// The glue host of setup domain `i`, at address `GLUE[0]`.
    pub fn glue_host_create(&self, i: u64, cl_trid: &str) -> Result<Vec<u8>, String> {
        let h = HostCreate {
            name: v(HostName::new(&self.names.glue_host(i)))?,
            addrs: vec![GLUE[0].parse().map_err(|e| format!("{e}"))?],
        };
        Ok(command(Command::Host(HostCommand::Create(h)), cl_trid)?.into_bytes())
    }

    /// Adds the glue host to setup domain `i`'s name servers (so that the host is in use and
    /// every host:update is one the delegation guard must look at).
    pub fn glue_host_link(&self, i: u64, cl_trid: &str) -> Result<Vec<u8>, String> {
        let u = DomainUpdate {
            name: v(DomainName::new(&self.names.setup_domain(i)))?,
            add: DomainAddRem {
                ns: Some(NameServers::HostObj(vec![v(HostName::new(
                    &self.names.glue_host(i),
                ))?])),
                ..Default::default()
            },
            rem: DomainAddRem::default(),
            chg: None,
        };
        Ok(command(Command::Domain(DomainCommand::Update(u)), cl_trid)?.into_bytes())
    }

    /// An external name server (no addresses).
    pub fn host_create(&self, which: usize, cl_trid: &str) -> Result<Vec<u8>, String> {
        let h = HostCreate {
            name: v(HostName::new(&self.names.ns(which)))?,
            addrs: Vec::new(),
        };
        Ok(command(Command::Host(HostCommand::Create(h)), cl_trid)?.into_bytes())
    }

    /// A setup domain, delegated to name server `ns`.
    pub fn setup_domain_create(&self, i: u64, ns: usize, cl_trid: &str) -> Result<Vec<u8>, String> {
        let contact = v(ContactId::new(&self.names.contact()))?;
        let create = DomainCreate {
            name: v(DomainName::new(&self.names.setup_domain(i)))?,
            period: Some(v(Period::years(1))?),
            ns: Some(NameServers::HostObj(vec![v(HostName::new(
                &self.names.ns(ns),
            ))?])),
            registrant: Some(contact.clone()),
            contacts: vec![
                DomainContact {
                    contact_type: ContactType::Admin,
                    id: contact.clone(),
                },
                DomainContact {
                    contact_type: ContactType::Tech,
                    id: contact,
                },
            ],
            auth_info: v(AuthInfo::new(LOAD_AUTH_INFO, None))?,
        };
        Ok(command(Command::Domain(DomainCommand::Create(create)), cl_trid)?.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames() -> Frames {
        Frames::new(Names::new("abc123", "test").unwrap()).unwrap()
    }

    #[test]
    fn template_splits_and_renders() {
        let t = Template::new("<a>X</a><b>Y</b><c>X</c>", &["X", "Y"]).unwrap();
        let mut out = Vec::new();
        t.render(&["1", "22"], &mut out);
        assert_eq!(out, b"<a>1</a><b>22</b><c>1</c>");
        assert!(Template::new("<a/>", &["X"]).is_err());
    }

    #[test]
    fn rendered_frames_decode_to_the_intended_commands() {
        let f = frames();
        let mut out = Vec::new();
        let name = f.names.domain(42);
        f.create.render(&[&name, "L-abc-42"], &mut out);
        match epp_wire::decode(&out) {
            Ok(Frame::Command(c)) => {
                assert_eq!(c.command.name(), "domain:create");
                assert_eq!(c.cl_trid.as_ref().map(|t| t.as_str()), Some("L-abc-42"));
                let Command::Domain(DomainCommand::Create(d)) = c.command else {
                    panic!("not a create")
                };
                assert_eq!(d.name.as_str(), "load-abc123-42.test");
            }
            other => panic!("{other:?}"),
        }
        f.update.render(
            &[&name, &f.names.ns(1), &f.names.ns(0), "L-abc-43"],
            &mut out,
        );
        match epp_wire::decode(&out) {
            Ok(Frame::Command(c)) => {
                let Command::Domain(DomainCommand::Update(u)) = c.command else {
                    panic!("not an update")
                };
                assert_eq!(
                    u.add.ns.unwrap().names()[0].as_str(),
                    "ns2.load-abc123.example.net"
                );
                assert_eq!(
                    u.rem.ns.unwrap().names()[0].as_str(),
                    "ns1.load-abc123.example.net"
                );
            }
            other => panic!("{other:?}"),
        }
        for (t, cmd) in [(&f.check, "domain:check"), (&f.info, "domain:info")] {
            t.render(&[&name, "L-abc-44"], &mut out);
            match epp_wire::decode(&out) {
                Ok(Frame::Command(c)) => assert_eq!(c.command.name(), cmd),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(epp_wire::decode(&f.hello), Ok(Frame::Hello)));
    }

    #[test]
    fn setup_and_session_frames_decode() {
        let f = frames();
        let id = ClientId::new("registrar1").unwrap();
        let pw = Password::new("secret-pw1").unwrap();
        for (frame, name) in [
            (Frames::login(&id, &pw, "L-1").unwrap(), "login"),
            (Frames::logout("L-2").unwrap(), "logout"),
            (f.contact_create("L-3").unwrap(), "contact:create"),
            (f.host_create(0, "L-4").unwrap(), "host:create"),
            (f.setup_domain_create(7, 1, "L-5").unwrap(), "domain:create"),
        ] {
            match epp_wire::decode(&frame) {
                Ok(Frame::Command(c)) => assert_eq!(c.command.name(), name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn names_are_valid_and_distinct() {
        let n = Names::new("AbC1", ".test").unwrap();
        assert_eq!(n.domain(5), "load-abc1-5.test");
        assert_ne!(n.ns(0), n.ns(1));
        assert_eq!(n.ns(0), n.ns(2));
        assert!(Names::new("bad id", "test").is_err());
        assert!(Names::new("abc", "bad_tld!").is_err());
        let id = Names::new_run_id();
        assert!(Names::new(&id, "test").is_ok(), "{id}");
    }
}
