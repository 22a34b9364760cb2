//! # setu-core
//!
//! The part of Setu that every other part trusts: ids and keys, the signed
//! practice record, its canonical CBOR codec, validation, and the code
//! tables. Besides practices (`practice`), records carry adoption reports
//! (`adoption`), needs (`seeking`) and references to files that belong to
//! a practice or an adoption report (`attachment`). It does no I/O. The rules it implements are written in
//! `spec/record.md`; its test vectors are `spec/vectors/records.json`.
//!
//! A walk through the life of one record:
//!
//! ```
//! use setu_core::{keys::SecretKey, practice::Practice, record};
//!
//! // 1. A body, as an agency writes it in JSON.
//! let body: Practice = serde_json::from_str(r#"{
//!   "practice_id": "BGD-A2I-0001", "revision": 1, "state": "active",
//!   "title": {"original": "bn", "text": {"bn": "ইউনিয়ন ডিজিটাল সেন্টার",
//!                                       "en": "Union Digital Centres"}},
//!   "summary": {"original": "en", "text": {"en": "One-stop service points in every union."}},
//!   "challenge": {"original": "en", "text": {"en": "Citizens travelled far for simple services."}},
//!   "solution": {"original": "en", "text": {"en": "Local entrepreneurs run digital centres."}},
//!   "countries": [{"iso3": "BGD", "role": "originating"}],
//!   "sdg_targets": ["16.6", "9.c"], "status": 2, "period": {"start": "2010-11"},
//!   "metrics": [{"kind": "time", "stage": "digital", "method": "survey", "change_bp": -7814}]
//! }"#).unwrap();
//!
//! // 2. The agency signs it: defaults filled, validated, canonical CBOR, Ed25519.
//! let key = SecretKey::from_seed(&[42; 32]);
//! let rec = record::sign_practice(&key, 1, 1_700_000_000_000, &body).unwrap();
//! assert_eq!(rec.practice().unwrap().licence.as_deref(), Some("CC-BY-4.0"));
//!
//! // 3. Anyone checks the exact bytes, unaided.
//! let checked = record::check(rec.bytes().to_vec()).unwrap();
//! assert_eq!(checked.id(), rec.id());
//! assert_eq!(checked.envelope().author, key.author());
//!
//! // 4. One flipped bit, and the check names the reason.
//! let mut forged = rec.bytes().to_vec();
//! forged[40] ^= 1;
//! let err = record::check(forged).unwrap_err();
//! assert!(matches!(err.reason.code(), "signature" | "noncanonical" | "cbor" | "envelope" | "schema"));
//! ```

#![deny(missing_docs)]

pub mod adoption;
pub mod attachment;
pub mod cbor;
pub mod clock;
pub mod codes;
pub mod ids;
pub mod json;
pub mod keys;
pub mod practice;
pub mod record;
pub mod seeking;
pub mod verify;
