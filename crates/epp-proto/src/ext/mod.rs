//! Protocol extensions. Each extension is one module here and one variant in the two enums
//! below; adding one (fee, loginSec, registry lock) touches nothing else in this crate.

pub mod change_poll;
pub mod login_sec;
pub mod registry_lock;
pub mod rgp;
pub mod sec_dns;

/// An extension element carried in a command's `<extension>`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum CommandExtension {
    SecDnsCreate(sec_dns::SecDnsCreate),
    SecDnsUpdate(sec_dns::SecDnsUpdate),
    RgpUpdate(rgp::RgpUpdate),
    RegistryLock(registry_lock::RegistryLockCommand),
    LoginSec(login_sec::LoginSec),
}

impl CommandExtension {
    /// The namespace URI that names the extension (as listed in `<svcExtension>`).
    pub fn namespace(&self) -> &'static str {
        match self {
            CommandExtension::SecDnsCreate(_) | CommandExtension::SecDnsUpdate(_) => {
                crate::ns::SEC_DNS
            }
            CommandExtension::RgpUpdate(_) => crate::ns::RGP,
            CommandExtension::RegistryLock(_) => registry_lock::NS,
            CommandExtension::LoginSec(_) => login_sec::NS,
        }
    }
}

/// An extension element carried in a response's `<extension>`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum ResponseExtension {
    SecDnsInfo(sec_dns::SecDnsInfoData),
    RgpInfo(rgp::RgpInfoData),
    RgpUpdate(rgp::RgpUpdData),
    RegistryLock(registry_lock::RegistryLockData),
    LoginSec(login_sec::LoginSecData),
    ChangePoll(change_poll::ChangeData),
}

impl ResponseExtension {
    pub fn namespace(&self) -> &'static str {
        match self {
            ResponseExtension::SecDnsInfo(_) => crate::ns::SEC_DNS,
            ResponseExtension::RgpInfo(_) | ResponseExtension::RgpUpdate(_) => crate::ns::RGP,
            ResponseExtension::RegistryLock(_) => registry_lock::NS,
            ResponseExtension::LoginSec(_) => login_sec::NS,
            ResponseExtension::ChangePoll(_) => change_poll::NS,
        }
    }

    /// Whether the response's `<resData>` is there because of this extension, so that a
    /// session that did not select it must get the response without it (a change poll
    /// message's object `<infData>`, RFC 8590).
    pub fn owns_res_data(&self) -> bool {
        match self {
            ResponseExtension::ChangePoll(_) => true,
            ResponseExtension::SecDnsInfo(_)
            | ResponseExtension::RgpInfo(_)
            | ResponseExtension::RgpUpdate(_)
            | ResponseExtension::RegistryLock(_)
            | ResponseExtension::LoginSec(_) => false,
        }
    }
}
