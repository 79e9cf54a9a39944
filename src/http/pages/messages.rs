//! `/messages/{id}/reply`: answering an inquiry (协查) or a birth report received here, one tap
//! from its item on the worklist.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::home::home_frame;
use super::layout;
use super::{FORM_TOKEN, PageError, Signed, page, see_other, signed};
use crate::domain::access::Action;
use crate::domain::error::FieldError;
use crate::domain::message::{EventKind, MessageBody};
use crate::http::AppState;
use crate::service::flows;
use crate::service::messages::{self, Message};

/// The answer as posted.
#[derive(Debug, Deserialize)]
pub struct ReplyForm {
    answer: String,
    form_token: String,
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
    form: web::Form<ReplyForm>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let ReplyForm { answer, form_token } = form.into_inner();
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
