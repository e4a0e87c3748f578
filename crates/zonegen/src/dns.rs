//! The DNS side of publishing, built on NLnet Labs' `domain`: RFC 2136 UPDATE (TSIG-signed),
//! RFC 1996 NOTIFY, SOA queries and AXFR (RFC 5936), over plain sockets with timeouts.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use domain::base::iana::{Class, DigestAlgorithm, Opcode, Rcode, Rtype, SecurityAlgorithm};
use domain::base::message_builder::{AdditionalBuilder, MessageBuilder};
use domain::base::{Message, Name, ParsedName, Serial, Ttl, UnknownRecordData};
use domain::rdata::tsig::Time48;
use domain::rdata::{AllRecordData, Soa};
use domain::tsig::{self, ClientSequence, ClientTransaction, Key, KeyName};
use ring::rand::SecureRandom as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::model::{ApexConfig, Ds};
use crate::name::DnsName;
use crate::zone::{Node, NodeDiff};

/// A DNS exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("I/O with {server}: {source}")]
    Io {
        server: SocketAddr,
        source: std::io::Error,
    },
    #[error("timed out talking to {0}")]
    Timeout(SocketAddr),
    #[error("building a DNS message: {0}")]
    Build(String),
    #[error("malformed DNS message from {0}")]
    Malformed(SocketAddr),
    #[error("answer from {0} does not match the request")]
    Mismatch(SocketAddr),
    #[error("TSIG validation of the answer from {server} failed: {reason}")]
    Tsig { server: SocketAddr, reason: String },
    #[error("{server} answered {rcode}")]
    Rcode { server: SocketAddr, rcode: Rcode },
    #[error("zone transfer from {0} exceeds the record limit")]
    TooLarge(SocketAddr),
    #[error("bad TSIG key: {0}")]
    BadKey(String),
}

/// A TSIG key. Its secret never appears in logs or `Debug`.
#[derive(Clone)]
pub struct TsigKey(Arc<Key>);

impl TsigKey {
    /// From the key name, algorithm name (`hmac-sha256`, ...) and base64 secret.
    pub fn new(name: &str, algorithm: &str, secret_b64: &str) -> Result<Self, DnsError> {
        let alg: tsig::Algorithm = algorithm
            .parse()
            .map_err(|_| DnsError::BadKey(format!("unknown algorithm {algorithm:?}")))?;
        let secret = base64::engine::general_purpose::STANDARD
            .decode(secret_b64.trim())
            .map_err(|_| DnsError::BadKey("secret is not base64".into()))?;
        let key_name: KeyName = name
            .parse()
            .map_err(|_| DnsError::BadKey(format!("bad key name {name:?}")))?;
        let key = Key::new(alg, &secret, key_name, None, None)
            .map_err(|e| DnsError::BadKey(e.to_string()))?;
        Ok(TsigKey(Arc::new(key)))
    }

    /// A fresh random hmac-sha256 key; returns it with its base64 secret (for tests).
    pub fn generate(name: &str) -> Result<(Self, String), DnsError> {
        let key_name: KeyName = name
            .parse()
            .map_err(|_| DnsError::BadKey(format!("bad key name {name:?}")))?;
        let rng = ring::rand::SystemRandom::new();
        let (key, bytes) = Key::generate(tsig::Algorithm::Sha256, &rng, key_name, None, None)
            .map_err(|e| DnsError::BadKey(e.to_string()))?;
        let secret = base64::engine::general_purpose::STANDARD.encode(&bytes);
        Ok((TsigKey(Arc::new(key)), secret))
    }

    pub fn name(&self) -> String {
        self.0.name().to_string()
    }
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TsigKey({}, {}, <secret>)",
            self.0.name(),
            self.0.algorithm()
        )
    }
}

/// What the server did with an UPDATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    Applied,
    /// The SOA prerequisite failed (YXRRSET/NXRRSET): the server's zone is not the one we
    /// think it is.
    PrerequisiteFailed,
}

fn random_id() -> u16 {
    let mut b = [0u8; 2];
    // SystemRandom only fails if the OS has no randomness; a fixed id still works over TCP.
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    u16::from_be_bytes(b)
}

fn build_err<E: fmt::Debug>(e: E) -> DnsError {
    DnsError::Build(format!("{e:?}"))
}

fn soa_rdata(apex: &ApexConfig, serial: u32) -> Soa<Name<Vec<u8>>> {
    Soa::new(
        apex.mname.to_wire(),
        apex.rname.to_wire(),
        Serial(serial),
        Ttl::from_secs(apex.refresh),
        Ttl::from_secs(apex.retry),
        Ttl::from_secs(apex.expire),
        Ttl::from_secs(apex.minimum),
    )
}

fn ds_rdata(ds: &Ds) -> Result<domain::rdata::Ds<Vec<u8>>, DnsError> {
    domain::rdata::Ds::new(
        ds.key_tag,
        SecurityAlgorithm::from_int(ds.algorithm),
        DigestAlgorithm::from_int(ds.digest_type),
        ds.digest().to_vec(),
    )
    .map_err(build_err)
}

/// Upper bound of the wire size of the records a diff entry adds to an UPDATE.
pub fn diff_wire_estimate(d: &NodeDiff) -> usize {
    let owner = d.owner.as_str().len() + 2;
    let per = owner + 10;
    let mut n = 4 * per; // the RRset deletions
    if let Some(node) = &d.new {
        n += node
            .ns
            .iter()
            .map(|ns| per + ns.as_str().len() + 2)
            .sum::<usize>();
        n += node
            .ds
            .iter()
            .map(|ds| per + 4 + ds.digest().len())
            .sum::<usize>();
        n += node.a.len() * (per + 4) + node.aaaa.len() * (per + 16);
    }
    n
}

/// Builds an UPDATE for `diffs` that only applies if the zone's SOA serial is `prev_serial`
/// and sets it to `new_serial`. Each changed RRset is deleted and re-added in full, so the
/// message describes the end state (re-sending it cannot double anything).
pub fn build_update(
    apex: &ApexConfig,
    prev_serial: u32,
    new_serial: u32,
    diffs: &[NodeDiff],
) -> Result<AdditionalBuilder<Vec<u8>>, DnsError> {
    let origin = apex.origin.to_wire();
    let ttl = apex.ttl;
    let mut msg = MessageBuilder::new_vec();
    msg.header_mut().set_id(random_id());
    msg.header_mut().set_opcode(Opcode::UPDATE);
    let mut zone = msg.question();
    zone.push((&origin, Rtype::SOA, Class::IN))
        .map_err(build_err)?;
    // Prerequisite: RRset exists, value dependent (RFC 2136 §2.4.2).
    let mut prereq = zone.answer();
    prereq
        .push((&origin, Class::IN, 0u32, soa_rdata(apex, prev_serial)))
        .map_err(build_err)?;
    let mut upd = prereq.authority();
    upd.push((&origin, Class::IN, ttl, soa_rdata(apex, new_serial)))
        .map_err(build_err)?;
    let empty = Node::default();
    for d in diffs {
        let owner = d.owner.to_wire();
        let old = d.old.as_ref().unwrap_or(&empty);
        let new = d.new.as_ref().unwrap_or(&empty);
        let mut delete = |rtype: Rtype| -> Result<(), DnsError> {
            let data = UnknownRecordData::from_octets(rtype, Vec::new()).map_err(build_err)?;
            upd.push((&owner, Class::ANY, 0u32, data))
                .map_err(build_err)
        };
        if old.ns != new.ns && !old.ns.is_empty() {
            delete(Rtype::NS)?;
        }
        if old.ds != new.ds && !old.ds.is_empty() {
            delete(Rtype::DS)?;
        }
        if old.a != new.a && !old.a.is_empty() {
            delete(Rtype::A)?;
        }
        if old.aaaa != new.aaaa && !old.aaaa.is_empty() {
            delete(Rtype::AAAA)?;
        }
        if old.ns != new.ns {
            for ns in &new.ns {
                upd.push((&owner, Class::IN, ttl, domain::rdata::Ns::new(ns.to_wire())))
                    .map_err(build_err)?;
            }
        }
        if old.ds != new.ds {
            for ds in &new.ds {
                upd.push((&owner, Class::IN, ttl, ds_rdata(ds)?))
                    .map_err(build_err)?;
            }
        }
        if old.a != new.a {
            for a in &new.a {
                upd.push((&owner, Class::IN, ttl, domain::rdata::A::new(*a)))
                    .map_err(build_err)?;
            }
        }
        if old.aaaa != new.aaaa {
            for aaaa in &new.aaaa {
                upd.push((&owner, Class::IN, ttl, domain::rdata::Aaaa::new(*aaaa)))
                    .map_err(build_err)?;
            }
        }
    }
    Ok(upd.additional())
}

/// A zone's SOA as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedSoa {
    pub mname: DnsName,
    pub rname: DnsName,
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

impl ServedSoa {
    /// Whether everything but the serial is what `apex` configures.
    pub fn matches(&self, apex: &ApexConfig) -> bool {
        self.mname == apex.mname
            && self.rname == apex.rname
            && self.refresh == apex.refresh
            && self.retry == apex.retry
            && self.expire == apex.expire
            && self.minimum == apex.minimum
    }
}

/// A DNS server we talk to over TCP (UPDATE, SOA, AXFR) and UDP (NOTIFY).
#[derive(Debug, Clone)]
pub struct DnsClient {
    pub server: SocketAddr,
    pub key: Option<TsigKey>,
    pub timeout: Duration,
}

async fn write_frame(stream: &mut TcpStream, msg: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(msg.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "message too long"))?;
    let mut buf = Vec::with_capacity(msg.len() + 2);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(msg);
    stream.write_all(&buf).await
}

async fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    // Bounded by construction: at most 65,535 octets.
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf).await?;
    Ok(buf)
}

/// The zone as a server serves it, from an AXFR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedZone {
    pub serial: u32,
    pub apex_ns: Vec<DnsName>,
    pub nodes: BTreeMap<DnsName, Node>,
    /// Records the generator never produces (other types, records at the apex...).
    pub unexpected: Vec<String>,
}

impl DnsClient {
    pub fn new(server: SocketAddr, key: Option<TsigKey>, timeout: Duration) -> Self {
        DnsClient {
            server,
            key,
            timeout,
        }
    }

    fn io(&self, source: std::io::Error) -> DnsError {
        DnsError::Io {
            server: self.server,
            source,
        }
    }

    async fn connect(&self) -> Result<TcpStream, DnsError> {
        let stream = tokio::time::timeout(self.timeout, TcpStream::connect(self.server))
            .await
            .map_err(|_| DnsError::Timeout(self.server))?
            .map_err(|e| self.io(e))?;
        stream.set_nodelay(true).map_err(|e| self.io(e))?;
        Ok(stream)
    }

    /// Sends one request over TCP and returns the one answer, TSIG-checked when a key is set.
    async fn exchange(
        &self,
        mut request: AdditionalBuilder<Vec<u8>>,
    ) -> Result<Message<Vec<u8>>, DnsError> {
        let tx = match &self.key {
            Some(key) => Some(
                ClientTransaction::request(key.0.clone(), &mut request, Time48::now())
                    .map_err(build_err)?,
            ),
            None => None,
        };
        let request = request.finish();
        let id = Message::from_slice(&request)
            .map_err(build_err)?
            .header()
            .id();
        let work = async {
            let mut stream = self.connect().await?;
            write_frame(&mut stream, &request)
                .await
                .map_err(|e| self.io(e))?;
            read_frame(&mut stream).await.map_err(|e| self.io(e))
        };
        let answer = tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| DnsError::Timeout(self.server))??;
        let mut msg = Message::from_octets(answer).map_err(|_| DnsError::Malformed(self.server))?;
        if msg.header().id() != id || !msg.header().qr() {
            return Err(DnsError::Mismatch(self.server));
        }
        if let Some(tx) = tx {
            tx.answer(&mut msg, Time48::now())
                .map_err(|e| DnsError::Tsig {
                    server: self.server,
                    reason: e.to_string(),
                })?;
        }
        Ok(msg)
    }

    /// Sends an UPDATE built with [`build_update`].
    pub async fn update(
        &self,
        request: AdditionalBuilder<Vec<u8>>,
    ) -> Result<UpdateOutcome, DnsError> {
        let answer = self.exchange(request).await?;
        match answer.header().rcode() {
            Rcode::NOERROR => Ok(UpdateOutcome::Applied),
            Rcode::YXRRSET | Rcode::NXRRSET => Ok(UpdateOutcome::PrerequisiteFailed),
            rcode => Err(DnsError::Rcode {
                server: self.server,
                rcode,
            }),
        }
    }

    /// The serial of the zone's SOA as this server answers it; `None` if it does not serve
    /// the zone (SERVFAIL, REFUSED, NOTAUTH, no SOA).
    pub async fn soa_serial(&self, origin: &DnsName) -> Result<Option<u32>, DnsError> {
        Ok(self.soa(origin).await?.map(|s| s.serial))
    }

    /// The zone's SOA as this server answers it; `None` if it does not serve the zone.
    pub async fn soa(&self, origin: &DnsName) -> Result<Option<ServedSoa>, DnsError> {
        // SOA queries are not signed: any server answers them.
        let answer = self.query(origin, Rtype::SOA).await?;
        if answer.header().rcode() != Rcode::NOERROR || !answer.header().aa() {
            return Ok(None);
        }
        let section = answer
            .answer()
            .map_err(|_| DnsError::Malformed(self.server))?;
        match section.limit_to::<Soa<ParsedName<&[u8]>>>().next() {
            Some(rr) => {
                let rr = rr.map_err(|_| DnsError::Malformed(self.server))?;
                let soa = rr.data();
                let name = |n: &ParsedName<&[u8]>| {
                    DnsName::new(&n.to_string()).map_err(|_| DnsError::Malformed(self.server))
                };
                Ok(Some(ServedSoa {
                    mname: name(soa.mname())?,
                    rname: name(soa.rname())?,
                    serial: soa.serial().into_int(),
                    refresh: soa.refresh().as_secs(),
                    retry: soa.retry().as_secs(),
                    expire: soa.expire().as_secs(),
                    minimum: soa.minimum().as_secs(),
                }))
            }
            None => Ok(None),
        }
    }

    /// The NS RRset this server answers for `name` (sorted; from the answer or, for a
    /// delegation, the referral).
    pub async fn ns_names(&self, name: &DnsName) -> Result<Vec<DnsName>, DnsError> {
        Ok(self.referral_ns(name).await?.0)
    }

    /// The addresses this server gives for `name` (sorted): authoritative data, or glue when
    /// `name` lies below a delegation.
    pub async fn addresses(&self, name: &DnsName) -> Result<Vec<std::net::IpAddr>, DnsError> {
        let server = self.server;
        let bad = |_: domain::base::wire::ParseError| DnsError::Malformed(server);
        let mut out = Vec::new();
        for rtype in [Rtype::A, Rtype::AAAA] {
            let answer = self.query(name, rtype).await?;
            for section in [
                answer.answer().map_err(bad)?,
                answer.additional().map_err(bad)?,
            ] {
                for rr in section.limit_to::<AllRecordData<&[u8], ParsedName<&[u8]>>>() {
                    let rr = rr.map_err(bad)?;
                    if DnsName::new(&rr.owner().to_string()).ok().as_ref() != Some(name) {
                        continue;
                    }
                    match rr.data() {
                        AllRecordData::A(a) if rtype == Rtype::A => {
                            out.push(std::net::IpAddr::V4(a.addr()))
                        }
                        AllRecordData::Aaaa(a) if rtype == Rtype::AAAA => {
                            out.push(std::net::IpAddr::V6(a.addr()))
                        }
                        _ => {}
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// NOTIFY (RFC 1996) over UDP, waiting briefly for the acknowledgement. Signed with the
    /// client's TSIG key when it has one (RFC 8945), and then the acknowledgement must be
    /// signed too: a secondary that requires the key refuses a NOTIFY without it, and an
    /// unsigned "acknowledgement" could come from anyone.
    pub async fn notify(&self, apex: &ApexConfig, serial: u32) -> Result<(), DnsError> {
        let mut msg = MessageBuilder::new_vec();
        let id = random_id();
        msg.header_mut().set_id(id);
        msg.header_mut().set_opcode(Opcode::NOTIFY);
        msg.header_mut().set_aa(true);
        let mut q = msg.question();
        q.push((apex.origin.to_wire(), Rtype::SOA, Class::IN))
            .map_err(build_err)?;
        let mut ans = q.answer();
        ans.push((
            apex.origin.to_wire(),
            Class::IN,
            apex.ttl,
            soa_rdata(apex, serial),
        ))
        .map_err(build_err)?;
        let mut request = ans.additional();
        let tx = match &self.key {
            Some(key) => Some(
                ClientTransaction::request(key.0.clone(), &mut request, Time48::now())
                    .map_err(build_err)?,
            ),
            None => None,
        };
        let bytes = request.finish();
        let bind: SocketAddr = if self.server.ip().is_loopback() {
            if self.server.is_ipv4() {
                ([127, 0, 0, 1], 0).into()
            } else {
                (std::net::Ipv6Addr::LOCALHOST, 0).into()
            }
        } else if self.server.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let sock = UdpSocket::bind(bind).await.map_err(|e| self.io(e))?;
        // Bounded: a UDP answer is read into this buffer and no further.
        let mut buf = vec![0u8; 4096];
        for _attempt in 0..3 {
            sock.send_to(&bytes, self.server)
                .await
                .map_err(|e| self.io(e))?;
            let deadline = tokio::time::Instant::now() + self.timeout / 3;
            // Anything that is not our answer (another id, another sender, garbage) is
            // ignored until the attempt's time is up.
            while let Ok(Ok((len, from))) =
                tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await
            {
                if from != self.server {
                    continue;
                }
                let Ok(mut m) = Message::from_octets(buf[..len].to_vec()) else {
                    continue;
                };
                if m.header().id() != id || !m.header().qr() {
                    continue;
                }
                let rcode = m.header().rcode();
                if rcode != Rcode::NOERROR {
                    return Err(DnsError::Rcode {
                        server: self.server,
                        rcode,
                    });
                }
                if let Some(tx) = &tx {
                    tx.answer(&mut m, Time48::now())
                        .map_err(|e| DnsError::Tsig {
                            server: self.server,
                            reason: e.to_string(),
                        })?;
                }
                return Ok(());
            }
        }
        Err(DnsError::Timeout(self.server))
    }

    /// Transfers the whole zone (AXFR, TSIG-signed when a key is set), holding at most
    /// `max_records` records.
    pub async fn axfr(&self, origin: &DnsName, max_records: usize) -> Result<ServedZone, DnsError> {
        let mut msg = MessageBuilder::new_vec();
        let id = random_id();
        msg.header_mut().set_id(id);
        let mut q = msg.question();
        q.push((origin.to_wire(), Rtype::AXFR)).map_err(build_err)?;
        let mut request = q.additional();
        let mut seq = match &self.key {
            Some(key) => Some(
                ClientSequence::request(key.0.clone(), &mut request, Time48::now())
                    .map_err(build_err)?,
            ),
            None => None,
        };
        let request = request.finish();
        let mut stream = self.connect().await?;
        write_frame(&mut stream, &request)
            .await
            .map_err(|e| self.io(e))?;
        let mut served = ServedZone {
            serial: 0,
            apex_ns: Vec::new(),
            nodes: BTreeMap::new(),
            unexpected: Vec::new(),
        };
        let mut soa_seen = 0usize;
        let mut records = 0usize;
        while soa_seen < 2 {
            let frame = tokio::time::timeout(self.timeout, read_frame(&mut stream))
                .await
                .map_err(|_| DnsError::Timeout(self.server))?
                .map_err(|e| self.io(e))?;
            let mut msg =
                Message::from_octets(frame).map_err(|_| DnsError::Malformed(self.server))?;
            if msg.header().id() != id || !msg.header().qr() {
                return Err(DnsError::Mismatch(self.server));
            }
            if msg.header().rcode() != Rcode::NOERROR {
                return Err(DnsError::Rcode {
                    server: self.server,
                    rcode: msg.header().rcode(),
                });
            }
            if let Some(seq) = seq.as_mut() {
                seq.answer(&mut msg, Time48::now())
                    .map_err(|e| DnsError::Tsig {
                        server: self.server,
                        reason: e.to_string(),
                    })?;
            }
            let section = msg.answer().map_err(|_| DnsError::Malformed(self.server))?;
            for rr in section.limit_to::<AllRecordData<&[u8], ParsedName<&[u8]>>>() {
                let rr = rr.map_err(|_| DnsError::Malformed(self.server))?;
                records += 1;
                if records > max_records {
                    return Err(DnsError::TooLarge(self.server));
                }
                let owner = DnsName::new(&rr.owner().to_string())
                    .map_err(|_| DnsError::Malformed(self.server))?;
                let at_apex = owner == *origin;
                match rr.data() {
                    AllRecordData::Soa(soa) if at_apex => {
                        soa_seen += 1;
                        served.serial = soa.serial().into_int();
                        if soa_seen == 2 {
                            break;
                        }
                    }
                    AllRecordData::Ns(ns) => {
                        let target = DnsName::new(&ns.nsdname().to_string())
                            .map_err(|_| DnsError::Malformed(self.server))?;
                        if at_apex {
                            served.apex_ns.push(target);
                        } else {
                            served.nodes.entry(owner).or_default().ns.push(target);
                        }
                    }
                    AllRecordData::Ds(ds) if !at_apex => {
                        let ds = Ds::new(
                            ds.key_tag(),
                            ds.algorithm().to_int(),
                            ds.digest_type().to_int(),
                            ds.digest().to_vec(),
                        )
                        .map_err(|_| DnsError::Malformed(self.server))?;
                        served.nodes.entry(owner).or_default().ds.push(ds);
                    }
                    AllRecordData::A(a) if !at_apex => {
                        served.nodes.entry(owner).or_default().a.push(a.addr());
                    }
                    AllRecordData::Aaaa(a) if !at_apex => {
                        served.nodes.entry(owner).or_default().aaaa.push(a.addr());
                    }
                    _ => served.unexpected.push(format!("{owner} {}", rr.rtype())),
                }
            }
        }
        served.apex_ns.sort();
        served.apex_ns.dedup();
        for node in served.nodes.values_mut() {
            node.ns.sort();
            node.ns.dedup();
            node.ds.sort();
            node.ds.dedup();
            node.a.sort();
            node.a.dedup();
            node.aaaa.sort();
            node.aaaa.dedup();
        }
        Ok(served)
    }
}

/// What a server answers about one delegation: the referral's NS and glue, and the DS RRset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Referral {
    pub ns: Vec<DnsName>,
    pub ds: Vec<Ds>,
    pub glue: BTreeMap<DnsName, Vec<std::net::IpAddr>>,
}

impl DnsClient {
    async fn query(&self, name: &DnsName, rtype: Rtype) -> Result<Message<Vec<u8>>, DnsError> {
        let mut msg = MessageBuilder::new_vec();
        msg.header_mut().set_id(random_id());
        let mut q = msg.question();
        q.push((name.to_wire(), rtype)).map_err(build_err)?;
        let plain = DnsClient {
            key: None,
            ..self.clone()
        };
        plain.exchange(q.additional()).await
    }

    /// The NS names for `name` from the answer and authority sections, sorted, and the answer.
    async fn referral_ns(
        &self,
        name: &DnsName,
    ) -> Result<(Vec<DnsName>, Message<Vec<u8>>), DnsError> {
        let answer = self.query(name, Rtype::NS).await?;
        let server = self.server;
        let bad = |_: domain::base::wire::ParseError| DnsError::Malformed(server);
        let bad_name = |_: crate::name::NameError| DnsError::Malformed(server);
        let mut ns = Vec::new();
        for section in [
            answer.answer().map_err(bad)?,
            answer.authority().map_err(bad)?,
        ] {
            for rr in section.limit_to::<domain::rdata::Ns<ParsedName<&[u8]>>>() {
                let rr = rr.map_err(bad)?;
                if DnsName::new(&rr.owner().to_string()).ok().as_ref() == Some(name) {
                    ns.push(DnsName::new(&rr.data().nsdname().to_string()).map_err(bad_name)?);
                }
            }
        }
        ns.sort();
        ns.dedup();
        Ok((ns, answer))
    }

    /// Asks (non-recursively) for `name`'s NS and DS, as a resolver would.
    pub async fn referral(&self, name: &DnsName) -> Result<Referral, DnsError> {
        let mut out = Referral::default();
        let (ns, answer) = self.referral_ns(name).await?;
        out.ns = ns;
        let server = self.server;
        let bad = |_: domain::base::wire::ParseError| DnsError::Malformed(server);
        let bad_name = |_: crate::name::NameError| DnsError::Malformed(server);
        let additional = answer.additional().map_err(bad)?;
        for rr in additional.limit_to::<AllRecordData<&[u8], ParsedName<&[u8]>>>() {
            let rr = rr.map_err(bad)?;
            let owner = DnsName::new(&rr.owner().to_string()).map_err(bad_name)?;
            let addr = match rr.data() {
                AllRecordData::A(a) => std::net::IpAddr::V4(a.addr()),
                AllRecordData::Aaaa(a) => std::net::IpAddr::V6(a.addr()),
                _ => continue,
            };
            out.glue.entry(owner).or_default().push(addr);
        }
        let answer = self.query(name, Rtype::DS).await?;
        for rr in answer
            .answer()
            .map_err(bad)?
            .limit_to::<domain::rdata::Ds<&[u8]>>()
        {
            let rr = rr.map_err(bad)?;
            let d = rr.data();
            out.ds.push(
                Ds::new(
                    d.key_tag(),
                    d.algorithm().to_int(),
                    d.digest_type().to_int(),
                    d.digest().to_vec(),
                )
                .map_err(|_| DnsError::Malformed(self.server))?,
            );
        }
        out.ns.sort();
        out.ns.dedup();
        out.ds.sort();
        for v in out.glue.values_mut() {
            v.sort();
            v.dedup();
        }
        Ok(out)
    }
}
