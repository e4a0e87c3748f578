//! RFC 3915 restore: `request` moves a domain in redemptionPeriod to pendingRestore; `report`
//! restores a domain in pendingRestore (renewing it by a year while expired).

use epp_proto::domain::{DomainStatus as DS, DomainUpdate};
use epp_proto::ext::rgp::{RgpUpdData, RgpUpdate};
use epp_proto::ext::sec_dns::SecDnsUpdate;
use epp_proto::ext::ResponseExtension;

use super::rgp_statuses;
use crate::change::Who;
use crate::error::CoreError;
use crate::model::*;
use crate::registry::{Outcome, Registry};
use crate::store::Store;

impl<S: Store> Registry<S> {
    pub(crate) async fn domain_restore(
        &self,
        who: &Who,
        u: &DomainUpdate,
        sec: Option<&SecDnsUpdate>,
        r: &RgpUpdate,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(true).await?;
        let d = self.load_domain_w(&mut tx, who, u.name.as_str()).await?;
        if d.cl_id != who.cl_id {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        if !u.add.is_empty() || !u.rem.is_empty() || u.chg.is_some() || sec.is_some() {
            return Err(CoreError::Policy("restore must be alone"));
        }
        let mut after = d.clone();
        let state = d.rgp.as_ref().map(|r| r.state);
        let op = match r {
            RgpUpdate::Request => {
                if state != Some(RgpState::RedemptionPeriod) {
                    return Err(CoreError::StatusProhibits("not in redemptionPeriod"));
                }
                after.rgp = Some(RgpRec {
                    state: RgpState::PendingRestore,
                    until: who.now + Self::days(self.cfg.pending_restore_days),
                });
                "rgp:restoreRequest"
            }
            RgpUpdate::Report(rep) => {
                if state != Some(RgpState::PendingRestore) {
                    return Err(CoreError::StatusProhibits("not in pendingRestore"));
                }
                if rep.del_time > rep.res_time
                    || rep.res_time > who.now + chrono::TimeDelta::days(1)
                {
                    return Err(CoreError::Policy("restore report times"));
                }
                tracing::info!(domain = %d.name, reason = %rep.res_reason, "restore report received");
                after.restore_report = Some(RestoreReportRec {
                    received: who.now,
                    pre_data: rep.pre_data.clone(),
                    post_data: rep.post_data.clone(),
                    del_time: rep.del_time,
                    res_time: rep.res_time,
                    res_reason: rep.res_reason.clone(),
                    statements: rep.statements.clone(),
                    other: rep.other.clone(),
                });
                after.rgp = None;
                remove_status(&mut after.statuses, DS::PendingDelete.as_str());
                while after.ex_date <= who.now {
                    after.ex_date = Self::add_months(after.ex_date, 12)?;
                }
                "rgp:restoreReport"
            }
        };
        after.up_id = Some(who.cl_id.clone());
        after.up_date = Some(who.now);
        let statuses = rgp_statuses(&after, who.now);
        let mut ch = self.change(who);
        self.write_domain(&mut ch, op, Some(d), Some(after));
        self.commit(tx, ch).await?;
        let mut out = Outcome::ok(None);
        if !statuses.is_empty() {
            out.extensions
                .push(ResponseExtension::RgpUpdate(RgpUpdData { statuses }));
        }
        Ok(out)
    }
}
