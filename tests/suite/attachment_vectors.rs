//! `spec/vectors/attachments.json`: the committed file is the generator's
//! output; every encoding verifies whole against its hash, and a byte
//! flipped anywhere in it is caught as corrupt; every frame decodes to its
//! stated value and encodes back, or is refused for its stated field
//! (`spec/attachments.md` §7, `spec/net.md` §7.4).

use serde_json::Value as Json;
use setu_blob::Hash;
use setu_blob::verify::{self, Fault, Item};
use setu_blob::wire::{Code, Request, Response};
use setu_tests::attachment_vectors::{request_json, response_json};

fn load() -> Json {
    let path = setu_tests::repo_root().join("spec/vectors/attachments.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("attachments.json")).expect("json")
}

fn u64_of(v: &Json, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k}: u64"))
}

fn bytes_of(v: &Json, k: &str) -> Vec<u8> {
    hex::decode(v[k].as_str().unwrap_or_else(|| panic!("{k}: string")))
        .unwrap_or_else(|e| panic!("{k}: hex: {e}"))
}

#[test]
fn committed_attachment_vectors_match_the_generator() {
    let path = setu_tests::repo_root().join("spec/vectors/attachments.json");
    let committed = std::fs::read_to_string(path).expect("read");
    assert!(
        committed == setu_tests::attachment_vectors::render(),
        "spec/vectors/attachments.json is stale: run `cargo run -p setu-tests --bin gen-vectors -- attachments > spec/vectors/attachments.json`"
    );
}

#[test]
fn every_encoding_verifies_and_a_flipped_byte_is_corrupt() {
    let v = load();
    let contents = v["contents"].as_array().expect("contents");
    assert_eq!(contents.len(), setu_tests::attachment_vectors::SIZES.len());
    let mut checked = 0;
    for c in contents {
        let size = u64_of(c, "size");
        let data = setu_tests::attachment_vectors::content(size);
        let hash = Hash(bytes_of(c, "hash").try_into().expect("32 bytes"));
        assert_eq!(hash.0, *blake3::hash(&data).as_bytes(), "size {size}");
        assert_eq!(u64_of(c, "blocks"), setu_blob::blocks::count(size));
        for e in c["encodings"].as_array().expect("encodings") {
            let range = u64_of(e, "start")..u64_of(e, "end");
            let name = format!("size {size} blocks {range:?}");
            let encoded = bytes_of(e, "hex");
            assert_eq!(encoded.len() as u64, u64_of(e, "length"), "{name}");
            let mut pairs = 0;
            let mut blocks = Vec::new();
            let got = verify::decode(&hash, size, &range, &encoded, |item| {
                match item {
                    Item::Parent { .. } => pairs += 1,
                    Item::Block { index, bytes, .. } => {
                        let at = setu_blob::blocks::byte_range(&(index..index + 1), size);
                        assert_eq!(bytes, &data[at.start as usize..at.end as usize]);
                        blocks.push(index);
                    }
                }
                Ok(())
            })
            .expect("no sink error");
            let all: Vec<u64> = range.clone().collect();
            assert_eq!((&got.verified, got.fault), (&all, None), "{name}");
            assert_eq!(blocks, all, "{name}");
            assert_eq!(pairs, u64_of(e, "parent_pairs"), "{name}");

            // Flip one byte: in the first pair or block, in the middle, at
            // the end. Empty content has an empty encoding, nothing to flip.
            let mut ats = vec![0, encoded.len() / 2, encoded.len().saturating_sub(1)];
            ats.dedup();
            for at in ats.into_iter().filter(|&at| at < encoded.len()) {
                let mut bad = encoded.clone();
                bad[at] ^= 0x01;
                let got =
                    verify::decode(&hash, size, &range, &bad, |_| Ok(())).expect("no sink error");
                assert!(
                    matches!(got.fault, Some(Fault::Corrupt { .. })),
                    "{name}: flip at {at}: {got:?}"
                );
                assert!(got.verified.len() < all.len(), "{name}: flip at {at}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
}

#[test]
fn every_frame_decodes_or_is_refused_as_stated() {
    let v = load();
    let frames = v["frames"].as_array().expect("frames");
    assert!(frames.len() >= 30);
    for f in frames {
        let name = f["name"].as_str().expect("name");
        let bytes = bytes_of(f, "hex");
        let request = match f["kind"].as_str().expect("kind") {
            "request" => true,
            "response" => false,
            k => panic!("{name}: kind {k}"),
        };
        if let Some(field) = f["error_field"].as_str() {
            let got = if request {
                Request::decode(&bytes).map(|_| ())
            } else {
                Response::decode(&bytes).map(|_| ())
            };
            assert_eq!(got.map_err(|e| e.field), Err(field), "{name}");
            continue;
        }
        assert!(f["decoded"].is_object(), "{name}: decoded or error_field");
        if request {
            let r = Request::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(request_json(&r), f["decoded"], "{name}");
            assert_eq!(r.encode(), bytes, "{name}");
        } else {
            let r = Response::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(response_json(&r), f["decoded"], "{name}");
            assert_eq!(r.encode(), bytes, "{name}");
        }
        // A reason over 256 bytes is cut by the encoder, at a character
        // boundary, to what the frame decodes to.
        if let Some(from) = f.get("encoded_from") {
            let long = Response::Refused {
                code: Code::Malformed,
                reason: from["reason"].as_str().expect("reason").to_owned(),
            };
            assert_eq!(u64_of(from, "code"), Code::Malformed.number(), "{name}");
            assert_eq!(response_json(&long), *from, "{name}");
            assert_eq!(long.encode(), bytes, "{name}");
        }
    }
}
