//! Compact JWS (RFC 7515) with Ed25519, optional DEFLATE payload (`zip: "DEF"`), capped inflation.
//!
//! Hand-written on purpose: common JOSE crates neither accept RFC 9864's `Ed25519` name nor the
//! `zip` header, nor say *why* a token fails, and a verifier here must name the reason.

use std::cell::RefCell;

use libdeflater::{CompressionLvl, Compressor, DecompressionError, Decompressor};
use serde::{Deserialize, Serialize};

use super::directory::DIRECTORY_TYP;
use super::keys::{Signer, VerifyingKey, is_supported_alg};
use super::trust::{TrustStore, TrustedKey};
use super::{b64url, b64url_decode};
use crate::domain::assessment::REPORT_TYP;
use crate::domain::claims::STATUS_LIST_TYP;
use crate::domain::verification::Reason;

/// Longest token accepted before any parsing (a certificate is about 1 KiB; headroom for new fields).
pub const MAX_TOKEN_LEN: usize = 32 * 1024;
/// Largest payload accepted after inflation; stops compression bombs.
pub const MAX_PAYLOAD_LEN: usize = 64 * 1024;
/// Longest trust directory accepted, as read from a registry and as opened (40,000 nodes fit well
/// below this).
pub const MAX_DIRECTORY_LEN: usize = 64 * 1024 * 1024;
/// Longest status list accepted, as read from a peer and as opened (some 500,000 entries).
pub const MAX_STATUS_LIST_LEN: usize = 32 * 1024 * 1024;
/// Longest monthly report accepted, as read by a registry and as opened (a township's
/// counterparts by the thousand fit well below this).
pub const MAX_REPORT_LEN: usize = 1024 * 1024;

/// The size caps of a kind of record: its token before any parsing, its payload after inflation
/// (every kind's inflation stops at its payload cap, so a compression bomb costs no more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub token: usize,
    pub payload: usize,
}

impl Limits {
    /// A record of one person or one exchange (certificates, QR-sized; presentations, messages,
    /// receipts, look-ups, answers, tree heads).
    pub const RECORD: Self = Self { token: MAX_TOKEN_LEN, payload: MAX_PAYLOAD_LEN };
    /// The trust directory: every node of the federation.
    pub const DIRECTORY: Self = Self { token: MAX_DIRECTORY_LEN, payload: MAX_DIRECTORY_LEN };
    /// A node's status list: every version it signed that is no longer in force.
    pub const STATUS_LIST: Self = Self { token: MAX_STATUS_LIST_LEN, payload: MAX_STATUS_LIST_LEN };
    /// A node's monthly report: its figures, and its counts per counterpart node.
    pub const REPORT: Self = Self { token: MAX_REPORT_LEN, payload: MAX_REPORT_LEN };

    /// The caps of the records of type `typ`, the type a verifier expects (never the type a
    /// token names for itself: the caps hold before its header is read).
    pub fn of(typ: &str) -> Self {
        match typ {
            DIRECTORY_TYP => Self::DIRECTORY,
            STATUS_LIST_TYP => Self::STATUS_LIST,
            REPORT_TYP => Self::REPORT,
            _ => Self::RECORD,
        }
    }
}

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

/// The payload of an uncompressed token this node signed, or checked before it stored it, read
/// without checking it again; `None` when it does not read as `T`.
pub fn read_stored<T: serde::de::DeserializeOwned>(token: &str) -> Option<T> {
    let part = token.split('.').nth(1)?;
    serde_json::from_slice(&b64url_decode(part)?).ok()
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

/// Splits and decodes a compact JWS without trusting anything in it, within the token cap of
/// [`Limits::RECORD`] (a certificate's).
pub fn split_compact(token: &str) -> Result<CompactParts<'_>, Reason> {
    split_within(token, Limits::RECORD)
}

/// [`split_compact`] within the token cap of `limits`.
pub fn split_within(token: &str, limits: Limits) -> Result<CompactParts<'_>, Reason> {
    if token.len() > limits.token {
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

/// Verifies a compact JWS of type `typ` against `trust`: algorithm, type, key, signature, and
/// size within the [`Limits`] of `typ`.
pub fn verify_compact<'t>(token: &str, typ: &str, trust: &'t TrustStore) -> Result<VerifiedJws<'t>, Reason> {
    let unchecked = read_signed(token, typ, trust)?;
    if !unchecked.signature_holds() {
        return Err(Reason::BadSignature);
    }
    unchecked.open()
}

/// Checks signatures as [`VerifyingKey::verify`] does, perhaps together with other requests'
/// checks (`node::signatures`).
pub trait SignatureCheck: Sync {
    /// Whether `signature` over `message` holds under `key`.
    fn holds(&self, key: &VerifyingKey, message: &[u8], signature: &[u8]) -> impl Future<Output = bool> + Send;
}

/// [`verify_compact`] with the signature checked by `checks`.
pub async fn verify_compact_batched<'t>(
    token: &str,
    typ: &str,
    trust: &'t TrustStore,
    checks: &impl SignatureCheck,
) -> Result<VerifiedJws<'t>, Reason> {
    let unchecked = read_signed(token, typ, trust)?;
    let parts = &unchecked.parts;
    if !checks.holds(&unchecked.key.key, parts.signing_input.as_bytes(), &parts.signature).await {
        return Err(Reason::BadSignature);
    }
    unchecked.open()
}

/// Verifies many compact JWS of type `typ`, each with [`verify_compact`]'s outcome; their
/// signatures are checked in one batch, and one by one only if the batch fails.
pub fn verify_compact_all<'t>(
    tokens: &[&str],
    typ: &str,
    trust: &'t TrustStore,
) -> Vec<Result<VerifiedJws<'t>, Reason>> {
    let read: Vec<_> = tokens.iter().map(|token| read_signed(token, typ, trust)).collect();
    let signed: Vec<_> = read
        .iter()
        .flatten()
        .map(|u| (&u.key.key, u.parts.signing_input.as_bytes(), u.parts.signature.as_slice()))
        .collect();
    let all_hold = VerifyingKey::verify_batch(&signed);
    read.into_iter()
        .map(|unchecked| {
            let unchecked = unchecked?;
            if !all_hold && !unchecked.signature_holds() {
                return Err(Reason::BadSignature);
            }
            unchecked.open()
        })
        .collect()
}

/// A token whose header and key passed, with its signature not yet checked.
struct Unchecked<'a, 't> {
    parts: CompactParts<'a>,
    header: Header,
    key: &'t TrustedKey,
    /// The caps of its type, the payload's still to be applied.
    limits: Limits,
}

/// Everything [`verify_compact`] checks before the signature.
fn read_signed<'a, 't>(token: &'a str, typ: &str, trust: &'t TrustStore) -> Result<Unchecked<'a, 't>, Reason> {
    let limits = Limits::of(typ);
    let parts = split_within(token, limits)?;
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
    Ok(Unchecked { parts, header, key, limits })
}

impl<'t> Unchecked<'_, 't> {
    fn signature_holds(&self) -> bool {
        self.key.key.verify(self.parts.signing_input.as_bytes(), &self.parts.signature)
    }

    /// The payload of a token whose signature holds, inflated if compressed, within its cap.
    fn open(self) -> Result<VerifiedJws<'t>, Reason> {
        let most = self.limits.payload;
        let payload = match self.header.zip.as_deref() {
            None if self.parts.payload.len() > most => return Err(Reason::PayloadTooLarge),
            None => self.parts.payload,
            Some("DEF") => inflate(&self.parts.payload, most)?,
            Some(_) => return Err(Reason::Malformed),
        };
        Ok(VerifiedJws { header: self.header, payload, key: self.key })
    }
}

thread_local! {
    /// One compressor per thread: issuing compresses two QR texts per certificate version.
    static DEFLATER: RefCell<Compressor> = RefCell::new(Compressor::new(CompressionLvl::default()));
    /// One decompressor and one capped output buffer per thread: inflating is on the verify hot path.
    static INFLATER: RefCell<(Decompressor, Vec<u8>)> = RefCell::new((Decompressor::new(), vec![0; MAX_PAYLOAD_LEN]));
}

/// Inflates raw DEFLATE into a buffer of at most `most` bytes: a bomb stops at the cap. Up to
/// [`MAX_PAYLOAD_LEN`] into the thread's buffer, costing nothing; a larger cap (a directory's, a
/// status list's) is tried in buffers four times larger each time, up to the cap, so that a
/// small payload of such a kind allocates little and a bomb no more than the cap.
fn inflate(compressed: &[u8], most: usize) -> Result<Vec<u8>, Reason> {
    INFLATER.with_borrow_mut(|(decompressor, buffer)| {
        let mut room = most.min(buffer.len());
        match decompressor.deflate_decompress(compressed, &mut buffer[..room]) {
            Ok(len) => return Ok(buffer[..len].to_vec()),
            Err(DecompressionError::InsufficientSpace) if room < most => {}
            Err(DecompressionError::InsufficientSpace) => return Err(Reason::PayloadTooLarge),
            Err(DecompressionError::BadData) => return Err(Reason::Malformed),
        }
        loop {
            room = room.saturating_mul(4).min(most);
            let mut larger = vec![0; room];
            match decompressor.deflate_decompress(compressed, &mut larger) {
                Ok(len) => {
                    larger.truncate(len);
                    return Ok(larger);
                }
                Err(DecompressionError::InsufficientSpace) if room < most => {}
                Err(DecompressionError::InsufficientSpace) => return Err(Reason::PayloadTooLarge),
                Err(DecompressionError::BadData) => return Err(Reason::Malformed),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflate_stops_at_the_cap() {
        let bomb = deflate(&vec![b'a'; 10 * MAX_PAYLOAD_LEN]);
        assert!(bomb.len() < 2048);
        assert_eq!(inflate(&bomb, MAX_PAYLOAD_LEN), Err(Reason::PayloadTooLarge));
        let fine = deflate(b"{}");
        assert_eq!(inflate(&fine, MAX_PAYLOAD_LEN).as_deref(), Ok(&b"{}"[..]));
    }

    #[test]
    fn inflation_stops_at_the_cap_of_every_kind() {
        for limits in [Limits::RECORD, Limits::STATUS_LIST, Limits::DIRECTORY] {
            let most = limits.payload;
            let bomb = deflate(&vec![b'a'; most + 1]);
            assert_eq!(inflate(&bomb, most), Err(Reason::PayloadTooLarge), "{limits:?}");
            // Every size up to the cap inflates, at the edges of each buffer tried.
            let sizes = [0, MAX_PAYLOAD_LEN, MAX_PAYLOAD_LEN + 1, 4 * MAX_PAYLOAD_LEN + 1, most];
            for size in sizes.into_iter().filter(|&size| size <= most) {
                let inflated = inflate(&deflate(&vec![b'a'; size]), most).map(|p| p.len());
                assert_eq!(inflated, Ok(size), "{limits:?}");
            }
        }
        assert_eq!(inflate(&[0xff, 0xff, 0xff], MAX_STATUS_LIST_LEN), Err(Reason::Malformed));
    }

    #[test]
    fn the_caps_are_those_of_the_kind_the_verifier_expects() {
        use crate::domain::claims::CERTIFICATE_TYP;
        assert_eq!(Limits::of(CERTIFICATE_TYP), Limits { token: 32 * 1024, payload: 64 * 1024 });
        assert_eq!(Limits::of(STATUS_LIST_TYP), Limits { token: 32 << 20, payload: 32 << 20 });
        assert_eq!(Limits::of(DIRECTORY_TYP), Limits { token: 64 << 20, payload: 64 << 20 });
        assert_eq!(Limits::of(REPORT_TYP), Limits { token: 1 << 20, payload: 1 << 20 });

        let (trust, signers) = two_signers();
        let large = format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_PAYLOAD_LEN));
        for typ in [STATUS_LIST_TYP, DIRECTORY_TYP, REPORT_TYP] {
            for compress in [false, true] {
                let token = sign_compact(&signers[0], typ, large.as_bytes(), compress);
                assert!(compress || token.len() > MAX_TOKEN_LEN);
                assert_eq!(verify_compact(&token, typ, &trust).unwrap().payload, large.as_bytes());
                assert_eq!(verify_compact_all(&[&token], typ, &trust)[0].as_ref().unwrap().payload, large.as_bytes());
                // A token naming a large kind is held to the caps of the kind expected of it.
                let expected = if compress { Reason::WrongType } else { Reason::TokenTooLarge };
                assert_eq!(verify_compact(&token, CERTIFICATE_TYP, &trust).err(), Some(expected), "{typ}");
            }
            // A certificate as large is refused, compressed or not.
            let token = sign_compact(&signers[0], CERTIFICATE_TYP, large.as_bytes(), false);
            assert_eq!(verify_compact(&token, CERTIFICATE_TYP, &trust).err(), Some(Reason::TokenTooLarge));
            let token = sign_compact(&signers[0], CERTIFICATE_TYP, large.as_bytes(), true);
            assert_eq!(verify_compact(&token, CERTIFICATE_TYP, &trust).err(), Some(Reason::PayloadTooLarge));
        }
        // Each large kind has its cap too, before anything is read.
        let over = "a".repeat(MAX_STATUS_LIST_LEN + 1);
        assert_eq!(verify_compact(&over, STATUS_LIST_TYP, &trust).err(), Some(Reason::TokenTooLarge));
        assert_eq!(verify_compact(&over, DIRECTORY_TYP, &trust).err(), Some(Reason::Malformed));
        let over = "a".repeat(MAX_DIRECTORY_LEN + 1);
        assert_eq!(verify_compact(&over, DIRECTORY_TYP, &trust).err(), Some(Reason::TokenTooLarge));
    }

    /// A trust store of two nodes, each with a signer.
    fn two_signers() -> (TrustStore, Vec<crate::seal::Ed25519Signer>) {
        use ring::signature::KeyPair as _;
        let mut trust = TrustStore::default();
        let mut signers = Vec::new();
        for (seed, code) in [(1u8, "130728102000"), (2, "440306001000")] {
            let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
            let kid = format!("{code}#k{seed}");
            let signer = crate::seal::Ed25519Signer::from_seed(&[seed; 32], pair.public_key().as_ref(), &kid).unwrap();
            trust.add_node(code, code, &[signer.public_jwk()]).unwrap();
            signers.push(signer);
        }
        (trust, signers)
    }

    #[test]
    fn a_batch_names_each_bad_token_as_single_checks_do() {
        let (trust, signers) = two_signers();
        let mut tokens: Vec<String> = (0..40)
            .map(|n| sign_compact(&signers[n % 2], "t", format!(r#"{{"n":{n}}}"#).as_bytes(), n % 3 == 0))
            .collect();
        let all: Vec<&str> = tokens.iter().map(String::as_str).collect();
        assert!(verify_compact_all(&all, "t", &trust).iter().all(Result::is_ok));

        // A signature of one token under another's content, a token of another type, garbage.
        let (head, _) = tokens[7].rsplit_once('.').unwrap();
        let (_, foreign) = tokens[9].rsplit_once('.').unwrap();
        tokens[7] = format!("{head}.{foreign}");
        tokens[20] = sign_compact(&signers[0], "other", b"{}", false);
        tokens[33] = "x.y.z".into();
        let all: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let batch = verify_compact_all(&all, "t", &trust);
        for (n, (token, outcome)) in all.iter().zip(&batch).enumerate() {
            let single = verify_compact(token, "t", &trust);
            assert_eq!(outcome.as_ref().err(), single.as_ref().err(), "token {n}");
            if let (Ok(batched), Ok(single)) = (outcome, single) {
                assert_eq!(batched.payload, single.payload);
            }
        }
        assert_eq!(batch[7].as_ref().err(), Some(&Reason::BadSignature));
        assert_eq!(batch[20].as_ref().err(), Some(&Reason::WrongType));
        assert_eq!(batch.iter().filter(|outcome| outcome.is_ok()).count(), 37);
    }

    proptest::proptest! {
        /// Whatever a request holds (good tokens, tokens with one character changed, in any
        /// order), the batch check names the same outcome for each as the single check.
        #[test]
        fn batches_agree_with_single_checks(
            picks in proptest::collection::vec((0usize..8, proptest::option::of((0usize..400, 0u8..64))), 1..24)
        ) {
            let (trust, signers) = two_signers();
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let tokens: Vec<String> = picks
                .iter()
                .map(|&(n, change)| {
                    let mut token = sign_compact(&signers[n % 2], "t", format!(r#"{{"n":{n}}}"#).as_bytes(), n % 3 == 0);
                    if let Some((at, to)) = change {
                        let at = at % token.len();
                        token.replace_range(at..=at, &char::from(ALPHABET[usize::from(to)]).to_string());
                    }
                    token
                })
                .collect();
            let all: Vec<&str> = tokens.iter().map(String::as_str).collect();
            let batch = verify_compact_all(&all, "t", &trust);
            for (token, outcome) in all.iter().zip(&batch) {
                let single = verify_compact(token, "t", &trust);
                proptest::prop_assert_eq!(outcome.as_ref().err(), single.as_ref().err());
                if let (Ok(batched), Ok(single)) = (outcome, single) {
                    proptest::prop_assert_eq!(&batched.payload, &single.payload);
                }
            }
        }
    }

    #[test]
    fn split_refuses_garbage() {
        assert!(matches!(split_compact("abc"), Err(Reason::Malformed)));
        assert!(matches!(split_compact("a.b"), Err(Reason::Malformed)));
        assert!(matches!(split_compact("a.b.c!"), Err(Reason::Malformed)));
        assert!(matches!(split_compact(&"a".repeat(MAX_TOKEN_LEN + 1)), Err(Reason::TokenTooLarge)));
    }
}
