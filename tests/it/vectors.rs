//! Interoperability: vectors made by an independent implementation, and tokens read by a standard JOSE library.

use chrono::{TimeZone as _, Utc};
use hunyu::contract::Contract;
use hunyu::domain::claims::CERTIFICATE_TYP;
use hunyu::domain::error::Coded as _;
use hunyu::domain::verification::window_reasons;
use hunyu::seal::records::open_certificate as check_certificate;
use hunyu::seal::{Ed25519Signer, Jwks, TrustStore, b64url_decode, qr, sign_compact};
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{Backend, ORIGIN, TestNode, three_children, zhang_li};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/vectors");

fn vector_trust() -> TrustStore {
    let jwks: Jwks = serde_json::from_str(&std::fs::read_to_string(format!("{VECTORS}/jwks.json")).unwrap()).unwrap();
    let mut trust = TrustStore::default();
    trust.add_node("130728102000", "怀安县柴沟堡镇", &jwks.keys).unwrap();
    trust
}

#[test]
fn every_vector_gets_its_verdict() {
    let trust = vector_trust();
    let contract = Contract::new().unwrap();
    let at = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap().timestamp();
    let mut reader = csv::Reader::from_path(format!("{VECTORS}/tokens.csv")).unwrap();
    let mut seen = 0;
    for row in reader.records() {
        let row = row.unwrap();
        let (name, expected, token) = (&row[0], &row[1], &row[3]);
        let verdict = match check_certificate(token, &trust, &contract) {
            Ok(genuine) => match window_reasons(genuine.claims.nbf, genuine.claims.exp, at).first() {
                None => "valid".to_owned(),
                Some(reason) => reason.code().to_owned(),
            },
            Err(reason) => reason.code().to_owned(),
        };
        assert_eq!(verdict, expected, "vector {name}");
        // The same verdict through the QR form.
        if let Ok(qr_text) = qr::encode(token) {
            let via_qr = check_certificate(&qr_text, &trust, &contract).map(|_| "valid").unwrap_or_else(|r| r.code());
            assert_eq!(via_qr, expected, "vector {name} as QR text");
        }
        seen += 1;
    }
    assert_eq!(seen, 9);
}

#[test]
fn signer_reproduces_the_vector_byte_for_byte() {
    // RFC 8037 Appendix A.1 test key (public test material, never a real key).
    let seed = b64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A").unwrap();
    let public = b64url_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
    let signer = Ed25519Signer::from_seed(&seed, &public, "130728102000#rfc8037-a1").unwrap();
    let mut reader = csv::Reader::from_path(format!("{VECTORS}/tokens.csv")).unwrap();
    let valid = reader.records().map(Result::unwrap).find(|r| &r[0] == "valid").unwrap();
    let token = &valid[3];
    let payload = b64url_decode(token.split('.').nth(1).unwrap()).unwrap();
    assert_eq!(sign_compact(&signer, CERTIFICATE_TYP, &payload, false), token);
    // And the payload is the documented one.
    let documented: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{VECTORS}/certificate.payload.json")).unwrap()).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&payload).unwrap(), documented);
}

both_backends!(a_standard_jose_library_verifies_our_tokens, three_children_fit_one_qr_code_at_level_m);

async fn a_standard_jose_library_verifies_our_tokens(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let issued = origin.issue(&zhang_li()).await;
    let (_, jwks) = origin.get("/.well-known/jwks.json", "").await;
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_required_spec_claims(&["exp", "nbf", "iss"]);
    validation.set_issuer(&[ORIGIN.0]);
    let data = jsonwebtoken::decode::<Value>(issued["token"].as_str().unwrap(), &key, &validation).unwrap();
    assert_eq!(data.header.typ.as_deref(), Some(CERTIFICATE_TYP));
    assert_eq!(data.header.kid.as_deref(), Some(jwk.common.key_id.as_deref().unwrap()));
    assert_eq!(data.claims["person"]["name"], "张丽");
    // The key id in every token is one the node publishes.
    assert!(jwk.common.key_id.unwrap().starts_with(&format!("{}#", ORIGIN.0)));
}

async fn three_children_fit_one_qr_code_at_level_m(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let issued = origin.issue(&three_children()).await;
    let text = issued["qr"].as_str().unwrap();
    let version = qr::version_at_level_m(text).expect("fits one QR code at level M");
    println!("QR text of a married woman with three children: {} characters, QR version {version}-M", text.len());
    // Version 25 (117×117 modules) still reads from a printed A5 page with a phone camera.
    assert!(version <= 25, "version {version}");
    assert!(qr::render_terminal(text).is_some());
}

#[test]
fn tokens_of_other_nodes_need_their_keys() {
    let seed = [3u8; 32];
    let public = {
        use ring::signature::KeyPair as _;
        ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap().public_key().as_ref().to_vec()
    };
    let signer = Ed25519Signer::from_seed(&seed, &public, "440306001000#k1").unwrap();
    let token = sign_compact(&signer, CERTIFICATE_TYP, br#"{"iss":"440306001000"}"#, false);
    let contract = Contract::new().unwrap();
    let result = check_certificate(&token, &vector_trust(), &contract);
    assert_eq!(result.err().map(|r| r.code()), Some("unknown_issuer"));
}
