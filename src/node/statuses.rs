//! Other nodes' status lists, as last fetched: what this node knows of revocations and renewals
//! of certificates whose holders never registered with it.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::domain::claims::StatusListClaims;
use crate::domain::verification::VersionStatus;

/// Issuer → version `jti` → status.
#[derive(Debug, Default)]
pub struct StatusCache(RwLock<HashMap<String, Arc<HashMap<String, VersionStatus>>>>);

impl StatusCache {
    /// Statuses `issuer` lists for version `jti`.
    pub fn statuses(&self, issuer: &str, jti: &str) -> Vec<VersionStatus> {
        let lists = self.0.read().unwrap_or_else(PoisonError::into_inner);
        lists.get(issuer).and_then(|list| list.get(jti)).copied().into_iter().collect()
    }

    /// Puts a checked list of its issuer in use.
    pub fn replace(&self, list: StatusListClaims) {
        let statuses = list.entries.into_iter().map(|e| (e.jti, e.status)).collect();
        let mut lists = self.0.write().unwrap_or_else(PoisonError::into_inner);
        lists.insert(list.iss, Arc::new(statuses));
    }
}
