//! The peer listener (mutual TLS): other nodes post signed messages and get signed receipts.

use std::any::Any;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Extensions, Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::rt::net::TcpStream;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;

use super::AppSettings;
use super::error::ApiError;
use crate::domain::error::ErrorCode;
use crate::exchange::client::{
    LOG_PATH, LOOKUP_PATH, LookupExchange, MESSAGES_PATH, REJOIN_PATH, STATUS_LIST_PATH, STATUS_PATH, StatusExchange,
};
use crate::exchange::inbox::{self, InboxError};
use crate::exchange::rejoin::{self, RejoinRequest};
use crate::exchange::transparency::{LogRange, serve_leaves};
use crate::exchange::{Batch, Exchange, MAX_REQUEST_BYTES, Refusal, sender_of};
use crate::seal::sha256_hex;
use crate::service::AnswerError;
use crate::service::certificates::answer_status;
use crate::service::lookup::answer;

/// SHA-256 (hex) of the client certificate of a peer connection, if one was presented.
#[derive(Debug, Clone)]
struct ClientFingerprint(Option<String>);

/// Starts the peer server on `listener` with `tls` (which asks every client for its certificate).
pub fn serve(
    exchange: Arc<Exchange>,
    listener: TcpListener,
    tls: rustls::ServerConfig,
    settings: &AppSettings,
) -> std::io::Result<Server> {
    let timed = super::Listener { name: "peer", core: exchange.core().clone() };
    let exchange = web::Data::from(exchange);
    // Senders keep a request under MAX_REQUEST_BYTES; the margin is for the JSON around the tokens.
    let limit = settings.body_limit.max(2 * MAX_REQUEST_BYTES);
    let body_read = super::BodyRead { limit, timeout: settings.body_read_timeout };
    let in_flight = super::InFlight::new(settings.max_requests_per_client);
    let mut server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(exchange.clone())
            .app_data(timed.clone())
            .app_data(in_flight.clone())
            .app_data(body_read)
            .app_data(web::QueryConfig::default().error_handler(|_, _| ApiError::from(ErrorCode::Query).into()))
            .app_data(
                web::JsonConfig::default().limit(limit).error_handler(move |e, _| super::json_error(e, limit).into()),
            )
            // Last wrapped, first run: a stranger is refused before a byte of its body is read.
            .wrap(from_fn(super::body_deadline))
            .wrap(from_fn(super::one_client_share))
            .wrap(from_fn(known_peers_only))
            .wrap(from_fn(super::request_log))
            .route(MESSAGES_PATH, web::post().to(messages))
            .route(LOOKUP_PATH, web::post().to(certificate_lookup))
            .route(STATUS_PATH, web::post().to(version_status))
            .route(STATUS_LIST_PATH, web::get().to(status_list))
            .route(REJOIN_PATH, web::post().to(rejoin_restored))
            .route(LOG_PATH, web::get().to(log_leaves))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(ApiError::from(ErrorCode::NotFound { what: "route" }))
            }))
    })
    .on_connect(remember_client_certificate)
    .listen_rustls_0_23(listener, tls)?;
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// Refuses a request whose TLS client is no active node of the trust directory, before its body
/// is read.
async fn known_peers_only(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let fingerprint = req.conn_data::<ClientFingerprint>().and_then(|f| f.0.as_deref());
    let known = match req.app_data::<web::Data<Exchange>>() {
        Some(exchange) => sender_of(&exchange.core().trust.current(), fingerprint).map(drop),
        None => Err(Refusal::UnknownPeer),
    };
    if let Err(refusal) = known {
        if let Some(exchange) = req.app_data::<web::Data<Exchange>>() {
            exchange.core().metrics.messages_refused.inc();
        }
        tracing::warn!(%refusal, "peer request refused before its body");
        return Err(ApiError::refused(&refusal).into());
    }
    next.call(req).await
}

fn remember_client_certificate(connection: &dyn Any, data: &mut Extensions) {
    let fingerprint = connection
        .downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<TcpStream>>()
        .and_then(|tls| tls.get_ref().1.peer_certificates().and_then(|chain| chain.first()).map(|c| sha256_hex(c)));
    data.insert(ClientFingerprint(fingerprint));
}

/// Receive signed messages; answer one signed receipt per message, in order. A refused batch is
/// stored nowhere; a message received again gets its first receipt.
async fn messages(
    exchange: web::Data<Exchange>,
    req: HttpRequest,
    body: web::Json<Batch>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = req.conn_data::<ClientFingerprint>().and_then(|f| f.0.clone());
    let tokens = body.into_inner().messages;
    let receiver = exchange.clone().into_inner();
    let received = web::block(move || {
        inbox::receive(receiver.core(), &receiver.arrivals, fingerprint.as_deref(), tokens, Utc::now())
    })
    .await?;
    let receipts = taken(&exchange, "message batch", received)?;
    Ok(HttpResponse::Ok().json(Batch { messages: Vec::new(), receipts }))
}

/// A node restored from a backup takes back its own messages this node received, and has this
/// node resend what it lost.
async fn rejoin_restored(
    exchange: web::Data<Exchange>,
    req: HttpRequest,
    body: web::Json<RejoinRequest>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = req.conn_data::<ClientFingerprint>().and_then(|f| f.0.clone());
    let core = exchange.core().clone();
    let answered = web::block(move || rejoin::answer(&core, fingerprint.as_deref(), &body, Utc::now())).await?;
    Ok(HttpResponse::Ok().json(taken(&exchange, "rejoin", answered)?))
}

/// What the exchange answered a peer's request, or its refusal, counted and logged by its code.
fn taken<T>(exchange: &Exchange, request: &'static str, outcome: Result<T, InboxError>) -> Result<T, ApiError> {
    match outcome {
        Ok(value) => Ok(value),
        Err(InboxError::Refused(refusal)) => Err(refused(exchange, request, &refusal)),
        Err(InboxError::Store(e)) => Err(e.into()),
    }
}

/// Electronic certificate lookup (电子证明查询): a signed request in, the origin's signed answer
/// out at once (her current certificates, or none).
async fn certificate_lookup(
    exchange: web::Data<Exchange>,
    req: HttpRequest,
    body: web::Json<LookupExchange>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = req.conn_data::<ClientFingerprint>().and_then(|f| f.0.clone());
    let Some(request) = body.into_inner().request else {
        return Err(ApiError::refused(&Refusal::BatchSize));
    };
    let origin = exchange.core().clone();
    match web::block(move || answer(&origin, fingerprint.as_deref(), &request, Utc::now())).await? {
        Ok(answer) => Ok(HttpResponse::Ok().json(LookupExchange { request: None, answer: Some(answer) })),
        Err(error) => Err(refusal(&exchange, "lookup", error)),
    }
}

/// On-line status question (证明状态在线核验): a version and a nonce in, the issuer's signed word
/// on what it records now of that version out at once.
async fn version_status(
    exchange: web::Data<Exchange>,
    req: HttpRequest,
    body: web::Json<StatusExchange>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = req.conn_data::<ClientFingerprint>().and_then(|f| f.0.clone());
    let StatusExchange { version: Some(version), nonce: Some(nonce), .. } = body.into_inner() else {
        return Err(ApiError::refused(&Refusal::BadMessage { message: 0, reason: "a version and a nonce are needed" }));
    };
    let issuer = exchange.core().clone();
    let answered = web::block(move || answer_status(&issuer, fingerprint.as_deref(), &version, &nonce, Utc::now()));
    match answered.await? {
        Ok(answer) => Ok(HttpResponse::Ok().json(StatusExchange { answer: Some(answer), ..Default::default() })),
        Err(error) => Err(refusal(&exchange, "status question", error)),
    }
}

/// Leaves of this node's issuance log (签发透明日志), for a peer checking them against the head
/// this node anchored at the registry.
async fn log_leaves(exchange: web::Data<Exchange>, range: web::Query<LogRange>) -> Result<HttpResponse, ApiError> {
    let core = exchange.core().clone();
    let served = web::block(move || serve_leaves(&core, range.into_inner())).await?;
    Ok(HttpResponse::Ok().json(taken(&exchange, "log leaves", served.map_err(InboxError::Refused))?))
}

/// This node's signed status list (`hunyu-status+jwt`), as its API serves it publicly.
async fn status_list(exchange: web::Data<Exchange>) -> Result<HttpResponse, ApiError> {
    super::meta::signed_status_list(exchange.core().clone()).await
}

/// The answer to a peer question this node would not or could not answer; a refusal is counted
/// and logged by its code.
fn refusal(exchange: &Exchange, question: &'static str, error: AnswerError) -> ApiError {
    match error {
        AnswerError::Refused(refusal) => refused(exchange, question, &refusal),
        AnswerError::Service(e) => e.into(),
    }
}

/// A peer's request refused: counted, logged by its code, and answered as problem+json.
fn refused(exchange: &Exchange, request: &'static str, refusal: &Refusal) -> ApiError {
    exchange.core().metrics.messages_refused.inc();
    tracing::warn!(%refusal, request, "peer request refused");
    ApiError::refused(refusal)
}
