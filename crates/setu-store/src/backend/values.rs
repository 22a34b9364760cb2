//! The value log: large values (the records' bytes) kept in append-only
//! files beside sled, with only a short reference to each in sled's tree.
//!
//! sled writes a value again every time it rewrites the page that holds it,
//! so records kept in the tree cost ingest time and disk space many times
//! over (`setu-bench layout`, BENCHMARKS.md §1a). Here each is written once.
//!
//! Files are `values/NNNNNNNN.log` (eight decimal digits), values
//! concatenated with no header or framing. A batch that would take a file
//! past [`MAX_FILE_BYTES`] goes whole to the next file (one larger than
//! that has a file of its own), so a value never spans two files. A [`Ref`] names the
//! file, the offset and the length of a value, and its CRC-32, which every
//! read checks. An append is written and `fsync`ed before the caller writes
//! the sled batch that refers to it, so a reference never names bytes that
//! are not on disk; a crash in between leaves bytes no reference names,
//! which are never read. Nothing is ever rewritten or reclaimed in place
//! (`spec/store.md` §7).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::Error;

/// Largest size of one value-log file: the next value opens a new file.
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// Largest value the log takes or reads back.
pub const MAX_VALUE_BYTES: usize = 4 << 20;
/// Most value-log files held open for reading at once.
pub const MAX_OPEN_FILES: usize = 64;
/// Length of a [`Ref`] as stored: file (u32), offset (u64), length (u32)
/// and CRC-32 (u32), each big-endian.
pub const REF_LEN: usize = 20;
/// The folder, inside the database's folder.
pub const DIR: &str = "values";

/// Where one value is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ref {
    /// The file's number.
    pub file: u32,
    /// Where the value starts in it.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u32,
    /// CRC-32 (IEEE) of its bytes.
    pub crc: u32,
}

impl Ref {
    /// The stored form, [`REF_LEN`] bytes.
    pub fn to_bytes(self) -> [u8; REF_LEN] {
        let mut out = [0u8; REF_LEN];
        out[..4].copy_from_slice(&self.file.to_be_bytes());
        out[4..12].copy_from_slice(&self.offset.to_be_bytes());
        out[12..16].copy_from_slice(&self.len.to_be_bytes());
        out[16..].copy_from_slice(&self.crc.to_be_bytes());
        out
    }

    /// Reads the stored form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Ref, Error> {
        let b: &[u8; REF_LEN] = bytes.try_into().map_err(|_| {
            Error::Corrupt(format!(
                "a value-log reference of {} bytes, not {REF_LEN}",
                bytes.len()
            ))
        })?;
        let u32_at = |at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let mut offset = [0u8; 8];
        offset.copy_from_slice(&b[4..12]);
        Ok(Ref {
            file: u32_at(0),
            offset: u64::from_be_bytes(offset),
            len: u32_at(12),
            crc: u32_at(16),
        })
    }
}

/// The file values are appended to, and where its end is.
#[derive(Debug)]
struct Tail {
    number: u32,
    file: File,
    /// Bytes of the file that appends have made durable; a failed append
    /// leaves its bytes past this, to be overwritten by the next.
    len: u64,
}

/// The value log of one database.
#[derive(Debug)]
pub struct ValueLog {
    dir: PathBuf,
    /// [`MAX_FILE_BYTES`], but in tests.
    max_file_bytes: u64,
    tail: Mutex<Tail>,
    readers: Mutex<HashMap<u32, Arc<File>>>,
}

fn name(number: u32) -> String {
    format!("{number:08}.log")
}

/// Makes the entries of folder `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("sync", dir, e))
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    let why = format!("value log: cannot {what} {}: {e}", path.display());
    if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28) {
        Error::NoSpace(why)
    } else {
        Error::Backend(why)
    }
}

impl ValueLog {
    /// Opens the log in `db_dir`/[`DIR`], creating it if missing; appends
    /// go to the file with the highest number.
    pub fn open(db_dir: &Path) -> Result<ValueLog, Error> {
        Self::open_with(db_dir, MAX_FILE_BYTES)
    }

    /// [`ValueLog::open`] with files closed at `max_file_bytes`.
    pub(crate) fn open_with(db_dir: &Path, max_file_bytes: u64) -> Result<ValueLog, Error> {
        let dir = db_dir.join(DIR);
        if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
            sync_dir(db_dir)?;
        }
        let mut highest = None;
        for entry in std::fs::read_dir(&dir).map_err(|e| io("list", &dir, e))? {
            let entry = entry.map_err(|e| io("list", &dir, e))?;
            let file_name = entry.file_name();
            let number = file_name
                .to_str()
                .and_then(|n| n.strip_suffix(".log"))
                .filter(|n| n.len() == 8)
                .and_then(|n| n.parse::<u32>().ok());
            if let Some(n) = number {
                highest = highest.max(Some(n));
            }
        }
        let tail = Self::open_tail(&dir, highest.unwrap_or(0))?;
        Ok(ValueLog {
            dir,
            max_file_bytes,
            tail: Mutex::new(tail),
            readers: Mutex::new(HashMap::new()),
        })
    }

    fn open_tail(dir: &Path, number: u32) -> Result<Tail, Error> {
        let path = dir.join(name(number));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io("open", &path, e))?;
        // The file's name must survive a crash as well as its bytes: the
        // folder is synced each time, as a sync that failed after the file
        // was made would otherwise never be made again.
        sync_dir(dir)?;
        let len = file.metadata().map_err(|e| io("read", &path, e))?.len();
        Ok(Tail { number, file, len })
    }

    /// Appends `values` and makes them durable; gives back where each is.
    /// On an error nothing any reference names has changed.
    pub fn append(&self, values: &[Vec<u8>]) -> Result<Vec<Ref>, Error> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let total: u64 = values.iter().map(|v| v.len() as u64).sum();
        if let Some(v) = values.iter().find(|v| v.len() > MAX_VALUE_BYTES) {
            return Err(Error::Backend(format!(
                "value log: a value of {} bytes, above the {MAX_VALUE_BYTES} it takes",
                v.len()
            )));
        }
        let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        if tail.len > 0 && tail.len + total > self.max_file_bytes {
            let next = tail
                .number
                .checked_add(1)
                .ok_or_else(|| Error::Backend("value log: no file number left".into()))?;
            *tail = Self::open_tail(&self.dir, next)?;
        }
        let mut refs = Vec::with_capacity(values.len());
        let mut buf = Vec::with_capacity(total as usize);
        let mut at = tail.len;
        for v in values {
            refs.push(Ref {
                file: tail.number,
                offset: at,
                len: v.len() as u32,
                crc: crc32fast::hash(v),
            });
            at += v.len() as u64;
            buf.extend_from_slice(v);
        }
        let path = self.dir.join(name(tail.number));
        tail.file
            .write_all_at(&buf, tail.len)
            .map_err(|e| io("write", &path, e))?;
        tail.file.sync_data().map_err(|e| io("sync", &path, e))?;
        tail.len = at;
        Ok(refs)
    }

    /// The value `r` names, checked against its CRC.
    pub fn read(&self, r: Ref) -> Result<Vec<u8>, Error> {
        let path = self.dir.join(name(r.file));
        if r.len as usize > MAX_VALUE_BYTES {
            return Err(Error::Corrupt(format!(
                "a value-log reference of {} bytes into {}",
                r.len,
                path.display()
            )));
        }
        let file = self.reader(r.file, &path)?;
        let mut buf = vec![0u8; r.len as usize];
        file.read_exact_at(&mut buf, r.offset).map_err(|e| {
            Error::Corrupt(format!(
                "{}: cannot read {} bytes at {}: {e}",
                path.display(),
                r.len,
                r.offset
            ))
        })?;
        if crc32fast::hash(&buf) != r.crc {
            return Err(Error::Corrupt(format!(
                "{}: the {} bytes at {} fail their checksum",
                path.display(),
                r.len,
                r.offset
            )));
        }
        Ok(buf)
    }

    fn reader(&self, number: u32, path: &Path) -> Result<Arc<File>, Error> {
        let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = readers.get(&number) {
            return Ok(f.clone());
        }
        let file = File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Corrupt(format!(
                "{} is missing; it holds stored records: was the database folder copied without its {DIR}/ folder?",
                path.display()
            )),
            _ => io("open", path, e),
        })?;
        if readers.len() >= MAX_OPEN_FILES {
            readers.clear();
        }
        let file = Arc::new(file);
        readers.insert(number, file.clone());
        Ok(file)
    }

    /// Bytes of every file of the log.
    pub fn size_on_disk(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_across_files_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let log = ValueLog::open(dir.path()).unwrap();
        let a = log.append(&[b"first".to_vec(), vec![7u8; 1000]]).unwrap();
        assert_eq!(a[0].offset, 0);
        assert_eq!(a[1].offset, 5);
        assert_eq!(log.read(a[1]).unwrap(), vec![7u8; 1000]);
        drop(log);
        let log = ValueLog::open(dir.path()).unwrap();
        let b = log.append(&[b"second".to_vec()]).unwrap();
        assert_eq!(b[0].offset, 1005, "appends after the reopened end");
        assert_eq!(log.read(a[0]).unwrap(), b"first");
        assert_eq!(log.read(b[0]).unwrap(), b"second");
        assert_eq!(Ref::from_bytes(&b[0].to_bytes()).unwrap(), b[0]);
    }

    /// A batch that would pass the file limit opens the next file; values
    /// of both files read back, and a reopened log appends to the last.
    #[test]
    fn a_full_file_rolls_over_to_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let log = ValueLog::open_with(dir.path(), 100).unwrap();
        let a = log.append(&[vec![1u8; 60]]).unwrap()[0];
        let b = log.append(&[vec![2u8; 30], vec![3u8; 30]]).unwrap();
        assert_eq!(
            (a.file, b[0].file, b[1].file),
            (0, 1, 1),
            "the batch moved whole"
        );
        assert_eq!((b[0].offset, b[1].offset), (0, 30));
        // One batch above the limit still goes in, alone in its file.
        let big = log.append(&[vec![4u8; 150]]).unwrap()[0];
        assert_eq!((big.file, big.offset), (2, 0));
        drop(log);
        let log = ValueLog::open_with(dir.path(), 100).unwrap();
        let c = log.append(&[vec![5u8; 10]]).unwrap()[0];
        assert_eq!(c.file, 3, "file 2 is past the limit");
        for (r, byte) in [(a, 1u8), (b[0], 2), (b[1], 3), (big, 4), (c, 5)] {
            assert_eq!(log.read(r).unwrap(), vec![byte; r.len as usize]);
        }
        assert_eq!(log.size_on_disk(), 60 + 60 + 150 + 10);
    }

    #[test]
    fn a_damaged_or_missing_value_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let log = ValueLog::open(dir.path()).unwrap();
        let r = log.append(&[b"practice".to_vec()]).unwrap()[0];
        let path = dir.path().join(DIR).join(name(0));
        std::fs::write(&path, b"pructice").unwrap();
        let e = ValueLog::open(dir.path()).unwrap().read(r).unwrap_err();
        assert!(e.to_string().contains("fail their checksum"), "{e}");
        let past = Ref { offset: 100, ..r };
        let e = log.read(past).unwrap_err();
        assert!(e.to_string().contains("cannot read 8 bytes at 100"), "{e}");
        let elsewhere = Ref { file: 3, ..r };
        let e = log.read(elsewhere).unwrap_err();
        assert!(e.to_string().contains("00000003.log is missing"), "{e}");
        assert!(Ref::from_bytes(&[0; 19]).is_err());
    }
}
