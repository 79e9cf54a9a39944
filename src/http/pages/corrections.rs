//! `/corrections/{id}`: an officer answers a woman's request to correct her record (更正请求),
//! from the `corrections` worklist; she reads the answer in her own view.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::html;

use super::home::home_frame;
use super::layout;
use super::{AnswerForm, FORM_TOKEN, PageError, Signed, page, see_other, signed};
use crate::domain::access::Action;
use crate::domain::error::FieldError;
use crate::domain::id_number;
use crate::http::AppState;
use crate::service::holders;
use crate::store::holders::CorrectionRow;

/// `GET /corrections/{id}`.
pub async fn form_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let (row, name) = read(&state, &signed, id.into_inner()).await?;
    Ok(shown(&state, &signed, &row, &name, StatusCode::OK, "", &[]))
}

/// `POST /corrections/{id}`: answers, or shows the form again with the rule the answer broke.
pub async fn answer(
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
        .submit(&state, &form_token, Action::AnswerCorrection, move |core, who| {
            holders::answer_correction(core, &asked, &typed, &who, Utc::now())
        })
        .await?;
    let lang = signed.lang;
    match result {
        Ok(()) => {
            let body = html! {
                div.notice #answered role="status" { p { (lang.pick("已答复，持证人可在本人查询中看到。", "Answered; she sees it in her own view.")) } }
                p { a.button href="/" { (lang.pick("返回工作台", "Back to the worklists")) } }
            };
            Ok(page(StatusCode::OK, home_frame(&state, &signed, lang.pick("已答复", "Answered"), &body)))
        }
        Err(broken) => {
            let (row, name) = read(&state, &signed, id).await?;
            Ok(shown(&state, &signed, &row, &name, StatusCode::UNPROCESSABLE_ENTITY, &answer, &broken))
        }
    }
}

/// The request `id`, read as `signed` reads it to answer it.
async fn read(state: &web::Data<AppState>, signed: &Signed, id: String) -> Result<(CorrectionRow, String), PageError> {
    signed
        .perform(state, Action::AnswerCorrection, move |core, who| holders::correction(core, &id, &who, Utc::now()))
        .await
}

/// Her request, and the answer's form.
fn shown(
    state: &AppState,
    signed: &Signed,
    row: &CorrectionRow,
    name: &str,
    status: StatusCode,
    typed: &str,
    broken: &[FieldError],
) -> HttpResponse {
    let lang = signed.lang;
    let body = html! {
        dl.certificate {
            dt { (lang.pick("姓名", "Name")) } dd { (name) }
            dt { (lang.pick("身份证号", "ID number")) } dd { (id_number::mask(&row.id_number)) }
            dt { (lang.pick("答复期限", "Answer by")) } dd { (row.due_on) }
        }
        p { (lang.pick("更正请求：", "Her request: ")) (row.request) }
        @if let Some(answer) = &row.answer {
            p.notice { (lang.pick("已答复：", "Answered: ")) (answer) }
        } @else {
            p.muted { (lang.pick("如需更正证明内容，请换发证明后再答复。", "To correct the certificate, renew it, then answer.")) }
            form.stack method="post" action=(format!("/corrections/{}", row.id)) {
                input type="hidden" name=(FORM_TOKEN) value=(signed.session.csrf);
                (layout::text_area("answer", lang.pick("答复内容", "Answer"), typed, layout::broken_at(lang, broken, "answer")))
                button type="submit" { (lang.pick("发送答复", "Send the answer")) }
            }
        }
    };
    page(status, home_frame(state, signed, lang.pick("答复更正请求", "Answer a correction request"), &body))
}
