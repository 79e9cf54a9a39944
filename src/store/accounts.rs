//! People's accounts and their signed-in sessions (the pages). An account acts through its own
//! row of `api_keys`, whose secret is thrown away: writes and audit entries name it as they name a
//! key, and revoking that row disables the account.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::api_keys::{self, hash_secret};
use super::schema::{accounts, api_keys as keys, sessions};
use super::{DbConn, StoreError};
use crate::domain::account::{AccountName, Attempts};
use crate::domain::role::Role;

/// An account as sign-in reads it.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    /// The `api_keys` row it acts through.
    pub actor_id: String,
    pub role: Role,
    /// Whether its `api_keys` row is neither revoked nor expired.
    pub usable: bool,
    /// The argon2id PHC string.
    pub password_hash: String,
    pub attempts: Attempts,
    pub created_at: NaiveDateTime,
}

/// A signed-in session, with the account behind it.
#[derive(Debug, Clone)]
pub struct Session {
    pub account: String,
    pub actor_id: String,
    pub role: Role,
    /// The token every form of this session carries.
    pub csrf: String,
    pub expires_at: NaiveDateTime,
}

/// An account's row, with the state of the `api_keys` row it acts through.
#[derive(Queryable, Selectable)]
#[diesel(table_name = accounts)]
struct AccountRow {
    name: String,
    actor_id: String,
    password_hash: String,
    failures: i32,
    locked_until: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    #[diesel(embed)]
    key: KeyState,
}

/// What of an `api_keys` row decides an account's role and whether it may sign in.
#[derive(Queryable, Selectable)]
#[diesel(table_name = keys)]
struct KeyState {
    role: String,
    expires_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

/// An account read back, at `now`; a role this build does not know is a corrupt row.
fn account(row: AccountRow, now: NaiveDateTime) -> Result<Account, StoreError> {
    let AccountRow { name, actor_id, password_hash, failures, locked_until, created_at, key } = row;
    let role = account_role(&name, &key.role)?;
    Ok(Account {
        usable: key.revoked_at.is_none() && key.expires_at.is_none_or(|t| now < t),
        name,
        actor_id,
        role,
        password_hash,
        attempts: Attempts { failures, locked_until },
        created_at,
    })
}

/// The role of account `name`; one this build does not know is a corrupt row.
fn account_role(name: &str, role: &str) -> Result<Role, StoreError> {
    Role::parse(role).ok_or_else(|| StoreError::Corrupt(format!("account {name} has an unknown role")))
}

/// Creates an account for `role` with its own actor row; a taken name is a unique violation.
pub fn create(
    conn: &mut DbConn,
    name: &AccountName,
    role: Role,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<String, StoreError> {
    let (actor, _secret_nobody_holds) = api_keys::create(conn, role, &format!("account {}", name.as_str()), now, None)?;
    diesel::insert_into(accounts::table)
        .values((
            accounts::name.eq(name.as_str()),
            accounts::actor_id.eq(&actor.id),
            accounts::password_hash.eq(password_hash),
            accounts::failures.eq(0),
            accounts::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(actor.id)
}

/// The account called `name`, as of `now`.
pub fn find(conn: &mut DbConn, name: &str, now: NaiveDateTime) -> Result<Option<Account>, StoreError> {
    let row = accounts::table
        .inner_join(keys::table)
        .filter(accounts::name.eq(name))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|row| account(row, now)).transpose()
}

/// Every account, by name, as of `now`.
pub fn list(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<Account>, StoreError> {
    let rows = accounts::table
        .inner_join(keys::table)
        .order(accounts::name.asc())
        .select(AccountRow::as_select())
        .load(conn)?;
    rows.into_iter().map(|row| account(row, now)).collect()
}

/// Counts a wrong password of account `name` in one statement (two at once are two) and gives
/// the count it reached, with the lock as it stood.
pub fn count_failure(conn: &mut DbConn, name: &str) -> Result<Attempts, StoreError> {
    let (failures, locked_until) = diesel::update(accounts::table.find(name))
        .set(accounts::failures.eq(accounts::failures + 1))
        .returning((accounts::failures, accounts::locked_until))
        .get_result(conn)?;
    Ok(Attempts { failures, locked_until })
}

/// Stores an account's failed sign-ins.
pub fn set_attempts(conn: &mut DbConn, name: &str, attempts: Attempts) -> Result<(), StoreError> {
    diesel::update(accounts::table.find(name))
        .set((accounts::failures.eq(attempts.failures), accounts::locked_until.eq(attempts.locked_until)))
        .execute(conn)?;
    Ok(())
}

/// Opens a session of `account` for the cookie `token`, and drops the account's expired ones.
pub fn open_session(
    conn: &mut DbConn,
    account: &str,
    token: &str,
    csrf: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::delete(sessions::table.filter(sessions::account.eq(account)).filter(sessions::expires_at.le(now)))
        .execute(conn)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(hash_secret(token)),
            sessions::account.eq(account),
            sessions::csrf.eq(csrf),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session of the cookie `token`, if it is open at `now` and its account usable.
pub fn session(conn: &mut DbConn, token: &str, now: NaiveDateTime) -> Result<Option<Session>, StoreError> {
    let row = sessions::table
        .inner_join(accounts::table.inner_join(keys::table))
        .filter(sessions::token_hash.eq(hash_secret(token)))
        .filter(sessions::expires_at.gt(now))
        .filter(keys::revoked_at.is_null())
        .filter(keys::expires_at.is_null().or(keys::expires_at.gt(now)))
        .select((sessions::account, accounts::actor_id, keys::role, sessions::csrf, sessions::expires_at))
        .first::<(String, String, String, String, NaiveDateTime)>(conn)
        .optional()?;
    let Some((account, actor_id, role, csrf, expires_at)) = row else { return Ok(None) };
    let role = account_role(&account, &role)?;
    Ok(Some(Session { account, actor_id, role, csrf, expires_at }))
}

/// Closes the session of the cookie `token`; false when none was open.
pub fn close_session(conn: &mut DbConn, token: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(sessions::table.find(hash_secret(token))).execute(conn)? == 1)
}
