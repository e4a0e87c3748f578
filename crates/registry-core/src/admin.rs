//! Operators' actions on registry objects (through `registry-admin`): server statuses and the
//! registry-initiated delete. They are changes like any other and pass the delegation guard:
//! an operator cannot move a registry-locked delegation either (serverHold on a locked domain,
//! a delete, …) except through the lock procedure.

use epp_proto::domain::DomainStatus as DS;

use crate::error::CoreError;
use crate::model::*;
use crate::registry::{ObjectRef, Registry};
use crate::store::{Store, StoreTx};

impl<S: Store> Registry<S> {
    /// Adds and removes `server*` statuses (the registry's own) on an object, recorded against
    /// the registry, with a poll message to the sponsor. Tokens that are not `server*`
    /// statuses of the object type are refused (2306).
    pub async fn set_server_statuses(
        &self,
        object: &ObjectRef,
        add: &[&str],
        rem: &[&str],
    ) -> Result<(), CoreError> {
        let now = self.clock.now();
        let who = self.system_who(now);
        let server_only = |s: &&str| s.starts_with("server");
        if !add.iter().all(server_only) || !rem.iter().all(server_only) {
            return Err(CoreError::Policy("only server statuses"));
        }
        let valid = |parse: fn(&str) -> bool| add.iter().chain(rem).all(|s| parse(s));
        let edit = |statuses: &mut Vec<StatusRec>| {
            add.iter().for_each(|s| add_status(statuses, s));
            rem.iter().for_each(|s| remove_status(statuses, s));
        };
        let mut tx = self.store.begin(true).await?;
        let mut ch = self.change(&who);
        let (sponsor, label) = match object {
            ObjectRef::Domain(name) => {
                if !valid(|s| DS::from_token(s).is_some()) {
                    return Err(CoreError::Policy("not a domain status"));
                }
                let d = self.load_domain_w(&mut tx, &who, name).await?;
                let mut after = d.clone();
                edit(&mut after.statuses);
                let sponsor = d.cl_id.clone();
                self.write_domain(&mut ch, "registry:status", Some(d), Some(after));
                (sponsor, format!("domain {name}"))
            }
            ObjectRef::Host(name) => {
                if !valid(|s| epp_proto::host::HostStatus::from_token(s).is_some()) {
                    return Err(CoreError::Policy("not a host status"));
                }
                let h = tx
                    .host_get(name, true)
                    .await?
                    .ok_or(CoreError::NotFound("host"))?;
                let mut after = h.clone();
                edit(&mut after.statuses);
                let sponsor = h.cl_id.clone();
                ch.host("registry:status", Some(h), Some(after));
                (sponsor, format!("host {name}"))
            }
            ObjectRef::Contact(id) => {
                if !valid(|s| epp_proto::contact::ContactStatus::from_token(s).is_some()) {
                    return Err(CoreError::Policy("not a contact status"));
                }
                let c = self.load_contact_w(&mut tx, &who, id).await?;
                let mut after = c.clone();
                edit(&mut after.statuses);
                let sponsor = c.cl_id.clone();
                self.write_contact(&mut ch, "registry:status", Some(c), Some(after));
                (sponsor, format!("contact {id}"))
            }
        };
        let msg = format!(
            "Registry changed the status of {label}: added [{}], removed [{}]",
            add.join(" "),
            rem.join(" ")
        );
        Self::notify(&mut ch, &sponsor, msg, None);
        let r = self.commit(tx, ch).await;
        if let Err(e @ CoreError::RegistryLocked { .. }) = &r {
            self.audit_refusal(&who, "registry:status", e).await;
        }
        r.map(drop)
    }

    /// Registry-initiated delete (an operator's action, e.g. on a court order): the domain
    /// leaves the zone and enters redemption (`purge_now`: is removed at once, with its
    /// subordinate hosts), whatever client statuses it has; a pending transfer is cancelled.
    /// Refused (2304) while serverDeleteProhibited is set (a registry lock sets it: release
    /// the lock or remove the status first), when the domain is already pendingDelete, and by
    /// the delegation guard while a lock is in force. The sponsor gets a poll message with
    /// `reason`.
    pub async fn registry_delete_domain(
        &self,
        operator: &str,
        name: &str,
        reason: &str,
        purge_now: bool,
    ) -> Result<(), CoreError> {
        let who = self.operator_who(operator);
        let mut tx = self.store.begin(true).await?;
        let d = self.load_domain_w(&mut tx, &who, name).await?;
        if d.has(DS::ServerDeleteProhibited) {
            return Err(CoreError::StatusProhibits("serverDeleteProhibited"));
        }
        if d.has(DS::PendingDelete) {
            return Err(CoreError::StatusProhibits("pendingDelete"));
        }
        let mut after = d.clone();
        let mut notices = Vec::new();
        if let Some(tr) = d.transfer.as_ref().filter(|t| t.is_pending()) {
            let gaining = tr.re_id.clone();
            crate::transfer::end(&mut after, "serverCancelled", who.now);
            let payload = after
                .transfer
                .clone()
                .map(|transfer| PollPayload::DomainTransfer {
                    name: d.name.clone(),
                    transfer,
                });
            notices.push((
                gaining,
                format!(
                    "Transfer of {} cancelled: the registry deleted the domain.",
                    d.name
                ),
                payload,
            ));
        }
        notices.push((
            d.cl_id.clone(),
            format!("Domain {} was deleted by the registry: {reason}", d.name),
            None,
        ));
        let mut ch = if purge_now {
            self.purge_change(&mut tx, &who, &after, "registry:purge")
                .await?
        } else {
            self.enter_redemption(&mut after, &who);
            let mut ch = self.change(&who);
            self.write_domain(&mut ch, "registry:delete", Some(d), Some(after));
            ch
        };
        for (to, msg, payload) in notices {
            Self::notify(&mut ch, &to, msg, payload);
        }
        ch.reason = Some(reason.to_owned());
        let r = self.commit(tx, ch).await;
        if let Err(e @ CoreError::RegistryLocked { .. }) = &r {
            self.audit_refusal(&who, "registry:delete", e).await;
        }
        r.map(drop)
    }
}
