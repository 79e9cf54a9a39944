//! Oversight endpoint: the audit log, for admins and auditors.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, Requester, authorized};
use crate::domain::access::Action;
use crate::service::audit;
use crate::store::audit::{AuditFilter, AuditRow};

/// One entry of the hash-chained audit log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub request_id: String,
    /// API key id of the caller, or the code of the node that asked.
    pub actor: String,
    pub role: String,
    pub action: String,
    /// Keyed hash of the person's ID number.
    pub subject: Option<String>,
    /// The record touched (certificate id or version).
    pub object: Option<String>,
    pub purpose: String,
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
    /// How `hash` was computed: 2 is length-prefixed fields, 1 (before 2026-12) joined them with U+001F.
    pub chain_format: i16,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        Self {
            seq: r.seq,
            at: r.at.and_utc(),
            request_id: r.request_id,
            actor: r.actor,
            role: r.role,
            action: r.action,
            subject: r.subject,
            object: r.object,
            purpose: r.purpose,
            outcome: r.outcome,
            prev_hash: r.prev_hash,
            hash: r.hash,
            chain_format: r.chain_format,
        }
    }
}

/// A page of the audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
}

/// Filters of the audit listing.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// API key id of the caller.
    pub actor: Option<String>,
    /// Action name, e.g. `verify`.
    pub action: Option<String>,
    /// Keyed hash of a person.
    pub subject: Option<String>,
    /// Only entries with a larger `seq` (for paging).
    pub after: Option<i64>,
    /// At most this many entries (default 100, at most 1000).
    pub limit: Option<i64>,
}

impl From<AuditQuery> for AuditFilter {
    fn from(q: AuditQuery) -> Self {
        Self {
            actor: q.actor,
            action: q.action,
            subject: q.subject,
            after: q.after,
            limit: q.limit,
            newest_first: false,
        }
    }
}

/// Who read or changed which record, when, why and with what outcome; persons appear only as the
/// keyed hash of their ID number. Page with `after` (the last `seq` seen).
#[utoipa::path(tag = "oversight", params(AuditQuery), security(("bearer" = [])), responses((status = 200, body = AuditPage)))]
#[get("/api/v1/audit")]
pub async fn list(
    state: web::Data<AppState>,
    requester: Requester,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = query.into_inner().into();
    let entries = authorized(&state, requester, Action::ReadAudit, move |core, who| {
        audit::entries(core, &filter, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(AuditPage { entries: entries.into_iter().map(AuditEntry::from).collect() }))
}
