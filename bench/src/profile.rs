//! `setu-bench profile`: where the time of one record goes (a diagnostic,
//! not a benchmark of record).

use std::time::Instant;

use setu_core::keys::SecretKey;
use setu_core::practice::Practice;
use setu_core::{cbor, record};

pub fn run() {
    let key = SecretKey::from_seed(&[1; 32]);
    let recs: Vec<Vec<u8>> = (0..2_000u64)
        .map(|i| {
            let mut p: Practice =
                serde_json::from_value(setu_store::synth::body(1, i)).expect("body");
            p.fill_defaults();
            record::sign_practice(&key, i + 1, 1, &p)
                .expect("sign")
                .into_bytes()
        })
        .collect();
    let n = recs.len() as f64;
    let time = |name: &str, f: &mut dyn FnMut(&Vec<u8>)| {
        let t = Instant::now();
        for r in &recs {
            f(r);
        }
        println!(
            "{name:<40} {:>8.1} µs/record",
            t.elapsed().as_secs_f64() * 1e6 / n
        );
    };
    time("cbor::decode (outer)", &mut |r| {
        cbor::decode(r).expect("ok");
    });
    time("record::parse", &mut |r| {
        record::parse(r.clone()).expect("ok");
    });
    time("record::check_trusted (no signature)", &mut |r| {
        record::check_trusted(r.clone()).expect("ok");
    });
    time("record::check", &mut |r| {
        record::check(r.clone()).expect("ok");
    });
    let t = Instant::now();
    let out = record::check_batch(recs.clone());
    assert!(out.iter().all(Result::is_ok));
    println!(
        "{:<40} {:>8.1} µs/record",
        "record::check_batch",
        t.elapsed().as_secs_f64() * 1e6 / n
    );
    let bodies: Vec<Practice> = recs
        .iter()
        .map(|r| {
            record::check_trusted(r.clone())
                .expect("ok")
                .practice()
                .cloned()
                .expect("p")
        })
        .collect();
    let t = Instant::now();
    for p in &bodies {
        let _ = setu_core::practice::validate(p);
    }
    println!(
        "{:<40} {:>8.1} µs/record",
        "practice::validate",
        t.elapsed().as_secs_f64() * 1e6 / n
    );
    let t = Instant::now();
    for p in &bodies {
        let v = cbor::to_value(p).expect("v");
        let _ = cbor::encode(&v);
    }
    println!(
        "{:<40} {:>8.1} µs/record",
        "to_value + encode (body)",
        t.elapsed().as_secs_f64() * 1e6 / n
    );
}
