//! Feeds arbitrary bytes to the signed-record check. It must never panic,
//! and whatever it accepts must re-check identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use setu_core::{cbor, record};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = cbor::decode(data) {
        // Accepted bytes are canonical: they re-encode to themselves.
        assert_eq!(cbor::encode(&v).ok().as_deref(), Some(data));
    }
    if let Ok(rec) = record::check(data.to_vec()) {
        assert_eq!(rec.bytes(), data);
        let again = record::check(rec.bytes().to_vec()).expect("accepted once, accepted again");
        assert_eq!(again.id(), rec.id());
    }
});
