//! `setu.toml`: read from the data directory, then turned into the network
//! and store settings. The file's types, defaults and checks are the light
//! crate `setu_config` (fuzzed: `fuzz/fuzz_targets/config.rs`); what needs
//! libp2p or the store (the addresses, the relays' peer ids, the policy) is
//! converted and checked here. An unknown or bad key is named in the error.

use crate::datadir::files;
use std::path::Path;

use anyhow::{Context, Result, bail};

pub use setu_config::{ApiConfig, Config, PolicyConfig, check_env_name};

/// Reads and checks `DIR/setu.toml`; the defaults if it does not exist.
pub fn load(dir: &Path) -> Result<Config> {
    let path = dir.join(files::CONFIG);
    if !path.exists() {
        return Ok(Config::default());
    }
    let bytes = crate::io::read_small(&path, setu_config::MAX_FILE_BYTES, "setu.toml")?;
    let text =
        String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))?;
    let not_valid = || format!("{} is not valid", path.display());
    let cfg = match Config::parse(&text) {
        Ok(cfg) => cfg,
        Err(e @ setu_config::Error::Invalid { .. }) => {
            return Err(anyhow::Error::new(e).context(not_valid()));
        }
        Err(e) => bail!("{}: {e}", path.display()),
    };
    // What `setu_config` cannot check without libp2p and the store.
    net(&cfg).with_context(not_valid)?;
    policy(&cfg.policy).with_context(not_valid)?;
    Ok(cfg)
}

// `setu_config` cannot depend on the network and store crates, so it
// repeats their defaults and limits: they must agree, or this does not build.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
const MIB: u64 = 1024 * 1024;
const _: () = {
    use setu_net::config as n;
    assert!(same(setu_config::DEFAULT_NETWORK, n::DEFAULT_NETWORK));
    assert!(setu_config::DEFAULT_SYNC_INTERVAL_SECS == n::DEFAULT_SYNC_INTERVAL.as_secs());
    assert!(setu_config::DEFAULT_ATTACHMENT_BYTES_PER_SEC == n::DEFAULT_BLOB_RATE);
    assert!(
        setu_config::DEFAULT_ATTACHMENT_AUTO_FETCH_BYTES
            == setu::attachments::DEFAULT_AUTO_FETCH_BYTES
    );
    assert!(setu_config::DEFAULT_ATTACHMENT_QUOTA_BYTES == setu::attachments::DEFAULT_QUOTA_BYTES);
    assert!(setu_config::MAX_NETWORK_NAME == n::MAX_NETWORK_NAME);
    assert!(setu_config::MAX_LISTEN == n::MAX_LISTEN);
    assert!(setu_config::MAX_BOOTSTRAP == n::MAX_BOOTSTRAP);
    assert!(setu_config::MAX_RELAYS == n::MAX_RELAYS);
    // The smallest whole number of seconds setu_net accepts.
    assert!(
        setu_config::MIN_SYNC_INTERVAL_SECS as u128
            == n::MIN_SYNC_INTERVAL.as_millis().div_ceil(1000)
    );
    assert!(setu_config::MAX_SYNC_INTERVAL_SECS == n::MAX_SYNC_INTERVAL.as_secs());
    assert!(setu_config::MAX_POLICY_ENTRIES == setu_store::members::MAX_POLICY_ENTRIES);
    assert!(setu_config::DEFAULT_CACHE_MB == setu_store::backend::sled::DEFAULT_CACHE_BYTES / MIB);
    assert!(
        setu_config::DEFAULT_MIN_FREE_MB == setu_store::backend::sled::DEFAULT_MIN_FREE_BYTES / MIB
    );
    assert!(
        setu_config::DEFAULT_MAX_FUTURE_SKEW_SECS
            == setu_store::ingest::DEFAULT_MAX_FUTURE_SKEW_MS / 1000
    );
    assert!(same(setu_config::DEFAULT_KEY_FILE, files::PUBLISHER_KEY));
};

fn addrs(field: &str, list: &[String]) -> Result<Vec<setu_net::Multiaddr>> {
    list.iter()
        .map(|a| {
            a.parse()
                .map_err(|e| anyhow::anyhow!("{field}: {a:?} is not a libp2p address: {e}"))
        })
        .collect()
}

/// The network settings `cfg` asks for: its addresses parsed, and checked
/// by `setu_net` (a relay's address must end in its peer id).
pub fn net(cfg: &Config) -> Result<setu_net::config::Config> {
    let n = &cfg.network;
    let net = setu_net::config::Config {
        network: n.name.clone(),
        listen: addrs("network.listen", &n.listen)?,
        bootstrap: addrs("network.bootstrap", &n.bootstrap)?,
        mdns: n.mdns,
        sync_interval: std::time::Duration::from_secs(n.sync_interval_secs),
        admission: setu_net::admission::Config {
            allow_authors: n.allow_author_keys()?,
            max_records_per_hour: n.quota_records_per_hour,
            max_bytes_per_hour: n.quota_bytes_per_hour,
        },
        gossip: setu_net::config::Gossip::Announce,
        relay: n.relay,
        relays: addrs("network.relays", &n.relays)?,
        kademlia: n.kademlia,
        target_peers: n.target_peers,
        // The node's data dir/content, filled in by setu::Node::start.
        content: None,
        blob_rate: n.attachment_bytes_per_sec,
    };
    net.validate().map_err(anyhow::Error::msg)?;
    Ok(net)
}

/// The local policy `[policy]` asks for, or the first problem, naming its
/// field.
pub fn policy(p: &PolicyConfig) -> Result<setu_store::members::Policy> {
    let policy = setu_store::members::Policy {
        mute: p.mute.clone(),
        trust: p.trust_keys()?,
    };
    if let Some(problem) = policy.problems().into_iter().next() {
        bail!("{problem}");
    }
    Ok(policy)
}

/// The replica settings `cfg` asks for.
pub fn replica(cfg: &Config) -> setu_store::replica::Config {
    setu_store::replica::Config {
        cache_bytes: cfg.store.cache_mb * MIB,
        min_free_bytes: cfg.store.min_free_mb * MIB,
        ingest: setu_store::ingest::Config {
            max_future_skew_ms: cfg.store.max_future_skew_secs * 1000,
        },
        // Checked when the file was loaded.
        policy: policy(&cfg.policy).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults pass the node's checks too.
    #[test]
    fn the_defaults_convert() {
        let d = Config::default();
        assert_eq!(net(&d).unwrap().listen.len(), 2);
        assert_eq!(
            replica(&d).cache_bytes,
            setu_store::backend::sled::DEFAULT_CACHE_BYTES
        );
        assert_eq!(replica(&d).cache_bytes, setu_config::DEFAULT_CACHE_MB * MIB);
        assert_eq!(d.publisher.key_file, files::PUBLISHER_KEY);
    }

    #[test]
    fn addresses_and_relays_are_checked_here_by_name() {
        let relay =
            "/ip4/192.0.2.10/tcp/7000/p2p/12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X";
        let ok = Config::parse(&format!(
            "[network]\nbootstrap = [{relay:?}]\nrelays = [{relay:?}]\n"
        ))
        .unwrap();
        assert_eq!(net(&ok).unwrap().relays.len(), 1);
        for (text, field) in [
            ("[network]\nlisten = [\"tcp:7000\"]\n", "network.listen"),
            (
                "[network]\nbootstrap = [\"/ip4/1.2.3\"]\n",
                "network.bootstrap",
            ),
            (
                "[network]\nrelays = [\"/ip4/192.0.2.1/tcp/1\"]\n",
                "network.relays",
            ),
        ] {
            // setu_config lets them through (it does not parse addresses)...
            let cfg = Config::parse(text).unwrap();
            // ...and the node refuses them, naming the key.
            let e = net(&cfg).unwrap_err().to_string();
            assert!(e.starts_with(field), "{e}");
        }
    }

    #[test]
    fn load_names_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), Config::default());
        let write = |text: &str| std::fs::write(dir.path().join(files::CONFIG), text).unwrap();
        for (text, says) in [
            ("[store]\ncache_megabytes = 3\n", "cache_megabytes"),
            ("[store]\ncache_mb = 1\n", "store.cache_mb"),
            ("[policy]\ntrust = [\"zz\"]\n", "policy.trust[0]"),
            ("[network]\nlisten = [\"tcp:7000\"]\n", "network.listen"),
        ] {
            write(text);
            let e = format!("{:#}", load(dir.path()).unwrap_err());
            assert!(e.contains("setu.toml") && e.contains(says), "{e}");
        }
        std::fs::write(dir.path().join(files::CONFIG), b"agency = \"\xff\"").unwrap();
        let e = format!("{:#}", load(dir.path()).unwrap_err());
        assert!(e.contains("not UTF-8"), "{e}");
        write("[store]\ncache_mb = 64\n");
        assert_eq!(load(dir.path()).unwrap().store.cache_mb, 64);
    }
}
