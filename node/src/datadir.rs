//! The data directory as the CLI sees it: configuration, publisher key,
//! and the replica.

use std::path::{Path, PathBuf};

use anyhow::Result;
use setu_core::ids::AuthorKey;
use setu_core::keys::SecretKey;
use setu_store::replica::Replica;

use crate::config::Config;

/// The data directory's files, each named once (`spec/store.md` §7).
pub mod files {
    /// The configuration.
    pub const CONFIG: &str = "setu.toml";
    /// The API token (mode 0600): writes need it.
    pub const TOKEN: &str = "api-token";
    /// The running daemon's base URL, written while `setu run` serves.
    pub const API_URL: &str = "api.url";
    /// The sealed charter of a chartered network (`network.charter`).
    pub const CHARTER: &str = "charter.cbor";
    /// The publisher key `setu init` makes (`publisher.key_file`).
    pub const PUBLISHER_KEY: &str = "publisher.pem";
    /// The data format marker. (The node's libp2p identity,
    /// [`setu::NODE_KEY_FILE`], is the library's to name.)
    pub const FORMAT: &str = setu_store::replica::FORMAT_FILE;
}

/// An opened data directory.
pub struct DataDir {
    /// Its path.
    pub path: PathBuf,
    /// Its `setu.toml`.
    pub config: Config,
}

impl DataDir {
    /// Reads the configuration of the data directory at `path`.
    pub fn open(path: &Path) -> Result<DataDir> {
        if !path.join(setu_store::replica::FORMAT_FILE).exists() {
            anyhow::bail!(
                "{} is not a Setu data directory; create one with `setu init --country ISO3 --agency NAME` (or pass --data-dir)",
                path.display()
            );
        }
        let config = crate::config::load(path)?;
        Ok(DataDir {
            path: path.to_path_buf(),
            config,
        })
    }

    /// Opens the replica (store and index), healing the index if needed.
    pub fn replica(&self) -> Result<Replica> {
        if let Some(c) = crate::target::running(&self.path) {
            anyhow::bail!(
                "the node is running (its API is {}) and holds the store; this verb needs it stopped (Ctrl-C or SIGTERM to `setu run`)",
                c.base()
            );
        }
        let settings = crate::config::replica(&self.config);
        let mut replica = Replica::open(&self.path, settings).map_err(|e| {
            in_use(&self.path, &e).unwrap_or_else(|| {
                anyhow::Error::new(e).context(format!(
                    "cannot open the replica in {}",
                    self.path.display()
                ))
            })
        })?;
        // A chartered network's replica accepts by membership, whichever
        // verb writes to it.
        if let Some(c) = self.charter()? {
            replica.set_charter(c)?;
        }
        // Once per store: reports and needs an older version held opaque.
        replica.file_new_kinds(setu_core::clock::now_ms())?;
        Ok(replica)
    }

    /// The network's sealed charter, if `network.charter` names one.
    pub fn charter(&self) -> Result<Option<setu_member::charter::Sealed>> {
        match &self.config.network.charter {
            None => Ok(None),
            Some(f) => crate::cmd::charter::read_sealed(&self.path.join(f)).map(Some),
        }
    }

    /// The publisher's key (its passphrase, if it is encrypted, from the
    /// variable `publisher.key_passphrase_env` names or the terminal).
    pub fn key(&self) -> Result<SecretKey> {
        crate::cmd::keys::load_with(
            &self.path.join(&self.config.publisher.key_file),
            self.config.publisher.key_passphrase_env.as_deref(),
        )
    }

    /// The publisher's author id, if its key can be read without asking
    /// for a passphrase: for verbs that only show whose node this is.
    pub fn author(&self) -> Option<AuthorKey> {
        crate::cmd::keys::load_unattended(
            &self.path.join(&self.config.publisher.key_file),
            self.config.publisher.key_passphrase_env.as_deref(),
        )
        .ok()
        .map(|k| k.author())
    }
}

/// The one-line error for a store another process holds (sled's lock),
/// if that is what `e` is.
pub fn in_use(dir: &Path, e: &dyn std::fmt::Display) -> Option<anyhow::Error> {
    e.to_string().contains("could not acquire lock").then(|| {
        anyhow::anyhow!(
            "{} is in use by another setu process (a running `setu run`?); stop it first (Ctrl-C or SIGTERM), or pass another --data-dir",
            dir.display()
        )
    })
}

pub use setu_core::clock::now_ms;
