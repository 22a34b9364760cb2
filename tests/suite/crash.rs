//! A real child process importing records is killed with SIGKILL partway;
//! the store it leaves behind is complete, consistent, and heals.
//!
//! Size: `SETU_CRASH_RECORDS` (default 3,000; run it at 100,000 by hand).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use setu_core::record;
use setu_store::query::{MAX_LIMIT, Query};
use setu_store::replica::{Config, Replica};

#[test]
fn sigkill_during_import_loses_nothing_reported_and_heals() {
    let n = setu_tests::test_size("SETU_CRASH_RECORDS", 3_000);
    let setu = setu_tests::setu_bin();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let init = Command::new(&setu)
        .args(["init", "--country", "BGD", "--agency", "a2i", "--data-dir"])
        .arg(&dir)
        .output()
        .expect("setu init");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );

    let file = tmp.path().join("bodies.jsonl");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
    let bodies: Vec<serde_json::Value> = setu_store::synth::bodies(7, n as u64).collect();
    for b in &bodies {
        writeln!(w, "{b}").expect("write");
    }
    drop(w);

    // Import, and kill the child as soon as it reports its first durable batch.
    let mut child = Command::new(&setu)
        .args(["import", "--json", "--data-dir"])
        .arg(&dir)
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("setu import");
    let stdout = child.stdout.take().expect("stdout");
    let mut reported = 0usize;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let v: serde_json::Value = serde_json::from_str(&line).expect("json line");
        if let Some(p) = v.get("progress") {
            reported = p["imported"].as_u64().expect("imported") as usize;
            if reported >= n / 2 {
                child.kill().expect("SIGKILL");
                break;
            }
        }
    }
    let status = child.wait().expect("wait");
    assert_eq!(
        status.signal(),
        Some(9),
        "the child must die by SIGKILL partway (n = {n} is too small?)"
    );
    assert!(reported > 0 && reported < n, "reported {reported} of {n}");

    // Reopen: every reported record is there, nothing is half-written,
    // and the index agrees with the store.
    let replica = Replica::open(&dir, Config::default()).expect("reopen after SIGKILL");
    let key = setu_core::keys::SecretKey::from_pkcs8_pem(
        &std::fs::read_to_string(dir.join("publisher.pem")).expect("key"),
    )
    .expect("pem");
    let author = key.author();
    for b in &bodies[..reported] {
        let pid = b["practice_id"].as_str().expect("pid");
        let chain = replica
            .store()
            .chain(&author, pid)
            .expect("read")
            .unwrap_or_else(|| panic!("{pid} reported stored but missing"));
        assert_eq!(chain.state().current.map(|e| e.revision), Some(1));
    }
    let meta = replica.store().meta().expect("meta");
    assert!(meta.records as usize >= reported);
    let mut practices = 0usize;
    replica
        .store()
        .for_each_chain(&mut |_, pid, chain| {
            practices += 1;
            for e in &chain.entries {
                let bytes = replica
                    .store()
                    .get(&e.id)?
                    .unwrap_or_else(|| panic!("{pid}: chain names a missing record"));
                let rec = record::check(bytes)
                    .unwrap_or_else(|err| panic!("{pid}: stored record fails its check: {err}"));
                assert_eq!(rec.id(), e.id);
            }
            Ok(true)
        })
        .expect("scan");
    assert_eq!(
        practices as u64, meta.records,
        "one record per practice, none half-written"
    );
    let mut ts_entries = 0u64;
    let mut after = None;
    loop {
        let page = replica.store().ts_range(after, 10_000).expect("ts range");
        let Some(last) = page.last().copied() else {
            break;
        };
        for (_, id) in &page {
            assert!(
                replica.store().contains(id).expect("contains"),
                "ts index names a missing record"
            );
        }
        ts_entries += page.len() as u64;
        after = Some(last);
    }
    assert_eq!(ts_entries, meta.records);
    let status = replica.status().expect("status");
    assert_eq!(status.index_lag, 0, "the index healed on open");
    let all = replica
        .query(&Query {
            limit: MAX_LIMIT,
            ..Query::default()
        })
        .expect("query");
    assert_eq!(all.total, practices, "the index agrees with the store");
    drop(replica);

    // A second import completes: what was stored is skipped, the rest imported.
    let again = Command::new(&setu)
        .args(["import", "--json", "--data-dir"])
        .arg(&dir)
        .arg(&file)
        .output()
        .expect("second import");
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let last = String::from_utf8_lossy(&again.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let summary: serde_json::Value = serde_json::from_str(&last).expect("summary");
    assert_eq!(summary["summary"]["rows"], n);
    assert_eq!(summary["summary"]["rejected"], 0);
    assert_eq!(
        summary["summary"]["skipped"].as_u64().expect("skipped") as usize,
        practices
    );
    let replica = Replica::open(&dir, Config::default()).expect("reopen");
    assert_eq!(replica.store().meta().expect("meta").records as usize, n);
    let all = replica
        .query(&Query {
            limit: MAX_LIMIT,
            ..Query::default()
        })
        .expect("query");
    assert_eq!(all.total, n);
}
