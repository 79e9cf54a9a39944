//! The Ed25519 rule (issue 10): a batch of signatures accepts exactly what single checks accept,
//! on the published edge cases of "Taming the many EdDSAs" and ZIP 215.

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::CompressedEdwardsY;
use hunyu::seal::{Jwk, VerifyingKey};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    message: String,
    pub_key: String,
    signature: String,
}

/// What a node concludes of `(public key, message, signature)`: alone, and in a batch.
fn outcomes(public: &[u8; 32], message: &[u8], signature: &[u8]) -> (bool, bool) {
    match VerifyingKey::from_jwk(&Jwk::ed25519(public, "edge#case")) {
        Ok(key) => (key.verify(message, signature), VerifyingKey::verify_batch(&[(&key, message, signature)])),
        // The rule refuses the key itself: nothing it signed is accepted either way.
        Err(_) => (false, false),
    }
}

/// What plain ZIP 215 (ed25519-zebra without the strict decoding) says, alone and in a batch.
fn zip215(public: &[u8; 32], message: &[u8], signature: &[u8]) -> (bool, bool) {
    let signature = ed25519_zebra::Signature::from_slice(signature).unwrap();
    let key = ed25519_zebra::VerificationKeyBytes::from(*public);
    let single = ed25519_zebra::VerificationKey::try_from(key).is_ok_and(|k| k.verify(&signature, message).is_ok());
    let mut batch = ed25519_zebra::batch::Verifier::new();
    batch.queue((key, signature, message));
    (single, batch.verify(getrandom::rand_core::UnwrapErr(getrandom::SysRng)).is_ok())
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn hex32(text: &str) -> [u8; 32] {
    unhex(text).try_into().unwrap()
}

#[test]
fn the_edge_cases_of_taming_the_many_eddsas_get_one_answer() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ed25519/speccheck-cases.json");
    let cases: Vec<Case> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(cases.len(), 12);
    // Accepted: mixed-order A and R under the cofactored equation (3, 4, 5); refused: small-order
    // A or R (0-2), S out of bounds (6, 7), non-canonical R (8, 9) or A (10, 11).
    let accepted = [3, 4, 5];
    println!("case  single  batch  zip215(single, batch)");
    let mut all = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        let (public, message, signature) = (hex32(&case.pub_key), unhex(&case.message), unhex(&case.signature));
        let (single, batch) = outcomes(&public, &message, &signature);
        println!("{n:>4}  {single:>6}  {batch:>5}  {:?}", zip215(&public, &message, &signature));
        assert_eq!(single, batch, "case {n}: single and batch disagree");
        assert_eq!(single, accepted.contains(&n), "case {n}");
        all.push((public, message, signature));
    }
    // A batch of all twelve whose keys load fails, as the single checks do; of the accepted ones, holds.
    let keys: Vec<_> =
        all.iter().map(|(public, _, _)| VerifyingKey::from_jwk(&Jwk::ed25519(public, "edge#case")).ok()).collect();
    let batch = |only: &dyn Fn(usize) -> bool| {
        let items: Vec<_> = all
            .iter()
            .zip(&keys)
            .enumerate()
            .filter(|(n, _)| only(*n))
            .filter_map(|(_, ((_, m, s), k))| k.as_ref().map(|k| (k, m.as_slice(), s.as_slice())))
            .collect();
        VerifyingKey::verify_batch(&items)
    };
    assert!(!batch(&|_| true));
    assert!(batch(&|n| accepted.contains(&n)));
}

/// The ZIP 215 vectors: S = 0 over "Zcash", A and R every pair of the eight canonical encodings
/// of the 8-torsion points and the first six non-canonical point encodings (the encoding of 0 with
/// the sign bit, then y + p for y below 19, each without and with the sign bit, that decode).
fn zip215_vectors() -> Vec<([u8; 32], [u8; 64])> {
    let mut zero_with_sign = [0u8; 32];
    zero_with_sign[31] = 0x80;
    let non_canonical = (0..19u8).flat_map(|low| {
        [0x7f, 0xff].into_iter().map(move |last| {
            let mut y = [0xffu8; 32];
            (y[0], y[31]) = (0xed + low, last);
            y
        })
    });
    let non_canonical = std::iter::once(zero_with_sign)
        .chain(non_canonical.filter(|y| CompressedEdwardsY(*y).decompress().is_some()))
        .take(6);
    let encodings: Vec<[u8; 32]> = EIGHT_TORSION.iter().map(|p| p.compress().to_bytes()).chain(non_canonical).collect();
    let mut vectors = Vec::new();
    for a in &encodings {
        for r in &encodings {
            let mut signature = [0u8; 64];
            signature[..32].copy_from_slice(r);
            vectors.push((*a, signature));
        }
    }
    vectors
}

#[test]
fn the_zip215_vectors_are_refused_alone_and_in_batches_alike() {
    let vectors = zip215_vectors();
    assert_eq!(vectors.len(), 196);
    let mut zip215_accepted = 0;
    for (public, signature) in &vectors {
        // ZIP 215's own single and batch agree; the rule here refuses every one, alone or batched.
        let (single, batch) = zip215(public, b"Zcash", signature);
        assert_eq!(single, batch);
        zip215_accepted += usize::from(single);
        assert_eq!(outcomes(public, b"Zcash", signature), (false, false));
    }
    println!("ZIP 215 accepts {zip215_accepted} of {}; this node none", vectors.len());
    assert_eq!(zip215_accepted, 13 * 13, "the cases whose A and R are both of small order");
}
