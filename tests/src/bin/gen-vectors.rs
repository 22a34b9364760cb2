//! Prints `spec/vectors/records.json`.
//!
//! `cargo run -p setu-tests --bin gen-vectors > spec/vectors/records.json`

fn main() {
    print!("{}", setu_tests::vectors::render());
}
