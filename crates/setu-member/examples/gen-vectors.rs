//! Prints `spec/vectors/membership.json`:
//! `cargo run -p setu-member --example gen-vectors > spec/vectors/membership.json`

fn main() {
    print!("{}", setu_member::vectors::render());
}
