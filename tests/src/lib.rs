//! Support code for the cross-crate tests in `tests.rs`, and the generators
//! of the spec's test vectors (`spec/vectors/*.json`).

pub mod attachment_vectors;
pub mod net;
pub mod sync_vectors;
pub mod vectors;

/// The repository's root folder.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default()
}

/// The `setu` binary of this workspace, built on first use (a no-op when
/// `cargo test --workspace` has built it already).
pub fn setu_bin() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = std::process::Command::new(env!("CARGO"))
                .args(["build", "-q", "-p", "setu-node", "--bin", "setu"])
                .current_dir(repo_root())
                .status()
                .expect("cargo runs");
            assert!(status.success(), "cargo build -p setu-node failed");
            // target/debug/deps/setu-xxxx -> target/debug/setu
            let exe = std::env::current_exe().expect("test binary path");
            let dir = exe
                .parent()
                .and_then(std::path::Path::parent)
                .expect("target dir");
            dir.join("setu")
        })
        .clone()
}

/// A size for a heavy test: the environment variable `name` if set, else
/// `default` (CI keeps the defaults small; run with larger values by hand).
pub fn test_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
