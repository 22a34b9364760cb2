//! Reading and writing the files the CLI is given, with size limits.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Largest JSON body file read by `record sign`.
pub const MAX_BODY_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Largest record file read by `record verify` and `inspect`: a hex record
/// of the maximum size, with room for whitespace.
pub const MAX_RECORD_FILE_BYTES: u64 = 2 * setu_core::record::MAX_RECORD_BYTES as u64 + 4096;
/// Largest key file.
pub const MAX_KEY_FILE_BYTES: u64 = 16 * 1024;

/// Reads a file (or standard input for `-`), refusing more than `limit` bytes.
/// Returns the bytes and whether the limit was passed (then the bytes are cut).
pub fn read_limited(path: &Path, limit: u64) -> Result<(Vec<u8>, bool)> {
    let mut buf = Vec::new();
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
        )
    };
    reader
        .take(limit + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let over = buf.len() as u64 > limit;
    buf.truncate(limit as usize);
    Ok((buf, over))
}

/// Reads a whole small file, failing clearly when it is too large.
pub fn read_small(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let (bytes, over) = read_limited(path, limit)?;
    if over {
        bail!(
            "{} is larger than {limit} bytes, the limit for {what}",
            path.display()
        );
    }
    Ok(bytes)
}

/// A record file may hold raw bytes, hex text (as in the spec's vectors),
/// base64 text, or a line of a JSONL export (its `signed_record`, base64;
/// hex in exports older than 2026-12). Anything else is taken as raw bytes,
/// for the record check to refuse with its reason.
///
/// Hex is tried first, and is unambiguous: every signed record begins with
/// the byte 0x82, so its base64 begins with `g`, which is not a hex digit.
pub fn record_bytes(raw: Vec<u8>) -> Vec<u8> {
    use base64::Engine;
    if raw.first() == Some(&b'{')
        && let Ok(line) = serde_json::from_slice::<serde_json::Value>(&raw)
        && let Some(signed) = line.get("signed_record").and_then(|s| s.as_str())
    {
        return record_bytes(signed.as_bytes().to_vec());
    }
    let text: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let looks_hex =
        !text.is_empty() && text.len().is_multiple_of(2) && text.iter().all(u8::is_ascii_hexdigit);
    if looks_hex && let Ok(bytes) = hex::decode(&text) {
        return bytes;
    }
    if !looks_hex && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&text) {
        return bytes;
    }
    raw
}

/// May a verb write `out`? Every verb that writes a file asks this first.
///
/// Refused, even with `force`: `out` is one of the verb's `inputs` (the
/// same file by canonical path or by device and inode, so symbolic and hard
/// links count), or lies inside an input that is a directory (the data
/// directory of `export`). Refused without `force`: `out` exists. `-`
/// among the inputs (standard input) is no file and is skipped.
pub fn check_output(out: &Path, inputs: &[&Path], force: bool) -> Result<()> {
    let out_at = resolve(out);
    let out_meta = std::fs::metadata(out).ok();
    for input in inputs.iter().filter(|p| **p != Path::new("-")) {
        let Ok(meta) = std::fs::metadata(input) else {
            continue;
        };
        let same = out_meta
            .as_ref()
            .is_some_and(|o| o.dev() == meta.dev() && o.ino() == meta.ino());
        let input_at = resolve(input);
        if same || out_at == input_at {
            bail!(
                "{} is an input of this command; refusing to overwrite it, even with --force",
                out.display()
            );
        }
        if meta.is_dir() && out_at.starts_with(&input_at) {
            bail!(
                "{} is inside {}, which this command reads; refusing to write there, even with --force",
                out.display(),
                input.display()
            );
        }
    }
    if !force && out.symlink_metadata().is_ok() {
        bail!(
            "{} already exists; pass --force to replace it",
            out.display()
        );
    }
    Ok(())
}

/// `path` made absolute with links resolved, as far as it exists: the
/// nearest existing ancestor is canonicalized and the rest appended.
fn resolve(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut rest = Vec::new();
    let mut at = abs.as_path();
    loop {
        if let Ok(real) = at.canonicalize() {
            return rest.iter().rev().fold(real, |p, part| p.join(part));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return abs,
        }
    }
}

/// Writes `bytes` to `path` after [`check_output`]: a new file, or with
/// `force` a replaced one, with mode `mode` when created.
pub fn write_output(
    path: &Path,
    bytes: &[u8],
    inputs: &[&Path],
    force: bool,
    mode: u32,
) -> Result<()> {
    check_output(path, inputs, force)?;
    write_mode(path, bytes, force, mode)
}

/// Writes `bytes` to a new file with mode 0600 (replacing it only if `force`).
pub fn write_private(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    write_mode(path, bytes, force, 0o600)
}

fn write_mode(path: &Path, bytes: &[u8], force: bool, mode: u32) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).mode(mode);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts.open(path).with_context(|| {
        if path.exists() && !force {
            format!(
                "{} already exists; pass --force to replace it",
                path.display()
            )
        } else {
            format!("cannot create {}", path.display())
        }
    })?;
    f.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::record_bytes;
    use base64::Engine;

    /// Every form a record file may take gives the same bytes; anything
    /// else is passed on raw, for the record check to refuse.
    #[test]
    fn record_files_in_every_form() {
        let signed: Vec<u8> = vec![0x82, 0x59, 0x01, 0x00, 0xff, 0x10, 0x3e, 0x3f];
        let b64 = base64::engine::general_purpose::STANDARD.encode(&signed);
        assert!(
            !b64.bytes().all(|b| b.is_ascii_hexdigit()),
            "{b64}: not hex-like"
        );
        let hex = hex::encode(&signed);
        for form in [
            signed.clone(),
            format!("{hex}\n").into_bytes(),
            format!("{b64}\n").into_bytes(),
            format!(r#"{{"id":"00","signed_record":"{b64}","envelope":{{}}}}"#).into_bytes(),
            format!(r#"{{"signed_record":"{hex}"}}"#).into_bytes(),
        ] {
            assert_eq!(
                record_bytes(form.clone()),
                signed,
                "{}",
                String::from_utf8_lossy(&form)
            );
        }
        let body = br#"{"practice_id": "BGD-A2I-0001"}"#.to_vec();
        assert_eq!(record_bytes(body.clone()), body);
    }
}
