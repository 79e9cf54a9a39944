//! Oversight endpoint: the audit log, for admins and auditors.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;

use super::error::ApiError;
use super::{Problem, Requester, authorized};
use crate::access::Action;
use crate::node::Node;
use crate::store::audit::{AuditFilter, AuditRow};

/// A page of the audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditRow>,
}

/// Who read or changed which record, when, why and with what outcome; persons appear only as the
/// keyed hash of their ID number. Page with `after` (the last `seq` seen).
#[utoipa::path(get, path = "/api/v1/audit", tag = "oversight", params(AuditFilter), security(("bearer" = [])),
    responses((status = 200, body = AuditPage), (status = 400, body = Problem), (status = 403, body = Problem)))]
#[get("/api/v1/audit")]
pub async fn list(
    node: web::Data<Node>,
    requester: Requester,
    filter: web::Query<AuditFilter>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter.into_inner();
    let entries = authorized(&node, requester, Action::ReadAudit, move |node, _| node.audit_log(&filter)).await?;
    Ok(HttpResponse::Ok().json(AuditPage { entries }))
}
