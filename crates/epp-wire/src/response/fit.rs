//! Rules that fit a value to its schema type when it is written.
//!
//! Most values in a response are newtypes that are valid by construction; the ones that are
//! plain `String`s in `epp-proto` (check names and reasons, contact postal data, messages,
//! languages, greeting settings) are fitted here so that the encoder never writes a document
//! that fails `schemas/all.xsd`:
//!
//! - a `token` has its white space collapsed, is cut to its maximum length at a character
//!   boundary, and is padded with `-` to its minimum length;
//! - a `normalizedString` is cut and padded the same way, without collapsing;
//! - an invalid `language` attribute is left out (the schema default, `en`, applies);
//! - an element name that is not an XML `NCName` becomes `undef`;
//! - a telephone number that does not match `e164StringType` is written empty (the schema
//!   allows an empty number);
//! - an `xs:duration` that does not parse is left out with its `<expiry>`.
//!
//! Padding and cutting are last resorts that keep the document valid; the values the core
//! composes are already within bounds, and the round-trip tests only use such values.

use std::borrow::Cow;

use epp_proto::value::collapse_whitespace;

const WS: [char; 4] = [' ', '\t', '\n', '\r'];

/// The character used to pad a value up to its schema minimum.
pub(super) const PAD: char = '-';

fn needs_collapse(s: &str) -> bool {
    s.starts_with(WS) || s.ends_with(WS) || s.contains("  ") || s.contains(['\t', '\n', '\r'])
}

/// An `xs:token` with `min..=max` characters (after white-space collapse).
pub(super) fn token(s: &str, min: usize, max: usize) -> Cow<'_, str> {
    let s = if needs_collapse(s) {
        Cow::Owned(collapse_whitespace(s))
    } else {
        Cow::Borrowed(s)
    };
    let s = cut(s, max);
    // Cutting may leave a trailing space, which a validator would collapse away.
    let s = match s {
        Cow::Owned(mut o) if o.ends_with(' ') => {
            o.truncate(o.trim_end_matches(' ').len());
            Cow::Owned(o)
        }
        other => other,
    };
    pad(s, min)
}

/// An `xs:normalizedString` with `min..=max` characters.
pub(super) fn normalized(s: &str, min: usize, max: usize) -> Cow<'_, str> {
    pad(cut(Cow::Borrowed(s), max), min)
}

fn cut(s: Cow<'_, str>, max: usize) -> Cow<'_, str> {
    // Byte length bounds the character count from above: the common case costs nothing.
    if s.len() <= max {
        return s;
    }
    match s.char_indices().nth(max) {
        Some((end, _)) => Cow::Owned(s[..end].to_owned()),
        None => s,
    }
}

fn pad(s: Cow<'_, str>, min: usize) -> Cow<'_, str> {
    if min == 0 {
        return s;
    }
    let n = s.chars().count();
    if n >= min {
        return s;
    }
    let mut o = s.into_owned();
    o.extend(std::iter::repeat_n(PAD, min - n));
    Cow::Owned(o)
}

/// `xs:language`: `[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`.
pub(super) fn is_language(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The language attribute to write, if it is a valid `xs:language`.
pub(super) fn lang(lang: &Option<String>) -> Option<&str> {
    lang.as_deref().filter(|l| is_language(l))
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// An XML `NCName` (a name without a colon), XML 1.0 fifth edition.
pub(super) fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// `contact:e164StringType`: empty, or `+CC.NUMBER` with 1-3 and 1-14 digits.
pub(super) fn is_e164(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let Some(rest) = s.strip_prefix('+') else {
        return false;
    };
    let Some((cc, num)) = rest.split_once('.') else {
        return false;
    };
    let digits =
        |p: &str, max: usize| (1..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    digits(cc, 3) && digits(num, 14)
}

/// `xs:duration`: `-?P(nY)?(nM)?(nD)?(T(nH)?(nM)?(n(.n)?S)?)?` with at least one part, and at
/// least one part after a `T`.
pub(super) fn is_duration(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let Some(s) = s.strip_prefix('P') else {
        return false;
    };
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = 0;
    let date_ok = designators(date, &['Y', 'M', 'D'], false, &mut parts);
    let time_ok = match time {
        None => true,
        Some(t) => {
            let before = parts;
            designators(t, &['H', 'M', 'S'], true, &mut parts) && parts > before
        }
    };
    date_ok && time_ok && parts > 0
}

/// Reads `(digits designator)*` with designators in the given order; only `S` may carry a
/// fraction.
fn designators(mut s: &str, order: &[char], seconds: bool, parts: &mut usize) -> bool {
    let mut next = 0;
    while !s.is_empty() {
        let num_len = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (num, rest) = s.split_at(num_len);
        let Some(d) = rest.chars().next() else {
            return false;
        };
        let Some(pos) = order[next..].iter().position(|&o| o == d) else {
            return false;
        };
        next += pos + 1;
        let fraction_ok = seconds && d == 'S';
        let valid_num = match num.split_once('.') {
            None => !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()),
            Some((i, f)) => {
                fraction_ok
                    && !i.is_empty()
                    && !f.is_empty()
                    && i.bytes().all(|b| b.is_ascii_digit())
                    && f.bytes().all(|b| b.is_ascii_digit())
            }
        };
        if !valid_num {
            return false;
        }
        *parts += 1;
        s = &rest[1..];
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_collapsed_cut_and_padded() {
        assert_eq!(token("abc", 3, 16), "abc");
        assert!(matches!(token("abc", 3, 16), Cow::Borrowed(_)));
        assert_eq!(token("  a \t b  ", 1, 16), "a b");
        assert_eq!(token("ab", 3, 16), "ab-");
        assert_eq!(token("", 1, 255), "-");
        assert_eq!(token("ab cdef", 3, 3), "ab-");
        assert_eq!(token("ééééé", 1, 3), "ééé");
        assert_eq!(token(&"x".repeat(40), 1, 32).chars().count(), 32);
        assert_eq!(normalized(" a ", 1, 255), " a ");
        assert_eq!(normalized("", 1, 255), "-");
        assert_eq!(normalized("", 0, 255), "");
        assert_eq!(token("éé", 3, 16), "éé-");
    }

    #[test]
    fn languages() {
        for ok in ["en", "fr-CA", "x-klingon", "abcdefgh-12345678"] {
            assert!(is_language(ok), "{ok}");
        }
        for bad in ["", "-", "en-", "abcdefghi", "1en", "en_US", "en--x", "e n"] {
            assert!(!is_language(bad), "{bad}");
        }
    }

    #[test]
    fn ncnames() {
        for ok in ["name", "_x", "a-b.c", "é1"] {
            assert!(is_ncname(ok), "{ok}");
        }
        for bad in ["", "1a", "a:b", "-a", "a b", "a<"] {
            assert!(!is_ncname(bad), "{bad}");
        }
    }

    #[test]
    fn e164() {
        for ok in ["", "+1.7035555555", "+123.12345678901234"] {
            assert!(is_e164(ok), "{ok}");
        }
        for bad in [
            "+1",
            "1.703",
            "+1234.5",
            "+1.",
            "+.5",
            "+1.123456789012345",
            "+1.70a",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn durations() {
        for ok in [
            "P1Y",
            "P1Y2M3DT4H5M6.5S",
            "-P3D",
            "PT1H",
            "PT0.5S",
            "P0D",
            "P1M",
        ] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in [
            "", "P", "PT", "P1", "1Y", "P1D2Y", "P1.5Y", "P1YT", "PT1.S", "P-1Y", "P1Y1Y", "P1H",
        ] {
            assert!(!is_duration(bad), "{bad}");
        }
    }
}
