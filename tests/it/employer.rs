//! Employers (用人单位) confirm validity from the holder's presentation and learn nothing more.

use hunyu::domain::claims::PRESENTATION_TYP;
use hunyu::seal::{self, qr, sign_compact};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, ORIGIN, RESIDENCE, TestNode, three_children, zhang_li};

both_backends!(employer_learns_validity_name_issuer_and_nothing_else, employer_sees_renewal_revocation_and_forgery);

/// Strings of the certificate content an employer must never see.
const SECRETS: [&str; 9] = [
    "130728199003070026",
    "王强",
    "130728198801010015",
    "2016-03-02",
    "marital",
    "spouse",
    "children",
    "contraception",
    "iud",
];

fn assert_no_secrets(body: &str) {
    for secret in SECRETS {
        assert!(!body.contains(secret), "{secret:?} leaked to an employer: {body}");
    }
}

async fn confirm(node: &TestNode, token: &Value) -> Value {
    let (status, body) = node.post("/api/v1/employer/confirm", &node.employer, &json!({ "token": token })).await;
    assert_eq!(status, 200, "{body}");
    assert_no_secrets(&body.to_string());
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    let mut about_her: Vec<&str> = keys.into_iter().filter(|k| !["status_info", "warnings"].contains(k)).collect();
    about_her.sort_unstable();
    assert_eq!(about_her, ["issuer", "name", "valid", "valid_until"], "{body}");
    body
}

async fn employer_learns_validity_name_issuer_and_nothing_else(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let issued = origin.issue(&zhang_li()).await;

    // Anyone can decode the presentation with plain base64 and JSON: it holds nothing but these.
    let token = issued["employer_token"].as_str().unwrap();
    let header: Value =
        serde_json::from_slice(&seal::b64url_decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["typ"], PRESENTATION_TYP);
    let payload_text = String::from_utf8(seal::b64url_decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_no_secrets(&payload_text);
    let payload: Value = serde_json::from_str(&payload_text).unwrap();
    let mut keys: Vec<&str> = payload.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["cid", "exp", "iat", "iss", "jti", "name", "nbf", "valid_until"]);
    // Its QR text fits one QR code at level M, smaller than the certificate's.
    let text = issued["employer_qr"].as_str().unwrap();
    let version = qr::version_at_level_m(text).unwrap();
    println!("employer QR text: {} characters, QR version {version}-M", text.len());
    assert!(version <= 15, "employer QR version {version}");

    for (node, form) in [(&origin, "employer_qr"), (&origin, "employer_token"), (&residence, "employer_qr")] {
        let body = confirm(node, &issued[form]).await;
        assert_eq!(body["valid"], true, "{body}");
        assert_eq!(body["name"], "张丽");
        assert_eq!(body["issuer"], json!({ "code": ORIGIN.0, "name": ORIGIN.1 }));
        assert_eq!(body["valid_until"], issued["valid_until"]);
        let source = if node.code == ORIGIN.0 { "issuer" } else { "issuer_online" };
        assert_eq!(body["status_info"]["source"], source, "{body}");
    }
    // The full certificate is not a presentation: refused without a word of its content.
    let body = confirm(&origin, &issued["qr"]).await;
    assert_eq!(body, json!({ "valid": false, "name": null, "issuer": null, "valid_until": null }));
    // Nobody but an employer confirms, and an employer cannot verify.
    let (status, _) = origin.post("/api/v1/employer/confirm", &origin.worker, &json!({ "token": token })).await;
    assert_eq!(status, 403);
    let (status, problem) = origin.post("/api/v1/verify", &origin.employer, &json!({ "token": issued["qr"] })).await;
    assert_eq!(status, 403);
    assert_no_secrets(&problem.to_string());
}

async fn employer_sees_renewal_revocation_and_forgery(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let v1 = origin.issue(&three_children()).await;
    let id = v1["id"].as_str().unwrap();
    let (status, v2) =
        origin.post(&format!("/api/v1/certificates/{id}/renew"), &origin.officer, &three_children()).await;
    assert_eq!(status, 201);
    assert_eq!(confirm(&origin, &v1["employer_qr"]).await["valid"], false, "superseded");
    assert_eq!(confirm(&origin, &v2["employer_qr"]).await["valid"], true);

    let (status, _) =
        origin.post(&format!("/api/v1/certificates/{id}/revoke"), &origin.officer, &json!({ "reason": "注销" })).await;
    assert_eq!(status, 200);
    let revoked = confirm(&origin, &v2["employer_qr"]).await;
    assert_eq!((revoked["valid"].as_bool(), revoked["name"].as_str()), (Some(false), Some("欧阳晓雯")));

    // Expired: a genuine presentation whose window has passed.
    let token = v2["employer_token"].as_str().unwrap();
    let mut claims: Value =
        serde_json::from_slice(&seal::b64url_decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let fresh = origin.issue(&zhang_li()).await;
    let fresh_claims: Value = serde_json::from_slice(
        &seal::b64url_decode(fresh["employer_token"].as_str().unwrap().split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    claims["cid"] = fresh_claims["cid"].clone();
    claims["exp"] = json!(chrono::Utc::now().timestamp() - 60);
    let expired = sign_compact(&origin.signer(), PRESENTATION_TYP, claims.to_string().as_bytes(), true);
    assert_eq!(confirm(&origin, &json!(qr::encode(&expired).unwrap())).await["valid"], false);

    // Forged: the name changed after signing, or another field slipped in.
    let parts: Vec<&str> = fresh["employer_token"].as_str().unwrap().split('.').collect();
    let mut forged_claims = fresh_claims.clone();
    forged_claims["name"] = json!("李四");
    let forged = format!("{}.{}.{}", parts[0], seal::b64url(forged_claims.to_string().as_bytes()), parts[2]);
    assert_eq!(confirm(&origin, &json!(forged)).await["name"], Value::Null);
    let mut padded = fresh_claims.clone();
    padded["marital"] = json!({ "status": "21" });
    let smuggled = sign_compact(&origin.signer(), PRESENTATION_TYP, padded.to_string().as_bytes(), false);
    let (status, body) = origin.post("/api/v1/employer/confirm", &origin.employer, &json!({ "token": smuggled })).await;
    assert_eq!((status, body["valid"].as_bool()), (200, Some(false)), "a presentation with extra fields is refused");
}
