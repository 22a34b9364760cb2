//! # setu-config
//!
//! `setu.toml`, the node's configuration file: its types with their serde
//! defaults, and [`Config::parse`], which reads the text and checks every
//! value. An unknown key, a value of the wrong type and a value out of range
//! are each refused with an error that names the key.
//!
//! No I/O, no network or store crate: the node (`setu-node`) reads the
//! file, calls [`Config::parse`], and then converts the checked values into
//! its network and store settings (parsing libp2p addresses there). The
//! fuzz target `config` feeds arbitrary text to [`Config::parse`].
//!
//! ```
//! let cfg = setu_config::Config::parse("[store]\ncache_mb = 64\n").unwrap();
//! assert_eq!(cfg.store.cache_mb, 64);
//! let e = setu_config::Config::parse("[store]\ncache_mb = 1\n").unwrap_err();
//! assert_eq!(e.field(), Some("store.cache_mb"));
//! ```

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use setu_core::ids::AuthorKey;

/// The largest configuration file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 256 * 1024;
/// Smallest `store.cache_mb`.
pub const MIN_CACHE_MB: u64 = 8;
/// Largest `store.cache_mb`.
pub const MAX_CACHE_MB: u64 = 65_536;
/// Largest `store.min_free_mb` (1 TiB).
pub const MAX_MIN_FREE_MB: u64 = 1024 * 1024;
/// Largest `store.max_future_skew_secs` (a week).
pub const MAX_FUTURE_SKEW_SECS: u64 = 7 * 24 * 3600;
/// Most `api.cors_origins`.
pub const MAX_CORS_ORIGINS: usize = 64;
/// Longest environment variable name (`publisher.key_passphrase_env`).
pub const MAX_ENV_NAME: usize = 256;
/// Longest `network.name` (as `setu_net::config::MAX_NETWORK_NAME`).
pub const MAX_NETWORK_NAME: usize = 32;
/// Most `network.listen` addresses (as `setu_net::config::MAX_LISTEN`).
pub const MAX_LISTEN: usize = 16;
/// Most `network.bootstrap` addresses (as `setu_net::config::MAX_BOOTSTRAP`).
pub const MAX_BOOTSTRAP: usize = 64;
/// Most `network.relays` (as `setu_net::config::MAX_RELAYS`).
pub const MAX_RELAYS: usize = 4;
/// Smallest `network.sync_interval_secs` (`setu_net` refuses less than
/// 200 ms, so 0).
pub const MIN_SYNC_INTERVAL_SECS: u64 = 1;
/// Largest `network.sync_interval_secs`: a day (as
/// `setu_net::config::MAX_SYNC_INTERVAL`).
pub const MAX_SYNC_INTERVAL_SECS: u64 = 86_400;
/// Most entries in `policy.mute`, and in `policy.trust` (as
/// `setu_store::members::MAX_POLICY_ENTRIES`).
pub const MAX_POLICY_ENTRIES: usize = 256;

/// The port `setu run` listens on for peers by default.
pub const DEFAULT_P2P_PORT: u16 = 7000;
/// The API's default address.
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:7180";
/// The default `network.name` (as `setu_net::config::DEFAULT_NETWORK`).
pub const DEFAULT_NETWORK: &str = "setu-main";
/// The default `network.sync_interval_secs` (as
/// `setu_net::config::DEFAULT_SYNC_INTERVAL`).
pub const DEFAULT_SYNC_INTERVAL_SECS: u64 = 60;
/// The default `publisher.key_file` (the key `setu init` writes).
pub const DEFAULT_KEY_FILE: &str = "publisher.pem";
/// The default `store.cache_mb` (as `setu_store`'s default sled cache).
pub const DEFAULT_CACHE_MB: u64 = 16;
/// The default `store.max_future_skew_secs` (as `setu_store`'s ingest default).
pub const DEFAULT_MAX_FUTURE_SKEW_SECS: u64 = 600;
/// The default `store.min_free_mb` (as `setu_store`'s default).
pub const DEFAULT_MIN_FREE_MB: u64 = 64;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is longer than [`MAX_FILE_BYTES`].
    #[error("setu.toml: {len} bytes; at most {MAX_FILE_BYTES}")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// Not TOML, an unknown key, or a value of the wrong type. toml's
    /// message names the key and shows its line.
    #[error(transparent)]
    Syntax(#[from] toml::de::Error),
    /// A value the types accept but the node does not.
    #[error("{field}: {reason}")]
    Invalid {
        /// The key, as written in `setu.toml` (`store.cache_mb`,
        /// `policy.trust[2]`).
        field: String,
        /// Why, with the value.
        reason: String,
    },
}

impl Error {
    /// The key a value was refused for (not for a syntax error, whose
    /// message names it).
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// `[publisher]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
            key_file: DEFAULT_KEY_FILE.into(),
            key_passphrase_env: None,
        }
    }
}

/// `[store]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
            cache_mb: DEFAULT_CACHE_MB,
            max_future_skew_secs: DEFAULT_MAX_FUTURE_SKEW_SECS,
            min_free_mb: DEFAULT_MIN_FREE_MB,
        }
    }
}

/// `[network]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The peers a node keeps: Kademlia looks for more while it keeps
    /// fewer, and chooses at most half of them itself (`spec/net.md`
    /// §3.4); connections its lookups opened beyond them are closed.
    pub target_peers: usize,
    /// Bytes per second of attachments served to one peer, at most
    /// (`spec/net.md` §7.5).
    pub attachment_bytes_per_sec: u64,
    /// Attachments up to this size are fetched as soon as their record
    /// arrives; larger ones on demand.
    pub attachment_auto_fetch_bytes: u64,
    /// The largest attachment this node adds or fetches.
    pub attachment_max_bytes: u64,
    /// Content beyond this total is collected (not what is pinned or
    /// this node's own).
    pub attachment_quota_bytes: u64,
}

/// The default of `network.target_peers` (as
/// `setu_net::config::DEFAULT_TARGET_PEERS`).
pub const DEFAULT_TARGET_PEERS: usize = 6;
/// The default of `network.attachment_max_bytes`: 2 GiB.
pub const DEFAULT_ATTACHMENT_MAX_BYTES: u64 = 2 << 30;
/// The default of `network.attachment_auto_fetch_bytes`: 20 MB.
pub const DEFAULT_ATTACHMENT_AUTO_FETCH_BYTES: u64 = 20_000_000;
/// The default of `network.attachment_quota_bytes`: 10 GiB.
pub const DEFAULT_ATTACHMENT_QUOTA_BYTES: u64 = 10 << 30;
/// The default of `network.attachment_bytes_per_sec`: 8 MiB/s per peer.
pub const DEFAULT_ATTACHMENT_BYTES_PER_SEC: u64 = 8 << 20;

impl Default for NetworkConfig {
    fn default() -> NetworkConfig {
        NetworkConfig {
            name: DEFAULT_NETWORK.into(),
            charter: None,
            listen: vec![
                format!("/ip4/0.0.0.0/tcp/{DEFAULT_P2P_PORT}"),
                format!("/ip4/0.0.0.0/udp/{DEFAULT_P2P_PORT}/quic-v1"),
            ],
            bootstrap: Vec::new(),
            mdns: true,
            sync_interval_secs: DEFAULT_SYNC_INTERVAL_SECS,
            allow_authors: None,
            quota_records_per_hour: None,
            quota_bytes_per_hour: None,
            relay: false,
            relays: Vec::new(),
            kademlia: true,
            target_peers: DEFAULT_TARGET_PEERS,
            attachment_bytes_per_sec: DEFAULT_ATTACHMENT_BYTES_PER_SEC,
            attachment_auto_fetch_bytes: DEFAULT_ATTACHMENT_AUTO_FETCH_BYTES,
            attachment_max_bytes: DEFAULT_ATTACHMENT_MAX_BYTES,
            attachment_quota_bytes: DEFAULT_ATTACHMENT_QUOTA_BYTES,
        }
    }
}

impl NetworkConfig {
    /// `allow_authors` as keys, or the first that is not one.
    pub fn allow_author_keys(&self) -> Result<Option<Vec<AuthorKey>>, Error> {
        let Some(list) = &self.allow_authors else {
            return Ok(None);
        };
        list.iter()
            .map(|k| {
                k.parse().map_err(|e| {
                    invalid(
                        "network.allow_authors",
                        format!("{k:?} is not an author key: {e}"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Checks what can be checked without libp2p: the name, the number of
    /// addresses, the interval and the author keys. (The addresses
    /// themselves are parsed by the node.)
    pub fn validate(&self) -> Result<(), Error> {
        self.allow_author_keys()?;
        check_network_name(&self.name)?;
        for (field, n, max, what) in [
            ("network.listen", self.listen.len(), MAX_LISTEN, "addresses"),
            (
                "network.bootstrap",
                self.bootstrap.len(),
                MAX_BOOTSTRAP,
                "addresses",
            ),
            ("network.relays", self.relays.len(), MAX_RELAYS, "relays"),
        ] {
            if n > max {
                return Err(invalid(field, format!("{n} {what}; at most {max} {what}")));
            }
        }
        if self.attachment_max_bytes == 0 {
            return Err(invalid(
                "network.attachment_max_bytes",
                "0; at least 1 (the largest attachment this node adds or fetches)".to_string(),
            ));
        }
        if self.sync_interval_secs < MIN_SYNC_INTERVAL_SECS {
            return Err(invalid(
                "network.sync_interval_secs",
                format!(
                    "{}; at least {MIN_SYNC_INTERVAL_SECS}",
                    self.sync_interval_secs
                ),
            ));
        }
        if self.sync_interval_secs > MAX_SYNC_INTERVAL_SECS {
            return Err(invalid(
                "network.sync_interval_secs",
                format!(
                    "{}; at most {MAX_SYNC_INTERVAL_SECS} (a day)",
                    self.sync_interval_secs
                ),
            ));
        }
        Ok(())
    }
}

/// Checks a network name: 1 to [`MAX_NETWORK_NAME`] of `a-z`, `0-9` and `-`
/// (the rule of `setu_net::config::check_network_name`).
pub fn check_network_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NETWORK_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "network.name",
            format!("{name:?}: must be 1 to {MAX_NETWORK_NAME} characters of a-z, 0-9 and '-'"),
        ))
    }
}

/// `[api]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// A visitor of the web catalogue may ask this node to fetch an
    /// attachment of at most this many bytes (a button on the practice
    /// page); 0: no button, only the operator fetches.
    pub visitor_fetch_bytes: u64,
}

/// The default of `api.visitor_fetch_bytes`: 500 MB.
pub const DEFAULT_VISITOR_FETCH_BYTES: u64 = 500_000_000;

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            listen: DEFAULT_API_LISTEN.into(),
            cors_origins: Vec::new(),
            public_url: None,
            admin_email: None,
            visitor_fetch_bytes: DEFAULT_VISITOR_FETCH_BYTES,
        }
    }
}

impl ApiConfig {
    /// Checks `cors_origins` (each a scheme, a host and maybe a port, with
    /// nothing after: what a browser sends as `Origin`), `public_url` and
    /// `admin_email`. (`listen` is checked by [`Config::validate`].)
    pub fn validate(&self) -> Result<(), Error> {
        if self.cors_origins.len() > MAX_CORS_ORIGINS {
            return Err(invalid(
                "api.cors_origins",
                format!(
                    "{} origins; at most {MAX_CORS_ORIGINS}",
                    self.cors_origins.len()
                ),
            ));
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
                return Err(invalid(
                    "api.public_url",
                    format!("{u:?} is not an http(s) URL such as \"https://setu.example.gov\""),
                ));
            }
        }
        if let Some(e) = &self.admin_email
            && (!e.contains('@') || e.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(invalid(
                "api.admin_email",
                format!("{e:?} is not an e-mail address"),
            ));
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
                return Err(invalid(
                    "api.cors_origins",
                    format!(
                        "{o:?} is not an origin; write it as a browser sends it, e.g. \"https://portal.example.gov\" (scheme, host in lower case, optional port, no path)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `[policy]`: local policy in a chartered network
/// (`spec/membership.md` §9). It changes what this node shows, never what
/// it relays or refuses for others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// `trust` as keys, or the first that is not one, named by its index.
    pub fn trust_keys(&self) -> Result<Vec<AuthorKey>, Error> {
        self.trust
            .iter()
            .enumerate()
            .map(|(i, k)| {
                k.parse().map_err(|e| {
                    invalid(
                        format!("policy.trust[{i}]"),
                        format!("{k:?} is not a key (64 hex digits): {e}"),
                    )
                })
            })
            .collect()
    }

    /// Checks the keys, that no member id is empty, and the lists' lengths.
    pub fn validate(&self) -> Result<(), Error> {
        self.trust_keys()?;
        for (i, m) in self.mute.iter().enumerate() {
            if m.is_empty() {
                return Err(invalid(
                    format!("policy.mute[{i}]"),
                    "a member id must not be empty",
                ));
            }
        }
        for (field, n) in [
            ("policy.mute", self.mute.len()),
            ("policy.trust", self.trust.len()),
        ] {
            if n > MAX_POLICY_ENTRIES {
                return Err(invalid(
                    field,
                    format!("{n} entries; at most {MAX_POLICY_ENTRIES}"),
                ));
            }
        }
        Ok(())
    }
}

/// Checks that `name` can name an environment variable: ASCII letters,
/// digits and `_`, not starting with a digit (what a shell can export), at
/// most [`MAX_ENV_NAME`] characters. `field` names where it was given
/// (`publisher.key_passphrase_env`, or a command-line option).
pub fn check_env_name(field: &str, name: &str) -> Result<(), Error> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_ENV_NAME;
    if !ok {
        return Err(invalid(
            field,
            "not an environment variable name (letters, digits and _, such as SETU_KEY_PASSPHRASE); \
             it names the variable that holds the passphrase, not the passphrase (which is not shown here)",
        ));
    }
    Ok(())
}

impl Config {
    /// Parses and checks the text of a `setu.toml`. Keys left out take
    /// their defaults; an unknown key, a value of the wrong type and a bad
    /// value are refused, naming the key.
    pub fn parse(text: &str) -> Result<Config, Error> {
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(Error::TooLarge { len: text.len() });
        }
        let cfg: Config = toml::from_str(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks values that serde cannot, each error naming its key. (The
    /// libp2p addresses are the node's to parse.)
    pub fn validate(&self) -> Result<(), Error> {
        let p = &self.publisher;
        if !p.country.is_empty() && setu_core::codes::country(&p.country).is_none() {
            return Err(invalid(
                "publisher.country",
                format!("{:?} is not an ISO 3166-1 alpha-3 code", p.country),
            ));
        }
        if p.key_file.is_empty() {
            return Err(invalid("publisher.key_file", "must not be empty"));
        }
        self.api.validate()?;
        if let Some(name) = &p.key_passphrase_env {
            check_env_name("publisher.key_passphrase_env", name)?;
        }
        let s = &self.store;
        if !(MIN_CACHE_MB..=MAX_CACHE_MB).contains(&s.cache_mb) {
            return Err(invalid(
                "store.cache_mb",
                format!("{} is outside {MIN_CACHE_MB}..={MAX_CACHE_MB}", s.cache_mb),
            ));
        }
        if s.min_free_mb > MAX_MIN_FREE_MB {
            return Err(invalid(
                "store.min_free_mb",
                format!("{} is more than {MAX_MIN_FREE_MB} (1 TiB)", s.min_free_mb),
            ));
        }
        self.network.validate()?;
        self.policy.validate()?;
        if let Err(e) = self.api.listen.parse::<std::net::SocketAddr>() {
            return Err(invalid(
                "api.listen",
                format!(
                    "{:?} is not an address such as 127.0.0.1:7180: {e}",
                    self.api.listen
                ),
            ));
        }
        if s.max_future_skew_secs > MAX_FUTURE_SKEW_SECS {
            return Err(invalid(
                "store.max_future_skew_secs",
                format!("{} is more than a week", s.max_future_skew_secs),
            ));
        }
        Ok(())
    }

    /// The file `setu init` writes: the publisher set, every other key
    /// shown commented out with its default and meaning.
    pub fn template(country: &str, agency: &str) -> String {
        let d = Config::default();
        let q = toml_string;
        format!(
            r#"# Setu node configuration. Keys left commented out take the value shown.

[publisher]
# The agency's country, ISO 3166-1 alpha-3.
country = {country}
# The agency's name, used in citations of its records.
agency = {agency}
# The publisher's Ed25519 key (PKCS#8 PEM, mode 0600), relative to the data directory.
# A key file every user may read (mode o+r, e.g. 0644) is refused; 0600 or 0640.
# key_file = {key}
# If the key file is encrypted (`setu keys generate --encrypt`): the NAME of the
# environment variable that holds its passphrase (never the passphrase itself).
# Unset, or that variable unset, the passphrase is asked for on the terminal.
# key_passphrase_env = "SETU_KEY_PASSPHRASE"

[store]
# sled's page cache in MiB; a 100,000-record import peaks near 180 MiB resident with 16.
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
# name = {net}
# libp2p addresses to listen on for peers: TCP and QUIC (UDP) on the same port.
# listen = [{listen}, {quic}]
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
# Peers to keep: Kademlia looks for more while this node keeps fewer, choosing at most half itself;
# connections its lookups opened beyond them are closed (0: only bootstrap peers).
# target_peers = 6

[api]
# Where `setu run` serves the HTTP API. Writes need the token in the file api-token.
# listen = {api}
# The web catalogue's visitors may ask this node to fetch attachments up to this size (0: only the operator).
# visitor_fetch_bytes = 500000000

[policy]
# Local policy in a chartered network: what THIS node shows, never what it relays or refuses.
# Member ids whose practices this node does not show in queries, facets and exports.
# mute = ["member-id"]
# Keys no member holds whose records this node keeps and shows anyway (never relayed).
# trust = ["<64 hex digits>"]
"#,
            country = q(country),
            agency = q(agency),
            net = q(&d.network.name),
            listen = q(&d.network.listen[0]),
            quic = q(&d.network.listen[1]),
            interval = d.network.sync_interval_secs,
            api = q(&d.api.listen),
            key = q(&d.publisher.key_file),
            cache = d.store.cache_mb,
            skew = d.store.max_future_skew_secs,
            min_free = d.store.min_free_mb,
        )
    }
}

/// `s` as a TOML basic string: quoted, with `"`, `\` and control
/// characters escaped. (Rust's `{:?}` is not TOML: it writes `\u{301}`
/// for a combining accent, which TOML refuses.)
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
