//! The request/response frames of the sync protocol
//! ([`spec/net.md` §4](../../../spec/net.md)).
//!
//! ```text
//! request  = 0x10 ‖ varint(session) ‖ varint(count) ‖ reconcile message   sync
//!          | bulk request (spec/sync.md §6, tag 0x02)                      bulk
//!          | 0x12 ‖ varint(n) ‖ n × (varint(len) ‖ record)                 push
//!          | 0x14 ‖ varint(n) ‖ n × id (32 bytes)                          fetch
//!          | 0x16 ‖ varint(n) ‖ n × id (32 bytes)                          offer (v2)
//! response = 0x11 ‖ varint(count) ‖ reconcile message                      sync reply
//!          | bulk batch (spec/sync.md §6, tag 0x03)                        bulk
//!          | 0x13 ‖ varint(stored) ‖ varint(refused)                       push ack
//!          | 0x15 ‖ varint(n) ‖ n × (varint(len) ‖ record)                 records
//!          | 0x17 ‖ varint(n) ‖ n × id (32 bytes), n may be 0              want (v2)
//!          | 0x1f ‖ varint(code) ‖ UTF-8 reason                            refused
//! announcement (the gossip payload)
//!          = 0x20 ‖ id (32 bytes) ‖ varint(ts) ‖ varint(size)
//! ```
//!
//! Signed records travel as opaque byte strings: nothing here decodes them.

use setu_sync::wire::{MAX_MESSAGE_BYTES, Reader, WireError, put_varint};

/// Tag of a sync request.
pub const SYNC: u8 = 0x10;
/// Tag of a sync reply.
pub const SYNC_REPLY: u8 = 0x11;
/// Tag of a push request.
pub const PUSH: u8 = 0x12;
/// Tag of a push acknowledgement.
pub const PUSH_ACK: u8 = 0x13;
/// Tag of a fetch request.
pub const FETCH: u8 = 0x14;
/// Tag of the records answering a fetch.
pub const RECORDS: u8 = 0x15;
/// Tag of an offer (protocol version 2).
pub const OFFER: u8 = 0x16;
/// Tag of the answer to an offer (protocol version 2).
pub const WANT: u8 = 0x17;
/// Tag of a refusal.
pub const REFUSED: u8 = 0x1f;
/// Tag of a gossip announcement.
pub const ANNOUNCE: u8 = 0x20;
/// Most ids in one fetch.
pub const MAX_FETCH_IDS: usize = 256;
/// Most ids in one offer (and so in one want).
pub const MAX_OFFER_IDS: usize = 256;

/// The largest frame (request or response) read from a stream: a full bulk
/// batch (4 MiB of records, plus one record over) with room for framing.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024 + 512 * 1024;
/// Most records in one push.
pub const MAX_PUSH_RECORDS: usize = 256;
/// Most record bytes in one push (a push is sent once this is reached).
pub const MAX_PUSH_BYTES: usize = 1024 * 1024;
/// The largest record carried (`spec/record.md`).
pub const MAX_RECORD_BYTES: usize = setu_core::record::MAX_RECORD_BYTES;
/// Longest reason text in a refusal.
pub const MAX_REASON_BYTES: usize = 256;

/// Why a responder refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalCode {
    /// The request was malformed.
    Malformed = 1,
    /// The peer sent too many requests; try later.
    Busy = 2,
    /// Too many open sessions.
    Sessions = 3,
    /// The session is unknown or expired.
    UnknownSession = 4,
    /// The responder failed internally.
    Internal = 5,
}

impl RefusalCode {
    fn from_u128(v: u128) -> Option<RefusalCode> {
        Some(match v {
            1 => RefusalCode::Malformed,
            2 => RefusalCode::Busy,
            3 => RefusalCode::Sessions,
            4 => RefusalCode::UnknownSession,
            5 => RefusalCode::Internal,
            _ => return None,
        })
    }
}

/// A request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// One reconciliation message of a session the sender initiated.
    Sync {
        /// The sender's session number.
        session: u64,
        /// How many items the sender holds.
        count: u64,
        /// The reconciliation message (`spec/sync.md` §4).
        msg: Vec<u8>,
    },
    /// A bulk request, as encoded by `setu_sync::bulk` (tag 0x02).
    Bulk(Vec<u8>),
    /// Records the sender found the receiver lacks.
    Push(Vec<Vec<u8>>),
    /// Records asked for by id (after an announcement).
    Fetch(Vec<[u8; 32]>),
    /// Ids of records the sender found the receiver lacks, offered before
    /// any body is sent (protocol version 2, `spec/net.md` §5.3).
    Offer(Vec<[u8; 32]>),
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The reconciliation reply.
    Sync {
        /// How many items the responder holds.
        count: u64,
        /// The reconciliation message.
        msg: Vec<u8>,
    },
    /// A bulk batch, as encoded by `setu_sync::bulk` (tag 0x03).
    Bulk(Vec<u8>),
    /// The records asked for that the responder holds, in the order
    /// asked.
    Records(Vec<Vec<u8>>),
    /// The offered ids the responder wants pushed: those it lacks, has
    /// not refused, and is not being sent by another peer.
    Want(Vec<[u8; 32]>),
    /// How many pushed records were stored, and how many refused.
    PushAck {
        /// Stored now.
        stored: u64,
        /// Refused (duplicates are neither).
        refused: u64,
    },
    /// The request was refused.
    Refused {
        /// Why.
        code: RefusalCode,
        /// Human-readable detail.
        reason: String,
    },
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is empty.
    #[error("empty frame")]
    Empty,
    /// Unknown first byte.
    #[error("unknown tag 0x{0:02x}")]
    Tag(u8),
    /// A field is malformed.
    #[error("{field}: {reason}")]
    Field {
        /// Which field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

fn field(field: &'static str) -> impl Fn(WireError) -> FrameError {
    move |e| FrameError::Field {
        field,
        reason: e.to_string(),
    }
}

fn records_len(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<Vec<u8>>, FrameError> {
    let n = r.varint().map_err(field(what))?;
    if n > MAX_PUSH_RECORDS as u128 {
        return Err(FrameError::Field {
            field: what,
            reason: format!("{n} records, more than {MAX_PUSH_RECORDS}"),
        });
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let len = r.varint().map_err(field("record length"))?;
        if len > MAX_RECORD_BYTES as u128 {
            return Err(FrameError::Field {
                field: "record length",
                reason: format!("{len} bytes, more than {MAX_RECORD_BYTES}"),
            });
        }
        out.push(r.take(len as usize).map_err(field("record"))?.to_vec());
    }
    Ok(out)
}

fn end(r: &Reader<'_>) -> Result<(), FrameError> {
    if r.rest().is_empty() {
        Ok(())
    } else {
        Err(FrameError::Field {
            field: "frame",
            reason: format!("{} trailing bytes", r.rest().len()),
        })
    }
}

fn sync_msg(r: &Reader<'_>) -> Result<Vec<u8>, FrameError> {
    let msg = r.rest();
    if msg.is_empty() || msg.len() > MAX_MESSAGE_BYTES {
        return Err(FrameError::Field {
            field: "msg",
            reason: format!("{} bytes; must be 1 to {MAX_MESSAGE_BYTES}", msg.len()),
        });
    }
    Ok(msg.to_vec())
}

fn u64_of(v: u128, name: &'static str) -> Result<u64, FrameError> {
    u64::try_from(v).map_err(|_| FrameError::Field {
        field: name,
        reason: "above 2^64 - 1".into(),
    })
}

fn put_records(out: &mut Vec<u8>, tag: u8, records: &[Vec<u8>]) {
    out.push(tag);
    put_varint(out, records.len() as u128);
    for r in records {
        put_varint(out, r.len() as u128);
        out.extend_from_slice(r);
    }
}

/// A gossip announcement: a record's id, timestamp and size. The body is
/// fetched from the announcer ([`Request::Fetch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement {
    /// The record id.
    pub id: [u8; 32],
    /// The record's `ts`.
    pub ts: u64,
    /// The record's size in bytes.
    pub size: u64,
}

impl Announcement {
    /// The payload's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48);
        out.push(ANNOUNCE);
        out.extend_from_slice(&self.id);
        put_varint(&mut out, u128::from(self.ts));
        put_varint(&mut out, u128::from(self.size));
        out
    }

    /// Decodes a payload; the size must be 1 to [`MAX_RECORD_BYTES`].
    pub fn decode(b: &[u8]) -> Result<Announcement, FrameError> {
        let mut r = Reader::new(b);
        match r.byte().map_err(|_| FrameError::Empty)? {
            ANNOUNCE => {}
            t => return Err(FrameError::Tag(t)),
        }
        let mut id = [0u8; 32];
        id.copy_from_slice(r.take(32).map_err(field("id"))?);
        let ts = u64_of(r.varint().map_err(field("ts"))?, "ts")?;
        let size = u64_of(r.varint().map_err(field("size"))?, "size")?;
        if size == 0 || size > MAX_RECORD_BYTES as u64 {
            return Err(FrameError::Field {
                field: "size",
                reason: format!("{size}; must be 1 to {MAX_RECORD_BYTES}"),
            });
        }
        end(&r)?;
        Ok(Announcement { id, ts, size })
    }
}

impl Request {
    /// The frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Request::Sync {
                session,
                count,
                msg,
            } => {
                out.push(SYNC);
                put_varint(&mut out, u128::from(*session));
                put_varint(&mut out, u128::from(*count));
                out.extend_from_slice(msg);
            }
            Request::Bulk(b) => out.extend_from_slice(b),
            Request::Push(records) => put_records(&mut out, PUSH, records),
            Request::Fetch(ids) => put_ids(&mut out, FETCH, ids),
            Request::Offer(ids) => put_ids(&mut out, OFFER, ids),
        }
        out
    }

    /// Decodes a frame. Bulk requests are only checked for their tag here;
    /// `setu_sync::bulk::Request::decode` checks the rest.
    pub fn decode(b: &[u8]) -> Result<Request, FrameError> {
        let mut r = Reader::new(b);
        match r.byte().map_err(|_| FrameError::Empty)? {
            SYNC => {
                let session = u64_of(r.varint().map_err(field("session"))?, "session")?;
                let count = u64_of(r.varint().map_err(field("count"))?, "count")?;
                Ok(Request::Sync {
                    session,
                    count,
                    msg: sync_msg(&r)?,
                })
            }
            setu_sync::bulk::REQUEST => Ok(Request::Bulk(b.to_vec())),
            PUSH => {
                let records = records_len(&mut r, "records")?;
                end(&r)?;
                Ok(Request::Push(records))
            }
            FETCH => Ok(Request::Fetch(ids(&mut r, 1, MAX_FETCH_IDS)?)),
            OFFER => Ok(Request::Offer(ids(&mut r, 1, MAX_OFFER_IDS)?)),
            t => Err(FrameError::Tag(t)),
        }
    }
}

impl Response {
    /// The frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Response::Sync { count, msg } => {
                out.push(SYNC_REPLY);
                put_varint(&mut out, u128::from(*count));
                out.extend_from_slice(msg);
            }
            Response::Bulk(b) => out.extend_from_slice(b),
            Response::Records(records) => put_records(&mut out, RECORDS, records),
            Response::Want(ids) => put_ids(&mut out, WANT, ids),
            Response::PushAck { stored, refused } => {
                out.push(PUSH_ACK);
                put_varint(&mut out, u128::from(*stored));
                put_varint(&mut out, u128::from(*refused));
            }
            Response::Refused { code, reason } => {
                out.push(REFUSED);
                put_varint(&mut out, *code as u128);
                let mut end = reason.len().min(MAX_REASON_BYTES);
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                out.extend_from_slice(&reason.as_bytes()[..end]);
            }
        }
        out
    }

    /// Decodes a frame.
    pub fn decode(b: &[u8]) -> Result<Response, FrameError> {
        let mut r = Reader::new(b);
        match r.byte().map_err(|_| FrameError::Empty)? {
            SYNC_REPLY => {
                let count = u64_of(r.varint().map_err(field("count"))?, "count")?;
                Ok(Response::Sync {
                    count,
                    msg: sync_msg(&r)?,
                })
            }
            setu_sync::bulk::BATCH => Ok(Response::Bulk(b.to_vec())),
            RECORDS => {
                let records = records_len(&mut r, "records")?;
                end(&r)?;
                Ok(Response::Records(records))
            }
            WANT => Ok(Response::Want(ids(&mut r, 0, MAX_OFFER_IDS)?)),
            PUSH_ACK => {
                let stored = u64_of(r.varint().map_err(field("stored"))?, "stored")?;
                let refused = u64_of(r.varint().map_err(field("refused"))?, "refused")?;
                end(&r)?;
                Ok(Response::PushAck { stored, refused })
            }
            REFUSED => {
                let c = r.varint().map_err(field("code"))?;
                let code = RefusalCode::from_u128(c).ok_or(FrameError::Field {
                    field: "code",
                    reason: format!("unknown refusal code {c}"),
                })?;
                let rest = r.rest();
                if rest.len() > MAX_REASON_BYTES {
                    return Err(FrameError::Field {
                        field: "reason",
                        reason: format!("more than {MAX_REASON_BYTES} bytes"),
                    });
                }
                let reason = std::str::from_utf8(rest)
                    .map_err(|_| FrameError::Field {
                        field: "reason",
                        reason: "not UTF-8".into(),
                    })?
                    .to_string();
                Ok(Response::Refused { code, reason })
            }
            t => Err(FrameError::Tag(t)),
        }
    }
}

fn put_ids(out: &mut Vec<u8>, tag: u8, ids: &[[u8; 32]]) {
    out.push(tag);
    put_varint(out, ids.len() as u128);
    for id in ids {
        out.extend_from_slice(id);
    }
}

/// `varint(n) ‖ n × id`, with `min ≤ n ≤ max`, ending the frame.
fn ids(r: &mut Reader<'_>, min: usize, max: usize) -> Result<Vec<[u8; 32]>, FrameError> {
    let n = r.varint().map_err(field("ids"))?;
    if n < min as u128 || n > max as u128 {
        return Err(FrameError::Field {
            field: "ids",
            reason: format!("{n} ids; must be {min} to {max}"),
        });
    }
    let mut ids = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let b = r.take(32).map_err(field("id"))?;
        let mut id = [0u8; 32];
        id.copy_from_slice(b);
        ids.push(id);
    }
    end(r)?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let reqs = [
            Request::Sync {
                session: 7,
                count: 300,
                msg: vec![1, 0, 0],
            },
            Request::Bulk(setu_sync::bulk::Puller::start(10, 1000).1),
            Request::Push(vec![vec![0xa1; 3], vec![]]),
            Request::Fetch(vec![[7; 32], [9; 32]]),
            Request::Offer(vec![[5; 32]]),
        ];
        for q in reqs {
            assert_eq!(Request::decode(&q.encode()), Ok(q));
        }
        let resps = [
            Response::Sync {
                count: 1,
                msg: vec![1, 0, 0],
            },
            Response::PushAck {
                stored: 3,
                refused: 1,
            },
            Response::Records(vec![vec![1, 2, 3]]),
            Response::Want(vec![]),
            Response::Want(vec![[4; 32], [6; 32]]),
            Response::Refused {
                code: RefusalCode::Busy,
                reason: "slow down".into(),
            },
        ];
        for r in resps {
            assert_eq!(Response::decode(&r.encode()), Ok(r));
        }
    }

    #[test]
    fn announcements_round_trip_and_bound_the_size() {
        let a = Announcement {
            id: [3; 32],
            ts: 1_767_225_600_000,
            size: 2048,
        };
        assert_eq!(Announcement::decode(&a.encode()), Ok(a));
        let big = Announcement {
            size: MAX_RECORD_BYTES as u64 + 1,
            ..a
        };
        assert!(Announcement::decode(&big.encode()).is_err());
    }

    #[test]
    fn refuses_bad_frames() {
        assert_eq!(Request::decode(&[]), Err(FrameError::Empty));
        assert_eq!(Request::decode(&[0x99]), Err(FrameError::Tag(0x99)));
        // A push claiming more records than allowed.
        let mut b = vec![PUSH];
        put_varint(&mut b, 100_000);
        assert!(matches!(
            Request::decode(&b),
            Err(FrameError::Field {
                field: "records",
                ..
            })
        ));
        // A record longer than the frame.
        let b = [PUSH, 1, 10, 1, 2];
        assert!(matches!(
            Request::decode(&b),
            Err(FrameError::Field {
                field: "record",
                ..
            })
        ));
        // Trailing bytes after a push.
        let b = [PUSH, 0, 9];
        assert!(matches!(
            Request::decode(&b),
            Err(FrameError::Field { field: "frame", .. })
        ));
        // A sync request without a message.
        let b = [SYNC, 1, 1];
        assert!(matches!(
            Request::decode(&b),
            Err(FrameError::Field { field: "msg", .. })
        ));
    }

    #[test]
    fn never_panics_on_junk() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..400usize {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let _ = Request::decode(&junk);
            let _ = Response::decode(&junk);
            let _ = Announcement::decode(&junk);
        }
    }
}
