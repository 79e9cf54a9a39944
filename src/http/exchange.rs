//! Exchange endpoints: arrivals, departures, inquiries, replies, event reports, the list of what
//! was exchanged, and the trust directory refresh.

use actix_web::{HttpResponse, get, post, web};
use chrono::Utc;
use serde::Serialize;

use super::error::ApiError;
use super::{Problem, Requester, authorized};
use crate::access::Action;
use crate::exchange::directory::refresh;
use crate::flows::{
    ArrivalRequest, DepartureRequest, EventRequest, InquiryRequest, MessageQuery, MessageView, ReplyRequest, Sent,
};
use crate::node::Node;

/// Register an arrival (流入登记) with or without a certificate; her origin is notified.
#[utoipa::path(post, path = "/api/v1/arrivals", tag = "worker", request_body = ArrivalRequest, security(("bearer" = [])),
    responses((status = 201, body = Sent), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
#[post("/api/v1/arrivals")]
pub async fn arrival(
    node: web::Data<Node>,
    requester: Requester,
    body: web::Json<ArrivalRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let sent = authorized(&node, requester, Action::RegisterArrival, move |node, who| {
        node.register_arrival(request, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(sent))
}

/// Record a departure (流出); the expected residence is notified.
#[utoipa::path(post, path = "/api/v1/departures", tag = "officer", request_body = DepartureRequest, security(("bearer" = [])),
    responses((status = 201, body = Sent), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/departures")]
pub async fn departure(
    node: web::Data<Node>,
    requester: Requester,
    body: web::Json<DepartureRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let sent = authorized(&node, requester, Action::RecordDeparture, move |node, who| {
        node.record_departure(request, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(sent))
}

/// Ask another node to confirm facts (协查): due in 15 days when urgent, else 30.
#[utoipa::path(post, path = "/api/v1/inquiries", tag = "worker", request_body = InquiryRequest, security(("bearer" = [])),
    responses((status = 201, body = Sent), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/inquiries")]
pub async fn inquiry(
    node: web::Data<Node>,
    requester: Requester,
    body: web::Json<InquiryRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let sent = authorized(&node, requester, Action::SendInquiry, move |node, who| {
        node.send_inquiry(request, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(sent))
}

/// Report a birth, marriage, divorce or contraception service to the origin.
#[utoipa::path(post, path = "/api/v1/events", tag = "worker", request_body = EventRequest, security(("bearer" = [])),
    responses((status = 201, body = Sent), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/events")]
pub async fn event(
    node: web::Data<Node>,
    requester: Requester,
    body: web::Json<EventRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let sent = authorized(&node, requester, Action::ReportEvent, move |node, who| {
        node.report_event(request, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(sent))
}

/// Answer a received inquiry or birth report; both sides then show it answered.
#[utoipa::path(post, path = "/api/v1/messages/{id}/reply", tag = "worker", request_body = ReplyRequest,
    params(("id" = String, Path, description = "id of the received message")), security(("bearer" = [])),
    responses((status = 201, body = Sent), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
#[post("/api/v1/messages/{id}/reply")]
pub async fn reply(
    node: web::Data<Node>,
    requester: Requester,
    id: web::Path<String>,
    body: web::Json<ReplyRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, request) = (id.into_inner(), body.into_inner());
    let sent = authorized(&node, requester, Action::Reply, move |node, who| node.reply(&id, request, &who, Utc::now()))
        .await?;
    Ok(HttpResponse::Created().json(sent))
}

/// Messages sent and received.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
}

/// What was sent and received, newest first, with receipt and deadline state (`overdue` once an
/// owed answer is late).
#[utoipa::path(get, path = "/api/v1/messages", tag = "worker", params(MessageQuery), security(("bearer" = [])),
    responses((status = 200, body = MessagePage), (status = 400, body = Problem), (status = 403, body = Problem)))]
#[get("/api/v1/messages")]
pub async fn messages(
    node: web::Data<Node>,
    requester: Requester,
    query: web::Query<MessageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let messages =
        authorized(&node, requester, Action::ListMessages, move |node, who| node.messages(&query, &who, Utc::now()))
            .await?;
    Ok(HttpResponse::Ok().json(MessagePage { messages }))
}

/// The trust directory in use after a refresh.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DirectoryRefreshed {
    pub serial: u64,
}

/// Fetch the trust directory from the registry now (otherwise every `directory.refresh_seconds`).
#[utoipa::path(post, path = "/api/v1/admin/directory/refresh", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = DirectoryRefreshed), (status = 403, body = Problem), (status = 502, body = Problem)))]
#[post("/api/v1/admin/directory/refresh")]
pub async fn refresh_directory(node: web::Data<Node>, requester: Requester) -> Result<HttpResponse, ApiError> {
    authorized(&node, requester, Action::RefreshDirectory, |_, _| Ok(())).await?;
    match refresh(&node.clone().into_inner()).await {
        Ok(serial) => Ok(HttpResponse::Ok().json(DirectoryRefreshed { serial })),
        Err(error) => Err(ApiError::new(
            actix_web::http::StatusCode::BAD_GATEWAY,
            "directory.refresh",
            "信任名录更新失败，继续使用现有名录",
            format!("the trust directory was not refreshed; the one in use stays: {error}"),
        )),
    }
}
