//! The command line: connection options and one subcommand per EPP command, and the mapping
//! from parsed arguments to `epp-proto` commands.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use epp_proto::contact::{
    Address, ContactChg, ContactCommand, ContactCreate, ContactStatus, ContactUpdate, Phone,
    PostalInfo, PostalInfoType,
};
use epp_proto::domain::{
    AuthInfoChange, ContactType, DomainAddRem, DomainChg, DomainCommand, DomainContact,
    DomainCreate, DomainInfo, DomainRenew, DomainStatus, DomainTransfer, DomainUpdate, HostsFilter,
    NameServers,
};
use epp_proto::ext::registry_lock::{RegistryLockCommand, UnlockDuration};
use epp_proto::ext::rgp::RgpUpdate;
use epp_proto::ext::sec_dns::{DsData, DsOrKeyData, SecDnsCreate, SecDnsRem, SecDnsUpdate};
use epp_proto::ext::CommandExtension;
use epp_proto::host::{HostAddRem, HostCommand, HostCreate, HostStatus, HostUpdate};
use epp_proto::session::Poll;
use epp_proto::{
    AuthInfo, Command, ContactId, HostName, Label, MsgId, Period, PeriodUnit, StatusEntry,
    TransferOp,
};

#[derive(Debug, Parser)]
#[command(
    name = "epp-cli",
    version,
    about = "EPP client: runs one command in a logged-in session, or a shell"
)]
pub struct Cli {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Print the request and response XML frames.
    #[arg(long, global = true)]
    pub xml: bool,
    /// Print the response as JSON (for scripts; the schema: `epp-cli schema`).
    #[arg(long, global = true, conflicts_with = "xml")]
    pub json: bool,
    /// Also print authInfo passwords (hidden by default, in text and JSON).
    #[arg(long, global = true)]
    pub show_secrets: bool,
    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ConnArgs {
    /// Connection profile (TOML); default $EPP_CLI_PROFILE or ~/.config/epp-cli/profile.toml.
    #[arg(long, short = 'p', global = true)]
    pub profile: Option<PathBuf>,
    /// Server address, host:port.
    #[arg(long, global = true)]
    pub server: Option<String>,
    /// Name to verify in the server certificate (default: the host of --server).
    #[arg(long, global = true)]
    pub server_name: Option<String>,
    /// Client certificate (PEM).
    #[arg(long, global = true)]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, global = true)]
    pub key: Option<PathBuf>,
    /// CA certificate(s) that issued the server certificate (PEM).
    #[arg(long, global = true)]
    pub ca: Option<PathBuf>,
    /// Registrar clID.
    #[arg(long, global = true)]
    pub cl_id: Option<String>,
    /// Read the password from this file (else $EPP_PASSWORD, else a prompt).
    #[arg(long, global = true)]
    pub password_file: Option<PathBuf>,
    /// Local address to connect from.
    #[arg(long, global = true)]
    pub bind: Option<IpAddr>,
    /// Seconds to wait for the server.
    #[arg(long, global = true, default_value_t = 30)]
    pub timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Send a hello and show the greeting (no login).
    Hello,
    /// Domain commands (RFC 5731).
    #[command(subcommand)]
    Domain(DomainCmd),
    /// Host commands (RFC 5732).
    #[command(subcommand)]
    Host(HostCmd),
    /// Contact commands (RFC 5733).
    #[command(subcommand)]
    Contact(ContactCmd),
    /// Poll the message queue.
    #[command(subcommand)]
    Poll(PollCmd),
    /// Send an XML file as it is (after login).
    Raw { file: PathBuf },
    /// Change the password: log in with the current one and set NEW (read from $EPP_NEW_PASSWORD or a prompt).
    Passwd,
    /// An interactive session: one login, many commands, with line editing, history and
    /// completion.
    Shell,
    /// Run the commands of FILE (one per line, as on the command line; `-` reads standard
    /// input) over one session, or over several in parallel.
    Batch(BatchArgs),
    /// Print the JSON schema of `--json` output.
    Schema,
}

/// What to do after a line failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnError {
    /// Send no further line (lines already sent in other sessions finish).
    Stop,
    /// Go on with the next line.
    Continue,
}

#[derive(Debug, Args, Clone)]
pub struct BatchArgs {
    /// File of commands, one per line (`#` starts a comment); `-` for standard input.
    pub file: String,
    /// Sessions to run the lines over; with more than one, lines run in any order.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub sessions: u16,
    /// After a failed line: stop sending, or continue with the next line.
    #[arg(long, value_enum, default_value = "stop")]
    pub on_error: OnError,
    /// Print every line's answer, not only the failures' (text output).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// No progress bar (it is only ever drawn on a terminal).
    #[arg(long)]
    pub no_progress: bool,
}

/// One line of a batch file or of the shell: a subcommand without connection options.
#[derive(Debug, Parser)]
#[command(name = "epp-cli", no_binary_name = true, disable_version_flag = true)]
pub struct Line {
    #[command(subcommand)]
    pub command: CliCommand,
}

impl Line {
    /// Splits a line as a POSIX shell would and parses it; `Ok(None)` for a blank line or a
    /// comment. A leading `epp-cli` is allowed, so lines can be pasted from a terminal.
    pub fn parse(text: &str) -> Result<Option<Line>, ArgError> {
        let t = text.trim();
        if t.is_empty() || t.starts_with('#') {
            return Ok(None);
        }
        let mut words = shlex::split(t).ok_or_else(|| ArgError("unbalanced quotes".into()))?;
        if words.first().is_some_and(|w| w == "epp-cli") {
            words.remove(0);
        }
        let line = Line::try_parse_from(words).map_err(|e| {
            // clap's message without its usage trailer: one line per batch error.
            let text = e.to_string();
            ArgError(
                text.lines()
                    .next()
                    .unwrap_or("bad arguments")
                    .trim_start_matches("error: ")
                    .to_owned(),
            )
        })?;
        match line.command {
            CliCommand::Shell | CliCommand::Batch(_) | CliCommand::Passwd | CliCommand::Schema => {
                Err(ArgError(
                    "shell, batch, passwd and schema cannot be run from a line".into(),
                ))
            }
            _ => Ok(Some(line)),
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Hosts {
    All,
    Del,
    Sub,
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Op {
    Request,
    Query,
    Approve,
    Reject,
    Cancel,
}

impl From<Op> for TransferOp {
    fn from(op: Op) -> Self {
        match op {
            Op::Request => TransferOp::Request,
            Op::Query => TransferOp::Query,
            Op::Approve => TransferOp::Approve,
            Op::Reject => TransferOp::Reject,
            Op::Cancel => TransferOp::Cancel,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum DomainCmd {
    Check {
        names: Vec<String>,
    },
    Info {
        name: String,
        #[arg(long, value_enum, default_value = "all")]
        hosts: Hosts,
        #[arg(long)]
        auth_info: Option<String>,
    },
    Create {
        name: String,
        #[arg(long)]
        registrant: Option<String>,
        #[arg(long)]
        admin: Vec<String>,
        #[arg(long)]
        tech: Vec<String>,
        #[arg(long)]
        billing: Vec<String>,
        /// Name server (host object), repeatable.
        #[arg(long)]
        ns: Vec<String>,
        /// Period, e.g. 1y or 6m.
        #[arg(long)]
        period: Option<String>,
        /// authInfo; default empty, "none" (RFC 9154: the sponsor sets one when the
        /// registrant asks to transfer).
        #[arg(long, default_value = "")]
        auth_info: String,
        /// DS record KEYTAG:ALG:DIGESTTYPE:HEXDIGEST, repeatable.
        #[arg(long)]
        ds: Vec<String>,
    },
    Update {
        name: String,
        #[arg(long)]
        add_ns: Vec<String>,
        #[arg(long)]
        rem_ns: Vec<String>,
        #[arg(long)]
        add_status: Vec<String>,
        #[arg(long)]
        rem_status: Vec<String>,
        #[arg(long)]
        registrant: Option<String>,
        #[arg(long)]
        auth_info: Option<String>,
        #[arg(long)]
        add_ds: Vec<String>,
        #[arg(long)]
        rem_ds: Vec<String>,
        #[arg(long)]
        rem_all_ds: bool,
    },
    Delete {
        name: String,
    },
    Renew {
        name: String,
        /// The current expiry date, YYYY-MM-DD.
        #[arg(long)]
        cur_exp_date: String,
        #[arg(long)]
        period: Option<String>,
    },
    Transfer {
        #[arg(value_enum)]
        op: Op,
        name: String,
        #[arg(long)]
        auth_info: Option<String>,
        #[arg(long)]
        period: Option<String>,
    },
    /// Ask for a restore of a domain in its redemption period (RFC 3915).
    Restore {
        name: String,
    },
    /// Ask for a registry lock (registryLock-1.0); it takes effect once the registry has
    /// verified the request with the registrar's lock contact.
    Lock {
        name: String,
    },
    /// Ask for the registry lock to be lifted (registryLock-1.0), verified like a lock request.
    Unlock {
        name: String,
        /// Relock after this long (xs:duration, e.g. PT1H or P1DT12H); without it the domain
        /// stays unlocked until a new lock request.
        #[arg(long)]
        duration: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum HostCmd {
    Check {
        names: Vec<String>,
    },
    Info {
        name: String,
    },
    Create {
        name: String,
        #[arg(long)]
        addr: Vec<IpAddr>,
    },
    Update {
        name: String,
        #[arg(long)]
        add_addr: Vec<IpAddr>,
        #[arg(long)]
        rem_addr: Vec<IpAddr>,
        #[arg(long)]
        add_status: Vec<String>,
        #[arg(long)]
        rem_status: Vec<String>,
        #[arg(long)]
        new_name: Option<String>,
    },
    Delete {
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContactCmd {
    Check {
        ids: Vec<String>,
    },
    Info {
        id: String,
        #[arg(long)]
        auth_info: Option<String>,
    },
    Create {
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        street: Vec<String>,
        #[arg(long)]
        city: String,
        #[arg(long)]
        sp: Option<String>,
        #[arg(long)]
        pc: Option<String>,
        #[arg(long)]
        cc: String,
        /// E.164a, e.g. +1.7035555555
        #[arg(long)]
        voice: Option<String>,
        #[arg(long)]
        email: String,
        #[arg(long)]
        auth_info: String,
    },
    Update {
        id: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        voice: Option<String>,
        #[arg(long)]
        auth_info: Option<String>,
        #[arg(long)]
        add_status: Vec<String>,
        #[arg(long)]
        rem_status: Vec<String>,
    },
    Delete {
        id: String,
    },
    Transfer {
        #[arg(value_enum)]
        op: Op,
        id: String,
        #[arg(long)]
        auth_info: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PollCmd {
    /// Fetch the oldest message.
    Req,
    /// Acknowledge (remove) a message.
    Ack { id: String },
}

/// A mistake in the arguments, found before anything is sent.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(pub String);

fn bad(what: &str, e: impl std::fmt::Display) -> ArgError {
    ArgError(format!("{what}: {e}"))
}

fn host(s: &str) -> Result<HostName, ArgError> {
    HostName::new(s).map_err(|e| bad(s, e))
}

fn contact_id(s: &str) -> Result<ContactId, ArgError> {
    ContactId::new(s).map_err(|e| bad(s, e))
}

fn auth(s: &str) -> Result<AuthInfo, ArgError> {
    AuthInfo::new(s, None).map_err(|e| bad("auth-info", e))
}

fn labels(names: &[String]) -> Result<Vec<Label>, ArgError> {
    if names.is_empty() {
        return Err(ArgError("give at least one name".into()));
    }
    names
        .iter()
        .map(|n| Label::new(n).map_err(|e| bad(n, e)))
        .collect()
}

/// `1y`, `6m`, or a bare number of years.
pub fn period(s: &str) -> Result<Period, ArgError> {
    let (num, unit) = match s.strip_suffix(['y', 'Y']) {
        Some(n) => (n, PeriodUnit::Years),
        None => match s.strip_suffix(['m', 'M']) {
            Some(n) => (n, PeriodUnit::Months),
            None => (s, PeriodUnit::Years),
        },
    };
    let value: u8 = num
        .parse()
        .map_err(|_| ArgError(format!("period {s:?}: expected e.g. 1y or 6m")))?;
    Period::new(value, unit).map_err(|e| bad("period", e))
}

/// `KEYTAG:ALG:DIGESTTYPE:HEXDIGEST`.
pub fn ds(s: &str) -> Result<DsData, ArgError> {
    let parts: Vec<&str> = s.split(':').collect();
    let [tag, alg, dt, digest] = parts.as_slice() else {
        return Err(ArgError(format!(
            "DS {s:?}: expected KEYTAG:ALG:DIGESTTYPE:HEXDIGEST"
        )));
    };
    let num = |v: &str, what: &str| {
        v.parse::<u16>()
            .map_err(|_| ArgError(format!("DS {what} {v:?} is not a number")))
    };
    let byte = |v: &str, what: &str| {
        v.parse::<u8>()
            .map_err(|_| ArgError(format!("DS {what} {v:?} is not 0-255")))
    };
    if digest.is_empty() || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ArgError(format!("DS digest {digest:?} is not hex")));
    }
    Ok(DsData {
        key_tag: num(tag, "key tag")?,
        alg: byte(alg, "algorithm")?,
        digest_type: byte(dt, "digest type")?,
        digest: digest.to_ascii_uppercase(),
        key_data: None,
    })
}

fn statuses<S>(
    list: &[String],
    parse: fn(&str) -> Option<S>,
) -> Result<Vec<StatusEntry<S>>, ArgError> {
    list.iter()
        .map(|s| {
            parse(s)
                .map(StatusEntry::new)
                .ok_or_else(|| ArgError(format!("unknown status {s:?}")))
        })
        .collect()
}

fn phone(s: &str) -> Phone {
    Phone {
        number: s.to_owned(),
        ext: None,
    }
}

fn contacts(kind: ContactType, ids: &[String]) -> Result<Vec<DomainContact>, ArgError> {
    ids.iter()
        .map(|id| {
            Ok(DomainContact {
                contact_type: kind,
                id: contact_id(id)?,
            })
        })
        .collect()
}

fn hosts_of(names: &[String]) -> Result<Option<NameServers>, ArgError> {
    if names.is_empty() {
        return Ok(None);
    }
    Ok(Some(NameServers::HostObj(
        names.iter().map(|n| host(n)).collect::<Result<_, _>>()?,
    )))
}

/// Turns a parsed subcommand into the EPP command and its extensions.
pub fn build(cmd: &CliCommand) -> Result<(Command, Vec<CommandExtension>), ArgError> {
    let none = Vec::new;
    Ok(match cmd {
        CliCommand::Hello
        | CliCommand::Raw { .. }
        | CliCommand::Shell
        | CliCommand::Passwd
        | CliCommand::Batch(_)
        | CliCommand::Schema => return Err(ArgError("not an object command".into())),
        CliCommand::Poll(PollCmd::Req) => (Command::Poll(Poll::Request), none()),
        CliCommand::Poll(PollCmd::Ack { id }) => (
            Command::Poll(Poll::Acknowledge(MsgId::new(id).map_err(|e| bad(id, e))?)),
            none(),
        ),
        CliCommand::Domain(d) => build_domain(d)?,
        CliCommand::Host(h) => (Command::Host(build_host(h)?), none()),
        CliCommand::Contact(c) => (Command::Contact(build_contact(c)?), none()),
    })
}

fn build_domain(d: &DomainCmd) -> Result<(Command, Vec<CommandExtension>), ArgError> {
    let mut ext = Vec::new();
    let cmd = match d {
        DomainCmd::Check { names } => DomainCommand::Check(labels(names)?),
        DomainCmd::Info {
            name,
            hosts,
            auth_info,
        } => DomainCommand::Info(DomainInfo {
            name: host(name)?,
            hosts: match hosts {
                Hosts::All => HostsFilter::All,
                Hosts::Del => HostsFilter::Del,
                Hosts::Sub => HostsFilter::Sub,
                Hosts::None => HostsFilter::None,
            },
            auth_info: auth_info.as_deref().map(auth).transpose()?,
        }),
        DomainCmd::Create {
            name,
            registrant,
            admin,
            tech,
            billing,
            ns,
            period: p,
            auth_info,
            ds: dss,
        } => {
            if !dss.is_empty() {
                let data = dss.iter().map(|s| ds(s)).collect::<Result<_, _>>()?;
                ext.push(CommandExtension::SecDnsCreate(SecDnsCreate {
                    max_sig_life: None,
                    data: DsOrKeyData::Ds(data),
                }));
            }
            let mut all = contacts(ContactType::Admin, admin)?;
            all.extend(contacts(ContactType::Tech, tech)?);
            all.extend(contacts(ContactType::Billing, billing)?);
            DomainCommand::Create(DomainCreate {
                name: host(name)?,
                period: p.as_deref().map(period).transpose()?,
                ns: hosts_of(ns)?,
                registrant: registrant.as_deref().map(contact_id).transpose()?,
                contacts: all,
                auth_info: auth(auth_info)?,
            })
        }
        DomainCmd::Update {
            name,
            add_ns,
            rem_ns,
            add_status,
            rem_status,
            registrant,
            auth_info,
            add_ds,
            rem_ds,
            rem_all_ds,
        } => {
            if !add_ds.is_empty() || !rem_ds.is_empty() || *rem_all_ds {
                let add = (!add_ds.is_empty())
                    .then(|| {
                        add_ds
                            .iter()
                            .map(|s| ds(s))
                            .collect::<Result<Vec<_>, _>>()
                            .map(DsOrKeyData::Ds)
                    })
                    .transpose()?;
                let rem = if *rem_all_ds {
                    Some(SecDnsRem::All)
                } else if rem_ds.is_empty() {
                    None
                } else {
                    Some(SecDnsRem::Data(DsOrKeyData::Ds(
                        rem_ds.iter().map(|s| ds(s)).collect::<Result<_, _>>()?,
                    )))
                };
                ext.push(CommandExtension::SecDnsUpdate(SecDnsUpdate {
                    urgent: false,
                    rem,
                    add,
                    chg_max_sig_life: None,
                }));
            }
            let chg = (registrant.is_some() || auth_info.is_some()).then(
                || -> Result<DomainChg, ArgError> {
                    Ok(DomainChg {
                        registrant: registrant
                            .as_deref()
                            .map(|r| contact_id(r).map(Some))
                            .transpose()?,
                        auth_info: auth_info
                            .as_deref()
                            .map(|a| auth(a).map(AuthInfoChange::Set))
                            .transpose()?,
                    })
                },
            );
            DomainCommand::Update(DomainUpdate {
                name: host(name)?,
                add: DomainAddRem {
                    ns: hosts_of(add_ns)?,
                    contacts: Vec::new(),
                    statuses: statuses(add_status, DomainStatus::from_token)?,
                },
                rem: DomainAddRem {
                    ns: hosts_of(rem_ns)?,
                    contacts: Vec::new(),
                    statuses: statuses(rem_status, DomainStatus::from_token)?,
                },
                chg: chg.transpose()?,
            })
        }
        DomainCmd::Delete { name } => DomainCommand::Delete(host(name)?),
        DomainCmd::Renew {
            name,
            cur_exp_date,
            period: p,
        } => DomainCommand::Renew(DomainRenew {
            name: host(name)?,
            cur_exp_date: chrono::NaiveDate::parse_from_str(cur_exp_date, "%Y-%m-%d")
                .map_err(|e| bad("cur-exp-date", e))?,
            period: p.as_deref().map(period).transpose()?,
        }),
        DomainCmd::Transfer {
            op,
            name,
            auth_info,
            period: p,
        } => DomainCommand::Transfer(DomainTransfer {
            op: (*op).into(),
            name: host(name)?,
            period: p.as_deref().map(period).transpose()?,
            auth_info: auth_info.as_deref().map(auth).transpose()?,
        }),
        DomainCmd::Restore { name } => {
            ext.push(CommandExtension::RgpUpdate(RgpUpdate::Request));
            DomainCommand::Update(DomainUpdate {
                name: host(name)?,
                add: DomainAddRem::default(),
                rem: DomainAddRem::default(),
                chg: Some(DomainChg::default()),
            })
        }
        DomainCmd::Lock { name } => {
            ext.push(CommandExtension::RegistryLock(RegistryLockCommand::Lock));
            empty_update(name)?
        }
        DomainCmd::Unlock { name, duration } => {
            let duration = duration
                .as_deref()
                .map(|d| {
                    UnlockDuration::parse(d).ok_or_else(|| {
                        bad(d, "expected an xs:duration from PT1S to P30D, e.g. PT1H")
                    })
                })
                .transpose()?;
            ext.push(CommandExtension::RegistryLock(
                RegistryLockCommand::Unlock { duration },
            ));
            empty_update(name)?
        }
    };
    Ok((Command::Domain(cmd), ext))
}

/// A `<domain:update>` with no add, rem or chg: the carrier of a registry lock request.
fn empty_update(name: &str) -> Result<DomainCommand, ArgError> {
    Ok(DomainCommand::Update(DomainUpdate {
        name: host(name)?,
        add: DomainAddRem::default(),
        rem: DomainAddRem::default(),
        chg: None,
    }))
}

fn build_host(h: &HostCmd) -> Result<HostCommand, ArgError> {
    Ok(match h {
        HostCmd::Check { names } => HostCommand::Check(labels(names)?),
        HostCmd::Info { name } => HostCommand::Info(host(name)?),
        HostCmd::Create { name, addr } => HostCommand::Create(HostCreate {
            name: host(name)?,
            addrs: addr.clone(),
        }),
        HostCmd::Update {
            name,
            add_addr,
            rem_addr,
            add_status,
            rem_status,
            new_name,
        } => HostCommand::Update(HostUpdate {
            name: host(name)?,
            add: HostAddRem {
                addrs: add_addr.clone(),
                statuses: statuses(add_status, HostStatus::from_token)?,
            },
            rem: HostAddRem {
                addrs: rem_addr.clone(),
                statuses: statuses(rem_status, HostStatus::from_token)?,
            },
            new_name: new_name.as_deref().map(host).transpose()?,
        }),
        HostCmd::Delete { name } => HostCommand::Delete(host(name)?),
    })
}

fn build_contact(c: &ContactCmd) -> Result<ContactCommand, ArgError> {
    Ok(match c {
        ContactCmd::Check { ids } => {
            if ids.is_empty() {
                return Err(ArgError("give at least one contact id".into()));
            }
            ContactCommand::Check(
                ids.iter()
                    .map(|i| contact_id(i))
                    .collect::<Result<_, _>>()?,
            )
        }
        ContactCmd::Info { id, auth_info } => ContactCommand::Info {
            id: contact_id(id)?,
            auth_info: auth_info.as_deref().map(auth).transpose()?,
        },
        ContactCmd::Create {
            id,
            name,
            org,
            street,
            city,
            sp,
            pc,
            cc,
            voice,
            email,
            auth_info,
        } => {
            let info_type = if [name, city].iter().all(|s| s.is_ascii())
                && street.iter().all(|s| s.is_ascii())
            {
                PostalInfoType::Int
            } else {
                PostalInfoType::Loc
            };
            ContactCommand::Create(ContactCreate {
                id: contact_id(id)?,
                postal_info: vec![PostalInfo {
                    info_type,
                    name: name.clone(),
                    org: org.clone(),
                    addr: Address {
                        street: street.clone(),
                        city: city.clone(),
                        sp: sp.clone(),
                        pc: pc.clone(),
                        cc: cc.clone(),
                    },
                }],
                voice: voice.as_deref().map(phone),
                fax: None,
                email: email.clone(),
                auth_info: auth(auth_info)?,
                disclose: None,
            })
        }
        ContactCmd::Update {
            id,
            email,
            voice,
            auth_info,
            add_status,
            rem_status,
        } => {
            let chg = (email.is_some() || voice.is_some() || auth_info.is_some()).then(
                || -> Result<_, ArgError> {
                    Ok(ContactChg {
                        email: email.clone(),
                        voice: voice.as_deref().map(|v| Some(phone(v))),
                        auth_info: auth_info.as_deref().map(auth).transpose()?,
                        ..ContactChg::default()
                    })
                },
            );
            ContactCommand::Update(ContactUpdate {
                id: contact_id(id)?,
                add: statuses(add_status, ContactStatus::from_token)?,
                rem: statuses(rem_status, ContactStatus::from_token)?,
                chg: chg.transpose()?,
            })
        }
        ContactCmd::Delete { id } => ContactCommand::Delete(contact_id(id)?),
        ContactCmd::Transfer { op, id, auth_info } => ContactCommand::Transfer {
            op: (*op).into(),
            id: contact_id(id)?,
            auth_info: auth_info.as_deref().map(auth).transpose()?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_ds() {
        assert_eq!(period("2y").unwrap(), Period::years(2).unwrap());
        assert_eq!(period("6m").unwrap().months(), 6);
        assert!(period("0y").is_err());
        assert!(period("1.5").is_err());
        let d = ds("12345:13:2:abcdef").unwrap();
        assert_eq!(
            (d.key_tag, d.alg, d.digest_type, d.digest.as_str()),
            (12345, 13, 2, "ABCDEF")
        );
        assert!(ds("1:2:3").is_err());
        assert!(ds("1:2:300:ab").is_err());
        assert!(ds("1:2:3:xyz").is_err());
    }

    #[test]
    fn domain_create_maps_every_option() {
        let cli = Cli::try_parse_from([
            "epp-cli",
            "domain",
            "create",
            "Example.TEST",
            "--registrant",
            "reg1",
            "--admin",
            "adm1",
            "--tech",
            "tec1",
            "--ns",
            "ns1.example.net",
            "--ns",
            "ns2.example.net",
            "--period",
            "2y",
            "--auth-info",
            "2fooBAR",
            "--ds",
            "1:13:2:ab",
        ])
        .unwrap();
        let (cmd, ext) = build(&cli.command).unwrap();
        let Command::Domain(DomainCommand::Create(c)) = cmd else {
            panic!("{cmd:?}")
        };
        assert_eq!(c.name.as_str(), "example.test");
        assert_eq!(c.contacts.len(), 2);
        assert_eq!(c.ns.unwrap().len(), 2);
        assert_eq!(c.period, Some(Period::years(2).unwrap()));
        assert_eq!(ext.len(), 1);
    }

    fn lock_request(args: &[&str]) -> Result<(DomainUpdate, Vec<CommandExtension>), ArgError> {
        let cli = Cli::try_parse_from([&["epp-cli", "domain"][..], args].concat())
            .map_err(|e| ArgError(e.to_string()))?;
        let (cmd, ext) = build(&cli.command)?;
        let Command::Domain(DomainCommand::Update(u)) = cmd else {
            panic!("{cmd:?}")
        };
        Ok((u, ext))
    }

    #[test]
    fn domain_lock_and_unlock_are_empty_updates_with_the_extension() {
        let (u, ext) = lock_request(&["lock", "Example.TEST"]).unwrap();
        assert_eq!(u.name.as_str(), "example.test");
        assert!(
            u.add.is_empty() && u.rem.is_empty() && u.chg.is_none(),
            "{u:?}"
        );
        assert_eq!(
            ext,
            [CommandExtension::RegistryLock(RegistryLockCommand::Lock)]
        );

        let (u, ext) = lock_request(&["unlock", "example.test"]).unwrap();
        assert!(
            u.add.is_empty() && u.rem.is_empty() && u.chg.is_none(),
            "{u:?}"
        );
        assert_eq!(
            ext,
            [CommandExtension::RegistryLock(
                RegistryLockCommand::Unlock { duration: None }
            )]
        );

        let (_, ext) = lock_request(&["unlock", "example.test", "--duration", "P1DT30M"]).unwrap();
        assert_eq!(
            ext,
            [CommandExtension::RegistryLock(
                RegistryLockCommand::Unlock {
                    duration: UnlockDuration::from_secs(86_400 + 1800)
                }
            )]
        );

        assert!(lock_request(&["unlock", "example.test", "--duration", "P1M"]).is_err());
        assert!(lock_request(&["unlock", "example.test", "--duration", "P31D"]).is_err());
        assert!(lock_request(&["lock", "example.test", "--duration", "PT1H"]).is_err());
        assert!(lock_request(&["lock", "-bad-.test"]).is_err());
    }
}
