//! The generator of `spec/vectors/attachments.json`: the hash and the
//! encodings of a few contents (`spec/attachments.md` §2, §3, §7), and the
//! frames of `/setu/N/blob/1` (`spec/net.md` §7.4).
//!
//! Deterministic: the contents are the pattern byte `i` = `i` mod 251, so a
//! run reproduces the committed file byte for byte (a test checks this).
//! Regenerate with
//! `cargo run -p setu-tests --bin gen-vectors -- attachments > spec/vectors/attachments.json`.

// Lists of block ranges with one range are meant here (what a peer holds).
#![allow(clippy::single_range_in_vec_init)]

use std::ops::Range;

use serde_json::{Value as Json, json};
use setu_blob::verify::{self, Item, MAX_REQUEST_BLOCKS, MAX_RESPONSE_BYTES, Tree};
use setu_blob::wire::{self, Code, Request, Response};
use setu_blob::{Hash, blocks};
use sha2::{Digest, Sha256};

/// The sizes of the contents, in bytes.
pub const SIZES: [u64; 5] = [0, 1, 16_384, 16_385, 100_000];

/// Content of `size` bytes: byte `i` is `i` mod 251.
pub fn content(size: u64) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

/// The ranges encoded for content of `blocks` blocks: `[0, 1)`, the last
/// block, and `[1, 3)` if there are at least 3 blocks; each once.
pub fn ranges(blocks: u64) -> Vec<Range<u64>> {
    let mut out = vec![0..1];
    if blocks > 1 {
        out.push(blocks - 1..blocks);
    }
    if blocks >= 3 {
        out.push(1..3);
    }
    out
}

fn encoding(tree: &Tree, data: &[u8], range: &Range<u64>) -> Json {
    let encoded = tree.encode(data, range).expect("in memory");
    let mut pairs = 0u64;
    let got = verify::decode(&tree.hash(), tree.size(), range, &encoded, |item| {
        if let Item::Parent { .. } = item {
            pairs += 1;
        }
        Ok(())
    })
    .expect("no sink error");
    assert_eq!(
        (got.verified, got.fault),
        (range.clone().collect::<Vec<_>>(), None),
        "size {} range {range:?} decodes whole",
        tree.size()
    );
    assert_eq!(
        encoded.len() as u64,
        64 * pairs + verify::byte_len(range, tree.size()),
        "64 × P + L"
    );
    json!({
        "start": range.start,
        "end": range.end,
        "length": encoded.len(),
        "parent_pairs": pairs,
        "sha256": hex::encode(Sha256::digest(&encoded)),
        "hex": hex::encode(&encoded),
    })
}

fn content_json(size: u64) -> Json {
    let data = content(size);
    let tree = Tree::build(&data[..], size).expect("in memory");
    assert_eq!(tree.hash().0, *blake3::hash(&data).as_bytes());
    let count = blocks::count(size);
    json!({
        "size": size,
        "blocks": count,
        "hash": tree.hash().to_hex(),
        "encodings": ranges(count)
            .iter()
            .map(|r| encoding(&tree, &data, r))
            .collect::<Vec<_>>(),
    })
}

fn code_name(code: Code) -> &'static str {
    match code {
        Code::NotHeld => "not-held",
        Code::Busy => "busy",
        Code::Denied => "denied",
        Code::Malformed => "malformed",
        Code::Other(_) => "unknown",
    }
}

/// A request as the `decoded` object of a frame vector.
pub fn request_json(r: &Request) -> Json {
    match r {
        Request::Have(h) => json!({"type": "have_req", "hash": h.to_hex()}),
        Request::Blocks { hash, range } => json!({
            "type": "blocks_req",
            "hash": hash.to_hex(),
            "start": range.start,
            "end": range.end,
        }),
    }
}

/// A response as the `decoded` object of a frame vector.
pub fn response_json(r: &Response) -> Json {
    match r {
        Response::Have { size, ranges } => json!({
            "type": "have",
            "size": size,
            "ranges": ranges
                .iter()
                .map(|r| json!({"start": r.start, "len": r.end - r.start}))
                .collect::<Vec<_>>(),
        }),
        Response::Blocks(b) => json!({"type": "blocks", "encoding": hex::encode(b)}),
        Response::Refused { code, reason } => json!({
            "type": "refused",
            "code": code.number(),
            "code_name": code_name(*code),
            "reason": reason,
        }),
    }
}

fn valid_request(name: &str, description: &str, r: Request) -> Json {
    let bytes = r.encode();
    assert_eq!(Request::decode(&bytes).as_ref(), Ok(&r), "{name}");
    json!({
        "name": name,
        "kind": "request",
        "description": description,
        "hex": hex::encode(&bytes),
        "decoded": request_json(&r),
    })
}

fn valid_response(name: &str, description: &str, r: Response) -> Json {
    let bytes = r.encode();
    assert_eq!(Response::decode(&bytes).as_ref(), Ok(&r), "{name}");
    json!({
        "name": name,
        "kind": "response",
        "description": description,
        "hex": hex::encode(&bytes),
        "decoded": response_json(&r),
    })
}

fn invalid(name: &str, kind: &str, description: &str, bytes: &[u8], field: &str) -> Json {
    let got = match kind {
        "request" => Request::decode(bytes).map(|_| ()),
        _ => Response::decode(bytes).map(|_| ()),
    };
    assert_eq!(got.map_err(|e| e.field), Err(field), "{name}");
    json!({
        "name": name,
        "kind": kind,
        "description": description,
        "hex": hex::encode(bytes),
        "error_field": field,
    })
}

fn varint(v: u128) -> Vec<u8> {
    let mut out = Vec::new();
    setu_sync::wire::put_varint(&mut out, v);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn frames() -> Vec<Json> {
    let data = content(100_000);
    let h = Hash(*blake3::hash(&data).as_bytes());
    let small = content(16_385);
    let small_tree = Tree::build(&small[..], 16_385).expect("in memory");
    let mut v = vec![
        valid_request(
            "have-req",
            "Which blocks of the 100 000-byte content do you hold?",
            Request::Have(h),
        ),
        valid_request(
            "blocks-req: blocks [1, 3)",
            "Blocks 1 and 2 of the 100 000-byte content.",
            Request::Blocks {
                hash: h,
                range: 1..3,
            },
        ),
        valid_request(
            "blocks-req: 64 blocks, multi-byte varints",
            "Blocks [200, 264): start 200 = c8 01, end 264 = 88 02; 64 blocks, the most one request may ask for.",
            Request::Blocks {
                hash: h,
                range: 200..200 + MAX_REQUEST_BLOCKS,
            },
        ),
        valid_response(
            "have: two ranges",
            "The 100 000-byte content (7 blocks): blocks [0, 2) and [4, 7) held, as (start 0, len 2), (start 4, len 3).",
            Response::Have {
                size: 100_000,
                ranges: vec![0..2, 4..7],
            },
        ),
        valid_response(
            "have: nothing held",
            "Size 0 and no ranges: the responder holds nothing of the hash.",
            Response::Have {
                size: 0,
                ranges: vec![],
            },
        ),
        valid_response(
            "have: the largest size, a range ending at the last block",
            "size 2^40: 2^26 blocks; blocks [2^26 - 64, 2^26) held.",
            Response::Have {
                size: wire::MAX_SIZE,
                ranges: vec![(1 << 26) - 64..1 << 26],
            },
        ),
        valid_response(
            "blocks: block 1 of 16 385 bytes",
            "0x43 and the encoding of blocks [1, 2) of the 16 385-byte content: the root's parent pair and the one byte of block 1 (the vector of `contents`).",
            Response::Blocks(small_tree.encode(&small[..], &(1..2)).expect("in memory")),
        ),
        valid_response(
            "blocks: empty encoding",
            "The tag alone: an encoding of 0 bytes is a valid frame (the requester's check of it is spec/attachments.md §3.2).",
            Response::Blocks(vec![]),
        ),
        valid_response(
            "refused: busy",
            "Code 2 with the reference's reason.",
            Response::Refused {
                code: Code::Busy,
                reason: "too many responses under way".into(),
            },
        ),
        valid_response(
            "refused: not-held",
            "Code 1 with the reference's reason.",
            Response::Refused {
                code: Code::NotHeld,
                reason: "not held here".into(),
            },
        ),
        valid_response(
            "refused: unknown code, no reason",
            "Code 9 is unknown, and read as a refusal all the same; the reason may be empty.",
            Response::Refused {
                code: Code::Other(9),
                reason: String::new(),
            },
        ),
    ];

    // An encoder cuts a reason of more than 256 bytes at a character
    // boundary: "a" then 150 × "é" (2 bytes each) is 301 bytes, and byte 256
    // falls inside a character, so 255 bytes are sent.
    let long = format!("a{}", "é".repeat(150));
    let cut = Response::Refused {
        code: Code::Malformed,
        reason: long.clone(),
    };
    let bytes = cut.encode();
    assert_eq!(bytes.len(), 1 + 1 + 255);
    let decoded = Response::decode(&bytes).expect("valid");
    let mut entry = json!({
        "name": "refused: a long reason cut at a character boundary",
        "kind": "response",
        "description": "encoded_from has a reason of 301 bytes (\"a\" and 150 × \"é\"); the encoder cuts it to at most 256 bytes at a character boundary: 255 bytes, so the frame decodes to the shorter reason.",
        "hex": hex::encode(&bytes),
        "decoded": response_json(&decoded),
    });
    entry["encoded_from"] = response_json(&cut);
    v.push(entry);

    let hb = &h.0[..];
    let blocks_req = |start: u128, end: u128| {
        cat(&[
            &[wire::BLOCKS_REQ],
            hb,
            &varint(start)[..],
            &varint(end)[..],
        ])
    };
    let have = |size: u128, n: u128, ranges: &[(u128, u128)]| {
        let mut out = cat(&[&[wire::HAVE], &varint(size)[..], &varint(n)[..]]);
        for (s, l) in ranges {
            out.extend(varint(*s));
            out.extend(varint(*l));
        }
        out
    };
    let refused = |code: u128, reason: &[u8]| cat(&[&[wire::REFUSED], &varint(code)[..], reason]);
    let have_req = cat(&[&[wire::HAVE_REQ], hb]);
    let too_big = 1u128 << 64;
    v.extend([
        invalid("request: empty", "request", "No bytes.", &[], "tag"),
        invalid(
            "response: empty",
            "response",
            "No bytes.",
            &[],
            "tag",
        ),
        invalid(
            "request: a response tag",
            "request",
            "0x42 (have) is a response tag.",
            &have(0, 0, &[]),
            "tag",
        ),
        invalid(
            "response: a request tag",
            "response",
            "0x40 (have-req) is a request tag.",
            &have_req,
            "tag",
        ),
        invalid(
            "request: a sync tag",
            "request",
            "0x10 is a sync request tag (spec/net.md §4.2), unknown on a blob stream.",
            &[0x10, 0x01, 0x00, 0x01, 0x00],
            "tag",
        ),
        invalid(
            "have-req: 31-byte hash",
            "request",
            "Fewer than 32 bytes left for hash.",
            &have_req[..32],
            "hash",
        ),
        invalid(
            "have-req: a byte after the hash",
            "request",
            "No byte may follow hash.",
            &cat(&[&have_req, &[0]]),
            "frame",
        ),
        invalid(
            "blocks-req: 65 blocks",
            "request",
            "[0, 65): end − start is above 64.",
            &blocks_req(0, 65),
            "end",
        ),
        invalid(
            "blocks-req: empty range",
            "request",
            "[5, 5): end is not above start.",
            &blocks_req(5, 5),
            "end",
        ),
        invalid(
            "blocks-req: end before start",
            "request",
            "[5, 4).",
            &blocks_req(5, 4),
            "end",
        ),
        invalid(
            "blocks-req: start not in shortest form",
            "request",
            "start = 80 00, a 2-byte varint of 0.",
            &cat(&[&[wire::BLOCKS_REQ], hb, &[0x80, 0x00, 0x01]]),
            "start",
        ),
        invalid(
            "blocks-req: start above 2^64 − 1",
            "request",
            "start = 2^64, a 10-byte varint ending in 02.",
            &blocks_req(too_big, too_big + 1),
            "start",
        ),
        invalid(
            "blocks-req: end missing",
            "request",
            "The frame ends after start.",
            &cat(&[&[wire::BLOCKS_REQ], hb, &[0x01]]),
            "end",
        ),
        invalid(
            "blocks-req: a byte after end",
            "request",
            "No byte may follow end.",
            &cat(&[&blocks_req(0, 1), &[0]]),
            "frame",
        ),
        invalid(
            "have: size above 2^40",
            "response",
            "size = 2^40 + 1.",
            &have((1 << 40) + 1, 0, &[]),
            "size",
        ),
        invalid(
            "have: ranges with size 0",
            "response",
            "size 0 and n = 1.",
            &have(0, 1, &[(0, 1)]),
            "n",
        ),
        invalid(
            "have: more than 1024 ranges",
            "response",
            "n = 1025 (the ranges are not read).",
            &have(1 << 40, 1025, &[]),
            "n",
        ),
        invalid(
            "have: overlapping ranges",
            "response",
            "100 000 bytes (7 blocks): [0, 3) then [2, 4).",
            &have(100_000, 2, &[(0, 3), (2, 2)]),
            "start",
        ),
        invalid(
            "have: adjacent ranges",
            "response",
            "100 000 bytes (7 blocks): [0, 3) then [3, 4); the second start must be greater than 3.",
            &have(100_000, 2, &[(0, 3), (3, 1)]),
            "start",
        ),
        invalid(
            "have: ranges out of order",
            "response",
            "100 000 bytes (7 blocks): [4, 5) then [0, 1).",
            &have(100_000, 2, &[(4, 1), (0, 1)]),
            "start",
        ),
        invalid(
            "have: a range of length 0",
            "response",
            "100 000 bytes: (start 2, len 0).",
            &have(100_000, 1, &[(2, 0)]),
            "len",
        ),
        invalid(
            "have: a range past the last block",
            "response",
            "16 384 bytes is 1 block: [0, 2) ends past it.",
            &have(16_384, 1, &[(0, 2)]),
            "len",
        ),
        invalid(
            "have: start + len above 2^64 − 1",
            "response",
            "start 2^64 − 1, len 1.",
            &have(100_000, 1, &[(u128::from(u64::MAX), 1)]),
            "len",
        ),
        invalid(
            "have: a range missing",
            "response",
            "n = 2 and one range: the second start is missing.",
            &have(100_000, 2, &[(0, 1)]),
            "start",
        ),
        invalid(
            "have: a byte after the last range",
            "response",
            "No byte may follow the last range.",
            &cat(&[&have(100_000, 1, &[(0, 1)]), &[0]]),
            "frame",
        ),
        invalid(
            "have: a byte after n = 0",
            "response",
            "No byte may follow n when it is 0.",
            &cat(&[&have(0, 0, &[]), &[0]]),
            "frame",
        ),
        invalid(
            "refused: code missing",
            "response",
            "The tag alone.",
            &[wire::REFUSED],
            "code",
        ),
        invalid(
            "refused: reason of 257 bytes",
            "response",
            "Code 2 and 257 × \"a\".",
            &refused(2, &[b'a'; 257]),
            "reason",
        ),
        invalid(
            "refused: reason not UTF-8",
            "response",
            "Code 2 and the bytes ff fe.",
            &refused(2, &[0xff, 0xfe]),
            "reason",
        ),
    ]);
    v
}

/// Builds the whole vector file.
pub fn generate() -> Json {
    json!({
        "description": "Setu attachments v1 (spec/attachments.md §7): the BLAKE3 hash and the encodings of responses for contents of the pattern byte i = i mod 251, and the frames of /setu/N/blob/1 (spec/net.md §7.4). Generated by tests/src/attachment_vectors.rs.",
        "limits": {
            "block_bytes": blocks::BLOCK_BYTES,
            "max_request_blocks": MAX_REQUEST_BLOCKS,
            "max_response_bytes": MAX_RESPONSE_BYTES,
            "max_frame_bytes": wire::MAX_FRAME_BYTES,
            "max_have_ranges": wire::MAX_HAVE_RANGES,
            "max_reason_bytes": wire::MAX_REASON_BYTES,
            "max_size": wire::MAX_SIZE,
        },
        "contents": SIZES.iter().map(|&s| content_json(s)).collect::<Vec<_>>(),
        "frames": frames(),
    })
}

/// The vector file as written to disk: pretty JSON and a final newline.
pub fn render() -> String {
    let mut s = serde_json::to_string_pretty(&generate()).expect("serialisable");
    s.push('\n');
    s
}
