//! The registry itself: domain, host and contact objects with their life cycle, statuses and
//! who may touch them; registrars; the poll queue; the delegation change journal that the zone
//! generator consumes. It takes typed commands (from `epp-proto`) with the acting registrar and
//! returns typed results or a [`CoreError`] that maps to an EPP result code in one place.
//!
//! It knows nothing of XML, TLS or SQL: persistence is behind the traits in [`store`],
//! implemented by `registry-store`; time is behind [`clock::Clock`] so tests can move it.

pub mod clock;
pub mod config;
mod contact_cmd;
mod convert;
mod domain_cmd;
pub mod error;
mod host_cmd;
mod lifecycle;
mod lock;
pub mod mail;
pub mod model;
pub mod policy;
pub mod public;
pub mod registrar;
pub mod registry;
pub mod store;

pub use config::Config;
pub use error::CoreError;
pub use lock::VerifyOutcome;
pub use mail::{MailError, Mailer};
pub use registry::{Actor, ObjectRef, Outcome, Registry};
pub use store::{Store, StoreError, StoreTx};
