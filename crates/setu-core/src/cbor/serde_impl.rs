//! Bridges between serde types and [`Value`].
//!
//! Serialisation goes through `ciborium::Value` and is then checked against
//! the profile (no floats, tags or null). Deserialisation reads a [`Value`]
//! directly and reports the path of the first problem, such as
//! `metrics[0].kind`.

use serde::de::{self, IntoDeserializer, value::Error as DeError};

use super::Value;

/// Why a serde type could not be turned into a [`Value`], or back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SerdeError {
    /// Where the problem is, as `a.b[2].c`; empty for the top level.
    pub path: String,
    /// What the problem is.
    pub message: String,
}

/// Serialises `value` to a profile [`Value`].
///
/// Fails if the type produces anything outside the profile, such as a float
/// or a `None` that was not skipped.
pub fn to_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, SerdeError> {
    let v = ciborium::Value::serialized(value).map_err(|e| SerdeError {
        path: String::new(),
        message: e.to_string(),
    })?;
    from_ciborium(v, &mut String::new())
}

fn from_ciborium(v: ciborium::Value, path: &mut String) -> Result<Value, SerdeError> {
    use ciborium::Value as C;
    let err = |path: &str, message: &str| SerdeError {
        path: path.to_string(),
        message: message.to_string(),
    };
    Ok(match v {
        C::Integer(i) => {
            let i = i128::from(i);
            if i >= 0 {
                Value::Uint(u64::try_from(i).map_err(|_| err(path, "integer too large"))?)
            } else {
                Value::Nint(i64::try_from(i).map_err(|_| err(path, "integer too small"))?)
            }
        }
        C::Bytes(b) => Value::Bytes(b),
        C::Text(s) => Value::Text(s),
        C::Bool(b) => Value::Bool(b),
        C::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(from_ciborium(item, path)?);
                path.truncate(len);
            }
            Value::Array(out)
        }
        C::Map(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let C::Text(k) = k else {
                    return Err(err(path, "map key is not text"));
                };
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&k);
                let v = from_ciborium(v, path)?;
                path.truncate(len);
                out.push((k, v));
            }
            Value::Map(out)
        }
        C::Null => return Err(err(path, "null is not allowed; leave the key out")),
        C::Float(_) => return Err(err(path, "floating-point numbers are not allowed")),
        C::Tag(..) => return Err(err(path, "tags are not allowed")),
        _ => return Err(err(path, "value outside the CBOR profile")),
    })
}

/// Deserialises a serde type from a [`Value`] without tracking paths
/// (fast); use [`from_value`] to learn where a failure is.
pub fn from_value_fast<'de, T: serde::Deserialize<'de>>(value: &'de Value) -> Option<T> {
    T::deserialize(value).ok()
}

/// Deserialises a serde type from a [`Value`], naming the path of the first
/// problem.
pub fn from_value<'de, T: serde::Deserialize<'de>>(value: &'de Value) -> Result<T, SerdeError> {
    serde_path_to_error::deserialize(value).map_err(|e| SerdeError {
        path: e.path().to_string().trim_start_matches('.').to_string(),
        message: e.into_inner().to_string(),
    })
}

impl<'de> IntoDeserializer<'de, DeError> for &'de Value {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for &'de Value {
    type Error = DeError;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Uint(n) => visitor.visit_u64(*n),
            Value::Nint(n) => visitor.visit_i64(*n),
            Value::Bytes(b) => visitor.visit_borrowed_bytes(b),
            Value::Text(s) => visitor.visit_borrowed_str(s),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Array(items) => {
                let mut seq = de::value::SeqDeserializer::new(items.iter());
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Value::Map(entries) => {
                let mut map =
                    de::value::MapDeserializer::new(entries.iter().map(|(k, v)| (k.as_str(), v)));
                let out = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
        }
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // An absent key is the only way to say "none"; a present key is Some.
        visitor.visit_some(self)
    }

    fn is_human_readable(&self) -> bool {
        false
    }

    // Types are exact (spec/record.md §6.1): text only where text is
    // expected, bytes only where bytes are, a map only for a map or a
    // struct, an array only for a list. serde's own visitors would take
    // bytes for a string, hex text for bytes and an array for a struct.
    fn deserialize_str<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Text(s) => visitor.visit_borrowed_str(s),
            other => Err(invalid(other, "text")),
        }
    }

    fn deserialize_string<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Bytes(b) => visitor.visit_borrowed_bytes(b),
            other => Err(invalid(other, "a byte string")),
        }
    }

    fn deserialize_byte_buf<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_map<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Map(_) => self.deserialize_any(visitor),
            other => Err(invalid(other, "a map")),
        }
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Array(_) => self.deserialize_any(visitor),
            other => Err(invalid(other, "an array")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        unit unit_struct newtype_struct tuple
        tuple_struct enum identifier ignored_any
    }
}

fn invalid(v: &Value, expected: &str) -> DeError {
    <DeError as de::Error>::custom(format!("expected {expected}, got {}", v.type_name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        n: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        list: Vec<Inner>,
        names: BTreeMap<String, String>,
        delta: i64,
    }

    #[test]
    fn round_trip_and_paths() {
        let o = Outer {
            list: vec![
                Inner { n: 1, note: None },
                Inner {
                    n: 2,
                    note: Some("x".into()),
                },
            ],
            names: [("bn".to_string(), "সেবা".to_string())].into(),
            delta: -7814,
        };
        let v = to_value(&o).unwrap();
        let back: Outer = from_value(&v).unwrap();
        assert_eq!(back, o);

        let bad = Value::map([
            (
                "list",
                Value::Array(vec![Value::map([
                    ("n", Value::Uint(1)),
                    ("zz", Value::Bool(true)),
                ])]),
            ),
            ("names", Value::map::<&str>([])),
            ("delta", Value::Uint(1)),
        ]);
        let err = from_value::<Outer>(&bad).unwrap_err();
        assert_eq!(err.path, "list[0].zz");
        assert!(err.message.contains("unknown field"), "{err}");
    }

    #[test]
    fn types_are_exact() {
        #[derive(Debug, serde::Deserialize)]
        struct T {
            #[allow(dead_code)]
            s: String,
        }
        let bytes_for_text = Value::map([("s", Value::Bytes(b"x".to_vec()))]);
        assert!(from_value::<T>(&bytes_for_text).is_err());
        let array_for_struct = Value::Array(vec![Value::Text("x".into())]);
        assert!(from_value::<T>(&array_for_struct).is_err());
        let hex_for_id = Value::Text("00".repeat(32));
        assert!(from_value::<crate::ids::RecordId>(&hex_for_id).is_err());
        let id = from_value::<crate::ids::RecordId>(&Value::Bytes(vec![7; 32]));
        assert_eq!(id.map(|i| i.0), Ok([7; 32]));
    }

    #[test]
    fn floats_and_null_are_refused() {
        assert!(to_value(&1.5f64).is_err());
        assert!(to_value(&Option::<u8>::None).is_err());
    }
}
