//! Anchoring this node's issuance log and audit chain at the registry: every so often the node
//! signs a tree head and sends it with the proof that its log extends the head the registry
//! holds. The registry keeps it only then, so a log or chain cut back after it was anchored is
//! refused there and found by `hunyu audit verify`.
//!
//! Each node also takes in the logs of the nodes whose versions it is shown, as far as their
//! anchored heads (the leaves over the pinned peer channel, checked against the root the registry
//! kept), so that a verification refuses a version its issuer never logged.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::Refusal;
use super::client::{LOG_PATH, PeerClient};
use crate::contract::Contract;
use crate::domain::claims::TreeHeadClaims;
use crate::node::NodeCore;
use crate::seal::merkle::{self, Hash};
use crate::seal::transparency::{TreeHeadSubmission, consistency_hex, open_tree_head};
use crate::seal::{TrustStore, hex};

/// How often a node sends the registry its tree head.
pub const ANCHOR_EVERY: Duration = Duration::from_secs(60);
/// Longest tree head accepted from the registry.
const MAX_HEAD_LEN: usize = 16 * 1024;
/// Most leaves a node serves, or asks for, in one request.
pub const LOG_PAGE: u64 = 10_000;
/// Longest page of leaves accepted (hex and JSON around them).
const MAX_LEAVES_LEN: usize = 1024 * 1024;

/// Query of `GET /exchange/v1/log`: leaves `from` (inclusive) to `to` (exclusive).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct LogRange {
    pub from: u64,
    pub to: u64,
}

/// Answer of `GET /exchange/v1/log`: leaf hashes (hex), in order.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LogLeaves {
    pub leaves: Vec<String>,
}

/// The leaves of this node's log in `range`, for a peer (at most [`LOG_PAGE`], all logged).
pub fn serve_leaves(core: &NodeCore, range: LogRange) -> Result<LogLeaves, Refusal> {
    let bad = |reason| Refusal::BadMessage { message: 0, reason };
    if range.to <= range.from || range.to - range.from > LOG_PAGE {
        return Err(bad("a range of 1 to 10,000 leaves is needed"));
    }
    let size = core.catch_up_log().map_err(|error| {
        tracing::error!(%error, "issuance log unreadable");
        bad("the log could not be read")
    })?;
    let (from, to) = (usize::try_from(range.from), usize::try_from(range.to));
    let leaves = match (from, to) {
        (Ok(from), Ok(to)) if range.to <= size => {
            core.log.with_leaves(|l| l[from..to].iter().map(|h| hex(h)).collect())
        }
        _ => return Err(bad("the range goes past the log")),
    };
    Ok(LogLeaves { leaves })
}

/// The URL of `code`'s tree heads at the registry at `registry`.
fn heads_url(registry: &str, code: Option<&str>) -> String {
    let base = registry.trim_end_matches('/');
    code.map_or_else(|| format!("{base}/tree-heads"), |code| format!("{base}/tree-heads/{code}"))
}

/// The newest head of `code` the registry holds, checked against `trust`; `None` if it holds none.
pub async fn fetch_head(
    client: &reqwest::Client,
    registry: &str,
    code: &str,
    trust: &TrustStore,
    contract: &Contract,
) -> Result<Option<TreeHeadClaims>, String> {
    let response =
        client.get(heads_url(registry, Some(code))).send().await.map_err(|e| format!("registry unreachable: {e}"))?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !response.status().is_success() {
        return Err(format!("registry answered {}", response.status()));
    }
    let body = super::read_capped(response, MAX_HEAD_LEN).await?;
    let token = String::from_utf8(body).map_err(|_| "tree head: not UTF-8".to_owned())?;
    let head = open_tree_head(&token, trust, contract).map_err(|e| e.to_string())?;
    if head.iss != code {
        return Err(format!("the registry answered with {}'s tree head", head.iss));
    }
    Ok(Some(head))
}

/// Signs a tree head and has the registry keep it; returns it.
pub async fn anchor(core: &Arc<NodeCore>, client: &reqwest::Client, registry: &str) -> Result<TreeHeadClaims, String> {
    let outcome = send_head(core, client, registry).await;
    match &outcome {
        Ok(head) => {
            core.metrics.tree_head_size.set(i64::try_from(head.size).unwrap_or(i64::MAX));
        }
        Err(error) => {
            core.metrics.tree_head_failures.inc();
            tracing::error!(%error, "tree head not anchored at the registry");
        }
    }
    outcome
}

async fn send_head(core: &Arc<NodeCore>, client: &reqwest::Client, registry: &str) -> Result<TreeHeadClaims, String> {
    let held = fetch_head(client, registry, core.code(), &core.trust.current(), &core.contract).await?;
    let signer = core.clone();
    let signed = tokio::task::spawn_blocking(move || signer.sign_tree_head(Utc::now()))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let size = usize::try_from(signed.claims.size).unwrap_or(usize::MAX);
    let consistency = match &held {
        None => Vec::new(),
        Some(held) => core
            .log
            .with_leaves(|leaves| leaves.get(..size).and_then(|leaves| consistency_hex(leaves, held.size)))
            .ok_or_else(|| {
                format!(
                    "the registry holds a head of {} versions, this node's log only {size}: versions were lost \
                     (a restore from an older backup?)",
                    held.size
                )
            })?,
    };
    let submission = TreeHeadSubmission { head: signed.token, consistency };
    let response = client
        .post(heads_url(registry, None))
        .json(&submission)
        .send()
        .await
        .map_err(|e| format!("registry unreachable: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("the registry refused the tree head: {}", super::refusal_of(response).await));
    }
    tracing::info!(
        size = signed.claims.size,
        audit_seq = signed.claims.audit.seq,
        "tree head anchored at the registry"
    );
    Ok(signed.claims)
}

/// Takes in, from each other active node whose versions this node has been shown, the leaves of
/// its log up to the newest head the registry kept of it; returns how many nodes' logs are now
/// taken in as far as their heads.
pub async fn mirror_all(core: &Arc<NodeCore>, client: &reqwest::Client, registry: &str, peers: &PeerClient) -> usize {
    let trust = core.trust.current();
    let mut current = 0;
    for node in core.issuer_logs.wanted() {
        let Some(entry) = trust.active_node(&node).filter(|n| n.code != core.code()) else {
            continue;
        };
        let taken = match fetch_head(client, registry, &node, &trust, &core.contract).await {
            Ok(Some(head)) => {
                let leaves = fetch_leaves(peers, entry, core.issuer_logs.size(&node), head.size).await;
                leaves.and_then(|leaves| core.issuer_logs.extend(head, leaves))
            }
            Ok(None) => continue,
            Err(error) => Err(error),
        };
        match taken {
            Ok(()) => current += 1,
            Err(error) => {
                core.metrics.tree_head_failures.inc();
                tracing::error!(%node, %error, "another node's issuance log not taken in");
            }
        }
    }
    current
}

/// Leaves `from` to `to` of `entry`'s log, page by page over the peer channel.
async fn fetch_leaves(
    peers: &PeerClient,
    entry: &crate::seal::directory::NodeEntry,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, String> {
    let mut leaves = Vec::new();
    let mut at = from;
    while at < to {
        let end = to.min(at + LOG_PAGE);
        let response = peers.get(entry, &format!("{LOG_PATH}?from={at}&to={end}")).await?;
        if !response.status().is_success() {
            return Err(format!("{} answered {}", entry.code, response.status()));
        }
        let body = super::read_capped(response, MAX_LEAVES_LEN).await?;
        let page: LogLeaves = serde_json::from_slice(&body).map_err(|e| format!("leaves: {e}"))?;
        if u64::try_from(page.leaves.len()).ok() != Some(end - at) {
            return Err(format!("{} served {} leaves for {} asked", entry.code, page.leaves.len(), end - at));
        }
        for leaf in &page.leaves {
            leaves.push(merkle::from_hex(leaf).ok_or_else(|| format!("{} served a leaf that is no hash", entry.code))?);
        }
        at = end;
    }
    Ok(leaves)
}
