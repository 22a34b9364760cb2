//! `setu-bench faults`: what the store's fault handling costs on the happy
//! path, each beside the same work without it, in the same run.
//!
//! - The free-space floor: one `statvfs` before each store write. Durable
//!   ingest of the same records into a fresh store with the floor (the
//!   default) and without it (`min_free_bytes = 0`), alternated.
//! - The durable seq reservation: one extra flushed sled write before each
//!   publish. Publishing practices one at a time, against the reservation
//!   write alone on the same store.

use std::time::{Duration, Instant};

use setu_core::keys::SecretKey;
use setu_store::replica::{Config, Replica};
use setu_store::synth;

use crate::replica::{durable_ingest_with, generate};
use crate::table::{self, per_sec, rate};

/// Rounds of the floor / no-floor alternation.
const ROUNDS: usize = 3;
/// Practices published one at a time.
const PUBLISHES: usize = 500;

pub fn run(n: usize) {
    println!("setu-bench faults: {n} synthetic records; {PUBLISHES} publishes");
    let records = generate(n);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        for floor in [true, false] {
            let dir = tempfile::tempdir().expect("tmp");
            let min_free = if floor {
                setu_store::backend::sled::DEFAULT_MIN_FREE_BYTES
            } else {
                0
            };
            let t = durable_ingest_with(&records, dir.path(), min_free);
            if floor { &mut with } else { &mut without }.push(t);
        }
    }
    let best = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    let (w, wo) = (rate(n, best(&with)), rate(n, best(&without)));
    table::print(
        &format!("Durable ingest of {n} records, best of {ROUNDS} alternated rounds"),
        &["store", "records/s", "vs without the check"],
        &[
            vec![
                "without a free-space check (min_free_bytes = 0)".into(),
                per_sec(wo),
                "100%".into(),
            ],
            vec![
                "with the free-space floor (the default: statvfs per write)".into(),
                per_sec(w),
                format!("{:.0}%", 100.0 * w / wo),
            ],
        ],
    );

    let dir = tempfile::tempdir().expect("tmp");
    Replica::create(dir.path()).expect("create");
    let mut r = Replica::open(dir.path(), Config::default()).expect("open");
    let key = SecretKey::from_seed(&[9; 32]);
    let now = 1_767_225_600_000u64;
    let t = Instant::now();
    for i in 0..PUBLISHES {
        r.publish(&key, synth::body(3, i as u64), now + i as u64)
            .expect("publish");
    }
    let publish = t.elapsed();
    let other = SecretKey::from_seed(&[10; 32]).author();
    let t = Instant::now();
    for i in 0..PUBLISHES {
        r.store()
            .reserve_seqs(&other, 1, now + i as u64)
            .expect("reserve");
    }
    let reserve = t.elapsed();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / PUBLISHES as f64;
    table::print(
        &format!("Publishing {PUBLISHES} practices one at a time"),
        &["measure", "µs per publish", "share of a publish"],
        &[
            vec![
                "publish: reserve seq, sign, store, commit the index".into(),
                format!("{:.0}", per(publish)),
                "100%".into(),
            ],
            vec![
                "the durable seq reservation alone (one flushed sled write)".into(),
                format!("{:.0}", per(reserve)),
                format!("{:.0}%", 100.0 * per(reserve) / per(publish)),
            ],
        ],
    );
}
