//! Types shared by the object mappings: periods, transfer operations and states, status
//! entries, check results, and the identifiers re-exported from [`crate::value`].

use crate::value::ValueError;
pub use crate::value::{
    AuthInfo, ClTrid, ClientId, ContactId, DomainName, HostName, Label, MsgId, Password, Roid,
    SvTrid,
};

/// A point in time as EPP carries it (`xs:dateTime`, always written in UTC).
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// The unit of a registration period (`domain:pUnitType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum PeriodUnit {
    Years,
    Months,
}

impl PeriodUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodUnit::Years => "y",
            PeriodUnit::Months => "m",
        }
    }
}

/// A registration period (`domain:periodType`: 1-99 years or months).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Period {
    value: u8,
    unit: PeriodUnit,
}

impl Period {
    pub fn new(value: u8, unit: PeriodUnit) -> Result<Self, ValueError> {
        if !(1..=99).contains(&value) {
            return Err(ValueError::Range { what: "period" });
        }
        Ok(Self { value, unit })
    }

    pub fn years(value: u8) -> Result<Self, ValueError> {
        Self::new(value, PeriodUnit::Years)
    }

    pub fn value(self) -> u8 {
        self.value
    }

    pub fn unit(self) -> PeriodUnit {
        self.unit
    }

    /// The period in months, whatever its unit.
    pub fn months(self) -> u32 {
        match self.unit {
            PeriodUnit::Years => u32::from(self.value) * 12,
            PeriodUnit::Months => u32::from(self.value),
        }
    }
}

/// The `op` of a `<transfer>` command (RFC 5730 section 2.9.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum TransferOp {
    Request,
    Query,
    Approve,
    Reject,
    Cancel,
}

impl TransferOp {
    pub const ALL: [TransferOp; 5] = [
        TransferOp::Request,
        TransferOp::Query,
        TransferOp::Approve,
        TransferOp::Reject,
        TransferOp::Cancel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferOp::Request => "request",
            TransferOp::Query => "query",
            TransferOp::Approve => "approve",
            TransferOp::Reject => "reject",
            TransferOp::Cancel => "cancel",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == s)
    }
}

/// The state of a transfer (`eppcom:trStatusType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum TransferStatus {
    ClientApproved,
    ClientCancelled,
    ClientRejected,
    Pending,
    ServerApproved,
    ServerCancelled,
}

impl TransferStatus {
    pub const ALL: [TransferStatus; 6] = [
        TransferStatus::ClientApproved,
        TransferStatus::ClientCancelled,
        TransferStatus::ClientRejected,
        TransferStatus::Pending,
        TransferStatus::ServerApproved,
        TransferStatus::ServerCancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::ClientApproved => "clientApproved",
            TransferStatus::ClientCancelled => "clientCancelled",
            TransferStatus::ClientRejected => "clientRejected",
            TransferStatus::Pending => "pending",
            TransferStatus::ServerApproved => "serverApproved",
            TransferStatus::ServerCancelled => "serverCancelled",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// A status value with its optional human-readable reason (`<domain:status s="…" lang="…">
/// reason</domain:status>`), generic over the object's status enum.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct StatusEntry<S> {
    pub status: S,
    pub lang: Option<String>,
    pub reason: Option<String>,
}

impl<S> StatusEntry<S> {
    pub fn new(status: S) -> Self {
        Self {
            status,
            lang: None,
            reason: None,
        }
    }
}

/// One line of a `<check>` answer: the name or id, whether it is available, and why not.
/// The reason is an `eppcom:reasonBaseType`: 1-32 characters; the codec refuses longer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CheckItem {
    pub name: String,
    pub available: bool,
    pub reason: Option<String>,
}

/// The transfer data of a `<transfer>` response or poll message (`trnData`), shared by
/// domains and contacts (the domain one also carries `exDate`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TransferData {
    /// Domain name or contact id.
    pub object: String,
    pub tr_status: TransferStatus,
    pub re_id: ClientId,
    pub re_date: Timestamp,
    pub ac_id: ClientId,
    pub ac_date: Timestamp,
    /// Domains only: the expiry date the transfer gives (or gave) the domain.
    pub ex_date: Option<Timestamp>,
}

/// Generates a status enum with its RFC token mapping.
macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $token:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        #[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
        pub enum $name { $($variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $token,)* }
            }

            pub fn from_token(s: &str) -> Option<Self> {
                match s { $($token => Some($name::$variant),)* _ => None }
            }

            /// `client*` statuses are the sponsor's to set; all others belong to the server.
            pub fn is_client_settable(self) -> bool {
                self.as_str().starts_with("client")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use status_enum;
