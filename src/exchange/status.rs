//! Status lists: each node signs the list of its versions no longer in force; every other node
//! caches the lists of the directory's nodes, so that it knows of revocations and renewals of
//! certificates whose holders never registered with it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::open_record;
use crate::contract::Kind;
use crate::domain::claims::{STATUS_LIST_TYP, StatusListClaims};
use crate::domain::directory::NodeStatus;
use crate::domain::error::Coded as _;
use crate::node::Node;

/// Path of a node's status list on its API listener.
pub const STATUS_LIST_PATH: &str = "/.well-known/hunyu-status";

/// The cached status lists of other nodes: issuer → version jti → status.
#[derive(Debug, Default)]
pub struct StatusCache(RwLock<HashMap<String, Arc<HashMap<String, String>>>>);

impl StatusCache {
    /// Statuses `issuer` lists for version `jti`.
    pub fn statuses(&self, issuer: &str, jti: &str) -> Vec<String> {
        let lists = self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        lists.get(issuer).and_then(|list| list.get(jti)).into_iter().cloned().collect()
    }

    fn replace(&self, issuer: &str, list: HashMap<String, String>) {
        let mut lists = self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        lists.insert(issuer.to_owned(), Arc::new(list));
    }
}

/// Checks a status list of `issuer` against the trust in use and reads it.
fn open_list(node: &Node, issuer: &str, token: &str) -> Result<StatusListClaims, String> {
    let claims: StatusListClaims =
        open_record(token, STATUS_LIST_TYP, Kind::StatusList, &node.trust(), node.contract())
            .map_err(|r| r.code().to_owned())?;
    if claims.iss != issuer {
        return Err(format!("list of {} served by {issuer}", claims.iss));
    }
    Ok(claims)
}

/// Fetches the status list of every other active node of the directory; returns how many were
/// taken. A node that cannot be reached keeps its previous list.
pub async fn refresh_all(node: &Arc<Node>) -> usize {
    let trust = node.trust();
    let mut taken = 0;
    for entry in trust.nodes().filter(|n| n.status == NodeStatus::Active && n.code != node.code()) {
        let url = format!("{}{STATUS_LIST_PATH}", entry.api_url.trim_end_matches('/'));
        let fetched = match node.public_client().get(&url).send().await {
            Ok(response) if response.status().is_success() => response.text().await.map_err(|e| e.to_string()),
            Ok(response) => Err(format!("answered {}", response.status())),
            Err(e) => Err(e.to_string()),
        };
        match fetched.and_then(|token| open_list(node, &entry.code, &token)) {
            Ok(list) => {
                let statuses = list.entries.into_iter().map(|e| (e.jti, e.status)).collect();
                node.status_cache().replace(&entry.code, statuses);
                taken += 1;
            }
            Err(error) => tracing::warn!(node = %entry.code, %url, %error, "status list not refreshed"),
        }
    }
    taken
}
