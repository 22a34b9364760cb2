//! `cargo bench -p setu-bench --bench sync`: Setu's reconciliation against
//! negentropy 0.5, side by side on the same item sets, in the same run.
//!
//! n items on each side; d items missing on each side (so 2d differ), placed
//! at random. Reports round trips, bytes each way, and time. Set
//! `SETU_SYNC_N` (default 1,000,000) and `SETU_SYNC_FRAME` (default 65,536)
//! to change the size and the frame cap of the second table.

use std::time::{Duration, Instant};

use negentropy::{Id as NId, Negentropy, NegentropyStorageVector};
use setu_sync::item::Item;
use setu_sync::reconcile::{Config, run_pair};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 ^ (self.0 >> 29)
    }
}

fn sets(n: usize, d: usize, seed: u64) -> (Vec<Item>, Vec<Item>) {
    let mut r = Lcg(seed);
    let total = n + d;
    let mut all: Vec<Item> = (0..total)
        .map(|i| {
            let mut id = [0u8; 32];
            for c in id.chunks_mut(8) {
                c.copy_from_slice(&r.next().to_le_bytes());
            }
            // About a year of records, a few per second.
            Item {
                ts: 1_700_000_000_000 + (i as u64) * 30_000 + r.next() % 30_000,
                id,
            }
        })
        .collect();
    all.sort();
    // d random positions leave a, d others leave b.
    let mut a_out = vec![false; total];
    let mut b_out = vec![false; total];
    let mut pick = |out: &mut Vec<bool>, other: &Vec<bool>| {
        let mut k = 0;
        while k < d {
            let i = (r.next() % total as u64) as usize;
            if !out[i] && !other[i] {
                out[i] = true;
                k += 1;
            }
        }
    };
    pick(&mut a_out, &b_out);
    pick(&mut b_out, &a_out);
    let a = all
        .iter()
        .enumerate()
        .filter(|(i, _)| !a_out[*i])
        .map(|(_, x)| *x)
        .collect();
    let b = all
        .iter()
        .enumerate()
        .filter(|(i, _)| !b_out[*i])
        .map(|(_, x)| *x)
        .collect();
    (a, b)
}

struct Run {
    round_trips: usize,
    up: usize,
    down: usize,
    time: Duration,
    found: usize,
}

/// Times the reconciliation alone: each side's storage is built (and, for
/// negentropy, sealed) before the clock starts, as Setu's sorted lists are.
fn negentropy(a: &[Item], b: &[Item], frame: u64) -> Run {
    let mut sa = NegentropyStorageVector::with_capacity(a.len());
    for i in a {
        sa.insert(i.ts, NId::from_byte_array(i.id)).expect("insert");
    }
    sa.seal().expect("seal");
    let mut sb = NegentropyStorageVector::with_capacity(b.len());
    for i in b {
        sb.insert(i.ts, NId::from_byte_array(i.id)).expect("insert");
    }
    sb.seal().expect("seal");
    let start = Instant::now();
    let mut client = Negentropy::borrowed(&sa, frame).expect("client");
    let mut server = Negentropy::borrowed(&sb, frame).expect("server");
    let mut msg = client.initiate().expect("initiate");
    let (mut up, mut down, mut rt) = (msg.len(), 0, 0);
    let (mut have, mut need) = (Vec::new(), Vec::new());
    loop {
        let reply = server.reconcile(&msg).expect("server");
        down += reply.len();
        rt += 1;
        match client
            .reconcile_with_ids(&reply, &mut have, &mut need)
            .expect("client")
        {
            Some(next) => {
                up += next.len();
                msg = next;
            }
            None => break,
        }
    }
    Run {
        round_trips: rt,
        up,
        down,
        time: start.elapsed(),
        found: have.len() + need.len(),
    }
}

/// Times the reconciliation alone: the sorted item lists (Setu's storage)
/// are made before the clock starts, as negentropy's sealed storage is.
fn setu(a: &[Item], b: &[Item], frame: usize) -> Run {
    let cfg = Config {
        frame_limit: frame,
        max_rounds: 100_000,
        ..Config::default()
    };
    let (a, b) = (a.to_vec(), b.to_vec());
    let start = Instant::now();
    let t = run_pair(a, b, cfg, cfg).expect("session");
    Run {
        round_trips: t.round_trips,
        up: t.bytes_up,
        down: t.bytes_down,
        time: start.elapsed(),
        found: t.give_a.len() + t.give_b.len(),
    }
}

fn kb(b: usize) -> String {
    if b >= 1_000_000 {
        format!("{:.2} MB", b as f64 / 1e6)
    } else {
        format!("{:.1} KB", b as f64 / 1e3)
    }
}

fn table(n: usize, frame: usize, frame_label: &str) {
    println!("\n### n = {n} items each side, frame cap {frame_label}\n");
    println!(
        "| d (missing each side) | impl | round trips | up | down | total | bytes / differing item | time (reconciliation only, storage built before) | vs negentropy bytes |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for d in [0usize, 1, 10, 100, 1_000, 10_000] {
        let (a, b) = sets(n, d, 7 + d as u64);
        let neg = negentropy(&a, &b, frame as u64);
        let ours = setu(
            &a,
            &b,
            if frame == 0 {
                setu_sync::wire::MAX_MESSAGE_BYTES
            } else {
                frame
            },
        );
        assert_eq!(ours.found, 2 * d, "setu found every difference");
        assert_eq!(neg.found, 2 * d, "negentropy found every difference");
        let per = |r: &Run| {
            if d == 0 {
                "-".to_string()
            } else {
                format!("{:.0}", (r.up + r.down) as f64 / (2 * d) as f64)
            }
        };
        for (name, r) in [("negentropy 0.5", &neg), ("setu", &ours)] {
            println!(
                "| {d} | {name} | {} | {} | {} | {} | {} | {:.0} ms | {} |",
                r.round_trips,
                kb(r.up),
                kb(r.down),
                kb(r.up + r.down),
                per(r),
                r.time.as_secs_f64() * 1e3,
                if name == "setu" {
                    format!(
                        "{:.0}%",
                        100.0 * (ours.up + ours.down) as f64 / (neg.up + neg.down) as f64
                    )
                } else {
                    "100%".into()
                }
            );
        }
    }
}

/// Bulk mode: an empty node pulls every record of a peer holding n items.
fn bulk(n: usize, record_bytes: usize) {
    use setu_sync::bulk::{Puller, Request, serve};
    let (a, _) = sets(n, 0, 99);
    let payload = vec![0xabu8; record_bytes - 32];
    let mut load = |id: &[u8; 32]| {
        let mut r = id.to_vec();
        r.extend_from_slice(&payload);
        Some(r)
    };
    let start = Instant::now();
    let (mut puller, mut req) =
        Puller::start(setu_sync::bulk::MAX_ITEMS, setu_sync::bulk::MAX_BYTES);
    let (mut up, mut down, mut got, mut batches) = (req.len(), 0usize, 0usize, 0usize);
    loop {
        let r = Request::decode(&req).expect("request");
        let batch = serve(&a, &r, &mut load).encode();
        down += batch.len();
        got += puller.handle(&batch).expect("batch").len();
        batches += 1;
        match puller.next_request() {
            Some(next) => {
                up += next.len();
                req = next;
            }
            None => break,
        }
    }
    let took = start.elapsed();
    assert_eq!(got, n);
    println!("\n### Bulk mode: an empty side pulls {n} records of {record_bytes} bytes\n");
    println!(
        "| records/s | batches | wire bytes / record bytes | overhead bytes per record | time |"
    );
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| {:.0} | {batches} | {:.4} | {:.2} | {:.0} ms |",
        n as f64 / took.as_secs_f64(),
        (up + down) as f64 / (n * record_bytes) as f64,
        (up + down - n * record_bytes) as f64 / n as f64,
        took.as_secs_f64() * 1e3
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("SETU_SYNC_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let frame: usize = std::env::var("SETU_SYNC_FRAME")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(65_536);
    println!("setu-sync vs negentropy 0.5: same item sets, same process, one thread");
    table(n, 0, "none (setu: its 512 KiB maximum)");
    table(n, frame, &format!("{frame} bytes on both"));
    bulk(n, 2_048);
    // The simulator moved to `setu-bench sim`, which runs the shipped
    // state machine.
}
