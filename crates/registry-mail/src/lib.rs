//! Outgoing e-mail: the transports the registry's mail worker
//! (`registry_core::Registry::send_mail`) delivers the outbox with. Two channels: plain SMTP to
//! a relay (`lettre`, tokio), and the log for development. The core decides what mail goes
//! where (it fills the outbox in the same transaction as the change); this crate only sends,
//! never inside a database transaction.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use registry_core::config::{MailChannel, MailConfig};
use registry_core::mail::{MailError, MailTransport};
use registry_core::model::OutboxMail;

/// Sends mail by the configured channel.
#[derive(Clone)]
pub enum Mailer {
    Log {
        from: String,
    },
    Smtp {
        from: String,
        relay: String,
        transport: AsyncSmtpTransport<Tokio1Executor>,
    },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Log { from } => f.debug_struct("Mailer::Log").field("from", from).finish(),
            Mailer::Smtp { from, relay, .. } => f
                .debug_struct("Mailer::Smtp")
                .field("from", from)
                .field("relay", relay)
                .finish(),
        }
    }
}

impl Mailer {
    pub fn from_config(cfg: &MailConfig) -> Result<Self, MailError> {
        cfg.from
            .parse::<Mailbox>()
            .map_err(|e| MailError::Address(format!("from {:?}: {e}", cfg.from)))?;
        match cfg.channel {
            MailChannel::Log => Ok(Mailer::Log {
                from: cfg.from.clone(),
            }),
            MailChannel::Smtp => {
                let (host, port) = cfg
                    .smtp_relay
                    .rsplit_once(':')
                    .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
                    .filter(|(h, _)| !h.is_empty())
                    .ok_or_else(|| MailError::Relay(cfg.smtp_relay.clone()))?;
                // Plain SMTP to a relay we run: no TLS, no authentication.
                let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    .port(port)
                    .timeout(Some(Duration::from_secs(u64::from(
                        cfg.timeout_secs.max(1),
                    ))))
                    .build();
                Ok(Mailer::Smtp {
                    from: cfg.from.clone(),
                    relay: cfg.smtp_relay.clone(),
                    transport,
                })
            }
        }
    }

    /// Sends one mail; the error text is what the outbox records.
    pub async fn send(&self, m: &OutboxMail) -> Result<(), MailError> {
        match self {
            Mailer::Log { from } => {
                tracing::info!(
                    target: "registry_core::mail",
                    id = m.id,
                    %from,
                    to = %m.recipient,
                    subject = %m.subject,
                    body = %m.body,
                    "mail (log channel)"
                );
                Ok(())
            }
            Mailer::Smtp {
                from, transport, ..
            } => {
                let msg = Message::builder()
                    .from(
                        from.parse::<Mailbox>()
                            .map_err(|e| MailError::Address(e.to_string()))?,
                    )
                    .to(m
                        .recipient
                        .parse::<Mailbox>()
                        .map_err(|e| MailError::Address(format!("{:?}: {e}", m.recipient)))?)
                    .subject(m.subject.clone())
                    .body(m.body.clone())
                    .map_err(|e| MailError::Address(e.to_string()))?;
                transport
                    .send(msg)
                    .await
                    .map(|_| ())
                    .map_err(|e| MailError::Smtp(e.to_string()))
            }
        }
    }
}

impl MailTransport for Mailer {
    async fn send(&self, m: &OutboxMail) -> Result<(), MailError> {
        Mailer::send(self, m).await
    }
}
