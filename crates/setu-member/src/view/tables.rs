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

/// §5.3: after a partition heals, the operations one side signed against
/// an epoch no longer on the chain are listed as stale, with their
/// signers, until they are signed again against the current epoch.
#[test]
fn stale_operations_are_listed_until_signed_again() {
    let text = include_str!("../../testdata/partition.txt");
    let healed: String = text
        .lines()
        .take_while(|l| !l.starts_with("h5"))
        .map(|l| format!("{l}\n"))
        .collect();
    let t = run_file("partition.txt (healed)", &healed);
    let v = t.view();
    assert_eq!(v.stale().len(), 1, "{:?}", v.stale());
    let s = &v.stale()[0];
    assert_eq!(s.op.name(), "endorse");
    assert_eq!(s.signers, ["a", "b", "c", "f"]);
    assert_ne!(s.op.epoch(), Some(v.epoch()));
    assert_eq!(s.op.at_epoch(v.epoch()).epoch(), Some(v.epoch()));
    let t = run_file("partition.txt", text);
    assert!(t.view().stale().is_empty(), "re-signed and applied");
}

/// A store re-judges, after a routine rotation, only the old key's records
/// above its new seal; after a revocation, all of the key's records.
#[test]
fn changed_keys_name_the_lowest_seq_to_judge_again() {
    use crate::table::secret;
    let before = run_file(
        "before",
        "charter a b c\np1 a practice a-1\nexpect valid p1\n",
    );
    let after = run_file(
        "after",
        "charter a b c\np1 a practice a-1\nr1 a rotate a -> a2\nexpect valid p1\n",
    );
    let changed = after.view().changed_keys(&before.view());
    assert!(
        changed.contains(&(secret("a").author(), 3)),
        "sealed at seq 2: {changed:?}"
    );
    let revoked = run_file(
        "revoked",
        "charter a b c\np1 a practice a-1\nv1 b revoke a key=a valid=p1 @0\nv2 c revoke a key=a valid=p1 @0\nexpect valid p1\n",
    );
    let changed = revoked.view().changed_keys(&before.view());
    assert!(changed.contains(&(secret("a").author(), 0)), "{changed:?}");
    // The revokers' votes now count: each is looked at again from its own
    // seq (1), not its whole history.
    assert!(changed.contains(&(secret("b").author(), 1)), "{changed:?}");
    assert_eq!(changed.len(), 3, "{changed:?}");
}
