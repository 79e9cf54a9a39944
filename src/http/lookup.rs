//! Look a person up by ID number (查询): the number travels in the body, never in a URL.

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use serde::Deserialize;

use super::error::ApiError;
use super::{Problem, Requester, authorized};
use crate::access::Action;
use crate::node::{Lookup, Node};

/// Body of a look-up.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// Citizen ID number (公民身份号码).
    pub id_number: String,
}

/// A person's certificates at this node: the newest version of each, with its status.
#[utoipa::path(post, path = "/api/v1/lookup", tag = "worker", request_body = LookupRequest, security(("bearer" = [])),
    responses((status = 200, body = Lookup), (status = 403, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
#[post("/api/v1/lookup")]
pub async fn lookup(
    node: web::Data<Node>,
    requester: Requester,
    body: web::Json<LookupRequest>,
) -> Result<HttpResponse, ApiError> {
    let id_number = body.into_inner().id_number;
    let found =
        authorized(&node, requester, Action::Lookup, move |node, who| node.lookup(&id_number, &who, Utc::now()))
            .await?;
    Ok(HttpResponse::Ok().json(found))
}
