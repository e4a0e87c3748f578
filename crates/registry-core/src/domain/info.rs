//! `<domain:info>`: the sponsor (or a holder of the authInfo) sees everything but the
//! authInfo itself, which no info response carries (RFC 9154 section 4.2: it is stored hashed,
//! and is no business of anyone's once set); anyone else name, roid, statuses, sponsor and
//! dates.

use epp_proto::domain::{
    ContactType, DomainContact, DomainInfo, DomainInfoData, DomainStatus as DS, HostsFilter,
    NameServers,
};
use epp_proto::ext::rgp::RgpInfoData;
use epp_proto::ext::sec_dns::{DsOrKeyData, SecDnsInfoData};
use epp_proto::ext::ResponseExtension;
use epp_proto::ResponseData;

use super::{domain_auth, rgp_statuses};
use crate::change::Who;
use crate::convert;
use crate::error::CoreError;
use crate::model::*;
use crate::registry::{Outcome, Registry};
use crate::store::{Store, StoreTx};

fn domain_statuses(d: &Domain) -> Result<Vec<epp_proto::StatusEntry<DS>>, CoreError> {
    let mut list = convert::statuses(&d.statuses, DS::from_token)?;
    if d.ns.is_empty() {
        list.push(epp_proto::StatusEntry::new(DS::Inactive));
    }
    if list.is_empty() {
        list.push(epp_proto::StatusEntry::new(DS::Ok));
    }
    Ok(list)
}

/// A domain's `<domain:infData>`: everything (`full`: for the sponsor) or the public part;
/// the delegated name servers when `with_ns`, the subordinate hosts `sub`. Never the
/// authInfo (see the module docs).
pub(crate) fn domain_info_data(
    d: &Domain,
    roid: &str,
    full: bool,
    with_ns: bool,
    sub: Vec<epp_proto::HostName>,
) -> Result<DomainInfoData, CoreError> {
    let ns = if with_ns && !d.ns.is_empty() {
        let mut v =
            d.ns.iter()
                .map(|n| convert::host_name(n))
                .collect::<Result<Vec<_>, _>>()?;
        v.sort();
        Some(NameServers::HostObj(v))
    } else {
        None
    };
    let mut contacts = Vec::new();
    if full {
        for c in &d.contacts {
            let contact_type = ContactType::from_token(&c.kind)
                .ok_or_else(|| CoreError::Corrupt(format!("contact type {:?}", c.kind)))?;
            contacts.push(DomainContact {
                contact_type,
                id: convert::contact_id(&c.id)?,
            });
        }
    }
    Ok(DomainInfoData {
        name: convert::host_name(&d.name)?,
        roid: convert::roid(roid)?,
        statuses: domain_statuses(d)?,
        registrant: if full {
            d.registrant
                .as_deref()
                .map(convert::contact_id)
                .transpose()?
        } else {
            None
        },
        contacts,
        ns,
        hosts: sub,
        cl_id: convert::client_id(&d.cl_id)?,
        cr_id: if full {
            Some(convert::client_id(&d.cr_id)?)
        } else {
            None
        },
        cr_date: Some(d.cr_date),
        up_id: if full {
            d.up_id.as_deref().map(convert::client_id).transpose()?
        } else {
            None
        },
        up_date: if full { d.up_date } else { None },
        ex_date: Some(d.ex_date),
        tr_date: if full { d.tr_date } else { None },
        auth_info: None,
    })
}

impl<S: Store> Registry<S> {
    pub(crate) async fn domain_info(
        &self,
        who: &Who,
        i: &DomainInfo,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(false).await?;
        let d = self.load_domain_r(&mut tx, who, i.name.as_str()).await?;
        let full =
            d.cl_id == who.cl_id || domain_auth(&self.cfg, &d, i.auth_info.as_ref(), who.now)?;
        let sub = if full && matches!(i.hosts, HostsFilter::All | HostsFilter::Sub) {
            tx.hosts_under(&d.name)
                .await?
                .into_iter()
                .map(|h| convert::host_name(&h.name))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
        drop(tx);
        let with_ns = full && matches!(i.hosts, HostsFilter::All | HostsFilter::Del);
        let data = domain_info_data(&d, &self.roid('D', d.id), full, with_ns, sub)?;
        let mut out = Outcome::ok(Some(ResponseData::DomainInfo(Box::new(data))));
        // No infData without DS records, even if a maxSigLife were stored (see the module docs).
        if !d.ds.is_empty() {
            let ds =
                d.ds.iter()
                    .map(|r| epp_proto::ext::sec_dns::DsData {
                        key_tag: r.key_tag,
                        alg: r.alg,
                        digest_type: r.digest_type,
                        digest: r.digest.clone(),
                        key_data: None,
                    })
                    .collect();
            out.extensions
                .push(ResponseExtension::SecDnsInfo(SecDnsInfoData {
                    max_sig_life: d.max_sig_life,
                    data: DsOrKeyData::Ds(ds),
                }));
        }
        let rgp = rgp_statuses(&d, who.now);
        if !rgp.is_empty() {
            out.extensions
                .push(ResponseExtension::RgpInfo(RgpInfoData { statuses: rgp }));
        }
        Ok(out)
    }
}
