//! `setu keys generate`, `setu keys show`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use setu_core::keys::SecretKey;

use crate::cli::KeysCommand;
use crate::io;

pub fn run(cmd: KeysCommand) -> Result<ExitCode> {
    match cmd {
        KeysCommand::Generate { out, force } => {
            let key = SecretKey::generate();
            let pem = key.to_pkcs8_pem()?;
            io::write_output(&out, pem.as_bytes(), &[], force, 0o600)?;
            println!("{}", key.author());
            eprintln!("wrote {} (PKCS#8 v1 PEM, mode 0600)", out.display());
        }
        KeysCommand::Show { file } => println!("{}", load(&file)?.author()),
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a key file.
pub fn load(path: &Path) -> Result<SecretKey> {
    let bytes = io::read_small(path, io::MAX_KEY_FILE_BYTES, "a key file")?;
    let text = String::from_utf8(bytes)
        .with_context(|| format!("{} is not a PEM text file", path.display()))?;
    SecretKey::from_pkcs8_pem(&text)
        .with_context(|| format!("cannot read the key in {}", path.display()))
}
