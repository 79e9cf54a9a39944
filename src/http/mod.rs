//! The actix-web application: routes per actor, bearer auth, problem+json errors, OpenAPI.

mod audit;
mod certificates;
mod employer;
pub mod error;
pub mod exchange;
mod lookup;
mod meta;
pub mod openapi;
pub mod peer;
pub(crate) mod verify;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use chrono::Utc;
use std::future::{Ready, ready};

pub use error::{ApiError, Problem};

use crate::access::{AccessError, Action, Audit, Caller};
use crate::metrics::ActionLabel;
use crate::node::{Node, NodeError};

/// Settings of the API listener that the app itself needs.
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub body_limit: usize,
    pub workers: Option<usize>,
}

/// Starts the API server on `listener` (bind port 0 to get a free port).
pub fn serve(node: Arc<Node>, listener: TcpListener, settings: &AppSettings) -> std::io::Result<Server> {
    let node = web::Data::from(node);
    let limit = settings.body_limit;
    let mut server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(node.clone())
            .app_data(web::JsonConfig::default().limit(limit).error_handler(move |e, _| json_error(e, limit).into()))
            .app_data(web::PayloadConfig::default().limit(limit))
            .app_data(web::QueryConfig::default().error_handler(|_, _| {
                ApiError::new(
                    actix_web::http::StatusCode::BAD_REQUEST,
                    "request.query",
                    "查询参数不符合接口要求",
                    "query parameters do not match the API",
                )
                .into()
            }))
            .wrap(from_fn(request_log))
            .configure(routes)
            .default_service(web::to(|| async { Err::<web::Json<()>, _>(ApiError::not_found("route")) }))
    })
    .listen(listener)?;
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// Every route of the API.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // The verification (查验) route first: it is by far the most frequent.
    cfg.service(verify::verify)
        .service(meta::healthz)
        .service(meta::readyz)
        .service(meta::jwks)
        .service(meta::node_descriptor)
        .service(meta::status_list)
        .service(meta::openapi_json)
        .service(certificates::create)
        .service(certificates::show)
        .service(certificates::renew)
        .service(certificates::revoke)
        .service(employer::confirm)
        .service(audit::list)
        .service(lookup::lookup)
        .service(exchange::arrival)
        .service(exchange::departure)
        .service(exchange::inquiry)
        .service(exchange::event)
        .service(exchange::reply)
        .service(exchange::messages)
        .service(exchange::refresh_directory)
        .service(meta::metrics);
}

fn json_error(e: actix_web::error::JsonPayloadError, limit: usize) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match e {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => error::too_large(limit),
        E::ContentType => ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.content_type",
            "请求内容类型须为 application/json",
            "request Content-Type must be application/json",
        ),
        E::Deserialize(e) => error::json_problem(&e),
        _ => ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "request.body",
            "无法读取请求内容",
            "request body could not be read",
        ),
    }
}

/// Gives each request an id (`X-Request-Id`) and logs one line without query strings or bodies.
async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = uuid::Uuid::now_v7().simple().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.path().to_owned();
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(header::HeaderName::from_static("x-request-id"), value);
    }
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros();
    if status >= 500 {
        tracing::error!(request_id = %id, %method, %path, status, micros, "request");
    } else {
        tracing::info!(request_id = %id, %method, %path, status, micros, "request");
    }
    Ok(response)
}

/// The id the request log gives each request (`X-Request-Id`), also recorded in the audit log.
#[derive(Debug, Clone)]
struct RequestId(String);

/// Header in which a caller may state the purpose of an access (UTF-8, at most 200 characters).
pub const PURPOSE_HEADER: &str = "hunyu-purpose";

/// Who is asking: the presented bearer key, the request id and the stated purpose, if any.
pub struct Requester {
    secret: String,
    request_id: String,
    purpose: Option<String>,
}

impl FromRequest for Requester {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let secret = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let Some(secret) = secret else {
            if let Some(node) = req.app_data::<web::Data<Node>>() {
                node.metrics().auth_failures.inc();
            }
            return ready(Err(ApiError::unauthenticated()));
        };
        let purpose = req
            .headers()
            .get(PURPOSE_HEADER)
            .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
            .map(|p| p.trim().chars().take(200).collect::<String>())
            .filter(|p| !p.is_empty());
        let request_id = req.extensions().get::<RequestId>().map_or_else(String::new, |id| id.0.clone());
        ready(Ok(Self { secret: secret.to_owned(), request_id, purpose }))
    }
}

/// The caller behind `requester`, if its role may take `action`: from the key cache on the request
/// thread, or from the store on the blocking pool.
async fn caller(node: &web::Data<Node>, secret: String, action: Action) -> Result<Caller, ApiError> {
    let now = Utc::now();
    let caller = match node.keys().cached(&secret, now) {
        Some(caller) => caller,
        None => {
            let resolver = node.clone().into_inner();
            let resolved = web::block(move || resolver.keys().authenticate(resolver.store(), &secret, now)).await?;
            if matches!(resolved, Err(AccessError::Unauthenticated)) {
                node.metrics().auth_failures.inc();
            }
            resolved?
        }
    };
    caller.may(action)?;
    if let Err(wait) = node.limits().check(action, &caller.key_id) {
        node.metrics().rate_limited.get_or_create(&ActionLabel { action: action.name().into() }).inc();
        return Err(ApiError::rate_limited(wait));
    }
    Ok(caller)
}

/// Authenticates, checks the role, and runs `work` (which reads or writes the database, and records
/// the access in the audit log) on the blocking pool.
pub async fn authorized<T, F>(
    node: &web::Data<Node>,
    requester: Requester,
    action: Action,
    work: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Node, Audit) -> Result<T, NodeError> + Send + 'static,
{
    let caller = caller(node, requester.secret, action).await?;
    let purpose = requester.purpose.unwrap_or_else(|| action.default_purpose().to_owned());
    let audit = Audit { caller, request_id: requester.request_id, purpose };
    let node = node.clone().into_inner();
    Ok(web::block(move || work(&node, audit)).await??)
}
