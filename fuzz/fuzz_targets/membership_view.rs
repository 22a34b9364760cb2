//! Feeds arbitrary bytes to the membership state computation
//! (`spec/membership.md`): a sealed charter, then signed records, each
//! prefixed by a 2-byte big-endian length. Nothing may panic, and the view
//! is a function of the set of records: the same records in reverse order
//! give the same members and epoch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use setu_core::record;
use setu_member::charter::Sealed;
use setu_member::op::Signed;
use setu_member::view::View;

/// Splits `data` into 2-byte-length-prefixed chunks (a short tail is dropped).
fn chunks(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 && out.len() < 256 {
        let n = usize::from(u16::from_be_bytes([data[0], data[1]]));
        data = &data[2..];
        let n = n.min(data.len());
        out.push(&data[..n]);
        data = &data[n..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let parts = chunks(data);
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    let Ok(sealed) = Sealed::decode(first) else {
        return;
    };
    let ops: Vec<Signed> = rest
        .iter()
        .filter_map(|b| record::check(b.to_vec()).ok())
        .filter_map(|r| Signed::from_record(&r).and_then(Result::ok))
        .collect();
    let view = View::compute(&sealed, &ops);
    let reversed: Vec<Signed> = ops.iter().rev().cloned().collect();
    let again = View::compute(&sealed, &reversed);
    assert_eq!(view.member_ids(), again.member_ids(), "order of arrival changes nothing");
    assert_eq!(view.epoch(), again.epoch());
});
