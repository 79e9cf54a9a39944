//! The keys and peers this node trusts: its own key, and every node of the signed trust directory.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::directory::{DirectoryClaims, NodeEntry};
use super::keys::{Jwk, KeyError, VerifyingKey};
use crate::domain::directory::{Freshness, KeyWindow, NodeStatus, freshness};
use crate::domain::verification::Reason;

/// A verification key, the node it belongs to, and when it may sign.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// 12-digit code of the node that owns the key.
    pub issuer: String,
    /// Name of that node (e.g. 怀安县柴沟堡镇).
    pub issuer_name: String,
    pub key: VerifyingKey,
    pub window: KeyWindow,
}

impl TrustedKey {
    /// Whether a record claiming `iss` and signed at `signed_at` may be trusted under this key.
    pub fn vouches_for(&self, iss: &str, signed_at: i64) -> Result<(), Reason> {
        if iss != self.issuer {
            return Err(Reason::IssuerMismatch);
        }
        self.window.judge(signed_at)
    }
}

/// Serial and lifetime of the directory a trust store was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectoryStamp {
    pub serial: u64,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// Key ids (`<node code>#<key id>`) mapped to trusted keys, and the directory's nodes by code.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: HashMap<String, TrustedKey>,
    nodes: HashMap<String, NodeEntry>,
    stamp: Option<DirectoryStamp>,
    /// The registry that signed the directory: the nodes' superior, to which they report.
    registry: Option<String>,
}

impl TrustStore {
    /// Trusts every key in `jwks` as a key of node `issuer`, whenever it signed; a key whose kid
    /// names another node is refused.
    pub fn add_node(&mut self, issuer: &str, issuer_name: &str, jwks: &[Jwk]) -> Result<(), KeyError> {
        for jwk in jwks {
            self.add_key(issuer, issuer_name, jwk, KeyWindow { not_before: i64::MIN, ..KeyWindow::default() })?;
        }
        Ok(())
    }

    fn add_key(&mut self, issuer: &str, issuer_name: &str, jwk: &Jwk, window: KeyWindow) -> Result<(), KeyError> {
        if jwk.kid.split_once('#').map(|(node, _)| node) != Some(issuer) {
            return Err(KeyError::BadJwk);
        }
        let key = VerifyingKey::from_jwk(jwk)?;
        let trusted = TrustedKey { issuer: issuer.into(), issuer_name: issuer_name.into(), key, window };
        self.keys.insert(jwk.kid.clone(), trusted);
        Ok(())
    }

    /// The trust of a node: its own keys (always, so it can check what it signed before it is
    /// enrolled) overlaid by every key of the directory, whose windows win.
    pub fn from_directory(directory: &DirectoryClaims, own: &TrustStore) -> Result<Self, KeyError> {
        let mut trust = own.clone();
        for node in &directory.nodes {
            for key in &node.keys {
                trust.add_key(&node.code, &node.name, &key.jwk, key.window)?;
            }
            trust.nodes.insert(node.code.clone(), node.clone());
        }
        trust.stamp =
            Some(DirectoryStamp { serial: directory.serial, issued_at: directory.iat, expires_at: directory.exp });
        trust.registry = Some(directory.iss.clone());
        Ok(trust)
    }

    /// Finds the key for `kid`, telling an unknown node from an unknown key of a known node.
    pub fn resolve(&self, kid: &str) -> Result<&TrustedKey, Reason> {
        if let Some(key) = self.keys.get(kid) {
            return Ok(key);
        }
        let node = kid.split_once('#').map_or(kid, |(node, _)| node);
        let known = self.nodes.contains_key(node) || self.keys.values().any(|k| k.issuer == node);
        if known { Err(Reason::UnknownKey) } else { Err(Reason::UnknownIssuer) }
    }

    /// The directory entry of node `code`.
    pub fn node(&self, code: &str) -> Option<&NodeEntry> {
        self.nodes.get(code)
    }

    /// The directory entry of node `code` while it is active (not retired).
    pub fn active_node(&self, code: &str) -> Option<&NodeEntry> {
        self.nodes.get(code).filter(|n| n.status == NodeStatus::Active)
    }

    /// Every node of the directory.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeEntry> {
        self.nodes.values()
    }

    /// The directory entry whose TLS certificate has this SHA-256 fingerprint (hex).
    pub fn node_by_tls(&self, fingerprint: &str) -> Option<&NodeEntry> {
        self.nodes.values().find(|n| n.tls_sha256.eq_ignore_ascii_case(fingerprint))
    }

    /// The directory this store was built from, if any.
    pub fn stamp(&self) -> Option<DirectoryStamp> {
        self.stamp
    }

    /// The code of the registry whose directory is in use; `None` without a directory.
    pub fn registry(&self) -> Option<&str> {
        self.registry.as_deref()
    }

    /// How fresh the directory is at `now`; `None` for a node without a directory.
    pub fn freshness(&self, now: i64) -> Option<Freshness> {
        self.stamp.map(|s| freshness(s.expires_at, now))
    }
}

/// The trust store in use, replaced whole when a new directory arrives.
#[derive(Debug, Default)]
pub struct SharedTrust(RwLock<Arc<TrustStore>>);

impl SharedTrust {
    /// Starts with `trust`.
    pub fn new(trust: TrustStore) -> Self {
        Self(RwLock::new(Arc::new(trust)))
    }

    /// The store in use now (cheap: one reference count).
    pub fn current(&self) -> Arc<TrustStore> {
        self.0.read().map_or_else(|poisoned| poisoned.into_inner().clone(), |t| t.clone())
    }

    /// Puts `trust` in use for every later check.
    pub fn replace(&self, trust: TrustStore) {
        let trust = Arc::new(trust);
        match self.0.write() {
            Ok(mut held) => *held = trust,
            Err(poisoned) => *poisoned.into_inner() = trust,
        }
    }
}
