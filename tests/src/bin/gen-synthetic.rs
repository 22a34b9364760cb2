//! Prints synthetic practice bodies as JSON Lines, for tests and benchmarks.
//!
//! `cargo run -p setu-tests --bin gen-synthetic -- SEED COUNT > bodies.jsonl`

fn main() {
    let mut args = std::env::args().skip(1);
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let count = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for body in setu_store::synth::bodies(seed, count) {
        use std::io::Write;
        if writeln!(out, "{body}").is_err() {
            return;
        }
    }
}
