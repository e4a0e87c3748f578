//! The registry itself: domain, host and contact objects with their life cycle, statuses and
//! who may touch them; registrars; the poll queue; the delegation change journal that the zone
//! generator consumes. It takes typed commands (from `epp-proto`) with the acting registrar and
//! returns typed results or a [`CoreError`] that maps to an EPP result code in one place.
//!
//! Every mutation is one [`change::Change`] that passes the delegation guard ([`guard`]) on
//! its way to the store: the one place that keeps a registry-locked domain's published
//! delegation from moving, whatever command, step or operator action made the change.
//!
//! It knows nothing of XML, TLS or SQL: persistence is behind the traits in [`store`],
//! implemented by `registry-store` (and in memory by [`memory`], for the rule tests); time is
//! behind [`clock::Clock`] so tests can move it.

mod admin;
pub mod auth_guard;
pub mod change;
pub mod change_poll;
pub mod clock;
pub mod config;
mod contact;
mod convert;
pub mod delegation;
mod domain;
pub mod error;
pub mod guard;
pub mod history;
mod host;
mod lifecycle;
mod lock;
pub mod mail;
pub mod memory;
pub mod model;
pub mod operator;
pub mod policy;
pub mod public;
pub mod reconcile;
pub mod registrar;
pub mod registry;
pub mod secure_auth;
pub mod status;
pub mod store;
mod transfer;

pub use change::{Change, Checked, Who};
pub use config::Config;
pub use error::CoreError;
pub use lock::VerifyOutcome;
pub use mail::{MailError, MailTransport};
pub use registry::{Actor, ObjectRef, Outcome, Registry};
pub use store::{Store, StoreError, StoreTx};
