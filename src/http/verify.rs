//! Residence worker (现居住地) endpoint: verify a certificate (查验) from its QR text or token.

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use serde::Deserialize;

use super::error::ApiError;
use super::{Problem, Requester, authorized};
use crate::access::Action;
use crate::node::{Node, Verification};

/// Body of a verification.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// QR text (`HY1:…`) or compact JWS.
    pub token: String,
}

/// Verify a certificate: genuine, current and whose, with every reason when it is not.
#[utoipa::path(post, path = "/api/v1/verify", tag = "worker", request_body = VerifyRequest, security(("bearer" = [])),
    responses((status = 200, body = Verification), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem)))]
#[post("/api/v1/verify")]
pub async fn verify(
    node: web::Data<Node>,
    requester: Requester,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().token;
    let verification =
        authorized(&node, requester, Action::Verify, move |node, who| node.verify(&token, &who, Utc::now())).await?;
    Ok(HttpResponse::Ok().json(verification))
}
