//! The generator of `spec/vectors/records.json`.
//!
//! Deterministic: fixed seeds and timestamps, so a run reproduces the
//! committed file byte for byte (a test checks this). Regenerate with
//! `cargo run -p setu-tests --bin gen-vectors > spec/vectors/records.json`.
//!
//! Every invalid vector is correctly signed over its bad bytes, except those
//! whose fault is the signature or the key, so that each fails only for its
//! stated reason.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha512};

use setu_core::adoption::Adoption;
use setu_core::attachment::{Attachment, MAX_ATTACHMENT_SIZE_FORMAT};
use setu_core::cbor::{self, Value};
use setu_core::ids::RecordId;
use setu_core::keys::{SecretKey, signed_message};
use setu_core::practice::Practice;
use setu_core::record::{self, MAX_RECORD_BYTES};
use setu_core::seeking::Seeking;

/// The timestamp of every vector: 2026-01-01T00:00:00Z.
pub const TS: u64 = 1_767_225_600_000;

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

fn enc(v: &Value) -> Vec<u8> {
    cbor::encode(v).expect("generator values are encodable")
}

/// A CBOR head with the shortest argument.
fn head(major: u8, n: u64) -> Vec<u8> {
    let mut out = enc(&Value::Uint(n));
    out[0] |= major << 5;
    out
}

/// A map written with its entries in the given order, as given.
fn raw_map(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = head(5, entries.len() as u64);
    for (k, v) in entries {
        out.extend(enc(&Value::text(k.clone())));
        out.extend(v);
    }
    out
}

/// The canonical entries of a map value, each value encoded.
fn entries(v: &Value) -> Vec<(String, Vec<u8>)> {
    let Value::Map(m) = cbor::decode(&enc(v)).expect("canonical") else {
        panic!("not a map")
    };
    m.into_iter().map(|(k, v)| (k, enc(&v))).collect()
}

fn set(entries: &mut [(String, Vec<u8>)], key: &str, bytes: Vec<u8>) {
    let e = entries
        .iter_mut()
        .find(|(k, _)| k == key)
        .expect("key present");
    e.1 = bytes;
}

/// `[envelope_bytes, sig]` signed by `k` over whatever `env` holds.
fn sign_raw(k: &SecretKey, env: &[u8]) -> Vec<u8> {
    let id = RecordId::of_envelope(env);
    let sig = k.sign_id(&id);
    enc(&Value::Array(vec![
        Value::Bytes(env.to_vec()),
        Value::Bytes(sig.to_vec()),
    ]))
}

fn envelope(k: &SecretKey, kind: &str, seq: u64, body: Value) -> Value {
    Value::map([
        ("v", Value::Uint(1)),
        ("kind", Value::text(kind)),
        ("author", Value::Bytes(k.author().0.to_vec())),
        ("seq", Value::Uint(seq)),
        ("ts", Value::Uint(TS)),
        ("body", body),
    ])
}

fn practice(j: Json) -> Practice {
    serde_json::from_value(j).expect("generator bodies are well-typed")
}

fn lt(lang: &str, text: &str) -> Json {
    json!({"original": lang, "text": {lang: text}})
}

/// The smallest valid active practice.
pub fn minimal_body() -> Json {
    json!({
        "practice_id": "BGD-A2I-0001",
        "revision": 1,
        "state": "active",
        "title": lt("en", "Union Digital Centres"),
        "summary": lt("en", "One-stop digital service points in every union."),
        "challenge": lt("en", "Citizens travelled far, often more than once, for simple services."),
        "solution": lt("en", "Local entrepreneurs run a digital centre in each union."),
        "countries": [{"iso3": "BGD", "role": "originating"}],
        "sdg_targets": ["16.6"],
        "status": 2,
        "period": {"start": "2010-11"}
    })
}

fn body_value(j: Json) -> Value {
    let mut p = practice(j);
    p.fill_defaults();
    cbor::to_value(&p).expect("encodable")
}

fn valid(name: &str, description: &str, k: &SecretKey, rec: &record::Record) -> Json {
    json!({
        "name": name,
        "description": description,
        "secret_key": hex::encode(k.seed()),
        "envelope_cbor": hex::encode(rec.envelope_bytes()),
        "envelope_json": rec.envelope_json(),
        "id": rec.id().to_hex(),
        "signature": hex::encode(rec.signature()),
        "signed_record": hex::encode(rec.bytes()),
    })
}

fn invalid(name: &str, description: &str, signed: &[u8], reason: &str) -> Json {
    json!({
        "name": name,
        "description": description,
        "signed_record": hex::encode(signed),
        "reason": reason,
    })
}

/// A signature with an order-8 component in R, valid only under the
/// cofactored equation.
fn torsion_signature(k: &SecretKey, id: &RecordId) -> [u8; 64] {
    let sk = ed25519_dalek::SigningKey::from_bytes(&k.seed());
    let r = Scalar::from(0x5e70_5e70_u64);
    let big_r = (r * ED25519_BASEPOINT_POINT + EIGHT_TORSION[1])
        .compress()
        .to_bytes();
    let mut h = Sha512::new();
    h.update(big_r);
    h.update(k.author().0);
    h.update(signed_message(id));
    let kk = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    let s = r + kk * sk.to_scalar();
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

/// Builds the whole vector file.
pub fn generate() -> Json {
    let mut valid_v = Vec::new();
    let mut invalid_v = Vec::new();
    let k1 = key(1);
    let sign = |k: &SecretKey, seq: u64, j: Json| {
        record::sign_practice(k, seq, TS, &practice(j)).expect("valid vector body")
    };

    // ---- valid ----
    let minimal = sign(&k1, 1, minimal_body());
    valid_v.push(valid(
        "minimal",
        "The smallest valid active practice; the licence default is filled in.",
        &k1,
        &minimal,
    ));

    let maximal_body = json!({
        "practice_id": "BGD-A2I-0002",
        "revision": 1,
        "state": "active",
        "licence": "CC-BY-SA-4.0",
        "title": {"original": "bn", "text": {"bn": "সেবা সহজিকরণ", "en": "Service Process Simplification"}, "machine_translated": ["en"]},
        "summary": lt("en", "Redesigning public services to cut citizens' time, cost and visits."),
        "challenge": lt("en", "Services required many documents, signatures and trips."),
        "solution": lt("en", "Teams of civil servants map each service and remove steps."),
        "replication_potential": lt("en", "Any ministry can run the same workshop method."),
        "lessons": lt("en", "Measure time, cost and visits before and after."),
        "countries": [
            {"iso3": "BGD", "role": "originating"},
            {"iso3": "BTN", "role": "adopting"},
            {"iso3": "LKA", "role": "partner"}
        ],
        "organisations": [
            {"name": "a2i", "role": "implementing", "iso3": "BGD"},
            {"name": "UNDP", "role": "supporting"}
        ],
        "sdg_targets": ["16.6", "16.7", "10.2"],
        "sectors": [{"vocabulary": "dac5", "code": "15110"}, {"vocabulary": "cofog", "code": "01.3"}],
        "status": 4,
        "period": {"start": "2014-01-15", "end": "2020-12"},
        "gov_level": "national",
        "keywords": ["SPS", "TCV", "process redesign"],
        "urls": ["https://a2i.gov.bd/"],
        "contact": {"name": "Innovation Lab", "role": "desk", "email": "lab@example.org"},
        "exchange": "offering",
        "recognition": [{"award": "UN Public Service Award", "year": 2014}],
        "reach": {"beneficiaries": 1000000, "as_of": "2020"},
        "evidence_level": "independent_evaluation",
        "replaces": ["BGD-A2I-0000"],
        "metrics": [
            {"kind": "time", "stage": "sps", "method": "survey", "sample_n": 300, "source": "https://example.org/tcv-study",
             "baseline": 40320, "after": 8640, "unit": "minutes"}
        ]
    });
    let k2 = key(2);
    let rec = sign(&k2, 7, maximal_body);
    valid_v.push(valid(
        "maximal",
        "Every optional field of an active practice.",
        &k2,
        &rec,
    ));

    let multi = json!({
        "practice_id": "BGD-A2I-0003",
        "revision": 1,
        "state": "active",
        "title": {"original": "bn", "text": {
            "bn": "ইউনিয়ন ডিজিটাল সেন্টার",
            "ar": "مراكز الخدمات الرقمية",
            "es": "Centros digitales de unión",
            "en": "Union Digital Centres"
        }, "machine_translated": ["ar", "es"]},
        "summary": {"original": "bn", "text": {"bn": "প্রতিটি ইউনিয়নে এক জায়গায় সরকারি সেবা।", "es": "Servicios públicos en un solo lugar en cada unión."}},
        "challenge": lt("ar", "كان على المواطنين السفر بعيدًا للحصول على الخدمات."),
        "solution": lt("es", "Emprendedores locales gestionan un centro digital en cada unión."),
        "countries": [{"iso3": "BGD", "role": "originating"}, {"iso3": "SOM", "role": "adopting"}],
        "sdg_targets": ["16.6", "9.c", "1.4"],
        "status": 2,
        "period": {"start": "2010"}
    });
    let rec = sign(&k1, 2, multi);
    valid_v.push(valid(
        "multilingual",
        "Text in Bangla, Arabic and Spanish (multi-byte UTF-8, NFC).",
        &k1,
        &rec,
    ));

    let mut rev2 = minimal_body();
    rev2["revision"] = json!(2);
    rev2["supersedes"] = json!(minimal.id().to_hex());
    rev2["status"] = json!(3);
    let revision = sign(&k1, 3, rev2);
    valid_v.push(valid(
        "revision",
        "Revision 2 of the minimal practice: supersedes is a byte string (hex in JSON).",
        &k1,
        &revision,
    ));

    let w = Practice::withdrawal(
        "BGD-A2I-0001",
        3,
        revision.id(),
        "Merged into BGD-A2I-0002.",
    );
    let withdrawal = record::sign_practice(&k1, 4, TS, &w).expect("valid");
    valid_v.push(valid(
        "withdrawal",
        "Withdrawal of the minimal practice at revision 3.",
        &k1,
        &withdrawal,
    ));

    let mut tcv = minimal_body();
    tcv["practice_id"] = json!("BGD-A2I-0004");
    tcv["metrics"] = json!([
        {"kind": "time", "stage": "digital", "method": "survey", "change_bp": -7814},
        {"kind": "cost", "stage": "digital", "method": "survey", "change_bp": -1655},
        {"kind": "visits", "stage": "digital", "method": "admin", "baseline": 3, "after": 1, "unit": "count"},
        {"kind": "cost", "stage": "sps", "method": "estimate", "baseline": 50000, "after": 12000,
         "unit": "minor_currency", "currency": "BDT", "price_year": 2019},
        {"kind": "time", "stage": "other", "method": "admin", "baseline": 28, "after": 7, "unit": "days"}
    ]);
    let rec = sign(&k1, 5, tcv);
    valid_v.push(valid(
        "tcv_metrics",
        "TCV metrics as published changes (change_bp, negative) and as raw values.",
        &k1,
        &rec,
    ));

    let k3 = key(3);
    let unknown_body = Value::map([
        ("charter", Value::text("setu-south")),
        (
            "members",
            Value::Array(vec![Value::text("BGD"), Value::text("RWA")]),
        ),
        ("quorum", Value::Uint(2)),
        ("offset", Value::Nint(-5)),
        ("open", Value::Bool(false)),
    ]);
    let rec = record::sign(&k3, "membership", 1, TS, unknown_body).expect("valid");
    valid_v.push(valid(
        "unknown_kind",
        "A kind this version does not know: only the envelope and signature are checked; stored and relayed as opaque bytes.",
        &k3,
        &rec,
    ));

    let k4 = key(4);
    let env = enc(&envelope(&k4, "practice", 1, body_value(minimal_body())));
    let id = RecordId::of_envelope(&env);
    let sig = torsion_signature(&k4, &id);
    let signed = enc(&Value::Array(vec![
        Value::Bytes(env.clone()),
        Value::Bytes(sig.to_vec()),
    ]));
    let rec = record::check(signed).expect("cofactored rule accepts torsion in R");
    let mut v = valid(
        "torsion_in_r",
        "R has an order-8 component. Valid under the cofactored equation (spec §5), refused by cofactorless verifiers such as libsodium's crypto_sign_verify_detached. Not an RFC 8032 signature: verify it, do not expect to reproduce it by signing.",
        &k4,
        &rec,
    );
    v["rfc8032_signature"] = json!(false);
    valid_v.push(v);

    let k5 = key(5);
    let seq_max =
        record::sign_practice(&k5, u64::MAX, u64::MAX, &practice(minimal_body())).expect("valid");
    valid_v.push(valid(
        "largest_integers",
        "seq and ts at 2^64-1: integers take their 9-byte form.",
        &k5,
        &seq_max,
    ));

    // Boundaries: a kind of exactly 32 bytes, nesting of exactly 16 levels.
    let k6 = key(6);
    let mut nested = Value::Array(vec![]);
    for _ in 0..13 {
        nested = Value::Array(vec![nested]);
    }
    // envelope (1) > body (2) > 14 arrays (3..=16).
    let rec = record::sign(
        &k6,
        "abcdefghijklmnopqrstuvwxyz012345",
        1,
        TS,
        Value::map([("deep", nested)]),
    )
    .expect("16 levels are allowed");
    valid_v.push(valid("boundaries_kind_32_depth_16", "kind of exactly 32 bytes; arrays and maps nested exactly 16 levels (envelope, body, 14 arrays).", &k6, &rec));

    // The largest record: exactly MAX_RECORD_BYTES.
    let pad_record = |pad: usize| {
        record::sign(
            &k6,
            "padding",
            2,
            TS,
            Value::map([("pad", Value::text("x".repeat(pad)))]),
        )
        .ok()
    };
    let probe = pad_record(0).expect("small record").bytes().len();
    let mut pad = MAX_RECORD_BYTES - probe;
    // Longer heads take a few bytes; step down to the exact size.
    let rec = loop {
        match pad_record(pad) {
            Some(rec) if rec.bytes().len() <= MAX_RECORD_BYTES => break rec,
            _ => pad -= 1,
        }
    };
    assert_eq!(
        rec.bytes().len(),
        MAX_RECORD_BYTES,
        "padding must land exactly on the limit"
    );
    valid_v.push(valid(
        "largest_record",
        "A signed record of exactly 262,144 bytes, the largest allowed.",
        &k6,
        &rec,
    ));

    // ---- invalid ----
    let base_env = envelope(&k1, "practice", 10, body_value(minimal_body()));
    let mut e = entries(&base_env);
    set(&mut e, "seq", vec![0x18, 0x0a]);
    invalid_v.push(invalid(
        "non_shortest_integer",
        "seq = 10 written as 0x18 0x0a instead of 0x0a.",
        &sign_raw(&k1, &raw_map(&e)),
        "noncanonical",
    ));

    let mut e = entries(&base_env);
    e.swap(0, 1);
    invalid_v.push(invalid(
        "unsorted_keys",
        "Envelope keys \"ts\" and \"v\" swapped.",
        &sign_raw(&k1, &raw_map(&e)),
        "noncanonical",
    ));

    let mut e = entries(&base_env);
    let dup = e[0].clone();
    e.insert(1, dup);
    invalid_v.push(invalid(
        "duplicate_key",
        "Envelope key \"v\" appears twice.",
        &sign_raw(&k1, &raw_map(&e)),
        "noncanonical",
    ));

    let mut e = entries(&base_env);
    let body = e.iter().find(|(k, _)| k == "body").expect("body").1.clone();
    let mut indef = vec![0xbf];
    indef.extend_from_slice(&body[1..]);
    indef.push(0xff);
    set(&mut e, "body", indef);
    invalid_v.push(invalid(
        "indefinite_length",
        "The body map written with indefinite length (0xbf ... 0xff).",
        &sign_raw(&k1, &raw_map(&e)),
        "noncanonical",
    ));

    let mut e = entries(&base_env);
    let mut f = vec![0xfb];
    f.extend_from_slice(&(TS as f64).to_be_bytes());
    set(&mut e, "ts", f);
    invalid_v.push(invalid(
        "float",
        "ts written as a 64-bit float.",
        &sign_raw(&k1, &raw_map(&e)),
        "cbor",
    ));

    let mut e = entries(&base_env);
    let mut t = vec![0xc1];
    t.extend(enc(&Value::Uint(TS / 1000)));
    set(&mut e, "ts", t);
    invalid_v.push(invalid(
        "tag",
        "ts wrapped in tag 1 (epoch date/time).",
        &sign_raw(&k1, &raw_map(&e)),
        "cbor",
    ));

    let body_entries = |body: Json| entries(&body_value(body));
    let with_body = |be: &[(String, Vec<u8>)]| {
        let mut e = entries(&base_env);
        set(&mut e, "body", raw_map(be));
        raw_map(&e)
    };
    let mut be = body_entries(minimal_body());
    be.push(("gov_level".into(), vec![0xf6]));
    be.sort_by(|a, b| setu_core::cbor::key_order(&a.0, &b.0));
    invalid_v.push(invalid(
        "null",
        "body.gov_level is null.",
        &sign_raw(&k1, &with_body(&be)),
        "cbor",
    ));

    let mut trailing = minimal.bytes().to_vec();
    trailing.push(0x00);
    invalid_v.push(invalid(
        "trailing_bytes",
        "A valid signed record followed by one byte 0x00.",
        &trailing,
        "cbor",
    ));

    let mut be = body_entries(minimal_body());
    let title = raw_map(&[
        (
            "text".into(),
            raw_map(&[("en".into(), {
                let mut t = head(3, 4);
                t.extend_from_slice(&[b'U', 0xc3, 0x28, b'D']);
                t
            })]),
        ),
        ("original".into(), enc(&Value::text("en"))),
    ]);
    set(&mut be, "title", title);
    invalid_v.push(invalid(
        "invalid_utf8",
        "body.title.text.en holds the bytes 55 c3 28 44, which are not UTF-8.",
        &sign_raw(&k1, &with_body(&be)),
        "cbor",
    ));

    let mut be = body_entries(minimal_body());
    let title = raw_map(&[
        (
            "text".into(),
            raw_map(&[("en".into(), {
                let s = "Cafe\u{301} centres";
                let mut t = head(3, s.len() as u64);
                t.extend_from_slice(s.as_bytes());
                t
            })]),
        ),
        ("original".into(), enc(&Value::text("en"))),
    ]);
    set(&mut be, "title", title);
    invalid_v.push(invalid(
        "non_nfc_text",
        "body.title.text.en is \"Cafe\\u0301 centres\" (NFD); NFC would be \"Caf\\u00e9 centres\".",
        &sign_raw(&k1, &with_body(&be)),
        "noncanonical",
    ));

    let mut wrong = minimal.bytes().to_vec();
    let n = wrong.len();
    wrong[n - 32] ^= 0x01;
    invalid_v.push(invalid(
        "wrong_signature",
        "The minimal record with one bit of S flipped (S stays below L).",
        &wrong,
        "signature",
    ));

    // A small-order key and the trivial signature R = identity, S = 0:
    // ed25519-dalek's verify_batch accepts it; every path here refuses it.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let env = {
        let mut e = entries(&base_env);
        set(&mut e, "author", enc(&Value::Bytes(identity.to_vec())));
        raw_map(&e)
    };
    let mut trivial = [0u8; 64];
    trivial[0] = 1;
    let signed = enc(&Value::Array(vec![
        Value::Bytes(env),
        Value::Bytes(trivial.to_vec()),
    ]));
    invalid_v.push(invalid(
        "small_order_key_trivial_signature",
        "author is the identity point (small order) and sig is R = identity, S = 0. A batch verifier without pre-checks accepts it.",
        &signed,
        "key",
    ));

    let mut noncanon_key = [0xffu8; 32];
    noncanon_key[0] = 0xee;
    noncanon_key[31] = 0x7f;
    let env = {
        let mut e = entries(&base_env);
        set(&mut e, "author", enc(&Value::Bytes(noncanon_key.to_vec())));
        raw_map(&e)
    };
    let signed = enc(&Value::Array(vec![
        Value::Bytes(env),
        Value::Bytes(minimal.signature().to_vec()),
    ]));
    invalid_v.push(invalid(
        "noncanonical_key",
        "author encodes y = p + 1 (not reduced mod p), a non-canonical encoding of the point y = 1.",
        &signed,
        "key",
    ));

    let sig_s_plus_l = {
        let mut sig = *minimal.signature();
        // S + L, still < 2^253: the same scalar, not reduced.
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for i in 0..32 {
            let s = u16::from(sig[32 + i]) + u16::from(l[i]) + carry;
            sig[32 + i] = s as u8;
            carry = s >> 8;
        }
        sig
    };
    let signed = enc(&Value::Array(vec![
        Value::Bytes(minimal.envelope_bytes().to_vec()),
        Value::Bytes(sig_s_plus_l.to_vec()),
    ]));
    invalid_v.push(invalid(
        "noncanonical_s",
        "The minimal record with S replaced by S + L (same scalar, not reduced).",
        &signed,
        "signature",
    ));

    let mut small_r = *minimal.signature();
    small_r[..32].copy_from_slice(&EIGHT_TORSION[1].compress().to_bytes());
    let signed = enc(&Value::Array(vec![
        Value::Bytes(minimal.envelope_bytes().to_vec()),
        Value::Bytes(small_r.to_vec()),
    ]));
    invalid_v.push(invalid(
        "small_order_r",
        "The minimal record with R replaced by a point of order 8.",
        &signed,
        "signature",
    ));

    // envelope (1) > body (2) > keywords (3) > 16 more arrays: 19 levels.
    let mut be = body_entries(minimal_body());
    be.push(("keywords".into(), {
        let mut b = vec![0x81];
        let mut inner = vec![0x80];
        for _ in 0..15 {
            let mut x = vec![0x81];
            x.extend(inner);
            inner = x;
        }
        b.extend(inner);
        b
    }));
    be.sort_by(|a, b| setu_core::cbor::key_order(&a.0, &b.0));
    invalid_v.push(invalid(
        "nesting_too_deep",
        "body.keywords holds arrays nested so that the envelope reaches 19 levels (limit 16).",
        &sign_raw(&k1, &with_body(&be)),
        "cbor",
    ));

    let mut big = minimal_body();
    big["practice_id"] = json!("BGD-A2I-0099");
    big["summary"] = json!({"original": "en", "text": {"en": "x".repeat(8_000)}});
    let big_body = body_value(big);
    let Value::Map(mut big_entries) = big_body else {
        unreachable!()
    };
    for (k, v) in big_entries.iter_mut() {
        if k == "summary" {
            *v = Value::map([
                ("original", Value::text("en")),
                (
                    "text",
                    Value::map([("en", Value::text("x".repeat(MAX_RECORD_BYTES)))]),
                ),
            ]);
        }
    }
    let env = enc(&envelope(&k1, "practice", 11, Value::Map(big_entries)));
    invalid_v.push(invalid(
        "oversize",
        "A correctly signed record of more than 262,144 bytes.",
        &sign_raw(&k1, &env),
        "size",
    ));

    let mut j = minimal_body();
    j["sdg_targets"] = json!(["16.6", "1.a", "18.1"]);
    let env = enc(&envelope(
        &k1,
        "practice",
        12,
        cbor::to_value(&{
            let mut p = practice(j);
            p.fill_defaults();
            p
        })
        .expect("enc"),
    ));
    invalid_v.push(invalid(
        "unknown_sdg_target",
        "body.sdg_targets[2] is \"18.1\", not an SDG target.",
        &sign_raw(&k1, &env),
        "schema",
    ));

    let mut j = minimal_body();
    j["countries"] = json!([{"iso3": "BGD", "role": "adopting"}]);
    let env = enc(&envelope(
        &k1,
        "practice",
        13,
        cbor::to_value(&{
            let mut p = practice(j);
            p.fill_defaults();
            p
        })
        .expect("enc"),
    ));
    invalid_v.push(invalid(
        "no_originating_country",
        "No country has role originating.",
        &sign_raw(&k1, &env),
        "schema",
    ));

    let mut body = body_value(minimal_body());
    if let Value::Map(m) = &mut body {
        m.push(("budget".into(), Value::Uint(100)));
    }
    let env = enc(&envelope(&k1, "practice", 14, body));
    invalid_v.push(invalid(
        "unknown_body_key",
        "The practice body has a key \"budget\" that the schema does not define.",
        &sign_raw(&k1, &env),
        "schema",
    ));

    let mut body = body_value(minimal_body());
    if let Value::Map(m) = &mut body {
        m.push(("keywords".into(), Value::Array(vec![])));
    }
    let env = enc(&envelope(&k1, "practice", 15, body));
    invalid_v.push(invalid(
        "empty_list",
        "body.keywords is an empty list; an absent optional field is left out.",
        &sign_raw(&k1, &env),
        "schema",
    ));

    let mut e = entries(&base_env);
    set(&mut e, "v", enc(&Value::Uint(2)));
    invalid_v.push(invalid(
        "wrong_version",
        "v is 2.",
        &sign_raw(&k1, &raw_map(&e)),
        "envelope",
    ));

    let mut e = entries(&base_env);
    set(&mut e, "seq", enc(&Value::Uint(0)));
    invalid_v.push(invalid(
        "seq_zero",
        "seq is 0; it starts at 1.",
        &sign_raw(&k1, &raw_map(&e)),
        "envelope",
    ));

    let mut e = entries(&base_env);
    e.push(("extra".into(), enc(&Value::Bool(true))));
    e.sort_by(|a, b| setu_core::cbor::key_order(&a.0, &b.0));
    invalid_v.push(invalid(
        "unknown_envelope_key",
        "The envelope has a seventh key, \"extra\".",
        &sign_raw(&k1, &raw_map(&e)),
        "envelope",
    ));

    let signed = enc(&Value::Array(vec![Value::Bytes(
        minimal.envelope_bytes().to_vec(),
    )]));
    invalid_v.push(invalid(
        "not_a_pair",
        "The signed record is a 1-element array.",
        &signed,
        "envelope",
    ));

    // ---- more profile faults, inside the body of an unknown kind ----
    let probe_env = |k: &SecretKey, body_entries: &[(String, Vec<u8>)]| {
        let env = envelope(k, "probe", 20, Value::map::<&str>([]));
        let mut e = entries(&env);
        set(&mut e, "body", raw_map(body_entries));
        sign_raw(k, &raw_map(&e))
    };
    let mut e = entries(&base_env);
    set(&mut e, "seq", vec![0x18, 0x0a]);
    let mut f = vec![0xfb];
    f.extend_from_slice(&(TS as f64).to_be_bytes());
    set(&mut e, "ts", f);
    invalid_v.push(invalid(
        "cbor_takes_precedence",
        "ts is a float (a cbor fault) and seq is not shortest (a noncanonical fault, earlier in the bytes): the reason is cbor.",
        &sign_raw(&k1, &raw_map(&e)),
        "cbor",
    ));
    let mut chunked = vec![0x7f];
    chunked.extend(enc(&Value::text("BGD-")));
    chunked.extend(enc(&Value::text("A2I-0001")));
    chunked.push(0xff);
    let mut be = body_entries(minimal_body());
    set(&mut be, "practice_id", chunked);
    invalid_v.push(invalid(
        "indefinite_length_text",
        "body.practice_id written as an indefinite-length text string of two chunks.",
        &sign_raw(&k1, &with_body(&be)),
        "noncanonical",
    ));
    invalid_v.push(invalid(
        "negative_below_i64",
        "A negative integer -2^63-1 (argument 2^63), outside the profile.",
        &probe_env(&k1, &[("n".into(), vec![0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0])]),
        "cbor",
    ));
    let env = {
        let mut e = entries(&envelope(&k1, "probe", 21, Value::map::<&str>([])));
        set(&mut e, "body", vec![0xa1, 0x01, 0x02]);
        raw_map(&e)
    };
    invalid_v.push(invalid(
        "integer_map_key",
        "The body map has the integer key 1.",
        &sign_raw(&k1, &env),
        "cbor",
    ));
    invalid_v.push(invalid(
        "count_exceeds_input",
        "An array declares 2^32-1 items and holds none.",
        &probe_env(&k1, &[("n".into(), vec![0x9a, 0xff, 0xff, 0xff, 0xff])]),
        "cbor",
    ));
    invalid_v.push(invalid(
        "simple_value_32",
        "The two-byte simple value 0xf8 0x20.",
        &probe_env(&k1, &[("n".into(), vec![0xf8, 0x20])]),
        "cbor",
    ));
    invalid_v.push(invalid(
        "reserved_additional_information",
        "An initial byte 0x1c (additional information 28).",
        &probe_env(&k1, &[("n".into(), vec![0x1c])]),
        "cbor",
    ));

    // ---- envelope boundaries ----
    let mut e = entries(&base_env);
    set(
        &mut e,
        "kind",
        enc(&Value::text("abcdefghijklmnopqrstuvwxyz0123456")),
    );
    invalid_v.push(invalid(
        "kind_33_bytes",
        "kind is 33 bytes; the limit is 32.",
        &sign_raw(&k1, &raw_map(&e)),
        "envelope",
    ));
    let mut e = entries(&base_env);
    set(&mut e, "kind", enc(&Value::text("Practice")));
    invalid_v.push(invalid(
        "kind_uppercase",
        "kind \"Practice\" has an uppercase letter.",
        &sign_raw(&k1, &raw_map(&e)),
        "envelope",
    ));

    // ---- more schema faults ----
    let schema_fault = |seq: u64, j: Json| {
        let mut p = practice(j);
        p.fill_defaults();
        sign_raw(
            &k1,
            &enc(&envelope(
                &k1,
                "practice",
                seq,
                cbor::to_value(&p).expect("enc"),
            )),
        )
    };
    let mut j = minimal_body();
    j["supersedes"] = json!(minimal.id().to_hex());
    invalid_v.push(invalid(
        "supersedes_at_revision_1",
        "revision 1 with a supersedes.",
        &schema_fault(30, j),
        "schema",
    ));
    let w = json!({"practice_id": "BGD-A2I-0001", "revision": 2, "supersedes": minimal.id().to_hex(), "state": "withdrawn"});
    invalid_v.push(invalid(
        "withdrawal_without_reason",
        "A withdrawal with no reason.",
        &schema_fault(31, w),
        "schema",
    ));
    let w = json!({"practice_id": "BGD-A2I-0001", "revision": 2, "supersedes": minimal.id().to_hex(), "state": "withdrawn",
                   "reason": "gone", "status": 4});
    invalid_v.push(invalid(
        "withdrawal_with_status",
        "A withdrawal that also carries status.",
        &schema_fault(32, w),
        "schema",
    ));
    let mut j = minimal_body();
    j["metrics"] = json!([{"kind": "time", "stage": "sps", "method": "survey", "change_bp": -5000,
                           "baseline": 10, "after": 5, "unit": "days"}]);
    invalid_v.push(invalid(
        "metric_both_forms",
        "A metric with change_bp and raw values.",
        &schema_fault(33, j),
        "schema",
    ));
    let mut j = minimal_body();
    j["metrics"] = json!([{"kind": "cost", "stage": "sps", "method": "survey", "baseline": 10, "after": 5, "unit": "minor_currency"}]);
    invalid_v.push(invalid(
        "cost_without_currency",
        "A cost in minor_currency with no currency or price_year.",
        &schema_fault(34, j),
        "schema",
    ));
    let mut j = minimal_body();
    j["period"] = json!({"start": "2023-02-29"});
    invalid_v.push(invalid(
        "not_a_leap_day",
        "period.start is 2023-02-29.",
        &schema_fault(35, j),
        "schema",
    ));
    let mut j = minimal_body();
    j["period"] = json!({"start": "2020-06", "end": "2020-05-31"});
    invalid_v.push(invalid(
        "period_ends_before_start",
        "period.end 2020-05-31 is before the start 2020-06.",
        &schema_fault(36, j),
        "schema",
    ));
    let mut j = minimal_body();
    j["urls"] = json!(["https://?q=1"]);
    invalid_v.push(invalid(
        "url_without_authority",
        "urls[0] is https://?q=1: the authority is empty.",
        &schema_fault(37, j),
        "schema",
    ));
    let mut j = minimal_body();
    j["replaces"] = json!(["BGD-A2I-0001"]);
    invalid_v.push(invalid(
        "replaces_itself",
        "replaces lists the body's own practice_id.",
        &schema_fault(38, j),
        "schema",
    ));
    let mut j = minimal_body();
    j["title"] =
        json!({"original": "en", "text": {"en": "x", "bn": "y"}, "machine_translated": ["en"]});
    invalid_v.push(invalid(
        "original_marked_machine_translated",
        "title.machine_translated lists the original language.",
        &schema_fault(39, j),
        "schema",
    ));
    let mut j = minimal_body();
    j["title"] = json!({"original": "bn", "text": {"en": "x"}});
    invalid_v.push(invalid(
        "original_language_missing",
        "title.original is bn but title.text has no bn.",
        &schema_fault(40, j),
        "schema",
    ));
    let mut j = minimal_body();
    j["countries"] =
        json!([{"iso3": "BGD", "role": "originating"}, {"iso3": "BGD", "role": "originating"}]);
    invalid_v.push(invalid(
        "duplicate_country",
        "The same country and role twice.",
        &schema_fault(41, j),
        "schema",
    ));
    let mut j = minimal_body();
    j["licence"] = json!("CC-BY-4");
    invalid_v.push(invalid(
        "unknown_licence",
        "licence CC-BY-4 is not an SPDX id.",
        &schema_fault(42, j),
        "schema",
    ));

    // ---- the adoption and seeking kinds (spec §6b, §6c) ----
    let adopted = kinds(&mut valid_v, &mut invalid_v, &minimal);
    // ---- the attachment kind (spec §6d) ----
    attachments(&mut valid_v, &mut invalid_v, &minimal, &adopted);

    let key_files: Vec<Json> = [1u8, 2]
        .iter()
        .map(|n| {
            let k = key(*n);
            json!({
                "secret_key": hex::encode(k.seed()),
                "public_key": k.author().to_hex(),
                "pkcs8_v1_pem": k.to_pkcs8_pem().expect("pem"),
            })
        })
        .collect();

    json!({
        "description": "Test vectors for spec/record.md (Setu signed records, version 1). Generated by tests/src/vectors.rs; every hex string is lowercase.",
        "valid": valid_v,
        "invalid": invalid_v,
        "key_files": key_files,
    })
}

/// An invalid vector of a known kind refused with `schema`, with the
/// paths of its problems (`spec/record.md` §6.1, §11): each once, in the
/// order the reference reports them.
fn invalid_schema(name: &str, description: &str, signed: &[u8], paths: &[&str]) -> Json {
    let mut v = invalid(name, description, signed, "schema");
    v["paths"] = json!(paths);
    v
}

fn adoption(j: Json) -> Adoption {
    serde_json::from_value(j).expect("generator adoption bodies are well-typed")
}

fn seeking(j: Json) -> Seeking {
    serde_json::from_value(j).expect("generator seeking bodies are well-typed")
}

/// A typed body with its defaults filled in, as a CBOR value, valid or not.
fn adoption_value(j: Json) -> Value {
    let mut a = adoption(j);
    a.fill_defaults();
    cbor::to_value(&a).expect("encodable")
}

fn seeking_value(j: Json) -> Value {
    let mut s = seeking(j);
    s.fill_defaults();
    cbor::to_value(&s).expect("encodable")
}

/// The smallest valid active adoption report: a member reference.
pub fn minimal_adoption() -> Json {
    json!({
        "adoption_id": "KEN-ADOPT-0001",
        "revision": 1,
        "state": "active",
        "practice": {"member": "bd-a2i", "practice_id": "BGD-A2I-0001"},
        "country": "KEN",
        "stage": "piloting",
        "period": {"start": "2019-03"},
        "adaptation": lt("en", "Huduma centres in county towns instead of union centres.")
    })
}

/// The smallest valid open need.
pub fn minimal_seeking() -> Json {
    json!({
        "seeking_id": "NPL-NEED-0001",
        "revision": 1,
        "state": "active",
        "country": "NPL",
        "title": lt("en", "Ghost workers on the payroll"),
        "challenge": lt("en", "The public payroll still pays people who left the service.")
    })
}

/// Vectors of the kinds `adoption` and `seeking`, appended after the
/// practice vectors so that those stay byte-identical. Returns the id of
/// the adoption report `KEN-ADOPT-UDC`, which an attachment names.
fn kinds(valid_v: &mut Vec<Json>, invalid_v: &mut Vec<Json>, minimal: &record::Record) -> RecordId {
    let k1 = key(1);
    let k7 = key(7);
    let k8 = key(8);
    let k9 = key(9);

    // ---- valid ----
    let body = json!({
        "adoption_id": "KEN-ADOPT-UDC",
        "revision": 1,
        "state": "active",
        "practice": {"member": "bd-a2i", "practice_id": "BGD-A2I-0001", "record": minimal.id().to_hex()},
        "country": "KEN",
        "stage": "scaled",
        "period": {"start": "2015-03", "end": "2022"},
        "gov_level": "subnational",
        "places": ["Nakuru County", "Kisumu County"],
        "adaptation": {"original": "en", "text": {
            "en": "Huduma centres in county towns, run by civil servants instead of local entrepreneurs.",
            "sw": "Vituo vya Huduma katika miji ya kaunti."
        }, "machine_translated": ["sw"]},
        "lessons": lt("en", "Staff the centres before opening them."),
        "metrics": [
            {"kind": "time", "stage": "digital", "method": "survey", "sample_n": 120,
             "baseline": 300, "after": 45, "unit": "minutes"},
            {"kind": "visits", "stage": "digital", "method": "admin", "change_bp": -6667}
        ],
        "organisations": [
            {"name": "Huduma Kenya", "role": "implementing", "iso3": "KEN"},
            {"name": "a2i", "role": "supporting", "iso3": "BGD"}
        ],
        "contact": {"role": "Adoption desk", "email": "adopt@example.org"},
        "urls": ["https://example.org/huduma"],
        "keywords": ["one-stop shop", "county services"]
    });
    let adopted = record::sign_adoption(&k7, 1, TS, &adoption(body)).expect("valid adoption");
    valid_v.push(valid(
        "adoption",
        "An adoption report (kind adoption, spec §6b) at revision 1: the practice named by member id, the revision followed (practice.record, a byte string), TCV metrics in both forms; the licence default is filled in.",
        &k7,
        &adopted,
    ));

    let body = json!({
        "adoption_id": "NPL-ADOPT-SPS",
        "revision": 1,
        "state": "active",
        "practice": {"key": k1.author().to_hex(), "practice_id": "BGD-A2I-0004"},
        "country": "NPL",
        "stage": "exploring",
        "period": {"start": "2024-07-16"},
        "adaptation": lt("ne", "सेवा प्रक्रिया सरलीकरण नगरपालिकामा।")
    });
    let rec = record::sign_adoption(&k8, 1, TS, &adoption(body)).expect("valid adoption");
    valid_v.push(valid(
        "adoption_key_reference",
        "An adoption report in an open network: the practice's publisher named by its key (practice.key, a byte string); only the required fields.",
        &k8,
        &rec,
    ));

    let body = json!({
        "adoption_id": "KEN-ADOPT-UDC",
        "revision": 2,
        "supersedes": adopted.id().to_hex(),
        "state": "withdrawn",
        "reason": "Reported under the wrong practice."
    });
    let rec = record::sign_adoption(&k7, 2, TS, &adoption(body)).expect("valid withdrawal");
    valid_v.push(valid(
        "adoption_withdrawal",
        "Withdrawal of the adoption report at revision 2: only adoption_id, revision, supersedes, state and reason.",
        &k7,
        &rec,
    ));

    let body = json!({
        "seeking_id": "NPL-NEED-0001",
        "revision": 1,
        "state": "active",
        "country": "NPL",
        "title": {"original": "ne", "text": {"ne": "तलबी सूचीमा भूत कर्मचारी", "en": "Ghost workers on the payroll"},
                  "machine_translated": ["en"]},
        "challenge": lt("en", "The public payroll still pays people who left the service."),
        "sdg_targets": ["16.5", "16.6"],
        "sectors": [{"vocabulary": "cofog", "code": "01.3"}, {"vocabulary": "dac5", "code": "15110"}],
        "gov_level": "national",
        "languages": ["ne", "en", "hi"],
        "deadline": "2027-06",
        "keywords": ["payroll", "biometrics"],
        "contact": {"name": "Reform cell", "email": "reform@example.org"},
        "urls": ["https://example.org/payroll"]
    });
    let sought = record::sign_seeking(&k9, 1, TS, &seeking(body)).expect("valid need");
    valid_v.push(valid(
        "seeking",
        "A need (kind seeking, spec §6c) with every optional field; the licence default is filled in.",
        &k9,
        &sought,
    ));

    let body = json!({
        "seeking_id": "NPL-NEED-0001",
        "revision": 2,
        "supersedes": sought.id().to_hex(),
        "state": "withdrawn",
        "reason": "Met by an adoption of BGD-A2I-0002."
    });
    let rec = record::sign_seeking(&k9, 2, TS, &seeking(body)).expect("valid withdrawal");
    valid_v.push(valid(
        "seeking_withdrawal",
        "Withdrawal of the need at revision 2.",
        &k9,
        &rec,
    ));

    // ---- invalid: each with one fault, signed by seed 01 (spec §11) ----
    let signed =
        |kind: &str, seq: u64, body: Value| sign_raw(&k1, &enc(&envelope(&k1, kind, seq, body)));
    let adoption_fault = |seq: u64, j: Json| signed("adoption", seq, adoption_value(j));
    let seeking_fault = |seq: u64, j: Json| signed("seeking", seq, seeking_value(j));

    let mut j = minimal_adoption();
    j["practice"]["key"] = json!(key(2).author().to_hex());
    invalid_v.push(invalid_schema(
        "adoption_member_and_key",
        "body.practice names the publisher both by member and by key.",
        &adoption_fault(60, j),
        &["body.practice"],
    ));
    let mut j = minimal_adoption();
    j["practice"] = json!({"practice_id": "BGD-A2I-0001"});
    invalid_v.push(invalid_schema(
        "adoption_no_publisher",
        "body.practice has neither member nor key.",
        &adoption_fault(61, j),
        &["body.practice"],
    ));
    let mut j = minimal_adoption();
    j["practice"]["member"] = json!("BD-A2I");
    invalid_v.push(invalid_schema(
        "adoption_bad_member_id",
        "body.practice.member is \"BD-A2I\": a member id is lowercase.",
        &adoption_fault(62, j),
        &["body.practice.member"],
    ));
    let mut j = minimal_adoption();
    j["stage"] = json!("done");
    invalid_v.push(invalid_schema(
        "adoption_bad_stage",
        "body.stage is \"done\", not one of exploring, piloting, scaled, discontinued.",
        &adoption_fault(63, j),
        &["body.stage"],
    ));
    let mut j = minimal_adoption();
    j.as_object_mut().expect("object").remove("adaptation");
    invalid_v.push(invalid_schema(
        "adoption_without_adaptation",
        "An active adoption report with no adaptation.",
        &adoption_fault(64, j),
        &["body.adaptation"],
    ));
    let mut j = minimal_adoption();
    j["places"] = json!([
        "Nakuru County",
        "x".repeat(setu_core::adoption::PLACE_BYTES + 1)
    ]);
    invalid_v.push(invalid_schema(
        "adoption_place_too_long",
        "body.places[1] is 129 bytes; the limit is 128.",
        &adoption_fault(65, j),
        &["body.places[1]"],
    ));
    let w = json!({"adoption_id": "KEN-ADOPT-0001", "revision": 2, "supersedes": minimal.id().to_hex(),
                   "state": "withdrawn", "reason": "Ended.", "stage": "discontinued"});
    invalid_v.push(invalid_schema(
        "adoption_withdrawal_with_stage",
        "An adoption withdrawal that also carries stage.",
        &adoption_fault(66, w),
        &["body.stage"],
    ));
    let mut body = adoption_value(minimal_adoption());
    if let Value::Map(m) = &mut body {
        m.push(("budget".into(), Value::Uint(100)));
    }
    invalid_v.push(invalid_schema(
        "adoption_unknown_key",
        "The adoption body has a key \"budget\" that §6b does not define.",
        &signed("adoption", 67, body),
        &["body.budget"],
    ));
    let mut body = adoption_value(minimal_adoption());
    if let Value::Map(m) = &mut body {
        for (k, v) in m.iter_mut() {
            if k == "practice"
                && let Value::Map(r) = v
            {
                r.push(("key".into(), Value::Bytes(vec![7; 31])));
                r.retain(|(k, _)| k != "member");
            }
        }
    }
    invalid_v.push(invalid_schema(
        "adoption_key_31_bytes",
        "body.practice.key is a byte string of 31 bytes, not 32.",
        &signed("adoption", 68, body),
        &["body.practice.key"],
    ));

    let mut j = minimal_seeking();
    j["languages"] = json!(["ne", "en", "ne"]);
    invalid_v.push(invalid_schema(
        "seeking_duplicate_language",
        "body.languages lists ne twice.",
        &seeking_fault(70, j),
        &["body.languages[2]"],
    ));
    let mut j = minimal_seeking();
    j.as_object_mut().expect("object").remove("challenge");
    invalid_v.push(invalid_schema(
        "seeking_without_challenge",
        "An active need with no challenge.",
        &seeking_fault(71, j),
        &["body.challenge"],
    ));
    let mut j = minimal_seeking();
    j["deadline"] = json!("2027-13");
    invalid_v.push(invalid_schema(
        "seeking_bad_deadline",
        "body.deadline is 2027-13, not a date.",
        &seeking_fault(72, j),
        &["body.deadline"],
    ));
    adopted.id()
}

fn attachment(j: Json) -> Attachment {
    serde_json::from_value(j).expect("generator attachment bodies are well-typed")
}

/// A typed attachment body as a CBOR value, valid or not (no defaults:
/// the kind has none).
fn attachment_value(j: Json) -> Value {
    cbor::to_value(&attachment(j)).expect("encodable")
}

/// The BLAKE3 hash of the `n` bytes `i mod 251` (i = 0, 1, …), the input
/// pattern of BLAKE3's own test vectors, for n = 40 000 and 1 048 576.
/// The record only carries the hash (spec §6d); these are real hashes so
/// that the vectors name files anyone can make.
const BLAKE3_PATTERN_40000: &str =
    "ccd32b4544a24c50fbefb249e10a8fcedc26e2794c79eb8a44ad0631bf07f53f";
const BLAKE3_PATTERN_1048576: &str =
    "74cb441fd087764ca9c3694da742ebe30cbeb3060a17009ca81825c7a8d10343";

/// The smallest valid active attachment: a report on a practice named by
/// member id, with no licence (it has the practice's).
pub fn minimal_attachment() -> Json {
    json!({
        "attachment_id": "BGD-ATT-0001",
        "revision": 1,
        "state": "active",
        "practice": {"member": "bd-a2i", "practice_id": "BGD-A2I-0001"},
        "hash": BLAKE3_PATTERN_40000,
        "size": 40_000,
        "media_type": "application/pdf",
        "title": lt("en", "Union Digital Centres: evaluation report"),
        "language": "en",
        "category": "report"
    })
}

/// Vectors of the kind `attachment`, appended after the other kinds so
/// that those stay byte-identical.
fn attachments(
    valid_v: &mut Vec<Json>,
    invalid_v: &mut Vec<Json>,
    minimal: &record::Record,
    adopted: &RecordId,
) {
    let k1 = key(1);
    let k10 = key(10);
    let k11 = key(11);
    let k12 = key(12);
    let sign = |k: &SecretKey, seq: u64, j: Json| {
        record::sign_attachment(k, seq, TS, &attachment(j)).expect("valid attachment")
    };

    // ---- valid ----
    let body = json!({
        "attachment_id": "BGD-ATT-0001",
        "revision": 1,
        "state": "active",
        "practice": {"member": "bd-a2i", "practice_id": "BGD-A2I-0001", "record": minimal.id().to_hex()},
        "hash": BLAKE3_PATTERN_40000,
        "size": 40_000,
        "media_type": "application/pdf",
        "title": {"original": "bn", "text": {
            "bn": "ইউনিয়ন ডিজিটাল সেন্টার: মূল্যায়ন প্রতিবেদন",
            "en": "Union Digital Centres: evaluation report"
        }, "machine_translated": ["en"]},
        "language": "bn",
        "category": "report",
        "licence": "CC-BY-SA-4.0",
        "description": lt("en", "An independent evaluation of the centres' time, cost and visit savings."),
        "file_name": "udc-evaluation-2019.pdf"
    });
    let attached = sign(&k10, 1, body);
    valid_v.push(valid(
        "attachment",
        "An attachment (kind attachment, spec §6d) on a practice named by member id, with the revision it was attached to (practice.record) and every optional field. hash (a byte string) is the BLAKE3 hash of the 40,000 bytes i mod 251 (i = 0, 1, ...).",
        &k10,
        &attached,
    ));

    let body = json!({
        "attachment_id": "KEN-ATT-0001",
        "revision": 1,
        "state": "active",
        "adoption": {"member": "ke-huduma", "adoption_id": "KEN-ADOPT-UDC", "record": adopted.to_hex()},
        "hash": BLAKE3_PATTERN_1048576,
        "size": 1_048_576,
        "media_type": "video/mp4",
        "title": lt("sw", "Vituo vya Huduma: jinsi vinavyofanya kazi"),
        "language": "sw",
        "category": "video"
    });
    let rec = sign(&k11, 1, body);
    valid_v.push(valid(
        "attachment_adoption",
        "An attachment on an adoption report named by member id (adoption.record, a byte string); only the required fields: no licence is filled in, so it has the adoption report's. hash is the BLAKE3 hash of the 1,048,576 bytes i mod 251.",
        &k11,
        &rec,
    ));

    let body = json!({
        "attachment_id": "NPL-ATT-SPS-DATA",
        "revision": 1,
        "state": "active",
        "practice": {"key": k1.author().to_hex(), "practice_id": "BGD-A2I-0004"},
        "hash": BLAKE3_PATTERN_40000,
        "size": 40_000,
        "media_type": "text/csv",
        "title": lt("en", "Service Process Simplification: TCV measurements"),
        "language": "en",
        "category": "dataset",
        "licence": "CC0-1.0"
    });
    let rec = sign(&k12, 1, body);
    valid_v.push(valid(
        "attachment_key_reference",
        "An attachment in an open network: the practice's publisher named by its key (practice.key, a byte string); a dataset under its own licence.",
        &k12,
        &rec,
    ));

    let body = json!({
        "attachment_id": "BGD-ATT-0001",
        "revision": 2,
        "supersedes": attached.id().to_hex(),
        "state": "withdrawn",
        "reason": "Replaced by the corrected report BGD-ATT-0002."
    });
    let rec = sign(&k10, 2, body);
    valid_v.push(valid(
        "attachment_withdrawal",
        "Withdrawal of the attachment at revision 2: only attachment_id, revision, supersedes, state and reason.",
        &k10,
        &rec,
    ));

    // ---- invalid: each with one fault, signed by seed 01 (spec §11) ----
    let signed =
        |seq: u64, body: Value| sign_raw(&k1, &enc(&envelope(&k1, "attachment", seq, body)));
    let fault = |seq: u64, j: Json| signed(seq, attachment_value(j));
    let mut push = |name: &str, description: &str, seq: u64, j: Json, path: &str| {
        invalid_v.push(invalid_schema(name, description, &fault(seq, j), &[path]));
    };

    let mut j = minimal_attachment();
    j["size"] = json!(0);
    push(
        "attachment_size_zero",
        "body.size is 0; a file has 1 to 2^40 bytes.",
        80,
        j,
        "body.size",
    );
    let mut j = minimal_attachment();
    j["size"] = json!(MAX_ATTACHMENT_SIZE_FORMAT + 1);
    push(
        "attachment_size_above_limit",
        "body.size is 2^40 + 1 (1,099,511,627,777), above the format's limit of 2^40.",
        81,
        j,
        "body.size",
    );
    let mut j = minimal_attachment();
    j["media_type"] = json!("text/csv; charset=utf-8");
    push(
        "attachment_media_type_parameter",
        "body.media_type is \"text/csv; charset=utf-8\": a media type has no parameters.",
        82,
        j,
        "body.media_type",
    );
    let mut j = minimal_attachment();
    j["media_type"] = json!("application/PDF");
    push(
        "attachment_media_type_uppercase",
        "body.media_type is \"application/PDF\": a media type is lowercase.",
        83,
        j,
        "body.media_type",
    );
    let mut j = minimal_attachment();
    j["media_type"] = json!("chemical/x-pdb");
    push(
        "attachment_media_type_unknown_type",
        "body.media_type is \"chemical/x-pdb\": the type is not one of application, audio, font, image, model, text, video.",
        84,
        j,
        "body.media_type",
    );
    let mut j = minimal_attachment();
    j["adoption"] = json!({"member": "ke-huduma", "adoption_id": "KEN-ADOPT-UDC"});
    push(
        "attachment_practice_and_adoption",
        "The attachment names both a practice and an adoption report.",
        85,
        j,
        "body.practice",
    );
    let mut j = minimal_attachment();
    j.as_object_mut().expect("object").remove("practice");
    push(
        "attachment_no_practice_or_adoption",
        "The attachment names neither a practice nor an adoption report.",
        86,
        j,
        "body.practice",
    );
    let mut j = minimal_attachment();
    j["category"] = json!("book");
    push(
        "attachment_bad_category",
        "body.category is \"book\", not one of report, toolkit, infographic, video, audio, dataset, other.",
        87,
        j,
        "body.category",
    );
    let mut j = minimal_attachment();
    j["file_name"] = json!("../udc-evaluation.pdf");
    push(
        "attachment_bad_file_name",
        "body.file_name is \"../udc-evaluation.pdf\": a file name holds no /.",
        88,
        j,
        "body.file_name",
    );
    let w = json!({"attachment_id": "BGD-ATT-0001", "revision": 2, "supersedes": minimal.id().to_hex(),
                   "state": "withdrawn", "reason": "Wrong file.", "hash": BLAKE3_PATTERN_40000});
    push(
        "attachment_withdrawal_with_hash",
        "An attachment withdrawal that also carries hash.",
        89,
        w,
        "body.hash",
    );

    let mut body = attachment_value(minimal_attachment());
    if let Value::Map(m) = &mut body {
        m.push(("pages".into(), Value::Uint(48)));
    }
    invalid_v.push(invalid_schema(
        "attachment_unknown_key",
        "The attachment body has a key \"pages\" that §6d does not define.",
        &signed(90, body),
        &["body.pages"],
    ));
    let mut body = attachment_value(minimal_attachment());
    if let Value::Map(m) = &mut body {
        for (k, v) in m.iter_mut() {
            if k == "hash"
                && let Value::Bytes(b) = v
            {
                b.truncate(31);
            }
        }
    }
    invalid_v.push(invalid_schema(
        "attachment_hash_31_bytes",
        "body.hash is a byte string of 31 bytes, not 32.",
        &signed(91, body),
        &["body.hash"],
    ));
}

/// The vector file as written to disk: pretty JSON and a final newline.
pub fn render() -> String {
    let mut s = serde_json::to_string_pretty(&generate()).expect("serialisable");
    s.push('\n');
    s
}
