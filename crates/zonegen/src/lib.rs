//! Zone generator: owns the TLD zone's contents and their publication.
//!
//! - [`zone`]: the pure computation of the zone from delegation data ([`zone_contents`]) and
//!   its incremental form ([`ZoneState`]).
//! - [`master`]: the RFC 1035 master file, written atomically.
//! - [`dns`]: RFC 2136 UPDATE with TSIG, NOTIFY, SOA query and AXFR, with `domain`.
//! - [`publisher`]: the single writer that turns journal batches into UPDATEs, with the
//!   safety valve, the fall-back to a full reload and the reconciliation.
//! - [`lockcheck`]: the publisher check of registry-locked delegations (held and alarmed).
//! - [`source`]: the `DelegationSource` input trait; [`store`]: the publisher's own state.
//! - [`config`]: the `zonegen` process's TOML file; [`ops`]: one-call operations on the
//!   registry database for other crates ([`write_zone_file`], held batches).

pub mod cli;
pub mod config;
pub mod dns;
pub mod harness;
pub mod lockcheck;
pub mod master;
pub mod metrics;
pub mod model;
pub mod name;
pub mod ops;
pub mod publisher;
pub mod serial;
pub mod source;
pub mod source_db;
pub mod store;
#[cfg(test)]
mod testing;
pub mod zone;

pub use model::{ApexConfig, DomainDelegationState, Ds, HostAddrs};
pub use name::DnsName;
pub use ops::{
    approve_held_batch, pending_held_batches, write_zone_file, ZoneFileError, ZoneFileReport,
};
pub use zone::{zone_contents, Change, Node, Zone, ZoneState};
