//! Employer (用人单位) endpoint: confirm a presentation, learning validity and nothing more.

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use serde::Serialize;

use super::verify::{IssuerView, VerifyRequest};
use super::{ApiError, AppState, Requester, authorized};
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
}

impl From<Confirmation> for EmployerConfirmation {
    fn from(confirmation: Confirmation) -> Self {
        let valid = confirmation.valid;
        match confirmation.presentation {
            Some(genuine) => Self {
                valid,
                name: Some(genuine.claims.name),
                issuer: Some(genuine.issuer.into()),
                valid_until: Some(genuine.claims.valid_until),
            },
            None => Self { valid, name: None, issuer: None, valid_until: None },
        }
    }
}

/// Confirm an employee's certificate from the employer QR she shows: valid or not, her name, the
/// issuing jurisdiction and the last day of validity. Nothing else, not even why it is not valid.
#[utoipa::path(tag = "employer", request_body = VerifyRequest, security(("bearer" = [])),
    responses((status = 200, body = EmployerConfirmation), (status = 429, description = "over the key's rate limit")))]
#[post("/api/v1/employer/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    requester: Requester,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().token;
    let confirmation = authorized(&state, requester, Action::ConfirmEmployment, move |core, who| {
        verification::confirm_employment(core, &token, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(EmployerConfirmation::from(confirmation)))
}
