//! Membership records in the replica ([`spec/membership.md`](../../../spec/membership.md)):
//! the operations held, the member set computed from them, and signing
//! new operations with this node's key.
//!
//! Membership operations are records of kind `"member"`; the store keeps
//! them like any record. The view is computed from every one held, so it
//! is the same on every node holding the same records.

use setu_core::keys::SecretKey;
use setu_core::record;
use setu_member::charter::Sealed;
use setu_member::op::{self, Body, Op, Signed};
use setu_member::view::View;

use crate::Error;
use crate::backend::Backend;
use crate::replica::{PublishError, Replica};

/// Records read from the store per step while collecting operations.
const SCAN_CHUNK: usize = 50_000;

/// An operation this node signed and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Own {
    /// Its record id.
    pub id: setu_core::ids::RecordId,
    /// The seq it was signed with.
    pub seq: u64,
    /// The signed record, for announcing.
    pub record: Vec<u8>,
}

impl<B: Backend> Replica<B> {
    /// Every membership operation held: records of kind `"member"` whose
    /// body is an operation (others are counted in the second value).
    pub fn operations(&self) -> Result<(Vec<Signed>, usize), Error> {
        let mut out = Vec::new();
        let mut malformed = 0;
        let mut after = None;
        loop {
            let page = self.store().ts_range(after, SCAN_CHUNK)?;
            let Some(last) = page.last().copied() else {
                break;
            };
            for (_, id) in &page {
                let Some(bytes) = self.store().get(id)? else {
                    continue;
                };
                // Stored records were checked on the way in: decoding the
                // envelope is enough to learn the kind.
                let Ok(parsed) = record::parse(bytes) else {
                    continue;
                };
                let env = parsed.envelope();
                if env.kind != op::KIND {
                    continue;
                }
                match Signed::from_envelope(parsed.id(), env) {
                    Ok(s) => out.push(s),
                    Err(_) => malformed += 1,
                }
            }
            after = Some(last);
            if page.len() < SCAN_CHUNK {
                break;
            }
        }
        Ok((out, malformed))
    }

    /// The member set and record validity under `charter`, from every
    /// operation held.
    pub fn members(&self, charter: &Sealed) -> Result<View, Error> {
        let (ops, _) = self.operations()?;
        Ok(View::compute(charter, &ops))
    }

    /// Signs an operation of `charter`'s network with `key` (at this key's
    /// next seq) and stores it. The caller announces `record`.
    pub fn sign_operation(
        &mut self,
        key: &SecretKey,
        charter: &Sealed,
        op: Op,
        now: u64,
    ) -> Result<Own, PublishError> {
        let body = Body {
            net: charter.network_id(),
            op,
        };
        let seq = self.reserve_seqs(&key.author(), 1, now)?;
        let rec = op::sign(key, seq, now, &body).map_err(|e| {
            PublishError::Invalid(vec![setu_core::practice::Problem {
                path: e.path.clone(),
                message: e.message.clone(),
            }])
        })?;
        let out = Own {
            id: rec.id(),
            seq,
            record: rec.bytes().to_vec(),
        };
        self.store_own(vec![rec.into_bytes()], now)?;
        Ok(out)
    }
}
