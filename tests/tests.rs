//! Cross-crate tests, one module per area.

mod suite {
    pub mod vectors;
}
