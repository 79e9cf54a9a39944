//! Health, readiness, published keys, node descriptor and the OpenAPI document.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;

use super::error::ApiError;
use crate::node::Node;
use crate::seal::Jwks;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, description = "alive")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "meta",
    responses((status = 200, description = "ready"), (status = 503, body = super::Problem)))]
#[get("/readyz")]
pub async fn readyz(node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    let node = node.into_inner();
    match web::block(move || node.store().ping()).await? {
        Ok(()) => Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            Err(ApiError::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "数据库暂不可用",
                "the database is not available",
            ))
        }
    }
}

/// The node's public signing keys.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "meta", responses((status = 200, body = Jwks)))]
#[get("/.well-known/jwks.json")]
pub async fn jwks(node: web::Data<Node>) -> HttpResponse {
    HttpResponse::Ok().json(node.jwks())
}

/// This node's signed status list (`hunyu-status+jwt`): its certificate versions that are revoked
/// or superseded, by jti only. Public, like the keys: verifiers elsewhere cache it.
#[utoipa::path(get, path = "/.well-known/hunyu-status", tag = "meta",
    responses((status = 200, description = "compact JWS", content_type = "application/jwt")))]
#[get("/.well-known/hunyu-status")]
pub async fn status_list(node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    let node = node.into_inner();
    let token = web::block(move || node.status_list(chrono::Utc::now())).await??;
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
#[utoipa::path(get, path = "/.well-known/hunyu-node", tag = "meta", responses((status = 200, body = NodeDescriptor)))]
#[get("/.well-known/hunyu-node")]
pub async fn node_descriptor(node: web::Data<Node>) -> HttpResponse {
    HttpResponse::Ok().json(NodeDescriptor {
        code: node.code().into(),
        name: node.name().into(),
        software: concat!("hunyu/", env!("CARGO_PKG_VERSION")).into(),
        keys: node.jwks(),
    })
}

/// The OpenAPI 3.1 document, generated from the code.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI document")))]
#[get("/api/v1/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(super::openapi::document())
}

/// Prometheus metrics (counts only, no personal data).
#[utoipa::path(get, path = "/metrics", tag = "meta", responses((status = 200, description = "OpenMetrics text")))]
#[get("/metrics")]
pub async fn metrics(node: web::Data<Node>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(node.metrics().render())
}
