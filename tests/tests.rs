//! Cross-crate tests, one module per area.

mod suite {
    pub mod crash;
    pub mod sync_vectors;
    pub mod vectors;
}
