//! Persistence with sqlx. SQLite (WAL) is the embedded default; PostgreSQL is for production
//! and for several frontends sharing one database. Each backend has its own migrations folder
//! (`migrations/sqlite`, `migrations/postgres`), embedded and run at start-up. On SQLite, the
//! write transactions of a process share one connection and commit in groups
//! ([`group_commit`]).

pub mod cert_expiry;
pub mod chain;
pub mod db;
pub mod group_commit;
mod lock;
pub mod registrars;
mod registrars_admin;
pub mod secure_auth;

pub use db::{Db, DbError};
pub mod objects;
pub mod operators;
pub mod public;

pub use group_commit::{GroupCommitStats, GroupTx};
pub use objects::{LockedUsers, SqlStore, SqlTx};
