//! Verification (查验) of a certificate a holder shows, and the employer's confirmation
//! (用人单位查验) of her presentation: genuine, in force, and whose — with every reason when not.

use chrono::{DateTime, Utc};

use super::ServiceError;
use crate::domain::access::Action;
use crate::domain::claims::PresentationClaims;
use crate::domain::directory::Freshness;
use crate::domain::error::Coded as _;
use crate::domain::verification::{
    Reason, StatusEvidence, VerificationStatus, VersionStatus, Warning, overall_status, recorded_reasons,
    window_reasons,
};
use crate::metrics::StatusLabel;
use crate::node::{Actor, NodeCore};
use crate::seal::records::{Genuine, GenuineCertificate, open_certificate, open_presentation};
use crate::store::DbConn;
use crate::store::audit::Recorded;
use crate::store::certificates as certs;
use crate::store::messages;

/// What a verifier concludes about a presented certificate.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub status: VerificationStatus,
    /// Why it is not valid, most serious first as found.
    pub reasons: Vec<Reason>,
    /// What the verifier should know that does not change the verdict.
    pub warnings: Vec<Warning>,
    /// The certificate, when its signature is genuine.
    pub genuine: Option<GenuineCertificate>,
    /// What the verdict knows of the version's status, when the certificate is genuine.
    pub evidence: Option<StatusEvidence>,
}

impl Verdict {
    /// Whether the certificate is genuine, current and in force.
    pub fn valid(&self) -> bool {
        self.status == VerificationStatus::Active
    }

    /// The verdict on a token that is no genuine certificate.
    pub fn refused(reason: Reason) -> Self {
        Self { status: reason.status(), reasons: vec![reason], warnings: Vec::new(), genuine: None, evidence: None }
    }

    /// The code of the first reason, or `active`: how the audit log records the verdict.
    fn outcome(&self) -> &'static str {
        self.reasons.first().map_or("active", Reason::code)
    }
}

/// What an employer learns: valid or not, and from a genuine presentation its holder's name,
/// issuer and validity; never why it is not valid.
#[derive(Debug, Clone)]
pub struct Confirmation {
    pub valid: bool,
    pub presentation: Option<Genuine<PresentationClaims>>,
}

/// Verifies a token or QR text as of `now` and records the access; only a database failure is an error.
pub fn verify(core: &NodeCore, text: &str, who: &Actor, now: DateTime<Utc>) -> Result<Verdict, ServiceError> {
    // Signature, schema and window are CPU work: done before the read.
    let trust = core.trust.current();
    let checked = open_certificate(text, &trust, &core.contract);
    let stale = matches!(trust.freshness(now.timestamp()), Some(Freshness::Stale { .. }));
    let (subject, object) = match &checked {
        Ok(genuine) => {
            (Some(core.audit_key.subject(genuine.claims.person.id_number.as_str())), Some(genuine.claims.jti.as_str()))
        }
        Err(_) => (None, None),
    };
    let listed = match &checked {
        Ok(genuine) => listed_status(core, &genuine.claims.iss, &genuine.claims.jti),
        Err(_) => (Vec::new(), StatusEvidence::Unknown),
    };
    let entry = who.entry(Action::Verify, subject, object, now);
    let mut verdict = core.store.read_audited(entry, |conn| {
        let verdict = match checked {
            Err(reason) => Verdict::refused(reason),
            Ok(genuine) => judge(core, conn, genuine, listed, now)?,
        };
        let outcome = Recorded::outcome(verdict.outcome());
        Ok::<_, ServiceError>((verdict, outcome))
    })?;
    if stale {
        verdict.warnings.push(Warning::DirectoryStale);
        core.metrics.stale_directory_verifications.inc();
    }
    let status = verdict.status.as_str().to_owned();
    core.metrics.verifications.get_or_create(&StatusLabel { status }).inc();
    Ok(verdict)
}

/// Confirms an employer presentation (用人单位查验): genuine, in its window, and its certificate
/// version neither superseded nor revoked. A refused presentation says only `valid: false`.
pub fn confirm_employment(
    core: &NodeCore,
    text: &str,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Confirmation, ServiceError> {
    let checked = open_presentation(text, &core.trust.current(), &core.contract);
    let object = checked.as_ref().ok().map(|genuine| genuine.claims.cid.as_str());
    let listed = match &checked {
        Ok(genuine) => listed_status(core, &genuine.claims.iss, &genuine.claims.cid).0,
        Err(_) => Vec::new(),
    };
    let entry = who.entry(Action::ConfirmEmployment, None, object, now);
    core.store.read_audited(entry, |conn| {
        let Ok(presentation) = checked else {
            return Ok((Confirmation { valid: false, presentation: None }, Recorded::outcome("invalid")));
        };
        let claims = &presentation.claims;
        let mut reasons = window_reasons(claims.nbf, claims.exp, now.timestamp());
        let mut subject = None;
        if claims.iss == core.code() {
            reasons.extend(own_reasons(conn, &claims.cid)?);
            subject = certs::holder_of_version(conn, &claims.cid)?.map(|id| core.audit_key.subject(&id));
        } else {
            reasons.extend(reported_reasons(conn, &claims.iss, &claims.cid, listed)?);
        }
        let outcome = reasons.first().map_or("active", Reason::code).to_owned();
        let confirmation = Confirmation { valid: reasons.is_empty(), presentation: Some(presentation) };
        Ok::<_, ServiceError>((confirmation, Recorded { outcome, subjects: subject.into_iter().collect() }))
    })
}

/// What the status list of `issuer` held here says of its version `jti`, and the evidence it
/// is; this node is the one authority on what it issued itself.
pub(crate) fn listed_status(core: &NodeCore, issuer: &str, jti: &str) -> (Vec<VersionStatus>, StatusEvidence) {
    if issuer == core.code() { (Vec::new(), StatusEvidence::Issuer) } else { core.statuses.listed(issuer, jti) }
}

/// The verdict on a genuine certificate at `now`: its window, and what is recorded of its
/// version — here when this node issued it, else what its issuer told this node through the
/// exchange and what its status list says (`listed`, with the evidence it is).
pub(crate) fn judge(
    core: &NodeCore,
    conn: &mut DbConn,
    genuine: GenuineCertificate,
    (listed, evidence): (Vec<VersionStatus>, StatusEvidence),
    now: DateTime<Utc>,
) -> Result<Verdict, ServiceError> {
    let claims = &genuine.claims;
    let mut reasons = window_reasons(claims.nbf, claims.exp, now.timestamp());
    if claims.iss == core.code() {
        reasons.extend(own_reasons(conn, &claims.jti)?);
    } else {
        reasons.extend(reported_reasons(conn, &claims.iss, &claims.jti, listed)?);
    }
    let warnings = evidence.warning(now.timestamp()).into_iter().collect();
    Ok(Verdict {
        status: overall_status(&reasons),
        reasons,
        warnings,
        genuine: Some(genuine),
        evidence: Some(evidence),
    })
}

/// Reasons of a version signed with this node's key: it must be one this node issued (a key
/// stolen and used is otherwise undetectable here), and what is recorded of it.
fn own_reasons(conn: &mut DbConn, jti: &str) -> Result<Vec<Reason>, ServiceError> {
    Ok(certs::recorded(conn, jti)?.map_or_else(|| vec![Reason::UnknownVersion], recorded_reasons))
}

/// Reasons recorded here for a version this node issued.
pub(crate) fn stored_reasons(conn: &mut DbConn, jti: &str) -> Result<Vec<Reason>, ServiceError> {
    Ok(recorded_reasons(certs::statuses(conn, jti)?))
}

/// Reasons that `issuer` gave for its version `jti`: through the exchange, and in its status list.
fn reported_reasons(
    conn: &mut DbConn,
    issuer: &str,
    jti: &str,
    listed: Vec<VersionStatus>,
) -> Result<Vec<Reason>, ServiceError> {
    let mut reported = messages::received_statuses(conn, jti, issuer)?;
    reported.extend(listed);
    Ok(recorded_reasons(reported))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::calendar::local_date;
    use crate::domain::certificate::CertificateContent;
    use crate::domain::claims::{CERTIFICATE_TYP, CertificateClaims, StatusListClaims, VersionId};
    use crate::domain::role::Role;
    use crate::service::certificates::{revoke, status_list};
    use crate::service::testing::{ORIGIN, actor, issue_sample, lone_core, origin_and_residence, sample_draft};

    #[test]
    fn the_residence_verifies_what_the_origin_issued_and_learns_of_its_revocation() {
        let (_registry, origin, residence) = origin_and_residence();
        let now = Utc::now();
        let issued = issue_sample(&origin, 0);
        let worker = actor(&residence, Role::Worker, Action::Verify);

        let verdict = verify(&residence, &issued.qr, &worker, now).unwrap();
        assert!(verdict.valid(), "{verdict:?}");
        assert_eq!(verdict.genuine.unwrap().issuer.code, ORIGIN.0);

        let officer = actor(&origin, Role::Officer, Action::RevokeCertificate);
        revoke(&origin, &issued.certificate_id, "迁出", &officer, now).unwrap();
        let list = crate::seal::read_stored(&status_list(&origin, now).unwrap()).unwrap();
        residence.statuses.replace(list).unwrap();
        let verdict = verify(&residence, &issued.token, &worker, now).unwrap();
        assert_eq!((verdict.status, verdict.reasons.as_slice()), (VerificationStatus::Revoked, &[Reason::Revoked][..]));
    }

    #[test]
    fn a_verdict_says_how_fresh_its_status_information_is() {
        let (_registry, origin, residence) = origin_and_residence();
        let issued = issue_sample(&origin, 0);
        let worker = actor(&residence, Role::Worker, Action::Verify);
        let now = Utc::now();
        let verdict = verify(&residence, &issued.qr, &worker, now).unwrap();
        assert_eq!((verdict.evidence, verdict.warnings), (Some(StatusEvidence::Unknown), vec![Warning::StatusUnknown]));

        // A list signed two days ago for one day: used, and said to be stale.
        let day = 86_400;
        let old = StatusListClaims {
            iss: origin.code().into(),
            iat: now.timestamp() - 2 * day,
            exp: now.timestamp() - day,
            entries: vec![],
        };
        residence.statuses.replace(old).unwrap();
        let verdict = verify(&residence, &issued.qr, &worker, now).unwrap();
        assert!(verdict.valid());
        assert_eq!(verdict.warnings, [Warning::StatusListStale]);

        let own = verify(&origin, &issued.qr, &actor(&origin, Role::Officer, Action::Verify), now).unwrap();
        assert_eq!((own.evidence, own.warnings.len()), (Some(StatusEvidence::Issuer), 0));
    }

    #[test]
    fn a_certificate_counts_only_from_the_node_of_her_household_registration() {
        let (_registry, origin, residence) = origin_and_residence();
        let now = Utc::now();
        // The residence may not issue her one: she is registered at the origin.
        let officer = actor(&residence, Role::Officer, Action::IssueCertificate);
        let refused = crate::service::certificates::issue(&residence, sample_draft(0), &officer, now).unwrap_err();
        assert!(
            matches!(&refused, ServiceError::Invalid(e) if e[0].code == "certificate.not_responsible"),
            "{refused:?}"
        );

        // One it signed all the same is refused wherever it is shown.
        let content = CertificateContent::parse(sample_draft(0), local_date(now)).unwrap();
        let valid_until = content.valid_until(local_date(now));
        let jti = uuid::Uuid::now_v7().to_string();
        let version = VersionId { jti: &jti, ver: 1, supersedes: None };
        let claims = CertificateClaims::new(residence.code(), version, &content, now, valid_until);
        let payload = serde_json::to_vec(&claims).unwrap();
        let forged = crate::seal::sign_compact(&*residence.signer, CERTIFICATE_TYP, &payload, false);
        for at in [&origin, &residence] {
            let verdict = verify(at, &forged, &actor(at, Role::Worker, Action::Verify), now).unwrap();
            assert_eq!(verdict.reasons, [Reason::NotResponsible], "at {}", at.code());
        }
    }

    #[test]
    fn the_issuer_refuses_a_version_it_never_issued() {
        let (_registry, origin, residence) = origin_and_residence();
        let now = Utc::now();
        // Signed with the origin's key (stolen, say) but never issued by it.
        let content = CertificateContent::parse(sample_draft(0), local_date(now)).unwrap();
        let jti = uuid::Uuid::now_v7().to_string();
        let version = VersionId { jti: &jti, ver: 1, supersedes: None };
        let claims =
            CertificateClaims::new(origin.code(), version, &content, now, content.valid_until(local_date(now)));
        let forged =
            crate::seal::sign_compact(&*origin.signer, CERTIFICATE_TYP, &serde_json::to_vec(&claims).unwrap(), false);
        let at_issuer = verify(&origin, &forged, &actor(&origin, Role::Officer, Action::Verify), now).unwrap();
        assert_eq!(at_issuer.reasons, [Reason::UnknownVersion]);
        let issued = issue_sample(&origin, 1);
        let genuine = verify(&origin, &issued.qr, &actor(&origin, Role::Officer, Action::Verify), now).unwrap();
        assert!(genuine.valid(), "{genuine:?}");
        // Elsewhere only the issuer's transparency log could tell (issue 10): today it verifies.
        let elsewhere = verify(&residence, &forged, &actor(&residence, Role::Worker, Action::Verify), now).unwrap();
        assert!(elsewhere.reasons.is_empty(), "{elsewhere:?}");
    }

    #[test]
    fn a_forgery_is_refused_and_still_audited() {
        let (_registry, origin) = lone_core(ORIGIN);
        let verdict =
            verify(&origin, "HY1:NOT-A-CERTIFICATE", &actor(&origin, Role::Worker, Action::Verify), Utc::now())
                .unwrap();
        assert_eq!(verdict.status, VerificationStatus::Invalid);
        let entries = origin.store.read(|conn| crate::store::audit::list(conn, &Default::default())).unwrap();
        assert_eq!(entries.last().map(|e| (e.action.as_str(), e.outcome.as_str())), Some(("verify", "malformed")));
    }

    #[test]
    fn an_employer_learns_validity_only() {
        let (_registry, origin) = lone_core(ORIGIN);
        let now = Utc::now();
        let issued = issue_sample(&origin, 0);
        let employer = actor(&origin, Role::Employer, Action::ConfirmEmployment);
        let confirmed = confirm_employment(&origin, &issued.employer_qr, &employer, now).unwrap();
        assert!(confirmed.valid);
        assert_eq!(confirmed.presentation.unwrap().claims.name, "张丽");
        let forged = confirm_employment(&origin, &issued.qr, &employer, now).unwrap();
        assert!(!forged.valid && forged.presentation.is_none());
    }
}
