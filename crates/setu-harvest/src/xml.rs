//! Writing XML text safely: every string that comes from a record or a
//! request goes through [`text`] or [`attr`].

/// True for the characters XML 1.0 allows in a document (its `Char`
/// production): tab, newline, carriage return, and U+0020 and above except
/// U+FFFE and U+FFFF (Rust strings hold no surrogates).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// Appends `s` as element content: `&`, `<`, `>` escaped, a carriage
/// return written as a character reference (so that it survives line-end
/// normalisation), characters XML 1.0 does not allow left out.
pub fn push_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

/// Appends `s` as an attribute value to be written between double quotes:
/// as [`push_text`], and `"` and the white-space characters that attribute
/// normalisation would turn into spaces escaped too.
pub fn push_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            c => push_text(out, c.encode_utf8(&mut [0; 4])),
        }
    }
}

/// `s` as element content (see [`push_text`]).
#[cfg(test)]
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_text(&mut out, s);
    out
}

/// `s` as a double-quoted attribute value (see [`push_attr`]).
#[cfg(test)]
pub fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_attr(&mut out, s);
    out
}

/// Serialised JSON made safe to carry in XML without changing its meaning:
/// the characters XML does not allow can only sit inside JSON strings
/// (serde_json already writes C0 controls as `\u00XX`), so U+FFFE and
/// U+FFFF are written as `\uFFFE` and `\uFFFF`. The result still needs
/// [`push_text`].
pub fn json_for_xml(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_xml_char(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_strips() {
        assert_eq!(
            text("a</title><script>&\u{0}\u{1b}\u{7}x\u{FFFE}\u{FFFF}\r\n\ty"),
            "a&lt;/title&gt;&lt;script&gt;&amp;x&#xD;\n\ty"
        );
        assert_eq!(attr("\"<'\n\t\r>"), "&quot;&lt;'&#xA;&#x9;&#xD;&gt;");
        assert_eq!(text("বাংলা 😀 \u{85}"), "বাংলা 😀 \u{85}");
    }

    #[test]
    fn json_keeps_its_meaning() {
        let v = serde_json::json!({"t": "a\u{0}\u{FFFF}b</x>"});
        let s = json_for_xml(&v.to_string());
        assert!(s.chars().all(is_xml_char));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }
}
