//! `<host:delete>`: not while linked (2305).

use epp_proto::HostName;

use crate::change::Who;
use crate::error::CoreError;
use crate::registry::{Outcome, Registry};
use crate::status::{self, Action};
use crate::store::{Store, StoreTx};

impl<S: Store> Registry<S> {
    pub(crate) async fn host_delete(
        &self,
        who: &Who,
        name: &HostName,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(true).await?;
        let h = tx
            .host_get(name.as_str(), true)
            .await?
            .ok_or(CoreError::NotFound("host"))?;
        if h.cl_id != who.cl_id {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        status::check(status::HOST, &h.statuses, Action::Delete, &[])?;
        if !tx.domains_using_host(h.id).await?.is_empty() {
            return Err(CoreError::Association("host is linked"));
        }
        let mut ch = self.change(who);
        ch.host("host:delete", Some(h), None);
        self.commit(tx, ch).await?;
        Ok(Outcome::ok(None))
    }
}
