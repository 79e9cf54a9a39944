//! Origin officer (户籍地) endpoints: issue, show, renew and revoke certificates.

use actix_web::{HttpResponse, get, post, web};
use chrono::Utc;
use serde::Deserialize;

use super::error::{ApiError, json_problem};
use super::{Problem, Requester, authorized};
use crate::access::Action;
use crate::domain::certificate::CertificateDraft;
use crate::node::{CertificateView, Issued, Node, Revocation};

/// Issue a certificate (签发婚育证明): the node validates, signs and stores version 1.
#[utoipa::path(post, path = "/api/v1/certificates", tag = "officer", request_body = CertificateDraft,
    security(("bearer" = [])),
    responses((status = 201, body = Issued), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/certificates")]
pub async fn create(
    node: web::Data<Node>,
    requester: Requester,
    draft: web::Json<CertificateDraft>,
) -> Result<HttpResponse, ApiError> {
    let draft = draft.into_inner();
    let issued =
        authorized(&node, requester, Action::IssueCertificate, move |node, who| node.issue(draft, &who, Utc::now()))
            .await?;
    tracing::info!(certificate = %issued.id, version = issued.version, "certificate issued");
    Ok(HttpResponse::Created().json(issued))
}

/// A certificate with every version and its status.
#[utoipa::path(get, path = "/api/v1/certificates/{id}", tag = "officer", security(("bearer" = [])),
    params(("id" = String, Path, description = "certificate id")),
    responses((status = 200, body = CertificateView), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[get("/api/v1/certificates/{id}")]
pub async fn show(
    node: web::Data<Node>,
    requester: Requester,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let view =
        authorized(&node, requester, Action::ShowCertificate, move |node, who| node.certificate(&id, &who, Utc::now()))
            .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Renew a certificate (换发): a new version with the content given, or the same content when the body is empty.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/renew", tag = "officer", security(("bearer" = [])),
    params(("id" = String, Path, description = "certificate id")),
    request_body(content = Option<CertificateDraft>, description = "new content; empty body keeps the current content"),
    responses((status = 201, body = Issued), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
#[post("/api/v1/certificates/{id}/renew")]
pub async fn renew(
    node: web::Data<Node>,
    requester: Requester,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let draft = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice::<CertificateDraft>(&body).map_err(|e| json_problem(&e))?)
    };
    let id = id.into_inner();
    let issued = authorized(&node, requester, Action::RenewCertificate, move |node, who| {
        node.renew(&id, draft, &who, Utc::now())
    })
    .await?;
    tracing::info!(certificate = %issued.id, version = issued.version, "certificate renewed");
    Ok(HttpResponse::Created().json(issued))
}

/// Body of a revocation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// Why the certificate is revoked (注销原因).
    pub reason: String,
}

/// Revoke a certificate (注销): its newest version stops being valid everywhere the issuer is asked.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/revoke", tag = "officer", security(("bearer" = [])),
    params(("id" = String, Path, description = "certificate id")), request_body = RevokeRequest,
    responses((status = 200, body = Revocation), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
#[post("/api/v1/certificates/{id}/revoke")]
pub async fn revoke(
    node: web::Data<Node>,
    requester: Requester,
    id: web::Path<String>,
    body: web::Json<RevokeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, reason) = (id.into_inner(), body.into_inner().reason);
    let revoked = authorized(&node, requester, Action::RevokeCertificate, move |node, who| {
        node.revoke(&id, &reason, &who, Utc::now())
    })
    .await?;
    tracing::info!(certificate = %revoked.id, version = revoked.version, "certificate revoked");
    Ok(HttpResponse::Ok().json(revoked))
}
