//! Text from records, peers and files, made safe to print on a terminal.
//!
//! Any author on the network chooses the text of their records, and any
//! peer its agent string and addresses. Printed raw, an escape sequence
//! could clear the operator's screen or retitle the terminal, a carriage
//! return could overwrite a line with a fake one, and a bidi override
//! could reorder what is shown. Every human-readable renderer passes such
//! text through [`line`] or [`block`]:
//!
//! - control characters (C0, DEL, C1) become `\u{1b}`-style escapes, and a
//!   carriage return `\r`;
//! - bidi embeddings, overrides and isolates (U+202A–U+202E,
//!   U+2066–U+2069) and the line and paragraph separators (U+2028,
//!   U+2029) become visible markers such as `<U+202E>`;
//! - newline and tab are kept by [`block`] (multi-line text) and escaped by
//!   [`line`] (table cells, titles, one-line messages);
//! - ZWJ, ZWNJ, LRM, RLM and ALM, which Bangla and Arabic need, are kept.
//!
//! JSON output goes through [`json_pretty`] or [`json_line`]: still valid
//! JSON with the same value, but with DEL, C1 and the bidi controls written
//! as `\uXXXX` (serde_json escapes only C0 by itself).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use setu_core::practice::text::is_bidi_control;

/// Text for one line: every control character escaped, newline and tab too.
pub fn line(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// Multi-line text: newline and tab kept, everything else as [`line`].
pub fn block(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

/// True for what is shown as a `<U+XXXX>` marker.
fn is_marked(c: char) -> bool {
    is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

fn needs_escape(c: char, multi_line: bool) -> bool {
    match c {
        '\n' | '\t' => !multi_line,
        c => c.is_control() || is_marked(c),
    }
}

fn escape(s: &str, multi_line: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| needs_escape(c, multi_line)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' | '\t' if multi_line => out.push(c),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c if is_marked(c) => {
                let _ = write!(out, "<U+{:04X}>", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `value` as indented JSON, safe for a terminal.
pub fn json_pretty(value: &impl serde::Serialize) -> serde_json::Result<String> {
    to_json(value, Safe(PrettyFormatter::new()))
}

/// `value` as one line of JSON, safe for a terminal.
pub fn json_line(value: &impl serde::Serialize) -> serde_json::Result<String> {
    to_json(value, Safe(CompactFormatter))
}

fn to_json<F: Formatter>(value: &impl serde::Serialize, f: Safe<F>) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, f);
    value.serialize(&mut ser)?;
    // Only whole UTF-8 strings and ASCII escapes were written.
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// A JSON formatter that also escapes DEL, C1 and the marked characters.
struct Safe<F>(F);

impl<F: Formatter> Formatter for Safe<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_control() || is_marked(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                write!(w, "\\u{:04x}", u32::from(c))?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        // (input, as one line, as a block)
        let table: &[(&str, &str, &str)] = &[
            ("plain", "plain", "plain"),
            ("ডিজিটাল সেন্টার", "ডিজিটাল সেন্টার", "ডিজিটাল সেন্টার"),
            (
                "\x1b]0;PWNED\x07\x1b[2J",
                "\\u{1b}]0;PWNED\\u{7}\\u{1b}[2J",
                "\\u{1b}]0;PWNED\\u{7}\\u{1b}[2J",
            ),
            ("a\nb\tc", "a\\nb\\tc", "a\nb\tc"),
            (
                "fake\rverified by UNDP",
                "fake\\rverified by UNDP",
                "fake\\rverified by UNDP",
            ),
            ("a\r\nb", "a\\r\\nb", "a\\r\nb"),
            (
                "\0\x7f\u{85}\u{9b}",
                "\\u{0}\\u{7f}\\u{85}\\u{9b}",
                "\\u{0}\\u{7f}\\u{85}\\u{9b}",
            ),
            ("abc\u{202E}fed", "abc<U+202E>fed", "abc<U+202E>fed"),
            (
                "\u{202A}\u{2066}x\u{2069}",
                "<U+202A><U+2066>x<U+2069>",
                "<U+202A><U+2066>x<U+2069>",
            ),
            (
                "a\u{2028}b\u{2029}",
                "a<U+2028>b<U+2029>",
                "a<U+2028>b<U+2029>",
            ),
            // Joiners and marks that scripts need are kept.
            (
                "ক্\u{200D}ষ \u{200C} \u{200E}\u{200F}\u{061C}",
                "ক্\u{200D}ষ \u{200C} \u{200E}\u{200F}\u{061C}",
                "ক্\u{200D}ষ \u{200C} \u{200E}\u{200F}\u{061C}",
            ),
        ];
        for (input, one, many) in table {
            assert_eq!(line(input), *one, "line({input:?})");
            assert_eq!(block(input), *many, "block({input:?})");
        }
        assert!(matches!(line("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_json_and_escapes_what_serde_json_leaves() {
        let v = serde_json::json!({"t\u{202E}": "\x1b[2J\u{9b}\u{7f}\u{202E}\u{2066} ক্\u{200D}ষ \"q\""});
        for text in [json_line(&v).expect("json"), json_pretty(&v).expect("json")] {
            assert!(
                !text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' || is_marked(c)),
                "{text}"
            );
            assert!(
                text.contains("\\u202e") && text.contains("\\u009b"),
                "{text}"
            );
            let back: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(back, v);
        }
        assert_eq!(
            json_pretty(&serde_json::json!({"a": [1]})).expect("json"),
            serde_json::to_string_pretty(&serde_json::json!({"a": [1]})).expect("json")
        );
    }
}
