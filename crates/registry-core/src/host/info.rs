//! `<host:info>`.

use epp_proto::host::{HostInfoData, HostStatus as HS};
use epp_proto::{HostName, ResponseData};

use crate::convert;
use crate::error::CoreError;
use crate::model::Host;
use crate::registry::{Outcome, Registry};
use crate::store::{Store, StoreTx};

/// A host's `<host:infData>` (`linked`: a domain uses it).
pub(crate) fn host_info_data(
    h: &Host,
    roid: &str,
    linked: bool,
) -> Result<HostInfoData, CoreError> {
    let mut statuses = convert::statuses(&h.statuses, HS::from_token)?;
    if linked {
        statuses.push(epp_proto::StatusEntry::new(HS::Linked));
    }
    if statuses.is_empty() {
        statuses.push(epp_proto::StatusEntry::new(HS::Ok));
    }
    Ok(HostInfoData {
        name: convert::host_name(&h.name)?,
        roid: convert::roid(roid)?,
        statuses,
        addrs: h.addrs.clone(),
        cl_id: convert::client_id(&h.cl_id)?,
        cr_id: convert::client_id(&h.cr_id)?,
        cr_date: h.cr_date,
        up_id: h.up_id.as_deref().map(convert::client_id).transpose()?,
        up_date: h.up_date,
        tr_date: h.tr_date,
    })
}

impl<S: Store> Registry<S> {
    pub(crate) async fn host_info(&self, name: &HostName) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(false).await?;
        let h = tx
            .host_get(name.as_str(), false)
            .await?
            .ok_or(CoreError::NotFound("host"))?;
        let linked = !tx.domains_using_host(h.id).await?.is_empty();
        drop(tx);
        let data = host_info_data(&h, &self.roid('H', h.id), linked)?;
        Ok(Outcome::ok(Some(ResponseData::HostInfo(Box::new(data)))))
    }
}
