//! Signed records: the envelope, signing, and the ordered check of
//! [`spec/record.md` §7](../../../spec/record.md).
//!
//! ```text
//! signed record = [ bstr envelope_bytes, bstr sig ]           (canonical CBOR)
//! envelope      = { "v": 1, "kind": text, "author": bstr(32),
//!                   "seq": uint, "ts": uint, "body": map }     (canonical CBOR)
//! id            = SHA-256(envelope_bytes)
//! sig           = Ed25519(secret, "setu/v1/record" ‖ id)
//! ```
//!
//! The bytes of a signed record are stored, sent and verified exactly as
//! they are; nothing is re-serialised in order to verify it.

use std::fmt;

use serde::Serialize;

use crate::adoption::{self, Adoption};
use crate::attachment::{self, Attachment};
use crate::cbor::{self, DecodeErrorKind, Value};
use crate::ids::{AuthorKey, RecordId};
use crate::keys::{SecretKey, signed_message};
use crate::practice::{self, Practice};
use crate::seeking::{self, Seeking};
use crate::verify::{self, VerifyError};

/// The largest signed record, in bytes.
pub const MAX_RECORD_BYTES: usize = 262_144;
/// The envelope version this crate writes and reads.
pub const ENVELOPE_VERSION: u64 = 1;
/// The longest kind name, in bytes.
pub const MAX_KIND_BYTES: usize = 32;
/// Length of a signature.
pub const SIGNATURE_BYTES: usize = 64;

/// The envelope's keys, in canonical order.
pub const ENVELOPE_KEYS: [&str; 6] = ["v", "ts", "seq", "body", "kind", "author"];

/// The stable reason codes of `spec/record.md` §7, in check order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Reason {
    /// Larger than [`MAX_RECORD_BYTES`].
    Size,
    /// Not well-formed CBOR, or outside the profile.
    Cbor,
    /// Not in canonical form.
    Noncanonical,
    /// The signed-record array or the envelope map is not as specified.
    Envelope,
    /// The author key is not a canonical, non-small-order point.
    Key,
    /// The signature does not verify under the strict rule.
    Signature,
    /// The body of a known kind is not valid.
    Schema,
}

impl Reason {
    /// The stable code, as written in the spec and the vectors.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Size => "size",
            Reason::Cbor => "cbor",
            Reason::Noncanonical => "noncanonical",
            Reason::Envelope => "envelope",
            Reason::Key => "key",
            Reason::Signature => "signature",
            Reason::Schema => "schema",
        }
    }

    /// The reason with this code.
    pub fn from_code(code: &str) -> Option<Reason> {
        [
            Reason::Size,
            Reason::Cbor,
            Reason::Noncanonical,
            Reason::Envelope,
            Reason::Key,
            Reason::Signature,
            Reason::Schema,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

pub use practice::Problem;

/// Why a record was refused: the first failing check, and every problem
/// that check found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub struct RecordError {
    /// The reason code.
    pub reason: Reason,
    /// What is wrong, each with the path at fault.
    pub problems: Vec<Problem>,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] ", self.reason)?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl RecordError {
    /// An error with one problem.
    pub fn one(reason: Reason, path: impl Into<String>, message: impl Into<String>) -> RecordError {
        RecordError {
            reason,
            problems: vec![Problem {
                path: path.into(),
                message: message.into(),
            }],
        }
    }

    fn decode(path: &str, e: cbor::DecodeError) -> RecordError {
        let reason = match e.kind {
            DecodeErrorKind::Malformed => Reason::Cbor,
            _ => Reason::Noncanonical,
        };
        RecordError::one(reason, path, e.to_string())
    }
}

/// The envelope of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The kind of body, such as `"practice"`.
    pub kind: String,
    /// The publisher's public key.
    pub author: AuthorKey,
    /// The author's counter, from 1, strictly increasing.
    pub seq: u64,
    /// Milliseconds since the Unix epoch, as the author claims.
    pub ts: u64,
    /// The body, a map.
    pub body: Value,
}

fn valid_kind(kind: &str) -> bool {
    let b = kind.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_KIND_BYTES
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

impl Envelope {
    /// The envelope as a CBOR map.
    pub fn to_value(&self) -> Value {
        Value::map([
            ("v", Value::Uint(ENVELOPE_VERSION)),
            ("kind", Value::text(&self.kind)),
            ("author", Value::Bytes(self.author.0.to_vec())),
            ("seq", Value::Uint(self.seq)),
            ("ts", Value::Uint(self.ts)),
            ("body", self.body.clone()),
        ])
    }

    /// Reads an envelope map, reporting every problem (reason `envelope`).
    pub fn from_value(v: Value) -> Result<Envelope, RecordError> {
        let mut problems = Vec::new();
        let mut bad = |path: &str, message: String| {
            problems.push(Problem {
                path: path.to_string(),
                message,
            })
        };
        let entries = match v {
            Value::Map(entries) => entries,
            other => {
                return Err(RecordError::one(
                    Reason::Envelope,
                    "envelope",
                    format!("is a {}, not a map", other.type_name()),
                ));
            }
        };
        let mut fields: [Option<Value>; 6] = Default::default();
        for (k, val) in entries {
            match ENVELOPE_KEYS.iter().position(|e| *e == k) {
                Some(i) => fields[i] = Some(val),
                None => bad(&format!("envelope.{k}"), "is not an envelope key".into()),
            }
        }
        // ENVELOPE_KEYS is ["v", "ts", "seq", "body", "kind", "author"].
        let [
            v_field,
            ts_field,
            seq_field,
            body_field,
            kind_field,
            author_field,
        ] = fields;
        let get = |k: &str| -> Option<&Value> {
            match k {
                "v" => v_field.as_ref(),
                "ts" => ts_field.as_ref(),
                "seq" => seq_field.as_ref(),
                "kind" => kind_field.as_ref(),
                "author" => author_field.as_ref(),
                _ => None,
            }
        };
        match get("v") {
            Some(Value::Uint(ENVELOPE_VERSION)) => {}
            Some(other) => bad(
                "v",
                format!(
                    "must be the unsigned integer 1, got {}",
                    json_preview(other)
                ),
            ),
            None => bad("v", "is missing".into()),
        }
        let kind = match get("kind") {
            Some(Value::Text(k)) if valid_kind(k) => k.clone(),
            Some(Value::Text(k)) => {
                bad(
                    "kind",
                    format!(
                        "{k:?} is not a kind name (1 to {MAX_KIND_BYTES} of a-z 0-9 _ -, starting with a letter)"
                    ),
                );
                String::new()
            }
            Some(other) => {
                bad("kind", format!("must be text, got a {}", other.type_name()));
                String::new()
            }
            None => {
                bad("kind", "is missing".into());
                String::new()
            }
        };
        let author = match get("author") {
            Some(Value::Bytes(b)) if b.len() == 32 => {
                let mut a = [0u8; 32];
                a.copy_from_slice(b);
                AuthorKey(a)
            }
            Some(Value::Bytes(b)) => {
                bad("author", format!("must be 32 bytes, got {}", b.len()));
                AuthorKey([0; 32])
            }
            Some(other) => {
                bad(
                    "author",
                    format!("must be a byte string, got a {}", other.type_name()),
                );
                AuthorKey([0; 32])
            }
            None => {
                bad("author", "is missing".into());
                AuthorKey([0; 32])
            }
        };
        let seq = match get("seq") {
            Some(Value::Uint(n)) if *n >= 1 => *n,
            Some(Value::Uint(_)) => {
                bad("seq", "must be at least 1".into());
                0
            }
            Some(other) => {
                bad(
                    "seq",
                    format!("must be an unsigned integer, got a {}", other.type_name()),
                );
                0
            }
            None => {
                bad("seq", "is missing".into());
                0
            }
        };
        let ts = match get("ts") {
            Some(Value::Uint(n)) => *n,
            Some(other) => {
                bad(
                    "ts",
                    format!("must be an unsigned integer, got a {}", other.type_name()),
                );
                0
            }
            None => {
                bad("ts", "is missing".into());
                0
            }
        };
        let body = match body_field {
            Some(b @ Value::Map(_)) => b,
            Some(other) => {
                bad(
                    "body",
                    format!("must be a map, got a {}", other.type_name()),
                );
                Value::Map(Vec::new())
            }
            None => {
                bad("body", "is missing".into());
                Value::Map(Vec::new())
            }
        };
        if problems.is_empty() {
            Ok(Envelope {
                kind,
                author,
                seq,
                ts,
                body,
            })
        } else {
            Err(RecordError {
                reason: Reason::Envelope,
                problems,
            })
        }
    }
}

fn json_preview(v: &Value) -> String {
    crate::json::to_json(v)
        .to_string()
        .chars()
        .take(40)
        .collect()
}

/// A record that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    bytes: Vec<u8>,
    id: RecordId,
    envelope_bytes: std::ops::Range<usize>,
    envelope: Envelope,
    signature: [u8; SIGNATURE_BYTES],
    body: Body,
}

/// The body of a checked record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// A `practice` body, validated.
    Practice(Box<Practice>),
    /// An `adoption` body, validated.
    Adoption(Box<Adoption>),
    /// A `seeking` body, validated.
    Seeking(Box<Seeking>),
    /// An `attachment` body, validated.
    Attachment(Box<Attachment>),
    /// A kind this version does not know: only the envelope and signature
    /// were checked; the body is kept and relayed as it is.
    Unknown,
}

/// What every kind with a revision chain shares (`spec/store.md` §3): the
/// id its publisher chose, the revision, the link, and whether it withdraws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle<'a> {
    /// The record's kind.
    pub kind: &'static str,
    /// `practice_id`, `adoption_id`, `seeking_id` or `attachment_id`.
    pub id: &'a str,
    /// `body.revision`.
    pub revision: u64,
    /// `body.supersedes`.
    pub supersedes: Option<RecordId>,
    /// True for a withdrawal.
    pub withdrawal: bool,
}

impl Body {
    /// The chain facts of a known kind; `None` for an unknown kind.
    pub fn lifecycle(&self) -> Option<Lifecycle<'_>> {
        Some(match self {
            Body::Practice(p) => Lifecycle {
                kind: practice::KIND,
                id: &p.practice_id,
                revision: p.revision,
                supersedes: p.supersedes,
                withdrawal: p.is_withdrawal(),
            },
            Body::Adoption(a) => Lifecycle {
                kind: adoption::KIND,
                id: &a.adoption_id,
                revision: a.revision,
                supersedes: a.supersedes,
                withdrawal: a.is_withdrawal(),
            },
            Body::Seeking(s) => Lifecycle {
                kind: seeking::KIND,
                id: &s.seeking_id,
                revision: s.revision,
                supersedes: s.supersedes,
                withdrawal: s.is_withdrawal(),
            },
            Body::Attachment(a) => Lifecycle {
                kind: attachment::KIND,
                id: &a.attachment_id,
                revision: a.revision,
                supersedes: a.supersedes,
                withdrawal: a.is_withdrawal(),
            },
            Body::Unknown => return None,
        })
    }
}

/// Which kinds' bodies a rule set checks at step 8 of `spec/record.md` §7.
/// A node of an older version knows fewer kinds and holds the others as
/// opaque records (§3): this is how tests run an older node's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KnownKinds {
    /// Every kind of this version: `practice`, `adoption`, `seeking`,
    /// `attachment`.
    #[default]
    All,
    /// `practice`, `adoption` and `seeking`, as nodes before the
    /// `attachment` kind.
    BeforeAttachment,
    /// Only `practice`, as nodes before the adoption kinds.
    PracticeOnly,
}

impl KnownKinds {
    /// True if this rule set checks bodies of `kind`.
    pub fn knows(self, kind: &str) -> bool {
        match self {
            KnownKinds::All => [
                practice::KIND,
                adoption::KIND,
                seeking::KIND,
                attachment::KIND,
            ]
            .contains(&kind),
            KnownKinds::BeforeAttachment => {
                [practice::KIND, adoption::KIND, seeking::KIND].contains(&kind)
            }
            KnownKinds::PracticeOnly => kind == practice::KIND,
        }
    }
}

impl Record {
    /// The signed record's bytes, exactly as received or signed.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Consumes the record, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
    /// The record id.
    pub fn id(&self) -> RecordId {
        self.id
    }
    /// The canonical envelope bytes.
    pub fn envelope_bytes(&self) -> &[u8] {
        &self.bytes[self.envelope_bytes.clone()]
    }
    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    /// The 64-byte signature.
    pub fn signature(&self) -> &[u8; SIGNATURE_BYTES] {
        &self.signature
    }
    /// The checked body.
    pub fn body(&self) -> &Body {
        &self.body
    }
    /// The practice, for a record of kind `practice`.
    pub fn practice(&self) -> Option<&Practice> {
        match &self.body {
            Body::Practice(p) => Some(p),
            _ => None,
        }
    }
    /// The adoption report, for a record of kind `adoption`.
    pub fn adoption(&self) -> Option<&Adoption> {
        match &self.body {
            Body::Adoption(a) => Some(a),
            _ => None,
        }
    }
    /// The need, for a record of kind `seeking`.
    pub fn seeking(&self) -> Option<&Seeking> {
        match &self.body {
            Body::Seeking(n) => Some(n),
            _ => None,
        }
    }
    /// The file reference, for a record of kind `attachment`.
    pub fn attachment(&self) -> Option<&Attachment> {
        match &self.body {
            Body::Attachment(a) => Some(a),
            _ => None,
        }
    }
    /// The chain facts of a record of a known kind.
    pub fn lifecycle(&self) -> Option<Lifecycle<'_>> {
        self.body.lifecycle()
    }
    /// The same record as a node with `known` rules holds it: a body of a
    /// kind it does not know is opaque.
    pub fn as_known_by(mut self, known: KnownKinds) -> Record {
        if !known.knows(&self.envelope.kind) {
            self.body = Body::Unknown;
        }
        self
    }
    /// The envelope in its JSON form (bytes as lowercase hex).
    pub fn envelope_json(&self) -> serde_json::Value {
        crate::json::to_json(&self.envelope.to_value())
    }
}

/// A record that passed the structural checks (size, CBOR, envelope) but
/// whose key, signature and body are not yet checked: finish the check
/// with [`check_parsed`], so a record is decoded once on its way in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    bytes: Vec<u8>,
    id: RecordId,
    envelope_bytes: std::ops::Range<usize>,
    envelope: Envelope,
    signature: [u8; SIGNATURE_BYTES],
}

impl Parsed {
    /// The record id.
    pub fn id(&self) -> RecordId {
        self.id
    }
    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    /// The signed record's bytes, exactly as received.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }
    /// True for no bytes (never, for a record that parsed).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    fn message(&self) -> [u8; 46] {
        signed_message(&self.id)
    }
    fn finish(self, sig: Result<(), VerifyError>) -> Result<Record, RecordError> {
        self.finish_with(sig, KnownKinds::All)
    }
    fn finish_with(
        self,
        sig: Result<(), VerifyError>,
        known: KnownKinds,
    ) -> Result<Record, RecordError> {
        if let Err(e) = sig {
            let (reason, path) = if e.is_key_fault() {
                (Reason::Key, "author")
            } else {
                (Reason::Signature, "sig")
            };
            return Err(RecordError::one(reason, path, e.to_string()));
        }
        let body = body_of(&self.envelope, known)?;
        Ok(Record {
            bytes: self.bytes,
            id: self.id,
            envelope_bytes: self.envelope_bytes,
            envelope: self.envelope,
            signature: self.signature,
            body,
        })
    }
}

/// Steps 1 to 5 of the check: size, CBOR of the signed record, its shape,
/// CBOR of the envelope, the envelope's fields.
pub fn parse(bytes: Vec<u8>) -> Result<Parsed, RecordError> {
    parse_with(bytes, None)
}

/// [`parse`]; or, given `known_id`, a read of bytes the store already
/// checked ([`read_stored`]): the id is taken, not hashed again, and the
/// CBOR is decoded without the costly canonical checks
/// ([`cbor::decode_trusted`]).
fn parse_with(bytes: Vec<u8>, known_id: Option<RecordId>) -> Result<Parsed, RecordError> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(RecordError::one(
            Reason::Size,
            "record",
            format!("is {} bytes; the limit is {MAX_RECORD_BYTES}", bytes.len()),
        ));
    }
    // Bytes read back from the store (an id given) were decoded in full
    // before they were stored.
    let decode = match known_id {
        Some(_) => cbor::decode_trusted,
        None => cbor::decode,
    };
    let outer = decode(&bytes).map_err(|e| RecordError::decode("record", e))?;
    let (env_len, signature) = match &outer {
        Value::Array(items) if items.len() == 2 => match (&items[0], &items[1]) {
            (Value::Bytes(env), Value::Bytes(sig)) if sig.len() == SIGNATURE_BYTES => {
                let mut s = [0u8; SIGNATURE_BYTES];
                s.copy_from_slice(sig);
                (env.len(), s)
            }
            (Value::Bytes(_), Value::Bytes(sig)) => {
                return Err(RecordError::one(
                    Reason::Envelope,
                    "sig",
                    format!("must be 64 bytes, got {}", sig.len()),
                ));
            }
            _ => {
                return Err(RecordError::one(
                    Reason::Envelope,
                    "record",
                    "must be [bstr envelope, bstr sig]",
                ));
            }
        },
        other => {
            return Err(RecordError::one(
                Reason::Envelope,
                "record",
                format!(
                    "must be a 2-element array [bstr envelope, bstr sig], got a {}",
                    other.type_name()
                ),
            ));
        }
    };
    // The envelope bytes sit right after the array head (1 byte) and the
    // byte-string head, whose length is known from the canonical encoding.
    let env_head = head_len(env_len as u64);
    let envelope_bytes = 1 + env_head..1 + env_head + env_len;
    let inner =
        decode(&bytes[envelope_bytes.clone()]).map_err(|e| RecordError::decode("envelope", e))?;
    let envelope = Envelope::from_value(inner)?;
    let id = known_id.unwrap_or_else(|| RecordId::of_envelope(&bytes[envelope_bytes.clone()]));
    Ok(Parsed {
        bytes,
        id,
        envelope_bytes,
        envelope,
        signature,
    })
}

fn head_len(n: u64) -> usize {
    match n {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Step 8: the body of a known kind must be valid.
fn body_of(envelope: &Envelope, known: KnownKinds) -> Result<Body, RecordError> {
    if !known.knows(&envelope.kind) {
        return Ok(Body::Unknown);
    }
    let schema = |problems| RecordError {
        reason: Reason::Schema,
        problems,
    };
    match envelope.kind.as_str() {
        practice::KIND => practice_problems(&envelope.body)
            .map(|p| Body::Practice(Box::new(p)))
            .map_err(schema),
        adoption::KIND => typed_body(&envelope.body, adoption::validate)
            .map(|a| Body::Adoption(Box::new(a)))
            .map_err(schema),
        seeking::KIND => typed_body(&envelope.body, seeking::validate)
            .map(|n| Body::Seeking(Box::new(n)))
            .map_err(schema),
        attachment::KIND => typed_body(&envelope.body, attachment::validate)
            .map(|a| Body::Attachment(Box::new(a)))
            .map_err(schema),
        _ => Ok(Body::Unknown),
    }
}

/// Reads a body of a kind other than `practice` into its type, then
/// validates it: every problem, each with its path (`spec/record.md` §6.1
/// holds for every known kind: unknown keys and empty values are errors).
fn typed_body<T: serde::de::DeserializeOwned>(
    body: &Value,
    validate: fn(&T) -> Vec<Problem>,
) -> Result<T, Vec<Problem>> {
    let mut problems = Vec::new();
    find_empties(body, &mut Vec::new(), &mut problems);
    match cbor::from_value::<T>(body) {
        Ok(t) => {
            problems.extend(validate(&t));
            if problems.is_empty() {
                Ok(t)
            } else {
                Err(problems)
            }
        }
        Err(e) => {
            problems.push(body_problem(e));
            Err(problems)
        }
    }
}

/// Reads and validates a practice body from its CBOR value.
///
/// The typed body holds exactly what the bytes hold: unknown keys are
/// refused, empty values are refused, and every field's type is exact, so
/// encoding the typed body again gives the same bytes (a property test
/// checks this; it is not repeated here, on the hot path).
fn practice_problems(body: &Value) -> Result<Practice, Vec<Problem>> {
    let mut problems = Vec::new();
    find_empties(body, &mut Vec::new(), &mut problems);
    // Fast path without path tracking; on error, again with it for the path.
    let practice: Practice = match cbor::from_value_fast(body) {
        Some(p) => p,
        None => {
            let e = match cbor::from_value::<Practice>(body) {
                Err(e) => e,
                Ok(p) => {
                    problems.extend(practice::validate(&p));
                    return if problems.is_empty() {
                        Ok(p)
                    } else {
                        Err(problems)
                    };
                }
            };
            problems.push(body_problem(e));
            return Err(problems);
        }
    };
    problems.extend(practice::validate(&practice));
    if problems.is_empty() {
        Ok(practice)
    } else {
        Err(problems)
    }
}

/// One step of a path into a body: a map key or a list index.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn render_path(steps: &[Step<'_>]) -> String {
    let mut p = String::from("body");
    for s in steps {
        match s {
            Step::Key(k) => {
                p.push('.');
                p.push_str(k);
            }
            Step::Index(i) => p.push_str(&format!("[{i}]")),
        }
    }
    p
}

/// Empty strings, lists and maps are never allowed in a practice body: an
/// absent optional field is left out. The path is only rendered for a
/// problem.
fn find_empties<'a>(v: &'a Value, path: &mut Vec<Step<'a>>, out: &mut Vec<Problem>) {
    let empty = match v {
        Value::Text(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Map(m) => m.is_empty(),
        _ => false,
    };
    if empty {
        out.push(Problem {
            path: render_path(path),
            message: format!("is an empty {}; leave the key out instead", v.type_name()),
        });
    }
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                find_empties(item, path, out);
                path.pop();
            }
        }
        Value::Map(entries) => {
            for (k, item) in entries {
                path.push(Step::Key(k));
                find_empties(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Runs every check except the signature's (steps 6 and 7), for bytes this
/// node verified before, such as records read back from its own store.
/// Never use it on bytes from a peer, a file or a user.
pub fn check_trusted(bytes: Vec<u8>) -> Result<Record, RecordError> {
    parse(bytes)?.finish(Ok(()))
}

/// A body that does not fit its type, as a problem at its path in the body.
fn body_problem(e: cbor::SerdeError) -> Problem {
    Problem {
        path: if e.path.is_empty() {
            "body".to_string()
        } else {
            format!("body.{}", e.path)
        },
        message: e.message,
    }
}

/// Reads a record back from the store that holds it under `id`.
///
/// The store ran every check of [`check`] on these bytes before it stored
/// them, so this repeats none of the costly ones: the signature is not
/// verified, the id is not hashed again (`id` is the store's key) and the
/// body is decoded into its type but not validated. Bytes that no longer
/// decode (a damaged store) are still refused. For exports and other reads
/// of many records; anything taken from outside the store goes through
/// [`check`].
pub fn read_stored(bytes: Vec<u8>, id: RecordId) -> Result<Record, RecordError> {
    let parsed = parse_stored(bytes, id)?;
    let body = body_decoded(&parsed.envelope)?;
    Ok(Record {
        bytes: parsed.bytes,
        id: parsed.id,
        envelope_bytes: parsed.envelope_bytes,
        envelope: parsed.envelope,
        signature: parsed.signature,
        body,
    })
}

/// [`read_stored`] without the body's typed decode: the envelope (its body
/// as a CBOR value), the id and the bytes, for a reader that needs no more
/// (the JSONL export).
pub fn parse_stored(bytes: Vec<u8>, id: RecordId) -> Result<Parsed, RecordError> {
    parse_with(bytes, Some(id))
}

/// The typed body of a stored record, decoded without validation (see
/// [`read_stored`]).
fn body_decoded(envelope: &Envelope) -> Result<Body, RecordError> {
    fn typed<T: serde::de::DeserializeOwned>(body: &Value) -> Result<T, RecordError> {
        if let Some(t) = cbor::from_value_fast(body) {
            return Ok(t);
        }
        cbor::from_value::<T>(body).map_err(|e| RecordError {
            reason: Reason::Schema,
            problems: vec![body_problem(e)],
        })
    }
    Ok(match envelope.kind.as_str() {
        practice::KIND => Body::Practice(Box::new(typed(&envelope.body)?)),
        adoption::KIND => Body::Adoption(Box::new(typed(&envelope.body)?)),
        seeking::KIND => Body::Seeking(Box::new(typed(&envelope.body)?)),
        attachment::KIND => Body::Attachment(Box::new(typed(&envelope.body)?)),
        _ => Body::Unknown,
    })
}

/// [`check`] under an older rule set that knows only `known` kinds.
pub fn check_known(bytes: Vec<u8>, known: KnownKinds) -> Result<Record, RecordError> {
    let parsed = parse(bytes)?;
    let sig = verify::verify_one(
        parsed.envelope.author.as_bytes(),
        &parsed.message(),
        &parsed.signature,
    );
    parsed.finish_with(sig, known)
}

/// Runs every check of `spec/record.md` §7 on one signed record.
pub fn check(bytes: Vec<u8>) -> Result<Record, RecordError> {
    let parsed = parse(bytes)?;
    let sig = verify::verify_one(
        parsed.envelope.author.as_bytes(),
        &parsed.message(),
        &parsed.signature,
    );
    parsed.finish(sig)
}

/// Runs every check on many records, verifying signatures in one batch.
/// Each result is exactly what [`check`] returns for that record.
pub fn check_batch(records: Vec<Vec<u8>>) -> Vec<Result<Record, RecordError>> {
    check_batch_ids(records)
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

/// [`check_batch`], with each record's id when its bytes decoded that far
/// (steps 1 to 5 passed): a node that refuses a record by a rule another
/// version may not share remembers the id, so it does not ask for it again.
pub fn check_batch_ids(
    records: Vec<Vec<u8>>,
) -> Vec<(Option<RecordId>, Result<Record, RecordError>)> {
    let mut ok = Vec::with_capacity(records.len());
    let mut failed = Vec::with_capacity(records.len());
    for r in records {
        match parse(r) {
            Ok(p) => {
                failed.push(None);
                ok.push(p);
            }
            Err(e) => failed.push(Some(e)),
        }
    }
    let ids: Vec<RecordId> = ok.iter().map(Parsed::id).collect();
    let mut checked = check_parsed(ok).into_iter().zip(ids);
    failed
        .into_iter()
        .map(|f| match f {
            Some(e) => (None, Err(e)),
            // One result per parsed record, in order.
            None => match checked.next() {
                Some((r, id)) => (Some(id), r),
                None => (
                    None,
                    Err(RecordError::one(Reason::Signature, "sig", "not checked")),
                ),
            },
        })
        .collect()
}

/// Steps 6 to 8 of the check on records already through steps 1 to 5
/// ([`parse`]), verifying their signatures in one batch: a record received
/// from a peer is parsed once (for its id and author) and finished here,
/// never decoded again. Each result is exactly what [`check`] returns for
/// that record's bytes.
pub fn check_parsed(parsed: Vec<Parsed>) -> Vec<Result<Record, RecordError>> {
    let messages: Vec<[u8; 46]> = parsed.iter().map(Parsed::message).collect();
    let items: Vec<verify::Item<'_>> = parsed
        .iter()
        .zip(&messages)
        .map(|(p, m)| verify::Item {
            key: p.envelope.author.as_bytes(),
            msg: m,
            sig: &p.signature,
        })
        .collect();
    let verdicts = verify::verify_batch(&items);
    drop(items);
    let mut verdicts = verdicts.into_iter();
    parsed
        .into_iter()
        .map(|p| {
            let sig = verdicts.next().unwrap_or(Err(VerifyError::Equation));
            p.finish(sig)
        })
        .collect()
}

/// Signs a body of any kind and checks the result.
///
/// The body is canonicalised on the way (text to NFC, keys sorted). For a
/// `practice` body, use [`sign_practice`], which also fills in defaults.
pub fn sign(
    key: &SecretKey,
    kind: &str,
    seq: u64,
    ts: u64,
    body: Value,
) -> Result<Record, RecordError> {
    let envelope = Envelope {
        kind: kind.to_string(),
        author: key.author(),
        seq,
        ts,
        body,
    };
    // Refuse a bad envelope with the same words a reader would use.
    Envelope::from_value(envelope.to_value())?;
    let envelope_bytes = cbor::encode(&envelope.to_value())
        .map_err(|e| RecordError::one(Reason::Cbor, "envelope", e.to_string()))?;
    let id = RecordId::of_envelope(&envelope_bytes);
    let sig = key.sign_id(&id);
    let signed = cbor::encode(&Value::Array(vec![
        Value::Bytes(envelope_bytes),
        Value::Bytes(sig.to_vec()),
    ]))
    .map_err(|e| RecordError::one(Reason::Cbor, "record", e.to_string()))?;
    check(signed)
}

/// Fills in a practice body's defaults, validates it, and signs it.
pub fn sign_practice(
    key: &SecretKey,
    seq: u64,
    ts: u64,
    body: &Practice,
) -> Result<Record, RecordError> {
    let mut body = body.clone();
    body.fill_defaults();
    let problems = practice::validate(&body);
    if !problems.is_empty() {
        return Err(RecordError {
            reason: Reason::Schema,
            problems,
        });
    }
    let value = cbor::to_value(&body)
        .map_err(|e| RecordError::one(Reason::Schema, format!("body.{}", e.path), e.message))?;
    sign(key, practice::KIND, seq, ts, value)
}

/// Fills in an adoption report's defaults, validates it, and signs it.
pub fn sign_adoption(
    key: &SecretKey,
    seq: u64,
    ts: u64,
    body: &Adoption,
) -> Result<Record, RecordError> {
    let mut body = body.clone();
    body.fill_defaults();
    sign_typed(
        key,
        adoption::KIND,
        seq,
        ts,
        &body,
        adoption::validate(&body),
    )
}

/// Fills in a need's defaults, validates it, and signs it.
pub fn sign_seeking(
    key: &SecretKey,
    seq: u64,
    ts: u64,
    body: &Seeking,
) -> Result<Record, RecordError> {
    let mut body = body.clone();
    body.fill_defaults();
    sign_typed(key, seeking::KIND, seq, ts, &body, seeking::validate(&body))
}

/// Validates a file reference and signs it. No default is filled in: a
/// body without `licence` stays without it (`spec/record.md` §6d).
pub fn sign_attachment(
    key: &SecretKey,
    seq: u64,
    ts: u64,
    body: &Attachment,
) -> Result<Record, RecordError> {
    sign_typed(
        key,
        attachment::KIND,
        seq,
        ts,
        body,
        attachment::validate(body),
    )
}

fn sign_typed<T: Serialize>(
    key: &SecretKey,
    kind: &str,
    seq: u64,
    ts: u64,
    body: &T,
    problems: Vec<Problem>,
) -> Result<Record, RecordError> {
    if !problems.is_empty() {
        return Err(RecordError {
            reason: Reason::Schema,
            problems,
        });
    }
    let value = cbor::to_value(body)
        .map_err(|e| RecordError::one(Reason::Schema, format!("body.{}", e.path), e.message))?;
    sign(key, kind, seq, ts, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Practice {
        serde_json::from_value(serde_json::json!({
            "practice_id": "BGD-A2I-0001", "revision": 1, "state": "active",
            "title": {"original": "bn", "text": {"bn": "ইউনিয়ন ডিজিটাল সেন্টার", "en": "Union Digital Centres"}},
            "summary": {"original": "en", "text": {"en": "s"}},
            "challenge": {"original": "en", "text": {"en": "c"}},
            "solution": {"original": "en", "text": {"en": "s"}},
            "countries": [{"iso3": "BGD", "role": "originating"}],
            "sdg_targets": ["16.6"], "status": 2, "period": {"start": "2010-11-11"}
        }))
        .unwrap()
    }

    #[test]
    fn sign_then_check_round_trips() {
        let key = SecretKey::from_seed(&[1; 32]);
        let rec = sign_practice(&key, 1, 1_700_000_000_000, &body()).unwrap();
        assert_eq!(
            rec.practice().unwrap().licence.as_deref(),
            Some("CC-BY-4.0")
        );
        let again = check(rec.bytes().to_vec()).unwrap();
        assert_eq!(again.id(), rec.id());
        assert_eq!(RecordId::of_envelope(rec.envelope_bytes()), rec.id());
        let batch = check_batch(vec![rec.bytes().to_vec(), vec![0xf6], rec.bytes().to_vec()]);
        assert!(batch[0].is_ok() && batch[2].is_ok());
        assert_eq!(batch[1].as_ref().unwrap_err().reason, Reason::Cbor);
    }

    /// A stored record read back without the costly checks is the record
    /// `check` returned; bytes that no longer decode are still refused.
    #[test]
    fn reading_a_stored_record_gives_the_checked_record() {
        let key = SecretKey::from_seed(&[1; 32]);
        let rec = sign_practice(&key, 1, 1_700_000_000_000, &body()).unwrap();
        let read = read_stored(rec.bytes().to_vec(), rec.id()).unwrap();
        assert_eq!(read, check(rec.bytes().to_vec()).unwrap());
        let parsed = parse_stored(rec.bytes().to_vec(), rec.id()).unwrap();
        assert_eq!(parsed.envelope(), rec.envelope());
        assert_eq!((parsed.id(), parsed.bytes()), (rec.id(), rec.bytes()));
        let mut cut = rec.bytes().to_vec();
        cut.truncate(cut.len() - 10);
        assert_eq!(read_stored(cut, rec.id()).unwrap_err().reason, Reason::Cbor);
        assert!(read_stored(vec![0x80], rec.id()).is_err());
    }

    #[test]
    fn reasons_follow_the_check_order() {
        let key = SecretKey::from_seed(&[1; 32]);
        let rec = sign_practice(&key, 1, 5, &body()).unwrap();
        let mut tampered = rec.bytes().to_vec();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(check(tampered).unwrap_err().reason, Reason::Signature);
        assert_eq!(
            check(vec![0; MAX_RECORD_BYTES + 1]).unwrap_err().reason,
            Reason::Size
        );
        assert_eq!(check(vec![0x80]).unwrap_err().reason, Reason::Envelope);
        let mut b = body();
        b.sdg_targets.push("18.1".into());
        let err = sign_practice(&key, 1, 5, &b).unwrap_err();
        assert_eq!(err.reason, Reason::Schema);
        assert_eq!(
            err.problems[0].to_string(),
            r#"body.sdg_targets[1]: "18.1" is not an SDG target"#
        );
    }

    /// A record parsed once (as the node's state machine does, for its id
    /// and author) and finished by `check_parsed` gets exactly the result
    /// of `check` on its bytes: valid, forged, or invalid by its schema.
    #[test]
    fn checking_parsed_records_is_checking_their_bytes() {
        let key = SecretKey::from_seed(&[3; 32]);
        let good = sign_practice(&key, 1, 5, &body()).unwrap().into_bytes();
        let mut forged = good.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        let opaque = sign(&key, "other", 2, 5, Value::map([("x", Value::Uint(1))]))
            .unwrap()
            .into_bytes();
        // A practice body that breaks the schema, signed by hand.
        let bad_body = Value::map([("practice_id", Value::text("X"))]);
        let env = Envelope {
            kind: practice::KIND.into(),
            author: key.author(),
            seq: 3,
            ts: 5,
            body: bad_body,
        };
        let env_bytes = cbor::encode(&env.to_value()).unwrap();
        let sig = key.sign_id(&RecordId::of_envelope(&env_bytes));
        let schema_bad = cbor::encode(&Value::Array(vec![
            Value::Bytes(env_bytes),
            Value::Bytes(sig.to_vec()),
        ]))
        .unwrap();
        let all = vec![good, forged, opaque, schema_bad];
        let parsed: Vec<Parsed> = all.iter().map(|b| parse(b.clone()).unwrap()).collect();
        let finished = check_parsed(parsed);
        let one_by_one: Vec<_> = all.iter().map(|b| check(b.clone())).collect();
        assert_eq!(finished, one_by_one);
        let reasons: Vec<Option<Reason>> = finished
            .iter()
            .map(|r| r.as_ref().err().map(|e| e.reason))
            .collect();
        assert_eq!(
            reasons,
            vec![None, Some(Reason::Signature), None, Some(Reason::Schema)]
        );
        // check_batch_ids is the same path, with parse failures in place.
        let mut with_junk = all.clone();
        with_junk.insert(1, vec![0xf6]);
        let ids = check_batch_ids(with_junk);
        assert_eq!(ids.len(), 5);
        assert_eq!(ids[1].0, None);
        assert_eq!(ids[1].1.as_ref().unwrap_err().reason, Reason::Cbor);
        let rest: Vec<_> = ids
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, r)| r.1)
            .collect();
        assert_eq!(rest, one_by_one);
    }

    /// An attachment is a chained kind of its own; a node before it holds
    /// it as an opaque record, whatever its body says.
    #[test]
    fn attachments_are_checked_and_older_rules_hold_them_opaque() {
        let key = SecretKey::from_seed(&[4; 32]);
        let body: Attachment = serde_json::from_value(serde_json::json!({
            "attachment_id": "BGD-ATT-1", "revision": 1, "state": "active",
            "practice": {"member": "bd-a2i", "practice_id": "BGD-A2I-0001"},
            "hash": "ab".repeat(32), "size": 40_000, "media_type": "application/pdf",
            "title": {"original": "en", "text": {"en": "Evaluation"}},
            "language": "en", "category": "report"
        }))
        .unwrap();
        let rec = sign_attachment(&key, 1, 5, &body).unwrap();
        assert_eq!(rec.attachment(), Some(&body));
        let l = rec.lifecycle().unwrap();
        assert_eq!((l.kind, l.id, l.revision), ("attachment", "BGD-ATT-1", 1));
        assert_eq!(
            read_stored(rec.bytes().to_vec(), rec.id()).unwrap(),
            check(rec.bytes().to_vec()).unwrap()
        );
        let older = check_known(rec.bytes().to_vec(), KnownKinds::BeforeAttachment).unwrap();
        assert_eq!(older.body(), &Body::Unknown);
        assert!(KnownKinds::BeforeAttachment.knows(seeking::KIND));
        assert!(!KnownKinds::PracticeOnly.knows(attachment::KIND));

        let mut bad = body.clone();
        bad.size = Some(0);
        assert_eq!(
            sign_attachment(&key, 2, 5, &bad).unwrap_err().problems[0].path,
            "body.size"
        );
        let mut value = cbor::to_value(&bad).unwrap();
        if let Value::Map(m) = &mut value {
            m.push(("pages".into(), Value::Uint(3)));
        }
        let env = Envelope {
            kind: attachment::KIND.into(),
            author: key.author(),
            seq: 3,
            ts: 5,
            body: value,
        };
        let env_bytes = cbor::encode(&env.to_value()).unwrap();
        let sig = key.sign_id(&RecordId::of_envelope(&env_bytes));
        let signed = cbor::encode(&Value::Array(vec![
            Value::Bytes(env_bytes),
            Value::Bytes(sig.to_vec()),
        ]))
        .unwrap();
        let err = check(signed.clone()).unwrap_err();
        assert_eq!(err.reason, Reason::Schema);
        assert_eq!(err.problems[0].path, "body.pages");
        assert!(check_known(signed, KnownKinds::BeforeAttachment).is_ok());
    }

    #[test]
    fn unknown_kinds_are_kept_opaque() {
        let key = SecretKey::from_seed(&[2; 32]);
        let rec = sign(
            &key,
            "membership",
            3,
            4,
            Value::map([("anything", Value::Uint(1))]),
        )
        .unwrap();
        assert_eq!(rec.body(), &Body::Unknown);
        assert!(sign(&key, "Bad Kind", 3, 4, Value::map::<&str>([])).is_err());
    }
}
