//! The transfer state machine (RFC 5730 section 2.9.3.4), shared by domains and contacts:
//! request → `pendingTransfer` → approved by the losing registrar, by the server at `acDate`,
//! or rejected, or cancelled by the gaining registrar. What differs by object type (a domain's
//! new expiry, its grace period, its subordinate hosts) is behind [`Transferable`].

use epp_proto::{Timestamp, TransferOp};

use crate::change::Who;
use crate::error::CoreError;
use crate::model::{add_status, remove_status, Contact, Domain, StatusRec, TransferRec};
use crate::status::{self, Action};

/// An object that can change sponsor by transfer.
pub trait Transferable {
    fn sponsor(&self) -> &str;
    fn statuses(&self) -> &[StatusRec];
    fn statuses_mut(&mut self) -> &mut Vec<StatusRec>;
    fn transfer(&self) -> Option<&TransferRec>;
    fn transfer_mut(&mut self) -> &mut Option<TransferRec>;
    /// The status table of the object type.
    fn rules() -> &'static [status::Rule];
    /// Completes an approved transfer on the object (new sponsor, dates, grace).
    fn complete(&mut self, at: Timestamp, ctx: &Completion);
}

/// What completing a transfer needs beyond the record.
#[derive(Debug, Clone, Copy)]
pub struct Completion {
    /// Domains: the latest expiry the registry allows at completion.
    pub expiry_ceiling: Option<Timestamp>,
    /// Domains: the transfer grace period's end.
    pub grace_until: Option<Timestamp>,
}

/// The pending transfer, or 2301.
pub fn pending<T: Transferable>(obj: &T) -> Result<&TransferRec, CoreError> {
    obj.transfer()
        .filter(|t| t.is_pending())
        .ok_or(CoreError::NotPendingTransfer)
}

/// Whether `who` may see the transfer (`<transfer op="query">`): the sponsor, either party,
/// or anyone with the object's authInfo. 2301 without a transfer on record.
pub fn may_query<T: Transferable>(obj: &T, who: &Who, auth_ok: bool) -> Result<(), CoreError> {
    let tr = obj.transfer().ok_or(CoreError::NotPendingTransfer)?;
    if obj.sponsor() == who.cl_id || tr.re_id == who.cl_id || tr.ac_id == who.cl_id || auth_ok {
        Ok(())
    } else {
        Err(CoreError::Authorization("not a party to the transfer"))
    }
}

/// A new request, once the type-specific checks passed: `pendingTransfer` and the record.
pub fn request<T: Transferable>(
    obj: &mut T,
    who: &Who,
    auto_approve_at: Timestamp,
    period_months: u32,
    ex_date: Option<Timestamp>,
) {
    add_status(obj.statuses_mut(), "pendingTransfer");
    let ac_id = obj.sponsor().to_owned();
    *obj.transfer_mut() = Some(TransferRec {
        status: "pending".into(),
        re_id: who.cl_id.clone(),
        re_date: who.now,
        ac_id,
        ac_date: auto_approve_at,
        period_months,
        ex_date,
        cl_trid: who.cl_trid.clone(),
        sv_trid: Some(who.sv_trid.clone()),
    });
}

/// The checks every request passes: not already the sponsor (2106), the right authInfo
/// (2202), no status against it (2304, 2300 while one is pending).
pub fn check_request<T: Transferable>(obj: &T, who: &Who, auth_ok: bool) -> Result<(), CoreError> {
    if obj.sponsor() == who.cl_id {
        return Err(CoreError::NotEligibleForTransfer("already the sponsor"));
    }
    if !auth_ok {
        return Err(CoreError::InvalidAuthInfo);
    }
    status::check(T::rules(), obj.statuses(), Action::TransferRequest, &[])
}

/// Ends the pending transfer with `status` (`clientRejected`, `clientCancelled`,
/// `serverCancelled`) at `at`.
pub fn end<T: Transferable>(obj: &mut T, status: &str, at: Timestamp) {
    if let Some(t) = obj.transfer_mut().as_mut() {
        t.status = status.to_owned();
        t.ac_date = at;
    }
    remove_status(obj.statuses_mut(), "pendingTransfer");
}

/// Approves the pending transfer (`clientApproved` or `serverApproved`) at `at`.
pub fn approve<T: Transferable>(
    obj: &mut T,
    status: &str,
    at: Timestamp,
    ctx: &Completion,
) -> Result<(), CoreError> {
    pending(obj)?;
    obj.complete(at, ctx);
    if let Some(t) = obj.transfer_mut().as_mut() {
        t.status = status.to_owned();
        t.ac_date = at;
    }
    remove_status(obj.statuses_mut(), "pendingTransfer");
    Ok(())
}

/// Applies a client's approve/reject/cancel: who may do it (2201) and that one is pending
/// (2301). Returns the history op.
pub fn act<T: Transferable>(
    obj: &mut T,
    who: &Who,
    op: TransferOp,
    ctx: &Completion,
) -> Result<&'static str, CoreError> {
    match op {
        TransferOp::Approve | TransferOp::Reject => {
            if obj.sponsor() != who.cl_id {
                return Err(CoreError::Authorization("not the sponsoring registrar"));
            }
            pending(obj)?;
            if op == TransferOp::Approve {
                approve(obj, "clientApproved", who.now, ctx)?;
                Ok("transfer:clientApproved")
            } else {
                end(obj, "clientRejected", who.now);
                Ok("transfer:clientRejected")
            }
        }
        TransferOp::Cancel => {
            if pending(obj)?.re_id != who.cl_id {
                return Err(CoreError::Authorization("not the requesting registrar"));
            }
            end(obj, "clientCancelled", who.now);
            Ok("transfer:clientCancelled")
        }
        TransferOp::Query | TransferOp::Request => Err(CoreError::CommandUse("transfer op")),
    }
}

/// The registrar that hears about a transfer step taken by `who`: the other party.
pub fn other_party<'a>(tr: &'a TransferRec, who: &str) -> &'a str {
    if who == tr.re_id {
        &tr.ac_id
    } else {
        &tr.re_id
    }
}

impl Transferable for Domain {
    fn sponsor(&self) -> &str {
        &self.cl_id
    }
    fn statuses(&self) -> &[StatusRec] {
        &self.statuses
    }
    fn statuses_mut(&mut self) -> &mut Vec<StatusRec> {
        &mut self.statuses
    }
    fn transfer(&self) -> Option<&TransferRec> {
        self.transfer.as_ref()
    }
    fn transfer_mut(&mut self) -> &mut Option<TransferRec> {
        &mut self.transfer
    }
    fn rules() -> &'static [status::Rule] {
        status::DOMAIN
    }
    fn complete(&mut self, at: Timestamp, ctx: &Completion) {
        let Some(t) = self.transfer.as_mut() else {
            return;
        };
        let mut ex = self
            .ex_date
            .checked_add_months(chrono::Months::new(t.period_months))
            .unwrap_or(self.ex_date);
        if let Some(c) = ctx.expiry_ceiling {
            ex = ex.min(c);
        }
        t.ex_date = Some(ex);
        self.cl_id = t.re_id.clone();
        self.ex_date = ex;
        self.tr_date = Some(at);
        // The authInfo was for this transfer: the losing registrar must not be able to use it
        // to pull the domain back (RFC 9154 section 4.4).
        self.auth_pw = None;
        self.auth_set = None;
        self.grace.retain(|g| g.until > at);
        if let Some(until) = ctx.grace_until {
            self.grace.push(crate::model::GraceRec {
                kind: crate::model::GraceKind::TransferPeriod,
                until,
            });
        }
    }
}

impl Transferable for Contact {
    fn sponsor(&self) -> &str {
        &self.cl_id
    }
    fn statuses(&self) -> &[StatusRec] {
        &self.statuses
    }
    fn statuses_mut(&mut self) -> &mut Vec<StatusRec> {
        &mut self.statuses
    }
    fn transfer(&self) -> Option<&TransferRec> {
        self.transfer.as_ref()
    }
    fn transfer_mut(&mut self) -> &mut Option<TransferRec> {
        &mut self.transfer
    }
    fn rules() -> &'static [status::Rule] {
        status::CONTACT
    }
    fn complete(&mut self, at: Timestamp, _ctx: &Completion) {
        if let Some(t) = &self.transfer {
            self.cl_id = t.re_id.clone();
            self.tr_date = Some(at);
            self.auth_pw.clear();
            self.auth_set = None;
        }
    }
}
