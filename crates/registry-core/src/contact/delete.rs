//! `<contact:delete>`: not while linked (2305).

use epp_proto::ContactId;

use crate::change::Who;
use crate::error::CoreError;
use crate::registry::{Outcome, Registry};
use crate::status::{self, Action};
use crate::store::{Store, StoreTx};

impl<S: Store> Registry<S> {
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
        status::check(status::CONTACT, &c.statuses, Action::Delete, &[])?;
        if tx.contact_linked(c.id).await? {
            return Err(CoreError::Association("contact is linked"));
        }
        let mut ch = self.change(who);
        self.write_contact(&mut ch, "contact:delete", Some(c), None);
        self.commit(tx, ch).await?;
        Ok(Outcome::ok(None))
    }
}
