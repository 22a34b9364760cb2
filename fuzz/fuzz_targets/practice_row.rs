//! Feeds arbitrary bytes to what `setu import` does with one JSON Lines row
//! before the store: JSON, the local text rule, the practice body's types,
//! defaults and validation; a row that passes is signed and must then pass
//! the network's record check with the same body. Nothing may panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use setu_core::keys::SecretKey;
use setu_core::practice::{self, Practice};
use setu_core::record;

fn key() -> &'static SecretKey {
    static KEY: OnceLock<SecretKey> = OnceLock::new();
    KEY.get_or_init(|| SecretKey::from_seed(&[7; 32]))
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let text_problems = practice::text::check(&mut body);
    let Ok(mut p) = serde_json::from_value::<Practice>(body) else {
        return;
    };
    p.fill_defaults();
    if !text_problems.is_empty() || !practice::validate(&p).is_empty() {
        return;
    }
    let Ok(rec) = record::sign_practice(key(), 1, 1_767_225_600_000, &p) else {
        return;
    };
    let checked = record::check(rec.bytes().to_vec()).expect("what this node signs, the network accepts");
    assert_eq!(checked.id(), rec.id());
});
