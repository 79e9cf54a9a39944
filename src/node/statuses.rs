//! What this node knows of other nodes' certificate versions: their status lists, as last
//! fetched (revocations and renewals of certificates whose holders never registered here), and
//! the statuses their messages reported. A list replaces the one held only if its issuer signed
//! it later (or in the same second, holding more), so an old list replayed cannot undo a
//! revocation. Both are held in memory so that a
//! verification of another node's certificate reads nothing from the database.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::domain::claims::StatusListClaims;
use crate::domain::verification::{StatusEvidence, VersionStatus};
use crate::store::messages::ReceivedStatus;

/// One issuer's list: when it was signed, until when it is current, version `jti` → status, and
/// the list as its issuer signed it (which a scan page keeps, to check it itself off line).
#[derive(Debug)]
struct List {
    issued_at: i64,
    expires_at: i64,
    statuses: HashMap<String, VersionStatus>,
    token: Arc<str>,
}

/// The lists held, by issuer, and the statuses reported through the exchange.
#[derive(Debug, Default)]
pub struct StatusCache {
    lists: RwLock<HashMap<String, Arc<List>>>,
    /// Version `jti` → (its issuer, a status the issuer reported), as stored by an inbox.
    reported: RwLock<HashMap<String, Vec<(String, VersionStatus)>>>,
    /// The last stored row read into `reported`; held while a catch-up reads and applies rows.
    read_to: Mutex<i64>,
}

/// A list refused because the one held is as new or newer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a status list signed at {offered} is not newer than the one held, signed at {held}")]
pub struct NotNewer {
    pub held: i64,
    pub offered: i64,
}

impl StatusCache {
    /// What `issuer`'s list says of its version `jti`, and the evidence it is.
    pub fn listed(&self, issuer: &str, jti: &str) -> (Vec<VersionStatus>, StatusEvidence) {
        let lists = self.lists.read().unwrap_or_else(PoisonError::into_inner);
        match lists.get(issuer) {
            Some(list) => (
                list.statuses.get(jti).copied().into_iter().collect(),
                StatusEvidence::StatusList { issued_at: list.issued_at, expires_at: list.expires_at },
            ),
            None => (Vec::new(), StatusEvidence::Unknown),
        }
    }

    /// Puts a checked list in use if its issuer signed it later than the list held, or in the
    /// same second with every status of the held list and more: a status is final (a version
    /// revoked or superseded stays so), so that list is the later one, and a revocation made in
    /// the second of the last fetch is not missed until the next.
    pub fn replace(&self, list: StatusListClaims, token: &str) -> Result<(), NotNewer> {
        let mut lists = self.lists.write().unwrap_or_else(PoisonError::into_inner);
        let statuses: HashMap<String, VersionStatus> = list.entries.into_iter().map(|e| (e.jti, e.status)).collect();
        if let Some(held) = lists.get(&list.iss) {
            let holds_more = statuses.len() > held.statuses.len()
                && held.statuses.iter().all(|(jti, status)| statuses.get(jti) == Some(status));
            if held.issued_at > list.iat || (held.issued_at == list.iat && !holds_more) {
                return Err(NotNewer { held: held.issued_at, offered: list.iat });
            }
        }
        let token = Arc::from(token);
        lists.insert(list.iss, Arc::new(List { issued_at: list.iat, expires_at: list.exp, statuses, token }));
        Ok(())
    }

    /// Every list held, as its issuer signed it, by issuer.
    pub fn tokens(&self) -> BTreeMap<String, String> {
        let lists = self.lists.read().unwrap_or_else(PoisonError::into_inner);
        lists.iter().map(|(issuer, list)| (issuer.clone(), list.token.to_string())).collect()
    }

    /// The statuses `issuer` reported for its version `jti` through the exchange.
    pub fn reported(&self, issuer: &str, jti: &str) -> Vec<VersionStatus> {
        let reported = self.reported.read().unwrap_or_else(PoisonError::into_inner);
        reported.get(jti).into_iter().flatten().filter(|(by, _)| by == issuer).map(|(_, status)| *status).collect()
    }

    /// Takes in the statuses stored since the last catch-up, by this process's inbox or another
    /// process's on the same database, as `stored_after` reads them; returns how many.
    pub fn catch_up<E>(&self, stored_after: impl FnOnce(i64) -> Result<Vec<ReceivedStatus>, E>) -> Result<usize, E> {
        let mut read_to = self.read_to.lock().unwrap_or_else(PoisonError::into_inner);
        let rows = stored_after(*read_to)?;
        let mut reported = self.reported.write().unwrap_or_else(PoisonError::into_inner);
        for (id, jti, issuer, status) in &rows {
            reported.entry(jti.clone()).or_default().push((issuer.clone(), *status));
            *read_to = (*read_to).max(*id);
        }
        Ok(rows.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::claims::StatusEntry;

    fn list(iat: i64, revoked: &[&str]) -> StatusListClaims {
        let entries =
            revoked.iter().map(|jti| StatusEntry { jti: (*jti).into(), status: VersionStatus::Revoked }).collect();
        StatusListClaims { iss: "130728102000".into(), iat, exp: iat + 86_400, entries }
    }

    #[test]
    fn an_older_list_replayed_cannot_undo_a_revocation() {
        let cache = StatusCache::default();
        assert_eq!(cache.listed("130728102000", "v1"), (Vec::new(), StatusEvidence::Unknown));
        cache.replace(list(100, &[]), "").unwrap();
        cache.replace(list(200, &["v1"]), "").unwrap();
        assert_eq!(cache.replace(list(100, &[]), ""), Err(NotNewer { held: 200, offered: 100 }));
        assert_eq!(cache.replace(list(200, &[]), ""), Err(NotNewer { held: 200, offered: 200 }));
        assert_eq!(cache.replace(list(200, &["v1"]), ""), Err(NotNewer { held: 200, offered: 200 }));
        // Signed in the same second with a revocation more: the later list of that second.
        cache.replace(list(200, &["v1", "v2"]), "").unwrap();
        assert_eq!(cache.replace(list(200, &["v1", "v3"]), ""), Err(NotNewer { held: 200, offered: 200 }));
        assert_eq!(cache.listed("130728102000", "v2").0, [VersionStatus::Revoked]);
        let (statuses, evidence) = cache.listed("130728102000", "v1");
        assert_eq!(statuses, [VersionStatus::Revoked]);
        assert_eq!(evidence, StatusEvidence::StatusList { issued_at: 200, expires_at: 86_600 });
    }

    #[test]
    fn a_reported_status_counts_once_and_only_for_the_issuer_that_reported_it() {
        let cache = StatusCache::default();
        let stored = [
            (1, "v1".to_owned(), "130728102000".to_owned(), VersionStatus::Superseded),
            (2, "v1".to_owned(), "130728102000".to_owned(), VersionStatus::Revoked),
        ];
        let read = |after: i64| Ok::<_, ()>(stored.iter().filter(|row| row.0 > after).cloned().collect());
        assert_eq!(cache.catch_up(read), Ok(2));
        assert_eq!(cache.catch_up(read), Ok(0), "rows already taken in are not read again");
        assert_eq!(cache.reported("130728102000", "v1"), [VersionStatus::Superseded, VersionStatus::Revoked]);
        assert!(cache.reported("440306001000", "v1").is_empty());
        assert!(cache.reported("130728102000", "v2").is_empty());
    }
}
