//! Property tests of the codec, the record check and the verifiers.
//!
//! Failing seeds are kept in `proptest-regressions/` beside this file.

// The counting allocator below is the only unsafe code in the workspace: a
// global allocator cannot be written without it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use proptest::prelude::*;
use setu_core::cbor::{self, Value};
use setu_core::keys::SecretKey;
use setu_core::practice::{CountryRole, LangText, Metric, Period, Practice};
use setu_core::record;
use unicode_normalization::UnicodeNormalization;

// ---- an allocator that tracks this thread's peak heap use ----

struct Counting;

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = CURRENT.try_with(|c| {
            let now = c.get() + layout.size();
            c.set(now);
            let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
        });
        // SAFETY: forwarding to the system allocator with the same layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = CURRENT.try_with(|c| c.set(c.get().saturating_sub(layout.size())));
        // SAFETY: ptr was allocated by System with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak bytes allocated by `f` on this thread, above what was live before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

// ---- strategies ----

fn nfc_text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!(
        "[a-zA-Z0-9 àéíõüçñ\u{0985}-\u{09b9}\u{09cd}\u{0627}-\u{064a}]{{1,{max}}}"
    ))
    .expect("regex")
    .prop_map(|s| s.nfc().collect::<String>())
    .prop_filter("non-empty", |s| !s.is_empty())
}

fn value_tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<u64>().prop_map(Value::Uint),
        (i64::MIN..0i64).prop_map(Value::Nint),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(Value::Bytes),
        nfc_text(12).prop_map(Value::Text),
        any::<bool>().prop_map(Value::Bool),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(nfc_text(8), inner, 0..6).prop_map(Value::map),
        ]
    })
}

const LANGS: &[&str] = &["en", "bn", "ar", "es", "pt", "fr", "sw", "id"];
const COUNTRIES: &[&str] = &[
    "BGD", "RWA", "KEN", "BRA", "IDN", "IND", "MEX", "PER", "GHA", "PHL",
];
const TARGETS: &[&str] = &["16.6", "16.7", "1.a", "9.c", "10.2", "17.19", "3.d", "5.b"];

fn lang_text() -> impl Strategy<Value = LangText> {
    (
        proptest::sample::subsequence(LANGS, 1..4),
        proptest::collection::vec(nfc_text(30), 4),
    )
        .prop_map(|(langs, texts)| LangText {
            original: langs[0].to_string(),
            text: langs
                .iter()
                .zip(texts)
                .map(|(l, t)| (l.to_string(), t))
                .collect(),
            machine_translated: langs[1..].iter().map(|l| l.to_string()).take(1).collect(),
        })
}

fn metric() -> impl Strategy<Value = Metric> {
    prop_oneof![
        (-10_000i64..=100_000).prop_map(|bp| Metric {
            kind: "time".into(),
            stage: "digital".into(),
            method: "survey".into(),
            sample_n: Some(300),
            source: None,
            baseline: None,
            after: None,
            unit: None,
            currency: None,
            price_year: None,
            change_bp: Some(bp),
        }),
        (any::<u64>(), any::<u64>()).prop_map(|(b, a)| Metric {
            kind: "cost".into(),
            stage: "sps".into(),
            method: "admin".into(),
            sample_n: None,
            source: Some("https://example.org/x".into()),
            baseline: Some(b),
            after: Some(a),
            unit: Some("minor_currency".into()),
            currency: Some("BDT".into()),
            price_year: Some(2020),
            change_bp: None,
        }),
    ]
}

fn practice() -> impl Strategy<Value = Practice> {
    (
        "[A-Z]{3}-[A-Z0-9]{1,8}-[0-9]{1,4}",
        (lang_text(), lang_text(), lang_text(), lang_text()),
        proptest::sample::subsequence(COUNTRIES, 1..4),
        proptest::sample::subsequence(TARGETS, 1..4),
        1u64..=6,
        (1990u64..2030, proptest::option::of(1u64..10)),
        proptest::collection::vec(metric(), 0..3),
        proptest::collection::vec(nfc_text(20), 0..3),
        proptest::option::of(lang_text()),
    )
        .prop_map(
            |(
                id,
                (title, summary, challenge, solution),
                countries,
                targets,
                status,
                (start, len),
                metrics,
                keywords,
                lessons,
            )| {
                let mut p: Practice = serde_json::from_value(serde_json::json!({
                    "practice_id": id, "revision": 1, "state": "active"
                }))
                .expect("skeleton");
                p.title = Some(title);
                p.summary = Some(summary);
                p.challenge = Some(challenge);
                p.solution = Some(solution);
                p.countries = countries
                    .iter()
                    .enumerate()
                    .map(|(i, c)| CountryRole {
                        iso3: c.to_string(),
                        role: if i == 0 { "originating" } else { "adopting" }.into(),
                    })
                    .collect();
                p.sdg_targets = targets.iter().map(|t| t.to_string()).collect();
                p.status = Some(status);
                p.period = Some(Period {
                    start: start.to_string(),
                    end: len.map(|l| (start + l).to_string()),
                });
                p.metrics = metrics;
                p.keywords = keywords;
                p.lessons = lessons;
                p.fill_defaults();
                p
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn cbor_values_round_trip(v in value_tree()) {
        let bytes = cbor::encode(&v).expect("encodable");
        let back = cbor::decode(&bytes).expect("decodable");
        prop_assert_eq!(cbor::encode(&back).expect("again"), bytes);
        // Values built with Value::map are already canonical: equal, not just equivalent.
        prop_assert_eq!(back, v);
    }

    #[test]
    fn decoder_never_panics_and_allocates_in_proportion(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let (_, peak) = peak_of(|| cbor::decode(&bytes));
        prop_assert!(peak <= 96 * bytes.len() + 4096, "{} bytes of input allocated {} bytes", bytes.len(), peak);
        let (_, peak) = peak_of(|| record::check(bytes.clone()));
        prop_assert!(peak <= 96 * bytes.len() + 8192, "{} bytes of input allocated {} bytes", bytes.len(), peak);
    }

    #[test]
    fn hostile_declared_lengths_cost_nothing(major in 2u8..6, tail in proptest::collection::vec(any::<u8>(), 0..16)) {
        let mut bytes = vec![(major << 5) | 27, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        bytes.extend(tail);
        let (r, peak) = peak_of(|| cbor::decode(&bytes));
        prop_assert!(r.is_err());
        prop_assert!(peak < 4096);
    }

    #[test]
    fn mutated_records_never_panic(p in practice(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let key = SecretKey::from_seed(&[9; 32]);
        let rec = record::sign_practice(&key, 1, 1, &p).expect("valid body");
        let mut bytes = rec.bytes().to_vec();
        for (i, x) in flips {
            let n = bytes.len();
            bytes[i.index(n)] ^= x | 1;
        }
        let single = record::check(bytes.clone()).map(|r| r.id()).map_err(|e| e.reason);
        let batch = record::check_batch(vec![bytes]).remove(0).map(|r| r.id()).map_err(|e| e.reason);
        prop_assert_eq!(single, batch);
    }

    #[test]
    fn practice_bodies_round_trip(p in practice()) {
        prop_assert_eq!(setu_core::practice::validate(&p), vec![]);
        let key = SecretKey::from_seed(&[7; 32]);
        let rec = record::sign_practice(&key, 1, 1_767_225_600_000, &p).expect("valid body");
        let checked = record::check(rec.bytes().to_vec()).expect("checks");
        prop_assert_eq!(checked.practice(), Some(&p));
        // decode(encode(x)) == x through CBOR, and through JSON.
        let v = cbor::to_value(&p).expect("to value");
        let back: Practice = cbor::from_value(&cbor::decode(&cbor::encode(&v).expect("enc")).expect("dec")).expect("typed");
        prop_assert_eq!(&back, &p);
        let json = serde_json::to_string(&p).expect("json");
        let back: Practice = serde_json::from_str(&json).expect("from json");
        prop_assert_eq!(back, p);
    }
}

// ---- batch and single verification agree on hostile mixes ----

#[derive(Debug, Clone)]
enum Hostile {
    Good,
    FlipSig(usize),
    SmallOrderKey(usize),
    SmallOrderR(usize),
    TorsionR(usize),
    SPlusL,
    Garbage(Vec<u8>),
}

fn hostile() -> impl Strategy<Value = Hostile> {
    prop_oneof![
        4 => Just(Hostile::Good),
        1 => (0usize..64).prop_map(Hostile::FlipSig),
        1 => (0usize..8).prop_map(Hostile::SmallOrderKey),
        1 => (0usize..8).prop_map(Hostile::SmallOrderR),
        1 => (1usize..8).prop_map(Hostile::TorsionR),
        1 => Just(Hostile::SPlusL),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Hostile::Garbage),
    ]
}

fn make(h: &Hostile, seed: u8, seq: u64) -> Vec<u8> {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};

    let key = SecretKey::from_seed(&[seed; 32]);
    let body = Value::map([("n", Value::Uint(seq))]);
    let rec = record::sign(&key, "probe", seq, 1, body.clone()).expect("signable");
    let env = rec.envelope_bytes().to_vec();
    let pack = |env: Vec<u8>, sig: [u8; 64]| {
        cbor::encode(&Value::Array(vec![
            Value::Bytes(env),
            Value::Bytes(sig.to_vec()),
        ]))
        .expect("enc")
    };
    let mut sig = *rec.signature();
    match h {
        Hostile::Good => rec.bytes().to_vec(),
        Hostile::FlipSig(i) => {
            sig[*i] ^= 0x04;
            pack(env, sig)
        }
        Hostile::SmallOrderKey(i) => {
            let author = EIGHT_TORSION[*i].compress().to_bytes();
            let envelope = Value::map([
                ("v", Value::Uint(1)),
                ("kind", Value::text("probe")),
                ("author", Value::Bytes(author.to_vec())),
                ("seq", Value::Uint(seq)),
                ("ts", Value::Uint(1)),
                ("body", body),
            ]);
            let env = cbor::encode(&envelope).expect("enc");
            let mut trivial = [0u8; 64];
            trivial[..32].copy_from_slice(&EIGHT_TORSION[(*i + 1) % 8].compress().to_bytes());
            pack(env, trivial)
        }
        Hostile::SmallOrderR(i) => {
            sig[..32].copy_from_slice(&EIGHT_TORSION[*i].compress().to_bytes());
            pack(env, sig)
        }
        Hostile::TorsionR(i) => {
            let sk = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
            let r = Scalar::from(u64::from(seed) * 1_000_003 + seq);
            let big_r = (r * ED25519_BASEPOINT_POINT + EIGHT_TORSION[*i])
                .compress()
                .to_bytes();
            let id = setu_core::ids::RecordId::of_envelope(&env);
            let mut h = Sha512::new();
            h.update(big_r);
            h.update(key.author().0);
            h.update(setu_core::keys::signed_message(&id));
            let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
            let s = r + k * sk.to_scalar();
            sig[..32].copy_from_slice(&big_r);
            sig[32..].copy_from_slice(s.as_bytes());
            pack(env, sig)
        }
        Hostile::SPlusL => {
            // Add L to S (little endian); S + L < 2^256 since S < L < 2^253.
            let l = curve25519_dalek::scalar::Scalar::ZERO - curve25519_dalek::scalar::Scalar::ONE;
            let l_minus_1 = l.to_bytes();
            let mut carry = 1u16; // (L - 1) + 1 = L
            for i in 0..32 {
                let t = u16::from(sig[32 + i]) + u16::from(l_minus_1[i]) + carry;
                sig[32 + i] = t as u8;
                carry = t >> 8;
            }
            pack(env, sig)
        }
        Hostile::Garbage(g) => g.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn batch_and_single_verification_agree(mix in proptest::collection::vec(hostile(), 1..24)) {
        let inputs: Vec<Vec<u8>> = mix.iter().enumerate().map(|(i, h)| make(h, (i % 5) as u8 + 1, i as u64 + 1)).collect();
        let single: Vec<_> = inputs.iter().map(|b| record::check(b.clone()).map(|r| r.id()).map_err(|e| e.reason)).collect();
        let batch: Vec<_> = record::check_batch(inputs).into_iter().map(|r| r.map(|r| r.id()).map_err(|e| e.reason)).collect();
        prop_assert_eq!(&single, &batch);
        for (h, r) in mix.iter().zip(&single) {
            match h {
                Hostile::Good | Hostile::TorsionR(_) => prop_assert!(r.is_ok(), "{:?} refused: {:?}", h, r),
                Hostile::SmallOrderKey(_) => prop_assert_eq!(r, &Err(record::Reason::Key)),
                Hostile::SmallOrderR(_) | Hostile::SPlusL => prop_assert_eq!(r, &Err(record::Reason::Signature)),
                _ => {}
            }
        }
    }
}

#[test]
fn the_allocation_probe_sees_allocations() {
    let (v, peak) = peak_of(|| vec![0u8; 100_000]);
    assert_eq!(v.len(), 100_000);
    assert!(peak >= 100_000, "{peak}");
}
