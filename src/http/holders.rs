//! What an officer does for the woman's own view: a holder code for her paper certificate, and
//! the answer to her correction request. She reads her record on the pages (`/me/`), with no key.

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, Requester, authorized};
use crate::domain::access::Action;
use crate::service::holders;

/// A holder code, shown this once: the node keeps only its hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedHolderCode {
    pub certificate_id: String,
    /// `XXXX-XXXX-XXXX`, to print on her certificate; it replaces any earlier code of hers.
    pub holder_code: String,
}

/// A fresh holder code (本人查询码) for the woman of a certificate, to print on her paper
/// certificate: with it and her ID number she reads her record and who accessed it.
#[utoipa::path(tag = "officer", security(("bearer" = [])),
    params(("id" = String, Path, description = "certificate id")),
    responses((status = 201, body = IssuedHolderCode), (status = 404, description = "no such certificate")))]
#[post("/api/v1/certificates/{id}/holder-code")]
pub async fn holder_code(
    state: web::Data<AppState>,
    requester: Requester,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let asked = id.clone();
    let code = authorized(&state, requester, Action::PrintCertificate, move |core, who| {
        holders::new_code(core, &asked, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(IssuedHolderCode { certificate_id: id, holder_code: code.printed() }))
}

/// The answer to a correction request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionAnswer {
    #[schema(schema_with = super::schema::text)]
    pub answer: String,
}

/// Answer her request to correct her record (更正请求, from the `corrections` worklist); she reads
/// the answer in her own view.
#[utoipa::path(tag = "officer", request_body = CorrectionAnswer, security(("bearer" = [])),
    params(("id" = String, Path, description = "correction request id")),
    responses((status = 204, description = "answered"), (status = 404, description = "no such request"),
        (status = 409, description = "answered already")))]
#[post("/api/v1/corrections/{id}/answer")]
pub async fn answer_correction(
    state: web::Data<AppState>,
    requester: Requester,
    id: web::Path<String>,
    body: web::Json<CorrectionAnswer>,
) -> Result<HttpResponse, ApiError> {
    let (id, answer) = (id.into_inner(), body.into_inner().answer);
    authorized(&state, requester, Action::AnswerCorrection, move |core, who| {
        holders::answer_correction(core, &id, &answer, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
