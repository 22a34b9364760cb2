//! `setu keys generate`, `setu keys show`, and how every verb reads a key
//! file: [`load`] and [`load_with`].
//!
//! A key file is refused if every user on the machine may read it
//! ([`WORLD_READABLE`]). A group-readable file (0640) is accepted, so that a
//! key owned by root can be read by a daemon account in the key's group
//! without owning it (the layout PostgreSQL accepts for its TLS key).
//!
//! An encrypted key's passphrase comes from the environment variable the
//! caller names (`publisher.key_passphrase_env` in `setu.toml`, or
//! `--passphrase-env`), else from a prompt when standard input is a
//! terminal. It is never echoed, printed or logged, and is wiped from
//! memory once the key is read.

use std::io::{IsTerminal, Read};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use setu_core::keys::{self, SecretKey};
use zeroize::Zeroizing;

use crate::cli::KeysCommand;
use crate::io;

/// The mode bit that makes a key file readable by every user: such files
/// are refused.
pub const WORLD_READABLE: u32 = 0o004;

/// A passphrase, wiped from memory when dropped.
type Passphrase = Zeroizing<Vec<u8>>;

pub fn run(cmd: KeysCommand) -> Result<ExitCode> {
    match cmd {
        KeysCommand::Generate {
            out,
            force,
            encrypt,
            passphrase_env,
        } => {
            if let Some(name) = &passphrase_env {
                crate::config::check_env_name("--passphrase-env", name)?;
            }
            // Everything that can fail before the key exists fails first.
            io::check_output(&out, &[], force)?;
            let passphrase = match encrypt {
                true => Some(new_passphrase(passphrase_env.as_deref())?),
                false => None,
            };
            let key = SecretKey::generate();
            let pem = Zeroizing::new(match &passphrase {
                Some(p) => key.to_encrypted_pkcs8_pem(p)?,
                None => key.to_pkcs8_pem()?,
            });
            // A replaced file keeps its mode: make it private before the
            // key is written into it.
            if force && out.is_file() {
                std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("cannot make {} private", out.display()))?;
            }
            io::write_output(&out, pem.as_bytes(), &[], force, 0o600)?;
            println!("{}", key.author());
            let form = match encrypt {
                true => "encrypted PKCS#8 PEM: PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC",
                false => "PKCS#8 v1 PEM",
            };
            eprintln!("wrote {} ({form}, mode 0600)", out.display());
        }
        KeysCommand::Show {
            file,
            passphrase_env,
        } => {
            if let Some(name) = &passphrase_env {
                crate::config::check_env_name("--passphrase-env", name)?;
            }
            println!("{}", load_with(&file, passphrase_env.as_deref())?.author());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a key file, plain or encrypted; an encrypted one's passphrase is
/// asked for on the terminal.
pub fn load(path: &Path) -> Result<SecretKey> {
    load_with(path, None)
}

/// Reads a key file, plain or encrypted. An encrypted one's passphrase is
/// read from the environment variable `passphrase_env` if it is named and
/// set, else asked for when standard input is a terminal. Refuses a file
/// every user may read.
pub fn load_with(path: &Path, passphrase_env: Option<&str>) -> Result<SecretKey> {
    read_key(path, passphrase_env, true)
}

/// [`load_with`] that never asks on the terminal: for verbs that only
/// show whose node this is, and should not stop to ask for a passphrase.
pub fn load_unattended(path: &Path, passphrase_env: Option<&str>) -> Result<SecretKey> {
    read_key(path, passphrase_env, false)
}

fn read_key(path: &Path, passphrase_env: Option<&str>, ask: bool) -> Result<SecretKey> {
    let context = || format!("cannot read the key in {}", path.display());
    let text = read_private(path).with_context(context)?;
    if !keys::is_encrypted_pem(&text) {
        return SecretKey::from_pkcs8_pem(&text).with_context(context);
    }
    let (passphrase, from) = passphrase_for(path, passphrase_env, ask).with_context(context)?;
    SecretKey::from_pkcs8_pem_with(&text, Some(&passphrase))
        .with_context(|| format!("{} (the passphrase from {from})", context()))
}

/// The text of a key file (or standard input for `-`), checking the open
/// file's mode, so the file checked is the file read.
fn read_private(path: &Path) -> Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::new());
    if path == Path::new("-") {
        bytes = Zeroizing::new(io::read_small(path, io::MAX_KEY_FILE_BYTES, "a key file")?);
    } else {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mode = file
            .metadata()
            .with_context(|| format!("cannot read {}", path.display()))?
            .permissions()
            .mode();
        if mode & WORLD_READABLE != 0 {
            bail!(
                "{file} is readable by every user on this machine (mode {mode:04o}); a key file must not be. \
                 Make it private with `chmod 600 {file}` (0640 is accepted too), and consider the key exposed \
                 if others could log in here",
                file = path.display(),
                mode = mode & 0o7777,
            );
        }
        file.take(io::MAX_KEY_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if bytes.len() as u64 > io::MAX_KEY_FILE_BYTES {
            bail!(
                "{} is larger than {} bytes, the limit for a key file",
                path.display(),
                io::MAX_KEY_FILE_BYTES
            );
        }
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => bail!("{} is not a PEM text file", path.display()),
    }
}

/// The passphrase of the encrypted key file `path`, and where it came from.
fn passphrase_for(path: &Path, env: Option<&str>, ask: bool) -> Result<(Passphrase, String)> {
    if let Some(name) = env
        && let Some(value) = std::env::var_os(name)
    {
        return Ok((Zeroizing::new(value.into_vec()), format!("${name}")));
    }
    if !ask {
        bail!("the key is encrypted and its passphrase is not in the environment");
    }
    if std::io::stdin().is_terminal() {
        let prompt = format!("passphrase for {}: ", path.display());
        return Ok((prompt_passphrase(&prompt)?, "the terminal".into()));
    }
    match env {
        Some(name) => bail!(
            "the key is encrypted, ${name} (publisher.key_passphrase_env) is not set, \
             and standard input is not a terminal to ask for the passphrase on; set {name}"
        ),
        None => bail!(
            "the key is encrypted and standard input is not a terminal to ask for its passphrase on; \
             name the environment variable that holds it (publisher.key_passphrase_env in setu.toml, \
             or --passphrase-env for `setu keys show`)"
        ),
    }
}

/// A new passphrase for `keys generate --encrypt`: from the variable
/// named, or asked for twice on the terminal.
fn new_passphrase(env: Option<&str>) -> Result<Passphrase> {
    let passphrase = match env {
        Some(name) => match std::env::var_os(name) {
            Some(value) => Zeroizing::new(value.into_vec()),
            None => bail!("--passphrase-env: ${name} is not set"),
        },
        None if std::io::stdin().is_terminal() => {
            let first = prompt_passphrase("passphrase for the new key: ")?;
            let again = prompt_passphrase("the same passphrase again: ")?;
            if first != again {
                bail!("the two passphrases differ; nothing was written");
            }
            first
        }
        None => bail!(
            "--encrypt needs a passphrase: run it on a terminal to be asked for one, \
             or pass --passphrase-env VAR with VAR set to it"
        ),
    };
    if passphrase.is_empty() {
        bail!("the passphrase is empty; an empty passphrase does not protect the key");
    }
    Ok(passphrase)
}

/// Asks on the terminal, without echo.
fn prompt_passphrase(prompt: &str) -> Result<Passphrase> {
    rpassword::prompt_password(prompt)
        .map(|p| Zeroizing::new(p.into_bytes()))
        .context("cannot read the passphrase from the terminal")
}
