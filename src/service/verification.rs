//! Verification (查验) of a certificate a holder shows, and the employer's confirmation
//! (用人单位查验) of her presentation: genuine, in force, and whose — with every reason when not.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{ServiceError, blocking};
use crate::contract::Kind;
use crate::domain::access::Action;
use crate::domain::claims::{PresentationClaims, STATUS_ANSWER_TYP, StatusAnswerClaims};
use crate::domain::directory::Freshness;
use crate::domain::error::Coded as _;
use crate::domain::verification::{
    Reason, StatusEvidence, VerificationStatus, VersionStatus, Warning, overall_status, recorded_reasons,
    window_reasons,
};
use crate::exchange::client::PeerClient;
use crate::metrics::StatusLabel;
use crate::node::transparency::Logged;
use crate::node::{Actor, NodeCore};
use crate::seal::directory::NodeEntry;
use crate::seal::records::{
    Genuine, GenuineCertificate, open_certificate_batched, open_presentation_batched, open_record,
};
use crate::store::DbConn;
use crate::store::audit::Recorded;
use crate::store::certificates as certs;

/// What a verifier needs to judge a certificate without network, each part as its signer made
/// it, so that the device checks every signature itself: the directory under the registry's
/// key, and each node's status list (this node's signed now, the others' as last fetched).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OfflineTrust {
    /// The signed directory in use, if the node has one.
    pub directory: Option<String>,
    /// The registry's root key that signs it.
    pub registry_key: Option<crate::seal::Jwk>,
    /// Without a directory, the node's own keys: then only its own certificates are trusted.
    pub keys: Vec<crate::seal::Jwk>,
    /// Node code → its signed status list.
    pub status_lists: std::collections::BTreeMap<String, String>,
    /// When this was put together (RFC 3339): the age of the trust a device keeps.
    pub fetched_at: String,
}

/// The trust data for verifying off line at `now` (no personal data: keys and versions by jti).
pub fn offline_trust(core: &NodeCore, now: DateTime<Utc>) -> Result<OfflineTrust, ServiceError> {
    let anchor = core.trust.anchor();
    let directory = anchor.and_then(|a| std::fs::read_to_string(&a.cache).ok());
    let mut status_lists = core.statuses.tokens();
    status_lists.insert(core.code().to_owned(), super::certificates::status_list(core, now)?);
    Ok(OfflineTrust {
        keys: if directory.is_some() { Vec::new() } else { core.jwks().keys },
        registry_key: directory.as_ref().and(anchor.map(|a| a.root.clone())),
        directory,
        status_lists,
        fetched_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

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
/// issuer and validity, and how fresh the status used is; never why it is not valid.
#[derive(Debug, Clone)]
pub struct Confirmation {
    pub valid: bool,
    pub presentation: Option<Genuine<PresentationClaims>>,
    /// What the confirmation knew of the version's status, when the presentation is genuine.
    pub evidence: Option<StatusEvidence>,
    pub warnings: Vec<Warning>,
}

/// Longest wait for an issuer's on-line answer before the status held here is used instead.
pub const ASK_ISSUER_TIMEOUT: Duration = Duration::from_secs(3);

/// What a verdict knows of a version's status: the statuses it found, and the evidence they are.
pub(crate) type KnownStatus = (Vec<VersionStatus>, StatusEvidence);

/// Verifies a token or QR text as of `now` with the status held here (the issuer's status list,
/// what the exchange brought) and records the access; only a database failure is an error.
///
/// A certificate of another node is judged from memory: the database is touched only by the
/// audit entry, which is durable before the verdict is returned.
pub async fn verify(
    core: &Arc<NodeCore>,
    text: &str,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Verdict, ServiceError> {
    let checked = open_certificate_batched(text, &core.trust.current(), &core.contract, &core.signatures).await;
    let known = checked.as_ref().ok().map(|genuine| listed_status(core, &genuine.claims.iss, &genuine.claims.jti));
    conclude(core, checked, known, who, now).await
}

/// Verifies as [`verify`] does, but first asks the issuer on-line (over `peers`) what it records
/// now of the version: where a stale answer matters most, at an arrival and for an employer. When
/// the issuer cannot be asked, the status held here is used and the verdict says so.
pub async fn verify_asking(
    core: &Arc<NodeCore>,
    peers: Option<&PeerClient>,
    text: &str,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Verdict, ServiceError> {
    let checked = open_certificate_batched(text, &core.trust.current(), &core.contract, &core.signatures).await;
    let (known, warning) = match &checked {
        Ok(genuine) => {
            let (known, warning) = current_status(core, peers, &genuine.claims.iss, &genuine.claims.jti, now).await;
            (Some(known), warning)
        }
        Err(_) => (None, None),
    };
    let mut verdict = conclude(core, checked, known, who, now).await?;
    verdict.warnings.extend(warning);
    Ok(verdict)
}

/// The verdict on an opened token with what is `known` of its status, once its audit entry is durable.
async fn conclude(
    core: &Arc<NodeCore>,
    checked: Result<GenuineCertificate, Reason>,
    known: Option<KnownStatus>,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Verdict, ServiceError> {
    let stale = matches!(core.trust.current().freshness(now.timestamp()), Some(Freshness::Stale { .. }));
    let (subject, object) = match &checked {
        Ok(genuine) => {
            (Some(core.audit_key.subject(genuine.claims.person.id_number.as_str())), Some(genuine.claims.jti.as_str()))
        }
        Err(_) => (None, None),
    };
    let entry = who.entry(Action::Verify, subject, object, now);
    let mut verdict = match checked {
        Err(reason) => Verdict::refused(reason),
        Ok(genuine) => {
            let own = recorded_here(core, &genuine.claims.iss, &genuine.claims.jti).await?;
            judge(core, genuine, known.unwrap_or((Vec::new(), StatusEvidence::Unknown)), own, now)
        }
    };
    core.store.audit_async(Recorded::outcome(verdict.outcome()).entries(entry)).await?;
    if stale {
        verdict.warnings.push(Warning::DirectoryStale);
        core.metrics.stale_directory_verifications.inc();
    }
    let status = verdict.status.as_str().to_owned();
    core.metrics.verifications.get_or_create(&StatusLabel { status }).inc();
    Ok(verdict)
}

/// Confirms an employer presentation (用人单位查验): genuine, in its window, and its certificate
/// version neither superseded nor revoked, as its issuer says on-line when it can be asked (else
/// as held here, and said so). A refused presentation says only `valid: false`.
pub async fn confirm_employment(
    core: &Arc<NodeCore>,
    peers: Option<&PeerClient>,
    text: &str,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Confirmation, ServiceError> {
    let checked = open_presentation_batched(text, &core.trust.current(), &core.contract, &core.signatures).await;
    let object = checked.as_ref().ok().map(|genuine| genuine.claims.cid.as_str());
    let entry = who.entry(Action::ConfirmEmployment, None, object, now);
    let Ok(presentation) = checked else {
        core.store.audit_async(Recorded::outcome("invalid").entries(entry)).await?;
        return Ok(Confirmation { valid: false, presentation: None, evidence: None, warnings: Vec::new() });
    };
    let claims = &presentation.claims;
    let (known, warning) = current_status(core, peers, &claims.iss, &claims.cid, now).await;
    let own = recorded_here(core, &claims.iss, &claims.cid).await?;
    // Her entry names her when this node issued the version, and so knows whose it is.
    let subject = match &own {
        Some(_) => {
            let (at, cid) = (core.clone(), claims.cid.clone());
            blocking(move || Ok(at.store.read(|conn| certs::holder_of_version(conn, &cid))?)).await?
        }
        None => None,
    };
    let evidence = known.1;
    let reasons = version_reasons(core, (&claims.iss, &claims.cid), (claims.nbf, claims.exp), known, own, now);
    let outcome = reasons.first().map_or("active", Reason::code).to_owned();
    let subjects = subject.map(|id| core.audit_key.subject(&id)).into_iter().collect();
    core.store.audit_async(Recorded { outcome, subjects }.entries(entry)).await?;
    let warnings = evidence.warning(now.timestamp()).into_iter().chain(warning).collect();
    Ok(Confirmation { valid: reasons.is_empty(), presentation: Some(presentation), evidence: Some(evidence), warnings })
}

/// What `issuer` records now of its version `jti`: asked on-line over `peers` when it is another
/// active node; when it cannot answer in time, the status held here, with the warning that it
/// was not confirmed.
async fn current_status(
    core: &NodeCore,
    peers: Option<&PeerClient>,
    issuer: &str,
    jti: &str,
    now: DateTime<Utc>,
) -> (KnownStatus, Option<Warning>) {
    let peer = core.trust.current().active_node(issuer).cloned();
    let (Some(peers), Some(peer), false) = (peers, peer, issuer == core.code()) else {
        return (listed_status(core, issuer, jti), None);
    };
    match ask_issuer(core, peers, &peer, jti, now).await {
        Ok(answer) => {
            core.metrics.online_status_answers.inc();
            let evidence = StatusEvidence::Online { answered_at: answer.iat, issued: answer.issued };
            ((answer.statuses, evidence), None)
        }
        Err(error) => {
            core.metrics.online_status_fallbacks.inc();
            tracing::warn!(node = %issuer, %error, "the issuer was not asked on-line; the status held here is used");
            (listed_status(core, issuer, jti), Some(Warning::StatusNotConfirmed))
        }
    }
}

/// Asks `issuer` over the peer channel for its signed word on version `jti`, and checks that the
/// answer is its fresh answer to this very question.
async fn ask_issuer(
    core: &NodeCore,
    peers: &PeerClient,
    issuer: &NodeEntry,
    jti: &str,
    now: DateTime<Utc>,
) -> Result<StatusAnswerClaims, String> {
    let nonce = uuid::Uuid::now_v7().to_string();
    let answer = tokio::time::timeout(ASK_ISSUER_TIMEOUT, peers.status(issuer, jti, &nonce))
        .await
        .map_err(|_| format!("no answer within {} s", ASK_ISSUER_TIMEOUT.as_secs()))??;
    let claims: StatusAnswerClaims =
        open_record(&answer, STATUS_ANSWER_TYP, Kind::StatusAnswer, &core.trust.current(), &core.contract)
            .map_err(|reason| format!("answer: {}", reason.code()))?;
    if claims.iss != issuer.code || claims.aud != core.code() || claims.nonce != nonce || claims.version != jti {
        return Err("the answer is not the issuer's answer to this question".into());
    }
    if !claims.is_fresh(now.timestamp()) {
        return Err("the answer is not fresh".into());
    }
    Ok(claims)
}

/// What the status list of `issuer` held here says of its version `jti`, and the evidence it
/// is; this node is the one authority on what it issued itself.
pub(crate) fn listed_status(core: &NodeCore, issuer: &str, jti: &str) -> KnownStatus {
    if issuer == core.code() { (Vec::new(), StatusEvidence::Issuer) } else { core.statuses.listed(issuer, jti) }
}

/// The verdict on a genuine certificate at `now`: its window, and what is recorded of its
/// version — `own`, read here, when this node issued it (see [`reasons_recorded_here`]), else
/// what its issuer told this node through the exchange and what is `known` from it.
pub(crate) fn judge(
    core: &NodeCore,
    genuine: GenuineCertificate,
    known: KnownStatus,
    own: Option<Vec<Reason>>,
    now: DateTime<Utc>,
) -> Verdict {
    let claims = &genuine.claims;
    let evidence = known.1;
    let issued_here = own.is_some();
    let mut reasons = version_reasons(core, (&claims.iss, &claims.jti), (claims.nbf, claims.exp), known, own, now);
    // This node's own versions are judged by its store; another node's by its log as taken in.
    if !issued_here && core.issuer_logs.judge(&claims.iss, &genuine.leaf, claims.iat) == Logged::No {
        reasons.push(Reason::NotInLog);
    }
    let warnings = evidence.warning(now.timestamp()).into_iter().collect();
    Verdict { status: overall_status(&reasons), reasons, warnings, genuine: Some(genuine), evidence: Some(evidence) }
}

/// Why version `jti` of `issuer`, valid from `nbf` to `exp`, is not in force at `now`: its window,
/// and what is recorded of it — `own` reasons for a version this node issued, else the statuses
/// its issuer reported through the exchange and `known` (its list or its on-line answer).
fn version_reasons(
    core: &NodeCore,
    (issuer, jti): (&str, &str),
    (nbf, exp): (i64, i64),
    (listed, evidence): KnownStatus,
    own: Option<Vec<Reason>>,
    now: DateTime<Utc>,
) -> Vec<Reason> {
    let mut reasons = window_reasons(nbf, exp, now.timestamp());
    match own {
        Some(own) => reasons.extend(own),
        None => {
            reasons.extend(evidence.reason());
            let mut reported = core.statuses.reported(issuer, jti);
            reported.extend(listed);
            reasons.extend(recorded_reasons(reported));
        }
    }
    reasons
}

/// The reasons this node's store records for version `jti` when this node issued it, `None` for
/// another node's version. A version signed with this node's key must be one it issued (a key
/// stolen and used is otherwise undetectable here).
pub(crate) fn reasons_recorded_here(
    core: &NodeCore,
    conn: &mut DbConn,
    issuer: &str,
    jti: &str,
) -> Result<Option<Vec<Reason>>, ServiceError> {
    if issuer != core.code() {
        return Ok(None);
    }
    Ok(Some(certs::recorded(conn, jti)?.map_or_else(|| vec![Reason::UnknownVersion], recorded_reasons)))
}

/// [`reasons_recorded_here`] for async callers, from memory: another node's version costs no
/// database read, nor does one of this node's own as far as taken in. A version not known here yet
/// (issued a moment ago, by another process, or never) is read from the store, and what the store
/// added since the last time is taken in.
async fn recorded_here(core: &Arc<NodeCore>, issuer: &str, jti: &str) -> Result<Option<Vec<Reason>>, ServiceError> {
    if issuer != core.code() {
        return Ok(None);
    }
    if let Some(statuses) = core.own.recorded(jti) {
        return Ok(Some(recorded_reasons(statuses)));
    }
    let (at, issuer, jti) = (core.clone(), issuer.to_owned(), jti.to_owned());
    blocking(move || {
        let reasons = at.store.read(|conn| reasons_recorded_here(&at, conn, &issuer, &jti))?;
        at.catch_up_own()?;
        Ok(reasons)
    })
    .await
}

/// Reasons recorded here for a version this node issued.
pub(crate) fn stored_reasons(conn: &mut DbConn, jti: &str) -> Result<Vec<Reason>, ServiceError> {
    Ok(recorded_reasons(certs::statuses(conn, jti)?))
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

    #[tokio::test]
    async fn the_residence_verifies_what_the_origin_issued_and_learns_of_its_revocation() {
        let (_registry, origin, residence) = origin_and_residence();
        let (origin, residence) = (Arc::new(origin), Arc::new(residence));
        let now = Utc::now();
        let issued = issue_sample(&origin, 0);
        let worker = actor(&residence, Role::Worker, Action::Verify);

        let verdict = verify(&residence, &issued.qr, &worker, now).await.unwrap();
        assert!(verdict.valid(), "{verdict:?}");
        assert_eq!(verdict.genuine.unwrap().issuer.code, ORIGIN.0);

        let officer = actor(&origin, Role::Officer, Action::RevokeCertificate);
        revoke(&origin, &issued.certificate_id, "迁出", &officer, now).unwrap();
        let token = status_list(&origin, now).unwrap();
        residence.statuses.replace(crate::seal::read_stored(&token).unwrap(), &token).unwrap();
        let verdict = verify(&residence, &issued.token, &worker, now).await.unwrap();
        assert_eq!((verdict.status, verdict.reasons.as_slice()), (VerificationStatus::Revoked, &[Reason::Revoked][..]));
    }

    #[tokio::test]
    async fn a_verdict_says_how_fresh_its_status_information_is() {
        let (_registry, origin, residence) = origin_and_residence();
        let (origin, residence) = (Arc::new(origin), Arc::new(residence));
        let issued = issue_sample(&origin, 0);
        let worker = actor(&residence, Role::Worker, Action::Verify);
        let now = Utc::now();
        let verdict = verify(&residence, &issued.qr, &worker, now).await.unwrap();
        assert_eq!((verdict.evidence, verdict.warnings), (Some(StatusEvidence::Unknown), vec![Warning::StatusUnknown]));

        // A list signed two days ago for one day: used, and said to be stale.
        let day = 86_400;
        let old = StatusListClaims {
            iss: origin.code().into(),
            iat: now.timestamp() - 2 * day,
            exp: now.timestamp() - day,
            entries: vec![],
        };
        residence.statuses.replace(old, "").unwrap();
        let verdict = verify(&residence, &issued.qr, &worker, now).await.unwrap();
        assert!(verdict.valid());
        assert_eq!(verdict.warnings, [Warning::StatusListStale]);

        let own = verify(&origin, &issued.qr, &actor(&origin, Role::Officer, Action::Verify), now).await.unwrap();
        assert_eq!((own.evidence, own.warnings.len()), (Some(StatusEvidence::Issuer), 0));
    }

    #[tokio::test]
    async fn a_certificate_counts_only_from_the_node_of_her_household_registration() {
        let (_registry, origin, residence) = origin_and_residence();
        let (origin, residence) = (Arc::new(origin), Arc::new(residence));
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
            let verdict = verify(at, &forged, &actor(at, Role::Worker, Action::Verify), now).await.unwrap();
            assert_eq!(verdict.reasons, [Reason::NotResponsible], "at {}", at.code());
        }
    }

    #[tokio::test]
    async fn the_issuer_refuses_a_version_it_never_issued() {
        let (_registry, origin, residence) = origin_and_residence();
        let (origin, residence) = (Arc::new(origin), Arc::new(residence));
        let now = Utc::now();
        // Signed with the origin's key (stolen, say) but never issued by it.
        let content = CertificateContent::parse(sample_draft(0), local_date(now)).unwrap();
        let jti = uuid::Uuid::now_v7().to_string();
        let version = VersionId { jti: &jti, ver: 1, supersedes: None };
        let claims =
            CertificateClaims::new(origin.code(), version, &content, now, content.valid_until(local_date(now)));
        let forged =
            crate::seal::sign_compact(&*origin.signer, CERTIFICATE_TYP, &serde_json::to_vec(&claims).unwrap(), false);
        let at_issuer = verify(&origin, &forged, &actor(&origin, Role::Officer, Action::Verify), now).await.unwrap();
        assert_eq!(at_issuer.reasons, [Reason::UnknownVersion]);
        let issued = issue_sample(&origin, 1);
        let genuine = verify(&origin, &issued.qr, &actor(&origin, Role::Officer, Action::Verify), now).await.unwrap();
        assert!(genuine.valid(), "{genuine:?}");
        // Elsewhere only the issuer's transparency log can tell: without its head, it verifies…
        let worker = actor(&residence, Role::Worker, Action::Verify);
        let elsewhere = verify(&residence, &forged, &worker, now).await.unwrap();
        assert!(elsewhere.reasons.is_empty(), "{elsewhere:?}");
        // …and once a head signed two minutes later is taken in, it is refused; the issued one is not.
        let head = origin.sign_tree_head(now + chrono::Duration::minutes(2)).unwrap();
        let leaves = origin.log.with_leaves(<[_]>::to_vec);
        residence.issuer_logs.extend(head.claims, leaves).unwrap();
        let elsewhere = verify(&residence, &forged, &worker, now).await.unwrap();
        assert_eq!(elsewhere.reasons, [Reason::NotInLog]);
        assert!(verify(&residence, &issued.qr, &worker, now).await.unwrap().valid());
    }

    #[tokio::test]
    async fn a_forgery_is_refused_and_still_audited() {
        let (_registry, origin) = lone_core(ORIGIN);
        let origin = Arc::new(origin);
        let verdict =
            verify(&origin, "HY1:NOT-A-CERTIFICATE", &actor(&origin, Role::Worker, Action::Verify), Utc::now())
                .await
                .unwrap();
        assert_eq!(verdict.status, VerificationStatus::Invalid);
        let entries = origin.store.read(|conn| crate::store::audit::list(conn, &Default::default())).unwrap();
        assert_eq!(entries.last().map(|e| (e.action.as_str(), e.outcome.as_str())), Some(("verify", "malformed")));
    }

    #[tokio::test]
    async fn an_employer_learns_validity_only() {
        let (_registry, origin) = lone_core(ORIGIN);
        let origin = Arc::new(origin);
        let now = Utc::now();
        let issued = issue_sample(&origin, 0);
        let employer = actor(&origin, Role::Employer, Action::ConfirmEmployment);
        let confirmed = confirm_employment(&origin, None, &issued.employer_qr, &employer, now).await.unwrap();
        assert!(confirmed.valid);
        assert_eq!((confirmed.evidence, confirmed.warnings.len()), (Some(StatusEvidence::Issuer), 0));
        assert_eq!(confirmed.presentation.unwrap().claims.name, "张丽");
        let forged = confirm_employment(&origin, None, &issued.qr, &employer, now).await.unwrap();
        assert!(!forged.valid && forged.presentation.is_none());
    }
}
