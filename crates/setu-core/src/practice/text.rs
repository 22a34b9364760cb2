//! The local text rule: what this node refuses to sign.
//!
//! This is **not** a network validity rule. A record from a peer with a
//! control character in its text is as valid as it was before
//! ([`super::validate`] and `spec/record.md` do not change); the CLI
//! escapes such text when it prints it. This rule only keeps a node from
//! signing such text itself, when it publishes or imports a body
//! (`spec/store.md` §7).
//!
//! In every string of the body it refuses the C0 control characters, DEL,
//! the C1 control characters, and the bidi embeddings, overrides and
//! isolates (U+202A–U+202E, U+2066–U+2069), naming the field and the
//! character's offset (in characters). The long texts of
//! [`MULTI_LINE_FIELDS`] may hold tab and newline; in them CRLF and a lone
//! CR become LF first. ZWJ, ZWNJ, LRM, RLM and ALM, which Bangla and Arabic
//! need, are kept.
//!
//! ```
//! use setu_core::practice::text;
//! let mut body = serde_json::json!({
//!     "title": {"original": "en", "text": {"en": "\u{1b}]0;PWNED\u{7}"}},
//!     "summary": {"original": "en", "text": {"en": "One.\r\nTwo."}},
//! });
//! let problems = text::check(&mut body);
//! assert_eq!(problems.len(), 1);
//! assert_eq!(
//!     problems[0].to_string(),
//!     "body.title.text.en: contains control character U+001B at offset 0"
//! );
//! assert_eq!(body["summary"]["text"]["en"], "One.\nTwo.");
//! ```

use serde_json::Value;

use super::Problem;

/// The fields whose texts (`FIELD.text.LANG`) may span several lines and
/// hold tabs.
pub const MULTI_LINE_FIELDS: &[&str] = &[
    "summary",
    "challenge",
    "solution",
    "replication_potential",
    "lessons",
    "adaptation",
];

/// True for the bidi embedding, override and isolate controls.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks every string of a practice body (JSON, as a publisher wrote it)
/// against the local text rule, normalising line ends in the multi-line
/// texts in place. Returns every problem, paths starting with `body`.
pub fn check(body: &mut Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    walk(body, &mut "body".to_string(), 0, false, &mut problems);
    problems
}

fn walk(v: &mut Value, path: &mut String, depth: usize, multi: bool, out: &mut Vec<Problem>) {
    let len = path.len();
    match v {
        Value::String(s) => {
            if multi && s.contains('\r') {
                *s = s.replace("\r\n", "\n").replace('\r', "\n");
            }
            if let Some(message) = refusal(s, multi) {
                out.push(Problem {
                    path: path.clone(),
                    message,
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push_str(&format!("[{i}]"));
                walk(item, path, depth + 1, false, out);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                path.push('.');
                path.push_str(k);
                // `FIELD.text.LANG` of a multi-line field: depth 0 is the
                // body, 1 the field, 2 its `text` map.
                let multi_here = match depth {
                    0 => MULTI_LINE_FIELDS.contains(&k.as_str()),
                    1 => multi && k == "text",
                    _ => multi,
                };
                walk(item, path, depth + 1, multi_here, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Why `s` is refused, naming its first refused character.
fn refusal(s: &str, multi: bool) -> Option<String> {
    for (offset, c) in s.chars().enumerate() {
        let code = u32::from(c);
        match c {
            '\n' | '\t' if multi => {}
            '\n' | '\t' => {
                return Some(format!(
                    "contains control character U+{code:04X} at offset {offset}; only the texts of {} may hold line breaks and tabs",
                    MULTI_LINE_FIELDS.join(", ")
                ));
            }
            c if c.is_control() => {
                return Some(format!(
                    "contains control character U+{code:04X} at offset {offset}"
                ));
            }
            c if is_bidi_control(c) => {
                return Some(format!(
                    "contains bidi control U+{code:04X} at offset {offset}; LRM (U+200E), RLM (U+200F) and ALM (U+061C) are allowed"
                ));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(field: &str, text: &str) -> (Vec<String>, Value) {
        let mut body = serde_json::json!({ field: {"original": "en", "text": {"en": text}} });
        let problems = check(&mut body)
            .into_iter()
            .map(|p| p.to_string())
            .collect();
        (problems, body[field]["text"]["en"].clone())
    }

    #[test]
    fn refused_and_kept() {
        let refused: &[(&str, &str, &str)] = &[
            (
                "title",
                "\x1b]0;PWNED\x07\x1b[2J",
                "control character U+001B at offset 0",
            ),
            ("title", "ab\u{7f}", "control character U+007F at offset 2"),
            ("title", "\u{9b}2J", "control character U+009B at offset 0"),
            (
                "title",
                "a\nb",
                "control character U+000A at offset 1; only",
            ),
            (
                "title",
                "a\tb",
                "control character U+0009 at offset 1; only",
            ),
            ("title", "a\rb", "control character U+000D at offset 1"),
            ("summary", "a\u{0}b", "control character U+0000 at offset 1"),
            (
                "summary",
                "x\u{202E}dcba",
                "bidi control U+202E at offset 1",
            ),
            (
                "lessons",
                "\u{2066}x\u{2069}",
                "bidi control U+2066 at offset 0",
            ),
            ("title", "ক্ষ\u{202A}", "bidi control U+202A at offset 3"),
        ];
        for (field, text, needle) in refused {
            let (problems, _) = one(field, text);
            assert_eq!(problems.len(), 1, "{field} {text:?}: {problems:?}");
            assert!(
                problems[0].starts_with(&format!("body.{field}.text.en: contains "))
                    && problems[0].contains(needle),
                "{field} {text:?}: {problems:?}"
            );
        }
        let kept: &[(&str, &str, &str)] = &[
            ("title", "ইউনিয়ন ডিজিটাল সেন্টার", "ইউনিয়ন ডিজিটাল সেন্টার"),
            ("title", "ক্\u{200D}ষ \u{200C}", "ক্\u{200D}ষ \u{200C}"),
            (
                "title",
                "\u{200F}مرحبا\u{200E} \u{061C}",
                "\u{200F}مرحبا\u{200E} \u{061C}",
            ),
            ("summary", "a\tb\nc", "a\tb\nc"),
            ("summary", "a\r\nb\rc\r\n", "a\nb\nc\n"),
            ("replication_potential", "a\r\n\r\nb", "a\n\nb"),
        ];
        for (field, text, after) in kept {
            let (problems, got) = one(field, text);
            assert!(problems.is_empty(), "{field} {text:?}: {problems:?}");
            assert_eq!(got, *after, "{field} {text:?}");
        }
    }

    #[test]
    fn every_string_is_checked_with_its_path() {
        let mut body = serde_json::json!({
            "practice_id": "BGD-1",
            "reason": "a\nb",
            "keywords": ["ok", "b\u{1b}"],
            "organisations": [{"name": "\u{202E}x", "role": "funding"}],
            "summary": {"original": "en\n", "text": {"en": "ok\n"}},
            "status": 2,
        });
        let paths: Vec<String> = check(&mut body).into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "body.reason",
                "body.keywords[1]",
                "body.organisations[0].name",
                "body.summary.original",
            ]
        );
    }
}
