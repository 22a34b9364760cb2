//! Membership operations: the bodies of records of kind `"member"`
//! ([`spec/membership.md` §3](../../../spec/membership.md)).
//!
//! Every body names the network it belongs to (`net`), so an operation
//! signed for one network is void in every other. Quorum operations
//! (`endorse`, `recover`, `revoke`, `amend`) also name the epoch they were
//! signed against; every member of a quorum signs a record with the same
//! body, so the records of one proposal share the body's hash.

use sha2::{Digest, Sha256};

use setu_core::cbor::{self, Value};
use setu_core::ids::{AuthorKey, RecordId};
use setu_core::record::{Envelope, Record};

use crate::Error;
use crate::charter::{self, Entry, Fields, NetworkId, Threshold};

/// The record kind of membership operations.
pub const KIND: &str = "member";
/// Most record ids a revocation may name as staying valid (33 bytes each
/// encoded: 1,500 fit in a 64 KiB record with room to spare).
pub const MAX_VALID_IDS: usize = 1_500;
/// Most practice-id prefixes in a delegation's scope.
pub const MAX_SCOPE_PREFIXES: usize = 16;
/// Longest practice-id prefix in a scope, in bytes.
pub const MAX_PREFIX_BYTES: usize = 64;

/// A membership epoch: the hash naming the member set an operation was
/// signed against. The first epoch is the network id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch(pub [u8; 32]);

impl Epoch {
    /// The first epoch of a network.
    pub fn genesis(net: NetworkId) -> Epoch {
        Epoch(net.0)
    }
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for Epoch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Epoch({})", &self.to_hex()[..12])
    }
}

/// A member's removal by `amend`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Removal {
    /// The member removed.
    pub member: String,
    /// The last seq of its current key that stays valid.
    pub last: u64,
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// Proposes a new member; admitted at the `admit` quorum.
    Endorse {
        /// The epoch signed against.
        epoch: Epoch,
        /// The member proposed.
        entry: Entry,
    },
    /// The member moves to a new key; signed by its current key.
    Rotate {
        /// The signer's member id.
        member: String,
        /// The new key.
        key: AuthorKey,
    },
    /// The member ends its current key; signed by that key.
    Retire {
        /// The signer's member id.
        member: String,
    },
    /// A quorum moves a member from a lost key to a new one.
    Recover {
        /// The epoch signed against.
        epoch: Epoch,
        /// The member.
        member: String,
        /// The key it loses.
        old: AuthorKey,
        /// The last seq of `old` that stays valid.
        last: u64,
        /// Its new key.
        key: AuthorKey,
    },
    /// A quorum ends a key and names exactly which of its records stay valid.
    Revoke {
        /// The epoch signed against.
        epoch: Epoch,
        /// The member the key belongs to (as a key or a delegate).
        member: String,
        /// The key.
        key: AuthorKey,
        /// Its records that stay valid, sorted, no duplicates.
        valid: Vec<RecordId>,
    },
    /// A member gives a sub-key a scope.
    Delegate {
        /// The signer's member id.
        member: String,
        /// The delegate key.
        key: AuthorKey,
        /// Practice-id prefixes the delegate may publish under.
        scope: Vec<String>,
        /// Records with `ts` at or after this (ms) are out of the delegation.
        expires: Option<u64>,
    },
    /// A member ends a delegation.
    Undelegate {
        /// The signer's member id.
        member: String,
        /// The delegate key.
        key: AuthorKey,
        /// The delegate's last seq that stays valid.
        last: u64,
    },
    /// A quorum changes the thresholds or removes a member.
    Amend {
        /// The epoch signed against.
        epoch: Epoch,
        /// A new admission threshold.
        admit: Option<Threshold>,
        /// A new recovery threshold.
        recover: Option<Threshold>,
        /// A member to remove.
        remove: Option<Removal>,
    },
}

impl Op {
    /// The operation's wire name.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Endorse { .. } => "endorse",
            Op::Rotate { .. } => "rotate",
            Op::Retire { .. } => "retire",
            Op::Recover { .. } => "recover",
            Op::Revoke { .. } => "revoke",
            Op::Delegate { .. } => "delegate",
            Op::Undelegate { .. } => "undelegate",
            Op::Amend { .. } => "amend",
        }
    }

    /// The member and key this operation names as a new key of that
    /// member: an endorsement's first key, a rotation's, recovery's or
    /// delegation's key.
    pub fn names_key(&self) -> Option<(&str, AuthorKey)> {
        match self {
            Op::Endorse { entry, .. } => Some((&entry.id, entry.key)),
            Op::Rotate { member, key }
            | Op::Recover { member, key, .. }
            | Op::Delegate { member, key, .. } => Some((member, *key)),
            _ => None,
        }
    }

    /// The same quorum operation signed against `epoch` instead: how a
    /// stale operation is re-signed (`spec/membership.md` §5.3). The
    /// operations one key signs alone are returned as they are.
    pub fn at_epoch(&self, epoch: Epoch) -> Op {
        let mut op = self.clone();
        match &mut op {
            Op::Endorse { epoch: e, .. }
            | Op::Recover { epoch: e, .. }
            | Op::Revoke { epoch: e, .. }
            | Op::Amend { epoch: e, .. } => *e = epoch,
            _ => {}
        }
        op
    }

    /// The epoch a quorum operation was signed against; `None` for the
    /// operations one key signs alone.
    pub fn epoch(&self) -> Option<Epoch> {
        match self {
            Op::Endorse { epoch, .. }
            | Op::Recover { epoch, .. }
            | Op::Revoke { epoch, .. }
            | Op::Amend { epoch, .. } => Some(*epoch),
            _ => None,
        }
    }
}

/// A membership record's body.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Body {
    /// The network it belongs to.
    pub net: NetworkId,
    /// The operation.
    pub op: Op,
}

fn b32(k: &[u8; 32]) -> Value {
    Value::Bytes(k.to_vec())
}

impl Body {
    /// The body as a CBOR map.
    pub fn to_value(&self) -> Value {
        let mut m: Vec<(&str, Value)> = vec![
            ("op", Value::text(self.op.name())),
            ("net", b32(&self.net.0)),
        ];
        if let Some(e) = self.op.epoch() {
            m.push(("epoch", b32(&e.0)));
        }
        match &self.op {
            Op::Endorse { entry, .. } => m.push(("member", entry.to_value())),
            Op::Rotate { member, key } => {
                m.push(("member", Value::text(member.clone())));
                m.push(("key", b32(&key.0)));
            }
            Op::Retire { member } => m.push(("member", Value::text(member.clone()))),
            Op::Recover {
                member,
                old,
                last,
                key,
                ..
            } => {
                m.push(("member", Value::text(member.clone())));
                m.push(("old", b32(&old.0)));
                m.push(("last", Value::Uint(*last)));
                m.push(("key", b32(&key.0)));
            }
            Op::Revoke {
                member, key, valid, ..
            } => {
                m.push(("member", Value::text(member.clone())));
                m.push(("key", b32(&key.0)));
                m.push((
                    "valid",
                    Value::Array(valid.iter().map(|i| b32(&i.0)).collect()),
                ));
            }
            Op::Delegate {
                member,
                key,
                scope,
                expires,
            } => {
                m.push(("member", Value::text(member.clone())));
                m.push(("key", b32(&key.0)));
                m.push((
                    "scope",
                    Value::Array(scope.iter().map(|s| Value::text(s.clone())).collect()),
                ));
                if let Some(t) = expires {
                    m.push(("expires", Value::Uint(*t)));
                }
            }
            Op::Undelegate { member, key, last } => {
                m.push(("member", Value::text(member.clone())));
                m.push(("key", b32(&key.0)));
                m.push(("last", Value::Uint(*last)));
            }
            Op::Amend {
                admit,
                recover,
                remove,
                ..
            } => {
                if let Some(t) = admit {
                    m.push(("admit", t.to_value()));
                }
                if let Some(t) = recover {
                    m.push(("recover", t.to_value()));
                }
                if let Some(r) = remove {
                    m.push((
                        "remove",
                        Value::map([
                            ("member", Value::text(r.member.clone())),
                            ("last", Value::Uint(r.last)),
                        ]),
                    ));
                }
            }
        }
        Value::map(m)
    }

    /// The body in JSON: byte strings as hex, thresholds as maps.
    pub fn to_json(&self) -> serde_json::Value {
        value_json(&self.to_value())
    }

    /// The proposal hash: SHA-256 of the body's canonical bytes. Records of
    /// one proposal, signed by different members, share it.
    pub fn hash(&self) -> [u8; 32] {
        // A body built here always encodes (text is checked on decode).
        let bytes = cbor::encode(&self.to_value()).unwrap_or_default();
        Sha256::digest(&bytes).into()
    }

    /// Reads a body, naming the field at fault.
    pub fn from_value(v: &Value) -> Result<Body, Error> {
        let path = "body";
        let op = match v.get("op") {
            Some(Value::Text(t)) => t.as_str(),
            Some(other) => return Err(Error::wrong_type("body.op", "text", other)),
            None => return Err(Error::new("body.op", "missing")),
        };
        let (req, opt): (&[&str], &[&str]) = match op {
            "endorse" => (&["op", "net", "epoch", "member"], &[]),
            "rotate" => (&["op", "net", "member", "key"], &[]),
            "retire" => (&["op", "net", "member"], &[]),
            "recover" => (&["op", "net", "epoch", "member", "old", "last", "key"], &[]),
            "revoke" => (&["op", "net", "epoch", "member", "key", "valid"], &[]),
            "delegate" => (&["op", "net", "member", "key", "scope"], &["expires"]),
            "undelegate" => (&["op", "net", "member", "key", "last"], &[]),
            "amend" => (&["op", "net", "epoch"], &["admit", "recover", "remove"]),
            other => {
                return Err(Error::new(
                    "body.op",
                    format!("{other:?} is not an operation of this version"),
                ));
            }
        };
        let f = Fields::new_opt(v, path, req, opt)?;
        let net = NetworkId(f.bytes32("net")?);
        let epoch = || f.bytes32("epoch").map(Epoch);
        let member = || charter::member_id(f.text("member")?, "body.member");
        let op = match op {
            "endorse" => Op::Endorse {
                epoch: epoch()?,
                entry: Entry::from_value(f.get("member")?, "body.member")?,
            },
            "rotate" => Op::Rotate {
                member: member()?,
                key: f.key("key")?,
            },
            "retire" => Op::Retire { member: member()? },
            "recover" => {
                let (old, key) = (f.key("old")?, f.key("key")?);
                if old == key {
                    return Err(Error::new("body.key", "is the key being lost"));
                }
                Op::Recover {
                    epoch: epoch()?,
                    member: member()?,
                    old,
                    last: f.uint("last")?,
                    key,
                }
            }
            "revoke" => {
                let list = match f.get("valid")? {
                    Value::Array(a) => a,
                    other => return Err(Error::wrong_type("body.valid", "array", other)),
                };
                if list.len() > MAX_VALID_IDS {
                    return Err(Error::new(
                        "body.valid",
                        format!("names {} records; the limit is {MAX_VALID_IDS}", list.len()),
                    ));
                }
                let mut valid = Vec::with_capacity(list.len());
                for (i, x) in list.iter().enumerate() {
                    match x {
                        Value::Bytes(b) if b.len() == 32 => {
                            let mut id = [0u8; 32];
                            id.copy_from_slice(b);
                            if valid.last().is_some_and(|p: &RecordId| p.0 >= id) {
                                return Err(Error::new(
                                    format!("body.valid[{i}]"),
                                    "ids must be sorted ascending with no duplicates",
                                ));
                            }
                            valid.push(RecordId(id));
                        }
                        _ => {
                            return Err(Error::new(
                                format!("body.valid[{i}]"),
                                "must be a 32-byte record id",
                            ));
                        }
                    }
                }
                Op::Revoke {
                    epoch: epoch()?,
                    member: member()?,
                    key: f.key("key")?,
                    valid,
                }
            }
            "delegate" => {
                let list = match f.get("scope")? {
                    Value::Array(a) => a,
                    other => return Err(Error::wrong_type("body.scope", "array", other)),
                };
                if list.is_empty() || list.len() > MAX_SCOPE_PREFIXES {
                    return Err(Error::new(
                        "body.scope",
                        format!("must hold 1 to {MAX_SCOPE_PREFIXES} practice-id prefixes"),
                    ));
                }
                let mut scope = Vec::with_capacity(list.len());
                for (i, x) in list.iter().enumerate() {
                    match x {
                        Value::Text(t)
                            if !t.is_empty()
                                && t.len() <= MAX_PREFIX_BYTES
                                && t.bytes().all(|b| b.is_ascii_graphic()) =>
                        {
                            scope.push(t.clone())
                        }
                        _ => {
                            return Err(Error::new(
                                format!("body.scope[{i}]"),
                                format!(
                                    "must be 1 to {MAX_PREFIX_BYTES} bytes of printable ASCII with no spaces"
                                ),
                            ));
                        }
                    }
                }
                Op::Delegate {
                    member: member()?,
                    key: f.key("key")?,
                    scope,
                    expires: f.opt("expires").map(|_| f.uint("expires")).transpose()?,
                }
            }
            "undelegate" => Op::Undelegate {
                member: member()?,
                key: f.key("key")?,
                last: f.uint("last")?,
            },
            _ => {
                let admit = f
                    .opt("admit")
                    .map(|v| Threshold::from_value(v, "body.admit"))
                    .transpose()?;
                let recover = f
                    .opt("recover")
                    .map(|v| Threshold::from_value(v, "body.recover"))
                    .transpose()?;
                let remove = match f.opt("remove") {
                    None => None,
                    Some(v) => {
                        let r = Fields::new(v, "body.remove", &["member", "last"])?;
                        Some(Removal {
                            member: charter::member_id(r.text("member")?, "body.remove.member")?,
                            last: r.uint("last")?,
                        })
                    }
                };
                if admit.is_none() && recover.is_none() && remove.is_none() {
                    return Err(Error::new(
                        "body",
                        "an amend changes admit, recover or remove at least",
                    ));
                }
                Op::Amend {
                    epoch: epoch()?,
                    admit,
                    recover,
                    remove,
                }
            }
        };
        Ok(Body { net, op })
    }
}

/// A membership record, as the fold reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The record id.
    pub id: RecordId,
    /// The signing key.
    pub author: AuthorKey,
    /// The envelope's seq.
    pub seq: u64,
    /// The envelope's ts.
    pub ts: u64,
    /// The operation.
    pub body: Body,
    /// [`Body::hash`].
    pub hash: [u8; 32],
}

impl Signed {
    /// Reads a checked record: `None` if it is not of kind `"member"`, an
    /// error naming the field if its body is not an operation.
    pub fn from_record(r: &Record) -> Option<Result<Signed, Error>> {
        let env = r.envelope();
        if env.kind != KIND {
            return None;
        }
        Some(Signed::from_envelope(r.id(), env))
    }

    /// Reads the envelope of a record of kind `"member"` with this id (a
    /// record already checked, or whose signature is checked elsewhere).
    pub fn from_envelope(id: RecordId, env: &Envelope) -> Result<Signed, Error> {
        Body::from_value(&env.body).map(|body| Signed {
            id,
            author: env.author,
            seq: env.seq,
            ts: env.ts,
            hash: body.hash(),
            body,
        })
    }
}

/// Signs an operation as a record of kind `"member"`.
pub fn sign(
    key: &setu_core::keys::SecretKey,
    seq: u64,
    ts: u64,
    body: &Body,
) -> Result<Record, Error> {
    setu_core::record::sign(key, KIND, seq, ts, body.to_value()).map_err(|e| {
        let path = e.problems.first().map_or("record", |p| p.path.as_str());
        Error::new(path, e.to_string())
    })
}

/// Builds an operation's body from its JSON request form (the API's and
/// the CLI's): the body's fields with byte strings as hex and thresholds
/// as `"num/den+min"`. `net` is filled in; `epoch` defaults to `epoch`;
/// a single-key operation's `member` defaults to `me`. The result is
/// checked by [`Body::from_value`], so an error names the field.
pub fn from_json(
    j: &serde_json::Value,
    net: NetworkId,
    epoch: Epoch,
    me: Option<&str>,
) -> Result<Body, Error> {
    let serde_json::Value::Object(obj) = j else {
        return Err(Error::new("body", "must be a JSON object"));
    };
    let op = obj.get("op").and_then(|v| v.as_str()).unwrap_or("");
    let quorum = matches!(op, "endorse" | "recover" | "revoke" | "amend");
    let mut m: Vec<(String, Value)> = vec![("net".into(), Value::Bytes(net.0.to_vec()))];
    if quorum && !obj.contains_key("epoch") {
        m.push(("epoch".into(), Value::Bytes(epoch.0.to_vec())));
    }
    if !quorum && !obj.contains_key("member") {
        match me {
            Some(id) => m.push(("member".into(), Value::text(id))),
            None => {
                return Err(Error::new(
                    "body.member",
                    "this node's key is no member's key, so it cannot sign this operation",
                ));
            }
        }
    }
    for (k, v) in obj {
        if k == "net" {
            return Err(Error::new("body.net", "is filled in by the node"));
        }
        m.push((k.clone(), json_field(k, v, &format!("body.{k}"))?));
    }
    Body::from_value(&Value::map(m))
}

/// One JSON field as the CBOR the body wants.
fn json_field(key: &str, v: &serde_json::Value, path: &str) -> Result<Value, Error> {
    use serde_json::Value as J;
    let hex32 = |s: &str| -> Result<Value, Error> {
        let b = hex::decode(s).map_err(|_| Error::new(path, "must be hex"))?;
        Ok(Value::Bytes(b))
    };
    Ok(match (key, v) {
        ("epoch" | "key" | "old", J::String(s)) => hex32(s)?,
        ("valid", J::Array(a)) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| match x {
                    J::String(s) => hex::decode(s)
                        .map(Value::Bytes)
                        .map_err(|_| Error::new(format!("{path}[{i}]"), "must be a hex record id")),
                    _ => Err(Error::new(
                        format!("{path}[{i}]"),
                        "must be a hex record id",
                    )),
                })
                .collect::<Result<_, _>>()?,
        ),
        ("admit" | "recover", J::String(s)) => s
            .parse::<Threshold>()
            .map_err(|e| Error::new(path, e.message))?
            .to_value(),
        ("member", J::Object(o)) => Value::map(
            o.iter()
                .map(|(k, x)| {
                    let p = format!("{path}.{k}");
                    let v = match (k.as_str(), x) {
                        ("key", J::String(s)) => hex::decode(s)
                            .map(Value::Bytes)
                            .map_err(|_| Error::new(p.clone(), "must be hex"))?,
                        _ => plain(x, &p)?,
                    };
                    Ok((k.clone(), v))
                })
                .collect::<Result<Vec<_>, Error>>()?,
        ),
        ("remove", J::Object(o)) => Value::map(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), plain(x, &format!("{path}.{k}"))?)))
                .collect::<Result<Vec<_>, Error>>()?,
        ),
        _ => plain(v, path)?,
    })
}

/// Text, unsigned integers and arrays of them.
fn plain(v: &serde_json::Value, path: &str) -> Result<Value, Error> {
    use serde_json::Value as J;
    match v {
        J::String(s) => Ok(Value::text(s.clone())),
        J::Number(n) => n
            .as_u64()
            .map(Value::Uint)
            .ok_or_else(|| Error::new(path, "must be an unsigned integer")),
        J::Array(a) => Ok(Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| plain(x, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        )),
        _ => Err(Error::new(path, "must be text, a number or an array")),
    }
}

/// A CBOR value in JSON, byte strings as hex.
pub(crate) fn value_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Uint(n) => J::from(*n),
        Value::Nint(n) => J::from(*n),
        Value::Bytes(b) => J::String(hex::encode(b)),
        Value::Text(t) => J::String(t.clone()),
        Value::Bool(b) => J::Bool(*b),
        Value::Array(a) => J::Array(a.iter().map(value_json).collect()),
        Value::Map(m) => J::Object(m.iter().map(|(k, x)| (k.clone(), value_json(x))).collect()),
    }
}
