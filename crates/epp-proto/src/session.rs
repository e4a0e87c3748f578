//! Session management and poll commands (RFC 5730 sections 2.9.1 and 2.9.2.3).

use crate::common::*;

/// `<login>`. The password is a [`Password`], which never prints.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Login {
    pub cl_id: ClientId,
    pub pw: Password,
    pub new_pw: Option<Password>,
    /// `<options><version>`; RFC 5730 knows only "1.0".
    pub version: String,
    /// `<options><lang>`.
    pub lang: String,
    /// `<svcs><objURI>`.
    pub obj_uris: Vec<String>,
    /// `<svcs><svcExtension><extURI>`.
    pub ext_uris: Vec<String>,
}

/// `<poll op="req"/>` or `<poll op="ack" msgID="…"/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum Poll {
    Request,
    Acknowledge(MsgId),
}
