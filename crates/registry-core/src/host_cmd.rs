//! Host commands (RFC 5732).
//!
//! A host under a served TLD is internal: its superordinate domain must exist (2303) and be
//! sponsored by the same registrar (2201), and it needs at least one address (2003 on
//! create, 2306 when an update would leave none). An external host may have no address
//! (2306). Loopback, unspecified, link-local, multicast and mapped addresses are refused
//! (2306). A linked host cannot be deleted (2305). No new subordinate host (create, or rename
//! into the domain) under a domain with serverUpdateProhibited or a registry lock (2304). A
//! rename follows the same rules for the new name; the domains using the host follow it (the
//! journal gets their new delegation).
//!
//! Renaming an internal host to an external name drops the addresses it had, in the same
//! transaction: an external host takes none, and they could never be glue again (RST epp-23
//! expects the rename to pass). The journal gets the glue removal for the old name, as for any
//! rename of an internal host. Addresses added by the same command are still refused (2306).

use std::collections::BTreeSet;
use std::net::IpAddr;

use epp_proto::host::{HostCreate, HostCreateData, HostInfoData, HostStatus as HS, HostUpdate};
use epp_proto::{CheckItem, HostName, Label, ResponseData};

use crate::convert;
use crate::error::CoreError;
use crate::model::*;
use crate::policy;
use crate::registry::{Outcome, Registry, Who};
use crate::store::{Store, StoreTx};

impl<S: Store> Registry<S> {
    pub(crate) async fn host_check(&self, names: &[Label]) -> Result<Outcome, CoreError> {
        if names.len() > self.cfg.max_check {
            return Err(CoreError::Policy("too many names in check"));
        }
        let parsed: Vec<Option<HostName>> = names
            .iter()
            .map(|raw| {
                HostName::new(raw.as_str())
                    .ok()
                    .filter(|n| policy::check_labels(n.as_str()).is_ok())
            })
            .collect();
        let valid: Vec<&str> = parsed.iter().flatten().map(|n| n.as_str()).collect();
        let taken: BTreeSet<String> = self.store.hosts_taken(&valid).await?.into_iter().collect();
        let mut items = Vec::with_capacity(names.len());
        for (raw, parsed) in names.iter().zip(parsed) {
            let item = match parsed {
                None => CheckItem {
                    name: raw.as_str().to_owned(),
                    available: false,
                    reason: Some("invalid host name".into()),
                },
                Some(n) => {
                    let taken = taken.contains(n.as_str());
                    CheckItem {
                        name: n.as_str().to_owned(),
                        available: !taken,
                        reason: taken.then(|| "in use".to_owned()),
                    }
                }
            };
            items.push(item);
        }
        Ok(Outcome::ok(Some(ResponseData::HostCheck(items))))
    }

    pub(crate) async fn host_info(&self, name: &HostName) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(false).await?;
        let h = tx
            .host_get(name.as_str(), false)
            .await?
            .ok_or(CoreError::NotFound("host"))?;
        let linked = !tx.domains_using_host(h.id).await?.is_empty();
        drop(tx);
        let mut statuses = convert::statuses(&h.statuses, HS::from_token)?;
        if linked {
            statuses.push(epp_proto::StatusEntry::new(HS::Linked));
        }
        if statuses.is_empty() {
            statuses.push(epp_proto::StatusEntry::new(HS::Ok));
        }
        let data = HostInfoData {
            name: convert::host_name(&h.name)?,
            roid: convert::roid(&self.roid('H', h.id))?,
            statuses,
            addrs: h.addrs.clone(),
            cl_id: convert::client_id(&h.cl_id)?,
            cr_id: convert::client_id(&h.cr_id)?,
            cr_date: h.cr_date,
            up_id: h.up_id.as_deref().map(convert::client_id).transpose()?,
            up_date: h.up_date,
            tr_date: h.tr_date,
        };
        Ok(Outcome::ok(Some(ResponseData::HostInfo(Box::new(data)))))
    }

    /// For a host name: its superordinate domain if internal, after checking that it exists
    /// and is the actor's.
    async fn superordinate_for(
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
        if d.has(epp_proto::domain::DomainStatus::PendingDelete) {
            return Err(CoreError::StatusProhibits("superordinate pendingDelete"));
        }
        // New glue under a locked domain would change its delegation around the lock.
        if d.has(epp_proto::domain::DomainStatus::ServerUpdateProhibited)
            || d.registry_lock.as_ref().is_some_and(LockRec::in_force)
        {
            return Err(CoreError::StatusProhibits("superordinate update locked"));
        }
        Ok(Some(sup))
    }

    fn check_addrs(addrs: &[IpAddr]) -> Result<Vec<IpAddr>, CoreError> {
        let mut v = Vec::with_capacity(addrs.len());
        for a in addrs {
            policy::check_host_addr(a)?;
            if !v.contains(a) {
                v.push(*a);
            }
        }
        Ok(v)
    }

    pub(crate) async fn host_create(
        &self,
        who: &Who,
        c: &HostCreate,
    ) -> Result<Outcome, CoreError> {
        let addrs = Self::check_addrs(&c.addrs)?;
        let mut tx = self.store.begin(true).await?;
        if tx.host_get(c.name.as_str(), true).await?.is_some() {
            return Err(CoreError::Exists("host exists"));
        }
        let sup = self
            .superordinate_for(&mut tx, who, c.name.as_str())
            .await?;
        match (&sup, addrs.is_empty()) {
            (Some(_), true) => return Err(CoreError::Missing("internal host needs an address")),
            (None, false) => return Err(CoreError::Policy("external host takes no address")),
            _ => {}
        }
        let mut h = Host {
            id: 0,
            name: c.name.as_str().to_owned(),
            superordinate: sup,
            cl_id: who.cl_id.clone(),
            cr_id: who.cl_id.clone(),
            cr_date: who.now,
            up_id: None,
            up_date: None,
            tr_date: None,
            addrs,
            statuses: Vec::new(),
        };
        h.id = tx.host_insert(&h).await?;
        self.record(
            &mut tx,
            who,
            "host",
            &h.name,
            self.roid('H', h.id),
            "host:create",
            None,
            Some(&h),
        )
        .await?;
        if h.superordinate.is_some() {
            self.journal_host(&mut tx, who.now, &h.name, &h.addrs)
                .await?;
        }
        tx.commit().await?;
        Ok(Outcome::ok(Some(ResponseData::HostCreate(
            HostCreateData {
                name: c.name.clone(),
                cr_date: who.now,
            },
        ))))
    }

    pub(crate) async fn host_delete(
        &self,
        who: &Who,
        name: &HostName,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(true).await?;
        let h = tx
            .host_get(name.as_str(), true)
            .await?
            .ok_or(CoreError::NotFound("host"))?;
        if h.cl_id != who.cl_id {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        for (s, why) in [
            (HS::ClientDeleteProhibited, "clientDeleteProhibited"),
            (HS::ServerDeleteProhibited, "serverDeleteProhibited"),
        ] {
            if h.has(s) {
                return Err(CoreError::StatusProhibits(why));
            }
        }
        if !tx.domains_using_host(h.id).await?.is_empty() {
            return Err(CoreError::Association("host is linked"));
        }
        tx.host_delete(h.id).await?;
        self.record(
            &mut tx,
            who,
            "host",
            &h.name,
            self.roid('H', h.id),
            "host:delete",
            Some(&h),
            None,
        )
        .await?;
        if h.superordinate.is_some() {
            self.journal_host(&mut tx, who.now, &h.name, &[]).await?;
        }
        tx.commit().await?;
        Ok(Outcome::ok(None))
    }

    pub(crate) async fn host_update(
        &self,
        who: &Who,
        u: &HostUpdate,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(true).await?;
        let h = tx
            .host_get(u.name.as_str(), true)
            .await?
            .ok_or(CoreError::NotFound("host"))?;
        if h.cl_id != who.cl_id {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        let removes_cup = u
            .rem
            .statuses
            .iter()
            .any(|s| s.status == HS::ClientUpdateProhibited);
        if h.has(HS::ServerUpdateProhibited) {
            return Err(CoreError::StatusProhibits("serverUpdateProhibited"));
        }
        if h.has(HS::ClientUpdateProhibited) && !removes_cup {
            return Err(CoreError::StatusProhibits("clientUpdateProhibited"));
        }
        let mut after = h.clone();
        for s in &u.rem.statuses {
            if !s.status.is_client_settable() {
                return Err(CoreError::Policy("status not client-settable"));
            }
            if !has_status(&after.statuses, s.status.as_str()) {
                return Err(CoreError::Policy("status not present"));
            }
            remove_status(&mut after.statuses, s.status.as_str());
        }
        for s in &u.add.statuses {
            if !s.status.is_client_settable() {
                return Err(CoreError::Policy("status not client-settable"));
            }
            if has_status(&after.statuses, s.status.as_str()) {
                return Err(CoreError::Policy("status already present"));
            }
            after.statuses.push(StatusRec {
                s: s.status.as_str().to_owned(),
                lang: s.lang.clone(),
                reason: s.reason.clone(),
            });
        }
        for a in &u.rem.addrs {
            if !after.addrs.contains(a) {
                return Err(CoreError::Policy("address not present"));
            }
            after.addrs.retain(|x| x != a);
        }
        for a in &u.add.addrs {
            policy::check_host_addr(a)?;
            if after.addrs.contains(a) {
                return Err(CoreError::Policy("address already present"));
            }
            after.addrs.push(*a);
        }
        let mut users = Vec::new();
        if let Some(new) = &u.new_name {
            if new.as_str() != h.name {
                if tx.host_get(new.as_str(), true).await?.is_some() {
                    return Err(CoreError::Exists("host name in use"));
                }
                after.superordinate = self.superordinate_for(&mut tx, who, new.as_str()).await?;
                after.name = new.as_str().to_owned();
                users = tx.domains_using_host(h.id).await?;
                if h.superordinate.is_some() && after.superordinate.is_none() {
                    // Internal to external: the old addresses go (see the module docs).
                    after.addrs.retain(|a| !h.addrs.contains(a));
                }
            }
        }
        match (&after.superordinate, after.addrs.is_empty()) {
            (Some(_), true) => return Err(CoreError::Policy("internal host needs an address")),
            (None, false) => return Err(CoreError::Policy("external host takes no address")),
            _ => {}
        }
        after.up_id = Some(who.cl_id.clone());
        after.up_date = Some(who.now);
        self.save_host(&mut tx, who, "host:update", &h, &after)
            .await?;
        // Glue and delegations that changed.
        if after.name != h.name {
            if h.superordinate.is_some() {
                self.journal_host(&mut tx, who.now, &h.name, &[]).await?;
            }
            for dn in users {
                if let Some(d) = tx.domain_get(&dn, true).await? {
                    self.journal_domain(&mut tx, who.now, &d.name, &d.delegation())
                        .await?;
                }
            }
        }
        if after.superordinate.is_some() && (after.name != h.name || after.addrs != h.addrs) {
            self.journal_host(&mut tx, who.now, &after.name, &after.addrs)
                .await?;
        }
        tx.commit().await?;
        Ok(Outcome::ok(None))
    }
}
