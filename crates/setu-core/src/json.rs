//! The JSON form of CBOR values: the same keys, byte strings as lowercase
//! hex. This is the form people write by hand, import and export.
//!
//! For a `practice` body the typed [`crate::practice::Practice`] knows which
//! fields are bytes (`supersedes`), so JSON and CBOR round-trip without loss.
//! For a kind this crate does not know, [`from_json`] cannot tell hex text
//! from bytes and reads every string as text.

use serde_json::Value as Json;

use crate::cbor::Value;

/// Why JSON could not be read as a CBOR value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct JsonError {
    /// Where, as `a.b[2]`.
    pub path: String,
    /// Why.
    pub message: String,
}

/// The JSON form of a value.
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Uint(n) => Json::from(*n),
        Value::Nint(n) => Json::from(*n),
        Value::Bytes(b) => Json::String(hex::encode(b)),
        Value::Text(s) => Json::String(s.clone()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
    }
}

/// The JSON form of a value, written by serde without building a
/// `serde_json::Value` first (for exports of many records).
#[derive(Debug, Clone, Copy)]
pub struct View<'a>(pub &'a Value);

impl serde::Serialize for View<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Uint(n) => s.serialize_u64(*n),
            Value::Nint(n) => s.serialize_i64(*n),
            Value::Bytes(b) => s.serialize_str(&hex::encode(b)),
            Value::Text(t) => s.serialize_str(t),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(&View(i))?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, &View(v))?;
                }
                map.end()
            }
        }
    }
}

/// Reads JSON as a CBOR value: integers, text, booleans, arrays and objects.
/// `null` and fractional numbers are refused.
pub fn from_json(j: &Json) -> Result<Value, JsonError> {
    from_json_at(j, "")
}

fn from_json_at(j: &Json, path: &str) -> Result<Value, JsonError> {
    let err = |message: &str| JsonError {
        path: if path.is_empty() {
            "(top)".into()
        } else {
            path.to_string()
        },
        message: message.to_string(),
    };
    Ok(match j {
        Json::Null => return Err(err("null is not allowed; leave the key out")),
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::Uint(u)
            } else if let Some(i) = n.as_i64() {
                Value::Nint(i)
            } else {
                return Err(err(
                    "only integers are allowed (no fractions, no exponents)",
                ));
            }
        }
        Json::String(s) => Value::Text(s.clone()),
        Json::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| from_json_at(item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    Ok((k.clone(), from_json_at(v, &p)?))
                })
                .collect::<Result<_, JsonError>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_writes_the_same_json() {
        let v = Value::map([
            ("b", Value::Bytes(vec![1, 2])),
            ("a", Value::Array(vec![Value::Nint(-3), Value::text("x")])),
        ]);
        assert_eq!(serde_json::to_value(View(&v)).unwrap(), to_json(&v));
    }

    #[test]
    fn json_round_trip_without_bytes() {
        let j = serde_json::json!({"a": [1, -2, "x", true], "b": {"c": "ডিজিটাল"}});
        let v = from_json(&j).unwrap();
        assert_eq!(to_json(&v), j);
        let err = from_json(&serde_json::json!({"a": [1.5]})).unwrap_err();
        assert_eq!(err.path, "a[0]");
        assert!(from_json(&serde_json::json!({"a": null})).is_err());
    }
}
