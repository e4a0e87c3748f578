//! Persistence with sqlx. SQLite (WAL) is the embedded default; PostgreSQL is for production
//! and for several frontends sharing one database. Each backend has its own migrations folder
//! (`migrations/sqlite`, `migrations/postgres`), embedded and run at start-up.

pub mod cert_expiry;
pub mod db;
mod lock;
pub mod registrars;
mod registrars_admin;

pub use db::{Db, DbError};
pub mod objects;

pub use objects::{SqlStore, SqlTx};
