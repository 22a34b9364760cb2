//! `application/x-www-form-urlencoded` argument strings (GET query strings
//! and POST form bodies).

/// Decodes one component: `+` is a space, `%XX` a byte; the bytes must be
/// UTF-8.
pub fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                out.push(hex_byte(s.get(i + 1..i + 3)?)?);
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Two hex digits as a byte (`u8::from_str_radix` alone would also take
/// `+1`).
pub fn hex_byte(two: &str) -> Option<u8> {
    if two.len() == 2 && two.bytes().all(|b| b.is_ascii_hexdigit()) {
        u8::from_str_radix(two, 16).ok()
    } else {
        None
    }
}

/// The (name, value) pairs of an argument string, in order; empty parts
/// (`a=1&&b=2`) are skipped, a part without `=` has an empty value. `Err`
/// gives the 1-based position of the first part that does not decode.
pub fn pairs(query: &str) -> Result<Vec<(String, String)>, usize> {
    let mut out = Vec::new();
    for (n, part) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match (decode(k), decode(v)) {
            (Some(k), Some(v)) => out.push((k, v)),
            _ => return Err(n + 1),
        }
    }
    Ok(out)
}

/// Percent-encodes a query component (everything but the URI unreserved
/// characters).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_form_encoding() {
        assert_eq!(decode("a+b%20c%3D").as_deref(), Some("a b c="));
        assert_eq!(decode("%e0%a6%ac").as_deref(), Some("ব"));
        for bad in ["%", "%4", "%zz", "%ff", "%e0%a6", "%+1"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        assert_eq!(
            pairs("verb=Identify&&x&y=%41"),
            Ok(vec![
                ("verb".into(), "Identify".into()),
                ("x".into(), String::new()),
                ("y".into(), "A".into())
            ])
        );
        assert_eq!(pairs("a=1&b=%zz"), Err(2));
        assert_eq!(decode(&encode("a b&c=ব+")).as_deref(), Some("a b&c=ব+"));
    }
}
