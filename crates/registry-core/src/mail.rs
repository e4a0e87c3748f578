//! Outgoing mail as the core sees it. The core decides what is sent to whom and writes it to
//! the outbox in the same transaction as the change it belongs to; the mail worker
//! ([`crate::Registry::send_mail`]) hands each due mail to a [`MailTransport`], which lives at
//! the edge (crate `registry-mail`: SMTP relay or log) — the core does no I/O of its own.

use std::future::Future;

use crate::model::OutboxMail;

/// Why a mail could not be sent (kept in the outbox row and shown by the admin tool).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    #[error("bad address: {0}")]
    Address(String),
    #[error("bad relay address {0:?}: expected host:port")]
    Relay(String),
    #[error("SMTP: {0}")]
    Smtp(String),
}

/// Delivers one mail of the outbox.
pub trait MailTransport: Send + Sync {
    fn send(&self, m: &OutboxMail) -> impl Future<Output = Result<(), MailError>> + Send;
}
