//! The keys this node trusts: its own, and (until the trust directory) peers from its config.

use std::collections::{HashMap, HashSet};

use super::keys::{Jwk, KeyError, VerifyingKey};
use crate::domain::verification::Reason;

/// A verification key and the node it belongs to.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// 12-digit code of the node that owns the key.
    pub issuer: String,
    /// Name of that node (e.g. 怀安县柴沟堡镇).
    pub issuer_name: String,
    pub key: VerifyingKey,
}

/// Key ids (`<node code>#<key id>`) mapped to trusted keys.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: HashMap<String, TrustedKey>,
    issuers: HashSet<String>,
}

impl TrustStore {
    /// Trusts every key in `jwks` as a key of node `issuer`; a key whose kid names another node is refused.
    pub fn add_node(&mut self, issuer: &str, issuer_name: &str, jwks: &[Jwk]) -> Result<(), KeyError> {
        for jwk in jwks {
            if jwk.kid.split_once('#').map(|(node, _)| node) != Some(issuer) {
                return Err(KeyError::BadJwk);
            }
            let key = VerifyingKey::from_jwk(jwk)?;
            let trusted = TrustedKey { issuer: issuer.into(), issuer_name: issuer_name.into(), key };
            self.keys.insert(jwk.kid.clone(), trusted);
        }
        self.issuers.insert(issuer.into());
        Ok(())
    }

    /// Finds the key for `kid`, telling an unknown node from an unknown key of a known node.
    pub fn resolve(&self, kid: &str) -> Result<&TrustedKey, Reason> {
        if let Some(key) = self.keys.get(kid) {
            return Ok(key);
        }
        let node = kid.split_once('#').map_or(kid, |(node, _)| node);
        if self.issuers.contains(node) { Err(Reason::UnknownKey) } else { Err(Reason::UnknownIssuer) }
    }
}
