//! Health, readiness, published keys, status list, node descriptor, metrics and the OpenAPI document.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;

use super::{ApiError, AppState};
use crate::domain::error::ErrorCode;
use crate::node::NodeCore;
use crate::seal::Jwks;
use crate::service::certificates;

/// Liveness or readiness.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready`.
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(tag = "meta", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: the database answers.
#[utoipa::path(tag = "meta", responses((status = 200, body = Health), (status = 503, description = "the database does not answer")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let core = state.core.clone();
    match web::block(move || core.store.ping()).await? {
        Ok(()) => Ok(HttpResponse::Ok().json(Health { status: "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            Err(ErrorCode::NotReady.into())
        }
    }
}

/// The node's public signing keys.
#[utoipa::path(tag = "meta", responses((status = 200, body = Jwks)))]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.core.jwks())
}

/// This node's signed status list (`hunyu-status+jwt`): its certificate versions that are revoked
/// or superseded, by jti only. Public, like the keys: verifiers elsewhere cache it.
#[utoipa::path(tag = "meta", responses((status = 200, description = "compact JWS", content_type = "application/jwt")))]
#[get("/.well-known/hunyu-status")]
pub async fn status_list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    signed_status_list(state.core.clone()).await
}

/// The answer carrying `core`'s freshly signed status list, on the API and the peer listener alike.
pub(crate) async fn signed_status_list(core: std::sync::Arc<NodeCore>) -> Result<HttpResponse, ApiError> {
    let token = web::block(move || certificates::status_list(&core, chrono::Utc::now())).await??;
    Ok(HttpResponse::Ok().content_type("application/jwt").body(token))
}

/// Who this node is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NodeDescriptor {
    pub code: String,
    pub name: String,
    pub software: String,
    pub keys: Jwks,
}

/// The node descriptor.
#[utoipa::path(tag = "meta", responses((status = 200, body = NodeDescriptor)))]
#[get("/.well-known/hunyu-node")]
pub async fn node_descriptor(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(NodeDescriptor {
        code: state.core.code().into(),
        name: state.core.identity.name.clone(),
        software: concat!("hunyu/", env!("CARGO_PKG_VERSION")).into(),
        keys: state.core.jwks(),
    })
}

/// The OpenAPI 3.1 document of this API, generated from the routes themselves.
#[utoipa::path(tag = "meta", responses((status = 200, description = "OpenAPI document", body = Object)))]
#[get("/api/v1/openapi.json")]
pub async fn openapi_json(document: web::Data<utoipa::openapi::OpenApi>) -> HttpResponse {
    HttpResponse::Ok().json(document.get_ref())
}

/// Prometheus metrics (counts only, no personal data).
#[utoipa::path(tag = "meta",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String)))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.core.metrics.render())
}
