//! Helpers for reading an [`Element`] tree strictly: each helper names the element at fault
//! in its error, so a 2001 answer says exactly what was wrong.

use crate::dom::Element;
use crate::error::DecodeError;

/// Walks the children of one element in schema order (`xs:sequence`). Any child not taken by
/// the time [`Children::finish`] is called is an unexpected element.
#[derive(Debug)]
pub(crate) struct Children<'a> {
    parent: &'a Element<'a>,
    pos: usize,
}

impl<'a> Children<'a> {
    pub(crate) fn new(parent: &'a Element<'a>) -> Self {
        Self { parent, pos: 0 }
    }

    fn peek(&self) -> Option<&'a Element<'a>> {
        self.parent.children.get(self.pos)
    }

    /// The next child if it is `{ns}name`.
    pub(crate) fn optional(&mut self, ns: &str, name: &str) -> Option<&'a Element<'a>> {
        match self.peek() {
            Some(el) if el.is(ns, name) => {
                self.pos += 1;
                Some(el)
            }
            _ => None,
        }
    }

    /// The next child, which must be `{ns}name`.
    pub(crate) fn required(
        &mut self,
        ns: &str,
        name: &str,
    ) -> Result<&'a Element<'a>, DecodeError> {
        self.optional(ns, name).ok_or_else(|| match self.peek() {
            Some(other) => DecodeError::UnexpectedElement {
                parent: self.parent.label(),
                element: other.label(),
            },
            None => DecodeError::MissingElement {
                parent: self.parent.label(),
                element: crate::dom::qualified(ns, name),
            },
        })
    }

    /// All consecutive children named `{ns}name` (`maxOccurs="unbounded"`), at most `max`.
    pub(crate) fn many(
        &mut self,
        ns: &str,
        name: &str,
        max: usize,
    ) -> Result<Vec<&'a Element<'a>>, DecodeError> {
        let mut out = Vec::new();
        while let Some(el) = self.optional(ns, name) {
            if out.len() == max {
                return Err(DecodeError::OutOfRange {
                    element: el.label(),
                    reason: format!("at most {max} allowed"),
                });
            }
            out.push(el);
        }
        Ok(out)
    }

    /// The next child, whatever it is.
    pub(crate) fn next_any(&mut self) -> Option<&'a Element<'a>> {
        let el = self.peek()?;
        self.pos += 1;
        Some(el)
    }

    /// Fails if any child is left.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        match self.peek() {
            Some(el) => Err(DecodeError::UnexpectedElement {
                parent: self.parent.label(),
                element: el.label(),
            }),
            None => Ok(()),
        }
    }
}

/// Fails if the element has non-white-space text (element-only content).
pub(crate) fn no_text(el: &Element) -> Result<(), DecodeError> {
    if el.trimmed_text().is_empty() {
        Ok(())
    } else {
        Err(DecodeError::InvalidValue {
            element: el.label(),
            reason: "text not allowed here".into(),
        })
    }
}

/// A required attribute.
pub(crate) fn attr<'a>(el: &'a Element<'a>, name: &'static str) -> Result<&'a str, DecodeError> {
    el.attr(name).ok_or(DecodeError::MissingAttribute {
        element: el.label(),
        attribute: name,
    })
}

/// Maps a value constructor's error to an error naming the element.
pub(crate) fn value<T>(
    el: &Element,
    r: Result<T, epp_proto::ValueError>,
) -> Result<T, DecodeError> {
    r.map_err(|e| match e {
        epp_proto::ValueError::Range { .. } => DecodeError::OutOfRange {
            element: el.label(),
            reason: e.to_string(),
        },
        // A length outside the XSD's facets is a schema violation.
        epp_proto::ValueError::Length { .. } => DecodeError::InvalidValue {
            element: el.label(),
            reason: e.to_string(),
        },
        epp_proto::ValueError::Syntax { .. } => DecodeError::InvalidValue {
            element: el.label(),
            reason: e.to_string(),
        },
    })
}
