//! `setu init --country ISO3 --agency NAME`

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use setu_core::keys::SecretKey;
use setu_store::replica::Replica;

use crate::cli::InitArgs;
use crate::config::{self, Config};
use crate::io;

/// The API token file (used by the daemon for writes).
pub const TOKEN_FILE: &str = "api-token";

pub fn run(dir: &Path, args: InitArgs) -> Result<ExitCode> {
    let country = args.country.to_ascii_uppercase();
    if setu_core::codes::country(&country).is_none() {
        bail!(
            "--country: {:?} is not an ISO 3166-1 alpha-3 code (e.g. BGD, RWA, BRA)",
            args.country
        );
    }
    let agency = args.agency.trim();
    if agency.is_empty() || agency.len() > 200 || agency.chars().any(char::is_control) {
        bail!("--agency: give the agency's name (1 to 200 characters, no control characters)");
    }
    if dir.join(setu_store::replica::FORMAT_FILE).exists() {
        bail!(
            "{} already holds a Setu replica; nothing changed",
            dir.display()
        );
    }
    let cfg = Config::default();
    let key_path = dir.join(&cfg.publisher.key_file);
    let toml_path = dir.join(config::FILE);
    // Every file init writes is new: check them all before creating any.
    for path in [&key_path, &dir.join(TOKEN_FILE), &toml_path] {
        io::check_output(path, &[], false)
            .with_context(|| format!("{} is not an empty data directory", dir.display()))?;
    }
    Replica::create(dir)?;
    let key = SecretKey::generate();
    io::write_private(&key_path, key.to_pkcs8_pem()?.as_bytes(), false)?;
    let token: [u8; 32] = rand::random();
    io::write_private(
        &dir.join(TOKEN_FILE),
        format!("{}\n", hex::encode(token)).as_bytes(),
        false,
    )?;
    io::write_output(
        &toml_path,
        Config::template(&country, agency).as_bytes(),
        &[],
        false,
        0o644,
    )?;
    // Create the store and the index now, so that the first use is fast and
    // any problem shows here.
    crate::datadir::DataDir::open(dir)?.replica()?;
    if args.json {
        crate::cmd::print_json(&serde_json::json!({
            "data_dir": dir, "author": key.author(), "country": country, "agency": agency,
        }))?;
    } else {
        println!("created {}", dir.display());
        println!("  publisher  {} ({agency}, {country})", key.author());
        println!("  key        {} (mode 0600)", key_path.display());
        println!(
            "  api token  {} (mode 0600)",
            dir.join(TOKEN_FILE).display()
        );
        println!("  config     {}", toml_path.display());
    }
    Ok(ExitCode::SUCCESS)
}
