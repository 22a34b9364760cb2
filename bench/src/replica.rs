//! `setu-bench replica`: ingest, index catch-up, query latency, export, disk
//! and memory of the local replica, each beside its ceiling.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use setu_core::cbor::{self, Value};
use setu_core::keys::SecretKey;
use setu_core::practice::Practice;
use setu_core::record;
use setu_export::Export;
use setu_store::backend::Backend;
use setu_store::backend::sled::{DEFAULT_CACHE_BYTES, DEFAULT_MIN_FREE_BYTES, SledBackend};
use setu_store::ingest::{self, MAX_BATCH};
use setu_store::query::{CountryFilter, Query};
use setu_store::replica::{Config, Replica};
use setu_store::store::Store;
use setu_store::synth;
use sha2::{Digest, Sha256};

use crate::table::{self, per_sec, percentile_ms, rate};

/// Authors the synthetic records are spread over.
const AUTHORS: u8 = 30;
/// Queries timed per kind.
const QUERIES: usize = 300;

/// sled's page cache for every store and ceiling of the run, and for the
/// import's data directory: the shipped default unless `--cache-mib` sets
/// it (issue 17: a configuration the reproduce command can select).
static CACHE_BYTES: AtomicU64 = AtomicU64::new(DEFAULT_CACHE_BYTES);

pub(crate) fn cache_bytes() -> u64 {
    CACHE_BYTES.load(Ordering::Relaxed)
}

/// The replica configuration of the run: the defaults, with its cache.
fn replica_config() -> Config {
    Config {
        cache_bytes: cache_bytes(),
        ..Config::default()
    }
}

pub(crate) struct Signed {
    pub(crate) bytes: Vec<u8>,
    pub(crate) envelope: Vec<u8>,
    sig: [u8; 64],
    author: [u8; 32],
}

pub(crate) fn generate(n: usize) -> Vec<Signed> {
    let keys: Vec<SecretKey> = (1..=AUTHORS)
        .map(|i| SecretKey::from_seed(&[i; 32]))
        .collect();
    let mut seqs = vec![0u64; keys.len()];
    (0..n)
        .map(|i| {
            let a = i % keys.len();
            seqs[a] += 1;
            let mut p: Practice =
                serde_json::from_value(synth::body(1, i as u64)).expect("synthetic body");
            p.fill_defaults();
            let rec = record::sign_practice(&keys[a], seqs[a], 1_767_225_600_000 + i as u64, &p)
                .expect("valid");
            let Ok(Value::Array(items)) = cbor::decode(rec.bytes()) else {
                unreachable!()
            };
            let sig: [u8; 64] = items[1]
                .as_bytes()
                .and_then(|s| s.try_into().ok())
                .expect("sig");
            Signed {
                envelope: items[0].as_bytes().expect("env").to_vec(),
                bytes: rec.bytes().to_vec(),
                sig,
                author: keys[a].author().0,
            }
        })
        .collect()
}

/// The ceiling: batched Ed25519 verification (ed25519-dalek's own), SHA-256
/// of the envelope, and one raw sled insert of the signed bytes per record,
/// in batches of the same size as ingest, flushed per batch.
pub(crate) fn ceiling(records: &[Signed]) -> Duration {
    let dir = tempfile::tempdir().expect("tmp");
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(cache_bytes())
        .flush_every_ms(None)
        .open()
        .expect("sled");
    let vks: Vec<ed25519_dalek::VerifyingKey> = records
        .iter()
        .map(|r| ed25519_dalek::VerifyingKey::from_bytes(&r.author).expect("key"))
        .collect();
    let start = Instant::now();
    for (chunk, keys) in records.chunks(MAX_BATCH).zip(vks.chunks(MAX_BATCH)) {
        let ids: Vec<[u8; 32]> = chunk
            .iter()
            .map(|r| Sha256::digest(&r.envelope).into())
            .collect();
        let msgs: Vec<[u8; 46]> = ids
            .iter()
            .map(|id| setu_core::keys::signed_message(&setu_core::ids::RecordId(*id)))
            .collect();
        let msg_refs: Vec<&[u8]> = msgs.iter().map(|m| &m[..]).collect();
        let sigs: Vec<ed25519_dalek::Signature> = chunk
            .iter()
            .map(|r| ed25519_dalek::Signature::from_bytes(&r.sig))
            .collect();
        ed25519_dalek::verify_batch(&msg_refs, &sigs, keys).expect("valid batch");
        let mut batch = sled::Batch::default();
        for (r, id) in chunk.iter().zip(&ids) {
            batch.insert(&id[..], r.bytes.as_slice());
        }
        db.apply_batch(batch).expect("apply");
        db.flush().expect("flush");
    }
    start.elapsed()
}

fn durable_ingest(records: &[Signed], dir: &std::path::Path) -> Duration {
    durable_ingest_with(records, dir, DEFAULT_MIN_FREE_BYTES)
}

/// Durable ingest into a new store in `dir` that keeps `min_free_bytes`
/// free (0: no free-space check before each write).
pub(crate) fn durable_ingest_with(
    records: &[Signed],
    dir: &std::path::Path,
    min_free_bytes: u64,
) -> Duration {
    let backend = SledBackend::open(&dir.join("db"), cache_bytes(), min_free_bytes).expect("sled");
    time_ingest(&Store::new(backend), records)
}

/// Ingest of `records` into `store`, in batches of [`MAX_BATCH`].
pub(crate) fn time_ingest<B: Backend>(store: &Store<B>, records: &[Signed]) -> Duration {
    let cfg = ingest::Config::default();
    let start = Instant::now();
    for chunk in records.chunks(MAX_BATCH) {
        let done = ingest::ingest(
            store,
            chunk.iter().map(|r| r.bytes.clone()).collect(),
            u64::MAX / 2,
            &cfg,
        )
        .expect("ingest");
        assert!(
            done.outcomes.iter().all(|o| o.is_stored()),
            "every synthetic record is stored"
        );
    }
    start.elapsed()
}

/// Durable ingest of the whole set in one call, as
/// [`ingest::pipelined`] runs it: the next batch checked on a second
/// thread while this one is stored. A node's bulk catch-up ingests one
/// pull (at most 1,024 records) per call, so it does not get this.
fn two_thread_ingest(records: &[Signed]) -> Duration {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::new(
        SledBackend::open(dir.path(), cache_bytes(), DEFAULT_MIN_FREE_BYTES).expect("sled"),
    );
    let cfg = ingest::Config::default();
    let bytes: Vec<Vec<u8>> = records.iter().map(|r| r.bytes.clone()).collect();
    let start = Instant::now();
    ingest::pipelined(bytes, record::check_batch_ids, |checked| {
        let done = ingest::ingest_checked(&store, checked, u64::MAX / 2, &cfg)?;
        assert!(done.outcomes.iter().all(|o| o.is_stored()));
        Ok::<(), setu_store::Error>(())
    })
    .expect("ingest");
    start.elapsed()
}

/// Ingest as a node does it: batches into a replica, whose index thread
/// indexes behind the store (committing as a running node asks, after
/// each batch), timed until the index has caught up.
fn pipelined_ingest(records: &[Signed]) -> Duration {
    let dir = tempfile::tempdir().expect("tmp");
    Replica::create(dir.path()).expect("create");
    let mut replica = Replica::open(dir.path(), replica_config()).expect("open");
    let start = Instant::now();
    for chunk in records.chunks(MAX_BATCH) {
        let done = replica
            .ingest(
                chunk.iter().map(|r| r.bytes.clone()).collect(),
                u64::MAX / 2,
            )
            .expect("ingest");
        assert!(done.outcomes.iter().all(|o| o.is_stored()));
        replica.flush_index_soon().expect("flush soon");
    }
    replica.flush_index().expect("flush");
    let took = start.elapsed();
    assert_eq!(replica.status().expect("status").index_lag, 0);
    took
}

/// The index's ceiling: the documents of the same records, built before
/// the clock starts, added and committed by plain tantivy with the index's
/// own schema, thread and memory budget (`Writer::time_plain_add`).
fn tantivy_ceiling(records: &[Signed]) -> Duration {
    let practices: Vec<_> = records
        .iter()
        .map(|r| {
            let rec = record::check_trusted(r.bytes.clone()).expect("valid");
            let p = rec.practice().expect("a practice").clone();
            (rec.envelope().author, rec.id(), p, rec.envelope().ts)
        })
        .collect();
    let dir = tempfile::tempdir().expect("tmp");
    let (_index, mut writer, _) = setu_store::index::Index::open(dir.path()).expect("index");
    writer.time_plain_add(&practices).expect("add")
}

/// The same ingest over the in-memory backend: what the rules cost without sled.
pub(crate) fn memory_ingest(records: &[Signed]) -> Duration {
    time_ingest(
        &Store::new(setu_store::backend::memory::MemoryBackend::new()),
        records,
    )
}

/// Only the stateless check, batched: decode, verify, validate.
fn check_only(records: &[Signed]) -> Duration {
    let start = Instant::now();
    for chunk in records.chunks(MAX_BATCH) {
        let out = record::check_batch(chunk.iter().map(|r| r.bytes.clone()).collect());
        assert!(out.iter().all(Result::is_ok));
    }
    start.elapsed()
}

fn time_queries(replica: &Replica, make: &mut dyn FnMut(usize) -> Query) -> (Vec<Duration>, usize) {
    let mut times = Vec::with_capacity(QUERIES);
    let mut found = 0;
    for i in 0..QUERIES {
        let q = make(i);
        let t = Instant::now();
        let hits = replica.query(&q).expect("query");
        times.push(t.elapsed());
        found += hits.total;
    }
    times.sort();
    (times, found / QUERIES)
}

/// The parts of the run, in order; `--only PART[,PART...]` runs those (the
/// store is always built and indexed first).
pub const PARTS: [&str; 5] = ["ingest", "query", "export", "disk", "import"];

pub fn run(n: usize, only: Option<&str>, cache_mib: Option<u64>) {
    if let Some(mib) = cache_mib {
        CACHE_BYTES.store(mib * 1_048_576, Ordering::Relaxed);
    }
    let want = |part: &str| only.is_none_or(|o| o.split(',').any(|p| p == part));
    println!(
        "setu-bench replica: {n} synthetic records, {AUTHORS} authors, batches of {MAX_BATCH}, one thread, sled cache {} MiB{}",
        cache_bytes() / 1_048_576,
        if cache_mib.is_some() {
            " (--cache-mib)"
        } else {
            " (shipped default)"
        }
    );
    let t = Instant::now();
    let records = generate(n);
    let raw_bytes: u64 = records.iter().map(|r| r.bytes.len() as u64).sum();
    println!(
        "generated and signed in {:.1} s; mean record {} bytes",
        t.elapsed().as_secs_f64(),
        raw_bytes / n.max(1) as u64
    );

    // Ingest against the ceiling, alternating to spread the machine's noise.
    let c1 = want("ingest").then(|| ceiling(&records));
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("FORMAT"),
        format!("setu-data-format {}\n", setu_store::replica::FORMAT_VERSION),
    )
    .expect("format");
    let ingest_time = durable_ingest(&records, dir.path());

    // Index catch-up: opening the replica indexes everything the store holds.
    let t = Instant::now();
    let mut replica = Replica::open(dir.path(), replica_config()).expect("open");
    let index_time = t.elapsed();
    let status = replica.status().expect("status");
    assert_eq!(status.index_lag, 0);
    if let Some(c1) = c1 {
        let index_ceiling = tantivy_ceiling(&records);
        let pipelined = pipelined_ingest(&records);
        let two_threads = rate(n, two_thread_ingest(&records));
        let c2 = ceiling(&records);
        let ceiling_rate = rate(n, c1).max(rate(n, c2));
        let ingest_rate = rate(n, ingest_time);
        let check_rate = rate(n, check_only(&records));
        let memory_rate = rate(n, memory_ingest(&records));
        let index_rate = rate(n, index_time);
        table::print(
            "Ingest",
            &["measure", "records/s", "vs ceiling"],
            &[
                vec![
                    "ceiling: batch verify + SHA-256 + raw sled insert".into(),
                    per_sec(ceiling_rate),
                    "100%".into(),
                ],
                vec![
                    "durable ingest: verify, validate, chain rules, sled (one batch per call, one thread)".into(),
                    per_sec(ingest_rate),
                    format!("{:.0}%", 100.0 * ingest_rate / ceiling_rate),
                ],
                vec![
                    "(not what a node does) durable ingest of the whole set in one call: the next batch checked on a second thread".into(),
                    per_sec(two_threads),
                    format!("{:.0}%", 100.0 * two_threads / ceiling_rate),
                ],
                vec![
                    "index catch-up (tantivy, after ingest)".into(),
                    per_sec(index_rate),
                    format!(
                        "{:.0}%; {:.0}% of the tantivy ceiling",
                        100.0 * index_rate / ceiling_rate,
                        100.0 * index_rate / rate(n, index_ceiling)
                    ),
                ],
                vec![
                    "ingest as a node does it: store and index pipelined (index thread), until searchable".into(),
                    per_sec(rate(n, pipelined)),
                    format!("{:.0}%", 100.0 * rate(n, pipelined) / ceiling_rate),
                ],
                vec![
                    "tantivy ceiling: the same documents, built first, added and committed once by plain tantivy".into(),
                    per_sec(rate(n, index_ceiling)),
                    "".into(),
                ],
                vec![
                    "(part) stateless check only: decode, batch verify, validate".into(),
                    per_sec(check_rate),
                    format!("{:.0}%", 100.0 * check_rate / ceiling_rate),
                ],
                vec![
                    "(part) full ingest rules on the in-memory backend".into(),
                    per_sec(memory_rate),
                    format!("{:.0}%", 100.0 * memory_rate / ceiling_rate),
                ],
            ],
        );
    }

    if want("query") {
        query_latency(&replica);
    }
    if want("export") {
        exports(&replica, n);
    }
    if want("disk") {
        replica.flush_index().expect("flush");
        let db_bytes = table::dir_bytes(&dir.path().join("db"));
        let index_bytes = table::dir_bytes(&dir.path().join("index"));
        table::print(
            "Disk and memory",
            &["measure", "value", "goal"],
            &[
                vec![
                    "raw signed record bytes".into(),
                    format!("{:.1} MiB", raw_bytes as f64 / 1_048_576.0),
                    "".into(),
                ],
                vec![
                    "sled (store) bytes / raw".into(),
                    format!("{:.2}x", db_bytes as f64 / raw_bytes as f64),
                    "".into(),
                ],
                vec![
                    "tantivy (index) bytes / raw".into(),
                    format!("{:.2}x", index_bytes as f64 / raw_bytes as f64),
                    "".into(),
                ],
                vec![
                    "total on disk / raw".into(),
                    format!("{:.2}x", (db_bytes + index_bytes) as f64 / raw_bytes as f64),
                    "<= 2.5x".into(),
                ],
            ],
        );
    }
    drop(replica);
    drop(records);
    // The store's files go before the import writes its own (at 1M
    // records each takes several GB).
    drop(dir);
    if want("import") {
        import_rss(n);
    }
}

/// Query latency of each kind of query.
fn query_latency(replica: &Replica) {
    // Query latency.
    let countries = ["BGD", "KEN", "BRA", "IDN", "IND", "RWA", "MEX", "PER"];
    let words = [
        "digital",
        "service",
        "citizens centre",
        "online payment",
        "huduma",
        "সেবা",
        "trámite",
        "land record",
    ];
    let filter = |i: usize| Query {
        countries: vec![CountryFilter {
            iso3: countries[i % countries.len()].into(),
            role: None,
        }],
        sdg: vec!["16".into()],
        status: vec![1 + (i % 6) as u64],
        ..Query::default()
    };
    let text = |i: usize| Query {
        text: Some(words[i % words.len()].into()),
        ..Query::default()
    };
    let (f_times, f_found) = time_queries(replica, &mut |i| filter(i));
    let (t_times, t_found) = time_queries(replica, &mut |i| text(i));
    // The same words, every one required: the mode before any-word ranking
    // became the default (`--match all`).
    let (a_times, a_found) = time_queries(replica, &mut |i| Query {
        text_match: setu_store::query::TextMatch::All,
        ..text(i)
    });
    let (b_times, b_found) = time_queries(replica, &mut |i| Query {
        text: text(i).text,
        ..filter(i)
    });
    // Ceiling: the same number of point reads of the store (what any query
    // that shows 20 results must at least do).
    let ids: Vec<_> = replica.matching(&Query::default()).expect("ids");
    let mut c_times = Vec::with_capacity(QUERIES);
    for i in 0..QUERIES {
        let t = Instant::now();
        for k in 0..20 {
            let _ = replica
                .store()
                .get(&ids[(i * 20 + k) % ids.len()])
                .expect("get");
        }
        c_times.push(t.elapsed());
    }
    c_times.sort();
    let row = |name: &str, times: &[Duration], found: usize| {
        vec![
            name.into(),
            format!("{:.2}", percentile_ms(times, 50)),
            format!("{:.2}", percentile_ms(times, 99)),
            found.to_string(),
        ]
    };
    table::print(
        &format!("Query latency ({QUERIES} queries each, 20 results shown)"),
        &["query", "p50 ms", "p99 ms", "mean matches"],
        &[
            row(
                "filter only (country + SDG goal + status)",
                &f_times,
                f_found,
            ),
            row("full text only (any word, the default)", &t_times, t_found),
            row(
                "full text only, every word (--match all)",
                &a_times,
                a_found,
            ),
            row("filter and full text", &b_times, b_found),
            row(
                "baseline (not a lower bound): 20 point reads from sled",
                &c_times,
                20,
            ),
        ],
    );
}

/// Each export format, against the ceiling of reading every record's bytes
/// and writing them out.
fn exports(replica: &Replica, n: usize) {
    // Export: each format, against the ceiling of reading every record's
    // bytes from the store in one ordered scan and writing them out in the
    // JSONL's encoding; beside it, the old way (a point read per id, in
    // index order) as a baseline.
    let out = tempfile::tempdir().expect("tmp");
    let everything = Query {
        limit: setu_store::query::MAX_LIMIT,
        ..Query::default()
    };
    let (ceiling_export, ceiling_bytes) = read_ceiling(replica, &out.path().join("raw.txt"), n, 0);
    let t = Instant::now();
    {
        use std::io::Write;
        let ids = replica.matching(&everything).expect("ids");
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(out.path().join("raw.hex")).expect("file"),
        );
        for id in &ids {
            let bytes = replica.store().get(id).expect("get").expect("stored");
            w.write_all(hex_line(&bytes).as_bytes()).expect("write");
        }
        w.flush().expect("flush");
        w.get_ref().sync_all().expect("sync");
    }
    let point_reads = t.elapsed();
    // A row with no size or goal: a name, a time and its ratio to the
    // ceiling.
    let timed = |name: String, took: Duration| {
        vec![
            name,
            format!("{:.2} s", took.as_secs_f64()),
            format!("{:.2}x", took.as_secs_f64() / ceiling_export.as_secs_f64()),
            String::new(),
            String::new(),
        ]
    };
    let mut rows = vec![
        timed(
            format!(
                "ceiling: one ordered scan of the store, signed bytes as {}, fsync",
                setu_export::SIGNED_ENCODING
            ),
            ceiling_export,
        ),
        timed(
            "baseline: a point read per id in index order, as hex, fsync".into(),
            point_reads,
        ),
    ];
    for (name, format, file, goal) in [
        (
            "JSONL (signed bytes + decoded JSON)",
            setu_export::Format::Jsonl,
            "x.jsonl",
            "<= 1.5x ceiling and <= 3 s",
        ),
        (
            "CSV + datapackage.json",
            setu_export::Format::Csv,
            "x.csv",
            "",
        ),
        ("Parquet", setu_export::Format::Parquet, "x.parquet", ""),
    ] {
        if std::env::var_os("SETU_BENCH_MARKS").is_some() {
            use std::io::Write;
            println!("mark: {format} export starts");
            std::io::stdout().flush().ok();
        }
        let t = Instant::now();
        let summary = replica
            .export(&everything, format, &out.path().join(file), &mut |_, _| {})
            .expect("export");
        let took = t.elapsed();
        assert_eq!(summary.rows as usize, n);
        rows.push(vec![
            name.to_string(),
            format!("{:.2} s", took.as_secs_f64()),
            format!("{:.2}x", took.as_secs_f64() / ceiling_export.as_secs_f64()),
            format!("{:.1} MiB", summary.bytes as f64 / 1_048_576.0),
            goal.to_string(),
        ]);
        if format == setu_export::Format::Jsonl {
            // Right after it, the ceiling's scan writing as many bytes as
            // the JSONL export wrote (its extra bytes spread evenly over
            // the lines, rounded down): a line that long, on one thread.
            let extra = summary.bytes.saturating_sub(ceiling_bytes);
            let (padded, padded_bytes) =
                read_ceiling(replica, &out.path().join("padded.txt"), n, extra);
            rows.push(timed(
                format!(
                    "baseline, run next: the ceiling's scan writing the JSONL's {:.1} MiB (each line padded)",
                    padded_bytes as f64 / 1_048_576.0
                ),
                padded,
            ));
            // And the same number of bytes written from memory, with
            // nothing read or encoded: what the disk alone costs.
            let bare = write_bytes(&out.path().join("bare.txt"), summary.bytes);
            rows.push(timed(
                format!(
                    "baseline, run next: {:.1} MiB written from memory, fsync (nothing read)",
                    summary.bytes as f64 / 1_048_576.0
                ),
                bare,
            ));
        }
    }
    table::print(
        &format!("Export of {n} records"),
        &["format", "time", "vs ceiling", "size", "goal"],
        &rows,
    );
}

/// The export's read ceiling: one ordered scan of the store's records,
/// each written as a line of its signed bytes in the exports' encoding,
/// then `fsync`. `extra` bytes of padding are spread over the lines (to
/// time a line as long as another format's); returns the time and the
/// bytes written.
fn read_ceiling(
    replica: &Replica,
    path: &std::path::Path,
    n: usize,
    extra: u64,
) -> (Duration, u64) {
    use std::io::Write;
    let pad = vec![b' '; (extra / n.max(1) as u64) as usize];
    let t = Instant::now();
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("file"));
    let mut count = 0;
    let mut written = 0u64;
    let mut line = Vec::new();
    let store = replica.store();
    store
        .backend()
        .scan_prefix(b"r", &mut |_, v| {
            let bytes = store.unpack(v)?;
            line.clear();
            setu_export::write_signed(&bytes, &mut line);
            line.extend_from_slice(&pad);
            line.push(b'\n');
            w.write_all(&line).expect("write");
            written += line.len() as u64;
            count += 1;
            Ok(true)
        })
        .expect("scan");
    assert_eq!(count, n);
    w.flush().expect("flush");
    w.get_ref().sync_all().expect("sync");
    (t.elapsed(), written)
}

/// Writes `bytes` bytes to a new file at `path` from one buffer in
/// memory, in the exports' write size, then `fsync`s it.
fn write_bytes(path: &std::path::Path, bytes: u64) -> Duration {
    use std::io::Write;
    const CHUNK: usize = 1 << 20;
    let buf = vec![b' '; CHUNK];
    let t = Instant::now();
    let mut f = std::fs::File::create(path).expect("file");
    let mut left = bytes;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        f.write_all(&buf[..n]).expect("write");
        left -= n as u64;
    }
    f.sync_all().expect("sync");
    t.elapsed()
}

/// Peak RSS of a real `setu import` of `n` bodies (signing, ingest, index),
/// read from /proc while it runs.
fn import_rss(n: usize) {
    let exe = std::env::current_exe().expect("exe");
    let setu = exe.with_file_name("setu");
    if !setu.exists() {
        println!(
            "\n(skipped the import RSS measure: build it with `cargo build --release -p setu-node`)"
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("bodies.jsonl");
    let mut text = String::new();
    for b in synth::bodies(2, n as u64) {
        text.push_str(&b.to_string());
        text.push('\n');
    }
    std::fs::write(&file, text).expect("write");
    let data = tmp.path().join("data");
    let ok = std::process::Command::new(&setu)
        .args([
            "init",
            "--country",
            "BGD",
            "--agency",
            "bench",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .expect("init");
    assert!(ok.status.success());
    // The run's cache, written where `setu init` left the default commented.
    let toml_path = data.join("setu.toml");
    let toml = std::fs::read_to_string(&toml_path).expect("setu.toml");
    let line = toml
        .lines()
        .find(|l| l.starts_with("# cache_mb = "))
        .expect("setu init writes a commented cache_mb line");
    let toml = toml.replacen(
        line,
        &format!("cache_mb = {}", cache_bytes() / 1_048_576),
        1,
    );
    std::fs::write(&toml_path, toml).expect("setu.toml");
    let start = Instant::now();
    let mut child = std::process::Command::new(&setu)
        .args(["import", "--json", "--data-dir"])
        .arg(&data)
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("import");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    // The peaks of RSS's two parts, sampled: anonymous memory (the heap)
    // and file pages mapped in (tantivy reads its segments by mmap).
    let (mut anon, mut file_backed) = (0u64, 0u64);
    let field = |s: &str, name: &str| -> Option<u64> {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            peak = peak.max(field(&s, "VmHWM:").unwrap_or(0));
            anon = anon.max(field(&s, "RssAnon:").unwrap_or(0));
            file_backed = file_backed.max(field(&s, "RssFile:").unwrap_or(0));
        }
        if let Some(status) = child.try_wait().expect("wait") {
            // A refused configuration would otherwise show as a tiny peak.
            assert!(status.success(), "setu import failed: {status}");
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    table::print(
        "Memory: a real `setu import` (sign, ingest, index) of the same number of bodies",
        &["measure", "value", "goal"],
        &[
            vec![
                "peak RSS".into(),
                format!("{:.0} MiB", peak as f64 / 1_048_576.0),
                "<= 190 MiB".into(),
            ],
            vec![
                "(part) largest anonymous RSS seen (heap), sampled every 20 ms".into(),
                format!("{:.0} MiB", anon as f64 / 1_048_576.0),
                "".into(),
            ],
            vec![
                "(part) largest file-backed RSS seen (mapped index files)".into(),
                format!("{:.0} MiB", file_backed as f64 / 1_048_576.0),
                "".into(),
            ],
            vec![
                "end-to-end import rate".into(),
                format!("{} rows/s", per_sec(rate(n, took))),
                "".into(),
            ],
            vec![
                "sled page cache (configured)".into(),
                format!("{} MiB", cache_bytes() / 1_048_576),
                "".into(),
            ],
        ],
    );
}

fn hex_line(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2 + 1);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s.push('\n');
    s
}
