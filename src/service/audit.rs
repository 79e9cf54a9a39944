//! Oversight (审计): the audit log, for admins and auditors; persons appear only as keyed hashes.

use super::ServiceError;
use crate::node::NodeCore;
use crate::store::audit::{self, AuditFilter, AuditRow};

/// Audit entries matching `filter`, in chain order.
pub fn entries(core: &NodeCore, filter: &AuditFilter) -> Result<Vec<AuditRow>, ServiceError> {
    Ok(core.store.read(|conn| audit::list(conn, filter))?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::service::testing::{ORIGIN, issue_sample, lone_core};

    #[test]
    fn entries_are_filtered_and_paged_in_chain_order() {
        let (_registry, core) = lone_core(ORIGIN);
        for n in 0..3 {
            issue_sample(&core, n);
        }
        let all = entries(&core, &AuditFilter::default()).unwrap();
        assert_eq!(all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["issue_certificate"; 3]);
        assert!(all.windows(2).all(|pair| pair[0].seq < pair[1].seq && pair[1].prev_hash == pair[0].hash));
        let page = AuditFilter { after: Some(all[0].seq), limit: Some(1), ..AuditFilter::default() };
        assert_eq!(entries(&core, &page).unwrap()[0].seq, all[1].seq);
        let none = AuditFilter { action: Some("verify".into()), ..AuditFilter::default() };
        assert!(entries(&core, &none).unwrap().is_empty());
    }
}
