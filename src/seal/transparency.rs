//! Signed tree heads of a node's issuance log (签发透明日志): what a node signs of its Merkle log
//! and audit chain, and the rule by which the registry keeps a head only if it extends the last
//! one kept (RFC 9162 §2.1.4 consistency), so that a log cut back or forked is refused.

use serde::{Deserialize, Serialize};

use super::merkle::{self, Hash};
use super::records::open_record;
use super::{Signer, TrustStore, hex, sign_compact};
use crate::contract::{Contract, Kind};
use crate::domain::claims::{TREE_HEAD_TYP, TreeHeadClaims};
use crate::domain::verification::Reason;

/// Most hashes a consistency proof between two logs of at most 2^63 leaves holds.
pub const MAX_PROOF: usize = 128;

/// Body of `POST /tree-heads` at the registry: a node's new signed head, and the proof that it
/// extends the head the registry holds (empty when it holds none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeHeadSubmission {
    /// A `hunyu-tree-head+jwt`.
    pub head: String,
    /// Hashes (hex) from the held head's size to the new one's.
    #[serde(default)]
    pub consistency: Vec<String>,
}

/// Why a registry does not keep a submitted head.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadRefusal {
    #[error("the tree head does not verify: {0}")]
    Unverified(&'static str),
    #[error("the tree head is older than the one held")]
    Older,
    #[error("the log is shorter than the one held: entries were cut")]
    LogShrinks,
    #[error("the audit chain is shorter than the one held, or its head changed: entries were cut")]
    AuditCut,
    #[error("the log does not extend the one held (the consistency proof fails)")]
    Inconsistent,
}

/// The leaf of a certificate version: the hash of its signed payload, the same bytes whether it is
/// shown as its token or, compressed and signed again, as QR text.
pub fn version_leaf(payload: &[u8]) -> Hash {
    merkle::leaf_hash(payload)
}

/// The leaf of a version from its uncompressed compact JWS, as this node stored it.
pub fn leaf_of_token(token: &str) -> Option<Hash> {
    Some(version_leaf(&super::b64url_decode(token.split('.').nth(1)?)?))
}

/// Signs a tree head with the node's key.
pub fn sign_tree_head(signer: &dyn Signer, claims: &TreeHeadClaims) -> String {
    sign_compact(signer, TREE_HEAD_TYP, serde_json::to_string(claims).unwrap_or_default().as_bytes(), false)
}

/// Checks a tree head against `trust`: signature, schema, and the key's right to sign it for its
/// `iss`.
pub fn open_tree_head(token: &str, trust: &TrustStore, contract: &Contract) -> Result<TreeHeadClaims, HeadRefusal> {
    open_record(token, TREE_HEAD_TYP, Kind::TreeHead, trust, contract)
        .map_err(|reason: Reason| HeadRefusal::Unverified(crate::domain::error::Coded::code(&reason)))
}

/// The root of a head as a hash; a head that passed its schema always has one.
pub fn root_of(head: &TreeHeadClaims) -> Hash {
    merkle::from_hex(&head.root).unwrap_or_default()
}

/// Whether `new` may replace `held`: not signed earlier, neither log shorter, the audit head kept
/// when the chain did not grow, and `proof` shows the held log is a prefix of the new one (a log
/// of the same size must have the same root, whatever proof comes with it: two processes of one
/// node may send heads of the same log at once).
pub fn extends(held: &TreeHeadClaims, new: &TreeHeadClaims, proof: &[String]) -> Result<(), HeadRefusal> {
    if new.iat < held.iat {
        return Err(HeadRefusal::Older);
    }
    if new.size < held.size {
        return Err(HeadRefusal::LogShrinks);
    }
    if new.audit.seq < held.audit.seq || (new.audit.seq == held.audit.seq && new.audit.hash != held.audit.hash) {
        return Err(HeadRefusal::AuditCut);
    }
    if held.size == new.size {
        return if held.root == new.root { Ok(()) } else { Err(HeadRefusal::Inconsistent) };
    }
    let proof: Option<Vec<Hash>> =
        (proof.len() <= MAX_PROOF).then(|| proof.iter().map(|h| merkle::from_hex(h)).collect()).flatten();
    let consistent = proof
        .is_some_and(|proof| merkle::verify_consistency(held.size, new.size, &root_of(held), &root_of(new), &proof));
    if consistent { Ok(()) } else { Err(HeadRefusal::Inconsistent) }
}

/// The consistency proof, as hex, that the first `old_size` of `leaves` are a prefix of all of them.
pub fn consistency_hex(leaves: &[Hash], old_size: u64) -> Option<Vec<String>> {
    let proof = merkle::consistency_proof(leaves, old_size, u64::try_from(leaves.len()).ok()?)?;
    Some(proof.iter().map(|h| hex(h)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::claims::AuditHead;
    use crate::seal::merkle::{Frontier, leaf_hash};

    fn head(leaves: &[Hash], iat: i64, audit_seq: i64) -> TreeHeadClaims {
        let mut frontier = Frontier::new();
        leaves.iter().for_each(|leaf| frontier.push(*leaf));
        TreeHeadClaims {
            iss: "130728104000".into(),
            iat,
            size: frontier.size(),
            root: hex(&frontier.root()),
            audit: AuditHead { seq: audit_seq, hash: format!("{audit_seq:064x}") },
        }
    }

    #[test]
    fn a_head_is_kept_only_if_it_extends_the_held_one() {
        let leaves: Vec<Hash> = (0..13u32).map(|i| leaf_hash(format!("version {i}").as_bytes())).collect();
        let held = head(&leaves[..5], 100, 40);
        let grown = head(&leaves, 200, 90);
        let proof = consistency_hex(&leaves, 5).unwrap();
        assert_eq!(extends(&held, &grown, &proof), Ok(()));
        // From nothing, and to the same log signed later, nothing is to prove.
        assert_eq!(extends(&head(&[], 1, 0), &held, &[]), Ok(()));
        assert_eq!(extends(&held, &head(&leaves[..5], 150, 40), &[]), Ok(()));

        assert_eq!(extends(&grown, &held, &[]), Err(HeadRefusal::Older));
        // The same head again, or sent with a stale proof by a second process of the node.
        assert_eq!(extends(&grown, &grown, &proof), Ok(()));
        assert_eq!(extends(&grown, &head(&leaves[..5], 300, 90), &[]), Err(HeadRefusal::LogShrinks));
        assert_eq!(extends(&held, &head(&leaves, 200, 39), &proof), Err(HeadRefusal::AuditCut));
        let mut rewritten = head(&leaves[..5], 150, 40);
        rewritten.audit.hash = "f".repeat(64);
        assert_eq!(extends(&held, &rewritten, &[]), Err(HeadRefusal::AuditCut));
        // A fork: the same size, other versions; and a proof that is not one.
        let mut forked = leaves.clone();
        forked[2] = leaf_hash(b"a version signed with a stolen key");
        assert_eq!(extends(&held, &head(&forked, 200, 90), &proof), Err(HeadRefusal::Inconsistent));
        assert_eq!(extends(&held, &grown, &proof[1..]), Err(HeadRefusal::Inconsistent));
        assert_eq!(extends(&grown, &head(&forked, 300, 90), &[]), Err(HeadRefusal::Inconsistent));
        assert_eq!(extends(&held, &grown, &["zz".into()]), Err(HeadRefusal::Inconsistent));
    }
}
