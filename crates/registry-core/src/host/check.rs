//! `<host:check>`.

use std::collections::BTreeSet;

use epp_proto::{CheckItem, HostName, Label, ResponseData};

use crate::error::CoreError;
use crate::policy;
use crate::registry::{Outcome, Registry};
use crate::store::Store;

impl<S: Store> Registry<S> {
    pub(crate) async fn host_check(&self, names: &[Label]) -> Result<Outcome, CoreError> {
        if names.len() > self.cfg.max_check {
            return Err(CoreError::Policy("too many names in check"));
        }
        let parsed: Vec<Option<HostName>> = names
            .iter()
            .map(|raw| {
                HostName::new(raw.as_str())
                    .ok()
                    .filter(|n| policy::check_labels(n.as_str()).is_ok())
            })
            .collect();
        let valid: Vec<&str> = parsed.iter().flatten().map(|n| n.as_str()).collect();
        let taken: BTreeSet<String> = self.store.hosts_taken(&valid).await?.into_iter().collect();
        let items = names
            .iter()
            .zip(parsed)
            .map(|(raw, parsed)| match parsed {
                None => CheckItem {
                    name: raw.as_str().to_owned(),
                    available: false,
                    reason: Some("invalid host name".into()),
                },
                Some(n) => {
                    let taken = taken.contains(n.as_str());
                    CheckItem {
                        name: n.as_str().to_owned(),
                        available: !taken,
                        reason: taken.then(|| "in use".to_owned()),
                    }
                }
            })
            .collect();
        Ok(Outcome::ok(Some(ResponseData::HostCheck(items))))
    }
}
