//! The charter: the network's founding document
//! ([`spec/membership.md` §2](../../../spec/membership.md)).
//!
//! A charter body names the network, its founding members and its two
//! thresholds. Every founder signs the body's hash; the sealed charter is
//! the body with one signature per founder. The network id is the SHA-256
//! of the body alone, so a founder re-signing changes nothing.
//!
//! A draft and a sealed charter have the same encoding,
//! `[bstr body, [[text member_id, bstr sig], ...]]`: a draft may lack
//! signatures, a sealed charter has all of them.

use sha2::{Digest, Sha256};

use setu_core::cbor::{self, Value};
use setu_core::ids::AuthorKey;
use setu_core::keys::SecretKey;

use crate::Error;

/// Most founding members a charter may name.
pub const MAX_FOUNDERS: usize = 256;
/// Longest network name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Longest member id, in bytes (`a`–`z`, `0`–`9`, `-`).
pub const MAX_MEMBER_ID_BYTES: usize = 32;
/// Longest agency or organisation name, in bytes.
pub const MAX_AGENCY_BYTES: usize = 200;
/// Largest encoded charter file, in bytes.
pub const MAX_CHARTER_BYTES: usize = 256 * 1024;
/// Largest `num` or `den` of a threshold.
pub const MAX_THRESHOLD_TERM: u64 = 1_000;
/// Prefix of the message a founder signs: `prefix ‖ SHA-256(body)`.
pub const SIGN_PREFIX: &[u8] = b"setu/v1/charter";
/// Bytes of the network id's short form (hex, so twice as many characters).
pub const SHORT_ID_BYTES: usize = 12;

/// The network id: SHA-256 of the charter body.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetworkId(pub [u8; 32]);

impl NetworkId {
    /// The short form used in protocol names, topics and directory names:
    /// the first [`SHORT_ID_BYTES`] bytes in lowercase hex (24 characters).
    pub fn short(&self) -> String {
        hex::encode(&self.0[..SHORT_ID_BYTES])
    }
    /// All 32 bytes in lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for NetworkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NetworkId({})", self.short())
    }
}

/// A member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Publishes and counts for quorums.
    Member,
    /// Publishes and never counts for quorums.
    Partner,
}

impl Role {
    /// The role's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Partner => "partner",
        }
    }
}

/// Where a member belongs: a country or an organisation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Affiliation {
    /// ISO 3166-1 alpha-3, upper case (`"BGD"`).
    Country(String),
    /// An organisation's name (`"UNDP"`), for members with no country.
    Org(String),
}

/// A member as a charter or an endorsement names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    /// The member id: 1 to 32 bytes of `a`–`z`, `0`–`9`, `-`, starting with
    /// a letter. Never reused, whatever becomes of the member.
    pub id: String,
    /// Country or organisation.
    pub affiliation: Affiliation,
    /// The agency's name, as it should be cited.
    pub agency: String,
    /// Member or partner.
    pub role: Role,
    /// Its first publishing key.
    pub key: AuthorKey,
}

/// How many members a quorum needs: more than `num/den` of the members
/// (partners not counted), and at least `min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Threshold {
    /// Numerator, `0 <= num < den`.
    pub num: u64,
    /// Denominator, `1..=1000`.
    pub den: u64,
    /// Least number of members, at least 1.
    pub min: u64,
}

impl Threshold {
    /// A simple majority with a minimum of 2: the usual choice.
    pub const MAJORITY: Threshold = Threshold {
        num: 1,
        den: 2,
        min: 2,
    };

    /// Members needed when `members` members count:
    /// `max(min, floor(members * num / den) + 1)`.
    pub fn required(&self, members: usize) -> usize {
        let n = members as u128;
        let more_than = n * self.num as u128 / self.den.max(1) as u128 + 1;
        (more_than.max(self.min as u128)).min(usize::MAX as u128) as usize
    }

    /// Whether a quorum can be reached at all with `members` members.
    pub fn reachable(&self, members: usize) -> bool {
        self.required(members) <= members
    }

    pub(crate) fn to_value(self) -> Value {
        Value::map([
            ("num", Value::Uint(self.num)),
            ("den", Value::Uint(self.den)),
            ("min", Value::Uint(self.min)),
        ])
    }

    pub(crate) fn from_value(v: &Value, path: &str) -> Result<Threshold, Error> {
        let m = Fields::new(v, path, &["num", "den", "min"])?;
        let t = Threshold {
            num: m.uint("num")?,
            den: m.uint("den")?,
            min: m.uint("min")?,
        };
        if t.den == 0 || t.den > MAX_THRESHOLD_TERM {
            return Err(Error::new(
                format!("{path}.den"),
                format!("must be 1 to {MAX_THRESHOLD_TERM}"),
            ));
        }
        if t.num >= t.den {
            return Err(Error::new(
                format!("{path}.num"),
                "must be less than den (a quorum of more than all members is never reached)",
            ));
        }
        if t.min == 0 || t.min as usize > MAX_FOUNDERS * 4 {
            return Err(Error::new(
                format!("{path}.min"),
                format!("must be 1 to {}", MAX_FOUNDERS * 4),
            ));
        }
        Ok(t)
    }
}

impl std::str::FromStr for Threshold {
    type Err = Error;
    /// Parses `num/den+min`, e.g. `1/2+2`.
    fn from_str(s: &str) -> Result<Threshold, Error> {
        let bad = || {
            Error::new(
                "threshold",
                format!("{s:?}: expected num/den+min, e.g. 1/2+2"),
            )
        };
        let (frac, min) = s.split_once('+').ok_or_else(bad)?;
        let (num, den) = frac.split_once('/').ok_or_else(bad)?;
        let t = Threshold {
            num: num.trim().parse().map_err(|_| bad())?,
            den: den.trim().parse().map_err(|_| bad())?,
            min: min.trim().parse().map_err(|_| bad())?,
        };
        Threshold::from_value(&t.to_value(), "threshold")
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}+{}", self.num, self.den, self.min)
    }
}

/// The charter's body: what the founders sign and the network id hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charter {
    /// The network's name, for people (1 to 64 bytes).
    pub name: String,
    /// The founding members, sorted by id.
    pub members: Vec<Entry>,
    /// Quorum for admitting a member (`endorse`).
    pub admit: Threshold,
    /// Quorum for `recover`, `revoke` and `amend`.
    pub recover: Threshold,
}

impl Charter {
    /// Checks a charter built in code (the same checks as decoding).
    pub fn check(&self) -> Result<(), Error> {
        Charter::from_value(&self.to_value()).map(|_| ())
    }

    /// The body as a CBOR value (members sorted by id).
    pub fn to_value(&self) -> Value {
        let mut members = self.members.clone();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        Value::map([
            ("v", Value::Uint(1)),
            ("name", Value::text(self.name.clone())),
            (
                "members",
                Value::Array(members.iter().map(Entry::to_value).collect()),
            ),
            ("admit", self.admit.to_value()),
            ("recover", self.recover.to_value()),
        ])
    }

    /// The canonical body bytes.
    pub fn body_bytes(&self) -> Result<Vec<u8>, Error> {
        cbor::encode(&self.to_value()).map_err(|e| Error::new("charter", e.to_string()))
    }

    /// Reads and checks a charter body.
    pub fn from_value(v: &Value) -> Result<Charter, Error> {
        let m = Fields::new(v, "charter", &["v", "name", "members", "admit", "recover"])?;
        if m.uint("v")? != 1 {
            return Err(Error::new("charter.v", "must be 1"));
        }
        let name = m.text("name")?;
        if name.is_empty() || name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control) {
            return Err(Error::new(
                "charter.name",
                format!("must be 1 to {MAX_NAME_BYTES} bytes with no control characters"),
            ));
        }
        let list = match m.get("members")? {
            Value::Array(a) => a,
            other => return Err(Error::wrong_type("charter.members", "array", other)),
        };
        if list.is_empty() || list.len() > MAX_FOUNDERS {
            return Err(Error::new(
                "charter.members",
                format!("must name 1 to {MAX_FOUNDERS} founders"),
            ));
        }
        let mut members = Vec::with_capacity(list.len());
        for (i, e) in list.iter().enumerate() {
            members.push(Entry::from_value(e, &format!("charter.members[{i}]"))?);
        }
        for (i, w) in members.windows(2).enumerate() {
            if w[0].id >= w[1].id {
                return Err(Error::new(
                    format!("charter.members[{}].id", i + 1),
                    "members must be sorted by id with no id twice",
                ));
            }
        }
        let mut keys: Vec<AuthorKey> = members.iter().map(|e| e.key).collect();
        keys.sort();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::new(
                "charter.members",
                "two founders have the same key",
            ));
        }
        let admit = Threshold::from_value(m.get("admit")?, "charter.admit")?;
        let recover = Threshold::from_value(m.get("recover")?, "charter.recover")?;
        let voters = members.iter().filter(|e| e.role == Role::Member).count();
        for (t, path) in [(admit, "charter.admit"), (recover, "charter.recover")] {
            if !t.reachable(voters) {
                return Err(Error::new(
                    path,
                    format!(
                        "needs {} members but the charter has {voters} with role member",
                        t.required(voters)
                    ),
                ));
            }
        }
        Ok(Charter {
            name: name.to_string(),
            members,
            admit,
            recover,
        })
    }

    /// The network id of this body.
    pub fn network_id(&self) -> Result<NetworkId, Error> {
        Ok(network_id_of(&self.body_bytes()?))
    }
}

/// The network id of encoded body bytes.
pub fn network_id_of(body: &[u8]) -> NetworkId {
    NetworkId(Sha256::digest(body).into())
}

/// The message a founder signs: `"setu/v1/charter" ‖ SHA-256(body)`.
pub fn signed_message(body: &[u8]) -> Vec<u8> {
    let mut m = SIGN_PREFIX.to_vec();
    m.extend_from_slice(&Sha256::digest(body));
    m
}

impl Entry {
    pub(crate) fn to_value(&self) -> Value {
        let (k, v) = match &self.affiliation {
            Affiliation::Country(c) => ("country", c.clone()),
            Affiliation::Org(o) => ("org", o.clone()),
        };
        Value::map([
            ("id", Value::text(self.id.clone())),
            (k, Value::text(v)),
            ("agency", Value::text(self.agency.clone())),
            ("role", Value::text(self.role.as_str())),
            ("key", Value::Bytes(self.key.0.to_vec())),
        ])
    }

    pub(crate) fn from_value(v: &Value, path: &str) -> Result<Entry, Error> {
        let has_country = v.get("country").is_some();
        let aff_key = if has_country { "country" } else { "org" };
        let m = Fields::new(v, path, &["id", aff_key, "agency", "role", "key"])?;
        let id = member_id(m.text("id")?, &format!("{path}.id"))?;
        let aff = m.text(aff_key)?;
        let affiliation = if has_country {
            if aff.len() != 3 || !aff.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Error::new(
                    format!("{path}.country"),
                    format!("{aff:?} is not an ISO 3166-1 alpha-3 code (three capital letters)"),
                ));
            }
            Affiliation::Country(aff.to_string())
        } else {
            Affiliation::Org(plain_text(aff, &format!("{path}.org"))?)
        };
        let agency = plain_text(m.text("agency")?, &format!("{path}.agency"))?;
        let role = match m.text("role")? {
            "member" => Role::Member,
            "partner" => Role::Partner,
            other => {
                return Err(Error::new(
                    format!("{path}.role"),
                    format!("{other:?} is neither \"member\" nor \"partner\""),
                ));
            }
        };
        let key = m.key("key")?;
        Ok(Entry {
            id,
            affiliation,
            agency,
            role,
            key,
        })
    }
}

/// Checks a member id.
pub fn member_id(s: &str, path: &str) -> Result<String, Error> {
    let ok = !s.is_empty()
        && s.len() <= MAX_MEMBER_ID_BYTES
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(Error::new(
            path,
            format!(
                "{s:?}: a member id is 1 to {MAX_MEMBER_ID_BYTES} bytes of a-z, 0-9 and -, starting with a letter"
            ),
        ))
    }
}

fn plain_text(s: &str, path: &str) -> Result<String, Error> {
    if s.trim().is_empty() || s.len() > MAX_AGENCY_BYTES || s.chars().any(char::is_control) {
        return Err(Error::new(
            path,
            format!("must be 1 to {MAX_AGENCY_BYTES} bytes, not blank, with no control characters"),
        ));
    }
    Ok(s.to_string())
}

/// A charter with some or all of its founders' signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The canonical body bytes.
    pub body: Vec<u8>,
    /// The decoded body.
    pub charter: Charter,
    /// `(member id, signature)`, sorted by member id, each checked.
    pub sigs: Vec<(String, [u8; 64])>,
}

impl Draft {
    /// A draft with no signatures yet.
    pub fn new(charter: Charter) -> Result<Draft, Error> {
        charter.check()?;
        let body = charter.body_bytes()?;
        let charter = Charter::from_value(
            &cbor::decode(&body).map_err(|e| Error::new("charter", e.to_string()))?,
        )?;
        Ok(Draft {
            body,
            charter,
            sigs: Vec::new(),
        })
    }

    /// The network id the sealed charter will have.
    pub fn network_id(&self) -> NetworkId {
        network_id_of(&self.body)
    }

    /// Adds the signature of the founder whose key this is.
    pub fn sign(&mut self, key: &SecretKey) -> Result<&str, Error> {
        let author = key.author();
        let Some(e) = self.charter.members.iter().find(|e| e.key == author) else {
            return Err(Error::new(
                "key",
                format!("{author} is the key of no founding member of this charter"),
            ));
        };
        let id = e.id.clone();
        let sig = key.sign_message(&signed_message(&self.body));
        self.sigs.retain(|(m, _)| *m != id);
        self.sigs.push((id.clone(), sig));
        self.sigs.sort_by(|a, b| a.0.cmp(&b.0));
        let pos = self.sigs.iter().position(|(m, _)| *m == id).unwrap_or(0);
        Ok(&self.sigs[pos].0)
    }

    /// The founders who have not signed yet.
    pub fn missing(&self) -> Vec<&str> {
        self.charter
            .members
            .iter()
            .filter(|e| !self.sigs.iter().any(|(m, _)| *m == e.id))
            .map(|e| e.id.as_str())
            .collect()
    }

    /// Seals the draft: every founder must have signed.
    pub fn seal(self) -> Result<Sealed, Error> {
        let missing = self.missing();
        if !missing.is_empty() {
            return Err(Error::new(
                "signatures",
                format!("not signed yet by {}", missing.join(", ")),
            ));
        }
        Ok(Sealed { draft: self })
    }

    /// The file form: `[bstr body, [[text id, bstr sig], ...]]`.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let sigs = self
            .sigs
            .iter()
            .map(|(m, s)| Value::Array(vec![Value::text(m.clone()), Value::Bytes(s.to_vec())]))
            .collect();
        cbor::encode(&Value::Array(vec![
            Value::Bytes(self.body.clone()),
            Value::Array(sigs),
        ]))
        .map_err(|e| Error::new("charter", e.to_string()))
    }

    /// Reads a draft or sealed charter file, checking every signature it has.
    pub fn decode(bytes: &[u8]) -> Result<Draft, Error> {
        if bytes.len() > MAX_CHARTER_BYTES {
            return Err(Error::new(
                "charter",
                format!("is {} bytes; the limit is {MAX_CHARTER_BYTES}", bytes.len()),
            ));
        }
        let outer = cbor::decode(bytes).map_err(|e| Error::new("charter", e.to_string()))?;
        let (body, sigs) = match &outer {
            Value::Array(a) if a.len() == 2 => match (&a[0], &a[1]) {
                (Value::Bytes(b), Value::Array(s)) => (b.clone(), s),
                _ => {
                    return Err(Error::new(
                        "charter",
                        "must be [bstr body, [[text member_id, bstr sig], ...]]",
                    ));
                }
            },
            _ => {
                return Err(Error::new(
                    "charter",
                    "must be [bstr body, [[text member_id, bstr sig], ...]]",
                ));
            }
        };
        let value = cbor::decode(&body).map_err(|e| Error::new("charter.body", e.to_string()))?;
        let charter = Charter::from_value(&value)?;
        let msg = signed_message(&body);
        let mut out = Vec::with_capacity(sigs.len());
        for (i, s) in sigs.iter().enumerate() {
            let path = format!("signatures[{i}]");
            let (id, sig) = match s {
                Value::Array(p) if p.len() == 2 => match (&p[0], &p[1]) {
                    (Value::Text(id), Value::Bytes(sig)) if sig.len() == 64 => {
                        let mut b = [0u8; 64];
                        b.copy_from_slice(sig);
                        (id.clone(), b)
                    }
                    _ => return Err(Error::new(path, "must be [text member_id, bstr(64) sig]")),
                },
                _ => return Err(Error::new(path, "must be [text member_id, bstr(64) sig]")),
            };
            if let Some((prev, _)) = out.last()
                && *prev >= id
            {
                return Err(Error::new(
                    path,
                    "signatures must be sorted by member id, one per founder",
                ));
            }
            let Some(e) = charter.members.iter().find(|e| e.id == id) else {
                return Err(Error::new(path, format!("{id:?} is not a founding member")));
            };
            setu_core::verify::verify_one(&e.key.0, &msg, &sig).map_err(|err| {
                Error::new(
                    path.clone(),
                    format!("signature of {id:?} does not verify: {err}"),
                )
            })?;
            out.push((id, sig));
        }
        Ok(Draft {
            body,
            charter,
            sigs: out,
        })
    }
}

/// A charter every founder signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    draft: Draft,
}

impl Sealed {
    /// Reads a sealed charter file: every founder's signature must be there
    /// and verify.
    pub fn decode(bytes: &[u8]) -> Result<Sealed, Error> {
        Draft::decode(bytes)?.seal()
    }
    /// The file form.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        self.draft.encode()
    }
    /// The body.
    pub fn charter(&self) -> &Charter {
        &self.draft.charter
    }
    /// The network id.
    pub fn network_id(&self) -> NetworkId {
        self.draft.network_id()
    }
}

/// A map's fields, checked against the keys it may hold.
pub(crate) struct Fields<'a> {
    entries: &'a [(String, Value)],
    path: &'a str,
}

impl<'a> Fields<'a> {
    /// A map with exactly `keys` (any optional ones are checked with
    /// [`Fields::new_opt`]).
    pub(crate) fn new(v: &'a Value, path: &'a str, keys: &[&str]) -> Result<Fields<'a>, Error> {
        Fields::new_opt(v, path, keys, &[])
    }

    /// A map that must have `required` keys and may have `optional` ones,
    /// and nothing else.
    pub(crate) fn new_opt(
        v: &'a Value,
        path: &'a str,
        required: &[&str],
        optional: &[&str],
    ) -> Result<Fields<'a>, Error> {
        let Value::Map(entries) = v else {
            return Err(Error::wrong_type(path, "map", v));
        };
        for (k, _) in entries {
            if !required.contains(&k.as_str()) && !optional.contains(&k.as_str()) {
                return Err(Error::new(format!("{path}.{k}"), "unknown field"));
            }
        }
        for k in required {
            if !entries.iter().any(|(e, _)| e == k) {
                return Err(Error::new(format!("{path}.{k}"), "missing"));
            }
        }
        Ok(Fields { entries, path })
    }

    pub(crate) fn opt(&self, key: &str) -> Option<&'a Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn get(&self, key: &str) -> Result<&'a Value, Error> {
        self.opt(key)
            .ok_or_else(|| Error::new(format!("{}.{key}", self.path), "missing"))
    }

    pub(crate) fn text(&self, key: &str) -> Result<&'a str, Error> {
        match self.get(key)? {
            Value::Text(t) => Ok(t),
            other => Err(Error::wrong_type(
                format!("{}.{key}", self.path),
                "text",
                other,
            )),
        }
    }

    pub(crate) fn uint(&self, key: &str) -> Result<u64, Error> {
        match self.get(key)? {
            Value::Uint(n) => Ok(*n),
            other => Err(Error::wrong_type(
                format!("{}.{key}", self.path),
                "unsigned integer",
                other,
            )),
        }
    }

    pub(crate) fn bytes32(&self, key: &str) -> Result<[u8; 32], Error> {
        match self.get(key)? {
            Value::Bytes(b) if b.len() == 32 => {
                let mut out = [0u8; 32];
                out.copy_from_slice(b);
                Ok(out)
            }
            Value::Bytes(b) => Err(Error::new(
                format!("{}.{key}", self.path),
                format!("must be 32 bytes, is {}", b.len()),
            )),
            other => Err(Error::wrong_type(
                format!("{}.{key}", self.path),
                "byte string",
                other,
            )),
        }
    }

    pub(crate) fn key(&self, key: &str) -> Result<AuthorKey, Error> {
        let k = AuthorKey(self.bytes32(key)?);
        // A key must be a point a signature could verify against.
        setu_core::verify::check_key(&k.0)
            .map_err(|e| Error::new(format!("{}.{key}", self.path), e.to_string()))?;
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn key(name: &str) -> SecretKey {
        let seed: [u8; 32] = Sha256::digest(name.as_bytes()).into();
        SecretKey::from_seed(&seed)
    }

    fn entry(id: &str, role: Role) -> Entry {
        Entry {
            id: id.into(),
            affiliation: Affiliation::Country("BGD".into()),
            agency: format!("Agency {id}"),
            role,
            key: key(id).author(),
        }
    }

    fn charter() -> Charter {
        Charter {
            name: "South-South test".into(),
            members: vec![
                entry("a", Role::Member),
                entry("b", Role::Member),
                entry("c", Role::Partner),
            ],
            admit: Threshold::MAJORITY,
            recover: Threshold::MAJORITY,
        }
    }

    #[test]
    fn thresholds_are_more_than_the_fraction_and_at_least_min() {
        let t = Threshold::MAJORITY;
        let got: Vec<usize> = (0..=6).map(|n| t.required(n)).collect();
        assert_eq!(got, [2, 2, 2, 2, 3, 3, 4]);
        let two_thirds: Threshold = "2/3+1".parse().unwrap();
        assert_eq!(two_thirds.required(6), 5);
        assert_eq!(two_thirds.required(3), 3);
        assert!("1/1+1".parse::<Threshold>().is_err());
        assert!("1/2".parse::<Threshold>().is_err());
    }

    #[test]
    fn a_draft_is_sealed_once_every_founder_signed_and_the_id_ignores_signatures() {
        let mut d = Draft::new(charter()).unwrap();
        let id = d.network_id();
        d.sign(&key("a")).unwrap();
        d.sign(&key("b")).unwrap();
        assert_eq!(d.missing(), ["c"]);
        let again = Draft::decode(&d.encode().unwrap()).unwrap();
        assert_eq!(again, d);
        assert!(again.clone().seal().is_err());
        d.sign(&key("c")).unwrap();
        let sealed = Sealed::decode(&d.clone().seal().unwrap().encode().unwrap()).unwrap();
        assert_eq!(sealed.network_id(), id);
        assert_eq!(id.short().len(), 24);
        assert!(d.sign(&key("stranger")).is_err());
    }

    #[test]
    fn a_forged_or_misplaced_signature_is_refused_with_its_path() {
        let mut d = Draft::new(charter()).unwrap();
        d.sign(&key("a")).unwrap();
        d.sigs[0].1[0] ^= 1;
        let e = Draft::decode(&d.encode().unwrap()).unwrap_err();
        assert_eq!(e.path, "signatures[0]");
        let mut d = Draft::new(charter()).unwrap();
        d.sign(&key("a")).unwrap();
        d.sigs[0].0 = "b".into();
        assert!(Draft::decode(&d.encode().unwrap()).is_err());
    }

    #[test]
    fn a_bad_charter_names_the_field() {
        let mut c = charter();
        c.members[0].id = "Bad Id".into();
        assert_eq!(c.check().unwrap_err().path, "charter.members[0].id");
        let mut c = charter();
        c.members[1].key = c.members[0].key;
        assert_eq!(c.check().unwrap_err().path, "charter.members");
        let mut c = charter();
        c.admit = "1/2+3".parse().unwrap();
        assert_eq!(c.check().unwrap_err().path, "charter.admit");
        let mut c = charter();
        c.members[0].affiliation = Affiliation::Country("bd".into());
        assert_eq!(c.check().unwrap_err().path, "charter.members[0].country");
    }
}
