//! Who is calling: bearer API keys resolved to a role and checked against the action, and the
//! per-key limits on reads of personal data.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use governor::Quota;
use governor::clock::{Clock as _, DefaultClock};

use crate::config::LimitSettings;
use crate::domain::access::Action;
use crate::domain::role::Role;
use crate::node::Caller;
use crate::store::api_keys::{self, hash_secret};
use crate::store::{Store, StoreError};

/// Resolved keys kept at most; the cache is emptied when full (keys are few, so this is rare).
const KEY_CACHE_MAX: usize = 10_000;

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

/// Refuses `caller` unless its role may take `action`.
pub fn permit(caller: &Caller, action: Action) -> Result<(), AccessError> {
    if action.roles().contains(&caller.role) { Ok(()) } else { Err(AccessError::Forbidden(caller.role)) }
}

struct Cached {
    caller: Caller,
    fetched: Instant,
    expires_at: Option<DateTime<Utc>>,
}

/// Resolves bearer keys, remembering valid ones for a few seconds so that the hot path
/// (verification) needs no database round trip. Unknown keys are never cached.
pub struct KeyResolver {
    cache: RwLock<HashMap<String, Cached>>,
    /// How long a resolved key is trusted: the longest a key revoked elsewhere may still be used.
    ttl: Duration,
}

impl KeyResolver {
    /// A resolver trusting resolved keys for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self { cache: RwLock::default(), ttl }
    }

    /// The caller for `secret` if it was resolved recently and is still within its expiry.
    pub fn cached(&self, secret: &str, now: DateTime<Utc>) -> Option<Caller> {
        let hash = hash_secret(secret);
        let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
        cache
            .get(&hash)
            .filter(|c| c.fetched.elapsed() < self.ttl && c.expires_at.is_none_or(|t| now < t))
            .map(|c| c.caller.clone())
    }

    /// Resolves `secret` against the store (after [`Self::cached`] missed) and remembers it;
    /// expired, revoked and unknown keys are all "unauthenticated".
    pub fn authenticate(&self, store: &Store, secret: &str, now: DateTime<Utc>) -> Result<Caller, AccessError> {
        let hash = hash_secret(secret);
        let row = store.read(|conn| api_keys::find_by_hash(conn, &hash))?;
        let row = row.filter(|r| r.is_usable(now.naive_utc())).ok_or(AccessError::Unauthenticated)?;
        let role = row.role().ok_or(AccessError::Unauthenticated)?;
        let caller = Caller { key_id: row.id, role };
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= KEY_CACHE_MAX {
            cache.clear();
        }
        let expires_at = row.expires_at.map(|t| t.and_utc());
        cache.insert(hash, Cached { caller: caller.clone(), fetched: Instant::now(), expires_at });
        Ok(caller)
    }
}

type Limiter = governor::DefaultKeyedRateLimiter<String>;

/// Per-key request limits on the actions that read personal data (GCRA, burst = the per-minute rate).
pub struct RateLimits {
    verify: Limiter,
    confirm: Limiter,
    lookup: Limiter,
    messages: Limiter,
    ledgers: Limiter,
    /// Sign-ins per client address: the account lock-out bounds guesses at one account, this
    /// bounds one address trying many.
    sign_in: Limiter,
}

impl RateLimits {
    /// Limits from the configuration.
    pub fn new(settings: &LimitSettings) -> Self {
        let per_minute = |n: u32| Limiter::keyed(Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)));
        Self {
            verify: per_minute(settings.verify_per_minute),
            confirm: per_minute(settings.confirm_per_minute),
            lookup: per_minute(settings.lookup_per_minute),
            messages: per_minute(settings.messages_per_minute),
            ledgers: per_minute(settings.ledgers_per_minute),
            sign_in: per_minute(settings.sign_in_per_minute),
        }
    }

    /// Counts a request of `key_id`; when over the limit, how long to wait.
    pub fn check(&self, action: Action, key_id: &str) -> Result<(), Duration> {
        let limiter = match action {
            Action::Verify => &self.verify,
            Action::ConfirmEmployment => &self.confirm,
            Action::Lookup => &self.lookup,
            Action::ListMessages => &self.messages,
            Action::ReadLedger | Action::ReadWorklist => &self.ledgers,
            _ => return Ok(()),
        };
        wait(limiter, key_id)
    }

    /// Counts a sign-in from `client`; when over the limit, how long to wait.
    pub fn check_sign_in(&self, client: &str) -> Result<(), Duration> {
        wait(&self.sign_in, client)
    }
}

/// Counts a request of `key` on `limiter`; when over the limit, how long to wait.
fn wait(limiter: &Limiter, key: &str) -> Result<(), Duration> {
    limiter.check_key(&key.to_owned()).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::node::testing::{ORIGIN, lone_core};

    #[test]
    fn a_key_resolves_to_its_role_until_it_is_revoked_and_its_cache_entry_ages() {
        let (_registry, core) = lone_core(ORIGIN);
        let now = Utc::now();
        let (row, secret) =
            core.store.write(move |conn| api_keys::create(conn, Role::Worker, "t", now.naive_utc(), None)).unwrap();
        let resolver = KeyResolver::new(Duration::from_millis(200));
        assert!(resolver.cached(&secret, now).is_none(), "resolved before it was asked for");
        let caller = resolver.authenticate(&core.store, &secret, now).unwrap();
        assert_eq!((caller.key_id.as_str(), caller.role), (row.id.as_str(), Role::Worker));
        assert!(resolver.cached(&secret, now).is_some());

        let id = row.id.clone();
        core.store.write(move |conn| api_keys::revoke(conn, &id, now.naive_utc())).unwrap();
        std::thread::sleep(Duration::from_millis(250));
        assert!(resolver.cached(&secret, now).is_none(), "a revoked key outlived its cache entry");
        assert!(matches!(resolver.authenticate(&core.store, &secret, now), Err(AccessError::Unauthenticated)));
        assert!(matches!(
            resolver.authenticate(&core.store, "hy_worker_unknown", now),
            Err(AccessError::Unauthenticated)
        ));
    }

    #[test]
    fn a_role_may_take_only_its_actions() {
        let worker = Caller { key_id: "k".into(), role: Role::Worker };
        assert!(permit(&worker, Action::Verify).is_ok());
        assert!(matches!(permit(&worker, Action::IssueCertificate), Err(AccessError::Forbidden(Role::Worker))));
    }

    #[test]
    fn reads_of_personal_data_are_limited_per_key() {
        let limits = RateLimits::new(&LimitSettings {
            verify_per_minute: 2,
            messages_per_minute: 1,
            ..LimitSettings::default()
        });
        assert!(limits.check(Action::Verify, "a").is_ok());
        assert!(limits.check(Action::Verify, "a").is_ok());
        assert!(limits.check(Action::Verify, "a").is_err(), "a third verification within the minute");
        assert!(limits.check(Action::Verify, "b").is_ok(), "another key was held to the first one's limit");
        assert!(limits.check(Action::IssueCertificate, "a").is_ok(), "issuance is not limited");
        assert!(limits.check(Action::ListMessages, "a").is_ok());
        assert!(limits.check(Action::ListMessages, "a").is_err(), "listing messages, a bulk export, is unlimited");
    }
}
