//! `<contact:transfer>`: the shared state machine ([`crate::transfer`]); a contact has no
//! period and no grace.

use epp_proto::{AuthInfo, ContactId, ResponseData, TransferOp};

use super::contact_auth;
use crate::change::Who;
use crate::convert;
use crate::error::CoreError;
use crate::model::*;
use crate::registry::{Outcome, Registry};
use crate::store::{Store, StoreTx};
use crate::transfer::{self, Completion};

const NO_COMPLETION: Completion = Completion {
    expiry_ceiling: None,
    grace_until: None,
};

impl<S: Store> Registry<S> {
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
            let party = c.cl_id == who.cl_id
                || c.transfer
                    .as_ref()
                    .is_some_and(|tr| tr.re_id == who.cl_id || tr.ac_id == who.cl_id);
            let auth_ok =
                !party && c.transfer.is_some() && contact_auth(&self.cfg, &c, auth, who.now)?;
            transfer::may_query(&c, who, auth_ok)?;
            let tr = c.transfer.as_ref().ok_or(CoreError::NotPendingTransfer)?;
            let mut data = convert::transfer_data(id.as_str(), tr)?;
            data.ex_date = None;
            return Ok(Outcome::ok(Some(ResponseData::ContactTransfer(data))));
        }
        let mut tx = self.store.begin(true).await?;
        let c = self.load_contact_w(&mut tx, who, id.as_str()).await?;
        let mut after = c.clone();
        let op_name = if op == TransferOp::Request {
            let auth_ok = c.cl_id != who.cl_id && contact_auth(&self.cfg, &c, auth, who.now)?;
            transfer::check_request(&c, who, auth_ok)?;
            let auto = who.now + Self::days(self.cfg.transfer_auto_approve_days);
            transfer::request(&mut after, who, auto, 0, None);
            "transfer:request"
        } else {
            transfer::act(&mut after, who, op, &NO_COMPLETION)?
        };
        let tr = after
            .transfer
            .clone()
            .ok_or(CoreError::Corrupt("transfer record vanished".into()))?;
        let mut ch = self.change(who);
        Self::notify(
            &mut ch,
            transfer::other_party(&tr, &who.cl_id),
            format!("Transfer of contact {} {}.", after.handle, tr.status),
            Some(PollPayload::ContactTransfer {
                id: after.handle.clone(),
                transfer: tr.clone(),
            }),
        );
        self.write_contact(&mut ch, op_name, Some(c), Some(after));
        self.commit(tx, ch).await?;
        let mut data = convert::transfer_data(id.as_str(), &tr)?;
        data.ex_date = None;
        let data = Some(ResponseData::ContactTransfer(data));
        Ok(if op == TransferOp::Request {
            Outcome::pending(data)
        } else {
            Outcome::ok(data)
        })
    }

    /// The server approves a contact transfer nobody acted on, at its `acDate`.
    pub(crate) fn approve_contact_transfer(c: &mut Contact, at: epp_proto::Timestamp) {
        let _ = transfer::approve(c, "serverApproved", at, &NO_COMPLETION);
    }
}
