//! What a node trusts: its own key, and the signed trust directory (信任名录) in use, replaced
//! whole when a newer one is installed and kept on disk for when the registry is away.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::{NodeCore, SetupError};
use crate::config::DirectorySettings;
use crate::domain::directory::may_replace;
use crate::seal::directory::{DirectoryError, open_directory};
use crate::seal::trust::SharedTrust;
use crate::seal::{Jwk, TrustStore};

/// The one trust anchor, the registry root key, and where the last good directory is kept.
#[derive(Debug, Clone)]
pub struct DirectoryAnchor {
    /// The registry root public key.
    pub root: Jwk,
    /// The last good directory, as received.
    pub cache: PathBuf,
}

impl DirectoryAnchor {
    /// Reads the root key file named by the settings.
    pub fn load(settings: &DirectorySettings) -> Result<Self, SetupError> {
        let failed = |message: String| SetupError::Directory(format!("{}: {message}", settings.root_key.display()));
        let text = std::fs::read_to_string(&settings.root_key).map_err(|e| failed(e.to_string()))?;
        let root: Jwk = serde_json::from_str(&text).map_err(|e| failed(e.to_string()))?;
        Ok(Self { root, cache: settings.cache.clone() })
    }
}

/// The trust in use, the node's own keys beneath it, and the anchor of its directories.
pub struct Trust {
    current: SharedTrust,
    /// This node's own keys, the base every directory is laid over.
    own: TrustStore,
    anchor: Option<DirectoryAnchor>,
    /// One installation at a time, so that an older directory never lands after a newer one.
    installing: Mutex<()>,
}

impl Trust {
    /// Trusts `own` until a directory signed under `anchor` is installed.
    pub fn new(own: TrustStore, anchor: Option<DirectoryAnchor>) -> Self {
        Self { current: SharedTrust::new(own.clone()), own, anchor, installing: Mutex::new(()) }
    }

    /// The trust in use now (cheap: one reference count).
    pub fn current(&self) -> Arc<TrustStore> {
        self.current.current()
    }

    /// The anchor of this node's directories, if it uses one.
    pub fn anchor(&self) -> Option<&DirectoryAnchor> {
        self.anchor.as_ref()
    }
}

impl NodeCore {
    /// Checks a directory against the registry root key and puts it in use if it is not older
    /// than the one in use; with `keep`, first writes it to the cache file. Returns its serial.
    pub fn install_directory(&self, token: &str, keep: bool) -> Result<u64, DirectoryError> {
        let trust = &self.trust;
        let anchor = trust.anchor.as_ref().ok_or(DirectoryError::NotConfigured)?;
        let claims = open_directory(token, &anchor.root, &self.contract)?;
        let _one_at_a_time = trust.installing.lock().unwrap_or_else(PoisonError::into_inner);
        let held = trust.current().stamp().map(|s| s.serial);
        if !may_replace(held, claims.serial) {
            return Err(DirectoryError::Rollback { held: held.unwrap_or(0), offered: claims.serial });
        }
        let installed = TrustStore::from_directory(&claims, &trust.own)?;
        if keep && held != Some(claims.serial) {
            write_atomically(&anchor.cache, token).map_err(|e| DirectoryError::Cache(e.to_string()))?;
        }
        self.metrics.directory_serial.set(i64::try_from(claims.serial).unwrap_or(i64::MAX));
        self.metrics.directory_expires_at.set(claims.exp);
        if held != Some(claims.serial) {
            tracing::info!(serial = claims.serial, nodes = claims.nodes.len(), "trust directory in use");
        }
        trust.current.replace(installed);
        Ok(claims.serial)
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
