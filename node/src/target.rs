//! Where a verb runs: through the running daemon, or on the store opened
//! here. sled admits one process, so while `setu run` holds the store
//! every other verb goes through its HTTP API; when no daemon answers, the
//! verb opens the data directory itself. The choice is made here, once per
//! verb, by [`Target::of`].

use std::path::Path;

use anyhow::Result;

use crate::client::Client;
use crate::datadir::DataDir;

/// Where a verb runs.
pub enum Target {
    /// A daemon serves this data directory: ask it.
    Daemon(Client),
    /// No daemon answers: open the data directory here.
    Local(Box<DataDir>),
}

impl Target {
    /// The daemon serving `dir` if one answers (its `api.url`), else the
    /// data directory itself (an error if `dir` is not one).
    pub fn of(dir: &Path) -> Result<Target> {
        Ok(match running(dir) {
            Some(c) => Target::Daemon(c),
            None => Target::Local(Box::new(DataDir::open(dir)?)),
        })
    }
}

/// The daemon serving `dir`, if one answers: for verbs that need it (peers)
/// or need it stopped (reindex).
pub fn running(dir: &Path) -> Option<Client> {
    Client::discover(dir)
}
