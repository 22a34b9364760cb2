//! The generator of `spec/vectors/sync.json`: small item sets and the exact
//! message exchange between them (spec/sync.md §9).
//!
//! `cargo run -p setu-tests --bin gen-vectors -- sync > spec/vectors/sync.json`

use serde_json::{Value as Json, json};
use setu_sync::item::{Bound, Item};
use setu_sync::reconcile::{Config, MIN_FRAME_LIMIT, Reconciler, run_pair};
use setu_sync::wire::{self, Entry, Mode};
use sha2::{Digest, Sha256};

fn item(case: &str, i: u64, ts: u64) -> Item {
    let id: [u8; 32] = Sha256::digest(format!("{case}/{i}")).into();
    Item { ts, id }
}

fn sorted(mut v: Vec<Item>) -> Vec<Item> {
    v.sort();
    v.dedup();
    v
}

fn items_json(v: &[Item]) -> Json {
    Json::Array(v.iter().map(|i| json!([i.ts, hex::encode(i.id)])).collect())
}

fn case(name: &str, description: &str, a: Vec<Item>, b: Vec<Item>) -> Json {
    case_framed(name, description, a, b, wire::MAX_MESSAGE_BYTES)
}

/// A case whose two sides both cap their messages at `frame_limit`.
fn case_framed(
    name: &str,
    description: &str,
    a: Vec<Item>,
    b: Vec<Item>,
    frame_limit: usize,
) -> Json {
    let (a, b) = (sorted(a), sorted(b));
    let cfg = Config {
        frame_limit,
        ..Config::default()
    };
    let t = run_pair(a.clone(), b.clone(), cfg, cfg).expect("session");
    json!({
        "name": name,
        "description": description,
        "frame_limit": frame_limit,
        "a": items_json(&a),
        "b": items_json(&b),
        "messages": t.messages.iter().map(hex::encode).collect::<Vec<_>>(),
        "give_a": t.give_a.iter().map(hex::encode).collect::<Vec<_>>(),
        "give_b": t.give_b.iter().map(hex::encode).collect::<Vec<_>>(),
    })
}

/// Builds the whole vector file.
pub fn generate() -> Json {
    let base = |name: &str, n: u64| -> Vec<Item> {
        (0..n).map(|i| item(name, i, 1_000 + i * 10)).collect()
    };
    let mut cases = Vec::new();

    let a = base("identical", 40);
    cases.push(case(
        "identical",
        "Both sides hold the same 40 items: one round trip, all fingerprints match.",
        a.clone(),
        a,
    ));

    let a = base("one_missing", 40);
    let b: Vec<Item> = a.iter().copied().filter(|i| i.ts != 1_200).collect();
    cases.push(case(
        "one_missing",
        "The responder lacks one of 40 items.",
        a,
        b,
    ));

    let a = base("small_lists_a", 5);
    let b = base("small_lists_b", 5);
    cases.push(case(
        "disjoint_small",
        "Two disjoint sets of 5: the first message is a list.",
        a,
        b,
    ));

    let all = base("both_sides", 100);
    let a: Vec<Item> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| ![7, 42, 77].contains(i))
        .map(|(_, x)| *x)
        .collect();
    let b: Vec<Item> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| ![3, 50, 51, 99].contains(i))
        .map(|(_, x)| *x)
        .collect();
    cases.push(case(
        "both_sides_differ",
        "100 items; the initiator lacks 3, the responder 4: splits, lists, answers.",
        a,
        b,
    ));

    cases.push(case(
        "empty_initiator",
        "The initiator holds nothing; the responder gives all 10.",
        vec![],
        base("empty_initiator", 10),
    ));

    // Two different items whose ids share their first 3 bytes: the 3-byte
    // prefixes match, the confirm fingerprint does not, the range falls back
    // to full ids.
    let x = item("collide", 1, 5_000);
    let mut y_id = item("collide", 2, 5_000).id;
    y_id[..3].copy_from_slice(&x.id[..3]);
    let y = Item {
        ts: 5_000,
        id: y_id,
    };
    let shared = base("collide_shared", 4);
    let mut a = shared.clone();
    a.push(x);
    let mut b = shared;
    b.push(y);
    cases.push(case("prefix_collision", "Each side holds one item the other lacks, and the two ids share their first 3 bytes: the prefix matches, the confirm fingerprint catches it, the range settles on full ids.", a, b));

    let a: Vec<Item> = (0..60).map(|i| item("same_ts", i, 7_777)).collect();
    let b: Vec<Item> = a
        .iter()
        .copied()
        .skip(1)
        .step_by(1)
        .filter(|i| i.id[0] % 5 != 0)
        .collect();
    cases.push(case(
        "same_ts",
        "60 items with one ts: bounds carry id prefixes.",
        a,
        b,
    ));

    let a = base("two_split_levels", 600);
    let b: Vec<Item> = a
        .iter()
        .copied()
        .filter(|i| i.ts != 1_000 + 500 * 10)
        .collect();
    let c = case(
        "two_split_levels",
        "600 items, the responder lacks one: the initiator splits 16 ways, the responder splits the one mismatched range again 4 ways, and the initiator lists the mismatched quarter.",
        a,
        b,
    );
    let m1 = decode(&c, 1);
    assert!(
        m1.iter()
            .filter(|e| matches!(e.mode, Mode::Fingerprint { .. }))
            .count()
            == 4,
        "two_split_levels: the second message is a 4-way split"
    );
    assert!(
        decode(&c, 2)
            .iter()
            .any(|e| matches!(e.mode, Mode::List { .. }))
    );
    cases.push(c);

    let a = base("list_max", 32);
    let mut b: Vec<Item> = a[2..].to_vec();
    b.extend(base("list_max_b", 2));
    let c = case(
        "list_max_exact",
        "The initiator holds exactly LIST_MAX = 32 items: the first message is one List of 32.",
        a,
        b,
    );
    assert!(
        matches!(&decode(&c, 0)[..], [Entry { mode: Mode::List { prefixes, len }, .. }] if prefixes.len() == 32 * usize::from(*len))
    );
    cases.push(c);

    let a = base("list_max_plus_one", 33);
    let b: Vec<Item> = a[1..].to_vec();
    let c = case(
        "list_max_plus_one",
        "The initiator holds LIST_MAX + 1 = 33 items: the first message is 16 Fingerprints of 2 or 3 items.",
        a,
        b,
    );
    let m0 = decode(&c, 0);
    assert!(
        m0.len() == 16
            && m0
                .iter()
                .all(|e| matches!(e.mode, Mode::Fingerprint { .. }))
    );
    cases.push(c);

    // Two of the initiator's own ids share their first 3 bytes, so its
    // List needs 4-byte prefixes.
    let mut a = base("shared_prefix", 10);
    let p7 = a[7].id;
    a[4].id[..3].copy_from_slice(&p7[..3]);
    let b: Vec<Item> = a[1..].to_vec();
    let c = case(
        "shared_prefix_in_one_list",
        "Two of the initiator's 10 ids share their first 3 bytes: its List uses 4-byte prefixes.",
        a,
        b,
    );
    assert!(matches!(
        &decode(&c, 0)[..],
        [Entry {
            mode: Mode::List { len: 4, .. },
            ..
        }]
    ));
    cases.push(c);

    let a = base("small_frame_a", 600);
    let b = base("small_frame_b", 600);
    let c = case_framed(
        "small_frame",
        "Two disjoint sets of 600 with frame_limit = MIN_FRAME_LIMIT = 2,048 on both sides: replies are cut and end in a closing Fingerprint to infinity (§5.6).",
        a,
        b,
        MIN_FRAME_LIMIT,
    );
    let msgs = c["messages"].as_array().expect("messages");
    assert!(
        msgs.iter()
            .all(|m| m.as_str().expect("hex").len() / 2 <= MIN_FRAME_LIMIT)
    );
    assert!(
        (1..msgs.len()).any(|k| {
            let m = decode(&c, k);
            m.len() > 1
                && matches!(
                    m.last(),
                    Some(Entry {
                        upper: Bound::Infinity,
                        mode: Mode::Fingerprint { .. }
                    })
                )
                && m.iter()
                    .any(|e| matches!(e.mode, Mode::List { .. } | Mode::Answer { .. }))
        }),
        "small_frame: some reply is cut"
    );
    cases.push(c);

    json!({
        "description": "Test vectors for spec/sync.md: pairs of item sets (a is the initiator) and the exact exchange, then single replies to given messages (the fallback paths). Generated by tests/src/sync_vectors.rs with the default configuration; a case's frame_limit applies to both sides.",
        "config": {"list_max": 32, "dense_split": 16, "sparse_split": 4, "min_prefix": 3, "frame_limit": wire::MAX_MESSAGE_BYTES},
        "cases": cases,
        "replies": replies(),
        "decoding": decoding(),
    })
}

/// Message `k` of a generated case, decoded.
fn decode(case: &Json, k: usize) -> Vec<Entry> {
    let hex = case["messages"][k].as_str().expect("message");
    wire::decode(&hex::decode(hex).expect("hex")).expect("valid")
}

/// One reply: a responder holding `items` handles `message`.
fn reply(name: &str, description: &str, items: Vec<Item>, message: Vec<Entry>) -> Json {
    let items = sorted(items);
    let msg = wire::encode(&message);
    let mut r = Reconciler::respond(items.clone(), Config::default());
    let step = r.handle(&msg).expect("a valid message");
    let mut give = step.give.clone();
    give.sort();
    give.dedup();
    json!({
        "name": name,
        "description": description,
        "items": items_json(&items),
        "message": hex::encode(&msg),
        "reply": step.reply.as_ref().map(hex::encode),
        "give": give.iter().map(hex::encode).collect::<Vec<_>>(),
        "done": step.done,
    })
}

fn all(mode: Mode) -> Vec<Entry> {
    vec![Entry {
        upper: Bound::Infinity,
        mode,
    }]
}

/// The fallback paths of spec/sync.md §5.2, each as one message and the
/// responder's reply.
fn replies() -> Vec<Json> {
    let base = |name: &str, n: u64| -> Vec<Item> {
        (0..n).map(|i| item(name, i, 2_000 + i * 10)).collect()
    };
    let ten = base("replies", 10);
    let forty = base("replies_long", 40);
    let prefix = |i: &Item| i.id[..3].to_vec();
    let mut out = Vec::new();

    let mut repeated = prefix(&ten[0]);
    repeated.extend(prefix(&ten[0]));
    out.push(reply(
        "list_with_a_repeated_prefix",
        "The peer's List repeats a prefix: the responder settles its 10 items on full ids (one Ids entry).",
        ten.clone(),
        all(Mode::List { len: 3, prefixes: repeated.clone() }),
    ));
    out.push(reply(
        "list_with_a_repeated_prefix_long_run",
        "The same, over 40 items: more than IDS_MAX = 32, so the run is described instead, 4 ways (the message had no Fingerprint).",
        forty,
        all(Mode::List { len: 3, prefixes: repeated }),
    ));
    out.push(reply(
        "answer_count_mismatch",
        "An Answer for 3 items over a range where the responder holds 10: it gives nothing and settles the range on full ids.",
        ten.clone(),
        all(Mode::Answer { n: 3, lack: vec![0b101], confirm: [0; 16] }),
    ));
    out.push(reply(
        "answer_confirm_mismatch",
        "An Answer for 10 items whose bits 0 and 9 are set and whose confirm does not match: the responder gives items 0 and 9 first, then settles the range on full ids.",
        ten.clone(),
        all(Mode::Answer { n: 10, lack: vec![0b1, 0b10], confirm: [7; 16] }),
    ));
    out.push(reply(
        "ids_answer_count_mismatch",
        "An IdsAnswer for 2 items over a range where the responder holds 10: it gives nothing and settles the range on full ids.",
        ten.clone(),
        all(Mode::IdsAnswer { n: 2, lack: vec![0b11] }),
    ));
    out.push(reply(
        "ids",
        "The peer sends 3 full ids, two of which the responder holds: IdsAnswer with bit 2 set, and the responder gives its 8 others.",
        ten.clone(),
        all(Mode::Ids(vec![ten[1].id, ten[5].id, [9; 32]])),
    ));
    out.push(reply(
        "fingerprint_of_nothing",
        "A Fingerprint with count 0 over everything: the responder gives all 10 and, with nothing left to say, sends the closing all-Skip message.",
        ten.clone(),
        all(Mode::Fingerprint { count: 0, fp: [0; 16] }),
    ));
    out.push(reply(
        "empty_first_range",
        "The first bound equals the lowest bound (an empty first range, valid), then one mismatched Fingerprint over everything: described 4 ways (1 of 2 ranges mismatch).",
        base("replies_empty_first", 100),
        vec![
            Entry { upper: Bound::zero(), mode: Mode::Fingerprint { count: 0, fp: setu_sync::reconcile::fingerprint(&[]) } },
            Entry { upper: Bound::Infinity, mode: Mode::Fingerprint { count: 99, fp: [1; 16] } },
        ],
    ));
    out
}

/// Messages that §4 refuses or accepts at its edges: `{"name", "message",
/// "valid"}`. Every message's validity is checked against the decoder here.
fn decoding() -> Vec<Json> {
    let v = |n: u128| {
        let mut out = Vec::new();
        wire::put_varint(&mut out, n);
        out
    };
    let cat = |parts: &[&[u8]]| parts.concat();
    let inf_skip: &[u8] = &[0x00, 0x00];
    let zero16 = [0u8; 16];
    let two64: u128 = 1 << 64;
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("empty", vec![], false),
        (
            "version byte alone (no entry, so no infinite last bound)",
            vec![1],
            false,
        ),
        ("version 2", vec![2, 0, 0], false),
        ("one Skip to infinity", vec![1, 0, 0], true),
        (
            "first bound equal to the lowest bound, then infinity",
            cat(&[&[1], &v(1), &[0, 0], inf_skip]),
            true,
        ),
        (
            "a bound at ts 2^64 - 1 (varint 2^64)",
            cat(&[&[1], &v(two64), &[0, 0], inf_skip]),
            true,
        ),
        (
            "a bound whose ts passes 2^64 - 1",
            cat(&[&[1], &v(6), &[0, 0], &v(two64), &[0, 0], inf_skip]),
            false,
        ),
        (
            "prefix length 33",
            cat(&[&[1], &v(1), &[33], &[7; 33], &[0], inf_skip]),
            false,
        ),
        (
            "the same bound twice",
            cat(&[&[1], &v(6), &[1, 1, 0], &v(1), &[1, 1, 0], inf_skip]),
            false,
        ),
        (
            "(t, 01) then (t, 01 00): in order",
            cat(&[&[1], &v(6), &[1, 1, 0], &v(1), &[2, 1, 0, 0], inf_skip]),
            true,
        ),
        (
            "last bound not infinity",
            cat(&[&[1], &v(6), &[0, 0]]),
            false,
        ),
        ("an entry after infinity", vec![1, 0, 0, 0, 0], false),
        ("unknown mode 6", vec![1, 0, 6], false),
        ("non-shortest varint", cat(&[&[1, 0x80, 0x00, 0]]), false),
        (
            "Fingerprint count 2^64 - 1",
            cat(&[&[1, 0, 1], &v(two64 - 1), &zero16]),
            true,
        ),
        (
            "Fingerprint count 2^64",
            cat(&[&[1, 0, 1], &v(two64), &zero16]),
            false,
        ),
        ("List L = 0", vec![1, 0, 2, 0, 0], false),
        ("List n = 0", vec![1, 0, 2, 0, 3], true),
        (
            "List prefixes missing",
            cat(&[&[1, 0, 2, 2, 3], &[0; 5]]),
            false,
        ),
        (
            "Answer bitmap padding not zero",
            cat(&[&[1, 0, 3, 3, 0x08], &zero16]),
            false,
        ),
        (
            "Answer bitmap, bit n - 1 set",
            cat(&[&[1, 0, 3, 3, 0x04], &zero16]),
            true,
        ),
        ("Ids ids missing", cat(&[&[1, 0, 4, 2], &[0; 63]]), false),
        ("IdsAnswer n = 0", vec![1, 0, 5, 0], true),
    ];
    cases
        .into_iter()
        .map(|(name, msg, valid)| {
            assert_eq!(wire::decode(&msg).is_ok(), valid, "decoding case {name}");
            json!({"name": name, "message": hex::encode(&msg), "valid": valid})
        })
        .collect()
}

/// The file as written to disk.
pub fn render() -> String {
    let pretty = serde_json::to_string_pretty(&generate()).expect("serialisable");
    // Pretty, but each [ts, id] item on one line, which keeps the file a
    // third of the size and readable.
    let lines: Vec<&str> = pretty.lines().collect();
    let mut out = String::with_capacity(pretty.len());
    let mut k = 0;
    while k < lines.len() {
        let l = lines[k];
        let item = lines.get(k + 1..k + 4).filter(|next| {
            l.trim() == "["
                && next[0].trim().trim_end_matches(',').parse::<u64>().is_ok()
                && next[0].trim().ends_with(',')
                && next[1].trim().starts_with('"')
                && next[2].trim().trim_end_matches(',') == "]"
        });
        match item {
            Some(next) => {
                out.push_str(l);
                out.push_str(next[0].trim());
                out.push(' ');
                out.push_str(next[1].trim());
                out.push_str(next[2].trim());
                k += 4;
            }
            None => {
                out.push_str(l);
                k += 1;
            }
        }
        out.push('\n');
    }
    out
}
