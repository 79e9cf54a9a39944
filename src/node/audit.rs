//! Who acts, and how the audit log names the persons acted on.

use chrono::{DateTime, Utc};

use crate::domain::access::Action;
use crate::domain::role::Role;
use crate::seal::chain::subject_key;
use crate::store::audit::NewAudit;

/// An authenticated API caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Id of the API key (recorded as the actor of every write).
    pub key_id: String,
    pub role: Role,
}

/// Who acts, in which request and why: what every audit entry records.
#[derive(Debug, Clone)]
pub struct Actor {
    pub caller: Caller,
    pub request_id: String,
    pub purpose: String,
}

impl Actor {
    /// The start of an audit entry for this actor taking `action` about the person `subject`
    /// names and the record `object` (the outcome is filled in when known).
    pub fn entry(&self, action: Action, subject: Option<String>, object: Option<&str>, now: DateTime<Utc>) -> NewAudit {
        NewAudit {
            at: now.naive_utc(),
            request_id: self.request_id.clone(),
            actor: self.caller.key_id.clone(),
            role: self.caller.role.as_str().into(),
            action: action.name(),
            subject,
            object: object.map(str::to_owned),
            purpose: self.purpose.clone(),
            outcome: String::new(),
        }
    }
}

/// The node's secret that keys the hashes naming persons in the audit log and the outbox.
#[derive(Clone)]
pub struct AuditKey(Vec<u8>);

impl AuditKey {
    /// The key of these bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The keyed hash that names the person with this ID number.
    pub fn subject(&self, id_number: &str) -> String {
        subject_key(&self.0, id_number)
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(***)")
    }
}
