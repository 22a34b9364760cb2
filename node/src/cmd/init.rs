//! `setu init --country ISO3 --agency NAME`

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use setu_core::keys::SecretKey;
use setu_store::replica::Replica;

use crate::cli::InitArgs;
use crate::config::Config;
use crate::datadir::files;
use crate::io;

pub fn run(dir: &Path, args: InitArgs) -> Result<ExitCode> {
    let charter = match &args.charter {
        Some(p) => Some(crate::cmd::charter::read_sealed(p)?),
        None => None,
    };
    let key = match &args.key {
        Some(p) => crate::cmd::keys::load(p)?,
        None => SecretKey::generate(),
    };
    // A founder's country and agency are in the charter.
    let founder = charter.as_ref().and_then(|c| {
        c.charter()
            .members
            .iter()
            .find(|e| e.key == key.author())
            .cloned()
    });
    let (country, agency) = match (&args.country, &args.agency, &founder) {
        (Some(c), Some(a), _) => (c.clone(), a.clone()),
        (None, None, Some(e)) => match &e.affiliation {
            setu_member::charter::Affiliation::Country(c) => (c.clone(), e.agency.clone()),
            setu_member::charter::Affiliation::Org(_) => bail!(
                "--country: founder {:?} is an organisation; give the country its records are cited under",
                e.id
            ),
        },
        _ => bail!(
            "give --country ISO3 and --agency NAME (a founder's --key with --charter takes them from the charter)"
        ),
    };
    let country = country.to_ascii_uppercase();
    if setu_core::codes::country(&country).is_none() {
        bail!(
            "--country: {:?} is not an ISO 3166-1 alpha-3 code (e.g. BGD, RWA, BRA)",
            country
        );
    }
    let agency = agency.trim();
    if agency.is_empty() || agency.len() > 200 || agency.chars().any(char::is_control) {
        bail!("--agency: give the agency's name (1 to 200 characters, no control characters)");
    }
    if dir.join(files::FORMAT).exists() {
        bail!(
            "{} already holds a Setu replica; nothing changed",
            dir.display()
        );
    }
    let cfg = Config::default();
    let key_path = dir.join(&cfg.publisher.key_file);
    let toml_path = dir.join(files::CONFIG);
    // Every file init writes is new: check them all before creating any.
    for path in [&key_path, &dir.join(files::TOKEN), &toml_path] {
        io::check_output(path, &[], false)
            .with_context(|| format!("{} is not an empty data directory", dir.display()))?;
    }
    if charter.is_some() {
        io::check_output(&dir.join(files::CHARTER), &[], false)
            .with_context(|| format!("{} is not an empty data directory", dir.display()))?;
    }
    Replica::create(dir)?;
    match &args.key {
        // The key file as it is (encrypted or not), private to this node.
        Some(p) => io::write_private(
            &key_path,
            &io::read_small(p, io::MAX_KEY_FILE_BYTES, "a key file")?,
            false,
        )?,
        None => io::write_private(&key_path, key.to_pkcs8_pem()?.as_bytes(), false)?,
    }
    let mut template = Config::template(&country, agency);
    if let Some(c) = &charter {
        io::write_output(&dir.join(files::CHARTER), &c.encode()?, &[], false, 0o644)?;
        template = template.replacen(
            "# charter = \"charter.cbor\"",
            &format!("charter = {:?}", files::CHARTER),
            1,
        );
    }
    let token: [u8; 32] = rand::random();
    io::write_private(
        &dir.join(files::TOKEN),
        format!("{}\n", hex::encode(token)).as_bytes(),
        false,
    )?;
    io::write_output(&toml_path, template.as_bytes(), &[], false, 0o644)?;
    // Create the store and the index now, so that the first use is fast and
    // any problem shows here.
    crate::datadir::DataDir::open(dir)?.replica()?;
    if args.json {
        crate::cmd::print_json(&serde_json::json!({
            "data_dir": dir, "author": key.author(), "country": country, "agency": agency,
            "network": charter.as_ref().map(setu::network_name),
            "member": founder.as_ref().map(|e| e.id.clone()),
        }))?;
    } else {
        println!("created {}", dir.display());
        println!("  publisher  {} ({agency}, {country})", key.author());
        println!("  key        {} (mode 0600)", key_path.display());
        println!(
            "  api token  {} (mode 0600)",
            dir.join(files::TOKEN).display()
        );
        println!("  config     {}", toml_path.display());
        if let Some(c) = &charter {
            println!(
                "  network    {} ({}){}",
                setu::network_name(c),
                crate::term::line(&c.charter().name),
                founder
                    .as_ref()
                    .map_or(String::from(", this key is no founder's"), |e| format!(
                        ", founder {}",
                        e.id
                    ))
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
