//! The frames of the attachment protocol `/setu/N/blob/1`
//! (`spec/net.md` §7.4): one request and one response per stream, as every
//! Setu frame (`spec/net.md` §4.1).
//!
//! ```text
//! request    = have-req | blocks-req
//! have-req   = 0x40 ‖ hash                          hash: 32 bytes
//! blocks-req = 0x41 ‖ hash ‖ varint(start) ‖ varint(end)
//!
//! response   = have | blocks | refused
//! have       = 0x42 ‖ varint(size) ‖ varint(n) ‖ n × ( varint(start) ‖ varint(len) )
//! blocks     = 0x43 ‖ encoded                       spec/attachments.md §3
//! refused    = 0x4f ‖ varint(code) ‖ reason         reason: UTF-8, ≤ 256 bytes
//! ```

use std::ops::Range;

use setu_sync::wire::{Reader, put_varint};

use crate::verify::{MAX_REQUEST_BLOCKS, MAX_RESPONSE_BYTES};
use crate::{Hash, blocks};

/// Tag of a have request.
pub const HAVE_REQ: u8 = 0x40;
/// Tag of a blocks request.
pub const BLOCKS_REQ: u8 = 0x41;
/// Tag of a have response.
pub const HAVE: u8 = 0x42;
/// Tag of a blocks response.
pub const BLOCKS: u8 = 0x43;
/// Tag of a refusal.
pub const REFUSED: u8 = 0x4f;
/// Most ranges in a have response: a node with more sends the first 1 024.
pub const MAX_HAVE_RANGES: usize = 1024;
/// Most bytes of a refusal's reason.
pub const MAX_REASON_BYTES: usize = 256;
/// The largest size a have response may state: 2^40 bytes, the record
/// format's limit (`spec/record.md` §6d).
pub const MAX_SIZE: u64 = 1 << 40;
/// The largest frame of this protocol: a blocks response.
pub const MAX_FRAME_BYTES: usize = 1 + MAX_RESPONSE_BYTES;

/// A request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Which blocks of `hash` do you hold?
    Have(Hash),
    /// Send blocks `range` of `hash`, with their proof.
    Blocks {
        /// The content.
        hash: Hash,
        /// The blocks, at most [`MAX_REQUEST_BLOCKS`].
        range: Range<u64>,
    },
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The node does not hold (all of) what was asked for.
    NotHeld,
    /// The node is over its rate for the asker; ask later.
    Busy,
    /// The node refuses to serve this content (its operator's deny-list).
    Denied,
    /// The request was malformed.
    Malformed,
    /// A code this version does not know.
    Other(u64),
}

impl Code {
    /// The code's number on the wire.
    pub fn number(self) -> u64 {
        match self {
            Code::NotHeld => 1,
            Code::Busy => 2,
            Code::Denied => 3,
            Code::Malformed => 4,
            Code::Other(n) => n,
        }
    }

    fn from_number(n: u64) -> Code {
        match n {
            1 => Code::NotHeld,
            2 => Code::Busy,
            3 => Code::Denied,
            4 => Code::Malformed,
            n => Code::Other(n),
        }
    }
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The blocks held: `size` is the content's size (0 with no ranges when
    /// nothing is held).
    Have {
        /// Bytes of the content.
        size: u64,
        /// Held blocks: sorted, disjoint, not adjacent, within the content.
        ranges: Vec<Range<u64>>,
    },
    /// The encoded blocks (`spec/attachments.md` §3), checked by the
    /// receiver against the hash it asked for.
    Blocks(Vec<u8>),
    /// A refusal.
    Refused {
        /// Why.
        code: Code,
        /// Words for the operator.
        reason: String,
    },
}

/// A malformed frame: the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("blob frame: {field}: {reason}")]
pub struct FrameError {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong.
    pub reason: &'static str,
}

fn bad(field: &'static str, reason: &'static str) -> FrameError {
    FrameError { field, reason }
}

fn u64_varint(r: &mut Reader<'_>, field: &'static str) -> Result<u64, FrameError> {
    let v = r
        .varint()
        .map_err(|_| bad(field, "not a shortest-form varint"))?;
    u64::try_from(v).map_err(|_| bad(field, "above 2^64 - 1"))
}

fn hash(r: &mut Reader<'_>) -> Result<Hash, FrameError> {
    let b = r.take(32).map_err(|_| bad("hash", "fewer than 32 bytes"))?;
    let mut h = [0u8; 32];
    h.copy_from_slice(b);
    Ok(Hash(h))
}

impl Request {
    /// The frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48);
        match self {
            Request::Have(h) => {
                out.push(HAVE_REQ);
                out.extend_from_slice(&h.0);
            }
            Request::Blocks { hash, range } => {
                out.push(BLOCKS_REQ);
                out.extend_from_slice(&hash.0);
                put_varint(&mut out, u128::from(range.start));
                put_varint(&mut out, u128::from(range.end));
            }
        }
        out
    }

    /// Reads a frame; every rule of `spec/net.md` §7.4 is checked that can
    /// be without knowing the content.
    pub fn decode(b: &[u8]) -> Result<Request, FrameError> {
        let mut r = Reader::new(b);
        let tag = r.byte().map_err(|_| bad("tag", "empty frame"))?;
        let req = match tag {
            HAVE_REQ => Request::Have(hash(&mut r)?),
            BLOCKS_REQ => {
                let hash = hash(&mut r)?;
                let start = u64_varint(&mut r, "start")?;
                let end = u64_varint(&mut r, "end")?;
                if end <= start || end - start > MAX_REQUEST_BLOCKS {
                    return Err(bad("end", "not 1 to 64 blocks after start"));
                }
                Request::Blocks {
                    hash,
                    range: start..end,
                }
            }
            _ => return Err(bad("tag", "not a request of /setu/N/blob/1")),
        };
        if !r.rest().is_empty() {
            return Err(bad("frame", "bytes after the last field"));
        }
        Ok(req)
    }
}

impl Response {
    /// The frame's bytes. A have response is cut to [`MAX_HAVE_RANGES`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Response::Have { size, ranges } => {
                out.push(HAVE);
                put_varint(&mut out, u128::from(*size));
                let n = ranges.len().min(MAX_HAVE_RANGES);
                put_varint(&mut out, n as u128);
                for r in &ranges[..n] {
                    put_varint(&mut out, u128::from(r.start));
                    put_varint(&mut out, u128::from(r.end - r.start));
                }
            }
            Response::Blocks(bytes) => {
                out.reserve(1 + bytes.len());
                out.push(BLOCKS);
                out.extend_from_slice(bytes);
            }
            Response::Refused { code, reason } => {
                out.push(REFUSED);
                put_varint(&mut out, u128::from(code.number()));
                let mut end = reason.len().min(MAX_REASON_BYTES);
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                out.extend_from_slice(&reason.as_bytes()[..end]);
            }
        }
        out
    }

    /// Reads a frame.
    pub fn decode(b: &[u8]) -> Result<Response, FrameError> {
        if b.len() > MAX_FRAME_BYTES {
            return Err(bad("frame", "longer than MAX_FRAME_BYTES"));
        }
        let mut r = Reader::new(b);
        let tag = r.byte().map_err(|_| bad("tag", "empty frame"))?;
        match tag {
            HAVE => {
                let size = u64_varint(&mut r, "size")?;
                if size > MAX_SIZE {
                    return Err(bad("size", "above 2^40"));
                }
                let n = u64_varint(&mut r, "n")?;
                if n > MAX_HAVE_RANGES as u64 {
                    return Err(bad("n", "more than 1024 ranges"));
                }
                if size == 0 && n > 0 {
                    return Err(bad("n", "ranges with size 0"));
                }
                let count = blocks::count(size);
                let mut ranges = Vec::with_capacity(n as usize);
                let mut prev_end: Option<u64> = None;
                for _ in 0..n {
                    let start = u64_varint(&mut r, "start")?;
                    let len = u64_varint(&mut r, "len")?;
                    let end = start
                        .checked_add(len)
                        .ok_or(bad("len", "past the end of the content"))?;
                    if len == 0 || end > count {
                        return Err(bad("len", "empty, or past the end of the content"));
                    }
                    if prev_end.is_some_and(|p| start <= p) {
                        return Err(bad("start", "not after the previous range with a gap"));
                    }
                    prev_end = Some(end);
                    ranges.push(start..end);
                }
                if !r.rest().is_empty() {
                    return Err(bad("frame", "bytes after the last field"));
                }
                Ok(Response::Have { size, ranges })
            }
            BLOCKS => Ok(Response::Blocks(r.rest().to_vec())),
            REFUSED => {
                let code = Code::from_number(u64_varint(&mut r, "code")?);
                let rest = r.rest();
                if rest.len() > MAX_REASON_BYTES {
                    return Err(bad("reason", "longer than 256 bytes"));
                }
                let reason = std::str::from_utf8(rest)
                    .map_err(|_| bad("reason", "not UTF-8"))?
                    .to_owned();
                Ok(Response::Refused { code, reason })
            }
            _ => Err(bad("tag", "not a response of /setu/N/blob/1")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_bad_ones_name_their_field() {
        let h = Hash([9; 32]);
        for req in [
            Request::Have(h),
            Request::Blocks {
                hash: h,
                range: 200..264,
            },
        ] {
            assert_eq!(Request::decode(&req.encode()), Ok(req));
        }
        for resp in [
            Response::Have {
                size: 5 << 20,
                ranges: vec![0..3, 5..320],
            },
            Response::Have {
                size: 0,
                ranges: vec![],
            },
            Response::Blocks(vec![1, 2, 3]),
            Response::Refused {
                code: Code::Busy,
                reason: "later".into(),
            },
        ] {
            assert_eq!(Response::decode(&resp.encode()), Ok(resp));
        }
        let mut long = Request::Blocks {
            hash: h,
            range: 0..65,
        }
        .encode();
        assert_eq!(Request::decode(&long).map_err(|e| e.field), Err("end"));
        long.truncate(20);
        assert_eq!(Request::decode(&long).map_err(|e| e.field), Err("hash"));
        assert_eq!(Request::decode(&[]).map_err(|e| e.field), Err("tag"));
        let overlapping = Response::Have {
            size: 5 << 20,
            ranges: vec![0..3, 3..4],
        }
        .encode();
        assert_eq!(
            Response::decode(&overlapping).map_err(|e| e.field),
            Err("start")
        );
        let past = Response::Have {
            size: 16384,
            ranges: vec![0..2],
        }
        .encode();
        assert_eq!(Response::decode(&past).map_err(|e| e.field), Err("len"));
    }
}
