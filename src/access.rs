//! Who is calling: bearer API keys resolved to a role, and the roles each action allows.

use chrono::{DateTime, Utc};

use crate::domain::role::Role;
use crate::store::api_keys::{self, hash_secret};
use crate::store::{Store, StoreError};

/// An authenticated API caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Id of the API key (recorded as the actor of every write).
    pub key_id: String,
    pub role: Role,
}

/// Why a caller is refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("missing or unknown API key")]
    Unauthenticated,
    #[error("role {0} may not do this")]
    Forbidden(Role),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Resolves a presented bearer key; expired, revoked and unknown keys are all "unauthenticated".
pub fn authenticate(store: &Store, secret: &str, now: DateTime<Utc>) -> Result<Caller, AccessError> {
    let hash = hash_secret(secret);
    let row = store.read(|conn| api_keys::find_by_hash(conn, &hash))?;
    match row {
        Some(row) if row.is_usable(now.naive_utc()) => {
            let role = row.role().ok_or(AccessError::Unauthenticated)?;
            Ok(Caller { key_id: row.id, role })
        }
        _ => Err(AccessError::Unauthenticated),
    }
}

impl Caller {
    /// Refuses the caller unless its role is one of `allowed`.
    pub fn require(&self, allowed: &[Role]) -> Result<(), AccessError> {
        if allowed.contains(&self.role) { Ok(()) } else { Err(AccessError::Forbidden(self.role)) }
    }
}
