//! The canonical CBOR profile of Setu ([`spec/record.md` §2](../../../spec/record.md)).
//!
//! Everything that is signed or hashed goes through [`encode`], the single
//! canonicalising encoder, and everything that arrives goes through
//! [`decode`], a strict decoder written for this profile. No general-purpose
//! CBOR library is trusted with either direction.
//!
//! The profile is RFC 8949 §4.2.1 core deterministic encoding, restricted to:
//! unsigned and negative integers that fit `u64`/`i64`, byte strings, text
//! strings (valid UTF-8, Unicode NFC), definite-length arrays, maps whose keys
//! are text strings sorted by their encoded bytes with no duplicates, and the
//! booleans `true` and `false`. Nesting is at most [`MAX_DEPTH`] levels of
//! arrays and maps.
//!
//! ```
//! use setu_core::cbor::{self, Value};
//! let v = Value::map([("b", Value::Uint(1)), ("aa", Value::Bool(true))]);
//! let bytes = cbor::encode(&v).unwrap();
//! // "b" sorts before "aa": keys are ordered by their encoded bytes.
//! assert_eq!(bytes, [0xa2, 0x61, b'b', 0x01, 0x62, b'a', b'a', 0xf5]);
//! assert_eq!(cbor::decode(&bytes).unwrap(), v);
//! // A non-shortest integer is refused.
//! assert!(cbor::decode(&[0x18, 0x05]).is_err());
//! ```

mod serde_impl;

use std::cmp::Ordering;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

pub use serde_impl::{SerdeError, from_value, from_value_fast, to_value};

/// Most levels of arrays and maps that may be nested inside one another.
/// A top-level array or map is level 1.
pub const MAX_DEPTH: usize = 16;

/// A data item of the Setu CBOR profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Major type 0: an unsigned integer.
    Uint(u64),
    /// Major type 1: a negative integer, always `< 0` and `>= i64::MIN`.
    Nint(i64),
    /// Major type 2: a byte string.
    Bytes(Vec<u8>),
    /// Major type 3: a text string.
    Text(String),
    /// Major type 4: an array.
    Array(Vec<Value>),
    /// Major type 5: a map with text keys. [`decode`] yields the entries in
    /// canonical order; [`encode`] sorts them whatever their order.
    Map(Vec<(String, Value)>),
    /// Simple values 20 and 21.
    Bool(bool),
}

impl Value {
    /// Builds a map from `(key, value)` pairs, in canonical key order.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        let mut entries: Vec<(String, Value)> =
            entries.into_iter().map(|(k, v)| (k.into(), v)).collect();
        entries.sort_by(|a, b| key_order(&a.0, &b.0));
        Value::Map(entries)
    }

    /// Builds a text value.
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    /// The value under `key`, when `self` is a map that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text, when `self` is a text string.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, when `self` is a byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The integer, when `self` is an unsigned integer.
    pub fn as_uint(&self) -> Option<u64> {
        match self {
            Value::Uint(n) => Some(*n),
            _ => None,
        }
    }

    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Uint(_) => "unsigned integer",
            Value::Nint(_) => "negative integer",
            Value::Bytes(_) => "byte string",
            Value::Text(_) => "text string",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Bool(_) => "boolean",
        }
    }
}

/// The canonical order of two map keys: the order of their encoded bytes,
/// which for text keys is shorter first, then bytewise.
pub fn key_order(a: &str, b: &str) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// Two keys of one map are equal once normalised to NFC.
    #[error("duplicate map key {key:?}")]
    DuplicateKey {
        /// The key, in NFC.
        key: String,
    },
    /// Arrays and maps are nested deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// Encodes `value` canonically: shortest integers and lengths, definite
/// lengths, text normalised to NFC, map keys sorted by their encoded bytes.
///
/// This is the one function through which every signed or hashed byte
/// passes.
pub fn encode(value: &Value) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode_into(value, 0, &mut out)?;
    Ok(out)
}

/// Encodes a value exactly as it is: no normalisation, maps in their given
/// order. Only for values the decoder produced, whose text is already NFC
/// and whose keys are already in order.
fn encode_verbatim(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Text(s) => text_into(s, out),
        Value::Array(items) => {
            head(out, 4, items.len() as u64);
            for item in items {
                encode_verbatim(item, out);
            }
        }
        Value::Map(entries) => {
            head(out, 5, entries.len() as u64);
            for (k, v) in entries {
                text_into(k, out);
                encode_verbatim(v, out);
            }
        }
        // Scalars and bytes have one encoding.
        other => {
            let _ = encode_into(other, 0, out);
        }
    }
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.push(m | 24);
        out.push(n as u8);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// True if `s` is in NFC; ASCII (most text) is checked without tables.
fn is_nfc(s: &str) -> bool {
    s.is_ascii() || is_nfc_quick(s.chars()) == IsNormalized::Yes || unicode_normalization::is_nfc(s)
}

fn nfc(s: &str) -> std::borrow::Cow<'_, str> {
    if is_nfc(s) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.nfc().collect())
    }
}

fn text_into(s: &str, out: &mut Vec<u8>) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn encode_into(value: &Value, depth: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match value {
        Value::Uint(n) => head(out, 0, *n),
        Value::Nint(n) => {
            // -1 - n, computed without overflow for i64::MIN.
            let arg = !(*n as u64);
            head(out, 1, arg)
        }
        Value::Bytes(b) => {
            head(out, 2, b.len() as u64);
            out.extend_from_slice(b);
        }
        Value::Text(s) => text_into(&nfc(s), out),
        Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Array(items) => {
            if depth + 1 > MAX_DEPTH {
                return Err(EncodeError::TooDeep);
            }
            head(out, 4, items.len() as u64);
            for item in items {
                encode_into(item, depth + 1, out)?;
            }
        }
        Value::Map(entries) => {
            if depth + 1 > MAX_DEPTH {
                return Err(EncodeError::TooDeep);
            }
            let mut sorted: Vec<(std::borrow::Cow<'_, str>, &Value)> =
                entries.iter().map(|(k, v)| (nfc(k), v)).collect();
            sorted.sort_by(|a, b| key_order(&a.0, &b.0));
            for pair in sorted.windows(2) {
                if pair[0].0 == pair[1].0 {
                    return Err(EncodeError::DuplicateKey {
                        key: pair[0].0.to_string(),
                    });
                }
            }
            head(out, 5, sorted.len() as u64);
            for (k, v) in sorted {
                text_into(&k, out);
                encode_into(v, depth + 1, out)?;
            }
        }
    }
    Ok(())
}

/// Which rule a refused input broke. The variants map onto the reason codes
/// `cbor` and `noncanonical` of `spec/record.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Not well-formed CBOR (truncated, trailing bytes, invalid UTF-8, a
    /// declared length beyond the input, a reserved encoding), or an item
    /// outside the profile (float, tag, null, undefined, other simple values,
    /// a non-text map key, an integer outside `u64`/`i64`, nesting deeper than
    /// [`MAX_DEPTH`]). Reason code `cbor`.
    Malformed,
    /// Well-formed and inside the profile, but not in canonical form
    /// (non-shortest integer or length, indefinite length, unsorted or
    /// duplicate map keys, text not in NFC). Reason code `noncanonical`.
    NonCanonical,
}

/// Why bytes were refused by [`decode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}at byte {offset}: {detail}", match .kind { DecodeErrorKind::Malformed => "malformed CBOR ", DecodeErrorKind::NonCanonical => "non-canonical CBOR " })]
pub struct DecodeError {
    /// Which rule was broken.
    pub kind: DecodeErrorKind,
    /// Offset of the data item (or byte) at fault.
    pub offset: usize,
    /// What was wrong, for people.
    pub detail: &'static str,
}

/// Decodes exactly one canonical data item that fills `bytes`.
///
/// Refuses (see [`DecodeErrorKind`]) any input that is malformed, outside the
/// profile, followed by trailing bytes, or not in canonical form. If the input
/// breaks both a `Malformed` rule and a `NonCanonical` rule, the error is
/// `Malformed`, wherever the two faults are. Allocation is bounded by the
/// input's length: no declared length or count is trusted beyond the bytes
/// that remain.
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    let value = decode_with(bytes, false)?;
    // Belt and braces: the rules above are meant to be exactly "re-encodes
    // to the same bytes"; check it (NFC and key order were checked above).
    let mut again = Vec::with_capacity(bytes.len());
    encode_verbatim(&value, &mut again);
    match again == bytes {
        true => Ok(value),
        false => Err(DecodeError {
            kind: DecodeErrorKind::NonCanonical,
            offset: 0,
            detail: "does not re-encode to the same bytes",
        }),
    }
}

/// Decodes a data item that [`decode`] accepted before: bytes read back
/// from the node's own store. Malformed input is still refused, as are the
/// cheap canonical-form faults, but the two costly checks are skipped: that
/// every text string is in NFC, and that the value re-encodes to the same
/// bytes. Never for bytes from outside.
pub fn decode_trusted(bytes: &[u8]) -> Result<Value, DecodeError> {
    decode_with(bytes, true)
}

fn decode_with(bytes: &[u8], trusted: bool) -> Result<Value, DecodeError> {
    let mut d = Decoder {
        input: bytes,
        pos: 0,
        noncanonical: None,
        trusted,
    };
    let value = d.item(0)?;
    if d.pos != bytes.len() {
        return Err(malformed(d.pos, "trailing bytes after the data item"));
    }
    if let Some(err) = d.noncanonical {
        return Err(err);
    }
    Ok(value)
}

fn malformed(offset: usize, detail: &'static str) -> DecodeError {
    DecodeError {
        kind: DecodeErrorKind::Malformed,
        offset,
        detail,
    }
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    /// The first canonical-form violation seen; reported only if the whole
    /// input is otherwise well-formed.
    noncanonical: Option<DecodeError>,
    /// Skip the NFC check ([`decode_trusted`]).
    trusted: bool,
}

enum Len {
    Definite(u64),
    Indefinite,
}

impl<'a> Decoder<'a> {
    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    fn flag(&mut self, offset: usize, detail: &'static str) {
        if self.noncanonical.is_none() {
            self.noncanonical = Some(DecodeError {
                kind: DecodeErrorKind::NonCanonical,
                offset,
                detail,
            });
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(malformed(self.pos, "unexpected end of input"));
        }
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    /// Reads the argument that follows an initial byte with additional
    /// information `ai`, flagging non-shortest forms.
    fn argument(&mut self, start: usize, ai: u8) -> Result<Len, DecodeError> {
        let (n, min) = match ai {
            0..=23 => return Ok(Len::Definite(u64::from(ai))),
            24 => (u64::from(self.byte()?), 24),
            25 => {
                let b = self.take(2)?;
                (u64::from(u16::from_be_bytes([b[0], b[1]])), 0x100)
            }
            26 => {
                let b = self.take(4)?;
                (
                    u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                    0x1_0000,
                )
            }
            27 => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                (u64::from_be_bytes(a), 0x1_0000_0000)
            }
            28..=30 => return Err(malformed(start, "reserved additional information")),
            _ => return Ok(Len::Indefinite),
        };
        if n < min {
            self.flag(start, "integer or length not in its shortest form");
        }
        Ok(Len::Definite(n))
    }

    fn item(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let start = self.pos;
        let ib = self.byte()?;
        let (major, ai) = (ib >> 5, ib & 0x1f);
        match major {
            6 => return Err(malformed(start, "tags are not allowed")),
            7 => {
                return match ai {
                    20 => Ok(Value::Bool(false)),
                    21 => Ok(Value::Bool(true)),
                    22 => Err(malformed(start, "null is not allowed")),
                    23 => Err(malformed(start, "undefined is not allowed")),
                    25..=27 => Err(malformed(start, "floating-point numbers are not allowed")),
                    28..=30 => Err(malformed(start, "reserved additional information")),
                    31 => Err(malformed(start, "unexpected break")),
                    _ => Err(malformed(
                        start,
                        "simple values other than true and false are not allowed",
                    )),
                };
            }
            _ => {}
        }
        let len = self.argument(start, ai)?;
        match (major, len) {
            (0, Len::Definite(n)) => Ok(Value::Uint(n)),
            (1, Len::Definite(n)) => {
                if n > i64::MAX as u64 {
                    return Err(malformed(start, "negative integer below -2^63"));
                }
                Ok(Value::Nint(-1 - n as i64))
            }
            (0 | 1, Len::Indefinite) => Err(malformed(start, "integers cannot be indefinite")),
            (2, len) => Ok(Value::Bytes(self.string(start, 2, len)?)),
            (3, len) => {
                let bytes = self.string(start, 3, len)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| malformed(start, "text string is not valid UTF-8"))?;
                if !self.trusted && !is_nfc(&text) {
                    self.flag(start, "text string is not in Unicode NFC");
                }
                Ok(Value::Text(text))
            }
            (4, len) => {
                if depth + 1 > MAX_DEPTH {
                    return Err(malformed(start, "arrays and maps nested deeper than 16"));
                }
                let mut items = Vec::new();
                match len {
                    Len::Definite(n) => {
                        if n > self.remaining() as u64 {
                            return Err(malformed(start, "declared count exceeds the input"));
                        }
                        items.reserve(n as usize);
                        for _ in 0..n {
                            items.push(self.item(depth + 1)?);
                        }
                    }
                    Len::Indefinite => {
                        self.flag(start, "indefinite-length array");
                        while !self.at_break()? {
                            items.push(self.item(depth + 1)?);
                        }
                    }
                }
                Ok(Value::Array(items))
            }
            (5, len) => {
                if depth + 1 > MAX_DEPTH {
                    return Err(malformed(start, "arrays and maps nested deeper than 16"));
                }
                let mut entries: Vec<(String, Value)> = Vec::new();
                let next =
                    |d: &mut Self, entries: &mut Vec<(String, Value)>| -> Result<(), DecodeError> {
                        let key_at = d.pos;
                        let key = match d.item(depth + 1)? {
                            Value::Text(k) => k,
                            _ => return Err(malformed(key_at, "map key is not a text string")),
                        };
                        let value = d.item(depth + 1)?;
                        if let Some((prev, _)) = entries.last() {
                            match key_order(prev, &key) {
                                Ordering::Less => {}
                                Ordering::Equal => d.flag(key_at, "duplicate map key"),
                                Ordering::Greater => {
                                    d.flag(key_at, "map keys are not in canonical order")
                                }
                            }
                        }
                        entries.push((key, value));
                        Ok(())
                    };
                match len {
                    Len::Definite(n) => {
                        if n > (self.remaining() / 2) as u64 {
                            return Err(malformed(start, "declared count exceeds the input"));
                        }
                        entries.reserve(n as usize);
                        for _ in 0..n {
                            next(self, &mut entries)?;
                        }
                    }
                    Len::Indefinite => {
                        self.flag(start, "indefinite-length map");
                        while !self.at_break()? {
                            next(self, &mut entries)?;
                        }
                    }
                }
                Ok(Value::Map(entries))
            }
            _ => Err(malformed(start, "unknown major type")),
        }
    }

    fn at_break(&mut self) -> Result<bool, DecodeError> {
        match self.input.get(self.pos) {
            None => Err(malformed(self.pos, "unexpected end of input")),
            Some(0xff) => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
        }
    }

    /// Reads the content of a byte or text string, joining the chunks of an
    /// indefinite-length one.
    fn string(&mut self, start: usize, major: u8, len: Len) -> Result<Vec<u8>, DecodeError> {
        match len {
            Len::Definite(n) => {
                if n > self.remaining() as u64 {
                    return Err(malformed(start, "declared length exceeds the input"));
                }
                Ok(self.take(n as usize)?.to_vec())
            }
            Len::Indefinite => {
                self.flag(start, "indefinite-length string");
                let mut out = Vec::new();
                while !self.at_break()? {
                    let chunk_at = self.pos;
                    let ib = self.byte()?;
                    if ib >> 5 != major {
                        return Err(malformed(
                            chunk_at,
                            "chunk of the wrong type in an indefinite-length string",
                        ));
                    }
                    match self.argument(chunk_at, ib & 0x1f)? {
                        Len::Definite(n) => {
                            if n > self.remaining() as u64 {
                                return Err(malformed(
                                    chunk_at,
                                    "declared length exceeds the input",
                                ));
                            }
                            let chunk = self.take(n as usize)?;
                            if major == 3 && std::str::from_utf8(chunk).is_err() {
                                return Err(malformed(chunk_at, "text string is not valid UTF-8"));
                            }
                            out.extend_from_slice(chunk);
                        }
                        Len::Indefinite => {
                            return Err(malformed(chunk_at, "nested indefinite-length string"));
                        }
                    }
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trusted decode gives what `decode` gives, passes over text not
    /// in NFC (the store never holds any), and still refuses malformed
    /// input.
    #[test]
    fn trusted_decode_skips_only_the_costly_checks() {
        let v = Value::map([("a", Value::text("é")), ("bb", Value::Uint(7))]);
        let bytes = encode(&v).unwrap();
        assert_eq!(decode_trusted(&bytes).unwrap(), decode(&bytes).unwrap());
        // "e" + U+0301 (combining acute): NFD, not NFC.
        let nfd = [0x63, b'e', 0xcc, 0x81];
        assert_eq!(
            decode(&nfd).unwrap_err().kind,
            DecodeErrorKind::NonCanonical
        );
        assert_eq!(decode_trusted(&nfd).unwrap(), Value::text("e\u{301}"));
        assert_eq!(
            decode_trusted(&bytes[..bytes.len() - 1]).unwrap_err().kind,
            DecodeErrorKind::Malformed
        );
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode_trusted(&trailing).is_err());
    }

    fn kind(bytes: &[u8]) -> Option<DecodeErrorKind> {
        decode(bytes).err().map(|e| e.kind)
    }

    #[test]
    fn integers_take_their_shortest_form() {
        for (n, want) in [
            (0u64, vec![0x00]),
            (23, vec![0x17]),
            (24, vec![0x18, 24]),
            (255, vec![0x18, 0xff]),
            (256, vec![0x19, 1, 0]),
            (65_536, vec![0x1a, 0, 1, 0, 0]),
            (
                u64::MAX,
                vec![0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
        ] {
            assert_eq!(encode(&Value::Uint(n)).unwrap(), want, "{n}");
            assert_eq!(decode(&want).unwrap(), Value::Uint(n));
        }
        assert_eq!(encode(&Value::Nint(-1)).unwrap(), [0x20]);
        assert_eq!(encode(&Value::Nint(i64::MIN)).unwrap()[0], 0x3b);
        let min = encode(&Value::Nint(i64::MIN)).unwrap();
        assert_eq!(decode(&min).unwrap(), Value::Nint(i64::MIN));
    }

    #[test]
    fn refusals_carry_the_right_kind() {
        use DecodeErrorKind::*;
        let cases: &[(&[u8], DecodeErrorKind)] = &[
            (&[0x18, 0x05], NonCanonical),             // non-shortest
            (&[0x9f, 0x01, 0xff], NonCanonical),       // indefinite array
            (&[0x5f, 0x41, 0x00, 0xff], NonCanonical), // indefinite bstr
            (&[0xa2, 0x61, b'b', 0x01, 0x61, b'a', 0x02], NonCanonical), // unsorted
            (&[0xa2, 0x61, b'a', 0x01, 0x61, b'a', 0x02], NonCanonical), // duplicate
            (&[0x63, b'e', 0xcc, 0x81], NonCanonical), // "e" + combining acute: not NFC
            (&[0xf9, 0x3c, 0x00], Malformed),          // half float
            (&[0xc1, 0x01], Malformed),                // tag
            (&[0xf6], Malformed),                      // null
            (&[0xf7], Malformed),                      // undefined
            (&[0xf8, 0x20], Malformed),                // simple(32)
            (&[0x01, 0x00], Malformed),                // trailing
            (&[0x62, 0xc3, 0x28], Malformed),          // invalid UTF-8
            (&[0x5a, 0xff, 0xff, 0xff, 0xff], Malformed), // length beyond input
            (
                &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                Malformed,
            ),
            (&[0xa1, 0x01, 0x02], Malformed), // integer key
            (&[0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0], Malformed), // below i64::MIN
            (&[0x1c], Malformed),             // reserved
            (&[0xff], Malformed),             // lone break
            (&[], Malformed),
            // A noncanonical fault before a malformed one: still Malformed.
            (&[0x82, 0x18, 0x01, 0xf6], Malformed),
        ];
        for (bytes, want) in cases {
            assert_eq!(kind(bytes), Some(*want), "{bytes:02x?}");
        }
    }

    #[test]
    fn depth_is_limited_to_sixteen() {
        let mut ok = vec![0x81; MAX_DEPTH - 1];
        ok.push(0x80);
        assert!(decode(&ok).is_ok());
        let mut deep = vec![0x81; MAX_DEPTH];
        deep.push(0x80);
        assert_eq!(kind(&deep), Some(DecodeErrorKind::Malformed));
        let mut v = Value::Array(vec![]);
        for _ in 0..MAX_DEPTH {
            v = Value::Array(vec![v]);
        }
        assert_eq!(encode(&v), Err(EncodeError::TooDeep));
    }

    #[test]
    fn encoder_canonicalises() {
        let v = Value::Map(vec![
            ("e\u{301}".into(), Value::text("e\u{301}")),
            ("a".into(), Value::Bool(false)),
        ]);
        let bytes = encode(&v).unwrap();
        let back = decode(&bytes).unwrap();
        assert_eq!(back.get("\u{e9}"), Some(&Value::text("\u{e9}")));
        let dup = Value::Map(vec![
            ("\u{e9}".into(), Value::Uint(1)),
            ("e\u{301}".into(), Value::Uint(2)),
        ]);
        assert!(matches!(
            encode(&dup),
            Err(EncodeError::DuplicateKey { .. })
        ));
    }
}
