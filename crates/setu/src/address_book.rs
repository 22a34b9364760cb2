//! The address book: peers this node was connected to, kept in the data
//! directory across restarts and dialled at start beside the configured
//! bootstrap list.
//!
//! ```text
//! DATA_DIR/peers   one libp2p address with /p2p/PEER_ID per line
//! ```

use std::path::Path;

use setu_net::Multiaddr;
use setu_net::driver::PeerInfo;

/// The file's name in the data directory.
pub const FILE: &str = "peers";
/// Most addresses kept.
pub const MAX_ADDRESSES: usize = 64;
/// The largest file read.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// Reads the book; a missing, unreadable or oversized file is an empty
/// book (it is only a hint), and bad lines are skipped.
pub fn load(dir: &Path) -> Vec<Multiaddr> {
    let path = dir.join(FILE);
    match std::fs::metadata(&path) {
        Ok(m) if m.len() <= MAX_FILE_BYTES => {}
        _ => return Vec::new(),
    }
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| l.trim().parse::<Multiaddr>().ok())
        .take(MAX_ADDRESSES)
        .collect()
}

/// The addresses worth keeping for these peers: each peer's first address
/// (the one our connection used, else one it listens on), with its id.
pub fn addresses(peers: &[PeerInfo]) -> Vec<Multiaddr> {
    let mut out = Vec::new();
    for p in peers {
        let Ok(id) = p.peer_id.parse::<setu_net::PeerId>() else {
            continue;
        };
        if let Some(a) = p.addresses.iter().find_map(|a| a.parse::<Multiaddr>().ok()) {
            let a = if a
                .iter()
                .any(|x| matches!(x, setu_net::multiaddr::Protocol::P2p(_)))
            {
                a
            } else {
                a.with(setu_net::multiaddr::Protocol::P2p(id))
            };
            out.push(a);
        }
        if out.len() >= MAX_ADDRESSES {
            break;
        }
    }
    out
}

/// Writes the book (temp file, then rename), merging it with what is there:
/// current peers first, then older entries, at most [`MAX_ADDRESSES`].
pub fn save(dir: &Path, current: &[Multiaddr]) -> std::io::Result<()> {
    let mut all: Vec<Multiaddr> = current.to_vec();
    for a in load(dir) {
        if !all.contains(&a) {
            all.push(a);
        }
    }
    all.truncate(MAX_ADDRESSES);
    let text: String = all.iter().map(|a| format!("{a}\n")).collect();
    let tmp = dir.join(format!("{FILE}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, dir.join(FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_addresses_across_saves_and_skips_junk() {
        let d = tempfile::tempdir().expect("tmp");
        assert!(load(d.path()).is_empty());
        let a: Multiaddr = "/ip4/127.0.0.1/tcp/7001".parse().expect("addr");
        let b: Multiaddr = "/ip4/127.0.0.1/tcp/7002".parse().expect("addr");
        save(d.path(), std::slice::from_ref(&a)).expect("save");
        save(d.path(), std::slice::from_ref(&b)).expect("save");
        assert_eq!(load(d.path()), vec![b.clone(), a.clone()]);
        std::fs::write(d.path().join(FILE), "junk\n/ip4/127.0.0.1/tcp/7001\n").expect("write");
        assert_eq!(load(d.path()), vec![a]);
    }
}
