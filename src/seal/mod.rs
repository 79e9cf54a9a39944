//! Keys, signatures and the two transport forms of a signed record (compact JWS and QR text).
//!
//! Every signature goes through [`Signer`] and [`VerifyingKey`], so that a second algorithm
//! (SM2 with SM3, for the national 国密 profile) is one more implementation, not a rewrite.
//! The crypto provider is `ring`, the same one rustls uses for the exchange.

pub mod chain;
pub mod directory;
pub mod jws;
pub mod keys;
pub mod merkle;
pub mod password;
pub mod qr;
pub mod records;
pub mod transparency;
pub mod trust;

pub use jws::{JwsError, SignatureCheck, VerifiedJws, read_stored, sign_compact, verify_compact, verify_compact_all};
pub use keys::{Ed25519Signer, Jwk, Jwks, KeyError, Signer, VerifyingKey};
pub use trust::{TrustStore, TrustedKey};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes bytes as unpadded base64url, the only form JOSE allows.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url; padded or non-canonical input is refused.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// 256 random bits as base64url: API keys, session cookies, form tokens. None if the system's
/// random source fails.
pub fn random_secret() -> Option<String> {
    let mut raw = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw).ok()?;
    Some(b64url(&raw))
}

/// SHA-256 of `bytes` as lower-case hex (TLS certificate fingerprints, message digests).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// Lower-case hex of bytes (hashes, stored and compared as text).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}
