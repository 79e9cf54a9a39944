//! Bearer API keys: only a SHA-256 of each key is stored; the key itself is shown once.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::api_keys;
use super::{DbConn, StoreError};
use crate::domain::role::Role;
use crate::seal::{hex, random_secret};

/// A stored API key.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub role: String,
    pub label: String,
    pub key_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiKeyRow {
    /// The role, if the stored name is one this build knows.
    pub fn role(&self) -> Option<Role> {
        Role::parse(&self.role)
    }

    /// Whether the key may be used at `now`.
    pub fn is_usable(&self, now: NaiveDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| now < t)
    }
}

/// SHA-256 of a presented key, hex-encoded: what is stored and looked up.
pub fn hash_secret(secret: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, secret.as_bytes()).as_ref())
}

/// Creates a key for `role`; returns the stored row and the secret, which is not kept.
pub fn create(
    conn: &mut DbConn,
    role: Role,
    label: &str,
    now: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
) -> Result<(ApiKeyRow, String), StoreError> {
    let random = random_secret().ok_or_else(|| StoreError::Corrupt("system random source failed".into()))?;
    let secret = format!("hy_{}_{random}", role.as_str());
    let row = ApiKeyRow {
        id: uuid::Uuid::now_v7().to_string(),
        role: role.as_str().into(),
        label: label.into(),
        key_hash: hash_secret(&secret),
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    diesel::insert_into(api_keys::table).values(&row).execute(conn)?;
    Ok((row, secret))
}

/// The key whose hash is `key_hash`, if any.
pub fn find_by_hash(conn: &mut DbConn, key_hash: &str) -> Result<Option<ApiKeyRow>, StoreError> {
    Ok(api_keys::table.filter(api_keys::key_hash.eq(key_hash)).select(ApiKeyRow::as_select()).first(conn).optional()?)
}

/// Every key, oldest first.
pub fn list(conn: &mut DbConn) -> Result<Vec<ApiKeyRow>, StoreError> {
    Ok(api_keys::table.order(api_keys::created_at.asc()).select(ApiKeyRow::as_select()).load(conn)?)
}

/// Marks a key revoked at `at`; false when no unrevoked key has this id.
pub fn revoke(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> Result<bool, StoreError> {
    let changed = diesel::update(api_keys::table.find(id).filter(api_keys::revoked_at.is_null()))
        .set(api_keys::revoked_at.eq(at))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Sets when a key expires; false when no key has this id.
pub fn expire(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> Result<bool, StoreError> {
    let changed = diesel::update(api_keys::table.find(id)).set(api_keys::expires_at.eq(at)).execute(conn)?;
    Ok(changed == 1)
}
