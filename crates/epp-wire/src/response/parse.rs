//! Strict readers for the leaves of a response: each names the element at fault.

use chrono::{DateTime, NaiveDateTime, Utc};
use epp_proto::value::collapse_whitespace;
use epp_proto::Timestamp;

use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{self, Children};

const WS: [char; 4] = [' ', '\t', '\n', '\r'];

/// `maxOccurs="unbounded"`: the document limits in [`crate::dom::Limits`] bound the count.
pub(super) const UNBOUNDED: usize = usize::MAX;

pub(super) fn invalid(el: &Element, reason: impl Into<String>) -> DecodeError {
    DecodeError::InvalidValue {
        element: el.label(),
        reason: reason.into(),
    }
}

/// The text of an element that may not have child elements.
pub(super) fn leaf<'a>(el: &'a Element<'_>) -> Result<&'a str, DecodeError> {
    match el.children.first() {
        Some(child) => Err(DecodeError::UnexpectedElement {
            parent: el.label(),
            element: child.label(),
        }),
        None => Ok(&el.text),
    }
}

/// An element that must be empty (`<all/>`, `<voice/>` in a disclose).
pub(super) fn empty(el: &Element) -> Result<(), DecodeError> {
    if leaf(el)?.trim_matches(WS).is_empty() {
        Ok(())
    } else {
        Err(invalid(el, "text not allowed here"))
    }
}

/// The text of an `xs:token` leaf, white space collapsed.
pub(super) fn token(el: &Element) -> Result<String, DecodeError> {
    leaf(el).map(collapse_whitespace)
}

/// An `xs:token` leaf of `min..=max` characters.
pub(super) fn bounded_token(el: &Element, min: usize, max: usize) -> Result<String, DecodeError> {
    let t = token(el)?;
    check_len(el, &t, min, max)?;
    Ok(t)
}

/// An `xs:normalizedString` leaf of `min..=max` characters, kept as written.
pub(super) fn bounded_text(el: &Element, min: usize, max: usize) -> Result<String, DecodeError> {
    let t = leaf(el)?;
    check_len(el, t, min, max)?;
    Ok(t.to_owned())
}

fn check_len(el: &Element, t: &str, min: usize, max: usize) -> Result<(), DecodeError> {
    let n = t.chars().count();
    if n < min || n > max {
        return Err(invalid(
            el,
            format!("must be {min}-{max} characters long, got {n}"),
        ));
    }
    Ok(())
}

/// A leaf parsed with a value constructor from `epp-proto`.
pub(super) fn value<T>(
    el: &Element,
    new: impl FnOnce(&str) -> Result<T, epp_proto::ValueError>,
) -> Result<T, DecodeError> {
    let t = leaf(el)?;
    read::value(el, new(t))
}

/// An `xs:dateTime` leaf. A value without a time zone is taken as UTC.
pub(super) fn datetime(el: &Element) -> Result<Timestamp, DecodeError> {
    let t = leaf(el)?.trim_matches(WS);
    parse_datetime(t)
        .ok_or_else(|| invalid(el, "expected an xs:dateTime such as 2024-01-31T12:00:00.0Z"))
}

pub(super) fn parse_datetime(s: &str) -> Option<Timestamp> {
    // chrono also accepts a space or lower-case `t`/`z`; xs:dateTime does not.
    if s.as_bytes().get(10) != Some(&b'T') || s.contains(['t', 'z', ' ']) {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// An `xs:boolean` attribute.
pub(super) fn bool_attr(el: &Element, name: &'static str) -> Result<bool, DecodeError> {
    match read::attr(el, name)?.trim_matches(WS) {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        other => Err(invalid(el, format!("{name}={other:?} is not a boolean"))),
    }
}

/// The optional `lang` attribute (`xs:language`).
pub(super) fn lang(el: &Element) -> Result<Option<String>, DecodeError> {
    match el.attr("lang") {
        None => Ok(None),
        Some(l) => {
            let l = l.trim_matches(WS);
            if super::fit::is_language(l) {
                Ok(Some(l.to_owned()))
            } else {
                Err(invalid(el, format!("lang={l:?} is not a language tag")))
            }
        }
    }
}

/// One or more consecutive children `{ns}name`, at most `max`.
pub(super) fn one_or_more<'a>(
    c: &mut Children<'a>,
    ns: &str,
    name: &str,
    max: usize,
) -> Result<Vec<&'a Element<'a>>, DecodeError> {
    let v = c.many(ns, name, max)?;
    if v.is_empty() {
        // Fails: names what is there instead, or that the element is missing.
        c.required(ns, name)?;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        let t = parse_datetime("1999-04-03T22:00:00.0Z").unwrap();
        assert_eq!(t.to_rfc3339(), "1999-04-03T22:00:00+00:00");
        assert_eq!(
            parse_datetime("2000-06-08T22:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2000-06-08T20:00:00+00:00"
        );
        assert_eq!(
            parse_datetime("2000-06-08T22:00:00.5")
                .unwrap()
                .timestamp_subsec_millis(),
            500
        );
        for bad in [
            "",
            "2000-06-08",
            "2000-06-08 22:00:00Z",
            "2000-06-08t22:00:00Z",
            "2000-06-08T22:00:00z",
            "x",
        ] {
            assert!(parse_datetime(bad).is_none(), "{bad}");
        }
    }
}
