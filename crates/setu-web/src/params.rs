//! A page's query parameters, in order, and the links that change them
//! (a facet toggled, a page turned).

/// Query parameters, decoded, in the order given. Every method that
/// changes them returns a new value, so one page's links are built from
/// the same start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Reads a raw (percent-encoded) query string.
    pub fn parse(raw: &str) -> Params {
        Params(
            form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// From pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Params {
        Params(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True if `key=value` is present.
    pub fn has(&self, key: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == key && v == value)
    }

    /// With `key=value` added at the end.
    pub fn with(&self, key: &str, value: &str) -> Params {
        let mut p = self.clone();
        p.0.push((key.into(), value.into()));
        p
    }

    /// Without any `key=value`.
    pub fn without(&self, key: &str, value: &str) -> Params {
        self.filtered(|k, v| !(k == key && v == value))
    }

    /// Without any value of `key`.
    pub fn without_key(&self, key: &str) -> Params {
        self.filtered(|k, _| k != key)
    }

    /// Only the pairs `keep` accepts.
    pub fn filtered(&self, keep: impl Fn(&str, &str) -> bool) -> Params {
        Params(self.0.iter().filter(|(k, v)| keep(k, v)).cloned().collect())
    }

    /// With `key` set to `value` alone.
    pub fn set(&self, key: &str, value: &str) -> Params {
        self.without_key(key).with(key, value)
    }

    /// With `key=value` removed if present, else added.
    pub fn toggled(&self, key: &str, value: &str) -> Params {
        if self.has(key, value) {
            self.without(key, value)
        } else {
            self.with(key, value)
        }
    }

    /// The query string, percent-encoded, without the `?`.
    pub fn encode(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.0 {
            s.append_pair(k, v);
        }
        s.finish()
    }

    /// A link to `path` with these parameters.
    pub fn href(&self, path: &str) -> String {
        if self.0.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", self.encode())
        }
    }
}

/// A path segment, percent-encoded (for practice ids in links; they are
/// ASCII letters, digits and `. _ : -`, but a link never trusts that).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'~' | b':') {
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
    fn round_trip_and_toggle() {
        let p = Params::parse("text=digital+centre&country=BGD&sdg=16&text2=%E0%A6%B8");
        assert_eq!(p.get("text"), Some("digital centre"));
        assert_eq!(p.get("text2"), Some("স"));
        let q = p.toggled("country", "BGD").toggled("country", "IND");
        assert_eq!(q.all("country").collect::<Vec<_>>(), vec!["IND"]);
        assert_eq!(
            Params::from_pairs([("a", "x y&z")]).href("/"),
            "/?a=x+y%26z"
        );
        assert_eq!(Params::default().href("/"), "/");
        assert_eq!(p.set("sdg", "1").all("sdg").count(), 1);
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(segment("BGD-A2I-0001"), "BGD-A2I-0001");
        assert_eq!(segment("a/b?c"), "a%2Fb%3Fc");
    }
}
