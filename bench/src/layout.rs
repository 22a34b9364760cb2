//! `setu-bench layout`: what sled alone costs for each way of laying out
//! the store's entries, on the same records in the same run, with the
//! stateless check and the rules left out (they are timed by `replica`).
//!
//! Every layout writes the same records in batches of [`MAX_BATCH`], each
//! batch flushed, into a new sled database with the store's cache size
//! (`--sled` changes one setting, to see what it gives); a
//! layout "with reads" also makes the point reads that ingest makes for a
//! new record before it writes (is the id stored? another record at this
//! seq? the chain?). The "value log" layouts keep the records' bytes in
//! an append-only log beside sled, as the store does; those marked "(not
//! built)" measure a design before it is built. After writing, each
//! layout reads every record back in key order, as an export does.
//!
//! Beside each layout is the budget the durable ingest goal leaves for
//! every write a record costs, from the same run: the time 70% of the raw
//! ceiling allows ([`crate::replica::ceiling`]), less the check and the
//! rules on the in-memory backend, which write nothing.

use std::io::Write;
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
type Entries = fn(&Item, u64) -> Vec<(Vec<u8>, Vec<u8>)>;

/// One way of laying out the store.
struct Layout {
    name: &'static str,
    entries: Entries,
    /// Also make the point reads ingest makes for a new record.
    reads: bool,
    /// Write the `r` entry's LZ4 bytes to an append-only file (one
    /// `write` and one `fsync` per batch, before sled's batch) and keep
    /// only their place in the file (12 bytes) as its sled value.
    value_log: bool,
    /// Write one `u` entry per batch, its value the batch's chain names
    /// (every chain of a batch shares its storage time), instead of one
    /// per chain; a chain's `p` entry would then hold its time (not
    /// written here: `p` is a fixed 96 bytes in every layout).
    u_per_batch: bool,
    /// Write the `s` and `t` entries to a second tree of the same
    /// database, in a batch of its own, with no flush of their own (the
    /// database's one flush covers both trees).
    second_tree: bool,
}

const LAYOUTS: &[Layout] = &[
    Layout {
        name: "1 entry: id → raw bytes (the ceiling's write)",
        entries: |i, _| vec![(i.id.to_vec(), i.raw.clone())],
        reads: false,
        value_log: false,
        u_per_batch: false,
        second_tree: false,
    },
    Layout {
        name: "1 entry: r‖id → LZ4 bytes",
        entries: |i, _| vec![(k(b'r', &[&i.id]), i.packed.clone())],
        reads: false,
        value_log: false,
        u_per_batch: false,
        second_tree: false,
    },
    Layout {
        name: "2 entries: r, p (chain)",
        entries: |i, _| {
            vec![
                (k(b'r', &[&i.id]), i.packed.clone()),
                (k(b'p', &[&i.author, &i.name]), i.chain.clone()),
            ]
        },
        reads: false,
        value_log: false,
        u_per_batch: false,
        second_tree: false,
    },
    Layout {
        name: "2 entries: r, t (ts order)",
        entries: |i, _| {
            vec![
                (k(b'r', &[&i.id]), i.packed.clone()),
                (k(b't', &[&i.ts.to_be_bytes(), &i.id]), vec![]),
            ]
        },
        reads: false,
        value_log: false,
        u_per_batch: false,
        second_tree: false,
    },
    Layout {
        name: "2 entries: r, s (author, seq)",
        entries: |i, _| {
            vec![
                (k(b'r', &[&i.id]), i.packed.clone()),
                (k(b's', &[&i.author, &i.seq.to_be_bytes(), &i.id]), vec![]),
            ]
        },
        reads: false,
        value_log: false,
        u_per_batch: false,
        second_tree: false,
    },
    Layout {
        name: "5 entries: r, s, t, p, u, r's bytes in the tree (the store before the value log)",
        entries: today,
        reads: false,
        value_log: false,
        u_per_batch: false,
        second_tree: false,
    },
    Layout {
        name: "the same, and ingest's reads (the store before its filter)",
        entries: today,
        reads: true,
        value_log: false,
        u_per_batch: false,
        second_tree: false,
    },
    Layout {
        name: "value log: 1 entry, r‖id → place in the log",
        entries: |i, _| vec![(k(b'r', &[&i.id]), i.packed.clone())],
        reads: false,
        value_log: true,
        u_per_batch: false,
        second_tree: false,
    },
    Layout {
        name: "value log: 5 entries, r, s, t, p, u (today's store)",
        entries: today,
        reads: false,
        value_log: true,
        u_per_batch: false,
        second_tree: false,
    },
    Layout {
        name: "(not built) value log: 2 entries, r and p (the least a store of chains writes)",
        entries: |i, _| {
            vec![
                (k(b'r', &[&i.id]), i.packed.clone()),
                (k(b'p', &[&i.author, &i.name]), i.chain.clone()),
            ]
        },
        reads: false,
        value_log: true,
        u_per_batch: false,
        second_tree: false,
    },
    Layout {
        name: "(not built) value log: r, s, t, p, and one u per batch",
        entries: without_u,
        reads: false,
        value_log: true,
        u_per_batch: true,
        second_tree: false,
    },
    Layout {
        name: "(not built) value log: r, p, one u per batch; s and t in a second tree",
        entries: without_u,
        reads: false,
        value_log: true,
        u_per_batch: true,
        second_tree: true,
    },
];

/// Today's entries but `u`: the layouts that write one `u` per batch.
fn without_u(i: &Item, at: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut entries = today(i, at);
    entries.retain(|(key, _)| key[0] != b'u');
    entries
}

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
/// (sled 0.34.7 reads no other setting that could matter here: its
/// `Mode` is accepted and never used, and its segment cleanup threshold is
/// a constant.)
pub const VARIANTS: [&str; 3] = ["shipped", "cache-1g", "flush-once"];

fn run_layout(items: &[Item], layout: &Layout, variant: &str) -> (Duration, Duration, u64) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = sled::Config::new()
        .path(dir.path())
        .cache_capacity(DEFAULT_CACHE_BYTES)
        .flush_every_ms(None);
    if variant == "cache-1g" {
        cfg = cfg.cache_capacity(1 << 30);
    }
    let db = cfg.open().expect("sled");
    let mut log = layout
        .value_log
        .then(|| std::fs::File::create(dir.path().join("values")).expect("value log"));
    let mut log_len = 0u64;
    let second = layout
        .second_tree
        .then(|| db.open_tree(b"st").expect("second tree"));
    let start = Instant::now();
    for (n, chunk) in items.chunks(MAX_BATCH).enumerate() {
        let mut batch = sled::Batch::default();
        let mut second_batch = sled::Batch::default();
        let mut appended = Vec::new();
        for i in chunk {
            if layout.reads {
                assert!(db.get(k(b'r', &[&i.id])).expect("get").is_none());
                let seq = k(b's', &[&i.author, &i.seq.to_be_bytes()]);
                assert!(db.scan_prefix(seq).next().is_none());
                assert!(
                    db.get(k(b'p', &[&i.author, &i.name]))
                        .expect("get")
                        .is_none()
                );
            }
            for (key, mut value) in (layout.entries)(i, n as u64) {
                if log.is_some() && key[0] == b'r' {
                    let place = [
                        &log_len.to_be_bytes()[..],
                        &(value.len() as u32).to_be_bytes(),
                    ];
                    log_len += value.len() as u64;
                    appended.append(&mut value);
                    value = place.concat();
                }
                match &second {
                    Some(_) if matches!(key[0], b's' | b't') => second_batch.insert(key, value),
                    _ => batch.insert(key, value),
                }
            }
        }
        if layout.u_per_batch {
            // One storage time for the whole batch, listing its chains
            // (a reader skips a chain whose `p` entry names a later time).
            let chains: Vec<u8> = chunk
                .iter()
                .flat_map(|i| [&i.author[..], &i.name].concat())
                .collect();
            batch.insert(k(b'u', &[&(n as u64).to_be_bytes()]), chains);
        }
        if let Some(file) = log.as_mut() {
            file.write_all(&appended).expect("append");
            file.sync_data().expect("fsync");
        }
        batch.insert(b"m".to_vec(), vec![0u8; 40]);
        if let Some(tree) = &second {
            tree.apply_batch(second_batch).expect("apply");
        }
        db.apply_batch(batch).expect("apply");
        if variant != "flush-once" {
            db.flush().expect("flush");
        }
    }
    db.flush().expect("flush");
    let took = start.elapsed();
    drop(log);
    let read = read_back(&db, dir.path(), layout.value_log);
    drop(db);
    (took, read, table::dir_bytes(dir.path()))
}

/// Every record's stored bytes read back in key order, as an export reads
/// them: one ordered scan, and for a value log a positioned read of each.
fn read_back(db: &sled::Db, dir: &std::path::Path, value_log: bool) -> Duration {
    use std::os::unix::fs::FileExt;
    let log = value_log.then(|| std::fs::File::open(dir.join("values")).expect("value log"));
    let start = Instant::now();
    let mut bytes = 0usize;
    let mut buf = Vec::new();
    for kv in db.range::<&[u8], _>(..) {
        let (key, value) = kv.expect("scan");
        // A record's entry: the ceiling's bare id, or `r` and the id.
        let record = key.len() == 32 || (key.len() == 33 && key[0] == b'r');
        if !record {
            continue;
        }
        match &log {
            Some(file) if key[0] == b'r' => {
                let at = u64::from_be_bytes(value[..8].try_into().expect("8"));
                let len = u32::from_be_bytes(value[8..12].try_into().expect("4")) as usize;
                buf.resize(len, 0);
                file.read_exact_at(&mut buf, at).expect("read");
                bytes += buf.len();
            }
            _ => bytes += value.len(),
        }
    }
    assert!(bytes > 0);
    start.elapsed()
}

pub fn run(n: usize, variant: &str) {
    println!(
        "setu-bench layout: {n} synthetic records, sled alone ({variant} settings), batches of {MAX_BATCH}"
    );
    let records = generate(n);
    let raw: u64 = records.iter().map(|r| r.bytes.len() as u64).sum();
    let items = items(&records);
    let per_record = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    let ceiling = per_record(crate::replica::ceiling(&records));
    let rules = per_record(crate::replica::memory_ingest(&records));
    let budget = ceiling / DURABLE_GOAL - rules;
    table::print(
        "What the durable ingest goal leaves for the writes",
        &["measure", "µs per record"],
        &[
            vec![
                "ceiling: batch verify + SHA-256 + raw sled insert".into(),
                format!("{ceiling:.1}"),
            ],
            vec![
                format!("the goal: {:.0}% of the ceiling", DURABLE_GOAL * 100.0),
                format!("{:.1}", ceiling / DURABLE_GOAL),
            ],
            vec![
                "check and rules on the in-memory backend (no write)".into(),
                format!("{rules:.1}"),
            ],
            vec![
                "left for every durable write of a record".into(),
                format!("{budget:.1}"),
            ],
        ],
    );
    let mut rows = Vec::new();
    let mut base = None;
    for layout in LAYOUTS {
        let (took, read, disk) = run_layout(&items, layout, variant);
        let us = took.as_secs_f64() * 1e6 / n as f64;
        let b = *base.get_or_insert(us);
        rows.push(vec![
            layout.name.to_string(),
            per_sec(rate(n, took)),
            format!("{us:.1}"),
            format!("{:.2}x", us / b),
            format!("{:.1}", read.as_secs_f64() * 1e6 / n as f64),
            format!("{:.2}x", disk as f64 / raw as f64),
            match budget {
                b if us <= b => "yes".into(),
                b if b > 0.0 => format!("no, {:.1}x it", us / b),
                _ => "no: the rules leave nothing".into(),
            },
        ]);
    }
    table::print(
        "sled alone, per layout",
        &[
            "layout",
            "records/s",
            "µs per record",
            "vs the first",
            "read back, µs per record",
            "disk / raw bytes",
            &format!("within the {budget:.1} µs left"),
        ],
        &rows,
    );
    if variant == "shipped" {
        filter_on_and_off(&records);
    }
}

/// The durable ingest goal, as a share of the raw ceiling (issue 17).
const DURABLE_GOAL: f64 = 0.70;

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
