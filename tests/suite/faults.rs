//! Full disks, on a real small filesystem: a tmpfs mounted by the test.
//!
//! It needs root to mount, so it is `#[ignore]`d in the plain test run;
//! `.ci/run` runs it with `--ignored` as root. A mount that fails is a
//! failure, never a skip.
//!
//! What it shows (issue 12 §1–2):
//! - a store write that fails for lack of space leaves no trace (no phantom
//!   records), writes work again without a restart once there is room, and
//!   `status` names the failure meanwhile;
//! - a search index that fails for lack of space never hides it: the lag
//!   shows in `status`, and once there is room the index catches up with
//!   every practice stored meanwhile, before and after a restart.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use setu_core::keys::SecretKey;
use setu_core::practice::Practice;
use setu_core::record;
use setu_store::backend::sled::SledBackend;
use setu_store::query::Query;
use setu_store::replica::{Config, Replica};
use setu_store::synth;

/// 2026-01-01T00:00:00Z, in ms.
const NOW: u64 = 1_767_225_600_000;
/// Records per ingest call while filling the disk.
const BATCH: u64 = 100;
/// Most batches tried before the test gives up on filling the disk.
const MAX_BATCHES: u64 = 400;
/// Room once the filesystem is grown.
const ROOMY: &str = "256m";

/// A tmpfs mounted on a directory, unmounted on drop.
struct Tmpfs {
    point: PathBuf,
    /// The directory it is mounted on, when the test made one for it.
    _dir: Option<tempfile::TempDir>,
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(
        out.status.success(),
        "`{cmd} {}` failed (this test needs root to mount a tmpfs): {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` on `at`, or on a fresh directory.
    fn mount(at: Option<&Path>, size: &str) -> Tmpfs {
        let (point, dir) = match at {
            Some(p) => (p.to_path_buf(), None),
            None => {
                let d = tempfile::tempdir().expect("tempdir");
                (d.path().to_path_buf(), Some(d))
            }
        };
        std::fs::create_dir_all(&point).expect("mount point");
        let opts = format!("size={size}");
        let path = point.to_str().expect("utf-8 path");
        run("mount", &["-t", "tmpfs", "-o", &opts, "tmpfs", path]);
        Tmpfs { point, _dir: dir }
    }

    fn resize(&self, size: &str) {
        let opts = format!("remount,size={size}");
        run(
            "mount",
            &["-o", &opts, self.point.to_str().expect("utf-8 path")],
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.point).status();
    }
}

fn key() -> SecretKey {
    SecretKey::from_seed(&[42; 32])
}

/// Batch `n` of signed synthetic practices (seqs never repeat across batches).
fn batch(k: &SecretKey, n: u64) -> Vec<Vec<u8>> {
    synth::bodies(1_000 + n, BATCH)
        .enumerate()
        .map(|(i, b)| {
            let p: Practice = serde_json::from_value(b).expect("a practice");
            record::sign_practice(k, 1 + n * BATCH + i as u64, NOW, &p)
                .expect("sign")
                .into_bytes()
        })
        .collect()
}

fn ids(records: &[Vec<u8>]) -> Vec<setu_core::ids::RecordId> {
    records
        .iter()
        .map(|b| record::check_trusted(b.clone()).expect("record").id())
        .collect()
}

/// Every practice id the index finds.
fn found(r: &Replica<SledBackend>) -> BTreeSet<String> {
    let hits = r
        .query(&Query {
            limit: 10_000,
            ..Query::default()
        })
        .expect("query");
    hits.hits.into_iter().map(|h| h.practice_id).collect()
}

/// Every current practice id the store holds.
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

fn is_no_space(e: &str) -> bool {
    let e = e.to_lowercase();
    e.contains("no space") || e.contains("space left")
}

/// A new replica on `fs`, keeping `min_free_bytes` free.
fn replica_on(fs: &Tmpfs, min_free_bytes: u64) -> (PathBuf, Replica<SledBackend>) {
    let data = fs.point.join("data");
    Replica::create(&data).expect("create");
    let cfg = Config {
        min_free_bytes,
        ..Config::default()
    };
    let r = Replica::open(&data, cfg).expect("open");
    (data, r)
}

/// Fills the store until a write fails; returns the failed batch, its
/// number, the error, and how many records were acknowledged before it.
fn fill_until_full(
    r: &mut Replica<SledBackend>,
    k: &SecretKey,
) -> (u64, Vec<Vec<u8>>, String, u64) {
    let mut acked = 0u64;
    for n in 0..MAX_BATCHES {
        let records = batch(k, n);
        match r.ingest(records.clone(), NOW) {
            Ok(done) => {
                assert!(done.outcomes.iter().all(|o| o.is_stored()));
                acked += BATCH;
                // Commit the index as a running node does every few seconds.
                let _ = r.flush_index();
            }
            Err(e) => return (n, records, e.to_string(), acked),
        }
    }
    panic!("the small filesystem never filled up");
}

/// Once there is room again: writes work without reopening, a publish gets
/// a fresh seq, search finds every stored practice, and a restart keeps it all.
fn recovers(fs: &Tmpfs, mut r: Replica<SledBackend>, data: &Path, k: &SecretKey, n_failed: u64) {
    fs.resize(ROOMY);
    let highest = r.store().last_seq(&k.author()).expect("last seq");
    let done = r
        .ingest(batch(k, n_failed + 2), NOW)
        .expect("a write once there is room");
    assert!(done.outcomes.iter().all(|o| o.is_stored()));
    let published = r
        .publish(k, synth::body(77, 0), NOW)
        .expect("publish once there is room");
    assert!(published.seq > highest, "a fresh seq");
    r.flush_index().expect("flush");
    let st = r.status().expect("status");
    assert_eq!(st.store_error, None, "{st:?}");
    assert_eq!(st.index_lag, 0, "{st:?}");
    assert_eq!(found(&r), stored(&r), "search finds every stored practice");
    let records = st.records;
    drop(r);
    let r = Replica::open(data, Config::default()).expect("reopen");
    let st = r.status().expect("status");
    assert_eq!(st.records, records);
    assert_eq!(st.index_lag, 0);
    assert_eq!(found(&r), stored(&r));
}

/// The usual case: the store keeps a floor of free space, so a write is
/// refused before sled sees a full disk. Nothing is written, reads go on,
/// `status` says why, and writes resume by themselves.
#[test]
#[ignore = "needs root to mount a tmpfs; .ci/run runs it"]
fn a_store_short_of_space_refuses_writes_and_keeps_serving() {
    let fs = Tmpfs::mount(None, "6m");
    let (data, mut r) = replica_on(&fs, 3 * 512 * 1024);
    let k = key();
    let (n_failed, records, error, acked) = fill_until_full(&mut r, &k);
    assert!(
        is_no_space(&error),
        "the error says the disk is full: {error}"
    );
    assert!(error.contains("nothing was written"), "{error}");

    // Reads go on, and status names the cause.
    let st = r.status().expect("status while short of space");
    assert!(
        st.store_error.as_deref().is_some_and(is_no_space),
        "status names the failure: {st:?}"
    );
    assert_eq!(st.records, acked, "nothing of the refused batch");
    for id in ids(&records) {
        assert!(!r.store().contains(&id).expect("contains"));
    }
    r.flush_index()
        .expect("the floor leaves the search index room to commit");
    assert_eq!(found(&r), stored(&r), "search still answers, and is whole");
    assert!(
        r.ingest(batch(&k, n_failed + 1), NOW).is_err(),
        "still short"
    );
    recovers(&fs, r, &data, &k, n_failed);
}

/// The fallback, with no floor: sled itself hits the full disk. The failed
/// batch leaves no trace (before, it was served until a restart, and its
/// seq re-used after), and writes work again without a restart once there
/// is room (before, every write failed until a restart).
#[test]
#[ignore = "needs root to mount a tmpfs; .ci/run runs it"]
fn a_full_store_loses_nothing_and_recovers_without_a_restart() {
    let fs = Tmpfs::mount(None, "3m");
    let (data, mut r) = replica_on(&fs, 0);
    let k = key();
    let (n_failed, records, error, acked) = fill_until_full(&mut r, &k);
    assert!(
        is_no_space(&error),
        "the error says the disk is full: {error}"
    );
    // While full, the database may not even reopen: then reads fail too,
    // saying why, rather than serving what the failed write left in memory.
    match r.status() {
        Ok(st) => assert!(
            st.store_error.as_deref().is_some_and(is_no_space),
            "status names the failure: {st:?}"
        ),
        Err(e) => assert!(is_no_space(&e.to_string()), "{e}"),
    }
    assert!(
        r.ingest(batch(&k, n_failed + 1), NOW).is_err(),
        "still full"
    );

    fs.resize(ROOMY);
    // The database reopens at the next call after REOPEN_RETRY.
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(e) = r.store().meta() {
        assert!(Instant::now() < deadline, "never reopened: {e}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // No phantom: the failed batch is wholly there or wholly absent (sled
    // may have made it durable before the error), and counted as such.
    let present = ids(&records)
        .iter()
        .filter(|id| r.store().contains(id).expect("contains"))
        .count() as u64;
    assert!(
        present == 0 || present == BATCH,
        "{present} of a failed batch visible"
    );
    assert_eq!(r.status().expect("status").records, acked + present);
    recovers(&fs, r, &data, &k, n_failed);
}

#[test]
#[ignore = "needs root to mount a tmpfs; .ci/run runs it"]
fn a_full_index_shows_as_lag_and_catches_up() {
    let data_parent = tempfile::tempdir().expect("tempdir");
    let data = data_parent.path().join("data");
    Replica::create(&data).expect("create");
    // Only the index is on the small filesystem.
    let fs = Tmpfs::mount(Some(&data.join("index")), "400k");
    let mut r = Replica::open(&data, Config::default()).expect("open");
    let k = key();

    let mut index_failed = false;
    for n in 0..MAX_BATCHES {
        let done = r
            .ingest(batch(&k, n), NOW)
            .expect("the store has room: ingest succeeds");
        assert!(done.outcomes.iter().all(|o| o.is_stored()));
        // Searches see what is committed; commit as a running node does.
        let _ = r.flush_index();
        let st = r.status().expect("status");
        if st.index_error.is_some() {
            index_failed = true;
            assert!(
                st.index_error.as_deref().is_some_and(is_no_space),
                "status names the failure: {st:?}"
            );
            break;
        }
    }
    assert!(index_failed, "the 400 KiB index filesystem fills up");

    // Two more batches while the index is full: stored, and the lag says so.
    for n in MAX_BATCHES..MAX_BATCHES + 2 {
        r.ingest(batch(&k, n), NOW).expect("stored");
        let _ = r.flush_index();
    }
    let st = r.status().expect("status");
    assert!(st.index_lag > 0, "the gap shows as lag: {st:?}");
    assert!(
        found(&r).len() < stored(&r).len(),
        "the index is behind, and says so"
    );

    // Room again: the next flush catches up with everything.
    fs.resize(ROOMY);
    r.flush_index().expect("flush once there is room");
    let st = r.status().expect("status");
    assert_eq!(
        (st.index_lag, st.index_error.as_deref()),
        (0, None),
        "{st:?}"
    );
    assert_eq!(found(&r), stored(&r));

    drop(r);
    let r = Replica::open(&data, Config::default()).expect("reopen");
    assert_eq!(r.status().expect("status").index_lag, 0);
    assert_eq!(found(&r), stored(&r));
    drop(r);
    drop(fs);
}

/// A running node whose store cannot list its records (its disk full, the
/// database closed and not yet reopenable) tells its peers to try later
/// (`refused` code 5) instead of looking empty: before, a peer pushed it
/// everything it held, every round (17,883 records in 45 s in the probe).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root to mount a tmpfs; .ci/run runs it"]
async fn a_node_that_cannot_list_its_records_is_not_sent_everything() {
    use setu_tests::net::{WAIT, addr, config, import, wait_until};
    let fs = Tmpfs::mount(None, "3m");
    let mut cfg_a = config(&fs.point.join("a"), "test-full", Some(key()), vec![]);
    cfg_a.replica.min_free_bytes = 0;
    let a = setu::Node::start(cfg_a).await.expect("start a");
    let a_addr = addr(&a).await;
    // Fill a's disk until a write fails; the database is then closed,
    // and cannot reopen while the disk is full.
    let mut n = 0u64;
    loop {
        let input = setu_tests::net::jsonl(5_000 + n, 200);
        if a.import(Box::new(std::io::Cursor::new(input)), false)
            .await
            .is_err()
        {
            break;
        }
        n += 1;
        assert!(n < MAX_BATCHES, "the 3 MiB disk never filled");
    }
    let st = a.status().await;
    assert!(
        st.as_ref().is_err_and(|e| is_no_space(&e.to_string())),
        "a's store cannot be read while its disk is full: {:?}",
        st.map(|s| s.replica)
    );

    let b_dir = tempfile::tempdir().expect("tempdir");
    let b = setu::Node::start(config(
        b_dir.path(),
        "test-full",
        Some(SecretKey::from_seed(&[7; 32])),
        vec![a_addr],
    ))
    .await
    .expect("start b");
    assert_eq!(import(&b, 9, 50).await, 50);
    // Two rounds of b's reconciliation with a (every 2 s) end refused.
    wait_until(WAIT, "b's sessions with a refused", || async {
        b.status()
            .await
            .is_ok_and(|s| s.net.counters.sessions_failed >= 2)
    })
    .await;
    let c = b.status().await.expect("b status").net.counters;
    assert_eq!(c.records_pushed, 0, "nothing pushed to a: {c:?}");
    assert_eq!(c.peers_banned, 0, "nobody banned: {c:?}");
    b.shutdown().await.expect("stop b");
    let _ = a.shutdown().await;
    drop(fs);
}
