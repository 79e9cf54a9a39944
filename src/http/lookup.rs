//! Look a person up by ID number (查询): the number travels in the body, never in a URL.

use actix_web::{HttpResponse, post, web};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::verify::Verification;
use super::{ApiError, AppState, Requester, actor, answered};
use crate::domain::access::Action;
use crate::domain::verification::VerificationStatus;
use crate::service::certificates::Version;
use crate::service::lookup::Found;

/// Body of a look-up.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// Citizen ID number (公民身份号码).
    #[schema(schema_with = super::schema::id_number)]
    pub id_number: String,
    /// Another node's code: ask that origin on-line for her current certificates (电子证明).
    #[serde(default)]
    #[schema(schema_with = super::schema::division_code)]
    pub origin: Option<String>,
}

/// A person's certificates at this node.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Lookup {
    pub certificates: Vec<LookupEntry>,
}

/// The newest version of one of the person's certificates.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LookupEntry {
    pub id: String,
    pub version: u32,
    pub status: VerificationStatus,
    #[schema(value_type = String, format = Date)]
    pub valid_until: NaiveDate,
    pub token: String,
    pub qr: String,
}

impl From<Version> for LookupEntry {
    fn from(v: Version) -> Self {
        Self {
            id: v.certificate_id,
            version: v.version,
            status: v.status,
            valid_until: v.valid_until,
            token: v.token,
            qr: v.qr,
        }
    }
}

/// A certificate the origin sent, as this node verifies it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RemoteCertificate {
    pub token: String,
    pub qr: String,
    pub verification: Verification,
}

/// What the origin answered to an electronic certificate lookup (电子证明).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RemoteLookup {
    /// The origin node asked.
    pub origin: String,
    /// Her certificates there, newest version of each; empty when the origin has none.
    pub certificates: Vec<RemoteCertificate>,
}

/// A look-up here, or the origin's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LookupResult {
    Here(Lookup),
    AtOrigin(RemoteLookup),
}

impl From<Found> for LookupResult {
    fn from(found: Found) -> Self {
        match found {
            Found::Here(versions) => {
                Self::Here(Lookup { certificates: versions.into_iter().map(LookupEntry::from).collect() })
            }
            Found::AtOrigin(remote) => Self::AtOrigin(RemoteLookup {
                origin: remote.origin,
                certificates: remote
                    .certificates
                    .into_iter()
                    .map(|(copy, verdict)| RemoteCertificate {
                        token: copy.token,
                        qr: copy.qr,
                        verification: verdict.into(),
                    })
                    .collect(),
            }),
        }
    }
}

/// A person's certificates at this node (the newest version of each, with its status), or, with
/// `origin`, at her origin node, asked on-line and each verified here (电子证明).
#[utoipa::path(tag = "worker", request_body = LookupRequest, security(("bearer" = [])),
    responses((status = 200, body = LookupResult), (status = 429, description = "over the key's rate limit"),
        (status = 502, description = "the origin did not answer")))]
#[post("/api/v1/lookup")]
pub async fn lookup(
    state: web::Data<AppState>,
    requester: Requester,
    body: web::Json<LookupRequest>,
) -> Result<HttpResponse, ApiError> {
    let LookupRequest { id_number, origin } = body.into_inner();
    let who = actor(&state, requester, Action::Lookup).await?;
    let result =
        crate::service::lookup::lookup(&state.core, &state.exchange.peers, id_number, origin, who.clone(), Utc::now())
            .await;
    let found = answered(&state, &who, Action::Lookup, result).await?;
    Ok(HttpResponse::Ok().json(LookupResult::from(found)))
}
