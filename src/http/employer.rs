//! Employer (用人单位) endpoint: confirm a presentation, learning validity and nothing more.

use actix_web::{HttpResponse, post, web};
use chrono::Utc;

use super::error::ApiError;
use super::verify::VerifyRequest;
use super::{Problem, Requester, authorized};
use crate::access::Action;
use crate::node::{EmployerConfirmation, Node};

/// Confirm an employee's certificate from the employer QR she shows: valid or not, her name, the
/// issuing jurisdiction and the last day of validity. Nothing else, not even why it is not valid.
#[utoipa::path(post, path = "/api/v1/employer/confirm", tag = "employer", request_body = VerifyRequest,
    security(("bearer" = [])),
    responses((status = 200, body = EmployerConfirmation), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[post("/api/v1/employer/confirm")]
pub async fn confirm(
    node: web::Data<Node>,
    requester: Requester,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().token;
    let confirmation = authorized(&node, requester, Action::ConfirmEmployment, move |node, who| {
        node.confirm_employment(&token, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(confirmation))
}
