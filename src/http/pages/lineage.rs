//! An officer's certificate, found by her ID number: `/certificates/` finds hers, and
//! `/certificates/{id}` shows every version with its status, beside what may be done with it —
//! print, renew (换发, the issue form filled with what it says now) and revoke (注销, with a reason).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::certificates::{FormFor, draft_of, issued, shown, typed_of};
use super::home::home_frame;
use super::layout;
use super::scan::status_words;
use super::{FORM_TOKEN, PageError, Signed, page, see_other, signed};
use crate::domain::access::Action;
use crate::domain::error::FieldError;
use crate::http::AppState;
use crate::service::certificates::{self, History, Version};
use crate::service::lookup;

/// The search as posted.
#[derive(Debug, Deserialize)]
pub struct FindForm {
    id_number: String,
    form_token: String,
}

/// `GET /certificates/`: the search by ID number.
pub async fn find_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    signed.actor(&state, Action::ShowCertificate).await?;
    Ok(found(&state, &signed, StatusCode::OK, "", &[], None))
}

/// `POST /certificates/`: her certificates at this node (an audited look-up), or the rule the
/// number broke.
pub async fn find(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<FindForm>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let FindForm { id_number, form_token } = form.into_inner();
    let typed = id_number.clone();
    let result = signed
        .submit(&state, &form_token, Action::ShowCertificate, move |core, who| {
            lookup::here(core, typed.trim(), &who, Utc::now())
        })
        .await?;
    Ok(match result {
        Ok(versions) => found(&state, &signed, StatusCode::OK, &id_number, &[], Some(&versions)),
        Err(broken) => found(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, &id_number, &broken, None),
    })
}

/// The search form, and what it found.
fn found(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    typed: &str,
    broken: &[FieldError],
    versions: Option<&[Version]>,
) -> HttpResponse {
    let lang = signed.lang;
    let body = html! {
        form.stack method="post" action="/certificates/" novalidate {
            input type="hidden" name=(FORM_TOKEN) value=(signed.session.csrf);
            (layout::field("id_number", lang.pick("公民身份号码", "Citizen ID number"), "text", typed,
                layout::broken_at(lang, broken, "id_number"), "off"))
            button type="submit" { (lang.pick("查找", "Find")) }
        }
        @if let Some(versions) = versions {
            @if versions.is_empty() {
                p.muted #none { (lang.pick("本节点没有她的证明。", "This node holds no certificate of hers.")) }
            }
            ul #found {
                @for v in versions {
                    li { a href=(format!("/certificates/{}", v.certificate_id)) {
                        (lang.pick("证明 ", "Certificate ")) (v.certificate_id) " · v" (v.version) " · " (status_words(lang, v.status))
                    } }
                }
            }
        }
    };
    page(status, home_frame(state, signed, lang.pick("查找婚育证明", "Find a certificate"), &body))
}

/// `GET /certificates/{id}`.
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let history = read(&state, &signed, id.into_inner()).await?;
    Ok(lineage(&state, &signed, StatusCode::OK, &history, "", &[]))
}

/// The certificate `id` with its versions, read as `signed` reads it (audited).
pub(super) async fn read(state: &web::Data<AppState>, signed: &Signed, id: String) -> Result<History, PageError> {
    signed
        .perform(state, Action::ShowCertificate, move |core, who| certificates::history(core, &id, &who, Utc::now()))
        .await
}

/// Every version with its status, and the forms of what may be done with the newest.
fn lineage(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    history: &History,
    reason: &str,
    broken: &[FieldError],
) -> HttpResponse {
    let lang = signed.lang;
    let newest = history.versions.last();
    let revoked = newest.is_some_and(|v| v.status == crate::domain::verification::VerificationStatus::Revoked);
    let (version, issued_at, valid_until, state_label) = (
        lang.pick("版本", "Version"),
        lang.pick("签发", "Issued"),
        lang.pick("有效期至", "Valid until"),
        lang.pick("状态", "Status"),
    );
    let body = html! {
        @if let Some(shown) = serde_json::from_value::<super::scan::ShownCertificate>(history.certificate.clone()).ok() {
            (super::scan::certificate_facts(lang, &shown, None))
        }
        table.cards #versions {
            thead { tr { th scope="col" { (version) } th scope="col" { (issued_at) } th scope="col" { (valid_until) } th scope="col" { (state_label) } } }
            tbody {
                @for v in &history.versions {
                    tr data-status=(v.status.as_str()) {
                        td data-label=(version) { "v" (v.version) }
                        td data-label=(issued_at) { (v.issued_at.format("%Y-%m-%d")) }
                        td data-label=(valid_until) { (v.valid_until) }
                        td data-label=(state_label) { (status_words(lang, v.status)) }
                    }
                }
            }
        }
        @if revoked {
            p.notice.bad #revoked role="status" { (lang.pick("此证明已注销。", "This certificate is revoked.")) }
        } @else {
            p.actions {
                a.button href=(format!("/certificates/{}/print", history.id)) { (lang.pick("打印纸质证明", "Print the paper certificate")) }
                " " a.button href=(format!("/certificates/{}/renew", history.id)) { (lang.pick("换发", "Renew")) }
            }
            h2 { (lang.pick("注销", "Revoke")) }
            form.stack method="post" action=(format!("/certificates/{}/revoke", history.id)) {
                input type="hidden" name=(FORM_TOKEN) value=(signed.session.csrf);
                (layout::text_area("reason", lang.pick("注销原因", "Why it is revoked"), reason, layout::broken_at(lang, broken, "reason")))
                button.danger type="submit" { (lang.pick("注销此证明", "Revoke this certificate")) }
            }
        }
    };
    page(status, home_frame(state, signed, lang.pick("婚育证明", "Certificate"), &body))
}

/// `GET /certificates/{id}/renew`: the issue form, filled with what the certificate says now.
pub async fn renew_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let id = id.into_inner();
    signed.actor(&state, Action::RenewCertificate).await?;
    let history = read(&state, &signed, id.clone()).await?;
    Ok(shown(&state, &signed, FormFor::Renew(&id), StatusCode::OK, &typed_of(&history.certificate), &[]))
}

/// `POST /certificates/{id}/renew`: the next version (换发), or the form again with each broken
/// rule by its field.
pub async fn renew(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let typed: HashMap<String, String> = form.into_inner().into_iter().collect();
    let token = typed.get(FORM_TOKEN).map_or("", String::as_str);
    let (id, draft) = (id.into_inner(), draft_of(&typed));
    let renewing = id.clone();
    let result = signed
        .submit(&state, token, Action::RenewCertificate, move |core, who| {
            certificates::renew(core, &renewing, Some(draft), &who, Utc::now())
        })
        .await?;
    match result {
        Ok(version) => Ok(page(StatusCode::CREATED, issued(&state, &signed, &version))),
        Err(broken) => {
            Ok(shown(&state, &signed, FormFor::Renew(&id), StatusCode::UNPROCESSABLE_ENTITY, &typed, &broken))
        }
    }
}

/// The revocation as posted.
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    reason: String,
    form_token: String,
}

/// `POST /certificates/{id}/revoke`: revokes (注销) the newest version; the certificate's page
/// after it, or with the rule the reason broke.
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<RevokeForm>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let RevokeForm { reason, form_token } = form.into_inner();
    let id = id.into_inner();
    let (revoking, why) = (id.clone(), reason.clone());
    let result = signed
        .submit(&state, &form_token, Action::RevokeCertificate, move |core, who| {
            certificates::revoke(core, &revoking, &why, &who, Utc::now())
        })
        .await?;
    let history = read(&state, &signed, id).await?;
    Ok(match result {
        Ok(_) => lineage(&state, &signed, StatusCode::OK, &history, "", &[]),
        Err(broken) => lineage(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, &history, &reason, &broken),
    })
}
