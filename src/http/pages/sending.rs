//! Forms that send a signed message to another node: an officer's departure (流出登记, to the node
//! where she is expected) and an inquiry (协查, either way, with its deadline). Each broken rule is
//! shown beside its field, named by the service's path (`person.id_number`, `to`, …).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDate, Utc};
use maud::{Markup, html};

use super::certificates::select;
use super::home::home_frame;
use super::layout::{self, Lang};
use super::{FORM_TOKEN, PageError, Signed, page, see_other, signed};
use crate::domain::access::Action;
use crate::domain::directory::NodeStatus;
use crate::domain::error::{ErrorCode, FieldError};
use crate::domain::message::PersonRefDraft;
use crate::http::AppState;
use crate::service::ServiceError;
use crate::service::flows::{self, DepartureInput, InquiryInput};
use crate::service::messages::Message;

/// Which message a form sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// 流出登记: she left; her expected residence is told.
    Departure,
    /// 协查: a question to another node, answered within 15 days when urgent, else 30.
    Inquiry,
}

impl Sending {
    fn action(self) -> Action {
        match self {
            Self::Departure => Action::RecordDeparture,
            Self::Inquiry => Action::SendInquiry,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::Departure => "/departures/new",
            Self::Inquiry => "/inquiries/new",
        }
    }

    fn title(self, lang: Lang) -> &'static str {
        match self {
            Self::Departure => lang.pick("流出登记", "Record a departure"),
            Self::Inquiry => lang.pick("发起协查", "Send an inquiry"),
        }
    }
}

/// `GET /departures/new`.
pub async fn departure_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    form_get(req, state, Sending::Departure).await
}

/// `POST /departures/new`.
pub async fn departure(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    send(req, state, form.into_inner(), Sending::Departure).await
}

/// `GET /inquiries/new`.
pub async fn inquiry_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    form_get(req, state, Sending::Inquiry).await
}

/// `POST /inquiries/new`.
pub async fn inquiry(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    send(req, state, form.into_inner(), Sending::Inquiry).await
}

/// The empty form of `sending`.
async fn form_get(req: HttpRequest, state: web::Data<AppState>, sending: Sending) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    signed.actor(&state, sending.action()).await?;
    Ok(shown(&state, &signed, sending, StatusCode::OK, &HashMap::new(), &[]))
}

/// Sends what the form says, or shows it again with each broken rule by its field.
async fn send(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Vec<(String, String)>,
    sending: Sending,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let typed: HashMap<String, String> = form.into_iter().collect();
    let token = typed.get(FORM_TOKEN).map_or("", String::as_str);
    let fields = typed.clone();
    let result = signed
        .submit(&state, token, sending.action(), move |core, who| {
            let get = |field: &str| fields.get(field).map(|v| v.trim().to_owned()).unwrap_or_default();
            let person = PersonRefDraft { id_number: get("person.id_number"), name: get("person.name") };
            let now = Utc::now();
            match sending {
                Sending::Departure => match NaiveDate::parse_from_str(&get("left_on"), "%Y-%m-%d") {
                    Ok(left_on) => {
                        let input = DepartureInput { person, left_on, destination: get("destination"), to: get("to") };
                        flows::record_departure(core, input, &who, now)
                    }
                    Err(_) => Err(ServiceError::Invalid(vec![ErrorCode::DateFormat.at("left_on")])),
                },
                Sending::Inquiry => {
                    let urgent = get("urgent") == "on";
                    let input = InquiryInput { to: get("to"), person, question: get("question"), urgent };
                    flows::send_inquiry(core, input, &who, now)
                }
            }
        })
        .await?;
    match result {
        Ok(sent) => Ok(page(StatusCode::CREATED, sent_page(&state, &signed, sending, &sent))),
        Err(broken) => Ok(shown(&state, &signed, sending, StatusCode::UNPROCESSABLE_ENTITY, &typed, &broken)),
    }
}

/// The form of `sending`, with what was typed and each broken rule beside its field.
fn shown(
    state: &AppState,
    signed: &Signed,
    sending: Sending,
    status: StatusCode,
    typed: &HashMap<String, String>,
    broken: &[FieldError],
) -> HttpResponse {
    let lang = signed.lang;
    let value = |field: &str| typed.get(field).cloned().unwrap_or_default();
    let error = |field: &str| layout::broken_at(lang, broken, field);
    let text =
        |field: &str, label: &str, kind: &str| layout::field(field, label, kind, &value(field), error(field), "off");
    let body = html! {
        form.stack method="post" action=(sending.path()) novalidate {
            input type="hidden" name=(FORM_TOKEN) value=(signed.session.csrf);
            (text("person.name", lang.pick("姓名", "Name"), "text"))
            (text("person.id_number", lang.pick("公民身份号码", "Citizen ID number"), "text"))
            (peers(state, lang, &value("to"), error("to"), sending))
            @match sending {
                Sending::Departure => {
                    (text("left_on", lang.pick("离开日期", "Left on"), "date"))
                    (text("destination", lang.pick("去向（地址）", "Going to (address)"), "text"))
                },
                Sending::Inquiry => {
                    (layout::text_area("question", lang.pick("协查事项", "Question"), &value("question"), error("question")))
                    label.check {
                        input type="checkbox" name="urgent" checked[value("urgent") == "on"];
                        " " (lang.pick("加急（孕情，15日内答复）", "Urgent (pregnancy: answered within 15 days)"))
                    }
                },
            }
            button type="submit" { (sending.title(lang)) }
        }
    };
    page(status, home_frame(state, signed, sending.title(lang), &body))
}

/// The nodes a message may go to: every active node of the directory but this one.
fn peers(state: &AppState, lang: Lang, chosen: &str, error: Option<&str>, sending: Sending) -> Markup {
    let trust = state.core.trust.current();
    let mut nodes: Vec<(String, String)> = trust
        .nodes()
        .filter(|n| n.status == NodeStatus::Active && n.code != state.core.code())
        .map(|n| (n.code.clone(), format!("{} ({})", n.name, n.code)))
        .collect();
    nodes.sort_unstable();
    let options: Vec<(&str, &str)> = nodes.iter().map(|(code, name)| (code.as_str(), name.as_str())).collect();
    let label = match sending {
        Sending::Departure => lang.pick("预计现居住地", "Expected residence"),
        Sending::Inquiry => lang.pick("协查对象节点", "Node asked"),
    };
    select("to", label, chosen, error, &options)
}

/// What was sent, to whom, and the answer's deadline.
fn sent_page(state: &AppState, signed: &Signed, sending: Sending, sent: &Message) -> Markup {
    let lang = signed.lang;
    let to = state.core.trust.current().node(&sent.peer).map_or_else(|| sent.peer.clone(), |n| n.name.clone());
    let body = html! {
        div.notice #sent role="status" {
            p { (lang.pick("已签名并发出，发往 ", "Signed and sent to ")) (to) }
            @if let Some(due) = sent.due_on { p { (lang.pick("答复期限 ", "Answer due by ")) (due) } }
        }
        p.actions {
            a.button href=(sending.path()) { (lang.pick("再填一份", "Another")) }
            " " a.button href="/" { (lang.pick("返回工作台", "Back to the worklists")) }
        }
    };
    home_frame(state, signed, sending.title(lang), &body)
}
