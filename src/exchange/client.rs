//! Calls to other nodes' peer listeners over mutual TLS: message batches, and electronic
//! certificate lookups (电子证明查询).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Batch;
use super::tls::{TlsIdentity, client_config};
use crate::node::SetupError;
use crate::seal::directory::NodeEntry;
use crate::seal::sha256_hex;

/// Path of the message batches on a peer listener.
pub const MESSAGES_PATH: &str = "/exchange/v1/messages";
/// Path of the electronic certificate lookup on a peer listener.
pub const LOOKUP_PATH: &str = "/exchange/v1/lookup";

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

/// Outgoing peer calls over mutual TLS with this node's identity.
#[derive(Clone)]
pub struct PeerClient {
    http: reqwest::Client,
}

impl PeerClient {
    /// A client presenting `identity`.
    pub fn new(identity: &TlsIdentity) -> Result<Self, SetupError> {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(client_config(identity)?)
            .tls_info(true)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| SetupError::Tls(e.to_string()))?;
        Ok(Self { http })
    }

    /// Posts `body` to `path` on the peer listener of `to`; the server must present the
    /// certificate the directory lists for `to`.
    pub async fn post(
        &self,
        to: &NodeEntry,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<reqwest::Response, String> {
        let url = format!("{}{path}", to.peer_url.trim_end_matches('/'));
        let response = self.http.post(&url).json(body).send().await.map_err(|e| format!("{url}: {e}"))?;
        let presented = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .map(sha256_hex);
        if presented.as_deref() != Some(to.tls_sha256.as_str()) {
            return Err(format!(
                "{url}: the server's TLS certificate is not the one the directory lists for {}",
                to.code
            ));
        }
        Ok(response)
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

    /// Sends a signed lookup request to the origin `to` and returns its signed answer.
    pub async fn lookup(&self, to: &NodeEntry, request: String) -> Result<String, String> {
        let body = LookupExchange { request: Some(request), answer: None };
        let answer: LookupExchange = self.call(to, LOOKUP_PATH, &body).await?;
        answer.answer.ok_or_else(|| "no answer".into())
    }
}
