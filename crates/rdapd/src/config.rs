//! rdapd's configuration: one TOML file, unknown keys refused, every option with a documented
//! default (see `rdapd.example.toml`, parsed by a test). Values are checked when loaded, so a
//! [`Config`] that exists can be served.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{0}")]
    Invalid(String),
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError::Invalid(msg.into()))
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    /// Required when `server.listen` is not empty.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    #[serde(default)]
    pub proxy: ProxyConfig,
    pub database: DatabaseConfig,
    /// The registry policy, the same section as eppd's `[registry]` (TLDs, ROID suffix,
    /// grace periods: RDAP shows each object as the registry's rules make it now).
    #[serde(default)]
    pub registry: registry_core::Config,
    #[serde(default)]
    pub service: ServiceConfig,
    /// Public data of registrars that the registry database does not hold.
    #[serde(default)]
    pub registrars: Vec<RegistrarInfo>,
    #[serde(default)]
    pub redaction: RedactionConfig,
    #[serde(default)]
    pub search: SearchConfig,
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    #[serde(default)]
    pub cache: CacheConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub log: LogConfig,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// HTTPS listeners. Default: none.
    #[serde(default)]
    pub listen: Vec<SocketAddr>,
    /// Plain-HTTP listeners: only on loopback addresses, or behind the proxies of
    /// `[proxy] trusted` (then only those peers may connect). Default: none.
    #[serde(default)]
    pub plain_listen: Vec<SocketAddr>,
    /// The public base URL (`https://rdap.example/` or with a path, `…/rdap/`), for the
    /// links in responses. Required.
    pub base_url: String,
}

/// `[tls]`: PEM files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert_chain: PathBuf,
    pub key: PathBuf,
}

/// `[proxy]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// Reverse proxies whose `X-Forwarded-For` names the client (for rate limiting); they
    /// alone may use a plain listener on a non-loopback address. Default: none.
    pub trusted: Vec<IpNet>,
}

impl ProxyConfig {
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = registry_core::registrar::normalise_ip(ip);
        self.trusted.iter().any(|n| n.contains(&ip))
    }
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite:PATH` or `postgres://…` (the registry's database; rdapd only reads it and
    /// never migrates it). Required.
    pub url: String,
    /// Default 8.
    #[serde(default = "d_db_connections")]
    pub max_connections: u32,
    /// A query slower than this is answered 503 (PostgreSQL also cancels it). Default 2000.
    #[serde(default = "d_query_timeout")]
    pub query_timeout_ms: u32,
}

fn d_db_connections() -> u32 {
    8
}
fn d_query_timeout() -> u32 {
    2000
}

/// `[service]`: what every response says about the service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// A "Terms of Use" notice linking here. Default: none.
    pub terms_of_service_url: Option<String>,
    /// Apply the ICANN gTLD RDAP profile (Response Profile and Technical Implementation Guide,
    /// 2024): its conformance values, the status-codes and inaccuracy-form notices. Default
    /// `false` (a ccTLD or test TLD is not bound by it).
    pub icann_gtld_profile: bool,
    /// `lang` of the responses. Default `en`.
    pub lang: String,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            terms_of_service_url: None,
            icann_gtld_profile: false,
            lang: "en".to_owned(),
        }
    }
}

/// `[[registrars]]`: one registrar's public data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrarInfo {
    pub cl_id: String,
    /// The IANA Registrar ID (gTLD registrars): the registrar entity's handle and publicId.
    #[serde(default)]
    pub iana_id: Option<u32>,
    /// The registrar's web site.
    #[serde(default)]
    pub url: Option<String>,
    /// The registrar's abuse contact (shown as an `abuse` entity within the registrar).
    #[serde(default)]
    pub abuse_email: Option<String>,
    #[serde(default)]
    pub abuse_phone: Option<String>,
    /// The registrar's RDAP service: a `related` link to its record of each domain.
    #[serde(default)]
    pub rdap_base_url: Option<String>,
}

/// A piece of contact data the redaction policy may withhold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The contact's handle (its ROID): "Registry Registrant ID".
    Handle,
    Name,
    Organization,
    Street,
    City,
    StateProvince,
    PostalCode,
    CountryCode,
    Voice,
    Fax,
    Email,
}

impl Field {
    /// The personal data of RFC 9537's and the ICANN Registration Data Policy's examples:
    /// everything but organization, state/province and country.
    pub const PERSONAL: [Field; 8] = [
        Field::Handle,
        Field::Name,
        Field::Street,
        Field::City,
        Field::PostalCode,
        Field::Voice,
        Field::Fax,
        Field::Email,
    ];
}

/// `[redaction]` (RFC 9537): which contact fields each role withholds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedactionConfig {
    /// Default: the personal fields (handle, name, street, city, postal_code, voice, fax,
    /// email).
    pub registrant: Vec<Field>,
    /// Default: the same personal fields.
    pub administrative: Vec<Field>,
    /// Default: the same personal fields.
    pub technical: Vec<Field>,
    /// Default: the same personal fields.
    pub billing: Vec<Field>,
    /// A field the contact chose to disclose (`<contact:disclose flag="1">`) is shown even
    /// if the policy withholds it. A field it asked to withhold (`flag="0"`) is withheld
    /// whatever this says. Default `true`.
    pub honour_disclose: bool,
    /// Where to reach a contact whose e-mail is withheld (a web form): shown as the
    /// entity's `contact-uri` in its place. Default: none (the e-mail is removed).
    pub contact_uri: Option<String>,
    /// Whether `/entity/<contact ROID>` answers (with the union of all roles' redactions).
    /// Default `true`.
    pub contact_lookup: bool,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        Self {
            registrant: Field::PERSONAL.to_vec(),
            administrative: Field::PERSONAL.to_vec(),
            technical: Field::PERSONAL.to_vec(),
            billing: Field::PERSONAL.to_vec(),
            honour_disclose: true,
            contact_uri: None,
            contact_lookup: true,
        }
    }
}

/// `[search]`: RFC 9082 searches, paged (RFC 8977 cursors) and capped.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Whether `domains?name=` and `nameservers?ip=` answer. Default `true`.
    pub enabled: bool,
    /// Results per page (1-100). Default 25.
    pub page_size: u32,
    /// Results one search may page through; past it, no `next` link and a truncation
    /// notice. Default 500.
    pub max_results: u32,
    /// Characters a name pattern needs before its `*`. Default 2.
    pub min_prefix_len: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            page_size: 25,
            max_results: 500,
            min_prefix_len: 2,
        }
    }
}

/// `[rate_limit]`: per client address (IPv6 per prefix), answered 429 with `Retry-After`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Sustained queries per second per client. 0 turns the limit off. Default 10.
    pub requests_per_second: u32,
    /// Queries a client may send at once above the sustained rate. Default 50.
    pub burst: u32,
    /// IPv6 clients are counted per prefix of this length. Default 64.
    pub ipv6_prefix_len: u8,
    /// Clients never limited (monitoring, the operator's own tools). Default: none.
    pub exempt: Vec<IpNet>,
    /// Most client states kept; past it they are all forgotten (a flood of new addresses
    /// must not grow memory without bound). Default 100000.
    pub max_clients: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            requests_per_second: 10,
            burst: 50,
            ipv6_prefix_len: 64,
            exempt: Vec::new(),
            max_clients: 100_000,
        }
    }
}

/// `[cache]`: `Cache-Control` of the answers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// `max-age` of answers about objects and of searches. Default 60.
    pub max_age_secs: u32,
    /// `max-age` of 404 answers. Default 10.
    pub not_found_max_age_secs: u32,
    /// Memory for the server's own cache of `/domain` and `/nameserver` answers, in bytes;
    /// 0 turns it off. An answer is served from it only while the database has had no
    /// commit since it was made (checked after each request arrives), so it never shows a
    /// change later than without it. Default 67108864 (64 MiB).
    pub answer_cache_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_age_secs: 60,
            not_found_max_age_secs: 10,
            answer_cache_bytes: 64 << 20,
        }
    }
}

/// `[limits]`: what one client or connection may cost.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Open connections; further ones are closed at once. Default 4096.
    pub max_connections: usize,
    /// TLS handshake. Default 5000.
    pub handshake_timeout_ms: u64,
    /// Time to send a request's head, and how long a keep-alive connection may sit idle.
    /// Default 30000.
    pub header_timeout_ms: u64,
    /// Longest request target (path and query), in bytes; longer ones get 414. Default 2048.
    pub max_uri_len: usize,
    /// HTTP/2 streams per connection. Default 64.
    pub max_concurrent_streams: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            handshake_timeout_ms: 5000,
            header_timeout_ms: 30_000,
            max_uri_len: 2048,
            max_concurrent_streams: 64,
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `human` or `json`. Default `human`.
    pub format: LogFormat,
    /// A tracing filter (`RUST_LOG` wins). Default `info`.
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            filter: "info".to_owned(),
        }
    }
}

impl Config {
    /// Reads and checks a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let cfg: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
        cfg.checked()
    }

    /// Parses and checks TOML text (for tests and generated files).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("<text>"),
            source: Box::new(e),
        })?;
        cfg.checked()
    }

    /// The invariants serde cannot express.
    pub fn checked(mut self) -> Result<Self, ConfigError> {
        if self.server.listen.is_empty() && self.server.plain_listen.is_empty() {
            return invalid("server: neither listen nor plain_listen names an address");
        }
        if !self.server.listen.is_empty() && self.tls.is_none() {
            return invalid("server.listen (HTTPS) needs a [tls] section");
        }
        for a in &self.server.plain_listen {
            if !a.ip().is_loopback() && self.proxy.trusted.is_empty() {
                return invalid(format!(
                    "server.plain_listen {a}: plain HTTP is allowed on loopback addresses only, \
                     or behind the reverse proxies listed in [proxy] trusted"
                ));
            }
        }
        let b = &self.server.base_url;
        if !(b.starts_with("https://") || b.starts_with("http://")) || b.contains(['?', '#']) {
            return invalid(format!(
                "server.base_url {b:?}: expected an absolute http(s) URL"
            ));
        }
        if !b.ends_with('/') {
            self.server.base_url.push('/');
        }
        if !(1..=100).contains(&self.search.page_size) {
            return invalid("search.page_size must be 1-100");
        }
        if self.search.max_results < self.search.page_size {
            return invalid("search.max_results must be at least search.page_size");
        }
        if self.rate_limit.requests_per_second > 0 && self.rate_limit.burst == 0 {
            return invalid("rate_limit.burst must be at least 1");
        }
        if self.rate_limit.ipv6_prefix_len > 128 {
            return invalid("rate_limit.ipv6_prefix_len must be 0-128");
        }
        if self.database.max_connections == 0 {
            return invalid("database.max_connections must be at least 1");
        }
        if self.limits.max_connections == 0 {
            return invalid("limits.max_connections must be at least 1");
        }
        let mut seen = std::collections::HashSet::new();
        for r in &self.registrars {
            if !seen.insert(r.cl_id.as_str()) {
                return invalid(format!("registrars: {} is listed twice", r.cl_id));
            }
        }
        Ok(self)
    }

    /// The path under which the service answers (`/` or `/rdap/`).
    pub fn base_path(&self) -> &str {
        let b = &self.server.base_url;
        let after_scheme = b.find("://").map_or(0, |i| i + 3);
        match b[after_scheme..].find('/') {
            Some(i) => &b[after_scheme + i..],
            None => "/",
        }
    }

    /// A configuration for `eppd demo`: HTTPS on `listen` with the demo's server
    /// certificate, its database, its TLD, and no rate limit for loopback clients.
    pub fn demo(
        listen: SocketAddr,
        base_url: &str,
        database_url: &str,
        cert_chain: &Path,
        key: &Path,
    ) -> Result<Config, ConfigError> {
        Config {
            server: ServerConfig {
                listen: vec![listen],
                plain_listen: Vec::new(),
                base_url: base_url.to_owned(),
            },
            tls: Some(TlsConfig {
                cert_chain: cert_chain.to_owned(),
                key: key.to_owned(),
            }),
            proxy: ProxyConfig::default(),
            database: DatabaseConfig {
                url: database_url.to_owned(),
                max_connections: 4,
                query_timeout_ms: d_query_timeout(),
            },
            registry: registry_core::Config::default(),
            service: ServiceConfig::default(),
            registrars: Vec::new(),
            redaction: RedactionConfig::default(),
            search: SearchConfig::default(),
            rate_limit: RateLimitConfig::default(),
            cache: CacheConfig::default(),
            limits: LimitsConfig::default(),
            log: LogConfig::default(),
        }
        .checked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rdapd.example.toml")
    }

    #[test]
    fn the_example_file_parses_and_shows_the_defaults() {
        let cfg = Config::load(&example_path()).expect("example parses");
        assert_eq!(cfg.base_path(), "/rdap/");
        // The example shows every default; where it sets a value, it is the default.
        assert_eq!(cfg.database.max_connections, d_db_connections());
        assert_eq!(cfg.database.query_timeout_ms, d_query_timeout());
        assert_eq!(cfg.search.page_size, SearchConfig::default().page_size);
        assert_eq!(cfg.search.max_results, SearchConfig::default().max_results);
        assert_eq!(
            cfg.rate_limit.requests_per_second,
            RateLimitConfig::default().requests_per_second
        );
        assert_eq!(cfg.rate_limit.burst, RateLimitConfig::default().burst);
        assert_eq!(cfg.cache.max_age_secs, CacheConfig::default().max_age_secs);
        assert_eq!(
            cfg.cache.answer_cache_bytes,
            CacheConfig::default().answer_cache_bytes
        );
        assert_eq!(
            cfg.limits.max_connections,
            LimitsConfig::default().max_connections
        );
        assert_eq!(cfg.redaction.registrant, Field::PERSONAL.to_vec());
        assert!(cfg.redaction.honour_disclose);
        assert_eq!(cfg.registry, registry_core::Config::default());
        assert_eq!(cfg.registrars.len(), 1);
        assert_eq!(cfg.registrars[0].iana_id, Some(9999));
    }

    fn minimal(extra: &str) -> String {
        format!(
            "[server]\nplain_listen = [\"127.0.0.1:8080\"]\nbase_url = \"http://127.0.0.1:8080\"\n\
             [database]\nurl = \"sqlite:x.db\"\n{extra}"
        )
    }

    #[test]
    fn a_minimal_file_gets_the_defaults() {
        let cfg = Config::from_toml(&minimal("")).expect("minimal");
        assert_eq!(cfg.server.base_url, "http://127.0.0.1:8080/");
        assert_eq!(cfg.base_path(), "/");
        assert_eq!(cfg.redaction.technical, Field::PERSONAL.to_vec());
        assert_eq!(cfg.rate_limit.requests_per_second, 10);
        assert!(!cfg.service.icann_gtld_profile);
    }

    #[test]
    fn unknown_keys_and_unsafe_listeners_are_refused() {
        let e = Config::from_toml(&minimal("[search]\npage_sise = 3\n")).unwrap_err();
        assert!(e.to_string().contains("page_sise"), "{e}");
        let public = "[server]\nplain_listen = [\"0.0.0.0:80\"]\nbase_url = \"http://x/\"\n\
                      [database]\nurl = \"sqlite:x.db\"\n";
        let e = Config::from_toml(public).unwrap_err();
        assert!(e.to_string().contains("loopback"), "{e}");
        // Behind a trusted proxy, a plain listener may face the network.
        let proxied = format!("{public}[proxy]\ntrusted = [\"10.0.0.0/8\"]\n");
        assert!(Config::from_toml(&proxied).is_ok());
        let https_without_tls = "[server]\nlisten = [\"0.0.0.0:443\"]\nbase_url = \"https://x/\"\n\
                                 [database]\nurl = \"sqlite:x.db\"\n";
        let e = Config::from_toml(https_without_tls).unwrap_err();
        assert!(e.to_string().contains("[tls]"), "{e}");
        let e = Config::from_toml(&minimal("[search]\npage_size = 0\n")).unwrap_err();
        assert!(e.to_string().contains("page_size"), "{e}");
        let e =
            Config::from_toml(&minimal("[redaction]\nregistrant = [\"shoe_size\"]\n")).unwrap_err();
        assert!(e.to_string().contains("shoe_size"), "{e}");
    }
}
