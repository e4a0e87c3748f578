//! A minimal XML writer over a `String`: we only ever write documents we build ourselves, so
//! escaping text and attribute values is all it needs to get right.

use std::fmt::Write as _;

#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    pub fn new() -> Self {
        let mut out = String::with_capacity(1024);
        out.push_str(r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#);
        Self { out }
    }

    pub fn into_string(self) -> String {
        self.out
    }

    /// `<name a="v" …>`; attribute values are escaped.
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.start_tag(name, attrs);
        self.out.push('>');
        self
    }

    /// `<name a="v" …/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.start_tag(name, attrs);
        self.out.push_str("/>");
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// `<name a="v">text</name>`.
    pub fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> &mut Self {
        self.open(name, attrs);
        escape_into(&mut self.out, text, false);
        self.close(name)
    }

    /// A leaf whose text is a `Display` value (numbers, dates): nothing in it needs escaping.
    pub fn leaf_display(&mut self, name: &str, value: impl std::fmt::Display) -> &mut Self {
        self.open(name, &[]);
        let _ = write!(self.out, "{value}");
        self.close(name)
    }

    pub fn text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.out, text, false);
        self
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_into(&mut self.out, v, true);
            self.out.push('"');
        }
    }
}

/// Escapes `&`, `<`, `>` (and `"` in attributes). Control characters that XML 1.0 cannot carry
/// at all are replaced with U+FFFD so that what we write always parses.
pub fn escape_into(out: &mut String, s: &str, attr: bool) {
    // Nearly everything we write needs no escaping: copy it in one piece.
    let plain = |b: u8| b >= 0x20 && !matches!(b, b'&' | b'<' | b'>' | b'"' | 0xEF);
    if s.bytes().all(plain) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\t' | '\n' | '\r' if attr => {
                let _ = write!(out, "&#{};", c as u32);
            }
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// `xs:dateTime` in UTC with a `Z`, the way RFC examples write it.
/// Fractional seconds only as far as they are non-zero (3, 6 or 9 digits), like `%.f`.
pub fn datetime(t: &epp_proto::Timestamp) -> impl std::fmt::Display {
    // Not `format("…%.f…")`: that parses the format string on every call.
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut w = XmlWriter::default();
        w.leaf("a", &[("b", "x\"<&\n")], "<&>\u{1}");
        assert_eq!(
            w.into_string(),
            "<a b=\"x&quot;&lt;&amp;&#10;\">&lt;&amp;&gt;\u{FFFD}</a>"
        );
        // The fast path must not skip what the slow path rewrites (U+FFFE/U+FFFF start
        // with 0xEF in UTF-8; other 0xEF characters come through unchanged).
        let mut out = String::new();
        escape_into(&mut out, "a\u{FFFE}b\u{FFFF}\u{F000}", false);
        assert_eq!(out, "a\u{FFFD}b\u{FFFD}\u{F000}");
        let mut out = String::new();
        escape_into(&mut out, "plain text, 100% ok", true);
        assert_eq!(out, "plain text, 100% ok");
    }

    #[test]
    fn datetime_keeps_only_significant_fraction_digits() {
        use chrono::TimeZone as _;
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 11, 25, 12, 0, 1)
            .single()
            .expect("t");
        assert_eq!(datetime(&t).to_string(), "2026-11-25T12:00:01Z");
        let t = t + chrono::Duration::milliseconds(250);
        assert_eq!(datetime(&t).to_string(), "2026-11-25T12:00:01.250Z");
        let t = t + chrono::Duration::microseconds(1);
        assert_eq!(datetime(&t).to_string(), "2026-11-25T12:00:01.250001Z");
    }
}
