//! Redemption grace period mapping, rgp-1.0 (RFC 3915).

use crate::common::Timestamp;

/// `rgp:statusValueType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum RgpStatus {
    AddPeriod,
    AutoRenewPeriod,
    RenewPeriod,
    TransferPeriod,
    PendingDelete,
    PendingRestore,
    RedemptionPeriod,
}

impl RgpStatus {
    pub const ALL: [RgpStatus; 7] = [
        RgpStatus::AddPeriod,
        RgpStatus::AutoRenewPeriod,
        RgpStatus::RenewPeriod,
        RgpStatus::TransferPeriod,
        RgpStatus::PendingDelete,
        RgpStatus::PendingRestore,
        RgpStatus::RedemptionPeriod,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RgpStatus::AddPeriod => "addPeriod",
            RgpStatus::AutoRenewPeriod => "autoRenewPeriod",
            RgpStatus::RenewPeriod => "renewPeriod",
            RgpStatus::TransferPeriod => "transferPeriod",
            RgpStatus::PendingDelete => "pendingDelete",
            RgpStatus::PendingRestore => "pendingRestore",
            RgpStatus::RedemptionPeriod => "redemptionPeriod",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// `<rgp:report>` (RFC 3915 section 4.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RgpReport {
    pub pre_data: String,
    pub post_data: String,
    pub del_time: Timestamp,
    pub res_time: Timestamp,
    pub res_reason: String,
    /// Exactly two statements in the schema.
    pub statements: [String; 2],
    pub other: Option<String>,
}

/// `<rgp:update><rgp:restore op="…">`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum RgpUpdate {
    Request,
    Report(Box<RgpReport>),
}

/// `<rgp:infData>`: the RGP statuses of a domain in an info response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RgpInfoData {
    pub statuses: Vec<RgpStatus>,
}

/// `<rgp:upData>`: the RGP status after a restore request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RgpUpdData {
    pub statuses: Vec<RgpStatus>,
}
