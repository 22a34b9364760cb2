//! `setu-bench layout`: what sled alone costs for each way of laying out
//! the store's entries, on the same records in the same run, with the
//! stateless check and the rules left out (they are timed by `replica`).
//!
//! Every layout writes the same records in batches of [`MAX_BATCH`], each
//! batch flushed, into a new sled database with the store's cache size
//! (`--sled` changes one setting, to see what it gives); a
//! layout "with reads" also makes the point reads that ingest makes for a
//! new record before it writes (is the id stored? another record at this
//! seq? the chain?).

use std::time::{Duration, Instant};

use setu_store::backend::sled::DEFAULT_CACHE_BYTES;
use setu_store::ingest::MAX_BATCH;
use setu_store::store::pack;
use sha2::{Digest, Sha256};

use setu_store::backend::sled::{DEFAULT_MIN_FREE_BYTES, SledBackend};
use setu_store::store::Store;

use crate::replica::{Signed, generate, time_ingest};
use crate::table::{self, per_sec, rate};

/// One record as the layouts see it.
struct Item {
    id: [u8; 32],
    author: [u8; 32],
    seq: u64,
    ts: u64,
    name: Vec<u8>,
    raw: Vec<u8>,
    packed: Vec<u8>,
    chain: Vec<u8>,
}

fn items(records: &[Signed]) -> Vec<Item> {
    records
        .iter()
        .map(|r| {
            let rec = setu_core::record::check_trusted(r.bytes.clone()).expect("valid");
            let env = rec.envelope();
            let name = rec.practice().expect("practice").practice_id.clone();
            Item {
                id: Sha256::digest(&r.envelope).into(),
                author: env.author.0,
                seq: env.seq,
                ts: env.ts,
                name: name.into_bytes(),
                raw: r.bytes.clone(),
                packed: pack(&r.bytes),
                // About the size of a one-entry chain's CBOR.
                chain: vec![7u8; 96],
            }
        })
        .collect()
}

fn k(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut v = vec![prefix];
    for p in parts {
        v.extend_from_slice(p);
    }
    v
}

/// The entries one layout writes for one record.
type Layout = fn(&Item, u64) -> Vec<(Vec<u8>, Vec<u8>)>;

const LAYOUTS: &[(&str, Layout, bool)] = &[
    (
        "1 entry: id → raw bytes (the ceiling's write)",
        |i, _| vec![(i.id.to_vec(), i.raw.clone())],
        false,
    ),
    (
        "1 entry: r‖id → LZ4 bytes",
        |i, _| vec![(k(b'r', &[&i.id]), i.packed.clone())],
        false,
    ),
    (
        "2 entries: r, p (chain)",
        |i, _| {
            vec![
                (k(b'r', &[&i.id]), i.packed.clone()),
                (k(b'p', &[&i.author, &i.name]), i.chain.clone()),
            ]
        },
        false,
    ),
    (
        "2 entries: r, t (ts order)",
        |i, _| {
            vec![
                (k(b'r', &[&i.id]), i.packed.clone()),
                (k(b't', &[&i.ts.to_be_bytes(), &i.id]), vec![]),
            ]
        },
        false,
    ),
    (
        "2 entries: r, s (author, seq)",
        |i, _| {
            vec![
                (k(b'r', &[&i.id]), i.packed.clone()),
                (k(b's', &[&i.author, &i.seq.to_be_bytes(), &i.id]), vec![]),
            ]
        },
        false,
    ),
    (
        "5 entries: r, s, t, p, u (today's store)",
        |i, at| today(i, at),
        false,
    ),
    (
        "5 entries and ingest's reads (today's store)",
        |i, at| today(i, at),
        true,
    ),
];

fn today(i: &Item, at: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (k(b's', &[&i.author, &i.seq.to_be_bytes(), &i.id]), vec![]),
        (k(b't', &[&i.ts.to_be_bytes(), &i.id]), vec![]),
        (k(b'r', &[&i.id]), i.packed.clone()),
        (k(b'p', &[&i.author, &i.name]), i.chain.clone()),
        (k(b'u', &[&at.to_be_bytes(), &i.author, &i.name]), vec![]),
    ]
}

/// sled settings a run may change, to see what each gives (`--sled`).
pub const VARIANTS: [&str; 4] = ["shipped", "high-throughput", "cache-1g", "flush-once"];

fn run_layout(items: &[Item], layout: Layout, reads: bool, variant: &str) -> (Duration, u64) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = sled::Config::new()
        .path(dir.path())
        .cache_capacity(DEFAULT_CACHE_BYTES)
        .flush_every_ms(None);
    if variant == "high-throughput" {
        cfg = cfg.mode(sled::Mode::HighThroughput);
    }
    if variant == "cache-1g" {
        cfg = cfg.cache_capacity(1 << 30);
    }
    let db = cfg.open().expect("sled");
    let start = Instant::now();
    for (n, chunk) in items.chunks(MAX_BATCH).enumerate() {
        let mut batch = sled::Batch::default();
        for i in chunk {
            if reads {
                assert!(db.get(k(b'r', &[&i.id])).expect("get").is_none());
                let seq = k(b's', &[&i.author, &i.seq.to_be_bytes()]);
                assert!(db.scan_prefix(seq).next().is_none());
                assert!(
                    db.get(k(b'p', &[&i.author, &i.name]))
                        .expect("get")
                        .is_none()
                );
            }
            for (key, value) in layout(i, n as u64) {
                batch.insert(key, value);
            }
        }
        batch.insert(b"m".to_vec(), vec![0u8; 40]);
        db.apply_batch(batch).expect("apply");
        if variant != "flush-once" {
            db.flush().expect("flush");
        }
    }
    db.flush().expect("flush");
    let took = start.elapsed();
    drop(db);
    (took, table::dir_bytes(dir.path()))
}

pub fn run(n: usize, variant: &str) {
    println!(
        "setu-bench layout: {n} synthetic records, sled alone ({variant} settings), batches of {MAX_BATCH}"
    );
    let records = generate(n);
    let raw: u64 = records.iter().map(|r| r.bytes.len() as u64).sum();
    let items = items(&records);
    let mut rows = Vec::new();
    let mut base = None;
    for (name, layout, reads) in LAYOUTS {
        let (took, disk) = run_layout(&items, *layout, *reads, variant);
        let us = took.as_secs_f64() * 1e6 / n as f64;
        let b = *base.get_or_insert(us);
        rows.push(vec![
            (*name).to_string(),
            per_sec(rate(n, took)),
            format!("{us:.1}"),
            format!("{:.2}x", us / b),
            format!("{:.2}x", disk as f64 / raw as f64),
        ]);
    }
    table::print(
        "sled alone, per layout",
        &[
            "layout",
            "records/s",
            "µs per record",
            "vs the first",
            "disk / raw bytes",
        ],
        &rows,
    );
    if variant == "shipped" {
        filter_on_and_off(&records);
    }
}

/// Rounds of the filter comparison, alternated.
const ROUNDS: usize = 3;

/// Durable ingest with the store's filter ([`setu_store::seen`]) and
/// without it, alternated, best of [`ROUNDS`] each.
fn filter_on_and_off(records: &[Signed]) {
    let n = records.len();
    let (mut on, mut off) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        for filtered in [true, false] {
            let dir = tempfile::tempdir().expect("tmp");
            let backend =
                SledBackend::open(dir.path(), DEFAULT_CACHE_BYTES, DEFAULT_MIN_FREE_BYTES)
                    .expect("sled");
            let store = match filtered {
                true => Store::new(backend),
                false => Store::unfiltered(backend),
            };
            let t = time_ingest(&store, records);
            let best = if filtered { &mut on } else { &mut off };
            *best = (*best).min(t);
        }
    }
    table::print(
        &format!("Durable ingest of {n} records, best of {ROUNDS} alternated rounds"),
        &["store", "records/s", "vs without the filter"],
        &[
            vec![
                "without the filter: every read made".into(),
                per_sec(rate(n, off)),
                "1.00x".into(),
            ],
            vec![
                "with the filter (shipped)".into(),
                per_sec(rate(n, on)),
                format!("{:.2}x", off.as_secs_f64() / on.as_secs_f64()),
            ],
        ],
    );
}
