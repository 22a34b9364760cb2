//! Content on disk, by hash, outside sled (`spec/attachments.md` §4).
//!
//! Layout under the content root:
//!
//! ```text
//! blobs/<hex>         complete content, every block verified against <hex>
//! blobs/<hex>.obao    its bao outboard: the tree's parent hash pairs, pre-order
//! partial/<hex>       a fetch under way: only verified blocks are ever written
//! partial/<hex>.obao  the parent pairs verified so far
//! tmp/                files being added, renamed into blobs/ when hashed
//! ```
//!
//! Nothing under `partial/` is ever read as the content: it moves to
//! `blobs/` only when every block has been verified. A fetch resumes from
//! the blocks that verify again when it is reopened, so a crash in the
//! middle of a write loses at most the block being written.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bao_tree::io::outboard::PreOrderOutboard;
use bao_tree::io::sync::{OutboardMut, WriteAt};

use crate::verify::{self, Received};
use crate::{Error, Hash, blocks};

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a node holds of one hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// All of it, verified: its size in bytes.
    Complete(u64),
    /// Some of it: a fetch started and not finished (how far it got is the
    /// fetch's to say; this reads nothing).
    Partial,
    /// Nothing.
    Absent,
}

/// Content added from a local file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    /// The BLAKE3 hash of its bytes.
    pub hash: Hash,
    /// Its size in bytes.
    pub size: u64,
}

/// The content folder of one node. Cheap to clone: it is a path. Reads may
/// happen from any thread; a [`Partial`] is written by one owner.
#[derive(Debug, Clone)]
pub struct Dir {
    root: PathBuf,
}

impl Dir {
    /// Opens (making it if needed) the content folder at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Dir, Error> {
        let root = root.into();
        for sub in ["blobs", "partial", "tmp"] {
            let p = root.join(sub);
            fs::create_dir_all(&p).map_err(io_err(&p))?;
        }
        Ok(Dir { root })
    }

    /// Clears what interrupted adds left in `tmp/`: once, when the node
    /// starts (an add in another process may be under way later).
    pub fn clean_tmp(&self) -> Result<(), Error> {
        let tmp = self.root.join("tmp");
        for entry in fs::read_dir(&tmp).map_err(io_err(&tmp))?.flatten() {
            let _ = fs::remove_file(entry.path());
        }
        Ok(())
    }

    /// The folder this store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_path(&self, hash: &Hash) -> PathBuf {
        self.root.join("blobs").join(hash.to_hex())
    }

    fn partial_path(&self, hash: &Hash) -> PathBuf {
        self.root.join("partial").join(hash.to_hex())
    }

    /// The path of complete content, if it is held; the file holds exactly
    /// the bytes whose hash is `hash`.
    pub fn path(&self, hash: &Hash) -> Option<PathBuf> {
        let p = self.blob_path(hash);
        p.is_file().then_some(p)
    }

    /// What is held of `hash`. Reads no content and opens nothing for
    /// writing, so it is cheap and never disturbs a fetch under way.
    pub fn status(&self, hash: &Hash) -> Status {
        if let Ok(meta) = fs::metadata(self.blob_path(hash)) {
            return Status::Complete(meta.len());
        }
        if self.partial_path(hash).is_file() {
            return Status::Partial;
        }
        Status::Absent
    }

    /// Copies the file at `src` into the store under its hash, computing
    /// the hash and its tree in the same pass; `progress` is told the bytes
    /// read so far. Refuses a file larger than `limit`.
    pub fn add_file(
        &self,
        src: &Path,
        limit: u64,
        mut progress: impl FnMut(u64),
    ) -> Result<Added, Error> {
        let mut input = File::open(src).map_err(io_err(src))?;
        let size = input.metadata().map_err(io_err(src))?.len();
        if size > limit {
            return Err(Error::TooLarge { size, limit });
        }
        if size == 0 {
            return Err(Error::Empty {
                path: src.to_path_buf(),
            });
        }
        let tmp_path = self.root.join("tmp").join(format!(
            "add-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let mut tmp = File::create(&tmp_path).map_err(io_err(&tmp_path))?;
        let mut tree = None;
        let result = (|| {
            let mut tee = Tee {
                from: &mut input,
                to: &mut tmp,
                read: 0,
                progress: &mut progress,
            };
            let built = verify::Tree::build(&mut tee, size).map_err(|e| changed_or_io(src, e))?;
            // Bytes past the size read at the start: the file grew.
            let mut probe = [0u8; 1];
            if tee.read_more(&mut probe).map_err(io_err(src))? != 0 || tee.read != size {
                return Err(Error::Changed {
                    path: src.to_path_buf(),
                });
            }
            tmp.sync_all().map_err(io_err(&tmp_path))?;
            let hash = built.hash();
            tree = Some(built);
            Ok(hash)
        })();
        let hash = match result.and_then(|h| {
            if self.denied()?.contains(&h) {
                Err(Error::Denied { hash: h })
            } else {
                Ok(h)
            }
        }) {
            Ok(h) => h,
            Err(e) => {
                let _ = fs::remove_file(&tmp_path);
                return Err(e);
            }
        };
        let obao = self.blob_path(&hash).with_extension("obao");
        write_synced(&obao, tree.as_ref().map_or(&[][..], |t| t.outboard_bytes()))?;
        let dest = self.blob_path(&hash);
        fs::rename(&tmp_path, &dest).map_err(io_err(&dest))?;
        sync_dir(&self.root.join("blobs"));
        Ok(Added { hash, size })
    }

    /// Encodes `range` (blocks) of `hash` as a response: its parent pairs
    /// and blocks, pre-order (`spec/attachments.md` §3). Served from
    /// complete content, or from a partial fetch that holds every block of
    /// the range; the bytes are checked against the tree as they are read,
    /// so a node never serves rotten bytes.
    pub fn encode(&self, hash: &Hash, size: u64, range: &Range<u64>) -> Result<Vec<u8>, Error> {
        if self.denied()?.contains(hash) {
            return Err(Error::Denied { hash: *hash });
        }
        if !verify::valid_range(range, size) {
            return Err(Error::BadRange {
                start: range.start,
                end: range.end,
                blocks: blocks::count(size),
            });
        }
        let (data_path, obao_path) = if let Some(p) = self.path(hash) {
            let o = p.with_extension("obao");
            (p, o)
        } else {
            let p = self.partial_path(hash);
            if !p.is_file() {
                return Err(Error::NotHeld { hash: *hash });
            }
            let o = p.with_extension("obao");
            (p, o)
        };
        let data = File::open(&data_path).map_err(io_err(&data_path))?;
        let outboard = File::open(&obao_path).map_err(io_err(&obao_path))?;
        verify::encode_checked(hash, size, &data, &outboard, range).map_err(|_| {
            Error::NotHeldRange {
                hash: *hash,
                start: range.start,
                end: range.end,
            }
        })
    }

    /// Opens the fetch of `hash` (`size` bytes), resuming it: the blocks a
    /// previous fetch wrote are checked again, and only those that verify
    /// count as held.
    pub fn partial(&self, hash: &Hash, size: u64) -> Result<Partial, Error> {
        if self.denied()?.contains(hash) {
            return Err(Error::Denied { hash: *hash });
        }
        let data_path = self.partial_path(hash);
        let obao_path = data_path.with_extension("obao");
        let tree = verify::tree(size);
        let data = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&data_path)
            .map_err(io_err(&data_path))?;
        let obao = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&obao_path)
            .map_err(io_err(&obao_path))?;
        obao.set_len(tree.outboard_size())
            .map_err(io_err(&obao_path))?;
        let outboard = PreOrderOutboard {
            root: blake3::Hash::from_bytes(hash.0),
            tree,
            data: obao,
        };
        let len = data.metadata().map_err(io_err(&data_path))?.len();
        // Full length at once (sparse): the check below reads any block,
        // and blocks arrive in any order.
        if len != size {
            data.set_len(size).map_err(io_err(&data_path))?;
        }
        let have = if len > 0 {
            verify::valid_blocks(hash, size, &data, &outboard.data).map_err(io_err(&data_path))?
        } else {
            blocks::Set::new(blocks::count(size))
        };
        Ok(Partial {
            dir: self.clone(),
            hash: *hash,
            size,
            data,
            data_path,
            outboard,
            have,
        })
    }

    /// Removes what is held of `hash`, complete or partial.
    pub fn remove(&self, hash: &Hash) -> Result<(), Error> {
        let blob = self.blob_path(hash);
        let partial = self.partial_path(hash);
        for p in [
            blob.with_extension("obao"),
            blob,
            partial.with_extension("obao"),
            partial,
        ] {
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&p)(e)),
            }
        }
        Ok(())
    }

    fn list_file(&self, name: &str) -> Result<BTreeSet<Hash>, Error> {
        let p = self.root.join(name);
        let text = match fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
            Err(e) => return Err(io_err(&p)(e)),
        };
        // A line that is not a hash (a comment, a typo) is skipped.
        Ok(text
            .lines()
            .filter_map(|l| l.trim().parse::<Hash>().ok())
            .take(MAX_LISTED_HASHES)
            .collect())
    }

    fn write_list(&self, name: &str, set: &BTreeSet<Hash>) -> Result<(), Error> {
        if set.len() > MAX_LISTED_HASHES {
            return Err(Error::TooMany {
                list: name.to_string(),
                max: MAX_LISTED_HASHES,
            });
        }
        let p = self.root.join(name);
        let tmp = self.root.join("tmp").join(name);
        let text: String = set.iter().map(|h| format!("{h}\n")).collect();
        write_synced(&tmp, text.as_bytes())?;
        fs::rename(&tmp, &p).map_err(io_err(&p))
    }

    /// The pinned hashes (`content/pins`, one per line): never collected.
    pub fn pins(&self) -> Result<BTreeSet<Hash>, Error> {
        self.list_file(PINS_FILE)
    }

    /// Pins `hash` (true) or unpins it (false).
    pub fn pin(&self, hash: &Hash, on: bool) -> Result<(), Error> {
        let mut pins = self.pins()?;
        if on {
            pins.insert(*hash);
        } else {
            pins.remove(hash);
        }
        self.write_list(PINS_FILE, &pins)
    }

    /// The hashes this node's operator refuses to store or serve
    /// (`content/deny`, one per line): a takedown that leaves the record.
    pub fn denied(&self) -> Result<BTreeSet<Hash>, Error> {
        self.list_file(DENY_FILE)
    }

    /// Refuses `hash` from now on, and removes what is held of it (true),
    /// or lifts the refusal (false).
    pub fn deny(&self, hash: &Hash, on: bool) -> Result<(), Error> {
        let mut deny = self.denied()?;
        if on {
            deny.insert(*hash);
            self.write_list(DENY_FILE, &deny)?;
            self.remove(hash)
        } else {
            deny.remove(hash);
            self.write_list(DENY_FILE, &deny)
        }
    }

    /// Collects garbage: removes complete and partial content that no
    /// current record references (`referenced`), unless pinned or in
    /// `keep` (a publisher's own attachments); then, while what is held
    /// is over `quota` bytes, removes the largest referenced content that is
    /// neither pinned nor kept (it can be fetched again).
    ///
    /// `referenced` and `keep` were read at `read_at`: content whose file
    /// changed after `read_at - COLLECT_GRACE` may have arrived after them
    /// (a file attached while they were read), so it is left for the next
    /// collection.
    pub fn collect(
        &self,
        referenced: &BTreeSet<Hash>,
        keep: &BTreeSet<Hash>,
        quota: u64,
        read_at: SystemTime,
    ) -> Result<Collected, Error> {
        let pins = self.pins()?;
        let since = read_at.checked_sub(COLLECT_GRACE).unwrap_or(UNIX_EPOCH);
        let fresh = |h: &Hash| {
            [self.root.join("blobs"), self.root.join("partial")]
                .iter()
                .filter_map(|d| fs::metadata(d.join(h.to_hex())).ok())
                .filter_map(|m| m.modified().ok())
                .any(|t| t >= since)
        };
        let safe = |h: &Hash| pins.contains(h) || keep.contains(h) || fresh(h);
        let mut out = Collected::default();
        let mut held: Vec<(Hash, u64)> = Vec::new();
        for (hash, size) in self.list()?.into_iter().chain(self.partials()?) {
            if !referenced.contains(&hash) && !safe(&hash) {
                self.remove(&hash)?;
                out.removed.push(hash);
                out.freed += size;
            } else {
                held.push((hash, size));
            }
        }
        let mut total: u64 = held.iter().map(|(_, s)| s).sum();
        held.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (hash, size) in held {
            if total <= quota {
                break;
            }
            if safe(&hash) {
                continue;
            }
            self.remove(&hash)?;
            out.removed.push(hash);
            out.freed += size;
            total -= size;
        }
        out.held = total;
        Ok(out)
    }

    fn partials(&self) -> Result<Vec<(Hash, u64)>, Error> {
        let dir = self.root.join("partial");
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))?.flatten() {
            let name = entry.file_name();
            let Some(hash) = name.to_str().and_then(|n| n.parse::<Hash>().ok()) else {
                continue;
            };
            // Allocated blocks, not the sparse length.
            let size = entry.metadata().map(|m| blocks_on_disk(&m)).unwrap_or(0);
            out.push((hash, size));
        }
        Ok(out)
    }

    /// Every complete hash held, with its size.
    pub fn list(&self) -> Result<Vec<(Hash, u64)>, Error> {
        let dir = self.root.join("blobs");
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))?.flatten() {
            let name = entry.file_name();
            let Some(hash) = name.to_str().and_then(|n| n.parse::<Hash>().ok()) else {
                continue;
            };
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.push((hash, size));
        }
        out.sort();
        Ok(out)
    }
}

/// What [`Dir::collect`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collected {
    /// The hashes removed.
    pub removed: Vec<Hash>,
    /// Bytes freed.
    pub freed: u64,
    /// Bytes still held.
    pub held: u64,
}

/// The file of pinned hashes, in the content folder.
pub const PINS_FILE: &str = "pins";
/// The file of refused hashes, in the content folder.
pub const DENY_FILE: &str = "deny";
/// Most hashes in the pin or deny list.
pub const MAX_LISTED_HASHES: usize = 100_000;
/// Content whose file changed this long before the references were read,
/// or later, is never collected ([`Dir::collect`]): a margin for clocks and
/// file systems that keep coarse times.
pub const COLLECT_GRACE: Duration = Duration::from_secs(2);

#[cfg(unix)]
fn blocks_on_disk(m: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    m.blocks() * 512
}

#[cfg(not(unix))]
fn blocks_on_disk(m: &fs::Metadata) -> u64 {
    m.len()
}

/// One fetch under way, written by one owner.
#[derive(Debug)]
pub struct Partial {
    dir: Dir,
    hash: Hash,
    size: u64,
    data: File,
    data_path: PathBuf,
    outboard: PreOrderOutboard<File>,
    have: blocks::Set,
}

impl Partial {
    /// The hash being fetched.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The blocks held and verified.
    pub fn have(&self) -> &blocks::Set {
        &self.have
    }

    /// Takes the response to a request for `range`: each parent pair and
    /// block is verified before it is written; a block is written only once
    /// it has verified. Stops at the first fault. I/O errors on the local
    /// disk are errors, not faults of the sender.
    pub fn receive(&mut self, range: &Range<u64>, encoded: &[u8]) -> Result<Received, Error> {
        let (hash, size) = (self.hash, self.size);
        let Partial {
            data,
            outboard,
            have,
            data_path,
            ..
        } = self;
        verify::decode(&hash, size, range, encoded, |item| match item {
            verify::Item::Parent { node, pair } => outboard.save(node, pair),
            verify::Item::Block {
                index,
                offset,
                bytes,
            } => {
                if !have.contains(index) {
                    data.write_all_at(offset, bytes)?;
                    have.insert(index);
                }
                Ok(())
            }
        })
        .map_err(io_err(data_path))
    }

    /// Once every block is held: makes the content complete (synced, then
    /// moved into `blobs/`). Returns false, and changes nothing, while
    /// blocks are missing. Once it returned true the content is in place
    /// and this value only ignores what it is given (every block is held).
    pub fn finish(&mut self) -> Result<bool, Error> {
        if !self.have.is_full() {
            return Ok(false);
        }
        // Denied while it ran: it never becomes content here.
        if self.dir.denied()?.contains(&self.hash) {
            return Err(Error::Denied { hash: self.hash });
        }
        self.data
            .set_len(self.size)
            .map_err(io_err(&self.data_path))?;
        self.data.sync_all().map_err(io_err(&self.data_path))?;
        // Checked whole once more before it can be read as the content:
        // nothing else may have changed the files since the blocks verified.
        let again = verify::valid_blocks(&self.hash, self.size, &self.data, &self.outboard.data)
            .map_err(io_err(&self.data_path))?;
        if !again.is_full() {
            self.have = again;
            return Ok(false);
        }
        let obao_path = self.data_path.with_extension("obao");
        self.outboard.data.sync_all().map_err(io_err(&obao_path))?;
        let dest = self.dir.blob_path(&self.hash);
        fs::rename(&obao_path, dest.with_extension("obao")).map_err(io_err(&obao_path))?;
        fs::rename(&self.data_path, &dest).map_err(io_err(&dest))?;
        sync_dir(&self.dir.root.join("blobs"));
        Ok(true)
    }
}

struct Tee<'a, F: FnMut(u64)> {
    from: &'a mut File,
    to: &'a mut File,
    read: u64,
    progress: &'a mut F,
}

impl<F: FnMut(u64)> Tee<'_, F> {
    fn read_more(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.from.read(buf)
    }
}

impl<F: FnMut(u64)> Read for Tee<'_, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.from.read(buf)?;
        self.to.write_all(&buf[..n])?;
        self.read += n as u64;
        (self.progress)(self.read);
        Ok(n)
    }
}

fn changed_or_io(path: &Path, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        Error::Changed {
            path: path.to_path_buf(),
        }
    } else {
        Error::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut f = File::create(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

fn sync_dir(path: &Path) {
    if let Ok(d) = File::open(path) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 253) as u8).collect()
    }

    #[test]
    fn a_cut_fetch_resumes_from_what_verified_and_never_keeps_a_bad_block() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("video.webm");
        let bytes = content(10 * blocks::BLOCK_BYTES as usize + 123);
        fs::write(&file, &bytes).expect("write");
        let a = Dir::open(dir.path().join("a")).expect("open");
        let added = a.add_file(&file, 1 << 20, |_| {}).expect("add");
        assert_eq!(added.hash.0, *blake3::hash(&bytes).as_bytes());
        assert!(matches!(
            a.add_file(&file, 1000, |_| {}),
            Err(Error::TooLarge { limit: 1000, .. })
        ));

        let b = Dir::open(dir.path().join("b")).expect("open");
        let mut p = b.partial(&added.hash, added.size).expect("partial");
        let got = p
            .receive(
                &(0..4),
                &a.encode(&added.hash, added.size, &(0..4)).expect("encode"),
            )
            .expect("receive");
        assert_eq!((got.verified, got.fault), (vec![0, 1, 2, 3], None));
        // A corrupt response: block 5 is flipped, so 4 is kept and 5.. are not.
        let mut bad = a.encode(&added.hash, added.size, &(4..8)).expect("encode");
        let at = bad.len() - 3 * blocks::BLOCK_BYTES as usize - 10;
        bad[at] ^= 1;
        let got = p.receive(&(4..8), &bad).expect("receive");
        assert_eq!(got.verified, vec![4]);
        assert!(
            matches!(got.fault, Some(verify::Fault::Corrupt { block: 5 })),
            "{got:?}"
        );
        drop(p);

        // A restart: the blocks that verify again are held, nothing else.
        let p = b.partial(&added.hash, added.size).expect("reopen");
        assert_eq!(p.have().ranges(), vec![0..5]);
        drop(p);
        // A block damaged on disk no longer counts.
        let part = dir.path().join("b/partial").join(added.hash.to_hex());
        let mut on_disk = fs::read(&part).expect("read");
        on_disk[2 * blocks::BLOCK_BYTES as usize + 7] ^= 1;
        fs::write(&part, &on_disk).expect("write");
        let mut p = b.partial(&added.hash, added.size).expect("reopen");
        assert_eq!(p.have().ranges(), vec![0..2, 3..5]);
        assert!(
            b.path(&added.hash).is_none(),
            "partial content is never readable as the file"
        );
        for r in [2..3, 5..11] {
            let enc = a.encode(&added.hash, added.size, &r).expect("encode");
            assert_eq!(p.receive(&r, &enc).expect("receive").fault, None);
        }
        assert!(p.finish().expect("finish"));
        let path = b.path(&added.hash).expect("complete");
        assert_eq!(fs::read(path).expect("read"), bytes);
        // And it serves others in turn.
        assert!(b.encode(&added.hash, added.size, &(9..11)).is_ok());
        assert!(matches!(
            b.encode(&added.hash, added.size, &(9..12)),
            Err(Error::BadRange { .. })
        ));
    }

    #[test]
    fn content_denied_while_its_fetch_ran_never_lands() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("f.pdf");
        let bytes = content(3 * blocks::BLOCK_BYTES as usize + 5);
        fs::write(&file, &bytes).expect("write");
        let a = Dir::open(dir.path().join("a")).expect("open");
        let added = a.add_file(&file, 1 << 20, |_| {}).expect("add");
        let b = Dir::open(dir.path().join("b")).expect("open");
        let mut p = b.partial(&added.hash, added.size).expect("partial");
        let all = 0..4;
        let enc = a.encode(&added.hash, added.size, &all).expect("encode");
        assert_eq!(p.receive(&all, &enc).expect("receive").fault, None);
        b.deny(&added.hash, true).expect("deny");
        assert!(matches!(p.finish(), Err(Error::Denied { .. })));
        assert!(b.path(&added.hash).is_none(), "denied content never lands");
    }

    #[test]
    fn collection_keeps_pins_and_own_content_and_respects_the_quota() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = Dir::open(dir.path().join("c")).expect("open");
        let mut hashes = Vec::new();
        for (i, n) in [30_000usize, 50_000, 70_000, 90_000].iter().enumerate() {
            let f = dir.path().join(format!("f{i}"));
            fs::write(&f, content(*n + i)).expect("write");
            hashes.push(d.add_file(&f, 1 << 20, |_| {}).expect("add").hash);
        }
        let [a, b, c, e] = [hashes[0], hashes[1], hashes[2], hashes[3]];
        d.pin(&a, true).expect("pin");
        // a: pinned, unreferenced; b: unreferenced; c, e: referenced; c kept.
        let referenced: BTreeSet<Hash> = [c, e].into();
        let keep: BTreeSet<Hash> = [c].into();
        // Read after every file was added.
        let read = SystemTime::now() + 2 * COLLECT_GRACE;
        let got = d
            .collect(&referenced, &keep, 1 << 30, read)
            .expect("collect");
        assert_eq!(
            got.removed,
            vec![b],
            "only unreferenced, unpinned content goes"
        );
        // Over a small quota the largest referenced, unkept content goes next.
        let got = d
            .collect(&referenced, &keep, 100_000, read)
            .expect("collect");
        assert_eq!(got.removed, vec![e]);
        let left: Vec<Hash> = d
            .list()
            .expect("list")
            .into_iter()
            .map(|(h, _)| h)
            .collect();
        let mut want = vec![a, c];
        want.sort();
        assert_eq!(
            left, want,
            "pinned and kept content stays, whatever the quota"
        );
        d.pin(&a, false).expect("unpin");
        assert!(d.pins().expect("pins").is_empty());

        // Content added while the references were read (after `read_at`)
        // is left for the next collection, referenced or not.
        let read = SystemTime::now();
        let f = dir.path().join("late");
        fs::write(&f, content(12_345)).expect("write");
        let late = d.add_file(&f, 1 << 20, |_| {}).expect("add").hash;
        let got = d.collect(&referenced, &keep, 0, read).expect("collect");
        assert!(!got.removed.contains(&late), "{got:?}");
        assert!(d.path(&late).is_some());
        let later = SystemTime::now() + 2 * COLLECT_GRACE;
        let got = d
            .collect(&referenced, &keep, 1 << 30, later)
            .expect("collect");
        assert!(got.removed.contains(&late), "judged on the next round");

        // Denied: removed, not served, not added, not fetched.
        d.deny(&c, true).expect("deny");
        assert!(d.path(&c).is_none());
        assert!(matches!(
            d.encode(&c, 70_002, &(0..1)),
            Err(Error::Denied { .. })
        ));
        assert!(matches!(d.partial(&c, 70_002), Err(Error::Denied { .. })));
        assert!(matches!(
            d.add_file(&dir.path().join("f2"), 1 << 20, |_| {}),
            Err(Error::Denied { .. })
        ));
        d.deny(&c, false).expect("lift");
        assert!(d.add_file(&dir.path().join("f2"), 1 << 20, |_| {}).is_ok());
    }
}
