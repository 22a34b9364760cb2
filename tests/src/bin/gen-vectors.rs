//! Prints the spec's test vectors.
//!
//! `cargo run -p setu-tests --bin gen-vectors > spec/vectors/records.json`
//! `cargo run -p setu-tests --bin gen-vectors -- sync > spec/vectors/sync.json`
//! `cargo run -p setu-tests --bin gen-vectors -- attachments > spec/vectors/attachments.json`

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("sync") => print!("{}", setu_tests::sync_vectors::render()),
        Some("attachments") => print!("{}", setu_tests::attachment_vectors::render()),
        _ => print!("{}", setu_tests::vectors::render()),
    }
}
