//! Registry policy: what the registry serves and how long each period lasts. Every field has
//! a documented default; a TOML file may override any of them (unknown keys are refused).

use chrono::TimeDelta;
use serde::Deserialize;

/// The policy the core applies. Durations are whole days.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// TLDs (or other public suffixes, e.g. `co.test`) under which names are registered,
    /// lowercase A-labels without dots at either end. Default: `["test"]`.
    pub tlds: Vec<String>,
    /// The repository suffix of ROIDs (`D42-EPP`): 1-8 word characters. Default `EPP`.
    pub roid_suffix: String,
    /// The clID recorded for actions the registry takes itself. Default `registry`.
    pub registry_cl_id: String,
    /// Registration period when a create or transfer names none (years). Default 1.
    pub default_period_years: u8,
    /// Longest time a registration may run ahead of now (years). Default 10.
    pub max_registration_years: u32,
    /// Most names or ids in one `<check>`. Default 50.
    pub max_check: usize,
    /// Most DS records per domain. Default 8.
    pub max_ds: usize,
    /// Add grace period (RFC 3915): a delete within it purges at once. Default 5.
    pub add_grace_days: u32,
    /// Renew grace period. Default 5.
    pub renew_grace_days: u32,
    /// Auto-renew grace period. Default 45.
    pub auto_renew_grace_days: u32,
    /// Transfer grace period. Default 5.
    pub transfer_grace_days: u32,
    /// Redemption grace period after a delete. Default 30.
    pub redemption_days: u32,
    /// Time a restore request has to be followed by its report. Default 7.
    pub pending_restore_days: u32,
    /// pendingDelete after redemption, before the purge. Default 5.
    pub pending_delete_days: u32,
    /// A pending transfer nobody acts on is approved by the server after this. Default 5.
    pub transfer_auto_approve_days: u32,
    /// Whether an expired domain renews itself for one year (`true`) or is deleted into
    /// redemption (`false`). Default `true`.
    pub auto_renew: bool,
    /// How long a purge stays held when a subordinate host of the domain is a name server of a
    /// registry-locked domain (hours); it is tried again after this. Default 24.
    pub purge_hold_hours: u32,
    /// Registry lock requests and their confirmation codes.
    pub lock: LockConfig,
    /// How the registry sends e-mail (lock confirmation codes and outcomes).
    pub mail: MailConfig,
    /// Operator accounts and the two-person rule.
    pub operators: OperatorsConfig,
    /// Bounds on failed authInfo attempts ([`crate::auth_guard`]).
    pub auth_info: crate::auth_guard::AuthInfoConfig,
    /// Secure authorization information for transfer (RFC 9154) and the transfer locks
    /// ([`crate::secure_auth`]).
    pub secure_auth: crate::secure_auth::SecureAuthConfig,
}

/// Operator accounts and the two-person rule (`[operators]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperatorsConfig {
    /// How long a proposal can be approved after it was made (hours, 1-720). Default 24.
    pub proposal_window_hours: u32,
    /// How old a signed action may be when it arrives (seconds; also how far ahead of the
    /// registry's clock). Default 300.
    pub signature_max_age_secs: u32,
}

impl Default for OperatorsConfig {
    fn default() -> Self {
        Self {
            proposal_window_hours: 24,
            signature_max_age_secs: 300,
        }
    }
}

/// Registry lock (`[lock]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockConfig {
    /// How long a confirmation code stays valid (hours). Default 24.
    pub code_ttl_hours: u32,
    /// Wrong codes allowed per request; the request fails at this many. Default 3.
    pub max_attempts: u32,
}

impl Default for LockConfig {
    fn default() -> Self {
        Self {
            code_ttl_hours: 24,
            max_attempts: 3,
        }
    }
}

/// Where mail goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailChannel {
    /// Written to the log (target `registry_core::mail`), for development. Codes appear in
    /// the log: never use this in production.
    Log,
    /// Plain SMTP to `smtp_relay` (a relay on the host or the local network).
    Smtp,
}

/// Outgoing e-mail (`[mail]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// `log` or `smtp`. Default `log`.
    pub channel: MailChannel,
    /// `host:port` of the SMTP relay (plain SMTP, no authentication). Default
    /// `127.0.0.1:25`.
    pub smtp_relay: String,
    /// The sender address. Default `registry-lock@localhost`.
    pub from: String,
    /// Seconds to wait for the relay before an attempt counts as failed. Default 30.
    pub timeout_secs: u32,
    /// First retry delay after a failed send (seconds); doubles each attempt. Default 60.
    pub retry_base_secs: u32,
    /// Longest retry delay (seconds). Default 3600.
    pub retry_max_secs: u32,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            channel: MailChannel::Log,
            smtp_relay: "127.0.0.1:25".to_owned(),
            from: "registry-lock@localhost".to_owned(),
            timeout_secs: 30,
            retry_base_secs: 60,
            retry_max_secs: 3600,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tlds: vec!["test".to_owned()],
            roid_suffix: "EPP".to_owned(),
            registry_cl_id: "registry".to_owned(),
            default_period_years: 1,
            max_registration_years: 10,
            max_check: 50,
            max_ds: 8,
            add_grace_days: 5,
            renew_grace_days: 5,
            auto_renew_grace_days: 45,
            transfer_grace_days: 5,
            redemption_days: 30,
            pending_restore_days: 7,
            pending_delete_days: 5,
            transfer_auto_approve_days: 5,
            auto_renew: true,
            purge_hold_hours: 24,
            lock: LockConfig::default(),
            mail: MailConfig::default(),
            operators: OperatorsConfig::default(),
            auth_info: crate::auth_guard::AuthInfoConfig::default(),
            secure_auth: crate::secure_auth::SecureAuthConfig::default(),
        }
    }
}

impl Config {
    pub(crate) fn days(d: u32) -> TimeDelta {
        TimeDelta::days(i64::from(d))
    }

    /// The served suffix `name` is registered under, if `name` is exactly one label below it.
    pub fn registrable_suffix(&self, name: &str) -> Option<&str> {
        let (_, rest) = name.split_once('.')?;
        self.tlds.iter().map(String::as_str).find(|t| *t == rest)
    }

    /// True when `name` is at or below a served suffix.
    pub fn is_in_served_tld(&self, name: &str) -> bool {
        self.tlds
            .iter()
            .any(|t| name == t || name.ends_with(&format!(".{t}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The commented example shipped with the crate parses, and says what the defaults say
    /// (except where it shows a non-default value on purpose).
    #[test]
    fn example_config_parses() {
        let text = include_str!("../registry.example.toml");
        let cfg: Config = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.tlds, vec!["test".to_owned(), "co.test".to_owned()]);
        assert_eq!(cfg.mail.channel, MailChannel::Smtp);
        assert_eq!(cfg.mail.smtp_relay, "127.0.0.1:25");
        let mut expected = Config {
            tlds: cfg.tlds.clone(),
            ..Config::default()
        };
        expected.mail.channel = MailChannel::Smtp;
        expected.mail.from = cfg.mail.from.clone();
        assert_eq!(cfg, expected);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("tld = [\"test\"]").is_err());
        assert!(toml::from_str::<Config>("[lock]\nmax_attempt = 3").is_err());
        assert!(toml::from_str::<Config>("[operators]\nwindow = 3").is_err());
        let ops: Config = toml::from_str("[operators]\nproposal_window_hours = 2")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ops.operators.proposal_window_hours, 2);
        let c: Config = toml::from_str("[auth_info]\nobject_max_failures = 2")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.auth_info.object_max_failures, 2);
        assert_eq!(c.auth_info.registrar_max_failures, 10);
        assert!(toml::from_str::<Config>("[auth_info]\nmax_failures = 2").is_err());
        assert!(toml::from_str::<Config>("[mail]\nchannel = \"carrier-pigeon\"").is_err());
        let empty: Config = toml::from_str("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(empty, Config::default());
    }
}
