//! Resumption tokens: the whole list request and the position reached, in
//! the token itself, so that the node keeps no state per harvest and a
//! token stays good for as long as the repository's cursor does.
//!
//! A token is the lowercase hex of the UTF-8 JSON array
//! `[1, verb, prefix, from_ms|null, until_ms|null, set|null, delivered, cursor]`
//! (`spec/harvest.md`). Harvesters must treat it as opaque.

use serde_json::{Value, json};

use super::{Code, Failure, Format, MAX_TOKEN_BYTES};
use crate::oai::sets;

/// Version of the token layout.
const TOKEN_VERSION: u64 = 1;

/// A list request and the position reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// `ListIdentifiers` (true) or `ListRecords`.
    pub headers_only: bool,
    /// The metadata format.
    pub format: Format,
    /// First millisecond of `from`, if given.
    pub from_ms: Option<u64>,
    /// Last millisecond of `until`, if given.
    pub until_ms: Option<u64>,
    /// The `set` argument, if given.
    pub set: Option<String>,
    /// Items delivered by the earlier pages (the token's `cursor`
    /// attribute).
    pub delivered: u64,
    /// The repository cursor to continue after; `None` at the start.
    pub cursor: Option<String>,
}

impl Token {
    /// The token's text.
    pub fn encode(&self) -> String {
        let v = json!([
            TOKEN_VERSION,
            if self.headers_only {
                "ListIdentifiers"
            } else {
                "ListRecords"
            },
            self.format.prefix(),
            self.from_ms,
            self.until_ms,
            self.set,
            self.delivered,
            self.cursor,
        ]);
        hex::encode(v.to_string())
    }

    /// Reads a token given to `ListIdentifiers` (`headers_only`) or
    /// `ListRecords`; badResumptionToken if it is not one this repository
    /// issued for that verb.
    pub fn decode(text: &str, headers_only: bool) -> Result<Token, Failure> {
        let bad = |why: &str| {
            Failure::oai(
                Code::BadResumptionToken,
                format!("the resumption token is not valid: {why}"),
            )
        };
        if text.len() > MAX_TOKEN_BYTES {
            return Err(bad("too long"));
        }
        let bytes = hex::decode(text).map_err(|_| bad("not a token of this repository"))?;
        let v: Value =
            serde_json::from_slice(&bytes).map_err(|_| bad("not a token of this repository"))?;
        let Some([version, verb, prefix, from, until, set, delivered, cursor]) =
            v.as_array().map(Vec::as_slice)
        else {
            return Err(bad("not a token of this repository"));
        };
        if version.as_u64() != Some(TOKEN_VERSION) {
            return Err(bad("an unknown token version"));
        }
        let verb_ok = match verb.as_str() {
            Some("ListIdentifiers") => headers_only,
            Some("ListRecords") => !headers_only,
            _ => false,
        };
        if !verb_ok {
            return Err(bad("issued for another verb"));
        }
        let format = prefix
            .as_str()
            .and_then(Format::parse)
            .ok_or_else(|| bad("an unknown metadata format"))?;
        let opt_u64 = |v: &Value| -> Result<Option<u64>, Failure> {
            match v {
                Value::Null => Ok(None),
                v => v.as_u64().map(Some).ok_or_else(|| bad("a bad time bound")),
            }
        };
        let (from_ms, until_ms) = (opt_u64(from)?, opt_u64(until)?);
        if let (Some(f), Some(u)) = (from_ms, until_ms)
            && f > u
        {
            return Err(bad("from is after until"));
        }
        let set = match set {
            Value::Null => None,
            Value::String(s) if sets::parse(s).is_some() => Some(s.clone()),
            _ => return Err(bad("a bad set")),
        };
        let delivered = delivered.as_u64().ok_or_else(|| bad("a bad count"))?;
        let cursor = match cursor {
            Value::String(c) => Some(c.clone()),
            _ => return Err(bad("no position")),
        };
        Ok(Token {
            headers_only,
            format,
            from_ms,
            until_ms,
            set,
            delivered,
            cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Token {
        Token {
            headers_only: false,
            format: Format::OaiDc,
            from_ms: Some(5),
            until_ms: None,
            set: Some("country:BGD".into()),
            delivered: 100,
            cursor: Some("12/ab/practice/X".into()),
        }
    }

    #[test]
    fn round_trip() {
        let t = token();
        assert_eq!(Token::decode(&t.encode(), false), Ok(t.clone()));
        let err = Token::decode(&t.encode(), true).unwrap_err();
        assert_eq!(err.code(), Some(Code::BadResumptionToken));
    }

    #[test]
    fn refuses_anything_else() {
        let enc = |v: Value| hex::encode(v.to_string());
        let good = token().encode();
        for bad in [
            String::new(),
            "zz".into(),
            good.to_uppercase() + "0",
            good[..good.len() - 2].to_string(),
            "a".repeat(MAX_TOKEN_BYTES + 2),
            enc(json!({"v": 1})),
            enc(json!([
                2,
                "ListRecords",
                "oai_dc",
                null,
                null,
                null,
                0,
                "c"
            ])),
            enc(json!([1, "ListSets", "oai_dc", null, null, null, 0, "c"])),
            enc(json!([1, "ListRecords", "marc", null, null, null, 0, "c"])),
            enc(json!([1, "ListRecords", "oai_dc", -1, null, null, 0, "c"])),
            enc(json!([1, "ListRecords", "oai_dc", 9, 3, null, 0, "c"])),
            enc(json!([
                1,
                "ListRecords",
                "oai_dc",
                null,
                null,
                "a b",
                0,
                "c"
            ])),
            enc(json!([
                1,
                "ListRecords",
                "oai_dc",
                null,
                null,
                null,
                "0",
                "c"
            ])),
            enc(json!([
                1,
                "ListRecords",
                "oai_dc",
                null,
                null,
                null,
                0,
                null
            ])),
            enc(json!([1, "ListRecords", "oai_dc", null, null, null, 0])),
        ] {
            let err = Token::decode(&bad, false).unwrap_err();
            assert_eq!(err.code(), Some(Code::BadResumptionToken), "{bad}");
        }
    }
}
