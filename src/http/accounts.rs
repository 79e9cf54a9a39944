//! People's accounts for the pages, opened by an admin (the command line opens them too).

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, Requester, authorized};
use crate::domain::access::Action;
use crate::domain::role::Role;
use crate::service::accounts;

/// An account to open.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Sign-in name: 3–32 of `a-z 0-9 . _ -`, starting with a letter.
    pub name: String,
    #[schema(value_type = String, example = "worker")]
    pub role: Role,
    /// 10–128 characters; stored only as an argon2id hash.
    pub password: String,
}

/// The account opened.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OpenedAccount {
    pub name: String,
    #[schema(value_type = String)]
    pub role: Role,
}

/// Opens an account for a person, who signs in to the pages with it.
#[utoipa::path(tag = "admin", request_body = NewAccount, security(("bearer" = [])),
    responses((status = 201, body = OpenedAccount),
        (status = 422, description = "the name or the password breaks a rule, or the name is taken")))]
#[post("/api/v1/admin/accounts")]
pub async fn create(
    state: web::Data<AppState>,
    requester: Requester,
    body: web::Json<NewAccount>,
) -> Result<HttpResponse, ApiError> {
    let NewAccount { name, role, password } = body.into_inner();
    let name = authorized(&state, requester, Action::ManageAccounts, move |core, who| {
        let now = Utc::now();
        accounts::create(
            &core.store,
            who.entry(Action::ManageAccounts, None, None, now),
            &name,
            role,
            &password,
            now.naive_utc(),
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(OpenedAccount { name: name.as_str().to_owned(), role }))
}
