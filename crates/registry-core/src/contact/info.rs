//! `<contact:info>`: the sponsor, or a holder of the authInfo; the authInfo itself is never
//! returned.

use epp_proto::contact::{
    Address, ContactInfoData, ContactStatus as CS, Disclose, Phone, PostalInfo, PostalInfoType,
};
use epp_proto::{AuthInfo, ContactId, ResponseData};

use super::{contact_auth, disclose_field_parse};
use crate::change::Who;
use crate::convert;
use crate::error::CoreError;
use crate::model::*;
use crate::registry::{Outcome, Registry};
use crate::store::{Store, StoreTx};

/// A contact's `<contact:infData>` (`linked`: a domain refers to it); never the authInfo.
pub(crate) fn contact_info_data(
    c: &Contact,
    roid: &str,
    linked: bool,
) -> Result<ContactInfoData, CoreError> {
    let mut statuses = convert::statuses(&c.statuses, CS::from_token)?;
    if linked {
        statuses.push(epp_proto::StatusEntry::new(CS::Linked));
    }
    if statuses.is_empty() {
        statuses.push(epp_proto::StatusEntry::new(CS::Ok));
    }
    let postal_info = c
        .postal
        .iter()
        .map(|p| {
            Ok(PostalInfo {
                info_type: PostalInfoType::from_token(&p.kind)
                    .ok_or_else(|| CoreError::Corrupt(format!("postal type {:?}", p.kind)))?,
                name: p.name.clone(),
                org: p.org.clone(),
                addr: Address {
                    street: p.street.clone(),
                    city: p.city.clone(),
                    sp: p.sp.clone(),
                    pc: p.pc.clone(),
                    cc: p.cc.clone(),
                },
            })
        })
        .collect::<Result<Vec<_>, CoreError>>()?;
    let phone = |p: &Option<PhoneRec>| {
        p.as_ref().map(|p| Phone {
            number: p.number.clone(),
            ext: p.ext.clone(),
        })
    };
    Ok(ContactInfoData {
        id: convert::contact_id(&c.handle)?,
        roid: convert::roid(roid)?,
        statuses,
        postal_info,
        voice: phone(&c.voice),
        fax: phone(&c.fax),
        email: c.email.clone(),
        cl_id: convert::client_id(&c.cl_id)?,
        cr_id: convert::client_id(&c.cr_id)?,
        cr_date: c.cr_date,
        up_id: c.up_id.as_deref().map(convert::client_id).transpose()?,
        up_date: c.up_date,
        tr_date: c.tr_date,
        // Never returned, to anyone (RFC 9154 section 4.2, applied to contacts too).
        auth_info: None,
        disclose: c.disclose.as_ref().map(|d| Disclose {
            flag: d.flag,
            fields: d
                .fields
                .iter()
                .filter_map(|f| disclose_field_parse(f))
                .collect(),
        }),
    })
}

impl<S: Store> Registry<S> {
    pub(crate) async fn contact_info(
        &self,
        who: &Who,
        id: &ContactId,
        auth: Option<&AuthInfo>,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(false).await?;
        let c = tx
            .contact_get(id.as_str(), false)
            .await?
            .ok_or(CoreError::NotFound("contact"))?;
        let linked = tx.contact_linked(c.id).await?;
        drop(tx);
        let c = self.settle_contact_view(c, who.now);
        if c.cl_id != who.cl_id && !contact_auth(&self.cfg, &c, auth, who.now)? {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        let data = contact_info_data(&c, &self.roid('C', c.id), linked)?;
        Ok(Outcome::ok(Some(ResponseData::ContactInfo(Box::new(data)))))
    }
}
