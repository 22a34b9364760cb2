//! Identifiers: record ids, author (publisher) keys and content hashes.
//!
//! All are 32 bytes. In CBOR they are byte strings; in JSON and on screen
//! they are 64 lowercase hex digits.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// Why a hex id could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected 64 lowercase hex digits (32 bytes), got {got:?}")]
pub struct ParseIdError {
    /// The text that was given, cut to 80 characters.
    pub got: String,
}

fn parse_hex32(s: &str) -> Result<[u8; 32], ParseIdError> {
    let bad = || ParseIdError {
        got: s.chars().take(80).collect(),
    };
    if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| bad())?;
    Ok(out)
}

macro_rules! id32 {
    ($(#[$doc:meta])* $name:ident, $expecting:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The 32 bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
            /// The id as 64 lowercase hex digits.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), &self.to_hex()[..12])
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, ParseIdError> {
                parse_hex32(s).map($name)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.serialize_str(&self.to_hex())
                } else {
                    s.serialize_bytes(&self.0)
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$name, E> {
                        s.parse().map_err(E::custom)
                    }
                    fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<$name, E> {
                        <[u8; 32]>::try_from(b)
                            .map($name)
                            .map_err(|_| E::invalid_length(b.len(), &self))
                    }
                }
                if d.is_human_readable() {
                    d.deserialize_str(V)
                } else {
                    d.deserialize_bytes(V)
                }
            }
        }
    };
}

id32!(
    /// A record id: SHA-256 of the record's canonical envelope bytes.
    RecordId,
    "a 32-byte record id (64 hex digits in JSON)"
);

id32!(
    /// An author: the 32-byte Ed25519 public key of a publisher.
    AuthorKey,
    "a 32-byte Ed25519 public key (64 hex digits in JSON)"
);

id32!(
    /// The BLAKE3 hash of a file's bytes (standard, unkeyed, 32-byte
    /// output), which is the root of its BLAKE3/bao verified-streaming tree:
    /// what an `attachment` record signs (`spec/record.md` §6d). This crate
    /// only carries it; it never hashes a file.
    ContentHash,
    "a 32-byte BLAKE3 hash (64 hex digits in JSON)"
);

impl RecordId {
    /// The id of the given envelope bytes: `SHA-256(envelope_bytes)`.
    pub fn of_envelope(envelope_bytes: &[u8]) -> RecordId {
        RecordId(Sha256::digest(envelope_bytes).into())
    }

    /// The first 12 hex digits, as used in citations.
    pub fn short(&self) -> String {
        self.to_hex()[..12].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_refusals() {
        let id = RecordId::of_envelope(b"");
        assert_eq!(
            id.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(id.to_hex().parse::<RecordId>().unwrap(), id);
        assert!("E3B0".parse::<RecordId>().is_err());
        assert!(id.to_hex().to_uppercase().parse::<RecordId>().is_err());
        assert!("zz".repeat(32).parse::<RecordId>().is_err());
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        let v = crate::cbor::to_value(&id).unwrap();
        assert_eq!(v, crate::cbor::Value::Bytes(id.0.to_vec()));
        assert_eq!(crate::cbor::from_value::<RecordId>(&v).unwrap(), id);
    }
}
