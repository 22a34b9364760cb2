//! Faults a store owner must survive without a manual step (issue 12):
//! a damaged search index, an index that claims more than the store holds
//! or was built from another store, and a data directory restored from a
//! backup, which must not sign a `seq` it already used.
//!
//! The full-disk cases need a real small filesystem and root; they are in
//! `tests/suite/faults.rs`.

use std::collections::BTreeSet;
use std::path::Path;

use setu_core::keys::SecretKey;
use setu_core::record;
use setu_store::backend::sled::SledBackend;
use setu_store::query::Query;
use setu_store::replica::{Config, Replica};
use setu_store::synth;

/// 2026-01-01T00:00:00Z, in ms.
const NOW: u64 = 1_767_225_600_000;

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

fn open_new(dir: &Path) -> Replica<SledBackend> {
    Replica::create(dir).expect("create the data directory");
    Replica::open(dir, Config::default()).expect("open the new replica")
}

fn reopen(dir: &Path) -> Replica<SledBackend> {
    Replica::open(dir, Config::default()).expect("reopen the replica")
}

/// Signs `n` synthetic practices as `k`, seqs from `first_seq`, and stores them.
fn fill(r: &mut Replica<SledBackend>, k: &SecretKey, seed: u64, n: u64, first_seq: u64) {
    let records: Vec<Vec<u8>> = synth::bodies(seed, n)
        .enumerate()
        .map(|(i, b)| {
            let p: setu_core::practice::Practice = serde_json::from_value(b).expect("a practice");
            record::sign_practice(k, first_seq + i as u64, NOW, &p)
                .expect("sign")
                .into_bytes()
        })
        .collect();
    let done = r.ingest(records, NOW).expect("ingest");
    assert!(done.outcomes.iter().all(|o| o.is_stored()));
    r.flush_index().expect("flush");
}

/// Every practice id the index finds.
fn found(r: &Replica<SledBackend>) -> BTreeSet<String> {
    let hits = r
        .query(&Query {
            limit: 10_000,
            ..Query::default()
        })
        .expect("query");
    assert_eq!(hits.total, hits.hits.len());
    hits.hits.into_iter().map(|h| h.practice_id).collect()
}

/// Every practice id the store holds (the truth the index must reflect).
fn stored(r: &Replica<SledBackend>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    r.store()
        .for_each_chain(&mut |_, pid, c| {
            if !c.state().withdrawn && !c.state().linked.is_empty() {
                out.insert(pid.to_string());
            }
            Ok(true)
        })
        .expect("chains");
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// Index files of one kind (by extension), or every segment file.
fn index_files(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.join("index"))
        .expect("index dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect()
}

/// Removing or truncating any kind of index file: the next open rebuilds
/// the index from the store, and search finds everything again. Before,
/// `rm index/*.idx` made every verb fail, `reindex` included.
#[test]
fn a_damaged_index_is_rebuilt_on_open() {
    for ext in ["idx", "term", "pos", "fast", "store", "fieldnorm"] {
        for how in ["removed", "truncated", "garbled"] {
            let dir = tempfile::tempdir().expect("tempdir");
            let k = key(1);
            let expected = {
                let mut r = open_new(dir.path());
                fill(&mut r, &k, 7, 40, 1);
                let e = stored(&r);
                assert_eq!(found(&r), e);
                e
            };
            let files = index_files(dir.path(), ext);
            assert!(!files.is_empty(), "the index has .{ext} files");
            for f in &files {
                match how {
                    "removed" => std::fs::remove_file(f).expect("rm"),
                    "truncated" => {
                        let len = std::fs::metadata(f).expect("stat").len();
                        let file = std::fs::OpenOptions::new()
                            .write(true)
                            .open(f)
                            .expect("open");
                        file.set_len(len / 2).expect("truncate");
                    }
                    _ => {
                        let mut bytes = std::fs::read(f).expect("read");
                        let mid = bytes.len() / 2;
                        bytes[mid] ^= 0xff;
                        std::fs::write(f, bytes).expect("write");
                    }
                }
            }
            let r = Replica::open(dir.path(), Config::default())
                .unwrap_or_else(|e| panic!(".{ext} {how}: open failed: {e}"));
            assert_eq!(found(&r), expected, ".{ext} {how}: search finds everything");
            let st = r.status().expect("status");
            assert_eq!(st.index_lag, 0, ".{ext} {how}");
            assert_eq!(st.index_error, None, ".{ext} {how}");
        }
    }
}

/// `reindex` works on a damaged index too (it opens the replica first).
#[test]
fn reindex_works_on_a_damaged_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let k = key(2);
    {
        let mut r = open_new(dir.path());
        fill(&mut r, &k, 8, 25, 1);
    }
    std::fs::write(dir.path().join("index").join("meta.json"), b"{ not json").expect("garble");
    let mut r = reopen(dir.path());
    assert_eq!(r.reindex().expect("reindex"), 25);
    assert_eq!(found(&r).len(), 25);
}

/// A data directory whose store was restored from an older backup, while its
/// index is newer: the index claims changes the store does not hold, and
/// must not be trusted (before, practices of the newer index were served,
/// or the watermark hid practices stored after the restore).
#[test]
fn an_index_ahead_of_the_store_is_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backup = tempfile::tempdir().expect("tempdir");
    let k = key(3);
    {
        let mut r = open_new(dir.path());
        fill(&mut r, &k, 9, 20, 1);
    }
    copy_dir(&dir.path().join("db"), &backup.path().join("db"));
    {
        let mut r = reopen(dir.path());
        fill(&mut r, &k, 10, 30, 100);
        assert_eq!(found(&r).len(), 50);
    }
    std::fs::remove_dir_all(dir.path().join("db")).expect("rm db");
    copy_dir(&backup.path().join("db"), &dir.path().join("db"));
    let mut r = reopen(dir.path());
    assert_eq!(found(&r), stored(&r), "the index is the store's");
    assert_eq!(found(&r).len(), 20);
    // And what is stored from now on is found.
    fill(&mut r, &k, 11, 5, 200);
    assert_eq!(found(&r), stored(&r));
    assert_eq!(r.status().expect("status").index_lag, 0);
}

/// An index copied from another node's data directory: same change counter
/// perhaps, other contents. The incarnation id tells them apart.
#[test]
fn an_index_of_another_store_is_rebuilt() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    {
        let mut r = open_new(a.path());
        fill(&mut r, &key(4), 12, 10, 1);
    }
    {
        let mut r = open_new(b.path());
        fill(&mut r, &key(5), 13, 10, 1);
    }
    std::fs::remove_dir_all(b.path().join("index")).expect("rm index");
    copy_dir(&a.path().join("index"), &b.path().join("index"));
    let r = reopen(b.path());
    assert_eq!(found(&r), stored(&r));
    assert_eq!(r.store().incarnation().expect("id").len(), 32);
}

/// A node never signs one `seq` twice: not after a publish whose store write
/// failed (the reservation is durable first), and not after its data
/// directory is restored from a backup taken before later publishes (the
/// clock floor).
#[test]
fn seqs_are_never_reused_after_a_restore() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backup = tempfile::tempdir().expect("tempdir");
    let k = key(6);
    let body = |pid: &str| {
        let mut b = synth::body(14, 0);
        b["practice_id"] = serde_json::json!(pid);
        b
    };
    let first = {
        let mut r = open_new(dir.path());
        r.publish(&k, body("SEQ-A"), NOW).expect("publish").seq
    };
    copy_dir(&dir.path().join("db"), &backup.path().join("db"));
    let second = {
        let mut r = reopen(dir.path());
        r.publish(&k, body("SEQ-B"), NOW + 1).expect("publish").seq
    };
    assert!(second > first);
    // Restore the backup taken before SEQ-B, then publish a minute later.
    std::fs::remove_dir_all(dir.path().join("db")).expect("rm db");
    copy_dir(&backup.path().join("db"), &dir.path().join("db"));
    let mut r = reopen(dir.path());
    let third = r
        .publish(&k, body("SEQ-C"), NOW + 60_000)
        .expect("publish")
        .seq;
    assert!(
        third > second,
        "seq {third} after a restore reuses {second}"
    );
    // Reservations are durable: the next seq is above any reserved one,
    // whether or not a record was stored with it.
    let reserved = r
        .store()
        .reserve_seqs(&k.author(), 10, NOW)
        .expect("reserve");
    assert_eq!(reserved, third + 1);
    drop(r);
    let mut r = reopen(dir.path());
    let fourth = r
        .publish(&k, body("SEQ-D"), NOW + 60_000)
        .expect("publish")
        .seq;
    assert_eq!(fourth, reserved + 10);
}
