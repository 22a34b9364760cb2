//! `setu.toml`: the node's configuration, with serde defaults and
//! `validate()`. An unknown or bad key is named in the error.

use crate::datadir::files;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The configuration file's name inside the data directory.
/// The largest configuration file read.
pub const MAX_FILE_BYTES: u64 = 256 * 1024;
/// Largest `store.min_free_mb` (1 TiB).
pub const MAX_MIN_FREE_MB: u64 = 1024 * 1024;

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Who this node publishes as.
    pub publisher: Publisher,
    /// The local replica.
    pub store: StoreConfig,
    /// Peers, gossip and sync.
    pub network: NetworkConfig,
    /// The HTTP API of `setu run`.
    pub api: ApiConfig,
    /// What this node shows, for its own operator only.
    pub policy: PolicyConfig,
}

/// `[policy]`: local policy in a chartered network
/// (`spec/membership.md` §9). It changes what this node shows, never what
/// it relays or refuses for others.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Member ids whose practices this node does not show in queries,
    /// facets and exports (it still stores and relays them).
    pub mute: Vec<String>,
    /// Keys (hex) no member holds whose records this node keeps and shows
    /// anyway, on this node only: never relayed.
    pub trust: Vec<String>,
}

impl PolicyConfig {
    /// The policy, or the first problem, naming its field.
    pub fn parse(&self) -> Result<setu_store::members::Policy> {
        let mut trust = Vec::new();
        for (i, k) in self.trust.iter().enumerate() {
            trust.push(k.parse().map_err(|e| {
                anyhow::anyhow!("policy.trust[{i}]: {k:?} is not a key (64 hex digits): {e}")
            })?);
        }
        for (i, m) in self.mute.iter().enumerate() {
            if m.is_empty() {
                bail!("policy.mute[{i}]: a member id must not be empty");
            }
        }
        let p = setu_store::members::Policy {
            mute: self.mute.clone(),
            trust,
        };
        if let Some(problem) = p.problems().into_iter().next() {
            bail!("{problem}");
        }
        Ok(p)
    }
}

/// `[network]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// The network name; nodes of different networks never mix.
    pub name: String,
    /// The sealed charter of the network (relative to the data
    /// directory); with one, the network name is derived from it.
    pub charter: Option<String>,
    /// libp2p addresses to listen on.
    pub listen: Vec<String>,
    /// Peers to dial at start and redial with backoff, as libp2p addresses.
    pub bootstrap: Vec<String>,
    /// Find peers on the local network with mDNS.
    pub mdns: bool,
    /// Seconds between reconciliation rounds with each peer.
    pub sync_interval_secs: u64,
    /// If set, only records by these authors (hex keys) are accepted from peers.
    pub allow_authors: Option<Vec<String>>,
    /// If set, most records accepted per author per hour.
    pub quota_records_per_hour: Option<u64>,
    /// If set, most record bytes accepted per author per hour.
    pub quota_bytes_per_hour: Option<u64>,
    /// Serve as a circuit relay for nodes that cannot accept connections.
    pub relay: bool,
    /// Relays to reserve a slot on (full addresses ending in /p2p/PEER_ID).
    pub relays: Vec<String>,
    /// Find peers beyond the bootstrap list with Kademlia.
    pub kademlia: bool,
}

/// The port `setu run` listens on for peers by default.
pub const DEFAULT_P2P_PORT: u16 = 7000;
/// The API's default address.
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:7180";

impl Default for NetworkConfig {
    fn default() -> NetworkConfig {
        NetworkConfig {
            name: setu_net::config::DEFAULT_NETWORK.into(),
            charter: None,
            listen: vec![
                format!("/ip4/0.0.0.0/tcp/{DEFAULT_P2P_PORT}"),
                format!("/ip4/0.0.0.0/udp/{DEFAULT_P2P_PORT}/quic-v1"),
            ],
            bootstrap: Vec::new(),
            mdns: true,
            sync_interval_secs: setu_net::config::DEFAULT_SYNC_INTERVAL.as_secs(),
            allow_authors: None,
            quota_records_per_hour: None,
            quota_bytes_per_hour: None,
            relay: false,
            relays: Vec::new(),
            kademlia: true,
        }
    }
}

/// `[api]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Where the HTTP API listens; loopback by default.
    pub listen: String,
    /// Origins (`https://portal.example.gov`) whose web pages may read the
    /// API from a browser (CORS). Empty, the default: none may.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cors_origins: Vec<String>,
    /// The origin the node is reached at from outside
    /// (`https://setu.example.gov`, behind a proxy or TLS terminator): the
    /// start of the links in OAI-PMH and DCAT answers. Unset: `http://` and
    /// the request's `Host`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// The e-mail OAI-PMH's Identify gives for the repository's
    /// administrator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_email: Option<String>,
}

/// Most `api.cors_origins`.
pub const MAX_CORS_ORIGINS: usize = 64;

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            listen: DEFAULT_API_LISTEN.into(),
            cors_origins: Vec::new(),
            public_url: None,
            admin_email: None,
        }
    }
}

impl ApiConfig {
    /// Checks `cors_origins`: each a scheme, a host and maybe a port, with
    /// nothing after (what a browser sends as `Origin`).
    pub fn validate(&self) -> Result<()> {
        if self.cors_origins.len() > MAX_CORS_ORIGINS {
            bail!(
                "api.cors_origins: {} origins; at most {MAX_CORS_ORIGINS}",
                self.cors_origins.len()
            );
        }
        if let Some(u) = &self.public_url {
            let rest = u
                .strip_prefix("https://")
                .or_else(|| u.strip_prefix("http://"));
            if !rest.is_some_and(|h| {
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-.:[]/".contains(c))
            }) {
                bail!(
                    "api.public_url: {u:?} is not an http(s) URL such as \"https://setu.example.gov\""
                );
            }
        }
        if let Some(e) = &self.admin_email
            && (!e.contains('@') || e.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            bail!("api.admin_email: {e:?} is not an e-mail address");
        }
        for o in &self.cors_origins {
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"));
            let ok = rest.is_some_and(|host| {
                !host.is_empty()
                    && host.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || "-.:[]".contains(c)
                    })
            });
            if !ok {
                bail!(
                    "api.cors_origins: {o:?} is not an origin; write it as a browser sends it, e.g. \"https://portal.example.gov\" (scheme, host in lower case, optional port, no path)"
                );
            }
        }
        Ok(())
    }
}

fn addrs(field: &str, list: &[String]) -> Result<Vec<setu_net::Multiaddr>> {
    list.iter()
        .map(|a| {
            a.parse()
                .map_err(|e| anyhow::anyhow!("{field}: {a:?} is not a libp2p address: {e}"))
        })
        .collect()
}

/// `[publisher]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Publisher {
    /// The agency's country (ISO 3166-1 alpha-3).
    pub country: String,
    /// The agency's name.
    pub agency: String,
    /// The publisher key, relative to the data directory.
    pub key_file: String,
    /// If the key file is encrypted: the environment variable that holds
    /// its passphrase (its name, never the passphrase). Unset, or the
    /// variable unset, the passphrase is asked for on the terminal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_passphrase_env: Option<String>,
}

impl Default for Publisher {
    fn default() -> Publisher {
        Publisher {
            country: String::new(),
            agency: String::new(),
            key_file: files::PUBLISHER_KEY.into(),
            key_passphrase_env: None,
        }
    }
}

/// Checks that `name` can name an environment variable: ASCII letters,
/// digits and `_`, not starting with a digit (what a shell can export).
pub fn check_env_name(field: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 256;
    if !ok {
        bail!(
            "{field}: not an environment variable name (letters, digits and _, such as SETU_KEY_PASSPHRASE); \
             it names the variable that holds the passphrase, not the passphrase (which is not shown here)"
        );
    }
    Ok(())
}

/// `[store]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// sled's page cache, in MiB.
    pub cache_mb: u64,
    /// Records dated more than this far in the future are refused, in seconds.
    pub max_future_skew_secs: u64,
    /// Store writes are refused while the data directory's filesystem has
    /// less free space than this, in MiB (0: never refuse up front).
    pub min_free_mb: u64,
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig {
            cache_mb: setu_store::backend::sled::DEFAULT_CACHE_BYTES / (1024 * 1024),
            max_future_skew_secs: setu_store::ingest::DEFAULT_MAX_FUTURE_SKEW_MS / 1000,
            min_free_mb: setu_store::backend::sled::DEFAULT_MIN_FREE_BYTES / (1024 * 1024),
        }
    }
}

impl Config {
    /// Reads and validates `DIR/setu.toml`; defaults if it does not exist.
    pub fn load(dir: &Path) -> Result<Config> {
        let path = dir.join(files::CONFIG);
        if !path.exists() {
            return Ok(Config::default());
        }
        let bytes = crate::io::read_small(&path, MAX_FILE_BYTES, "setu.toml")?;
        let text =
            String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))?;
        let cfg: Config =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        cfg.validate()
            .with_context(|| format!("{} is not valid", path.display()))?;
        Ok(cfg)
    }

    /// Checks values that serde cannot.
    pub fn validate(&self) -> Result<()> {
        if !self.publisher.country.is_empty()
            && setu_core::codes::country(&self.publisher.country).is_none()
        {
            bail!(
                "publisher.country: {:?} is not an ISO 3166-1 alpha-3 code",
                self.publisher.country
            );
        }
        if self.publisher.key_file.is_empty() {
            bail!("publisher.key_file: must not be empty");
        }
        self.api.validate()?;
        if let Some(name) = &self.publisher.key_passphrase_env {
            check_env_name("publisher.key_passphrase_env", name)?;
        }
        if !(8..=65_536).contains(&self.store.cache_mb) {
            bail!(
                "store.cache_mb: {} is outside 8..=65536",
                self.store.cache_mb
            );
        }
        if self.store.min_free_mb > MAX_MIN_FREE_MB {
            bail!(
                "store.min_free_mb: {} is more than {MAX_MIN_FREE_MB} (1 TiB)",
                self.store.min_free_mb
            );
        }
        self.net()?;
        self.policy.parse()?;
        self.api
            .listen
            .parse::<std::net::SocketAddr>()
            .map_err(|e| {
                anyhow::anyhow!(
                    "api.listen: {:?} is not an address such as 127.0.0.1:7180: {e}",
                    self.api.listen
                )
            })?;
        if self.store.max_future_skew_secs > 7 * 24 * 3600 {
            bail!(
                "store.max_future_skew_secs: {} is more than a week",
                self.store.max_future_skew_secs
            );
        }
        Ok(())
    }

    /// The replica settings this file asks for.
    pub fn replica(&self) -> setu_store::replica::Config {
        setu_store::replica::Config {
            cache_bytes: self.store.cache_mb * 1024 * 1024,
            min_free_bytes: self.store.min_free_mb * 1024 * 1024,
            ingest: setu_store::ingest::Config {
                max_future_skew_ms: self.store.max_future_skew_secs * 1000,
            },
            // Validated when the file was loaded.
            policy: self.policy.parse().unwrap_or_default(),
        }
    }

    /// The network settings this file asks for.
    pub fn net(&self) -> Result<setu_net::config::Config> {
        let n = &self.network;
        let allow_authors = match &n.allow_authors {
            Some(list) => Some(
                list.iter()
                    .map(|k| {
                        k.parse().map_err(|e| {
                            anyhow::anyhow!(
                                "network.allow_authors: {k:?} is not an author key: {e}"
                            )
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
            None => None,
        };
        let cfg = setu_net::config::Config {
            network: n.name.clone(),
            listen: addrs("network.listen", &n.listen)?,
            bootstrap: addrs("network.bootstrap", &n.bootstrap)?,
            mdns: n.mdns,
            sync_interval: std::time::Duration::from_secs(n.sync_interval_secs),
            admission: setu_net::admission::Config {
                allow_authors,
                max_records_per_hour: n.quota_records_per_hour,
                max_bytes_per_hour: n.quota_bytes_per_hour,
            },
            gossip: setu_net::config::Gossip::Announce,
            relay: n.relay,
            relays: addrs("network.relays", &n.relays)?,
            kademlia: n.kademlia,
        };
        cfg.validate().map_err(anyhow::Error::msg)?;
        Ok(cfg)
    }

    /// The file `setu init` writes: the publisher set, every other key
    /// shown commented out with its default and meaning.
    pub fn template(country: &str, agency: &str) -> String {
        let d = Config::default();
        format!(
            r#"# Setu node configuration. Keys left commented out take the value shown.

[publisher]
# The agency's country, ISO 3166-1 alpha-3.
country = {country:?}
# The agency's name, used in citations of its records.
agency = {agency:?}
# The publisher's Ed25519 key (PKCS#8 PEM, mode 0600), relative to the data directory.
# A key file every user may read (mode o+r, e.g. 0644) is refused; 0600 or 0640.
# key_file = {key:?}
# If the key file is encrypted (`setu keys generate --encrypt`): the NAME of the
# environment variable that holds its passphrase (never the passphrase itself).
# Unset, or that variable unset, the passphrase is asked for on the terminal.
# key_passphrase_env = "SETU_KEY_PASSPHRASE"

[store]
# sled's page cache in MiB; resident memory is about this plus 30-60 MiB.
# cache_mb = {cache}
# Records dated more than this many seconds in the future are refused (and may be accepted later).
# max_future_skew_secs = {skew}
# Writes are refused (reads go on) while the data directory's disk has less than this many MiB free.
# min_free_mb = {min_free}

[network]
# The network's sealed charter (`setu charter seal`), relative to the data directory.
# With one, the network name is c-<short network id> and membership decides who publishes.
# charter = "charter.cbor"
# The network name of an open network (no charter): nodes of different networks never mix.
# name = {net:?}
# libp2p addresses to listen on for peers: TCP and QUIC (UDP) on the same port.
# listen = [{listen:?}, {quic:?}]
# Peers to dial at start (and redial), e.g. ["/ip4/192.0.2.10/tcp/7000/p2p/12D3KooW..."].
# bootstrap = []
# Find peers on the local network with mDNS.
# mdns = true
# Seconds between reconciliation rounds with each peer.
# sync_interval_secs = {interval}
# Until membership exists: accept records from peers only by these authors (hex keys)...
# allow_authors = ["<64 hex digits>"]
# ...and at most this many records / bytes per author per hour. Over quota: refused, not stored.
# quota_records_per_hour = 1000
# quota_bytes_per_hour = 50000000
# Serve as a circuit relay for nodes behind NAT (needs a reachable listen address).
# relay = false
# Behind NAT: reserve a slot on these relays, to be reachable through them.
# relays = ["/ip4/192.0.2.10/tcp/7000/p2p/12D3KooW..."]
# Find peers beyond the bootstrap list with Kademlia (server mode once reachable).
# kademlia = true

[api]
# Where `setu run` serves the HTTP API. Writes need the token in the file api-token.
# listen = {api:?}

[policy]
# Local policy in a chartered network: what THIS node shows, never what it relays or refuses.
# Member ids whose practices this node does not show in queries, facets and exports.
# mute = ["member-id"]
# Keys no member holds whose records this node keeps and shows anyway (never relayed).
# trust = ["<64 hex digits>"]
"#,
            net = d.network.name,
            listen = d.network.listen[0],
            quic = d.network.listen[1],
            interval = d.network.sync_interval_secs,
            api = d.api.listen,
            key = d.publisher.key_file,
            cache = d.store.cache_mb,
            skew = d.store.max_future_skew_secs,
            min_free = d.store.min_free_mb,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_origins_urls_and_emails_are_checked_by_name() {
        let api = |cors: &[&str], url: Option<&str>, mail: Option<&str>| ApiConfig {
            cors_origins: cors.iter().map(|s| s.to_string()).collect(),
            public_url: url.map(str::to_string),
            admin_email: mail.map(str::to_string),
            ..ApiConfig::default()
        };
        assert!(
            api(
                &["https://portal.example.gov", "http://127.0.0.1:8080"],
                Some("https://setu.example.gov"),
                Some("ops@example.gov")
            )
            .validate()
            .is_ok()
        );
        for (bad, field) in [
            (
                api(&["https://Portal.example.gov"], None, None),
                "api.cors_origins",
            ),
            (
                api(&["https://portal.example.gov/path?x"], None, None),
                "api.cors_origins",
            ),
            (api(&["portal.example.gov"], None, None), "api.cors_origins"),
            (
                api(&[], Some("ftp://setu.example.gov"), None),
                "api.public_url",
            ),
            (
                api(&[], Some("https://setu example"), None),
                "api.public_url",
            ),
            (api(&[], None, Some("no-at-sign")), "api.admin_email"),
        ] {
            let e = bad.validate().expect_err("refused").to_string();
            assert!(e.starts_with(field), "{e}");
        }
    }

    #[test]
    fn the_template_parses_and_unknown_keys_are_named() {
        let cfg: Config = toml::from_str(&Config::template("BGD", "a2i")).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.publisher.agency, "a2i");
        let err = toml::from_str::<Config>("[store]\ncache_megabytes = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cache_megabytes"), "{err}");
        let bad: Config = toml::from_str("[store]\ncache_mb = 1\n").unwrap();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("store.cache_mb")
        );
    }

    #[test]
    fn the_passphrase_variable_is_a_name() {
        let cfg: Config =
            toml::from_str("[publisher]\nkey_passphrase_env = \"SETU_KEY_PASSPHRASE\"\n").unwrap();
        cfg.validate().unwrap();
        assert_eq!(
            cfg.publisher.key_passphrase_env.as_deref(),
            Some("SETU_KEY_PASSPHRASE")
        );
        for bad in ["", "1ABC", "correct horse", "SETU-KEY", "pässword"] {
            let cfg: Config =
                toml::from_str(&format!("[publisher]\nkey_passphrase_env = {bad:?}\n")).unwrap();
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains("publisher.key_passphrase_env"), "{err}");
        }
    }
}
