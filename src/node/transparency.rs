//! This node's issuance log as the exchange serves it and signs its heads: the leaf hashes in
//! memory, taken in from the store (another process on the same database appends too).

use std::sync::RwLock;

use chrono::{DateTime, Utc};

use super::NodeCore;
use crate::domain::claims::{AuditHead, TreeHeadClaims};
use crate::seal::hex;
use crate::seal::merkle::{self, Hash};
use crate::seal::transparency::sign_tree_head;
use crate::store::{StoreError, audit, issuance_log};

/// Leaves read from the store per query while catching up.
const PAGE: i64 = 100_000;

/// The leaf hashes of this node's issuance log, in order, as far as taken in.
#[derive(Debug, Default)]
pub struct IssuanceLog {
    leaves: RwLock<Vec<Hash>>,
}

impl IssuanceLog {
    /// Runs `read` over the leaves taken in so far.
    pub fn with_leaves<T>(&self, read: impl FnOnce(&[Hash]) -> T) -> T {
        read(&self.leaves.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// A signed tree head and what it says.
#[derive(Debug, Clone)]
pub struct SignedTreeHead {
    pub token: String,
    pub claims: TreeHeadClaims,
}

impl NodeCore {
    /// Takes in the leaves appended to the stored log since the last time; returns the log's size.
    pub fn catch_up_log(&self) -> Result<u64, StoreError> {
        let mut leaves = self.log.leaves.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            let from = i64::try_from(leaves.len()).unwrap_or(i64::MAX);
            let page = self.store.read(|conn| issuance_log::leaves_from(conn, from, PAGE))?;
            let done = page.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
            leaves.extend(page);
            if done {
                return Ok(u64::try_from(leaves.len()).unwrap_or(u64::MAX));
            }
        }
    }

    /// Signs a head over the audit chain's newest entry and then the whole issuance log as stored
    /// now (a version logged after the chain head was read only makes the head newer).
    pub fn sign_tree_head(&self, now: DateTime<Utc>) -> Result<SignedTreeHead, StoreError> {
        let (seq, hash) = self.store.read(audit::head)?;
        self.catch_up_log()?;
        let (size, root) = self.log.with_leaves(|leaves| (leaves.len(), merkle::root(leaves)));
        let claims = TreeHeadClaims {
            iss: self.code().to_owned(),
            iat: now.timestamp(),
            size: u64::try_from(size).unwrap_or(u64::MAX),
            root: hex(&root),
            audit: AuditHead { seq, hash },
        };
        Ok(SignedTreeHead { token: sign_tree_head(&*self.signer, &claims), claims })
    }
}

/// How this node's stored audit chain and issuance log differ from a head it signed earlier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorBreak {
    #[error(
        "the audit log ends at entry {ends}, but the head signed at {signed_at} names entry {seq}: entries were cut"
    )]
    AuditCut { seq: i64, ends: i64, signed_at: i64 },
    #[error("audit entry {seq} is not the one the head signed at {signed_at} names: the log was rewritten")]
    AuditRewritten { seq: i64, signed_at: i64 },
    #[error(
        "the issuance log holds {held} versions, not the {size} the head signed at {signed_at} names: versions were cut"
    )]
    LogCut { size: u64, held: u64, signed_at: i64 },
    #[error("the first {size} versions of the issuance log are not those the head signed at {signed_at} names")]
    LogRewritten { size: u64, signed_at: i64 },
}

/// Checks that the stored audit chain and issuance log still hold what `head` (a head this node
/// signed, as another party kept it) says they held.
pub fn compare_with_head(
    store: &crate::store::Store,
    head: &TreeHeadClaims,
) -> Result<Result<(), AnchorBreak>, StoreError> {
    let signed_at = head.iat;
    let (ends, _) = store.read(audit::head)?;
    if ends < head.audit.seq {
        return Ok(Err(AnchorBreak::AuditCut { seq: head.audit.seq, ends, signed_at }));
    }
    if head.audit.seq > 0 && store.read(|conn| audit::hash_at(conn, head.audit.seq))?.as_ref() != Some(&head.audit.hash)
    {
        return Ok(Err(AnchorBreak::AuditRewritten { seq: head.audit.seq, signed_at }));
    }
    let size = i64::try_from(head.size).unwrap_or(i64::MAX);
    let leaves = store.read(|conn| issuance_log::leaves_from(conn, 0, size))?;
    let held = u64::try_from(leaves.len()).unwrap_or(u64::MAX);
    if held < head.size {
        return Ok(Err(AnchorBreak::LogCut { size: head.size, held, signed_at }));
    }
    if hex(&merkle::root(&leaves)) != head.root {
        return Ok(Err(AnchorBreak::LogRewritten { size: head.size, signed_at }));
    }
    Ok(Ok(()))
}
