//! Employer (用人单位) endpoint: confirm a presentation, learning validity and nothing more.

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use serde::Serialize;

use super::verify::{IssuerView, ReasonView, StatusInfo, VerifyRequest};
use super::{ApiError, AppState, Requester, actor, answered};
use crate::domain::access::Action;
use crate::service::verification::{self, Confirmation};

/// Result of `POST /api/v1/employer/confirm`: valid or not, whose, from where, until when; nothing else.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EmployerConfirmation {
    pub valid: bool,
    /// The holder's name, when the presentation is genuine.
    pub name: Option<String>,
    pub issuer: Option<IssuerView>,
    /// Last day of validity, `YYYY-MM-DD`.
    pub valid_until: Option<String>,
    /// Where the answer's knowledge of revocations comes from (the issuer asked on-line, as a
    /// rule), and how fresh it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
    /// What the employer should know that does not change the answer (e.g. the issuer could not
    /// be asked on-line).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ReasonView>,
}

impl From<Confirmation> for EmployerConfirmation {
    fn from(confirmation: Confirmation) -> Self {
        let valid = confirmation.valid;
        let status_info = confirmation.evidence.map(|evidence| StatusInfo::of(evidence, Utc::now()));
        let warnings = confirmation.warnings.iter().map(ReasonView::of).collect();
        match confirmation.presentation {
            Some(genuine) => Self {
                valid,
                name: Some(genuine.claims.name),
                issuer: Some(genuine.issuer.into()),
                valid_until: Some(genuine.claims.valid_until),
                status_info,
                warnings,
            },
            None => Self { valid, name: None, issuer: None, valid_until: None, status_info, warnings },
        }
    }
}

/// Confirm an employee's certificate from the employer QR she shows: valid or not, her name, the
/// issuing jurisdiction and the last day of validity. Nothing else, not even why it is not valid.
/// The issuer is asked on-line for the certificate's current status; when it cannot be, the
/// status held here is used and a warning says so.
#[utoipa::path(tag = "employer", request_body = VerifyRequest, security(("bearer" = [])),
    responses((status = 200, body = EmployerConfirmation), (status = 429, description = "over the key's rate limit")))]
#[post("/api/v1/employer/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    requester: Requester,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().token;
    let who = actor(&state, requester, Action::ConfirmEmployment).await?;
    let peers = Some(&state.exchange.peers);
    let result = verification::confirm_employment(&state.core, peers, &token, &who, Utc::now()).await;
    let confirmation = answered(&state, &who, Action::ConfirmEmployment, result).await?;
    Ok(HttpResponse::Ok().json(EmployerConfirmation::from(confirmation)))
}
