//! Responses (RFC 5730 section 2.6): results, message queue, response data, extensions and
//! transaction identifiers.

use crate::common::*;
use crate::contact::{ContactCreateData, ContactInfoData};
use crate::domain::{DomainCreateData, DomainInfoData, DomainRenewData, PendingActionData};
use crate::ext::ResponseExtension;
use crate::host::{HostCreateData, HostInfoData};
use crate::ResultCode;

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Response {
    /// One or more; the first is the command's outcome.
    pub results: Vec<EppResult>,
    pub msg_q: Option<MsgQ>,
    pub res_data: Option<ResponseData>,
    pub extensions: Vec<ResponseExtension>,
    pub tr_id: TrId,
}

impl Response {
    /// A response with one result, the code's standard text, and nothing else.
    pub fn from_code(code: ResultCode, tr_id: TrId) -> Self {
        Self {
            results: vec![EppResult::new(code)],
            msg_q: None,
            res_data: None,
            extensions: Vec::new(),
            tr_id,
        }
    }

    /// The code of the first result.
    pub fn code(&self) -> Option<ResultCode> {
        self.results.first().map(|r| r.code)
    }
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct EppResult {
    pub code: ResultCode,
    pub msg: String,
    /// `lang` of `<msg>`; `None` means the default, "en".
    pub lang: Option<String>,
    pub values: Vec<ValueElement>,
    pub ext_values: Vec<ExtValue>,
}

impl EppResult {
    pub fn new(code: ResultCode) -> Self {
        Self {
            code,
            msg: code.text().to_owned(),
            lang: None,
            values: Vec::new(),
            ext_values: Vec::new(),
        }
    }
}

/// An element echoed in `<value>`: namespace URI, local name and text; the codec picks a
/// prefix. E.g. `urn:ietf:params:xml:ns:domain-1.0`, `name`, `-bad.test`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ValueElement {
    pub namespace: String,
    pub name: String,
    pub text: String,
}

/// `<extValue>`: the offending element and why it was refused (`epp:msgType`). The
/// 32-character bound of `eppcom:reasonBaseType` applies to check reasons, not here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ExtValue {
    pub value: ValueElement,
    pub reason: String,
    pub lang: Option<String>,
}

/// `<msgQ>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MsgQ {
    pub count: u64,
    pub id: MsgId,
    pub q_date: Option<Timestamp>,
    pub msg: Option<String>,
    pub lang: Option<String>,
}

/// `<trID>`: both identifiers are optional in the schema; the server always sends svTRID.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TrId {
    pub cl_trid: Option<ClTrid>,
    pub sv_trid: Option<SvTrid>,
}

/// `<resData>` content.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum ResponseData {
    DomainCheck(Vec<CheckItem>),
    DomainInfo(Box<DomainInfoData>),
    DomainCreate(DomainCreateData),
    DomainRenew(DomainRenewData),
    DomainTransfer(TransferData),
    DomainPending(PendingActionData),
    HostCheck(Vec<CheckItem>),
    HostInfo(Box<HostInfoData>),
    HostCreate(HostCreateData),
    HostPending(PendingActionData),
    ContactCheck(Vec<CheckItem>),
    ContactInfo(Box<ContactInfoData>),
    ContactCreate(ContactCreateData),
    ContactTransfer(TransferData),
    ContactPending(PendingActionData),
}
