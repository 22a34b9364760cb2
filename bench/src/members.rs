//! `setu-bench members [--members N] [--records N]`: what membership costs
//! (`spec/membership.md`).
//!
//! 1. Computing the member set: a charter of five founders, then `N`
//!    agencies admitted one at a time (each by the quorum it needs at the
//!    epoch then current) and every member rotating its key once.
//!    `View::compute` over all those operations, beside the least work any
//!    node must do with them: verifying their signatures once.
//! 2. Accepting by membership at ingest: the same practice records
//!    ingested into a chartered replica and into an open one (in memory,
//!    index included), in the same run.

use std::time::{Duration, Instant};

use setu_core::keys::SecretKey;
use setu_core::record;
use setu_member::charter::{Affiliation, Charter, Draft, Entry, Role, Sealed, Threshold};
use setu_member::op::{self, Body, Op, Signed};
use setu_member::view::View;
use setu_store::replica::Replica;

use crate::table;

/// Times each measurement is repeated; the median is reported.
const REPEATS: usize = 5;

fn key(i: usize) -> SecretKey {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    seed[8] = 0x6d;
    SecretKey::from_seed(&seed)
}

fn entry(i: usize, k: &SecretKey) -> Entry {
    Entry {
        id: format!("m{i:05}"),
        affiliation: Affiliation::Country("BGD".into()),
        agency: format!("Agency {i}"),
        role: Role::Member,
        key: k.author(),
    }
}

/// The charter, and the signed records of `n` admissions and one rotation
/// per member.
fn scenario(n: usize) -> (Sealed, Vec<Vec<u8>>, Vec<SecretKey>) {
    let founders = 5;
    let keys: Vec<SecretKey> = (0..founders + n).map(key).collect();
    let mut d = Draft::new(Charter {
        name: "bench".into(),
        members: (0..founders).map(|i| entry(i, &keys[i])).collect(),
        admit: Threshold::MAJORITY,
        recover: Threshold::MAJORITY,
    })
    .expect("charter");
    for k in &keys[..founders] {
        d.sign(k).expect("sign");
    }
    let sealed = d.seal().expect("seal");
    let net = sealed.network_id();
    let mut seqs = vec![0u64; keys.len()];
    let mut sign = |who: usize, op: Op| {
        seqs[who] += 1;
        op::sign(&keys[who], seqs[who], 1_000, &Body { net, op })
            .expect("op")
            .into_bytes()
    };
    let mut records = Vec::new();
    let mut signed: Vec<Signed> = Vec::new();
    let joining: Vec<Entry> = (founders..founders + n)
        .map(|i| entry(i, &keys[i]))
        .collect();
    for e in joining {
        let view = View::compute(&sealed, &signed);
        let need = view.admit().required(view.voters());
        for who in 0..need {
            let r = sign(
                who,
                Op::Endorse {
                    epoch: view.epoch(),
                    entry: e.clone(),
                },
            );
            let rec = record::check(r.clone()).expect("valid");
            signed.push(Signed::from_record(&rec).expect("member").expect("op"));
            records.push(r);
        }
    }
    // Every member rotates once, to a key of its own.
    let mut new_keys = Vec::new();
    for who in 0..founders + n {
        let k = key(1_000_000 + who);
        records.push(sign(
            who,
            Op::Rotate {
                member: format!("m{who:05}"),
                key: k.author(),
            },
        ));
        new_keys.push(k);
    }
    (sealed, records, new_keys)
}

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1_000.0)
}

pub fn run(members: usize, practices: usize) {
    println!(
        "setu-bench members: {members} agencies admitted after 5 founders, one rotation each; {practices} practices ingested"
    );
    let (sealed, records, new_keys) = scenario(members);
    let ops: Vec<Signed> = records
        .iter()
        .map(|b| {
            let r = record::check_trusted(b.clone()).expect("record");
            Signed::from_record(&r).expect("member").expect("op")
        })
        .collect();
    let compute = median(
        (0..REPEATS)
            .map(|_| {
                let t = Instant::now();
                let v = View::compute(&sealed, &ops);
                assert_eq!(v.member_ids().len(), members + 5);
                t.elapsed()
            })
            .collect(),
    );
    let verify = median(
        (0..REPEATS)
            .map(|_| {
                let t = Instant::now();
                let ok = record::check_batch(records.clone())
                    .iter()
                    .filter(|r| r.is_ok())
                    .count();
                assert_eq!(ok, records.len());
                t.elapsed()
            })
            .collect(),
    );
    let view = View::compute(&sealed, &ops);
    table::print(
        &format!(
            "Computing the member set ({} operations, {} epochs)",
            ops.len(),
            view.height()
        ),
        &["what", "median ms", "per operation µs", "vs verifying once"],
        &[
            vec![
                "View::compute (the member set, from scratch)".into(),
                ms(compute),
                format!("{:.1}", compute.as_secs_f64() * 1e6 / ops.len() as f64),
                format!("{:.2}×", compute.as_secs_f64() / verify.as_secs_f64()),
            ],
            vec![
                "ceiling: verify every operation's signature (check_batch)".into(),
                ms(verify),
                format!("{:.1}", verify.as_secs_f64() * 1e6 / ops.len() as f64),
                "1.00×".into(),
            ],
        ],
    );

    // Ingest: the same practices by members, chartered and open.
    let mut bodies = setu_store::synth::bodies(11, practices as u64);
    let recs: Vec<Vec<u8>> = (0..practices)
        .map(|i| {
            let body = bodies.next().expect("body");
            let p = setu_store::replica::parse_practice(body).expect("practice");
            let k = &new_keys[i % new_keys.len()];
            record::sign_practice(k, 1 + (i / new_keys.len()) as u64, 1_000 + i as u64, &p)
                .expect("sign")
                .into_bytes()
        })
        .collect();
    let now = 1_000_000;
    let ingest = |chartered: bool| {
        median(
            (0..REPEATS)
                .map(|_| {
                    let mut r = Replica::in_memory(Default::default()).expect("replica");
                    if chartered {
                        r.set_charter(sealed.clone()).expect("charter");
                        r.ingest(records.clone(), now).expect("operations");
                    }
                    let t = Instant::now();
                    let done = r.ingest(recs.clone(), now).expect("ingest");
                    r.flush_index().expect("flush");
                    let el = t.elapsed();
                    assert_eq!(done.stored.len(), practices, "every practice is a member's");
                    el
                })
                .collect(),
        )
    };
    let open = ingest(false);
    let chartered = ingest(true);
    table::print(
        &format!("Ingest of {practices} practices by members (in memory, index included)"),
        &["replica", "median ms", "records/s", "vs open"],
        &[
            vec![
                "chartered: accepts by membership".into(),
                ms(chartered),
                table::per_sec(table::rate(practices, chartered)),
                format!("{:.2}×", chartered.as_secs_f64() / open.as_secs_f64()),
            ],
            vec![
                "baseline: open network, same records".into(),
                ms(open),
                table::per_sec(table::rate(practices, open)),
                "1.00×".into(),
            ],
        ],
    );

    // Opening: a chartered replica holding the operations and practices is
    // given its charter again (what every start and every CLI verb does),
    // reading its operations from their `o` entries, and, as a store made
    // before them, by reading every record.
    let mut r = Replica::in_memory(Default::default()).expect("replica");
    r.set_charter(sealed.clone()).expect("charter");
    r.ingest(records.clone(), now).expect("operations");
    r.ingest(recs.clone(), now).expect("practices");
    let held = r.store().meta().expect("meta").records;
    let mut open_with = |indexed: bool| {
        median(
            (0..REPEATS)
                .map(|_| {
                    if !indexed {
                        let mut meta = r.store().meta().expect("meta");
                        meta.ops_indexed = false;
                        let v = setu_core::cbor::to_value(&meta).expect("meta");
                        let bytes = setu_core::cbor::encode(&v).expect("meta");
                        setu_store::backend::Backend::apply(
                            r.store().backend(),
                            vec![(b"m".to_vec(), Some(bytes))],
                        )
                        .expect("reset");
                    }
                    let t = Instant::now();
                    r.set_charter(sealed.clone()).expect("charter");
                    let el = t.elapsed();
                    let m = r.membership().expect("chartered").view().member_ids().len();
                    assert_eq!(m, members + 5);
                    el
                })
                .collect(),
        )
    };
    let indexed = open_with(true);
    let scanned = open_with(false);
    table::print(
        &format!(
            "Giving a replica of {held} records ({} operations) its charter, as every start does",
            records.len()
        ),
        &["operations read", "median ms", "vs reading every record"],
        &[
            vec![
                "from their o entries".into(),
                ms(indexed),
                format!("{:.2}×", indexed.as_secs_f64() / scanned.as_secs_f64()),
            ],
            vec![
                "baseline: by reading every record (a store made before o entries)".into(),
                ms(scanned),
                "1.00×".into(),
            ],
        ],
    );
}
