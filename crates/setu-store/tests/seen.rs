//! The store's filter (`setu_store::seen`) only ever skips reads that would
//! find nothing: over a real sled store, built at open from what is on
//! disk or fed by the writes after it, duplicates, equivocations and chain
//! rules are judged exactly as with every read made.

use setu_core::keys::SecretKey;
use setu_core::practice::Practice;
use setu_core::record;
use setu_store::ingest::{Outcome, Refusal};
use setu_store::replica::{Config, Replica};

/// 2026-01-01T00:00:00Z, in ms.
const NOW: u64 = 1_767_225_600_000;

fn signed(
    key: &SecretKey,
    seq: u64,
    index: u64,
    revision: u64,
    supersedes: Option<&record::Record>,
) -> record::Record {
    let mut p: Practice = serde_json::from_value(setu_store::synth::body(3, index)).expect("body");
    p.fill_defaults();
    p.revision = revision;
    p.supersedes = supersedes.map(record::Record::id);
    record::sign_practice(key, seq, NOW + seq, &p).expect("sign")
}

fn ingest(
    r: &mut Replica<setu_store::backend::sled::SledBackend>,
    recs: &[&record::Record],
) -> Vec<Outcome> {
    r.ingest(
        recs.iter().map(|r| r.bytes().to_vec()).collect(),
        NOW + 1_000_000,
    )
    .expect("ingest")
    .outcomes
}

#[test]
fn the_filter_changes_no_judgement_before_or_after_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    Replica::create(dir.path()).expect("create");
    let key = SecretKey::from_seed(&[5; 32]);
    let first = signed(&key, 1, 0, 1, None);
    let second = signed(&key, 2, 1, 1, None);
    {
        let mut r = Replica::open(dir.path(), Config::default()).expect("open");
        let out = ingest(&mut r, &[&first]);
        assert!(out[0].is_stored(), "{out:?}");
        // The filter, now built, is fed by the write: a record stored
        // after it was built is a duplicate the second time.
        assert!(ingest(&mut r, &[&second])[0].is_stored());
        assert_eq!(
            ingest(&mut r, &[&second]),
            vec![Outcome::Duplicate(second.id())]
        );
    }
    // Reopened: the filter is built from the disk.
    let mut r = Replica::open(dir.path(), Config::default()).expect("reopen");
    assert_eq!(
        ingest(&mut r, &[&first, &second]),
        vec![
            Outcome::Duplicate(first.id()),
            Outcome::Duplicate(second.id())
        ]
    );
    // Another record at a stored seq equivocates.
    let same_seq = signed(&key, 1, 7, 1, None);
    assert_eq!(
        ingest(&mut r, &[&same_seq]),
        vec![Outcome::Stored {
            id: same_seq.id(),
            equivocation: true
        }]
    );
    // The chain stored before the reopen is read: revision 2 of the first
    // practice follows it, and a revision 3 that skips a step is refused.
    let rev2 = signed(&key, 10, 0, 2, Some(&first));
    assert!(ingest(&mut r, &[&rev2])[0].is_stored());
    let chain = r
        .store()
        .chain(
            &key.author(),
            setu_store::synth::body(3, 0)["practice_id"]
                .as_str()
                .expect("id"),
        )
        .expect("read")
        .expect("chain");
    assert_eq!(chain.entries.len(), 2);
    let skip = signed(&key, 11, 0, 3, Some(&first));
    match &ingest(&mut r, &[&skip])[0] {
        Outcome::Refused {
            why: Refusal::Chain(why),
            ..
        } => {
            assert!(why.contains("next revision is 2"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    // A new practice by the same key at a new seq is no equivocation.
    let fresh = signed(&key, 12, 2, 1, None);
    assert_eq!(
        ingest(&mut r, &[&fresh]),
        vec![Outcome::Stored {
            id: fresh.id(),
            equivocation: false
        }]
    );
}
