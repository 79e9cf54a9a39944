//! Residence worker (现居住地) endpoint: verify a certificate (查验) from its QR text or token.

use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, Requester, actor, answered};
use crate::domain::access::Action;
use crate::domain::error::Coded;
use crate::domain::verification::{StatusEvidence, VerificationStatus};
use crate::seal::records::Issuer;
use crate::service::verification::{self, Verdict};

/// Body of a verification, and of an employer's confirmation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// QR text (`HY1:…`) or compact JWS.
    #[schema(schema_with = super::schema::token)]
    pub token: String,
}

/// One reason in a verification result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReasonView {
    pub code: &'static str,
    /// Chinese message.
    pub message: &'static str,
    pub message_en: &'static str,
}

impl ReasonView {
    /// The view of a reason or warning.
    pub fn of(coded: &impl Coded) -> Self {
        Self { code: coded.code(), message: coded.message_zh(), message_en: coded.message_en() }
    }
}

/// The node that signed a certificate.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuerView {
    pub code: String,
    pub name: String,
}

impl From<Issuer> for IssuerView {
    fn from(issuer: Issuer) -> Self {
        Self { code: issuer.code, name: issuer.name }
    }
}

/// Result of `POST /api/v1/verify`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub valid: bool,
    pub status: VerificationStatus,
    pub reasons: Vec<ReasonView>,
    /// What the verifier should know that does not change the verdict (e.g. a stale trust directory).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ReasonView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<IssuerView>,
    /// The signed payload, when the signature is genuine (for roles that may see it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub certificate: Option<serde_json::Value>,
    /// What the verdict knows of the version's status, and how fresh that is (genuine certificates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
}

/// Where a verdict's knowledge of revocations and renewals comes from, and its age.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatusInfo {
    /// `issuer` (this node issued it: current), `issuer_online` (the issuer's signed answer,
    /// asked just now), `status_list` (the issuer's signed list held here) or `unknown` (no list
    /// of the issuer could be had).
    pub source: &'static str,
    /// When the issuer signed the answer or list used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<DateTime<Utc>>,
    /// Seconds from then to the verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
}

impl StatusInfo {
    /// The view of `evidence` at `now`.
    pub fn of(evidence: StatusEvidence, now: DateTime<Utc>) -> Self {
        let signed = |source, at: i64| Self {
            source,
            as_of: DateTime::from_timestamp(at, 0),
            age_seconds: Some(now.timestamp() - at),
        };
        match evidence {
            StatusEvidence::Issuer => Self { source: "issuer", as_of: None, age_seconds: None },
            StatusEvidence::Online { answered_at, .. } => signed("issuer_online", answered_at),
            StatusEvidence::StatusList { issued_at, .. } => signed("status_list", issued_at),
            StatusEvidence::Unknown => Self { source: "unknown", as_of: None, age_seconds: None },
        }
    }
}

impl From<Verdict> for Verification {
    fn from(verdict: Verdict) -> Self {
        let valid = verdict.valid();
        let (issuer, certificate) = match verdict.genuine {
            Some(genuine) => (Some(genuine.issuer.into()), Some(genuine.payload)),
            None => (None, None),
        };
        Self {
            valid,
            status: verdict.status,
            reasons: verdict.reasons.iter().map(ReasonView::of).collect(),
            warnings: verdict.warnings.iter().map(ReasonView::of).collect(),
            issuer,
            certificate,
            status_info: verdict.evidence.map(|evidence| StatusInfo::of(evidence, Utc::now())),
        }
    }
}

/// Verify a certificate: genuine, current and whose, with every reason when it is not.
#[utoipa::path(tag = "worker", request_body = VerifyRequest, security(("bearer" = [])),
    responses((status = 200, body = Verification), (status = 429, description = "over the key's rate limit")))]
#[post("/api/v1/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    requester: Requester,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, requester, Action::Verify).await?;
    let result = verification::verify(&state.core, &body.token, &who, Utc::now()).await;
    let verdict = answered(&state, &who, Action::Verify, result).await?;
    Ok(HttpResponse::Ok().json(Verification::from(verdict)))
}
