//! The host mapping (RFC 5732): commands and response data.

use std::net::IpAddr;

use crate::common::*;

status_enum!(
    /// `host:statusValueType`.
    HostStatus {
        ClientDeleteProhibited = "clientDeleteProhibited",
        ClientUpdateProhibited = "clientUpdateProhibited",
        Linked = "linked",
        Ok = "ok",
        PendingCreate = "pendingCreate",
        PendingDelete = "pendingDelete",
        PendingTransfer = "pendingTransfer",
        PendingUpdate = "pendingUpdate",
        ServerDeleteProhibited = "serverDeleteProhibited",
        ServerUpdateProhibited = "serverUpdateProhibited",
    }
);

/// A host command (RFC 5732 section 3). There is no host transfer.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum HostCommand {
    Check(Vec<Label>),
    Info(HostName),
    Create(HostCreate),
    Delete(HostName),
    Update(HostUpdate),
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HostCreate {
    pub name: HostName,
    pub addrs: Vec<IpAddr>,
}

/// What `<host:add>` or `<host:rem>` carries.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HostAddRem {
    pub addrs: Vec<IpAddr>,
    pub statuses: Vec<StatusEntry<HostStatus>>,
}

impl HostAddRem {
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty() && self.statuses.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HostUpdate {
    pub name: HostName,
    pub add: HostAddRem,
    pub rem: HostAddRem,
    /// `<host:chg><host:name>`: the new name.
    pub new_name: Option<HostName>,
}

/// `<host:infData>`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HostInfoData {
    pub name: HostName,
    pub roid: Roid,
    pub statuses: Vec<StatusEntry<HostStatus>>,
    pub addrs: Vec<IpAddr>,
    pub cl_id: ClientId,
    pub cr_id: ClientId,
    pub cr_date: Timestamp,
    pub up_id: Option<ClientId>,
    pub up_date: Option<Timestamp>,
    pub tr_date: Option<Timestamp>,
}

/// `<host:creData>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HostCreateData {
    pub name: HostName,
    pub cr_date: Timestamp,
}
