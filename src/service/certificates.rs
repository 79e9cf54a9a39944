//! The origin officer's certificates (户籍地): issue (签发), renew (换发), revoke (注销), show
//! every version, and this node's signed status list.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::verification::stored_reasons;
use super::{AnswerError, ServiceError, refused};
use crate::contract::Kind;
use crate::domain::access::Action;
use crate::domain::calendar::local_date;
use crate::domain::certificate::{
    CertificateContent, CertificateDraft, ChildDraft, ContraceptionDraft, MaritalDraft, PersonDraft,
    REVOCATION_REASON_MAX_CHARS,
};
use crate::domain::claims::{
    CERTIFICATE_TYP, CertificateClaims, PRESENTATION_TYP, PresentationClaims, STATUS_ANSWER_TYP, STATUS_LIST_TYP,
    StatusAnswerClaims, StatusEntry, StatusListClaims, VersionId,
};
use crate::domain::division::is_responsible;
use crate::domain::error::{Coded as _, ErrorCode};
use crate::domain::message::{CertificateUpdate, MessageBody, RevocationNotice};
use crate::domain::verification::{Reason, VerificationStatus, VersionStatus, overall_status, recorded_reasons};
use crate::exchange::{Refusal, sender_of};
use crate::node::{Actor, NodeCore};
use crate::seal::{self, qr, read_stored};
use crate::store::audit::{self, NewAudit, Recorded};
use crate::store::certificates::{self as certs, CertificateRow, NewEvent, PersonRow, VersionRow};
use crate::store::{DbConn, StoreError};

/// Seconds a status list is current; verifiers fetch a new one with every directory refresh.
const STATUS_LIST_LIFETIME_SECONDS: i64 = 24 * 3600;

/// One signed version of a certificate, with its status on the day it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The lineage: the same for every version.
    pub certificate_id: String,
    pub version: u32,
    pub jti: String,
    pub supersedes: Option<String>,
    pub issued_at: DateTime<Utc>,
    /// Last day of validity (inclusive, Asia/Shanghai).
    pub valid_until: NaiveDate,
    pub status: VerificationStatus,
    /// Compact JWS (uncompressed payload: any JOSE library verifies it).
    pub token: String,
    /// QR text (`HY1:` + Base45, compressed payload).
    pub qr: String,
    /// Employer presentation (name, issuer, validity only), as a compact JWS.
    pub employer_token: String,
    /// Employer presentation as QR text.
    pub employer_qr: String,
}

impl Version {
    /// A stored version with the status its recorded statuses give it on `today`.
    pub(crate) fn of(row: VersionRow, recorded: Vec<Reason>, today: NaiveDate) -> Self {
        let status = version_status(recorded, row.valid_until, today);
        Self {
            version: version_number(&row),
            certificate_id: row.certificate_id,
            jti: row.jti,
            supersedes: row.supersedes,
            issued_at: row.issued_at.and_utc(),
            valid_until: row.valid_until,
            status,
            token: row.token,
            qr: row.qr,
            employer_token: row.employer_token,
            employer_qr: row.employer_qr,
        }
    }
}

/// A certificate lineage with every version, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    pub id: String,
    pub versions: Vec<Version>,
    /// Payload of the newest version.
    pub certificate: Value,
}

/// Outcome of a revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub id: String,
    pub version: u32,
    pub revoked_at: DateTime<Utc>,
}

/// Issues version 1 of a new certificate; refused while the person holds one in force here.
pub fn issue(
    core: &NodeCore,
    draft: CertificateDraft,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Version, ServiceError> {
    let today = local_date(now);
    let content = parse_content(core, draft, today)?;
    let id = uuid::Uuid::now_v7().to_string();
    // Signing is CPU work: done before the transaction, so the writer is held only for IO.
    let version = sign_version(core, &id, &content, None, &who.caller.key_id, now)?;
    let person = person_row(&content, now);
    let subject = core.audit_key.subject(&person.id_number);
    let entry = who.entry(Action::IssueCertificate, Some(subject), Some(&id), now);
    core.store.write(move |conn| {
        for lineage in certs::certificates_of_person(conn, &person.id_number)? {
            if is_in_force(conn, &lineage.id, today)? {
                return refused(ErrorCode::CertificateExists { certificate_id: lineage.id });
            }
        }
        certs::save_person(conn, &person)?;
        let lineage = CertificateRow { id, id_number: person.id_number, created_at: now.naive_utc() };
        certs::insert_certificate(conn, &lineage)?;
        let issued = store_version(conn, version, now)?;
        audit::append(conn, NewAudit { outcome: format!("issued v{}", issued.version), ..entry })?;
        Ok(issued)
    })
}

/// Issues the next version of a certificate (换发): new content, or the same content re-dated.
pub fn renew(
    core: &NodeCore,
    id: &str,
    draft: Option<CertificateDraft>,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Version, ServiceError> {
    let today = local_date(now);
    let (lineage, current) = core.store.read(|conn| {
        let lineage = certs::find_certificate(conn, id)?.ok_or(not_found())?;
        Ok::<_, ServiceError>((lineage, current_version(conn, id)?))
    })?;
    let draft = match draft {
        Some(draft) => draft,
        None => draft_of(&current.token)?,
    };
    let content = parse_content(core, draft, today)?;
    if content.person.id_number.as_str() != lineage.id_number {
        return Err(ServiceError::Invalid(vec![ErrorCode::PersonChanged.at("person.id_number")]));
    }
    let version = sign_version(core, id, &content, Some(&current), &who.caller.key_id, now)?;
    let person = person_row(&content, now);
    let subject = core.audit_key.subject(&lineage.id_number);
    let entry = who.entry(Action::RenewCertificate, Some(subject.clone()), Some(id), now);
    let outbox = core.outbox.clone();
    let issued = core.store.write(move |conn| {
        // Signed outside the transaction: refuse if the certificate changed meanwhile.
        let newest = current_version(conn, &lineage.id)?;
        if newest.jti != current.jti {
            return refused(ErrorCode::ConcurrentChange { certificate_id: Some(lineage.id) });
        }
        refuse_if_revoked(conn, &lineage.id, &current.jti)?;
        certs::save_person(conn, &person)?;
        let issued = store_version(conn, version, now)?;
        let update = MessageBody::CertificateUpdate(CertificateUpdate { token: issued.token.clone() });
        let told = outbox.tell_residences(conn, &subject, &update, now)?;
        let outcome = format!("renewed v{}, {told} residence(s) told", issued.version);
        audit::append(conn, NewAudit { outcome, ..entry })?;
        Ok(issued)
    })?;
    core.outbox.wake();
    take_in_own(core);
    Ok(issued)
}

/// Revokes (注销) the newest version of a certificate.
pub fn revoke(
    core: &NodeCore,
    id: &str,
    reason: &str,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Revoked, ServiceError> {
    let reason = reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > REVOCATION_REASON_MAX_CHARS {
        return Err(ServiceError::Invalid(vec![ErrorCode::RevocationReason.at("reason")]));
    }
    let id = id.to_owned();
    let entry = who.entry(Action::RevokeCertificate, None, Some(&id), now);
    let (outbox, audit_key) = (core.outbox.clone(), core.audit_key.clone());
    let revoked = core.store.write(move |conn| {
        let lineage = certs::find_certificate(conn, &id)?.ok_or(not_found())?;
        let current = current_version(conn, &id)?;
        refuse_if_revoked(conn, &id, &current.jti)?;
        let at = now.naive_utc();
        let status = VersionStatus::Revoked;
        let event = NewEvent { jti: &current.jti, status, reason: Some(&reason), at, actor: &entry.actor };
        certs::insert_event(conn, &event)?;
        let subject = audit_key.subject(&lineage.id_number);
        let notice = MessageBody::Revocation(RevocationNotice {
            certificate_id: id.clone(),
            jti: current.jti.clone(),
            reason,
            revoked_at: now.timestamp(),
        });
        let told = outbox.tell_residences(conn, &subject, &notice, now)?;
        let outcome = format!("revoked v{}, {told} residence(s) told", current.version);
        audit::append(conn, NewAudit { subject: Some(subject), outcome, ..entry })?;
        Ok::<_, ServiceError>(Revoked { version: version_number(&current), id, revoked_at: now })
    })?;
    core.outbox.wake();
    take_in_own(core);
    Ok(revoked)
}

/// Takes the status just recorded into the node's own statuses in memory, so that its next
/// verification of the version sees it; a failed read is left to the periodic catch-up.
fn take_in_own(core: &NodeCore) {
    if let Err(error) = core.catch_up_own() {
        tracing::warn!(%error, "own statuses not taken in after a change; the periodic catch-up takes them in");
    }
}

/// A certificate with all its versions and their statuses.
pub fn history(core: &NodeCore, id: &str, who: &Actor, now: DateTime<Utc>) -> Result<History, ServiceError> {
    let entry = who.entry(Action::ShowCertificate, None, Some(id), now);
    let (rows, statuses) = core.store.read_audited(entry, |conn| {
        let lineage = certs::find_certificate(conn, id)?.ok_or(not_found())?;
        let found = (certs::versions(conn, id)?, certs::statuses_of_certificate(conn, id)?);
        let subject = core.audit_key.subject(&lineage.id_number);
        Ok::<_, ServiceError>((found, Recorded { outcome: "shown".into(), subjects: vec![subject] }))
    })?;
    let today = local_date(now);
    let versions: Vec<Version> = rows
        .into_iter()
        .map(|row| {
            let recorded = recorded_reasons(statuses.iter().filter(|(jti, _)| *jti == row.jti).map(|(_, s)| *s));
            Version::of(row, recorded, today)
        })
        .collect();
    let newest = versions.last().ok_or_else(|| StoreError::Corrupt(format!("certificate {id} has no version")))?;
    let certificate = read_stored(&newest.token).ok_or_else(unreadable)?;
    Ok(History { id: id.into(), versions, certificate })
}

/// This node's signed status list: its versions that are revoked or superseded.
pub fn status_list(core: &NodeCore, now: DateTime<Utc>) -> Result<String, ServiceError> {
    let recorded = core.store.read(certs::recorded_statuses)?;
    let entries = recorded.into_iter().map(|(jti, status)| StatusEntry { jti, status }).collect();
    let claims = StatusListClaims {
        iss: core.code().into(),
        iat: now.timestamp(),
        exp: now.timestamp() + STATUS_LIST_LIFETIME_SECONDS,
        entries,
    };
    let payload = checked_payload(core, Kind::StatusList, &claims)?;
    Ok(seal::sign_compact(&*core.signer, STATUS_LIST_TYP, payload.to_string().as_bytes(), false))
}

/// At the issuer: answers the node behind the TLS certificate `fingerprint` what this node
/// records now of its version `version`, signed, with the asker's `nonce`. A version it never
/// issued is answered `issued: false`, which verifiers take for a forgery.
pub fn answer_status(
    core: &NodeCore,
    fingerprint: Option<&str>,
    version: &str,
    nonce: &str,
    now: DateTime<Utc>,
) -> Result<String, AnswerError> {
    let asker = sender_of(&core.trust.current(), fingerprint)?;
    let is_id = |text: &str| uuid::Uuid::try_parse(text).is_ok_and(|id| id.hyphenated().to_string() == text);
    if !is_id(version) || !is_id(nonce) {
        return Err(Refusal::BadMessage { message: 0, reason: "version and nonce must be lowercase UUIDs" }.into());
    }
    let recorded = core.store.read(|conn| certs::recorded(conn, version)).map_err(ServiceError::from)?;
    let claims = StatusAnswerClaims {
        iss: core.code().into(),
        aud: asker,
        iat: now.timestamp(),
        nonce: nonce.into(),
        version: version.into(),
        issued: recorded.is_some(),
        statuses: VersionStatus::ALL.into_iter().filter(|s| recorded.as_ref().is_some_and(|r| r.contains(s))).collect(),
    };
    let payload = checked_payload(core, Kind::StatusAnswer, &claims)?;
    Ok(seal::sign_compact(&*core.signer, STATUS_ANSWER_TYP, payload.to_string().as_bytes(), false))
}

/// The content of `draft` by the rules of the certificate, for a woman whose household
/// registration this node keeps: only her origin certifies her.
fn parse_content(
    core: &NodeCore,
    draft: CertificateDraft,
    today: NaiveDate,
) -> Result<CertificateContent, ServiceError> {
    let content = CertificateContent::parse(draft, today).map_err(ServiceError::Invalid)?;
    if !is_responsible(core.code(), content.person.hukou.as_str()) {
        return Err(ServiceError::Invalid(vec![ErrorCode::NotResponsible.at("person.hukou")]));
    }
    Ok(content)
}

/// Builds, checks against the contract and signs a version (token and QR text); stores nothing.
fn sign_version(
    core: &NodeCore,
    certificate_id: &str,
    content: &CertificateContent,
    previous: Option<&VersionRow>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<VersionRow, ServiceError> {
    let valid_until = content.valid_until(local_date(now));
    let jti = uuid::Uuid::now_v7().to_string();
    let ver = previous.map_or(1, |p| version_number(p) + 1);
    let version = VersionId { jti: &jti, ver, supersedes: previous.map(|p| p.jti.as_str()) };
    let claims = CertificateClaims::new(core.code(), version, content, now, valid_until);
    let payload = checked_payload(core, Kind::Certificate, &claims)?;
    let (token, qr) = seal_twice(core, CERTIFICATE_TYP, &payload)?;
    let presentation = PresentationClaims::of(&claims, &uuid::Uuid::now_v7().to_string(), valid_until);
    let presentation = checked_payload(core, Kind::Presentation, &presentation)?;
    let (employer_token, employer_qr) = seal_twice(core, PRESENTATION_TYP, &presentation)?;
    Ok(VersionRow {
        version: i32::try_from(ver).map_err(|e| ServiceError::Contract(e.to_string()))?,
        jti,
        certificate_id: certificate_id.into(),
        supersedes: previous.map(|p| p.jti.clone()),
        issued_at: now.naive_utc(),
        valid_until,
        token,
        qr,
        employer_token,
        employer_qr,
        issued_by: actor.into(),
    })
}

/// `claims` as the JSON payload, checked against the schema of `kind`.
fn checked_payload(core: &NodeCore, kind: Kind, claims: &impl serde::Serialize) -> Result<Value, ServiceError> {
    let payload = serde_json::to_value(claims).map_err(|e| ServiceError::Contract(e.to_string()))?;
    match core.contract.violation(kind, &payload) {
        Some(violation) => Err(ServiceError::Contract(violation)),
        None => Ok(payload),
    }
}

/// Signs a payload twice: as a compact JWS, and compressed as QR text.
fn seal_twice(core: &NodeCore, typ: &str, payload: &Value) -> Result<(String, String), ServiceError> {
    let bytes = payload.to_string().into_bytes();
    let token = seal::sign_compact(&*core.signer, typ, &bytes, false);
    let qr = qr::encode(&seal::sign_compact(&*core.signer, typ, &bytes, true))
        .map_err(|r| ServiceError::Contract(r.code().into()))?;
    Ok((token, qr))
}

/// Stores a signed version and marks the one it supersedes.
fn store_version(conn: &mut DbConn, row: VersionRow, now: DateTime<Utc>) -> Result<Version, ServiceError> {
    certs::insert_version(conn, &row)?;
    if let Some(previous) = &row.supersedes {
        let status = VersionStatus::Superseded;
        let event = NewEvent { jti: previous, status, reason: None, at: now.naive_utc(), actor: &row.issued_by };
        certs::insert_event(conn, &event)?;
    }
    Ok(Version::of(row, Vec::new(), local_date(now)))
}

/// Status of a stored version on `today`: what was recorded, and expiry after its last valid day.
fn version_status(mut reasons: Vec<Reason>, valid_until: NaiveDate, today: NaiveDate) -> VerificationStatus {
    if valid_until < today {
        reasons.push(Reason::Expired);
    }
    overall_status(&reasons)
}

/// A revoked certificate can be neither renewed nor revoked again.
fn refuse_if_revoked(conn: &mut DbConn, id: &str, jti: &str) -> Result<(), ServiceError> {
    if stored_reasons(conn, jti)?.contains(&Reason::Revoked) {
        return refused(ErrorCode::CertificateRevoked { certificate_id: id.into() });
    }
    Ok(())
}

fn version_number(row: &VersionRow) -> u32 {
    u32::try_from(row.version).unwrap_or(0)
}

/// The newest version of a lineage.
pub(crate) fn current_version(conn: &mut DbConn, id: &str) -> Result<VersionRow, ServiceError> {
    certs::current_version(conn, id)?
        .ok_or_else(|| StoreError::Corrupt(format!("certificate {id} has no version")).into())
}

/// The newest version of each of the certificates of the person `id_number`, with its status on `today`.
pub(crate) fn current_of_person(
    conn: &mut DbConn,
    id_number: &str,
    today: NaiveDate,
) -> Result<Vec<Version>, ServiceError> {
    let mut found = Vec::new();
    for lineage in certs::certificates_of_person(conn, id_number)? {
        let current = current_version(conn, &lineage.id)?;
        let recorded = stored_reasons(conn, &current.jti)?;
        found.push(Version::of(current, recorded, today));
    }
    Ok(found)
}

/// Whether a lineage's newest version is unrevoked and not past its validity on `today`.
fn is_in_force(conn: &mut DbConn, id: &str, today: NaiveDate) -> Result<bool, ServiceError> {
    let current = current_version(conn, id)?;
    Ok(current.valid_until >= today && !stored_reasons(conn, &current.jti)?.contains(&Reason::Revoked))
}

fn person_row(content: &CertificateContent, now: DateTime<Utc>) -> PersonRow {
    let person = &content.person;
    PersonRow {
        id_number: person.id_number.as_str().into(),
        name: person.name.clone(),
        sex: person.sex.as_str().into(),
        birth_date: person.birth_date,
        hukou: person.hukou.as_str().into(),
        ethnicity: person.ethnicity.clone(),
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
    }
}

fn not_found() -> ServiceError {
    ServiceError::Refused(ErrorCode::NotFound { what: "certificate" })
}

fn unreadable() -> ServiceError {
    StoreError::Corrupt("a stored token does not decode".into()).into()
}

/// The content parts of a stored certificate payload (its claims are set anew on renewal).
#[derive(Deserialize)]
struct StoredContent {
    person: PersonDraft,
    marital: MaritalDraft,
    #[serde(default)]
    children: Vec<ChildDraft>,
    #[serde(default)]
    contraception: Option<ContraceptionDraft>,
}

/// The draft that re-issues a stored version's content unchanged.
fn draft_of(token: &str) -> Result<CertificateDraft, ServiceError> {
    let stored: StoredContent = read_stored(token).ok_or_else(unreadable)?;
    let StoredContent { person, marital, children, contraception } = stored;
    Ok(CertificateDraft { person, marital, children, contraception })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::role::Role;
    use crate::node::testing::{ORIGIN, actor, lone_core, sample_draft};

    #[test]
    fn the_issuer_answers_a_status_question_signed_and_about_its_own_versions_only() {
        let (_registry, origin, residence) = crate::node::testing::origin_and_residence();
        let now = Utc::now();
        let issued = crate::service::testing::issue_sample(&origin, 0);
        let jti = read_stored::<Value>(&issued.token).unwrap()["jti"].as_str().unwrap().to_owned();
        // The residence's TLS fingerprint, as the federation enrolled it.
        let asker = seal::sha256_hex(crate::node::testing::RESIDENCE.0.as_bytes());
        let nonce = uuid::Uuid::now_v7().to_string();
        let ask = |version: &str| {
            let answer = answer_status(&origin, Some(&asker), version, &nonce, now).unwrap();
            let trust = residence.trust.current();
            crate::seal::records::open_record::<StatusAnswerClaims>(
                &answer,
                STATUS_ANSWER_TYP,
                Kind::StatusAnswer,
                &trust,
                &residence.contract,
            )
            .unwrap()
        };
        let answer = ask(&jti);
        assert_eq!((answer.aud.as_str(), answer.nonce.as_str()), (crate::node::testing::RESIDENCE.0, nonce.as_str()));
        assert_eq!((answer.issued, answer.statuses.len()), (true, 0));
        let officer = actor(&origin, Role::Officer, Action::RevokeCertificate);
        revoke(&origin, &issued.certificate_id, "迁出", &officer, now).unwrap();
        assert_eq!(ask(&jti).statuses, [VersionStatus::Revoked]);
        let never = ask(&uuid::Uuid::now_v7().to_string());
        assert_eq!((never.issued, never.statuses.len()), (false, 0));

        let stranger = seal::sha256_hex(b"stranger");
        let refused = answer_status(&origin, Some(&stranger), &jti, &nonce, now).unwrap_err();
        assert!(matches!(refused, AnswerError::Refused(Refusal::UnknownPeer)), "{refused:?}");
        for (version, nonce) in [(jti.as_str(), "nonce"), (&jti.to_uppercase(), nonce.as_str())] {
            let refused = answer_status(&origin, Some(&asker), version, nonce, now).unwrap_err();
            assert!(matches!(refused, AnswerError::Refused(Refusal::BadMessage { .. })), "{refused:?}");
        }
    }

    fn draft() -> CertificateDraft {
        sample_draft(0)
    }

    #[test]
    fn a_certificate_is_issued_renewed_revoked_and_shown() {
        let (_registry, core) = lone_core(ORIGIN);
        let now = Utc::now();
        let officer = actor(&core, Role::Officer, Action::IssueCertificate);
        let first = issue(&core, draft(), &officer, now).unwrap();
        assert_eq!((first.version, first.status), (1, VerificationStatus::Active));
        let refused = issue(&core, draft(), &officer, now).unwrap_err();
        assert!(matches!(refused, ServiceError::Refused(ErrorCode::CertificateExists { .. })), "{refused:?}");

        let second = renew(&core, &first.certificate_id, None, &officer, now).unwrap();
        assert_eq!((second.version, second.supersedes.as_deref()), (2, Some(first.jti.as_str())));
        revoke(&core, &first.certificate_id, "迁出", &officer, now).unwrap();
        let again = revoke(&core, &first.certificate_id, "迁出", &officer, now).unwrap_err();
        assert!(matches!(again, ServiceError::Refused(ErrorCode::CertificateRevoked { .. })), "{again:?}");

        let shown = history(&core, &first.certificate_id, &officer, now).unwrap();
        let statuses: Vec<_> = shown.versions.iter().map(|v| v.status).collect();
        assert_eq!(statuses, [VerificationStatus::Superseded, VerificationStatus::Revoked]);
        assert_eq!(shown.certificate["ver"], 2);
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_written() {
        let (_registry, core) = lone_core(ORIGIN);
        let officer = actor(&core, Role::Officer, Action::RevokeCertificate);
        let blank = revoke(&core, "no-such-certificate", "  ", &officer, Utc::now()).unwrap_err();
        assert!(matches!(&blank, ServiceError::Invalid(errors) if errors[0].code == "revocation.reason"));
        let missing = revoke(&core, "no-such-certificate", "迁出", &officer, Utc::now()).unwrap_err();
        assert!(matches!(missing, ServiceError::Refused(ErrorCode::NotFound { what: "certificate" })));
        assert_eq!(core.store.read(certs::row_counts).unwrap(), [0, 0, 0, 0]);
    }

    #[test]
    fn the_status_list_names_what_is_no_longer_in_force() {
        let (_registry, core) = lone_core(ORIGIN);
        let officer = actor(&core, Role::Officer, Action::IssueCertificate);
        let first = issue(&core, draft(), &officer, Utc::now()).unwrap();
        renew(&core, &first.certificate_id, None, &officer, Utc::now()).unwrap();
        let token = status_list(&core, Utc::now()).unwrap();
        let list: StatusListClaims = crate::seal::records::open_record(
            &token,
            STATUS_LIST_TYP,
            Kind::StatusList,
            &core.trust.current(),
            &core.contract,
        )
        .unwrap();
        assert_eq!(list.entries, vec![StatusEntry { jti: first.jti, status: VersionStatus::Superseded }]);
    }

    #[test]
    fn versions_signed_before_the_log_began_are_logged_in_the_order_issued() {
        use crate::store::issuance_log;
        let (_registry, origin) = lone_core(ORIGIN);
        let issued: Vec<Version> = (0..3).map(|n| crate::service::testing::issue_sample(&origin, n)).collect();
        let leaves = |core: &NodeCore| core.store.read(|conn| issuance_log::leaves_from(conn, 0, 10)).unwrap();
        let logged = leaves(&origin);
        let expected: Vec<_> = issued.iter().map(|v| seal::transparency::leaf_of_token(&v.token).unwrap()).collect();
        assert_eq!(logged, expected, "each version is logged as it is stored");
        // As before the log existed: the versions are there, the log is empty.
        let now = Utc::now().naive_utc();
        origin
            .store
            .write(|conn| {
                diesel::RunQueryDsl::execute(diesel::delete(crate::store::schema::issuance_log::table), conn)?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert_eq!(origin.store.write(move |conn| issuance_log::backfill(conn, now)).unwrap(), 3);
        assert_eq!(leaves(&origin), expected);
        assert_eq!(origin.store.write(move |conn| issuance_log::backfill(conn, now)).unwrap(), 0, "once only");
    }
}
