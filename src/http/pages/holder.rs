//! `/me/`: the woman's own view (本人查询, PIPL arts. 44–46). With her ID number and the holder
//! code printed on her paper certificate she sees her certificates, every access to her record
//! in this node's audit log (by role and node, never by a person's name), and her correction
//! requests with their answers, and files a new one. She holds no account: each form carries her
//! code again, checked as a password is (a limit per address, a lock after wrong codes).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError as _, web};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Lang};
use super::scan::{ShownCertificate, certificate_facts, status_words};
use super::{FORM_TOKEN, PageError, PageSettings, fresh_token, page, secret_check, with_form_cookie};
use crate::domain::calendar::SHANGHAI;
use crate::domain::error::FieldError;
use crate::domain::role::Role;
use crate::http::{ApiError, AppState, Requester};
use crate::seal::read_stored;
use crate::service::ServiceError;
use crate::service::holders::{self, HOLDER, HolderRecord, REQUEST_CORRECTION, VIEW};
use crate::store::audit::AuditRow;

/// Her ID number and code, as posted (with a correction request, when she files one).
#[derive(Debug, Deserialize)]
pub struct HolderForm {
    id_number: String,
    holder_code: String,
    #[serde(default)]
    request: Option<String>,
    form_token: String,
}

/// What the form shows again after a try: what she typed (never her code) and what went wrong.
#[derive(Default)]
struct Typed<'a> {
    id_number: &'a str,
    request: &'a str,
    broken: &'a [FieldError],
    refusal: Option<&'a ApiError>,
}

/// `GET /me/`.
pub async fn page_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    settings: web::Data<PageSettings>,
) -> Result<HttpResponse, PageError> {
    sign_in_form(&state, &settings, Lang::of(&req), StatusCode::OK, &Typed::default())
}

/// `POST /me/`: her record, or the form again with what went wrong.
pub async fn open(
    req: HttpRequest,
    state: web::Data<AppState>,
    settings: web::Data<PageSettings>,
    form: web::Form<HolderForm>,
) -> Result<HttpResponse, PageError> {
    answer(req, state, settings, form.into_inner(), VIEW).await
}

/// `POST /me/correction`: files her correction request; her record with it.
pub async fn correction(
    req: HttpRequest,
    state: web::Data<AppState>,
    settings: web::Data<PageSettings>,
    form: web::Form<HolderForm>,
) -> Result<HttpResponse, PageError> {
    answer(req, state, settings, form.into_inner(), REQUEST_CORRECTION).await
}

/// Checks her code for `action` (reading, or filing a correction) and shows what follows.
async fn answer(
    req: HttpRequest,
    state: web::Data<AppState>,
    settings: web::Data<PageSettings>,
    form: HolderForm,
    action: &'static str,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of(&req);
    let HolderForm { id_number, holder_code, request, form_token } = form;
    let request = request.unwrap_or_default();
    let permit = match secret_check(&req, &state, &form_token, action).await {
        Ok(permit) => permit,
        Err(refusal) => {
            let typed = Typed { id_number: &id_number, request: &request, broken: &[], refusal: Some(&refusal) };
            return sign_in_form(&state, &settings, lang, refusal.status_code(), &typed);
        }
    };
    let request_id = Requester::of_session(&req).request_id().to_owned();
    let core = state.core.clone();
    let (id, code, text) = (id_number.clone(), holder_code.clone(), request.clone());
    let result = web::block(move || {
        let now = Utc::now();
        if action == REQUEST_CORRECTION {
            holders::request_correction(&core, &id, &code, &text, &request_id, now)
        } else {
            holders::open(&core, &id, &code, &request_id, now)
        }
    })
    .await
    .map_err(|e| PageError::new(e.into(), lang))?;
    drop(permit);
    match result {
        Ok(record) => {
            // Her record's correction form pairs its own token with a cookie, as the form before it.
            let token = fresh_token(lang)?;
            let filed = action == REQUEST_CORRECTION;
            let status = if filed { StatusCode::CREATED } else { StatusCode::OK };
            let mine = Mine { id_number: &id_number, holder_code: &holder_code, token: &token, filed };
            let response = page(status, record_page(&state, lang, &record, &mine));
            with_form_cookie(response, &settings, token, lang)
        }
        // A typing error, or a correction that breaks a rule (checked before her code is): the
        // form comes back with each rule beside its field, her request kept.
        Err(ServiceError::Invalid(broken)) => {
            let typed = Typed { id_number: &id_number, request: &request, broken: &broken, refusal: None };
            sign_in_form(&state, &settings, lang, StatusCode::UNPROCESSABLE_ENTITY, &typed)
        }
        Err(refused) => {
            let refusal = ApiError::from(refused);
            let typed = Typed { id_number: &id_number, request: &request, broken: &[], refusal: Some(&refusal) };
            sign_in_form(&state, &settings, lang, refusal.status_code(), &typed)
        }
    }
}

/// The form that asks for her ID number and code (and her correction, if she was filing one).
fn sign_in_form(
    state: &AppState,
    settings: &PageSettings,
    lang: Lang,
    status: StatusCode,
    typed: &Typed<'_>,
) -> Result<HttpResponse, PageError> {
    let token = fresh_token(lang)?;
    let error = |field: &str| layout::broken_at(lang, typed.broken, field);
    let body = html! {
        div.narrow {
            @if let Some(refusal) = typed.refusal {
                div.notice.bad role="alert" { (lang.pick(&refusal.problem().message_zh, &refusal.problem().message_en)) }
            }
            p { (lang.pick("凭身份证号和婚育证明上印的本人查询码，查看本人的证明、谁查阅过本人的记录，并可申请更正。",
                "With your ID number and the holder code printed on your certificate, see your certificates and who accessed your record, and ask for a correction.")) }
            form.stack method="post" action=(if typed.request.is_empty() { "/me/" } else { "/me/correction" }) novalidate {
                input type="hidden" name=(FORM_TOKEN) value=(&token);
                (layout::field("id_number", lang.pick("公民身份号码", "ID number"), "text", typed.id_number, error("id_number"), "off"))
                (layout::field("holder_code", lang.pick("本人查询码", "Holder code"), "text", "", error("holder_code"), "off"))
                @if !typed.request.is_empty() {
                    (layout::text_area("request", lang.pick("更正请求", "Correction request"), typed.request, error("request")))
                }
                button type="submit" { (lang.pick("查询", "Open my record")) }
            }
            p.muted { (lang.pick("连续5次查询码错误，查询码锁定15分钟。本人的每次查询也记入查阅记录。",
                "Five wrong codes in a row lock the code for 15 minutes. Each of your own visits is recorded too.")) }
        }
    };
    let title = lang.pick("本人查询", "My record");
    let response = page(status, layout::frame(lang, title, &state.core.identity.name, None, &body));
    with_form_cookie(response, settings, token, lang)
}

/// What her record's page carries of her: the credentials its correction form posts again.
struct Mine<'a> {
    id_number: &'a str,
    holder_code: &'a str,
    token: &'a str,
    filed: bool,
}

/// Her record: certificates, accesses, corrections, and the correction form.
fn record_page(state: &AppState, lang: Lang, record: &HolderRecord, mine: &Mine<'_>) -> Markup {
    let body = html! {
        @if mine.filed {
            div.notice #filed role="status" { p { (lang.pick("更正请求已提交，乡镇（街道）工作人员将在15日内答复。",
                "Your correction request is filed; an officer answers within 15 days.")) } }
        }
        h2 { (lang.pick("本人的婚育证明", "My certificates")) }
        @if record.certificates.is_empty() {
            p.muted { (lang.pick("本节点没有您的证明。", "This node holds no certificate of yours.")) }
        }
        @for version in &record.certificates {
            section.certificate-of-mine {
                p.big data-status=(version.status.as_str()) { (status_words(lang, version.status)) }
                @if let Some(shown) = read_stored::<ShownCertificate>(&version.token) { (certificate_facts(lang, &shown, None)) }
                p.muted { (lang.pick("证明编号 ", "Certificate ")) (version.certificate_id) " · v" (version.version) }
            }
        }
        h2 { (lang.pick("谁查阅了我的记录", "Who accessed my record")) }
        (accesses(state, lang, &record.accesses))
        h2 { (lang.pick("更正请求", "Correction requests")) }
        @for correction in &record.corrections {
            dl.certificate {
                dt { (lang.pick("提交", "Filed")) } dd { (correction.filed_at.and_utc().with_timezone(&SHANGHAI).format("%Y-%m-%d %H:%M")) }
                dt { (lang.pick("请求", "Request")) } dd { (correction.request) }
                dt { (lang.pick("答复", "Answer")) } dd.answer {
                    @match &correction.answer {
                        Some(answer) => (answer),
                        None => { (lang.pick("待答复，期限 ", "Owed by ")) (correction.due_on) },
                    }
                }
            }
        }
        form.stack method="post" action="/me/correction" {
            input type="hidden" name=(FORM_TOKEN) value=(mine.token);
            input type="hidden" name="id_number" value=(mine.id_number);
            input type="hidden" name="holder_code" value=(mine.holder_code);
            (layout::text_area("request", lang.pick("申请更正（请写明哪一项应为什么）", "Ask for a correction (which fact, and what it should be)"), "", None))
            button type="submit" { (lang.pick("提交更正请求", "File the request")) }
        }
        p { a href="/me/" { (lang.pick("退出本人查询", "Leave my record")) } }
    };
    layout::frame(lang, lang.pick("本人记录", "My record"), &state.core.identity.name, None, &body)
}

/// The accesses, newest first: when, who (a role at a node), why, and whether it was granted.
fn accesses(state: &AppState, lang: Lang, rows: &[AuditRow]) -> Markup {
    let (when, who, why, outcome) =
        (lang.pick("时间", "When"), lang.pick("查阅方", "Who"), lang.pick("事由", "Why"), lang.pick("结果", "Outcome"));
    let trust = state.core.trust.current();
    let node_name = |row: &AuditRow| -> String {
        if row.role == "peer" {
            trust.node(&row.actor).map_or_else(|| row.actor.clone(), |n| n.name.clone())
        } else {
            state.core.identity.name.clone()
        }
    };
    html! {
        table.cards #accesses {
            caption.muted { (lang.pick("本节点审计日志中与您有关的最近记录（其他地方的查阅记在当地节点）。",
                "The latest entries about you in this node's audit log (accesses elsewhere are kept by those nodes).")) }
            thead { tr { th scope="col" { (when) } th scope="col" { (who) } th scope="col" { (why) } th scope="col" { (outcome) } } }
            tbody {
                @for row in rows {
                    tr data-action=(row.action) {
                        td data-label=(when) { (row.at.and_utc().with_timezone(&SHANGHAI).format("%Y-%m-%d %H:%M")) }
                        td data-label=(who) { (accessor(lang, &row.role)) " · " (node_name(row)) }
                        td data-label=(why) { (row.purpose) }
                        td data-label=(outcome) {
                            @if row.outcome.starts_with("refused") { (lang.pick("被拒绝", "refused")) } @else { (lang.pick("已办理", "done")) }
                        }
                    }
                }
            }
        }
    }
}

/// Who accessed, by role: never by a person's name.
fn accessor(lang: Lang, role: &str) -> &'static str {
    match role {
        "peer" => lang.pick("外地节点", "another node"),
        HOLDER => lang.pick("本人", "you"),
        _ => Role::parse(role).map_or(lang.pick("系统", "the system"), |role| lang.role(role)),
    }
}
