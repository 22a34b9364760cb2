//! Feeds arbitrary bytes to the bulk decoders (`spec/sync.md` §6): a
//! request, and a batch checked against a fixed request. Nothing may panic;
//! a decoded request re-encodes to itself, and a decoded batch honours the
//! request's limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use setu_sync::bulk::{Batch, MAX_RECORD_BYTES, Request};
use setu_sync::item::Bound;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Request::decode(data) {
        assert_eq!(r.encode(), data, "a request re-encodes to itself");
    }
    let req = Request {
        after: Bound::zero(),
        max_items: 64,
        max_bytes: 65_536,
    };
    if let Ok(b) = Batch::decode(data, &req) {
        assert!(b.records.len() as u64 <= req.max_items);
        assert!(b.records.iter().all(|r| r.len() <= MAX_RECORD_BYTES));
        let bytes: u64 = b.records.iter().map(|r| r.len() as u64).sum();
        assert!(bytes <= req.max_bytes + MAX_RECORD_BYTES as u64);
        assert_eq!(b.encode(), data, "a batch re-encodes to itself");
    }
});
