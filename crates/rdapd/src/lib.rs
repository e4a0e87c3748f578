//! rdapd: the registry's public, read-only face — RDAP (RFC 7480 HTTP usage, RFC 9082
//! queries, RFC 9083 responses, RFC 9537 redaction, RFC 8977 paging, the ICANN gTLD RDAP
//! profile where configured) over HTTPS, on the registry's own database.
//!
//! It is a binary of its own, not a listener inside eppd, because the two face different
//! worlds: eppd serves a few dozen authenticated registrars and holds the registry's write
//! path; RDAP is anonymous, public, and the first thing scraped and flooded. Apart, RDAP is
//! scaled, placed (DMZ, several replicas behind a load balancer) and restarted on its own, a
//! flood of it cannot take CPU or connections from EPP, and it runs with a read-only
//! database role: it opens the database read-only and never migrates it, so a bug in it
//! cannot write. `eppd demo` still starts one in its process for a first look
//! ([`server::start`]).
//!
//! It owns: parsing queries ([`query`]), the HTTP rules every request passes and the routes
//! ([`app`]), the JSON and the redaction policy ([`render`]), EPP → RDAP statuses
//! ([`status`], RFC 8056), errors and their HTTP codes ([`error`]), rate limiting
//! ([`ratelimit`]), listeners ([`server`]) and its configuration ([`config`]). What it may
//! read is `registry_core::public` (the read port, implemented in `registry_store::public`).

pub mod app;
pub mod cache;
pub mod client;
pub mod config;
pub mod error;
pub mod query;
pub mod ratelimit;
pub mod render;
pub mod server;
pub mod status;

pub use config::{Config, ConfigError};
pub use error::RdapError;
pub use server::{start, Running, ServerError};
