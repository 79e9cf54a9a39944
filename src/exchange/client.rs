//! Calls to other nodes' peer listeners over mutual TLS: message batches, and electronic
//! certificate lookups (电子证明查询).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Batch;
use super::tls::{TlsIdentity, client_config};
use crate::seal::directory::NodeEntry;

/// Path of the message batches on a peer listener.
pub const MESSAGES_PATH: &str = "/exchange/v1/messages";
/// Path of the electronic certificate lookup on a peer listener.
pub const LOOKUP_PATH: &str = "/exchange/v1/lookup";

/// Path of the node's signed status list on its peer listener (also public on its API as
/// `/.well-known/hunyu-status`).
pub const STATUS_LIST_PATH: &str = "/exchange/v1/status-list";
/// Path of the on-line status question on a peer listener.
pub const STATUS_PATH: &str = "/exchange/v1/status";
/// Path of a node's issuance log leaves on its peer listener (`?from=&to=`).
pub const LOG_PATH: &str = "/exchange/v1/log";
/// Path where a node restored from a backup takes back what a peer holds of it.
pub const REJOIN_PATH: &str = "/exchange/v1/rejoin";

/// What this node reads of a peer's problem+json refusal (for its log and retry record).
#[derive(Debug, Default, Deserialize)]
struct Refused {
    #[serde(default)]
    code: String,
    #[serde(default)]
    detail: String,
}

/// Body of `POST /exchange/v1/lookup`: the signed request going, the signed answer coming back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LookupExchange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

/// Body of `POST /exchange/v1/status`: the question going (`version` and `nonce`), the issuer's
/// signed answer (`hunyu-status-answer+jwt`) coming back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatusExchange {
    /// `jti` of the version asked about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The asker's fresh nonce, echoed in the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

/// Outgoing peer calls over mutual TLS with this node's identity. Each peer gets a client of its
/// own whose TLS handshake accepts only the certificate the directory pins for that peer, so
/// nothing of a request is written to anyone else; redirects are never followed.
#[derive(Clone)]
pub struct PeerClient {
    identity: Arc<TlsIdentity>,
    /// Clients by peer code and pinned fingerprint: a new pin gets a new client.
    pinned: Arc<Mutex<HashMap<(String, String), reqwest::Client>>>,
}

impl PeerClient {
    /// A client presenting `identity`.
    pub fn new(identity: TlsIdentity) -> Self {
        Self { identity: Arc::new(identity), pinned: Arc::default() }
    }

    /// The client for `to`, pinned to the certificate the directory lists for it.
    fn client_for(&self, to: &NodeEntry) -> Result<reqwest::Client, String> {
        let key = (to.code.clone(), to.tls_sha256.to_ascii_lowercase());
        let mut pinned = self.pinned.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = pinned.get(&key) {
            return Ok(client.clone());
        }
        let tls = client_config(&self.identity, &key.1).map_err(|e| e.to_string())?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        // An old pin of the same peer is of no more use.
        pinned.retain(|(code, _), _| *code != key.0);
        pinned.insert(key, client.clone());
        Ok(client)
    }

    /// Posts `body` to `path` on the peer listener of `to`; the connection is refused in the
    /// handshake unless the server presents the certificate the directory lists for `to`.
    pub async fn post(
        &self,
        to: &NodeEntry,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<reqwest::Response, String> {
        self.send_to(to, path, |client, url| client.post(url).json(body)).await
    }

    /// GETs `path` on the peer listener of `to`, as pinned as [`Self::post`].
    pub async fn get(&self, to: &NodeEntry, path: &str) -> Result<reqwest::Response, String> {
        self.send_to(to, path, |client, url| client.get(url)).await
    }

    async fn send_to(
        &self,
        to: &NodeEntry,
        path: &str,
        request: impl FnOnce(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, String> {
        let url = format!("{}{path}", to.peer_url.trim_end_matches('/'));
        let client = self.client_for(to).map_err(|e| format!("{url}: {e}"))?;
        request(&client, &url).send().await.map_err(|e| format!("{url}: {e}"))
    }

    /// Posts `body` to `path` on `to` and reads its answer; a refusal (problem+json) is an error
    /// naming its status and code.
    pub async fn call<A: serde::de::DeserializeOwned>(
        &self,
        to: &NodeEntry,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<A, String> {
        let response = self.post(to, path, body).await?;
        let status = response.status();
        if !status.is_success() {
            let problem: Refused = response.json().await.unwrap_or_default();
            return Err(format!("{status}: {} {}", problem.code, problem.detail));
        }
        response.json().await.map_err(|e| format!("unreadable answer: {e}"))
    }

    /// Sends messages to `to` and returns its receipts, in order.
    pub async fn send(&self, to: &NodeEntry, tokens: Vec<String>) -> Result<Vec<String>, String> {
        let batch = Batch { messages: tokens, receipts: Vec::new() };
        let answer: Batch = self.call(to, MESSAGES_PATH, &batch).await?;
        Ok(answer.receipts)
    }

    /// Asks the issuer `to` what it records now of its version `version`; returns its signed answer.
    pub async fn status(&self, to: &NodeEntry, version: &str, nonce: &str) -> Result<String, String> {
        let body = StatusExchange { version: Some(version.into()), nonce: Some(nonce.into()), answer: None };
        let answer: StatusExchange = self.call(to, STATUS_PATH, &body).await?;
        answer.answer.ok_or_else(|| "no answer".into())
    }

    /// Sends a signed lookup request to the origin `to` and returns its signed answer.
    pub async fn lookup(&self, to: &NodeEntry, request: String) -> Result<String, String> {
        let body = LookupExchange { request: Some(request), answer: None };
        let answer: LookupExchange = self.call(to, LOOKUP_PATH, &body).await?;
        answer.answer.ok_or_else(|| "no answer".into())
    }
}
