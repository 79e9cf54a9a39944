//! `/messages/`: what was sent and received, with deadlines and where each stands; and
//! `/messages/{id}/reply`: answering an inquiry (协查) or a birth report received here, one tap
//! from its item on the worklist.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::home::home_frame;
use super::layout::{self, Lang};
use super::{AnswerForm, FORM_TOKEN, PageError, Signed, page, see_other, signed};
use crate::domain::access::Action;
use crate::domain::calendar::SHANGHAI;
use crate::domain::error::FieldError;
use crate::domain::message::{Direction, EventKind, MessageBody, MessageKind, MessageState};
use crate::http::AppState;
use crate::service::flows;
use crate::service::messages::{self, Message, MessageQuery};

/// Messages shown on the list; the API pages through them all.
const LISTED: i64 = 100;

/// Which messages the list shows.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    direction: Option<String>,
}

/// `GET /messages/?direction=out|in`: the newest sent (or received) messages, each with its
/// node, whom it is about (ID masked), its deadline and state; a received one owed an answer
/// links to its answer.
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let direction = if query.direction.as_deref() == Some("in") { Direction::In } else { Direction::Out };
    let listed = signed
        .perform(&state, Action::ListMessages, move |core, who| {
            let query = MessageQuery { direction: Some(direction), limit: Some(LISTED), ..MessageQuery::default() };
            messages::list(core, query, &who, Utc::now())
        })
        .await?;
    let lang = signed.lang;
    let trust = state.core.trust.current();
    let (kind, node, whom, on, due, standing) = (
        lang.pick("事项", "Kind"),
        lang.pick("对方节点", "Node"),
        lang.pick("当事人", "About"),
        lang.pick("日期", "On"),
        lang.pick("答复期限", "Answer by"),
        lang.pick("状态", "State"),
    );
    let body = html! {
        nav.books {
            a.button href="/messages/?direction=out" aria-current=[(direction == Direction::Out).then_some("page")] { (lang.pick("已发出", "Sent")) }
            a.button href="/messages/?direction=in" aria-current=[(direction == Direction::In).then_some("page")] { (lang.pick("已收到", "Received")) }
        }
        table.cards #messages {
            thead { tr {
                th scope="col" { (kind) } th scope="col" { (node) } th scope="col" { (whom) }
                th scope="col" { (on) } th scope="col" { (due) } th scope="col" { (standing) }
            } }
            tbody {
                @for m in &listed {
                    tr data-kind=(m.kind().as_str()) data-state=(m.state.as_str()) {
                        td data-label=(kind) {
                            @if direction == Direction::In && m.due_on.is_some() && m.answered_at.is_none() {
                                a href=(format!("/messages/{}/reply", m.id)) { (kind_name(lang, m.kind())) }
                            } @else { (kind_name(lang, m.kind())) }
                        }
                        td data-label=(node) { (trust.node(&m.peer).map_or(m.peer.as_str(), |n| n.name.as_str())) }
                        td data-label=(whom) {
                            @if let Some(person) = m.body.person() { (person.name) " " (person.id_number.masked()) }
                        }
                        td data-label=(on) { (m.created_at.with_timezone(&SHANGHAI).format("%Y-%m-%d")) }
                        td data-label=(due) class=[(m.state == MessageState::Overdue).then_some("overdue")] {
                            @if let Some(due_on) = m.due_on { (due_on) }
                        }
                        td data-label=(standing) { (state_name(lang, m.state)) }
                    }
                }
            }
        }
        @if listed.is_empty() { p.muted { (lang.pick("没有记录。", "None.")) } }
    };
    Ok(page(StatusCode::OK, home_frame(&state, &signed, lang.pick("交换记录", "Messages"), &body)))
}

/// A kind of message, as people name it.
fn kind_name(lang: Lang, kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::ArrivalNotice => lang.pick("流入登记通报", "Arrival notice"),
        MessageKind::DepartureNotice => lang.pick("流出通报", "Departure notice"),
        MessageKind::Inquiry => lang.pick("协查", "Inquiry"),
        MessageKind::Reply => lang.pick("答复", "Reply"),
        MessageKind::EventReport => lang.pick("信息通报", "Event report"),
        MessageKind::CertificateUpdate => lang.pick("证明换发", "Certificate renewed"),
        MessageKind::Revocation => lang.pick("证明注销", "Certificate revoked"),
    }
}

/// Where a message stands, as people say it.
fn state_name(lang: Lang, state: MessageState) -> &'static str {
    match state {
        MessageState::Pending => lang.pick("待对方签收", "Not receipted yet"),
        MessageState::Receipted => lang.pick("已签收", "Receipted"),
        MessageState::Answered => lang.pick("已答复", "Answered"),
        MessageState::Overdue => lang.pick("逾期未答复", "Overdue"),
    }
}

/// `GET /messages/{id}/reply`.
pub async fn form_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let message = read(&state, &signed, id.into_inner()).await?;
    Ok(shown(&state, &signed, &message, StatusCode::OK, "", &[]))
}

/// `POST /messages/{id}/reply`: sends the answer, or shows the form again with its broken rule.
pub async fn reply(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<AnswerForm>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let AnswerForm { answer, form_token } = form.into_inner();
    let id = id.into_inner();
    let (asked, typed) = (id.clone(), answer.clone());
    let result = signed
        .submit(&state, &form_token, Action::Reply, move |core, who| {
            flows::reply(core, &asked, &typed, &who, Utc::now())
        })
        .await?;
    let lang = signed.lang;
    match result {
        Ok(sent) => {
            let body = html! {
                div.notice #replied role="status" { p { (lang.pick("已答复，答复已发往 ", "Answered; sent to ")) (sent.peer) } }
                p { a.button href="/" { (lang.pick("返回工作台", "Back to the worklists")) } }
            };
            Ok(page(StatusCode::CREATED, home_frame(&state, &signed, lang.pick("已答复", "Answered"), &body)))
        }
        Err(broken) => {
            let message = read(&state, &signed, id).await?;
            Ok(shown(&state, &signed, &message, StatusCode::UNPROCESSABLE_ENTITY, &answer, &broken))
        }
    }
}

/// The message `id` received here, read as `signed` reads it to answer it.
async fn read(state: &web::Data<AppState>, signed: &Signed, id: String) -> Result<Message, PageError> {
    signed.perform(state, Action::Reply, move |core, who| messages::received(core, &id, &who, Utc::now())).await
}

/// What was asked, and the answer's form.
fn shown(
    state: &AppState,
    signed: &Signed,
    message: &Message,
    status: StatusCode,
    typed: &str,
    broken: &[FieldError],
) -> HttpResponse {
    let lang = signed.lang;
    let asked = match &message.body {
        MessageBody::Inquiry(inquiry) => html! {
            p { (lang.pick("协查：", "Inquiry: ")) (inquiry.question) }
            @if inquiry.urgent { p.overdue { (lang.pick("加急（孕情）：15日内答复", "Urgent (pregnancy): answer within 15 days")) } }
        },
        MessageBody::EventReport(report) if report.event == EventKind::Birth => html! {
            p { (lang.pick("生育通报：", "Birth report: ")) (report.on) }
            @if let Some(note) = &report.note { p { (note) } }
        },
        _ => html! { p { (message.kind().as_str()) } },
    };
    let person = message.body.person();
    let body = html! {
        dl.certificate {
            dt { (lang.pick("来文节点", "From")) } dd { (message.peer) }
            @if let Some(person) = person {
                dt { (lang.pick("姓名", "Name")) } dd { (person.name) }
                dt { (lang.pick("身份证号", "ID number")) } dd { (person.id_number.masked()) }
            }
            @if let Some(due) = message.due_on { dt { (lang.pick("答复期限", "Answer by")) } dd { (due) } }
        }
        (asked)
        @if message.answered_at.is_some() {
            p.notice { (lang.pick("已答复。", "Answered already.")) }
        } @else {
            form.stack method="post" action=(format!("/messages/{}/reply", message.id)) {
                input type="hidden" name=(FORM_TOKEN) value=(signed.session.csrf);
                (layout::text_area("answer", lang.pick("答复内容", "Answer"), typed, layout::broken_at(lang, broken, "answer")))
                button type="submit" { (lang.pick("发送答复", "Send the answer")) }
            }
        }
    };
    page(status, home_frame(state, signed, lang.pick("答复", "Answer"), &body))
}
