//! `setu.toml`: the node's configuration, with serde defaults and
//! `validate()`. An unknown or bad key is named in the error.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The configuration file's name inside the data directory.
pub const FILE: &str = "setu.toml";
/// The largest configuration file read.
pub const MAX_FILE_BYTES: u64 = 256 * 1024;

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Who this node publishes as.
    pub publisher: Publisher,
    /// The local replica.
    pub store: StoreConfig,
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
}

impl Default for Publisher {
    fn default() -> Publisher {
        Publisher {
            country: String::new(),
            agency: String::new(),
            key_file: "publisher.pem".into(),
        }
    }
}

/// `[store]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// sled's page cache, in MiB.
    pub cache_mb: u64,
    /// Records dated more than this far in the future are refused, in seconds.
    pub max_future_skew_secs: u64,
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig {
            cache_mb: setu_store::backend::sled::DEFAULT_CACHE_BYTES / (1024 * 1024),
            max_future_skew_secs: setu_store::ingest::DEFAULT_MAX_FUTURE_SKEW_MS / 1000,
        }
    }
}

impl Config {
    /// Reads and validates `DIR/setu.toml`; defaults if it does not exist.
    pub fn load(dir: &Path) -> Result<Config> {
        let path = dir.join(FILE);
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
        if !(8..=65_536).contains(&self.store.cache_mb) {
            bail!(
                "store.cache_mb: {} is outside 8..=65536",
                self.store.cache_mb
            );
        }
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
            ingest: setu_store::ingest::Config {
                max_future_skew_ms: self.store.max_future_skew_secs * 1000,
            },
        }
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
# key_file = {key:?}

[store]
# sled's page cache in MiB; resident memory is about this plus 30-60 MiB.
# cache_mb = {cache}
# Records dated more than this many seconds in the future are refused (and may be accepted later).
# max_future_skew_secs = {skew}
"#,
            key = d.publisher.key_file,
            cache = d.store.cache_mb,
            skew = d.store.max_future_skew_secs,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
