//! Look a person up by ID number (查询): the number travels in the body, never in a URL.

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use serde::Deserialize;

use super::error::ApiError;
use super::{Problem, Requester, authorized};
use crate::access::Action;
use crate::exchange::lookup::LookupExchange;
use crate::flows::RemoteLookup;
use crate::node::{Lookup, Node, NodeError};

/// Body of a look-up.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// Citizen ID number (公民身份号码).
    pub id_number: String,
    /// Another node's code: ask that origin on-line for her current certificates (电子证明).
    #[serde(default)]
    pub origin: Option<String>,
}

/// A look-up here, or the origin's answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LookupResult {
    Here(Lookup),
    AtOrigin(RemoteLookup),
}

/// A person's certificates at this node (the newest version of each, with its status), or, with
/// `origin`, at her origin node, asked on-line and each verified here (电子证明).
#[utoipa::path(post, path = "/api/v1/lookup", tag = "worker", request_body = LookupRequest, security(("bearer" = [])),
    responses((status = 200, body = LookupResult), (status = 403, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem), (status = 502, body = Problem)))]
#[post("/api/v1/lookup")]
pub async fn lookup(
    node: web::Data<Node>,
    requester: Requester,
    body: web::Json<LookupRequest>,
) -> Result<HttpResponse, ApiError> {
    let LookupRequest { id_number, origin } = body.into_inner();
    let Some(origin) = origin.filter(|code| code != node.code()) else {
        let found =
            authorized(&node, requester, Action::Lookup, move |node, who| node.lookup(&id_number, &who, Utc::now()))
                .await?;
        return Ok(HttpResponse::Ok().json(LookupResult::Here(found)));
    };
    let plan = authorized(&node, requester, Action::Lookup, move |node, who| {
        node.plan_lookup(&id_number, &origin, who, Utc::now())
    })
    .await?;
    let body = LookupExchange { request: Some(plan.request.clone()), answer: None };
    let peer = plan.origin.code.clone();
    let unavailable = |message: String| ApiError::from(NodeError::PeerUnavailable { peer: peer.clone(), message });
    let answer: LookupExchange =
        node.peer_client().call(&plan.origin, "/exchange/v1/lookup", &body).await.map_err(unavailable)?;
    let answer = answer.answer.ok_or_else(|| unavailable("no answer".into()))?;
    let node = node.into_inner();
    let found = web::block(move || node.settle_lookup(plan, &answer, Utc::now())).await??;
    Ok(HttpResponse::Ok().json(LookupResult::AtOrigin(found)))
}
