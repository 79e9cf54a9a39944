//! Looking a person up by ID number (查询): her certificates at this node, or — the electronic
//! certificate (电子证明) — at her origin, asked on-line over the peer channel and each verified
//! here as any other certificate would be. The origin's side answers such a request at once.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::certificates::{Version, current_of_person};
use super::verification::{Verdict, judge, listed_status, reasons_recorded_here};
use super::{AnswerError, ServiceError, active_peer, blocking, parse_id_number, refused};
use crate::contract::Kind;
use crate::domain::access::Action;
use crate::domain::calendar::local_date;
use crate::domain::error::{Coded as _, ErrorCode};
use crate::domain::id_number::IdNumber;
use crate::domain::message::{
    CertificateCopy, LOOKUP_ANSWER_TYP, LOOKUP_REQUEST_TYP, LookupAnswerClaims, LookupRequestClaims, lookup_is_fresh,
};
use crate::domain::verification::StatusEvidence;
use crate::exchange::client::PeerClient;
use crate::exchange::{Refusal, sender_of};
use crate::node::{Actor, NodeCore};
use crate::seal::records::{open_certificate, open_record};
use crate::seal::sign_compact;
use crate::store::audit::{NewAudit, Recorded};

/// What a lookup found: here, or at her origin.
#[derive(Debug, Clone)]
pub enum Found {
    /// Her certificates at this node, newest version of each.
    Here(Vec<Version>),
    /// What her origin answered.
    AtOrigin(RemoteLookup),
}

/// What the origin answered to an electronic certificate lookup.
#[derive(Debug, Clone)]
pub struct RemoteLookup {
    /// The origin node asked.
    pub origin: String,
    /// Her certificates there, newest version of each, as this node judges them.
    pub certificates: Vec<(CertificateCopy, Verdict)>,
}

/// Looks the person with `id_number` up here, or, with another node's code as `origin`, at that
/// origin on-line.
pub async fn lookup(
    core: &Arc<NodeCore>,
    peers: &PeerClient,
    id_number: String,
    origin: Option<String>,
    who: Actor,
    now: DateTime<Utc>,
) -> Result<Found, ServiceError> {
    match origin.filter(|code| code != core.code()) {
        None => {
            let core = core.clone();
            blocking(move || here(&core, &id_number, &who, now)).await.map(Found::Here)
        }
        Some(origin) => at_origin(core, peers, &id_number, &origin, who, now).await.map(Found::AtOrigin),
    }
}

/// A person's certificates at this node, newest version of each, by ID number.
pub fn here(core: &NodeCore, id_number: &str, who: &Actor, now: DateTime<Utc>) -> Result<Vec<Version>, ServiceError> {
    let id_number = parse_id_number(id_number, now)?;
    let entry = who.entry(Action::Lookup, Some(core.audit_key.subject(id_number.as_str())), None, now);
    certificates_of(core, &id_number, entry, now)
}

/// At the origin: checks the request from the node behind the TLS certificate `fingerprint`,
/// looks the person up (recorded with that node as actor) and signs the answer.
pub fn answer(
    core: &NodeCore,
    fingerprint: Option<&str>,
    token: &str,
    now: DateTime<Utc>,
) -> Result<String, AnswerError> {
    let trust = core.trust.current();
    let sender = sender_of(&trust, fingerprint)?;
    let bad = |reason: &'static str| Refusal::BadMessage { message: 0, reason };
    let asked: LookupRequestClaims =
        open_record(token, LOOKUP_REQUEST_TYP, Kind::LookupRequest, &trust, &core.contract)
            .map_err(|r| bad(r.code()))?;
    if asked.iss != sender {
        return Err(Refusal::TlsMismatch { message: 0, claimed: asked.iss, tls: sender }.into());
    }
    if asked.aud != core.code() {
        return Err(Refusal::WrongAudience { message: 0, aud: asked.aud }.into());
    }
    if !lookup_is_fresh(asked.iat, now.timestamp()) {
        return Err(bad("stale").into());
    }
    let entry = NewAudit {
        at: now.naive_utc(),
        request_id: String::new(),
        actor: sender.clone(),
        role: "peer".into(),
        action: Action::Lookup.name(),
        subject: Some(core.audit_key.subject(asked.id_number.as_str())),
        object: None,
        purpose: "电子证明查询 electronic certificate lookup".into(),
        outcome: String::new(),
    };
    let found = certificates_of(core, &asked.id_number, entry, now)?;
    let claims = LookupAnswerClaims {
        iss: core.code().into(),
        aud: sender,
        iat: now.timestamp(),
        in_reply_to: asked.jti,
        certificates: found.into_iter().map(|v| CertificateCopy { token: v.token, qr: v.qr }).collect(),
    };
    // Serializing plain data cannot fail.
    let payload = serde_json::to_vec(&claims).unwrap_or_default();
    Ok(sign_compact(&*core.signer, LOOKUP_ANSWER_TYP, &payload, false))
}

/// Asks `origin` for her current certificates and verifies each; the access is audited whether
/// the origin answers or not.
async fn at_origin(
    core: &Arc<NodeCore>,
    peers: &PeerClient,
    id_number: &str,
    origin: &str,
    who: Actor,
    now: DateTime<Utc>,
) -> Result<RemoteLookup, ServiceError> {
    let id_number = parse_id_number(id_number, now)?;
    let origin = active_peer(core, "origin", origin)?;
    let Some(entry) = core.trust.current().node(&origin).cloned() else {
        return refused(ErrorCode::NotFound { what: "node" });
    };
    let (request, jti) = request(core, &origin, &id_number, now);
    let audit = who.entry(Action::Lookup, Some(core.audit_key.subject(id_number.as_str())), None, now);
    match peers.lookup(&entry, request).await {
        Ok(answer) => {
            let core = core.clone();
            blocking(move || settle(&core, (&origin, &jti), &id_number, &answer, audit, now)).await
        }
        Err(detail) => {
            let store = core.store.clone();
            let outcome = format!("origin {origin} did not answer");
            blocking(move || Ok(store.audit(vec![NewAudit { outcome, ..audit }])?)).await?;
            Err(ServiceError::PeerUnavailable { peer: origin, detail })
        }
    }
}

/// The request this node signs to ask `origin` about the person with `id_number`, and its `jti`.
pub fn request(core: &NodeCore, origin: &str, id_number: &IdNumber, now: DateTime<Utc>) -> (String, String) {
    let jti = uuid::Uuid::now_v7().to_string();
    let claims = LookupRequestClaims {
        iss: core.code().into(),
        aud: origin.into(),
        jti: jti.clone(),
        iat: now.timestamp(),
        id_number: id_number.clone(),
    };
    // Serializing plain data cannot fail.
    let payload = serde_json::to_vec(&claims).unwrap_or_default();
    (sign_compact(&*core.signer, LOOKUP_REQUEST_TYP, &payload, false), jti)
}

/// Checks that `answer` is `origin`'s answer to request `jti`, about the person with `id_number`
/// only; verifies each certificate in it as this node would any other, and records the lookup.
fn settle(
    core: &NodeCore,
    (origin, jti): (&str, &str),
    id_number: &IdNumber,
    answer: &str,
    entry: NewAudit,
    now: DateTime<Utc>,
) -> Result<RemoteLookup, ServiceError> {
    let trust = core.trust.current();
    let unavailable = |detail: String| ServiceError::PeerUnavailable { peer: origin.into(), detail };
    let answered: LookupAnswerClaims =
        open_record(answer, LOOKUP_ANSWER_TYP, Kind::LookupAnswer, &trust, &core.contract)
            .map_err(|r| unavailable(format!("answer: {}", r.code())))?;
    if answered.iss != origin || answered.aud != core.code() || answered.in_reply_to != jti {
        return Err(unavailable("the answer is not the origin's answer to this request".into()));
    }
    let judged: Vec<_> = answered
        .certificates
        .into_iter()
        .map(|copy| {
            let genuine = open_certificate(&copy.token, &trust, &core.contract);
            let listed = genuine.as_ref().map_or_else(
                |_| (Vec::new(), StatusEvidence::Unknown),
                |g| listed_status(core, &g.claims.iss, &g.claims.jti),
            );
            (copy, genuine, listed)
        })
        .collect();
    if judged.iter().any(|(_, genuine, _)| genuine.as_ref().is_ok_and(|g| g.claims.person.id_number != *id_number)) {
        return Err(unavailable("the answer holds a certificate of another person".into()));
    }
    core.store.read_audited(entry, |conn| {
        let mut certificates = Vec::new();
        for (copy, genuine, listed) in judged {
            let verdict = match genuine {
                Ok(genuine) => {
                    let own = reasons_recorded_here(core, conn, &genuine.claims.iss, &genuine.claims.jti)?;
                    judge(core, genuine, listed, own, now)
                }
                Err(reason) => Verdict::refused(reason),
            };
            certificates.push((copy, verdict));
        }
        let outcome = Recorded::outcome(format!("{} found at {origin}", certificates.len()));
        Ok::<_, ServiceError>((RemoteLookup { origin: origin.into(), certificates }, outcome))
    })
}

/// The person's certificates here, newest version of each, read under the audit entry `entry`.
fn certificates_of(
    core: &NodeCore,
    id_number: &IdNumber,
    entry: NewAudit,
    now: DateTime<Utc>,
) -> Result<Vec<Version>, ServiceError> {
    let today = local_date(now);
    core.store.read_audited(entry, |conn| {
        let found = current_of_person(conn, id_number.as_str(), today)?;
        let outcome = Recorded::outcome(format!("{} found", found.len()));
        Ok::<_, ServiceError>((found, outcome))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::role::Role;
    use crate::domain::verification::VerificationStatus;
    use crate::seal::sha256_hex;
    use crate::service::testing::{ORIGIN, RESIDENCE, actor, issue_sample, lone_core, origin_and_residence};

    #[test]
    fn the_origin_answers_a_signed_request_and_the_residence_verifies_the_answer() {
        let (_registry, origin, residence) = origin_and_residence();
        let now = Utc::now();
        let issued = issue_sample(&origin, 0);
        let her = crate::domain::id_number::parse("130728199003070026", local_date(now)).unwrap();

        let (asked, jti) = request(&residence, ORIGIN.0, &her, now);
        // The residence's TLS fingerprint, as the federation enrolled it.
        let tls = sha256_hex(RESIDENCE.0.as_bytes());
        let answered = answer(&origin, Some(&tls), &asked, now).unwrap();
        let worker = actor(&residence, Role::Worker, Action::Lookup);
        let entry = worker.entry(Action::Lookup, Some(residence.audit_key.subject(her.as_str())), None, now);
        let found = settle(&residence, (ORIGIN.0, &jti), &her, &answered, entry, now).unwrap();
        assert_eq!(found.certificates.len(), 1);
        assert_eq!(found.certificates[0].0.token, issued.token);
        assert_eq!(found.certificates[0].1.status, VerificationStatus::Active);

        // Another request's answer, an answer about another person, or a request from a node
        // that is not behind the connection, is refused.
        let elsewhere = || worker.entry(Action::Lookup, None, None, now);
        assert!(settle(&residence, (ORIGIN.0, "other"), &her, &answered, elsewhere(), now).is_err());
        let someone_else = crate::domain::id_number::parse("130728200109150046", local_date(now)).unwrap();
        let mixed_up = settle(&residence, (ORIGIN.0, &jti), &someone_else, &answered, elsewhere(), now);
        assert!(matches!(mixed_up, Err(ServiceError::PeerUnavailable { .. })), "{mixed_up:?}");
        let stranger = sha256_hex(b"stranger");
        assert!(matches!(
            answer(&origin, Some(&stranger), &asked, now),
            Err(AnswerError::Refused(Refusal::UnknownPeer))
        ));
    }

    #[test]
    fn a_bad_id_number_is_refused_here() {
        let (_registry, core) = lone_core(ORIGIN);
        let refused =
            here(&core, "130728199003070027", &actor(&core, Role::Worker, Action::Lookup), Utc::now()).unwrap_err();
        assert!(matches!(&refused, ServiceError::Invalid(errors) if errors[0].code == "id_number.checksum"));
    }
}
