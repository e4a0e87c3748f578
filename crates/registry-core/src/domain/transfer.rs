//! `<domain:transfer>`: the shared state machine ([`crate::transfer`]) plus what is a
//! domain's own: the period the gaining registrar pays for, the expiry ceiling, the transfer
//! grace period, and its subordinate hosts following it (RFC 5732 section 1).

use epp_proto::domain::DomainTransfer;
use epp_proto::{ResponseData, TransferOp};

use super::{domain_auth, months_of};
use crate::change::{Change, Who};
use crate::convert;
use crate::error::CoreError;
use crate::model::*;
use crate::registry::{Outcome, Registry};
use crate::store::{Store, StoreTx};
use crate::transfer::{self, Completion};

impl<S: Store> Registry<S> {
    /// What completing a domain transfer at `at` needs.
    pub(crate) fn domain_completion(
        &self,
        at: epp_proto::Timestamp,
    ) -> Result<Completion, CoreError> {
        Ok(Completion {
            expiry_ceiling: Some(self.max_expiry(at)?),
            grace_until: Some(at + Self::days(self.cfg.transfer_grace_days)),
        })
    }

    pub(crate) async fn domain_transfer(
        &self,
        who: &Who,
        t: &DomainTransfer,
    ) -> Result<Outcome, CoreError> {
        let name = t.name.as_str();
        if t.op == TransferOp::Query {
            let mut tx = self.store.begin(false).await?;
            let d = self.load_domain_r(&mut tx, who, name).await?;
            drop(tx);
            // authInfo is only looked at when the asker is not a party (2202 if wrong).
            let party = d.cl_id == who.cl_id
                || d.transfer
                    .as_ref()
                    .is_some_and(|tr| tr.re_id == who.cl_id || tr.ac_id == who.cl_id);
            let auth_ok = !party
                && d.transfer.is_some()
                && domain_auth(&self.cfg, &d, t.auth_info.as_ref(), who.now)?;
            transfer::may_query(&d, who, auth_ok)?;
            let tr = d.transfer.as_ref().ok_or(CoreError::NotPendingTransfer)?;
            return Ok(Outcome::ok(Some(ResponseData::DomainTransfer(
                convert::transfer_data(name, tr)?,
            ))));
        }
        let mut tx = self.store.begin(true).await?;
        let d = self.load_domain_w(&mut tx, who, name).await?;
        let mut after = d.clone();
        let op = if t.op == TransferOp::Request {
            let auth_ok =
                d.cl_id != who.cl_id && domain_auth(&self.cfg, &d, t.auth_info.as_ref(), who.now)?;
            transfer::check_request(&d, who, auth_ok)?;
            // After the authInfo: only its holder learns of the lock.
            self.cfg
                .secure_auth
                .check_transfer_lock(d.cr_date, d.tr_date, who.now)?;
            let months = months_of(t.period, self.cfg.default_period_years);
            let ex = Self::add_months(d.ex_date, months)?;
            if ex > self.max_expiry(who.now)? {
                return Err(CoreError::Policy("exceeds maximum period"));
            }
            let auto = who.now + Self::days(self.cfg.transfer_auto_approve_days);
            transfer::request(&mut after, who, auto, months, Some(ex));
            "transfer:request"
        } else {
            transfer::act(&mut after, who, t.op, &self.domain_completion(who.now)?)?
        };
        let tr = after
            .transfer
            .clone()
            .ok_or(CoreError::Corrupt("transfer record vanished".into()))?;
        let mut ch = self.change(who);
        let approved = after.cl_id != d.cl_id;
        if t.op == TransferOp::Request {
            self.mail_registrant_of_transfer(&mut tx, &mut ch, &after, &tr)
                .await?;
        }
        self.write_domain(&mut ch, op, Some(d), Some(after.clone()));
        if approved {
            self.move_subordinate_hosts(&mut tx, &mut ch, &after.name, &after.cl_id)
                .await?;
        }
        Self::notify(
            &mut ch,
            transfer::other_party(&tr, &who.cl_id),
            format!("Transfer of {} {}.", after.name, tr.status),
            Some(PollPayload::DomainTransfer {
                name: after.name.clone(),
                transfer: tr.clone(),
            }),
        );
        self.commit(tx, ch).await?;
        let data = Some(ResponseData::DomainTransfer(convert::transfer_data(
            name, &tr,
        )?));
        Ok(if t.op == TransferOp::Request {
            Outcome::pending(data)
        } else {
            Outcome::ok(data)
        })
    }

    /// Tells the registrant, at the e-mail address of its contact on file, that a transfer of
    /// its domain was requested: the registrant is who asked for the authInfo, so a request it
    /// did not expect is a hijack in progress, and it has until the auto-approval to object.
    pub(crate) async fn mail_registrant_of_transfer(
        &self,
        tx: &mut S::Tx,
        ch: &mut Change,
        d: &Domain,
        tr: &TransferRec,
    ) -> Result<(), CoreError> {
        let Some(id) = d.registrant.as_deref() else {
            return Ok(());
        };
        let Some(contact) = tx.contact_get(id, false).await? else {
            return Ok(());
        };
        let fmt = |t: epp_proto::Timestamp| t.format("%Y-%m-%d %H:%M UTC").to_string();
        let body = format!(
            "A transfer of the domain {name} to the registrar {re_id} was requested on {at}.\n\n\
             Unless the current registrar ({ac_id}) rejects it, the registry completes the \
             transfer on {ac_date}. If you did not ask for this transfer, contact {ac_id} at \
             once.\n\nThis is an automatic message from the registry.\n",
            name = d.name,
            re_id = tr.re_id,
            at = fmt(tr.re_date),
            ac_id = tr.ac_id,
            ac_date = fmt(tr.ac_date),
        );
        let at = ch.who.now;
        ch.mail.push(OutboxMail::queued(
            "notice",
            None,
            contact.email,
            format!("Transfer of {} requested", d.name),
            body,
            at,
        ));
        Ok(())
    }

    /// Subordinate hosts follow their domain to its new sponsor (RFC 5732 section 1).
    pub(crate) async fn move_subordinate_hosts(
        &self,
        tx: &mut S::Tx,
        ch: &mut Change,
        domain: &str,
        new_sponsor: &str,
    ) -> Result<(), CoreError> {
        let at = ch.who.now;
        for h in tx.hosts_under(domain).await? {
            let mut after = h.clone();
            after.cl_id = new_sponsor.to_owned();
            after.tr_date = Some(at);
            ch.host("host:transferWithDomain", Some(h), Some(after));
        }
        Ok(())
    }
}
