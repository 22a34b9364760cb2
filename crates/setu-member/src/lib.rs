//! Membership and trust with no central authority
//! ([`spec/membership.md`](../../../spec/membership.md)).
//!
//! - [`charter`]: the founding document every founder signs; its hash is
//!   the network id.
//! - [`op`]: the membership operations, signed records of kind `"member"`.
//! - [`table`], [`vectors`]: the conflict-rule table language and the
//!   spec's vectors made from it.
//! - [`view`]: the member set and every record's validity, a pure function
//!   of the charter and the set of membership records held.
//!
//! ```
//! use setu_core::keys::SecretKey;
//! use setu_member::charter::{Affiliation, Charter, Draft, Entry, Role, Threshold};
//! use setu_member::op::{self, Body, Op, Signed};
//! use setu_member::view::{Subject, Validity, View};
//!
//! let keys: Vec<SecretKey> = (1..=4u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
//! let entry = |id: &str, k: &SecretKey| Entry {
//!     id: id.into(),
//!     affiliation: Affiliation::Country("BGD".into()),
//!     agency: format!("Agency {id}"),
//!     role: Role::Member,
//!     key: k.author(),
//! };
//! // Three founders sign a charter; its body's hash is the network id.
//! let charter = Charter {
//!     name: "South-South".into(),
//!     members: vec![entry("a", &keys[0]), entry("b", &keys[1]), entry("c", &keys[2])],
//!     admit: Threshold::MAJORITY,
//!     recover: Threshold::MAJORITY,
//! };
//! let mut draft = Draft::new(charter).unwrap();
//! for k in &keys[..3] {
//!     draft.sign(k).unwrap();
//! }
//! let sealed = draft.seal().unwrap();
//! let net = sealed.network_id();
//!
//! // Two of three founders endorse a fourth agency against the first epoch.
//! let view = View::compute(&sealed, &[]);
//! let body = Body { net, op: Op::Endorse { epoch: view.epoch(), entry: entry("d", &keys[3]) } };
//! let ops: Vec<Signed> = keys[..2]
//!     .iter()
//!     .map(|k| op::sign(k, 1, 0, &body).unwrap())
//!     .map(|r| Signed::from_record(&r).unwrap().unwrap())
//!     .collect();
//! let view = View::compute(&sealed, &ops[..1]);
//! assert_eq!(view.member_ids(), ["a", "b", "c"]);
//! let view = View::compute(&sealed, &ops);
//! assert_eq!(view.member_ids(), ["a", "b", "c", "d"]);
//!
//! // The new member's records are now valid; a stranger's are held.
//! let subject = |author| Subject { id: setu_core::ids::RecordId([0; 32]), author, seq: 1, ts: 0, kind: "practice", practice_id: Some("x") };
//! assert_eq!(view.validity(&subject(keys[3].author())), Validity::Valid { member: "d".into(), delegate: false });
//! assert_eq!(view.validity(&subject(SecretKey::from_seed(&[9; 32]).author())), Validity::Quarantined);
//! ```

#![deny(missing_docs)]

pub mod charter;
pub mod op;
pub mod table;
pub mod vectors;
pub mod view;

/// A charter or membership operation that is not well formed: the field at
/// fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
#[non_exhaustive]
pub struct Error {
    /// Where, e.g. `charter.members[2].country` or `body.valid[3]`.
    pub path: String,
    /// Why.
    pub message: String,
}

impl Error {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn wrong_type(
        path: impl Into<String>,
        expected: &str,
        got: &setu_core::cbor::Value,
    ) -> Error {
        Error::new(path, format!("must be {expected}, is {}", got.type_name()))
    }
}
