//! Verification (查验) at the residence and at the origin: every way a token can fail is named.

use hunyu::domain::claims::CERTIFICATE_TYP;
use hunyu::seal::{self, Ed25519Signer, b64url, qr, sign_compact};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, ORIGIN, RESIDENCE, TestNode, three_children, zhang_li};

both_backends!(
    residence_verifies_the_origins_certificate,
    forged_and_broken_tokens_are_named,
    expired_and_future_tokens
);
both_backends!(compression_bomb_is_refused);

/// The payload of a token, decoded.
fn payload(token: &str) -> Value {
    serde_json::from_slice(&seal::b64url_decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

/// A token with the given header and payload, signed by `signer` (or with `signature` bytes).
fn forge(header: &Value, payload: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(payload.to_string().as_bytes()));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64url(&signature))
}

async fn residence_verifies_the_origins_certificate(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let issued = origin.issue(&three_children()).await;
    for form in ["qr", "token"] {
        let result = residence.verify(issued[form].as_str().unwrap()).await;
        assert_eq!(result["valid"], true, "{result}");
        assert_eq!(result["status"], "active");
        assert_eq!(result["reasons"], json!([]));
        assert_eq!(result["issuer"], json!({ "code": ORIGIN.0, "name": ORIGIN.1 }));
        assert_eq!(result["certificate"]["person"]["name"], "欧阳晓雯");
        assert_eq!(result["certificate"]["children"].as_array().unwrap().len(), 3);
    }
    // Signed by the residence in the origin's name: the key is trusted, the claim is not.
    let claims = payload(issued["token"].as_str().unwrap()).to_string();
    let foreign = sign_compact(&residence.signer(), CERTIFICATE_TYP, claims.as_bytes(), false);
    let result = origin.verify(&foreign).await;
    assert_eq!(result["reasons"][0]["code"], "issuer_mismatch", "{result}");
    // Signed by a node that is not in the directory: an unknown issuer.
    let stranger = Ed25519Signer::generate(&residence.dir.path().join("stranger.pem"), "310101001000").unwrap();
    let result = origin.verify(&sign_compact(&stranger, CERTIFICATE_TYP, claims.as_bytes(), false)).await;
    assert_eq!(
        (result["status"].as_str(), result["reasons"][0]["code"].as_str()),
        (Some("unknown_issuer"), Some("unknown_issuer"))
    );
    // Verifying writes nothing.
    assert_eq!(residence.row_counts(), [0, 0, 0, 0]);
}

async fn forged_and_broken_tokens_are_named(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let issued = origin.issue(&zhang_li()).await;
    let token = issued["token"].as_str().unwrap();
    let header: Value =
        serde_json::from_slice(&seal::b64url_decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    let mut claims = payload(token);
    let signer = origin.signer();

    let mut cases: Vec<(&str, String)> = Vec::new();
    // Tampered: the payload changed after signing (a child removed), signature kept.
    claims["children"] = json!([]);
    let parts: Vec<&str> = token.split('.').collect();
    cases.push(("bad_signature", format!("{}.{}.{}", parts[0], b64url(claims.to_string().as_bytes()), parts[2])));
    claims = payload(token);
    // Signed by a key the origin never published, under the origin's own node code.
    let stranger =
        Ed25519Signer::from_seed(&[7; 32], &ring_public(&[7; 32]), &format!("{}#stranger", ORIGIN.0)).unwrap();
    cases.push(("unknown_key", sign_compact(&stranger, CERTIFICATE_TYP, claims.to_string().as_bytes(), false)));
    // The origin's kid, another key's signature.
    let impostor = Ed25519Signer::from_seed(&[9; 32], &ring_public(&[9; 32]), header["kid"].as_str().unwrap()).unwrap();
    cases.push(("bad_signature", sign_compact(&impostor, CERTIFICATE_TYP, claims.to_string().as_bytes(), false)));
    // alg none, with and without a signature.
    let none = json!({ "alg": "none", "kid": header["kid"], "typ": CERTIFICATE_TYP });
    cases.push(("disallowed_algorithm", forge(&none, &claims, |_| Vec::new())));
    // HS256 keyed with the public key: the classic algorithm-confusion forgery.
    let hs = json!({ "alg": "HS256", "kid": header["kid"], "typ": CERTIFICATE_TYP });
    let public = seal::b64url_decode(&origin.jwks().keys[0].x).unwrap();
    cases.push((
        "disallowed_algorithm",
        forge(&hs, &claims, |input| {
            ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &public), input).as_ref().to_vec()
        }),
    ));
    // Another record type signed by the right key.
    cases.push(("wrong_type", sign_compact(&signer, "hunyu-receipt+jwt", claims.to_string().as_bytes(), false)));
    // Signed properly but missing required content.
    let mut partial = claims.clone();
    partial.as_object_mut().unwrap().remove("person");
    cases.push(("schema", sign_compact(&signer, CERTIFICATE_TYP, partial.to_string().as_bytes(), false)));
    // Signed by the origin, claiming to be from another node.
    let mut other = claims.clone();
    other["iss"] = json!(RESIDENCE.0);
    cases.push(("issuer_mismatch", sign_compact(&signer, CERTIFICATE_TYP, other.to_string().as_bytes(), false)));
    // Truncated token and QR text, and garbage.
    cases.push(("malformed", token[..token.len() / 2].to_owned()));
    let qr_text = issued["qr"].as_str().unwrap();
    cases.push(("malformed", qr_text[..qr_text.len() - 40].to_owned()));
    cases.push(("malformed", "HY1:not base45 at all!".to_owned()));
    cases.push(("malformed", "hello".to_owned()));
    // Oversized, but still inside the request body limit.
    cases.push(("token_too_large", format!("{}.{}.{}", parts[0], "A".repeat(40_000), parts[2])));

    for (expected, forged) in cases {
        let result = residence.verify(&forged).await;
        assert_eq!(result["valid"], false, "{expected}: {result}");
        assert_eq!(result["reasons"][0]["code"], expected, "{result}");
        assert!(result.get("certificate").is_none(), "{expected}: content of a forged token is shown");
        assert!(!result["reasons"][0]["message"].as_str().unwrap().is_empty());
    }

    // Beyond the body limit: refused before it is read.
    let huge = json!({ "token": "A".repeat(100_000) });
    let (status, problem) = residence.post("/api/v1/verify", &residence.worker, &huge).await;
    assert_eq!((status, problem["code"].as_str()), (413, Some("request.too_large")));
}

async fn expired_and_future_tokens(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let issued = origin.issue(&zhang_li()).await;
    let signer = origin.signer();
    let now = chrono::Utc::now().timestamp();
    // Re-signed windows of the version issued (the issuer refuses a version it never issued).
    let mut claims = payload(issued["token"].as_str().unwrap());
    claims["nbf"] = json!(now - 4 * 365 * 86_400);
    claims["exp"] = json!(now - 86_400);
    let expired = qr::encode(&sign_compact(&signer, CERTIFICATE_TYP, claims.to_string().as_bytes(), true)).unwrap();
    let result = origin.verify(&expired).await;
    assert_eq!((result["valid"].as_bool(), result["status"].as_str()), (Some(false), Some("expired")), "{result}");
    assert_eq!(result["certificate"]["person"]["name"], "张丽");

    claims["nbf"] = json!(now + 86_400);
    claims["exp"] = json!(now + 2 * 86_400);
    let future = sign_compact(&signer, CERTIFICATE_TYP, claims.to_string().as_bytes(), false);
    let result = origin.verify(&future).await;
    assert_eq!(
        (result["status"].as_str(), result["reasons"][0]["code"].as_str()),
        (Some("invalid"), Some("not_yet_valid"))
    );
}

async fn compression_bomb_is_refused(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    // Properly signed: 16 MiB of spaces deflate to about 16 KiB.
    let bomb = vec![b' '; 16 << 20];
    let token = sign_compact(&origin.signer(), CERTIFICATE_TYP, &bomb, true);
    assert!(token.len() < 32 * 1024, "{}", token.len());
    let result = origin.verify(&token).await;
    assert_eq!(result["reasons"][0]["code"], "payload_too_large", "{result}");
    let result = origin.verify(&qr::encode(&token).unwrap()).await;
    assert_eq!(result["reasons"][0]["code"], "payload_too_large", "{result}");
}

/// The Ed25519 public key of a 32-byte seed.
fn ring_public(seed: &[u8; 32]) -> Vec<u8> {
    use ring::signature::KeyPair as _;
    ring::signature::Ed25519KeyPair::from_seed_unchecked(seed).unwrap().public_key().as_ref().to_vec()
}
