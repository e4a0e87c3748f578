//! The domain name mapping (RFC 5731): commands and response data.

use std::net::IpAddr;

use crate::common::*;

status_enum!(
    /// `domain:statusValueType`.
    DomainStatus {
        ClientDeleteProhibited = "clientDeleteProhibited",
        ClientHold = "clientHold",
        ClientRenewProhibited = "clientRenewProhibited",
        ClientTransferProhibited = "clientTransferProhibited",
        ClientUpdateProhibited = "clientUpdateProhibited",
        Inactive = "inactive",
        Ok = "ok",
        PendingCreate = "pendingCreate",
        PendingDelete = "pendingDelete",
        PendingRenew = "pendingRenew",
        PendingTransfer = "pendingTransfer",
        PendingUpdate = "pendingUpdate",
        ServerDeleteProhibited = "serverDeleteProhibited",
        ServerHold = "serverHold",
        ServerRenewProhibited = "serverRenewProhibited",
        ServerTransferProhibited = "serverTransferProhibited",
        ServerUpdateProhibited = "serverUpdateProhibited",
    }
);

/// The role of a domain contact (`domain:contactAttrType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum ContactType {
    Admin,
    Billing,
    Tech,
}

impl ContactType {
    pub const ALL: [ContactType; 3] = [ContactType::Admin, ContactType::Billing, ContactType::Tech];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactType::Admin => "admin",
            ContactType::Billing => "billing",
            ContactType::Tech => "tech",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// A contact of a domain with its role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DomainContact {
    pub contact_type: ContactType,
    pub id: ContactId,
}

/// A name server given inline with its addresses (`domain:hostAttr`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HostAttr {
    pub name: HostName,
    pub addrs: Vec<IpAddr>,
}

/// The `<domain:ns>` element: either host object references or host attributes; the schema
/// forbids mixing the two in one element.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum NameServers {
    HostObj(Vec<HostName>),
    HostAttr(Vec<HostAttr>),
}

impl NameServers {
    /// At most 13 name servers per `<domain:ns>` (`domain:nsType`).
    pub const MAX: usize = 13;

    pub fn len(&self) -> usize {
        match self {
            NameServers::HostObj(v) => v.len(),
            NameServers::HostAttr(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The names, whatever the form.
    pub fn names(&self) -> Vec<&HostName> {
        match self {
            NameServers::HostObj(v) => v.iter().collect(),
            NameServers::HostAttr(v) => v.iter().map(|h| &h.name).collect(),
        }
    }
}

/// The `hosts` attribute of `<domain:info>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum HostsFilter {
    #[default]
    All,
    Del,
    Sub,
    None,
}

impl HostsFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            HostsFilter::All => "all",
            HostsFilter::Del => "del",
            HostsFilter::Sub => "sub",
            HostsFilter::None => "none",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        [
            HostsFilter::All,
            HostsFilter::Del,
            HostsFilter::Sub,
            HostsFilter::None,
        ]
        .into_iter()
        .find(|h| h.as_str() == s)
    }
}

/// A domain command (RFC 5731 section 3).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum DomainCommand {
    /// Names stay unchecked [`Label`]s so that a bad name is answered "not available" rather
    /// than failing the whole check.
    Check(Vec<Label>),
    Info(DomainInfo),
    Create(DomainCreate),
    Delete(DomainName),
    Renew(DomainRenew),
    Transfer(DomainTransfer),
    Update(DomainUpdate),
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DomainInfo {
    pub name: DomainName,
    pub hosts: HostsFilter,
    pub auth_info: Option<AuthInfo>,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DomainCreate {
    pub name: DomainName,
    pub period: Option<Period>,
    pub ns: Option<NameServers>,
    pub registrant: Option<ContactId>,
    pub contacts: Vec<DomainContact>,
    pub auth_info: AuthInfo,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DomainRenew {
    pub name: DomainName,
    pub cur_exp_date: chrono::NaiveDate,
    pub period: Option<Period>,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DomainTransfer {
    pub op: TransferOp,
    pub name: DomainName,
    pub period: Option<Period>,
    pub auth_info: Option<AuthInfo>,
}

/// What `<domain:add>` or `<domain:rem>` carries.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DomainAddRem {
    pub ns: Option<NameServers>,
    pub contacts: Vec<DomainContact>,
    pub statuses: Vec<StatusEntry<DomainStatus>>,
}

impl DomainAddRem {
    pub fn is_empty(&self) -> bool {
        self.ns.as_ref().is_none_or(NameServers::is_empty)
            && self.contacts.is_empty()
            && self.statuses.is_empty()
    }
}

/// An authInfo change: a new value, or `<domain:null/>` to remove it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum AuthInfoChange {
    Set(AuthInfo),
    Remove,
}

/// What `<domain:chg>` carries. `registrant: Some(None)` is an empty `<domain:registrant/>`,
/// which removes the registrant.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DomainChg {
    pub registrant: Option<Option<ContactId>>,
    pub auth_info: Option<AuthInfoChange>,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DomainUpdate {
    pub name: DomainName,
    pub add: DomainAddRem,
    pub rem: DomainAddRem,
    pub chg: Option<DomainChg>,
}

/// `<domain:infData>`. Optional fields are those RFC 5731 lets the server omit (for a client
/// that is not the sponsor, or that are not set).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DomainInfoData {
    pub name: DomainName,
    pub roid: Roid,
    pub statuses: Vec<StatusEntry<DomainStatus>>,
    pub registrant: Option<ContactId>,
    pub contacts: Vec<DomainContact>,
    pub ns: Option<NameServers>,
    /// Subordinate hosts.
    pub hosts: Vec<HostName>,
    pub cl_id: ClientId,
    pub cr_id: Option<ClientId>,
    pub cr_date: Option<Timestamp>,
    pub up_id: Option<ClientId>,
    pub up_date: Option<Timestamp>,
    pub ex_date: Option<Timestamp>,
    pub tr_date: Option<Timestamp>,
    pub auth_info: Option<AuthInfo>,
}

/// `<domain:creData>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DomainCreateData {
    pub name: DomainName,
    pub cr_date: Timestamp,
    pub ex_date: Option<Timestamp>,
}

/// `<domain:renData>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DomainRenewData {
    pub name: DomainName,
    pub ex_date: Option<Timestamp>,
}

/// `<domain:panData>`: the outcome of an action that was pending (in poll messages).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PendingActionData {
    /// Domain name, host name or contact id.
    pub object: String,
    pub pa_result: bool,
    pub pa_cl_trid: Option<ClTrid>,
    pub pa_sv_trid: SvTrid,
    pub pa_date: Timestamp,
}
