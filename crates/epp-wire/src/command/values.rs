//! Lexical helpers shared by the command codec and the extension codecs: XSD simple types
//! (`token`, `unsignedByte`, `int`, `boolean`, `date`, `dateTime`) read from an element's text
//! or attribute, each error naming the element.
//!
//! Error classes, as in [`DecodeError::result_code`]: text that is not of the type's lexical form
//! (`1.5` for an integer, `A` for a number, an empty value) is [`DecodeError::InvalidValue`]
//! (2005); a number of the right form outside the type's or the facet's range (`-1` or `256`
//! for `unsignedByte`, `0` for a period) is [`DecodeError::OutOfRange`] (2004).

use chrono::{DateTime, NaiveDate, Utc};

use crate::dom::Element;
use crate::error::DecodeError;

/// XML white space.
pub(crate) const WS: [char; 4] = [' ', '\t', '\r', '\n'];

pub(crate) fn invalid(el: &Element, reason: impl Into<String>) -> DecodeError {
    DecodeError::InvalidValue {
        element: el.label(),
        reason: reason.into(),
    }
}

pub(crate) fn out_of_range(el: &Element, reason: impl Into<String>) -> DecodeError {
    DecodeError::OutOfRange {
        element: el.label(),
        reason: reason.into(),
    }
}

/// Fails if the element has child elements or any attribute (simple content only).
pub(crate) fn leaf<'a>(el: &'a Element<'a>) -> Result<&'a Element<'a>, DecodeError> {
    leaf_with(el, &[])
}

/// Fails if the element has child elements or attributes other than `allowed`.
pub(crate) fn leaf_with<'a>(
    el: &'a Element<'a>,
    allowed: &[&str],
) -> Result<&'a Element<'a>, DecodeError> {
    if let Some(child) = el.children.first() {
        return Err(DecodeError::UnexpectedElement {
            parent: el.label(),
            element: child.label(),
        });
    }
    only_attrs(el, allowed)?;
    Ok(el)
}

/// A container element: no attributes (other than `allowed`), no text.
pub(crate) fn container<'a>(
    el: &'a Element<'a>,
    allowed: &[&str],
) -> Result<&'a Element<'a>, DecodeError> {
    only_attrs(el, allowed)?;
    crate::read::no_text(el)?;
    Ok(el)
}

/// The element's text as `xs:token` (white space collapsed); no child elements allowed.
pub(crate) fn token(el: &Element) -> Result<String, DecodeError> {
    Ok(epp_proto::value::collapse_whitespace(&leaf(el)?.text))
}

/// An unsigned integer type of XSD (`unsignedByte`, `unsignedShort`, `unsignedInt`) from
/// `text`: optional leading `+`, digits, surrounding white space ignored.
pub(crate) fn unsigned<T>(el: &Element, text: &str, type_name: &str) -> Result<T, DecodeError>
where
    T: TryFrom<u64>,
{
    let t = text.trim_matches(WS);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'+') => (false, &t[1..]),
        Some(b'-') => (true, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(el, format!("{t:?} is not an {type_name}")));
    }
    let zero = digits.bytes().all(|b| b == b'0');
    if neg && !zero {
        return Err(out_of_range(
            el,
            format!("{t} is negative; {type_name} expected"),
        ));
    }
    let trimmed = digits.trim_start_matches('0');
    // More than 20 digits cannot fit a u64: out of range without parsing.
    let n: u64 = if trimmed.is_empty() {
        0
    } else if trimmed.len() > 20 {
        return Err(out_of_range(el, format!("too large for {type_name}")));
    } else {
        trimmed
            .parse()
            .map_err(|_| out_of_range(el, format!("too large for {type_name}")))?
    };
    T::try_from(n).map_err(|_| out_of_range(el, format!("{n} is too large for {type_name}")))
}

/// An unsigned integer element's value.
pub(crate) fn unsigned_text<T: TryFrom<u64>>(
    el: &Element,
    type_name: &str,
) -> Result<T, DecodeError> {
    unsigned(leaf(el)?, &el.text, type_name)
}

/// `xs:boolean`: `true`, `false`, `1`, `0`.
pub(crate) fn boolean(el: &Element, text: &str) -> Result<bool, DecodeError> {
    match text.trim_matches(WS) {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(invalid(el, format!("{other:?} is not a boolean"))),
    }
}

/// `xs:date` without a time zone (`2000-04-03`). A time-zoned date (`2000-04-03Z`) is valid
/// XSD; the zone is accepted and ignored (a curExpDate is a calendar date).
pub(crate) fn date(el: &Element) -> Result<NaiveDate, DecodeError> {
    let t = token(el)?;
    let core = t.strip_suffix('Z').unwrap_or(&t);
    let core = match core.len() {
        // `YYYY-MM-DD+hh:mm`
        16 if core.is_char_boundary(10) && is_zone(&core.as_bytes()[10..]) => &core[..10],
        _ => core,
    };
    if !is_ymd(core) {
        return Err(invalid(el, format!("{t:?} is not a date (YYYY-MM-DD)")));
    }
    NaiveDate::parse_from_str(core, "%Y-%m-%d")
        .map_err(|_| invalid(el, format!("{t:?} is not a date (YYYY-MM-DD)")))
}

/// `+hh:mm` or `-hh:mm`.
fn is_zone(b: &[u8]) -> bool {
    matches!(b, [b'+' | b'-', h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()))
}

/// `YYYY-MM-DD` with four-digit year (what we write back; XSD years below 1000 or above 9999
/// and negative years are refused).
fn is_ymd(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// `xs:dateTime`, which we require to carry a time zone (`Z` or `±hh:mm`); converted to UTC.
pub(crate) fn datetime(el: &Element) -> Result<DateTime<Utc>, DecodeError> {
    let t = token(el)?;
    let bad = || invalid(el, format!("{t:?} is not a dateTime with a time zone"));
    if t.len() < 20
        || !t.is_char_boundary(10)
        || !is_ymd(&t[..10])
        || t.as_bytes().get(10) != Some(&b'T')
    {
        return Err(bad());
    }
    let with_offset = match t.strip_suffix('Z') {
        Some(core) => format!("{core}+00:00"),
        None => t.clone(),
    };
    let utc = DateTime::parse_from_str(&with_offset, "%Y-%m-%dT%H:%M:%S%.f%:z")
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| bad())?;
    // In UTC the year must still have four digits, or we could not write it back.
    if !(1..=9999).contains(&chrono::Datelike::year(&utc)) {
        return Err(invalid(
            el,
            format!("{t:?} is outside years 0001-9999 in UTC"),
        ));
    }
    Ok(utc)
}

/// `xs:language` (`[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`), checked on an attribute of `el`.
pub(crate) fn language(el: &Element, v: &str) -> Result<String, DecodeError> {
    let v = v.trim_matches(WS);
    let mut parts = v.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if first_ok && rest_ok {
        Ok(v.to_owned())
    } else {
        Err(invalid(el, format!("{v:?} is not a language tag")))
    }
}

/// A `normalizedString` line (postal lines, names): tabs and line breaks become spaces and
/// the ends are trimmed (clients pretty-print), then the length is checked in characters.
pub(crate) fn line(el: &Element, min: usize, max: usize) -> Result<String, DecodeError> {
    let t: String = leaf(el)?
        .text
        .chars()
        .map(|c| if WS.contains(&c) { ' ' } else { c })
        .collect();
    let t = t.trim_matches(' ');
    let got = t.chars().count();
    if got < min || got > max {
        return Err(invalid(
            el,
            format!("must be {min}-{max} characters long, got {got}"),
        ));
    }
    Ok(t.to_owned())
}

/// Refuses attributes other than the listed ones (unprefixed) and namespaced ones we do not
/// know. `xsi:` attributes (schemaLocation) are tolerated: clients copy them from examples.
pub(crate) fn only_attrs(el: &Element, allowed: &[&str]) -> Result<(), DecodeError> {
    for a in &el.attrs {
        let ok = match &a.ns {
            None => allowed.contains(&a.name.as_ref()),
            Some(ns) => ns == "http://www.w3.org/2001/XMLSchema-instance",
        };
        if !ok {
            return Err(invalid(el, format!("unexpected attribute {}", a.name)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(text: &str) -> Element<'_> {
        Element {
            name: "n".into(),
            text: text.into(),
            ..Element::default()
        }
    }

    #[test]
    fn unsigned_lexical_forms() {
        let u8_of = |t: &str| unsigned::<u8>(&el(t), t, "unsignedByte");
        assert_eq!(u8_of("+5"), Ok(5));
        assert_eq!(u8_of(" 007 "), Ok(7));
        assert_eq!(u8_of("-0"), Ok(0));
        assert_eq!(u8_of("255"), Ok(255));
        for range in ["256", "-1", "99999999999999999999999999"] {
            assert!(
                matches!(u8_of(range), Err(DecodeError::OutOfRange { .. })),
                "{range}"
            );
        }
        for syntax in ["", "+", "1.5", "1e3", "0x10", "A", "1 2"] {
            assert!(
                matches!(u8_of(syntax), Err(DecodeError::InvalidValue { .. })),
                "{syntax}"
            );
        }
    }

    #[test]
    fn languages_and_chars() {
        assert!(language(&el(""), "en").is_ok());
        assert!(language(&el(""), "en-GB").is_ok());
        for bad in ["", "e1", "toolonglang", "en_GB", "en-"] {
            assert!(language(&el(""), bad).is_err(), "{bad}");
        }
    }
}
