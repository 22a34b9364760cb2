//! Publisher keys: generation, PKCS#8 v1 PEM files, and signing.
//!
//! Key files are PKCS#8 **v1** (RFC 5208 `PrivateKeyInfo`, no public key),
//! which `openssl pkey` reads; v2 files (with the public key) are read too.

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};
use ed25519_dalek::{Signer, SigningKey};

use crate::ids::{AuthorKey, RecordId};

/// The 14 ASCII bytes that precede a record id in the signed message.
pub const SIGNATURE_CONTEXT: &[u8; 14] = b"setu/v1/record";

/// Why a key could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM text is not an Ed25519 PKCS#8 private key.
    #[error("not an Ed25519 PKCS#8 private key: {0}")]
    Pkcs8(String),
}

/// A publisher's secret key.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(author {})", self.author())
    }
}

impl SecretKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> SecretKey {
        SecretKey(SigningKey::generate(&mut rand::rng()))
    }

    /// The key with this 32-byte seed (RFC 8032 private key).
    pub fn from_seed(seed: &[u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The author (public key) that this key signs for.
    pub fn author(&self) -> AuthorKey {
        AuthorKey(self.0.verifying_key().to_bytes())
    }

    /// Signs a record id: `Ed25519(seed, "setu/v1/record" ‖ id)`.
    pub fn sign_id(&self, id: &RecordId) -> [u8; 64] {
        self.0.sign(&signed_message(id)).to_bytes()
    }

    /// Signs any other message. Every such message starts with its own
    /// domain prefix (such as `"setu/v1/charter"`), so it can never be
    /// taken for a record's signed message, which starts `"setu/v1/record"`.
    pub fn sign_message(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }

    /// The key as a PKCS#8 v1 PEM document.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        let kp = KeypairBytes {
            secret_key: self.0.to_bytes(),
            public_key: None,
        };
        kp.to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map(|s| s.to_string())
            .map_err(|e| KeyError::Pkcs8(e.to_string()))
    }

    /// Reads a PKCS#8 (v1 or v2) PEM document.
    pub fn from_pkcs8_pem(pem: &str) -> Result<SecretKey, KeyError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(SecretKey)
            .map_err(|e| KeyError::Pkcs8(e.to_string()))
    }
}

/// The message that is signed for a record id.
pub fn signed_message(id: &RecordId) -> [u8; 46] {
    let mut m = [0u8; 46];
    m[..14].copy_from_slice(SIGNATURE_CONTEXT);
    m[14..].copy_from_slice(&id.0);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_is_pkcs8_v1_and_round_trips() {
        let k = SecretKey::from_seed(&[7u8; 32]);
        let pem = k.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        // v1 PrivateKeyInfo for Ed25519 is exactly 48 bytes of DER (64 base64 chars).
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(body.len(), 64, "{pem}");
        let back = SecretKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(back.seed(), k.seed());
        assert!(SecretKey::from_pkcs8_pem("not a key").is_err());
    }
}
