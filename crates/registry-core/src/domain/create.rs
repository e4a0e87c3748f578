//! `<domain:create>`.

use std::collections::BTreeSet;

use epp_proto::domain::{DomainCreate, DomainCreateData, NameServers};
use epp_proto::ext::sec_dns::SecDnsCreate;
use epp_proto::ResponseData;

use super::{check_ds_list, check_max_sig_life, host_objs, link, months_of};
use crate::change::Who;
use crate::error::CoreError;
use crate::model::*;
use crate::policy;
use crate::registry::{Outcome, Registry};
use crate::store::{Store, StoreTx};

impl<S: Store> Registry<S> {
    pub(crate) async fn domain_create(
        &self,
        who: &Who,
        c: &DomainCreate,
        sec: Option<&SecDnsCreate>,
    ) -> Result<Outcome, CoreError> {
        let name =
            policy::check_domain_name(&self.cfg, c.name.as_str()).map_err(|e| e.into_core())?;
        let months = months_of(c.period, self.cfg.default_period_years);
        if months == 0 || months > self.cfg.max_registration_years.saturating_mul(12) {
            return Err(CoreError::Policy("period out of range"));
        }
        let ns = match &c.ns {
            Some(ns) => host_objs(ns)?,
            None => Vec::new(),
        };
        if ns.iter().collect::<BTreeSet<_>>().len() != ns.len() {
            return Err(CoreError::Policy("duplicate name server"));
        }
        if ns.len() > NameServers::MAX {
            return Err(CoreError::Policy("too many name servers"));
        }
        let registrant = c
            .registrant
            .as_ref()
            .ok_or(CoreError::Missing("registrant"))?;
        let contacts: Vec<ContactLink> = c.contacts.iter().map(link).collect();
        if contacts.iter().collect::<BTreeSet<_>>().len() != contacts.len() {
            return Err(CoreError::Policy("duplicate contact"));
        }
        let auth_pw = self.auth_on_create(c.auth_info.expose())?;
        let mut ds = Vec::new();
        let mut max_sig_life = None;
        if let Some(s) = sec {
            check_max_sig_life(s.max_sig_life)?;
            max_sig_life = s.max_sig_life;
            ds = check_ds_list(&s.data)?;
            ds.sort();
            ds.dedup();
            if ds.len() > self.cfg.max_ds {
                return Err(CoreError::Policy("too many DS records"));
            }
        }
        let mut tx = self.store.begin(true).await?;
        if let Some(old) = tx.domain_get(name.as_str(), true).await? {
            // A name whose purge is due is free.
            if self.settle_domain(&mut tx, old, who.now).await?.is_some() {
                return Err(CoreError::Exists("domain exists"));
            }
        }
        self.require_contact(&mut tx, registrant.as_str(), "registrant contact")
            .await?;
        for l in &contacts {
            self.require_contact(&mut tx, &l.id, "contact").await?;
        }
        self.require_hosts(&mut tx, &ns).await?;
        let ex_date = Self::add_months(who.now, months)?;
        let d = Domain {
            id: 0,
            name: name.as_str().to_owned(),
            cl_id: who.cl_id.clone(),
            cr_id: who.cl_id.clone(),
            cr_date: who.now,
            up_id: None,
            up_date: None,
            ex_date,
            tr_date: None,
            registrant: Some(registrant.as_str().to_owned()),
            contacts,
            ns,
            statuses: Vec::new(),
            auth_set: auth_pw.as_ref().map(|_| who.now),
            auth_pw,
            ds,
            max_sig_life,
            grace: vec![GraceRec {
                kind: GraceKind::AddPeriod,
                until: who.now + Self::days(self.cfg.add_grace_days),
            }],
            rgp: None,
            transfer: None,
            restore_report: None,
            registry_lock: None,
        };
        let mut ch = self.change(who);
        self.write_domain(&mut ch, "domain:create", None, Some(d));
        self.commit(tx, ch).await?;
        Ok(Outcome::ok(Some(ResponseData::DomainCreate(
            DomainCreateData {
                name,
                cr_date: who.now,
                ex_date: Some(ex_date),
            },
        ))))
    }
}
