//! `<contact:update>`.

use epp_proto::contact::{ContactUpdate, PostalInfoType};

use super::{address_check, check_postal_set, disclose_rec, phone_rec};
use crate::change::Who;
use crate::error::CoreError;
use crate::model::*;
use crate::policy;
use crate::registry::{Outcome, Registry};
use crate::status::{self, Action, ClientStatus};
use crate::store::Store;

impl<S: Store> Registry<S> {
    pub(crate) async fn contact_update(
        &self,
        who: &Who,
        u: &ContactUpdate,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(true).await?;
        let c = self.load_contact_w(&mut tx, who, u.id.as_str()).await?;
        if c.cl_id != who.cl_id {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        let add: Vec<ClientStatus> = u.add.iter().map(Into::into).collect();
        let rem: Vec<ClientStatus> = u.rem.iter().map(Into::into).collect();
        let removing: Vec<&str> = rem.iter().map(|s| s.token).collect();
        status::check(status::CONTACT, &c.statuses, Action::Update, &removing)?;
        let mut after = c.clone();
        status::apply_client_changes(&mut after.statuses, &add, &rem)?;
        if let Some(chg) = &u.chg {
            for p in &chg.postal_info {
                let ascii = p.info_type == PostalInfoType::Int;
                let kind = p.info_type.as_str();
                let pos = after.postal.iter().position(|r| r.kind == kind);
                let mut rec = match pos {
                    Some(i) => after.postal[i].clone(),
                    None => {
                        let (Some(name), Some(addr)) = (&p.name, &p.addr) else {
                            return Err(CoreError::Missing("new postalInfo needs name, addr"));
                        };
                        PostalRec {
                            kind: kind.to_owned(),
                            name: name.clone(),
                            org: None,
                            street: addr.street.clone(),
                            city: addr.city.clone(),
                            sp: addr.sp.clone(),
                            pc: addr.pc.clone(),
                            cc: addr.cc.clone(),
                        }
                    }
                };
                if let Some(n) = &p.name {
                    policy::check_text(n, "invalid name", ascii)?;
                    rec.name = n.clone();
                }
                if let Some(o) = &p.org {
                    if let Some(o) = o {
                        policy::check_text(o, "invalid org", ascii)?;
                    }
                    rec.org = o.clone();
                }
                if let Some(a) = &p.addr {
                    address_check(a, ascii)?;
                    rec.street = a.street.clone();
                    rec.city = a.city.clone();
                    rec.sp = a.sp.clone();
                    rec.pc = a.pc.clone();
                }
                if let Some(a) = &p.addr {
                    rec.cc = policy::check_cc(&a.cc)?;
                }
                match pos {
                    Some(i) => after.postal[i] = rec,
                    None => after.postal.push(rec),
                }
            }
            check_postal_set(&after.postal)?;
            if let Some(v) = &chg.voice {
                after.voice = v.as_ref().map(phone_rec).transpose()?;
            }
            if let Some(f) = &chg.fax {
                after.fax = f.as_ref().map(phone_rec).transpose()?;
            }
            if let Some(e) = &chg.email {
                policy::check_email(e)?;
                after.email = e.clone();
            }
            // An empty `<contact:pw/>` unsets the authInfo.
            if let Some(a) = &chg.auth_info {
                let stored = crate::secure_auth::to_store(&self.cfg.secure_auth, a.expose())?;
                after.auth_set = stored.as_ref().map(|_| who.now);
                after.auth_pw = stored.unwrap_or_default();
            }
            if let Some(d) = &chg.disclose {
                after.disclose = Some(disclose_rec(d));
            }
        }
        after.up_id = Some(who.cl_id.clone());
        after.up_date = Some(who.now);
        let mut ch = self.change(who);
        self.write_contact(&mut ch, "contact:update", Some(c), Some(after));
        self.commit(tx, ch).await?;
        Ok(Outcome::ok(None))
    }
}
