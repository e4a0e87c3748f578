//! EPP statuses as RDAP status values (RFC 8056 section 2; RFC 9083 section 10.2.2). The
//! matches are exhaustive: a status added to epp-proto does not compile until it is mapped.

use epp_proto::contact::ContactStatus as CS;
use epp_proto::domain::DomainStatus as DS;
use epp_proto::ext::rgp::RgpStatus as RS;
use epp_proto::host::HostStatus as HS;

/// RFC 5731 domain statuses.
pub fn domain(s: DS) -> &'static str {
    match s {
        DS::ClientDeleteProhibited => "client delete prohibited",
        DS::ClientHold => "client hold",
        DS::ClientRenewProhibited => "client renew prohibited",
        DS::ClientTransferProhibited => "client transfer prohibited",
        DS::ClientUpdateProhibited => "client update prohibited",
        DS::Inactive => "inactive",
        DS::Ok => "active",
        DS::PendingCreate => "pending create",
        DS::PendingDelete => "pending delete",
        DS::PendingRenew => "pending renew",
        DS::PendingTransfer => "pending transfer",
        DS::PendingUpdate => "pending update",
        DS::ServerDeleteProhibited => "server delete prohibited",
        DS::ServerHold => "server hold",
        DS::ServerRenewProhibited => "server renew prohibited",
        DS::ServerTransferProhibited => "server transfer prohibited",
        DS::ServerUpdateProhibited => "server update prohibited",
    }
}

/// RFC 5732 host statuses.
pub fn host(s: HS) -> &'static str {
    match s {
        HS::ClientDeleteProhibited => "client delete prohibited",
        HS::ClientUpdateProhibited => "client update prohibited",
        HS::Linked => "associated",
        HS::Ok => "active",
        HS::PendingCreate => "pending create",
        HS::PendingDelete => "pending delete",
        HS::PendingTransfer => "pending transfer",
        HS::PendingUpdate => "pending update",
        HS::ServerDeleteProhibited => "server delete prohibited",
        HS::ServerUpdateProhibited => "server update prohibited",
    }
}

/// RFC 5733 contact statuses.
pub fn contact(s: CS) -> &'static str {
    match s {
        CS::ClientDeleteProhibited => "client delete prohibited",
        CS::ClientTransferProhibited => "client transfer prohibited",
        CS::ClientUpdateProhibited => "client update prohibited",
        CS::Linked => "associated",
        CS::Ok => "active",
        CS::PendingCreate => "pending create",
        CS::PendingDelete => "pending delete",
        CS::PendingTransfer => "pending transfer",
        CS::PendingUpdate => "pending update",
        CS::ServerDeleteProhibited => "server delete prohibited",
        CS::ServerTransferProhibited => "server transfer prohibited",
        CS::ServerUpdateProhibited => "server update prohibited",
    }
}

/// RFC 3915 grace-period statuses.
pub fn rgp(s: RS) -> &'static str {
    match s {
        RS::AddPeriod => "add period",
        RS::AutoRenewPeriod => "auto renew period",
        RS::RenewPeriod => "renew period",
        RS::TransferPeriod => "transfer period",
        RS::PendingDelete => "pending delete",
        RS::PendingRestore => "pending restore",
        RS::RedemptionPeriod => "redemption period",
    }
}

/// A domain's RDAP statuses: its EPP ones, then its grace periods, each value once (EPP
/// `pendingDelete` and rgp `pendingDelete` are one RDAP value).
pub fn domain_list(statuses: &[DS], rgp_statuses: &[RS]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::with_capacity(statuses.len() + rgp_statuses.len());
    for v in statuses
        .iter()
        .map(|s| domain(*s))
        .chain(rgp_statuses.iter().map(|s| rgp(*s)))
    {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_epp_status_has_a_distinct_rdap_value_per_object_type() {
        let d: std::collections::HashSet<_> = DS::ALL.iter().map(|s| domain(*s)).collect();
        assert_eq!(d.len(), DS::ALL.len());
        let h: std::collections::HashSet<_> = HS::ALL.iter().map(|s| host(*s)).collect();
        assert_eq!(h.len(), HS::ALL.len());
        let c: std::collections::HashSet<_> = CS::ALL.iter().map(|s| contact(*s)).collect();
        assert_eq!(c.len(), CS::ALL.len());
        assert_eq!(
            domain(DS::ServerUpdateProhibited),
            "server update prohibited"
        );
        assert_eq!(host(HS::Linked), "associated");
        assert_eq!(
            domain_list(
                &[DS::PendingDelete],
                &[RS::PendingDelete, RS::RedemptionPeriod]
            ),
            vec!["pending delete", "redemption period"]
        );
    }
}
