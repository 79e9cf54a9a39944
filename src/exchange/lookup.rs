//! Electronic certificate lookup (电子证明查询): a residence worker without the paper asks the
//! origin node over mutual TLS, and the origin answers at once with the person's current signed
//! certificates, or a signed none.

use serde::{Deserialize, Serialize};

use super::{Refusal, open_record, sender_of};
use crate::contract::Kind;
use crate::domain::error::Coded as _;
use crate::domain::message::{
    CertificateCopy, LOOKUP_ANSWER_TYP, LOOKUP_REQUEST_TYP, LookupAnswerClaims, LookupRequestClaims, lookup_is_fresh,
};
use crate::node::{Node, NodeError};
use crate::seal::sign_compact;

/// Body of `POST /exchange/v1/lookup`: the signed request going, the signed answer coming back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LookupExchange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

/// Why an origin did not answer.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// The request this node signs to ask `origin` about the person with `id_number`.
pub fn request(node: &Node, origin: &str, id_number: &str, now: chrono::DateTime<chrono::Utc>) -> (String, String) {
    let jti = uuid::Uuid::now_v7().to_string();
    let claims = LookupRequestClaims {
        iss: node.code().into(),
        aud: origin.into(),
        jti: jti.clone(),
        iat: now.timestamp(),
        id_number: id_number.into(),
    };
    // Serializing plain data cannot fail.
    let payload = serde_json::to_vec(&claims).unwrap_or_default();
    (sign_compact(node.signer(), LOOKUP_REQUEST_TYP, &payload, false), jti)
}

/// At the origin: checks the request from the node behind the TLS certificate `fingerprint`,
/// looks the person up (recorded in the audit log with that node as actor) and signs the answer.
pub fn answer(
    node: &Node,
    fingerprint: Option<&str>,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, LookupError> {
    let trust = node.trust();
    let sender = sender_of(&trust, fingerprint)?;
    let bad = |reason: &'static str| Refusal::BadMessage { message: 0, reason };
    let asked: LookupRequestClaims =
        open_record(token, LOOKUP_REQUEST_TYP, Kind::LookupRequest, &trust, node.contract())
            .map_err(|r| bad(r.code()))?;
    if asked.iss != sender {
        return Err(Refusal::TlsMismatch { message: 0, claimed: asked.iss, tls: sender }.into());
    }
    if asked.aud != node.code() {
        return Err(Refusal::WrongAudience { message: 0, aud: asked.aud }.into());
    }
    if !lookup_is_fresh(asked.iat, now.timestamp()) {
        return Err(bad("stale").into());
    }
    let found = node.lookup_for_peer(&asked.id_number, &sender, now)?;
    let claims = LookupAnswerClaims {
        iss: node.code().into(),
        aud: sender,
        iat: now.timestamp(),
        in_reply_to: asked.jti,
        certificates: found.certificates.into_iter().map(|c| CertificateCopy { token: c.token, qr: c.qr }).collect(),
    };
    let payload = serde_json::to_vec(&claims).unwrap_or_default();
    Ok(sign_compact(node.signer(), LOOKUP_ANSWER_TYP, &payload, false))
}

/// At the residence: checks that `token` is `origin`'s answer to request `jti`; returns the copies.
pub fn read_answer(node: &Node, origin: &str, jti: &str, token: &str) -> Result<Vec<CertificateCopy>, String> {
    let trust = node.trust();
    let answer: LookupAnswerClaims = open_record(token, LOOKUP_ANSWER_TYP, Kind::LookupAnswer, &trust, node.contract())
        .map_err(|r| format!("answer: {}", r.code()))?;
    if answer.iss != origin || answer.aud != node.code() || answer.in_reply_to != jti {
        return Err("the answer is not the origin's answer to this request".into());
    }
    Ok(answer.certificates)
}
