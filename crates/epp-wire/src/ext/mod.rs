//! Extension codecs: one module per extension namespace. The command and response codecs
//! hand every child of `<extension>` to [`decode_command_extension`] /
//! [`decode_response_extension`], which dispatch on the namespace; adding an extension is a new
//! module plus one arm in each function below.
//!
//! An element in a namespace we do not implement is [`DecodeError::UnimplementedExtension`]
//! (2103) carrying the namespace URI; an unknown element in a namespace we do implement (say
//! `<secDNS:foo>`) is [`DecodeError::UnexpectedElement`] (2001).

use epp_proto::ext::change_poll::NS as CHANGE_POLL;
use epp_proto::ext::login_sec::NS as LOGIN_SEC;
use epp_proto::ext::registry_lock::NS as REGISTRY_LOCK;
use epp_proto::ext::{CommandExtension, ResponseExtension};
use epp_proto::ns::{RGP, SEC_DNS};

use crate::dom::Element;
use crate::error::DecodeError;
use crate::xml::XmlWriter;

pub mod change_poll;
pub mod login_sec;
pub mod registry_lock;
pub mod rgp;
pub mod sec_dns;

fn unexpected(el: &Element) -> DecodeError {
    DecodeError::UnexpectedElement {
        parent: "extension".into(),
        element: el.label(),
    }
}

/// Decodes one child of a command's `<extension>`.
pub fn decode_command_extension(el: &Element) -> Result<CommandExtension, DecodeError> {
    match (el.ns.as_ref(), el.name.as_ref()) {
        (SEC_DNS, "create") => sec_dns::decode_create(el).map(CommandExtension::SecDnsCreate),
        (SEC_DNS, "update") => sec_dns::decode_update(el).map(CommandExtension::SecDnsUpdate),
        (RGP, "update") => rgp::decode_update(el).map(CommandExtension::RgpUpdate),
        (REGISTRY_LOCK, "lock") => {
            registry_lock::decode_lock(el).map(CommandExtension::RegistryLock)
        }
        (REGISTRY_LOCK, "unlock") => {
            registry_lock::decode_unlock(el).map(CommandExtension::RegistryLock)
        }
        (LOGIN_SEC, "loginSec") => login_sec::decode_login_sec(el).map(CommandExtension::LoginSec),
        (SEC_DNS | RGP | REGISTRY_LOCK | LOGIN_SEC, _) => Err(unexpected(el)),
        (ns, _) => Err(DecodeError::UnimplementedExtension(ns.to_owned())),
    }
}

/// Decodes one child of a response's `<extension>`.
pub fn decode_response_extension(el: &Element) -> Result<ResponseExtension, DecodeError> {
    match (el.ns.as_ref(), el.name.as_ref()) {
        (SEC_DNS, "infData") => sec_dns::decode_info(el).map(ResponseExtension::SecDnsInfo),
        (RGP, "infData") => rgp::decode_info(el).map(ResponseExtension::RgpInfo),
        (RGP, "upData") => rgp::decode_upd(el).map(ResponseExtension::RgpUpdate),
        (REGISTRY_LOCK, "reqData") => {
            registry_lock::decode_req_data(el).map(ResponseExtension::RegistryLock)
        }
        (LOGIN_SEC, "loginSecData") => login_sec::decode_data(el).map(ResponseExtension::LoginSec),
        (CHANGE_POLL, "changeData") => {
            change_poll::decode_change_data(el).map(ResponseExtension::ChangePoll)
        }
        (SEC_DNS | RGP | REGISTRY_LOCK | LOGIN_SEC | CHANGE_POLL, _) => Err(unexpected(el)),
        (ns, _) => Err(DecodeError::UnimplementedExtension(ns.to_owned())),
    }
}

/// Writes one command extension element (with its own `xmlns:` declaration).
pub fn encode_command_extension(w: &mut XmlWriter, ext: &CommandExtension) {
    match ext {
        CommandExtension::SecDnsCreate(v) => sec_dns::encode_create(w, v),
        CommandExtension::SecDnsUpdate(v) => sec_dns::encode_update(w, v),
        CommandExtension::RgpUpdate(v) => rgp::encode_update(w, v),
        CommandExtension::RegistryLock(v) => registry_lock::encode_command(w, v),
        CommandExtension::LoginSec(v) => login_sec::encode_login_sec(w, v),
    }
}

/// False for a response extension that cannot be written validly; the response encoder leaves
/// it out (and leaves out `<extension>` when nothing is left).
pub(crate) fn response_extension_writable(ext: &ResponseExtension) -> bool {
    match ext {
        ResponseExtension::SecDnsInfo(v) => sec_dns::info_writable(v),
        ResponseExtension::LoginSec(v) => login_sec::data_writable(v),
        ResponseExtension::RgpInfo(_)
        | ResponseExtension::RgpUpdate(_)
        | ResponseExtension::RegistryLock(_)
        | ResponseExtension::ChangePoll(_) => true,
    }
}

/// Writes one response extension element (with its own `xmlns:` declaration).
pub fn encode_response_extension(w: &mut XmlWriter, ext: &ResponseExtension) {
    match ext {
        ResponseExtension::SecDnsInfo(v) => sec_dns::encode_info(w, v),
        ResponseExtension::RgpInfo(v) => rgp::encode_info(w, v),
        ResponseExtension::RgpUpdate(v) => rgp::encode_upd(w, v),
        ResponseExtension::RegistryLock(v) => registry_lock::encode_req_data(w, v),
        ResponseExtension::LoginSec(v) => login_sec::encode_data(w, v),
        ResponseExtension::ChangePoll(v) => change_poll::encode_change_data(w, v),
    }
}
