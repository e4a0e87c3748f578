//! `<contact:check>`.

use std::collections::BTreeSet;

use epp_proto::{CheckItem, ContactId, ResponseData};

use crate::error::CoreError;
use crate::registry::{Outcome, Registry};
use crate::store::Store;

impl<S: Store> Registry<S> {
    pub(crate) async fn contact_check(&self, ids: &[ContactId]) -> Result<Outcome, CoreError> {
        if ids.len() > self.cfg.max_check {
            return Err(CoreError::Policy("too many ids in check"));
        }
        let handles: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
        let taken: BTreeSet<String> = self
            .store
            .contacts_taken(&handles)
            .await?
            .into_iter()
            .collect();
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            let taken = taken.contains(id.as_str());
            items.push(CheckItem {
                name: id.as_str().to_owned(),
                available: !taken,
                reason: taken.then(|| "in use".to_owned()),
            });
        }
        Ok(Outcome::ok(Some(ResponseData::ContactCheck(items))))
    }
}
