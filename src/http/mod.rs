//! The actix-web application: routes per actor, bearer auth, problem+json errors, and the OpenAPI
//! document, registered once for both. Request and response types (the API's shapes) live here;
//! the services behind the handlers return domain values.

mod accounts;
mod audit;
mod certificates;
pub mod download;
mod employer;
pub mod error;
mod exchange;
mod holders;
pub(crate) mod ledgers;
mod lookup;
mod meta;
pub mod openapi;
pub mod pages;
pub mod peer;
pub mod reports;
mod schema;
mod verify;
mod worklists;

use std::collections::HashMap;
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, web};
use chrono::Utc;
use std::future::{Future, ready};
use std::pin::Pin;
use utoipa_actix_web::AppExt as _;
use utoipa_actix_web::service_config::ServiceConfig;

pub use error::{ApiError, Problem};

use crate::config::Config;
use crate::domain::access::{Action, clean_purpose};
use crate::domain::error::ErrorCode;
use crate::exchange::Exchange;
use crate::metrics::{ActionLabel, RouteLabel};
use crate::node::{Actor, Caller, NodeCore};
use crate::service::ServiceError;
use crate::service::access::{AccessError, KeyResolver, RateLimits, permit};
use crate::store::audit::NewAudit;

/// What every handler of the API may use.
pub struct AppState {
    pub core: Arc<NodeCore>,
    pub exchange: Arc<Exchange>,
    /// API key resolution, with its short-lived cache.
    pub keys: KeyResolver,
    /// Per-key request limits.
    pub limits: RateLimits,
    /// Password checks running at once: each holds argon2's 19 MiB, so their number is bounded
    /// by the cores, not by the blocking pool.
    pub password_checks: tokio::sync::Semaphore,
}

impl AppState {
    /// The state of a node's API as `config` sets it up.
    pub fn new(exchange: Arc<Exchange>, config: &Config) -> Self {
        Self {
            core: exchange.core().clone(),
            exchange,
            keys: KeyResolver::new(std::time::Duration::from_secs(config.http.key_cache_seconds)),
            limits: RateLimits::new(&config.limits),
            password_checks: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            ),
        }
    }
}

/// Settings of the listeners that the apps themselves need.
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub body_limit: usize,
    /// How long a client may take to send a body (actix-web bounds the head itself).
    pub body_read_timeout: std::time::Duration,
    /// Requests one address may have in progress at once.
    pub max_requests_per_client: usize,
    pub workers: Option<usize>,
    /// Hours a session of the pages lasts; none when the pages are not served.
    pub session_hours: Option<i64>,
}

/// Starts the API server on `listener` (bind port 0 to get a free port), over HTTPS with `tls`.
pub fn serve(
    state: Arc<AppState>,
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
    settings: &AppSettings,
) -> std::io::Result<Server> {
    let timed = Listener { name: "api", core: state.core.clone() };
    let state = web::Data::from(state);
    let document = web::Data::new(openapi::document());
    let limit = settings.body_limit;
    let body_read = BodyRead { limit, timeout: settings.body_read_timeout };
    let in_flight = InFlight::new(settings.max_requests_per_client);
    let pages = settings
        .session_hours
        .map(|session_hours| pages::PageSettings { secure_cookies: tls.is_some(), session_hours });
    let server = actix_web::HttpServer::new(move || {
        let app = actix_web::App::new()
            .into_utoipa_app()
            .app_data(body_read)
            .app_data(in_flight.clone())
            .app_data(timed.clone())
            .app_data(state.clone())
            .app_data(document.clone())
            .app_data(web::JsonConfig::default().limit(limit).error_handler(move |e, _| json_error(e, limit).into()))
            .app_data(web::PayloadConfig::default().limit(limit))
            .app_data(web::QueryConfig::default().error_handler(|_, _| ApiError::from(ErrorCode::Query).into()))
            .configure(routes)
            .default_service(web::to(unrouted))
            .map(|app| app.wrap(from_fn(body_deadline)).wrap(from_fn(one_client_share)).wrap(from_fn(request_log)))
            .into_app();
        match pages {
            Some(pages) => {
                app.app_data(web::Data::new(pages))
                    .app_data(web::FormConfig::default().limit(limit).error_handler(|_, req| {
                        pages::PageError::new(ErrorCode::Body.into(), pages::Lang::of(req)).into()
                    }))
                    .configure(pages::routes)
            }
            None => app.configure(|_| ()),
        }
    });
    let mut server = match tls {
        Some(tls) => server.listen_rustls_0_23(listener, tls)?,
        None => server.listen(listener)?,
    };
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// Requests in progress per client address on one listener, and how many one address may have.
#[derive(Clone)]
pub(crate) struct InFlight {
    limit: usize,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl InFlight {
    pub(crate) fn new(limit: usize) -> Self {
        Self { limit, counts: Arc::default() }
    }

    /// A place for a request from `client`, held until it is dropped; none when the client has
    /// its share in progress already.
    fn enter(&self, client: IpAddr) -> Option<InFlightSlot> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(client).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(InFlightSlot { client, counts: self.counts.clone() })
    }
}

/// One request's place in its client's share; given back when the request ends, however it ends.
struct InFlightSlot {
    client: IpAddr,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for InFlightSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

/// Refuses a request when its address already has its share of requests in progress, before its
/// body is read: one client that opens many slow requests cannot hold every worker.
pub(crate) async fn one_client_share(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let slot = match (req.app_data::<InFlight>(), req.peer_addr()) {
        (Some(in_flight), Some(peer)) => match in_flight.enter(peer.ip()) {
            Some(slot) => Some(slot),
            None => return Err(ApiError::from(ErrorCode::TooManyInFlight).into()),
        },
        _ => None,
    };
    let response = next.call(req).await;
    drop(slot);
    response
}

/// How much body a listener reads, and for how long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyRead {
    pub limit: usize,
    pub timeout: std::time::Duration,
}

/// Reads the whole request body before the handler runs, within [`BodyRead`]'s deadline and
/// limit: a client that trickles its body holds a connection for that long and no longer.
pub(crate) async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(&BodyRead { limit, timeout }) = req.app_data::<BodyRead>() else {
        return next.call(req).await;
    };
    let payload = req.extract::<web::Payload>().await?;
    let body = match tokio::time::timeout(timeout, payload.to_bytes_limited(limit)).await {
        Ok(Ok(Ok(body))) => body,
        Ok(Ok(Err(_))) => return Err(ApiError::from(ErrorCode::Body).into()),
        Ok(Err(_)) => return Err(ApiError::from(ErrorCode::TooLarge { limit }).into()),
        Err(_) => return Err(ApiError::from(ErrorCode::BodyTimeout).into()),
    };
    req.set_payload(actix_web::dev::Payload::from(body));
    next.call(req).await
}

/// Every route of the API, for the router and the OpenAPI document alike.
pub fn routes(cfg: &mut ServiceConfig) {
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
        .service(ledgers::ledger)
        .service(worklists::worklist)
        .service(reports::persons)
        .service(reports::assessment)
        .service(reports::close_month)
        .service(exchange::refresh_directory)
        .service(accounts::create)
        .service(holders::holder_code)
        .service(holders::answer_correction)
        .service(meta::metrics);
}

/// Answers a request no route took: 405 with the methods the path answers, else 404.
async fn unrouted(req: HttpRequest, document: web::Data<utoipa::openapi::OpenApi>) -> Result<HttpResponse, ApiError> {
    let allow = openapi::methods_at(&document, req.path());
    if allow.is_empty() {
        Err(ErrorCode::NotFound { what: "route" }.into())
    } else {
        Err(ErrorCode::MethodNotAllowed { allow: allow.join(", ") }.into())
    }
}

/// The problem answering a request body that could not be read as JSON.
pub(crate) fn json_error(e: actix_web::error::JsonPayloadError, limit: usize) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match e {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => ErrorCode::TooLarge { limit }.into(),
        E::ContentType => ErrorCode::ContentType.into(),
        E::Deserialize(e) => error::json_problem(&e),
        _ => ErrorCode::Body.into(),
    }
}

/// Gives each request an id (`X-Request-Id`) and logs one line without query strings or bodies.
pub(crate) async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = uuid::Uuid::now_v7().simple().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.path().to_owned();
    let listener = req.app_data::<Listener>().cloned();
    let mut response = next.call(req).await?;
    if let Some(listener) = listener {
        let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".into());
        let label = RouteLabel { listener: listener.name, method: method.to_string(), route };
        listener.core.metrics.request_seconds.get_or_create(&label).observe(started.elapsed().as_secs_f64());
    }
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

/// The listener a request came in on (`api` or `peer`), and the core whose metrics time it.
#[derive(Clone)]
pub(crate) struct Listener {
    pub name: &'static str,
    pub core: Arc<NodeCore>,
}

/// The id the request log gives each request (`X-Request-Id`), also recorded in the audit log.
#[derive(Debug, Clone)]
struct RequestId(String);

/// Header in which a caller may state the purpose of an access (UTF-8; kept cleaned, at most 200
/// characters, long digit runs masked).
pub const PURPOSE_HEADER: &str = "hunyu-purpose";

/// Who is asking: the presented bearer key, the request id and the stated purpose, if any.
#[derive(Clone)]
pub struct Requester {
    secret: String,
    request_id: String,
    purpose: Option<String>,
}

impl FromRequest for Requester {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        // The scheme is case-insensitive (RFC 9110 §11.1).
        let secret = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim_start().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, secret)| secret.trim())
            .filter(|s| !s.is_empty());
        let purpose = req
            .headers()
            .get(PURPOSE_HEADER)
            .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
            .and_then(clean_purpose);
        let request_id = req.extensions().get::<RequestId>().map_or_else(String::new, |id| id.0.clone());
        let requester = Self { secret: secret.unwrap_or_default().to_owned(), request_id, purpose };
        if secret.is_some() {
            return Box::pin(ready(Ok(requester)));
        }
        // Refused before the body is read, and recorded: the action is not known yet, the route is.
        let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
            return Box::pin(ready(Err(ErrorCode::Unauthenticated.into())));
        };
        state.core.metrics.auth_failures.inc();
        let route = format!("{} {}", req.method(), req.path());
        Box::pin(async move {
            let entry = requester.refusal("authenticate", None, Some(route));
            Err(recorded(&state, entry, ErrorCode::Unauthenticated.into()).await)
        })
    }
}

impl Requester {
    /// A signed-in person's request: the session stands where a key would.
    pub(crate) fn of_session(req: &HttpRequest) -> Self {
        let request_id = req.extensions().get::<RequestId>().map_or_else(String::new, |id| id.0.clone());
        Self { secret: String::new(), request_id, purpose: None }
    }

    /// The id the request log gave this request.
    pub(crate) fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The audit entry of a refusal of this requester, taking `action` as `caller`, if known.
    pub(crate) fn refused_entry(
        &self,
        action: &'static str,
        caller: Option<&Caller>,
        object: Option<String>,
    ) -> NewAudit {
        self.refusal(action, caller, object)
    }

    /// The audit entry of a refusal of this requester, taking `action` as `caller`, if known.
    fn refusal(&self, action: &'static str, caller: Option<&Caller>, object: Option<String>) -> NewAudit {
        NewAudit {
            at: Utc::now().naive_utc(),
            request_id: self.request_id.clone(),
            actor: caller.map_or_else(|| "unauthenticated".into(), |c| c.key_id.clone()),
            role: caller.map_or("none", |c| c.role.as_str()).into(),
            action,
            subject: None,
            object,
            purpose: self.purpose.clone().unwrap_or_default(),
            outcome: String::new(),
        }
    }
}

/// Records a refused access attempt in the audit log — every attempt at personal data, granted or
/// refused, is an entry — durably before the refusal is answered, and gives the refusal back.
async fn recorded(state: &web::Data<AppState>, entry: NewAudit, refusal: ApiError) -> ApiError {
    let store = state.core.store.clone();
    let entry = NewAudit { outcome: format!("refused: {}", refusal.code()), ..entry };
    match web::block(move || store.audit(vec![entry])).await {
        Ok(Ok(())) => refusal,
        Ok(Err(error)) => {
            tracing::error!(%error, "a refused access could not be recorded");
            ErrorCode::Internal.into()
        }
        Err(_) => ErrorCode::Internal.into(),
    }
}

/// The actor behind `requester`, if its key is valid, its role may take `action` and it is within
/// its rate limit: from the key cache on the request thread, or from the store on the blocking pool.
pub async fn actor(state: &web::Data<AppState>, requester: Requester, action: Action) -> Result<Actor, ApiError> {
    let now = Utc::now();
    let secret = requester.secret.clone();
    let caller = match state.keys.cached(&secret, now) {
        Some(caller) => caller,
        None => {
            let resolver = state.clone().into_inner();
            let resolved = web::block(move || resolver.keys.authenticate(&resolver.core.store, &secret, now)).await?;
            match resolved {
                Ok(caller) => caller,
                Err(AccessError::Unauthenticated) => {
                    state.core.metrics.auth_failures.inc();
                    let entry = requester.refusal(action.name(), None, None);
                    return Err(recorded(state, entry, ErrorCode::Unauthenticated.into()).await);
                }
                Err(other) => return Err(other.into()),
            }
        }
    };
    admit(state, caller, requester, action).await
}

/// The actor `caller` becomes for `action`, if its role may take it and it is within its rate
/// limit; a refusal is recorded. Keys and signed-in people pass here alike.
pub(crate) async fn admit(
    state: &web::Data<AppState>,
    caller: Caller,
    requester: Requester,
    action: Action,
) -> Result<Actor, ApiError> {
    if let Err(forbidden) = permit(&caller, action) {
        let entry = requester.refusal(action.name(), Some(&caller), None);
        return Err(recorded(state, entry, forbidden.into()).await);
    }
    if let Err(wait) = state.limits.check(action, &caller.key_id) {
        state.core.metrics.rate_limited.get_or_create(&ActionLabel { action: action.name().into() }).inc();
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let entry = requester.refusal(action.name(), Some(&caller), None);
        return Err(recorded(state, entry, ErrorCode::RateLimited { retry_after_seconds: seconds.max(1) }.into()).await);
    }
    let purpose = requester.purpose.unwrap_or_else(|| action.default_purpose().to_owned());
    Ok(Actor { caller, request_id: requester.request_id, purpose })
}

/// What a service answered `who`, or its refusal, recorded in the audit log (a failure of the
/// node itself, a 5xx, is logged instead: it refused nobody).
pub async fn answered<T>(
    state: &web::Data<AppState>,
    who: &Actor,
    action: Action,
    result: Result<T, ServiceError>,
) -> Result<T, ApiError> {
    let refusal = match result {
        Ok(value) => return Ok(value),
        Err(error) => ApiError::from(error),
    };
    if refusal.problem().status >= 500 {
        return Err(refusal);
    }
    let entry = who.entry(action, None, None, Utc::now());
    Err(recorded(state, entry, refusal).await)
}

/// Authenticates, checks the role, and runs `work` (which reads or writes the database, and
/// records the access in the audit log) on the blocking pool.
pub async fn authorized<T, F>(
    state: &web::Data<AppState>,
    requester: Requester,
    action: Action,
    work: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&NodeCore, Actor) -> Result<T, ServiceError> + Send + 'static,
{
    let who = actor(state, requester, action).await?;
    perform(state, who, action, work).await
}

/// Runs `work` for `who`, admitted to `action`, on the blocking pool, and records a refusal.
pub(crate) async fn perform<T, F>(
    state: &web::Data<AppState>,
    who: Actor,
    action: Action,
    work: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&NodeCore, Actor) -> Result<T, ServiceError> + Send + 'static,
{
    let (core, acting) = (state.core.clone(), who.clone());
    let result = web::block(move || work(&core, acting)).await?;
    answered(state, &who, action, result).await
}
