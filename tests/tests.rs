//! Cross-crate tests, one module per area.

mod suite {
    pub mod crash;
    pub mod vectors;
}
