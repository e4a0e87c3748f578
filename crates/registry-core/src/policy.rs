//! Value policy the schemas do not express: which names may be registered, which addresses
//! may be glue, what a contact's fields must look like, which DS records are acceptable.
//!
//! DNSSEC: only the DS data interface of secDNS-1.1 is offered. `keyData` (in a create or
//! an update, alone or inside `dsData`) is refused with 2306: the registry publishes DS
//! records and does not compute them from keys, so a client always states exactly what
//! goes into the parent zone. Algorithms must be assigned by IANA (123 is not) and digest
//! types must be 1, 2 or 4 with a digest of the matching length.

use std::net::IpAddr;

use crate::config::Config;
use crate::error::CoreError;

/// Why a name is not registrable; `reason` fits a check `<reason>` (≤ 32 characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Syntax,
    NotServed,
    NotRegistrable,
    BadIdn,
}

impl NameError {
    pub fn reason(self) -> &'static str {
        match self {
            NameError::Syntax => "invalid domain name",
            NameError::NotServed => "not in a served TLD",
            NameError::NotRegistrable => "not a registrable name",
            NameError::BadIdn => "invalid IDN A-label",
        }
    }

    pub fn into_core(self) -> CoreError {
        match self {
            NameError::Syntax | NameError::BadIdn => CoreError::Syntax(self.reason()),
            NameError::NotServed | NameError::NotRegistrable => CoreError::Policy(self.reason()),
        }
    }
}

/// Checks every label of an (already LDH, lowercase) name: `??--` labels are reserved unless
/// they are valid IDNA A-labels.
pub fn check_labels(name: &str) -> Result<(), NameError> {
    for label in name.split('.') {
        if label.len() >= 4 && &label[2..4] == "--" {
            if !label.starts_with("xn--") {
                return Err(NameError::BadIdn);
            }
            let (unicode, res) = idna::domain_to_unicode(label);
            if res.is_err() || unicode == label {
                return Err(NameError::BadIdn);
            }
            match idna::domain_to_ascii_strict(&unicode) {
                Ok(back) if back == label => {}
                _ => return Err(NameError::BadIdn),
            }
        }
    }
    Ok(())
}

/// Checks a domain name for registration: syntax, served TLD, exactly one label below it,
/// IDN rules. Returns the normalized name.
pub fn check_domain_name(cfg: &Config, raw: &str) -> Result<epp_proto::DomainName, NameError> {
    let name = epp_proto::HostName::new(raw).map_err(|_| NameError::Syntax)?;
    if !cfg.is_in_served_tld(name.as_str()) {
        return Err(NameError::NotServed);
    }
    if cfg.registrable_suffix(name.as_str()).is_none() {
        return Err(NameError::NotRegistrable);
    }
    check_labels(name.as_str())?;
    Ok(name)
}

/// The registrable domain a host name lies in, if it is under a served TLD (the longest
/// served suffix wins): `ns1.a.example.test` → `example.test`.
pub fn superordinate_of(cfg: &Config, host: &str) -> Option<String> {
    let suffix = cfg
        .tlds
        .iter()
        .filter(|t| {
            host.len() > t.len() + 1
                && host.ends_with(t.as_str())
                && host.as_bytes()[host.len() - t.len() - 1] == b'.'
        })
        .max_by_key(|t| t.len())?;
    let head = &host[..host.len() - suffix.len() - 1];
    let label = head.rsplit('.').next()?;
    Some(format!("{label}.{suffix}"))
}

/// Addresses a host may not have: unspecified, loopback, link-local, multicast, broadcast,
/// documentation-free special ranges that cannot serve DNS on the Internet.
pub fn check_host_addr(a: &IpAddr) -> Result<(), CoreError> {
    let bad = match a {
        IpAddr::V4(v4) => {
            v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some()
        }
    };
    if bad {
        return Err(CoreError::Policy("address not allowed"));
    }
    Ok(())
}

/// E.164a: `+CC.NUMBER`, 1-3 digit country code, at most 15 digits in all (RFC 5733 3.2.6
/// uses `contact:e164StringType`: `(\+[0-9]{1,3}\.[0-9]{1,14})?`, ≤ 17 characters).
pub fn check_phone(number: &str, ext: Option<&str>) -> Result<(), CoreError> {
    let bad = CoreError::Syntax("invalid phone number");
    let rest = number
        .strip_prefix('+')
        .ok_or(CoreError::Syntax("invalid phone number"))?;
    let (cc, num) = rest
        .split_once('.')
        .ok_or(CoreError::Syntax("invalid phone number"))?;
    let digits = |s: &str, min: usize, max: usize| {
        s.len() >= min && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(cc, 1, 3) || !digits(num, 1, 14) || number.len() > 17 {
        return Err(bad);
    }
    if let Some(x) = ext {
        if !digits(x, 1, 10) {
            return Err(CoreError::Syntax("invalid phone extension"));
        }
    }
    Ok(())
}

/// An e-mail address: `local@domain`, domain with a dot, no spaces, ≤ 254 octets.
pub fn check_email(e: &str) -> Result<(), CoreError> {
    let bad = CoreError::Syntax("invalid e-mail address");
    if e.len() > 254 || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad);
    }
    let (local, domain) = e
        .rsplit_once('@')
        .ok_or(CoreError::Syntax("invalid e-mail address"))?;
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return Err(bad);
    }
    let labels_ok = domain.split('.').count() >= 2
        && domain.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if !labels_ok {
        return Err(bad);
    }
    Ok(())
}

/// The 249 officially assigned ISO 3166-1 alpha-2 codes, sorted (checked against the
/// `iso-codes` package's `iso_3166-1.json`, version 4.15). User-assigned (`XX`, `AA`, `QM`-`QZ`,
/// `XA`-`XZ`, `ZZ`), exceptionally reserved (`UK`, `EU`, `AC`, ...) and withdrawn codes are not
/// in it.
pub const ISO_3166_ALPHA2: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// A country code (RFC 5733 `contact:cc`): an assigned ISO 3166-1 alpha-2 code, in either
/// case; returned upper-case. Anything else, `XX` included, is 2005: the schema's `ccType` is
/// any two-character token, but RFC 5733 defines the value as an ISO 3166 identifier, so a
/// code that is not one is a malformed value, not a local policy (and RST's epp-07 row 15
/// expects a refusal).
pub fn check_cc(cc: &str) -> Result<String, CoreError> {
    let up = cc.to_ascii_uppercase();
    if ISO_3166_ALPHA2.binary_search(&up.as_str()).is_ok() {
        Ok(up)
    } else {
        Err(CoreError::Syntax("invalid country code"))
    }
}

/// A free-text contact field: 1-255 characters (`postalLineType`), no control characters.
pub fn check_text(s: &str, what: &'static str, ascii_only: bool) -> Result<(), CoreError> {
    let n = s.chars().count();
    if n == 0 || n > 255 || s.chars().any(char::is_control) {
        return Err(CoreError::Syntax(what));
    }
    if ascii_only && !s.is_ascii() {
        return Err(CoreError::Syntax("int postalInfo must be ASCII"));
    }
    Ok(())
}

/// DNSSEC algorithm numbers assigned by IANA for use in DS records.
pub const DS_ALGORITHMS: &[u8] = &[3, 5, 6, 7, 8, 10, 12, 13, 14, 15, 16, 17, 23];

/// Checks one DS record and returns it normalized (upper-case digest).
pub fn check_ds(ds: &epp_proto::ext::sec_dns::DsData) -> Result<crate::model::DsRec, CoreError> {
    if ds.key_data.is_some() {
        return Err(CoreError::Policy("keyData is not supported"));
    }
    if !DS_ALGORITHMS.contains(&ds.alg) {
        return Err(CoreError::Policy("DS algorithm not allowed"));
    }
    let want = match ds.digest_type {
        1 => 40,
        2 => 64,
        4 => 96,
        _ => return Err(CoreError::Policy("DS digest type not allowed")),
    };
    let digest: String = ds.digest.chars().filter(|c| !c.is_whitespace()).collect();
    if digest.len() != want || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CoreError::Syntax("DS digest length or syntax"));
    }
    Ok(crate::model::DsRec {
        key_tag: ds.key_tag,
        alg: ds.alg,
        digest_type: ds.digest_type,
        digest: digest.to_ascii_uppercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use epp_proto::ext::sec_dns::DsData;

    fn cfg() -> Config {
        Config {
            tlds: vec!["test".into(), "co.test".into()],
            ..Config::default()
        }
    }

    #[test]
    fn domain_names() {
        let c = cfg();
        assert_eq!(
            check_domain_name(&c, "Example.TEST").map(|n| n.as_str().to_owned()),
            Ok("example.test".into())
        );
        assert_eq!(
            check_domain_name(&c, "example.org").err(),
            Some(NameError::NotServed)
        );
        assert_eq!(
            check_domain_name(&c, "a.b.example.test").err(),
            Some(NameError::NotRegistrable)
        );
        assert!(check_domain_name(&c, "x.co.test").is_ok());
        assert_eq!(
            check_domain_name(&c, "-a.test").err(),
            Some(NameError::Syntax)
        );
        assert_eq!(
            check_domain_name(&c, &format!("{}.test", "a".repeat(64))).err(),
            Some(NameError::Syntax)
        );
        assert!(check_domain_name(&c, "xn--bcher-kva.test").is_ok());
        assert_eq!(
            check_domain_name(&c, "xn--zzzzzzzz-9999.test").err(),
            Some(NameError::BadIdn)
        );
        assert_eq!(
            check_domain_name(&c, "xx--abc.test").err(),
            Some(NameError::BadIdn)
        );
        assert_eq!(check_domain_name(&c, "test").err(), Some(NameError::Syntax));
        for e in [
            NameError::Syntax,
            NameError::NotServed,
            NameError::NotRegistrable,
            NameError::BadIdn,
        ] {
            assert!(e.reason().len() <= 32);
        }
    }

    #[test]
    fn superordinates() {
        let c = cfg();
        assert_eq!(
            superordinate_of(&c, "ns1.example.test").as_deref(),
            Some("example.test")
        );
        assert_eq!(
            superordinate_of(&c, "a.b.example.co.test").as_deref(),
            Some("example.co.test")
        );
        assert_eq!(superordinate_of(&c, "ns1.example.org"), None);
        assert_eq!(superordinate_of(&c, "test"), None);
    }

    #[test]
    fn addresses() {
        for bad in [
            "127.0.0.1",
            "::",
            "::1",
            "0.0.0.0",
            "224.0.0.1",
            "fe80::1",
            "::ffff:1.2.3.4",
        ] {
            assert!(check_host_addr(&bad.parse().unwrap()).is_err(), "{bad}");
        }
        for good in ["208.77.190.192", "2602:800:900e:1257::1"] {
            assert!(check_host_addr(&good.parse().unwrap()).is_ok(), "{good}");
        }
    }

    #[test]
    fn contact_fields() {
        assert!(check_phone("+1.7035555555", None).is_ok());
        assert!(check_phone("+1.7035555555", Some("123")).is_ok());
        for bad in [
            "+12345",
            "+1.",
            "+1.123456789012345",
            "+1.a",
            "1.234",
            "+1234.5",
        ] {
            assert!(check_phone(bad, None).is_err(), "{bad}");
        }
        assert!(check_email("jdoe@example.test").is_ok());
        for bad in [
            "",
            "jdoe",
            "jdoe@",
            "@example.test",
            "j doe@example.test",
            "jdoe@example",
            "a@b@c.test",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert_eq!(check_cc("us").ok().as_deref(), Some("US"));
        for bad in [
            "U", "USA", "1A", "", "XX", "xx", "UK", "EU", "ZZ", "AA", "QM", "YU",
        ] {
            assert_eq!(
                check_cc(bad).err().map(|e| e.result_code().code()),
                Some(2005),
                "{bad}"
            );
        }
        assert!(check_text("Zürich", "city", true).is_err());
        assert!(check_text("Zürich", "city", false).is_ok());
        assert!(check_text(&"a".repeat(256), "city", false).is_err());
    }

    #[test]
    fn iso_3166_list_is_sorted_and_well_formed() {
        assert!(ISO_3166_ALPHA2.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO_3166_ALPHA2
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
        for cc in ISO_3166_ALPHA2 {
            assert_eq!(check_cc(&cc.to_ascii_lowercase()).ok().as_deref(), Some(cc));
        }
    }

    #[test]
    fn ds_policy() {
        let ds = |alg, dt, digest: &str| DsData {
            key_tag: 1,
            alg,
            digest_type: dt,
            digest: digest.into(),
            key_data: None,
        };
        assert!(check_ds(&ds(13, 2, &"ab".repeat(32))).is_ok());
        assert_eq!(
            check_ds(&ds(123, 2, &"ab".repeat(32)))
                .err()
                .map(|e| e.result_code().code()),
            Some(2306)
        );
        assert_eq!(
            check_ds(&ds(13, 255, &"ab".repeat(32)))
                .err()
                .map(|e| e.result_code().code()),
            Some(2306)
        );
        assert_eq!(
            check_ds(&ds(13, 2, "abc"))
                .err()
                .map(|e| e.result_code().code()),
            Some(2005)
        );
        assert_eq!(
            check_ds(&ds(13, 1, &"zz".repeat(20)))
                .err()
                .map(|e| e.result_code().code()),
            Some(2005)
        );
    }
}
