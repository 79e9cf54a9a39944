//! Node signing keys: Ed25519 in PKCS#8 PEM files, their public JWK form and key ids.

use std::path::Path;

use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde::{Deserialize, Serialize};

use super::{b64url, b64url_decode};

/// JOSE name we emit for Ed25519 signatures; RFC 9864's `Ed25519` is accepted too.
pub const ALG_EDDSA: &str = "EdDSA";
/// RFC 9864 fully-specified algorithm name for Ed25519.
pub const ALG_ED25519: &str = "Ed25519";

/// Errors loading, creating or reading keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("key file {0} is not a PKCS#8 PEM Ed25519 private key")]
    NotEd25519(String),
    #[error("could not generate a key: the system random source failed")]
    Random,
    #[error("JWK is not an Ed25519 public key (kty OKP, crv Ed25519, 32-byte x: a canonical point not of small order)")]
    BadJwk,
    #[error("audit key file {0} must hold 64 hex digits")]
    BadAuditKey(String),
}

/// A private key that signs records for one node (sign, JWK form, `alg` name).
pub trait Signer: Send + Sync {
    /// JOSE `alg` header value.
    fn alg(&self) -> &'static str;
    /// Full key id, `<node code>#<key id>`.
    fn kid(&self) -> &str;
    /// Signature over `message`.
    fn sign(&self, message: &[u8]) -> Vec<u8>;
    /// Public half as a JWK.
    fn public_jwk(&self) -> Jwk;
}

/// Ed25519 signing key of a node.
pub struct Ed25519Signer {
    pair: Ed25519KeyPair,
    kid: String,
}

impl Ed25519Signer {
    /// Generates a new key and writes it as PKCS#8 PEM with mode 0600; refuses to overwrite.
    pub fn generate(path: &Path, node_code: &str) -> Result<Self, KeyError> {
        let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Random)?;
        write_private(path, pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec())).as_bytes())?;
        Self::from_pkcs8(der.as_ref(), node_code).ok_or_else(|| KeyError::NotEd25519(path.display().to_string()))
    }

    /// A new key kept in memory only (unit tests, and the nodes of a benchmark that live one run).
    pub fn ephemeral(node_code: &str) -> Result<Self, KeyError> {
        let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Random)?;
        Self::from_pkcs8(der.as_ref(), node_code).ok_or(KeyError::Random)
    }

    /// Loads a PKCS#8 PEM key (v1 as written by OpenSSL, or v2 as written by `hunyu init`).
    pub fn load(path: &Path, node_code: &str) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| KeyError::Io { path: path.display().to_string(), source })?;
        let not_key = || KeyError::NotEd25519(path.display().to_string());
        let block = pem::parse(text).map_err(|_| not_key())?;
        if block.tag() != "PRIVATE KEY" {
            return Err(not_key());
        }
        Self::from_pkcs8(block.contents(), node_code).ok_or_else(not_key)
    }

    /// Builds a signer from a raw 32-byte seed and public key (test vectors, RFC 8037).
    pub fn from_seed(seed: &[u8], public: &[u8], kid: &str) -> Option<Self> {
        let pair = Ed25519KeyPair::from_seed_and_public_key(seed, public).ok()?;
        Some(Self { pair, kid: kid.to_owned() })
    }

    fn from_pkcs8(der: &[u8], node_code: &str) -> Option<Self> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).ok()?;
        let kid = format!("{node_code}#{}", key_id(pair.public_key().as_ref()));
        Some(Self { pair, kid })
    }
}

impl Signer for Ed25519Signer {
    fn alg(&self) -> &'static str {
        ALG_EDDSA
    }
    fn kid(&self) -> &str {
        &self.kid
    }
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
    fn public_jwk(&self) -> Jwk {
        Jwk::ed25519(self.pair.public_key().as_ref(), &self.kid)
    }
}

/// Writes a secret file with mode 0600 in a 0700 directory, durably; never overwrites one.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    crate::files::write_new_secret(path, contents)
        .map_err(|source| KeyError::Io { path: path.display().to_string(), source })
}

/// Creates the node's audit key (32 random bytes, hex), which keys the hashes naming persons in the audit log.
pub fn generate_audit_key(path: &Path) -> Result<(), KeyError> {
    let mut key = [0u8; 32];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut key).map_err(|_| KeyError::Random)?;
    write_private(path, super::hex(&key).as_bytes())
}

/// Reads the audit key.
pub fn load_audit_key(path: &Path) -> Result<Vec<u8>, KeyError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| KeyError::Io { path: path.display().to_string(), source })?;
    let text = text.trim();
    let bad = || KeyError::BadAuditKey(path.display().to_string());
    if text.len() != 64 {
        return Err(bad());
    }
    (0..32).map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())).collect()
}

/// Short key id: the first 8 characters of the RFC 7638 JWK thumbprint (short, for QR size).
fn key_id(public: &[u8]) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64url(public));
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
    b64url(digest.as_ref()).chars().take(8).collect()
}

/// A public key in JWK form (RFC 7517, OKP per RFC 8037).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

impl Jwk {
    /// The JWK of an Ed25519 public key.
    pub fn ed25519(public: &[u8], kid: &str) -> Self {
        Self {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: b64url(public),
            kid: kid.into(),
            alg: Some(ALG_EDDSA.into()),
            use_: Some("sig".into()),
        }
    }
}

/// A JWK set (`/.well-known/jwks.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// A public key that checks signatures of one algorithm.
///
/// Ed25519 follows one rule, the same for a single check and a batch, so that no signature is
/// good in one and bad in the other ("Taming the many EdDSAs", Chalkias, Garillot, Nikolaenko
/// 2020): RFC 8032's strict decoding (S below the group order, A and R canonical encodings), no
/// point of small order for A or R, and the cofactored equation `[8][S]B = [8]R + [8][k]A` that
/// RFC 8032 §5.1.7 states (also ZIP 215's, whose batch equation agrees with it).
#[derive(Debug, Clone)]
pub enum VerifyingKey {
    /// Ed25519 (RFC 8032), JOSE `EdDSA` or `Ed25519`.
    Ed25519(ed25519_zebra::VerificationKey),
}

/// Whether `bytes` is the canonical encoding of a curve point not of small order, by its bytes
/// alone: y below p, and a y that none of the eight points of small order has (their canonical
/// encodings with either sign bit). Whether it decodes is left to the equation, which fails if not.
fn is_strict_encoding(bytes: &[u8; 32]) -> bool {
    static SMALL_ORDER_Y: std::sync::LazyLock<Vec<[u8; 32]>> = std::sync::LazyLock::new(|| {
        curve25519_dalek::constants::EIGHT_TORSION.iter().map(|point| y_of(&point.compress().to_bytes())).collect()
    });
    let y = y_of(bytes);
    // p = 2^255 - 19, little-endian: ed ff … ff 7f.
    let below_p = y[31] < 0x7f || y[1..31].iter().any(|&b| b != 0xff) || y[0] < 0xed;
    below_p && !SMALL_ORDER_Y.contains(&y)
}

/// The y coordinate of an encoded point: the encoding without its sign bit.
fn y_of(bytes: &[u8; 32]) -> [u8; 32] {
    let mut y = *bytes;
    y[31] &= 0x7f;
    y
}

/// An Ed25519 signature that passes the strict decoding: canonical, not small-order R and S
/// below the group order.
fn strict_signature(signature: &[u8]) -> Option<ed25519_zebra::Signature> {
    let signature = ed25519_zebra::Signature::from_slice(signature).ok()?;
    let canonical_s = Scalar::from_canonical_bytes(*signature.s_bytes()).is_some().into();
    (canonical_s && is_strict_encoding(signature.r_bytes())).then_some(signature)
}

impl VerifyingKey {
    /// Reads a public JWK; only Ed25519 keys are accepted, and only a canonical point not of small order.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        let x = match (jwk.kty.as_str(), jwk.crv.as_str(), b64url_decode(&jwk.x)) {
            ("OKP", "Ed25519", Some(x)) => <[u8; 32]>::try_from(x).map_err(|_| KeyError::BadJwk)?,
            _ => return Err(KeyError::BadJwk),
        };
        if !is_strict_encoding(&x) || CompressedEdwardsY(x).decompress().is_none() {
            return Err(KeyError::BadJwk);
        }
        ed25519_zebra::VerificationKey::try_from(x).map(Self::Ed25519).map_err(|_| KeyError::BadJwk)
    }

    /// Whether a JWS `alg` value names this key's algorithm.
    pub fn accepts_alg(&self, alg: &str) -> bool {
        match self {
            Self::Ed25519(_) => alg == ALG_EDDSA || alg == ALG_ED25519,
        }
    }

    /// Length of every signature of this algorithm (a different length is a truncated or garbled token).
    pub fn signature_len(&self) -> usize {
        match self {
            Self::Ed25519(_) => 64,
        }
    }

    /// Checks `signature` over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Ed25519(key) => strict_signature(signature).is_some_and(|s| key.verify(&s, message).is_ok()),
        }
    }

    /// Checks many `(key, message, signature)` at once; true exactly when [`Self::verify`] holds
    /// for every one.
    ///
    /// One batch equation costs a fraction of the single checks when one key signed most of
    /// them, as with a request from one peer. A caller that gets false falls back to
    /// [`Self::verify`] to name the bad one.
    pub fn verify_batch(items: &[(&Self, &[u8], &[u8])]) -> bool {
        let mut batch = ed25519_zebra::batch::Verifier::new();
        for &(key, message, signature) in items {
            let Self::Ed25519(public) = key;
            let Some(signature) = strict_signature(signature) else {
                return false;
            };
            batch.queue((ed25519_zebra::VerificationKeyBytes::from(*public), signature, message));
        }
        batch.verify(getrandom::rand_core::UnwrapErr(getrandom::SysRng)).is_ok()
    }
}

/// Whether `alg` is any algorithm this build can verify (everything else is refused up front).
pub fn is_supported_alg(alg: &str) -> bool {
    alg == ALG_EDDSA || alg == ALG_ED25519
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte test agrees with decoding the point: canonical and not of small order.
    fn agrees(bytes: [u8; 32]) -> bool {
        match CompressedEdwardsY(bytes).decompress() {
            Some(point) => {
                is_strict_encoding(&bytes) == (!point.is_small_order() && point.compress().to_bytes() == bytes)
            }
            None => true,
        }
    }

    #[test]
    fn the_strict_encoding_test_matches_the_decoded_point_at_the_edges() {
        for low in 0..=255u8 {
            for last in [0x00, 0x7f, 0x80, 0xff] {
                for middle in [0x00, 0xff] {
                    let mut bytes = [middle; 32];
                    (bytes[0], bytes[31]) = (low, last);
                    assert!(agrees(bytes), "{bytes:02x?}");
                }
            }
        }
        for point in curve25519_dalek::constants::EIGHT_TORSION {
            let mut bytes = point.compress().to_bytes();
            assert!(!is_strict_encoding(&bytes));
            bytes[31] ^= 0x80;
            assert!(!is_strict_encoding(&bytes));
        }
    }

    proptest::proptest! {
        #[test]
        fn the_strict_encoding_test_matches_the_decoded_point(bytes: [u8; 32]) {
            proptest::prop_assert!(agrees(bytes));
        }
    }
}
