//! The certificate versions this node issued and the statuses recorded of them, in memory, so
//! that verifying one of its own certificates reads no database. Taken in from the store at start,
//! after each status change made here, and every 2 s for what another process on the same
//! database recorded; a version not known yet is read from the store (it may be a moment old).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError, RwLock};

use crate::domain::verification::VersionStatus;

/// Rows read from the store per query while catching up.
pub const PAGE: i64 = 100_000;

/// This node's versions and their recorded statuses, as far as taken in.
#[derive(Debug, Default)]
pub struct OwnVersions {
    taken: RwLock<Taken>,
    /// How far the store was read: the next leaf of the issuance log, the last status event.
    read_to: Mutex<(i64, i64)>,
}

#[derive(Debug, Default)]
struct Taken {
    /// Version ids (UUIDs) as 128-bit numbers: a tenth of the memory of their text.
    issued: HashSet<u128>,
    statuses: HashMap<u128, Vec<VersionStatus>>,
}

/// What the store recorded after a point: versions as (leaf index, `jti`) and status events as
/// (event id, `jti`, status), each in order.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub versions: Vec<(i64, String)>,
    pub events: Vec<(i64, String, VersionStatus)>,
}

impl OwnVersions {
    /// The statuses recorded of version `jti`, oldest first, when it is known to be one this
    /// node issued; `None` when it is not known here (yet).
    pub fn recorded(&self, jti: &str) -> Option<Vec<VersionStatus>> {
        let key = key(jti)?;
        let taken = self.taken.read().unwrap_or_else(PoisonError::into_inner);
        taken.issued.contains(&key).then(|| taken.statuses.get(&key).cloned().unwrap_or_default())
    }

    /// Takes in what `stored_after` reads past the point read to (a page at a time: it is asked
    /// again while it returns full pages); returns how many rows it took.
    pub fn catch_up<E>(&self, mut stored_after: impl FnMut(i64, i64) -> Result<Recorded, E>) -> Result<usize, E> {
        let mut read_to = self.read_to.lock().unwrap_or_else(PoisonError::into_inner);
        let mut taken_in = 0;
        loop {
            let page = stored_after(read_to.0, read_to.1)?;
            let page_size = usize::try_from(PAGE).unwrap_or(usize::MAX);
            let full = page.versions.len() == page_size || page.events.len() == page_size;
            let mut taken = self.taken.write().unwrap_or_else(PoisonError::into_inner);
            for (idx, jti) in &page.versions {
                taken.issued.extend(key(jti));
                read_to.0 = read_to.0.max(idx + 1);
            }
            for (id, jti, status) in &page.events {
                if let Some(key) = key(jti) {
                    taken.statuses.entry(key).or_default().push(*status);
                }
                read_to.1 = read_to.1.max(*id);
            }
            taken_in += page.versions.len() + page.events.len();
            if !full {
                return Ok(taken_in);
            }
        }
    }
}

/// A version id as a number; an id that is no UUID is never held here (it is read from the store).
fn key(jti: &str) -> Option<u128> {
    uuid::Uuid::parse_str(jti).ok().map(|id| id.as_u128())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn versions_and_statuses_are_taken_in_once_and_in_order() {
        let own = OwnVersions::default();
        let (v1, v2) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
        assert_eq!(own.recorded(&v1), None);
        let stored = Recorded {
            versions: vec![(0, v1.clone()), (1, v2.clone())],
            events: vec![(7, v1.clone(), VersionStatus::Superseded), (9, v1.clone(), VersionStatus::Revoked)],
        };
        let mut asked = Vec::new();
        let mut read = |versions_from, events_after| {
            asked.push((versions_from, events_after));
            Ok::<_, ()>(if versions_from == 0 { stored.clone() } else { Recorded::default() })
        };
        assert_eq!(own.catch_up(&mut read), Ok(4));
        assert_eq!(own.catch_up(&mut read), Ok(0), "rows already taken in are not read again");
        assert_eq!(asked, [(0, 0), (2, 9)]);
        assert_eq!(own.recorded(&v1), Some(vec![VersionStatus::Superseded, VersionStatus::Revoked]));
        assert_eq!(own.recorded(&v2), Some(vec![]));
        assert_eq!(own.recorded("not-a-uuid"), None);
    }
}
