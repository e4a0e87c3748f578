//! `<domain:delete>`: purged at once inside the add grace period, otherwise into redemption.

use epp_proto::domain::DomainStatus as DS;
use epp_proto::DomainName;

use crate::change::Who;
use crate::error::CoreError;
use crate::model::*;
use crate::registry::{Outcome, Registry};
use crate::status::{self, Action};
use crate::store::{Store, StoreTx};

impl<S: Store> Registry<S> {
    pub(crate) async fn domain_delete(
        &self,
        who: &Who,
        name: &DomainName,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(true).await?;
        let d = self.load_domain_w(&mut tx, who, name.as_str()).await?;
        if d.cl_id != who.cl_id {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        status::check(status::DOMAIN, &d.statuses, Action::Delete, &[])?;
        if !tx.hosts_under(&d.name).await?.is_empty() {
            return Err(CoreError::Association("subordinate hosts exist"));
        }
        if d.in_grace(GraceKind::AddPeriod, who.now) {
            let ch = self.purge_change(&mut tx, who, &d, "domain:delete").await?;
            self.commit(tx, ch).await?;
            return Ok(Outcome::ok(None));
        }
        let mut after = d.clone();
        self.enter_redemption(&mut after, who);
        let mut ch = self.change(who);
        self.write_domain(&mut ch, "domain:delete", Some(d), Some(after));
        self.commit(tx, ch).await?;
        Ok(Outcome::pending(None))
    }

    /// A deleted domain leaves the zone and enters the redemption grace period.
    pub(crate) fn enter_redemption(&self, d: &mut Domain, who: &Who) {
        add_status(&mut d.statuses, DS::PendingDelete.as_str());
        d.grace.clear();
        d.rgp = Some(RgpRec {
            state: RgpState::RedemptionPeriod,
            until: who.now + Self::days(self.cfg.redemption_days),
        });
        d.up_id = Some(self.epp_client_id(who));
        d.up_date = Some(who.now);
    }
}
