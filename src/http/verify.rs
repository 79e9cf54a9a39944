//! Residence worker (现居住地) endpoint: verify a certificate (查验) from its QR text or token.

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use serde::Deserialize;

use super::error::ApiError;
use super::{Bearer, Problem, caller};
use crate::access::Action;
use crate::node::{Checked, Node, Verification};

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
    bearer: Bearer,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    caller(&node, bearer, Action::Verify).await?;
    let now = Utc::now();
    // Signature and content are checked on the request thread; only the issuer's own records need the database.
    let verification = match node.verify_offline(&body.token, now) {
        Checked::Done(verification) => verification,
        Checked::NeedsStatus(genuine) => {
            let node = node.into_inner();
            web::block(move || node.verify_status(*genuine, now)).await??
        }
    };
    Ok(HttpResponse::Ok().json(verification))
}
