//! Change poll, changePoll-1.0 (RFC 8590): a poll message about a change to a registrar's
//! object that the registrar did not make itself (the registry's scheduler, an operator). The
//! message's `<resData>` is the object's `<infData>` and `<extension>` carries
//! `<changePoll:changeData>`: what was done (operation), when, under which svTRID, by whom,
//! and why.

use crate::common::Timestamp;
use crate::value::SvTrid;
use crate::ValueError;

/// The extension's namespace URI (listed in the greeting's `<svcExtension>`).
pub const NS: &str = "urn:ietf:params:xml:ns:changePoll-1.0";

/// `changePoll:operationEnum` (RFC 8590 section 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum Operation {
    Create,
    Delete,
    Renew,
    Transfer,
    Update,
    Restore,
    AutoRenew,
    AutoDelete,
    AutoPurge,
    Custom,
}

impl Operation {
    pub const ALL: [Operation; 10] = [
        Operation::Create,
        Operation::Delete,
        Operation::Renew,
        Operation::Transfer,
        Operation::Update,
        Operation::Restore,
        Operation::AutoRenew,
        Operation::AutoDelete,
        Operation::AutoPurge,
        Operation::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Delete => "delete",
            Operation::Renew => "renew",
            Operation::Transfer => "transfer",
            Operation::Update => "update",
            Operation::Restore => "restore",
            Operation::AutoRenew => "autoRenew",
            Operation::AutoDelete => "autoDelete",
            Operation::AutoPurge => "autoPurge",
            Operation::Custom => "custom",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// `changePoll:stateType`: whether the object in `<resData>` is as it was before the change
/// or as it is after it (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum ChangeState {
    Before,
    After,
}

impl ChangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Before => "before",
            ChangeState::After => "after",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        match s {
            "before" => Some(ChangeState::Before),
            "after" => Some(ChangeState::After),
            _ => None,
        }
    }
}

/// `changePoll:whoType`: a normalized string of 1-255 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Who(String);

impl Who {
    pub fn new(raw: &str) -> Result<Self, ValueError> {
        normalized("changePoll:who", raw, 255).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `eppcom:reasonType`: a normalized string of 1-32 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Reason(String);

impl Reason {
    pub const MAX_LEN: usize = 32;

    pub fn new(raw: &str) -> Result<Self, ValueError> {
        normalized("changePoll:reason", raw, Self::MAX_LEN).map(Self)
    }

    /// `raw` cut to [`Reason::MAX_LEN`] characters (an operator's free text); `None` when
    /// nothing is left.
    pub fn truncated(raw: &str) -> Option<Self> {
        let s: String = raw
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .trim()
            .chars()
            .take(Self::MAX_LEN)
            .collect();
        Self::new(s.trim_end()).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A normalized string (no tab, CR or LF) of 1..=`max` characters.
fn normalized(what: &'static str, raw: &str, max: usize) -> Result<String, ValueError> {
    if raw.contains(['\t', '\r', '\n']) {
        return Err(ValueError::Syntax {
            what,
            reason: "tab or line break",
        });
    }
    let got = raw.chars().count();
    if got == 0 || got > max {
        return Err(ValueError::Length {
            what,
            min: 1,
            max,
            got,
        });
    }
    Ok(raw.to_owned())
}

/// `<changePoll:changeData>`: the change a poll message tells of. `op` names the
/// sub-operation, or the operation when `operation` is `custom` (RFC 8590 section 2.1:
/// `<changePoll:operation op="purge">delete</changePoll:operation>`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ChangeData {
    pub state: ChangeState,
    pub operation: Operation,
    pub op: Option<String>,
    pub date: Timestamp,
    pub sv_trid: SvTrid,
    pub who: Who,
    pub reason: Option<Reason>,
}
