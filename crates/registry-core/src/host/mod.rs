//! Host commands (RFC 5732), one module per command.
//!
//! A host under a served TLD is internal: its superordinate domain must exist (2303) and be
//! sponsored by the same registrar (2201), and it needs at least one address (2003 on
//! create, 2306 when an update would leave none). An external host may have no address
//! (2306). Loopback, unspecified, link-local, multicast and mapped addresses are refused
//! (2306). A linked host cannot be deleted (2305). No new subordinate host (create, or rename
//! into the domain) under a domain with serverUpdateProhibited or a registry lock (2304). A
//! rename follows the same rules for the new name; the domains using the host follow it (the
//! journal gets their new delegation). Whether a change to a host may move a registry-locked
//! domain's delegation (its glue, or its NS names through a rename) is the delegation guard's
//! decision ([`crate::guard`]), not this module's.
//!
//! Renaming an internal host to an external name drops the addresses it had, in the same
//! transaction: an external host takes none, and they could never be glue again (RST epp-23
//! expects the rename to pass). The journal gets the glue removal for the old name, as for any
//! rename of an internal host. Addresses added by the same command are still refused (2306).

mod check;
mod create;
mod delete;
pub(crate) mod info;
mod update;

use std::net::IpAddr;

use epp_proto::domain::DomainStatus as DS;

use crate::change::Who;
use crate::error::CoreError;
use crate::policy;
use crate::registry::Registry;
use crate::store::Store;

pub(crate) fn check_addrs(addrs: &[IpAddr]) -> Result<Vec<IpAddr>, CoreError> {
    let mut v = Vec::with_capacity(addrs.len());
    for a in addrs {
        policy::check_host_addr(a)?;
        if !v.contains(a) {
            v.push(*a);
        }
    }
    Ok(v)
}

impl<S: Store> Registry<S> {
    /// For a host name: its superordinate domain if internal, after checking that it exists,
    /// is the actor's and may take a new subordinate host.
    pub(crate) async fn superordinate_for(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        name: &str,
    ) -> Result<Option<String>, CoreError> {
        policy::check_labels(name).map_err(|_| CoreError::Syntax("invalid host name"))?;
        let Some(sup) = policy::superordinate_of(&self.cfg, name) else {
            return Ok(None);
        };
        let d = self
            .load_domain_w(tx, who, &sup)
            .await
            .map_err(|e| match e {
                CoreError::NotFound(_) => CoreError::NotFound("superordinate domain"),
                other => other,
            })?;
        if d.cl_id != who.cl_id {
            return Err(CoreError::Authorization("superordinate domain not yours"));
        }
        if d.has(DS::PendingDelete) {
            return Err(CoreError::StatusProhibits("superordinate pendingDelete"));
        }
        // New glue under a locked domain would change what its lock covers.
        if d.has(DS::ServerUpdateProhibited) || d.registry_locked() {
            return Err(CoreError::StatusProhibits("superordinate update locked"));
        }
        Ok(Some(sup))
    }
}
