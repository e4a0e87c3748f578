//! `<contact:create>`.

use epp_proto::contact::{ContactCreate, ContactCreateData};
use epp_proto::ResponseData;

use super::{check_postal_set, disclose_rec, phone_rec, postal_rec};
use crate::change::Who;
use crate::error::CoreError;
use crate::model::*;
use crate::policy;
use crate::registry::{Outcome, Registry};
use crate::store::{Store, StoreTx};

impl<S: Store> Registry<S> {
    pub(crate) async fn contact_create(
        &self,
        who: &Who,
        c: &ContactCreate,
    ) -> Result<Outcome, CoreError> {
        let postal = c
            .postal_info
            .iter()
            .map(postal_rec)
            .collect::<Result<Vec<_>, _>>()?;
        check_postal_set(&postal)?;
        let voice = c.voice.as_ref().map(phone_rec).transpose()?;
        let fax = c.fax.as_ref().map(phone_rec).transpose()?;
        policy::check_email(&c.email)?;
        let auth_pw = self.auth_on_create(c.auth_info.expose())?;
        let mut tx = self.store.begin(true).await?;
        if tx.contact_get(c.id.as_str(), true).await?.is_some() {
            return Err(CoreError::Exists("contact exists"));
        }
        let rec = Contact {
            id: 0,
            handle: c.id.as_str().to_owned(),
            cl_id: who.cl_id.clone(),
            cr_id: who.cl_id.clone(),
            cr_date: who.now,
            up_id: None,
            up_date: None,
            tr_date: None,
            postal,
            voice,
            fax,
            email: c.email.clone(),
            auth_set: auth_pw.as_ref().map(|_| who.now),
            auth_pw: auth_pw.unwrap_or_default(),
            disclose: c.disclose.as_ref().map(disclose_rec),
            statuses: Vec::new(),
            transfer: None,
        };
        let mut ch = self.change(who);
        self.write_contact(&mut ch, "contact:create", None, Some(rec));
        self.commit(tx, ch).await?;
        Ok(Outcome::ok(Some(ResponseData::ContactCreate(
            ContactCreateData {
                id: c.id.clone(),
                cr_date: who.now,
            },
        ))))
    }
}
