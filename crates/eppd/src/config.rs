//! The server's configuration: one TOML file, strictly parsed (`deny_unknown_fields`), every
//! field documented with its default. `eppd.example.toml` beside `Cargo.toml` shows them all
//! and is parsed by a test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub tls: TlsConfig,
    pub database: DatabaseConfig,
    #[serde(default)]
    pub timeouts: TimeoutConfig,
    #[serde(default)]
    pub limits: LimitConfig,
    #[serde(default)]
    pub lockout: LockoutConfig,
    #[serde(default)]
    pub password: PasswordConfig,
    #[serde(default)]
    pub proxy: ProxyConfig,
    /// Registry policy (TLDs, grace periods, …): `registry_core::Config`, see
    /// `registry.example.toml` in `crates/registry-core`.
    #[serde(default)]
    pub registry: registry_core::Config,
    #[serde(default)]
    pub scheduler: SchedulerConfig,
    #[serde(default)]
    pub certificates: CertificateConfig,
    /// The Prometheus listener; absent: no metrics are served.
    #[serde(default)]
    pub metrics: Option<MetricsConfig>,
    #[serde(default)]
    pub log: LogConfig,
    /// The history chain's sequencer and signed checkpoints (`crate::history`).
    #[serde(default)]
    pub history: crate::history::HistoryConfig,
}

impl Config {
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text)?;
        config.check()?;
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Self::from_toml(&text)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if let Some(p) = self.history.problems().first() {
            return bad(p);
        }
        if self.server.listen.is_empty() {
            return bad("server.listen needs at least one address");
        }
        if self.server.sv_id.is_empty() || self.server.sv_id.len() > 64 {
            return bad("server.sv_id must be 1-64 characters");
        }
        if self.server.sv_trid_prefix.is_empty()
            || self.server.sv_trid_prefix.len() > 16
            || !self
                .server
                .sv_trid_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        {
            return bad("server.sv_trid_prefix must be 1-16 ASCII letters or digits");
        }
        if self.limits.max_connections == 0 || self.limits.password_workers == 0 {
            return bad("limits.max_connections and limits.password_workers must be at least 1");
        }
        if self.limits.max_connections_per_source == 0
            || self.limits.handshakes_per_second_per_source == 0
            || self.limits.max_prelogin_connections == 0
        {
            return bad("limits.max_connections_per_source, limits.handshakes_per_second_per_source and limits.max_prelogin_connections must be at least 1");
        }
        if [
            self.limits.registrar_check_burst,
            self.limits.registrar_transform_burst,
            self.limits.session_check_burst,
            self.limits.session_transform_burst,
        ]
        .contains(&0)
        {
            return bad("limits.*_burst must be at least 1 (a bucket holds at least one command)");
        }
        if self.limits.ipv6_source_prefix > 128 {
            return bad("limits.ipv6_source_prefix must be at most 128");
        }
        if self.limits.max_frame_len < 64 {
            return bad("limits.max_frame_len must be at least 64 bytes");
        }
        // An EPP frame needs the default namespace and usually one per object or extension.
        if self.limits.xml_max_namespaces_per_element < 2
            || self.limits.xml_max_namespaces < self.limits.xml_max_namespaces_per_element
        {
            return bad("limits.xml_max_namespaces_per_element must be at least 2 and limits.xml_max_namespaces at least as large");
        }
        if self.lockout.max_failures == 0 {
            return bad("lockout.max_failures must be at least 1");
        }
        for t in [
            self.limits.command_timeout_ms,
            self.limits.rate_limit_refresh_ms,
            self.timeouts.handshake_ms,
            self.timeouts.frame_ms,
            self.timeouts.idle_ms,
            self.timeouts.suspension_poll_ms,
        ] {
            if t == 0 {
                return bad("timeouts must be positive");
            }
        }
        if self.scheduler.interval_ms == 0
            || self.scheduler.mail_interval_ms == 0
            || self.certificates.check_interval_ms == 0
        {
            return bad("scheduler.interval_ms, scheduler.mail_interval_ms and certificates.check_interval_ms must be positive");
        }
        if self.registry.tlds.is_empty() {
            return bad("registry.tlds needs at least one TLD");
        }
        if self.timeouts.suspension_poll_ms > 500 {
            return bad("timeouts.suspension_poll_ms must be at most 500 (suspension cuts sessions within 1 s)");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Addresses to listen on, e.g. `["0.0.0.0:700", "[::]:700"]`.
    pub listen: Vec<SocketAddr>,
    /// `<svID>` of the greeting. Default "eppd".
    #[serde(default = "default_sv_id")]
    pub sv_id: String,
    /// First part of every svTRID (`PREFIX-INSTANCE-COUNTER`). Default "EPPD".
    #[serde(default = "default_sv_trid_prefix")]
    pub sv_trid_prefix: String,
    /// A label for this frontend in the `frontend_instance` table. Default "eppd".
    #[serde(default = "default_sv_id")]
    pub instance_label: String,
}

fn default_sv_id() -> String {
    "eppd".into()
}

fn default_sv_trid_prefix() -> String {
    "EPPD".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the server certificate chain, leaf first.
    pub cert_chain: PathBuf,
    /// PEM file with the server's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM bundle of the CAs that issue registrars' client certificates.
    pub client_ca: PathBuf,
    /// PEM files with certificate revocation lists of those CAs. Default: none.
    #[serde(default)]
    pub crls: Vec<PathBuf>,
    /// Protocol versions the server still accepts but reports as weak: a login over one gets
    /// a loginSec `tlsProtocol` warning (RFC 8807). Names `TLSv1.2`, `TLSv1.3`. Default
    /// `["TLSv1.2"]`.
    #[serde(default = "default_weak_protocols")]
    pub weak_protocols: Vec<String>,
    /// Cipher suites reported as weak in a loginSec `cipher` warning, by their IANA names
    /// (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`). The suites rustls offers are all AEAD,
    /// so the default is none.
    #[serde(default)]
    pub weak_cipher_suites: Vec<String>,
}

fn default_weak_protocols() -> Vec<String> {
    vec!["TLSv1.2".into()]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite:PATH` or `postgres://…`.
    pub url: String,
    /// Pool size. Default 10.
    #[serde(default = "default_db_connections")]
    pub max_connections: u32,
}

fn default_db_connections() -> u32 {
    10
}

/// All in milliseconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutConfig {
    /// PROXY header + TLS handshake. Default 10 000 (10 s).
    #[serde(default = "default_handshake_ms")]
    pub handshake_ms: u64,
    /// Receiving the rest of a frame once its first byte arrived, and writing a response.
    /// Default 30 000 (30 s).
    #[serde(default = "default_frame_ms")]
    pub frame_ms: u64,
    /// A session with no frame for this long is closed with 2500. Default 600 000 (10 min).
    #[serde(default = "default_idle_ms")]
    pub idle_ms: u64,
    /// On shutdown, how long sessions may take to finish their command. Default 10 000.
    #[serde(default = "default_shutdown_grace_ms")]
    pub shutdown_grace_ms: u64,
    /// How often each frontend re-reads the suspended registrars (at most 500). Default 250.
    #[serde(default = "default_suspension_poll_ms")]
    pub suspension_poll_ms: u64,
}

impl TimeoutConfig {
    pub fn handshake(&self) -> Duration {
        Duration::from_millis(self.handshake_ms)
    }
    pub fn frame(&self) -> Duration {
        Duration::from_millis(self.frame_ms)
    }
    pub fn idle(&self) -> Duration {
        Duration::from_millis(self.idle_ms)
    }
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
    pub fn suspension_poll(&self) -> Duration {
        Duration::from_millis(self.suspension_poll_ms)
    }
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        Self {
            handshake_ms: default_handshake_ms(),
            frame_ms: default_frame_ms(),
            idle_ms: default_idle_ms(),
            shutdown_grace_ms: default_shutdown_grace_ms(),
            suspension_poll_ms: default_suspension_poll_ms(),
        }
    }
}

fn default_handshake_ms() -> u64 {
    10_000
}
fn default_frame_ms() -> u64 {
    30_000
}
fn default_idle_ms() -> u64 {
    600_000
}
fn default_shutdown_grace_ms() -> u64 {
    10_000
}
fn default_suspension_poll_ms() -> u64 {
    250
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    /// Open connections (all listeners); one more is closed at once. Default 1000.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Largest frame accepted, header included; a larger one is answered 2500 and the
    /// connection closed, without reading it. Default 1 048 576 (1 MiB).
    #[serde(default = "default_max_frame_len")]
    pub max_frame_len: u32,
    /// Password hashes verified at once (argon2id, 19 MiB each). Default 2.
    #[serde(default = "default_password_workers")]
    pub password_workers: usize,
    /// Namespace declarations (`xmlns`, `xmlns:p`) allowed on one element of a frame; more:
    /// 2001. Default 32.
    #[serde(default = "default_xml_max_namespaces_per_element")]
    pub xml_max_namespaces_per_element: usize,
    /// Namespace declarations allowed in one frame; more: 2001. Default 128.
    #[serde(default = "default_xml_max_namespaces")]
    pub xml_max_namespaces: usize,
    /// Every command (login included) is answered within this many milliseconds: when the
    /// database is slow or gone, 2400 with the transaction rolled back. It is also the
    /// longest wait for a pooled database connection. Default 10 000.
    #[serde(default = "default_command_timeout_ms")]
    pub command_timeout_ms: u64,
    /// Open connections from one source (an IPv4 address, or an IPv6 network of
    /// `ipv6_source_prefix` bits); one more is closed at accept, before TLS. Connections
    /// from `[proxy] trusted` peers are not counted. Default 64.
    #[serde(default = "default_max_connections_per_source")]
    pub max_connections_per_source: usize,
    /// New connections one source may open per second (a bucket of one second's worth);
    /// more are closed at accept, before TLS. Default 20.
    #[serde(default = "default_handshakes_per_second_per_source")]
    pub handshakes_per_second_per_source: u32,
    /// The prefix length that makes an IPv6 address one source. Default 64.
    #[serde(default = "default_ipv6_source_prefix")]
    pub ipv6_source_prefix: u8,
    /// Of `max_connections`, how many may be not yet logged in (TLS handshake, greeting,
    /// failed logins); the rest stay free for logged-in sessions. Default 256.
    #[serde(default = "default_max_prelogin_connections")]
    pub max_prelogin_connections: usize,
    /// Command rate limits (token buckets, `crate::ratelimit`): check commands (check, info,
    /// transfer query) per second one registrar may send over all its sessions on this
    /// frontend; 0: no limit. More are answered 2308 and the session stays open. A registrar's
    /// own limits (`registry-admin registrar set-limits`) replace any of these eight.
    /// Default 400.
    #[serde(default = "default_registrar_check_per_second")]
    pub registrar_check_per_second: u32,
    /// The registrar's check bucket: how many checks may come at once after a quiet spell.
    /// Default 800.
    #[serde(default = "default_registrar_check_burst")]
    pub registrar_check_burst: u32,
    /// Transform commands (create, delete, renew, transfer, update) per second per registrar.
    /// Default 100.
    #[serde(default = "default_registrar_transform_per_second")]
    pub registrar_transform_per_second: u32,
    /// The registrar's transform bucket. Default 200.
    #[serde(default = "default_registrar_transform_burst")]
    pub registrar_transform_burst: u32,
    /// Check commands per second in one session. Default 200.
    #[serde(default = "default_session_check_per_second")]
    pub session_check_per_second: u32,
    /// A session's check bucket. Default 400.
    #[serde(default = "default_session_check_burst")]
    pub session_check_burst: u32,
    /// Transform commands per second in one session. Default 50.
    #[serde(default = "default_session_transform_per_second")]
    pub session_transform_per_second: u32,
    /// A session's transform bucket. Default 100.
    #[serde(default = "default_session_transform_burst")]
    pub session_transform_burst: u32,
    /// How often each frontend re-reads the registrars' own rate limits for their live
    /// sessions, in milliseconds (a new login reads them at once). Default 5 000.
    #[serde(default = "default_rate_limit_refresh_ms")]
    pub rate_limit_refresh_ms: u64,
}

impl LimitConfig {
    pub fn command_timeout(&self) -> Duration {
        Duration::from_millis(self.command_timeout_ms)
    }

    pub fn rate_limit_refresh(&self) -> Duration {
        Duration::from_millis(self.rate_limit_refresh_ms)
    }

    /// The bounds every frame is decoded within.
    pub fn xml(&self) -> epp_wire::dom::Limits {
        epp_wire::dom::Limits {
            max_namespaces_per_element: self.xml_max_namespaces_per_element,
            max_namespaces: self.xml_max_namespaces,
            ..epp_wire::dom::Limits::default()
        }
    }
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            max_connections: default_max_connections(),
            max_frame_len: default_max_frame_len(),
            password_workers: default_password_workers(),
            xml_max_namespaces_per_element: default_xml_max_namespaces_per_element(),
            xml_max_namespaces: default_xml_max_namespaces(),
            command_timeout_ms: default_command_timeout_ms(),
            max_connections_per_source: default_max_connections_per_source(),
            handshakes_per_second_per_source: default_handshakes_per_second_per_source(),
            ipv6_source_prefix: default_ipv6_source_prefix(),
            max_prelogin_connections: default_max_prelogin_connections(),
            registrar_check_per_second: default_registrar_check_per_second(),
            registrar_check_burst: default_registrar_check_burst(),
            registrar_transform_per_second: default_registrar_transform_per_second(),
            registrar_transform_burst: default_registrar_transform_burst(),
            session_check_per_second: default_session_check_per_second(),
            session_check_burst: default_session_check_burst(),
            session_transform_per_second: default_session_transform_per_second(),
            session_transform_burst: default_session_transform_burst(),
            rate_limit_refresh_ms: default_rate_limit_refresh_ms(),
        }
    }
}

fn default_registrar_check_per_second() -> u32 {
    400
}
fn default_registrar_check_burst() -> u32 {
    800
}
fn default_registrar_transform_per_second() -> u32 {
    100
}
fn default_registrar_transform_burst() -> u32 {
    200
}
fn default_session_check_per_second() -> u32 {
    200
}
fn default_session_check_burst() -> u32 {
    400
}
fn default_session_transform_per_second() -> u32 {
    50
}
fn default_session_transform_burst() -> u32 {
    100
}
fn default_rate_limit_refresh_ms() -> u64 {
    5_000
}

fn default_xml_max_namespaces_per_element() -> usize {
    epp_wire::dom::DEFAULT_MAX_NAMESPACES_PER_ELEMENT
}
fn default_max_connections_per_source() -> usize {
    64
}
fn default_handshakes_per_second_per_source() -> u32 {
    20
}
fn default_ipv6_source_prefix() -> u8 {
    64
}
fn default_max_prelogin_connections() -> usize {
    256
}
fn default_command_timeout_ms() -> u64 {
    10_000
}
fn default_xml_max_namespaces() -> usize {
    epp_wire::dom::DEFAULT_MAX_NAMESPACES
}

fn default_max_connections() -> usize {
    1000
}
fn default_max_frame_len() -> u32 {
    epp_wire::DEFAULT_MAX_FRAME_LEN
}
fn default_password_workers() -> usize {
    2
}

/// Lock-out after repeated failed logins, counted in the shared audit log (so across all
/// frontends). Every failure counts against its source address (and its client certificate,
/// with `by_certificate`); it counts against the clID only when the certificate was pinned to
/// that clID and the address was in its networks, so that nobody but the registrar's own side
/// can lock a registrar out (clIDs are public).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutConfig {
    /// Also count failures per presented client certificate, whatever the address (a
    /// certificate holder guessing from many addresses). Default true.
    #[serde(default = "default_true")]
    pub by_certificate: bool,
    /// Failures within the window that trigger a lock-out. Default 5.
    #[serde(default = "default_max_failures")]
    pub max_failures: u32,
    /// The window, in milliseconds. Default 300 000 (5 min).
    #[serde(default = "default_window_ms")]
    pub window_ms: u64,
    /// How long further attempts are refused (2501), in milliseconds. Default 900 000 (15 min).
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            by_certificate: true,
            max_failures: default_max_failures(),
            window_ms: default_window_ms(),
            backoff_ms: default_backoff_ms(),
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_max_failures() -> u32 {
    5
}
fn default_window_ms() -> u64 {
    300_000
}
fn default_backoff_ms() -> u64 {
    900_000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfig {
    /// New passwords refused by `<newPW>`, `<loginSec:newPW>` and `registry-admin registrar
    /// set-password` (compared case-insensitively). Default: a short list of trivial values.
    #[serde(default = "default_blacklist")]
    pub blacklist: Vec<String>,
    /// Shortest new password taken (characters). `<newPW>` without loginSec carries 16 at
    /// most (RFC 5730), so there the bound is `min(min_length, 16)`. Default 16.
    #[serde(default = "default_min_length")]
    pub min_length: usize,
    /// A password older than this many days lets its registrar log in only to set a new one
    /// (`<newPW>`); 0 turns the rule off. Default 0.
    #[serde(default)]
    pub max_age_days: u32,
    /// With `max_age_days`, logins in the last this many days of a password's life get a
    /// loginSec `password` warning. Default 14.
    #[serde(default = "default_expiry_warning_days_pw")]
    pub expiry_warning_days: u32,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            blacklist: default_blacklist(),
            min_length: default_min_length(),
            max_age_days: 0,
            expiry_warning_days: default_expiry_warning_days_pw(),
        }
    }
}

impl PasswordConfig {
    /// The policy every new password is checked against.
    pub fn policy(&self) -> registry_core::registrar::PasswordPolicy {
        registry_core::registrar::PasswordPolicy::new(self.min_length, &self.blacklist)
    }
}

fn default_min_length() -> usize {
    16
}
fn default_expiry_warning_days_pw() -> u32 {
    14
}

fn default_blacklist() -> Vec<String> {
    [
        "password",
        "123456",
        "12345678",
        "1234567890",
        "qwerty",
        "qwertyuiop",
        "letmein",
        "changeme",
        "abcdef",
        "abc123",
    ]
    .map(String::from)
    .to_vec()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// Peers allowed to (and then required to) send a PROXY protocol v2 header; the address
    /// it carries is the one the allow-lists and the audit log see. Default: none.
    #[serde(default)]
    pub trusted: Vec<IpNet>,
}

/// The time-driven steps of the registry (transfer auto-approval, expiry, redemption, purge).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    /// How often due steps are looked for, in milliseconds. Default 60 000 (1 min). Every
    /// frontend runs the scheduler; the store serializes them.
    #[serde(default = "default_scheduler_ms")]
    pub interval_ms: u64,
    /// How often the mail outbox (registry lock codes and notices) is looked at, in
    /// milliseconds. Default 5 000 (5 s). Every frontend runs the mail worker; each mail is
    /// claimed before it is sent, so it goes out once.
    #[serde(default = "default_mail_ms")]
    pub mail_interval_ms: u64,
}

impl SchedulerConfig {
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    pub fn mail_interval(&self) -> Duration {
        Duration::from_millis(self.mail_interval_ms)
    }
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            interval_ms: default_scheduler_ms(),
            mail_interval_ms: default_mail_ms(),
        }
    }
}

fn default_scheduler_ms() -> u64 {
    60_000
}

fn default_mail_ms() -> u64 {
    5_000
}

/// Warnings about pinned client certificates that are about to expire.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateConfig {
    /// A pinned certificate expiring within this many days is reported: a poll message to its
    /// registrar (once), a warning in the log and the `eppd_client_certs_expiring` gauge.
    /// Default 30.
    #[serde(default = "default_expiry_warning_days")]
    pub expiry_warning_days: u32,
    /// How often the check runs, in milliseconds. Default 86 400 000 (daily).
    #[serde(default = "default_check_interval_ms")]
    pub check_interval_ms: u64,
}

impl CertificateConfig {
    pub fn check_interval(&self) -> Duration {
        Duration::from_millis(self.check_interval_ms)
    }
}

impl Default for CertificateConfig {
    fn default() -> Self {
        Self {
            expiry_warning_days: default_expiry_warning_days(),
            check_interval_ms: default_check_interval_ms(),
        }
    }
}

fn default_expiry_warning_days() -> u32 {
    30
}
fn default_check_interval_ms() -> u64 {
    86_400_000
}

/// The Prometheus text-format endpoint (`GET /metrics`), on its own listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of the admin listener, e.g. `127.0.0.1:9700`. Keep it off public networks.
    pub listen: SocketAddr,
}

/// Log output (always to standard error; `RUST_LOG` overrides `filter`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `human` (default) or `json` (one object per line).
    #[serde(default)]
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `info,eppd::command=warn`. Default `info`.
    #[serde(default = "default_log_filter")]
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::default(),
            filter: default_log_filter(),
        }
    }
}

fn default_log_filter() -> String {
    "info".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_checkpoint_needs_key_and_file() {
        let base = include_str!("../eppd.example.toml");
        let with = |extra: &str| base.replace("checkpoint_interval_ms = 3600000", extra);
        let e = Config::from_toml(&with("checkpoint_key = \"/k\"")).unwrap_err();
        assert!(e.to_string().contains("checkpoint_file"), "{e}");
        let e = Config::from_toml(&with("checkpoint_file = \"/f\"")).unwrap_err();
        assert!(e.to_string().contains("checkpoint_key"), "{e}");
        let c = Config::from_toml(&with("checkpoint_key = \"/k\"\ncheckpoint_file = \"/f\""))
            .expect("both");
        assert_eq!(c.history.checkpoint_file.as_deref(), Some(Path::new("/f")));
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../eppd.example.toml");
        let c = Config::from_toml(text).expect("example config");
        assert_eq!(c.timeouts.idle_ms, 600_000);
        assert_eq!(c.lockout.max_failures, 5);
        assert!(c.lockout.by_certificate);
        let pw = PasswordConfig::default();
        assert_eq!(
            (
                c.password.min_length,
                c.password.max_age_days,
                c.password.expiry_warning_days
            ),
            (pw.min_length, pw.max_age_days, pw.expiry_warning_days)
        );
        assert_eq!(c.password.blacklist, pw.blacklist);
        assert_eq!(c.tls.weak_protocols, default_weak_protocols());
        assert!(c.tls.weak_cipher_suites.is_empty());
        assert_eq!(c.limits.xml_max_namespaces_per_element, 32);
        assert_eq!(c.limits.xml_max_namespaces, 128);
        assert_eq!(c.limits.command_timeout(), Duration::from_secs(10));
        let d = LimitConfig::default();
        assert_eq!(
            (
                c.limits.registrar_check_per_second,
                c.limits.registrar_check_burst,
                c.limits.registrar_transform_per_second,
                c.limits.registrar_transform_burst,
                c.limits.session_check_per_second,
                c.limits.session_check_burst,
                c.limits.session_transform_per_second,
                c.limits.session_transform_burst,
                c.limits.rate_limit_refresh_ms,
            ),
            (
                d.registrar_check_per_second,
                d.registrar_check_burst,
                d.registrar_transform_per_second,
                d.registrar_transform_burst,
                d.session_check_per_second,
                d.session_check_burst,
                d.session_transform_per_second,
                d.session_transform_burst,
                d.rate_limit_refresh_ms,
            ),
            "the example shows the defaults"
        );
        assert_eq!(c.limits.rate_limit_refresh(), Duration::from_secs(5));
        assert!(!c.proxy.trusted.is_empty());
        assert_eq!(c.registry, registry_core::Config::default());
        assert_eq!(c.scheduler.interval_ms, 60_000);
        assert_eq!(c.scheduler.mail_interval(), Duration::from_secs(5));
        assert_eq!(c.certificates.expiry_warning_days, 30);
        assert_eq!(c.history, crate::history::HistoryConfig::default());
        assert_eq!(
            c.metrics.map(|m| m.listen),
            Some(SocketAddr::from(([127, 0, 0, 1], 9700)))
        );
        assert_eq!(c.log.format, LogFormat::Human);
    }

    #[test]
    fn minimal_config_gets_defaults_and_unknown_fields_fail() {
        let minimal = r#"
            [server]
            listen = ["127.0.0.1:700"]
            [tls]
            cert_chain = "a.pem"
            key = "k.pem"
            client_ca = "ca.pem"
            [database]
            url = "sqlite:x.db"
        "#;
        let c = Config::from_toml(minimal).expect("minimal");
        assert_eq!(c.timeouts.handshake_ms, 10_000);
        assert_eq!(c.limits.max_frame_len, epp_wire::DEFAULT_MAX_FRAME_LEN);
        assert_eq!(c.server.sv_id, "eppd");
        assert!(c.metrics.is_none());
        assert_eq!(c.registry.tlds, ["test"]);
        assert_eq!(c.scheduler.mail_interval_ms, 5_000);
        assert!(
            Config::from_toml(&format!("{minimal}\n[scheduler]\nmail_interval_ms = 0\n")).is_err()
        );
        let c = Config::from_toml(&format!(
            "{minimal}\n[registry]\ntlds = [\"example\"]\n[log]\nformat = \"json\"\n"
        ))
        .expect("registry section");
        assert_eq!(c.registry.tlds, ["example"]);
        assert_eq!(c.log.format, LogFormat::Json);
        assert!(Config::from_toml(&format!("{minimal}\n[registry]\ntld = [\"x\"]\n")).is_err());
        assert!(Config::from_toml(&format!("{minimal}\n[log]\nformat = \"xml\"\n")).is_err());
        assert!(Config::from_toml(&format!("{minimal}\n[limits]\nmax_conections = 3\n")).is_err());
        for bad in [
            "xml_max_namespaces_per_element = 1",
            "xml_max_namespaces_per_element = 40\nxml_max_namespaces = 39",
            "command_timeout_ms = 0",
            "registrar_check_burst = 0",
            "session_transform_burst = 0",
            "rate_limit_refresh_ms = 0",
        ] {
            assert!(
                Config::from_toml(&format!("{minimal}\n[limits]\n{bad}\n")).is_err(),
                "{bad}"
            );
        }
        let c = Config::from_toml(&format!("{minimal}\n[lockout]\nby_certificate = false\n"))
            .expect("by_certificate");
        assert!(!c.lockout.by_certificate);
        assert!(Config::from_toml(&format!(
            "{minimal}\n[timeouts]\nsuspension_poll_ms = 900\n"
        ))
        .is_err());
    }
}
