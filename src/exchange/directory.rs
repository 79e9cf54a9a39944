//! Keeping the trust directory: the cached copy at start, periodic fetches from the registry,
//! and the last good copy on disk so that verification goes on while the registry is away.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::DirectorySettings;
use crate::node::{Node, SetupError};
use crate::seal::Jwk;

/// Longest directory accepted from a registry (40,000 nodes fit well below this).
pub const MAX_DIRECTORY_LEN: usize = 64 * 1024 * 1024;

/// Where this node's directory comes from and where it is kept.
#[derive(Debug, Clone)]
pub struct DirectorySource {
    /// The registry root public key: the one trust anchor.
    pub root: Jwk,
    /// The last good directory, as received.
    pub cache: PathBuf,
    /// `GET {registry_url}/directory`; none: the cached copy only.
    pub registry_url: Option<String>,
    pub refresh: Duration,
}

impl DirectorySource {
    /// Reads the root key file named by the settings.
    pub fn load(settings: &DirectorySettings) -> Result<Self, SetupError> {
        let failed = |message: String| SetupError::Directory(format!("{}: {message}", settings.root_key.display()));
        let text = std::fs::read_to_string(&settings.root_key).map_err(|e| failed(e.to_string()))?;
        let root: Jwk = serde_json::from_str(&text).map_err(|e| failed(e.to_string()))?;
        Ok(Self {
            root,
            cache: settings.cache.clone(),
            registry_url: settings.registry_url.clone(),
            refresh: Duration::from_secs(settings.refresh_seconds),
        })
    }

    /// The directory URL at the registry.
    pub fn url(&self) -> Option<String> {
        self.registry_url.as_ref().map(|base| format!("{}/directory", base.trim_end_matches('/')))
    }
}

/// Writes `text` to `path` so that a crash leaves the old file or the new one, never a torn one.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Fetches the directory text from the registry.
pub async fn fetch(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = client.get(url).send().await.map_err(|e| format!("registry unreachable: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("registry answered {}", response.status()));
    }
    if response.content_length().is_some_and(|len| len > MAX_DIRECTORY_LEN as u64) {
        return Err("directory too large".into());
    }
    response.text().await.map_err(|e| format!("registry answer unreadable: {e}"))
}

/// Fetches the directory from the registry now and installs it (a failure keeps the one in use),
/// then the status lists of its nodes.
pub async fn refresh(node: &Arc<Node>) -> Result<u64, String> {
    let outcome = match node.directory_source().and_then(DirectorySource::url) {
        Some(url) => refresh_directory(node, &url).await,
        None => Err("no registry is configured; the cached directory stays in use".into()),
    };
    super::status::refresh_all(node).await;
    outcome
}

async fn refresh_directory(node: &Arc<Node>, url: &str) -> Result<u64, String> {
    let outcome = match fetch(node.public_client(), url).await {
        Ok(text) => {
            let node = node.clone();
            tokio::task::spawn_blocking(move || node.install_directory(&text, true))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
        }
        Err(e) => Err(e),
    };
    if let Err(error) = &outcome {
        node.metrics().directory_refresh_failures.inc();
        tracing::warn!(%error, %url, "trust directory not refreshed; the copy in use stays");
    }
    outcome
}

/// Refreshes the directory and the status lists every `refresh` interval, for as long as the node runs.
pub async fn refresh_loop(node: Arc<Node>) {
    let Some(every) = node.directory_source().map(|s| s.refresh) else {
        return;
    };
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        let _ = refresh(&node).await;
    }
}
