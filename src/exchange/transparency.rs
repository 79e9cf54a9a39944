//! Anchoring this node's issuance log and audit chain at the registry: every so often the node
//! signs a tree head and sends it with the proof that its log extends the head the registry
//! holds. The registry keeps it only then, so a log or chain cut back after it was anchored is
//! refused there and found by `hunyu audit verify`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::contract::Contract;
use crate::domain::claims::TreeHeadClaims;
use crate::node::NodeCore;
use crate::seal::TrustStore;
use crate::seal::transparency::{TreeHeadSubmission, consistency_hex, open_tree_head};

/// How often a node sends the registry its tree head.
pub const ANCHOR_EVERY: Duration = Duration::from_secs(60);
/// Longest tree head accepted from the registry.
const MAX_HEAD_LEN: usize = 16 * 1024;

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
        let status = response.status();
        let problem = super::read_capped(response, MAX_HEAD_LEN).await.unwrap_or_default();
        let code = serde_json::from_slice::<serde_json::Value>(&problem)
            .ok()
            .and_then(|p| p.get("code").and_then(|c| c.as_str()).map(str::to_owned))
            .unwrap_or_default();
        return Err(format!("the registry refused the tree head: {status} {code}"));
    }
    tracing::info!(
        size = signed.claims.size,
        audit_seq = signed.claims.audit.seq,
        "tree head anchored at the registry"
    );
    Ok(signed.claims)
}
