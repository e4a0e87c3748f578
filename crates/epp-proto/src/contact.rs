//! The contact mapping (RFC 5733): commands and response data.

use crate::common::*;

status_enum!(
    /// `contact:statusValueType`.
    ContactStatus {
        ClientDeleteProhibited = "clientDeleteProhibited",
        ClientTransferProhibited = "clientTransferProhibited",
        ClientUpdateProhibited = "clientUpdateProhibited",
        Linked = "linked",
        Ok = "ok",
        PendingCreate = "pendingCreate",
        PendingDelete = "pendingDelete",
        PendingTransfer = "pendingTransfer",
        PendingUpdate = "pendingUpdate",
        ServerDeleteProhibited = "serverDeleteProhibited",
        ServerTransferProhibited = "serverTransferProhibited",
        ServerUpdateProhibited = "serverUpdateProhibited",
    }
);

/// `int` (ASCII only) or `loc` (any script) postal information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum PostalInfoType {
    Int,
    Loc,
}

impl PostalInfoType {
    pub fn as_str(self) -> &'static str {
        match self {
            PostalInfoType::Int => "int",
            PostalInfoType::Loc => "loc",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        match s {
            "int" => Some(PostalInfoType::Int),
            "loc" => Some(PostalInfoType::Loc),
            _ => None,
        }
    }
}

/// `<contact:addr>`: 0-3 streets, city, state/province, postal code, country code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Address {
    pub street: Vec<String>,
    pub city: String,
    pub sp: Option<String>,
    pub pc: Option<String>,
    pub cc: String,
}

/// `<contact:postalInfo>` in a create or info.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PostalInfo {
    pub info_type: PostalInfoType,
    pub name: String,
    pub org: Option<String>,
    pub addr: Address,
}

/// `<contact:postalInfo>` in an update's `<chg>`: every part optional.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PostalInfoChange {
    pub info_type: PostalInfoType,
    pub name: Option<String>,
    /// `Some(None)`: an empty `<contact:org/>` removes the organisation.
    pub org: Option<Option<String>>,
    pub addr: Option<Address>,
}

/// A telephone number in E.164a form (`+1.7035555555`) with an optional extension.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Phone {
    pub number: String,
    pub ext: Option<String>,
}

/// A disclosable element named in `<contact:disclose>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum DiscloseField {
    Name(PostalInfoType),
    Org(PostalInfoType),
    Addr(PostalInfoType),
    Voice,
    Fax,
    Email,
}

/// `<contact:disclose flag="…">`: the fields to disclose (`flag=1`) or hide (`flag=0`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Disclose {
    pub flag: bool,
    pub fields: Vec<DiscloseField>,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum ContactCommand {
    Check(Vec<ContactId>),
    Info {
        id: ContactId,
        auth_info: Option<AuthInfo>,
    },
    Create(ContactCreate),
    Delete(ContactId),
    Transfer {
        op: TransferOp,
        id: ContactId,
        auth_info: Option<AuthInfo>,
    },
    Update(ContactUpdate),
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ContactCreate {
    pub id: ContactId,
    /// One or two (one `int`, one `loc`).
    pub postal_info: Vec<PostalInfo>,
    pub voice: Option<Phone>,
    pub fax: Option<Phone>,
    pub email: String,
    pub auth_info: AuthInfo,
    pub disclose: Option<Disclose>,
}

#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ContactChg {
    pub postal_info: Vec<PostalInfoChange>,
    /// `Some(None)`: an empty element removes the number.
    pub voice: Option<Option<Phone>>,
    pub fax: Option<Option<Phone>>,
    pub email: Option<String>,
    pub auth_info: Option<AuthInfo>,
    pub disclose: Option<Disclose>,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ContactUpdate {
    pub id: ContactId,
    pub add: Vec<StatusEntry<ContactStatus>>,
    pub rem: Vec<StatusEntry<ContactStatus>>,
    pub chg: Option<ContactChg>,
}

/// `<contact:infData>`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ContactInfoData {
    pub id: ContactId,
    pub roid: Roid,
    pub statuses: Vec<StatusEntry<ContactStatus>>,
    pub postal_info: Vec<PostalInfo>,
    pub voice: Option<Phone>,
    pub fax: Option<Phone>,
    pub email: String,
    pub cl_id: ClientId,
    pub cr_id: ClientId,
    pub cr_date: Timestamp,
    pub up_id: Option<ClientId>,
    pub up_date: Option<Timestamp>,
    pub tr_date: Option<Timestamp>,
    pub auth_info: Option<AuthInfo>,
    pub disclose: Option<Disclose>,
}

/// `<contact:creData>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ContactCreateData {
    pub id: ContactId,
    pub cr_date: Timestamp,
}
