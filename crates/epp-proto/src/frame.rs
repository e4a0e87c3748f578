//! The `<epp>` envelope: what one frame carries.

use crate::common::ClTrid;
use crate::contact::ContactCommand;
use crate::domain::DomainCommand;
use crate::ext::CommandExtension;
use crate::host::HostCommand;
use crate::session::{Login, Poll};
use crate::{Greeting, Response};

/// One EPP message.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum Frame {
    Hello,
    Greeting(Greeting),
    Command(CommandFrame),
    Response(Response),
}

/// `<command>`: the command, its extensions and the client's transaction id.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CommandFrame {
    pub command: Command,
    pub extensions: Vec<CommandExtension>,
    pub cl_trid: Option<ClTrid>,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum Command {
    Login(Login),
    Logout,
    Poll(Poll),
    Domain(DomainCommand),
    Host(HostCommand),
    Contact(ContactCommand),
}

impl Command {
    /// A short name for logs and metrics: `login`, `domain:create`, `poll`, …
    pub fn name(&self) -> &'static str {
        use crate::contact::ContactCommand as C;
        use crate::domain::DomainCommand as D;
        use crate::host::HostCommand as H;
        match self {
            Command::Login(_) => "login",
            Command::Logout => "logout",
            Command::Poll(_) => "poll",
            Command::Domain(D::Check(_)) => "domain:check",
            Command::Domain(D::Info(_)) => "domain:info",
            Command::Domain(D::Create(_)) => "domain:create",
            Command::Domain(D::Delete(_)) => "domain:delete",
            Command::Domain(D::Renew(_)) => "domain:renew",
            Command::Domain(D::Transfer(_)) => "domain:transfer",
            Command::Domain(D::Update(_)) => "domain:update",
            Command::Host(H::Check(_)) => "host:check",
            Command::Host(H::Info(_)) => "host:info",
            Command::Host(H::Create(_)) => "host:create",
            Command::Host(H::Delete(_)) => "host:delete",
            Command::Host(H::Update(_)) => "host:update",
            Command::Contact(C::Check(_)) => "contact:check",
            Command::Contact(C::Info { .. }) => "contact:info",
            Command::Contact(C::Create(_)) => "contact:create",
            Command::Contact(C::Delete(_)) => "contact:delete",
            Command::Contact(C::Transfer { .. }) => "contact:transfer",
            Command::Contact(C::Update(_)) => "contact:update",
        }
    }

    /// The object namespace this command needs the session to have logged in with.
    pub fn object_namespace(&self) -> Option<&'static str> {
        match self {
            Command::Domain(_) => Some(crate::ns::DOMAIN),
            Command::Host(_) => Some(crate::ns::HOST),
            Command::Contact(_) => Some(crate::ns::CONTACT),
            _ => None,
        }
    }
}
