//! Properties of reconciliation: it terminates with the union on arbitrary
//! sets, respects the frame cap, and survives hostile peers.

use proptest::prelude::*;
use setu_sync::item::{Bound, Item};
use setu_sync::reconcile::{Config, Reconciler, SyncError, run_pair};
use setu_sync::wire::{self, Entry, Mode};
use std::collections::HashSet;

/// Items whose ids may share long prefixes and whose ts may collide.
fn item() -> impl Strategy<Value = Item> {
    (
        0u64..50,
        prop_oneof![Just(0u8), any::<u8>()],
        any::<[u8; 4]>(),
        0usize..31,
    )
        .prop_map(|(ts, lead, tail, shared)| {
            let mut id = [lead; 32];
            id[shared..shared + 1].copy_from_slice(&tail[..1]);
            id[28..].copy_from_slice(&tail);
            Item { ts, id }
        })
}

fn set() -> impl Strategy<Value = Vec<Item>> {
    proptest::collection::btree_set(item(), 0..300).prop_map(|s| s.into_iter().collect())
}

fn check(a: &[Item], b: &[Item], cfg: Config) {
    let t = run_pair(a.to_vec(), b.to_vec(), cfg, cfg).expect("session");
    let sa: HashSet<_> = a.iter().map(|i| i.id).collect();
    let sb: HashSet<_> = b.iter().map(|i| i.id).collect();
    let mut ga: Vec<_> = sa.difference(&sb).copied().collect();
    let mut gb: Vec<_> = sb.difference(&sa).copied().collect();
    ga.sort();
    gb.sort();
    assert_eq!(t.give_a, ga);
    assert_eq!(t.give_b, gb);
    assert!(
        t.messages
            .iter()
            .all(|m| m.len() <= cfg.normalized().frame_limit),
        "frame cap"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_two_sets_reconcile_to_the_union(a in set(), b in set(), frame in 1_024usize..8_192, list_max in 1usize..40) {
        let cfg = Config { frame_limit: frame, list_max, max_rounds: 10_000, ..Config::default() };
        check(&a, &b, cfg);
    }

    #[test]
    fn overlapping_sets(base in set(), only_a in set(), only_b in set()) {
        let a: Vec<Item> = base.iter().chain(&only_a).copied().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let b: Vec<Item> = base.iter().chain(&only_b).copied().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        check(&a, &b, Config::default());
        check(&a, &a, Config::default());
        check(&a, &[], Config::default());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2_000), items in set()) {
        let mut r = Reconciler::respond(items, Config::default());
        let _ = r.handle(&bytes);
        let mut with_version = vec![wire::VERSION];
        with_version.extend(&bytes);
        let _ = r.handle(&with_version);
    }
}

#[test]
fn ranges_out_of_order_and_absurd_counts_are_errors() {
    let items: Vec<Item> = (0..100u8)
        .map(|i| Item {
            ts: u64::from(i),
            id: [i; 32],
        })
        .collect();
    let mut r = Reconciler::respond(items.clone(), Config::default());
    let backwards = wire::encode(&[
        Entry {
            upper: Bound::At {
                ts: 50,
                prefix: vec![],
            },
            mode: Mode::Skip,
        },
        Entry {
            upper: Bound::At {
                ts: 10,
                prefix: vec![],
            },
            mode: Mode::Skip,
        },
        Entry {
            upper: Bound::Infinity,
            mode: Mode::Skip,
        },
    ]);
    assert!(matches!(r.handle(&backwards), Err(SyncError::Wire(_))));
    let mut r = Reconciler::respond(items, Config::default());
    // A list that claims 2^40 prefixes.
    let absurd = [wire::VERSION, 0, 2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 3];
    assert!(matches!(r.handle(&absurd), Err(SyncError::Wire(_))));
}

#[test]
fn endless_splitting_ends_in_an_error_after_bounded_rounds() {
    // A hostile responder answers every message with a fresh, mismatching
    // split of a made-up range: the honest initiator gives up.
    let items: Vec<Item> = (0..5_000u32)
        .map(|i| {
            let mut id = [0u8; 32];
            id[..4].copy_from_slice(&i.to_be_bytes());
            Item {
                ts: u64::from(i),
                id,
            }
        })
        .collect();
    let cfg = Config {
        max_rounds: 20,
        ..Config::default()
    };
    let (mut honest, _) = Reconciler::initiate(items, cfg);
    let mut rounds = 0;
    let err = loop {
        rounds += 1;
        let junk = wire::encode(&[
            Entry {
                upper: Bound::At {
                    ts: 2_500,
                    prefix: vec![],
                },
                mode: Mode::Fingerprint {
                    count: 7,
                    fp: [rounds as u8; 16],
                },
            },
            Entry {
                upper: Bound::Infinity,
                mode: Mode::Fingerprint {
                    count: 9,
                    fp: [1; 16],
                },
            },
        ]);
        match honest.handle(&junk) {
            Ok(step) => assert!(step.reply.is_some(), "the honest side keeps splitting"),
            Err(e) => break e,
        }
        assert!(rounds <= 21);
    };
    assert_eq!(err, SyncError::TooManyRounds(20));
}
