//! Origin officer (户籍地) endpoints: issue, show, renew and revoke certificates.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::error::json_problem;
use super::{ApiError, AppState, Requester, authorized};
use crate::domain::access::Action;
use crate::domain::certificate::CertificateDraft;
use crate::domain::verification::VerificationStatus;
use crate::service::certificates::{self, History, Revoked, Version};

/// What the officer gets back for an issued or renewed certificate.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Issued {
    /// Certificate (lineage) id, the same for every version.
    pub id: String,
    pub version: u32,
    /// Compact JWS (uncompressed payload: any JOSE library verifies it).
    pub token: String,
    /// QR text (`HY1:` + Base45, compressed payload).
    pub qr: String,
    /// Employer presentation (name, issuer, validity only), as a compact JWS.
    pub employer_token: String,
    /// Employer presentation as QR text, for the holder to show employers.
    pub employer_qr: String,
    /// Last day of validity (inclusive, Asia/Shanghai).
    #[schema(value_type = String, format = Date)]
    pub valid_until: NaiveDate,
}

impl From<Version> for Issued {
    fn from(v: Version) -> Self {
        Self {
            id: v.certificate_id,
            version: v.version,
            token: v.token,
            qr: v.qr,
            employer_token: v.employer_token,
            employer_qr: v.employer_qr,
            valid_until: v.valid_until,
        }
    }
}

/// One version of a certificate as the officer sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    pub version: u32,
    pub jti: String,
    pub status: VerificationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    pub issued_at: DateTime<Utc>,
    #[schema(value_type = String, format = Date)]
    pub valid_until: NaiveDate,
    pub token: String,
    pub qr: String,
    pub employer_token: String,
    pub employer_qr: String,
}

impl From<Version> for VersionView {
    fn from(v: Version) -> Self {
        Self {
            version: v.version,
            jti: v.jti,
            status: v.status,
            supersedes: v.supersedes,
            issued_at: v.issued_at,
            valid_until: v.valid_until,
            token: v.token,
            qr: v.qr,
            employer_token: v.employer_token,
            employer_qr: v.employer_qr,
        }
    }
}

/// A certificate lineage with every version, newest last.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CertificateView {
    pub id: String,
    pub versions: Vec<VersionView>,
    /// Payload of the newest version.
    #[schema(value_type = Object)]
    pub certificate: serde_json::Value,
}

impl From<History> for CertificateView {
    fn from(history: History) -> Self {
        let versions = history.versions.into_iter().map(VersionView::from).collect();
        Self { id: history.id, versions, certificate: history.certificate }
    }
}

/// Outcome of a revocation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Revocation {
    pub id: String,
    pub version: u32,
    pub revoked_at: DateTime<Utc>,
}

impl From<Revoked> for Revocation {
    fn from(r: Revoked) -> Self {
        Self { id: r.id, version: r.version, revoked_at: r.revoked_at }
    }
}

/// Issue a certificate (签发婚育证明): the node validates, signs and stores version 1.
#[utoipa::path(tag = "officer", request_body = CertificateDraft, security(("bearer" = [])),
    responses((status = 201, body = Issued), (status = 409, description = "she holds a certificate in force here")))]
#[post("/api/v1/certificates")]
pub async fn create(
    state: web::Data<AppState>,
    requester: Requester,
    draft: web::Json<CertificateDraft>,
) -> Result<HttpResponse, ApiError> {
    let draft = draft.into_inner();
    let issued = authorized(&state, requester, Action::IssueCertificate, move |core, who| {
        certificates::issue(core, draft, &who, Utc::now())
    })
    .await?;
    tracing::info!(certificate = %issued.certificate_id, version = issued.version, "certificate issued");
    Ok(HttpResponse::Created().json(Issued::from(issued)))
}

/// A certificate with every version and its status.
#[utoipa::path(tag = "officer", security(("bearer" = [])),
    params(("id" = String, Path, description = "certificate id")),
    responses((status = 200, body = CertificateView), (status = 404, description = "no such certificate")))]
#[get("/api/v1/certificates/{id}")]
pub async fn show(
    state: web::Data<AppState>,
    requester: Requester,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let history = authorized(&state, requester, Action::ShowCertificate, move |core, who| {
        certificates::history(core, &id, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(CertificateView::from(history)))
}

/// Renew a certificate (换发): a new version with the content given, or the same content when the body is empty.
#[utoipa::path(tag = "officer", security(("bearer" = [])),
    params(("id" = String, Path, description = "certificate id")),
    request_body(content = Option<CertificateDraft>, description = "new content; an empty body or `{}` keeps the current content"),
    responses((status = 201, body = Issued), (status = 404, description = "no such certificate"),
        (status = 409, description = "revoked, or changed meanwhile")))]
#[post("/api/v1/certificates/{id}/renew")]
pub async fn renew(
    state: web::Data<AppState>,
    requester: Requester,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // An empty body, or an empty object, keeps the current content.
    let draft = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| json_problem(&e))?;
        if value.as_object().is_some_and(serde_json::Map::is_empty) {
            None
        } else {
            Some(serde_json::from_value::<CertificateDraft>(value).map_err(|e| json_problem(&e))?)
        }
    };
    let id = id.into_inner();
    let issued = authorized(&state, requester, Action::RenewCertificate, move |core, who| {
        certificates::renew(core, &id, draft, &who, Utc::now())
    })
    .await?;
    tracing::info!(certificate = %issued.certificate_id, version = issued.version, "certificate renewed");
    Ok(HttpResponse::Created().json(Issued::from(issued)))
}

/// Body of a revocation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// Why the certificate is revoked (注销原因).
    #[schema(schema_with = super::schema::reason)]
    pub reason: String,
}

/// Revoke a certificate (注销): its newest version stops being valid everywhere the issuer is asked.
#[utoipa::path(tag = "officer", security(("bearer" = [])),
    params(("id" = String, Path, description = "certificate id")), request_body = RevokeRequest,
    responses((status = 200, body = Revocation), (status = 404, description = "no such certificate"),
        (status = 409, description = "already revoked")))]
#[post("/api/v1/certificates/{id}/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    requester: Requester,
    id: web::Path<String>,
    body: web::Json<RevokeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, reason) = (id.into_inner(), body.into_inner().reason);
    let revoked = authorized(&state, requester, Action::RevokeCertificate, move |core, who| {
        certificates::revoke(core, &id, &reason, &who, Utc::now())
    })
    .await?;
    tracing::info!(certificate = %revoked.id, version = revoked.version, "certificate revoked");
    Ok(HttpResponse::Ok().json(Revocation::from(revoked)))
}
