//! Exchange endpoints: arrivals, departures, inquiries, replies, event reports, the list of what
//! was exchanged, and the trust directory refresh.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, Requester, actor, answered, authorized};
use crate::domain::access::Action;
use crate::domain::calendar::WorkCalendar;
use crate::domain::certificate::ContraceptionMethod;
use crate::domain::error::ErrorCode;
use crate::domain::message::{Direction, EventKind, MessageBody, MessageKind, MessageState, PersonRefDraft};
use crate::service::ServiceError;
use crate::service::flows::{self, ArrivalInput, DepartureInput, EventInput, InquiryInput, Shown};
use crate::service::messages::{Message, MessageQuery as Filters};

/// `POST /api/v1/arrivals`: a person registered as arrived (流入登记), with or without a certificate.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArrivalRequest {
    /// The certificate she showed (QR text or JWS); its issuer is told.
    #[serde(default)]
    #[schema(schema_with = super::schema::token)]
    pub token: Option<String>,
    /// Who she is when she showed none; her origin is found from `hukou`.
    #[serde(default)]
    pub person: Option<PersonRefDraft>,
    /// 12-digit code of her household registration (without a certificate).
    #[serde(default)]
    #[schema(schema_with = super::schema::division_code)]
    pub hukou: Option<String>,
    /// Where she lives now.
    #[schema(schema_with = super::schema::place)]
    pub address: String,
    #[schema(value_type = String, format = Date)]
    pub arrived_on: NaiveDate,
}

impl TryFrom<ArrivalRequest> for ArrivalInput {
    type Error = ServiceError;

    fn try_from(request: ArrivalRequest) -> Result<Self, ServiceError> {
        let shown = match (request.token, request.person) {
            (Some(token), _) => Shown::Certificate(token),
            (None, Some(person)) => Shown::Nothing { person, hukou: request.hukou.unwrap_or_default() },
            (None, None) => return Err(ServiceError::Invalid(vec![ErrorCode::ArrivalWho.at("token")])),
        };
        Ok(Self { shown, address: request.address, arrived_on: request.arrived_on })
    }
}

/// `POST /api/v1/departures`: the origin records that a person left (流出), for the expected residence.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartureRequest {
    pub person: PersonRefDraft,
    #[schema(value_type = String, format = Date)]
    pub left_on: NaiveDate,
    /// Where she said she was going.
    #[schema(schema_with = super::schema::place)]
    pub destination: String,
    /// Node code of the expected residence.
    #[schema(schema_with = super::schema::division_code)]
    pub to: String,
}

impl From<DepartureRequest> for DepartureInput {
    fn from(r: DepartureRequest) -> Self {
        Self { person: r.person, left_on: r.left_on, destination: r.destination, to: r.to }
    }
}

/// `POST /api/v1/inquiries`: ask another node to confirm facts (协查).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InquiryRequest {
    /// Node code of the node asked.
    #[schema(schema_with = super::schema::division_code)]
    pub to: String,
    pub person: PersonRefDraft,
    #[schema(schema_with = super::schema::text)]
    pub question: String,
    /// Pregnancy: to be answered within 15 days, else 30.
    pub urgent: bool,
}

impl From<InquiryRequest> for InquiryInput {
    fn from(r: InquiryRequest) -> Self {
        Self { to: r.to, person: r.person, question: r.question, urgent: r.urgent }
    }
}

/// `POST /api/v1/messages/{id}/reply`: answer an inquiry or a birth report.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    #[schema(schema_with = super::schema::text)]
    pub answer: String,
}

/// `POST /api/v1/events`: report a birth, marriage, divorce, pregnancy, health check or contraception
/// service to the origin, or correct an earlier report.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    pub person: PersonRefDraft,
    pub event: EventKind,
    #[schema(value_type = String, format = Date)]
    pub on: NaiveDate,
    #[serde(default)]
    #[schema(schema_with = super::schema::text)]
    pub note: Option<String>,
    /// The origin's node code; by default the node this one sent her arrival notice to.
    #[serde(default)]
    #[schema(schema_with = super::schema::division_code)]
    pub to: Option<String>,
    /// The method of a contraception service (required for it, refused for other events).
    #[serde(default)]
    pub method: Option<ContraceptionMethod>,
    /// Id of an event report of hers sent from here that this one corrects; it goes to the same origin.
    #[serde(default)]
    #[schema(format = Uuid)]
    pub corrects: Option<String>,
}

impl From<EventRequest> for EventInput {
    fn from(r: EventRequest) -> Self {
        Self {
            person: r.person,
            event: r.event,
            on: r.on,
            note: r.note,
            to: r.to,
            method: r.method,
            corrects: r.corrects,
        }
    }
}

/// Deadlines of an arrival: presentation (30 days) and check (5 working days, when she showed a certificate).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ArrivalDeadlines {
    #[schema(value_type = String, format = Date)]
    pub presentation_due: NaiveDate,
    #[schema(value_type = Option<String>, format = Date)]
    pub check_due: Option<NaiveDate>,
    /// The check's working days touch a year whose holidays are not loaded yet: the day may move
    /// when that year's calendar is.
    pub check_due_provisional: bool,
}

/// A message put in the outbox.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Sent {
    pub id: String,
    pub to: String,
    pub kind: MessageKind,
    pub seq: i64,
    /// Last day for the answer owed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    /// Deadlines of an arrival.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadlines: Option<ArrivalDeadlines>,
}

impl Sent {
    /// The message as sent, its arrival deadlines judged by `calendar`.
    fn of(message: Message, calendar: &WorkCalendar) -> Self {
        let deadlines = match &message.body {
            MessageBody::ArrivalNotice(notice) => Some(ArrivalDeadlines {
                presentation_due: notice.presentation_due,
                check_due: notice.certificate.as_ref().map(|c| c.check_due),
                check_due_provisional: notice
                    .certificate
                    .as_ref()
                    .is_some_and(|c| calendar.is_provisional(c.verified_on, c.check_due)),
            }),
            _ => None,
        };
        Self {
            kind: message.kind(),
            id: message.id,
            to: message.peer,
            seq: message.seq,
            due_on: message.due_on,
            deadlines,
        }
    }
}

/// A message as both sides list it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: String,
    pub direction: Direction,
    /// The other node.
    pub peer: String,
    pub seq: i64,
    /// Its `kind` and `body`.
    #[serde(flatten)]
    pub content: MessageBody,
    pub state: MessageState,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipted_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// Delivery attempts that failed so far (sent messages).
    pub attempts: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The signed message.
    pub token: String,
    /// The signed receipt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
}

impl From<Message> for MessageView {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            direction: m.direction,
            peer: m.peer,
            seq: m.seq,
            content: m.body,
            state: m.state,
            created_at: m.created_at,
            receipted_at: m.receipted_at,
            due_on: m.due_on,
            answered_at: m.answered_at,
            in_reply_to: m.in_reply_to,
            attempts: m.attempts,
            last_error: m.last_error,
            token: m.token,
            receipt: m.receipt,
        }
    }
}

/// Messages sent and received.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
}

/// `GET /api/v1/messages` filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessageQuery {
    /// `in` or `out`.
    #[param(inline)]
    pub direction: Option<Direction>,
    /// A message kind, e.g. `inquiry`.
    #[param(inline)]
    pub kind: Option<MessageKind>,
    /// `pending`, `receipted`, `answered` or `overdue`.
    #[param(inline)]
    pub state: Option<MessageState>,
    /// The other node's code.
    pub peer: Option<String>,
    /// Page: messages older than this id.
    pub before: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

impl From<MessageQuery> for Filters {
    fn from(q: MessageQuery) -> Self {
        Self { direction: q.direction, kind: q.kind, state: q.state, peer: q.peer, before: q.before, limit: q.limit }
    }
}

/// Register an arrival (流入登记) with or without a certificate; her origin is notified.
#[utoipa::path(tag = "worker", request_body = ArrivalRequest, security(("bearer" = [])), responses((status = 201, body = Sent)))]
#[post("/api/v1/arrivals")]
pub async fn arrival(
    state: web::Data<AppState>,
    requester: Requester,
    body: web::Json<ArrivalRequest>,
) -> Result<HttpResponse, ApiError> {
    let who = actor(&state, requester, Action::RegisterArrival).await?;
    let result = match ArrivalInput::try_from(body.into_inner()) {
        Ok(arrival) => {
            let peers = Some(&state.exchange.peers);
            flows::register_arrival(&state.core, peers, arrival, who.clone(), Utc::now()).await
        }
        Err(refused) => Err(refused),
    };
    let sent = answered(&state, &who, Action::RegisterArrival, result).await?;
    Ok(HttpResponse::Created().json(Sent::of(sent, &state.core.assessment.calendar)))
}

/// Record a departure (流出); the expected residence is notified.
#[utoipa::path(tag = "officer", request_body = DepartureRequest, security(("bearer" = [])), responses((status = 201, body = Sent)))]
#[post("/api/v1/departures")]
pub async fn departure(
    state: web::Data<AppState>,
    requester: Requester,
    body: web::Json<DepartureRequest>,
) -> Result<HttpResponse, ApiError> {
    let departure = body.into_inner().into();
    let sent = authorized(&state, requester, Action::RecordDeparture, move |core, who| {
        flows::record_departure(core, departure, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(Sent::of(sent, &state.core.assessment.calendar)))
}

/// Ask another node to confirm facts (协查): due in 15 days when urgent, else 30.
#[utoipa::path(tag = "worker", request_body = InquiryRequest, security(("bearer" = [])), responses((status = 201, body = Sent)))]
#[post("/api/v1/inquiries")]
pub async fn inquiry(
    state: web::Data<AppState>,
    requester: Requester,
    body: web::Json<InquiryRequest>,
) -> Result<HttpResponse, ApiError> {
    let inquiry = body.into_inner().into();
    let sent = authorized(&state, requester, Action::SendInquiry, move |core, who| {
        flows::send_inquiry(core, inquiry, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(Sent::of(sent, &state.core.assessment.calendar)))
}

/// Report an event of hers to the origin (birth, marriage, pregnancy, a service …), or correct one.
#[utoipa::path(tag = "worker", request_body = EventRequest, security(("bearer" = [])), responses((status = 201, body = Sent)))]
#[post("/api/v1/events")]
pub async fn event(
    state: web::Data<AppState>,
    requester: Requester,
    body: web::Json<EventRequest>,
) -> Result<HttpResponse, ApiError> {
    let event = body.into_inner().into();
    let sent = authorized(&state, requester, Action::ReportEvent, move |core, who| {
        flows::report_event(core, event, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(Sent::of(sent, &state.core.assessment.calendar)))
}

/// Answer a received inquiry or birth report; both sides then show it answered.
#[utoipa::path(tag = "worker", request_body = ReplyRequest,
    params(("id" = String, Path, description = "id of the received message")), security(("bearer" = [])),
    responses((status = 201, body = Sent), (status = 404, description = "no such received message"),
        (status = 409, description = "owed no answer, or answered already")))]
#[post("/api/v1/messages/{id}/reply")]
pub async fn reply(
    state: web::Data<AppState>,
    requester: Requester,
    id: web::Path<String>,
    body: web::Json<ReplyRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, answer) = (id.into_inner(), body.into_inner().answer);
    let sent = authorized(&state, requester, Action::Reply, move |core, who| {
        flows::reply(core, &id, &answer, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(Sent::of(sent, &state.core.assessment.calendar)))
}

/// What was sent and received, newest first, with receipt and deadline state (`overdue` once an
/// owed answer is late).
#[utoipa::path(tag = "worker", params(MessageQuery), security(("bearer" = [])),
    responses((status = 200, body = MessagePage), (status = 429, description = "over the key's rate limit")))]
#[get("/api/v1/messages")]
pub async fn messages(
    state: web::Data<AppState>,
    requester: Requester,
    query: web::Query<MessageQuery>,
) -> Result<HttpResponse, ApiError> {
    let filters = query.into_inner().into();
    let listed = authorized(&state, requester, Action::ListMessages, move |core, who| {
        crate::service::messages::list(core, filters, &who, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(MessagePage { messages: listed.into_iter().map(MessageView::from).collect() }))
}

/// The trust directory in use after a refresh.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DirectoryRefreshed {
    pub serial: u64,
}

/// Fetch the trust directory from the registry now (otherwise every `directory.refresh_seconds`).
#[utoipa::path(tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = DirectoryRefreshed), (status = 502, description = "the registry did not deliver")))]
#[post("/api/v1/admin/directory/refresh")]
pub async fn refresh_directory(state: web::Data<AppState>, requester: Requester) -> Result<HttpResponse, ApiError> {
    actor(&state, requester, Action::RefreshDirectory).await?;
    match state.exchange.refresh().await {
        Ok(serial) => Ok(HttpResponse::Ok().json(DirectoryRefreshed { serial })),
        Err(error) => {
            tracing::warn!(%error, "directory refresh asked for failed");
            Err(ErrorCode::DirectoryRefresh.into())
        }
    }
}
