//! The message format ([`spec/sync.md` §4](../../../spec/sync.md)).
//!
//! ```text
//! message = version (0x01) ‖ entry*
//! entry   = bound ‖ mode (u8) ‖ payload
//! bound   = varint(0) for infinity, or varint(1 + ts − previous ts) ‖ u8 prefix length ‖ prefix
//! ```
//!
//! Entries cover consecutive ranges: each from the previous entry's bound
//! (the first from the lowest bound) up to its own. The last bound is
//! infinity. Varints are unsigned LEB128, at most 10 bytes, shortest form.

use crate::item::{Bound, Id};

/// The protocol version byte.
pub const VERSION: u8 = 1;
/// Bytes in a fingerprint.
pub const FP_BYTES: usize = 16;
/// The largest message accepted or sent.
pub const MAX_MESSAGE_BYTES: usize = 512 * 1024;
/// Most entries in one message.
pub const MAX_ENTRIES: usize = 65_536;

/// What a message says about one range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Nothing to do.
    Skip,
    /// My items in the range: how many, and their fingerprint.
    Fingerprint {
        /// Count.
        count: u64,
        /// Fingerprint.
        fp: [u8; FP_BYTES],
    },
    /// My items in the range, each by the first `len` bytes of its id, in
    /// (ts, id) order.
    List {
        /// Prefix length, 1 to 32.
        len: u8,
        /// The prefixes, concatenated.
        prefixes: Vec<u8>,
    },
    /// An answer to your `List`: which of your items I lack, and a
    /// fingerprint of my items whose prefixes matched yours.
    Answer {
        /// How many items your list had.
        n: u64,
        /// Bit i (LSB first) set: I lack your item i.
        lack: Vec<u8>,
        /// Fingerprint of my matched items.
        confirm: [u8; FP_BYTES],
    },
    /// My items in the range, by full id, in (ts, id) order.
    Ids(Vec<Id>),
    /// An answer to your `Ids`: which of your items I lack.
    IdsAnswer {
        /// How many ids your list had.
        n: u64,
        /// Bit i set: I lack your item i.
        lack: Vec<u8>,
    },
}

impl Mode {
    fn code(&self) -> u8 {
        match self {
            Mode::Skip => 0,
            Mode::Fingerprint { .. } => 1,
            Mode::List { .. } => 2,
            Mode::Answer { .. } => 3,
            Mode::Ids(_) => 4,
            Mode::IdsAnswer { .. } => 5,
        }
    }
}

/// One range of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The range's exclusive upper bound.
    pub upper: Bound,
    /// What is said about it.
    pub mode: Mode,
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Longer than [`MAX_MESSAGE_BYTES`].
    #[error("message of {0} bytes is larger than {MAX_MESSAGE_BYTES}")]
    TooLarge(usize),
    /// Empty, or an unknown version.
    #[error("unknown protocol version {0:?}")]
    Version(Option<u8>),
    /// The message ends inside an entry.
    #[error("truncated at byte {0}")]
    Truncated(usize),
    /// A varint is too long, not shortest, or too large.
    #[error("bad varint at byte {0}")]
    Varint(usize),
    /// Bounds do not strictly increase, or the last is not infinity.
    #[error("ranges out of order at byte {0}")]
    Order(usize),
    /// A field's value is impossible.
    #[error("bad {field} at byte {at}")]
    Field {
        /// Which field.
        field: &'static str,
        /// Where.
        at: usize,
    },
    /// More than [`MAX_ENTRIES`] entries.
    #[error("more than {MAX_ENTRIES} entries")]
    TooManyEntries,
}

/// Appends an unsigned LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u128) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// The number of bytes [`put_varint`] writes.
pub fn varint_len(v: u128) -> usize {
    let bits = 128 - v.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

/// A cursor over a message, shared with [`crate::bulk`] and the network
/// framing of `setu-net`.
#[derive(Debug)]
pub struct Reader<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `b`.
    pub fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, pos: 0 }
    }
    /// The byte offset of the cursor.
    pub fn pos(&self) -> usize {
        self.pos
    }
    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        &self.b[self.pos..]
    }
    /// Reads one byte.
    pub fn byte(&mut self) -> Result<u8, WireError> {
        let x = *self.b.get(self.pos).ok_or(WireError::Truncated(self.pos))?;
        self.pos += 1;
        Ok(x)
    }
    /// Reads `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.b.len() - self.pos {
            return Err(WireError::Truncated(self.pos));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    /// Reads a shortest-form varint (§1).
    pub fn varint(&mut self) -> Result<u128, WireError> {
        let at = self.pos;
        let mut v: u128 = 0;
        for i in 0..10 {
            let b = self.byte()?;
            v |= u128::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(WireError::Varint(at));
                }
                return Ok(v);
            }
        }
        Err(WireError::Varint(at))
    }
    fn count(&mut self, field: &'static str, unit: usize) -> Result<usize, WireError> {
        let at = self.pos;
        let n = self.varint()?;
        // Never believe a count the remaining bytes cannot hold.
        let left = (self.b.len() - self.pos) as u128;
        if n.saturating_mul(unit.max(1) as u128)
            > left.saturating_mul(if unit == 0 { 8 } else { 1 })
        {
            return Err(WireError::Field { field, at });
        }
        Ok(n as usize)
    }
}

fn bitmap_len(n: u64) -> usize {
    (n as usize).div_ceil(8)
}

/// Encodes a message.
pub fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = vec![VERSION];
    let mut prev_ts = 0u64;
    for e in entries {
        encode_bound(&mut out, &e.upper, &mut prev_ts);
        out.push(e.mode.code());
        match &e.mode {
            Mode::Skip => {}
            Mode::Fingerprint { count, fp } => {
                put_varint(&mut out, u128::from(*count));
                out.extend_from_slice(fp);
            }
            Mode::List { len, prefixes } => {
                put_varint(
                    &mut out,
                    (prefixes.len() / usize::from((*len).max(1))) as u128,
                );
                out.push(*len);
                out.extend_from_slice(prefixes);
            }
            Mode::Answer { n, lack, confirm } => {
                put_varint(&mut out, u128::from(*n));
                out.extend_from_slice(lack);
                out.extend_from_slice(confirm);
            }
            Mode::Ids(ids) => {
                put_varint(&mut out, ids.len() as u128);
                for id in ids {
                    out.extend_from_slice(id);
                }
            }
            Mode::IdsAnswer { n, lack } => {
                put_varint(&mut out, u128::from(*n));
                out.extend_from_slice(lack);
            }
        }
    }
    out
}

/// Bytes an entry takes once encoded after a bound with timestamp `prev_ts`.
pub fn entry_len(e: &Entry, prev_ts: u64) -> usize {
    let mut out = Vec::new();
    let mut p = prev_ts;
    encode_bound(&mut out, &e.upper, &mut p);
    out.len()
        + 1
        + match &e.mode {
            Mode::Skip => 0,
            Mode::Fingerprint { count, .. } => varint_len(u128::from(*count)) + FP_BYTES,
            Mode::List { len, prefixes } => {
                varint_len((prefixes.len() / usize::from((*len).max(1))) as u128)
                    + 1
                    + prefixes.len()
            }
            Mode::Answer { n, lack, .. } => varint_len(u128::from(*n)) + lack.len() + FP_BYTES,
            Mode::Ids(ids) => varint_len(ids.len() as u128) + 32 * ids.len(),
            Mode::IdsAnswer { n, lack } => varint_len(u128::from(*n)) + lack.len(),
        }
}

fn encode_bound(out: &mut Vec<u8>, b: &Bound, prev_ts: &mut u64) {
    match b {
        Bound::Infinity => put_varint(out, 0),
        Bound::At { ts, prefix } => {
            put_varint(out, 1 + u128::from(ts.saturating_sub(*prev_ts)));
            *prev_ts = *ts;
            out.push(prefix.len() as u8);
            out.extend_from_slice(prefix);
        }
    }
}

/// Decodes and checks a message.
pub fn decode(bytes: &[u8]) -> Result<Vec<Entry>, WireError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge(bytes.len()));
    }
    match bytes.first() {
        Some(&VERSION) => {}
        other => return Err(WireError::Version(other.copied())),
    }
    let mut r = Reader { b: bytes, pos: 1 };
    let mut entries = Vec::new();
    let mut prev_ts = 0u64;
    let mut prev: Option<Bound> = None;
    while r.pos < bytes.len() {
        if entries.len() >= MAX_ENTRIES {
            return Err(WireError::TooManyEntries);
        }
        let at = r.pos;
        if matches!(prev, Some(Bound::Infinity)) {
            return Err(WireError::Order(at));
        }
        let enc = r.varint()?;
        let upper = if enc == 0 {
            Bound::Infinity
        } else {
            let ts = u128::from(prev_ts) + enc - 1;
            let ts = u64::try_from(ts).map_err(|_| WireError::Field {
                field: "bound ts",
                at,
            })?;
            let len = usize::from(r.byte()?);
            if len > 32 {
                return Err(WireError::Field {
                    field: "prefix length",
                    at,
                });
            }
            let prefix = r.take(len)?.to_vec();
            prev_ts = ts;
            Bound::At { ts, prefix }
        };
        if let Some(p) = &prev
            && p.cmp_bound(&upper) != std::cmp::Ordering::Less
        {
            return Err(WireError::Order(at));
        }
        let mode_at = r.pos;
        let mode = match r.byte()? {
            0 => Mode::Skip,
            1 => {
                let count = u64::try_from(r.varint()?).map_err(|_| WireError::Field {
                    field: "count",
                    at: mode_at,
                })?;
                let mut fp = [0u8; FP_BYTES];
                fp.copy_from_slice(r.take(FP_BYTES)?);
                Mode::Fingerprint { count, fp }
            }
            2 => {
                let n_at = r.pos;
                let n = r.varint()?;
                let len = usize::from(r.byte()?);
                if !(1..=32).contains(&len) {
                    return Err(WireError::Field {
                        field: "prefix length",
                        at: n_at,
                    });
                }
                let total = n
                    .checked_mul(len as u128)
                    .filter(|t| *t <= (bytes.len() - r.pos) as u128);
                let total = total.ok_or(WireError::Field {
                    field: "list count",
                    at: n_at,
                })? as usize;
                Mode::List {
                    len: len as u8,
                    prefixes: r.take(total)?.to_vec(),
                }
            }
            3 | 5 => {
                let code = bytes[mode_at];
                let n_at = r.pos;
                let n = r.varint()?;
                let n = u64::try_from(n).map_err(|_| WireError::Field {
                    field: "count",
                    at: n_at,
                })?;
                let bl = bitmap_len(n);
                if bl > bytes.len() - r.pos {
                    return Err(WireError::Field {
                        field: "bitmap",
                        at: n_at,
                    });
                }
                let lack = r.take(bl)?.to_vec();
                if n % 8 != 0 && lack.last().is_some_and(|b| b >> (n % 8) != 0) {
                    return Err(WireError::Field {
                        field: "bitmap padding",
                        at: n_at,
                    });
                }
                if code == 3 {
                    let mut confirm = [0u8; FP_BYTES];
                    confirm.copy_from_slice(r.take(FP_BYTES)?);
                    Mode::Answer { n, lack, confirm }
                } else {
                    Mode::IdsAnswer { n, lack }
                }
            }
            4 => {
                let n = r.count("id count", 32)?;
                let mut ids = Vec::with_capacity(n);
                for _ in 0..n {
                    let mut id = [0u8; 32];
                    id.copy_from_slice(r.take(32)?);
                    ids.push(id);
                }
                Mode::Ids(ids)
            }
            _ => {
                return Err(WireError::Field {
                    field: "mode",
                    at: mode_at,
                });
            }
        };
        prev = Some(upper.clone());
        entries.push(Entry { upper, mode });
    }
    if !matches!(prev, Some(Bound::Infinity)) {
        return Err(WireError::Order(bytes.len()));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let entries = vec![
            Entry {
                upper: Bound::At {
                    ts: 10,
                    prefix: vec![1, 2],
                },
                mode: Mode::Fingerprint {
                    count: 300,
                    fp: [7; 16],
                },
            },
            Entry {
                upper: Bound::At {
                    ts: 10,
                    prefix: vec![1, 3],
                },
                mode: Mode::List {
                    len: 3,
                    prefixes: vec![1, 2, 3, 4, 5, 6],
                },
            },
            Entry {
                upper: Bound::At {
                    ts: u64::MAX,
                    prefix: vec![],
                },
                mode: Mode::Answer {
                    n: 9,
                    lack: vec![0xff, 0x01],
                    confirm: [1; 16],
                },
            },
            Entry {
                upper: Bound::Infinity,
                mode: Mode::Ids(vec![[3; 32]]),
            },
        ];
        let bytes = encode(&entries);
        assert_eq!(decode(&bytes).unwrap(), entries);
        for (i, e) in entries.iter().enumerate() {
            let prev = match i {
                0 => 0,
                1 | 2 => 10,
                _ => u64::MAX,
            };
            let mut one = vec![VERSION];
            let mut p = prev;
            encode_bound(&mut one, &e.upper, &mut p);
            assert!(entry_len(e, prev) > 1);
        }
    }

    #[test]
    fn refusals() {
        assert_eq!(decode(&[]), Err(WireError::Version(None)));
        assert_eq!(decode(&[2]), Err(WireError::Version(Some(2))));
        assert!(
            matches!(decode(&[1]), Err(WireError::Order(_))),
            "no final infinity"
        );
        // Two infinities.
        assert!(matches!(decode(&[1, 0, 0, 0, 0]), Err(WireError::Order(_))));
        // Absurd list count.
        assert!(matches!(
            decode(&[1, 0, 2, 0xff, 0xff, 0x03, 4]),
            Err(WireError::Field { .. })
        ));
        // Absurd ids count.
        assert!(matches!(
            decode(&[1, 0, 4, 0xff, 0xff, 0xff, 0x0f]),
            Err(WireError::Field { .. })
        ));
        // Non-shortest varint.
        assert!(matches!(
            decode(&[1, 0x80, 0x00, 0]),
            Err(WireError::Varint(_))
        ));
    }
}
