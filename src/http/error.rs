//! The one error type at the HTTP edge: RFC 9457 problem+json with a stable code from the
//! catalogue ([`ErrorCode`]), its messages in Chinese and English, and the status this edge gives it.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::error::{ErrorCode, FieldError};
use crate::exchange::Refusal;
use crate::service::ServiceError;
use crate::service::access::AccessError;
use crate::store::StoreError;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One violated rule in a problem's `errors` list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
}

/// An RFC 9457 problem document as hunyu sends it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:hunyu:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// English explanation.
    pub detail: String,
    /// Stable machine code, e.g. `id_number.checksum`.
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
    /// The offending input field, dotted (`person.id_number`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every violated rule, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// The certificate the problem is about (conflicts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
}

/// The status this edge answers a catalogue entry with.
pub fn status_of(code: &ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::Unauthenticated | C::NoClientCertificate | C::SignInFailed | C::HolderRefused => StatusCode::UNAUTHORIZED,
        C::Forbidden { .. } | C::UnknownPeer | C::TlsMismatch | C::FormToken => StatusCode::FORBIDDEN,
        C::RateLimited { .. } | C::AccountLocked { .. } | C::HolderLocked { .. } => StatusCode::TOO_MANY_REQUESTS,
        C::Query | C::Body | C::Json { .. } => StatusCode::BAD_REQUEST,
        C::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        C::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        C::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
        C::TooManyInFlight => StatusCode::TOO_MANY_REQUESTS,
        C::NotFound { .. } => StatusCode::NOT_FOUND,
        C::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        C::CertificateExists { .. }
        | C::CertificateRevoked { .. }
        | C::ConcurrentChange { .. }
        | C::NoAnswerOwed
        | C::Answered
        | C::CorrectionAnswered
        | C::CorrectionsOpen { .. }
        | C::Replay
        | C::Sequence
        | C::TreeHeadConflict { .. }
        | C::NoSuperior
        | C::ReportVersion { .. } => StatusCode::CONFLICT,
        C::Fields { .. }
        | C::TextLength { .. }
        | C::DateFormat
        | C::HolderCodeFormat
        | C::FutureDate
        | C::DateRange
        | C::PeriodOrder
        | C::MonthFormat
        | C::MonthAhead
        | C::MonthOpen
        | C::CardSex
        | C::CardMarital
        | C::CardMethod
        | C::CardSide
        | C::CardDate
        | C::ImportColumns { .. }
        | C::ImportDuplicate
        | C::RevocationReason
        | C::PersonChanged
        | C::NotResponsible
        | C::UnknownNode
        | C::ArrivalCertificateInvalid { .. }
        | C::OriginUnknown
        | C::ArrivalWho
        | C::EventOriginUnknown
        | C::EventMethod
        | C::EventCorrectsUnknown
        | C::BadMessage
        | C::WrongAudience
        | C::BatchSize
        | C::TreeHeadInvalid
        | C::ReportInvalid => StatusCode::UNPROCESSABLE_ENTITY,
        C::PeerUnavailable { .. } | C::DirectoryRefresh => StatusCode::BAD_GATEWAY,
        C::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        C::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error answered as problem+json (boxed: errors travel through every `Result` of a request).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} {}", .0.problem.status, .0.problem.code)]
pub struct ApiError(Box<Answer>);

/// The problem document, and the headers its code asks for.
#[derive(Debug, Clone)]
struct Answer {
    problem: Problem,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// The problem of a catalogue entry.
    pub fn from_code(code: &ErrorCode) -> Self {
        let status = status_of(code);
        let message_en = code.message_en().into_owned();
        let headers = match code {
            ErrorCode::Unauthenticated => vec![(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
            ErrorCode::RateLimited { retry_after_seconds }
            | ErrorCode::AccountLocked { retry_after_seconds }
            | ErrorCode::HolderLocked { retry_after_seconds } => {
                vec![(header::RETRY_AFTER, (*retry_after_seconds).into())]
            }
            ErrorCode::MethodNotAllowed { allow } => {
                HeaderValue::from_str(allow).map(|allow| vec![(header::ALLOW, allow)]).unwrap_or_default()
            }
            _ => Vec::new(),
        };
        let problem = Problem {
            type_: format!("urn:hunyu:problem:{}", code.code()),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: message_en.clone(),
            code: code.code().into(),
            message_zh: code.message_zh().into_owned(),
            message_en,
            field: None,
            errors: Vec::new(),
            certificate_id: code.certificate_id().map(str::to_owned),
        };
        Self(Box::new(Answer { problem, headers }))
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.0.problem.code
    }

    /// A refused message batch or lookup; the English message names the message and why.
    pub fn refused(refusal: &Refusal) -> Self {
        let mut refused = Self::from_code(&refusal.error_code());
        let problem = &mut refused.0.problem;
        problem.message_en = format!("{}: {refusal}", problem.message_en);
        problem.detail.clone_from(&problem.message_en);
        refused
    }

    /// 422 listing every violated rule; the first one is the headline.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let Some(first) = errors.first() else {
            return Self::from_code(&ErrorCode::Internal);
        };
        let mut invalid = Self::from_code(&ErrorCode::Fields { line: 0, column: 0 });
        let problem = &mut invalid.0.problem;
        problem.type_ = format!("urn:hunyu:problem:{}", first.code);
        problem.code = first.code.into();
        problem.message_zh.clone_from(&first.message_zh);
        problem.message_en.clone_from(&first.message_en);
        problem.detail.clone_from(&first.message_en);
        problem.field = Some(first.field.clone());
        problem.errors = errors
            .into_iter()
            .map(|e| ProblemField {
                field: e.field,
                code: e.code.into(),
                message_zh: e.message_zh,
                message_en: e.message_en,
            })
            .collect();
        invalid
    }

    /// The problem document.
    pub fn problem(&self) -> &Problem {
        &self.0.problem
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self::from_code(&code)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        for header in &self.0.headers {
            response.insert_header(header.clone());
        }
        response.body(serde_json::to_string(&self.0.problem).unwrap_or_default())
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(errors) => Self::invalid(errors),
            ServiceError::Refused(code) => code.into(),
            ServiceError::PeerUnavailable { peer, detail } => {
                tracing::warn!(%peer, %detail, "peer did not answer");
                ErrorCode::PeerUnavailable { peer }.into()
            }
            ServiceError::Store(e) if e.is_unique_violation() => {
                ErrorCode::ConcurrentChange { certificate_id: None }.into()
            }
            other => {
                tracing::error!(error = %other, "request failed");
                ErrorCode::Internal.into()
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ServiceError::Store(e).into()
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Unauthenticated => ErrorCode::Unauthenticated.into(),
            AccessError::Forbidden(role) => ErrorCode::Forbidden { role: role.as_str() }.into(),
            AccessError::Store(e) => e.into(),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        tracing::error!("blocking task pool is gone");
        ErrorCode::Internal.into()
    }
}

/// Problem for a body that is not the expected JSON; never echoes the input (it may hold personal data).
pub fn json_problem(e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let (line, column) = (e.line(), e.column());
    match e.classify() {
        Category::Data => ErrorCode::Fields { line, column }.into(),
        _ => ErrorCode::Json { line, column }.into(),
    }
}
