//! Signing in and out, and the language switch.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError as _, web};
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::layout::{self, LANG_COOKIE, Lang};
use super::{
    FORM_COOKIE, FORM_TOKEN, PageError, PageSettings, SESSION_COOKIE, cookie, fresh_token, page, secret_check,
    see_other, signed, with_form_cookie,
};
use crate::domain::error::ErrorCode;
use crate::http::{ApiError, AppState, Requester};
use crate::service::accounts::{self, SIGN_IN, SIGN_OUT};

/// The sign-in form as posted.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    name: String,
    password: String,
    form_token: String,
}

/// The sign-in page, with `refusal` shown if a try failed; a fresh form token in its cookie.
pub fn sign_in_page(
    state: &AppState,
    settings: &PageSettings,
    lang: Lang,
    status: StatusCode,
    name: &str,
    refusal: Option<&ApiError>,
) -> Result<HttpResponse, PageError> {
    let token = fresh_token(lang)?;
    let body = html! {
        div.narrow {
            @if let Some(refusal) = refusal {
                div.notice.bad role="alert" { (lang.pick(&refusal.problem().message_zh, &refusal.problem().message_en)) }
            }
            form.stack method="post" action="/sign-in" {
                input type="hidden" name=(FORM_TOKEN) value=(&token);
                (layout::field("name", lang.pick("账号", "Account name"), "text", name, None, "username"))
                (layout::field("password", lang.pick("密码", "Password"), "password", "", None, "current-password"))
                button type="submit" { (lang.pick("登录", "Sign in")) }
            }
            p.muted { (lang.pick("账号由本节点管理员开设。连续5次密码错误，账号锁定15分钟。",
                "Accounts are opened by this node's administrator. Five wrong passwords in a row lock an account for 15 minutes.")) }
            p { a href="/me/" { (lang.pick("持证人本人查询（凭证明上的本人查询码）", "Holders: see your own record (with the code on your certificate)")) } }
        }
    };
    let title = lang.pick("登录", "Sign in");
    let response = page(status, layout::frame(lang, title, &state.core.identity.name, None, &body));
    with_form_cookie(response, settings, token, lang)
}

/// `POST /sign-in`: a session cookie and the home page, or the form again with the refusal.
pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    settings: web::Data<PageSettings>,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of(&req);
    let SignInForm { name, password, form_token } = form.into_inner();
    let requester = Requester::of_session(&req);
    let permit = match secret_check(&req, &state, &form_token, SIGN_IN).await {
        Ok(permit) => permit,
        Err(refusal) => return sign_in_page(&state, &settings, lang, refusal.status_code(), &name, Some(&refusal)),
    };
    let (store, request_id, hours) =
        (state.core.store.clone(), requester.request_id().to_owned(), settings.session_hours);
    let typed = name.clone();
    let result =
        web::block(move || accounts::sign_in(&store, &request_id, &typed, &password, Utc::now().naive_utc(), hours))
            .await
            .map_err(|e| PageError::new(e.into(), lang))?;
    drop(permit);
    match result {
        Ok(signed_in) => {
            let mut response = see_other("/");
            let session = cookie(&settings, SESSION_COOKIE, signed_in.token);
            let mut spent = cookie(&settings, FORM_COOKIE, String::new());
            spent.make_removal();
            for c in [session, spent] {
                response.add_cookie(&c).map_err(|_| PageError::new(ErrorCode::Internal.into(), lang))?;
            }
            Ok(response)
        }
        Err(refused) => {
            let refusal = ApiError::from(refused);
            sign_in_page(&state, &settings, lang, refusal.status_code(), &name, Some(&refusal))
        }
    }
}

/// The sign-out form as posted.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    form_token: String,
}

/// `POST /sign-out`: closes the session and forgets its cookie.
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    settings: web::Data<PageSettings>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    signed.check_form(&state, &form.form_token, SIGN_OUT).await?;
    let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    let (store, request_id) = (state.core.store.clone(), signed.requester.request_id().to_owned());
    web::block(move || accounts::sign_out(&store, &token, &request_id, Utc::now().naive_utc()))
        .await
        .map_err(|e| signed.failed(e.into()))?
        .map_err(|e| signed.failed(e.into()))?;
    let mut response = see_other("/");
    let mut gone = cookie(&settings, SESSION_COOKIE, String::new());
    gone.make_removal();
    response.add_cookie(&gone).map_err(|_| signed.failed(ErrorCode::Internal.into()))?;
    Ok(response)
}

/// `GET /lang/{zh|en}`: remembers the language and goes home.
pub async fn language(settings: web::Data<PageSettings>, lang: web::Path<String>) -> HttpResponse {
    let value = if lang.as_str() == "en" { "en" } else { "zh" };
    let mut response = see_other("/");
    let chosen: Cookie<'_> = cookie(&settings, LANG_COOKIE, value.to_owned());
    if response.add_cookie(&chosen).is_err() {
        return see_other("/");
    }
    response
}
