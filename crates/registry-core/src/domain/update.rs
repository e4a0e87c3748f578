//! `<domain:update>` (without the rgp restore or registry-lock extensions, which have modules
//! of their own): statuses, name servers, contacts, registrant, authInfo, secDNS.

use epp_proto::domain::{AuthInfoChange, DomainUpdate, NameServers};
use epp_proto::ext::sec_dns::{SecDnsRem, SecDnsUpdate};

use super::{check_ds_list, check_max_sig_life, host_objs, link};
use crate::change::Who;
use crate::error::CoreError;
use crate::model::*;
use crate::registry::{Outcome, Registry};
use crate::status::{self, Action, ClientStatus};
use crate::store::Store;

impl<S: Store> Registry<S> {
    pub(crate) async fn domain_update(
        &self,
        who: &Who,
        u: &DomainUpdate,
        sec: Option<&SecDnsUpdate>,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(true).await?;
        let d = self.load_domain_w(&mut tx, who, u.name.as_str()).await?;
        if d.cl_id != who.cl_id {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        let add: Vec<ClientStatus> = u.add.statuses.iter().map(Into::into).collect();
        let rem: Vec<ClientStatus> = u.rem.statuses.iter().map(Into::into).collect();
        let removing: Vec<&str> = rem.iter().map(|s| s.token).collect();
        status::check(status::DOMAIN, &d.statuses, Action::Update, &removing)?;
        let mut after = d.clone();
        status::apply_client_changes(&mut after.statuses, &add, &rem)?;
        // Name servers.
        if let Some(ns) = &u.rem.ns {
            for n in host_objs(ns)? {
                if !after.ns.contains(&n) {
                    return Err(CoreError::Policy("name server not present"));
                }
                after.ns.retain(|x| *x != n);
            }
        }
        if let Some(ns) = &u.add.ns {
            let add = host_objs(ns)?;
            for n in &add {
                if after.ns.contains(n) {
                    return Err(CoreError::Policy("name server already present"));
                }
                after.ns.push(n.clone());
            }
            self.require_hosts(&mut tx, &add).await?;
            if after.ns.len() > NameServers::MAX {
                return Err(CoreError::Policy("too many name servers"));
            }
        }
        // Contacts.
        for c in &u.rem.contacts {
            let l = link(c);
            if !after.contacts.contains(&l) {
                return Err(CoreError::Policy("contact not present"));
            }
            after.contacts.retain(|x| *x != l);
        }
        for c in &u.add.contacts {
            let l = link(c);
            if after.contacts.contains(&l) {
                return Err(CoreError::Policy("contact already present"));
            }
            self.require_contact(&mut tx, &l.id, "contact").await?;
            after.contacts.push(l);
        }
        if let Some(chg) = &u.chg {
            match &chg.registrant {
                None => {}
                Some(None) => return Err(CoreError::Policy("registrant is required")),
                Some(Some(id)) => {
                    self.require_contact(&mut tx, id.as_str(), "registrant contact")
                        .await?;
                    after.registrant = Some(id.as_str().to_owned());
                }
            }
            match &chg.auth_info {
                None => {}
                Some(AuthInfoChange::Remove) => {
                    after.auth_pw = None;
                    after.auth_set = None;
                }
                // An empty `<domain:pw/>` unsets it too (RFC 9154 section 4.3).
                Some(AuthInfoChange::Set(a)) => {
                    after.auth_pw =
                        crate::secure_auth::to_store(&self.cfg.secure_auth, a.expose())?;
                    after.auth_set = after.auth_pw.as_ref().map(|_| who.now);
                }
            }
        }
        if let Some(s) = sec {
            self.apply_sec_dns(&mut after, s)?;
        }
        after.up_id = Some(who.cl_id.clone());
        after.up_date = Some(who.now);
        let mut ch = self.change(who);
        self.write_domain(&mut ch, "domain:update", Some(d), Some(after));
        self.commit(tx, ch).await?;
        Ok(Outcome::ok(None))
    }

    /// A `<secDNS:update>`: rem (all or some), add, chg of maxSigLife (see the module docs).
    fn apply_sec_dns(&self, after: &mut Domain, s: &SecDnsUpdate) -> Result<(), CoreError> {
        if s.urgent {
            return Err(CoreError::UnimplementedOption("urgent is not supported"));
        }
        match &s.rem {
            None => {}
            Some(SecDnsRem::All) => after.ds.clear(),
            Some(SecDnsRem::Data(data)) => {
                for r in check_ds_list(data)? {
                    if !after.ds.contains(&r) {
                        return Err(CoreError::Policy("DS record not present"));
                    }
                    after.ds.retain(|x| *x != r);
                }
            }
        }
        if let Some(data) = &s.add {
            for r in check_ds_list(data)? {
                if after.ds.contains(&r) {
                    return Err(CoreError::Policy("DS record already present"));
                }
                after.ds.push(r);
            }
            if after.ds.len() > self.cfg.max_ds {
                return Err(CoreError::Policy("too many DS records"));
            }
        }
        if s.chg_max_sig_life.is_some() {
            check_max_sig_life(s.chg_max_sig_life)?;
            after.max_sig_life = s.chg_max_sig_life;
        }
        // maxSigLife goes with the last DS record (see the module docs).
        if after.ds.is_empty() {
            if s.chg_max_sig_life.is_some() {
                return Err(CoreError::Policy("maxSigLife needs DS data"));
            }
            after.max_sig_life = None;
        }
        Ok(())
    }
}
