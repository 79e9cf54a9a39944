//! Fetching the trust directory from the registry; the core checks it and keeps the last good
//! copy on disk, so that verification goes on while the registry is away.

use std::sync::Arc;

use crate::node::NodeCore;
use crate::seal::jws::MAX_DIRECTORY_LEN;

/// Fetches the directory text from the registry.
pub async fn fetch(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = client.get(url).send().await.map_err(|e| format!("registry unreachable: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("registry answered {}", response.status()));
    }
    let body = super::read_capped(response, MAX_DIRECTORY_LEN).await.map_err(|e| format!("directory: {e}"))?;
    String::from_utf8(body).map_err(|_| "directory: not UTF-8".into())
}

/// Fetches the directory at `url` and installs it; a failure keeps the one in use.
pub async fn refresh(core: &Arc<NodeCore>, client: &reqwest::Client, url: &str) -> Result<u64, String> {
    let outcome = match fetch(client, url).await {
        Ok(text) => {
            let core = core.clone();
            tokio::task::spawn_blocking(move || core.install_directory(&text, true))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
        }
        Err(e) => Err(e),
    };
    if let Err(error) = &outcome {
        core.metrics.directory_refresh_failures.inc();
        tracing::warn!(%error, %url, "trust directory not refreshed; the copy in use stays");
    }
    outcome
}
