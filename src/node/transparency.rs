//! Issuance logs in memory: this node's, as the exchange serves it and signs its heads (taken in
//! from the store, where another process on the same database appends too), and other nodes', as
//! far as the heads they anchored at the registry, against which verifications are judged.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use chrono::{DateTime, Utc};

use super::NodeCore;
use crate::domain::claims::{AuditHead, TreeHeadClaims};
use crate::seal::hex;
use crate::seal::merkle::{self, Frontier, Hash};
use crate::seal::transparency::sign_tree_head;
use crate::store::{StoreError, audit, issuance_log};

/// Leaves read from the store per query while catching up.
const PAGE: i64 = 100_000;

/// The leaf hashes of this node's issuance log, in order, as far as taken in.
#[derive(Debug, Default)]
pub struct IssuanceLog {
    taken: RwLock<Taken>,
}

/// The leaves taken in, and the tree's right edge over them (its root without rehashing them).
#[derive(Debug, Default)]
struct Taken {
    leaves: Vec<Hash>,
    frontier: Frontier,
}

impl IssuanceLog {
    /// Runs `read` over the leaves taken in so far.
    pub fn with_leaves<T>(&self, read: impl FnOnce(&[Hash]) -> T) -> T {
        read(&self.taken.read().unwrap_or_else(std::sync::PoisonError::into_inner).leaves)
    }

    /// Size and root of the log as far as taken in.
    fn size_and_root(&self) -> (u64, Hash) {
        let taken = self.taken.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        (taken.frontier.size(), taken.frontier.root())
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
        let mut taken = self.log.taken.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            let from = i64::try_from(taken.leaves.len()).unwrap_or(i64::MAX);
            let page = self.store.read(|conn| issuance_log::leaves_from(conn, from, PAGE))?;
            let done = page.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
            page.iter().for_each(|leaf| taken.frontier.push(*leaf));
            taken.leaves.extend(page);
            if done {
                return Ok(taken.frontier.size());
            }
        }
    }

    /// Signs a head over the audit chain's newest entry and then the whole issuance log as stored
    /// now (a version logged after the chain head was read only makes the head newer).
    pub fn sign_tree_head(&self, now: DateTime<Utc>) -> Result<SignedTreeHead, StoreError> {
        let (seq, hash) = self.store.read(audit::head)?;
        self.catch_up_log()?;
        let (size, root) = self.log.size_and_root();
        let claims = TreeHeadClaims {
            iss: self.code().to_owned(),
            iat: now.timestamp(),
            size,
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

/// Seconds before an issuer's anchored head that a version must have been signed for its absence
/// from the log to count: a version signed just before a head may be stored just after it.
pub const LOG_SLACK_SECONDS: i64 = 60;

/// What another node's issuance log, as taken in here, says of a version it signed at `iat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    /// The log holds it.
    Yes,
    /// The log does not hold it, though it says it was signed well before the log's head.
    No,
    /// Signed after (or just before) the newest head taken in here: not yet to be found.
    NotYet,
    /// No anchored head of the issuer is held here.
    Unknown,
}

/// One issuer's log as far as its newest anchored head: the head, the tree's right edge and
/// every leaf.
#[derive(Debug, Clone)]
struct Mirror {
    head: TreeHeadClaims,
    frontier: Frontier,
    leaves: HashSet<Hash>,
}

/// The issuance logs of the nodes whose versions this node is shown, as far as the heads the
/// registry kept, leaf by leaf, so that a verification tells whether a version is logged without
/// a database read or a question.
#[derive(Debug, Default)]
pub struct IssuerLogs {
    logs: RwLock<HashMap<String, Mirror>>,
    /// Issuers whose versions were shown here before their log was taken in.
    wanted: RwLock<HashSet<String>>,
}

impl IssuerLogs {
    /// The issuers whose logs to take in: those taken in, and those whose versions were shown
    /// here since (a node takes in only the logs of the nodes it deals with).
    pub fn wanted(&self) -> Vec<String> {
        let mut wanted: Vec<String> = self.read().keys().cloned().collect();
        wanted.extend(self.wanted.write().unwrap_or_else(std::sync::PoisonError::into_inner).drain());
        wanted.sort_unstable();
        wanted.dedup();
        wanted
    }

    /// How many leaves of `issuer`'s log are taken in.
    pub fn size(&self, issuer: &str) -> u64 {
        self.read().get(issuer).map_or(0, |m| m.frontier.size())
    }

    /// Takes in `head` of its issuer with `leaves`, the leaves after those taken in: only if they
    /// make the head's root, else nothing changes (the issuer serves a log other than the one it
    /// anchored).
    pub fn extend(&self, head: TreeHeadClaims, leaves: Vec<Hash>) -> Result<(), String> {
        let mut frontier = self.read().get(&head.iss).map(|m| m.frontier.clone()).unwrap_or_default();
        let base = frontier.size();
        leaves.iter().for_each(|leaf| frontier.push(*leaf));
        if frontier.size() != head.size || hex(&frontier.root()) != head.root {
            return Err(format!(
                "the leaves served by {} do not make the root of its anchored head of {} versions",
                head.iss, head.size
            ));
        }
        let mut logs = self.logs.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mirror = logs.entry(head.iss.clone()).or_insert_with(|| Mirror {
            head: head.clone(),
            frontier: Frontier::new(),
            leaves: HashSet::new(),
        });
        // Another refresh may have taken in more meanwhile: then its leaves stay.
        if mirror.frontier.size() == base {
            mirror.leaves.extend(leaves);
            (mirror.head, mirror.frontier) = (head, frontier);
        }
        Ok(())
    }

    /// Whether `issuer`'s log holds the version of leaf `leaf`, signed (it says) at `iat`.
    pub fn judge(&self, issuer: &str, leaf: &Hash, iat: i64) -> Logged {
        match self.read().get(issuer) {
            None => {
                // Read first: every verification of such an issuer's versions comes here.
                let known = self.wanted.read().unwrap_or_else(std::sync::PoisonError::into_inner).contains(issuer);
                if !known {
                    self.wanted.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(issuer.to_owned());
                }
                Logged::Unknown
            }
            Some(mirror) if mirror.leaves.contains(leaf) => Logged::Yes,
            Some(mirror) if iat < mirror.head.iat - LOG_SLACK_SECONDS => Logged::No,
            Some(_) => Logged::NotYet,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Mirror>> {
        self.logs.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::merkle::leaf_hash;

    fn head_over(leaves: &[Hash], iat: i64) -> TreeHeadClaims {
        TreeHeadClaims {
            iss: "130728102000".into(),
            iat,
            size: u64::try_from(leaves.len()).unwrap(),
            root: hex(&merkle::root(leaves)),
            audit: AuditHead { seq: 1, hash: "0".repeat(64) },
        }
    }

    #[test]
    fn an_issuer_s_log_is_taken_in_only_as_its_anchored_head_says() {
        let leaves: Vec<Hash> = (0..7u8).map(|i| leaf_hash(&[i])).collect();
        let logs = IssuerLogs::default();
        let issuer = "130728102000";
        assert_eq!(logs.judge(issuer, &leaves[0], 0), Logged::Unknown);
        assert_eq!(logs.wanted(), [issuer], "an issuer whose version was shown is wanted");
        logs.extend(head_over(&leaves[..4], 1_000), leaves[..4].to_vec()).unwrap();
        // The rest, but one leaf swapped: refused, and what was held stays.
        let mut swapped = leaves[4..].to_vec();
        swapped[1] = leaf_hash(b"forged");
        assert!(logs.extend(head_over(&leaves, 2_000), swapped).is_err());
        assert_eq!(logs.size(issuer), 4);
        logs.extend(head_over(&leaves, 2_000), leaves[4..].to_vec()).unwrap();
        assert_eq!(logs.size(issuer), 7);

        let forged = leaf_hash(b"back-dated");
        assert_eq!(logs.judge(issuer, &leaves[6], 0), Logged::Yes);
        assert_eq!(logs.judge(issuer, &forged, 2_000 - LOG_SLACK_SECONDS - 1), Logged::No);
        assert_eq!(logs.judge(issuer, &forged, 2_000 - LOG_SLACK_SECONDS), Logged::NotYet);
        assert_eq!(logs.judge("130728104000", &forged, 0), Logged::Unknown);
        assert_eq!(logs.wanted(), ["130728102000", "130728104000"]);
    }
}
