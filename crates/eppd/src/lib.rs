//! The EPP server: accepts TLS connections (TLS 1.2/1.3, client certificate required),
//! authenticates registrars (client certificate pinned per registrar, argon2id password,
//! source-address allow-list, status, session limit, lock-out after repeated failures), runs
//! one session per connection and dispatches decoded commands through [`CommandHandler`], the
//! seam the registry core plugs into.
//!
//! Layout: [`config`] (the TOML file), [`server`] (listeners, PROXY v2, TLS, shutdown,
//! suspension watcher), [`session`] (one connection's frames), [`auth`] (login and its audit),
//! [`handler`] (the dispatch seam), [`error`] (session errors and their result codes),
//! [`live`] (live sessions and svTRIDs), [`password`] (argon2id), [`proxy`], [`tls`].

pub mod app;
pub mod auth;
pub mod budget;
pub mod cert_info;
pub mod cert_watch;
pub mod config;
pub mod core_handler;
pub mod demo;
pub mod error;
pub mod handler;
pub mod history;
pub mod instance_lock;
pub mod live;
pub mod logging;
pub mod metrics;
pub mod password;
pub mod proxy;
pub mod ratelimit;
pub mod server;
pub mod session;
pub mod tls;
pub mod workers;

pub use app::{App, AppError};
pub use config::Config;
pub use error::SessionError;
pub use handler::{CommandContext, CommandHandler, UnimplementedHandler};
pub use metrics::Metrics;
pub use server::{Server, ServerError, Shutdown};
