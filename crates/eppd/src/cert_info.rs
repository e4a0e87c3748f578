//! The one thing the server reads out of a client certificate besides its fingerprint: when it
//! expires (`notAfter`), for the expiry warnings. A minimal, bounded DER walk over
//! `Certificate -> tbsCertificate -> validity`; anything unexpected gives `None`.

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use epp_proto::Timestamp;

/// One DER element: (tag, contents, rest).
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xa0;

/// `notAfter` of a DER certificate.
pub fn not_after(der: &[u8]) -> Option<Timestamp> {
    let (tag, cert, _) = element(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = element(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, _, mut rest) = element(tbs)?;
    if tag == VERSION {
        // serialNumber follows the explicit version.
        rest = element(rest)?.2;
    }
    // signature AlgorithmIdentifier, issuer Name.
    rest = element(rest)?.2;
    rest = element(rest)?.2;
    let (tag, validity, _) = element(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (_, _, after) = element(validity)?;
    let (tag, time, _) = element(after)?;
    let text = std::str::from_utf8(time).ok()?;
    let naive = match tag {
        UTC_TIME => {
            // YYMMDDHHMMSSZ; RFC 5280: YY >= 50 is 19YY.
            let yy: i32 = text.get(..2)?.parse().ok()?;
            let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
            parse_rest(year, text.get(2..)?)?
        }
        GENERALIZED_TIME => parse_rest(text.get(..4)?.parse().ok()?, text.get(4..)?)?,
        _ => return None,
    };
    Some(Utc.from_utc_datetime(&naive))
}

/// `MMDDHHMMSSZ`.
fn parse_rest(year: i32, s: &str) -> Option<NaiveDateTime> {
    if s.len() != 11 || !s.ends_with('Z') {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    NaiveDate::from_ymd_opt(year, n(0..2)?, n(2..4)?)?.and_hms_opt(n(4..6)?, n(6..8)?, n(8..10)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_expiring(year: i32) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(vec!["x.test".into()]).expect("params");
        params.not_after = rcgen::date_time_ymd(year, 3, 4);
        params.self_signed(&key).expect("cert").der().to_vec()
    }

    #[test]
    fn reads_utc_and_generalized_times() {
        // rcgen writes UTCTime before 2050 and GeneralizedTime from 2050 on (RFC 5280).
        for year in [2031, 2061] {
            let t = not_after(&cert_expiring(year)).expect("notAfter");
            assert_eq!(t.format("%Y-%m-%d").to_string(), format!("{year}-03-04"));
        }
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(not_after(b""), None);
        assert_eq!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        let der = cert_expiring(2031);
        for cut in [1, 10, 100, der.len() / 2] {
            assert_eq!(not_after(&der[..cut]), None);
        }
    }
}
