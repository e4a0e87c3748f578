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
