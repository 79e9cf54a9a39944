//! Oversight (审计): the audit log, for admins and auditors; persons appear only as keyed hashes.
//! Reading it is itself an access, and an entry.

use chrono::{DateTime, Utc};

use super::ServiceError;
use crate::domain::access::Action;
use crate::node::{Actor, NodeCore};
use crate::store::audit::{self, AuditFilter, AuditRow, Recorded};

/// Audit entries matching `filter`, in chain order; the read is recorded after them.
pub fn entries(
    core: &NodeCore,
    filter: &AuditFilter,
    who: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<AuditRow>, ServiceError> {
    let entry = who.entry(Action::ReadAudit, filter.subject.clone(), None, now);
    core.store.read_audited(entry, |conn| {
        let rows = audit::list(conn, filter)?;
        let outcome = Recorded::outcome(format!("{} listed", rows.len()));
        Ok::<_, ServiceError>((rows, outcome))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::role::Role;
    use crate::service::testing::{ORIGIN, actor, issue_sample, lone_core};

    #[test]
    fn entries_are_filtered_and_paged_in_chain_order_and_their_reading_recorded() {
        let (_registry, core) = lone_core(ORIGIN);
        for n in 0..3 {
            issue_sample(&core, n);
        }
        let auditor = actor(&core, Role::Auditor, Action::ReadAudit);
        let entries = |filter: &AuditFilter| entries(&core, filter, &auditor, Utc::now()).unwrap();
        let all = entries(&AuditFilter::default());
        assert_eq!(all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["issue_certificate"; 3]);
        assert!(all.windows(2).all(|pair| pair[0].seq < pair[1].seq && pair[1].prev_hash == pair[0].hash));
        let page = AuditFilter { after: Some(all[0].seq), limit: Some(1), ..AuditFilter::default() };
        assert_eq!(entries(&page)[0].seq, all[1].seq);
        let none = AuditFilter { action: Some("verify".into()), ..AuditFilter::default() };
        assert!(entries(&none).is_empty());
        let reads = AuditFilter { action: Some("read_audit".into()), ..AuditFilter::default() };
        let recorded = entries(&reads);
        assert_eq!(
            recorded.iter().map(|e| e.outcome.as_str()).collect::<Vec<_>>(),
            ["3 listed", "1 listed", "0 listed"]
        );
    }
}
