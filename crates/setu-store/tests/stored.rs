//! Storage times (`u` entries, spec/store.md §7): every change of a chain
//! moves it to the end of the harvest order, a listing continues after a
//! cursor, and a store reopened keeps its times.

use serde_json::{Value as Json, json};
use setu_core::keys::SecretKey;
use setu_store::replica::{Config, Replica};

/// 2026-01-01T00:00:00Z, in ms.
const NOW: u64 = 1_767_225_600_000;

fn practice(pid: &str) -> Json {
    json!({
        "practice_id": pid,
        "title": {"original": "en", "text": {"en": "Union digital centres"}},
        "summary": {"original": "en", "text": {"en": "A short summary."}},
        "challenge": {"original": "en", "text": {"en": "The problem."}},
        "solution": {"original": "en", "text": {"en": "The solution."}},
        "countries": [{"iso3": "BGD", "role": "originating"}],
        "sdg_targets": ["16.6"],
        "status": 2,
        "period": {"start": "2012-06"},
    })
}

fn names(r: &Replica<impl setu_store::backend::Backend>) -> Vec<String> {
    r.store()
        .changes(0, u64::MAX - 1, None, 100)
        .expect("changes")
        .into_iter()
        .map(|s| s.name)
        .collect()
}

#[test]
fn a_change_moves_a_chain_to_the_end_of_the_harvest_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    Replica::create(dir.path()).expect("create");
    let key = SecretKey::from_seed(&[7; 32]);
    {
        let mut r = Replica::open(dir.path(), Config::default()).expect("open");
        for pid in ["A", "B", "C"] {
            r.publish(&key, practice(pid), NOW).expect("publish");
        }
        assert_eq!(names(&r), ["A", "B", "C"]);
        let all = r
            .store()
            .changes(0, u64::MAX - 1, None, 100)
            .expect("changes");
        assert!(all.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(all.iter().all(|s| s.author == key.author()));
        let first = all[0].at;
        assert_eq!(r.store().earliest_change().expect("earliest"), Some(first));

        // Withdrawing A restamps it: one entry per chain, A now last.
        r.withdraw(&key, "A", "merged into B", NOW + 10)
            .expect("withdraw");
        assert_eq!(names(&r), ["B", "C", "A"]);

        // A listing continues after a cursor, and a time window bounds it.
        let all = r
            .store()
            .changes(0, u64::MAX - 1, None, 100)
            .expect("changes");
        let rest = r
            .store()
            .changes(0, u64::MAX - 1, Some(&all[0].cursor()), 100)
            .expect("after");
        assert_eq!(rest, all[1..].to_vec());
        let late = r
            .store()
            .changes(all[2].at, u64::MAX - 1, None, 100)
            .expect("from");
        assert!(late.iter().any(|s| s.name == "A"));
        assert!(late.iter().all(|s| s.at >= all[2].at));
        assert!(
            r.store()
                .changes(0, all[2].at - 1, None, 100)
                .expect("until")
                .iter()
                .all(|s| s.name != "A")
        );
        assert_eq!(
            r.store()
                .changes(0, u64::MAX - 1, None, 1)
                .expect("limit")
                .len(),
            1
        );

        // A cursor this store never issued is refused by name.
        let e = r.store().changes(0, 10, Some("zz"), 10).unwrap_err();
        assert!(e.to_string().contains("cursor"), "{e}");
    }
    // Reopened: the same times.
    let r = Replica::open(dir.path(), Config::default()).expect("reopen");
    assert_eq!(names(&r), ["B", "C", "A"]);
    assert!(r.store().meta().expect("meta").stamped);
}

fn cbor<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let value = setu_core::cbor::to_value(v).expect("to value");
    setu_core::cbor::encode(&value).expect("encode")
}

#[test]
fn a_store_an_older_version_wrote_to_is_stamped_again_with_one_entry_per_chain() {
    use setu_store::backend::Backend;
    let dir = tempfile::tempdir().expect("tempdir");
    Replica::create(dir.path()).expect("create");
    let key = SecretKey::from_seed(&[8; 32]);
    {
        let mut r = Replica::open(dir.path(), Config::default()).expect("open");
        for pid in ["A", "B"] {
            r.publish(&key, practice(pid), NOW).expect("publish");
        }
        // What a version without storage times leaves: chain A rewritten
        // without its time (its old `u` entry stays), the mark gone.
        let mut chain = r
            .store()
            .chain(&key.author(), "A")
            .expect("read")
            .expect("chain");
        chain.stored = 0;
        let mut meta = r.store().meta().expect("meta");
        meta.stamped = false;
        let mut k = vec![b'p'];
        k.extend_from_slice(&key.author().0);
        k.extend_from_slice(b"A");
        r.store()
            .backend()
            .apply(vec![
                (k, Some(cbor(&chain))),
                (b"m".to_vec(), Some(cbor(&meta))),
            ])
            .expect("write as an older version would");
    }
    let r = Replica::open(dir.path(), Config::default()).expect("reopen");
    // One entry per chain, A now last (stamped at this open), B kept.
    assert_eq!(names(&r), ["B", "A"]);
    let a = r
        .store()
        .chain(&key.author(), "A")
        .expect("read")
        .expect("chain");
    assert_ne!(a.stored, 0);
    assert!(r.store().meta().expect("meta").stamped);
}
