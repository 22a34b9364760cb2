//! Strict Ed25519 verification, one at a time or in batches, with the same
//! answer on every path ([`spec/record.md` §5](../../../spec/record.md)).
//!
//! The rule:
//! 1. **Key.** The 32 author bytes must be the canonical encoding of a curve
//!    point (decoding then re-encoding gives the same bytes), and the point
//!    must not be of small order. Otherwise: reason `key`.
//! 2. **Signature.** `R` (first 32 bytes) must be a canonical point encoding
//!    of a point that is not of small order; `S` (last 32 bytes, little
//!    endian) must be `< L`; and the **cofactored** equation
//!    `[8]([S]B) == [8]R + [8]([k]A)` must hold, where
//!    `k = SHA-512(R ‖ A ‖ M) mod L`. Otherwise: reason `signature`.
//!
//! Why cofactored: a random-linear-combination batch check can only promise
//! to agree with a single check if both use the same equation, and the batch
//! equation can only be made sound against points with a small-order
//! component by multiplying by the cofactor (this is the argument of Zcash's
//! ZIP 215). With a cofactorless single check, a key holder could craft `R`
//! with a torsion component that a batch accepts and a single check refuses,
//! so that nodes would disagree about one record. Signatures made by any
//! RFC 8032 signer verify under both equations.
//!
//! [`verify_batch`] filters with the same pre-checks first (ed25519-dalek's
//! own batch verifier accepts a small-order key with a trivial signature),
//! runs one multiscalar check over the rest, and when that fails falls back
//! to [`verify_one`] for each item, so that it always returns the per-item
//! answers that [`verify_one`] would.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The author key is not a canonical point encoding.
    #[error("author key is not a canonical Ed25519 point encoding")]
    KeyEncoding,
    /// The author key is a point of small order (a weak key).
    #[error("author key is a small-order (weak) point")]
    KeySmallOrder,
    /// `R` is not a canonical point encoding.
    #[error("signature R is not a canonical point encoding")]
    REncoding,
    /// `R` is a point of small order.
    #[error("signature R is a small-order point")]
    RSmallOrder,
    /// `S` is not reduced modulo the group order.
    #[error("signature S is not canonical (S >= L)")]
    SNonCanonical,
    /// The verification equation does not hold.
    #[error("signature does not verify")]
    Equation,
}

impl VerifyError {
    /// True when the fault lies with the key (reason code `key`) rather than
    /// the signature (reason code `signature`).
    pub fn is_key_fault(&self) -> bool {
        matches!(self, VerifyError::KeyEncoding | VerifyError::KeySmallOrder)
    }
}

/// True if the 255-bit y of an encoding is below p = 2^255 − 19. The only
/// other non-canonical encodings are of x = 0 with the sign bit set, which
/// are the points y = ±1: both of small order, refused anyway.
fn y_is_canonical(bytes: &[u8; 32]) -> bool {
    let top = bytes[31] & 0x7f;
    !(top == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff) && bytes[0] >= 0xed)
}

/// Decodes a point, requiring its canonical encoding (for points not of
/// small order; callers refuse those next).
fn canonical_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !y_is_canonical(bytes) {
        return None;
    }
    CompressedEdwardsY(*bytes).decompress()
}

/// Checks an author key (step 1 of the rule) and returns its point.
pub fn check_key(key: &[u8; 32]) -> Result<EdwardsPoint, VerifyError> {
    let a = canonical_point(key).ok_or(VerifyError::KeyEncoding)?;
    if a.is_small_order() {
        return Err(VerifyError::KeySmallOrder);
    }
    Ok(a)
}

/// A signature that passed the pre-checks, ready for the equation.
struct Prepared {
    a: EdwardsPoint,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

fn prepare(key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> Result<Prepared, VerifyError> {
    prepare_with(check_key(key)?, key, msg, sig)
}

fn prepare_with(
    a: EdwardsPoint,
    key: &[u8; 32],
    msg: &[u8],
    sig: &[u8; 64],
) -> Result<Prepared, VerifyError> {
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&sig[..32]);
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&sig[32..]);
    let r = canonical_point(&r_bytes).ok_or(VerifyError::REncoding)?;
    if r.is_small_order() {
        return Err(VerifyError::RSmallOrder);
    }
    let s: Option<Scalar> = Scalar::from_canonical_bytes(s_bytes).into();
    let s = s.ok_or(VerifyError::SNonCanonical)?;
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(key);
    h.update(msg);
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    Ok(Prepared { a, r, s, k })
}

/// Verifies one signature under the strict, cofactored rule.
pub fn verify_one(key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> Result<(), VerifyError> {
    let p = prepare(key, msg, sig)?;
    // [S]B - [k]A - R, times the cofactor, must be the identity.
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&p.k, &(-p.a), &p.s);
    if (sb_minus_ka - p.r).mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(VerifyError::Equation)
    }
}

/// One item of a batch: author key, message, signature.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// The author's 32-byte public key.
    pub key: &'a [u8; 32],
    /// The signed message.
    pub msg: &'a [u8],
    /// The 64-byte signature.
    pub sig: &'a [u8; 64],
}

/// Verifies many signatures, returning for each exactly what [`verify_one`]
/// returns for it.
///
/// Items that fail a pre-check get their error without entering the batch.
/// The others are checked together with random 128-bit weights; if the
/// combined equation fails, each is checked alone.
pub fn verify_batch(items: &[Item<'_>]) -> Vec<Result<(), VerifyError>> {
    let mut results: Vec<Result<(), VerifyError>> = Vec::with_capacity(items.len());
    let mut prepared: Vec<(usize, Prepared)> = Vec::with_capacity(items.len());
    // Authors repeat within a batch: check each key once.
    let mut keys: std::collections::HashMap<[u8; 32], Result<EdwardsPoint, VerifyError>> =
        std::collections::HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let a = *keys.entry(*item.key).or_insert_with(|| check_key(item.key));
        match a.and_then(|a| prepare_with(a, item.key, item.msg, item.sig)) {
            Ok(p) => {
                results.push(Ok(()));
                prepared.push((i, p));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    if prepared.len() <= 1 || !batch_equation_holds(&prepared) {
        for (i, _) in &prepared {
            let item = &items[*i];
            results[*i] = verify_one(item.key, item.msg, item.sig);
        }
    }
    results
}

/// `[8]( -(Σ z_i S_i) B + Σ z_i R_i + Σ (z_i k_i) A_i ) == identity`
fn batch_equation_holds(prepared: &[(usize, Prepared)]) -> bool {
    let zs: Vec<Scalar> = prepared
        .iter()
        .map(|_| Scalar::from(rand::random::<u128>()))
        .collect();
    let b_coeff: Scalar = prepared.iter().zip(&zs).map(|((_, p), z)| z * p.s).sum();
    let scalars = std::iter::once(-b_coeff)
        .chain(zs.iter().copied())
        .chain(prepared.iter().zip(&zs).map(|((_, p), z)| z * p.k));
    let points = std::iter::once(curve25519_dalek::constants::ED25519_BASEPOINT_POINT)
        .chain(prepared.iter().map(|(_, p)| p.r))
        .chain(prepared.iter().map(|(_, p)| p.a));
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};

    fn signed(seed: u8, msg: &[u8]) -> ([u8; 32], [u8; 64]) {
        let k = SecretKey::from_seed(&[seed; 32]);
        let sig =
            ed25519_dalek::Signer::sign(&ed25519_dalek::SigningKey::from_bytes(&[seed; 32]), msg)
                .to_bytes();
        (k.author().0, sig)
    }

    #[test]
    fn honest_signatures_verify_alone_and_in_batches() {
        let msgs: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 40]).collect();
        let sigs: Vec<_> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| signed(i as u8, m))
            .collect();
        let items: Vec<Item<'_>> = sigs
            .iter()
            .zip(&msgs)
            .map(|((k, s), m)| Item {
                key: k,
                msg: m,
                sig: s,
            })
            .collect();
        for it in &items {
            assert_eq!(verify_one(it.key, it.msg, it.sig), Ok(()));
        }
        assert!(verify_batch(&items).iter().all(Result::is_ok));
    }

    #[test]
    fn small_order_key_with_trivial_signature_is_refused_everywhere() {
        // A = identity, R = identity, S = 0: dalek's verify_batch accepts this.
        let mut key = [0u8; 32];
        key[0] = 1;
        let mut sig = [0u8; 64];
        sig[0] = 1;
        let msg = b"anything";
        let dalek_key = ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap();
        let dalek_sig = ed25519_dalek::Signature::from_bytes(&sig);
        assert!(
            ed25519_dalek::verify_batch(&[msg], &[dalek_sig], &[dalek_key]).is_ok(),
            "the divergence this guards against exists upstream"
        );
        assert_eq!(verify_one(&key, msg, &sig), Err(VerifyError::KeySmallOrder));
        let (k2, s2) = signed(9, msg);
        let items = [
            Item {
                key: &key,
                msg,
                sig: &sig,
            },
            Item {
                key: &k2,
                msg,
                sig: &s2,
            },
        ];
        let r = verify_batch(&items);
        assert_eq!(r[0], Err(VerifyError::KeySmallOrder));
        assert_eq!(r[1], Ok(()));
    }

    #[test]
    fn torsion_in_r_is_judged_the_same_alone_and_in_batches() {
        // R = rB + T with T of order 8; S = r + kA. Valid under the
        // cofactored rule on every path.
        let seed = [3u8; 32];
        let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
        let a_scalar = sk.to_scalar();
        let a_bytes = sk.verifying_key().to_bytes();
        let r = Scalar::from(123_456_789u64);
        let big_r = r * ED25519_BASEPOINT_POINT + EIGHT_TORSION[1];
        let r_bytes = big_r.compress().to_bytes();
        let msg = b"torsion";
        let mut h = Sha512::new();
        h.update(r_bytes);
        h.update(a_bytes);
        h.update(msg);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let s = r + k * a_scalar;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r_bytes);
        sig[32..].copy_from_slice(s.as_bytes());
        assert_eq!(verify_one(&a_bytes, msg, &sig), Ok(()));
        // dalek's cofactorless verify_strict refuses it: the rules differ.
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&a_bytes).unwrap();
        assert!(
            vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig))
                .is_err()
        );
        for _ in 0..16 {
            let (k2, s2) = signed(4, msg);
            let items = [
                Item {
                    key: &a_bytes,
                    msg,
                    sig: &sig,
                },
                Item {
                    key: &k2,
                    msg,
                    sig: &s2,
                },
            ];
            assert!(verify_batch(&items).iter().all(Result::is_ok));
        }
    }

    #[test]
    fn the_cheap_canonical_check_agrees_with_re_encoding() {
        // Every y >= p, and random encodings: the byte test and
        // decompress-then-compress agree on every point not of small order.
        let mut cases: Vec<[u8; 32]> = Vec::new();
        for low in 0xe0..=0xffu8 {
            let mut b = [0xffu8; 32];
            b[0] = low;
            b[31] = 0x7f;
            cases.push(b);
            b[31] = 0xff;
            cases.push(b);
        }
        let mut x = 7u64;
        for _ in 0..2_000 {
            let mut b = [0u8; 32];
            for c in b.chunks_mut(8) {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                c.copy_from_slice(&x.to_le_bytes());
            }
            cases.push(b);
        }
        for b in cases {
            let slow = CompressedEdwardsY(b)
                .decompress()
                .filter(|p| p.compress().as_bytes() == &b && !p.is_small_order());
            let fast = canonical_point(&b).filter(|p| !p.is_small_order());
            assert_eq!(slow.is_some(), fast.is_some(), "{}", hex::encode(b));
        }
    }

    #[test]
    fn noncanonical_s_and_bad_equation() {
        let msg = b"m";
        let (k, mut sig) = signed(1, msg);
        let mut bad = sig;
        bad[40] ^= 1;
        assert_eq!(verify_one(&k, msg, &bad), Err(VerifyError::Equation));
        // S with its top bits set is >= L: refused before the equation.
        sig[63] |= 0xf0;
        assert_eq!(verify_one(&k, msg, &sig), Err(VerifyError::SNonCanonical));
    }
}
