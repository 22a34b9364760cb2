//! Every conflict-rule table holds, in any arrival order.

use proptest::prelude::*;

use crate::table::{run_file, tables};
use crate::view::View;

#[test]
fn every_table_holds() {
    let all = tables();
    assert!(all.len() >= 8, "tables found: {}", all.len());
    for (name, text) in all {
        run_file(&name, &text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The arrival order never changes the view: every table's records,
    /// shuffled, give the same members, epoch and validity of every record.
    #[test]
    fn shuffled_arrival_changes_nothing(seed in any::<u64>()) {
        for (name, text) in tables() {
            let t = run_file(&name, &text);
            let want = t.digest(&t.view());
            let mut ops = t.ops.clone();
            let mut rng = seed ^ 0x9e37_79b9_7f4a_7c15;
            for i in (1..ops.len()).rev() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                ops.swap(i, (rng % (i as u64 + 1)) as usize);
            }
            let shuffled = View::compute(t.sealed(), &ops);
            prop_assert_eq!(&t.digest(&shuffled), &want, "{}", name);
        }
    }
}

#[test]
fn committed_vectors_match_the_generator() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/vectors/membership.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == crate::vectors::render(),
        "spec/vectors/membership.json is stale: run `cargo run -p setu-member --example gen-vectors > spec/vectors/membership.json`"
    );
}
