//! Feeds arbitrary bytes to the reconciliation decoder and to a responder
//! holding a fixed set (`spec/sync.md` §4, §5). Nothing may panic; a decoded
//! message re-encodes to itself; every reply decodes and fits the frame.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use setu_sync::item::Item;
use setu_sync::reconcile::{Config, Reconciler};
use setu_sync::wire;

/// 300 items, some sharing a ts and long id prefixes.
fn items() -> Arc<Vec<Item>> {
    static ITEMS: OnceLock<Arc<Vec<Item>>> = OnceLock::new();
    ITEMS
        .get_or_init(|| {
            let mut v: Vec<Item> = (0u32..300)
                .map(|i| {
                    let mut id = [(i % 7) as u8; 32];
                    id[28..].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
                    Item { ts: u64::from(i / 3), id }
                })
                .collect();
            v.sort();
            v.dedup();
            Arc::new(v)
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = wire::decode(data) {
        assert_eq!(wire::encode(&entries), data, "a message re-encodes to itself");
    }
    let cfg = Config {
        frame_limit: 4_096,
        ..Config::default()
    };
    let mut r = Reconciler::respond(items(), cfg);
    if let Ok(step) = r.handle(data)
        && let Some(reply) = step.reply
    {
        assert!(reply.len() <= 4_096, "the reply fits the frame");
        wire::decode(&reply).expect("every reply decodes");
    }
});
