//! Sending this node's signed monthly reports (双向考核月报) to its superior, the registry, which
//! keeps a version only as the next of those it holds: so they go in order, and a refused one
//! holds back the versions after it.

use std::sync::Arc;

use chrono::Utc;

use crate::node::NodeCore;
use crate::store::StoreError;
use crate::store::reports::{self, ReportRow};

/// Versions sent in one round; the rest wait for the next.
const ROUND: i64 = 24;

/// `POST {registry}/reports`.
fn reports_url(registry: &str) -> String {
    format!("{}/reports", registry.trim_end_matches('/'))
}

/// Sends the registry the versions it does not have yet, oldest first, and records each answer;
/// returns how many it kept.
pub async fn send_unsent(core: &Arc<NodeCore>, client: &reqwest::Client, registry: &str) -> usize {
    let reader = core.clone();
    let unsent = tokio::task::spawn_blocking(move || reader.store.read(|conn| reports::unsent(conn, ROUND))).await;
    let unsent = match unsent.map_err(|e| e.to_string()).and_then(|read| read.map_err(|e| e.to_string())) {
        Ok(unsent) => unsent,
        Err(error) => {
            tracing::error!(%error, "reports to send not read");
            return 0;
        }
    };
    let mut kept = 0;
    for row in unsent {
        let outcome = send(client, registry, &row.token).await;
        if let Err(error) = record(core, &row, outcome.clone()).await {
            tracing::error!(%error, month = %row.month, ver = row.ver, "the registry's answer to a report not recorded");
        }
        match outcome {
            Ok(()) => {
                kept += 1;
                tracing::info!(month = %row.month, ver = row.ver, "report kept by the registry");
            }
            Err(error) => {
                tracing::warn!(%error, month = %row.month, ver = row.ver, "report not kept by the registry; sent again later");
                break;
            }
        }
    }
    kept
}

async fn send(client: &reqwest::Client, registry: &str, token: &str) -> Result<(), String> {
    let response = client
        .post(reports_url(registry))
        .header(reqwest::header::CONTENT_TYPE, "application/jwt")
        .body(token.to_owned())
        .send()
        .await
        .map_err(|e| format!("registry unreachable: {e}"))?;
    if response.status().is_success() {
        return Ok(());
    }
    Err(format!("the registry refused the report: {}", super::refusal_of(response).await))
}

async fn record(core: &Arc<NodeCore>, row: &ReportRow, outcome: Result<(), String>) -> Result<(), StoreError> {
    let (core, jti) = (core.clone(), row.jti.clone());
    let now = Utc::now().naive_utc();
    tokio::task::spawn_blocking(move || {
        core.store.write(move |conn| match &outcome {
            Ok(()) => reports::mark_sent(conn, &jti, now),
            Err(error) => reports::mark_unsent(conn, &jti, error),
        })
    })
    .await
    .map_err(|e| StoreError::Commit(e.to_string()))?
}
