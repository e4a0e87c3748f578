//! Plain Rust types for EPP frames: RFC 5730 (envelope, session, results), RFC 5731-5733
//! (domain, host, contact), RFC 5910 (secDNS-1.1) and RFC 3915 (rgp-1.0).
//!
//! This crate owns the *meaning* of a frame and nothing else: no XML, no I/O, no policy. Values
//! that the XSDs constrain (clTRID 3-64, pw 6-16, clIDType 3-16, period 1-99, hostname syntax)
//! are newtypes whose constructors check them, so a value that exists is valid ("parse, don't
//! validate"). The XML codec lives in `epp-wire`; registry policy lives in `registry-core`.
//!
//! Extensions: each extension is one module under [`ext`] and one variant in
//! [`ext::CommandExtension`] / [`ext::ResponseExtension`]; nothing else in the crate changes.

pub mod common;
pub mod contact;
pub mod domain;
pub mod ext;
pub mod frame;
pub mod greeting;
pub mod host;
pub mod response;
pub mod result_code;
pub mod session;
pub mod value;

pub use common::*;
pub use frame::{Command, CommandFrame, Frame};
pub use greeting::Greeting;
pub use response::{Response, ResponseData};
pub use result_code::ResultCode;
pub use value::ValueError;

/// The namespace URIs this crate models.
pub mod ns {
    pub const EPP: &str = "urn:ietf:params:xml:ns:epp-1.0";
    pub const EPPCOM: &str = "urn:ietf:params:xml:ns:eppcom-1.0";
    pub const DOMAIN: &str = "urn:ietf:params:xml:ns:domain-1.0";
    pub const HOST: &str = "urn:ietf:params:xml:ns:host-1.0";
    pub const CONTACT: &str = "urn:ietf:params:xml:ns:contact-1.0";
    pub const SEC_DNS: &str = "urn:ietf:params:xml:ns:secDNS-1.1";
    pub const RGP: &str = "urn:ietf:params:xml:ns:rgp-1.0";
    /// RFC 9154: no elements of its own; announcing it tells clients that authInfo values
    /// are empty by default, set for a transfer, stored hashed and never returned by info.
    pub const SECURE_AUTHINFO: &str = "urn:ietf:params:xml:ns:epp:secure-authinfo-transfer-1.0";
}
