//! Publisher keys: generation, PKCS#8 v1 PEM files, and signing.
//!
//! Key files are PKCS#8 **v1** (RFC 5208 `PrivateKeyInfo`, no public key),
//! which `openssl pkey` reads; v2 files (with the public key) are read too.
//! A key file may also be encrypted under a passphrase (`ENCRYPTED PRIVATE
//! KEY`, PBES2: PBKDF2-HMAC-SHA256 and AES-256-CBC), which `openssl pkey`
//! reads as well; see `spec/record.md` §10.

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};
use ed25519_dalek::{Signer, SigningKey};
use pkcs8::der::asn1::OctetStringRef;
use pkcs8::der::{EncodePem, SecretDocument};
use pkcs8::pkcs5::{self, pbes2};
use pkcs8::{EncryptedPrivateKeyInfoRef, LineEnding, PrivateKeyInfoRef};

use crate::ids::{AuthorKey, RecordId};

/// The 14 ASCII bytes that precede a record id in the signed message.
pub const SIGNATURE_CONTEXT: &[u8; 14] = b"setu/v1/record";

/// Why a key could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM text is not an Ed25519 PKCS#8 private key, encrypted or not.
    #[error("not an Ed25519 PKCS#8 private key: {0}")]
    Pkcs8(String),
    /// The key is encrypted (`ENCRYPTED PRIVATE KEY`) and no passphrase was
    /// given.
    #[error("the key is encrypted (ENCRYPTED PRIVATE KEY) and no passphrase was given")]
    PassphraseNeeded,
    /// The key did not decrypt with the passphrase given. (A damaged file
    /// looks the same: PBES2 cannot tell the two apart.)
    #[error("wrong passphrase: the key does not decrypt with it (or the file is damaged)")]
    WrongPassphrase,
    /// The key is encrypted with a scheme this reader does not implement
    /// (PBES1, PBKDF2 with HMAC-SHA1, DES...).
    #[error(
        "the key is encrypted with {scheme}, which Setu does not read; re-encrypt it with PBES2, \
         e.g. `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256`"
    )]
    UnsupportedEncryption {
        /// What the file asks for.
        scheme: String,
    },
    /// The file's key derivation asks for more work or memory than a reader
    /// spends on one key file (see [`MAX_PBKDF2_ITERATIONS`] and
    /// [`MAX_SCRYPT_MEMORY_BYTES`]).
    #[error(
        "the key's passphrase derivation asks for {what} = {value}, more than {max} (the most Setu spends on a key file)"
    )]
    KdfTooCostly {
        /// The parameter.
        what: &'static str,
        /// Its value in the file.
        value: u64,
        /// The most a reader accepts.
        max: u64,
    },
    /// An empty passphrase was given to encrypt with.
    #[error("an empty passphrase does not protect the key")]
    EmptyPassphrase,
    /// Encryption failed.
    #[error("cannot encrypt the key: {0}")]
    Encrypt(String),
}

/// The PEM label of a plain PKCS#8 key file.
pub const PEM_LABEL: &str = "PRIVATE KEY";
/// The PEM label of an encrypted PKCS#8 key file (RFC 5958 §3).
pub const ENCRYPTED_PEM_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// PBKDF2-HMAC-SHA256 iterations in a key file that
/// [`SecretKey::to_encrypted_pkcs8_pem`] writes: OWASP's 2023 figure for
/// PBKDF2-HMAC-SHA256, a tenth to a quarter of a second on a server core.
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// Bytes of random PBKDF2 salt in a key file written here.
pub const PBKDF2_SALT_BYTES: usize = 16;
/// Bytes of the AES-256-CBC initialisation vector (one AES block).
pub const AES_IV_BYTES: usize = 16;
/// The most PBKDF2 iterations a reader spends on one key file (some
/// seconds): a file asking for more is refused rather than left to hang
/// the command.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// The most memory scrypt may use to read one key file (`128 · r · N`
/// bytes). OpenSSL's default for `openssl pkcs8 -scrypt` is 16 MiB.
pub const MAX_SCRYPT_MEMORY_BYTES: u64 = 256 * 1024 * 1024;
/// The most scrypt parallelism (`p`, a multiplier on the work) a reader
/// accepts.
pub const MAX_SCRYPT_PARALLELISM: u16 = 16;

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

    /// The key as an encrypted PKCS#8 PEM document
    /// (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, RFC 5958 §3): the PKCS#8 v1
    /// `PrivateKeyInfo` encrypted with PBES2 (RFC 8018), the key derived
    /// with PBKDF2-HMAC-SHA256 ([`PBKDF2_ITERATIONS`], a random
    /// [`PBKDF2_SALT_BYTES`]-byte salt) and the DER encrypted with
    /// AES-256-CBC under a random IV. Every OpenSSL since 1.0.2 reads it
    /// (`openssl pkey -in FILE -passin env:VAR`).
    pub fn to_encrypted_pkcs8_pem(&self, passphrase: &[u8]) -> Result<String, KeyError> {
        let salt: [u8; PBKDF2_SALT_BYTES] = rand::random();
        let iv: [u8; AES_IV_BYTES] = rand::random();
        self.to_encrypted_pkcs8_pem_with(passphrase, PBKDF2_ITERATIONS, &salt, iv)
    }

    /// [`SecretKey::to_encrypted_pkcs8_pem`] with the PBKDF2 parameters
    /// and IV given (tests and vectors need them fixed).
    pub fn to_encrypted_pkcs8_pem_with(
        &self,
        passphrase: &[u8],
        iterations: u32,
        salt: &[u8],
        iv: [u8; AES_IV_BYTES],
    ) -> Result<String, KeyError> {
        if passphrase.is_empty() {
            return Err(KeyError::EmptyPassphrase);
        }
        let encrypt = |e: &dyn std::fmt::Display| KeyError::Encrypt(e.to_string());
        let plain = KeypairBytes {
            secret_key: self.0.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_der()
        .map_err(|e| encrypt(&e))?;
        let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, salt, iv)
            .map_err(|e| encrypt(&e))?;
        let sealed = params
            .encrypt(passphrase, plain.as_bytes())
            .map_err(|e| encrypt(&e))?;
        EncryptedPrivateKeyInfoRef {
            encryption_algorithm: params.into(),
            encrypted_data: OctetStringRef::new(&sealed).map_err(|e| encrypt(&e))?,
        }
        .to_pem(LineEnding::LF)
        .map_err(|e| encrypt(&e))
    }

    /// Reads a plain PKCS#8 (v1 or v2) PEM document. An encrypted one is
    /// [`KeyError::PassphraseNeeded`]; read it with
    /// [`SecretKey::from_pkcs8_pem_with`].
    pub fn from_pkcs8_pem(pem: &str) -> Result<SecretKey, KeyError> {
        SecretKey::from_pkcs8_pem_with(pem, None)
    }

    /// Reads a PKCS#8 PEM document, plain (`PRIVATE KEY`, v1 or v2) or
    /// encrypted (`ENCRYPTED PRIVATE KEY`, PBES2 with PBKDF2-HMAC-SHA2 or
    /// scrypt, and AES-CBC or AES-GCM), as OpenSSL writes them too. The
    /// passphrase is used only if the key is encrypted. Never panics:
    /// the key derivation's cost is checked against
    /// [`MAX_PBKDF2_ITERATIONS`], [`MAX_SCRYPT_MEMORY_BYTES`] and
    /// [`MAX_SCRYPT_PARALLELISM`] before any work is done.
    pub fn from_pkcs8_pem_with(
        pem: &str,
        passphrase: Option<&[u8]>,
    ) -> Result<SecretKey, KeyError> {
        let (label, doc) = SecretDocument::from_pem(pem)
            .map_err(|e| KeyError::Pkcs8(format!("not a PEM document: {e}")))?;
        match label {
            PEM_LABEL => SecretKey::from_pkcs8_der(doc.as_bytes()),
            ENCRYPTED_PEM_LABEL => {
                let passphrase = passphrase.ok_or(KeyError::PassphraseNeeded)?;
                let info = EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes()).map_err(|e| {
                    KeyError::Pkcs8(format!("not a PKCS#8 EncryptedPrivateKeyInfo: {e}"))
                })?;
                check_scheme(&info.encryption_algorithm)?;
                let plain = info.decrypt(passphrase).map_err(|e| match e {
                    // A wrong key makes bad CBC padding (a GCM tag that
                    // fails), or, one time in 256, padding that passes
                    // over bytes that are not DER.
                    pkcs8::Error::EncryptedPrivateKey(pkcs5::Error::DecryptFailed)
                    | pkcs8::Error::Asn1(_) => KeyError::WrongPassphrase,
                    other => KeyError::UnsupportedEncryption {
                        scheme: other.to_string(),
                    },
                })?;
                // Bytes that decrypted but are no PrivateKeyInfo come from
                // a wrong passphrase too; a PrivateKeyInfo of another
                // algorithm is a key, but not an Ed25519 one.
                PrivateKeyInfoRef::try_from(plain.as_bytes())
                    .map_err(|_| KeyError::WrongPassphrase)?;
                SecretKey::from_pkcs8_der(plain.as_bytes())
            }
            other => Err(KeyError::Pkcs8(format!(
                "the PEM label is {other:?}, not {PEM_LABEL:?} or {ENCRYPTED_PEM_LABEL:?}"
            ))),
        }
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<SecretKey, KeyError> {
        SigningKey::from_pkcs8_der(der)
            .map(SecretKey)
            .map_err(|e| KeyError::Pkcs8(e.to_string()))
    }
}

/// Whether a PEM text is an encrypted key file (its label is
/// `ENCRYPTED PRIVATE KEY`), so that a caller asks for a passphrase only
/// when one is needed.
pub fn is_encrypted_pem(pem: &str) -> bool {
    pkcs8::der::pem::decode_label(pem.as_bytes()).is_ok_and(|l| l == ENCRYPTED_PEM_LABEL)
}

/// Refuses, before any work, what [`SecretKey::from_pkcs8_pem_with`] cannot
/// or will not decrypt.
fn check_scheme(scheme: &pkcs5::EncryptionScheme) -> Result<(), KeyError> {
    let unsupported = |scheme: String| Err(KeyError::UnsupportedEncryption { scheme });
    let pkcs5::EncryptionScheme::Pbes2(params) = scheme else {
        return unsupported(format!("PBES1 ({})", scheme.oid()));
    };
    match &params.kdf {
        pbes2::Kdf::Pbkdf2(p) => {
            if p.prf == pbes2::Pbkdf2Prf::HmacWithSha1 {
                return unsupported("PBKDF2 with HMAC-SHA1".into());
            }
            if p.iteration_count == 0 {
                return Err(KeyError::Pkcs8("PBKDF2 with 0 iterations".into()));
            }
            if p.iteration_count > MAX_PBKDF2_ITERATIONS {
                return Err(KeyError::KdfTooCostly {
                    what: "PBKDF2 iterations",
                    value: p.iteration_count.into(),
                    max: MAX_PBKDF2_ITERATIONS.into(),
                });
            }
        }
        pbes2::Kdf::Scrypt(p) => {
            let n = p.cost_parameter;
            if n < 2 || !n.is_power_of_two() || p.block_size == 0 || p.parallelization == 0 {
                return Err(KeyError::Pkcs8(format!(
                    "scrypt N = {n}, r = {}, p = {}: N must be a power of two above 1, r and p above 0",
                    p.block_size, p.parallelization
                )));
            }
            let memory = 128u64
                .saturating_mul(u64::from(p.block_size))
                .saturating_mul(n);
            if memory > MAX_SCRYPT_MEMORY_BYTES {
                return Err(KeyError::KdfTooCostly {
                    what: "scrypt memory (128·r·N bytes)",
                    value: memory,
                    max: MAX_SCRYPT_MEMORY_BYTES,
                });
            }
            if p.parallelization > MAX_SCRYPT_PARALLELISM {
                return Err(KeyError::KdfTooCostly {
                    what: "scrypt parallelism p",
                    value: p.parallelization.into(),
                    max: MAX_SCRYPT_PARALLELISM.into(),
                });
            }
        }
        other => return unsupported(format!("the key derivation {}", other.oid())),
    }
    Ok(())
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

    const PASS: &[u8] = b"correct horse battery staple";

    /// An encrypted file with cheap parameters, so that tests that decrypt
    /// many times stay fast.
    fn cheap(k: &SecretKey, iterations: u32) -> String {
        k.to_encrypted_pkcs8_pem_with(PASS, iterations, &[9u8; 16], [3u8; 16])
            .unwrap()
    }

    /// `info` as an `ENCRYPTED PRIVATE KEY` PEM over 32 bytes of ciphertext.
    fn encrypted_pem(scheme: pkcs5::EncryptionScheme) -> String {
        EncryptedPrivateKeyInfoRef {
            encryption_algorithm: scheme,
            encrypted_data: OctetStringRef::new(&[0x5a; 32]).unwrap(),
        }
        .to_pem(LineEnding::LF)
        .unwrap()
    }

    #[test]
    fn encrypted_pem_round_trips_with_the_default_parameters() {
        let k = SecretKey::from_seed(&[7u8; 32]);
        let pem = k.to_encrypted_pkcs8_pem(PASS).unwrap();
        assert!(
            pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
            "{pem}"
        );
        assert!(is_encrypted_pem(&pem));
        assert!(!is_encrypted_pem(&k.to_pkcs8_pem().unwrap()));
        assert!(!is_encrypted_pem("not a key"));
        // The seed is nowhere in the file, in any encoding.
        assert!(!pem.contains(&hex::encode(k.seed())));
        let back = SecretKey::from_pkcs8_pem_with(&pem, Some(PASS)).unwrap();
        assert_eq!(back.seed(), k.seed());
        // PBES2 with PBKDF2-HMAC-SHA256 at PBKDF2_ITERATIONS and AES-256-CBC.
        let (_, doc) = SecretDocument::from_pem(&pem).unwrap();
        let info = EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes()).unwrap();
        let pkcs5::EncryptionScheme::Pbes2(params) = info.encryption_algorithm else {
            panic!("not PBES2");
        };
        let pbkdf2 = params.kdf.pbkdf2().expect("PBKDF2");
        assert_eq!(pbkdf2.iteration_count, PBKDF2_ITERATIONS);
        assert_eq!(pbkdf2.prf, pbes2::Pbkdf2Prf::HmacWithSha256);
        assert_eq!(pbkdf2.salt.as_ref().len(), PBKDF2_SALT_BYTES);
        assert!(matches!(
            params.encryption,
            pbes2::EncryptionScheme::Aes256Cbc { .. }
        ));
        // A fresh salt and IV each time.
        assert_ne!(k.to_encrypted_pkcs8_pem(PASS).unwrap(), pem);
    }

    #[test]
    fn a_wrong_or_missing_passphrase_is_named() {
        let k = SecretKey::from_seed(&[8u8; 32]);
        let pem = cheap(&k, 1);
        assert!(matches!(
            SecretKey::from_pkcs8_pem(&pem),
            Err(KeyError::PassphraseNeeded)
        ));
        assert!(matches!(
            SecretKey::from_pkcs8_pem_with(&pem, None),
            Err(KeyError::PassphraseNeeded)
        ));
        // Enough wrong passphrases that some give valid CBC padding over
        // bytes that are not DER (about one in 256): those are named the
        // same way.
        for i in 0..1000 {
            let wrong = format!("wrong {i}");
            match SecretKey::from_pkcs8_pem_with(&pem, Some(wrong.as_bytes())) {
                Err(KeyError::WrongPassphrase) => {}
                other => panic!("{wrong}: {other:?}"),
            }
        }
        assert!(matches!(
            SecretKey::from_pkcs8_pem_with(&pem, Some(b"")),
            Err(KeyError::WrongPassphrase)
        ));
        let back = SecretKey::from_pkcs8_pem_with(&pem, Some(PASS)).unwrap();
        assert_eq!(back.seed(), k.seed());
    }

    #[test]
    fn a_plain_pem_still_reads_with_or_without_a_passphrase() {
        let k = SecretKey::from_seed(&[9u8; 32]);
        let pem = k.to_pkcs8_pem().unwrap();
        for pass in [None, Some(PASS)] {
            let back = SecretKey::from_pkcs8_pem_with(&pem, pass).unwrap();
            assert_eq!(back.seed(), k.seed());
        }
    }

    #[test]
    fn an_empty_passphrase_is_refused() {
        let k = SecretKey::from_seed(&[1u8; 32]);
        assert!(matches!(
            k.to_encrypted_pkcs8_pem(b""),
            Err(KeyError::EmptyPassphrase)
        ));
    }

    #[test]
    fn what_is_not_a_key_says_so() {
        for text in [
            "",
            "not a key",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n",
        ] {
            match SecretKey::from_pkcs8_pem_with(text, Some(PASS)) {
                Err(KeyError::Pkcs8(_)) => {}
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn costly_or_broken_key_derivations_are_refused_before_any_work() {
        let iv = pbes2::EncryptionScheme::Aes256Cbc { iv: [0; 16] };
        let scrypt = |n: u64, r: u16, p: u16| {
            encrypted_pem(
                pbes2::Parameters {
                    kdf: pbes2::ScryptParams {
                        salt: [1u8; 16].as_slice().try_into().unwrap(),
                        cost_parameter: n,
                        block_size: r,
                        parallelization: p,
                        key_length: None,
                    }
                    .into(),
                    encryption: iv,
                }
                .into(),
            )
        };
        let pbkdf2 = |iterations: u32| {
            encrypted_pem(
                pbes2::Parameters {
                    kdf: pbes2::Pbkdf2Params::hmac_sha256(iterations, &[1u8; 16])
                        .unwrap()
                        .into(),
                    encryption: iv,
                }
                .into(),
            )
        };
        let costly = |pem: &str| {
            matches!(
                SecretKey::from_pkcs8_pem_with(pem, Some(PASS)),
                Err(KeyError::KdfTooCostly { .. })
            )
        };
        assert!(costly(&pbkdf2(MAX_PBKDF2_ITERATIONS + 1)));
        assert!(costly(&scrypt(1 << 30, 8, 1)));
        assert!(costly(&scrypt(1 << 14, 8, MAX_SCRYPT_PARALLELISM + 1)));
        // N = 0 would panic inside the scrypt parameters' conversion.
        for (n, r, p) in [
            (0, 8, 1),
            (1, 8, 1),
            (3, 8, 1),
            (1 << 14, 0, 1),
            (1 << 14, 8, 0),
        ] {
            match SecretKey::from_pkcs8_pem_with(&scrypt(n, r, p), Some(PASS)) {
                Err(KeyError::Pkcs8(_)) => {}
                other => panic!("N={n} r={r} p={p}: {other:?}"),
            }
        }
        assert!(matches!(
            SecretKey::from_pkcs8_pem_with(&pbkdf2(0), Some(PASS)),
            Err(KeyError::Pkcs8(_))
        ));
        // Cheap and well formed, but the ciphertext is junk.
        assert!(matches!(
            SecretKey::from_pkcs8_pem_with(&scrypt(1 << 10, 8, 1), Some(PASS)),
            Err(KeyError::WrongPassphrase)
        ));
        let pbes1 = encrypted_pem(pkcs5::EncryptionScheme::Pbes1(pkcs5::pbes1::Algorithm {
            encryption: pkcs5::pbes1::EncryptionScheme::PbeWithSha1AndDesCbc,
            parameters: pkcs5::pbes1::Parameters {
                salt: [1; 8],
                iteration_count: 2048,
            },
        }));
        let sha1 = encrypted_pem(
            pbes2::Parameters {
                kdf: pbes2::Pbkdf2Params {
                    prf: pbes2::Pbkdf2Prf::HmacWithSha1,
                    ..pbes2::Pbkdf2Params::hmac_sha256(2048, &[1u8; 16]).unwrap()
                }
                .into(),
                encryption: iv,
            }
            .into(),
        );
        for pem in [pbes1, sha1] {
            match SecretKey::from_pkcs8_pem_with(&pem, Some(PASS)) {
                Err(e @ KeyError::UnsupportedEncryption { .. }) => {
                    assert!(e.to_string().contains("openssl pkcs8"), "{e}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    proptest::proptest! {
        /// Reading never panics, whatever byte of an encrypted file is
        /// changed. (It may return another key: CBC has no integrity
        /// check, so a damaged ciphertext block can decrypt to a damaged
        /// seed under valid padding, as a damaged plain file does.)
        #[test]
        fn a_damaged_encrypted_file_never_panics(at in 0usize..4096, xor in 1u8..=255) {
            let k = SecretKey::from_seed(&[4u8; 32]);
            let (_, doc) = SecretDocument::from_pem(&cheap(&k, 2)).unwrap();
            let mut der = doc.as_bytes().to_vec();
            let at = at % der.len();
            der[at] ^= xor;
            let pem = pkcs8::der::pem::encode_string(ENCRYPTED_PEM_LABEL, LineEnding::LF, &der)
                .unwrap();
            let _ = SecretKey::from_pkcs8_pem_with(&pem, Some(PASS));
        }

        /// Nor on arbitrary bytes under the encrypted label.
        #[test]
        fn arbitrary_bytes_never_panic(der in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let pem = pkcs8::der::pem::encode_string(ENCRYPTED_PEM_LABEL, LineEnding::LF, &der)
                .unwrap();
            let _ = SecretKey::from_pkcs8_pem_with(&pem, Some(PASS));
        }
    }
}
