//! `spec/vectors/net.json`: every valid frame or gossip announcement decodes
//! to its stated value and re-encodes to the same bytes; every invalid one is
//! refused, for the stated reason (spec/net.md §4, §7, §9). The frames of
//! both sync protocol versions are covered: `offer` and `want` are version
//! 2's (spec/net.md §4.12, §4.13).

use serde_json::Value as Json;
use setu_net::message::{Announcement, FrameError, RefusalCode, Request, Response};
use setu_sync::bulk;
use setu_sync::item::Bound;

fn load() -> Json {
    let path = setu_tests::repo_root().join("spec/vectors/net.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("net.json")).expect("json")
}

fn str_of<'a>(v: &'a Json, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k}: string"))
}

fn u64_of(v: &Json, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k}: u64"))
}

fn bytes_of(v: &Json, k: &str) -> Vec<u8> {
    hex::decode(str_of(v, k)).unwrap_or_else(|e| panic!("{k}: hex: {e}"))
}

fn records(v: &Json) -> Vec<Vec<u8>> {
    v["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| hex::decode(r.as_str().expect("record hex")).expect("record hex"))
        .collect()
}

fn id_of(name: &str, hex_id: &str) -> [u8; 32] {
    hex::decode(hex_id)
        .unwrap_or_else(|e| panic!("{name}: id hex: {e}"))
        .try_into()
        .unwrap_or_else(|_| panic!("{name}: an id is 32 bytes"))
}

fn ids(name: &str, v: &Json) -> Vec<[u8; 32]> {
    v["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|i| id_of(name, i.as_str().expect("id hex")))
        .collect()
}

fn bound(v: &Json) -> Bound {
    if v.is_null() {
        Bound::Infinity
    } else {
        Bound::At {
            ts: u64_of(v, "ts"),
            prefix: bytes_of(v, "prefix"),
        }
    }
}

fn code(n: u64) -> RefusalCode {
    match n {
        1 => RefusalCode::Malformed,
        2 => RefusalCode::Busy,
        3 => RefusalCode::Sessions,
        4 => RefusalCode::UnknownSession,
        5 => RefusalCode::Internal,
        _ => panic!("unknown refusal code {n} in a valid vector"),
    }
}

/// The request a batch is checked against: the largest limits.
fn widest_request() -> bulk::Request {
    bulk::Request {
        after: Bound::zero(),
        max_items: bulk::MAX_ITEMS,
        max_bytes: bulk::MAX_BYTES,
    }
}

fn expected_request(name: &str, frame: &[u8], d: &Json) -> Request {
    match str_of(d, "type") {
        "sync" => Request::Sync {
            session: u64_of(d, "session"),
            count: u64_of(d, "count"),
            msg: bytes_of(d, "msg"),
        },
        "bulk" => {
            let want = bulk::Request {
                after: bound(&d["after"]),
                max_items: u64_of(d, "max_items"),
                max_bytes: u64_of(d, "max_bytes"),
            };
            let got = bulk::Request::decode(frame).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got, want, "{name}: bulk request");
            assert_eq!(want.encode(), frame, "{name}: bulk request re-encoded");
            Request::Bulk(frame.to_vec())
        }
        "push" => Request::Push(records(d)),
        "fetch" => Request::Fetch(ids(name, d)),
        "offer" => Request::Offer(ids(name, d)),
        t => panic!("{name}: unknown request type {t}"),
    }
}

fn expected_response(name: &str, frame: &[u8], d: &Json) -> Response {
    match str_of(d, "type") {
        "sync" => Response::Sync {
            count: u64_of(d, "count"),
            msg: bytes_of(d, "msg"),
        },
        "bulk" => {
            let want = bulk::Batch {
                records: records(d),
                next: bound(&d["next"]),
            };
            let got = bulk::Batch::decode(frame, &widest_request())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got, want, "{name}: bulk batch");
            assert_eq!(want.encode(), frame, "{name}: bulk batch re-encoded");
            Response::Bulk(frame.to_vec())
        }
        "records" => Response::Records(records(d)),
        "want" => Response::Want(ids(name, d)),
        "push_ack" => Response::PushAck {
            stored: u64_of(d, "stored"),
            refused: u64_of(d, "refused"),
        },
        "refused" => Response::Refused {
            code: code(u64_of(d, "code")),
            reason: str_of(d, "reason").to_string(),
        },
        t => panic!("{name}: unknown response type {t}"),
    }
}

/// The announcement a valid `announcement` vector states; also checks its
/// gossip message id (spec/net.md §7).
fn expected_announcement(name: &str, frame: &[u8], d: &Json) -> Announcement {
    assert_eq!(str_of(d, "type"), "announcement", "{name}: type");
    assert_eq!(
        hex::encode(setu_net::behaviour::message_id(frame).0),
        str_of(d, "message_id"),
        "{name}: message id"
    );
    Announcement {
        id: id_of(name, str_of(d, "id")),
        ts: u64_of(d, "ts"),
        size: u64_of(d, "size"),
    }
}

/// Checks a refused frame against the vector's `error` or `error_field`.
fn check_error(name: &str, v: &Json, frame: &[u8], err: FrameError) {
    if let Some(f) = v["error_field"].as_str() {
        match err {
            FrameError::Field { field, .. } => assert_eq!(field, f, "{name}: field"),
            other => panic!("{name}: want a {f} error, got {other:?}"),
        }
        return;
    }
    match (v["error"].as_str(), err) {
        (Some("empty"), FrameError::Empty) => {}
        (Some("tag"), FrameError::Tag(t)) => assert_eq!(Some(&t), frame.first(), "{name}: tag"),
        (want, got) => panic!("{name}: want {want:?}, got {got:?}"),
    }
}

#[test]
fn every_frame_vector_decodes_or_fails_as_stated() {
    let doc = load();
    let vectors = doc["vectors"].as_array().expect("vectors");
    let (mut valid, mut invalid) = (0, 0);
    let mut seen = std::collections::BTreeMap::<(String, bool), usize>::new();
    for v in vectors {
        let name = str_of(v, "name");
        let kind = str_of(v, "kind");
        let frame = bytes_of(v, "hex");
        let decoded = &v["decoded"];
        let ty = decoded["type"].as_str().unwrap_or(kind);
        *seen
            .entry((ty.to_string(), !decoded.is_null()))
            .or_default() += 1;
        if !decoded.is_null() {
            valid += 1;
            let encoded = match kind {
                "request" => {
                    let want = expected_request(name, &frame, decoded);
                    let got = Request::decode(&frame).unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(got, want, "{name}");
                    got.encode()
                }
                "response" => {
                    let want = expected_response(name, &frame, decoded);
                    let got = Response::decode(&frame).unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(got, want, "{name}");
                    got.encode()
                }
                "announcement" => {
                    let want = expected_announcement(name, &frame, decoded);
                    let got =
                        Announcement::decode(&frame).unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(got, want, "{name}");
                    got.encode()
                }
                k => panic!("{name}: unknown kind {k}"),
            };
            assert_eq!(hex::encode(encoded), str_of(v, "hex"), "{name}: re-encoded");
            continue;
        }
        invalid += 1;
        if v["error"].as_str() == Some("bulk") {
            // Well-formed at the frame layer; refused by spec/sync.md §6.
            match kind {
                "request" => {
                    assert_eq!(
                        Request::decode(&frame),
                        Ok(Request::Bulk(frame.clone())),
                        "{name}"
                    );
                    assert!(bulk::Request::decode(&frame).is_err(), "{name}: accepted");
                }
                "response" => {
                    assert_eq!(
                        Response::decode(&frame),
                        Ok(Response::Bulk(frame.clone())),
                        "{name}"
                    );
                    assert!(
                        bulk::Batch::decode(&frame, &widest_request()).is_err(),
                        "{name}: accepted"
                    );
                }
                k => panic!("{name}: unknown kind {k}"),
            }
            continue;
        }
        let err = match kind {
            "request" => Request::decode(&frame).err(),
            "response" => Response::decode(&frame).err(),
            "announcement" => Announcement::decode(&frame).err(),
            k => panic!("{name}: unknown kind {k}"),
        };
        let err = err.unwrap_or_else(|| panic!("{name}: accepted"));
        check_error(name, v, &frame, err);
    }
    assert!(valid >= 27, "{valid} valid vectors");
    assert!(invalid >= 62, "{invalid} invalid vectors");
    // Valid vectors count under their decoded type, invalid ones under
    // their kind: the newer frames and the announcement are all covered.
    for ty in ["fetch", "records", "offer", "want", "announcement"] {
        assert!(
            seen.contains_key(&(ty.to_string(), true)),
            "no valid {ty} vector"
        );
    }
    for kind in ["request", "response", "announcement"] {
        assert!(
            seen.contains_key(&(kind.to_string(), false)),
            "no invalid {kind} vector"
        );
    }
}

#[test]
fn stated_limits_match_the_code() {
    let doc = load();
    let l = &doc["limits"];
    assert_eq!(
        u64_of(l, "max_frame_bytes"),
        setu_net::message::MAX_FRAME_BYTES as u64
    );
    assert_eq!(
        u64_of(l, "max_message_bytes"),
        setu_sync::wire::MAX_MESSAGE_BYTES as u64
    );
    assert_eq!(
        u64_of(l, "max_push_records"),
        setu_net::message::MAX_PUSH_RECORDS as u64
    );
    assert_eq!(
        u64_of(l, "max_record_bytes"),
        setu_net::message::MAX_RECORD_BYTES as u64
    );
    assert_eq!(
        u64_of(l, "max_reason_bytes"),
        setu_net::message::MAX_REASON_BYTES as u64
    );
    assert_eq!(
        u64_of(l, "max_fetch_ids"),
        setu_net::message::MAX_FETCH_IDS as u64
    );
    assert_eq!(
        u64_of(l, "max_offer_ids"),
        setu_net::message::MAX_OFFER_IDS as u64
    );
}
