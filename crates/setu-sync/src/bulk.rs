//! Bulk mode ([`spec/sync.md` §6](../../../spec/sync.md)): a node far
//! behind its peer streams whole records in batches it asks for one at a
//! time, which is the backpressure.

use crate::item::{Bound, Id, Item, lower_index};
use crate::reconcile::SyncError;
use crate::wire::{WireError, put_varint};

/// Message tag of a bulk request.
pub const REQUEST: u8 = 0x02;
/// Message tag of a bulk batch.
pub const BATCH: u8 = 0x03;
/// Most records one batch may hold.
pub const MAX_ITEMS: u64 = 4_096;
/// Most record bytes one batch may hold.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;
/// The largest record a batch may carry.
pub const MAX_RECORD_BYTES: usize = 262_144;

/// A request for the next batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Records at or above this bound.
    pub after: Bound,
    /// At most this many records.
    pub max_items: u64,
    /// At most about this many bytes of records.
    pub max_bytes: u64,
}

/// One batch of records, in (ts, id) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The signed records, as stored.
    pub records: Vec<Vec<u8>>,
    /// Where the next batch starts; infinity when none remain.
    pub next: Bound,
}

fn put_bound(out: &mut Vec<u8>, b: &Bound) {
    match b {
        Bound::Infinity => put_varint(out, 0),
        Bound::At { ts, prefix } => {
            put_varint(out, 1 + u128::from(*ts));
            out.push(prefix.len() as u8);
            out.extend_from_slice(prefix);
        }
    }
}

/// Bulk messages are read with the wire module's cursor, plus bounds.
type R<'a> = crate::wire::Reader<'a>;

trait BulkRead {
    fn bound(&mut self) -> Result<Bound, WireError>;
    fn end(&self) -> Result<(), WireError>;
}

impl BulkRead for R<'_> {
    fn bound(&mut self) -> Result<Bound, WireError> {
        let at = self.pos;
        let v = self.varint()?;
        if v == 0 {
            return Ok(Bound::Infinity);
        }
        let ts = u64::try_from(v - 1).map_err(|_| WireError::Field {
            field: "bound ts",
            at,
        })?;
        let len = usize::from(self.byte()?);
        if len > 32 {
            return Err(WireError::Field {
                field: "prefix length",
                at,
            });
        }
        Ok(Bound::At {
            ts,
            prefix: self.take(len)?.to_vec(),
        })
    }
    fn end(&self) -> Result<(), WireError> {
        if self.pos == self.b.len() {
            Ok(())
        } else {
            Err(WireError::Field {
                field: "trailing bytes",
                at: self.pos,
            })
        }
    }
}

impl Request {
    /// Encodes the request.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![REQUEST];
        put_bound(&mut out, &self.after);
        put_varint(&mut out, u128::from(self.max_items));
        put_varint(&mut out, u128::from(self.max_bytes));
        out
    }

    /// Decodes and checks a request.
    pub fn decode(b: &[u8]) -> Result<Request, WireError> {
        if b.first() != Some(&REQUEST) {
            return Err(WireError::Version(b.first().copied()));
        }
        let mut r = R { b, pos: 1 };
        let after = r.bound()?;
        let at = r.pos;
        let max_items = u64::try_from(r.varint()?).map_err(|_| WireError::Field {
            field: "max_items",
            at,
        })?;
        let at = r.pos;
        let max_bytes = u64::try_from(r.varint()?).map_err(|_| WireError::Field {
            field: "max_bytes",
            at,
        })?;
        r.end()?;
        if !(1..=MAX_ITEMS).contains(&max_items) || !(1..=MAX_BYTES).contains(&max_bytes) {
            return Err(WireError::Field {
                field: "batch limits",
                at,
            });
        }
        Ok(Request {
            after,
            max_items,
            max_bytes,
        })
    }
}

impl Batch {
    /// Encodes the batch.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![BATCH];
        put_varint(&mut out, self.records.len() as u128);
        for r in &self.records {
            put_varint(&mut out, r.len() as u128);
            out.extend_from_slice(r);
        }
        put_bound(&mut out, &self.next);
        out
    }

    /// Decodes and checks a batch against the request it answers.
    pub fn decode(b: &[u8], req: &Request) -> Result<Batch, WireError> {
        if b.first() != Some(&BATCH) {
            return Err(WireError::Version(b.first().copied()));
        }
        let mut r = R { b, pos: 1 };
        let at = r.pos;
        let n = r.varint()?;
        if n > u128::from(req.max_items) || n > (b.len() - r.pos) as u128 {
            return Err(WireError::Field {
                field: "record count",
                at,
            });
        }
        let mut records = Vec::with_capacity(n as usize);
        let mut total = 0u64;
        for _ in 0..n {
            let at = r.pos;
            let len = r.varint()?;
            if len > MAX_RECORD_BYTES as u128 {
                return Err(WireError::Field {
                    field: "record length",
                    at,
                });
            }
            total += len as u64;
            if total > req.max_bytes + MAX_RECORD_BYTES as u64 {
                return Err(WireError::Field {
                    field: "batch bytes",
                    at,
                });
            }
            records.push(r.take(len as usize)?.to_vec());
        }
        let next = r.bound()?;
        r.end()?;
        Ok(Batch { records, next })
    }
}

/// Answers a request from sorted `items`; `load` returns a record's bytes.
pub fn serve(items: &[Item], req: &Request, load: &mut dyn FnMut(&Id) -> Option<Vec<u8>>) -> Batch {
    let start = lower_index(items, &req.after);
    let mut records = Vec::new();
    let mut bytes = 0u64;
    let mut i = start;
    while i < items.len() && (records.len() as u64) < req.max_items.min(MAX_ITEMS) {
        if let Some(r) = load(&items[i].id) {
            if !records.is_empty() && bytes + r.len() as u64 > req.max_bytes {
                break;
            }
            bytes += r.len() as u64;
            records.push(r);
        }
        i += 1;
    }
    let next = if i < items.len() && i > 0 {
        Bound::between(&items[i - 1], &items[i])
    } else if i < items.len() {
        Bound::zero()
    } else {
        Bound::Infinity
    };
    Batch { records, next }
}

/// The requesting side: asks for one batch at a time.
#[derive(Debug)]
pub struct Puller {
    req: Request,
    done: bool,
}

impl Puller {
    /// Starts pulling everything; returns the first request.
    pub fn start(max_items: u64, max_bytes: u64) -> (Puller, Vec<u8>) {
        let req = Request {
            after: Bound::zero(),
            max_items: max_items.clamp(1, MAX_ITEMS),
            max_bytes: max_bytes.clamp(1, MAX_BYTES),
        };
        let msg = req.encode();
        (Puller { req, done: false }, msg)
    }

    /// True when every record has been received.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Handles a batch. Returns its records; call [`Puller::next_request`]
    /// once they are stored.
    pub fn handle(&mut self, batch: &[u8]) -> Result<Vec<Vec<u8>>, SyncError> {
        if self.done {
            return Err(SyncError::Done);
        }
        let b = Batch::decode(batch, &self.req)?;
        // The cursor must move forward, or the peer is stalling us; a
        // request after infinity has one answer, no records and infinity.
        let at_end =
            self.req.after == Bound::Infinity && b.next == Bound::Infinity && b.records.is_empty();
        if !at_end && b.next.cmp_bound(&self.req.after) != std::cmp::Ordering::Greater {
            return Err(SyncError::Wire(WireError::Order(0)));
        }
        self.done = b.next == Bound::Infinity;
        self.req.after = b.next;
        Ok(b.records)
    }

    /// The next request, unless done.
    pub fn next_request(&self) -> Option<Vec<u8>> {
        (!self.done).then(|| self.req.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulls_everything_in_batches() {
        let items: Vec<Item> = (0..1000u32)
            .map(|i| {
                let mut id = [0u8; 32];
                id[..4].copy_from_slice(&i.to_be_bytes());
                Item {
                    ts: u64::from(i / 3),
                    id,
                }
            })
            .collect();
        let mut load = |id: &Id| Some(id.to_vec());
        let (mut p, mut req) = Puller::start(64, 1_000);
        let mut got = Vec::new();
        let mut batches = 0;
        loop {
            let r = Request::decode(&req).unwrap();
            let batch = serve(&items, &r, &mut load).encode();
            got.extend(p.handle(&batch).unwrap());
            batches += 1;
            match p.next_request() {
                Some(next) => req = next,
                None => break,
            }
        }
        assert_eq!(got.len(), 1000);
        assert_eq!(got[999], items[999].id.to_vec());
        assert!(
            batches >= 1000 / 31,
            "byte cap of ~1000 bytes with 32-byte records"
        );
    }

    #[test]
    fn hostile_batches_are_refused() {
        let req = Request {
            after: Bound::zero(),
            max_items: 2,
            max_bytes: 100,
        };
        assert!(
            Batch::decode(&[BATCH, 5], &req).is_err(),
            "more records than asked"
        );
        assert!(
            Batch::decode(&[BATCH, 1, 0xff, 0xff, 0x7f], &req).is_err(),
            "record too long"
        );
        let stall = Batch {
            records: vec![],
            next: Bound::zero(),
        }
        .encode();
        let (mut p, _) = Puller::start(2, 100);
        assert!(p.handle(&stall).is_err(), "a cursor that does not move");
    }

    #[test]
    fn the_answer_after_infinity_is_accepted_and_a_stall_is_not() {
        let req = Request {
            after: Bound::Infinity,
            max_items: 1,
            max_bytes: 1,
        };
        let mut p = Puller {
            req: req.clone(),
            done: false,
        };
        let end = Batch {
            records: vec![],
            next: Bound::Infinity,
        };
        assert_eq!(p.handle(&end.encode()), Ok(vec![]));
        assert!(p.is_done());
        // Anywhere else, a `next` that does not move is a stall.
        let at = Bound::At {
            ts: 5,
            prefix: vec![1],
        };
        let mut p = Puller {
            req: Request {
                after: at.clone(),
                ..req
            },
            done: false,
        };
        let stall = Batch {
            records: vec![],
            next: at,
        };
        assert!(p.handle(&stall.encode()).is_err());
    }
}
