//! `<host:create>`.

use epp_proto::host::{HostCreate, HostCreateData};
use epp_proto::ResponseData;

use super::check_addrs;
use crate::change::Who;
use crate::error::CoreError;
use crate::model::Host;
use crate::registry::{Outcome, Registry};
use crate::store::{Store, StoreTx};

impl<S: Store> Registry<S> {
    pub(crate) async fn host_create(
        &self,
        who: &Who,
        c: &HostCreate,
    ) -> Result<Outcome, CoreError> {
        let addrs = check_addrs(&c.addrs)?;
        let mut tx = self.store.begin(true).await?;
        if tx.host_get(c.name.as_str(), true).await?.is_some() {
            return Err(CoreError::Exists("host exists"));
        }
        let sup = self
            .superordinate_for(&mut tx, who, c.name.as_str())
            .await?;
        match (&sup, addrs.is_empty()) {
            (Some(_), true) => return Err(CoreError::Missing("internal host needs an address")),
            (None, false) => return Err(CoreError::Policy("external host takes no address")),
            _ => {}
        }
        let h = Host {
            id: 0,
            name: c.name.as_str().to_owned(),
            superordinate: sup,
            cl_id: who.cl_id.clone(),
            cr_id: who.cl_id.clone(),
            cr_date: who.now,
            up_id: None,
            up_date: None,
            tr_date: None,
            addrs,
            statuses: Vec::new(),
        };
        let mut ch = self.change(who);
        ch.host("host:create", None, Some(h));
        self.commit(tx, ch).await?;
        Ok(Outcome::ok(Some(ResponseData::HostCreate(
            HostCreateData {
                name: c.name.clone(),
                cr_date: who.now,
            },
        ))))
    }
}
