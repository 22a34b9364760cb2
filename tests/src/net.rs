//! Support for the multi-node tests: real nodes on loopback TCP with real
//! sled directories, and waits on conditions with timeouts.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use setu::{Config, Multiaddr, Node, SecretKey};

/// A default wait: generous, because CI machines are slow and shared.
pub const WAIT: Duration = Duration::from_secs(120);

/// Settings for a test node: loopback, an ephemeral port, no mDNS, a short
/// sync interval, and a network name of the test's own.
pub fn config(
    dir: &Path,
    network: &str,
    key: Option<SecretKey>,
    bootstrap: Vec<Multiaddr>,
) -> Config {
    // SETU_LOG=debug shows the nodes' logs.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("SETU_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    }
    let mut cfg = Config::new(dir);
    cfg.key = key;
    cfg.net.network = network.to_string();
    cfg.net.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("valid multiaddr")];
    cfg.net.bootstrap = bootstrap;
    cfg.net.mdns = false;
    cfg.net.sync_interval = Duration::from_secs(2);
    cfg
}

/// The node's first listen address, with its peer id.
pub async fn addr(node: &Node) -> Multiaddr {
    let st = node.status().await.expect("status");
    st.net.listen[0].parse().expect("listen address parses")
}

/// Records stored by a node.
pub async fn records(node: &Node) -> u64 {
    node.status().await.expect("status").replica.records
}

/// Waits until `cond` holds, checking every 50 ms; panics with `what`
/// after `timeout`.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if cond().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until every node holds `n` records.
pub async fn wait_records(nodes: &[&Node], n: u64, what: &str) {
    wait_until(WAIT, what, || async {
        for node in nodes {
            if records(node).await != n {
                return false;
            }
        }
        true
    })
    .await;
}

/// JSON Lines of `count` synthetic bodies.
pub fn jsonl(seed: u64, count: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for b in setu_store::synth::bodies(seed, count) {
        out.extend_from_slice(b.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// Imports `count` synthetic bodies at a node; returns how many were stored.
pub async fn import(node: &Node, seed: u64, count: u64) -> usize {
    let (prog, _) = node
        .import(Box::new(std::io::Cursor::new(jsonl(seed, count))), false)
        .await
        .expect("import");
    prog.imported
}
