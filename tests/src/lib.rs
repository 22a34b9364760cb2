//! Support code for the cross-crate tests in `tests.rs`, and the generator
//! of `spec/vectors/records.json`.

pub mod vectors;

/// The repository's root folder.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default()
}
