//! Who is calling: bearer API keys resolved to a role, and the roles each action allows.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use governor::Quota;
use governor::clock::{Clock as _, DefaultClock};

use crate::config::LimitSettings;

use crate::domain::role::Role;
use crate::store::api_keys::{self, hash_secret};
use crate::store::{Store, StoreError};

/// Resolved keys kept at most; the cache is emptied when full (keys are few, so this is rare).
const KEY_CACHE_MAX: usize = 10_000;

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

/// Every API action behind a key. [`Action::roles`] is the one place that says who may do what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `POST /api/v1/certificates`
    IssueCertificate,
    /// `GET /api/v1/certificates/{id}`
    ShowCertificate,
    /// `POST /api/v1/certificates/{id}/renew`
    RenewCertificate,
    /// `POST /api/v1/certificates/{id}/revoke`
    RevokeCertificate,
    /// `POST /api/v1/verify`: the whole certificate, personal data included.
    Verify,
    /// `POST /api/v1/employer/confirm`: valid or not, name, issuer, validity.
    ConfirmEmployment,
    /// `POST /api/v1/lookup`: a person's certificates at this node, by ID number.
    Lookup,
    /// `GET /api/v1/audit`: who accessed what; persons only as keyed hashes.
    ReadAudit,
    /// `POST /api/v1/arrivals`: register an arrival (流入登记) and notify the origin.
    RegisterArrival,
    /// `POST /api/v1/departures`: record a departure (流出) for the expected residence.
    RecordDeparture,
    /// `POST /api/v1/inquiries`: ask another node (协查).
    SendInquiry,
    /// `POST /api/v1/messages/{id}/reply`: answer an inquiry or a birth report.
    Reply,
    /// `POST /api/v1/events`: report a birth, marriage, divorce or contraception service.
    ReportEvent,
    /// `GET /api/v1/messages`: messages sent and received, with their content.
    ListMessages,
    /// `POST /api/v1/admin/directory/refresh`: fetch the trust directory now.
    RefreshDirectory,
}

impl Action {
    /// Every action, in the order of the README's role matrix.
    pub const ALL: [Action; 15] = [
        Action::IssueCertificate,
        Action::ShowCertificate,
        Action::RenewCertificate,
        Action::RevokeCertificate,
        Action::Verify,
        Action::ConfirmEmployment,
        Action::Lookup,
        Action::ReadAudit,
        Action::RegisterArrival,
        Action::RecordDeparture,
        Action::SendInquiry,
        Action::Reply,
        Action::ReportEvent,
        Action::ListMessages,
        Action::RefreshDirectory,
    ];

    /// The roles allowed to take this action.
    pub fn roles(self) -> &'static [Role] {
        match self {
            // The origin township keeps the books: only its officers write or read them whole.
            Self::IssueCertificate | Self::ShowCertificate | Self::RenewCertificate | Self::RevokeCertificate => {
                &[Role::Officer]
            }
            // 查验 and look-ups read the whole certificate: the residence worker and the origin officer.
            Self::Verify | Self::Lookup => &[Role::Worker, Role::Officer],
            // Employers see validity only, and only through the holder's presentation.
            Self::ConfirmEmployment => &[Role::Employer],
            // Oversight reads the log; it names persons only by keyed hash.
            Self::ReadAudit => &[Role::Admin, Role::Auditor],
            // The residence registers arrivals and reports events; the origin records departures.
            Self::RegisterArrival | Self::ReportEvent => &[Role::Worker],
            Self::RecordDeparture => &[Role::Officer],
            // Inquiries and answers go either way, and so does what was exchanged.
            Self::SendInquiry | Self::Reply | Self::ListMessages => &[Role::Worker, Role::Officer],
            Self::RefreshDirectory => &[Role::Admin],
        }
    }

    /// Name in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Self::IssueCertificate => "issue_certificate",
            Self::ShowCertificate => "show_certificate",
            Self::RenewCertificate => "renew_certificate",
            Self::RevokeCertificate => "revoke_certificate",
            Self::Verify => "verify",
            Self::ConfirmEmployment => "confirm_employment",
            Self::Lookup => "lookup",
            Self::ReadAudit => "read_audit",
            Self::RegisterArrival => "register_arrival",
            Self::RecordDeparture => "record_departure",
            Self::SendInquiry => "send_inquiry",
            Self::Reply => "reply",
            Self::ReportEvent => "report_event",
            Self::ListMessages => "list_messages",
            Self::RefreshDirectory => "refresh_directory",
        }
    }

    /// The purpose recorded when the caller states none.
    pub fn default_purpose(self) -> &'static str {
        match self {
            Self::IssueCertificate => "签发婚育证明 issue a certificate",
            Self::ShowCertificate => "查阅婚育证明 consult a certificate",
            Self::RenewCertificate => "换发婚育证明 renew a certificate",
            Self::RevokeCertificate => "注销婚育证明 revoke a certificate",
            Self::Verify => "查验婚育证明 verify a certificate",
            Self::ConfirmEmployment => "用人单位查验 employer confirmation",
            Self::Lookup => "查询婚育证明 look a person up",
            Self::ReadAudit => "审计 audit",
            Self::RegisterArrival => "流入登记 register an arrival",
            Self::RecordDeparture => "流出登记 record a departure",
            Self::SendInquiry => "协查 inquiry",
            Self::Reply => "答复 reply",
            Self::ReportEvent => "信息通报 report an event",
            Self::ListMessages => "查阅交换记录 read exchanged records",
            Self::RefreshDirectory => "更新信任名录 refresh the trust directory",
        }
    }
}

/// Who acts, in which request and why: what every audit entry records.
#[derive(Debug, Clone)]
pub struct Audit {
    pub caller: Caller,
    pub request_id: String,
    pub purpose: String,
}

impl Caller {
    /// Refuses the caller unless its role may take `action`.
    pub fn may(&self, action: Action) -> Result<(), AccessError> {
        if action.roles().contains(&self.role) { Ok(()) } else { Err(AccessError::Forbidden(self.role)) }
    }
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
}

impl RateLimits {
    /// Limits from the configuration.
    pub fn new(settings: &LimitSettings) -> Self {
        let per_minute = |n: u32| Limiter::keyed(Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)));
        Self {
            verify: per_minute(settings.verify_per_minute),
            confirm: per_minute(settings.confirm_per_minute),
            lookup: per_minute(settings.lookup_per_minute),
        }
    }

    /// Counts a request of `key_id`; when over the limit, how long to wait.
    pub fn check(&self, action: Action, key_id: &str) -> Result<(), Duration> {
        let limiter = match action {
            Action::Verify => &self.verify,
            Action::ConfirmEmployment => &self.confirm,
            Action::Lookup => &self.lookup,
            _ => return Ok(()),
        };
        limiter
            .check_key(&key_id.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}
