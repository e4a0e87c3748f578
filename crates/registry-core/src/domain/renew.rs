//! `<domain:renew>`.

use epp_proto::domain::{DomainRenew, DomainRenewData};
use epp_proto::ResponseData;

use super::months_of;
use crate::change::Who;
use crate::error::CoreError;
use crate::model::*;
use crate::registry::{Outcome, Registry};
use crate::status::{self, Action};
use crate::store::Store;

impl<S: Store> Registry<S> {
    pub(crate) async fn domain_renew(
        &self,
        who: &Who,
        r: &DomainRenew,
    ) -> Result<Outcome, CoreError> {
        let months = months_of(r.period, self.cfg.default_period_years);
        let mut tx = self.store.begin(true).await?;
        let d = self.load_domain_w(&mut tx, who, r.name.as_str()).await?;
        if d.cl_id != who.cl_id {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        status::check(status::DOMAIN, &d.statuses, Action::Renew, &[])?;
        if d.ex_date.date_naive() != r.cur_exp_date {
            return Err(CoreError::Policy("curExpDate does not match"));
        }
        let ex = Self::add_months(d.ex_date, months)?;
        if ex > self.max_expiry(who.now)? {
            return Err(CoreError::Policy("exceeds maximum period"));
        }
        let mut after = d.clone();
        after.ex_date = ex;
        after.grace.retain(|g| g.until > who.now);
        after.grace.push(GraceRec {
            kind: GraceKind::RenewPeriod,
            until: who.now + Self::days(self.cfg.renew_grace_days),
        });
        after.up_id = Some(who.cl_id.clone());
        after.up_date = Some(who.now);
        let mut ch = self.change(who);
        self.write_domain(&mut ch, "domain:renew", Some(d), Some(after));
        self.commit(tx, ch).await?;
        Ok(Outcome::ok(Some(ResponseData::DomainRenew(
            DomainRenewData {
                name: r.name.clone(),
                ex_date: Some(ex),
            },
        ))))
    }
}
