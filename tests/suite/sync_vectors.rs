//! `spec/vectors/sync.json`: every exchange is reproduced message for
//! message, every message decodes, and the gives are the set differences.

use std::collections::HashSet;

use serde_json::Value as Json;
use setu_sync::item::Item;
use setu_sync::reconcile::{Config, Reconciler, run_pair};

fn load() -> Json {
    let path = setu_tests::repo_root().join("spec/vectors/sync.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("sync.json")).expect("json")
}

fn items(v: &Json) -> Vec<Item> {
    v.as_array()
        .expect("items")
        .iter()
        .map(|x| Item {
            ts: x[0].as_u64().expect("ts"),
            id: hex::decode(x[1].as_str().expect("id"))
                .expect("hex")
                .try_into()
                .expect("32 bytes"),
        })
        .collect()
}

#[test]
fn committed_sync_vectors_match_the_generator() {
    let path = setu_tests::repo_root().join("spec/vectors/sync.json");
    let committed = std::fs::read_to_string(path).expect("read");
    assert!(
        committed == setu_tests::sync_vectors::render(),
        "spec/vectors/sync.json is stale: run `cargo run -p setu-tests --bin gen-vectors -- sync > spec/vectors/sync.json`"
    );
}

#[test]
fn every_exchange_replays_exactly() {
    let v = load();
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() >= 12);
    for c in cases {
        let name = c["name"].as_str().expect("name");
        let (a, b) = (items(&c["a"]), items(&c["b"]));
        let cfg = Config {
            frame_limit: c["frame_limit"].as_u64().expect("frame_limit") as usize,
            ..Config::default()
        };
        let t = run_pair(a.clone(), b.clone(), cfg, cfg).expect("session");
        let want: Vec<String> = c["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m.as_str().expect("hex").to_string())
            .collect();
        let got: Vec<String> = t.messages.iter().map(hex::encode).collect();
        assert_eq!(got, want, "{name}");
        for m in &t.messages {
            setu_sync::wire::decode(m).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let sa: HashSet<_> = a.iter().map(|i| i.id).collect();
        let sb: HashSet<_> = b.iter().map(|i| i.id).collect();
        let mut ga: Vec<_> = sa.difference(&sb).map(hex::encode).collect();
        let mut gb: Vec<_> = sb.difference(&sa).map(hex::encode).collect();
        ga.sort();
        gb.sort();
        let list = |k: &str| -> Vec<String> {
            c[k].as_array()
                .expect(k)
                .iter()
                .map(|x| x.as_str().expect("hex").to_string())
                .collect()
        };
        assert_eq!(list("give_a"), ga, "{name}");
        assert_eq!(list("give_b"), gb, "{name}");
    }
}

#[test]
fn every_fallback_reply_replays_exactly() {
    let v = load();
    let replies = v["replies"].as_array().expect("replies");
    assert!(replies.len() >= 8);
    for c in replies {
        let name = c["name"].as_str().expect("name");
        let mut r = Reconciler::respond(items(&c["items"]), Config::default());
        let msg = hex::decode(c["message"].as_str().expect("message")).expect("hex");
        let step = r.handle(&msg).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            step.reply.as_ref().map(hex::encode).as_deref(),
            c["reply"].as_str(),
            "{name}: reply"
        );
        let mut give: Vec<String> = step.give.iter().map(hex::encode).collect();
        give.sort();
        give.dedup();
        let want: Vec<String> = c["give"]
            .as_array()
            .expect("give")
            .iter()
            .map(|x| x.as_str().expect("hex").to_string())
            .collect();
        assert_eq!(give, want, "{name}: give");
        assert_eq!(
            step.done,
            c["done"].as_bool().expect("done"),
            "{name}: done"
        );
    }
}

#[test]
fn every_decoding_edge_is_refused_or_accepted_as_the_spec_says() {
    let v = load();
    let cases = v["decoding"].as_array().expect("decoding");
    assert!(cases.len() >= 20);
    for c in cases {
        let name = c["name"].as_str().expect("name");
        let msg = hex::decode(c["message"].as_str().expect("message")).expect("hex");
        let valid = c["valid"].as_bool().expect("valid");
        assert_eq!(setu_sync::wire::decode(&msg).is_ok(), valid, "{name}");
    }
}
