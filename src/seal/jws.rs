//! Compact JWS (RFC 7515) with Ed25519, optional DEFLATE payload (`zip: "DEF"`), capped inflation.
//!
//! Hand-written on purpose: common JOSE crates neither accept RFC 9864's `Ed25519` name nor the
//! `zip` header, nor say *why* a token fails, and a verifier here must name the reason.

use std::cell::RefCell;

use libdeflater::{CompressionLvl, Compressor, DecompressionError, Decompressor};
use serde::{Deserialize, Serialize};

use super::keys::{Signer, is_supported_alg};
use super::trust::{TrustStore, TrustedKey};
use super::{b64url, b64url_decode};
use crate::domain::verification::Reason;

/// Longest token accepted before any parsing (a certificate is about 1 KiB; headroom for new fields).
pub const MAX_TOKEN_LEN: usize = 32 * 1024;
/// Largest payload accepted after inflation; stops compression bombs.
pub const MAX_PAYLOAD_LEN: usize = 64 * 1024;

/// Why a token could not be verified.
pub type JwsError = Reason;

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'a str,
    kid: &'a str,
    typ: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    zip: Option<&'a str>,
}

/// Protected header fields that matter to a verifier.
#[derive(Debug, Clone, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    pub zip: Option<String>,
    #[serde(default)]
    pub crit: Option<serde_json::Value>,
}

/// Signs `payload` as a compact JWS of type `typ`; with `compress`, deflates it first (`zip: DEF`).
pub fn sign_compact(signer: &dyn Signer, typ: &str, payload: &[u8], compress: bool) -> String {
    let header = HeaderOut { alg: signer.alg(), kid: signer.kid(), typ, zip: compress.then_some("DEF") };
    // Serializing a struct of strings cannot fail.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let body = if compress { deflate(payload) } else { payload.to_vec() };
    let mut token = format!("{}.{}", b64url(&header), b64url(&body));
    let signature = signer.sign(token.as_bytes());
    token.push('.');
    token.push_str(&b64url(&signature));
    token
}

/// Raw DEFLATE at libdeflate's default level: on certificate-sized JSON the slow levels save
/// nothing (measured: 341 bytes at level 6, 342 at level 12, three times slower).
fn deflate(bytes: &[u8]) -> Vec<u8> {
    DEFLATER.with_borrow_mut(|compressor| {
        let mut out = vec![0; compressor.deflate_compress_bound(bytes.len())];
        // The buffer has the bound libdeflate asks for, so compression cannot run out of space.
        let written = compressor.deflate_compress(bytes, &mut out).unwrap_or(0);
        out.truncate(written);
        out
    })
}

/// A token whose signature checked out against a trusted key.
#[derive(Debug)]
pub struct VerifiedJws<'t> {
    pub header: Header,
    /// Payload bytes, inflated if the token was compressed.
    pub payload: Vec<u8>,
    pub key: &'t TrustedKey,
}

/// The three parts of a compact JWS, decoded but not yet checked.
pub struct CompactParts<'a> {
    /// `base64url(header) . base64url(payload)`: the bytes the signature covers.
    pub signing_input: &'a str,
    pub header_json: Vec<u8>,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Splits and decodes a compact JWS without trusting anything in it.
pub fn split_compact(token: &str) -> Result<CompactParts<'_>, Reason> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(Reason::TokenTooLarge);
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or(Reason::Malformed)?;
    let (header, payload) = signing_input.split_once('.').ok_or(Reason::Malformed)?;
    Ok(CompactParts {
        signing_input,
        header_json: b64url_decode(header).ok_or(Reason::Malformed)?,
        payload: b64url_decode(payload).ok_or(Reason::Malformed)?,
        signature: b64url_decode(signature).ok_or(Reason::Malformed)?,
    })
}

/// Verifies a compact JWS of type `typ` against `trust`: algorithm, type, key, signature, size.
pub fn verify_compact<'t>(token: &str, typ: &str, trust: &'t TrustStore) -> Result<VerifiedJws<'t>, Reason> {
    let parts = split_compact(token)?;
    let header: Header = serde_json::from_slice(&parts.header_json).map_err(|_| Reason::Malformed)?;
    if !is_supported_alg(&header.alg) {
        return Err(Reason::DisallowedAlgorithm);
    }
    // RFC 7515 §4.1.11: extensions we do not understand must not be ignored.
    if header.crit.is_some() {
        return Err(Reason::Malformed);
    }
    if header.typ.as_deref() != Some(typ) {
        return Err(Reason::WrongType);
    }
    let key = trust.resolve(header.kid.as_deref().ok_or(Reason::Malformed)?)?;
    if !key.key.accepts_alg(&header.alg) {
        return Err(Reason::DisallowedAlgorithm);
    }
    if parts.signature.len() != key.key.signature_len() {
        return Err(Reason::Malformed);
    }
    if !key.key.verify(parts.signing_input.as_bytes(), &parts.signature) {
        return Err(Reason::BadSignature);
    }
    let payload = match header.zip.as_deref() {
        None => cap(parts.payload)?,
        Some("DEF") => inflate(&parts.payload)?,
        Some(_) => return Err(Reason::Malformed),
    };
    Ok(VerifiedJws { header, payload, key })
}

fn cap(payload: Vec<u8>) -> Result<Vec<u8>, Reason> {
    if payload.len() > MAX_PAYLOAD_LEN { Err(Reason::PayloadTooLarge) } else { Ok(payload) }
}

thread_local! {
    /// One compressor per thread: issuing compresses two QR texts per certificate version.
    static DEFLATER: RefCell<Compressor> = RefCell::new(Compressor::new(CompressionLvl::default()));
    /// One decompressor and one capped output buffer per thread: inflating is on the verify hot path.
    static INFLATER: RefCell<(Decompressor, Vec<u8>)> = RefCell::new((Decompressor::new(), vec![0; MAX_PAYLOAD_LEN]));
}

/// Inflates raw DEFLATE into a buffer of the capped size: a bomb stops at the cap, costing nothing.
fn inflate(compressed: &[u8]) -> Result<Vec<u8>, Reason> {
    INFLATER.with_borrow_mut(|(decompressor, buffer)| match decompressor.deflate_decompress(compressed, buffer) {
        Ok(len) => Ok(buffer[..len].to_vec()),
        Err(DecompressionError::InsufficientSpace) => Err(Reason::PayloadTooLarge),
        Err(DecompressionError::BadData) => Err(Reason::Malformed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflate_stops_at_the_cap() {
        let bomb = deflate(&vec![b'a'; 10 * MAX_PAYLOAD_LEN]);
        assert!(bomb.len() < 2048);
        assert_eq!(inflate(&bomb), Err(Reason::PayloadTooLarge));
        let fine = deflate(b"{}");
        assert_eq!(inflate(&fine).as_deref(), Ok(&b"{}"[..]));
    }

    #[test]
    fn split_refuses_garbage() {
        assert!(matches!(split_compact("abc"), Err(Reason::Malformed)));
        assert!(matches!(split_compact("a.b"), Err(Reason::Malformed)));
        assert!(matches!(split_compact("a.b.c!"), Err(Reason::Malformed)));
        assert!(matches!(split_compact(&"a".repeat(MAX_TOKEN_LEN + 1)), Err(Reason::TokenTooLarge)));
    }
}
