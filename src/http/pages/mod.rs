//! Pages for people (zh-CN first, English on request): server-rendered HTML over the same services
//! as the JSON API, signed in with an account and a session cookie, every form carrying its
//! session's token. A group of routes of its own, which `[pages] enabled = false` leaves out.
//!
//! Every page answers with a strict Content-Security-Policy (scripts and styles from this origin
//! only, none inline), is never cached, and names no person in its URL.

mod accounts;
mod assets;
mod books;
mod certificates;
mod corrections;
mod holder;
mod home;
mod layout;
mod lineage;
mod messages;
mod reports;
mod scan;
mod sending;
mod sign_in;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::Utc;
use maud::Markup;
use subtle::ConstantTimeEq as _;

pub use layout::Lang;

use super::{ApiError, AppState, Requester, admit, perform, recorded};
use crate::domain::access::Action;
use crate::domain::error::{ErrorCode, FieldError};
use crate::node::{Actor, Caller, NodeCore};
use crate::seal::random_secret;
use crate::service::ServiceError;
use crate::service::accounts as account_service;
use crate::store::accounts::Session;

/// The cookie that holds a session's secret.
const SESSION_COOKIE: &str = "hy_session";
/// The cookie that pairs with the sign-in form's token, before there is a session (login CSRF).
const FORM_COOKIE: &str = "hy_form";
/// The form field that carries the token.
const FORM_TOKEN: &str = "form_token";

/// What the pages need of the configuration.
#[derive(Debug, Clone, Copy)]
pub struct PageSettings {
    /// Cookies are marked Secure: the API listener serves HTTPS.
    pub secure_cookies: bool,
    /// How long a session lasts.
    pub session_hours: i64,
}

/// Every page route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(home::root)))
        .service(web::resource("/sign-in").route(web::post().to(sign_in::sign_in)))
        .service(web::resource("/sign-out").route(web::post().to(sign_in::sign_out)))
        .service(web::resource("/lang/{lang}").route(web::get().to(sign_in::language)))
        .service(
            web::resource("/accounts").route(web::get().to(accounts::page_get)).route(web::post().to(accounts::create)),
        )
        .service(
            web::resource("/certificates/")
                .route(web::get().to(lineage::find_get))
                .route(web::post().to(lineage::find)),
        )
        .service(
            web::resource("/certificates/new")
                .route(web::get().to(certificates::form_get))
                .route(web::post().to(certificates::issue)),
        )
        .service(web::resource("/certificates/{id}").route(web::get().to(lineage::show)))
        .service(
            web::resource("/certificates/{id}/renew")
                .route(web::get().to(lineage::renew_get))
                .route(web::post().to(lineage::renew)),
        )
        .service(web::resource("/certificates/{id}/revoke").route(web::post().to(lineage::revoke)))
        .service(
            web::resource("/certificates/{id}/print")
                .route(web::get().to(certificates::print))
                .route(web::post().to(certificates::print_with_code)),
        )
        .service(web::resource("/messages/").route(web::get().to(messages::list)))
        .service(
            web::resource("/messages/{id}/reply")
                .route(web::get().to(messages::form_get))
                .route(web::post().to(messages::reply)),
        )
        .service(
            web::resource("/corrections/{id}")
                .route(web::get().to(corrections::form_get))
                .route(web::post().to(corrections::answer)),
        )
        .service(web::resource("/me/").route(web::get().to(holder::page_get)).route(web::post().to(holder::open)))
        .service(web::resource("/me/correction").route(web::post().to(holder::correction)))
        .service(
            web::resource("/departures/new")
                .route(web::get().to(sending::departure_get))
                .route(web::post().to(sending::departure)),
        )
        .service(
            web::resource("/inquiries/new")
                .route(web::get().to(sending::inquiry_get))
                .route(web::post().to(sending::inquiry)),
        )
        .service(web::resource("/books/{book}").route(web::get().to(books::page_get)))
        .service(web::resource("/books/{book}/download").route(web::get().to(books::download)))
        .service(web::resource("/reports/").route(web::get().to(reports::page_get)))
        .service(web::resource("/reports/assessment.xlsx").route(web::get().to(reports::workbook)))
        .service(web::resource("/scan/").route(web::get().to(scan::page_get)).route(web::post().to(scan::verify)))
        .service(web::resource("/scan/arrival").route(web::post().to(scan::arrival)))
        .service(web::resource("/scan/trust.json").route(web::get().to(scan::trust)))
        .service(web::resource("/scan/sw.js").route(web::get().to(scan::service_worker)))
        .service(web::resource("/assets/{name}").route(web::get().to(assets::asset)));
}

/// The security headers of every page.
fn secured(mut response: HttpResponse) -> HttpResponse {
    const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                       media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A page, never cached: it may name persons.
fn page(status: StatusCode, markup: Markup) -> HttpResponse {
    secured(
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(markup.into_string()),
    )
}

/// 303 to `to` (after a form, so that reloading does not post it again).
fn see_other(to: &str) -> HttpResponse {
    secured(HttpResponse::SeeOther().insert_header((header::LOCATION, to.to_owned())).finish())
}

/// A cookie of the pages: HttpOnly, SameSite=Strict, Secure under TLS, for the whole site.
fn cookie<'a>(settings: &PageSettings, name: &'a str, value: String) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(settings.secure_cookies)
        .finish()
}

/// A refusal or failure, shown as a page with its code and messages.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PageError(ApiError, Lang);

impl PageError {
    /// `error`, shown in `lang`.
    pub fn new(error: ApiError, lang: Lang) -> Self {
        Self(error, lang)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let problem = self.0.problem();
        let lang = self.1;
        let message = lang.pick(&problem.message_zh, &problem.message_en);
        page(
            status,
            layout::bare(
                lang,
                lang.pick("出错了", "Something went wrong"),
                &layout::problem(lang, message, &problem.code),
            ),
        )
    }
}

/// An answer as posted: to a message received, or to her correction request.
#[derive(Debug, serde::Deserialize)]
pub struct AnswerForm {
    answer: String,
    form_token: String,
}

/// A person signed in, on this request.
pub struct Signed {
    pub session: Session,
    pub lang: Lang,
    requester: Requester,
}

impl Signed {
    /// Whom this person acts as: the account's own key row, with its role.
    fn caller(&self) -> Caller {
        Caller { key_id: self.session.actor_id.clone(), role: self.session.role }
    }

    /// The actor this person is for `action`, if the role may take it; a refusal is recorded.
    async fn actor(&self, state: &web::Data<AppState>, action: Action) -> Result<Actor, PageError> {
        admit(state, self.caller(), self.requester.clone(), action).await.map_err(|e| self.failed(e))
    }

    /// Admits this person to `action` and runs `work` as the API runs it: on the blocking pool,
    /// its refusal recorded and shown as a page.
    async fn perform<T, F>(&self, state: &web::Data<AppState>, action: Action, work: F) -> Result<T, PageError>
    where
        T: Send + 'static,
        F: FnOnce(&NodeCore, Actor) -> Result<T, ServiceError> + Send + 'static,
    {
        let who = self.actor(state, action).await?;
        perform(state, who, action, work).await.map_err(|e| self.failed(e))
    }

    /// Refuses a form for `action` whose token is not this session's, and records the refusal.
    async fn check_form(
        &self,
        state: &web::Data<AppState>,
        token: &str,
        action: &'static str,
    ) -> Result<(), PageError> {
        if bool::from(token.as_bytes().ct_eq(self.session.csrf.as_bytes())) {
            return Ok(());
        }
        let entry = self.requester.refused_entry(action, Some(&self.caller()), Some("form".into()));
        Err(PageError(recorded(state, entry, ErrorCode::FormToken.into()).await, self.lang))
    }

    /// Takes a form for `action`: its token checked, then `work` performed as the API performs it;
    /// the rules it broke come back to be shown beside their fields.
    async fn submit<T, F>(
        &self,
        state: &web::Data<AppState>,
        form_token: &str,
        action: Action,
        work: F,
    ) -> Result<Result<T, Vec<FieldError>>, PageError>
    where
        T: Send + 'static,
        F: FnOnce(&NodeCore, Actor) -> Result<T, ServiceError> + Send + 'static,
    {
        self.check_form(state, form_token, action.name()).await?;
        self.perform(state, action, move |core, who| kept_for_the_form(work(core, who))).await
    }

    /// An error of this person's request, as a page.
    fn failed(&self, error: ApiError) -> PageError {
        PageError(error, self.lang)
    }
}

/// The person signed in on `req`, if any: the session cookie names an open session of a usable
/// account.
async fn signed(req: &HttpRequest, state: &web::Data<AppState>) -> Result<Option<Signed>, PageError> {
    let lang = Lang::of(req);
    let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()) else { return Ok(None) };
    let store = state.core.store.clone();
    let now = Utc::now().naive_utc();
    let found = web::block(move || account_service::session(&store, &token, now))
        .await
        .map_err(|e| PageError(e.into(), lang))?
        .map_err(|e| PageError(e.into(), lang))?;
    Ok(found.map(|session| Signed { session, lang, requester: Requester::of_session(req) }))
}

/// A form's outcome: the rules it broke stay with the form, to be shown beside their fields; any
/// other refusal is the page's.
fn kept_for_the_form<T>(result: Result<T, ServiceError>) -> Result<Result<T, Vec<FieldError>>, ServiceError> {
    match result {
        Err(ServiceError::Invalid(broken)) => Ok(Err(broken)),
        other => other.map(Ok),
    }
}

/// A fresh token for a form posted without a session: it pairs with a cookie (login CSRF).
fn fresh_token(lang: Lang) -> Result<String, PageError> {
    random_secret().ok_or_else(|| PageError(ErrorCode::Internal.into(), lang))
}

/// `response` with the cookie that pairs with a form's `token`.
fn with_form_cookie(
    mut response: HttpResponse,
    settings: &PageSettings,
    token: String,
    lang: Lang,
) -> Result<HttpResponse, PageError> {
    response
        .add_cookie(&cookie(settings, FORM_COOKIE, token))
        .map_err(|_| PageError(ErrorCode::Internal.into(), lang))?;
    Ok(response)
}

/// Lets a form that checks a typed secret without a session (a password, a holder code) go on to
/// the check, holding one of the checks a core may run at once (argon2 holds 19 MiB): its token
/// pairs with its cookie, and its client address is under the limit. A refusal is recorded under
/// `action`.
async fn secret_check<'a>(
    req: &HttpRequest,
    state: &'a web::Data<AppState>,
    form_token: &str,
    action: &'static str,
) -> Result<tokio::sync::SemaphorePermit<'a>, ApiError> {
    let requester = Requester::of_session(req);
    let paired = req.cookie(FORM_COOKIE).is_some_and(|c| bool::from(c.value().as_bytes().ct_eq(form_token.as_bytes())));
    let client = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    let refusal = if !paired {
        ErrorCode::FormToken
    } else if let Err(wait) = state.limits.check_sign_in(&client) {
        ErrorCode::RateLimited { retry_after_seconds: wait.as_secs().max(1) }
    } else {
        return state.password_checks.acquire().await.map_err(|_| ErrorCode::Internal.into());
    };
    Err(recorded(state, requester.refused_entry(action, None, None), refusal.into()).await)
}
