//! The one error type at the HTTP edge: RFC 9457 problem+json with a stable code and zh/en messages.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::access::AccessError;
use crate::domain::error::Coded as _;
use crate::domain::error::FieldError;
use crate::exchange::Refusal;
use crate::node::NodeError;

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

/// An error answered as problem+json (boxed: errors travel through every `Result` of a request).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} {}", .0.status, .0.code)]
pub struct ApiError(Box<ApiErrorData>);

#[derive(Debug, Clone)]
struct ApiErrorData {
    status: StatusCode,
    code: Cow<'static, str>,
    message_zh: Cow<'static, str>,
    message_en: Cow<'static, str>,
    field: Option<String>,
    errors: Vec<ProblemField>,
    certificate_id: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// A problem with a status, code and messages.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message_zh: impl Into<Cow<'static, str>>,
        message_en: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self(Box::new(ApiErrorData {
            status,
            code: code.into(),
            message_zh: message_zh.into(),
            message_en: message_en.into(),
            field: None,
            errors: Vec::new(),
            certificate_id: None,
            retry_after: None,
        }))
    }

    /// Names the offending field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.0.field = Some(field.into());
        self
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.0.code
    }

    /// 401 for a missing, unknown, expired or revoked key.
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "auth.unauthenticated", "缺少有效的API密钥", "a valid API key is required")
    }

    /// 429 for a key over its rate limit, with the seconds to wait (`Retry-After`).
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("请求过于频繁，请{seconds}秒后重试"),
            format!("too many requests; retry in {seconds} s"),
        );
        problem.0.retry_after = Some(seconds.max(1));
        problem
    }

    /// 404 for an unknown route or record.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("未找到：{what}"), format!("{what} not found"))
    }

    /// A refused message batch; the English message names the message and why.
    pub fn refused(refusal: &Refusal) -> Self {
        use Refusal as R;
        let status = match refusal {
            R::NoClientCertificate => StatusCode::UNAUTHORIZED,
            R::UnknownPeer | R::TlsMismatch { .. } => StatusCode::FORBIDDEN,
            R::Replay { .. } | R::SequenceGap { .. } => StatusCode::CONFLICT,
            R::BadMessage { .. } | R::WrongAudience { .. } | R::BatchSize => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let (code, zh, en) = refusal.texts();
        Self::new(status, code, zh, format!("{en}: {refusal}"))
    }

    /// 500 without details (they go to the log, never to the caller).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误，请稍后重试",
            "internal error; try again later",
        )
    }

    /// 422 listing every violated rule; the first one is the headline.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let first = errors.first().cloned();
        let mut problem = match &first {
            Some(e) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, e.code, e.message_zh.clone(), e.message_en.clone())
                .with_field(e.field.clone()),
            None => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "输入有误", "invalid input"),
        };
        problem.0.errors = errors
            .into_iter()
            .map(|e| ProblemField {
                field: e.field,
                code: e.code.into(),
                message_zh: e.message_zh,
                message_en: e.message_en,
            })
            .collect();
        problem
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("urn:hunyu:problem:{}", self.0.code),
            title: self.0.status.canonical_reason().unwrap_or("Error").into(),
            status: self.0.status.as_u16(),
            detail: self.0.message_en.to_string(),
            code: self.0.code.to_string(),
            message_zh: self.0.message_zh.to_string(),
            message_en: self.0.message_en.to_string(),
            field: self.0.field.clone(),
            errors: self.0.errors.clone(),
            certificate_id: self.0.certificate_id.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.0.status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if self.0.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(seconds) = self.0.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Invalid(errors) => Self::invalid(errors),
            NodeError::NotFound(what) => Self::not_found(what),
            NodeError::Conflict(c) => {
                let mut problem = Self::new(StatusCode::CONFLICT, c.code, c.message_zh, c.message_en);
                problem.0.certificate_id = c.certificate_id;
                problem
            }
            NodeError::PeerUnavailable { peer, message } => {
                tracing::warn!(%peer, %message, "peer did not answer");
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    "exchange.peer_unavailable",
                    format!("节点{peer}暂时无法应答，请稍后重试"),
                    format!("node {peer} did not answer; try again later"),
                )
            }
            NodeError::Store(e) if e.is_unique_violation() => Self::new(
                StatusCode::CONFLICT,
                "conflict.concurrent",
                "同一记录正被同时修改，请重试",
                "the same record was changed concurrently; try again",
            ),
            other => {
                tracing::error!(error = %other, "request failed");
                Self::internal()
            }
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        NodeError::Store(e).into()
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Unauthenticated => Self::unauthenticated(),
            AccessError::Forbidden(role) => Self::new(
                StatusCode::FORBIDDEN,
                "auth.forbidden",
                "当前角色无权执行此操作",
                format!("the {role} role may not do this"),
            ),
            AccessError::Store(e) => NodeError::Store(e).into(),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        tracing::error!("blocking task pool is gone");
        Self::internal()
    }
}

/// Problem for a body that is not the expected JSON; never echoes the input (it may hold personal data).
pub fn json_problem(e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        Category::Data => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "request.fields",
            format!("请求内容的字段或类型不符合接口要求（第{}行第{}列）", e.line(), e.column()),
            format!("request fields or types do not match the API ({at})"),
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "request.json",
            format!("请求内容不是有效的JSON（第{}行第{}列）", e.line(), e.column()),
            format!("request body is not valid JSON ({at})"),
        ),
    }
}

/// Problem for a body over the size limit.
pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request.too_large",
        format!("请求内容超过{limit}字节上限"),
        format!("request body exceeds the {limit}-byte limit"),
    )
}
