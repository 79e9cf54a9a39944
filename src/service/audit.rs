//! Oversight (审计): the audit log, for admins and auditors; persons appear only as keyed hashes.

use super::ServiceError;
use crate::node::NodeCore;
use crate::store::audit::{self, AuditFilter, AuditRow};

/// Audit entries matching `filter`, in chain order.
pub fn entries(core: &NodeCore, filter: &AuditFilter) -> Result<Vec<AuditRow>, ServiceError> {
    Ok(core.store.read(|conn| audit::list(conn, filter))?)
}
