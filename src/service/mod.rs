//! What users do, one module per capability, as functions over the node core. Each checks its
//! input with the domain rules, writes one transaction (business rows, audit entry and outbox
//! message together) or one audited read, and returns domain values; the HTTP edge presents them.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod cards;
pub mod certificates;
pub mod flows;
pub mod holders;
pub mod ledgers;
pub mod lookup;
pub mod messages;
pub mod reports;
pub mod verification;
pub mod worklists;

#[cfg(test)]
pub(crate) mod testing;

use chrono::{DateTime, Utc};

use crate::domain::calendar::local_date;
use crate::domain::error::{Coded as _, ErrorCode, FieldError};
use crate::domain::id_number::{self, IdNumber};
use crate::exchange::Refusal;
use crate::node::{CoreError, NodeCore};
use crate::store::StoreError;

/// Why a service refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input breaks these rules.
    #[error("the request breaks {}", broken(.0))]
    Invalid(Vec<FieldError>),
    /// The request is refused as a whole: not found, in conflict with what is stored, …
    #[error("{0}")]
    Refused(ErrorCode),
    /// Another node did not answer; `detail` is for the log.
    #[error("node {peer} did not answer: {detail}")]
    PeerUnavailable { peer: String, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A record this node made breaks the contract: a defect.
    #[error("a produced payload breaks the contract: {0}")]
    Contract(String),
    /// The node cannot do the work now (a worker thread failed, its data files are broken).
    #[error("the node could not do the work: {0}")]
    Unavailable(String),
}

/// The rules broken, by field and code (never the value given).
fn broken(errors: &[FieldError]) -> String {
    let each: Vec<String> = errors.iter().map(|e| format!("{}: {} ({})", e.field, e.code, e.message_en)).collect();
    each.join("; ")
}

/// Why this node did not answer another node's on-line question (a lookup, a status question).
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<CoreError> for ServiceError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Store(e) => Self::Store(e),
            CoreError::Contract(violation) => Self::Contract(violation),
        }
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Refuses the whole request with `code`.
pub(crate) fn refused<T>(code: ErrorCode) -> Result<T, ServiceError> {
    Err(ServiceError::Refused(code))
}

/// An ID number checked as of `now`'s day; a bad one is an invalid `id_number` field.
pub(crate) fn parse_id_number(id_number: &str, now: DateTime<Utc>) -> Result<IdNumber, ServiceError> {
    id_number::parse(id_number, local_date(now)).map_err(|e| ServiceError::Invalid(vec![e.to_field_error("id_number")]))
}

/// The active directory node `code`, which must not be this node; else the `field` is invalid.
pub(crate) fn active_peer(core: &NodeCore, field: &str, code: &str) -> Result<String, ServiceError> {
    match core.trust.current().active_node(code) {
        Some(entry) if entry.code != core.code() => Ok(entry.code.clone()),
        _ => Err(ServiceError::Invalid(vec![ErrorCode::UnknownNode.at(field)])),
    }
}

/// Runs store work off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ServiceError::Unavailable(format!("store task: {e}")))?
}
