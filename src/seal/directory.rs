//! The signed trust directory (`hunyu-directory+jwt`): every node, its endpoints, keys and TLS identity.

use serde::{Deserialize, Serialize};

use super::jws::{sign_compact, verify_compact};
use super::keys::{Jwk, KeyError, Signer};
use super::trust::TrustStore;
use crate::contract::{Contract, Kind};
use crate::domain::directory::{KeyWindow, NodeStatus, is_acceptable_url};
use crate::domain::verification::Reason;

/// JWS `typ` of the directory.
pub const DIRECTORY_TYP: &str = "hunyu-directory+jwt";

/// The directory payload, signed by the registry root key (`schemas/directory.schema.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryClaims {
    /// Code of the registry that publishes it.
    pub iss: String,
    pub iat: i64,
    /// End of the stated lifetime: verifiers warn after it, and keep using it.
    pub exp: i64,
    /// Grows with every publication; a node never replaces a directory with an older one.
    pub serial: u64,
    pub nodes: Vec<NodeEntry>,
}

/// One node of the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeEntry {
    /// 12-digit division code.
    pub code: String,
    pub name: String,
    /// Base URL of the node's API (workers, officers, verifiers).
    pub api_url: String,
    /// Base URL of the node's mutual-TLS peer listener.
    pub peer_url: String,
    /// SHA-256 (hex) of the DER TLS certificate the node presents to peers.
    pub tls_sha256: String,
    pub status: NodeStatus,
    pub keys: Vec<DirectoryKey>,
}

/// A signing key of a node: its public JWK and the window in which it may sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryKey {
    #[serde(flatten)]
    pub jwk: Jwk,
    #[serde(flatten)]
    pub window: KeyWindow,
}

/// Why a directory is refused.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("directory signature or form: {}", .0.code())]
    Token(Reason),
    #[error("directory breaks its schema: {0}")]
    Schema(String),
    #[error("directory is from registry {found}, expected {expected}")]
    WrongRegistry { expected: String, found: String },
    #[error("directory serial {offered} is older than the one in use ({held})")]
    Rollback { held: u64, offered: u64 },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("this node has no trust directory configured")]
    NotConfigured,
    #[error("cannot keep the directory on disk: {0}")]
    Cache(String),
    #[error("node {0} is listed at a plain-HTTP URL off this machine")]
    InsecureUrl(String),
}

use crate::domain::error::Coded as _;

/// Signs a directory with the registry root key.
pub fn sign_directory(root: &dyn Signer, claims: &DirectoryClaims) -> String {
    // Serializing plain data cannot fail.
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    sign_compact(root, DIRECTORY_TYP, &payload, false)
}

/// Checks a directory token against the registry root key and the schema, and reads it.
pub fn open_directory(token: &str, root: &Jwk, contract: &Contract) -> Result<DirectoryClaims, DirectoryError> {
    let registry = root.kid.split_once('#').map_or("", |(code, _)| code);
    let mut anchor = TrustStore::default();
    anchor.add_node(registry, "registry", std::slice::from_ref(root))?;
    let verified = verify_compact(token.trim(), DIRECTORY_TYP, &anchor).map_err(DirectoryError::Token)?;
    let payload: serde_json::Value =
        serde_json::from_slice(&verified.payload).map_err(|_| DirectoryError::Token(Reason::Malformed))?;
    if let Some(violation) = contract.violation(Kind::Directory, &payload) {
        return Err(DirectoryError::Schema(violation));
    }
    let claims: DirectoryClaims = serde_json::from_value(payload).map_err(|e| DirectoryError::Schema(e.to_string()))?;
    if claims.iss != registry {
        return Err(DirectoryError::WrongRegistry { expected: registry.into(), found: claims.iss });
    }
    if let Some(node) = claims.nodes.iter().find(|n| !is_acceptable_url(&n.api_url) || !is_acceptable_url(&n.peer_url))
    {
        return Err(DirectoryError::InsecureUrl(node.code.clone()));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::seal::Ed25519Signer;
    use crate::seal::jws::{MAX_PAYLOAD_LEN, MAX_TOKEN_LEN};

    /// Nodes of a directory well past what fits a certificate's caps.
    const NODES: usize = 200;

    /// A directory of `NODES` townships, each with its own key, signed by `root`.
    fn directory_of_many(root: &Ed25519Signer) -> (DirectoryClaims, String) {
        let nodes = (0..NODES)
            .map(|n| {
                let code = format!("130728{:03}000", 100 + n);
                NodeEntry {
                    name: format!("河北省张家口市怀安县第{n}镇"),
                    api_url: format!("https://{code}.hunyu.invalid"),
                    peer_url: format!("https://{code}.hunyu.invalid:9701"),
                    tls_sha256: super::super::sha256_hex(code.as_bytes()),
                    status: NodeStatus::Active,
                    keys: vec![DirectoryKey {
                        jwk: Ed25519Signer::ephemeral(&code).unwrap().public_jwk(),
                        window: KeyWindow::default(),
                    }],
                    code,
                }
            })
            .collect();
        let claims =
            DirectoryClaims { iss: "000000000000".into(), iat: 1_780_000_000, exp: 1_790_000_000, serial: 3, nodes };
        let token = sign_directory(root, &claims);
        (claims, token)
    }

    #[test]
    fn a_directory_of_hundreds_of_nodes_opens_with_every_node() {
        let root = Ed25519Signer::ephemeral("000000000000").unwrap();
        let contract = Contract::new().unwrap();
        let (claims, token) = directory_of_many(&root);
        // Past both caps of a certificate: its token's, and its payload's.
        assert!(token.len() > 3 * MAX_TOKEN_LEN, "a directory of {NODES} nodes is {} bytes", token.len());
        assert!(serde_json::to_vec(&claims).unwrap().len() > MAX_PAYLOAD_LEN);
        let opened = open_directory(&token, &root.public_jwk(), &contract).unwrap();
        assert_eq!(opened, claims);
        let trust = TrustStore::from_directory(&opened, &TrustStore::default()).unwrap();
        assert_eq!(trust.nodes().count(), NODES);
    }
}
