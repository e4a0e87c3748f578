//! Status rules, one table per object type: which status stops which action (RFC 5731
//! section 2.3, RFC 5732 section 2.3, RFC 5733 section 2.2), and the one way a client adds and
//! removes its `client*` statuses.
//!
//! The tables are ordered: when several statuses stop an action, the first one in the table is
//! the reason given.

use crate::error::CoreError;
use crate::model::{has_status, remove_status, StatusRec};

/// What a status may stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Update,
    Delete,
    Renew,
    TransferRequest,
}

/// One row: `status` stops the `actions`. `lifted_by_removal`: an update that removes this
/// status is allowed (`clientUpdateProhibited`: RFC 5731 section 3.2.5).
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub status: &'static str,
    pub actions: &'static [Action],
    pub lifted_by_removal: bool,
}

const fn rule(status: &'static str, actions: &'static [Action]) -> Rule {
    Rule {
        status,
        actions,
        lifted_by_removal: false,
    }
}

use Action::*;

pub const DOMAIN: &[Rule] = &[
    rule("clientDeleteProhibited", &[Delete]),
    rule("serverDeleteProhibited", &[Delete]),
    rule("serverUpdateProhibited", &[Update]),
    rule("clientRenewProhibited", &[Renew]),
    rule("serverRenewProhibited", &[Renew]),
    rule("clientTransferProhibited", &[TransferRequest]),
    rule("serverTransferProhibited", &[TransferRequest]),
    rule("pendingDelete", &[Update, Delete, Renew, TransferRequest]),
    // A transfer request on an object pendingTransfer is 2300, not 2304: see [`check`].
    rule("pendingTransfer", &[Update, Delete, Renew, TransferRequest]),
    Rule {
        status: "clientUpdateProhibited",
        actions: &[Update],
        lifted_by_removal: true,
    },
];

pub const HOST: &[Rule] = &[
    rule("clientDeleteProhibited", &[Delete]),
    rule("serverDeleteProhibited", &[Delete]),
    rule("serverUpdateProhibited", &[Update]),
    Rule {
        status: "clientUpdateProhibited",
        actions: &[Update],
        lifted_by_removal: true,
    },
];

pub const CONTACT: &[Rule] = &[
    rule("clientDeleteProhibited", &[Delete]),
    rule("serverDeleteProhibited", &[Delete]),
    rule("serverUpdateProhibited", &[Update]),
    rule("clientTransferProhibited", &[TransferRequest]),
    rule("serverTransferProhibited", &[TransferRequest]),
    rule("pendingTransfer", &[Update, Delete, TransferRequest]),
    rule("pendingDelete", &[Update, Delete, TransferRequest]),
    Rule {
        status: "clientUpdateProhibited",
        actions: &[Update],
        lifted_by_removal: true,
    },
];

/// Refuses `action` on an object with `statuses` per `table` (2304 naming the status, 2300 for
/// a transfer request while one is pending). `removing` lists the statuses the same update
/// removes.
pub fn check(
    table: &[Rule],
    statuses: &[StatusRec],
    action: Action,
    removing: &[&str],
) -> Result<(), CoreError> {
    for r in table {
        if !r.actions.contains(&action) || !has_status(statuses, r.status) {
            continue;
        }
        if r.lifted_by_removal && removing.contains(&r.status) {
            continue;
        }
        if action == TransferRequest && r.status == "pendingTransfer" {
            return Err(CoreError::PendingTransfer);
        }
        return Err(CoreError::StatusProhibits(r.status));
    }
    Ok(())
}

/// A status a client asks to add or remove, with its optional reason.
#[derive(Debug, Clone, Copy)]
pub struct ClientStatus<'a> {
    pub token: &'static str,
    pub client_settable: bool,
    pub lang: Option<&'a str>,
    pub reason: Option<&'a str>,
}

impl<'a, S: Copy + Into<ClientStatusToken>> From<&'a epp_proto::StatusEntry<S>>
    for ClientStatus<'a>
{
    fn from(e: &'a epp_proto::StatusEntry<S>) -> Self {
        let t: ClientStatusToken = e.status.into();
        ClientStatus {
            token: t.0,
            client_settable: t.1,
            lang: e.lang.as_deref(),
            reason: e.reason.as_deref(),
        }
    }
}

/// A status type's token and whether clients may set it.
#[derive(Debug, Clone, Copy)]
pub struct ClientStatusToken(&'static str, bool);

macro_rules! token_of {
    ($($t:ty),*) => {$(
        impl From<$t> for ClientStatusToken {
            fn from(s: $t) -> Self {
                ClientStatusToken(s.as_str(), s.is_client_settable())
            }
        }
    )*};
}
token_of!(
    epp_proto::domain::DomainStatus,
    epp_proto::host::HostStatus,
    epp_proto::contact::ContactStatus
);

/// Applies a client's `<rem>` then `<add>` statuses (RFC 5731 section 3.2.5): only `client*`
/// statuses (2306), removing one that is absent or adding one already present is 2306 (as
/// ICANN's RST expects).
pub fn apply_client_changes(
    statuses: &mut Vec<StatusRec>,
    add: &[ClientStatus<'_>],
    rem: &[ClientStatus<'_>],
) -> Result<(), CoreError> {
    for s in rem {
        if !s.client_settable {
            return Err(CoreError::Policy("status not client-settable"));
        }
        if !has_status(statuses, s.token) {
            return Err(CoreError::Policy("status not present"));
        }
        remove_status(statuses, s.token);
    }
    for s in add {
        if !s.client_settable {
            return Err(CoreError::Policy("status not client-settable"));
        }
        if has_status(statuses, s.token) {
            return Err(CoreError::Policy("status already present"));
        }
        statuses.push(StatusRec {
            s: s.token.to_owned(),
            lang: s.lang.map(str::to_owned),
            reason: s.reason.map(str::to_owned),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(list: &[&str]) -> Vec<StatusRec> {
        list.iter().map(|s| StatusRec::new(s)).collect()
    }

    #[test]
    fn first_rule_is_the_reason() {
        let s = st(&["pendingTransfer", "clientDeleteProhibited"]);
        assert!(matches!(
            check(DOMAIN, &s, Delete, &[]),
            Err(CoreError::StatusProhibits("clientDeleteProhibited"))
        ));
        assert!(matches!(
            check(DOMAIN, &s, TransferRequest, &[]),
            Err(CoreError::PendingTransfer)
        ));
        assert!(check(DOMAIN, &st(&["clientHold"]), Update, &[]).is_ok());
    }

    #[test]
    fn client_update_prohibited_is_lifted_by_its_removal() {
        let s = st(&["clientUpdateProhibited"]);
        assert!(check(HOST, &s, Update, &[]).is_err());
        assert!(check(HOST, &s, Update, &["clientUpdateProhibited"]).is_ok());
        let s = st(&["serverUpdateProhibited"]);
        assert!(check(CONTACT, &s, Update, &["serverUpdateProhibited"]).is_err());
    }

    #[test]
    fn every_rule_names_a_status_of_its_type() {
        use epp_proto::{contact::ContactStatus, domain::DomainStatus, host::HostStatus};
        assert!(DOMAIN
            .iter()
            .all(|r| DomainStatus::from_token(r.status).is_some()));
        assert!(HOST
            .iter()
            .all(|r| HostStatus::from_token(r.status).is_some()));
        assert!(CONTACT
            .iter()
            .all(|r| ContactStatus::from_token(r.status).is_some()));
    }
}
