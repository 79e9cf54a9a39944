//! `/accounts`: the admin's list of people's accounts, and the form that opens one.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::home::home_frame;
use super::layout::{self, Lang};
use super::{FORM_TOKEN, PageError, Signed, kept_for_the_form, page, see_other, signed};
use crate::domain::access::Action;
use crate::domain::error::FieldError;
use crate::domain::role::Role;
use crate::http::AppState;
use crate::service::accounts::{self as service};
use crate::store::accounts::Account;

/// The form as posted.
#[derive(Debug, Deserialize)]
pub struct AccountForm {
    name: String,
    role: String,
    password: String,
    form_token: String,
}

/// `GET /accounts`.
pub async fn page_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    shown(&state, &signed, StatusCode::OK, "", &[]).await
}

/// `POST /accounts`: opens the account, or shows the form again with each broken rule by its field.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    let Some(signed) = signed(&req, &state).await? else { return Ok(see_other("/")) };
    let AccountForm { name, role, password, form_token } = form.into_inner();
    signed.check_form(&state, &form_token, Action::ManageAccounts.name()).await?;
    let Some(role) = Role::parse(&role) else {
        let broken = FieldError::new("role", "account.role", "请选择角色", "choose a role");
        return shown(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, &name, &[broken]).await;
    };
    let typed = name.clone();
    let result = signed
        .perform(&state, Action::ManageAccounts, move |core, who| {
            let now = Utc::now();
            let entry = who.entry(Action::ManageAccounts, None, None, now);
            kept_for_the_form(service::create(&core.store, entry, &typed, role, &password, now.naive_utc()))
        })
        .await?;
    match result {
        Ok(_) => Ok(see_other("/accounts")),
        Err(broken) => shown(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, &name, &broken).await,
    }
}

/// The list and the form, with `broken` rules beside their fields.
async fn shown(
    state: &web::Data<AppState>,
    signed: &Signed,
    status: StatusCode,
    name: &str,
    broken: &[FieldError],
) -> Result<HttpResponse, PageError> {
    let listed = signed
        .perform(state, Action::ManageAccounts, |core, _| service::list(&core.store, Utc::now().naive_utc()))
        .await?;
    let lang = signed.lang;
    let body = html! {
        (table(lang, &listed))
        h2 { (lang.pick("开设账号", "Open an account")) }
        (form(signed, name, broken))
    };
    Ok(page(status, home_frame(state, signed, lang.pick("账号管理", "Accounts"), &body)))
}

/// The accounts, by name.
fn table(lang: Lang, listed: &[Account]) -> Markup {
    let now = Utc::now().naive_utc();
    let (name, role, created, state) = (
        lang.pick("账号", "Account"),
        lang.pick("角色", "Role"),
        lang.pick("开设时间", "Opened"),
        lang.pick("状态", "State"),
    );
    html! {
        table.cards {
            thead { tr { th scope="col" { (name) } th scope="col" { (role) } th scope="col" { (created) } th scope="col" { (state) } } }
            tbody {
                @for account in listed {
                    tr {
                        td data-label=(name) { (account.name) }
                        td data-label=(role) { (lang.role(account.role)) }
                        td data-label=(created) { (account.created_at.format("%Y-%m-%d %H:%M")) }
                        td data-label=(state) {
                            @if !account.usable { (lang.pick("已停用", "disabled")) }
                            @else if account.attempts.locked_for(now).is_some() { (lang.pick("已锁定", "locked")) }
                            @else { (lang.pick("正常", "active")) }
                        }
                    }
                }
            }
        }
    }
}

/// The form that opens an account.
fn form(signed: &Signed, name: &str, broken: &[FieldError]) -> Markup {
    let lang = signed.lang;
    let error = |field: &str| layout::broken_at(lang, broken, field);
    let role_error = error("role");
    html! {
        form.stack method="post" action="/accounts" novalidate {
            input type="hidden" name=(FORM_TOKEN) value=(signed.session.csrf);
            (layout::field("name", lang.pick("账号", "Account name"), "text", name, error("name"), "off"))
            label for="role" { (lang.pick("角色", "Role")) }
            select id="role" name="role" aria-invalid=[role_error.as_ref().map(|_| "true")] {
                @for role in [Role::Worker, Role::Officer, Role::Employer, Role::Auditor, Role::Admin] {
                    option value=(role.as_str()) { (lang.role(role)) }
                }
            }
            @if let Some(e) = &role_error { p.field-error { (e) } }
            (layout::field("password", lang.pick("初始密码（10至128个字符）", "First password (10 to 128 characters)"),
                "password", "", error("password"), "new-password"))
            button type="submit" { (lang.pick("开设", "Open the account")) }
        }
    }
}
