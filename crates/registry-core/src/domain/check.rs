//! `<domain:check>`: one indexed query for all names, no transaction.

use std::collections::BTreeSet;

use epp_proto::{CheckItem, Label, ResponseData};

use crate::error::CoreError;
use crate::policy;
use crate::registry::{Outcome, Registry};
use crate::store::Store;

impl<S: Store> Registry<S> {
    pub(crate) async fn domain_check(&self, names: &[Label]) -> Result<Outcome, CoreError> {
        if names.len() > self.cfg.max_check {
            return Err(CoreError::Policy("too many names in check"));
        }
        let parsed: Vec<_> = names
            .iter()
            .map(|raw| policy::check_domain_name(&self.cfg, raw.as_str()))
            .collect();
        let valid: Vec<&str> = parsed.iter().flatten().map(|n| n.as_str()).collect();
        let taken: BTreeSet<String> = self
            .store
            .domains_taken(&valid)
            .await?
            .into_iter()
            .collect();
        let items = names
            .iter()
            .zip(parsed)
            .map(|(raw, parsed)| match parsed {
                Err(e) => CheckItem {
                    name: raw.as_str().to_owned(),
                    available: false,
                    reason: Some(e.reason().to_owned()),
                },
                Ok(n) => {
                    let taken = taken.contains(n.as_str());
                    CheckItem {
                        name: n.as_str().to_owned(),
                        available: !taken,
                        reason: taken.then(|| "in use".to_owned()),
                    }
                }
            })
            .collect();
        Ok(Outcome::ok(Some(ResponseData::DomainCheck(items))))
    }
}
