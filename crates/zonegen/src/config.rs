//! The `zonegen` process's configuration file (TOML, unknown keys refused).
//!
//! Every field and its default is documented in `zonegen.example.toml`, which a test parses.
//! [`Config::load`] checks what can be checked without the network; [`Config::publisher`]
//! resolves the TSIG secret (inline or from an environment variable) into a
//! [`PublisherConfig`].

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::dns::TsigKey;
use crate::model::ApexConfig;
use crate::publisher::PublisherConfig;

/// The configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("TSIG key: {0}")]
    Key(#[from] crate::dns::DnsError),
}

/// A secret from the file: never shown by `Debug`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: String) -> Self {
        Secret(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

fn default_max_connections() -> u32 {
    4
}
fn default_algorithm() -> String {
    "hmac-sha256".to_owned()
}
fn default_poll_interval_ms() -> u64 {
    100
}
fn default_batch_limit() -> usize {
    10_000
}
fn default_max_change_share() -> f64 {
    0.05
}
fn default_min_held_changes() -> usize {
    10
}
fn default_reconcile_interval_secs() -> u64 {
    3600
}
fn default_true() -> bool {
    true
}
fn default_dns_timeout_secs() -> u64 {
    10
}
fn default_kick_after_ms() -> u64 {
    50
}

fn default_reload_timeout_secs() -> u64 {
    120
}
fn default_max_update_bytes() -> usize {
    48_000
}
fn default_max_axfr_records() -> usize {
    50_000_000
}
fn default_max_rediff_owners() -> usize {
    50_000
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub database: DatabaseConfig,
    /// SOA fields and apex name servers ([`ApexConfig`]).
    pub apex: ApexConfig,
    pub primary: PrimaryConfig,
    #[serde(default)]
    pub secondaries: SecondariesConfig,
    #[serde(default)]
    pub publish: PublishConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
}

/// The registry database (the one `eppd` writes).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite:PATH` or `postgres://…`.
    pub url: String,
    /// Pool size (default 4).
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

/// The hidden primary (Knot) that receives the UPDATEs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrimaryConfig {
    /// Where UPDATE, SOA queries and AXFR go (TCP).
    pub address: SocketAddr,
    /// The master file the primary loads on a full reload (written atomically).
    pub zone_file: PathBuf,
    /// argv of the command that makes the primary reload `zone_file`.
    pub reload_command: Vec<String>,
    /// argv run when an UPDATE goes unanswered for `kick_after_ms` (Knot 3.2 holds an
    /// UPDATE behind its pending NOTIFY event for up to 1 s); empty: never.
    #[serde(default)]
    pub kick_command: Vec<String>,
    /// See `kick_command`; default 50.
    #[serde(default = "default_kick_after_ms")]
    pub kick_after_ms: u64,
    /// TSIG key for UPDATE and AXFR; without it, requests are unsigned.
    pub tsig: Option<TsigConfig>,
}

/// A TSIG key: exactly one of `secret` and `secret_env`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsigConfig {
    pub name: String,
    /// Default `hmac-sha256`.
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// The base64 secret, inline.
    pub secret: Option<Secret>,
    /// The name of an environment variable holding the base64 secret.
    pub secret_env: Option<String>,
}

/// Secondaries to NOTIFY after every published batch.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondariesConfig {
    #[serde(default)]
    pub notify: Vec<SocketAddr>,
    /// TSIG key for the NOTIFYs; without it they are signed with `primary.tsig`.
    pub tsig: Option<TsigConfig>,
    /// Send the NOTIFYs unsigned even though a key is configured (secondaries that accept
    /// any NOTIFY from the address can be made to poll by anyone spoofing it).
    #[serde(default)]
    pub danger_unsigned_notify: bool,
}

/// How the publisher works; defaults as in [`PublisherConfig::new`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    #[serde(default = "default_batch_limit")]
    pub batch_limit: usize,
    /// Safety valve: share of all delegations one batch may remove or repoint.
    #[serde(default = "default_max_change_share")]
    pub max_change_share: f64,
    #[serde(default = "default_min_held_changes")]
    pub min_held_changes: usize,
    /// 0: never reconcile.
    #[serde(default = "default_reconcile_interval_secs")]
    pub reconcile_interval_secs: u64,
    #[serde(default = "default_true")]
    pub reconcile_repair: bool,
    #[serde(default = "default_dns_timeout_secs")]
    pub dns_timeout_secs: u64,
    #[serde(default = "default_reload_timeout_secs")]
    pub reload_timeout_secs: u64,
    #[serde(default = "default_max_update_bytes")]
    pub max_update_bytes: usize,
    #[serde(default = "default_max_axfr_records")]
    pub max_axfr_records: usize,
    #[serde(default = "default_max_rediff_owners")]
    pub max_rediff_owners: usize,
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            poll_interval_ms: default_poll_interval_ms(),
            batch_limit: default_batch_limit(),
            max_change_share: default_max_change_share(),
            min_held_changes: default_min_held_changes(),
            reconcile_interval_secs: default_reconcile_interval_secs(),
            reconcile_repair: true,
            dns_timeout_secs: default_dns_timeout_secs(),
            reload_timeout_secs: default_reload_timeout_secs(),
            max_update_bytes: default_max_update_bytes(),
            max_axfr_records: default_max_axfr_records(),
            max_rediff_owners: default_max_rediff_owners(),
        }
    }
}

/// The Prometheus text endpoint (`GET /metrics`); off unless `listen` is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    pub listen: Option<SocketAddr>,
}

impl Config {
    /// Parses and checks a configuration text.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Reads, parses and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.apex.apex_ns.is_empty() {
            return bad("apex.apex_ns needs at least one name server");
        }
        for ns in &self.apex.apex_ns {
            if ns.is_at_or_below(&self.apex.origin) && !self.apex.apex_glue.contains_key(ns) {
                return Err(ConfigError::Invalid(format!(
                    "apex name server {ns} is inside the zone: give its addresses in apex.apex_glue"
                )));
            }
        }
        if self.primary.reload_command.is_empty() {
            return bad("primary.reload_command must not be empty");
        }
        let p = &self.publish;
        if !(p.max_change_share > 0.0 && p.max_change_share <= 1.0) {
            return bad("publish.max_change_share must be in (0, 1]");
        }
        if p.poll_interval_ms == 0 || p.batch_limit == 0 || p.max_update_bytes == 0 {
            return bad("publish.poll_interval_ms, batch_limit and max_update_bytes must be > 0");
        }
        if p.dns_timeout_secs == 0 || p.reload_timeout_secs == 0 {
            return bad("publish.dns_timeout_secs and reload_timeout_secs must be > 0");
        }
        if let Some(t) = &self.primary.tsig {
            if t.secret.is_some() == t.secret_env.is_some() {
                return bad("primary.tsig needs exactly one of secret and secret_env");
            }
        }
        if let Some(t) = &self.secondaries.tsig {
            if t.secret.is_some() == t.secret_env.is_some() {
                return bad("secondaries.tsig needs exactly one of secret and secret_env");
            }
            if self.secondaries.danger_unsigned_notify {
                return bad("secondaries.tsig and danger_unsigned_notify contradict each other");
            }
        }
        Ok(())
    }

    /// The TSIG key, reading `secret_env` from the environment if that is how it is given.
    pub fn tsig_key(&self) -> Result<Option<TsigKey>, ConfigError> {
        resolve_key(self.primary.tsig.as_ref(), "primary.tsig")
    }

    /// The key NOTIFYs are signed with: `secondaries.tsig`, else the primary's key, else
    /// none; none at all with `danger_unsigned_notify`.
    pub fn notify_key(&self) -> Result<Option<TsigKey>, ConfigError> {
        if self.secondaries.danger_unsigned_notify {
            return Ok(None);
        }
        match &self.secondaries.tsig {
            Some(t) => resolve_key(Some(t), "secondaries.tsig"),
            None => self.tsig_key(),
        }
    }

    /// The publisher's settings.
    pub fn publisher(&self) -> Result<PublisherConfig, ConfigError> {
        let mut c = PublisherConfig::new(
            self.apex.clone(),
            self.primary.address,
            self.primary.zone_file.clone(),
        );
        let p = &self.publish;
        c.key = self.tsig_key()?;
        c.notify = self.secondaries.notify.clone();
        c.notify_key = self.notify_key()?;
        c.reload_command = self.primary.reload_command.clone();
        c.kick_command = self.primary.kick_command.clone();
        c.kick_after = Duration::from_millis(self.primary.kick_after_ms);
        c.poll_interval = Duration::from_millis(p.poll_interval_ms);
        c.batch_limit = p.batch_limit;
        c.max_change_share = p.max_change_share;
        c.min_held_changes = p.min_held_changes;
        c.reconcile_interval =
            (p.reconcile_interval_secs > 0).then(|| Duration::from_secs(p.reconcile_interval_secs));
        c.reconcile_repair = p.reconcile_repair;
        c.dns_timeout = Duration::from_secs(p.dns_timeout_secs);
        c.reload_timeout = Duration::from_secs(p.reload_timeout_secs);
        c.max_update_bytes = p.max_update_bytes;
        c.max_axfr_records = p.max_axfr_records;
        c.max_rediff_owners = p.max_rediff_owners;
        Ok(c)
    }
}

fn resolve_key(t: Option<&TsigConfig>, table: &str) -> Result<Option<TsigKey>, ConfigError> {
    let Some(t) = t else {
        return Ok(None);
    };
    let secret = match (&t.secret, &t.secret_env) {
        (Some(s), None) => s.expose().to_owned(),
        (None, Some(var)) => std::env::var(var).map_err(|_| {
            ConfigError::Invalid(format!(
                "{table}.secret_env: environment variable {var} is not set"
            ))
        })?,
        _ => {
            return Err(ConfigError::Invalid(format!(
                "{table} needs exactly one of secret and secret_env"
            )))
        }
    };
    Ok(Some(TsigKey::new(&t.name, &t.algorithm, &secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("zonegen.example.toml")
    }

    #[test]
    fn example_config_parses() {
        let cfg = Config::load(&example_path()).expect("example config");
        assert_eq!(cfg.apex.origin.as_str(), "tld");
        assert_eq!(cfg.publish.max_change_share, 0.05);
        assert_eq!(cfg.secondaries.notify.len(), 2);
        assert!(cfg.metrics.listen.is_some());
        let tsig = cfg.primary.tsig.as_ref().expect("tsig");
        assert_eq!(tsig.secret_env.as_deref(), Some("ZONEGEN_TSIG_SECRET"));
        let notify = cfg.secondaries.tsig.as_ref().expect("secondaries.tsig");
        assert_eq!(notify.name, "zonegen-notify");
        assert_eq!(notify.algorithm, "hmac-sha256");
        assert_eq!(
            notify.secret_env.as_deref(),
            Some("ZONEGEN_NOTIFY_TSIG_SECRET")
        );
        assert!(!cfg.secondaries.danger_unsigned_notify);
        assert!(!format!("{cfg:?}").contains("secret = "));
    }

    const PRIMARY_SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==";
    const NOTIFY_SECRET: &str = "bm90aWZ5LW5vdGlmeS1ub3RpZnktbm90aWZ5IQ==";

    fn notify_key_name(text: &str) -> Option<String> {
        let cfg = Config::parse(text, Path::new("t.toml")).expect("parses");
        cfg.publisher()
            .expect("publisher")
            .notify_key
            .map(|k| k.name().trim_end_matches('.').to_owned())
    }

    /// NOTIFY signing: a key of its own, else the primary's, else unsigned; the "danger"
    /// switch turns it off and contradicts a key of its own.
    #[test]
    fn notify_key_from_secondaries_or_primary() {
        let primary = format!(
            "{}\n[primary.tsig]\nname = \"zonegen-key\"\nsecret = \"{PRIMARY_SECRET}\"\n",
            minimal()
        );
        assert_eq!(notify_key_name(&minimal()), None, "no key at all: unsigned");
        assert_eq!(
            notify_key_name(&primary).as_deref(),
            Some("zonegen-key"),
            "reuses the UPDATE key"
        );
        let own = format!(
            "{primary}\n[secondaries]\nnotify = [\"127.0.0.1:53\"]\n\
             [secondaries.tsig]\nname = \"zonegen-notify\"\nsecret = \"{NOTIFY_SECRET}\"\n"
        );
        assert_eq!(notify_key_name(&own).as_deref(), Some("zonegen-notify"));
        let cfg = Config::parse(&own, Path::new("t.toml")).expect("parses");
        assert_eq!(
            cfg.publisher().expect("publisher").key.map(|k| k.name()),
            cfg.tsig_key().expect("key").map(|k| k.name()),
            "UPDATEs keep the primary's key"
        );
        assert!(!format!("{cfg:?}").contains(NOTIFY_SECRET));
        let unsigned = format!("{primary}\n[secondaries]\ndanger_unsigned_notify = true\n");
        assert_eq!(notify_key_name(&unsigned), None);
        let both = format!(
            "{}\n[secondaries]\ndanger_unsigned_notify = true\n\
             [secondaries.tsig]\nname = \"k\"\nsecret = \"{NOTIFY_SECRET}\"\n",
            minimal()
        );
        assert!(matches!(
            Config::parse(&both, Path::new("t.toml")),
            Err(ConfigError::Invalid(_))
        ));
        let no_secret = format!("{}\n[secondaries.tsig]\nname = \"k\"\n", minimal());
        assert!(matches!(
            Config::parse(&no_secret, Path::new("t.toml")),
            Err(ConfigError::Invalid(_))
        ));
    }

    fn minimal() -> String {
        "[database]\nurl = \"sqlite:/tmp/x.db\"\n\
         [apex]\norigin = \"tld\"\nmname = \"ns1.nic.example\"\nrname = \"hostmaster.nic.example\"\n\
         apex_ns = [\"ns1.nic.example\"]\n\
         [primary]\naddress = \"127.0.0.1:5300\"\nzone_file = \"/tmp/tld.zone\"\n\
         reload_command = [\"knotc\", \"zone-reload\", \"tld.\"]\n"
            .to_owned()
    }

    #[test]
    fn defaults_match_the_publisher() {
        let cfg = Config::parse(&minimal(), Path::new("t.toml")).expect("minimal");
        let p = cfg.publisher().expect("publisher");
        let d = PublisherConfig::new(cfg.apex.clone(), p.primary, p.zone_file.clone());
        assert_eq!(p.poll_interval, d.poll_interval);
        assert_eq!(p.batch_limit, d.batch_limit);
        assert_eq!(p.max_change_share, d.max_change_share);
        assert_eq!(p.min_held_changes, d.min_held_changes);
        assert_eq!(p.reconcile_interval, d.reconcile_interval);
        assert_eq!(p.dns_timeout, d.dns_timeout);
        assert_eq!(p.reload_timeout, d.reload_timeout);
        assert_eq!(p.max_update_bytes, d.max_update_bytes);
        assert_eq!(p.max_axfr_records, d.max_axfr_records);
        assert_eq!(p.max_rediff_owners, d.max_rediff_owners);
        assert!(p.key.is_none());
        assert!(cfg.metrics.listen.is_none());
    }

    #[test]
    fn refuses_bad_files() {
        let path = Path::new("t.toml");
        let unknown = format!("{}\n[publish]\npoll_interval = 5\n", minimal());
        assert!(matches!(
            Config::parse(&unknown, path),
            Err(ConfigError::Parse { .. })
        ));
        let share = format!("{}\n[publish]\nmax_change_share = 1.5\n", minimal());
        assert!(matches!(
            Config::parse(&share, path),
            Err(ConfigError::Invalid(_))
        ));
        let both = format!(
            "{}\n[primary.tsig]\nname = \"k\"\nsecret = \"AAAA\"\nsecret_env = \"X\"\n",
            minimal()
        );
        assert!(matches!(
            Config::parse(&both, path),
            Err(ConfigError::Invalid(_))
        ));
        let missing_env = format!(
            "{}\n[primary.tsig]\nname = \"k\"\nsecret_env = \"ZONEGEN_TEST_SURELY_UNSET_VAR\"\n",
            minimal()
        );
        let cfg = Config::parse(&missing_env, path).expect("parses");
        assert!(matches!(cfg.publisher(), Err(ConfigError::Invalid(_))));
        let in_zone_ns = minimal().replace(
            "apex_ns = [\"ns1.nic.example\"]",
            "apex_ns = [\"ns1.nic.tld\"]",
        );
        assert!(matches!(
            Config::parse(&in_zone_ns, path),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn inline_secret_is_used_and_hidden() {
        let text = format!(
            "{}\n[primary.tsig]\nname = \"zonegen-key\"\nsecret = \"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==\"\n",
            minimal()
        );
        let cfg = Config::parse(&text, Path::new("t.toml")).expect("parses");
        assert!(!format!("{cfg:?}").contains("c2VjcmV0"));
        let p = cfg.publisher().expect("publisher");
        assert_eq!(
            p.key.expect("key").name().trim_end_matches('.'),
            "zonegen-key"
        );
    }
}
