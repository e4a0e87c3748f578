//! Contact commands (RFC 5733).
//!
//! Field rules: `int` postal info is ASCII only; at most one `int` and one `loc`; text fields
//! 1-255 characters; phone numbers in E.164a form; e-mail `local@domain`; country codes two
//! letters (stored upper-case); all refused with 2005. A non-sponsor sees a contact only with
//! its authInfo (2201 without, 2202 wrong): contact data is personal data.

use std::collections::BTreeSet;

use epp_proto::contact::{
    Address, ContactCreate, ContactCreateData, ContactInfoData, ContactStatus as CS, ContactUpdate,
    Disclose, DiscloseField, Phone, PostalInfo, PostalInfoType,
};
use epp_proto::{AuthInfo, CheckItem, ContactId, ResponseData, TransferOp};

use crate::convert;
use crate::error::CoreError;
use crate::model::*;
use crate::policy;
use crate::registry::{Outcome, Registry, Who};
use crate::store::{Store, StoreTx};

fn postal_rec(p: &PostalInfo) -> Result<PostalRec, CoreError> {
    let ascii = p.info_type == PostalInfoType::Int;
    policy::check_text(&p.name, "invalid name", ascii)?;
    if let Some(o) = &p.org {
        policy::check_text(o, "invalid org", ascii)?;
    }
    address_check(&p.addr, ascii)?;
    Ok(PostalRec {
        kind: p.info_type.as_str().to_owned(),
        name: p.name.clone(),
        org: p.org.clone(),
        street: p.addr.street.clone(),
        city: p.addr.city.clone(),
        sp: p.addr.sp.clone(),
        pc: p.addr.pc.clone(),
        cc: policy::check_cc(&p.addr.cc)?,
    })
}

fn address_check(a: &Address, ascii: bool) -> Result<(), CoreError> {
    if a.street.len() > 3 {
        return Err(CoreError::Syntax("at most 3 street lines"));
    }
    for s in &a.street {
        policy::check_text(s, "invalid street", ascii)?;
    }
    policy::check_text(&a.city, "invalid city", ascii)?;
    if let Some(sp) = &a.sp {
        policy::check_text(sp, "invalid sp", ascii)?;
    }
    if let Some(pc) = &a.pc {
        if pc.chars().count() > 16 {
            return Err(CoreError::Syntax("invalid pc"));
        }
        policy::check_text(pc, "invalid pc", ascii)?;
    }
    policy::check_cc(&a.cc)?;
    Ok(())
}

fn phone_rec(p: &Phone) -> Result<PhoneRec, CoreError> {
    policy::check_phone(&p.number, p.ext.as_deref())?;
    Ok(PhoneRec {
        number: p.number.clone(),
        ext: p.ext.clone(),
    })
}

fn disclose_field_token(f: DiscloseField) -> String {
    match f {
        DiscloseField::Name(t) => format!("name:{}", t.as_str()),
        DiscloseField::Org(t) => format!("org:{}", t.as_str()),
        DiscloseField::Addr(t) => format!("addr:{}", t.as_str()),
        DiscloseField::Voice => "voice".into(),
        DiscloseField::Fax => "fax".into(),
        DiscloseField::Email => "email".into(),
    }
}

fn disclose_field_parse(s: &str) -> Option<DiscloseField> {
    let t = |x: &str| PostalInfoType::from_token(x);
    match s.split_once(':') {
        Some(("name", x)) => t(x).map(DiscloseField::Name),
        Some(("org", x)) => t(x).map(DiscloseField::Org),
        Some(("addr", x)) => t(x).map(DiscloseField::Addr),
        None if s == "voice" => Some(DiscloseField::Voice),
        None if s == "fax" => Some(DiscloseField::Fax),
        None if s == "email" => Some(DiscloseField::Email),
        _ => None,
    }
}

fn disclose_rec(d: &Disclose) -> DiscloseRec {
    DiscloseRec {
        flag: d.flag,
        fields: d.fields.iter().map(|f| disclose_field_token(*f)).collect(),
    }
}

fn check_postal_set(list: &[PostalRec]) -> Result<(), CoreError> {
    if list.is_empty() || list.len() > 2 || (list.len() == 2 && list[0].kind == list[1].kind) {
        return Err(CoreError::Syntax("one int and/or one loc postalInfo"));
    }
    Ok(())
}

impl<S: Store> Registry<S> {
    pub(crate) async fn contact_check(&self, ids: &[ContactId]) -> Result<Outcome, CoreError> {
        if ids.len() > self.cfg.max_check {
            return Err(CoreError::Policy("too many ids in check"));
        }
        let handles: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
        let taken: BTreeSet<String> = self
            .store
            .contacts_taken(&handles)
            .await?
            .into_iter()
            .collect();
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            let taken = taken.contains(id.as_str());
            items.push(CheckItem {
                name: id.as_str().to_owned(),
                available: !taken,
                reason: taken.then(|| "in use".to_owned()),
            });
        }
        Ok(Outcome::ok(Some(ResponseData::ContactCheck(items))))
    }

    fn contact_auth(c: &Contact, auth: Option<&AuthInfo>) -> Result<bool, CoreError> {
        match auth {
            None => Ok(false),
            Some(a) if a.roid.is_none() && a.expose() == c.auth_pw && !c.auth_pw.is_empty() => {
                Ok(true)
            }
            Some(_) => Err(CoreError::InvalidAuthInfo),
        }
    }

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
        if c.cl_id != who.cl_id && !Self::contact_auth(&c, auth)? {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
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
        let data = ContactInfoData {
            id: convert::contact_id(&c.handle)?,
            roid: convert::roid(&self.roid('C', c.id))?,
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
            auth_info: Some(
                AuthInfo::new(&c.auth_pw, None).map_err(|e| CoreError::Corrupt(e.to_string()))?,
            ),
            disclose: c.disclose.as_ref().map(|d| Disclose {
                flag: d.flag,
                fields: d
                    .fields
                    .iter()
                    .filter_map(|f| disclose_field_parse(f))
                    .collect(),
            }),
        };
        Ok(Outcome::ok(Some(ResponseData::ContactInfo(Box::new(data)))))
    }

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
        if c.auth_info.expose().is_empty() {
            return Err(CoreError::Policy("authInfo must not be empty"));
        }
        let mut tx = self.store.begin(true).await?;
        if tx.contact_get(c.id.as_str(), true).await?.is_some() {
            return Err(CoreError::Exists("contact exists"));
        }
        let mut rec = Contact {
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
            auth_pw: c.auth_info.expose().to_owned(),
            disclose: c.disclose.as_ref().map(disclose_rec),
            statuses: Vec::new(),
            transfer: None,
        };
        rec.id = tx.contact_insert(&rec, None).await?;
        self.record(
            &mut tx,
            who,
            "contact",
            &rec.handle,
            self.roid('C', rec.id),
            "contact:create",
            None,
            Some(&rec),
        )
        .await?;
        tx.commit().await?;
        Ok(Outcome::ok(Some(ResponseData::ContactCreate(
            ContactCreateData {
                id: c.id.clone(),
                cr_date: who.now,
            },
        ))))
    }

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
        let removes_cup = u.rem.iter().any(|s| s.status == CS::ClientUpdateProhibited);
        for (s, why) in [
            (CS::ServerUpdateProhibited, "serverUpdateProhibited"),
            (CS::PendingTransfer, "pendingTransfer"),
            (CS::PendingDelete, "pendingDelete"),
        ] {
            if c.has(s) {
                return Err(CoreError::StatusProhibits(why));
            }
        }
        if c.has(CS::ClientUpdateProhibited) && !removes_cup {
            return Err(CoreError::StatusProhibits("clientUpdateProhibited"));
        }
        let mut after = c.clone();
        for s in &u.rem {
            if !s.status.is_client_settable() {
                return Err(CoreError::Policy("status not client-settable"));
            }
            if !has_status(&after.statuses, s.status.as_str()) {
                return Err(CoreError::Policy("status not present"));
            }
            remove_status(&mut after.statuses, s.status.as_str());
        }
        for s in &u.add {
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
            if let Some(a) = &chg.auth_info {
                if a.expose().is_empty() {
                    return Err(CoreError::Policy("authInfo must not be empty"));
                }
                after.auth_pw = a.expose().to_owned();
            }
            if let Some(d) = &chg.disclose {
                after.disclose = Some(disclose_rec(d));
            }
        }
        after.up_id = Some(who.cl_id.clone());
        after.up_date = Some(who.now);
        self.save_contact(&mut tx, who, "contact:update", &c, &after)
            .await?;
        tx.commit().await?;
        Ok(Outcome::ok(None))
    }

    pub(crate) async fn contact_delete(
        &self,
        who: &Who,
        id: &ContactId,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(true).await?;
        let c = self.load_contact_w(&mut tx, who, id.as_str()).await?;
        if c.cl_id != who.cl_id {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        for (s, why) in [
            (CS::ClientDeleteProhibited, "clientDeleteProhibited"),
            (CS::ServerDeleteProhibited, "serverDeleteProhibited"),
            (CS::PendingTransfer, "pendingTransfer"),
            (CS::PendingDelete, "pendingDelete"),
        ] {
            if c.has(s) {
                return Err(CoreError::StatusProhibits(why));
            }
        }
        if tx.contact_linked(c.id).await? {
            return Err(CoreError::Association("contact is linked"));
        }
        tx.contact_delete(c.id).await?;
        self.record(
            &mut tx,
            who,
            "contact",
            &c.handle,
            self.roid('C', c.id),
            "contact:delete",
            Some(&c),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(Outcome::ok(None))
    }

    pub(crate) async fn contact_transfer(
        &self,
        who: &Who,
        op: TransferOp,
        id: &ContactId,
        auth: Option<&AuthInfo>,
    ) -> Result<Outcome, CoreError> {
        if op == TransferOp::Query {
            let mut tx = self.store.begin(false).await?;
            let c = tx
                .contact_get(id.as_str(), false)
                .await?
                .ok_or(CoreError::NotFound("contact"))?;
            drop(tx);
            let c = self.settle_contact_view(c, who.now);
            let tr = c.transfer.as_ref().ok_or(CoreError::NotPendingTransfer)?;
            let allowed = c.cl_id == who.cl_id
                || tr.re_id == who.cl_id
                || tr.ac_id == who.cl_id
                || Self::contact_auth(&c, auth)?;
            if !allowed {
                return Err(CoreError::Authorization("not a party to the transfer"));
            }
            let mut data = convert::transfer_data(id.as_str(), tr)?;
            data.ex_date = None;
            return Ok(Outcome::ok(Some(ResponseData::ContactTransfer(data))));
        }
        let mut tx = self.store.begin(true).await?;
        let c = self.load_contact_w(&mut tx, who, id.as_str()).await?;
        let mut after = c.clone();
        let (pending, op_name) = match op {
            TransferOp::Query => return Err(CoreError::CommandUse("query")),
            TransferOp::Request => {
                if c.cl_id == who.cl_id {
                    return Err(CoreError::NotEligibleForTransfer("already the sponsor"));
                }
                if !Self::contact_auth(&c, auth)? {
                    return Err(CoreError::InvalidAuthInfo);
                }
                for (s, why) in [
                    (CS::ClientTransferProhibited, "clientTransferProhibited"),
                    (CS::ServerTransferProhibited, "serverTransferProhibited"),
                    (CS::PendingDelete, "pendingDelete"),
                ] {
                    if c.has(s) {
                        return Err(CoreError::StatusProhibits(why));
                    }
                }
                if c.has(CS::PendingTransfer) {
                    return Err(CoreError::PendingTransfer);
                }
                add_status(&mut after.statuses, CS::PendingTransfer.as_str());
                after.transfer = Some(TransferRec {
                    status: "pending".into(),
                    re_id: who.cl_id.clone(),
                    re_date: who.now,
                    ac_id: c.cl_id.clone(),
                    ac_date: who.now + Self::days(self.cfg.transfer_auto_approve_days),
                    period_months: 0,
                    ex_date: None,
                    cl_trid: who.cl_trid.clone(),
                    sv_trid: Some(who.sv_trid.clone()),
                });
                (true, "transfer:request")
            }
            TransferOp::Approve | TransferOp::Reject => {
                if c.cl_id != who.cl_id {
                    return Err(CoreError::Authorization("not the sponsoring registrar"));
                }
                if !c.transfer.as_ref().is_some_and(TransferRec::is_pending) {
                    return Err(CoreError::NotPendingTransfer);
                }
                if op == TransferOp::Approve {
                    Self::approve_contact_transfer(&mut after, "clientApproved", who.now);
                    (false, "transfer:clientApproved")
                } else {
                    Self::end_transfer(
                        &mut after.transfer,
                        &mut after.statuses,
                        "clientRejected",
                        who.now,
                    );
                    (false, "transfer:clientRejected")
                }
            }
            TransferOp::Cancel => {
                let tr = c
                    .transfer
                    .as_ref()
                    .filter(|t| t.is_pending())
                    .ok_or(CoreError::NotPendingTransfer)?;
                if tr.re_id != who.cl_id {
                    return Err(CoreError::Authorization("not the requesting registrar"));
                }
                Self::end_transfer(
                    &mut after.transfer,
                    &mut after.statuses,
                    "clientCancelled",
                    who.now,
                );
                (false, "transfer:clientCancelled")
            }
        };
        self.save_contact(&mut tx, who, op_name, &c, &after).await?;
        let tr = after
            .transfer
            .clone()
            .ok_or(CoreError::Corrupt("transfer record vanished".into()))?;
        let other = if who.cl_id == tr.re_id {
            &tr.ac_id
        } else {
            &tr.re_id
        };
        let payload = PollPayload::ContactTransfer {
            id: after.handle.clone(),
            transfer: tr.clone(),
        };
        self.notify(
            &mut tx,
            other,
            who.now,
            format!("Transfer of contact {} {}.", after.handle, tr.status),
            Some(payload),
        )
        .await?;
        tx.commit().await?;
        let mut data = convert::transfer_data(id.as_str(), &tr)?;
        data.ex_date = None;
        let data = Some(ResponseData::ContactTransfer(data));
        Ok(if pending {
            Outcome::pending(data)
        } else {
            Outcome::ok(data)
        })
    }
}
