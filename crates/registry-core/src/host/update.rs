//! `<host:update>`: statuses, addresses, rename (see the module docs for the rename rules).

use epp_proto::host::HostUpdate;

use crate::change::Who;
use crate::error::CoreError;
use crate::policy;
use crate::registry::{Outcome, Registry};
use crate::status::{self, Action, ClientStatus};
use crate::store::{Store, StoreTx};

impl<S: Store> Registry<S> {
    pub(crate) async fn host_update(
        &self,
        who: &Who,
        u: &HostUpdate,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(true).await?;
        let h = tx
            .host_get(u.name.as_str(), true)
            .await?
            .ok_or(CoreError::NotFound("host"))?;
        if h.cl_id != who.cl_id {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        let add: Vec<ClientStatus> = u.add.statuses.iter().map(Into::into).collect();
        let rem: Vec<ClientStatus> = u.rem.statuses.iter().map(Into::into).collect();
        let removing: Vec<&str> = rem.iter().map(|s| s.token).collect();
        status::check(status::HOST, &h.statuses, Action::Update, &removing)?;
        let mut after = h.clone();
        status::apply_client_changes(&mut after.statuses, &add, &rem)?;
        for a in &u.rem.addrs {
            if !after.addrs.contains(a) {
                return Err(CoreError::Policy("address not present"));
            }
            after.addrs.retain(|x| x != a);
        }
        for a in &u.add.addrs {
            policy::check_host_addr(a)?;
            if after.addrs.contains(a) {
                return Err(CoreError::Policy("address already present"));
            }
            after.addrs.push(*a);
        }
        if let Some(new) = &u.new_name {
            if new.as_str() != h.name {
                if tx.host_get(new.as_str(), true).await?.is_some() {
                    return Err(CoreError::Exists("host name in use"));
                }
                after.superordinate = self.superordinate_for(&mut tx, who, new.as_str()).await?;
                after.name = new.as_str().to_owned();
                if h.superordinate.is_some() && after.superordinate.is_none() {
                    // Internal to external: the old addresses go (see the module docs).
                    after.addrs.retain(|a| !h.addrs.contains(a));
                }
            }
        }
        match (&after.superordinate, after.addrs.is_empty()) {
            (Some(_), true) => return Err(CoreError::Policy("internal host needs an address")),
            (None, false) => return Err(CoreError::Policy("external host takes no address")),
            _ => {}
        }
        after.up_id = Some(who.cl_id.clone());
        after.up_date = Some(who.now);
        let mut ch = self.change(who);
        ch.host("host:update", Some(h), Some(after));
        self.commit(tx, ch).await?;
        Ok(Outcome::ok(None))
    }
}
