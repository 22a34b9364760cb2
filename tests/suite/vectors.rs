//! `spec/vectors/records.json`: every vector is checked against the code.

use serde_json::Value as Json;
use setu_core::adoption::Adoption;
use setu_core::attachment::Attachment;
use setu_core::cbor;
use setu_core::keys::SecretKey;
use setu_core::practice::Practice;
use setu_core::record::{self, Reason};
use setu_core::seeking::Seeking;

fn load() -> Json {
    let path = setu_tests::repo_root().join("spec/vectors/records.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("records.json is JSON")
}

fn hexfield(v: &Json, key: &str) -> Vec<u8> {
    hex::decode(
        v[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} missing in {}", v["name"])),
    )
    .expect("hex")
}

#[test]
fn committed_vectors_match_the_generator() {
    let path = setu_tests::repo_root().join("spec/vectors/records.json");
    let committed = std::fs::read_to_string(path).expect("read");
    assert!(
        committed == setu_tests::vectors::render(),
        "spec/vectors/records.json is stale: run `cargo run -p setu-tests --bin gen-vectors > spec/vectors/records.json`"
    );
}

#[test]
fn coverage_is_what_the_spec_promises() {
    let v = load();
    let names = |k: &str| -> Vec<String> {
        v[k].as_array()
            .expect("array")
            .iter()
            .map(|x| x["name"].as_str().expect("name").to_string())
            .collect()
    };
    let valid = names("valid");
    let invalid = names("invalid");
    assert!(valid.len() >= 8 && invalid.len() >= 15);
    for n in [
        "minimal",
        "maximal",
        "multilingual",
        "revision",
        "withdrawal",
        "tcv_metrics",
        "unknown_kind",
        "adoption",
        "adoption_key_reference",
        "adoption_withdrawal",
        "seeking",
        "seeking_withdrawal",
        "attachment",
        "attachment_adoption",
        "attachment_withdrawal",
    ] {
        assert!(valid.contains(&n.to_string()), "missing valid vector {n}");
    }
    for n in [
        "non_shortest_integer",
        "unsorted_keys",
        "duplicate_key",
        "indefinite_length",
        "float",
        "tag",
        "null",
        "trailing_bytes",
        "invalid_utf8",
        "non_nfc_text",
        "wrong_signature",
        "small_order_key_trivial_signature",
        "nesting_too_deep",
        "oversize",
        "unknown_sdg_target",
        "no_originating_country",
        "unknown_body_key",
        "adoption_member_and_key",
        "adoption_bad_stage",
        "adoption_withdrawal_with_stage",
        "adoption_unknown_key",
        "seeking_duplicate_language",
        "attachment_hash_31_bytes",
        "attachment_size_zero",
        "attachment_size_above_limit",
        "attachment_media_type_parameter",
        "attachment_media_type_uppercase",
        "attachment_media_type_unknown_type",
        "attachment_practice_and_adoption",
        "attachment_no_practice_or_adoption",
        "attachment_unknown_key",
        "attachment_bad_category",
        "attachment_bad_file_name",
    ] {
        assert!(
            invalid.contains(&n.to_string()),
            "missing invalid vector {n}"
        );
    }
}

#[test]
fn every_valid_vector_checks_and_reproduces() {
    let v = load();
    for vec in v["valid"].as_array().expect("valid") {
        let name = vec["name"].as_str().expect("name");
        let signed = hexfield(vec, "signed_record");
        let rec = record::check(signed.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(rec.id().to_hex(), vec["id"].as_str().expect("id"), "{name}");
        assert_eq!(
            rec.envelope_bytes(),
            hexfield(vec, "envelope_cbor"),
            "{name}"
        );
        assert_eq!(
            rec.signature().to_vec(),
            hexfield(vec, "signature"),
            "{name}"
        );
        assert_eq!(rec.envelope_json(), vec["envelope_json"], "{name}");

        // The batch path gives the same answer.
        let batch = record::check_batch(vec![signed.clone(), signed.clone()]);
        assert!(
            batch
                .iter()
                .all(|r| r.as_ref().map(|r| r.id()) == Ok(rec.id())),
            "{name}"
        );

        // From the JSON form and the key, signing reproduces the bytes.
        if vec.get("rfc8032_signature") == Some(&Json::Bool(false)) {
            continue;
        }
        let seed: [u8; 32] = hexfield(vec, "secret_key")
            .try_into()
            .expect("32-byte seed");
        let key = SecretKey::from_seed(&seed);
        let env = &vec["envelope_json"];
        assert_eq!(
            env["author"].as_str(),
            Some(key.author().to_hex().as_str()),
            "{name}"
        );
        let (seq, ts) = (
            env["seq"].as_u64().expect("seq"),
            env["ts"].as_u64().expect("ts"),
        );
        // The known kinds read their JSON form through their typed bodies,
        // which know the byte-string fields (spec §8).
        let again = if env["kind"] == "practice" {
            let body: Practice = serde_json::from_value(env["body"].clone()).expect("typed body");
            record::sign_practice(&key, seq, ts, &body)
        } else if env["kind"] == "adoption" {
            let body: Adoption = serde_json::from_value(env["body"].clone()).expect("typed body");
            record::sign_adoption(&key, seq, ts, &body)
        } else if env["kind"] == "seeking" {
            let body: Seeking = serde_json::from_value(env["body"].clone()).expect("typed body");
            record::sign_seeking(&key, seq, ts, &body)
        } else if env["kind"] == "attachment" {
            let body: Attachment = serde_json::from_value(env["body"].clone()).expect("typed body");
            record::sign_attachment(&key, seq, ts, &body)
        } else {
            let body = setu_core::json::from_json(&env["body"]).expect("body");
            record::sign(&key, env["kind"].as_str().expect("kind"), seq, ts, body)
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            again.bytes(),
            &signed[..],
            "{name}: signing the JSON form did not reproduce the bytes"
        );
    }
}

#[test]
fn every_invalid_vector_fails_for_its_stated_reason() {
    let v = load();
    let all: Vec<(String, Vec<u8>, Reason)> = v["invalid"]
        .as_array()
        .expect("invalid")
        .iter()
        .map(|x| {
            let name = x["name"].as_str().expect("name").to_string();
            let reason = Reason::from_code(x["reason"].as_str().expect("reason"))
                .expect("known reason code");
            (name, hexfield(x, "signed_record"), reason)
        })
        .collect();
    for (name, bytes, reason) in &all {
        let err = record::check(bytes.clone())
            .err()
            .unwrap_or_else(|| panic!("{name} was accepted"));
        assert_eq!(err.reason, *reason, "{name}: {err}");
    }
    // Where a vector names the paths of its problems (spec §6.1, §11), the
    // reference reports exactly those, each once, in that order.
    for x in v["invalid"].as_array().expect("invalid") {
        let Some(paths) = x.get("paths") else {
            continue;
        };
        let name = x["name"].as_str().expect("name");
        let want: Vec<&str> = paths
            .as_array()
            .expect("paths is an array")
            .iter()
            .map(|p| p.as_str().expect("a path is text"))
            .collect();
        let err = record::check(hexfield(x, "signed_record"))
            .err()
            .unwrap_or_else(|| panic!("{name} was accepted"));
        let mut got: Vec<&str> = Vec::new();
        for p in &err.problems {
            if !got.contains(&p.path.as_str()) {
                got.push(&p.path);
            }
        }
        assert_eq!(got, want, "{name}: {err}");
    }
    // All at once through the batch path, mixed with a good record.
    let good = hexfield(&v["valid"][0], "signed_record");
    let mut inputs: Vec<Vec<u8>> = all.iter().map(|(_, b, _)| b.clone()).collect();
    inputs.push(good);
    let results = record::check_batch(inputs);
    for ((name, _, reason), got) in all.iter().zip(&results) {
        assert_eq!(
            got.as_ref().err().map(|e| e.reason),
            Some(*reason),
            "{name} (batch)"
        );
    }
    assert!(results.last().is_some_and(Result::is_ok));
}

#[test]
fn signed_bytes_of_invalid_vectors_really_are_signed() {
    // Faults other than key and signature come with a correct signature over
    // the bad bytes, so each vector fails only for its stated reason.
    let v = load();
    for x in v["invalid"].as_array().expect("invalid") {
        let reason = x["reason"].as_str().expect("reason");
        if matches!(reason, "key" | "signature") || x["name"] == "not_a_pair" {
            continue;
        }
        let bytes = hexfield(x, "signed_record");
        let Ok(cbor::Value::Array(items)) = decode_lenient_outer(&bytes) else {
            panic!("{}: outer array unreadable", x["name"])
        };
        let (Some(env), Some(sig)) = (items[0].as_bytes(), items[1].as_bytes()) else {
            panic!("{}: not [bstr, bstr]", x["name"])
        };
        let id = setu_core::ids::RecordId::of_envelope(env);
        let msg = setu_core::keys::signed_message(&id);
        // The author key sits in the envelope; the vectors use seed 1.
        let key = SecretKey::from_seed(&[1; 32]);
        let sig: [u8; 64] = sig.try_into().expect("64");
        assert_eq!(
            setu_core::verify::verify_one(key.author().as_bytes(), &msg, &sig),
            Ok(()),
            "{}",
            x["name"]
        );
    }
}

/// The outer array of a vector whose only fault is inside the envelope (or
/// trailing bytes after a good record).
fn decode_lenient_outer(bytes: &[u8]) -> Result<cbor::Value, cbor::DecodeError> {
    cbor::decode(bytes).or_else(|_| cbor::decode(&bytes[..bytes.len() - 1]))
}

#[test]
fn key_files_are_pkcs8_v1_and_derive_the_author() {
    let v = load();
    let files = v["key_files"].as_array().expect("key_files");
    assert!(!files.is_empty());
    for k in files {
        let seed: [u8; 32] = hexfield(k, "secret_key").try_into().expect("seed");
        let key = SecretKey::from_seed(&seed);
        let pem = k["pkcs8_v1_pem"].as_str().expect("pem");
        assert_eq!(key.to_pkcs8_pem().expect("pem"), pem);
        assert_eq!(SecretKey::from_pkcs8_pem(pem).expect("read").seed(), seed);
        assert_eq!(
            key.author().to_hex(),
            k["public_key"].as_str().expect("public_key")
        );
    }
}

#[test]
fn an_older_rule_set_holds_the_new_kinds_opaque() {
    // spec/record.md §6.10: a node that knows only `practice` accepts every
    // adoption, seeking and attachment vector, the invalid ones too, as an
    // unknown kind, and a node that knows every kind but `attachment` does
    // so with the attachment vectors; a node of this version refuses the
    // invalid ones with `schema`, which is no offence (spec/versioning.md
    // §2).
    let v = load();
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for (group, x) in ["valid", "invalid"].iter().flat_map(|g| {
        v[*g]
            .as_array()
            .expect("group")
            .iter()
            .map(move |x| (*g, x))
    }) {
        let bytes = hexfield(x, "signed_record");
        let Ok(parsed) = record::parse(bytes.clone()) else {
            continue;
        };
        let kind = parsed.envelope().kind.clone();
        if !["adoption", "seeking", "attachment"].contains(&kind.as_str()) {
            continue;
        }
        *seen.entry(kind.clone()).or_default() += 1;
        let name = x["name"].as_str().expect("name");
        let older: &[record::KnownKinds] = if kind == "attachment" {
            &[
                record::KnownKinds::PracticeOnly,
                record::KnownKinds::BeforeAttachment,
            ]
        } else {
            &[record::KnownKinds::PracticeOnly]
        };
        for known in older {
            let old = record::check_known(bytes.clone(), *known)
                .unwrap_or_else(|e| panic!("{name}: a node with {known:?} refuses it: {e}"));
            assert_eq!(old.body(), &record::Body::Unknown, "{name} ({known:?})");
        }
        // A node before attachments still checks the adoption kinds.
        let before = record::check_known(bytes.clone(), record::KnownKinds::BeforeAttachment);
        let now = record::check(bytes);
        if kind != "attachment" {
            assert_eq!(
                before.as_ref().err().map(|e| e.reason),
                now.as_ref().err().map(|e| e.reason),
                "{name}"
            );
        }
        match group {
            "valid" => {
                let rec = now.unwrap_or_else(|e| panic!("{name}: {e}"));
                let read_as_its_kind = match kind.as_str() {
                    "adoption" => rec.adoption().is_some(),
                    "seeking" => rec.seeking().is_some(),
                    _ => rec.attachment().is_some(),
                };
                assert!(read_as_its_kind, "{name}: not read as its kind");
            }
            _ => assert_eq!(now.err().map(|e| e.reason), Some(Reason::Schema), "{name}"),
        }
    }
    let count = |k: &str| seen.get(k).copied().unwrap_or(0);
    assert!(
        count("adoption") + count("seeking") >= 10 && count("attachment") >= 15,
        "too few vectors of the newer kinds: {seen:?}"
    );
}
